//! Typed views of option payloads with a fixed or simple structure. Each `parse` takes the
//! option-data and validates it; no accessor panics afterwards.

use std::net::Ipv6Addr;

use crate::domain::check_name;
use crate::{Error, OptionCode, Result, StatusCode};

/// Exactly one octet: PREFERENCE (RFC 8415 §21.8), RECONF_MSG (§21.19).
pub fn parse_u8(data: &[u8]) -> Result<u8> {
    match data {
        &[v] => Ok(v),
        _ => Err(Error::BadLength),
    }
}

/// Exactly two octets: ELAPSED_TIME in 1/100 s (RFC 8415 §21.9).
pub fn parse_u16(data: &[u8]) -> Result<u16> {
    match data {
        &[a, b] => Ok(u16::from_be_bytes([a, b])),
        _ => Err(Error::BadLength),
    }
}

/// Exactly four octets: INFORMATION_REFRESH_TIME (RFC 8415 §21.23), SOL_MAX_RT (§21.24),
/// INF_MAX_RT (§21.25).
pub fn parse_u32(data: &[u8]) -> Result<u32> {
    match data {
        &[a, b, c, d] => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(Error::BadLength),
    }
}

/// Exactly sixteen octets: UNICAST server address (RFC 8415 §21.12).
pub fn parse_ipv6(data: &[u8]) -> Result<Ipv6Addr> {
    let octets: [u8; 16] = data.try_into().map_err(|_| Error::BadLength)?;
    Ok(Ipv6Addr::from(octets))
}

/// No payload allowed: RAPID_COMMIT (RFC 8415 §21.14), RECONF_ACCEPT (§21.20).
pub fn parse_empty(data: &[u8]) -> Result<()> {
    if !data.is_empty() {
        return Err(Error::BadLength);
    }
    Ok(())
}

/// OPTION_STATUS_CODE payload: status-code, then a UTF-8 status-message that is not
/// NUL-terminated (RFC 8415 §21.13). The message bytes are returned unchecked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusCodeOption<'a> {
    code: StatusCode,
    message: &'a [u8],
}

impl<'a> StatusCodeOption<'a> {
    /// Validates a STATUS_CODE payload (at least the two-octet code).
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let Some((&[a, b], message)) = data.split_first_chunk::<2>() else {
            return Err(Error::Truncated);
        };
        Ok(Self {
            code: StatusCode::from(u16::from_be_bytes([a, b])),
            message,
        })
    }

    /// status-code.
    pub fn code(&self) -> StatusCode {
        self.code
    }

    /// status-message, raw octets (meant to be UTF-8).
    pub fn message(&self) -> &'a [u8] {
        self.message
    }
}

/// OPTION_ORO payload: a list of requested option codes (RFC 8415 §21.7). An odd length is
/// [`Error::BadLength`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Oro<'a> {
    data: &'a [u8],
}

impl<'a> Oro<'a> {
    /// Validates an ORO payload.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        if data.len() % 2 != 0 {
            return Err(Error::BadLength);
        }
        Ok(Self { data })
    }

    /// The requested codes in order.
    pub fn iter(&self) -> impl Iterator<Item = OptionCode> + 'a {
        self.data.chunks_exact(2).map(|c| match c {
            &[a, b] => OptionCode::from(u16::from_be_bytes([a, b])),
            _ => OptionCode::Unknown(0),
        })
    }

    /// True when `code` was requested.
    pub fn contains(&self, code: OptionCode) -> bool {
        self.iter().any(|c| c == code)
    }
}

/// OPTION_CLIENT_FQDN payload: flags (MBZ|N|O|S) then a domain name, possibly partial
/// (RFC 4704 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientFqdn<'a> {
    flags: u8,
    domain_name: &'a [u8],
}

impl<'a> ClientFqdn<'a> {
    /// S bit: the server should perform the AAAA update (RFC 4704 §4.1).
    pub const FLAG_S: u8 = 0x01;
    /// O bit: the server overrode the client's S bit.
    pub const FLAG_O: u8 = 0x02;
    /// N bit: the server should not perform any DNS update.
    pub const FLAG_N: u8 = 0x04;

    /// Validates a CLIENT_FQDN payload: the flags octet and a well-formed uncompressed name,
    /// fully qualified or partial (or empty).
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let (&flags, domain_name) = data.split_first().ok_or(Error::Truncated)?;
        if check_name(domain_name, true)? != domain_name.len() {
            return Err(Error::BadDomainName);
        }
        Ok(Self { flags, domain_name })
    }

    /// The flags octet.
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The encoded domain name (may lack the root octet when partial).
    pub fn domain_name(&self) -> &'a [u8] {
        self.domain_name
    }

    /// True when the name ends with the root octet (fully qualified).
    pub fn is_fully_qualified(&self) -> bool {
        self.domain_name.last() == Some(&0)
    }
}

/// OPTION_AUTH payload: protocol, algorithm, RDM, replay detection, authentication information
/// (RFC 8415 §21.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Auth<'a> {
    fixed: [u8; 11],
    info: &'a [u8],
}

impl<'a> Auth<'a> {
    /// Validates an AUTH payload (at least 11 octets).
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let (fixed, info) = data.split_first_chunk::<11>().ok_or(Error::Truncated)?;
        Ok(Self {
            fixed: *fixed,
            info,
        })
    }

    /// protocol (3 = reconfigure key, RKAP).
    pub fn protocol(&self) -> u8 {
        self.fixed[0]
    }

    /// algorithm (1 = HMAC-MD5).
    pub fn algorithm(&self) -> u8 {
        self.fixed[1]
    }

    /// replay detection method (0 = monotonic counter).
    pub fn rdm(&self) -> u8 {
        self.fixed[2]
    }

    /// replay detection value.
    pub fn replay_detection(&self) -> u64 {
        let [_, _, _, r @ ..] = self.fixed;
        u64::from_be_bytes(r)
    }

    /// authentication information.
    pub fn info(&self) -> &'a [u8] {
        self.info
    }
}

/// OPTION_REMOTE_ID payload: enterprise-number, then the relay's remote-id (RFC 4649 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteId<'a> {
    enterprise: u32,
    id: &'a [u8],
}

impl<'a> RemoteId<'a> {
    /// Validates a REMOTE_ID payload (at least the enterprise number).
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let (&e, id) = data.split_first_chunk::<4>().ok_or(Error::Truncated)?;
        Ok(Self {
            enterprise: u32::from_be_bytes(e),
            id,
        })
    }

    /// enterprise-number.
    pub fn enterprise(&self) -> u32 {
        self.enterprise
    }

    /// remote-id.
    pub fn id(&self) -> &'a [u8] {
        self.id
    }
}

/// OPTION_CLIENT_LINKLAYER_ADDR payload: link-layer type, then the client's link-layer address
/// (RFC 6939 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientLinklayerAddr<'a> {
    hw_type: u16,
    address: &'a [u8],
}

impl<'a> ClientLinklayerAddr<'a> {
    /// Validates a CLIENT_LINKLAYER_ADDR payload (at least the two-octet type).
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let (&t, address) = data.split_first_chunk::<2>().ok_or(Error::Truncated)?;
        Ok(Self {
            hw_type: u16::from_be_bytes(t),
            address,
        })
    }

    /// link-layer type (IANA hardware type, 1 = Ethernet).
    pub fn hw_type(&self) -> u16 {
        self.hw_type
    }

    /// link-layer address.
    pub fn address(&self) -> &'a [u8] {
        self.address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_need_exact_lengths() {
        assert_eq!(parse_u8(&[7]), Ok(7));
        assert_eq!(parse_u8(&[]), Err(Error::BadLength));
        assert_eq!(parse_u16(&[1, 2]), Ok(0x0102));
        assert_eq!(parse_u16(&[1, 2, 3]), Err(Error::BadLength));
        assert_eq!(parse_u32(&[0, 0, 0x0e, 0x10]), Ok(3600));
        assert_eq!(parse_u32(&[0, 0, 0x0e]), Err(Error::BadLength));
        assert_eq!(parse_ipv6(&[0; 16]), Ok(Ipv6Addr::UNSPECIFIED));
        assert_eq!(parse_ipv6(&[0; 15]), Err(Error::BadLength));
        assert_eq!(parse_empty(&[]), Ok(()));
        assert_eq!(parse_empty(&[0]), Err(Error::BadLength));
    }

    #[test]
    fn status_code_and_oro() {
        let s = StatusCodeOption::parse(b"\x00\x02none left").unwrap();
        assert_eq!(s.code(), StatusCode::NoAddrsAvail);
        assert_eq!(s.message(), b"none left");
        assert_eq!(StatusCodeOption::parse(&[0]), Err(Error::Truncated));
        let oro = Oro::parse(&[0, 23, 0, 24, 0x12, 0x34]).unwrap();
        let codes: Vec<_> = oro.iter().collect();
        assert_eq!(
            codes,
            [
                OptionCode::DnsServers,
                OptionCode::DomainList,
                OptionCode::Unknown(0x1234)
            ]
        );
        assert!(oro.contains(OptionCode::DomainList));
        assert!(!oro.contains(OptionCode::SolMaxRt));
        assert_eq!(Oro::parse(&[0, 23, 0]), Err(Error::BadLength));
    }

    #[test]
    fn client_fqdn_full_and_partial() {
        let f = ClientFqdn::parse(b"\x01\x04host\x07example\x00").unwrap();
        assert_eq!(f.flags(), ClientFqdn::FLAG_S);
        assert!(f.is_fully_qualified());
        let p = ClientFqdn::parse(b"\x00\x04host").unwrap();
        assert!(!p.is_fully_qualified());
        assert_eq!(p.domain_name(), b"\x04host");
        assert!(ClientFqdn::parse(b"\x00").is_ok());
        assert_eq!(ClientFqdn::parse(b""), Err(Error::Truncated));
        assert_eq!(ClientFqdn::parse(b"\x00\x04ho"), Err(Error::BadDomainName));
        assert_eq!(
            ClientFqdn::parse(b"\x00\x00\x01a"),
            Err(Error::BadDomainName)
        );
    }

    #[test]
    fn auth_remote_id_and_linklayer() {
        let a = Auth::parse(&[3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 0xaa]).unwrap();
        assert_eq!(
            (a.protocol(), a.algorithm(), a.rdm(), a.replay_detection()),
            (3, 1, 0, 9)
        );
        assert_eq!(a.info(), &[1, 0xaa]);
        assert_eq!(Auth::parse(&[0; 10]), Err(Error::Truncated));
        let r = RemoteId::parse(&[0, 0, 0x0d, 0xe9, b'p', b'1']).unwrap();
        assert_eq!((r.enterprise(), r.id()), (3561, &b"p1"[..]));
        assert_eq!(RemoteId::parse(&[0; 3]), Err(Error::Truncated));
        let l = ClientLinklayerAddr::parse(&[0, 1, 2, 0, 0, 0, 0, 1]).unwrap();
        assert_eq!((l.hw_type(), l.address()), (1, &[2, 0, 0, 0, 0, 1][..]));
        assert_eq!(ClientLinklayerAddr::parse(&[0]), Err(Error::Truncated));
    }
}
