//! R9 (m-to-1, RFC 8156 §3): one tandemd in two failover relationships, end to end. Three real
//! tandemd processes in their own namespaces ([`Trio`]): the hub is primary of "rel-a" (subnet
//! SA, partner A) and secondary of "rel-b" (subnet SB, partner B), over mutual TLS on two
//! partner links. Every check reads the stores (`dump-leases`) and `stats.json`, not logs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::time::Duration;

use tandem_lab::trio::{Trio, TrioCerts, TrioServer, HUB_IF_A, HUB_IF_B, REL_A, REL_B};
use tandem_lab::{wait_for, Netns, Perfdhcp, PerfdhcpReport, ServerParams, Subject, CLIENT_IF};

use crate::common::{log_tail, tandemd, TestDir};

/// A binding as the store holds it: (address or prefix, length) → client DUID.
type Bound = BTreeMap<(Ipv6Addr, u8), String>;

/// The three servers, then the lab: the servers stop before their namespaces go.
struct Running {
    hub: Subject,
    a: Subject,
    b: Subject,
    lab: Trio,
    _certs: TrioCerts,
}

impl Running {
    fn subject(&self, s: TrioServer) -> &Subject {
        match s {
            TrioServer::Hub => &self.hub,
            TrioServer::A => &self.a,
            _ => &self.b,
        }
    }
}

fn wait_rel(s: &Subject, rel: &str, want: &str, timeout: Duration) -> Duration {
    s.wait_relationship_state(rel, want, timeout)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", log_tail(s)))
}

fn start(dir: &std::path::Path) -> Running {
    tandem_lab::preflight().expect("lab preflight");
    let lab = Trio::new().unwrap();
    let certs = TrioCerts::write(&dir.join("tls")).unwrap();
    let start = |server: TrioServer| {
        let sub = dir.join(server.as_str());
        std::fs::create_dir_all(&sub).unwrap();
        let subnets = Trio::subnets(server);
        let rels = Trio::relationships(server, Some(&certs));
        Subject::start_failover_multi(lab.ns(server), &subnets, &rels, &sub, tandemd())
            .unwrap_or_else(|e| panic!("start {}: {e:#}", server.as_str()))
    };
    let hub = start(TrioServer::Hub);
    let a = start(TrioServer::A);
    let b = start(TrioServer::B);
    Running {
        hub,
        a,
        b,
        lab,
        _certs: certs,
    }
}

/// Whether `(resource, length)` is out of `p`'s address pool or its delegated-prefix pool.
fn in_subnet(p: &ServerParams, (addr, len): (Ipv6Addr, u8)) -> bool {
    (len == 128 && p.in_pool(addr)) || p.in_pd_pool(addr, len)
}

/// The bindings of `all` that belong to subnet `p`.
fn part(all: &Bound, p: &ServerParams) -> Bound {
    all.iter()
        .filter(|(k, _)| in_subnet(p, **k))
        .map(|(k, v)| (*k, v.clone()))
        .collect()
}

/// perfdhcp on one subnet's link: `clients` new clients (addresses and /56s) from MAC `mac`,
/// `-u` counting any address handed out twice.
fn perfdhcp(ns: &Netns, dir: &std::path::Path, name: &str, mac: &str) -> PerfdhcpReport {
    let mut p = Perfdhcp::new(CLIENT_IF, 100, 200, 200);
    p.address_and_prefix = true;
    p.extra
        .extend(["-u".to_owned(), "-b".to_owned(), format!("mac={mac}")]);
    let report = p.run(ns, dir, name).unwrap();
    println!("{name}: perfdhcp {}\n{report}", p.args().join(" "));
    report
}

/// REQUEST-REPLY received and the addresses seen twice.
fn replies(r: &PerfdhcpReport) -> (u64, u64) {
    let x = r.exchange("REQUEST-REPLY").unwrap();
    (x.received, x.non_unique)
}

/// The `since` of relationship `name` in `s`'s stats.json (Unix seconds of its last change).
fn since(s: &Subject, name: &str) -> u64 {
    let stats = s.stats().unwrap().unwrap();
    stats["failover"]["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .and_then(|r| r["since"].as_u64())
        .unwrap_or_else(|| panic!("no since for {name}: {stats}"))
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn failover_hub_serves_two_relationships_and_survives_one_partner() {
    let t0 = std::time::Instant::now();
    let dir = TestDir::new("failover-hub");
    let mut run = start(dir.path());
    let sa = Trio::subnet_a(HUB_IF_A);
    let sb = Trio::subnet_b(HUB_IF_B);

    // 1. Both relationships of the hub reach NORMAL, and so does each partner's one.
    for (server, rel) in [
        (TrioServer::Hub, REL_A.name),
        (TrioServer::Hub, REL_B.name),
        (TrioServer::A, REL_A.name),
        (TrioServer::B, REL_B.name),
    ] {
        let took = wait_rel(run.subject(server), rel, "NORMAL", Duration::from_secs(30));
        println!("{} {rel} NORMAL after {took:?}", server.as_str());
    }
    let stats = run.hub.stats().unwrap().unwrap();
    let roles: Vec<(&str, &str)> = stats["failover"]["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        vec![("rel-a", "primary"), ("rel-b", "secondary")],
        "{stats}"
    );
    assert_eq!(run.a.relationship_names(), vec!["rel-a"]);
    assert_eq!(run.b.relationship_names(), vec!["rel-b"]);

    // 2. Clients on both links; each subnet's bindings reach its partner and the hub only.
    for (ns, name, mac) in [
        (&run.lab.clients_a, "perfdhcp-sa", "00:0c:0a:00:00:00"),
        (&run.lab.clients_b, "perfdhcp-sb", "00:0c:0b:00:00:00"),
    ] {
        let (received, twice) = replies(&perfdhcp(ns, dir.path(), name, mac));
        assert!(received >= 190, "{name}: {received}/200 in NORMAL");
        assert_eq!(twice, 0, "{name}");
    }
    let (hub, a, b) = wait_for(
        "replication on both relationships",
        Duration::from_secs(20),
        || {
            let hub = run.hub.bound().ok()?;
            let a = run.a.bound().ok()?;
            let b = run.b.bound().ok()?;
            let done = part(&hub, &sa).len() >= 400
                && part(&hub, &sa) == a
                && part(&hub, &sb).len() >= 400
                && part(&hub, &sb) == b;
            done.then_some((hub, a, b))
        },
    )
    .unwrap_or_else(|e| {
        let count = |s: &Subject| s.bound().map(|m| m.len()).unwrap_or(0);
        panic!(
            "{e:#}\nhub {} (SA {}, SB {}), A {}, B {}\nhub:\n{}",
            count(&run.hub),
            part(&run.hub.bound().unwrap(), &sa).len(),
            part(&run.hub.bound().unwrap(), &sb).len(),
            count(&run.a),
            count(&run.b),
            log_tail(&run.hub)
        )
    });
    assert_eq!(
        hub.len(),
        a.len() + b.len(),
        "the hub holds SA and SB, nothing else"
    );
    assert!(a.keys().all(|k| in_subnet(&sa, *k)), "A holds only SA");
    assert!(b.keys().all(|k| in_subnet(&sb, *k)), "B holds only SB");
    let duids = |m: &Bound| m.values().cloned().collect::<BTreeSet<_>>();
    assert!(
        duids(&a).is_disjoint(&duids(&b)),
        "no SA client in B, no SB client in A"
    );
    // In NORMAL only a relationship's primary allocates, from the odd half of the addresses
    // (RFC 8156 §4.2.1); a secondary only renews. No even address: each subnet was served by
    // its own relationship's primary (the hub on SA, B on SB), the hub's secondary role on SB
    // did not leak into SA nor the reverse.
    for (m, subnet) in [(&a, "SA"), (&b, "SB")] {
        let even: Vec<_> = m
            .keys()
            .filter(|(addr, len)| *len == 128 && addr.octets()[15] & 1 == 0)
            .collect();
        assert!(even.is_empty(), "{subnet}: not from its primary: {even:?}");
    }
    println!(
        "SA: {} bindings in the hub and in A; SB: {} in the hub and in B",
        a.len(),
        b.len()
    );

    // 3. A dies: rel-a breaks, rel-b does not move, SB clients are still served and their
    // bindings still reach the hub.
    let rel_b_since = (since(&run.hub, REL_B.name), since(&run.b, REL_B.name));
    run.a.kill9().unwrap();
    let took = wait_rel(
        &run.hub,
        REL_A.name,
        "COMMUNICATIONS-INTERRUPTED",
        Duration::from_secs(30),
    );
    println!("hub rel-a COMMUNICATIONS-INTERRUPTED {took:?} after A was killed");
    let r = perfdhcp(
        &run.lab.clients_b,
        dir.path(),
        "perfdhcp-sb-2",
        "00:0c:0b:01:00:00",
    );
    let (sb_received, twice) = replies(&r);
    assert!(
        sb_received >= 190,
        "SB served with A down: {sb_received}/200"
    );
    assert_eq!(twice, 0);
    // The hub, primary of rel-a, serves SA alone from its own half (RFC 8156 §8.3.2 / §8.4).
    let r = perfdhcp(
        &run.lab.clients_a,
        dir.path(),
        "perfdhcp-sa-2",
        "00:0c:0a:01:00:00",
    );
    let (received, twice) = replies(&r);
    assert!(
        received >= 190,
        "SA served by the hub alone: {received}/200"
    );
    assert_eq!(twice, 0);
    for (s, rel, want) in [
        (&run.hub, REL_A.name, "COMMUNICATIONS-INTERRUPTED"),
        (&run.hub, REL_B.name, "NORMAL"),
        (&run.b, REL_B.name, "NORMAL"),
    ] {
        let (state, _) = s.relationship_state(rel).unwrap();
        assert_eq!(state, want, "{} {rel}", s.ns_name());
    }
    assert_eq!(
        (since(&run.hub, REL_B.name), since(&run.b, REL_B.name)),
        rel_b_since,
        "rel-b never left NORMAL"
    );
    // Each reply bound an address and a /56 to a client perfdhcp-sb never used.
    let new = wait_for(
        "SB replication with A down",
        Duration::from_secs(20),
        || {
            let hub = run.hub.bound().ok()?;
            let b_now = run.b.bound().ok()?;
            let new = b_now.keys().filter(|k| !b.contains_key(k)).count() as u64;
            (new >= 2 * sb_received && part(&hub, &sb) == b_now).then_some(new)
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}\n{}", log_tail(&run.hub)));
    println!("SB after A died: {new} new bindings in B and in the hub");

    // 4. No address or prefix bound to two clients, on any server or across them.
    let mut holders: BTreeMap<(Ipv6Addr, u8), BTreeSet<String>> = BTreeMap::new();
    for s in [&run.hub, &run.a, &run.b] {
        for (k, duid) in s.bound().unwrap() {
            holders.entry(k).or_default().insert(duid);
        }
    }
    let twice: Vec<_> = holders.iter().filter(|(_, d)| d.len() > 1).collect();
    assert!(twice.is_empty(), "bound to two clients: {twice:?}");
    println!("{} resources bound, each to one client", holders.len(),);

    // 5. The operator declares rel-a's partner down through the control API: rel-a alone goes
    // to PARTNER-DOWN (RFC 8156 §8; R54), rel-b stays NORMAL.
    let ctl = std::process::Command::new(env!("CARGO_BIN_EXE_tandemctl"))
        .arg("--config")
        .arg(run.hub.config_path())
        .args(["failover", "partner-down", REL_A.name])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&ctl.stdout);
    println!("$ tandemctl failover partner-down {}\n{out}", REL_A.name);
    assert!(
        ctl.status.success(),
        "{}",
        String::from_utf8_lossy(&ctl.stderr)
    );
    wait_rel(&run.hub, REL_A.name, "PARTNER-DOWN", Duration::from_secs(5));
    let (state, _) = run.hub.relationship_state(REL_B.name).unwrap();
    assert_eq!(state, "NORMAL", "rel-b untouched by rel-a's partner-down");
    assert_eq!(
        since(&run.hub, REL_B.name),
        rel_b_since.0,
        "rel-b never left NORMAL"
    );
    println!("test took {:?}", t0.elapsed());
}
