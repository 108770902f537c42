//! Kea `subnet6` entries → tandem subnets: prefix, id, interface or relay, address pools
//! (`"first - last"` or `prefix/len`), prefix pools [RFC 8415 §6.3], reservations by DUID,
//! lifetimes, Rapid Commit [RFC 8415 §21.14] and options. Then the cross-subnet fixes tandem's
//! validation needs: ids assigned and unique, one subnet per interface.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use serde_json::Value;

use crate::import::{array, is_domain_name, lifetime_key, object, why_not, Walk};
use crate::leases::parse_hex_octets;
use crate::model::{Lifetimes, Model, Options, Reservation, Subnet};
use crate::options::option_data;
use crate::ImportError;

/// Longest DUID [RFC 8415 §11.1].
const DUID_LEN_MAX: usize = 130;

/// What a subnet takes from the level above it in Kea (a shared network) besides the globals.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inherited {
    /// The shared network's name.
    pub(crate) shared: Option<String>,
    pub(crate) interface: Option<String>,
    pub(crate) rapid_commit: Option<bool>,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) options: Options,
    /// The shared network's `relay`, for members without their own.
    pub(crate) relay: Option<Value>,
}

/// One `subnet6` entry; `None` (recorded) when it has no usable `subnet` prefix.
pub(crate) fn subnet(
    w: &mut Walk,
    v: &Value,
    path: &str,
    inherited: &Inherited,
) -> Result<Option<Subnet>, ImportError> {
    let obj = object(v, path)?;
    let text = obj.get("subnet").and_then(Value::as_str).unwrap_or("");
    let Some((net, len)) = parse_prefix(text) else {
        w.skip(
            path,
            format!("subnet {text:?} is not an IPv6 prefix; the subnet is dropped"),
        );
        return Ok(None);
    };
    let mut s = Subnet {
        prefix: format!("{net}/{len}"),
        interface: inherited.interface.clone(),
        rapid_commit: inherited.rapid_commit,
        source: path.to_owned(),
        ..Subnet::default()
    };
    if let Some(name) = &inherited.shared {
        s.notes
            .push(format!("member of Kea shared network {name:?}"));
    }
    let mut lifetimes = Lifetimes::default();
    let mut options = Options::default();
    for (key, value) in obj {
        let at = format!("{path}.{key}");
        match key.as_str() {
            "subnet" => {}
            "id" => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(id) if id > 0 => s.id = id,
                _ => w.skip(at, "not a subnet id 1..=4294967295; a new one is given"),
            },
            "interface" => match value.as_str() {
                Some(name) if !name.is_empty() => s.interface = Some(name.to_owned()),
                _ => w.skip(at, "not an interface name"),
            },
            "rapid-commit" => s.rapid_commit = w.boolean(value, &at),
            "option-data" => options = option_data(w, value, &at)?,
            "pools" => {
                for (i, p) in array(value, &at)?.iter().enumerate() {
                    if let Some(range) = pool(w, p, &format!("{at}[{i}]"), net, len) {
                        s.pools.push(range);
                    }
                }
            }
            "pd-pools" => {
                for (i, p) in array(value, &at)?.iter().enumerate() {
                    if let Some(pd) = pd_pool(w, p, &format!("{at}[{i}]")) {
                        s.pd_pools.push(pd);
                    }
                }
            }
            "reservations" => {
                for (i, r) in array(value, &at)?.iter().enumerate() {
                    if let Some(r) = reservation(w, r, &format!("{at}[{i}]"), net, len) {
                        s.reservations.push(r);
                    }
                }
            }
            "relay" => relay(w, value, &at, (net, len), &mut s.notes),
            k if lifetime_key(k) => w.lifetime(k, value, &at, &mut lifetimes),
            k => w.skip(at, why_not(k)),
        }
    }
    if let (Some(r), false) = (&inherited.relay, obj.contains_key("relay")) {
        relay(w, r, &format!("{path}.relay"), (net, len), &mut s.notes);
    }
    s.lifetimes = lifetimes.over(inherited.lifetimes);
    s.options = options.over(&inherited.options);
    Ok(Some(s))
}

/// One `pools` entry: `"first - last"` or `"prefix/len"`, inside the subnet prefix.
fn pool(
    w: &mut Walk,
    v: &Value,
    path: &str,
    net: Ipv6Addr,
    len: u8,
) -> Option<(Ipv6Addr, Ipv6Addr)> {
    let Some(obj) = v.as_object() else {
        w.skip(path, "not an object");
        return None;
    };
    for key in obj.keys().filter(|k| *k != "pool") {
        let why = match key.as_str() {
            "option-data" => "pool-level options: tandem sets options per subnet",
            k => why_not(k),
        };
        w.skip(format!("{path}.{key}"), why);
    }
    let text = obj.get("pool").and_then(Value::as_str).unwrap_or("");
    let range = match text.split_once('-') {
        Some((a, b)) => a.trim().parse().ok().zip(b.trim().parse().ok()),
        None => parse_prefix(text).map(|(p, l)| span(p, l)),
    };
    let Some((first, last)) = range.filter(|(a, b)| a <= b) else {
        w.skip(
            path,
            format!("pool {text:?} is not \"first - last\" or prefix/len"),
        );
        return None;
    };
    if !contains(net, len, first) || !contains(net, len, last) {
        w.skip(
            path,
            format!("pool {text:?} is outside the subnet prefix {net}/{len}"),
        );
        return None;
    }
    Some((first, last))
}

/// One `pd-pools` entry: prefix, prefix-len, delegated-len [RFC 8415 §6.3].
fn pd_pool(w: &mut Walk, v: &Value, path: &str) -> Option<(Ipv6Addr, u8, u8)> {
    let Some(obj) = v.as_object() else {
        w.skip(path, "not an object");
        return None;
    };
    for key in obj.keys() {
        if !matches!(key.as_str(), "prefix" | "prefix-len" | "delegated-len") {
            let why = match key.as_str() {
                "option-data" => "pool-level options: tandem sets options per subnet",
                k => why_not(k),
            };
            w.skip(format!("{path}.{key}"), why);
        }
    }
    let prefix: Option<Ipv6Addr> = obj
        .get("prefix")
        .and_then(Value::as_str)
        .and_then(|p| p.parse().ok());
    let length = |k: &str| {
        obj.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u8::try_from(n).ok())
    };
    let pool = match (prefix, length("prefix-len"), length("delegated-len")) {
        (Some(p), Some(l), Some(d)) if l <= d && d <= 128 && l > 0 && span(p, l).0 == p => {
            Some((p, l, d))
        }
        _ => None,
    };
    if pool.is_none() {
        w.skip(
            path,
            "not a prefix pool (prefix, prefix-len <= delegated-len <= 128, no bits after the \
             length); dropped",
        );
    }
    pool
}

/// One reservation: by DUID only; addresses inside the subnet prefix; prefixes; a host name.
fn reservation(w: &mut Walk, v: &Value, path: &str, net: Ipv6Addr, len: u8) -> Option<Reservation> {
    let Some(obj) = v.as_object() else {
        w.skip(path, "not an object");
        return None;
    };
    if let Some(k) = ["hw-address", "client-id", "flex-id", "circuit-id"]
        .into_iter()
        .find(|k| obj.contains_key(*k))
    {
        w.skip(
            path,
            format!("reserved by {k}: tandem reserves by DUID only"),
        );
        return None;
    }
    let duid = obj
        .get("duid")
        .and_then(Value::as_str)
        .and_then(parse_hex_octets)
        .filter(|d| !d.is_empty() && d.len() <= DUID_LEN_MAX);
    let Some(duid) = duid else {
        w.skip(path, "no DUID of 1..=130 octets; dropped");
        return None;
    };
    let mut r = Reservation {
        duid,
        addresses: Vec::new(),
        prefixes: Vec::new(),
        hostname: None,
    };
    for (key, value) in obj {
        let at = format!("{path}.{key}");
        match key.as_str() {
            "duid" => {}
            "ip-addresses" => {
                for (i, a) in value.as_array().into_iter().flatten().enumerate() {
                    match a.as_str().and_then(|a| a.parse::<Ipv6Addr>().ok()) {
                        Some(a) if contains(net, len, a) => r.addresses.push(a),
                        _ => w.skip(
                            format!("{at}[{i}]"),
                            "not an address inside the subnet prefix",
                        ),
                    }
                }
            }
            "prefixes" => {
                for (i, p) in value.as_array().into_iter().flatten().enumerate() {
                    match p.as_str().and_then(parse_prefix) {
                        Some((p, l)) => r.prefixes.push(format!("{p}/{l}")),
                        None => w.skip(format!("{at}[{i}]"), "not an IPv6 prefix"),
                    }
                }
            }
            "hostname" => match value.as_str() {
                Some(h) if is_domain_name(h) => r.hostname = Some(h.to_owned()),
                Some("") => {}
                _ => w.skip(at, "not a host name in RFC 1035 preferred syntax"),
            },
            "option-data" => w.skip(at, "per-host options are not supported"),
            "client-classes" => w.skip(at, why_not("client-classes")),
            k => w.skip(at, why_not(k)),
        }
    }
    Some(r)
}

/// `relay`: Kea matches the relay's address; tandem matches the link-address inside the
/// subnet prefix [RFC 8415 §13.1], which is the same thing when the address lies inside it.
fn relay(w: &mut Walk, v: &Value, path: &str, (net, len): (Ipv6Addr, u8), notes: &mut Vec<String>) {
    let one = v.get("ip-address").and_then(Value::as_str);
    let many = v.get("ip-addresses").and_then(Value::as_array);
    let addrs: Vec<&str> = one
        .into_iter()
        .chain(many.into_iter().flatten().filter_map(Value::as_str))
        .collect();
    for a in addrs {
        match a.parse::<Ipv6Addr>() {
            Ok(addr) if contains(net, len, addr) => notes.push(format!(
                "Kea's relay address {addr} lies in the prefix: tandem selects this subnet by \
                 the relay link-address"
            )),
            _ => w.skip(
                format!("{path} ({a})"),
                "outside the subnet prefix: tandem selects a relayed client's subnet by the \
                 relay link-address inside the prefix (RFC 8415 §13.1)",
            ),
        }
    }
}

/// After every subnet is read: ids assigned and unique, each interface used by one subnet and
/// listed in `interfaces`.
pub(crate) fn finish(w: &mut Walk, m: &mut Model, wildcard: bool) {
    let mut ids: BTreeSet<u32> = BTreeSet::new();
    let mut keep = Vec::with_capacity(m.subnets.len());
    for s in std::mem::take(&mut m.subnets) {
        if s.id != 0 && !ids.insert(s.id) {
            w.skip(
                s.source.clone(),
                format!("id {} is used by an earlier subnet; dropped", s.id),
            );
            continue;
        }
        keep.push(s);
    }
    let mut next = ids.last().copied().unwrap_or(0);
    let mut taken: Vec<String> = Vec::new();
    for s in &mut keep {
        if s.id == 0 {
            next = next.saturating_add(1);
            s.id = next;
            w.skip(
                format!("{}.id", s.source),
                format!(
                    "absent: given id {next}; Kea numbered it itself, so check that its leases' \
                     subnet_id matches"
                ),
            );
        }
        let Some(name) = s.interface.clone() else {
            continue;
        };
        let why = if taken.contains(&name) {
            Some(
                "used by an earlier subnet: tandem binds one subnet per interface, so this one \
                  serves relayed clients only",
            )
        } else if !m.interfaces.contains(&name) && !wildcard {
            Some("not in interfaces-config: Kea did not listen there")
        } else {
            None
        };
        if let Some(why) = why {
            w.skip(format!("{}.interface ({name})", s.source), why);
            s.interface = None;
            continue;
        }
        if !m.interfaces.contains(&name) {
            m.interfaces.push(name.clone());
        }
        taken.push(name);
    }
    m.subnets = keep;
}

/// `address/len` with no bits set after the length.
pub(crate) fn parse_prefix(text: &str) -> Option<(Ipv6Addr, u8)> {
    let (a, l) = text.trim().split_once('/')?;
    let addr: Ipv6Addr = a.trim().parse().ok()?;
    let len: u8 = l.trim().parse().ok().filter(|l| (1..=128).contains(l))?;
    (span(addr, len).0 == addr).then_some((addr, len))
}

/// First and last address of `addr/len`.
fn span(addr: Ipv6Addr, len: u8) -> (Ipv6Addr, Ipv6Addr) {
    let mask = match len {
        0 => 0,
        l if l >= 128 => u128::MAX,
        l => u128::MAX << (128 - u32::from(l)),
    };
    let first = u128::from(addr) & mask;
    (Ipv6Addr::from(first), Ipv6Addr::from(first | !mask))
}

fn contains(net: Ipv6Addr, len: u8, a: Ipv6Addr) -> bool {
    let (first, last) = span(net, len);
    first <= a && a <= last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_spans() {
        let p = |s: &str| parse_prefix(s);
        assert_eq!(
            p("2001:db8::/32"),
            Some(("2001:db8::".parse().unwrap(), 32))
        );
        assert_eq!(p("2001:db8::1/64"), None, "host bits");
        assert_eq!(p("2001:db8::/0"), None);
        assert_eq!(p("2001:db8::/129"), None);
        assert_eq!(p("10.0.0.0/8"), None);
        let (a, b) = span("2001:db8:1::".parse().unwrap(), 112);
        assert_eq!(
            (a.to_string(), b.to_string()),
            ("2001:db8:1::".into(), "2001:db8:1::ffff".into())
        );
    }
}
