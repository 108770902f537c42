//! Stream deframing: TCP reads of any size in, whole failover messages out (RFC 8156 §5,
//! framing of RFC 5460 §5.1; protocol notes §1.2).
//!
//! Every message is preceded by a big-endian u16 message-size counting the octets after it.
//! [`Deframer`] keeps at most one maximum-size frame in a buffer allocated once; a length
//! prefix that is too large for that buffer or too small for a header is a [`FrameError`] after
//! which the stream is out of sync and the caller closes the connection.

use thiserror::Error as ThisError;

use super::message::{field, FailoverMessage};
use crate::Error;

/// Default and largest frame the deframer accepts, length prefix included: 2 + 65535.
pub const DEFAULT_MAX_FRAME_LEN: usize = field::LENGTH_PREFIX_LEN + u16::MAX as usize;

/// Smallest frame that can hold a message: the prefix and a 4-octet STARTTLS/REPLY header.
const MIN_FRAME_LEN: usize = field::LENGTH_PREFIX_LEN + field::SHORT_HEADER_LEN;

/// Why the byte stream could not be split into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ThisError)]
#[non_exhaustive]
pub enum FrameError {
    /// The message-size announces more than the configured maximum: close the connection.
    /// Sticky: every later call returns it again.
    #[error("failover message of {size} octets exceeds the limit of {max}")]
    TooLong {
        /// Announced message-size.
        size: usize,
        /// Largest message-size accepted (the configured frame length minus 2).
        max: usize,
    },
    /// The message-size is smaller than any message header (4 octets): close the connection.
    /// Sticky: every later call returns it again.
    #[error("failover message-size {size} cannot hold a header")]
    TooShort {
        /// Announced message-size.
        size: usize,
    },
    /// A frame of valid size whose content is malformed. The frame has been consumed and the
    /// stream is still in sync, so the caller may go on or close.
    #[error("malformed failover message: {0}")]
    Malformed(Error),
}

/// Bounded streaming deframer for one failover connection.
///
/// Feed it with [`Deframer::push`] (which may take only part of a chunk when the buffer is
/// full) and drain it with [`Deframer::next_message`], or do both with [`Deframer::feed`].
/// Memory is fixed at construction; pushing never grows it.
#[derive(Debug, Clone)]
pub struct Deframer {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    failed: Option<FrameError>,
}

impl Default for Deframer {
    fn default() -> Self {
        Self::new()
    }
}

impl Deframer {
    /// A deframer for frames up to [`DEFAULT_MAX_FRAME_LEN`] octets.
    pub fn new() -> Self {
        Self::with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A deframer for frames up to `max_frame_len` octets, length prefix included, clamped to
    /// 6..=[`DEFAULT_MAX_FRAME_LEN`]. Allocates that buffer now, once.
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        let len = max_frame_len.clamp(MIN_FRAME_LEN, DEFAULT_MAX_FRAME_LEN);
        Self {
            buf: vec![0; len].into_boxed_slice(),
            start: 0,
            end: 0,
            failed: None,
        }
    }

    /// Largest frame accepted, length prefix included.
    pub fn max_frame_len(&self) -> usize {
        self.buf.len()
    }

    /// Octets received but not yet returned as messages (non-zero at end of stream means the
    /// peer closed in the middle of a message).
    pub fn buffered_len(&self) -> usize {
        self.end - self.start
    }

    /// Copies as much of `data` as fits and returns how many octets were taken. It takes
    /// nothing only when a whole frame is already buffered (then [`Deframer::next_message`]
    /// returns it) or after a sticky error, which it returns.
    pub fn push(&mut self, data: &[u8]) -> Result<usize, FrameError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let free = self.buf.get_mut(self.end..).unwrap_or_default();
        let n = free.len().min(data.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.end += n;
        Ok(n)
    }

    /// The next whole message, `Ok(None)` when more input is needed.
    ///
    /// Call after [`Deframer::push`]. A bad length prefix is a sticky [`FrameError::TooLong`] /
    /// [`FrameError::TooShort`]; a frame whose content does not parse is consumed and reported
    /// as [`FrameError::Malformed`].
    pub fn next_message(&mut self) -> Result<Option<FailoverMessage<'_>>, FrameError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let pending = self.buf.get(self.start..self.end).unwrap_or_default();
        let Some((&size, _)) = pending.split_first_chunk::<{ field::LENGTH_PREFIX_LEN }>() else {
            return Ok(None);
        };
        let size = usize::from(u16::from_be_bytes(size));
        let max = self.buf.len() - field::LENGTH_PREFIX_LEN;
        let error = if size > max {
            Some(FrameError::TooLong { size, max })
        } else if size < field::SHORT_HEADER_LEN {
            Some(FrameError::TooShort { size })
        } else {
            None
        };
        if let Some(e) = error {
            self.failed = Some(e);
            return Err(e);
        }
        let frame_end = self.start + field::LENGTH_PREFIX_LEN + size;
        if frame_end > self.end {
            return Ok(None);
        }
        let body_start = self.start + field::LENGTH_PREFIX_LEN;
        self.start = frame_end;
        if self.start == self.end {
            // Cheap reset so the next frame starts at the front without a copy.
            self.start = 0;
            self.end = 0;
        }
        let body = self.buf.get(body_start..frame_end).unwrap_or_default();
        FailoverMessage::new_checked(body)
            .map(Some)
            .map_err(FrameError::Malformed)
    }

    /// Pushes all of `data`, calling `on_message` for every message completed on the way.
    /// Stops at the first error (see [`Deframer::next_message`]). After
    /// [`FrameError::Malformed`] the octets already pushed stay buffered for
    /// [`Deframer::next_message`] but the rest of `data` is dropped; a caller that wants to
    /// go on past a malformed message uses `push` and `next_message` directly.
    pub fn feed<F>(&mut self, mut data: &[u8], mut on_message: F) -> Result<(), FrameError>
    where
        F: FnMut(FailoverMessage<'_>),
    {
        loop {
            while let Some(m) = self.next_message()? {
                on_message(m);
            }
            if data.is_empty() {
                return Ok(());
            }
            let n = self.push(data)?;
            data = data.get(n..).unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MessageType, Xid};

    #[test]
    fn yields_messages_split_anywhere() {
        let stream = [0, 8, 35, 0, 0, 1, 0, 0, 0, 0, 0, 4, 23, 0, 0, 2];
        for cut in 0..=stream.len() {
            let mut d = Deframer::new();
            let mut got = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                d.feed(part, |m| got.push((m.msg_type(), m.xid()))).unwrap();
            }
            assert_eq!(
                got,
                [
                    (MessageType::Contact, Xid([0, 0, 1])),
                    (MessageType::StartTls, Xid([0, 0, 2]))
                ],
                "cut {cut}"
            );
            assert_eq!(d.buffered_len(), 0);
        }
    }

    #[test]
    fn bounded_buffer_takes_partial_chunks() {
        let mut d = Deframer::with_max_frame_len(10);
        assert_eq!(d.max_frame_len(), 10);
        let two = [0, 8, 35, 0, 0, 1, 0, 0, 0, 7, 0, 8, 35, 0, 0, 2, 0, 0, 0, 8];
        assert_eq!(d.push(&two), Ok(10));
        assert_eq!(d.push(&two[10..]), Ok(0));
        let m = d.next_message().unwrap().unwrap();
        assert_eq!(m.sent_time().map(|t| t.0), Some(7));
        assert_eq!(d.next_message(), Ok(None));
        assert_eq!(d.push(&two[10..]), Ok(10));
        let m = d.next_message().unwrap().unwrap();
        assert_eq!(m.xid(), Xid([0, 0, 2]));
        assert_eq!(d.buffered_len(), 0);
        assert_eq!(Deframer::with_max_frame_len(0).max_frame_len(), 6);
        assert_eq!(
            Deframer::with_max_frame_len(usize::MAX).max_frame_len(),
            DEFAULT_MAX_FRAME_LEN
        );
    }

    #[test]
    fn compacts_a_partial_frame_to_the_front() {
        let mut d = Deframer::with_max_frame_len(12);
        let stream = [0, 8, 35, 0, 0, 1, 0, 0, 0, 0, 0, 4, 23, 0, 0, 2];
        assert_eq!(d.push(&stream), Ok(12));
        assert!(d.next_message().unwrap().is_some());
        assert_eq!(d.buffered_len(), 2);
        assert_eq!(d.push(&stream[12..]), Ok(4));
        let m = d.next_message().unwrap().unwrap();
        assert_eq!(
            (m.msg_type(), m.xid()),
            (MessageType::StartTls, Xid([0, 0, 2]))
        );
    }

    #[test]
    fn bad_sizes_are_sticky_errors() {
        let mut d = Deframer::with_max_frame_len(20);
        let e = FrameError::TooLong { size: 19, max: 18 };
        assert_eq!(d.feed(&[0, 19], |_| {}), Err(e));
        assert_eq!(d.push(&[0]), Err(e));
        assert_eq!(d.next_message().map(|m| m.is_some()), Err(e));
        let mut d = Deframer::new();
        assert_eq!(d.push(&[0xff, 0xff]), Ok(2));
        assert!(d.next_message().is_ok());
        for size in 0..4u8 {
            let mut d = Deframer::new();
            let e = FrameError::TooShort {
                size: usize::from(size),
            };
            assert_eq!(d.feed(&[0, size, 7, 7, 7], |_| {}), Err(e));
        }
    }

    #[test]
    fn malformed_content_is_consumed_and_reported() {
        let mut d = Deframer::new();
        // A CONTACT with 5 octets (sent-time cut short), then a good STARTTLS.
        let stream = [0, 5, 35, 0, 0, 1, 0, 0, 4, 23, 0, 0, 2];
        let mut seen = 0;
        assert_eq!(
            d.feed(&stream, |_| seen += 1),
            Err(FrameError::Malformed(Error::Truncated))
        );
        assert_eq!(seen, 0);
        assert_eq!(
            d.next_message().unwrap().map(|m| m.msg_type()),
            Some(MessageType::StartTls)
        );
    }
}
