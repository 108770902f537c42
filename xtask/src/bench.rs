//! `cargo xtask bench`: tandemd (durable and os-buffer, on XDP) and Kea under the same
//! generator in one run, one server at a time in one lab (issue 4, build item 5):
//!
//! 1. per server, tandem-bench searches the highest rate with under 1 % loss;
//! 2. tandem-bench runs at one fixed rate, half of Kea's maximum (Kea runs first), for the
//!    server's CPU time per completed exchange and the p99 latencies;
//! 3. perfdhcp, an independent generator, runs at the same rate for CPU per exchange.
//!
//! Every measurement gets a fresh server and store. Writes `bench/RESULTS.md` (the table and a
//! verdict per target of issue 4), `bench/results/bench-<date>.json` (every run) and
//! tandem-bench's latency plots `bench/results/bench-<date>-<server>.svg`.

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::ValueEnum;
use serde_json::{json, Value};
use tandem_lab::netns::output_timeout;
use tandem_lab::CLIENT_IF;
use tandem_lab::{wait_for, Direct, LabDatapath, Netns, ServerParams, Subject, SubjectKind};

use crate::compare::{cpu_window, kea_version, perfdhcp_load, perfdhcp_run, Load, Server};
use crate::machine::Machine;
use crate::proc_stat::ticks_per_second;
use crate::results::{Bench, BenchRow, FixedRun, Role, SearchStop};
use crate::servers::WorkDir;
use crate::servers::{build_release_bin, build_tandemd, kea_multi_threaded, tandem_durability};
use crate::shell::{cmd, display};

/// The search's loss bound (1 %).
const LOSS_MAX: f64 = 0.01;
/// The fixed rate when Kea's maximum is unknown (Kea not in `--servers`, or no rate passed).
const DEFAULT_FIXED_RATE: u32 = 2000;
/// The address pool of every server: 2^22 addresses, far more than any run binds.
const POOL: (&str, &str) = ("2001:db8:1::1:0:0", "2001:db8:1::1:3f:ffff");

/// What `cargo xtask bench` was asked for.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Short steps: a smoke run.
    pub(crate) quick: bool,
    /// Seconds of each fixed-rate run (default by mode).
    pub(crate) seconds: Option<u32>,
    /// The servers (Kea always runs first).
    pub(crate) servers: Vec<Server>,
}

/// How long each part runs, and how many clients it draws from.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Timing {
    /// Sending time of one search step (s).
    step_s: f64,
    /// Most steps of a search.
    search_steps: u32,
    /// The search stops within this many percent.
    precision_pct: f64,
    /// First rate of a search.
    start_rate: u32,
    /// Highest rate a search tries.
    max_rate: u32,
    /// Simulated clients of a search.
    search_clients: u32,
    /// Sending time of each fixed-rate run (s).
    seconds: u32,
    /// How long an answer may take before it counts as lost (ms).
    wait_ms: u64,
}

impl Timing {
    fn new(quick: bool, seconds: Option<u32>) -> Self {
        if quick {
            Self {
                step_s: 1.0,
                search_steps: 8,
                precision_pct: 10.0,
                start_rate: 1000,
                max_rate: 400_000,
                search_clients: 1 << 18,
                seconds: seconds.unwrap_or(3).max(1),
                wait_ms: 300,
            }
        } else {
            Self {
                step_s: 3.0,
                search_steps: 14,
                precision_pct: 5.0,
                start_rate: 1000,
                max_rate: 400_000,
                search_clients: 1 << 22,
                seconds: seconds.unwrap_or(10).max(1),
                wait_ms: 500,
            }
        }
    }

    /// Upper bound on one search's wall time (sending plus waiting, every step).
    fn search_bound(&self) -> Duration {
        let step = self.step_s + self.wait_ms as f64 / 1000.0;
        Duration::from_secs_f64(step * f64::from(self.search_steps))
    }

    /// Clients for `rate` exchanges/s over `seconds`: every exchange a new client.
    fn fixed_clients(&self, rate: u32) -> u32 {
        let n = u64::from(rate) * u64::from(self.seconds) * 11 / 10 + 1000;
        u32::try_from(n)
            .unwrap_or(u32::MAX)
            .min(self.search_clients)
    }
}

/// The generator arguments every tandem-bench run shares (IA_NA, 4-message exchange, direct).
fn common_args(clients: u32, wait_ms: u64) -> Vec<String> {
    let mut a: Vec<String> = [
        "--iface",
        CLIENT_IF,
        "--mode",
        "direct",
        "--scenario",
        "exchange",
        "--ia",
        "na",
        "--threads",
        "2",
        "--seed",
        "1",
        "--clients",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    a.push(clients.to_string());
    a.push("--wait-ms".into());
    a.push(wait_ms.to_string());
    a
}

fn search_args(t: &Timing) -> Vec<String> {
    let mut a = common_args(t.search_clients, t.wait_ms);
    a.extend([
        "--search".to_owned(),
        "--loss-max".into(),
        (LOSS_MAX * 100.0).to_string(),
        "--rate".into(),
        t.start_rate.to_string(),
        "--max-rate".into(),
        t.max_rate.to_string(),
        "--search-steps".into(),
        t.search_steps.to_string(),
        "--precision".into(),
        t.precision_pct.to_string(),
        "--seconds".into(),
        t.step_s.to_string(),
    ]);
    a
}

fn fixed_args(t: &Timing, rate: u32) -> Vec<String> {
    let mut a = common_args(t.fixed_clients(rate), t.wait_ms);
    a.extend([
        "--rate".to_owned(),
        rate.to_string(),
        "--seconds".into(),
        t.seconds.to_string(),
    ]);
    a
}

/// Kea first (its maximum sets the fixed rate), then the rest in the order given, once each.
fn ordered(servers: &[Server]) -> Vec<Server> {
    let mut out: Vec<Server> = Vec::new();
    let kea_first = servers.iter().filter(|s| **s == Server::Kea);
    for &s in kea_first.chain(servers.iter().filter(|s| **s != Server::Kea)) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn role(server: Server) -> Role {
    match server {
        Server::Kea => Role::Kea,
        Server::TandemDurable => Role::TandemDurable,
        Server::TandemOsBuffer => Role::TandemOsBuffer,
    }
}

fn slug(server: Server) -> String {
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

/// The figures of a fixed-rate tandem-bench report (one step).
fn fixed_figures(report: &Value, cpu: crate::compare::CpuWindow) -> anyhow::Result<FixedRun> {
    let step = &report["steps"][0];
    if step.is_null() {
        bail!("tandem-bench reported no step");
    }
    let f = |v: &Value| {
        v.as_f64()
            .context("a number missing in tandem-bench's JSON")
    };
    let p99 = |kind: &str| {
        let l = &step["kinds"][kind]["latency"];
        (l["count"].as_u64().unwrap_or(0) > 0)
            .then(|| l["p99_us"].as_f64())
            .flatten()
    };
    Ok(FixedRun {
        offered_rate: f(&step["offered_rate"])?,
        achieved_rate: f(&step["achieved_rate"])?,
        completed: step["kinds"]["request-reply"]["received"]
            .as_u64()
            .unwrap_or(0),
        loss: f(&step["loss"])?,
        p99_advertise_us: p99("solicit-advertise"),
        p99_reply_us: p99("request-reply"),
        cpu_s: cpu.cpu_s,
        wall_s: cpu.wall_s,
        threads: cpu.threads,
        owner_share: None,
    })
}

/// The search's result in a tandem-bench report.
fn max_rate(report: &Value) -> Option<u32> {
    report["max_rate"]
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
}

/// What ended the search in a tandem-bench report: the lowest failing step above `max` (a
/// step fails as tandem-bench judges it: loss, or the generator's shortfall against the offered
/// rate, at least `loss_max`).
fn search_stop(report: &Value, max: Option<u32>, loss_max: f64) -> SearchStop {
    let floor = max.map_or(0.0, f64::from);
    let mut lowest: Option<(f64, f64, f64)> = None;
    for step in report["steps"].as_array().into_iter().flatten() {
        let (Some(rate), Some(achieved), Some(loss)) = (
            step["offered_rate"].as_f64(),
            step["achieved_rate"].as_f64(),
            step["loss"].as_f64(),
        ) else {
            continue;
        };
        let shortfall = 1.0 - achieved / rate.max(1.0);
        let failed = loss.max(shortfall) >= loss_max;
        if failed && rate > floor && lowest.is_none_or(|(r, _, _)| rate < r) {
            lowest = Some((rate, achieved, loss));
        }
    }
    match lowest {
        Some((rate, _, loss)) if loss >= loss_max => SearchStop::Loss { rate, loss },
        Some((rate, achieved, _)) => SearchStop::Generator { rate, achieved },
        None => SearchStop::NoFailure,
    }
}

/// Runs the release tandem-bench in `ns` with `args`, its JSON and SVG into `dir/<name>.*`;
/// returns the parsed JSON.
fn tandem_bench(
    ns: &Netns,
    bin: &Path,
    args: &[String],
    dir: &Path,
    name: &str,
    bound: Duration,
) -> anyhow::Result<Value> {
    let json = dir.join(format!("{name}.json"));
    let mut c = ns.command(&bin.to_string_lossy());
    c.args(args)
        .arg("--json")
        .arg(&json)
        .arg("--svg")
        .arg(dir.join(format!("{name}.svg")));
    let out = output_timeout(&mut c, bound + Duration::from_secs(60))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    if !out.status.success() {
        bail!(
            "tandem-bench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = std::fs::read_to_string(&json).with_context(|| json.display().to_string())?;
    serde_json::from_str(&text).context("tandem-bench's JSON")
}

/// Starts the servers the bench measures, each fresh in its own directory.
struct Servers<'a> {
    lab: &'a Direct,
    params: ServerParams,
    tandemd: Option<&'a Path>,
    object: Option<&'a Path>,
    /// Native XDP failed once: go straight to generic.
    generic_only: bool,
}

impl Servers<'_> {
    /// A fresh `server` in `dir`: the subject, its setup line and its datapath.
    fn start(&mut self, server: Server, dir: &Path) -> anyhow::Result<(Subject, String, String)> {
        std::fs::create_dir_all(dir)?;
        let workers = self.params.workers;
        if server == Server::Kea {
            let mut s =
                Subject::start(SubjectKind::Kea, &self.lab.server, &self.params, dir, None)?;
            kea_multi_threaded(&mut s, &self.lab.server, workers)?;
            let setup = format!(
                "kea-dhcp6 {}, memfile with persist (CSV), multi-threading on, {workers} threads, \
                 packet queue 64, WARN logging",
                kea_version()
            );
            return Ok((s, setup, "sockets".to_owned()));
        }
        let (mut s, generic) = self.start_tandem(dir)?;
        let durability = if server == Server::TandemOsBuffer {
            tandem_durability(&mut s, &self.lab.server, "os-buffer")?;
            "os-buffer"
        } else {
            "durable"
        };
        let mode = if generic { "xdp-generic" } else { "xdp-native" };
        wait_datapath(&s, mode)?;
        let setup = format!(
            "tandemd release build, {workers} workers, durability = \"{durability}\", \
             [datapath] mode = \"xdp\", xdp-attach = \"{}\"",
            if generic { "generic" } else { "native" }
        );
        let datapath = if generic { "XDP generic" } else { "XDP native" };
        Ok((s, setup, datapath.to_owned()))
    }

    /// tandemd with XDP attached natively, else generically; says which.
    fn start_tandem(&mut self, dir: &Path) -> anyhow::Result<(Subject, bool)> {
        let object = self.object.context("no eBPF object")?.to_path_buf();
        let ns = &self.lab.server;
        if !self.generic_only {
            let mut p = self.params.clone();
            p.datapath = LabDatapath::Xdp {
                object: object.clone(),
                generic: false,
            };
            let native = dir.join("native");
            std::fs::create_dir_all(&native)?;
            match Subject::start(SubjectKind::Tandem, ns, &p, &native, self.tandemd) {
                Ok(s) => return Ok((s, false)),
                Err(e) => {
                    println!("bench: native XDP did not start ({e:#}); falling back to generic");
                    self.generic_only = true;
                }
            }
        }
        let mut p = self.params.clone();
        p.datapath = LabDatapath::Xdp {
            object,
            generic: true,
        };
        let generic = dir.join("generic");
        std::fs::create_dir_all(&generic)?;
        let s = Subject::start(SubjectKind::Tandem, ns, &p, &generic, self.tandemd)?;
        Ok((s, true))
    }
}

/// The share of packets tandemd's workers served where they arrived (1 − handoffs /
/// received), once stats.json counts at least the run's 2 × `completed` packets (workers
/// publish a few times a second, stats.json is written every second).
fn owner_share(s: &Subject, completed: u64) -> Option<f64> {
    let v = wait_for("tandemd's counters", Duration::from_secs(5), || {
        let v = s.stats().ok().flatten()?;
        (v["received"].as_u64()? >= 2 * completed).then_some(v)
    })
    .ok()?;
    let received = v["received"].as_u64()?;
    let handoffs = v["handoffs"].as_u64()?;
    (received > 0).then(|| 1.0 - handoffs as f64 / received as f64)
}

/// Waits until tandemd's stats.json names `mode` as its datapath.
fn wait_datapath(s: &Subject, mode: &str) -> anyhow::Result<()> {
    wait_for(
        "the datapath in stats.json",
        Duration::from_secs(15),
        || {
            let v = s.stats().ok().flatten()?;
            (v["datapath"] == mode).then_some(())
        },
    )
    .with_context(|| format!("tandemd did not report datapath {mode:?}"))
}

/// One server's three measurements.
struct Measured {
    row: BenchRow,
    raw: Value,
    plot: PathBuf,
}

/// Everything one run needs besides the server.
struct Ctx<'a> {
    lab: &'a Direct,
    bench_bin: &'a Path,
    timing: Timing,
    hz: u64,
}

fn measure(
    ctx: &Ctx<'_>,
    servers: &mut Servers<'_>,
    server: Server,
    dir: &Path,
    rate: impl FnOnce(Option<u32>) -> u32,
) -> anyhow::Result<(Measured, Option<u32>)> {
    let t = &ctx.timing;
    let client = &ctx.lab.client;
    let heading = server.heading();

    println!("\nbench: {heading}: search for the maximum rate with loss < 1 % ...");
    let search_dir = dir.join("search");
    let (mut s, setup, datapath) = servers.start(server, &search_dir)?;
    let search = tandem_bench(
        client,
        ctx.bench_bin,
        &search_args(t),
        &search_dir,
        "search",
        t.search_bound(),
    )?;
    s.stop()?;
    let max = max_rate(&search);
    println!("bench: {heading}: maximum {max:?}/s ({datapath})");
    crate::interrupt::check()?;

    let rate = rate(max);
    println!("\nbench: {heading}: tandem-bench at {rate}/s for CPU and latency ...");
    let fixed_dir = dir.join("fixed");
    let (s, _, _) = servers.start(server, &fixed_dir)?;
    let bound = Duration::from_secs(u64::from(t.seconds)) + Duration::from_millis(t.wait_ms);
    let args = fixed_args(t, rate);
    let (cpu, fixed_report) = cpu_window(&s, ctx.hz, || {
        tandem_bench(client, ctx.bench_bin, &args, &fixed_dir, "fixed", bound)
    })?;
    let mut fixed = fixed_figures(&fixed_report, cpu)?;
    if server != Server::Kea {
        fixed.owner_share = owner_share(&s, fixed.completed);
    }
    let mut s = s;
    s.stop()?;
    crate::interrupt::check()?;

    println!("\nbench: {heading}: perfdhcp at {rate}/s for CPU ...");
    let perf_dir = dir.join("perfdhcp");
    let (mut s, _, _) = servers.start(server, &perf_dir)?;
    let perf = perfdhcp_load(perf_load(t, rate));
    let perf_run = perfdhcp_run(
        &mut s,
        client,
        &perf,
        &perf_dir,
        ctx.hz,
        heading,
        setup.clone(),
    )?;
    crate::interrupt::check()?;

    let row = BenchRow {
        server: heading.to_owned(),
        role: role(server),
        setup,
        datapath,
        max_rate: max,
        stop: Some(search_stop(&search, max, LOSS_MAX)),
        fixed: Some(fixed),
        perfdhcp: Some(perf_run.clone()),
    };
    let raw = json!({
        "server": heading,
        "search": search,
        "fixed": fixed_report,
        "perfdhcp": perf_run,
    });
    Ok((
        Measured {
            row,
            raw,
            plot: search_dir.join("search.svg"),
        },
        max,
    ))
}

fn perf_load(t: &Timing, rate: u32) -> Load {
    Load {
        rate,
        clients: t.fixed_clients(rate),
        seconds: t.seconds,
    }
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
    let needs_tandemd = order.iter().any(|s| *s != Server::Kea);
    let tandemd = needs_tandemd.then(|| build_tandemd(root)).transpose()?;
    let bench_bin = build_release_bin(root, "tandem-bench", "tandem-bench")?;
    let object = needs_tandemd
        .then(|| crate::ebpf::build(root))
        .transpose()?;
    let hz = ticks_per_second()?;
    let work = WorkDir::new("bench")?;
    let lab = Direct::new().context("building the lab")?;
    // XDP redirect of packets a peer-namespace process generated needs the sender's checksum
    // offload off (testing.md); the same for every server.
    lab.client.run(&["ethtool", "-K", CLIENT_IF, "tx", "off"])?;
    let mut params = lab.server_params();
    params.pool = (POOL.0.parse::<Ipv6Addr>()?, POOL.1.parse::<Ipv6Addr>()?);
    let mut servers = Servers {
        lab: &lab,
        params,
        tandemd: tandemd.as_deref(),
        object: object.as_deref(),
        generic_only: false,
    };
    let ctx = Ctx {
        lab: &lab,
        bench_bin: &bench_bin,
        timing,
        hz,
    };

    let mut kea_max = None;
    let mut measured = Vec::new();
    for &server in &order {
        let dir = work.sub(&slug(server))?;
        let is_kea = server == Server::Kea;
        let (m, max) = measure(&ctx, &mut servers, server, &dir, |max| {
            fixed_rate(if is_kea { max } else { kea_max }).0
        })
        .with_context(|| format!("measuring {}", server.heading()))?;
        if is_kea {
            kea_max = max;
        }
        measured.push(m);
    }
    drop(servers);
    drop(lab);

    let (rate, half_kea) = fixed_rate(kea_max);
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
    fn kea_runs_first_and_each_server_once() {
        let given = [
            Server::TandemDurable,
            Server::Kea,
            Server::TandemOsBuffer,
            Server::TandemDurable,
        ];
        assert_eq!(
            ordered(&given),
            [Server::Kea, Server::TandemDurable, Server::TandemOsBuffer]
        );
        assert_eq!(ordered(&[Server::TandemOsBuffer]), [Server::TandemOsBuffer]);
        assert!(ordered(&[]).is_empty());
    }

    #[test]
    fn the_fixed_rate_is_half_of_keas_maximum_when_known() {
        assert_eq!(fixed_rate(Some(5001)), (2500, true));
        assert_eq!(fixed_rate(None), (DEFAULT_FIXED_RATE, false));
        assert_eq!(fixed_rate(Some(1)), (DEFAULT_FIXED_RATE, false));
    }

    #[test]
    fn a_full_run_fits_in_a_quarter_hour_and_the_pool_outlasts_the_clients() {
        let t = Timing::new(false, None);
        // Three servers: a search, a fixed-rate tandem-bench run and a perfdhcp run each, plus
        // up to a minute per server for starts and stops.
        let fixed = 2.0 * (f64::from(t.seconds) + t.wait_ms as f64 / 1000.0);
        let per_server = t.search_bound().as_secs_f64() + fixed + 60.0;
        assert!(3.0 * per_server < 15.0 * 60.0, "{per_server} s per server");
        let pool = u128::from(POOL.1.parse::<Ipv6Addr>().unwrap())
            - u128::from(POOL.0.parse::<Ipv6Addr>().unwrap())
            + 1;
        assert!(pool >= u128::from(t.search_clients), "{pool}");
        let q = Timing::new(true, Some(2));
        assert_eq!(q.seconds, 2);
        assert!(q.search_bound() < t.search_bound());
        // Fixed-rate runs have a client per exchange, and never more than the pool.
        assert_eq!(t.fixed_clients(2000), 2000 * 10 * 11 / 10 + 1000);
        assert_eq!(t.fixed_clients(u32::MAX), t.search_clients);
    }

    #[test]
    fn generator_arguments_name_the_scenario_and_the_bounds() {
        let t = Timing::new(true, None);
        let s = search_args(&t).join(" ");
        for needle in [
            "--iface cli0",
            "--scenario exchange",
            "--ia na",
            "--search",
            "--loss-max 1",
            "--search-steps 8",
            "--seconds 1",
            "--clients 262144",
        ] {
            assert!(s.contains(needle), "{needle} missing: {s}");
        }
        let f = fixed_args(&t, 1500).join(" ");
        assert!(f.contains("--rate 1500 --seconds 3"), "{f}");
        assert!(!f.contains("--search"), "{f}");
        assert!(
            f.contains(&format!("--clients {}", t.fixed_clients(1500))),
            "{f}"
        );
    }

    #[test]
    fn figures_come_from_the_first_step_of_the_report() {
        let report = json!({
            "max_rate": 4200,
            "steps": [{
                "offered_rate": 2000.0, "achieved_rate": 1999.5, "loss": 0.001,
                "kinds": {
                    "solicit-advertise": { "received": 20000,
                        "latency": { "count": 20000, "p99_us": 150.5 } },
                    "request-reply": { "received": 19990,
                        "latency": { "count": 19990, "p99_us": 420.0 } }
                }
            }]
        });
        let cpu = crate::compare::CpuWindow {
            cpu_s: 2.0,
            wall_s: 10.5,
            threads: vec![("w".to_owned(), 2.0)],
        };
        let f = fixed_figures(&report, cpu.clone()).unwrap();
        assert_eq!(f.completed, 19990);
        assert_eq!(f.p99_advertise_us, Some(150.5));
        assert_eq!(f.p99_reply_us, Some(420.0));
        assert!((f.cpu_us_per_exchange().unwrap() - 2e6 / 19990.0).abs() < 1e-9);
        assert_eq!(max_rate(&report), Some(4200));
        assert_eq!(max_rate(&json!({ "max_rate": null })), None);
        // No answers: no latency, no exchanges; no step at all: an error.
        let silent = json!({ "steps": [{ "offered_rate": 1.0, "achieved_rate": 1.0,
            "loss": 1.0, "kinds": { "solicit-advertise": { "received": 0,
            "latency": { "count": 0, "p99_us": 0.0 } } } }] });
        let f = fixed_figures(&silent, cpu.clone()).unwrap();
        assert_eq!(
            (f.completed, f.p99_advertise_us, f.p99_reply_us),
            (0, None, None)
        );
        assert!(fixed_figures(&json!({ "steps": [] }), cpu).is_err());
    }

    #[test]
    fn the_search_stop_is_the_lowest_failing_step_above_the_maximum() {
        let step = |rate: f64, achieved: f64, loss: f64| json!({ "offered_rate": rate, "achieved_rate": achieved, "loss": loss });
        // The shortfall at 128000/s and a real loss at 96000/s: the loss ended it.
        let server = json!({ "steps": [
            step(64_000.0, 64_000.0, 0.0),
            step(128_000.0, 120_000.0, 0.0),
            step(96_000.0, 95_900.0, 0.057),
            step(80_000.0, 80_000.0, 0.002),
        ] });
        assert_eq!(
            search_stop(&server, Some(80_000), LOSS_MAX),
            SearchStop::Loss {
                rate: 96_000.0,
                loss: 0.057
            }
        );
        // Only shortfalls above the maximum: the generator ended it.
        let generator = json!({ "steps": [
            step(64_000.0, 64_000.0, 0.0),
            step(128_000.0, 112_000.0, 0.0),
            step(96_000.0, 94_000.0, 0.0008),
        ] });
        assert_eq!(
            search_stop(&generator, Some(64_000), LOSS_MAX),
            SearchStop::Generator {
                rate: 96_000.0,
                achieved: 94_000.0
            }
        );
        assert_eq!(
            search_stop(
                &json!({ "steps": [step(1000.0, 1000.0, 0.0)] }),
                Some(1000),
                LOSS_MAX
            ),
            SearchStop::NoFailure
        );
        // Nothing passed: the lowest failing step is the first.
        let none = json!({ "steps": [step(1000.0, 1000.0, 0.5), step(500.0, 500.0, 0.2)] });
        assert_eq!(
            search_stop(&none, None, LOSS_MAX),
            SearchStop::Loss {
                rate: 500.0,
                loss: 0.2
            }
        );
    }

    #[test]
    fn command_line_round_trips_through_clap() {
        use clap::Parser as _;
        let opts = Options {
            quick: true,
            seconds: Some(4),
            servers: vec![Server::Kea, Server::TandemDurable],
        };
        let line = command_line(&opts);
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
    }
}
