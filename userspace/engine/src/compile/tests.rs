use std::net::Ipv6Addr;

use super::*;
use crate::policy::{AddressRange, PrefixPool, Reservation};

fn addr(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn lifetimes() -> Lifetimes {
    Lifetimes {
        preferred_s: 3600,
        valid_s: 7200,
        t1_s: None,
        t2_s: None,
    }
}

fn subnet(id: u32) -> Subnet {
    Subnet {
        id: SubnetId(id),
        prefix: addr("2001:db8:1::"),
        prefix_len: 64,
        interface: Some("eth0".into()),
        ranges: vec![AddressRange {
            first: addr("2001:db8:1::100"),
            last: addr("2001:db8:1::1ff"),
        }],
        pd_pools: vec![PrefixPool {
            prefix: addr("2001:db8:ab00::"),
            prefix_len: 40,
            delegated_len: 56,
        }],
        reservations: vec![Reservation {
            duid: vec![0, 3, 0, 1, 1, 2, 3, 4, 5, 6],
            addresses: vec![addr("2001:db8:1::7")],
            prefixes: vec![(addr("2001:db8:ff00::"), 56)],
            hostname: None,
        }],
        lifetimes: lifetimes(),
        pd_lifetimes: None,
        rapid_commit: false,
        options: ClientOptions::default(),
    }
}

fn policy() -> Policy {
    Policy {
        server_duid: vec![0, 2, 0, 0, 0, 9, 1],
        subnets: vec![subnet(1)],
        decline_hold_s: 600,
        options: ClientOptions {
            dns_servers: vec![addr("2001:db8::53")],
            domain_search: vec!["example.net".into()],
            preference: Some(7),
            sol_max_rt_s: Some(3600),
            information_refresh_time_s: Some(86400),
        },
    }
}

#[test]
fn pools_and_reservations_in_policy_order() {
    let c = compile(policy()).unwrap();
    assert_eq!(c.pool_defs.len(), 2);
    assert_eq!(c.pool_defs[0].id, PoolId(0));
    assert!(matches!(c.pool_defs[0].range, PoolRange::Addresses { .. }));
    assert!(matches!(
        c.pool_defs[1].range,
        PoolRange::Prefixes {
            delegated_len: 56,
            ..
        }
    ));
    assert_eq!(c.reserved.len(), 2);
    assert_eq!(
        c.reserved[0],
        Resource {
            kind: LeaseKind::Na,
            addr: addr("2001:db8:1::7"),
            prefix_len: 128
        }
    );
    assert_eq!(c.reserved[1].kind, LeaseKind::Pd);
    let link = &c.links[0];
    assert!(link.on_link(addr("2001:db8:1::ffff")));
    assert!(!link.on_link(addr("2001:db8:2::1")));
    assert!(link.prefix_appropriate(addr("2001:db8:ab01::"), 56));
    assert!(link.prefix_appropriate(addr("2001:db8:ff00::"), 56));
    assert!(!link.prefix_appropriate(addr("2001:db8:ff00::"), 48));
    assert_eq!(link.pd_lifetimes, lifetimes());
}

#[test]
fn static_options_are_pre_encoded_with_global_fallback() {
    let c = compile(policy()).unwrap();
    assert_eq!(&c.server_id_option[..], &[0, 2, 0, 7, 0, 2, 0, 0, 0, 9, 1]);
    let o = &c.links[0].options;
    let mut dns = vec![0, 23, 0, 16];
    dns.extend_from_slice(&addr("2001:db8::53").octets());
    assert_eq!(&o.dns_servers[..], &dns[..]);
    assert_eq!(
        &o.domain_list[..],
        b"\x00\x18\x00\x0d\x07example\x03net\x00"
    );
    assert_eq!(&o.preference[..], &[0, 7, 0, 1, 7]);
    assert_eq!(&o.sol_max_rt[..], &[0, 82, 0, 4, 0, 0, 0x0e, 0x10]);
    assert_eq!(
        &o.information_refresh_time[..],
        &[0, 32, 0, 4, 0, 1, 0x51, 0x80]
    );

    let mut p = policy();
    p.subnets[0].options.dns_servers = vec![addr("2001:db8::1"), addr("2001:db8::2")];
    p.subnets[0].options.preference = Some(255);
    let c = compile(p).unwrap();
    assert_eq!(c.links[0].options.dns_servers.len(), 4 + 32);
    assert_eq!(&c.links[0].options.preference[..], &[0, 7, 0, 1, 255]);
    assert_eq!(c.global_options.dns_servers.len(), 4 + 16);
}

#[test]
fn invalid_policies_are_rejected() {
    let mut p = policy();
    p.server_duid.clear();
    assert_eq!(compile(p).unwrap_err(), PolicyError::ServerDuidLength(0));
    let mut p = policy();
    p.subnets.push(subnet(1));
    assert_eq!(compile(p).unwrap_err(), PolicyError::DuplicateSubnetId(1));
    let mut p = policy();
    p.subnets[0].prefix_len = 129;
    assert_eq!(compile(p).unwrap_err(), PolicyError::SubnetPrefixLength(1));
    let mut p = policy();
    p.subnets[0].ranges[0].first = addr("2001:db8:1::ffff");
    assert_eq!(compile(p).unwrap_err(), PolicyError::AddressRange(1));
    let mut p = policy();
    p.subnets[0].pd_pools[0].delegated_len = 32;
    assert_eq!(compile(p).unwrap_err(), PolicyError::PrefixPool(1));
    let mut p = policy();
    p.subnets[0].reservations[0].duid = vec![1; 131];
    assert_eq!(compile(p).unwrap_err(), PolicyError::Reservation(1));
    let mut p = policy();
    p.options.domain_search = vec!["a".repeat(64)];
    assert!(matches!(
        compile(p).unwrap_err(),
        PolicyError::DomainList(_)
    ));
    let mut p = policy();
    p.options.dns_servers = vec![addr("2001:db8::53"); 5000];
    assert_eq!(compile(p).unwrap_err(), PolicyError::OptionTooLong(23));
}
