//! The failover side of a worker: it applies the partner's updates to its own shard, answers
//! them once they are durable, tells the control thread about its clients' changed bindings
//! once those are durable, and collects bindings for UPDREQ / UPDREQALL (RFC 8156 §7, §8).
//! The lease data never leaves the worker that owns it: only owned update values cross the
//! queues.

use std::collections::HashMap;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tandem_engine::policy::SubnetId;
use tandem_engine::{partner, FailoverView, RelationshipView};
use tandem_failover::binding::BindingReply;
use tandem_failover::ServerState;
use tandem_lease::LeaseChange;
use tandem_wire::Xid;
use tracing::debug;

use super::Ctx;
use crate::partner::messages::{ToControl, ToWorker};
use crate::partner::view::View;

/// What a worker needs for failover.
pub(crate) struct WorkerFo {
    pub(crate) inbox: Receiver<ToWorker>,
    pub(crate) control: Sender<ToControl>,
    pub(crate) waker: Arc<mio::Waker>,
    /// The relationships as last published, in configuration order.
    pub(crate) view: View,
    /// Which relationship each failover subnet belongs to.
    subnet_rel: HashMap<u32, usize>,
}

impl WorkerFo {
    pub(crate) fn new(
        inbox: Receiver<ToWorker>,
        control: Sender<ToControl>,
        waker: Arc<mio::Waker>,
        view: View,
    ) -> Self {
        let subnet_rel = subnet_map(&view);
        Self {
            inbox,
            control,
            waker,
            view,
            subnet_rel,
        }
    }

    fn tell(&self, msg: ToControl) -> bool {
        match self.control.try_send(msg) {
            Ok(()) => {
                let _ = self.waker.wake();
                true
            }
            Err(TrySendError::Full(_)) => {
                let _ = self.waker.wake();
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// If `change` leaves a lease on a failover subnet whose partner must be told, adds its
    /// client to `out` once (RFC 8156 §4.3, R28).
    pub(super) fn note_tell(&self, change: &LeaseChange, out: &mut Vec<Held>) {
        if let LeaseChange::Backup(r, Some(b)) = change {
            if b.pending.is_some() {
                out.push(Held::TellPrefix(*r));
            }
            return;
        }
        let LeaseChange::Upsert(l) = change else {
            return;
        };
        if !l.fo.tell_partner || l.duid.is_empty() {
            return;
        }
        let Some(&rel) = self.subnet_rel.get(&l.subnet_id) else {
            return;
        };
        let known = out
            .iter()
            .any(|h| matches!(h, Held::Tell { rel: r, duid } if *r == rel && **duid == *l.duid));
        if !known {
            out.push(Held::Tell {
                rel,
                duid: l.duid.clone(),
            });
        }
    }

    /// The subnets of relationship `rel` (none for an unknown one).
    fn subnets(&self, rel: usize) -> Vec<u32> {
        self.view
            .get(rel)
            .map(|r| r.subnets.clone())
            .unwrap_or_default()
    }

    /// A message that must arrive (it ends a collection): waits for room.
    fn tell_surely(&self, msg: ToControl) {
        let _ = self.waker.wake();
        if self.control.send(msg).is_ok() {
            let _ = self.waker.wake();
        }
    }
}

fn subnet_map(view: &View) -> HashMap<u32, usize> {
    let mut m = HashMap::new();
    for (i, r) in view.iter().enumerate() {
        for s in &r.subnets {
            m.entry(*s).or_insert(i);
        }
    }
    m
}

/// The engine's view of `view` (RFC 8156 §8 responsiveness, §4.4 lifetimes).
pub(crate) fn engine_view(view: &View) -> FailoverView {
    FailoverView {
        relationships: view
            .iter()
            .map(|r| RelationshipView {
                role: r.role,
                state: r.state,
                mclt_s: r.mclt_s,
                entered_state_at: partner::unix_time(r.since),
                subnets: r.subnets.iter().map(|s| SubnetId(*s)).collect(),
            })
            .collect(),
    }
}

/// What waits for a journal batch to be durable before it may go out.
#[derive(Debug)]
pub(crate) enum Held {
    /// A reply to a client, in send slot `.0`.
    Send(usize),
    /// The BNDREPLY for the partner's update `xid` of relationship `rel` (R31).
    Reply {
        rel: usize,
        xid: Xid,
        reply: Box<BindingReply>,
    },
    /// Client `duid`'s bindings changed: tell the partner (lazy update, R27).
    Tell { rel: usize, duid: Box<[u8]> },
    /// A prefix hand-over started (FREE-BACKUP or FREE, RFC 8156 §4.2.2): tell the partner.
    TellPrefix(tandem_lease::Resource),
    /// A partner binding stored or freed here lies in another shard's slice: tell that shard.
    Cross(tandem_lease::CrossNote),
    /// UPDREQ / UPDREQALL / entering NORMAL: collect once everything before it is durable, so
    /// no update carries a change that a crash could still take back.
    Collect { rel: usize, all: bool, epoch: u64 },
    /// A control-API `lease6-del`: answered once its removal is durable.
    Admin(super::admin::DeleteDone),
}

impl Ctx {
    /// Something held became durable (or needed no write): send it on its way.
    pub(super) fn release(&mut self, h: Held, now: u64) {
        match h {
            Held::Send(slot) => self.to_send.push(slot),
            Held::Reply { rel, xid, reply } => {
                if let Some(fo) = &self.fo {
                    fo.tell_surely(ToControl::Applied {
                        rel,
                        xid,
                        reply: *reply,
                    });
                }
            }
            Held::Tell { rel, duid } => {
                let Some(fo) = &self.fo else {
                    return;
                };
                if let Some(update) = partner::client_update(&self.shard, &duid, now) {
                    if !fo.tell(ToControl::Update { rel, update }) {
                        // The lease keeps its flag; a collection sends it later (R28).
                        debug!(worker = self.id, "control queue full: update deferred");
                        self.fo_resync = true;
                    }
                }
            }
            Held::TellPrefix(r) => self.tell_prefix(&r, now),
            Held::Collect { rel, all, epoch } => self.collect(rel, all, epoch, now),
            Held::Admin(done) => done.send(),
            Held::Cross(note) => {
                if let Some(fo) = &self.fo {
                    // Must arrive: the owner could otherwise allocate a bound resource.
                    fo.tell_surely(ToControl::Cross(note));
                }
            }
        }
    }

    /// Sends the pending hand-over of `r` to its relationship's partner, if any is pending.
    /// A full queue defers it to the next rebalancing pass, which sends every pending one.
    fn tell_prefix(&mut self, r: &tandem_lease::Resource, now: u64) {
        let Some(fo) = &self.fo else {
            return;
        };
        let rel = self
            .shard
            .subnet_of(r)
            .and_then(|s| fo.subnet_rel.get(&s).copied());
        let (Some(rel), Some(update)) = (rel, partner::share_update(&self.shard, r, now)) else {
            return;
        };
        if !fo.tell(ToControl::Update { rel, update }) {
            debug!(
                worker = self.id,
                "control queue full: prefix hand-over deferred"
            );
        }
    }

    /// The primary's rebalancing of relationship `rel` (RFC 8156 §4.2.2; R43, R44): new
    /// hand-overs are recorded and go to the partner once durable ([`Held::TellPrefix`]).
    /// Unacknowledged ones are not re-sent here: the queue keeps them until settled, and a
    /// reconnection or an overflow collects them again (entering NORMAL, [`ToControl::Resync`]).
    fn rebalance(&mut self, rel: usize, target: tandem_lease::ShareTarget, now: u64) {
        let Some(fo) = &self.fo else {
            return;
        };
        let subnets = fo.subnets(rel);
        let done = self.shard.rebalance(&subnets, target, now);
        // Cut short by the per-pass cap: the next tick goes on.
        self.fo_rebalance = done.more.then_some((rel, target));
        if done.given + done.reclaimed > 0 {
            debug!(
                worker = self.id,
                rel,
                given = done.given,
                reclaimed = done.reclaimed,
                "prefix share rebalanced"
            );
        }
        self.record_changes();
    }

    /// A held item whose journal batch failed (the bytes are retried). A client reply is
    /// dropped (the caller counts it; returns its send slot), a BNDREPLY too (the partner
    /// resends the update), a lazy client update waits for the next collection (the lease keeps
    /// its flag); the rest wait for the retried bytes.
    pub(super) fn withdraw(&mut self, h: Held) -> Option<usize> {
        match h {
            Held::Send(slot) => Some(slot),
            // The failed bytes are retried: these wait for them again (a collection must end,
            // a cross-shard note and a hand-over must not be lost).
            h @ (Held::Collect { .. } | Held::Cross(_) | Held::TellPrefix(_)) => {
                if let (_, Some(h)) = self.gc.attach(h, false) {
                    self.release(h, super::unix_now());
                }
                None
            }
            _ => None,
        }
    }

    /// Handles every message from the control thread.
    pub(super) fn drain_control(&mut self, now: u64) {
        while let Some(msg) = self.fo.as_ref().and_then(|fo| fo.inbox.try_recv().ok()) {
            match msg {
                ToWorker::View(view) => self.set_view(&view),
                ToWorker::Apply { rel, xid, update } => {
                    let Some(r) = self.fo.as_ref().and_then(|fo| fo.view.get(rel)) else {
                        continue;
                    };
                    let recovering = (r.state == ServerState::Recover).then_some(r.mclt_s);
                    let (role, subnets) = (r.role, r.subnets.clone());
                    // Only this relationship's subnets are the partner's business (R8, R35).
                    let reply = partner::apply_update_in(
                        &mut self.shard,
                        Some(&subnets),
                        role,
                        now,
                        &update,
                        recovering,
                    );
                    let changed = self.record_changes();
                    let held = Held::Reply {
                        rel,
                        xid,
                        reply: Box::new(reply),
                    };
                    if let (_, Some(h)) = self.gc.attach(held, changed) {
                        self.release(h, now);
                    }
                }
                ToWorker::Acked { rel, reply, sent } => {
                    debug!(worker = self.id, rel, "partner acked an update");
                    partner::apply_reply(&mut self.shard, &reply, &sent);
                    self.record_changes();
                }
                ToWorker::Collect { rel, all, epoch } => {
                    if let (_, Some(h)) = self.gc.attach(Held::Collect { rel, all, epoch }, false) {
                        self.release(h, now);
                    }
                }
                ToWorker::Rebalance { rel, target } => self.rebalance(rel, target, now),
                ToWorker::Cross { resource, bound } => {
                    if bound {
                        self.shard.foreign_bound(resource);
                    } else {
                        self.shard.foreign_freed(&resource);
                    }
                    self.record_changes();
                }
                ToWorker::BoundIn { rel, epoch } => {
                    let Some(fo) = &self.fo else { continue };
                    let subnets = fo
                        .view
                        .get(rel)
                        .map(|r| r.subnets.clone())
                        .unwrap_or_default();
                    let resources = self
                        .shard
                        .leases()
                        .filter(|l| subnets.contains(&l.subnet_id))
                        .map(|l| l.resource)
                        .collect();
                    fo.tell_surely(ToControl::Bound {
                        rel,
                        epoch,
                        resources,
                    });
                }
                ToWorker::PartnerHalf { rel, elsewhere } => {
                    let Some(fo) = &self.fo else { continue };
                    let subnets = fo
                        .view
                        .get(rel)
                        .map(|r| r.subnets.clone())
                        .unwrap_or_default();
                    for subnet in subnets {
                        match &elsewhere {
                            Some(list) => self.shard.open_partner_half(subnet, list),
                            None => self.shard.close_partner_half(subnet),
                        }
                    }
                    debug!(
                        worker = self.id,
                        rel,
                        open = elsewhere.is_some(),
                        "partner's half"
                    );
                }
            }
        }
        if std::mem::take(&mut self.fo_resync) {
            if let Some(fo) = &self.fo {
                for rel in 0..fo.view.len() {
                    fo.tell_surely(ToControl::Resync { rel });
                }
            }
        }
    }

    fn set_view(&mut self, view: &View) {
        self.engine.set_failover(Some(engine_view(view)));
        self.engine.configure_shard(&mut self.shard);
        self.record_changes();
        if let Some(fo) = &mut self.fo {
            fo.subnet_rel = subnet_map(view);
            fo.view = view.clone();
        }
    }

    /// UPDREQ (`all` false) or UPDREQALL: this shard's bindings of the relationship's subnets.
    fn collect(&mut self, rel: usize, all: bool, epoch: u64, now: u64) {
        let Some(fo) = &self.fo else {
            return;
        };
        let subnets = fo.subnets(rel);
        let updates = partner::collect(&self.shard, Some(&subnets), all, now);
        debug!(
            worker = self.id,
            rel,
            all,
            updates = updates.len(),
            "collected bindings"
        );
        for update in updates {
            // A collection must be complete: wait for room rather than drop (UPDDONE follows).
            fo.tell_surely(ToControl::Update { rel, update });
        }
        fo.tell_surely(ToControl::Collected { rel, epoch });
    }

    /// Failover part of the periodic work: a prefix rebalancing cut short goes on, and
    /// PARTNER-DOWN freeing after MCLT (R56).
    pub(super) fn fo_tick(&mut self, now: u64) -> usize {
        if self.fo.is_none() {
            return 0;
        }
        if let Some((rel, target)) = self.fo_rebalance.take() {
            self.rebalance(rel, target, now);
        }
        self.engine.free_unacked(&mut self.shard, now)
    }
}
