//! The control thread: one mio event loop that owns every failover relationship, their partner
//! sessions (TCP + STARTTLS + TLS), their timers and their stored state, and talks to the
//! workers over bounded queues (design: "a separate control thread maintains partner TCP
//! sessions and batches lazy updates"; RFC 8156 §6–§8).
//!
//! Nothing here touches a lease: partner updates go to the worker that owns the client's shard,
//! and workers send their changes here. Many updates are written into one TLS record stream per
//! loop turn, so a burst of grants costs the partner link few syscalls.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use tandem_ebpf_common::shard_of;
use tandem_engine::partner;
use tandem_failover::binding::{
    decode_bndreply, decode_bndupd, encode_bndreply, reject_reply, reply_encoded_len,
    BindingUpdate, UpdateKey,
};
use tandem_failover::{
    Alarm, Millis, Now, Relationship, RelationshipEvent as Event, Role, ServerState,
};
use tandem_wire::failover::FailoverMessage;
use tandem_wire::{MessageType, OptionCode, Xid};
use tracing::{debug, error, info, warn};

use super::messages::{ToControl, ToWorker};
use super::operator::{self, PartnerDownRequests};
use super::session::{Session, SessionError};
use super::setup::RelSetup;
use super::state_file;
use super::status::{FailoverStatus, RelStatus};
use crate::worker::wake;

const WAKER: Token = Token(0);
const LISTENER_BASE: usize = 1;
const SESSION_BASE: usize = 1 << 20;
/// Longest a session may take from TCP connect to the failover stream (STARTTLS + TLS).
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// Longest an orderly stop waits for DISCONNECTs to go out.
const STOP_LIMIT: Duration = Duration::from_secs(6);
/// How often the primary re-examines the prefix split in NORMAL (RFC 8156 §4.2.2: "whenever
/// the number of delegable prefixes of either side moves"; the threshold keeps it quiet).
const REBALANCE_EVERY: Millis = Millis(30_000);

/// How the control thread reaches one worker.
#[derive(Clone)]
pub(crate) struct WorkerLink {
    pub(crate) tx: Sender<ToWorker>,
    pub(crate) wake: Arc<OwnedFd>,
}

/// Everything the control thread is started with.
pub(crate) struct ControlSetup {
    pub(crate) rels: Vec<RelSetup>,
    pub(crate) state_dir: PathBuf,
    pub(crate) workers: Vec<WorkerLink>,
    pub(crate) inbox: Receiver<ToControl>,
    pub(crate) poll: Poll,
    pub(crate) shutdown: Arc<AtomicBool>,
    pub(crate) status: Arc<Mutex<FailoverStatus>>,
    /// The operator's "partner down" (SIGUSR1, the control API's `failover-partner-down`).
    pub(crate) partner_down: Arc<PartnerDownRequests>,
    /// Every pool of the configuration.
    pub(crate) pools: Vec<tandem_lease::PoolDef>,
}

/// The waker workers use after queueing a [`ToControl`]: registered on `poll` as token 0.
pub(crate) fn waker(poll: &Poll) -> io::Result<Arc<Waker>> {
    Waker::new(poll.registry(), WAKER).map(Arc::new)
}

/// What a session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Primary: our connection for relationship `.0`.
    Dial(usize),
    /// Secondary: accepted; the relationship is chosen by the CONNECT's name (R7).
    Accepted(Option<usize>),
    /// Secondary: a stimulus connection, closed as soon as it is up (R13).
    Stimulus,
}

struct Slot {
    session: Session,
    purpose: Purpose,
    ready: bool,
    opened: Instant,
}

struct Rel {
    setup: RelSetup,
    rel: Relationship<BindingUpdate>,
    state_path: PathBuf,
    /// A Persist that failed to reach the disk; retried every turn (R20: no STATE before it).
    unpersisted: Option<tandem_failover::PersistedState>,
    /// The running collection: its epoch and how many workers have not finished.
    collecting: Option<(u64, usize)>,
    /// The partner's half of the pools in PARTNER-DOWN (RFC 8156 §8.4.1; OPEN-2).
    partner_half: PartnerHalf,
    /// The primary's next prefix rebalancing (RFC 8156 §4.2.2), while NORMAL.
    rebalance_at: Option<Millis>,
}

/// Where opening the partner's half stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PartnerHalf {
    Closed,
    /// Asking every worker what it has bound: epoch, workers left, what they said.
    Collecting(u64, usize, Vec<tandem_lease::Resource>),
    Open,
}

/// The control thread (module doc).
pub(crate) struct Control {
    /// Every pool (routing of top-level IAPREFIX updates to the shard of their slice).
    pools: Vec<tandem_lease::PoolDef>,
    poll: Poll,
    rels: Vec<Rel>,
    listeners: Vec<(SocketAddr, TcpListener)>,
    slots: HashMap<usize, Slot>,
    next_slot: usize,
    workers: Vec<WorkerLink>,
    inbox: Receiver<ToControl>,
    shutdown: Arc<AtomicBool>,
    status: Arc<Mutex<FailoverStatus>>,
    partner_down: Arc<PartnerDownRequests>,
    started: Instant,
    epoch: u64,
    buf: Vec<u8>,
    /// Messages to workers that found a full queue; retried every turn, in order.
    backlog: Vec<(usize, ToWorker)>,
}

impl Control {
    /// Binds the listeners and loads every relationship's stored state (STARTUP, RFC 8156
    /// §8.3). Errors name the address or the file.
    pub(crate) fn new(s: ControlSetup) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut listeners: Vec<(SocketAddr, TcpListener)> = Vec::new();
        for r in &s.rels {
            if listeners.iter().any(|(a, _)| *a == r.listen) {
                continue;
            }
            let mut l = TcpListener::bind(r.listen)
                .map_err(|e| anyhow::anyhow!("failover listener {}: {e}", r.listen))?;
            let token = Token(LISTENER_BASE + listeners.len());
            s.poll
                .registry()
                .register(&mut l, token, Interest::READABLE)?;
            info!(listen = %r.listen, "failover listener bound");
            listeners.push((r.listen, l));
        }
        let mut control = Self {
            pools: s.pools,
            poll: s.poll,
            rels: Vec::new(),
            listeners,
            slots: HashMap::new(),
            next_slot: SESSION_BASE,
            workers: s.workers,
            inbox: s.inbox,
            shutdown: s.shutdown,
            status: s.status,
            partner_down: s.partner_down,
            started,
            epoch: 0,
            buf: vec![0u8; 65_537],
            backlog: Vec::new(),
        };
        let now = control.now();
        for setup in s.rels {
            let state_path = state_file::path(&s.state_dir, &setup.name);
            let stored = state_file::load(&state_path)?;
            info!(
                relationship = %setup.name,
                role = ?setup.role(),
                stored = ?stored.map(|p| p.current),
                "failover relationship starting"
            );
            let rel = Relationship::new(setup.config.clone(), stored.as_ref(), now)
                .map_err(|e| anyhow::anyhow!("relationship {:?}: {e}", setup.name))?;
            control.rels.push(Rel {
                setup,
                rel,
                state_path,
                unpersisted: None,
                collecting: None,
                partner_half: PartnerHalf::Closed,
                rebalance_at: None,
            });
        }
        control.publish_status();
        Ok(control)
    }

    /// Runs until shutdown, then sends DISCONNECT on every relationship (after flushing its
    /// updates, R21) and returns.
    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        let mut stop_deadline: Option<Instant> = None;
        loop {
            let now = self.now();
            if self.shutdown.load(Ordering::Relaxed) && stop_deadline.is_none() {
                stop_deadline = Some(Instant::now() + STOP_LIMIT);
                for r in &mut self.rels {
                    r.rel.handle_shutdown(now);
                }
            }
            self.turn(now);
            if let Some(d) = stop_deadline {
                let open = self.slots.values().any(|s| s.ready);
                if !open || Instant::now() >= d {
                    info!("control thread stopped");
                    return Ok(());
                }
            }
            let timeout = self.poll_timeout(now);
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = self.now();
            for ev in &events {
                match ev.token() {
                    WAKER => {}
                    Token(t) if t >= SESSION_BASE => self.on_session(now, t),
                    Token(t) => self.on_listener(now, t - LISTENER_BASE),
                }
            }
        }
    }

    /// Everything that does not wait for a socket: worker messages, timers, relationship output.
    fn turn(&mut self, now: Now) {
        for requested in self.partner_down.take() {
            for r in &mut self.rels {
                if operator::covers(requested.as_deref(), &r.setup.name) {
                    info!(relationship = %r.setup.name, state = %r.rel.state().0, "operator: partner down");
                    r.rel.handle_partner_down(now);
                }
            }
        }
        self.retry_backlog();
        while let Ok(msg) = self.inbox.try_recv() {
            self.on_worker(now, msg);
        }
        for i in 0..self.rels.len() {
            if self.rels[i]
                .rel
                .poll_timeout()
                .is_some_and(|t| t <= now.mono)
            {
                self.rels[i].rel.handle_timeout(now);
            }
            self.retry_persist(now, i);
            self.partner_half(now, i);
            self.rebalance(now, i);
        }
        self.expire_handshakes(now);
        for i in 0..self.rels.len() {
            self.pump(now, i);
        }
        self.publish_status();
    }

    /// Drains relationship `i`: bytes to its session, events to their handlers, until quiet.
    fn pump(&mut self, now: Now, i: usize) {
        for _ in 0..64 {
            let mut moved = false;
            while let Some(n) = self.rels[i].rel.poll_transmit(now, &mut self.buf) {
                moved = true;
                let bytes = self.buf[..n].to_vec();
                match self.slot_of(i) {
                    Some(k) => {
                        if let Some(s) = self.slots.get_mut(&k) {
                            if let Err(e) = s.session.send(&bytes) {
                                debug!(error = %e, "partner send failed");
                            }
                        }
                    }
                    None => debug!("failover message with no session dropped"),
                }
            }
            while let Some(ev) = self.rels[i].rel.poll_event() {
                moved = true;
                self.on_rel_event(now, i, ev);
            }
            if !moved {
                break;
            }
        }
        if let Some(k) = self.slot_of(i) {
            self.drive_slot(now, k);
        }
    }

    fn on_rel_event(&mut self, now: Now, i: usize, ev: Event<UpdateKey, BindingUpdate>) {
        let name = self.rels[i].setup.name.clone();
        match ev {
            Event::Connect => self.dial(now, i, false),
            Event::Stimulate => self.dial(now, i, true),
            Event::Close => {
                if let Some(k) = self.slot_of(i) {
                    self.close_slot(k);
                }
                self.rels[i].rel.handle_closed(now);
            }
            Event::Persist(p) => {
                self.rels[i].unpersisted = Some(p);
                self.retry_persist(now, i);
            }
            Event::StateChanged { state, since } => {
                info!(relationship = %name, state = %state, since = since.0, "failover state");
                self.broadcast_view();
                self.rels[i].rebalance_at = (state == ServerState::Normal).then_some(now.mono);
            }
            Event::PartnerState(p) => {
                debug!(relationship = %name, partner = %p.state, "partner state");
            }
            Event::BindingUpdate { xid, frame } => self.on_partner_update(now, i, xid, &frame),
            Event::BindingReply { settled, frame } => {
                let Ok(msg) = FailoverMessage::new_checked(&frame) else {
                    return;
                };
                match decode_bndreply(&msg) {
                    Ok(reply) => {
                        // A client update with a rejection stays parked; a refused prefix
                        // hand-over comes back with its update (its refusal is final).
                        let Some(sent) = settled.update else {
                            debug!(relationship = %name, "partner rejected an update");
                            return;
                        };
                        let worker = self.worker_of_key(&settled.key);
                        self.send_to_worker(
                            worker,
                            ToWorker::Acked {
                                rel: i,
                                reply,
                                sent,
                            },
                        );
                    }
                    Err(e) => {
                        warn!(relationship = %name, error = %e, "undecodable BNDREPLY");
                        self.rels[i].rel.handle_protocol_error(now);
                    }
                }
            }
            Event::CollectUpdates { all } => {
                self.epoch += 1;
                let epoch = self.epoch;
                self.rels[i].collecting = Some((epoch, self.workers.len()));
                for w in 0..self.workers.len() {
                    self.send_to_worker(w, ToWorker::Collect { rel: i, all, epoch });
                }
                if self.workers.is_empty() {
                    self.rels[i].rel.handle_collected(now);
                }
            }
            Event::PoolMessage { msg_type, .. } => {
                debug!(relationship = %name, msg_type, "pool message");
                if MessageType::from(msg_type) == MessageType::PoolReq {
                    // POOLRESP went out; the hand-overs follow as BNDUPDs (§4.2.2).
                    self.rels[i].rebalance_at = Some(now.mono);
                }
            }
            Event::Alarm(a) => match a {
                Alarm::CommunicationsInterrupted => error!(
                    relationship = %name,
                    message_id = "TANDEM_FO_COMMS_INTERRUPTED",
                    "failover partner unreachable: COMMUNICATIONS-INTERRUPTED; existing clients \
                     are renewed within the MCLT, new ones from our own half of the pools"
                ),
                Alarm::ResolutionInterrupted => error!(
                    relationship = %name,
                    message_id = "TANDEM_FO_RESOLUTION_INTERRUPTED",
                    "failover conflict resolution interrupted: RESOLUTION-INTERRUPTED"
                ),
                Alarm::UpdateGivenUp => warn!(
                    relationship = %name,
                    message_id = "TANDEM_FO_UPDATE_GIVEN_UP",
                    "the partner rejected a binding update three times; it is re-sent with the \
                     next update request"
                ),
                Alarm::UpdatesUnacked => warn!(
                    relationship = %name,
                    message_id = "TANDEM_FO_UPDATES_UNACKED",
                    "the partner left binding updates unanswered too long; reconnecting"
                ),
                _ => warn!(relationship = %name, alarm = ?a, "failover alarm"),
            },
            Event::PeerError(e) => {
                warn!(relationship = %name, error = %e, "failover partner error")
            }
            _ => {}
        }
    }

    /// A partner BNDUPD: decoded here, applied by the worker owning the client (RFC 8156 §7.5).
    fn on_partner_update(&mut self, now: Now, i: usize, xid: Xid, frame: &[u8]) {
        let Ok(msg) = FailoverMessage::new_checked(frame) else {
            return self.rels[i].rel.handle_protocol_error(now);
        };
        match decode_bndupd(&msg) {
            Ok(update) => {
                let worker = self.worker_of_key(&update.key());
                self.send_to_worker(
                    worker,
                    ToWorker::Apply {
                        rel: i,
                        xid,
                        update,
                    },
                );
            }
            Err(e) => match e.status_code() {
                Some(status) => {
                    debug!(error = %e, "BNDUPD refused");
                    let reply = reject_reply(&msg, status);
                    self.send_reply(now, i, xid, &reply);
                }
                None => {
                    warn!(relationship = %self.rels[i].setup.name, error = %e, "malformed BNDUPD");
                    self.rels[i].rel.handle_protocol_error(now);
                }
            },
        }
    }

    fn send_reply(
        &mut self,
        now: Now,
        i: usize,
        xid: Xid,
        reply: &tandem_failover::binding::BindingReply,
    ) {
        let mut buf = vec![0u8; reply_encoded_len(reply)];
        match encode_bndreply(reply, xid, now.wall, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                self.rels[i].rel.send_reply(now, buf.into_boxed_slice());
            }
            Err(e) => warn!(error = %e, "cannot encode BNDREPLY"),
        }
    }

    fn on_worker(&mut self, now: Now, msg: ToControl) {
        match msg {
            ToControl::Update { rel, update } => {
                if let Some(r) = self.rels.get_mut(rel) {
                    r.rel.queue_update(now, update);
                }
            }
            ToControl::Applied { rel, xid, reply } => {
                if rel < self.rels.len() {
                    if !reply.has_rejection() {
                        if let Some(key) = reply.key() {
                            self.rels[rel].rel.forget_update(&key);
                        }
                    }
                    self.send_reply(now, rel, xid, &reply);
                }
            }
            ToControl::Collected { rel, epoch } => {
                let Some(r) = self.rels.get_mut(rel) else {
                    return;
                };
                if let Some((e, left)) = &mut r.collecting {
                    if *e == epoch {
                        *left = left.saturating_sub(1);
                        if *left == 0 {
                            r.collecting = None;
                            r.rel.handle_collected(now);
                        }
                    }
                }
            }
            ToControl::Bound {
                rel,
                epoch,
                resources,
            } => self.on_bound(rel, epoch, resources),
            ToControl::Cross(note) => {
                let (resource, bound) = (note.resource, note.bound);
                self.send_to_worker(note.owner as usize, ToWorker::Cross { resource, bound });
            }
            ToControl::Resync { rel } => {
                if rel < self.rels.len() {
                    self.on_rel_event(now, rel, Event::CollectUpdates { all: false });
                }
            }
        }
    }

    /// OPEN-2: MCLT after entering PARTNER-DOWN, the partner's half of the pools opens for
    /// new clients once ours is exhausted; anything bound in any shard stays excluded. It
    /// closes when PARTNER-DOWN ends (RFC 8156 §8.4.1).
    fn partner_half(&mut self, now: Now, i: usize) {
        let (state, since) = self.rels[i].rel.state();
        let mclt = i64::from(self.rels[i].rel.mclt_s());
        let due = state == ServerState::PartnerDown && i64::from(now.wall.since(since)) >= mclt;
        match (&self.rels[i].partner_half, due) {
            (PartnerHalf::Closed, true) => {
                self.epoch += 1;
                let epoch = self.epoch;
                self.rels[i].partner_half =
                    PartnerHalf::Collecting(epoch, self.workers.len(), Vec::new());
                info!(relationship = %self.rels[i].setup.name, "PARTNER-DOWN for the MCLT: opening the partner's half of the pools");
                for w in 0..self.workers.len() {
                    self.send_to_worker(w, ToWorker::BoundIn { rel: i, epoch });
                }
            }
            (PartnerHalf::Collecting(..) | PartnerHalf::Open, false) => {
                self.rels[i].partner_half = PartnerHalf::Closed;
                for w in 0..self.workers.len() {
                    self.send_to_worker(
                        w,
                        ToWorker::PartnerHalf {
                            rel: i,
                            elsewhere: None,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    fn on_bound(&mut self, rel: usize, epoch: u64, resources: Vec<tandem_lease::Resource>) {
        let Some(r) = self.rels.get_mut(rel) else {
            return;
        };
        let PartnerHalf::Collecting(e, left, acc) = &mut r.partner_half else {
            return;
        };
        if *e != epoch {
            return;
        }
        acc.extend(resources);
        *left = left.saturating_sub(1);
        if *left > 0 {
            return;
        }
        let list = Arc::new(std::mem::take(acc));
        r.partner_half = PartnerHalf::Open;
        for w in 0..self.workers.len() {
            self.send_to_worker(
                w,
                ToWorker::PartnerHalf {
                    rel,
                    elsewhere: Some(list.clone()),
                },
            );
        }
    }

    // ---- sessions --------------------------------------------------------------------------

    fn dial(&mut self, now: Now, i: usize, stimulus: bool) {
        let setup = &self.rels[i].setup;
        let tls = if stimulus { None } else { setup.tls.clone() };
        let purpose = if stimulus {
            Purpose::Stimulus
        } else {
            Purpose::Dial(i)
        };
        match Session::dial(setup.partner, tls) {
            Ok(session) => {
                self.add_slot(session, purpose);
            }
            Err(e) => {
                debug!(partner = %setup.partner, error = %e, "dial failed at once");
                if !stimulus {
                    let _ = self.rels[i].rel.handle_connect_failed(now);
                }
            }
        }
    }

    fn on_listener(&mut self, now: Now, l: usize) {
        loop {
            let Some((addr, listener)) = self.listeners.get(l) else {
                return;
            };
            let local = *addr;
            let (stream, peer) = match listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    warn!(error = %e, "failover accept failed");
                    return;
                }
            };
            let ip = peer.ip();
            let secondary = self.rels.iter().position(|r| {
                r.setup.role() == Role::Secondary
                    && same_ip(r.setup.partner.ip(), ip)
                    && r.setup.listen == local
            });
            let primary = self
                .rels
                .iter()
                .position(|r| r.setup.role() == Role::Primary && same_ip(r.setup.partner.ip(), ip));
            match (secondary, primary) {
                (Some(i), _) => {
                    let tls = self.rels[i].setup.tls.clone();
                    let session = Session::accepted(stream, peer, tls);
                    self.add_slot(session, Purpose::Accepted(None));
                }
                (None, Some(i)) => {
                    // The partner prompts us to dial (seed draft; R13, R14); the connection
                    // itself carries nothing.
                    drop(stream);
                    let _ = self.rels[i].rel.handle_stimulus(now);
                    self.pump(now, i);
                }
                (None, None) => {
                    // R12: only configured partners may connect.
                    warn!(peer = %peer, "failover connection from an unknown address refused");
                }
            }
        }
    }

    fn add_slot(&mut self, mut session: Session, purpose: Purpose) -> usize {
        let k = self.next_slot;
        self.next_slot += 1;
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self
            .poll
            .registry()
            .register(session.stream_mut(), Token(k), interest)
        {
            warn!(error = %e, "cannot register a partner session");
        }
        self.slots.insert(
            k,
            Slot {
                session,
                purpose,
                ready: false,
                opened: Instant::now(),
            },
        );
        k
    }

    fn on_session(&mut self, now: Now, k: usize) {
        self.drive_slot(now, k);
        if let Some(i) = self.slots.get(&k).and_then(|s| rel_of(s.purpose)) {
            self.pump(now, i);
        }
    }

    /// Drives one session: readiness, data to its relationship, errors to the right handler.
    fn drive_slot(&mut self, now: Now, k: usize) {
        let Some(slot) = self.slots.get_mut(&k) else {
            return;
        };
        let outcome = slot.session.drive();
        match outcome {
            Err(e) => self.slot_failed(now, k, &e),
            Ok(p) => {
                if p.ready {
                    slot.ready = true;
                    match slot.purpose {
                        Purpose::Dial(i) => {
                            let _ = self.rels[i].rel.handle_connected(now);
                        }
                        Purpose::Stimulus => return self.close_slot(k),
                        Purpose::Accepted(_) => {}
                    }
                }
                if p.data {
                    self.deliver(now, k);
                }
                self.reregister(k);
            }
        }
    }

    /// Stream bytes from a session to its relationship; an accepted session first picks its
    /// relationship from the CONNECT's name (R7).
    fn deliver(&mut self, now: Now, k: usize) {
        let Some(slot) = self.slots.get_mut(&k) else {
            return;
        };
        let i = match slot.purpose {
            Purpose::Dial(i) | Purpose::Accepted(Some(i)) => i,
            Purpose::Stimulus => return,
            Purpose::Accepted(None) => {
                let peer = slot.session.peer().ip();
                let Some(name) = connect_name(slot.session.received()) else {
                    return; // CONNECT not complete yet
                };
                let chosen = self.rels.iter().position(|r| {
                    r.setup.role() == Role::Secondary
                        && same_ip(r.setup.partner.ip(), peer)
                        && match &name {
                            Some(n) => r.setup.name.as_bytes() == n.as_slice(),
                            None => true,
                        }
                });
                let Some(i) = chosen else {
                    warn!(peer = %peer, "CONNECT names no relationship we have with this partner");
                    return self.close_slot(k);
                };
                if self.rels[i].rel.handle_accepted(now).is_err() {
                    debug!(relationship = %self.rels[i].setup.name, "partner connection refused: one is in use");
                    return self.close_slot(k);
                }
                if let Some(s) = self.slots.get_mut(&k) {
                    s.purpose = Purpose::Accepted(Some(i));
                }
                i
            }
        };
        let Some(slot) = self.slots.get_mut(&k) else {
            return;
        };
        let data = std::mem::take(slot.session.received());
        self.rels[i].rel.handle_data(now, &data);
    }

    fn slot_failed(&mut self, now: Now, k: usize, e: &SessionError) {
        let Some(slot) = self.slots.get(&k) else {
            return;
        };
        let (purpose, ready, peer) = (slot.purpose, slot.ready, slot.session.peer());
        self.close_slot(k);
        match purpose {
            Purpose::Dial(i) if !ready => {
                debug!(partner = %peer, error = %e, "partner connection failed");
                let _ = self.rels[i].rel.handle_connect_failed(now);
            }
            Purpose::Dial(i) | Purpose::Accepted(Some(i)) => {
                info!(relationship = %self.rels[i].setup.name, error = %e, "partner connection closed");
                self.rels[i].rel.handle_closed(now);
            }
            Purpose::Accepted(None) => {
                warn!(peer = %peer, error = %e, "partner connection refused before CONNECT");
            }
            Purpose::Stimulus => {}
        }
    }

    fn close_slot(&mut self, k: usize) {
        if let Some(mut slot) = self.slots.remove(&k) {
            let _ = slot.session.drive();
            let _ = self.poll.registry().deregister(slot.session.stream_mut());
        }
    }

    fn reregister(&mut self, k: usize) {
        if let Some(slot) = self.slots.get_mut(&k) {
            let interest = if slot.session.wants_write() {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let _ = self
                .poll
                .registry()
                .reregister(slot.session.stream_mut(), Token(k), interest);
        }
    }

    fn expire_handshakes(&mut self, now: Now) {
        let late: Vec<usize> = self
            .slots
            .iter()
            .filter(|(_, s)| !s.ready && s.opened.elapsed() > HANDSHAKE_LIMIT)
            .map(|(k, _)| *k)
            .collect();
        for k in late {
            let e = SessionError::Protocol("no STARTTLS exchange or TLS handshake in 10 s");
            self.slot_failed(now, k, &e);
        }
    }

    fn slot_of(&self, i: usize) -> Option<usize> {
        self.slots
            .iter()
            .find(|(_, s)| rel_of(s.purpose) == Some(i))
            .map(|(k, _)| *k)
    }

    // ---- workers, persistence, status ------------------------------------------------------

    fn worker_of_key(&self, key: &UpdateKey) -> usize {
        let n = u32::try_from(self.workers.len().max(1)).unwrap_or(1);
        let shard = match key {
            UpdateKey::Client(duid) => shard_of(duid, n),
            // A delegable prefix not bound to a client: the shard whose pool slice holds it
            // keeps its FREE-BACKUP record (RFC 8156 §4.2.2). Outside every pool: any worker
            // answers ConfigurationConflict.
            UpdateKey::Prefix(addr, len) => {
                let r = tandem_lease::Resource::prefix(*addr, *len);
                tandem_lease::prefix_slice_of(&self.pools, &r, n).unwrap_or(0)
            }
            _ => 0,
        };
        shard as usize
    }

    /// The primary's prefix rebalancing, due after POOLREQ, on entering NORMAL and every
    /// [`REBALANCE_EVERY`] in NORMAL (RFC 8156 §4.2.2; R43, R44).
    fn rebalance(&mut self, now: Now, i: usize) {
        let r = &mut self.rels[i];
        if r.setup.role() != Role::Primary || r.rel.state().0 != ServerState::Normal {
            r.rebalance_at = None;
            return;
        }
        let due = r
            .rebalance_at
            .get_or_insert(now.mono.add_ms(REBALANCE_EVERY.0));
        if now.mono < *due {
            return;
        }
        *due = now.mono.add_ms(REBALANCE_EVERY.0);
        let target = r.setup.share;
        for w in 0..self.workers.len() {
            self.send_to_worker(w, ToWorker::Rebalance { rel: i, target });
        }
    }

    fn send_to_worker(&mut self, w: usize, msg: ToWorker) {
        if !self.backlog.is_empty() {
            self.backlog.push((w, msg));
            return;
        }
        self.try_send(w, msg);
    }

    fn try_send(&mut self, w: usize, msg: ToWorker) {
        let Some(link) = self.workers.get(w) else {
            return;
        };
        match link.tx.try_send(msg) {
            Ok(()) => wake(&link.wake),
            Err(TrySendError::Full(m)) => {
                wake(&link.wake);
                self.backlog.push((w, m));
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn retry_backlog(&mut self) {
        let pending = std::mem::take(&mut self.backlog);
        let mut iter = pending.into_iter();
        while let Some((w, msg)) = iter.next() {
            self.try_send(w, msg);
            if !self.backlog.is_empty() {
                // Keep the order: everything after the first refusal waits too.
                self.backlog.extend(iter);
                return;
            }
        }
    }

    fn retry_persist(&mut self, now: Now, i: usize) {
        let Some(p) = self.rels[i].unpersisted else {
            return;
        };
        match state_file::store(&self.rels[i].state_path, &p) {
            Ok(()) => {
                self.rels[i].unpersisted = None;
                self.rels[i].rel.handle_persisted(now);
            }
            Err(e) => error!(
                path = %self.rels[i].state_path.display(),
                error = %e,
                "cannot store the failover state; STATE is held back until it is stored"
            ),
        }
    }

    fn broadcast_view(&mut self) {
        let view = Arc::new(self.view());
        for w in 0..self.workers.len() {
            self.send_to_worker(w, ToWorker::View(view.clone()));
        }
    }

    /// The workers' view: per relationship its role, state, MCLT and subnets.
    fn view(&self) -> super::view::View {
        super::view::build(self.rels.iter().map(|r| (&r.setup, &r.rel)))
    }

    fn publish_status(&self) {
        let rels = self
            .rels
            .iter()
            .map(|r| {
                let (state, since) = r.rel.state();
                let (q, waiting, in_flight, parked) = r.rel.queue_status();
                RelStatus {
                    name: r.setup.name.clone(),
                    role: r.rel.role(),
                    state,
                    since,
                    partner: r.rel.partner_state().map(|p| p.state),
                    connected: r.rel.is_established(),
                    mclt_s: r.rel.mclt_s(),
                    skew_s: r.rel.skew_s(),
                    partner_down_time: r.rel.partner_down_time(),
                    queued: waiting as u64,
                    unacked: in_flight as u64,
                    parked: parked as u64,
                    sent: q.sent,
                    acked: q.acked,
                    rejected: q.rejected,
                    received: r.rel.stats().updates_received,
                }
            })
            .collect();
        if let Ok(mut s) = self.status.lock() {
            s.relationships = rels;
        }
    }

    fn poll_timeout(&self, now: Now) -> Duration {
        let next = self.rels.iter().filter_map(|r| r.rel.poll_timeout()).min();
        let ms = next
            .map_or(1_000, |t| t.0.saturating_sub(now.mono.0))
            .min(1_000);
        let pending = !self.backlog.is_empty() || self.rels.iter().any(|r| r.unpersisted.is_some());
        Duration::from_millis(if pending { ms.min(10) } else { ms })
    }

    fn now(&self) -> Now {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Now {
            mono: Millis(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)),
            wall: partner::fo_time(unix).unwrap_or_default(),
        }
    }
}

fn rel_of(p: Purpose) -> Option<usize> {
    match p {
        Purpose::Dial(i) | Purpose::Accepted(Some(i)) => Some(i),
        _ => None,
    }
}

/// IPv4-mapped and plain forms of one address compare equal.
fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The relationship name of the CONNECT at the start of `stream`: `Some(Some(name))`,
/// `Some(None)` when it carries none (the only relationship, notes §1.6), `None` while the first
/// message is incomplete or is no CONNECT (the endpoint then refuses it).
fn connect_name(stream: &[u8]) -> Option<Option<Vec<u8>>> {
    let [a, b, rest @ ..] = stream else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([*a, *b]));
    let body = rest.get(..len)?;
    let msg = FailoverMessage::new_checked(body).ok()?;
    if msg.msg_type() != MessageType::Connect {
        return Some(None);
    }
    Some(
        msg.options()
            .find(OptionCode::FRelationshipName)
            .map(<[u8]>::to_vec),
    )
}
