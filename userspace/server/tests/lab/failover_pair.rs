//! Two real tandemd processes as an RFC 8156 failover pair, each in its own namespace, clients
//! on a link both serve, the partner connection over mutual TLS on its own link (issue 3).

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use tandem_lab::certs::write_lab_pair;
use tandem_lab::pair::Pair;
use tandem_lab::{
    wait_for, Dhclient, DhclientMode, FailoverRole, LabTls, Lifetimes, Perfdhcp, StoredLease,
    Subject, CLIENT_IF,
};

use crate::common::{log_tail, tandemd, TestDir};

/// The failover state of the first relationship in `stats.json`, and the partner's.
pub(crate) fn fo_state(s: &Subject) -> Option<(String, Option<String>)> {
    let stats = s.stats().ok()??;
    let rel = stats.get("failover")?.get("relationships")?.get(0)?.clone();
    let state = rel.get("state")?.as_str()?.to_owned();
    let partner = rel
        .get("partner")
        .and_then(|p| p.as_str())
        .map(str::to_owned);
    Some((state, partner))
}

pub(crate) fn wait_state(s: &Subject, want: &str, timeout: Duration) {
    wait_for(&format!("{} in {want}", s.ns_name()), timeout, || {
        fo_state(s).filter(|(st, _)| st == want).map(|_| ())
    })
    .unwrap_or_else(|e| panic!("{e:#}\nlast: {:?}\n{}", fo_state(s), log_tail(s)));
}

/// A pair with mutual TLS, both NORMAL.
pub(crate) struct Running {
    pub(crate) lab: Pair,
    pub(crate) primary: Subject,
    pub(crate) secondary: Subject,
}

pub(crate) fn start_pair(dir: &std::path::Path) -> Running {
    tandem_lab::preflight().expect("lab preflight");
    let lab = Pair::new().unwrap();
    let certs = write_lab_pair(&dir.join("tls")).unwrap();
    let mut params = lab.server_params();
    params.lifetimes = Lifetimes::FAILOVER_SHORT;
    params.pd_lifetimes = Lifetimes::FAILOVER_SHORT;
    params.workers = 2;
    let start = |role: FailoverRole| {
        let fo = lab.failover_params(role, LabTls::from_certs(&certs, role));
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
        lab,
        primary,
        secondary,
    }
}

fn bound(leases: &[StoredLease]) -> BTreeMap<(Ipv6Addr, u8), String> {
    leases
        .iter()
        .filter(|l| l.state == "bound")
        .map(|l| ((l.address, l.prefix_len), l.duid.clone()))
        .collect()
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
        let a = bound(&run.primary.leases().ok()?);
        let b = bound(&run.secondary.leases().ok()?);
        (!a.is_empty() && a.iter().all(|(k, v)| b.get(k) == Some(v))).then_some(a)
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e:#}\nprimary {} leases, secondary {}\n{}",
            bound(&run.primary.leases().unwrap()).len(),
            bound(&run.secondary.leases().unwrap()).len(),
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
    let secondary_store = bound(&run.secondary.leases().unwrap());
    assert!(secondary_store.contains_key(&(addr, 128)));
}
