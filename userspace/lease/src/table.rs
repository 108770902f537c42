//! A shard's leases, by resource and by client, in one dense store (issue 4: memory per lease).
//!
//! Leases live in a slab (`Vec` of slots, freed slots reused), so each costs its `Lease` and two
//! link words instead of a share of a half-full B-tree node of whole leases. Two indexes point
//! into it:
//! - by resource: a `BTreeMap<Resource, u32>` of slot numbers, so iteration stays in resource
//!   order (snapshots, lease pages, UPDREQALL);
//! - by client: a map from a 32-bit hash of the DUID to the first slot of a circular doubly
//!   linked chain of the client's slots in the order they were bound (RFC 8156 §7.4: the
//!   bindings of one CLIENT_DATA; the first slot's `prev` is the last). The DUID itself is stored
//!   once, in the lease; DUIDs whose hashes collide share a chain and are told apart by
//!   comparing the lease's DUID.
//!
//! The expiry index refers to leases by slot number ([`LeaseTable::insert`] returns it); a slot
//! keeps its number while its resource has a lease.
//!
//! Leases without a DUID (Declined holds, RFC 8415 §18.3.8) belong to no client chain.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::ops::RangeBounds;

use crate::lease::Lease;
use crate::resource::Resource;

/// No slot (a lease without a client chain).
const NIL: u32 = u32::MAX;

struct Slot {
    lease: Lease,
    /// The previous and next slot of the same client chain, which is circular (NIL both when
    /// the lease has no DUID).
    prev: u32,
    next: u32,
}

/// The keys of `clients` are already SipHash outputs: spreading them over 64 bits (the hash
/// table takes its tag from the top bits) is all that is left to do.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u32(u32::from(*b) ^ (self.0 as u32).rotate_left(8));
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Leases by resource and by client (see the module doc).
pub(crate) struct LeaseTable {
    index: BTreeMap<Resource, u32>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// DUID hash → first slot of its chain.
    clients: HashMap<u32, u32, BuildHasherDefault<PreHashed>>,
    duid_hash: RandomState,
}

impl Default for LeaseTable {
    fn default() -> Self {
        Self {
            index: BTreeMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            clients: HashMap::default(),
            duid_hash: RandomState::new(),
        }
    }
}

impl LeaseTable {
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub(crate) fn contains_key(&self, r: &Resource) -> bool {
        self.index.contains_key(r)
    }

    /// The 32-bit hash of a DUID that keys `clients`.
    fn hash(&self, duid: &[u8]) -> u32 {
        self.duid_hash.hash_one(duid) as u32
    }

    /// The resource of the lease in slot `s`.
    pub(crate) fn resource_at(&self, s: u32) -> Option<Resource> {
        self.slot(s).map(|s| s.lease.resource)
    }

    fn slot(&self, s: u32) -> Option<&Slot> {
        self.slots.get(s as usize).and_then(Option::as_ref)
    }

    fn slot_mut(&mut self, s: u32) -> Option<&mut Slot> {
        self.slots.get_mut(s as usize).and_then(Option::as_mut)
    }

    pub(crate) fn get(&self, r: &Resource) -> Option<&Lease> {
        self.slot(*self.index.get(r)?).map(|s| &s.lease)
    }

    /// The lease of `r`, to change in place. The caller must not change its resource, DUID,
    /// state, expiry or tell-partner flag (the indexes keyed by them would go stale).
    pub(crate) fn get_mut(&mut self, r: &Resource) -> Option<&mut Lease> {
        let s = *self.index.get(r)?;
        self.slot_mut(s).map(|s| &mut s.lease)
    }

    /// Leases in resource order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Lease> + '_ {
        self.index
            .values()
            .filter_map(|s| self.slot(*s))
            .map(|s| &s.lease)
    }

    /// Leases in resource order, with their slots.
    pub(crate) fn slots(&self) -> impl Iterator<Item = (u32, &Lease)> + '_ {
        self.index
            .values()
            .filter_map(|s| Some((*s, &self.slot(*s)?.lease)))
    }

    /// Resources in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Resource> + '_ {
        self.index.keys()
    }

    /// Resources in order within `range`.
    pub(crate) fn range_keys<R: RangeBounds<Resource>>(
        &self,
        range: R,
    ) -> impl Iterator<Item = &Resource> + '_ {
        self.index.range(range).map(|(r, _)| r)
    }

    /// The leases of the client with this DUID, in the order they were bound (last upsert
    /// last).
    pub(crate) fn client<'t>(&'t self, duid: &[u8]) -> impl Iterator<Item = &'t Lease> + 't {
        let head = if duid.is_empty() {
            NIL
        } else {
            self.clients.get(&self.hash(duid)).copied().unwrap_or(NIL)
        };
        // Skip to the client's first lease; its DUID (borrowed from the table, not from the
        // caller) then picks the client's leases out of a chain shared by a hash collision.
        let (mut at, mut key): (u32, &'t [u8]) = (NIL, &[]);
        let mut s = head;
        while let Some(slot) = self.slot(s) {
            if *slot.lease.duid == *duid {
                (at, key) = (s, &slot.lease.duid);
                break;
            }
            s = slot.next;
            if s == head {
                break;
            }
        }
        std::iter::from_fn(move || {
            let s = self.slot(at)?;
            at = if s.next == head { NIL } else { s.next };
            Some(&s.lease)
        })
        .filter(move |l| *l.duid == *key)
    }

    /// Insert `lease`, or replace the lease of its resource; returns its slot and the lease
    /// replaced. The lease goes to the end of its client's chain. `Err` gives the lease back
    /// when the table holds `u32::MAX` leases (hundreds of GiB: not reached in practice).
    pub(crate) fn insert(&mut self, lease: Lease) -> Result<(u32, Option<Lease>), Lease> {
        let r = lease.resource;
        if let Some(&s) = self.index.get(&r) {
            self.unlink(s);
            let old = match self.slot_mut(s) {
                Some(slot) => std::mem::replace(&mut slot.lease, lease),
                None => return Err(lease),
            };
            self.link(s);
            return Ok((s, Some(old)));
        }
        let slot = Slot {
            lease,
            prev: NIL,
            next: NIL,
        };
        let s = match self.free.pop() {
            Some(s) => {
                if let Some(place) = self.slots.get_mut(s as usize) {
                    *place = Some(slot);
                }
                s
            }
            None => match u32::try_from(self.slots.len()) {
                Ok(s) if s != NIL => {
                    self.slots.push(Some(slot));
                    s
                }
                _ => return Err(slot.lease),
            },
        };
        self.index.insert(r, s);
        self.link(s);
        Ok((s, None))
    }

    /// Remove the lease of `r`; returns the slot it had and the lease.
    pub(crate) fn remove(&mut self, r: &Resource) -> Option<(u32, Lease)> {
        let s = self.index.remove(r)?;
        self.unlink(s);
        let slot = self.slots.get_mut(s as usize)?.take()?;
        self.free.push(s);
        if self.index.is_empty() {
            self.slots.clear();
            self.free.clear();
        }
        Some((s, slot.lease))
    }

    /// Append slot `s` to the chain of its lease's DUID (leases without one stay unlinked).
    fn link(&mut self, s: u32) {
        let Some(slot) = self.slot(s) else {
            return;
        };
        if slot.lease.duid.is_empty() {
            return;
        }
        let h = self.hash(&slot.lease.duid);
        let head = *self.clients.entry(h).or_insert(s);
        // A new chain is the slot alone; else it goes between the last slot and the first.
        let tail = self.slot(head).map_or(s, |first| first.prev);
        let (prev, next) = if head == s { (s, s) } else { (tail, head) };
        if let Some(t) = self.slot_mut(prev) {
            t.next = s;
        }
        if let Some(first) = self.slot_mut(next) {
            first.prev = s;
        }
        if let Some(slot) = self.slot_mut(s) {
            slot.prev = prev;
            slot.next = next;
        }
    }

    /// Take slot `s` out of its client chain.
    fn unlink(&mut self, s: u32) {
        let Some(slot) = self.slot(s) else {
            return;
        };
        if slot.lease.duid.is_empty() {
            return;
        }
        let (prev, next) = (slot.prev, slot.next);
        let h = self.hash(&slot.lease.duid);
        if next == s {
            self.clients.remove(&h);
        } else {
            if let Some(p) = self.slot_mut(prev) {
                p.next = next;
            }
            if let Some(n) = self.slot_mut(next) {
                n.prev = prev;
            }
            if let Some(head) = self.clients.get_mut(&h) {
                if *head == s {
                    *head = next;
                }
            }
        }
        if let Some(slot) = self.slot_mut(s) {
            slot.prev = NIL;
            slot.next = NIL;
        }
    }

    /// Consistency of the indexes: every indexed slot holds the lease of its resource, no other
    /// slot is occupied, and the client chains hold exactly the leases with a DUID, each in the
    /// chain of its DUID's hash, linked both ways. Returns the first violation.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (r, s) in &self.index {
            match self.slot(*s) {
                Some(slot) if slot.lease.resource == *r => {}
                Some(slot) => {
                    return Err(format!("lease keyed {r:?} holds {:?}", slot.lease.resource))
                }
                None => return Err(format!("lease of {r:?} in an empty slot")),
            }
        }
        let occupied = self.slots.iter().filter(|s| s.is_some()).count();
        if occupied != self.index.len() || occupied + self.free.len() != self.slots.len() {
            return Err(format!(
                "{occupied} occupied slots, {} free, {} in all, {} indexed",
                self.free.len(),
                self.slots.len(),
                self.index.len()
            ));
        }
        let mut linked = 0usize;
        for (h, head) in &self.clients {
            let mut at = *head;
            loop {
                let Some(slot) = self.slot(at) else {
                    return Err(format!("client chain through the empty slot {at}"));
                };
                let back = self.slot(slot.next).map(|n| n.prev);
                if back != Some(at) || self.hash(&slot.lease.duid) != *h {
                    return Err(format!("client link of {:?} wrong", slot.lease.resource));
                }
                linked += 1;
                if linked > occupied {
                    return Err("client chains loop".into());
                }
                at = slot.next;
                if at == *head {
                    break;
                }
            }
        }
        let owned = self.values().filter(|l| !l.duid.is_empty()).count();
        if linked != owned {
            return Err(format!("{linked} client links for {owned} owned leases"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FoData, LeaseState};

    fn lease(last: u16, duid: &[u8]) -> Lease {
        Lease {
            resource: Resource::address(std::net::Ipv6Addr::new(
                0x2001, 0xdb8, 0, 0, 0, 0, 0, last,
            )),
            duid: duid.into(),
            iaid: 1,
            subnet_id: 1,
            preferred_s: 1,
            valid_s: 2,
            cltt: 3,
            expires_at: 5,
            state: LeaseState::Bound,
            fo: FoData::default(),
        }
    }

    fn resources<'a>(it: impl Iterator<Item = &'a Lease>) -> Vec<u16> {
        it.map(|l| l.resource.addr.segments()[7]).collect()
    }

    #[test]
    fn client_chains_keep_bind_order_through_replace_and_remove() {
        let mut t = LeaseTable::default();
        for (n, d) in [(3, b"a"), (1, b"b"), (2, b"a"), (4, b"a")] {
            assert!(t.insert(lease(n, d)).unwrap().1.is_none());
        }
        assert_eq!(resources(t.client(b"a")), [3, 2, 4]);
        assert_eq!(resources(t.values()), [1, 2, 3, 4]);
        // A renewal moves the lease to the end of its client's chain.
        let (slot, old) = t.insert(lease(3, b"a")).unwrap();
        assert_eq!(old.map(|l| l.resource), Some(lease(3, b"a").resource));
        assert_eq!(t.resource_at(slot), Some(lease(3, b"").resource));
        assert_eq!(resources(t.client(b"a")), [2, 4, 3]);
        // A lease that changes hands leaves the old client's chain.
        t.insert(lease(4, b"b")).unwrap();
        assert_eq!(resources(t.client(b"a")), [2, 3]);
        assert_eq!(resources(t.client(b"b")), [1, 4]);
        assert!(t.remove(&lease(2, b"").resource).is_some());
        assert_eq!(resources(t.client(b"a")), [3]);
        t.check().unwrap();
        // A freed slot is reused; a DUID-less hold is in no chain.
        let (slot, _) = t.insert(lease(9, b"")).unwrap();
        // Lease 2 had slot 2 (the third inserted).
        assert_eq!((slot, t.slots.len(), t.free.len()), (2, 4, 0));
        assert_eq!(t.resource_at(slot), Some(lease(9, b"").resource));
        assert_eq!(resources(t.client(b"")), Vec::<u16>::new());
        t.check().unwrap();
        for n in [1, 3, 4, 9] {
            assert!(t.remove(&lease(n, b"").resource).is_some());
        }
        assert!(t.is_empty() && t.clients.is_empty() && t.slots.is_empty());
        t.check().unwrap();
    }

    #[test]
    fn colliding_duid_hashes_share_a_chain_but_not_their_leases() {
        let mut t = LeaseTable::default();
        // Two DUIDs whose 32-bit hashes collide (birthday search: ~2^16 tries).
        let mut seen = HashMap::new();
        let (a, b) = (0u32..)
            .find_map(|n| {
                let d = n.to_be_bytes();
                seen.insert(t.hash(&d), d).map(|other| (other, d))
            })
            .unwrap();
        t.insert(lease(1, &a)).unwrap();
        t.insert(lease(2, &b)).unwrap();
        t.insert(lease(3, &a)).unwrap();
        assert_eq!(t.clients.len(), 1, "one chain for both");
        assert_eq!(resources(t.client(&a)), [1, 3]);
        assert_eq!(resources(t.client(&b)), [2]);
        t.check().unwrap();
        t.remove(&lease(1, b"").resource).unwrap();
        assert_eq!(resources(t.client(&a)), [3]);
        assert_eq!(resources(t.client(&b)), [2]);
        t.remove(&lease(2, b"").resource).unwrap();
        assert_eq!(resources(t.client(&b)), Vec::<u16>::new());
        assert_eq!(resources(t.client(&a)), [3]);
        t.check().unwrap();
    }

    #[test]
    fn a_slot_costs_its_lease_and_two_links() {
        // Issue 4: leases lie back to back in the slab; a free slot needs no extra tag word.
        assert_eq!(size_of::<Option<Slot>>(), size_of::<Lease>() + 8);
    }

    #[test]
    fn check_catches_a_broken_link() {
        let mut t = LeaseTable::default();
        for n in 1..=3 {
            t.insert(lease(n, b"a")).unwrap();
        }
        t.check().unwrap();
        if let Some(s) = t.slot_mut(1) {
            s.prev = 1;
        }
        assert!(t.check().is_err());
    }
}
