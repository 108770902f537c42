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
