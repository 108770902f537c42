//! Receiving a BNDUPD: the conflict-resolution table (RFC 8156 §7.5.4 / §7.5; protocol.md
//! §1.13; R26, R36). Pure: the caller extracts the binding data, this decides.
//!
//! Decisions:
//! * **OPEN-6:** times equal within ±5 s are not "later", so an "accept" cell rejects a
//!   *different* binding with equal times as OutdatedBindingInformation (literal reading). But
//!   an update that says what we already hold — same status, same client, equal times — is
//!   accepted: it changes nothing, and rejecting it would leave both servers' "tell the partner"
//!   flags set for ever (two servers that both expired one lease would each refuse the other's
//!   EXPIRED, and neither could ever free it). The lab's failover demo showed exactly that
//!   storm before this rule.
//! * Received PENDING-FREE is treated as the FREE / FREE-BACKUP column and a local
//!   PENDING-FREE as the FREE / FREE-BACKUP row: the RFC's table has neither, and PENDING-FREE
//!   is the transient on the way to FREE / FREE-BACKUP (§1.9).
//! * No local binding at all: accept (nothing to conflict with).
//! * **OPEN-3** (where PENDING-FREE leads): a freed delegable prefix returns to the primary
//!   (FREE, §4.2.2); a freed address goes back to the half its last bit names (§4.2.1). On
//!   receipt FREE and FREE-BACKUP are one column, so either value is accepted for either.

use crate::error::PeerMisbehaved;
use crate::state::Role;
use crate::time::FoTime;

/// OPTION_F_BINDING_STATUS values (RFC 8156, binding-status table; protocol.md §1.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BindingStatus {
    /// ACTIVE (1).
    Active,
    /// EXPIRED (2).
    Expired,
    /// RELEASED (3).
    Released,
    /// PENDING-FREE (4).
    PendingFree,
    /// FREE (5).
    Free,
    /// FREE-BACKUP (6).
    FreeBackup,
    /// ABANDONED (7).
    Abandoned,
    /// RESET (8).
    Reset,
}

impl BindingStatus {
    /// The OPTION_F_BINDING_STATUS value.
    pub const fn wire_value(self) -> u8 {
        match self {
            Self::Active => 1,
            Self::Expired => 2,
            Self::Released => 3,
            Self::PendingFree => 4,
            Self::Free => 5,
            Self::FreeBackup => 6,
            Self::Abandoned => 7,
            Self::Reset => 8,
        }
    }

    /// Decodes OPTION_F_BINDING_STATUS; 0 (reserved) and values above 8 are the partner's
    /// fault.
    pub const fn from_wire(value: u8) -> Result<Self, PeerMisbehaved> {
        Ok(match value {
            1 => Self::Active,
            2 => Self::Expired,
            3 => Self::Released,
            4 => Self::PendingFree,
            5 => Self::Free,
            6 => Self::FreeBackup,
            7 => Self::Abandoned,
            8 => Self::Reset,
            other => return Err(PeerMisbehaved::UnknownBindingStatus(other)),
        })
    }
}

/// A client identity as compared by accept(3): DUID and IAID (RFC 8156 §7.5; status
/// AddressInUse covers "different client or different IAID").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIdentity<'a> {
    /// The client's DUID (OPTION_CLIENTID contents).
    pub duid: &'a [u8],
    /// The IAID of the IA holding the lease.
    pub iaid: u32,
}

/// The receiver's current data for the lease (RFC 8156 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalBinding<'a> {
    /// Our binding-status.
    pub status: BindingStatus,
    /// The client the lease is bound to, if any.
    pub client: Option<ClientIdentity<'a>>,
    /// Our client-last-transaction-time, if known.
    pub cltt: Option<FoTime>,
    /// Our start-time-of-state.
    pub start_time_of_state: FoTime,
    /// Our state-expiration-time, if the status has a timeout.
    pub state_expiration_time: Option<FoTime>,
}

/// The binding data of one IAADDR / IAPREFIX of a received BNDUPD (RFC 8156 §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceivedBinding<'a> {
    /// F_BINDING_STATUS.
    pub status: BindingStatus,
    /// The client of the enclosing CLIENT_DATA (None for a top-level IAPREFIX).
    pub client: Option<ClientIdentity<'a>>,
    /// Absolute CLT time: LQ_BASE_TIME − CLT_TIME of the same CLIENT_DATA, if present.
    pub clt_time: Option<FoTime>,
    /// F_START_TIME_OF_STATE.
    pub start_time_of_state: FoTime,
}

/// Why a received binding is rejected; maps to the BNDREPLY status code (RFC 8156 §7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// OutdatedBindingInformation (19): our data is newer.
    OutdatedBindingInformation,
    /// AddressInUse (16): bound to a different client here, and we win.
    AddressInUse,
}

impl RejectReason {
    /// The OPTION_STATUS_CODE value for the BNDREPLY.
    pub const fn status_code(self) -> u16 {
        match self {
            Self::OutdatedBindingInformation => 19,
            Self::AddressInUse => 16,
        }
    }

    /// After an OutdatedBindingInformation reject the receiver SHOULD set its own "tell the
    /// partner" flag for the lease (RFC 8156 §7.5; protocol.md §1.13 step 5).
    pub const fn flag_for_partner_update(self) -> bool {
        matches!(self, Self::OutdatedBindingInformation)
    }
}

/// The outcome for one received binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resolution {
    /// Store the received data (RFC 8156 §7.5.5) and acknowledge it.
    Accept,
    /// Keep ours; reply with the reason's status code.
    Reject(RejectReason),
}

/// Which rule a table cell applies (protocol.md §1.13 step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Rule {
    /// "accept": update time later than local time.
    Accept,
    /// time(1): our ACTIVE lease has run out.
    Time1,
    /// time(2): received CLT time later than our start-time-of-state.
    Time2,
    /// accept(3): same client, or time(2), or we are the secondary.
    Accept3,
}

/// The update time of a received binding (RFC 8156 §7.5.1): ACTIVE / EXPIRED / RELEASED use
/// the CLT time if present, else start-time-of-state; other statuses use the later of both.
pub fn update_time(received: &ReceivedBinding<'_>) -> FoTime {
    match (received.status, received.clt_time) {
        (BindingStatus::Active | BindingStatus::Expired | BindingStatus::Released, Some(clt)) => {
            clt
        }
        (_, Some(clt)) => clt.later(received.start_time_of_state),
        (_, None) => received.start_time_of_state,
    }
}

/// The local time compared against (RFC 8156 §7.5.1): our CLTT if known, else our
/// start-time-of-state.
pub fn local_time(local: &LocalBinding<'_>) -> FoTime {
    local.cltt.unwrap_or(local.start_time_of_state)
}

/// Decides whether `received` replaces `local` (RFC 8156 §7.5; R36). `role` is the
/// receiver's role, `now` the receiver's clock.
pub fn resolve(
    role: Role,
    now: FoTime,
    local: Option<&LocalBinding<'_>>,
    received: &ReceivedBinding<'_>,
) -> Resolution {
    use BindingStatus as B;

    let Some(local) = local else {
        return Resolution::Accept;
    };
    // OPEN-6: what we already hold is acknowledged, not refused (module doc).
    if local.status == received.status
        && local.client == received.client
        && update_time(received).roughly_equal(local_time(local))
    {
        return Resolution::Accept;
    }
    let rule = match (local.status, received.status) {
        (B::Active, B::Active) => Rule::Accept3,
        (B::Active, B::Expired | B::Free | B::FreeBackup | B::PendingFree) => Rule::Time1,
        (B::Reset, B::Active) => Rule::Time2,
        _ => Rule::Accept,
    };
    let outdated = Resolution::Reject(RejectReason::OutdatedBindingInformation);
    let time2 = received
        .clt_time
        .is_some_and(|clt| clt.later_than(local.start_time_of_state));
    let pass = |ok: bool, fail: Resolution| if ok { Resolution::Accept } else { fail };
    match rule {
        Rule::Accept => pass(
            update_time(received).later_than(local_time(local)),
            outdated,
        ),
        Rule::Time1 => pass(
            local
                .state_expiration_time
                .is_some_and(|exp| now.later_than(exp)),
            outdated,
        ),
        Rule::Time2 => pass(time2, outdated),
        Rule::Accept3 => {
            let same_client = local.client == received.client;
            pass(
                same_client || time2 || role == Role::Secondary,
                Resolution::Reject(RejectReason::AddressInUse),
            )
        }
    }
}

#[cfg(test)]
mod tests;
