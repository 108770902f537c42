//! Encoder refusals (R33) and BNDREPLY decode errors.

use tandem_wire::StatusCode;

use super::wire_builder::*;
use super::*;
use crate::error::PeerMisbehaved;

fn dec_reply(options: &[u8]) -> Result<BindingReply, PeerMisbehaved> {
    decode_bndreply(&msg(&frame(25, options)))
}

fn invalid(field: &'static str) -> Result<usize, EncodeError> {
    Err(EncodeError::InvalidField { field })
}

fn try_encode(update: &BindingUpdate) -> Result<usize, EncodeError> {
    let mut buf = vec![0u8; 70_000];
    encode_bndupd(update, Xid::from_u32(1), t(0), &mut buf)
}

fn with_client(f: impl FnOnce(&mut ClientBinding)) -> BindingUpdate {
    let mut u = client_update();
    if let BindingUpdate::Client(c) = &mut u {
        f(c);
    }
    u
}

#[test]
fn encoder_refuses_invalid_updates() {
    assert_eq!(
        try_encode(&with_client(|c| c.duid = Box::new([]))),
        invalid("duid")
    );
    assert_eq!(
        try_encode(&with_client(|c| c.duid = vec![1; MAX_DUID_LEN + 1].into())),
        invalid("duid")
    );
    assert_eq!(try_encode(&with_client(|c| c.ias.clear())), invalid("ias"));
    assert_eq!(
        try_encode(&with_client(|c| c.ias[0].items.clear())),
        invalid("items")
    );
    let many_ias = with_client(|c| {
        let ia = c.ias[1].clone();
        c.ias = vec![ia; MAX_IAS_PER_UPDATE + 1];
    });
    assert_eq!(try_encode(&many_ias), invalid("ias"));
    let many_items = with_client(|c| {
        let item = c.ias[1].items[0];
        c.ias[1].items = vec![item; MAX_ITEMS_PER_UPDATE];
    });
    assert_eq!(try_encode(&many_items), invalid("items"));
    assert_eq!(
        try_encode(&with_client(|c| c.ias[0].items[0].prefix_len = 64)),
        invalid("prefix_len")
    );
    assert_eq!(
        try_encode(&with_client(|c| c.ias[1].items[0].prefix_len = 129)),
        invalid("prefix_len")
    );
    assert_eq!(
        try_encode(&with_client(
            |c| c.ias[0].items[0].state_expiration_time = None
        )),
        invalid("OPTION_F_STATE_EXPIRATION_TIME")
    );
    assert_eq!(
        try_encode(&with_client(|c| c.ias[0].items[0].partner_lifetime = None)),
        invalid("OPTION_F_PARTNER_LIFETIME")
    );
    assert_eq!(
        try_encode(&with_client(|c| c.ias[0].items[0].expiration_time = None)),
        invalid("OPTION_F_EXPIRATION_TIME")
    );
    assert_eq!(
        try_encode(&with_client(
            |c| c.ias[0].items[0].status = BindingStatus::Reset
        )),
        invalid("OPTION_F_STATE_EXPIRATION_TIME")
    );
    assert_eq!(
        try_encode(&with_client(|c| c.ias[0].items[0].clt_time = Some(t(1)))),
        invalid("clt_time")
    );
    assert!(try_encode(&with_client(|c| c.ias[0].items[0].clt_time = Some(t(0)))).is_ok());
    let prefix = |f: fn(&mut BindingItem)| {
        let mut u = prefix_update();
        if let BindingUpdate::Prefix { item, .. } = &mut u {
            f(item);
        }
        try_encode(&u)
    };
    assert_eq!(prefix(|i| i.clt_time = Some(t(0))), invalid("clt_time"));
    assert_eq!(
        prefix(|i| i.partner_raw_clt_time = Some(t(0))),
        invalid("partner_raw_clt_time")
    );
    assert_eq!(
        prefix(|i| *i = BindingItem {
            prefix_len: 56,
            clt_time: None,
            partner_raw_clt_time: None,
            ..addr_item()
        }),
        invalid("status")
    );
    assert_eq!(prefix(|i| i.prefix_len = 200), invalid("prefix_len"));
}

#[test]
fn encoder_needs_room_and_never_panics() {
    for update in [client_update(), prefix_update()] {
        let need = encoded_len(&update);
        for len in 0..need {
            let mut buf = vec![0u8; len];
            assert_eq!(
                encode_bndupd(&update, Xid::from_u32(1), t(0), &mut buf),
                Err(EncodeError::Wire(tandem_wire::Error::BufferTooSmall)),
                "len {len}"
            );
        }
    }
}

#[test]
fn reply_decode_errors() {
    let echo = [o(114, &[1]), o(134, &u32b(T0)), o(124, &u32b(T0))].concat();
    let good_reply = o(45, &[o(1, DUID), ia_na(&iaaddr(&echo))].concat());
    assert!(dec_reply(&good_reply).is_ok());
    let top = iaprefix(56, &o(114, &[5]));
    assert!(dec_reply(&top).is_ok());
    assert_eq!(
        dec_reply(&[good_reply.clone(), top.clone()].concat()),
        Err(PeerMisbehaved::BadOption(26))
    );
    assert_eq!(
        dec_reply(&[good_reply.clone(), good_reply.clone()].concat()),
        Err(PeerMisbehaved::BadOption(45))
    );
    // An accepted item must echo its binding-status; a rejected one need not.
    let no_status = o(45, &ia_na(&iaaddr(&o(134, &u32b(T0)))));
    assert_eq!(
        dec_reply(&no_status),
        Err(PeerMisbehaved::MissingOption(114))
    );
    let rejected = o(45, &ia_na(&iaaddr(&o(13, &[0, 19]))));
    assert!(dec_reply(&rejected).is_ok());
    let ia_rejected = o(45, &ia_na(&[o(13, &[0, 17, b'x']), iaaddr(&[])].concat()));
    let r = dec_reply(&ia_rejected).unwrap();
    assert_eq!(
        r.rejected_items().next().map(|i| i.status),
        Some(StatusCode::ConfigurationConflict)
    );
    assert_eq!(
        dec_reply(&o(45, &o(13, &[0]))),
        Err(PeerMisbehaved::BadOption(13))
    );
    assert_eq!(
        dec_reply(&o(45, &[o(13, &[0, 1]), o(13, &[0, 1])].concat())),
        Err(PeerMisbehaved::BadOption(13))
    );
    assert_eq!(
        dec_reply(&o(45, &o(1, &[1; MAX_DUID_LEN + 1]))),
        Err(PeerMisbehaved::BadOption(1))
    );
    assert_eq!(
        dec_reply(&iaprefix(56, &o(114, &[0]))),
        Err(PeerMisbehaved::UnknownBindingStatus(0))
    );
    assert_eq!(
        dec_reply(&iaprefix(56, &o(114, &[1, 1]))),
        Err(PeerMisbehaved::BadOption(114))
    );
    assert_eq!(
        dec_reply(&iaprefix(56, &o(124, &[1]))),
        Err(PeerMisbehaved::BadOption(124))
    );
    assert_eq!(
        dec_reply(&iaprefix(130, &o(114, &[5]))),
        Err(PeerMisbehaved::BadOption(26))
    );
    assert_eq!(
        dec_reply(&o(45, &o(3, &[0; 4]))),
        Err(PeerMisbehaved::BadOption(3))
    );
    let many_ias = o(45, &ia_pd(&[]).repeat(MAX_IAS_PER_UPDATE + 1));
    assert_eq!(dec_reply(&many_ias), Err(PeerMisbehaved::BadOption(45)));
    let many_items = o(45, &ia_na(&iaaddr(&echo).repeat(MAX_ITEMS_PER_UPDATE + 1)));
    assert_eq!(dec_reply(&many_items), Err(PeerMisbehaved::BadOption(45)));
    // Neither container: only a message-level status.
    let empty = dec_reply(&o(13, &[0, 18])).unwrap();
    assert_eq!(empty.container, ReplyContainer::Empty);
    assert_eq!(empty.status, Some(StatusCode::MissingBindingInformation));
    assert!(empty.has_rejection());
    assert_eq!(empty.key(), None);
}

#[test]
fn reply_encoder_refusals() {
    let echo = ItemEcho::of(&addr_item());
    let reply = |container| BindingReply {
        status: None,
        container,
    };
    let mut buf = [0u8; 1024];
    let mut enc = |r: &BindingReply| encode_bndreply(r, Xid::from_u32(1), t(0), &mut buf);
    let long = reply(ReplyContainer::Client {
        duid: vec![1; MAX_DUID_LEN + 1].into(),
        ias: Vec::new(),
    });
    assert_eq!(enc(&long), invalid("duid"));
    let na_64 = reply(ReplyContainer::Client {
        duid: DUID.into(),
        ias: vec![IaReply {
            kind: IaKind::Na,
            iaid: 1,
            t1_s: 0,
            t2_s: 0,
            status: None,
            items: vec![ItemReply {
                echo: ItemEcho {
                    prefix_len: 64,
                    ..echo
                },
                status: None,
            }],
        }],
    });
    assert_eq!(enc(&na_64), invalid("prefix_len"));
    let p = reply(ReplyContainer::Prefix(ItemEcho {
        prefix_len: 129,
        ..echo
    }));
    assert_eq!(enc(&p), invalid("prefix_len"));
    let fine = reply(ReplyContainer::Prefix(echo));
    let need = reply_encoded_len(&fine);
    for len in 0..need {
        let mut small = vec![0u8; len];
        assert!(encode_bndreply(&fine, Xid::from_u32(1), t(0), &mut small).is_err());
    }
}
