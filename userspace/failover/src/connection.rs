//! The sans-IO connection endpoint of one failover relationship (RFC 8156 §6; protocol notes
//! §1.6, §1.7): dialling with back-off, CONNECT / CONNECTREPLY / STATE, CONTACT keepalives,
//! dead-partner detection and DISCONNECT. It drives no socket: the shell dials, accepts, moves
//! bytes and closes when told, and passes the time into every call (house style §1, §2).
//!
//! Call order, as in quinn-proto: after any `handle_*` call, drain [`Endpoint::poll_transmit`]
//! until `None`, then [`Endpoint::poll_event`] until `None`, then sleep until
//! [`Endpoint::poll_timeout`] and call [`Endpoint::handle_timeout`].

use std::collections::VecDeque;

use tandem_wire::failover::Deframer;
use tandem_wire::{StatusCode, Xid};

use crate::config::{Config, LocalState, MAX_CONTROL_LEN};
use crate::error::{ApiMisuse, Error, PeerIncompatible, PeerMisbehaved};
use crate::state::Role;
use crate::time::{check_connect_skew, FoTime, SkewEstimator, MAX_TIME_SKEW_S};
use crate::timer::{Millis, Now, Timer, TimerTable};
use crate::transition::PartnerState;
use crate::wire_io::{decode, encode, Body, ConnectParams, Inbound, Outgoing};

/// Most messages queued for transmission; the control flow queues at most three at a time.
const MAX_QUEUED: usize = 8;

/// What the shell must do or learn (house style §2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Primary: open a TCP connection to the partner now, then report
    /// [`Endpoint::handle_connected`] or [`Endpoint::handle_connect_failed`] (RFC 8156 §6.1).
    Connect,
    /// Secondary: open a TCP connection to the primary and close it at once, without sending
    /// anything; it only prompts the primary to dial (seed draft stimulus; R13).
    Stimulate,
    /// Close the connection (after writing everything `poll_transmit` returned), then call
    /// [`Endpoint::handle_closed`].
    Close,
    /// The partner's first STATE arrived on this connection: comms OK (RFC 8156 §6.3; R19).
    /// Feed `transition` with `Event::CommunicationsOk`.
    Established {
        /// The partner's state and flags.
        partner: PartnerState,
        /// The partner's OPTION_F_START_TIME_OF_STATE (STARTUP compares it, §8.3.2).
        since: FoTime,
    },
    /// A later STATE: the partner changed state at `since` (feed
    /// `Event::PartnerStateChanged`).
    PartnerState {
        /// The partner's state and flags.
        partner: PartnerState,
        /// Its OPTION_F_START_TIME_OF_STATE.
        since: FoTime,
    },
    /// An established connection was lost, timed out or disconnected (RFC 8156 §6.5–6.6):
    /// feed `Event::CommunicationsFailed`.
    CommunicationsFailed,
    /// The partner sent DISCONNECT with this status (RFC 8156 §6.4).
    Disconnected {
        /// OPTION_STATUS_CODE value.
        status: u16,
    },
    /// The partner broke the protocol or cannot work with us; a [`Event::Close`] follows.
    PeerError(Error),
    /// A binding-level message arrived on the established connection: BNDUPD, BNDREPLY,
    /// POOLREQ, POOLRESP, UPDREQ, UPDREQALL or UPDDONE (RFC 8156 §7, §8). `frame` is the
    /// whole message without its length prefix (parse it with
    /// `tandem_wire::failover::FailoverMessage::new_checked`).
    Message {
        /// Its message type (24..=30).
        msg_type: u8,
        /// Its xid.
        xid: Xid,
        /// The message, header included.
        frame: Box<[u8]>,
    },
}

/// Message types handed to the layer above ([`Event::Message`]): BNDUPD 24 … UPDDONE 30.
const BINDING_LEVEL: std::ops::RangeInclusive<u8> = 24..=30;

/// Where the one connection of this relationship stands (RFC 8156 §6.1–6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    /// No connection; the primary waits for [`Timer::Reconnect`], the secondary for a dial-in.
    Down,
    /// Primary: [`Event::Connect`] emitted, waiting for the shell's answer.
    Dialing,
    /// Secondary: accepted, waiting for CONNECT.
    AwaitConnect,
    /// Primary: CONNECT queued, waiting for CONNECTREPLY.
    AwaitConnectReply,
    /// Our STATE is queued; waiting for the partner's.
    AwaitState,
    /// Comms OK.
    Established,
    /// A final CONNECTREPLY-reject or DISCONNECT is queued; [`Event::Close`] follows it.
    Closing,
}

/// One failover relationship's connection endpoint (RFC 8156 §6).
#[derive(Debug)]
pub struct Endpoint {
    config: Config,
    local: LocalState,
    conn: ConnState,
    timers: TimerTable,
    next_backoff: Millis,
    deframer: Deframer,
    out: VecDeque<Outgoing>,
    events: VecDeque<Event>,
    skew: SkewEstimator,
    next_xid: u32,
    /// MCLT in force: ours on the primary, the primary's (adopted) on the secondary.
    mclt_s: u32,
    partner_params: Option<ConnectParams>,
    shut_down: bool,
    ignored: u64,
}

impl Endpoint {
    /// A new endpoint. The primary immediately asks to dial ([`Event::Connect`]); the secondary
    /// waits for [`Endpoint::handle_accepted`]. `local` is announced in STATE.
    pub fn new(config: Config, local: LocalState) -> Result<Self, ApiMisuse> {
        config.validate()?;
        let skew = SkewEstimator::new(config.skew_window)?;
        let mut ep = Self {
            next_backoff: config.reconnect_initial,
            mclt_s: config.mclt_s,
            config,
            local,
            conn: ConnState::Down,
            timers: TimerTable::default(),
            deframer: Deframer::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            skew,
            next_xid: 1,
            partner_params: None,
            shut_down: false,
            ignored: 0,
        };
        match ep.config.role {
            Role::Primary => {
                ep.conn = ConnState::Dialing;
                ep.events.push_back(Event::Connect);
            }
            _ if ep.config.stimulus => ep.events.push_back(Event::Stimulate),
            _ => {}
        }
        Ok(ep)
    }

    /// Primary: the TCP connection asked for by [`Event::Connect`] is up; CONNECT is queued
    /// (RFC 8156 §6.1.1; R16).
    pub fn handle_connected(&mut self, now: Now) -> Result<(), ApiMisuse> {
        if self.conn != ConnState::Dialing {
            return Err(ApiMisuse::UnexpectedCall {
                call: "handle_connected",
            });
        }
        self.open(now, ConnState::AwaitConnectReply);
        let xid = self.xid();
        self.queue(Outgoing::Connect(xid));
        Ok(())
    }

    /// Primary: dialling failed; a retry is scheduled with capped exponential back-off (R11).
    pub fn handle_connect_failed(&mut self, now: Now) -> Result<(), ApiMisuse> {
        if self.conn != ConnState::Dialing {
            return Err(ApiMisuse::UnexpectedCall {
                call: "handle_connect_failed",
            });
        }
        self.down(now);
        Ok(())
    }

    /// Secondary: the partner dialled in (RFC 8156 §6.1; R12 is the shell's IP check). Refused
    /// while a connection is in use or after shutdown; the shell then closes the new one.
    pub fn handle_accepted(&mut self, now: Now) -> Result<(), ApiMisuse> {
        if self.config.role != Role::Secondary || self.conn != ConnState::Down || self.shut_down {
            return Err(ApiMisuse::UnexpectedCall {
                call: "handle_accepted",
            });
        }
        self.open(now, ConnState::AwaitConnect);
        Ok(())
    }

    /// Primary: the partner opened a connection to us (a stimulus, or a simultaneous connect;
    /// seed draft, R13, R14). The shell closes that connection without reading it. When we have
    /// no connection and are waiting to redial, we dial at once (back-off kept); otherwise, or
    /// with [`Config::stimulus`] off, nothing happens. Returns true when it triggered a dial.
    /// On the secondary this is [`ApiMisuse::UnexpectedCall`]: use `handle_accepted`.
    pub fn handle_stimulus(&mut self, _now: Now) -> Result<bool, ApiMisuse> {
        if self.config.role != Role::Primary {
            return Err(ApiMisuse::UnexpectedCall {
                call: "handle_stimulus",
            });
        }
        if !self.config.stimulus || self.conn != ConnState::Down || self.shut_down {
            return Ok(false);
        }
        self.timers.stop(Timer::Reconnect);
        self.conn = ConnState::Dialing;
        self.events.push_back(Event::Connect);
        Ok(true)
    }

    /// The connection is gone (the partner closed it, or the shell did after [`Event::Close`]).
    /// Ignored when no connection exists.
    pub fn handle_closed(&mut self, now: Now) {
        if matches!(self.conn, ConnState::Down | ConnState::Dialing) {
            return;
        }
        self.down(now);
    }

    /// Orderly shutdown: DISCONNECT with ServerShuttingDown, then [`Event::Close`]; the primary
    /// stops dialling (RFC 8156 §6.4; R21).
    pub fn handle_shutdown(&mut self, now: Now) {
        self.shut_down = true;
        match self.conn {
            ConnState::Down | ConnState::Dialing | ConnState::Closing => {
                self.timers.stop(Timer::Reconnect);
            }
            ConnState::AwaitConnect => self.close(now, None),
            _ => {
                let xid = self.xid();
                self.finish_with(Outgoing::Disconnect(xid, StatusCode::ServerShuttingDown));
            }
        }
    }

    /// The layer above gives up on this connection (RECOVER saw neither UPDDONE nor BNDUPDs
    /// in time, RFC 8156 §8.5): [`Event::Close`] now; the primary redials with back-off.
    pub fn handle_abort(&mut self, now: Now) {
        if self.connected() {
            self.close(now, None);
        }
    }

    /// Our state changed: STATE is sent at once while comms are OK, else with the next
    /// handshake (RFC 8156 §6.3; R20).
    pub fn handle_local_state(&mut self, _now: Now, local: LocalState) {
        self.local = local;
        if matches!(self.conn, ConnState::AwaitState | ConnState::Established) {
            let xid = self.xid();
            self.queue(Outgoing::State(xid));
        }
    }

    /// Bytes received on the connection (any split). Protocol errors produce
    /// [`Event::PeerError`] and [`Event::Close`]; bytes after that are dropped.
    pub fn handle_data(&mut self, now: Now, mut data: &[u8]) {
        loop {
            if !self.connected() {
                return;
            }
            let step = match self.deframer.next_message() {
                Ok(Some(m)) => Some(decode(&m, &self.config.relationship_name).map(|msg| {
                    let frame = matches!(msg.body, Body::Other(t) if BINDING_LEVEL.contains(&t))
                        .then(|| Box::<[u8]>::from(m.as_bytes()));
                    (msg, frame)
                })),
                Ok(None) => None,
                Err(_) => Some(Err(PeerMisbehaved::Malformed.into())),
            };
            match step {
                Some(Ok((msg, frame))) => self.on_message(now, msg, frame),
                Some(Err(e)) => self.close(now, Some(e)),
                None if data.is_empty() => return,
                None => match self.deframer.push(data) {
                    Ok(n) => data = data.get(n..).unwrap_or_default(),
                    Err(_) => self.close(now, Some(PeerMisbehaved::Malformed.into())),
                },
            }
        }
    }

    /// Runs every timer due at `now` (RFC 8156 §6.5–6.6).
    pub fn handle_timeout(&mut self, now: Now) {
        if self.timers.take_expired(Timer::Reconnect, now.mono)
            && self.conn == ConnState::Down
            && !self.shut_down
        {
            self.conn = ConnState::Dialing;
            self.events.push_back(Event::Connect);
        }
        if self.timers.take_expired(Timer::Keepalive, now.mono) && self.connected() {
            // Nothing from the partner for FO_KEEPALIVE_TIME: the connection is dead (R23).
            self.close(now, None);
        }
        if self.timers.take_expired(Timer::Contact, now.mono) {
            if matches!(self.conn, ConnState::AwaitState | ConnState::Established) {
                let xid = self.xid();
                self.queue(Outgoing::Contact(xid));
            } else if self.connected() {
                self.timers
                    .set(Timer::Contact, now.mono.add_ms(self.send_interval_ms()));
            }
        }
    }

    /// The next message to send, written framed into `buf`; its length, or `None` when nothing
    /// is queued or `buf` is shorter than [`Endpoint::buffer_len`] (the message stays queued).
    ///
    /// Call after any `handle_*` call, until it returns `None`, before [`Endpoint::poll_event`]:
    /// a closing message must be written before the [`Event::Close`] it releases.
    pub fn poll_transmit(&mut self, now: Now, buf: &mut [u8]) -> Option<usize> {
        let msg = *self.out.front()?;
        let n = encode(msg, &self.config, self.mclt_s, &self.local, now.wall, buf).ok()?;
        self.out.pop_front();
        self.timers
            .set(Timer::Contact, now.mono.add_ms(self.send_interval_ms()));
        if msg.closes() {
            self.events.push_back(Event::Close);
            self.down(now);
        }
        Some(n)
    }

    /// The next event for the shell.
    ///
    /// Call after [`Endpoint::new`], any `handle_*` call and [`Endpoint::poll_transmit`].
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Endpoint::handle_timeout`] must run next.
    ///
    /// Call after [`Endpoint::new`], any `handle_*` call and [`Endpoint::poll_transmit`] (which
    /// reloads the CONTACT timer).
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.timers.next_timeout()
    }

    /// A `poll_transmit` buffer of this many octets always suffices.
    pub fn buffer_len(&self) -> usize {
        MAX_CONTROL_LEN
    }

    /// Average partner clock minus ours in seconds over the last messages (R25).
    pub fn skew_s(&self) -> Option<i32> {
        self.skew.skew_s()
    }

    /// True while comms are OK (the partner's STATE arrived on this connection).
    pub fn is_established(&self) -> bool {
        self.conn == ConnState::Established
    }

    /// The MCLT in force: ours on the primary, the adopted one on the secondary (§6.1.2).
    pub fn mclt_s(&self) -> u32 {
        self.mclt_s
    }

    /// Partner's OPTION_F_MAX_UNACKED_BNDUPD from this connection's handshake.
    pub fn partner_max_unacked_bndupd(&self) -> Option<u32> {
        self.partner_params.map(|p| p.max_unacked)
    }

    /// Messages of unknown type received after comms OK (skipped; R4, R63).
    pub fn ignored_messages(&self) -> u64 {
        self.ignored
    }

    /// The layer above wrote a message of its own (BNDUPD, BNDREPLY, UPDDONE, …) into the
    /// connection: CONTACT is due FO_SEND_TIME after it (R22). Only while established.
    pub fn note_sent(&mut self, now: Now) {
        if self.conn == ConnState::Established {
            self.timers
                .set(Timer::Contact, now.mono.add_ms(self.send_interval_ms()));
        }
    }

    /// A fresh xid for a message of the layer above. `outstanding` says which xids still wait
    /// for an answer; those are skipped, so a 24-bit wrap never reuses one (R5).
    pub fn alloc_xid(&mut self, outstanding: impl Fn(Xid) -> bool) -> Xid {
        // At most 2^24 tries: past that every xid is outstanding, which no window allows.
        let mut x = self.xid();
        for _ in 0..0x00ff_ffff {
            if !outstanding(x) {
                break;
            }
            x = self.xid();
        }
        x
    }

    fn on_message(&mut self, now: Now, msg: Inbound, frame: Option<Box<[u8]>>) {
        let Some(sent) = msg.sent else {
            // STARTTLS / REPLY: TLS is set up by the shell before any byte reaches us (R15).
            return self.close(now, Some(PeerMisbehaved::UnexpectedMessage(23).into()));
        };
        self.skew.record(sent, now.wall);
        // R24 on an established connection: the moving average over a full window (not one
        // late message, which may have sat in a TCP backlog) beyond MAX_TIME_SKEW_S drops the
        // connection. CONNECT itself is checked message by message (R17).
        if self.conn == ConnState::Established && self.skew.len() >= self.config.skew_window {
            if let Some(skew_s) = self.skew.skew_s() {
                if skew_s.unsigned_abs() > MAX_TIME_SKEW_S {
                    let e = PeerIncompatible::ExcessiveTimeSkew { skew_s };
                    return self.close(now, Some(e.into()));
                }
            }
        }
        let keepalive = Millis::from_s(self.config.keepalive_time_s).0;
        self.timers
            .set(Timer::Keepalive, now.mono.add_ms(keepalive));
        match (self.conn, msg.body) {
            // §6.1.2: the secondary checks the CONNECT (R17).
            (
                ConnState::AwaitConnect,
                Body::Connect {
                    params,
                    name_matches,
                },
            ) => {
                let reject = if let Err(e) = check_connect_skew(sent, now.wall) {
                    Some((StatusCode::ExcessiveTimeSkew, Error::from(e)))
                } else if params.version != self.config.protocol_version {
                    let e = PeerIncompatible::UnsupportedVersion {
                        major: params.version.major,
                        minor: params.version.minor,
                    };
                    Some((StatusCode::NotSupported, e.into()))
                } else if !name_matches {
                    let e = PeerIncompatible::UnknownRelationship;
                    Some((StatusCode::UnspecFail, e.into()))
                } else {
                    None
                };
                if let Some((status, e)) = reject {
                    self.events.push_back(Event::PeerError(e));
                    return self.finish_with(Outgoing::ConnectReply {
                        xid: msg.xid,
                        reject: Some(status),
                    });
                }
                self.mclt_s = params.mclt_s;
                self.partner_params = Some(params);
                self.conn = ConnState::AwaitState;
                self.queue(Outgoing::ConnectReply {
                    xid: msg.xid,
                    reject: None,
                });
                let xid = self.xid();
                self.queue(Outgoing::State(xid));
            }
            // §6.2.2: the primary checks the CONNECTREPLY (R18).
            (ConnState::AwaitConnectReply, Body::ConnectReply(reply)) => {
                let (status, e) = match reply {
                    Err(status) => {
                        return self.close(now, Some(PeerIncompatible::Rejected { status }.into()))
                    }
                    Ok(p) if p.version != self.config.protocol_version => {
                        let e = PeerIncompatible::UnsupportedVersion {
                            major: p.version.major,
                            minor: p.version.minor,
                        };
                        (StatusCode::NotSupported, e)
                    }
                    Ok(p) if p.mclt_s != self.config.mclt_s => {
                        let e = PeerIncompatible::McltMismatch {
                            ours: self.config.mclt_s,
                            theirs: p.mclt_s,
                        };
                        (StatusCode::UnspecFail, e)
                    }
                    Ok(p) => {
                        self.partner_params = Some(p);
                        self.conn = ConnState::AwaitState;
                        let xid = self.xid();
                        return self.queue(Outgoing::State(xid));
                    }
                };
                self.events.push_back(Event::PeerError(e.into()));
                let xid = self.xid();
                self.finish_with(Outgoing::Disconnect(xid, status));
            }
            // §6.3: comms OK once the partner's STATE arrives (R19).
            (ConnState::AwaitState, Body::State(partner, since)) => {
                self.conn = ConnState::Established;
                self.next_backoff = self.config.reconnect_initial;
                self.events.push_back(Event::Established { partner, since });
            }
            (ConnState::Established, Body::State(partner, since)) => {
                self.events
                    .push_back(Event::PartnerState { partner, since });
            }
            (ConnState::AwaitState | ConnState::Established, Body::Contact) => {}
            (_, Body::Disconnect(status)) => {
                self.events.push_back(Event::Disconnected { status });
                self.close(now, None);
            }
            (ConnState::Established, Body::Other(msg_type)) => match frame {
                Some(frame) => self.events.push_back(Event::Message {
                    msg_type,
                    xid: msg.xid,
                    frame,
                }),
                // An unknown message type: skipped, like an unknown option (R4, R63).
                None => self.ignored += 1,
            },
            (ConnState::Closing, _) => {}
            (_, body) => {
                let t = match body {
                    Body::Connect { .. } => 31,
                    Body::ConnectReply(_) => 32,
                    Body::State(..) => 34,
                    Body::Contact => 35,
                    Body::Disconnect(_) => 33,
                    Body::Other(t) => t,
                };
                self.close(now, Some(PeerMisbehaved::UnexpectedMessage(t).into()));
            }
        }
    }

    fn connected(&self) -> bool {
        !matches!(self.conn, ConnState::Down | ConnState::Dialing)
    }

    /// FO_SEND_TIME: our configured interval, or a quarter of the partner's keepalive when
    /// shorter (notes §1.7).
    fn send_interval_ms(&self) -> u64 {
        let ours = self.config.contact_interval.0;
        match self.partner_params {
            Some(p) => ours.min((Millis::from_s(p.keepalive_s).0 / 4).max(1)),
            None => ours,
        }
    }

    fn xid(&mut self) -> Xid {
        let x = self.next_xid;
        self.next_xid = (x + 1) & 0x00ff_ffff;
        let [_, a, b, c] = x.to_be_bytes();
        Xid([a, b, c])
    }

    fn queue(&mut self, msg: Outgoing) {
        if self.out.len() < MAX_QUEUED {
            self.out.push_back(msg);
        }
    }

    /// A new connection: fresh deframer and queue, keepalive and CONTACT timers armed.
    fn open(&mut self, now: Now, state: ConnState) {
        self.conn = state;
        self.deframer = Deframer::new();
        self.out.clear();
        self.partner_params = None;
        let keepalive = Millis::from_s(self.config.keepalive_time_s).0;
        self.timers
            .set(Timer::Keepalive, now.mono.add_ms(keepalive));
        self.timers
            .set(Timer::Contact, now.mono.add_ms(self.send_interval_ms()));
    }

    /// Queue a last message; [`Event::Close`] follows once `poll_transmit` hands it out.
    fn finish_with(&mut self, msg: Outgoing) {
        self.out.clear();
        self.out.push_back(msg);
        if self.conn == ConnState::Established {
            self.events.push_back(Event::CommunicationsFailed);
        }
        self.conn = ConnState::Closing;
    }

    /// Close now: report `err`, tell the shell to close, go down.
    fn close(&mut self, now: Now, err: Option<Error>) {
        if let Some(e) = err {
            self.events.push_back(Event::PeerError(e));
        }
        self.events.push_back(Event::Close);
        self.down(now);
    }

    /// No connection any more: comms failed if they were OK; the primary schedules a redial
    /// with doubled, capped back-off (RFC 8156 §6.1; R11).
    fn down(&mut self, now: Now) {
        if self.conn == ConnState::Established {
            self.events.push_back(Event::CommunicationsFailed);
        }
        self.conn = ConnState::Down;
        self.out.clear();
        self.timers.stop_all();
        if self.config.role == Role::Primary && !self.shut_down {
            self.timers
                .set(Timer::Reconnect, now.mono.add_ms(self.next_backoff.0));
            let doubled = Millis(self.next_backoff.0.saturating_mul(2));
            self.next_backoff = doubled.min(self.config.reconnect_cap);
        }
    }
}

#[cfg(test)]
mod tests;
