//! Ready-made labs: a server and a client namespace, directly joined or through a relay; and
//! the failover-pair labs of [`crate::pair`], re-exported here.

use std::net::Ipv6Addr;

use anyhow::Result;

use crate::link::{add_address, Link};
use crate::netns::Netns;
use crate::params::ServerParams;

pub use crate::pair::{
    Pair, Partners, RelayedPair, BRIDGE_IF, FAILOVER_PORT, PARTNER_IF, PRIMARY_FO_ADDR,
    PRIMARY_NAME, RELAY_UP2_IF, SECONDARY_FO_ADDR, SECONDARY_NAME,
};
pub use crate::trio::{Trio, TrioCerts, TrioRelationship, TrioServer, REL_A, REL_B};

/// Server-side interface name (in the server namespace).
pub const SERVER_IF: &str = "srv0";
/// Client-side interface name (in the client namespace).
pub const CLIENT_IF: &str = "cli0";
/// Relay interface facing the server (in the relay namespace).
pub const RELAY_UP_IF: &str = "rup0";
/// Relay interface facing the clients (in the relay namespace).
pub const RELAY_DOWN_IF: &str = "rdn0";

/// Server namespace and client namespace joined by one veth pair.
///
/// Addresses: server `2001:db8:1::1/64` on [`SERVER_IF`] (inside the standard subnet); the
/// client has only its link-local address.
#[derive(Debug)]
pub struct Direct {
    /// The client namespace (dropped first: its processes die before the server's).
    pub client: Netns,
    /// The server namespace.
    pub server: Netns,
    /// The veth pair (a = server end, b = client end).
    pub link: Link,
    /// The server's global address.
    pub server_addr: Ipv6Addr,
}

impl Direct {
    /// Builds the lab.
    pub fn new() -> Result<Self> {
        let server = Netns::new()?;
        let client = Netns::new()?;
        let link = Link::veth(&server, SERVER_IF, &client, CLIENT_IF)?;
        let server_addr: Ipv6Addr = "2001:db8:1::1".parse()?;
        add_address(&server, SERVER_IF, server_addr, 64)?;
        Ok(Self {
            client,
            server,
            link,
            server_addr,
        })
    }

    /// The standard server parameters for this lab: clients directly on [`SERVER_IF`], unicast
    /// accepted on the server's global address.
    pub fn server_params(&self) -> ServerParams {
        let mut p = ServerParams::standard(SERVER_IF, true);
        p.unicast = Some(self.server_addr);
        p
    }
}

/// Server namespace — relay namespace — client namespace.
///
/// Server link 2001:db8:ffff::/64 (server ::1 on [`SERVER_IF`], relay ::2 on [`RELAY_UP_IF`]);
/// client link: the relay has 2001:db8:1::fffe/64 on [`RELAY_DOWN_IF`], which dhcrelay uses as
/// the link-address, so the server selects the standard subnet 2001:db8:1::/64.
#[derive(Debug)]
pub struct Relayed {
    /// The client namespace.
    pub client: Netns,
    /// The relay namespace.
    pub relay: Netns,
    /// The server namespace.
    pub server: Netns,
    /// server (a) — relay (b).
    pub upstream: Link,
    /// relay (a) — client (b).
    pub downstream: Link,
    /// The server's address on the server link.
    pub server_addr: Ipv6Addr,
    /// The relay's address on the server link.
    pub relay_up_addr: Ipv6Addr,
    /// The relay's address on the client link (the relay link-address).
    pub relay_down_addr: Ipv6Addr,
}

impl Relayed {
    /// Builds the lab (no relay process yet: see [`crate::relay::Relay`]).
    pub fn new() -> Result<Self> {
        let server = Netns::new()?;
        let relay = Netns::new()?;
        let client = Netns::new()?;
        let upstream = Link::veth(&server, SERVER_IF, &relay, RELAY_UP_IF)?;
        let downstream = Link::veth(&relay, RELAY_DOWN_IF, &client, CLIENT_IF)?;
        let server_addr: Ipv6Addr = "2001:db8:ffff::1".parse()?;
        let relay_up_addr: Ipv6Addr = "2001:db8:ffff::2".parse()?;
        let relay_down_addr: Ipv6Addr = "2001:db8:1::fffe".parse()?;
        add_address(&server, SERVER_IF, server_addr, 64)?;
        add_address(&relay, RELAY_UP_IF, relay_up_addr, 64)?;
        add_address(&relay, RELAY_DOWN_IF, relay_down_addr, 64)?;
        relay.run(&["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])?;
        Ok(Self {
            client,
            relay,
            server,
            upstream,
            downstream,
            server_addr,
            relay_up_addr,
            relay_down_addr,
        })
    }

    /// The standard server parameters for this lab: clients only through the relay, whose
    /// link-address selects the subnet; the server accepts unicast on its global address.
    pub fn server_params(&self) -> ServerParams {
        let mut p = ServerParams::standard(SERVER_IF, false);
        p.unicast = Some(self.server_addr);
        p
    }
}
