//! The file as written: serde structs that mirror the agreed TOML shape
//! (`/work/notes/config-format.md`) key for key. Unknown keys are errors; values that a later
//! check may reject are [`Spanned`] so the error can name their line.

use std::net::Ipv6Addr;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawConfig {
    pub(crate) server: RawServer,
    pub(crate) storage: RawStorage,
    #[serde(default)]
    pub(crate) lifetimes: RawLifetimes,
    #[serde(default)]
    pub(crate) options: RawOptions,
    #[serde(default)]
    pub(crate) subnet: Vec<RawSubnet>,
    /// Absent: a standalone server.
    pub(crate) failover: Option<Spanned<RawFailover>>,
    #[serde(default)]
    pub(crate) datapath: RawDatapath,
    /// Absent: no metrics endpoint.
    pub(crate) metrics: Option<RawMetrics>,
    /// Absent: the control socket is `<storage>/control.sock`.
    pub(crate) control: Option<RawControl>,
}

/// `[control]`: the control socket and the optional HTTP listener.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawControl {
    /// Absent: `<storage>/control.sock`.
    pub(crate) socket: Option<Spanned<String>>,
    /// Absent: no HTTP listener.
    pub(crate) http_listen: Option<Spanned<String>>,
    pub(crate) http_user: Option<Spanned<String>>,
    pub(crate) http_password_file: Option<Spanned<String>>,
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawMetrics {
    pub(crate) listen: Spanned<String>,
}

/// `[datapath]`: how packets reach the workers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawDatapath {
    pub(crate) mode: Option<RawDatapathMode>,
    pub(crate) xdp_object: Option<Spanned<String>>,
    pub(crate) xdp_attach: Option<RawXdpAttach>,
    pub(crate) rate_limit_per_source: Option<u32>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawDatapathMode {
    Auto,
    Xdp,
    Socket,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawXdpAttach {
    Auto,
    Native,
    Generic,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawServer {
    pub(crate) interfaces: Spanned<Vec<Spanned<String>>>,
    pub(crate) workers: Option<Spanned<usize>>,
    pub(crate) server_duid: Option<Spanned<String>>,
    pub(crate) rapid_commit: Option<bool>,
    pub(crate) decline_hold: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawStorage {
    pub(crate) path: Spanned<String>,
    pub(crate) durability: Option<RawDurability>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawDurability {
    Durable,
    OsBuffer,
}

/// Lifetimes in seconds; every key optional (globals fall back to built-in defaults, subnet
/// tables to the globals).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawLifetimes {
    pub(crate) preferred: Option<Spanned<u32>>,
    pub(crate) valid: Option<Spanned<u32>>,
    pub(crate) t1: Option<Spanned<u32>>,
    pub(crate) t2: Option<Spanned<u32>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawOptions {
    pub(crate) dns_servers: Option<Vec<Ipv6Addr>>,
    pub(crate) domain_search: Option<Vec<Spanned<String>>>,
    pub(crate) preference: Option<u8>,
    pub(crate) sol_max_rt: Option<Spanned<u32>>,
    pub(crate) information_refresh_time: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSubnet {
    pub(crate) id: Spanned<u32>,
    pub(crate) prefix: Spanned<String>,
    pub(crate) interface: Option<Spanned<String>>,
    pub(crate) rapid_commit: Option<bool>,
    #[serde(default)]
    pub(crate) pools: Vec<Spanned<String>>,
    #[serde(default)]
    pub(crate) pd_pools: Vec<RawPdPool>,
    pub(crate) lifetimes: Option<RawLifetimes>,
    pub(crate) pd_lifetimes: Option<RawLifetimes>,
    pub(crate) options: Option<RawOptions>,
    #[serde(default)]
    pub(crate) reservation: Vec<RawReservation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawPdPool {
    pub(crate) prefix: Spanned<String>,
    pub(crate) delegated_length: Spanned<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawReservation {
    pub(crate) duid: Spanned<String>,
    #[serde(default)]
    pub(crate) addresses: Vec<Spanned<Ipv6Addr>>,
    #[serde(default)]
    pub(crate) prefixes: Vec<Spanned<String>>,
    pub(crate) hostname: Option<Spanned<String>>,
}

/// `[failover]`: the relationships this server is part of [RFC 8156 §3].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawFailover {
    #[serde(default)]
    pub(crate) relationship: Vec<Spanned<RawRelationship>>,
}

/// One `[[failover.relationship]]`. Times are seconds unless the key says milliseconds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRelationship {
    pub(crate) name: Spanned<String>,
    pub(crate) role: Spanned<RawRole>,
    pub(crate) partner: Spanned<String>,
    pub(crate) listen: Option<Spanned<String>>,
    pub(crate) subnets: Option<Spanned<Vec<Spanned<u32>>>>,
    pub(crate) mclt: Option<Spanned<u32>>,
    pub(crate) keepalive: Option<Spanned<u32>>,
    pub(crate) contact_interval: Option<Spanned<u32>>,
    pub(crate) max_unacked_bndupd: Option<Spanned<u32>>,
    pub(crate) skew_window: Option<Spanned<usize>>,
    pub(crate) startup_timer: Option<Spanned<u32>>,
    pub(crate) reconnect_initial: Option<Spanned<u32>>,
    pub(crate) reconnect_cap: Option<Spanned<u32>>,
    pub(crate) auto_partner_down: Option<Spanned<u32>>,
    pub(crate) stimulus: Option<bool>,
    pub(crate) update_request_timeout: Option<Spanned<u32>>,
    pub(crate) prefix_share: Option<Spanned<f64>>,
    pub(crate) prefix_rebalance_threshold: Option<Spanned<f64>>,
    pub(crate) tls: Option<Spanned<RawTls>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawRole {
    Primary,
    Secondary,
}

/// `[failover.relationship.tls]`; absent means mode "mutual".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTls {
    pub(crate) mode: Option<RawTlsMode>,
    pub(crate) cert: Option<Spanned<String>>,
    pub(crate) key: Option<Spanned<String>>,
    pub(crate) ca: Option<Spanned<String>>,
    pub(crate) partner_name: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RawTlsMode {
    Mutual,
    #[serde(rename = "none")]
    Off,
}
