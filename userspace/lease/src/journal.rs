//! The on-disk record format of the lease journal and snapshots (no file I/O here).
//!
//! Record (all integers big-endian):
//!
//! | field   | size | meaning                                   |
//! |---------|------|-------------------------------------------|
//! | magic   | 4    | [`RECORD_MAGIC`] `"TLJR"`                   |
//! | version | 1    | [`VERSION`] (3; versions 1 and 2 are still read) |
//! | length  | 4    | body length, [`MIN_BODY`]..=[`MAX_BODY`]  |
//! | crc     | 4    | CRC-32 (IEEE) of the body                 |
//! | body    | len  | change kind, resource, lease fields       |
//!
//! Body: change kind u8 (1 Upsert, 2 Remove, 3 Backup since version 3); resource kind u8 (1 Na, 2 Pd); address 16;
//! prefix_len u8; then for Upsert: duid len u8 + duid, iaid u32, subnet_id u32, preferred u32,
//! valid u32, cltt u64, expires_at u64, state u8 (1 Bound, 2 Declined, 3 Released, 4 Expired);
//! since version 2 followed by the failover data of RFC 8156 §7.3 ([`crate::FoData`]): flags u8
//! (bit 0 tell-partner, other bits zero), start-time-of-state u64, partner-lifetime u64,
//! acked-partner-lifetime u64, expiration-time u64, partner-raw-clt-time u32, T1 u32, T2 u32.
//! A version 1 Upsert decodes with [`crate::FoData::default()`] (standalone); a Remove has the
//! same body in every version. A Backup (RFC 8156 §4.2.2, [`crate::BackupPrefix`]) is followed by
//! flags u8 (bit 0 present = FREE-BACKUP, bit 1 a Give pending, bit 2 a Reclaim pending) and
//! since u64; absent (flags 0, since 0) = the prefix is the primary's again.
//!
//! Snapshot = header (magic `"TLSS"`, version u8, generation u64, CRC-32 of those 13 bytes)
//! followed by one Upsert record per lease. Headers of versions 1 to 3 are accepted; each
//! record carries its own version.

use std::net::Ipv6Addr;

use crate::failover::FoData;
use crate::lease::{Lease, LeaseChange, LeaseState};
use crate::resource::{LeaseKind, Resource};
use crate::share::{BackupPrefix, ShareMove};

/// Magic at the start of every record.
pub const RECORD_MAGIC: [u8; 4] = *b"TLJR";
/// Magic at the start of a snapshot.
pub const SNAPSHOT_MAGIC: [u8; 4] = *b"TLSS";
/// Format version of the records and snapshot headers this encoder writes.
pub const VERSION: u8 = 3;
/// The format before Backup records (its bodies are read as version 3 ones).
pub const VERSION_2: u8 = 2;
/// The first format (no failover data), still read.
pub const VERSION_1: u8 = 1;
/// Record header length (magic, version, length, crc).
pub const HEADER_LEN: usize = 13;
/// Snapshot header length.
pub const SNAPSHOT_HEADER_LEN: usize = 17;
/// Longest DUID the format stores (RFC 8415 §11.1: at most 128 octets + 2 type octets).
pub const MAX_DUID_LEN: usize = 130;
/// Smallest body (a Remove).
pub const MIN_BODY: usize = 19;
/// Failover data appended to a version 2 Upsert body.
const FO_LEN: usize = 1 + 8 * 4 + 4 * 3;
/// Largest body (a version 2 Upsert with a [`MAX_DUID_LEN`] DUID).
pub const MAX_BODY: usize = MIN_BODY + 1 + MAX_DUID_LEN + 4 * 4 + 8 * 2 + 1 + FO_LEN;

/// Why a stretch of bytes was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SkipReason {
    /// The stream ends inside a record (a torn final write).
    #[error("torn record at end of stream")]
    Torn,
    /// Bytes that do not start with a record magic.
    #[error("no record magic")]
    BadMagic,
    /// Unknown format version.
    #[error("unknown version")]
    BadVersion,
    /// Length field outside the possible range.
    #[error("impossible length")]
    BadLength,
    /// CRC mismatch.
    #[error("CRC mismatch")]
    BadCrc,
    /// CRC matched but the body does not decode.
    #[error("malformed body")]
    BadBody,
}

/// A corrupt or torn stretch of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("skipped {len} bytes at offset {offset}: {why}")]
pub struct Skipped {
    /// Offset of the first skipped byte.
    pub offset: usize,
    /// Number of bytes skipped.
    pub len: usize,
    /// Why.
    pub why: SkipReason,
}

/// Append one record: magic, version, length, CRC-32, body. DUIDs longer than
/// [`MAX_DUID_LEN`] (which the engine never accepts) are cut to that length.
pub fn encode(change: &LeaseChange, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&RECORD_MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&[0; 8]); // length + crc, filled below
    let body = out.len();
    let r = match change {
        LeaseChange::Upsert(l) => {
            out.push(1);
            &l.resource
        }
        LeaseChange::Remove(r) => {
            out.push(2);
            r
        }
        LeaseChange::Backup(r, _) => {
            out.push(3);
            r
        }
    };
    out.push(match r.kind {
        LeaseKind::Na => 1,
        LeaseKind::Pd => 2,
    });
    out.extend_from_slice(&r.addr.octets());
    out.push(r.prefix_len);
    if let LeaseChange::Upsert(l) = change {
        let duid = &l.duid[..l.duid.len().min(MAX_DUID_LEN)];
        out.push(duid.len() as u8);
        out.extend_from_slice(duid);
        for v in [l.iaid, l.subnet_id, l.preferred_s, l.valid_s] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&l.cltt.to_be_bytes());
        out.extend_from_slice(&l.expires_at.to_be_bytes());
        out.push(match l.state {
            LeaseState::Bound => 1,
            LeaseState::Declined => 2,
            LeaseState::Released => 3,
            LeaseState::Expired => 4,
        });
        let fo = &l.fo;
        out.push(u8::from(fo.tell_partner));
        for v in [
            fo.start_time_of_state,
            fo.partner_lifetime,
            fo.acked_partner_lifetime,
            fo.expiration_time,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        for v in [fo.partner_raw_clt_time, fo.t1_s, fo.t2_s] {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    if let LeaseChange::Backup(_, entry) = change {
        let (flags, since) = entry.map_or((0, 0), |e| {
            let pending = match e.pending {
                None => 0,
                Some(ShareMove::Give) => 2,
                Some(ShareMove::Reclaim) => 4,
            };
            (1 | pending, e.since)
        });
        out.push(flags);
        out.extend_from_slice(&since.to_be_bytes());
    }
    let len = (out.len() - body) as u32;
    let crc = crc32fast::hash(&out[body..]);
    out[start + 5..start + 9].copy_from_slice(&len.to_be_bytes());
    out[start + 9..start + 13].copy_from_slice(&crc.to_be_bytes());
}

/// Decode a byte stream.
pub fn read(buf: &[u8]) -> Reader<'_> {
    Reader { buf, pos: 0 }
}

/// Yields `Ok(change)` per good record and `Err(Skipped)` for each corrupt stretch; resynchronises
/// on the next magic that starts a good record; a torn tail is reported once. Never panics.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    /// Offset of the next unread byte.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<LeaseChange, Skipped>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        if start >= self.buf.len() {
            return None;
        }
        let why = match check(&self.buf[start..]) {
            Ok((change, len)) => {
                self.pos = start + len;
                return Some(Ok(change));
            }
            Err(why) => why,
        };
        let next = (start + 1..self.buf.len())
            .find(|&q| self.buf[q..].starts_with(&RECORD_MAGIC) && check(&self.buf[q..]).is_ok());
        let end = next.unwrap_or(self.buf.len());
        self.pos = end;
        let why = if next.is_none() && why == SkipReason::Torn {
            SkipReason::Torn
        } else if why == SkipReason::Torn {
            SkipReason::BadLength
        } else {
            why
        };
        Some(Err(Skipped {
            offset: start,
            len: end - start,
            why,
        }))
    }
}

/// Check and decode the record at the start of `b`: (change, record length) or why not.
/// `Torn` means "a record prefix that runs past the end of `b`".
fn check(b: &[u8]) -> Result<(LeaseChange, usize), SkipReason> {
    if b.len() < RECORD_MAGIC.len() {
        return Err(if RECORD_MAGIC.starts_with(b) {
            SkipReason::Torn
        } else {
            SkipReason::BadMagic
        });
    }
    if b[..4] != RECORD_MAGIC {
        return Err(SkipReason::BadMagic);
    }
    if b.len() < HEADER_LEN {
        return Err(SkipReason::Torn);
    }
    let version = b[4];
    if !(VERSION_1..=VERSION).contains(&version) {
        return Err(SkipReason::BadVersion);
    }
    let len = u32::from_be_bytes([b[5], b[6], b[7], b[8]]);
    let Some(len) = usize::try_from(len)
        .ok()
        .filter(|l| (MIN_BODY..=MAX_BODY).contains(l))
    else {
        return Err(SkipReason::BadLength);
    };
    let Some(body) = b.get(HEADER_LEN..HEADER_LEN + len) else {
        return Err(SkipReason::Torn);
    };
    let crc = u32::from_be_bytes([b[9], b[10], b[11], b[12]]);
    if crc32fast::hash(body) != crc {
        return Err(SkipReason::BadCrc);
    }
    let change = decode_body(body, version).ok_or(SkipReason::BadBody)?;
    Ok((change, HEADER_LEN + len))
}

struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (h, t) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = t;
        Some(h)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
    }
}

fn decode_body(body: &[u8], version: u8) -> Option<LeaseChange> {
    let mut c = Cur(body);
    let change = c.u8()?;
    let kind = match c.u8()? {
        1 => LeaseKind::Na,
        2 => LeaseKind::Pd,
        _ => return None,
    };
    let addr: [u8; 16] = c.take(16)?.try_into().ok()?;
    let prefix_len = c.u8()?;
    if prefix_len > 128 {
        return None;
    }
    let resource = Resource {
        kind,
        addr: Ipv6Addr::from(addr),
        prefix_len,
    };
    let out = match change {
        2 => LeaseChange::Remove(resource),
        3 if version == VERSION => {
            let (flags, since) = (c.u8()?, c.u64()?);
            let pending = match flags {
                0 if since == 0 => {
                    return c
                        .0
                        .is_empty()
                        .then_some(LeaseChange::Backup(resource, None))
                }
                1 => None,
                3 => Some(ShareMove::Give),
                5 => Some(ShareMove::Reclaim),
                _ => return None,
            };
            LeaseChange::Backup(resource, Some(BackupPrefix { since, pending }))
        }
        1 => {
            let dl = usize::from(c.u8()?);
            if dl > MAX_DUID_LEN {
                return None;
            }
            let duid: Box<[u8]> = c.take(dl)?.into();
            let (iaid, subnet_id, preferred_s, valid_s) = (c.u32()?, c.u32()?, c.u32()?, c.u32()?);
            let (cltt, expires_at) = (c.u64()?, c.u64()?);
            let state = match c.u8()? {
                1 => LeaseState::Bound,
                2 => LeaseState::Declined,
                3 => LeaseState::Released,
                4 => LeaseState::Expired,
                _ => return None,
            };
            let fo = if version == VERSION_1 {
                FoData::default()
            } else {
                decode_fo(&mut c)?
            };
            LeaseChange::Upsert(Lease {
                resource,
                duid,
                iaid,
                subnet_id,
                preferred_s,
                valid_s,
                cltt,
                expires_at,
                state,
                fo,
            })
        }
        _ => return None,
    };
    c.0.is_empty().then_some(out)
}

/// The version 2 failover fields of an Upsert; unknown flag bits make the body malformed.
fn decode_fo(c: &mut Cur<'_>) -> Option<FoData> {
    let flags = c.u8()?;
    if flags & !1 != 0 {
        return None;
    }
    let (start_time_of_state, partner_lifetime) = (c.u64()?, c.u64()?);
    let (acked_partner_lifetime, expiration_time) = (c.u64()?, c.u64()?);
    Some(FoData {
        tell_partner: flags & 1 != 0,
        start_time_of_state,
        partner_lifetime,
        acked_partner_lifetime,
        expiration_time,
        partner_raw_clt_time: c.u32()?,
        t1_s: c.u32()?,
        t2_s: c.u32()?,
    })
}

/// Append a snapshot header: magic, version, generation, CRC-32 of the preceding 13 bytes.
pub fn encode_snapshot_header(generation: u64, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&SNAPSHOT_MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&generation.to_be_bytes());
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Decode a snapshot header: (generation, header length); the records follow at that offset.
pub fn decode_snapshot_header(buf: &[u8]) -> Result<(u64, usize), Skipped> {
    let bad = |why| Skipped {
        offset: 0,
        len: buf.len().min(SNAPSHOT_HEADER_LEN),
        why,
    };
    let Some(h) = buf.get(..SNAPSHOT_HEADER_LEN) else {
        return Err(bad(if buf.len() >= 4 && buf[..4] != SNAPSHOT_MAGIC {
            SkipReason::BadMagic
        } else {
            SkipReason::Torn
        }));
    };
    if h[..4] != SNAPSHOT_MAGIC {
        return Err(bad(SkipReason::BadMagic));
    }
    if !(VERSION_1..=VERSION).contains(&h[4]) {
        return Err(bad(SkipReason::BadVersion));
    }
    let crc = u32::from_be_bytes([h[13], h[14], h[15], h[16]]);
    if crc32fast::hash(&h[..13]) != crc {
        return Err(bad(SkipReason::BadCrc));
    }
    let mut g = [0u8; 8];
    g.copy_from_slice(&h[5..13]);
    Ok((u64::from_be_bytes(g), SNAPSHOT_HEADER_LEN))
}

#[cfg(test)]
mod tests;
