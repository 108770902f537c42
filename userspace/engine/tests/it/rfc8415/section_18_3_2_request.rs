//! RFC 8415 §18.3.2 (Receipt of Request).

use tandem_lease::{LeaseKind, LeaseState};
use tandem_wire::StatusCode;

use crate::common::*;

#[test]
fn golden_request_commits_the_hinted_address_and_prefix() {
    let mut h = Harness::new();
    let p = h.direct(testdata::REQUEST).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_eq!(&p.xid, &testdata::REQUEST[1..4]);
    assert_ids(&p, testdata::CLIENT_DUID);
    assert_eq!(p.na(1).leases[0].addr, testdata::ADDR);
    assert_eq!(
        (p.pd(2).leases[0].addr, p.pd(2).leases[0].prefix_len),
        (testdata::PREFIX, 56)
    );
    assert_eq!(
        (p.na(1).t1, p.na(1).t2),
        (p.pd(2).t1, p.pd(2).t2),
        "T1/T2 equal across IAs"
    );
    assert_eq!((p.na(1).t1, p.na(1).t2), (900, 1440));

    let ups = upserts(&h.changes());
    assert_eq!(ups.len(), 2);
    let na = ups
        .iter()
        .find(|l| l.resource.kind == LeaseKind::Na)
        .unwrap();
    assert_eq!(na.resource.addr, testdata::ADDR);
    assert_eq!(&*na.duid, testdata::CLIENT_DUID);
    assert_eq!((na.iaid, na.subnet_id, na.state), (1, 1, LeaseState::Bound));
    assert_eq!((na.preferred_s, na.valid_s), SUBNET1_NA);
    assert_eq!((na.cltt, na.expires_at), (NOW, NOW + 7200));
    let pd = ups
        .iter()
        .find(|l| l.resource.kind == LeaseKind::Pd)
        .unwrap();
    assert_eq!(
        (pd.resource.addr, pd.resource.prefix_len, pd.iaid),
        (testdata::PREFIX, 56, 2)
    );
}

#[test]
fn addresses_not_on_link_give_not_on_link_in_the_ia() {
    let mut h = Harness::new();
    let req = Msg::new(REQUEST, 1)
        .client_id(&client(1))
        .server_id(SERVER_DUID)
        .ia_na(1, &[a("2001:db8:99::1")])
        .ia_pd(2, &[])
        .build();
    let p = h.direct(&req).unwrap();
    let na = p.na(1);
    assert_eq!(na.status, Some(StatusCode::NotOnLink));
    assert!(na.leases.is_empty());
    assert_eq!((na.t1, na.t2), (0, 0));
    // The IA_PD of the same Request is still served.
    assert_eq!(p.pd(2).leases.len(), 1);
    let ups = upserts(&h.changes());
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].resource.kind, LeaseKind::Pd);
}

#[test]
fn an_existing_binding_is_returned_with_new_lifetimes() {
    let mut h = Harness::new();
    let req = Msg::new(REQUEST, 2)
        .client_id(&client(2))
        .server_id(SERVER_DUID)
        .ia_na(7, &[])
        .build();
    let first = h.direct(&req).unwrap().na(7).leases[0].addr;
    h.changes();
    h.now += 1000;
    let p = h.direct(&req).unwrap();
    assert_eq!(p.na(7).leases[0].addr, first);
    let ups = upserts(&h.changes());
    assert_eq!(ups.len(), 1);
    assert_eq!(
        (ups[0].resource.addr, ups[0].cltt, ups[0].expires_at),
        (first, NOW + 1000, NOW + 1000 + 7200)
    );
}

#[test]
fn exhausted_pools_give_no_addrs_avail_and_no_prefix_avail() {
    let mut h = Harness::new();
    for n in 0..2 {
        let req = Msg::new(REQUEST, 3)
            .client_id(&client(10 + n))
            .server_id(SERVER_DUID)
            .ia_na(1, &[])
            .build();
        h.on(ETH1, &req).unwrap();
    }
    h.changes();
    let req = Msg::new(REQUEST, 3)
        .client_id(&client(12))
        .server_id(SERVER_DUID)
        .ia_na(1, &[])
        .ia_pd(2, &[])
        .build();
    let p = h.on(ETH1, &req).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_eq!(p.status, None, "a Reply carries the status inside each IA");
    assert_eq!(p.na(1).status, Some(StatusCode::NoAddrsAvail));
    assert_eq!(p.pd(2).status, Some(StatusCode::NoPrefixAvail));
    assert!(h.changes().is_empty());
}

#[test]
fn several_ias_are_processed_independently() {
    let mut h = Harness::new();
    let req = Msg::new(REQUEST, 4)
        .client_id(&client(3))
        .server_id(SERVER_DUID)
        .oro(&[OPT_DNS_SERVERS])
        .ia_na(1, &[])
        .ia_na(2, &[a("2001:db8:1::1a0")])
        .ia_pd(3, &[(56, a("::"))])
        .ia_pd(4, &[(60, a("::"))])
        .build();
    let p = h.direct(&req).unwrap();
    assert_eq!(
        p.na(2).leases[0].addr,
        a("2001:db8:1::1a0"),
        "free hint honoured"
    );
    assert_ne!(p.na(1).leases[0].addr, p.na(2).leases[0].addr);
    assert_eq!(p.pd(3).leases[0].prefix_len, 56);
    assert_eq!(p.pd(4).leases[0].prefix_len, 60);
    for ia in &p.ias {
        assert_eq!((ia.t1, ia.t2), (900, 1440));
    }
    assert!(p.option(OPT_DNS_SERVERS).is_some());
    assert_eq!(upserts(&h.changes()).len(), 4);
}
