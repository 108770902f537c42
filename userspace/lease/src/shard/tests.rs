//! Shard tests: allocation at 99 % full, reservations, decline holds, expiry, replay.

use std::collections::HashSet;
use std::net::Ipv6Addr;

use crate::test_support::duid_for;

use crate::journal;
use crate::{
    Lease, LeaseChange, LeaseKind, LeaseState, PoolDef, PoolId, PoolRange, Resource, Shard,
};

const BASE: u128 = 0x2001_0db8_0000_0000_0000_0000_0001_0000;

fn addr_pool(size: u128) -> PoolDef {
    PoolDef {
        id: PoolId(1),
        subnet_id: 10,
        range: PoolRange::Addresses {
            first: Ipv6Addr::from(BASE),
            last: Ipv6Addr::from(BASE + size - 1),
        },
    }
}

fn pd_pool() -> PoolDef {
    PoolDef {
        id: PoolId(2),
        subnet_id: 10,
        range: PoolRange::Prefixes {
            prefix: "2001:db8::".parse().unwrap(),
            prefix_len: 32,
            delegated_len: 64,
        },
    }
}

fn lease(r: Resource, duid: &[u8], iaid: u32, now: u64, valid: u32) -> Lease {
    Lease {
        resource: r,
        duid: duid.into(),
        iaid,
        subnet_id: 10,
        preferred_s: valid / 2,
        valid_s: valid,
        cltt: now,
        expires_at: now + u64::from(valid),
        state: LeaseState::Bound,
        fo: crate::FoData::default(),
    }
}

#[test]
fn shards_partition_a_pool_and_never_overlap() {
    let pools = [addr_pool(103)];
    let mut seen = HashSet::new();
    for s in 0..4 {
        let mut sh = Shard::new(s, 4, &pools, &[]);
        let d = duid_for(s, 4, 0);
        while let Some(r) = sh.allocate(PoolId(1), None, 0) {
            assert_eq!((u128::from(r.addr) - BASE) % 4, u128::from(s));
            assert!(seen.insert(r), "{r:?} handed out twice");
            sh.bind(lease(r, &d, 1, 0, 100));
        }
        sh.check_invariants().unwrap();
    }
    assert_eq!(seen.len(), 103);
}

#[test]
fn allocation_at_99_percent_full_finds_every_free_index_with_bounded_probes() {
    let pools = [addr_pool(65_536)];
    let mut sh = Shard::new(1, 4, &pools, &[]);
    let d = duid_for(1, 4, 0);
    let slice = 16_384u128;
    // Fill 99 % of the slice, leaving a scattered set of holes.
    let holes: HashSet<u128> = (0..slice).filter(|j| (j * 7919) % 100 == 3).collect();
    assert!(holes.len() as u128 <= slice / 100 + 1);
    for j in 0..slice {
        if !holes.contains(&j) {
            let r = Resource::address(Ipv6Addr::from(BASE + 1 + j * 4));
            sh.bind(lease(r, &d, j as u32, 0, 1000));
        }
    }
    sh.check_invariants().unwrap();
    let (_, size, used) = sh.pool_stats().next().unwrap();
    assert_eq!((size, used), (16_384, 16_384 - holes.len() as u64));
    // 16384 indexes = 256 words = 4 summary words: each search examines the cursor's word and
    // at most 5 summary words.
    let mut found = HashSet::new();
    loop {
        let before = sh.alloc_probes(PoolId(1));
        let Some(r) = sh.allocate(PoolId(1), None, 0) else {
            break;
        };
        assert!(sh.alloc_probes(PoolId(1)) - before <= 6);
        let j = (u128::from(r.addr) - BASE - 1) / 4;
        assert!(holes.contains(&j), "allocated a used index {j}");
        assert!(found.insert(j));
        sh.bind(lease(r, &d, 0, 0, 1000));
    }
    assert_eq!(found, holes);
    assert_eq!(sh.pool_stats().next().unwrap().2, 16_384);
    sh.check_invariants().unwrap();
}

#[test]
fn huge_pools_allocate_without_materialising() {
    let na = PoolDef {
        id: PoolId(1),
        subnet_id: 1,
        range: PoolRange::Addresses {
            first: "2001:db8::".parse().unwrap(),
            last: "2001:db8::ffff:ffff:ffff:ffff".parse().unwrap(),
        },
    };
    let mut sh = Shard::new(0, 2, &[na, pd_pool()], &[]);
    let d = duid_for(0, 2, 0);
    for _ in 0..50 {
        let r = sh.allocate(PoolId(2), None, 0).unwrap();
        assert_eq!((r.kind, r.prefix_len), (LeaseKind::Pd, 64));
        assert_eq!(sh.pool_of(&r), Some(PoolId(2)));
        sh.bind(lease(r, &d, 9, 0, 100));
        let a = sh.allocate(PoolId(1), None, 0).unwrap();
        sh.bind(lease(a, &d, 1, 0, 100));
    }
    let stats: Vec<_> = sh.pool_stats().collect();
    assert_eq!(
        stats,
        vec![(PoolId(1), 1 << 63, 50), (PoolId(2), 1 << 31, 50)]
    );
    assert_eq!(sh.ia_leases(&d, LeaseKind::Pd, 9).count(), 50);
    sh.check_invariants().unwrap();
}

#[test]
fn hint_reserved_foreign_and_decline_are_respected() {
    let pools = [addr_pool(8)];
    let r = |i: u128| Resource::address(Ipv6Addr::from(BASE + i));
    let mut sh = Shard::new(0, 2, &pools, &[r(0)]);
    let d = duid_for(0, 2, 0);
    assert_eq!(sh.allocate(PoolId(1), Some(r(4).addr), 0), Some(r(4)));
    // Hint in another shard's slice or reserved: ignored.
    assert_ne!(sh.allocate(PoolId(1), Some(r(3).addr), 0), Some(r(3)));
    assert_ne!(sh.allocate(PoolId(1), Some(r(0).addr), 0), Some(r(0)));
    sh.exclude_foreign(r(2));
    assert!(!sh.is_available(&r(2), &d, 0));
    sh.decline(&r(4), 100, 50);
    assert_eq!(
        sh.lease(&r(4)).map(|l| (l.state, l.expires_at)),
        Some((LeaseState::Declined, 150))
    );
    // Only index 6 is left (0 reserved, 2 foreign, 4 declined).
    assert_eq!(sh.allocate(PoolId(1), None, 100), Some(r(6)));
    sh.bind(lease(r(6), &d, 1, 100, 1000));
    assert_eq!(sh.allocate(PoolId(1), None, 149), None);
    assert!(!sh.is_available(&r(4), &d, 149));
    // When the hold ends, allocate reclaims it.
    assert_eq!(sh.allocate(PoolId(1), None, 150), Some(r(4)));
    assert!(sh.drain_changes().any(|c| c == LeaseChange::Remove(r(4))));
    sh.release(&r(6), 0);
    assert!(sh.lease(&r(6)).is_none());
    assert_eq!(sh.ia_leases(&d, LeaseKind::Na, 1).count(), 0);
    sh.check_invariants().unwrap();
}

#[test]
fn is_available_rules() {
    let r = Resource::address(Ipv6Addr::from(BASE));
    let mut sh = Shard::new(0, 1, &[addr_pool(4)], &[]);
    assert!(sh.is_available(&r, b"a", 0));
    sh.bind(lease(r, b"a", 1, 0, 10));
    assert!(sh.is_available(&r, b"a", 5));
    assert!(!sh.is_available(&r, b"b", 5));
    assert!(sh.is_available(&r, b"b", 10));
    // Rebinding to another client moves the binding.
    sh.bind(lease(r, b"b", 2, 10, 10));
    assert_eq!(sh.ia_leases(b"a", LeaseKind::Na, 1).count(), 0);
    assert_eq!(sh.ia_leases(b"b", LeaseKind::Na, 2).count(), 1);
    sh.check_invariants().unwrap();
}

#[test]
fn reclaim_expired_removes_in_order_and_records() {
    let mut sh = Shard::new(0, 1, &[addr_pool(16)], &[]);
    for i in 0..10u32 {
        let r = Resource::address(Ipv6Addr::from(BASE + u128::from(i)));
        sh.bind(lease(r, b"c", i, u64::from(i), 100));
    }
    sh.drain_changes();
    assert_eq!(sh.next_expiry(), Some(100));
    assert_eq!(sh.reclaim_expired(104), 5);
    assert_eq!(sh.len(), 5);
    assert_eq!(sh.next_expiry(), Some(105));
    let removed: Vec<_> = sh.drain_changes().collect();
    assert_eq!(removed.len(), 5);
    assert!(removed.iter().all(|c| matches!(c, LeaseChange::Remove(_))));
    assert_eq!(sh.pool_stats().next().unwrap().2, 5);
    sh.check_invariants().unwrap();
}

/// A busy shard: binds, renewals, declines, releases and expiry, all recorded.
fn busy_shard() -> Shard {
    let mut sh = Shard::new(
        1,
        3,
        &[addr_pool(300), pd_pool()],
        &[Resource::address(Ipv6Addr::from(BASE + 1))],
    );
    let mut now = 1000;
    for k in 0..120u32 {
        let d = duid_for(1, 3, k);
        let pool = if k % 4 == 0 { PoolId(2) } else { PoolId(1) };
        if let Some(r) = sh.allocate(pool, None, now) {
            sh.bind(lease(r, &d, k, now, 50 + k % 40));
            match k % 7 {
                0 => sh.release(&r, now),
                1 => sh.decline(&r, now, 30),
                2 => sh.bind(lease(r, &d, k, now + 1, 500)),
                _ => {}
            }
        }
        now += 1;
        sh.reclaim_expired(now);
    }
    sh
}

#[test]
fn replaying_drained_changes_reproduces_the_shard() {
    let mut sh = busy_shard();
    sh.check_invariants().unwrap();
    assert!(sh.len() > 20);
    assert!(sh.leases().any(|l| l.state == LeaseState::Declined));
    assert!(sh.leases().any(|l| l.resource.kind == LeaseKind::Pd));
    let changes: Vec<_> = sh.drain_changes().collect();
    let mut buf = Vec::new();
    for c in &changes {
        journal::encode(c, &mut buf);
    }
    let fresh = || {
        Shard::new(
            1,
            3,
            &[addr_pool(300), pd_pool()],
            &[Resource::address(Ipv6Addr::from(BASE + 1))],
        )
    };
    let mut replayed = fresh();
    let mut twice = fresh();
    for item in journal::read(&buf) {
        let c = item.unwrap();
        replayed.apply_replayed(c.clone());
        twice.apply_replayed(c.clone());
        twice.apply_replayed(c);
    }
    for other in [&mut replayed, &mut twice] {
        other.check_invariants().unwrap();
        assert!(sh.leases().eq(other.leases()));
        assert!(sh.pool_stats().eq(other.pool_stats()));
        assert_eq!(other.drain_changes().count(), 0);
        // Same free/used state in every pool slice.
        assert_eq!(sh.used_indexes(), other.used_indexes());
        // ... and the same allocation cursor: the same next offers.
        for pool in [PoolId(1), PoolId(2)] {
            assert_eq!(
                other.allocate(pool, None, 1000),
                sh.allocate(pool, None, 1000)
            );
        }
    }
    // Snapshot: header + one Upsert per lease rebuilds it as well.
    let mut snap = Vec::new();
    journal::encode_snapshot_header(3, &mut snap);
    for l in sh.leases() {
        journal::encode(&LeaseChange::Upsert(l.clone()), &mut snap);
    }
    let (generation, at) = journal::decode_snapshot_header(&snap).unwrap();
    assert_eq!(generation, 3);
    let mut from_snap = fresh();
    for item in journal::read(&snap[at..]) {
        from_snap.apply_replayed(item.unwrap());
    }
    assert!(sh.leases().eq(from_snap.leases()));
    assert_eq!(sh.used_indexes(), from_snap.used_indexes());
}

#[test]
fn lease_stays_compact() {
    assert_eq!(size_of::<Resource>(), 18);
    // 72 octets standalone + 48 of failover data (RFC 8156 §7.3).
    assert!(size_of::<Lease>() <= 120, "{}", size_of::<Lease>());
}

#[test]
fn allocation_is_deterministic_until_a_bind_moves_the_cursor() {
    let r = |i: u128| Resource::address(Ipv6Addr::from(BASE + i));
    let d = duid_for(0, 1, 0);
    let mut sh = Shard::new(0, 1, &[addr_pool(16)], &[]);
    // Advertise, then Request: same offer.
    let first = sh.allocate(PoolId(1), None, 0);
    assert_eq!(first, Some(r(0)));
    assert_eq!(sh.allocate(PoolId(1), None, 0), first);
    sh.bind(lease(r(0), &d, 1, 0, 100));
    assert_eq!(sh.allocate(PoolId(1), None, 0), Some(r(1)));
    sh.bind(lease(r(5), &d, 2, 0, 100));
    assert_eq!(sh.allocate(PoolId(1), None, 0), Some(r(6)));
    // A freed index is not reused before the cursor wraps.
    sh.release(&r(0), 0);
    assert_eq!(sh.allocate(PoolId(1), None, 0), Some(r(6)));
    // A free hint wins; a bound one does not.
    assert_eq!(sh.allocate(PoolId(1), Some(r(2).addr), 0), Some(r(2)));
    assert_eq!(sh.allocate(PoolId(1), Some(r(5).addr), 0), Some(r(6)));
    assert_eq!(sh.allocate(PoolId(9), None, 0), None);
    sh.check_invariants().unwrap();
}

#[test]
fn replaying_a_whole_journal_twice_gives_the_same_shard() {
    let mut sh = busy_shard();
    let mut buf = Vec::new();
    for c in sh.drain_changes() {
        journal::encode(&c, &mut buf);
    }
    let mut twice = Shard::new(
        1,
        3,
        &[addr_pool(300), pd_pool()],
        &[Resource::address(Ipv6Addr::from(BASE + 1))],
    );
    for _ in 0..2 {
        for item in journal::read(&buf) {
            twice.apply_replayed(item.unwrap());
        }
    }
    twice.check_invariants().unwrap();
    assert!(sh.leases().eq(twice.leases()));
    assert_eq!(sh.used_indexes(), twice.used_indexes());
    // Both shards then offer the same next resources.
    for pool in [PoolId(1), PoolId(2)] {
        let next = sh.allocate(pool, None, 1000);
        assert!(next.is_some());
        assert_eq!(twice.allocate(pool, None, 1000), next);
    }
}

#[test]
fn check_invariants_detects_a_desynchronised_bitmap() {
    let mut sh = Shard::new(0, 1, &[addr_pool(16)], &[]);
    sh.bind(lease(
        Resource::address(Ipv6Addr::from(BASE + 3)),
        b"x",
        1,
        0,
        10,
    ));
    sh.check_invariants().unwrap();
    sh.corrupt_slice_for_test(PoolId(1), 3);
    assert!(sh.check_invariants().is_err());
}

#[test]
fn subnet_counts_follow_binds_declines_releases_and_expiry() {
    let mut sh = Shard::new(0, 1, &[addr_pool(16), pd_pool()], &[]);
    let counts = |sh: &Shard| sh.subnet_counts().collect::<Vec<_>>();
    assert!(counts(&sh).is_empty());
    let a = |i: u128| Resource::address(Ipv6Addr::from(BASE + i));
    for i in 0..4 {
        sh.bind(lease(a(i), b"c", i as u32, 0, 100));
    }
    let p = sh.allocate(PoolId(2), None, 0).unwrap();
    sh.bind(lease(p, b"c", 9, 0, 50));
    // A renewal replaces the lease: still one.
    sh.bind(lease(a(0), b"c", 0, 10, 100));
    sh.decline(&a(1), 10, 30);
    sh.release(&a(2), 10);
    let c = counts(&sh)[0].1;
    assert_eq!(counts(&sh)[0].0, 10);
    assert_eq!((c.na_assigned, c.pd_assigned, c.declined), (2, 1, 1));
    assert_eq!((c.reclaimed, c.declined_reclaimed), (0, 0));
    // t=60: the prefix and the declined hold end; t=105: address 3 (bound at 0 for 100 s).
    assert_eq!(sh.reclaim_expired(60), 2);
    let c = counts(&sh)[0].1;
    assert_eq!((c.na_assigned, c.pd_assigned, c.declined), (2, 0, 0));
    assert_eq!((c.reclaimed, c.declined_reclaimed), (1, 1));
    assert_eq!(sh.reclaim_expired(105), 1);
    let c = counts(&sh)[0].1;
    assert_eq!((c.na_assigned, c.reclaimed), (1, 2));
    sh.check_invariants().unwrap();
}

#[test]
fn subnet_counts_are_rebuilt_by_replay() {
    let mut sh = busy_shard();
    let changes: Vec<_> = sh.drain_changes().collect();
    let mut replayed = Shard::new(
        1,
        3,
        &[addr_pool(300), pd_pool()],
        &[Resource::address(Ipv6Addr::from(BASE + 1))],
    );
    for c in changes {
        replayed.apply_replayed(c);
    }
    let gauges = |sh: &Shard| {
        sh.subnet_counts()
            .map(|(id, c)| (id, c.na_assigned, c.pd_assigned, c.declined))
            .collect::<Vec<_>>()
    };
    assert_eq!(gauges(&sh), gauges(&replayed));
    let (id, na, pd, declined) = gauges(&sh)[0];
    assert_eq!(id, 10);
    assert!(na > 0 && pd > 0 && declined > 0, "{:?}", gauges(&sh));
    let bound_na = sh
        .leases()
        .filter(|l| l.state == LeaseState::Bound && l.resource.kind == LeaseKind::Na)
        .count() as u64;
    assert_eq!(na, bound_na);
}

#[test]
fn a_lease_of_a_subnet_made_standalone_expires_out_of_every_index() {
    // A reload turned failover off while a lease still had tell-partner set (found in review:
    // the standalone reclaim left its tell-partner entry behind).
    let mut sh = Shard::new(0, 1, &[addr_pool(16)], &[]);
    sh.set_subnet_failover(10, Some(crate::FoRole::Primary));
    let r = Resource::address(Ipv6Addr::from(BASE));
    sh.bind(lease(r, b"c", 1, 0, 100));
    assert_eq!(sh.tell_partner_count(), 1);
    sh.set_subnet_failover(10, None);
    assert_eq!(sh.reclaim_expired(1000), 1);
    assert_eq!(sh.len(), 0);
    assert_eq!(sh.tell_partner_count(), 0);
    sh.check_invariants().unwrap();
}
