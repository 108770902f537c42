//! RFC 8415 §18.3.5 (Receipt of Rebind).

use tandem_engine::DropReason;
use tandem_wire::StatusCode;

use crate::common::*;

#[test]
fn golden_rebind_extends_a_known_binding() {
    let mut h = Harness::new();
    h.direct(testdata::REQUEST).unwrap();
    h.changes();
    h.now += 5000;
    let p = h.direct(testdata::REBIND).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_ids(&p, testdata::CLIENT_DUID);
    assert_eq!(p.na(1).leases[0].addr, testdata::ADDR);
    assert_eq!(p.na(1).leases[0].valid, SUBNET1_NA.1);
    assert_eq!(p.pd(2).leases[0].addr, testdata::PREFIX);
    let ups = upserts(&h.changes());
    assert_eq!(ups.len(), 2);
    assert!(ups.iter().all(|l| l.cltt == NOW + 5000));
}

#[test]
fn rebind_for_unknown_bindings_is_dropped() {
    let mut h = Harness::new();
    assert_eq!(
        h.direct(testdata::REBIND).unwrap_err(),
        DropReason::RebindUnknownBinding
    );
    h.assert_untouched();
    assert_eq!(h.shard.leases().count(), 0);
}

#[test]
fn rebind_with_inappropriate_addresses_gets_zero_lifetimes() {
    let mut h = Harness::new();
    let rebind = Msg::new(REBIND, 1)
        .client_id(&client(1))
        .elapsed(100)
        .ia_na(1, &[a("2001:db8:5::77")])
        .build();
    let p = h.direct(&rebind).unwrap();
    let na = p.na(1);
    assert_eq!(na.leases.len(), 1);
    assert_eq!(
        (
            na.leases[0].addr,
            na.leases[0].preferred,
            na.leases[0].valid
        ),
        (a("2001:db8:5::77"), 0, 0)
    );
    assert_eq!(na.status, Some(StatusCode::NoBinding));
    h.assert_untouched();
}

#[test]
fn rebind_for_unknown_bindings_creates_on_a_rapid_commit_link() {
    let mut h = Harness::new();
    let rebind = Msg::new(REBIND, 2)
        .client_id(&client(2))
        .ia_na(3, &[a("2001:db8:2::1010")])
        .build();
    let p = h.via_relay(a("2001:db8:2::1"), &rebind).unwrap();
    assert_eq!(p.na(3).leases[0].addr, a("2001:db8:2::1010"));
    assert_eq!(upserts(&h.changes()).len(), 1);
}

#[test]
fn a_known_and_an_unknown_ia_in_one_rebind() {
    let mut h = Harness::new();
    let duid = client(3);
    let req = Msg::new(REQUEST, 3)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .ia_na(1, &[])
        .build();
    let addr = h.direct(&req).unwrap().na(1).leases[0].addr;
    h.changes();
    let rebind = Msg::new(REBIND, 4)
        .client_id(&duid)
        .ia_na(1, &[addr])
        .ia_na(2, &[])
        .build();
    let p = h.direct(&rebind).unwrap();
    assert_eq!(p.na(1).leases[0].addr, addr);
    assert_eq!(p.na(2).status, Some(StatusCode::NoBinding));
    assert!(p.na(2).leases.is_empty());
    assert_eq!((p.na(2).t1, p.na(2).t2), (0, 0));
    assert_eq!(upserts(&h.changes()).len(), 1);
}
