//! The lazy-update send queue of one relationship (RFC 8156 §4.3, §7.2, §7.7; protocol notes
//! §1.11, §1.13; R27, R28, R32, R37).
//!
//! Client replies never wait for it: the server answers the client, then pushes the binding
//! here. The queue decides *what* goes out and *when*; encoding is the update type's business
//! ([`LazyUpdate`]).
//!
//! Rules, with the reason for each:
//! * **Coalescing.** One entry per key (a client, or a delegable prefix). A newer update for a
//!   key replaces the queued one in place: the partner only needs the latest binding, and a
//!   busy client cannot grow the queue.
//! * **One in flight per key.** A key with a BNDUPD outstanding is not sent again until its
//!   BNDREPLY arrives, so the partner never sees two versions of one binding racing.
//! * **Flow control (R32).** At most the partner's OPTION_F_MAX_UNACKED_BNDUPD in flight.
//! * **Rejections (R37).** A rejected update is parked, not resent. The next lazy pass
//!   ([`UpdateQueue::next_pass`], driven by a timer) queues it once more; after
//!   [`MAX_ATTEMPTS`] rejections it is dropped from the queue and counted. The lease keeps its
//!   "partner must be told" flag in the store, so the next UPDREQ or the next entry into NORMAL
//!   carries it again: disagreement is bounded, never a storm. A parked update is forgotten
//!   when the partner's own data for that key is accepted ([`UpdateQueue::forget`]).
//! * **Bounded (R28).** At most `capacity` keys wait. Past that, pushes are refused and the
//!   queue remembers it overflowed; the owner re-collects every flagged lease from the store
//!   once the queue has drained ([`UpdateQueue::take_overflowed`]).
//! * **Connection loss.** In-flight updates were not acknowledged: they go back to the front
//!   of the queue, unless a newer update for the key arrived meanwhile.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Debug;

use tandem_wire::failover::FailoverMessage;
use tandem_wire::Xid;

use crate::time::FoTime;

/// How many times one update is offered to a partner that keeps rejecting it.
pub const MAX_ATTEMPTS: u8 = 3;

/// A binding update the queue can carry (RFC 8156 §7.4).
pub trait LazyUpdate: Debug {
    /// What coalesces: the client (DUID) or the delegable prefix.
    type Key: Ord + Clone + Debug;
    /// This update's key.
    fn key(&self) -> Self::Key;
    /// Octets [`LazyUpdate::encode`] needs, length prefix included.
    fn encoded_len(&self) -> usize;
    /// Writes the framed BNDUPD (length prefix, header with `xid` and `sent`, options) into
    /// `buf`; `None` when it does not fit or cannot be encoded (it is then dropped and counted).
    fn encode(&self, xid: Xid, sent: FoTime, buf: &mut [u8]) -> Option<usize>;
    /// Does this BNDREPLY reject any part of the update (RFC 8156 §7.6)?
    fn is_rejection(reply: &FailoverMessage<'_>) -> bool;
    /// Is a rejection of this update an answer rather than a disagreement? Then it is not
    /// parked for the next pass but settled with the update, so the owner can act on the
    /// refusal (a reclaimed delegated prefix, §4.2.2). Default: no.
    fn refusal_is_final(&self) -> bool {
        false
    }
    /// May this update be left unsent when the server stops (the owner sends it again on the
    /// next connection, from its durable records)? Default: no.
    fn deferrable(&self) -> bool {
        false
    }
}

/// Result of [`UpdateQueue::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pushed {
    /// A new entry.
    Queued,
    /// Replaced the queued update of the same key.
    Coalesced,
    /// The queue is full: refused; the owner re-collects from the store later.
    Overflow,
}

/// What a BNDREPLY settled (RFC 8156 §7.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled<K, U> {
    /// The key of the update it answered.
    pub key: K,
    /// True if any part was rejected (the update is parked for the next pass, or given up).
    pub rejected: bool,
    /// The update as it was sent, when nothing was rejected or the refusal is final
    /// ([`LazyUpdate::refusal_is_final`]): what the reply covers (its binding states and times
    /// identify the data the partner now holds).
    pub update: Option<U>,
}

/// Counters for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Updates pushed (new entries).
    pub queued: u64,
    /// Updates that replaced a queued one.
    pub coalesced: u64,
    /// Pushes refused because the queue was full.
    pub overflowed: u64,
    /// BNDUPDs handed out for sending.
    pub sent: u64,
    /// BNDREPLYs accepting everything.
    pub acked: u64,
    /// BNDREPLYs rejecting some part.
    pub rejected: u64,
    /// Updates dropped after [`MAX_ATTEMPTS`] rejections.
    pub given_up: u64,
    /// Updates the type could not encode.
    pub unencodable: u64,
}

#[derive(Debug)]
struct InFlight<K, U> {
    key: K,
    /// Attempts including this one.
    attempts: u8,
    /// Its place in the queue when it was sent, to restore order after a connection loss.
    seq: u64,
    update: U,
}

#[derive(Debug)]
struct Parked<U> {
    update: U,
    attempts: u8,
}

/// The send queue (module doc).
#[derive(Debug)]
pub struct UpdateQueue<U: LazyUpdate> {
    capacity: usize,
    /// Queued updates by key, with their position in `order` and attempts so far.
    pending: BTreeMap<U::Key, (u64, u8, U)>,
    /// FIFO order: sequence number → key.
    order: BTreeMap<u64, U::Key>,
    /// Next sequence number at the back; `front_seq` counts down for requeues at the front.
    back_seq: u64,
    front_seq: u64,
    /// Outstanding BNDUPDs by xid, with their attempt count.
    in_flight: HashMap<u32, InFlight<U::Key, U>>,
    /// Keys of `in_flight`.
    flying: BTreeSet<U::Key>,
    parked: BTreeMap<U::Key, Parked<U>>,
    overflowed: bool,
    stats: QueueStats,
}

impl<U: LazyUpdate> UpdateQueue<U> {
    /// An empty queue holding at most `capacity` waiting keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            pending: BTreeMap::new(),
            order: BTreeMap::new(),
            back_seq: u64::MAX / 2,
            front_seq: u64::MAX / 2,
            in_flight: HashMap::new(),
            flying: BTreeSet::new(),
            parked: BTreeMap::new(),
            overflowed: false,
            stats: QueueStats::default(),
        }
    }

    /// Queue an update (after the client got its reply; R27). A newer update replaces a
    /// waiting or parked one of the same key.
    pub fn push(&mut self, update: U) -> Pushed {
        let key = update.key();
        self.parked.remove(&key);
        if let Some(entry) = self.pending.get_mut(&key) {
            entry.1 = 0;
            entry.2 = update;
            self.stats.coalesced += 1;
            return Pushed::Coalesced;
        }
        if self.pending.len() >= self.capacity {
            self.overflowed = true;
            self.stats.overflowed += 1;
            return Pushed::Overflow;
        }
        self.insert_back(key, 0, update);
        self.stats.queued += 1;
        Pushed::Queued
    }

    /// The oldest waiting update whose key is not in flight, if fewer than `max_unacked`
    /// are outstanding (R32). Encode it, then call [`UpdateQueue::sent`] with its xid.
    pub fn next_sendable(&self, max_unacked: usize) -> Option<&U> {
        self.next_entry(max_unacked)
            .map(|(_, k)| &self.pending[k].2)
    }

    /// The update returned by [`UpdateQueue::next_sendable`] went out with `xid`.
    /// Returns false (and does nothing) if nothing was sendable.
    pub fn sent(&mut self, max_unacked: usize, xid: Xid) -> bool {
        let Some((seq, key)) = self.next_entry(max_unacked).map(|(s, k)| (s, k.clone())) else {
            return false;
        };
        self.order.remove(&seq);
        let Some((_, attempts, update)) = self.pending.remove(&key) else {
            return false;
        };
        self.flying.insert(key.clone());
        let entry = InFlight {
            key,
            attempts: attempts.saturating_add(1),
            seq,
            update,
        };
        self.in_flight.insert(xid.to_u32(), entry);
        self.stats.sent += 1;
        true
    }

    /// The update returned by [`UpdateQueue::next_sendable`] could not be encoded: drop it.
    pub fn drop_unencodable(&mut self, max_unacked: usize) {
        if let Some((seq, key)) = self.next_entry(max_unacked).map(|(s, k)| (s, k.clone())) {
            self.order.remove(&seq);
            self.pending.remove(&key);
            self.stats.unencodable += 1;
        }
    }

    /// A BNDREPLY with `xid` arrived (RFC 8156 §7.7). `None` when no BNDUPD with that xid is
    /// outstanding (the partner's fault; the caller counts it).
    pub fn settle(&mut self, xid: Xid, rejected: bool) -> Option<Settled<U::Key, U>> {
        let InFlight {
            key,
            attempts,
            update,
            ..
        } = self.in_flight.remove(&xid.to_u32())?;
        self.flying.remove(&key);
        if !rejected {
            self.stats.acked += 1;
            return Some(Settled {
                key,
                rejected,
                update: Some(update),
            });
        }
        self.stats.rejected += 1;
        if update.refusal_is_final() {
            return Some(Settled {
                key,
                rejected,
                update: Some(update),
            });
        }
        // A newer waiting update supersedes the rejected one.
        if !self.pending.contains_key(&key) {
            if attempts >= MAX_ATTEMPTS {
                self.stats.given_up += 1;
            } else {
                self.parked.insert(key.clone(), Parked { update, attempts });
            }
        }
        Some(Settled {
            key,
            rejected,
            update: None,
        })
    }

    /// The lazy pass (R37): every parked update is queued once more, behind the waiting ones.
    pub fn next_pass(&mut self) {
        for (key, p) in std::mem::take(&mut self.parked) {
            if self.pending.contains_key(&key) || self.in_flight_has(&key) {
                continue;
            }
            if self.pending.len() >= self.capacity {
                self.overflowed = true;
                self.stats.overflowed += 1;
                continue;
            }
            self.insert_back(key, p.attempts, p.update);
        }
    }

    /// The partner's own data for `key` was accepted here: a parked (rejected) update of ours
    /// is stale and is forgotten (RFC 8156 §7.5: the partner resends its newer data instead).
    pub fn forget(&mut self, key: &U::Key) {
        self.parked.remove(key);
    }

    /// The connection is gone: in-flight updates were not acknowledged and go back to the
    /// front of the queue (oldest first), unless a newer one for the key waits already.
    pub fn requeue_in_flight(&mut self) {
        self.flying.clear();
        let mut back: Vec<InFlight<U::Key, U>> = self.in_flight.drain().map(|(_, f)| f).collect();
        // Newest first, so the oldest ends up at the very front.
        back.sort_by_key(|f| std::cmp::Reverse(f.seq));
        for f in back {
            if self.pending.contains_key(&f.key) {
                continue;
            }
            self.front_seq = self.front_seq.wrapping_sub(1);
            self.order.insert(self.front_seq, f.key.clone());
            let attempts = f.attempts.saturating_sub(1);
            self.pending
                .insert(f.key, (self.front_seq, attempts, f.update));
        }
    }

    /// True once: the queue refused a push since the last call. The owner then re-collects
    /// every flagged lease from its store (the flags are the truth; R28).
    pub fn take_overflowed(&mut self) -> bool {
        std::mem::take(&mut self.overflowed)
    }

    /// Is `xid` an outstanding BNDUPD? (Xids must not be reused while outstanding; R5.)
    pub fn is_outstanding(&self, xid: Xid) -> bool {
        self.in_flight.contains_key(&xid.to_u32())
    }

    /// Nothing waits and nothing is outstanding (parked updates do not count: they were
    /// answered). UPDDONE may be sent (RFC 8156 §8; R52).
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_empty()
    }

    /// Updates waiting to be sent.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// BNDUPDs sent and not yet answered.
    pub fn in_flight_len(&self) -> usize {
        self.in_flight.len()
    }

    /// Rejected updates waiting for the next pass.
    pub fn parked_len(&self) -> usize {
        self.parked.len()
    }

    /// Counters.
    pub fn stats(&self) -> QueueStats {
        self.stats
    }

    fn in_flight_has(&self, key: &U::Key) -> bool {
        self.flying.contains(key)
    }

    /// The server is stopping: drops the waiting (not in-flight) updates that are
    /// [`LazyUpdate::deferrable`], so the flush before DISCONNECT covers only what must go
    /// now. Returns how many.
    pub fn drop_deferrable(&mut self) -> usize {
        let gone: Vec<(u64, U::Key)> = self
            .pending
            .iter()
            .filter(|(_, (_, _, u))| u.deferrable())
            .map(|(k, (seq, _, _))| (*seq, k.clone()))
            .collect();
        for (seq, key) in &gone {
            self.order.remove(seq);
            self.pending.remove(key);
        }
        gone.len()
    }

    fn insert_back(&mut self, key: U::Key, attempts: u8, update: U) {
        let seq = self.back_seq;
        self.back_seq = self.back_seq.wrapping_add(1);
        self.order.insert(seq, key.clone());
        self.pending.insert(key, (seq, attempts, update));
    }

    /// The oldest waiting entry whose key is not in flight, if the window allows. Skips at most
    /// `in_flight.len()` entries, so the cost is bounded by the window, not the queue.
    fn next_entry(&self, max_unacked: usize) -> Option<(u64, &U::Key)> {
        if self.in_flight.len() >= max_unacked {
            return None;
        }
        self.order
            .iter()
            .find(|(_, k)| !self.in_flight_has(k))
            .map(|(s, k)| (*s, k))
    }
}

#[cfg(test)]
mod tests;
