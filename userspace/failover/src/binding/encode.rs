//! Writing a BNDUPD into a caller buffer (RFC 8156 §7.4; protocol.md §1.12; R33, R34).
//!
//! Option order inside each IAADDR / IAPREFIX follows the RFC's list: F_BINDING_STATUS,
//! F_START_TIME_OF_STATE, F_STATE_EXPIRATION_TIME, OPTION_CLT_TIME, F_PARTNER_LIFETIME,
//! F_PARTNER_RAW_CLT_TIME, F_EXPIRATION_TIME. A top-level IAPREFIX starts with LQ_BASE_TIME.

use tandem_wire::failover::{FailoverTime, FailoverWriter};
use tandem_wire::{IaAddr, IaNa, IaPrefix, MessageType, OptionCode, Writer, Xid};

use super::error::EncodeError;
use super::model::{
    check_timeout_fields, BindingItem, BindingUpdate, ClientBinding, IaKind, MAX_DUID_LEN,
    MAX_IAS_PER_UPDATE, MAX_ITEMS_PER_UPDATE,
};
use crate::conflict::BindingStatus;
use crate::time::FoTime;

/// Length prefix plus failover header.
pub(crate) const FRAME_OVERHEAD: usize = 2 + 8;
/// An option header.
pub(crate) const OPT: usize = 4;
/// A whole option carrying one u32 / absolute time.
pub(crate) const TIME_OPT: usize = OPT + 4;
/// A whole F_BINDING_STATUS option.
pub(crate) const STATUS_OPT: usize = OPT + 1;

/// Octets [`encode_bndupd`] writes for `update`, length prefix included.
pub fn encoded_len(update: &BindingUpdate) -> usize {
    FRAME_OVERHEAD
        + match update {
            BindingUpdate::Client(c) => client_len(c),
            BindingUpdate::Prefix { item, .. } => TIME_OPT + item_len(item, IaKind::Pd),
        }
}

/// Writes `update` as a framed BNDUPD (2-octet length, 8-octet header with `xid` and `sent`,
/// options) at the start of `buf` and returns its length (RFC 8156 §7.4).
///
/// Checks the update first and names the first field that breaks a §7.4 rule:
/// [`timeout`](super::timeout) options (R33), an IA_NA item with a prefix length other than
/// 128, a prefix length over 128, an empty DUID or IA list, a CLT time later than the base
/// time, client fields or ACTIVE in a top-level IAPREFIX, or more than the decoder limits.
pub fn encode_bndupd(
    update: &BindingUpdate,
    xid: Xid,
    sent: FoTime,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    validate(update)?;
    let mut fw = FailoverWriter::new(buf, MessageType::BndUpd, xid, Some(FailoverTime(sent.0)))?;
    let w = fw.writer();
    match update {
        BindingUpdate::Client(c) => {
            let cd = w.begin_option(OptionCode::ClientData)?;
            w.option(OptionCode::ClientId, &c.duid)?;
            w.option_u32(OptionCode::LqBaseTime, c.base_time.0)?;
            for ia in &c.ias {
                let code = match ia.kind {
                    IaKind::Na => OptionCode::IaNa,
                    IaKind::Pd => OptionCode::IaPd,
                };
                let m = w.begin_option(code)?;
                w.u32(ia.iaid)?;
                w.u32(ia.t1_s)?;
                w.u32(ia.t2_s)?;
                for item in &ia.items {
                    write_item(w, item, ia.kind, None, c.base_time)?;
                }
                w.end_option(m)?;
            }
            w.end_option(cd)?;
        }
        BindingUpdate::Prefix { base_time, item } => {
            write_item(w, item, IaKind::Pd, Some(*base_time), *base_time)?;
        }
    }
    Ok(fw.finish()?)
}

/// The fixed part of an IAADDR / IAPREFIX: address or prefix, length, lifetimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fixed {
    pub(crate) addr: std::net::Ipv6Addr,
    pub(crate) prefix_len: u8,
    pub(crate) preferred_s: u32,
    pub(crate) valid_s: u32,
}

impl Fixed {
    pub(crate) fn of(item: &BindingItem) -> Self {
        Self {
            addr: item.addr,
            prefix_len: item.prefix_len,
            preferred_s: item.preferred_s,
            valid_s: item.valid_s,
        }
    }
}

/// Writes the fixed part of an IAADDR (`Na`) or IAPREFIX (`Pd`) after its option header
/// (RFC 8415 §21.6, §21.22).
pub(crate) fn write_fixed(w: &mut Writer<'_>, kind: IaKind, f: Fixed) -> Result<(), EncodeError> {
    match kind {
        IaKind::Na => {
            w.ipv6(f.addr)?;
            w.u32(f.preferred_s)?;
            w.u32(f.valid_s)?;
        }
        IaKind::Pd => {
            w.u32(f.preferred_s)?;
            w.u32(f.valid_s)?;
            w.u8(f.prefix_len)?;
            w.ipv6(f.addr)?;
        }
    }
    Ok(())
}

/// The option code of an item of `kind`.
pub(crate) fn item_code(kind: IaKind) -> OptionCode {
    match kind {
        IaKind::Na => OptionCode::IaAddr,
        IaKind::Pd => OptionCode::IaPrefix,
    }
}

fn write_item(
    w: &mut Writer<'_>,
    item: &BindingItem,
    kind: IaKind,
    top_level_base: Option<FoTime>,
    base: FoTime,
) -> Result<(), EncodeError> {
    let m = w.begin_option(item_code(kind))?;
    write_fixed(w, kind, Fixed::of(item))?;
    if let Some(b) = top_level_base {
        w.option_u32(OptionCode::LqBaseTime, b.0)?;
    }
    w.option_u8(OptionCode::FBindingStatus, item.status.wire_value())?;
    w.option_u32(OptionCode::FStartTimeOfState, item.start_time_of_state.0)?;
    let clt_rel = item.clt_time.map(|clt| base.0.wrapping_sub(clt.0));
    let times = [
        (
            OptionCode::FStateExpirationTime,
            item.state_expiration_time.map(|t| t.0),
        ),
        (OptionCode::CltTime, clt_rel),
        (
            OptionCode::FPartnerLifetime,
            item.partner_lifetime.map(|t| t.0),
        ),
        (
            OptionCode::FPartnerRawCltTime,
            item.partner_raw_clt_time.map(|t| t.0),
        ),
        (
            OptionCode::FExpirationTime,
            item.expiration_time.map(|t| t.0),
        ),
    ];
    for (code, value) in times {
        if let Some(v) = value {
            w.option_u32(code, v)?;
        }
    }
    w.end_option(m)?;
    Ok(())
}

fn client_len(c: &ClientBinding) -> usize {
    let ias: usize = c
        .ias
        .iter()
        .map(|ia| {
            let items: usize = ia.items.iter().map(|i| item_len(i, ia.kind)).sum();
            OPT + IaNa::FIXED_LEN + items
        })
        .sum();
    OPT + (OPT + c.duid.len()) + TIME_OPT + ias
}

/// Length of one IAADDR / IAPREFIX option without a top-level LQ_BASE_TIME.
fn item_len(item: &BindingItem, kind: IaKind) -> usize {
    let fixed = match kind {
        IaKind::Na => IaAddr::FIXED_LEN,
        IaKind::Pd => IaPrefix::FIXED_LEN,
    };
    let optional = [
        item.state_expiration_time,
        item.clt_time,
        item.partner_lifetime,
        item.partner_raw_clt_time,
        item.expiration_time,
    ]
    .iter()
    .filter(|t| t.is_some())
    .count();
    OPT + fixed + STATUS_OPT + TIME_OPT + optional * TIME_OPT
}

fn invalid(field: &'static str) -> EncodeError {
    EncodeError::InvalidField { field }
}

/// The §7.4 rules an update must meet before it is written (R33).
fn validate(update: &BindingUpdate) -> Result<(), EncodeError> {
    match update {
        BindingUpdate::Client(c) => {
            if c.duid.is_empty() || c.duid.len() > MAX_DUID_LEN {
                return Err(invalid("duid"));
            }
            if c.ias.is_empty() || c.ias.len() > MAX_IAS_PER_UPDATE {
                return Err(invalid("ias"));
            }
            if update.item_count() > MAX_ITEMS_PER_UPDATE {
                return Err(invalid("items"));
            }
            for ia in &c.ias {
                if ia.items.is_empty() {
                    return Err(invalid("items"));
                }
                for item in &ia.items {
                    validate_item(item, ia.kind)?;
                    if item.clt_time.is_some_and(|clt| c.base_time.since(clt) < 0) {
                        return Err(invalid("clt_time"));
                    }
                }
            }
        }
        BindingUpdate::Prefix { item, .. } => {
            validate_item(item, IaKind::Pd)?;
            if item.clt_time.is_some() {
                return Err(invalid("clt_time"));
            }
            if item.partner_raw_clt_time.is_some() {
                return Err(invalid("partner_raw_clt_time"));
            }
            // ACTIVE MUST carry client data (RFC 8156 §7.4; protocol.md §1.9).
            if item.status == BindingStatus::Active {
                return Err(invalid("status"));
            }
        }
    }
    Ok(())
}

fn validate_item(item: &BindingItem, kind: IaKind) -> Result<(), EncodeError> {
    let plen_ok = match kind {
        IaKind::Na => item.prefix_len == 128,
        IaKind::Pd => item.prefix_len <= 128,
    };
    if !plen_ok {
        return Err(invalid("prefix_len"));
    }
    check_timeout_fields(item).map_err(|v| invalid(v.field))
}
