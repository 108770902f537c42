//! The content of one BNDUPD as owned values (RFC 8156 §7.4; protocol.md §1.12; R33, R34).
//!
//! **Which binding-statuses have a timeout** (R33). RFC 8156 §7.4 makes
//! F_STATE_EXPIRATION_TIME, F_PARTNER_LIFETIME and F_EXPIRATION_TIME present iff "the
//! binding-status has a timeout" and leaves the timeouts themselves to the implementation
//! (§4.1, Fig. 2). Our table ([`timeout`]):
//!
//! | status | timeout | why |
//! |---|---|---|
//! | ACTIVE | always | the lease's valid lifetime ends it (Fig. 2 transition 8) |
//! | EXPIRED | always | the (possibly zero) grace period before PENDING-FREE (§4.1) |
//! | RELEASED | always | as EXPIRED; a Release also leaves the partner-lifetime to bound |
//! | PENDING-FREE | never | a transient that immediately becomes FREE / FREE-BACKUP (§4.1) |
//! | FREE, FREE-BACKUP | never | change only by allocation or rebalancing (§4.2) |
//! | RESET | never | left only when the partner acks it (Fig. 2 transition 4) |
//! | ABANDONED | optional | §4.1 lets an implementation time ABANDONED out; the sender's choice shows by the (*) options being all present or all absent |

use std::net::Ipv6Addr;

use crate::conflict::BindingStatus;
use crate::time::FoTime;

/// Most IA options one update may carry (a hostile partner cannot make us allocate more).
pub const MAX_IAS_PER_UPDATE: usize = 64;

/// Most IAADDR / IAPREFIX options one update may carry, over all its IAs.
pub const MAX_ITEMS_PER_UPDATE: usize = 64;

/// Longest CLIENTID accepted: a DUID is at most 128 octets plus its 2-octet type (RFC 8415
/// §11.1).
pub const MAX_DUID_LEN: usize = 130;

/// Whether a binding-status has a timeout (R33; module doc table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timeout {
    /// F_STATE_EXPIRATION_TIME, F_PARTNER_LIFETIME and F_EXPIRATION_TIME are all present.
    Always,
    /// All three are absent.
    Never,
    /// All three present, or all three absent.
    Optional,
}

/// The timeout rule of `status` (RFC 8156 §4.1, §7.4; module doc table).
pub const fn timeout(status: BindingStatus) -> Timeout {
    match status {
        BindingStatus::Active | BindingStatus::Expired | BindingStatus::Released => Timeout::Always,
        BindingStatus::Abandoned => Timeout::Optional,
        BindingStatus::PendingFree
        | BindingStatus::Free
        | BindingStatus::FreeBackup
        | BindingStatus::Reset => Timeout::Never,
    }
}

/// One IAADDR or IAPREFIX with its failover options (RFC 8156 §7.4). All times absolute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BindingItem {
    /// The address, or the prefix.
    pub addr: Ipv6Addr,
    /// Prefix length; 128 for an address in IA_NA.
    pub prefix_len: u8,
    /// Preferred lifetime as sent to the client.
    pub preferred_s: u32,
    /// Valid lifetime as sent to the client.
    pub valid_s: u32,
    /// F_BINDING_STATUS.
    pub status: BindingStatus,
    /// F_START_TIME_OF_STATE.
    pub start_time_of_state: FoTime,
    /// F_STATE_EXPIRATION_TIME (*).
    pub state_expiration_time: Option<FoTime>,
    /// When the sender last talked to the client: LQ_BASE_TIME − OPTION_CLT_TIME. Never later
    /// than the update's base time. Client bindings only.
    pub clt_time: Option<FoTime>,
    /// F_PARTNER_LIFETIME (*): when the receiver may consider the lease expired.
    pub partner_lifetime: Option<FoTime>,
    /// F_PARTNER_RAW_CLT_TIME: when the receiver last talked to the client, as the sender
    /// heard it. Client bindings only.
    pub partner_raw_clt_time: Option<FoTime>,
    /// F_EXPIRATION_TIME (*): the largest partner-lifetime the sender acknowledged. A sender
    /// that has acknowledged none sends 0.
    pub expiration_time: Option<FoTime>,
}

/// The IA type of a client binding. IA_TA is never produced (RFC 9915; OPEN-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum IaKind {
    /// OPTION_IA_NA holding OPTION_IAADDR.
    Na,
    /// OPTION_IA_PD holding OPTION_IAPREFIX.
    Pd,
}

/// One IA_NA / IA_PD of a client (RFC 8156 §7.4; RFC 8415 §21.4, §21.21).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IaBinding {
    /// IA_NA or IA_PD.
    pub kind: IaKind,
    /// The IAID.
    pub iaid: u32,
    /// T1 as sent to the client.
    pub t1_s: u32,
    /// T2 as sent to the client.
    pub t2_s: u32,
    /// The addresses / prefixes; at least one.
    pub items: Vec<BindingItem>,
}

/// OPTION_CLIENT_DATA: all bindings of one client (RFC 8156 §7.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientBinding {
    /// OPTION_CLIENTID contents (the DUID).
    pub duid: Box<[u8]>,
    /// OPTION_LQ_BASE_TIME: when the data was put in the option.
    pub base_time: FoTime,
    /// The IAs; at least one.
    pub ias: Vec<IaBinding>,
}

/// The content of one BNDUPD: a client's bindings, or a delegable prefix bound to no client
/// (RFC 8156 §7.4; R33).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BindingUpdate {
    /// One OPTION_CLIENT_DATA.
    Client(ClientBinding),
    /// One top-level OPTION_IAPREFIX (§4.2.2: FREE / FREE-BACKUP handed between the
    /// servers). `item.clt_time` and `item.partner_raw_clt_time` are always `None`.
    Prefix {
        /// OPTION_LQ_BASE_TIME inside the IAPREFIX.
        base_time: FoTime,
        /// The prefix.
        item: BindingItem,
    },
}

/// What a send queue coalesces on: the client, or the delegable prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UpdateKey {
    /// A client by DUID.
    Client(Box<[u8]>),
    /// A delegable prefix and its length.
    Prefix(Ipv6Addr, u8),
}

impl BindingUpdate {
    /// The coalescing key: a newer update with the same key supersedes an older one.
    pub fn key(&self) -> UpdateKey {
        match self {
            Self::Client(c) => UpdateKey::Client(c.duid.clone()),
            Self::Prefix { item, .. } => UpdateKey::Prefix(item.addr, item.prefix_len),
        }
    }

    /// The LQ_BASE_TIME of the update.
    pub fn base_time(&self) -> FoTime {
        match self {
            Self::Client(c) => c.base_time,
            Self::Prefix { base_time, .. } => *base_time,
        }
    }

    /// Every item with its IA (`None` for a top-level IAPREFIX), in wire order.
    pub fn items(&self) -> impl Iterator<Item = (Option<&IaBinding>, &BindingItem)> + '_ {
        let (ias, prefix) = match self {
            Self::Client(c) => (c.ias.as_slice(), None),
            Self::Prefix { item, .. } => (&[][..], Some(item)),
        };
        let nested = ias
            .iter()
            .flat_map(|ia| ia.items.iter().map(move |item| (Some(ia), item)));
        prefix.map(|item| (None, item)).into_iter().chain(nested)
    }

    /// Number of items ([`BindingUpdate::items`]).
    pub fn item_count(&self) -> usize {
        match self {
            Self::Client(c) => c.ias.iter().map(|ia| ia.items.len()).sum(),
            Self::Prefix { .. } => 1,
        }
    }
}

/// A (*) option that breaks the timeout rule (R33).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeoutViolation {
    /// The option's name.
    pub(crate) field: &'static str,
    /// True: present but must be absent. False: missing but required.
    pub(crate) present: bool,
}

/// Checks the (*) options of `item` against [`timeout`] (RFC 8156 §7.4; R33).
pub(crate) fn check_timeout_fields(item: &BindingItem) -> Result<(), TimeoutViolation> {
    let fields = [
        ("OPTION_F_STATE_EXPIRATION_TIME", item.state_expiration_time),
        ("OPTION_F_PARTNER_LIFETIME", item.partner_lifetime),
        ("OPTION_F_EXPIRATION_TIME", item.expiration_time),
    ];
    let want_present = match timeout(item.status) {
        Timeout::Always => true,
        Timeout::Never => false,
        // The first option decides; the others must agree.
        Timeout::Optional => item.state_expiration_time.is_some(),
    };
    match fields
        .iter()
        .find(|(_, value)| value.is_some() != want_present)
    {
        Some(&(field, _)) => Err(TimeoutViolation {
            field,
            present: !want_present,
        }),
        None => Ok(()),
    }
}
