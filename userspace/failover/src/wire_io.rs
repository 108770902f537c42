//! Connection-control messages to and from the wire: CONNECT, CONNECTREPLY, STATE, CONTACT and
//! DISCONNECT (RFC 8156 §6.1–6.6; protocol notes §1.6, §1.7). Received messages are decoded into
//! small owned values so the endpoint can act on them after the deframer's borrow ends.

use tandem_wire::failover::{
    ConnectFlags, FailoverMessage, FailoverTime, FailoverWriter, ProtocolVersion, ServerFlags,
};
use tandem_wire::{parse_u32, MessageType, OptionCode, Options, StatusCode, Xid};

use crate::config::{Config, LocalState};
use crate::error::{Error, PeerMisbehaved};
use crate::state::ServerState;
use crate::time::FoTime;
use crate::transition::PartnerState;

/// Parameters of a CONNECT or an accepting CONNECTREPLY (RFC 8156 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectParams {
    pub(crate) version: ProtocolVersion,
    pub(crate) mclt_s: u32,
    pub(crate) keepalive_s: u32,
    pub(crate) max_unacked: u32,
    pub(crate) flags: ConnectFlags,
}

/// The part of a received message the connection logic needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// CONNECT; `name_matches` compares OPTION_F_RELATIONSHIP_NAME with our configuration.
    Connect {
        params: ConnectParams,
        name_matches: bool,
    },
    /// CONNECTREPLY: accept with parameters, or reject with a status code.
    ConnectReply(Result<ConnectParams, u16>),
    /// STATE with its OPTION_F_START_TIME_OF_STATE.
    State(PartnerState, FoTime),
    /// CONTACT.
    Contact,
    /// DISCONNECT with its status code (UnspecFail when absent).
    Disconnect(u16),
    /// Any other type (binding updates etc., handled by later increments).
    Other(u8),
}

/// One received message, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inbound {
    pub(crate) xid: Xid,
    pub(crate) sent: Option<FoTime>,
    pub(crate) body: Body,
}

fn required(options: Options<'_>, code: OptionCode) -> Result<&[u8], Error> {
    options
        .find(code)
        .ok_or(Error::from(PeerMisbehaved::MissingOption(u16::from(code))))
}

fn u32_option(options: Options<'_>, code: OptionCode) -> Result<u32, Error> {
    parse_u32(required(options, code)?).map_err(|_| bad(code))
}

fn bad(code: OptionCode) -> Error {
    PeerMisbehaved::BadOption(u16::from(code)).into()
}

fn connect_params(options: Options<'_>) -> Result<ConnectParams, Error> {
    let v = OptionCode::FProtocolVersion;
    let f = OptionCode::FConnectFlags;
    Ok(ConnectParams {
        version: ProtocolVersion::parse(required(options, v)?).map_err(|_| bad(v))?,
        mclt_s: u32_option(options, OptionCode::FMclt)?,
        keepalive_s: u32_option(options, OptionCode::FKeepaliveTime)?,
        max_unacked: u32_option(options, OptionCode::FMaxUnackedBndupd)?,
        flags: match options.find(f) {
            Some(d) => ConnectFlags::parse(d).map_err(|_| bad(f))?,
            None => ConnectFlags::default(),
        },
    })
}

/// The status code of OPTION_STATUS_CODE, if present (RFC 8415 §21.13).
fn status(options: Options<'_>) -> Result<Option<u16>, Error> {
    match options.find(OptionCode::StatusCode) {
        None => Ok(None),
        Some(&[a, b, ..]) => Ok(Some(u16::from_be_bytes([a, b]))),
        Some(_) => Err(bad(OptionCode::StatusCode)),
    }
}

/// Decodes one message (RFC 8156 §6). `our_name` is the configured relationship name; an absent
/// name matches only an empty configured name (notes §1.6: absent = the only relationship).
pub(crate) fn decode(m: &FailoverMessage<'_>, our_name: &[u8]) -> Result<Inbound, Error> {
    let o = m.options();
    let body = match m.msg_type() {
        MessageType::Connect => Body::Connect {
            params: connect_params(o)?,
            name_matches: o.find(OptionCode::FRelationshipName).unwrap_or_default() == our_name,
        },
        MessageType::ConnectReply => Body::ConnectReply(match status(o)? {
            Some(s) if s != u16::from(StatusCode::Success) => Err(s),
            _ => Ok(connect_params(o)?),
        }),
        MessageType::State => {
            let s = OptionCode::FServerState;
            let &[state] = required(o, s)? else {
                return Err(bad(s));
            };
            let fl = OptionCode::FServerFlags;
            let flags = match o.find(fl) {
                Some(d) => ServerFlags::parse(d).map_err(|_| bad(fl))?,
                None => ServerFlags::default(),
            };
            let partner = PartnerState {
                state: ServerState::from_wire(state)?,
                startup: flags.contains(ServerFlags::STARTUP),
                communicated: flags.contains(ServerFlags::COMMUNICATED),
            };
            let since = FoTime(u32_option(o, OptionCode::FStartTimeOfState)?);
            Body::State(partner, since)
        }
        MessageType::Contact => Body::Contact,
        MessageType::Disconnect => {
            Body::Disconnect(status(o)?.unwrap_or(u16::from(StatusCode::UnspecFail)))
        }
        other => Body::Other(u8::from(other)),
    };
    Ok(Inbound {
        xid: m.xid(),
        sent: m.sent_time().map(|t| FoTime(t.0)),
        body,
    })
}

/// A message waiting for [`crate::Endpoint::poll_transmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// CONNECT with our configuration (RFC 8156 §6.1.1).
    Connect(Xid),
    /// CONNECTREPLY echoing the CONNECT's xid: accept (our parameters, the primary's MCLT) or
    /// reject with a status code (§6.1.2).
    ConnectReply {
        xid: Xid,
        reject: Option<StatusCode>,
    },
    /// STATE with our current state (§6.3).
    State(Xid),
    /// CONTACT (§6.5).
    Contact(Xid),
    /// DISCONNECT with a reason (§6.4).
    Disconnect(Xid, StatusCode),
}

impl Outgoing {
    /// True when the connection closes once this message is out.
    pub(crate) fn closes(self) -> bool {
        matches!(
            self,
            Self::Disconnect(..)
                | Self::ConnectReply {
                    reject: Some(_),
                    ..
                }
        )
    }
}

/// Writes `msg` framed into `buf`; `mclt_s` is the MCLT to announce (ours on the primary, the
/// adopted one on the secondary).
pub(crate) fn encode(
    msg: Outgoing,
    cfg: &Config,
    mclt_s: u32,
    local: &LocalState,
    sent: FoTime,
    buf: &mut [u8],
) -> tandem_wire::Result<usize> {
    let (t, xid) = match msg {
        Outgoing::Connect(x) => (MessageType::Connect, x),
        Outgoing::ConnectReply { xid, .. } => (MessageType::ConnectReply, xid),
        Outgoing::State(x) => (MessageType::State, x),
        Outgoing::Contact(x) => (MessageType::Contact, x),
        Outgoing::Disconnect(x, _) => (MessageType::Disconnect, x),
    };
    let mut fw = FailoverWriter::new(buf, t, xid, Some(FailoverTime(sent.0)))?;
    let w = fw.writer();
    let params = |w: &mut tandem_wire::Writer<'_>| -> tandem_wire::Result<()> {
        w.option(
            OptionCode::FProtocolVersion,
            &cfg.protocol_version.to_bytes(),
        )?;
        w.option_u32(OptionCode::FMclt, mclt_s)?;
        w.option_u32(OptionCode::FKeepaliveTime, cfg.keepalive_time_s)?;
        w.option_u32(OptionCode::FMaxUnackedBndupd, cfg.max_unacked_bndupd)?;
        w.option_u16(OptionCode::FConnectFlags, cfg.connect_flags.0)
    };
    match msg {
        Outgoing::Connect(_) => {
            params(w)?;
            if !cfg.relationship_name.is_empty() {
                w.option(OptionCode::FRelationshipName, &cfg.relationship_name)?;
            }
        }
        Outgoing::ConnectReply { reject: None, .. } => params(w)?,
        Outgoing::ConnectReply {
            reject: Some(s), ..
        } => w.status_code(s, "")?,
        Outgoing::State(_) => {
            w.option_u8(OptionCode::FServerState, local.state.wire_value())?;
            w.option_u8(OptionCode::FServerFlags, local.flags.0)?;
            w.option_u32(OptionCode::FStartTimeOfState, local.start_time.0)?;
            if let (ServerState::PartnerDown, Some(t)) = (local.state, local.partner_down_time) {
                w.option_u32(OptionCode::FPartnerDownTime, t.0)?;
            }
        }
        Outgoing::Contact(_) => {}
        Outgoing::Disconnect(_, s) => w.status_code(s, "")?,
    }
    fw.finish()
}
