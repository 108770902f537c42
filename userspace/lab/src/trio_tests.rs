//! The trio: each subnet's clients reach exactly its two servers, each partner link joins only
//! its relationship's servers, the three configs parse with the relationships they should
//! have, and the certificates chain to one CA with each partner-link address.

use std::path::Path;
use std::process::Command;

use tandem_config::{Role, Tls};

use super::*;
use crate::certs::write_leaves;
use crate::render::tandem_multi_failover_toml;
use crate::test_support::{send_solicit, tcp_connects, tcp_listen, udp_listen, wait_datagram};

fn all_gone(names: &[String]) -> bool {
    names
        .iter()
        .all(|n| !Path::new("/run/netns").join(n).exists())
}

#[test]
fn each_subnet_reaches_its_two_servers_and_each_partner_link_its_relationship() {
    crate::preflight().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lab = Trio::new().unwrap();
    let nss: Vec<String> = [
        &lab.clients_a,
        &lab.clients_b,
        &lab.hub,
        &lab.a,
        &lab.b,
        &lab.lan_a,
        &lab.lan_b,
    ]
    .iter()
    .map(|n| n.name().to_owned())
    .collect();

    // Client multicast: lan-a's Solicit at the hub's srva0 and at A, lan-b's at srvb0 and B.
    let hub_a = udp_listen(&lab.hub, HUB_IF_A, dir.path());
    let a = udp_listen(&lab.a, SERVER_IF, dir.path());
    send_solicit(&lab.clients_a, CLIENT_IF);
    let from_a = lab.client_link_a.a.link_local.to_string();
    for got in [wait_datagram(&hub_a, 1), wait_datagram(&a, 1)] {
        assert!(got.contains(&from_a), "{got}");
    }
    drop(hub_a);
    let hub_b = udp_listen(&lab.hub, HUB_IF_B, dir.path());
    let b = udp_listen(&lab.b, SERVER_IF, dir.path());
    send_solicit(&lab.clients_b, CLIENT_IF);
    let from_b = lab.client_link_b.a.link_local.to_string();
    for got in [wait_datagram(&hub_b, 1), wait_datagram(&b, 1)] {
        assert!(got.contains(&from_b), "{got}");
    }
    // B's Solicit came after A's: had lan-a's reached B (or lan-b's A), it would be there.
    assert!(!b.stdout().contains(&from_a), "{}", b.stdout());
    assert!(!a.stdout().contains(&from_b), "{}", a.stdout());

    // Partner links: each relationship's primary reaches its secondary's failover port.
    let mut listeners = Vec::new();
    for rel in TrioRelationship::ALL {
        let secondary = lab.ns(rel.secondary);
        listeners.push(tcp_listen(
            secondary,
            rel.secondary_addr,
            FAILOVER_PORT,
            dir.path(),
        ));
        assert!(
            tcp_connects(lab.ns(rel.primary), rel.secondary_addr, FAILOVER_PORT),
            "{}",
            rel.name
        );
    }
    // A and B are not partners and share no link; clients reach no partner link.
    assert!(!tcp_connects(&lab.a, REL_B.secondary_addr, FAILOVER_PORT));
    assert!(!tcp_connects(&lab.b, REL_A.secondary_addr, FAILOVER_PORT));
    assert!(!tcp_connects(
        &lab.clients_a,
        REL_A.secondary_addr,
        FAILOVER_PORT
    ));
    assert_eq!(lab.partner_link_a.a.iface, HUB_FO_IF_A);
    assert_eq!(lab.partner_link_b.b.iface, HUB_FO_IF_B);
    assert_eq!(lab.ns(TrioServer::B).name(), lab.b.name());

    drop((a, b, hub_b, listeners));
    drop(lab);
    assert!(all_gone(&nss), "{nss:?}");
}

#[test]
fn relationships_pair_up_and_the_hub_holds_both_roles() {
    assert_eq!(REL_A.role_of(TrioServer::Hub), Some(FailoverRole::Primary));
    assert_eq!(
        REL_B.role_of(TrioServer::Hub),
        Some(FailoverRole::Secondary)
    );
    assert_eq!(REL_A.role_of(TrioServer::B), None);
    assert_eq!(REL_B.role_of(TrioServer::A), None);
    assert!(REL_A.failover_params(TrioServer::B, LabTls::None).is_none());
    for rel in TrioRelationship::ALL {
        let p = rel
            .failover_params(rel.primary, LabTls::None)
            .expect("primary");
        let s = rel
            .failover_params(rel.secondary, LabTls::None)
            .expect("secondary");
        assert_eq!((p.partner, s.partner), (s.listen, p.listen), "{}", rel.name);
        assert_eq!((p.name.as_str(), s.name.as_str()), (rel.name, rel.name));
        assert_eq!(p.role, FailoverRole::Primary);
    }
    let names: Vec<usize> = TrioServer::ALL
        .iter()
        .map(|s| Trio::relationships(*s, None).len())
        .collect();
    assert_eq!(names, vec![2, 1, 1]);
}

#[test]
fn every_trio_config_parses_with_its_subnets_relationships_and_tls() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TrioCerts::write(&dir.path().join("tls")).unwrap();
    for server in TrioServer::ALL {
        let subnets = Trio::subnets(server);
        let rels = Trio::relationships(server, Some(&certs));
        let path = dir.path().join(format!("{}.toml", server.as_str()));
        let text = tandem_multi_failover_toml(&subnets, &dir.path().join("store"), &rels).unwrap();
        std::fs::write(&path, &text).unwrap();
        let c = tandem_config::load(&path).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(c.check_files().is_empty(), "{:?}", c.check_files());
        let fo = c.failover.as_ref().unwrap();
        let got: Vec<(String, Role, Vec<u32>)> = fo
            .relationships
            .iter()
            .map(|r| {
                let ids = r.subnets.iter().map(|s| s.0).collect();
                (r.name.clone(), r.role, ids)
            })
            .collect();
        let (want, interfaces) = match server {
            TrioServer::Hub => (
                vec![
                    ("rel-a".to_owned(), Role::Primary, vec![SUBNET_A_ID]),
                    ("rel-b".to_owned(), Role::Secondary, vec![SUBNET_B_ID]),
                ],
                vec![HUB_IF_A, HUB_IF_B],
            ),
            TrioServer::A => (
                vec![("rel-a".to_owned(), Role::Secondary, vec![SUBNET_A_ID])],
                vec![SERVER_IF],
            ),
            TrioServer::B => (
                vec![("rel-b".to_owned(), Role::Primary, vec![SUBNET_B_ID])],
                vec![SERVER_IF],
            ),
        };
        assert_eq!(got, want, "{}", server.as_str());
        assert_eq!(c.server.interfaces, interfaces);
        // Every relationship checks the partner's name and presents its own link's certificate.
        for r in &fo.relationships {
            let Tls::Mutual {
                cert, partner_name, ..
            } = &r.tls
            else {
                panic!("not mutual: {text}");
            };
            let (own, partner) = match (server, r.name.as_str()) {
                (TrioServer::Hub, "rel-a") => (&certs.hub_a, A_NAME),
                (TrioServer::Hub, _) => (&certs.hub_b, B_NAME),
                (TrioServer::A, _) => (&certs.a, HUB_NAME),
                (TrioServer::B, _) => (&certs.b, HUB_NAME),
            };
            assert_eq!(cert, &own.cert);
            assert_eq!(partner_name.as_deref(), Some(partner));
        }
    }
}

/// `openssl ARGS` → (success, stdout + stderr).
fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn trio_certificates_chain_to_one_ca_with_each_partner_link_address() {
    let dir = tempfile::tempdir().unwrap();
    let c = TrioCerts::write(dir.path()).unwrap();
    let ca = c.ca.to_str().unwrap();
    for (leaf, dns, ip) in [
        (&c.hub_a, HUB_NAME, "IP Address:FD00:647:A:0:0:0:0:1"),
        (&c.a, A_NAME, "IP Address:FD00:647:A:0:0:0:0:2"),
        (&c.b, B_NAME, "IP Address:FD00:647:B:0:0:0:0:1"),
        (&c.hub_b, HUB_NAME, "IP Address:FD00:647:B:0:0:0:0:2"),
    ] {
        let cert = leaf.cert.to_str().unwrap();
        for purpose in ["sslserver", "sslclient"] {
            let (ok, text) = openssl(&["verify", "-CAfile", ca, "-purpose", purpose, cert]);
            assert!(ok, "{cert}: {text}");
        }
        let (ok, text) = openssl(&["x509", "-noout", "-ext", "subjectAltName", "-in", cert]);
        assert!(ok, "{text}");
        assert!(
            text.contains(&format!("DNS:{dns}")) && text.contains(ip),
            "{cert}: {text}"
        );
    }
    assert_eq!(c.tls(&REL_A, TrioServer::B), None);
}

#[test]
fn write_leaves_refuses_stems_that_are_not_plain_unique_names() {
    let dir = tempfile::tempdir().unwrap();
    let id = REL_A.identity(TrioServer::A).unwrap();
    for bad in [
        vec![("", &id)],
        vec![("x/y", &id)],
        vec![("ca", &id)],
        vec![("..", &id)],
        vec![("a", &id), ("a", &id)],
    ] {
        let err = write_leaves(dir.path(), &bad).unwrap_err();
        assert!(err.to_string().contains("stem"), "{err}");
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
    let ok = write_leaves(dir.path(), &[("one", &id), ("two", &id)]).unwrap();
    assert_eq!(ok.leaves.len(), 2);
    assert_eq!(ok.leaves[1].key, dir.path().join("two.key"));
}
