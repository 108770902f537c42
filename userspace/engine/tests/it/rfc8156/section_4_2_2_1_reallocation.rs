//! RFC 8156 §4.2.2.1 (re-allocation of leases to other clients; R46): a released or expired
//! lease goes to another client only after the partner acked that state.

use tandem_failover::{Role, ServerState};
use tandem_lease::{AckOutcome, LeaseChange, LeaseState};
use tandem_wire::StatusCode;

use super::*;
use crate::common::*;

/// Subnet 3 (eth1) has ::10 and ::11; the primary may allocate only ::11.
const ONLY: &str = "2001:db8:3::11";

fn request_on_eth1(h: &mut Harness, n: u16) -> Option<Ipv6Addr> {
    let p = h.on(ETH1, &request(n)).unwrap();
    let ia = p.na(1);
    (ia.status != Some(StatusCode::NoAddrsAvail)).then(|| ia.leases[0].addr)
}

#[test]
fn released_lease_waits_for_the_ack_and_its_client_may_take_it_back() {
    let mut h = harness(Role::Primary, ServerState::Normal);
    assert_eq!(request_on_eth1(&mut h, 1), Some(a(ONLY)));
    assert_eq!(request_on_eth1(&mut h, 2), None, "one address per server");
    h.on(ETH1, &release(1, a(ONLY))).unwrap();
    let l = h.shard.lease(&na(a(ONLY))).unwrap().clone();
    assert_eq!(
        (l.state, l.fo.start_time_of_state),
        (LeaseState::Released, NOW)
    );
    assert!(l.fo.tell_partner);
    assert!(
        matches!(h.changes().last(), Some(LeaseChange::Upsert(u)) if u.state == LeaseState::Released)
    );
    h.now += 86_400;
    assert_eq!(
        request_on_eth1(&mut h, 2),
        None,
        "not before the partner acked"
    );
    assert_eq!(
        request_on_eth1(&mut h, 1),
        Some(a(ONLY)),
        "its own client may"
    );
    h.on(ETH1, &release(1, a(ONLY))).unwrap();
    let l = h.shard.lease(&na(a(ONLY))).unwrap().clone();
    assert_eq!(
        h.shard.partner_acked(&na(a(ONLY)), &ack_current(&l)),
        AckOutcome::Freed
    );
    assert_eq!(request_on_eth1(&mut h, 2), Some(a(ONLY)));
}

#[test]
fn expired_lease_waits_for_the_ack() {
    let mut h = harness(Role::Primary, ServerState::Normal);
    assert_eq!(request_on_eth1(&mut h, 1), Some(a(ONLY)));
    h.now += 10_000;
    // The allocation finds the pool full, reclaims: the lease becomes Expired, kept.
    assert_eq!(request_on_eth1(&mut h, 2), None);
    let l = h.shard.lease(&na(a(ONLY))).unwrap().clone();
    assert_eq!(
        (l.state, l.fo.start_time_of_state),
        (LeaseState::Expired, h.now)
    );
    assert_eq!(
        h.shard.partner_acked(&na(a(ONLY)), &ack_current(&l)),
        AckOutcome::Freed
    );
    assert_eq!(request_on_eth1(&mut h, 2), Some(a(ONLY)));
}

#[test]
fn partner_down_frees_unacked_leases_mclt_after_their_state_began() {
    let mut h = harness(Role::Primary, ServerState::PartnerDown);
    assert_eq!(request_on_eth1(&mut h, 1), Some(a(ONLY)));
    h.on(ETH1, &release(1, a(ONLY))).unwrap();
    let released_at = h.now;
    h.now += u64::from(MCLT_S) - 1;
    assert_eq!(h.shard.free_unacked(&[3], h.now - u64::from(MCLT_S)), 0);
    assert_eq!(request_on_eth1(&mut h, 2), None);
    h.now = released_at + u64::from(MCLT_S);
    assert_eq!(h.shard.free_unacked(&[3], h.now - u64::from(MCLT_S)), 1);
    assert_eq!(request_on_eth1(&mut h, 2), Some(a(ONLY)));
}

#[test]
fn engine_housekeeping_frees_per_relationship_only_mclt_into_partner_down() {
    let mut h = harness(Role::Primary, ServerState::Normal);
    assert_eq!(request_on_eth1(&mut h, 1), Some(a(ONLY)));
    h.on(ETH1, &release(1, a(ONLY))).unwrap();
    h.now += 10 * u64::from(MCLT_S);
    assert_eq!(
        h.engine.free_unacked(&mut h.shard, h.now),
        0,
        "NORMAL waits for the ack"
    );
    // Entered PARTNER-DOWN at NOW - 10 (see `view`): due MCLT later.
    set_state(&mut h, Role::Primary, ServerState::PartnerDown);
    assert_eq!(
        h.engine
            .free_unacked(&mut h.shard, NOW - 10 + u64::from(MCLT_S) - 1),
        0
    );
    assert_eq!(h.engine.free_unacked(&mut h.shard, h.now), 1);
    assert_eq!(request_on_eth1(&mut h, 2), Some(a(ONLY)));
}

#[test]
fn decline_is_told_to_the_partner_and_stays_abandoned() {
    let mut h = harness(Role::Primary, ServerState::Normal);
    assert_eq!(request_on_eth1(&mut h, 1), Some(a(ONLY)));
    let decline = Msg::new(DECLINE, 5)
        .client_id(&client(1))
        .server_id(SERVER_DUID)
        .ia_na(1, &[a(ONLY)])
        .build();
    h.on(ETH1, &decline).unwrap();
    let l = h.shard.lease(&na(a(ONLY))).unwrap();
    assert_eq!(l.state.binding_status(), 7, "ABANDONED");
    assert!(l.fo.tell_partner);
    h.now += 100_000;
    assert_eq!(
        request_on_eth1(&mut h, 2),
        None,
        "the hold ended: EXPIRED, waiting for the ack"
    );
    let l = h.shard.lease(&na(a(ONLY))).unwrap();
    assert_eq!(l.state, LeaseState::Expired);
}
