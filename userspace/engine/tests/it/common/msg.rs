//! Builders of client and relay messages shaped like the ones real clients send (dhclient 4.4,
//! perfdhcp, systemd-networkd): DUID-LLT CLIENTID, ELAPSED_TIME, ORO, IA_NA / IA_PD with or
//! without hints. Written by hand so the tests do not depend on the encoder under test.

use std::net::Ipv6Addr;

pub const SOLICIT: u8 = 1;
pub const ADVERTISE: u8 = 2;
pub const REQUEST: u8 = 3;
pub const CONFIRM: u8 = 4;
pub const RENEW: u8 = 5;
pub const REBIND: u8 = 6;
pub const REPLY: u8 = 7;
pub const RELEASE: u8 = 8;
pub const DECLINE: u8 = 9;
pub const RECONFIGURE: u8 = 10;
pub const INFORMATION_REQUEST: u8 = 11;
pub const RELAY_FORW: u8 = 12;
pub const RELAY_REPL: u8 = 13;

pub const OPT_CLIENTID: u16 = 1;
pub const OPT_SERVERID: u16 = 2;
pub const OPT_IA_NA: u16 = 3;
pub const OPT_IA_TA: u16 = 4;
pub const OPT_IAADDR: u16 = 5;
pub const OPT_ORO: u16 = 6;
pub const OPT_PREFERENCE: u16 = 7;
pub const OPT_ELAPSED_TIME: u16 = 8;
pub const OPT_RELAY_MSG: u16 = 9;
pub const OPT_RAPID_COMMIT: u16 = 14;
pub const OPT_INTERFACE_ID: u16 = 18;
pub const OPT_DNS_SERVERS: u16 = 23;
pub const OPT_DOMAIN_LIST: u16 = 24;
pub const OPT_IA_PD: u16 = 25;
pub const OPT_IAPREFIX: u16 = 26;
pub const OPT_INFORMATION_REFRESH_TIME: u16 = 32;
pub const OPT_REMOTE_ID: u16 = 37;
pub const OPT_CLIENT_FQDN: u16 = 39;
pub const OPT_SOL_MAX_RT: u16 = 82;
pub const OPT_RELAY_SOURCE_PORT: u16 = 135;

/// DUID-LLT (type 1, hardware type 1) with a fixed time and the given MAC [RFC 8415 §11.2].
pub fn duid_llt(mac: [u8; 6]) -> Vec<u8> {
    let mut d = vec![0x00, 0x01, 0x00, 0x01, 0x2b, 0x1f, 0x0a, 0x3c];
    d.extend_from_slice(&mac);
    d
}

/// A client DUID numbered `n` (distinct MACs).
pub fn client(n: u16) -> Vec<u8> {
    let [a, b] = n.to_be_bytes();
    duid_llt([0x52, 0x54, 0x00, 0x00, a, b])
}

pub fn opt(code: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn iaaddr(a: Ipv6Addr, preferred: u32, valid: u32) -> Vec<u8> {
    let mut p = a.octets().to_vec();
    p.extend_from_slice(&preferred.to_be_bytes());
    p.extend_from_slice(&valid.to_be_bytes());
    opt(OPT_IAADDR, &p)
}

pub fn iaprefix(len: u8, prefix: Ipv6Addr, preferred: u32, valid: u32) -> Vec<u8> {
    let mut p = preferred.to_be_bytes().to_vec();
    p.extend_from_slice(&valid.to_be_bytes());
    p.push(len);
    p.extend_from_slice(&prefix.octets());
    opt(OPT_IAPREFIX, &p)
}

fn ia(code: u16, iaid: u32, t1: u32, t2: u32, sub: &[u8]) -> Vec<u8> {
    let mut p = iaid.to_be_bytes().to_vec();
    p.extend_from_slice(&t1.to_be_bytes());
    p.extend_from_slice(&t2.to_be_bytes());
    p.extend_from_slice(sub);
    opt(code, &p)
}

/// A client message under construction.
#[derive(Clone)]
pub struct Msg {
    ty: u8,
    xid: [u8; 3],
    options: Vec<u8>,
}

impl Msg {
    pub fn new(ty: u8, xid: u32) -> Self {
        let [_, a, b, c] = xid.to_be_bytes();
        Self {
            ty,
            xid: [a, b, c],
            options: Vec::new(),
        }
    }

    pub fn raw(mut self, code: u16, payload: &[u8]) -> Self {
        self.options.extend(opt(code, payload));
        self
    }

    pub fn client_id(self, duid: &[u8]) -> Self {
        self.raw(OPT_CLIENTID, duid)
    }

    pub fn server_id(self, duid: &[u8]) -> Self {
        self.raw(OPT_SERVERID, duid)
    }

    pub fn elapsed(self, centis: u16) -> Self {
        self.raw(OPT_ELAPSED_TIME, &centis.to_be_bytes())
    }

    pub fn oro(self, codes: &[u16]) -> Self {
        let p: Vec<u8> = codes.iter().flat_map(|c| c.to_be_bytes()).collect();
        self.raw(OPT_ORO, &p)
    }

    pub fn rapid_commit(self) -> Self {
        self.raw(OPT_RAPID_COMMIT, &[])
    }

    /// IA_NA with T1/T2 0 (as dhclient and perfdhcp send them) and one IAADDR per address.
    pub fn ia_na(mut self, iaid: u32, addrs: &[Ipv6Addr]) -> Self {
        let sub: Vec<u8> = addrs.iter().flat_map(|a| iaaddr(*a, 0, 0)).collect();
        self.options.extend(ia(OPT_IA_NA, iaid, 0, 0, &sub));
        self
    }

    pub fn ia_ta(mut self, iaid: u32) -> Self {
        self.options.extend(opt(OPT_IA_TA, &iaid.to_be_bytes()));
        self
    }

    /// IA_PD with one IAPREFIX per (length, prefix) hint.
    pub fn ia_pd(mut self, iaid: u32, prefixes: &[(u8, Ipv6Addr)]) -> Self {
        let sub: Vec<u8> = prefixes
            .iter()
            .flat_map(|&(l, p)| iaprefix(l, p, 0, 0))
            .collect();
        self.options.extend(ia(OPT_IA_PD, iaid, 0, 0, &sub));
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let mut v = vec![self.ty];
        v.extend_from_slice(&self.xid);
        v.extend_from_slice(&self.options);
        v
    }
}

/// A Relay-forw around `inner` [RFC 8415 §9]; `extra` options go before RELAY_MSG.
pub fn relay_forw(
    hop: u8,
    link: Ipv6Addr,
    peer: Ipv6Addr,
    interface_id: Option<&[u8]>,
    extra: &[u8],
    inner: &[u8],
) -> Vec<u8> {
    let mut v = vec![RELAY_FORW, hop];
    v.extend_from_slice(&link.octets());
    v.extend_from_slice(&peer.octets());
    if let Some(id) = interface_id {
        v.extend(opt(OPT_INTERFACE_ID, id));
    }
    v.extend_from_slice(extra);
    v.extend(opt(OPT_RELAY_MSG, inner));
    v
}

pub fn a(s: &str) -> Ipv6Addr {
    s.parse().expect("test address")
}
