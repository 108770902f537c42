//! RFC 8156 §4.2.1 (independent allocation of addresses; R41, R42) and the prefix side of
//! §4.2.2 as far as this increment goes: the primary owns every delegable prefix.

use tandem_ebpf_common::shard_of;
use tandem_failover::{Role, ServerState};
use tandem_wire::StatusCode;

use super::*;
use crate::common::*;

/// Clients 0.. owned by `shard` of `n`.
fn clients_of(shard: u32, n: u32) -> impl Iterator<Item = u16> {
    (0u16..).filter(move |&c| shard_of(&client(c), n) == shard)
}

#[test]
fn each_server_fills_exactly_its_half_and_every_worker_gets_a_fair_share() {
    // Subnet 1 has 256 addresses (::100..=::1ff): 128 per server, 64 per worker; the
    // reserved ::150 is even and falls to the secondary's worker 0.
    for (role, bit) in [(Role::Primary, 1), (Role::Secondary, 0)] {
        let mut all = std::collections::HashSet::new();
        for s in 0..2 {
            let mut h = Harness::sharded(policy(), s, 2);
            let state = ServerState::CommunicationsInterrupted;
            h.engine.set_failover(Some(view(role, state)));
            // No configure_shard: the first packet puts the shard in failover mode.
            let mut granted = 0;
            for c in clients_of(s, 2).take(70) {
                let p = h.direct(&request(c)).unwrap();
                let ia = p.na(1);
                if ia.status == Some(StatusCode::NoAddrsAvail) {
                    continue;
                }
                let addr = ia.leases[0].addr;
                assert_eq!(u128::from(addr) & 1, bit, "{role:?} worker {s}");
                assert!(all.insert(addr));
                granted += 1;
            }
            let reserved_here = usize::from(bit == 0 && s == 0);
            assert_eq!(granted, 64 - reserved_here, "{role:?} worker {s}");
            h.shard.check_invariants().unwrap();
        }
        assert_eq!(all.len(), 128 - usize::from(bit == 0));
    }
}

#[test]
fn a_hint_in_the_partner_half_is_not_honoured_but_the_partner_lease_is_renewed() {
    let mut h = harness(Role::Primary, ServerState::Normal);
    let even = a("2001:db8:1::102");
    let req = Msg::new(REQUEST, 1)
        .client_id(&client(1))
        .server_id(SERVER_DUID)
        .ia_na(1, &[even])
        .build();
    let p = h.direct(&req).unwrap();
    assert_ne!(p.na(1).leases[0].addr, even);
    assert_eq!(u128::from(p.na(1).leases[0].addr) & 1, 1);
    // The partner (secondary) leased the even address to client 2; we renew it.
    let mut theirs = Lease {
        resource: na(even),
        duid: client(2).into(),
        iaid: 1,
        subnet_id: 1,
        preferred_s: 3600,
        valid_s: 7200,
        cltt: NOW - 100,
        expires_at: NOW + 7100,
        state: tandem_lease::LeaseState::Bound,
        fo: tandem_lease::FoData::default(),
    };
    theirs.fo.expiration_time = NOW + 10_000;
    h.shard.apply_partner(theirs);
    h.changes();
    let p = h.direct(&renew(2, even)).unwrap();
    assert_eq!(p.na(1).leases[0].addr, even);
    let l = h.shard.lease(&na(even)).unwrap();
    assert!(l.fo.tell_partner);
    assert_eq!(l.cltt, NOW);
    h.shard.check_invariants().unwrap();
}

#[test]
fn primary_delegates_prefixes_and_the_secondary_none() {
    let pd_request = |n: u16| {
        Msg::new(REQUEST, 1)
            .client_id(&client(n))
            .server_id(SERVER_DUID)
            .ia_pd(2, &[])
            .build()
    };
    let mut p = harness(Role::Primary, ServerState::Normal);
    let got = p.direct(&pd_request(1)).unwrap();
    assert_eq!(got.pd(2).leases.len(), 1);
    assert_eq!(got.pd(2).leases[0].prefix_len, 56);
    let mut s = harness(Role::Secondary, ServerState::PartnerDown);
    let got = s.direct(&pd_request(1)).unwrap();
    assert_eq!(got.pd(2).status, Some(StatusCode::NoPrefixAvail));
    assert!(got.pd(2).leases.is_empty());
    s.assert_untouched();
}
