//! Resources (addresses and delegated prefixes) and pool definitions.
//!
//! RFC 8415 §6.2/§6.3 (IA_NA addresses, IA_PD prefixes) and §21.4/§21.21/§21.22.

use std::net::Ipv6Addr;

/// What kind of identity association a resource belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LeaseKind {
    /// An IA_NA address (RFC 8415 §21.4).
    Na,
    /// An IA_PD delegated prefix (RFC 8415 §21.21).
    Pd,
}

/// An address (prefix_len 128) or a delegated prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Resource {
    /// IA_NA or IA_PD.
    pub kind: LeaseKind,
    /// The address, or the first address of the prefix.
    pub addr: Ipv6Addr,
    /// 128 for addresses, the delegated length for prefixes.
    pub prefix_len: u8,
}

impl Resource {
    /// An IA_NA address.
    pub fn address(addr: Ipv6Addr) -> Self {
        Self {
            kind: LeaseKind::Na,
            addr,
            prefix_len: 128,
        }
    }
    /// An IA_PD prefix.
    pub fn prefix(addr: Ipv6Addr, prefix_len: u8) -> Self {
        Self {
            kind: LeaseKind::Pd,
            addr,
            prefix_len,
        }
    }
}

/// Identifies a pool of this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolId(pub u32);

/// The resources of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolRange {
    /// Addresses `first..=last`.
    Addresses {
        /// First address (inclusive).
        first: Ipv6Addr,
        /// Last address (inclusive).
        last: Ipv6Addr,
    },
    /// `prefix/prefix_len` cut into prefixes of `delegated_len`.
    Prefixes {
        /// The pool's prefix.
        prefix: Ipv6Addr,
        /// Its length.
        prefix_len: u8,
        /// Length of each delegated prefix (>= prefix_len).
        delegated_len: u8,
    },
}

/// A pool definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDef {
    /// Its id.
    pub id: PoolId,
    /// Subnet the pool belongs to.
    pub subnet_id: u32,
    /// Its resources.
    pub range: PoolRange,
}
