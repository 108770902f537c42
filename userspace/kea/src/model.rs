//! What the import carries over: a tandem config in memory, in the shape of tandem's TOML
//! (`config/standalone.toml`), filled by [`crate::import`] and written by [`crate::render`].

use std::net::Ipv6Addr;

/// Lifetimes and timers in seconds; `None` inherits [RFC 8415 §7.7, §21.4].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Lifetimes {
    pub(crate) preferred: Option<u32>,
    pub(crate) valid: Option<u32>,
    pub(crate) t1: Option<u32>,
    pub(crate) t2: Option<u32>,
}

impl Lifetimes {
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `self` over `base`, field by field.
    pub(crate) fn over(self, base: Self) -> Self {
        Self {
            preferred: self.preferred.or(base.preferred),
            valid: self.valid.or(base.valid),
            t1: self.t1.or(base.t1),
            t2: self.t2.or(base.t2),
        }
    }
}

/// The client options tandem sends; empty lists and `None` inherit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// OPTION_DNS_SERVERS (23) [RFC 3646].
    pub(crate) dns_servers: Vec<Ipv6Addr>,
    /// OPTION_DOMAIN_LIST (24) [RFC 3646].
    pub(crate) domain_search: Vec<String>,
    /// OPTION_PREFERENCE (7) [RFC 8415 §21.8].
    pub(crate) preference: Option<u8>,
    /// OPTION_SOL_MAX_RT (82) [RFC 8415 §21.24].
    pub(crate) sol_max_rt: Option<u32>,
    /// OPTION_INFORMATION_REFRESH_TIME (32) [RFC 8415 §21.23].
    pub(crate) information_refresh_time: Option<u32>,
}

impl Options {
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `self` over `base`, field by field (an empty list inherits, as tandem treats it).
    pub(crate) fn over(self, base: &Self) -> Self {
        Self {
            dns_servers: pick(self.dns_servers, &base.dns_servers),
            domain_search: pick(self.domain_search, &base.domain_search),
            preference: self.preference.or(base.preference),
            sol_max_rt: self.sol_max_rt.or(base.sol_max_rt),
            information_refresh_time: self
                .information_refresh_time
                .or(base.information_refresh_time),
        }
    }
}

/// `own`, or `base` when `own` is empty.
fn pick<T: Clone>(own: Vec<T>, base: &[T]) -> Vec<T> {
    if own.is_empty() {
        base.to_vec()
    } else {
        own
    }
}

/// A host reservation by DUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reservation {
    pub(crate) duid: Vec<u8>,
    pub(crate) addresses: Vec<Ipv6Addr>,
    /// `prefix/len` text, checked.
    pub(crate) prefixes: Vec<String>,
    pub(crate) hostname: Option<String>,
}

/// One `[[subnet]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Subnet {
    pub(crate) id: u32,
    /// `prefix/len` text, checked.
    pub(crate) prefix: String,
    pub(crate) interface: Option<String>,
    pub(crate) rapid_commit: Option<bool>,
    /// Address ranges (first, last).
    pub(crate) pools: Vec<(Ipv6Addr, Ipv6Addr)>,
    /// (prefix, prefix length, delegated length).
    pub(crate) pd_pools: Vec<(Ipv6Addr, u8, u8)>,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) options: Options,
    pub(crate) reservations: Vec<Reservation>,
    /// The Kea JSON path it came from.
    pub(crate) source: String,
    /// Comment lines written above the table (shared network, relay notes).
    pub(crate) notes: Vec<String>,
}

/// The whole config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Model {
    pub(crate) interfaces: Vec<String>,
    pub(crate) server_duid: Option<Vec<u8>>,
    pub(crate) rapid_commit: Option<bool>,
    pub(crate) decline_hold: Option<u32>,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) options: Options,
    pub(crate) subnets: Vec<Subnet>,
    /// Kea's lease database, described for a comment.
    pub(crate) lease_database: Option<String>,
}
