//! BNDUPD / BNDREPLY decoding and the receive rules (RFC 8156 §7.4–§7.7): the input is one
//! failover message without its length prefix. Whatever decodes as a BNDUPD must re-encode into
//! exactly `encoded_len` octets and decode to the same value; deciding it (as primary and as
//! secondary, with an empty store, one byte of the input choosing which resources are "ours")
//! and answering it must encode, and the answer must decode with one acked-or-rejected entry per
//! item. Any message gets a refusal that encodes. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_failover::binding::{
    decode_bndreply, decode_bndupd, encode_bndreply, encode_bndupd, encoded_len, receive_update,
    reject_reply, reply_encoded_len, reply_to,
};
use tandem_failover::{FoTime, Role};
use tandem_wire::failover::FailoverMessage;
use tandem_wire::{StatusCode, Xid};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = FailoverMessage::new_checked(data) else {
        return;
    };
    let xid = Xid([0, 0, 9]);
    let now = FoTime(800_000_000);
    let refusal = reject_reply(&msg, StatusCode::UnspecFail);
    let mut out = vec![0u8; reply_encoded_len(&refusal)];
    encode_bndreply(&refusal, xid, now, &mut out).expect("a refusal always encodes");
    if let Ok(reply) = decode_bndreply(&msg) {
        let _ = (reply.key(), reply.has_rejection());
        let counted = reply.acked_items().count() + reply.rejected_items().count();
        assert!(counted <= reply.items().count() + 1);
    }
    let Ok(update) = decode_bndupd(&msg) else {
        return;
    };
    let mut buf = vec![0u8; encoded_len(&update)];
    let n = encode_bndupd(&update, xid, now, &mut buf).expect("a decoded update re-encodes");
    assert_eq!(n, buf.len(), "encoded_len is exact");
    let again = FailoverMessage::new_checked(&buf[2..]).expect("our own message parses");
    assert_eq!(decode_bndupd(&again).expect("and decodes"), update);
    let mask = data.last().copied().unwrap_or(0);
    for role in [Role::Primary, Role::Secondary] {
        let outcomes = receive_update(
            role,
            now,
            &update,
            |addr, _| addr.octets()[15] & mask == 0,
            |_, _| None,
        );
        assert_eq!(outcomes.items.len(), update.item_count());
        let Ok(reply) = reply_to(&update, &outcomes) else {
            continue;
        };
        let mut out = vec![0u8; reply_encoded_len(&reply)];
        let n = encode_bndreply(&reply, xid, now, &mut out).expect("a reply encodes");
        let m = FailoverMessage::new_checked(&out[2..n]).expect("our reply parses");
        let back = decode_bndreply(&m).expect("our reply decodes");
        let answered = back.acked_items().count() + back.rejected_items().count();
        assert_eq!(answered, update.item_count());
    }
});
