//! Table-driven test of the conflict-resolution table (protocol.md §1.13 step 4; R36): one
//! row per cell, each cell checked with scenarios that tell its rule apart from the others.

use super::*;
use BindingStatus as B;

const A: ClientIdentity<'static> = ClientIdentity {
    duid: b"client-a",
    iaid: 1,
};
const OTHER: ClientIdentity<'static> = ClientIdentity {
    duid: b"client-b",
    iaid: 1,
};
const SAME_DUID_OTHER_IAID: ClientIdentity<'static> = ClientIdentity {
    duid: b"client-a",
    iaid: 2,
};

/// Local lease: start-time-of-state 1000, CLTT 2000, state expires at 5000, bound to A.
fn local(status: BindingStatus) -> LocalBinding<'static> {
    LocalBinding {
        status,
        client: Some(A),
        cltt: Some(FoTime(2000)),
        start_time_of_state: FoTime(1000),
        state_expiration_time: Some(FoTime(5000)),
    }
}

fn received(
    status: BindingStatus,
    client: ClientIdentity<'static>,
    clt: Option<u32>,
    start: u32,
) -> ReceivedBinding<'static> {
    ReceivedBinding {
        status,
        client: Some(client),
        clt_time: clt.map(FoTime),
        start_time_of_state: FoTime(start),
    }
}

const OUTDATED: Resolution = Resolution::Reject(RejectReason::OutdatedBindingInformation);
const IN_USE: Resolution = Resolution::Reject(RejectReason::AddressInUse);
const PRI: Role = Role::Primary;
const SEC: Role = Role::Secondary;

fn check(cell: &str, rule: Rule, l: BindingStatus, r: BindingStatus) {
    let l = local(l);
    let cases: Vec<(&str, Role, u32, ReceivedBinding<'static>, Resolution)> = match rule {
        Rule::Accept => vec![
            (
                "newer update",
                PRI,
                3000,
                received(r, OTHER, Some(2010), 2010),
                Resolution::Accept,
            ),
            (
                "older than CLTT though expired",
                SEC,
                6000,
                received(r, OTHER, Some(1500), 1500),
                OUTDATED,
            ),
            (
                "equal within 5 s, another client",
                PRI,
                3000,
                received(r, OTHER, Some(2005), 2005),
                OUTDATED,
            ),
        ],
        Rule::Time1 => vec![
            (
                "local expired, old update",
                PRI,
                6000,
                received(r, A, Some(500), 500),
                Resolution::Accept,
            ),
            (
                "not yet expired, new update",
                SEC,
                3000,
                received(r, A, Some(9000), 9000),
                OUTDATED,
            ),
            (
                "expiry within 5 s",
                PRI,
                5004,
                received(r, A, Some(9000), 9000),
                OUTDATED,
            ),
        ],
        Rule::Time2 => vec![
            (
                "CLT after local start",
                PRI,
                3000,
                received(r, OTHER, Some(1500), 1500),
                Resolution::Accept,
            ),
            (
                "no CLT, late start",
                SEC,
                6000,
                received(r, OTHER, None, 9000),
                OUTDATED,
            ),
            (
                "CLT equal to start within 5 s",
                PRI,
                6000,
                received(r, A, Some(1005), 1005),
                OUTDATED,
            ),
        ],
        Rule::Accept3 => vec![
            (
                "same client, old",
                PRI,
                3000,
                received(r, A, Some(500), 500),
                Resolution::Accept,
            ),
            (
                "other client, primary",
                PRI,
                6000,
                received(r, OTHER, Some(500), 500),
                IN_USE,
            ),
            (
                "other IAID, primary",
                PRI,
                6000,
                received(r, SAME_DUID_OTHER_IAID, Some(500), 500),
                IN_USE,
            ),
            (
                "other client, secondary",
                SEC,
                3000,
                received(r, OTHER, Some(500), 500),
                Resolution::Accept,
            ),
            (
                "other client, time(2)",
                PRI,
                3000,
                received(r, OTHER, Some(1500), 1500),
                Resolution::Accept,
            ),
        ],
    };
    for (what, role, now, rec, want) in cases {
        assert_eq!(
            resolve(role, FoTime(now), Some(&l), &rec),
            want,
            "cell {cell}: {what}"
        );
    }
}

#[test]
fn conflict_table_every_cell() {
    use Rule::*;
    // (cell as "local × received", rule, local statuses of the row,
    //  received statuses of the column)
    let free: &[BindingStatus] = &[B::Free, B::FreeBackup];
    let reset_ab: &[BindingStatus] = &[B::Reset, B::Abandoned];
    let table: &[(&str, Rule, &[BindingStatus], &[BindingStatus])] = &[
        ("ACTIVE × ACTIVE", Accept3, &[B::Active], &[B::Active]),
        ("ACTIVE × EXPIRED", Time1, &[B::Active], &[B::Expired]),
        ("ACTIVE × RELEASED", Accept, &[B::Active], &[B::Released]),
        ("ACTIVE × FREE/FREE-BACKUP", Time1, &[B::Active], free),
        ("ACTIVE × RESET/ABANDONED", Accept, &[B::Active], reset_ab),
        ("EXPIRED × ACTIVE", Accept, &[B::Expired], &[B::Active]),
        ("EXPIRED × EXPIRED", Accept, &[B::Expired], &[B::Expired]),
        ("EXPIRED × RELEASED", Accept, &[B::Expired], &[B::Released]),
        ("EXPIRED × FREE/FREE-BACKUP", Accept, &[B::Expired], free),
        ("EXPIRED × RESET/ABANDONED", Accept, &[B::Expired], reset_ab),
        ("RELEASED × ACTIVE", Accept, &[B::Released], &[B::Active]),
        ("RELEASED × EXPIRED", Accept, &[B::Released], &[B::Expired]),
        (
            "RELEASED × RELEASED",
            Accept,
            &[B::Released],
            &[B::Released],
        ),
        ("RELEASED × FREE/FREE-BACKUP", Accept, &[B::Released], free),
        (
            "RELEASED × RESET/ABANDONED",
            Accept,
            &[B::Released],
            reset_ab,
        ),
        ("FREE/FREE-BACKUP × ACTIVE", Accept, free, &[B::Active]),
        ("FREE/FREE-BACKUP × EXPIRED", Accept, free, &[B::Expired]),
        ("FREE/FREE-BACKUP × RELEASED", Accept, free, &[B::Released]),
        ("FREE/FREE-BACKUP × FREE/FREE-BACKUP", Accept, free, free),
        ("FREE/FREE-BACKUP × RESET/ABANDONED", Accept, free, reset_ab),
        ("RESET × ACTIVE", Time2, &[B::Reset], &[B::Active]),
        ("RESET × EXPIRED", Accept, &[B::Reset], &[B::Expired]),
        ("RESET × RELEASED", Accept, &[B::Reset], &[B::Released]),
        ("RESET × FREE/FREE-BACKUP", Accept, &[B::Reset], free),
        ("RESET × RESET/ABANDONED", Accept, &[B::Reset], reset_ab),
        ("ABANDONED × ACTIVE", Accept, &[B::Abandoned], &[B::Active]),
        (
            "ABANDONED × EXPIRED",
            Accept,
            &[B::Abandoned],
            &[B::Expired],
        ),
        (
            "ABANDONED × RELEASED",
            Accept,
            &[B::Abandoned],
            &[B::Released],
        ),
        (
            "ABANDONED × FREE/FREE-BACKUP",
            Accept,
            &[B::Abandoned],
            free,
        ),
        (
            "ABANDONED × RESET/ABANDONED",
            Accept,
            &[B::Abandoned],
            reset_ab,
        ),
        // Not in the RFC table (module doc): PENDING-FREE as the FREE row / column.
        (
            "PENDING-FREE × ACTIVE (as FREE row)",
            Accept,
            &[B::PendingFree],
            &[B::Active],
        ),
        (
            "ACTIVE × PENDING-FREE (as FREE column)",
            Time1,
            &[B::Active],
            &[B::PendingFree],
        ),
    ];
    assert_eq!(table.len(), 32, "30 RFC cells + 2 PENDING-FREE decisions");
    for (cell, rule, locals, receiveds) in table {
        for l in *locals {
            for r in *receiveds {
                check(cell, *rule, *l, *r);
            }
        }
    }
}

#[test]
fn no_local_binding_accepts() {
    let r = received(B::Active, OTHER, Some(1), 1);
    assert_eq!(
        resolve(Role::Primary, FoTime(0), None, &r),
        Resolution::Accept
    );
}

#[test]
fn update_and_local_time_selection() {
    // ACTIVE / EXPIRED / RELEASED: CLT wins even if start is later.
    assert_eq!(
        update_time(&received(B::Released, A, Some(100), 900)),
        FoTime(100)
    );
    assert_eq!(update_time(&received(B::Active, A, None, 900)), FoTime(900));
    // Others: the later of the two, wrap-aware.
    assert_eq!(
        update_time(&received(B::Free, A, Some(100), 900)),
        FoTime(900)
    );
    assert_eq!(
        update_time(&received(B::Reset, A, Some(3), u32::MAX - 3)),
        FoTime(3)
    );
    let mut l = local(B::Active);
    assert_eq!(local_time(&l), FoTime(2000));
    l.cltt = None;
    assert_eq!(local_time(&l), FoTime(1000));
}

#[test]
fn reject_reasons_and_status_values() {
    assert_eq!(RejectReason::OutdatedBindingInformation.status_code(), 19);
    assert_eq!(RejectReason::AddressInUse.status_code(), 16);
    assert!(RejectReason::OutdatedBindingInformation.flag_for_partner_update());
    assert!(!RejectReason::AddressInUse.flag_for_partner_update());
    for v in 1..=8u8 {
        assert_eq!(
            BindingStatus::from_wire(v).map(BindingStatus::wire_value),
            Ok(v)
        );
    }
    for bad in [0u8, 9, 255] {
        assert_eq!(
            BindingStatus::from_wire(bad),
            Err(PeerMisbehaved::UnknownBindingStatus(bad))
        );
    }
}

#[test]
fn an_update_saying_what_we_hold_is_accepted() {
    // OPEN-6: same status, same client, equal times (±5 s): acknowledged, not refused, in every
    // status; a different client or a different status with equal times is still outdated.
    for st in [
        B::Active,
        B::Expired,
        B::Released,
        B::Abandoned,
        B::Reset,
        B::Free,
    ] {
        let l = local(st);
        let same = received(st, A, Some(2003), 2003);
        assert_eq!(
            resolve(PRI, FoTime(3000), Some(&l), &same),
            Resolution::Accept,
            "{st:?}"
        );
    }
    let l = local(B::Expired);
    let other_status = received(B::Released, A, Some(2003), 2003);
    assert_eq!(
        resolve(PRI, FoTime(3000), Some(&l), &other_status),
        OUTDATED
    );
}
