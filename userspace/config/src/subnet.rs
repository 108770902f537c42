//! `[[subnet]]` tables → [`Subnet`]s: prefixes, address ranges, prefix pools and reservations,
//! each checked alone and then against every other subnet (ids, interfaces, overlaps).

use std::ops::Range;

use tandem_engine::policy::{
    AddressRange, ClientOptions, PrefixPool, Reservation, Subnet, SubnetId,
};

use crate::error::{ConfigError, Invalid};
use crate::locate::Source;
use crate::raw::{RawPdPool, RawReservation, RawSubnet};
use crate::validate::{self, Merged};
use crate::values::{self, parse_duid, parse_prefix, prefix_span};

/// What subnets inherit from the server level.
pub(crate) struct Defaults<'a> {
    pub(crate) interfaces: &'a [String],
    pub(crate) lifetimes: Merged,
    pub(crate) options: &'a ClientOptions,
    pub(crate) rapid_commit: bool,
}

/// A `u128` interval that must not overlap others of its kind, and where it was written.
struct Interval {
    first: u128,
    last: u128,
    span: Range<usize>,
}

/// What is collected across subnets for the cross checks.
#[derive(Default)]
struct Seen {
    ids: Vec<(u32, Range<usize>)>,
    interfaces: Vec<(String, Range<usize>)>,
    prefixes: Vec<Interval>,
    pools: Vec<Interval>,
    reserved: Vec<Interval>,
}

pub(crate) fn subnets(
    raw: Vec<RawSubnet>,
    defaults: &Defaults<'_>,
    src: &Source<'_>,
) -> Result<Vec<Subnet>, ConfigError> {
    let mut seen = Seen::default();
    let mut out = Vec::with_capacity(raw.len());
    for raw_subnet in raw {
        out.push(subnet(raw_subnet, defaults, &mut seen, src)?);
    }
    let checks = [
        (&mut seen.prefixes, overlap_subnet as fn(_) -> _),
        (&mut seen.pools, overlap_pool),
        (&mut seen.reserved, overlap_reservation),
    ];
    for (intervals, make) in checks {
        if let Some((at, other)) = find_overlap(intervals) {
            return Err(src.invalid(&at, make(src.place(&other))));
        }
    }
    Ok(out)
}

fn overlap_subnet(other: crate::Place) -> Invalid {
    Invalid::SubnetOverlap { other }
}

fn overlap_pool(other: crate::Place) -> Invalid {
    Invalid::PoolOverlap { other }
}

fn overlap_reservation(other: crate::Place) -> Invalid {
    Invalid::ReservationOverlap { other }
}

fn subnet(
    raw: RawSubnet,
    defaults: &Defaults<'_>,
    seen: &mut Seen,
    src: &Source<'_>,
) -> Result<Subnet, ConfigError> {
    let id_span = raw.id.span();
    let id = *raw.id.get_ref();
    if id == 0 {
        return Err(src.invalid(&id_span, Invalid::SubnetIdZero));
    }
    if let Some((_, first)) = seen.ids.iter().find(|(other, _)| *other == id) {
        return Err(src.invalid(
            &id_span,
            Invalid::DuplicateSubnetId {
                id,
                other: src.place(first),
            },
        ));
    }
    seen.ids.push((id, id_span));

    let prefix_text = raw.prefix.get_ref();
    let (prefix, prefix_len) = parse_prefix(prefix_text, 1).map_err(|why| {
        src.invalid(
            &raw.prefix.span(),
            Invalid::Prefix {
                text: prefix_text.clone(),
                why,
            },
        )
    })?;
    let (net_first, net_last) = prefix_span(prefix, prefix_len);
    seen.prefixes.push(Interval {
        first: net_first,
        last: net_last,
        span: raw.prefix.span(),
    });
    let inside = |addr: u128| (net_first..=net_last).contains(&addr);
    let outside = |addr| Invalid::OutsidePrefix {
        addr,
        prefix: prefix_text.clone(),
    };

    let interface = match raw.interface {
        Some(name) => Some(interface(name, defaults.interfaces, seen, src)?),
        None => None,
    };

    let mut ranges = Vec::with_capacity(raw.pools.len());
    for text in &raw.pools {
        let span = text.span();
        let (first, last) = values::parse_range(text.get_ref())
            .ok_or_else(|| src.invalid(&span, Invalid::RangeSyntax(text.get_ref().clone())))?;
        for addr in [first, last] {
            if !inside(u128::from(addr)) {
                return Err(src.invalid(&span, outside(addr)));
            }
        }
        if first > last {
            return Err(src.invalid(&span, Invalid::RangeReversed { first, last }));
        }
        seen.pools.push(Interval {
            first: first.into(),
            last: last.into(),
            span,
        });
        ranges.push(AddressRange { first, last });
    }

    let mut pd_pools = Vec::with_capacity(raw.pd_pools.len());
    for pool in &raw.pd_pools {
        pd_pools.push(pd_pool(pool, seen, src)?);
    }

    let mut reservations: Vec<(Reservation, Range<usize>)> = Vec::new();
    for r in &raw.reservation {
        let reservation = reservation(r, &inside, &outside, seen, src)?;
        if let Some((_, other)) = reservations
            .iter()
            .find(|(o, _)| o.duid == reservation.duid)
        {
            let invalid = Invalid::DuplicateReservation {
                other: src.place(other),
            };
            return Err(src.invalid(&r.duid.span(), invalid));
        }
        reservations.push((reservation, r.duid.span()));
    }

    let merged = defaults
        .lifetimes
        .over(raw.lifetimes.as_ref().unwrap_or(&Default::default()));
    let lifetimes = merged.check(src)?;
    let pd_lifetimes = match &raw.pd_lifetimes {
        Some(pd) => Some(merged.over(pd).check(src)?),
        None => None,
    };
    let own_options = match &raw.options {
        Some(o) => validate::options(o, src)?,
        None => ClientOptions::default(),
    };
    Ok(Subnet {
        id: SubnetId(id),
        prefix,
        prefix_len,
        interface,
        ranges,
        pd_pools,
        reservations: reservations.into_iter().map(|(r, _)| r).collect(),
        lifetimes,
        pd_lifetimes,
        rapid_commit: raw.rapid_commit.unwrap_or(defaults.rapid_commit),
        options: validate::merge_options(own_options, defaults.options),
    })
}

/// A directly attached subnet's interface: one of `server.interfaces`, and no other subnet's.
fn interface(
    name: toml::Spanned<String>,
    known: &[String],
    seen: &mut Seen,
    src: &Source<'_>,
) -> Result<String, ConfigError> {
    let span = name.span();
    let name = name.into_inner();
    if !known.contains(&name) {
        return Err(src.invalid(&span, Invalid::UnknownInterface(name)));
    }
    if let Some((_, other)) = seen.interfaces.iter().find(|(n, _)| *n == name) {
        return Err(src.invalid(
            &span,
            Invalid::InterfaceTaken {
                name,
                other: src.place(other),
            },
        ));
    }
    seen.interfaces.push((name.clone(), span));
    Ok(name)
}

/// A prefix pool: `prefix_len <= delegated_len <= 128` [RFC 8415 §6.3].
fn pd_pool(raw: &RawPdPool, seen: &mut Seen, src: &Source<'_>) -> Result<PrefixPool, ConfigError> {
    let text = raw.prefix.get_ref();
    let (prefix, prefix_len) = parse_prefix(text, 1).map_err(|why| {
        src.invalid(
            &raw.prefix.span(),
            Invalid::Prefix {
                text: text.clone(),
                why,
            },
        )
    })?;
    let delegated_len = *raw.delegated_length.get_ref();
    if delegated_len < prefix_len || delegated_len > 128 {
        let invalid = Invalid::DelegatedLength {
            prefix_len,
            delegated_len,
        };
        return Err(src.invalid(&raw.delegated_length.span(), invalid));
    }
    let (first, last) = prefix_span(prefix, prefix_len);
    seen.pools.push(Interval {
        first,
        last,
        span: raw.prefix.span(),
    });
    Ok(PrefixPool {
        prefix,
        prefix_len,
        delegated_len,
    })
}

/// A reservation: a valid DUID, addresses inside the subnet prefix (in a pool or not), prefixes
/// of length 1..=128, and a host name if any.
fn reservation(
    raw: &RawReservation,
    inside: &dyn Fn(u128) -> bool,
    outside: &dyn Fn(std::net::Ipv6Addr) -> Invalid,
    seen: &mut Seen,
    src: &Source<'_>,
) -> Result<Reservation, ConfigError> {
    let duid = parse_duid(raw.duid.get_ref())
        .map_err(|e| src.invalid(&raw.duid.span(), Invalid::Duid(e)))?;
    let mut addresses = Vec::with_capacity(raw.addresses.len());
    for addr in &raw.addresses {
        let a = *addr.get_ref();
        if !inside(u128::from(a)) {
            return Err(src.invalid(&addr.span(), outside(a)));
        }
        seen.reserved.push(Interval {
            first: a.into(),
            last: a.into(),
            span: addr.span(),
        });
        addresses.push(a);
    }
    let mut prefixes = Vec::with_capacity(raw.prefixes.len());
    for text in &raw.prefixes {
        let (prefix, len) = parse_prefix(text.get_ref(), 1).map_err(|why| {
            src.invalid(
                &text.span(),
                Invalid::Prefix {
                    text: text.get_ref().clone(),
                    why,
                },
            )
        })?;
        let (first, last) = prefix_span(prefix, len);
        seen.reserved.push(Interval {
            first,
            last,
            span: text.span(),
        });
        prefixes.push((prefix, len));
    }
    let hostname = match &raw.hostname {
        Some(name) if !values::is_domain_name(name.get_ref()) => {
            return Err(src.invalid(&name.span(), Invalid::DomainName(name.get_ref().clone())))
        }
        Some(name) => Some(name.get_ref().clone()),
        None => None,
    };
    Ok(Reservation {
        duid,
        addresses,
        prefixes,
        hostname,
    })
}

/// The first overlap found as (span to blame, span of the other): of two overlapping
/// intervals, the one written later in the file is blamed.
fn find_overlap(intervals: &mut [Interval]) -> Option<(Range<usize>, Range<usize>)> {
    intervals.sort_by_key(|i| (i.first, i.last));
    let mut widest: Option<&Interval> = None;
    for current in intervals.iter() {
        if let Some(w) = widest {
            if current.first <= w.last {
                let (at, other) = if current.span.start > w.span.start {
                    (current, w)
                } else {
                    (w, current)
                };
                return Some((at.span.clone(), other.span.clone()));
            }
        }
        if widest.is_none_or(|w| current.last > w.last) {
            widest = Some(current);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(first: u128, last: u128, at: usize) -> Interval {
        Interval {
            first,
            last,
            span: at..at + 1,
        }
    }

    #[test]
    fn overlaps_blame_the_later_one() {
        assert_eq!(find_overlap(&mut []), None);
        assert_eq!(find_overlap(&mut [iv(0, 9, 0), iv(10, 19, 5)]), None);
        assert_eq!(
            find_overlap(&mut [iv(0, 9, 0), iv(9, 19, 5)]),
            Some((5..6, 0..1))
        );
        assert_eq!(
            find_overlap(&mut [iv(9, 19, 0), iv(0, 9, 5)]),
            Some((5..6, 0..1))
        );
        // Nested inside a wide one that is not the last seen.
        assert_eq!(
            find_overlap(&mut [iv(0, 100, 7), iv(1, 2, 3), iv(50, 60, 1)]),
            Some((7..8, 3..4))
        );
        assert_eq!(
            find_overlap(&mut [iv(5, 5, 0), iv(5, 5, 9)]),
            Some((9..10, 0..1))
        );
    }
}
