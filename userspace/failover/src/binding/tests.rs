//! Tests of the binding-update codec and receive rules (RFC 8156 §7.4–§7.7; R33–R40), with
//! shared fixtures: the models behind the hand-written golden vectors of [`golden`].

use std::net::Ipv6Addr;

use tandem_wire::failover::FailoverMessage;
use tandem_wire::Xid;

use super::*;
use crate::conflict::BindingStatus;
use crate::time::FoTime;

mod decode_errors;
mod golden;
mod receive_rules;
mod refusals;
mod reply_flow;
mod roundtrip;
mod wire_builder;

/// 2026-11-26T00:00:00Z (as tandem-wire's failover test data).
const T0: u32 = 848_966_400;

/// DUID-LLT of the golden client.
const DUID: &[u8] = &[
    0x00, 0x01, 0x00, 0x01, 0x2a, 0x3b, 0x4c, 0x5d, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
];

pub(super) fn t(offset: i64) -> FoTime {
    FoTime((i64::from(T0) + offset) as u32)
}

/// A message view of a framed vector (length prefix stripped).
pub(super) fn msg(framed: &[u8]) -> FailoverMessage<'_> {
    FailoverMessage::new_checked(&framed[2..]).unwrap()
}

fn encode(update: &BindingUpdate, xid: u32, sent: FoTime) -> Vec<u8> {
    let mut buf = vec![0u8; encoded_len(update)];
    let n = encode_bndupd(update, Xid::from_u32(xid), sent, &mut buf).unwrap();
    assert_eq!(n, buf.len(), "encoded_len");
    buf
}

fn encode_reply(reply: &BindingReply, xid: u32, sent: FoTime) -> Vec<u8> {
    let mut buf = vec![0u8; reply_encoded_len(reply)];
    let n = encode_bndreply(reply, Xid::from_u32(xid), sent, &mut buf).unwrap();
    assert_eq!(n, buf.len(), "reply_encoded_len");
    buf
}

fn addr_item() -> BindingItem {
    BindingItem {
        addr: "2001:db8:1::100".parse().unwrap(),
        prefix_len: 128,
        preferred_s: 3600,
        valid_s: 7200,
        status: BindingStatus::Active,
        start_time_of_state: t(-86_400),
        state_expiration_time: Some(t(7200)),
        clt_time: Some(t(-5)),
        partner_lifetime: Some(t(9000)),
        partner_raw_clt_time: Some(t(-30)),
        expiration_time: Some(t(3600)),
    }
}

fn prefix_item() -> BindingItem {
    BindingItem {
        addr: "2001:db8:ab00:100::".parse().unwrap(),
        prefix_len: 56,
        preferred_s: 3600,
        valid_s: 7200,
        status: BindingStatus::Released,
        start_time_of_state: t(-60),
        state_expiration_time: Some(t(3540)),
        clt_time: Some(t(-60)),
        partner_lifetime: Some(t(3600)),
        partner_raw_clt_time: None,
        expiration_time: Some(t(1800)),
    }
}

/// The model of [`golden::BNDUPD_CLIENT`]: IA_NA 1 with an ACTIVE address, IA_PD 2 with a
/// RELEASED prefix.
pub(super) fn client_update() -> BindingUpdate {
    BindingUpdate::Client(ClientBinding {
        duid: DUID.into(),
        base_time: t(0),
        ias: vec![
            IaBinding {
                kind: IaKind::Na,
                iaid: 1,
                t1_s: 1800,
                t2_s: 2880,
                items: vec![addr_item()],
            },
            IaBinding {
                kind: IaKind::Pd,
                iaid: 2,
                t1_s: 1800,
                t2_s: 2880,
                items: vec![prefix_item()],
            },
        ],
    })
}

/// The model of [`golden::BNDUPD_PREFIX`]: the primary takes a /56 back with FREE.
pub(super) fn prefix_update() -> BindingUpdate {
    BindingUpdate::Prefix {
        base_time: t(10),
        item: BindingItem {
            addr: "2001:db8:ac00::".parse().unwrap(),
            prefix_len: 56,
            preferred_s: 0,
            valid_s: 0,
            status: BindingStatus::Free,
            start_time_of_state: t(-3600),
            state_expiration_time: None,
            clt_time: None,
            partner_lifetime: None,
            partner_raw_clt_time: None,
            expiration_time: None,
        },
    }
}

fn addr(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}
