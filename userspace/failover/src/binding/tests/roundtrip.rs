//! Property tests (R3, R4, R34): generated valid updates and replies survive encode → decode
//! unchanged with the predicted length; damaged bytes never panic a decoder.

use proptest::prelude::*;
use tandem_wire::StatusCode;

use super::*;
use crate::conflict::RejectReason;

fn status() -> impl Strategy<Value = BindingStatus> {
    (1u8..=8).prop_map(|v| BindingStatus::from_wire(v).unwrap())
}

fn opt_time() -> impl Strategy<Value = Option<FoTime>> {
    proptest::option::of(any::<u32>().prop_map(FoTime))
}

/// A valid item of `kind` for an update with `base`; `client` allows the client-only times.
fn item(kind: IaKind, base: FoTime, client: bool) -> impl Strategy<Value = BindingItem> {
    let plen = match kind {
        IaKind::Na => Just(128u8).boxed(),
        IaKind::Pd => (0u8..=128).boxed(),
    };
    (
        (any::<u128>(), plen, any::<u32>(), any::<u32>(), status()),
        (any::<u32>(), any::<[u32; 3]>(), any::<bool>()),
        (proptest::option::of(0u32..=i32::MAX as u32), opt_time()),
    )
        .prop_filter(
            "ACTIVE needs client data",
            move |((_, _, _, _, s), _, _)| client || *s != BindingStatus::Active,
        )
        .prop_map(
            move |((a, plen, pref, valid, status), (start, times, abandoned_timed), (clt, raw))| {
                let timed = match timeout(status) {
                    Timeout::Always => true,
                    Timeout::Never => false,
                    _ => abandoned_timed,
                };
                let timed = |v: u32| timed.then_some(FoTime(v));
                BindingItem {
                    addr: a.into(),
                    prefix_len: plen,
                    preferred_s: pref,
                    valid_s: valid,
                    status,
                    start_time_of_state: FoTime(start),
                    state_expiration_time: timed(times[0]),
                    clt_time: clt
                        .filter(|_| client)
                        .map(|rel| FoTime(base.0.wrapping_sub(rel))),
                    partner_lifetime: timed(times[1]),
                    partner_raw_clt_time: raw.filter(|_| client),
                    expiration_time: timed(times[2]),
                }
            },
        )
}

fn ia(base: FoTime) -> impl Strategy<Value = IaBinding> {
    (any::<bool>(), any::<[u32; 3]>()).prop_flat_map(move |(pd, [iaid, t1_s, t2_s])| {
        let kind = if pd { IaKind::Pd } else { IaKind::Na };
        prop::collection::vec(item(kind, base, true), 1..4).prop_map(move |items| IaBinding {
            kind,
            iaid,
            t1_s,
            t2_s,
            items,
        })
    })
}

fn update() -> impl Strategy<Value = BindingUpdate> {
    let client = (
        prop::collection::vec(any::<u8>(), 1..=MAX_DUID_LEN),
        any::<u32>(),
    )
        .prop_flat_map(|(duid, base)| {
            let base = FoTime(base);
            prop::collection::vec(ia(base), 1..5).prop_map(move |ias| {
                BindingUpdate::Client(ClientBinding {
                    duid: duid.clone().into(),
                    base_time: base,
                    ias,
                })
            })
        });
    let prefix = any::<u32>().prop_flat_map(|base| {
        let base_time = FoTime(base);
        item(IaKind::Pd, base_time, false)
            .prop_map(move |item| BindingUpdate::Prefix { base_time, item })
    });
    prop_oneof![client, prefix]
}

fn outcome() -> impl Strategy<Value = ItemOutcome> {
    prop_oneof![
        Just(ItemOutcome::Accept(LocalTimes::default())),
        Just(ItemOutcome::Reject(ItemReject::NotOurs)),
        Just(ItemOutcome::Reject(ItemReject::Conflict(
            RejectReason::AddressInUse
        ))),
        Just(ItemOutcome::Reject(ItemReject::Conflict(
            RejectReason::OutdatedBindingInformation
        ))),
    ]
}

fn update_and_outcomes() -> impl Strategy<Value = (BindingUpdate, Outcomes)> {
    update().prop_flat_map(|u| {
        let n = u.item_count();
        let whole = proptest::option::weighted(
            0.2,
            prop_oneof![
                Just(StatusCode::MissingBindingInformation),
                Just(StatusCode::UnspecFail)
            ],
        );
        (Just(u), whole, prop::collection::vec(outcome(), n))
            .prop_map(|(u, whole, items)| (u, Outcomes { whole, items }))
    })
}

proptest! {
    #[test]
    fn update_round_trips(u in update(), xid in 0u32..1 << 24, sent in any::<u32>()) {
        let bytes = encode(&u, xid, FoTime(sent));
        let m = msg(&bytes);
        prop_assert_eq!(m.xid(), Xid::from_u32(xid));
        prop_assert_eq!(m.sent_time().map(|s| s.0), Some(sent));
        prop_assert_eq!(decode_bndupd(&m), Ok(u));
    }

    #[test]
    fn reply_round_trips((u, outcomes) in update_and_outcomes()) {
        let reply = reply_to(&u, &outcomes).unwrap();
        let bytes = encode_reply(&reply, 7, FoTime(1));
        let decoded = decode_bndreply(&msg(&bytes)).unwrap();
        prop_assert_eq!(&decoded, &reply);
        let acked = decoded.acked_items().count();
        let rejected = decoded.rejected_items().count();
        prop_assert_eq!(acked + rejected, u.item_count());
        let accepts = outcomes.items.iter().filter(|o| o.status().is_none()).count();
        prop_assert_eq!(acked, if outcomes.whole.is_some() { 0 } else { accepts });
        prop_assert_eq!(decoded.has_rejection(), rejected > 0 || outcomes.whole.is_some());
        prop_assert_eq!(decoded.key(), Some(u.key()));
        // Every acknowledged partner lifetime is an exact copy of the one sent (R38).
        let sent: Vec<_> = u.items().map(|(_, i)| (i.addr, i.prefix_len, i.partner_lifetime)).collect();
        for a in decoded.acked_items() {
            prop_assert!(sent.contains(&(a.addr, a.prefix_len, a.partner_lifetime_sent)));
        }
    }

    #[test]
    fn damaged_updates_never_panic(u in update(), at in any::<prop::sample::Index>(), v in any::<u8>()) {
        let mut bytes = encode(&u, 1, FoTime(2));
        let i = at.index(bytes.len() - 10) + 10;
        bytes[i] = v;
        if let Ok(m) = FailoverMessage::new_checked(&bytes[2..]) {
            let _ = decode_bndupd(&m);
            let _ = decode_bndreply(&m);
            let _ = reject_reply(&m, StatusCode::MissingBindingInformation);
        }
    }

    #[test]
    fn arbitrary_option_areas_never_panic(area in prop::collection::vec(any::<u8>(), 0..300), t in 24u8..=25) {
        let mut m = vec![t, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&area);
        if let Ok(m) = FailoverMessage::new_checked(&m) {
            let _ = decode_bndupd(&m);
            let _ = decode_bndreply(&m);
            let r = reject_reply(&m, StatusCode::UnspecFail);
            let mut buf = vec![0u8; reply_encoded_len(&r)];
            prop_assert!(encode_bndreply(&r, Xid::from_u32(1), FoTime(0), &mut buf).is_ok());
        }
    }
}
