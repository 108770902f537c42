//! What a reload may change live, and what needs a restart.
//!
//! Live: what the engine's [`Policy`] holds (options, lifetimes, rapid-commit, decline-hold, a
//! subnet's prefix and interface; and the resource layout, below): the workers swap their
//! engine and re-slice their shards. A restart: what start-up alone sets up (the store, the
//! worker count and shard layout, sockets and interfaces, the server DUID, the datapath, the
//! metrics listener, the control socket) and the whole `[failover]` table (relationships,
//! partner, TLS, MCLT: the control thread and its partner sessions are built from it once).
//!
//! Changes to the resource layout — subnets added or removed, address pools, prefix-delegation
//! pools, reservations — are live only on a standalone server with one worker. Each worker
//! allocates from the indexes of a pool that are its own (`index % workers`), so a pool that
//! moves or grows moves indexes, and the addresses already bound at them, to another worker,
//! which does not know they are bound; a reservation added or ended has the same problem
//! across workers. Until workers exchange what they hold during a reload, such changes need a
//! restart, where the store places every lease by the new layout. On a failover server they
//! also touch the relationship's subnets (fixed when the control thread starts, RFC 8156
//! §5.1), the FREE-BACKUP split of delegable prefixes (§4.2.2) and an open PARTNER-DOWN half.

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
    let one_worker_standalone =
        new.server.workers.map(|n| n.get()) == Some(1) && new.failover.is_none();
    if !one_worker_standalone {
        // The DUID is the same on both sides and irrelevant here.
        let (old_p, new_p) = (old.policy(Vec::new()), new.policy(Vec::new()));
        let (a, b) = (by_id(&old_p), by_id(&new_p));
        let why = "(live only with one worker and no failover)";
        if a.keys().ne(b.keys()) {
            out.push(format!("subnets added or removed {why}"));
        }
        for (id, s) in &a {
            let Some(n) = b.get(id) else { continue };
            for (key, changed) in [
                ("pools", n.ranges != s.ranges),
                ("pd-pools", n.pd_pools != s.pd_pools),
                ("reservations", n.reservations != s.reservations),
            ] {
                if changed {
                    out.push(format!("subnet {id} {key} {why}"));
                }
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
