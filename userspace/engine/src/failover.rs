//! The engine's view of its failover relationships (RFC 8156) and the per-packet rules it
//! implies: who answers (§8, R47), who allocates (§4.2.1, R41, R42) and how long a client may
//! keep what it is given (§4.4, §7.3; R29, R30).
//!
//! The server owns the relationships (`tandem_failover::relationship::Relationship`) and
//! hands the engine a [`FailoverView`] whenever a state changes ([`crate::Engine::set_failover`]).
//! Subnets outside every relationship behave exactly as without failover.

use tandem_failover::mclt::{max_valid_lifetime_s, partner_lifetime_to_propose, LifetimeInputs};
use tandem_failover::state::{Responsiveness, Role, ServerState};
use tandem_failover::time::FoTime;
use tandem_lease::{FoRole, Lease};
use tandem_wire::MessageType;

use crate::plan::timers;
use crate::policy::{Lifetimes, SubnetId};
use crate::DropReason;

/// Unix time of 2000-01-01T00:00:00Z, the failover epoch (RFC 8156 §7.1).
const UNIX_2000: u64 = tandem_wire::failover::FailoverTime::UNIX_OFFSET_S;

/// Failover state of every relationship that serves some of this server's subnets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailoverView {
    /// The relationships; a subnet listed by two of them belongs to the first.
    pub relationships: Vec<RelationshipView>,
}

/// One relationship as the engine needs it (RFC 8156 §3, §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipView {
    /// This server's role in the relationship.
    pub role: Role,
    /// This server's current failover state.
    pub state: ServerState,
    /// The relationship's MCLT (seconds).
    pub mclt_s: u32,
    /// When this server entered `state` (Unix s).
    pub entered_state_at: u64,
    /// The subnets the relationship serves.
    pub subnets: Vec<SubnetId>,
}

/// The failover facts of the link a packet arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FoLink {
    pub(crate) role: Role,
    pub(crate) state: ServerState,
    pub(crate) mclt_s: u32,
}

impl FoLink {
    /// Drops what this state does not answer (RFC 8156 §8; R47): nothing in STARTUP,
    /// POTENTIAL-CONFLICT, RECOVER and RECOVER-WAIT; only Renew when renew-responsive
    /// (the secondary in NORMAL, RECOVER-DONE). Renews carry our Server ID (RFC 8415 §16.6),
    /// so a Renew that reaches here is addressed to us.
    pub(crate) fn admit(&self, ty: MessageType) -> Result<(), DropReason> {
        match self.state.responsiveness(self.role) {
            Responsiveness::Responsive => Ok(()),
            Responsiveness::RenewResponsive if ty == MessageType::Renew => Ok(()),
            Responsiveness::RenewResponsive => Err(DropReason::FailoverRenewOnly),
            _ => Err(DropReason::FailoverUnresponsive),
        }
    }

    /// May this state hand out resources not yet bound to the client (RFC 8156 §4.2, §8)?
    pub(crate) fn may_allocate(&self) -> bool {
        self.state.responsiveness(self.role) == Responsiveness::Responsive
            && self.state.may_allocate_own_pool()
    }

    /// The lease crate's allocation role.
    pub(crate) fn shard_role(&self) -> FoRole {
        match self.role {
            Role::Secondary => FoRole::Secondary,
            _ => FoRole::Primary,
        }
    }

    /// The lifetimes to give for a resource whose current lease (if any) is `old`:
    /// `policy`, with the valid lifetime cut to the MCLT bound of this state (R29), preferred
    /// cut to at most valid and T1/T2 to ½ and ⅘ of the cut preferred lifetime, as in the
    /// RFC 8156 §4.4 example. Uncut lifetimes are `policy` unchanged.
    pub(crate) fn lifetimes(&self, policy: Lifetimes, old: Option<&Lease>, now: u64) -> Lifetimes {
        let inputs = LifetimeInputs {
            now: fo_time(now),
            mclt_s: self.mclt_s,
            desired_s: policy.valid_s,
            acked_partner_lifetime: old.and_then(|l| opt_fo_time(l.fo.acked_partner_lifetime)),
            expiration_time: old.and_then(|l| opt_fo_time(l.fo.expiration_time)),
        };
        let valid_s = max_valid_lifetime_s(self.state, &inputs).unwrap_or(0);
        if valid_s >= policy.valid_s {
            return policy;
        }
        let preferred_s = policy.preferred_s.min(valid_s);
        let (t1, t2) = timers(&policy);
        let (t1_cut, t2_cut) = timers(&Lifetimes {
            preferred_s,
            valid_s,
            t1_s: None,
            t2_s: None,
        });
        Lifetimes {
            preferred_s,
            valid_s,
            t1_s: Some(t1.min(t1_cut)),
            t2_s: Some(t2.min(t2_cut)),
        }
    }
}

/// The partner-lifetime to propose (Unix s) for a grant at `now` with T1 `t1_s` and desired
/// lifetime `desired_s` (RFC 8156 §4.4; R30).
pub(crate) fn partner_lifetime(now: u64, t1_s: u32, desired_s: u32) -> u64 {
    let at = partner_lifetime_to_propose(fo_time(now), t1_s, desired_s);
    unix_time(at, now)
}

/// A Unix time as failover time (seconds since 2000 modulo 2^32).
pub(crate) fn fo_time(unix: u64) -> FoTime {
    FoTime(unix.wrapping_sub(UNIX_2000) as u32)
}

/// A stored Unix time (0 = none) as failover time.
fn opt_fo_time(unix: u64) -> Option<FoTime> {
    (unix != 0).then(|| fo_time(unix))
}

/// A failover time as Unix time, taking the epoch of the one within ±68 years of `now`.
pub(crate) fn unix_time(t: FoTime, now: u64) -> u64 {
    now.saturating_add_signed(i64::from(t.since(fo_time(now))))
}

impl RelationshipView {
    /// In PARTNER-DOWN, once MCLT has passed since entering it: the cut-off for
    /// `Shard::free_unacked`, `now − MCLT` (RFC 8156 §8.4.1; R56). A Released / Expired lease is
    /// then freed MCLT after the later of entering PARTNER-DOWN and its start-time-of-state.
    pub fn free_unacked_before(&self, now: u64) -> Option<u64> {
        let due = self.entered_state_at.saturating_add(u64::from(self.mclt_s));
        (self.state == ServerState::PartnerDown && now >= due)
            .then(|| now.saturating_sub(u64::from(self.mclt_s)))
    }
}

impl FailoverView {
    /// The relationship serving `subnet`, if any.
    pub(crate) fn link(&self, subnet: SubnetId) -> Option<FoLink> {
        self.relationships
            .iter()
            .find(|r| r.subnets.contains(&subnet))
            .map(|r| FoLink {
                role: r.role,
                state: r.state,
                mclt_s: r.mclt_s,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(role: Role, state: ServerState) -> FoLink {
        FoLink {
            role,
            state,
            mclt_s: 3600,
        }
    }

    #[test]
    fn time_conversion_round_trips_near_now() {
        let now = 1_800_000_000;
        assert_eq!(fo_time(UNIX_2000), FoTime(0));
        for t in [now, now + 3 * 86_400, now - 100] {
            assert_eq!(unix_time(fo_time(t), now), t);
        }
        assert_eq!(opt_fo_time(0), None);
    }

    #[test]
    fn admission_follows_responsiveness() {
        use MessageType::*;
        let p = link(Role::Primary, ServerState::Normal);
        let s = link(Role::Secondary, ServerState::Normal);
        let down = link(Role::Secondary, ServerState::Recover);
        for ty in [Solicit, Request, Renew, Rebind, Release, InformationRequest] {
            assert_eq!(p.admit(ty), Ok(()));
            assert_eq!(down.admit(ty), Err(DropReason::FailoverUnresponsive));
        }
        assert_eq!(s.admit(Renew), Ok(()));
        for ty in [Solicit, Request, Rebind, Release, Decline, Confirm] {
            assert_eq!(s.admit(ty), Err(DropReason::FailoverRenewOnly));
        }
        assert!(p.may_allocate() && !s.may_allocate() && !down.may_allocate());
        assert!(!link(Role::Primary, ServerState::RecoverDone).may_allocate());
        assert_eq!(s.shard_role(), FoRole::Secondary);
    }

    #[test]
    fn unacked_leases_are_freed_only_mclt_into_partner_down() {
        let mut r = RelationshipView {
            role: Role::Primary,
            state: ServerState::PartnerDown,
            mclt_s: 3600,
            entered_state_at: 10_000,
            subnets: vec![SubnetId(1)],
        };
        assert_eq!(r.free_unacked_before(13_599), None);
        assert_eq!(r.free_unacked_before(13_600), Some(10_000));
        assert_eq!(r.free_unacked_before(20_000), Some(16_400));
        r.state = ServerState::CommunicationsInterrupted;
        assert_eq!(r.free_unacked_before(20_000), None);
    }

    #[test]
    fn lifetimes_are_cut_to_the_mclt_and_timers_follow() {
        let policy = Lifetimes {
            preferred_s: 2 * 86_400,
            valid_s: 3 * 86_400,
            t1_s: None,
            t2_s: None,
        };
        let now = 1_800_000_000;
        let got = link(Role::Primary, ServerState::Normal).lifetimes(policy, None, now);
        assert_eq!((got.preferred_s, got.valid_s), (3600, 3600));
        assert_eq!(timers(&got), (1800, 2880));
        let pd = link(Role::Primary, ServerState::PartnerDown).lifetimes(policy, None, now);
        assert_eq!(pd, policy, "no MCLT cap in PARTNER-DOWN");
    }
}
