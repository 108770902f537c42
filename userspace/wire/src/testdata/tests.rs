//! The vectors are hand-laid byte arrays; these tests rebuild each one independently with
//! [`Writer`], read it back through the views, and keep the fuzz seed corpus equal to them.

use std::path::PathBuf;

use super::*;
use crate::{
    unwrap_relays, IaAddr, IaNa, IaPd, IaPrefix, MessageType, OptionCode, Oro, PacketRepr,
    RemoteId, Writer, Xid,
};

fn ia(
    w: &mut Writer<'_>,
    code: OptionCode,
    iaid: u32,
    t1: u32,
    t2: u32,
    sub: impl FnOnce(&mut Writer<'_>),
) {
    let m = w.begin_option(code).unwrap();
    w.u32(iaid).unwrap();
    w.u32(t1).unwrap();
    w.u32(t2).unwrap();
    sub(w);
    w.end_option(m).unwrap();
}

fn iaaddr(w: &mut Writer<'_>, preferred: u32, valid: u32) {
    let m = w.begin_option(OptionCode::IaAddr).unwrap();
    w.ipv6(ADDR).unwrap();
    w.u32(preferred).unwrap();
    w.u32(valid).unwrap();
    w.end_option(m).unwrap();
}

fn iaprefix(w: &mut Writer<'_>, preferred: u32, valid: u32, prefix: Ipv6Addr) {
    let m = w.begin_option(OptionCode::IaPrefix).unwrap();
    w.u32(preferred).unwrap();
    w.u32(valid).unwrap();
    w.u8(56).unwrap();
    w.ipv6(prefix).unwrap();
    w.end_option(m).unwrap();
}

fn oro(w: &mut Writer<'_>, codes: &[u16]) {
    let m = w.begin_option(OptionCode::Oro).unwrap();
    for &c in codes {
        w.u16(c).unwrap();
    }
    w.end_option(m).unwrap();
}

/// Builds a client message the way a client implementation would.
fn client(t: MessageType, xid: [u8; 3], body: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf);
    w.message_header(t, Xid(xid)).unwrap();
    w.option(OptionCode::ClientId, CLIENT_DUID).unwrap();
    body(&mut w);
    let n = w.finish();
    buf[..n].to_vec()
}

fn relayed(
    hop: u8,
    link: Ipv6Addr,
    peer: Ipv6Addr,
    pre: &[(OptionCode, &[u8])],
    inner: &[u8],
) -> Vec<u8> {
    let mut buf = [0u8; 512];
    let mut w = Writer::new(&mut buf);
    w.relay_header(MessageType::RelayForw, hop, link, peer)
        .unwrap();
    for (code, data) in pre {
        w.option(*code, data).unwrap();
    }
    w.option(OptionCode::RelayMsg, inner).unwrap();
    let n = w.finish();
    buf[..n].to_vec()
}

#[test]
fn vectors_match_an_independent_writer_build() {
    let solicit = client(MessageType::Solicit, [0x10, 0x20, 0x30], |w| {
        w.option_u16(OptionCode::ElapsedTime, 0).unwrap();
        oro(w, &[23, 24, 82]);
        ia(w, OptionCode::IaNa, 1, 0, 0, |_| {});
        ia(w, OptionCode::IaPd, 2, 0, 0, |w| {
            iaprefix(w, 0, 0, Ipv6Addr::UNSPECIFIED)
        });
        w.empty_option(OptionCode::RapidCommit).unwrap();
    });
    assert_eq!(solicit, SOLICIT);
    let relay = relayed(
        0,
        RELAY_LINK,
        CLIENT_LINK_LOCAL,
        &[(OptionCode::InterfaceId, b"eth1/0")],
        SOLICIT,
    );
    assert_eq!(relay, RELAY_FORW_SOLICIT);
    let remote = [0, 0, 0x0d, 0xe9, b'p', b'o', b'r', b't', b'7'];
    let nested = relayed(
        1,
        Ipv6Addr::UNSPECIFIED,
        RELAY_LINK,
        &[
            (OptionCode::InterfaceId, b"agg0"),
            (OptionCode::RemoteId, &remote),
        ],
        RELAY_FORW_SOLICIT,
    );
    assert_eq!(nested, NESTED_RELAY_SOLICIT);

    let with_server = |t, xid, elapsed: u16, t1, t2, pref, valid, pd: bool| {
        client(t, xid, |w| {
            if !matches!(t, MessageType::Rebind | MessageType::Confirm) {
                w.option(OptionCode::ServerId, SERVER_DUID).unwrap();
            }
            w.option_u16(OptionCode::ElapsedTime, elapsed).unwrap();
            if pd {
                oro(w, &[23, 24]);
            }
            ia(w, OptionCode::IaNa, 1, t1, t2, |w| iaaddr(w, pref, valid));
            if pd {
                ia(w, OptionCode::IaPd, 2, t1, t2, |w| {
                    iaprefix(w, pref, valid, PREFIX)
                });
            }
        })
    };
    assert_eq!(
        with_server(
            MessageType::Request,
            [0x11, 0x21, 0x31],
            0,
            0,
            0,
            0,
            0,
            true
        ),
        REQUEST
    );
    assert_eq!(
        with_server(
            MessageType::Renew,
            [0x12, 0x22, 0x32],
            50,
            1800,
            2880,
            3600,
            7200,
            true
        ),
        RENEW
    );
    assert_eq!(
        with_server(
            MessageType::Rebind,
            [0x13, 0x23, 0x33],
            256,
            1800,
            2880,
            3600,
            7200,
            true
        ),
        REBIND
    );
    assert_eq!(
        with_server(
            MessageType::Release,
            [0x14, 0x24, 0x34],
            0,
            0,
            0,
            0,
            0,
            false
        ),
        RELEASE
    );
    assert_eq!(
        with_server(
            MessageType::Decline,
            [0x15, 0x25, 0x35],
            0,
            0,
            0,
            0,
            0,
            false
        ),
        DECLINE
    );
    assert_eq!(
        with_server(
            MessageType::Confirm,
            [0x16, 0x26, 0x36],
            0,
            0,
            0,
            0,
            0,
            false
        ),
        CONFIRM
    );
    let info = client(MessageType::InformationRequest, [0x17, 0x27, 0x37], |w| {
        w.option_u16(OptionCode::ElapsedTime, 0).unwrap();
        oro(w, &[23, 24, 32]);
    });
    assert_eq!(info, INFORMATION_REQUEST);
}

#[test]
fn vectors_read_back_through_the_views() {
    let expect = [
        MessageType::Solicit,
        MessageType::Solicit,
        MessageType::Request,
        MessageType::Renew,
        MessageType::Rebind,
        MessageType::Release,
        MessageType::Decline,
        MessageType::Confirm,
        MessageType::InformationRequest,
        MessageType::Solicit,
    ];
    for ((name, bytes), t) in ALL.iter().zip(expect) {
        let (chain, msg) = unwrap_relays(bytes).unwrap();
        assert_eq!(msg.msg_type(), t, "{name}");
        assert_eq!(
            msg.options().find(OptionCode::ClientId),
            Some(CLIENT_DUID),
            "{name}"
        );
        let relays = if name.starts_with("nested") {
            2
        } else {
            usize::from(name.starts_with("relay"))
        };
        assert_eq!(chain.len(), relays, "{name}");
    }
    let (chain, msg) = unwrap_relays(NESTED_RELAY_SOLICIT).unwrap();
    assert_eq!(chain.hops()[0].interface_id, Some(&b"agg0"[..]));
    assert_eq!(chain.hops()[0].hop_count, 1);
    let remote =
        RemoteId::parse(chain.hops()[0].options.find(OptionCode::RemoteId).unwrap()).unwrap();
    assert_eq!((remote.enterprise(), remote.id()), (3561, &b"port7"[..]));
    let inner = chain.innermost().unwrap();
    assert_eq!(
        (inner.link_address, inner.peer_address),
        (RELAY_LINK, CLIENT_LINK_LOCAL)
    );
    assert_eq!(inner.interface_id, Some(&b"eth1/0"[..]));
    assert_eq!(msg.as_bytes(), SOLICIT);
    assert!(msg.options().find(OptionCode::RapidCommit).is_some());
    let oro = Oro::parse(msg.options().find(OptionCode::Oro).unwrap()).unwrap();
    assert!(oro.contains(OptionCode::SolMaxRt));

    let renew = unwrap_relays(RENEW).unwrap().1;
    let na = IaNa::parse(renew.options().find(OptionCode::IaNa).unwrap()).unwrap();
    assert_eq!((na.iaid(), na.t1(), na.t2()), (1, 1800, 2880));
    let addr = IaAddr::parse(na.options().find(OptionCode::IaAddr).unwrap()).unwrap();
    assert_eq!(
        (addr.addr(), addr.preferred(), addr.valid()),
        (ADDR, 3600, 7200)
    );
    let pd = IaPd::parse(renew.options().find(OptionCode::IaPd).unwrap()).unwrap();
    let p = IaPrefix::parse(pd.options().find(OptionCode::IaPrefix).unwrap()).unwrap();
    assert_eq!((pd.iaid(), p.prefix(), p.prefix_len()), (2, PREFIX, 56));
    assert_eq!(
        renew.options().find(OptionCode::ServerId),
        Some(SERVER_DUID)
    );
}

#[test]
fn vectors_round_trip_byte_for_byte() {
    for (name, bytes) in ALL {
        let repr = PacketRepr::parse(bytes).unwrap();
        assert_eq!(repr.buffer_len(), bytes.len(), "{name}");
        let mut out = [0u8; 512];
        let n = repr.emit(&mut out).unwrap();
        assert_eq!(&out[..n], *bytes, "{name}");
    }
}

/// Both fuzz seed corpora hold exactly these vectors. Set `TANDEM_WRITE_CORPUS=1` to (re)write
/// the files after changing a vector.
#[test]
fn fuzz_seed_corpus_matches_vectors() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for target in ["wire_roundtrip", "wire_relay"] {
        let dir = root.join(target);
        if std::env::var_os("TANDEM_WRITE_CORPUS").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in ALL {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        for (name, bytes) in ALL {
            let on_disk = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                on_disk, *bytes,
                "corpus file {target}/{name} differs from testdata"
            );
        }
    }
}
