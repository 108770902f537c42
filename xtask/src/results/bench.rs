//! `cargo xtask bench`'s numbers: one [`BenchRow`] per server (search, fixed-rate run,
//! perfdhcp), the whole run as a [`Bench`], and its side-by-side table.

use serde::Serialize;

use crate::machine::Machine;
use crate::results::{PairFigures, ServerRun, StoreFigures};

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
    /// A tandemd failover pair (durable, mutual TLS): its own row, no target reads it.
    TandemPair,
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
    /// The failover pair's replication and wins (pair row only).
    pub(crate) pair: Option<PairFigures>,
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
    /// Memory per lease and restart time (None: not measured by this run).
    pub(crate) store: Option<StoreFigures>,
}

impl Bench {
    pub(super) fn row(&self, role: Role) -> Option<&BenchRow> {
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
}

#[cfg(test)]
mod tests {
    use crate::results::fixtures::bench;

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
}
