//! `cargo xtask demo`: the README's main job, a failover pair.
//!
//! Builds tandemd (release) and, in a tandem-lab `Pair` (a primary and a secondary in their own
//! namespaces on one client link, and a separate partner link), starts both with mutual TLS,
//! waits until both are in NORMAL, then:
//! 1. binds a real `dhclient -6 -N` and runs `perfdhcp -6` load against the pair;
//! 2. kills the primary with SIGKILL in the middle of a second load run;
//! 3. shows the survivor carrying on: it goes to COMMUNICATIONS-INTERRUPTED, still answers new
//!    clients from its half of the pool, and the real client rebinds to it with the same address;
//! 4. restarts the primary and shows the pair recovering to NORMAL with both stores equal;
//!
//! and prints a summary. Every namespace, process and file it made is removed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv6Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tandem_lab::certs::write_lab_pair;
use tandem_lab::pair::Pair;
use tandem_lab::{
    wait_for, Dhclient, DhclientMode, FailoverRole, LabTls, Lifetimes, Perfdhcp, PerfdhcpReport,
    ServerParams, Subject, CLIENT_IF,
};

use crate::interrupt;
use crate::servers::{build_tandemd, WorkDir};
use crate::shell::{cmd, display};

/// perfdhcp's rate for the simulated clients (exchanges per second).
const PERF_RATE: u32 = 400;

/// One timeline line.
struct Step {
    at: Duration,
    what: String,
}

pub(crate) fn run(root: &Path, clients: u32, keep: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    interrupt::install();
    crate::deps::run()?;
    tandem_lab::preflight()?;
    let tandemd = build_tandemd(root)?;
    let mut work = WorkDir::new("demo-pair")?;
    if keep {
        work.keep();
    }
    let dir = work.path().to_owned();
    let mut steps: Vec<Step> = Vec::new();
    let mut step = |what: String| {
        println!("demo: {what}");
        steps.push(Step {
            at: started.elapsed(),
            what,
        });
    };

    let lab = Pair::new().context("building the failover-pair lab")?;
    let mut params = lab.server_params();
    params.lifetimes = Lifetimes::FAILOVER_SHORT;
    params.pd_lifetimes = Lifetimes::FAILOVER_SHORT;
    params.workers = 2;
    let (mut primary, secondary) = start_pair(&lab, &params, &dir, &tandemd)?;
    step(format!(
        "primary in {} and secondary in {}: mutual TLS on the partner link fd00:647::/64, \
         MCLT 30 s, lifetimes valid 40 s / T1 10 s / T2 16 s",
        lab.primary().name(),
        lab.secondary().name()
    ));
    wait_normal(&primary, &secondary)?;
    step("both servers in NORMAL".into());
    interrupt::check()?;

    // 1. Simulated load, then a real client (perfdhcp and dhclient both need UDP 546).
    let mut perf = Perfdhcp::new(CLIENT_IF, PERF_RATE, clients, clients);
    perf.address_and_prefix = true;
    let line1 = display(&cmd("perfdhcp", perf.args()));
    let before = perf.run(&lab.clients, &dir, "perfdhcp-before")?;
    step(format!("perfdhcp against the pair: {}", summary(&before)));
    let mut dhclient = Dhclient::start(&lab.clients, CLIENT_IF, DhclientMode::Address, &dir)?;
    let ev = dhclient.wait_for_reason("BOUND6", 1, Duration::from_secs(30))?;
    let real_addr = ev.ip6_address().context("dhclient reported no address")?;
    step(format!(
        "dhclient -6 -N bound {real_addr} (from the primary: odd last bit)"
    ));
    let replicated = wait_for("replication", Duration::from_secs(20), || {
        let a = primary.bound().ok()?;
        let b = secondary.bound().ok()?;
        (a == b).then_some(a.len())
    })?;
    step(format!(
        "{replicated} bindings in the primary's store, the same in the secondary's (lazy updates)"
    ));
    interrupt::check()?;

    // 2. The primary dies; the survivor carries on.
    let before_events = dhclient.events()?.len();
    primary.kill9()?;
    let noticed =
        secondary.wait_failover_state("COMMUNICATIONS-INTERRUPTED", Duration::from_secs(30))?;
    step(format!(
        "kill -9 of the primary; the secondary noticed within {:.1} s: COMMUNICATIONS-INTERRUPTED",
        noticed.as_secs_f64()
    ));
    let rebound = wait_for("dhclient rebinding", Duration::from_secs(60), || {
        dhclient
            .events()
            .ok()?
            .into_iter()
            .skip(before_events)
            .find(|e| e.reason == "REBIND6" || e.reason == "RENEW6")
    })?;
    let rebound_addr = rebound.ip6_address();
    step(format!(
        "dhclient's Renew to the dead primary went unanswered; its Rebind got {} for {} s from \
         the secondary ({})",
        rebound_addr.map_or("nothing".into(), |a| a.to_string()),
        rebound.max_life().unwrap_or(0),
        if rebound_addr == Some(real_addr) {
            "the same address"
        } else {
            "A DIFFERENT ADDRESS"
        }
    ));
    drop(dhclient);
    let mut perf2 = Perfdhcp::new(CLIENT_IF, PERF_RATE / 2, clients / 2, clients / 2);
    perf2
        .extra
        .extend(["-b".to_owned(), "mac=00:0c:0d:00:00:00".to_owned()]);
    let line2 = display(&cmd("perfdhcp", perf2.args()));
    let during = perf2.run(&lab.clients, &dir, "perfdhcp-survivor")?;
    step(format!(
        "new clients while the primary is down, served by the secondary from its (even) half: {}",
        summary(&during)
    ));
    interrupt::check()?;

    // 3. The primary comes back and the pair recovers.
    let t0 = Instant::now();
    // The old process's stats.json would still say NORMAL.
    let _ = std::fs::remove_file(primary.storage_dir().join("stats.json"));
    primary.restart(lab.primary())?;
    primary.wait_failover_state("NORMAL", Duration::from_secs(90))?;
    secondary.wait_failover_state("NORMAL", Duration::from_secs(90))?;
    step(format!(
        "primary restarted from its store; both in NORMAL again after {:.1} s",
        t0.elapsed().as_secs_f64()
    ));
    let converged = wait_for("stores converge", Duration::from_secs(30), || {
        let a = primary.bound().ok()?;
        let b = secondary.bound().ok()?;
        (a == b).then_some(a)
    })?;
    // Every bound resource of both stores, with the set of clients holding it.
    let mut holders: BTreeMap<(Ipv6Addr, u8), std::collections::BTreeSet<String>> = BTreeMap::new();
    for s in [&primary, &secondary] {
        for l in s.leases()?.into_iter().filter(|l| l.state == "bound") {
            holders
                .entry((l.address, l.prefix_len))
                .or_default()
                .insert(l.duid);
        }
    }
    let twice = holders.values().filter(|d| d.len() > 1).count();
    step(format!(
        "both stores hold the same {} bindings; {twice} resources bound to two clients",
        converged.len()
    ));

    let mut out = String::new();
    writeln!(
        out,
        "\n================ tandem failover demo ================"
    )?;
    writeln!(out, "server: tandemd {}", tandemd.display())?;
    writeln!(out, "load 1: {line1}")?;
    writeln!(out, "load 2 (primary down): {line2}")?;
    for s in &steps {
        writeln!(out, "  {:>6.1} s  {}", s.at.as_secs_f64(), s.what)?;
    }
    let stats = secondary.stats()?.unwrap_or_default();
    if let Some(rel) = stats.get("failover").and_then(|f| f.get("relationships")) {
        writeln!(out, "secondary's failover status (stats.json): {rel}")?;
    }
    drop(primary);
    drop(secondary);
    drop(lab);
    let kept = if keep {
        format!("kept {} (configs, stores, logs)", work.path().display())
    } else {
        format!("removed {} (pass --keep to keep it)", work.path().display())
    };
    writeln!(
        out,
        "\nCleanup: the lab's namespaces and processes are gone; {kept}."
    )?;
    writeln!(out, "Demo took {:.0} s.", started.elapsed().as_secs_f64())?;
    print!("{out}");
    if rebound_addr != Some(real_addr) || twice > 0 {
        bail!("the failover pair did not keep its promises (see above)");
    }
    Ok(())
}

/// Starts the pair in `lab` with mutual TLS: writes the lab certificates into `dir/tls`, then
/// the primary and the secondary, each with `params` and its own directory `dir/<role>`.
/// Returns once both wrote `tandemd.ready` (not yet in NORMAL: see [`wait_normal`]). Shared
/// with `cargo xtask bench`'s pair row.
pub(crate) fn start_pair(
    lab: &Pair,
    params: &ServerParams,
    dir: &Path,
    tandemd: &Path,
) -> anyhow::Result<(Subject, Subject)> {
    let certs = write_lab_pair(&dir.join("tls"))?;
    let start = |role: FailoverRole| -> anyhow::Result<Subject> {
        let fo = lab.failover_params(role, LabTls::from_certs(&certs, role));
        let sub = dir.join(role.as_str());
        std::fs::create_dir_all(&sub)?;
        let ns = match role {
            FailoverRole::Primary => lab.primary(),
            _ => lab.secondary(),
        };
        Subject::start_failover(ns, params, &fo, &sub, tandemd)
    };
    let primary = start(FailoverRole::Primary)?;
    let secondary = start(FailoverRole::Secondary)?;
    Ok((primary, secondary))
}

/// Waits (up to a minute each) until both partners report NORMAL [RFC 8156 §8.2].
pub(crate) fn wait_normal(primary: &Subject, secondary: &Subject) -> anyhow::Result<()> {
    primary.wait_failover_state("NORMAL", Duration::from_secs(60))?;
    secondary.wait_failover_state("NORMAL", Duration::from_secs(60))?;
    Ok(())
}

fn summary(r: &PerfdhcpReport) -> String {
    match r.exchange("REQUEST-REPLY") {
        Ok(e) => format!(
            "{} of {} Requests answered, {} drops, average delay {:.2} ms",
            e.received, e.sent, e.drops, e.avg_delay_ms
        ),
        Err(_) => "no Request-Reply exchange".into(),
    }
}
