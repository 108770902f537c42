//! Typed views of failover option payloads (RFC 8156 §5; protocol notes §1.4, §1.12) and of the
//! leasequery options BNDUPD borrows (RFC 5007 §4.1.2, RFC 7653 §6.4.1). Each `parse` takes the
//! option-data, checks its exact length, and no accessor panics afterwards.
//!
//! The plain u32 intervals and counters use [`crate::parse_u32`]: OPTION_F_MCLT (122) and
//! OPTION_F_KEEPALIVE_TIME (128) in seconds, OPTION_F_MAX_UNACKED_BNDUPD (121) a count, and
//! OPTION_CLT_TIME (46) in seconds before LQ_BASE_TIME.

use crate::domain::check_name;
use crate::{Error, Options, Result};

/// An absolute failover time: seconds since 2000-01-01T00:00:00Z modulo 2^32 (RFC 8156 §5;
/// notes §1.8, §1.17). Used by sent-time and by OPTION_F_EXPIRATION_TIME (120),
/// F_PARTNER_LIFETIME (123), F_PARTNER_LIFETIME_SENT (124), F_PARTNER_DOWN_TIME (125),
/// F_PARTNER_RAW_CLT_TIME (126), F_START_TIME_OF_STATE (133), F_STATE_EXPIRATION_TIME (134)
/// and OPTION_LQ_BASE_TIME (100).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FailoverTime(pub u32);

impl FailoverTime {
    /// Unix time of 2000-01-01T00:00:00Z.
    pub const UNIX_OFFSET_S: u64 = 946_684_800;

    /// Parses exactly four octets.
    pub fn parse(data: &[u8]) -> Result<Self> {
        match data {
            &[a, b, c, d] => Ok(Self(u32::from_be_bytes([a, b, c, d]))),
            _ => Err(Error::BadLength),
        }
    }

    /// The failover time of a Unix time in seconds (before 2000 saturates to 0; wraps in 2136).
    pub fn from_unix_s(unix_s: u64) -> Self {
        let since_2000 = unix_s.saturating_sub(Self::UNIX_OFFSET_S);
        Self(since_2000 as u32)
    }

    /// `self − earlier` in seconds with modulo-2^32 wrap-around (notes §1.8): positive when
    /// `self` is later, correct while the two are within about 68 years of each other.
    pub fn delta_s(self, earlier: Self) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }
}

/// OPTION_F_PROTOCOL_VERSION (127) payload: u16 major, u16 minor (RFC 8156 §5, §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProtocolVersion {
    /// major version.
    pub major: u16,
    /// minor version.
    pub minor: u16,
}

impl ProtocolVersion {
    /// The version this crate speaks, 1.0 (RFC 8156 §5).
    pub const V1_0: Self = Self { major: 1, minor: 0 };

    /// Parses exactly four octets.
    pub fn parse(data: &[u8]) -> Result<Self> {
        match data {
            &[a, b, c, d] => Ok(Self {
                major: u16::from_be_bytes([a, b]),
                minor: u16::from_be_bytes([c, d]),
            }),
            _ => Err(Error::BadLength),
        }
    }

    /// The four payload octets.
    pub fn to_bytes(self) -> [u8; 4] {
        let [a, b] = self.major.to_be_bytes();
        let [c, d] = self.minor.to_be_bytes();
        [a, b, c, d]
    }
}

/// OPTION_F_RECONFIGURE_DATA (129) payload: reconfigure-time (absolute), then the
/// reconfigure-key (RFC 8156 §5, §7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconfigureData<'a> {
    time: FailoverTime,
    key: &'a [u8],
}

impl<'a> ReconfigureData<'a> {
    /// Parses at least the four-octet time.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let (&t, key) = data.split_first_chunk::<4>().ok_or(Error::Truncated)?;
        Ok(Self {
            time: FailoverTime(u32::from_be_bytes(t)),
            key,
        })
    }

    /// When the key was created.
    pub fn time(&self) -> FailoverTime {
        self.time
    }

    /// The reconfigure key.
    pub fn key(&self) -> &'a [u8] {
        self.key
    }
}

/// OPTION_F_RELATIONSHIP_NAME (130) payload: UTF-8, not NUL-terminated (RFC 8156 §5, §6.1).
/// Any octets parse (the name is compared byte for byte with configuration); [`Self::as_str`]
/// says whether they are UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelationshipName<'a>(&'a [u8]);

impl<'a> RelationshipName<'a> {
    /// Wraps the payload; it never fails, the name has no length rule.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Ok(Self(data))
    }

    /// The raw octets.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The name when it is valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.0).ok()
    }
}

/// OPTION_F_DNS_HOST_NAME (117) or OPTION_F_DNS_ZONE_NAME (118) payload: one uncompressed
/// RFC 1035 name filling the option (RFC 8156 §5, §9). **Decision:** a partial name (no root
/// label) is accepted, as for CLIENT_FQDN, since the RFC does not say the host name is fully
/// qualified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsName<'a>(&'a [u8]);

impl<'a> DnsName<'a> {
    /// Validates one name, fully qualified or partial, that fills `data` exactly.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        if data.is_empty() || check_name(data, true)? != data.len() {
            return Err(Error::BadDomainName);
        }
        Ok(Self(data))
    }

    /// The encoded name.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// True when the name ends with the root label.
    pub fn is_fully_qualified(&self) -> bool {
        self.0.last() == Some(&0)
    }
}

/// OPTION_F_DNS_REMOVAL_INFO (116) payload: a container of F_DNS_HOST_NAME, F_DNS_ZONE_NAME and
/// F_DNS_FLAGS (RFC 8156 §5, §9). **Decision on OPEN-9**: the codec accepts it in any option
/// area; the golden BNDUPD carries it inside the IAADDR it describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsRemovalInfo<'a> {
    options: Options<'a>,
}

impl<'a> DnsRemovalInfo<'a> {
    /// Validates the inner option area.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Ok(Self {
            options: Options::new_checked(data)?,
        })
    }

    /// The contained options.
    pub fn options(&self) -> Options<'a> {
        self.options
    }
}

/// OPTION_CLIENT_DATA (45) payload: the options describing one client's bindings (RFC 5007
/// §4.1.2.2; in BNDUPD/BNDREPLY RFC 8156 §7.4, §7.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientData<'a> {
    options: Options<'a>,
}

impl<'a> ClientData<'a> {
    /// Validates the inner option area.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Ok(Self {
            options: Options::new_checked(data)?,
        })
    }

    /// CLIENTID, LQ_BASE_TIME, IA_NA/IA_TA/IA_PD, ...
    pub fn options(&self) -> Options<'a> {
        self.options
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OptionCode;

    #[test]
    fn times_need_four_octets_and_wrap() {
        assert_eq!(
            FailoverTime::parse(&[0x32, 0x9a, 0x33, 0]),
            Ok(FailoverTime(848_966_400))
        );
        assert_eq!(FailoverTime::parse(&[0; 3]), Err(Error::BadLength));
        assert_eq!(FailoverTime::parse(&[0; 5]), Err(Error::BadLength));
        // 2026-11-26T00:00:00Z.
        assert_eq!(
            FailoverTime::from_unix_s(1_795_651_200),
            FailoverTime(848_966_400)
        );
        assert_eq!(FailoverTime::from_unix_s(0), FailoverTime(0));
        assert_eq!(
            FailoverTime::from_unix_s(FailoverTime::UNIX_OFFSET_S + (1 << 32) + 5),
            FailoverTime(5)
        );
        assert_eq!(FailoverTime(5).delta_s(FailoverTime(u32::MAX - 4)), 10);
        assert_eq!(FailoverTime(100).delta_s(FailoverTime(107)), -7);
    }

    #[test]
    fn version_reconfigure_and_name() {
        let v = ProtocolVersion::parse(&[0, 1, 0, 0]).unwrap();
        assert_eq!(v, ProtocolVersion::V1_0);
        assert_eq!(v.to_bytes(), [0, 1, 0, 0]);
        assert_eq!(ProtocolVersion::parse(&[0, 1, 0]), Err(Error::BadLength));
        let r = ReconfigureData::parse(&[0, 0, 1, 0, 0xaa, 0xbb]).unwrap();
        assert_eq!((r.time(), r.key()), (FailoverTime(256), &[0xaa, 0xbb][..]));
        assert!(ReconfigureData::parse(&[0; 4]).unwrap().key().is_empty());
        assert_eq!(ReconfigureData::parse(&[0; 3]), Err(Error::Truncated));
        let n = RelationshipName::parse(b"pair-1").unwrap();
        assert_eq!((n.as_bytes(), n.as_str()), (&b"pair-1"[..], Some("pair-1")));
        assert_eq!(RelationshipName::parse(&[0xff]).unwrap().as_str(), None);
    }

    #[test]
    fn dns_names_and_containers() {
        let full = DnsName::parse(b"\x04host\x07example\x00").unwrap();
        assert!(full.is_fully_qualified());
        let partial = DnsName::parse(b"\x04host").unwrap();
        assert!(!partial.is_fully_qualified());
        assert_eq!(partial.as_bytes(), b"\x04host");
        assert_eq!(DnsName::parse(b""), Err(Error::BadDomainName));
        assert_eq!(DnsName::parse(b"\x05host"), Err(Error::BadDomainName));
        assert_eq!(DnsName::parse(b"\x00\x00"), Err(Error::BadDomainName));
        let info = DnsRemovalInfo::parse(&[0, 119, 0, 2, 0, 3]).unwrap();
        assert_eq!(
            info.options().find(OptionCode::FDnsFlags),
            Some(&[0, 3][..])
        );
        assert_eq!(DnsRemovalInfo::parse(&[0, 119, 0]), Err(Error::Truncated));
        let cd = ClientData::parse(&[0, 1, 0, 1, 9]).unwrap();
        assert_eq!(cd.options().find(OptionCode::ClientId), Some(&[9][..]));
        assert_eq!(ClientData::parse(&[0, 1, 0, 2, 9]), Err(Error::Truncated));
    }
}
