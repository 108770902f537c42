//! tandem-lease: bindings, pools, allocation, per-shard lease tables, expiry and the journal
//! record format. No I/O, no clock: time is `now: u64` Unix seconds, passed in.
//!
//! - [`Shard`] holds the bindings of the clients whose DUID hashes to it
//!   ([`tandem_ebpf_common::shard_of`]) and its slice of every pool: shard `s` of `n` allocates
//!   only pool indexes `i` with `i % n == s`, so shards never hand out the same resource.
//! - A pool is the index space `[0, size)`: index `i` is address `first + i`, or prefix
//!   `base + (i << (128 - delegated_len))`. Pools are never materialised.
//! - Every change is recorded as a [`LeaseChange`]; [`journal`] encodes and decodes them;
//!   [`Shard::apply_replayed`] rebuilds a shard from a snapshot + journal.
//!
//! RFC 8415 §6.2, §6.3 (IA_NA, IA_PD), §18.3 (server behaviour).
#![forbid(unsafe_code)]

mod allocator;
mod bitmap;
mod expiry;
pub mod journal;
mod lease;
mod pool;
mod resource;
mod shard;

pub use lease::{Lease, LeaseChange, LeaseState};
pub use resource::{LeaseKind, PoolDef, PoolId, PoolRange, Resource};
pub use shard::Shard;
