//! Per-lease failover bookkeeping (RFC 8156 §7.3) and the failover mode of a subnet.
//!
//! A standalone lease carries [`FoData::default()`]: every field zero or false. Times are Unix
//! seconds with 0 = none; the failover crate's `FoTime` (seconds since 2000 modulo 2^32) is
//! converted by the caller. Binding states map to RFC 8156 §1.9 binding-status values as
//! `Bound` = ACTIVE, `Released` = RELEASED, `Expired` = EXPIRED, `Declined` = ABANDONED
//! ([`crate::LeaseState::binding_status`]).

use crate::lease::LeaseState;

/// This server's role for the pools of a subnet in a failover relationship (RFC 8156 §3).
///
/// Independent allocation of addresses (RFC 8156 §4.2.1): the primary allocates only
/// addresses whose last bit is 1, the secondary only addresses whose last bit is 0.
/// Delegable prefixes (RFC 8156 §4.2.2): the primary owns all of them except those it gave the
/// secondary by proportional allocation ([`crate::BackupPrefix`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FoRole {
    /// The primary server: odd addresses, every prefix not given to the secondary.
    Primary,
    /// The secondary server: even addresses, the prefixes the primary gave it (FREE-BACKUP).
    Secondary,
}

/// The failover data of one lease (RFC 8156 §7.3, §7.4). Times in Unix seconds, 0 = none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FoData {
    /// "Partner must be told" (R28): set by every local change of the lease, cleared when
    /// the partner acks a BNDUPD carrying the current data.
    pub tell_partner: bool,
    /// When the lease entered its current binding-status (F_START_TIME_OF_STATE).
    pub start_time_of_state: u64,
    /// partner-lifetime we send (or will send) in F_PARTNER_LIFETIME; 0 once acked.
    pub partner_lifetime: u64,
    /// acked-partner-lifetime: the largest partner-lifetime the partner acked.
    pub acked_partner_lifetime: u64,
    /// expiration-time: the largest partner-lifetime we acked to the partner
    /// (F_EXPIRATION_TIME).
    pub expiration_time: u64,
    /// partner-raw-clt-time: when the partner last talked to the client, raw as received
    /// (F_PARTNER_RAW_CLT_TIME, the partner's time context; never converted).
    pub partner_raw_clt_time: u32,
    /// T1 sent to the client (the IA_NA / IA_PD of a BNDUPD carries it).
    pub t1_s: u32,
    /// T2 sent to the client.
    pub t2_s: u32,
}

/// What the partner acknowledged: the identity of the BNDUPD data it acked (RFC 8156 §7.5.3).
/// The caller takes these from the update it sent and from the BNDREPLY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerAck {
    /// The binding state the acked BNDUPD carried.
    pub state: LeaseState,
    /// Its F_START_TIME_OF_STATE (Unix s).
    pub start_time_of_state: u64,
    /// The client last transaction time of the data sent (Unix s).
    pub cltt: u64,
    /// F_PARTNER_LIFETIME_SENT of the BNDREPLY: the partner-lifetime acked (Unix s, 0 = none).
    pub partner_lifetime: u64,
}

/// What [`crate::Shard::partner_acked`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckOutcome {
    /// No lease of that resource: nothing to do.
    Unknown,
    /// The lease changed since that update was built: only acked-partner-lifetime was kept;
    /// the partner must still be told.
    Stale,
    /// The acked data is current: tell-partner and partner-lifetime were cleared.
    Current,
    /// A RELEASED or EXPIRED lease was acked: PENDING-FREE → FREE, the lease is gone.
    Freed,
}

impl LeaseState {
    /// The RFC 8156 binding-status (OPTION_F_BINDING_STATUS, §1.9): ACTIVE 1, EXPIRED 2,
    /// RELEASED 3, ABANDONED 7.
    pub const fn binding_status(self) -> u8 {
        match self {
            Self::Bound => 1,
            Self::Expired => 2,
            Self::Released => 3,
            Self::Declined => 7,
        }
    }

    /// The state of a binding-status that names a client binding; `None` for the others
    /// (PENDING-FREE, FREE, FREE-BACKUP, RESET and unknown values carry no lease here).
    pub const fn from_binding_status(status: u8) -> Option<Self> {
        match status {
            1 => Some(Self::Bound),
            2 => Some(Self::Expired),
            3 => Some(Self::Released),
            7 => Some(Self::Declined),
            _ => None,
        }
    }

    /// RELEASED or EXPIRED: kept until the partner acks (PENDING-FREE follows, RFC 8156 §1.9).
    pub const fn is_pending_free(self) -> bool {
        matches!(self, Self::Released | Self::Expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lease, Resource};

    #[test]
    fn binding_status_round_trips_and_rejects_non_lease_statuses() {
        for s in [
            LeaseState::Bound,
            LeaseState::Expired,
            LeaseState::Released,
            LeaseState::Declined,
        ] {
            assert_eq!(LeaseState::from_binding_status(s.binding_status()), Some(s));
        }
        assert_eq!(LeaseState::Bound.binding_status(), 1);
        assert_eq!(LeaseState::Declined.binding_status(), 7);
        for other in [0u8, 4, 5, 6, 8, 9, 255] {
            assert_eq!(LeaseState::from_binding_status(other), None);
        }
        assert!(LeaseState::Released.is_pending_free());
        assert!(!LeaseState::Declined.is_pending_free());
    }

    #[test]
    fn lease_stays_compact_with_a_typical_duid() {
        // A DUID-LLT of 14 octets lives in one small heap block (rounded up to 16).
        let heap = 16;
        let total = size_of::<Lease>() + heap;
        assert!(total <= 160, "lease is {total} bytes");
        assert!(size_of::<FoData>() <= 48);
        let l = Lease {
            resource: Resource::address("2001:db8::1".parse().unwrap()),
            duid: vec![0; 14].into(),
            iaid: 0,
            subnet_id: 0,
            preferred_s: 0,
            valid_s: 0,
            cltt: 0,
            expires_at: 0,
            state: LeaseState::Bound,
            fo: FoData::default(),
        };
        assert!(!l.fo.tell_partner && l.fo.start_time_of_state == 0);
    }
}
