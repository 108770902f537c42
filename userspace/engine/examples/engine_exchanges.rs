//! The engine alone, for instruction counts (issue 4: "an engine-only instruction-count
//! benchmark (callgrind) so regressions show on a noisy machine").
//!
//! `engine_exchanges N` runs N clients through a 4-message exchange (Solicit → Advertise,
//! Request → Reply, IA_NA) against one engine and one shard, and encodes every lease change as
//! a journal record into a reused buffer, as a worker does; no sockets, no disk. Under
//! `valgrind --tool=callgrind`, the difference between two N gives instructions per exchange
//! without the set-up (`cargo xtask bench-engine`). Prints the exchanges completed.
//!
//! `engine_exchanges N memory` also prints the resident memory the shard grew by, per lease
//! (issue 4's "at most 256 bytes of memory per active lease with 1 million leases");
//! `engine_exchanges N journal FILE` also writes every journal record to FILE (a store for
//! tandemd's restart time: `FILE` = `<storage>/shards/shard-0.0.journal`, layout 1).

use std::net::{Ipv6Addr, SocketAddrV6};

use tandem_engine::policy::{AddressRange, ClientOptions, Lifetimes, Policy, Subnet, SubnetId};
use tandem_engine::{Engine, RxMeta, REPLY_LEN_MAX};
use tandem_lease::{journal, Shard};
use tandem_wire::{MessageType, OptionCode, Writer, Xid};

const IFINDEX: u32 = 2;
const SERVER_DUID: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0, 1];

fn policy() -> Policy {
    let a = |s: &str| s.parse::<Ipv6Addr>().expect("literal");
    Policy {
        server_duid: SERVER_DUID.to_vec(),
        subnets: vec![Subnet {
            id: SubnetId(1),
            prefix: a("2001:db8:1::"),
            prefix_len: 64,
            interface: Some("lan0".into()),
            ranges: vec![AddressRange {
                first: a("2001:db8:1::1:0"),
                last: a("2001:db8:1::ffff:ffff"),
            }],
            pd_pools: vec![],
            reservations: vec![],
            lifetimes: Lifetimes {
                preferred_s: 3600,
                valid_s: 7200,
                t1_s: None,
                t2_s: None,
            },
            pd_lifetimes: None,
            rapid_commit: false,
            options: ClientOptions::default(),
        }],
        decline_hold_s: 600,
        options: ClientOptions::default(),
    }
}

/// A Solicit or Request of client `n` with an empty IA_NA.
fn message(buf: &mut [u8], t: MessageType, n: u32) -> usize {
    let mut duid = [0u8; 14];
    duid[..4].copy_from_slice(&[0, 1, 0, 1]);
    duid[10..].copy_from_slice(&n.to_be_bytes());
    let mut w = Writer::new(buf);
    let xid = Xid::from_u32(n & 0x00ff_ffff);
    w.message_header(t, xid).expect("fits");
    w.option(OptionCode::ClientId, &duid).expect("fits");
    if t == MessageType::Request {
        w.option(OptionCode::ServerId, &SERVER_DUID).expect("fits");
    }
    w.option_u16(OptionCode::ElapsedTime, 0).expect("fits");
    let ia = w.begin_option(OptionCode::IaNa).expect("fits");
    w.bytes(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0])
        .expect("fits");
    w.end_option(ia).expect("fits");
    w.finish()
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let memory = std::env::args().nth(2).is_some_and(|a| a == "memory");
    let mut journal_file = match (std::env::args().nth(2).as_deref(), std::env::args().nth(3)) {
        (Some("journal"), Some(path)) => Some(std::fs::File::create(path).expect("journal file")),
        _ => None,
    };
    let mut engine = Engine::new(policy()).expect("valid policy");
    engine.bind_interface("lan0", IFINDEX);
    let mut shard = Shard::new(0, 1, engine.pool_defs(), engine.reserved());
    let rx = RxMeta {
        ifindex: IFINDEX,
        src: SocketAddrV6::new("fe80::1".parse().expect("literal"), 546, 0, IFINDEX),
        dst: "ff02::1:2".parse().expect("literal"),
    };
    let (mut packet, mut out) = (vec![0u8; 512], vec![0u8; REPLY_LEN_MAX]);
    let mut journal_buf = Vec::with_capacity(64 << 10);
    let now = 1_800_000_000;
    let mut completed = 0u32;
    let rss_before = rss_bytes();
    for i in 0..n {
        for t in [MessageType::Solicit, MessageType::Request] {
            let len = message(&mut packet, t, i);
            if engine
                .handle(now, &rx, &packet[..len], &mut shard, &mut out)
                .is_ok()
                && t == MessageType::Request
            {
                completed += 1;
            }
            journal_buf.clear();
            for change in shard.drain_changes() {
                journal::encode(&change, &mut journal_buf);
            }
            if let Some(f) = journal_file.as_mut() {
                std::io::Write::write_all(f, &journal_buf).expect("journal write");
            }
        }
    }
    if memory {
        let grown = rss_bytes().saturating_sub(rss_before);
        println!(
            "{completed} leases, {} bytes resident per lease ({} MiB grown)",
            grown / u64::from(completed.max(1)),
            grown >> 20
        );
    } else {
        println!("{completed}");
    }
}

/// VmRSS of this process, from /proc/self/status (0 when unreadable).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}
