//! Emitting messages into a caller-owned buffer (RFC 8415 §8, §9, §21.1).
//!
//! Every write checks the remaining space first and returns [`Error::BufferTooSmall`] without
//! writing anything partial, so a failed write leaves [`Writer::len`] unchanged.

use std::net::Ipv6Addr;

use crate::{Error, MessageType, OptionCode, Result, StatusCode, Xid};

/// Emitter into a caller-owned buffer. Never allocates.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

/// Position of an option opened by [`Writer::begin_option`]; pass it to [`Writer::end_option`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "an option opened with begin_option must be closed with end_option"]
pub struct Mark {
    start: usize,
}

impl<'b> Writer<'b> {
    /// A writer that starts at the beginning of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Writes msg-type and transaction-id (RFC 8415 §8).
    pub fn message_header(&mut self, t: MessageType, xid: Xid) -> Result<()> {
        let [a, b, c] = xid.0;
        self.bytes(&[u8::from(t), a, b, c])
    }

    /// Writes the 34-octet relay header (RFC 8415 §9). `t` is written as given.
    pub fn relay_header(
        &mut self,
        t: MessageType,
        hop_count: u8,
        link: Ipv6Addr,
        peer: Ipv6Addr,
    ) -> Result<()> {
        let mut fixed = [0u8; 34];
        fixed[0] = u8::from(t);
        fixed[1] = hop_count;
        fixed[2..18].copy_from_slice(&link.octets());
        fixed[18..34].copy_from_slice(&peer.octets());
        self.bytes(&fixed)
    }

    /// Writes a whole option (RFC 8415 §21.1). [`Error::BadLength`] if `data` exceeds 65535.
    pub fn option(&mut self, code: OptionCode, data: &[u8]) -> Result<()> {
        let len = u16::try_from(data.len()).map_err(|_| Error::BadLength)?;
        self.reserve(4 + data.len())?;
        self.u16(u16::from(code))?;
        self.u16(len)?;
        self.bytes(data)
    }

    /// Writes an option whose payload is one octet (e.g. PREFERENCE, RECONF_MSG).
    pub fn option_u8(&mut self, code: OptionCode, v: u8) -> Result<()> {
        self.option(code, &[v])
    }

    /// Writes an option whose payload is a u16 (e.g. ELAPSED_TIME).
    pub fn option_u16(&mut self, code: OptionCode, v: u16) -> Result<()> {
        self.option(code, &v.to_be_bytes())
    }

    /// Writes an option whose payload is a u32 (e.g. INFORMATION_REFRESH_TIME, SOL_MAX_RT).
    pub fn option_u32(&mut self, code: OptionCode, v: u32) -> Result<()> {
        self.option(code, &v.to_be_bytes())
    }

    /// Writes an option with no payload (e.g. RAPID_COMMIT, RECONF_ACCEPT).
    pub fn empty_option(&mut self, code: OptionCode) -> Result<()> {
        self.option(code, &[])
    }

    /// Writes an option header with a zero length, to be patched by [`Writer::end_option`].
    /// Use it for options holding sub-options (IA_NA, IA_PD, RELAY_MSG, ...).
    pub fn begin_option(&mut self, code: OptionCode) -> Result<Mark> {
        self.reserve(4)?;
        let start = self.pos;
        self.u16(u16::from(code))?;
        self.u16(0)?;
        Ok(Mark { start })
    }

    /// Patches the length of the option opened at `m`. [`Error::BadLength`] if the payload
    /// exceeds 65535 octets or `m` does not belong to this writer's written range.
    pub fn end_option(&mut self, m: Mark) -> Result<()> {
        let payload = self.pos.checked_sub(m.start + 4).ok_or(Error::BadLength)?;
        let len = u16::try_from(payload).map_err(|_| Error::BadLength)?;
        let slot = self
            .buf
            .get_mut(m.start + 2..m.start + 4)
            .ok_or(Error::BadLength)?;
        slot.copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// Writes raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> Result<()> {
        let end = self.pos.checked_add(b.len()).ok_or(Error::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall)?;
        dst.copy_from_slice(b);
        self.pos = end;
        Ok(())
    }

    /// Writes one octet.
    pub fn u8(&mut self, v: u8) -> Result<()> {
        self.bytes(&[v])
    }

    /// Writes a big-endian u16.
    pub fn u16(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    /// Writes a big-endian u32.
    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_be_bytes())
    }

    /// Writes the 16 octets of an IPv6 address.
    pub fn ipv6(&mut self, a: Ipv6Addr) -> Result<()> {
        self.bytes(&a.octets())
    }

    /// Writes a whole OPTION_STATUS_CODE: status-code then the UTF-8 message (RFC 8415 §21.13).
    pub fn status_code(&mut self, code: StatusCode, msg: &str) -> Result<()> {
        let len = msg.len().checked_add(2).ok_or(Error::BadLength)?;
        let len = u16::try_from(len).map_err(|_| Error::BadLength)?;
        self.reserve(4 + usize::from(len))?;
        self.u16(u16::from(OptionCode::StatusCode))?;
        self.u16(len)?;
        self.u16(u16::from(code))?;
        self.bytes(msg.as_bytes())
    }

    /// Octets written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Octets still free in the buffer.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or(&[])
    }

    /// Ends writing and returns the number of octets written.
    pub fn finish(self) -> usize {
        self.pos
    }

    /// Fails with [`Error::BufferTooSmall`] unless `n` more octets fit.
    fn reserve(&self, n: usize) -> Result<()> {
        if self.remaining() < n {
            return Err(Error::BufferTooSmall);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_header_options_and_nested_lengths() {
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        w.message_header(MessageType::Reply, Xid([1, 2, 3]))
            .unwrap();
        let ia = w.begin_option(OptionCode::IaNa).unwrap();
        w.u32(7).unwrap();
        w.u32(100).unwrap();
        w.u32(200).unwrap();
        w.status_code(StatusCode::NoAddrsAvail, "no").unwrap();
        w.end_option(ia).unwrap();
        w.option_u16(OptionCode::ElapsedTime, 0x0102).unwrap();
        w.empty_option(OptionCode::RapidCommit).unwrap();
        let n = w.finish();
        let expect: &[u8] = &[
            7, 1, 2, 3, 0, 3, 0, 20, 0, 0, 0, 7, 0, 0, 0, 100, 0, 0, 0, 200, 0, 13, 0, 4, 0, 2,
            b'n', b'o', 0, 8, 0, 2, 1, 2, 0, 14, 0, 0,
        ];
        assert_eq!(&buf[..n], expect);
    }

    #[test]
    fn refuses_to_overflow_without_partial_writes() {
        let mut buf = [0u8; 6];
        let mut w = Writer::new(&mut buf);
        w.message_header(MessageType::Solicit, Xid([0; 3])).unwrap();
        assert_eq!(
            w.option(OptionCode::ClientId, &[1]),
            Err(Error::BufferTooSmall)
        );
        assert_eq!(
            w.status_code(StatusCode::Success, ""),
            Err(Error::BufferTooSmall)
        );
        assert_eq!(w.begin_option(OptionCode::IaNa), Err(Error::BufferTooSmall));
        assert_eq!(w.len(), 4);
        w.u16(9).unwrap();
        assert_eq!(w.u8(1), Err(Error::BufferTooSmall));
        assert_eq!(w.remaining(), 0);
    }

    #[test]
    fn rejects_oversized_payloads() {
        let mut buf = vec![0u8; 70_000];
        let mut w = Writer::new(&mut buf);
        assert_eq!(
            w.option(OptionCode::Unknown(999), &[0; 65_536]),
            Err(Error::BadLength)
        );
        let m = w.begin_option(OptionCode::RelayMsg).unwrap();
        w.bytes(&[0; 65_536]).unwrap();
        assert_eq!(w.end_option(m), Err(Error::BadLength));
        let mut w = Writer::new(&mut buf);
        let m = w.begin_option(OptionCode::RelayMsg).unwrap();
        w.bytes(&[0; 65_535]).unwrap();
        assert_eq!(w.end_option(m), Ok(()));
        assert_eq!(w.written()[2..4], [0xff, 0xff]);
    }
}
