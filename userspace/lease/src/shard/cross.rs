//! Partner bindings whose resource lies in another shard's slice.
//!
//! A shard allocates only from its own slice, for its own clients, so a binding made here is
//! always in this shard's slice. A binding the partner made is stored in the shard of its
//! client's DUID, and when the two servers run different worker counts that can be another
//! shard than the one whose slice holds the resource (RFC 8156 §4.2: the partner's
//! allocations in our half in PARTNER-DOWN, the secondary's FREE-BACKUP prefixes, §4.2.2).
//! That shard must not allocate the resource while it is bound, and must see it freed (a freed
//! delegated prefix returns to the primary, R45). Start-up covers this for every stored lease
//! ([`Shard::exclude_foreign`]); at run time the storing shard records a [`CrossNote`] and the
//! caller delivers it to the owner, once the change is durable, through
//! [`Shard::foreign_bound`] / [`Shard::foreign_freed`].

use crate::resource::{LeaseKind, Resource};

use super::Shard;

/// A partner binding stored (`bound`) or freed in one shard, for the shard `owner` whose slice
/// holds the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossNote {
    /// The shard whose slice holds the resource.
    pub owner: u32,
    /// The resource.
    pub resource: Resource,
    /// Bound (true) or freed (false).
    pub bound: bool,
}

impl Shard {
    /// The shard whose slice holds `r` for this server's own allocation: for delegable
    /// prefixes the slice over the whole pool (both roles keep their records there, §4.2.2),
    /// for addresses the slice of this server's own half (standalone: the whole pool). `None`
    /// outside every pool, or for an address of the partner's half.
    pub fn slice_owner(&self, r: &Resource) -> Option<u32> {
        if r.kind == LeaseKind::Pd {
            return self.prefix_slice_shard(r);
        }
        let p = self.pools.iter().find(|p| p.map.index_of(r).is_some())?;
        let i = p.map.index_of(r)?;
        u32::try_from(p.slice.owner_of(i)?).ok()
    }

    /// Records a note when a partner binding of `r` stored or freed here lies in another
    /// shard's slice.
    pub(super) fn note_cross(&mut self, r: &Resource, bound: bool) {
        if let Some(owner) = self.slice_owner(r).filter(|&o| o != self.shard_id) {
            self.cross.push(CrossNote {
                owner,
                resource: *r,
                bound,
            });
        }
    }

    /// The notes recorded since the last call, oldest first. Deliver each to its owner once
    /// the changes that made them are durable.
    pub fn take_cross(&mut self) -> Vec<CrossNote> {
        std::mem::take(&mut self.cross)
    }

    /// Another shard stored a partner binding of `r`, which lies in this shard's slice: never
    /// allocate it while it is bound. A FREE-BACKUP record of `r` goes (a delegated prefix is
    /// the client's, and returns to the primary when freed, R45; records that change).
    pub fn foreign_bound(&mut self, r: Resource) {
        self.return_to_primary(&r);
        self.exclude_foreign(r);
    }

    /// Another shard freed the partner binding of `r`: the resource is free again here. Not
    /// recorded.
    pub fn foreign_freed(&mut self, r: &Resource) {
        if self.foreign.remove(r) && !self.table.contains_key(r) && !self.reserved.contains(r) {
            self.mark(r, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use crate::share::ShareTarget;
    use crate::{FoData, FoRole, Lease, LeaseState, PoolDef, PoolId, PoolRange, Resource, Shard};

    fn pools() -> Vec<PoolDef> {
        vec![
            PoolDef {
                id: PoolId(0),
                subnet_id: 1,
                range: PoolRange::Addresses {
                    first: "2001:db8:1::100".parse().unwrap(),
                    last: "2001:db8:1::10f".parse().unwrap(),
                },
            },
            PoolDef {
                id: PoolId(1),
                subnet_id: 1,
                range: PoolRange::Prefixes {
                    prefix: "2001:db8:100::".parse().unwrap(),
                    prefix_len: 56,
                    delegated_len: 60,
                },
            },
        ]
    }

    fn shards(n: u32, role: FoRole) -> Vec<Shard> {
        (0..n)
            .map(|i| {
                let mut s = Shard::new(i, n, &pools(), &[]);
                s.set_subnet_failover(1, Some(role));
                s
            })
            .collect()
    }

    fn lease(r: Resource, duid: u8, state: LeaseState) -> Lease {
        Lease {
            resource: r,
            duid: vec![0, 3, duid].into(),
            iaid: 1,
            subnet_id: 1,
            preferred_s: 10,
            valid_s: 20,
            cltt: 1000,
            expires_at: 1020,
            state,
            fo: FoData::default(),
        }
    }

    /// Delivers every note as the worker and control thread do.
    fn deliver(shards: &mut [Shard]) -> usize {
        let notes: Vec<_> = shards.iter_mut().flat_map(|s| s.take_cross()).collect();
        for n in &notes {
            let owner = &mut shards[n.owner as usize];
            if n.bound {
                owner.foreign_bound(n.resource);
            } else {
                owner.foreign_freed(&n.resource);
            }
        }
        notes.len()
    }

    #[test]
    fn a_partner_binding_in_another_slice_is_excluded_there_until_freed() {
        // The secondary, 3 shards; the partner gave it every prefix, then (in PARTNER-DOWN)
        // delegated one of them to a client whose DUID lands in a shard that does not hold
        // its record.
        let mut s = shards(3, FoRole::Secondary);
        let p = Resource::prefix("2001:db8:100::".parse::<Ipv6Addr>().unwrap(), 60);
        let owner = s[0].slice_owner(&p).unwrap() as usize;
        s[owner].partner_backup(&p, 900).unwrap();
        let other = (owner + 1) % 3;
        s[other].apply_partner(lease(p, 1, LeaseState::Bound));
        assert_eq!(deliver(&mut s), 1);
        assert!(
            std::iter::from_fn(|| {
                let r = s[owner].allocate(PoolId(1), None, 1000)?;
                s[owner].bind(lease(r, 2, LeaseState::Bound));
                Some(r)
            })
            .all(|r| r != p),
            "the owner delegated a prefix bound in another shard"
        );
        for sh in &s {
            sh.check_invariants().unwrap();
        }
        // Released and freed in the storing shard: the owner sees it free, and the prefix is
        // the primary's again (R45).
        s[other].apply_partner(lease(p, 1, LeaseState::Released));
        assert_eq!(deliver(&mut s), 1);
        assert!(s[owner].backup(&p).is_none());
        for sh in &s {
            sh.check_invariants().unwrap();
        }
    }

    #[test]
    fn own_bindings_and_the_partners_address_half_make_no_notes() {
        let mut s = shards(2, FoRole::Primary);
        s[0].rebalance(&[1], ShareTarget::from_fractions(0.5, 0.1), 1000);
        let r = s[0].allocate(PoolId(0), None, 1000).unwrap();
        s[0].bind(lease(r, 1, LeaseState::Bound));
        // An even address is the secondary's half: no slice of ours holds it.
        let even = Resource::address("2001:db8:1::102".parse().unwrap());
        assert_eq!(s[0].slice_owner(&even), None);
        s[1].apply_partner(lease(even, 2, LeaseState::Bound));
        assert_eq!(deliver(&mut s), 0);
    }
}
