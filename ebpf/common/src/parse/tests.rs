//! Host tests of the shared parser (testing.md item 27).
extern crate std;

use std::{format, vec, vec::Vec};

use proptest::prelude::*;

use super::*;
use crate::maps::RateState;
use crate::{shard_hash, shard_of};

const SOLICIT: u8 = 1;
const RELAY_REPL: u8 = 13;

fn option(code: u16, body: &[u8]) -> Vec<u8> {
    let mut o = code.to_be_bytes().to_vec();
    o.extend_from_slice(&(body.len() as u16).to_be_bytes());
    o.extend_from_slice(body);
    o
}

fn message(msg_type: u8, options: &[Vec<u8>]) -> Vec<u8> {
    let mut m = vec![msg_type, 0x12, 0x34, 0x56];
    options.iter().for_each(|o| m.extend_from_slice(o));
    m
}

/// A Relay-forward around `inner`, with `before` / `after` options around its Relay Message.
fn relay(inner: &[u8], before: &[Vec<u8>], after: &[Vec<u8>], hops: u8) -> Vec<u8> {
    let mut m = vec![RELAY_FORW, hops];
    m.extend_from_slice(&[0x20; 16]);
    m.extend_from_slice(&[0xfe; 16]);
    before.iter().for_each(|o| m.extend_from_slice(o));
    m.extend(option(OPTION_RELAY_MSG, inner));
    after.iter().for_each(|o| m.extend_from_slice(o));
    m
}

fn relayed(client: &[u8], depth: usize) -> Vec<u8> {
    let mut m = client.to_vec();
    for hop in 0..depth {
        m = relay(
            &m,
            &[option(18, b"eth0")],
            &[option(37, &[0, 0, 0, 9, 1])],
            hop as u8,
        );
    }
    m
}

fn duid_llt(n: u8) -> Vec<u8> {
    vec![
        0, 1, 0, 1, 0x2a, 0x3b, 0x4c, n, 0, 0x16, 0x3e, 0x11, 0x22, n,
    ]
}

fn solicit(duid: &[u8]) -> Vec<u8> {
    message(
        SOLICIT,
        &[option(8, &[0, 0]), option(1, duid), option(6, &[0, 23])],
    )
}

/// How to wrap a DHCPv6 payload into a frame.
#[derive(Clone)]
struct Wrap {
    tags: Vec<u16>,
    ext: Vec<(u8, usize)>,
    dst_port: u16,
    checksum: [u8; 2],
}

impl Default for Wrap {
    fn default() -> Self {
        Self {
            tags: vec![],
            ext: vec![],
            dst_port: 547,
            checksum: [0x5a, 0xa5],
        }
    }
}

const SRC: [u8; 16] = [
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 2, 0x16, 0x3e, 0xff, 0xfe, 0, 0, 1,
];

/// Ethernet (+ tags) / IPv6 (+ extension headers: (type, 8-octet units after the first))
/// / UDP / `payload`.
fn frame(payload: &[u8], w: &Wrap) -> Vec<u8> {
    let mut f = vec![0x33, 0x33, 0, 1, 0, 2, 2, 0x16, 0x3e, 0, 0, 1];
    for &tpid in &w.tags {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&[0, 42]);
    }
    f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    let mut ext = Vec::new();
    for (i, &(_, units)) in w.ext.iter().enumerate() {
        let next = w.ext.get(i + 1).map_or(NEXT_UDP, |e| e.0);
        let mut h = vec![next, units as u8];
        h.resize(8 * (units + 1), 0);
        ext.extend(h);
    }
    let first = w.ext.first().map_or(NEXT_UDP, |e| e.0);
    let udp_len = (UDP_HLEN + payload.len()) as u16;
    let ip_payload = ext.len() as u16 + udp_len;
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&ip_payload.to_be_bytes());
    f.extend_from_slice(&[first, 1]);
    f.extend_from_slice(&SRC);
    f.extend_from_slice(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
    f.extend(ext);
    f.extend_from_slice(&546u16.to_be_bytes());
    f.extend_from_slice(&w.dst_port.to_be_bytes());
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&w.checksum);
    f.extend_from_slice(payload);
    f
}

/// The frame-level and DHCPv6-level verdicts the XDP program would reach.
fn steer(f: &[u8]) -> Result<Verdict, Frame> {
    match parse_frame(f, 547) {
        Frame::Dhcpv6(d) => {
            assert_eq!(d.src, SRC);
            Ok(find_duid(f, d.payload_start, d.payload_end))
        }
        other => Err(other),
    }
}

fn assert_duid(f: &[u8], duid: &[u8]) {
    let Ok(Verdict::Duid { offset, len }) = steer(f) else {
        panic!("no DUID: {:?}", steer(f));
    };
    assert_eq!(&f[offset..offset + len], duid);
    for shards in [1, 2, 3, 8, 64] {
        assert_eq!(
            duid_shard(f, offset, len, shards),
            Some(shard_of(duid, shards))
        );
    }
}

#[test]
fn direct_relayed_tagged_and_extended_frames_yield_the_client_duid() {
    let d = duid_llt(1);
    let walls = [
        Wrap::default(),
        Wrap {
            tags: vec![ETHERTYPE_VLAN],
            ..Wrap::default()
        },
        Wrap {
            tags: vec![ETHERTYPE_QINQ, ETHERTYPE_VLAN],
            ..Wrap::default()
        },
        Wrap {
            ext: vec![(NEXT_HOP_BY_HOP, 0)],
            ..Wrap::default()
        },
        Wrap {
            ext: vec![(NEXT_HOP_BY_HOP, 1), (NEXT_ROUTING, 2), (NEXT_DEST_OPTS, 0)],
            tags: vec![ETHERTYPE_VLAN],
            ..Wrap::default()
        },
        Wrap {
            ext: vec![(NEXT_DEST_OPTS, 0); EXT_HEADERS_MAX],
            ..Wrap::default()
        },
        // Checksums are the kernel's business: zero and wrong ones steer the same.
        Wrap {
            checksum: [0, 0],
            ..Wrap::default()
        },
        Wrap {
            checksum: [0xde, 0xad],
            ..Wrap::default()
        },
    ];
    for w in &walls {
        for depth in 0..=RELAY_DEPTH_MAX {
            assert_duid(&frame(&relayed(&solicit(&d), depth), w), &d);
        }
    }
}

#[test]
fn every_client_message_type_yields_its_duid() {
    let d = duid_llt(2);
    for t in [1, 3, 4, 5, 6, 8, 9, 11] {
        assert_duid(&frame(&message(t, &[option(1, &d)]), &Wrap::default()), &d);
    }
}

#[test]
fn what_the_walk_cannot_decide_passes() {
    let d = duid_llt(3);
    let deep = frame(
        &relayed(&solicit(&d), RELAY_DEPTH_MAX + 1),
        &Wrap::default(),
    );
    assert_eq!(steer(&deep), Ok(Verdict::Unparsed));
    let too_many = Wrap {
        ext: vec![(NEXT_DEST_OPTS, 0); EXT_HEADERS_MAX + 1],
        ..Wrap::default()
    };
    assert_eq!(steer(&frame(&solicit(&d), &too_many)), Err(Frame::Unparsed));
    let fragment = Wrap {
        ext: vec![(NEXT_FRAGMENT, 0)],
        ..Wrap::default()
    };
    assert_eq!(steer(&frame(&solicit(&d), &fragment)), Err(Frame::Unparsed));
    let late = Wrap {
        ext: vec![(NEXT_HOP_BY_HOP, 0), (NEXT_FRAGMENT, 0)],
        ..Wrap::default()
    };
    assert_eq!(steer(&frame(&solicit(&d), &late)), Err(Frame::Unparsed));
    let mut options = vec![option(39, b"host"); CLIENT_OPTIONS_MAX];
    options.push(option(1, &d));
    assert_eq!(
        steer(&frame(&message(SOLICIT, &options), &Wrap::default())),
        Ok(Verdict::Unparsed)
    );
    let crowded = relay(
        &solicit(&d),
        &vec![option(18, b"x"); RELAY_OPTIONS_MAX],
        &[],
        0,
    );
    assert_eq!(
        steer(&frame(&crowded, &Wrap::default())),
        Ok(Verdict::Unparsed)
    );
    // A datagram longer than the frame (truncated capture, multi-buffer) and a jumbogram.
    let mut short = frame(&solicit(&d), &Wrap::default());
    short.truncate(short.len() - 1);
    assert_eq!(steer(&short), Err(Frame::Unparsed));
    let mut jumbo = frame(&solicit(&d), &Wrap::default());
    jumbo[ETH_HLEN + IPV6_HLEN + 4..][..2].copy_from_slice(&[0, 0]);
    assert_eq!(steer(&jumbo), Err(Frame::Unparsed));
}

#[test]
fn the_duid_is_found_at_the_end_of_many_options_and_in_jumbo_frames() {
    let d = duid_llt(4);
    let mut options = vec![option(39, b"host"); CLIENT_OPTIONS_MAX - 1];
    options.push(option(1, &d));
    assert_duid(&frame(&message(SOLICIT, &options), &Wrap::default()), &d);
    // A 9000-octet frame: a large vendor option first, the DUID last, relayed twice.
    let vendor = option(17, &[0xab; 8800]);
    let client = message(SOLICIT, &[vendor, option(1, &d)]);
    let f = frame(
        &relayed(&client, 2),
        &Wrap {
            tags: vec![ETHERTYPE_VLAN],
            ..Wrap::default()
        },
    );
    assert!(f.len() > 8900);
    assert_duid(&f, &d);
    // The longest DUID RFC 8415 allows, and a longer one (hashed on its first 130 octets).
    for n in [DUID_LEN_MAX, DUID_LEN_MAX + 70] {
        let long: Vec<u8> = (0..n).map(|i| i as u8).collect();
        assert_duid(&frame(&solicit(&long), &Wrap::default()), &long);
    }
}

#[test]
fn other_traffic_is_other() {
    let d = duid_llt(5);
    for port in [546, 548, 53, 0] {
        let w = Wrap {
            dst_port: port,
            ..Wrap::default()
        };
        assert_eq!(steer(&frame(&solicit(&d), &w)), Err(Frame::Other));
    }
    let mut ipv4 = frame(&solicit(&d), &Wrap::default());
    ipv4[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    assert_eq!(steer(&ipv4), Err(Frame::Other));
    let mut tcp = frame(&solicit(&d), &Wrap::default());
    tcp[ETH_HLEN + 6] = 6;
    assert_eq!(steer(&tcp), Err(Frame::Other));
    let three = Wrap {
        tags: vec![ETHERTYPE_QINQ, ETHERTYPE_VLAN, ETHERTYPE_VLAN],
        ..Wrap::default()
    };
    assert_eq!(steer(&frame(&solicit(&d), &three)), Err(Frame::Other));
    let mut not_v6 = frame(&solicit(&d), &Wrap::default());
    not_v6[ETH_HLEN] = 0x45;
    assert_eq!(steer(&not_v6), Err(Frame::Other));
    // Frames cut inside the Ethernet or IPv6 header are not ours either.
    let f = frame(&solicit(&d), &Wrap::default());
    for cut in 0..ETH_HLEN + IPV6_HLEN {
        assert_eq!(steer(&f[..cut]), Err(Frame::Other), "cut at {cut}");
    }
}

#[test]
fn messages_without_a_duid_are_no_duid() {
    let d = duid_llt(6);
    let cases = [
        message(RELAY_REPL, &[option(9, &solicit(&d))]),
        message(11, &[option(6, &[0, 23])]),
        message(SOLICIT, &[]),
        message(SOLICIT, &[option(1, &[])]),
        message(0, &[option(1, &d)]),
        message(20, &[option(1, &d)]),
        message(255, &[]),
        relay(&solicit(&d), &[], &[], 0)[..RELAY_HLEN].to_vec(),
        relay(&message(RELAY_REPL, &[]), &[], &[], 0),
        // Server messages carry the client's DUID too but are not steered by it.
        message(2, &[option(1, &d)]),
        message(7, &[option(1, &d)]),
    ];
    for m in &cases {
        assert_eq!(
            steer(&frame(m, &Wrap::default())),
            Ok(Verdict::NoDuid),
            "{m:?}"
        );
    }
}

#[test]
fn malformed_only_when_something_runs_past_its_container() {
    let d = duid_llt(7);
    assert_eq!(steer(&frame(&[], &Wrap::default())), Ok(Verdict::Malformed));
    let client = solicit(&d);
    // Every cut of the client message: inside a header or an option body before the DUID
    // is complete it is Malformed; exactly between options it is NoDuid; once the DUID is
    // complete the DUID counts (later options are the software path's business).
    let duid_end = 4 + 6 + 4 + d.len();
    for cut in 0..client.len() {
        let v = steer(&frame(&client[..cut], &Wrap::default())).unwrap();
        let want = match cut {
            0..=3 => Verdict::Malformed,
            4 | 10 => Verdict::NoDuid,
            c if c >= duid_end => Verdict::Duid { offset: 0, len: 0 },
            _ => Verdict::Malformed,
        };
        match (v, want) {
            (Verdict::Duid { len, .. }, Verdict::Duid { .. }) => assert_eq!(len, d.len()),
            _ => assert_eq!(v, want, "cut at {cut}"),
        }
    }
    // Cut inside a relay header, and an inner option running past its Relay Message.
    let r = relayed(&client, 1);
    assert_eq!(
        steer(&frame(&r[..20], &Wrap::default())),
        Ok(Verdict::Malformed)
    );
    let mut lying = relayed(&client, 1);
    // relay header (34), Interface-ID (4 + 4), then the Relay Message's length field.
    lying[RELAY_HLEN + 8 + 2] = 0xff;
    let lying = relayed(&lying, 2);
    assert_eq!(
        steer(&frame(&lying, &Wrap::default())),
        Ok(Verdict::Malformed)
    );
    let mut past = solicit(&d);
    past[4 + 6 + 3] = 200; // the Client ID option claims more than the message holds
    assert_eq!(
        steer(&frame(&past, &Wrap::default())),
        Ok(Verdict::Malformed)
    );
    let empty_relay_msg = relay(&[], &[], &[], 0);
    assert_eq!(
        steer(&frame(&empty_relay_msg, &Wrap::default())),
        Ok(Verdict::Malformed)
    );
}

#[test]
fn socket_programs_see_the_udp_header_first() {
    let d = duid_llt(8);
    let f = frame(&relayed(&solicit(&d), 2), &Wrap::default());
    let udp = &f[ETH_HLEN + IPV6_HLEN..];
    let (start, end) = udp_payload(udp).unwrap();
    assert_eq!((start, end), (UDP_HLEN, udp.len()));
    let Verdict::Duid { offset, len } = find_duid(udp, start, end) else {
        panic!()
    };
    assert_eq!(&udp[offset..offset + len], &d[..]);
    assert_eq!(
        udp_payload(&udp[UDP_HLEN..]),
        None,
        "payload-first data is refused"
    );
    assert_eq!(udp_payload(&udp[..udp.len() - 1]), None);
    assert_eq!(udp_payload(&udp[..3]), None);
}

#[test]
fn find_duid_rejects_ranges_outside_the_packet() {
    let m = solicit(&duid_llt(9));
    assert_eq!(find_duid(&m[..], 0, m.len() + 1), Verdict::Malformed);
    assert_eq!(find_duid(&m[..], 5, 4), Verdict::Malformed);
    let big = vec![0u8; OFFSET_LIMIT + 10];
    assert_eq!(find_duid(&big[..], 0, big.len()), Verdict::Unparsed);
}

#[test]
fn token_bucket_refills_one_second_worth() {
    let s0 = 5_000_000_000;
    let mut st = first_token(s0, 3);
    assert_eq!(
        st,
        RateState {
            last_ns: s0,
            tokens: 2,
            pad: 0
        }
    );
    assert!(take_token(&mut st, s0, 3));
    assert!(take_token(&mut st, s0, 3));
    assert!(
        !take_token(&mut st, s0, 3),
        "a fourth within the same instant"
    );
    // A third of a second earns one token at 3/s; the fraction is kept.
    assert!(take_token(&mut st, s0 + 333_333_334, 3));
    assert!(!take_token(&mut st, s0 + 400_000_000, 3));
    assert!(take_token(&mut st, s0 + 666_666_667, 3));
    // A long silence fills the bucket to one second's worth, not more.
    let later = s0 + 60_000_000_000;
    assert!((0..3).all(|_| take_token(&mut st, later, 3)));
    assert!(!take_token(&mut st, later, 3));
    // A clock going backwards refills nothing.
    assert!(!take_token(&mut st, s0, 3));
    assert_eq!(first_token(0, 0).tokens, 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_and_stay_in_bounds(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        port in prop_oneof![Just(547u16), any::<u16>()],
    ) {
        let _ = parse_frame(&bytes[..], port);
        let _ = udp_payload(&bytes[..]);
        let len = bytes.len();
        for start in [0, 1, 4, len / 2] {
            if let Verdict::Duid { offset, len: n } = find_duid(&bytes[..], start.min(len), len) {
                prop_assert!(n > 0 && offset + n <= len);
                prop_assert!(duid_hash(&bytes[..], offset, n).is_some());
            }
        }
    }

    #[test]
    fn random_tails_after_a_valid_frame_prefix_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..300),
        tags in 0usize..=2,
    ) {
        let w = Wrap { tags: vec![ETHERTYPE_VLAN; tags], ..Wrap::default() };
        let mut f = frame(&tail, &w);
        // A DHCPv6-looking payload: a Relay-forward or Solicit type first.
        if let Some(first) = f.get_mut(ETH_HLEN + 4 * tags + IPV6_HLEN + UDP_HLEN) {
            *first = if tail.len() % 2 == 0 { RELAY_FORW } else { SOLICIT };
        }
        let _ = steer(&f);
    }

    #[test]
    fn valid_messages_always_yield_their_duid(
        duid in proptest::collection::vec(any::<u8>(), 1..200),
        others in proptest::collection::vec(
            (2u16..200, proptest::collection::vec(any::<u8>(), 0..40)), 0..12),
        client_id_at in 0usize..12,
        msg_type in prop::sample::select(vec![1u8, 3, 4, 5, 6, 8, 9, 11]),
        depth in 0usize..=RELAY_DEPTH_MAX,
        relay_options in proptest::collection::vec(
            (10u16..100, proptest::collection::vec(any::<u8>(), 0..20)), 0..4),
        tags in 0usize..=2,
        ext in 0usize..=3,
        shards in 1u32..300,
    ) {
        let mut options: Vec<Vec<u8>> = others
            .iter()
            .filter(|(c, _)| *c != OPTION_CLIENTID)
            .map(|(c, b)| option(*c, b))
            .collect();
        options.insert(client_id_at.min(options.len()), option(1, &duid));
        let mut m = message(msg_type, &options);
        let before: Vec<Vec<u8>> = relay_options
            .iter()
            .filter(|(c, _)| *c != OPTION_RELAY_MSG)
            .map(|(c, b)| option(*c, b))
            .collect();
        for hop in 0..depth {
            m = relay(&m, &before, &before[..before.len() / 2], hop as u8);
        }
        let w = Wrap {
            tags: vec![ETHERTYPE_VLAN; tags],
            ext: vec![(NEXT_DEST_OPTS, 1); ext],
            ..Wrap::default()
        };
        let f = frame(&m, &w);
        let Ok(Verdict::Duid { offset, len }) = steer(&f) else {
            return Err(TestCaseError::fail(format!("{:?}", steer(&f))));
        };
        prop_assert_eq!(&f[offset..offset + len], &duid[..]);
        prop_assert_eq!(duid_shard(&f[..], offset, len, shards), Some(shard_of(&duid, shards)));
    }

    #[test]
    fn duid_hash_is_shard_hash(
        prefix in proptest::collection::vec(any::<u8>(), 0..20),
        duid in proptest::collection::vec(any::<u8>(), 1..300),
    ) {
        let mut pkt = prefix.clone();
        pkt.extend_from_slice(&duid);
        prop_assert_eq!(
            duid_hash(&pkt[..], prefix.len(), duid.len()),
            Some(shard_hash(&duid))
        );
        if duid.len() < DUID_LEN_MAX {
            prop_assert_eq!(duid_hash(&pkt[..], prefix.len(), duid.len() + 1), None);
        }
    }
}
