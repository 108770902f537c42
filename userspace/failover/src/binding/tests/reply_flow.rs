//! BNDUPD → BNDREPLY between two endpoints in memory (RFC 8156 §7.4–§7.7; R38, R39), and the
//! replies to updates that could not be decoded.

use tandem_wire::StatusCode;

use super::*;
use crate::state::Role;

/// Encodes on one side, decodes, decides, replies, and decodes the reply on the other.
fn exchange(update: &BindingUpdate, ours: fn(Ipv6Addr, u8) -> bool) -> BindingReply {
    let wire_update = encode(update, 0x42, t(0));
    let received = decode_bndupd(&msg(&wire_update)).unwrap();
    assert_eq!(&received, update);
    let outcomes = receive_update(Role::Secondary, t(1), &received, ours, |_, _| None);
    let reply = reply_to(&received, &outcomes).unwrap();
    let wire_reply = encode_reply(&reply, 0x42, t(1));
    let m = msg(&wire_reply);
    assert_eq!(m.xid(), Xid::from_u32(0x42));
    decode_bndreply(&m).unwrap()
}

#[test]
fn acked_items_carry_the_exact_partner_lifetime_sent() {
    let reply = exchange(&client_update(), |_, _| true);
    assert!(!reply.has_rejection());
    let acked: Vec<_> = reply.acked_items().collect();
    assert_eq!(acked.len(), 2);
    assert_eq!(acked[0].partner_lifetime_sent, addr_item().partner_lifetime);
    assert_eq!(
        acked[0].state_expiration_time,
        addr_item().state_expiration_time
    );
    assert_eq!(acked[1].binding_status, BindingStatus::Released);
    assert_eq!(acked[1].partner_lifetime_sent, Some(t(3600)));
    assert_eq!(reply.rejected_items().count(), 0);
}

#[test]
fn prefix_reply_status_sits_in_the_iaprefix() {
    let reply = exchange(&prefix_update(), |_, _| false);
    assert_eq!(reply.status, Some(StatusCode::ConfigurationConflict));
    assert!(matches!(reply.container, ReplyContainer::Prefix(_)));
    assert_eq!(reply.acked_items().count(), 0);
    let accepted = exchange(&prefix_update(), |_, _| true);
    assert_eq!(accepted.status, None);
    let acked: Vec<_> = accepted.acked_items().collect();
    assert_eq!(acked.len(), 1);
    assert_eq!(acked[0].binding_status, BindingStatus::Free);
    assert_eq!(acked[0].partner_lifetime_sent, None);
}

#[test]
fn whole_update_status_hides_item_statuses() {
    let update = client_update();
    let outcomes = Outcomes {
        whole: Some(StatusCode::UnspecFail),
        items: vec![
            ItemOutcome::Accept(LocalTimes::default()),
            ItemOutcome::Reject(ItemReject::NotOurs),
        ],
    };
    let reply = reply_to(&update, &outcomes).unwrap();
    let ReplyContainer::Client { ias, .. } = &reply.container else {
        panic!("client container expected");
    };
    assert!(ias
        .iter()
        .all(|ia| ia.items.iter().all(|i| i.status.is_none())));
    assert_eq!(reply.acked_items().count(), 0);
    assert!(reply
        .rejected_items()
        .all(|r| r.status == StatusCode::UnspecFail));
    assert_eq!(reply.rejected_items().count(), 2);
}

#[test]
fn outcomes_must_match_the_items() {
    let short = Outcomes {
        whole: None,
        items: vec![ItemOutcome::Accept(LocalTimes::default())],
    };
    assert_eq!(
        reply_to(&client_update(), &short),
        Err(EncodeError::InvalidField { field: "outcomes" })
    );
    assert!(reply_to(&prefix_update(), &Outcomes::default()).is_err());
}

#[test]
fn success_status_is_informational() {
    let mut reply = reply_to(
        &client_update(),
        &Outcomes {
            whole: None,
            items: vec![ItemOutcome::Accept(LocalTimes::default()); 2],
        },
    )
    .unwrap();
    reply.status = Some(StatusCode::Success);
    if let ReplyContainer::Client { ias, .. } = &mut reply.container {
        ias[0].status = Some(StatusCode::Success);
        ias[1].items[0].status = Some(StatusCode::Success);
    }
    let decoded = decode_bndreply(&msg(&encode_reply(&reply, 1, t(0)))).unwrap();
    assert!(!decoded.has_rejection());
    assert_eq!(decoded.acked_items().count(), 2);
}

/// The answer to an update [`decode_bndupd`] refused mirrors what container there was.
#[test]
fn reject_reply_mirrors_the_container() {
    let round = |r: &BindingReply| decode_bndreply(&msg(&encode_reply(r, 3, t(0)))).unwrap();
    // A client update carrying VSS: CLIENT_DATA with the CLIENTID and the status.
    let mut bytes = golden::BNDUPD_CLIENT.to_vec();
    bytes.extend_from_slice(&[0, 68, 0, 1, 0]);
    let len = (bytes.len() - 2) as u16;
    bytes[..2].copy_from_slice(&len.to_be_bytes());
    let m = msg(&bytes);
    let err = decode_bndupd(&m).unwrap_err();
    let status = err.status_code().unwrap();
    assert_eq!(status, StatusCode::ConfigurationConflict);
    let r = reject_reply(&m, status);
    assert_eq!(
        r.container,
        ReplyContainer::Client {
            duid: DUID.into(),
            ias: Vec::new()
        }
    );
    assert_eq!(round(&r), r);
    assert!(r.has_rejection());
    // A top-level IAPREFIX: its echoes.
    let r = reject_reply(
        &msg(golden::BNDUPD_PREFIX),
        StatusCode::MissingBindingInformation,
    );
    let ReplyContainer::Prefix(e) = &r.container else {
        panic!("prefix container expected");
    };
    assert_eq!(e.binding_status, Some(BindingStatus::Free));
    assert_eq!((e.addr, e.prefix_len), (addr("2001:db8:ac00::"), 56));
    assert_eq!(round(&r), r);
    // Nothing usable: a message-level status.
    let empty = [0u8, 8, 24, 0, 0, 9, 0, 0, 0, 0];
    let r = reject_reply(&msg(&empty), StatusCode::MissingBindingInformation);
    assert_eq!(r.container, ReplyContainer::Empty);
    assert_eq!(round(&r), r);
}
