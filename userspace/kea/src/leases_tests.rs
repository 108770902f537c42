use proptest::prelude::*;

use super::*;

const HDR_2_2: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source\n";

const NOW: u64 = 1_700_000_000;

/// Rows as Kea 2.2 wrote them in a lab run (addresses, prefixes, a renewal, a release, a
/// declined address, a hostname with an escaped comma and a user context).
fn kea_file() -> String {
    format!(
        "{HDR_2_2}\
2001:db8:1::1000,00:01:00:01:2e:6f:1a:10:6a:35:12:34:56:78,4000,1700003000,1,3000,0,1,128,0,0,,6a:35:12:34:56:78,0,,1,2\n\
2001:db8:8000::,00:01:00:01:2e:6f:1a:10:6a:35:12:34:56:78,4000,1700003000,1,3000,2,1,56,0,0,,6a:35:12:34:56:78,0,,1,2\n\
2001:db8:1::1000,00:01:00:01:2e:6f:1a:10:6a:35:12:34:56:78,4000,1700003900,1,3000,0,1,128,0,0,,6a:35:12:34:56:78,0,,1,2\n\
2001:db8:1::1001,00:03:00:01:02:00:00:00:00:02,4000,1700003000,1,3000,0,7,128,1,1,cpe-2&#x2cbusiness.example,,0,{{ \"a\": 1&#x2c \"b\": 2 }},,\n\
2001:db8:1::1002,00:03:00:01:02:00:00:00:00:03,4000,1700003000,1,3000,0,7,128,0,0,,,0,,,\n\
2001:db8:1::1002,00:03:00:01:02:00:00:00:00:03,0,1700000500,1,0,0,7,128,0,0,,,0,,,\n\
2001:db8:1::1003,00,86400,1700050000,1,0,0,0,128,0,0,,,1,,,\n\
2001:db8:1::1004,00:03:00:01:02:00:00:00:00:04,4000,1699999000,1,3000,0,7,128,0,0,,,0,,,\n"
    )
}

#[test]
fn a_kea_2_2_file_gives_its_live_leases() {
    let v = parse_leases6(&kea_file(), NOW).unwrap();
    let addrs: Vec<String> = v.iter().map(|l| l.address.to_string()).collect();
    // ::1002 was released (valid 0), ::1004 expired before NOW; NA sorts before PD.
    assert_eq!(
        addrs,
        [
            "2001:db8:1::1000",
            "2001:db8:1::1001",
            "2001:db8:1::1003",
            "2001:db8:8000::"
        ]
    );
    let renewed = &v[0];
    assert_eq!(renewed.expire, 1_700_003_900, "the last row wins");
    assert_eq!(renewed.cltt(), 1_700_003_900 - 4000);
    assert_eq!(renewed.duid[..4], [0, 1, 0, 1]);
    assert_eq!(renewed.hwaddr, [0x6a, 0x35, 0x12, 0x34, 0x56, 0x78]);
    assert_eq!((renewed.hwtype, renewed.hwaddr_source), (Some(1), Some(2)));
    let named = &v[1];
    assert_eq!(named.hostname, "cpe-2,business.example");
    assert_eq!(named.user_context, "{ \"a\": 1, \"b\": 2 }");
    assert!(named.fqdn_fwd && named.fqdn_rev);
    assert_eq!(named.iaid, 7);
    assert_eq!(v[2].state, KeaLeaseState::Declined);
    assert_eq!(v[2].duid, [0]);
    let pd = &v[3];
    assert_eq!((pd.lease_type, pd.prefix_len), (KeaLeaseType::Pd, 56));
}

#[test]
fn older_files_have_fewer_columns_and_newer_ones_a_pool_id() {
    let old = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname\n\
               2001:db8:1::5,0a:0b,100,1700000100,3,50,0,9,128,0,0,host\n";
    let v = parse_leases6(old, NOW).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].subnet_id, v[0].hostname.as_str()), (3, "host"));
    assert!(v[0].hwaddr.is_empty() && v[0].hwtype.is_none());
    let new = format!(
        "{},pool_id\n2001:db8:1::5,0a:0b,100,1700000100,3,50,0,9,128,0,0,,,0,,,,4\n",
        HDR_2_2.trim_end()
    );
    assert_eq!(parse_leases6(&new, NOW).unwrap()[0].pool_id, Some(4));
}

#[test]
fn malformed_files_name_the_line_and_column() {
    let err = |text: &str| parse_leases6(text, NOW).unwrap_err();
    assert_eq!(err("").kind, CsvErrorKind::NoHeader);
    let e = err("address,duid\n");
    assert_eq!(
        (e.line, e.kind),
        (1, CsvErrorKind::MissingColumn("valid_lifetime"))
    );
    let e = err(&format!("{HDR_2_2}2001:db8::1,00:01,1\n"));
    assert_eq!(e.line, 2);
    assert_eq!(
        e.kind,
        CsvErrorKind::FieldCount {
            expected: 17,
            got: 3
        }
    );
    let row = "2001:db8::1,00:01,100,1700000100,1,50,0,1,128,0,0,,,0,,,";
    for (bad, column) in [
        (row.replacen("2001:db8::1", "10.0.0.1", 1), "address"),
        (row.replacen("00:01", "zz:01", 1), "duid"),
        (row.replacen(",1,128", ",x,128", 1), "iaid"),
        (row.replacen(",128,", ",129,", 1), "prefix_len"),
        (row.replacen(",0,1,128", ",5,1,128", 1), "lease_type"),
        (row.replacen(",100,", ",-1,", 1), "valid_lifetime"),
    ] {
        let e = err(&format!("{HDR_2_2}\n{row}\n{bad}\n"));
        assert_eq!(e.line, 4, "{bad}");
        assert!(
            matches!(&e.kind, CsvErrorKind::Field { column: c, .. } if *c == column),
            "{bad}: {e}"
        );
        assert!(e.to_string().starts_with("line 4: column `"), "{e}");
    }
}

#[test]
fn written_files_carry_the_kea_2_2_header_and_escapes() {
    let v = parse_leases6(&kea_file(), NOW).unwrap();
    let text = write_leases6(&v);
    assert!(text.starts_with(HDR_2_2), "{text}");
    assert!(text.contains(",cpe-2&#x2cbusiness.example,"), "{text}");
    assert_eq!(text.lines().count(), 1 + v.len());
    assert_eq!(parse_leases6(&text, NOW).unwrap(), v);
}

#[test]
fn hex_octets_in_every_form_kea_writes() {
    assert_eq!(parse_hex_octets("0:1:a:ff"), Some(vec![0, 1, 0xa, 0xff]));
    assert_eq!(parse_hex_octets("0001aff0"), Some(vec![0, 1, 0xaf, 0xf0]));
    assert_eq!(parse_hex_octets("0x0102"), Some(vec![1, 2]));
    assert_eq!(parse_hex_octets(""), Some(vec![]));
    for bad in ["123", "0:123", "+1", "a::b", "gg", "é"] {
        assert_eq!(parse_hex_octets(bad), None, "{bad}");
    }
    assert_eq!(hex_octets(&[0, 0xab]), "00:ab");
    assert_eq!(unescape("a&#x2cb&#xzz&#x"), "a,b&#xzz&#x");
}

fn lease_strategy() -> impl Strategy<Value = KeaLease> {
    let kind = prop_oneof![
        Just(KeaLeaseType::Na),
        Just(KeaLeaseType::Ta),
        Just(KeaLeaseType::Pd)
    ];
    let state = prop_oneof![Just(KeaLeaseState::Default), Just(KeaLeaseState::Declined)];
    let text = "[a-z0-9.,&{}\" :-]{0,24}";
    (
        (any::<u128>(), kind, 1..=128u8, any::<u32>(), any::<u32>()),
        (
            prop::collection::vec(any::<u8>(), 1..=130),
            1..=u32::MAX,
            NOW + 1..NOW + 10_000_000,
            any::<u32>(),
        ),
        (any::<bool>(), any::<bool>(), text, text, state),
        (
            prop::collection::vec(any::<u8>(), 0..=20),
            any::<Option<u16>>(),
            any::<Option<u32>>(),
        ),
    )
        .prop_map(
            |(
                (addr, lease_type, plen, iaid, subnet_id),
                (duid, valid_lifetime, expire, pref_lifetime),
                (fqdn_fwd, fqdn_rev, hostname, user_context, state),
                (hwaddr, hwtype, hwaddr_source),
            )| KeaLease {
                address: Ipv6Addr::from(addr),
                duid,
                valid_lifetime,
                expire,
                subnet_id,
                pref_lifetime,
                lease_type,
                iaid,
                prefix_len: if lease_type == KeaLeaseType::Pd {
                    plen
                } else {
                    128
                },
                fqdn_fwd,
                fqdn_rev,
                hostname: hostname.trim().to_owned(),
                hwaddr,
                state,
                user_context: user_context.trim().to_owned(),
                hwtype,
                hwaddr_source,
                pool_id: None,
            },
        )
}

proptest! {
    /// write → parse gives back every lease (one per (type, address), ordered as parse orders).
    #[test]
    fn write_then_parse_round_trips(leases in prop::collection::vec(lease_strategy(), 0..40)) {
        let mut unique: BTreeMap<(KeaLeaseType, Ipv6Addr), KeaLease> = BTreeMap::new();
        for l in leases {
            unique.insert((l.lease_type, l.address), l);
        }
        let want: Vec<KeaLease> = unique.into_values().collect();
        let text = write_leases6(&want);
        prop_assert_eq!(parse_leases6(&text, NOW).unwrap(), want);
    }

    /// Arbitrary text never panics the parser.
    #[test]
    fn arbitrary_text_never_panics(tail in "\\PC{0,300}") {
        let _ = parse_leases6(&format!("{HDR_2_2}{tail}"), NOW);
        let _ = parse_leases6(&tail, NOW);
    }
}
