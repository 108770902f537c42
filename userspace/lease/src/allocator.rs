//! One shard's slice of one pool: which slice indexes are used, and finding a free one.
//!
//! A server may allocate from a [`Subspace`] of the pool: every index standalone, only the
//! indexes of its address parity in failover (RFC 8156 §4.2.1), or none. The subspace's `k`-th
//! index is `first + k * step`; shard `s` of `n` owns the `k` with `k % n == s`, so slice index
//! `j` is subspace index `s + j * n` and every shard keeps a fair share of the subspace. Slices
//! up to [`BITMAP_MAX`] indexes use a two-level [`Bitmap`]; bigger slices
//! (which can never be nearly full in memory) use a cursor and a [`SparseSet`] of used indexes.

use crate::bitmap::Bitmap;
use crate::sparse::SparseSet;

/// Largest slice kept as a bitmap (2^22 indexes = 512 KiB of bits).
pub(crate) const BITMAP_MAX: u128 = 1 << 22;

/// The pool indexes this server may allocate: `first + k * step` for `k < len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Subspace {
    first: u128,
    step: u128,
    len: u128,
}

impl Subspace {
    /// Every index of a pool of `size` (standalone).
    pub(crate) fn all(size: u128) -> Self {
        Self {
            first: 0,
            step: 1,
            len: size,
        }
    }

    /// No index at all (a failover secondary's delegable prefixes, for now).
    pub(crate) fn none() -> Self {
        Self {
            first: 0,
            step: 1,
            len: 0,
        }
    }

    /// The indexes `i` of a pool of `size` starting at address `base` whose address
    /// `base + i` has last bit `bit` (RFC 8156 §4.2.1).
    pub(crate) fn parity(size: u128, base: u128, bit: bool) -> Self {
        let first = (u128::from(bit) ^ base) & 1;
        let len = if size > first {
            (size - first - 1) / 2 + 1
        } else {
            0
        };
        Self {
            first,
            step: 2,
            len,
        }
    }

    /// Subspace position `k` of pool index `i`, if `i` is in the subspace.
    fn position(&self, i: u128) -> Option<u128> {
        let off = i.checked_sub(self.first)?;
        (off % self.step == 0 && off / self.step < self.len).then(|| off / self.step)
    }
}

#[derive(Debug, Clone)]
enum Used {
    Dense(Bitmap),
    Sparse { used: SparseSet, cursor: u128 },
}

/// The free/used state of one shard's slice of a pool.
#[derive(Debug, Clone)]
pub(crate) struct Slice {
    sub: Subspace,
    shard: u128,
    count: u128,
    len: u128,
    used: Used,
    /// Total probes spent in `find_free` (for tests and diagnostics).
    pub(crate) probes: u64,
}

impl Slice {
    pub(crate) fn new(sub: Subspace, shard: u32, count: u32) -> Self {
        let (s, n) = (u128::from(shard), u128::from(count.max(1)));
        let len = if sub.len > s {
            (sub.len - s - 1) / n + 1
        } else {
            0
        };
        let used = if len <= BITMAP_MAX {
            Used::Dense(Bitmap::new(len as u64))
        } else {
            Used::Sparse {
                used: SparseSet::default(),
                cursor: 0,
            }
        };
        Self {
            sub,
            shard: s,
            count: n,
            len,
            used,
            probes: 0,
        }
    }

    pub(crate) fn len(&self) -> u128 {
        self.len
    }

    pub(crate) fn used_count(&self) -> u128 {
        match &self.used {
            Used::Dense(b) => u128::from(b.used()),
            Used::Sparse { used, .. } => used.len(),
        }
    }

    /// The shard whose slice of this subspace holds pool index `i`, if `i` is in the subspace.
    pub(crate) fn owner_of(&self, i: u128) -> Option<u128> {
        self.sub.position(i).map(|k| k % self.count)
    }

    /// Slice index of pool index `i`, if this shard owns it.
    pub(crate) fn local(&self, i: u128) -> Option<u128> {
        let k = self.sub.position(i)?;
        (k % self.count == self.shard && k / self.count < self.len).then(|| k / self.count)
    }

    /// Pool index of slice index `j` (`j < len`).
    pub(crate) fn global(&self, j: u128) -> u128 {
        self.sub.first + self.sub.step * (self.shard + j * self.count)
    }

    pub(crate) fn is_used(&self, j: u128) -> bool {
        match &self.used {
            Used::Dense(b) => b.is_used(j as u64),
            Used::Sparse { used, .. } => j >= self.len || used.contains(j),
        }
    }

    pub(crate) fn set_used(&mut self, j: u128) {
        if j >= self.len {
            return;
        }
        match &mut self.used {
            Used::Dense(b) => {
                b.set_used(j as u64);
            }
            Used::Sparse { used, cursor } => {
                if used.insert(j) {
                    *cursor = (j + 1) % self.len;
                }
            }
        }
    }

    pub(crate) fn set_free(&mut self, j: u128) {
        match &mut self.used {
            Used::Dense(b) => {
                b.set_free(j as u64);
            }
            Used::Sparse { used, .. } => {
                used.remove(j);
            }
        }
    }

    /// The lowest free slice index at or after the cursor (wrapping). Does not change the
    /// free/used state or the cursor (only marking an index used moves it), so two searches
    /// without a bind in between give the same answer.
    pub(crate) fn find_free(&mut self) -> Option<u128> {
        let len = self.len;
        match &self.used {
            Used::Dense(b) => b.find_free(&mut self.probes).map(u128::from),
            Used::Sparse { used, cursor } => {
                // The lowest free index at or after the cursor, else from 0 (a probe per chunk
                // of 256 indexes looked at).
                let from = (*cursor).min(len);
                used.first_absent(from, len, &mut self.probes)
                    .or_else(|| used.first_absent(0, from, &mut self.probes))
            }
        }
    }

    /// Used slice indexes, sorted (for the consistency check).
    pub(crate) fn used_indexes_for_check(&self) -> Vec<u128> {
        match &self.used {
            Used::Dense(_) => (0..self.len).filter(|&j| self.is_used(j)).collect(),
            Used::Sparse { used, .. } => used.iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_lengths_partition_the_pool() {
        for size in [0u128, 1, 5, 7, 64, 65] {
            let total: u128 = (0..4)
                .map(|s| Slice::new(Subspace::all(size), s, 4).len())
                .sum();
            assert_eq!(total, size);
        }
        let s = Slice::new(Subspace::all(10), 2, 4);
        assert_eq!(s.len(), 2);
        assert_eq!(s.local(6), Some(1));
        assert_eq!(s.local(5), None);
        assert_eq!(s.local(10), None);
        assert_eq!(s.global(1), 6);
    }

    #[test]
    fn sparse_slice_finds_free_after_used() {
        let mut s = Slice::new(Subspace::all(1u128 << 64), 1, 4);
        assert!(s.len() > BITMAP_MAX);
        for j in 0..100 {
            s.set_used(j);
        }
        let f = s.find_free().unwrap();
        assert_eq!(f, 100);
        assert_eq!(s.find_free(), Some(100), "finding does not move the cursor");
        assert!(s.probes <= 102);
        s.set_used(7_000);
        assert_eq!(s.find_free(), Some(7_001));
        assert_eq!(s.used_count(), 101);
        s.set_free(5);
        assert_eq!(s.used_count(), 100);
        assert!(!s.is_used(5));
    }

    #[test]
    fn parity_subspace_is_shared_fairly_by_an_even_number_of_shards() {
        // Pool of 16 addresses starting at an odd base: odd addresses are even indexes.
        for (base, bit) in [(0x11u128, true), (0x11, false), (0x10, true), (0x10, false)] {
            let sub = Subspace::parity(16, base, bit);
            let mut seen = Vec::new();
            for s in 0..2 {
                let sl = Slice::new(sub, s, 2);
                assert_eq!(sl.len(), 4, "base {base:#x} bit {bit} shard {s}");
                for j in 0..sl.len() {
                    let i = sl.global(j);
                    assert_eq!((base + i) & 1 == 1, bit);
                    assert_eq!(sl.local(i), Some(j));
                    seen.push(i);
                }
                for i in 0..16 {
                    if ((base + i) & 1 == 1) != bit {
                        assert_eq!(sl.local(i), None, "wrong parity {i}");
                    }
                }
            }
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), 8, "the two shards cover the half exactly once");
        }
        assert_eq!(Subspace::parity(1, 0x10, true).len, 0);
        assert_eq!(Subspace::parity(1, 0x11, true).len, 1);
        assert_eq!(Subspace::parity(0, 0x11, true).len, 0);
    }

    #[test]
    fn empty_subspace_gives_every_shard_nothing() {
        let mut sl = Slice::new(Subspace::none(), 0, 1);
        assert_eq!(sl.len(), 0);
        assert_eq!(sl.find_free(), None);
        assert_eq!(sl.local(0), None);
    }

    #[test]
    fn huge_parity_slice_is_sparse_and_maps_both_ways() {
        let sub = Subspace::parity(u128::MAX, 0, false);
        let mut sl = Slice::new(sub, 3, 4);
        assert!(sl.len() > BITMAP_MAX);
        let j = sl.find_free().unwrap();
        let i = sl.global(j);
        assert_eq!(i % 2, 0);
        assert_eq!(sl.local(i), Some(j));
        sl.set_used(j);
        assert_ne!(sl.find_free(), Some(j));
    }
}
