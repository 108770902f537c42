//! RFC 8415 §18.3.8 (Receipt of Decline).

use tandem_lease::{LeaseChange, LeaseState};
use tandem_wire::StatusCode;

use crate::common::*;

#[test]
fn golden_decline_quarantines_the_address() {
    let mut h = Harness::new();
    h.direct(testdata::REQUEST).unwrap();
    h.changes();
    let p = h.direct(testdata::DECLINE).unwrap();
    assert_eq!(p.msg_type, REPLY);
    assert_ids(&p, testdata::CLIENT_DUID);
    assert_eq!(p.status, Some(StatusCode::Success));
    assert!(p.ias.is_empty());
    let changes = h.changes();
    assert_eq!(changes.len(), 1);
    let LeaseChange::Upsert(l) = &changes[0] else {
        panic!("decline is an upsert: {changes:?}")
    };
    assert_eq!(
        (l.resource.addr, l.state),
        (testdata::ADDR, LeaseState::Declined)
    );
    assert_eq!(l.expires_at, NOW + 900, "held for decline_hold_s");

    // The declined address is not offered to anyone while held, even when hinted.
    let sol = Msg::new(SOLICIT, 1)
        .client_id(&client(9))
        .ia_na(1, &[testdata::ADDR])
        .build();
    assert_ne!(h.direct(&sol).unwrap().na(1).leases[0].addr, testdata::ADDR);
}

#[test]
fn decline_of_an_unknown_ia_gets_no_binding() {
    let mut h = Harness::new();
    let p = h.direct(testdata::DECLINE).unwrap();
    assert_eq!(p.status, Some(StatusCode::Success));
    assert_eq!(p.na(1).status, Some(StatusCode::NoBinding));
    h.assert_untouched();
}

#[test]
fn decline_of_an_address_of_another_client_changes_nothing() {
    let mut h = Harness::new();
    h.direct(testdata::REQUEST).unwrap();
    h.changes();
    let dec = Msg::new(DECLINE, 5)
        .client_id(&client(1))
        .server_id(SERVER_DUID)
        .ia_na(1, &[testdata::ADDR])
        .build();
    let p = h.direct(&dec).unwrap();
    assert_eq!(p.na(1).status, Some(StatusCode::NoBinding));
    h.assert_untouched();
}
