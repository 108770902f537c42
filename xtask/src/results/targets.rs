//! Issue 4's targets, each judged met, missed or not measured from a [`Bench`], with the figure.

use serde::Serialize;

use crate::results::{Bench, BenchRow, FixedRun, Role, SearchStop, ServerRun};

/// A target of issue 4 and how this run scored it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Target {
    /// The target, as issue 4 states it.
    pub(crate) text: &'static str,
    pub(crate) verdict: Verdict,
}

/// Met, missed (with the figure), or outside what the harness measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", content = "figure", rename_all = "kebab-case")]
pub(crate) enum Verdict {
    Met(String),
    Missed(String),
    NotMeasured(String),
}

impl Verdict {
    /// Met when `met`, else missed, with `figure`.
    pub(crate) fn judge(met: bool, figure: String) -> Self {
        if met {
            Self::Met(figure)
        } else {
            Self::Missed(figure)
        }
    }

    /// `**met**: figure`, `**missed**: figure`, or why it was not measured.
    pub(crate) fn word_and_figure(&self) -> String {
        match self {
            Self::Met(f) => format!("**met**: {f}"),
            Self::Missed(f) => format!("**missed**: {f}"),
            Self::NotMeasured(why) => why.clone(),
        }
    }
}

/// Issue 4's targets, in its order.
pub(crate) const TARGET_CPU: &str =
    "server CPU per 4-message exchange with durable leases at most 1/15 of Kea's";
pub(crate) const TARGET_RATE: &str = "maximum sustained rate at least 15× Kea's";
pub(crate) const TARGET_P99: &str = "p99 Solicit→Advertise at most 200 µs at half of Kea's maximum";
pub(crate) const TARGET_DURABLE: &str = "durable mode within 25 % of OS-buffer mode";
pub(crate) const TARGET_OWNER: &str = "at least 99.9 % of packets land on their owning worker";
pub(crate) const TARGET_MEMORY: &str =
    "at most 256 bytes of memory per active lease with 1 million leases";
pub(crate) const TARGET_RESTART: &str = "restart with 1 million leases in at most 3 s";

const NOT_MEASURED: &str = "not measured by this run";

impl Bench {
    pub(crate) fn targets(&self) -> Vec<Target> {
        let kea = self.row(Role::Kea);
        let durable = self.row(Role::TandemDurable);
        let os_buffer = self.row(Role::TandemOsBuffer);
        let missing = |what: &str| Verdict::NotMeasured(format!("{NOT_MEASURED} ({what})"));
        let cpu = |r: &BenchRow| r.fixed.as_ref().and_then(FixedRun::cpu_us_per_exchange);
        let perf_cpu = |r: &BenchRow| r.perfdhcp.as_ref().and_then(ServerRun::cpu_us_per_exchange);

        let cpu_target = match (durable, kea) {
            (Some(d), Some(k)) => match (cpu(d), cpu(k)) {
                (Some(own), Some(base)) if base > 0.0 => {
                    let perf = match (perf_cpu(d), perf_cpu(k)) {
                        (Some(p), Some(b)) if b > 0.0 => {
                            format!("; perfdhcp: {p:.1} µs against {b:.1} µs, {:.2}×", p / b)
                        }
                        _ => String::new(),
                    };
                    Verdict::judge(
                        own * 15.0 <= base,
                        format!(
                            "{own:.1} µs against Kea's {base:.1} µs at {}/s, {:.2}× \
                             (1/15 = 0.07×){perf}",
                            self.fixed_rate,
                            own / base
                        ),
                    )
                }
                _ => missing("no CPU figure for tandemd (durable) or Kea"),
            },
            _ => missing("tandemd (durable) and Kea must both run"),
        };

        let max = |r: Option<&BenchRow>| r.and_then(|r| r.max_rate).map(f64::from);
        // A maximum the generator (not the server) set is a lower bound; the verdict says so.
        let lower_bound = |r: Option<&BenchRow>| match r.and_then(|r| r.stop.as_ref()) {
            Some(stop) if !stop.server_bound() => {
                " (a lower bound: the generator, not the server, ended the search)"
            }
            _ => "",
        };
        let rate_target = match (max(durable), max(kea)) {
            (Some(own), Some(base)) if base > 0.0 => {
                let other = max(os_buffer)
                    .map(|o| format!("; os-buffer {o:.0}/s, {:.1}×", o / base))
                    .unwrap_or_default();
                Verdict::judge(
                    own >= 15.0 * base,
                    format!(
                        "tandemd (durable) {own:.0}/s against Kea's {base:.0}/s, {:.1}×{other}{}",
                        own / base,
                        lower_bound(durable)
                    ),
                )
            }
            _ => missing("needs the maximum of tandemd (durable) and of Kea"),
        };

        let p99_target = match durable.and_then(|d| d.fixed.as_ref()) {
            Some(_) if !self.fixed_rate_is_half_kea => {
                missing("Kea's maximum was not measured, so half of it is unknown")
            }
            Some(f) => match f.p99_advertise_us {
                Some(p99) => Verdict::judge(
                    p99 <= 200.0,
                    format!(
                        "tandemd (durable) {p99:.0} µs at {}/s (half of Kea's maximum)",
                        self.fixed_rate
                    ),
                ),
                None => missing("no Advertise received"),
            },
            None => missing("tandemd (durable) did not run"),
        };

        // Throughput when os-buffer's maximum is the server's own; else (a generator-bound
        // maximum says nothing about the ratio) capacity from CPU per exchange at the fixed
        // rate, 1/CPU on a CPU-bound server.
        let os_buffer_bound = os_buffer
            .and_then(|r| r.stop.as_ref())
            .is_some_and(SearchStop::server_bound);
        let cpu_of = |r: Option<&BenchRow>| r.and_then(cpu);
        let durable_target = match (max(durable), max(os_buffer)) {
            (Some(d), Some(o)) if o > 0.0 && os_buffer_bound => Verdict::judge(
                d >= 0.75 * o,
                format!(
                    "maximum rate durable {d:.0}/s against os-buffer {o:.0}/s, {:.0} %{}",
                    d / o * 100.0,
                    lower_bound(durable)
                ),
            ),
            _ => match (cpu_of(durable), cpu_of(os_buffer)) {
                (Some(d), Some(o)) if d > 0.0 => Verdict::judge(
                    o >= 0.75 * d,
                    format!(
                        "the maxima are the generator's, so by CPU per exchange at {}/s: durable \
                         {d:.1} µs against os-buffer {o:.1} µs, durable's capacity {:.0} % of \
                         os-buffer's",
                        self.fixed_rate,
                        o / d * 100.0
                    ),
                ),
                _ => missing("needs the maximum or the CPU figure of both tandemd modes"),
            },
        };

        let harness = || {
            Verdict::NotMeasured(format!(
                "{NOT_MEASURED} (outside what this harness measures)"
            ))
        };
        let (memory, restart) = match &self.store {
            Some(st) => (st.memory_verdict(), st.restart_verdict()),
            None => (harness(), harness()),
        };
        vec![
            Target {
                text: TARGET_CPU,
                verdict: cpu_target,
            },
            Target {
                text: TARGET_RATE,
                verdict: rate_target,
            },
            Target {
                text: TARGET_P99,
                verdict: p99_target,
            },
            Target {
                text: TARGET_DURABLE,
                verdict: durable_target,
            },
            Target {
                text: TARGET_OWNER,
                verdict: match durable.and_then(|r| r.fixed.as_ref()?.owner_share) {
                    Some(share) => Verdict::judge(
                        share >= 0.999,
                        format!(
                            "{:.2} % of the packets tandemd (durable) received at {}/s were \
                             served by the worker that received them (stats.json: 1 − \
                             handoffs / received)",
                            share * 100.0,
                            self.fixed_rate
                        ),
                    ),
                    None => missing("tandemd's stats.json was not read"),
                },
            },
            Target {
                text: TARGET_MEMORY,
                verdict: memory,
            },
            Target {
                text: TARGET_RESTART,
                verdict: restart,
            },
        ]
    }

    /// The targets as markdown list items.
    pub(crate) fn target_lines(&self) -> String {
        self.targets()
            .iter()
            .map(|t| format!("- {}: {}.\n", t.text, t.verdict.word_and_figure()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixtures::bench;

    fn verdict(b: &Bench, text: &str) -> Verdict {
        b.targets()
            .into_iter()
            .find(|t| t.text == text)
            .map(|t| t.verdict)
            .unwrap()
    }

    #[test]
    fn targets_are_met_at_the_bounds_and_missed_beyond() {
        let b = bench();
        assert!(matches!(verdict(&b, TARGET_CPU), Verdict::Met(f) if f.contains("0.06×")));
        assert!(matches!(verdict(&b, TARGET_RATE), Verdict::Met(f) if f.contains("16.0×")));
        assert!(matches!(verdict(&b, TARGET_P99), Verdict::Met(f) if f.contains("150 µs")));
        assert!(matches!(verdict(&b, TARGET_DURABLE), Verdict::Met(f) if f.contains("80 %")));
        assert!(matches!(verdict(&b, TARGET_OWNER), Verdict::Met(f) if f.contains("99.95 %")));
        for t in [TARGET_MEMORY, TARGET_RESTART] {
            assert!(
                matches!(verdict(&b, t), Verdict::NotMeasured(w) if w.starts_with(NOT_MEASURED)),
                "{t}"
            );
        }
        assert_eq!(b.targets().len(), 7);
        let mut handed = bench();
        if let Some(f) = handed.rows[1].fixed.as_mut() {
            f.owner_share = Some(0.998);
        }
        assert!(
            matches!(verdict(&handed, TARGET_OWNER), Verdict::Missed(f) if f.contains("99.80 %"))
        );
        if let Some(f) = handed.rows[1].fixed.as_mut() {
            f.owner_share = None;
        }
        assert!(matches!(
            verdict(&handed, TARGET_OWNER),
            Verdict::NotMeasured(_)
        ));

        let mut worse = bench();
        let d = &mut worse.rows[1];
        d.max_rate = Some(59_000); // 14.75× Kea, 73.75 % of os-buffer
        if let Some(f) = d.fixed.as_mut() {
            f.cpu_s = 0.14; // 7 µs: 0.07× > 1/15
            f.p99_advertise_us = Some(201.0);
        }
        for t in [TARGET_CPU, TARGET_RATE, TARGET_P99, TARGET_DURABLE] {
            assert!(matches!(verdict(&worse, t), Verdict::Missed(_)), "{t}");
        }
        // A maximum the generator set is reported as a lower bound.
        assert!(
            matches!(verdict(&worse, TARGET_RATE), Verdict::Missed(f) if !f.contains("lower bound"))
        );
        worse.rows[1].stop = Some(SearchStop::Generator {
            rate: 64_000.0,
            achieved: 61_000.0,
        });
        assert!(
            matches!(verdict(&worse, TARGET_RATE), Verdict::Missed(f) if f.contains("lower bound"))
        );
        // os-buffer's maximum is the generator's: the CPU figures decide (6 µs against 5 µs:
        // 83 %, met; 7 µs: 71 %, missed).
        let mut gen = bench();
        gen.rows[2].stop = Some(SearchStop::NoFailure);
        assert!(matches!(verdict(&gen, TARGET_DURABLE), Verdict::Met(f) if f.contains("83 %")));
        assert!(
            matches!(verdict(&worse, TARGET_DURABLE), Verdict::Missed(f) if f.contains("74 %"))
        );
        worse.rows[2].stop = Some(SearchStop::NoFailure);
        assert!(
            matches!(verdict(&worse, TARGET_DURABLE), Verdict::Missed(f) if f.contains("71 %"))
        );
        assert!(worse.table().contains(
            "| search stopped by | server: loss 5.0 % at 8000/s | generator: 61000 of 64000/s started |"
        ), "{}", worse.table());

        // The p99 target needs the rate to be half of Kea's maximum; the ratios need Kea.
        let mut no_kea = bench();
        no_kea.fixed_rate_is_half_kea = false;
        no_kea.rows.remove(0);
        for t in [TARGET_CPU, TARGET_RATE, TARGET_P99] {
            assert!(
                matches!(verdict(&no_kea, t), Verdict::NotMeasured(_)),
                "{t}"
            );
        }
        assert!(matches!(verdict(&no_kea, TARGET_DURABLE), Verdict::Met(_)));
    }
}
