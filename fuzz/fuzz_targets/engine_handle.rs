//! The engine's entry point on arbitrary datagrams: no panic, a dropped packet leaves the shard
//! unchanged, and every reply is a well-formed DHCPv6 message. The first input byte picks how
//! the datagram arrived (direct multicast, direct unicast, from a relay) and advances the clock,
//! so one run can bind, renew and expire leases across many inputs.
#![no_main]

use std::cell::RefCell;
use std::net::{Ipv6Addr, SocketAddrV6};

use libfuzzer_sys::fuzz_target;
use tandem_engine::policy::{
    AddressRange, ClientOptions, Lifetimes, Policy, PrefixPool, Subnet, SubnetId,
};
use tandem_engine::{Engine, RxMeta, REPLY_LEN_MAX};
use tandem_lease::Shard;

const SERVER_DUID: &[u8] = &[0, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d, 2, 0, 0, 0, 0, 1];
const IFINDEX: u32 = 2;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn engine() -> Engine {
    let lifetimes = Lifetimes {
        preferred_s: 100,
        valid_s: 200,
        t1_s: None,
        t2_s: None,
    };
    let subnet =
        |id, prefix: &str, interface: Option<&str>, first: &str, last: &str, pd: &str| Subnet {
            id: SubnetId(id),
            prefix: a(prefix),
            prefix_len: 64,
            interface: interface.map(str::to_owned),
            ranges: vec![AddressRange {
                first: a(first),
                last: a(last),
            }],
            pd_pools: vec![PrefixPool {
                prefix: a(pd),
                prefix_len: 48,
                delegated_len: 56,
            }],
            reservations: vec![],
            lifetimes,
            pd_lifetimes: None,
            rapid_commit: id == 1,
            options: ClientOptions::default(),
        };
    let policy = Policy {
        server_duid: SERVER_DUID.to_vec(),
        subnets: vec![
            // Small pools so exhaustion paths are reached.
            subnet(
                1,
                "2001:db8:1::",
                Some("eth0"),
                "2001:db8:1::10",
                "2001:db8:1::1f",
                "2001:db8:8000::",
            ),
            subnet(
                2,
                "2001:db8:2::",
                None,
                "2001:db8:2::10",
                "2001:db8:2::13",
                "2001:db8:9000::",
            ),
        ],
        decline_hold_s: 30,
        options: ClientOptions {
            dns_servers: vec![a("2001:db8::53")],
            domain_search: vec!["example.net".into()],
            preference: Some(7),
            sol_max_rt_s: Some(3600),
            information_refresh_time_s: Some(86400),
        },
    };
    let mut engine = Engine::new(policy).unwrap();
    engine.bind_interface("eth0", IFINDEX);
    engine
}

struct State {
    engine: Engine,
    shard: Shard,
    now: u64,
    out: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new({
        let engine = engine();
        let shard = Shard::new(0, 1, engine.pool_defs(), engine.reserved());
        State { engine, shard, now: 800_000_000, out: vec![0; REPLY_LEN_MAX] }
    });
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, packet)) = data.split_first() else {
        return;
    };
    STATE.with(|state| {
        let state = &mut *state.borrow_mut();
        state.now += u64::from(mode >> 2);
        let rx = match mode & 3 {
            0 => RxMeta {
                ifindex: IFINDEX,
                src: SocketAddrV6::new(a("fe80::1"), 546, 0, IFINDEX),
                dst: a("ff02::1:2"),
            },
            1 => RxMeta {
                ifindex: IFINDEX,
                src: SocketAddrV6::new(a("fe80::1"), 546, 0, IFINDEX),
                dst: a("2001:db8:1::1"),
            },
            _ => RxMeta {
                ifindex: IFINDEX,
                src: SocketAddrV6::new(a("2001:db8:2::fffe"), 547, 0, 0),
                dst: a("2001:db8:1::1"),
            },
        };
        let before = state.shard.len();
        let result = state
            .engine
            .handle(state.now, &rx, packet, &mut state.shard, &mut state.out);
        let changes = state.shard.drain_changes().count();
        match result {
            Ok(reply) => {
                let bytes = &state.out[..reply.len];
                assert!(
                    tandem_wire::PacketRepr::parse(bytes).is_ok(),
                    "the engine emitted a reply that does not parse"
                );
            }
            Err(_) => {
                // A dropped packet never changes a lease (allocation may reclaim expired ones,
                // but a drop is decided before any allocation).
                assert_eq!(changes, 0, "a dropped packet changed the shard");
                assert_eq!(state.shard.len(), before);
            }
        }
    });
});
