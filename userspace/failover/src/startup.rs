//! What survives a restart (RFC 8156 §8.2; R50) and the STARTUP algorithm (RFC 8156 §8.3;
//! R49).
//!
//! **OPEN-8 decision:** with nothing persisted, PREVIOUS-STATE is RECOVER for *both* roles
//! (§8.3.2), not PARTNER-DOWN for a primary (§8.2). RECOVER cannot hand out a lease the
//! partner already gave away; a lone primary being commissioned reaches PARTNER-DOWN through
//! the optional "commission into PARTNER-DOWN" switch of [`startup_timer_expired`] instead.

use crate::error::PersistError;
use crate::state::{Role, ServerState};
use crate::time::FoTime;
use crate::transition::{transition, Event, PartnerState, Transition};

/// State-machine data that must be on stable storage across restarts (RFC 8156 §8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersistedState {
    /// Current endpoint state.
    pub current: ServerState,
    /// Previous endpoint state, if there was one.
    pub previous: Option<ServerState>,
    /// Start time of the current state.
    pub current_since: FoTime,
    /// Last known partner state, if ever heard.
    pub partner: Option<ServerState>,
    /// Start time of the partner's state (from its STATE message).
    pub partner_since: FoTime,
    /// Time of the last message received from the partner, if any.
    pub last_heard_from_partner: Option<FoTime>,
    /// Our last recorded operating time: TIME-OF-FAILURE of §8.3 after a crash. The server
    /// refreshes it periodically while running.
    pub last_operating_time: FoTime,
}

/// Encoding: `b"TF"`, version, current, previous (0 = none), partner (0 = none), flags
/// (bit 0: last-heard present; others MBZ), current_since, partner_since, last_heard,
/// last_operating_time (u32 BE each), CRC-32 (IEEE) of all preceding bytes (u32 BE).
const MAGIC: [u8; 2] = *b"TF";
const VERSION: u8 = 1;
const FLAG_HEARD: u8 = 0x01;

impl PersistedState {
    /// Length of the version-1 encoding.
    pub const ENCODED_LEN: usize = 2 + 1 + 3 + 1 + 4 * 4 + 4;

    /// Compact, versioned, checksummed encoding for the server to store.
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut b = [0u8; Self::ENCODED_LEN];
        b[0..2].copy_from_slice(&MAGIC);
        b[2] = VERSION;
        b[3] = self.current.wire_value();
        b[4] = self.previous.map_or(0, ServerState::wire_value);
        b[5] = self.partner.map_or(0, ServerState::wire_value);
        b[6] = if self.last_heard_from_partner.is_some() {
            FLAG_HEARD
        } else {
            0
        };
        let heard = self.last_heard_from_partner.unwrap_or_default();
        let times = [
            self.current_since,
            self.partner_since,
            heard,
            self.last_operating_time,
        ];
        for (i, t) in times.iter().enumerate() {
            b[7 + 4 * i..11 + 4 * i].copy_from_slice(&t.0.to_be_bytes());
        }
        let crc = crc32fast::hash(&b[..Self::ENCODED_LEN - 4]);
        b[Self::ENCODED_LEN - 4..].copy_from_slice(&crc.to_be_bytes());
        b
    }

    /// Decodes [`Self::to_bytes`] output. Any corruption is an error, never a panic.
    pub fn from_bytes(b: &[u8]) -> Result<Self, PersistError> {
        if b.len() < 3 {
            return Err(PersistError::WrongLength(b.len()));
        }
        if b[0..2] != MAGIC {
            return Err(PersistError::BadMagic);
        }
        if b[2] != VERSION {
            return Err(PersistError::UnsupportedVersion(b[2]));
        }
        let Ok(b) = <&[u8; Self::ENCODED_LEN]>::try_from(b) else {
            return Err(PersistError::WrongLength(b.len()));
        };
        let (body, crc) = b.split_at(Self::ENCODED_LEN - 4);
        if crc32fast::hash(body).to_be_bytes() != crc {
            return Err(PersistError::BadChecksum);
        }
        let state = |v: u8| ServerState::from_wire(v).map_err(|_| PersistError::BadState(v));
        let optional = |v: u8| if v == 0 { Ok(None) } else { state(v).map(Some) };
        if b[6] & !FLAG_HEARD != 0 {
            return Err(PersistError::BadFlags(b[6]));
        }
        let time = |i: usize| {
            FoTime(u32::from_be_bytes([
                b[7 + 4 * i],
                b[8 + 4 * i],
                b[9 + 4 * i],
                b[10 + 4 * i],
            ]))
        };
        Ok(Self {
            current: state(b[3])?,
            previous: optional(b[4])?,
            partner: optional(b[5])?,
            current_since: time(0),
            partner_since: time(1),
            last_heard_from_partner: (b[6] & FLAG_HEARD != 0).then(|| time(2)),
            last_operating_time: time(3),
        })
    }
}

/// STARTUP steps 1–2 (RFC 8156 §8.3.1): the PREVIOUS-STATE to remember while in STARTUP,
/// and the TIME-OF-FAILURE (`FoTime(0)` when nothing was stored).
///
/// A "comms OK" state is replaced by the state its comms-failed transition leads to
/// (NORMAL → COMMUNICATIONS-INTERRUPTED, POTENTIAL-CONFLICT → RESOLUTION-INTERRUPTED; the
/// others keep their state under comms loss). A stored STARTUP (crash during STARTUP) means
/// the stored previous state, or RECOVER if that is missing too.
pub fn startup(previous: Option<&PersistedState>, role: Role) -> (ServerState, FoTime) {
    let Some(p) = previous else {
        // OPEN-8: RECOVER for both roles (module doc).
        return (ServerState::Recover, FoTime(0));
    };
    let stored = match p.current {
        ServerState::Startup => p.previous.unwrap_or(ServerState::Recover),
        s => s,
    };
    let after_failure = match transition(role, stored, Event::CommunicationsFailed) {
        Transition::To(next) => next,
        _ => stored,
    };
    // Startup is never a PREVIOUS-STATE.
    let previous_state = match after_failure {
        ServerState::Startup => ServerState::Recover,
        s => s,
    };
    (previous_state, p.last_operating_time)
}

/// STARTUP step 5 (RFC 8156 §8.3.2): comms OK while in STARTUP. Returns the state to enter
/// (CURRENT := PREVIOUS, adjusted when the partner is in PARTNER-DOWN) and the comms-OK
/// transition to apply from it.
///
/// Partner in PARTNER-DOWN: its start-time-of-state later than our `time_of_failure` means it
/// went PARTNER-DOWN after we stopped ⇒ RECOVER; earlier ⇒ POTENTIAL-CONFLICT (we may both
/// have served). Equal (±5 s) is treated as "not later" ⇒ POTENTIAL-CONFLICT, the safe side.
pub fn startup_comms_ok(
    role: Role,
    previous_state: ServerState,
    time_of_failure: FoTime,
    partner: PartnerState,
    partner_since: FoTime,
    local_record_of_partner: bool,
) -> (ServerState, Transition) {
    let state = match partner.state {
        ServerState::PartnerDown if partner_since.later_than(time_of_failure) => {
            ServerState::Recover
        }
        ServerState::PartnerDown => ServerState::PotentialConflict,
        _ => previous_state,
    };
    let event = Event::CommunicationsOk {
        partner,
        local_record_of_partner,
    };
    (state, transition(role, state, event))
}

/// STARTUP step 6 (RFC 8156 §8.3.1): the STARTUP timer ran out without comms. Goes to
/// PREVIOUS-STATE, or to PARTNER-DOWN if `commission_partner_down` is configured and the
/// partner was never reached.
pub const fn startup_timer_expired(
    previous_state: ServerState,
    commission_partner_down: bool,
    ever_reached_partner: bool,
) -> ServerState {
    if commission_partner_down && !ever_reached_partner {
        return ServerState::PartnerDown;
    }
    previous_state
}

#[cfg(test)]
mod tests;
