//! Typed views of list-shaped option payloads: USER_CLASS, VENDOR_CLASS, VENDOR_OPTS
//! (RFC 8415 §21.15–§21.17) and DNS_SERVERS (RFC 3646 §3).

use std::net::Ipv6Addr;

use crate::options::{check_area, RawIter};
use crate::{Error, Result};

/// Checks that `data` splits exactly into `(u16 len, data)` items.
fn check_items(data: &[u8]) -> Result<()> {
    let mut rest = data;
    while !rest.is_empty() {
        let (&len, tail) = rest.split_first_chunk::<2>().ok_or(Error::Truncated)?;
        rest = tail
            .get(usize::from(u16::from_be_bytes(len))..)
            .ok_or(Error::Truncated)?;
    }
    Ok(())
}

/// Iterator over `(u16 len, data)` items, yielding each data slice. Stops at the first
/// incomplete item (which validated input does not have).
#[derive(Clone, Debug)]
pub struct ClassDataIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ClassDataIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, tail) = self.rest.split_first_chunk::<2>()?;
        let (item, rest) = tail.split_at_checked(usize::from(u16::from_be_bytes(len)))?;
        self.rest = rest;
        Some(item)
    }
}

/// OPTION_USER_CLASS payload: a list of user-class-data items, each `(u16 len, data)`
/// (RFC 8415 §21.15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserClass<'a> {
    data: &'a [u8],
}

impl<'a> UserClass<'a> {
    /// Validates that every item length fits.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        check_items(data)?;
        Ok(Self { data })
    }

    /// The user-class-data items.
    pub fn iter(&self) -> ClassDataIter<'a> {
        ClassDataIter { rest: self.data }
    }
}

/// OPTION_VENDOR_CLASS payload: enterprise-number then vendor-class-data items, each
/// `(u16 len, data)` (RFC 8415 §21.16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VendorClass<'a> {
    enterprise: u32,
    items: &'a [u8],
}

impl<'a> VendorClass<'a> {
    /// Validates the enterprise number and every item length.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let (&e, items) = data.split_first_chunk::<4>().ok_or(Error::Truncated)?;
        check_items(items)?;
        Ok(Self {
            enterprise: u32::from_be_bytes(e),
            items,
        })
    }

    /// enterprise-number.
    pub fn enterprise(&self) -> u32 {
        self.enterprise
    }

    /// The vendor-class-data items.
    pub fn iter(&self) -> ClassDataIter<'a> {
        ClassDataIter { rest: self.items }
    }
}

/// OPTION_VENDOR_OPTS payload: enterprise-number then vendor sub-options, each
/// `(u16 code, u16 len, data)` (RFC 8415 §21.17). Sub-option codes belong to the vendor, so
/// they are yielded as plain `u16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VendorOpts<'a> {
    enterprise: u32,
    area: &'a [u8],
}

impl<'a> VendorOpts<'a> {
    /// Validates the enterprise number and the sub-option area.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let (&e, area) = data.split_first_chunk::<4>().ok_or(Error::Truncated)?;
        check_area(area)?;
        Ok(Self {
            enterprise: u32::from_be_bytes(e),
            area,
        })
    }

    /// enterprise-number.
    pub fn enterprise(&self) -> u32 {
        self.enterprise
    }

    /// The vendor sub-options as `(code, data)`.
    pub fn iter(&self) -> VendorSubOptions<'a> {
        VendorSubOptions {
            inner: RawIter::new(self.area),
        }
    }
}

/// Iterator over the sub-options of a [`VendorOpts`].
#[derive(Clone, Debug)]
pub struct VendorSubOptions<'a> {
    inner: RawIter<'a>,
}

impl<'a> Iterator for VendorSubOptions<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        self.inner.next()
    }
}

/// OPTION_DNS_SERVERS payload: recursive DNS server addresses; the length must be a multiple
/// of 16 (RFC 3646 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsServers<'a> {
    data: &'a [u8],
}

impl<'a> DnsServers<'a> {
    /// Validates the length.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        if data.len() % 16 != 0 {
            return Err(Error::BadLength);
        }
        Ok(Self { data })
    }

    /// The server addresses in order.
    pub fn iter(&self) -> impl Iterator<Item = Ipv6Addr> + 'a {
        self.data.chunks_exact(16).map(|c| {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(c);
            Ipv6Addr::from(octets)
        })
    }

    /// Number of addresses.
    pub fn len(&self) -> usize {
        self.data.len() / 16
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_vendor_class_items() {
        let u = UserClass::parse(&[0, 2, b'a', b'b', 0, 0, 0, 1, b'c']).unwrap();
        let items: Vec<&[u8]> = u.iter().collect();
        assert_eq!(items, [&b"ab"[..], &b""[..], &b"c"[..]]);
        assert_eq!(UserClass::parse(&[0, 3, 1, 2]), Err(Error::Truncated));
        assert_eq!(UserClass::parse(&[0]), Err(Error::Truncated));
        let v = VendorClass::parse(&[0, 0, 0x0d, 0xe9, 0, 1, b'x']).unwrap();
        assert_eq!(v.enterprise(), 3561);
        assert_eq!(v.iter().collect::<Vec<_>>(), [&b"x"[..]]);
        assert_eq!(VendorClass::parse(&[0, 0, 0]), Err(Error::Truncated));
        assert_eq!(
            VendorClass::parse(&[0, 0, 0, 1, 0, 2, 0]),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn vendor_opts_sub_options() {
        let v = VendorOpts::parse(&[0, 0, 0, 9, 0, 1, 0, 1, 5, 0, 2, 0, 0]).unwrap();
        assert_eq!(v.enterprise(), 9);
        assert_eq!(v.iter().collect::<Vec<_>>(), [(1, &[5][..]), (2, &[][..])]);
        assert_eq!(
            VendorOpts::parse(&[0, 0, 0, 9, 0, 1, 0, 2, 5]),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn dns_servers_need_multiple_of_16() {
        let mut data = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53)
            .octets()
            .to_vec();
        data.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        let d = DnsServers::parse(&data).unwrap();
        assert_eq!(d.len(), 2);
        let addrs: Vec<_> = d.iter().collect();
        assert_eq!(addrs[1], Ipv6Addr::LOCALHOST);
        assert_eq!(DnsServers::parse(&data[..17]), Err(Error::BadLength));
        assert!(DnsServers::parse(&[]).unwrap().is_empty());
    }
}
