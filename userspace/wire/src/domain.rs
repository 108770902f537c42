//! Uncompressed RFC 1035 domain names as DHCPv6 carries them (RFC 8415 §10): OPTION_DOMAIN_LIST
//! (RFC 3646 §4) and the name inside OPTION_CLIENT_FQDN (RFC 4704 §4.2).
//!
//! A name is a run of labels, each a length octet 1..=63 then that many octets, ended by a zero
//! octet; at most 255 octets in all. Compression pointers are not allowed in DHCPv6.

use core::fmt;

use crate::{Error, Result};

/// Longest label (RFC 1035 §2.3.4).
pub const LABEL_LEN_MAX: usize = 63;
/// Longest encoded name, length octets and root included (RFC 1035 §2.3.4).
pub const NAME_LEN_MAX: usize = 255;

/// Checks one name at the start of `wire` and returns its encoded length.
///
/// With `partial_ok`, running out of input at a label boundary before the root octet is
/// accepted (an RFC 4704 partial name); otherwise that is [`Error::BadDomainName`].
pub(crate) fn check_name(wire: &[u8], partial_ok: bool) -> Result<usize> {
    let mut at = 0usize;
    loop {
        let Some(&len) = wire.get(at) else {
            if partial_ok {
                return Ok(at);
            }
            return Err(Error::BadDomainName);
        };
        let len = usize::from(len);
        if len > LABEL_LEN_MAX {
            return Err(Error::BadDomainName);
        }
        at += 1 + len;
        if at > NAME_LEN_MAX || at > wire.len() {
            return Err(Error::BadDomainName);
        }
        if len == 0 {
            return Ok(at);
        }
    }
}

/// One encoded name (wire form), validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DomainName<'a> {
    wire: &'a [u8],
}

impl<'a> DomainName<'a> {
    /// Validates one complete name that fills `wire` exactly.
    pub fn parse(wire: &'a [u8]) -> Result<Self> {
        if check_name(wire, false)? != wire.len() {
            return Err(Error::BadDomainName);
        }
        Ok(Self { wire })
    }

    /// The encoded name.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.wire
    }

    /// The labels, without length octets and without the root.
    pub fn labels(&self) -> Labels<'a> {
        Labels { rest: self.wire }
    }
}

/// Dotted presentation form without the trailing dot; octets outside printable ASCII and
/// `.`/`\` inside labels are escaped as `\DDD` (RFC 1035 §5.1).
impl fmt::Display for DomainName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    write!(f, "{}", char::from(b))?;
                } else {
                    write!(f, "\\{b:03}")?;
                }
            }
        }
        if self.wire.first() == Some(&0) {
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// Iterator over the labels of a name. Stops at the root octet or at the end of input.
#[derive(Clone, Debug)]
pub struct Labels<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, tail) = self.rest.split_first()?;
        let len = usize::from(len);
        if len == 0 {
            self.rest = &[];
            return None;
        }
        let label = tail.get(..len)?;
        self.rest = tail.get(len..).unwrap_or(&[]);
        Some(label)
    }
}

/// OPTION_DOMAIN_LIST payload: a list of complete uncompressed names (RFC 3646 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainList<'a> {
    data: &'a [u8],
}

impl<'a> DomainList<'a> {
    /// Validates every name in the list.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let mut rest = data;
        while !rest.is_empty() {
            let n = check_name(rest, false)?;
            rest = rest.get(n..).ok_or(Error::BadDomainName)?;
        }
        Ok(Self { data })
    }

    /// The names in order.
    pub fn iter(&self) -> DomainListIter<'a> {
        DomainListIter { rest: self.data }
    }
}

/// Iterator over the names of a [`DomainList`].
#[derive(Clone, Debug)]
pub struct DomainListIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for DomainListIter<'a> {
    type Item = DomainName<'a>;

    fn next(&mut self) -> Option<DomainName<'a>> {
        let n = check_name(self.rest, false).ok()?;
        let (wire, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(DomainName { wire })
    }
}

/// Appends the uncompressed encoding of one fully-qualified name (a trailing dot is optional;
/// `"."` and `""` are the root). Config-time helper: it may allocate.
///
/// Rejects empty labels, labels over 63 octets and names over 255 octets
/// ([`Error::BadDomainName`]).
pub fn encode_domain_name(name: &str, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > LABEL_LEN_MAX {
                out.truncate(start);
                return Err(Error::BadDomainName);
            }
            // label.len() <= 63 was checked just above.
            out.push(u8::try_from(label.len()).map_err(|_| Error::BadDomainName)?);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() - start > NAME_LEN_MAX {
        out.truncate(start);
        return Err(Error::BadDomainName);
    }
    Ok(())
}

/// Appends an OPTION_DOMAIN_LIST payload for `names` (RFC 3646 §4). Config-time helper (it may
/// allocate). On error `out` is left as it was.
pub fn encode_domain_list(names: &[&str], out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    for name in names {
        if let Err(e) = encode_domain_name(name, out) {
            out.truncate(start);
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_parses_a_list() {
        let mut out = Vec::new();
        encode_domain_list(&["example.com", "lab.tandem.test."], &mut out).unwrap();
        assert_eq!(&out[..13], b"\x07example\x03com\x00");
        let list = DomainList::parse(&out).unwrap();
        let names: Vec<String> = list.iter().map(|n| n.to_string()).collect();
        assert_eq!(names, ["example.com", "lab.tandem.test"]);
        let labels: Vec<&[u8]> = list.iter().next().unwrap().labels().collect();
        assert_eq!(labels, [&b"example"[..], &b"com"[..]]);
    }

    #[test]
    fn rejects_bad_names() {
        let mut out = vec![1];
        assert_eq!(
            encode_domain_name("a..b", &mut out),
            Err(Error::BadDomainName)
        );
        assert_eq!(
            encode_domain_name(&"x".repeat(64), &mut out),
            Err(Error::BadDomainName)
        );
        let long = ["abcdefghi"; 26].join(".");
        assert_eq!(
            encode_domain_name(&long, &mut out),
            Err(Error::BadDomainName)
        );
        assert_eq!(
            encode_domain_list(&["ok.", "a..b"], &mut out),
            Err(Error::BadDomainName)
        );
        assert_eq!(out, [1], "output untouched on error");
        encode_domain_name(".", &mut out).unwrap();
        assert_eq!(out, [1, 0]);

        assert_eq!(DomainList::parse(b"\x03com"), Err(Error::BadDomainName));
        assert_eq!(DomainList::parse(b"\xc0\x0c"), Err(Error::BadDomainName));
        assert_eq!(DomainList::parse(b"\x05ab"), Err(Error::BadDomainName));
        assert_eq!(
            DomainName::parse(b"\x01a\x00\x00"),
            Err(Error::BadDomainName)
        );
        assert!(DomainList::parse(b"").unwrap().iter().next().is_none());
    }

    #[test]
    fn partial_names_and_escaping() {
        assert_eq!(check_name(b"\x04host", true), Ok(5));
        assert_eq!(check_name(b"\x04host", false), Err(Error::BadDomainName));
        assert_eq!(check_name(b"", true), Ok(0));
        let n = DomainName::parse(b"\x03a.b\x00").unwrap();
        assert_eq!(n.to_string(), "a\\046b");
        assert_eq!(DomainName::parse(b"\x00").unwrap().to_string(), ".");
    }
}
