//! Imports of whole Kea configs, each output parsed by tandem's own validation.

use std::net::Ipv6Addr;

use proptest::prelude::*;

use super::*;

/// A Kea 2.2 config as an ISP writes it: comments of all three kinds, a direct and a relayed
/// subnet, a shared network, pools in both forms, prefix pools (one with an excluded prefix),
/// reservations by DUID and by MAC, options tandem has and options it lacks, hooks, DDNS,
/// client classes, a MySQL hosts database and loggers.
const KEA_ISP: &str = r#"// kea-dhcp6.conf of the access network
{
"Dhcp6": {
    # Where to listen: eth1 is the access link, eth2 faces the relays.
    "interfaces-config": { "interfaces": [ "eth1", "eth2/2001:db8:ffff::1" ], "re-detect": true },
    "lease-database": { "type": "memfile", "persist": true,
                        "name": "/var/lib/kea/kea-leases6.csv", "lfc-interval": 3600 },
    "hosts-database": { "type": "mysql", "name": "kea", "user": "kea", "password": "secret" },
    "server-id": { "type": "EN", "enterprise-id": 2495, "identifier": "7461626c6162",
                   "persist": false },
    "preferred-lifetime": 3000, "valid-lifetime": 4000,
    "renew-timer": 1000, "rebind-timer": 2000,
    "min-valid-lifetime": 2000,
    "decline-probation-period": 3600,
    "host-reservation-identifiers": [ "duid", "hw-address" ],
    /* Options every client gets
       unless the subnet says otherwise. */
    "option-data": [
        { "name": "dns-servers", "data": "2001:db8:0:53::1, 2001:db8:0:53::2" },
        { "name": "domain-search", "data": "customers.isp.example, isp.example" },
        { "code": 7, "data": "255" },
        { "name": "sntp-servers", "data": "2001:db8::123" }
    ],
    "option-def": [ { "name": "foo", "code": 222, "type": "uint32" } ],
    "client-classes": [ { "name": "cpe", "test": "substring(option[1].hex,0,2) == 0x0003" } ],
    "hooks-libraries": [ { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so" } ],
    "dhcp-ddns": { "enable-updates": false },
    "expired-leases-processing": { "reclaim-timer-wait-time": 10 },
    "subnet6": [
        {
            "id": 1,
            "subnet": "2001:db8:100::/64",
            "interface": "eth1",
            "rapid-commit": true,
            "pools": [ { "pool": "2001:db8:100::1000 - 2001:db8:100::ffff" },
                       { "pool": "2001:db8:100::1:0/112", "client-class": "cpe" } ],
            "pd-pools": [ { "prefix": "2001:db8:4000::", "prefix-len": 40, "delegated-len": 56,
                            "excluded-prefix": "2001:db8:4000::", "excluded-prefix-len": 64 } ],
            "valid-lifetime": 7200, "preferred-lifetime": 3600,
            "reservations": [
                { "duid": "00:03:00:01:02:42:ac:11:00:02", "ip-addresses": [ "2001:db8:100::5" ],
                  "prefixes": [ "2001:db8:7f00::/56" ],
                  "hostname": "cpe-business-1.customers.isp.example" },
                { "hw-address": "02:42:ac:11:00:09", "ip-addresses": [ "2001:db8:100::9" ] }
            ]
        },
        {
            "id": 2,
            "subnet": "2001:db8:200::/64",
            "relay": { "ip-addresses": [ "2001:db8:200::fffe" ] },
            "pools": [ { "pool": "2001:db8:200::1000-2001:db8:200::7fff" } ],
            "pd-pools": [ { "prefix": "2001:db8:5000::", "prefix-len": 40, "delegated-len": 56 } ],
            "option-data": [ { "name": "dns-servers", "data": "2001:db8:200::53" },
                             { "name": "sol-max-rt", "data": "7200" } ],
            "user-context": { "site": "north" }
        }
    ],
    "shared-networks": [
        {
            "name": "south",
            "relay": { "ip-addresses": [ "2001:db8:ffff::300" ] },
            "valid-lifetime": 9000,
            "subnet6": [
                { "id": 3, "subnet": "2001:db8:300::/64",
                  "pools": [ { "pool": "2001:db8:300::1000-2001:db8:300::1fff" } ] },
                { "subnet": "2001:db8:301::/64",
                  "pools": [ { "pool": "2001:db8:301::1000-2001:db8:301::1fff" } ] }
            ]
        }
    ],
    "loggers": [ { "name": "kea-dhcp6", "severity": "INFO",
                   "output_options": [ { "output": "/var/log/kea/kea-dhcp6.log" } ] } ]
},
"Logging": { }
}
"#;

fn validate(toml: &str) -> tandem_config::Config {
    tandem_config::parse(toml, "imported.toml").unwrap_or_else(|e| panic!("{e}\n{toml}"))
}

fn why(imported: &Imported, path: &str) -> String {
    imported
        .not_carried
        .iter()
        .find(|n| n.path == path)
        .map(|n| n.why.clone())
        .unwrap_or_else(|| panic!("{path} not listed: {:#?}", imported.not_carried))
}

#[test]
fn an_isp_config_imports_and_validates() {
    let imported = import_config(KEA_ISP).unwrap();
    let config = validate(&imported.toml);
    assert_eq!(config.server.interfaces, ["eth1", "eth2"]);
    assert_eq!(
        config.server.server_duid.as_deref(),
        Some(&[0, 2, 0, 0, 0x09, 0xbf, 0x74, 0x61, 0x62, 0x6c, 0x61, 0x62][..]),
        "DUID-EN from server-id"
    );
    let policy = config.policy(Vec::new());
    assert_eq!(policy.decline_hold_s, 3600);
    let ids: Vec<u32> = policy.subnets.iter().map(|s| s.id.0).collect();
    assert_eq!(
        ids,
        [1, 2, 3, 4],
        "the shared network's id-less subnet gets the next id"
    );

    let s1 = &policy.subnets[0];
    assert_eq!(s1.interface.as_deref(), Some("eth1"));
    assert!(s1.rapid_commit);
    assert_eq!(s1.ranges.len(), 2, "both pool forms");
    assert_eq!(
        s1.ranges[1].first,
        "2001:db8:100::1:0".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        s1.ranges[1].last,
        "2001:db8:100::1:ffff".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        (s1.pd_pools[0].prefix_len, s1.pd_pools[0].delegated_len),
        (40, 56)
    );
    assert_eq!(
        (s1.lifetimes.preferred_s, s1.lifetimes.valid_s),
        (3600, 7200)
    );
    assert_eq!(
        (s1.lifetimes.t1_s, s1.lifetimes.t2_s),
        (Some(1000), Some(2000))
    );
    assert_eq!(
        s1.reservations.len(),
        1,
        "the MAC reservation is not carried"
    );
    let r = &s1.reservations[0];
    assert_eq!(r.prefixes, [("2001:db8:7f00::".parse().unwrap(), 56)]);
    assert_eq!(
        r.hostname.as_deref(),
        Some("cpe-business-1.customers.isp.example")
    );
    assert_eq!(s1.options.dns_servers.len(), 2, "global options inherited");
    assert_eq!(s1.options.preference, Some(255));

    let s2 = &policy.subnets[1];
    assert_eq!(s2.interface, None, "relayed");
    assert_eq!(
        s2.options.dns_servers,
        ["2001:db8:200::53".parse::<Ipv6Addr>().unwrap()]
    );
    assert_eq!(s2.options.sol_max_rt_s, Some(7200));
    assert_eq!(
        s2.options.domain_search,
        ["customers.isp.example", "isp.example"]
    );
    assert_eq!(
        (s2.lifetimes.preferred_s, s2.lifetimes.valid_s),
        (3000, 4000)
    );
    let s4 = &policy.subnets[3];
    assert_eq!(s4.lifetimes.valid_s, 9000, "the shared network's lifetime");

    for path in [
        "Logging",
        "Dhcp6.hosts-database",
        "Dhcp6.option-data[3] (sntp-servers)",
        "Dhcp6.option-def",
        "Dhcp6.client-classes",
        "Dhcp6.hooks-libraries",
        "Dhcp6.dhcp-ddns",
        "Dhcp6.expired-leases-processing",
        "Dhcp6.loggers",
        "Dhcp6.min-valid-lifetime",
        "Dhcp6.interfaces-config.re-detect",
        "Dhcp6.interfaces-config.interfaces[1] (eth2/2001:db8:ffff::1)",
        "Dhcp6.host-reservation-identifiers",
        "Dhcp6.subnet6[0].pools[1].client-class",
        "Dhcp6.subnet6[0].pd-pools[0].excluded-prefix",
        "Dhcp6.subnet6[0].pd-pools[0].excluded-prefix-len",
        "Dhcp6.subnet6[0].reservations[1]",
        "Dhcp6.subnet6[1].user-context",
        "Dhcp6.shared-networks[0]",
        "Dhcp6.shared-networks[0].subnet6[0].relay (2001:db8:ffff::300)",
        "Dhcp6.shared-networks[0].subnet6[1].id",
    ] {
        assert!(!why(&imported, path).is_empty());
    }
    assert!(why(&imported, "Dhcp6.subnet6[0].reservations[1]").contains("hw-address"));
    assert!(why(&imported, "Dhcp6.shared-networks[0].subnet6[1].id").contains("given id 4"));
    // The header names the source and lists each of them as a comment.
    assert!(imported
        .toml
        .starts_with("# tandem config imported from the Kea config kea-dhcp6.conf."));
    assert!(imported
        .toml
        .contains("# Kea's lease database: memfile /var/lib/kea/kea-leases6.csv."));
    assert!(imported.toml.contains(&format!(
        "# Not carried over from Kea ({}):",
        imported.not_carried.len()
    )));
    assert!(imported
        .toml
        .contains("#   Dhcp6.hooks-libraries: Kea hook libraries"));
    assert!(imported
        .toml
        .contains("# Kea's relay address 2001:db8:200::fffe lies in the prefix"));
}

/// The lab's Kea config shape (`tandem_lab::render::kea_json`): what the migration lab test
/// imports for real.
#[test]
fn the_lab_config_imports_with_the_server_duid() {
    let kea = r#"{ "Dhcp6": {
        "interfaces-config": { "interfaces": ["srv0/2001:db8:1::1"] },
        "server-id": { "type": "EN", "enterprise-id": 2495, "identifier": "7461626c6162", "persist": false },
        "lease-database": { "type": "memfile", "persist": true, "name": "/tmp/x/kea-leases6.csv", "lfc-interval": 0 },
        "expired-leases-processing": { "reclaim-timer-wait-time": 1, "hold-reclaimed-time": 0, "flush-reclaimed-timer-wait-time": 0 },
        "option-data": [ { "name": "dns-servers", "data": "2001:db8::53, 2001:db8::5353" },
                         { "name": "domain-search", "data": "example.net, isp.example" },
                         { "name": "preference", "data": "255" } ],
        "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "interface": "srv0",
            "pools": [ { "pool": "2001:db8:1::1000-2001:db8:1::ffff" } ],
            "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 40, "delegated-len": 56 } ],
            "renew-timer": 20, "rebind-timer": 32, "preferred-lifetime": 40, "valid-lifetime": 60,
            "rapid-commit": false } ],
        "loggers": [ { "name": "kea-dhcp6", "severity": "INFO", "output_options": [ { "output": "stderr" } ] } ]
    } }"#;
    let opts = ImportOptions {
        source_name: "/tmp/x/kea-dhcp6.json".into(),
        storage_path: "/tmp/x/store".into(),
    };
    let imported = import_config_with(kea, &opts).unwrap();
    let config = validate(&imported.toml);
    assert_eq!(config.storage.path, std::path::Path::new("/tmp/x/store"));
    assert_eq!(config.server.interfaces, ["srv0"]);
    assert!(config.server.server_duid.is_some());
    let s = &config.policy(Vec::new()).subnets[0];
    assert_eq!((s.lifetimes.t1_s, s.lifetimes.t2_s), (Some(20), Some(32)));
    let paths: Vec<&str> = imported
        .not_carried
        .iter()
        .map(|n| n.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "Dhcp6.expired-leases-processing",
            "Dhcp6.interfaces-config.interfaces[0] (srv0/2001:db8:1::1)",
            "Dhcp6.loggers"
        ]
    );
}

#[test]
fn server_ids_kea_generated_are_listed() {
    let base = r#"{ "Dhcp6": { "interfaces-config": { "interfaces": ["eth0"] } SID } }"#;
    let no_sid = import_config(&base.replace("SID", "")).unwrap();
    assert!(why(&no_sid, "Dhcp6.server-id").contains("kea-dhcp6-serverid"));
    assert!(!no_sid.toml.contains("\nserver-duid"));
    validate(&no_sid.toml);
    let llt = r#", "server-id": { "type": "LLT", "htype": 1, "identifier": "02:00:00:00:00:01", "time": 700000000 }"#;
    let c = validate(&import_config(&base.replace("SID", llt)).unwrap().toml);
    let duid = c.server.server_duid.unwrap();
    assert_eq!(duid[..4], [0, 1, 0, 1]);
    assert_eq!(duid.len(), 2 + 2 + 4 + 6);
    let no_time = r#", "server-id": { "type": "LLT", "htype": 1, "identifier": "020000000001" }"#;
    let i = import_config(&base.replace("SID", no_time)).unwrap();
    assert!(why(&i, "Dhcp6.server-id").contains("LLT"));
    let ll = r#", "server-id": { "type": "LL", "htype": 1, "identifier": "020000000001" }"#;
    let c = validate(&import_config(&base.replace("SID", ll)).unwrap().toml);
    assert_eq!(c.server.server_duid.unwrap()[..4], [0, 3, 0, 1]);
}

#[test]
fn interfaces_wildcards_and_shared_interfaces() {
    let kea = r#"{ "Dhcp6": { "interfaces-config": { "interfaces": ["*"] },
        "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "interface": "eth3" },
                     { "id": 2, "subnet": "2001:db8:2::/64", "interface": "eth3" },
                     { "id": 2, "subnet": "2001:db8:3::/64" },
                     { "id": 5, "subnet": "2001:db8:5::1/64" } ] } }"#;
    let imported = import_config(kea).unwrap();
    let c = validate(&imported.toml);
    assert_eq!(c.server.interfaces, ["eth3"]);
    let p = c.policy(Vec::new());
    assert_eq!(p.subnets.len(), 2);
    assert_eq!(p.subnets[1].interface, None);
    assert!(
        why(&imported, "Dhcp6.subnet6[1].interface (eth3)").contains("one subnet per interface")
    );
    assert!(why(&imported, "Dhcp6.subnet6[2]").contains("id 2"));
    assert!(why(&imported, "Dhcp6.subnet6[3]").contains("not an IPv6 prefix"));
    let none = r#"{ "Dhcp6": { "interfaces-config": { "interfaces": ["*"] } } }"#;
    assert_eq!(import_config(none), Err(ImportError::NoInterfaces));
    let elsewhere = r#"{ "Dhcp6": { "interfaces-config": { "interfaces": ["eth0"] },
        "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "interface": "eth9" } ] } }"#;
    let imported = import_config(elsewhere).unwrap();
    assert!(why(&imported, "Dhcp6.subnet6[0].interface (eth9)").contains("did not listen"));
    validate(&imported.toml);
}

#[test]
fn bad_values_are_listed_not_fatal() {
    let kea = r#"{ "Dhcp6": { "interfaces-config": { "interfaces": ["eth0", 7] },
        "valid-lifetime": -1, "rapid-commit": "yes",
        "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "interface": "eth0",
            "pools": [ { "pool": "2001:db8:2::1-2001:db8:2::9" }, { "pool": "junk" },
                       { "pool": "2001:db8:1::9-2001:db8:1::1" }, 3 ],
            "pd-pools": [ { "prefix": "2001:db8:8000::", "prefix-len": 56, "delegated-len": 48 },
                          { "prefix": "2001:db8:8000::1", "prefix-len": 40, "delegated-len": 56 } ],
            "reservations": [ { "duid": "zz" }, { "duid": "01:02", "ip-addresses": ["2001:db8:9::1", "x"],
                                "prefixes": ["2001:db8:7f00::1/56"], "hostname": "bad_name" } ] } ] } }"#;
    let imported = import_config(kea).unwrap();
    let c = validate(&imported.toml);
    let s = &c.policy(Vec::new()).subnets[0];
    assert!(s.ranges.is_empty() && s.pd_pools.is_empty());
    assert_eq!(s.reservations.len(), 1);
    assert!(s.reservations[0].addresses.is_empty() && s.reservations[0].hostname.is_none());
    for path in [
        "Dhcp6.interfaces-config.interfaces[1]",
        "Dhcp6.valid-lifetime",
        "Dhcp6.rapid-commit",
        "Dhcp6.subnet6[0].pools[0]",
        "Dhcp6.subnet6[0].pools[1]",
        "Dhcp6.subnet6[0].pools[2]",
        "Dhcp6.subnet6[0].pools[3]",
        "Dhcp6.subnet6[0].pd-pools[0]",
        "Dhcp6.subnet6[0].pd-pools[1]",
        "Dhcp6.subnet6[0].reservations[0]",
        "Dhcp6.subnet6[0].reservations[1].ip-addresses[0]",
        "Dhcp6.subnet6[0].reservations[1].ip-addresses[1]",
        "Dhcp6.subnet6[0].reservations[1].prefixes[0]",
        "Dhcp6.subnet6[0].reservations[1].hostname",
    ] {
        why(&imported, path);
    }
}

#[test]
fn malformed_configs_name_the_place() {
    let e = import_config("{\n  \"Dhcp6\": { // c\n    \"subnet6\": [ ,\n  ] } }").unwrap_err();
    assert!(
        matches!(
            e,
            ImportError::Json {
                line: 3,
                column: 18,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.to_string(), "line 3, column 18: not JSON: expected value");
    assert_eq!(import_config("{}"), Err(ImportError::NoDhcp6));
    assert_eq!(
        import_config("[]"),
        Err(ImportError::Shape {
            path: "(top level)".into(),
            expected: "an object"
        })
    );
    let e = import_config(r#"{"Dhcp6": {"subnet6": {}}}"#).unwrap_err();
    assert_eq!(e.to_string(), "Dhcp6.subnet6: expected an array");
    let e = import_config(r#"{"Dhcp6": {"shared-networks": [ { "subnet6": 1 } ]}}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Dhcp6.shared-networks[0].subnet6: expected an array"
    );
}

#[test]
fn includes_are_listed() {
    let kea = "{ \"Dhcp6\": { \"interfaces-config\": { \"interfaces\": [\"eth0\"] }\n<?include \"/etc/kea/more.json\"?>\n } }";
    let imported = import_config(kea).unwrap();
    why(&imported, "line 2: <?include \"/etc/kea/more.json\"?>");
    validate(&imported.toml);
}

proptest! {
    /// No text makes the import panic.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = import_config(&text);
    }

    /// Mutations of the ISP config (a byte range deleted) never panic, and whatever imports
    /// either validates or fails validation with an error, never a panic.
    #[test]
    fn damaged_configs_never_panic(at in 0..KEA_ISP.len(), len in 0usize..40) {
        let end = (at + len).min(KEA_ISP.len());
        if let (Some(a), Some(b)) = (KEA_ISP.get(..at), KEA_ISP.get(end..)) {
            if let Ok(i) = import_config(&format!("{a}{b}")) {
                let _ = tandem_config::parse(&i.toml, "x.toml");
            }
        }
    }
}
