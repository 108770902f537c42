//! The RFC 8415 §16 discard rules that depend on the message type, and the classification of
//! message types a server receives.

use tandem_wire::{MessageType, RelayChain};

use crate::scan::{singleton_bit, Scan};
use crate::DropReason;

/// Message types a server answers [RFC 8415 §16]; everything else is dropped here.
pub(crate) fn classify(ty: MessageType) -> Result<(), DropReason> {
    match ty {
        MessageType::Solicit
        | MessageType::Request
        | MessageType::Confirm
        | MessageType::Renew
        | MessageType::Rebind
        | MessageType::Release
        | MessageType::Decline
        | MessageType::InformationRequest
        | MessageType::RelayForw => Ok(()),
        // Sent by servers only: a server discards them [RFC 8415 §16.3, §16.10, §16.11].
        MessageType::Advertise
        | MessageType::Reply
        | MessageType::Reconfigure
        | MessageType::RelayRepl => Err(DropReason::ServerMessageType),
        // Leasequery, DHCPv4-over-DHCPv6, failover (24–35), ...: not served on UDP 547 here.
        _ => Err(DropReason::UnknownMessageType),
    }
}

/// Per-type identifier rules [RFC 8415 §16.2, §16.4–§16.9, §16.12].
pub(crate) fn check_ids(
    ty: MessageType,
    scan: &Scan<'_>,
    server_duid: &[u8],
) -> Result<(), DropReason> {
    match ty {
        // Solicit §16.2, Confirm §16.5, Rebind §16.7.
        MessageType::Solicit | MessageType::Confirm | MessageType::Rebind => {
            if scan.client_id.is_none() {
                return Err(DropReason::MissingClientId);
            }
            if scan.server_id.is_some() {
                return Err(DropReason::UnexpectedServerId);
            }
            Ok(())
        }
        // Request §16.4, Renew §16.6, Decline §16.8, Release §16.9.
        MessageType::Request | MessageType::Renew | MessageType::Release | MessageType::Decline => {
            let Some(sid) = scan.server_id else {
                return Err(DropReason::MissingServerId);
            };
            if sid != server_duid {
                return Err(DropReason::ForeignServerId);
            }
            if scan.client_id.is_none() {
                return Err(DropReason::MissingClientId);
            }
            Ok(())
        }
        // Information-request §16.12.
        MessageType::InformationRequest => {
            if scan.server_id.is_some_and(|sid| sid != server_duid) {
                return Err(DropReason::ForeignServerId);
            }
            if scan.has_ia() {
                return Err(DropReason::IaInInformationRequest);
            }
            Ok(())
        }
        _ => Err(DropReason::UnknownMessageType),
    }
}

/// Relay layers: RELAY_MSG and INTERFACE_ID may appear only once per layer.
pub(crate) fn check_relays(chain: &RelayChain<'_>) -> Result<(), DropReason> {
    for hop in chain.hops() {
        let mut seen: u32 = 0;
        for opt in hop.options.iter() {
            let code = u16::from(opt.code);
            if code != 9 && code != 18 {
                continue;
            }
            let Some(bit) = singleton_bit(code) else {
                continue;
            };
            if seen & (1 << bit) != 0 {
                return Err(DropReason::DuplicateOption);
            }
            seen |= 1 << bit;
        }
    }
    Ok(())
}

/// Solicit, Confirm, Rebind and Information-request must not arrive by unicast straight from a
/// client [RFC 8415 §16]; the other client messages get a UseMulticast Reply [RFC 8415 §18.4].
pub(crate) fn unicast_forbidden(ty: MessageType) -> bool {
    matches!(
        ty,
        MessageType::Solicit
            | MessageType::Confirm
            | MessageType::Rebind
            | MessageType::InformationRequest
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_type_is_classified() {
        for t in 0..=255u8 {
            let want = match t {
                1 | 3 | 4 | 5 | 6 | 8 | 9 | 11 | 12 => Ok(()),
                2 | 7 | 10 | 13 => Err(DropReason::ServerMessageType),
                _ => Err(DropReason::UnknownMessageType),
            };
            assert_eq!(classify(MessageType::from(t)), want, "type {t}");
        }
    }

    #[test]
    fn unicast_rules() {
        for t in [1u8, 4, 6, 11] {
            assert!(unicast_forbidden(MessageType::from(t)));
        }
        for t in [3u8, 5, 8, 9] {
            assert!(!unicast_forbidden(MessageType::from(t)));
        }
    }
}
