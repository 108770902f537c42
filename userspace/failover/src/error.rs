//! Errors, split by who is at fault (house style §6, rustls-style).
//!
//! * [`PeerMisbehaved`]: the partner sent something RFC 8156 forbids.
//! * [`PeerIncompatible`]: the partner is well-behaved but cannot work with us.
//! * [`ApiMisuse`]: the caller (the server) used this crate wrongly.
//! * [`PersistError`]: stored state-machine data could not be decoded.

/// Any error of this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The partner broke the protocol.
    #[error("partner misbehaved: {0}")]
    PeerMisbehaved(#[from] PeerMisbehaved),
    /// The partner cannot interoperate with us.
    #[error("partner incompatible: {0}")]
    PeerIncompatible(#[from] PeerIncompatible),
    /// The caller used the API wrongly.
    #[error("API misuse: {0}")]
    ApiMisuse(#[from] ApiMisuse),
}

/// The partner sent a value RFC 8156 does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// OPTION_F_SERVER_STATE (option 132) carried a value outside the RFC 8156 state table.
    #[error("unknown server state value {0}")]
    UnknownServerState(u8),
    /// OPTION_F_BINDING_STATUS (option 114) carried a value outside the RFC 8156
    /// binding-status table.
    #[error("unknown binding status value {0}")]
    UnknownBindingStatus(u8),
    /// The byte stream could not be split into messages, or a message did not parse
    /// (RFC 8156 §5; the connection is closed).
    #[error("malformed failover message")]
    Malformed,
    /// A message type that is not allowed in the current connection state (RFC 8156 §6),
    /// e.g. anything but CONNECT as the first message to a secondary.
    #[error("unexpected message type {0}")]
    UnexpectedMessage(u8),
    /// A mandatory option is missing (RFC 8156 §6.1–6.3).
    #[error("missing option {0}")]
    MissingOption(u16),
    /// An option has the wrong length for its type (RFC 8156 §5).
    #[error("bad option {0}")]
    BadOption(u16),
}

/// The partner works, but not with us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerIncompatible {
    /// The partner's clock is more than [`crate::MAX_TIME_SKEW_S`] away from ours
    /// (RFC 8156 §6, §7.1: CONNECTREPLY with ExcessiveTimeSkew).
    #[error("excessive time skew of {skew_s} s")]
    ExcessiveTimeSkew {
        /// Partner sent-time minus our receive time, in seconds.
        skew_s: i32,
    },
    /// CONNECT named a relationship we do not have (RFC 8156 §6.1; R7).
    #[error("unknown relationship name")]
    UnknownRelationship,
    /// The partner speaks a protocol version we do not (RFC 8156 §6.1.2, §6.2.2).
    #[error("unsupported protocol version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version received.
        major: u16,
        /// Minor version received.
        minor: u16,
    },
    /// CONNECTREPLY's MCLT differs from the configured one (RFC 8156 §6.2.2; R18).
    #[error("MCLT mismatch: ours {ours} s, partner's {theirs} s")]
    McltMismatch {
        /// Our configured MCLT.
        ours: u32,
        /// The MCLT in CONNECTREPLY.
        theirs: u32,
    },
    /// The secondary rejected our CONNECT with this status code (RFC 8156 §6.1.2).
    #[error("CONNECT rejected with status {status}")]
    Rejected {
        /// The OPTION_STATUS_CODE value.
        status: u16,
    },
}

/// The caller passed an argument outside the documented range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// The skew moving-average window must be `1..=SKEW_WINDOW_MAX`.
    #[error("skew window {window} outside 1..={max}")]
    SkewWindowOutOfRange {
        /// The requested window.
        window: usize,
        /// The largest supported window.
        max: usize,
    },
    /// A [`crate::Config`] field is outside its documented range.
    #[error("invalid config field {field}")]
    BadConfig {
        /// The field name.
        field: &'static str,
    },
    /// A `handle_*` call that does not fit the connection state, e.g. `handle_connected`
    /// without a pending `Event::Connect`, or `handle_accepted` on the primary.
    #[error("{call} is not valid now")]
    UnexpectedCall {
        /// The method called.
        call: &'static str,
    },
}

/// Stored [`crate::PersistedState`] bytes are unusable. Never a panic: a corrupt file is data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// Fewer or more bytes than the encoding of the stated version.
    #[error("wrong length {0}")]
    WrongLength(usize),
    /// The leading magic bytes are not ours.
    #[error("bad magic")]
    BadMagic,
    /// A version this build does not understand.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// The CRC-32 does not match the contents.
    #[error("checksum mismatch")]
    BadChecksum,
    /// A state byte is not a known state.
    #[error("bad state byte {0}")]
    BadState(u8),
    /// Reserved flag bits are set.
    #[error("bad flags {0:#04x}")]
    BadFlags(u8),
}
