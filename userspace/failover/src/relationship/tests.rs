//! Two relationships driven against each other over an in-memory wire with a fake clock and a
//! toy lease store per side: a key → version map where a higher version wins, standing in
//! for the conflict rules (the real BNDUPD codec and rules are tested on their own).

use std::collections::BTreeMap;

use tandem_wire::failover::{FailoverMessage, FailoverTime, FailoverWriter};
use tandem_wire::{MessageType, OptionCode, StatusCode, Xid};

use super::*;
use crate::lazy::LazyUpdate;

const T0: u32 = 800_000_000;
/// The toy option carrying key and version.
const TOY: OptionCode = OptionCode::Unknown(0xfff0);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Toy {
    key: u32,
    version: u32,
}

fn toy_frame(
    t: MessageType,
    xid: Xid,
    sent: FoTime,
    toy: &Toy,
    reject: bool,
    buf: &mut [u8],
) -> Option<usize> {
    let mut fw = FailoverWriter::new(buf, t, xid, Some(FailoverTime(sent.0))).ok()?;
    let mut data = [0u8; 8];
    data[..4].copy_from_slice(&toy.key.to_be_bytes());
    data[4..].copy_from_slice(&toy.version.to_be_bytes());
    fw.writer().option(TOY, &data).ok()?;
    if reject {
        fw.writer()
            .status_code(StatusCode::OutdatedBindingInformation, "")
            .ok()?;
    }
    fw.finish().ok()
}

fn toy_of(m: &FailoverMessage<'_>) -> Toy {
    let d = m.options().find(TOY).unwrap();
    Toy {
        key: u32::from_be_bytes(d[..4].try_into().unwrap()),
        version: u32::from_be_bytes(d[4..].try_into().unwrap()),
    }
}

impl LazyUpdate for Toy {
    type Key = u32;
    fn key(&self) -> u32 {
        self.key
    }
    fn encoded_len(&self) -> usize {
        2 + 8 + 12
    }
    fn encode(&self, xid: Xid, sent: FoTime, buf: &mut [u8]) -> Option<usize> {
        toy_frame(MessageType::BndUpd, xid, sent, self, false, buf)
    }
    fn is_rejection(reply: &FailoverMessage<'_>) -> bool {
        reply.options().find(OptionCode::StatusCode).is_some()
    }
}

/// One server: its relationship, its toy store (key → (version, partner must be told)), what
/// it persisted and reported.
struct Side {
    rel: Relationship<Toy>,
    store: BTreeMap<u32, (u32, bool)>,
    persisted: Option<PersistedState>,
    events: Vec<Event<u32, Toy>>,
    states: Vec<ServerState>,
    /// Hold `handle_persisted` (to test R20); held records go to `held`.
    hold_persist: bool,
    held: Option<PersistedState>,
    /// Do not call `handle_collected` (an answer to UPDREQ never completes).
    hold_collect: bool,
    /// Never answer the partner's BNDUPDs.
    hold_replies: bool,
    open: bool,
    /// BNDUPDs this side sent (types of every frame, in order).
    sent_types: Vec<MessageType>,
    max_in_flight_seen: usize,
}

struct Pair {
    now_ms: u64,
    sides: [Side; 2],
    wire: [Vec<u8>; 2],
    /// The link is cut: dials fail, bytes are lost.
    cut: bool,
}

fn cfg(role: Role) -> RelationshipConfig {
    let mut c = Config::new(role, b"pair");
    c.mclt_s = 60;
    c.max_unacked_bndupd = 2;
    let mut r = RelationshipConfig::new(c);
    r.startup_timer = Millis(5_000);
    r.lazy_pass_interval = Millis(10_000);
    r
}

impl Side {
    fn new(c: RelationshipConfig, persisted: Option<PersistedState>, now: Now) -> Self {
        Self {
            rel: Relationship::new(c, persisted.as_ref(), now).unwrap(),
            store: BTreeMap::new(),
            persisted,
            events: Vec::new(),
            states: Vec::new(),
            hold_persist: false,
            held: None,
            hold_collect: false,
            hold_replies: false,
            open: false,
            sent_types: Vec::new(),
            max_in_flight_seen: 0,
        }
    }

    /// A client got a lease: store it flagged, and queue the update (R27).
    fn grant(&mut self, now: Now, key: u32) {
        let v = self.store.get(&key).map_or(1, |(v, _)| v + 1);
        self.store.insert(key, (v, true));
        self.rel.queue_update(now, Toy { key, version: v });
    }
}

impl Pair {
    fn new() -> Self {
        Self::with(cfg(Role::Primary), cfg(Role::Secondary), None, None)
    }

    fn with(
        p: RelationshipConfig,
        s: RelationshipConfig,
        pp: Option<PersistedState>,
        sp: Option<PersistedState>,
    ) -> Self {
        let now = Now {
            mono: Millis(0),
            wall: FoTime(T0),
        };
        Self {
            now_ms: 0,
            sides: [Side::new(p, pp, now), Side::new(s, sp, now)],
            wire: [Vec::new(), Vec::new()],
            cut: false,
        }
    }

    fn now(&self) -> Now {
        Now {
            mono: Millis(self.now_ms),
            wall: FoTime(T0 + (self.now_ms / 1000) as u32),
        }
    }

    fn state(&self, i: usize) -> ServerState {
        self.sides[i].rel.state().0
    }

    fn drive(&mut self) {
        for _ in 0..10_000 {
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
        let now = self.now();
        let mut moved = false;
        let mut buf = vec![0u8; 4096];
        while let Some(n) = self.sides[i].rel.poll_transmit(now, &mut buf) {
            moved = true;
            let m = FailoverMessage::new_checked(&buf[2..n]).unwrap();
            self.sides[i].sent_types.push(m.msg_type());
            let (_, _, in_flight, _) = self.sides[i].rel.queue_status();
            let side = &mut self.sides[i];
            side.max_in_flight_seen = side.max_in_flight_seen.max(in_flight);
            if self.sides[i].open && !self.cut {
                self.wire[1 - i].extend_from_slice(&buf[..n]);
            }
        }
        while let Some(e) = self.sides[i].rel.poll_event() {
            moved = true;
            self.sides[i].events.push(e.clone());
            self.on_event(i, now, e);
        }
        if !self.wire[i].is_empty() {
            moved = true;
            let data = std::mem::take(&mut self.wire[i]);
            if self.sides[i].open {
                self.sides[i].rel.handle_data(now, &data);
            }
        }
        moved
    }

    fn on_event(&mut self, i: usize, now: Now, e: Event<u32, Toy>) {
        match e {
            Event::Connect => {
                if self.cut || self.sides[1 - i].rel.handle_accepted(now).is_err() {
                    self.sides[i].rel.handle_connect_failed(now).unwrap();
                } else {
                    self.sides[i].open = true;
                    self.sides[1 - i].open = true;
                    self.sides[i].rel.handle_connected(now).unwrap();
                }
            }
            Event::Close => {
                self.sides[i].open = false;
                self.sides[i].rel.handle_closed(now);
                if self.sides[1 - i].open {
                    self.sides[1 - i].open = false;
                    self.sides[1 - i].rel.handle_closed(now);
                }
                self.wire = [Vec::new(), Vec::new()];
            }
            Event::Persist(p) => {
                if self.sides[i].hold_persist {
                    self.sides[i].held = Some(p);
                } else {
                    self.sides[i].persisted = Some(p);
                    self.sides[i].rel.handle_persisted(now);
                }
            }
            Event::StateChanged { state, .. } => self.sides[i].states.push(state),
            Event::CollectUpdates { all } => {
                let side = &mut self.sides[i];
                let items: Vec<Toy> = side
                    .store
                    .iter()
                    .filter(|(_, (_, flagged))| all || *flagged)
                    .map(|(&key, &(version, _))| Toy { key, version })
                    .collect();
                for t in items {
                    side.rel.queue_update(now, t);
                }
                if !side.hold_collect {
                    side.rel.handle_collected(now);
                }
            }
            Event::BindingUpdate { .. } if self.sides[i].hold_replies => {}
            Event::BindingUpdate { xid, frame } => {
                let m = FailoverMessage::new_checked(&frame).unwrap();
                let toy = toy_of(&m);
                let side = &mut self.sides[i];
                let local = side.store.get(&toy.key).map_or(0, |(v, _)| *v);
                let accept = toy.version > local;
                if accept {
                    side.store.insert(toy.key, (toy.version, false));
                    side.rel.forget_update(&toy.key);
                } else if let Some(entry) = side.store.get_mut(&toy.key) {
                    // §7.5 step 5: our newer data must reach the partner.
                    entry.1 = true;
                }
                let mut buf = [0u8; 64];
                let n = toy_frame(
                    MessageType::BndReply,
                    xid,
                    now.wall,
                    &toy,
                    !accept,
                    &mut buf,
                )
                .unwrap();
                side.rel.send_reply(now, buf[..n].into());
            }
            Event::BindingReply { settled, frame } => {
                let m = FailoverMessage::new_checked(&frame).unwrap();
                let toy = toy_of(&m);
                assert_eq!(settled.key, toy.key);
                if !settled.rejected {
                    let side = &mut self.sides[i];
                    if let Some(entry) = side.store.get_mut(&toy.key) {
                        if entry.0 == toy.version {
                            entry.1 = false;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Advances the clock by `ms` in steps, firing timers.
    fn advance(&mut self, ms: u64) {
        let end = self.now_ms + ms;
        self.drive();
        while self.now_ms < end {
            let next = (0..2)
                .filter_map(|i| self.sides[i].rel.poll_timeout())
                .map(|m| m.0)
                .min()
                .unwrap_or(end)
                .clamp(self.now_ms, end);
            self.now_ms = next.max(self.now_ms);
            let now = self.now();
            for i in 0..2 {
                self.sides[i].rel.handle_timeout(now);
            }
            self.drive();
            if next >= end {
                break;
            }
        }
        self.now_ms = end;
    }

    /// Cuts the link: both sides see the connection close.
    fn cut(&mut self) {
        self.cut = true;
        let now = self.now();
        for i in 0..2 {
            if self.sides[i].open {
                self.sides[i].open = false;
                self.sides[i].rel.handle_closed(now);
            }
        }
        self.wire = [Vec::new(), Vec::new()];
        self.drive();
    }

    fn heal(&mut self) {
        self.cut = false;
    }

    /// Kills side `i` and starts it again with what it persisted (or nothing).
    fn restart(&mut self, i: usize, keep_storage: bool) {
        self.cut();
        self.heal();
        let now = self.now();
        let role = if i == 0 {
            Role::Primary
        } else {
            Role::Secondary
        };
        let persisted = if keep_storage {
            self.sides[i].persisted
        } else {
            None
        };
        let store = if keep_storage {
            self.sides[i].store.clone()
        } else {
            BTreeMap::new()
        };
        self.sides[i] = Side::new(cfg(role), persisted, now);
        self.sides[i].store = store;
        self.drive();
    }
}

/// A fresh pair reaches NORMAL on both sides.
fn normal_pair() -> Pair {
    let mut p = Pair::new();
    // Both start in STARTUP and see each other's S flag: the STARTUP timer (5 s) decides.
    p.advance(6_000);
    assert_eq!(p.state(0), ServerState::Normal, "{:?}", p.sides[0].states);
    assert_eq!(p.state(1), ServerState::Normal, "{:?}", p.sides[1].states);
    p
}

#[test]
fn a_fresh_pair_recovers_then_reaches_normal() {
    // OPEN-8: no storage ⇒ RECOVER; neither side ever talked to the other, so RECOVER-WAIT
    // ends at once (first run), then RECOVER-DONE → NORMAL (RFC 8156 §8.5–8.7).
    let p = normal_pair();
    for i in 0..2 {
        assert_eq!(
            p.sides[i].states,
            [
                ServerState::Recover,
                ServerState::RecoverWait,
                ServerState::RecoverDone,
                ServerState::Normal
            ],
            "side {i}"
        );
        // No storage: everything is asked for (R51).
        assert!(
            p.sides[i].sent_types.contains(&MessageType::UpdReqAll),
            "side {i}: {:?}",
            p.sides[i].sent_types
        );
        assert!(p.sides[i].sent_types.contains(&MessageType::UpdDone));
        let stored = p.sides[i].persisted.unwrap();
        assert_eq!(stored.current, ServerState::Normal);
        assert!(stored.partner.is_some());
    }
}

#[test]
fn lazy_updates_reach_the_partner_within_the_window() {
    let mut p = normal_pair();
    let now = p.now();
    for k in 0..20 {
        p.sides[0].grant(now, k);
        p.sides[1].grant(now, 100 + k);
    }
    p.drive();
    for i in 0..2 {
        assert_eq!(p.sides[i].store.len(), 40, "side {i}");
        assert!(p.sides[i].store.values().all(|(_, flagged)| !flagged));
        // R32: the partner advertised 2.
        assert!(p.sides[i].max_in_flight_seen <= 2);
        let (stats, waiting, in_flight, _) = p.sides[i].rel.queue_status();
        assert_eq!((waiting, in_flight), (0, 0));
        assert_eq!(stats.acked, 20);
    }
}

#[test]
fn state_is_announced_only_after_it_is_persisted() {
    // R20: the partner never learns a state we have not stored.
    let mut p = normal_pair();
    p.sides[0].hold_persist = true;
    p.cut();
    assert_eq!(p.state(0), ServerState::CommunicationsInterrupted);
    assert_eq!(
        p.sides[0].held.unwrap().current,
        ServerState::CommunicationsInterrupted
    );
    p.heal();
    p.advance(3_000);
    // Reconnected: the primary's state moved on (NORMAL), unstored; the secondary heard only
    // the last stored one.
    assert_eq!(p.state(0), ServerState::Normal);
    assert_eq!(p.sides[0].persisted.unwrap().current, ServerState::Normal);
    let announced: Vec<ServerState> = p.sides[1]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PartnerState(s) => Some(s.state),
            _ => None,
        })
        .collect();
    assert!(!announced.contains(&ServerState::CommunicationsInterrupted));
    let before = announced.len();
    p.sides[0].hold_persist = false;
    let held = p.sides[0].held.take().unwrap();
    p.sides[0].persisted = Some(held);
    let now = p.now();
    p.sides[0].rel.handle_persisted(now);
    p.advance(1_000);
    let after = p.sides[1]
        .events
        .iter()
        .filter(|e| matches!(e, Event::PartnerState(_)))
        .count();
    assert_eq!(after, before + 1, "STATE released by handle_persisted");
    assert_eq!(p.state(1), ServerState::Normal);
}

#[test]
fn link_loss_interrupts_and_changes_made_meanwhile_arrive_after_reconnect() {
    // R28: per-lease flags carry what happened while the link was down.
    let mut p = normal_pair();
    p.cut();
    for i in 0..2 {
        assert_eq!(p.state(i), ServerState::CommunicationsInterrupted);
        assert!(p.sides[i]
            .events
            .contains(&Event::Alarm(Alarm::CommunicationsInterrupted)));
    }
    let now = p.now();
    p.sides[0].grant(now, 1);
    p.sides[1].grant(now, 2);
    p.heal();
    p.advance(70_000);
    for i in 0..2 {
        assert_eq!(p.state(i), ServerState::Normal, "side {i}");
        assert_eq!(p.sides[i].store.len(), 2, "side {i}");
    }
}

#[test]
fn auto_partner_down_fires_only_when_configured() {
    let mut c = cfg(Role::Secondary);
    c.auto_partner_down = Some(Millis(30_000));
    let mut p = Pair::with(cfg(Role::Primary), c, None, None);
    p.advance(6_000);
    p.cut();
    p.advance(29_000);
    assert_eq!(p.state(1), ServerState::CommunicationsInterrupted);
    p.advance(2_000);
    assert_eq!(p.state(1), ServerState::PartnerDown);
    assert_eq!(p.state(0), ServerState::CommunicationsInterrupted);
    p.advance(600_000);
    assert_eq!(p.state(0), ServerState::CommunicationsInterrupted);
}

/// A NORMAL pair where the primary granted ten bindings, then the link was cut and the
/// operator put the secondary into PARTNER-DOWN.
fn secondary_alone_with_ten_bindings() -> Pair {
    let mut p = normal_pair();
    let now = p.now();
    for k in 0..10 {
        p.sides[0].grant(now, k);
    }
    p.drive();
    p.cut();
    let now = p.now();
    p.sides[1].rel.handle_partner_down(now);
    p.drive();
    p
}

#[test]
fn empty_store_restart_resyncs_everything_with_updreqall() {
    // R51: the primary loses its storage; the secondary, in PARTNER-DOWN, has everything.
    let mut p = secondary_alone_with_ten_bindings();
    assert_eq!(p.state(1), ServerState::PartnerDown);
    let now = p.now();
    for k in 10..15 {
        p.sides[1].grant(now, k);
    }
    p.advance(5_000);
    p.restart(0, false);
    p.advance(2_000);
    assert_eq!(
        p.state(0),
        ServerState::RecoverWait,
        "{:?}",
        p.sides[0].states
    );
    assert!(p.sides[0].sent_types.contains(&MessageType::UpdReqAll));
    assert_eq!(p.sides[0].store.len(), 15);
    // The secondary keeps serving while it answers (we do better than stopping).
    assert_eq!(p.state(1), ServerState::PartnerDown);
    // RECOVER-WAIT lasts the MCLT (60 s) from the start, since the failure time was lost.
    p.advance(50_000);
    assert_eq!(p.state(0), ServerState::RecoverWait);
    p.advance(15_000);
    assert_eq!(p.state(0), ServerState::Normal, "{:?}", p.sides[0].states);
    assert_eq!(p.state(1), ServerState::Normal);
}

#[test]
fn an_interrupted_updreqall_is_asked_again_in_full() {
    // The first answer is cut short; the recovering server now has a record of the partner,
    // but asking only for the unacknowledged rest would lose the remainder.
    let mut p = secondary_alone_with_ten_bindings();
    p.advance(5_000);
    p.sides[1].hold_collect = true;
    p.restart(0, false);
    p.advance(2_000);
    assert_eq!(p.state(0), ServerState::Recover);
    p.cut();
    p.heal();
    p.sides[1].hold_collect = false;
    p.advance(3_000);
    let asked = p.sides[0]
        .sent_types
        .iter()
        .filter(|t| **t == MessageType::UpdReqAll)
        .count();
    assert_eq!(asked, 2, "{:?}", p.sides[0].sent_types);
    assert!(!p.sides[0].sent_types.contains(&MessageType::UpdReq));
    assert_eq!(p.sides[0].store.len(), 10);
}

#[test]
fn partition_with_both_partner_down_resolves_through_potential_conflict() {
    // R53: primary UPDREQ → CONFLICT-DONE → secondary UPDREQ → NORMAL → NORMAL.
    let mut p = normal_pair();
    p.cut();
    let now = p.now();
    for i in 0..2 {
        p.sides[i].rel.handle_partner_down(now);
    }
    p.drive();
    let now = p.now();
    p.sides[0].grant(now, 1);
    p.sides[1].grant(now, 2);
    p.heal();
    p.advance(70_000);
    for i in 0..2 {
        assert_eq!(
            p.state(i),
            ServerState::Normal,
            "side {i}: {:?}",
            p.sides[i].states
        );
        assert_eq!(p.sides[i].store.len(), 2);
    }
    let tail = |i: usize| p.sides[i].states[p.sides[i].states.len() - 3..].to_vec();
    assert_eq!(
        tail(0),
        [
            ServerState::PotentialConflict,
            ServerState::ConflictDone,
            ServerState::Normal
        ]
    );
    assert_eq!(
        p.sides[1].states[p.sides[1].states.len() - 2..],
        [ServerState::PotentialConflict, ServerState::Normal]
    );
}

#[test]
fn potential_conflict_interrupted_goes_to_resolution_interrupted_with_an_alarm() {
    let mut p = normal_pair();
    p.cut();
    let now = p.now();
    for i in 0..2 {
        p.sides[i].rel.handle_partner_down(now);
    }
    p.heal();
    // Reconnect and reach POTENTIAL-CONFLICT; the secondary never finishes its answer.
    p.sides[1].hold_collect = true;
    p.advance(3_000);
    assert_eq!(p.state(0), ServerState::PotentialConflict);
    p.cut();
    assert_eq!(p.state(0), ServerState::ResolutionInterrupted);
    assert!(p.sides[0]
        .events
        .contains(&Event::Alarm(Alarm::ResolutionInterrupted)));
}

#[test]
fn disagreement_is_bounded_not_a_storm() {
    // R37: both sides hold a version the other rejects; the exchange is bounded per pass.
    let mut p = normal_pair();
    let now = p.now();
    // Equal versions on both sides: each rejects the other's as not newer.
    p.sides[0].store.insert(7, (5, true));
    p.sides[1].store.insert(7, (5, true));
    p.sides[0].rel.queue_update(now, Toy { key: 7, version: 5 });
    p.sides[1].rel.queue_update(now, Toy { key: 7, version: 5 });
    p.drive();
    let count = |p: &Pair| {
        p.sides
            .iter()
            .map(|s| {
                s.sent_types
                    .iter()
                    .filter(|t| **t == MessageType::BndUpd)
                    .count()
            })
            .sum::<usize>()
    };
    assert_eq!(count(&p), 2, "one each, no immediate counter-update");
    p.advance(200_000);
    // At most MAX_ATTEMPTS per side, then given up with an alarm.
    assert_eq!(count(&p), 2 * usize::from(crate::lazy::MAX_ATTEMPTS));
    assert!(p.sides[0]
        .events
        .contains(&Event::Alarm(Alarm::UpdateGivenUp)));
}

#[test]
fn shutdown_flushes_updates_then_disconnects() {
    // R21.
    let mut p = normal_pair();
    let now = p.now();
    for k in 0..6 {
        p.sides[0].grant(now, k);
    }
    p.sides[0].rel.handle_shutdown(now);
    p.drive();
    let types = &p.sides[0].sent_types;
    let last_bndupd = types
        .iter()
        .rposition(|t| *t == MessageType::BndUpd)
        .unwrap();
    let disconnect = types
        .iter()
        .position(|t| *t == MessageType::Disconnect)
        .unwrap();
    assert!(last_bndupd < disconnect);
    assert_eq!(p.sides[1].store.len(), 6);
    assert_eq!(p.state(1), ServerState::CommunicationsInterrupted);
}

#[test]
fn restart_with_storage_returns_through_communications_interrupted() {
    // R49, R50: a crash in NORMAL restarts in STARTUP, then COMMUNICATIONS-INTERRUPTED's
    // comms-OK transition to NORMAL; no resync is needed.
    let mut p = normal_pair();
    p.advance(120_000);
    p.restart(1, true);
    p.advance(2_000);
    assert_eq!(p.state(1), ServerState::Normal, "{:?}", p.sides[1].states);
    // PREVIOUS-STATE NORMAL becomes COMMUNICATIONS-INTERRUPTED (§8.3.1 step 2).
    assert_eq!(
        p.sides[1].states,
        [ServerState::CommunicationsInterrupted, ServerState::Normal]
    );
    assert!(!p.sides[1].sent_types.contains(&MessageType::UpdReqAll));
}

#[test]
fn poolreq_is_acknowledged_with_poolresp_and_reported() {
    // RFC 8156 §4.2.2: POOLRESP only acknowledges; the rebalancing is the shell's business.
    let mut p = normal_pair();
    let now = p.now();
    let mut buf = [0u8; 32];
    let n = FailoverWriter::new(
        &mut buf,
        MessageType::PoolReq,
        Xid([0, 0, 42]),
        Some(FailoverTime(now.wall.0)),
    )
    .unwrap()
    .finish()
    .unwrap();
    p.sides[0].rel.handle_data(now, &buf[..n]);
    let mut out = [0u8; 64];
    let sent = p.sides[0].rel.poll_transmit(now, &mut out).unwrap();
    let m = FailoverMessage::new_checked(&out[2..sent]).unwrap();
    assert_eq!(m.msg_type(), MessageType::PoolResp);
    assert_eq!(m.xid(), Xid([0, 0, 42]));
    let ev = std::iter::from_fn(|| p.sides[0].rel.poll_event()).collect::<Vec<_>>();
    assert!(ev.contains(&Event::PoolMessage {
        msg_type: 26,
        xid: Xid([0, 0, 42])
    }));
}

#[test]
fn the_secondary_asks_for_its_prefix_share_after_announcing_normal() {
    // RFC 8156 §8 NORMAL entry actions and §4.2.2: the secondary sends POOLREQ, the primary
    // answers POOLRESP and tells its shell to rebalance.
    let p = normal_pair();
    let sent = &p.sides[1].sent_types;
    let state = sent.iter().rposition(|t| *t == MessageType::State).unwrap();
    let pool = sent
        .iter()
        .position(|t| *t == MessageType::PoolReq)
        .unwrap();
    assert!(pool > state, "POOLREQ before STATE(NORMAL): {sent:?}");
    assert_eq!(
        sent.iter().filter(|t| **t == MessageType::PoolReq).count(),
        1
    );
    assert!(!p.sides[0].sent_types.contains(&MessageType::PoolReq));
    assert!(p.sides[0].sent_types.contains(&MessageType::PoolResp));
}

#[test]
fn a_protocol_error_drops_the_connection_and_the_primary_redials() {
    let mut p = normal_pair();
    let now = p.now();
    p.sides[1].rel.handle_protocol_error(now);
    p.drive();
    assert_eq!(p.state(1), ServerState::CommunicationsInterrupted);
    p.advance(5_000);
    assert_eq!(p.state(0), ServerState::Normal);
    assert_eq!(p.state(1), ServerState::Normal);
}

#[test]
fn updates_unanswered_too_long_drop_the_connection_and_go_again() {
    // RFC 8156 §8 (NORMAL: BNDUPDs unacked too long may end comms): a partner that stays
    // connected but never answers gets the connection dropped after 60 s, with an alarm; the
    // update goes again on the next connection.
    let mut p = normal_pair();
    p.sides[1].hold_replies = true;
    let now = p.now();
    p.sides[0].grant(now, 42);
    p.advance(59_000);
    assert!(!p.sides[0]
        .events
        .contains(&Event::Alarm(Alarm::UpdatesUnacked)));
    assert!(!p.sides[1].store.contains_key(&42));
    // The partner recovers; the connection is dropped at 60 s and the update goes again.
    p.sides[1].hold_replies = false;
    p.advance(12_000);
    assert!(p.sides[0]
        .events
        .contains(&Event::Alarm(Alarm::UpdatesUnacked)));
    assert_eq!(p.state(0), ServerState::Normal);
    assert!(
        p.sides[1].store.contains_key(&42),
        "sent again and answered: {:?} {:?} {:?}",
        p.sides[0].states,
        p.sides[1].states,
        &p.sides[0].sent_types[p.sides[0].sent_types.len().saturating_sub(12)..]
    );
    assert!(p.sides[0].store.values().all(|(_, flagged)| !flagged));
}
