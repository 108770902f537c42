//! A lab for one server in two failover relationships (m-to-1, RFC 8156 §3; R9): a hub and two
//! partners, A and B, each relationship on its own subnet, link and partner link.
//!
//! ```text
//!            lan-a (br0)                               lan-b (br0)
//!   A ─srv0──┤                ├─srva0── HUB ──srvb0─┤                ├──srv0─ B
//!            └─ clients-a                           └─ clients-b
//!   A ─fo0 ═══ fd00:647:a::/64 ═══ foa0─ HUB ─fob0 ═══ fd00:647:b::/64 ═══ fo0─ B
//! ```
//!
//! - [`REL_A`] "rel-a": the hub is primary, A secondary, for subnet SA (id 1, 2001:db8:1::/64,
//!   the standard subnet), whose clients are on lan-a;
//! - [`REL_B`] "rel-b": B is primary, the hub secondary, for subnet SB (id 2, 2001:db8:2::/64),
//!   whose clients are on lan-b.
//!
//! tandemd picks a directly attached client's subnet by the interface the message came in on,
//! so each subnet has its own bridged link: the hub is on both ([`HUB_IF_A`], [`HUB_IF_B`]), A
//! only on lan-a and B only on lan-b. Re-exported from [`crate::topology`].

use std::net::{Ipv6Addr, SocketAddr};
use std::path::Path;

use anyhow::Result;

use crate::certs::{write_leaves, CertKey, Identity};
use crate::fo_params::{FailoverParams, FailoverRole, LabTls};
use crate::link::{add_address, Link};
use crate::netns::Netns;
use crate::pair::{BRIDGE_IF, FAILOVER_PORT, PARTNER_IF, PARTNER_PREFIX_LEN};
use crate::params::{Lifetimes, ServerParams};
use crate::render::RelationshipSpec;
use crate::topology::{CLIENT_IF, SERVER_IF};

/// The hub's interface on lan-a (subnet SA).
pub const HUB_IF_A: &str = "srva0";
/// The hub's interface on lan-b (subnet SB).
pub const HUB_IF_B: &str = "srvb0";
/// The hub's end of the partner link to A.
pub const HUB_FO_IF_A: &str = "foa0";
/// The hub's end of the partner link to B.
pub const HUB_FO_IF_B: &str = "fob0";
/// DNS name in the hub's certificates.
pub const HUB_NAME: &str = "dhcp-hub.lab.example";
/// DNS name in A's certificate.
pub const A_NAME: &str = "dhcp-a.lab.example";
/// DNS name in B's certificate.
pub const B_NAME: &str = "dhcp-b.lab.example";
/// Subnet id of SA.
pub const SUBNET_A_ID: u32 = 1;
/// Subnet id of SB.
pub const SUBNET_B_ID: u32 = 2;
/// The hub's address on lan-a (in SA, outside its pool).
pub const HUB_ADDR_A: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
/// A's address on lan-a.
pub const A_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2);
/// The hub's address on lan-b (in SB, outside its pool).
pub const HUB_ADDR_B: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1);
/// B's address on lan-b.
pub const B_ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 2);

/// One of the trio's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrioServer {
    /// In both relationships.
    Hub,
    /// The hub's secondary in [`REL_A`].
    A,
    /// The hub's primary in [`REL_B`].
    B,
}

impl TrioServer {
    /// Every server, hub first.
    pub const ALL: [Self; 3] = [Self::Hub, Self::A, Self::B];

    /// `"hub"`, `"a"` or `"b"`: directory and certificate names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::A => "a",
            Self::B => "b",
        }
    }

    /// The DNS name in its certificates.
    pub fn dns_name(self) -> &'static str {
        match self {
            Self::Hub => HUB_NAME,
            Self::A => A_NAME,
            Self::B => B_NAME,
        }
    }
}

/// One of the trio's relationships: who is primary and secondary, their partner-link
/// addresses, and the one subnet it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrioRelationship {
    /// OPTION_F_RELATIONSHIP_NAME [RFC 8156 §6.2].
    pub name: &'static str,
    /// The server that dials.
    pub primary: TrioServer,
    /// The server that listens.
    pub secondary: TrioServer,
    /// The primary's address on this relationship's partner link.
    pub primary_addr: Ipv6Addr,
    /// The secondary's address on it.
    pub secondary_addr: Ipv6Addr,
    /// The subnet it covers (R8: in no other relationship).
    pub subnet_id: u32,
}

/// "rel-a": hub primary (fd00:647:a::1), A secondary (fd00:647:a::2), subnet SA.
pub const REL_A: TrioRelationship = TrioRelationship {
    name: "rel-a",
    primary: TrioServer::Hub,
    secondary: TrioServer::A,
    primary_addr: Ipv6Addr::new(0xfd00, 0x647, 0xa, 0, 0, 0, 0, 1),
    secondary_addr: Ipv6Addr::new(0xfd00, 0x647, 0xa, 0, 0, 0, 0, 2),
    subnet_id: SUBNET_A_ID,
};

/// "rel-b": B primary (fd00:647:b::1), hub secondary (fd00:647:b::2), subnet SB.
pub const REL_B: TrioRelationship = TrioRelationship {
    name: "rel-b",
    primary: TrioServer::B,
    secondary: TrioServer::Hub,
    primary_addr: Ipv6Addr::new(0xfd00, 0x647, 0xb, 0, 0, 0, 0, 1),
    secondary_addr: Ipv6Addr::new(0xfd00, 0x647, 0xb, 0, 0, 0, 0, 2),
    subnet_id: SUBNET_B_ID,
};

impl TrioRelationship {
    /// Both relationships, [`REL_A`] first (the hub's configuration order).
    pub const ALL: [Self; 2] = [REL_A, REL_B];

    /// `server`'s role here, `None` when it is not in this relationship.
    pub fn role_of(&self, server: TrioServer) -> Option<FailoverRole> {
        if server == self.primary {
            Some(FailoverRole::Primary)
        } else if server == self.secondary {
            Some(FailoverRole::Secondary)
        } else {
            None
        }
    }

    /// The server in `role`.
    pub fn server(&self, role: FailoverRole) -> TrioServer {
        match role {
            FailoverRole::Primary => self.primary,
            FailoverRole::Secondary => self.secondary,
        }
    }

    /// `role`'s failover endpoint on this relationship's partner link.
    pub fn endpoint(&self, role: FailoverRole) -> SocketAddr {
        let ip = match role {
            FailoverRole::Primary => self.primary_addr,
            FailoverRole::Secondary => self.secondary_addr,
        };
        SocketAddr::new(ip.into(), FAILOVER_PORT)
    }

    /// The identity of `server`'s certificate for this relationship: its DNS name and its
    /// address on this partner link (`None` when it is not in it).
    pub fn identity(&self, server: TrioServer) -> Option<Identity> {
        let role = self.role_of(server)?;
        Some(Identity {
            dns_name: server.dns_name().to_owned(),
            ip: self.endpoint(role).ip(),
        })
    }

    /// `server`'s parameters for this relationship: [`FailoverParams::lab`] timers, listening
    /// on its own partner-link address, this relationship's name; `None` when `server` is not
    /// in it.
    pub fn failover_params(&self, server: TrioServer, tls: LabTls) -> Option<FailoverParams> {
        let role = self.role_of(server)?;
        let mut fo =
            FailoverParams::lab(role, self.endpoint(role.other()), self.endpoint(role), tls);
        fo.name = self.name.to_owned();
        Some(fo)
    }
}

/// The trio's certificates: one lab CA, a certificate per server and relationship (the hub has
/// two, one for each partner-link address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrioCerts {
    /// The CA every certificate chains to.
    pub ca: std::path::PathBuf,
    /// The hub's certificate for [`REL_A`].
    pub hub_a: CertKey,
    /// A's certificate ([`REL_A`]).
    pub a: CertKey,
    /// B's certificate ([`REL_B`]).
    pub b: CertKey,
    /// The hub's certificate for [`REL_B`].
    pub hub_b: CertKey,
}

impl TrioCerts {
    /// Writes them into `dir` (`ca.crt`, `hub-a.*`, `a.*`, `b.*`, `hub-b.*`).
    pub fn write(dir: &Path) -> Result<Self> {
        let ids = [
            REL_A.identity(TrioServer::Hub),
            REL_A.identity(TrioServer::A),
            REL_B.identity(TrioServer::B),
            REL_B.identity(TrioServer::Hub),
        ];
        let [Some(hub_a), Some(a), Some(b), Some(hub_b)] = ids else {
            anyhow::bail!("a trio server is missing from its relationship");
        };
        let written = write_leaves(
            dir,
            &[("hub-a", &hub_a), ("a", &a), ("b", &b), ("hub-b", &hub_b)],
        )?;
        let [hub_a, a, b, hub_b]: [CertKey; 4] = written
            .leaves
            .try_into()
            .map_err(|_| anyhow::anyhow!("write_leaves returned the wrong number of leaves"))?;
        Ok(Self {
            ca: written.ca,
            hub_a,
            a,
            b,
            hub_b,
        })
    }

    /// Mutual TLS for `server` in `rel`: its certificate for that relationship, the lab CA, and
    /// the partner's DNS name to check; `None` when `server` is not in `rel`.
    pub fn tls(&self, rel: &TrioRelationship, server: TrioServer) -> Option<LabTls> {
        let role = rel.role_of(server)?;
        let own = match (rel.name == REL_A.name, server) {
            (true, TrioServer::Hub) => &self.hub_a,
            (false, TrioServer::Hub) => &self.hub_b,
            (_, TrioServer::A) => &self.a,
            (_, TrioServer::B) => &self.b,
        };
        let partner = rel.server(role.other()).dns_name().to_owned();
        Some(LabTls::with(own, self.ca.clone(), Some(partner)))
    }
}

/// The trio's namespaces and links (module doc).
///
/// Client-link addresses: on lan-a [`HUB_ADDR_A`] on [`HUB_IF_A`] and [`A_ADDR`] on A's
/// [`SERVER_IF`]; on lan-b [`HUB_ADDR_B`] on [`HUB_IF_B`] and [`B_ADDR`] on B's [`SERVER_IF`];
/// clients ([`CLIENT_IF`]) have link-local addresses only.
#[derive(Debug)]
pub struct Trio {
    /// Clients of subnet SA (dropped first: their processes die before the servers').
    pub clients_a: Netns,
    /// Clients of subnet SB.
    pub clients_b: Netns,
    /// The server in both relationships.
    pub hub: Netns,
    /// The hub's partner in [`REL_A`].
    pub a: Netns,
    /// The hub's partner in [`REL_B`].
    pub b: Netns,
    /// The namespace holding lan-a's bridge [`BRIDGE_IF`].
    pub lan_a: Netns,
    /// The namespace holding lan-b's bridge.
    pub lan_b: Netns,
    /// hub [`HUB_FO_IF_A`] (a) — A [`PARTNER_IF`] (b), fd00:647:a::/64.
    pub partner_link_a: Link,
    /// B [`PARTNER_IF`] (a) — hub [`HUB_FO_IF_B`] (b), fd00:647:b::/64.
    pub partner_link_b: Link,
    /// clients-a [`CLIENT_IF`] (a) — lan-a port (b).
    pub client_link_a: Link,
    /// clients-b [`CLIENT_IF`] (a) — lan-b port (b).
    pub client_link_b: Link,
}

impl Trio {
    /// Builds the lab: seven namespaces, two bridges, six veths into them and two partner
    /// links.
    pub fn new() -> Result<Self> {
        let hub = Netns::new()?;
        let a = Netns::new()?;
        let b = Netns::new()?;
        let lan_a = Netns::new()?;
        let lan_b = Netns::new()?;
        let clients_a = Netns::new()?;
        let clients_b = Netns::new()?;

        let partner_link_a = Link::veth(&hub, HUB_FO_IF_A, &a, PARTNER_IF)?;
        add_address(&hub, HUB_FO_IF_A, REL_A.primary_addr, PARTNER_PREFIX_LEN)?;
        add_address(&a, PARTNER_IF, REL_A.secondary_addr, PARTNER_PREFIX_LEN)?;
        let partner_link_b = Link::veth(&b, PARTNER_IF, &hub, HUB_FO_IF_B)?;
        add_address(&b, PARTNER_IF, REL_B.primary_addr, PARTNER_PREFIX_LEN)?;
        add_address(&hub, HUB_FO_IF_B, REL_B.secondary_addr, PARTNER_PREFIX_LEN)?;

        let hub_port_a = Link::veth(&hub, HUB_IF_A, &lan_a, "lanh0")?;
        let a_port = Link::veth(&a, SERVER_IF, &lan_a, "lans0")?;
        let client_link_a = Link::veth(&clients_a, CLIENT_IF, &lan_a, "lanc0")?;
        bridge(&lan_a, &[&hub_port_a, &a_port, &client_link_a])?;
        let hub_port_b = Link::veth(&hub, HUB_IF_B, &lan_b, "lanh0")?;
        let b_port = Link::veth(&b, SERVER_IF, &lan_b, "lans0")?;
        let client_link_b = Link::veth(&clients_b, CLIENT_IF, &lan_b, "lanc0")?;
        bridge(&lan_b, &[&hub_port_b, &b_port, &client_link_b])?;

        add_address(&hub, HUB_IF_A, HUB_ADDR_A, 64)?;
        add_address(&a, SERVER_IF, A_ADDR, 64)?;
        add_address(&hub, HUB_IF_B, HUB_ADDR_B, 64)?;
        add_address(&b, SERVER_IF, B_ADDR, 64)?;
        Ok(Self {
            clients_a,
            clients_b,
            hub,
            a,
            b,
            lan_a,
            lan_b,
            partner_link_a,
            partner_link_b,
            client_link_a,
            client_link_b,
        })
    }

    /// `server`'s namespace.
    pub fn ns(&self, server: TrioServer) -> &Netns {
        match server {
            TrioServer::Hub => &self.hub,
            TrioServer::A => &self.a,
            TrioServer::B => &self.b,
        }
    }

    /// Subnet SA (id 1, 2001:db8:1::/64, pool ::1000–::ffff, /56s from 2001:db8:8000::/40),
    /// directly attached on `interface`, with [`Lifetimes::FAILOVER_SHORT`].
    pub fn subnet_a(interface: &str) -> ServerParams {
        let mut p = ServerParams::standard(interface, true);
        p.subnet_id = SUBNET_A_ID;
        p.lifetimes = Lifetimes::FAILOVER_SHORT;
        p.pd_lifetimes = Lifetimes::FAILOVER_SHORT;
        p
    }

    /// Subnet SB (id 2, 2001:db8:2::/64, pool ::1000–::ffff, /56s from 2001:db8:9000::/40),
    /// directly attached on `interface`, with [`Lifetimes::FAILOVER_SHORT`].
    pub fn subnet_b(interface: &str) -> ServerParams {
        let mut p = Self::subnet_a(interface);
        p.subnet_id = SUBNET_B_ID;
        p.subnet_prefix = (Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0), 64);
        p.pool = (
            Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x1000),
            Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0xffff),
        );
        p.pd_pool = (Ipv6Addr::new(0x2001, 0xdb8, 0x9000, 0, 0, 0, 0, 0), 40, 56);
        p
    }

    /// The subnets `server` serves: the hub both (SA on [`HUB_IF_A`], SB on [`HUB_IF_B`]), A
    /// only SA and B only SB (on [`SERVER_IF`]).
    pub fn subnets(server: TrioServer) -> Vec<ServerParams> {
        match server {
            TrioServer::Hub => vec![Self::subnet_a(HUB_IF_A), Self::subnet_b(HUB_IF_B)],
            TrioServer::A => vec![Self::subnet_a(SERVER_IF)],
            TrioServer::B => vec![Self::subnet_b(SERVER_IF)],
        }
    }

    /// `server`'s relationships, in [`TrioRelationship::ALL`] order, each listing its subnet;
    /// `certs` gives mutual TLS ([`TrioCerts::tls`]), `None` plain TCP (`mode = "none"`).
    pub fn relationships(server: TrioServer, certs: Option<&TrioCerts>) -> Vec<RelationshipSpec> {
        TrioRelationship::ALL
            .iter()
            .filter_map(|rel| {
                let tls = match certs {
                    Some(c) => c.tls(rel, server)?,
                    None => LabTls::None,
                };
                Some(RelationshipSpec {
                    fo: rel.failover_params(server, tls)?,
                    subnets: vec![rel.subnet_id],
                })
            })
            .collect()
    }
}

/// Makes `lan`'s bridge [`BRIDGE_IF`] and enslaves each link's `b` end. Snooping off, as in
/// [`crate::topology::Pair`]: every client multicast reaches every server on the link.
fn bridge(lan: &Netns, ports: &[&Link]) -> Result<()> {
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
    for port in ports {
        lan.run(&["ip", "link", "set", &port.b.iface, "master", BRIDGE_IF])?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "trio_tests.rs"]
mod tests;
