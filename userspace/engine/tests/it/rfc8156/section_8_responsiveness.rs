//! RFC 8156 §8 (server states; R47): which client messages each state answers.

use tandem_engine::DropReason;
use tandem_failover::{Role, ServerState};
use tandem_wire::StatusCode;

use super::*;
use crate::common::*;

fn every_client_message(n: u16) -> Vec<Vec<u8>> {
    let addr = a("2001:db8:1::101");
    vec![
        Msg::new(SOLICIT, 1)
            .client_id(&client(n))
            .ia_na(1, &[])
            .build(),
        request(n),
        renew(n, addr),
        Msg::new(REBIND, 4)
            .client_id(&client(n))
            .ia_na(1, &[addr])
            .build(),
        release(n, addr),
        Msg::new(DECLINE, 5)
            .client_id(&client(n))
            .server_id(SERVER_DUID)
            .ia_na(1, &[addr])
            .build(),
        Msg::new(CONFIRM, 6)
            .client_id(&client(n))
            .ia_na(1, &[addr])
            .build(),
        Msg::new(INFORMATION_REQUEST, 7)
            .client_id(&client(n))
            .build(),
    ]
}

#[test]
fn unresponsive_states_answer_nothing_on_their_subnets_and_change_nothing() {
    for state in [
        ServerState::Startup,
        ServerState::PotentialConflict,
        ServerState::Recover,
        ServerState::RecoverWait,
    ] {
        for role in [Role::Primary, Role::Secondary] {
            let mut h = harness(role, state);
            h.changes();
            for m in every_client_message(1) {
                assert_eq!(
                    h.direct(&m).unwrap_err(),
                    DropReason::FailoverUnresponsive,
                    "{state} {role:?}"
                );
            }
            h.assert_untouched();
            // Subnet 2 is in no relationship: served as ever (relayed, Rapid Commit).
            let solicit = Msg::new(SOLICIT, 9)
                .client_id(&client(2))
                .ia_na(1, &[])
                .build();
            let p = h.via_relay(a("2001:db8:2::1"), &solicit).unwrap();
            assert_eq!(p.msg_type, ADVERTISE);
        }
    }
}

#[test]
fn secondary_in_normal_answers_only_renews_and_never_allocates() {
    // A lease made while the secondary was responsive (COMMUNICATIONS-INTERRUPTED).
    let mut h = harness(Role::Secondary, ServerState::CommunicationsInterrupted);
    let p = h.direct(&request(1)).unwrap();
    let addr = p.na(1).leases[0].addr;
    assert_eq!(u128::from(addr) & 1, 0, "the secondary's half");
    h.changes();
    set_state(&mut h, Role::Secondary, ServerState::Normal);
    for (i, m) in every_client_message(1).iter().enumerate() {
        if i == 2 {
            continue;
        }
        assert_eq!(
            h.direct(m).unwrap_err(),
            DropReason::FailoverRenewOnly,
            "message {i}"
        );
    }
    h.assert_untouched();
    h.now += 600;
    let p = h.direct(&renew(1, addr)).unwrap();
    assert_eq!(p.na(1).leases[0].addr, addr);
    assert!(p.na(1).leases[0].valid > 0);
    assert_eq!(upserts(&h.changes()).len(), 1);
    // A Renew for an IA it does not know creates nothing: NoBinding.
    let p = h.direct(&renew(2, a("2001:db8:1::104"))).unwrap();
    assert_eq!(p.na(1).status, Some(StatusCode::NoBinding));
    assert!(p.na(1).leases.iter().all(|l| l.valid == 0));
    h.assert_untouched();
}

#[test]
fn recover_done_is_renew_responsive_for_both_roles_and_others_answer_everything() {
    for role in [Role::Primary, Role::Secondary] {
        let mut h = harness(role, ServerState::RecoverDone);
        assert_eq!(
            h.direct(&request(1)).unwrap_err(),
            DropReason::FailoverRenewOnly
        );
        let p = h.direct(&renew(1, a("2001:db8:1::101"))).unwrap();
        assert_eq!(p.na(1).status, Some(StatusCode::NoBinding));
        h.assert_untouched();
    }
    for (role, state) in [
        (Role::Primary, ServerState::Normal),
        (Role::Primary, ServerState::ConflictDone),
        (Role::Secondary, ServerState::CommunicationsInterrupted),
        (Role::Secondary, ServerState::ResolutionInterrupted),
        (Role::Secondary, ServerState::PartnerDown),
    ] {
        let mut h = harness(role, state);
        let p = h.direct(&request(1)).unwrap();
        assert_eq!(p.msg_type, REPLY, "{state} {role:?}");
        assert_eq!(p.na(1).leases.len(), 1, "{state} {role:?}");
        let info = Msg::new(INFORMATION_REQUEST, 7)
            .client_id(&client(1))
            .build();
        assert!(h.direct(&info).is_ok(), "{state} {role:?}");
    }
}

#[test]
fn without_a_view_or_after_clearing_it_everything_is_standalone() {
    let mut h = harness(Role::Secondary, ServerState::Recover);
    assert!(h.direct(&request(1)).is_err());
    h.engine.set_failover(None);
    h.engine.configure_shard(&mut h.shard);
    assert!(h.engine.failover().is_none());
    assert_eq!(
        h.shard.pool_stats().next().map(|s| s.1),
        Some(256),
        "whole range again"
    );
    let p = h.direct(&request(1)).unwrap();
    let l = h.shard.lease(&na(p.na(1).leases[0].addr)).unwrap();
    assert_eq!(p.na(1).leases[0].valid, SUBNET1_NA.1);
    assert_eq!(l.fo, tandem_lease::FoData::default());
}
