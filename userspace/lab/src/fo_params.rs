//! The `[failover]` side of a lab server: one RFC 8156 relationship, rendered by
//! [`crate::render::tandem_failover_toml`] next to the [`crate::ServerParams`] both partners share.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::certs::{CertKey, PairCerts};
use crate::params::Lifetimes;

/// Relationship name the lab uses unless a test sets another [RFC 8156 §6.2].
pub const LAB_RELATIONSHIP: &str = "lab-pair";

/// Least MCLT and least valid or preferred lifetime a failover config accepts [RFC 8156 §1,
/// §4.3]; `tandem_config` refuses anything shorter.
pub const FAILOVER_LIFETIME_MIN_S: u32 = 30;

/// This server's role in the relationship [RFC 8156 §3]: the primary dials, the secondary
/// listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailoverRole {
    /// Dials the secondary [RFC 8156 §6.1].
    Primary,
    /// Listens for the primary's CONNECT.
    Secondary,
}

impl FailoverRole {
    /// The partner's role.
    pub fn other(self) -> Self {
        match self {
            Self::Primary => Self::Secondary,
            Self::Secondary => Self::Primary,
        }
    }

    /// The config word (`role = "primary"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        }
    }
}

/// How the partner connection is secured [RFC 8156 §10].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabTls {
    /// STARTTLS then mutual TLS; absolute paths to PEM files.
    Mutual {
        /// Our certificate.
        cert: PathBuf,
        /// Our private key.
        key: PathBuf,
        /// The CA the partner's certificate must chain to.
        ca: PathBuf,
        /// The name (DNS name or IP address) the partner's certificate must carry; `None`: any
        /// certificate `ca` signed.
        partner_name: Option<String>,
    },
    /// In the clear (`mode = "none"`).
    None,
}

impl LabTls {
    /// Mutual TLS for `role` with the files of [`crate::certs::write_pair`]: its own
    /// certificate, the lab CA, and the partner's DNS name as the name to check.
    pub fn from_certs(certs: &PairCerts, role: FailoverRole) -> Self {
        let (own, partner_name) = match role {
            FailoverRole::Primary => (&certs.primary, &certs.secondary_identity.dns_name),
            FailoverRole::Secondary => (&certs.secondary, &certs.primary_identity.dns_name),
        };
        Self::with(own, certs.ca.clone(), Some(partner_name.clone()))
    }

    /// Mutual TLS presenting `own` and trusting `ca`.
    pub fn with(own: &CertKey, ca: PathBuf, partner_name: Option<String>) -> Self {
        Self::Mutual {
            cert: own.cert.clone(),
            key: own.key.clone(),
            ca,
            partner_name,
        }
    }
}

/// One `[[failover.relationship]]` for a lab server (times in seconds unless named `_ms`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverParams {
    /// Primary or secondary.
    pub role: FailoverRole,
    /// OPTION_F_RELATIONSHIP_NAME, the same on both partners [RFC 8156 §6.2].
    pub name: String,
    /// The partner's failover endpoint.
    pub partner: SocketAddr,
    /// Where this server listens.
    pub listen: SocketAddr,
    /// Maximum client lead time, >= 30 [RFC 8156 §4.3].
    pub mclt_s: u32,
    /// Partner declared unreachable after this much silence [RFC 8156 §6.5].
    pub keepalive_s: u32,
    /// CONTACT after this long without sending; below `keepalive_s` [RFC 8156 §6.5].
    pub contact_interval_s: u32,
    /// OPTION_F_MAX_UNACKED_BNDUPD we advertise [RFC 8156 §6.1].
    pub max_unacked: u32,
    /// How long STARTUP waits for the partner [RFC 8156 §8.3].
    pub startup_timer_s: u32,
    /// First reconnect delay of the primary.
    pub reconnect_initial_ms: u32,
    /// Largest reconnect delay.
    pub reconnect_cap_ms: u32,
    /// COMMUNICATIONS-INTERRUPTED → PARTNER-DOWN on its own after this long; `None`: never
    /// (operator only).
    pub auto_partner_down_s: Option<u32>,
    /// Connection security.
    pub tls: LabTls,
}

impl FailoverParams {
    /// Lab defaults, short enough for tests that wait for state changes: MCLT 30 s (the
    /// least allowed), keepalive 6 s, CONTACT every 2 s, 64 unacked updates, STARTUP 2 s,
    /// reconnect 200 ms doubling up to 2 s, no automatic PARTNER-DOWN, name
    /// [`LAB_RELATIONSHIP`].
    pub fn lab(role: FailoverRole, partner: SocketAddr, listen: SocketAddr, tls: LabTls) -> Self {
        Self {
            role,
            name: LAB_RELATIONSHIP.to_owned(),
            partner,
            listen,
            mclt_s: FAILOVER_LIFETIME_MIN_S,
            keepalive_s: 6,
            contact_interval_s: 2,
            max_unacked: 64,
            startup_timer_s: 2,
            reconnect_initial_ms: 200,
            reconnect_cap_ms: 2_000,
            auto_partner_down_s: None,
            tls,
        }
    }
}

impl Lifetimes {
    /// The shortest lifetimes a failover subnet accepts (valid and preferred >= 30 s): T1
    /// 10 s, T2 16 s, preferred 30 s, valid 40 s.
    pub const FAILOVER_SHORT: Self = Self {
        t1: 10,
        t2: 16,
        preferred: FAILOVER_LIFETIME_MIN_S,
        valid: 40,
    };

    /// Whether a failover relationship may cover a subnet with these lifetimes.
    pub fn failover_ok(&self) -> bool {
        self.preferred >= FAILOVER_LIFETIME_MIN_S && self.valid >= FAILOVER_LIFETIME_MIN_S
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_pair_up() {
        assert_eq!(FailoverRole::Primary.other(), FailoverRole::Secondary);
        assert_eq!(FailoverRole::Secondary.other(), FailoverRole::Primary);
        assert_eq!(FailoverRole::Secondary.as_str(), "secondary");
    }

    #[test]
    fn lab_lifetimes_fit_failover() {
        assert!(Lifetimes::LONG.failover_ok());
        assert!(Lifetimes::FAILOVER_SHORT.failover_ok());
        assert!(!Lifetimes::SHORT.failover_ok());
        let l = Lifetimes::FAILOVER_SHORT;
        assert!(l.t1 <= l.t2 && l.t2 <= l.preferred && l.preferred <= l.valid);
    }
}
