//! One shard's lease table: bindings by client, leases by resource, slices of every pool,
//! the expiry, pending-free and tell-partner indexes, and the change log the journal records.
//!
//! RFC 8415 §18.3 (server behaviour: grants, renewals, Release §18.3.7, Decline §18.3.8);
//! RFC 8156 §4.2.1, §4.2.2.1, §7.3 for subnets in failover (see [`Shard::set_subnet_failover`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::Ipv6Addr;

use tandem_ebpf_common::shard_of;

use crate::allocator::{Slice, Subspace};
use crate::expiry::Expiry;
use crate::failover::FoRole;
use crate::lease::{Lease, LeaseChange, LeaseState};
use crate::pool::PoolMap;
use crate::resource::{LeaseKind, PoolDef, PoolId, Resource};
use crate::table::LeaseTable;

mod cross;
mod failover;
mod reconfigure;
mod share;

pub use cross::CrossNote;
pub use reconfigure::Reconfigured;
pub use share::{prefix_slice_of, ShareRefusal, MOVES_PER_PASS};

/// One subnet's leases in a shard, the statistics Kea keeps per subnet (`assigned-nas`,
/// `assigned-pds`, `declined-addresses`, `reclaimed-leases`, `reclaimed-declined-addresses`).
/// Released and Expired leases (pending free on failover subnets) are in none of the gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubnetCounts {
    /// Bound IA_NA addresses (RFC 8415 §21.4).
    pub na_assigned: u64,
    /// Bound IA_PD prefixes (RFC 8415 §21.21).
    pub pd_assigned: u64,
    /// Declined addresses held back (RFC 8415 §18.3.8).
    pub declined: u64,
    /// Leases reclaimed at expiry since the shard was made (not the end of Declined holds).
    pub reclaimed: u64,
    /// Declined holds that ended, since the shard was made.
    pub declined_reclaimed: u64,
}

impl SubnetCounts {
    /// The gauge a lease in this state and of this kind counts in, if any.
    fn gauge(&mut self, kind: LeaseKind, state: LeaseState) -> Option<&mut u64> {
        match (state, kind) {
            (LeaseState::Bound, LeaseKind::Pd) => Some(&mut self.pd_assigned),
            (LeaseState::Bound, _) => Some(&mut self.na_assigned),
            (LeaseState::Declined, _) => Some(&mut self.declined),
            _ => None,
        }
    }
}

struct Pool {
    def: PoolDef,
    map: PoolMap,
    slice: Slice,
    /// In PARTNER-DOWN after the MCLT: this shard's slice of the partner's half, opened by
    /// [`Shard::open_partner_half`] (RFC 8156 §8.4.1; OPEN-2).
    partner: Option<Slice>,
    /// Delegable prefixes only: the unbound FREE-BACKUP prefixes of this shard's slice, by pool
    /// index (RFC 8156 §4.2.2). The secondary allocates from them; the primary's slice keeps
    /// them marked used.
    backup_free: BTreeSet<u128>,
    /// May this server allocate from `backup_free`? The secondary always; the primary once
    /// PARTNER-DOWN opened the partner's share.
    backup_usable: bool,
    /// Records of this pool with a Reclaim pending.
    reclaiming: u128,
    /// A rebalancing cut short by the per-pass cap: finish it to the target, the band only
    /// decides when one starts (not persisted).
    unfinished: bool,
}

/// The bindings of the clients whose DUID hashes to this shard, plus this shard's slice of every
/// pool. Shard `s` of `n` allocates only the `k`-th allocatable index of a pool with
/// `k % n == s` (every index standalone; in failover only this server's half, see
/// [`Shard::set_subnet_failover`]), so shards never hand out the same resource. Reserved
/// resources (host reservations) are never handed out dynamically.
///
/// Released and Expired leases ("pending free") are kept only on failover subnets, outside
/// the expiry index, until the partner acks them ([`Shard::partner_acked`]) or PARTNER-DOWN
/// frees them ([`Shard::free_unacked`]).
pub struct Shard {
    shard_id: u32,
    shard_count: u32,
    pools: Vec<Pool>,
    /// Leases by resource (stable order for snapshots) and by client (in the order they were
    /// bound).
    table: LeaseTable,
    expiry: Expiry,
    reserved: HashSet<Resource>,
    foreign: HashSet<Resource>,
    changes: Vec<LeaseChange>,
    /// Subnets in failover and this server's role there (a handful: a linear scan).
    fo_subnets: Vec<(u32, FoRole)>,
    /// Released / Expired leases by (start-time-of-state, resource).
    pending: BTreeSet<(u64, Resource)>,
    /// Leases whose tell-partner flag is set (R28), in resource order.
    tell: BTreeSet<Resource>,
    /// Delegable prefixes of this shard's slices that belong to the secondary (FREE-BACKUP,
    /// RFC 8156 §4.2.2), bound or not.
    backup: BTreeMap<Resource, crate::BackupPrefix>,
    /// Partner bindings stored or freed here whose resource lies in another shard's slice,
    /// for that shard ([`Shard::take_cross`]).
    cross: Vec<CrossNote>,
    /// Leases in the table by kind: addresses, prefixes.
    counts: [u64; 2],
    /// Per subnet id: bound and declined leases, reclaims (kept with every table change, so
    /// reading them costs nothing per lease).
    subnets: BTreeMap<u32, SubnetCounts>,
    /// FREE-BACKUP prefixes this shard delegated to its clients since it was made.
    delegated_from_share: u64,
}

impl Shard {
    /// A shard with empty tables. `shard_count` 0 is treated as 1.
    pub fn new(shard_id: u32, shard_count: u32, pools: &[PoolDef], reserved: &[Resource]) -> Self {
        let shard_count = shard_count.max(1);
        let pools = pools
            .iter()
            .map(|def| {
                let map = PoolMap::new(&def.range);
                let slice = Slice::new(Subspace::all(map.size()), shard_id, shard_count);
                Pool {
                    def: def.clone(),
                    map,
                    slice,
                    partner: None,
                    backup_free: BTreeSet::new(),
                    backup_usable: false,
                    reclaiming: 0,
                    unfinished: false,
                }
            })
            .collect();
        let mut s = Self {
            shard_id,
            shard_count,
            pools,
            table: LeaseTable::default(),
            expiry: Expiry::default(),
            reserved: HashSet::new(),
            foreign: HashSet::new(),
            changes: Vec::new(),
            fo_subnets: Vec::new(),
            pending: BTreeSet::new(),
            tell: BTreeSet::new(),
            backup: BTreeMap::new(),
            cross: Vec::new(),
            counts: [0; 2],
            subnets: BTreeMap::new(),
            delegated_from_share: 0,
        };
        for r in reserved {
            s.reserved.insert(*r);
            s.mark(r, true);
        }
        s
    }

    /// This shard's index.
    pub fn shard_id(&self) -> u32 {
        self.shard_id
    }

    /// Does the client with this DUID belong to this shard?
    pub fn owns_client(&self, duid: &[u8]) -> bool {
        shard_of(duid, self.shard_count) == self.shard_id
    }

    /// Leases of one IA (kind + iaid) of a client, any state.
    pub fn ia_leases<'s>(
        &'s self,
        duid: &[u8],
        kind: LeaseKind,
        iaid: u32,
    ) -> impl Iterator<Item = &'s Lease> + 's {
        self.table
            .client(duid)
            .filter(move |l| l.resource.kind == kind && l.iaid == iaid)
    }

    /// Every lease of a client, any state, in the order they were bound: the bindings one
    /// BNDUPD CLIENT_DATA carries (RFC 8156 §7.4).
    pub fn client_leases<'s>(&'s self, duid: &[u8]) -> impl Iterator<Item = &'s Lease> + 's {
        self.table.client(duid)
    }

    /// The lease of a resource, any state.
    pub fn lease(&self, r: &Resource) -> Option<&Lease> {
        self.table.get(r)
    }

    /// Which pool (if any) a resource lies in; `None` = outside every pool of this server.
    pub fn pool_of(&self, r: &Resource) -> Option<PoolId> {
        self.pools
            .iter()
            .find(|p| p.map.index_of(r).is_some())
            .map(|p| p.def.id)
    }

    /// The subnet of the pool a resource lies in.
    pub fn subnet_of(&self, r: &Resource) -> Option<u32> {
        self.pools
            .iter()
            .find(|p| p.map.index_of(r).is_some())
            .map(|p| p.def.subnet_id)
    }

    /// A free resource of this shard's slice of `pool`; `hint` is taken when it is free, in the pool
    /// and in this shard's slice. Fast when the pool is 99 % full. Does not bind it. When the slice
    /// is full and leases are due, they are reclaimed first (recording their Removes).
    pub fn allocate(&mut self, pool: PoolId, hint: Option<Ipv6Addr>, now: u64) -> Option<Resource> {
        let p = self.pools.iter().position(|p| p.def.id == pool)?;
        if let Some(h) = hint {
            let pl = &self.pools[p];
            let kind = pl.map.resource_at(0).map(|r| (r.kind, r.prefix_len));
            if let Some((kind, plen)) = kind {
                let r = Resource {
                    kind,
                    addr: h,
                    prefix_len: plen,
                };
                if let Some(i) = pl.map.index_of(&r) {
                    // A FREE-BACKUP hint only once the own slice is exhausted (§4.2.2: the own
                    // pool first); the secondary's own slice of prefixes is empty.
                    let own_full = pl.slice.used_count() >= pl.slice.len();
                    if pl.slice.local(i).is_some_and(|j| !pl.slice.is_used(j))
                        || (pl.backup_usable && own_full && pl.backup_free.contains(&i))
                    {
                        return Some(r);
                    }
                }
            }
        }
        if let Some(r) = self.find_in(p) {
            return Some(r);
        }
        if self.next_expiry().is_some_and(|t| t <= now) && self.reclaim_expired(now) > 0 {
            return self.find_in(p);
        }
        None
    }

    fn find_in(&mut self, p: usize) -> Option<Resource> {
        let pl = &mut self.pools[p];
        if let Some(j) = pl.slice.find_free() {
            return pl.map.resource_at(pl.slice.global(j));
        }
        // Delegable prefixes: the secondary's own share, or (the primary's own being
        // exhausted) the secondary's once PARTNER-DOWN opened it (RFC 8156 §4.2.2).
        if pl.backup_usable {
            if let Some(&i) = pl.backup_free.first() {
                return pl.map.resource_at(i);
            }
        }
        // Our own half is exhausted: the partner's, when PARTNER-DOWN opened it.
        let partner = pl.partner.as_mut()?;
        let j = partner.find_free()?;
        pl.map.resource_at(partner.global(j))
    }

    /// Probes spent searching for free indexes in `pool` (diagnostics; bounded per call).
    pub fn alloc_probes(&self, pool: PoolId) -> u64 {
        self.pools
            .iter()
            .find(|p| p.def.id == pool)
            .map_or(0, |p| p.slice.probes)
    }

    /// Is this resource free for this client (unbound, or bound to the same duid, or expired)?
    /// Host reservations are not checked here (the caller matches them); foreign ones are.
    /// On a failover subnet, and for pending-free leases, a lease is never free for another
    /// client, even past its expiry: only the partner's ack frees it (R46).
    pub fn is_available(&self, r: &Resource, duid: &[u8], now: u64) -> bool {
        if self.foreign.contains(r) {
            return false;
        }
        match self.table.get(r) {
            None => true,
            Some(l) => {
                let same_client = l.state != LeaseState::Declined && &*l.duid == duid;
                let held = l.state.is_pending_free() || self.subnet_failover(l.subnet_id).is_some();
                same_client || (!held && l.expires_at <= now)
            }
        }
    }

    /// Insert or replace a lease (a grant or an extension). Records LeaseChange::Upsert.
    ///
    /// On a failover subnet the failover data is completed (RFC 8156 §7.3): tell-partner is
    /// set; acked-partner-lifetime and expiration-time are the larger of the replaced lease's
    /// and the given ones, partner-raw-clt-time is kept unless a new one is given;
    /// start-time-of-state is kept while the state and client stay the same, else it becomes
    /// the lease's `cltt` (the time of this change).
    /// partner-lifetime and T1/T2 are the caller's (see [`Shard::set_grant_timers`]).
    pub fn bind(&mut self, mut lease: Lease) {
        if self.subnet_failover(lease.subnet_id).is_some() {
            self.complete_local_change(&mut lease);
            // A FREE-BACKUP prefix delegated: it is the client's now, and freed it returns to
            // the primary (RFC 8156 §4.2.2; R45). Recorded before the lease.
            if self.backup.contains_key(&lease.resource) {
                self.delegated_from_share += 1;
                self.return_to_primary(&lease.resource);
            }
        }
        self.changes.push(LeaseChange::Upsert(lease.clone()));
        self.upsert(lease);
    }

    /// Client released it (RFC 8415 §18.3.7). Standalone: removed and freed (records Remove).
    /// On a failover subnet: kept as Released from `now`, tell-partner set, partner-lifetime
    /// cleared (RELEASED has no timeout), until the partner acks (records Upsert; RFC 8156
    /// §4.2.2.1, R46).
    pub fn release(&mut self, r: &Resource, now: u64) {
        let Some(l) = self.table.get(r) else {
            return;
        };
        if self.subnet_failover(l.subnet_id).is_none() {
            self.remove(r);
            self.changes.push(LeaseChange::Remove(*r));
            return;
        }
        let mut l = l.clone();
        l.state = LeaseState::Released;
        l.fo.partner_lifetime = 0;
        l.expires_at = l.expires_at.min(now);
        l.cltt = now;
        self.bind(l);
    }

    /// Client declined it: held back as Declined until now + hold_s, then freed (Records Upsert).
    /// RFC 8415 §18.3.8.
    pub fn decline(&mut self, r: &Resource, now: u64, hold_s: u32) {
        let (iaid, subnet_id) = match self.table.get(r) {
            Some(l) => (l.iaid, l.subnet_id),
            None => (0, self.subnet_of(r).unwrap_or(0)),
        };
        let hold = Lease {
            resource: *r,
            duid: Box::default(),
            iaid,
            subnet_id,
            preferred_s: 0,
            valid_s: hold_s,
            cltt: now,
            expires_at: now.saturating_add(u64::from(hold_s)),
            state: LeaseState::Declined,
            fo: crate::FoData::default(),
        };
        self.bind(hold);
    }

    /// Reclaim everything whose expires_at <= now; returns how many. Standalone: records
    /// Remove for each. On a failover subnet a lease (or an ended Declined hold) becomes
    /// Expired from `now` with tell-partner set (partner-lifetime cleared) and stays until the
    /// partner acks (records Upsert; RFC 8156 §1.9 transition 8, R46).
    pub fn reclaim_expired(&mut self, now: u64) -> usize {
        let mut due: Vec<(u64, Resource)> = self
            .expiry
            .take_due(now)
            .into_iter()
            .filter_map(|(t, s)| Some((t, self.table.resource_at(s)?)))
            .collect();
        // In (expiry, resource) order: the records and reclaims come out the same however the
        // leases were placed in slots.
        due.sort_unstable();
        let n = due.len();
        for (_, r) in due {
            let Some(l) = self.table.get(&r) else {
                continue;
            };
            let c = self.subnets.entry(l.subnet_id).or_default();
            if l.state == LeaseState::Declined {
                c.declined_reclaimed += 1;
            } else {
                c.reclaimed += 1;
            }
            if self.subnet_failover(l.subnet_id).is_some() {
                let mut l = l.clone();
                l.state = LeaseState::Expired;
                l.fo.tell_partner = true;
                l.fo.partner_lifetime = 0;
                l.fo.start_time_of_state = now;
                self.changes.push(LeaseChange::Upsert(l.clone()));
                self.upsert(l);
                continue;
            }
            // Every index too: a subnet made standalone by a reload keeps tell-partner flags.
            self.remove(&r);
            self.changes.push(LeaseChange::Remove(r));
        }
        if n > 0 {
            tracing::debug!(
                shard = self.shard_id,
                reclaimed = n,
                "reclaimed expired leases"
            );
        }
        n
    }

    /// When the earliest lease expires.
    pub fn next_expiry(&self) -> Option<u64> {
        self.expiry.next()
    }

    /// Changes since the last call, oldest first; the Vec's storage is kept for reuse.
    pub fn drain_changes(&mut self) -> std::vec::Drain<'_, LeaseChange> {
        self.changes.drain(..)
    }

    /// Apply a change replayed from storage (journal/snapshot) WITHOUT recording it as a change.
    /// Idempotent: replaying the same change twice leaves the same state.
    pub fn apply_replayed(&mut self, c: LeaseChange) {
        match c {
            LeaseChange::Upsert(l) => self.upsert(l),
            LeaseChange::Remove(r) => {
                self.remove(&r);
            }
            LeaseChange::Backup(r, entry) => self.set_backup_entry(r, entry),
        }
    }

    /// A resource bound by a client of ANOTHER shard (found at start-up when the shard count
    /// changed): never allocate it here. Not recorded.
    pub fn exclude_foreign(&mut self, r: Resource) {
        self.foreign.insert(r);
        self.mark(&r, true);
    }

    /// All leases, ordered by resource (stable for snapshots).
    pub fn leases(&self) -> impl Iterator<Item = &Lease> {
        self.table.values()
    }

    /// Number of leases (any state).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// No leases at all.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Per pool: (id, size of this shard's slice, in use), saturated at `u64::MAX`. "In use"
    /// counts bound and declined leases, reservations and foreign exclusions in the slice.
    pub fn pool_stats(&self) -> impl Iterator<Item = (PoolId, u64, u64)> + '_ {
        self.pools.iter().map(|p| {
            let sat = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
            (p.def.id, sat(p.slice.len()), sat(p.slice.used_count()))
        })
    }

    /// Leases in the table (any state): (addresses, prefixes).
    pub fn lease_counts(&self) -> (u64, u64) {
        (self.counts[0], self.counts[1])
    }

    /// Per subnet id, in id order: its bound and declined leases in this shard and the reclaims
    /// so far. Subnets this shard never held a lease of are absent.
    pub fn subnet_counts(&self) -> impl Iterator<Item = (u32, SubnetCounts)> + '_ {
        self.subnets.iter().map(|(id, c)| (*id, *c))
    }

    fn count(&mut self, r: &Resource, up: bool) {
        let c = &mut self.counts[usize::from(r.kind == LeaseKind::Pd)];
        *c = if up { *c + 1 } else { c.saturating_sub(1) };
    }

    fn count_subnet(&mut self, l: &Lease, up: bool) {
        self.count_subnet_of(l.subnet_id, l.resource.kind, l.state, up);
    }

    fn count_subnet_of(&mut self, subnet_id: u32, kind: LeaseKind, state: LeaseState, up: bool) {
        let counts = self.subnets.entry(subnet_id).or_default();
        if let Some(c) = counts.gauge(kind, state) {
            *c = if up { *c + 1 } else { c.saturating_sub(1) };
        }
    }

    fn upsert(&mut self, lease: Lease) {
        let r = lease.resource;
        let (subnet_id, state, expires_at) = (lease.subnet_id, lease.state, lease.expires_at);
        let (start, tell) = (lease.fo.start_time_of_state, lease.fo.tell_partner);
        let slot = match self.table.insert(lease) {
            Ok((slot, Some(old))) => {
                self.count_subnet(&old, false);
                self.unindex(slot, &old);
                slot
            }
            Ok((slot, None)) => {
                self.count(&r, true);
                slot
            }
            Err(_) => {
                tracing::error!(
                    shard = self.shard_id,
                    ?r,
                    "lease table full: lease not stored"
                );
                return;
            }
        };
        self.count_subnet_of(subnet_id, r.kind, state, true);
        if state.is_pending_free() {
            self.pending.insert((start, r));
        } else {
            self.expiry.insert(expires_at, slot);
        }
        if tell {
            self.tell.insert(r);
        }
        self.mark(&r, true);
    }

    fn remove(&mut self, r: &Resource) -> bool {
        let Some((slot, old)) = self.table.remove(r) else {
            return false;
        };
        self.count(r, false);
        self.count_subnet(&old, false);
        self.unindex(slot, &old);
        self.mark(r, false);
        true
    }

    /// Drop the entries of a lease (that had `slot`) in the expiry, pending-free and
    /// tell-partner indexes.
    fn unindex(&mut self, slot: u32, l: &Lease) {
        if l.state.is_pending_free() {
            self.pending.remove(&(l.fo.start_time_of_state, l.resource));
        } else {
            self.expiry.remove(l.expires_at, slot);
        }
        self.tell.remove(&l.resource);
    }

    /// Mark `r` used or free in this shard's slice (if it lies in one). Freeing keeps
    /// reserved and foreign resources used, and FREE-BACKUP prefixes used in the slices (they
    /// go to the pool's `backup_free` instead).
    fn mark(&mut self, r: &Resource, used: bool) {
        if !used && (self.reserved.contains(r) || self.foreign.contains(r)) {
            return;
        }
        let backup = self.backup.contains_key(r);
        for p in &mut self.pools {
            let Some(i) = p.map.index_of(r) else {
                continue;
            };
            if backup {
                if used {
                    p.backup_free.remove(&i);
                } else {
                    p.backup_free.insert(i);
                }
                if !used {
                    continue;
                }
            }
            for slice in std::iter::once(&mut p.slice).chain(p.partner.as_mut()) {
                if let Some(j) = slice.local(i) {
                    if used {
                        slice.set_used(j);
                    } else {
                        slice.set_free(j);
                    }
                }
            }
        }
    }

    /// Mark slice index `j` of `pool` free behind the table's back (tests of the checker).
    #[cfg(test)]
    pub(crate) fn corrupt_slice_for_test(&mut self, pool: PoolId, j: u128) {
        if let Some(p) = self.pools.iter_mut().find(|p| p.def.id == pool) {
            p.slice.set_free(j);
        }
    }

    /// Used slice indexes of every pool (tests compare free/used state with it).
    #[cfg(test)]
    pub(crate) fn used_indexes(&self) -> Vec<(PoolId, Vec<u128>)> {
        self.pools
            .iter()
            .map(|p| (p.def.id, p.slice.used_indexes_for_check()))
            .collect()
    }

    /// Debug consistency check: every lease has exactly one expiry entry (pending-free leases:
    /// one pending entry instead) and vice versa, the tell-partner index equals the flagged
    /// leases, client links match the table, and each slice's used indexes are exactly the
    /// leases, reservations and foreign exclusions that fall in it. Returns a description of
    /// the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.expiry.len() + self.pending.len() != self.table.len() {
            return Err(format!(
                "expiry has {} entries and pending {}, table {}",
                self.expiry.len(),
                self.pending.len(),
                self.table.len()
            ));
        }
        for r in self.backup.keys() {
            if self.table.contains_key(r) || self.foreign.contains(r) {
                return Err(format!("FREE-BACKUP record of the bound prefix {r:?}"));
            }
            if self.prefix_slice_shard(r) != Some(self.shard_id) {
                return Err(format!(
                    "FREE-BACKUP record of {r:?} outside this shard's slice"
                ));
            }
        }
        let pd = self
            .table
            .keys()
            .filter(|r| r.kind == LeaseKind::Pd)
            .count() as u64;
        if self.lease_counts() != (self.table.len() as u64 - pd, pd) {
            return Err(format!("lease counts {:?} wrong", self.lease_counts()));
        }
        let mut recount: BTreeMap<u32, SubnetCounts> = BTreeMap::new();
        for l in self.table.values() {
            let c = recount.entry(l.subnet_id).or_default();
            if let Some(g) = c.gauge(l.resource.kind, l.state) {
                *g += 1;
            }
        }
        for (id, c) in &self.subnets {
            let want = recount.remove(id).unwrap_or_default();
            if (c.na_assigned, c.pd_assigned, c.declined)
                != (want.na_assigned, want.pd_assigned, want.declined)
            {
                return Err(format!("subnet {id} counts {c:?}, table has {want:?}"));
            }
        }
        if let Some((id, _)) = recount
            .into_iter()
            .find(|(_, c)| *c != SubnetCounts::default())
        {
            return Err(format!("subnet {id} has leases but no counts"));
        }
        let flagged = self.table.values().filter(|l| l.fo.tell_partner).count();
        if flagged != self.tell.len() {
            return Err(format!(
                "{flagged} flagged leases, tell index {}",
                self.tell.len()
            ));
        }
        self.table.check()?;
        for (slot, l) in self.table.slots() {
            let r = &l.resource;
            let indexed = if l.state.is_pending_free() {
                self.pending.contains(&(l.fo.start_time_of_state, *r))
            } else {
                self.expiry.contains(l.expires_at, slot)
            };
            if !indexed {
                return Err(format!("no expiry or pending entry for {r:?}"));
            }
            if l.fo.tell_partner != self.tell.contains(r) {
                return Err(format!("tell index of {r:?} wrong"));
            }
        }
        for p in &self.pools {
            let mut expect: Vec<u128> = self
                .table
                .keys()
                .chain(self.reserved.iter())
                .chain(self.foreign.iter())
                .chain(self.backup.keys())
                .filter_map(|r| p.map.index_of(r).and_then(|i| p.slice.local(i)))
                .collect();
            expect.sort_unstable();
            expect.dedup();
            let got = p.slice.used_indexes_for_check();
            if got != expect {
                return Err(format!(
                    "pool {:?}: used {} indexes, expected {}",
                    p.def.id,
                    got.len(),
                    expect.len()
                ));
            }
            let reclaiming = self
                .backup
                .iter()
                .filter(|(r, b)| {
                    b.pending == Some(crate::ShareMove::Reclaim) && p.map.index_of(r).is_some()
                })
                .count() as u128;
            if reclaiming != p.reclaiming {
                return Err(format!("pool {:?}: reclaim count wrong", p.def.id));
            }
            let backup_free: BTreeSet<u128> = self
                .backup
                .keys()
                .filter(|r| {
                    !self.table.contains_key(r)
                        && !self.reserved.contains(r)
                        && !self.foreign.contains(r)
                })
                .filter_map(|r| p.map.index_of(r))
                .collect();
            if backup_free != p.backup_free {
                return Err(format!(
                    "pool {:?}: {} unbound FREE-BACKUP prefixes, index holds {}",
                    p.def.id,
                    backup_free.len(),
                    p.backup_free.len()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
