//! veth pairs between namespaces and IPv6 addresses on them.

use std::net::Ipv6Addr;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::netns::{run_checked, wait_for, Netns};

/// How long [`Link::veth`] waits for the link-local addresses to become usable.
pub const LINK_UP_TIMEOUT: Duration = Duration::from_secs(10);

/// One end of a veth pair: a namespace name and an interface name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEnd {
    /// Namespace holding this end.
    pub ns: String,
    /// Interface name inside that namespace.
    pub iface: String,
    /// The interface's link-local address (fe80::/64), usable once the link is up.
    pub link_local: Ipv6Addr,
}

/// A veth pair joining two namespaces; it goes away with the namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The end in the first namespace.
    pub a: LinkEnd,
    /// The end in the second namespace.
    pub b: LinkEnd,
}

impl Link {
    /// Creates `a_if` in `a` and its peer `b_if` in `b`, brings both up and waits until both
    /// link-local addresses are usable (not tentative).
    ///
    /// The pair is created directly inside `a` (`ip -n A link add`), so names never collide
    /// with the host's or another test's interfaces.
    pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<Self> {
        run_checked(std::process::Command::new("ip").args([
            "-n",
            a.name(),
            "link",
            "add",
            a_if,
            "type",
            "veth",
            "peer",
            "name",
            b_if,
            "netns",
            b.name(),
        ]))?;
        for (ns, ifc) in [(a, a_if), (b, b_if)] {
            ns.run(&[
                "sysctl",
                "-q",
                "-w",
                &format!("net.ipv6.conf.{ifc}.accept_dad=0"),
            ])?;
            ns.run(&["ip", "link", "set", ifc, "up"])?;
        }
        let a_ll = wait_link_local(a, a_if, LINK_UP_TIMEOUT)?;
        let b_ll = wait_link_local(b, b_if, LINK_UP_TIMEOUT)?;
        Ok(Self {
            a: LinkEnd {
                ns: a.name().to_owned(),
                iface: a_if.to_owned(),
                link_local: a_ll,
            },
            b: LinkEnd {
                ns: b.name().to_owned(),
                iface: b_if.to_owned(),
                link_local: b_ll,
            },
        })
    }
}

/// Adds `addr/prefix_len` to `iface` with `nodad`, so it is usable at once.
pub fn add_address(ns: &Netns, iface: &str, addr: Ipv6Addr, prefix_len: u8) -> Result<()> {
    ns.run(&[
        "ip",
        "-6",
        "addr",
        "add",
        &format!("{addr}/{prefix_len}"),
        "dev",
        iface,
        "nodad",
    ])
    .map(|_| ())
}

/// Waits until `iface` has a link-local address that is neither tentative nor failed DAD.
pub fn wait_link_local(ns: &Netns, iface: &str, timeout: Duration) -> Result<Ipv6Addr> {
    wait_for(
        &format!("link-local address on {iface} in {}", ns.name()),
        timeout,
        || {
            let out = ns
                .run(&[
                    "ip", "-6", "-o", "addr", "show", "dev", iface, "scope", "link",
                ])
                .ok()?;
            out.lines().find_map(|l| {
                if l.contains("tentative") || l.contains("dadfailed") {
                    return None;
                }
                let mut w = l.split_whitespace();
                w.position(|t| t == "inet6")?;
                w.next()?.split('/').next()?.parse().ok()
            })
        },
    )
    .context("link not usable")
}
