//! Failover endpoint states and their per-state rules (RFC 8156 §8; protocol.md §1.14, R47).
//!
//! State names are RFC 8156's own. Wire values are those of OPTION_F_SERVER_STATE (132).
//!
//! **OPEN-1 decision (value 7):** 7 is RECOVER-WAIT. Draft -06 printed 7 as SHUTDOWN and gave
//! RECOVER-WAIT no value although RECOVER-WAIT is sent in STATE; Wireshark and IANA-derived
//! headers decode 7 as RECOVER-WAIT. RFC 8156 defines no SHUTDOWN *state* (no section, no
//! transitions; an orderly stop is a DISCONNECT with ServerShuttingDown), so there is no
//! `Shutdown` variant and value 7 is never decoded as SHUTDOWN.
//!
//! **OPEN-2 decision:** in PARTNER-DOWN, once this server's own half is exhausted and the MCLT
//! has passed since entering PARTNER-DOWN, the partner's free addresses (§8.4.1: "SHOULD NOT",
//! and only after MCLT) and delegable prefixes (§4.2.2) may be used. §4.2.1's "MUST NOT" is read
//! as the rule for every other state: after entry + MCLT every lease the partner could have
//! granted without our knowledge has run out (its lifetimes were capped at MCLT past what we
//! acked), so the whole pool is safe, and a surviving server can serve new clients from it.
//!
//! **OPEN-5 decision:** a lease bound when PARTNER-DOWN began may go to another client MCLT
//! after the latest of its expiry and the partner lifetimes exchanged, and never before entry +
//! MCLT. §8.4.1's "now + MCLT" is read as "now" = the moment of entry (a floor that moved with
//! the clock would never be reached), so both sections give entry + MCLT.

use core::fmt;

use crate::error::PeerMisbehaved;
use crate::time::FoTime;

/// One failover endpoint state (RFC 8156 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerState {
    /// STARTUP (1): never sent as a state; signalled by the S flag (RFC 8156 §8.3).
    Startup,
    /// NORMAL (2).
    Normal,
    /// COMMUNICATIONS-INTERRUPTED (3).
    CommunicationsInterrupted,
    /// PARTNER-DOWN (4).
    PartnerDown,
    /// POTENTIAL-CONFLICT (5).
    PotentialConflict,
    /// RECOVER (6).
    Recover,
    /// RECOVER-WAIT (7; OPEN-1, see module doc).
    RecoverWait,
    /// RECOVER-DONE (8).
    RecoverDone,
    /// RESOLUTION-INTERRUPTED (9).
    ResolutionInterrupted,
    /// CONFLICT-DONE (10; primary only).
    ConflictDone,
}

/// This server's role in the relationship (RFC 8156 §3): the primary dials, the secondary
/// listens (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// The primary server.
    Primary,
    /// The secondary server.
    Secondary,
}

/// Which client requests a server answers in a state (RFC 8156 §8, protocol.md §1.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Responsiveness {
    /// Answers every client request.
    Responsive,
    /// Answers only Renews addressed to it (its own Server ID), for leases in that Renew.
    RenewResponsive,
    /// MUST NOT process client requests.
    Unresponsive,
}

/// The kind of resource an allocation rule is asked about (RFC 8156 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resource {
    /// IPv6 address: independent allocation by bit 127 (§4.2.1).
    Address,
    /// Delegable prefix: proportional allocation (§4.2.2).
    Prefix,
}

/// Which lifetime cap applies in a state (RFC 8156 §4.4, §7.3; protocol.md §1.11, R29).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LifetimeCap {
    /// `max(acked-partner-lifetime, now) + MCLT`.
    Acked,
    /// `max(acked-partner-lifetime, now, partner-lifetime received from the partner) + MCLT`.
    AckedOrPartner,
    /// No MCLT cap (PARTNER-DOWN).
    Uncapped,
    /// No lease may be given at all (unresponsive states).
    NoLeases,
}

impl ServerState {
    /// Every state, in wire-value order.
    pub const ALL: [Self; 10] = [
        Self::Startup,
        Self::Normal,
        Self::CommunicationsInterrupted,
        Self::PartnerDown,
        Self::PotentialConflict,
        Self::Recover,
        Self::RecoverWait,
        Self::RecoverDone,
        Self::ResolutionInterrupted,
        Self::ConflictDone,
    ];

    /// The OPTION_F_SERVER_STATE value (OPEN-1: RECOVER-WAIT = 7).
    pub const fn wire_value(self) -> u8 {
        match self {
            Self::Startup => 1,
            Self::Normal => 2,
            Self::CommunicationsInterrupted => 3,
            Self::PartnerDown => 4,
            Self::PotentialConflict => 5,
            Self::Recover => 6,
            Self::RecoverWait => 7,
            Self::RecoverDone => 8,
            Self::ResolutionInterrupted => 9,
            Self::ConflictDone => 10,
        }
    }

    /// Decodes an OPTION_F_SERVER_STATE value; anything outside 1..=10 is the partner's fault.
    pub const fn from_wire(value: u8) -> Result<Self, PeerMisbehaved> {
        Ok(match value {
            1 => Self::Startup,
            2 => Self::Normal,
            3 => Self::CommunicationsInterrupted,
            4 => Self::PartnerDown,
            5 => Self::PotentialConflict,
            6 => Self::Recover,
            7 => Self::RecoverWait,
            8 => Self::RecoverDone,
            9 => Self::ResolutionInterrupted,
            10 => Self::ConflictDone,
            other => return Err(PeerMisbehaved::UnknownServerState(other)),
        })
    }

    /// The RFC 8156 name, e.g. `"COMMUNICATIONS-INTERRUPTED"`.
    pub const fn rfc_name(self) -> &'static str {
        match self {
            Self::Startup => "STARTUP",
            Self::Normal => "NORMAL",
            Self::CommunicationsInterrupted => "COMMUNICATIONS-INTERRUPTED",
            Self::PartnerDown => "PARTNER-DOWN",
            Self::PotentialConflict => "POTENTIAL-CONFLICT",
            Self::Recover => "RECOVER",
            Self::RecoverWait => "RECOVER-WAIT",
            Self::RecoverDone => "RECOVER-DONE",
            Self::ResolutionInterrupted => "RESOLUTION-INTERRUPTED",
            Self::ConflictDone => "CONFLICT-DONE",
        }
    }

    /// Which client requests this server answers (RFC 8156 §8; R47). In NORMAL the primary
    /// is responsive and the secondary renew-responsive; RECOVER-DONE is renew-responsive.
    /// CONFLICT-DONE exists for the primary only and is fully responsive.
    pub const fn responsiveness(self, role: Role) -> Responsiveness {
        match (self, role) {
            (Self::Normal, Role::Secondary) | (Self::RecoverDone, _) => {
                Responsiveness::RenewResponsive
            }
            (Self::Normal, Role::Primary)
            | (Self::CommunicationsInterrupted, _)
            | (Self::PartnerDown, _)
            | (Self::ResolutionInterrupted, _)
            | (Self::ConflictDone, _) => Responsiveness::Responsive,
            (Self::Startup, _)
            | (Self::PotentialConflict, _)
            | (Self::Recover, _)
            | (Self::RecoverWait, _) => Responsiveness::Unresponsive,
        }
    }

    /// May new leases be allocated from this server's own pool (RFC 8156 §4.2, §8)?
    /// RECOVER-DONE only renews leases named in a Renew, so it allocates nothing new.
    pub const fn may_allocate_own_pool(self) -> bool {
        matches!(
            self,
            Self::Normal
                | Self::CommunicationsInterrupted
                | Self::PartnerDown
                | Self::ResolutionInterrupted
                | Self::ConflictDone
        )
    }

    /// May a new lease come from the *partner's* pool (RFC 8156 §4.2.1, §4.2.2, §8.4.1)?
    ///
    /// Only in PARTNER-DOWN, only once `own_pool_exhausted` and at least `mclt_s` after
    /// `entered_partner_down` (OPEN-2: addresses and prefixes alike, see the module doc).
    pub const fn may_use_partner_pool(
        self,
        resource: Resource,
        own_pool_exhausted: bool,
        entered_partner_down: FoTime,
        mclt_s: u32,
        now: FoTime,
    ) -> bool {
        let _ = resource;
        match self {
            Self::PartnerDown => {
                own_pool_exhausted && now.since(entered_partner_down.add_s(mclt_s)) >= 0
            }
            _ => false,
        }
    }

    /// The lifetime cap of this state (RFC 8156 §4.4, §7.3; R29). RECOVER-DONE renews under
    /// the NORMAL rule (the RFC gives it no cap of its own; the safe choice).
    pub const fn lifetime_cap(self) -> LifetimeCap {
        match self {
            Self::Normal | Self::ConflictDone | Self::RecoverDone => LifetimeCap::Acked,
            Self::CommunicationsInterrupted | Self::ResolutionInterrupted => {
                LifetimeCap::AckedOrPartner
            }
            Self::PartnerDown => LifetimeCap::Uncapped,
            Self::Startup | Self::PotentialConflict | Self::Recover | Self::RecoverWait => {
                LifetimeCap::NoLeases
            }
        }
    }

    /// Does the MCLT bound client lifetimes in this state (false only in PARTNER-DOWN and in
    /// states that give no leases)?
    pub const fn mclt_cap_applies(self) -> bool {
        matches!(
            self.lifetime_cap(),
            LifetimeCap::Acked | LifetimeCap::AckedOrPartner
        )
    }
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rfc_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip_and_reject_unknown() {
        for (i, s) in ServerState::ALL.iter().enumerate() {
            assert_eq!(usize::from(s.wire_value()), i + 1);
            assert_eq!(ServerState::from_wire(s.wire_value()), Ok(*s));
        }
        assert_eq!(ServerState::from_wire(7), Ok(ServerState::RecoverWait));
        for bad in [0u8, 11, 255] {
            assert_eq!(
                ServerState::from_wire(bad),
                Err(PeerMisbehaved::UnknownServerState(bad))
            );
        }
    }

    #[test]
    fn responsiveness_matches_section_1_14_table() {
        use Responsiveness::*;
        use ServerState::*;
        let expect = [
            (Startup, Unresponsive, Unresponsive),
            (Normal, Responsive, RenewResponsive),
            (CommunicationsInterrupted, Responsive, Responsive),
            (PartnerDown, Responsive, Responsive),
            (PotentialConflict, Unresponsive, Unresponsive),
            (Recover, Unresponsive, Unresponsive),
            (RecoverWait, Unresponsive, Unresponsive),
            (RecoverDone, RenewResponsive, RenewResponsive),
            (ResolutionInterrupted, Responsive, Responsive),
            (ConflictDone, Responsive, Responsive),
        ];
        for (s, p, sec) in expect {
            assert_eq!(s.responsiveness(Role::Primary), p, "{s} primary");
            assert_eq!(s.responsiveness(Role::Secondary), sec, "{s} secondary");
        }
    }

    #[test]
    fn unresponsive_states_allocate_nothing_and_give_no_leases() {
        for s in ServerState::ALL {
            let silent = s.responsiveness(Role::Primary) == Responsiveness::Unresponsive;
            if silent {
                assert!(!s.may_allocate_own_pool(), "{s}");
                assert_eq!(s.lifetime_cap(), LifetimeCap::NoLeases, "{s}");
            }
        }
        assert!(!ServerState::RecoverDone.may_allocate_own_pool());
        assert!(ServerState::Normal.may_allocate_own_pool());
    }

    #[test]
    fn partner_pool_only_in_partner_down_after_mclt() {
        let entered = FoTime(u32::MAX - 10); // MCLT runs across the wrap
        let mclt = 3600;
        let due = entered.add_s(mclt);
        let pd = ServerState::PartnerDown;
        assert!(pd.may_use_partner_pool(Resource::Prefix, true, entered, mclt, due));
        assert!(!pd.may_use_partner_pool(Resource::Prefix, true, entered, mclt, FoTime(due.0 - 1)));
        assert!(!pd.may_use_partner_pool(Resource::Prefix, false, entered, mclt, due));
        assert!(pd.may_use_partner_pool(Resource::Address, true, entered, mclt, due));
        assert!(!pd.may_use_partner_pool(
            Resource::Address,
            true,
            entered,
            mclt,
            FoTime(due.0 - 1)
        ));
        for s in ServerState::ALL.into_iter().filter(|s| *s != pd) {
            assert!(
                !s.may_use_partner_pool(Resource::Prefix, true, entered, mclt, due),
                "{s}"
            );
        }
    }

    #[test]
    fn mclt_cap_everywhere_but_partner_down() {
        assert!(!ServerState::PartnerDown.mclt_cap_applies());
        assert!(ServerState::Normal.mclt_cap_applies());
        assert!(ServerState::ResolutionInterrupted.mclt_cap_applies());
        assert_eq!(ServerState::RecoverWait.to_string(), "RECOVER-WAIT");
    }
}
