//! The validated `[failover]` section: the RFC 8156 relationships this server takes part in,
//! with every default of protocol notes §1.17 filled in, and [`crate::Config::check_files`]'s
//! check that the TLS files can be read.
//!
//! The raw form is in [`crate::raw`], the checks in [`crate::failover_validate`].

use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tandem_engine::policy::SubnetId;

/// TCP port of the failover protocol [RFC 8156 §6, RFC 8415 §24]: the default for `partner` and `listen`.
pub const FAILOVER_PORT: u16 = 647;

/// Shortest lease a failover pool may grant, and so the least MCLT and the least valid and
/// preferred lifetime of a subnet in a relationship [RFC 8156 §1, §4.3; R10].
pub const FAILOVER_LIFETIME_MIN_S: u32 = 30;

/// `[failover]`: present only on a server that has a failover partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    /// At least one; one server may hold several (m-to-1, R9). Names are unique, and no
    /// subnet is in two of them (R8).
    pub relationships: Vec<Relationship>,
}

/// One `[[failover.relationship]]` [RFC 8156 §3, §6].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// OPTION_F_RELATIONSHIP_NAME: 1..=255 octets, unique in the file [RFC 8156 §6.2].
    pub name: String,
    /// Primary dials, secondary listens [RFC 8156 §6.1].
    pub role: Role,
    /// The partner's address and failover port (647 unless given). With the name and the role
    /// it selects the relationship of an incoming connection (R7).
    pub partner: SocketAddr,
    /// Where to listen (default `[::]:647`); relationships may share one.
    pub listen: SocketAddr,
    /// The subnets this relationship covers, in file order; when the file gives no list (one
    /// relationship only) every subnet, in file order. Each is in at most one relationship.
    pub subnets: Vec<SubnetId>,
    /// Maximum client lead time in seconds (default 3600, at least 30) [RFC 8156 §4.3]. The
    /// primary sends it in CONNECT; on a secondary it is only checked against the primary's.
    pub mclt_s: u32,
    /// FO_KEEPALIVE_TIME in seconds (default 60, at least 2) [RFC 8156 §6.5].
    pub keepalive_s: u32,
    /// Seconds of silence before CONTACT is sent: default keepalive ÷ 4 (at least 1), always
    /// shorter than the keepalive [RFC 8156 §6.5].
    pub contact_interval_s: u32,
    /// OPTION_F_MAX_UNACKED_BNDUPD we advertise (default 128, 1..=65535) [RFC 8156 §6.1].
    pub max_unacked_bndupd: u32,
    /// Messages averaged by the clock-skew estimator (R25).
    pub skew_window: usize,
    /// How long STARTUP waits to hear from the partner, seconds (default 10) [RFC 8156 §8.3].
    pub startup_timer_s: u32,
    /// First reconnect delay of the primary, milliseconds (default 1000) (R11).
    pub reconnect_initial_ms: u32,
    /// The doubling reconnect delay stops growing here, milliseconds (default 64000, never
    /// below `reconnect_initial_ms`) (R11).
    pub reconnect_cap_ms: u32,
    /// Seconds in COMMUNICATIONS-INTERRUPTED after which PARTNER-DOWN is entered on its own;
    /// `None` (the default) leaves that to the operator (R55; protocol notes §1.14).
    pub auto_partner_down_s: Option<u32>,
    /// Stimulus connections (seed draft; R13, R14); default on.
    pub stimulus: bool,
    /// How long RECOVER waits for UPDDONE while nothing arrives, seconds (default 60)
    /// [RFC 8156 §8, state RECOVER].
    pub update_request_timeout_s: u32,
    /// Share of the delegable prefixes the secondary should hold (default 0.5) [RFC 8156
    /// §4.2.2; R43].
    pub prefix_share: Fraction,
    /// Change in either side's free prefixes, as a fraction of its share, that triggers a
    /// rebalance (default 0.05, strictly between 0 and 1) (R44).
    pub prefix_rebalance_threshold: Fraction,
    /// How the connection is secured [RFC 8156 §10].
    pub tls: Tls,
}

/// This server's role in a relationship [RFC 8156 §3].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    Primary,
    Secondary,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        })
    }
}

/// Connection security [RFC 8156 §10, RFC 7653 §8.2]. Mutual TLS is the default; running in
/// the clear must be written as `mode = "none"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tls {
    /// STARTTLS, then TLS in which both sides present a certificate signed by `ca`.
    Mutual {
        /// Our certificate chain (PEM); relative paths are resolved against the config file's
        /// directory, as are `key` and `ca`.
        cert: PathBuf,
        /// Our private key (PEM).
        key: PathBuf,
        /// The CA certificate(s) the partner's certificate must chain to (PEM).
        ca: PathBuf,
        /// The DNS name or IP address the partner's certificate must be issued for; `None`:
        /// any certificate `ca` signed.
        partner_name: Option<String>,
    },
    /// No TLS: STARTTLS is refused and the connection is in the clear.
    None,
}

/// A fraction in 0..=1 (never NaN).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Fraction(f64);

// Only values in 0..=1 are made, so never NaN and `==` is an equivalence.
impl Eq for Fraction {}

impl Fraction {
    /// `Some` for a value in 0..=1.
    pub fn new(value: f64) -> Option<Self> {
        (0.0..=1.0).contains(&value).then_some(Self(value))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A file (TLS, HTTP password) that [`crate::Config::check_files`] could not use.
#[derive(Debug, thiserror::Error)]
#[error("key `{key}`: {}: {problem}", path.display())]
pub struct UnreadableFile {
    /// Key path of the setting, as `failover.relationship[0].tls.cert`.
    pub key: String,
    pub path: PathBuf,
    pub problem: FileProblem,
}

/// Why a file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileProblem {
    #[error("cannot read: {0}")]
    Read(#[from] std::io::Error),
    #[error("the file is empty")]
    Empty,
    /// A secret (the HTTP control password) that group or others may access.
    #[error("mode {0:04o} lets group or others in; a password file must be readable by its owner only (chmod 600)")]
    OpenToOthers(u32),
    /// Not a regular file (a FIFO or a device: opened without blocking, never read).
    #[error("not a regular file; a password must be in a regular file")]
    NotRegular,
    /// A secret owned by another user than its reader or root.
    #[error("owned by uid {owner}, neither the reader's (uid {reader}) nor root's; chown it to tandemd's user")]
    Owner {
        /// The file's owner.
        owner: u32,
        /// The uid that reads it (tandemd's effective uid).
        reader: u32,
    },
    /// A password too short to withstand guessing over the network.
    #[error("the password is {len} bytes long, shorter than {min}; make a random one with `openssl rand -base64 24`")]
    TooShort {
        /// Its length in bytes.
        len: usize,
        /// The shortest accepted.
        min: usize,
    },
}

impl Failover {
    /// Every TLS file of every relationship that cannot be opened and read (missing, not a
    /// regular file, no permission) or is empty. [`crate::load`] does not look at these files,
    /// so a config can be checked before its certificates are made.
    pub fn check_files(&self) -> Vec<UnreadableFile> {
        let mut out = Vec::new();
        for (i, relationship) in self.relationships.iter().enumerate() {
            let Tls::Mutual { cert, key, ca, .. } = &relationship.tls else {
                continue;
            };
            for (name, path) in [("cert", cert), ("key", key), ("ca", ca)] {
                if let Err(problem) = readable(path) {
                    out.push(UnreadableFile {
                        key: format!("failover.relationship[{i}].tls.{name}"),
                        path: path.clone(),
                        problem,
                    });
                }
            }
        }
        out
    }
}

/// Opens `path` and reads one byte: a directory fails here (EISDIR), not just at open.
fn readable(path: &Path) -> Result<(), FileProblem> {
    let mut byte = [0u8; 1];
    match std::fs::File::open(path)?.read(&mut byte)? {
        0 => Err(FileProblem::Empty),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_in_0_to_1() {
        assert_eq!(Fraction::new(0.0).map(Fraction::get), Some(0.0));
        assert_eq!(Fraction::new(1.0).map(Fraction::get), Some(1.0));
        assert_eq!(
            Fraction::new(0.25).map(|f| f.to_string()),
            Some("0.25".into())
        );
        for bad in [-0.1, 1.000_001, f64::NAN, f64::INFINITY] {
            assert_eq!(Fraction::new(bad), None, "{bad}");
        }
    }

    #[test]
    fn roles_print_as_written() {
        assert_eq!(Role::Primary.to_string(), "primary");
        assert_eq!(Role::Secondary.to_string(), "secondary");
    }

    #[test]
    fn readable_files() {
        let dir = tempfile::tempdir().unwrap();
        let full = dir.path().join("full.pem");
        std::fs::write(&full, "x").unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        assert!(readable(&full).is_ok());
        assert!(matches!(readable(&empty), Err(FileProblem::Empty)));
        assert!(matches!(readable(dir.path()), Err(FileProblem::Read(_))));
        assert!(matches!(
            readable(&dir.path().join("missing")),
            Err(FileProblem::Read(e)) if e.kind() == std::io::ErrorKind::NotFound
        ));
    }
}
