//! RFC 8415 §19 (Relay Agent Behavior as seen by the server): §19.3 Relay-reply construction,
//! §13.1 link selection, and reply destinations (§18.3.10).

use std::net::SocketAddrV6;

use tandem_engine::{DropReason, RxMeta};

use crate::common::*;

#[test]
fn golden_relayed_solicit_gets_a_relay_reply_with_interface_id() {
    let mut h = Harness::new();
    let (reply, p) = h.relayed(testdata::RELAY_FORW_SOLICIT).unwrap();
    assert_eq!(
        reply.dst,
        SocketAddrV6::new(*relay_src().ip(), 547, 0, UNBOUND_IF)
    );
    assert_eq!(h.out[0], RELAY_REPL);
    assert_eq!(p.hops.len(), 1);
    let hop = &p.hops[0];
    assert_eq!(hop.hop_count, 0);
    assert_eq!(hop.link, testdata::RELAY_LINK);
    assert_eq!(hop.peer, testdata::CLIENT_LINK_LOCAL);
    assert_eq!(hop.interface_id.as_deref(), Some(&b"eth1/0"[..]));
    assert_eq!(p.msg_type, ADVERTISE);
    assert_ids(&p, testdata::CLIENT_DUID);
    assert!(
        in_range(p.na(1).leases[0].addr, "2001:db8:1::100", "2001:db8:1::1ff"),
        "subnet 1 by link-address"
    );
    h.assert_untouched();
}

#[test]
fn nested_relays_get_nested_relay_replies_outermost_first() {
    let mut h = Harness::new();
    let (reply, p) = h.relayed(testdata::NESTED_RELAY_SOLICIT).unwrap();
    assert_eq!(reply.dst.port(), 547);
    assert_eq!(p.hops.len(), 2);
    assert_eq!(p.hops[0].hop_count, 1);
    assert_eq!(p.hops[0].interface_id.as_deref(), Some(&b"agg0"[..]));
    assert_eq!(p.hops[1].hop_count, 0);
    assert_eq!(p.hops[1].interface_id.as_deref(), Some(&b"eth1/0"[..]));
    assert_eq!(p.hops[1].link, testdata::RELAY_LINK);
    assert_eq!(p.msg_type, ADVERTISE);
}

#[test]
fn relay_reply_without_interface_id_when_the_relay_sent_none() {
    let mut h = Harness::new();
    let sol = Msg::new(SOLICIT, 1)
        .client_id(&client(1))
        .ia_na(1, &[])
        .build();
    let pkt = relay_forw(
        3,
        a("2001:db8:2::1"),
        a("fe80::77"),
        None,
        &opt(OPT_REMOTE_ID, &[0, 0, 0, 9, 1]),
        &sol,
    );
    let (_, p) = h.relayed(&pkt).unwrap();
    assert_eq!(p.hops[0].hop_count, 3);
    assert_eq!(p.hops[0].peer, a("fe80::77"));
    assert_eq!(p.hops[0].interface_id, None);
    assert!(in_range(
        p.na(1).leases[0].addr,
        "2001:db8:2::1000",
        "2001:db8:2::10ff"
    ));
}

#[test]
fn unspecified_link_address_falls_back_outwards_then_to_the_interface() {
    let mut h = Harness::new();
    let sol = Msg::new(SOLICIT, 1)
        .client_id(&client(2))
        .ia_na(1, &[])
        .build();
    // Inner relay says ::, outer relay names subnet 2's link.
    let inner = relay_forw(0, a("::"), a("fe80::1"), Some(b"in"), &[], &sol);
    let outer = relay_forw(
        1,
        a("2001:db8:2::1"),
        a("2001:db8:2::2"),
        Some(b"out"),
        &[],
        &inner,
    );
    let (_, p) = h.relayed(&outer).unwrap();
    assert!(in_range(
        p.na(1).leases[0].addr,
        "2001:db8:2::1000",
        "2001:db8:2::10ff"
    ));
    assert_eq!(p.hops[0].interface_id.as_deref(), Some(&b"out"[..]));
    assert_eq!(p.hops[1].interface_id.as_deref(), Some(&b"in"[..]));

    // No relay names the link: the receiving interface decides (eth1 → subnet 3).
    let only = relay_forw(0, a("::"), a("fe80::1"), None, &[], &sol);
    let rx = RxMeta {
        ifindex: ETH1,
        src: relay_src(),
        dst: ALL_SERVERS,
    };
    let (_, p) = h.rx(rx, &only).unwrap();
    assert!(in_range(
        p.na(1).leases[0].addr,
        "2001:db8:3::10",
        "2001:db8:3::11"
    ));
    let rx = RxMeta {
        ifindex: UNBOUND_IF,
        src: relay_src(),
        dst: ALL_SERVERS,
    };
    assert_eq!(
        h.rx(rx, &only).map(|_| ()).unwrap_err(),
        DropReason::NoSubnet
    );
}

#[test]
fn a_link_address_in_no_subnet_is_dropped() {
    let mut h = Harness::new();
    let sol = Msg::new(SOLICIT, 1)
        .client_id(&client(3))
        .ia_na(1, &[])
        .build();
    assert_eq!(
        h.via_relay(a("2001:db8:dead::1"), &sol).unwrap_err(),
        DropReason::NoSubnet
    );
    h.assert_untouched();
}

#[test]
fn relay_source_port_option_sends_back_to_the_source_port() {
    let mut h = Harness::new();
    let sol = Msg::new(SOLICIT, 1)
        .client_id(&client(4))
        .ia_na(1, &[])
        .build();
    let pkt = relay_forw(
        0,
        a("2001:db8:1::1"),
        a("fe80::1"),
        None,
        &opt(OPT_RELAY_SOURCE_PORT, &[0, 0]),
        &sol,
    );
    let src = SocketAddrV6::new(a("2001:db8:ffff::1"), 10547, 0, 0);
    let rx = RxMeta {
        ifindex: UNBOUND_IF,
        src,
        dst: a("2001:db8:ffff::547"),
    };
    let (reply, _) = h.rx(rx, &pkt).unwrap();
    assert_eq!(reply.dst.port(), 10547);
}

#[test]
fn direct_replies_go_to_the_client_source_on_the_receiving_interface() {
    let mut h = Harness::new();
    let sol = Msg::new(SOLICIT, 1)
        .client_id(&client(5))
        .ia_na(1, &[])
        .build();
    let rx = RxMeta {
        ifindex: ETH0,
        src: client_ll(),
        dst: ALL_DHCP,
    };
    let (reply, p) = h.rx(rx, &sol).unwrap();
    assert_eq!(
        reply.dst,
        SocketAddrV6::new(*client_ll().ip(), 546, 0, ETH0)
    );
    assert!(p.hops.is_empty());
    assert_eq!(h.out[0], ADVERTISE);
}

#[test]
fn client_duid_peels_relays() {
    assert_eq!(
        tandem_engine::client_duid(testdata::NESTED_RELAY_SOLICIT),
        Some(testdata::CLIENT_DUID)
    );
    assert_eq!(
        tandem_engine::client_duid(testdata::SOLICIT),
        Some(testdata::CLIENT_DUID)
    );
    let ir = Msg::new(INFORMATION_REQUEST, 1).build();
    assert_eq!(tandem_engine::client_duid(&ir), None);
    assert_eq!(tandem_engine::client_duid(&[0xff, 1]), None);
    let empty = Msg::new(SOLICIT, 1).client_id(&[]).build();
    assert_eq!(tandem_engine::client_duid(&empty), None);
}
