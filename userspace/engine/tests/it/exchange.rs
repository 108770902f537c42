//! A whole client life: Solicit → Advertise → Request → Reply → Renew → Reply → Release →
//! Reply, with the shard's recorded changes checked at every step.

use tandem_engine::RxMeta;
use tandem_lease::{LeaseChange, LeaseKind, LeaseState, Resource};
use tandem_wire::{MessageType, StatusCode};

use crate::common::*;

#[test]
fn solicit_request_renew_release() {
    let mut h = Harness::new();
    let duid = client(0x77);
    let oro = [OPT_DNS_SERVERS, OPT_DOMAIN_LIST, OPT_SOL_MAX_RT];

    // Solicit → Advertise: an offer, nothing recorded.
    let sol = Msg::new(SOLICIT, 0x010203)
        .client_id(&duid)
        .elapsed(0)
        .oro(&oro)
        .ia_na(0xa, &[])
        .ia_pd(0xb, &[(56, a("::"))]);
    let adv = h.direct(&sol.build()).unwrap();
    assert_eq!(adv.msg_type, ADVERTISE);
    assert_ids(&adv, &duid);
    assert!(adv.option(OPT_SOL_MAX_RT).is_some());
    let addr = adv.na(0xa).leases[0].addr;
    let prefix = adv.pd(0xb).leases[0].addr;
    assert!(h.changes().is_empty(), "Advertise commits nothing");

    // Request → Reply: the advertised resources, now bound.
    let req = Msg::new(REQUEST, 0x040506)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .elapsed(0)
        .oro(&oro)
        .ia_na(0xa, &[addr])
        .ia_pd(0xb, &[(56, prefix)]);
    let rep = h.direct(&req.build()).unwrap();
    assert_eq!((rep.msg_type, rep.xid), (REPLY, [4, 5, 6]));
    assert_eq!(rep.na(0xa).leases[0].addr, addr);
    assert_eq!(rep.pd(0xb).leases[0].addr, prefix);
    let ups = upserts(&h.changes());
    assert_eq!(ups.len(), 2);
    for l in &ups {
        assert_eq!(
            (&*l.duid, l.subnet_id, l.state, l.cltt),
            (&duid[..], 1, LeaseState::Bound, NOW)
        );
    }
    let na = ups
        .iter()
        .find(|l| l.resource.kind == LeaseKind::Na)
        .unwrap();
    assert_eq!(
        (na.resource.addr, na.iaid, na.expires_at),
        (addr, 0xa, NOW + 7200)
    );
    let pd = ups
        .iter()
        .find(|l| l.resource.kind == LeaseKind::Pd)
        .unwrap();
    assert_eq!(
        (pd.resource.addr, pd.iaid, pd.expires_at),
        (prefix, 0xb, NOW + 3600)
    );

    // Renew at T1 → Reply: same resources, new lifetimes from the renewal time.
    h.now += u64::from(rep.na(0xa).t1);
    let renew = Msg::new(RENEW, 0x070809)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .elapsed(0)
        .ia_na(0xa, &[addr])
        .ia_pd(0xb, &[(56, prefix)]);
    let rep = h.direct(&renew.build()).unwrap();
    assert_eq!(rep.na(0xa).leases[0].addr, addr);
    assert_eq!(rep.na(0xa).leases[0].valid, 7200);
    assert_eq!(rep.pd(0xb).leases[0].addr, prefix);
    let ups = upserts(&h.changes());
    assert_eq!(ups.len(), 2);
    let na = ups
        .iter()
        .find(|l| l.resource.kind == LeaseKind::Na)
        .unwrap();
    assert_eq!((na.cltt, na.expires_at), (NOW + 900, NOW + 900 + 7200));

    // Release → Reply Success: both gone.
    let rel = Msg::new(RELEASE, 0x0a0b0c)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .elapsed(0)
        .ia_na(0xa, &[addr])
        .ia_pd(0xb, &[(56, prefix)]);
    let rep = h.direct(&rel.build()).unwrap();
    assert_eq!(rep.status, Some(StatusCode::Success));
    assert!(rep.ias.is_empty());
    let mut changes = h.changes();
    changes.sort_by_key(|c| format!("{c:?}"));
    let mut want = vec![
        LeaseChange::Remove(Resource {
            kind: LeaseKind::Na,
            addr,
            prefix_len: 128,
        }),
        LeaseChange::Remove(Resource {
            kind: LeaseKind::Pd,
            addr: prefix,
            prefix_len: 56,
        }),
    ];
    want.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(changes, want);
    assert_eq!(
        h.shard
            .leases()
            .filter(|l| l.state == LeaseState::Bound)
            .count(),
        0
    );

    // A second Release of the same IAs: NoBinding in each IA, nothing recorded.
    let rep = h.direct(&rel.build()).unwrap();
    assert_eq!(rep.na(0xa).status, Some(StatusCode::NoBinding));
    assert_eq!(rep.pd(0xb).status, Some(StatusCode::NoBinding));
    assert!(h.changes().is_empty());
}

#[test]
fn a_restarted_server_keeps_the_address() {
    // Replaying the recorded changes into a fresh shard (what the server does from its journal)
    // gives the same answer to the same client.
    let mut h = Harness::new();
    let duid = client(0x78);
    let req = Msg::new(REQUEST, 1)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .ia_na(1, &[])
        .build();
    let addr = h.direct(&req).unwrap().na(1).leases[0].addr;
    let journal = h.changes();

    let mut fresh = Harness::new();
    for c in journal {
        fresh.shard.apply_replayed(c);
    }
    let sol = Msg::new(SOLICIT, 2).client_id(&duid).ia_na(1, &[]).build();
    assert_eq!(fresh.direct(&sol).unwrap().na(1).leases[0].addr, addr);
}

/// `Reply::commits` tells the server which replies must wait for the journal: an Advertise
/// (RFC 8415 §18.3.9), an Information-request's Reply (§18.3.6) and a UseMulticast answer
/// (§18.4) promise no binding; a Reply to Request, Renew or a Rapid Commit Solicit does.
#[test]
fn only_replies_that_tell_of_bindings_commit() {
    let mut h = Harness::new();
    let duid = client(0x78);
    let multicast = RxMeta {
        ifindex: ETH0,
        src: client_ll(),
        dst: ALL_DHCP,
    };
    let sol = Msg::new(SOLICIT, 1)
        .client_id(&duid)
        .elapsed(0)
        .ia_na(1, &[]);
    let (reply, adv) = h.rx(multicast, &sol.build()).unwrap();
    assert_eq!((adv.msg_type, reply.commits), (ADVERTISE, false));
    assert_eq!(reply.msg_type, MessageType::Advertise);
    let offered = adv.na(1).leases[0].addr;

    let req = Msg::new(REQUEST, 2)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .elapsed(0)
        .ia_na(1, &[offered]);
    let (reply, rep) = h.rx(multicast, &req.build()).unwrap();
    assert_eq!((rep.msg_type, reply.commits), (REPLY, true));
    let renew = Msg::new(RENEW, 3)
        .client_id(&duid)
        .server_id(SERVER_DUID)
        .elapsed(0)
        .ia_na(1, &[offered]);
    let (reply, _) = h.rx(multicast, &renew.build()).unwrap();
    assert!(reply.commits, "a Renew's Reply extends a binding");

    let info = Msg::new(INFORMATION_REQUEST, 4).client_id(&duid).elapsed(0);
    let (reply, rep) = h.rx(multicast, &info.build()).unwrap();
    assert_eq!((rep.msg_type, reply.commits), (REPLY, false));

    let unicast = RxMeta {
        dst: SERVER_UNICAST,
        ..multicast
    };
    let (reply, rep) = h.rx(unicast, &req.build()).unwrap();
    assert_eq!(
        (rep.msg_type, reply.commits),
        (REPLY, false),
        "UseMulticast"
    );

    let rapid = Msg::new(SOLICIT, 5)
        .client_id(&client(0x79))
        .elapsed(0)
        .rapid_commit()
        .ia_na(5, &[]);
    let relayed = relay_forw(
        0,
        a("2001:db8:2::1"),
        a("fe80::5054:ff:fe00:1"),
        Some(b"port7"),
        &[],
        &rapid.build(),
    );
    let (reply, rep) = h.relayed(&relayed).unwrap();
    assert_eq!((rep.msg_type, reply.commits), (REPLY, true), "Rapid Commit");
    // The reply's own type, under its Relay-reply, for the counters.
    assert_eq!(reply.msg_type, MessageType::Reply);
}
