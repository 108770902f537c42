//! Proportional allocation in one shard (RFC 8156 §4.2.2; R43–R45).

use std::net::Ipv6Addr;

use crate::share::{BackupPrefix, ShareMove, ShareTarget};
use crate::{
    AckOutcome, FoData, FoRole, Lease, LeaseChange, LeaseState, PartnerAck, PoolDef, PoolId,
    PoolRange, Resource, Shard,
};

const SUBNET: u32 = 7;

/// 16 /60s of 2001:db8:100::/56.
fn pools() -> [PoolDef; 1] {
    [PoolDef {
        id: PoolId(1),
        subnet_id: SUBNET,
        range: PoolRange::Prefixes {
            prefix: "2001:db8:100::".parse().unwrap(),
            prefix_len: 56,
            delegated_len: 60,
        },
    }]
}

/// [`pools`] in one shard.
fn shard(role: FoRole) -> Shard {
    let pools = pools();
    let mut s = Shard::new(0, 1, &pools, &[]);
    s.set_subnet_failover(SUBNET, Some(role));
    s
}

fn half() -> ShareTarget {
    ShareTarget::from_fractions(0.5, 0.1)
}

fn delegate(s: &mut Shard, r: Resource, duid: u8, now: u64) {
    s.bind(Lease {
        resource: r,
        duid: vec![0, 1, duid].into(),
        iaid: 1,
        subnet_id: SUBNET,
        preferred_s: 100,
        valid_s: 200,
        cltt: now,
        expires_at: now + 200,
        state: LeaseState::Bound,
        fo: FoData::default(),
    });
}

fn prefix(n: u16) -> Resource {
    let base = u128::from("2001:db8:100::".parse::<Ipv6Addr>().unwrap());
    Resource::prefix(Ipv6Addr::from(base + (u128::from(n) << 68)), 60)
}

fn drain(s: &mut Shard) -> Vec<LeaseChange> {
    s.drain_changes().collect()
}

fn allocate_all(s: &mut Shard, now: u64) -> Vec<Resource> {
    let mut got = Vec::new();
    while let Some(r) = s.allocate(PoolId(1), None, now) {
        delegate(s, r, got.len() as u8, now);
        got.push(r);
    }
    got
}

#[test]
fn the_primary_gives_the_configured_share_and_stops_using_it() {
    let mut p = shard(FoRole::Primary);
    let done = p.rebalance(&[SUBNET], half(), 1000);
    assert_eq!((done.given, done.reclaimed), (8, 0));
    let c = p.share_counts(SUBNET);
    assert_eq!((c.primary_free, c.backup_free), (8, 8));
    assert_eq!(p.share_pending().count(), 8);
    // Every Give is recorded (durable before it goes out); the primary allocates only the rest.
    let changes = drain(&mut p);
    assert_eq!(changes.len(), 8);
    assert!(changes.iter().all(|c| matches!(
        c,
        LeaseChange::Backup(
            _,
            Some(BackupPrefix {
                pending: Some(ShareMove::Give),
                ..
            })
        )
    )));
    let got = allocate_all(&mut p, 1000);
    assert_eq!(got.len(), 8);
    assert!(
        got.iter().all(|r| p.backup(r).is_none()),
        "used a prefix it gave away"
    );
    p.check_invariants().unwrap();
    // Nothing free is left on either side now: inside the band, no churn.
    assert_eq!(p.rebalance(&[SUBNET], half(), 1001).given, 0);
}

#[test]
fn hysteresis_keeps_small_moves_from_rebalancing() {
    let mut p = shard(FoRole::Primary);
    p.rebalance(&[SUBNET], ShareTarget::from_fractions(0.5, 0.2), 1000);
    // 8 + 8 free. Two more primary prefixes delegated: 6 + 8, target 7, band 3: no move.
    for n in 0..2 {
        let r = p.allocate(PoolId(1), None, 1000).unwrap();
        delegate(&mut p, r, n, 1000);
    }
    let done = p.rebalance(&[SUBNET], ShareTarget::from_fractions(0.5, 0.2), 1001);
    assert_eq!((done.given, done.reclaimed), (0, 0));
    // Six more: 0 + 8, target 4, band 2: reclaim 4.
    for n in 2..8 {
        let r = p.allocate(PoolId(1), None, 1000).unwrap();
        delegate(&mut p, r, n, 1000);
    }
    let done = p.rebalance(&[SUBNET], ShareTarget::from_fractions(0.5, 0.2), 1002);
    assert_eq!((done.given, done.reclaimed), (0, 4));
    p.check_invariants().unwrap();
    // A band wider than the share still fills an empty share.
    let mut q = shard(FoRole::Primary);
    let done = q.rebalance(&[SUBNET], ShareTarget::from_fractions(0.25, 0.5), 1000);
    assert_eq!(done.given, 4);
}

#[test]
fn the_secondary_delegates_only_what_it_was_given() {
    let mut s = shard(FoRole::Secondary);
    assert_eq!(
        s.allocate(PoolId(1), None, 1000),
        None,
        "nothing before POOLREQ"
    );
    for n in [3, 5] {
        s.partner_backup(&prefix(n), 900).unwrap();
    }
    let a = s.allocate(PoolId(1), None, 1000).unwrap();
    assert_eq!(a, prefix(3));
    delegate(&mut s, a, 1, 1000);
    // A hint outside its share is not taken.
    assert_eq!(
        s.allocate(PoolId(1), Some(prefix(9).addr), 1000),
        Some(prefix(5))
    );
    delegate(&mut s, prefix(5), 2, 1000);
    assert_eq!(s.allocate(PoolId(1), None, 1000), None);
    s.check_invariants().unwrap();
}

#[test]
fn a_reclaim_of_a_delegated_prefix_is_refused_and_an_unbound_one_accepted() {
    let mut s = shard(FoRole::Secondary);
    for n in [1, 2] {
        s.partner_backup(&prefix(n), 900).unwrap();
    }
    delegate(&mut s, prefix(1), 1, 1000);
    assert_eq!(
        s.partner_free(&prefix(1)),
        Err(super::ShareRefusal::Delegated)
    );
    assert_eq!(s.partner_free(&prefix(2)), Ok(()));
    assert!(s.backup(&prefix(2)).is_none());
    assert_eq!(
        s.allocate(PoolId(1), None, 1000),
        None,
        "a reclaimed prefix is the primary's"
    );
    s.check_invariants().unwrap();
}

#[test]
fn the_primary_reclaims_the_excess_and_gets_it_back_only_when_acked() {
    let mut p = shard(FoRole::Primary);
    p.rebalance(&[SUBNET], ShareTarget::from_fractions(0.75, 0.1), 1000);
    let given: Vec<(Resource, BackupPrefix)> = p.share_pending().map(|(r, b)| (*r, *b)).collect();
    for (r, b) in given {
        p.share_acked(&r, b.pending.unwrap());
    }
    assert_eq!(p.share_counts(SUBNET).backup_free, 12);
    let done = p.rebalance(&[SUBNET], ShareTarget::from_fractions(0.25, 0.1), 2000);
    assert_eq!(done.reclaimed, 8);
    let asked: Vec<Resource> = p.share_pending().map(|(r, _)| *r).collect();
    // Until the secondary accepts, they are still its own.
    assert_eq!(p.share_counts(SUBNET).primary_free, 4);
    p.share_acked(&asked[0], ShareMove::Reclaim);
    p.share_refused(&asked[1], ShareMove::Reclaim);
    let c = p.share_counts(SUBNET);
    assert_eq!((c.primary_free, c.backup_free), (5, 11));
    assert_eq!(p.backup(&asked[1]).unwrap().pending, None, "refused: stays");
    // An ack of an older Give for a prefix now being reclaimed changes nothing.
    p.share_acked(&asked[2], ShareMove::Give);
    assert_eq!(
        p.backup(&asked[2]).unwrap().pending,
        Some(ShareMove::Reclaim)
    );
    p.check_invariants().unwrap();
    // A refused Give leaves the prefix with the primary.
    let mut q = shard(FoRole::Primary);
    q.rebalance(&[SUBNET], half(), 1000);
    let r = *q.share_pending().next().unwrap().0;
    q.share_refused(&r, ShareMove::Give);
    assert!(q.backup(&r).is_none());
    q.check_invariants().unwrap();
}

#[test]
fn a_freed_delegated_prefix_returns_to_the_primary_on_both_sides() {
    // The secondary delegates a FREE-BACKUP prefix: the record goes with the delegation (the
    // prefix is the client's now), so freeing it leaves nobody's record: the primary's (R45).
    let mut s = shard(FoRole::Secondary);
    s.partner_backup(&prefix(4), 900).unwrap();
    delegate(&mut s, prefix(4), 1, 1000);
    assert!(s.backup(&prefix(4)).is_none());
    let bound = s.lease(&prefix(4)).unwrap().clone();
    s.release(&prefix(4), 1100);
    let l = s.lease(&prefix(4)).unwrap().clone();
    let ack = PartnerAck {
        state: l.state,
        start_time_of_state: l.fo.start_time_of_state,
        cltt: l.cltt,
        partner_lifetime: l.fo.partner_lifetime,
    };
    assert_eq!(s.partner_acked(&prefix(4), &ack), AckOutcome::Freed);
    assert!(s.backup(&prefix(4)).is_none());
    assert_eq!(s.allocate(PoolId(1), None, 1200), None);
    s.check_invariants().unwrap();
    // The primary: it gave the prefix; the secondary's client released it (partner update).
    let mut p = shard(FoRole::Primary);
    p.rebalance(&[SUBNET], ShareTarget::from_fractions(1.0, 0.1), 900);
    p.share_acked(&prefix(4), ShareMove::Give);
    p.apply_partner(bound);
    assert!(p.backup(&prefix(4)).is_none(), "delegated: the client's");
    p.apply_partner(l);
    assert!(p.lease(&prefix(4)).is_none());
    assert_eq!(
        allocate_all(&mut p, 1200),
        vec![prefix(4)],
        "the primary's again"
    );
    p.check_invariants().unwrap();
}

#[test]
fn backup_records_replay_and_go_when_the_subnet_leaves_failover() {
    let mut p = shard(FoRole::Primary);
    p.rebalance(&[SUBNET], half(), 1000);
    let mut again = shard(FoRole::Primary);
    for c in drain(&mut p) {
        let mut buf = Vec::new();
        crate::journal::encode(&c, &mut buf);
        let back = crate::journal::read(&buf).next().unwrap().unwrap();
        assert_eq!(back, c);
        again.apply_replayed(back);
    }
    assert_eq!(again.share_counts(SUBNET), p.share_counts(SUBNET));
    again.check_invariants().unwrap();
    again.set_subnet_failover(SUBNET, None);
    assert_eq!(again.backup_prefixes().count(), 0);
    assert_eq!(allocate_all(&mut again, 1000).len(), 16);
    again.check_invariants().unwrap();
}

#[test]
fn partner_down_opens_the_other_share_only_after_the_own_is_exhausted() {
    let mut p = shard(FoRole::Primary);
    p.rebalance(&[SUBNET], ShareTarget::from_fractions(0.875, 0.01), 1000);
    assert_eq!(p.share_counts(SUBNET).primary_free, 2);
    p.open_partner_half(SUBNET, &[]);
    let got = allocate_all(&mut p, 1000);
    assert_eq!(got.len(), 16);
    assert!(got[..2].iter().all(|r| p.backup(r).is_none()), "own first");
    p.check_invariants().unwrap();
    // The secondary in PARTNER-DOWN: its share, then the primary's.
    let mut s = shard(FoRole::Secondary);
    s.partner_backup(&prefix(0), 900).unwrap();
    s.open_partner_half(SUBNET, &[]);
    let first = s.allocate(PoolId(1), None, 1000).unwrap();
    assert_eq!(first, prefix(0));
    delegate(&mut s, first, 1, 1000);
    assert!(s.allocate(PoolId(1), None, 1000).is_some());
    s.close_partner_half(SUBNET);
    assert_eq!(s.allocate(PoolId(1), None, 1000), None);
    s.check_invariants().unwrap();
}

#[test]
fn the_record_of_a_prefix_lives_in_the_shard_of_its_slice() {
    let pools = pools();
    let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3, &pools, &[])).collect();
    for n in 0..16 {
        let r = prefix(n);
        let want = crate::prefix_slice_of(&pools, &r, 3);
        assert_eq!(want, Some(u32::from(n) % 3));
        assert_eq!(shards[0].prefix_slice_shard(&r), want);
        // Only that shard may allocate it standalone.
        let mut s = Shard::new(want.unwrap(), 3, &pools, &[]);
        assert!(std::iter::from_fn(|| {
            let got = s.allocate(PoolId(1), None, 1)?;
            delegate(&mut s, got, 0, 1);
            Some(got)
        })
        .any(|got| got == r));
    }
    assert_eq!(
        crate::prefix_slice_of(
            &pools,
            &Resource::address("2001:db8:100::".parse().unwrap()),
            3
        ),
        None
    );
    assert_eq!(
        crate::prefix_slice_of(
            &pools,
            &Resource::prefix("2001:db8:200::".parse().unwrap(), 60),
            3
        ),
        None
    );
}

#[test]
fn each_shard_of_a_secondary_delegates_the_share_of_its_slice() {
    let pools = pools();
    let mut shards: Vec<Shard> = (0..2)
        .map(|i| {
            let mut s = Shard::new(i, 2, &pools, &[]);
            s.set_subnet_failover(SUBNET, Some(FoRole::Secondary));
            s
        })
        .collect();
    for n in 0..16 {
        let r = prefix(n);
        let owner = crate::prefix_slice_of(&pools, &r, 2).unwrap() as usize;
        shards[owner].partner_backup(&r, 900).unwrap();
    }
    for s in &mut shards {
        assert_eq!(allocate_all(s, 1000).len(), 8);
        s.check_invariants().unwrap();
    }
}

#[test]
fn no_torn_journal_leaves_a_record_for_a_prefix_that_was_delegated() {
    // Whatever prefix of a secondary's journal survives a crash, a FREE-BACKUP record never
    // outlives the delegation of its prefix (else a freed prefix could come back as the
    // secondary's while the primary has taken it back).
    let mut s = shard(FoRole::Secondary);
    s.partner_backup(&prefix(4), 900).unwrap();
    delegate(&mut s, prefix(4), 1, 1000);
    s.release(&prefix(4), 1100);
    let l = s.lease(&prefix(4)).unwrap().clone();
    let ack = PartnerAck {
        state: l.state,
        start_time_of_state: l.fo.start_time_of_state,
        cltt: l.cltt,
        partner_lifetime: l.fo.partner_lifetime,
    };
    s.partner_acked(&prefix(4), &ack);
    let changes = drain(&mut s);
    for k in 0..=changes.len() {
        let mut r = shard(FoRole::Secondary);
        for c in &changes[..k] {
            r.apply_replayed(c.clone());
        }
        let delegated = changes[..k]
            .iter()
            .any(|c| matches!(c, LeaseChange::Upsert(l) if l.resource == prefix(4)));
        assert!(
            !(delegated && r.backup(&prefix(4)).is_some()),
            "after {k} of {changes:?}"
        );
        r.check_invariants().unwrap();
        if delegated && r.lease(&prefix(4)).is_none() {
            assert_eq!(
                r.allocate(PoolId(1), None, 1200),
                None,
                "freed: the primary's"
            );
        }
    }
}

#[test]
fn a_prefix_bound_in_another_shard_is_not_reclaimed() {
    let mut s = shard(FoRole::Secondary);
    s.partner_backup(&prefix(2), 900).unwrap();
    s.foreign_bound(prefix(2));
    assert!(s.backup(&prefix(2)).is_none(), "delegated: no record");
    assert_eq!(
        s.partner_free(&prefix(2)),
        Err(super::ShareRefusal::Delegated)
    );
    s.check_invariants().unwrap();
}

#[test]
fn unacknowledged_reclaims_do_not_make_the_next_pass_reclaim_again() {
    let mut p = shard(FoRole::Primary);
    p.rebalance(&[SUBNET], ShareTarget::from_fractions(0.875, 0.01), 1000);
    let given: Vec<Resource> = p.share_pending().map(|(r, _)| *r).collect();
    for r in &given {
        p.share_acked(r, ShareMove::Give);
    }
    let mut reclaimed = 0;
    for pass in 0..6 {
        let done = p.rebalance(
            &[SUBNET],
            ShareTarget::from_fractions(0.5, 0.01),
            2000 + pass,
        );
        reclaimed += done.reclaimed;
        assert_eq!(done.given, 0);
    }
    assert_eq!(reclaimed, 14 - 8, "reclaimed once, no overshoot");
    p.check_invariants().unwrap();
}

#[test]
fn a_big_pool_is_balanced_over_several_bounded_passes() {
    let pools = [PoolDef {
        id: PoolId(1),
        subnet_id: SUBNET,
        range: PoolRange::Prefixes {
            prefix: "2001:db8:100::".parse().unwrap(),
            prefix_len: 44,
            delegated_len: 60,
        },
    }];
    let mut p = Shard::new(0, 1, &pools, &[]);
    p.set_subnet_failover(SUBNET, Some(FoRole::Primary));
    let mut passes = 0;
    loop {
        let done = p.rebalance(&[SUBNET], half(), 1000);
        assert!(done.given as u128 <= crate::MOVES_PER_PASS);
        passes += 1;
        if !done.more {
            break;
        }
    }
    assert_eq!(passes, 8, "65536 / 2 in passes of 4096");
    assert_eq!(p.share_counts(SUBNET).backup_free, 32_768);
    assert_eq!(p.rebalance(&[SUBNET], half(), 1001), Default::default());
}
