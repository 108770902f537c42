//! Receiving a BNDUPD: accept or reject each item, and the local times to store for accepted
//! ones (RFC 8156 §7.5, §7.5.5; protocol.md §1.13 steps 2–6; R35–R37, R40).
//!
//! Decisions:
//! * **OPEN-4:** RFC 8156 §7.5.5 mentions a "time-correction" it never defines. Received times
//!   are stored raw, in the partner's time context; the conflict table already treats times
//!   within ±5 s as equal and CONNECT refuses partners more than 5 s off (R24).
//! * "PARTNER_LIFETIME → expiration-time" replaces our expiration-time when the update carries
//!   one, as §7.5.5 says, and keeps it when the status has no timeout (nothing new acked).
//! * The pool check runs first: a resource outside every pool of the relationship is a
//!   ConfigurationConflict whatever our data says (§7.5 step 2).
//! * [`receive_update`] never sets [`Outcomes::whole`]; whole-update rejections come from
//!   decoding ([`super::reject_reply`]) or from the caller (e.g. storage failure).

use std::net::Ipv6Addr;

use tandem_wire::StatusCode;

use super::model::{BindingItem, BindingUpdate, IaBinding};
use crate::conflict::{
    resolve, BindingStatus, ClientIdentity, LocalBinding, ReceivedBinding, RejectReason, Resolution,
};
use crate::state::Role;
use crate::time::FoTime;

/// The per-lease times of RFC 8156 §7.3 that binding updates read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LocalTimes {
    /// client-last-transaction-time: when we (or, via F_PARTNER_RAW_CLT_TIME, the partner on
    /// our behalf) last talked to the client.
    pub cltt: Option<FoTime>,
    /// start-time-of-state of the binding-status.
    pub start_time_of_state: FoTime,
    /// state-expiration-time, if the status has a timeout.
    pub state_expiration_time: Option<FoTime>,
    /// partner-lifetime: what we send (or will send) in F_PARTNER_LIFETIME.
    pub partner_lifetime: Option<FoTime>,
    /// expiration-time: the partner-lifetime we acknowledged to the partner.
    pub expiration_time: Option<FoTime>,
    /// partner-raw-clt-time: when the partner last talked to the client, in its time context.
    pub partner_raw_clt_time: Option<FoTime>,
}

/// The receiver's current data for one lease: [`LocalBinding`]'s fields plus the times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalLease<'a> {
    /// Our binding-status.
    pub status: BindingStatus,
    /// The client the lease is bound to, if any.
    pub client: Option<ClientIdentity<'a>>,
    /// Our times.
    pub times: LocalTimes,
}

impl<'a> LocalLease<'a> {
    /// The view [`resolve`] compares against.
    pub fn binding(&self) -> LocalBinding<'a> {
        LocalBinding {
            status: self.status,
            client: self.client,
            cltt: self.times.cltt,
            start_time_of_state: self.times.start_time_of_state,
            state_expiration_time: self.times.state_expiration_time,
        }
    }
}

/// Why one item is rejected (RFC 8156 §7.5, §7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemReject {
    /// The conflict table kept our data (OutdatedBindingInformation or AddressInUse).
    Conflict(RejectReason),
    /// The resource is in no pool of this relationship: ConfigurationConflict (§7.5; R35).
    NotOurs,
}

impl ItemReject {
    /// The OPTION_STATUS_CODE for the item in the BNDREPLY.
    pub fn status_code(self) -> StatusCode {
        match self {
            Self::Conflict(r) => StatusCode::from(r.status_code()),
            Self::NotOurs => StatusCode::ConfigurationConflict,
        }
    }

    /// True when we SHOULD flag the lease for our own update to the partner (§7.5; R37).
    pub fn flag_for_partner_update(self) -> bool {
        matches!(self, Self::Conflict(r) if r.flag_for_partner_update())
    }
}

/// The decision for one received item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// Store the item's status and client with these times (§7.5.5), then acknowledge it.
    Accept(LocalTimes),
    /// Keep ours and answer with the reason.
    Reject(ItemReject),
}

impl ItemOutcome {
    /// The item's status in the BNDREPLY: `None` for an acceptance.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Accept(_) => None,
            Self::Reject(r) => Some(r.status_code()),
        }
    }
}

/// The decisions for a whole update, the input of [`super::reply_to`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Outcomes {
    /// A status rejecting the whole update (then the item outcomes are not reported).
    pub whole: Option<StatusCode>,
    /// One outcome per item, in [`BindingUpdate::items`] order.
    pub items: Vec<ItemOutcome>,
}

/// The times to store for an accepted `item` (RFC 8156 §7.5.5; R40), given our previous times
/// (`None` for a lease we had no data for).
///
/// * start-time-of-state and state-expiration-time := the received ones;
/// * F_PARTNER_LIFETIME → expiration-time (what we now acknowledge), kept when absent;
/// * received CLT time (LQ_BASE_TIME − CLT_TIME, raw) → partner-raw-clt-time, kept when absent;
/// * received F_PARTNER_RAW_CLT_TIME → our CLTT if later;
/// * received F_EXPIRATION_TIME → our partner-lifetime if later.
pub fn stored_times(local: Option<&LocalTimes>, item: &BindingItem) -> LocalTimes {
    let old = local.copied().unwrap_or_default();
    let later = |ours: Option<FoTime>, theirs: Option<FoTime>| match (ours, theirs) {
        (Some(a), Some(b)) => Some(a.later(b)),
        (a, b) => a.or(b),
    };
    LocalTimes {
        cltt: later(old.cltt, item.partner_raw_clt_time),
        start_time_of_state: item.start_time_of_state,
        state_expiration_time: item.state_expiration_time,
        partner_lifetime: later(old.partner_lifetime, item.expiration_time),
        expiration_time: item.partner_lifetime.or(old.expiration_time),
        partner_raw_clt_time: item.clt_time.or(old.partner_raw_clt_time),
    }
}

/// Decides one item (RFC 8156 §7.5): the pool check (`ours`), then the conflict table with
/// `role` and `now`; `client` is the update's client (`None` for a top-level IAPREFIX).
pub fn decide_item(
    role: Role,
    now: FoTime,
    client: Option<ClientIdentity<'_>>,
    item: &BindingItem,
    local: Option<&LocalLease<'_>>,
    ours: bool,
) -> ItemOutcome {
    if !ours {
        return ItemOutcome::Reject(ItemReject::NotOurs);
    }
    let received = ReceivedBinding {
        status: item.status,
        client,
        clt_time: item.clt_time,
        start_time_of_state: item.start_time_of_state,
    };
    let binding = local.map(LocalLease::binding);
    match resolve(role, now, binding.as_ref(), &received) {
        Resolution::Accept => ItemOutcome::Accept(stored_times(local.map(|l| &l.times), item)),
        Resolution::Reject(r) => ItemOutcome::Reject(ItemReject::Conflict(r)),
    }
}

/// Decides every item of `update` (RFC 8156 §7.5; R35, R36, R40).
///
/// `is_ours(addr, prefix_len)` says whether the resource lies in a pool of this relationship;
/// `lookup(ia, item)` returns our data for the item's resource (`ia` is `None` for a top-level
/// IAPREFIX). The caller stores accepted items, then answers with [`super::reply_to`].
pub fn receive_update<'l, P, L>(
    role: Role,
    now: FoTime,
    update: &BindingUpdate,
    mut is_ours: P,
    mut lookup: L,
) -> Outcomes
where
    P: FnMut(Ipv6Addr, u8) -> bool,
    L: FnMut(Option<&IaBinding>, &BindingItem) -> Option<LocalLease<'l>>,
{
    let duid = match update {
        BindingUpdate::Client(c) => Some(&*c.duid),
        BindingUpdate::Prefix { .. } => None,
    };
    let items = update
        .items()
        .map(|(ia, item)| {
            let client = duid.zip(ia).map(|(duid, ia)| ClientIdentity {
                duid,
                iaid: ia.iaid,
            });
            let ours = is_ours(item.addr, item.prefix_len);
            let local = if ours { lookup(ia, item) } else { None };
            decide_item(role, now, client, item, local.as_ref(), ours)
        })
        .collect();
    Outcomes { whole: None, items }
}
