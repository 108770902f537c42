//! One failover relationship, whole: the connection [`Endpoint`], the §8 state machine with
//! STARTUP and persistence, the lazy-update queue, and the UPDREQ / UPDREQALL / UPDDONE
//! exchanges of recovery and conflict resolution (RFC 8156 §4.3, §7, §8; protocol notes
//! §1.11–§1.14; R19–R21, R27, R28, R32, R37, R47–R57).
//!
//! Sans-IO like the rest of the crate: the shell moves bytes, stores what [`Event::Persist`]
//! gives it, applies binding updates to its lease store, and passes the time into every call.
//! Call order after any `handle_*` call: drain [`Relationship::poll_transmit`], then
//! [`Relationship::poll_event`], then sleep until [`Relationship::poll_timeout`].
//!
//! Decisions (recorded here and in the README):
//! * **Persist before announcing (R20).** A state change emits [`Event::Persist`]; STATE goes
//!   to the partner only after [`Relationship::handle_persisted`], so a crash between the two
//!   never lets the partner believe a state we would not restart in.
//! * **Who sends BNDUPDs.** Lazy updates flow in NORMAL, CONFLICT-DONE, RECOVER-DONE and
//!   PARTNER-DOWN; in every state while answering the partner's UPDREQ / UPDREQALL. Never from
//!   STARTUP, RECOVER or RECOVER-WAIT unasked: our data may be the stale side there.
//! * **Serving during a resync.** The responder of an UPDREQALL keeps its state (PARTNER-DOWN
//!   keeps serving clients); only the requester is unresponsive, as §8 demands.
//! * **UPDDONE** answers a request only when the collection is complete and the queue is idle:
//!   every BNDUPD sent got its BNDREPLY (R52).
//! * **RECOVER-WAIT** ends MCLT after the time of failure from STARTUP (or the time we started,
//!   when unknown), or at once when the partner's STATE shows it never talked to us (C flag
//!   clear: we never ran failover with it).
//! * **Shutdown (R21)** waits up to [`SHUTDOWN_FLUSH`] for outstanding updates, then sends
//!   DISCONNECT.

use std::collections::VecDeque;

use tandem_wire::Xid;

use crate::config::{Config, LocalState};
use crate::connection::Endpoint;
use crate::error::{ApiMisuse, Error};
use crate::lazy::{LazyUpdate, Pushed, QueueStats, Settled, UpdateQueue};
use crate::startup::{startup, startup_timer_expired, PersistedState};
use crate::state::{Role, ServerState};
use crate::time::FoTime;
use crate::timer::{Millis, Now};
use crate::transition::{Event as FsmEvent, PartnerState, UpdateRequest};

/// Longest wait for outstanding BNDREPLYs before DISCONNECT on shutdown (R21).
pub const SHUTDOWN_FLUSH: Millis = Millis(5_000);

/// How often the last operating time is persisted (TIME-OF-FAILURE of §8.3 after a crash).
pub const OPERATING_TIME_INTERVAL: Millis = Millis(60_000);

/// Everything one relationship needs besides the connection parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipConfig {
    /// Connection parameters (role, name, MCLT, keepalive, …).
    pub connection: Config,
    /// STARTUP timer (RFC 8156 §8.3 step 3).
    pub startup_timer: Millis,
    /// Auto-partner-down ("safe period") after entering COMMUNICATIONS-INTERRUPTED; `None`
    /// (the default) = only the operator declares the partner down (R55).
    pub auto_partner_down: Option<Millis>,
    /// RECOVER: drop the connection when neither UPDDONE nor a BNDUPD arrived for this long.
    pub update_request_timeout: Millis,
    /// Interval of the lazy pass that offers rejected updates once more (R37).
    pub lazy_pass_interval: Millis,
    /// Go to PARTNER-DOWN when the STARTUP timer ends and the partner was never reached
    /// (commissioning a lone server; §8.3 step 1). Off by default.
    pub commission_partner_down: bool,
    /// Most keys waiting in the lazy-update queue.
    pub queue_capacity: usize,
    /// How long sent BNDUPDs may go without any BNDREPLY before the connection is dropped.
    pub unacked_limit: Millis,
}

impl RelationshipConfig {
    /// Defaults: STARTUP 10 s, no auto-partner-down, 60 s UPDDONE wait, 30 s lazy pass,
    /// no commissioning, 65,536 queued keys, 60 s for unanswered BNDUPDs.
    pub fn new(connection: Config) -> Self {
        Self {
            connection,
            startup_timer: Millis(10_000),
            auto_partner_down: None,
            update_request_timeout: Millis(60_000),
            lazy_pass_interval: Millis(30_000),
            commission_partner_down: false,
            queue_capacity: 65_536,
            unacked_limit: Millis(60_000),
        }
    }
}

/// Operator-visible alarms (R57).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Alarm {
    /// NORMAL → COMMUNICATIONS-INTERRUPTED: the partner is unreachable.
    CommunicationsInterrupted,
    /// POTENTIAL-CONFLICT → RESOLUTION-INTERRUPTED: conflict resolution could not finish.
    ResolutionInterrupted,
    /// The partner rejected an update [`crate::lazy::MAX_ATTEMPTS`] times.
    UpdateGivenUp,
    /// BNDUPDs went unanswered for [`RelationshipConfig::unacked_limit`]: the connection is
    /// dropped and the updates go again on the next one (RFC 8156 §8 allows COMMUNICATIONS-
    /// INTERRUPTED for this).
    UpdatesUnacked,
}

/// What the shell must do or learn.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<K, U> {
    /// Primary: dial the partner, then `handle_connected` / `handle_connect_failed`.
    Connect,
    /// Secondary: prompt the primary with an empty connection (R13).
    Stimulate,
    /// Close the connection after writing what `poll_transmit` returned; then `handle_closed`.
    Close,
    /// Store this durably, then call [`Relationship::handle_persisted`] (R20, R50).
    Persist(PersistedState),
    /// Our state changed: update what the workers answer (R47).
    StateChanged {
        /// The new state.
        state: ServerState,
        /// When it was entered.
        since: FoTime,
    },
    /// The partner's STATE (at comms OK or later).
    PartnerState(PartnerState),
    /// A BNDUPD arrived: decode it, apply it, and once the result is durable send the BNDREPLY
    /// through [`Relationship::send_reply`] (RFC 8156 §7.5, §7.6; R31).
    BindingUpdate {
        /// Its xid (the BNDREPLY echoes it).
        xid: Xid,
        /// The message without its length prefix.
        frame: Box<[u8]>,
    },
    /// A BNDREPLY settled one of our updates: record the acks it carries (RFC 8156 §7.7).
    BindingReply {
        /// Which update, whether any part was rejected, and the update when accepted.
        settled: Settled<K, U>,
        /// The message without its length prefix.
        frame: Box<[u8]>,
    },
    /// Queue bindings with [`Relationship::queue_update`]: those whose "partner must be told"
    /// flag is set, or all of them when `all`; then call [`Relationship::handle_collected`]
    /// (entering NORMAL, UPDREQ, UPDREQALL, queue overflow; R28, R52).
    CollectUpdates {
        /// UPDREQALL: every binding, not only the flagged ones.
        all: bool,
    },
    /// POOLREQ or POOLRESP (proportional prefix allocation, §4.2.2).
    PoolMessage {
        /// 26 = POOLREQ, 27 = POOLRESP.
        msg_type: u8,
        /// Its xid.
        xid: Xid,
    },
    /// Raise an operator alarm (R57).
    Alarm(Alarm),
    /// The partner broke the protocol or cannot work with us.
    PeerError(Error),
}

/// Our pending UPDREQ / UPDREQALL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Requested {
    xid: Xid,
    kind: UpdateRequest,
}

/// The partner's UPDREQ / UPDREQALL we are answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answering {
    xid: Xid,
    collected: bool,
}

/// The relationship's own timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Startup = 0,
    RecoverWait = 1,
    AutoPartnerDown = 2,
    UpdateRequest = 3,
    LazyPass = 4,
    OperatingTime = 5,
    ShutdownFlush = 6,
    /// BNDUPDs sent and no BNDREPLY for this long (RFC 8156 §8, NORMAL: "MAY").
    Unacked = 7,
}

/// Counters for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelationshipStats {
    /// BNDUPDs received.
    pub updates_received: u64,
    /// BNDREPLYs sent.
    pub replies_sent: u64,
    /// BNDREPLYs or UPDDONEs with an xid we never sent (ignored).
    pub unmatched: u64,
    /// State changes.
    pub state_changes: u64,
}

/// One relationship (module doc).
#[derive(Debug)]
pub struct Relationship<U: LazyUpdate> {
    cfg: RelationshipConfig,
    role: Role,
    endpoint: Endpoint,
    state: ServerState,
    since: FoTime,
    previous: Option<ServerState>,
    /// STARTUP's PREVIOUS-STATE and TIME-OF-FAILURE (§8.3.1).
    startup_previous: ServerState,
    time_of_failure: Option<FoTime>,
    started: FoTime,
    partner: Option<PartnerState>,
    partner_since: FoTime,
    last_heard: Option<FoTime>,
    /// We have a stored record of talking to this partner (the C flag we send).
    communicated: bool,
    ever_reached: bool,
    partner_down_time: Option<FoTime>,
    queue: UpdateQueue<U>,
    requested: Option<Requested>,
    answering: Option<Answering>,
    /// BNDREPLY, UPDREQ, UPDDONE frames to write, framed.
    outbox: VecDeque<Box<[u8]>>,
    /// A state change waits for `handle_persisted` before STATE goes out.
    unannounced: bool,
    /// A secondary that entered NORMAL sends POOLREQ once its STATE is out (§8, NORMAL
    /// entry actions; §4.2.2).
    pool_request_due: bool,
    shutting_down: bool,
    timers: [Option<Millis>; 8],
    events: VecDeque<Event<U::Key, U>>,
    stats: RelationshipStats,
    /// `given_up` count already alarmed.
    alarmed_given_up: u64,
    /// Connected while the partner was in STARTUP: its next STATE is the comms-OK event.
    comms_ok_pending: bool,
    /// Whether we had a record of the partner when this connection came up.
    record_at_connect: bool,
    /// The C flag of the partner's first STATE on this connection: false means we never
    /// ran failover with it (RECOVER-WAIT then ends at once, §8.6).
    partner_knew_us: bool,
    /// RECOVER must ask with UPDREQALL: nothing was stored, a recovery was under way when we
    /// stopped, or an UPDREQALL has not been answered with UPDDONE yet.
    resync_all: bool,
}

impl<U: LazyUpdate> Relationship<U> {
    /// Starts in STARTUP (RFC 8156 §8.3): `persisted` is what the last run stored (`None`
    /// after first start or lost storage). The STARTUP timer runs; the primary dials.
    pub fn new(
        cfg: RelationshipConfig,
        persisted: Option<&PersistedState>,
        now: Now,
    ) -> Result<Self, ApiMisuse> {
        let role = cfg.connection.role;
        let (startup_previous, tof) = startup(persisted, role);
        let communicated = persisted.is_some_and(|p| p.partner.is_some());
        let local = LocalState {
            state: startup_previous,
            flags: drive::flags(true, communicated),
            start_time: now.wall,
            partner_down_time: None,
        };
        let endpoint = Endpoint::new(cfg.connection.clone(), local)?;
        let mut r = Self {
            role,
            endpoint,
            state: ServerState::Startup,
            since: now.wall,
            previous: persisted.map(|p| p.current),
            startup_previous,
            time_of_failure: (tof != FoTime(0)).then_some(tof),
            started: now.wall,
            partner: None,
            partner_since: persisted.map_or(FoTime(0), |p| p.partner_since),
            last_heard: persisted.and_then(|p| p.last_heard_from_partner),
            communicated,
            ever_reached: false,
            partner_down_time: None,
            queue: UpdateQueue::new(cfg.queue_capacity),
            requested: None,
            answering: None,
            outbox: VecDeque::new(),
            unannounced: false,
            pool_request_due: false,
            shutting_down: false,
            timers: [None; 8],
            events: VecDeque::new(),
            stats: RelationshipStats::default(),
            alarmed_given_up: 0,
            comms_ok_pending: false,
            record_at_connect: false,
            partner_knew_us: true,
            resync_all: persisted.is_none_or(|p| {
                p.current == ServerState::Recover
                    || (p.current == ServerState::Startup
                        && p.previous == Some(ServerState::Recover))
            }),
            cfg,
        };
        r.set(Timer::Startup, now.mono.add_ms(r.cfg.startup_timer.0));
        r.set(Timer::LazyPass, now.mono.add_ms(r.cfg.lazy_pass_interval.0));
        r.set(Timer::OperatingTime, now.mono);
        r.pump(now);
        Ok(r)
    }

    // ---- connection I/O, passed to the endpoint ------------------------------------------

    /// Primary: the TCP (and TLS) connection is up.
    pub fn handle_connected(&mut self, now: Now) -> Result<(), ApiMisuse> {
        self.endpoint.handle_connected(now)?;
        self.pump(now);
        Ok(())
    }

    /// Primary: dialling failed.
    pub fn handle_connect_failed(&mut self, now: Now) -> Result<(), ApiMisuse> {
        self.endpoint.handle_connect_failed(now)?;
        self.pump(now);
        Ok(())
    }

    /// Secondary: the partner dialled in (after the shell's address and certificate checks).
    pub fn handle_accepted(&mut self, now: Now) -> Result<(), ApiMisuse> {
        self.endpoint.handle_accepted(now)?;
        self.pump(now);
        Ok(())
    }

    /// Primary: the partner opened a connection to prompt us (R13, R14).
    pub fn handle_stimulus(&mut self, now: Now) -> Result<bool, ApiMisuse> {
        let dial = self.endpoint.handle_stimulus(now)?;
        self.pump(now);
        Ok(dial)
    }

    /// The connection closed.
    pub fn handle_closed(&mut self, now: Now) {
        self.endpoint.handle_closed(now);
        self.pump(now);
    }

    /// Bytes from the partner.
    pub fn handle_data(&mut self, now: Now, data: &[u8]) {
        self.endpoint.handle_data(now, data);
        self.pump(now);
    }

    // ---- the shell's answers ---------------------------------------------------------------

    /// The last [`Event::Persist`] is on stable storage: STATE may now announce it (R20).
    pub fn handle_persisted(&mut self, now: Now) {
        if std::mem::take(&mut self.unannounced) {
            let local = self.local_state();
            self.endpoint.handle_local_state(now, local);
        }
        if self.state == ServerState::Normal && std::mem::take(&mut self.pool_request_due) {
            self.request_pool(now);
        }
        self.pump(now);
    }

    /// A binding changed (after the client got its reply; R27): tell the partner lazily.
    /// While stopping, a [`LazyUpdate::deferrable`] update is not queued (it goes on the next
    /// connection) and this says [`Pushed::Queued`].
    pub fn queue_update(&mut self, now: Now, update: U) -> Pushed {
        if self.shutting_down && update.deferrable() {
            return Pushed::Queued;
        }
        let pushed = self.queue.push(update);
        self.pump(now);
        pushed
    }

    /// Every binding asked for by [`Event::CollectUpdates`] is queued.
    pub fn handle_collected(&mut self, now: Now) {
        if let Some(a) = &mut self.answering {
            a.collected = true;
        }
        self.pump(now);
    }

    /// The partner's binding data for this key was accepted here: a rejected update of ours
    /// for it is stale (RFC 8156 §7.5).
    pub fn forget_update(&mut self, key: &U::Key) {
        self.queue.forget(key);
    }

    /// The BNDREPLY for a received BNDUPD, framed (length prefix included), once the applied
    /// update is durable (R31). Dropped when the connection is gone: the partner resends.
    pub fn send_reply(&mut self, now: Now, frame: Box<[u8]>) {
        if self.endpoint.is_established() {
            self.outbox.push_back(frame);
            self.stats.replies_sent += 1;
        }
        self.pump(now);
    }

    /// The partner sent something we cannot answer (a BNDUPD or BNDREPLY that does not
    /// decode): drop the connection; the primary redials (RFC 8156 §6; R4).
    pub fn handle_protocol_error(&mut self, now: Now) {
        self.endpoint.handle_abort(now);
        self.pump(now);
    }

    /// The operator declares the partner down (RFC 8156 §8; R54).
    pub fn handle_partner_down(&mut self, now: Now) {
        self.fsm(now, FsmEvent::OperatorPartnerDown);
        self.pump(now);
    }

    /// Orderly shutdown: send and get acknowledged every queued update (up to
    /// [`SHUTDOWN_FLUSH`]), then DISCONNECT (R21).
    pub fn handle_shutdown(&mut self, now: Now) {
        self.shutting_down = true;
        self.queue.drop_deferrable();
        self.set(Timer::ShutdownFlush, now.mono.add_ms(SHUTDOWN_FLUSH.0));
        self.pump(now);
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Now) {
        self.endpoint.handle_timeout(now);
        if self.take(Timer::Startup, now) && self.state == ServerState::Startup {
            let next = startup_timer_expired(
                self.startup_previous,
                self.cfg.commission_partner_down,
                self.ever_reached || self.communicated,
            );
            self.enter(now, next);
        }
        if self.take(Timer::RecoverWait, now) {
            self.fsm(now, FsmEvent::RecoverWaitElapsed);
        }
        if self.take(Timer::AutoPartnerDown, now) {
            self.fsm(now, FsmEvent::AutoPartnerDownTimer);
        }
        if self.take(Timer::UpdateRequest, now) && self.requested.is_some() {
            self.fsm(now, FsmEvent::UpdDoneTimeout);
        }
        if self.take(Timer::LazyPass, now) {
            self.queue.next_pass();
            self.set(
                Timer::LazyPass,
                now.mono.add_ms(self.cfg.lazy_pass_interval.0),
            );
        }
        if self.take(Timer::OperatingTime, now) {
            self.persist(now);
            self.set(
                Timer::OperatingTime,
                now.mono.add_ms(OPERATING_TIME_INTERVAL.0),
            );
        }
        if self.take(Timer::Unacked, now) && self.queue.in_flight_len() > 0 {
            tracing::warn!(
                unacked = self.queue.in_flight_len(),
                "binding updates unanswered too long; dropping the partner connection"
            );
            self.events.push_back(Event::Alarm(Alarm::UpdatesUnacked));
            self.endpoint.handle_abort(now);
        }
        if self.take(Timer::ShutdownFlush, now) && self.shutting_down {
            self.endpoint.handle_shutdown(now);
        }
        self.pump(now);
    }

    // ---- output ----------------------------------------------------------------------------

    /// The next framed message to write into `buf` (at least [`Relationship::buffer_len`]
    /// octets for control messages, or the update's own `encoded_len`), or `None`.
    pub fn poll_transmit(&mut self, now: Now, buf: &mut [u8]) -> Option<usize> {
        if let Some(n) = self.endpoint.poll_transmit(now, buf) {
            // A closing message releases the endpoint's Close event.
            self.pump(now);
            return Some(n);
        }
        if !self.endpoint.is_established() {
            return None;
        }
        if let Some(frame) = self.outbox.front() {
            let out = buf.get_mut(..frame.len())?;
            out.copy_from_slice(frame);
            let n = frame.len();
            self.outbox.pop_front();
            self.endpoint.note_sent(now);
            return Some(n);
        }
        if !self.may_send_updates() {
            return None;
        }
        let window = self.window();
        let queue = &self.queue;
        let xid = self.endpoint.alloc_xid(|x| queue.is_outstanding(x));
        let update = self.queue.next_sendable(window)?;
        match update.encode(xid, now.wall, buf) {
            Some(n) => {
                self.queue.sent(window, xid);
                self.endpoint.note_sent(now);
                if self.timers[Timer::Unacked as usize].is_none() {
                    self.set(Timer::Unacked, now.mono.add_ms(self.cfg.unacked_limit.0));
                }
                Some(n)
            }
            None => {
                self.queue.drop_unencodable(window);
                None
            }
        }
    }

    /// The next event for the shell.
    pub fn poll_event(&mut self) -> Option<Event<U::Key, U>> {
        self.events.pop_front()
    }

    /// When [`Relationship::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let own = self.timers.iter().flatten().min().copied();
        match (own, self.endpoint.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A `poll_transmit` buffer of this many octets suffices for every control message.
    pub fn buffer_len(&self) -> usize {
        self.endpoint.buffer_len()
    }

    // ---- status ----------------------------------------------------------------------------

    /// Our state and when it was entered.
    pub fn state(&self) -> (ServerState, FoTime) {
        (self.state, self.since)
    }

    /// The partner's last reported state, if comms were ever OK in this run.
    pub fn partner_state(&self) -> Option<PartnerState> {
        self.partner
    }

    /// Comms OK.
    pub fn is_established(&self) -> bool {
        self.endpoint.is_established()
    }

    /// The MCLT in force (the primary's).
    pub fn mclt_s(&self) -> u32 {
        self.endpoint.mclt_s()
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Averaged partner clock skew (R25).
    pub fn skew_s(&self) -> Option<i32> {
        self.endpoint.skew_s()
    }

    /// When PARTNER-DOWN was entered, while in it.
    pub fn partner_down_time(&self) -> Option<FoTime> {
        self.partner_down_time
    }

    /// Lazy-update queue counters and sizes: (stats, waiting, in flight, parked).
    pub fn queue_status(&self) -> (QueueStats, usize, usize, usize) {
        (
            self.queue.stats(),
            self.queue.pending_len(),
            self.queue.in_flight_len(),
            self.queue.parked_len(),
        )
    }

    /// Relationship counters.
    pub fn stats(&self) -> RelationshipStats {
        self.stats
    }
}

mod drive;

#[cfg(test)]
mod tests;
