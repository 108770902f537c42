//! `bench/RESULTS.md` as `cargo xtask bench` writes it: the table, the target verdicts, the
//! generators' command lines, the setups and how it is measured.

use crate::results::Bench;

impl Bench {
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
        let pair_lines: String = self
            .rows
            .iter()
            .filter_map(|r| {
                let completed = r.fixed.as_ref().map(|f| f.completed);
                Some(
                    r.pair
                        .as_ref()?
                        .lines(&r.server, self.fixed_rate, completed),
                )
            })
            .collect();
        if !pair_lines.is_empty() {
            s.push('\n');
            s.push_str(&pair_lines);
        }
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
        if let Some(store) = &self.store {
            s.push_str(&store.markdown());
        }
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
- The failover pair row (when measured): a tandem-lab `Pair` lab instead (primary, secondary
  and clients on one bridge, a separate partner link with mutual TLS), a fresh pair for each
  measurement, both servers in NORMAL before the generator starts. tandemd's pair is
  active/passive in NORMAL (RFC 8156 §4.2.1: the primary allocates new clients from its odd
  half of the pool, the secondary only renews its own clients), so a Solicit normally gets one
  Advertise; tandem-bench takes the first Advertise, sends the Request to its server, ignores
  any other and counts which server won each transaction. CPU per exchange is the sum of BOTH
  tandemd processes over the completed exchanges. After the fixed-rate run the partners'
  lazy-update counters (stats.json) show whether every BNDUPD was acknowledged. perfdhcp does
  not run against the pair.
- Caveat: the generators run on the same 2-core machine and compete with the server for CPU;
  a maximum rate is the lab's, bounded by the generator too.
- Caveat: Kea's memfile backend writes each lease change without fsync; `tandemd (durable)`
  fdatasyncs before the client hears back. `tandemd (os-buffer)` is the like-for-like row.
";

#[cfg(test)]
mod tests {
    use crate::results::fixtures::bench;

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

    #[test]
    fn the_pair_s_lines_and_the_store_section_follow_when_measured() {
        use crate::results::{LazyUpdates, PairFigures, Replication, Role};
        let mut b = bench();
        assert!(!b.markdown("x.json").contains("replicated:"));
        let mut row = b.rows[1].clone();
        row.role = Role::TandemPair;
        row.server = "tandemd pair (durable, mutual TLS)".into();
        row.perfdhcp = None;
        let done = LazyUpdates {
            sent: 20_000,
            acked: 20_000,
            received: 20_000,
            ..LazyUpdates::default()
        };
        row.pair = Some(PairFigures {
            replication: Some(Replication {
                primary: done,
                secondary: done,
            }),
            due_before: None,
            served: vec![],
            wins: vec![],
            second_advertises: 0,
        });
        b.rows.push(row);
        b.store = Some(crate::results::store::tests::figures(
            1_000_000,
            300,
            vec![2500],
        ));
        let md = b.markdown("x.json");
        for needle in [
            "| | Kea | tandemd (durable) | tandemd (os-buffer) | tandemd pair (durable, mutual TLS) |",
            "- **tandemd pair (durable, mutual TLS)**: its CPU figures are BOTH tandemd processes \
             together (primary + secondary). After the run at 2000/s: replicated: 40000 of 40000 \
             acknowledged",
            "## Memory per lease and restart time\n",
            "- at most 256 bytes of memory per active lease with 1 million leases: **missed**: 300 \
             bytes",
            "- restart with 1 million leases in at most 3 s: **met**: 2.50 s",
        ] {
            assert!(md.contains(needle), "{needle} missing:\n{md}");
        }
    }
}
