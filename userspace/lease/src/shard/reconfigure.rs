//! Re-slicing a shard for new pool definitions and reservations: a live configuration reload.
//!
//! No lease is touched: the table, the expiry and pending-free indexes and the client links
//! stay as they are, so nothing the journal holds is lost or rewritten. Only the pools change:
//! a pool whose subnet and range are unchanged keeps its slice as it is (its id follows the new
//! definitions); a new or changed pool gets a fresh slice over this server's allocatable
//! subspace, marked used by every lease, reservation, foreign exclusion and FREE-BACKUP record
//! inside it. A lease whose resource lies in no pool any more stays bound until it expires or
//! is released; the engine answers its Renew with lifetimes 0 (RFC 8415 §18.3.4: not
//! appropriate for the link) and allocates only from the new pools.

use std::collections::BTreeSet;

use crate::allocator::Slice;
use crate::pool::PoolMap;
use crate::resource::{LeaseKind, PoolDef, Resource};

use super::failover::{role_of, subspace};
use super::{Pool, Shard};
use crate::failover::FoRole;

/// What [`Shard::reconfigure`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconfigured {
    /// Pools kept with their slices (same subnet and range as before).
    pub kept: usize,
    /// Pools built anew (new, or a changed range) over the leases inside them.
    pub rebuilt: usize,
    /// Pools of the old definitions that are gone.
    pub removed: usize,
    /// Leases (any state) whose resource is in no pool and not reserved: kept until they
    /// expire or are released, never extended.
    pub outside_pools: usize,
}

impl Shard {
    /// Takes new pool definitions and reservations (in the order `Shard::new` takes them)
    /// without losing a lease: see the module docs. FREE-BACKUP records (RFC 8156 §4.2.2) of
    /// prefixes that no longer fall in this shard's slice of a pool are ended (recorded as
    /// `LeaseChange::Backup(r, None)`); nothing else is recorded. Subnets keep their failover
    /// mode; call `Engine::configure_shard` afterwards for the new subnets' modes.
    pub fn reconfigure(&mut self, pools: &[PoolDef], reserved: &[Resource]) -> Reconfigured {
        let mut out = Reconfigured::default();
        let old_reserved = std::mem::take(&mut self.reserved);
        self.reserved = reserved.iter().copied().collect();
        let mut old = std::mem::take(&mut self.pools);
        let mut next = Vec::with_capacity(pools.len());
        for def in pools {
            let same = old
                .iter()
                .position(|p| p.def.subnet_id == def.subnet_id && p.def.range == def.range);
            match same {
                Some(k) => {
                    let mut p = old.swap_remove(k);
                    p.def = def.clone();
                    next.push(p);
                    out.kept += 1;
                }
                None => {
                    next.push(self.fresh_pool(def));
                    out.rebuilt += 1;
                }
            }
        }
        out.removed = old.len();
        self.pools = next;
        // Reservations that ended free their resource (unless a lease or another shard's
        // client holds it); new ones are never handed out. Kept pools need both; fresh pools
        // were built from the new set, where both are no-ops.
        let ended: Vec<Resource> = old_reserved.difference(&self.reserved).copied().collect();
        for r in &ended {
            if !self.table.contains_key(r) {
                self.mark(r, false);
            }
        }
        let added: Vec<Resource> = self.reserved.difference(&old_reserved).copied().collect();
        for r in &added {
            self.mark(r, true);
        }
        let stale: Vec<Resource> = self
            .backup
            .keys()
            .filter(|r| self.prefix_slice_shard(r) != Some(self.shard_id))
            .copied()
            .collect();
        for r in stale {
            self.record_backup(r, None);
        }
        out.outside_pools = self
            .table
            .keys()
            .filter(|r| self.pool_of(r).is_none() && !self.reserved.contains(r))
            .count();
        out
    }

    /// A pool for `def` with this shard's slice of its allocatable subspace (by the subnet's
    /// failover role), marked used by what lies in it.
    fn fresh_pool(&self, def: &PoolDef) -> Pool {
        let map = PoolMap::new(&def.range);
        let role = role_of(&self.fo_subnets, def.subnet_id);
        let mut slice = Slice::new(subspace(&map, role), self.shard_id, self.shard_count);
        let in_use = self
            .table
            .keys()
            .chain(self.reserved.iter())
            .chain(self.foreign.iter())
            .chain(self.backup.keys());
        for r in in_use {
            if let Some(j) = map.index_of(r).and_then(|i| slice.local(i)) {
                slice.set_used(j);
            }
        }
        let held = |r: &Resource| {
            self.table.contains_key(r) || self.reserved.contains(r) || self.foreign.contains(r)
        };
        let backup_free: BTreeSet<u128> = self
            .backup
            .keys()
            .filter(|r| !held(r))
            .filter_map(|r| map.index_of(r))
            .collect();
        let reclaiming = self
            .backup
            .iter()
            .filter(|(r, b)| {
                b.pending == Some(crate::ShareMove::Reclaim) && map.index_of(r).is_some()
            })
            .count() as u128;
        let kind = map.kind();
        Pool {
            def: def.clone(),
            map,
            slice,
            partner: None,
            backup_free,
            backup_usable: kind == LeaseKind::Pd && role == Some(FoRole::Secondary),
            reclaiming,
            unfinished: false,
        }
    }
}

#[cfg(test)]
mod tests;
