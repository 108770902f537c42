use std::net::Ipv6Addr;

use proptest::collection::vec;
use proptest::prelude::*;
use tandem_wire::{
    unwrap_relays, validate_options, IaAddr, IaNa, IaPd, IaPrefix, IaTa, MessageType, OptionCode,
    Options, PacketRepr, Writer, Xid, MAX_RELAY_DEPTH,
};

/// A generated option: a leaf with raw data, or an IA-style option with its fixed part and
/// children.
#[derive(Debug, Clone)]
enum GenOpt {
    Leaf {
        code: u16,
        data: Vec<u8>,
    },
    Nested {
        code: u16,
        fixed: Vec<u8>,
        children: Vec<Self>,
    },
}

#[derive(Debug, Clone)]
struct GenRelay {
    msg_type: u8,
    hop_count: u8,
    link: [u8; 16],
    peer: [u8; 16],
    before: Vec<GenOpt>,
    after: Vec<GenOpt>,
}

#[derive(Debug, Clone)]
struct GenPacket {
    relays: Vec<GenRelay>,
    msg_type: u8,
    xid: [u8; 3],
    options: Vec<GenOpt>,
}

/// Fixed-part length of the IA-style options, RFC 8415 §21.4–§21.6, §21.21, §21.22.
fn fixed_len(code: u16) -> usize {
    match code {
        3 | 25 => 12,
        4 => 4,
        5 => 24,
        _ => 25,
    }
}

fn leaf() -> impl Strategy<Value = GenOpt> {
    // Code 9 (RELAY_MSG) is excluded so the relay layer's own RELAY_MSG is the first one.
    (
        any::<u16>().prop_filter("not RELAY_MSG", |c| *c != 9),
        vec(any::<u8>(), 0..12),
    )
        .prop_map(|(code, data)| GenOpt::Leaf { code, data })
}

fn option() -> impl Strategy<Value = GenOpt> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![3u16..=5, Just(25u16), Just(26u16)].prop_flat_map(move |code| {
            (vec(any::<u8>(), fixed_len(code)), vec(inner.clone(), 0..4)).prop_map(
                move |(fixed, children)| GenOpt::Nested {
                    code,
                    fixed,
                    children,
                },
            )
        })
    })
}

fn relay() -> impl Strategy<Value = GenRelay> {
    (
        12u8..=13,
        any::<u8>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        vec(option(), 0..3),
        vec(option(), 0..3),
    )
        .prop_map(
            |(msg_type, hop_count, link, peer, before, after)| GenRelay {
                msg_type,
                hop_count,
                link,
                peer,
                before,
                after,
            },
        )
}

fn packet() -> impl Strategy<Value = GenPacket> {
    let msg_type = any::<u8>().prop_filter("not a relay type", |t| *t != 12 && *t != 13);
    (
        vec(relay(), 0..=MAX_RELAY_DEPTH),
        msg_type,
        any::<[u8; 3]>(),
        vec(option(), 0..6),
    )
        .prop_map(|(relays, msg_type, xid, options)| GenPacket {
            relays,
            msg_type,
            xid,
            options,
        })
}

fn emit_opt(w: &mut Writer<'_>, opt: &GenOpt) {
    match opt {
        GenOpt::Leaf { code, data } => w.option(OptionCode::from(*code), data).unwrap(),
        GenOpt::Nested {
            code,
            fixed,
            children,
        } => {
            let m = w.begin_option(OptionCode::from(*code)).unwrap();
            w.bytes(fixed).unwrap();
            for c in children {
                emit_opt(w, c);
            }
            w.end_option(m).unwrap();
        }
    }
}

/// Emits the generated packet with plain Writer calls, inside out.
fn emit_packet(p: &GenPacket) -> Vec<u8> {
    let mut buf = vec![0u8; 65_536];
    let mut w = Writer::new(&mut buf);
    w.message_header(MessageType::from(p.msg_type), Xid(p.xid))
        .unwrap();
    p.options.iter().for_each(|o| emit_opt(&mut w, o));
    let n = w.finish();
    let mut inner = buf[..n].to_vec();
    for r in p.relays.iter().rev() {
        let mut w = Writer::new(&mut buf);
        let t = MessageType::from(r.msg_type);
        w.relay_header(
            t,
            r.hop_count,
            Ipv6Addr::from(r.link),
            Ipv6Addr::from(r.peer),
        )
        .unwrap();
        r.before.iter().for_each(|o| emit_opt(&mut w, o));
        w.option(OptionCode::RelayMsg, &inner).unwrap();
        r.after.iter().for_each(|o| emit_opt(&mut w, o));
        let n = w.finish();
        inner = buf[..n].to_vec();
    }
    inner
}

/// Walks the parsed option area against the generated tree through the typed IA views.
fn compare(parsed: Options<'_>, expect: &[GenOpt]) {
    let got: Vec<_> = parsed.iter().collect();
    assert_eq!(got.len(), expect.len());
    for (raw, gen) in got.iter().zip(expect) {
        match gen {
            GenOpt::Leaf { code, data } => {
                assert_eq!(u16::from(raw.code), *code);
                assert_eq!(raw.data, &data[..]);
            }
            GenOpt::Nested {
                code,
                fixed,
                children,
            } => {
                assert_eq!(u16::from(raw.code), *code);
                assert_eq!(&raw.data[..fixed.len()], &fixed[..]);
                let sub = match raw.code {
                    OptionCode::IaNa => IaNa::parse(raw.data).unwrap().options(),
                    OptionCode::IaTa => IaTa::parse(raw.data).unwrap().options(),
                    OptionCode::IaAddr => IaAddr::parse(raw.data).unwrap().options(),
                    OptionCode::IaPd => IaPd::parse(raw.data).unwrap().options(),
                    OptionCode::IaPrefix => IaPrefix::parse(raw.data).unwrap().options(),
                    other => panic!("unexpected nested code {other:?}"),
                };
                compare(sub, children);
            }
        }
    }
}

/// parse → emit must reproduce the input exactly whenever parse succeeds.
fn assert_reemits(bytes: &[u8]) -> Option<PacketRepr<'_>> {
    let repr = PacketRepr::parse(bytes).ok()?;
    assert_eq!(repr.buffer_len(), bytes.len());
    let mut out = vec![0u8; bytes.len()];
    assert_eq!(repr.emit(&mut out), Ok(bytes.len()));
    assert_eq!(out, bytes);
    Some(repr)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn structured_packets_round_trip(p in packet()) {
        let bytes = emit_packet(&p);
        let repr = assert_reemits(&bytes).expect("generated packet parses");
        prop_assert_eq!(repr.relays().len(), p.relays.len());
        for (parsed, gen) in repr.relays().iter().zip(&p.relays) {
            prop_assert_eq!(u8::from(parsed.msg_type), gen.msg_type);
            prop_assert_eq!(parsed.hop_count, gen.hop_count);
            prop_assert_eq!(parsed.link_address, Ipv6Addr::from(gen.link));
            prop_assert_eq!(parsed.peer_address, Ipv6Addr::from(gen.peer));
        }
        prop_assert_eq!(u8::from(repr.message.msg_type), p.msg_type);
        prop_assert_eq!(repr.message.xid, Xid(p.xid));
        compare(repr.message.options, &p.options);

        let all_forw = p.relays.iter().all(|r| r.msg_type == 12);
        match unwrap_relays(&bytes) {
            Ok((chain, msg)) => {
                prop_assert!(all_forw);
                prop_assert_eq!(chain.len(), p.relays.len());
                compare(msg.options(), &p.options);
                for (hop, gen) in chain.hops().iter().zip(&p.relays) {
                    prop_assert_eq!(hop.hop_count, gen.hop_count);
                    prop_assert_eq!(hop.interface_id.is_some(),
                        gen.before.iter().any(|o| matches!(o, GenOpt::Leaf { code: 18, .. })));
                }
            }
            Err(e) => {
                prop_assert!(!all_forw, "{e:?}");
                prop_assert_eq!(e, tandem_wire::Error::NotAClientMessage);
            }
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..300)) {
        assert_reemits(&bytes);
        if let Ok((chain, msg)) = unwrap_relays(&bytes) {
            let _ = validate_options(msg.options());
            for hop in chain.hops() {
                let _ = validate_options(hop.options);
            }
        }
        if let Ok(opts) = Options::new_checked(&bytes) {
            let _ = validate_options(opts);
            prop_assert_eq!(opts.iter().map(|o| 4 + o.data.len()).sum::<usize>(), bytes.len());
        }
    }

    #[test]
    fn mutated_golden_messages_reemit_or_fail_cleanly(
        idx in 0usize..10,
        flips in vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let mut bytes = GOLDEN[idx].to_vec();
        for (at, v) in flips {
            let len = bytes.len();
            bytes[at % len] = v;
        }
        let cut_at = cut % (bytes.len() + 1);
        bytes.truncate(cut_at.max(bytes.len() / 2));
        assert_reemits(&bytes);
        let _ = unwrap_relays(&bytes);
    }
}

/// Seeds for the mutation test, the same files as the fuzz corpus.
const GOLDEN: [&[u8]; 10] = [
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/solicit"),
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/relay_forw_solicit"),
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/request"),
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/renew"),
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/rebind"),
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/release"),
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/decline"),
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/confirm"),
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/information_request"),
    include_bytes!("../../../../fuzz/corpus/wire_roundtrip/nested_relay_solicit"),
];
