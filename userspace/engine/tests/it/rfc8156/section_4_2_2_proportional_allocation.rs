//! RFC 8156 §4.2.2: proportional allocation of delegable prefixes between two real engines,
//! through encoded top-level IAPREFIX BNDUPDs and BNDREPLYs (R43–R45): the primary gives its
//! configured share, the secondary delegates from it while communications are interrupted, a
//! reclaim of a delegated prefix is refused, a freed prefix returns to the primary, and
//! UPDREQALL reports the split.

use std::net::Ipv6Addr;

use tandem_engine::partner::{
    apply_reply, apply_update, client_update, collect, prefix_update, share_update,
};
use tandem_failover::binding::BindingUpdate;
use tandem_failover::conflict::BindingStatus;
use tandem_failover::{Role, ServerState};
use tandem_lease::{BackupPrefix, Resource, ShareMove, ShareTarget};
use tandem_wire::StatusCode;

use super::*;

const SUBNET: u32 = 1;

/// Sends every pending hand-over of `from` to `to` and the replies back.
fn hand_over(from: &mut Harness, to: &mut Harness) -> Vec<(Resource, Option<StatusCode>)> {
    let pending: Vec<Resource> = from.shard.share_pending().map(|(r, _)| *r).collect();
    let mut out = Vec::new();
    for r in pending {
        let sent = share_update(&from.shard, &r, from.now).unwrap();
        let got = wire_update(&sent);
        let reply = wire_reply(&apply_update(
            &mut to.shard,
            Role::Secondary,
            to.now,
            &got,
            None,
        ));
        let status = reply.rejected_items().next().map(|x| x.status);
        apply_reply(&mut from.shard, &reply, &sent);
        out.push((r, status));
    }
    out
}

/// Client `n`'s bindings from `a` to `b`, and the reply back.
fn sync_client(a: &mut Harness, b: &mut Harness, n: u16, b_role: Role) {
    let sent = client_update(&a.shard, &client(n), a.now).unwrap();
    let reply = wire_reply(&apply_update(
        &mut b.shard,
        b_role,
        b.now,
        &wire_update(&sent),
        None,
    ));
    assert!(!reply.has_rejection(), "{reply:?}");
    apply_reply(&mut a.shard, &reply, &sent);
}

fn pd_request(n: u16) -> Vec<u8> {
    Msg::new(REQUEST, 1)
        .client_id(&client(n))
        .server_id(SERVER_DUID)
        .ia_pd(2, &[])
        .build()
}

fn pd_release(n: u16, p: Ipv6Addr) -> Vec<u8> {
    Msg::new(RELEASE, 3)
        .client_id(&client(n))
        .server_id(SERVER_DUID)
        .ia_pd(2, &[(56, p)])
        .build()
}

#[test]
fn the_secondary_serves_prefixes_from_its_share_and_they_return_to_the_primary() {
    let mut p = harness(Role::Primary, ServerState::Normal);
    let mut s = harness(Role::Secondary, ServerState::Normal);
    // R43: after POOLREQ the primary gives 1 % of each pool's free prefixes.
    let target = ShareTarget::from_fractions(0.01, 0.001);
    let done = p.shard.rebalance(&[SUBNET], target, p.now);
    assert_eq!(done.given, 655 + 40, "1 % of 65536 /56s and of 4096 /60s");
    p.shard.drain_changes();
    let replies = hand_over(&mut p, &mut s);
    assert!(replies.iter().all(|(_, st)| st.is_none()), "all accepted");
    assert_eq!(p.shard.share_pending().count(), 0);
    assert_eq!(s.shard.share_counts(SUBNET).backup_free, 695);
    assert_eq!(p.shard.share_counts(SUBNET).backup_free, 695);
    p.shard.check_invariants().unwrap();
    s.shard.check_invariants().unwrap();

    // Communications interrupted: the secondary delegates new prefixes from its share only;
    // the record ends with the delegation (the prefix is the client's now).
    set_state(
        &mut s,
        Role::Secondary,
        ServerState::CommunicationsInterrupted,
    );
    let share: Vec<Resource> = s.shard.backup_prefixes().map(|(r, _)| *r).collect();
    let got = s.direct(&pd_request(1)).unwrap();
    let prefix = got.pd(2).leases[0].addr;
    let delegated = Resource::prefix(prefix, 56);
    assert!(
        share.contains(&delegated),
        "delegated from its FREE-BACKUP share"
    );
    assert!(s.shard.backup(&delegated).is_none());
    assert_eq!(s.shard.delegated_from_share(), 1);

    // The primary, not yet told, reclaims everything: the delegated one is refused (R43).
    let done = p
        .shard
        .rebalance(&[SUBNET], ShareTarget::from_fractions(0.0, 0.001), p.now);
    assert_eq!(done.reclaimed, 695);
    let replies = hand_over(&mut p, &mut s);
    let refused: Vec<_> = replies.iter().filter(|(_, st)| st.is_some()).collect();
    assert_eq!(refused, [&(delegated, Some(StatusCode::AddressInUse))]);
    assert_eq!(
        p.shard.backup(&delegated).map(|b| b.pending),
        Some(None),
        "still the secondary's"
    );
    assert_eq!(p.shard.backup_prefixes().count(), 1);
    assert_eq!(s.shard.backup_prefixes().count(), 0);

    // The delegation reaches the primary; the client releases; both free it and the prefix
    // is the primary's again (R45).
    sync_client(&mut s, &mut p, 1, Role::Primary);
    assert!(p.shard.lease(&delegated).is_some());
    s.now += 60;
    s.direct(&pd_release(1, prefix)).unwrap();
    sync_client(&mut s, &mut p, 1, Role::Primary);
    assert!(s.shard.lease(&delegated).is_none() && p.shard.lease(&delegated).is_none());
    assert!(s.shard.backup(&delegated).is_none() && p.shard.backup(&delegated).is_none());
    p.shard.check_invariants().unwrap();
    s.shard.check_invariants().unwrap();
}

#[test]
fn updreqall_reports_the_split_and_a_wiped_partner_learns_it_again() {
    let mut p = harness(Role::Primary, ServerState::Normal);
    let mut s = harness(Role::Secondary, ServerState::Normal);
    p.shard
        .rebalance(&[SUBNET], ShareTarget::from_fractions(0.002, 0.001), p.now);
    hand_over(&mut p, &mut s);
    let given = s.shard.backup_prefixes().count();
    assert_eq!(given, 131 + 8);
    // UPDREQ: nothing pending, nothing to send. UPDREQALL: every unbound FREE-BACKUP prefix.
    assert!(collect(&s.shard, Some(&[SUBNET]), false, s.now).is_empty());
    let all = collect(&s.shard, Some(&[SUBNET]), true, s.now);
    assert_eq!(all.len(), given);
    assert!(all.iter().all(|u| matches!(u, BindingUpdate::Prefix { item, .. } if item.status == BindingStatus::FreeBackup)));
    // The primary lost its storage: the secondary's answer restores the record.
    let mut wiped = harness(Role::Primary, ServerState::Recover);
    for u in &all {
        let reply = apply_update(
            &mut wiped.shard,
            Role::Primary,
            wiped.now,
            &wire_update(u),
            Some(MCLT_S),
        );
        assert!(!reply.has_rejection());
    }
    assert_eq!(
        wiped.shard.share_counts(SUBNET),
        p.shard.share_counts(SUBNET)
    );
    wiped.shard.check_invariants().unwrap();
}

#[test]
fn hand_overs_outside_the_shared_pools_or_with_other_statuses_are_refused() {
    let mut s = harness(Role::Secondary, ServerState::Normal);
    let outside = Resource::prefix("2001:db8:9900::".parse().unwrap(), 56);
    let b = BackupPrefix {
        since: NOW,
        pending: Some(ShareMove::Give),
    };
    let reply = apply_update(
        &mut s.shard,
        Role::Secondary,
        s.now,
        &wire_update(&prefix_update(&outside, &b, NOW)),
        None,
    );
    assert_eq!(
        reply.rejected_items().next().map(|x| x.status),
        Some(StatusCode::ConfigurationConflict)
    );
    s.assert_untouched();
}

#[test]
fn every_shard_of_a_secondary_advertises_prefixes_from_its_share() {
    // tandemd routes each FREE-BACKUP record to the shard of its prefix's slice; a client's
    // Solicit is answered by the shard of its DUID, which delegates from its own records.
    let base = u128::from("2001:db8:ab00::".parse::<Ipv6Addr>().unwrap());
    for id in 0..2u32 {
        let mut s = Harness::sharded(policy(), id, 2);
        set_state(&mut s, Role::Secondary, ServerState::Normal);
        for k in 0..64u128 {
            let r = Resource::prefix(Ipv6Addr::from(base + (k << 72)), 56);
            let pools = s.engine.pool_defs().to_vec();
            if tandem_lease::prefix_slice_of(&pools, &r, 2) == Some(id) {
                s.shard.partner_backup(&r, NOW).unwrap();
            }
        }
        assert_eq!(s.shard.backup_free_count(), 32);
        set_state(
            &mut s,
            Role::Secondary,
            ServerState::CommunicationsInterrupted,
        );
        let mut served = 0;
        for n in 0..40u16 {
            if !s.shard.owns_client(&client(n)) {
                continue;
            }
            let solicit = Msg::new(SOLICIT, 9)
                .client_id(&client(n))
                .ia_na(1, &[])
                .ia_pd(2, &[])
                .build();
            let adv = s.direct(&solicit).unwrap();
            assert_eq!(adv.pd(2).status, None, "shard {id}, client {n}");
            let p = adv.pd(2).leases[0].addr;
            assert!(s.shard.backup(&Resource::prefix(p, 56)).is_some());
            served += 1;
        }
        assert!(served > 5, "shard {id} served {served}");
    }
}
