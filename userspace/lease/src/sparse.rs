//! The used indexes of a slice too big for a [`crate::bitmap::Bitmap`]: bits in chunks of 256
//! indexes, the chunks in a B-tree by chunk number. A run of used indexes (the allocator's
//! next-fit cursor hands them out in order) costs a fraction of a byte each; a lone used index
//! costs its chunk's entry (about 80 bytes). A hash set of `u128` cost 35 bytes per used index
//! at a million (issue 4: memory per lease).

use std::collections::BTreeMap;

/// Indexes per chunk.
const CHUNK: u128 = 256;
const WORDS: usize = (CHUNK / 64) as usize;

/// A set of `u128` indexes (see the module doc).
#[derive(Debug, Clone, Default)]
pub(crate) struct SparseSet {
    chunks: BTreeMap<u128, [u64; WORDS]>,
    len: u128,
}

/// Chunk number, word and bit of index `j`.
fn place(j: u128) -> (u128, usize, u32) {
    let bit = (j % CHUNK) as usize;
    (j / CHUNK, bit / 64, (bit % 64) as u32)
}

impl SparseSet {
    /// How many indexes are in the set.
    pub(crate) fn len(&self) -> u128 {
        self.len
    }

    pub(crate) fn contains(&self, j: u128) -> bool {
        let (c, w, b) = place(j);
        self.chunks
            .get(&c)
            .is_some_and(|bits| bits[w] & (1 << b) != 0)
    }

    /// Adds `j`; returns whether it was absent.
    pub(crate) fn insert(&mut self, j: u128) -> bool {
        let (c, w, b) = place(j);
        let word = &mut self.chunks.entry(c).or_default()[w];
        let absent = *word & (1 << b) == 0;
        *word |= 1 << b;
        self.len += u128::from(absent);
        absent
    }

    /// Removes `j`; returns whether it was present. An emptied chunk goes.
    pub(crate) fn remove(&mut self, j: u128) -> bool {
        let (c, w, b) = place(j);
        let Some(bits) = self.chunks.get_mut(&c) else {
            return false;
        };
        let present = bits[w] & (1 << b) != 0;
        bits[w] &= !(1 << b);
        if bits.iter().all(|x| *x == 0) {
            self.chunks.remove(&c);
        }
        self.len -= u128::from(present);
        present
    }

    /// The lowest index in `from..end` not in the set. `visits` counts the chunks looked at:
    /// at most one more than the full chunks in the way.
    pub(crate) fn first_absent(&self, from: u128, end: u128, visits: &mut u64) -> Option<u128> {
        let mut j = from;
        while j < end {
            *visits += 1;
            let (c, w, b) = place(j);
            let Some(bits) = self.chunks.get(&c) else {
                return Some(j);
            };
            let word_free = |i: usize| {
                let mask = if i == w { !0u64 << b } else { !0 };
                !bits[i] & mask
            };
            if let Some((i, free)) = (w..WORDS).map(|i| (i, word_free(i))).find(|(_, f)| *f != 0) {
                let k = c * CHUNK + (i as u128) * 64 + u128::from(free.trailing_zeros());
                return (k < end).then_some(k);
            }
            j = c.checked_add(1)?.checked_mul(CHUNK)?;
        }
        None
    }

    /// Every index in the set, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u128> + '_ {
        self.chunks.iter().flat_map(|(c, bits)| {
            bits.iter().enumerate().flat_map(move |(i, word)| {
                (0..64u32)
                    .filter(move |b| word & (1 << b) != 0)
                    .map(move |b| c * CHUNK + (i as u128) * 64 + u128::from(b))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_and_count() {
        let mut s = SparseSet::default();
        assert!(s.insert(5) && !s.insert(5));
        assert!(s.insert(u128::MAX) && s.insert(1 << 100) && s.insert(300));
        assert_eq!(s.len(), 4);
        assert!(s.contains(u128::MAX) && s.contains(300) && !s.contains(301));
        assert_eq!(s.iter().collect::<Vec<_>>(), [5, 300, 1 << 100, u128::MAX]);
        assert!(s.remove(300) && !s.remove(300) && !s.remove(7));
        assert_eq!(s.chunks.len(), 3, "an emptied chunk is dropped");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn first_absent_skips_runs_and_respects_the_end() {
        let mut s = SparseSet::default();
        let mut visits = 0;
        assert_eq!(s.first_absent(10, 20, &mut visits), Some(10));
        assert_eq!(s.first_absent(10, 10, &mut visits), None);
        for j in 0..1000 {
            s.insert(j);
        }
        assert_eq!(s.first_absent(0, u128::MAX, &mut visits), Some(1000));
        visits = 0;
        assert_eq!(s.first_absent(100, 2000, &mut visits), Some(1000));
        assert!(visits <= 4, "one visit per chunk: {visits}");
        assert_eq!(s.first_absent(100, 1000, &mut visits), None);
        assert_eq!(s.first_absent(100, 999, &mut visits), None);
        s.remove(63);
        s.remove(64);
        assert_eq!(s.first_absent(0, 1000, &mut visits), Some(63));
        assert_eq!(s.first_absent(64, 1000, &mut visits), Some(64));
        assert_eq!(s.first_absent(65, 1000, &mut visits), None);
        // The last chunk of the index space ends without overflowing.
        s.insert(u128::MAX);
        let top = u128::MAX - 255;
        for j in top..u128::MAX {
            s.insert(j);
        }
        assert_eq!(s.first_absent(top, u128::MAX, &mut visits), None);
        s.remove(u128::MAX - 1);
        assert_eq!(
            s.first_absent(top, u128::MAX, &mut visits),
            Some(u128::MAX - 1)
        );
    }
}
