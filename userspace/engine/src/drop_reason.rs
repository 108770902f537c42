//! Why the engine did not answer a datagram: one flat, `Copy` reason per metric counter.
//!
//! Dropping a bad or unanswerable client packet is normal operation, not an error (house style
//! §6), so [`crate::Engine::handle`] returns `Err(DropReason)` and the server bumps the counter
//! named by [`DropReason::as_str`]. A dropped packet never changes lease state.

/// One variant per counted reason a datagram got no answer.
///
/// The RFC 8415 §16 "MUST discard" rules each have their own variant, so a counter tells which
/// rule fired. [`DropReason::ALL`] lists every variant in a stable order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Header or option area does not parse: truncated, option length past the end, or a known
    /// option with an impossible length (ORO of odd length, ELAPSED_TIME not 2 octets, ...).
    Malformed,
    /// More nested Relay-forw layers than HOP_COUNT_LIMIT allows [RFC 8415 §7.6].
    RelayTooDeep,
    /// A Relay-forw without OPTION_RELAY_MSG [RFC 8415 §9.1].
    RelayWithoutMessage,
    /// The message inside a Relay-forw is a relay or server message, not a client message.
    RelayInnerNotClient,
    /// A message type a server never processes and does not know (leasequery, failover 24–35
    /// arriving on UDP, ...) [RFC 8415 §16: unknown message types are discarded].
    UnknownMessageType,
    /// Advertise, Reply, Reconfigure or Relay-reply received by a server [RFC 8415 §16.3,
    /// §16.10, §16.11, §16.13].
    ServerMessageType,
    /// A message that must carry a Client Identifier has none [RFC 8415 §16.2, §16.4–§16.9].
    MissingClientId,
    /// Solicit, Confirm or Rebind carrying a Server Identifier [RFC 8415 §16.2, §16.5, §16.7].
    UnexpectedServerId,
    /// Request, Renew, Release or Decline without a Server Identifier [RFC 8415 §16.4, §16.6,
    /// §16.8, §16.9].
    MissingServerId,
    /// A Server Identifier that is not this server's DUID [RFC 8415 §16.4, §16.6, §16.8, §16.9,
    /// §16.12].
    ForeignServerId,
    /// Information-request carrying an IA_NA, IA_TA or IA_PD [RFC 8415 §16.12].
    IaInInformationRequest,
    /// Solicit, Confirm, Rebind or Information-request sent by a client straight to a unicast
    /// address [RFC 8415 §16, §18.4].
    UnicastNotAllowed,
    /// CLIENTID or SERVERID of zero length or longer than 130 octets [RFC 8415 §11.1].
    BadDuidLength,
    /// A singleton option appears twice (two CLIENTIDs, two ELAPSED_TIMEs, two RELAY_MSGs, ...).
    DuplicateOption,
    /// Two IAs of the same type with the same IAID in one message [RFC 8415 §12].
    DuplicateIaid,
    /// An IA_NA, IA_TA, IA_PD, IAADDR or IAPREFIX whose fixed fields do not parse.
    BadIaOption,
    /// An IAPREFIX with a prefix length above 128 [RFC 8415 §21.22].
    BadPrefixLength,
    /// More IAs than the engine considers per message (bounded work per packet).
    TooManyIas,
    /// No configured subnet matches the relay link-address or the receiving interface.
    NoSubnet,
    /// The client's DUID belongs to another worker's shard: the packet was mis-routed.
    WrongShard,
    /// Confirm without any address: no Reply may be sent [RFC 8415 §18.3.3].
    ConfirmWithoutAddresses,
    /// Rebind for IAs the server has no binding for and nothing to say about [RFC 8415 §18.3.5].
    RebindUnknownBinding,
    /// The reply would not fit the output buffer.
    ReplyTooLarge,
    /// The link is in a failover relationship whose state answers no client (STARTUP,
    /// POTENTIAL-CONFLICT, RECOVER, RECOVER-WAIT) [RFC 8156 §8].
    FailoverUnresponsive,
    /// The link is in a failover relationship whose state answers only Renews addressed to
    /// this server (the secondary in NORMAL, RECOVER-DONE) [RFC 8156 §8].
    FailoverRenewOnly,
}

impl DropReason {
    /// Every variant, in declaration order (one metric counter each).
    pub const ALL: &'static [Self] = &[
        Self::Malformed,
        Self::RelayTooDeep,
        Self::RelayWithoutMessage,
        Self::RelayInnerNotClient,
        Self::UnknownMessageType,
        Self::ServerMessageType,
        Self::MissingClientId,
        Self::UnexpectedServerId,
        Self::MissingServerId,
        Self::ForeignServerId,
        Self::IaInInformationRequest,
        Self::UnicastNotAllowed,
        Self::BadDuidLength,
        Self::DuplicateOption,
        Self::DuplicateIaid,
        Self::BadIaOption,
        Self::BadPrefixLength,
        Self::TooManyIas,
        Self::NoSubnet,
        Self::WrongShard,
        Self::ConfirmWithoutAddresses,
        Self::RebindUnknownBinding,
        Self::ReplyTooLarge,
        Self::FailoverUnresponsive,
        Self::FailoverRenewOnly,
    ];

    /// A stable snake_case label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::RelayTooDeep => "relay_too_deep",
            Self::RelayWithoutMessage => "relay_without_message",
            Self::RelayInnerNotClient => "relay_inner_not_client",
            Self::UnknownMessageType => "unknown_message_type",
            Self::ServerMessageType => "server_message_type",
            Self::MissingClientId => "missing_client_id",
            Self::UnexpectedServerId => "unexpected_server_id",
            Self::MissingServerId => "missing_server_id",
            Self::ForeignServerId => "foreign_server_id",
            Self::IaInInformationRequest => "ia_in_information_request",
            Self::UnicastNotAllowed => "unicast_not_allowed",
            Self::BadDuidLength => "bad_duid_length",
            Self::DuplicateOption => "duplicate_option",
            Self::DuplicateIaid => "duplicate_iaid",
            Self::BadIaOption => "bad_ia_option",
            Self::BadPrefixLength => "bad_prefix_length",
            Self::TooManyIas => "too_many_ias",
            Self::NoSubnet => "no_subnet",
            Self::WrongShard => "wrong_shard",
            Self::ConfirmWithoutAddresses => "confirm_without_addresses",
            Self::RebindUnknownBinding => "rebind_unknown_binding",
            Self::ReplyTooLarge => "reply_too_large",
            Self::FailoverUnresponsive => "failover_unresponsive",
            Self::FailoverRenewOnly => "failover_renew_only",
        }
    }
}

impl core::fmt::Display for DropReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn labels_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for r in DropReason::ALL {
            let s = r.as_str();
            assert!(seen.insert(s), "duplicate label {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert_eq!(r.to_string(), s);
        }
    }

    #[test]
    fn all_lists_every_variant() {
        // A new variant must be added to ALL: as_str is exhaustive, so count the labels that
        // appear in the match by round-tripping through ALL.
        assert_eq!(DropReason::ALL.len(), 25);
        let set: HashSet<_> = DropReason::ALL.iter().collect();
        assert_eq!(set.len(), DropReason::ALL.len());
    }
}
