//! Types and functions shared, byte for byte, by tandem's XDP program and userspace.
//!
//! The one rule of this crate: everything here must compile for `bpfel-unknown-none` under the BPF
//! verifier's constraints (no heap, no unbounded loops, no panics) *and* on the host, so that the
//! XDP program and the workers agree on which shard owns a client. Tests on the host pin the
//! values, so a change to the hash is a visible, deliberate change.
#![no_std]
#![forbid(unsafe_code)]

pub mod maps;
pub mod parse;

/// Largest DUID RFC 8415 §11.1 allows: 2-octet type plus at most 128 octets.
pub const DUID_LEN_MAX: usize = 130;

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a (32 bit) over the client DUID, truncated to [`DUID_LEN_MAX`] octets.
///
/// The loop is bounded by a constant so the BPF verifier accepts it unrolled or bounded. The
/// shard of a client is keyed by its DUID only (not DUID + IAID): every IA of a client then lives
/// in one shard, so a Renew or Release naming several IAs is handled by one worker.
#[inline]
pub fn shard_hash(duid: &[u8]) -> u32 {
    let mut hash = FNV_OFFSET;
    let mut i = 0;
    while i < DUID_LEN_MAX && i < duid.len() {
        hash ^= duid[i] as u32;
        hash = hash.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    hash
}

/// The shard (0-based) that owns a client with this DUID when there are `shards` shards.
///
/// `shards == 0` is treated as one shard so the function never divides by zero.
#[inline]
pub fn shard_of(duid: &[u8], shards: u32) -> u32 {
    let n = if shards == 0 { 1 } else { shards };
    shard_hash(duid) % n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_values() {
        // Reference values of 32-bit FNV-1a (the published test vectors).
        assert_eq!(shard_hash(b""), 0x811c_9dc5);
        assert_eq!(shard_hash(b"a"), 0xe40c_292c);
        assert_eq!(shard_hash(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn shard_is_in_range_and_stable() {
        let duid = [
            0u8, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d, 0, 0x16, 0x3e, 0x11, 0x22, 0x33,
        ];
        for n in 1..64 {
            let s = shard_of(&duid, n);
            assert!(s < n);
            assert_eq!(s, shard_of(&duid, n));
        }
        assert_eq!(shard_of(&duid, 0), 0);
    }

    #[test]
    fn only_the_first_130_octets_count() {
        let mut a = [7u8; 200];
        let b = a;
        a[150] = 9;
        assert_eq!(shard_hash(&a), shard_hash(&b));
        a[129] = 9;
        assert_ne!(shard_hash(&a), shard_hash(&b));
    }
}
