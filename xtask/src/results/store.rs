//! Memory per lease and restart time, as `cargo xtask bench` measures them (issue 4's last two
//! targets): resident bytes per lease of the engine example's `memory` mode, and how long a
//! release tandemd takes from spawn to `tandemd.ready` on a journal of N leases.

use serde::Serialize;

use crate::results::Verdict;

/// The lease count issue 4's memory and restart targets name.
pub(crate) const TARGET_LEASES: u32 = 1_000_000;
/// Most resident bytes per active lease (issue 4).
pub(crate) const BYTES_PER_LEASE_MAX: u64 = 256;
/// Longest restart with [`TARGET_LEASES`] leases, in milliseconds (issue 4).
pub(crate) const RESTART_MS_MAX: u64 = 3000;

/// Both figures, for one lease count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StoreFigures {
    /// Leases in the engine (memory) and in the journal (restart).
    pub(crate) leases: u32,
    /// `--quick`: fewer leases than the targets name, a smoke figure.
    pub(crate) quick: bool,
    pub(crate) memory: Memory,
    pub(crate) restart: Restart,
}

/// `engine_exchanges N memory`: what the shard grew by, per lease.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Memory {
    /// VmRSS growth over the leases, per lease.
    pub(crate) bytes_per_lease: u64,
    /// VmRSS growth, MiB.
    pub(crate) grown_mib: u64,
    /// The command line.
    pub(crate) command: String,
}

/// tandemd's starts on a journal of the leases.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Restart {
    /// Spawn to `tandemd.ready`, each start (ms).
    pub(crate) ready_ms: Vec<u64>,
    /// tandemd's own `store loaded … ms=` of each start (the load alone), when logged.
    pub(crate) load_ms: Vec<Option<u64>>,
    /// Leases tandemd said it loaded (first start).
    pub(crate) loaded: Option<u64>,
    /// Size of the journal (bytes).
    pub(crate) journal_bytes: u64,
    /// The command lines: writing the journal, starting tandemd.
    pub(crate) commands: Vec<String>,
}

impl Restart {
    /// The slowest start (ms): the figure judged.
    pub(crate) fn worst_ms(&self) -> Option<u64> {
        self.ready_ms.iter().copied().max()
    }
}

impl StoreFigures {
    /// The memory target's verdict (None: not measured by this run).
    pub(crate) fn memory_verdict(&self) -> Verdict {
        let m = &self.memory;
        let figure = format!(
            "{} bytes resident per lease with {} leases ({} MiB grown; `engine_exchanges` \
             memory mode)",
            m.bytes_per_lease, self.leases, m.grown_mib
        );
        self.judge(m.bytes_per_lease <= BYTES_PER_LEASE_MAX, figure)
    }

    /// The restart target's verdict.
    pub(crate) fn restart_verdict(&self) -> Verdict {
        let r = &self.restart;
        let Some(worst) = r.worst_ms() else {
            return Verdict::NotMeasured("not measured by this run (tandemd never started)".into());
        };
        let starts: Vec<String> = r.ready_ms.iter().map(|ms| format!("{ms} ms")).collect();
        let loads: Vec<String> = r
            .load_ms
            .iter()
            .flatten()
            .map(|ms| format!("{ms}"))
            .collect();
        let figure =
            format!(
            "{:.2} s from spawn to tandemd.ready with {} leases, the slowest of {} starts ({}; \
             store load alone {} ms by tandemd's log), from a {} MB journal",
            worst as f64 / 1000.0,
            self.leases,
            r.ready_ms.len(),
            starts.join(", "),
            if loads.is_empty() { "n/a".to_owned() } else { loads.join(" / ") },
            r.journal_bytes / 1_000_000
        );
        let all_loaded = r.loaded == Some(u64::from(self.leases));
        let figure = if all_loaded {
            figure
        } else {
            format!("{figure}; tandemd loaded {:?} leases, not all", r.loaded)
        };
        self.judge(worst <= RESTART_MS_MAX && all_loaded, figure)
    }

    /// Met or missed with 1 million leases; a `--quick` (or any smaller) run is labelled and
    /// not judged.
    fn judge(&self, met: bool, figure: String) -> Verdict {
        if self.leases < TARGET_LEASES {
            return Verdict::NotMeasured(format!(
                "not measured at 1 million leases (a smaller run{}): {figure}",
                if self.quick { ", --quick" } else { "" }
            ));
        }
        Verdict::judge(met, figure)
    }

    /// The RESULTS.md section: the figures and the commands that measured them.
    pub(crate) fn markdown(&self) -> String {
        let label = if self.quick {
            format!(
                " (--quick: {} leases, not the targets' 1 million)",
                self.leases
            )
        } else {
            String::new()
        };
        let mut s = format!("\n## Memory per lease and restart time{label}\n\n");
        s.push_str(
            "Measured by `cargo xtask bench` itself: the engine example's memory mode, then a \
             journal of the same leases written by the example and a release tandemd started on \
             it (workers 1, the example's pool, in a network namespace on `lo`), timed from \
             spawn until it writes `<storage>/tandemd.ready`:\n\n```sh\n",
        );
        s.push_str(&self.memory.command);
        s.push('\n');
        for c in &self.restart.commands {
            s.push_str(c);
            s.push('\n');
        }
        s.push_str("```\n\n");
        for (name, v) in [
            ("memory per lease", self.memory_verdict()),
            ("restart", self.restart_verdict()),
        ] {
            s.push_str(&format!("- {name}: {}.\n", v.word_and_figure()));
        }
        s
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn figures(leases: u32, bytes: u64, ready_ms: Vec<u64>) -> StoreFigures {
        StoreFigures {
            leases,
            quick: leases < TARGET_LEASES,
            memory: Memory {
                bytes_per_lease: bytes,
                grown_mib: (u64::from(leases) * bytes) >> 20,
                command: format!("engine_exchanges {leases} memory"),
            },
            restart: Restart {
                load_ms: ready_ms.iter().map(|ms| Some(ms - 100)).collect(),
                ready_ms,
                loaded: Some(u64::from(leases)),
                journal_bytes: u64::from(leases) * 125,
                commands: vec![
                    format!("engine_exchanges {leases} journal S/shards/shard-0.0.journal"),
                    "tandemd run --config S.toml".to_owned(),
                ],
            },
        }
    }

    #[test]
    fn the_targets_are_judged_at_their_bounds_with_a_million_leases() {
        let at = figures(TARGET_LEASES, 256, vec![2900, 3000]);
        assert!(matches!(at.memory_verdict(), Verdict::Met(f) if f.contains("256 bytes")));
        assert!(
            matches!(at.restart_verdict(), Verdict::Met(f) if f.contains("3.00 s") && f.contains("125 MB"))
        );
        let over = figures(TARGET_LEASES, 257, vec![3001, 1200]);
        assert!(matches!(over.memory_verdict(), Verdict::Missed(_)));
        assert!(matches!(over.restart_verdict(), Verdict::Missed(f) if f.contains("3.00 s")));
        // A start that loaded fewer leases than the journal holds is a miss, however fast.
        let mut short = figures(TARGET_LEASES, 100, vec![500]);
        short.restart.loaded = Some(10);
        assert!(matches!(short.restart_verdict(), Verdict::Missed(f) if f.contains("not all")));
        short.restart.ready_ms.clear();
        assert!(matches!(short.restart_verdict(), Verdict::NotMeasured(_)));
    }

    #[test]
    fn a_quick_run_is_labelled_and_not_judged() {
        let q = figures(100_000, 100, vec![300]);
        for v in [q.memory_verdict(), q.restart_verdict()] {
            assert!(
                matches!(&v, Verdict::NotMeasured(f) if f.contains("--quick") && f.contains("100000 leases")),
                "{v:?}"
            );
        }
        let md = q.markdown();
        assert!(
            md.contains("(--quick: 100000 leases, not the targets' 1 million)"),
            "{md}"
        );
        assert!(md.contains("engine_exchanges 100000 memory\n"), "{md}");
        assert!(md.contains("tandemd run --config S.toml\n"), "{md}");
        let full = figures(TARGET_LEASES, 592, vec![2644]).markdown();
        assert!(
            full.contains("- memory per lease: **missed**: 592 bytes"),
            "{full}"
        );
        assert!(full.contains("- restart: **met**: 2.64 s"), "{full}");
    }
}
