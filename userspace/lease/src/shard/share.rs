//! Proportional allocation of delegable prefixes in a shard (RFC 8156 §4.2.2; R43–R45): the
//! FREE-BACKUP record, the primary's rebalancing with hysteresis, the partner's hand-overs and
//! their acknowledgements, and the return of freed prefixes to the primary.
//!
//! A shard keeps the record for the prefixes of its own pool slices (pool index `i` with
//! `i % shard_count == shard_id`: delegable prefixes are sliced over the whole pool in every
//! role); the caller routes the partner's top-level IAPREFIX updates by
//! [`Shard::prefix_slice_shard`].

use crate::failover::FoRole;
use crate::lease::LeaseChange;
use crate::pool::PoolMap;
use crate::resource::{LeaseKind, PoolDef, Resource};
use crate::share::{BackupPrefix, Rebalanced, ShareCounts, ShareMove, ShareTarget};

use super::Shard;

/// Most hand-overs one [`Shard::rebalance`] call starts per pool (the rest follow in later
/// passes).
pub const MOVES_PER_PASS: u128 = 4096;

/// Why a FREE from the partner was refused (RFC 8156 §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareRefusal {
    /// The prefix is delegated to a client here: it is the client's, not a server's.
    #[error("the prefix is delegated to a client")]
    Delegated,
    /// Not a delegable prefix of a failover subnet in this shard's slice.
    #[error("not a delegable prefix of this server's failover pools")]
    NotShared,
}

/// Which of `shard_count` shards keeps the FREE-BACKUP record of prefix `r`: its index in
/// the first delegable-prefix pool of `pools` holding it, modulo the shard count (the shard
/// whose slice it is). `None` outside every such pool. For routing the partner's top-level
/// IAPREFIX updates and placing records when the worker count changed.
pub fn prefix_slice_of(pools: &[PoolDef], r: &Resource, shard_count: u32) -> Option<u32> {
    if r.kind != LeaseKind::Pd {
        return None;
    }
    let i = pools.iter().find_map(|p| {
        let map = PoolMap::new(&p.range);
        (map.kind() == LeaseKind::Pd)
            .then(|| map.index_of(r))
            .flatten()
    })?;
    u32::try_from(i % u128::from(shard_count.max(1))).ok()
}

impl Shard {
    /// Which shard keeps the FREE-BACKUP record of prefix `r` ([`prefix_slice_of`] over this
    /// shard's pools and shard count).
    pub fn prefix_slice_shard(&self, r: &Resource) -> Option<u32> {
        if r.kind != LeaseKind::Pd {
            return None;
        }
        let p = self
            .pools
            .iter()
            .find(|p| p.map.kind() == LeaseKind::Pd && p.map.index_of(r).is_some())?;
        let i = p.map.index_of(r)?;
        u32::try_from(i % u128::from(self.shard_count)).ok()
    }

    /// Is `r` a delegable prefix of a failover subnet whose record this shard keeps?
    fn shared_here(&self, r: &Resource) -> bool {
        r.kind == LeaseKind::Pd
            && self.prefix_slice_shard(r) == Some(self.shard_id)
            && self
                .subnet_of(r)
                .and_then(|s| self.subnet_failover(s))
                .is_some()
    }

    /// The FREE-BACKUP record of `r`, if the secondary owns it.
    pub fn backup(&self, r: &Resource) -> Option<&BackupPrefix> {
        self.backup.get(r)
    }

    /// Every FREE-BACKUP prefix of this shard, bound or not, in resource order.
    pub fn backup_prefixes(&self) -> impl Iterator<Item = (&Resource, &BackupPrefix)> {
        self.backup.iter()
    }

    /// The hand-overs the partner has not acknowledged (lazy updates, UPDREQ).
    pub fn share_pending(&self) -> impl Iterator<Item = (&Resource, &BackupPrefix)> {
        self.backup.iter().filter(|(_, b)| b.pending.is_some())
    }

    /// Free delegable prefixes by owner in this shard's slices of `subnet_id`'s pools.
    pub fn share_counts(&self, subnet_id: u32) -> ShareCounts {
        let mut c = ShareCounts::default();
        for p in self
            .pools
            .iter()
            .filter(|p| p.def.subnet_id == subnet_id && p.map.kind() == LeaseKind::Pd)
        {
            c.backup_free += p.backup_free.len() as u128;
            if self.subnet_failover(subnet_id) == Some(FoRole::Primary) {
                c.primary_free += p.slice.len() - p.slice.used_count();
            }
        }
        c
    }

    /// FREE-BACKUP prefixes this shard delegated to its own clients since it was made (not
    /// persisted; for statistics).
    pub fn delegated_from_share(&self) -> u64 {
        self.delegated_from_share
    }

    /// Unbound FREE-BACKUP prefixes in all of this shard's pools (the secondary's share).
    pub fn backup_free_count(&self) -> u64 {
        self.pools.iter().map(|p| p.backup_free.len() as u64).sum()
    }

    /// Sets or clears the record of `r` and keeps the slices and `backup_free` in step. Not
    /// recorded (replay and the recording wrappers below share it).
    pub(super) fn set_backup_entry(&mut self, r: Resource, entry: Option<BackupPrefix>) {
        let was = self
            .backup
            .get(&r)
            .is_some_and(|b| b.pending == Some(ShareMove::Reclaim));
        let will = entry.is_some_and(|b| b.pending == Some(ShareMove::Reclaim));
        if was != will {
            if let Some(p) = self.pools.iter_mut().find(|p| p.map.index_of(&r).is_some()) {
                p.reclaiming = if will {
                    p.reclaiming + 1
                } else {
                    p.reclaiming.saturating_sub(1)
                };
            }
        }
        let bound =
            self.table.contains_key(&r) || self.reserved.contains(&r) || self.foreign.contains(&r);
        match entry {
            Some(e) => {
                self.backup.insert(r, e);
                // Used in the slices (the primary may not delegate it); unbound ones wait in
                // `backup_free`.
                self.mark(&r, true);
                if !bound {
                    self.mark(&r, false);
                }
            }
            None => {
                if self.backup.remove(&r).is_none() {
                    return;
                }
                for p in &mut self.pools {
                    if let Some(i) = p.map.index_of(&r) {
                        p.backup_free.remove(&i);
                    }
                }
                if !bound {
                    self.mark(&r, false);
                }
            }
        }
    }

    pub(super) fn record_backup(&mut self, r: Resource, entry: Option<BackupPrefix>) {
        if self.backup.get(&r) == entry.as_ref() {
            return;
        }
        self.set_backup_entry(r, entry);
        self.changes.push(LeaseChange::Backup(r, entry));
    }

    /// `r` is delegated to a client: it is no longer a server's, and when freed it will be
    /// the primary's (RFC 8156 §4.2.2; R45). Records the end of its FREE-BACKUP record, if it
    /// had one, so a record never names a bound prefix.
    pub(super) fn return_to_primary(&mut self, r: &Resource) {
        if self.backup.contains_key(r) {
            self.record_backup(*r, None);
        }
    }

    /// The primary's rebalancing (RFC 8156 §4.2.2; R43, R44) of the delegable-prefix pools of
    /// `subnets` where this server is the primary, for this shard's slice of each.
    ///
    /// The secondary's unbound prefixes (a Reclaim not yet accepted counts as neither side's)
    /// are brought to `target`'s share of all unbound ones when they are off by more than its
    /// threshold (hysteresis: no churn for small moves); a secondary with none is topped up
    /// whatever the band. A Give marks a free prefix of the primary FREE-BACKUP with the move
    /// pending, recorded before any update can be built, so the primary never uses it again; a
    /// Reclaim marks the most recently given unbound prefixes, which stay the secondary's until
    /// it accepts. At most [`MOVES_PER_PASS`] moves per pool and call: a big pool is balanced
    /// over several passes ([`Rebalanced::more`]) instead of stalling the worker. Records every
    /// change; O(moves), plus a sort of this slice's records when reclaiming.
    pub fn rebalance(&mut self, subnets: &[u32], target: ShareTarget, now: u64) -> Rebalanced {
        let mut done = Rebalanced::default();
        for p in 0..self.pools.len() {
            let pool = &self.pools[p];
            let id = pool.def.subnet_id;
            let primary = self.subnet_failover(id) == Some(FoRole::Primary);
            if pool.map.kind() != LeaseKind::Pd || !primary || !subnets.contains(&id) {
                continue;
            }
            let own_free = pool.slice.len() - pool.slice.used_count();
            let reclaiming = pool.reclaiming;
            let have = (pool.backup_free.len() as u128).saturating_sub(reclaiming);
            let (want, band) = target.target(own_free + have + reclaiming);
            let band = if pool.unfinished { 0 } else { band };
            if have + band < want || (have == 0 && want > 0) {
                let moves = (want - have).min(MOVES_PER_PASS);
                self.pools[p].unfinished = moves < want - have;
                done.more |= moves < want - have;
                for _ in 0..moves {
                    let pool = &mut self.pools[p];
                    let Some(r) = pool
                        .slice
                        .find_free()
                        .and_then(|j| pool.map.resource_at(pool.slice.global(j)))
                    else {
                        break;
                    };
                    self.record_backup(
                        r,
                        Some(BackupPrefix {
                            since: now,
                            pending: Some(ShareMove::Give),
                        }),
                    );
                    done.given += 1;
                }
            } else if have > want + band {
                let moves = (have - want).min(MOVES_PER_PASS);
                done.more |= moves < have - want;
                let mut held: Vec<(u64, Resource)> = pool
                    .backup_free
                    .iter()
                    .filter_map(|&i| pool.map.resource_at(i))
                    .filter_map(|r| {
                        let b = self.backup.get(&r)?;
                        (b.pending != Some(ShareMove::Reclaim)).then_some((b.since, r))
                    })
                    .collect();
                // The most recently given first: the secondary is least likely to have
                // delegated them.
                held.sort_unstable_by(|a, b| b.cmp(a));
                self.pools[p].unfinished = moves < have - want;
                for (since, r) in held.into_iter().take(moves as usize) {
                    self.record_backup(
                        r,
                        Some(BackupPrefix {
                            since,
                            pending: Some(ShareMove::Reclaim),
                        }),
                    );
                    done.reclaimed += 1;
                }
            } else {
                self.pools[p].unfinished = false;
            }
        }
        done
    }

    /// The partner says `r` is FREE-BACKUP (the primary giving it, or either partner telling
    /// what it holds after UPDREQALL): the secondary owns it from `since` (R43). Records the
    /// change. A prefix delegated here is left alone: it is the client's, and returns to the
    /// primary when freed (R45).
    pub fn partner_backup(&mut self, r: &Resource, since: u64) -> Result<(), ShareRefusal> {
        if !self.shared_here(r) {
            return Err(ShareRefusal::NotShared);
        }
        if self.table.contains_key(r) || self.foreign.contains(r) {
            // Delegated: the client's; when freed it goes to the primary anyway (R45).
            return Ok(());
        }
        let keep = self.backup.get(r).map_or(since, |b| b.since.min(since));
        self.record_backup(
            *r,
            Some(BackupPrefix {
                since: keep,
                pending: None,
            }),
        );
        Ok(())
    }

    /// The partner says `r` is FREE (the primary reclaiming it): refused when it is delegated
    /// here (R43: "the secondary MUST reject if it already delegated it"); otherwise it is the
    /// primary's again. Records the change.
    pub fn partner_free(&mut self, r: &Resource) -> Result<(), ShareRefusal> {
        if !self.shared_here(r) {
            return Err(ShareRefusal::NotShared);
        }
        if self.table.contains_key(r) || self.foreign.contains(r) {
            return Err(ShareRefusal::Delegated);
        }
        self.return_to_primary(r);
        Ok(())
    }

    /// The partner accepted the hand-over `sent` of `r` (RFC 8156 §7.7): a Give is complete; a
    /// Reclaim makes the prefix the primary's. An acknowledgement of anything but the pending
    /// move (an older update) changes nothing. Records the change.
    pub fn share_acked(&mut self, r: &Resource, sent: ShareMove) {
        let Some(b) = self.backup.get(r).copied() else {
            return;
        };
        if b.pending != Some(sent) {
            return;
        }
        match sent {
            ShareMove::Give => self.record_backup(*r, Some(BackupPrefix { pending: None, ..b })),
            ShareMove::Reclaim => self.record_backup(*r, None),
        }
    }

    /// The partner refused the hand-over `sent` of `r`: a refused Give leaves the prefix with
    /// the primary (the secondary never took it); a refused Reclaim leaves it with the
    /// secondary (it delegated it). Either way the move is over. Records the change.
    pub fn share_refused(&mut self, r: &Resource, sent: ShareMove) {
        let Some(b) = self.backup.get(r).copied() else {
            return;
        };
        if b.pending != Some(sent) {
            return;
        }
        match sent {
            ShareMove::Give => self.record_backup(*r, None),
            ShareMove::Reclaim => self.record_backup(*r, Some(BackupPrefix { pending: None, ..b })),
        }
    }

    /// Drops the FREE-BACKUP records of `subnet_id` (it left failover). Records each.
    pub(super) fn drop_backups(&mut self, subnet_id: u32) {
        let gone: Vec<Resource> = self
            .backup
            .keys()
            .filter(|r| self.subnet_of(r) == Some(subnet_id))
            .copied()
            .collect();
        for r in gone {
            self.record_backup(r, None);
        }
    }
}

#[cfg(test)]
mod tests;
