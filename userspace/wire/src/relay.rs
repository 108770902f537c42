//! Relay agent messages and relay-chain peeling (RFC 8415 §9, §19).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    msg-type   |   hop-count   |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//! |                         link-address                          |
//! |                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//! |                         peer-address                          |
//! |                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |                               .
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               .
//! .            options (variable number and length)   ....        .
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::Ipv6Addr;

use crate::{Error, Message, MessageType, OptionCode, Options, Result, HOP_COUNT_LIMIT};

/// Field offsets of a relay message.
pub mod field {
    use core::ops::{Range, RangeFrom};

    /// msg-type.
    pub const MSG_TYPE: usize = 0;
    /// hop-count.
    pub const HOP_COUNT: usize = 1;
    /// link-address.
    pub const LINK_ADDRESS: Range<usize> = 2..18;
    /// peer-address.
    pub const PEER_ADDRESS: Range<usize> = 18..34;
    /// options.
    pub const OPTIONS: RangeFrom<usize> = 34..;
    /// Length of the fixed part.
    pub const HEADER_LEN: usize = 34;
}

/// Maximum number of relay layers a [`RelayChain`] holds: HOP_COUNT_LIMIT + 1 (hop counts
/// 0..=HOP_COUNT_LIMIT), RFC 8415 §7.6, §19.1.1.
pub const MAX_RELAY_DEPTH: usize = HOP_COUNT_LIMIT as usize + 1;

/// A checked view of a Relay-forw or Relay-repl message (RFC 8415 §9.1, §9.2).
///
/// No accessor panics after [`RelayMessage::new_checked`] succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayMessage<'a> {
    bytes: &'a [u8],
    msg_type: MessageType,
    hop_count: u8,
    link_address: Ipv6Addr,
    peer_address: Ipv6Addr,
    options: Options<'a>,
}

impl<'a> RelayMessage<'a> {
    /// Checks the 34-octet fixed part and the option area. A non-relay msg-type gives
    /// [`Error::NotARelayMessage`]. The hop-count value is not judged here.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        let Some((fixed, rest)) = bytes.split_first_chunk::<{ field::HEADER_LEN }>() else {
            return Err(Error::Truncated);
        };
        let msg_type = MessageType::from(fixed[field::MSG_TYPE]);
        if !msg_type.is_relay() {
            return Err(Error::NotARelayMessage);
        }
        let options = Options::new_checked(rest)?;
        Ok(Self {
            bytes,
            msg_type,
            hop_count: fixed[field::HOP_COUNT],
            link_address: ipv6_at(fixed, 2),
            peer_address: ipv6_at(fixed, 18),
            options,
        })
    }

    /// msg-type: Relay-forw or Relay-repl.
    pub fn msg_type(&self) -> MessageType {
        self.msg_type
    }

    /// hop-count.
    pub fn hop_count(&self) -> u8 {
        self.hop_count
    }

    /// link-address.
    pub fn link_address(&self) -> Ipv6Addr {
        self.link_address
    }

    /// peer-address.
    pub fn peer_address(&self) -> Ipv6Addr {
        self.peer_address
    }

    /// The validated option area.
    pub fn options(&self) -> Options<'a> {
        self.options
    }

    /// Payload of the first OPTION_RELAY_MSG (RFC 8415 §21.10).
    pub fn relay_msg(&self) -> Option<&'a [u8]> {
        self.options.find(OptionCode::RelayMsg)
    }

    /// The whole message as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Reads 16 octets at `at` of the fixed relay header.
fn ipv6_at(fixed: &[u8; field::HEADER_LEN], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    // The header is a fixed 34-octet array and `at` is 2 or 18, so the range is in bounds;
    // `get` keeps this free of indexing panics anyway.
    if let Some(src) = fixed.get(at..at + 16) {
        octets.copy_from_slice(src);
    }
    Ipv6Addr::from(octets)
}

/// One relay hop as the server must remember it to build the Relay-reply (RFC 8415 §19.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayHop<'a> {
    /// hop-count of this Relay-forw.
    pub hop_count: u8,
    /// link-address of this Relay-forw.
    pub link_address: Ipv6Addr,
    /// peer-address of this Relay-forw.
    pub peer_address: Ipv6Addr,
    /// Payload of OPTION_INTERFACE_ID, to be copied into the Relay-reply (RFC 8415 §21.18).
    pub interface_id: Option<&'a [u8]>,
    /// All options of this Relay-forw, OPTION_RELAY_MSG included.
    pub options: Options<'a>,
}

impl RelayHop<'_> {
    const EMPTY: RelayHop<'static> = RelayHop {
        hop_count: 0,
        link_address: Ipv6Addr::UNSPECIFIED,
        peer_address: Ipv6Addr::UNSPECIFIED,
        interface_id: None,
        options: Options::empty(),
    };
}

/// The Relay-forw layers around a client message, outermost first. Fixed capacity
/// ([`MAX_RELAY_DEPTH`] hops), no heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayChain<'a> {
    hops: [RelayHop<'a>; MAX_RELAY_DEPTH],
    len: usize,
}

impl<'a> RelayChain<'a> {
    /// An empty chain (the message came straight from a client).
    pub fn new() -> Self {
        Self {
            hops: [RelayHop::EMPTY; MAX_RELAY_DEPTH],
            len: 0,
        }
    }

    /// Number of relay layers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the message was not relayed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hops, outermost (the relay that sent us the packet) first.
    pub fn hops(&self) -> &[RelayHop<'a>] {
        self.hops.get(..self.len).unwrap_or(&[])
    }

    /// The hop closest to the client; its link-address selects the link (RFC 8415 §13.1).
    pub fn innermost(&self) -> Option<&RelayHop<'a>> {
        self.hops().last()
    }

    /// Appends an inner hop; [`Error::TooDeep`] when full.
    pub fn push(&mut self, hop: RelayHop<'a>) -> Result<()> {
        let slot = self.hops.get_mut(self.len).ok_or(Error::TooDeep)?;
        *slot = hop;
        self.len += 1;
        Ok(())
    }
}

impl Default for RelayChain<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Peels Relay-forw layers iteratively (never recursion) down to the client message
/// (RFC 8415 §19.1, §19.3).
///
/// A plain client message gives an empty chain. Errors: [`Error::TooDeep`] past
/// [`MAX_RELAY_DEPTH`] layers, [`Error::MissingRelayMessage`] for a Relay-forw without
/// OPTION_RELAY_MSG, [`Error::NotAClientMessage`] when the packet or the innermost payload is a
/// Relay-repl, plus any error of the views. The first OPTION_RELAY_MSG of each layer is used.
pub fn unwrap_relays<'a>(packet: &'a [u8]) -> Result<(RelayChain<'a>, Message<'a>)> {
    let mut chain = RelayChain::new();
    let mut current = packet;
    // Each round either returns or pushes one hop, and push fails after MAX_RELAY_DEPTH hops,
    // so the loop runs at most MAX_RELAY_DEPTH + 1 times.
    loop {
        let Some(&first) = current.first() else {
            return Err(Error::Truncated);
        };
        if MessageType::from(first) != MessageType::RelayForw {
            return Ok((chain, Message::new_checked(current)?));
        }
        let relay = RelayMessage::new_checked(current)?;
        let inner = relay.relay_msg().ok_or(Error::MissingRelayMessage)?;
        chain.push(RelayHop {
            hop_count: relay.hop_count(),
            link_address: relay.link_address(),
            peer_address: relay.peer_address(),
            interface_id: relay.options().find(OptionCode::InterfaceId),
            options: relay.options(),
        })?;
        current = inner;
    }
}

#[cfg(test)]
mod tests;
