//! Server answers (Advertise, Reply; RFC 8415 §18.3), directly or inside a Relay-reply
//! (§19.3), read with `tandem-wire` views. Nothing here allocates.

use std::net::Ipv6Addr;

use tandem_wire::{
    IaAddr, IaNa, IaPd, IaPrefix, Message, MessageType, OptionCode, Options, RelayMessage,
    StatusCode, StatusCodeOption, Xid,
};

use crate::messages::{IAID_NA, IAID_PD};

/// What the generator needs from one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer<'a> {
    /// Advertise or Reply (anything else is unexpected).
    pub msg_type: MessageType,
    /// The transaction id.
    pub xid: Xid,
    /// The Relay-reply's peer-address, when the answer came relayed.
    pub peer: Option<Ipv6Addr>,
    /// OPTION_SERVERID (RFC 8415 §21.3).
    pub server_id: Option<&'a [u8]>,
    /// Whether OPTION_RAPID_COMMIT is present (§21.14).
    pub rapid_commit: bool,
    /// The message-level status code (§21.13), if any.
    pub status: Option<StatusCode>,
    /// The status code inside our IA_NA, if any.
    pub na_status: Option<StatusCode>,
    /// The status code inside our IA_PD, if any.
    pub pd_status: Option<StatusCode>,
    /// The first address with a non-zero valid lifetime in our IA_NA.
    pub addr: Option<Ipv6Addr>,
    /// The first prefix with a non-zero valid lifetime in our IA_PD.
    pub prefix: Option<(Ipv6Addr, u8)>,
}

impl Answer<'_> {
    /// The status codes the answer carries, message level first.
    pub fn statuses(&self) -> impl Iterator<Item = StatusCode> {
        [self.status, self.na_status, self.pd_status]
            .into_iter()
            .flatten()
    }
}

/// Parses `packet`: a client message, or one Relay-reply around one.
pub fn parse(packet: &[u8]) -> tandem_wire::Result<Answer<'_>> {
    let (peer, inner) = match packet.first().copied().map(MessageType::from) {
        Some(MessageType::RelayRepl) => {
            let r = RelayMessage::new_checked(packet)?;
            let inner = r
                .relay_msg()
                .ok_or(tandem_wire::Error::MissingRelayMessage)?;
            (Some(r.peer_address()), inner)
        }
        _ => (None, packet),
    };
    let msg = Message::new_checked(inner)?;
    let options = msg.options();
    let mut a = Answer {
        msg_type: msg.msg_type(),
        xid: msg.xid(),
        peer,
        server_id: options.find(OptionCode::ServerId),
        rapid_commit: options.find(OptionCode::RapidCommit).is_some(),
        status: status_in(options),
        na_status: None,
        pd_status: None,
        addr: None,
        prefix: None,
    };
    for o in options.iter() {
        let data = o.data;
        match o.code {
            OptionCode::IaNa => {
                let ia = IaNa::parse(data)?;
                if ia.iaid() != IAID_NA {
                    continue;
                }
                a.na_status = status_in(ia.options());
                for o in ia.options().iter() {
                    if o.code == OptionCode::IaAddr && a.addr.is_none() {
                        let x = IaAddr::parse(o.data)?;
                        a.addr = (x.valid() > 0).then_some(x.addr());
                    }
                }
            }
            OptionCode::IaPd => {
                let ia = IaPd::parse(data)?;
                if ia.iaid() != IAID_PD {
                    continue;
                }
                a.pd_status = status_in(ia.options());
                for o in ia.options().iter() {
                    if o.code == OptionCode::IaPrefix && a.prefix.is_none() {
                        let x = IaPrefix::parse(o.data)?;
                        a.prefix = (x.valid() > 0).then_some((x.prefix(), x.prefix_len()));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(a)
}

/// The status code of the first OPTION_STATUS_CODE in `options`.
fn status_in(options: Options<'_>) -> Option<StatusCode> {
    let data = options.find(OptionCode::StatusCode)?;
    StatusCodeOption::parse(data).ok().map(|s| s.code())
}

#[cfg(test)]
mod tests {
    use tandem_wire::{testdata, Writer};

    use super::*;

    const ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x1000);

    /// An Advertise as a server would send it: SERVERID, CLIENTID, IA_NA with one IAADDR,
    /// IA_PD with a NoPrefixAvail status.
    fn advertise(buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        w.message_header(MessageType::Advertise, Xid([1, 2, 3]))
            .unwrap();
        w.option(OptionCode::ServerId, testdata::SERVER_DUID)
            .unwrap();
        w.option(OptionCode::ClientId, testdata::CLIENT_DUID)
            .unwrap();
        let na = w.begin_option(OptionCode::IaNa).unwrap();
        w.u32(IAID_NA).unwrap();
        w.u32(1500).unwrap();
        w.u32(2400).unwrap();
        let a = w.begin_option(OptionCode::IaAddr).unwrap();
        w.ipv6(ADDR).unwrap();
        w.u32(3000).unwrap();
        w.u32(4000).unwrap();
        w.end_option(a).unwrap();
        w.end_option(na).unwrap();
        let pd = w.begin_option(OptionCode::IaPd).unwrap();
        w.u32(IAID_PD).unwrap();
        w.u32(0).unwrap();
        w.u32(0).unwrap();
        w.status_code(StatusCode::NoPrefixAvail, "none").unwrap();
        w.end_option(pd).unwrap();
        w.finish()
    }

    #[test]
    fn an_advertise_yields_server_address_and_statuses() {
        let mut buf = [0u8; 256];
        let n = advertise(&mut buf);
        let a = parse(&buf[..n]).unwrap();
        assert_eq!(a.msg_type, MessageType::Advertise);
        assert_eq!(a.xid, Xid([1, 2, 3]));
        assert_eq!(a.peer, None);
        assert_eq!(a.server_id, Some(testdata::SERVER_DUID));
        assert_eq!(a.addr, Some(ADDR));
        assert_eq!(a.prefix, None);
        assert_eq!((a.status, a.na_status), (None, None));
        assert_eq!(a.pd_status, Some(StatusCode::NoPrefixAvail));
        assert_eq!(
            a.statuses().collect::<Vec<_>>(),
            [StatusCode::NoPrefixAvail]
        );
        assert!(!a.rapid_commit);
    }

    #[test]
    fn a_relay_reply_is_unwrapped_and_keeps_the_peer() {
        let mut inner = [0u8; 256];
        let n_inner = advertise(&mut inner);
        let mut buf = [0u8; 512];
        let mut w = Writer::new(&mut buf);
        let link: Ipv6Addr = "2001:db8:1::ff:1".parse().unwrap();
        w.relay_header(MessageType::RelayRepl, 0, link, testdata::CLIENT_LINK_LOCAL)
            .unwrap();
        w.option(OptionCode::InterfaceId, b"x").unwrap();
        w.option(OptionCode::RelayMsg, &inner[..n_inner]).unwrap();
        let n = w.finish();
        let a = parse(&buf[..n]).unwrap();
        assert_eq!(a.peer, Some(testdata::CLIENT_LINK_LOCAL));
        assert_eq!(a.addr, Some(ADDR));
        // A relay-reply without RELAY_MSG is an error, not a panic.
        assert!(parse(&buf[..34]).is_err());
    }

    #[test]
    fn truncated_and_junk_answers_are_errors() {
        let mut buf = [0u8; 256];
        let n = advertise(&mut buf);
        // Every prefix parses or fails without panicking; a cut inside the Server ID option
        // (octets 4..22) or inside the IA_NA must fail.
        for len in 0..n {
            let r = parse(&buf[..len]);
            if (5..22).contains(&len) || (41..n).contains(&len) && len < 44 + 12 + 28 {
                assert!(r.is_err(), "len {len}");
            }
        }
        assert!(parse(&[]).is_err());
        assert!(parse(&[13; 20]).is_err());
    }

    #[test]
    fn golden_client_messages_parse_as_answers_with_their_type() {
        // tandem-wire's golden Renew: no status codes, IAs with our IAIDs.
        let a = parse(testdata::RENEW).unwrap();
        assert_eq!(a.msg_type, MessageType::Renew);
        assert_eq!(a.server_id, Some(testdata::SERVER_DUID));
        assert_eq!(a.statuses().count(), 0);
    }
}
