//! Failover tests of a shard: independent allocation halves (R41, R42), retention until the
//! partner acks (R46), partner updates and acks (RFC 8156 §7.3), PARTNER-DOWN freeing (R56).

use std::collections::HashSet;
use std::net::Ipv6Addr;

use crate::test_support::duid_for;
use proptest::prelude::*;

use crate::journal;
use crate::{
    AckOutcome, FoData, FoRole, Lease, LeaseChange, LeaseKind, LeaseState, PartnerAck, PoolDef,
    PoolId, PoolRange, Resource, Shard,
};

const BASE: u128 = 0x2001_0db8_0000_0000_0000_0000_0001_0000;
const SUBNET: u32 = 10;
const OTHER_SUBNET: u32 = 11;

fn addr_pool(id: u32, subnet_id: u32, first: u128, size: u128) -> PoolDef {
    PoolDef {
        id: PoolId(id),
        subnet_id,
        range: PoolRange::Addresses {
            first: Ipv6Addr::from(first),
            last: Ipv6Addr::from(first + size - 1),
        },
    }
}

fn pd_pool() -> PoolDef {
    PoolDef {
        id: PoolId(2),
        subnet_id: SUBNET,
        range: PoolRange::Prefixes {
            prefix: "2001:db8:ab00::".parse().unwrap(),
            prefix_len: 40,
            delegated_len: 56,
        },
    }
}

fn pools() -> Vec<PoolDef> {
    vec![
        addr_pool(1, SUBNET, BASE, 64),
        pd_pool(),
        addr_pool(3, OTHER_SUBNET, BASE + 0x1000, 16),
    ]
}

fn addr(i: u128) -> Resource {
    Resource::address(Ipv6Addr::from(BASE + i))
}

fn lease(r: Resource, duid: &[u8], now: u64, valid: u32) -> Lease {
    Lease {
        resource: r,
        duid: duid.into(),
        iaid: 1,
        subnet_id: SUBNET,
        preferred_s: valid / 2,
        valid_s: valid,
        cltt: now,
        expires_at: now + u64::from(valid),
        state: LeaseState::Bound,
        fo: FoData::default(),
    }
}

fn failover_shard(role: FoRole) -> Shard {
    let mut sh = Shard::new(0, 1, &pools(), &[]);
    sh.set_subnet_failover(SUBNET, Some(role));
    sh
}

fn ack_of(l: &Lease) -> PartnerAck {
    PartnerAck {
        state: l.state,
        start_time_of_state: l.fo.start_time_of_state,
        cltt: l.cltt,
        partner_lifetime: l.fo.partner_lifetime,
    }
}

#[test]
fn ten_thousand_allocations_per_side_have_the_right_parity_on_every_shard() {
    // R41: 20 000 addresses starting at an even base; two workers per server.
    let pool = [addr_pool(1, SUBNET, BASE, 20_000)];
    let mut seen = HashSet::new();
    for (role, bit) in [(FoRole::Primary, 1), (FoRole::Secondary, 0)] {
        let mut total = 0;
        for s in 0..2 {
            let mut sh = Shard::new(s, 2, &pool, &[]);
            sh.set_subnet_failover(SUBNET, Some(role));
            let d = duid_for(s, 2, 0);
            let mut n = 0;
            while let Some(r) = sh.allocate(PoolId(1), None, 0) {
                assert_eq!(u128::from(r.addr) & 1, bit, "{role:?} shard {s}");
                assert!(seen.insert(r), "{r:?} handed out twice");
                sh.bind(lease(r, &d, 0, 100));
                n += 1;
            }
            assert_eq!(n, 5_000, "{role:?} shard {s}: a fair share of the half");
            assert_eq!(sh.pool_stats().next(), Some((PoolId(1), 5_000, 5_000)));
            sh.check_invariants().unwrap();
            total += n;
        }
        assert_eq!(total, 10_000);
    }
    assert_eq!(seen.len(), 20_000);
}

#[test]
fn hints_in_the_partner_half_are_not_allocated_but_its_leases_renew() {
    let mut sh = failover_shard(FoRole::Primary);
    // BASE is even: index 2 is even (the secondary's), index 3 odd (ours).
    assert_eq!(sh.allocate(PoolId(1), Some(addr(3).addr), 0), Some(addr(3)));
    let got = sh.allocate(PoolId(1), Some(addr(2).addr), 0).unwrap();
    assert_eq!(u128::from(got.addr) & 1, 1);
    // Membership covers the whole range.
    assert_eq!(sh.pool_of(&addr(2)), Some(PoolId(1)));
    assert_eq!(sh.subnet_of(&addr(2)), Some(SUBNET));
    // A renewal of a partner-allocated address is stored and told to the partner.
    sh.bind(lease(addr(2), b"c", 10, 100));
    let l = sh.lease(&addr(2)).unwrap();
    assert!(l.fo.tell_partner);
    assert_eq!(l.fo.start_time_of_state, 10);
    assert_eq!(sh.pool_stats().next(), Some((PoolId(1), 32, 0)));
    sh.check_invariants().unwrap();
    // The other subnet stays standalone: every index.
    assert_eq!(sh.subnet_failover(OTHER_SUBNET), None);
    assert_eq!(sh.pool_stats().nth(2), Some((PoolId(3), 16, 0)));
}

#[test]
fn primary_owns_every_prefix_and_the_secondary_allocates_none() {
    let mut primary = failover_shard(FoRole::Primary);
    let mut secondary = failover_shard(FoRole::Secondary);
    let p = primary.allocate(PoolId(2), None, 0).unwrap();
    assert_eq!((p.kind, p.prefix_len), (LeaseKind::Pd, 56));
    assert_eq!(primary.pool_stats().nth(1), Some((PoolId(2), 1 << 16, 0)));
    // Until proportional allocation gives it some, the secondary has no prefix to delegate ...
    assert_eq!(secondary.allocate(PoolId(2), None, 0), None);
    assert_eq!(secondary.allocate(PoolId(2), Some(p.addr), 0), None);
    assert_eq!(secondary.pool_stats().nth(1), Some((PoolId(2), 0, 0)));
    // ... yet knows the pool and renews the primary's delegations.
    assert_eq!(secondary.pool_of(&p), Some(PoolId(2)));
    secondary.bind(lease(p, b"c", 5, 100));
    secondary.check_invariants().unwrap();
    // Standalone again: it allocates prefixes.
    secondary.set_subnet_failover(SUBNET, None);
    assert!(secondary.allocate(PoolId(2), None, 0).is_some());
}

#[test]
fn release_is_kept_until_the_partner_acks_then_freed() {
    let mut sh = failover_shard(FoRole::Primary);
    let r = addr(1);
    sh.bind(lease(r, b"a", 100, 1000));
    sh.set_grant_timers(&r, 500, 800, 100 + 500 + 1000);
    sh.release(&r, 150);
    let l = sh.lease(&r).unwrap().clone();
    assert_eq!(l.state, LeaseState::Released);
    assert_eq!(
        (l.cltt, l.expires_at, l.fo.start_time_of_state),
        (150, 150, 150)
    );
    assert!(l.fo.tell_partner);
    assert_eq!(
        l.fo.partner_lifetime, 0,
        "RELEASED proposes no partner-lifetime"
    );
    assert_eq!((l.fo.t1_s, l.fo.t2_s), (500, 800));
    assert_eq!(sh.client_leases(b"a").collect::<Vec<_>>(), vec![&l]);
    assert_eq!(sh.pending_free_count(), 1);
    // Not for another client, not by allocation, whatever the time; the same client may.
    assert!(!sh.is_available(&r, b"b", 1_000_000));
    assert!(sh.is_available(&r, b"a", 1_000_000));
    for t in [150, 2000, 1_000_000] {
        let got = sh.allocate(PoolId(1), Some(r.addr), t);
        assert_ne!(got, Some(r));
    }
    sh.check_invariants().unwrap();
    let changes: Vec<_> = sh.drain_changes().collect();
    assert!(
        matches!(changes.last(), Some(LeaseChange::Upsert(l)) if l.state == LeaseState::Released)
    );
    // An ack of the earlier Bound data is stale: still kept and flagged.
    let mut old = l.clone();
    old.state = LeaseState::Bound;
    old.fo.start_time_of_state = 100;
    old.cltt = 100;
    old.fo.partner_lifetime = 1600;
    assert_eq!(sh.partner_acked(&r, &ack_of(&old)), AckOutcome::Stale);
    assert!(sh.lease(&r).is_some_and(|l| l.fo.tell_partner));
    assert_eq!(sh.lease(&r).unwrap().fo.acked_partner_lifetime, 1600);
    // The ack of the Released update frees it.
    assert_eq!(sh.partner_acked(&r, &ack_of(&l)), AckOutcome::Freed);
    assert!(sh.lease(&r).is_none());
    assert_eq!(sh.drain_changes().next_back(), Some(LeaseChange::Remove(r)));
    assert_eq!(sh.allocate(PoolId(1), Some(r.addr), 200), Some(r));
    assert_eq!(sh.partner_acked(&r, &ack_of(&l)), AckOutcome::Unknown);
    assert_eq!((sh.pending_free_count(), sh.tell_partner_count()), (0, 0));
    sh.check_invariants().unwrap();
}

#[test]
fn the_same_client_taking_a_released_lease_back_makes_the_release_ack_stale() {
    let mut sh = failover_shard(FoRole::Primary);
    let r = addr(1);
    sh.bind(lease(r, b"a", 100, 1000));
    sh.release(&r, 150);
    let released = sh.lease(&r).unwrap().clone();
    sh.bind(lease(r, b"a", 160, 1000));
    let l = sh.lease(&r).unwrap();
    assert_eq!(
        (l.state, l.fo.start_time_of_state),
        (LeaseState::Bound, 160)
    );
    assert_eq!(sh.partner_acked(&r, &ack_of(&released)), AckOutcome::Stale);
    assert_eq!(sh.lease(&r).map(|l| l.state), Some(LeaseState::Bound));
    sh.check_invariants().unwrap();
}

#[test]
fn expiry_and_ended_decline_holds_become_expired_and_wait_for_the_ack() {
    let mut sh = failover_shard(FoRole::Secondary);
    let (a, b) = (addr(0), addr(2));
    sh.bind(lease(a, b"a", 0, 100));
    sh.bind(lease(b, b"b", 0, 1000));
    sh.decline(&b, 10, 50);
    let held = sh.lease(&b).unwrap();
    assert_eq!(
        (held.state, held.fo.start_time_of_state),
        (LeaseState::Declined, 10)
    );
    assert!(held.fo.tell_partner);
    assert!(!sh.is_available(&b, b"b", 10_000), "ABANDONED is nobody's");
    assert!(!sh.is_available(&a, b"x", 100), "expired but not yet told");
    sh.drain_changes().for_each(drop);
    assert_eq!(sh.reclaim_expired(100), 2);
    for r in [a, b] {
        let l = sh.lease(&r).unwrap();
        assert_eq!(l.state, LeaseState::Expired);
        assert_eq!(l.fo.start_time_of_state, 100);
        assert!(l.fo.tell_partner);
        assert_eq!(l.fo.partner_lifetime, 0);
    }
    assert_eq!(sh.drain_changes().count(), 2);
    assert_eq!(sh.next_expiry(), None);
    assert_eq!(sh.reclaim_expired(1_000_000), 0);
    assert!(
        sh.is_available(&a, b"a", 100),
        "the same client may have it back"
    );
    sh.check_invariants().unwrap();
}

#[test]
fn partner_down_frees_unacked_leases_of_the_named_subnets_after_the_cut_off() {
    let mut sh = Shard::new(0, 1, &pools(), &[]);
    sh.set_subnet_failover(SUBNET, Some(FoRole::Primary));
    sh.set_subnet_failover(OTHER_SUBNET, Some(FoRole::Primary));
    let other = Resource::address(Ipv6Addr::from(BASE + 0x1001));
    for (i, t) in [(1u128, 100u64), (3, 200), (5, 300)] {
        sh.bind(lease(addr(i), b"a", t - 50, 1000));
        sh.release(&addr(i), t);
    }
    let mut l = lease(other, b"b", 50, 1000);
    l.subnet_id = OTHER_SUBNET;
    sh.bind(l);
    sh.release(&other, 100);
    sh.drain_changes().for_each(drop);
    assert_eq!(sh.free_unacked(&[SUBNET], 99), 0);
    assert_eq!(sh.free_unacked(&[SUBNET], 200), 2);
    assert!(sh.lease(&addr(1)).is_none() && sh.lease(&addr(3)).is_none());
    assert!(sh.lease(&addr(5)).is_some());
    assert!(
        sh.lease(&other).is_some(),
        "another relationship's subnet is left alone"
    );
    assert_eq!(
        sh.drain_changes().collect::<Vec<_>>(),
        vec![LeaseChange::Remove(addr(1)), LeaseChange::Remove(addr(3))]
    );
    assert_eq!(sh.free_unacked(&[SUBNET, OTHER_SUBNET], u64::MAX), 2);
    assert_eq!(sh.pending_free_count(), 0);
    sh.check_invariants().unwrap();
}

#[test]
fn partner_updates_replace_the_lease_without_echo_and_keep_the_largest_acked_times() {
    let mut sh = failover_shard(FoRole::Primary);
    let r = addr(2);
    sh.bind(lease(r, b"a", 100, 1000));
    sh.set_grant_timers(&r, 500, 800, 1600);
    let mine = sh.lease(&r).unwrap().clone();
    assert_eq!(sh.partner_acked(&r, &ack_of(&mine)), AckOutcome::Current);
    let l = sh.lease(&r).unwrap();
    assert!(!l.fo.tell_partner);
    assert_eq!(
        (l.fo.partner_lifetime, l.fo.acked_partner_lifetime),
        (0, 1600)
    );
    assert_eq!(sh.tell_partner_count(), 0);
    sh.drain_changes().for_each(drop);
    // The partner gave it to another client (it won the conflict rules elsewhere).
    let mut theirs = lease(r, b"b", 300, 2000);
    theirs.fo = FoData {
        tell_partner: true,
        start_time_of_state: 300,
        expiration_time: 5000,
        partner_raw_clt_time: 77,
        t1_s: 1000,
        t2_s: 1600,
        ..FoData::default()
    };
    sh.apply_partner(theirs.clone());
    let got = sh.lease(&r).unwrap().clone();
    assert_eq!(&*got.duid, b"b");
    assert!(!got.fo.tell_partner, "never echoed back");
    assert_eq!(
        (got.fo.acked_partner_lifetime, got.fo.expiration_time),
        (1600, 5000)
    );
    assert_eq!(got.fo.partner_raw_clt_time, 77);
    assert_eq!(sh.ia_leases(b"a", LeaseKind::Na, 1).count(), 0);
    assert_eq!(sh.ia_leases(b"b", LeaseKind::Na, 1).count(), 1);
    assert_eq!(
        sh.drain_changes().collect::<Vec<_>>(),
        vec![LeaseChange::Upsert(got)]
    );
    // An older expiration-time does not lower it.
    theirs.fo.expiration_time = 10;
    sh.apply_partner(theirs.clone());
    assert_eq!(sh.lease(&r).unwrap().fo.expiration_time, 5000);
    // Our renewal of it: start-time-of-state stays (same state and client), tell-partner set.
    sh.bind(lease(r, b"b", 400, 1000));
    let l = sh.lease(&r).unwrap();
    assert_eq!(
        (l.fo.start_time_of_state, l.fo.expiration_time),
        (300, 5000)
    );
    assert!(l.fo.tell_partner);
    // A partner's RELEASED frees it at once (we ack after storing).
    theirs.state = LeaseState::Released;
    sh.drain_changes().for_each(drop);
    sh.apply_partner(theirs);
    assert!(sh.lease(&r).is_none());
    assert_eq!(
        sh.drain_changes().collect::<Vec<_>>(),
        vec![LeaseChange::Remove(r)]
    );
    sh.check_invariants().unwrap();
}

#[test]
fn tell_partner_iteration_lists_exactly_the_flagged_leases_in_order() {
    let mut sh = failover_shard(FoRole::Primary);
    for i in [7u128, 1, 5, 3] {
        sh.bind(lease(addr(i), b"a", 0, 100));
    }
    let mut partner = lease(addr(9), b"p", 0, 100);
    partner.fo.tell_partner = true;
    sh.apply_partner(partner);
    let l5 = sh.lease(&addr(5)).unwrap().clone();
    assert_eq!(
        sh.partner_acked(&addr(5), &ack_of(&l5)),
        AckOutcome::Current
    );
    let told: Vec<_> = sh.tell_partner_leases().map(|l| l.resource).collect();
    assert_eq!(told, vec![addr(1), addr(3), addr(7)]);
    assert_eq!(sh.leases().count(), 5);
}

#[test]
fn switching_role_reslices_around_leases_in_use_and_standalone_frees_pending() {
    let mut sh = Shard::new(0, 1, &pools(), &[addr(5)]);
    sh.bind(lease(addr(1), b"a", 0, 100));
    sh.bind(lease(addr(2), b"b", 0, 100));
    sh.set_subnet_failover(SUBNET, Some(FoRole::Primary));
    sh.check_invariants().unwrap();
    // Odd addresses: 1 bound, 5 reserved: 30 of 32 free.
    assert_eq!(sh.pool_stats().next(), Some((PoolId(1), 32, 2)));
    sh.release(&addr(1), 10);
    assert_eq!(sh.pending_free_count(), 1);
    sh.set_subnet_failover(SUBNET, Some(FoRole::Secondary));
    assert_eq!(sh.pool_stats().next(), Some((PoolId(1), 32, 1)));
    sh.check_invariants().unwrap();
    sh.drain_changes().for_each(drop);
    sh.set_subnet_failover(SUBNET, None);
    assert_eq!(sh.pending_free_count(), 0);
    assert_eq!(
        sh.drain_changes().collect::<Vec<_>>(),
        vec![LeaseChange::Remove(addr(1))]
    );
    assert_eq!(sh.pool_stats().next(), Some((PoolId(1), 64, 2)));
    sh.check_invariants().unwrap();
}

#[test]
fn journal_replay_rebuilds_pending_and_tell_indexes() {
    let mut sh = failover_shard(FoRole::Primary);
    for i in 0..20u128 {
        sh.bind(lease(addr(i), b"a", 0, 50 + i as u32));
        match i % 4 {
            0 => sh.release(&addr(i), 5),
            1 => sh.decline(&addr(i), 5, 10),
            _ => {}
        }
    }
    sh.reclaim_expired(60);
    let l = sh.lease(&addr(3)).unwrap().clone();
    sh.partner_acked(&addr(3), &ack_of(&l));
    let mut buf = Vec::new();
    for c in sh.drain_changes() {
        journal::encode(&c, &mut buf);
    }
    let mut replayed = failover_shard(FoRole::Primary);
    for item in journal::read(&buf) {
        replayed.apply_replayed(item.unwrap());
    }
    replayed.check_invariants().unwrap();
    assert!(sh.leases().eq(replayed.leases()));
    assert!(sh.tell_partner_leases().eq(replayed.tell_partner_leases()));
    assert_eq!(sh.pending_free_count(), replayed.pending_free_count());
    assert!(sh.pending_free_count() > 0);
}

#[derive(Debug, Clone)]
enum Op {
    Grant(u8, u8),
    Release(u8),
    Decline(u8),
    Tick(u16),
    Ack(u8),
    Partner(u8, u8),
    FreeUnacked(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<u8>(), 0u8..4).prop_map(|(h, c)| Op::Grant(h, c)),
        any::<u8>().prop_map(Op::Release),
        any::<u8>().prop_map(Op::Decline),
        (0u16..300).prop_map(Op::Tick),
        any::<u8>().prop_map(Op::Ack),
        (any::<u8>(), 0u8..4).prop_map(|(i, c)| Op::Partner(i, c)),
        (0u16..300).prop_map(Op::FreeUnacked),
    ]
}

proptest! {
    /// Over random histories of a primary: allocations stay in the odd half, no resource
    /// reaches another client while Released / Expired / Declined, and indexes stay in step.
    #[test]
    fn random_failover_histories_keep_the_rules(ops in proptest::collection::vec(op(), 1..80)) {
        let mut sh = failover_shard(FoRole::Primary);
        let mut now = 1_000u64;
        let clients: [&[u8]; 4] = [b"c0", b"c1", b"c2", b"c3"];
        for op in ops {
            match op {
                Op::Grant(h, c) => {
                    let d = clients[usize::from(c)];
                    let hint = addr(u128::from(h % 64)).addr;
                    if let Some(r) = sh.allocate(PoolId(1), Some(hint), now) {
                        prop_assert_eq!(u128::from(r.addr) & 1, 1);
                        if let Some(l) = sh.lease(&r) {
                            prop_assert!(false, "allocated a resource with a lease {:?}", l);
                        }
                        sh.bind(lease(r, d, now, 100));
                    }
                }
                Op::Release(i) => sh.release(&addr(u128::from(i % 64)), now),
                Op::Decline(i) => {
                    if sh.lease(&addr(u128::from(i % 64))).is_some() {
                        sh.decline(&addr(u128::from(i % 64)), now, 60);
                    }
                }
                Op::Tick(s) => {
                    now += u64::from(s);
                    sh.reclaim_expired(now);
                }
                Op::Ack(i) => {
                    let r = addr(u128::from(i % 64));
                    if let Some(l) = sh.lease(&r).cloned() {
                        let out = sh.partner_acked(&r, &ack_of(&l));
                        prop_assert_eq!(sh.lease(&r).is_none(), out == AckOutcome::Freed);
                        prop_assert_eq!(out == AckOutcome::Freed, l.state.is_pending_free());
                    }
                }
                Op::Partner(i, c) => {
                    let mut l = lease(addr(u128::from(i % 64)), clients[usize::from(c)], now, 100);
                    l.fo.expiration_time = now + 500;
                    sh.apply_partner(l);
                }
                Op::FreeUnacked(back) => {
                    sh.free_unacked(&[SUBNET], now.saturating_sub(u64::from(back)));
                }
            }
            prop_assert!(sh.check_invariants().is_ok(), "{:?}", sh.check_invariants());
            for l in sh.leases() {
                let other: &[u8] = b"zz";
                prop_assert!(!sh.is_available(&l.resource, other, now + 1_000_000));
            }
        }
    }
}

#[test]
fn partner_down_opens_the_partner_half_only_when_ours_is_exhausted() {
    // OPEN-2: in PARTNER-DOWN after the MCLT the secondary, its even addresses all bound, goes
    // on with the primary's odd ones, skipping what this shard or another one has bound.
    let mut s = failover_shard(FoRole::Secondary);
    let pool = PoolId(1);
    let bound_elsewhere = addr(1);
    let mut own = Vec::new();
    while let Some(r) = s.allocate(pool, None, 1000) {
        assert_eq!(
            r.addr.octets()[15] & 1,
            0,
            "only even before the partner half opens"
        );
        s.bind(lease(r, &[7, own.len() as u8], 1000, 300));
        own.push(r);
    }
    assert_eq!(own.len(), 32);
    // The partner's client in this shard's table, and one bound in another shard.
    s.apply_partner(lease(addr(3), b"partner", 900, 300));
    s.open_partner_half(SUBNET, &[bound_elsewhere]);
    assert!(s.partner_half_open(SUBNET));
    let mut theirs = Vec::new();
    while let Some(r) = s.allocate(pool, None, 1000) {
        assert_eq!(r.addr.octets()[15] & 1, 1, "the partner's half");
        assert!(r != bound_elsewhere && r != addr(3), "{r:?} is bound");
        s.bind(lease(r, &[8, theirs.len() as u8], 1000, 300));
        theirs.push(r);
    }
    assert_eq!(theirs.len(), 30, "32 odd addresses less the two bound");
    // A released own address stays held until the partner acks (R46); closing the partner
    // half leaves nothing to allocate.
    s.release(&own[0], 1100);
    s.close_partner_half(SUBNET);
    assert!(!s.partner_half_open(SUBNET));
    assert_eq!(
        s.allocate(pool, None, 1100),
        None,
        "own half full, partner half closed"
    );
    // Another subnet is untouched.
    assert!(!s.partner_half_open(OTHER_SUBNET));
}
