//! The option area: a run of `(u16 code, u16 len, data)` triples with no padding (RFC 8415 §21.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          option-code          |           option-len          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          option-data                          |
//! |                      (option-len octets)                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::ops::Range;

use crate::{Error, OptionCode, Result};

/// Offsets inside one option header.
pub mod field {
    use core::ops::Range;

    /// option-code.
    pub const CODE: Range<usize> = 0..2;
    /// option-len.
    pub const LEN: Range<usize> = 2..4;
    /// Size of the header; option-data starts here.
    pub const HEADER_LEN: usize = 4;
}

/// A validated option area: every option header and length fits (checked once in
/// [`Options::new_checked`]), so iteration cannot fail and no accessor panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Options<'a> {
    area: &'a [u8],
}

/// One option as found on the wire: its code and its payload (option-data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawOption<'a> {
    /// option-code.
    pub code: OptionCode,
    /// option-data, exactly option-len octets.
    pub data: &'a [u8],
}

impl<'a> Options<'a> {
    /// Validates that `area` is a sequence of complete options (RFC 8415 §21.1).
    ///
    /// Errors with [`Error::Truncated`] when a header or a payload runs past the end.
    pub fn new_checked(area: &'a [u8]) -> Result<Self> {
        check_area(area)?;
        Ok(Self { area })
    }

    /// An empty option area.
    pub const fn empty() -> Self {
        Self { area: &[] }
    }

    /// Iterates the options in wire order.
    pub fn iter(&self) -> OptionsIter<'a> {
        OptionsIter {
            inner: RawIter::new(self.area),
        }
    }

    /// Payload of the first option with `code`, if any.
    pub fn find(&self, code: OptionCode) -> Option<&'a [u8]> {
        self.iter().find(|o| o.code == code).map(|o| o.data)
    }

    /// Number of options with `code`.
    pub fn count(&self, code: OptionCode) -> usize {
        self.iter().filter(|o| o.code == code).count()
    }

    /// The whole option area as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.area
    }

    /// True when the area holds no option.
    pub fn is_empty(&self) -> bool {
        self.area.is_empty()
    }

    /// Byte range of the first option with `code` inside [`Options::as_bytes`], header included.
    pub fn find_range(&self, code: OptionCode) -> Option<Range<usize>> {
        let mut it = RawIter::new(self.area);
        loop {
            let start = it.offset;
            let (c, _) = it.next()?;
            if OptionCode::from(c) == code {
                return Some(start..it.offset);
            }
        }
    }
}

impl<'a> IntoIterator for Options<'a> {
    type Item = RawOption<'a>;
    type IntoIter = OptionsIter<'a>;

    fn into_iter(self) -> OptionsIter<'a> {
        self.iter()
    }
}

/// Borrowing iterator over a validated option area, in wire order.
#[derive(Clone, Debug)]
pub struct OptionsIter<'a> {
    inner: RawIter<'a>,
}

impl<'a> Iterator for OptionsIter<'a> {
    type Item = RawOption<'a>;

    fn next(&mut self) -> Option<RawOption<'a>> {
        let (code, data) = self.inner.next()?;
        Some(RawOption {
            code: OptionCode::from(code),
            data,
        })
    }
}

/// Checks that `area` splits exactly into `(u16 code, u16 len, data)` triples.
pub(crate) fn check_area(area: &[u8]) -> Result<()> {
    let mut rest = area;
    while !rest.is_empty() {
        let Some((header, tail)) = rest.split_first_chunk::<{ field::HEADER_LEN }>() else {
            return Err(Error::Truncated);
        };
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let Some(next) = tail.get(len..) else {
            return Err(Error::Truncated);
        };
        rest = next;
    }
    Ok(())
}

/// Iterator over `(u16 code, payload)` triples. It stops at the first incomplete triple, so it
/// never panics even on unvalidated input; callers validate with [`check_area`] first.
#[derive(Clone, Debug)]
pub(crate) struct RawIter<'a> {
    area: &'a [u8],
    offset: usize,
}

impl<'a> RawIter<'a> {
    pub(crate) fn new(area: &'a [u8]) -> Self {
        Self { area, offset: 0 }
    }
}

impl<'a> Iterator for RawIter<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        let rest = self.area.get(self.offset..)?;
        let (header, tail) = rest.split_first_chunk::<{ field::HEADER_LEN }>()?;
        let code = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let data = tail.get(..len)?;
        self.offset += field::HEADER_LEN + len;
        Some((code, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: &[u8] = &[
        0, 1, 0, 2, 0xaa, 0xbb, 0, 14, 0, 0, 0, 1, 0, 1, 0xcc, 0x99, 0, 0, 0,
    ];

    #[test]
    fn iterates_in_order_and_finds_first() {
        let opts = Options::new_checked(AREA).unwrap();
        let all: Vec<_> = opts.iter().map(|o| (u16::from(o.code), o.data)).collect();
        assert_eq!(
            all,
            vec![
                (1, &[0xaa, 0xbb][..]),
                (14, &[][..]),
                (1, &[0xcc][..]),
                (0x9900, &[][..])
            ]
        );
        assert_eq!(opts.find(OptionCode::ClientId), Some(&[0xaa, 0xbb][..]));
        assert_eq!(opts.count(OptionCode::ClientId), 2);
        assert_eq!(opts.count(OptionCode::ServerId), 0);
        assert_eq!(opts.find(OptionCode::RapidCommit), Some(&[][..]));
        assert_eq!(opts.find_range(OptionCode::RapidCommit), Some(6..10));
        assert_eq!(opts.as_bytes(), AREA);
    }

    #[test]
    fn rejects_every_truncation() {
        for cut in 1..AREA.len() {
            let prefix = &AREA[..cut];
            let ok = matches!(cut, 6 | 10 | 15);
            assert_eq!(Options::new_checked(prefix).is_ok(), ok, "cut at {cut}");
        }
        assert!(Options::new_checked(&[]).unwrap().is_empty());
        assert_eq!(
            Options::new_checked(&[0, 1, 0, 5, 1]),
            Err(Error::Truncated)
        );
    }
}
