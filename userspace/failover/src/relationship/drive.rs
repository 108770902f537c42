//! The private machinery of [`Relationship`]: endpoint events into the §8 state machine,
//! state entry actions, UPDREQ / UPDDONE, persistence records and timers (RFC 8156 §6.3, §8).

use tandem_wire::failover::{FailoverMessage, FailoverTime, FailoverWriter, ServerFlags};
use tandem_wire::{MessageType, Xid};

use super::{Alarm, Answering, Event, Relationship, Requested, Timer};
use crate::config::LocalState;
use crate::connection::Event as ConnEvent;
use crate::lazy::LazyUpdate;
use crate::startup::{startup_comms_ok, PersistedState};
use crate::state::{Role, ServerState};
use crate::time::FoTime;
use crate::timer::{Millis, Now};
use crate::transition::{
    recover_wait_deadline, transition, Event as FsmEvent, PartnerState, Transition, UpdateRequest,
};

impl<U: LazyUpdate> Relationship<U> {
    /// Drains the endpoint's events into state-machine input, then does what became due.
    pub(super) fn pump(&mut self, now: Now) {
        while let Some(e) = self.endpoint.poll_event() {
            match e {
                ConnEvent::Connect => self.events.push_back(Event::Connect),
                ConnEvent::Stimulate => self.events.push_back(Event::Stimulate),
                ConnEvent::Close => self.events.push_back(Event::Close),
                ConnEvent::PeerError(err) => self.events.push_back(Event::PeerError(err)),
                ConnEvent::Disconnected { .. } => {}
                ConnEvent::Established { partner, since } => {
                    self.on_established(now, partner, since);
                }
                ConnEvent::PartnerState { partner, since } => {
                    self.heard(now, partner, since);
                    if self.comms_ok_pending && !partner.startup {
                        // The partner left STARTUP: this is our comms-OK moment (§8.3.2).
                        self.comms_ok_pending = false;
                        self.comms_ok(now, partner, since, self.record_at_connect);
                        continue;
                    }
                    self.fsm(now, FsmEvent::PartnerStateChanged(partner));
                    // §8 POTENTIAL-CONFLICT: the secondary asks once the primary is done.
                    if self.role == Role::Secondary
                        && self.state == ServerState::PotentialConflict
                        && partner.state == ServerState::ConflictDone
                        && self.requested.is_none()
                    {
                        self.request(now, UpdateRequest::UpdReq);
                    }
                }
                ConnEvent::CommunicationsFailed => {
                    self.comms_ok_pending = false;
                    self.stop(Timer::Unacked);
                    self.queue.requeue_in_flight();
                    self.outbox.clear();
                    self.answering = None;
                    // RECOVER re-issues its request after reconnecting (§8.5).
                    self.requested = None;
                    self.stop(Timer::UpdateRequest);
                    if self.state != ServerState::Startup {
                        self.fsm(now, FsmEvent::CommunicationsFailed);
                    }
                }
                ConnEvent::Message {
                    msg_type,
                    xid,
                    frame,
                } => self.on_message(now, msg_type, xid, frame),
            }
        }
        if self.queue.take_overflowed() && self.answering.is_none() {
            // The flags in the store are the truth: collect them again (R28).
            self.events.push_back(Event::CollectUpdates { all: false });
        }
        if let Some(a) = self.answering {
            if a.collected && self.queue.is_idle() && self.endpoint.is_established() {
                self.answering = None;
                self.push_frame(now, MessageType::UpdDone, a.xid);
            }
        }
        let flushed = self.queue.is_idle() && self.outbox.is_empty();
        if self.shutting_down && (flushed || !self.endpoint.is_established()) {
            self.stop(Timer::ShutdownFlush);
            self.endpoint.handle_shutdown(now);
            self.shutting_down = false;
            self.drain_endpoint_close();
        }
        let given_up = self.queue.stats().given_up;
        if given_up > self.alarmed_given_up {
            self.alarmed_given_up = given_up;
            self.events.push_back(Event::Alarm(Alarm::UpdateGivenUp));
        }
    }

    /// After `handle_shutdown` on the endpoint, move its Close into our events.
    fn drain_endpoint_close(&mut self) {
        while let Some(e) = self.endpoint.poll_event() {
            match e {
                ConnEvent::Close => self.events.push_back(Event::Close),
                ConnEvent::PeerError(err) => self.events.push_back(Event::PeerError(err)),
                _ => {}
            }
        }
    }

    fn heard(&mut self, now: Now, partner: PartnerState, since: FoTime) {
        self.partner = Some(partner);
        self.partner_since = since;
        self.last_heard = Some(now.wall);
        self.events.push_back(Event::PartnerState(partner));
    }

    /// Comms OK (RFC 8156 §6.3): leave STARTUP (§8.3.2) or take the comms-OK transition.
    pub(super) fn on_established(&mut self, now: Now, partner: PartnerState, since: FoTime) {
        self.heard(now, partner, since);
        let record = self.communicated;
        self.ever_reached = true;
        if !self.communicated {
            self.communicated = true;
            // The C flag and the partner record must survive a restart.
            self.persist(now);
        }
        self.record_at_connect = record;
        self.partner_knew_us = partner.communicated;
        if partner.startup {
            // A STATE with S carries the partner's previous state, not a real one (§8.3):
            // comms OK takes effect with its first STATE after STARTUP.
            self.comms_ok_pending = true;
            return;
        }
        self.comms_ok(now, partner, since, record);
    }

    /// `partner.communicated` is taken from the connection's first STATE: a C flag the
    /// partner set during this very connection says nothing about an earlier record of us.
    fn comms_ok(&mut self, now: Now, partner: PartnerState, since: FoTime, record: bool) {
        let partner = PartnerState {
            communicated: self.partner_knew_us,
            ..partner
        };
        if self.state == ServerState::Startup {
            return self.leave_startup(now, partner, since, record);
        }
        self.fsm(
            now,
            FsmEvent::CommunicationsOk {
                partner,
                local_record_of_partner: record,
            },
        );
    }

    /// STARTUP step 5 (RFC 8156 §8.3.2).
    fn leave_startup(&mut self, now: Now, partner: PartnerState, since: FoTime, record: bool) {
        let (state, t) = startup_comms_ok(
            self.role,
            self.startup_previous,
            self.time_of_failure.unwrap_or(FoTime(0)),
            partner,
            since,
            record,
        );
        self.stop(Timer::Startup);
        self.enter(now, state);
        self.apply(now, t);
    }

    pub(super) fn on_message(&mut self, now: Now, msg_type: u8, xid: Xid, frame: Box<[u8]>) {
        match MessageType::from(msg_type) {
            MessageType::BndUpd => {
                self.stats.updates_received += 1;
                if self.requested.is_some() {
                    // BNDUPDs are arriving: RECOVER keeps waiting (§8.5).
                    let wait = self.cfg.update_request_timeout.0;
                    self.set(Timer::UpdateRequest, now.mono.add_ms(wait));
                }
                self.events.push_back(Event::BindingUpdate { xid, frame });
            }
            MessageType::BndReply => {
                let rejected = FailoverMessage::new_checked(&frame)
                    .map(|m| U::is_rejection(&m))
                    .unwrap_or(true);
                match self.queue.settle(xid, rejected) {
                    Some(settled) => self
                        .events
                        .push_back(Event::BindingReply { settled, frame }),
                    None => self.stats.unmatched += 1,
                }
            }
            MessageType::UpdReq | MessageType::UpdReqAll => {
                let all = MessageType::from(msg_type) == MessageType::UpdReqAll;
                self.answering = Some(Answering {
                    xid,
                    collected: false,
                });
                self.events.push_back(Event::CollectUpdates { all });
            }
            MessageType::UpdDone => match self.requested {
                Some(r) if r.xid == xid => {
                    self.requested = None;
                    self.resync_all = false;
                    self.stop(Timer::UpdateRequest);
                    self.fsm(now, FsmEvent::UpdDoneReceived);
                }
                _ => self.stats.unmatched += 1,
            },
            MessageType::PoolReq => {
                // POOLRESP only acknowledges (§4.2.2); the rebalancing is the shell's.
                self.push_frame(now, MessageType::PoolResp, xid);
                self.events.push_back(Event::PoolMessage { msg_type, xid });
            }
            _ => self.events.push_back(Event::PoolMessage { msg_type, xid }),
        }
    }

    /// Feeds the §8 table (not in STARTUP, which `on_established` / the timer leave).
    pub(super) fn fsm(&mut self, now: Now, event: FsmEvent) {
        if self.state == ServerState::Startup {
            return;
        }
        let t = transition(self.role, self.state, event);
        self.apply(now, t);
    }

    fn apply(&mut self, now: Now, t: Transition) {
        match t {
            Transition::To(s) => self.enter(now, s),
            Transition::Request(kind) => self.request(now, kind),
            Transition::DropConnection => self.endpoint.handle_abort(now),
            _ => {}
        }
    }

    /// Enter a state: persist, tell the shell, run the entry actions (RFC 8156 §8).
    pub(super) fn enter(&mut self, now: Now, next: ServerState) {
        if next == self.state {
            return;
        }
        let from = self.state;
        self.previous = Some(from);
        self.state = next;
        self.since = now.wall;
        self.stats.state_changes += 1;
        // The shell logs the change with the relationship at info level.
        tracing::debug!(
            relationship = %String::from_utf8_lossy(&self.cfg.connection.relationship_name),
            from = %from,
            to = %next,
            "failover state change"
        );
        self.unannounced = true;
        self.persist(now);
        self.events.push_back(Event::StateChanged {
            state: next,
            since: now.wall,
        });
        if next != ServerState::CommunicationsInterrupted {
            self.stop(Timer::AutoPartnerDown);
        }
        self.partner_down_time = (next == ServerState::PartnerDown).then_some(now.wall);
        match next {
            ServerState::Normal => {
                // Send every update the partner has not acknowledged (R28); afterwards a
                // secondary asks for its share of the delegable prefixes (§4.2.2).
                self.events.push_back(Event::CollectUpdates { all: false });
                self.pool_request_due = self.role == Role::Secondary;
            }
            ServerState::CommunicationsInterrupted => {
                if let Some(d) = self.cfg.auto_partner_down {
                    self.set(Timer::AutoPartnerDown, now.mono.add_ms(d.0));
                }
                if from == ServerState::Normal {
                    self.events
                        .push_back(Event::Alarm(Alarm::CommunicationsInterrupted));
                }
            }
            ServerState::ResolutionInterrupted => {
                self.events
                    .push_back(Event::Alarm(Alarm::ResolutionInterrupted));
            }
            ServerState::PotentialConflict if self.role == Role::Primary => {
                self.request(now, UpdateRequest::UpdReq);
            }
            ServerState::RecoverWait => {
                let first_run = !self.partner_knew_us;
                let deadline = recover_wait_deadline(
                    self.time_of_failure,
                    self.started,
                    self.endpoint.mclt_s(),
                    first_run,
                    now.wall,
                );
                let wait_s = u64::try_from(deadline.since(now.wall)).unwrap_or(0);
                self.set(Timer::RecoverWait, now.mono.add_ms(wait_s * 1000));
            }
            _ => {}
        }
    }

    /// Send UPDREQ / UPDREQALL (RFC 8156 §8.5, POTENTIAL-CONFLICT).
    pub(super) fn request(&mut self, now: Now, kind: UpdateRequest) {
        if !self.endpoint.is_established() {
            return;
        }
        // An UPDREQALL answer that was cut short left us with part of the partner's data and a
        // record of the partner: asking only for the unacknowledged rest would lose the
        // remainder. Until an UPDDONE completes it, RECOVER keeps asking for everything.
        let kind = if self.state == ServerState::Recover && self.resync_all {
            UpdateRequest::UpdReqAll
        } else {
            kind
        };
        if self.state == ServerState::Recover && kind == UpdateRequest::UpdReqAll {
            self.resync_all = true;
        }
        let queue = &self.queue;
        let xid = self.endpoint.alloc_xid(|x| queue.is_outstanding(x));
        self.requested = Some(Requested { xid, kind });
        let t = match kind {
            UpdateRequest::UpdReqAll => MessageType::UpdReqAll,
            _ => MessageType::UpdReq,
        };
        self.push_frame(now, t, xid);
        let wait = self.cfg.update_request_timeout.0;
        self.set(Timer::UpdateRequest, now.mono.add_ms(wait));
    }

    /// POOLREQ: "please check my share of delegable prefixes" (RFC 8156 §4.2.2). The primary
    /// answers with POOLRESP and hands prefixes over as BNDUPDs.
    pub(super) fn request_pool(&mut self, now: Now) {
        if !self.endpoint.is_established() {
            return;
        }
        let queue = &self.queue;
        let xid = self.endpoint.alloc_xid(|x| queue.is_outstanding(x));
        self.push_frame(now, MessageType::PoolReq, xid);
    }

    /// Queues an option-less message (UPDREQ, UPDREQALL, UPDDONE, POOLREQ) with `xid`.
    fn push_frame(&mut self, now: Now, t: MessageType, xid: Xid) {
        let mut buf = [0u8; 16];
        let sent = Some(FailoverTime(now.wall.0));
        let n = FailoverWriter::new(&mut buf, t, xid, sent).and_then(FailoverWriter::finish);
        if let Ok(n) = n {
            self.outbox.push_back(buf[..n].into());
        }
    }

    pub(super) fn persist(&mut self, now: Now) {
        let p = PersistedState {
            current: self.state,
            previous: self.previous,
            current_since: self.since,
            partner: self.partner.map(|p| p.state).or(if self.communicated {
                Some(ServerState::CommunicationsInterrupted)
            } else {
                None
            }),
            partner_since: self.partner_since,
            last_heard_from_partner: self.last_heard,
            last_operating_time: now.wall,
        };
        self.events.push_back(Event::Persist(p));
    }

    /// What STATE announces: in STARTUP the previous state with the S flag (§8.3).
    pub(super) fn local_state(&self) -> LocalState {
        let startup = self.state == ServerState::Startup;
        LocalState {
            state: if startup {
                self.startup_previous
            } else {
                self.state
            },
            flags: flags(startup, self.communicated),
            start_time: self.since,
            partner_down_time: self.partner_down_time,
        }
    }

    pub(super) fn may_send_updates(&self) -> bool {
        self.answering.is_some()
            || matches!(
                self.state,
                ServerState::Normal
                    | ServerState::ConflictDone
                    | ServerState::RecoverDone
                    | ServerState::PartnerDown
            )
    }

    pub(super) fn window(&self) -> usize {
        let w = self.endpoint.partner_max_unacked_bndupd().unwrap_or(1);
        usize::try_from(w.max(1)).unwrap_or(usize::MAX)
    }

    pub(super) fn set(&mut self, t: Timer, at: Millis) {
        self.timers[t as usize] = Some(at);
    }

    pub(super) fn stop(&mut self, t: Timer) {
        self.timers[t as usize] = None;
    }

    pub(super) fn take(&mut self, t: Timer, now: Now) -> bool {
        match self.timers[t as usize] {
            Some(at) if at <= now.mono => {
                self.timers[t as usize] = None;
                true
            }
            _ => false,
        }
    }
}

/// OPTION_F_SERVER_FLAGS: S while in STARTUP, C once we have a record of the partner.
/// **OPEN-10:** the A (ACK_STARTUP) flag has no behaviour in RFC 8156: never set, ignored.
pub(super) fn flags(startup: bool, communicated: bool) -> ServerFlags {
    let mut f = 0;
    if startup {
        f |= ServerFlags::STARTUP;
    }
    if communicated {
        f |= ServerFlags::COMMUNICATED;
    }
    ServerFlags(f)
}
