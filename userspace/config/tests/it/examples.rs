//! Every file in the repository's `config/` directory loads: found by `read_dir`, so nothing can
//! be left out.

use std::net::Ipv6Addr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use tandem_config::{load, Durability};
use tandem_engine::policy::SubnetId;

pub(crate) fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// Every `*.toml` under `dir`, recursively, sorted.
pub(crate) fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(toml_files(&path));
        } else if path.extension().is_some_and(|x| x == "toml") {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_example_config_loads() {
    let files = toml_files(&config_dir());
    let names: Vec<_> = files
        .iter()
        .filter_map(|p| p.file_name()?.to_str())
        .collect();
    // The walk is recursive: config/failover/ holds the example failover pair.
    for expected in [
        "standalone.toml",
        "lab.toml",
        "primary.toml",
        "secondary.toml",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    for file in &files {
        let config = load(file).unwrap_or_else(|e| panic!("{e}"));
        assert!(!config.server.interfaces.is_empty(), "{}", file.display());
    }
}

#[test]
fn lab_config_is_what_the_lab_expects() {
    let config = load(&config_dir().join("lab.toml")).unwrap();
    assert_eq!(config.server.interfaces, ["veth-srv"]);
    assert_eq!(config.server.workers, NonZeroUsize::new(2));
    assert_eq!(config.storage.path, Path::new("/tmp/tandem-lab"));
    assert_eq!(config.storage.durability, Durability::Durable);
    let policy = config.policy(vec![0, 1]);
    let [subnet] = &policy.subnets[..] else {
        panic!("one subnet: {policy:?}")
    };
    assert_eq!(subnet.id, SubnetId(1));
    assert_eq!(subnet.interface.as_deref(), Some("veth-srv"));
    assert_eq!(
        (subnet.prefix, subnet.prefix_len),
        ("2001:db8:1::".parse().unwrap(), 64)
    );
    assert_eq!(
        subnet.ranges[0].first,
        "2001:db8:1::1000".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        subnet.ranges[0].last,
        "2001:db8:1::ffff".parse::<Ipv6Addr>().unwrap()
    );
    let pool = subnet.pd_pools[0];
    assert_eq!(pool.prefix, "2001:db8:8000::".parse::<Ipv6Addr>().unwrap());
    assert_eq!((pool.prefix_len, pool.delegated_len), (40, 56));
}

#[test]
fn standalone_config_has_a_direct_and_a_relayed_subnet() {
    let config = load(&config_dir().join("standalone.toml")).unwrap();
    let policy = config.policy(vec![0, 1]);
    assert_eq!(policy.subnets.len(), 2);
    assert!(policy.subnets[0].interface.is_some());
    assert!(policy.subnets[1].interface.is_none());
    assert!(policy.subnets.iter().all(|s| s
        .pd_pools
        .iter()
        .all(|p| p.prefix_len == 40 && p.delegated_len == 56)));
    assert_eq!(policy.subnets[0].reservations.len(), 1);
    assert!(!policy.options.dns_servers.is_empty() && !policy.options.domain_search.is_empty());
}
