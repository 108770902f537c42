//! RFC 8415 §18.3.3 (Receipt of Confirm).

use tandem_engine::DropReason;
use tandem_wire::StatusCode;

use crate::common::*;

#[test]
fn golden_confirm_on_link_gets_success() {
    let mut h = Harness::new();
    let p = h.direct(testdata::CONFIRM).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_ids(&p, testdata::CLIENT_DUID);
    assert_eq!(p.status, Some(StatusCode::Success));
    assert!(p.ias.is_empty());
    h.assert_untouched();
}

#[test]
fn an_address_off_link_gets_not_on_link() {
    let mut h = Harness::new();
    let c = Msg::new(CONFIRM, 1)
        .client_id(&client(1))
        .elapsed(0)
        .ia_na(1, &[a("2001:db8:1::100"), a("2001:db8:7::1")])
        .build();
    let p = h.direct(&c).unwrap();
    assert_eq!(p.status, Some(StatusCode::NotOnLink));
    assert_ids(&p, &client(1));
    // The same Confirm arriving through a relay on 2001:db8:7::/64's link: unknown link.
    assert_eq!(
        h.via_relay(a("2001:db8:7::1"), &c).unwrap_err(),
        DropReason::NoSubnet
    );
    h.assert_untouched();
}

#[test]
fn confirm_without_addresses_gets_no_reply() {
    let mut h = Harness::new();
    let c = Msg::new(CONFIRM, 2)
        .client_id(&client(2))
        .ia_na(1, &[])
        .build();
    assert_eq!(
        h.direct(&c).unwrap_err(),
        DropReason::ConfirmWithoutAddresses
    );
    let c = Msg::new(CONFIRM, 2).client_id(&client(2)).build();
    assert_eq!(
        h.direct(&c).unwrap_err(),
        DropReason::ConfirmWithoutAddresses
    );
    h.assert_untouched();
}

#[test]
fn confirm_on_an_unknown_link_gets_no_reply() {
    let mut h = Harness::new();
    assert_eq!(
        h.on(UNBOUND_IF, testdata::CONFIRM).unwrap_err(),
        DropReason::NoSubnet
    );
    h.assert_untouched();
}

#[test]
fn confirm_via_relay_on_the_right_link_gets_success() {
    let mut h = Harness::new();
    let c = Msg::new(CONFIRM, 3)
        .client_id(&client(3))
        .ia_na(1, &[a("2001:db8:2::1234")])
        .build();
    let p = h.via_relay(a("2001:db8:2::1"), &c).unwrap();
    assert_eq!(p.status, Some(StatusCode::Success));
    assert_eq!(p.hops.len(), 1);
}
