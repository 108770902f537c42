//! A two-level free bitmap: one bit per index (set = used) plus one summary bit per word
//! (set = that word has a free bit). Finding a free index scans summary words, each covering
//! 4096 indexes: O(len / 4096) worst case, near O(1) typical.

/// Two-level bitmap over `[0, len)`.
#[derive(Debug, Clone)]
pub(crate) struct Bitmap {
    len: u64,
    words: Vec<u64>,
    summary: Vec<u64>,
    /// Word where the next search starts (next-fit, so freed indexes are not reused at once).
    cursor: usize,
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

    /// A free index at or after the cursor (wrapping), counting summary words examined in `probes`.
    pub(crate) fn find_free(&mut self, probes: &mut u64) -> Option<u64> {
        let nsum = self.summary.len();
        if nsum == 0 {
            return None;
        }
        let start_sw = (self.cursor / 64) % nsum;
        let start_bit = (self.cursor % 64) as u32;
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
                let b = self.words[w].trailing_ones() as u64;
                self.cursor = w;
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
    fn empty_bitmap() {
        let mut b = Bitmap::new(0);
        assert_eq!(b.find_free(&mut 0), None);
        assert!(b.is_used(0));
    }
}
