//! Every decode error of BNDUPD, and R4 (unknown options skipped). Messages are built option
//! by option with [`super::wire_builder`] so each case breaks exactly one rule.

use tandem_wire::StatusCode;

use super::wire_builder::*;
use super::*;
use crate::error::PeerMisbehaved;

fn dec(options: &[u8]) -> Result<BindingUpdate, UpdateError> {
    decode_bndupd(&msg(&frame(24, options)))
}

fn missing(field: &'static str) -> Result<BindingUpdate, UpdateError> {
    Err(UpdateError::MissingBindingInformation { field })
}

fn bad(code: u16) -> Result<BindingUpdate, UpdateError> {
    Err(UpdateError::PeerMisbehaved(PeerMisbehaved::BadOption(code)))
}

fn conflict(option: u16) -> Result<BindingUpdate, UpdateError> {
    Err(UpdateError::ConfigurationConflict { option })
}

#[test]
fn the_base_message_decodes() {
    let u = dec(&good()).unwrap();
    let (ia, item) = u.items().next().unwrap();
    assert_eq!(ia.map(|ia| (ia.kind, ia.iaid)), Some((IaKind::Na, 7)));
    assert_eq!(item.status, BindingStatus::Active);
    assert_eq!(item.clt_time, None);
}

#[test]
fn unknown_options_are_skipped_everywhere() {
    let x = o(999, b"junk");
    let with_unknowns = [
        x.clone(),
        client(
            &[
                x.clone(),
                ia_na(&[x.clone(), iaaddr(&[active_opts(), x.clone()].concat())].concat()),
            ]
            .concat(),
        ),
        o(47, b"relay data"),
    ]
    .concat();
    assert_eq!(dec(&with_unknowns), dec(&good()));
    // A status code inside a BNDUPD means nothing and is skipped too.
    assert!(dec(&[good(), o(13, &[0, 0])].concat()).is_ok());
}

#[test]
fn wrong_message_type() {
    let m = frame(35, &good());
    assert_eq!(
        decode_bndupd(&msg(&m)),
        Err(UpdateError::PeerMisbehaved(
            PeerMisbehaved::UnexpectedMessage(35)
        ))
    );
    let m = frame(24, &good());
    assert_eq!(
        decode_bndreply(&msg(&m)),
        Err(PeerMisbehaved::UnexpectedMessage(24))
    );
}

#[test]
fn container_count() {
    let any = "exactly one OPTION_CLIENT_DATA or OPTION_IAPREFIX";
    assert_eq!(dec(&[]), missing(any));
    assert_eq!(dec(&[good(), good()].concat()), missing(any));
    let top = iaprefix(
        56,
        &[o(100, &u32b(T0)), o(114, &[5]), o(133, &u32b(T0))].concat(),
    );
    assert!(dec(&top).is_ok());
    assert_eq!(dec(&[good(), top.clone()].concat()), missing(any));
    assert_eq!(dec(&[top.clone(), top].concat()), missing(any));
}

#[test]
fn vss_anywhere_and_ia_ta_are_configuration_conflicts() {
    let vss = o(68, &[0, 1, 2, 3]);
    assert_eq!(dec(&[good(), vss.clone()].concat()), conflict(68));
    assert_eq!(
        dec(&client(
            &[vss.clone(), ia_na(&iaaddr(&active_opts()))].concat()
        )),
        conflict(68)
    );
    assert_eq!(
        dec(&client(&ia_na(&iaaddr(
            &[active_opts(), vss.clone()].concat()
        )))),
        conflict(68)
    );
    let top = iaprefix(
        56,
        &[o(100, &u32b(T0)), o(114, &[5]), o(133, &u32b(T0)), vss].concat(),
    );
    assert_eq!(dec(&top), conflict(68));
    let ta = o(4, &[&u32b(9)[..], &iaaddr(&active_opts())].concat());
    assert_eq!(
        dec(&client(&[ia_na(&iaaddr(&active_opts())), ta].concat())),
        conflict(4)
    );
    assert_eq!(
        conflict(68).unwrap_err().status_code(),
        Some(StatusCode::ConfigurationConflict)
    );
}

#[test]
fn client_data_requirements() {
    let ia = ia_na(&iaaddr(&active_opts()));
    let no_id = o(45, &[o(100, &u32b(T0)), ia.clone()].concat());
    assert_eq!(dec(&no_id), missing("OPTION_CLIENTID"));
    let empty_id = o(45, &[o(1, &[]), o(100, &u32b(T0)), ia.clone()].concat());
    assert_eq!(dec(&empty_id), missing("OPTION_CLIENTID"));
    let long_id = o(
        45,
        &[o(1, &[7; MAX_DUID_LEN + 1]), o(100, &u32b(T0)), ia.clone()].concat(),
    );
    assert_eq!(
        dec(&long_id),
        Err(UpdateError::TooLarge {
            what: "OPTION_CLIENTID",
            max: MAX_DUID_LEN
        })
    );
    let ok_id = o(
        45,
        &[o(1, &[7; MAX_DUID_LEN]), o(100, &u32b(T0)), ia.clone()].concat(),
    );
    assert!(dec(&ok_id).is_ok());
    let no_base = o(45, &[o(1, DUID), ia].concat());
    assert_eq!(dec(&no_base), missing("OPTION_LQ_BASE_TIME"));
    assert_eq!(dec(&client(&[])), missing("OPTION_IA_NA or OPTION_IA_PD"));
    assert_eq!(dec(&client(&ia_na(&[]))), missing("OPTION_IAADDR"));
    assert_eq!(
        dec(&client(&ia_pd(&iaaddr(&active_opts())))),
        missing("OPTION_IAPREFIX")
    );
}

#[test]
fn item_requirements() {
    let without = |code: u16| {
        let opts: Vec<u8> = [
            (114, vec![1]),
            (133, u32b(T0 - 100).to_vec()),
            (134, u32b(T0 + 100).to_vec()),
            (123, u32b(T0 + 200).to_vec()),
            (120, u32b(T0 + 50).to_vec()),
        ]
        .iter()
        .filter(|(c, _)| *c != code)
        .flat_map(|(c, d)| o(*c, d))
        .collect();
        dec(&client(&ia_na(&iaaddr(&opts))))
    };
    assert_eq!(without(114), missing("OPTION_F_BINDING_STATUS"));
    assert_eq!(without(133), missing("OPTION_F_START_TIME_OF_STATE"));
    assert_eq!(without(134), missing("OPTION_F_STATE_EXPIRATION_TIME"));
    assert_eq!(without(123), missing("OPTION_F_PARTNER_LIFETIME"));
    assert_eq!(without(120), missing("OPTION_F_EXPIRATION_TIME"));
    assert_eq!(
        without(134).unwrap_err().status_code(),
        Some(StatusCode::MissingBindingInformation)
    );
}

#[test]
fn timeout_options_follow_the_status() {
    let item = |status: u8, timed: &[u16]| {
        let mut opts = [o(114, &[status]), o(133, &u32b(T0))].concat();
        for &c in timed {
            opts.extend(o(c, &u32b(T0 + 10)));
        }
        dec(&client(&ia_na(&iaaddr(&opts))))
    };
    let unexpected = |field| Err(UpdateError::UnexpectedOption { field });
    // FREE, FREE-BACKUP, PENDING-FREE, RESET: never.
    for s in [4, 5, 6, 8] {
        assert!(item(s, &[]).is_ok(), "{s}");
        assert_eq!(
            item(s, &[134]),
            unexpected("OPTION_F_STATE_EXPIRATION_TIME")
        );
        assert_eq!(item(s, &[123]), unexpected("OPTION_F_PARTNER_LIFETIME"));
        assert_eq!(item(s, &[120]), unexpected("OPTION_F_EXPIRATION_TIME"));
    }
    // ACTIVE, EXPIRED, RELEASED: always.
    for s in [1, 2, 3] {
        assert!(item(s, &[134, 123, 120]).is_ok(), "{s}");
        assert_eq!(item(s, &[]), missing("OPTION_F_STATE_EXPIRATION_TIME"));
    }
    // ABANDONED: all or none.
    assert!(item(7, &[]).is_ok());
    assert!(item(7, &[134, 123, 120]).is_ok());
    assert_eq!(item(7, &[134, 123]), missing("OPTION_F_EXPIRATION_TIME"));
    assert_eq!(item(7, &[123]), unexpected("OPTION_F_PARTNER_LIFETIME"));
    assert_eq!(
        item(5, &[134]).unwrap_err().status_code(),
        Some(StatusCode::MissingBindingInformation)
    );
}

#[test]
fn top_level_prefix_rules() {
    let base = o(100, &u32b(T0));
    let core = [o(114, &[6]), o(133, &u32b(T0))].concat();
    assert_eq!(dec(&iaprefix(56, &core)), missing("OPTION_LQ_BASE_TIME"));
    let active = [base.clone(), active_opts()].concat();
    assert_eq!(dec(&iaprefix(56, &active)), missing("OPTION_CLIENT_DATA"));
    // Client-only options are skipped in a top-level IAPREFIX.
    let extra = [
        base.clone(),
        core.clone(),
        o(46, &u32b(5)),
        o(126, &u32b(T0)),
    ]
    .concat();
    let plain = [base.clone(), core].concat();
    assert_eq!(dec(&iaprefix(56, &extra)), dec(&iaprefix(56, &plain)));
    assert_eq!(dec(&iaprefix(129, &plain)), bad(26));
    let two_bases = [plain, base].concat();
    assert_eq!(dec(&iaprefix(56, &two_bases)), bad(100));
}

#[test]
fn limits_are_enforced() {
    let one_ia = ia_na(&iaaddr(&active_opts()));
    let ias = |n: usize| dec(&client(&one_ia.repeat(n)));
    assert!(ias(MAX_IAS_PER_UPDATE.min(MAX_ITEMS_PER_UPDATE)).is_ok());
    let too_many = ias(MAX_IAS_PER_UPDATE + 1).unwrap_err();
    assert!(
        matches!(too_many, UpdateError::TooLarge { .. }),
        "{too_many:?}"
    );
    assert_eq!(too_many.status_code(), Some(StatusCode::UnspecFail));
    let items = iaaddr(&active_opts()).repeat(MAX_ITEMS_PER_UPDATE / 2 + 1);
    let two = [ia_na(&items), ia_na(&items)].concat();
    assert_eq!(
        dec(&client(&two)),
        Err(UpdateError::TooLarge {
            what: "IAADDR / IAPREFIX options",
            max: MAX_ITEMS_PER_UPDATE
        })
    );
}

#[test]
fn malformed_options_are_peer_misbehaviour() {
    let with = |extra: Vec<u8>| {
        let opts = [o(114, &[1]), extra].concat();
        let rest = [
            o(134, &u32b(T0 + 100)),
            o(123, &u32b(T0 + 200)),
            o(120, &u32b(T0 + 50)),
        ]
        .concat();
        dec(&client(&ia_na(&iaaddr(&[opts, rest].concat()))))
    };
    assert_eq!(with(o(133, &[0; 3])), bad(133));
    assert_eq!(
        with([o(133, &u32b(T0)), o(133, &u32b(T0))].concat()),
        bad(133)
    );
    assert_eq!(with([o(133, &u32b(T0)), o(46, &[0; 5])].concat()), bad(46));
    assert_eq!(
        with([o(133, &u32b(T0)), o(46, &u32b(1 << 31))].concat()),
        bad(46)
    );
    assert!(with([o(133, &u32b(T0)), o(46, &u32b((1 << 31) - 1))].concat()).is_ok());
    assert_eq!(with([o(133, &u32b(T0)), o(114, &[1])].concat()), bad(114));
    let status = |data: &[u8]| {
        let opts = [o(114, data), o(133, &u32b(T0))].concat();
        dec(&client(&ia_na(&iaaddr(&opts))))
    };
    assert_eq!(status(&[1, 1]), bad(114));
    assert_eq!(
        status(&[9]),
        Err(UpdateError::PeerMisbehaved(
            PeerMisbehaved::UnknownBindingStatus(9)
        ))
    );
    assert_eq!(status(&[0]).unwrap_err().status_code(), None);
    let dup_id = o(
        45,
        &[
            o(1, DUID),
            o(1, DUID),
            o(100, &u32b(T0)),
            ia_na(&iaaddr(&active_opts())),
        ]
        .concat(),
    );
    assert_eq!(dec(&dup_id), bad(1));
    let short_base = o(
        45,
        &[o(1, DUID), o(100, &[0; 2]), ia_na(&iaaddr(&active_opts()))].concat(),
    );
    assert_eq!(dec(&short_base), bad(100));
    assert_eq!(dec(&client(&o(3, &[0; 11]))), bad(3));
    assert_eq!(dec(&client(&o(25, &[0; 11]))), bad(25));
    assert_eq!(dec(&client(&ia_na(&o(5, &[0; 23])))), bad(5));
    assert_eq!(dec(&client(&ia_pd(&o(26, &[0; 24])))), bad(26));
    assert_eq!(
        dec(&client(&ia_pd(&iaprefix(129, &active_opts())))),
        bad(26)
    );
    // A CLIENT_DATA whose inner option area is cut short.
    assert_eq!(dec(&o(45, &[0, 1, 0, 9, 1])), bad(45));
}
