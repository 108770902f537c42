//! A partition of the failover partner link (testing.md #15, #16, #21): nftables rules inside
//! one server namespace that drop every TCP segment to or from port 647 [RFC 8156 §6] on the
//! partner interface, both ways or one way ([`Direction`]), until healed. Each rule counts what
//! it drops ([`Partition::dropped`]).
//!
//! The rules live in a table of their own (`inet tandem_part_<pid>_<n>`), created and deleted
//! inside the namespace with `ip netns exec NS nft`: nothing outside that namespace, and no
//! other table in it, is touched.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{bail, Context, Result};

use crate::netns::{run_checked, Netns};
use crate::pair::FAILOVER_PORT;

static NEXT_TABLE: AtomicU32 = AtomicU32::new(0);

/// Which segments a [`Partition`] drops, seen from the namespace it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Direction {
    /// Everything: a full partition.
    Both,
    /// Only what arrives on the interface: this server goes deaf, the partner still hears
    /// it (until TCP gives up for lack of acknowledgements).
    Inbound,
    /// Only what leaves through the interface: this server goes mute.
    Outbound,
}

impl Direction {
    fn inbound(self) -> bool {
        matches!(self, Self::Both | Self::Inbound)
    }

    fn outbound(self) -> bool {
        matches!(self, Self::Both | Self::Outbound)
    }
}

/// Packets dropped so far, per direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Arriving on the interface.
    pub inbound: u64,
    /// Leaving through the interface.
    pub outbound: u64,
}

/// A cut partner link; [`Partition::heal`] or drop removes it.
#[derive(Debug)]
pub struct Partition {
    ns: String,
    table: String,
    healed: bool,
}

impl Partition {
    /// Drops TCP port 647 both ways on `iface` in `ns` (both the partner's dials and ours,
    /// and every segment of an established connection).
    pub fn cut(ns: &Netns, iface: &str) -> Result<Self> {
        Self::cut_port(ns, iface, FAILOVER_PORT, Direction::Both)
    }

    /// Drops TCP port 647 on `iface` in `ns` in one `direction` only (testing.md #16).
    pub fn one_way(ns: &Netns, iface: &str, direction: Direction) -> Result<Self> {
        Self::cut_port(ns, iface, FAILOVER_PORT, direction)
    }

    /// The general form: TCP `port` on `iface` in `ns`, `direction` as seen from `ns`.
    pub fn cut_port(ns: &Netns, iface: &str, port: u16, direction: Direction) -> Result<Self> {
        let n = NEXT_TABLE.fetch_add(1, Ordering::Relaxed);
        let table = format!("tandem_part_{}_{n}", std::process::id());
        let iface_q = serde_json::to_string(iface).context("interface name")?;
        let ruleset = ruleset(&table, &iface_q, port, direction);
        let mut child = ns
            .command("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawn nft")?;
        // Closing stdin (dropping it) ends nft's input; the child is reaped before any error.
        let written = child
            .stdin
            .take()
            .map(|mut stdin| stdin.write_all(ruleset.as_bytes()));
        let out = child.wait_with_output().context("wait for nft")?;
        if let Some(Err(e)) = written {
            return Err(e).context("write the ruleset to nft");
        }
        if !out.status.success() {
            bail!(
                "nft -f in {}: {}\n{ruleset}",
                ns.name(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(Self {
            ns: ns.name().to_owned(),
            table,
            healed: false,
        })
    }

    /// The nftables table holding the rules (family `inet`).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The namespace the rules are in.
    pub fn ns_name(&self) -> &str {
        &self.ns
    }

    /// Whether the link is still cut.
    pub fn is_cut(&self) -> bool {
        !self.healed
    }

    /// Packets the rules have dropped so far, from their counters.
    pub fn dropped(&self) -> Result<Dropped> {
        if self.healed {
            bail!("partition {} is healed: its counters are gone", self.table);
        }
        let out = run_checked(Command::new("ip").args([
            "netns",
            "exec",
            &self.ns,
            "nft",
            "-j",
            "list",
            "table",
            "inet",
            &self.table,
        ]))?;
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("nft -j list table")?;
        Ok(dropped_from_json(&v))
    }

    /// Removes the rules; the link carries TCP 647 again. Calling it twice is harmless.
    pub fn heal(&mut self) -> Result<()> {
        if self.healed {
            return Ok(());
        }
        run_checked(Command::new("ip").args([
            "netns",
            "exec",
            &self.ns,
            "nft",
            "delete",
            "table",
            "inet",
            &self.table,
        ]))?;
        self.healed = true;
        Ok(())
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        // A namespace that is already gone took the table with it.
        if self.healed || !Path::new("/run/netns").join(&self.ns).exists() {
            return;
        }
        if let Err(e) = self.heal() {
            eprintln!(
                "lab: healing partition {} in {}: {e:#}",
                self.table, self.ns
            );
        }
    }
}

/// The table: input and output base chains; in each direction that `direction` cuts, two
/// counted rules drop segments with source or destination port `port` on interface `iface_q`
/// (already a quoted nft string).
fn ruleset(table: &str, iface_q: &str, port: u16, direction: Direction) -> String {
    let rules = |on: bool, dev: &str| {
        if !on {
            return String::new();
        }
        format!(
            "\t\t{dev} {iface_q} tcp dport {port} counter drop\n\
             \t\t{dev} {iface_q} tcp sport {port} counter drop\n"
        )
    };
    format!(
        "table inet {table} {{\n\
         \tchain input {{\n\
         \t\ttype filter hook input priority filter - 10; policy accept;\n\
         {}\
         \t}}\n\
         \tchain output {{\n\
         \t\ttype filter hook output priority filter - 10; policy accept;\n\
         {}\
         \t}}\n\
         }}\n",
        rules(direction.inbound(), "iifname"),
        rules(direction.outbound(), "oifname"),
    )
}

/// Sums the rule counters of `nft -j list table` output per chain (`input`, `output`).
fn dropped_from_json(v: &serde_json::Value) -> Dropped {
    let mut d = Dropped::default();
    let items = v["nftables"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for rule in items.iter().filter_map(|i| i.get("rule")) {
        let packets: u64 = rule["expr"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|e| e["counter"]["packets"].as_u64())
            .sum();
        match rule["chain"].as_str() {
            Some("input") => d.inbound += packets,
            Some("output") => d.outbound += packets,
            _ => {}
        }
    }
    d
}

#[cfg(test)]
#[path = "partition_tests.rs"]
mod tests;
