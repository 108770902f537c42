//! A fixed-capacity list on the stack, so per-packet IA lists never touch the heap.

/// At most `N` items of a `Copy` type, stored inline. `push` refuses past capacity.
#[derive(Clone, Copy)]
pub(crate) struct FixedVec<T: Copy, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy, const N: usize> FixedVec<T, N> {
    /// An empty list; `fill` only initialises the unused slots and is never observed.
    pub(crate) const fn new(fill: T) -> Self {
        Self {
            items: [fill; N],
            len: 0,
        }
    }

    /// Appends `item`; returns `false` (and drops it) when the list is full.
    pub(crate) fn push(&mut self, item: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = item;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == N
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        // `len <= N` always holds: `push` is the only writer of `len`.
        &self.items[..self.len]
    }

    pub(crate) fn iter(&self) -> core::slice::Iter<'_, T> {
        self.as_slice().iter()
    }
}

impl<T: Copy + core::fmt::Debug, const N: usize> core::fmt::Debug for FixedVec<T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_stops_at_capacity() {
        let mut v: FixedVec<u8, 2> = FixedVec::new(0);
        assert!(v.is_empty());
        assert!(v.push(1));
        assert!(v.push(2));
        assert!(v.is_full());
        assert!(!v.push(3));
        assert_eq!(v.as_slice(), &[1, 2]);
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(format!("{v:?}"), "[1, 2]");
        assert_eq!(v.len(), 2);
    }
}
