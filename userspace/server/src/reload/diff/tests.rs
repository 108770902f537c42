use super::*;

const BASE: &str = r#"
[server]
interfaces = ["veth-srv"]
workers = 2

[storage]
path = "/tmp/tandem-reload-test"

[lifetimes]
preferred = 3000
valid = 4000

[options]
dns-servers = ["2001:db8:1::53"]

[[subnet]]
id = 1
prefix = "2001:db8:1::/64"
interface = "veth-srv"
pools = ["2001:db8:1::1000-2001:db8:1::ffff"]
pd-pools = [{ prefix = "2001:db8:8000::/40", delegated-length = 56 }]
"#;

const FAILOVER: &str = r#"
[failover]
[[failover.relationship]]
name = "pair"
role = "primary"
partner = "2001:db8:0:647::2"
listen = "[2001:db8:0:647::1]:647"
mclt = 60
[failover.relationship.tls]
mode = "none"
"#;

fn config(text: &str) -> Config {
    tandem_config::parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// `BASE` with `from` replaced by `to` (which must occur).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1)
}

fn live(a: &str, b: &str) -> Vec<String> {
    live_changes(&config(a).policy(vec![1]), &config(b).policy(vec![1]))
}

#[test]
fn the_same_file_changes_nothing() {
    assert!(restart_needed(&config(BASE), &config(BASE)).is_empty());
    assert!(live(BASE, BASE).is_empty());
}

#[test]
fn pools_lifetimes_options_and_reservations_change_live() {
    let grown = edit(
        BASE,
        r#"pools = ["2001:db8:1::1000-2001:db8:1::ffff"]"#,
        r#"pools = ["2001:db8:1::1000-2001:db8:1::ffff", "2001:db8:1::2:0-2001:db8:1::2:ff"]"#,
    );
    let grown = edit(&grown, "valid = 4000", "valid = 5000");
    let grown = edit(&grown, r#"["2001:db8:1::53"]"#, r#"["2001:db8:1::54"]"#);
    // With two workers a pool change moves bound addresses between them: a restart.
    assert_eq!(
        restart_needed(&config(BASE), &config(&grown)),
        ["subnet 1 pools (live only with one worker and no failover)"]
    );
    // With one worker, standalone, it is live.
    let one = edit(BASE, "workers = 2", "workers = 1");
    let grown = edit(&grown, "workers = 2", "workers = 1");
    assert!(restart_needed(&config(&one), &config(&grown)).is_empty());
    // Global options and lifetimes are merged into each subnet.
    assert_eq!(
        live(BASE, &grown),
        ["options", "subnet 1: pools, lifetimes, options"]
    );
    let reserved = format!(
        "{BASE}[[subnet.reservation]]\nduid = \"00:01:02\"\naddresses = [\"2001:db8:1::5\"]\n"
    );
    assert_eq!(live(BASE, &reserved), ["subnet 1: reservations"]);
    assert_eq!(
        restart_needed(&config(BASE), &config(&reserved)),
        ["subnet 1 reservations (live only with one worker and no failover)"]
    );
    // Lifetimes and options alone are live with any number of workers.
    let lifetimes = edit(BASE, "valid = 4000", "valid = 5000");
    assert!(restart_needed(&config(BASE), &config(&lifetimes)).is_empty());
}

#[test]
fn subnets_added_and_removed_are_named() {
    let two = format!(
        "{BASE}\n[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\npools = [\"2001:db8:2::10-2001:db8:2::20\"]\n"
    );
    assert_eq!(
        restart_needed(&config(BASE), &config(&two)),
        ["subnets added or removed (live only with one worker and no failover)"]
    );
    assert_eq!(live(BASE, &two), ["subnet 2 added"]);
    assert_eq!(live(&two, BASE), ["subnet 2 removed"]);
    let hold = edit(BASE, "workers = 2", "workers = 2\ndecline-hold = 60");
    assert_eq!(live(BASE, &hold), ["decline-hold"]);
}

#[test]
fn start_up_settings_need_a_restart_and_are_all_listed() {
    let changed = edit(BASE, "workers = 2", "workers = 3");
    let changed = edit(&changed, "/tmp/tandem-reload-test", "/tmp/elsewhere");
    let changed = format!("{changed}\n[metrics]\nlisten = \"127.0.0.1:9547\"\n");
    assert_eq!(
        restart_needed(&config(BASE), &config(&changed)),
        // The control socket's default lives in the storage directory: it moves too.
        ["server.workers", "storage.path", "metrics", "control"]
    );
    let durability = edit(
        BASE,
        "path = \"/tmp/tandem-reload-test\"",
        "path = \"/tmp/tandem-reload-test\"\ndurability = \"os-buffer\"",
    );
    assert_eq!(
        restart_needed(&config(BASE), &config(&durability)),
        ["storage.durability"]
    );
}

#[test]
fn failover_changes_need_a_restart() {
    let fo = format!("{BASE}{FAILOVER}");
    assert_eq!(restart_needed(&config(BASE), &config(&fo)), ["failover"]);
    let mclt = edit(&fo, "mclt = 60", "mclt = 90");
    assert_eq!(restart_needed(&config(&fo), &config(&mclt)), ["failover"]);
    // Lifetimes may change on a failover server...
    let lifetimes = edit(&fo, "valid = 4000", "valid = 5000");
    assert!(restart_needed(&config(&fo), &config(&lifetimes)).is_empty());
    // ...pools may not, even with one worker.
    let one = edit(&fo, "workers = 2", "workers = 1");
    let pools = edit(
        &one,
        "2001:db8:1::1000-2001:db8:1::ffff",
        "2001:db8:1::1000-2001:db8:1::1:ffff",
    );
    assert_eq!(
        restart_needed(&config(&one), &config(&pools)),
        ["subnet 1 pools (live only with one worker and no failover)"]
    );
    let pd = edit(&fo, "delegated-length = 56", "delegated-length = 60");
    assert_eq!(
        restart_needed(&config(&fo), &config(&pd)),
        ["subnet 1 pd-pools (live only with one worker and no failover)"]
    );
    let two = format!(
        "{BASE}\n[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\npools = [\"2001:db8:2::10-2001:db8:2::20\"]\n{FAILOVER}"
    );
    // The only relationship covers every subnet when it names none: it changes too.
    assert_eq!(
        restart_needed(&config(&fo), &config(&two)),
        [
            "failover",
            "subnets added or removed (live only with one worker and no failover)"
        ]
    );
}
