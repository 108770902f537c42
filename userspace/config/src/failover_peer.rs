//! How a relationship reaches and trusts its partner: the `partner` and `listen` socket
//! addresses and the `[failover.relationship.tls]` table [RFC 8156 §6, §10].

use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::error::{ConfigError, Invalid};
use crate::failover::{Tls, FAILOVER_PORT};
use crate::locate::Source;
use crate::raw::{RawTls, RawTlsMode};
use crate::values;

/// `[IPV6]:PORT`, `IPV4:PORT`, or a bare address (`IPV6`, `[IPV6]`, `IPV4`) for port 647; the
/// port is not 0.
pub(crate) fn socket_addr(
    text: &Spanned<String>,
    src: &Source<'_>,
) -> Result<SocketAddr, ConfigError> {
    let addr = parse_socket_addr(text.get_ref())
        .ok_or_else(|| src.invalid(&text.span(), Invalid::SocketAddress(text.get_ref().clone())))?;
    if addr.port() == 0 {
        return Err(src.invalid(&text.span(), Invalid::PortZero));
    }
    Ok(addr)
}

fn parse_socket_addr(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    let ip = match text.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => IpAddr::V6(inner.parse().ok()?),
        None => text.parse().ok()?,
    };
    Some(SocketAddr::new(ip, FAILOVER_PORT))
}

/// Neither multicast nor the IPv4 broadcast address (the unspecified address passes).
pub(crate) fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !v4.is_multicast() && !v4.is_broadcast(),
        IpAddr::V6(v6) => !v6.is_multicast(),
    }
}

/// `[failover.relationship.tls]` [RFC 8156 §10]: absent or mode "mutual" needs cert, key and
/// ca; mode "none" takes none of them.
pub(crate) fn tls(
    raw: Option<&Spanned<RawTls>>,
    relationship: &Range<usize>,
    base: &Path,
    src: &Source<'_>,
) -> Result<Tls, ConfigError> {
    let Some(raw) = raw else {
        return Err(src.missing(relationship, "tls", Invalid::TlsTableMissing));
    };
    let span = raw.span();
    let raw = raw.get_ref();
    let keys = [
        ("cert", &raw.cert),
        ("key", &raw.key),
        ("ca", &raw.ca),
        ("partner-name", &raw.partner_name),
    ];
    if raw.mode == Some(RawTlsMode::Off) {
        if let Some((name, Some(v))) = keys.iter().find(|(_, v)| v.is_some()) {
            return Err(src.invalid(&v.span(), Invalid::TlsKeyUnused(name)));
        }
        return Ok(Tls::None);
    }
    let required = |name: &'static str, v: &Option<Spanned<String>>| match v {
        Some(v) => path(v, base, src),
        None => Err(src.missing(&span, name, Invalid::TlsKeyMissing(name))),
    };
    let cert = required("cert", &raw.cert)?;
    let key = required("key", &raw.key)?;
    let ca = required("ca", &raw.ca)?;
    let partner_name = match &raw.partner_name {
        Some(v) if is_certificate_name(v.get_ref()) => Some(v.get_ref().clone()),
        Some(v) => return Err(src.invalid(&v.span(), Invalid::PartnerName(v.get_ref().clone()))),
        None => None,
    };
    Ok(Tls::Mutual {
        cert,
        key,
        ca,
        partner_name,
    })
}

/// A file path; relative ones are taken from `base` (the config file's directory).
fn path(text: &Spanned<String>, base: &Path, src: &Source<'_>) -> Result<PathBuf, ConfigError> {
    if text.get_ref().trim().is_empty() {
        return Err(src.invalid(&text.span(), Invalid::EmptyPath));
    }
    Ok(base.join(text.get_ref()))
}

/// A name a certificate can be issued for: a DNS name or an IP address.
fn is_certificate_name(name: &str) -> bool {
    values::is_domain_name(name) || name.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_addresses() {
        let v6 = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert_eq!(
            parse_socket_addr("[2001:db8::2]:6470"),
            Some(v6("[2001:db8::2]:6470"))
        );
        assert_eq!(
            parse_socket_addr("2001:db8::2"),
            Some(v6("[2001:db8::2]:647"))
        );
        assert_eq!(
            parse_socket_addr(" [2001:db8::2] "),
            Some(v6("[2001:db8::2]:647"))
        );
        assert_eq!(parse_socket_addr("192.0.2.1"), Some(v6("192.0.2.1:647")));
        assert_eq!(parse_socket_addr("192.0.2.1:7"), Some(v6("192.0.2.1:7")));
        for bad in [
            "",
            "[192.0.2.1]",
            "2001:db8::2]:647",
            "[2001:db8::2]:",
            "host:647",
        ] {
            assert_eq!(parse_socket_addr(bad), None, "{bad}");
        }
    }

    #[test]
    fn unicast_and_certificate_names() {
        assert!(is_unicast("2001:db8::1".parse().unwrap()));
        assert!(is_unicast("::".parse().unwrap()));
        assert!(!is_unicast("ff02::1:2".parse().unwrap()));
        assert!(!is_unicast("255.255.255.255".parse().unwrap()));
        assert!(!is_unicast("224.0.0.1".parse().unwrap()));
        assert!(is_certificate_name("dhcp-b.isp.example"));
        assert!(is_certificate_name("2001:db8::2"));
        assert!(!is_certificate_name("bad name"));
        assert!(!is_certificate_name(""));
    }
}
