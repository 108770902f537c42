//! Index mapping of a pool: a pool is the index space `[0, size)`.
//!
//! Index `i` maps to address `first + i`, or to prefix `base + (i << (128 - delegated_len))`.

use std::net::Ipv6Addr;

use crate::resource::{LeaseKind, PoolRange, Resource};

/// A validated pool range with its index mapping. Never materialises the pool.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolMap {
    kind: LeaseKind,
    /// First address / prefix base as a number.
    base: u128,
    /// Number of indexes (saturated at `u128::MAX`).
    size: u128,
    /// log2 of the step between indexes (0 for addresses).
    shift: u32,
    /// Prefix length of each resource.
    res_len: u8,
}

impl PoolMap {
    /// Build the map; an empty or inverted range gives a pool of size 0.
    pub(crate) fn new(range: &PoolRange) -> Self {
        match *range {
            PoolRange::Addresses { first, last } => {
                let (f, l) = (u128::from(first), u128::from(last));
                let size = if l < f { 0 } else { (l - f).saturating_add(1) };
                Self {
                    kind: LeaseKind::Na,
                    base: f,
                    size,
                    shift: 0,
                    res_len: 128,
                }
            }
            PoolRange::Prefixes {
                prefix,
                prefix_len,
                delegated_len,
            } => {
                let plen = u32::from(prefix_len.min(128));
                let dlen = u32::from(delegated_len.min(128));
                let base = mask(u128::from(prefix), plen);
                if dlen < plen {
                    return Self {
                        kind: LeaseKind::Pd,
                        base,
                        size: 0,
                        shift: 0,
                        res_len: dlen as u8,
                    };
                }
                let bits = dlen - plen;
                let size = if bits >= 128 {
                    u128::MAX
                } else {
                    1u128 << bits
                };
                Self {
                    kind: LeaseKind::Pd,
                    base,
                    size,
                    shift: 128 - dlen,
                    res_len: dlen as u8,
                }
            }
        }
    }

    pub(crate) fn size(&self) -> u128 {
        self.size
    }

    /// Addresses or prefixes.
    pub(crate) fn kind(&self) -> LeaseKind {
        self.kind
    }

    /// The first address (or prefix base) as a number.
    pub(crate) fn base(&self) -> u128 {
        self.base
    }

    /// The resource at index `i` (`None` past the end).
    pub(crate) fn resource_at(&self, i: u128) -> Option<Resource> {
        if i >= self.size {
            return None;
        }
        let off = if self.shift >= 128 {
            0
        } else {
            i << self.shift
        };
        let addr = Ipv6Addr::from(self.base.wrapping_add(off));
        Some(Resource {
            kind: self.kind,
            addr,
            prefix_len: self.res_len,
        })
    }

    /// The index of `r` in this pool, if it lies in it.
    pub(crate) fn index_of(&self, r: &Resource) -> Option<u128> {
        if r.kind != self.kind || r.prefix_len != self.res_len {
            return None;
        }
        let a = u128::from(r.addr);
        let off = a.checked_sub(self.base)?;
        if self.shift > 0 && self.shift < 128 && off & ((1u128 << self.shift) - 1) != 0 {
            return None;
        }
        let i = if self.shift >= 128 {
            if off == 0 {
                0
            } else {
                return None;
            }
        } else {
            off >> self.shift
        };
        (i < self.size).then_some(i)
    }
}

fn mask(a: u128, len: u32) -> u128 {
    if len == 0 {
        0
    } else if len >= 128 {
        a
    } else {
        a & !(u128::MAX >> len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_range_maps_both_ways() {
        let m = PoolMap::new(&PoolRange::Addresses {
            first: "2001:db8::10".parse().unwrap(),
            last: "2001:db8::1f".parse().unwrap(),
        });
        assert_eq!(m.size(), 16);
        let r = m.resource_at(3).unwrap();
        assert_eq!(r.addr, "2001:db8::13".parse::<Ipv6Addr>().unwrap());
        assert_eq!(m.index_of(&r), Some(3));
        assert_eq!(m.resource_at(16), None);
        assert_eq!(
            m.index_of(&Resource::address("2001:db8::20".parse().unwrap())),
            None
        );
        assert_eq!(
            m.index_of(&Resource::address("2001:db8::f".parse().unwrap())),
            None
        );
    }

    #[test]
    fn huge_prefix_pool_never_materialised() {
        let m = PoolMap::new(&PoolRange::Prefixes {
            prefix: "2001:db8::".parse().unwrap(),
            prefix_len: 32,
            delegated_len: 64,
        });
        assert_eq!(m.size(), 1 << 32);
        let r = m.resource_at(5).unwrap();
        assert_eq!(r.addr, "2001:db8:0:5::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(r.prefix_len, 64);
        assert_eq!(m.index_of(&r), Some(5));
        let misaligned = Resource::prefix("2001:db8:0:5::1".parse().unwrap(), 64);
        assert_eq!(m.index_of(&misaligned), None);
        let whole = PoolMap::new(&PoolRange::Addresses {
            first: Ipv6Addr::UNSPECIFIED,
            last: Ipv6Addr::from(u128::MAX),
        });
        assert_eq!(whole.size(), u128::MAX);
    }
}
