//! One bounded pass over a client message's options: identifiers, ORO wishes, IAs with their
//! hints, and the hostile-input checks that need no state (house style §9).
//!
//! Limits: at most [`IA_PER_TYPE_MAX`] IA_NA, IA_TA and IA_PD options each (more is
//! `too_many_ias`); at most [`HINTS_PER_IA_MAX`] IAADDR/IAPREFIX options of one IA are
//! considered, the rest are ignored. Singleton options (RFC 8415 §24 "Singleton" column) that
//! appear twice are `duplicate_option`. Unknown options are ignored [RFC 8415 §16].

use std::net::Ipv6Addr;

use tandem_wire::{ClientFqdn, IaAddr, IaNa, IaPd, IaPrefix, IaTa, OptionCode, Options, Oro};

use crate::compile::DUID_LEN_MAX;
use crate::fixed::FixedVec;
use crate::DropReason;

/// Most IAs of one type (IA_NA, IA_TA, IA_PD) a message may carry.
pub(crate) const IA_PER_TYPE_MAX: usize = 16;
/// Most IAs of all types in one message.
pub(crate) const IAS_MAX: usize = 3 * IA_PER_TYPE_MAX;
/// Most IAADDR / IAPREFIX options of one IA that are considered.
pub(crate) const HINTS_PER_IA_MAX: usize = 8;

/// The three IA option types [RFC 8415 §21.4, §21.5, §21.21].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IaType {
    Na,
    Ta,
    Pd,
}

/// An address (prefix_len 128) or a prefix the client named inside an IA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hint {
    pub(crate) addr: Ipv6Addr,
    pub(crate) prefix_len: u8,
}

impl Hint {
    /// `::` (IAADDR) or `::/len` (IAPREFIX, a bare length hint [RFC 8415 §18.2.1]).
    pub(crate) fn is_unspecified(&self) -> bool {
        self.addr.is_unspecified()
    }
}

/// One IA of the client message.
#[derive(Debug, Clone)]
pub(crate) struct IaRequest {
    pub(crate) ty: IaType,
    pub(crate) iaid: u32,
    /// Position among the IAs of the same type (reservations go to the first ones).
    pub(crate) index: usize,
    pub(crate) hints: FixedVec<Hint, HINTS_PER_IA_MAX>,
}

/// ORO entries the engine can answer [RFC 8415 §21.7].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wants {
    pub(crate) dns_servers: bool,
    pub(crate) domain_list: bool,
    pub(crate) sol_max_rt: bool,
    pub(crate) information_refresh_time: bool,
    pub(crate) client_fqdn: bool,
}

/// What the engine needs from a client message, borrowed from the packet.
#[derive(Clone)]
pub(crate) struct Scan<'a> {
    pub(crate) client_id: Option<&'a [u8]>,
    pub(crate) server_id: Option<&'a [u8]>,
    pub(crate) wants: Wants,
    pub(crate) rapid_commit: bool,
    /// OPTION_CLIENT_FQDN (flags, domain name) when present and well formed [RFC 4704].
    pub(crate) fqdn: Option<(u8, &'a [u8])>,
    pub(crate) ias: FixedVec<IaRequest, IAS_MAX>,
}

impl Scan<'_> {
    pub(crate) fn has_ia(&self) -> bool {
        !self.ias.is_empty()
    }
}

/// Scans `options` (a client message's option area) once.
pub(crate) fn scan(options: Options<'_>) -> Result<Scan<'_>, DropReason> {
    let mut s = Scan {
        client_id: None,
        server_id: None,
        wants: Wants::default(),
        rapid_commit: false,
        fqdn: None,
        ias: FixedVec::new(),
    };
    let mut seen_singletons: u32 = 0;
    let mut counts = [0usize; 3];
    for opt in options.iter() {
        let code = u16::from(opt.code);
        if let Some(bit) = singleton_bit(code) {
            if seen_singletons & (1 << bit) != 0 {
                return Err(DropReason::DuplicateOption);
            }
            seen_singletons |= 1 << bit;
        }
        match opt.code {
            OptionCode::ClientId => s.client_id = Some(check_duid(opt.data)?),
            OptionCode::ServerId => s.server_id = Some(check_duid(opt.data)?),
            OptionCode::Oro => s.wants = wants(opt.data)?,
            OptionCode::ElapsedTime if opt.data.len() != 2 => return Err(DropReason::Malformed),
            OptionCode::RapidCommit if !opt.data.is_empty() => return Err(DropReason::Malformed),
            OptionCode::RapidCommit => s.rapid_commit = true,
            OptionCode::ClientFqdn => {
                // A malformed FQDN is ignored like an unknown option: it only decides whether
                // an FQDN answer is sent.
                s.fqdn = ClientFqdn::parse(opt.data)
                    .ok()
                    .map(|f| (f.flags(), f.domain_name()));
            }
            OptionCode::IaNa | OptionCode::IaTa | OptionCode::IaPd => {
                let ia = parse_ia(opt.code, opt.data)?;
                let slot = match ia.ty {
                    IaType::Na => 0,
                    IaType::Ta => 1,
                    IaType::Pd => 2,
                };
                if counts[slot] == IA_PER_TYPE_MAX {
                    return Err(DropReason::TooManyIas);
                }
                if s.ias.iter().any(|o| o.ty == ia.ty && o.iaid == ia.iaid) {
                    return Err(DropReason::DuplicateIaid);
                }
                let mut ia = ia;
                ia.index = counts[slot];
                counts[slot] += 1;
                // Capacity is 3 × IA_PER_TYPE_MAX and each type is capped above.
                s.ias.push(ia);
            }
            _ => {}
        }
    }
    Ok(s)
}

/// Bit index of an option that may appear at most once in a client message.
pub(crate) fn singleton_bit(code: u16) -> Option<u32> {
    Some(match code {
        1 => 0,   // CLIENTID
        2 => 1,   // SERVERID
        6 => 2,   // ORO
        7 => 3,   // PREFERENCE
        8 => 4,   // ELAPSED_TIME
        9 => 5,   // RELAY_MSG
        11 => 6,  // AUTH
        12 => 7,  // UNICAST
        13 => 8,  // STATUS_CODE
        14 => 9,  // RAPID_COMMIT
        19 => 10, // RECONF_MSG
        20 => 11, // RECONF_ACCEPT
        32 => 12, // INFORMATION_REFRESH_TIME
        39 => 13, // CLIENT_FQDN
        82 => 14, // SOL_MAX_RT
        83 => 15, // INF_MAX_RT
        18 => 16, // INTERFACE_ID (relay layers)
        _ => return None,
    })
}

/// A DUID is 1..=130 octets [RFC 8415 §11.1]; compared as opaque bytes, never parsed.
fn check_duid(data: &[u8]) -> Result<&[u8], DropReason> {
    if data.is_empty() || data.len() > DUID_LEN_MAX {
        return Err(DropReason::BadDuidLength);
    }
    Ok(data)
}

fn wants(data: &[u8]) -> Result<Wants, DropReason> {
    let oro = Oro::parse(data).map_err(|_| DropReason::Malformed)?;
    let mut w = Wants::default();
    for code in oro.iter() {
        match code {
            OptionCode::DnsServers => w.dns_servers = true,
            OptionCode::DomainList => w.domain_list = true,
            OptionCode::SolMaxRt => w.sol_max_rt = true,
            OptionCode::InformationRefreshTime => w.information_refresh_time = true,
            OptionCode::ClientFqdn => w.client_fqdn = true,
            _ => {}
        }
    }
    Ok(w)
}

fn parse_ia(code: OptionCode, data: &[u8]) -> Result<IaRequest, DropReason> {
    let (ty, iaid, options) = match code {
        OptionCode::IaNa => {
            let ia = IaNa::parse(data).map_err(|_| DropReason::BadIaOption)?;
            (IaType::Na, ia.iaid(), ia.options())
        }
        OptionCode::IaPd => {
            let ia = IaPd::parse(data).map_err(|_| DropReason::BadIaOption)?;
            (IaType::Pd, ia.iaid(), ia.options())
        }
        _ => {
            let ia = IaTa::parse(data).map_err(|_| DropReason::BadIaOption)?;
            (IaType::Ta, ia.iaid(), ia.options())
        }
    };
    let mut req = IaRequest {
        ty,
        iaid,
        index: 0,
        hints: FixedVec::new(),
    };
    for opt in options.iter() {
        if req.hints.is_full() {
            break;
        }
        let hint = match (ty, opt.code) {
            (IaType::Na | IaType::Ta, OptionCode::IaAddr) => {
                let a = IaAddr::parse(opt.data).map_err(|_| DropReason::BadIaOption)?;
                Hint {
                    addr: a.addr(),
                    prefix_len: 128,
                }
            }
            (IaType::Pd, OptionCode::IaPrefix) => {
                // preferred (4), valid (4), prefix-length (1), prefix (16) [RFC 8415 §21.22].
                if opt.data.get(8).is_some_and(|&len| len > 128) {
                    return Err(DropReason::BadPrefixLength);
                }
                let p = IaPrefix::parse(opt.data).map_err(|_| DropReason::BadIaOption)?;
                Hint {
                    addr: p.prefix(),
                    prefix_len: p.prefix_len(),
                }
            }
            _ => continue,
        };
        req.hints.push(hint);
    }
    Ok(req)
}

#[cfg(test)]
mod tests;
