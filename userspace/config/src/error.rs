//! [`ConfigError`]: what is wrong, in which file, on which line, under which key.
//!
//! Its `Display` is exactly what `tandemd check-config` prints:
//!
//! ```text
//! FILE:LINE: key `subnet[1].pools[0]`: what is wrong
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use crate::values::{DuidError, PrefixError};

/// A config file that cannot be served from. One error is reported: the first found, in file
/// order as far as the checks allow.
#[derive(Debug)]
pub struct ConfigError {
    file: String,
    line: Option<usize>,
    key: Option<String>,
    kind: ErrorKind,
}

impl ConfigError {
    pub(crate) fn new(
        file: &str,
        line: Option<usize>,
        key: Option<String>,
        kind: ErrorKind,
    ) -> Self {
        Self {
            file: file.to_owned(),
            line,
            key,
            kind,
        }
    }

    /// The file name as given to [`crate::load`] or [`crate::parse`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based line of the offending key or value; `None` when the file could not be read.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// Key path of the offending key or value, as `subnet[1].pools[0]` (`None` for syntax errors
    /// that no key can be blamed for).
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What is wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Read(e) => Some(e),
            _ => None,
        }
    }
}

/// The three ways a config file fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Read(std::io::Error),
    /// TOML syntax, an unknown key, a missing key or a value of the wrong type: the TOML
    /// parser's own message.
    #[error("{0}")]
    Parse(String),
    /// Well-formed TOML whose values break a rule of the format.
    #[error(transparent)]
    Invalid(#[from] Invalid),
}

/// Another key an error refers to (the first of two duplicates, the other of two overlapping
/// pools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub line: usize,
    pub key: String,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` on line {}", self.key, self.line)
    }
}

/// A rule of the config format that a value breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Invalid {
    #[error("at least one interface is required")]
    NoInterfaces,
    #[error("`{0}` is not an interface name (1..=15 bytes, no spaces, '/' or ':')")]
    InterfaceName(String),
    #[error("interface `{0}` is listed twice")]
    DuplicateInterface(String),
    #[error("interface `{0}` is not one of server.interfaces")]
    UnknownInterface(String),
    #[error("interface `{name}` already belongs to the subnet at {other}")]
    InterfaceTaken { name: String, other: Place },
    #[error("{0} workers is more than the limit of {max}", max = crate::validate::WORKERS_MAX)]
    TooManyWorkers(usize),
    #[error("{0}")]
    Duid(DuidError),
    #[error("the storage path is empty")]
    EmptyStoragePath,
    #[error("the xdp-object path is empty")]
    EmptyXdpObject,
    #[error("preferred lifetime {preferred_s} s is longer than valid lifetime {valid_s} s")]
    LifetimeOrder { preferred_s: u32, valid_s: u32 },
    #[error("t1 {t1_s} s is later than t2 {t2_s} s")]
    TimerOrder { t1_s: u32, t2_s: u32 },
    #[error("sol-max-rt {0} s is not in 60..=86400 (RFC 8415 §21.24)")]
    SolMaxRt(u32),
    #[error("information-refresh-time {0} s is below the minimum of 600 (RFC 8415 §21.23)")]
    InformationRefreshTime(u32),
    #[error("`{0}` is not a domain name (letters, digits, hyphens; labels 1..=63; <= 253)")]
    DomainName(String),
    #[error("`{text}`: {why}")]
    Prefix { text: String, why: PrefixError },
    #[error("`{0}` is not an address range (FIRST-LAST)")]
    RangeSyntax(String),
    #[error("range starts at {first}, after its last address {last}")]
    RangeReversed { first: Ipv6Addr, last: Ipv6Addr },
    #[error("{addr} is outside the subnet prefix {prefix}")]
    OutsidePrefix { addr: Ipv6Addr, prefix: String },
    #[error("delegated-length {delegated_len} is not in {prefix_len}..=128 (the pool's length)")]
    DelegatedLength { prefix_len: u8, delegated_len: u8 },
    #[error("subnet id must be above 0")]
    SubnetIdZero,
    #[error("subnet id {id} is already used at {other}")]
    DuplicateSubnetId { id: u32, other: Place },
    #[error("subnet prefix overlaps the subnet prefix at {other}")]
    SubnetOverlap { other: Place },
    #[error("pool overlaps the pool at {other}")]
    PoolOverlap { other: Place },
    #[error("this DUID already has a reservation in this subnet, at {other}")]
    DuplicateReservation { other: Place },
    #[error("overlaps the reservation at {other}")]
    ReservationOverlap { other: Place },
    #[error("[failover] needs at least one [[failover.relationship]]")]
    NoRelationships,
    #[error("relationship name must be 1..=255 octets, got {0} (RFC 8156 §6.2)")]
    RelationshipNameLength(usize),
    #[error("this relationship name is already used at {other}")]
    DuplicateRelationshipName { other: Place },
    #[error(
        "same name, partner address and role as the relationship at {other}: partner, name and \
         role must select one relationship (RFC 8156 §3)"
    )]
    DuplicateRelationship { other: Place },
    #[error(
        "`{0}` is not an address (\"[IPV6]:PORT\", \"IPV4:PORT\" or a bare address for port 647)"
    )]
    SocketAddress(String),
    #[error("port 0 is not a port to connect to or listen on")]
    PortZero,
    #[error("{0} is not a unicast address")]
    NotUnicast(IpAddr),
    #[error("mclt {0} s is below the minimum of 30 s (RFC 8156 §1: no failover lease under 30 s)")]
    Mclt(u32),
    #[error("keepalive {0} s is below the minimum of 2 s (CONTACT must fit inside it)")]
    Keepalive(u32),
    #[error("contact-interval {contact_s} s is not in 1..{keepalive_s} (shorter than keepalive {keepalive_s} s, RFC 8156 §6.5)")]
    ContactInterval { contact_s: u32, keepalive_s: u32 },
    #[error("max-unacked-bndupd {0} is not in 1..=65535")]
    MaxUnackedBndupd(u32),
    #[error("skew-window {got} is not in 1..={max}")]
    SkewWindow { got: usize, max: usize },
    #[error("{0} must be above 0")]
    ZeroTime(&'static str),
    #[error("reconnect-cap {cap_ms} ms is below reconnect-initial {initial_ms} ms")]
    ReconnectCap { initial_ms: u32, cap_ms: u32 },
    #[error("prefix-share {0} is not in 0..=1")]
    PrefixShare(String),
    #[error("prefix-rebalance-threshold {0} is not strictly between 0 and 1")]
    RebalanceThreshold(String),
    #[error("`subnets` is required when there is more than one relationship (R8)")]
    SubnetsRequired,
    #[error("a relationship must cover at least one subnet")]
    NoSubnets,
    #[error("no subnet has id {0}")]
    UnknownSubnet(u32),
    #[error("subnet {id} is already covered at {other}: a subnet belongs to at most one relationship (R8)")]
    SubnetTaken { id: u32, other: Place },
    #[error(
        "{which} {value_s} s of subnet {subnet} is below the 30 s minimum for subnets in failover \
         relationship `{relationship}` (RFC 8156 §1)"
    )]
    FailoverLifetime {
        which: &'static str,
        value_s: u32,
        subnet: u32,
        relationship: String,
    },
    #[error(
        "no [tls] table, so TLS mode is \"mutual\" (the default), which needs cert, key and ca; \
         write mode = \"none\" in the tls table to run without TLS (RFC 8156 §10)"
    )]
    TlsTableMissing,
    #[error("`{0}` is required with TLS mode \"mutual\"")]
    TlsKeyMissing(&'static str),
    #[error("`{0}` is given but TLS mode is \"none\"")]
    TlsKeyUnused(&'static str),
    #[error("the path is empty")]
    EmptyPath,
    #[error("the control socket path would be {0} bytes; a Unix socket path is at most 107 (set a shorter `[control] socket`)")]
    ControlSocketTooLong(usize),
    #[error("`{0}` is not a DNS name or IP address")]
    PartnerName(String),
    #[error("`{0}` is not IP:PORT (\"[IPV6]:PORT\" or \"IPV4:PORT\"; the port is required)")]
    MetricsAddress(String),
    #[error("`{0}` is not IP:PORT (\"[IPV6]:PORT\" or \"IPV4:PORT\"; the port is required)")]
    HttpAddress(String),
    #[error("`{0}` is required with `http-listen`: the HTTP control API always asks for HTTP Basic credentials")]
    HttpKeyMissing(&'static str),
    #[error("`{0}` is given but `http-listen` is not")]
    HttpKeyUnused(&'static str),
    #[error("`{0}` is not an HTTP Basic user name (1..=64 characters, no ':' or control characters; RFC 7617 §2)")]
    HttpUser(String),
}
