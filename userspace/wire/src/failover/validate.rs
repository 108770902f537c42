//! Structural check of a failover message's options, down through CLIENT_DATA, the IA options,
//! IAADDR/IAPREFIX and F_DNS_REMOVAL_INFO (RFC 8156 §5, §7.4; protocol notes §1.4, §1.12).

use crate::{
    parse_u32, validate_options, IaAddr, IaNa, IaPd, IaPrefix, IaTa, OptionCode, Options,
    OptionsIter, Result,
};

use super::{
    BindingStatus, ClientData, ConnectFlags, DnsFlags, DnsName, DnsRemovalInfo, FailoverTime,
    ProtocolVersion, ReconfigureData, RelationshipName, ServerFlags, ServerState,
};

/// How many option areas deep [`validate_failover_options`] descends: message → CLIENT_DATA →
/// IA_NA → IAADDR → F_DNS_REMOVAL_INFO is 5. Deeper areas are framing-checked by their
/// parent's view but not opened.
pub const FAILOVER_NESTING_MAX: usize = 5;

/// Parses every option with a typed view: the failover options 114–134, CLIENT_DATA (45),
/// CLT_TIME (46) and LQ_BASE_TIME (100) with the views of this module, and at every level the
/// RFC 8415 options with [`validate_options`]. An explicit fixed stack, no recursion.
pub fn validate_failover_options(options: Options<'_>) -> Result<()> {
    let mut stack: [Option<OptionsIter<'_>>; FAILOVER_NESTING_MAX] =
        [const { None }; FAILOVER_NESTING_MAX];
    validate_options(options)?;
    stack[0] = Some(options.iter());
    let mut depth: usize = 1;
    // Every round consumes one option or pops one level, so the loop ends.
    while let Some(Some(iter)) = depth.checked_sub(1).and_then(|top| stack.get_mut(top)) {
        let Some(opt) = iter.next() else {
            depth -= 1;
            continue;
        };
        let Some(inner) = check_one(opt.code, opt.data)? else {
            continue;
        };
        if let Some(slot) = stack.get_mut(depth) {
            validate_options(inner)?;
            *slot = Some(inner.iter());
            depth += 1;
        }
    }
    Ok(())
}

/// Checks one option with its failover view; returns the sub-option area of containers.
fn check_one<'a>(code: OptionCode, data: &'a [u8]) -> Result<Option<Options<'a>>> {
    let leaf = match code {
        OptionCode::ClientData => return ClientData::parse(data).map(|v| Some(v.options())),
        OptionCode::FDnsRemovalInfo => {
            return DnsRemovalInfo::parse(data).map(|v| Some(v.options()))
        }
        OptionCode::IaNa => return IaNa::parse(data).map(|v| Some(v.options())),
        OptionCode::IaTa => return IaTa::parse(data).map(|v| Some(v.options())),
        OptionCode::IaPd => return IaPd::parse(data).map(|v| Some(v.options())),
        OptionCode::IaAddr => return IaAddr::parse(data).map(|v| Some(v.options())),
        OptionCode::IaPrefix => return IaPrefix::parse(data).map(|v| Some(v.options())),
        OptionCode::FBindingStatus => BindingStatus::parse(data).map(drop),
        OptionCode::FConnectFlags => ConnectFlags::parse(data).map(drop),
        OptionCode::FDnsHostName | OptionCode::FDnsZoneName => DnsName::parse(data).map(drop),
        OptionCode::FDnsFlags => DnsFlags::parse(data).map(drop),
        OptionCode::FExpirationTime
        | OptionCode::FPartnerLifetime
        | OptionCode::FPartnerLifetimeSent
        | OptionCode::FPartnerDownTime
        | OptionCode::FPartnerRawCltTime
        | OptionCode::FStartTimeOfState
        | OptionCode::FStateExpirationTime
        | OptionCode::LqBaseTime => FailoverTime::parse(data).map(drop),
        OptionCode::FMaxUnackedBndupd
        | OptionCode::FMclt
        | OptionCode::FKeepaliveTime
        | OptionCode::CltTime => parse_u32(data).map(drop),
        OptionCode::FProtocolVersion => ProtocolVersion::parse(data).map(drop),
        OptionCode::FReconfigureData => ReconfigureData::parse(data).map(drop),
        OptionCode::FRelationshipName => RelationshipName::parse(data).map(drop),
        OptionCode::FServerFlags => ServerFlags::parse(data).map(drop),
        OptionCode::FServerState => ServerState::parse(data).map(drop),
        _ => Ok(()),
    };
    leaf.map(|()| None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn area(bytes: &[u8]) -> Options<'_> {
        Options::new_checked(bytes).unwrap()
    }

    #[test]
    fn checks_every_failover_length() {
        let exact: [(u16, usize); 19] = [
            (114, 1),
            (115, 2),
            (119, 2),
            (120, 4),
            (121, 4),
            (122, 4),
            (123, 4),
            (124, 4),
            (125, 4),
            (126, 4),
            (127, 4),
            (128, 4),
            (131, 1),
            (132, 1),
            (133, 4),
            (134, 4),
            (46, 4),
            (100, 4),
            (13, 2),
        ];
        for (code, len) in exact {
            for n in 0..8usize {
                let mut bytes = vec![0, code as u8, 0, n as u8];
                bytes.resize(4 + n, 0);
                let ok = if code == 13 { n >= len } else { n == len };
                assert_eq!(
                    validate_failover_options(area(&bytes)).is_ok(),
                    ok,
                    "code {code} len {n}"
                );
            }
        }
        assert!(validate_failover_options(area(&[0, 129, 0, 4, 0, 0, 0, 0])).is_ok());
        assert!(validate_failover_options(area(&[0, 129, 0, 3, 0, 0, 0])).is_err());
        assert!(validate_failover_options(area(&[0, 130, 0, 1, 0xff])).is_ok());
        assert!(validate_failover_options(area(&[0, 117, 0, 2, 1, b'a'])).is_ok());
        assert_eq!(
            validate_failover_options(area(&[0, 118, 0, 2, 2, b'a'])),
            Err(Error::BadDomainName)
        );
    }

    #[test]
    fn descends_into_client_data_ia_and_dns_removal_info() {
        // CLIENT_DATA → IA_NA → IAADDR → F_DNS_REMOVAL_INFO → F_DNS_FLAGS of `flags_len`.
        let build = |flags_len: u8| {
            let flags = [0, 119, 0, flags_len, 0, 1, 0][..4 + usize::from(flags_len)].to_vec();
            let dri = [&[0, 116, 0, flags.len() as u8][..], &flags].concat();
            let mut addr = vec![0u8; 24];
            addr.extend_from_slice(&dri);
            let addr = [&[0, 5, 0, addr.len() as u8][..], &addr].concat();
            let mut ia = vec![0u8; 12];
            ia.extend_from_slice(&addr);
            let ia = [&[0, 3, 0, ia.len() as u8][..], &ia].concat();
            [&[0, 45, 0, ia.len() as u8][..], &ia].concat()
        };
        assert!(validate_failover_options(area(&build(2))).is_ok());
        assert_eq!(
            validate_failover_options(area(&build(3))),
            Err(Error::BadLength)
        );
        // A bad RFC 8415 option inside CLIENT_DATA is found too (ELAPSED_TIME of 1 octet).
        assert_eq!(
            validate_failover_options(area(&[0, 45, 0, 5, 0, 8, 0, 1, 0])),
            Err(Error::BadLength)
        );
        // IA_NA shorter than its fixed part.
        assert_eq!(
            validate_failover_options(area(&[0, 45, 0, 5, 0, 3, 0, 1, 0])),
            Err(Error::Truncated)
        );
    }
}
