//! Two real tandemd processes as an RFC 8156 failover pair, each in its own namespace, clients
//! on a link both serve, the partner connection over mutual TLS on its own link (issue 3).

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use tandem_lab::certs::write_lab_pair;
use tandem_lab::pair::Pair;
use tandem_lab::{
    wait_for, Dhclient, DhclientMode, FailoverRole, LabTls, Lifetimes, Perfdhcp, Subject, CLIENT_IF,
};

use crate::common::{log_tail, tandemd, TestDir};

pub(crate) fn wait_state(s: &Subject, want: &str, timeout: Duration) {
    s.wait_failover_state(want, timeout)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", log_tail(s)));
}

/// A pair with mutual TLS, both NORMAL.
/// Fields drop in order: the servers stop before their namespaces go.
pub(crate) struct Running {
    pub(crate) primary: Subject,
    pub(crate) secondary: Subject,
    pub(crate) lab: Pair,
    pub(crate) certs: tandem_lab::PairCerts,
}

pub(crate) fn start_pair(dir: &std::path::Path) -> Running {
    start_pair_with(dir, true)
}

/// A pair, with mutual TLS or (`tls` false) plain TCP as configured explicitly.
pub(crate) fn start_pair_with(dir: &std::path::Path, tls: bool) -> Running {
    start_pair_pool(dir, tls, None)
}

/// A pair whose address pool is `pool` (first, last) instead of the standard one.
pub(crate) fn start_pair_pool(
    dir: &std::path::Path,
    tls: bool,
    pool: Option<(Ipv6Addr, Ipv6Addr)>,
) -> Running {
    tandem_lab::preflight().expect("lab preflight");
    let lab = Pair::new().unwrap();
    let certs = write_lab_pair(&dir.join("tls")).unwrap();
    let mut params = lab.server_params();
    if let Some(p) = pool {
        params.pool = p;
    }
    params.lifetimes = Lifetimes::FAILOVER_SHORT;
    params.pd_lifetimes = Lifetimes::FAILOVER_SHORT;
    params.workers = 2;
    let start = |role: FailoverRole| {
        let mode = if tls {
            LabTls::from_certs(&certs, role)
        } else {
            LabTls::None
        };
        let fo = lab.failover_params(role, mode);
        let sub = dir.join(role.as_str());
        std::fs::create_dir_all(&sub).unwrap();
        let ns = match role {
            FailoverRole::Primary => lab.primary(),
            _ => lab.secondary(),
        };
        Subject::start_failover(ns, &params, &fo, &sub, tandemd())
            .unwrap_or_else(|e| panic!("start {}: {e:#}", role.as_str()))
    };
    let primary = start(FailoverRole::Primary);
    let secondary = start(FailoverRole::Secondary);
    // A fresh pair: STARTUP (2 s), RECOVER, RECOVER-WAIT (first run: at once), NORMAL.
    wait_state(&primary, "NORMAL", Duration::from_secs(30));
    wait_state(&secondary, "NORMAL", Duration::from_secs(30));
    Running {
        primary,
        secondary,
        lab,
        certs,
    }
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn failover_pair_replicates_leases_and_survives_the_primary() {
    let dir = TestDir::new("failover-pair");
    let mut run = start_pair(dir.path());

    // Clients on the shared link: the primary answers (the secondary only renews in NORMAL).
    let mut p = Perfdhcp::new(CLIENT_IF, 100, 300, 300);
    p.address_and_prefix = true;
    let report = p.run(&run.lab.clients, dir.path(), "perfdhcp").unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));

    // A real client too, to follow through the failure.
    let mut dhclient = Dhclient::start(
        &run.lab.clients,
        CLIENT_IF,
        DhclientMode::Address,
        dir.path(),
    )
    .unwrap();
    let bound_ev = dhclient
        .wait_for_reason("BOUND6", 1, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", dhclient.log()));
    let addr = bound_ev.ip6_address().expect("an address");
    println!("dhclient bound {addr}");

    // Lazy updates reach the secondary's store (checked in the store, not in logs).
    let primary_leases = wait_for("replication", Duration::from_secs(20), || {
        let a = run.primary.bound().ok()?;
        let b = run.secondary.bound().ok()?;
        (!a.is_empty() && a.iter().all(|(k, v)| b.get(k) == Some(v))).then_some(a)
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e:#}\nprimary {} leases, secondary {}\n{}",
            run.primary.bound().unwrap().len(),
            run.secondary.bound().unwrap().len(),
            log_tail(&run.secondary)
        )
    });
    println!(
        "{} bindings granted by the primary are in the secondary's store",
        primary_leases.len()
    );
    assert!(
        primary_leases.len() >= 300,
        "perfdhcp's clients and dhclient"
    );
    // The secondary asked for its share of the delegable prefixes (POOLREQ) and the primary
    // handed over half of the /40's 65536 /56s as FREE-BACKUP (RFC 8156 §4.2.2).
    let share = wait_for("prefix share", Duration::from_secs(60), || {
        let n = backup_free(&run.secondary)?;
        (n >= 32_000 && backup_free(&run.primary) == Some(n)).then_some(n)
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e:#}\nsecondary {:?}, primary {:?}\n{}",
            backup_free(&run.secondary),
            backup_free(&run.primary),
            log_tail(&run.secondary)
        )
    });
    println!("the secondary holds {share} FREE-BACKUP prefixes, as the primary's records say");

    // The primary dies; the secondary notices (keepalive 6 s) and keeps the clients.
    run.primary.kill9().unwrap();
    wait_state(
        &run.secondary,
        "COMMUNICATIONS-INTERRUPTED",
        Duration::from_secs(30),
    );
    // dhclient's Renew (T1 10 s) goes to the dead primary; its Rebind (T2 16 s) reaches the
    // secondary, which extends the same address within the MCLT bound.
    let after = dhclient.events().unwrap().len();
    let rebound = wait_for("rebind at the secondary", Duration::from_secs(60), || {
        let evs = dhclient.events().ok()?;
        evs.into_iter()
            .skip(after)
            .find(|e| e.reason == "REBIND6" || e.reason == "RENEW6")
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}\n{}", dhclient.log(), log_tail(&run.secondary)));
    assert_eq!(rebound.ip6_address(), Some(addr), "the same address");
    let valid = rebound.max_life().expect("a lifetime");
    assert!(
        valid <= 40 && valid > 0,
        "within the policy and the MCLT bound: {valid}"
    );
    let secondary_store = run.secondary.bound().unwrap();
    assert!(secondary_store.contains_key(&(addr, 128)));

    // New clients now meet the secondary alone: it delegates prefixes from its share (before
    // proportional allocation a secondary had none to give outside PARTNER-DOWN). dhclient
    // goes first: two clients bound to port 546 in one namespace would split the replies.
    dhclient.stop().unwrap();
    let mut p = Perfdhcp::new(CLIENT_IF, 50, 50, 50);
    p.address_and_prefix = true;
    p.extra
        .extend(["-b".to_owned(), "mac=00:0c:05:06:07:08".to_owned()]);
    let report = p.run(&run.lab.clients, dir.path(), "perfdhcp-new").unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    let after = run.secondary.bound().unwrap();
    let new_prefixes = after
        .keys()
        .filter(|(_, len)| *len == 56)
        .filter(|k| !secondary_store.contains_key(k))
        .count();
    println!("the secondary delegated {new_prefixes} prefixes to new clients");
    assert!(
        new_prefixes >= 45,
        "{new_prefixes}\n{report:?}\n{}",
        log_tail(&run.secondary)
    );
    let left = wait_for("share shrinks", Duration::from_secs(5), || {
        backup_free(&run.secondary).filter(|n| *n + new_prefixes as u64 <= share)
    });
    assert!(left.is_ok(), "delegated from its FREE-BACKUP share");
}

/// The unbound FREE-BACKUP prefixes a server's stats.json reports.
fn backup_free(s: &Subject) -> Option<u64> {
    s.stats().ok()??["leases"]["pd_backup_free"].as_u64()
}

/// Every bound address and prefix of both stores, with the DUIDs holding it.
fn holders(run: &Running) -> BTreeMap<(Ipv6Addr, u8), std::collections::BTreeSet<String>> {
    let mut m: BTreeMap<(Ipv6Addr, u8), std::collections::BTreeSet<String>> = BTreeMap::new();
    for s in [&run.primary, &run.secondary] {
        for (r, duid) in s.bound().unwrap() {
            m.entry(r).or_default().insert(duid);
        }
    }
    m
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn failover_primary_restarts_with_an_empty_store_and_resyncs() {
    let dir = TestDir::new("failover-recover");
    let mut run = start_pair(dir.path());
    let mut p = Perfdhcp::new(CLIENT_IF, 100, 200, 200);
    p.address_and_prefix = true;
    let report = p.run(&run.lab.clients, dir.path(), "perfdhcp-1").unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    let before = wait_for("replication", Duration::from_secs(20), || {
        let a = run.primary.bound().ok()?;
        let b = run.secondary.bound().ok()?;
        (a.len() >= 400 && a == b).then_some(b)
    })
    .unwrap();

    // The primary loses its disk: killed, storage emptied, started again.
    run.primary.kill9().unwrap();
    let store = run.primary.storage_dir();
    std::fs::remove_dir_all(&store).unwrap();
    std::fs::create_dir_all(&store).unwrap();
    run.primary.restart(run.lab.primary()).unwrap();
    // STARTUP → RECOVER → UPDREQALL → full resync → RECOVER-WAIT (MCLT 30 s) → RECOVER-DONE
    // → NORMAL (RFC 8156 §8.5–8.7).
    wait_state(&run.primary, "NORMAL", Duration::from_secs(90));
    wait_state(&run.secondary, "NORMAL", Duration::from_secs(30));
    let log = run.primary.log();
    for step in ["RECOVER", "RECOVER-WAIT", "RECOVER-DONE"] {
        assert!(
            log.contains(&format!("state={step} since")),
            "primary went through {step}:\n{}",
            log_tail(&run.primary)
        );
    }
    let after = run.primary.bound().unwrap();
    for (k, duid) in &before {
        assert_eq!(
            after.get(k),
            Some(duid),
            "{k:?} resynced into the empty store"
        );
    }
    println!(
        "{} bindings resynced into the primary's empty store",
        before.len()
    );

    // New clients: perfdhcp checks that no address is handed out twice (-u), and both stores
    // together hold every resource for one client only.
    let mut p = Perfdhcp::new(CLIENT_IF, 100, 200, 200);
    p.address_and_prefix = true;
    p.extra.extend([
        "-u".to_owned(),
        "-b".to_owned(),
        "mac=00:0c:01:02:03:04".to_owned(),
    ]);
    let report = p.run(&run.lab.clients, dir.path(), "perfdhcp-2").unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    let req = report.exchange("REQUEST-REPLY").unwrap();
    assert_eq!(req.non_unique, 0, "perfdhcp saw an address twice");
    assert!(req.received >= 190, "the pair serves again: {req:?}");
    let twice: Vec<_> = holders(&run)
        .into_iter()
        .filter(|(_, d)| d.len() > 1)
        .collect();
    assert!(twice.is_empty(), "bound to two clients: {twice:?}");
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn failover_impostors_are_refused_and_clients_are_still_served() {
    let dir = TestDir::new("failover-impostor");
    let mut run = start_pair(dir.path());
    run.primary.kill9().unwrap();
    wait_state(
        &run.secondary,
        "COMMUNICATIONS-INTERRUPTED",
        Duration::from_secs(30),
    );
    // 1. From the primary's address, a certificate the secondary's CA never signed.
    let rogue = LabTls::with(&run.certs.rogue_primary, run.certs.ca.clone(), None);
    let fo = run.lab.failover_params(FailoverRole::Primary, rogue);
    impostor(
        &run,
        &fo,
        dir.path(),
        "rogue-cert",
        "TLS: invalid peer certificate",
    );
    // 2. The right certificates, the wrong relationship name.
    let mut fo = run.lab.failover_params(
        FailoverRole::Primary,
        LabTls::from_certs(&run.certs, FailoverRole::Primary),
    );
    fo.name = "someone-else".to_owned();
    impostor(
        &run,
        &fo,
        dir.path(),
        "wrong-name",
        "CONNECT names no relationship",
    );
    // The secondary never left COMMUNICATIONS-INTERRUPTED and still serves a new client.
    let (state, _) = run.secondary.failover_state().unwrap();
    assert_eq!(state, "COMMUNICATIONS-INTERRUPTED");
    let mut dhclient = Dhclient::start(
        &run.lab.clients,
        CLIENT_IF,
        DhclientMode::Address,
        dir.path(),
    )
    .unwrap();
    let ev = dhclient
        .wait_for_reason("BOUND6", 1, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", log_tail(&run.secondary)));
    let addr = ev.ip6_address().unwrap();
    assert_eq!(
        addr.octets()[15] & 1,
        0,
        "from the secondary's (even) half: {addr}"
    );
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn failover_orderly_stop_disconnects_and_exits() {
    // R21: SIGTERM flushes the updates, sends DISCONNECT, and the process exits promptly.
    let dir = TestDir::new("failover-stop");
    let mut run = start_pair(dir.path());
    let t0 = std::time::Instant::now();
    run.primary.stop().unwrap();
    let took = t0.elapsed();
    println!("primary stopped in {took:?}");
    assert!(
        took < Duration::from_secs(4),
        "stop took {took:?}\n{}",
        log_tail(&run.primary)
    );
    wait_state(
        &run.secondary,
        "COMMUNICATIONS-INTERRUPTED",
        Duration::from_secs(10),
    );
    let t0 = std::time::Instant::now();
    run.secondary.stop().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "{}",
        log_tail(&run.secondary)
    );
}

/// Runs a would-be primary with `fo` in the primary's namespace until the secondary logs
/// `refusal`, then kills it.
fn impostor(
    run: &Running,
    fo: &tandem_lab::FailoverParams,
    dir: &std::path::Path,
    name: &str,
    refusal: &str,
) {
    let mut params = run.lab.server_params();
    params.lifetimes = Lifetimes::FAILOVER_SHORT;
    params.pd_lifetimes = Lifetimes::FAILOVER_SHORT;
    let sub = dir.join(name);
    std::fs::create_dir_all(&sub).unwrap();
    let mut s = Subject::start_failover(run.lab.primary(), &params, fo, &sub, tandemd()).unwrap();
    wait_for(refusal, Duration::from_secs(30), || {
        run.secondary.log().contains(refusal).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", log_tail(&run.secondary)));
    s.kill9().unwrap();
}

/// SIGUSR1: the operator declares the partner down (R54).
fn partner_down(s: &Subject) {
    let pid = s.pid().expect("running") as i32;
    // SAFETY: a plain kill(2) to a process this test started.
    let rc = unsafe { libc::kill(pid, libc::SIGUSR1) };
    assert_eq!(rc, 0);
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn failover_partition_longer_than_the_mclt_is_resolved_without_double_bindings() {
    // The partner link is cut (nft) while clients reach both servers; the operator puts both
    // into PARTNER-DOWN; both serve for longer than the MCLT (30 s); the link heals; both go
    // through POTENTIAL-CONFLICT and back to NORMAL, and no resource is bound twice.
    let dir = TestDir::new("failover-partition");
    let run = start_pair(dir.path());
    let mut p = Perfdhcp::new(CLIENT_IF, 100, 100, 100);
    p.address_and_prefix = true;
    p.run(&run.lab.clients, dir.path(), "perfdhcp-before")
        .unwrap();
    let mut cut =
        tandem_lab::Partition::cut(run.lab.primary(), tandem_lab::pair::PARTNER_IF).unwrap();
    for s in [&run.primary, &run.secondary] {
        wait_state(s, "COMMUNICATIONS-INTERRUPTED", Duration::from_secs(30));
        partner_down(s);
    }
    for s in [&run.primary, &run.secondary] {
        wait_state(s, "PARTNER-DOWN", Duration::from_secs(10));
    }
    // Both serve new clients alone, well past the MCLT (addresses only).
    let mut p = Perfdhcp::new(CLIENT_IF, 20, 400, 800);
    p.extra
        .extend(["-b".to_owned(), "mac=00:0c:0a:00:00:00".to_owned()]);
    let report = p
        .run(&run.lab.clients, dir.path(), "perfdhcp-partitioned")
        .unwrap();
    println!(
        "during the partition: perfdhcp {}\n{report}",
        p.args().join(" ")
    );
    assert!(report.exchange("REQUEST-REPLY").unwrap().received > 700);
    cut.heal().unwrap();
    for s in [&run.primary, &run.secondary] {
        wait_state(s, "NORMAL", Duration::from_secs(60));
    }
    for (s, step) in [
        (&run.primary, "CONFLICT-DONE"),
        (&run.secondary, "POTENTIAL-CONFLICT"),
    ] {
        assert!(
            s.log().contains(&format!("state={step} since")),
            "{} went through {step}:\n{}",
            s.ns_name(),
            log_tail(s)
        );
    }
    let holders = wait_for("converged stores", Duration::from_secs(20), || {
        let a = run.primary.bound().ok()?;
        let b = run.secondary.bound().ok()?;
        (a == b).then(|| holders(&run))
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    let twice: Vec<_> = holders.iter().filter(|(_, d)| d.len() > 1).collect();
    assert!(twice.is_empty(), "bound to two clients: {twice:?}");
    println!(
        "{} resources bound, each to one client, in both stores",
        holders.len()
    );
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn failover_partner_link_decodes_cleanly_in_tshark() {
    // Plain TCP, configured explicitly (tls.mode = "none"), so tshark can read the stream: every
    // message type the pair exchanges decodes with no malformed option.
    let dir = TestDir::new("failover-tshark");
    let run_dir = dir.path().to_owned();
    tandem_lab::preflight().expect("lab preflight");
    let mut run = start_pair_with(&run_dir, false);
    let mut cap = tandem_lab::Capture::start_partner(
        run.lab.primary(),
        tandem_lab::pair::PARTNER_IF,
        dir.path(),
        "partner",
    )
    .unwrap();
    let mut p = Perfdhcp::new(CLIENT_IF, 100, 200, 200);
    p.address_and_prefix = true;
    p.run(&run.lab.clients, dir.path(), "perfdhcp").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // A reconnect shows CONNECT, CONNECTREPLY and STATE too.
    run.secondary.kill9().unwrap();
    run.secondary.restart(run.lab.secondary()).unwrap();
    wait_state(&run.secondary, "NORMAL", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(3));
    let pcap = cap.stop().unwrap();
    let ours = tandem_lab::capture_failover::failover_verdict(&pcap, None).unwrap();
    println!("our shim: {ours:?}");
    assert!(ours.decoded_frames > 100, "{ours:?}");
    assert_eq!(ours.malformed_frames, 0);
    let shared =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/fo6.lua");
    if shared.is_file() {
        let theirs = tandem_lab::capture_failover::failover_verdict(&pcap, Some(&shared)).unwrap();
        println!("shared/tools/fo6.lua: {theirs:?}");
        assert_eq!(theirs.malformed_frames, 0);
    }
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn failover_survivor_serves_the_whole_pool_after_partner_down_and_the_mclt() {
    // 16 addresses: the secondary's own half is the 8 even ones. The primary dies; the
    // operator declares it down; after the MCLT (30 s) the survivor also hands out the
    // primary's odd half (RFC 8156 §8.4.1; OPEN-2).
    let dir = TestDir::new("failover-whole-pool");
    let first: Ipv6Addr = "2001:db8:1::1000".parse().unwrap();
    let last: Ipv6Addr = "2001:db8:1::100f".parse().unwrap();
    let mut run = start_pair_pool(dir.path(), true, Some((first, last)));
    run.primary.kill9().unwrap();
    wait_state(
        &run.secondary,
        "COMMUNICATIONS-INTERRUPTED",
        Duration::from_secs(30),
    );
    partner_down(&run.secondary);
    wait_state(&run.secondary, "PARTNER-DOWN", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(34));
    let p = Perfdhcp::new(CLIENT_IF, 4, 14, 14);
    let report = p.run(&run.lab.clients, dir.path(), "perfdhcp").unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    let store = run.secondary.bound().unwrap();
    let odd = store
        .keys()
        .filter(|(a, _)| a.octets()[15] & 1 == 1)
        .count();
    let even = store.len() - odd;
    println!("secondary's store: {even} even and {odd} odd addresses bound");
    assert_eq!(even, 8, "its own half first, all of it");
    assert!(odd >= 4, "then the partner's half: {odd}");
    assert!(report.exchange("REQUEST-REPLY").unwrap().received >= 12);
}
