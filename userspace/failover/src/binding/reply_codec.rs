//! BNDREPLY on the wire (RFC 8156 §7.6, §7.7; R38, R39).
//!
//! Layout written: CLIENT_DATA { CLIENTID, STATUS_CODE?, IA_NA / IA_PD { IAID, T1, T2,
//! STATUS_CODE?, IAADDR / IAPREFIX { fixed, STATUS_CODE?, F_BINDING_STATUS?,
//! F_STATE_EXPIRATION_TIME?, F_PARTNER_LIFETIME_SENT? } } }, or the top-level IAPREFIX with
//! the same item options, or (for [`ReplyContainer::Empty`]) a message-level STATUS_CODE.
//! Status texts are written empty and not kept when decoding.

use tandem_wire::failover::{ClientData, FailoverMessage, FailoverTime, FailoverWriter};
use tandem_wire::{IaNa, IaPd, MessageType, OptionCode, Options, StatusCode, Writer, Xid};

use super::decode::fixed_part;
use super::encode::{item_code, write_fixed, FRAME_OVERHEAD, OPT, STATUS_OPT, TIME_OPT};
use super::error::EncodeError;
use super::model::{IaKind, MAX_DUID_LEN, MAX_IAS_PER_UPDATE, MAX_ITEMS_PER_UPDATE};
use super::reply::{BindingReply, IaReply, ItemEcho, ItemReply, ReplyContainer};
use crate::conflict::BindingStatus;
use crate::error::PeerMisbehaved;
use crate::time::FoTime;

/// An OPTION_STATUS_CODE with an empty message.
const STATUS_CODE_OPT: usize = OPT + 2;

/// Octets [`encode_bndreply`] writes for `reply`, length prefix included.
pub fn reply_encoded_len(reply: &BindingReply) -> usize {
    let status = |s: Option<StatusCode>| if s.is_some() { STATUS_CODE_OPT } else { 0 };
    FRAME_OVERHEAD
        + status(reply.status)
        + match &reply.container {
            ReplyContainer::Client { duid, ias } => {
                let id = if duid.is_empty() { 0 } else { OPT + duid.len() };
                let ias: usize = ias
                    .iter()
                    .map(|ia| {
                        let items: usize = ia
                            .items
                            .iter()
                            .map(|i| echo_len(&i.echo, ia.kind) + status(i.status))
                            .sum();
                        OPT + IaNa::FIXED_LEN + status(ia.status) + items
                    })
                    .sum();
                OPT + id + ias
            }
            ReplyContainer::Prefix(e) => echo_len(e, IaKind::Pd),
            ReplyContainer::Empty => 0,
        }
}

fn echo_len(e: &ItemEcho, kind: IaKind) -> usize {
    let fixed = match kind {
        IaKind::Na => tandem_wire::IaAddr::FIXED_LEN,
        IaKind::Pd => tandem_wire::IaPrefix::FIXED_LEN,
    };
    let times = [e.state_expiration_time, e.partner_lifetime_sent]
        .iter()
        .filter(|t| t.is_some())
        .count();
    let status = if e.binding_status.is_some() {
        STATUS_OPT
    } else {
        0
    };
    OPT + fixed + status + times * TIME_OPT
}

fn invalid(field: &'static str) -> EncodeError {
    EncodeError::InvalidField { field }
}

/// Writes `reply` as a framed BNDREPLY with the update's `xid` at the start of `buf`
/// (RFC 8156 §7.6). Refuses a DUID over [`MAX_DUID_LEN`], an IA_NA item whose prefix length is
/// not 128 and a prefix length over 128.
pub fn encode_bndreply(
    reply: &BindingReply,
    xid: Xid,
    sent: FoTime,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    validate(reply)?;
    let mut fw = FailoverWriter::new(buf, MessageType::BndReply, xid, Some(FailoverTime(sent.0)))?;
    let w = fw.writer();
    match &reply.container {
        ReplyContainer::Client { duid, ias } => {
            let cd = w.begin_option(OptionCode::ClientData)?;
            if !duid.is_empty() {
                w.option(OptionCode::ClientId, duid)?;
            }
            write_status(w, reply.status)?;
            for ia in ias {
                write_ia(w, ia)?;
            }
            w.end_option(cd)?;
        }
        ReplyContainer::Prefix(e) => write_echo(w, e, IaKind::Pd, reply.status)?,
        ReplyContainer::Empty => write_status(w, reply.status)?,
    }
    Ok(fw.finish()?)
}

fn validate(reply: &BindingReply) -> Result<(), EncodeError> {
    let plen_ok = |e: &ItemEcho, kind| match kind {
        IaKind::Na => e.prefix_len == 128,
        IaKind::Pd => e.prefix_len <= 128,
    };
    match &reply.container {
        ReplyContainer::Client { duid, ias } => {
            if duid.len() > MAX_DUID_LEN {
                return Err(invalid("duid"));
            }
            for ia in ias {
                if !ia.items.iter().all(|i| plen_ok(&i.echo, ia.kind)) {
                    return Err(invalid("prefix_len"));
                }
            }
        }
        ReplyContainer::Prefix(e) if !plen_ok(e, IaKind::Pd) => return Err(invalid("prefix_len")),
        ReplyContainer::Prefix(_) | ReplyContainer::Empty => {}
    }
    Ok(())
}

fn write_status(w: &mut Writer<'_>, s: Option<StatusCode>) -> Result<(), EncodeError> {
    if let Some(s) = s {
        w.status_code(s, "")?;
    }
    Ok(())
}

fn write_ia(w: &mut Writer<'_>, ia: &IaReply) -> Result<(), EncodeError> {
    let code = match ia.kind {
        IaKind::Na => OptionCode::IaNa,
        IaKind::Pd => OptionCode::IaPd,
    };
    let m = w.begin_option(code)?;
    w.u32(ia.iaid)?;
    w.u32(ia.t1_s)?;
    w.u32(ia.t2_s)?;
    write_status(w, ia.status)?;
    for i in &ia.items {
        write_echo(w, &i.echo, ia.kind, i.status)?;
    }
    w.end_option(m)?;
    Ok(())
}

fn write_echo(
    w: &mut Writer<'_>,
    e: &ItemEcho,
    kind: IaKind,
    status: Option<StatusCode>,
) -> Result<(), EncodeError> {
    let m = w.begin_option(item_code(kind))?;
    write_fixed(w, kind, e.fixed())?;
    write_status(w, status)?;
    if let Some(b) = e.binding_status {
        w.option_u8(OptionCode::FBindingStatus, b.wire_value())?;
    }
    if let Some(t) = e.state_expiration_time {
        w.option_u32(OptionCode::FStateExpirationTime, t.0)?;
    }
    if let Some(t) = e.partner_lifetime_sent {
        w.option_u32(OptionCode::FPartnerLifetimeSent, t.0)?;
    }
    w.end_option(m)?;
    Ok(())
}

/// The whole-update rejection answering a BNDUPD that [`super::decode_bndupd`] refused with
/// `status` (RFC 8156 §7.6): it mirrors whatever container `msg` has — CLIENT_DATA with its
/// CLIENTID (left out if unusable), the top-level IAPREFIX with the echoes that parse — or is
/// [`ReplyContainer::Empty`].
pub fn reject_reply(msg: &FailoverMessage<'_>, status: StatusCode) -> BindingReply {
    let o = msg.options();
    let container = if let Some(cd) = o.find(OptionCode::ClientData) {
        let duid = ClientData::parse(cd)
            .ok()
            .and_then(|cd| cd.options().find(OptionCode::ClientId))
            .filter(|d| d.len() <= MAX_DUID_LEN)
            .unwrap_or_default();
        ReplyContainer::Client {
            duid: duid.into(),
            ias: Vec::new(),
        }
    } else if let Some(Ok((f, inner))) = o
        .find(OptionCode::IaPrefix)
        .map(|p| fixed_part(IaKind::Pd, p))
    {
        let time = |code| {
            inner
                .find(code)
                .and_then(|d| FailoverTime::parse(d).ok())
                .map(|t| FoTime(t.0))
        };
        ReplyContainer::Prefix(ItemEcho {
            addr: f.addr,
            prefix_len: f.prefix_len,
            preferred_s: f.preferred_s,
            valid_s: f.valid_s,
            binding_status: match inner.find(OptionCode::FBindingStatus) {
                Some(&[v]) => BindingStatus::from_wire(v).ok(),
                _ => None,
            },
            state_expiration_time: time(OptionCode::FStateExpirationTime),
            partner_lifetime_sent: time(OptionCode::FPartnerLifetime),
        })
    } else {
        ReplyContainer::Empty
    };
    BindingReply {
        status: Some(status),
        container,
    }
}

fn bad(code: OptionCode) -> PeerMisbehaved {
    PeerMisbehaved::BadOption(u16::from(code))
}

/// A singleton option of an area, malformed if repeated.
fn single(o: Options<'_>, code: OptionCode) -> Result<Option<&[u8]>, PeerMisbehaved> {
    match o.count(code) {
        0 => Ok(None),
        1 => Ok(o.find(code)),
        _ => Err(bad(code)),
    }
}

fn status(o: Options<'_>) -> Result<Option<StatusCode>, PeerMisbehaved> {
    match single(o, OptionCode::StatusCode)? {
        None => Ok(None),
        Some(&[a, b, ..]) => Ok(Some(StatusCode::from(u16::from_be_bytes([a, b])))),
        Some(_) => Err(bad(OptionCode::StatusCode)),
    }
}

fn time(o: Options<'_>, code: OptionCode) -> Result<Option<FoTime>, PeerMisbehaved> {
    single(o, code)?
        .map(|d| {
            FailoverTime::parse(d)
                .map(|t| FoTime(t.0))
                .map_err(|_| bad(code))
        })
        .transpose()
}

/// An item echo and its status.
fn decode_echo(kind: IaKind, data: &[u8]) -> Result<ItemReply, PeerMisbehaved> {
    let (f, o) = fixed_part(kind, data).map_err(|_| bad(item_code(kind)))?;
    let binding_status = match single(o, OptionCode::FBindingStatus)? {
        None => None,
        Some(&[v]) => Some(BindingStatus::from_wire(v)?),
        Some(_) => return Err(bad(OptionCode::FBindingStatus)),
    };
    Ok(ItemReply {
        echo: ItemEcho {
            addr: f.addr,
            prefix_len: f.prefix_len,
            preferred_s: f.preferred_s,
            valid_s: f.valid_s,
            binding_status,
            state_expiration_time: time(o, OptionCode::FStateExpirationTime)?,
            partner_lifetime_sent: time(o, OptionCode::FPartnerLifetimeSent)?,
        },
        status: status(o)?,
    })
}

/// Decodes a received BNDREPLY (RFC 8156 §7.6), checked only against itself: one container
/// (or none, with a message-level status), bounded like a BNDUPD, every accepted item with
/// its F_BINDING_STATUS echo. Unknown options are skipped (R4).
pub fn decode_bndreply(msg: &FailoverMessage<'_>) -> Result<BindingReply, PeerMisbehaved> {
    if msg.msg_type() != MessageType::BndReply {
        return Err(PeerMisbehaved::UnexpectedMessage(u8::from(msg.msg_type())));
    }
    let o = msg.options();
    let cd = single(o, OptionCode::ClientData)?;
    let prefix = single(o, OptionCode::IaPrefix)?;
    let reply = match (cd, prefix) {
        (Some(cd), None) => decode_client_reply(cd)?,
        (None, Some(p)) => {
            let item = decode_echo(IaKind::Pd, p)?;
            BindingReply {
                status: item.status,
                container: ReplyContainer::Prefix(item.echo),
            }
        }
        (None, None) => BindingReply {
            status: status(o)?,
            container: ReplyContainer::Empty,
        },
        (Some(_), Some(_)) => return Err(bad(OptionCode::IaPrefix)),
    };
    if reply
        .items()
        .any(|(s, e)| s.is_none() && e.binding_status.is_none())
    {
        return Err(PeerMisbehaved::MissingOption(u16::from(
            OptionCode::FBindingStatus,
        )));
    }
    Ok(reply)
}

fn decode_client_reply(data: &[u8]) -> Result<BindingReply, PeerMisbehaved> {
    let cd_code = OptionCode::ClientData;
    let o = ClientData::parse(data).map_err(|_| bad(cd_code))?.options();
    let duid = single(o, OptionCode::ClientId)?.unwrap_or_default();
    if duid.len() > MAX_DUID_LEN {
        return Err(bad(OptionCode::ClientId));
    }
    let mut ias = Vec::new();
    let mut items_left = MAX_ITEMS_PER_UPDATE;
    for opt in o {
        let (kind, iaid, t1_s, t2_s, inner) = match opt.code {
            OptionCode::IaNa => {
                let ia = IaNa::parse(opt.data).map_err(|_| bad(opt.code))?;
                (IaKind::Na, ia.iaid(), ia.t1(), ia.t2(), ia.options())
            }
            OptionCode::IaPd => {
                let ia = IaPd::parse(opt.data).map_err(|_| bad(opt.code))?;
                (IaKind::Pd, ia.iaid(), ia.t1(), ia.t2(), ia.options())
            }
            _ => continue,
        };
        if ias.len() == MAX_IAS_PER_UPDATE {
            return Err(bad(cd_code));
        }
        let code = item_code(kind);
        let n = inner.count(code);
        items_left = items_left.checked_sub(n).ok_or(bad(cd_code))?;
        let mut items = Vec::with_capacity(n);
        for i in inner.iter().filter(|i| i.code == code) {
            items.push(decode_echo(kind, i.data)?);
        }
        ias.push(IaReply {
            kind,
            iaid,
            t1_s,
            t2_s,
            status: status(inner)?,
            items,
        });
    }
    Ok(BindingReply {
        status: status(o)?,
        container: ReplyContainer::Client {
            duid: duid.into(),
            ias,
        },
    })
}
