//! Kea's memfile lease file for DHCPv6 (`kea-leases6.csv`), read and written.
//!
//! The file is an append log (Kea ARM §8.2.2.2 "Memfile"): every change appends a whole row,
//! so the last row for an (address, lease type) is the lease; a row with valid lifetime 0 is a
//! deletion. Kea 2.2's columns are [`KEA_2_2_COLUMNS`]; older files have fewer (the header
//! names them) and newer ones add `pool_id`. Text fields escape `,` as `&#x2c` (Kea's
//! `CSVRow::escapeCharacters`). Lease types: 0 IA_NA, 1 IA_TA, 2 IA_PD [RFC 8415 §21.4,
//! §21.5, §21.21]. States: 0 default, 1 declined [RFC 8415 §18.3.8], 2 expired-reclaimed.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// The header Kea 2.2 writes, in order; [`write_leases6`] writes exactly these, so Kea 2.2
/// can load the file (it refuses columns it does not know).
pub const KEA_2_2_COLUMNS: [&str; 17] = [
    "address",
    "duid",
    "valid_lifetime",
    "expire",
    "subnet_id",
    "pref_lifetime",
    "lease_type",
    "iaid",
    "prefix_len",
    "fqdn_fwd",
    "fqdn_rev",
    "hostname",
    "hwaddr",
    "state",
    "user_context",
    "hwtype",
    "hwaddr_source",
];

/// Columns every file since Kea 1.0 has (the first nine of Kea 2.2's); a file without one of
/// them is not a leases6 file.
const REQUIRED: &[&str] = KEA_2_2_COLUMNS.split_at(9).0;

/// Kea's lease type column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum KeaLeaseType {
    /// 0: an IA_NA address [RFC 8415 §21.4].
    Na,
    /// 1: an IA_TA temporary address [RFC 8415 §21.5] (tandem serves none).
    Ta,
    /// 2: an IA_PD delegated prefix [RFC 8415 §21.21].
    Pd,
}

impl KeaLeaseType {
    fn code(self) -> u8 {
        match self {
            Self::Na => 0,
            Self::Ta => 1,
            Self::Pd => 2,
        }
    }
}

/// Kea's lease state column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeaLeaseState {
    /// 0: assigned to the client.
    Default,
    /// 1: declined by a client and held back for the probation period [RFC 8415 §18.3.8].
    Declined,
    /// 2: expired and reclaimed (kept only with `hold-reclaimed-time`).
    ExpiredReclaimed,
}

impl KeaLeaseState {
    fn code(self) -> u8 {
        match self {
            Self::Default => 0,
            Self::Declined => 1,
            Self::ExpiredReclaimed => 2,
        }
    }
}

/// One row of the lease file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaLease {
    /// The address, or the delegated prefix's first address.
    pub address: Ipv6Addr,
    /// Client DUID octets (Kea writes `xx:xx:...`; declined leases carry the 1-octet `00`).
    pub duid: Vec<u8>,
    /// Valid lifetime (s).
    pub valid_lifetime: u32,
    /// Unix time the lease expires.
    pub expire: u64,
    /// Kea's subnet id.
    pub subnet_id: u32,
    /// Preferred lifetime (s).
    pub pref_lifetime: u32,
    /// IA_NA, IA_TA or IA_PD.
    pub lease_type: KeaLeaseType,
    /// IAID of the IA.
    pub iaid: u32,
    /// 128 for addresses, the delegated length for prefixes.
    pub prefix_len: u8,
    /// Kea updated the AAAA record.
    pub fqdn_fwd: bool,
    /// Kea updated the PTR record.
    pub fqdn_rev: bool,
    /// Client host name (unescaped).
    pub hostname: String,
    /// Client hardware address octets, empty when unknown.
    pub hwaddr: Vec<u8>,
    /// Assigned, declined or expired-reclaimed.
    pub state: KeaLeaseState,
    /// The `user_context` JSON text (unescaped), empty when none.
    pub user_context: String,
    /// Hardware type of `hwaddr` (`hwtype` column), when given.
    pub hwtype: Option<u16>,
    /// Where Kea learned `hwaddr` (`hwaddr_source` bit), when given.
    pub hwaddr_source: Option<u32>,
    /// Kea 2.4+ `pool_id`; never written (Kea 2.2 does not know the column).
    pub pool_id: Option<u32>,
}

impl KeaLease {
    /// Client last transaction time: Kea stores the expiry, so `expire - valid_lifetime`.
    pub fn cltt(&self) -> u64 {
        self.expire.saturating_sub(u64::from(self.valid_lifetime))
    }
}

/// Why a lease file was refused: the 1-based line and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct CsvError {
    /// 1-based line number in the file.
    pub line: usize,
    /// What is wrong.
    pub kind: CsvErrorKind,
}

/// What is wrong with a line of the lease file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvErrorKind {
    /// The file is empty: not even a header.
    #[error("no header line")]
    NoHeader,
    /// The header lacks a column every leases6 file has.
    #[error("the header has no `{0}` column (is this a Kea leases6 file?)")]
    MissingColumn(&'static str),
    /// A row has a different number of fields than the header.
    #[error("{got} fields, the header has {expected}")]
    FieldCount { expected: usize, got: usize },
    /// A field does not hold a value of its column's type.
    #[error("column `{column}`: `{value}` is not {expected}")]
    Field {
        column: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Column positions of one file's header.
struct Columns {
    count: usize,
    index: BTreeMap<&'static str, usize>,
}

impl Columns {
    fn new(header: &str) -> Result<Self, CsvErrorKind> {
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let mut index = BTreeMap::new();
        for known in KEA_2_2_COLUMNS.iter().chain(["pool_id"].iter()) {
            if let Some(i) = names.iter().position(|n| n == known) {
                index.insert(*known, i);
            }
        }
        for required in REQUIRED {
            if !index.contains_key(required) {
                return Err(CsvErrorKind::MissingColumn(required));
            }
        }
        Ok(Self {
            count: names.len(),
            index,
        })
    }
}

/// One row being read: its fields and the header's positions.
struct Row<'a> {
    fields: Vec<&'a str>,
    cols: &'a Columns,
}

impl Row<'_> {
    /// The field of `column`; empty when the file has no such column.
    fn text(&self, column: &'static str) -> &str {
        self.cols
            .index
            .get(column)
            .and_then(|&i| self.fields.get(i))
            .map_or("", |f| f.trim())
    }

    fn parse<T: std::str::FromStr>(
        &self,
        column: &'static str,
        expected: &'static str,
    ) -> Result<T, CsvErrorKind> {
        let value = self.text(column);
        value.parse().map_err(|_| CsvErrorKind::Field {
            column,
            value: value.to_owned(),
            expected,
        })
    }

    fn optional<T: std::str::FromStr>(
        &self,
        column: &'static str,
        expected: &'static str,
    ) -> Result<Option<T>, CsvErrorKind> {
        if self.text(column).is_empty() {
            return Ok(None);
        }
        self.parse(column, expected).map(Some)
    }

    fn hex(&self, column: &'static str, allow_empty: bool) -> Result<Vec<u8>, CsvErrorKind> {
        let value = self.text(column);
        match parse_hex_octets(value) {
            Some(v) if allow_empty || !v.is_empty() => Ok(v),
            _ => Err(CsvErrorKind::Field {
                column,
                value: value.to_owned(),
                expected: "hex octets (xx:xx:...)",
            }),
        }
    }

    fn flag(&self, column: &'static str) -> Result<bool, CsvErrorKind> {
        match self.text(column) {
            "" | "0" | "false" => Ok(false),
            "1" | "true" => Ok(true),
            other => Err(CsvErrorKind::Field {
                column,
                value: other.to_owned(),
                expected: "0 or 1",
            }),
        }
    }

    fn lease(&self) -> Result<KeaLease, CsvErrorKind> {
        let lease_type = match self.text("lease_type") {
            "0" => KeaLeaseType::Na,
            "1" => KeaLeaseType::Ta,
            "2" => KeaLeaseType::Pd,
            other => {
                return Err(CsvErrorKind::Field {
                    column: "lease_type",
                    value: other.to_owned(),
                    expected: "0 (IA_NA), 1 (IA_TA) or 2 (IA_PD)",
                })
            }
        };
        let state = match self.text("state") {
            "" | "0" => KeaLeaseState::Default,
            "1" => KeaLeaseState::Declined,
            "2" => KeaLeaseState::ExpiredReclaimed,
            other => {
                return Err(CsvErrorKind::Field {
                    column: "state",
                    value: other.to_owned(),
                    expected: "0, 1 or 2",
                })
            }
        };
        let prefix_len: u8 = self.parse("prefix_len", "a prefix length 0..=128")?;
        if prefix_len > 128 {
            return Err(CsvErrorKind::Field {
                column: "prefix_len",
                value: prefix_len.to_string(),
                expected: "a prefix length 0..=128",
            });
        }
        Ok(KeaLease {
            address: self.parse("address", "an IPv6 address")?,
            duid: self.hex("duid", false)?,
            valid_lifetime: self.parse("valid_lifetime", "seconds (u32)")?,
            expire: self.parse("expire", "a Unix time")?,
            subnet_id: self.parse("subnet_id", "a subnet id (u32)")?,
            pref_lifetime: self.parse("pref_lifetime", "seconds (u32)")?,
            lease_type,
            iaid: self.parse("iaid", "an IAID (u32)")?,
            prefix_len,
            fqdn_fwd: self.flag("fqdn_fwd")?,
            fqdn_rev: self.flag("fqdn_rev")?,
            hostname: unescape(self.text("hostname")),
            hwaddr: self.hex("hwaddr", true)?,
            state,
            user_context: unescape(self.text("user_context")),
            hwtype: self.optional("hwtype", "a hardware type (u16)")?,
            hwaddr_source: self.optional("hwaddr_source", "a number (u32)")?,
            pool_id: self.optional("pool_id", "a pool id (u32)")?,
        })
    }
}

/// The live leases of a Kea leases6 file at Unix time `now`, ordered by (type, address).
///
/// The last row of an (address, type) wins; a row with valid lifetime 0 deletes it; a lease
/// whose `expire` is not after `now`, or that Kea already reclaimed (state 2), is dropped.
/// Declined leases (state 1) are kept. Blank lines are skipped. Errors name the 1-based line.
pub fn parse_leases6(csv: &str, now: u64) -> Result<Vec<KeaLease>, CsvError> {
    let mut lines = csv
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_at, header)) = lines.next() else {
        return Err(CsvError {
            line: 1,
            kind: CsvErrorKind::NoHeader,
        });
    };
    let cols = Columns::new(header).map_err(|kind| CsvError {
        line: header_at + 1,
        kind,
    })?;
    let mut live: BTreeMap<(KeaLeaseType, Ipv6Addr), KeaLease> = BTreeMap::new();
    for (i, line) in lines {
        let at = |kind| CsvError { line: i + 1, kind };
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != cols.count {
            return Err(at(CsvErrorKind::FieldCount {
                expected: cols.count,
                got: fields.len(),
            }));
        }
        let lease = Row {
            fields,
            cols: &cols,
        }
        .lease()
        .map_err(at)?;
        let key = (lease.lease_type, lease.address);
        let gone = lease.valid_lifetime == 0
            || lease.expire <= now
            || lease.state == KeaLeaseState::ExpiredReclaimed;
        if gone {
            live.remove(&key);
        } else {
            live.insert(key, lease);
        }
    }
    Ok(live.into_values().collect())
}

/// A Kea 2.2 leases6 file: the [`KEA_2_2_COLUMNS`] header and one row per lease, in order.
/// `pool_id` is not written (Kea 2.2 refuses the column).
pub fn write_leases6(leases: &[KeaLease]) -> String {
    let mut out = KEA_2_2_COLUMNS.join(",");
    out.push('\n');
    for l in leases {
        let row = [
            l.address.to_string(),
            hex_octets(&l.duid),
            l.valid_lifetime.to_string(),
            l.expire.to_string(),
            l.subnet_id.to_string(),
            l.pref_lifetime.to_string(),
            l.lease_type.code().to_string(),
            l.iaid.to_string(),
            l.prefix_len.to_string(),
            u8::from(l.fqdn_fwd).to_string(),
            u8::from(l.fqdn_rev).to_string(),
            escape(&l.hostname),
            hex_octets(&l.hwaddr),
            l.state.code().to_string(),
            escape(&l.user_context),
            l.hwtype.map(|t| t.to_string()).unwrap_or_default(),
            l.hwaddr_source.map(|s| s.to_string()).unwrap_or_default(),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// `xx:xx:...` lowercase, as Kea writes DUIDs and hardware addresses.
pub fn hex_octets(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Octets written as hex, colon-separated with 1 or 2 digits each (`0:1:a:ff`) or run together
/// with an even number of digits (`0001aff0`); empty text is no octets.
pub(crate) fn parse_hex_octets(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if s.is_empty() {
        return Some(Vec::new());
    }
    if !s.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
        return None;
    }
    if s.contains(':') {
        return s
            .split(':')
            .map(|o| match o.len() {
                1 | 2 => u8::from_str_radix(o, 16).ok(),
                _ => None,
            })
            .collect();
    }
    if !s.len().is_multiple_of(2) {
        return None;
    }
    // All ASCII hex digits (checked above), so every 2-byte slice is on a char boundary.
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Kea's CSV escaping: `,` and line breaks (which would split the row) and `&` (which starts
/// an escape) as `&#xHH`.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ',' | '\n' | '\r' | '&' => out.push_str(&format!("&#x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`escape`] (and Kea's): every `&#xHH` becomes the character HH.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("&#x") {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 3..at + 5)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .filter(u8::is_ascii);
        match code {
            Some(c) => {
                out.push(char::from(c));
                rest = &rest[at + 5..];
            }
            None => {
                out.push_str("&#x");
                rest = &rest[at + 3..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[path = "leases_tests.rs"]
mod tests;
