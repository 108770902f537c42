//! Turning a validated [`Policy`] into the engine's serving tables, once, at start-up.
//!
//! Everything the hot path needs is prepared here: prefixes as `u128` masks, pool ids in pool
//! order, reservations keyed by DUID, and every static option (SERVERID, DNS_SERVERS,
//! DOMAIN_LIST, SOL_MAX_RT, INFORMATION_REFRESH_TIME, PREFERENCE) encoded as complete option
//! bytes that the reply builder copies verbatim (house style §3).

use std::collections::HashMap;
use std::net::Ipv6Addr;

use tandem_lease::{LeaseKind, PoolDef, PoolId, PoolRange, Resource};
use tandem_wire::OptionCode;

use crate::link::{prefix_contains, prefix_mask};
use crate::policy::{ClientOptions, Lifetimes, Policy, Subnet, SubnetId};

/// Largest DUID [RFC 8415 §11.1]: 2-octet type plus at most 128 octets.
pub(crate) const DUID_LEN_MAX: usize = 130;

/// Why a [`Policy`] cannot be served. `tandem-config` validates first, so these are the checks the
/// engine cannot do without (it must never panic or mis-encode because of its input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The server DUID must be 1..=130 octets [RFC 8415 §11.1].
    #[error("server DUID must be 1..=130 octets, got {0}")]
    ServerDuidLength(usize),
    /// Two subnets share one id.
    #[error("subnet id {0} is used twice")]
    DuplicateSubnetId(u32),
    /// A subnet prefix length above 128.
    #[error("subnet {0}: prefix length above 128")]
    SubnetPrefixLength(u32),
    /// An address range whose first address is above its last.
    #[error("subnet {0}: address range with first > last")]
    AddressRange(u32),
    /// A prefix pool whose lengths are not `prefix_len <= delegated_len <= 128`.
    #[error("subnet {0}: prefix pool lengths must satisfy prefix_len <= delegated_len <= 128")]
    PrefixPool(u32),
    /// A reservation whose DUID is empty or longer than 130 octets, or whose prefix length is
    /// above 128.
    #[error("subnet {0}: invalid reservation (DUID 1..=130 octets, prefix length <= 128)")]
    Reservation(u32),
    /// A domain search entry is not a valid domain name.
    #[error("invalid domain search list: {0}")]
    DomainList(tandem_wire::Error),
    /// An option payload would exceed 65535 octets (e.g. thousands of DNS servers).
    #[error("option {0} would be longer than 65535 octets")]
    OptionTooLong(u16),
}

/// Pre-encoded options of one link (or the global fallback): each field holds a complete option
/// (code, length, payload) or is empty when not configured.
#[derive(Debug, Clone, Default)]
pub(crate) struct StaticOptions {
    pub(crate) dns_servers: Box<[u8]>,
    pub(crate) domain_list: Box<[u8]>,
    pub(crate) preference: Box<[u8]>,
    pub(crate) sol_max_rt: Box<[u8]>,
    pub(crate) information_refresh_time: Box<[u8]>,
}

/// An address pool of a link, in configuration order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NaPool {
    pub(crate) id: PoolId,
    pub(crate) first: u128,
    pub(crate) last: u128,
}

/// A prefix pool of a link, in configuration order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PdPool {
    pub(crate) id: PoolId,
    pub(crate) prefix: u128,
    pub(crate) prefix_len: u8,
    pub(crate) delegated_len: u8,
}

/// What one client DUID has reserved on one link.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reserved {
    pub(crate) addresses: Vec<Ipv6Addr>,
    pub(crate) prefixes: Vec<(Ipv6Addr, u8)>,
}

/// A subnet (an RFC 8415 "link") ready to serve.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) id: SubnetId,
    pub(crate) prefix: u128,
    pub(crate) prefix_len: u8,
    pub(crate) interface: Option<String>,
    pub(crate) na_pools: Vec<NaPool>,
    pub(crate) pd_pools: Vec<PdPool>,
    pub(crate) reservations: HashMap<Box<[u8]>, Reserved>,
    /// Every reserved prefix of the link (for "is this prefix appropriate for the link").
    pub(crate) reserved_prefixes: Vec<(u128, u8)>,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) pd_lifetimes: Lifetimes,
    pub(crate) rapid_commit: bool,
    pub(crate) options: StaticOptions,
}

/// All serving tables built from a policy.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    /// OPTION_SERVERID, complete.
    pub(crate) server_id_option: Box<[u8]>,
    pub(crate) server_duid: Box<[u8]>,
    pub(crate) links: Vec<Link>,
    /// Global options, used when no link applies (Information-request from an unknown link).
    pub(crate) global_options: StaticOptions,
    pub(crate) pool_defs: Vec<PoolDef>,
    pub(crate) reserved: Vec<Resource>,
    pub(crate) decline_hold_s: u32,
}

/// Validates and prepares `policy`.
pub(crate) fn compile(policy: Policy) -> Result<Compiled, PolicyError> {
    let duid_len = policy.server_duid.len();
    if duid_len == 0 || duid_len > DUID_LEN_MAX {
        return Err(PolicyError::ServerDuidLength(duid_len));
    }
    let server_id_option = tlv(OptionCode::ServerId, &policy.server_duid)?;
    let global_options = encode_options(&policy.options, &ClientOptions::default())?;

    let mut links = Vec::with_capacity(policy.subnets.len());
    let mut pool_defs = Vec::new();
    let mut reserved = Vec::new();
    for subnet in &policy.subnets {
        if links.iter().any(|l: &Link| l.id == subnet.id) {
            return Err(PolicyError::DuplicateSubnetId(subnet.id.0));
        }
        let link = compile_subnet(subnet, &policy.options, &mut pool_defs, &mut reserved)?;
        links.push(link);
    }
    Ok(Compiled {
        server_id_option,
        server_duid: policy.server_duid.into_boxed_slice(),
        links,
        global_options,
        pool_defs,
        reserved,
        decline_hold_s: policy.decline_hold_s,
    })
}

fn compile_subnet(
    subnet: &Subnet,
    global: &ClientOptions,
    pool_defs: &mut Vec<PoolDef>,
    reserved: &mut Vec<Resource>,
) -> Result<Link, PolicyError> {
    let sid = subnet.id.0;
    if subnet.prefix_len > 128 {
        return Err(PolicyError::SubnetPrefixLength(sid));
    }
    let mut na_pools = Vec::with_capacity(subnet.ranges.len());
    for range in &subnet.ranges {
        let (first, last) = (u128::from(range.first), u128::from(range.last));
        if first > last {
            return Err(PolicyError::AddressRange(sid));
        }
        let id = next_pool_id(pool_defs);
        pool_defs.push(PoolDef {
            id,
            subnet_id: sid,
            range: PoolRange::Addresses {
                first: range.first,
                last: range.last,
            },
        });
        na_pools.push(NaPool { id, first, last });
    }
    let mut pd_pools = Vec::with_capacity(subnet.pd_pools.len());
    for pool in &subnet.pd_pools {
        if pool.prefix_len > pool.delegated_len || pool.delegated_len > 128 {
            return Err(PolicyError::PrefixPool(sid));
        }
        let id = next_pool_id(pool_defs);
        pool_defs.push(PoolDef {
            id,
            subnet_id: sid,
            range: PoolRange::Prefixes {
                prefix: pool.prefix,
                prefix_len: pool.prefix_len,
                delegated_len: pool.delegated_len,
            },
        });
        pd_pools.push(PdPool {
            id,
            prefix: u128::from(pool.prefix) & prefix_mask(pool.prefix_len),
            prefix_len: pool.prefix_len,
            delegated_len: pool.delegated_len,
        });
    }

    let mut reservations: HashMap<Box<[u8]>, Reserved> = HashMap::new();
    let mut reserved_prefixes = Vec::new();
    for r in &subnet.reservations {
        if r.duid.is_empty() || r.duid.len() > DUID_LEN_MAX {
            return Err(PolicyError::Reservation(sid));
        }
        if r.prefixes.iter().any(|&(_, len)| len > 128) {
            return Err(PolicyError::Reservation(sid));
        }
        for &addr in &r.addresses {
            reserved.push(Resource {
                kind: LeaseKind::Na,
                addr,
                prefix_len: 128,
            });
        }
        for &(addr, len) in &r.prefixes {
            reserved.push(Resource {
                kind: LeaseKind::Pd,
                addr,
                prefix_len: len,
            });
            reserved_prefixes.push((u128::from(addr), len));
        }
        let entry = reservations
            .entry(r.duid.clone().into_boxed_slice())
            .or_default();
        entry.addresses.extend_from_slice(&r.addresses);
        entry.prefixes.extend_from_slice(&r.prefixes);
    }

    Ok(Link {
        id: subnet.id,
        prefix: u128::from(subnet.prefix) & prefix_mask(subnet.prefix_len),
        prefix_len: subnet.prefix_len,
        interface: subnet.interface.clone(),
        na_pools,
        pd_pools,
        reservations,
        reserved_prefixes,
        lifetimes: subnet.lifetimes,
        pd_lifetimes: subnet.pd_lifetimes.unwrap_or(subnet.lifetimes),
        rapid_commit: subnet.rapid_commit,
        options: encode_options(&subnet.options, global)?,
    })
}

impl Link {
    /// Is `addr` on this link [RFC 8415 §18.3.2: "appropriate for the link"]?
    pub(crate) fn on_link(&self, addr: Ipv6Addr) -> bool {
        prefix_contains(self.prefix, self.prefix_len, u128::from(addr))
    }

    /// May the address `addr` be given or extended to clients of this link: inside one of its
    /// address ranges, or one of its reserved addresses? An address merely on the link's prefix is
    /// not enough: when an operator shrinks a pool, leases outside it must not be extended
    /// (testing.md item 14); their Renew gets zero lifetimes [RFC 8415 §18.3.4].
    pub(crate) fn address_appropriate(&self, addr: Ipv6Addr) -> bool {
        let a = u128::from(addr);
        self.na_pools.iter().any(|p| p.first <= a && a <= p.last)
            || self
                .reservations
                .values()
                .any(|r| r.addresses.contains(&addr))
    }

    /// May the delegated prefix `addr/len` be used by clients of this link: inside one of its
    /// prefix pools, or one of its reserved prefixes?
    pub(crate) fn prefix_appropriate(&self, addr: Ipv6Addr, len: u8) -> bool {
        let a = u128::from(addr);
        let in_pool = self
            .pd_pools
            .iter()
            .any(|p| len >= p.prefix_len && prefix_contains(p.prefix, p.prefix_len, a));
        in_pool
            || self
                .reserved_prefixes
                .iter()
                .any(|&(p, l)| l == len && p == a)
    }

    /// Lifetimes for a lease kind [RFC 8415 §21.4, §21.21].
    pub(crate) fn lifetimes_for(&self, kind: LeaseKind) -> Lifetimes {
        match kind {
            LeaseKind::Pd => self.pd_lifetimes,
            _ => self.lifetimes,
        }
    }
}

fn next_pool_id(pool_defs: &[PoolDef]) -> PoolId {
    // Pool ids are the index in `pool_defs`; u32 is ample (config files list pools by hand).
    PoolId(u32::try_from(pool_defs.len()).unwrap_or(u32::MAX))
}

/// Encodes the options of a link: each field from `own` when set, else from `global`
/// ("per-subnet overrides merged over the global options", field by field; an empty list counts
/// as not set).
fn encode_options(
    own: &ClientOptions,
    global: &ClientOptions,
) -> Result<StaticOptions, PolicyError> {
    let dns = if own.dns_servers.is_empty() {
        &global.dns_servers
    } else {
        &own.dns_servers
    };
    let domains = if own.domain_search.is_empty() {
        &global.domain_search
    } else {
        &own.domain_search
    };
    let preference = own.preference.or(global.preference);
    let sol_max_rt = own.sol_max_rt_s.or(global.sol_max_rt_s);
    let irt = own
        .information_refresh_time_s
        .or(global.information_refresh_time_s);

    let mut out = StaticOptions::default();
    if !dns.is_empty() {
        let payload: Vec<u8> = dns.iter().flat_map(|a| a.octets()).collect();
        out.dns_servers = tlv(OptionCode::DnsServers, &payload)?;
    }
    if !domains.is_empty() {
        let names: Vec<&str> = domains.iter().map(String::as_str).collect();
        let mut payload = Vec::new();
        tandem_wire::encode_domain_list(&names, &mut payload).map_err(PolicyError::DomainList)?;
        out.domain_list = tlv(OptionCode::DomainList, &payload)?;
    }
    if let Some(p) = preference {
        out.preference = tlv(OptionCode::Preference, &[p])?;
    }
    if let Some(v) = sol_max_rt {
        out.sol_max_rt = tlv(OptionCode::SolMaxRt, &v.to_be_bytes())?;
    }
    if let Some(v) = irt {
        out.information_refresh_time = tlv(OptionCode::InformationRefreshTime, &v.to_be_bytes())?;
    }
    Ok(out)
}

/// One complete option: code (u16), length (u16), payload [RFC 8415 §21.1].
fn tlv(code: OptionCode, payload: &[u8]) -> Result<Box<[u8]>, PolicyError> {
    let code = u16::from(code);
    let len = u16::try_from(payload.len()).map_err(|_| PolicyError::OptionTooLong(code))?;
    let mut v = Vec::with_capacity(4 + payload.len());
    v.extend_from_slice(&code.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(payload);
    Ok(v.into_boxed_slice())
}

#[cfg(test)]
mod tests;
