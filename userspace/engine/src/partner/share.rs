//! Proportional allocation of delegable prefixes over the partner link (RFC 8156 §4.2.2;
//! R43–R45): the shard's FREE-BACKUP record as top-level IAPREFIX BNDUPDs, the partner's
//! hand-overs applied to the shard, and the replies to ours.
//!
//! The primary gives (FREE-BACKUP) and reclaims (FREE) prefixes after POOLREQ and whenever its
//! rebalancing finds the split off by more than the threshold ([`tandem_lease::Shard::rebalance`]).
//! Either partner answering UPDREQALL also lists every unbound FREE-BACKUP prefix it knows, so
//! a partner that lost its storage learns the split again.

use tandem_failover::binding::{
    reply_to, BindingItem, BindingReply, BindingUpdate, ItemOutcome, ItemReject, LocalTimes,
    Outcomes,
};
use tandem_failover::conflict::{BindingStatus, RejectReason};
use tandem_failover::time::FoTime;
use tandem_lease::{BackupPrefix, LeaseChange, Resource, Shard, ShareMove, ShareRefusal};
use tandem_wire::StatusCode;

use super::{fo_time, resource, unix_time};

/// The binding-status a FREE-BACKUP record is sent with: the pending move's, else
/// FREE-BACKUP (what UPDREQALL reports).
fn status_of(b: &BackupPrefix) -> BindingStatus {
    match b.pending {
        Some(ShareMove::Reclaim) => BindingStatus::Free,
        _ => BindingStatus::FreeBackup,
    }
}

/// A delegable prefix as a top-level IAPREFIX update (RFC 8156 §7.4): no lifetimes to the
/// client, no client times; FREE and FREE-BACKUP have no timeout, so no (*) option (R33).
pub fn prefix_update(r: &Resource, b: &BackupPrefix, now: u64) -> BindingUpdate {
    BindingUpdate::Prefix {
        base_time: fo_time(now).unwrap_or(FoTime(0)),
        item: BindingItem {
            addr: r.addr,
            prefix_len: r.prefix_len,
            preferred_s: 0,
            valid_s: 0,
            status: status_of(b),
            start_time_of_state: fo_time(b.since).unwrap_or(FoTime(0)),
            state_expiration_time: None,
            clt_time: None,
            partner_lifetime: None,
            partner_raw_clt_time: None,
            expiration_time: None,
        },
    }
}

/// The update for a hand-over of `r` still to be acknowledged, if any (lazy update).
pub fn share_update(shard: &Shard, r: &Resource, now: u64) -> Option<BindingUpdate> {
    let b = shard.backup(r).filter(|b| b.pending.is_some())?;
    Some(prefix_update(r, b, now))
}

/// The prefixes whose hand-over `changes` started (Give or Reclaim pending): tell the partner.
pub fn changed_prefixes(changes: &[LeaseChange]) -> impl Iterator<Item = Resource> + '_ {
    changes.iter().filter_map(|c| match c {
        LeaseChange::Backup(r, Some(b)) if b.pending.is_some() => Some(*r),
        _ => None,
    })
}

/// UPDREQ (`all` false): the pending hand-overs. UPDREQALL: every unbound FREE-BACKUP prefix
/// as well ("all binding information", protocol.md §1.14), bound ones travel with their
/// client. Restricted to `subnets` when given.
pub(super) fn collect_prefixes(
    shard: &Shard,
    subnets: Option<&[u32]>,
    all: bool,
    now: u64,
) -> Vec<BindingUpdate> {
    shard
        .backup_prefixes()
        .filter(|(r, b)| {
            let in_scope =
                subnets.is_none_or(|s| shard.subnet_of(r).is_some_and(|id| s.contains(&id)));
            in_scope && (b.pending.is_some() || (all && shard.lease(r).is_none()))
        })
        .map(|(r, b)| prefix_update(r, b, now))
        .collect()
}

fn reject(r: ShareRefusal) -> ItemOutcome {
    ItemOutcome::Reject(match r {
        ShareRefusal::Delegated => ItemReject::Conflict(RejectReason::AddressInUse),
        _ => ItemReject::NotOurs,
    })
}

/// The partner's top-level IAPREFIX (RFC 8156 §4.2.2, §7.5): FREE-BACKUP makes the prefix the
/// secondary's, FREE the primary's (refused with AddressInUse when delegated here, R43);
/// other statuses name no hand-over and are refused (ConfigurationConflict). Records the
/// change (persist it before replying, R31).
pub(super) fn apply_prefix(shard: &mut Shard, update: &BindingUpdate) -> BindingReply {
    let outcomes = match update {
        BindingUpdate::Prefix { item, .. } => {
            let r = resource(item.addr, item.prefix_len);
            let done = match item.status {
                BindingStatus::FreeBackup => {
                    shard.partner_backup(&r, unix_time(item.start_time_of_state))
                }
                BindingStatus::Free => shard.partner_free(&r),
                _ => Err(ShareRefusal::NotShared),
            };
            let outcome = match done {
                Ok(()) => ItemOutcome::Accept(LocalTimes {
                    start_time_of_state: item.start_time_of_state,
                    ..LocalTimes::default()
                }),
                Err(e) => reject(e),
            };
            Outcomes {
                whole: None,
                items: vec![outcome],
            }
        }
        _ => Outcomes {
            whole: Some(StatusCode::UnspecFail),
            items: Vec::new(),
        },
    };
    reply_to(update, &outcomes).unwrap_or(BindingReply {
        status: Some(StatusCode::UnspecFail),
        container: tandem_failover::binding::ReplyContainer::Empty,
    })
}

/// A top-level IAPREFIX outside the relationship's pools: ConfigurationConflict (R35).
pub(super) fn refuse_prefix(update: &BindingUpdate) -> BindingReply {
    let outcomes = Outcomes {
        whole: None,
        items: vec![ItemOutcome::Reject(ItemReject::NotOurs)],
    };
    reply_to(update, &outcomes).unwrap_or(BindingReply {
        status: Some(StatusCode::UnspecFail),
        container: tandem_failover::binding::ReplyContainer::Empty,
    })
}

/// The partner's reply to our top-level IAPREFIX `sent` (RFC 8156 §7.7): an accepted
/// hand-over completes, a refused one ends ([`Shard::share_acked`], [`Shard::share_refused`]).
pub(super) fn prefix_replied(shard: &mut Shard, reply: &BindingReply, sent: &BindingUpdate) {
    let BindingUpdate::Prefix { item, .. } = sent else {
        return;
    };
    let r = resource(item.addr, item.prefix_len);
    let sent_move = match item.status {
        BindingStatus::FreeBackup => ShareMove::Give,
        BindingStatus::Free => ShareMove::Reclaim,
        _ => return,
    };
    let same = |addr, len| addr == item.addr && len == item.prefix_len;
    if reply.acked_items().any(|a| same(a.addr, a.prefix_len)) {
        shard.share_acked(&r, sent_move);
    } else if reply.rejected_items().any(|a| same(a.addr, a.prefix_len)) {
        shard.share_refused(&r, sent_move);
    }
}
