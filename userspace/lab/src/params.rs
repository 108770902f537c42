//! Server parameters shared by every subject: one description, rendered as Kea JSON or tandem TOML.

use std::net::Ipv6Addr;

/// Lifetimes in seconds as a server hands them out [RFC 8415 §21.4, §21.6, §21.21, §21.22].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// T1: when the client starts renewing.
    pub t1: u32,
    /// T2: when the client starts rebinding.
    pub t2: u32,
    /// Preferred lifetime.
    pub preferred: u32,
    /// Valid lifetime.
    pub valid: u32,
}

impl Lifetimes {
    /// Lifetimes long enough that nothing renews during a test.
    pub const LONG: Self = Self {
        t1: 1500,
        t2: 2400,
        preferred: 3000,
        valid: 4000,
    };
    /// The short timers of the renewal test: T1 3 s, T2 5 s, preferred 8 s, valid 12 s.
    pub const SHORT: Self = Self {
        t1: 3,
        t2: 5,
        preferred: 8,
        valid: 12,
    };
}

/// The server side of one lab: one subnet with an address pool and a prefix-delegation pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerParams {
    /// Interface the server listens on (inside the server namespace).
    pub interface: String,
    /// Whether clients are directly attached to `interface` (false: they come through a relay
    /// whose link-address lies in `subnet_prefix`).
    pub direct: bool,
    /// Subnet id (> 0).
    pub subnet_id: u32,
    /// The link prefix, e.g. 2001:db8:1::/64.
    pub subnet_prefix: (Ipv6Addr, u8),
    /// Address pool, first and last address inclusive.
    pub pool: (Ipv6Addr, Ipv6Addr),
    /// Prefix-delegation pool and delegated length, e.g. (2001:db8:8000::, 40, 56).
    pub pd_pool: (Ipv6Addr, u8, u8),
    /// Lifetimes for addresses.
    pub lifetimes: Lifetimes,
    /// Lifetimes for delegated prefixes.
    pub pd_lifetimes: Lifetimes,
    /// DNS recursive name servers [RFC 3646].
    pub dns_servers: Vec<Ipv6Addr>,
    /// Domain search list [RFC 3646].
    pub domain_search: Vec<String>,
    /// Whether Rapid Commit is allowed [RFC 8415 §21.14].
    pub rapid_commit: bool,
    /// Worker threads for tandemd (Kea ignores it).
    pub workers: u32,
    /// A global address of the server on `interface` that must accept unicast (relays send
    /// there). Kea listens on it only when named (`"iface/addr"`); tandemd binds `[::]:547`.
    pub unicast: Option<Ipv6Addr>,
    /// tandemd's `[datapath]` (Kea ignores it).
    pub datapath: LabDatapath,
    /// tandemd's `[metrics] listen` (Kea ignores it); `None`: no metrics endpoint.
    pub metrics: Option<std::net::SocketAddr>,
}

/// tandemd's datapath in a lab run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabDatapath {
    /// `mode = "socket"`: no eBPF (the lab's default, so tests do not depend on the object).
    Socket,
    /// `mode = "auto"` with this object path (which may not exist: the fallback test).
    Auto {
        /// The object path given to tandemd.
        object: std::path::PathBuf,
    },
    /// `mode = "xdp"` with this object, attached natively or generically (tandemd refuses to
    /// start when XDP does not attach).
    Xdp {
        /// The compiled object (`cargo xtask build-ebpf`).
        object: std::path::PathBuf,
        /// `true`: `xdp-attach = "generic"`, else `"native"`.
        generic: bool,
    },
}

impl ServerParams {
    /// The lab's standard subnet: 2001:db8:1::/64, pool ::1000–::ffff (61,440 addresses),
    /// PD pool 2001:db8:8000::/40 delegating /56 (65,536 prefixes), long lifetimes.
    pub fn standard(interface: &str, direct: bool) -> Self {
        Self {
            interface: interface.to_owned(),
            direct,
            subnet_id: 1,
            subnet_prefix: (addr("2001:db8:1::"), 64),
            pool: (addr("2001:db8:1::1000"), addr("2001:db8:1::ffff")),
            pd_pool: (addr("2001:db8:8000::"), 40, 56),
            lifetimes: Lifetimes::LONG,
            pd_lifetimes: Lifetimes::LONG,
            dns_servers: vec![addr("2001:db8::53"), addr("2001:db8::5353")],
            domain_search: vec!["example.net".to_owned(), "isp.example".to_owned()],
            rapid_commit: false,
            workers: 2,
            unicast: None,
            datapath: LabDatapath::Socket,
            metrics: None,
        }
    }

    /// Whether `a` lies in the address pool.
    pub fn in_pool(&self, a: Ipv6Addr) -> bool {
        self.pool.0 <= a && a <= self.pool.1
    }

    /// Whether `p/len` is a delegated prefix out of the PD pool.
    pub fn in_pd_pool(&self, p: Ipv6Addr, len: u8) -> bool {
        let (base, plen, dlen) = self.pd_pool;
        len == dlen && prefix_contains(base, plen, p)
    }
}

/// Whether `a` lies in `base/len`.
pub fn prefix_contains(base: Ipv6Addr, len: u8, a: Ipv6Addr) -> bool {
    let len = u32::from(len.min(128));
    if len == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - len);
    (u128::from(base) & mask) == (u128::from(a) & mask)
}

/// Parses a literal address; only for the constants above.
fn addr(s: &str) -> Ipv6Addr {
    // The literals in this file are valid addresses; a typo fails every lab test at once.
    s.parse().unwrap_or(Ipv6Addr::UNSPECIFIED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_pools_fit_ten_thousand_clients() {
        let p = ServerParams::standard("srv0", true);
        let n = u128::from(p.pool.1) - u128::from(p.pool.0) + 1;
        assert!(n >= 10_000, "{n}");
        assert!(p.in_pool("2001:db8:1::1000".parse().unwrap()));
        assert!(!p.in_pool("2001:db8:1::1".parse().unwrap()));
        assert!(p.in_pd_pool("2001:db8:80ff:ff00::".parse().unwrap(), 56));
        assert!(!p.in_pd_pool("2001:db8:8100::".parse().unwrap(), 56));
        assert!(!p.in_pd_pool("2001:db8:8000::".parse().unwrap(), 48));
    }
}
