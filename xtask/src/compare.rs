//! `cargo xtask compare`: tandemd and Kea under the same perfdhcp load, in one lab and one run;
//! server CPU time per completed 4-message exchange, written to `bench/RESULTS.md` and
//! `bench/results/compare-<date>.json`.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::ValueEnum;
use tandem_lab::{Direct, Perfdhcp, PerfdhcpReport, ServerParams, Subject, SubjectKind, CLIENT_IF};

use crate::machine::Machine;
use crate::proc_stat::{thread_deltas, threads_of, ticks_per_second, CpuTicks};
use crate::results::{Comparison, ServerRun};
use crate::servers::{build_tandemd, kea_multi_threaded, tandem_durability, WorkDir};
use crate::shell::{cmd, display, output};

/// The perfdhcp load: `-r rate -R clients -p seconds`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) rate: u32,
    pub(crate) clients: u32,
    pub(crate) seconds: u32,
}

/// The servers the comparison can run, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Server {
    /// tandemd, fdatasync before every reply goes out.
    TandemDurable,
    /// tandemd, leases written to the OS without fsync (Kea memfile's durability).
    TandemOsBuffer,
    /// Kea 2.2, memfile with persistence, multi-threading on.
    Kea,
}

impl Server {
    pub(crate) fn heading(self) -> &'static str {
        match self {
            Self::TandemDurable => "tandemd (durable)",
            Self::TandemOsBuffer => "tandemd (os-buffer)",
            Self::Kea => "Kea",
        }
    }
}

pub(crate) fn run(root: &Path, load: Load, servers: &[Server]) -> anyhow::Result<()> {
    if servers.is_empty() {
        bail!("no servers to compare");
    }
    crate::interrupt::install();
    crate::deps::run()?;
    tandem_lab::preflight()?;
    let machine = Machine::describe()?;
    let needs_tandemd = servers.iter().any(|s| *s != Server::Kea);
    let tandemd = if needs_tandemd {
        Some(build_tandemd(root)?)
    } else {
        None
    };
    let hz = ticks_per_second()?;
    let work = WorkDir::new("compare")?;
    let lab = Direct::new().context("building the lab")?;
    let params = lab.server_params();
    let perf = perfdhcp_load(load);
    let perf_line = display(&cmd("perfdhcp", perf.args()));
    println!(
        "compare: {} in the client namespace, one server at a time",
        perf_line
    );

    let mut runs = Vec::new();
    for &server in servers {
        let dir = work.sub(&format!("{server:?}").to_lowercase())?;
        crate::interrupt::check()?;
        println!("\ncompare: {} ...", server.heading());
        let run = measure(server, &lab, &params, &perf, &dir, tandemd.as_deref(), hz)
            .with_context(|| format!("measuring {}", server.heading()))?;
        println!(
            "compare: {}: {:.0} exchanges/s, {} completed, CPU {:.2} s",
            run.server, run.rate, run.completed, run.cpu_s
        );
        runs.push(run);
    }
    drop(lab);

    let baseline = if servers.contains(&Server::Kea) {
        Server::Kea
    } else {
        servers[0]
    };
    let comparison = Comparison {
        machine,
        perfdhcp: perf_line,
        command: command_line(load, servers),
        source: source(root),
        runs,
        baseline: baseline.heading().to_owned(),
    };
    println!("\n{}", comparison.table());
    write_results(root, &comparison)
}

/// perfdhcp in the client namespace as `load` says: `-n` caps the run at what the rate allows
/// in `-p` seconds. No `-W` (tandem-lab's default wait for late answers): perfdhcp's rate then
/// covers the load period only; an exchange still in flight when the period ends counts as a
/// drop.
pub(crate) fn perfdhcp_load(load: Load) -> Perfdhcp {
    let mut perf = Perfdhcp::new(
        CLIENT_IF,
        load.rate,
        load.clients,
        load.rate.saturating_mul(load.seconds),
    );
    perf.period_s = load.seconds;
    perf.extra.clear();
    perf
}

/// The source measured: `git describe --always --dirty`.
pub(crate) fn source(root: &Path) -> String {
    output(cmd("git", ["describe", "--always", "--dirty"]).current_dir(root))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "(not a git checkout)".to_owned())
}

/// A UTC date as a file-name stamp: `2026-11-26T23:00:00Z` → `20261126T230000Z`.
pub(crate) fn stamp(date_utc: &str) -> String {
    date_utc
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric())
        .collect()
}

fn measure(
    server: Server,
    lab: &Direct,
    params: &ServerParams,
    perf: &Perfdhcp,
    dir: &Path,
    tandemd: Option<&Path>,
    hz: u64,
) -> anyhow::Result<ServerRun> {
    let kind = if server == Server::Kea {
        SubjectKind::Kea
    } else {
        SubjectKind::Tandem
    };
    let mut subject = Subject::start(kind, &lab.server, params, dir, tandemd)?;
    let setup = match server {
        Server::Kea => {
            kea_multi_threaded(&mut subject, &lab.server, params.workers)?;
            format!(
                "kea-dhcp6 {}, memfile with persist (CSV), multi-threading on, {} threads, \
                 packet queue 64, WARN logging",
                kea_version(),
                params.workers
            )
        }
        Server::TandemDurable => format!(
            "tandemd release build, {} workers, durability = \"durable\"",
            params.workers
        ),
        Server::TandemOsBuffer => {
            tandem_durability(&mut subject, &lab.server, "os-buffer")?;
            format!(
                "tandemd release build, {} workers, durability = \"os-buffer\"",
                params.workers
            )
        }
    };
    perfdhcp_run(
        &mut subject,
        &lab.client,
        perf,
        dir,
        hz,
        server.heading(),
        setup,
    )
}

/// Runs `perf` in the client namespace `client` against the running `subject` and measures the
/// subject's CPU time (all threads, from `/proc`) during the load; stops the subject and
/// returns the run. Shared with `cargo xtask bench`.
pub(crate) fn perfdhcp_run(
    subject: &mut Subject,
    client: &tandem_lab::Netns,
    perf: &Perfdhcp,
    dir: &Path,
    hz: u64,
    heading: &str,
    setup: String,
) -> anyhow::Result<ServerRun> {
    let (window, report) = cpu_window(subject, hz, || perf.run(client, dir, "perfdhcp"))?;
    let stored_na = subject
        .leases()?
        .iter()
        .filter(|l| l.kind == tandem_lab::LeaseKind::Na)
        .count();
    subject.stop()?;
    let mut run = server_run(
        heading,
        setup,
        &report,
        window.cpu_s,
        window.wall_s,
        stored_na,
    )?;
    run.threads = window.threads;
    Ok(run)
}

/// CPU time a server spent while a load ran.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CpuWindow {
    /// User + system seconds, all threads.
    pub(crate) cpu_s: f64,
    /// Wall seconds of the load.
    pub(crate) wall_s: f64,
    /// CPU seconds by thread name (threads alive at the end), largest first.
    pub(crate) threads: Vec<(String, f64)>,
}

/// Runs `load` and returns the subject's CPU time over it (from `/proc/<pid>/stat`, read right
/// before and right after) with the load's result.
pub(crate) fn cpu_window<T>(
    subject: &Subject,
    hz: u64,
    load: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(CpuWindow, T)> {
    let pid = subject.pid().context("the server is not running")?;
    let threads_before = threads_of(pid)?;
    let before = CpuTicks::of(pid)?;
    let started = Instant::now();
    let out = load()?;
    let wall_s = started.elapsed().as_secs_f64();
    let after = CpuTicks::of(pid).context("the server exited during the load")?;
    let threads_after = threads_of(pid)?;
    let threads = thread_deltas(&threads_before, &threads_after)
        .into_iter()
        .map(|(name, ticks)| (name, ticks as f64 / hz as f64))
        .collect();
    let cpu_s = after.total().saturating_sub(before.total()) as f64 / hz as f64;
    Ok((
        CpuWindow {
            cpu_s,
            wall_s,
            threads,
        },
        out,
    ))
}

fn server_run(
    server: &str,
    setup: String,
    report: &PerfdhcpReport,
    cpu_s: f64,
    wall_s: f64,
    stored_na: usize,
) -> anyhow::Result<ServerRun> {
    let sa = report.exchange("SOLICIT-ADVERTISE")?;
    let rr = report.exchange("REQUEST-REPLY")?;
    Ok(ServerRun {
        server: server.to_owned(),
        setup,
        rate: report.rate,
        solicits: sa.sent,
        completed: rr.received,
        drops_solicit: sa.drops,
        drops_request: rr.drops,
        avg_delay_ms: (sa.avg_delay_ms, rr.avg_delay_ms),
        cpu_s,
        wall_s,
        stored_na,
        threads: Vec::new(),
    })
}

pub(crate) fn kea_version() -> String {
    output(&mut cmd("kea-dhcp6", ["-v"]))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|_| "(version unknown)".to_owned())
}

fn command_line(load: Load, servers: &[Server]) -> String {
    let names: Vec<String> = servers
        .iter()
        .filter_map(|s| s.to_possible_value().map(|v| v.get_name().to_owned()))
        .collect();
    format!(
        "cargo xtask compare --rate {} --clients {} --seconds {} --servers {}",
        load.rate,
        load.clients,
        load.seconds,
        names.join(",")
    )
}

fn write_results(root: &Path, c: &Comparison) -> anyhow::Result<()> {
    let json_name = format!("compare-{}.json", stamp(&c.machine.date_utc));
    let dir = root.join("bench/results");
    std::fs::create_dir_all(&dir)?;
    let json_path = dir.join(&json_name);
    std::fs::write(&json_path, serde_json::to_string_pretty(c)? + "\n")?;
    let md_path = root.join("bench/RESULTS.md");
    std::fs::write(&md_path, c.markdown(&json_name))?;
    println!(
        "compare: wrote {} and {}",
        md_path.display(),
        json_path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_round_trips_through_clap_names() {
        use clap::Parser as _;
        let load = Load {
            rate: 1500,
            clients: 7000,
            seconds: 9,
        };
        let servers = [Server::TandemOsBuffer, Server::Kea];
        let line = command_line(load, &servers);
        let args = line.split_whitespace().skip(1); // "cargo"; "xtask" stands in for argv[0]
        let parsed = crate::Cli::try_parse_from(args).unwrap();
        let crate::Command::Compare {
            rate,
            clients,
            seconds,
            servers: parsed_servers,
        } = parsed.command
        else {
            panic!("not a compare command: {line}");
        };
        assert_eq!((rate, clients, seconds), (1500, 7000, 9));
        assert_eq!(parsed_servers, servers);
    }

    #[test]
    fn a_run_takes_completed_exchanges_from_request_reply() {
        let text = "Rate: 1990.5 4-way exchanges/second, expected rate: 2000\n\
                    ***Statistics for: SOLICIT-ADVERTISE***\nsent packets: 40000\nreceived packets: 39990\n\
                    drops: 10\navg delay: 0.300 ms\n\
                    ***Statistics for: REQUEST-REPLY***\nsent packets: 39990\nreceived packets: 39980\n\
                    drops: 10\navg delay: 0.400 ms\n";
        let report = PerfdhcpReport::parse(text).unwrap();
        let r = server_run("Kea", "s".to_owned(), &report, 4.0, 20.0, 17000).unwrap();
        assert_eq!(
            (r.solicits, r.completed, r.drops_solicit, r.drops_request),
            (40000, 39980, 10, 10)
        );
        assert_eq!(r.avg_delay_ms, (0.3, 0.4));
        assert!((r.cpu_us_per_exchange().unwrap() - 4.0e6 / 39980.0).abs() < 1e-9);
        let only_sa =
            PerfdhcpReport::parse("***Statistics for: SOLICIT-ADVERTISE***\nsent packets: 1\n")
                .unwrap();
        assert!(server_run("x", String::new(), &only_sa, 1.0, 1.0, 0).is_err());
    }
}
