//! The reload path against workers stood in for by threads, and the engine + shard side of a
//! reload that shrinks a pool (RFC 8415 §18.3.4).

use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::Arc;
use std::thread::JoinHandle;

use tandem_engine::{Engine, RxMeta};
use tandem_lease::{LeaseChange, LeaseKind, PoolRange, Resource, Shard};
use tandem_wire::testdata;

use super::*;
use crate::worker::reconfigure::{Done, Request};

const CONFIG: &str = r#"
[server]
interfaces = ["eth0"]
workers = 1

[storage]
path = "/tmp/tandem-reload-unit"

[lifetimes]
preferred = 3000
valid = 4000

[[subnet]]
id = 1
prefix = "2001:db8:1::/64"
interface = "eth0"
pools = ["2001:db8:1::100-2001:db8:1::1ff"]
pd-pools = [{ prefix = "2001:db8:ab00::/40", delegated-length = 56 }]
"#;

const ETH0: u32 = 7;

/// Two stand-in workers: each answers every new configuration with what its engine holds.
struct Workers {
    links: Vec<ReconfigureLink>,
    seen: crossbeam_channel::Receiver<Vec<tandem_lease::PoolDef>>,
    threads: Vec<JoinHandle<()>>,
}

fn workers(n: u32) -> Workers {
    let (seen_tx, seen) = crossbeam_channel::unbounded();
    let mut links = Vec::new();
    let mut threads = Vec::new();
    for id in 0..n {
        let wake = Arc::new(crate::worker::new_eventfd().unwrap());
        let (link, rx) = reconfigure::link(wake);
        links.push(link);
        let seen_tx = seen_tx.clone();
        threads.push(std::thread::spawn(move || {
            while let Ok(Request { engine, reply }) = rx.recv() {
                seen_tx.send(engine.pool_defs().to_vec()).unwrap();
                let _ = reply.send(Done {
                    worker: id,
                    leases_before: 3,
                    leases_after: 3,
                    shard: tandem_lease::Reconfigured::default(),
                });
            }
        }));
    }
    Workers {
        links,
        seen,
        threads,
    }
}

fn reloader(dir: &Path, w: &Workers) -> (Reloader, PathBuf, Vec<Arc<Shared>>, SubnetList) {
    let path = dir.join("tandem.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let config = check(&path).unwrap();
    let stats: Vec<_> = (0..w.links.len()).map(|_| Shared::new(&[1])).collect();
    let list = SubnetList::new(metrics::subnet_infos(&config.policy(vec![1]).subnets));
    let r = Reloader::new(Setup {
        path: path.clone(),
        config,
        server_duid: vec![0, 1, 2, 3],
        interfaces: vec![("eth0".into(), ETH0)],
        workers: w.links.clone(),
        stats: stats.clone(),
        metrics: Some(list.clone()),
    });
    (r, path, stats, list)
}

#[test]
fn a_broken_file_is_refused_with_its_line_and_nothing_reaches_the_workers() {
    let dir = tempfile::tempdir().unwrap();
    let w = workers(2);
    let (mut r, path, _, _) = reloader(dir.path(), &w);
    std::fs::write(&path, CONFIG.replace("valid = 4000", "valid = = 4000")).unwrap();
    let err = r.reload("test").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Refused::Invalid(_)), "{err:?}");
    assert!(text.contains("tandem.toml:11"), "{text}");
    // A semantic error names its key.
    std::fs::write(&path, CONFIG.replace("valid = 4000", "valid = 1000")).unwrap();
    let text = r.reload("test").unwrap_err().to_string();
    assert!(text.contains("lifetimes"), "{text}");
    assert!(w.seen.try_recv().is_err(), "no worker was sent anything");
    // The running configuration is still the old one: the original file is "no change".
    std::fs::write(&path, CONFIG).unwrap();
    assert_eq!(r.reload("test").unwrap(), "no change");
}

#[test]
fn a_restart_only_change_is_refused_as_a_whole() {
    let dir = tempfile::tempdir().unwrap();
    let w = workers(2);
    let (mut r, path, _, _) = reloader(dir.path(), &w);
    let both = CONFIG
        .replace("workers = 1", "workers = 4")
        .replace("::1ff\"]", "::2ff\"]");
    std::fs::write(&path, both).unwrap();
    let err = r.reload("test").unwrap_err();
    // With four workers the pool change needs a restart too.
    assert_eq!(
        err,
        Refused::RestartNeeded(vec![
            "server.workers".into(),
            "subnet 1 pools (live only with one worker and no failover)".into()
        ])
    );
    assert!(err
        .to_string()
        .starts_with("restart needed: server.workers"));
    assert!(
        w.seen.try_recv().is_err(),
        "the pool change was not applied either"
    );
}

#[test]
fn a_live_change_reaches_every_worker_and_the_subnet_metrics_follow() {
    let dir = tempfile::tempdir().unwrap();
    let w = workers(2);
    let (mut r, path, stats, list) = reloader(dir.path(), &w);
    let grown = CONFIG
        .replace("::1ff\"]", "::1ff\", \"2001:db8:1::1:0-2001:db8:1::1:ff\"]")
        .replace("valid = 4000", "valid = 5000")
        + "\n[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\npools = [\"2001:db8:2::10-2001:db8:2::1f\"]\n";
    std::fs::write(&path, grown).unwrap();
    assert_eq!(r.last_reload(), None);
    let text = r.reload("test").unwrap();
    assert!(r.last_reload().is_some());
    assert_eq!(
        text,
        "subnet 1: pools, lifetimes; subnet 2 added (6 leases kept)"
    );
    for _ in 0..2 {
        let pools = w.seen.try_recv().unwrap();
        let ranges: Vec<_> = pools.iter().map(|p| (p.subnet_id, p.range)).collect();
        assert_eq!(ranges.len(), 4, "{ranges:?}");
        assert!(ranges.contains(&(
            1,
            PoolRange::Addresses {
                first: "2001:db8:1::1:0".parse().unwrap(),
                last: "2001:db8:1::1:ff".parse().unwrap(),
            }
        )));
    }
    for s in &stats {
        let ids: Vec<u32> = s.load().subnets.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [1, 2]);
    }
    let infos = list.get();
    assert_eq!(infos.iter().map(|s| s.id).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(infos[0].na_total, 512.0);
    // Applied: the same file again is no change.
    assert_eq!(r.reload("test").unwrap(), "no change");
    drop(r);
    drop(w.links);
    for t in w.threads {
        t.join().unwrap();
    }
}

fn iaaddr(addr: Ipv6Addr, preferred: u32, valid: u32) -> Vec<u8> {
    let mut v = vec![0, 5, 0, 24];
    v.extend_from_slice(&addr.octets());
    v.extend_from_slice(&preferred.to_be_bytes());
    v.extend_from_slice(&valid.to_be_bytes());
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// What a worker does with a reload that shrinks the address pool below a bound address: the
/// lease stays, its Renew gets lifetimes 0 for it (RFC 8415 §18.3.4) and it is not extended,
/// while the unchanged prefix pool's lease is extended.
#[test]
fn after_a_reload_that_shrinks_the_pool_a_renew_outside_it_gets_lifetimes_0() {
    let engine_of = |text: &str| {
        let config = tandem_config::parse(text, "t.toml").unwrap();
        let mut e = Engine::new(config.policy(testdata::SERVER_DUID.to_vec())).unwrap();
        e.bind_interface("eth0", ETH0);
        e
    };
    let rx = RxMeta {
        ifindex: ETH0,
        src: SocketAddrV6::new("fe80::5054:ff:fe00:1".parse().unwrap(), 546, 0, 0),
        dst: "ff02::1:2".parse().unwrap(),
    };
    let mut engine = engine_of(CONFIG);
    let mut shard = Shard::new(0, 1, engine.pool_defs(), engine.reserved());
    let mut out = vec![0; tandem_engine::REPLY_LEN_MAX];
    let now = 1_700_000_000;
    engine
        .handle(now, &rx, testdata::REQUEST, &mut shard, &mut out)
        .unwrap();
    let na = Resource::address(testdata::ADDR);
    let bound = shard.lease(&na).unwrap().clone();
    let _ = shard.drain_changes().count();

    // The reload: the pool now starts above the bound address.
    let shrunk = CONFIG.replace("2001:db8:1::100-", "2001:db8:1::180-");
    engine = engine_of(&shrunk);
    let done = shard.reconfigure(engine.pool_defs(), engine.reserved());
    engine.configure_shard(&mut shard);
    assert_eq!(done.outside_pools, 1);
    assert_eq!(
        shard.lease(&na),
        Some(&bound),
        "the lease is kept as it was"
    );

    let reply = engine
        .handle(now + 1800, &rx, testdata::RENEW, &mut shard, &mut out)
        .unwrap();
    let bytes = &out[..reply.len];
    assert!(
        contains(bytes, &iaaddr(testdata::ADDR, 0, 0)),
        "lifetimes 0"
    );
    assert_eq!(shard.lease(&na), Some(&bound), "not extended");
    let changes: Vec<_> = shard.drain_changes().collect();
    assert!(!changes.is_empty(), "the prefix was extended");
    for c in &changes {
        let LeaseChange::Upsert(l) = c else {
            panic!("{c:?}")
        };
        assert_eq!(l.resource.kind, LeaseKind::Pd, "only the prefix: {l:?}");
    }
    // New clients get addresses from the new pool only.
    let r = shard.allocate(tandem_lease::PoolId(0), None, now).unwrap();
    assert!(r.addr >= "2001:db8:1::180".parse::<Ipv6Addr>().unwrap());
    shard.check_invariants().unwrap();
}
