//! One worker thread: its share of the clients, its socket, its counters. The hot loop paces
//! new transactions, sends in batches, reads answers in batches, answers Advertises with
//! Requests, and expires transactions that waited too long. No locks, no atomics, no
//! allocation per packet (the timeout queue is sized up front and only grows past a peak).

use std::collections::VecDeque;
use std::net::Ipv6Addr;
use std::time::Instant;

use tandem_wire::{MessageType, StatusCode};

use crate::answers::{self, Answer};
use crate::client::{ClientTable, Phase};
use crate::messages::{self, ClientMessage, IaSel, RelayHeader};
use crate::net::{self, RecvBatch, SendBatch, Socket, BATCH};
use crate::pacing::{gather, TokenBucket};
use crate::population::{Population, XidMap, DUID_LEN_MAX};
use crate::scenario::{self, Action, Mix, Scenario, SplitMix64};
use crate::stats::{Counters, Kind, Latencies, ServerTable};

/// Everything the workers share, read-only.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The clients.
    pub population: Population,
    /// xid ↔ client.
    pub xids: XidMap,
    /// What transactions to start.
    pub scenario: Scenario,
    /// Weights for [`Scenario::Mix`].
    pub mix: Mix,
    /// IAs asked for.
    pub ia: IaSel,
    /// Relay encapsulation, or `None` for directly attached clients.
    pub relay: Option<RelayPlan>,
}

/// Relays the clients sit behind: client `i` is behind relay `i % count`, whose link-address
/// is `base + i % count` (RFC 8415 §9.1, §13.1: the link-address selects the subnet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayPlan {
    /// link-address of relay 0.
    pub base: Ipv6Addr,
    /// How many relays.
    pub count: u32,
}

impl RelayPlan {
    /// The link-address of the relay in front of client `index`.
    pub fn link(&self, index: u32) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.base).wrapping_add(u128::from(index % self.count.max(1))))
    }
}

/// One step's timing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepTiming {
    /// Transactions per second this worker starts.
    pub rate_per_s: f64,
    /// How long new transactions are started (ns).
    pub send_ns: u64,
    /// How long an answer may take before the transaction counts as lost (ns).
    pub wait_ns: u64,
}

/// What one worker measured in one step.
#[derive(Debug, Clone)]
pub struct WorkerResult {
    /// Counters.
    pub counters: Counters,
    /// Latencies.
    pub latencies: Latencies,
    /// Answers by server.
    pub servers: ServerTable,
    /// How long the sending period really lasted (s).
    pub send_s: f64,
    /// Clients holding leases at the end of the step.
    pub bound_clients: u64,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    slot: u32,
    sent_ns: u64,
    deadline_ns: u64,
}

/// A worker's state, kept across steps (clients keep their leases).
#[derive(Debug)]
pub struct Worker {
    core: Core,
    recv: RecvBatch,
}

#[derive(Debug)]
struct Core {
    table: ClientTable,
    send: SendBatch,
    pending: VecDeque<Pending>,
    rng: SplitMix64,
    next_slot: usize,
    servers: ServerTable,
    outstanding: u64,
    counters: Counters,
    latencies: Latencies,
    wait_ns: u64,
}

impl Worker {
    /// Worker `id` of `workers`, sending to `dest`; `seed` drives its mix draws.
    pub fn new(
        id: u32,
        workers: u32,
        plan: &Plan,
        dest: std::net::SocketAddrV6,
        seed: u64,
    ) -> Self {
        let table = ClientTable::new(id, workers, plan.population.len());
        let pending = VecDeque::with_capacity(table.len().clamp(1024, 1 << 20));
        Self {
            core: Core {
                table,
                send: SendBatch::new(dest),
                pending,
                rng: SplitMix64::new(seed ^ u64::from(id).wrapping_mul(0x9e37_79b9)),
                next_slot: 0,
                servers: ServerTable::default(),
                outstanding: 0,
                counters: Counters::default(),
                latencies: Latencies::new(),
                wait_ns: 0,
            },
            recv: RecvBatch::new(),
        }
    }

    /// Runs one step on `sock`; times are nanoseconds since `epoch`, shared by all workers.
    pub fn run_step(
        &mut self,
        sock: &Socket,
        plan: &Plan,
        timing: StepTiming,
        epoch: Instant,
    ) -> WorkerResult {
        let now_ns = || epoch.elapsed().as_nanos() as u64;
        let core = &mut self.core;
        core.counters = Counters::default();
        core.latencies = Latencies::new();
        core.servers.reset_counts();
        core.wait_ns = timing.wait_ns;
        let t0 = now_ns();
        let send_end = t0 + timing.send_ns;
        let mut bucket = TokenBucket::new(timing.rate_per_s, 2 * BATCH as u32, t0);
        let min_batch = gather(timing.rate_per_s, BATCH as u32);
        let mut sent_until = t0;
        let mut pacing = true;
        loop {
            let now = now_ns();
            let sending = now < send_end;
            if pacing {
                // The last round refills up to the end of the period exactly, so the tokens
                // due in the period are all spent.
                bucket.refill(now.min(send_end));
                let n = bucket.take((BATCH - core.send.len()) as u32);
                for _ in 0..n {
                    core.start(sock, plan, now);
                }
                sent_until = now.min(send_end);
                pacing = sending || n > 0;
            } else if core.outstanding == 0 || now >= send_end + timing.wait_ns {
                break;
            }
            if !core.send.is_empty() {
                core.counters.send_errors += core.send.flush(sock);
            }
            let mut got = 0;
            loop {
                // A receive error other than "nothing waiting" ends this round of reads; the
                // transactions it concerned time out and count as lost.
                let n = self.recv.recv(sock).unwrap_or_default();
                if n == 0 {
                    break;
                }
                got += n;
                let at = now_ns();
                for i in 0..n {
                    core.handle(sock, plan, self.recv.packet(i), at);
                }
                if !core.send.is_empty() {
                    core.counters.send_errors += core.send.flush(sock);
                }
                if n < BATCH {
                    break;
                }
            }
            let now = now_ns();
            core.expire(now);
            if got == 0 {
                let mut nap = 1_000_000u64;
                if sending {
                    nap = nap
                        .min(bucket.ns_until(min_batch))
                        .min(send_end - now.min(send_end));
                }
                if let Some(p) = core.pending.front() {
                    nap = nap.min(p.deadline_ns.saturating_sub(now));
                }
                if nap > 20_000 {
                    net::wait(sock, libc::POLLIN, nap);
                }
            }
        }
        core.expire(u64::MAX);
        WorkerResult {
            counters: core.counters.clone(),
            latencies: core.latencies.clone(),
            servers: core.servers.clone(),
            send_s: (sent_until.max(t0) - t0) as f64 / 1e9,
            bound_clients: core.table.bound_count() as u64,
        }
    }
}

impl Core {
    /// Starts one transaction on the next idle client.
    fn start(&mut self, sock: &Socket, plan: &Plan, now: u64) {
        let len = self.table.len();
        let mut chosen = None;
        for _ in 0..len.min(8) {
            let slot = self.next_slot;
            self.next_slot = (self.next_slot + 1) % len.max(1);
            if self.table.get(slot).is_some_and(|c| c.phase == Phase::Idle) {
                chosen = Some(slot);
                break;
            }
        }
        let Some(slot) = chosen else {
            self.counters.busy_skips += 1;
            return;
        };
        let bound = self.table.get(slot).is_some_and(|c| c.bound);
        let draw = self.rng.next_u64();
        let phase = match scenario::action(plan.scenario, &plan.mix, bound, draw) {
            Action::Solicit => Phase::Soliciting,
            Action::RapidSolicit => Phase::RapidSoliciting,
            Action::Renew => Phase::Renewing,
            Action::Release => Phase::Releasing,
        };
        self.counters.started += 1;
        self.send_msg(sock, plan, slot, phase, now);
    }

    /// Builds and queues the message that puts client `slot` into `phase`.
    fn send_msg(&mut self, sock: &Socket, plan: &Plan, slot: usize, phase: Phase, now: u64) {
        let index = self.table.index_of(slot);
        let Some(kind) = phase.kind() else { return };
        let Some(c) = self.table.get_mut(slot) else {
            return;
        };
        c.generation = c.generation.wrapping_add(1);
        // A new transaction (anything but the Request that follows an Advertise) ends the
        // Solicit a further Advertise could belong to.
        if phase != Phase::Requesting {
            c.advertised = false;
        }
        let msg_type = match phase {
            Phase::Soliciting | Phase::RapidSoliciting | Phase::Idle => MessageType::Solicit,
            Phase::Requesting => MessageType::Request,
            Phase::Renewing => MessageType::Renew,
            Phase::Releasing => MessageType::Release,
        };
        let mut duid = [0u8; DUID_LEN_MAX];
        let duid_len = plan.population.duid(index, &mut duid);
        let server_id = match msg_type {
            MessageType::Solicit => None,
            _ => self.servers.duid(c.server),
        };
        let solicit = msg_type == MessageType::Solicit;
        let m = ClientMessage {
            msg_type,
            xid: plan.xids.xid(index, c.generation),
            client_id: &duid[..duid_len],
            server_id,
            ia: plan.ia,
            addr: if solicit { None } else { c.addr },
            prefix: if solicit { None } else { c.prefix },
            rapid_commit: phase == Phase::RapidSoliciting,
        };
        let relay = plan.relay.map(|r| RelayHeader {
            link: r.link(index),
            peer: plan.population.link_local(index),
        });
        if self.send.is_full() {
            self.counters.send_errors += self.send.flush(sock);
        }
        let Some(buf) = self.send.next_buf() else {
            return;
        };
        let Ok(n) = messages::emit(&m, relay.as_ref(), buf) else {
            self.counters.send_errors += 1;
            return;
        };
        self.send.commit(n);
        c.phase = phase;
        c.sent_ns = now;
        self.counters.sent[kind as usize] += 1;
        self.outstanding += 1;
        self.pending.push_back(Pending {
            slot: slot as u32,
            sent_ns: now,
            deadline_ns: now.saturating_add(self.wait_ns),
        });
    }

    /// Handles one datagram received at `now`.
    fn handle(&mut self, sock: &Socket, plan: &Plan, packet: &[u8], now: u64) {
        let Ok(a) = answers::parse(packet) else {
            self.counters.malformed += 1;
            return;
        };
        let (index, _) = plan.xids.split(a.xid);
        let Some(slot) = self.table.slot_of(index) else {
            self.counters.unexpected += 1;
            return;
        };
        let server = a.server_id.map(|sid| {
            let s = self.servers.slot(sid);
            self.servers.count(s, a.msg_type == MessageType::Advertise);
            s
        });
        for code in a.statuses() {
            self.counters.count_status(code);
        }
        let Some(c) = self.table.get(slot).copied() else {
            return;
        };
        if a.msg_type == MessageType::Advertise && second_advertise(&plan.xids, &c, a.xid) {
            self.counters.extra_advertise += 1;
            return;
        }
        if c.phase == Phase::Idle || !plan.xids.same_generation(a.xid, c.generation) {
            self.counters.late += 1;
            return;
        }
        let kind = match (c.phase, a.msg_type) {
            (Phase::Soliciting, MessageType::Advertise) => Kind::SolicitAdvertise,
            // A server without Rapid Commit answers with an Advertise (RFC 8415 §18.3.1):
            // timed as Solicit → Advertise, and the exchange goes on with a Request.
            (Phase::RapidSoliciting, MessageType::Advertise) => Kind::SolicitAdvertise,
            (Phase::RapidSoliciting, MessageType::Reply) => Kind::RapidCommit,
            (Phase::Requesting, MessageType::Reply) => Kind::RequestReply,
            (Phase::Renewing, MessageType::Reply) => Kind::RenewReply,
            (Phase::Releasing, MessageType::Reply) => Kind::ReleaseReply,
            _ => {
                self.counters.unexpected += 1;
                return;
            }
        };
        let Some(kind_sent) = c.phase.kind() else {
            return;
        };
        self.latencies.record(kind, now.saturating_sub(c.sent_ns));
        self.counters.received[kind_sent as usize] += 1;
        self.outstanding = self.outstanding.saturating_sub(1);
        let complete = (!plan.ia.na() || a.addr.is_some()) && (!plan.ia.pd() || a.prefix.is_some());
        let Some(cm) = self.table.get_mut(slot) else {
            return;
        };
        cm.phase = Phase::Idle;
        match kind {
            Kind::SolicitAdvertise => {
                // The first Advertise is taken (RFC 8415 §18.2.1 lets a client request from
                // the first acceptable one); any other server's for this Solicit is ignored.
                cm.advertised = true;
                if let (true, Some(s)) = (complete, server) {
                    cm.addr = a.addr;
                    cm.prefix = a.prefix;
                    cm.server = s;
                    self.servers.win(s);
                    self.send_msg(sock, plan, slot, Phase::Requesting, now);
                }
            }
            Kind::RequestReply | Kind::RapidCommit => {
                if complete && a.status.is_none_or(|s| s == StatusCode::Success) {
                    take_leases(cm, &a, server);
                    self.counters.bound += 1;
                } else {
                    cm.unbind();
                }
            }
            Kind::RenewReply => {
                if a.statuses().any(|s| s == StatusCode::NoBinding) || !complete {
                    cm.unbind();
                } else {
                    take_leases(cm, &a, server);
                }
            }
            Kind::ReleaseReply => cm.unbind(),
        }
    }

    /// Ends every transaction whose wait is over at `now` (all of them for `u64::MAX`).
    fn expire(&mut self, now: u64) {
        while let Some(p) = self.pending.front().copied() {
            if p.deadline_ns > now && now != u64::MAX {
                break;
            }
            self.pending.pop_front();
            let Some(c) = self.table.get_mut(p.slot as usize) else {
                continue;
            };
            if c.phase == Phase::Idle || c.sent_ns != p.sent_ns {
                continue;
            }
            if let Some(kind) = c.phase.kind() {
                self.counters.lost[kind as usize] += 1;
            }
            c.phase = Phase::Idle;
            self.outstanding = self.outstanding.saturating_sub(1);
        }
    }
}

/// Whether an Advertise with `xid` is a further one for client `c`'s last Solicit, whose first
/// Advertise the client already took: that Solicit's generation is the client's current one
/// (no Request followed) or the one before (the Request took the next). An Advertise never
/// answers a Request, so accepting both cannot swallow an answer to the current transaction.
fn second_advertise(xids: &XidMap, c: &crate::client::Client, xid: tandem_wire::Xid) -> bool {
    c.advertised
        && (xids.same_generation(xid, c.generation)
            || xids.same_generation(xid, c.generation.wrapping_sub(1)))
}

fn take_leases(c: &mut crate::client::Client, a: &Answer<'_>, server: Option<u8>) {
    c.bound = true;
    c.addr = a.addr.or(c.addr);
    c.prefix = a.prefix.or(c.prefix);
    if let Some(s) = server {
        c.server = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_cycle_through_link_addresses() {
        let r = RelayPlan {
            base: "2001:db8:1::ff:0".parse().unwrap(),
            count: 256,
        };
        assert_eq!(r.link(0), "2001:db8:1::ff:0".parse::<Ipv6Addr>().unwrap());
        assert_eq!(r.link(257), "2001:db8:1::ff:1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            r.link(255),
            "2001:db8:1::ff:ff".parse::<Ipv6Addr>().unwrap()
        );
        let one = RelayPlan { count: 0, ..r };
        assert_eq!(one.link(99), r.base);
    }
}

#[cfg(test)]
#[path = "worker_pair_tests.rs"]
mod pair_tests;
