//! The single error type of the wire layer.

use thiserror::Error as ThisError;

/// Result alias used throughout the crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Why bytes could not be parsed or emitted.
///
/// One small `Copy` enum (as in smoltcp's `wire::Error`): a wire error is always the sender's
/// fault when parsing and the caller's fault (`BufferTooSmall`, `BadLength`) when emitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends before a fixed field or before the length an option header announced.
    #[error("truncated: data ends before the announced length")]
    Truncated,
    /// A length is impossible for the field (wrong fixed size, odd ORO, DNS list not /16, ...).
    #[error("bad length for this field")]
    BadLength,
    /// More nested Relay-forw layers than HOP_COUNT_LIMIT + 1 (RFC 8415 §7.6).
    #[error("relay nesting deeper than HOP_COUNT_LIMIT")]
    TooDeep,
    /// A relay message type (12/13) where a client/server message was required (RFC 8415 §8).
    #[error("not a client/server message")]
    NotAClientMessage,
    /// A non-relay message type where a Relay-forw/Relay-repl was required (RFC 8415 §9).
    #[error("not a relay message")]
    NotARelayMessage,
    /// A relay message without an OPTION_RELAY_MSG (RFC 8415 §9.1, §21.10).
    #[error("relay message without OPTION_RELAY_MSG")]
    MissingRelayMessage,
    /// A domain name that is not a valid uncompressed RFC 1035 name (RFC 8415 §10).
    #[error("invalid domain name encoding")]
    BadDomainName,
    /// The output buffer has no room for what was being written.
    #[error("output buffer too small")]
    BufferTooSmall,
}
