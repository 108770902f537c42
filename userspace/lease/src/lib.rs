//! tandem-lease: bindings, pools, allocation, per-shard lease tables, expiry and the journal
//! record format. No I/O, no clock: time is `now: u64` Unix seconds, passed in.
//!
//! - [`Shard`] holds the bindings of the clients whose DUID hashes to it
//!   ([`tandem_ebpf_common::shard_of`]) and its slice of every pool: of the pool indexes this
//!   server may allocate, shard `s` of `n` takes the `k`-th when `k % n == s`, so shards never
//!   hand out the same resource and each keeps a fair share.
//! - A pool is the index space `[0, size)`: index `i` is address `first + i`, or prefix
//!   `base + (i << (128 - delegated_len))`. Pools are never materialised.
//! - Every change is recorded as a [`LeaseChange`]; [`journal`] encodes and decodes them;
//!   [`Shard::apply_replayed`] rebuilds a shard from a snapshot + journal.
//!
//! - Failover (RFC 8156): every [`Lease`] carries its [`FoData`] (§7.3; all zero standalone).
//!   [`Shard::set_subnet_failover`] puts a subnet in failover with a [`FoRole`]: addresses are
//!   then allocated only from this server's half (primary last bit 1, secondary 0; §4.2.1), delegable
//!   prefixes are shared by proportional allocation (§4.2.2, [`Shard::rebalance`]: the
//!   primary owns every prefix without a [`BackupPrefix`], the secondary those with one), local changes set tell-partner, and Release and expiry keep the lease
//!   (Released / Expired) until [`Shard::partner_acked`] or, in PARTNER-DOWN,
//!   [`Shard::free_unacked`] frees it. [`Shard::apply_partner`] stores the partner's bindings;
//!   [`Shard::tell_partner_leases`] and [`Shard::leases`] feed UPDREQ / UPDREQALL.
//!
//! RFC 8415 §6.2, §6.3 (IA_NA, IA_PD), §18.3 (server behaviour); RFC 8156 §4.2, §7.3.
#![forbid(unsafe_code)]

mod allocator;
mod bitmap;
mod expiry;
mod failover;
pub mod journal;
mod lease;
mod pool;
mod resource;
mod shard;
mod share;
mod sparse;
mod table;
#[cfg(test)]
mod test_support;

pub use failover::{AckOutcome, FoData, FoRole, PartnerAck};
pub use lease::{Lease, LeaseChange, LeaseState};
pub use resource::{LeaseKind, PoolDef, PoolId, PoolRange, Resource};
pub use shard::{
    prefix_slice_of, CrossNote, Reconfigured, Shard, ShareRefusal, SubnetCounts, MOVES_PER_PASS,
};
pub use share::{BackupPrefix, Rebalanced, ShareCounts, ShareMove, ShareTarget};
