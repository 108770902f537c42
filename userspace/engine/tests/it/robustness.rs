//! Properties: no input panics, and a dropped packet never changes the shard.

use proptest::prelude::*;
use tandem_engine::RxMeta;

use crate::common::*;

fn corpus() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = testdata::ALL.iter().map(|(_, b)| b.to_vec()).collect();
    v.push(
        Msg::new(REQUEST, 1)
            .client_id(&client(1))
            .server_id(SERVER_DUID)
            .oro(&[23, 24, 39])
            .raw(OPT_CLIENT_FQDN, b"\x01\x04host\x00")
            .ia_na(1, &[a("2001:db8:1::120")])
            .ia_pd(2, &[(56, a("::"))])
            .ia_ta(3)
            .build(),
    );
    v
}

/// Runs one packet from each kind of source; checks the drop invariant.
fn check(h: &mut Harness, pkt: &[u8]) {
    let sources = [
        RxMeta {
            ifindex: ETH0,
            src: client_ll(),
            dst: ALL_DHCP,
        },
        RxMeta {
            ifindex: ETH0,
            src: client_ll(),
            dst: SERVER_UNICAST,
        },
        RxMeta {
            ifindex: UNBOUND_IF,
            src: relay_src(),
            dst: ALL_SERVERS,
        },
    ];
    for rx in sources {
        let before = h.shard.len();
        match h.engine.handle(h.now, &rx, pkt, &mut h.shard, &mut h.out) {
            Ok(reply) => {
                assert!(reply.len <= h.out.len());
                // Every reply the engine writes parses.
                let _ = parse(&h.out[..reply.len]);
                h.changes();
            }
            Err(_) => {
                assert!(h.changes().is_empty(), "dropped packet changed the shard");
                assert_eq!(h.shard.len(), before);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut h = Harness::new();
        check(&mut h, &bytes);
    }

    #[test]
    fn mutated_real_messages_never_panic(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<u16>()),
    ) {
        let corpus = corpus();
        let mut pkt = corpus[which % corpus.len()].clone();
        for (at, val) in edits {
            let i = usize::from(at) % pkt.len();
            pkt[i] = val;
        }
        if let Some(c) = cut {
            pkt.truncate(usize::from(c) % (pkt.len() + 1));
        }
        let mut h = Harness::new();
        // Bind the golden client first so Renew/Release/Decline mutations hit real state.
        h.direct(testdata::REQUEST).unwrap();
        h.changes();
        check(&mut h, &pkt);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// The same properties with subnets 1 and 3 in a failover relationship, in any state.
    #[test]
    fn mutated_messages_in_any_failover_state_never_panic(
        which in 0usize..64,
        state in 0usize..10,
        secondary in any::<bool>(),
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..4),
    ) {
        use tandem_failover::{Role, ServerState};
        let corpus = corpus();
        let mut pkt = corpus[which % corpus.len()].clone();
        for (at, val) in edits {
            let i = usize::from(at) % pkt.len();
            pkt[i] = val;
        }
        let role = if secondary { Role::Secondary } else { Role::Primary };
        let mut h = Harness::new();
        h.direct(testdata::REQUEST).unwrap();
        h.engine.set_failover(Some(crate::rfc8156::view(role, ServerState::ALL[state])));
        h.engine.configure_shard(&mut h.shard);
        h.changes();
        check(&mut h, &pkt);
        prop_assert!(h.shard.check_invariants().is_ok());
    }
}
