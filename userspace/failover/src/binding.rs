//! Binding updates: BNDUPD / BNDREPLY as owned values, their codec, and the receive-side rules
//! (RFC 8156 §7.4–§7.7; protocol.md §1.9, §1.12, §1.13; R33–R40).
//!
//! ```text
//! BNDUPD (24)                              BNDREPLY (25), same xid
//! ├─ OPTION_CLIENT_DATA (45)               ├─ OPTION_CLIENT_DATA
//! │  ├─ OPTION_CLIENTID (1)                │  ├─ OPTION_CLIENTID
//! │  ├─ OPTION_LQ_BASE_TIME (100)          │  ├─ OPTION_STATUS_CODE   whole update, optional
//! │  └─ OPTION_IA_NA (3) / OPTION_IA_PD    │  └─ OPTION_IA_NA / OPTION_IA_PD
//! │     └─ OPTION_IAADDR / OPTION_IAPREFIX │     ├─ OPTION_STATUS_CODE   whole IA, optional
//! │        ├─ F_BINDING_STATUS (114)       │     └─ OPTION_IAADDR / OPTION_IAPREFIX
//! │        ├─ F_START_TIME_OF_STATE (133)  │        ├─ OPTION_STATUS_CODE   optional
//! │        ├─ F_STATE_EXPIRATION_TIME (*)  │        ├─ F_BINDING_STATUS         as received
//! │        ├─ OPTION_CLT_TIME (46)         │        ├─ F_STATE_EXPIRATION_TIME  as received
//! │        ├─ F_PARTNER_LIFETIME (*)       │        └─ F_PARTNER_LIFETIME_SENT  = F_PARTNER_LIFETIME
//! │        ├─ F_PARTNER_RAW_CLT_TIME (126) │
//! │        └─ F_EXPIRATION_TIME (*)        │
//! └─ or one top-level OPTION_IAPREFIX (26) └─ or the top-level OPTION_IAPREFIX
//!    with LQ_BASE_TIME, F_BINDING_STATUS,     with STATUS_CODE, F_BINDING_STATUS,
//!    F_START_TIME_OF_STATE and (*)            F_STATE_EXPIRATION_TIME, F_PARTNER_LIFETIME_SENT
//! ```
//!
//! (*) present iff the binding-status has a timeout ([`timeout`], R33).
//!
//! * [`model`]: [`BindingUpdate`] and its parts, the timeout table, the coalescing
//!   [`UpdateKey`].
//! * [`encode_bndupd`] / [`encoded_len`] write a framed BNDUPD into a caller buffer;
//!   [`decode_bndupd`] reads one, with an [`UpdateError`] that maps to the BNDREPLY status.
//! * [`receive_update`] applies §7.5 / §7.5.5 (conflict table, pool check, new local times).
//! * [`BindingReply`]: [`reply_to`], [`reject_reply`], [`encode_bndreply`],
//!   [`decode_bndreply`], and [`BindingReply::acked_items`] for the sender (§7.7, R39).
//! * [`BindingUpdate`] implements [`crate::lazy::LazyUpdate`], so it rides the lazy-update
//!   queue directly.
//!
//! Everything is pure: no clock, no I/O. Decoders never panic and are bounded
//! ([`MAX_IAS_PER_UPDATE`], [`MAX_ITEMS_PER_UPDATE`], [`MAX_DUID_LEN`]).
//!
//! Not modelled (accepted and skipped on receipt, never produced): OPTION_F_RECONFIGURE_DATA,
//! OPTION_LQ_RELAY_DATA, OPTION_CLIENT_FQDN and OPTION_F_DNS_REMOVAL_INFO. OPTION_VSS makes an
//! update a ConfigurationConflict (tandem supports no VPNs); IA_TA is never produced and a
//! received IA_TA is a ConfigurationConflict (RFC 9915 removed IA_TA; OPEN-11).

mod decode;
mod encode;
mod error;
mod lazy_update;
pub mod model;
mod receive;
mod reply;
mod reply_codec;

pub use decode::decode_bndupd;
pub use encode::{encode_bndupd, encoded_len};
pub use error::{EncodeError, UpdateError};
pub use model::{
    timeout, BindingItem, BindingUpdate, ClientBinding, IaBinding, IaKind, Timeout, UpdateKey,
    MAX_DUID_LEN, MAX_IAS_PER_UPDATE, MAX_ITEMS_PER_UPDATE,
};
pub use receive::{
    decide_item, receive_update, stored_times, ItemOutcome, ItemReject, LocalLease, LocalTimes,
    Outcomes,
};
pub use reply::{
    reply_to, AckedItem, BindingReply, IaReply, ItemEcho, ItemReply, RejectedItem, ReplyContainer,
};
pub use reply_codec::{decode_bndreply, encode_bndreply, reject_reply, reply_encoded_len};

#[cfg(test)]
mod tests;
