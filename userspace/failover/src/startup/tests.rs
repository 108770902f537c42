use proptest::prelude::*;

use super::*;

fn sample() -> PersistedState {
    PersistedState {
        current: ServerState::Normal,
        previous: Some(ServerState::CommunicationsInterrupted),
        current_since: FoTime(1000),
        partner: Some(ServerState::Normal),
        partner_since: FoTime(990),
        last_heard_from_partner: Some(FoTime(1200)),
        last_operating_time: FoTime(1210),
    }
}

#[test]
fn round_trip_and_fixed_length() {
    let s = sample();
    let b = s.to_bytes();
    assert_eq!(b.len(), PersistedState::ENCODED_LEN);
    assert_eq!(PersistedState::from_bytes(&b), Ok(s));
    let none = PersistedState {
        previous: None,
        partner: None,
        last_heard_from_partner: None,
        ..s
    };
    assert_eq!(PersistedState::from_bytes(&none.to_bytes()), Ok(none));
}

#[test]
fn corrupt_input_is_an_error() {
    let b = sample().to_bytes();
    assert_eq!(
        PersistedState::from_bytes(&[]),
        Err(PersistError::WrongLength(0))
    );
    assert_eq!(
        PersistedState::from_bytes(&b[..b.len() - 1]),
        Err(PersistError::WrongLength(b.len() - 1))
    );
    let mut bad = b;
    bad[0] = b'X';
    assert_eq!(
        PersistedState::from_bytes(&bad),
        Err(PersistError::BadMagic)
    );
    let mut bad = b;
    bad[2] = 2;
    assert_eq!(
        PersistedState::from_bytes(&bad),
        Err(PersistError::UnsupportedVersion(2))
    );
    let mut bad = b;
    bad[10] ^= 1;
    assert_eq!(
        PersistedState::from_bytes(&bad),
        Err(PersistError::BadChecksum)
    );
    // A bad state byte with a valid checksum.
    let mut bad = b;
    bad[3] = 42;
    let crc = crc32fast::hash(&bad[..bad.len() - 4]).to_be_bytes();
    let n = bad.len();
    bad[n - 4..].copy_from_slice(&crc);
    assert_eq!(
        PersistedState::from_bytes(&bad),
        Err(PersistError::BadState(42))
    );
    let mut bad = b;
    bad[6] = 0x80;
    let crc = crc32fast::hash(&bad[..n - 4]).to_be_bytes();
    bad[n - 4..].copy_from_slice(&crc);
    assert_eq!(
        PersistedState::from_bytes(&bad),
        Err(PersistError::BadFlags(0x80))
    );
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = PersistedState::from_bytes(&bytes);
    }

    #[test]
    fn single_byte_flip_detected(idx in 0usize..PersistedState::ENCODED_LEN, bit in 0u8..8) {
        let mut b = sample().to_bytes();
        b[idx] ^= 1 << bit;
        prop_assert!(PersistedState::from_bytes(&b).is_err());
    }
}

#[test]
fn open_8_nothing_stored_is_recover_for_both_roles() {
    for role in [Role::Primary, Role::Secondary] {
        assert_eq!(startup(None, role), (ServerState::Recover, FoTime(0)));
    }
}

#[test]
fn comms_ok_states_map_to_their_comms_failed_successor() {
    let cases = [
        (ServerState::Normal, ServerState::CommunicationsInterrupted),
        (
            ServerState::PotentialConflict,
            ServerState::ResolutionInterrupted,
        ),
        (ServerState::PartnerDown, ServerState::PartnerDown),
        (ServerState::RecoverWait, ServerState::RecoverWait),
        (ServerState::ConflictDone, ServerState::ConflictDone),
    ];
    for (stored, want) in cases {
        let p = PersistedState {
            current: stored,
            ..sample()
        };
        assert_eq!(
            startup(Some(&p), Role::Primary),
            (want, FoTime(1210)),
            "{stored}"
        );
    }
    let crashed_in_startup = PersistedState {
        current: ServerState::Startup,
        previous: Some(ServerState::Normal),
        ..sample()
    };
    assert_eq!(
        startup(Some(&crashed_in_startup), Role::Secondary).0,
        ServerState::CommunicationsInterrupted
    );
    let crashed_blank = PersistedState {
        current: ServerState::Startup,
        previous: None,
        ..sample()
    };
    assert_eq!(
        startup(Some(&crashed_blank), Role::Secondary).0,
        ServerState::Recover
    );
}

fn partner(state: ServerState) -> PartnerState {
    PartnerState {
        state,
        startup: false,
        communicated: true,
    }
}

#[test]
fn partner_down_partner_decides_recover_or_potential_conflict() {
    let failed = FoTime(10_000);
    let prev = ServerState::CommunicationsInterrupted;
    let pd = partner(ServerState::PartnerDown);
    // Partner went down after we failed: RECOVER, then UPDREQ.
    let (s, t) = startup_comms_ok(Role::Secondary, prev, failed, pd, FoTime(10_006), true);
    assert_eq!(s, ServerState::Recover);
    assert_eq!(
        t,
        Transition::Request(crate::transition::UpdateRequest::UpdReq)
    );
    // Earlier, or equal within 5 s: POTENTIAL-CONFLICT (no further transition on comms OK).
    for since in [FoTime(9_000), FoTime(10_005)] {
        let (s, t) = startup_comms_ok(Role::Secondary, prev, failed, pd, since, true);
        assert_eq!((s, t), (ServerState::PotentialConflict, Transition::None));
    }
    // Partner NORMAL: CURRENT := PREVIOUS, then the comms-OK transition.
    let (s, t) = startup_comms_ok(
        Role::Primary,
        prev,
        failed,
        partner(ServerState::Normal),
        FoTime(0),
        true,
    );
    assert_eq!((s, t), (prev, Transition::To(ServerState::Normal)));
}

#[test]
fn startup_timer_commissioning() {
    let prev = ServerState::Recover;
    assert_eq!(startup_timer_expired(prev, false, false), prev);
    assert_eq!(
        startup_timer_expired(prev, true, false),
        ServerState::PartnerDown
    );
    assert_eq!(startup_timer_expired(prev, true, true), prev);
}
