//! RFC 8156 §7: a binding granted by one server reaches the other through a real BNDUPD
//! (encoded, decoded, decided, stored), the BNDREPLY clears the sender's flag and raises its
//! acked-partner-lifetime (R39), a release is freed on both sides only after the ack (R46),
//! and UPDREQ / UPDREQALL collect the right clients (R28, R52) — through `tandem_engine::partner`,
//! the bridge tandemd's workers and the simulator use.

use tandem_engine::partner::{self, apply_reply, apply_update, client_update, collect};
use tandem_failover::binding::{BindingReply, BindingUpdate};
use tandem_failover::{Role, ServerState};
use tandem_lease::LeaseState;

use super::*;

fn pair() -> (Harness, Harness) {
    (
        harness(Role::Primary, ServerState::Normal),
        harness(Role::Secondary, ServerState::Normal),
    )
}

/// Client `n` gets an address from `h`; returns it.
fn grant(h: &mut Harness, n: u16) -> Ipv6Addr {
    let p = h.direct(&request(n)).unwrap();
    p.ias[0].leases[0].addr
}

/// Sends client `n`'s update from `a` to `b` and the reply back; returns `b`'s reply.
fn sync(a: &mut Harness, b: &mut Harness, n: u16) -> BindingReply {
    let sent = client_update(&a.shard, &client(n), a.now).expect("a flagged client");
    let reply = wire_reply(&apply_update(
        &mut b.shard,
        Role::Secondary,
        b.now,
        &wire_update(&sent),
        None,
    ));
    apply_reply(&mut a.shard, &reply, &sent);
    reply
}

#[test]
fn a_grant_reaches_the_partner_and_the_ack_clears_the_flag() {
    let (mut a, mut b) = pair();
    let addr = grant(&mut a, 1);
    let before = a.shard.lease(&na(addr)).unwrap().clone();
    assert!(before.fo.tell_partner);
    let proposed = before.fo.partner_lifetime;
    assert!(
        proposed > before.expires_at,
        "the partner is told a time that leads the client"
    );
    let reply = sync(&mut a, &mut b, 1);
    assert!(!reply.has_rejection());
    let copy = b.shard.lease(&na(addr)).expect("stored at the partner");
    assert_eq!(&*copy.duid, &client(1)[..]);
    assert_eq!(copy.state, LeaseState::Bound);
    assert_eq!(copy.expires_at, before.expires_at);
    assert!(!copy.fo.tell_partner, "never echoed back");
    assert_eq!(
        copy.fo.expiration_time, proposed,
        "what the partner now acks (§7.5.5)"
    );
    let after = a.shard.lease(&na(addr)).unwrap();
    assert!(!after.fo.tell_partner);
    assert_eq!(after.fo.acked_partner_lifetime, proposed);
    assert_eq!(after.fo.partner_lifetime, 0);
    assert!(
        client_update(&a.shard, &client(1), a.now).is_none(),
        "nothing left to tell"
    );
}

#[test]
fn a_release_is_freed_on_both_sides_only_after_the_ack() {
    let (mut a, mut b) = pair();
    let addr = grant(&mut a, 2);
    sync(&mut a, &mut b, 2);
    a.now += 10;
    a.direct(&release(2, addr)).unwrap();
    let held = a.shard.lease(&na(addr)).unwrap();
    assert_eq!(
        held.state,
        LeaseState::Released,
        "kept until the partner acks (R46)"
    );
    let reply = sync(&mut a, &mut b, 2);
    assert!(!reply.has_rejection());
    assert!(b.shard.lease(&na(addr)).is_none(), "the partner freed it");
    assert!(
        a.shard.lease(&na(addr)).is_none(),
        "PENDING-FREE → FREE after the ack"
    );
}

#[test]
fn an_old_update_for_the_same_client_never_shortens_the_lease() {
    let (mut a, mut b) = pair();
    let addr = grant(&mut a, 3);
    let old = client_update(&a.shard, &client(3), a.now).unwrap();
    sync(&mut a, &mut b, 3);
    // The client renews much later; the partner learns it.
    a.now += 600;
    a.direct(&renew(3, addr)).unwrap();
    sync(&mut a, &mut b, 3);
    let current = b.shard.lease(&na(addr)).unwrap().clone();
    // The first update arrives again (a duplicate after a reconnect). ACTIVE over ACTIVE for
    // the same client is accept(3) in the §7.5 table, but the stored expiry stays the later one.
    let reply = apply_update(
        &mut b.shard,
        Role::Secondary,
        b.now + 600,
        &wire_update(&old),
        None,
    );
    assert!(!reply.has_rejection());
    let after = b.shard.lease(&na(addr)).unwrap();
    assert_eq!(after.expires_at, current.expires_at);
    assert_eq!(after.cltt, current.cltt);
    // Another client's older claim on the address is refused by the primary-wins rule.
    let mut other = old.clone();
    if let BindingUpdate::Client(c) = &mut other {
        c.duid = client(99).into_boxed_slice();
    }
    let reply = apply_update(
        &mut a.shard,
        Role::Primary,
        a.now,
        &wire_update(&other),
        None,
    );
    assert!(reply.has_rejection(), "AddressInUse or outdated");
    assert_eq!(&*a.shard.lease(&na(addr)).unwrap().duid, &client(3)[..]);
}

#[test]
fn updreq_collects_flagged_clients_and_updreqall_every_client() {
    let (mut a, mut b) = pair();
    for n in 10..14 {
        grant(&mut a, n);
    }
    sync(&mut a, &mut b, 10);
    sync(&mut a, &mut b, 11);
    let flagged = collect(&a.shard, None, false, a.now);
    assert_eq!(flagged.len(), 2);
    let all = collect(&a.shard, None, true, a.now);
    assert_eq!(all.len(), 4);
    // Another relationship's subnets only: nothing here.
    assert!(collect(&a.shard, Some(&[2]), true, a.now).is_empty());
    // UPDREQALL refills an empty partner.
    let mut fresh = harness(Role::Secondary, ServerState::Normal);
    for u in &all {
        let r = apply_update(
            &mut fresh.shard,
            Role::Secondary,
            fresh.now,
            &wire_update(u),
            None,
        );
        assert!(!r.has_rejection());
    }
    assert_eq!(fresh.shard.len(), 4);
}

#[test]
fn changes_name_the_clients_to_tell() {
    let mut a = harness(Role::Primary, ServerState::Normal);
    a.direct(&request(20)).unwrap();
    let changes: Vec<_> = a.shard.drain_changes().collect();
    assert_eq!(
        partner::changed_clients(&changes),
        vec![client(20).into_boxed_slice()]
    );
}

#[test]
fn a_recovering_server_keeps_what_it_may_have_granted_unseen() {
    // The primary lost its storage. The secondary acked it a partner-lifetime P for a client;
    // before the loss the primary may have extended that client up to P + MCLT (RFC 8156 §4.4)
    // without the secondary hearing of it. Relearning the binding in RECOVER keeps the
    // resource until then, not only until the expiry the secondary knows.
    let (mut a, mut b) = pair();
    let addr = grant(&mut a, 30);
    sync(&mut a, &mut b, 30);
    let acked = b.shard.lease(&na(addr)).unwrap().fo.expiration_time;
    let known = b.shard.lease(&na(addr)).unwrap().expires_at;
    assert!(acked > known);
    let all = collect(&b.shard, None, true, b.now);
    let mut wiped = harness(Role::Primary, ServerState::Recover);
    for u in &all {
        let u = wire_update(u);
        apply_update(&mut wiped.shard, Role::Primary, wiped.now, &u, Some(MCLT_S));
    }
    let relearned = wiped.shard.lease(&na(addr)).unwrap();
    assert_eq!(relearned.expires_at, acked + u64::from(MCLT_S));
    // Outside RECOVER the partner's view of the client expiry is taken as it is.
    let mut other = harness(Role::Primary, ServerState::Normal);
    for u in &all {
        apply_update(
            &mut other.shard,
            Role::Primary,
            other.now,
            &wire_update(u),
            None,
        );
    }
    assert_eq!(other.shard.lease(&na(addr)).unwrap().expires_at, known);
}

#[test]
fn a_recovering_server_refuses_to_free_what_it_may_have_extended() {
    // The secondary saw the client expire (it never heard of the primary's last renewal); the
    // recovering primary keeps the address bound until the acked partner-lifetime + MCLT and
    // refuses the free, so the secondary keeps it too.
    let (mut a, mut b) = pair();
    let addr = grant(&mut a, 31);
    sync(&mut a, &mut b, 31);
    let acked = b.shard.lease(&na(addr)).unwrap().fo.expiration_time;
    let expiry = b.shard.lease(&na(addr)).unwrap().expires_at;
    b.shard.reclaim_expired(expiry);
    assert_eq!(b.shard.lease(&na(addr)).unwrap().state, LeaseState::Expired);
    let all = collect(&b.shard, None, true, expiry);
    let mut wiped = harness(Role::Primary, ServerState::Recover);
    wiped.now = expiry;
    let reply = apply_update(
        &mut wiped.shard,
        Role::Primary,
        expiry,
        &wire_update(&all[0]),
        Some(MCLT_S),
    );
    assert!(reply.has_rejection());
    let held = wiped.shard.lease(&na(addr)).unwrap();
    assert_eq!(held.state, LeaseState::Bound);
    assert_eq!(held.expires_at, acked + u64::from(MCLT_S));
    // Once that time has passed, the EXPIRED update is simply accepted and frees it.
    let mut later = harness(Role::Primary, ServerState::Recover);
    let after = acked + u64::from(MCLT_S) + 1;
    let all = collect(&b.shard, None, true, after);
    let reply = apply_update(
        &mut later.shard,
        Role::Primary,
        after,
        &wire_update(&all[0]),
        Some(MCLT_S),
    );
    assert!(!reply.has_rejection());
    assert!(later.shard.lease(&na(addr)).is_none());
}

#[test]
fn a_partner_may_not_update_another_relationships_subnets() {
    // R8: a subnet belongs to one relationship; R35: anything else is ConfigurationConflict.
    let (mut a, mut b) = pair();
    let addr = grant(&mut a, 5);
    let sent = client_update(&a.shard, &client(5), a.now).unwrap();
    let reply = partner::apply_update_in(
        &mut b.shard,
        Some(&[3]),
        Role::Secondary,
        b.now,
        &wire_update(&sent),
        None,
    );
    let refused: Vec<_> = reply.rejected_items().map(|r| r.status).collect();
    assert_eq!(refused, [tandem_wire::StatusCode::ConfigurationConflict]);
    assert!(b.shard.lease(&na(addr)).is_none());
    // The relationship that holds subnet 1 may.
    let reply = partner::apply_update_in(
        &mut b.shard,
        Some(&[1, 3]),
        Role::Secondary,
        b.now,
        &wire_update(&sent),
        None,
    );
    assert!(!reply.has_rejection());
    assert!(b.shard.lease(&na(addr)).is_some());
}
