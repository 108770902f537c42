//! perfdhcp -6 with 10,000 simulated clients at a modest rate: every 4-message exchange
//! completes, nothing is dropped, no address is handed out twice.

use tandem_lab::{Direct, Perfdhcp, Subject, CLIENT_IF};

use crate::common::{subject_kind, tandemd, TestDir};

const CLIENTS: u32 = 10_000;
const RATE: u32 = 1_000;

fn run(address_and_prefix: bool, name: &str) {
    let kind = subject_kind();
    let dir = TestDir::new(name);
    let lab = Direct::new().unwrap();
    let params = lab.server_params();
    let subject = Subject::start(kind, &lab.server, &params, dir.path(), Some(tandemd())).unwrap();
    let mut p = Perfdhcp::new(CLIENT_IF, RATE, CLIENTS, CLIENTS);
    p.address_and_prefix = address_and_prefix;
    let t0 = std::time::Instant::now();
    let report = p.run(&lab.client, dir.path(), "perfdhcp").unwrap();
    println!(
        "{} {name}: perfdhcp {} in {:?}\n{report}",
        kind.as_str(),
        p.args().join(" "),
        t0.elapsed()
    );
    for x in ["SOLICIT-ADVERTISE", "REQUEST-REPLY"] {
        let e = report.exchange(x).unwrap();
        // perfdhcp sends in per-tick batches and may overshoot -n by a few exchanges.
        assert!(
            e.sent >= u64::from(CLIENTS),
            "{x}: sent {} of {CLIENTS}",
            e.sent
        );
        assert_eq!(e.drops, 0, "{x}: drops");
        assert_eq!(e.received, e.sent, "{x}: received");
        assert_eq!(e.rejected_leases, 0, "{x}: rejected leases");
        assert_eq!(e.non_unique, 0, "{x}: non-unique addresses");
        // An orphan is an answer perfdhcp has no outstanding request for: a duplicate answer.
        assert_eq!(
            e.orphans, 0,
            "{x}: orphans (answers to no outstanding request)"
        );
    }
    let leases = subject.leases().unwrap();
    let na = leases
        .iter()
        .filter(|l| l.kind == tandem_lab::LeaseKind::Na)
        .count();
    let pd = leases.len() - na;
    println!("store: {na} addresses, {pd} prefixes");
    // perfdhcp walks its -R clients in turn, so 10,000 or more exchanges cover all 10,000 DUIDs
    // (an overshoot reuses the first ones).
    assert_eq!(
        na, CLIENTS as usize,
        "one address lease per simulated client"
    );
    if address_and_prefix {
        assert_eq!(pd, na, "every client holds an address and a prefix");
    } else {
        assert_eq!(pd, 0, "no prefix was asked for");
    }
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn perfdhcp_addresses() {
    run(false, "perfdhcp-addresses");
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn perfdhcp_address_and_prefix() {
    run(true, "perfdhcp-address-and-prefix");
}
