//! ISC `dhcrelay -6` in the middle namespace: real Relay-forward / Relay-reply with Interface-ID.

use std::net::Ipv6Addr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::netns::{wait_for, Netns};
use crate::process::Process;

/// A running `dhcrelay -6 -d -I -l CLIENT_IFACE -u SERVER_ADDR%SERVER_IFACE`.
///
/// `-I` makes dhcrelay send the Interface-ID option even with one downstream interface (it
/// adds it on its own only with two or more).
#[derive(Debug)]
pub struct Relay {
    /// The relay process.
    pub process: Process,
}

impl Relay {
    /// Starts the relay and waits until it listens on UDP 547.
    pub fn start(
        ns: &Netns,
        client_iface: &str,
        server_addr: Ipv6Addr,
        server_iface: &str,
        dir: &Path,
    ) -> Result<Self> {
        Self::start_multi(ns, client_iface, &[(server_addr, server_iface)], dir)
    }

    /// Starts the relay forwarding every client message to each of `upstreams` (`-u
    /// ADDR%IFACE` once per server, as for a failover pair, [`crate::topology::RelayedPair`])
    /// and waits until it listens on UDP 547.
    pub fn start_multi(
        ns: &Netns,
        client_iface: &str,
        upstreams: &[(Ipv6Addr, &str)],
        dir: &Path,
    ) -> Result<Self> {
        if upstreams.is_empty() {
            bail!("dhcrelay needs at least one upstream server");
        }
        let mut cmd = ns.command("dhcrelay");
        cmd.args(["-6", "-d", "-I", "-pf"])
            .arg(dir.join("dhcrelay.pid"))
            .args(["-l", client_iface]);
        for (addr, iface) in upstreams {
            cmd.args(["-u", &format!("{addr}%{iface}")]);
        }
        let mut process = Process::spawn(cmd, dir, "dhcrelay")?;
        let ok = wait_for("dhcrelay listening", Duration::from_secs(10), || {
            if !process.is_running() {
                return Some(false);
            }
            let o = ns
                .run(&["ss", "-H", "-u", "-l", "-n", "sport = :547"])
                .ok()?;
            (!o.trim().is_empty()).then_some(true)
        })?;
        if !ok {
            bail!("dhcrelay exited: {}", process.stderr());
        }
        Ok(Self { process })
    }
}
