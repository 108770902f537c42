//! Renders [`ServerParams`] as a Kea 2.2 `kea-dhcp6` JSON config or a tandemd TOML config, the
//! latter optionally with a `[failover]` section ([`FailoverParams`], RFC 8156): one
//! relationship over one subnet ([`tandem_failover_toml`]), or several relationships over
//! several subnets for a server in more than one (m-to-1, R9; [`tandem_multi_failover_toml`]).

use std::path::Path;

use serde_json::json;

use crate::fo_params::{FailoverParams, LabTls};
use crate::params::{LabDatapath, ServerParams};

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
    let mut s = server_sections(p, std::slice::from_ref(&p.interface), storage_dir);
    s += &subnet_section(p);
    s
}

/// [`tandem_toml`] plus a `[failover]` section with one relationship [RFC 8156 §6]: the keys of
/// `config/failover/primary.toml`, TLS file paths written as given (absolute in the lab).
///
/// tandemd refuses a failover config whose MCLT or any valid or preferred lifetime (address or
/// prefix) is under 30 s [RFC 8156 §1]; see [`crate::Lifetimes::FAILOVER_SHORT`].
pub fn tandem_failover_toml(p: &ServerParams, storage_dir: &Path, fo: &FailoverParams) -> String {
    let mut s = tandem_toml(p, storage_dir);
    s += "\n[failover]\n";
    s += &relationship_section(fo, &[]);
    s
}

/// One relationship of a server that holds several (m-to-1, RFC 8156 §3; R9): its parameters
/// and the ids of the subnets it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipSpec {
    /// The relationship's keys.
    pub fo: FailoverParams,
    /// `subnets = [...]`; left out when empty, which tandemd accepts only from a server with
    /// one relationship (it then covers every subnet).
    pub subnets: Vec<u32>,
}

/// Why [`tandem_multi_failover_toml`] rendered nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenderError {
    /// No subnet given: the server-level keys come from the first one.
    NoSubnets,
    /// No relationship given (a standalone server is [`tandem_toml`]).
    NoRelationships,
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NoSubnets => "a server needs at least one subnet",
            Self::NoRelationships => "a [failover] section needs at least one relationship",
        })
    }
}

impl std::error::Error for RenderError {}

/// A tandemd config with several subnets and a `[failover]` section with several relationships
/// [RFC 8156 §3; R8, R9].
///
/// The server-level keys (workers, Rapid Commit, global lifetimes, options) come from the first
/// of `subnets`; `server.interfaces` lists every subnet's `interface`, each once, in order. Each
/// subnet is rendered as [`tandem_toml`] renders its one, so a directly attached subnet is bound
/// to its `interface` (tandemd picks a direct client's subnet by the receiving interface).
pub fn tandem_multi_failover_toml(
    subnets: &[ServerParams],
    storage_dir: &Path,
    relationships: &[RelationshipSpec],
) -> Result<String, RenderError> {
    let Some(first) = subnets.first() else {
        return Err(RenderError::NoSubnets);
    };
    if relationships.is_empty() {
        return Err(RenderError::NoRelationships);
    }
    let mut interfaces: Vec<String> = Vec::new();
    for p in subnets {
        if !interfaces.contains(&p.interface) {
            interfaces.push(p.interface.clone());
        }
    }
    let mut s = server_sections(first, &interfaces, storage_dir);
    for p in subnets {
        s += &subnet_section(p);
    }
    s += "\n[failover]\n";
    for r in relationships {
        s += &relationship_section(&r.fo, &r.subnets);
    }
    Ok(s)
}

/// `[server]`, `[storage]`, the global `[lifetimes]` and `[options]`, from `p`.
fn server_sections(p: &ServerParams, interfaces: &[String], storage_dir: &Path) -> String {
    let l = p.lifetimes;
    let mut s = String::new();
    s += "[server]\n";
    let names: Vec<String> = interfaces.iter().map(|i| quote(i)).collect();
    s += &format!("interfaces = [{}]\n", names.join(", "));
    s += &format!("workers = {}\n", p.workers);
    s += &format!("rapid-commit = {}\n\n", p.rapid_commit);
    s += "[storage]\n";
    s += &format!("path = {}\n", quote(&storage_dir.display().to_string()));
    s += "durability = \"durable\"\n\n";
    s += "[datapath]\n";
    match &p.datapath {
        LabDatapath::Socket => s += "mode = \"socket\"\n\n",
        LabDatapath::Auto { object } => {
            s += "mode = \"auto\"\n";
            s += &format!("xdp-object = {}\n\n", quote(&object.display().to_string()));
        }
        LabDatapath::Xdp { object, generic } => {
            s += "mode = \"xdp\"\n";
            s += &format!("xdp-object = {}\n", quote(&object.display().to_string()));
            let attach = if *generic { "generic" } else { "native" };
            s += &format!("xdp-attach = \"{attach}\"\n\n");
        }
    }
    if let Some(listen) = p.metrics {
        s += "[metrics]\n";
        s += &format!("listen = {}\n\n", quote(&listen.to_string()));
    }
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
    s
}

/// One `[[subnet]]` with its address and prefix lifetimes.
fn subnet_section(p: &ServerParams) -> String {
    let (pfx, plen) = p.subnet_prefix;
    let (pd_base, pd_len, pd_dlen) = p.pd_pool;
    let l = p.lifetimes;
    let pl = p.pd_lifetimes;
    let mut s = String::new();
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

/// One `[[failover.relationship]]` with its TLS table; `subnets` empty leaves the key out.
fn relationship_section(fo: &FailoverParams, subnets: &[u32]) -> String {
    let mut s = String::new();
    s += "\n[[failover.relationship]]\n";
    s += &format!("name = {}\n", quote(&fo.name));
    s += &format!("role = \"{}\"\n", fo.role.as_str());
    s += &format!("partner = {}\n", quote(&fo.partner.to_string()));
    s += &format!("listen = {}\n", quote(&fo.listen.to_string()));
    if !subnets.is_empty() {
        let ids: Vec<String> = subnets.iter().map(u32::to_string).collect();
        s += &format!("subnets = [{}]\n", ids.join(", "));
    }
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
        assert!(!t.contains("[metrics]"), "{t}");
    }

    #[test]
    fn metrics_listen_is_rendered_and_parses() {
        let mut p = ServerParams::standard("srv0", true);
        p.metrics = Some("[2001:db8:ffff::1]:9547".parse().unwrap());
        let t = tandem_toml(&p, Path::new("/tmp/st"));
        assert!(
            t.contains("[metrics]\nlisten = \"[2001:db8:ffff::1]:9547\"\n"),
            "{t}"
        );
        let c = tandem_config::parse(&t, "lab.toml").unwrap();
        assert_eq!(c.metrics.unwrap().listen, p.metrics.unwrap());
    }
}

#[cfg(test)]
#[path = "render_failover_tests.rs"]
mod failover_tests;

#[cfg(test)]
mod multi_tests {
    use super::*;
    use crate::fo_params::FailoverRole;
    use crate::topology::{Partners, SERVER_IF};

    fn spec(role: FailoverRole, name: &str, subnets: Vec<u32>) -> RelationshipSpec {
        let mut fo = Partners::failover_params(role, LabTls::None);
        fo.name = name.to_owned();
        RelationshipSpec { fo, subnets }
    }

    fn failover_params(p: &mut ServerParams) {
        p.lifetimes = crate::Lifetimes::FAILOVER_SHORT;
        p.pd_lifetimes = crate::Lifetimes::FAILOVER_SHORT;
    }

    #[test]
    fn one_subnet_and_one_relationship_render_as_the_pair_config() {
        let p = ServerParams::standard(SERVER_IF, true);
        let one = spec(FailoverRole::Primary, "lab-pair", Vec::new());
        let multi = tandem_multi_failover_toml(
            std::slice::from_ref(&p),
            Path::new("/s"),
            std::slice::from_ref(&one),
        )
        .unwrap();
        assert_eq!(multi, tandem_failover_toml(&p, Path::new("/s"), &one.fo));
    }

    #[test]
    fn several_subnets_and_relationships_parse_with_their_lists() {
        let mut a = ServerParams::standard("srva0", true);
        failover_params(&mut a);
        let mut b = a.clone();
        b.interface = "srvb0".to_owned();
        b.subnet_id = 7;
        b.subnet_prefix = ("2001:db8:2::".parse().unwrap(), 64);
        b.pool = (
            "2001:db8:2::1000".parse().unwrap(),
            "2001:db8:2::ffff".parse().unwrap(),
        );
        b.pd_pool = ("2001:db8:9000::".parse().unwrap(), 40, 56);
        let mut relayed = b.clone();
        relayed.direct = false;
        relayed.subnet_id = 8;
        relayed.subnet_prefix = ("2001:db8:3::".parse().unwrap(), 64);
        relayed.pool = (
            "2001:db8:3::1000".parse().unwrap(),
            "2001:db8:3::ffff".parse().unwrap(),
        );
        relayed.pd_pool = ("2001:db8:a000::".parse().unwrap(), 40, 56);
        let mut rel_b = spec(FailoverRole::Secondary, "rel-b", vec![8, 7]);
        rel_b.fo.listen = "[fd00:647:b::2]:647".parse().unwrap();
        let rels = [spec(FailoverRole::Primary, "rel-a", vec![1]), rel_b];
        let text = tandem_multi_failover_toml(&[a, b, relayed], Path::new("/s"), &rels).unwrap();
        let c =
            tandem_config::parse(&text, "/lab/t.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(c.server.interfaces, vec!["srva0", "srvb0"], "each once");
        let fo = c.failover.unwrap();
        let got: Vec<(&str, Vec<u32>)> = fo
            .relationships
            .iter()
            .map(|r| (r.name.as_str(), r.subnets.iter().map(|s| s.0).collect()))
            .collect();
        assert_eq!(got, vec![("rel-a", vec![1]), ("rel-b", vec![8, 7])]);
        assert_eq!(fo.relationships[1].role, tandem_config::Role::Secondary);
        assert_eq!(
            fo.relationships[1].listen,
            "[fd00:647:b::2]:647".parse().unwrap()
        );
        assert!(text.contains("subnets = [8, 7]"), "{text}");
    }

    #[test]
    fn two_relationships_without_subnet_lists_are_refused_by_tandemd() {
        let mut p = ServerParams::standard(SERVER_IF, true);
        failover_params(&mut p);
        let rels = [
            spec(FailoverRole::Primary, "rel-a", Vec::new()),
            spec(FailoverRole::Secondary, "rel-b", Vec::new()),
        ];
        let text = tandem_multi_failover_toml(&[p], Path::new("/s"), &rels).unwrap();
        assert!(!text.contains("subnets ="), "{text}");
        let err = tandem_config::parse(&text, "/lab/t.toml").unwrap_err();
        assert!(err.to_string().contains("subnets"), "{err}");
    }

    #[test]
    fn nothing_to_render_is_an_error() {
        let p = ServerParams::standard(SERVER_IF, true);
        let one = [spec(FailoverRole::Primary, "x", Vec::new())];
        assert_eq!(
            tandem_multi_failover_toml(&[], Path::new("/s"), &one),
            Err(RenderError::NoSubnets)
        );
        let err = tandem_multi_failover_toml(&[p], Path::new("/s"), &[]).unwrap_err();
        assert_eq!(err, RenderError::NoRelationships);
        assert!(err.to_string().contains("relationship"));
    }
}
