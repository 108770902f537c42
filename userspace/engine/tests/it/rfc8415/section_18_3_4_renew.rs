//! RFC 8415 §18.3.4 (Receipt of Renew).

use tandem_lease::LeaseKind;
use tandem_wire::StatusCode;

use crate::common::*;

fn bind_golden(h: &mut Harness) {
    h.direct(testdata::REQUEST).unwrap();
    h.changes();
}

#[test]
fn golden_renew_extends_the_binding() {
    let mut h = Harness::new();
    bind_golden(&mut h);
    h.now += 1800;
    let p = h.direct(testdata::RENEW).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_ids(&p, testdata::CLIENT_DUID);
    let na = &p.na(1).leases[0];
    assert_eq!(
        (na.addr, na.preferred, na.valid),
        (testdata::ADDR, SUBNET1_NA.0, SUBNET1_NA.1)
    );
    let pd = &p.pd(2).leases[0];
    assert_eq!((pd.addr, pd.prefix_len), (testdata::PREFIX, 56));
    assert_eq!((p.na(1).t1, p.na(1).t2), (900, 1440));
    assert_eq!((p.pd(2).t1, p.pd(2).t2), (900, 1440));
    let ups = upserts(&h.changes());
    assert_eq!(ups.len(), 2);
    assert!(ups.iter().all(|l| l.cltt == NOW + 1800));
    let na = ups
        .iter()
        .find(|l| l.resource.kind == LeaseKind::Na)
        .unwrap();
    assert_eq!(na.expires_at, NOW + 1800 + 7200);
}

#[test]
fn renew_of_an_unknown_ia_creates_a_binding() {
    let mut h = Harness::new();
    let p = h.direct(testdata::RENEW).unwrap();
    assert_eq!(p.na(1).leases[0].addr, testdata::ADDR, "hint honoured");
    assert_eq!(p.pd(2).leases[0].addr, testdata::PREFIX);
    assert_eq!(upserts(&h.changes()).len(), 2);
}

#[test]
fn renew_of_an_unknown_ia_on_a_full_link_gets_no_addrs_avail() {
    let mut h = Harness::new();
    for n in 0..2 {
        let req = Msg::new(REQUEST, 1)
            .client_id(&client(10 + n))
            .server_id(SERVER_DUID)
            .ia_na(1, &[])
            .build();
        h.on(ETH1, &req).unwrap();
    }
    h.changes();
    let renew = Msg::new(RENEW, 2)
        .client_id(&client(12))
        .server_id(SERVER_DUID)
        .ia_na(1, &[a("2001:db8:3::10")])
        .ia_pd(2, &[])
        .build();
    let p = h.on(ETH1, &renew).unwrap();
    assert_eq!(p.na(1).status, Some(StatusCode::NoAddrsAvail));
    assert!(
        p.na(1).leases.is_empty(),
        "someone else's address is not returned"
    );
    // eth1's link has no prefix pool at all: the IA_PD cannot be created → NoBinding.
    assert_eq!(p.pd(2).status, Some(StatusCode::NoBinding));
    assert!(h.changes().is_empty());
}

#[test]
fn a_binding_no_longer_appropriate_for_the_link_gets_zero_lifetimes() {
    let mut h = Harness::new();
    bind_golden(&mut h);
    // The client moved behind a relay on subnet 2 and renews there.
    let p = h.via_relay(a("2001:db8:2::1"), testdata::RENEW).unwrap();
    let na = &p.na(1).leases[0];
    assert_eq!((na.addr, na.preferred, na.valid), (testdata::ADDR, 0, 0));
    assert_eq!((p.na(1).t1, p.na(1).t2), (0, 0));
    // Subnet 2 has no prefix pools: the delegated prefix is not appropriate either.
    let pd = &p.pd(2).leases[0];
    assert_eq!((pd.addr, pd.preferred, pd.valid), (testdata::PREFIX, 0, 0));
    assert!(h.changes().is_empty(), "nothing extended, nothing created");
}

#[test]
fn an_unknown_address_off_link_is_returned_with_zero_lifetimes() {
    let mut h = Harness::new();
    let renew = Msg::new(RENEW, 3)
        .client_id(&client(4))
        .server_id(SERVER_DUID)
        .ia_na(1, &[a("2001:db8:9::9")])
        .build();
    let p = h.direct(&renew).unwrap();
    let na = p.na(1);
    assert!(na
        .leases
        .iter()
        .any(|l| l.addr == a("2001:db8:9::9") && l.valid == 0 && l.preferred == 0));
    let fresh: Vec<_> = na.leases.iter().filter(|l| l.valid > 0).collect();
    assert_eq!(fresh.len(), 1, "a new binding is created alongside");
    assert!(in_range(
        fresh[0].addr,
        "2001:db8:1::100",
        "2001:db8:1::1ff"
    ));
    assert_eq!((na.t1, na.t2), (1800, 2880));
}

/// testing.md item 14: after a restart with a smaller pool, a lease outside the new pool is not
/// silently extended — the Renew gets zero lifetimes for it [RFC 8415 §18.3.4], while a lease
/// still inside its pool is extended as usual.
#[test]
fn a_lease_outside_a_shrunk_pool_is_not_extended_after_a_restart() {
    let mut before = Harness::new();
    bind_golden(&mut before);

    let mut shrunk = policy();
    shrunk.subnets[0].ranges[0].first = a("2001:db8:1::180");
    let mut after = Harness::with_policy(shrunk);
    for lease in before.shard.leases() {
        after
            .shard
            .apply_replayed(tandem_lease::LeaseChange::Upsert(lease.clone()));
    }
    after.now += 1800;
    let p = after.direct(testdata::RENEW).unwrap();
    let na = &p.na(1).leases[0];
    assert_eq!((na.addr, na.preferred, na.valid), (testdata::ADDR, 0, 0));
    // The prefix pool did not change: the delegated prefix is extended.
    let pd = &p.pd(2).leases[0];
    assert_eq!((pd.addr, pd.valid), (testdata::PREFIX, SUBNET1_PD.1));
    let ups = upserts(&after.changes());
    assert!(
        ups.iter().all(|l| l.resource.kind == LeaseKind::Pd),
        "only the prefix was extended: {ups:?}"
    );
}
