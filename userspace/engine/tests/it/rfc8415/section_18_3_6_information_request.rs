//! RFC 8415 §18.3.6 (Receipt of Information-request).

use tandem_engine::DropReason;

use crate::common::*;

#[test]
fn golden_information_request_gets_the_configured_options() {
    let mut h = Harness::new();
    let p = h.direct(testdata::INFORMATION_REQUEST).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_ids(&p, testdata::CLIENT_DUID);
    assert_eq!(
        p.option(OPT_DNS_SERVERS),
        Some(&a("2001:db8::53").octets()[..])
    );
    assert!(p.option(OPT_DOMAIN_LIST).is_some());
    assert_eq!(
        p.option(OPT_INFORMATION_REFRESH_TIME),
        Some(&86_400u32.to_be_bytes()[..])
    );
    assert!(p.ias.is_empty());
    assert_eq!(p.status, None);
    h.assert_untouched();
}

#[test]
fn answered_without_client_id_and_with_our_server_id() {
    let mut h = Harness::new();
    let ir = Msg::new(INFORMATION_REQUEST, 1)
        .elapsed(0)
        .oro(&[OPT_DNS_SERVERS])
        .build();
    let p = h.direct(&ir).unwrap();
    assert_eq!(p.server_id.as_deref(), Some(SERVER_DUID));
    assert_eq!(p.client_id, None, "no CLIENTID in, none out");
    assert!(p.option(OPT_DNS_SERVERS).is_some());
    assert!(
        p.option(OPT_INFORMATION_REFRESH_TIME).is_none(),
        "not requested"
    );

    let ir = Msg::new(INFORMATION_REQUEST, 2)
        .server_id(SERVER_DUID)
        .oro(&[OPT_DNS_SERVERS])
        .build();
    assert!(h.direct(&ir).is_ok());
    h.assert_untouched();
}

#[test]
fn foreign_server_id_or_an_ia_is_discarded() {
    let mut h = Harness::new();
    let ir = Msg::new(INFORMATION_REQUEST, 3)
        .client_id(&client(1))
        .server_id(FOREIGN_DUID)
        .build();
    assert_eq!(h.direct(&ir).unwrap_err(), DropReason::ForeignServerId);
    let ir = Msg::new(INFORMATION_REQUEST, 3)
        .client_id(&client(1))
        .ia_na(1, &[])
        .build();
    assert_eq!(
        h.direct(&ir).unwrap_err(),
        DropReason::IaInInformationRequest
    );
    let ir = Msg::new(INFORMATION_REQUEST, 3)
        .client_id(&client(1))
        .ia_pd(1, &[])
        .build();
    assert_eq!(
        h.direct(&ir).unwrap_err(),
        DropReason::IaInInformationRequest
    );
    let ir = Msg::new(INFORMATION_REQUEST, 3)
        .client_id(&client(1))
        .ia_ta(1)
        .build();
    assert_eq!(
        h.direct(&ir).unwrap_err(),
        DropReason::IaInInformationRequest
    );
    h.assert_untouched();
}

#[test]
fn subnet_options_override_global_ones_and_unknown_links_get_global_ones() {
    let mut h = Harness::new();
    let ir = Msg::new(INFORMATION_REQUEST, 4)
        .oro(&[OPT_DNS_SERVERS, OPT_DOMAIN_LIST])
        .build();
    let p = h.via_relay(a("2001:db8:2::1"), &ir).unwrap();
    assert_eq!(
        p.option(OPT_DNS_SERVERS),
        Some(&a("2001:db8:2::53").octets()[..])
    );
    assert!(
        p.option(OPT_DOMAIN_LIST).is_some(),
        "not overridden: global value"
    );
    let p = h.via_relay(a("2001:db8:77::1"), &ir).unwrap();
    assert_eq!(
        p.option(OPT_DNS_SERVERS),
        Some(&a("2001:db8::53").octets()[..])
    );
    let p = h.on(UNBOUND_IF, &ir).unwrap();
    assert_eq!(
        p.option(OPT_DNS_SERVERS),
        Some(&a("2001:db8::53").octets()[..])
    );
}
