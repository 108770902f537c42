//! Re-slicing with leases: pools that grow, shrink, move and vanish, and reservations that
//! come and go. No lease is lost, nothing is allocated outside the new pools.

use std::collections::HashSet;
use std::net::Ipv6Addr;

use crate::test_support::duid_for;

use crate::{FoRole, Lease, LeaseKind, LeaseState, PoolDef, PoolId, PoolRange, Resource, Shard};

const BASE: u128 = 0x2001_0db8_0000_0000_0000_0000_0001_0000;

fn range(id: u32, first: u128, last: u128) -> PoolDef {
    PoolDef {
        id: PoolId(id),
        subnet_id: 10,
        range: PoolRange::Addresses {
            first: Ipv6Addr::from(BASE + first),
            last: Ipv6Addr::from(BASE + last),
        },
    }
}

fn pd(id: u32, prefix: &str) -> PoolDef {
    PoolDef {
        id: PoolId(id),
        subnet_id: 10,
        range: PoolRange::Prefixes {
            prefix: prefix.parse().unwrap(),
            prefix_len: 48,
            delegated_len: 56,
        },
    }
}

fn lease(r: Resource, duid: &[u8], iaid: u32) -> Lease {
    Lease {
        resource: r,
        duid: duid.into(),
        iaid,
        subnet_id: 10,
        preferred_s: 50,
        valid_s: 100,
        cltt: 0,
        expires_at: 100,
        state: LeaseState::Bound,
        fo: crate::FoData::default(),
    }
}

fn at(i: u128) -> Resource {
    Resource::address(Ipv6Addr::from(BASE + i))
}

/// Fills `pool` of a shard with `n` leases (each its own IA), returns their resources.
fn fill(sh: &mut Shard, pool: PoolId, n: u32, d: &[u8]) -> Vec<Resource> {
    (0..n)
        .map(|k| {
            let r = sh.allocate(pool, None, 0).unwrap();
            sh.bind(lease(r, d, k));
            r
        })
        .collect()
}

fn leases(sh: &Shard) -> Vec<Lease> {
    sh.leases().cloned().collect()
}

/// Everything `pool` still hands out, bound to a fresh client.
fn drain(sh: &mut Shard, pool: PoolId, d: &[u8]) -> Vec<Resource> {
    let mut got = Vec::new();
    while let Some(r) = sh.allocate(pool, None, 0) {
        sh.bind(lease(r, d, 1000 + got.len() as u32));
        got.push(r);
    }
    got
}

#[test]
fn a_grown_pool_keeps_every_lease_and_allocates_only_the_new_free_indexes() {
    let d = duid_for(1, 2, 0);
    let mut sh = Shard::new(1, 2, &[range(0, 0, 19)], &[]);
    let bound = fill(&mut sh, PoolId(0), 4, &d);
    let _ = sh.drain_changes().count();
    let before = leases(&sh);
    let done = sh.reconfigure(&[range(0, 0, 39)], &[]);
    assert_eq!((done.kept, done.rebuilt, done.removed), (0, 1, 1));
    assert_eq!(done.outside_pools, 0);
    assert_eq!(leases(&sh), before, "no lease changed");
    assert_eq!(sh.drain_changes().count(), 0, "nothing recorded");
    sh.check_invariants().unwrap();
    let got = drain(&mut sh, PoolId(0), &duid_for(1, 2, 1));
    // Shard 1 of 2 owns the odd indexes of 0..40: 20, of which 4 were bound.
    assert_eq!(got.len(), 16);
    for r in &got {
        assert!(!bound.contains(r), "{r:?} was bound already");
        let i = u128::from(r.addr) - BASE;
        assert!(i < 40 && i % 2 == 1);
    }
    sh.check_invariants().unwrap();
}

#[test]
fn a_shrunk_pool_keeps_the_leases_outside_it_and_never_allocates_there() {
    let d = duid_for(0, 1, 0);
    let mut sh = Shard::new(0, 1, &[range(0, 0, 9)], &[]);
    let bound = fill(&mut sh, PoolId(0), 6, &d);
    let before = leases(&sh);
    let done = sh.reconfigure(&[range(0, 0, 3)], &[]);
    assert_eq!(done.outside_pools, 2, "indexes 4 and 5 left the pool");
    assert_eq!(leases(&sh), before);
    sh.check_invariants().unwrap();
    assert_eq!(sh.pool_of(&at(5)), None);
    assert!(sh.lease(&at(5)).is_some());
    // Indexes 0..4 are all bound: nothing to allocate, even though 6..9 are free addresses.
    assert_eq!(sh.allocate(PoolId(0), None, 0), None);
    assert_eq!(
        sh.allocate(PoolId(0), Some(Ipv6Addr::from(BASE + 7)), 0),
        None
    );
    // A lease outside the pool expires (and is reclaimed) like any other.
    assert_eq!(sh.reclaim_expired(100), bound.len());
    assert!(sh.is_empty());
    sh.check_invariants().unwrap();
    let again = drain(&mut sh, PoolId(0), &d);
    assert_eq!(again.len(), 4);
    assert!(again.iter().all(|r| u128::from(r.addr) - BASE < 4));
}

#[test]
fn a_moved_pool_and_a_new_pool_allocate_only_from_the_new_ranges() {
    let d = duid_for(0, 2, 0);
    let mut sh = Shard::new(0, 2, &[range(0, 0, 9), range(1, 100, 109)], &[]);
    let old = fill(&mut sh, PoolId(0), 3, &d);
    let kept = fill(&mut sh, PoolId(1), 2, &d);
    let before = leases(&sh);
    // Pool 0 moves to 50..=59; pool 1 is unchanged but now second-but-one; a PD pool is new.
    let new = [range(0, 50, 59), pd(1, "2001:db8:99::"), range(2, 100, 109)];
    let done = sh.reconfigure(&new, &[]);
    assert_eq!((done.kept, done.rebuilt, done.removed), (1, 2, 1));
    assert_eq!(done.outside_pools, old.len());
    assert_eq!(leases(&sh), before);
    sh.check_invariants().unwrap();
    assert_eq!(
        sh.pool_of(&kept[0]),
        Some(PoolId(2)),
        "the kept pool takes its new id"
    );
    let moved = drain(&mut sh, PoolId(0), &d);
    assert_eq!(moved.len(), 5);
    assert!(moved
        .iter()
        .all(|r| (50..60).contains(&(u128::from(r.addr) - BASE))));
    let rest = drain(&mut sh, PoolId(2), &d);
    assert_eq!(rest.len(), 3, "5 of shard 0's, 2 bound before");
    assert!(rest.iter().all(|r| !kept.contains(r)));
    let p = sh.allocate(PoolId(1), None, 0).unwrap();
    assert_eq!((p.kind, p.prefix_len), (LeaseKind::Pd, 56));
    sh.check_invariants().unwrap();
}

#[test]
fn reservations_that_end_are_freed_and_new_ones_are_never_allocated() {
    let d = duid_for(0, 1, 0);
    let mut sh = Shard::new(0, 1, &[range(0, 0, 3)], &[at(0), at(1)]);
    // at(1) is reserved and its client holds it.
    sh.bind(lease(at(1), &d, 7));
    let done = sh.reconfigure(&[range(0, 0, 3)], &[at(3)]);
    assert_eq!((done.kept, done.rebuilt), (1, 0));
    sh.check_invariants().unwrap();
    let got: HashSet<Resource> = drain(&mut sh, PoolId(0), &d).into_iter().collect();
    // at(0) is free now; at(1) stays bound; at(3) is reserved.
    assert_eq!(got, HashSet::from([at(0), at(2)]));
    sh.check_invariants().unwrap();
}

#[test]
fn a_failover_subnet_keeps_its_half_in_rebuilt_pools() {
    let d = duid_for(0, 1, 0);
    let mut sh = Shard::new(0, 1, &[range(0, 0, 7)], &[]);
    sh.set_subnet_failover(10, Some(FoRole::Primary));
    let done = sh.reconfigure(&[range(0, 0, 15)], &[]);
    assert_eq!(done.rebuilt, 1);
    sh.check_invariants().unwrap();
    let got = drain(&mut sh, PoolId(0), &d);
    // The primary's half: addresses with last bit 1 (BASE is even).
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|r| u128::from(r.addr) % 2 == 1));
    sh.check_invariants().unwrap();
}

#[test]
fn reconfiguring_with_the_same_pools_changes_nothing() {
    let d = duid_for(0, 1, 0);
    let pools = [range(0, 0, 9), pd(1, "2001:db8:99::")];
    let mut sh = Shard::new(0, 1, &pools, &[at(9)]);
    fill(&mut sh, PoolId(0), 3, &d);
    fill(&mut sh, PoolId(1), 2, &d);
    let before = (leases(&sh), sh.pool_stats().collect::<Vec<_>>());
    let done = sh.reconfigure(&pools, &[at(9)]);
    assert_eq!(
        (done.kept, done.rebuilt, done.removed, done.outside_pools),
        (2, 0, 0, 0)
    );
    assert_eq!((leases(&sh), sh.pool_stats().collect::<Vec<_>>()), before);
    sh.check_invariants().unwrap();
}
