//! Lifetime bounds under lazy update and the MCLT (RFC 8156 §4.3, §4.4, §7.3; protocol.md
//! §1.11; R29, R30).
//!
//! The fundamental rule: a client's expiry must never be later than
//! `max(acked-partner-lifetime, now) + MCLT`. In COMMUNICATIONS-INTERRUPTED and
//! RESOLUTION-INTERRUPTED the partner-lifetime we acknowledged *to* the partner (our
//! expiration-time) also counts; in PARTNER-DOWN there is no cap. All times are wrap-aware.

use crate::state::{LifetimeCap, ServerState};
use crate::time::FoTime;

/// Largest offset from `now` this module ever produces: times further than 2^31 − 1 s ahead
/// would compare as "in the past" under wrap-aware arithmetic.
pub const MAX_OFFSET_S: u32 = i32::MAX as u32;

/// The per-lease inputs of the lifetime decision (RFC 8156 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LifetimeInputs {
    /// Now.
    pub now: FoTime,
    /// The relationship's MCLT (configured on the primary, imposed by CONNECT).
    pub mclt_s: u32,
    /// What policy would give without failover.
    pub desired_s: u32,
    /// acked-partner-lifetime: the largest partner-lifetime the partner acked, if any.
    pub acked_partner_lifetime: Option<FoTime>,
    /// expiration-time: the largest partner-lifetime we acked to the partner, if any.
    pub expiration_time: Option<FoTime>,
}

/// Seconds from `now` to `t`, or 0 when `t` is not in the future.
fn ahead_s(t: Option<FoTime>, now: FoTime) -> u32 {
    t.map_or(0, |t| u32::try_from(t.since(now)).unwrap_or(0))
}

/// The largest valid lifetime (seconds from `now`) the server may give a client in `state`
/// (RFC 8156 §4.4, §7.3; R29). `None`: the state gives no leases at all.
///
/// * NORMAL, CONFLICT-DONE, RECOVER-DONE: `min(desired, max(acked, now) + MCLT − now)`.
/// * COMMUNICATIONS-INTERRUPTED, RESOLUTION-INTERRUPTED:
///   `min(desired, max(acked, now, expiration-time) + MCLT − now)`.
/// * PARTNER-DOWN: `desired`.
pub fn max_valid_lifetime_s(state: ServerState, inputs: &LifetimeInputs) -> Option<u32> {
    let now = inputs.now;
    let headroom_s = match state.lifetime_cap() {
        LifetimeCap::NoLeases => return None,
        LifetimeCap::Uncapped => return Some(inputs.desired_s.min(MAX_OFFSET_S)),
        LifetimeCap::Acked => ahead_s(inputs.acked_partner_lifetime, now),
        LifetimeCap::AckedOrPartner => {
            ahead_s(inputs.acked_partner_lifetime, now).max(ahead_s(inputs.expiration_time, now))
        }
    };
    let cap_s = headroom_s.saturating_add(inputs.mclt_s).min(MAX_OFFSET_S);
    Some(inputs.desired_s.min(cap_s))
}

/// The partner-lifetime to propose in a BNDUPD (F_PARTNER_LIFETIME; RFC 8156 §4.4, §7.3;
/// R30): `now + t1 + desired`, so that at the client's renewal (T1) the acked time still
/// covers the full desired lifetime. `t1_s` is the T1 sent to the client (the RFC example
/// uses T1 = ½ · actual). Clamped to [`MAX_OFFSET_S`] ahead of `now`.
pub fn partner_lifetime_to_propose(now: FoTime, t1_s: u32, desired_s: u32) -> FoTime {
    now.add_s(t1_s.saturating_add(desired_s).min(MAX_OFFSET_S))
}

#[cfg(test)]
mod tests;
