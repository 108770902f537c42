//! What a reload may change live, and what needs a restart.
//!
//! Live: everything the engine's [`Policy`] holds (subnets, address pools, prefix-delegation
//! pools, reservations, options, lifetimes, rapid-commit, decline-hold): the workers swap their
//! engine and re-slice their shards. A restart: what start-up alone sets up (the store, the
//! worker count and shard layout, sockets and interfaces, the server DUID, the datapath, the
//! metrics listener, the control socket) and the whole `[failover]` table (relationships,
//! partner, TLS, MCLT: the control thread and its partner sessions are built from it once).
//!
//! On a server with `[failover]`, two policy changes need a restart as well: adding or removing
//! subnets (a relationship's subnets are fixed when the control thread starts, RFC 8156 §5.1),
//! and changing prefix-delegation pools (the FREE-BACKUP records that split delegable prefixes
//! between the partners are kept by pool index, RFC 8156 §4.2.2). Address pools may change:
//! their halves go by the address's last bit (§4.2.1), which no pool layout changes.

use std::collections::BTreeMap;

use tandem_config::Config;
use tandem_engine::policy::{Policy, Subnet};

/// The config keys whose change needs a restart, in file order; empty when none.
pub(crate) fn restart_needed(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut differs = |key: &str, changed: bool| {
        if changed {
            out.push(key.to_owned());
        }
    };
    differs(
        "server.interfaces",
        old.server.interfaces != new.server.interfaces,
    );
    differs("server.workers", old.server.workers != new.server.workers);
    differs(
        "server.server-duid",
        old.server.server_duid != new.server.server_duid,
    );
    differs("storage.path", old.storage.path != new.storage.path);
    differs(
        "storage.durability",
        old.storage.durability != new.storage.durability,
    );
    differs("datapath", old.datapath != new.datapath);
    differs("metrics", old.metrics != new.metrics);
    differs("control", old.control != new.control);
    differs("failover", old.failover != new.failover);
    if old.failover.is_some() && new.failover.is_some() {
        // The DUID is the same on both sides and irrelevant here.
        let (old_p, new_p) = (old.policy(Vec::new()), new.policy(Vec::new()));
        let (a, b) = (by_id(&old_p), by_id(&new_p));
        if a.keys().ne(b.keys()) {
            out.push("subnet ids (on a failover server)".to_owned());
        }
        for (id, s) in &a {
            if b.get(id).is_some_and(|n| n.pd_pools != s.pd_pools) {
                out.push(format!("subnet {id} pd-pools (on a failover server)"));
            }
        }
    }
    out
}

/// What differs between two policies, as short phrases ("subnet 1: pools, lifetimes",
/// "subnet 3 added"); empty when they are the same. The server DUID is not compared.
pub(crate) fn live_changes(old: &Policy, new: &Policy) -> Vec<String> {
    let mut out = Vec::new();
    if old.decline_hold_s != new.decline_hold_s {
        out.push("decline-hold".to_owned());
    }
    if old.options != new.options {
        out.push("options".to_owned());
    }
    let (a, b) = (by_id(old), by_id(new));
    for (id, s) in &a {
        match b.get(id) {
            None => out.push(format!("subnet {id} removed")),
            Some(n) => {
                let fields = subnet_changes(s, n);
                if !fields.is_empty() {
                    out.push(format!("subnet {id}: {}", fields.join(", ")));
                }
            }
        }
    }
    for id in b.keys().filter(|id| !a.contains_key(id)) {
        out.push(format!("subnet {id} added"));
    }
    out
}

fn by_id(p: &Policy) -> BTreeMap<u32, &Subnet> {
    p.subnets.iter().map(|s| (s.id.0, s)).collect()
}

/// The config keys of one subnet that differ.
fn subnet_changes(a: &Subnet, b: &Subnet) -> Vec<&'static str> {
    let mut out = Vec::new();
    let fields = [
        (
            "prefix",
            (a.prefix, a.prefix_len) != (b.prefix, b.prefix_len),
        ),
        ("interface", a.interface != b.interface),
        ("pools", a.ranges != b.ranges),
        ("pd-pools", a.pd_pools != b.pd_pools),
        ("reservations", a.reservations != b.reservations),
        ("lifetimes", a.lifetimes != b.lifetimes),
        ("pd-lifetimes", a.pd_lifetimes != b.pd_lifetimes),
        ("rapid-commit", a.rapid_commit != b.rapid_commit),
        ("options", a.options != b.options),
    ];
    for (name, changed) in fields {
        if changed {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests;
