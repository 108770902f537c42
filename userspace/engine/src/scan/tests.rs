use std::net::Ipv6Addr;

use tandem_wire::Options;

use super::*;

fn opt(code: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn ia_na(iaid: u32, sub: &[u8]) -> Vec<u8> {
    let mut p = iaid.to_be_bytes().to_vec();
    p.extend_from_slice(&[0; 8]);
    p.extend_from_slice(sub);
    opt(3, &p)
}

fn ia_pd(iaid: u32, sub: &[u8]) -> Vec<u8> {
    let mut p = iaid.to_be_bytes().to_vec();
    p.extend_from_slice(&[0; 8]);
    p.extend_from_slice(sub);
    opt(25, &p)
}

fn iaaddr(a: Ipv6Addr) -> Vec<u8> {
    let mut p = a.octets().to_vec();
    p.extend_from_slice(&[0; 8]);
    opt(5, &p)
}

fn iaprefix(len: u8, prefix: Ipv6Addr) -> Vec<u8> {
    let mut p = vec![0; 8];
    p.push(len);
    p.extend_from_slice(&prefix.octets());
    opt(26, &p)
}

fn run(area: &[u8]) -> Result<Scan<'_>, DropReason> {
    scan(Options::new_checked(area).expect("well-formed option area"))
}

const DUID: &[u8] = &[0, 3, 0, 1, 1, 2, 3, 4, 5, 6];

#[test]
fn collects_ids_wants_and_ias() {
    let a: Ipv6Addr = "2001:db8::5".parse().unwrap();
    let mut area = opt(1, DUID);
    area.extend(opt(8, &[0, 0]));
    area.extend(opt(6, &[0, 23, 0, 24, 0, 82, 0, 39, 0, 32, 0, 99]));
    area.extend(ia_na(7, &iaaddr(a)));
    area.extend(ia_pd(8, &iaprefix(56, Ipv6Addr::UNSPECIFIED)));
    area.extend(ia_na(9, &[]));
    area.extend(opt(14, &[]));
    area.extend(opt(39, &[0x01, 4, b'h', b'o', b's', b't', 0]));
    area.extend(opt(4242, b"unknown options are ignored"));
    let s = run(&area).unwrap();
    assert_eq!(s.client_id, Some(DUID));
    assert_eq!(s.server_id, None);
    assert!(s.wants.dns_servers && s.wants.domain_list && s.wants.sol_max_rt);
    assert!(s.wants.client_fqdn && s.wants.information_refresh_time);
    assert!(s.rapid_commit);
    assert_eq!(s.fqdn.map(|(f, _)| f), Some(1));
    let ias = s.ias.as_slice();
    assert_eq!(ias.len(), 3);
    assert_eq!((ias[0].ty, ias[0].iaid, ias[0].index), (IaType::Na, 7, 0));
    assert_eq!(
        ias[0].hints.as_slice(),
        &[Hint {
            addr: a,
            prefix_len: 128
        }]
    );
    assert_eq!((ias[1].ty, ias[1].iaid, ias[1].index), (IaType::Pd, 8, 0));
    assert!(ias[1].hints.as_slice()[0].is_unspecified());
    assert_eq!(ias[1].hints.as_slice()[0].prefix_len, 56);
    assert_eq!((ias[2].ty, ias[2].index), (IaType::Na, 1));
}

#[test]
fn duplicate_singletons_are_dropped() {
    for code in [1u16, 2, 6, 8, 14, 39] {
        let payload: &[u8] = match code {
            1 | 2 => DUID,
            6 => &[0, 23],
            8 => &[0, 0],
            39 => &[0, 0],
            _ => &[],
        };
        let mut area = opt(code, payload);
        area.extend(opt(code, payload));
        assert_eq!(
            run(&area).err(),
            Some(DropReason::DuplicateOption),
            "code {code}"
        );
    }
}

#[test]
fn duid_lengths_are_checked() {
    assert_eq!(run(&opt(1, &[])).err(), Some(DropReason::BadDuidLength));
    assert_eq!(
        run(&opt(2, &[7; 131])).err(),
        Some(DropReason::BadDuidLength)
    );
    assert!(run(&opt(1, &[7; 130])).is_ok());
}

#[test]
fn bad_lengths_of_known_options_are_malformed() {
    assert_eq!(run(&opt(8, &[0])).err(), Some(DropReason::Malformed));
    assert_eq!(run(&opt(6, &[0, 23, 0])).err(), Some(DropReason::Malformed));
    assert_eq!(run(&opt(14, &[1])).err(), Some(DropReason::Malformed));
    assert_eq!(run(&opt(3, &[0; 11])).err(), Some(DropReason::BadIaOption));
    assert_eq!(
        run(&ia_na(1, &opt(5, &[0; 20]))).err(),
        Some(DropReason::BadIaOption)
    );
    // A malformed FQDN is ignored, not a drop.
    assert!(run(&opt(39, &[])).unwrap().fqdn.is_none());
}

#[test]
fn prefix_length_above_128_is_dropped() {
    let area = ia_pd(1, &iaprefix(129, Ipv6Addr::UNSPECIFIED));
    assert_eq!(run(&area).err(), Some(DropReason::BadPrefixLength));
    assert!(run(&ia_pd(1, &iaprefix(128, Ipv6Addr::UNSPECIFIED))).is_ok());
}

#[test]
fn ia_caps_and_duplicate_iaids() {
    let mut area = Vec::new();
    for i in 0..IA_PER_TYPE_MAX as u32 {
        area.extend(ia_na(i, &[]));
        area.extend(ia_pd(i, &[]));
    }
    assert_eq!(run(&area).unwrap().ias.len(), 2 * IA_PER_TYPE_MAX);
    let mut more = area.clone();
    more.extend(ia_na(99, &[]));
    assert_eq!(run(&more).err(), Some(DropReason::TooManyIas));

    let mut dup = ia_na(5, &[]);
    dup.extend(ia_na(5, &[]));
    assert_eq!(run(&dup).err(), Some(DropReason::DuplicateIaid));
    // Same IAID in different IA types is fine (separate IAID spaces, RFC 8415 §12).
    let mut mixed = ia_na(5, &[]);
    mixed.extend(ia_pd(5, &[]));
    assert!(run(&mixed).is_ok());
}

#[test]
fn only_the_first_hints_of_an_ia_are_considered() {
    let mut sub = Vec::new();
    for i in 0..20u16 {
        sub.extend(iaaddr(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, i)));
    }
    let area = ia_na(1, &sub);
    let s = run(&area).unwrap();
    assert_eq!(s.ias.as_slice()[0].hints.len(), HINTS_PER_IA_MAX);
}
