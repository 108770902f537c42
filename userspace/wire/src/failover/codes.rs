//! Failover code points and flag words: binding status, server state, connect flags, DNS flags
//! and server flags (RFC 8156 §5; protocol notes §1.4, §1.9, §1.14).

use crate::codes::enum_with_unknown;
use crate::{Error, Result};

enum_with_unknown! {
    /// OPTION_F_BINDING_STATUS value: the state of one lease (RFC 8156 §5, §4.1; notes §1.9).
    pub enum BindingStatus(u8) {
        /// Leased to a client.
        Active = 1,
        /// The lease ran out.
        Expired = 2,
        /// The client released it.
        Released = 3,
        /// Transient after an acknowledged expiry or release.
        PendingFree = 4,
        /// Available to the primary.
        Free = 5,
        /// Available to the secondary.
        FreeBackup = 6,
        /// Unusable (typically after a Decline).
        Abandoned = 7,
        /// Made available again by an operator.
        Reset = 8,
    }
}

impl BindingStatus {
    /// Parses the one-octet payload of OPTION_F_BINDING_STATUS (114).
    pub fn parse(data: &[u8]) -> Result<Self> {
        one_octet(data).map(Self::from)
    }
}

enum_with_unknown! {
    /// OPTION_F_SERVER_STATE value: a failover endpoint state (RFC 8156 §5, §8; notes §1.14).
    ///
    /// **Decision on OPEN-1** (notes §1.20): 7 is RECOVER-WAIT, as in Wireshark and the
    /// IANA-derived headers; the draft's SHUTDOWN has no code here and is never sent.
    pub enum ServerState(u8) {
        /// STARTUP; not sent as a state (the S server flag signals it).
        Startup = 1,
        /// NORMAL.
        Normal = 2,
        /// COMMUNICATIONS-INTERRUPTED.
        CommunicationsInterrupted = 3,
        /// PARTNER-DOWN.
        PartnerDown = 4,
        /// POTENTIAL-CONFLICT.
        PotentialConflict = 5,
        /// RECOVER.
        Recover = 6,
        /// RECOVER-WAIT (OPEN-1).
        RecoverWait = 7,
        /// RECOVER-DONE.
        RecoverDone = 8,
        /// RESOLUTION-INTERRUPTED.
        ResolutionInterrupted = 9,
        /// CONFLICT-DONE (primary only).
        ConflictDone = 10,
    }
}

impl ServerState {
    /// Parses the one-octet payload of OPTION_F_SERVER_STATE (132).
    pub fn parse(data: &[u8]) -> Result<Self> {
        one_octet(data).map(Self::from)
    }
}

/// OPTION_F_CONNECT_FLAGS (115) payload, a u16 (RFC 8156 §5; notes §1.4). Bits the RFC marks
/// MBZ are kept as received (a receiver ignores them), so the option round-trips.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ConnectFlags(pub u16);

impl ConnectFlags {
    /// F, FIXED_PD_LENGTH: every prefix delegated from one delegable prefix has one length.
    pub const FIXED_PD_LENGTH: u16 = 0x0001;

    /// Parses exactly two octets.
    pub fn parse(data: &[u8]) -> Result<Self> {
        two_octets(data).map(Self)
    }

    /// True when the F bit is set.
    pub fn fixed_pd_length(self) -> bool {
        self.0 & Self::FIXED_PD_LENGTH != 0
    }
}

/// OPTION_F_DNS_FLAGS (119) payload, a u16 (RFC 8156 §5, §9; notes §1.4). U = S = 0 means the
/// name came from other configuration. MBZ bits are kept as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct DnsFlags(pub u16);

impl DnsFlags {
    /// U: the name came from the client's FQDN option.
    pub const USED_CLIENT_FQDN: u16 = 0x0008;
    /// S: the name was synthesized by the server.
    pub const SYNTHESIZED: u16 = 0x0004;
    /// R: the reverse zone is up to date.
    pub const REVERSE_UPTODATE: u16 = 0x0002;
    /// F: the forward zone is up to date.
    pub const FORWARD_UPTODATE: u16 = 0x0001;

    /// Parses exactly two octets.
    pub fn parse(data: &[u8]) -> Result<Self> {
        two_octets(data).map(Self)
    }

    /// True when every bit of `mask` is set.
    pub fn contains(self, mask: u16) -> bool {
        self.0 & mask == mask
    }
}

/// OPTION_F_SERVER_FLAGS (131) payload, one octet (RFC 8156 §5; notes §1.4). MBZ bits are kept
/// as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ServerFlags(pub u8);

impl ServerFlags {
    /// C, COMMUNICATED: the sender has talked to this partner before.
    pub const COMMUNICATED: u8 = 0x01;
    /// S, STARTUP: the sender is in STARTUP.
    pub const STARTUP: u8 = 0x02;
    /// A, ACK_STARTUP: the last server flags the sender received had S set (OPEN-10).
    pub const ACK_STARTUP: u8 = 0x04;

    /// Parses exactly one octet.
    pub fn parse(data: &[u8]) -> Result<Self> {
        one_octet(data).map(Self)
    }

    /// True when every bit of `mask` is set.
    pub fn contains(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

fn one_octet(data: &[u8]) -> Result<u8> {
    match data {
        &[v] => Ok(v),
        _ => Err(Error::BadLength),
    }
}

fn two_octets(data: &[u8]) -> Result<u16> {
    match data {
        &[a, b] => Ok(u16::from_be_bytes([a, b])),
        _ => Err(Error::BadLength),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_every_octet_and_need_one_octet() {
        for v in 0..=u8::MAX {
            assert_eq!(u8::from(BindingStatus::from(v)), v);
            assert_eq!(u8::from(ServerState::from(v)), v);
            assert_eq!(BindingStatus::parse(&[v]), Ok(BindingStatus::from(v)));
            assert_eq!(ServerState::parse(&[v]), Ok(ServerState::from(v)));
        }
        assert_eq!(BindingStatus::from(6), BindingStatus::FreeBackup);
        assert_eq!(BindingStatus::from(9), BindingStatus::Unknown(9));
        assert_eq!(ServerState::from(7), ServerState::RecoverWait);
        assert_eq!(ServerState::from(10), ServerState::ConflictDone);
        assert_eq!(ServerState::from(0), ServerState::Unknown(0));
        assert_eq!(BindingStatus::parse(&[]), Err(Error::BadLength));
        assert_eq!(ServerState::parse(&[2, 0]), Err(Error::BadLength));
    }

    #[test]
    fn flag_words() {
        assert!(ConnectFlags::parse(&[0, 1]).unwrap().fixed_pd_length());
        assert!(!ConnectFlags::parse(&[1, 0]).unwrap().fixed_pd_length());
        assert_eq!(ConnectFlags::parse(&[1]), Err(Error::BadLength));
        let d = DnsFlags::parse(&[0, 0x0b]).unwrap();
        assert!(d.contains(DnsFlags::USED_CLIENT_FQDN | DnsFlags::FORWARD_UPTODATE));
        assert!(d.contains(DnsFlags::REVERSE_UPTODATE));
        assert!(!d.contains(DnsFlags::SYNTHESIZED));
        assert_eq!(DnsFlags::parse(&[0, 0, 0]), Err(Error::BadLength));
        let s = ServerFlags::parse(&[0x05]).unwrap();
        assert!(s.contains(ServerFlags::COMMUNICATED | ServerFlags::ACK_STARTUP));
        assert!(!s.contains(ServerFlags::STARTUP));
        assert_eq!(ServerFlags::parse(&[]), Err(Error::BadLength));
    }
}
