//! The contract between tandem's XDP program (`ebpf/xdp`) and its loader in tandemd: map
//! names, sizes and the meaning of every slot. Both sides use these constants; a change here is
//! a change of the interface.

/// Name of the XDP program in the object (`#[xdp] fn tandem_xdp`): counts, rate-limits, drops
/// malformed DHCPv6 to the server port, and redirects steered packets to their shard's CPU.
pub const PROGRAM: &str = "tandem_xdp";
/// Name of the socket-filter program (`#[socket_filter] fn tandem_sock_filter`), attached to
/// every worker socket (SO_ATTACH_BPF): a *multicast* datagram whose client DUID hashes to
/// another shard than the socket's ([`MAP_SOCK_SHARD`] by socket cookie) is dropped (returns
/// 0), so a Solicit that Linux copies to every socket joined to ff02::1:2 is queued only at its
/// owner; one without a parseable DUID is kept by shard 0's socket only. Unicast is always kept
/// (the reuseport program chose its socket; should it fall back to the kernel's choice, dropping
/// would lose the packet). A socket whose cookie is not in the map keeps everything.
pub const PROGRAM_SOCK_FILTER: &str = "tandem_sock_filter";
/// Name of the reuseport program (`#[sk_reuseport] fn tandem_reuseport`), attached to the
/// worker sockets' reuseport group: a unicast (relayed) datagram goes to the socket of its
/// shard ([`MAP_SOCKETS`]); without a DUID the kernel's own choice stands.
pub const PROGRAM_REUSEPORT: &str = "tandem_reuseport";

/// `Array<u32>` of [`CONFIG_LEN`] entries, written by the loader before attaching.
pub const MAP_CONFIG: &str = "TANDEM_CONFIG";
/// `Array<u32>` of [`MAX_SHARDS`] entries: shard → CPU whose worker owns it; a value of
/// [`MAX_CPUS`] or more means "no CPU" (the packet is passed, counted `pass_no_cpu`).
pub const MAP_SHARD_CPU: &str = "TANDEM_SHARD_CPU";
/// `CpuMap` of [`MAX_CPUS`] entries: the CPUs packets are redirected to.
pub const MAP_CPUS: &str = "TANDEM_CPUS";
/// `PerCpuArray<u64>` of [`Counter::COUNT`] entries: one counter per [`Counter`].
pub const MAP_COUNTERS: &str = "TANDEM_COUNTERS";
/// `LruHashMap<[u8; 16], RateState>` of [`RATE_ENTRIES`] entries: per-source token buckets.
pub const MAP_RATE: &str = "TANDEM_RATE";
/// `HashMap<u64, u32>` of [`MAX_SHARDS`] entries: worker socket cookie (SO_COOKIE) → its shard.
pub const MAP_SOCK_SHARD: &str = "TANDEM_SOCK_SHARD";
/// `ReusePortSockArray` of [`MAX_SHARDS`] entries: shard → its worker's socket.
pub const MAP_SOCKETS: &str = "TANDEM_SOCKETS";

/// Most shards (workers) the XDP program steers to.
pub const MAX_SHARDS: u32 = 256;
/// Most CPUs in [`MAP_CPUS`].
pub const MAX_CPUS: u32 = 256;
/// Sources tracked by the rate limiter (least recently seen are forgotten).
pub const RATE_ENTRIES: u32 = 65_536;

/// [`MAP_CONFIG`] slot: the shard count (0 = not configured: pass everything).
pub const CONFIG_SHARDS: u32 = 0;
/// [`MAP_CONFIG`] slot: DHCPv6 packets per second one source may send before being dropped
/// (0 = no limit). The bucket holds one second's worth.
pub const CONFIG_RATE_PER_S: u32 = 1;
/// [`MAP_CONFIG`] slot: flags ([`FLAG_REDIRECT`]).
pub const CONFIG_FLAGS: u32 = 2;
/// [`MAP_CONFIG`] slot: the UDP port the server listens on (547 unless configured).
pub const CONFIG_PORT: u32 = 3;
/// Entries of [`MAP_CONFIG`].
pub const CONFIG_LEN: u32 = 4;

/// [`CONFIG_FLAGS`] bit: redirect steered packets to their shard's CPU through [`MAP_CPUS`];
/// without it the program only counts, rate-limits and drops junk (XDP_PASS for the rest).
pub const FLAG_REDIRECT: u32 = 1;

/// One source's token bucket in [`MAP_RATE`] (8-byte aligned, no padding).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateState {
    /// When the bucket was last refilled (bpf_ktime_get_ns).
    pub last_ns: u64,
    /// Tokens left.
    pub tokens: u32,
    /// Zero.
    pub pad: u32,
}

/// Every decision the XDP program counts, as the index into [`MAP_COUNTERS`].
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Counter {
    /// Not IPv6 / UDP to the server port: passed untouched.
    PassOther = 0,
    /// A DHCPv6 packet that could not be parsed far enough to find a DUID within the bounds
    /// the program walks (deep extension headers, fragments, long relay chains, ...): passed,
    /// the software path decides.
    PassUnparsed = 1,
    /// A DHCPv6 message without a client DUID (Relay-reply, Information-request without one,
    /// ...): passed.
    PassNoDuid = 2,
    /// Steered: redirected to the CPU of its shard.
    Steered = 3,
    /// Its shard's CPU was not in the maps (or redirect is off): passed.
    PassNoCpu = 4,
    /// Malformed DHCPv6 to the server port (truncated header or options): dropped.
    DropMalformed = 5,
    /// Over the per-source rate budget: dropped.
    DropRateLimited = 6,
    /// The redirect call failed: passed.
    PassRedirectFailed = 7,
}

impl Counter {
    /// Number of counters (entries of [`MAP_COUNTERS`]).
    pub const COUNT: u32 = 8;

    /// Every counter, in index order.
    pub const ALL: [Self; Self::COUNT as usize] = [
        Self::PassOther,
        Self::PassUnparsed,
        Self::PassNoDuid,
        Self::Steered,
        Self::PassNoCpu,
        Self::DropMalformed,
        Self::DropRateLimited,
        Self::PassRedirectFailed,
    ];

    /// The stable name used in stats and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::PassOther => "pass_other",
            Self::PassUnparsed => "pass_unparsed",
            Self::PassNoDuid => "pass_no_duid",
            Self::Steered => "steered",
            Self::PassNoCpu => "pass_no_cpu",
            Self::DropMalformed => "drop_malformed",
            Self::DropRateLimited => "drop_rate_limited",
            Self::PassRedirectFailed => "pass_redirect_failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_indexed_in_order_with_unique_names() {
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as u32, i as u32);
            for d in &Counter::ALL[..i] {
                assert_ne!(c.name(), d.name());
            }
        }
        assert_eq!(size_of::<RateState>(), 16);
    }
}
