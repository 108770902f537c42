//! Namespaced: client multicast reaches both servers (bridged and relayed), the partner link
//! carries TCP between the servers only, and dropping a lab removes every namespace.

use std::path::Path;

use super::*;
use crate::relay::Relay;
use crate::test_support::{send_solicit, tcp_connects, tcp_listen, udp_listen, wait_datagram};

fn names(nss: &[&Netns]) -> Vec<String> {
    nss.iter().map(|n| n.name().to_owned()).collect()
}

fn all_gone(names: &[String]) -> bool {
    names
        .iter()
        .all(|n| !Path::new("/run/netns").join(n).exists())
}

#[test]
fn bridged_pair_clients_reach_both_servers_and_the_partner_link_is_separate() {
    crate::preflight().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lab = Pair::new().unwrap();
    let nss = names(&[&lab.clients, lab.primary(), lab.secondary(), &lab.lan]);
    assert_eq!(lab.primary_link.a.iface, SERVER_IF);
    assert_eq!(lab.secondary_link.a.iface, SERVER_IF);
    assert_eq!(lab.partners.partner_link.a.iface, PARTNER_IF);
    assert_eq!(lab.partners.partner_link.b.iface, PARTNER_IF);
    assert_eq!(
        lab.partners.ns(FailoverRole::Primary).name(),
        lab.primary().name()
    );
    assert_eq!(
        lab.partners.ns(FailoverRole::Secondary).name(),
        lab.secondary().name()
    );

    let p = udp_listen(lab.primary(), SERVER_IF, dir.path());
    let s = udp_listen(lab.secondary(), SERVER_IF, dir.path());
    send_solicit(&lab.clients, CLIENT_IF);
    let client_ll = lab.client_link.a.link_local.to_string();
    for got in [wait_datagram(&p, 1), wait_datagram(&s, 1)] {
        assert!(got.contains(&client_ll), "{got}");
    }

    // The failover connection's path: partner-link addresses, both ways.
    let _fo_s = tcp_listen(
        lab.secondary(),
        SECONDARY_FO_ADDR,
        FAILOVER_PORT,
        dir.path(),
    );
    let _fo_p = tcp_listen(lab.primary(), PRIMARY_FO_ADDR, FAILOVER_PORT, dir.path());
    assert!(tcp_connects(
        lab.primary(),
        SECONDARY_FO_ADDR,
        FAILOVER_PORT
    ));
    assert!(tcp_connects(
        lab.secondary(),
        PRIMARY_FO_ADDR,
        FAILOVER_PORT
    ));
    // Clients have no route to the partner link.
    assert!(!tcp_connects(
        &lab.clients,
        SECONDARY_FO_ADDR,
        FAILOVER_PORT
    ));
    // The servers also see each other across the bridge.
    let _lan_s = tcp_listen(lab.secondary(), lab.secondary_addr, 7000, dir.path());
    assert!(tcp_connects(lab.primary(), lab.secondary_addr, 7000));

    let params = lab.server_params();
    assert_eq!(params.interface, SERVER_IF);
    assert!(params.direct);
    let fo = lab.failover_params(FailoverRole::Primary, LabTls::None);
    assert_eq!(fo.listen, "[fd00:647::1]:647".parse().unwrap());
    assert_eq!(fo.partner, "[fd00:647::2]:647".parse().unwrap());

    drop((p, s, _fo_s, _fo_p, _lan_s));
    drop(lab);
    assert!(all_gone(&nss), "{nss:?}");
}

#[test]
fn relayed_pair_forwards_each_solicit_to_both_servers() {
    crate::preflight().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lab = RelayedPair::new().unwrap();
    let nss = names(&[&lab.clients, &lab.relay, lab.primary(), lab.secondary()]);
    let p = udp_listen(lab.primary(), SERVER_IF, dir.path());
    let s = udp_listen(lab.secondary(), SERVER_IF, dir.path());
    let none = Relay::start_multi(&lab.relay, RELAY_DOWN_IF, &[], dir.path());
    assert!(none.unwrap_err().to_string().contains("upstream"));
    let relay = Relay::start_multi(
        &lab.relay,
        RELAY_DOWN_IF,
        &lab.relay_upstreams(),
        dir.path(),
    )
    .unwrap();
    send_solicit(&lab.clients, CLIENT_IF);
    // Relay-forward (12) from the relay's upstream address on each server link.
    let got_p = wait_datagram(&p, 12);
    let got_s = wait_datagram(&s, 12);
    assert!(got_p.contains("2001:db8:fff1::2"), "{got_p}");
    assert!(got_s.contains("2001:db8:fff2::2"), "{got_s}");
    assert!(!lab.server_params().direct);
    assert_eq!(
        lab.relay_down_addr,
        "2001:db8:1::fffe".parse::<Ipv6Addr>().unwrap()
    );

    let _fo = tcp_listen(
        lab.secondary(),
        SECONDARY_FO_ADDR,
        FAILOVER_PORT,
        dir.path(),
    );
    assert!(tcp_connects(
        lab.primary(),
        SECONDARY_FO_ADDR,
        FAILOVER_PORT
    ));
    drop((relay, p, s, _fo));
    drop(lab);
    assert!(all_gone(&nss), "{nss:?}");
}

#[test]
fn failover_endpoints_are_the_partner_link_addresses() {
    assert_eq!(
        Partners::fo_endpoint(FailoverRole::Secondary),
        SocketAddr::new(SECONDARY_FO_ADDR.into(), 647)
    );
    let fo = Partners::failover_params(FailoverRole::Secondary, LabTls::None);
    assert_eq!(fo.role, FailoverRole::Secondary);
    assert_eq!(fo.listen.ip(), SECONDARY_FO_ADDR);
    assert_eq!(fo.partner.ip(), PRIMARY_FO_ADDR);
}
