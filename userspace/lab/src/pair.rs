//! Labs for a failover pair [RFC 8156]: two server namespaces that clients reach at once, plus a
//! separate partner link between the servers for the failover TCP connection.
//!
//! ```text
//!   Pair:                                     RelayedPair:
//!
//!   primary ──srv0─┐                          primary ──srv0── rup0 ─┐
//!     │fo0         ├─ br0 (lan) ── clients      │fo0                 relay ── clients
//!   secondary─srv0─┘                          secondary─srv0── rup1 ─┘
//! ```
//!
//! Both servers name their client-facing interface [`SERVER_IF`], so one [`ServerParams`] fits
//! both, and their partner-link interface [`PARTNER_IF`]. Re-exported from [`crate::topology`].

use std::net::{Ipv6Addr, SocketAddr};

use anyhow::Result;

use crate::fo_params::{FailoverParams, FailoverRole, LabTls};
use crate::link::{add_address, Link};
use crate::netns::Netns;
use crate::params::ServerParams;
use crate::topology::{CLIENT_IF, RELAY_DOWN_IF, SERVER_IF};

/// The partner-link interface in both server namespaces.
pub const PARTNER_IF: &str = "fo0";
/// The bridge joining the servers and the clients (in the lan namespace of [`Pair`]).
pub const BRIDGE_IF: &str = "br0";
/// The relay's interface towards the secondary in [`RelayedPair`] (towards the primary it is
/// [`crate::topology::RELAY_UP_IF`]).
pub const RELAY_UP2_IF: &str = "rup1";
/// The primary's address on the partner link.
pub const PRIMARY_FO_ADDR: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x647, 0, 0, 0, 0, 0, 1);
/// The secondary's address on the partner link.
pub const SECONDARY_FO_ADDR: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x647, 0, 0, 0, 0, 0, 2);
/// Prefix length of the partner link (fd00:647::/64).
pub const PARTNER_PREFIX_LEN: u8 = 64;
/// The failover TCP port [RFC 8156 §6].
pub const FAILOVER_PORT: u16 = 647;
/// DNS name in the primary's certificate (see [`crate::certs`]).
pub const PRIMARY_NAME: &str = "dhcp-a.lab.example";
/// DNS name in the secondary's certificate.
pub const SECONDARY_NAME: &str = "dhcp-b.lab.example";

/// The two servers and the link between them, shared by [`Pair`] and [`RelayedPair`].
#[derive(Debug)]
pub struct Partners {
    /// The primary's namespace.
    pub primary: Netns,
    /// The secondary's namespace.
    pub secondary: Netns,
    /// primary (a, [`PARTNER_IF`]) — secondary (b, [`PARTNER_IF`]), fd00:647::/64.
    pub partner_link: Link,
}

impl Partners {
    /// Creates both server namespaces and the partner link with its addresses (a lab of its
    /// own for tests that need no clients, such as partner-port attacks).
    pub fn new() -> Result<Self> {
        let primary = Netns::new()?;
        let secondary = Netns::new()?;
        let partner_link = Link::veth(&primary, PARTNER_IF, &secondary, PARTNER_IF)?;
        add_address(&primary, PARTNER_IF, PRIMARY_FO_ADDR, PARTNER_PREFIX_LEN)?;
        add_address(
            &secondary,
            PARTNER_IF,
            SECONDARY_FO_ADDR,
            PARTNER_PREFIX_LEN,
        )?;
        Ok(Self {
            primary,
            secondary,
            partner_link,
        })
    }

    /// The namespace of `role`'s server.
    pub fn ns(&self, role: FailoverRole) -> &Netns {
        match role {
            FailoverRole::Primary => &self.primary,
            FailoverRole::Secondary => &self.secondary,
        }
    }

    /// `role`'s failover endpoint on the partner link (`[fd00:647::1]:647` for the primary).
    pub fn fo_endpoint(role: FailoverRole) -> SocketAddr {
        let ip = match role {
            FailoverRole::Primary => PRIMARY_FO_ADDR,
            FailoverRole::Secondary => SECONDARY_FO_ADDR,
        };
        SocketAddr::new(ip.into(), FAILOVER_PORT)
    }

    /// Lab failover parameters for `role`: listen on its own partner-link address, partner at
    /// the other's, the lab's short timers ([`FailoverParams::lab`]).
    pub fn failover_params(role: FailoverRole, tls: LabTls) -> FailoverParams {
        FailoverParams::lab(
            role,
            Self::fo_endpoint(role.other()),
            Self::fo_endpoint(role),
            tls,
        )
    }
}

/// Primary, secondary and clients on one bridged link (in a fourth "lan" namespace), plus the
/// partner link: every client multicast reaches both servers.
///
/// Client-link addresses: primary `2001:db8:1::1/64`, secondary `2001:db8:1::2/64` on
/// [`SERVER_IF`] (inside the standard subnet, outside its pool); clients have link-local
/// addresses only. Partner link: [`PRIMARY_FO_ADDR`] and [`SECONDARY_FO_ADDR`] on
/// [`PARTNER_IF`].
#[derive(Debug)]
pub struct Pair {
    /// The clients' namespace (dropped first: its processes die before the servers').
    pub clients: Netns,
    /// Both servers and the partner link.
    pub partners: Partners,
    /// The namespace holding the bridge [`BRIDGE_IF`].
    pub lan: Netns,
    /// primary [`SERVER_IF`] (a) — lan port (b).
    pub primary_link: Link,
    /// secondary [`SERVER_IF`] (a) — lan port (b).
    pub secondary_link: Link,
    /// clients [`CLIENT_IF`] (a) — lan port (b).
    pub client_link: Link,
    /// The primary's global address on the client link.
    pub primary_addr: Ipv6Addr,
    /// The secondary's global address on the client link.
    pub secondary_addr: Ipv6Addr,
}

impl Pair {
    /// Builds the lab: four namespaces, the bridge, three veths into it and the partner link.
    pub fn new() -> Result<Self> {
        let partners = Partners::new()?;
        let lan = Netns::new()?;
        let clients = Netns::new()?;
        // Snooping off: with no MLD querier on the lab link, all multicast is flooded to every
        // port, so client Solicits to ff02::1:2 reach both servers from the first packet.
        lan.run(&[
            "ip",
            "link",
            "add",
            BRIDGE_IF,
            "type",
            "bridge",
            "mcast_snooping",
            "0",
            "stp_state",
            "0",
        ])?;
        lan.run(&["ip", "link", "set", BRIDGE_IF, "up"])?;
        let primary_link = Link::veth(&partners.primary, SERVER_IF, &lan, "lanp0")?;
        let secondary_link = Link::veth(&partners.secondary, SERVER_IF, &lan, "lans0")?;
        let client_link = Link::veth(&clients, CLIENT_IF, &lan, "lanc0")?;
        for port in [&primary_link, &secondary_link, &client_link] {
            lan.run(&["ip", "link", "set", &port.b.iface, "master", BRIDGE_IF])?;
        }
        let primary_addr: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
        let secondary_addr: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2);
        add_address(&partners.primary, SERVER_IF, primary_addr, 64)?;
        add_address(&partners.secondary, SERVER_IF, secondary_addr, 64)?;
        Ok(Self {
            clients,
            partners,
            lan,
            primary_link,
            secondary_link,
            client_link,
            primary_addr,
            secondary_addr,
        })
    }

    /// The standard server parameters, the same for both servers: clients directly on
    /// [`SERVER_IF`]. `unicast` is left unset (tandemd binds `[::]:547`; the two servers'
    /// unicast addresses differ).
    pub fn server_params(&self) -> ServerParams {
        ServerParams::standard(SERVER_IF, true)
    }

    /// The primary's namespace.
    pub fn primary(&self) -> &Netns {
        &self.partners.primary
    }

    /// The secondary's namespace.
    pub fn secondary(&self) -> &Netns {
        &self.partners.secondary
    }

    /// See [`Partners::failover_params`].
    pub fn failover_params(&self, role: FailoverRole, tls: LabTls) -> FailoverParams {
        Partners::failover_params(role, tls)
    }
}

/// Clients behind one relay namespace that forwards to both servers, plus the partner link.
///
/// The relay has one upstream link per server: primary link 2001:db8:fff1::/64 (primary ::1 on
/// [`SERVER_IF`], relay ::2 on [`crate::topology::RELAY_UP_IF`]), secondary link
/// 2001:db8:fff2::/64 (secondary ::1 on [`SERVER_IF`], relay ::2 on [`RELAY_UP2_IF`]). On the
/// client link the relay has 2001:db8:1::fffe/64 on [`RELAY_DOWN_IF`], its link-address, which
/// selects the standard subnet. Start the relay with [`RelayedPair::relay_upstreams`] and
/// [`crate::relay::Relay::start_multi`].
#[derive(Debug)]
pub struct RelayedPair {
    /// The clients' namespace.
    pub clients: Netns,
    /// The relay's namespace.
    pub relay: Netns,
    /// Both servers and the partner link.
    pub partners: Partners,
    /// primary [`SERVER_IF`] (a) — relay [`crate::topology::RELAY_UP_IF`] (b).
    pub primary_link: Link,
    /// secondary [`SERVER_IF`] (a) — relay [`RELAY_UP2_IF`] (b).
    pub secondary_link: Link,
    /// relay [`RELAY_DOWN_IF`] (a) — clients [`CLIENT_IF`] (b).
    pub downstream: Link,
    /// The primary's address on its link to the relay.
    pub primary_addr: Ipv6Addr,
    /// The secondary's address on its link to the relay.
    pub secondary_addr: Ipv6Addr,
    /// The relay's address on the client link (the relay link-address).
    pub relay_down_addr: Ipv6Addr,
}

impl RelayedPair {
    /// Builds the lab (no relay process yet).
    pub fn new() -> Result<Self> {
        let partners = Partners::new()?;
        let relay = Netns::new()?;
        let clients = Netns::new()?;
        let primary_link = Link::veth(
            &partners.primary,
            SERVER_IF,
            &relay,
            crate::topology::RELAY_UP_IF,
        )?;
        let secondary_link = Link::veth(&partners.secondary, SERVER_IF, &relay, RELAY_UP2_IF)?;
        let downstream = Link::veth(&relay, RELAY_DOWN_IF, &clients, CLIENT_IF)?;
        let primary_addr = Ipv6Addr::new(0x2001, 0xdb8, 0xfff1, 0, 0, 0, 0, 1);
        let secondary_addr = Ipv6Addr::new(0x2001, 0xdb8, 0xfff2, 0, 0, 0, 0, 1);
        let relay_down_addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0xfffe);
        add_address(&partners.primary, SERVER_IF, primary_addr, 64)?;
        add_address(&partners.secondary, SERVER_IF, secondary_addr, 64)?;
        add_address(
            &relay,
            crate::topology::RELAY_UP_IF,
            Ipv6Addr::new(0x2001, 0xdb8, 0xfff1, 0, 0, 0, 0, 2),
            64,
        )?;
        add_address(
            &relay,
            RELAY_UP2_IF,
            Ipv6Addr::new(0x2001, 0xdb8, 0xfff2, 0, 0, 0, 0, 2),
            64,
        )?;
        add_address(&relay, RELAY_DOWN_IF, relay_down_addr, 64)?;
        relay.run(&["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])?;
        Ok(Self {
            clients,
            relay,
            partners,
            primary_link,
            secondary_link,
            downstream,
            primary_addr,
            secondary_addr,
            relay_down_addr,
        })
    }

    /// The standard server parameters, the same for both servers: clients only through the
    /// relay, whose link-address selects the subnet; `unicast` unset.
    pub fn server_params(&self) -> ServerParams {
        ServerParams::standard(SERVER_IF, false)
    }

    /// The relay's upstreams, `(server address, relay interface)`, primary first: the
    /// arguments of [`crate::relay::Relay::start_multi`].
    pub fn relay_upstreams(&self) -> [(Ipv6Addr, &'static str); 2] {
        [
            (self.primary_addr, crate::topology::RELAY_UP_IF),
            (self.secondary_addr, RELAY_UP2_IF),
        ]
    }

    /// The primary's namespace.
    pub fn primary(&self) -> &Netns {
        &self.partners.primary
    }

    /// The secondary's namespace.
    pub fn secondary(&self) -> &Netns {
        &self.partners.secondary
    }

    /// See [`Partners::failover_params`].
    pub fn failover_params(&self, role: FailoverRole, tls: LabTls) -> FailoverParams {
        Partners::failover_params(role, tls)
    }
}

#[cfg(test)]
#[path = "pair_tests.rs"]
mod tests;
