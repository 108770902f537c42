//! tandem's one config file: TOML in the agreed shape, parsed into raw serde types
//! (`deny_unknown_fields`) and validated into the engine's [`Policy`] plus the server-level
//! settings the engine does not need.
//!
//! Contract:
//! - [`load`] and [`parse`] either return a [`Config`] every rule of the format holds for, or
//!   one [`ConfigError`] naming the file, the line and the key path. Its `Display` is the one
//!   line `tandemd check-config` prints:
//!
//!   ```text
//!   tandem.toml:14: key `subnet[1].pools[0]`: 2001:db8:2::1 is outside the subnet prefix 2001:db8:1::/64
//!   ```
//! - Unknown keys, wrong types and missing keys are errors, reported the same way.
//! - Subnet lifetimes and options are merged over the globals here, field by field, so each
//!   [`Subnet`](tandem_engine::policy::Subnet) of the policy carries complete values.
//! - No input makes these functions panic.
//!
//! Rules checked beyond the TOML shape: at least one interface, names valid and unique; worker
//! count at most 1024; DUIDs 1..=130 octets [RFC 8415 §11.1]; preferred <= valid and t1 <= t2
//! [RFC 8415 §7.7, §21.4]; SOL_MAX_RT 60..=86400 [§21.24]; INFORMATION_REFRESH_TIME >= 600
//! [§21.23]; domain names in RFC 1035 preferred syntax; subnet ids > 0 and unique; a subnet's
//! interface listed in `server.interfaces` and used by no other subnet; subnet prefixes not
//! overlapping; ranges inside their subnet prefix with first <= last; prefix pools with
//! pool length <= delegated-length <= 128 [§6.3]; no two pools (address or prefix, in any
//! subnets) overlapping; reserved addresses inside the subnet prefix (in a pool or not);
//! reserved prefixes of length 1..=128; no DUID reserved twice in one subnet; no two
//! reservations overlapping; no bits set after a prefix's length.
//!
//! `[failover]` (optional; absent means a standalone server) [RFC 8156]: at least one
//! relationship; names 1..=255 octets and unique; no two with the same (partner address, name,
//! role) (R7); `subnets` given whenever there is more than one relationship, naming existing
//! subnets, each in at most one relationship (R8); MCLT >= 30 s and no valid or preferred
//! lifetime (address or prefix, own or inherited) under 30 s in a covered subnet (R10);
//! keepalive >= 2 s with 1 <= contact-interval < keepalive; max-unacked-bndupd 1..=65535;
//! skew-window 1..=`tandem_failover::SKEW_WINDOW_MAX`; timers above 0; reconnect-cap >=
//! reconnect-initial; prefix-share in 0..=1 and prefix-rebalance-threshold strictly between 0
//! and 1; partner a unicast address, neither address with port 0; TLS mode "mutual" (the
//! default, also when the tls table is absent) with cert, key and ca, mode "none" with none of
//! them. TLS files are not opened here: see [`Config::check_files`].
//!
//! `[metrics]` (optional; absent means no endpoint): `listen` an IP:PORT with the port given
//! and not 0.
//!
//! `[control]` (optional; absent means `<storage>/control.sock`): `socket` a non-empty path of
//! at most 107 bytes once relative paths are taken from the config file's directory (unix(7)).
//! `http-listen` (optional) an IP:PORT with the port given and not 0, only together with
//! `http-user` (1..=64 characters, no ':' or control characters; RFC 7617 §2) and a non-empty
//! `http-password-file`, whose contents [`Config::check_files`] checks.
#![forbid(unsafe_code)]

mod control;
mod control_http;
mod error;
mod failover;
mod failover_peer;
mod failover_validate;
mod locate;
mod metrics;
mod raw;
mod subnet;
mod validate;
mod values;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use tandem_engine::policy::Policy;

pub use control::{ControlSettings, CONTROL_SOCKET_DEFAULT_NAME, SOCKET_PATH_LEN_MAX};
pub use control_http::{
    read_http_password, HttpControl, HTTP_PASSWORD_FILE_READ_MAX, HTTP_USER_LEN_MAX,
};
pub use error::{ConfigError, ErrorKind, Invalid, Place};
pub use failover::{
    Failover, FileProblem, Fraction, Relationship, Role, Tls, UnreadableFile,
    FAILOVER_LIFETIME_MIN_S, FAILOVER_PORT,
};
pub use metrics::MetricsSettings;
pub use values::{parse_duid, DuidError, PrefixError, DUID_LEN_MAX};

/// A validated config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub server: ServerSettings,
    pub storage: StorageSettings,
    /// `[datapath]`: how packets reach the workers (all defaults when absent).
    pub datapath: DatapathSettings,
    /// `[failover]`; `None` for a standalone server.
    pub failover: Option<Failover>,
    /// `[metrics]`: the Prometheus endpoint; `None` (no table) serves none.
    pub metrics: Option<MetricsSettings>,
    /// `[control]`: the control socket (`<storage>/control.sock` when the table or its
    /// `socket` is absent) and the optional HTTP listener.
    pub control: ControlSettings,
    /// Complete but for `server_duid`, which [`Config::policy`] fills in.
    policy: Policy,
}

impl Config {
    /// The engine's policy with `server_duid` (from `server.server-duid`, or the one kept in
    /// the storage directory) filled in.
    pub fn policy(&self, server_duid: Vec<u8>) -> Policy {
        Policy {
            server_duid,
            ..self.policy.clone()
        }
    }

    /// The files the config names but [`load`] does not open (the failover TLS certificates,
    /// keys and CAs; the HTTP control password file) that cannot be read or are empty, and a
    /// password file group or others may access; empty when all are fine. For `tandemd
    /// check-config` and start-up, once the files are in place.
    pub fn check_files(&self) -> Vec<UnreadableFile> {
        let mut out = self
            .failover
            .as_ref()
            .map_or_else(Vec::new, Failover::check_files);
        out.extend(self.control.http.as_ref().and_then(HttpControl::check_file));
        out
    }
}

/// `[server]`, less what went into the policy (`rapid-commit`, `decline-hold`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Interfaces to listen on (joined to ff02::1:2); at least one, unique.
    pub interfaces: Vec<String>,
    /// Worker threads; `None` (absent or 0 in the file) means one per core.
    pub workers: Option<NonZeroUsize>,
    /// The configured server DUID; `None` means create one at first start and keep it.
    pub server_duid: Option<Vec<u8>>,
}

/// `[datapath]`: how DHCPv6 packets reach the worker that owns their client (design: Steering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatapathSettings {
    pub mode: DatapathMode,
    /// The compiled eBPF object (`cargo xtask build-ebpf`); `None`: look in the usual places
    /// (`TANDEM_XDP_OBJECT`, next to the tandemd binary, `/usr/lib/tandem/tandem-xdp`).
    /// Relative paths are taken from the config file's directory.
    pub xdp_object: Option<PathBuf>,
    pub xdp_attach: XdpAttach,
    /// DHCPv6 packets per second one source address may send before XDP drops the rest; 0 =
    /// no limit (the default).
    pub rate_limit_per_source: u32,
}

impl Default for DatapathSettings {
    fn default() -> Self {
        Self {
            mode: DatapathMode::Auto,
            xdp_object: None,
            xdp_attach: XdpAttach::Auto,
            rate_limit_per_source: 0,
        }
    }
}

/// Which datapath to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatapathMode {
    /// XDP steering when the object loads and attaches; otherwise sockets, with the reason
    /// logged (the default).
    Auto,
    /// XDP steering or refuse to start.
    Xdp,
    /// Sockets only: worker 0 takes multicast and hands other shards' clients over.
    Socket,
}

/// How the XDP program attaches to an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum XdpAttach {
    /// Native (driver) mode, generic (SKB) mode when the driver has none (the default).
    Auto,
    /// Driver mode only.
    Native,
    /// Generic mode only.
    Generic,
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettings {
    /// Directory for journals, snapshots, the server DUID and stats.json.
    pub path: PathBuf,
    pub durability: Durability,
}

/// When a lease change counts as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// fdatasync before the client hears the reply (the default).
    Durable,
    /// Written to the OS buffer cache only: survives a crash of tandemd, not of the machine.
    OsBuffer,
}

/// Reads, parses and validates the config file at `path`. Relative paths in it (TLS files)
/// are taken from `path`'s directory.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&file, None, None, ErrorKind::Read(e)))?;
    parse_at(&text, &file, path.parent().unwrap_or(Path::new("")))
}

/// Parses and validates config `text`; `file_name` is used in error messages, and its
/// directory part (if any) is where relative paths in the text are taken from.
pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigError> {
    parse_at(
        text,
        file_name,
        Path::new(file_name).parent().unwrap_or(Path::new("")),
    )
}

fn parse_at(text: &str, file_name: &str, base: &Path) -> Result<Config, ConfigError> {
    let src = locate::Source::new(file_name, text);
    let raw: raw::RawConfig = toml::from_str(text).map_err(|e| src.parse_error(&e))?;
    validate::validate(raw, &src, base)
}
