//! Registry code points: message types, option codes and status codes (RFC 8415 §7.3, §21, §21.13).
//!
//! Each enum keeps any value it has no name for in `Unknown(x)`, so relays and unknown options
//! round-trip byte-exactly. Always convert from the wire with `From`: `OptionCode::from(3)` is
//! `OptionCode::IaNa`, whereas a hand-built `OptionCode::Unknown(3)` would compare unequal to it.

/// Declares a `#[non_exhaustive]` enum of named values plus `Unknown(raw)`, with `From` both ways
/// (the smoltcp `enum_with_unknown!` pattern).
macro_rules! enum_with_unknown {
    (
        $(#[$enum_attr:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$variant_attr:meta])* $variant:ident = $value:literal ),+ $(,)?
        }
    ) => {
        $(#[$enum_attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$variant_attr])* $variant, )+
            /// A value without a name in this crate, kept as received.
            Unknown($ty),
        }

        impl From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( $value => Self::$variant, )+
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}

pub(crate) use enum_with_unknown;

enum_with_unknown! {
    /// DHCPv6 message type, the first octet of every message (RFC 8415 §7.3).
    pub enum MessageType(u8) {
        /// SOLICIT (RFC 8415 §16.2).
        Solicit = 1,
        /// ADVERTISE (RFC 8415 §16.3).
        Advertise = 2,
        /// REQUEST (RFC 8415 §16.4).
        Request = 3,
        /// CONFIRM (RFC 8415 §16.5).
        Confirm = 4,
        /// RENEW (RFC 8415 §16.6).
        Renew = 5,
        /// REBIND (RFC 8415 §16.7).
        Rebind = 6,
        /// REPLY (RFC 8415 §16.10).
        Reply = 7,
        /// RELEASE (RFC 8415 §16.9).
        Release = 8,
        /// DECLINE (RFC 8415 §16.8).
        Decline = 9,
        /// RECONFIGURE (RFC 8415 §16.11).
        Reconfigure = 10,
        /// INFORMATION-REQUEST (RFC 8415 §16.12).
        InformationRequest = 11,
        /// RELAY-FORW (RFC 8415 §9.1).
        RelayForw = 12,
        /// RELAY-REPL (RFC 8415 §9.2).
        RelayRepl = 13,
        /// STARTTLS (RFC 7653 §5.2), the first message of a secure failover connection.
        StartTls = 23,
        /// BNDUPD, one binding update (RFC 8156 §5, §7.4).
        BndUpd = 24,
        /// BNDREPLY, the answer to a BNDUPD (RFC 8156 §5, §7.6).
        BndReply = 25,
        /// POOLREQ, secondary asks for its share of delegable prefixes (RFC 8156 §5).
        PoolReq = 26,
        /// POOLRESP, answer to POOLREQ (RFC 8156 §5).
        PoolResp = 27,
        /// UPDREQ, "send me the updates I have not acknowledged" (RFC 8156 §5).
        UpdReq = 28,
        /// UPDREQALL, "send me every binding" (RFC 8156 §5).
        UpdReqAll = 29,
        /// UPDDONE, all requested updates were sent and acknowledged (RFC 8156 §5).
        UpdDone = 30,
        /// CONNECT, first failover message on a connection (RFC 8156 §5, §6.1).
        Connect = 31,
        /// CONNECTREPLY, answer to CONNECT (RFC 8156 §5, §6.1).
        ConnectReply = 32,
        /// DISCONNECT, the sender closes the connection (RFC 8156 §5).
        Disconnect = 33,
        /// STATE, the sender's endpoint state (RFC 8156 §5, §6.3).
        State = 34,
        /// CONTACT, keepalive (RFC 8156 §5, §6.5).
        Contact = 35,
    }
}

impl MessageType {
    /// True for Relay-forw and Relay-repl, which use the relay layout (RFC 8415 §9).
    pub fn is_relay(self) -> bool {
        matches!(self, Self::RelayForw | Self::RelayRepl)
    }
}

enum_with_unknown! {
    /// Option code (RFC 8415 §21 and the IANA "Option Codes" registry).
    pub enum OptionCode(u16) {
        /// OPTION_CLIENTID (RFC 8415 §21.2).
        ClientId = 1,
        /// OPTION_SERVERID (RFC 8415 §21.3).
        ServerId = 2,
        /// OPTION_IA_NA (RFC 8415 §21.4).
        IaNa = 3,
        /// OPTION_IA_TA (RFC 8415 §21.5).
        IaTa = 4,
        /// OPTION_IAADDR (RFC 8415 §21.6).
        IaAddr = 5,
        /// OPTION_ORO (RFC 8415 §21.7).
        Oro = 6,
        /// OPTION_PREFERENCE (RFC 8415 §21.8).
        Preference = 7,
        /// OPTION_ELAPSED_TIME (RFC 8415 §21.9).
        ElapsedTime = 8,
        /// OPTION_RELAY_MSG (RFC 8415 §21.10).
        RelayMsg = 9,
        /// OPTION_AUTH (RFC 8415 §21.11).
        Auth = 11,
        /// OPTION_UNICAST (RFC 8415 §21.12).
        Unicast = 12,
        /// OPTION_STATUS_CODE (RFC 8415 §21.13).
        StatusCode = 13,
        /// OPTION_RAPID_COMMIT (RFC 8415 §21.14).
        RapidCommit = 14,
        /// OPTION_USER_CLASS (RFC 8415 §21.15).
        UserClass = 15,
        /// OPTION_VENDOR_CLASS (RFC 8415 §21.16).
        VendorClass = 16,
        /// OPTION_VENDOR_OPTS (RFC 8415 §21.17).
        VendorOpts = 17,
        /// OPTION_INTERFACE_ID (RFC 8415 §21.18).
        InterfaceId = 18,
        /// OPTION_RECONF_MSG (RFC 8415 §21.19).
        ReconfMsg = 19,
        /// OPTION_RECONF_ACCEPT (RFC 8415 §21.20).
        ReconfAccept = 20,
        /// OPTION_DNS_SERVERS (RFC 3646 §3).
        DnsServers = 23,
        /// OPTION_DOMAIN_LIST (RFC 3646 §4).
        DomainList = 24,
        /// OPTION_IA_PD (RFC 8415 §21.21).
        IaPd = 25,
        /// OPTION_IAPREFIX (RFC 8415 §21.22).
        IaPrefix = 26,
        /// OPTION_INFORMATION_REFRESH_TIME (RFC 8415 §21.23).
        InformationRefreshTime = 32,
        /// OPTION_REMOTE_ID (RFC 4649 §3).
        RemoteId = 37,
        /// OPTION_SUBSCRIBER_ID (RFC 4580 §2).
        SubscriberId = 38,
        /// OPTION_CLIENT_FQDN (RFC 4704 §4).
        ClientFqdn = 39,
        /// OPTION_CLIENT_LINKLAYER_ADDR (RFC 6939 §4).
        ClientLinklayerAddr = 79,
        /// OPTION_SOL_MAX_RT (RFC 8415 §21.24).
        SolMaxRt = 82,
        /// OPTION_INF_MAX_RT (RFC 8415 §21.25).
        InfMaxRt = 83,
        /// OPTION_CLIENT_DATA, a container of one client's bindings (RFC 5007 §4.1.2.2).
        ClientData = 45,
        /// OPTION_CLT_TIME, seconds since the client was last heard (RFC 5007 §4.1.2.3).
        CltTime = 46,
        /// OPTION_LQ_RELAY_DATA, the relay data of a client's last message (RFC 5007 §4.1.2.4).
        LqRelayData = 47,
        /// OPTION_VSS, the VPN a binding belongs to (RFC 6607 §3.3).
        Vss = 68,
        /// OPTION_LQ_BASE_TIME, absolute time the data was assembled (RFC 7653 §6.4.1).
        LqBaseTime = 100,
        /// OPTION_F_BINDING_STATUS (RFC 8156 §5).
        FBindingStatus = 114,
        /// OPTION_F_CONNECT_FLAGS (RFC 8156 §5).
        FConnectFlags = 115,
        /// OPTION_F_DNS_REMOVAL_INFO (RFC 8156 §5).
        FDnsRemovalInfo = 116,
        /// OPTION_F_DNS_HOST_NAME (RFC 8156 §5).
        FDnsHostName = 117,
        /// OPTION_F_DNS_ZONE_NAME (RFC 8156 §5).
        FDnsZoneName = 118,
        /// OPTION_F_DNS_FLAGS (RFC 8156 §5).
        FDnsFlags = 119,
        /// OPTION_F_EXPIRATION_TIME (RFC 8156 §5).
        FExpirationTime = 120,
        /// OPTION_F_MAX_UNACKED_BNDUPD (RFC 8156 §5).
        FMaxUnackedBndupd = 121,
        /// OPTION_F_MCLT (RFC 8156 §5).
        FMclt = 122,
        /// OPTION_F_PARTNER_LIFETIME (RFC 8156 §5).
        FPartnerLifetime = 123,
        /// OPTION_F_PARTNER_LIFETIME_SENT (RFC 8156 §5).
        FPartnerLifetimeSent = 124,
        /// OPTION_F_PARTNER_DOWN_TIME (RFC 8156 §5).
        FPartnerDownTime = 125,
        /// OPTION_F_PARTNER_RAW_CLT_TIME (RFC 8156 §5).
        FPartnerRawCltTime = 126,
        /// OPTION_F_PROTOCOL_VERSION (RFC 8156 §5).
        FProtocolVersion = 127,
        /// OPTION_F_KEEPALIVE_TIME (RFC 8156 §5).
        FKeepaliveTime = 128,
        /// OPTION_F_RECONFIGURE_DATA (RFC 8156 §5).
        FReconfigureData = 129,
        /// OPTION_F_RELATIONSHIP_NAME (RFC 8156 §5).
        FRelationshipName = 130,
        /// OPTION_F_SERVER_FLAGS (RFC 8156 §5).
        FServerFlags = 131,
        /// OPTION_F_SERVER_STATE (RFC 8156 §5).
        FServerState = 132,
        /// OPTION_F_START_TIME_OF_STATE (RFC 8156 §5).
        FStartTimeOfState = 133,
        /// OPTION_F_STATE_EXPIRATION_TIME (RFC 8156 §5).
        FStateExpirationTime = 134,
    }
}

enum_with_unknown! {
    /// Status code carried in OPTION_STATUS_CODE (RFC 8415 §21.13; registry in §24).
    pub enum StatusCode(u16) {
        /// Success.
        Success = 0,
        /// Failure, reason unspecified.
        UnspecFail = 1,
        /// The server has no addresses available to assign to the IA(s).
        NoAddrsAvail = 2,
        /// Client record (binding) unavailable.
        NoBinding = 3,
        /// The prefix for the address is not appropriate for the link.
        NotOnLink = 4,
        /// The client must use multicast to reach the server.
        UseMulticast = 5,
        /// The server has no prefixes available to assign to the IA_PD(s).
        NoPrefixAvail = 6,
        /// NotSupported: e.g. CONNECT with an unsupported protocol version (RFC 7653 §6.3,
        /// RFC 8156 §6.1.2).
        NotSupported = 14,
        /// TLSConnectionRefused: REPLY to STARTTLS when TLS is refused (RFC 7653 §6.3).
        TlsConnectionRefused = 15,
        /// AddressInUse: the receiver has another client on the lease and wins (RFC 8156 §5).
        AddressInUse = 16,
        /// ConfigurationConflict: resource not configured for this endpoint (RFC 8156 §5).
        ConfigurationConflict = 17,
        /// MissingBindingInformation: the BNDUPD lacks required data (RFC 8156 §5).
        MissingBindingInformation = 18,
        /// OutdatedBindingInformation: the receiver's data is newer (RFC 8156 §5).
        OutdatedBindingInformation = 19,
        /// ServerShuttingDown: planned shutdown, in DISCONNECT (RFC 8156 §5).
        ServerShuttingDown = 20,
        /// DNSUpdateNotSupported: BNDUPD with DNS-update data refused (RFC 8156 §5).
        DnsUpdateNotSupported = 21,
        /// ExcessiveTimeSkew: CONNECT sent-time too far from the receiver clock (RFC 8156 §5).
        ExcessiveTimeSkew = 22,
    }
}

/// HOP_COUNT_LIMIT, the maximum relay hop count (RFC 8415 §7.6).
pub const HOP_COUNT_LIMIT: u8 = 8;

/// A 3-octet transaction id (RFC 8415 §8).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Xid(pub [u8; 3]);

impl Xid {
    /// The xid as a number in `0..=0xff_ffff`.
    pub fn to_u32(self) -> u32 {
        let [a, b, c] = self.0;
        u32::from_be_bytes([0, a, b, c])
    }

    /// The low 24 bits of `v` as an xid.
    pub fn from_u32(v: u32) -> Self {
        let [_, a, b, c] = v.to_be_bytes();
        Self([a, b, c])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_round_trips_every_octet() {
        for v in 0..=u8::MAX {
            let t = MessageType::from(v);
            assert_eq!(u8::from(t), v);
            assert_eq!(t.is_relay(), v == 12 || v == 13);
        }
        assert_eq!(MessageType::from(11), MessageType::InformationRequest);
        assert_eq!(MessageType::from(14), MessageType::Unknown(14));
    }

    #[test]
    fn option_and_status_codes_round_trip() {
        for v in 0..=200u16 {
            assert_eq!(u16::from(OptionCode::from(v)), v);
            assert_eq!(u16::from(StatusCode::from(v)), v);
        }
        assert_eq!(OptionCode::from(79), OptionCode::ClientLinklayerAddr);
        assert_eq!(OptionCode::from(10), OptionCode::Unknown(10));
        assert_eq!(StatusCode::from(6), StatusCode::NoPrefixAvail);
    }

    #[test]
    fn xid_number_conversion() {
        assert_eq!(Xid::from_u32(0x0112_3456), Xid([0x12, 0x34, 0x56]));
        assert_eq!(Xid([0xab, 0xcd, 0xef]).to_u32(), 0x00ab_cdef);
    }
}
