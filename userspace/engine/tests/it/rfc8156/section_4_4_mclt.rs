//! RFC 8156 §4.4 and §7.3 (lazy updates and the MCLT; R29, R30): lifetimes given to clients
//! never run past what the partner acked plus MCLT, and the partner-lifetime proposed leads
//! the client so that the renewal at T1 can have the desired lifetime.

use std::collections::HashMap;

use proptest::prelude::*;
use tandem_engine::policy::{Lifetimes, Policy};
use tandem_failover::{Role, ServerState};
use tandem_lease::LeaseKind;

use super::*;
use crate::common::*;

const DAY: u32 = 86_400;

/// Subnet 1 with the RFC example's desired lifetime: 3 days, T1 = ½.
fn three_day_policy() -> Policy {
    let mut p = policy();
    p.subnets[0].lifetimes = Lifetimes {
        preferred_s: 3 * DAY,
        valid_s: 3 * DAY,
        t1_s: None,
        t2_s: None,
    };
    p
}

#[test]
fn rfc_example_one_hour_first_then_three_days_after_the_ack() {
    let mut h = with_policy(three_day_policy(), Role::Primary, ServerState::Normal);
    let t0 = h.now;
    let p = h.direct(&request(1)).unwrap();
    let ia = p.na(1);
    let addr = ia.leases[0].addr;
    // Nothing acked yet: MCLT.
    assert_eq!((ia.leases[0].preferred, ia.leases[0].valid), (3600, 3600));
    assert_eq!((ia.t1, ia.t2), (1800, 2880));
    let l = h.shard.lease(&na(addr)).unwrap().clone();
    assert!(l.fo.tell_partner);
    assert_eq!(l.fo.start_time_of_state, t0);
    assert_eq!((l.fo.t1_s, l.fo.t2_s), (1800, 2880));
    // partner-lifetime = now + ½·actual + desired = now + 0.5 h + 3 d.
    assert_eq!(l.fo.partner_lifetime, t0 + 1800 + 3 * u64::from(DAY));
    assert_eq!(l.expires_at, t0 + 3600);
    // The partner acks the BNDUPD.
    h.shard.partner_acked(&na(addr), &ack_current(&l));
    let l = h.shard.lease(&na(addr)).unwrap().clone();
    assert!(!l.fo.tell_partner);
    assert_eq!(l.fo.acked_partner_lifetime, t0 + 1800 + 3 * u64::from(DAY));
    // Renewal at T1: 3 d remain acked, + MCLT > desired: the client gets 3 d.
    h.now = t0 + 1800;
    let p = h.direct(&renew(1, addr)).unwrap();
    assert_eq!(p.na(1).leases[0].valid, 3 * DAY);
    assert_eq!(p.na(1).t1, 3 * DAY / 2);
    let l = h.shard.lease(&na(addr)).unwrap();
    // Next partner-lifetime = now + 1.5 d + 3 d = now + 4.5 d.
    assert_eq!(l.fo.partner_lifetime, h.now + 9 * u64::from(DAY) / 2);
    assert!(l.fo.tell_partner);
    assert_eq!(l.fo.start_time_of_state, t0, "still ACTIVE since t0");
}

#[test]
fn without_an_ack_renewals_stay_at_the_mclt() {
    let mut h = with_policy(three_day_policy(), Role::Primary, ServerState::Normal);
    let p = h.direct(&request(1)).unwrap();
    let addr = p.na(1).leases[0].addr;
    for _ in 0..5 {
        h.now += 1800;
        let p = h.direct(&renew(1, addr)).unwrap();
        assert_eq!(p.na(1).leases[0].valid, MCLT_S);
    }
}

#[test]
fn communications_interrupted_also_counts_what_we_acked_to_the_partner() {
    let mut h = with_policy(three_day_policy(), Role::Secondary, ServerState::Normal);
    let addr = a("2001:db8:1::101");
    let mut theirs = Lease {
        resource: na(addr),
        duid: client(1).into(),
        iaid: 1,
        subnet_id: 1,
        preferred_s: 3 * DAY,
        valid_s: 3 * DAY,
        cltt: NOW - 100,
        expires_at: NOW + 3 * u64::from(DAY),
        state: tandem_lease::LeaseState::Bound,
        fo: tandem_lease::FoData::default(),
    };
    theirs.fo.expiration_time = NOW + 2 * u64::from(DAY);
    h.shard.apply_partner(theirs);
    // NORMAL: only acked-partner-lifetime counts (none): MCLT.
    let p = h.direct(&renew(1, addr)).unwrap();
    assert_eq!(p.na(1).leases[0].valid, MCLT_S);
    set_state(
        &mut h,
        Role::Secondary,
        ServerState::CommunicationsInterrupted,
    );
    let p = h.direct(&renew(1, addr)).unwrap();
    assert_eq!(p.na(1).leases[0].valid, 2 * DAY + MCLT_S);
    set_state(&mut h, Role::Secondary, ServerState::PartnerDown);
    let p = h.direct(&renew(1, addr)).unwrap();
    assert_eq!(p.na(1).leases[0].valid, 3 * DAY, "no cap in PARTNER-DOWN");
}

#[test]
fn mixed_reply_stores_the_reply_timers_on_every_lease() {
    // Subnet 1 as in the RFC 8415 tests: NA 3600/7200 (cut to 3600), PD 1800/3600 (not cut).
    let mut h = harness(Role::Primary, ServerState::Normal);
    let req = Msg::new(REQUEST, 1)
        .client_id(&client(1))
        .server_id(SERVER_DUID)
        .ia_na(1, &[])
        .ia_pd(2, &[])
        .build();
    let p = h.direct(&req).unwrap();
    assert_eq!(p.na(1).leases[0].valid, 3600);
    assert_eq!((p.na(1).t1, p.na(1).t2), (900, 1440));
    let ups = upserts(&h.changes());
    for kind in [LeaseKind::Na, LeaseKind::Pd] {
        let r = ups
            .iter()
            .find(|l| l.resource.kind == kind)
            .unwrap()
            .resource;
        let l = h.shard.lease(&r).unwrap();
        assert_eq!((l.fo.t1_s, l.fo.t2_s), (900, 1440), "{kind:?}");
        let desired = if kind == LeaseKind::Na { 7200 } else { 3600 };
        assert_eq!(l.fo.partner_lifetime, NOW + 900 + desired, "{kind:?}");
    }
    // The last record of each lease carries the final timers.
    let last_na = ups
        .iter()
        .rev()
        .find(|l| l.resource.kind == LeaseKind::Na)
        .unwrap();
    assert_eq!(last_na.fo.t1_s, 900);
}

#[derive(Debug, Clone)]
enum Step {
    Wait(u32),
    Request(u16),
    Renew(u16),
    Release(u16),
    AckAll,
    AckSome(u16, u32),
    PartnerAcked(u16, u32),
    State(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u32..20_000).prop_map(Step::Wait),
        (0u16..6).prop_map(Step::Request),
        (0u16..6).prop_map(Step::Renew),
        (0u16..6).prop_map(Step::Release),
        Just(Step::AckAll),
        (0u16..6, 0u32..400_000).prop_map(|(c, x)| Step::AckSome(c, x)),
        (0u16..6, 0u32..400_000).prop_map(|(c, x)| Step::PartnerAcked(c, x)),
        (0u8..5).prop_map(Step::State),
    ]
}

const STATES: [ServerState; 5] = [
    ServerState::Normal,
    ServerState::CommunicationsInterrupted,
    ServerState::ResolutionInterrupted,
    ServerState::ConflictDone,
    ServerState::PartnerDown,
];

/// The R29 bound, written out independently of the failover crate.
fn bound(state: ServerState, now: u64, acked: u64, expiration: u64) -> u64 {
    let ahead = |t: u64| t.saturating_sub(now);
    match state {
        ServerState::PartnerDown => u64::MAX,
        ServerState::CommunicationsInterrupted | ServerState::ResolutionInterrupted => {
            ahead(acked).max(ahead(expiration)) + u64::from(MCLT_S)
        }
        _ => ahead(acked) + u64::from(MCLT_S),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// R29 over random histories: no valid lifetime given exceeds the bound of the state,
    /// computed from what the lease held before the grant; preferred <= valid, T1 <= T2, and
    /// the stored lease matches the reply.
    #[test]
    fn no_granted_lifetime_exceeds_the_mclt_bound(steps in proptest::collection::vec(step(), 1..60)) {
        let mut h = with_policy(three_day_policy(), Role::Primary, ServerState::Normal);
        let mut state = ServerState::Normal;
        let mut addrs: HashMap<u16, Ipv6Addr> = HashMap::new();
        for s in steps {
            let msg = match s {
                Step::Wait(d) => { h.now += u64::from(d); continue; }
                Step::State(i) => {
                    state = STATES[usize::from(i)];
                    set_state(&mut h, Role::Primary, state);
                    continue;
                }
                Step::AckAll => {
                    let all: Vec<_> = h.shard.tell_partner_leases().cloned().collect();
                    for l in all {
                        h.shard.partner_acked(&l.resource, &ack_current(&l));
                    }
                    continue;
                }
                Step::AckSome(c, extra) | Step::PartnerAcked(c, extra) => {
                    let Some(addr) = addrs.get(&c) else { continue };
                    let Some(l) = h.shard.lease(&na(*addr)).cloned() else { continue };
                    if matches!(s, Step::AckSome(..)) {
                        // A stale ack with an arbitrary partner-lifetime.
                        let mut ack = ack_current(&l);
                        ack.cltt = ack.cltt.wrapping_add(1);
                        ack.partner_lifetime = h.now + u64::from(extra);
                        h.shard.partner_acked(&l.resource, &ack);
                    } else {
                        // The partner renewed it and we acked its partner-lifetime.
                        let mut theirs = l.clone();
                        theirs.fo.expiration_time = h.now + u64::from(extra);
                        theirs.cltt = h.now;
                        h.shard.apply_partner(theirs);
                    }
                    continue;
                }
                Step::Request(c) => request(c),
                Step::Renew(c) => match addrs.get(&c) {
                    Some(addr) => renew(c, *addr),
                    None => continue,
                },
                Step::Release(c) => match addrs.get(&c) {
                    Some(addr) => release(c, *addr),
                    None => continue,
                },
            };
            let before: HashMap<Resource, (u64, u64)> = h
                .shard
                .leases()
                .map(|l| (l.resource, (l.fo.acked_partner_lifetime, l.fo.expiration_time)))
                .collect();
            let Ok(p) = h.direct(&msg) else { continue };
            for ia in &p.ias {
                for l in ia.leases.iter().filter(|l| l.valid > 0) {
                    let (acked, exp) = before.get(&na(l.addr)).copied().unwrap_or((0, 0));
                    let cap = bound(state, h.now, acked, exp);
                    prop_assert!(u64::from(l.valid) <= cap, "{} > {} in {}", l.valid, cap, state);
                    prop_assert!(l.valid <= 3 * DAY);
                    prop_assert!(l.preferred <= l.valid);
                    prop_assert!(ia.t1 <= ia.t2 && ia.t1 <= l.preferred);
                    let stored = h.shard.lease(&na(l.addr)).unwrap();
                    prop_assert_eq!(stored.expires_at, h.now + u64::from(l.valid));
                    prop_assert_eq!(stored.fo.t1_s, ia.t1);
                    prop_assert_eq!(
                        stored.fo.partner_lifetime,
                        h.now + u64::from(ia.t1) + 3 * u64::from(DAY)
                    );
                    prop_assert!(stored.fo.tell_partner);
                }
                if let (Some(l), Step::Request(c)) = (ia.leases.first(), &s) {
                    addrs.insert(*c, l.addr);
                }
            }
            prop_assert!(h.shard.check_invariants().is_ok());
        }
    }
}
