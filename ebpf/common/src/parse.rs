//! Bounded parsing shared by tandem's eBPF programs and the host tests: from a frame (XDP) or a
//! UDP datagram (socket filter, reuseport) to the client DUID that picks the shard.
//!
//! The same functions run on a host `&[u8]` and, in `ebpf/xdp`, on the packet through the
//! kernel's load-bytes helpers: every read goes through [`Packet::load`], which either copies
//! the whole range or reports that it lies past the end. Every loop is bounded by a constant so
//! the verifier accepts it, and anything the walk cannot decide within those bounds is
//! [`Frame::Unparsed`] / [`Verdict::Unparsed`]: the programs pass it up, they never drop it
//! (testing.md item 27). Only a DHCPv6 message whose own header or options run past the end of
//! its (completely present) datagram is [`Verdict::Malformed`].
//!
//! ```text
//! Ethernet | [802.1Q / 802.1ad tag]{0,2} | IPv6 | [HBH | Routing | DestOpts]{0,EXT_HEADERS_MAX}
//!          | UDP (dst = server port) | DHCPv6: Relay-forward{0,RELAY_DEPTH_MAX} -> client message
//! ```

use crate::DUID_LEN_MAX;

/// Read access to a packet's bytes, by absolute offset from its start.
pub trait Packet {
    /// Bytes in the packet.
    fn len(&self) -> usize;

    /// Copies `buf.len()` bytes starting at `offset` into `buf`; false (and `buf` unspecified)
    /// when any of them lies past the end.
    fn load(&self, offset: usize, buf: &mut [u8]) -> bool;

    /// True when the packet holds no byte.
    #[inline(always)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The octet at `offset`.
    #[inline(always)]
    fn u8_at(&self, offset: usize) -> Option<u8> {
        let mut b = [0u8; 1];
        if !self.load(offset, &mut b) {
            return None;
        }
        Some(b[0])
    }

    /// The network-order `u16` at `offset`.
    #[inline(always)]
    fn u16_at(&self, offset: usize) -> Option<u16> {
        let mut b = [0u8; 2];
        if !self.load(offset, &mut b) {
            return None;
        }
        Some(u16::from_be_bytes(b))
    }
}

impl Packet for [u8] {
    #[inline(always)]
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    #[inline(always)]
    fn load(&self, offset: usize, buf: &mut [u8]) -> bool {
        let Some(src) = offset
            .checked_add(buf.len())
            .and_then(|end| self.get(offset..end))
        else {
            return false;
        };
        buf.copy_from_slice(src);
        true
    }
}

/// Ethernet header length (no tags).
pub const ETH_HLEN: usize = 14;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of an 802.1ad (QinQ) service tag.
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Most VLAN tags the frame walk skips (802.1ad + 802.1Q).
pub const VLAN_TAGS_MAX: usize = 2;
/// IPv6 fixed header length (RFC 8200 §3).
pub const IPV6_HLEN: usize = 40;
/// Most IPv6 extension headers the walk skips before giving up ([`Frame::Unparsed`]).
pub const EXT_HEADERS_MAX: usize = 6;
/// UDP header length.
pub const UDP_HLEN: usize = 8;
/// The DHCPv6 server port (RFC 8415 §7.2).
pub const DHCPV6_SERVER_PORT: u16 = 547;

const NEXT_HOP_BY_HOP: u8 = 0;
const NEXT_UDP: u8 = 17;
const NEXT_ROUTING: u8 = 43;
const NEXT_FRAGMENT: u8 = 44;
const NEXT_DEST_OPTS: u8 = 60;

/// A UDP datagram to the server port whose payload is completely present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// Offset of the first UDP payload (DHCPv6) octet.
    pub payload_start: usize,
    /// Offset one past the last payload octet (from the UDP length field).
    pub payload_end: usize,
    /// The IPv6 source address.
    pub src: [u8; 16],
}

/// What [`parse_frame`] found in an Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Frame {
    /// IPv6 UDP to the server port, the whole datagram present.
    Dhcpv6(Datagram),
    /// Maybe for the server port, but beyond what the bounded walk decides: a fragment header,
    /// more than [`EXT_HEADERS_MAX`] extension headers, a truncated extension or UDP header, a
    /// datagram longer than the frame, a jumbogram (UDP length 0). Pass it up.
    Unparsed,
    /// Not IPv6 UDP to the server port (or too short to be IPv6 at all). Pass it up.
    Other,
}

/// Walks an Ethernet frame to the UDP payload of a datagram to `port`.
///
/// Skips up to [`VLAN_TAGS_MAX`] 802.1Q / 802.1ad tags and up to [`EXT_HEADERS_MAX`] IPv6
/// hop-by-hop, routing and destination-options headers (RFC 8200 §4). Checksums are not
/// checked: the kernel does that after the program passes or redirects the packet.
#[inline(always)]
pub fn parse_frame<P: Packet + ?Sized>(pkt: &P, port: u16) -> Frame {
    let mut at = ETH_HLEN - 2;
    let Some(mut ethertype) = pkt.u16_at(at) else {
        return Frame::Other;
    };
    let mut tags = 0;
    while tags < VLAN_TAGS_MAX && (ethertype == ETHERTYPE_VLAN || ethertype == ETHERTYPE_QINQ) {
        at += 4;
        ethertype = match pkt.u16_at(at) {
            Some(t) => t,
            None => return Frame::Other,
        };
        tags += 1;
    }
    if ethertype != ETHERTYPE_IPV6 {
        return Frame::Other;
    }
    let ip = at + 2;
    let mut fixed = [0u8; 8];
    if !pkt.load(ip, &mut fixed) || fixed[0] >> 4 != 6 {
        return Frame::Other;
    }
    let mut src = [0u8; 16];
    if !pkt.load(ip + 8, &mut src) {
        return Frame::Other;
    }
    if pkt.len() < ip + IPV6_HLEN {
        return Frame::Other;
    }
    let mut next = fixed[6];
    let mut at = ip + IPV6_HLEN;
    let mut walked = 0;
    while next != NEXT_UDP {
        if walked == EXT_HEADERS_MAX {
            return Frame::Unparsed;
        }
        walked += 1;
        match next {
            NEXT_HOP_BY_HOP | NEXT_ROUTING | NEXT_DEST_OPTS => {
                let mut ext = [0u8; 2];
                if !pkt.load(at, &mut ext) {
                    return Frame::Unparsed;
                }
                next = ext[0];
                at += (ext[1] as usize + 1) * 8;
            }
            NEXT_FRAGMENT => return Frame::Unparsed,
            _ => return Frame::Other,
        }
    }
    let mut udp = [0u8; UDP_HLEN];
    if !pkt.load(at, &mut udp) {
        return Frame::Unparsed;
    }
    if u16::from_be_bytes([udp[2], udp[3]]) != port {
        return Frame::Other;
    }
    let udp_len = u16::from_be_bytes([udp[4], udp[5]]) as usize;
    if udp_len < UDP_HLEN || at + udp_len > pkt.len() {
        return Frame::Unparsed;
    }
    Frame::Dhcpv6(Datagram {
        payload_start: at + UDP_HLEN,
        payload_end: at + udp_len,
        src,
    })
}

/// The UDP payload of a datagram whose UDP header is at offset 0 and which ends at the end of
/// the packet: what socket filters and `sk_reuseport` programs see. `None` when the header's
/// length field disagrees with the packet's length (then the data does not start where this
/// function assumes, or the datagram is a jumbogram): unparsed, pass.
#[inline(always)]
pub fn udp_payload<P: Packet + ?Sized>(pkt: &P) -> Option<(usize, usize)> {
    let udp_len = pkt.u16_at(4)? as usize;
    if udp_len < UDP_HLEN || udp_len != pkt.len() {
        return None;
    }
    Some((UDP_HLEN, udp_len))
}

/// Relay-forward message type (RFC 8415 §7.3).
pub const RELAY_FORW: u8 = 12;
/// OPTION_CLIENTID (RFC 8415 §21.2).
pub const OPTION_CLIENTID: u16 = 1;
/// OPTION_RELAY_MSG (RFC 8415 §21.10).
pub const OPTION_RELAY_MSG: u16 = 9;
/// msg-type + transaction-id (RFC 8415 §8).
pub const CLIENT_HLEN: usize = 4;
/// msg-type + hop-count + link-address + peer-address (RFC 8415 §9).
pub const RELAY_HLEN: usize = 34;
/// option-code + option-len (RFC 8415 §21.1).
pub const OPTION_HLEN: usize = 4;
/// Most Relay-forward headers [`find_duid`] descends through (RFC 8415 §7.6 HOP_COUNT_LIMIT).
pub const RELAY_DEPTH_MAX: usize = 8;
/// Most options of one Relay-forward [`find_duid`] reads looking for its Relay Message option.
pub const RELAY_OPTIONS_MAX: usize = 8;
/// Most options of the client message [`find_duid`] reads looking for its Client Identifier.
pub const CLIENT_OPTIONS_MAX: usize = 32;
/// Every offset [`find_duid`] walks is below this (a frame is at most 64 KiB plus headers).
pub const OFFSET_LIMIT: usize = 0x2_0000;

/// `offset` unchanged (it is below [`OFFSET_LIMIT`]), but with its bounds forgotten.
///
/// For the verifier: it walks a loop once per distinct state at the loop head, and bounds learnt
/// from the packet differ on every path (after a relay level, after a skipped option, ...), so
/// without this every path is a new state and the walk exceeds the verifier's budget. The mask
/// gives every path the same `[0, OFFSET_LIMIT)`; `black_box` keeps the compiler from proving the
/// mask redundant and removing it.
#[inline(always)]
fn forget_bounds(offset: usize) -> usize {
    core::hint::black_box(offset) & (OFFSET_LIMIT - 1)
}

/// What [`find_duid`] found in a DHCPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The client's DUID (the body of OPTION_CLIENTID, RFC 8415 §21.2) of the client message,
    /// the innermost one for a relayed message: `len` octets at `offset` of the packet.
    Duid {
        /// Offset of the first DUID octet in the packet.
        offset: usize,
        /// DUID length (at least 1; may exceed [`DUID_LEN_MAX`]: the hash reads the first 130).
        len: usize,
    },
    /// A message without a client DUID to steer by: Relay-reply, a server message, a message
    /// type this walk does not know (none of them is parsed further), a client message without (or with an empty) Client Identifier
    /// option, a Relay-forward without a Relay Message option.
    NoDuid,
    /// Beyond the walk's bounds: more than [`RELAY_DEPTH_MAX`] relay levels, more than
    /// [`RELAY_OPTIONS_MAX`] / [`CLIENT_OPTIONS_MAX`] options before the one it looks for, a
    /// datagram ending past [`OFFSET_LIMIT`]. The software path decides.
    Unparsed,
    /// The message header, or an option header or body, runs past the end of its container.
    Malformed,
}

/// The messages a client sends to servers (RFC 8415 §7.3), all in the client/server format of
/// §8 (msg-type, transaction-id, options): Solicit, Request, Confirm, Renew, Rebind, Release,
/// Decline, Information-request. Server messages (Advertise, Reply, Reconfigure) carry the
/// client's DUID too, but nothing steers them: they are [`Verdict::NoDuid`].
#[inline(always)]
fn is_client_message(msg_type: u8) -> bool {
    matches!(msg_type, 1 | 3 | 4 | 5 | 6 | 8 | 9 | 11)
}

/// Finds the client DUID in the DHCPv6 message at `start..end` of `pkt` (RFC 8415 §8, §9).
///
/// A Relay-forward (§9) is entered through its Relay Message option (§21.10), at most
/// [`RELAY_DEPTH_MAX`] deep; the client/server-format message inside (or the message itself)
/// has its options walked to the first Client Identifier option (§21.2).
#[inline(always)]
pub fn find_duid<P: Packet + ?Sized>(pkt: &P, start: usize, end: usize) -> Verdict {
    if end > pkt.len() || start > end {
        return Verdict::Malformed;
    }
    if end >= OFFSET_LIMIT {
        return Verdict::Unparsed;
    }
    let mut at = start;
    let mut end = end;
    let mut level = 0;
    while level <= RELAY_DEPTH_MAX {
        let Some(msg_type) = pkt.u8_at(at).filter(|_| at < end) else {
            return Verdict::Malformed;
        };
        if msg_type != RELAY_FORW {
            if !is_client_message(msg_type) {
                return Verdict::NoDuid;
            }
            return client_duid(pkt, at, end);
        }
        match relay_msg(pkt, at, end) {
            Ok((inner_start, inner_end)) => {
                at = forget_bounds(inner_start);
                end = forget_bounds(inner_end);
            }
            Err(verdict) => return verdict,
        }
        level += 1;
    }
    Verdict::Unparsed
}

/// The Relay Message option's body (start, end) of the Relay-forward at `at..end` (§9, §21.10).
#[inline(always)]
fn relay_msg<P: Packet + ?Sized>(
    pkt: &P,
    at: usize,
    end: usize,
) -> Result<(usize, usize), Verdict> {
    if end - at < RELAY_HLEN {
        return Err(Verdict::Malformed);
    }
    let mut cursor = at + RELAY_HLEN;
    let mut read = 0;
    while read < RELAY_OPTIONS_MAX {
        let (code, body, len) = option_at(pkt, cursor, end)?;
        if code == OPTION_RELAY_MSG {
            return Ok((body, body + len));
        }
        cursor = forget_bounds(body + len);
        read += 1;
    }
    Err(Verdict::Unparsed)
}

/// The DUID of the client/server-format message at `at..end` (§8, §21.2).
#[inline(always)]
fn client_duid<P: Packet + ?Sized>(pkt: &P, at: usize, end: usize) -> Verdict {
    if end - at < CLIENT_HLEN {
        return Verdict::Malformed;
    }
    let mut cursor = at + CLIENT_HLEN;
    let mut read = 0;
    while read < CLIENT_OPTIONS_MAX {
        let (code, body, len) = match option_at(pkt, cursor, end) {
            Ok(o) => o,
            Err(verdict) => return verdict,
        };
        if code == OPTION_CLIENTID {
            if len == 0 {
                return Verdict::NoDuid;
            }
            return Verdict::Duid { offset: body, len };
        }
        cursor = forget_bounds(body + len);
        read += 1;
    }
    Verdict::Unparsed
}

/// The option (code, body offset, body length) at `cursor` of a container ending at `end`:
/// `Err(NoDuid)` at the end of the container (the option sought is absent), `Err(Malformed)`
/// when the header or the body runs past `end` (§21.1).
#[inline(always)]
fn option_at<P: Packet + ?Sized>(
    pkt: &P,
    cursor: usize,
    end: usize,
) -> Result<(u16, usize, usize), Verdict> {
    if cursor >= end {
        return Err(Verdict::NoDuid);
    }
    let mut opt = [0u8; OPTION_HLEN];
    if end - cursor < OPTION_HLEN || !pkt.load(cursor, &mut opt) {
        return Err(Verdict::Malformed);
    }
    let code = u16::from_be_bytes([opt[0], opt[1]]);
    let len = u16::from_be_bytes([opt[2], opt[3]]) as usize;
    let body = cursor + OPTION_HLEN;
    if len > end - body {
        return Err(Verdict::Malformed);
    }
    Ok((code, body, len))
}

/// FNV-1a's prime, as in [`crate::shard_hash`] (a test pins [`duid_hash`] to it).
const FNV_PRIME: u32 = 0x0100_0193;
/// Octets [`duid_hash`] reads per load.
const HASH_WORD: usize = 8;

/// [`crate::shard_hash`] of the DUID (`len` octets at `offset`), read straight from the packet:
/// the first `min(len, DUID_LEN_MAX)` octets in 8-octet loads, then the 0..=7 left one by one.
/// `None` when they are not in the packet or `len` is 0.
///
/// Every load has a constant size and no offset into a stack buffer depends on the length:
/// a length-dependent copy makes the verifier walk each possible length separately.
#[inline(always)]
pub fn duid_hash<P: Packet + ?Sized>(pkt: &P, offset: usize, len: usize) -> Option<u32> {
    let mut left = if len > DUID_LEN_MAX {
        DUID_LEN_MAX
    } else {
        len
    };
    if left == 0 {
        return None;
    }
    let mut hash = crate::shard_hash(&[]);
    let mut at = offset;
    let mut words = 0;
    while words < DUID_LEN_MAX / HASH_WORD {
        if left < HASH_WORD {
            break;
        }
        let mut w = [0u8; HASH_WORD];
        if !pkt.load(at, &mut w) {
            return None;
        }
        for b in w {
            hash = (hash ^ b as u32).wrapping_mul(FNV_PRIME);
        }
        at += HASH_WORD;
        left -= HASH_WORD;
        words += 1;
    }
    let mut tail = 0;
    while tail < HASH_WORD {
        if left == 0 {
            break;
        }
        hash = (hash ^ pkt.u8_at(at)? as u32).wrapping_mul(FNV_PRIME);
        at += 1;
        left -= 1;
        tail += 1;
    }
    Some(hash)
}

/// The shard of the DUID a [`Verdict::Duid`] points at ([`crate::shard_of`] of its octets), or
/// `None` when it cannot be read.
#[inline(always)]
pub fn duid_shard<P: Packet + ?Sized>(
    pkt: &P,
    offset: usize,
    len: usize,
    shards: u32,
) -> Option<u32> {
    let n = if shards == 0 { 1 } else { shards };
    Some(duid_hash(pkt, offset, len)? % n)
}

/// One source's token-bucket step for [`crate::maps::RateState`]: refills `rate_per_s` tokens
/// per second of `now_ns - last_ns` (the bucket holds one second's worth), then takes one.
/// False when the bucket is empty (drop). A clock that went backwards refills nothing.
#[inline(always)]
pub fn take_token(state: &mut crate::maps::RateState, now_ns: u64, rate_per_s: u32) -> bool {
    const NS_PER_S: u64 = 1_000_000_000;
    let rate = rate_per_s as u64;
    let elapsed_ns = now_ns.saturating_sub(state.last_ns);
    if elapsed_ns >= NS_PER_S {
        state.tokens = rate_per_s;
        state.last_ns = now_ns;
    } else {
        // elapsed < 1 s and rate < 2^32: the product fits in u64.
        let refill = elapsed_ns * rate / NS_PER_S;
        if refill > 0 {
            let tokens = state.tokens as u64 + refill;
            state.tokens = if tokens > rate {
                rate_per_s
            } else {
                tokens as u32
            };
            // Keep the fraction of a token not yet earned.
            state.last_ns += refill * NS_PER_S / rate;
        }
    }
    if state.tokens == 0 {
        return false;
    }
    state.tokens -= 1;
    true
}

/// A fresh bucket for a source first seen at `now_ns`, after taking its first token.
#[inline(always)]
pub fn first_token(now_ns: u64, rate_per_s: u32) -> crate::maps::RateState {
    crate::maps::RateState {
        last_ns: now_ns,
        tokens: rate_per_s.saturating_sub(1),
        pad: 0,
    }
}

#[cfg(test)]
mod tests;
