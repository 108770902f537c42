use proptest::prelude::*;

use super::*;

fn lease(i: u32, duid_len: usize) -> Lease {
    Lease {
        resource: Resource::address(Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i))),
        duid: vec![i as u8; duid_len].into(),
        iaid: i,
        subnet_id: 7,
        preferred_s: 300,
        valid_s: 600,
        cltt: 1_700_000_000 + u64::from(i),
        expires_at: 1_700_000_600 + u64::from(i),
        state: LeaseState::Bound,
        fo: FoData {
            tell_partner: i & 1 == 0,
            start_time_of_state: 1_700_000_000,
            partner_lifetime: 1_700_090_000 + u64::from(i),
            acked_partner_lifetime: u64::from(i),
            expiration_time: 0,
            partner_raw_clt_time: i,
            t1_s: 150,
            t2_s: 240,
        },
    }
}

fn stream(n: u32) -> (Vec<LeaseChange>, Vec<u8>, Vec<usize>) {
    let mut changes = Vec::new();
    let mut buf = Vec::new();
    let mut ends = Vec::new();
    for i in 0..n {
        let c = if i % 3 == 2 {
            LeaseChange::Remove(lease(i, 1).resource)
        } else {
            LeaseChange::Upsert(lease(i, 1 + (i as usize * 37) % 130))
        };
        encode(&c, &mut buf);
        ends.push(buf.len());
        changes.push(c);
    }
    (changes, buf, ends)
}

fn arb_change() -> impl Strategy<Value = LeaseChange> {
    let res = (any::<bool>(), any::<u128>(), 0u8..=128).prop_map(|(pd, a, l)| Resource {
        kind: if pd { LeaseKind::Pd } else { LeaseKind::Na },
        addr: Ipv6Addr::from(a),
        prefix_len: l,
    });
    let state = prop_oneof![
        Just(LeaseState::Bound),
        Just(LeaseState::Declined),
        Just(LeaseState::Released),
        Just(LeaseState::Expired)
    ];
    let fo =
        (any::<bool>(), any::<[u64; 4]>(), any::<[u32; 3]>()).prop_map(|(tell, t, u)| FoData {
            tell_partner: tell,
            start_time_of_state: t[0],
            partner_lifetime: t[1],
            acked_partner_lifetime: t[2],
            expiration_time: t[3],
            partner_raw_clt_time: u[0],
            t1_s: u[1],
            t2_s: u[2],
        });
    let l = (
        res.clone(),
        proptest::collection::vec(any::<u8>(), 0..=130),
        any::<[u32; 4]>(),
        any::<u64>(),
        any::<u64>(),
        state,
        fo,
    )
        .prop_map(|(resource, duid, v, cltt, expires_at, state, fo)| Lease {
            resource,
            duid: duid.into(),
            iaid: v[0],
            subnet_id: v[1],
            preferred_s: v[2],
            valid_s: v[3],
            cltt,
            expires_at,
            state,
            fo,
        });
    prop_oneof![
        l.prop_map(LeaseChange::Upsert),
        res.prop_map(LeaseChange::Remove)
    ]
}

proptest! {
    #[test]
    fn round_trip_random_changes(changes in proptest::collection::vec(arb_change(), 0..20)) {
        let mut buf = Vec::new();
        for c in &changes {
            encode(c, &mut buf);
        }
        let back: Vec<_> = read(&buf).collect();
        prop_assert_eq!(back, changes.into_iter().map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut total = 0;
        for item in read(&bytes) {
            if let Err(s) = item { total += s.len; }
        }
        prop_assert!(total <= bytes.len());
        let _ = decode_snapshot_header(&bytes);
    }
}

#[test]
fn torn_tail_at_every_cut_point() {
    let (changes, buf, ends) = stream(6);
    for cut in 0..=buf.len() {
        let items: Vec<_> = read(&buf[..cut]).collect();
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        let good: Vec<_> = items
            .iter()
            .filter_map(|i| i.as_ref().ok().cloned())
            .collect();
        assert_eq!(good, changes[..whole], "cut {cut}");
        let skipped: Vec<_> = items
            .iter()
            .filter_map(|i| i.as_ref().err().copied())
            .collect();
        let boundary = cut == 0 || ends.contains(&cut);
        if boundary {
            assert!(skipped.is_empty(), "cut {cut}: {skipped:?}");
        } else {
            let start = if whole == 0 { 0 } else { ends[whole - 1] };
            assert_eq!(
                skipped,
                vec![Skipped {
                    offset: start,
                    len: cut - start,
                    why: SkipReason::Torn
                }],
                "cut {cut}"
            );
        }
    }
}

#[test]
fn corrupted_middle_record_is_skipped_and_neighbours_survive() {
    let (changes, buf, ends) = stream(5);
    for off in ends[1]..ends[2] {
        let mut b = buf.clone();
        b[off] ^= 0x5a;
        let items: Vec<_> = read(&b).collect();
        let good: Vec<_> = items
            .iter()
            .filter_map(|i| i.as_ref().ok().cloned())
            .collect();
        let mut want = changes.clone();
        want.remove(2);
        assert_eq!(good, want, "flipped byte {off}");
        let skipped: Vec<_> = items
            .iter()
            .filter_map(|i| i.as_ref().err().copied())
            .collect();
        assert_eq!(skipped.len(), 1, "flipped byte {off}");
        assert_eq!(
            (skipped[0].offset, skipped[0].len),
            (ends[1], ends[2] - ends[1])
        );
        assert_ne!(skipped[0].why, SkipReason::Torn);
    }
}

#[test]
fn garbage_between_records_is_reported_with_its_extent() {
    let (changes, buf, ends) = stream(2);
    let mut b = buf[..ends[0]].to_vec();
    b.extend_from_slice(b"TLJRxxgarbage");
    b.extend_from_slice(&buf[ends[0]..]);
    let items: Vec<_> = read(&b).collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0], Ok(changes[0].clone()));
    assert_eq!(
        items[1],
        Err(Skipped {
            offset: ends[0],
            len: 13,
            why: SkipReason::BadVersion
        })
    );
    assert_eq!(items[2], Ok(changes[1].clone()));
}

#[test]
fn impossible_length_is_skipped() {
    let (changes, mut buf, ends) = stream(2);
    buf[5..9].copy_from_slice(&0xffff_ffffu32.to_be_bytes());
    let items: Vec<_> = read(&buf).collect();
    assert_eq!(
        items,
        vec![
            Err(Skipped {
                offset: 0,
                len: ends[0],
                why: SkipReason::BadLength
            }),
            Ok(changes[1].clone())
        ]
    );
}

#[test]
fn snapshot_header_round_trip_and_rejects() {
    let mut b = Vec::new();
    encode_snapshot_header(42, &mut b);
    assert_eq!(decode_snapshot_header(&b), Ok((42, SNAPSHOT_HEADER_LEN)));
    assert_eq!(
        decode_snapshot_header(&b[..5]).map_err(|s| s.why),
        Err(SkipReason::Torn)
    );
    let mut c = b.clone();
    c[8] ^= 1;
    assert_eq!(
        decode_snapshot_header(&c).map_err(|s| s.why),
        Err(SkipReason::BadCrc)
    );
    c = b.clone();
    c[4] = VERSION + 1;
    assert_eq!(
        decode_snapshot_header(&c).map_err(|s| s.why),
        Err(SkipReason::BadVersion)
    );
    assert_eq!(
        decode_snapshot_header(b"TLJRxxxxxxxxxxxxxxxx").map_err(|s| s.why),
        Err(SkipReason::BadMagic)
    );
}

#[test]
fn oversized_duid_is_cut_not_corrupted() {
    let mut l = lease(1, 200);
    let mut b = Vec::new();
    encode(&LeaseChange::Upsert(l.clone()), &mut b);
    l.duid = l.duid[..MAX_DUID_LEN].into();
    assert_eq!(
        read(&b).collect::<Vec<_>>(),
        vec![Ok(LeaseChange::Upsert(l))]
    );
}

/// Bytes written by the version 1 encoder (before failover data existed): an Upsert of a
/// Released lease with a 14-octet DUID-LLT, a Remove of a prefix, and a snapshot header.
const GOLDEN_V1_RECORDS: &str = concat!(
    "544c4a5201000000435b1f6ec4010120010db8000100000000000000000101800e000100012a3b4c5d00112233",
    "4455010203040000000700000e1000001c20000000006b49d200000000006b49ee2003544c4a52010000001310",
    "8ea9c5020220010db8ab000000000000000000000038",
);
const GOLDEN_V1_SNAPSHOT_HEADER: &str = "544c535301000000000000002a8c91baef";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn version_1_records_and_header_still_read_as_standalone_leases() {
    let b = unhex(GOLDEN_V1_RECORDS);
    let items: Vec<_> = read(&b).collect();
    let want_lease = Lease {
        resource: Resource::address("2001:db8:1::101".parse().unwrap()),
        duid: vec![
            0, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d, 0, 0x11, 0x22, 0x33, 0x44, 0x55,
        ]
        .into(),
        iaid: 0x0102_0304,
        subnet_id: 7,
        preferred_s: 3600,
        valid_s: 7200,
        cltt: 1_800_000_000,
        expires_at: 1_800_007_200,
        state: LeaseState::Released,
        fo: FoData::default(),
    };
    assert_eq!(
        items,
        vec![
            Ok(LeaseChange::Upsert(want_lease.clone())),
            Ok(LeaseChange::Remove(Resource::prefix(
                "2001:db8:ab00::".parse().unwrap(),
                56
            )))
        ]
    );
    let h = unhex(GOLDEN_V1_SNAPSHOT_HEADER);
    assert_eq!(decode_snapshot_header(&h), Ok((42, SNAPSHOT_HEADER_LEN)));
    // Re-encoding writes version 2 with the (zero) failover data, and reads back equal.
    let mut again = Vec::new();
    encode(&LeaseChange::Upsert(want_lease.clone()), &mut again);
    assert_eq!(again[4], VERSION);
    assert_eq!(
        again.len(),
        HEADER_LEN + 0x43 + 45,
        "v2 adds 45 octets to the Upsert"
    );
    assert_eq!(
        read(&again).collect::<Vec<_>>(),
        vec![Ok(LeaseChange::Upsert(want_lease))]
    );
}

#[test]
fn version_2_failover_fields_round_trip_and_unknown_flags_are_malformed() {
    let l = lease(4, 14);
    let mut b = Vec::new();
    encode(&LeaseChange::Upsert(l.clone()), &mut b);
    assert_eq!(
        read(&b).collect::<Vec<_>>(),
        vec![Ok(LeaseChange::Upsert(l))]
    );
    // The flags octet follows the state octet; set an unknown bit and fix the CRC.
    let flags_at = HEADER_LEN + 19 + 1 + 14 + 16 + 16 + 1;
    assert_eq!(b[flags_at], 1, "lease 4 has tell-partner set");
    b[flags_at] = 0x81;
    let crc = crc32fast::hash(&b[HEADER_LEN..]);
    b[9..13].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(
        read(&b).map(|i| i.map_err(|s| s.why)).collect::<Vec<_>>(),
        vec![Err(SkipReason::BadBody)]
    );
}

#[test]
fn backup_records_round_trip_and_reject_bad_flags() {
    use crate::share::{BackupPrefix, ShareMove};
    let r = Resource::prefix("2001:db8:ab00::".parse().unwrap(), 56);
    for entry in [
        None,
        Some(BackupPrefix {
            since: 7,
            pending: None,
        }),
        Some(BackupPrefix {
            since: 8,
            pending: Some(ShareMove::Give),
        }),
        Some(BackupPrefix {
            since: 9,
            pending: Some(ShareMove::Reclaim),
        }),
    ] {
        let c = LeaseChange::Backup(r, entry);
        let mut buf = Vec::new();
        encode(&c, &mut buf);
        assert_eq!(buf[4], VERSION);
        assert_eq!(read(&buf).next(), Some(Ok(c)));
    }
    // Flags 7 (Give and Reclaim at once) is no record we write: the body is malformed.
    let mut buf = Vec::new();
    encode(
        &LeaseChange::Backup(
            r,
            Some(BackupPrefix {
                since: 1,
                pending: None,
            }),
        ),
        &mut buf,
    );
    let flags_at = HEADER_LEN + 19;
    buf[flags_at] = 7;
    let crc = crc32fast::hash(&buf[HEADER_LEN..]);
    buf[9..13].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(read(&buf).next(), Some(Err(s)) if s.why == SkipReason::BadBody));
    // A version 2 record cannot carry a Backup.
    buf[4] = VERSION_2;
    buf[flags_at] = 1;
    let crc = crc32fast::hash(&buf[HEADER_LEN..]);
    buf[9..13].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(read(&buf).next(), Some(Err(s)) if s.why == SkipReason::BadBody));
}
