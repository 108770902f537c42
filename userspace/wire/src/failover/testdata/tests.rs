//! The vectors are hand-laid byte arrays; these tests rebuild each one independently with
//! [`FailoverWriter`], read it back through the views, round-trip it, and keep the fuzz seed
//! corpus equal to them.

use std::path::PathBuf;

use super::*;
use crate::failover::{
    validate_failover_options, BindingStatus, ClientData, ConnectFlags, DnsFlags, DnsName,
    DnsRemovalInfo, FailoverMessage, FailoverRepr, FailoverTime, FailoverWriter, ProtocolVersion,
    ReconfigureData, RelationshipName, ServerFlags, ServerState,
};
use crate::testdata::{ADDR, CLIENT_DUID, PREFIX};
use crate::{
    parse_u32, IaAddr, IaNa, IaPrefix, MessageType, OptionCode, Options, StatusCode,
    StatusCodeOption, Writer, Xid,
};

/// Builds one framed message; `sent` is the offset from [`T0`] (ignored for STARTTLS/REPLY).
fn build(t: MessageType, xid: u32, sent: u32, body: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    let sent_time = crate::failover::has_sent_time(t).then_some(FailoverTime(T0 + sent));
    let mut fw = FailoverWriter::new(&mut buf, t, Xid::from_u32(xid), sent_time).unwrap();
    body(fw.writer());
    let n = fw.finish().unwrap();
    buf[..n].to_vec()
}

fn nested(w: &mut Writer<'_>, code: OptionCode, body: impl FnOnce(&mut Writer<'_>)) {
    let m = w.begin_option(code).unwrap();
    body(w);
    w.end_option(m).unwrap();
}

fn name(w: &mut Writer<'_>, labels: &[&[u8]]) {
    for l in labels {
        w.u8(l.len() as u8).unwrap();
        w.bytes(l).unwrap();
    }
    w.u8(0).unwrap();
}

fn params(w: &mut Writer<'_>) {
    w.option(
        OptionCode::FProtocolVersion,
        &ProtocolVersion::V1_0.to_bytes(),
    )
    .unwrap();
    w.option_u32(OptionCode::FMclt, 3600).unwrap();
    w.option_u32(OptionCode::FKeepaliveTime, 60).unwrap();
    w.option_u32(OptionCode::FMaxUnackedBndupd, 10).unwrap();
    w.option_u16(OptionCode::FConnectFlags, ConnectFlags::FIXED_PD_LENGTH)
        .unwrap();
}

fn ia_na(w: &mut Writer<'_>, addr_body: impl FnOnce(&mut Writer<'_>)) {
    nested(w, OptionCode::IaNa, |w| {
        for v in [1, 1800, 2880] {
            w.u32(v).unwrap();
        }
        nested(w, OptionCode::IaAddr, |w| {
            w.ipv6(ADDR).unwrap();
            w.u32(3600).unwrap();
            w.u32(7200).unwrap();
            addr_body(w);
        });
    });
}

fn prefix(w: &mut Writer<'_>, body: impl FnOnce(&mut Writer<'_>)) {
    nested(w, OptionCode::IaPrefix, |w| {
        w.u32(0).unwrap();
        w.u32(0).unwrap();
        w.u8(56).unwrap();
        w.ipv6(PREFIX).unwrap();
        body(w);
    });
}

fn rebuilt() -> Vec<(&'static str, Vec<u8>)> {
    let active = u8::from(BindingStatus::Active);
    let free_backup = u8::from(BindingStatus::FreeBackup);
    let status = |w: &mut Writer<'_>, s: u8| w.option_u8(OptionCode::FBindingStatus, s).unwrap();
    vec![
        ("starttls", build(MessageType::StartTls, 1, 0, |_| {})),
        ("starttls_reply", build(MessageType::Reply, 1, 0, |_| {})),
        (
            "connect",
            build(MessageType::Connect, 2, 0, |w| {
                params(w);
                w.option(OptionCode::FRelationshipName, RELATIONSHIP_NAME)
                    .unwrap();
            }),
        ),
        (
            "connectreply",
            build(MessageType::ConnectReply, 2, 1, params),
        ),
        (
            "state",
            build(MessageType::State, 3, 1, |w| {
                w.option_u8(OptionCode::FServerState, u8::from(ServerState::Normal))
                    .unwrap();
                w.option_u8(OptionCode::FServerFlags, ServerFlags::COMMUNICATED)
                    .unwrap();
                w.option_u32(OptionCode::FStartTimeOfState, START_OF_STATE)
                    .unwrap();
            }),
        ),
        (
            "state_partner_down",
            build(MessageType::State, 4, 2, |w| {
                let down = u8::from(ServerState::PartnerDown);
                w.option_u8(OptionCode::FServerState, down).unwrap();
                w.option_u8(OptionCode::FServerFlags, 0x07).unwrap();
                w.option_u32(OptionCode::FStartTimeOfState, START_OF_STATE)
                    .unwrap();
                w.option_u32(OptionCode::FPartnerDownTime, START_OF_STATE)
                    .unwrap();
            }),
        ),
        (
            "bndupd",
            build(MessageType::BndUpd, 5, 3, |w| {
                nested(w, OptionCode::ClientData, |w| {
                    w.option(OptionCode::ClientId, CLIENT_DUID).unwrap();
                    w.option_u32(OptionCode::LqBaseTime, T0).unwrap();
                    nested(w, OptionCode::FReconfigureData, |w| {
                        w.u32(RECONFIGURE_TIME).unwrap();
                        w.bytes(RECONFIGURE_KEY).unwrap();
                    });
                    ia_na(w, |w| {
                        status(w, active);
                        w.option_u32(OptionCode::FStartTimeOfState, START_OF_STATE)
                            .unwrap();
                        w.option_u32(OptionCode::FStateExpirationTime, STATE_EXPIRATION)
                            .unwrap();
                        w.option_u32(OptionCode::CltTime, CLT_TIME).unwrap();
                        w.option_u32(OptionCode::FPartnerLifetime, PARTNER_LIFETIME)
                            .unwrap();
                        w.option_u32(OptionCode::FPartnerRawCltTime, PARTNER_RAW_CLT)
                            .unwrap();
                        w.option_u32(OptionCode::FExpirationTime, EXPIRATION)
                            .unwrap();
                        nested(w, OptionCode::ClientFqdn, |w| {
                            w.u8(1).unwrap();
                            name(w, &[b"host", b"example"]);
                        });
                        nested(w, OptionCode::FDnsRemovalInfo, |w| {
                            nested(w, OptionCode::FDnsHostName, |w| {
                                name(w, &[b"host", b"example"])
                            });
                            nested(w, OptionCode::FDnsZoneName, |w| name(w, &[b"example"]));
                            let flags = DnsFlags::USED_CLIENT_FQDN
                                | DnsFlags::REVERSE_UPTODATE
                                | DnsFlags::FORWARD_UPTODATE;
                            w.option_u16(OptionCode::FDnsFlags, flags).unwrap();
                        });
                    });
                });
            }),
        ),
        (
            "bndupd_prefix",
            build(MessageType::BndUpd, 6, 4, |w| {
                prefix(w, |w| {
                    w.option_u32(OptionCode::LqBaseTime, T0).unwrap();
                    status(w, free_backup);
                    w.option_u32(OptionCode::FStartTimeOfState, START_OF_STATE)
                        .unwrap();
                });
            }),
        ),
        (
            "bndreply",
            build(MessageType::BndReply, 5, 5, |w| {
                nested(w, OptionCode::ClientData, |w| {
                    w.option(OptionCode::ClientId, CLIENT_DUID).unwrap();
                    ia_na(w, |w| {
                        status(w, active);
                        w.option_u32(OptionCode::FStateExpirationTime, STATE_EXPIRATION)
                            .unwrap();
                        w.option_u32(OptionCode::FPartnerLifetimeSent, PARTNER_LIFETIME)
                            .unwrap();
                    });
                });
            }),
        ),
        (
            "bndreply_prefix",
            build(MessageType::BndReply, 6, 6, |w| {
                prefix(w, |w| {
                    w.status_code(StatusCode::ConfigurationConflict, "not in pool")
                        .unwrap();
                    status(w, free_backup);
                });
            }),
        ),
        ("poolreq", build(MessageType::PoolReq, 7, 7, |_| {})),
        ("poolresp", build(MessageType::PoolResp, 7, 8, |_| {})),
        ("updreq", build(MessageType::UpdReq, 8, 9, |_| {})),
        ("updreqall", build(MessageType::UpdReqAll, 9, 10, |_| {})),
        ("upddone", build(MessageType::UpdDone, 8, 11, |_| {})),
        (
            "disconnect",
            build(MessageType::Disconnect, 10, 12, |w| {
                w.status_code(StatusCode::ServerShuttingDown, "maintenance")
                    .unwrap();
            }),
        ),
        ("contact", build(MessageType::Contact, 11, 13, |_| {})),
    ]
}

#[test]
fn vectors_match_an_independent_writer_build() {
    let built = rebuilt();
    assert_eq!(built.len(), ALL.len());
    for ((name, bytes), (built_name, built_bytes)) in ALL.iter().zip(&built) {
        assert_eq!(name, built_name);
        assert_eq!(built_bytes.as_slice(), *bytes, "{name}");
    }
}

fn parse(framed: &[u8]) -> FailoverMessage<'_> {
    let size = usize::from(u16::from_be_bytes([framed[0], framed[1]]));
    assert_eq!(size + 2, framed.len());
    FailoverMessage::new_checked(&framed[2..]).unwrap()
}

fn find<'a>(o: Options<'a>, code: OptionCode) -> &'a [u8] {
    o.find(code).unwrap_or_else(|| panic!("{code:?} missing"))
}

#[test]
fn vectors_read_back_through_the_views() {
    let types = [
        (23, None),
        (7, None),
        (31, Some(0)),
        (32, Some(1)),
        (34, Some(1)),
        (34, Some(2)),
        (24, Some(3)),
        (24, Some(4)),
        (25, Some(5)),
        (25, Some(6)),
        (26, Some(7)),
        (27, Some(8)),
        (28, Some(9)),
        (29, Some(10)),
        (30, Some(11)),
        (33, Some(12)),
        (35, Some(13)),
    ];
    assert_eq!(types.len(), ALL.len());
    for ((name, bytes), (t, sent)) in ALL.iter().zip(types) {
        let m = parse(bytes);
        assert_eq!(m.msg_type(), MessageType::from(t), "{name}");
        assert!(!matches!(m.msg_type(), MessageType::Unknown(_)), "{name}");
        assert_eq!(m.sent_time(), sent.map(|s| FailoverTime(T0 + s)), "{name}");
        validate_failover_options(m.options()).unwrap();
    }

    let connect = parse(CONNECT).options();
    let version = ProtocolVersion::parse(find(connect, OptionCode::FProtocolVersion));
    assert_eq!(version, Ok(ProtocolVersion::V1_0));
    assert_eq!(parse_u32(find(connect, OptionCode::FMclt)), Ok(3600));
    assert_eq!(parse_u32(find(connect, OptionCode::FKeepaliveTime)), Ok(60));
    assert_eq!(
        parse_u32(find(connect, OptionCode::FMaxUnackedBndupd)),
        Ok(10)
    );
    let flags = ConnectFlags::parse(find(connect, OptionCode::FConnectFlags)).unwrap();
    assert!(flags.fixed_pd_length());
    let rel = RelationshipName::parse(find(connect, OptionCode::FRelationshipName)).unwrap();
    assert_eq!(rel.as_str(), Some("tandem-pair"));

    let state = parse(STATE_PARTNER_DOWN).options();
    let s = ServerState::parse(find(state, OptionCode::FServerState));
    assert_eq!(s, Ok(ServerState::PartnerDown));
    let f = ServerFlags::parse(find(state, OptionCode::FServerFlags)).unwrap();
    assert!(f.contains(ServerFlags::STARTUP | ServerFlags::ACK_STARTUP));
    let down = FailoverTime::parse(find(state, OptionCode::FPartnerDownTime));
    assert_eq!(down, Ok(FailoverTime(START_OF_STATE)));

    let upd = parse(BNDUPD).options();
    let cd = ClientData::parse(find(upd, OptionCode::ClientData)).unwrap();
    assert_eq!(find(cd.options(), OptionCode::ClientId), CLIENT_DUID);
    let base = FailoverTime::parse(find(cd.options(), OptionCode::LqBaseTime)).unwrap();
    let rc = ReconfigureData::parse(find(cd.options(), OptionCode::FReconfigureData)).unwrap();
    assert_eq!(
        (rc.time(), rc.key()),
        (FailoverTime(RECONFIGURE_TIME), RECONFIGURE_KEY)
    );
    let na = IaNa::parse(find(cd.options(), OptionCode::IaNa)).unwrap();
    let addr = IaAddr::parse(find(na.options(), OptionCode::IaAddr)).unwrap();
    assert_eq!((addr.addr(), addr.valid()), (ADDR, 7200));
    let o = addr.options();
    let b = BindingStatus::parse(find(o, OptionCode::FBindingStatus));
    assert_eq!(b, Ok(BindingStatus::Active));
    let clt = parse_u32(find(o, OptionCode::CltTime)).unwrap();
    assert_eq!(base.0 - clt, T0 - CLT_TIME);
    let pl = FailoverTime::parse(find(o, OptionCode::FPartnerLifetime)).unwrap();
    assert_eq!(pl.delta_s(base), 9000);
    let dri = DnsRemovalInfo::parse(find(o, OptionCode::FDnsRemovalInfo)).unwrap();
    let host = DnsName::parse(find(dri.options(), OptionCode::FDnsHostName)).unwrap();
    assert_eq!(host.as_bytes(), b"\x04host\x07example\x00");
    let df = DnsFlags::parse(find(dri.options(), OptionCode::FDnsFlags)).unwrap();
    assert!(df.contains(DnsFlags::USED_CLIENT_FQDN) && !df.contains(DnsFlags::SYNTHESIZED));

    let reply = parse(BNDREPLY_PREFIX).options();
    let p = IaPrefix::parse(find(reply, OptionCode::IaPrefix)).unwrap();
    assert_eq!((p.prefix(), p.prefix_len()), (PREFIX, 56));
    let sc = StatusCodeOption::parse(find(p.options(), OptionCode::StatusCode)).unwrap();
    assert_eq!(sc.code(), StatusCode::ConfigurationConflict);
    let bye = parse(DISCONNECT).options();
    let sc = StatusCodeOption::parse(find(bye, OptionCode::StatusCode)).unwrap();
    assert_eq!(
        (sc.code(), sc.message()),
        (StatusCode::ServerShuttingDown, &b"maintenance"[..])
    );
}

#[test]
fn vectors_round_trip_byte_for_byte() {
    for (name, bytes) in ALL {
        let repr = FailoverRepr::parse(&bytes[2..]).unwrap();
        assert_eq!(repr.buffer_len(), bytes.len(), "{name}");
        let mut out = [0u8; 1024];
        let n = repr.emit(&mut out).unwrap();
        assert_eq!(&out[..n], *bytes, "{name}");
    }
}

/// The `failover_stream` fuzz seed corpus holds exactly these vectors, plus `all`, the whole
/// set concatenated as one stream. Set `TANDEM_WRITE_CORPUS=1` to (re)write the files after
/// changing a vector.
#[test]
fn fuzz_seed_corpus_matches_vectors() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/failover_stream");
    let all: Vec<u8> = ALL.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    let files: Vec<(&str, &[u8])> = ALL
        .iter()
        .copied()
        .chain([("all", all.as_slice())])
        .collect();
    if std::env::var_os("TANDEM_WRITE_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in files {
        let on_disk = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            on_disk, bytes,
            "corpus file failover_stream/{name} differs from failover::testdata"
        );
    }
}
