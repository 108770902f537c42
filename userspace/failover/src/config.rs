//! Connection configuration of one failover endpoint (RFC 8156 §6.1; protocol notes §1.6, §1.7,
//! §1.17) and the local state it announces in STATE (§6.3).

use tandem_wire::failover::{ConnectFlags, ProtocolVersion, ServerFlags};

use crate::error::ApiMisuse;
use crate::state::{Role, ServerState};
use crate::time::{FoTime, SKEW_WINDOW_DEFAULT, SKEW_WINDOW_MAX};
use crate::timer::Millis;

/// Longest relationship name accepted, so every control message fits [`MAX_CONTROL_LEN`].
pub const MAX_RELATIONSHIP_NAME_LEN: usize = 255;

/// Largest connection-control message this crate emits, length prefix included: a CONNECT
/// with every option and the longest relationship name.
pub const MAX_CONTROL_LEN: usize = 2 + 8 + 8 * 4 + 6 + 4 + MAX_RELATIONSHIP_NAME_LEN + 64;

/// Configuration of one relationship's connection (RFC 8156 §6; notes §1.6, §1.7, §1.17).
/// Build with [`Config::new`] and adjust the public fields; [`Config::validate`] runs when an
/// [`crate::Endpoint`] is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Primary dials, secondary listens (RFC 8156 §6.1; R11).
    pub role: Role,
    /// OPTION_F_RELATIONSHIP_NAME sent in CONNECT and required in a received CONNECT (R7).
    pub relationship_name: Vec<u8>,
    /// Our MCLT in seconds (OPTION_F_MCLT); the secondary adopts the primary's (§6.1.2).
    pub mclt_s: u32,
    /// OPTION_F_MAX_UNACKED_BNDUPD we advertise.
    pub max_unacked_bndupd: u32,
    /// FO_KEEPALIVE_TIME in seconds: advertised in OPTION_F_KEEPALIVE_TIME, and the silence
    /// after which we declare the partner dead (dead-partner timeout; R23). Default 60.
    pub keepalive_time_s: u32,
    /// FO_SEND_TIME: send CONTACT after this long without sending (R22). Once the partner's
    /// keepalive is known the interval is the smaller of this and a quarter of it. Default 15 s.
    pub contact_interval: Millis,
    /// First reconnect delay of the primary after a failed or lost connection (R11).
    pub reconnect_initial: Millis,
    /// The reconnect delay doubles up to this cap and stays there; it never gives up (R11).
    pub reconnect_cap: Millis,
    /// OPTION_F_PROTOCOL_VERSION we send and the only one we accept (1.0).
    pub protocol_version: ProtocolVersion,
    /// OPTION_F_CONNECT_FLAGS we send.
    pub connect_flags: ConnectFlags,
    /// Messages averaged by the skew estimator (`1..=SKEW_WINDOW_MAX`; R25).
    pub skew_window: usize,
    /// Stimulus (seed draft; R13, R14). Primary: a connection opened by the partner is taken
    /// as a prompt to dial at once ([`crate::Endpoint::handle_stimulus`]). Secondary: emit one
    /// `Event::Stimulate` at start so the shell prompts the primary. Default on.
    pub stimulus: bool,
}

impl Config {
    /// Defaults of notes §1.17: MCLT 3600 s, keepalive 60 s, CONTACT every 15 s, reconnect
    /// 1 s doubling to 64 s, max-unacked 10, version 1.0, no connect flags, skew window 16,
    /// stimulus on.
    pub fn new(role: Role, relationship_name: &[u8]) -> Self {
        Self {
            role,
            relationship_name: relationship_name.to_vec(),
            mclt_s: 3600,
            max_unacked_bndupd: 10,
            keepalive_time_s: 60,
            contact_interval: Millis(15_000),
            reconnect_initial: Millis(1_000),
            reconnect_cap: Millis(64_000),
            protocol_version: ProtocolVersion::V1_0,
            connect_flags: ConnectFlags::default(),
            skew_window: SKEW_WINDOW_DEFAULT,
            stimulus: true,
        }
    }

    /// Checks every field's range: MCLT ≥ 30 s (R10), non-zero keepalive, CONTACT interval
    /// shorter than the keepalive, non-zero back-off with cap ≥ initial, name ≤ 255 octets,
    /// skew window in range.
    pub fn validate(&self) -> Result<(), ApiMisuse> {
        let bad = |field| Err(ApiMisuse::BadConfig { field });
        if self.relationship_name.len() > MAX_RELATIONSHIP_NAME_LEN {
            return bad("relationship_name");
        }
        if self.mclt_s < 30 {
            return bad("mclt_s");
        }
        if self.keepalive_time_s == 0 {
            return bad("keepalive_time_s");
        }
        if self.contact_interval.0 == 0
            || self.contact_interval >= Millis::from_s(self.keepalive_time_s)
        {
            return bad("contact_interval");
        }
        if self.reconnect_initial.0 == 0 {
            return bad("reconnect_initial");
        }
        if self.reconnect_cap < self.reconnect_initial {
            return bad("reconnect_cap");
        }
        if self.skew_window == 0 || self.skew_window > SKEW_WINDOW_MAX {
            return bad("skew_window");
        }
        Ok(())
    }
}

/// What we announce in STATE (RFC 8156 §6.3; R20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalState {
    /// OPTION_F_SERVER_STATE.
    pub state: ServerState,
    /// OPTION_F_SERVER_FLAGS (S, C, A bits).
    pub flags: ServerFlags,
    /// OPTION_F_START_TIME_OF_STATE.
    pub start_time: FoTime,
    /// OPTION_F_PARTNER_DOWN_TIME, sent only while `state` is PARTNER-DOWN.
    pub partner_down_time: Option<FoTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_each_bound_is_checked() {
        let ok = Config::new(Role::Primary, b"pair");
        assert_eq!(ok.validate(), Ok(()));
        type Edit = fn(&mut Config);
        let cases: [(Edit, &str); 8] = [
            (
                |c| c.relationship_name = vec![b'x'; 256],
                "relationship_name",
            ),
            (|c| c.mclt_s = 29, "mclt_s"),
            (|c| c.keepalive_time_s = 0, "keepalive_time_s"),
            (|c| c.contact_interval = Millis(0), "contact_interval"),
            (|c| c.contact_interval = Millis(60_000), "contact_interval"),
            (|c| c.reconnect_initial = Millis(0), "reconnect_initial"),
            (|c| c.reconnect_cap = Millis(999), "reconnect_cap"),
            (|c| c.skew_window = SKEW_WINDOW_MAX + 1, "skew_window"),
        ];
        for (edit, field) in cases {
            let mut c = ok.clone();
            edit(&mut c);
            assert_eq!(c.validate(), Err(ApiMisuse::BadConfig { field }));
        }
        let mut c = ok;
        c.relationship_name = vec![b'x'; MAX_RELATIONSHIP_NAME_LEN];
        assert_eq!(c.validate(), Ok(()));
    }
}
