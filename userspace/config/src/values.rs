//! Parsers for the string-valued settings: DUIDs, prefixes, address ranges, domain names and
//! interface names. Each returns a small error that [`crate::Invalid`] wraps.

use std::net::Ipv6Addr;

/// Largest DUID: a 2-octet type plus at most 128 octets [RFC 8415 §11.1].
pub const DUID_LEN_MAX: usize = 130;

/// Longest Linux interface name (`IFNAMSIZ` 16 including the terminating NUL).
pub(crate) const INTERFACE_NAME_LEN_MAX: usize = 15;

/// Longest domain name in text form without the trailing dot (255 octets on the wire,
/// RFC 1035 §2.3.4).
const DOMAIN_NAME_LEN_MAX: usize = 253;

/// Longest label [RFC 1035 §2.3.4].
const LABEL_LEN_MAX: usize = 63;

/// Why a DUID string was rejected by [`parse_duid`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DuidError {
    /// Not hex octets, all separated by `:` or none separated at all.
    #[error("DUID must be hex octets, as \"00:01:...\" or \"0001...\"")]
    Syntax,
    /// Empty or longer than [`DUID_LEN_MAX`] octets [RFC 8415 §11.1].
    #[error("DUID must be 1..=130 octets, got {0}")]
    Length(usize),
}

/// Parses a DUID written as hex octets, either colon-separated (`"00:01:00:01"`, every octet two
/// digits) or run together (`"00010001"`). The DUID is opaque to the server [RFC 8415 §11], so
/// only its length (1..=130 octets) is checked.
pub fn parse_duid(s: &str) -> Result<Vec<u8>, DuidError> {
    let s = s.trim();
    let octets: Vec<&str> = if s.contains(':') {
        s.split(':').collect()
    } else {
        if !s.is_ascii() {
            return Err(DuidError::Syntax);
        }
        // ASCII, so every chunk is UTF-8; an odd length leaves a 1-digit chunk, rejected below.
        s.as_bytes()
            .chunks(2)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect()
    };
    let mut duid = Vec::with_capacity(octets.len());
    for octet in octets {
        if octet.len() != 2 || !octet.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DuidError::Syntax);
        }
        duid.push(u8::from_str_radix(octet, 16).map_err(|_| DuidError::Syntax)?);
    }
    if duid.is_empty() || duid.len() > DUID_LEN_MAX {
        return Err(DuidError::Length(duid.len()));
    }
    Ok(duid)
}

/// Why a prefix string (`ADDRESS/LENGTH`) was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    /// Not `ADDRESS/LENGTH` with an IPv6 address and a decimal length.
    #[error("not an IPv6 prefix (ADDRESS/LENGTH)")]
    Syntax,
    /// The length is outside what this setting allows.
    #[error("prefix length {len} is not in {min}..=128")]
    Length { len: u16, min: u8 },
    /// Bits are set after the prefix length (`2001:db8::1/64`).
    #[error("bits are set after the prefix length")]
    HostBits,
}

/// Parses `ADDRESS/LENGTH` with `min_len <= LENGTH <= 128` and no bits set after the length.
pub(crate) fn parse_prefix(s: &str, min_len: u8) -> Result<(Ipv6Addr, u8), PrefixError> {
    let (addr, len) = s.trim().split_once('/').ok_or(PrefixError::Syntax)?;
    let addr: Ipv6Addr = addr.parse().map_err(|_| PrefixError::Syntax)?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PrefixError::Syntax);
    }
    let len: u16 = len.parse().map_err(|_| PrefixError::Syntax)?;
    let len = match u8::try_from(len) {
        Ok(l) if (min_len..=128).contains(&l) => l,
        _ => return Err(PrefixError::Length { len, min: min_len }),
    };
    if u128::from(addr) & !prefix_mask(len) != 0 {
        return Err(PrefixError::HostBits);
    }
    Ok((addr, len))
}

/// The network mask of a prefix length (0..=128; longer lengths act as 128).
pub(crate) fn prefix_mask(len: u8) -> u128 {
    match len {
        0 => 0,
        l if l >= 128 => u128::MAX,
        l => u128::MAX << (128 - u32::from(l)),
    }
}

/// The inclusive `u128` range a prefix covers.
pub(crate) fn prefix_span(addr: Ipv6Addr, len: u8) -> (u128, u128) {
    let first = u128::from(addr) & prefix_mask(len);
    (first, first | !prefix_mask(len))
}

/// Parses an address range `FIRST-LAST` (whitespace around either address is allowed). The
/// order of the two is checked by the caller, which knows where to point.
pub(crate) fn parse_range(s: &str) -> Option<(Ipv6Addr, Ipv6Addr)> {
    let (first, last) = s.split_once('-')?;
    Some((first.trim().parse().ok()?, last.trim().parse().ok()?))
}

/// Checks a domain name for OPTION_DOMAIN_LIST [RFC 3646 §4] or a host name: letters, digits
/// and hyphens, labels of 1..=63 octets not starting or ending with a hyphen, at most 253
/// characters (a trailing dot is allowed) — the RFC 1035 §2.3.1 preferred syntax. The wire
/// crate's encoder must accept it too, since the engine encodes it at start-up.
pub(crate) fn is_domain_name(name: &str) -> bool {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() || trimmed.len() > DOMAIN_NAME_LEN_MAX {
        return false;
    }
    let labels_ok = trimmed.split('.').all(|label| {
        (1..=LABEL_LEN_MAX).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    labels_ok && tandem_wire::encode_domain_name(name, &mut Vec::new()).is_ok()
}

/// A Linux interface name: 1..=15 bytes, no whitespace, `/` or `:`.
pub(crate) fn is_interface_name(name: &str) -> bool {
    (1..=INTERFACE_NAME_LEN_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duids_with_and_without_colons() {
        assert_eq!(parse_duid("00:01:0a:FF"), Ok(vec![0, 1, 0x0a, 0xff]));
        assert_eq!(parse_duid("00010aff"), Ok(vec![0, 1, 0x0a, 0xff]));
        assert_eq!(parse_duid("  0001 "), Ok(vec![0, 1]));
        assert_eq!(parse_duid("0:01"), Err(DuidError::Syntax));
        assert_eq!(parse_duid("000"), Err(DuidError::Syntax));
        assert_eq!(parse_duid("00:01:"), Err(DuidError::Syntax));
        assert_eq!(parse_duid("zz"), Err(DuidError::Syntax));
        assert_eq!(parse_duid("+1"), Err(DuidError::Syntax));
        assert_eq!(parse_duid("éé"), Err(DuidError::Syntax));
        assert_eq!(parse_duid(""), Err(DuidError::Length(0)));
        assert_eq!(parse_duid(&"ab".repeat(130)).map(|d| d.len()), Ok(130));
        assert_eq!(parse_duid(&"ab".repeat(131)), Err(DuidError::Length(131)));
    }

    #[test]
    fn prefixes() {
        let net: Ipv6Addr = "2001:db8::".parse().unwrap();
        assert_eq!(parse_prefix("2001:db8::/32", 0), Ok((net, 32)));
        assert_eq!(parse_prefix("::/0", 0), Ok((Ipv6Addr::UNSPECIFIED, 0)));
        assert_eq!(
            parse_prefix("::/0", 1),
            Err(PrefixError::Length { len: 0, min: 1 })
        );
        assert_eq!(
            parse_prefix("::/129", 0),
            Err(PrefixError::Length { len: 129, min: 0 })
        );
        assert_eq!(parse_prefix("::/99999", 0), Err(PrefixError::Syntax));
        assert_eq!(parse_prefix("::/+1", 0), Err(PrefixError::Syntax));
        assert_eq!(
            parse_prefix("2001:db8::1/64", 0),
            Err(PrefixError::HostBits)
        );
        assert_eq!(parse_prefix("2001:db8::1", 0), Err(PrefixError::Syntax));
        assert_eq!(parse_prefix("10.0.0.0/8", 0), Err(PrefixError::Syntax));
        let one: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(parse_prefix("2001:db8::1/128", 0), Ok((one, 128)));
    }

    #[test]
    fn masks_and_spans() {
        assert_eq!(prefix_mask(0), 0);
        assert_eq!(prefix_mask(128), u128::MAX);
        assert_eq!(prefix_mask(1), 1 << 127);
        let (first, last) = prefix_span("2001:db8:8000::".parse().unwrap(), 40);
        assert_eq!(
            Ipv6Addr::from(first),
            "2001:db8:8000::".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            Ipv6Addr::from(last),
            "2001:db8:80ff:ffff:ffff:ffff:ffff:ffff"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
    }

    #[test]
    fn ranges() {
        let (a, b) = parse_range("2001:db8::10 - 2001:db8::20").unwrap();
        assert_eq!((a.segments()[7], b.segments()[7]), (0x10, 0x20));
        assert!(parse_range("2001:db8::10").is_none());
        assert!(parse_range("2001:db8::10-x").is_none());
    }

    #[test]
    fn domain_names() {
        assert!(is_domain_name("example.net"));
        assert!(is_domain_name("isp.example."));
        assert!(is_domain_name("a-b.c0"));
        assert!(!is_domain_name(""));
        assert!(!is_domain_name("."));
        assert!(!is_domain_name("a..b"));
        assert!(!is_domain_name("-a.b"));
        assert!(!is_domain_name("a-.b"));
        assert!(!is_domain_name("under_score.net"));
        assert!(!is_domain_name(&"x".repeat(64)));
        assert!(is_domain_name(&"x".repeat(63)));
        let long = ["abcdefghi"; 26].join(".");
        assert!(long.len() > 253 && !is_domain_name(&long));
    }

    #[test]
    fn interface_names() {
        assert!(is_interface_name("veth-srv"));
        assert!(is_interface_name("eth0.100"));
        assert!(!is_interface_name(""));
        assert!(!is_interface_name("a b"));
        assert!(!is_interface_name("a/b"));
        assert!(!is_interface_name("sixteen-chars-xx"));
    }
}
