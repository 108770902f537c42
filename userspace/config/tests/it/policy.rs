//! What a valid file turns into: merging over the globals and the policy handed to the engine.

use std::net::Ipv6Addr;

use tandem_config::Durability;
use tandem_engine::policy::{ClientOptions, Lifetimes};

use crate::util::{ok, HEAD};

fn addr(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

const GLOBALS: &str = "[lifetimes]\npreferred = 3000\nvalid = 4000\nt1 = 1500\n\
                       [options]\ndns-servers = [\"2001:db8::53\"]\n\
                       domain-search = [\"example.net\"]\n\
                       preference = 7\nsol-max-rt = 3600\n";

#[test]
fn defaults_when_tables_are_absent() {
    let config = ok(HEAD);
    assert_eq!(config.server.interfaces, ["eth0", "eth1"]);
    assert_eq!(
        (config.server.workers, config.server.server_duid.as_deref()),
        (None, None)
    );
    assert_eq!(config.storage.durability, Durability::Durable);
    let policy = config.policy(vec![0, 3, 0, 1]);
    assert_eq!(policy.server_duid, [0, 3, 0, 1]);
    assert_eq!(policy.decline_hold_s, 86_400);
    assert_eq!(policy.options, ClientOptions::default());
    assert!(policy.subnets.is_empty());
}

#[test]
fn server_level_settings() {
    let text = "[server]\ninterfaces = [\"e\"]\nrapid-commit = true\ndecline-hold = 60\n\
                [storage]\npath = \"/x\"\ndurability = \"os-buffer\"\n\
                [[subnet]]\nid = 1\nprefix = \"2001:db8::/64\"\n\
                [[subnet]]\nid = 2\nprefix = \"2001:db8:1::/64\"\nrapid-commit = false\n";
    let config = ok(text);
    assert_eq!(config.storage.durability, Durability::OsBuffer);
    let policy = config.policy(vec![1]);
    assert_eq!(policy.decline_hold_s, 60);
    assert!(
        policy.subnets[0].rapid_commit,
        "inherits server.rapid-commit"
    );
    assert!(!policy.subnets[1].rapid_commit, "own override");
}

#[test]
fn subnet_values_are_merged_field_by_field() {
    let text = format!(
        "{HEAD}{GLOBALS}[[subnet]]\nid = 1\nprefix = \"2001:db8:1::/64\"\n\
         [subnet.lifetimes]\nvalid = 7200\n[subnet.pd-lifetimes]\npreferred = 5000\n\
         [subnet.options]\ndns-servers = [\"2001:db8:1::53\"]\npreference = 9\n\
         [[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n[subnet.options]\ndns-servers = []\n"
    );
    let policy = ok(&text).policy(vec![1]);
    let global = ClientOptions {
        dns_servers: vec![addr("2001:db8::53")],
        domain_search: vec!["example.net".into()],
        preference: Some(7),
        sol_max_rt_s: Some(3600),
        information_refresh_time_s: None,
    };
    assert_eq!(policy.options, global);
    let [one, two] = &policy.subnets[..] else {
        panic!("{policy:?}")
    };
    let lifetimes = Lifetimes {
        preferred_s: 3000,
        valid_s: 7200,
        t1_s: Some(1500),
        t2_s: None,
    };
    assert_eq!(one.lifetimes, lifetimes);
    assert_eq!(
        one.pd_lifetimes,
        Some(Lifetimes {
            preferred_s: 5000,
            ..lifetimes
        })
    );
    assert_eq!(
        one.options,
        ClientOptions {
            dns_servers: vec![addr("2001:db8:1::53")],
            preference: Some(9),
            ..global.clone()
        }
    );
    // No lifetimes table: the globals; an empty list inherits (as the engine treats it).
    assert_eq!(
        two.lifetimes,
        Lifetimes {
            valid_s: 4000,
            ..lifetimes
        }
    );
    assert_eq!(two.pd_lifetimes, None);
    assert_eq!(two.options, global);
}

#[test]
fn subnet_contents_reach_the_policy() {
    let text = format!(
        "{HEAD}[[subnet]]\nid = 7\nprefix = \"2001:db8:1::/64\"\ninterface = \"eth1\"\n\
         pools = [\"2001:db8:1::1000-2001:db8:1::1fff\", \"2001:db8:1::3000 - 2001:db8:1::3fff\"]\n\
         pd-pools = [{{ prefix = \"2001:db8:8000::/40\", delegated-length = 56 }}]\n\
         [[subnet.reservation]]\nduid = \"00:03:00:01:02:00:00:00:00:01\"\nhostname = \"cpe-1\"\n"
    );
    let policy = ok(&text).policy(vec![1]);
    let s = &policy.subnets[0];
    assert_eq!(
        (s.id.0, s.prefix, s.prefix_len),
        (7, addr("2001:db8:1::"), 64)
    );
    assert_eq!(s.interface.as_deref(), Some("eth1"));
    assert_eq!(s.ranges.len(), 2);
    assert_eq!(
        (s.ranges[1].first, s.ranges[1].last),
        (addr("2001:db8:1::3000"), addr("2001:db8:1::3fff"))
    );
    assert_eq!(s.pd_pools[0].prefix, addr("2001:db8:8000::"));
    assert_eq!(s.reservations[0].duid, [0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
    assert_eq!(s.reservations[0].hostname.as_deref(), Some("cpe-1"));
    assert!(!s.rapid_commit);
}
