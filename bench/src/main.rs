//! `tandem-bench`: DHCPv6 load against one server (or a failover pair), open-loop at a rate,
//! as a sweep of rates, or as a search for the highest rate with loss under a bound.

use std::net::{Ipv6Addr, SocketAddrV6};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use tandem_bench::messages::IaSel;
use tandem_bench::net::{interface_index, ALL_DHCP_RELAY_AGENTS_AND_SERVERS};
use tandem_bench::population::{DuidKind, Population, XidMap};
use tandem_bench::report::{RunReport, StepReport};
use tandem_bench::run::{Endpoints, Generator};
use tandem_bench::scenario::{Mix, Scenario};
use tandem_bench::search::{search, SearchParams};
use tandem_bench::svg::{latency_plot, PlotPoint};
use tandem_bench::worker::{Plan, RelayPlan};

/// How the clients reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// On the link: link-local, port 546, to ff02::1:2 on `--iface` (RFC 8415 §7.1).
    Direct,
    /// Behind relays: Relay-forward from port 547 to `--relay-server` (RFC 8415 §19.1).
    Relayed,
}

#[derive(Debug, Parser)]
#[command(
    name = "tandem-bench",
    about = "DHCPv6 load generator for tandem (and any RFC 8415 server)"
)]
struct Cli {
    /// Client-side interface (required for direct mode).
    #[arg(long)]
    iface: Option<String>,
    /// Direct or relayed clients.
    #[arg(long, value_enum, default_value = "direct")]
    mode: Mode,
    /// What transactions to start.
    #[arg(long, value_enum, default_value = "exchange")]
    scenario: Scenario,
    /// Weights for `--scenario mix`, e.g. exchange=6,renew=3,release=1 (also rapid=N).
    #[arg(long, default_value = "exchange=6,renew=3,release=1")]
    mix: String,
    /// IAs to ask for.
    #[arg(long, value_enum, default_value = "na")]
    ia: IaSel,
    /// Simulated clients (distinct DUIDs), at most 2^24.
    #[arg(long, default_value_t = 10_000)]
    clients: u32,
    /// Transactions started per second (open loop), or the first rate of a search.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Several open-loop steps instead of one, e.g. 1000,2000,4000.
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<u32>,
    /// Seconds each step starts transactions.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// How long an answer may take before it counts as lost (ms).
    #[arg(long, default_value_t = 1000)]
    wait_ms: u64,
    /// Worker threads, each with its own socket (a power of two).
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Seed of the client identities and mix draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// DUID type the clients send.
    #[arg(long, value_enum, default_value = "ll")]
    duid: DuidKind,
    /// Closed loop: search the highest rate with loss under `--loss-max`.
    #[arg(long)]
    search: bool,
    /// Loss bound of the search, in percent (a step also fails when the generator started
    /// fewer than 100 − this percent of the offered transactions).
    #[arg(long, default_value_t = 1.0)]
    loss_max: f64,
    /// Highest rate the search tries.
    #[arg(long, default_value_t = 2_000_000)]
    max_rate: u32,
    /// Most steps of a search.
    #[arg(long, default_value_t = 16)]
    search_steps: u32,
    /// Stop bisecting when within this many percent.
    #[arg(long, default_value_t = 5.0)]
    precision: f64,
    /// The server's unicast address (relayed mode).
    #[arg(long)]
    relay_server: Option<Ipv6Addr>,
    /// Relays the clients are spread over.
    #[arg(long, default_value_t = 256)]
    relays: u32,
    /// link-address of the first relay; the others follow it (must lie in the server's subnet).
    #[arg(long, default_value = "2001:db8:1::ff:0")]
    relay_link_base: Ipv6Addr,
    /// Local address to send from in relayed mode (default: any).
    #[arg(long)]
    bind: Option<Ipv6Addr>,
    /// Server (and relay) port.
    #[arg(long, default_value_t = 547)]
    server_port: u16,
    /// Client port (direct mode).
    #[arg(long, default_value_t = 546)]
    client_port: u16,
    /// Write the JSON results here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the latency-vs-load plot here.
    #[arg(long)]
    svg: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let (plan, ends) = setup(&cli)?;
    let mut generator =
        Generator::new(plan, cli.threads, ends, cli.seed).context("opening the sockets")?;
    let mut steps: Vec<StepReport> = Vec::new();
    let mut max_rate = None;
    // What a search step is judged by: the loss, or the shortfall of transactions the
    // generator could not start, whichever is worse — a rate the generator did not reach is
    // not a rate the server sustained.
    let mut run_one = |rate: u32, steps: &mut Vec<StepReport>| {
        let r = generator.step(f64::from(rate), cli.seconds, cli.wait_ms);
        print_step(&r);
        let judged = r.loss.max(1.0 - r.achieved_rate / f64::from(rate.max(1)));
        steps.push(r);
        judged
    };
    if cli.search {
        let p = SearchParams {
            start_rate: cli.rate,
            max_rate: cli.max_rate,
            loss_max: cli.loss_max / 100.0,
            precision: cli.precision / 100.0,
            steps_max: cli.search_steps,
        };
        let outcome = search(&p, |rate| {
            Ok::<_, std::convert::Infallible>(run_one(rate, &mut steps))
        })
        .unwrap_or_else(|e| match e {});
        max_rate = outcome.best;
        match outcome.best {
            Some(r) => println!("max rate with loss < {} %: {r}/s", cli.loss_max),
            None => println!("no rate tried had loss < {} %", cli.loss_max),
        }
    } else if !cli.sweep.is_empty() {
        for &rate in &cli.sweep {
            run_one(rate, &mut steps);
        }
    } else {
        run_one(cli.rate, &mut steps);
    }
    let report = RunReport {
        command,
        settings: settings(&cli),
        steps,
        max_rate,
    };
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| path.display().to_string())?;
    }
    if let Some(path) = &cli.svg {
        let kind = report
            .steps
            .iter()
            .find_map(|s| s.headline().map(|(name, _)| name))
            .unwrap_or("no answers");
        let title = format!(
            "{:?} {:?} {:?}: {kind} latency vs offered load",
            cli.mode, cli.scenario, cli.ia
        );
        std::fs::write(path, latency_plot(&title, &plot_points(&report.steps)))
            .with_context(|| path.display().to_string())?;
    }
    Ok(())
}

fn setup(cli: &Cli) -> anyhow::Result<(Plan, Endpoints)> {
    if !cli.threads.is_power_of_two() || cli.threads > 64 {
        bail!("--threads must be a power of two up to 64");
    }
    let Some(population) = Population::new(cli.clients, cli.seed, cli.duid) else {
        bail!("--clients must be 1..=16777216");
    };
    if cli.seconds.is_nan() || cli.seconds <= 0.0 {
        bail!("--seconds must be positive");
    }
    let mix = Mix::parse(&cli.mix)?;
    let ifindex = cli
        .iface
        .as_deref()
        .map(interface_index)
        .transpose()
        .context("--iface")?;
    let (relay, ends) = match cli.mode {
        Mode::Direct => {
            let Some(ifindex) = ifindex else {
                bail!("direct mode needs --iface");
            };
            let ends = Endpoints {
                bind: SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, cli.client_port, 0, 0),
                dest: SocketAddrV6::new(
                    ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
                    cli.server_port,
                    0,
                    ifindex,
                ),
                multicast_if: Some(ifindex),
            };
            (None, ends)
        }
        Mode::Relayed => {
            let Some(server) = cli.relay_server else {
                bail!("relayed mode needs --relay-server");
            };
            if cli.relays == 0 {
                bail!("--relays must be at least 1");
            }
            let scope = if server.is_unicast_link_local() {
                ifindex.unwrap_or(0)
            } else {
                0
            };
            let ends = Endpoints {
                bind: SocketAddrV6::new(
                    cli.bind.unwrap_or(Ipv6Addr::UNSPECIFIED),
                    cli.server_port,
                    0,
                    0,
                ),
                dest: SocketAddrV6::new(server, cli.server_port, 0, scope),
                multicast_if: None,
            };
            let relay = RelayPlan {
                base: cli.relay_link_base,
                count: cli.relays,
            };
            (Some(relay), ends)
        }
    };
    let plan = Plan {
        population,
        xids: XidMap::new(cli.clients),
        scenario: cli.scenario,
        mix,
        ia: cli.ia,
        relay,
    };
    Ok((plan, ends))
}

fn settings(cli: &Cli) -> serde_json::Value {
    serde_json::json!({
        "mode": format!("{:?}", cli.mode).to_lowercase(),
        "iface": cli.iface,
        "scenario": cli.scenario,
        "mix": cli.mix,
        "ia": cli.ia,
        "clients": cli.clients,
        "threads": cli.threads,
        "seconds": cli.seconds,
        "wait_ms": cli.wait_ms,
        "seed": cli.seed,
        "duid": cli.duid,
        "relay_server": cli.relay_server,
        "relays": cli.relays,
        "search": cli.search,
        "loss_max_percent": cli.loss_max,
    })
}

fn plot_points(steps: &[StepReport]) -> Vec<PlotPoint> {
    steps
        .iter()
        .filter_map(|s| {
            let (_, l) = s.headline()?;
            Some(PlotPoint {
                rate: s.offered_rate,
                p50_us: l.p50_us,
                p99_us: l.p99_us,
            })
        })
        .collect()
}

fn print_step(r: &StepReport) {
    println!(
        "step: offered {:.0}/s achieved {:.0}/s over {:.2} s, started {}, bound {} ({:.0}/s), loss {:.3} %, late {}, unexpected {}, malformed {}, busy {}, send errors {}",
        r.offered_rate,
        r.achieved_rate,
        r.send_s,
        r.started,
        r.bound,
        r.bound_per_s,
        r.loss * 100.0,
        r.late,
        r.unexpected,
        r.malformed,
        r.busy_skips,
        r.send_errors
    );
    if r.extra_advertise > 0 {
        println!(
            "  {} further Advertises ignored (a second server answered too)",
            r.extra_advertise
        );
    }
    for (name, k) in &r.kinds {
        println!(
            "  {name:<28} sent {:>9} recv {:>9} lost {:>7}  p50 {:>9.1} µs  p99 {:>9.1} µs  p99.9 {:>9.1} µs  max {:>9.1} µs",
            k.sent, k.received, k.lost, k.latency.p50_us, k.latency.p99_us, k.latency.p999_us, k.latency.max_us
        );
    }
    if !r.status_codes.is_empty() {
        println!("  status codes: {:?}", r.status_codes);
    }
    for s in &r.servers {
        println!(
            "  server {}: {} advertise, {} reply, won {} transactions",
            s.server_id, s.counts.advertise, s.counts.reply, s.counts.won
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_command_lines_parse() {
        let c = Cli::try_parse_from(
            "tandem-bench --iface cli0 --mode direct --scenario exchange --ia na --clients 100000 \
             --rate 20000 --seconds 10 --json out.json --svg out.svg"
                .split_whitespace(),
        )
        .unwrap();
        assert_eq!(
            (c.mode, c.scenario, c.ia, c.clients, c.rate),
            (Mode::Direct, Scenario::Exchange, IaSel::Na, 100_000, 20_000)
        );
        let r = Cli::try_parse_from(
            "tandem-bench --mode relayed --relay-server 2001:db8::1 --relays 256 --search --ia both"
                .split_whitespace(),
        )
        .unwrap();
        assert!(r.search);
        let (plan, ends) = setup(&r).unwrap();
        assert_eq!(plan.relay.unwrap().count, 256);
        assert_eq!(ends.dest.port(), 547);
        assert_eq!(ends.bind.port(), 547);
        // Direct mode without an interface, and a bad thread count, are refused.
        let d = Cli::try_parse_from(["tandem-bench"]).unwrap();
        assert!(setup(&d).is_err());
        let t = Cli::try_parse_from(
            "tandem-bench --mode relayed --relay-server ::1 --threads 3".split_whitespace(),
        )
        .unwrap();
        assert!(setup(&t).is_err());
        let s =
            Cli::try_parse_from("tandem-bench --sweep 1000,2000,4000".split_whitespace()).unwrap();
        assert_eq!(s.sweep, [1000, 2000, 4000]);
    }
}
