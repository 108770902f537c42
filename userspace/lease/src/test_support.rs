//! Helpers the crate's unit tests share.

use tandem_ebpf_common::shard_of;

/// A DUID owned by `shard` of `n` (found by counting up from `k`'s prefix; deterministic).
pub(crate) fn duid_for(shard: u32, n: u32, k: u32) -> Box<[u8]> {
    (0u32..)
        .map(|x| [0, 3, 0, 1, (k >> 8) as u8, k as u8, (x >> 8) as u8, x as u8])
        .find(|d| shard_of(d, n) == shard)
        .unwrap()
        .into()
}
