//! The expiry index: `(expires_at, slot)` in time order, kept exactly in step with the table
//! (a slot number names a lease of [`crate::table::LeaseTable`]). Issue 4 (memory per lease):
//! times that fit in 32 bits (Unix seconds until 2106) take 8-byte keys, a quarter of the 32 of
//! `(u64, Resource)`; later ones (an infinite lifetime saturates past 2^32) go to a second set.
//!
//! Within one second the slots are in no useful order: [`Expiry::take_due`] hands every due
//! entry out and the shard reclaims them in `(time, resource)` order.

use std::collections::BTreeSet;

/// Leases ordered by expiry time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expiry {
    /// Times below 2^32.
    near: BTreeSet<(u32, u32)>,
    /// Times from 2^32 on (all later than every `near` one).
    far: BTreeSet<(u64, u32)>,
}

impl Expiry {
    pub(crate) fn insert(&mut self, at: u64, slot: u32) {
        match u32::try_from(at) {
            Ok(t) => self.near.insert((t, slot)),
            Err(_) => self.far.insert((at, slot)),
        };
    }
    pub(crate) fn remove(&mut self, at: u64, slot: u32) -> bool {
        match u32::try_from(at) {
            Ok(t) => self.near.remove(&(t, slot)),
            Err(_) => self.far.remove(&(at, slot)),
        }
    }
    pub(crate) fn next(&self) -> Option<u64> {
        let near = self.near.first().map(|(t, _)| u64::from(*t));
        near.or_else(|| self.far.first().map(|(t, _)| *t))
    }
    /// Take every entry due at `now` (time <= now), earliest first.
    pub(crate) fn take_due(&mut self, now: u64) -> Vec<(u64, u32)> {
        let mut due = Vec::new();
        while let Some(&(t, s)) = self.near.first() {
            if u64::from(t) > now {
                return due;
            }
            self.near.pop_first();
            due.push((u64::from(t), s));
        }
        while let Some(&(t, s)) = self.far.first() {
            if t > now {
                break;
            }
            self.far.pop_first();
            due.push((t, s));
        }
        due
    }
    pub(crate) fn len(&self) -> usize {
        self.near.len() + self.far.len()
    }
    pub(crate) fn contains(&self, at: u64, slot: u32) -> bool {
        match u32::try_from(at) {
            Ok(t) => self.near.contains(&(t, slot)),
            Err(_) => self.far.contains(&(at, slot)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_in_time_order_only_what_is_due() {
        let mut e = Expiry::default();
        e.insert(20, 1);
        e.insert(10, 2);
        e.insert(15, 0);
        assert_eq!(e.next(), Some(10));
        assert_eq!(e.take_due(9), []);
        assert_eq!(e.take_due(15), [(10, 2), (15, 0)]);
        assert_eq!(e.take_due(15), []);
        assert!(e.contains(20, 1) && !e.contains(20, 2));
        assert!(e.remove(20, 1));
        assert_eq!(e.len(), 0);
        assert_eq!(e.next(), None);
    }

    #[test]
    fn times_past_32_bits_keep_their_order_after_the_others() {
        let mut e = Expiry::default();
        let far = u64::from(u32::MAX) + 1;
        e.insert(u64::MAX, 1);
        e.insert(far, 2);
        assert_eq!(e.next(), Some(far));
        e.insert(u64::from(u32::MAX), 3);
        assert_eq!((e.next(), e.len()), (Some(u64::from(u32::MAX)), 3));
        assert!(e.contains(far, 2) && !e.contains(far, 1) && e.contains(u64::MAX, 1));
        assert_eq!(e.take_due(far), [(u64::from(u32::MAX), 3), (far, 2)]);
        assert!(!e.remove(far, 2) && e.remove(u64::MAX, 1));
        assert_eq!(e.len(), 0);
    }
}
