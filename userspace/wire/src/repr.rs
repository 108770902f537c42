//! Whole-packet representation for byte-exact round trips (RFC 8415 §8, §9).
//!
//! [`PacketRepr::parse`] splits a packet into its relay layers (Relay-forw *and* Relay-repl,
//! outermost first) and the client/server message inside; [`PacketRepr::emit`] writes it back
//! option by option through [`Writer`], rebuilding every OPTION_RELAY_MSG from the inner layer.
//! Unknown message types and unknown options are kept as they are, so for every packet that
//! parses, emit reproduces it byte for byte. No heap: at most [`MAX_RELAY_DEPTH`] layers are
//! held in a fixed array and both directions are loops, not recursion.

use core::ops::Range;
use std::net::Ipv6Addr;

use crate::options::RawIter;
use crate::relay::MAX_RELAY_DEPTH;
use crate::{Error, Message, MessageType, OptionCode, Options, RelayMessage, Result, Writer, Xid};

/// A client/server message: header fields and its option area (RFC 8415 §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageRepr<'a> {
    /// msg-type (any non-relay value).
    pub msg_type: MessageType,
    /// transaction-id.
    pub xid: Xid,
    /// The options, emitted in this order.
    pub options: Options<'a>,
}

impl<'a> MessageRepr<'a> {
    /// Parses a client/server message (see [`Message::new_checked`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let m = Message::new_checked(bytes)?;
        Ok(Self {
            msg_type: m.msg_type(),
            xid: m.xid(),
            options: m.options(),
        })
    }

    /// Octets [`MessageRepr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        4 + self.options.as_bytes().len()
    }

    /// Writes the message.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.message_header(self.msg_type, self.xid)?;
        emit_area(w, self.options.as_bytes())
    }
}

/// One relay layer (RFC 8415 §9). Its `options` include the original OPTION_RELAY_MSG, whose
/// payload is replaced on emit by the next inner layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayRepr<'a> {
    /// Relay-forw or Relay-repl.
    pub msg_type: MessageType,
    /// hop-count.
    pub hop_count: u8,
    /// link-address.
    pub link_address: Ipv6Addr,
    /// peer-address.
    pub peer_address: Ipv6Addr,
    /// The relay options; the first OPTION_RELAY_MSG marks where the inner layer goes.
    pub options: Options<'a>,
}

impl RelayRepr<'_> {
    const EMPTY: RelayRepr<'static> = RelayRepr {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: Ipv6Addr::UNSPECIFIED,
        peer_address: Ipv6Addr::UNSPECIFIED,
        options: Options::empty(),
    };

    /// The option bytes before and after the first OPTION_RELAY_MSG.
    fn split(&self) -> Result<(&[u8], &[u8])> {
        let area = self.options.as_bytes();
        let Range { start, end } = self
            .options
            .find_range(OptionCode::RelayMsg)
            .ok_or(Error::MissingRelayMessage)?;
        let before = area.get(..start).ok_or(Error::MissingRelayMessage)?;
        let after = area.get(end..).ok_or(Error::MissingRelayMessage)?;
        Ok((before, after))
    }
}

/// A whole packet: relay layers, outermost first, around one client/server message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketRepr<'a> {
    relays: [RelayRepr<'a>; MAX_RELAY_DEPTH],
    relay_len: usize,
    /// The innermost client/server message.
    pub message: MessageRepr<'a>,
}

impl<'a> PacketRepr<'a> {
    /// A packet that is just `message`, with no relay layer.
    pub fn new(message: MessageRepr<'a>) -> Self {
        Self {
            relays: [RelayRepr::EMPTY; MAX_RELAY_DEPTH],
            relay_len: 0,
            message,
        }
    }

    /// Parses a packet, peeling relay layers iteratively. Errors: [`Error::TooDeep`] past
    /// [`MAX_RELAY_DEPTH`] layers, [`Error::MissingRelayMessage`], and the view errors.
    pub fn parse(packet: &'a [u8]) -> Result<Self> {
        let mut repr = Self::new(MessageRepr {
            msg_type: MessageType::Unknown(0),
            xid: Xid([0; 3]),
            options: Options::empty(),
        });
        let mut current = packet;
        // Each round returns or adds one layer; push_relay fails after MAX_RELAY_DEPTH layers.
        loop {
            let Some(&first) = current.first() else {
                return Err(Error::Truncated);
            };
            if !MessageType::from(first).is_relay() {
                repr.message = MessageRepr::parse(current)?;
                return Ok(repr);
            }
            let relay = RelayMessage::new_checked(current)?;
            let inner = relay.relay_msg().ok_or(Error::MissingRelayMessage)?;
            repr.push_relay(RelayRepr {
                msg_type: relay.msg_type(),
                hop_count: relay.hop_count(),
                link_address: relay.link_address(),
                peer_address: relay.peer_address(),
                options: relay.options(),
            })?;
            current = inner;
        }
    }

    /// Adds a relay layer inside the existing ones (closer to the message);
    /// [`Error::TooDeep`] when [`MAX_RELAY_DEPTH`] layers are already there.
    pub fn push_relay(&mut self, relay: RelayRepr<'a>) -> Result<()> {
        let slot = self.relays.get_mut(self.relay_len).ok_or(Error::TooDeep)?;
        *slot = relay;
        self.relay_len += 1;
        Ok(())
    }

    /// The relay layers, outermost first.
    pub fn relays(&self) -> &[RelayRepr<'a>] {
        self.relays.get(..self.relay_len).unwrap_or(&[])
    }

    /// Octets [`PacketRepr::emit`] writes (for a relay layer without OPTION_RELAY_MSG, which
    /// emit rejects, its options are counted as they are).
    pub fn buffer_len(&self) -> usize {
        let mut len = self.message.buffer_len();
        for relay in self.relays().iter().rev() {
            len = match relay.split() {
                Ok((before, after)) => 34 + before.len() + 4 + len + after.len(),
                Err(_) => 34 + relay.options.as_bytes().len(),
            };
        }
        len
    }

    /// Emits the packet at the start of `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.emit_into(&mut w)?;
        Ok(w.finish())
    }

    /// Emits the packet through `w`. Errors: [`Error::BufferTooSmall`],
    /// [`Error::MissingRelayMessage`] for a relay layer without OPTION_RELAY_MSG,
    /// [`Error::BadLength`] when an inner layer exceeds 65535 octets.
    pub fn emit_into(&self, w: &mut Writer<'_>) -> Result<()> {
        let relays = self.relays();
        let mut marks = [None; MAX_RELAY_DEPTH];
        for (relay, mark) in relays.iter().zip(marks.iter_mut()) {
            let (before, _) = relay.split()?;
            w.relay_header(
                relay.msg_type,
                relay.hop_count,
                relay.link_address,
                relay.peer_address,
            )?;
            emit_area(w, before)?;
            *mark = Some(w.begin_option(OptionCode::RelayMsg)?);
        }
        self.message.emit(w)?;
        for (relay, mark) in relays.iter().zip(marks).rev() {
            let (_, after) = relay.split()?;
            w.end_option(mark.ok_or(Error::MissingRelayMessage)?)?;
            emit_area(w, after)?;
        }
        Ok(())
    }
}

/// Emits every option of a validated area one by one.
fn emit_area(w: &mut Writer<'_>, area: &[u8]) -> Result<()> {
    for (code, data) in RawIter::new(area) {
        w.option(OptionCode::from(code), data)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relay-repl around Relay-forw around an unknown message type, with options on both sides
    /// of each RELAY_MSG.
    fn sample(buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        w.relay_header(
            MessageType::RelayRepl,
            1,
            Ipv6Addr::LOCALHOST,
            Ipv6Addr::UNSPECIFIED,
        )
        .unwrap();
        w.option(OptionCode::InterfaceId, b"outer").unwrap();
        let outer = w.begin_option(OptionCode::RelayMsg).unwrap();
        w.relay_header(
            MessageType::RelayForw,
            0,
            Ipv6Addr::UNSPECIFIED,
            Ipv6Addr::LOCALHOST,
        )
        .unwrap();
        let inner = w.begin_option(OptionCode::RelayMsg).unwrap();
        w.message_header(MessageType::Unknown(200), Xid([1, 2, 3]))
            .unwrap();
        w.option(OptionCode::Unknown(4242), &[9; 5]).unwrap();
        w.end_option(inner).unwrap();
        w.option(OptionCode::RelayMsg, b"second relay-msg is kept as data")
            .unwrap();
        w.end_option(outer).unwrap();
        w.option(OptionCode::RemoteId, &[0, 0, 0, 1, 7]).unwrap();
        w.finish()
    }

    #[test]
    fn round_trips_byte_for_byte() {
        let mut buf = [0u8; 512];
        let n = sample(&mut buf);
        let repr = PacketRepr::parse(&buf[..n]).unwrap();
        assert_eq!(repr.relays().len(), 2);
        assert_eq!(repr.relays()[0].msg_type, MessageType::RelayRepl);
        assert_eq!(repr.message.msg_type, MessageType::Unknown(200));
        assert_eq!(repr.buffer_len(), n);
        let mut out = [0u8; 512];
        assert_eq!(repr.emit(&mut out), Ok(n));
        assert_eq!(&out[..n], &buf[..n]);
        assert_eq!(repr.emit(&mut out[..n - 1]), Err(Error::BufferTooSmall));
    }

    #[test]
    fn changed_inner_message_updates_relay_lengths() {
        let mut buf = [0u8; 512];
        let n = sample(&mut buf);
        let mut repr = PacketRepr::parse(&buf[..n]).unwrap();
        repr.message.options = Options::empty();
        let mut out = [0u8; 512];
        let m = repr.emit(&mut out).unwrap();
        assert_eq!(m, n - 9);
        assert_eq!(m, repr.buffer_len());
        let again = PacketRepr::parse(&out[..m]).unwrap();
        assert!(again.message.options.is_empty());
        assert_eq!(again.relays().len(), 2);
        for (a, b) in again.relays().iter().zip(repr.relays()) {
            assert_eq!(
                (a.msg_type, a.hop_count, a.link_address),
                (b.msg_type, b.hop_count, b.link_address)
            );
        }
    }

    #[test]
    fn relay_without_relay_msg_is_rejected_both_ways() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.relay_header(
            MessageType::RelayForw,
            0,
            Ipv6Addr::LOCALHOST,
            Ipv6Addr::LOCALHOST,
        )
        .unwrap();
        let n = w.finish();
        assert_eq!(
            PacketRepr::parse(&buf[..n]),
            Err(Error::MissingRelayMessage)
        );
        let mut repr = PacketRepr::new(MessageRepr::parse(&[1, 0, 0, 0]).unwrap());
        repr.push_relay(RelayRepr::EMPTY).unwrap();
        assert_eq!(repr.emit(&mut buf), Err(Error::MissingRelayMessage));
        assert_eq!(repr.buffer_len(), 34);
        for _ in 1..MAX_RELAY_DEPTH {
            repr.push_relay(RelayRepr::EMPTY).unwrap();
        }
        assert_eq!(repr.push_relay(RelayRepr::EMPTY), Err(Error::TooDeep));
    }
}
