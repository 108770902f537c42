//! RFC 8415 §18.3.7 (Receipt of Release).

use tandem_lease::{LeaseChange, LeaseKind, Resource};
use tandem_wire::StatusCode;

use crate::common::*;

#[test]
fn golden_release_frees_the_address() {
    let mut h = Harness::new();
    h.direct(testdata::REQUEST).unwrap();
    h.changes();
    let p = h.direct(testdata::RELEASE).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_ids(&p, testdata::CLIENT_DUID);
    assert_eq!(p.status, Some(StatusCode::Success));
    assert!(p.ias.is_empty(), "known IAs are not listed");
    let na = Resource {
        kind: LeaseKind::Na,
        addr: testdata::ADDR,
        prefix_len: 128,
    };
    assert_eq!(h.changes(), vec![LeaseChange::Remove(na)]);
    assert!(h
        .shard
        .lease(&na)
        .is_none_or(|l| l.state != tandem_lease::LeaseState::Bound));
    // Another client can now get it.
    let req = Msg::new(REQUEST, 1)
        .client_id(&client(5))
        .server_id(SERVER_DUID)
        .ia_na(1, &[testdata::ADDR])
        .build();
    assert_eq!(h.direct(&req).unwrap().na(1).leases[0].addr, testdata::ADDR);
}

#[test]
fn release_of_an_unknown_ia_gets_no_binding() {
    let mut h = Harness::new();
    let p = h.direct(testdata::RELEASE).unwrap();
    assert_eq!(p.status, Some(StatusCode::Success));
    let na = p.na(1);
    assert_eq!(na.status, Some(StatusCode::NoBinding));
    assert!(na.leases.is_empty());
    h.assert_untouched();
}

#[test]
fn addresses_not_bound_to_the_ia_are_ignored() {
    let mut h = Harness::new();
    let duid = client(6);
    let req = Msg::new(REQUEST, 1)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .ia_na(1, &[])
        .ia_pd(2, &[])
        .build();
    let p = h.direct(&req).unwrap();
    let (addr, prefix) = (p.na(1).leases[0].addr, p.pd(2).leases[0].addr);
    h.changes();
    let rel = Msg::new(RELEASE, 2)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .ia_na(1, &[a("2001:db8:1::1fe")])
        .build();
    let p = h.direct(&rel).unwrap();
    assert_eq!(p.status, Some(StatusCode::Success));
    assert!(h.changes().is_empty());
    // Releasing the IA_PD's prefix works too.
    let rel = Msg::new(RELEASE, 3)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .ia_pd(2, &[(56, prefix)])
        .build();
    h.direct(&rel).unwrap();
    let pd = Resource {
        kind: LeaseKind::Pd,
        addr: prefix,
        prefix_len: 56,
    };
    assert_eq!(h.changes(), vec![LeaseChange::Remove(pd)]);
    let _ = addr;
}
