//! Identity Association options and their address/prefix sub-options (RFC 8415 §21.4–§21.6,
//! §21.21, §21.22). Each `parse` takes the option payload (option-data) and validates the
//! fixed part and the nested option area, so no accessor panics afterwards.

use std::net::Ipv6Addr;

use crate::{Error, Options, Result};

/// Reads a big-endian u32 at `at`, or 0 if out of range (callers check lengths first).
fn be_u32(data: &[u8], at: usize) -> u32 {
    match data.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// Reads 16 octets at `at` as an address, or `::` if out of range (callers check lengths first).
fn addr_at(data: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    if let Some(src) = data.get(at..at + 16) {
        octets.copy_from_slice(src);
    }
    Ipv6Addr::from(octets)
}

/// Splits `data` at `fixed` and validates the rest as an option area.
fn split_fixed(data: &[u8], fixed: usize) -> Result<Options<'_>> {
    let rest = data.get(fixed..).ok_or(Error::Truncated)?;
    Options::new_checked(rest)
}

/// An IA with renewal timers: IA_NA and IA_PD share the layout IAID, T1, T2, IA-options.
macro_rules! ia_with_timers {
    ($(#[$doc:meta])* $name:ident, $what:literal, $subs:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name<'a> {
            data: &'a [u8],
            options: Options<'a>,
        }

        impl<'a> $name<'a> {
            /// Length of IAID + T1 + T2.
            pub const FIXED_LEN: usize = 12;

            #[doc = concat!("Validates an ", $what, " payload.")]
            pub fn parse(data: &'a [u8]) -> Result<Self> {
                Ok(Self {
                    data,
                    options: split_fixed(data, Self::FIXED_LEN)?,
                })
            }

            /// IAID.
            pub fn iaid(&self) -> u32 {
                be_u32(self.data, 0)
            }

            /// T1 in seconds.
            pub fn t1(&self) -> u32 {
                be_u32(self.data, 4)
            }

            /// T2 in seconds.
            pub fn t2(&self) -> u32 {
                be_u32(self.data, 8)
            }

            #[doc = concat!($what, "-options (", $subs, ", STATUS_CODE, ...).")]
            pub fn options(&self) -> Options<'a> {
                self.options
            }
        }
    };
}

ia_with_timers!(
    /// OPTION_IA_NA payload: IAID, T1, T2, IA_NA-options (RFC 8415 §21.4).
    IaNa,
    "IA_NA",
    "IAADDR"
);
ia_with_timers!(
    /// OPTION_IA_PD payload: IAID, T1, T2, IA_PD-options (RFC 8415 §21.21).
    IaPd,
    "IA_PD",
    "IAPREFIX"
);

/// OPTION_IA_TA payload: IAID, IA_TA-options (RFC 8415 §21.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IaTa<'a> {
    data: &'a [u8],
    options: Options<'a>,
}

impl<'a> IaTa<'a> {
    /// Length of IAID.
    pub const FIXED_LEN: usize = 4;

    /// Validates an IA_TA payload.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Ok(Self {
            data,
            options: split_fixed(data, Self::FIXED_LEN)?,
        })
    }

    /// IAID.
    pub fn iaid(&self) -> u32 {
        be_u32(self.data, 0)
    }

    /// IA_TA-options.
    pub fn options(&self) -> Options<'a> {
        self.options
    }
}

/// OPTION_IAADDR payload: address, preferred and valid lifetimes, IAaddr-options
/// (RFC 8415 §21.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IaAddr<'a> {
    data: &'a [u8],
    options: Options<'a>,
}

impl<'a> IaAddr<'a> {
    /// Length of address + preferred + valid.
    pub const FIXED_LEN: usize = 24;

    /// Validates an IAADDR payload.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Ok(Self {
            data,
            options: split_fixed(data, Self::FIXED_LEN)?,
        })
    }

    /// IPv6-address.
    pub fn addr(&self) -> Ipv6Addr {
        addr_at(self.data, 0)
    }

    /// preferred-lifetime in seconds.
    pub fn preferred(&self) -> u32 {
        be_u32(self.data, 16)
    }

    /// valid-lifetime in seconds.
    pub fn valid(&self) -> u32 {
        be_u32(self.data, 20)
    }

    /// IAaddr-options (STATUS_CODE).
    pub fn options(&self) -> Options<'a> {
        self.options
    }
}

/// OPTION_IAPREFIX payload: preferred and valid lifetimes, prefix-length, prefix,
/// IAprefix-options (RFC 8415 §21.22).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IaPrefix<'a> {
    data: &'a [u8],
    options: Options<'a>,
}

impl<'a> IaPrefix<'a> {
    /// Length of preferred + valid + prefix-length + prefix.
    pub const FIXED_LEN: usize = 25;

    /// Validates an IAPREFIX payload. The prefix-length value is not judged (a client may send
    /// 0 as a hint, RFC 8415 §18.2.1).
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Ok(Self {
            data,
            options: split_fixed(data, Self::FIXED_LEN)?,
        })
    }

    /// preferred-lifetime in seconds.
    pub fn preferred(&self) -> u32 {
        be_u32(self.data, 0)
    }

    /// valid-lifetime in seconds.
    pub fn valid(&self) -> u32 {
        be_u32(self.data, 4)
    }

    /// prefix-length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.data.get(8).copied().unwrap_or(0)
    }

    /// IPv6-prefix.
    pub fn prefix(&self) -> Ipv6Addr {
        addr_at(self.data, 9)
    }

    /// IAprefix-options (STATUS_CODE, PD_EXCLUDE, ...).
    pub fn options(&self) -> Options<'a> {
        self.options
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OptionCode;

    #[test]
    fn ia_na_with_nested_iaaddr() {
        let mut data = vec![0, 0, 0, 7, 0, 0, 0, 100, 0, 0, 0, 200, 0, 5, 0, 24];
        data.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5).octets());
        data.extend_from_slice(&[0, 0, 1, 0, 0, 0, 2, 0]);
        let ia = IaNa::parse(&data).unwrap();
        assert_eq!((ia.iaid(), ia.t1(), ia.t2()), (7, 100, 200));
        let addr = IaAddr::parse(ia.options().find(OptionCode::IaAddr).unwrap()).unwrap();
        assert_eq!(addr.addr(), Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5));
        assert_eq!((addr.preferred(), addr.valid()), (256, 512));
        assert!(addr.options().is_empty());
        let pd = IaPd::parse(&data).unwrap();
        assert_eq!(pd.options().count(OptionCode::IaAddr), 1);
    }

    #[test]
    fn ia_prefix_and_ia_ta() {
        let mut data = vec![0, 0, 0, 10, 0, 0, 0, 20, 56];
        data.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0xab00, 0, 0, 0, 0, 0).octets());
        let p = IaPrefix::parse(&data).unwrap();
        assert_eq!((p.preferred(), p.valid(), p.prefix_len()), (10, 20, 56));
        assert_eq!(
            p.prefix(),
            Ipv6Addr::new(0x2001, 0xdb8, 0xab00, 0, 0, 0, 0, 0)
        );
        let ta = IaTa::parse(&[0, 0, 1, 0]).unwrap();
        assert_eq!(ta.iaid(), 256);
        assert!(ta.options().is_empty());
    }

    #[test]
    fn rejects_short_fixed_parts_and_bad_sub_options() {
        assert_eq!(IaNa::parse(&[0; 11]), Err(Error::Truncated));
        assert_eq!(IaPd::parse(&[0; 11]), Err(Error::Truncated));
        assert_eq!(IaTa::parse(&[0; 3]), Err(Error::Truncated));
        assert_eq!(IaAddr::parse(&[0; 23]), Err(Error::Truncated));
        assert_eq!(IaPrefix::parse(&[0; 24]), Err(Error::Truncated));
        assert_eq!(IaNa::parse(&[0; 14]), Err(Error::Truncated));
        assert!(IaNa::parse(&[0; 16]).is_ok());
    }
}
