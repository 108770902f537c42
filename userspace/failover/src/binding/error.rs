//! Errors of the binding-update codec (house style §6): [`EncodeError`] is the caller's fault,
//! [`UpdateError`] the partner's, and says which BNDREPLY status answers it (RFC 8156 §7.5).

use tandem_wire::StatusCode;

use crate::error::PeerMisbehaved;

/// A binding update or reply could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The value breaks an RFC 8156 §7.4 / §7.6 rule; `field` names what is wrong.
    #[error("invalid binding field {field}")]
    InvalidField {
        /// The offending field or option.
        field: &'static str,
    },
    /// The buffer is too small, or the message exceeds 65535 octets.
    #[error("wire: {0}")]
    Wire(#[from] tandem_wire::Error),
}

/// A received BNDUPD that cannot be processed (RFC 8156 §7.5; R35).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// Required data is missing: no or more than one CLIENT_DATA / top-level IAPREFIX, no
    /// CLIENTID, LQ_BASE_TIME, IA, F_BINDING_STATUS, F_START_TIME_OF_STATE, or a (*) option
    /// of a status with a timeout. Answered with MissingBindingInformation.
    #[error("missing binding information: {field}")]
    MissingBindingInformation {
        /// The missing option.
        field: &'static str,
    },
    /// A (*) option is present for a status without a timeout (R33). RFC 8156 has no status
    /// for "present but must be absent"; it is answered with MissingBindingInformation (the
    /// update does not describe a binding consistently) so only this update is refused.
    #[error("option {field} not allowed for this binding status")]
    UnexpectedOption {
        /// The option that must be absent.
        field: &'static str,
    },
    /// The update names something this endpoint does not have: OPTION_VSS (we support no
    /// VPNs) or IA_TA. Answered with ConfigurationConflict.
    #[error("configuration conflict: option {option}")]
    ConfigurationConflict {
        /// The option code that caused it.
        option: u16,
    },
    /// More IAs, items or DUID octets than we accept ([`super::MAX_IAS_PER_UPDATE`], ...).
    /// Answered with UnspecFail: the update is legal but too large for us.
    #[error("{what} exceeds {max}")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// Malformed: bad lengths, unknown binding-status values, repeated singleton options, a
    /// message that is not a BNDUPD. Not answered; the connection is closed.
    #[error("partner misbehaved: {0}")]
    PeerMisbehaved(#[from] PeerMisbehaved),
}

impl UpdateError {
    /// The status of the whole-update rejection in the BNDREPLY, or `None` when the
    /// connection should be closed instead (RFC 8156 §7.5, §7.6).
    pub fn status_code(&self) -> Option<StatusCode> {
        match self {
            Self::MissingBindingInformation { .. } | Self::UnexpectedOption { .. } => {
                Some(StatusCode::MissingBindingInformation)
            }
            Self::ConfigurationConflict { .. } => Some(StatusCode::ConfigurationConflict),
            Self::TooLarge { .. } => Some(StatusCode::UnspecFail),
            Self::PeerMisbehaved(_) => None,
        }
    }
}

/// A malformed option `code`.
pub(crate) fn bad(code: u16) -> UpdateError {
    UpdateError::PeerMisbehaved(PeerMisbehaved::BadOption(code))
}

/// Missing `field`.
pub(crate) fn missing(field: &'static str) -> UpdateError {
    UpdateError::MissingBindingInformation { field }
}
