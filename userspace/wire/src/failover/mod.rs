//! RFC 8156 DHCPv6 failover wire format: the TCP stream framing, the 8-octet message header,
//! and typed views of the failover options (protocol notes §1.2–§1.5, §1.9, §1.12).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         message-size          |    msg-type   |  xid (hi)     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   transaction-id (lo 16 bits) |       sent-time (hi 16)       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |       sent-time (lo 16)       |     options (variable) ...    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! * **Framing** (RFC 8156 §5 copying RFC 5460 §5.1): every message on the TCP connection
//!   (port [`FAILOVER_PORT`]) is preceded by a big-endian u16 message-size that counts the
//!   octets after it. [`Deframer`] turns arbitrary TCP reads into whole messages with a
//!   bounded buffer; [`FailoverWriter`] writes the prefix, header and options.
//! * **Header**: msg-type, 24-bit transaction-id, sent-time (u32 seconds since
//!   2000-01-01T00:00:00Z modulo 2^32, see [`FailoverTime`]). **Decision on OPEN-7**: STARTTLS
//!   (23) and its answer REPLY (7) are RFC 7653 messages and keep the 4-octet DHCPv6 header
//!   without sent-time; every other type, named or not, has the 8-octet failover header
//!   ([`has_sent_time`]). This matches `/work/shared/tools/fo6.lua`.
//! * **Options** are ordinary DHCPv6 options read with [`crate::Options`]; the failover ones
//!   (114–134) and the leasequery containers (CLIENT_DATA 45, CLT_TIME 46, LQ_BASE_TIME 100)
//!   have typed views here, each checking its exact length, and
//!   [`validate_failover_options`] applies them through a whole message.
//!
//! Nothing here panics on any input and nothing allocates per message; the [`Deframer`]
//! allocates its fixed buffer once, when the connection is set up.

mod codes;
pub mod frame;
pub mod message;
mod options;
#[cfg(any(test, feature = "testdata"))]
pub mod testdata;
#[cfg(test)]
mod tests;
mod validate;

pub use codes::{BindingStatus, ConnectFlags, DnsFlags, ServerFlags, ServerState};
pub use frame::{Deframer, FrameError, DEFAULT_MAX_FRAME_LEN};
pub use message::{has_sent_time, header_len, FailoverMessage, FailoverRepr, FailoverWriter};
pub use options::{
    ClientData, DnsName, DnsRemovalInfo, FailoverTime, ProtocolVersion, ReconfigureData,
    RelationshipName,
};
pub use validate::{validate_failover_options, FAILOVER_NESTING_MAX};

/// TCP port of the failover service, "dhcp-failover" (RFC 8156 §6, RFC 8415 §24).
pub const FAILOVER_PORT: u16 = 647;
