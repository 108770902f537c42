//! Control-API requests a worker answers from its own shard: `lease6-get`,
//! `lease6-get-by-duid`, `lease6-get-page` and `lease6-del` (Kea's lease commands).
//!
//! The control-API thread sends a [`Request`] over a bounded queue per worker ([`AdminLink`])
//! and waits for the [`Answer`] on a channel of its own. Lease data is cloned out; the shard
//! never leaves its worker. Only `lease6-del` changes the shard: the removal is recorded like
//! any client's change (journal batch, and the partner told on a failover subnet), and its
//! answer waits until that batch is durable ([`super::Held::Admin`]), as a client's reply does.

use std::net::Ipv6Addr;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tandem_lease::{Lease, LeaseKind, Resource, Shard};

use super::partner::Held;
use super::Ctx;

/// Bound of each worker's queue from the control-API thread.
pub(crate) const ADMIN_QUEUE_LEN: usize = 16;
/// Requests one loop iteration takes at most (the rest wait for the next one, at most a tick).
const ADMIN_PER_TURN: usize = 4;
/// The largest `lease6-get-page` limit: each worker clones at most this many leases per page.
pub(crate) const PAGE_LIMIT_MAX: usize = 10_000;

/// Which lease: an address, or a prefix with or without its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lookup {
    pub(crate) kind: LeaseKind,
    pub(crate) addr: Ipv6Addr,
    /// `None` for a prefix: whatever length is leased at `addr`.
    pub(crate) prefix_len: Option<u8>,
}

/// What the control API asks a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Query {
    /// The lease of one resource, if this shard holds it.
    Get(Lookup),
    /// Every lease of a client (only its owner's shard has any).
    ByDuid(Box<[u8]>),
    /// Up to `limit` leases whose address comes after `after` (from the first when `None`), in
    /// [`page_key`] order.
    Page {
        after: Option<Ipv6Addr>,
        limit: usize,
    },
    /// Remove the lease of one resource (RFC 8415 §18.3.7 as if the client released it).
    Delete(Lookup),
}

/// A worker's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Answer {
    /// The leases found (none: not in this shard).
    Leases(Vec<Lease>),
    /// `lease6-del`: its removal durable; `None`: not in this shard.
    Deleted(Option<Deleted>),
}

/// A lease `lease6-del` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Deleted {
    /// The lease as it was before.
    pub(crate) lease: Lease,
    /// On a failover subnet it stays Released until the partner acknowledges (RFC 8156
    /// §4.2.2.1, R46); false: gone from the shard.
    pub(crate) pending_partner: bool,
}

/// One request with the channel its answer goes back on.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) query: Query,
    pub(crate) reply: Sender<Answer>,
}

/// A `lease6-del` waiting for its journal batch.
#[derive(Debug)]
pub(crate) struct DeleteDone {
    reply: Sender<Answer>,
    deleted: Deleted,
}

impl DeleteDone {
    /// The batch is durable: answer.
    pub(super) fn send(self) {
        let _ = self.reply.try_send(Answer::Deleted(Some(self.deleted)));
    }
}

/// How the control-API thread reaches one worker.
#[derive(Clone)]
pub(crate) struct AdminLink {
    pub(crate) tx: Sender<Request>,
    pub(crate) wake: Arc<OwnedFd>,
}

/// The worker's queue was full (or the worker is gone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy;

impl AdminLink {
    /// Queues `req` and wakes the worker.
    pub(crate) fn ask(&self, req: Request) -> Result<(), Busy> {
        match self.tx.try_send(req) {
            Ok(()) => {
                super::wake(&self.wake);
                Ok(())
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

/// A new queue to a worker: its link and the receiving end for its [`super::Setup`].
pub(crate) fn link(wake: Arc<OwnedFd>) -> (AdminLink, Receiver<Request>) {
    let (tx, rx) = crossbeam_channel::bounded(ADMIN_QUEUE_LEN);
    (AdminLink { tx, wake }, rx)
}

/// The order pages are in: by address, then kind and length (Kea pages by address). Pools do
/// not overlap, so no two leases share an address unless a reservation makes them.
pub(crate) fn page_key(l: &Lease) -> (Ipv6Addr, LeaseKind, u8) {
    (l.resource.addr, l.resource.kind, l.resource.prefix_len)
}

/// The lease `l` names in `shard`, any state.
pub(crate) fn find<'s>(shard: &'s Shard, l: &Lookup) -> Option<&'s Lease> {
    let at = |prefix_len| {
        shard.lease(&Resource {
            kind: l.kind,
            addr: l.addr,
            prefix_len,
        })
    };
    match (l.kind, l.prefix_len) {
        (_, Some(len)) => at(len),
        (LeaseKind::Pd, None) => (0..=128).find_map(at),
        (_, None) => at(128),
    }
}

/// Up to `limit` leases of `shard` after `after`, in [`page_key`] order. The shard keeps its
/// leases by (kind, address): the addresses and the prefixes are each in address order and
/// are merged here; the leases before the cursor are skipped, not cloned.
pub(crate) fn page(shard: &Shard, after: Option<Ipv6Addr>, limit: usize) -> Vec<Lease> {
    let past = move |l: &&Lease| after.is_some_and(|a| l.resource.addr <= a);
    let mut na = shard
        .leases()
        .take_while(|l| l.resource.kind == LeaseKind::Na)
        .skip_while(past)
        .peekable();
    let mut pd = shard
        .leases()
        .skip_while(|l| l.resource.kind == LeaseKind::Na)
        .skip_while(past)
        .peekable();
    let mut out = Vec::new();
    while out.len() < limit {
        let next = match (na.peek(), pd.peek()) {
            (Some(a), Some(p)) if page_key(a) <= page_key(p) => na.next(),
            (Some(_), Some(_)) => pd.next(),
            (Some(_), None) => na.next(),
            (None, _) => pd.next(),
        };
        let Some(l) = next else { break };
        out.push(l.clone());
    }
    out
}

impl Ctx {
    /// The loop's hook: answers up to [`ADMIN_PER_TURN`] queued control-API requests.
    pub(super) fn drain_admin(&mut self, now: u64) {
        for _ in 0..ADMIN_PER_TURN {
            let Ok(req) = self.admin.try_recv() else {
                return;
            };
            self.answer(req, now);
        }
    }

    fn answer(&mut self, req: Request, now: u64) {
        let answer = match req.query {
            Query::Get(l) => Answer::Leases(find(&self.shard, &l).cloned().into_iter().collect()),
            Query::ByDuid(duid) => {
                Answer::Leases(self.shard.client_leases(&duid).cloned().collect())
            }
            Query::Page { after, limit } => {
                Answer::Leases(page(&self.shard, after, limit.min(PAGE_LIMIT_MAX)))
            }
            Query::Delete(l) => {
                let Some(lease) = find(&self.shard, &l).cloned() else {
                    let _ = req.reply.try_send(Answer::Deleted(None));
                    return;
                };
                // Standalone: removed. On a failover subnet: Released and the partner told;
                // it is freed once the partner acknowledges (RFC 8156 §4.2.2.1, R46).
                self.shard.release(&lease.resource, now);
                let pending_partner = self.shard.lease(&lease.resource).is_some();
                let changed = self.record_changes();
                let held = Held::Admin(DeleteDone {
                    reply: req.reply,
                    deleted: Deleted {
                        lease,
                        pending_partner,
                    },
                });
                if let (_, Some(h)) = self.gc.attach(held, changed) {
                    self.release(h, now);
                }
                return;
            }
        };
        let _ = req.reply.try_send(answer);
    }
}

#[cfg(test)]
mod tests {
    use tandem_lease::{FoData, LeaseState, PoolDef, PoolId, PoolRange};

    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn shard() -> Shard {
        let pools = [
            PoolDef {
                id: PoolId(1),
                subnet_id: 1,
                range: PoolRange::Addresses {
                    first: a("2001:db8:1::1000"),
                    last: a("2001:db8:1::ffff"),
                },
            },
            PoolDef {
                id: PoolId(2),
                subnet_id: 1,
                range: PoolRange::Prefixes {
                    prefix: a("2001:db8:8000::"),
                    prefix_len: 40,
                    delegated_len: 56,
                },
            },
        ];
        Shard::new(0, 1, &pools, &[])
    }

    fn lease(resource: Resource, duid: u8) -> Lease {
        Lease {
            resource,
            duid: vec![0, 1, duid].into_boxed_slice(),
            iaid: 7,
            subnet_id: 1,
            preferred_s: 300,
            valid_s: 600,
            cltt: 1_000,
            expires_at: 1_600,
            state: LeaseState::Bound,
            fo: FoData::default(),
        }
    }

    /// Addresses ::1001..=::1005 and prefixes 2001:db8:80NN::/56, NN = 01..=03, interleaved in
    /// address order with an address above them all.
    fn filled() -> Shard {
        let mut s = shard();
        for i in 1..=5u8 {
            s.bind(lease(
                Resource::address(a(&format!("2001:db8:1::100{i}"))),
                i,
            ));
        }
        for i in 1..=3u8 {
            s.bind(lease(
                Resource::prefix(a(&format!("2001:db8:80{i:02x}::")), 56),
                10 + i,
            ));
        }
        s.bind(lease(Resource::address(a("2001:db8:9000::1")), 20));
        s
    }

    #[test]
    fn find_by_address_and_by_prefix_with_or_without_length() {
        let s = filled();
        let na = |addr| Lookup {
            kind: LeaseKind::Na,
            addr: a(addr),
            prefix_len: None,
        };
        assert_eq!(find(&s, &na("2001:db8:1::1003")).unwrap().duid[2], 3);
        assert!(find(&s, &na("2001:db8:1::1006")).is_none());
        let pd = |len| Lookup {
            kind: LeaseKind::Pd,
            addr: a("2001:db8:8002::"),
            prefix_len: len,
        };
        assert_eq!(find(&s, &pd(None)).unwrap().duid[2], 12);
        assert_eq!(find(&s, &pd(Some(56))).unwrap().duid[2], 12);
        assert!(find(&s, &pd(Some(48))).is_none());
        // An address is not found as a prefix, nor a prefix as an address.
        assert!(find(
            &s,
            &Lookup {
                kind: LeaseKind::Pd,
                ..na("2001:db8:1::1003")
            }
        )
        .is_none());
    }

    #[test]
    fn pages_follow_address_order_across_kinds_and_cover_everything_once() {
        let s = filled();
        let all = page(&s, None, 100);
        assert_eq!(all.len(), s.len());
        let keys: Vec<_> = all.iter().map(page_key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        // The prefixes (2001:db8:80xx::) sit between the ::100x addresses and 2001:db8:9000::1.
        assert_eq!(all[5].resource.kind, LeaseKind::Pd);
        assert_eq!(all[8].resource.addr, a("2001:db8:9000::1"));
        // Paging by 2 from the start walks the same list.
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let p = page(&s, after, 2);
            if p.is_empty() {
                break;
            }
            assert!(p.len() <= 2);
            after = p.last().map(|l| l.resource.addr);
            walked.extend(p);
        }
        assert_eq!(walked, all);
        // A cursor between leases, and past the end.
        let p = page(&s, Some(a("2001:db8:1::1003")), 3);
        let got: Vec<_> = p.iter().map(|l| l.resource.addr).collect();
        assert_eq!(
            got,
            [
                a("2001:db8:1::1004"),
                a("2001:db8:1::1005"),
                a("2001:db8:8001::")
            ]
        );
        assert!(page(&s, Some(a("2001:db8:ffff::")), 3).is_empty());
        assert!(page(&s, None, 0).is_empty());
    }

    #[test]
    fn release_in_a_standalone_shard_removes_and_records_the_removal() {
        // What `lease6-del` does to the shard: the change the journal gets is a Remove.
        let mut s = filled();
        let _ = s.drain_changes().count();
        let r = Resource::address(a("2001:db8:1::1002"));
        s.release(&r, 2_000);
        assert!(s.lease(&r).is_none());
        let changes: Vec<_> = s.drain_changes().collect();
        assert_eq!(changes, [tandem_lease::LeaseChange::Remove(r)]);
        assert!(s.client_leases(&[0, 1, 2]).next().is_none());
    }
}
