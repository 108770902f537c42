//! tandem's eBPF programs (issue 4): XDP steering, the worker socket filter and the reuseport
//! selector. The contract with the loader (names, maps, slots, counters) is
//! `tandem_ebpf_common::maps`; the parsing is `tandem_ebpf_common::parse`, tested on the host.
//!
//! Every program defaults to letting the packet through: it drops only DHCPv6 that is malformed
//! or over its source's rate budget (XDP), or a multicast copy that belongs to another worker's
//! socket (socket filter). Anything it cannot parse within its bounds goes up the normal path.
#![no_std]
#![no_main]

mod packet;
mod xdp;

use aya_ebpf::{
    bindings::{bpf_hdr_start_off::BPF_HDR_START_NET, sk_action},
    helpers::generated::{bpf_get_socket_cookie, bpf_skb_load_bytes_relative},
    macros::{map, sk_reuseport, socket_filter},
    maps::{Array, HashMap, ReusePortSockArray},
    programs::{SkBuffContext, SkReuseportContext},
    EbpfContext,
};
use tandem_ebpf_common::{
    maps::{CONFIG_LEN, CONFIG_SHARDS, MAX_SHARDS},
    parse::{duid_shard, find_duid, udp_payload, Packet, Verdict},
};

use crate::packet::SkbPacket;

/// [`tandem_ebpf_common::maps::MAP_CONFIG`].
#[map(name = "TANDEM_CONFIG")]
static TANDEM_CONFIG: Array<u32> = Array::with_max_entries(CONFIG_LEN, 0);

/// [`tandem_ebpf_common::maps::MAP_SOCK_SHARD`].
#[map(name = "TANDEM_SOCK_SHARD")]
static TANDEM_SOCK_SHARD: HashMap<u64, u32> = HashMap::with_max_entries(MAX_SHARDS, 0);

/// [`tandem_ebpf_common::maps::MAP_SOCKETS`].
#[map(name = "TANDEM_SOCKETS")]
static TANDEM_SOCKETS: ReusePortSockArray = ReusePortSockArray::with_max_entries(MAX_SHARDS, 0);

/// A [`TANDEM_CONFIG`] slot (0 when unset).
#[inline(always)]
fn config(slot: u32) -> u32 {
    TANDEM_CONFIG.get(slot).copied().unwrap_or(0)
}

/// The shard that owns the datagram in `pkt` (UDP header at offset 0), `None` when it has no
/// DUID the walk can find.
#[inline(always)]
fn datagram_shard<P: Packet>(pkt: &P, shards: u32) -> Option<u32> {
    let (start, end) = udp_payload(pkt)?;
    match find_duid(pkt, start, end) {
        Verdict::Duid { offset, len } => duid_shard(pkt, offset, len, shards),
        _ => None,
    }
}

/// Socket filter on every worker socket (SO_ATTACH_BPF). Keeps a multicast datagram (a Solicit
/// to ff02::1:2, which Linux copies to every joined socket) only at the socket of the shard that
/// owns its DUID; a multicast datagram without a DUID only at shard 0's socket. Unicast is always
/// kept: the reuseport program already chose the socket, and a miss there must not become a
/// loss here. A socket missing from the map keeps everything. Returns the bytes to keep.
#[socket_filter]
fn tandem_sock_filter(ctx: SkBuffContext) -> i64 {
    let keep = ctx.len() as i64;
    let shards = config(CONFIG_SHARDS);
    if shards == 0 || !to_multicast(&ctx) {
        return keep;
    }
    // SAFETY: the helper reads the socket the kernel attached to this skb for the filter run.
    let cookie = unsafe { bpf_get_socket_cookie(ctx.as_ptr()) };
    // SAFETY: a plain lookup; the value is copied out at once.
    let Some(&mine) = (unsafe { TANDEM_SOCK_SHARD.get(cookie) }) else {
        return keep;
    };
    let owner = datagram_shard(&SkbPacket::of_filter(&ctx), shards).unwrap_or(0);
    if owner == mine {
        keep
    } else {
        0
    }
}

/// True when the IPv6 destination (offset 24 of the network header) is multicast (ff00::/8).
/// False when it cannot be read: then the datagram is treated as unicast and kept.
#[inline(always)]
fn to_multicast(ctx: &SkBuffContext) -> bool {
    let mut first = [0u8; 1];
    // SAFETY: the helper writes one byte into `first` and checks the range itself.
    let rc = unsafe {
        bpf_skb_load_bytes_relative(
            ctx.as_ptr(),
            24,
            first.as_mut_ptr().cast(),
            1,
            BPF_HDR_START_NET,
        )
    };
    rc == 0 && first[0] == 0xff
}

/// `sk_reuseport` program on the worker sockets' group: selects the socket of the datagram's
/// shard from [`TANDEM_SOCKETS`]. Without a DUID, or when the selection fails, it selects
/// nothing and returns SK_PASS, so the kernel's own choice (the 4-tuple hash) stands.
#[sk_reuseport]
fn tandem_reuseport(ctx: SkReuseportContext) -> u32 {
    let shards = config(CONFIG_SHARDS);
    if shards == 0 {
        return sk_action::SK_PASS;
    }
    if let Some(shard) = datagram_shard(&SkbPacket::of_reuseport(&ctx), shards) {
        // A failed selection leaves the kernel's choice; nothing else to do about it here.
        let _ = TANDEM_SOCKETS.select_reuseport(&ctx, shard);
    }
    sk_action::SK_PASS
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: the programs are built with panic=abort and contain no reachable panic; the
    // verifier rejects an object whose code could get here (no loops without bounds).
    unsafe { core::hint::unreachable_unchecked() }
}

#[link_section = "license"]
#[no_mangle]
static LICENSE: [u8; 4] = *b"GPL\0";
