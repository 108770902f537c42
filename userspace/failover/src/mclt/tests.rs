use proptest::prelude::*;

use super::*;

const HOUR: u32 = 3600;
const DAY: u32 = 24 * HOUR;

fn inputs(now: u32, acked: Option<u32>, exp: Option<u32>) -> LifetimeInputs {
    LifetimeInputs {
        now: FoTime(now),
        mclt_s: HOUR,
        desired_s: 3 * DAY,
        acked_partner_lifetime: acked.map(FoTime),
        expiration_time: exp.map(FoTime),
    }
}

/// The worked example of RFC 8156 §4.4 (protocol.md §1.11; R30): MCLT 1 h, desired 3 d, T1 = ½.
#[test]
fn rfc_worked_example() {
    let t0 = 1_000_000;
    let first = max_valid_lifetime_s(ServerState::Normal, &inputs(t0, None, None));
    assert_eq!(first, Some(HOUR));
    let proposed = partner_lifetime_to_propose(FoTime(t0), HOUR / 2, 3 * DAY);
    assert_eq!(proposed, FoTime(t0 + HOUR / 2 + 3 * DAY));
    // Renewal at T1 after the partner acked it: full desired lifetime.
    let t1 = t0 + HOUR / 2;
    let second = max_valid_lifetime_s(ServerState::Normal, &inputs(t1, Some(proposed.0), None));
    assert_eq!(second, Some(3 * DAY));
    // Next proposal: now + 1.5 d + 3 d.
    let next = partner_lifetime_to_propose(FoTime(t1), 3 * DAY / 2, 3 * DAY);
    assert_eq!(next.since(FoTime(t1)), (4 * DAY + DAY / 2) as i32);
}

#[test]
fn per_state_caps() {
    let now = 50_000;
    let i = inputs(now, Some(now + 100), Some(now + 2 * HOUR));
    assert_eq!(
        max_valid_lifetime_s(ServerState::Normal, &i),
        Some(100 + HOUR)
    );
    assert_eq!(
        max_valid_lifetime_s(ServerState::ConflictDone, &i),
        Some(100 + HOUR)
    );
    // Interrupted states also count the expiration-time we acked to the partner.
    assert_eq!(
        max_valid_lifetime_s(ServerState::CommunicationsInterrupted, &i),
        Some(3 * HOUR)
    );
    assert_eq!(
        max_valid_lifetime_s(ServerState::ResolutionInterrupted, &i),
        Some(3 * HOUR)
    );
    assert_eq!(
        max_valid_lifetime_s(ServerState::PartnerDown, &i),
        Some(3 * DAY)
    );
    for s in [
        ServerState::Startup,
        ServerState::Recover,
        ServerState::RecoverWait,
        ServerState::PotentialConflict,
    ] {
        assert_eq!(max_valid_lifetime_s(s, &i), None, "{s}");
    }
}

#[test]
fn past_acked_time_counts_as_now_and_wrap_is_handled() {
    let now = u32::MAX - 10;
    // Acked time 20 s ahead, across the wrap.
    let i = inputs(now, Some(9), None);
    assert_eq!(
        max_valid_lifetime_s(ServerState::Normal, &i),
        Some(20 + HOUR)
    );
    // Acked time in the past: just MCLT.
    let i = inputs(now, Some(now - 1000), None);
    assert_eq!(max_valid_lifetime_s(ServerState::Normal, &i), Some(HOUR));
}

fn any_inputs() -> impl Strategy<Value = LifetimeInputs> {
    (
        any::<u32>(),
        0u32..10 * DAY,
        any::<u32>(),
        proptest::option::of(any::<i32>()),
        proptest::option::of(any::<i32>()),
    )
        .prop_map(|(now, mclt_s, desired_s, acked, exp)| LifetimeInputs {
            now: FoTime(now),
            mclt_s,
            desired_s,
            acked_partner_lifetime: acked.map(|d| FoTime(now).add_s(d as u32)),
            expiration_time: exp.map(|d| FoTime(now).add_s(d as u32)),
        })
}

/// The RFC bound of `state`, as an absolute expiry, computed independently with i64.
fn bound_offset(state: ServerState, i: &LifetimeInputs) -> Option<i64> {
    let off = |t: Option<FoTime>| t.map_or(0, |t| i64::from(t.since(i.now)).max(0));
    match state {
        ServerState::Normal | ServerState::ConflictDone | ServerState::RecoverDone => {
            Some(off(i.acked_partner_lifetime) + i64::from(i.mclt_s))
        }
        ServerState::CommunicationsInterrupted | ServerState::ResolutionInterrupted => {
            Some(off(i.acked_partner_lifetime).max(off(i.expiration_time)) + i64::from(i.mclt_s))
        }
        _ => None,
    }
}

proptest! {
    #[test]
    fn never_exceeds_rfc_bound_or_desired(i in any_inputs()) {
        for s in ServerState::ALL {
            let Some(life) = max_valid_lifetime_s(s, &i) else { continue };
            prop_assert!(life <= i.desired_s);
            prop_assert!(life <= MAX_OFFSET_S);
            if let Some(bound) = bound_offset(s, &i) {
                prop_assert!(i64::from(life) <= bound, "{s}: {life} > {bound}");
            }
        }
    }

    #[test]
    fn monotonic_in_mclt_desired_and_acked(i in any_inputs(), more in 0u32..DAY) {
        for s in ServerState::ALL {
            let Some(base) = max_valid_lifetime_s(s, &i) else { continue };
            let bigger_mclt = LifetimeInputs { mclt_s: i.mclt_s + more, ..i };
            prop_assert!(max_valid_lifetime_s(s, &bigger_mclt).unwrap_or(0) >= base);
            let bigger_desired =
                LifetimeInputs { desired_s: i.desired_s.saturating_add(more), ..i };
            prop_assert!(max_valid_lifetime_s(s, &bigger_desired).unwrap_or(0) >= base);
            // A later acked time (not past the 2^31 horizon) never shrinks the lifetime.
            let acked = i.acked_partner_lifetime.unwrap_or(i.now);
            let ahead = i64::from(acked.since(i.now));
            if ahead >= 0 && ahead + i64::from(more) <= i64::from(i32::MAX) {
                let later_ack =
                    LifetimeInputs { acked_partner_lifetime: Some(acked.add_s(more)), ..i };
                prop_assert!(max_valid_lifetime_s(s, &later_ack).unwrap_or(0) >= base);
            }
        }
    }

    #[test]
    fn full_desired_when_ack_covers_it(
        now in any::<u32>(),
        desired in 0u32..30 * DAY,
        mclt in 30u32..DAY,
    ) {
        let i = LifetimeInputs {
            now: FoTime(now),
            mclt_s: mclt,
            desired_s: desired,
            acked_partner_lifetime: Some(FoTime(now).add_s(desired)),
            expiration_time: None,
        };
        prop_assert_eq!(max_valid_lifetime_s(ServerState::Normal, &i), Some(desired));
    }

    #[test]
    fn proposal_leads_now_by_t1_plus_desired(
        now in any::<u32>(),
        t1 in any::<u32>(),
        desired in any::<u32>(),
    ) {
        let p = partner_lifetime_to_propose(FoTime(now), t1, desired);
        let lead = i64::from(p.since(FoTime(now)));
        prop_assert!(lead >= 0);
        prop_assert_eq!(lead, (i64::from(t1) + i64::from(desired)).min(i64::from(MAX_OFFSET_S)));
    }
}
