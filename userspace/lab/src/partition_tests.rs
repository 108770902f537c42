//! Namespaced: TCP 647 between the partners is cut while the partition stands and flows again
//! after heal or drop; other ports and the host's ruleset are untouched.

use super::*;
use crate::pair::{Partners, PARTNER_IF, PRIMARY_FO_ADDR, SECONDARY_FO_ADDR};
use crate::test_support::{tcp_connects, tcp_listen};

/// Tables in the host's (this process's) network namespace.
fn host_tables() -> String {
    let out = run_checked(Command::new("nft").args(["list", "tables"])).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn ns_tables(ns: &Netns) -> String {
    ns.run(&["nft", "list", "tables"]).unwrap()
}

/// Whether the primary reaches the secondary, and the secondary the primary, on `port`.
fn both_ways(p: &Partners, port: u16) -> (bool, bool) {
    (
        tcp_connects(&p.primary, SECONDARY_FO_ADDR, port),
        tcp_connects(&p.secondary, PRIMARY_FO_ADDR, port),
    )
}

#[test]
fn cut_drops_port_647_both_ways_until_healed() {
    crate::preflight().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = Partners::new().unwrap();
    let _l1 = tcp_listen(&p.secondary, SECONDARY_FO_ADDR, FAILOVER_PORT, dir.path());
    let _l2 = tcp_listen(&p.primary, PRIMARY_FO_ADDR, FAILOVER_PORT, dir.path());
    let _l3 = tcp_listen(&p.secondary, SECONDARY_FO_ADDR, 648, dir.path());
    assert_eq!(both_ways(&p, FAILOVER_PORT), (true, true), "before the cut");

    let mut cut = Partition::cut(&p.primary, PARTNER_IF).unwrap();
    assert!(cut.is_cut());
    assert!(ns_tables(&p.primary).contains(cut.table()));
    assert!(!ns_tables(&p.secondary).contains(cut.table()));
    assert!(
        !host_tables().contains(cut.table()),
        "rules leaked to the host"
    );
    assert_eq!(both_ways(&p, FAILOVER_PORT), (false, false), "while cut");
    // The primary's SYNs died leaving it, the secondary's arriving.
    let d = cut.dropped().unwrap();
    assert!(d.inbound > 0 && d.outbound > 0, "{d:?}");
    assert!(
        tcp_connects(&p.primary, SECONDARY_FO_ADDR, 648),
        "another port was cut too"
    );

    cut.heal().unwrap();
    assert!(!cut.is_cut());
    cut.heal().unwrap();
    assert!(cut.dropped().is_err(), "no counters after heal");
    assert!(!ns_tables(&p.primary).contains(cut.table()));
    assert_eq!(both_ways(&p, FAILOVER_PORT), (true, true), "after heal");
}

#[test]
fn drop_heals_and_cuts_stack() {
    crate::preflight().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = Partners::new().unwrap();
    let _l = tcp_listen(&p.secondary, SECONDARY_FO_ADDR, FAILOVER_PORT, dir.path());
    {
        let a = Partition::cut(&p.secondary, PARTNER_IF).unwrap();
        let b = Partition::cut(&p.primary, PARTNER_IF).unwrap();
        assert_ne!(a.table(), b.table());
        assert!(!tcp_connects(&p.primary, SECONDARY_FO_ADDR, FAILOVER_PORT));
        drop(b);
        // The secondary's cut alone still holds.
        assert!(!tcp_connects(&p.primary, SECONDARY_FO_ADDR, FAILOVER_PORT));
        assert!(ns_tables(&p.secondary).contains(a.table()));
    }
    assert!(!ns_tables(&p.secondary).contains("tandem_part_"));
    assert!(!ns_tables(&p.primary).contains("tandem_part_"));
    assert!(tcp_connects(&p.primary, SECONDARY_FO_ADDR, FAILOVER_PORT));
}

#[test]
fn dropping_after_the_namespace_is_gone_is_quiet() {
    crate::preflight().unwrap();
    let ns = Netns::new().unwrap();
    // iifname/oifname match by name: the interface need not exist.
    let cut = Partition::cut(&ns, "fo0").unwrap();
    let name = ns.name().to_owned();
    drop(ns);
    assert!(!Path::new("/run/netns").join(&name).exists());
    drop(cut);
}

#[test]
fn one_way_cuts_drop_only_their_direction() {
    crate::preflight().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = Partners::new().unwrap();
    let _l = tcp_listen(&p.secondary, SECONDARY_FO_ADDR, FAILOVER_PORT, dir.path());

    // Deaf secondary: the primary's SYNs are dropped arriving; nothing is dropped leaving.
    let mut deaf = Partition::one_way(&p.secondary, PARTNER_IF, Direction::Inbound).unwrap();
    assert!(!tcp_connects(&p.primary, SECONDARY_FO_ADDR, FAILOVER_PORT));
    let d = deaf.dropped().unwrap();
    assert!(d.inbound > 0 && d.outbound == 0, "{d:?}");
    deaf.heal().unwrap();
    assert!(tcp_connects(&p.primary, SECONDARY_FO_ADDR, FAILOVER_PORT));

    // Mute secondary: the SYNs get in, its SYN-ACKs are dropped leaving.
    let mute = Partition::one_way(&p.secondary, PARTNER_IF, Direction::Outbound).unwrap();
    assert!(!tcp_connects(&p.primary, SECONDARY_FO_ADDR, FAILOVER_PORT));
    let d = mute.dropped().unwrap();
    assert!(d.inbound == 0 && d.outbound > 0, "{d:?}");
    drop(mute);
    assert!(tcp_connects(&p.primary, SECONDARY_FO_ADDR, FAILOVER_PORT));
}

#[test]
fn the_ruleset_names_only_its_table_interface_and_port() {
    let r = ruleset("tandem_part_1_0", "\"fo0\"", 647, Direction::Both);
    assert!(r.starts_with("table inet tandem_part_1_0 {"));
    assert_eq!(r.matches(" counter drop").count(), 4);
    assert_eq!(r.matches("\"fo0\"").count(), 4);
    assert_eq!(r.matches("port 647").count(), 4);
    assert!(r.contains("hook input") && r.contains("hook output"));
    let inbound = ruleset("t", "\"fo0\"", 647, Direction::Inbound);
    assert_eq!(inbound.matches("iifname").count(), 2);
    assert_eq!(inbound.matches("oifname").count(), 0);
    let outbound = ruleset("t", "\"fo0\"", 648, Direction::Outbound);
    assert_eq!(outbound.matches("iifname").count(), 0);
    assert_eq!(outbound.matches("oifname \"fo0\" tcp sport 648").count(), 1);
}

#[test]
fn counters_are_summed_per_chain() {
    let v: serde_json::Value = serde_json::from_str(
        r#"{"nftables": [
          {"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
          {"table": {"family": "inet", "name": "t", "handle": 1}},
          {"chain": {"family": "inet", "table": "t", "name": "input", "handle": 1}},
          {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 3, "expr": [
            {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "fo0"}},
            {"counter": {"packets": 3, "bytes": 240}}, {"drop": null}]}},
          {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 4, "expr": [
            {"counter": {"packets": 2, "bytes": 160}}, {"drop": null}]}},
          {"rule": {"family": "inet", "table": "t", "chain": "output", "handle": 6, "expr": [
            {"counter": {"packets": 7, "bytes": 560}}, {"drop": null}]}}
        ]}"#,
    )
    .unwrap();
    assert_eq!(
        dropped_from_json(&v),
        Dropped {
            inbound: 5,
            outbound: 7
        }
    );
    assert_eq!(
        dropped_from_json(&serde_json::json!({})),
        Dropped::default()
    );
}
