//! Client/server messages (RFC 8415 §8).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    msg-type   |               transaction-id                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            options                            |
//! |                           (variable)                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::{Error, MessageType, Options, Result, Xid};

/// Field offsets of a client/server message.
pub mod field {
    use core::ops::{Range, RangeFrom};

    /// msg-type.
    pub const MSG_TYPE: usize = 0;
    /// transaction-id.
    pub const XID: Range<usize> = 1..4;
    /// options.
    pub const OPTIONS: RangeFrom<usize> = 4..;
    /// Length of the fixed header.
    pub const HEADER_LEN: usize = 4;
}

/// A checked view of a client/server message (RFC 8415 §8).
///
/// No accessor panics after [`Message::new_checked`] succeeded: the header fields are read
/// once there and the option area is validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    bytes: &'a [u8],
    msg_type: MessageType,
    xid: Xid,
    options: Options<'a>,
}

impl<'a> Message<'a> {
    /// Checks the header and the option area.
    ///
    /// Message types without a name (14 and up, 0) are accepted with the same layout, so
    /// callers can count and drop them; Relay-forw and Relay-repl are rejected with
    /// [`Error::NotAClientMessage`] (use [`crate::RelayMessage`]).
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self> {
        let Some((&[t, a, b, c], rest)) = bytes.split_first_chunk::<{ field::HEADER_LEN }>() else {
            return Err(Error::Truncated);
        };
        let msg_type = MessageType::from(t);
        if msg_type.is_relay() {
            return Err(Error::NotAClientMessage);
        }
        let options = Options::new_checked(rest)?;
        Ok(Self {
            bytes,
            msg_type,
            xid: Xid([a, b, c]),
            options,
        })
    }

    /// msg-type.
    pub fn msg_type(&self) -> MessageType {
        self.msg_type
    }

    /// transaction-id.
    pub fn xid(&self) -> Xid {
        self.xid
    }

    /// The validated option area.
    pub fn options(&self) -> Options<'a> {
        self.options
    }

    /// The whole message as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OptionCode;

    #[test]
    fn parses_header_and_options() {
        let bytes = [1, 0x12, 0x34, 0x56, 0, 14, 0, 0];
        let m = Message::new_checked(&bytes).unwrap();
        assert_eq!(m.msg_type(), MessageType::Solicit);
        assert_eq!(m.xid(), Xid([0x12, 0x34, 0x56]));
        assert_eq!(m.options().find(OptionCode::RapidCommit), Some(&[][..]));
        assert_eq!(m.as_bytes(), &bytes);
    }

    #[test]
    fn rejects_short_relay_and_bad_options() {
        assert_eq!(Message::new_checked(&[1, 2, 3]), Err(Error::Truncated));
        assert_eq!(
            Message::new_checked(&[12, 0, 0, 0]),
            Err(Error::NotAClientMessage)
        );
        assert_eq!(
            Message::new_checked(&[13, 0, 0, 0]),
            Err(Error::NotAClientMessage)
        );
        assert_eq!(
            Message::new_checked(&[3, 0, 0, 0, 0, 1, 0]),
            Err(Error::Truncated)
        );
        let unknown = Message::new_checked(&[99, 0, 0, 0]).unwrap();
        assert_eq!(unknown.msg_type(), MessageType::Unknown(99));
        assert!(unknown.options().is_empty());
    }
}
