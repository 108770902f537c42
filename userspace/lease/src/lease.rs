//! Leases and the changes to a shard's store that the journal records.
//!
//! RFC 8415 §6.2/§6.3 (IA_NA, IA_PD), §18.3.7 (Release), §18.3.8 (Decline); RFC 8156 §7.3
//! (the failover data each lease carries).

use crate::failover::FoData;
use crate::resource::Resource;
use crate::share::BackupPrefix;

/// The state of a lease in the table. RFC 8156 binding-status: Bound = ACTIVE, Declined =
/// ABANDONED, Released = RELEASED, Expired = EXPIRED (see [`LeaseState::binding_status`]).
///
/// Released and Expired leases exist only on subnets in failover: they stay, unavailable to
/// other clients, until the partner acks them (RFC 8156 §4.2.2.1; R46).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseState {
    /// Granted to a client (RFC 8415 §18.3.2).
    Bound,
    /// Declined by a client and held back (RFC 8415 §18.3.8).
    Declined,
    /// Released by the client (RFC 8415 §18.3.7).
    Released,
    /// Past its valid lifetime.
    Expired,
}

/// One lease: a resource granted to one IA of one client (or a Declined hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What is leased.
    pub resource: Resource,
    /// Client DUID, opaque, 1..=130 octets (empty for Declined holds).
    pub duid: Box<[u8]>,
    /// IAID of the IA_NA / IA_PD.
    pub iaid: u32,
    /// The subnet the resource belongs to.
    pub subnet_id: u32,
    /// Preferred lifetime given to the client.
    pub preferred_s: u32,
    /// Valid lifetime given to the client.
    pub valid_s: u32,
    /// Client last transaction time (Unix s) = when this grant was made.
    pub cltt: u64,
    /// `cltt + valid_s` (or hold end for Declined; the release time for Released).
    pub expires_at: u64,
    /// Bound, Declined, ...
    pub state: LeaseState,
    /// Failover bookkeeping (RFC 8156 §7.3); all zero for a standalone lease.
    pub fo: FoData,
}

/// A change to a shard's store, in the order it happened: what the journal records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseChange {
    /// A lease was inserted or replaced.
    Upsert(Lease),
    /// A lease was removed (released or reclaimed).
    Remove(Resource),
    /// A delegable prefix became the secondary's (`Some`, FREE-BACKUP) or the primary's again
    /// (`None`) (RFC 8156 §4.2.2; [`crate::BackupPrefix`]).
    Backup(Resource, Option<BackupPrefix>),
}
