//! What the control thread and the workers tell each other over their bounded queues. A client's
//! bindings live in the worker that owns its DUID's shard, so every partner update for a client
//! is applied by that worker (design: lock-free shards, one writer each).

use std::sync::Arc;

use tandem_failover::binding::{BindingReply, BindingUpdate};
use tandem_wire::Xid;

/// Control thread → worker.
#[derive(Debug)]
pub(crate) enum ToWorker {
    /// A BNDUPD from the partner of relationship `rel`: decide it against the shard
    /// (RFC 8156 §7.5), store what is accepted, and once that is durable answer with
    /// [`ToControl::Applied`] (R31).
    Apply {
        rel: usize,
        xid: Xid,
        update: BindingUpdate,
    },
    /// The partner accepted all of `sent`: record the acknowledged partner lifetimes and free
    /// what it acknowledged as released or expired (RFC 8156 §7.7; R39). (A reply rejecting
    /// any part is not passed on: the leases keep their flags and go again with the next pass.)
    Acked {
        rel: usize,
        reply: BindingReply,
        sent: BindingUpdate,
    },
    /// Send [`ToControl::Update`] for every binding of the relationship's subnets whose
    /// "partner must be told" flag is set (or all of them when `all`: UPDREQALL), then
    /// [`ToControl::Collected`] with the same epoch (R28, R52).
    Collect { rel: usize, all: bool, epoch: u64 },
    /// The relationships' states changed: what the engine may answer and grant (R47, R29).
    View(Arc<super::view::View>),
    /// The primary in NORMAL (after POOLREQ, on entering NORMAL, and periodically): rebalance
    /// the delegable prefixes of the relationship's subnets to `target` (RFC 8156 §4.2.2;
    /// R43, R44) and send every hand-over the partner has not acknowledged.
    Rebalance {
        rel: usize,
        target: tandem_lease::ShareTarget,
    },
    /// A partner binding stored or freed in another shard lies in this shard's slice
    /// ([`tandem_lease::CrossNote`]): exclude it from allocation, or free it again.
    Cross {
        resource: tandem_lease::Resource,
        bound: bool,
    },
    /// PARTNER-DOWN for the MCLT: report every resource this shard has bound in the
    /// relationship's subnets ([`ToControl::Bound`]), so the partner's half can be opened.
    BoundIn { rel: usize, epoch: u64 },
    /// Open the partner's half of the relationship's pools, excluding `elsewhere` (bound in
    /// some shard), or close it (`None`) (RFC 8156 §8.4.1; OPEN-2).
    PartnerHalf {
        rel: usize,
        elsewhere: Option<Arc<Vec<tandem_lease::Resource>>>,
    },
}

/// Worker → control thread.
#[derive(Debug)]
pub(crate) enum ToControl {
    /// A client's bindings changed and are durable here: tell the partner lazily (R27).
    Update { rel: usize, update: BindingUpdate },
    /// The answer to [`ToWorker::Apply`], durable: send it as BNDREPLY with `xid`.
    Applied {
        rel: usize,
        xid: Xid,
        reply: BindingReply,
    },
    /// The worker finished [`ToWorker::Collect`] `epoch`.
    Collected { rel: usize, epoch: u64 },
    /// The worker could not queue some updates (queue full): collect the flagged ones again.
    Resync { rel: usize },
    /// A partner binding stored or freed here, durable, for the shard whose slice holds it.
    Cross(tandem_lease::CrossNote),
    /// The answer to [`ToWorker::BoundIn`].
    Bound {
        rel: usize,
        epoch: u64,
        resources: Vec<tandem_lease::Resource>,
    },
}
