//! Golden vectors written from the RFC 8156 §7.4 / §7.6 layouts (protocol.md §1.12–§1.13)
//! by a small builder independent of this crate, and checked with tshark 4.0 and
//! `/work/shared/tools/fo6.lua` (no "Malformed"; text2pcap, no network). Plus cross-checks
//! against tandem-wire's own golden BNDUPD / BNDREPLY vectors.

use tandem_wire::failover::{testdata as wire, Deframer};
use tandem_wire::StatusCode;

use super::*;

/// BNDUPD (RFC 8156 §7.4), xid 0x11, sent T0: CLIENT_DATA { CLIENTID, LQ_BASE_TIME T0,
/// IA_NA { IAID 1, T1 1800, T2 2880, IAADDR { 2001:db8:1::100, 3600, 7200, F_BINDING_STATUS
/// ACTIVE, F_START_TIME_OF_STATE T0−1d, F_STATE_EXPIRATION_TIME T0+7200, CLT_TIME 5,
/// F_PARTNER_LIFETIME T0+9000, F_PARTNER_RAW_CLT_TIME T0−30, F_EXPIRATION_TIME T0+3600 } },
/// IA_PD { IAID 2, T1 1800, T2 2880, IAPREFIX { 3600, 7200, /56 2001:db8:ab00:100::,
/// RELEASED, start T0−60, state-expiration T0+3540, CLT_TIME 60, partner-lifetime T0+3600,
/// expiration T0+1800 } } }.
pub(super) const BNDUPD_CLIENT: &[u8] = &[
    0x00, 0xe1, 0x18, 0x00, 0x00, 0x11, 0x32, 0x9a, 0x33, 0x00, 0x00, 0x2d, 0x00, 0xd5, 0x00, 0x01,
    0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, 0x2a, 0x3b, 0x4c, 0x5d, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x00, 0x64, 0x00, 0x04, 0x32, 0x9a, 0x33, 0x00, 0x00, 0x03, 0x00, 0x5d, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x07, 0x08, 0x00, 0x00, 0x0b, 0x40, 0x00, 0x05, 0x00, 0x4d, 0x20, 0x01, 0x0d, 0xb8,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0e, 0x10,
    0x00, 0x00, 0x1c, 0x20, 0x00, 0x72, 0x00, 0x01, 0x01, 0x00, 0x85, 0x00, 0x04, 0x32, 0x98, 0xe1,
    0x80, 0x00, 0x86, 0x00, 0x04, 0x32, 0x9a, 0x4f, 0x20, 0x00, 0x2e, 0x00, 0x04, 0x00, 0x00, 0x00,
    0x05, 0x00, 0x7b, 0x00, 0x04, 0x32, 0x9a, 0x56, 0x28, 0x00, 0x7e, 0x00, 0x04, 0x32, 0x9a, 0x32,
    0xe2, 0x00, 0x78, 0x00, 0x04, 0x32, 0x9a, 0x41, 0x10, 0x00, 0x19, 0x00, 0x56, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x07, 0x08, 0x00, 0x00, 0x0b, 0x40, 0x00, 0x1a, 0x00, 0x46, 0x00, 0x00, 0x0e,
    0x10, 0x00, 0x00, 0x1c, 0x20, 0x38, 0x20, 0x01, 0x0d, 0xb8, 0xab, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x72, 0x00, 0x01, 0x03, 0x00, 0x85, 0x00, 0x04, 0x32,
    0x9a, 0x32, 0xc4, 0x00, 0x86, 0x00, 0x04, 0x32, 0x9a, 0x40, 0xd4, 0x00, 0x2e, 0x00, 0x04, 0x00,
    0x00, 0x00, 0x3c, 0x00, 0x7b, 0x00, 0x04, 0x32, 0x9a, 0x41, 0x10, 0x00, 0x78, 0x00, 0x04, 0x32,
    0x9a, 0x3a, 0x08,
];
/// BNDUPD (RFC 8156 §4.2.2, §7.4), xid 0x12, sent T0+2: top-level IAPREFIX { 0, 0,
/// /56 2001:db8:ac00::, LQ_BASE_TIME T0+10, F_BINDING_STATUS FREE, start T0−3600 }.
pub(super) const BNDUPD_PREFIX: &[u8] = &[
    0x00, 0x3a, 0x18, 0x00, 0x00, 0x12, 0x32, 0x9a, 0x33, 0x02, 0x00, 0x1a, 0x00, 0x2e, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, 0x20, 0x01, 0x0d, 0xb8, 0xac, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00, 0x04, 0x32, 0x9a, 0x33, 0x0a, 0x00,
    0x72, 0x00, 0x01, 0x05, 0x00, 0x85, 0x00, 0x04, 0x32, 0x9a, 0x24, 0xf0,
];
/// BNDREPLY (RFC 8156 §7.6) to [`BNDUPD_CLIENT`], xid 0x11, sent T0+1: the address accepted
/// (echoes: ACTIVE, T0+7200, F_PARTNER_LIFETIME_SENT T0+9000), the prefix rejected with
/// STATUS_CODE OutdatedBindingInformation (19, empty text) and its echoes.
pub(super) const BNDREPLY_REJECT: &[u8] = &[
    0x00, 0xa7, 0x19, 0x00, 0x00, 0x11, 0x32, 0x9a, 0x33, 0x01, 0x00, 0x2d, 0x00, 0x9b, 0x00, 0x01,
    0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, 0x2a, 0x3b, 0x4c, 0x5d, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x00, 0x03, 0x00, 0x3d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x07, 0x08, 0x00, 0x00, 0x0b, 0x40,
    0x00, 0x05, 0x00, 0x2d, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x00, 0x1c, 0x20, 0x00, 0x72, 0x00, 0x01,
    0x01, 0x00, 0x86, 0x00, 0x04, 0x32, 0x9a, 0x4f, 0x20, 0x00, 0x7c, 0x00, 0x04, 0x32, 0x9a, 0x56,
    0x28, 0x00, 0x19, 0x00, 0x44, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x07, 0x08, 0x00, 0x00, 0x0b,
    0x40, 0x00, 0x1a, 0x00, 0x34, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x00, 0x1c, 0x20, 0x38, 0x20, 0x01,
    0x0d, 0xb8, 0xab, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d,
    0x00, 0x02, 0x00, 0x13, 0x00, 0x72, 0x00, 0x01, 0x03, 0x00, 0x86, 0x00, 0x04, 0x32, 0x9a, 0x40,
    0xd4, 0x00, 0x7c, 0x00, 0x04, 0x32, 0x9a, 0x41, 0x10,
];

#[test]
fn client_update_encodes_to_golden() {
    assert_eq!(encode(&client_update(), 0x11, t(0)), BNDUPD_CLIENT);
}

#[test]
fn golden_client_update_decodes() {
    let m = msg(BNDUPD_CLIENT);
    assert_eq!(m.xid(), Xid::from_u32(0x11));
    assert_eq!(decode_bndupd(&m), Ok(client_update()));
}

#[test]
fn prefix_update_encodes_and_decodes() {
    assert_eq!(encode(&prefix_update(), 0x12, t(2)), BNDUPD_PREFIX);
    assert_eq!(decode_bndupd(&msg(BNDUPD_PREFIX)), Ok(prefix_update()));
    assert_eq!(
        prefix_update().key(),
        UpdateKey::Prefix(addr("2001:db8:ac00::"), 56)
    );
    assert_eq!(client_update().key(), UpdateKey::Client(DUID.into()));
}

#[test]
fn reply_with_a_rejected_item_encodes_to_golden() {
    let update = client_update();
    let outcomes = Outcomes {
        whole: None,
        items: vec![
            ItemOutcome::Accept(LocalTimes::default()),
            ItemOutcome::Reject(ItemReject::Conflict(
                crate::conflict::RejectReason::OutdatedBindingInformation,
            )),
        ],
    };
    let reply = reply_to(&update, &outcomes).unwrap();
    assert_eq!(encode_reply(&reply, 0x11, t(1)), BNDREPLY_REJECT);
    assert_eq!(decode_bndreply(&msg(BNDREPLY_REJECT)), Ok(reply));
}

#[test]
fn golden_reply_acks_the_address_and_reports_the_prefix() {
    let reply = decode_bndreply(&msg(BNDREPLY_REJECT)).unwrap();
    assert!(reply.has_rejection());
    assert_eq!(reply.key(), Some(UpdateKey::Client(DUID.into())));
    let acked: Vec<_> = reply.acked_items().collect();
    assert_eq!(
        acked,
        [AckedItem {
            addr: addr("2001:db8:1::100"),
            prefix_len: 128,
            binding_status: BindingStatus::Active,
            state_expiration_time: Some(t(7200)),
            partner_lifetime_sent: Some(t(9000)),
        }]
    );
    let rejected: Vec<_> = reply.rejected_items().collect();
    assert_eq!(
        rejected,
        [RejectedItem {
            addr: addr("2001:db8:ab00:100::"),
            prefix_len: 56,
            status: StatusCode::OutdatedBindingInformation,
        }]
    );
}

/// tandem-wire's BNDUPD carries F_RECONFIGURE_DATA, CLIENT_FQDN and F_DNS_REMOVAL_INFO, which
/// are skipped; answering it with "accept" reproduces tandem-wire's BNDREPLY byte for byte.
#[test]
fn wire_crate_bndupd_decodes_and_our_reply_matches_its_bndreply() {
    let m = msg(wire::BNDUPD);
    let update = decode_bndupd(&m).unwrap();
    let BindingUpdate::Client(c) = &update else {
        panic!("client update expected");
    };
    assert_eq!(&*c.duid, DUID);
    assert_eq!(c.base_time, FoTime(wire::T0));
    let item = &c.ias[0].items[0];
    assert_eq!(item.clt_time, Some(FoTime(wire::T0 - wire::CLT_TIME)));
    assert_eq!(item.partner_lifetime, Some(FoTime(wire::PARTNER_LIFETIME)));
    assert_eq!(
        item.partner_raw_clt_time,
        Some(FoTime(wire::PARTNER_RAW_CLT))
    );
    assert_eq!(item.expiration_time, Some(FoTime(wire::EXPIRATION)));
    let outcomes = Outcomes {
        whole: None,
        items: vec![ItemOutcome::Accept(LocalTimes::default())],
    };
    let reply = reply_to(&update, &outcomes).unwrap();
    let sent = wire::BNDREPLY[6..10]
        .try_into()
        .map(u32::from_be_bytes)
        .unwrap();
    assert_eq!(encode_reply(&reply, 5, FoTime(sent)), wire::BNDREPLY);
    assert_eq!(decode_bndreply(&msg(wire::BNDREPLY)), Ok(reply));
}

#[test]
fn wire_crate_prefix_vectors() {
    let update = decode_bndupd(&msg(wire::BNDUPD_PREFIX)).unwrap();
    let sent = wire::BNDUPD_PREFIX[6..10]
        .try_into()
        .map(u32::from_be_bytes)
        .unwrap();
    assert_eq!(encode(&update, 6, FoTime(sent)), wire::BNDUPD_PREFIX);
    let reply = decode_bndreply(&msg(wire::BNDREPLY_PREFIX)).unwrap();
    assert_eq!(reply.status, Some(StatusCode::ConfigurationConflict));
    assert!(reply.has_rejection());
    assert_eq!(reply.acked_items().count(), 0);
    let rejected: Vec<_> = reply.rejected_items().collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].status, StatusCode::ConfigurationConflict);
    assert_eq!(rejected[0].prefix_len, 56);
}

/// R2: the three golden messages in one stream come out of the deframer and decode the same
/// however the stream is cut.
#[test]
fn decodes_after_a_split_at_every_offset() {
    let stream = [BNDUPD_CLIENT, BNDUPD_PREFIX, BNDREPLY_REJECT].concat();
    for cut in 0..=stream.len() {
        let mut d = Deframer::new();
        let mut updates = Vec::new();
        let mut replies = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            d.feed(part, |m| match decode_bndupd(&m) {
                Ok(u) => updates.push(u),
                Err(_) => replies.push(decode_bndreply(&m).unwrap()),
            })
            .unwrap();
        }
        assert_eq!(updates, [client_update(), prefix_update()], "cut {cut}");
        assert_eq!(replies.len(), 1, "cut {cut}");
        assert_eq!(d.buffered_len(), 0);
    }
}
