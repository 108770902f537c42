//! One shard's slice of one pool: which slice indexes are used, and finding a free one.
//!
//! Shard `s` of `n` owns pool indexes `i` with `i % n == s`; slice index `j` is pool index
//! `s + j * n`. Slices up to [`BITMAP_MAX`] indexes use a two-level [`Bitmap`]; bigger slices
//! (which can never be nearly full in memory) use a cursor and a hash set of used indexes.

use std::collections::HashSet;

use crate::bitmap::Bitmap;

/// Largest slice kept as a bitmap (2^22 indexes = 512 KiB of bits).
pub(crate) const BITMAP_MAX: u128 = 1 << 22;

#[derive(Debug, Clone)]
enum Used {
    Dense(Bitmap),
    Sparse { used: HashSet<u128>, cursor: u128 },
}

/// The free/used state of one shard's slice of a pool.
#[derive(Debug, Clone)]
pub(crate) struct Slice {
    shard: u128,
    count: u128,
    len: u128,
    used: Used,
    /// Total probes spent in `find_free` (for tests and diagnostics).
    pub(crate) probes: u64,
}

impl Slice {
    pub(crate) fn new(pool_size: u128, shard: u32, count: u32) -> Self {
        let (s, n) = (u128::from(shard), u128::from(count.max(1)));
        let len = if pool_size > s {
            (pool_size - s - 1) / n + 1
        } else {
            0
        };
        let used = if len <= BITMAP_MAX {
            Used::Dense(Bitmap::new(len as u64))
        } else {
            Used::Sparse {
                used: HashSet::new(),
                cursor: 0,
            }
        };
        Self {
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
            Used::Sparse { used, .. } => used.len() as u128,
        }
    }

    /// Slice index of pool index `i`, if this shard owns it.
    pub(crate) fn local(&self, i: u128) -> Option<u128> {
        (i % self.count == self.shard && i / self.count < self.len).then(|| i / self.count)
    }

    /// Pool index of slice index `j`.
    pub(crate) fn global(&self, j: u128) -> u128 {
        self.shard + j * self.count
    }

    pub(crate) fn is_used(&self, j: u128) -> bool {
        match &self.used {
            Used::Dense(b) => b.is_used(j as u64),
            Used::Sparse { used, .. } => j >= self.len || used.contains(&j),
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
                used.remove(&j);
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
                // At most used.len() + 1 probes: among that many distinct indexes one is free.
                let limit = len.min(used.len() as u128 + 1);
                for k in 0..limit {
                    self.probes += 1;
                    let j = (*cursor + k) % len;
                    if !used.contains(&j) {
                        return Some(j);
                    }
                }
                None
            }
        }
    }

    /// Used slice indexes, sorted (for the consistency check).
    pub(crate) fn used_indexes_for_check(&self) -> Vec<u128> {
        match &self.used {
            Used::Dense(_) => (0..self.len).filter(|&j| self.is_used(j)).collect(),
            Used::Sparse { used, .. } => {
                let mut v: Vec<u128> = used.iter().copied().collect();
                v.sort_unstable();
                v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_lengths_partition_the_pool() {
        for size in [0u128, 1, 5, 7, 64, 65] {
            let total: u128 = (0..4).map(|s| Slice::new(size, s, 4).len()).sum();
            assert_eq!(total, size);
        }
        let s = Slice::new(10, 2, 4);
        assert_eq!(s.len(), 2);
        assert_eq!(s.local(6), Some(1));
        assert_eq!(s.local(5), None);
        assert_eq!(s.local(10), None);
        assert_eq!(s.global(1), 6);
    }

    #[test]
    fn sparse_slice_finds_free_after_used() {
        let mut s = Slice::new(1u128 << 64, 1, 4);
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
}
