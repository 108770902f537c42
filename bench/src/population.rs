//! The simulated client population: identities derived from a client index and a seed, so a
//! run is reproducible, and the transaction-id ↔ client mapping.

use std::net::Ipv6Addr;

use tandem_wire::Xid;

/// Most clients one run simulates: the client index must fit the 24-bit xid (RFC 8415 §8).
pub const CLIENTS_MAX: u32 = 1 << 24;

/// Which DUID the clients send (RFC 8415 §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DuidKind {
    /// DUID-LL, type 3 (RFC 8415 §11.4): hardware type 1 and a 6-octet MAC.
    Ll,
    /// DUID-LLT, type 1 (RFC 8415 §11.2): hardware type 1, a time from the seed, the MAC.
    Llt,
}

/// Longest DUID built here (DUID-LLT with a 6-octet MAC).
pub const DUID_LEN_MAX: usize = 14;

/// Client identities: MAC, DUID and link-local address of client `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Population {
    clients: u32,
    seed: u64,
    duid: DuidKind,
}

impl Population {
    /// `clients` clients (1..=[`CLIENTS_MAX`]) whose identities depend on `seed`.
    pub fn new(clients: u32, seed: u64, duid: DuidKind) -> Option<Self> {
        (1..=CLIENTS_MAX).contains(&clients).then_some(Self {
            clients,
            seed,
            duid,
        })
    }

    /// Number of clients.
    pub fn len(&self) -> u32 {
        self.clients
    }

    /// Always false: a population has at least one client.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The client's MAC: locally administered (`02`), one octet of the seed, then the index.
    /// The last octet is the low byte of the index, which socket steering relies on.
    pub fn mac(&self, index: u32) -> [u8; 6] {
        let [a, b, c, d] = index.to_be_bytes();
        [0x02, self.seed_byte(), a, b, c, d]
    }

    /// Writes the client's DUID into `out` and returns its length.
    pub fn duid(&self, index: u32, out: &mut [u8; DUID_LEN_MAX]) -> usize {
        let mac = self.mac(index);
        match self.duid {
            DuidKind::Ll => {
                out[..4].copy_from_slice(&[0, 3, 0, 1]);
                out[4..10].copy_from_slice(&mac);
                10
            }
            DuidKind::Llt => {
                out[..4].copy_from_slice(&[0, 1, 0, 1]);
                // The seed's low 32 bits stand for the DUID time (seconds since 2000).
                out[4..8].copy_from_slice(&(self.seed as u32).to_be_bytes());
                out[8..14].copy_from_slice(&mac);
                14
            }
        }
    }

    /// The client's EUI-64 link-local address (RFC 4291 §2.5.1, appendix A) from its MAC;
    /// the Relay-forward peer-address (RFC 8415 §9.1).
    pub fn link_local(&self, index: u32) -> Ipv6Addr {
        let m = self.mac(index);
        Ipv6Addr::from([
            0xfe,
            0x80,
            0,
            0,
            0,
            0,
            0,
            0,
            m[0] ^ 0x02,
            m[1],
            m[2],
            0xff,
            0xfe,
            m[3],
            m[4],
            m[5],
        ])
    }

    fn seed_byte(&self) -> u8 {
        (self.seed ^ (self.seed >> 8) ^ (self.seed >> 16) ^ (self.seed >> 24)) as u8
    }
}

/// Transaction id ↔ (client index, generation).
///
/// The xid's low `index_bits` bits are the client index (at least 8, so the last xid octet is
/// the index's low byte); the remaining high bits are a per-client generation that tells an
/// answer to the current transaction from a late answer to an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XidMap {
    index_bits: u32,
}

impl XidMap {
    /// The mapping for `clients` clients (at most [`CLIENTS_MAX`]).
    pub fn new(clients: u32) -> Self {
        let need = 32 - clients.saturating_sub(1).leading_zeros();
        Self {
            index_bits: need.clamp(8, 24),
        }
    }

    /// Bits of generation carried in each xid (0 when there are 2^24 clients).
    pub fn generation_bits(&self) -> u32 {
        24 - self.index_bits
    }

    /// The xid of client `index`'s transaction number `generation` (taken modulo the
    /// generation bits).
    pub fn xid(&self, index: u32, generation: u32) -> Xid {
        let index_mask = (1u32 << self.index_bits) - 1;
        let gen_mask = (1u32 << self.generation_bits()) - 1;
        Xid::from_u32(((generation & gen_mask) << self.index_bits) | (index & index_mask))
    }

    /// (client index, generation) of `xid`.
    pub fn split(&self, xid: Xid) -> (u32, u32) {
        let v = xid.to_u32();
        (v & ((1u32 << self.index_bits) - 1), v >> self.index_bits)
    }

    /// Whether `xid` belongs to transaction `generation` of its client.
    pub fn same_generation(&self, xid: Xid, generation: u32) -> bool {
        let gen_mask = (1u32 << self.generation_bits()) - 1;
        self.split(xid).1 == generation & gen_mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xids_map_back_to_their_client_and_generation() {
        let m = XidMap::new(100_000);
        assert_eq!(m.generation_bits(), 7);
        for index in [0u32, 1, 255, 256, 65_535, 99_999] {
            for generation in [0u32, 1, 5, 127, 128, 300] {
                let x = m.xid(index, generation);
                assert_eq!(m.split(x), (index, generation % 128));
                assert!(m.same_generation(x, generation));
                assert!(!m.same_generation(x, generation + 1));
                assert_eq!(x.0[2], index as u8, "last octet is the index low byte");
            }
        }
    }

    #[test]
    fn small_and_huge_populations_keep_the_index_byte() {
        let small = XidMap::new(10);
        assert_eq!(small.generation_bits(), 16);
        assert_eq!(small.split(small.xid(9, 0xabcd)), (9, 0xabcd));
        let exact = XidMap::new(256);
        assert_eq!(exact.generation_bits(), 16);
        assert_eq!(XidMap::new(257).generation_bits(), 15);
        let huge = XidMap::new(CLIENTS_MAX);
        assert_eq!(huge.generation_bits(), 0);
        assert_eq!(
            huge.split(huge.xid(CLIENTS_MAX - 1, 7)),
            (CLIENTS_MAX - 1, 0)
        );
        assert!(huge.same_generation(huge.xid(5, 0), 99));
    }

    #[test]
    fn identities_are_distinct_reproducible_and_seeded() {
        let p = Population::new(1000, 42, DuidKind::Ll).unwrap();
        let q = Population::new(1000, 42, DuidKind::Ll).unwrap();
        let r = Population::new(1000, 43, DuidKind::Ll).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        let mut buf = [0u8; DUID_LEN_MAX];
        for i in 0..1000 {
            let n = p.duid(i, &mut buf);
            assert_eq!(n, 10);
            assert!(seen.insert(buf[..n].to_vec()), "duplicate DUID for {i}");
            let mut other = [0u8; DUID_LEN_MAX];
            q.duid(i, &mut other);
            assert_eq!(buf, other);
            r.duid(i, &mut other);
            assert_ne!(buf, other);
        }
        assert!(Population::new(0, 1, DuidKind::Ll).is_none());
        assert!(Population::new(CLIENTS_MAX + 1, 1, DuidKind::Ll).is_none());
    }

    #[test]
    fn duid_llt_and_link_local_have_the_rfc_layout() {
        let p = Population::new(70_000, 0x0102_0304, DuidKind::Llt).unwrap();
        let mut buf = [0u8; DUID_LEN_MAX];
        assert_eq!(p.duid(0x0001_0203, &mut buf), 14);
        let sb = 0x04 ^ 0x03 ^ 0x02 ^ 0x01;
        assert_eq!(
            buf,
            [0, 1, 0, 1, 1, 2, 3, 4, 0x02, sb, 0x00, 0x01, 0x02, 0x03]
        );
        let ll = p.link_local(0x0001_0203);
        assert_eq!(
            ll.octets(),
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, sb, 0x00, 0xff, 0xfe, 0x01, 0x02, 0x03]
        );
        assert_eq!(
            ll.octets()[15],
            0x03,
            "peer-address last octet is the index low byte"
        );
    }
}
