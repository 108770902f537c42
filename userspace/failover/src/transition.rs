//! The endpoint state transition table of RFC 8156 §8 (protocol.md §1.14; R48) as one
//! `match (state, event)` (house style §7). Where the RFC's text and figure disagree the text
//! wins, as the RFC itself says. Combinations the RFC does not name return
//! [`Transition::None`] explicitly; nothing here panics.
//!
//! Decisions:
//! * A STATE whose S (STARTUP) flag is set carries the partner's *previous* state, not a
//!   current one (RFC 8156 §8.3). RFC 8156 says PARTNER-DOWN ignores it; we ignore it in every
//!   state, because the partner sends a fresh STATE as soon as it leaves STARTUP.
//! * DISCONNECT received, keepalive expiry, TCP loss and (optionally) BNDUPDs unacked for too
//!   long are all [`Event::CommunicationsFailed`] (RFC 8156 §6.5–6.6, §8, the NORMAL rows).
//! * STARTUP is left through [`crate::startup`](mod@crate::startup), not through this table
//!   (RFC 8156 §8.3).

use crate::state::{Role, ServerState};
use crate::time::FoTime;

/// What the server knows about the partner from its last STATE message (RFC 8156 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartnerState {
    /// OPTION_F_SERVER_STATE.
    pub state: ServerState,
    /// OPTION_F_SERVER_FLAGS S bit: the partner is in STARTUP.
    pub startup: bool,
    /// OPTION_F_SERVER_FLAGS C bit: the partner has talked to us before.
    pub communicated: bool,
}

/// An input to the state machine (RFC 8156 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// The partner's first STATE arrived on a new connection: comms OK (RFC 8156 §6.3).
    /// `local_record_of_partner` is false when our storage has no record of ever talking to
    /// the partner (it decides UPDREQ vs UPDREQALL in RECOVER).
    CommunicationsOk {
        /// The partner's state and flags.
        partner: PartnerState,
        /// We have stored data showing we talked to this partner before.
        local_record_of_partner: bool,
    },
    /// A later STATE on an established connection: the partner changed state.
    PartnerStateChanged(PartnerState),
    /// Comms are no longer OK: keepalive expiry, connection loss, DISCONNECT received, or
    /// BNDUPDs unacked too long (RFC 8156 §6.5–6.6).
    CommunicationsFailed,
    /// The operator declares the partner down (RFC 8156 §8; R54).
    OperatorPartnerDown,
    /// The optional auto-partner-down ("safe period") timer expired (R55).
    AutoPartnerDownTimer,
    /// UPDDONE answering our UPDREQ/UPDREQALL arrived (RFC 8156 §8).
    UpdDoneReceived,
    /// RECOVER-WAIT's MCLT wait is over (see [`recover_wait_deadline`]).
    RecoverWaitElapsed,
    /// In RECOVER, neither UPDDONE nor BNDUPDs arrived within the implementation's limit.
    UpdDoneTimeout,
}

/// Which update request to send (RFC 8156 §8, RECOVER).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UpdateRequest {
    /// UPDREQ: send what we have not acknowledged yet.
    UpdReq,
    /// UPDREQALL: send everything (our storage was lost).
    UpdReqAll,
}

/// The result of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transition {
    /// Stay in the current state; nothing to do.
    None,
    /// Move to the given state (then send STATE and persist, RFC 8156 §8).
    To(ServerState),
    /// Stay, and send this update request to the partner.
    Request(UpdateRequest),
    /// Stay, and drop the connection.
    DropConnection,
}

/// The successor of `state` on `event` for a server of `role` (RFC 8156 §8; R48).
pub fn transition(role: Role, state: ServerState, event: Event) -> Transition {
    use Event as E;
    use ServerState as S;
    use Transition as T;

    // The partner state an event reports, unless its S flag makes it meaningless.
    let reported = match event {
        E::CommunicationsOk { partner, .. } | E::PartnerStateChanged(partner) => {
            (!partner.startup).then_some(partner.state)
        }
        _ => None,
    };
    if matches!(
        event,
        E::CommunicationsOk { .. } | E::PartnerStateChanged(_)
    ) && reported.is_none()
    {
        // A STATE flagged STARTUP: ignore (RFC 8156 §8.3, §8 PARTNER-DOWN).
        return T::None;
    }

    match (state, event) {
        // STARTUP is left by crate::startup (RFC 8156 §8.3.2).
        (S::Startup, _) => T::None,

        // NORMAL (RFC 8156 §8).
        (S::Normal, E::OperatorPartnerDown) => T::To(S::PartnerDown),
        (S::Normal, E::CommunicationsFailed) => T::To(S::CommunicationsInterrupted),
        // A secondary that reached NORMAL by UPDDONE still sees the primary in CONFLICT-DONE
        // until the primary follows it (RFC 8156 §8, POTENTIAL-CONFLICT / CONFLICT-DONE).
        (S::Normal, E::CommunicationsOk { .. } | E::PartnerStateChanged(_))
            if role == Role::Secondary && reported == Some(S::ConflictDone) =>
        {
            T::None
        }
        (S::Normal, E::CommunicationsOk { .. } | E::PartnerStateChanged(_)) => {
            // An unexpected partner state: go to COMMUNICATIONS-INTERRUPTED, then take its
            // transition for the reported state (RFC 8156 §8, NORMAL). Expected states end
            // back in NORMAL, which is "no transition".
            match transition(role, S::CommunicationsInterrupted, event) {
                T::To(S::Normal) => T::None,
                T::To(next) => T::To(next),
                _ => T::To(S::CommunicationsInterrupted),
            }
        }

        // COMMUNICATIONS-INTERRUPTED (RFC 8156 §8).
        (S::CommunicationsInterrupted, E::AutoPartnerDownTimer | E::OperatorPartnerDown) => {
            T::To(S::PartnerDown)
        }
        (S::CommunicationsInterrupted, E::CommunicationsOk { .. } | E::PartnerStateChanged(_)) => {
            match reported {
                Some(S::Normal | S::CommunicationsInterrupted | S::RecoverDone) => T::To(S::Normal),
                Some(
                    S::PartnerDown
                    | S::PotentialConflict
                    | S::ConflictDone
                    | S::ResolutionInterrupted,
                ) => T::To(S::PotentialConflict),
                // RECOVER / RECOVER-WAIT: stay; the partner will UPDREQ.
                _ => T::None,
            }
        }

        // PARTNER-DOWN (RFC 8156 §8.4).
        (S::PartnerDown, E::CommunicationsOk { .. } | E::PartnerStateChanged(_)) => {
            match reported {
                Some(
                    S::Normal
                    | S::CommunicationsInterrupted
                    | S::PartnerDown
                    | S::PotentialConflict
                    | S::ResolutionInterrupted
                    | S::ConflictDone,
                ) => T::To(S::PotentialConflict),
                Some(S::RecoverDone) => T::To(S::Normal),
                // RECOVER / RECOVER-WAIT: stay; the partner will UPDREQ / UPDREQALL.
                _ => T::None,
            }
        }

        // RECOVER (RFC 8156 §8.5).
        (
            S::Recover,
            E::CommunicationsOk {
                partner,
                local_record_of_partner,
            },
        ) => match reported {
            Some(S::PotentialConflict | S::ResolutionInterrupted | S::ConflictDone) => {
                T::To(S::PotentialConflict)
            }
            _ if !local_record_of_partner && partner.communicated => {
                T::Request(UpdateRequest::UpdReqAll)
            }
            _ => T::Request(UpdateRequest::UpdReq),
        },
        (S::Recover, E::PartnerStateChanged(_)) => match reported {
            Some(S::PotentialConflict | S::ResolutionInterrupted | S::ConflictDone) => {
                T::To(S::PotentialConflict)
            }
            _ => T::None,
        },
        (S::Recover, E::UpdDoneReceived) => T::To(S::RecoverWait),
        (S::Recover, E::UpdDoneTimeout) => T::DropConnection,

        // RECOVER-WAIT (RFC 8156 §8.6); comms loss keeps the timer running.
        (S::RecoverWait, E::RecoverWaitElapsed) => T::To(S::RecoverDone),

        // RECOVER-DONE (RFC 8156 §8.7); comms loss: stay.
        (S::RecoverDone, E::CommunicationsOk { .. } | E::PartnerStateChanged(_)) => {
            match reported {
                Some(S::Normal | S::RecoverDone) => T::To(S::Normal),
                Some(S::Recover | S::RecoverWait) => T::To(S::CommunicationsInterrupted),
                Some(S::PotentialConflict) => T::To(S::PotentialConflict),
                _ => T::None,
            }
        }

        // POTENTIAL-CONFLICT (RFC 8156 §8).
        (S::PotentialConflict, E::CommunicationsFailed) => T::To(S::ResolutionInterrupted),
        (S::PotentialConflict, E::UpdDoneReceived) => match role {
            Role::Primary => T::To(S::ConflictDone),
            Role::Secondary => T::To(S::Normal),
        },

        // RESOLUTION-INTERRUPTED (RFC 8156 §8).
        (S::ResolutionInterrupted, E::OperatorPartnerDown) => T::To(S::PartnerDown),
        (S::ResolutionInterrupted, E::CommunicationsOk { .. }) => T::To(S::PotentialConflict),

        // CONFLICT-DONE (RFC 8156 §8); comms loss: stay.
        (S::ConflictDone, E::CommunicationsOk { .. } | E::PartnerStateChanged(_)) => match reported
        {
            Some(S::Normal) => T::To(S::Normal),
            _ => T::None,
        },

        // Everything else: the RFC names no transition.
        _ => T::None,
    }
}

/// When RECOVER-WAIT may move on (RFC 8156 §8.6): MCLT after the time we went down, or, if
/// that is unknown, after the time we started. `first_run` (the partner's data shows we never
/// ran failover before) makes the wait end at once.
pub const fn recover_wait_deadline(
    time_of_failure: Option<FoTime>,
    started: FoTime,
    mclt_s: u32,
    first_run: bool,
    now: FoTime,
) -> FoTime {
    if first_run {
        return now;
    }
    match time_of_failure {
        Some(t) => t.add_s(mclt_s),
        None => started.add_s(mclt_s),
    }
}

#[cfg(test)]
mod tests;
