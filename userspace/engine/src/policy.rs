//! The validated runtime policy the engine serves from.
//!
//! `tandem-config` is the only crate that knows the file format; it builds these types after
//! validation (ranges inside their subnet, lifetimes ordered, no overlapping pools, ...), so the
//! engine can trust them without re-checking on the hot path. Everything here is plain data.

use std::net::Ipv6Addr;

/// Identifies a subnet in leases, journals and metrics (`subnet` label). Unique per server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubnetId(pub u32);

/// Lifetimes and renewal timers given to clients [RFC 8415 §7.7, §21.4, §21.6].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub preferred_s: u32,
    pub valid_s: u32,
    /// T1; `None` means the RFC 8415 §21.4 recommendation: 0.5 × the shortest preferred lifetime.
    pub t1_s: Option<u32>,
    /// T2; `None` means 0.8 × the shortest preferred lifetime.
    pub t2_s: Option<u32>,
}

/// An inclusive range of addresses handed out as IA_NA leases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    pub first: Ipv6Addr,
    pub last: Ipv6Addr,
}

/// A prefix pool: `prefix/prefix_len` cut into delegated prefixes of `delegated_len` [RFC 8415 §6.3].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixPool {
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    pub delegated_len: u8,
}

/// A host reservation keyed by the client's DUID (compared as opaque bytes, RFC 8415 §11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub duid: Vec<u8>,
    pub addresses: Vec<Ipv6Addr>,
    /// Reserved delegated prefixes as (prefix, length).
    pub prefixes: Vec<(Ipv6Addr, u8)>,
    pub hostname: Option<String>,
}

/// Options sent to clients that ask for them in an ORO (or always, where RFC 8415 says so).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// OPTION_DNS_SERVERS (23) [RFC 3646].
    pub dns_servers: Vec<Ipv6Addr>,
    /// OPTION_DOMAIN_LIST (24) [RFC 3646], as dotted names; encoded uncompressed at load time.
    pub domain_search: Vec<String>,
    /// OPTION_PREFERENCE (7) in Advertise [RFC 8415 §21.8]; `None` sends no option (means 0).
    pub preference: Option<u8>,
    /// OPTION_SOL_MAX_RT (82) [RFC 8415 §21.24], 60..=86400.
    pub sol_max_rt_s: Option<u32>,
    /// OPTION_INFORMATION_REFRESH_TIME (32) [RFC 8415 §21.23], at least 600.
    pub information_refresh_time_s: Option<u32>,
}

/// One subnet (a link, in RFC 8415 terms) and what it hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: SubnetId,
    /// The link prefix: a relayed message is on this link when the innermost relay's
    /// link-address falls inside it [RFC 8415 §13.1].
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    /// Directly attached clients arriving on this interface belong to this subnet.
    pub interface: Option<String>,
    pub ranges: Vec<AddressRange>,
    pub pd_pools: Vec<PrefixPool>,
    pub reservations: Vec<Reservation>,
    pub lifetimes: Lifetimes,
    /// Separate lifetimes for delegated prefixes; `None` uses `lifetimes`.
    pub pd_lifetimes: Option<Lifetimes>,
    /// Answer a Solicit carrying Rapid Commit with a committed Reply [RFC 8415 §18.3.1].
    pub rapid_commit: bool,
    /// Per-subnet overrides merged over the global [`ClientOptions`] at load time.
    pub options: ClientOptions,
}

/// Everything the engine needs to answer clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The server's DUID, created once and kept (config or storage supplies it).
    pub server_duid: Vec<u8>,
    pub subnets: Vec<Subnet>,
    /// How long a declined address is held back before it may be handed out again.
    pub decline_hold_s: u32,
    /// Global options; subnets override them field by field.
    pub options: ClientOptions,
}
