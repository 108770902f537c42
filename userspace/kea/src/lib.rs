//! tandem-kea: moving a Kea 2.2 DHCPv6 deployment onto tandem. Text in, text out: no files,
//! sockets, clocks or threads; the time a lease file is read at is an argument.
//!
//! - [`import_config`] / [`import_config_with`]: a `kea-dhcp6` config (Kea's JSON with `//`,
//!   `#` and `/* */` comments) → a commented tandem config TOML, plus every setting that was
//!   not carried over, named by its Kea JSON path with the reason. Carried: interfaces,
//!   server-id (when Kea's config fixes the whole DUID), subnets (from `subnet6` and from
//!   shared networks, flattened), address pools (`"first - last"` and `prefix/len`), prefix
//!   pools [RFC 8415 §6.3], reservations by DUID (addresses, prefixes, host name), lifetimes
//!   and T1/T2 (global and per subnet) [RFC 8415 §7.7, §21.4], Rapid Commit [§21.14], the
//!   decline probation period [§18.3.8], and the options tandem sends (dns-servers,
//!   domain-search, preference, sol-max-rt, information-refresh-time). The lease database
//!   becomes a comment.
//! - [`parse_leases6`] / [`write_leases6`]: Kea's memfile `leases6` CSV, read as the live
//!   leases at a given time and written in Kea 2.2's format.
//!
//! Guarantees: no input makes any function here panic; errors name the line and column (JSON,
//! CSV) or the JSON path. The TOML is built only from checked values, and the crate's tests
//! parse every output with `tandem_config` (tandemd's own validation); callers that write the
//! file (`tandemd import-kea-config`, `tandemctl`) validate it again before writing, since
//! overlaps across subnets are only found there.
#![forbid(unsafe_code)]

mod import;
mod leases;
mod model;
mod options;
mod render;
mod strip;
mod subnet;

pub use leases::{
    hex_octets, parse_leases6, write_leases6, CsvError, CsvErrorKind, KeaLease, KeaLeaseState,
    KeaLeaseType, KEA_2_2_COLUMNS,
};

/// One Kea setting the import left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCarried {
    /// Where it is in the Kea config, e.g. `Dhcp6.subnet6[0].pd-pools[0].excluded-prefix`, or
    /// `line 12: <?include "x"?>` for an include directive.
    pub path: String,
    /// Why it was not carried over.
    pub why: String,
}

impl std::fmt::Display for NotCarried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.why)
    }
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The tandem config, commented, with the not-carried list in its header.
    pub toml: String,
    /// Everything that was not carried over, in the order met.
    pub not_carried: Vec<NotCarried>,
}

/// Settings of the output that Kea's config does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The Kea file's name, for the header comment.
    pub source_name: String,
    /// tandem's `[storage] path`.
    pub storage_path: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            source_name: "kea-dhcp6.conf".to_owned(),
            storage_path: "/var/lib/tandem".to_owned(),
        }
    }
}

/// Why a Kea config could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Not JSON once comments are removed; line and column are the file's (1-based).
    #[error("line {line}, column {column}: not JSON: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// No `Dhcp6` object at the top level.
    #[error("no Dhcp6 object at the top level (is this a kea-dhcp6 config?)")]
    NoDhcp6,
    /// A structural key of the wrong type.
    #[error("{path}: expected {expected}")]
    Shape {
        path: String,
        expected: &'static str,
    },
    /// No interface to listen on: Kea's config names none (or only `"*"` with no subnet
    /// naming one), and tandem needs at least one.
    #[error("Dhcp6.interfaces-config.interfaces: no interface name to carry over (tandem needs at least one; \"*\" is not carried)")]
    NoInterfaces,
}

/// [`import_config_with`] with the default [`ImportOptions`] (`kea-dhcp6.conf`,
/// `/var/lib/tandem`).
pub fn import_config(kea_json: &str) -> Result<Imported, ImportError> {
    import_config_with(kea_json, &ImportOptions::default())
}

/// Kea's `Dhcp6` config text → tandem config TOML and the list of what was not carried over.
pub fn import_config_with(kea_json: &str, opts: &ImportOptions) -> Result<Imported, ImportError> {
    let (json, includes) = strip::strip(kea_json);
    let root: serde_json::Value = serde_json::from_str(&json).map_err(|e| ImportError::Json {
        line: e.line(),
        column: e.column(),
        message: without_position(&e.to_string()),
    })?;
    let mut walk = import::Walk::default();
    for inc in includes {
        walk.skip(
            format!("line {}: {}", inc.line, inc.text),
            "included files are not read: paste their content in place and import again",
        );
    }
    let root = import::object(&root, "(top level)")?;
    for key in root.keys().filter(|k| *k != "Dhcp6") {
        walk.skip(key.clone(), "only the Dhcp6 section is imported");
    }
    let dhcp6 = root.get("Dhcp6").ok_or(ImportError::NoDhcp6)?;
    let model = walk.dhcp6(import::object(dhcp6, "Dhcp6")?)?;
    if model.interfaces.is_empty() {
        return Err(ImportError::NoInterfaces);
    }
    let toml = render::render(&model, &walk.not_carried, opts);
    Ok(Imported {
        toml,
        not_carried: walk.not_carried,
    })
}

/// serde_json's message without its trailing " at line L column C" (the error says it first).
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests;
