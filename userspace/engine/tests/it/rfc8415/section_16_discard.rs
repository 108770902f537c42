//! RFC 8415 §16 (Message Validation) and §18.4 (Reception of Unicast Messages), plus the
//! hostile-input drops. Every drop must leave the shard untouched.

use tandem_engine::{DropReason, RxMeta, REPLY_LEN_MAX};
use tandem_wire::StatusCode;

use crate::common::*;

fn drops(h: &mut Harness, pkt: &[u8], want: DropReason) {
    assert_eq!(h.direct(pkt).map(|p| p.msg_type).unwrap_err(), want);
    h.assert_untouched();
}

fn with_ids(ty: u8, client: Option<&[u8]>, server: Option<&[u8]>) -> Vec<u8> {
    let mut m = Msg::new(ty, 0x42);
    if let Some(c) = client {
        m = m.client_id(c);
    }
    if let Some(s) = server {
        m = m.server_id(s);
    }
    m.elapsed(0).ia_na(1, &[a("2001:db8:1::100")]).build()
}

#[test]
fn solicit_confirm_rebind_need_a_client_id_and_no_server_id() {
    let mut h = Harness::new();
    let c = client(1);
    for ty in [SOLICIT, CONFIRM, REBIND] {
        drops(
            &mut h,
            &with_ids(ty, None, None),
            DropReason::MissingClientId,
        );
        drops(
            &mut h,
            &with_ids(ty, Some(&c), Some(SERVER_DUID)),
            DropReason::UnexpectedServerId,
        );
    }
}

#[test]
fn request_renew_release_decline_need_our_server_id_and_a_client_id() {
    let mut h = Harness::new();
    let c = client(2);
    for ty in [REQUEST, RENEW, RELEASE, DECLINE] {
        drops(
            &mut h,
            &with_ids(ty, Some(&c), None),
            DropReason::MissingServerId,
        );
        drops(
            &mut h,
            &with_ids(ty, Some(&c), Some(FOREIGN_DUID)),
            DropReason::ForeignServerId,
        );
        drops(
            &mut h,
            &with_ids(ty, None, Some(SERVER_DUID)),
            DropReason::MissingClientId,
        );
    }
}

#[test]
fn information_request_with_foreign_server_id_or_ia_is_discarded() {
    let mut h = Harness::new();
    let ir = Msg::new(INFORMATION_REQUEST, 1)
        .server_id(FOREIGN_DUID)
        .build();
    drops(&mut h, &ir, DropReason::ForeignServerId);
    let ir = Msg::new(INFORMATION_REQUEST, 1).ia_pd(1, &[]).build();
    drops(&mut h, &ir, DropReason::IaInInformationRequest);
}

#[test]
fn server_messages_are_discarded() {
    let mut h = Harness::new();
    for ty in [ADVERTISE, REPLY, RECONFIGURE, RELAY_REPL] {
        let mut pkt = with_ids(ty, Some(&client(3)), Some(SERVER_DUID));
        if ty == RELAY_REPL {
            pkt = relay_forw(0, a("2001:db8:1::1"), a("fe80::1"), None, &[], &pkt);
            pkt[0] = RELAY_REPL;
        }
        drops(&mut h, &pkt, DropReason::ServerMessageType);
    }
}

#[test]
fn unknown_message_types_are_discarded() {
    let mut h = Harness::new();
    let types = [
        0u8, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 36, 37, 200, 255,
    ]
    .into_iter()
    .chain(24..=35);
    for ty in types {
        let pkt = with_ids(ty, Some(&client(4)), Some(SERVER_DUID));
        drops(&mut h, &pkt, DropReason::UnknownMessageType);
    }
}

#[test]
fn solicit_confirm_rebind_information_request_by_unicast_are_discarded() {
    let mut h = Harness::new();
    let c = client(5);
    for pkt in [
        with_ids(SOLICIT, Some(&c), None),
        with_ids(CONFIRM, Some(&c), None),
        with_ids(REBIND, Some(&c), None),
        Msg::new(INFORMATION_REQUEST, 1).client_id(&c).build(),
    ] {
        assert_eq!(h.unicast(&pkt).unwrap_err(), DropReason::UnicastNotAllowed);
    }
    h.assert_untouched();
}

#[test]
fn request_renew_release_decline_by_unicast_get_use_multicast() {
    let mut h = Harness::new();
    let c = client(6);
    for ty in [REQUEST, RENEW, RELEASE, DECLINE] {
        let pkt = Msg::new(ty, 0x0a0b0c)
            .client_id(&c)
            .server_id(SERVER_DUID)
            .oro(&[OPT_DNS_SERVERS])
            .ia_na(1, &[])
            .build();
        let p = h.unicast(&pkt).unwrap();
        assert_eq!(p.msg_type, REPLY);
        assert_eq!(p.xid, [0x0a, 0x0b, 0x0c]);
        assert_eq!(p.status, Some(StatusCode::UseMulticast));
        assert_ids(&p, &c);
        assert_eq!(
            p.codes.len(),
            3,
            "SERVERID, CLIENTID and status only: {:?}",
            p.codes
        );
    }
    h.assert_untouched();
    // A relay may of course unicast to the server.
    let pkt = Msg::new(REQUEST, 1)
        .client_id(&c)
        .server_id(SERVER_DUID)
        .ia_na(1, &[])
        .build();
    assert_eq!(
        h.via_relay(a("2001:db8:1::1"), &pkt)
            .unwrap()
            .na(1)
            .leases
            .len(),
        1
    );
}

#[test]
fn bad_duid_lengths_are_dropped() {
    let mut h = Harness::new();
    drops(
        &mut h,
        &with_ids(SOLICIT, Some(&[]), None),
        DropReason::BadDuidLength,
    );
    drops(
        &mut h,
        &with_ids(REQUEST, Some(&client(7)), Some(&[1; 131])),
        DropReason::BadDuidLength,
    );
    drops(
        &mut h,
        &with_ids(REQUEST, Some(&[2; 131]), Some(SERVER_DUID)),
        DropReason::BadDuidLength,
    );
    drops(
        &mut h,
        &with_ids(REQUEST, Some(&client(7)), Some(&[])),
        DropReason::BadDuidLength,
    );
}

#[test]
fn duplicate_singletons_are_dropped() {
    let mut h = Harness::new();
    let c = client(8);
    let two_clientids = Msg::new(SOLICIT, 1)
        .client_id(&c)
        .client_id(&client(9))
        .ia_na(1, &[])
        .build();
    drops(&mut h, &two_clientids, DropReason::DuplicateOption);
    let two_serverids = Msg::new(REQUEST, 1)
        .client_id(&c)
        .server_id(SERVER_DUID)
        .server_id(SERVER_DUID)
        .build();
    drops(&mut h, &two_serverids, DropReason::DuplicateOption);
    let two_elapsed = Msg::new(SOLICIT, 1)
        .client_id(&c)
        .elapsed(0)
        .elapsed(1)
        .build();
    drops(&mut h, &two_elapsed, DropReason::DuplicateOption);
    let two_oros = Msg::new(SOLICIT, 1)
        .client_id(&c)
        .oro(&[23])
        .oro(&[24])
        .build();
    drops(&mut h, &two_oros, DropReason::DuplicateOption);
    let two_iaids = Msg::new(REQUEST, 1)
        .client_id(&c)
        .server_id(SERVER_DUID)
        .ia_na(4, &[])
        .ia_na(4, &[])
        .build();
    drops(&mut h, &two_iaids, DropReason::DuplicateIaid);
}

#[test]
fn relay_nesting_beyond_the_hop_count_limit_is_dropped() {
    let mut h = Harness::new();
    let mut pkt = Msg::new(SOLICIT, 1)
        .client_id(&client(10))
        .ia_na(1, &[])
        .build();
    for hop in 0..10 {
        pkt = relay_forw(hop, a("2001:db8:1::1"), a("fe80::1"), None, &[], &pkt);
    }
    assert_eq!(
        h.relayed(&pkt).map(|_| ()).unwrap_err(),
        DropReason::RelayTooDeep
    );
    h.assert_untouched();
}

#[test]
fn relay_without_message_or_with_a_non_client_message_is_dropped() {
    let mut h = Harness::new();
    let mut no_msg = vec![RELAY_FORW, 0];
    no_msg.extend_from_slice(&a("2001:db8:1::1").octets());
    no_msg.extend_from_slice(&a("fe80::1").octets());
    no_msg.extend(opt(OPT_INTERFACE_ID, b"x"));
    assert_eq!(
        h.relayed(&no_msg).map(|_| ()).unwrap_err(),
        DropReason::RelayWithoutMessage
    );

    let advertise = with_ids(ADVERTISE, Some(&client(11)), Some(SERVER_DUID));
    let pkt = relay_forw(0, a("2001:db8:1::1"), a("fe80::1"), None, &[], &advertise);
    assert_eq!(
        h.relayed(&pkt).map(|_| ()).unwrap_err(),
        DropReason::RelayInnerNotClient
    );

    let mut inner_repl = relay_forw(0, a("2001:db8:1::1"), a("fe80::1"), None, &[], &advertise);
    inner_repl[0] = RELAY_REPL;
    let pkt = relay_forw(1, a("::"), a("2001:db8:1::1"), None, &[], &inner_repl);
    assert_eq!(
        h.relayed(&pkt).map(|_| ()).unwrap_err(),
        DropReason::RelayInnerNotClient
    );

    let sol = Msg::new(SOLICIT, 1).client_id(&client(11)).build();
    let mut extra = opt(OPT_RELAY_MSG, &sol);
    extra.extend(opt(OPT_INTERFACE_ID, b"a"));
    let pkt = relay_forw(
        0,
        a("2001:db8:1::1"),
        a("fe80::1"),
        Some(b"b"),
        &extra,
        &sol,
    );
    assert_eq!(
        h.relayed(&pkt).map(|_| ()).unwrap_err(),
        DropReason::DuplicateOption
    );
    h.assert_untouched();
}

#[test]
fn prefix_length_above_128_is_dropped() {
    let mut h = Harness::new();
    let pkt = Msg::new(SOLICIT, 1)
        .client_id(&client(12))
        .ia_pd(1, &[(129, a("::"))])
        .build();
    drops(&mut h, &pkt, DropReason::BadPrefixLength);
}

#[test]
fn too_many_ias_are_dropped() {
    let mut h = Harness::new();
    let mut m = Msg::new(REQUEST, 1)
        .client_id(&client(13))
        .server_id(SERVER_DUID);
    for iaid in 0..16 {
        m = m.ia_na(iaid, &[]).ia_pd(iaid, &[]);
    }
    let ok = m.clone().build();
    let p = h.direct(&ok).unwrap();
    assert_eq!(p.ias.len(), 32);
    h.changes();
    drops(&mut h, &m.ia_na(99, &[]).build(), DropReason::TooManyIas);
}

#[test]
fn malformed_packets_are_dropped() {
    let mut h = Harness::new();
    drops(&mut h, &[], DropReason::Malformed);
    drops(&mut h, &[SOLICIT, 0, 0], DropReason::Malformed);
    let mut pkt = Msg::new(SOLICIT, 1).client_id(&client(14)).build();
    pkt.truncate(pkt.len() - 1);
    drops(&mut h, &pkt, DropReason::Malformed);
    let pkt = Msg::new(SOLICIT, 1)
        .client_id(&client(14))
        .raw(OPT_ELAPSED_TIME, &[1])
        .build();
    drops(&mut h, &pkt, DropReason::Malformed);
    let pkt = Msg::new(SOLICIT, 1)
        .client_id(&client(14))
        .raw(OPT_IA_NA, &[0; 5])
        .build();
    drops(&mut h, &pkt, DropReason::BadIaOption);
}

#[test]
fn unknown_options_are_ignored() {
    let mut h = Harness::new();
    let pkt = Msg::new(SOLICIT, 1)
        .client_id(&client(15))
        .raw(4321, b"future")
        .raw(OPT_REMOTE_ID, &[0; 8])
        .ia_na(1, &[])
        .build();
    assert_eq!(h.direct(&pkt).unwrap().na(1).leases.len(), 1);
}

#[test]
fn no_subnet_for_the_receiving_interface() {
    let mut h = Harness::new();
    let pkt = Msg::new(SOLICIT, 1)
        .client_id(&client(16))
        .ia_na(1, &[])
        .build();
    assert_eq!(h.on(UNBOUND_IF, &pkt).unwrap_err(), DropReason::NoSubnet);
    h.assert_untouched();
}

#[test]
fn a_reply_that_does_not_fit_is_dropped_before_any_change() {
    let mut h = Harness::new();
    let rx = RxMeta {
        ifindex: ETH0,
        src: client_ll(),
        dst: ALL_DHCP,
    };
    let mut small = vec![0u8; 64];
    let r = h
        .engine
        .handle(h.now, &rx, testdata::REQUEST, &mut h.shard, &mut small);
    assert_eq!(r.map(|r| r.len).unwrap_err(), DropReason::ReplyTooLarge);
    h.assert_untouched();
    let mut big = vec![0u8; REPLY_LEN_MAX];
    assert!(h
        .engine
        .handle(h.now, &rx, testdata::REQUEST, &mut h.shard, &mut big)
        .is_ok());
}

#[test]
fn a_client_of_another_shard_is_dropped() {
    // With two shards, exactly one owns the golden client; the other must refuse it.
    let owner = tandem_ebpf_common::shard_of(testdata::CLIENT_DUID, 2);
    let mut h = Harness::sharded(policy(), 1 - owner, 2);
    drops(&mut h, testdata::REQUEST, DropReason::WrongShard);
    let mut h = Harness::sharded(policy(), owner, 2);
    assert!(h.direct(testdata::REQUEST).is_ok());
}

#[test]
fn every_drop_reason_has_a_label() {
    for r in DropReason::ALL {
        assert!(!r.as_str().is_empty());
    }
    assert!(DropReason::ALL.contains(&DropReason::TooManyIas));
}
