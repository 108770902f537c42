//! A two-level free bitmap: one bit per index (set = used) plus one summary bit per word
//! (set = that word has a free bit). Finding a free index checks the cursor's word, then scans
//! summary words, each covering 4096 indexes: O(len / 4096) worst case, near O(1) typical.
//!
//! The search is a pure function of the state: the lowest free index at or after the cursor
//! (wrapping). The cursor moves only when an index becomes used, so an Advertise and the Request
//! that follows it are offered the same index.

/// Two-level bitmap over `[0, len)`.
#[derive(Debug, Clone)]
pub(crate) struct Bitmap {
    len: u64,
    words: Vec<u64>,
    summary: Vec<u64>,
    /// Index where the next search starts: one past the index most recently marked used
    /// (next-fit, so freed indexes are not reused at once).
    cursor: u64,
    used: u64,
}

impl Bitmap {
    pub(crate) fn new(len: u64) -> Self {
        let nwords = len.div_ceil(64) as usize;
        let mut words = vec![0u64; nwords];
        let tail = len % 64;
        if tail != 0 {
            if let Some(last) = words.last_mut() {
                *last = !0u64 << tail; // bits past len count as used
            }
        }
        let mut summary = vec![0u64; nwords.div_ceil(64)];
        for (w, word) in words.iter().enumerate() {
            if *word != !0 {
                summary[w / 64] |= 1 << (w % 64);
            }
        }
        Self {
            len,
            words,
            summary,
            cursor: 0,
            used: 0,
        }
    }

    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    pub(crate) fn is_used(&self, j: u64) -> bool {
        j >= self.len || self.words[(j / 64) as usize] & (1 << (j % 64)) != 0
    }

    /// Mark `j` used; returns whether it was free.
    pub(crate) fn set_used(&mut self, j: u64) -> bool {
        if self.is_used(j) {
            return false;
        }
        let w = (j / 64) as usize;
        self.words[w] |= 1 << (j % 64);
        if self.words[w] == !0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
        self.used += 1;
        self.cursor = if j + 1 >= self.len { 0 } else { j + 1 };
        true
    }

    /// Mark `j` free; returns whether it was used.
    pub(crate) fn set_free(&mut self, j: u64) -> bool {
        if j >= self.len || !self.is_used(j) {
            return false;
        }
        let w = (j / 64) as usize;
        self.words[w] &= !(1 << (j % 64));
        self.summary[w / 64] |= 1 << (w % 64);
        self.used -= 1;
        true
    }

    /// The lowest free index at or after the cursor (wrapping), counting the words and summary
    /// words examined in `probes`.
    pub(crate) fn find_free(&self, probes: &mut u64) -> Option<u64> {
        let nwords = self.words.len();
        let nsum = self.summary.len();
        if nwords == 0 {
            return None;
        }
        let w0 = (self.cursor / 64) as usize % nwords;
        *probes += 1;
        let here = !self.words[w0] & (!0u64 << (self.cursor % 64));
        if here != 0 {
            return Some(w0 as u64 * 64 + u64::from(here.trailing_zeros()));
        }
        // Words after w0, wrapping round to w0 itself (whose free bits are then below the cursor).
        let start = (w0 + 1) % nwords;
        let (start_sw, start_bit) = (start / 64, (start % 64) as u32);
        for k in 0..=nsum {
            *probes += 1;
            let sw = (start_sw + k) % nsum;
            let mut bits = self.summary[sw];
            if k == 0 {
                bits &= !0u64 << start_bit;
            } else if k == nsum {
                bits &= !(!0u64 << start_bit);
            }
            if bits != 0 {
                let w = sw * 64 + bits.trailing_zeros() as usize;
                let b = u64::from(self.words[w].trailing_ones());
                return Some(w as u64 * 64 + b);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_bits_never_free_and_full_is_none() {
        let mut b = Bitmap::new(70);
        let mut p = 0;
        for _ in 0..70 {
            let f = b.find_free(&mut p).unwrap();
            assert!(f < 70);
            assert!(b.set_used(f));
            assert!(!b.set_used(f));
        }
        assert_eq!(b.used(), 70);
        assert_eq!(b.find_free(&mut p), None);
        assert!(b.set_free(69));
        assert_eq!(b.find_free(&mut p), Some(69));
        assert!(!b.set_free(70));
    }

    #[test]
    fn search_is_lowest_free_after_cursor_and_only_binding_moves_it() {
        let mut b = Bitmap::new(10_000);
        let mut p = 0;
        for j in 0..5000 {
            b.set_used(j);
        }
        assert_eq!(b.find_free(&mut p), Some(5000));
        assert_eq!(
            b.find_free(&mut p),
            Some(5000),
            "finding does not move the cursor"
        );
        b.set_free(10);
        assert_eq!(
            b.find_free(&mut p),
            Some(5000),
            "freed indexes wait for the wrap"
        );
        b.set_used(9_999);
        assert_eq!(
            b.find_free(&mut 0),
            Some(10),
            "wraps to the lowest free index"
        );
        b.set_used(10);
        assert_eq!(b.find_free(&mut 0), Some(11 + 4989));
        // Cursor word has free bits only below the cursor: found after a full wrap.
        let mut c = Bitmap::new(128);
        for j in 0..128 {
            c.set_used(j);
        }
        c.set_free(3);
        c.set_used(3);
        c.set_free(2);
        assert_eq!(c.find_free(&mut 0), Some(2));
    }

    #[test]
    fn matches_a_linear_scan_on_every_pattern() {
        for len in [1u64, 63, 64, 65, 4095, 4096, 4097, 9000] {
            let mut b = Bitmap::new(len);
            let mut used = vec![false; len as usize];
            let mut x = len.wrapping_mul(2_654_435_761);
            for _ in 0..(len * 3) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let j = x % len;
                if x & (1 << 40) == 0 {
                    b.set_used(j);
                    used[j as usize] = true;
                } else {
                    b.set_free(j);
                    used[j as usize] = false;
                }
                let c = b.cursor;
                let want = (c..len).chain(0..c).find(|&k| !used[k as usize]);
                assert_eq!(b.find_free(&mut 0), want, "len {len} cursor {c}");
            }
            assert_eq!(b.used(), used.iter().filter(|&&u| u).count() as u64);
        }
    }

    #[test]
    fn empty_bitmap() {
        let b = Bitmap::new(0);
        assert_eq!(b.find_free(&mut 0), None);
        assert!(b.is_used(0));
    }
}
