//! One simulated tandem server: the real engine and lease shard, the real failover
//! `Relationship`, and the same glue between them that tandemd's workers use
//! (`tandem_engine::partner`). Storage is modelled as what was committed: the journal of lease
//! changes and the last persisted relationship state; a crash loses everything else.

use std::net::{Ipv6Addr, SocketAddrV6};

use tandem_engine::policy::{Policy, SubnetId};
use tandem_engine::{partner, Engine, FailoverView, RelationshipView, RxMeta, REPLY_LEN_MAX};
use tandem_failover::binding::{
    decode_bndreply, decode_bndupd, encode_bndreply, reject_reply, reply_encoded_len, BindingUpdate,
};
use tandem_failover::{
    Millis, Now, PersistedState, Relationship, RelationshipConfig, RelationshipEvent as Event, Role,
};
use tandem_lease::{LeaseChange, Shard, ShareTarget};
use tandem_wire::failover::FailoverMessage;

use crate::faults::CrashPoint;
use crate::link::{Arrival, Link};
use crate::rng::Rng;

/// Unix time of simulated millisecond 0.
pub const T0_UNIX: u64 = 1_800_000_000;
/// The interface index both servers see the client link on.
pub const LINK_IF: u32 = 2;

/// The secondary's share of the delegable prefixes and the rebalancing threshold (half of the
/// 16 /56s, moved when off by more than two).
const SHARE: ShareTarget = ShareTarget {
    share_permille: 500,
    threshold_permille: 125,
};

/// How often the primary re-examines the split in NORMAL (tandemd's period).
const REBALANCE_EVERY_MS: u64 = 30_000;

/// What one commit changed that the partner must hear about.
#[derive(Debug, Default)]
struct Changed {
    clients: Vec<Box<[u8]>>,
    prefixes: Vec<tandem_lease::Resource>,
}

/// One server (module doc).
pub struct Server {
    pub id: usize,
    pub role: Role,
    pub alive: bool,
    pub skew_s: i64,
    cfg: RelationshipConfig,
    policy: Policy,
    pub engine: Engine,
    pub shard: Shard,
    pub rel: Relationship<BindingUpdate>,
    /// Durable: every committed lease change, in order.
    pub journal: Vec<LeaseChange>,
    /// Durable: the last persisted relationship state.
    pub stored: Option<PersistedState>,
    /// The partner connection this server has, if any.
    pub conn: Option<u64>,
    /// An armed crash: strikes at the next commit (or at once for `Idle`).
    pub crash_at: Option<CrashPoint>,
    /// `SIM_TRACE` is set: print every client message and committed change to stderr.
    trace: bool,
    /// A bug planted on purpose (the checks must catch it).
    pub plant: Option<crate::world::Plant>,
    /// In order since the last `take_acks`: addresses this server's own changes touched
    /// (`None` DUID), and items it acknowledged to its partner (DUID, ACTIVE until Unix s, or
    /// `None` for another status).
    acks: Vec<((Ipv6Addr, u8), Option<AckedBinding>)>,
    /// The primary's next prefix rebalancing (§4.2.2), while NORMAL.
    rebalance_at: Option<u64>,
    /// FREE-BACKUP delegations counted by shards before the last restart.
    delegated_before: u64,
    out: Vec<u8>,
    buf: Vec<u8>,
}

/// A binding acknowledged to the partner: its client, and until when it is ACTIVE (`None` for
/// another status).
type AckedBinding = (Vec<u8>, Option<u64>);

/// The server died at its armed crash point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crashed;

impl Server {
    /// A fresh server with empty storage, started at `ms`.
    pub fn new(id: usize, cfg: RelationshipConfig, policy: Policy, skew_s: i64, ms: u64) -> Self {
        let engine = build_engine(&policy);
        let shard = Shard::new(0, 1, engine.pool_defs(), engine.reserved());
        let role = cfg.connection.role;
        let mut s = Self {
            id,
            role,
            alive: true,
            skew_s,
            rel: Relationship::new(cfg.clone(), None, Now::default())
                .expect("simulator relationship config is valid"),
            cfg,
            policy,
            engine,
            shard,
            journal: Vec::new(),
            stored: None,
            conn: None,
            crash_at: None,
            plant: None,
            trace: std::env::var_os("SIM_TRACE").is_some(),
            acks: Vec::new(),
            rebalance_at: None,
            delegated_before: 0,
            out: vec![0; REPLY_LEN_MAX],
            buf: vec![0; 65_537],
        };
        s.restart(ms, false);
        s
    }

    /// Unix seconds on this server's clock at simulated `ms`.
    pub fn unix(&self, ms: u64) -> u64 {
        (T0_UNIX + ms / 1000).saturating_add_signed(self.skew_s)
    }

    /// The relationship's time arguments at simulated `ms`.
    pub fn now(&self, ms: u64) -> Now {
        Now {
            mono: Millis(ms),
            wall: partner::fo_time(self.unix(ms)).unwrap_or_default(),
        }
    }

    /// (Re)starts from storage: the shard replays the journal, the relationship reads its state
    /// (STARTUP, RFC 8156 §8.3). `wipe` loses the storage first.
    pub fn restart(&mut self, ms: u64, wipe: bool) {
        if wipe {
            self.journal.clear();
            self.stored = None;
        }
        self.engine = build_engine(&self.policy);
        self.delegated_before += self.shard.delegated_from_share();
        let mut shard = Shard::new(0, 1, self.engine.pool_defs(), self.engine.reserved());
        for c in &self.journal {
            shard.apply_replayed(c.clone());
        }
        self.shard = shard;
        let now = self.now(ms);
        self.rel = Relationship::new(self.cfg.clone(), self.stored.as_ref(), now)
            .expect("simulator relationship config is valid");
        self.conn = None;
        self.alive = true;
        self.crash_at = None;
        self.rebalance_at = None;
        self.set_view();
        // Configuring the shard may free what no partner will ack; that is durable at once.
        let _ = self.commit();
    }

    /// Dies: volatile state is gone; the link sees the connection reset.
    pub fn crash(&mut self, ms: u64, link: &mut Link) {
        if let Some(c) = self.conn.take() {
            link.close(ms, self.id, c);
        }
        self.alive = false;
    }

    /// Moves the shard's changes to storage, unless the armed crash strikes first; returns the
    /// DUIDs of the clients whose bindings changed and the prefixes whose hand-over started.
    fn commit(&mut self) -> Result<Changed, Crashed> {
        let changes: Vec<LeaseChange> = self.shard.drain_changes().collect();
        if self.crash_at == Some(CrashPoint::BeforeWrite) && !changes.is_empty() {
            return Err(Crashed);
        }
        // Durable from here on: our own newer data supersedes what we acked before.
        for c in &changes {
            let r = match c {
                LeaseChange::Upsert(l) => l.resource,
                LeaseChange::Remove(r) => *r,
                _ => continue,
            };
            self.acks.push(((r.addr, r.prefix_len), None));
        }
        if self.crash_at == Some(CrashPoint::AfterWrite) && !changes.is_empty() {
            self.journal.extend(changes);
            return Err(Crashed);
        }
        let changed = Changed {
            clients: partner::changed_clients(&changes),
            prefixes: partner::changed_prefixes(&changes).collect(),
        };
        if self.trace {
            for c in &changes {
                match c {
                    LeaseChange::Upsert(l) => eprintln!(
                        "   s{} upsert {} {:02x?} {:?} exp {} tell {}",
                        self.id,
                        l.resource.addr,
                        &l.duid[l.duid.len().saturating_sub(2)..],
                        l.state,
                        l.expires_at - T0_UNIX,
                        l.fo.tell_partner
                    ),
                    other => eprintln!("   s{} {other:?}", self.id),
                }
            }
        }
        self.journal.extend(changes);
        Ok(changed)
    }

    /// Queues a BNDUPD for each client whose bindings changed (lazy update, R27) and each
    /// prefix hand-over (RFC 8156 §4.2.2).
    fn tell_partner(&mut self, ms: u64, changed: Changed) {
        let now = self.now(ms);
        let now_unix = self.unix(ms);
        for duid in changed.clients {
            if let Some(u) = partner::client_update(&self.shard, &duid, now_unix) {
                self.rel.queue_update(now, u);
            }
        }
        for r in changed.prefixes {
            if let Some(u) = partner::share_update(&self.shard, &r, now_unix) {
                self.rel.queue_update(now, u);
            }
        }
    }

    /// The primary's prefix rebalancing, as tandemd's control thread schedules it: after
    /// POOLREQ, on entering NORMAL and every [`REBALANCE_EVERY_MS`] in NORMAL (§4.2.2).
    fn rebalance(&mut self, ms: u64) -> Result<(), Crashed> {
        let normal = self.rel.state().0 == tandem_failover::ServerState::Normal;
        if self.role != Role::Primary || !normal {
            self.rebalance_at = None;
            return Ok(());
        }
        if self.rebalance_at.is_some_and(|t| t > ms) {
            return Ok(());
        }
        self.rebalance_at = Some(ms + REBALANCE_EVERY_MS);
        // Unacknowledged hand-overs are not re-sent here (the queue keeps them; entering
        // NORMAL collects them), as in tandemd.
        self.shard.rebalance(&[1], SHARE, self.unix(ms));
        let changed = self.commit()?;
        self.tell_partner(ms, changed);
        Ok(())
    }

    /// A client's multicast packet. Returns the reply to deliver, if any.
    pub fn on_client(
        &mut self,
        ms: u64,
        src: SocketAddrV6,
        dst: Ipv6Addr,
        packet: &[u8],
    ) -> Result<Option<Vec<u8>>, Crashed> {
        let rx = RxMeta {
            ifindex: LINK_IF,
            src,
            dst,
        };
        let now_unix = self.unix(ms);
        let result = self
            .engine
            .handle(now_unix, &rx, packet, &mut self.shard, &mut self.out);
        if self.trace {
            let t = packet.first().copied().unwrap_or(0);
            eprintln!(
                "{ms} s{} client msg {t} -> {:?}",
                self.id,
                result.as_ref().map(|r| r.len)
            );
        }
        let changed = self.commit()?;
        self.tell_partner(ms, changed);
        Ok(result.ok().map(|r| self.out[..r.len].to_vec()))
    }

    /// Something arrived on the partner link.
    pub fn on_link(&mut self, ms: u64, a: Arrival) {
        let now = self.now(ms);
        match a {
            Arrival::Connected { conn } => {
                self.conn = Some(conn);
                let _ = self.rel.handle_connected(now);
            }
            Arrival::DialFailed => {
                let _ = self.rel.handle_connect_failed(now);
            }
            Arrival::Data { conn, bytes } if self.conn == Some(conn) => {
                self.rel.handle_data(now, &bytes);
            }
            Arrival::Closed { conn } if self.conn == Some(conn) => {
                self.conn = None;
                self.rel.handle_closed(now);
            }
            _ => {}
        }
    }

    /// The secondary accepts the primary's connection `conn`.
    pub fn accept(&mut self, ms: u64, conn: u64) -> bool {
        let now = self.now(ms);
        if self.rel.handle_accepted(now).is_ok() {
            self.conn = Some(conn);
            true
        } else {
            false
        }
    }

    /// Runs due timers and drains the relationship: bytes to the link, events handled.
    /// Returns whether the primary asked to dial.
    pub fn drive(&mut self, ms: u64, link: &mut Link, rng: &mut Rng) -> Result<bool, Crashed> {
        let now = self.now(ms);
        if self.rel.poll_timeout().is_some_and(|t| t <= now.mono) {
            self.rel.handle_timeout(now);
        }
        let mut dial = false;
        for _ in 0..1000 {
            let mut moved = false;
            while let Some(n) = self.rel.poll_transmit(now, &mut self.buf) {
                moved = true;
                if let Some(c) = self.conn {
                    link.send(ms, self.id, c, &self.buf[..n], rng);
                }
            }
            while let Some(ev) = self.rel.poll_event() {
                moved = true;
                dial |= self.on_event(ms, ev, link)?;
            }
            if !moved {
                break;
            }
        }
        Ok(dial)
    }

    fn on_event(
        &mut self,
        ms: u64,
        ev: Event<tandem_failover::binding::UpdateKey, BindingUpdate>,
        link: &mut Link,
    ) -> Result<bool, Crashed> {
        let now = self.now(ms);
        let now_unix = self.unix(ms);
        match ev {
            Event::Connect => return Ok(true),
            Event::Close => {
                if let Some(c) = self.conn.take() {
                    link.close(ms, self.id, c);
                }
                self.rel.handle_closed(now);
            }
            Event::Persist(p) => {
                self.stored = Some(p);
                self.rel.handle_persisted(now);
            }
            Event::StateChanged { state, .. } => {
                self.set_view();
                if state == tandem_failover::ServerState::Normal {
                    self.rebalance_at = Some(ms);
                }
            }
            Event::PoolMessage { msg_type: 26, .. } => self.rebalance_at = Some(ms),
            Event::BindingUpdate { xid, frame } => {
                let Ok(msg) = FailoverMessage::new_checked(&frame) else {
                    self.rel.handle_protocol_error(now);
                    return Ok(false);
                };
                let reply = match decode_bndupd(&msg) {
                    Ok(update) => {
                        let reply = {
                            let (state, _) = self.rel.state();
                            let recovering = (state == tandem_failover::ServerState::Recover)
                                .then(|| self.rel.mclt_s());
                            partner::apply_update(
                                &mut self.shard,
                                self.role,
                                now_unix,
                                &update,
                                recovering,
                            )
                        };
                        if !reply.has_rejection() {
                            self.rel.forget_update(&update.key());
                        }
                        reply
                    }
                    Err(e) => match e.status_code() {
                        Some(status) => reject_reply(&msg, status),
                        None => {
                            self.rel.handle_protocol_error(now);
                            return Ok(false);
                        }
                    },
                };
                // R31: the answer goes out only once the applied update is durable.
                self.commit()?;
                // What we acknowledge now must survive any crash from here on.
                if let Some(tandem_failover::binding::UpdateKey::Client(duid)) = reply.key() {
                    for a in reply.acked_items() {
                        let active = a.binding_status == tandem_failover::BindingStatus::Active;
                        let until = a
                            .state_expiration_time
                            .filter(|_| active)
                            .map(partner::unix_time);
                        self.acks
                            .push(((a.addr, a.prefix_len), Some((duid.to_vec(), until))));
                    }
                }
                let mut buf = vec![0u8; reply_encoded_len(&reply)];
                if let Ok(n) = encode_bndreply(&reply, xid, now.wall, &mut buf) {
                    buf.truncate(n);
                    self.rel.send_reply(now, buf.into_boxed_slice());
                }
            }
            Event::BindingReply { frame, settled } => {
                let Some(sent) = settled.update else {
                    return Ok(false);
                };
                if let Ok(msg) = FailoverMessage::new_checked(&frame) {
                    if let Ok(reply) = decode_bndreply(&msg) {
                        partner::apply_reply(&mut self.shard, &reply, &sent);
                        let changed = self.commit()?;
                        self.tell_partner(ms, changed);
                    }
                }
            }
            Event::CollectUpdates { all } => {
                if self.trace {
                    let n = partner::collect(&self.shard, None, all, now_unix).len();
                    eprintln!(
                        "{ms} s{} collect all={all}: {n} updates of {} leases, state {}",
                        self.id,
                        self.shard.len(),
                        self.rel.state().0
                    );
                }
                for u in partner::collect(&self.shard, None, all, now_unix) {
                    self.rel.queue_update(now, u);
                }
                self.rel.handle_collected(now);
            }
            _ => {}
        }
        Ok(false)
    }

    /// Periodic work: expiry and retention (freeing released or expired leases the partner
    /// acknowledged, or after MCLT in PARTNER-DOWN).
    pub fn tick(&mut self, ms: u64) -> Result<(), Crashed> {
        let now_unix = self.unix(ms);
        // OPEN-2, as tandemd's control thread does it: the partner's half opens MCLT after
        // entering PARTNER-DOWN and closes when PARTNER-DOWN ends (one shard: nothing is bound
        // elsewhere).
        let (state, since) = self.rel.state();
        let due = state == tandem_failover::ServerState::PartnerDown
            && i64::from(self.now(ms).wall.since(since)) >= i64::from(self.rel.mclt_s());
        match (due, self.shard.partner_half_open(1)) {
            (true, false) => self.shard.open_partner_half(1, &[]),
            (false, true) => self.shard.close_partner_half(1),
            _ => {}
        }
        partner::tick(&mut self.shard, &self.engine, now_unix);
        let changed = self.commit()?;
        self.tell_partner(ms, changed);
        self.rebalance(ms)
    }

    fn set_view(&mut self) {
        let (state, since) = self.rel.state();
        let mclt_s = match self.plant {
            // The planted bug: the engine is told an MCLT far above the real one.
            Some(crate::world::Plant::IgnoreMclt) => 1_000_000,
            None => self.rel.mclt_s(),
        };
        self.engine.set_failover(Some(FailoverView {
            relationships: vec![RelationshipView {
                role: self.role,
                state,
                mclt_s,
                entered_state_at: partner::unix_time(since),
                subnets: vec![SubnetId(1)],
            }],
        }));
        self.engine.configure_shard(&mut self.shard);
    }

    /// FREE-BACKUP prefixes this server delegated over the whole run (§4.2.2).
    pub fn delegated_from_share(&self) -> u64 {
        self.delegated_before + self.shard.delegated_from_share()
    }

    /// This server's DUID.
    pub fn server_duid(&self) -> &[u8] {
        &self.policy.server_duid
    }

    /// Moves what this server acknowledged into the ledger: it must keep it (R31).
    pub fn take_acks(&mut self, ledger: &mut crate::check::Ledger, _ms: u64) {
        for (addr, what) in self.acks.drain(..) {
            match what {
                Some((duid, Some(until))) => {
                    ledger.acked_by[self.id].insert(addr, (duid, until));
                }
                // Superseded: by our own newer (durable) change, or acked as not ACTIVE.
                _ => {
                    ledger.acked_by[self.id].remove(&addr);
                }
            }
        }
    }
}

fn build_engine(policy: &Policy) -> Engine {
    let mut e = Engine::new(policy.clone()).expect("simulator policy is valid");
    e.bind_interface("lan0", LINK_IF);
    e
}
