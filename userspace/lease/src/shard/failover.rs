//! The failover side of a shard (RFC 8156): per-subnet failover mode and allocation halves
//! (§4.2.1), retention until the partner acks (§4.2.2.1, R46), the ack and partner-update
//! bookkeeping of §7.3, PARTNER-DOWN freeing (§8.4.1, R56) and the iteration the lazy-update
//! layer needs (R28).

use crate::allocator::{Slice, Subspace};
use crate::failover::{AckOutcome, FoRole, PartnerAck};
use crate::lease::{Lease, LeaseChange};
use crate::pool::PoolMap;
use crate::resource::{LeaseKind, Resource};

use super::Shard;

/// The pool indexes a server with `role` may allocate from its slice (RFC 8156 §4.2): all
/// standalone; in failover the own address half (primary odd, secondary even), every
/// delegable prefix for the primary (those it gave the secondary stay marked used) and none
/// for the secondary (it allocates from its FREE-BACKUP prefixes instead, §4.2.2).
pub(super) fn subspace(map: &PoolMap, role: Option<FoRole>) -> Subspace {
    match (role, map.kind()) {
        (None, _) | (Some(FoRole::Primary), LeaseKind::Pd) => Subspace::all(map.size()),
        (Some(FoRole::Secondary), LeaseKind::Pd) => Subspace::none(),
        (Some(role), _) => Subspace::parity(map.size(), map.base(), role == FoRole::Primary),
    }
}

pub(super) fn role_of(fo_subnets: &[(u32, FoRole)], subnet_id: u32) -> Option<FoRole> {
    fo_subnets
        .iter()
        .find(|(id, _)| *id == subnet_id)
        .map(|&(_, role)| role)
}

impl Shard {
    /// This server's failover role on `subnet_id`; `None` = standalone.
    pub fn subnet_failover(&self, subnet_id: u32) -> Option<FoRole> {
        role_of(&self.fo_subnets, subnet_id)
    }

    /// Puts `subnet_id` in failover with `role`, or back to standalone (`None`).
    ///
    /// The subnet's pools are re-sliced so this shard allocates only its fair share of this
    /// server's half (RFC 8156 §4.2.1; R41, R42): a rebuild over the leases of those pools,
    /// meant for configuration changes, not per packet. Pool membership (`pool_of`,
    /// `subnet_of`) and renewals of the partner's resources are unaffected. Going (or being)
    /// standalone frees the subnet's Released / Expired leases, since no partner will ack them
    /// (records Remove for each).
    pub fn set_subnet_failover(&mut self, subnet_id: u32, role: Option<FoRole>) {
        let before = self.subnet_failover(subnet_id);
        self.fo_subnets.retain(|(id, _)| *id != subnet_id);
        if let Some(role) = role {
            self.fo_subnets.push((subnet_id, role));
        } else {
            self.drop_backups(subnet_id);
            let stale: Vec<Resource> = self
                .pending
                .iter()
                .filter(|(_, r)| self.table.get(r).is_some_and(|l| l.subnet_id == subnet_id))
                .map(|&(_, r)| r)
                .collect();
            for r in stale {
                self.remove(&r);
                self.changes.push(LeaseChange::Remove(r));
            }
        }
        if before != role {
            self.reslice(subnet_id, role);
        }
    }

    /// PARTNER-DOWN, MCLT after entering it (RFC 8156 §8.4.1; OPEN-2): once this shard's own
    /// half of a pool of `subnet_id` is exhausted, allocation continues in its slice of the
    /// partner's half. `elsewhere` lists resources bound in this server's other shards (this
    /// shard's own table is checked here); in PARTNER-DOWN no partner update arrives, so that
    /// snapshot stays complete until [`Shard::close_partner_half`]. Not recorded; no-op for a
    /// standalone subnet.
    pub fn open_partner_half(&mut self, subnet_id: u32, elsewhere: &[Resource]) {
        let Some(role) = self.subnet_failover(subnet_id) else {
            return;
        };
        let other = match role {
            FoRole::Primary => FoRole::Secondary,
            _ => FoRole::Primary,
        };
        let (shard, count) = (self.shard_id, self.shard_count);
        for p in self
            .pools
            .iter_mut()
            .filter(|p| p.def.subnet_id == subnet_id)
        {
            let mut slice = Slice::new(subspace(&p.map, Some(other)), shard, count);
            let in_use = self
                .table
                .keys()
                .chain(self.reserved.iter())
                .chain(self.foreign.iter())
                .chain(self.backup.keys())
                .chain(elsewhere.iter());
            for r in in_use {
                if let Some(j) = p.map.index_of(r).and_then(|i| slice.local(i)) {
                    slice.set_used(j);
                }
            }
            p.partner = Some(slice);
            // Delegable prefixes: the primary may now use the secondary's share too (§4.2.2).
            p.backup_usable = p.map.kind() == LeaseKind::Pd;
        }
    }

    /// The partner's half of `subnet_id`'s pools is closed again (the partner is back, or
    /// PARTNER-DOWN ended). Not recorded.
    pub fn close_partner_half(&mut self, subnet_id: u32) {
        let secondary = self.subnet_failover(subnet_id) == Some(FoRole::Secondary);
        for p in self
            .pools
            .iter_mut()
            .filter(|p| p.def.subnet_id == subnet_id)
        {
            p.partner = None;
            p.backup_usable = p.map.kind() == LeaseKind::Pd && secondary;
        }
    }

    /// Is the partner's half of `subnet_id` open?
    pub fn partner_half_open(&self, subnet_id: u32) -> bool {
        self.pools
            .iter()
            .any(|p| p.def.subnet_id == subnet_id && p.partner.is_some())
    }

    /// Rebuilds the slices of the subnet's pools for `role` and marks what is in use.
    fn reslice(&mut self, subnet_id: u32, role: Option<FoRole>) {
        let (shard, count) = (self.shard_id, self.shard_count);
        for p in self
            .pools
            .iter_mut()
            .filter(|p| p.def.subnet_id == subnet_id)
        {
            p.slice = Slice::new(subspace(&p.map, role), shard, count);
            p.partner = None;
            p.backup_usable = p.map.kind() == LeaseKind::Pd && role == Some(FoRole::Secondary);
            p.backup_free.clear();
            let size = p.map.size();
            let (Some(lo), Some(hi)) = (
                p.map.resource_at(0),
                p.map.resource_at(size.saturating_sub(1)),
            ) else {
                continue;
            };
            let hi = Resource {
                prefix_len: u8::MAX,
                ..hi
            };
            let lo = Resource {
                prefix_len: 0,
                ..lo
            };
            let in_use = self
                .table
                .range_keys(lo..=hi)
                .chain(self.reserved.iter())
                .chain(self.foreign.iter())
                .chain(self.backup.range(lo..=hi).map(|(r, _)| r));
            for r in in_use {
                if let Some(j) = p.map.index_of(r).and_then(|i| p.slice.local(i)) {
                    p.slice.set_used(j);
                }
            }
            for r in self.backup.range(lo..=hi).map(|(r, _)| r) {
                let bound = self.table.contains_key(r)
                    || self.reserved.contains(r)
                    || self.foreign.contains(r);
                if let (false, Some(i)) = (bound, p.map.index_of(r)) {
                    p.backup_free.insert(i);
                }
            }
        }
    }

    /// Completes the failover data of a locally made change (see [`Shard::bind`]).
    pub(super) fn complete_local_change(&self, lease: &mut Lease) {
        let fo = &mut lease.fo;
        fo.tell_partner = true;
        let Some(old) = self.table.get(&lease.resource) else {
            fo.start_time_of_state = lease.cltt;
            return;
        };
        fo.acked_partner_lifetime = fo.acked_partner_lifetime.max(old.fo.acked_partner_lifetime);
        fo.expiration_time = fo.expiration_time.max(old.fo.expiration_time);
        if fo.partner_raw_clt_time == 0 {
            fo.partner_raw_clt_time = old.fo.partner_raw_clt_time;
        }
        let same = old.state == lease.state && old.duid == lease.duid;
        fo.start_time_of_state = if same && old.fo.start_time_of_state != 0 {
            old.fo.start_time_of_state
        } else {
            lease.cltt
        };
    }

    /// Sets the T1/T2 sent to the client and the partner-lifetime to propose of a lease granted
    /// in this exchange, once the reply's timers are known (RFC 8156 §7.4: the BNDUPD carries
    /// the T1/T2 the client got; R30). Records an Upsert when anything changed.
    pub fn set_grant_timers(&mut self, r: &Resource, t1_s: u32, t2_s: u32, partner_lifetime: u64) {
        let Some(l) = self.table.get_mut(r) else {
            return;
        };
        let fo = &mut l.fo;
        if (fo.t1_s, fo.t2_s, fo.partner_lifetime) == (t1_s, t2_s, partner_lifetime) {
            return;
        }
        fo.t1_s = t1_s;
        fo.t2_s = t2_s;
        fo.partner_lifetime = partner_lifetime;
        self.changes.push(LeaseChange::Upsert(l.clone()));
    }

    /// The partner acked a BNDUPD for `r` (a BNDREPLY without error; RFC 8156 §7.5.3, §7.3).
    ///
    /// acked-partner-lifetime becomes the larger of the stored one and the acked one. When the
    /// acked data is still current (same state, start-time-of-state, CLTT and partner-lifetime
    /// as the lease now), tell-partner and partner-lifetime are cleared; a current ack of a
    /// Released or Expired lease frees it (PENDING-FREE → FREE, §1.9; records Remove).
    /// Anything else that changed records an Upsert.
    pub fn partner_acked(&mut self, r: &Resource, ack: &PartnerAck) -> AckOutcome {
        let Some(l) = self.table.get(r) else {
            return AckOutcome::Unknown;
        };
        let current = l.state == ack.state
            && l.fo.start_time_of_state == ack.start_time_of_state
            && l.cltt == ack.cltt
            && l.fo.partner_lifetime == ack.partner_lifetime;
        if current && l.state.is_pending_free() {
            self.remove(r);
            self.changes.push(LeaseChange::Remove(*r));
            self.note_cross(r, false);
            return AckOutcome::Freed;
        }
        let mut next = l.clone();
        next.fo.acked_partner_lifetime = next.fo.acked_partner_lifetime.max(ack.partner_lifetime);
        if current {
            next.fo.tell_partner = false;
            next.fo.partner_lifetime = 0;
        }
        if next != *l {
            self.changes.push(LeaseChange::Upsert(next.clone()));
            self.upsert(next);
        }
        if current {
            AckOutcome::Current
        } else {
            AckOutcome::Stale
        }
    }

    /// Stores a binding received from the partner in a BNDUPD, already accepted by the
    /// conflict rules (RFC 8156 §7.5): it replaces whatever this shard holds for the resource,
    /// with the partner's client, state and times, tell-partner clear (we must not echo it
    /// back). acked-partner-lifetime and expiration-time never go down. Records the change.
    ///
    /// A Released or Expired binding is freed at once: the partner frees it when we ack, and
    /// we ack only after this change is durable (PENDING-FREE → FREE, §1.9; records Remove).
    pub fn apply_partner(&mut self, mut lease: Lease) {
        let r = lease.resource;
        if lease.state.is_pending_free() {
            if self.remove(&r) {
                self.changes.push(LeaseChange::Remove(r));
                self.note_cross(&r, false);
            }
            return;
        }
        lease.fo.tell_partner = false;
        if let Some(old) = self.table.get(&r) {
            let fo = &mut lease.fo;
            fo.acked_partner_lifetime =
                fo.acked_partner_lifetime.max(old.fo.acked_partner_lifetime);
            fo.expiration_time = fo.expiration_time.max(old.fo.expiration_time);
        }
        // Delegated: the prefix is the client's; freed, it will be the primary's (R45).
        self.return_to_primary(&r);
        self.changes.push(LeaseChange::Upsert(lease.clone()));
        self.upsert(lease);
        self.note_cross(&r, true);
    }

    /// PARTNER-DOWN: frees the Released / Expired leases of `subnet_ids` whose
    /// start-time-of-state is at or before `before` (RFC 8156 §1.9 transition 4, §8.4.1; R56).
    /// Call it with `before = now − MCLT` only once `now ≥ entered PARTNER-DOWN + MCLT`: a
    /// lease is then freed MCLT after the later of entering PARTNER-DOWN and its
    /// start-time-of-state. Records Remove for each; returns how many.
    pub fn free_unacked(&mut self, subnet_ids: &[u32], before: u64) -> usize {
        let due: Vec<Resource> = self
            .pending
            .iter()
            .take_while(|(t, _)| *t <= before)
            .filter(|(_, r)| {
                self.table
                    .get(r)
                    .is_some_and(|l| subnet_ids.contains(&l.subnet_id))
            })
            .map(|&(_, r)| r)
            .collect();
        for r in &due {
            self.remove(r);
            self.changes.push(LeaseChange::Remove(*r));
            self.note_cross(r, false);
        }
        due.len()
    }

    /// Leases whose partner must be told (R28), in resource order: what UPDREQ and entering
    /// NORMAL send. Costs O(flagged), not O(leases).
    pub fn tell_partner_leases(&self) -> impl Iterator<Item = &Lease> {
        self.tell.iter().filter_map(|r| self.table.get(r))
    }

    /// How many leases have tell-partner set.
    pub fn tell_partner_count(&self) -> usize {
        self.tell.len()
    }

    /// How many Released / Expired leases wait for the partner's ack.
    pub fn pending_free_count(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests;
