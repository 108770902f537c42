//! Zero-copy DHCPv6 (RFC 8415) wire format: checked views over `&[u8]` and an emitter into
//! caller-owned buffers.
//!
//! # Contract
//!
//! * **Views.** [`Message`], [`RelayMessage`], [`Options`] and the typed option views
//!   ([`IaNa`], [`IaPd`], [`IaAddr`], [`StatusCodeOption`], [`Oro`], [`DnsServers`], ...)
//!   borrow the input. Each is built by `new_checked` / `parse`, which validates every length
//!   once; **no accessor panics after `new_checked`/`parse` succeeded**, and neither does any
//!   constructor on any input (non-test code indexes only fixed-size arrays at constant
//!   offsets; everything else goes through `get`/`split_first_chunk`). Field offsets are public `Range` constants (`message::field`,
//!   `relay::field`, `options::field`).
//! * **No heap per packet.** Parsing and emitting never allocate: relay chains live in fixed
//!   arrays of [`MAX_RELAY_DEPTH`] (= [`HOP_COUNT_LIMIT`] + 1) entries and are peeled with loops,
//!   not recursion. Only the config-time helpers [`encode_domain_list`] and
//!   [`encode_domain_name`] write into a `Vec`.
//! * **Emit.** [`Writer`] writes into a `&mut [u8]` the caller owns; every write checks space
//!   and fails with [`Error::BufferTooSmall`] without writing partially.
//! * **Round trip.** Unknown message types and options are kept (`Unknown(x)` codes, raw
//!   payloads). [`PacketRepr::parse`] followed by [`PacketRepr::emit`] reproduces every packet
//!   that parses byte for byte; this is checked by proptest and by the cargo-fuzz targets in
//!   `fuzz/`.
//! * **Sans-IO.** No sockets, clocks, threads or randomness; `#![forbid(unsafe_code)]`.
//!
//! Golden byte vectors of real-shaped messages are in `testdata` (cargo feature `testdata`).

#![forbid(unsafe_code)]

mod class;
mod codes;
pub mod domain;
mod error;
pub mod failover;
mod ia;
pub mod message;
mod option_views;
pub mod options;
pub mod relay;
mod repr;
#[cfg(any(test, feature = "testdata"))]
pub mod testdata;
mod validate;
mod writer;

pub use class::{ClassDataIter, DnsServers, UserClass, VendorClass, VendorOpts, VendorSubOptions};
pub use codes::{MessageType, OptionCode, StatusCode, Xid, HOP_COUNT_LIMIT};
pub use domain::{encode_domain_list, encode_domain_name, DomainList, DomainListIter, DomainName};
pub use error::{Error, Result};
pub use failover::{Deframer, FailoverMessage, FailoverRepr, FailoverWriter, FrameError};
pub use ia::{IaAddr, IaNa, IaPd, IaPrefix, IaTa};
pub use message::Message;
pub use option_views::{
    parse_empty, parse_ipv6, parse_u16, parse_u32, parse_u8, Auth, ClientFqdn, ClientLinklayerAddr,
    Oro, RemoteId, StatusCodeOption,
};
pub use options::{Options, OptionsIter, RawOption};
pub use relay::{unwrap_relays, RelayChain, RelayHop, RelayMessage, MAX_RELAY_DEPTH};
pub use repr::{MessageRepr, PacketRepr, RelayRepr};
pub use validate::{validate_options, OPTION_NESTING_MAX};
pub use writer::{Mark, Writer};
