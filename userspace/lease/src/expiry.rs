//! The expiry index: `(expires_at, resource)` in time order, kept exactly in step with the table.

use std::collections::BTreeSet;

use crate::resource::Resource;

/// Leases ordered by expiry time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expiry {
    set: BTreeSet<(u64, Resource)>,
}

impl Expiry {
    pub(crate) fn insert(&mut self, at: u64, r: Resource) {
        self.set.insert((at, r));
    }
    pub(crate) fn remove(&mut self, at: u64, r: Resource) -> bool {
        self.set.remove(&(at, r))
    }
    pub(crate) fn next(&self) -> Option<u64> {
        self.set.first().map(|(t, _)| *t)
    }
    /// Take the earliest entry if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Resource> {
        match self.set.first() {
            Some(&(t, _)) if t <= now => self.set.pop_first().map(|(_, r)| r),
            _ => None,
        }
    }
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
    pub(crate) fn contains(&self, at: u64, r: &Resource) -> bool {
        self.set.contains(&(at, *r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_only_when_due() {
        let mut e = Expiry::default();
        let a = Resource::address("2001:db8::1".parse().unwrap());
        let b = Resource::address("2001:db8::2".parse().unwrap());
        e.insert(20, a);
        e.insert(10, b);
        assert_eq!(e.next(), Some(10));
        assert_eq!(e.pop_due(9), None);
        assert_eq!(e.pop_due(15), Some(b));
        assert_eq!(e.pop_due(15), None);
        assert!(e.remove(20, a));
        assert_eq!(e.len(), 0);
    }
}
