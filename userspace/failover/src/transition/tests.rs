//! One test row per row of the protocol.md §1.14 transition table (R48).

use super::*;
use ServerState as S;

const P: Role = Role::Primary;
const SEC: Role = Role::Secondary;

fn ok(state: ServerState) -> Event {
    Event::CommunicationsOk {
        partner: PartnerState {
            state,
            startup: false,
            communicated: true,
        },
        local_record_of_partner: true,
    }
}

fn changed(state: ServerState) -> Event {
    Event::PartnerStateChanged(PartnerState {
        state,
        startup: false,
        communicated: true,
    })
}

#[test]
fn table_rows() {
    use Transition::{None as Stay, To};
    let rows: &[(&str, Role, ServerState, Event, Transition)] = &[
        (
            "NORMAL operator partner down",
            P,
            S::Normal,
            Event::OperatorPartnerDown,
            To(S::PartnerDown),
        ),
        (
            "NORMAL comms lost",
            P,
            S::Normal,
            Event::CommunicationsFailed,
            To(S::CommunicationsInterrupted),
        ),
        (
            "NORMAL partner NORMAL is expected",
            P,
            S::Normal,
            changed(S::Normal),
            Stay,
        ),
        (
            "NORMAL partner unexpected PARTNER-DOWN -> C-I -> P-C",
            P,
            S::Normal,
            changed(S::PartnerDown),
            To(S::PotentialConflict),
        ),
        (
            "NORMAL partner unexpected RECOVER -> C-I, stay",
            SEC,
            S::Normal,
            changed(S::Recover),
            To(S::CommunicationsInterrupted),
        ),
        (
            "NORMAL secondary sees primary CONFLICT-DONE",
            SEC,
            S::Normal,
            changed(S::ConflictDone),
            Stay,
        ),
        (
            "C-I auto partner down",
            P,
            S::CommunicationsInterrupted,
            Event::AutoPartnerDownTimer,
            To(S::PartnerDown),
        ),
        (
            "C-I operator partner down",
            SEC,
            S::CommunicationsInterrupted,
            Event::OperatorPartnerDown,
            To(S::PartnerDown),
        ),
        (
            "C-I partner NORMAL",
            P,
            S::CommunicationsInterrupted,
            ok(S::Normal),
            To(S::Normal),
        ),
        (
            "C-I partner C-I",
            P,
            S::CommunicationsInterrupted,
            ok(S::CommunicationsInterrupted),
            To(S::Normal),
        ),
        (
            "C-I partner RECOVER",
            P,
            S::CommunicationsInterrupted,
            ok(S::Recover),
            Stay,
        ),
        (
            "C-I partner RECOVER-WAIT",
            P,
            S::CommunicationsInterrupted,
            ok(S::RecoverWait),
            Stay,
        ),
        (
            "C-I partner RECOVER-DONE",
            P,
            S::CommunicationsInterrupted,
            ok(S::RecoverDone),
            To(S::Normal),
        ),
        (
            "C-I partner PARTNER-DOWN",
            P,
            S::CommunicationsInterrupted,
            ok(S::PartnerDown),
            To(S::PotentialConflict),
        ),
        (
            "C-I partner P-C",
            P,
            S::CommunicationsInterrupted,
            ok(S::PotentialConflict),
            To(S::PotentialConflict),
        ),
        (
            "C-I partner CONFLICT-DONE",
            SEC,
            S::CommunicationsInterrupted,
            ok(S::ConflictDone),
            To(S::PotentialConflict),
        ),
        (
            "C-I partner R-I",
            P,
            S::CommunicationsInterrupted,
            ok(S::ResolutionInterrupted),
            To(S::PotentialConflict),
        ),
        (
            "C-I comms lost again",
            P,
            S::CommunicationsInterrupted,
            Event::CommunicationsFailed,
            Stay,
        ),
        (
            "P-D partner NORMAL",
            P,
            S::PartnerDown,
            ok(S::Normal),
            To(S::PotentialConflict),
        ),
        (
            "P-D partner C-I",
            P,
            S::PartnerDown,
            ok(S::CommunicationsInterrupted),
            To(S::PotentialConflict),
        ),
        (
            "P-D partner P-D",
            P,
            S::PartnerDown,
            ok(S::PartnerDown),
            To(S::PotentialConflict),
        ),
        (
            "P-D partner P-C",
            P,
            S::PartnerDown,
            ok(S::PotentialConflict),
            To(S::PotentialConflict),
        ),
        (
            "P-D partner R-I",
            P,
            S::PartnerDown,
            ok(S::ResolutionInterrupted),
            To(S::PotentialConflict),
        ),
        (
            "P-D partner CONFLICT-DONE",
            SEC,
            S::PartnerDown,
            ok(S::ConflictDone),
            To(S::PotentialConflict),
        ),
        (
            "P-D partner RECOVER",
            P,
            S::PartnerDown,
            ok(S::Recover),
            Stay,
        ),
        (
            "P-D partner RECOVER-WAIT",
            P,
            S::PartnerDown,
            changed(S::RecoverWait),
            Stay,
        ),
        (
            "P-D partner RECOVER-DONE",
            P,
            S::PartnerDown,
            changed(S::RecoverDone),
            To(S::Normal),
        ),
        (
            "RECOVER partner P-C",
            SEC,
            S::Recover,
            ok(S::PotentialConflict),
            To(S::PotentialConflict),
        ),
        (
            "RECOVER partner R-I",
            SEC,
            S::Recover,
            ok(S::ResolutionInterrupted),
            To(S::PotentialConflict),
        ),
        (
            "RECOVER partner CONFLICT-DONE",
            SEC,
            S::Recover,
            ok(S::ConflictDone),
            To(S::PotentialConflict),
        ),
        (
            "RECOVER partner P-D: UPDREQ",
            SEC,
            S::Recover,
            ok(S::PartnerDown),
            Transition::Request(UpdateRequest::UpdReq),
        ),
        (
            "RECOVER UPDDONE",
            SEC,
            S::Recover,
            Event::UpdDoneReceived,
            To(S::RecoverWait),
        ),
        (
            "RECOVER comms lost: stay",
            SEC,
            S::Recover,
            Event::CommunicationsFailed,
            Stay,
        ),
        (
            "RECOVER no UPDDONE in time",
            SEC,
            S::Recover,
            Event::UpdDoneTimeout,
            Transition::DropConnection,
        ),
        (
            "RECOVER-WAIT timer",
            P,
            S::RecoverWait,
            Event::RecoverWaitElapsed,
            To(S::RecoverDone),
        ),
        (
            "RECOVER-WAIT comms lost: keep timer",
            P,
            S::RecoverWait,
            Event::CommunicationsFailed,
            Stay,
        ),
        (
            "RECOVER-DONE partner NORMAL",
            P,
            S::RecoverDone,
            changed(S::Normal),
            To(S::Normal),
        ),
        (
            "RECOVER-DONE partner RECOVER-DONE",
            P,
            S::RecoverDone,
            ok(S::RecoverDone),
            To(S::Normal),
        ),
        (
            "RECOVER-DONE partner RECOVER",
            P,
            S::RecoverDone,
            ok(S::Recover),
            To(S::CommunicationsInterrupted),
        ),
        (
            "RECOVER-DONE partner RECOVER-WAIT",
            P,
            S::RecoverDone,
            ok(S::RecoverWait),
            To(S::CommunicationsInterrupted),
        ),
        (
            "RECOVER-DONE partner P-C",
            P,
            S::RecoverDone,
            ok(S::PotentialConflict),
            To(S::PotentialConflict),
        ),
        (
            "RECOVER-DONE comms lost",
            P,
            S::RecoverDone,
            Event::CommunicationsFailed,
            Stay,
        ),
        (
            "P-C comms lost",
            P,
            S::PotentialConflict,
            Event::CommunicationsFailed,
            To(S::ResolutionInterrupted),
        ),
        (
            "P-C UPDDONE primary",
            P,
            S::PotentialConflict,
            Event::UpdDoneReceived,
            To(S::ConflictDone),
        ),
        (
            "P-C UPDDONE secondary",
            SEC,
            S::PotentialConflict,
            Event::UpdDoneReceived,
            To(S::Normal),
        ),
        (
            "R-I operator partner down",
            P,
            S::ResolutionInterrupted,
            Event::OperatorPartnerDown,
            To(S::PartnerDown),
        ),
        (
            "R-I comms OK",
            P,
            S::ResolutionInterrupted,
            ok(S::PotentialConflict),
            To(S::PotentialConflict),
        ),
        (
            "CONFLICT-DONE partner NORMAL",
            P,
            S::ConflictDone,
            changed(S::Normal),
            To(S::Normal),
        ),
        (
            "CONFLICT-DONE partner P-C: wait",
            P,
            S::ConflictDone,
            changed(S::PotentialConflict),
            Stay,
        ),
        (
            "CONFLICT-DONE comms lost",
            P,
            S::ConflictDone,
            Event::CommunicationsFailed,
            Stay,
        ),
    ];
    for (name, role, state, event, want) in rows {
        assert_eq!(transition(*role, *state, *event), *want, "{name}");
    }
}

#[test]
fn recover_asks_for_everything_when_storage_was_lost() {
    let event = Event::CommunicationsOk {
        partner: PartnerState {
            state: S::PartnerDown,
            startup: false,
            communicated: true,
        },
        local_record_of_partner: false,
    };
    assert_eq!(
        transition(SEC, S::Recover, event),
        Transition::Request(UpdateRequest::UpdReqAll)
    );
    // Partner never saw us either: plain UPDREQ.
    let fresh = Event::CommunicationsOk {
        partner: PartnerState {
            state: S::PartnerDown,
            startup: false,
            communicated: false,
        },
        local_record_of_partner: false,
    };
    assert_eq!(
        transition(SEC, S::Recover, fresh),
        Transition::Request(UpdateRequest::UpdReq)
    );
}

#[test]
fn startup_flagged_state_is_ignored_everywhere() {
    let flagged = Event::PartnerStateChanged(PartnerState {
        state: S::PartnerDown,
        startup: true,
        communicated: true,
    });
    for role in [P, SEC] {
        for s in ServerState::ALL {
            assert_eq!(transition(role, s, flagged), Transition::None, "{s}");
        }
    }
}

#[test]
fn every_combination_is_total_and_never_leaves_to_startup() {
    let mut events = vec![
        Event::CommunicationsFailed,
        Event::OperatorPartnerDown,
        Event::AutoPartnerDownTimer,
        Event::UpdDoneReceived,
        Event::RecoverWaitElapsed,
        Event::UpdDoneTimeout,
    ];
    for p in ServerState::ALL {
        events.push(ok(p));
        events.push(changed(p));
    }
    for role in [P, SEC] {
        for s in ServerState::ALL {
            for e in &events {
                let t = transition(role, s, *e);
                assert_ne!(t, Transition::To(S::Startup));
                assert_ne!(
                    t,
                    Transition::To(s),
                    "{s} {e:?}: self-transition must be None"
                );
                if role == SEC {
                    assert_ne!(
                        t,
                        Transition::To(S::ConflictDone),
                        "CONFLICT-DONE is primary only"
                    );
                }
            }
        }
    }
}

#[test]
fn recover_wait_deadline_rules() {
    let now = FoTime(500);
    assert_eq!(
        recover_wait_deadline(Some(FoTime(100)), FoTime(200), 60, false, now),
        FoTime(160)
    );
    assert_eq!(
        recover_wait_deadline(None, FoTime(200), 60, false, now),
        FoTime(260)
    );
    assert_eq!(
        recover_wait_deadline(Some(FoTime(100)), FoTime(200), 60, true, now),
        now
    );
}
