//! unwrap_relays, then every typed option view on every option found (relay hops, the client
//! message and IA sub-options): nothing may panic, and accessors must stay within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_wire::{
    parse_empty, parse_ipv6, parse_u16, parse_u32, parse_u8, unwrap_relays, validate_options, Auth,
    ClientFqdn, ClientLinklayerAddr, DnsServers, DomainList, IaAddr, IaNa, IaPd, IaPrefix, IaTa,
    Message, Options, Oro, RelayMessage, RemoteId, StatusCodeOption, UserClass, VendorClass,
    VendorOpts,
};

/// Applies every view to every option, descending into IA sub-options up to `depth` levels.
fn touch(options: Options<'_>, depth: u8) {
    let _ = validate_options(options);
    for opt in options.iter() {
        let d = opt.data;
        let _ = (
            parse_u8(d),
            parse_u16(d),
            parse_u32(d),
            parse_ipv6(d),
            parse_empty(d),
        );
        if let Ok(v) = StatusCodeOption::parse(d) {
            let _ = (v.code(), v.message().len());
        }
        if let Ok(v) = Oro::parse(d) {
            let _ = (v.iter().count(), v.contains(opt.code));
        }
        if let Ok(v) = ClientFqdn::parse(d) {
            let _ = (v.flags(), v.domain_name().len(), v.is_fully_qualified());
        }
        if let Ok(v) = Auth::parse(d) {
            let _ = (
                v.protocol(),
                v.algorithm(),
                v.rdm(),
                v.replay_detection(),
                v.info().len(),
            );
        }
        if let Ok(v) = RemoteId::parse(d) {
            let _ = (v.enterprise(), v.id().len());
        }
        if let Ok(v) = ClientLinklayerAddr::parse(d) {
            let _ = (v.hw_type(), v.address().len());
        }
        if let Ok(v) = UserClass::parse(d) {
            let total: usize = v.iter().map(|i| 2 + i.len()).sum();
            assert_eq!(total, d.len());
        }
        if let Ok(v) = VendorClass::parse(d) {
            let total: usize = v.iter().map(|i| 2 + i.len()).sum();
            assert_eq!(4 + total, d.len());
        }
        if let Ok(v) = VendorOpts::parse(d) {
            let total: usize = v.iter().map(|(_, s)| 4 + s.len()).sum();
            assert_eq!(4 + total, d.len());
        }
        if let Ok(v) = DnsServers::parse(d) {
            assert_eq!(v.iter().count(), v.len());
        }
        if let Ok(v) = DomainList::parse(d) {
            let total: usize = v.iter().map(|n| n.as_bytes().len()).sum();
            assert_eq!(total, d.len());
            for name in v.iter() {
                let _ = (name.labels().count(), name.to_string());
            }
        }
        if depth == 0 {
            continue;
        }
        if let Ok(v) = IaNa::parse(d) {
            let _ = (v.iaid(), v.t1(), v.t2());
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = IaPd::parse(d) {
            let _ = (v.iaid(), v.t1(), v.t2());
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = IaTa::parse(d) {
            let _ = v.iaid();
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = IaAddr::parse(d) {
            let _ = (v.addr(), v.preferred(), v.valid());
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = IaPrefix::parse(d) {
            let _ = (v.prefix(), v.prefix_len(), v.preferred(), v.valid());
            touch(v.options(), depth - 1);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = RelayMessage::new_checked(data) {
        let _ = (
            r.msg_type(),
            r.hop_count(),
            r.link_address(),
            r.peer_address(),
            r.relay_msg(),
        );
    }
    if let Ok(m) = Message::new_checked(data) {
        let _ = (m.msg_type(), m.xid());
        touch(m.options(), 3);
    }
    let Ok((chain, msg)) = unwrap_relays(data) else {
        return;
    };
    assert!(chain.len() <= tandem_wire::MAX_RELAY_DEPTH);
    for hop in chain.hops() {
        let _ = (
            hop.hop_count,
            hop.link_address,
            hop.peer_address,
            hop.interface_id,
        );
        touch(hop.options, 3);
    }
    let _ = chain.innermost();
    touch(msg.options(), 3);
});
