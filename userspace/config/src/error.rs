//! [`ConfigError`]: what is wrong, in which file, on which line, under which key.
//!
//! Its `Display` is exactly what `tandemd check-config` prints:
//!
//! ```text
//! FILE:LINE: key `subnet[1].pools[0]`: what is wrong
//! ```

use std::fmt;
use std::net::Ipv6Addr;

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
}
