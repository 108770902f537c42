use super::*;
use crate::{Writer, Xid};

const LINK: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1);
const PEER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x42);

/// `depth` Relay-forw layers (outermost hop-count depth-1) around a Solicit.
fn nested(depth: usize, buf: &mut [u8]) -> usize {
    let mut w = Writer::new(buf);
    let mut marks = Vec::new();
    for level in 0..depth {
        let hop = u8::try_from(depth - 1 - level).unwrap();
        w.relay_header(MessageType::RelayForw, hop, LINK, PEER)
            .unwrap();
        w.option(OptionCode::InterfaceId, &[b'i', hop]).unwrap();
        marks.push(w.begin_option(OptionCode::RelayMsg).unwrap());
    }
    w.message_header(MessageType::Solicit, Xid([9, 8, 7]))
        .unwrap();
    w.empty_option(OptionCode::RapidCommit).unwrap();
    for m in marks.into_iter().rev() {
        w.end_option(m).unwrap();
    }
    w.finish()
}

#[test]
fn plain_message_has_empty_chain() {
    let mut buf = [0u8; 64];
    let n = nested(0, &mut buf);
    let (chain, msg) = unwrap_relays(&buf[..n]).unwrap();
    assert!(chain.is_empty());
    assert!(chain.innermost().is_none());
    assert_eq!(msg.msg_type(), MessageType::Solicit);
}

#[test]
fn peels_up_to_the_limit_and_rejects_one_more() {
    let mut buf = [0u8; 1024];
    for depth in 1..=MAX_RELAY_DEPTH {
        let n = nested(depth, &mut buf);
        let (chain, msg) = unwrap_relays(&buf[..n]).unwrap();
        assert_eq!(chain.len(), depth);
        assert_eq!(msg.xid(), Xid([9, 8, 7]));
        let hops: Vec<u8> = chain.hops().iter().map(|h| h.hop_count).collect();
        let expect: Vec<u8> = (0..depth).rev().map(|h| u8::try_from(h).unwrap()).collect();
        assert_eq!(hops, expect, "outermost first");
        let inner = chain.innermost().unwrap();
        assert_eq!(inner.interface_id, Some(&[b'i', 0][..]));
        assert_eq!((inner.link_address, inner.peer_address), (LINK, PEER));
    }
    let n = nested(MAX_RELAY_DEPTH + 1, &mut buf);
    assert_eq!(unwrap_relays(&buf[..n]).map(|_| ()), Err(Error::TooDeep));
}

#[test]
fn relay_errors() {
    let mut buf = [0u8; 128];
    let mut w = Writer::new(&mut buf);
    w.relay_header(MessageType::RelayForw, 0, LINK, PEER)
        .unwrap();
    w.option(OptionCode::InterfaceId, b"eth0").unwrap();
    let n = w.finish();
    assert_eq!(
        unwrap_relays(&buf[..n]).map(|_| ()),
        Err(Error::MissingRelayMessage)
    );
    assert_eq!(unwrap_relays(&buf[..20]).map(|_| ()), Err(Error::Truncated));
    assert_eq!(unwrap_relays(&[]).map(|_| ()), Err(Error::Truncated));

    let mut w = Writer::new(&mut buf);
    w.relay_header(MessageType::RelayForw, 0, LINK, PEER)
        .unwrap();
    let m = w.begin_option(OptionCode::RelayMsg).unwrap();
    w.relay_header(MessageType::RelayRepl, 0, LINK, PEER)
        .unwrap();
    w.end_option(m).unwrap();
    let n = w.finish();
    assert_eq!(
        unwrap_relays(&buf[..n]).map(|_| ()),
        Err(Error::NotAClientMessage)
    );

    let relay = RelayMessage::new_checked(&buf[..n]).unwrap();
    assert_eq!(relay.msg_type(), MessageType::RelayForw);
    assert_eq!(relay.relay_msg().map(<[u8]>::len), Some(34));
    assert_eq!(
        RelayMessage::new_checked(&buf[34 + 4..n])
            .unwrap()
            .msg_type(),
        MessageType::RelayRepl
    );
    assert_eq!(
        RelayMessage::new_checked(&[1; 40]),
        Err(Error::NotARelayMessage)
    );
}

#[test]
fn relay_view_fields() {
    let mut buf = [0u8; 64];
    let mut w = Writer::new(&mut buf);
    w.relay_header(MessageType::RelayForw, 3, LINK, PEER)
        .unwrap();
    let n = w.finish();
    let r = RelayMessage::new_checked(&buf[..n]).unwrap();
    assert_eq!(r.hop_count(), 3);
    assert_eq!(r.link_address(), LINK);
    assert_eq!(r.peer_address(), PEER);
    assert!(r.options().is_empty());
    assert_eq!(r.as_bytes().len(), 34);
    assert_eq!(r.relay_msg(), None);
}
