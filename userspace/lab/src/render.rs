//! Renders [`ServerParams`] as a Kea 2.2 `kea-dhcp6` JSON config or a tandemd TOML config, the
//! latter optionally with a `[failover]` section ([`FailoverParams`], RFC 8156).

use std::path::Path;

use serde_json::json;

use crate::fo_params::{FailoverParams, LabTls};
use crate::params::ServerParams;

/// Kea `Dhcp6` config: memfile with persist into `lease_file`, no control socket, LFC off.
pub fn kea_json(p: &ServerParams, lease_file: &Path) -> String {
    let (pfx, plen) = p.subnet_prefix;
    let (pd_base, pd_len, pd_dlen) = p.pd_pool;
    let mut subnet = json!({
        "id": p.subnet_id,
        "subnet": format!("{pfx}/{plen}"),
        "pools": [{ "pool": format!("{}-{}", p.pool.0, p.pool.1) }],
        "pd-pools": [{ "prefix": pd_base.to_string(), "prefix-len": pd_len,
                        "delegated-len": pd_dlen }],
        "renew-timer": p.lifetimes.t1,
        "rebind-timer": p.lifetimes.t2,
        "preferred-lifetime": p.lifetimes.preferred,
        "valid-lifetime": p.lifetimes.valid,
        "rapid-commit": p.rapid_commit,
    });
    if p.direct {
        subnet["interface"] = json!(p.interface);
    }
    let listen = match p.unicast {
        Some(a) => format!("{}/{a}", p.interface),
        None => p.interface.clone(),
    };
    let cfg = json!({
        "Dhcp6": {
            "interfaces-config": { "interfaces": [listen] },
            // A fixed DUID-EN, not persisted: Kea keeps no state outside the test's directory
            // and clients keep talking to the same server identity across restarts.
            "server-id": { "type": "EN", "enterprise-id": 2495, "identifier": "7461626c6162",
                           "persist": false },
            "lease-database": {
                "type": "memfile", "persist": true, "name": lease_file.display().to_string(),
                "lfc-interval": 0
            },
            "expired-leases-processing": { "reclaim-timer-wait-time": 1,
                "hold-reclaimed-time": 0, "flush-reclaimed-timer-wait-time": 0 },
            "option-data": [
                { "name": "dns-servers", "data": join(&p.dns_servers) },
                { "name": "domain-search", "data": p.domain_search.join(", ") },
                { "name": "preference", "data": "255" }
            ],
            "subnet6": [subnet],
            "loggers": [{ "name": "kea-dhcp6", "severity": "INFO",
                "output_options": [{ "output": "stderr" }] }]
        }
    });
    serde_json::to_string_pretty(&cfg).unwrap_or_default()
}

/// tandemd TOML per /work/notes/config-format.md, storage in `storage_dir`.
pub fn tandem_toml(p: &ServerParams, storage_dir: &Path) -> String {
    let (pfx, plen) = p.subnet_prefix;
    let (pd_base, pd_len, pd_dlen) = p.pd_pool;
    let l = p.lifetimes;
    let pl = p.pd_lifetimes;
    let mut s = String::new();
    s += "[server]\n";
    s += &format!("interfaces = [{}]\n", quote(&p.interface));
    s += &format!("workers = {}\n", p.workers);
    s += &format!("rapid-commit = {}\n\n", p.rapid_commit);
    s += "[storage]\n";
    s += &format!("path = {}\n", quote(&storage_dir.display().to_string()));
    s += "durability = \"durable\"\n\n";
    s += "[lifetimes]\n";
    s += &format!(
        "preferred = {}\nvalid = {}\nt1 = {}\nt2 = {}\n\n",
        l.preferred, l.valid, l.t1, l.t2
    );
    s += "[options]\n";
    let dns: Vec<String> = p
        .dns_servers
        .iter()
        .map(|a| quote(&a.to_string()))
        .collect();
    s += &format!("dns-servers = [{}]\n", dns.join(", "));
    let ds: Vec<String> = p.domain_search.iter().map(|d| quote(d)).collect();
    s += &format!("domain-search = [{}]\n", ds.join(", "));
    s += "preference = 255\n\n";
    s += "[[subnet]]\n";
    s += &format!("id = {}\n", p.subnet_id);
    s += &format!("prefix = \"{pfx}/{plen}\"\n");
    if p.direct {
        s += &format!("interface = {}\n", quote(&p.interface));
    }
    s += &format!("pools = [\"{}-{}\"]\n", p.pool.0, p.pool.1);
    s += &format!(
        "pd-pools = [{{ prefix = \"{pd_base}/{pd_len}\", delegated-length = {pd_dlen} }}]\n"
    );
    s += "[subnet.lifetimes]\n";
    s += &format!(
        "preferred = {}\nvalid = {}\nt1 = {}\nt2 = {}\n",
        l.preferred, l.valid, l.t1, l.t2
    );
    s += "[subnet.pd-lifetimes]\n";
    s += &format!(
        "preferred = {}\nvalid = {}\nt1 = {}\nt2 = {}\n",
        pl.preferred, pl.valid, pl.t1, pl.t2
    );
    s
}

/// [`tandem_toml`] plus a `[failover]` section with one relationship [RFC 8156 §6]: the keys of
/// `config/failover/primary.toml`, TLS file paths written as given (absolute in the lab).
///
/// tandemd refuses a failover config whose MCLT or any valid or preferred lifetime (address or
/// prefix) is under 30 s [RFC 8156 §1]; see [`crate::Lifetimes::FAILOVER_SHORT`].
pub fn tandem_failover_toml(p: &ServerParams, storage_dir: &Path, fo: &FailoverParams) -> String {
    let mut s = tandem_toml(p, storage_dir);
    s += "\n[failover]\n\n[[failover.relationship]]\n";
    s += &format!("name = {}\n", quote(&fo.name));
    s += &format!("role = \"{}\"\n", fo.role.as_str());
    s += &format!("partner = {}\n", quote(&fo.partner.to_string()));
    s += &format!("listen = {}\n", quote(&fo.listen.to_string()));
    s += &format!("mclt = {}\n", fo.mclt_s);
    s += &format!("keepalive = {}\n", fo.keepalive_s);
    s += &format!("contact-interval = {}\n", fo.contact_interval_s);
    s += &format!("max-unacked-bndupd = {}\n", fo.max_unacked);
    s += &format!("startup-timer = {}\n", fo.startup_timer_s);
    s += &format!("reconnect-initial = {}\n", fo.reconnect_initial_ms);
    s += &format!("reconnect-cap = {}\n", fo.reconnect_cap_ms);
    if let Some(after_s) = fo.auto_partner_down_s {
        s += &format!("auto-partner-down = {after_s}\n");
    }
    s += "\n[failover.relationship.tls]\n";
    match &fo.tls {
        LabTls::Mutual {
            cert,
            key,
            ca,
            partner_name,
        } => {
            s += "mode = \"mutual\"\n";
            s += &format!("cert = {}\n", quote(&cert.display().to_string()));
            s += &format!("key = {}\n", quote(&key.display().to_string()));
            s += &format!("ca = {}\n", quote(&ca.display().to_string()));
            if let Some(name) = partner_name {
                s += &format!("partner-name = {}\n", quote(name));
            }
        }
        LabTls::None => s += "mode = \"none\"\n",
    }
    s
}

fn join(v: &[std::net::Ipv6Addr]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kea_config_is_json_with_pools() {
        let p = ServerParams::standard("srv0", true);
        let v: serde_json::Value =
            serde_json::from_str(&kea_json(&p, Path::new("/tmp/x.csv"))).unwrap();
        let s = &v["Dhcp6"]["subnet6"][0];
        assert_eq!(s["pools"][0]["pool"], "2001:db8:1::1000-2001:db8:1::ffff");
        assert_eq!(s["pd-pools"][0]["delegated-len"], 56);
        assert_eq!(s["interface"], "srv0");
        assert_eq!(v["Dhcp6"]["lease-database"]["persist"], true);
        assert_eq!(v["Dhcp6"]["interfaces-config"]["interfaces"][0], "srv0");
        let mut p = p;
        p.unicast = Some("2001:db8:1::1".parse().unwrap());
        let v: serde_json::Value =
            serde_json::from_str(&kea_json(&p, Path::new("/tmp/x.csv"))).unwrap();
        assert_eq!(
            v["Dhcp6"]["interfaces-config"]["interfaces"][0],
            "srv0/2001:db8:1::1"
        );
    }

    #[test]
    fn tandem_config_names_every_part() {
        let p = ServerParams::standard("srv0", false);
        let t = tandem_toml(&p, Path::new("/tmp/st"));
        assert!(t.contains("interfaces = [\"srv0\"]"), "{t}");
        assert!(
            t.contains("pools = [\"2001:db8:1::1000-2001:db8:1::ffff\"]"),
            "{t}"
        );
        assert!(t.contains("delegated-length = 56"), "{t}");
        assert!(
            !t.contains("interface = \"srv0\""),
            "relayed subnet has no interface: {t}"
        );
    }
}

#[cfg(test)]
#[path = "render_failover_tests.rs"]
mod failover_tests;
