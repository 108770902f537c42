//! A live reload reaching a worker: the reload path ([`crate::reload`]) sends each worker the
//! new [`Engine`] over a bounded queue ([`ReconfigureLink`]) and waits for every [`Done`].
//!
//! The worker keeps its failover view (the engine it swaps in takes the view its current one
//! has), re-slices its shard for the new pools and reservations without touching a lease
//! (`tandem_lease::Shard::reconfigure`), puts the new subnets in their failover mode, and
//! records whatever that changed like any other change. Between two packets: no packet is
//! served half by the old configuration and half by the new one.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, SendTimeoutError, Sender};
use tandem_engine::Engine;
use tandem_lease::Reconfigured;
use tracing::info;

use super::Ctx;

/// Bound of each worker's queue from the reload path (one reload at a time is in flight).
pub(crate) const RECONFIGURE_QUEUE_LEN: usize = 2;

/// The new configuration for one worker, and where its [`Done`] goes.
pub(crate) struct Request {
    pub(crate) engine: Box<Engine>,
    pub(crate) reply: Sender<Done>,
}

/// A worker runs the new configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Done {
    pub(crate) worker: u32,
    /// Leases in the worker's shard, before and after (the same: none is dropped).
    pub(crate) leases_before: usize,
    pub(crate) leases_after: usize,
    pub(crate) shard: Reconfigured,
}

/// How the reload path reaches one worker.
#[derive(Clone)]
pub(crate) struct ReconfigureLink {
    tx: Sender<Request>,
    wake: Arc<OwnedFd>,
}

/// The worker's queue stayed full for the whole timeout, or the worker is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unreachable;

impl ReconfigureLink {
    /// Queues `req` (waiting at most `timeout` for room) and wakes the worker.
    pub(crate) fn send(&self, req: Request, timeout: Duration) -> Result<(), Unreachable> {
        match self.tx.send_timeout(req, timeout) {
            Ok(()) => {
                super::wake(&self.wake);
                Ok(())
            }
            Err(SendTimeoutError::Timeout(_) | SendTimeoutError::Disconnected(_)) => {
                Err(Unreachable)
            }
        }
    }
}

/// A new queue to a worker: its link and the receiving end for its [`super::Setup`].
pub(crate) fn link(wake: Arc<OwnedFd>) -> (ReconfigureLink, Receiver<Request>) {
    let (tx, rx) = crossbeam_channel::bounded(RECONFIGURE_QUEUE_LEN);
    (ReconfigureLink { tx, wake }, rx)
}

impl Ctx {
    /// The loop's hook: applies a queued new configuration.
    pub(super) fn drain_reconfigure(&mut self) {
        while let Ok(req) = self.reconfigure.try_recv() {
            self.reconfigure(req);
        }
    }

    fn reconfigure(&mut self, req: Request) {
        let mut engine = *req.engine;
        // The failover view is the control thread's, not the file's: keep the current one.
        engine.set_failover(self.engine.failover().cloned());
        let leases_before = self.shard.len();
        let shard = self
            .shard
            .reconfigure(engine.pool_defs(), engine.reserved());
        engine.configure_shard(&mut self.shard);
        self.engine = engine;
        self.record_changes();
        self.stats.refresh_leases(&self.shard);
        let done = Done {
            worker: self.id,
            leases_before,
            leases_after: self.shard.len(),
            shard,
        };
        info!(
            worker = self.id,
            leases = done.leases_after,
            pools_kept = shard.kept,
            pools_rebuilt = shard.rebuilt,
            pools_removed = shard.removed,
            outside_pools = shard.outside_pools,
            "new configuration applied"
        );
        let _ = req.reply.send(done);
    }
}
