//! Client messages built with `tandem-wire` into a caller's buffer (RFC 8415 §18.2), directly
//! or inside a Relay-forward (RFC 8415 §19.1.1). Nothing here allocates.

use std::net::Ipv6Addr;

use tandem_wire::{MessageType, OptionCode, Writer, Xid};

/// IAID of the one IA_NA each client asks for.
pub const IAID_NA: u32 = 1;
/// IAID of the one IA_PD each client asks for.
pub const IAID_PD: u32 = 2;
/// The prefix length a Solicit hints at in its IA_PD (RFC 8415 §18.2.1).
pub const PD_HINT_LEN: u8 = 56;

/// Which IA types the clients ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum IaSel {
    /// One IA_NA (an address).
    Na,
    /// One IA_PD (a delegated prefix).
    Pd,
    /// Both.
    Both,
}

impl IaSel {
    /// Whether an IA_NA is requested.
    pub fn na(self) -> bool {
        matches!(self, Self::Na | Self::Both)
    }

    /// Whether an IA_PD is requested.
    pub fn pd(self) -> bool {
        matches!(self, Self::Pd | Self::Both)
    }
}

/// One client message to build.
#[derive(Debug, Clone, Copy)]
pub struct ClientMessage<'a> {
    /// Solicit, Request, Renew or Release.
    pub msg_type: MessageType,
    /// The transaction id.
    pub xid: Xid,
    /// The client's DUID (OPTION_CLIENTID, RFC 8415 §21.2).
    pub client_id: &'a [u8],
    /// The chosen server's DUID (OPTION_SERVERID, §21.3); none in a Solicit.
    pub server_id: Option<&'a [u8]>,
    /// The IAs asked for.
    pub ia: IaSel,
    /// The address to put in the IA_NA (§21.6), when the client has one.
    pub addr: Option<Ipv6Addr>,
    /// The prefix to put in the IA_PD (§21.22), when the client has one.
    pub prefix: Option<(Ipv6Addr, u8)>,
    /// Whether to add OPTION_RAPID_COMMIT (§21.14; Solicit only).
    pub rapid_commit: bool,
}

/// Where a relayed message claims to come from (RFC 8415 §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayHeader {
    /// link-address: identifies the client's link, and so its subnet.
    pub link: Ipv6Addr,
    /// peer-address: the client's link-local address.
    pub peer: Ipv6Addr,
}

/// Builds `m` into `buf`, wrapped in a Relay-forward when `relay` is given; returns the
/// length. Fails only when `buf` is too small.
pub fn emit(
    m: &ClientMessage<'_>,
    relay: Option<&RelayHeader>,
    buf: &mut [u8],
) -> tandem_wire::Result<usize> {
    let mut w = Writer::new(buf);
    match relay {
        None => emit_client(m, &mut w)?,
        Some(r) => {
            w.relay_header(MessageType::RelayForw, 0, r.link, r.peer)?;
            let inner = w.begin_option(OptionCode::RelayMsg)?;
            emit_client(m, &mut w)?;
            w.end_option(inner)?;
        }
    }
    Ok(w.finish())
}

/// The client message itself: CLIENTID, SERVERID, ELAPSED_TIME (0: first transmission,
/// §21.9), RAPID_COMMIT, then the IAs (§21.4, §21.21) with zero T1/T2 and lifetimes.
fn emit_client(m: &ClientMessage<'_>, w: &mut Writer<'_>) -> tandem_wire::Result<()> {
    w.message_header(m.msg_type, m.xid)?;
    w.option(OptionCode::ClientId, m.client_id)?;
    if let Some(s) = m.server_id {
        w.option(OptionCode::ServerId, s)?;
    }
    w.option_u16(OptionCode::ElapsedTime, 0)?;
    if m.rapid_commit {
        w.empty_option(OptionCode::RapidCommit)?;
    }
    if m.ia.na() {
        let ia = w.begin_option(OptionCode::IaNa)?;
        w.bytes(&ia_fixed(IAID_NA))?;
        if let Some(a) = m.addr {
            let o = w.begin_option(OptionCode::IaAddr)?;
            w.ipv6(a)?;
            w.bytes(&[0; 8])?;
            w.end_option(o)?;
        }
        w.end_option(ia)?;
    }
    if m.ia.pd() {
        let ia = w.begin_option(OptionCode::IaPd)?;
        w.bytes(&ia_fixed(IAID_PD))?;
        let (prefix, len) = m.prefix.unwrap_or((Ipv6Addr::UNSPECIFIED, PD_HINT_LEN));
        let o = w.begin_option(OptionCode::IaPrefix)?;
        w.bytes(&[0; 8])?;
        w.u8(len)?;
        w.ipv6(prefix)?;
        w.end_option(o)?;
        w.end_option(ia)?;
    }
    Ok(())
}

/// IAID, T1 = 0, T2 = 0 (RFC 8415 §21.4, §21.21: the client leaves the times to the server).
fn ia_fixed(iaid: u32) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&iaid.to_be_bytes());
    b
}

#[cfg(test)]
mod tests {
    use tandem_wire::{testdata, IaNa, IaPd, IaPrefix, Message, PacketRepr, RelayMessage};

    use super::*;

    const DUID: &[u8] = &[0, 3, 0, 1, 2, 0, 0, 0, 0, 7];

    fn solicit(ia: IaSel, rapid: bool) -> ClientMessage<'static> {
        ClientMessage {
            msg_type: MessageType::Solicit,
            xid: Xid([0x10, 0x20, 0x30]),
            client_id: DUID,
            server_id: None,
            ia,
            addr: None,
            prefix: None,
            rapid_commit: rapid,
        }
    }

    #[test]
    fn solicit_has_the_expected_bytes() {
        let mut buf = [0u8; 256];
        let n = emit(&solicit(IaSel::Na, true), None, &mut buf).unwrap();
        let want: &[u8] = &[
            1, 0x10, 0x20, 0x30, // Solicit, xid
            0, 1, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 7, // CLIENTID, DUID-LL
            0, 8, 0, 2, 0, 0, // ELAPSED_TIME 0
            0, 14, 0, 0, // RAPID_COMMIT
            0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, // IA_NA IAID 1
        ];
        assert_eq!(&buf[..n], want);
    }

    #[test]
    fn request_with_both_ias_parses_back_with_tandem_wire() {
        let addr: Ipv6Addr = "2001:db8:1::1000".parse().unwrap();
        let prefix: Ipv6Addr = "2001:db8:8000:100::".parse().unwrap();
        let m = ClientMessage {
            msg_type: MessageType::Request,
            server_id: Some(testdata::SERVER_DUID),
            addr: Some(addr),
            prefix: Some((prefix, 56)),
            ..solicit(IaSel::Both, false)
        };
        let mut buf = [0u8; 512];
        let n = emit(&m, None, &mut buf).unwrap();
        let msg = Message::new_checked(&buf[..n]).unwrap();
        assert_eq!(msg.msg_type(), MessageType::Request);
        assert_eq!(msg.xid(), m.xid);
        let o = msg.options();
        assert_eq!(o.find(OptionCode::ClientId), Some(DUID));
        assert_eq!(o.find(OptionCode::ServerId), Some(testdata::SERVER_DUID));
        assert_eq!(o.find(OptionCode::RapidCommit), None);
        let na = IaNa::parse(o.find(OptionCode::IaNa).unwrap()).unwrap();
        assert_eq!(na.iaid(), IAID_NA);
        let a = na.options().find(OptionCode::IaAddr).unwrap();
        assert_eq!(tandem_wire::IaAddr::parse(a).unwrap().addr(), addr);
        let pd = IaPd::parse(o.find(OptionCode::IaPd).unwrap()).unwrap();
        assert_eq!(pd.iaid(), IAID_PD);
        let p = IaPrefix::parse(pd.options().find(OptionCode::IaPrefix).unwrap()).unwrap();
        assert_eq!((p.prefix(), p.prefix_len()), (prefix, 56));
        // The whole packet survives tandem-wire's round trip byte for byte.
        let repr = PacketRepr::parse(&buf[..n]).unwrap();
        let mut again = [0u8; 512];
        let m = repr.emit(&mut again).unwrap();
        assert_eq!(&again[..m], &buf[..n]);
    }

    #[test]
    fn relay_forward_wraps_the_client_message() {
        let link: Ipv6Addr = "2001:db8:1::ff:7".parse().unwrap();
        let peer = testdata::CLIENT_LINK_LOCAL;
        let mut inner = [0u8; 256];
        let n_inner = emit(&solicit(IaSel::Pd, false), None, &mut inner).unwrap();
        let mut buf = [0u8; 512];
        let n = emit(
            &solicit(IaSel::Pd, false),
            Some(&RelayHeader { link, peer }),
            &mut buf,
        )
        .unwrap();
        assert_eq!(n, 34 + 4 + n_inner);
        let r = RelayMessage::new_checked(&buf[..n]).unwrap();
        assert_eq!(r.msg_type(), MessageType::RelayForw);
        assert_eq!(
            (r.hop_count(), r.link_address(), r.peer_address()),
            (0, link, peer)
        );
        assert_eq!(r.relay_msg(), Some(&inner[..n_inner]));
        let (chain, msg) = tandem_wire::unwrap_relays(&buf[..n]).unwrap();
        assert_eq!(chain.len(), 1);
        assert_eq!(msg.msg_type(), MessageType::Solicit);
        // A Solicit's IA_PD carries the /56 hint with an unspecified prefix.
        let pd = IaPd::parse(msg.options().find(OptionCode::IaPd).unwrap()).unwrap();
        let p = IaPrefix::parse(pd.options().find(OptionCode::IaPrefix).unwrap()).unwrap();
        assert_eq!(
            (p.prefix(), p.prefix_len()),
            (Ipv6Addr::UNSPECIFIED, PD_HINT_LEN)
        );
        assert!(msg.options().find(OptionCode::IaNa).is_none());
    }

    #[test]
    fn a_short_buffer_fails_without_panicking() {
        let m = solicit(IaSel::Both, true);
        let mut buf = [0u8; 512];
        let full = emit(&m, None, &mut buf).unwrap();
        for len in 0..full {
            let mut small = vec![0u8; len];
            assert!(emit(&m, None, &mut small).is_err(), "len {len}");
        }
    }
}
