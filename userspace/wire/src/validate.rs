//! Structural check of every option this crate has a typed view for (RFC 8415 §16: a message
//! whose known options are malformed may be discarded; unknown options are ignored).

use crate::{
    parse_empty, parse_ipv6, parse_u16, parse_u32, parse_u8, Auth, ClientFqdn, ClientLinklayerAddr,
    DnsServers, DomainList, Error, IaAddr, IaNa, IaPd, IaPrefix, IaTa, OptionCode, Options,
    OptionsIter, Oro, RemoteId, Result, StatusCodeOption, UserClass, VendorClass, VendorOpts,
};

/// How many option areas deep [`validate_options`] descends (message → IA → IAADDR/IAPREFIX →
/// their options is 3; RFC 8415 defines nothing deeper). Areas below this are still checked
/// for framing by their parent's view but not opened.
pub const OPTION_NESTING_MAX: usize = 4;

/// Parses every known option in `options` with its typed view, descending into IA_NA, IA_TA,
/// IA_PD, IAADDR and IAPREFIX sub-options with an explicit fixed stack (no recursion).
/// OPTION_RELAY_MSG is not opened (see [`crate::unwrap_relays`]); unknown codes and opaque
/// options (CLIENTID, SERVERID, INTERFACE_ID, SUBSCRIBER_ID, ...) are accepted as they are.
pub fn validate_options(options: Options<'_>) -> Result<()> {
    let mut stack: [Option<OptionsIter<'_>>; OPTION_NESTING_MAX] =
        [const { None }; OPTION_NESTING_MAX];
    stack[0] = Some(options.iter());
    let mut depth: usize = 1;
    // Every round consumes one option or pops one level, so the loop ends.
    while let Some(Some(iter)) = depth.checked_sub(1).and_then(|top| stack.get_mut(top)) {
        let Some(opt) = iter.next() else {
            depth -= 1;
            continue;
        };
        if let Some(inner) = validate_one(opt.code, opt.data)? {
            if let Some(slot) = stack.get_mut(depth) {
                *slot = Some(inner.iter());
                depth += 1;
            }
        }
    }
    Ok(())
}

/// Checks one option; returns its sub-option area when it has one.
fn validate_one<'a>(code: OptionCode, data: &'a [u8]) -> Result<Option<Options<'a>>> {
    match code {
        OptionCode::IaNa => IaNa::parse(data).map(|v| Some(v.options())),
        OptionCode::IaTa => IaTa::parse(data).map(|v| Some(v.options())),
        OptionCode::IaPd => IaPd::parse(data).map(|v| Some(v.options())),
        OptionCode::IaAddr => IaAddr::parse(data).map(|v| Some(v.options())),
        OptionCode::IaPrefix => IaPrefix::parse(data).map(|v| Some(v.options())),
        OptionCode::Oro => Oro::parse(data).map(|_| None),
        OptionCode::Preference | OptionCode::ReconfMsg => parse_u8(data).map(|_| None),
        OptionCode::ElapsedTime => parse_u16(data).map(|_| None),
        OptionCode::InformationRefreshTime | OptionCode::SolMaxRt | OptionCode::InfMaxRt => {
            parse_u32(data).map(|_| None)
        }
        OptionCode::Unicast => parse_ipv6(data).map(|_| None),
        OptionCode::RapidCommit | OptionCode::ReconfAccept => parse_empty(data).map(|()| None),
        OptionCode::Auth => Auth::parse(data).map(|_| None),
        OptionCode::StatusCode => StatusCodeOption::parse(data).map(|_| None),
        OptionCode::UserClass => UserClass::parse(data).map(|_| None),
        OptionCode::VendorClass => VendorClass::parse(data).map(|_| None),
        OptionCode::VendorOpts => VendorOpts::parse(data).map(|_| None),
        OptionCode::DnsServers => DnsServers::parse(data).map(|_| None),
        OptionCode::DomainList => DomainList::parse(data).map(|_| None),
        OptionCode::RemoteId => RemoteId::parse(data).map(|_| None),
        OptionCode::ClientFqdn => ClientFqdn::parse(data).map(|_| None),
        OptionCode::ClientLinklayerAddr => ClientLinklayerAddr::parse(data).map(|_| None),
        // A DUID is a 2-octet type plus 1..=128 octets (RFC 8415 §11.1).
        OptionCode::ClientId | OptionCode::ServerId if !(3..=130).contains(&data.len()) => {
            Err(Error::BadLength)
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;
    use crate::unwrap_relays;

    #[test]
    fn golden_vectors_are_valid_at_every_level() {
        for (name, bytes) in testdata::ALL {
            let (chain, msg) = unwrap_relays(bytes).unwrap();
            assert_eq!(validate_options(msg.options()), Ok(()), "{name}");
            for hop in chain.hops() {
                assert_eq!(validate_options(hop.options), Ok(()), "{name}");
            }
        }
    }

    #[test]
    fn finds_errors_nested_three_deep() {
        // IA_NA > IAADDR > STATUS_CODE with a 1-octet payload (needs 2).
        let bad: &[u8] = &[
            0, 3, 0, 45, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, // IA_NA header + IAID/T1/T2
            0, 5, 0, 29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, // IAADDR fixed part
            0, 13, 0, 1, 0, // STATUS_CODE too short
        ];
        let opts = Options::new_checked(bad).unwrap();
        assert_eq!(validate_options(opts), Err(Error::Truncated));
        let mut good = bad.to_vec();
        good[3] = 46;
        good[19] = 30;
        good[47] = 2;
        good.push(0);
        assert_eq!(
            validate_options(Options::new_checked(&good).unwrap()),
            Ok(())
        );
    }

    #[test]
    fn scalar_and_duid_lengths() {
        let check = |bytes: &[u8]| validate_options(Options::new_checked(bytes).unwrap());
        assert_eq!(check(&[0, 8, 0, 1, 0]), Err(Error::BadLength));
        assert_eq!(check(&[0, 1, 0, 2, 0, 1]), Err(Error::BadLength));
        assert_eq!(check(&[0, 1, 0, 3, 0, 4, 1]), Ok(()));
        assert_eq!(check(&[0, 14, 0, 1, 0]), Err(Error::BadLength));
        assert_eq!(check(&[0, 23, 0, 1, 0]), Err(Error::BadLength));
        assert_eq!(
            check(&[0x12, 0x34, 0, 1, 0]),
            Ok(()),
            "unknown options are ignored"
        );
    }
}
