//! BNDREPLY as an owned value (RFC 8156 §7.6, §7.7; protocol.md §1.13; R38, R39).
//!
//! The reply mirrors the update's container. A status can reject the whole update, one IA
//! (and everything in it) or one item; an absent status, or Success (0), accepts — success
//! statuses are informational only (§7.6). [`reply_to`] never writes IA-level statuses (we
//! decide per item); a partner's are honoured by [`BindingReply::acked_items`].
//!
//! **Not echoed:** OPTION_VSS. tandem supports no VPNs, so an update carrying VSS is rejected
//! whole with ConfigurationConflict and the reply is matched by its xid.

use std::net::Ipv6Addr;

use tandem_wire::StatusCode;

use super::encode::Fixed;
use super::error::EncodeError;
use super::model::{BindingItem, BindingUpdate, IaKind, UpdateKey};
use super::receive::Outcomes;
use crate::conflict::BindingStatus;
use crate::time::FoTime;

/// What a BNDREPLY echoes of one IAADDR / IAPREFIX (RFC 8156 §7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemEcho {
    /// Address or prefix.
    pub addr: Ipv6Addr,
    /// Prefix length (128 for an IAADDR).
    pub prefix_len: u8,
    /// Preferred lifetime as received.
    pub preferred_s: u32,
    /// Valid lifetime as received.
    pub valid_s: u32,
    /// F_BINDING_STATUS as received. Present on every accepted item.
    pub binding_status: Option<BindingStatus>,
    /// F_STATE_EXPIRATION_TIME as received.
    pub state_expiration_time: Option<FoTime>,
    /// F_PARTNER_LIFETIME_SENT: an exact copy of the received F_PARTNER_LIFETIME (R38).
    pub partner_lifetime_sent: Option<FoTime>,
}

impl ItemEcho {
    /// The echo of a received item.
    pub fn of(item: &BindingItem) -> Self {
        Self {
            addr: item.addr,
            prefix_len: item.prefix_len,
            preferred_s: item.preferred_s,
            valid_s: item.valid_s,
            binding_status: Some(item.status),
            state_expiration_time: item.state_expiration_time,
            partner_lifetime_sent: item.partner_lifetime,
        }
    }

    pub(crate) fn fixed(&self) -> Fixed {
        Fixed {
            addr: self.addr,
            prefix_len: self.prefix_len,
            preferred_s: self.preferred_s,
            valid_s: self.valid_s,
        }
    }
}

/// One item of a client reply with its own status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemReply {
    /// The echoed data.
    pub echo: ItemEcho,
    /// OPTION_STATUS_CODE inside the IAADDR / IAPREFIX.
    pub status: Option<StatusCode>,
}

/// One IA of a client reply (IAID, T1, T2 as received).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IaReply {
    /// IA_NA or IA_PD.
    pub kind: IaKind,
    /// IAID.
    pub iaid: u32,
    /// T1 as received.
    pub t1_s: u32,
    /// T2 as received.
    pub t2_s: u32,
    /// OPTION_STATUS_CODE inside the IA: rejects all its items.
    pub status: Option<StatusCode>,
    /// The items.
    pub items: Vec<ItemReply>,
}

/// The container a BNDREPLY mirrors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplyContainer {
    /// OPTION_CLIENT_DATA with the CLIENTID (empty when the update had none) and the IAs.
    Client {
        /// The client's DUID.
        duid: Box<[u8]>,
        /// The IAs.
        ias: Vec<IaReply>,
    },
    /// The top-level OPTION_IAPREFIX.
    Prefix(ItemEcho),
    /// Neither: the answer to a BNDUPD without a usable container; only a message-level
    /// OPTION_STATUS_CODE.
    Empty,
}

/// A BNDREPLY (RFC 8156 §7.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BindingReply {
    /// The whole-update status: inside CLIENT_DATA, inside the top-level IAPREFIX, or at the
    /// message level for [`ReplyContainer::Empty`].
    pub status: Option<StatusCode>,
    /// The mirrored container.
    pub container: ReplyContainer,
}

/// What the sender of an accepted item records (RFC 8156 §7.7; R39): PARTNER_LIFETIME_SENT
/// becomes acked-partner-lifetime and partner-lifetime is cleared; an acked EXPIRED /
/// RELEASED (or FREE for a prefix) moves on to PENDING-FREE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckedItem {
    /// Address or prefix.
    pub addr: Ipv6Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// The binding-status that was acknowledged.
    pub binding_status: BindingStatus,
    /// The state-expiration-time that was acknowledged.
    pub state_expiration_time: Option<FoTime>,
    /// The new acked-partner-lifetime.
    pub partner_lifetime_sent: Option<FoTime>,
}

/// A rejected item, only to be remembered (no immediate resend; §7.7, R37).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RejectedItem {
    /// Address or prefix.
    pub addr: Ipv6Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// The status that rejected it (the item's, its IA's or the whole update's).
    pub status: StatusCode,
}

/// True for a status that rejects: anything but Success.
fn rejects(s: Option<StatusCode>) -> bool {
    s.is_some_and(|s| s != StatusCode::Success)
}

/// The first rejecting status among the levels, outermost first.
fn effective(levels: [Option<StatusCode>; 3]) -> Option<StatusCode> {
    levels.into_iter().find(|s| rejects(*s)).flatten()
}

impl BindingReply {
    /// The coalescing key of the update this answers (`None` for [`ReplyContainer::Empty`]).
    pub fn key(&self) -> Option<UpdateKey> {
        match &self.container {
            ReplyContainer::Client { duid, .. } => Some(UpdateKey::Client(duid.clone())),
            ReplyContainer::Prefix(e) => Some(UpdateKey::Prefix(e.addr, e.prefix_len)),
            ReplyContainer::Empty => None,
        }
    }

    /// Does the reply reject anything: the whole update, an IA or an item?
    pub fn has_rejection(&self) -> bool {
        rejects(self.status)
            || match &self.container {
                ReplyContainer::Client { ias, .. } => ias
                    .iter()
                    .any(|ia| rejects(ia.status) || ia.items.iter().any(|i| rejects(i.status))),
                ReplyContainer::Prefix(_) | ReplyContainer::Empty => false,
            }
    }

    /// Every echoed item with the status that decides it (`None`: accepted).
    pub fn items(&self) -> impl Iterator<Item = (Option<StatusCode>, &ItemEcho)> + '_ {
        let whole = self.status;
        let (ias, prefix) = match &self.container {
            ReplyContainer::Client { ias, .. } => (ias.as_slice(), None),
            ReplyContainer::Prefix(e) => (&[][..], Some(e)),
            ReplyContainer::Empty => (&[][..], None),
        };
        let nested = ias.iter().flat_map(move |ia| {
            ia.items
                .iter()
                .map(move |i| (effective([whole, ia.status, i.status]), &i.echo))
        });
        prefix
            .map(|e| (effective([whole, None, None]), e))
            .into_iter()
            .chain(nested)
    }

    /// The accepted items and what the sender records for each (RFC 8156 §7.7; R39).
    /// Items without an echoed binding-status are skipped ([`super::decode_bndreply`]
    /// refuses such replies).
    pub fn acked_items(&self) -> impl Iterator<Item = AckedItem> + '_ {
        self.items().filter_map(|(status, e)| {
            if status.is_some() {
                return None;
            }
            Some(AckedItem {
                addr: e.addr,
                prefix_len: e.prefix_len,
                binding_status: e.binding_status?,
                state_expiration_time: e.state_expiration_time,
                partner_lifetime_sent: e.partner_lifetime_sent,
            })
        })
    }

    /// The rejected items with their deciding status (RFC 8156 §7.7: only recorded).
    pub fn rejected_items(&self) -> impl Iterator<Item = RejectedItem> + '_ {
        self.items().filter_map(|(status, e)| {
            Some(RejectedItem {
                addr: e.addr,
                prefix_len: e.prefix_len,
                status: status?,
            })
        })
    }
}

/// Builds the BNDREPLY for `update` from the receiver's decisions (RFC 8156 §7.6; R38).
/// `outcomes.items` must hold one outcome per item, else
/// [`EncodeError::InvalidField`] `"outcomes"`. With a whole-update status the item
/// statuses are left out.
pub fn reply_to(update: &BindingUpdate, outcomes: &Outcomes) -> Result<BindingReply, EncodeError> {
    if outcomes.items.len() != update.item_count() {
        return Err(EncodeError::InvalidField { field: "outcomes" });
    }
    let whole = outcomes.whole;
    let item_status = |i: usize| {
        if whole.is_some() {
            return None;
        }
        outcomes.items.get(i).and_then(|o| o.status())
    };
    let container = match update {
        BindingUpdate::Client(c) => {
            let mut next = 0usize;
            let ias = c
                .ias
                .iter()
                .map(|ia| IaReply {
                    kind: ia.kind,
                    iaid: ia.iaid,
                    t1_s: ia.t1_s,
                    t2_s: ia.t2_s,
                    status: None,
                    items: ia
                        .items
                        .iter()
                        .map(|item| {
                            let status = item_status(next);
                            next += 1;
                            ItemReply {
                                echo: ItemEcho::of(item),
                                status,
                            }
                        })
                        .collect(),
                })
                .collect();
            return Ok(BindingReply {
                status: whole,
                container: ReplyContainer::Client {
                    duid: c.duid.clone(),
                    ias,
                },
            });
        }
        BindingUpdate::Prefix { item, .. } => ReplyContainer::Prefix(ItemEcho::of(item)),
    };
    Ok(BindingReply {
        status: whole.or(item_status(0)),
        container,
    })
}
