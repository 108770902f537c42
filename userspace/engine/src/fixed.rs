//! A fixed-capacity list on the stack, so per-packet IA lists never touch the heap.

use arrayvec::ArrayVec;

/// At most `N` items, stored inline. `push` refuses past capacity.
#[derive(Clone)]
pub(crate) struct FixedVec<T, const N: usize> {
    items: ArrayVec<T, N>,
}

impl<T, const N: usize> FixedVec<T, N> {
    /// An empty list. Nothing is written to the unused slots: making a list costs the same
    /// whatever `N` (an engine plan holds 48 IAs of 8 leases each).
    pub(crate) const fn new() -> Self {
        Self {
            items: ArrayVec::new_const(),
        }
    }

    /// Appends `item`; returns `false` (and drops it) when the list is full.
    pub(crate) fn push(&mut self, item: T) -> bool {
        self.items.try_push(item).is_ok()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.items.is_full()
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        &self.items
    }

    pub(crate) fn iter(&self) -> core::slice::Iter<'_, T> {
        self.items.iter()
    }
}

impl<T: core::fmt::Debug, const N: usize> core::fmt::Debug for FixedVec<T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_stops_at_capacity() {
        let mut v: FixedVec<u8, 2> = FixedVec::new();
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
