//! Two endpoints driven against each other over an in-memory wire with a fake clock
//! (house style §8, quinn `tests/util.rs` `Pair`).

use proptest::prelude::*;
use tandem_wire::failover::{
    testdata, FailoverMessage, ProtocolVersion, RelationshipName, ServerFlags,
};
use tandem_wire::{parse_u32, MessageType, OptionCode, StatusCode};

use super::*;
use crate::state::ServerState;
use crate::time::FoTime;

const T0: u32 = testdata::T0;

fn local() -> LocalState {
    LocalState {
        state: ServerState::Normal,
        flags: ServerFlags(ServerFlags::COMMUNICATED),
        start_time: FoTime(T0 - 100),
        partner_down_time: None,
    }
}

fn config(role: Role) -> Config {
    let mut c = Config::new(role, testdata::RELATIONSHIP_NAME);
    c.connect_flags = tandem_wire::failover::ConnectFlags(1);
    c
}

/// One side: the endpoint, its wall-clock offset, and everything it reported.
struct Side {
    ep: Endpoint,
    wall_offset_s: u32,
    events: Vec<Event>,
    /// The shell has an open connection.
    open: bool,
}

/// Two endpoints, a fake clock and a wire that delivers bytes split at odd offsets.
struct Pair {
    now_ms: u64,
    sides: [Side; 2],
    /// Bytes in flight towards side 0 and side 1.
    wire: [Vec<u8>; 2],
    /// Fail every dial (the secondary is unreachable).
    unreachable: bool,
    /// Record of (time, side) of every `Event::Connect`.
    dials: Vec<u64>,
    /// Every framed message sent, per side.
    sent: [Vec<Vec<u8>>; 2],
    /// The other side closed: deliver what is in flight, then report the close.
    fin: [bool; 2],
    /// Results of `handle_stimulus` on the primary.
    stimuli: Vec<Result<bool, ApiMisuse>>,
}

impl Pair {
    fn new(primary: Config, secondary: Config) -> Self {
        let side = |c| Side {
            ep: Endpoint::new(c, local()).unwrap(),
            wall_offset_s: 0,
            events: Vec::new(),
            open: false,
        };
        Self {
            now_ms: 0,
            sides: [side(primary), side(secondary)],
            wire: [Vec::new(), Vec::new()],
            unreachable: false,
            dials: Vec::new(),
            sent: [Vec::new(), Vec::new()],
            fin: [false; 2],
            stimuli: Vec::new(),
        }
    }

    fn now(&self, i: usize) -> Now {
        Now {
            mono: Millis(self.now_ms),
            wall: FoTime(T0 + (self.now_ms / 1000) as u32 + self.sides[i].wall_offset_s),
        }
    }

    /// Runs both sides until nothing moves at the current time.
    fn drive(&mut self) {
        for _ in 0..100 {
            let mut moved = false;
            for i in 0..2 {
                moved |= self.step(i);
            }
            if !moved {
                return;
            }
        }
        panic!("pair did not settle");
    }

    fn step(&mut self, i: usize) -> bool {
        let now = self.now(i);
        let mut moved = false;
        let mut buf = vec![0u8; self.sides[i].ep.buffer_len()];
        while let Some(n) = self.sides[i].ep.poll_transmit(now, &mut buf) {
            self.sent[i].push(buf[..n].to_vec());
            if self.sides[i].open {
                self.wire[1 - i].extend_from_slice(&buf[..n]);
            }
            moved = true;
        }
        while let Some(e) = self.sides[i].ep.poll_event() {
            moved = true;
            self.sides[i].events.push(e.clone());
            match e {
                Event::Connect => {
                    self.dials.push(self.now_ms);
                    let peer_now = self.now(1 - i);
                    let peer = &mut self.sides[1 - i];
                    if self.unreachable || peer.ep.handle_accepted(peer_now).is_err() {
                        self.sides[i].ep.handle_connect_failed(now).unwrap();
                    } else {
                        peer.open = true;
                        self.sides[i].open = true;
                        self.sides[i].ep.handle_connected(now).unwrap();
                    }
                }
                Event::Stimulate => {
                    let peer_now = self.now(1 - i);
                    if !self.unreachable {
                        self.stimuli
                            .push(self.sides[1 - i].ep.handle_stimulus(peer_now));
                    }
                }
                Event::Close => {
                    self.sides[i].open = false;
                    self.sides[i].ep.handle_closed(now);
                    self.wire[i].clear();
                    self.fin[1 - i] = true;
                }
                _ => {}
            }
        }
        let data = std::mem::take(&mut self.wire[i]);
        if !data.is_empty() && self.sides[i].open {
            // Odd split points: 1, 3, 5, ... octets.
            let mut rest = &data[..];
            let mut k = 1;
            while !rest.is_empty() {
                let (a, b) = rest.split_at(k.min(rest.len()));
                self.sides[i].ep.handle_data(now, a);
                rest = b;
                k += 2;
            }
            moved = true;
        }
        if std::mem::take(&mut self.fin[i]) && self.sides[i].open {
            self.sides[i].open = false;
            self.sides[i].ep.handle_closed(now);
            moved = true;
        }
        moved
    }

    /// Advances the clock by `ms`, firing timers at their deadlines on the way.
    fn advance(&mut self, ms: u64) {
        let end = self.now_ms + ms;
        loop {
            self.drive();
            let next = self.sides.iter().filter_map(|s| s.ep.poll_timeout()).min();
            match next {
                Some(Millis(t)) if t <= end => {
                    self.now_ms = self.now_ms.max(t);
                    for i in 0..2 {
                        let now = self.now(i);
                        self.sides[i].ep.handle_timeout(now);
                    }
                }
                _ => break,
            }
        }
        self.now_ms = end;
        self.drive();
    }

    fn events(&self, i: usize) -> &[Event] {
        &self.sides[i].events
    }

    fn count(&self, i: usize, want: &Event) -> usize {
        self.events(i).iter().filter(|e| *e == want).count()
    }

    fn sent_types(&self, i: usize) -> Vec<MessageType> {
        self.sent[i]
            .iter()
            .map(|b| FailoverMessage::new_checked(&b[2..]).unwrap().msg_type())
            .collect()
    }
}

fn established_pair() -> Pair {
    let mut p = Pair::new(config(Role::Primary), config(Role::Secondary));
    p.drive();
    p
}

fn partner() -> PartnerState {
    PartnerState {
        state: ServerState::Normal,
        startup: false,
        communicated: true,
    }
}

#[test]
fn establishes_and_exchanges_state() {
    let p = established_pair();
    for i in 0..2 {
        assert!(p.sides[i].ep.is_established(), "side {i}");
        assert!(p.events(i).contains(&Event::Established {
            partner: partner(),
            since: FoTime(T0 - 100)
        }));
        assert_eq!(p.sides[i].ep.skew_s(), Some(0));
    }
    assert_eq!(p.sent_types(0), [MessageType::Connect, MessageType::State]);
    assert_eq!(
        p.sent_types(1),
        [MessageType::ConnectReply, MessageType::State]
    );
    assert_eq!(p.sides[1].ep.mclt_s(), 3600);
    assert_eq!(p.sides[1].ep.partner_max_unacked_bndupd(), Some(10));
}

#[test]
fn connect_carries_the_configured_options() {
    let mut c = config(Role::Primary);
    c.mclt_s = 1800;
    c.keepalive_time_s = 40;
    c.max_unacked_bndupd = 7;
    let mut p = Pair::new(c, config(Role::Secondary));
    p.drive();
    let m = FailoverMessage::new_checked(&p.sent[0][0][2..]).unwrap();
    assert_eq!(m.msg_type(), MessageType::Connect);
    assert_eq!(m.sent_time().map(|t| t.0), Some(T0));
    let o = m.options();
    let u32_of = |c| parse_u32(o.find(c).unwrap()).unwrap();
    assert_eq!(
        ProtocolVersion::parse(o.find(OptionCode::FProtocolVersion).unwrap()),
        Ok(ProtocolVersion::V1_0)
    );
    assert_eq!(u32_of(OptionCode::FMclt), 1800);
    assert_eq!(u32_of(OptionCode::FKeepaliveTime), 40);
    assert_eq!(u32_of(OptionCode::FMaxUnackedBndupd), 7);
    let name = RelationshipName::parse(o.find(OptionCode::FRelationshipName).unwrap());
    assert_eq!(name.unwrap().as_bytes(), testdata::RELATIONSHIP_NAME);
    // With the golden vector's values, the CONNECT is the golden vector but for the xid.
    let mut golden = testdata::CONNECT.to_vec();
    golden[3..6].copy_from_slice(&[0, 0, 1]);
    assert_eq!(established_pair().sent[0][0], golden);
}

#[test]
fn keepalives_flow_when_idle() {
    let mut p = established_pair();
    p.advance(61_000);
    for i in 0..2 {
        assert!(p.sides[i].ep.is_established());
        let contacts = p
            .sent_types(i)
            .iter()
            .filter(|t| **t == MessageType::Contact)
            .count();
        // FO_SEND_TIME 15 s: at 15, 30, 45, 60 s.
        assert_eq!(contacts, 4, "side {i}");
        assert_eq!(p.count(i, &Event::CommunicationsFailed), 0);
    }
}

#[test]
fn contact_interval_follows_a_shorter_partner_keepalive() {
    let mut s = config(Role::Secondary);
    s.keepalive_time_s = 20;
    s.contact_interval = Millis(5_000);
    let mut p = Pair::new(config(Role::Primary), s);
    p.drive();
    p.advance(20_500);
    let contacts = p
        .sent_types(0)
        .iter()
        .filter(|t| **t == MessageType::Contact)
        .count();
    assert_eq!(contacts, 4, "primary sends every 20/4 = 5 s");
}

#[test]
fn silence_fails_communications_on_both_sides() {
    let mut p = established_pair();
    // Cut the wire: both keep sending, nothing arrives.
    p.sides[0].open = false;
    p.sides[1].open = false;
    p.advance(59_000);
    assert!(p.sides[0].ep.is_established());
    // FO_KEEPALIVE_TIME 60 s after the last message; the redial at 61 s is not reached.
    p.advance(1_500);
    for i in 0..2 {
        assert!(!p.sides[i].ep.is_established(), "side {i}");
        assert_eq!(p.count(i, &Event::CommunicationsFailed), 1);
        assert!(p.events(i).contains(&Event::Close));
    }
}

#[test]
fn reconnect_back_off_doubles_to_the_cap_and_never_stops() {
    let mut p = Pair::new(config(Role::Primary), config(Role::Secondary));
    p.unreachable = true;
    p.advance(1_000_000);
    let gaps: Vec<u64> = p.dials.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps[..8],
        [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 64_000]
    );
    assert!(gaps[8..].iter().all(|g| *g == 64_000));
    assert!(p.dials.len() > 15);
    // Reachable again: connects at the next attempt and the back-off resets.
    p.unreachable = false;
    p.advance(64_000);
    assert!(p.sides[0].ep.is_established());
}

#[test]
fn simultaneous_start_gives_one_connection() {
    // The secondary's start-up stimulus meets the primary already dialling (R14).
    let p = established_pair();
    assert_eq!(p.events(1).first(), Some(&Event::Stimulate));
    assert_eq!(p.stimuli, [Ok(false)]);
    assert_eq!(p.dials, [0]);
    assert_eq!(
        p.sent_types(0)
            .iter()
            .filter(|t| **t == MessageType::Connect)
            .count(),
        1
    );
}

#[test]
fn stimulus_makes_a_waiting_primary_dial_at_once() {
    let mut p = Pair::new(config(Role::Primary), config(Role::Secondary));
    p.unreachable = true;
    p.advance(100_000);
    let before = p.dials.len();
    // The secondary comes back and prompts the primary (R13): dial now, not in up to 64 s.
    p.unreachable = false;
    p.sides[1].ep = Endpoint::new(config(Role::Secondary), local()).unwrap();
    p.drive();
    assert_eq!(p.stimuli, [Ok(true)]);
    assert_eq!(p.dials.len(), before + 1);
    assert_eq!(p.dials.last(), Some(&100_000));
    assert!(p.sides[0].ep.is_established());
    // Off: a stimulus is ignored.
    let mut c = config(Role::Primary);
    c.stimulus = false;
    let mut ep = Endpoint::new(c, local()).unwrap();
    ep.handle_connect_failed(Now::default()).unwrap();
    assert_eq!(ep.handle_stimulus(Now::default()), Ok(false));
    let mut s = config(Role::Secondary);
    s.stimulus = false;
    let mut s = Endpoint::new(s, local()).unwrap();
    assert_eq!(s.poll_event(), None);
    assert!(s.handle_stimulus(Now::default()).is_err());
}

#[test]
fn reconnects_after_a_lost_connection() {
    let mut p = established_pair();
    let now = p.now(1);
    p.sides[1].ep.handle_closed(now);
    p.sides[1].open = false;
    let now = p.now(0);
    p.sides[0].ep.handle_closed(now);
    p.sides[0].open = false;
    p.advance(1_000);
    assert_eq!(p.count(0, &Event::CommunicationsFailed), 1);
    assert_eq!(p.dials, [0, 1_000]);
    assert!(p.sides[0].ep.is_established() && p.sides[1].ep.is_established());
}

fn assert_refused(mut p: Pair, status: StatusCode, err: Error) {
    p.drive();
    let reply = p.sent[1].first().expect("a CONNECTREPLY");
    let m = FailoverMessage::new_checked(&reply[2..]).unwrap();
    assert_eq!(m.msg_type(), MessageType::ConnectReply);
    let s = m.options().find(OptionCode::StatusCode).unwrap();
    assert_eq!(u16::from_be_bytes([s[0], s[1]]), u16::from(status));
    assert!(p.events(1).contains(&Event::PeerError(err)));
    assert!(p.events(1).contains(&Event::Close));
    let rejected = PeerIncompatible::Rejected {
        status: status.into(),
    };
    assert!(p.events(0).contains(&Event::PeerError(rejected.into())));
    for i in 0..2 {
        assert!(!p
            .events(i)
            .iter()
            .any(|e| matches!(e, Event::Established { .. })));
    }
    // The primary keeps trying.
    p.advance(10_000);
    assert!(p.dials.len() >= 3);
    assert!(!p.sides[0].ep.is_established());
}

#[test]
fn wrong_relationship_name_is_refused() {
    let p = Pair::new(
        config(Role::Primary),
        Config::new(Role::Secondary, b"other"),
    );
    assert_refused(
        p,
        StatusCode::UnspecFail,
        PeerIncompatible::UnknownRelationship.into(),
    );
}

#[test]
fn wrong_version_is_refused() {
    let mut c = config(Role::Primary);
    c.protocol_version = ProtocolVersion { major: 2, minor: 0 };
    let p = Pair::new(c, config(Role::Secondary));
    let e = PeerIncompatible::UnsupportedVersion { major: 2, minor: 0 };
    assert_refused(p, StatusCode::NotSupported, e.into());
}

#[test]
fn excessive_skew_is_refused() {
    let mut p = Pair::new(config(Role::Primary), config(Role::Secondary));
    p.sides[0].wall_offset_s = 6;
    let e = PeerIncompatible::ExcessiveTimeSkew { skew_s: 6 };
    assert_refused(p, StatusCode::ExcessiveTimeSkew, e.into());
    let mut p = Pair::new(config(Role::Primary), config(Role::Secondary));
    p.sides[0].wall_offset_s = 5;
    p.drive();
    assert!(p.sides[1].ep.is_established());
    assert_eq!(p.sides[1].ep.skew_s(), Some(5));
    assert_eq!(p.sides[0].ep.skew_s(), Some(-5));
}

#[test]
fn mclt_mismatch_makes_the_primary_disconnect() {
    // A secondary that answers with another MCLT: the golden CONNECTREPLY, MCLT rewritten.
    let mut ep = Endpoint::new(config(Role::Primary), local()).unwrap();
    let now = Now {
        mono: Millis(0),
        wall: FoTime(T0),
    };
    assert_eq!(ep.poll_event(), Some(Event::Connect));
    ep.handle_connected(now).unwrap();
    let mut buf = [0u8; 512];
    assert!(ep.poll_transmit(now, &mut buf).is_some());
    let mut reply = testdata::CONNECTREPLY.to_vec();
    let at = reply.windows(4).position(|w| w == [0, 122, 0, 4]).unwrap() + 4;
    reply[at..at + 4].copy_from_slice(&60u32.to_be_bytes());
    ep.handle_data(now, &reply);
    let n = ep.poll_transmit(now, &mut buf).unwrap();
    let m = FailoverMessage::new_checked(&buf[2..n]).unwrap();
    assert_eq!(m.msg_type(), MessageType::Disconnect);
    let e = PeerIncompatible::McltMismatch {
        ours: 3600,
        theirs: 60,
    };
    assert_eq!(ep.poll_event(), Some(Event::PeerError(e.into())));
    assert_eq!(ep.poll_event(), Some(Event::Close));
    assert_eq!(ep.poll_timeout(), Some(Millis(1_000)));
}

#[test]
fn shutdown_sends_disconnect_and_stops_dialling() {
    let mut p = established_pair();
    let now = p.now(0);
    p.sides[0].ep.handle_shutdown(now);
    p.drive();
    let last = p.sent[0].last().unwrap();
    let m = FailoverMessage::new_checked(&last[2..]).unwrap();
    assert_eq!(m.msg_type(), MessageType::Disconnect);
    let s = m.options().find(OptionCode::StatusCode).unwrap();
    assert_eq!(
        u16::from_be_bytes([s[0], s[1]]),
        u16::from(StatusCode::ServerShuttingDown)
    );
    let status = u16::from(StatusCode::ServerShuttingDown);
    assert!(p.events(1).contains(&Event::Disconnected { status }));
    for i in 0..2 {
        assert_eq!(p.count(i, &Event::CommunicationsFailed), 1, "side {i}");
    }
    p.advance(600_000);
    assert_eq!(p.dials.len(), 1);
    assert_eq!(p.sides[0].ep.poll_timeout(), None);
}

#[test]
fn state_change_is_sent_while_established() {
    let mut p = established_pair();
    let mut l = local();
    l.state = ServerState::PartnerDown;
    l.start_time = FoTime(T0 + 1);
    l.partner_down_time = Some(FoTime(T0));
    let now = p.now(1);
    p.sides[1].ep.handle_local_state(now, l);
    p.drive();
    let changed = PartnerState {
        state: ServerState::PartnerDown,
        ..partner()
    };
    assert!(p.events(0).contains(&Event::PartnerState {
        partner: changed,
        since: FoTime(T0 + 1)
    }));
    let last = p.sent[1].last().unwrap();
    let m = FailoverMessage::new_checked(&last[2..]).unwrap();
    assert_eq!(
        m.options().find(OptionCode::FPartnerDownTime),
        Some(&T0.to_be_bytes()[..])
    );
}

#[test]
fn api_misuse_is_reported() {
    let now = Now::default();
    let mut s = Endpoint::new(config(Role::Secondary), local()).unwrap();
    assert!(s.handle_connected(now).is_err());
    assert!(s.handle_connect_failed(now).is_err());
    assert!(s.handle_accepted(now).is_ok());
    assert!(s.handle_accepted(now).is_err());
    let mut pr = Endpoint::new(config(Role::Primary), local()).unwrap();
    assert!(pr.handle_accepted(now).is_err());
    let mut bad = config(Role::Primary);
    bad.mclt_s = 1;
    assert!(Endpoint::new(bad, local()).is_err());
    let mut buf = [0u8; 4];
    pr.handle_connected(now).unwrap();
    assert_eq!(
        pr.poll_transmit(now, &mut buf),
        None,
        "too small: stays queued"
    );
    assert!(pr.poll_transmit(now, &mut [0u8; MAX_CONTROL_LEN]).is_some());
}

#[test]
fn garbage_is_a_peer_error_then_close() {
    let now = Now::default();
    let mut s = Endpoint::new(config(Role::Secondary), local()).unwrap();
    assert_eq!(s.poll_event(), Some(Event::Stimulate));
    s.handle_accepted(now).unwrap();
    s.handle_data(now, &[0, 1, 0xff]);
    let malformed = Error::from(PeerMisbehaved::Malformed);
    assert_eq!(s.poll_event(), Some(Event::PeerError(malformed)));
    assert_eq!(s.poll_event(), Some(Event::Close));
    // A well-formed CONTACT before CONNECT is out of order.
    let mut s = Endpoint::new(config(Role::Secondary), local()).unwrap();
    assert_eq!(s.poll_event(), Some(Event::Stimulate));
    s.handle_accepted(now).unwrap();
    s.handle_data(now, testdata::CONTACT);
    let e = Error::from(PeerMisbehaved::UnexpectedMessage(35));
    assert_eq!(s.poll_event(), Some(Event::PeerError(e)));
    assert_eq!(s.poll_event(), Some(Event::Close));
}

/// A framed message of type `t` with no options, stamped with `sent`.
fn frame(t: MessageType, xid: u32, sent: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let fw = tandem_wire::failover::FailoverWriter::new(
        &mut buf,
        t,
        Xid::from_u32(xid),
        Some(tandem_wire::failover::FailoverTime(sent)),
    )
    .unwrap();
    let n = fw.finish().unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn binding_level_messages_reach_the_layer_above() {
    let mut p = established_pair();
    let now = p.now(1);
    let bndupd = frame(MessageType::BndUpd, 77, now.wall.0);
    p.sides[1].ep.handle_data(now, &bndupd);
    let e = p.sides[1].ep.poll_event();
    assert_eq!(
        e,
        Some(Event::Message {
            msg_type: 24,
            xid: Xid::from_u32(77),
            frame: bndupd[2..].into(),
        })
    );
    // An unknown type is skipped and counted, not fatal (R4, R63).
    p.sides[1]
        .ep
        .handle_data(now, &frame(MessageType::from(99), 78, now.wall.0));
    assert_eq!(p.sides[1].ep.poll_event(), None);
    assert_eq!(p.sides[1].ep.ignored_messages(), 1);
    assert!(p.sides[1].ep.is_established());
}

#[test]
fn binding_level_messages_before_state_are_refused() {
    // R19: nothing but STATE may follow CONNECT / CONNECTREPLY.
    let now = Now {
        mono: Millis(0),
        wall: FoTime(T0),
    };
    let mut s = Endpoint::new(config(Role::Secondary), local()).unwrap();
    assert_eq!(s.poll_event(), Some(Event::Stimulate));
    s.handle_accepted(now).unwrap();
    s.handle_data(now, &frame(MessageType::BndUpd, 1, T0));
    let e = Error::from(PeerMisbehaved::UnexpectedMessage(24));
    assert_eq!(s.poll_event(), Some(Event::PeerError(e)));
    assert_eq!(s.poll_event(), Some(Event::Close));
}

#[test]
fn average_skew_beyond_five_seconds_drops_an_established_connection() {
    // R24: one late message does not; a drifting clock does.
    let mut p = established_pair();
    let now = p.now(1);
    let late = frame(MessageType::Contact, 5, now.wall.0 - 30);
    p.sides[1].ep.handle_data(now, &late);
    assert!(p.sides[1].ep.is_established(), "one sample of -30 s in 16");
    for x in 0..16 {
        p.sides[1]
            .ep
            .handle_data(now, &frame(MessageType::Contact, 10 + x, now.wall.0 + 9));
    }
    assert!(!p.sides[1].ep.is_established());
    let events: Vec<Event> = std::iter::from_fn(|| p.sides[1].ep.poll_event()).collect();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::PeerError(Error::PeerIncompatible(
            PeerIncompatible::ExcessiveTimeSkew { .. }
        ))
    )));
    assert!(events.contains(&Event::CommunicationsFailed));
}

#[test]
fn alloc_xid_skips_outstanding_xids_across_the_wrap() {
    // R5: the counter near 2^24 wraps to 0 and skips xids still waiting for an answer.
    let mut p = established_pair();
    let ep = &mut p.sides[0].ep;
    ep.next_xid = 0x00ff_fffe;
    let busy = [0x00ff_ffff_u32, 0, 1];
    let x = ep.alloc_xid(|x| busy.contains(&x.to_u32()));
    assert_eq!(x.to_u32(), 0x00ff_fffe);
    let x = ep.alloc_xid(|x| busy.contains(&x.to_u32()));
    assert_eq!(x.to_u32(), 2);
}

#[test]
fn note_sent_postpones_contact() {
    let mut p = established_pair();
    let before = p.sides[0].ep.poll_timeout();
    p.now_ms += 5_000;
    let now = p.now(0);
    p.sides[0].ep.note_sent(now);
    let after = p.sides[0].ep.poll_timeout();
    assert!(after > before, "{before:?} -> {after:?}");
}

proptest! {
    #[test]
    fn random_bytes_never_panic_or_establish(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        primary in any::<bool>(),
    ) {
        let now = Now { mono: Millis(0), wall: FoTime(T0) };
        let role = if primary { Role::Primary } else { Role::Secondary };
        let mut ep = Endpoint::new(config(role), local()).unwrap();
        if primary {
            prop_assert_eq!(ep.poll_event(), Some(Event::Connect));
            ep.handle_connected(now).unwrap();
        } else {
            ep.handle_accepted(now).unwrap();
        }
        ep.handle_data(now, &data);
        let mut buf = [0u8; MAX_CONTROL_LEN];
        while ep.poll_transmit(now, &mut buf).is_some() {}
        let events: Vec<Event> = std::iter::from_fn(|| ep.poll_event()).collect();
        let established = events.iter().any(|e| matches!(e, Event::Established { .. }));
        prop_assert!(!established);
        if let Some(at) = events.iter().position(|e| matches!(e, Event::PeerError(_))) {
            prop_assert!(events[at..].contains(&Event::Close));
        }
    }
}
