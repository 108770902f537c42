//! The XDP program: counts every decision, rate-limits per source, drops malformed DHCPv6 to the
//! server port, and redirects a client's packets to the CPU of the worker that owns its shard.

use aya_ebpf::{
    bindings::xdp_action,
    helpers::bpf_ktime_get_ns,
    macros::{map, xdp},
    maps::{Array, CpuMap, LruHashMap, PerCpuArray},
    programs::XdpContext,
};
use aya_log_ebpf::warn;
use tandem_ebpf_common::{
    maps::{
        Counter, RateState, CONFIG_FLAGS, CONFIG_PORT, CONFIG_RATE_PER_S, CONFIG_SHARDS,
        FLAG_REDIRECT, MAX_CPUS, MAX_SHARDS, RATE_ENTRIES,
    },
    parse::{
        duid_shard, find_duid, first_token, parse_frame, take_token, Frame, Verdict,
        DHCPV6_SERVER_PORT,
    },
};

use crate::{config, packet::XdpPacket};

/// [`tandem_ebpf_common::maps::MAP_SHARD_CPU`]: a value of [`MAX_CPUS`] or more means "no CPU".
#[map(name = "TANDEM_SHARD_CPU")]
static TANDEM_SHARD_CPU: Array<u32> = Array::with_max_entries(MAX_SHARDS, 0);

/// [`tandem_ebpf_common::maps::MAP_CPUS`].
#[map(name = "TANDEM_CPUS")]
static TANDEM_CPUS: CpuMap = CpuMap::with_max_entries(MAX_CPUS, 0);

/// [`tandem_ebpf_common::maps::MAP_COUNTERS`].
#[map(name = "TANDEM_COUNTERS")]
static TANDEM_COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Counter::COUNT, 0);

/// [`tandem_ebpf_common::maps::MAP_RATE`].
#[map(name = "TANDEM_RATE")]
static TANDEM_RATE: LruHashMap<[u8; 16], RateState> = LruHashMap::with_max_entries(RATE_ENTRIES, 0);

#[xdp]
fn tandem_xdp(ctx: XdpContext) -> u32 {
    let (counter, action) = decide(&ctx);
    count(counter);
    action
}

/// The decision for one frame and the counter it bumps.
#[inline(always)]
fn decide(ctx: &XdpContext) -> (Counter, u32) {
    const PASS: u32 = xdp_action::XDP_PASS;
    let shards = config(CONFIG_SHARDS);
    if shards == 0 {
        // Not configured (maps.rs): pass everything without looking.
        return (Counter::PassOther, PASS);
    }
    let port = match config(CONFIG_PORT) {
        0 => DHCPV6_SERVER_PORT,
        p => p as u16,
    };
    let pkt = XdpPacket::new(ctx);
    let dgram = match parse_frame(&pkt, port) {
        Frame::Dhcpv6(d) => d,
        Frame::Unparsed => return (Counter::PassUnparsed, PASS),
        _ => return (Counter::PassOther, PASS),
    };
    let rate_per_s = config(CONFIG_RATE_PER_S);
    if rate_per_s > 0 && !within_budget(&dgram.src, rate_per_s) {
        return (Counter::DropRateLimited, xdp_action::XDP_DROP);
    }
    let (offset, len) = match find_duid(&pkt, dgram.payload_start, dgram.payload_end) {
        Verdict::Duid { offset, len } => (offset, len),
        Verdict::Malformed => return (Counter::DropMalformed, xdp_action::XDP_DROP),
        Verdict::NoDuid => return (Counter::PassNoDuid, PASS),
        _ => return (Counter::PassUnparsed, PASS),
    };
    if config(CONFIG_FLAGS) & FLAG_REDIRECT == 0 {
        return (Counter::PassNoCpu, PASS);
    }
    let Some(shard) = duid_shard(&pkt, offset, len, shards) else {
        return (Counter::PassUnparsed, PASS);
    };
    let cpu = match TANDEM_SHARD_CPU.get(shard) {
        Some(&cpu) if cpu < MAX_CPUS => cpu,
        _ => return (Counter::PassNoCpu, PASS),
    };
    match TANDEM_CPUS.redirect(cpu, 0) {
        Ok(action) => (Counter::Steered, action),
        Err(_) => {
            warn!(
                ctx,
                "tandem_xdp: redirect to cpu {} failed (shard {})", cpu, shard
            );
            (Counter::PassRedirectFailed, PASS)
        }
    }
}

/// Takes a token from `src`'s bucket (creating it when new); false when it is empty.
#[inline(always)]
fn within_budget(src: &[u8; 16], rate_per_s: u32) -> bool {
    // SAFETY: reads the monotonic clock; no memory is touched.
    let now_ns = unsafe { bpf_ktime_get_ns() };
    match TANDEM_RATE.get_ptr_mut(src) {
        // SAFETY: the map value stays valid for this program run; concurrent runs on other
        // CPUs may race on it, which only makes the budget approximate.
        Some(state) => take_token(unsafe { &mut *state }, now_ns, rate_per_s),
        None => {
            // A full LRU map evicts; an insert failure still lets the packet through.
            let _ = TANDEM_RATE.insert(src, first_token(now_ns, rate_per_s), 0);
            true
        }
    }
}

#[inline(always)]
fn count(counter: Counter) {
    if let Some(slot) = TANDEM_COUNTERS.get_ptr_mut(counter as u32) {
        // SAFETY: a per-CPU slot; only this CPU's program run writes it now.
        unsafe { *slot += 1 };
    }
}
