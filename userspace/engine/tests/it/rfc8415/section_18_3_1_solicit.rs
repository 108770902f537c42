//! RFC 8415 §18.3.1 (Receipt of Solicit) and §18.3.9 (Creation of Advertise).

use tandem_lease::LeaseKind;

use crate::common::*;

/// perfdhcp-shaped Solicit: DUID-LLT, ELAPSED_TIME, ORO, IA_NA and IA_PD with a ::/56 hint.
fn solicit(duid: &[u8]) -> Msg {
    Msg::new(SOLICIT, 0x00ab_cdef)
        .client_id(duid)
        .elapsed(0)
        .oro(&[OPT_DNS_SERVERS, OPT_DOMAIN_LIST])
        .ia_na(1, &[])
        .ia_pd(2, &[(56, a("::"))])
}

#[test]
fn advertise_offers_an_address_and_a_prefix_without_binding() {
    let mut h = Harness::new();
    let duid = client(1);
    let p = h.direct(&solicit(&duid).build()).unwrap();
    assert_eq!(p.msg_type, ADVERTISE);
    assert_eq!(p.xid, [0xab, 0xcd, 0xef]);
    assert_ids(&p, &duid);
    assert_eq!(p.status, None);
    let na = p.na(1);
    assert_eq!(na.leases.len(), 1);
    let l = &na.leases[0];
    assert!(
        in_range(l.addr, "2001:db8:1::100", "2001:db8:1::1ff"),
        "{l:?}"
    );
    assert_eq!((l.preferred, l.valid), SUBNET1_NA);
    let pd = p.pd(2);
    assert_eq!(pd.leases.len(), 1);
    assert_eq!(pd.leases[0].prefix_len, 56);
    assert!(in_range(
        pd.leases[0].addr,
        "2001:db8:ab00::",
        "2001:db8:abff:ff00::"
    ));
    assert_eq!((pd.leases[0].preferred, pd.leases[0].valid), SUBNET1_PD);
    // T1/T2 equal across IAs: 0.5 / 0.8 of the shortest preferred lifetime (1800 s, IA_PD).
    assert_eq!((na.t1, na.t2), (900, 1440));
    assert_eq!((pd.t1, pd.t2), (900, 1440));
    assert_eq!(p.option(OPT_PREFERENCE), Some(&[10u8][..]));
    assert_eq!(
        p.option(OPT_DNS_SERVERS),
        Some(&a("2001:db8::53").octets()[..])
    );
    assert!(p.option(OPT_DOMAIN_LIST).is_some());
    assert!(p.option(OPT_SOL_MAX_RT).is_none(), "not requested");
    assert!(p.option(OPT_RAPID_COMMIT).is_none());
    h.assert_untouched();
    assert_eq!(h.shard.leases().count(), 0);
}

/// dhclient 4.4 `-6` Solicit, byte for byte: CLIENTID DUID-LLT, ORO (23, 24), ELAPSED_TIME 0,
/// IA_NA IAID 0x00123456 with T1 3600 / T2 5400 and no IAADDR.
const DHCLIENT_SOLICIT: &str = "01 5b 1a 0c \
    00 01 00 0e 00 01 00 01 2b 1f 0a 3c 52 54 00 12 34 56 \
    00 06 00 04 00 17 00 18 \
    00 08 00 02 00 00 \
    00 03 00 0c 00 12 34 56 00 00 0e 10 00 00 15 18";

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[test]
fn dhclient_solicit_gets_an_advertise() {
    let mut h = Harness::new();
    let pkt = hex(DHCLIENT_SOLICIT);
    let p = h.direct(&pkt).unwrap();
    assert_eq!(p.msg_type, ADVERTISE);
    assert_eq!(p.xid, [0x5b, 0x1a, 0x0c]);
    assert_ids(&p, &pkt[8..22]);
    let na = p.na(0x0012_3456);
    assert_eq!(na.leases.len(), 1);
    // Client T1/T2 are ignored; only IA_NA granted → 0.5 / 0.8 × 3600.
    assert_eq!((na.t1, na.t2), (1800, 2880));
    assert!(p.option(OPT_DNS_SERVERS).is_some());
    assert_eq!(
        p.option(OPT_DOMAIN_LIST),
        Some(&b"\x07example\x03net\x00\x04corp\x07example\x03net\x00"[..])
    );
    h.assert_untouched();
}

#[test]
fn advertise_is_repeatable_and_the_request_gets_the_offer() {
    let mut h = Harness::new();
    let duid = client(2);
    let first = h.direct(&solicit(&duid).build()).unwrap();
    let again = h.direct(&solicit(&duid).build()).unwrap();
    let offered = first.na(1).leases[0].addr;
    let prefix = first.pd(2).leases[0].addr;
    assert_eq!(again.na(1).leases[0].addr, offered);
    h.assert_untouched();

    let req = Msg::new(REQUEST, 7)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .elapsed(0)
        .ia_na(1, &[offered])
        .ia_pd(2, &[(56, prefix)])
        .build();
    let p = h.direct(&req).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_eq!(p.na(1).leases[0].addr, offered);
    assert_eq!(p.pd(2).leases[0].addr, prefix);
    let changes = upserts(&h.changes());
    assert_eq!(changes.len(), 2);
}

#[test]
fn rapid_commit_on_a_rapid_commit_subnet_commits_and_replies() {
    let mut h = Harness::new();
    let duid = client(3);
    let sol = Msg::new(SOLICIT, 9)
        .client_id(&duid)
        .elapsed(0)
        .rapid_commit()
        .ia_na(5, &[])
        .build();
    let p = h.via_relay(a("2001:db8:2::1"), &sol).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_eq!(p.option(OPT_RAPID_COMMIT), Some(&[][..]));
    assert_ids(&p, &duid);
    let na = p.na(5);
    assert!(in_range(
        na.leases[0].addr,
        "2001:db8:2::1000",
        "2001:db8:2::10ff"
    ));
    assert_eq!((na.t1, na.t2), (200, 400), "configured T1/T2");
    assert!(
        p.option(OPT_PREFERENCE).is_none(),
        "PREFERENCE only in Advertise"
    );
    let ups = upserts(&h.changes());
    assert_eq!(ups.len(), 1);
    assert_eq!(ups[0].resource.addr, na.leases[0].addr);
    assert_eq!(
        (ups[0].subnet_id, ups[0].iaid, &*ups[0].duid),
        (2, 5, &duid[..])
    );
}

#[test]
fn rapid_commit_is_ignored_where_not_configured() {
    let mut h = Harness::new();
    let p = h.direct(testdata::SOLICIT).unwrap();
    assert_eq!(p.msg_type, ADVERTISE);
    assert!(p.option(OPT_RAPID_COMMIT).is_none());
    assert!(
        p.option(OPT_SOL_MAX_RT).is_some(),
        "golden Solicit asks for SOL_MAX_RT"
    );
    h.assert_untouched();
}

#[test]
fn nothing_to_offer_gives_no_addrs_avail_in_the_ia_and_at_top_level() {
    let mut h = Harness::new();
    // eth1's subnet has two addresses and no prefix pool: take both.
    for n in 10..12 {
        let req = Msg::new(REQUEST, 1)
            .client_id(&client(n))
            .server_id(SERVER_DUID)
            .ia_na(1, &[])
            .build();
        assert_eq!(h.on(ETH1, &req).unwrap().na(1).leases.len(), 1);
    }
    h.changes();
    let sol = Msg::new(SOLICIT, 2)
        .client_id(&client(12))
        .ia_na(1, &[])
        .ia_pd(2, &[])
        .build();
    let p = h.on(ETH1, &sol).unwrap();
    assert_eq!(p.msg_type, ADVERTISE);
    assert_eq!(p.status, Some(tandem_wire::StatusCode::NoAddrsAvail));
    assert_eq!(p.na(1).status, Some(tandem_wire::StatusCode::NoAddrsAvail));
    assert!(p.na(1).leases.is_empty());
    assert_eq!(p.pd(2).status, Some(tandem_wire::StatusCode::NoPrefixAvail));
    assert_eq!((p.na(1).t1, p.na(1).t2), (0, 0));
    h.assert_untouched();
}

#[test]
fn prefix_length_hint_selects_the_pool() {
    let mut h = Harness::new();
    let sol = Msg::new(SOLICIT, 3)
        .client_id(&client(20))
        .ia_pd(1, &[(60, a("::"))])
        .build();
    let p = h.direct(&sol).unwrap();
    let l = &p.pd(1).leases[0];
    assert_eq!(l.prefix_len, 60);
    assert!(in_range(l.addr, "2001:db8:cd00::", "2001:db8:cd00:fff0::"));
    // No hint: pools in configuration order (the /56 pool first).
    let sol = Msg::new(SOLICIT, 3)
        .client_id(&client(21))
        .ia_pd(1, &[])
        .build();
    assert_eq!(h.direct(&sol).unwrap().pd(1).leases[0].prefix_len, 56);
}

#[test]
fn ia_ta_is_answered_with_no_addrs_avail() {
    let mut h = Harness::new();
    let sol = Msg::new(SOLICIT, 4)
        .client_id(&client(22))
        .ia_ta(9)
        .ia_na(1, &[])
        .build();
    let p = h.direct(&sol).unwrap();
    let ta = p.ia(OPT_IA_TA, 9);
    assert_eq!(ta.status, Some(tandem_wire::StatusCode::NoAddrsAvail));
    assert!(ta.leases.is_empty());
    assert_eq!(p.na(1).leases.len(), 1);
    assert_eq!(p.status, None, "one IA served: no top-level status");
}

#[test]
fn reservations_go_to_their_client_only() {
    let mut h = Harness::new();
    let sol = |duid: &[u8]| {
        Msg::new(SOLICIT, 5)
            .client_id(duid)
            .ia_na(1, &[])
            .ia_na(2, &[])
            .ia_pd(3, &[])
            .build()
    };
    let p = h.direct(&sol(RESERVED_DUID)).unwrap();
    assert_eq!(
        p.na(1).leases[0].addr,
        a("2001:db8:1::150"),
        "first IA_NA gets the reservation"
    );
    assert_ne!(p.na(2).leases[0].addr, a("2001:db8:1::150"));
    assert_eq!(
        (p.pd(3).leases[0].addr, p.pd(3).leases[0].prefix_len),
        (a("2001:db8:ff00::"), 56)
    );
    // Nobody else gets the reserved address, whatever they hint.
    for n in 0..40 {
        let other = Msg::new(REQUEST, 6)
            .client_id(&client(100 + n))
            .server_id(SERVER_DUID)
            .ia_na(1, &[a("2001:db8:1::150")])
            .build();
        let got = h.direct(&other).unwrap().na(1).leases[0].addr;
        assert_ne!(got, a("2001:db8:1::150"));
    }
    assert!(h
        .engine
        .reserved()
        .iter()
        .any(|r| r.kind == LeaseKind::Na && r.addr == a("2001:db8:1::150")));
}

#[test]
fn several_ia_na_in_one_advertise_get_distinct_addresses() {
    let mut h = Harness::new();
    let mut m = Msg::new(SOLICIT, 8).client_id(&client(30));
    for iaid in 0..4 {
        m = m.ia_na(iaid, &[]);
    }
    let p = h.direct(&m.build()).unwrap();
    let mut addrs: Vec<_> = (0..4).map(|i| p.na(i).leases[0].addr).collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 4, "{addrs:?}");
    h.assert_untouched();
}

#[test]
fn client_fqdn_is_answered_only_when_requested() {
    let mut h = Harness::new();
    // flags S=1, name "host.example.net."
    let fqdn = b"\x01\x04host\x07example\x03net\x00";
    let base = Msg::new(SOLICIT, 9)
        .client_id(&client(31))
        .ia_na(1, &[])
        .raw(OPT_CLIENT_FQDN, fqdn);
    let p = h
        .direct(&base.clone().oro(&[OPT_CLIENT_FQDN]).build())
        .unwrap();
    let answer = p.option(OPT_CLIENT_FQDN).expect("FQDN answered");
    assert_eq!(answer[0], 0x06, "N=1, O=1 (S overridden), S=0");
    assert_eq!(&answer[1..], &fqdn[1..], "name echoed");
    let p = h.direct(&base.build()).unwrap();
    assert!(p.option(OPT_CLIENT_FQDN).is_none(), "not in ORO: not sent");
}

/// A /64-sized range (the lease crate tracks it sparsely, with a moving cursor): a repeated
/// Solicit may be offered another address, but the Request naming the offer gets exactly it.
#[test]
fn huge_pool_offer_is_what_the_request_gets() {
    let mut p = policy();
    let mut s = subnet2();
    s.id = tandem_engine::policy::SubnetId(4);
    s.prefix = a("2001:db8:4::");
    s.rapid_commit = false;
    s.ranges = vec![tandem_engine::policy::AddressRange {
        first: a("2001:db8:4::1"),
        last: a("2001:db8:4::ffff:ffff:ffff:fffe"),
    }];
    p.subnets.push(s);
    let mut h = Harness::with_policy(p);
    let duid = client(40);
    let mut m = Msg::new(SOLICIT, 1).client_id(&duid);
    for iaid in 0..3 {
        m = m.ia_na(iaid, &[]);
    }
    let adv = h.via_relay(a("2001:db8:4::1"), &m.build()).unwrap();
    let offers: Vec<_> = (0..3).map(|i| adv.na(i).leases[0].addr).collect();
    assert!(offers[0] != offers[1] && offers[1] != offers[2] && offers[0] != offers[2]);
    h.assert_untouched();
    let mut req = Msg::new(REQUEST, 2).client_id(&duid).server_id(SERVER_DUID);
    for (iaid, addr) in offers.iter().enumerate() {
        req = req.ia_na(iaid as u32, &[*addr]);
    }
    let rep = h.via_relay(a("2001:db8:4::1"), &req.build()).unwrap();
    for (iaid, addr) in offers.iter().enumerate() {
        assert_eq!(rep.na(iaid as u32).leases[0].addr, *addr);
    }
    assert_eq!(upserts(&h.changes()).len(), 3);
}

#[test]
fn an_advertise_on_a_full_pool_reclaims_expired_leases_but_binds_nothing() {
    let mut h = Harness::new();
    for n in 50..52 {
        let req = Msg::new(REQUEST, 1)
            .client_id(&client(n))
            .server_id(SERVER_DUID)
            .ia_na(1, &[])
            .build();
        h.on(ETH1, &req).unwrap();
    }
    h.changes();
    h.now += 201; // eth1's valid lifetime is 200 s: both leases expired.
    let sol = Msg::new(SOLICIT, 2)
        .client_id(&client(52))
        .ia_na(1, &[])
        .build();
    let p = h.on(ETH1, &sol).unwrap();
    assert!(in_range(
        p.na(1).leases[0].addr,
        "2001:db8:3::10",
        "2001:db8:3::11"
    ));
    let changes = h.changes();
    assert!(!changes.is_empty());
    assert!(
        changes
            .iter()
            .all(|c| matches!(c, tandem_lease::LeaseChange::Remove(_))),
        "{changes:?}"
    );
}
