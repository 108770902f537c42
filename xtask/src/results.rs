//! The comparison's numbers: one [`ServerRun`] per server, rendered as a side-by-side table for
//! the terminal and `bench/RESULTS.md`, and as JSON.

use serde::Serialize;

use crate::machine::Machine;

/// One server under the perfdhcp load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ServerRun {
    /// Column heading, e.g. `tandemd (durable)`.
    pub(crate) server: String,
    /// What exactly ran (version, storage, threads).
    pub(crate) setup: String,
    /// perfdhcp's achieved rate (4-message exchanges per second).
    pub(crate) rate: f64,
    /// Solicits sent.
    pub(crate) solicits: u64,
    /// Replies to Requests received: completed 4-message exchanges.
    pub(crate) completed: u64,
    /// perfdhcp drops: Solicits without an Advertise.
    pub(crate) drops_solicit: u64,
    /// perfdhcp drops: Requests without a Reply.
    pub(crate) drops_request: u64,
    /// Average delay Solicit→Advertise and Request→Reply (ms).
    pub(crate) avg_delay_ms: (f64, f64),
    /// Server CPU time (user + system, all threads) during the load, in seconds.
    pub(crate) cpu_s: f64,
    /// Wall time of the load, in seconds.
    pub(crate) wall_s: f64,
    /// Address leases in the server's store afterwards.
    pub(crate) stored_na: usize,
    /// CPU seconds per thread name during the load, largest first.
    pub(crate) threads: Vec<(String, f64)>,
}

impl ServerRun {
    /// CPU microseconds per completed exchange (None when nothing completed).
    pub(crate) fn cpu_us_per_exchange(&self) -> Option<f64> {
        (self.completed > 0).then(|| self.cpu_s * 1e6 / self.completed as f64)
    }
}

/// A whole comparison run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Comparison {
    pub(crate) machine: Machine,
    /// The perfdhcp command line, as run in the client namespace.
    pub(crate) perfdhcp: String,
    /// The xtask command that produced this.
    pub(crate) command: String,
    /// The source measured: `git describe --always --dirty`.
    pub(crate) source: String,
    /// The runs; the one named `baseline` is the ratio's denominator.
    pub(crate) runs: Vec<ServerRun>,
    /// `server` of the baseline run (Kea).
    pub(crate) baseline: String,
}

impl Comparison {
    /// CPU per exchange of `run` divided by the baseline's.
    pub(crate) fn ratio(&self, run: &ServerRun) -> Option<f64> {
        let base = self
            .runs
            .iter()
            .find(|r| r.server == self.baseline)?
            .cpu_us_per_exchange()?;
        let own = run.cpu_us_per_exchange()?;
        (base > 0.0).then(|| own / base)
    }

    /// The side-by-side table (GitHub markdown, readable as plain text too).
    pub(crate) fn table(&self) -> String {
        let mut rows: Vec<(String, Vec<String>)> = Vec::new();
        let mut row = |name: &str, f: &dyn Fn(&ServerRun) -> String| {
            rows.push((name.to_owned(), self.runs.iter().map(f).collect()));
        };
        row("rate achieved (exchanges/s)", &|r| format!("{:.0}", r.rate));
        row("Solicits sent", &|r| r.solicits.to_string());
        row("completed 4-message exchanges", &|r| {
            r.completed.to_string()
        });
        row("drops (Solicit / Request)", &|r| {
            format!("{} / {}", r.drops_solicit, r.drops_request)
        });
        row("avg delay Solicit / Request (ms)", &|r| {
            format!("{:.3} / {:.3}", r.avg_delay_ms.0, r.avg_delay_ms.1)
        });
        row("server CPU time (s)", &|r| format!("{:.2}", r.cpu_s));
        row("**CPU µs per exchange**", &|r| {
            r.cpu_us_per_exchange()
                .map_or("n/a".to_owned(), |v| format!("**{v:.1}**"))
        });
        row(&format!("ratio to {}", self.baseline), &|r| {
            self.ratio(r)
                .map_or("n/a".to_owned(), |v| format!("{v:.2}×"))
        });
        row("address leases stored", &|r| r.stored_na.to_string());

        let mut out = String::from("| |");
        for r in &self.runs {
            out.push_str(&format!(" {} |", r.server));
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(self.runs.len()));
        out.push('\n');
        for (name, cells) in rows {
            out.push_str(&format!("| {name} | {} |\n", cells.join(" | ")));
        }
        out
    }

    /// The whole `bench/RESULTS.md`.
    pub(crate) fn markdown(&self, json_name: &str) -> String {
        let m = &self.machine;
        let mut s = String::new();
        s.push_str("# Benchmark results\n\n");
        s.push_str(&format!(
            "Written by `{}` on {}; raw numbers in [`results/{json_name}`](results/{json_name}).\n\
             Rerun the command to refresh this file.\n\n",
            self.command, m.date_utc
        ));
        s.push_str("## tandemd and Kea: server CPU time per 4-message exchange\n\n");
        s.push_str(&format!("Source: `{}`.\n", self.source));
        s.push_str(&format!(
            "Machine: {} CPUs (`nproc`), {}, Linux {}; load average before the run {}.\n\n",
            m.nproc, m.cpu_model, m.kernel, m.load_average
        ));
        s.push_str(
            "Load, the same for every server, one server at a time, in one lab and one run:\n\n",
        );
        s.push_str(&format!("```sh\n{}\n```\n\n", self.perfdhcp));
        s.push_str(&self.table());
        s.push_str("\nSetups:\n\n");
        for r in &self.runs {
            let threads: Vec<String> = r
                .threads
                .iter()
                .map(|(name, cpu)| format!("`{name}` {cpu:.2} s"))
                .collect();
            s.push_str(&format!(
                "- **{}**: {}. CPU by thread: {}\n",
                r.server,
                r.setup,
                threads.join(", ")
            ));
        }
        s.push_str(METHOD);
        s
    }
}

const METHOD: &str = "
How it is measured:

- A tandem-lab `Direct` lab: a server namespace and a client namespace joined by one veth pair;
  perfdhcp runs in the client namespace and sends from its link-local address, so every packet
  stays inside the lab. The servers run one after the other in the same server namespace with
  the same subnet, pools and lifetimes (tandem-lab `Direct::server_params`).
- CPU time is `utime + stime` of the server process (all threads) from `/proc/<pid>/stat`,
  read after the server is ready and again after perfdhcp exits, so start-up is not counted;
  resolution is one clock tick (10 ms). *CPU by thread* sums `/proc/<pid>/task/*/stat` by
  thread name over the threads alive at the end; threads that exited during the load (such as
  short-lived io_uring `iou-wrk-*` workers) count in the total only.
- A completed exchange is a Reply received for a Request (perfdhcp's REQUEST-REPLY
  `received packets`); Solicits that got no Advertise cost CPU but do not count.
- Caveat: Kea's memfile backend writes each lease change to its CSV file without fsync, so
  `tandemd (durable)`, which fdatasyncs before the client hears back, does strictly more I/O
  work per exchange. `tandemd (os-buffer)` is the like-for-like durability comparison.
- Caveat: perfdhcp runs on the same 2-core machine and competes with the server for CPU; the
  rate and delay columns are the lab's, not a server's capacity.
";

/// tandem-bench at the fixed rate against one fresh server: its CPU time and latency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FixedRun {
    /// Exchanges offered per second.
    pub(crate) offered_rate: f64,
    /// Exchanges the generator really started per second.
    pub(crate) achieved_rate: f64,
    /// Completed 4-message exchanges (Replies to Requests received).
    pub(crate) completed: u64,
    /// Lost over sent, all message kinds (0.01 = 1 %).
    pub(crate) loss: f64,
    /// p99 Solicit→Advertise (µs; None without answers).
    pub(crate) p99_advertise_us: Option<f64>,
    /// p99 Request→Reply (µs; None without answers).
    pub(crate) p99_reply_us: Option<f64>,
    /// Server CPU time (user + system, all threads) during the run, in seconds.
    pub(crate) cpu_s: f64,
    /// Wall time of the run (sending plus the wait for late answers), in seconds.
    pub(crate) wall_s: f64,
    /// CPU seconds per thread name during the run, largest first.
    pub(crate) threads: Vec<(String, f64)>,
    /// tandemd only: the share of received packets its workers served without handing them
    /// to another worker (stats.json `received`, `handoffs`); None for Kea.
    pub(crate) owner_share: Option<f64>,
}

impl FixedRun {
    /// CPU microseconds per completed exchange (None when nothing completed).
    pub(crate) fn cpu_us_per_exchange(&self) -> Option<f64> {
        (self.completed > 0).then(|| self.cpu_s * 1e6 / self.completed as f64)
    }
}

/// The role of a server in the bench: which targets its figures feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Role {
    /// Kea, the baseline of every ratio.
    Kea,
    /// tandemd with fsync'd leases.
    TandemDurable,
    /// tandemd writing leases to the OS without fsync.
    TandemOsBuffer,
}

/// What ended a search: the lowest failing step above the maximum found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub(crate) enum SearchStop {
    /// The server lost 1 % or more at `rate`: the maximum is the server's.
    Loss { rate: f64, loss: f64 },
    /// Loss stayed under 1 % but the generator started only `achieved` of `rate` per second:
    /// the maximum is the generator's, a lower bound of the server's.
    Generator { rate: f64, achieved: f64 },
    /// No step failed (the step cap or the highest rate ended it): a lower bound too.
    NoFailure,
}

impl SearchStop {
    /// Whether the maximum found is the server's own (else only a lower bound of it).
    pub(crate) fn server_bound(&self) -> bool {
        matches!(self, Self::Loss { .. })
    }

    fn cell(&self) -> String {
        match self {
            Self::Loss { rate, loss } => {
                format!("server: loss {:.1} % at {rate:.0}/s", loss * 100.0)
            }
            Self::Generator { rate, achieved } => {
                format!("generator: {achieved:.0} of {rate:.0}/s started")
            }
            Self::NoFailure => "no failing step".to_owned(),
        }
    }
}

/// One server's figures in `cargo xtask bench`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BenchRow {
    /// Column heading, e.g. `tandemd (durable)`.
    pub(crate) server: String,
    pub(crate) role: Role,
    /// What exactly ran (version, storage, threads).
    pub(crate) setup: String,
    /// How packets reach the server, e.g. `XDP native`, `XDP generic`, `sockets`.
    pub(crate) datapath: String,
    /// Highest rate with loss under 1 % that tandem-bench's search found (None: none passed,
    /// or the search did not run).
    pub(crate) max_rate: Option<u32>,
    /// What ended the search (None: the search did not run).
    pub(crate) stop: Option<SearchStop>,
    /// tandem-bench at the fixed rate.
    pub(crate) fixed: Option<FixedRun>,
    /// perfdhcp at the fixed rate.
    pub(crate) perfdhcp: Option<ServerRun>,
}

/// A whole `cargo xtask bench` run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Bench {
    pub(crate) machine: Machine,
    /// The xtask command that produced this.
    pub(crate) command: String,
    /// The source measured: `git describe --always --dirty`.
    pub(crate) source: String,
    /// The fixed rate of the CPU and latency runs (exchanges/s).
    pub(crate) fixed_rate: u32,
    /// Whether `fixed_rate` is half of Kea's maximum (else Kea's search did not run or found
    /// no rate, and a default stood in).
    pub(crate) fixed_rate_is_half_kea: bool,
    /// tandem-bench's search command line (as run in the client namespace; paths shortened).
    pub(crate) search: String,
    /// tandem-bench's fixed-rate command line.
    pub(crate) generator: String,
    /// perfdhcp's command line.
    pub(crate) perfdhcp: String,
    /// One row per server, in the order they ran.
    pub(crate) rows: Vec<BenchRow>,
    /// The plots kept next to the JSON (file names under `bench/results/`).
    pub(crate) plots: Vec<String>,
}

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
    fn judge(met: bool, figure: String) -> Self {
        if met {
            Self::Met(figure)
        } else {
            Self::Missed(figure)
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
    fn row(&self, role: Role) -> Option<&BenchRow> {
        self.rows.iter().find(|r| r.role == role)
    }

    /// `own / Kea's` of a figure both rows have.
    fn ratio_to_kea(&self, run: &BenchRow, f: impl Fn(&BenchRow) -> Option<f64>) -> Option<f64> {
        let base = f(self.row(Role::Kea)?)?;
        let own = f(run)?;
        (base > 0.0).then(|| own / base)
    }

    /// The side-by-side table (GitHub markdown, readable as plain text too).
    pub(crate) fn table(&self) -> String {
        let rate = self.fixed_rate;
        let na = || "n/a".to_owned();
        let max = |r: &BenchRow| r.max_rate.map(f64::from);
        let cpu = |r: &BenchRow| r.fixed.as_ref().and_then(FixedRun::cpu_us_per_exchange);
        let perf_cpu = |r: &BenchRow| r.perfdhcp.as_ref().and_then(ServerRun::cpu_us_per_exchange);
        let times = |v: Option<f64>| v.map_or_else(na, |v| format!("{v:.2}×"));
        let us = |v: Option<f64>| v.map_or_else(na, |v| format!("{v:.0}"));
        let mut rows: Vec<(String, Vec<String>)> = Vec::new();
        let mut row = |name: String, f: &dyn Fn(&BenchRow) -> String| {
            rows.push((name, self.rows.iter().map(f).collect()));
        };
        row("datapath".into(), &|r| r.datapath.clone());
        row(
            "**max exchanges/s, loss < 1 %** (tandem-bench search)".into(),
            &|r| r.max_rate.map_or_else(na, |v| format!("**{v}**")),
        );
        row("search stopped by".into(), &|r| {
            r.stop.as_ref().map_or_else(na, SearchStop::cell)
        });
        row("max rate, ratio to Kea".into(), &|r| {
            times(self.ratio_to_kea(r, max))
        });
        row(
            format!("**CPU µs per exchange** at {rate}/s (tandem-bench)"),
            &|r| cpu(r).map_or_else(na, |v| format!("**{v:.1}**")),
        );
        row("CPU per exchange, ratio to Kea".into(), &|r| {
            times(self.ratio_to_kea(r, cpu))
        });
        row(
            format!("completed / loss at {rate}/s (tandem-bench)"),
            &|r| {
                r.fixed
                    .as_ref()
                    .map_or_else(na, |f| format!("{} / {:.2} %", f.completed, f.loss * 100.0))
            },
        );
        row(
            format!("**p99 Solicit→Advertise (µs)** at {rate}/s"),
            &|r| us(r.fixed.as_ref().and_then(|f| f.p99_advertise_us)),
        );
        row(format!("**p99 Request→Reply (µs)** at {rate}/s"), &|r| {
            us(r.fixed.as_ref().and_then(|f| f.p99_reply_us))
        });
        row(
            format!("CPU µs per exchange at {rate}/s (perfdhcp)"),
            &|r| perf_cpu(r).map_or_else(na, |v| format!("{v:.1}")),
        );
        row("CPU per exchange, ratio to Kea (perfdhcp)".into(), &|r| {
            times(self.ratio_to_kea(r, perf_cpu))
        });
        row(
            "perfdhcp completed / drops (Solicit / Request)".into(),
            &|r| {
                r.perfdhcp.as_ref().map_or_else(na, |p| {
                    format!(
                        "{} / {} / {}",
                        p.completed, p.drops_solicit, p.drops_request
                    )
                })
            },
        );

        let mut out = String::from("| |");
        for r in &self.rows {
            out.push_str(&format!(" {} |", r.server));
        }
        out.push_str("\n|---|");
        out.push_str(&"---:|".repeat(self.rows.len()));
        out.push('\n');
        for (name, cells) in rows {
            out.push_str(&format!("| {name} | {} |\n", cells.join(" | ")));
        }
        out
    }

    /// Issue 4's targets, each met, missed or not measured, with the figure.
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
                verdict: harness(),
            },
            Target {
                text: TARGET_RESTART,
                verdict: harness(),
            },
        ]
    }

    /// The targets as markdown list items.
    pub(crate) fn target_lines(&self) -> String {
        self.targets()
            .iter()
            .map(|t| match &t.verdict {
                Verdict::Met(f) => format!("- {}: **met**: {f}.\n", t.text),
                Verdict::Missed(f) => format!("- {}: **missed**: {f}.\n", t.text),
                Verdict::NotMeasured(why) => format!("- {}: {why}.\n", t.text),
            })
            .collect()
    }

    /// The whole `bench/RESULTS.md`.
    pub(crate) fn markdown(&self, json_name: &str) -> String {
        let m = &self.machine;
        let mut s = String::from("# Benchmark results\n\n");
        s.push_str(&format!(
            "Written by `{}` on {}; raw numbers (every tandem-bench and perfdhcp run) in \
             [`results/{json_name}`](results/{json_name}). Rerun the command to refresh this \
             file.\n\n",
            self.command, m.date_utc
        ));
        s.push_str("## tandemd against Kea, one run, the same generators\n\n");
        s.push_str(&format!("Source: `{}`.\n", self.source));
        s.push_str(&format!(
            "Machine: {} CPUs (`nproc`), {}, Linux {}; load average before the run {}.\n\n",
            m.nproc, m.cpu_model, m.kernel, m.load_average
        ));
        let origin = if self.fixed_rate_is_half_kea {
            "half of Kea's maximum"
        } else {
            "a default: Kea's maximum was not measured"
        };
        s.push_str(&format!(
            "Fixed rate of the CPU and latency runs: **{}/s** ({origin}).\n\n",
            self.fixed_rate
        ));
        s.push_str(&self.table());
        s.push_str("\n### Targets of issue 4\n\n");
        s.push_str(&self.target_lines());
        s.push_str("\n### Generators\n\nIn the client namespace, one server at a time, each run against a fresh server and store:\n\n```sh\n");
        for line in [&self.search, &self.generator, &self.perfdhcp] {
            s.push_str(line);
            s.push('\n');
        }
        s.push_str("```\n");
        if !self.plots.is_empty() {
            s.push_str("\nLatency against offered load during each search: ");
            let links: Vec<String> = self
                .plots
                .iter()
                .map(|p| format!("[`{p}`](results/{p})"))
                .collect();
            s.push_str(&links.join(", "));
            s.push_str(".\n");
        }
        s.push_str("\n### Setups\n\n");
        for r in &self.rows {
            let threads: Vec<String> = r
                .fixed
                .iter()
                .flat_map(|f| &f.threads)
                .map(|(name, cpu)| format!("`{name}` {cpu:.2} s"))
                .collect();
            s.push_str(&format!(
                "- **{}** ({}): {}. CPU by thread at the fixed rate: {}\n",
                r.server,
                r.datapath,
                r.setup,
                threads.join(", ")
            ));
        }
        s.push_str(BENCH_METHOD);
        s
    }
}

const BENCH_METHOD: &str = "
How it is measured:

- A tandem-lab `Direct` lab: server and client namespaces joined by one veth pair, the client
  end's checksum offload off (`ethtool -K cli0 tx off`, needed by XDP redirect; the same for
  every server). The servers run one after the other with the same subnet and lifetimes and an
  address pool of 2^22 addresses, so the pool never limits a run.
- tandem-bench (`bench/`) is the main generator: IA_NA, 4-message exchange, open loop, two
  threads, distinct DUIDs, more clients than the run starts exchanges. The search doubles the
  rate from its start until a step loses 1 % or more (or the generator falls 1 % short of the
  offered rate), then bisects to within 5 %; each step sends for a bounded time. *search
  stopped by* names the lowest failing step above the maximum: a loss of 1 % or more is the
  server's limit; a generator that fell 1 % short of the offered rate while loss stayed under
  1 % is the generator's limit, and the maximum is then only a lower bound of the server's.
- CPU per exchange: `utime + stime` of the server process (all threads, `/proc/<pid>/stat`)
  from just before to just after the generator ran at the fixed rate, over the completed
  exchanges (Replies to Requests). Resolution is one clock tick (10 ms).
- perfdhcp is a second, independent generator at the same fixed rate, measured the same way
  (`cargo xtask compare`'s code).
- Caveat: the generators run on the same 2-core machine and compete with the server for CPU;
  a maximum rate is the lab's, bounded by the generator too.
- Caveat: Kea's memfile backend writes each lease change without fsync; `tandemd (durable)`
  fdatasyncs before the client hears back. `tandemd (os-buffer)` is the like-for-like row.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn run(server: &str, cpu_s: f64, completed: u64) -> ServerRun {
        ServerRun {
            server: server.to_owned(),
            setup: "x".to_owned(),
            rate: 1999.4,
            solicits: 40_000,
            completed,
            drops_solicit: 3,
            drops_request: 1,
            avg_delay_ms: (0.2, 0.25),
            cpu_s,
            wall_s: 20.0,
            stored_na: 17_000,
            threads: vec![("worker".to_owned(), 1.5), ("main".to_owned(), 0.5)],
        }
    }

    fn comparison() -> Comparison {
        Comparison {
            machine: Machine {
                nproc: 2,
                cpu_model: "Test CPU".to_owned(),
                kernel: "6.1.0".to_owned(),
                date_utc: "2026-11-26T23:00:00Z".to_owned(),
                load_average: "0.10 0.20 0.30".to_owned(),
            },
            perfdhcp: "perfdhcp -6 -l cli0 -r 2000".to_owned(),
            command: "cargo xtask compare".to_owned(),
            source: "d44060b-dirty".to_owned(),
            runs: vec![
                run("tandemd (durable)", 2.0, 40_000),
                run("Kea", 8.0, 40_000),
                run("dead", 1.0, 0),
            ],
            baseline: "Kea".to_owned(),
        }
    }

    #[test]
    fn cpu_per_exchange_and_ratio() {
        let c = comparison();
        assert_eq!(c.runs[0].cpu_us_per_exchange(), Some(50.0));
        assert_eq!(c.runs[1].cpu_us_per_exchange(), Some(200.0));
        assert_eq!(c.ratio(&c.runs[0]), Some(0.25));
        assert_eq!(c.ratio(&c.runs[1]), Some(1.0));
        assert_eq!(c.runs[2].cpu_us_per_exchange(), None);
        assert_eq!(c.ratio(&c.runs[2]), None);
    }

    #[test]
    fn table_has_one_column_per_server_and_the_key_rows() {
        let t = comparison().table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "| | tandemd (durable) | Kea | dead |");
        assert_eq!(lines[1], "|---|---:|---:|---:|");
        assert!(
            t.contains("| **CPU µs per exchange** | **50.0** | **200.0** | n/a |"),
            "{t}"
        );
        assert!(t.contains("| ratio to Kea | 0.25× | 1.00× | n/a |"), "{t}");
        assert!(t.contains("| drops (Solicit / Request) | 3 / 1 |"), "{t}");
    }

    #[test]
    fn markdown_names_command_date_machine_and_json() {
        let md = comparison().markdown("compare-x.json");
        for needle in [
            "cargo xtask compare",
            "2026-11-26T23:00:00Z",
            "2 CPUs",
            "Test CPU",
            "Linux 6.1.0",
            "perfdhcp -6 -l cli0 -r 2000",
            "results/compare-x.json",
        ] {
            assert!(md.contains(needle), "{needle} missing:\n{md}");
        }
        let json = serde_json::to_value(comparison()).unwrap();
        assert_eq!(json["runs"][0]["completed"], 40_000);
        assert_eq!(json["machine"]["nproc"], 2);
    }

    fn bench_row(role: Role, server: &str, max: Option<u32>, cpu_s: f64, p99: f64) -> BenchRow {
        BenchRow {
            server: server.to_owned(),
            role,
            setup: "s".to_owned(),
            datapath: "XDP native".to_owned(),
            max_rate: max,
            stop: Some(SearchStop::Loss {
                rate: 2.0 * f64::from(max.unwrap_or(1)),
                loss: 0.05,
            }),
            fixed: Some(FixedRun {
                offered_rate: 2000.0,
                achieved_rate: 2000.0,
                completed: 20_000,
                loss: 0.0005,
                p99_advertise_us: Some(p99),
                p99_reply_us: Some(p99 * 2.0),
                cpu_s,
                wall_s: 10.5,
                threads: vec![("tandem-w0".to_owned(), cpu_s)],
                owner_share: (role != Role::Kea).then_some(0.9995),
            }),
            perfdhcp: Some(run(server, cpu_s * 2.0, 20_000)),
        }
    }

    fn bench() -> Bench {
        Bench {
            machine: comparison().machine,
            command: "cargo xtask bench --servers kea,tandem-durable,tandem-os-buffer".to_owned(),
            source: "abc1234".to_owned(),
            fixed_rate: 2000,
            fixed_rate_is_half_kea: true,
            search: "tandem-bench --search".to_owned(),
            generator: "tandem-bench --rate 2000".to_owned(),
            perfdhcp: "perfdhcp -6 -r 2000".to_owned(),
            rows: vec![
                // Kea: 4000/s, 100 µs per exchange (2 s over 20000).
                bench_row(Role::Kea, "Kea", Some(4000), 2.0, 900.0),
                // Durable: 64000/s = 16×, 6 µs = 0.06×, p99 150 µs.
                bench_row(
                    Role::TandemDurable,
                    "tandemd (durable)",
                    Some(64_000),
                    0.12,
                    150.0,
                ),
                // OS-buffer: 80000/s; durable is 80 % of it.
                bench_row(
                    Role::TandemOsBuffer,
                    "tandemd (os-buffer)",
                    Some(80_000),
                    0.1,
                    90.0,
                ),
            ],
            plots: vec!["bench-x-kea.svg".to_owned()],
        }
    }

    fn verdict(b: &Bench, text: &str) -> Verdict {
        b.targets()
            .into_iter()
            .find(|t| t.text == text)
            .map(|t| t.verdict)
            .unwrap()
    }

    #[test]
    fn bench_table_has_the_rates_ratios_and_latencies() {
        let t = bench().table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "| | Kea | tandemd (durable) | tandemd (os-buffer) |"
        );
        for needle in [
            "| datapath | XDP native | XDP native | XDP native |",
            "| **max exchanges/s, loss < 1 %** (tandem-bench search) | **4000** | **64000** | **80000** |",
            "| max rate, ratio to Kea | 1.00× | 16.00× | 20.00× |",
            "| **CPU µs per exchange** at 2000/s (tandem-bench) | **100.0** | **6.0** | **5.0** |",
            "| CPU per exchange, ratio to Kea | 1.00× | 0.06× | 0.05× |",
            "| **p99 Solicit→Advertise (µs)** at 2000/s | 900 | 150 | 90 |",
            "| **p99 Request→Reply (µs)** at 2000/s | 1800 | 300 | 180 |",
            "| CPU µs per exchange at 2000/s (perfdhcp) | 200.0 | 12.0 | 10.0 |",
            "| completed / loss at 2000/s (tandem-bench) | 20000 / 0.05 % |",
        ] {
            assert!(t.contains(needle), "{needle} missing:\n{t}");
        }
        // Without Kea there is no ratio; a server whose runs failed shows n/a.
        let mut b = bench();
        b.rows.remove(0);
        b.rows[0].fixed = None;
        b.rows[0].max_rate = None;
        let t = b.table();
        assert!(t.contains("| max rate, ratio to Kea | n/a | n/a |"), "{t}");
        assert!(t.contains("(tandem-bench) | n/a | **5.0** |"), "{t}");
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

    #[test]
    fn bench_markdown_has_command_machine_table_targets_and_files() {
        let b = bench();
        let md = b.markdown("bench-x.json");
        for needle in [
            "cargo xtask bench --servers kea,tandem-durable,tandem-os-buffer",
            "2026-11-26T23:00:00Z",
            "Source: `abc1234`",
            "2 CPUs",
            "Test CPU",
            "results/bench-x.json",
            "results/bench-x-kea.svg",
            "**2000/s** (half of Kea's maximum)",
            "tandem-bench --search",
            "perfdhcp -6 -r 2000",
            "| **CPU µs per exchange** at 2000/s (tandem-bench) |",
            "- server CPU per 4-message exchange with durable leases at most 1/15 of Kea's: **met**",
            "- restart with 1 million leases in at most 3 s: not measured by this run",
            "`tandem-w0` 0.12 s",
        ] {
            assert!(md.contains(needle), "{needle} missing:\n{md}");
        }
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["rows"][1]["role"], "tandem-durable");
        assert_eq!(json["rows"][0]["fixed"]["completed"], 20_000);
        let targets = serde_json::to_value(b.targets()).unwrap();
        assert_eq!(targets[0]["verdict"]["verdict"], "met");
        assert_eq!(targets[6]["verdict"]["verdict"], "not-measured");
    }
}
