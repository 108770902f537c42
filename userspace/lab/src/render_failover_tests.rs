//! Rendered failover configs read back with the real parser (`tandem_config`).

use std::net::SocketAddr;
use std::path::PathBuf;

use tandem_config::{Relationship, Role, Tls};

use super::*;
use crate::certs::write_lab_pair;
use crate::fo_params::FailoverRole;
use crate::params::Lifetimes;
use crate::topology::{Partners, SERVER_IF};

fn parse(text: &str) -> tandem_config::Config {
    tandem_config::parse(text, "/lab/tandemd.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn only_relationship(c: &tandem_config::Config) -> &Relationship {
    let fo = c.failover.as_ref().expect("a [failover] section");
    assert_eq!(fo.relationships.len(), 1);
    &fo.relationships[0]
}

#[test]
fn every_failover_param_reaches_the_parsed_relationship() {
    let p = ServerParams::standard(SERVER_IF, true);
    let mut fo = Partners::failover_params(FailoverRole::Primary, LabTls::None);
    fo.name = "lab \"pair\" ü".into();
    fo.mclt_s = 45;
    fo.keepalive_s = 9;
    fo.contact_interval_s = 3;
    fo.max_unacked = 17;
    fo.startup_timer_s = 4;
    fo.reconnect_initial_ms = 150;
    fo.reconnect_cap_ms = 1_500;
    fo.auto_partner_down_s = Some(40);
    let c = parse(&tandem_failover_toml(&p, Path::new("/lab/store"), &fo));
    let r = only_relationship(&c);
    assert_eq!(r.name, "lab \"pair\" ü");
    assert_eq!(r.role, Role::Primary);
    assert_eq!(
        r.partner,
        "[fd00:647::2]:647".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(r.listen, "[fd00:647::1]:647".parse::<SocketAddr>().unwrap());
    assert_eq!(
        (
            r.mclt_s,
            r.keepalive_s,
            r.contact_interval_s,
            r.max_unacked_bndupd
        ),
        (45, 9, 3, 17)
    );
    assert_eq!(
        (
            r.startup_timer_s,
            r.reconnect_initial_ms,
            r.reconnect_cap_ms
        ),
        (4, 150, 1_500)
    );
    assert_eq!(r.auto_partner_down_s, Some(40));
    assert_eq!(r.tls, Tls::None);
    assert_eq!(r.subnets.len(), 1, "the one relationship covers the subnet");
    assert_eq!(c.server.interfaces, vec![SERVER_IF.to_owned()]);
    assert_eq!(c.storage.path, PathBuf::from("/lab/store"));
}

#[test]
fn lab_defaults_parse_for_both_roles_direct_and_relayed() {
    for direct in [true, false] {
        let p = ServerParams::standard(SERVER_IF, direct);
        for role in [FailoverRole::Primary, FailoverRole::Secondary] {
            let fo = Partners::failover_params(role, LabTls::None);
            let c = parse(&tandem_failover_toml(&p, Path::new("/lab/store"), &fo));
            let r = only_relationship(&c);
            let want = match role {
                FailoverRole::Primary => Role::Primary,
                FailoverRole::Secondary => Role::Secondary,
            };
            assert_eq!(r.role, want);
            assert_eq!(r.auto_partner_down_s, None);
            assert_eq!(r.mclt_s, 30);
        }
    }
}

#[test]
fn mutual_tls_files_from_certs_load_and_are_readable() {
    let dir = tempfile::tempdir().unwrap();
    let certs = write_lab_pair(&dir.path().join("tls")).unwrap();
    let p = ServerParams::standard(SERVER_IF, true);
    for role in [FailoverRole::Primary, FailoverRole::Secondary] {
        let tls = LabTls::from_certs(&certs, role);
        let fo = Partners::failover_params(role, tls);
        let path = dir.path().join(format!("{}.toml", role.as_str()));
        std::fs::write(
            &path,
            tandem_failover_toml(&p, &dir.path().join("store"), &fo),
        )
        .unwrap();
        let c = tandem_config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.check_files().is_empty(), "{:?}", c.check_files());
        let (own, partner) = match role {
            FailoverRole::Primary => (&certs.primary, "dhcp-b.lab.example"),
            FailoverRole::Secondary => (&certs.secondary, "dhcp-a.lab.example"),
        };
        let want = Tls::Mutual {
            cert: own.cert.clone(),
            key: own.key.clone(),
            ca: certs.ca.clone(),
            partner_name: Some(partner.to_owned()),
        };
        assert_eq!(only_relationship(&c).tls, want);
    }
}

#[test]
fn mutual_tls_without_a_partner_name_leaves_the_key_out() {
    let own = crate::certs::CertKey {
        cert: "/t/p.crt".into(),
        key: "/t/p.key".into(),
    };
    let fo = Partners::failover_params(
        FailoverRole::Primary,
        LabTls::with(&own, "/t/ca.crt".into(), None),
    );
    let p = ServerParams::standard(SERVER_IF, true);
    let text = tandem_failover_toml(&p, Path::new("/lab/store"), &fo);
    assert!(!text.contains("partner-name"), "{text}");
    let c = parse(&text);
    let Tls::Mutual { partner_name, .. } = &only_relationship(&c).tls else {
        panic!("not mutual: {text}");
    };
    assert_eq!(partner_name, &None);
}

#[test]
fn lifetimes_under_30_s_are_refused_with_failover_but_not_without() {
    let mut p = ServerParams::standard(SERVER_IF, true);
    p.lifetimes = Lifetimes::SHORT;
    assert!(tandem_config::parse(&tandem_toml(&p, Path::new("/s")), "/lab/t.toml").is_ok());
    let fo = Partners::failover_params(FailoverRole::Primary, LabTls::None);
    let err = tandem_config::parse(
        &tandem_failover_toml(&p, Path::new("/s"), &fo),
        "/lab/t.toml",
    )
    .unwrap_err();
    assert!(err.to_string().contains("lifetime"), "{err}");
    p.lifetimes = Lifetimes::FAILOVER_SHORT;
    p.pd_lifetimes = Lifetimes::FAILOVER_SHORT;
    parse(&tandem_failover_toml(&p, Path::new("/s"), &fo));
}

#[test]
fn mclt_under_30_s_is_refused() {
    let p = ServerParams::standard(SERVER_IF, true);
    let mut fo = Partners::failover_params(FailoverRole::Secondary, LabTls::None);
    fo.mclt_s = 29;
    let text = tandem_failover_toml(&p, Path::new("/s"), &fo);
    let err = tandem_config::parse(&text, "/lab/t.toml").unwrap_err();
    assert!(err.to_string().contains("mclt"), "{err}");
}
