//! `cargo xtask bench`: tandemd (durable and os-buffer, on XDP), a tandemd failover pair and
//! Kea under the same generator in one run, one server at a time (issue 4, build items 4–5):
//!
//! 1. per server, tandem-bench searches the highest rate with under 1 % loss;
//! 2. tandem-bench runs at one fixed rate, half of Kea's maximum (Kea runs first), for the
//!    server's CPU time per completed exchange and the p99 latencies;
//! 3. perfdhcp, an independent generator, runs at the same rate for CPU per exchange (not for
//!    the pair);
//! 4. the pair's lazy updates are checked after its fixed-rate run ([`pair`]);
//! 5. memory per lease and tandemd's restart time on a journal of 1 million leases (100 000
//!    with `--quick`) ([`store`]);
//! 6. the engine's instructions per exchange (callgrind).
//!
//! Every measurement gets a fresh server and store. Writes `bench/RESULTS.md` (the table and a
//! verdict per target of issue 4), `bench/results/bench-<date>.json` (every run) and
//! tandem-bench's latency plots `bench/results/bench-<date>-<server>.svg`.

mod figures;
mod generator;
mod pair;
mod single;
mod store;

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::ValueEnum;
use serde_json::{json, Value};
use tandem_lab::{Direct, CLIENT_IF};

use crate::bench::generator::{fixed_args, perf_load, search_args, Timing};
use crate::compare::perfdhcp_load;
use crate::machine::Machine;
use crate::proc_stat::ticks_per_second;
use crate::results::{Bench, BenchRow, Role};
use crate::servers::{build_release_bin, build_tandemd, WorkDir};
use crate::shell::{cmd, display};

/// The fixed rate when Kea's maximum is unknown (Kea not in `--servers`, or no rate passed).
const DEFAULT_FIXED_RATE: u32 = 2000;
/// The address pool of every server: 2^22 addresses, far more than any run binds.
const POOL: (&str, &str) = ("2001:db8:1::1:0:0", "2001:db8:1::1:3f:ffff");
/// Leases of the memory and restart measurement (issue 4's targets name 1 million).
const STORE_LEASES: u32 = 1_000_000;
/// The same with `--quick`.
const STORE_LEASES_QUICK: u32 = 100_000;

/// The servers `cargo xtask bench` can measure (`--servers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchServer {
    /// Kea 2.2, memfile with persistence, multi-threading on.
    Kea,
    /// tandemd, fdatasync before every reply goes out.
    TandemDurable,
    /// tandemd, leases written to the OS without fsync (Kea memfile's durability).
    TandemOsBuffer,
    /// A tandemd failover pair [RFC 8156], durable, mutual TLS, in the `Pair` lab.
    Pair,
}

impl BenchServer {
    pub(crate) fn heading(self) -> &'static str {
        match self {
            Self::Kea => "Kea",
            Self::TandemDurable => "tandemd (durable)",
            Self::TandemOsBuffer => "tandemd (os-buffer)",
            Self::Pair => "tandemd pair (durable, mutual TLS)",
        }
    }
}

/// What `cargo xtask bench` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Short steps and 100 000 leases: a smoke run.
    pub(crate) quick: bool,
    /// Seconds of each fixed-rate run (default by mode).
    pub(crate) seconds: Option<u32>,
    /// The servers (Kea always runs first, the pair last).
    pub(crate) servers: Vec<BenchServer>,
}

/// Kea first (its maximum sets the fixed rate), then the rest in the order given, the pair
/// (its own lab) last; each once.
fn ordered(servers: &[BenchServer]) -> Vec<BenchServer> {
    let rank = |s: &BenchServer| match s {
        BenchServer::Kea => 0,
        BenchServer::Pair => 2,
        _ => 1,
    };
    let mut out: Vec<BenchServer> = Vec::new();
    for r in 0..3 {
        for &s in servers.iter().filter(|s| rank(s) == r) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

fn role(server: BenchServer) -> Role {
    match server {
        BenchServer::Kea => Role::Kea,
        BenchServer::TandemDurable => Role::TandemDurable,
        BenchServer::TandemOsBuffer => Role::TandemOsBuffer,
        BenchServer::Pair => Role::TandemPair,
    }
}

fn slug(server: BenchServer) -> String {
    server
        .to_possible_value()
        .map_or_else(|| format!("{server:?}"), |v| v.get_name().to_owned())
}

/// Half of Kea's maximum, when it is known and at least 2.
fn fixed_rate(kea_max: Option<u32>) -> (u32, bool) {
    match kea_max {
        Some(m) if m >= 2 => (m / 2, true),
        _ => (DEFAULT_FIXED_RATE, false),
    }
}

/// One server's measurements.
struct Measured {
    row: BenchRow,
    raw: Value,
    plot: PathBuf,
}

/// Everything a measurement needs besides the server and its lab.
struct Ctx<'a> {
    bench_bin: &'a Path,
    timing: Timing,
    hz: u64,
}

/// The address pool every server gets.
fn pool() -> anyhow::Result<(Ipv6Addr, Ipv6Addr)> {
    Ok((POOL.0.parse()?, POOL.1.parse()?))
}

pub(crate) fn run(root: &Path, opts: &Options) -> anyhow::Result<()> {
    let order = ordered(&opts.servers);
    if order.is_empty() {
        bail!("no servers to measure");
    }
    let timing = Timing::new(opts.quick, opts.seconds);
    crate::interrupt::install();
    crate::deps::run()?;
    tandem_lab::preflight()?;
    let machine = Machine::describe()?;
    // tandemd also serves the restart measurement, so it is always built.
    let tandemd = build_tandemd(root)?;
    let bench_bin = build_release_bin(root, "tandem-bench", "tandem-bench")?;
    let needs_xdp = order.iter().any(|s| *s != BenchServer::Kea);
    let object = needs_xdp.then(|| crate::ebpf::build(root)).transpose()?;
    let hz = ticks_per_second()?;
    let work = WorkDir::new("bench")?;
    let ctx = Ctx {
        bench_bin: &bench_bin,
        timing,
        hz,
    };

    let mut kea_max = None;
    let mut measured = Vec::new();
    let singles: Vec<BenchServer> = order
        .iter()
        .copied()
        .filter(|s| *s != BenchServer::Pair)
        .collect();
    if !singles.is_empty() {
        let lab = Direct::new().context("building the lab")?;
        // XDP redirect of packets a peer-namespace process generated needs the sender's
        // checksum offload off (testing.md); the same for every server.
        lab.client.run(&["ethtool", "-K", CLIENT_IF, "tx", "off"])?;
        let mut params = lab.server_params();
        params.pool = pool()?;
        let mut servers = single::Servers {
            lab: &lab,
            params,
            tandemd: Some(&tandemd),
            object: object.as_deref(),
            generic_only: false,
        };
        for &server in &singles {
            let dir = work.sub(&slug(server))?;
            let is_kea = server == BenchServer::Kea;
            let (m, max) = single::measure(&ctx, &mut servers, server, &dir, |max| {
                fixed_rate(if is_kea { max } else { kea_max }).0
            })
            .with_context(|| format!("measuring {}", server.heading()))?;
            if is_kea {
                kea_max = max;
            }
            measured.push(m);
        }
    }
    let (rate, half_kea) = fixed_rate(kea_max);
    if order.contains(&BenchServer::Pair) {
        let object = object.as_deref().context("no eBPF object")?;
        let dir = work.sub(&slug(BenchServer::Pair))?;
        let m = pair::measure(&ctx, &tandemd, object, &dir, rate)
            .with_context(|| format!("measuring {}", BenchServer::Pair.heading()))?;
        measured.push(m);
    }

    let leases = if opts.quick {
        STORE_LEASES_QUICK
    } else {
        STORE_LEASES
    };
    let store = store::measure(root, &tandemd, leases, opts.quick, &work.sub("store")?)
        .context("measuring memory per lease and restart time")?;

    let shown = |args: Vec<String>| display(&cmd("tandem-bench", args));
    let stamp = crate::compare::stamp(&machine.date_utc);
    let plots: Vec<String> = order
        .iter()
        .map(|s| format!("bench-{stamp}-{}.svg", slug(*s)))
        .collect();
    let bench = Bench {
        machine,
        command: command_line(opts),
        source: crate::compare::source(root),
        fixed_rate: rate,
        fixed_rate_is_half_kea: half_kea,
        search: shown(search_args(&timing)),
        generator: shown(fixed_args(&timing, rate)),
        perfdhcp: display(&cmd(
            "perfdhcp",
            perfdhcp_load(perf_load(&timing, rate)).args(),
        )),
        rows: measured.iter().map(|m| m.row.clone()).collect(),
        plots: plots.clone(),
        store: Some(store),
    };
    println!("\n{}\n{}", bench.table(), bench.target_lines());

    let dir = root.join("bench/results");
    std::fs::create_dir_all(&dir)?;
    for (m, name) in measured.iter().zip(&plots) {
        std::fs::copy(&m.plot, dir.join(name))
            .with_context(|| format!("copying {}", m.plot.display()))?;
    }
    let json_name = format!("bench-{stamp}.json");
    let raw: Vec<&Value> = measured.iter().map(|m| &m.raw).collect();
    let all = json!({ "summary": bench, "targets": bench.targets(), "runs": raw });
    std::fs::write(
        dir.join(&json_name),
        serde_json::to_string_pretty(&all)? + "\n",
    )?;
    // The engine alone, by instruction count: the figure that stays put on a noisy machine.
    let engine = crate::engine_bench::measure(root)?;
    let md = root.join("bench/RESULTS.md");
    std::fs::write(
        &md,
        bench.markdown(&json_name) + &crate::engine_bench::markdown(&engine),
    )?;
    println!(
        "bench: wrote {}, {} and {} plot(s)",
        md.display(),
        dir.join(&json_name).display(),
        plots.len()
    );
    Ok(())
}

fn command_line(opts: &Options) -> String {
    let names: Vec<String> = opts.servers.iter().map(|s| slug(*s)).collect();
    let mut line = "cargo xtask bench".to_owned();
    if opts.quick {
        line.push_str(" --quick");
    }
    if let Some(s) = opts.seconds {
        line.push_str(&format!(" --seconds {s}"));
    }
    line.push_str(&format!(" --servers {}", names.join(",")));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kea_runs_first_the_pair_last_and_each_server_once() {
        let given = [
            BenchServer::Pair,
            BenchServer::TandemDurable,
            BenchServer::Kea,
            BenchServer::TandemOsBuffer,
            BenchServer::TandemDurable,
        ];
        assert_eq!(
            ordered(&given),
            [
                BenchServer::Kea,
                BenchServer::TandemDurable,
                BenchServer::TandemOsBuffer,
                BenchServer::Pair
            ]
        );
        assert_eq!(
            ordered(&[BenchServer::TandemOsBuffer]),
            [BenchServer::TandemOsBuffer]
        );
        assert!(ordered(&[]).is_empty());
        assert_eq!(role(BenchServer::Pair), Role::TandemPair);
        assert_eq!(slug(BenchServer::Pair), "pair");
    }

    #[test]
    fn the_fixed_rate_is_half_of_keas_maximum_when_known() {
        assert_eq!(fixed_rate(Some(5001)), (2500, true));
        assert_eq!(fixed_rate(None), (DEFAULT_FIXED_RATE, false));
        assert_eq!(fixed_rate(Some(1)), (DEFAULT_FIXED_RATE, false));
    }

    #[test]
    fn command_line_round_trips_through_clap() {
        use clap::Parser as _;
        let opts = Options {
            quick: true,
            seconds: Some(4),
            servers: vec![
                BenchServer::Kea,
                BenchServer::TandemDurable,
                BenchServer::Pair,
            ],
        };
        let line = command_line(&opts);
        assert!(
            line.ends_with("--servers kea,tandem-durable,pair"),
            "{line}"
        );
        let parsed = crate::Cli::try_parse_from(line.split_whitespace().skip(1)).unwrap();
        let crate::Command::Bench {
            quick,
            seconds,
            servers,
        } = parsed.command
        else {
            panic!("not a bench command: {line}");
        };
        assert_eq!((quick, seconds, servers), (true, Some(4), opts.servers));
        // The default run measures every server, the pair included.
        let parsed = crate::Cli::try_parse_from(["xtask", "bench"]).unwrap();
        let crate::Command::Bench { servers, .. } = parsed.command else {
            panic!("not a bench command");
        };
        assert_eq!(ordered(&servers).len(), 4);
    }
}
