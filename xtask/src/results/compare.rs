//! `cargo xtask compare`'s numbers: one [`ServerRun`] per server under perfdhcp, rendered as a
//! side-by-side table for the terminal and `bench/RESULTS.md`, and as JSON.

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

#[cfg(test)]
mod tests {
    use crate::results::fixtures::comparison;

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
}
