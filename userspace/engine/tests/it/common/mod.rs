//! Shared fixtures: the test policy, a harness around one engine and one shard, message
//! builders and a reply parser.

#![allow(
    unreachable_pub,
    reason = "shared test fixtures; this test binary is their only user"
)]

pub mod msg;
pub mod reply;

use std::net::{Ipv6Addr, SocketAddrV6};

use tandem_engine::policy::{
    AddressRange, ClientOptions, Lifetimes, Policy, PrefixPool, Reservation, Subnet, SubnetId,
};
use tandem_engine::{DropReason, Engine, Reply, RxMeta, REPLY_LEN_MAX};
use tandem_lease::{LeaseChange, Shard};
pub use tandem_wire::testdata;

pub use msg::*;
pub use reply::{parse, Parsed};

/// ifindex of "eth0" (subnet 1) and "eth1" (subnet 3); 9 is bound to nothing.
pub const ETH0: u32 = 2;
pub const ETH1: u32 = 3;
pub const UNBOUND_IF: u32 = 9;
pub const NOW: u64 = 1_800_000_000;

/// Our server DUID: the one the golden Request/Renew/Release/Decline vectors carry.
pub const SERVER_DUID: &[u8] = testdata::SERVER_DUID;
pub const FOREIGN_DUID: &[u8] = &[0, 2, 0, 0, 0x09, 0xbf, 1, 2, 3, 4];
/// A client with reservations on subnet 1.
pub const RESERVED_DUID: &[u8] = &[0, 3, 0, 1, 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc];

pub const SUBNET1_NA: (u32, u32) = (3600, 7200);
pub const SUBNET1_PD: (u32, u32) = (1800, 3600);

pub fn subnet1() -> Subnet {
    Subnet {
        id: SubnetId(1),
        prefix: a("2001:db8:1::"),
        prefix_len: 64,
        interface: Some("eth0".into()),
        ranges: vec![AddressRange {
            first: a("2001:db8:1::100"),
            last: a("2001:db8:1::1ff"),
        }],
        pd_pools: vec![
            PrefixPool {
                prefix: a("2001:db8:ab00::"),
                prefix_len: 40,
                delegated_len: 56,
            },
            PrefixPool {
                prefix: a("2001:db8:cd00::"),
                prefix_len: 48,
                delegated_len: 60,
            },
        ],
        reservations: vec![Reservation {
            duid: RESERVED_DUID.to_vec(),
            addresses: vec![a("2001:db8:1::150")],
            prefixes: vec![(a("2001:db8:ff00::"), 56)],
            hostname: Some("reserved-host".into()),
        }],
        lifetimes: Lifetimes {
            preferred_s: SUBNET1_NA.0,
            valid_s: SUBNET1_NA.1,
            t1_s: None,
            t2_s: None,
        },
        pd_lifetimes: Some(Lifetimes {
            preferred_s: SUBNET1_PD.0,
            valid_s: SUBNET1_PD.1,
            t1_s: None,
            t2_s: None,
        }),
        rapid_commit: false,
        options: ClientOptions::default(),
    }
}

/// Relay-only subnet with Rapid Commit and its own DNS server.
pub fn subnet2() -> Subnet {
    Subnet {
        id: SubnetId(2),
        prefix: a("2001:db8:2::"),
        prefix_len: 64,
        interface: None,
        ranges: vec![AddressRange {
            first: a("2001:db8:2::1000"),
            last: a("2001:db8:2::10ff"),
        }],
        pd_pools: vec![],
        reservations: vec![],
        lifetimes: Lifetimes {
            preferred_s: 600,
            valid_s: 1200,
            t1_s: Some(200),
            t2_s: Some(400),
        },
        pd_lifetimes: None,
        rapid_commit: true,
        options: ClientOptions {
            dns_servers: vec![a("2001:db8:2::53")],
            ..ClientOptions::default()
        },
    }
}

/// A tiny subnet on "eth1": two addresses, no prefixes.
pub fn subnet3() -> Subnet {
    Subnet {
        id: SubnetId(3),
        prefix: a("2001:db8:3::"),
        prefix_len: 64,
        interface: Some("eth1".into()),
        ranges: vec![AddressRange {
            first: a("2001:db8:3::10"),
            last: a("2001:db8:3::11"),
        }],
        pd_pools: vec![],
        reservations: vec![],
        lifetimes: Lifetimes {
            preferred_s: 100,
            valid_s: 200,
            t1_s: None,
            t2_s: None,
        },
        pd_lifetimes: None,
        rapid_commit: false,
        options: ClientOptions::default(),
    }
}

pub fn policy() -> Policy {
    Policy {
        server_duid: SERVER_DUID.to_vec(),
        subnets: vec![subnet1(), subnet2(), subnet3()],
        decline_hold_s: 900,
        options: ClientOptions {
            dns_servers: vec![a("2001:db8::53")],
            domain_search: vec!["example.net".into(), "corp.example.net".into()],
            preference: Some(10),
            sol_max_rt_s: Some(3600),
            information_refresh_time_s: Some(86400),
        },
    }
}

/// One engine, one shard (shard 0 of 1), a clock.
pub struct Harness {
    pub engine: Engine,
    pub shard: Shard,
    pub now: u64,
    pub out: Vec<u8>,
}

pub fn client_ll() -> SocketAddrV6 {
    SocketAddrV6::new(a("fe80::5054:ff:fe00:1"), 546, 0, 0)
}

pub fn relay_src() -> SocketAddrV6 {
    SocketAddrV6::new(a("2001:db8:ffff::1"), 547, 0, 0)
}

pub const ALL_DHCP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
pub const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, 3);
pub const SERVER_UNICAST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);

impl Harness {
    pub fn new() -> Self {
        Self::with_policy(policy())
    }

    pub fn with_policy(p: Policy) -> Self {
        Self::sharded(p, 0, 1)
    }

    pub fn sharded(p: Policy, shard: u32, shards: u32) -> Self {
        let mut engine = Engine::new(p).expect("test policy is valid");
        engine.bind_interface("eth0", ETH0);
        engine.bind_interface("eth1", ETH1);
        let shard = Shard::new(shard, shards, engine.pool_defs(), engine.reserved());
        Self {
            engine,
            shard,
            now: NOW,
            out: vec![0; REPLY_LEN_MAX],
        }
    }

    pub fn rx(&mut self, rx: RxMeta, packet: &[u8]) -> Result<(Reply, Parsed), DropReason> {
        let reply = self
            .engine
            .handle(self.now, &rx, packet, &mut self.shard, &mut self.out)?;
        let parsed = parse(&self.out[..reply.len]);
        Ok((reply, parsed))
    }

    /// From a directly attached client on eth0, to ff02::1:2.
    pub fn direct(&mut self, packet: &[u8]) -> Result<Parsed, DropReason> {
        self.on(ETH0, packet)
    }

    pub fn on(&mut self, ifindex: u32, packet: &[u8]) -> Result<Parsed, DropReason> {
        let rx = RxMeta {
            ifindex,
            src: client_ll(),
            dst: ALL_DHCP,
        };
        self.rx(rx, packet).map(|(_, p)| p)
    }

    /// From a directly attached client on eth0, to the server's unicast address.
    pub fn unicast(&mut self, packet: &[u8]) -> Result<Parsed, DropReason> {
        let rx = RxMeta {
            ifindex: ETH0,
            src: client_ll(),
            dst: SERVER_UNICAST,
        };
        self.rx(rx, packet).map(|(_, p)| p)
    }

    /// From a relay, unicast to the server, arriving on an interface bound to nothing.
    pub fn relayed(&mut self, packet: &[u8]) -> Result<(Reply, Parsed), DropReason> {
        let rx = RxMeta {
            ifindex: UNBOUND_IF,
            src: relay_src(),
            dst: a("2001:db8:ffff::547"),
        };
        self.rx(rx, packet)
    }

    /// Wraps `inner` in one Relay-forw whose link-address is `link`.
    pub fn via_relay(&mut self, link: Ipv6Addr, inner: &[u8]) -> Result<Parsed, DropReason> {
        let pkt = relay_forw(
            0,
            link,
            a("fe80::5054:ff:fe00:1"),
            Some(b"port7"),
            &[],
            inner,
        );
        self.relayed(&pkt).map(|(_, p)| p)
    }

    pub fn changes(&mut self) -> Vec<LeaseChange> {
        self.shard.drain_changes().collect()
    }

    /// Asserts that nothing changed in the shard (and that it is empty).
    pub fn assert_untouched(&mut self) {
        assert!(
            self.changes().is_empty(),
            "a dropped/offer-only packet changed the shard"
        );
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

/// Asserts the identifiers every Advertise/Reply carries [RFC 8415 §18.3].
pub fn assert_ids(p: &Parsed, client: &[u8]) {
    assert_eq!(
        p.server_id.as_deref(),
        Some(SERVER_DUID),
        "SERVERID is ours"
    );
    assert_eq!(p.client_id.as_deref(), Some(client), "CLIENTID echoed");
}

pub fn in_range(x: Ipv6Addr, first: &str, last: &str) -> bool {
    a(first) <= x && x <= a(last)
}

pub fn upserts(changes: &[LeaseChange]) -> Vec<tandem_lease::Lease> {
    changes
        .iter()
        .filter_map(|c| match c {
            LeaseChange::Upsert(l) => Some(l.clone()),
            _ => None,
        })
        .collect()
}
