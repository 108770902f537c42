//! dhclient's `-lf` lease file (ISC dhclient 4.4 `lease6 { ... }` blocks), read back.
//!
//! The file is what the client believes it holds: IAs with their IAID (printed as four
//! colon-separated hex octets), addresses and prefixes with `starts` (Unix time), `preferred-life`
//! and `max-life` (the valid lifetime) [RFC 8415 §21.4–§21.6, §21.21–§21.22].

use std::net::Ipv6Addr;

use anyhow::{bail, Context, Result};

use crate::subject::LeaseKind;

/// One address or prefix from a `lease6` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLease {
    /// `ia-na`/`iaaddr` or `ia-pd`/`iaprefix`.
    pub kind: LeaseKind,
    /// The IA's IAID.
    pub iaid: u32,
    /// Address, or the prefix's first address.
    pub address: Ipv6Addr,
    /// 128 for addresses.
    pub prefix_len: u8,
    /// When the client received it, Unix seconds.
    pub starts: u64,
    /// Preferred lifetime (s).
    pub preferred: u32,
    /// Valid lifetime (s), dhclient's `max-life`.
    pub valid: u32,
}

/// The leases of the last `lease6` block (dhclient appends a block per change; the last is the
/// current state). Empty when the file holds no `lease6` block.
pub fn parse(text: &str) -> Result<Vec<ClientLease>> {
    let tokens = tokenize(text);
    let Some(start) = tokens.iter().rposition(|t| t == "lease6") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut ia: Option<(LeaseKind, u32)> = None;
    let mut cur: Option<ClientLease> = None;
    let mut depth = 0usize;
    let mut it = tokens[start + 1..].iter();
    while let Some(t) = it.next() {
        match t.as_str() {
            "{" => depth += 1,
            "}" => {
                if let Some(l) = cur.take() {
                    out.push(l);
                } else if ia.is_some() {
                    ia = None;
                }
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            "ia-na" | "ia-pd" => {
                let kind = if t == "ia-na" {
                    LeaseKind::Na
                } else {
                    LeaseKind::Pd
                };
                let id = it.next().context("IAID after ia-na/ia-pd")?;
                ia = Some((kind, iaid(id)?));
            }
            "iaaddr" | "iaprefix" => {
                let (kind, iaid) = ia.context("iaaddr/iaprefix outside an IA")?;
                let v = it.next().context("address after iaaddr/iaprefix")?;
                let (a, len) = match v.split_once('/') {
                    Some((a, l)) => (a, l.parse().with_context(|| format!("length in {v}"))?),
                    None => (v.as_str(), 128),
                };
                cur = Some(ClientLease {
                    kind,
                    iaid,
                    address: a.parse().with_context(|| format!("address {a}"))?,
                    prefix_len: len,
                    starts: 0,
                    preferred: 0,
                    valid: 0,
                });
            }
            "starts" | "preferred-life" | "max-life" => {
                let v = it.next().context("value")?;
                if let Some(l) = cur.as_mut() {
                    let n: u64 = v.parse().with_context(|| format!("{t} {v}"))?;
                    match t.as_str() {
                        "starts" => l.starts = n,
                        "preferred-life" => l.preferred = u32::try_from(n)?,
                        _ => l.valid = u32::try_from(n)?,
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// An IAID as dhclient prints it: `6e:3e:4d:2d` (or, for printable octets, a quoted string).
fn iaid(s: &str) -> Result<u32> {
    let octets: Vec<u8> = if let Some(q) = s.strip_prefix('"') {
        q.trim_end_matches('"').bytes().collect()
    } else {
        s.split(':')
            .map(|b| u8::from_str_radix(b, 16))
            .collect::<Result<_, _>>()
            .with_context(|| format!("IAID {s}"))?
    };
    let Ok(b) = <[u8; 4]>::try_from(octets.as_slice()) else {
        bail!("IAID {s} is not four octets");
    };
    Ok(u32::from_be_bytes(b))
}

/// Splits into words, `{`, `}`, dropping `;` and `#` comments; quoted strings (with backslash
/// escapes) stay one token.
fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    let mut comment = false;
    for c in text.chars() {
        if comment {
            comment = c != '\n';
            continue;
        }
        if quoted {
            // dhclient escapes octets in strings (`\"`, `\377`): only a bare quote ends one.
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else {
                quoted = c != '"';
            }
            continue;
        }
        match c {
            '"' => {
                cur.push(c);
                quoted = true;
            }
            '#' => comment = true,
            '{' | '}' | ';' | ' ' | '\t' | '\n' | '\r' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                if c == '{' || c == '}' {
                    out.push(c.to_string());
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real file's shape; the DUID string holds an escaped quote and backslash, as dhclient
    /// writes them.
    const FILE: &str = r#"default-duid "\000\001\000\0012\233x>b\003\355\"\177W\\";
lease6 {
  interface "cli0";
  ia-na 6e:3e:4d:2d {
    starts 1795733600;
    renew 3;
    rebind 5;
    iaaddr 2001:db8:1::1000 {
      starts 1795733600;
      preferred-life 8;
      max-life 12;
    }
  }
  option dhcp6.client-id 0:1:0:1:32:9b:74:ef:12:66:6f:61:76:2d;
}
lease6 {
  interface "cli0";
  ia-na 6e:3e:4d:2d {
    starts 1795733603;
    renew 3;
    rebind 5;
    iaaddr 2001:db8:1::1000 {
      starts 1795733603;
      preferred-life 8;
      max-life 12;
    }
  }
  ia-pd "abcd" {
    starts 1795733603;
    iaprefix 2001:db8:8000::/56 {
      starts 1795733603;
      preferred-life 8;
      max-life 12;
    }
  }
  option dhcp6.server-id 0:2:0:0:9:bf:74:61:62:6c:61:62;
  option dhcp6.domain-search "example.net.","isp.example.";
}
"#;

    #[test]
    fn last_block_wins() {
        let v = parse(FILE).unwrap();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(v[0].kind, LeaseKind::Na);
        assert_eq!(v[0].iaid, 0x6e3e_4d2d);
        assert_eq!(
            v[0].address,
            "2001:db8:1::1000".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            (v[0].starts, v[0].preferred, v[0].valid),
            (1_795_733_603, 8, 12)
        );
        assert_eq!(v[1].kind, LeaseKind::Pd);
        assert_eq!(v[1].iaid, u32::from_be_bytes(*b"abcd"));
        assert_eq!(v[1].prefix_len, 56);
    }

    #[test]
    fn empty_and_broken_files() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("default-duid \"x\";").unwrap().is_empty());
        assert!(parse("lease6 { ia-na 1:2:3 { iaaddr ::1 { } } }").is_err());
        assert!(parse("lease6 { iaaddr ::1 { } }").is_err());
        assert!(parse("lease6 { ia-na 1:2:3:4 { iaaddr nonsense { } } }").is_err());
    }
}
