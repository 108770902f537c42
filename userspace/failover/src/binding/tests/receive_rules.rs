//! Receive rules (RFC 8156 §7.5, §7.5.5; protocol.md §1.13 steps 2–6; R35–R37, R40): one test
//! per §7.5.5 storage rule, the pool check, and the conflict table reached through
//! [`receive_update`].

use std::cell::Cell;

use tandem_wire::StatusCode;

use super::*;
use crate::conflict::{ClientIdentity, RejectReason};
use crate::state::Role;

/// Local times with every field set to a distinct value.
fn local_times() -> LocalTimes {
    LocalTimes {
        cltt: Some(t(-1000)),
        start_time_of_state: t(-5000),
        state_expiration_time: Some(t(500)),
        partner_lifetime: Some(t(4000)),
        expiration_time: Some(t(6000)),
        partner_raw_clt_time: Some(t(-2000)),
    }
}

#[test]
fn new_lease_takes_the_received_times() {
    let item = addr_item();
    let s = stored_times(None, &item);
    assert_eq!(
        s,
        LocalTimes {
            cltt: Some(t(-30)),
            start_time_of_state: t(-86_400),
            state_expiration_time: Some(t(7200)),
            partner_lifetime: Some(t(3600)),
            expiration_time: Some(t(9000)),
            partner_raw_clt_time: Some(t(-5)),
        }
    );
}

#[test]
fn start_and_state_expiration_are_replaced() {
    let mut item = addr_item();
    item.start_time_of_state = t(-10);
    item.state_expiration_time = Some(t(100));
    let s = stored_times(Some(&local_times()), &item);
    assert_eq!(s.start_time_of_state, t(-10));
    assert_eq!(s.state_expiration_time, Some(t(100)));
    // A status without a timeout clears it.
    let free = prefix_update();
    let BindingUpdate::Prefix { item, .. } = &free else {
        unreachable!()
    };
    assert_eq!(
        stored_times(Some(&local_times()), item).state_expiration_time,
        None
    );
}

#[test]
fn partner_lifetime_becomes_our_expiration_time() {
    let mut item = addr_item();
    // Replaced even when earlier than what we acked before (§7.5.5 says "set").
    item.partner_lifetime = Some(t(10));
    assert_eq!(
        stored_times(Some(&local_times()), &item).expiration_time,
        Some(t(10))
    );
    item.partner_lifetime = None;
    item.status = BindingStatus::Free;
    item.state_expiration_time = None;
    item.expiration_time = None;
    assert_eq!(
        stored_times(Some(&local_times()), &item).expiration_time,
        Some(t(6000)),
        "kept when the update acks nothing new"
    );
}

#[test]
fn received_clt_becomes_partner_raw_clt_time() {
    let mut item = addr_item();
    item.clt_time = Some(t(-7));
    assert_eq!(
        stored_times(Some(&local_times()), &item).partner_raw_clt_time,
        Some(t(-7))
    );
    item.clt_time = None;
    assert_eq!(
        stored_times(Some(&local_times()), &item).partner_raw_clt_time,
        Some(t(-2000))
    );
}

#[test]
fn partner_raw_clt_time_replaces_cltt_only_if_later() {
    let mut item = addr_item();
    item.partner_raw_clt_time = Some(t(-500));
    assert_eq!(
        stored_times(Some(&local_times()), &item).cltt,
        Some(t(-500))
    );
    item.partner_raw_clt_time = Some(t(-1500));
    assert_eq!(
        stored_times(Some(&local_times()), &item).cltt,
        Some(t(-1000))
    );
    item.partner_raw_clt_time = None;
    assert_eq!(
        stored_times(Some(&local_times()), &item).cltt,
        Some(t(-1000))
    );
    // Wrap-aware: 3 is later than u32::MAX − 3.
    let near_wrap = LocalTimes {
        cltt: Some(FoTime(u32::MAX - 3)),
        ..local_times()
    };
    item.partner_raw_clt_time = Some(FoTime(3));
    assert_eq!(stored_times(Some(&near_wrap), &item).cltt, Some(FoTime(3)));
}

#[test]
fn expiration_time_replaces_partner_lifetime_only_if_later() {
    let mut item = addr_item();
    item.expiration_time = Some(t(4500));
    assert_eq!(
        stored_times(Some(&local_times()), &item).partner_lifetime,
        Some(t(4500))
    );
    item.expiration_time = Some(t(3000));
    assert_eq!(
        stored_times(Some(&local_times()), &item).partner_lifetime,
        Some(t(4000))
    );
    let none = LocalTimes {
        partner_lifetime: None,
        ..local_times()
    };
    assert_eq!(
        stored_times(Some(&none), &item).partner_lifetime,
        Some(t(3000))
    );
}

fn lease(status: BindingStatus, duid: &[u8], iaid: u32) -> LocalLease<'_> {
    LocalLease {
        status,
        client: Some(ClientIdentity { duid, iaid }),
        times: local_times(),
    }
}

#[test]
fn outside_every_pool_is_a_configuration_conflict() {
    let item = addr_item();
    let out = decide_item(Role::Primary, t(0), None, &item, None, false);
    assert_eq!(out, ItemOutcome::Reject(ItemReject::NotOurs));
    assert_eq!(out.status(), Some(StatusCode::ConfigurationConflict));
    assert!(!ItemReject::NotOurs.flag_for_partner_update());
    // Even when the table would accept.
    let inside = decide_item(Role::Primary, t(0), None, &item, None, true);
    assert_eq!(inside, ItemOutcome::Accept(stored_times(None, &item)));
    assert_eq!(inside.status(), None);
}

#[test]
fn receive_update_runs_pool_check_lookup_and_table() {
    let update = client_update();
    let other = b"another-client";
    let lookups = Cell::new(0);
    let outcomes = receive_update(
        Role::Primary,
        t(0),
        &update,
        |a, plen| {
            assert!(plen == 128 || plen == 56);
            a == addr("2001:db8:1::100") || plen == 56
        },
        |ia, item| {
            lookups.set(lookups.get() + 1);
            let ia = ia.expect("client items have an IA");
            match ia.kind {
                // The address is ACTIVE for another client with a later start: AddressInUse
                // (accept(3): not the same client, no later CLT, we are the primary).
                IaKind::Na => {
                    assert_eq!(item.prefix_len, 128);
                    Some(LocalLease {
                        times: LocalTimes {
                            start_time_of_state: t(0),
                            ..local_times()
                        },
                        ..lease(BindingStatus::Active, other, 1)
                    })
                }
                // The prefix is unknown here: accepted.
                _ => None,
            }
        },
    );
    assert_eq!(lookups.get(), 2);
    assert_eq!(outcomes.whole, None);
    assert_eq!(
        outcomes.items[0],
        ItemOutcome::Reject(ItemReject::Conflict(RejectReason::AddressInUse))
    );
    assert_eq!(outcomes.items[0].status(), Some(StatusCode::AddressInUse));
    assert_eq!(
        outcomes.items[1],
        ItemOutcome::Accept(stored_times(None, &prefix_item()))
    );
    // The same update on the secondary: accept(3) lets the secondary yield.
    let outcomes = receive_update(
        Role::Secondary,
        t(0),
        &update,
        |_, _| true,
        |_, _| Some(lease(BindingStatus::Active, other, 1)),
    );
    assert!(matches!(outcomes.items[0], ItemOutcome::Accept(_)));
}

#[test]
fn outdated_rejection_flags_the_lease_and_skips_lookup_outside_pools() {
    let update = client_update();
    let lookups = Cell::new(0);
    let outcomes = receive_update(
        Role::Secondary,
        t(0),
        &update,
        |_, plen| plen == 128,
        |_, _| {
            lookups.set(lookups.get() + 1);
            // Our EXPIRED data has a CLTT later than the received CLT time.
            Some(LocalLease {
                times: LocalTimes {
                    cltt: Some(t(100)),
                    ..local_times()
                },
                ..lease(BindingStatus::Expired, DUID, 1)
            })
        },
    );
    assert_eq!(
        lookups.get(),
        1,
        "no lookup for the prefix outside our pools"
    );
    let ItemOutcome::Reject(r) = outcomes.items[0] else {
        panic!("rejection expected: {:?}", outcomes.items[0]);
    };
    assert_eq!(r.status_code(), StatusCode::OutdatedBindingInformation);
    assert!(r.flag_for_partner_update());
    assert_eq!(outcomes.items[1], ItemOutcome::Reject(ItemReject::NotOurs));
}

/// R43: the secondary refuses a FREE reclaim of a prefix it has already delegated (time(1):
/// its ACTIVE lease has not run out), and takes it once the lease has expired.
#[test]
fn prefix_reclaim_of_a_delegated_prefix() {
    let update = prefix_update();
    let delegated = |_: Option<&IaBinding>, _: &BindingItem| {
        Some(LocalLease {
            times: LocalTimes {
                state_expiration_time: Some(t(500)),
                ..local_times()
            },
            ..lease(BindingStatus::Active, DUID, 9)
        })
    };
    let before = receive_update(Role::Secondary, t(0), &update, |_, _| true, delegated);
    assert_eq!(
        before.items,
        [ItemOutcome::Reject(ItemReject::Conflict(
            RejectReason::OutdatedBindingInformation
        ))]
    );
    let after = receive_update(Role::Secondary, t(506), &update, |_, _| true, delegated);
    assert!(matches!(after.items[0], ItemOutcome::Accept(_)));
}
