//! One failover message without its length prefix: header and options (RFC 8156 §5; protocol
//! notes §1.2), the writer that emits it with the prefix, and a repr for byte-exact round trips.

use crate::options::RawIter;
use crate::{Error, MessageType, OptionCode, Options, Result, Writer, Xid};

use super::FailoverTime;

/// Field offsets of a failover message (after the length prefix).
pub mod field {
    use core::ops::Range;

    /// Length of the message-size prefix in front of every message on the stream.
    pub const LENGTH_PREFIX_LEN: usize = 2;
    /// msg-type.
    pub const MSG_TYPE: usize = 0;
    /// transaction-id.
    pub const XID: Range<usize> = 1..4;
    /// sent-time (absent from STARTTLS and REPLY, see [`super::has_sent_time`]).
    pub const SENT_TIME: Range<usize> = 4..8;
    /// Header length of a failover message; options start here.
    pub const HEADER_LEN: usize = 8;
    /// Header length of STARTTLS and REPLY (the RFC 8415 §8 / RFC 7653 header).
    pub const SHORT_HEADER_LEN: usize = 4;
}

/// True when messages of type `t` carry sent-time, i.e. use the 8-octet failover header.
///
/// **Decision on OPEN-7** (notes §1.2, §1.20): STARTTLS (23) and REPLY (7) are RFC 7653
/// messages exchanged before CONNECT and keep the 4-octet DHCPv6 header (RFC 7653 §5.2,
/// RFC 8415 §8); every other type, including unknown ones, has sent-time (RFC 8156 §5).
pub fn has_sent_time(t: MessageType) -> bool {
    !matches!(t, MessageType::StartTls | MessageType::Reply)
}

/// Header length for messages of type `t`: 8, or 4 for STARTTLS/REPLY ([`has_sent_time`]).
pub fn header_len(t: MessageType) -> usize {
    if has_sent_time(t) {
        field::HEADER_LEN
    } else {
        field::SHORT_HEADER_LEN
    }
}

/// A checked view of one failover message, without the length prefix (RFC 8156 §5).
///
/// No accessor panics after [`FailoverMessage::new_checked`] succeeded: the header is read
/// there and the option area is validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailoverMessage<'a> {
    bytes: &'a [u8],
    msg_type: MessageType,
    xid: Xid,
    sent_time: Option<FailoverTime>,
    options: Options<'a>,
}

impl<'a> FailoverMessage<'a> {
    /// Checks the header ([`header_len`] octets for its type) and the option area; any
    /// msg-type is accepted, so the caller decides what an unexpected one means.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        let Some((&[t, a, b, c], rest)) = bytes.split_first_chunk::<{ field::SHORT_HEADER_LEN }>()
        else {
            return Err(Error::Truncated);
        };
        let msg_type = MessageType::from(t);
        let (sent_time, rest) = if has_sent_time(msg_type) {
            let Some((&s, rest)) = rest.split_first_chunk::<4>() else {
                return Err(Error::Truncated);
            };
            (Some(FailoverTime(u32::from_be_bytes(s))), rest)
        } else {
            (None, rest)
        };
        Ok(Self {
            bytes,
            msg_type,
            xid: Xid([a, b, c]),
            sent_time,
            options: Options::new_checked(rest)?,
        })
    }

    /// msg-type.
    pub fn msg_type(&self) -> MessageType {
        self.msg_type
    }

    /// transaction-id (24 bits).
    pub fn xid(&self) -> Xid {
        self.xid
    }

    /// sent-time; `None` for STARTTLS and REPLY ([`has_sent_time`]).
    pub fn sent_time(&self) -> Option<FailoverTime> {
        self.sent_time
    }

    /// The validated option area.
    pub fn options(&self) -> Options<'a> {
        self.options
    }

    /// The message as received, without the length prefix.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Emits one framed failover message into a caller buffer: the 2-octet message-size (patched
/// by [`FailoverWriter::finish`]), the header, then options written through
/// [`FailoverWriter::writer`]. Never allocates.
#[derive(Debug)]
pub struct FailoverWriter<'b> {
    prefix: &'b mut [u8],
    w: Writer<'b>,
}

impl<'b> FailoverWriter<'b> {
    /// Starts a message at the beginning of `buf`. `sent_time` must be `Some` exactly when
    /// [`has_sent_time`]`(t)`, else [`Error::BadLength`]; [`Error::BufferTooSmall`] when the
    /// prefix and header do not fit.
    pub fn new(
        buf: &'b mut [u8],
        t: MessageType,
        xid: Xid,
        sent_time: Option<FailoverTime>,
    ) -> Result<Self> {
        if buf.len() < field::LENGTH_PREFIX_LEN + header_len(t) {
            return Err(Error::BufferTooSmall);
        }
        let (prefix, body) = buf.split_at_mut(field::LENGTH_PREFIX_LEN);
        let mut w = Writer::new(body);
        w.message_header(t, xid)?;
        match (has_sent_time(t), sent_time) {
            (true, Some(s)) => w.u32(s.0)?,
            (false, None) => {}
            _ => return Err(Error::BadLength),
        }
        Ok(Self { prefix, w })
    }

    /// The writer for the options (all [`Writer`] methods: `option`, `begin_option`, ...).
    pub fn writer(&mut self) -> &mut Writer<'b> {
        &mut self.w
    }

    /// Patches the message-size and returns the framed length (prefix included).
    /// [`Error::BadLength`] when the message exceeds 65535 octets.
    pub fn finish(self) -> Result<usize> {
        let body = self.w.finish();
        let size = u16::try_from(body).map_err(|_| Error::BadLength)?;
        self.prefix.copy_from_slice(&size.to_be_bytes());
        Ok(field::LENGTH_PREFIX_LEN + body)
    }
}

/// A failover message as header fields plus its option area, for byte-exact round trips:
/// [`FailoverRepr::emit`] after [`FailoverRepr::parse`] reproduces every message that parses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailoverRepr<'a> {
    /// msg-type.
    pub msg_type: MessageType,
    /// transaction-id.
    pub xid: Xid,
    /// sent-time; must be `Some` exactly when [`has_sent_time`]`(msg_type)`.
    pub sent_time: Option<FailoverTime>,
    /// The options, emitted in this order.
    pub options: Options<'a>,
}

impl<'a> FailoverRepr<'a> {
    /// Parses one message without its length prefix (see [`FailoverMessage::new_checked`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let m = FailoverMessage::new_checked(bytes)?;
        Ok(Self {
            msg_type: m.msg_type(),
            xid: m.xid(),
            sent_time: m.sent_time(),
            options: m.options(),
        })
    }

    /// Octets [`FailoverRepr::emit`] writes, length prefix included.
    pub fn buffer_len(&self) -> usize {
        field::LENGTH_PREFIX_LEN + header_len(self.msg_type) + self.options.as_bytes().len()
    }

    /// Emits the framed message at the start of `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut fw = FailoverWriter::new(buf, self.msg_type, self.xid, self.sent_time)?;
        for (code, data) in RawIter::new(self.options.as_bytes()) {
            fw.writer().option(OptionCode::from(code), data)?;
        }
        fw.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_header_forms() {
        let m = FailoverMessage::new_checked(&[35, 1, 2, 3, 0, 0, 1, 0]).unwrap();
        assert_eq!(m.msg_type(), MessageType::Contact);
        assert_eq!(m.xid(), Xid([1, 2, 3]));
        assert_eq!(m.sent_time(), Some(FailoverTime(256)));
        assert!(m.options().is_empty());
        let s = FailoverMessage::new_checked(&[23, 0, 0, 9, 0, 14, 0, 0]).unwrap();
        assert_eq!(s.sent_time(), None);
        assert_eq!(s.options().find(OptionCode::RapidCommit), Some(&[][..]));
        let u = FailoverMessage::new_checked(&[200, 0, 0, 0, 1, 2, 3, 4]).unwrap();
        assert_eq!(u.msg_type(), MessageType::Unknown(200));
        assert_eq!(u.sent_time(), Some(FailoverTime(0x0102_0304)));
    }

    #[test]
    fn rejects_short_headers_and_bad_options() {
        for len in 0..8 {
            let bytes = [34u8, 0, 0, 1, 0, 0, 0, 0];
            assert_eq!(
                FailoverMessage::new_checked(&bytes[..len]),
                Err(Error::Truncated),
                "{len}"
            );
        }
        assert_eq!(
            FailoverMessage::new_checked(&[7, 0, 0]),
            Err(Error::Truncated)
        );
        assert!(FailoverMessage::new_checked(&[7, 0, 0, 0]).is_ok());
        assert_eq!(
            FailoverMessage::new_checked(&[24, 0, 0, 1, 0, 0, 0, 0, 0, 45, 0, 4, 0]),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn writer_patches_prefix_and_checks_sent_time() {
        let mut buf = [0u8; 32];
        let mut fw = FailoverWriter::new(
            &mut buf,
            MessageType::State,
            Xid([0, 0, 3]),
            Some(FailoverTime(0x0a0b_0c0d)),
        )
        .unwrap();
        fw.writer().option_u8(OptionCode::FServerState, 2).unwrap();
        assert_eq!(fw.finish(), Ok(15));
        assert_eq!(
            buf[..15],
            [0, 13, 34, 0, 0, 3, 10, 11, 12, 13, 0, 132, 0, 1, 2]
        );
        let mut buf = [0u8; 6];
        let fw = FailoverWriter::new(&mut buf, MessageType::StartTls, Xid([0, 0, 1]), None);
        assert_eq!(fw.unwrap().finish(), Ok(6));
        assert_eq!(buf, [0, 4, 23, 0, 0, 1]);
        let t = Some(FailoverTime(1));
        let mut buf = [0u8; 16];
        for (ty, sent) in [(MessageType::Reply, t), (MessageType::Connect, None)] {
            let r = FailoverWriter::new(&mut buf, ty, Xid([0; 3]), sent);
            assert_eq!(r.map(|_| ()), Err(Error::BadLength));
        }
        let r = FailoverWriter::new(&mut buf[..9], MessageType::Contact, Xid([0; 3]), t);
        assert_eq!(r.map(|_| ()), Err(Error::BufferTooSmall));
    }

    #[test]
    fn writer_rejects_oversized_messages() {
        let mut buf = vec![0u8; 70_000];
        let mut fw = FailoverWriter::new(
            &mut buf,
            MessageType::BndUpd,
            Xid([0; 3]),
            Some(FailoverTime(0)),
        )
        .unwrap();
        fw.writer().bytes(&[0; 65_527]).unwrap();
        assert_eq!(fw.finish(), Ok(65_537));
        let mut fw = FailoverWriter::new(
            &mut buf,
            MessageType::BndUpd,
            Xid([0; 3]),
            Some(FailoverTime(0)),
        )
        .unwrap();
        fw.writer().bytes(&[0; 65_528]).unwrap();
        assert_eq!(fw.finish(), Err(Error::BadLength));
    }

    #[test]
    fn repr_round_trips_and_sizes() {
        let bytes = [24, 0, 0, 5, 0, 0, 0, 9, 0, 114, 0, 1, 1, 0x99, 0x99, 0, 0];
        let repr = FailoverRepr::parse(&bytes).unwrap();
        assert_eq!(repr.buffer_len(), bytes.len() + 2);
        let mut out = [0u8; 32];
        let n = repr.emit(&mut out).unwrap();
        assert_eq!(out[..2], [0, 17]);
        assert_eq!(&out[2..n], &bytes);
        assert_eq!(repr.emit(&mut out[..n - 1]), Err(Error::BufferTooSmall));
    }
}
