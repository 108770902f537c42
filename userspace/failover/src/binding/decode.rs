//! Reading a received BNDUPD into a [`BindingUpdate`] (RFC 8156 §7.4, §7.5 step 1–2; R4, R33,
//! R35).
//!
//! Unknown options, and known ones we do not model (F_RECONFIGURE_DATA, LQ_RELAY_DATA,
//! CLIENT_FQDN, F_DNS_REMOVAL_INFO, STATUS_CODE), are skipped (R4). CLT_TIME and
//! F_PARTNER_RAW_CLT_TIME inside a top-level IAPREFIX are skipped too: it has no client.
//! Failover options are singletons (protocol.md §1.4): a repeated one is malformed.

use tandem_wire::failover::{ClientData, FailoverMessage, FailoverTime};
use tandem_wire::{parse_u32, IaAddr, IaNa, IaPd, IaPrefix, MessageType, OptionCode, Options};

use super::encode::Fixed;
use super::error::{bad, missing, UpdateError};
use super::model::{
    check_timeout_fields, BindingItem, BindingUpdate, ClientBinding, IaBinding, IaKind,
    MAX_DUID_LEN, MAX_IAS_PER_UPDATE, MAX_ITEMS_PER_UPDATE,
};
use crate::conflict::BindingStatus;
use crate::error::PeerMisbehaved;
use crate::time::FoTime;

/// Decodes a received BNDUPD (RFC 8156 §7.4). The error says how to answer
/// ([`UpdateError::status_code`]); [`super::reject_reply`] builds that answer.
pub fn decode_bndupd(msg: &FailoverMessage<'_>) -> Result<BindingUpdate, UpdateError> {
    if msg.msg_type() != MessageType::BndUpd {
        return Err(PeerMisbehaved::UnexpectedMessage(u8::from(msg.msg_type())).into());
    }
    let o = msg.options();
    reject_vss(o)?;
    let clients = o.count(OptionCode::ClientData);
    let prefixes = o.count(OptionCode::IaPrefix);
    match (
        clients,
        prefixes,
        o.find(OptionCode::ClientData),
        o.find(OptionCode::IaPrefix),
    ) {
        (1, 0, Some(cd), _) => decode_client(cd).map(BindingUpdate::Client),
        (0, 1, _, Some(p)) => decode_top_prefix(p),
        _ => Err(missing("exactly one OPTION_CLIENT_DATA or OPTION_IAPREFIX")),
    }
}

/// OPTION_VSS anywhere we look: tandem has no VPNs (RFC 8156 §7.5; R35).
fn reject_vss(o: Options<'_>) -> Result<(), UpdateError> {
    if o.find(OptionCode::Vss).is_some() {
        return Err(UpdateError::ConfigurationConflict {
            option: u16::from(OptionCode::Vss),
        });
    }
    Ok(())
}

/// Stores `value` in an empty singleton slot; a second occurrence is malformed.
fn once<T>(slot: &mut Option<T>, value: T, code: OptionCode) -> Result<(), UpdateError> {
    if slot.is_some() {
        return Err(bad(u16::from(code)));
    }
    *slot = Some(value);
    Ok(())
}

fn time(data: &[u8], code: OptionCode) -> Result<FoTime, UpdateError> {
    FailoverTime::parse(data)
        .map(|t| FoTime(t.0))
        .map_err(|_| bad(u16::from(code)))
}

fn decode_client(data: &[u8]) -> Result<ClientBinding, UpdateError> {
    let cd = ClientData::parse(data).map_err(|_| bad(u16::from(OptionCode::ClientData)))?;
    let o = cd.options();
    reject_vss(o)?;
    let mut duid = None;
    let mut base = None;
    let mut ia_count = 0usize;
    for opt in o {
        match opt.code {
            OptionCode::ClientId => once(&mut duid, opt.data, opt.code)?,
            OptionCode::LqBaseTime => once(&mut base, time(opt.data, opt.code)?, opt.code)?,
            OptionCode::IaTa => {
                return Err(UpdateError::ConfigurationConflict {
                    option: u16::from(OptionCode::IaTa),
                })
            }
            OptionCode::IaNa | OptionCode::IaPd => ia_count += 1,
            _ => {}
        }
    }
    let duid = duid.ok_or(missing("OPTION_CLIENTID"))?;
    if duid.is_empty() {
        return Err(missing("OPTION_CLIENTID"));
    }
    if duid.len() > MAX_DUID_LEN {
        return Err(UpdateError::TooLarge {
            what: "OPTION_CLIENTID",
            max: MAX_DUID_LEN,
        });
    }
    let base = base.ok_or(missing("OPTION_LQ_BASE_TIME"))?;
    if ia_count == 0 {
        return Err(missing("OPTION_IA_NA or OPTION_IA_PD"));
    }
    if ia_count > MAX_IAS_PER_UPDATE {
        return Err(UpdateError::TooLarge {
            what: "IA options",
            max: MAX_IAS_PER_UPDATE,
        });
    }
    let mut ias = Vec::with_capacity(ia_count);
    let mut items_left = MAX_ITEMS_PER_UPDATE;
    for opt in o {
        let (kind, iaid, t1_s, t2_s, inner) = match opt.code {
            OptionCode::IaNa => {
                let ia = IaNa::parse(opt.data).map_err(|_| bad(u16::from(opt.code)))?;
                (IaKind::Na, ia.iaid(), ia.t1(), ia.t2(), ia.options())
            }
            OptionCode::IaPd => {
                let ia = IaPd::parse(opt.data).map_err(|_| bad(u16::from(opt.code)))?;
                (IaKind::Pd, ia.iaid(), ia.t1(), ia.t2(), ia.options())
            }
            _ => continue,
        };
        let items = decode_ia_items(kind, inner, base, &mut items_left)?;
        ias.push(IaBinding {
            kind,
            iaid,
            t1_s,
            t2_s,
            items,
        });
    }
    Ok(ClientBinding {
        duid: duid.into(),
        base_time: base,
        ias,
    })
}

fn decode_ia_items(
    kind: IaKind,
    o: Options<'_>,
    base: FoTime,
    items_left: &mut usize,
) -> Result<Vec<BindingItem>, UpdateError> {
    let code = match kind {
        IaKind::Na => OptionCode::IaAddr,
        IaKind::Pd => OptionCode::IaPrefix,
    };
    let n = o.count(code);
    if n == 0 {
        return Err(missing(match kind {
            IaKind::Na => "OPTION_IAADDR",
            IaKind::Pd => "OPTION_IAPREFIX",
        }));
    }
    *items_left = items_left.checked_sub(n).ok_or(UpdateError::TooLarge {
        what: "IAADDR / IAPREFIX options",
        max: MAX_ITEMS_PER_UPDATE,
    })?;
    let mut items = Vec::with_capacity(n);
    for opt in o.iter().filter(|opt| opt.code == code) {
        let (fixed, inner) = fixed_part(kind, opt.data)?;
        items.push(decode_item(fixed, inner, base, false)?);
    }
    Ok(items)
}

/// The fixed part of an IAADDR / IAPREFIX and its sub-options.
/// A prefix length over 128 is malformed.
pub(crate) fn fixed_part(kind: IaKind, data: &[u8]) -> Result<(Fixed, Options<'_>), UpdateError> {
    match kind {
        IaKind::Na => {
            let a = IaAddr::parse(data).map_err(|_| bad(u16::from(OptionCode::IaAddr)))?;
            let f = Fixed {
                addr: a.addr(),
                prefix_len: 128,
                preferred_s: a.preferred(),
                valid_s: a.valid(),
            };
            Ok((f, a.options()))
        }
        IaKind::Pd => {
            let code = u16::from(OptionCode::IaPrefix);
            let p = IaPrefix::parse(data).map_err(|_| bad(code))?;
            if p.prefix_len() > 128 {
                return Err(bad(code));
            }
            let f = Fixed {
                addr: p.prefix(),
                prefix_len: p.prefix_len(),
                preferred_s: p.preferred(),
                valid_s: p.valid(),
            };
            Ok((f, p.options()))
        }
    }
}

fn decode_top_prefix(data: &[u8]) -> Result<BindingUpdate, UpdateError> {
    let (fixed, o) = fixed_part(IaKind::Pd, data)?;
    reject_vss(o)?;
    let mut base = None;
    for opt in o.iter().filter(|opt| opt.code == OptionCode::LqBaseTime) {
        once(&mut base, time(opt.data, opt.code)?, opt.code)?;
    }
    let base_time = base.ok_or(missing("OPTION_LQ_BASE_TIME"))?;
    let item = decode_item(fixed, o, base_time, true)?;
    // ACTIVE MUST carry client data (RFC 8156 §7.4; protocol.md §1.9).
    if item.status == BindingStatus::Active {
        return Err(missing("OPTION_CLIENT_DATA"));
    }
    Ok(BindingUpdate::Prefix { base_time, item })
}

fn decode_item(
    f: Fixed,
    o: Options<'_>,
    base: FoTime,
    top_level: bool,
) -> Result<BindingItem, UpdateError> {
    let mut status = None;
    let mut start = None;
    let mut state_exp = None;
    let mut clt = None;
    let mut partner_lifetime = None;
    let mut raw_clt = None;
    let mut expiration = None;
    for opt in o {
        let c = opt.code;
        match c {
            OptionCode::FBindingStatus => {
                let &[v] = opt.data else {
                    return Err(bad(u16::from(c)));
                };
                once(&mut status, BindingStatus::from_wire(v)?, c)?;
            }
            OptionCode::FStartTimeOfState => once(&mut start, time(opt.data, c)?, c)?,
            OptionCode::FStateExpirationTime => once(&mut state_exp, time(opt.data, c)?, c)?,
            OptionCode::FPartnerLifetime => once(&mut partner_lifetime, time(opt.data, c)?, c)?,
            OptionCode::FExpirationTime => once(&mut expiration, time(opt.data, c)?, c)?,
            OptionCode::CltTime if !top_level => {
                let rel = parse_u32(opt.data).map_err(|_| bad(u16::from(c)))?;
                // More than 68 years ago is nonsense and would not survive the wrap-aware
                // comparison of FoTime.
                if rel > i32::MAX as u32 {
                    return Err(bad(u16::from(c)));
                }
                once(&mut clt, FoTime(base.0.wrapping_sub(rel)), c)?;
            }
            OptionCode::FPartnerRawCltTime if !top_level => {
                once(&mut raw_clt, time(opt.data, c)?, c)?;
            }
            OptionCode::Vss => {
                return Err(UpdateError::ConfigurationConflict {
                    option: u16::from(c),
                })
            }
            _ => {}
        }
    }
    let item = BindingItem {
        addr: f.addr,
        prefix_len: f.prefix_len,
        preferred_s: f.preferred_s,
        valid_s: f.valid_s,
        status: status.ok_or(missing("OPTION_F_BINDING_STATUS"))?,
        start_time_of_state: start.ok_or(missing("OPTION_F_START_TIME_OF_STATE"))?,
        state_expiration_time: state_exp,
        clt_time: clt,
        partner_lifetime,
        partner_raw_clt_time: raw_clt,
        expiration_time: expiration,
    };
    check_timeout_fields(&item).map_err(|v| {
        if v.present {
            UpdateError::UnexpectedOption { field: v.field }
        } else {
            missing(v.field)
        }
    })?;
    Ok(item)
}
