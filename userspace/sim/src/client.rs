//! Simulated DHCPv6 clients on the link both servers serve (RFC 8415 §18.2): Solicit with
//! Rapid Commit, Renew at T1 to the server that granted, Rebind at T2 to any, Release now and
//! then, retransmission on loss. Messages are real DHCPv6 bytes built with `tandem-wire`; what
//! a client holds (address and expiry) is what the safety check looks at.

use std::net::{Ipv6Addr, SocketAddrV6};

use tandem_wire::{
    IaAddr, IaNa, IaPd, IaPrefix, Message, MessageType, OptionCode, StatusCode, StatusCodeOption,
    Writer, Xid,
};

use crate::rng::Rng;

/// ff02::1:2, All_DHCP_Relay_Agents_and_Servers.
pub const ALL_DHCP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// IAID every simulated client uses for its one IA_NA.
const IAID: u32 = 1;
/// IAID of its one IA_PD.
const PD_IAID: u32 = 2;
/// Retransmission timeout (simplified RFC 8415 §15: fixed, with a retry limit).
const RETRANS_MS: u64 = 2_000;
const MAX_TRIES: u8 = 4;

/// A lease a client holds: what the safety check compares across clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub addr: Ipv6Addr,
    /// When the client stops using it (sim milliseconds).
    pub expires_ms: u64,
    /// When it was granted or last extended.
    pub granted_ms: u64,
    /// Which server (0 primary, 1 secondary) granted or extended it.
    pub server: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Idle,
    Soliciting,
    Bound,
    Renewing,
    Rebinding,
    Releasing,
}

/// One simulated client.
#[derive(Debug, Clone)]
pub struct Client {
    pub duid: Vec<u8>,
    pub ll: Ipv6Addr,
    phase: Phase,
    pub held: Option<Held>,
    /// A delegated prefix it holds: (prefix, length, expires at sim ms).
    pub held_pd: Option<(Ipv6Addr, u8, u64)>,
    /// The server DUID that granted `held`.
    server_id: Vec<u8>,
    /// The address named in the Release being sent (no longer held).
    releasing: Option<Ipv6Addr>,
    /// The prefix named in it.
    releasing_pd: Option<(Ipv6Addr, u8)>,
    t1_ms: u64,
    t2_ms: u64,
    xid: u32,
    tries: u8,
    /// When the client acts next.
    pub next_ms: u64,
    sent_ms: u64,
}

/// What a client wants sent: to every server on the link (multicast).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub packet: Vec<u8>,
    pub src: SocketAddrV6,
    pub dst: Ipv6Addr,
}

impl Client {
    /// Client number `n`, idle until `start_ms`.
    pub fn new(n: u16, start_ms: u64) -> Self {
        let [a, b] = n.to_be_bytes();
        // DUID-LL (type 3, hardware type 1) with a distinct MAC.
        let duid = vec![0, 3, 0, 1, 0x52, 0x54, 0, 0x5a, a, b];
        let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x5054, 0xff, 0xfe00, n);
        Self {
            duid,
            ll,
            phase: Phase::Idle,
            held: None,
            held_pd: None,
            server_id: Vec::new(),
            releasing: None,
            releasing_pd: None,
            t1_ms: 0,
            t2_ms: 0,
            xid: u32::from(n) << 8,
            tries: 0,
            next_ms: start_ms,
            sent_ms: 0,
        }
    }

    /// The prefix the client holds at `now_ms`, if still valid.
    pub fn holding_pd(&self, now_ms: u64) -> Option<(Ipv6Addr, u8)> {
        self.held_pd
            .filter(|&(_, _, exp)| exp > now_ms)
            .map(|(a, l, _)| (a, l))
    }

    /// The lease the client holds at `now_ms`, if still valid.
    pub fn holding(&self, now_ms: u64) -> Option<&Held> {
        self.held.as_ref().filter(|h| h.expires_ms > now_ms)
    }

    /// Runs the client's timers at `now_ms`; returns a message to send, if any.
    pub fn tick(&mut self, now_ms: u64, rng: &mut Rng) -> Option<Outgoing> {
        if now_ms < self.next_ms {
            return None;
        }
        if let Some(h) = &self.held {
            if h.expires_ms <= now_ms {
                // Lost the lease: start over (RFC 8415 §18.2.5).
                self.held = None;
                self.phase = Phase::Idle;
            }
        }
        match self.phase {
            Phase::Idle => {
                self.phase = Phase::Soliciting;
                self.tries = 0;
                self.send(now_ms, MessageType::Solicit)
            }
            Phase::Bound if now_ms >= self.t2_ms => {
                self.phase = Phase::Rebinding;
                self.tries = 0;
                self.send(now_ms, MessageType::Rebind)
            }
            Phase::Bound => {
                if rng.chance(5) {
                    // RFC 8415 §18.2.7: the client stops using the address when it sends
                    // the Release, whatever becomes of the message.
                    self.phase = Phase::Releasing;
                    self.tries = 0;
                    self.releasing = self.held.take().map(|h| h.addr);
                    self.releasing_pd = self.held_pd.take().map(|(a, l, _)| (a, l));
                    return self.send(now_ms, MessageType::Release);
                }
                self.phase = Phase::Renewing;
                self.tries = 0;
                self.send(now_ms, MessageType::Renew)
            }
            Phase::Renewing if now_ms >= self.t2_ms => {
                self.phase = Phase::Rebinding;
                self.tries = 0;
                self.send(now_ms, MessageType::Rebind)
            }
            Phase::Soliciting | Phase::Renewing | Phase::Rebinding | Phase::Releasing => {
                if self.tries >= MAX_TRIES {
                    return self.give_up(now_ms, rng);
                }
                let t = match self.phase {
                    Phase::Soliciting => MessageType::Solicit,
                    Phase::Renewing => MessageType::Renew,
                    Phase::Rebinding => MessageType::Rebind,
                    _ => MessageType::Release,
                };
                self.send(now_ms, t)
            }
        }
    }

    fn give_up(&mut self, now_ms: u64, rng: &mut Rng) -> Option<Outgoing> {
        match self.phase {
            Phase::Releasing => {
                // RFC 8415 §18.2.7: after the retries, the client stops using the address.
                self.held = None;
                self.phase = Phase::Idle;
                self.next_ms = now_ms + rng.range(5_000, 60_000);
            }
            Phase::Renewing => {
                self.phase = Phase::Bound;
                self.next_ms = self.t2_ms;
            }
            Phase::Rebinding => {
                self.phase = Phase::Bound;
                self.t2_ms = now_ms;
                self.next_ms = self
                    .held
                    .as_ref()
                    .map_or(now_ms + RETRANS_MS, |h| h.expires_ms.min(now_ms + 10_000));
            }
            _ => {
                self.phase = Phase::Idle;
                self.next_ms = now_ms + rng.range(2_000, 20_000);
            }
        }
        None
    }

    fn send(&mut self, now_ms: u64, t: MessageType) -> Option<Outgoing> {
        if self.tries == 0 {
            self.xid = (self.xid + 1) & 0x00ff_ffff;
        }
        self.tries += 1;
        self.sent_ms = now_ms;
        self.next_ms = now_ms + RETRANS_MS;
        let packet = self.build(t)?;
        Some(Outgoing {
            packet,
            src: SocketAddrV6::new(self.ll, 546, 0, 0),
            dst: ALL_DHCP,
        })
    }

    fn build(&self, t: MessageType) -> Option<Vec<u8>> {
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf);
        w.message_header(t, Xid::from_u32(self.xid)).ok()?;
        w.option(OptionCode::ClientId, &self.duid).ok()?;
        if matches!(t, MessageType::Renew | MessageType::Release) {
            w.option(OptionCode::ServerId, &self.server_id).ok()?;
        }
        w.option_u16(OptionCode::ElapsedTime, 0).ok()?;
        if t == MessageType::Solicit {
            w.empty_option(OptionCode::RapidCommit).ok()?;
        }
        let ia = w.begin_option(OptionCode::IaNa).ok()?;
        w.u32(IAID).ok()?;
        w.u32(0).ok()?;
        w.u32(0).ok()?;
        let named = match t {
            MessageType::Solicit => None,
            MessageType::Release => self.releasing,
            _ => self.held.as_ref().map(|h| h.addr),
        };
        if let Some(addr) = named {
            let a = w.begin_option(OptionCode::IaAddr).ok()?;
            w.ipv6(addr).ok()?;
            w.u32(0).ok()?;
            w.u32(0).ok()?;
            w.end_option(a).ok()?;
        }
        w.end_option(ia).ok()?;
        let pd = w.begin_option(OptionCode::IaPd).ok()?;
        w.u32(PD_IAID).ok()?;
        w.u32(0).ok()?;
        w.u32(0).ok()?;
        let named_pd = match t {
            MessageType::Solicit => None,
            MessageType::Release => self.releasing_pd,
            _ => self.held_pd.map(|(a, l, _)| (a, l)),
        };
        if let Some((prefix, len)) = named_pd {
            let p = w.begin_option(OptionCode::IaPrefix).ok()?;
            w.u32(0).ok()?;
            w.u32(0).ok()?;
            w.u8(len).ok()?;
            w.ipv6(prefix).ok()?;
            w.end_option(p).ok()?;
        }
        w.end_option(pd).ok()?;
        let n = w.finish();
        Some(buf[..n].to_vec())
    }

    /// A Reply from server `server` arrived at `now_ms`.
    pub fn on_reply(&mut self, now_ms: u64, server: usize, packet: &[u8], rng: &mut Rng) {
        let Ok(m) = Message::new_checked(packet) else {
            return;
        };
        if m.msg_type() != MessageType::Reply || m.xid() != Xid::from_u32(self.xid) {
            return;
        }
        let o = m.options();
        if o.find(OptionCode::ClientId) != Some(&self.duid[..]) {
            return;
        }
        match self.phase {
            Phase::Releasing => {
                self.held = None;
                self.held_pd = None;
                self.phase = Phase::Idle;
                self.next_ms = now_ms + rng.range(5_000, 60_000);
                return;
            }
            Phase::Soliciting | Phase::Renewing | Phase::Rebinding => {}
            _ => return,
        }
        let Some(server_id) = o.find(OptionCode::ServerId) else {
            return;
        };
        let Some((addr, valid, t1, t2)) = granted(o) else {
            if self.phase == Phase::Soliciting {
                return; // NoAddrsAvail: keep retransmitting
            }
            // NoBinding etc.: the lease is gone; start over (RFC 8415 §18.2.10.1).
            self.held = None;
            self.held_pd = None;
            self.phase = Phase::Idle;
            self.next_ms = now_ms + rng.range(1_000, 5_000);
            return;
        };
        if valid == 0 {
            self.held = None;
            self.phase = Phase::Idle;
            self.next_ms = now_ms + 1_000;
            return;
        }
        self.server_id = server_id.to_vec();
        // The prefix: kept, replaced, or (NoPrefixAvail, or a server with none) lost.
        self.held_pd = granted_pd(o).map(|(a, l, valid)| (a, l, now_ms + u64::from(valid) * 1000));
        self.held = Some(Held {
            addr,
            expires_ms: now_ms + u64::from(valid) * 1000,
            granted_ms: now_ms,
            server,
        });
        let t1 = if t1 == 0 { valid / 2 } else { t1 };
        let t2 = if t2 == 0 { valid * 4 / 5 } else { t2 };
        self.t1_ms = now_ms + u64::from(t1) * 1000;
        self.t2_ms = now_ms + u64::from(t2.max(t1)) * 1000;
        self.phase = Phase::Bound;
        self.next_ms = self.t1_ms;
    }
}

/// The address, valid lifetime, T1 and T2 of the IA_NA in a successful Reply.
fn granted(o: tandem_wire::Options<'_>) -> Option<(Ipv6Addr, u32, u32, u32)> {
    if let Some(s) = o.find(OptionCode::StatusCode) {
        let code = StatusCodeOption::parse(s).ok()?.code();
        if code != StatusCode::Success {
            return None;
        }
    }
    let ia = IaNa::parse(o.find(OptionCode::IaNa)?).ok()?;
    if let Some(s) = ia.options().find(OptionCode::StatusCode) {
        if StatusCodeOption::parse(s).ok()?.code() != StatusCode::Success {
            return None;
        }
    }
    let a = IaAddr::parse(ia.options().find(OptionCode::IaAddr)?).ok()?;
    Some((a.addr(), a.valid(), ia.t1(), ia.t2()))
}

/// The prefix, length and valid lifetime of the IA_PD in a Reply, if it grants one.
fn granted_pd(o: tandem_wire::Options<'_>) -> Option<(Ipv6Addr, u8, u32)> {
    let ia = IaPd::parse(o.find(OptionCode::IaPd)?).ok()?;
    if let Some(s) = ia.options().find(OptionCode::StatusCode) {
        if StatusCodeOption::parse(s).ok()?.code() != StatusCode::Success {
            return None;
        }
    }
    let p = IaPrefix::parse(ia.options().find(OptionCode::IaPrefix)?).ok()?;
    (p.valid() > 0).then(|| (p.prefix(), p.prefix_len(), p.valid()))
}
