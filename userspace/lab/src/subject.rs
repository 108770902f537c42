//! The server under test: Kea (the reference) or tandemd, behind one interface.
//!
//! `TANDEM_TEST_SUBJECT=kea|tandem` picks one (default tandem), as hickory's `DNS_TEST_SUBJECT`.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::fo_params::FailoverParams;
use crate::netns::{output_timeout, wait_for, Netns};
use crate::params::ServerParams;
use crate::process::Process;
use crate::render::{self, RelationshipSpec};

/// How long a start may take before it counts as failed.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Which implementation serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectKind {
    /// ISC Kea `kea-dhcp6` (Debian 2.2), the reference implementation.
    Kea,
    /// tandemd.
    Tandem,
}

impl SubjectKind {
    /// Reads `TANDEM_TEST_SUBJECT` (`kea` or `tandem`; unset means tandem).
    pub fn from_env() -> Result<Self> {
        match std::env::var("TANDEM_TEST_SUBJECT").as_deref() {
            Err(_) | Ok("") | Ok("tandem") => Ok(Self::Tandem),
            Ok("kea") => Ok(Self::Kea),
            Ok(other) => bail!("TANDEM_TEST_SUBJECT={other}: expected kea or tandem"),
        }
    }

    /// `"kea"` or `"tandem"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kea => "kea",
            Self::Tandem => "tandem",
        }
    }
}

/// Lease kind: address (IA_NA) or delegated prefix (IA_PD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LeaseKind {
    /// An IA_NA address.
    Na,
    /// An IA_PD prefix.
    Pd,
}

/// One lease as the subject's store holds it (tandemd `dump-leases` shape).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredLease {
    /// Address or prefix.
    pub kind: LeaseKind,
    /// The address, or the prefix's first address.
    pub address: Ipv6Addr,
    /// 128 for addresses.
    pub prefix_len: u8,
    /// Client DUID, lowercase hex without separators.
    pub duid: String,
    /// IAID.
    pub iaid: u32,
    /// Preferred lifetime (s).
    pub preferred: u32,
    /// Valid lifetime (s).
    pub valid: u32,
    /// Client last transaction time, Unix seconds: when the lease was last granted or extended.
    pub cltt: u64,
    /// Unix time at which the lease expires.
    pub expires_at: u64,
    /// `"bound"` for a live lease (Kea: state 0), else a subject-specific word.
    pub state: String,
}

/// A running (or stopped) server in a namespace, with its config and store in `dir`.
#[derive(Debug)]
pub struct Subject {
    kind: SubjectKind,
    ns: String,
    dir: PathBuf,
    config: PathBuf,
    tandemd: Option<PathBuf>,
    /// A program and arguments tandemd runs under (e.g. `setpriv` to drop privileges).
    wrapper: Vec<String>,
    process: Option<Process>,
    /// The stderr file of the latest run, kept after the process is stopped so that a failure
    /// message can still show what it logged on the way out.
    last_log: Option<PathBuf>,
    starts: u32,
}

impl Subject {
    /// Writes the config for `params` into `dir` and starts the server in `ns`.
    ///
    /// `tandemd` is the tandemd binary (tests pass `env!("CARGO_BIN_EXE_tandemd")`); Kea ignores
    /// it. Returns once the server listens on UDP 547 (Kea) or wrote `tandemd.ready` (tandem).
    pub fn start(
        kind: SubjectKind,
        ns: &Netns,
        params: &ServerParams,
        dir: &Path,
        tandemd: Option<&Path>,
    ) -> Result<Self> {
        let config = match kind {
            SubjectKind::Kea => {
                for d in ["kea-run", "kea-lock"] {
                    fs::create_dir_all(dir.join(d))?;
                }
                let path = dir.join("kea-dhcp6.json");
                fs::write(
                    &path,
                    render::kea_json(params, &dir.join("kea-leases6.csv")),
                )?;
                path
            }
            SubjectKind::Tandem => {
                if tandemd.is_none() {
                    bail!("the tandem subject needs the tandemd binary path");
                }
                let storage = dir.join("store");
                fs::create_dir_all(&storage)?;
                let path = dir.join("tandemd.toml");
                fs::write(&path, render::tandem_toml(params, &storage))?;
                path
            }
        };
        let mut s = Self {
            kind,
            ns: ns.name().to_owned(),
            dir: dir.to_owned(),
            config,
            tandemd: tandemd.map(Path::to_path_buf),
            wrapper: Vec::new(),
            process: None,
            last_log: None,
            starts: 0,
        };
        s.launch(ns)?;
        Ok(s)
    }

    /// [`Self::start`] for tandemd run under `wrapper` (a program and its arguments that
    /// execs the rest of its command line, such as `setpriv --reuid=… --ambient-caps=… --`).
    /// The storage directory is created first, so the caller can hand it to another user.
    pub fn start_wrapped(
        ns: &Netns,
        params: &ServerParams,
        dir: &Path,
        tandemd: &Path,
        wrapper: &[&str],
        prepare: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<Self> {
        let storage = dir.join("store");
        fs::create_dir_all(&storage)?;
        prepare(&storage)?;
        let config = dir.join("tandemd.toml");
        fs::write(&config, render::tandem_toml(params, &storage))?;
        let mut s = Self {
            kind: SubjectKind::Tandem,
            ns: ns.name().to_owned(),
            dir: dir.to_owned(),
            config,
            tandemd: Some(tandemd.to_path_buf()),
            wrapper: wrapper.iter().map(|w| (*w).to_owned()).collect(),
            process: None,
            last_log: None,
            starts: 0,
        };
        s.launch(ns)?;
        Ok(s)
    }

    /// One partner of a failover pair [RFC 8156]: writes the tandemd config for `params` with
    /// the `[failover]` section of `fo` ([`render::tandem_failover_toml`]) into `dir` and
    /// starts tandemd in `ns`. Returns once tandemd wrote `tandemd.ready`.
    pub fn start_failover(
        ns: &Netns,
        params: &ServerParams,
        fo: &FailoverParams,
        dir: &Path,
        tandemd: &Path,
    ) -> Result<Self> {
        let storage = dir.join("store");
        fs::create_dir_all(&storage)?;
        let text = render::tandem_failover_toml(params, &storage, fo);
        Self::start_tandem_config(ns, &text, dir, tandemd)
    }

    /// A tandemd in several failover relationships at once (m-to-1, RFC 8156 §3; R9): writes
    /// the config of [`render::tandem_multi_failover_toml`] for `subnets` and `relationships`
    /// into `dir` and starts tandemd in `ns`. Returns once tandemd wrote `tandemd.ready`.
    pub fn start_failover_multi(
        ns: &Netns,
        subnets: &[ServerParams],
        relationships: &[RelationshipSpec],
        dir: &Path,
        tandemd: &Path,
    ) -> Result<Self> {
        let storage = dir.join("store");
        fs::create_dir_all(&storage)?;
        let text = render::tandem_multi_failover_toml(subnets, &storage, relationships)?;
        Self::start_tandem_config(ns, &text, dir, tandemd)
    }

    /// Starts tandemd in `ns` on a config file that already exists (one `tandemd
    /// import-kea-config` wrote, say), whose `[storage] path` must be `dir/store` (see
    /// [`Self::storage_dir`]). Returns once tandemd wrote `tandemd.ready`.
    pub fn start_tandem_file(
        ns: &Netns,
        config: &Path,
        dir: &Path,
        tandemd: &Path,
    ) -> Result<Self> {
        let mut s = Self {
            kind: SubjectKind::Tandem,
            ns: ns.name().to_owned(),
            dir: dir.to_owned(),
            config: config.to_owned(),
            tandemd: Some(tandemd.to_path_buf()),
            process: None,
            last_log: None,
            starts: 0,
            wrapper: Vec::new(),
        };
        s.launch(ns)?;
        Ok(s)
    }

    /// Kea's memfile lease file (`dir/kea-leases6.csv`); tandemd keeps none.
    pub fn kea_lease_file(&self) -> Option<PathBuf> {
        (self.kind == SubjectKind::Kea).then(|| self.dir.join("kea-leases6.csv"))
    }

    /// Writes `text` as `dir/tandemd.toml` and starts tandemd on it in `ns`.
    fn start_tandem_config(ns: &Netns, text: &str, dir: &Path, tandemd: &Path) -> Result<Self> {
        let config = dir.join("tandemd.toml");
        fs::write(&config, text)?;
        let mut s = Self {
            kind: SubjectKind::Tandem,
            ns: ns.name().to_owned(),
            dir: dir.to_owned(),
            config,
            tandemd: Some(tandemd.to_path_buf()),
            wrapper: Vec::new(),
            process: None,
            last_log: None,
            starts: 0,
        };
        s.launch(ns)?;
        Ok(s)
    }

    /// Name of the namespace the server runs in.
    pub fn ns_name(&self) -> &str {
        &self.ns
    }

    /// Which implementation this is.
    pub fn kind(&self) -> SubjectKind {
        self.kind
    }

    /// The config file written for this subject.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// tandemd's storage directory (`<dir>/store`); Kea's lease file lives in `dir`.
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// The running server's pid.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Process::pid)
    }

    /// The server's stderr (logs) of the current run, or of the last one once stopped.
    pub fn log(&self) -> String {
        match &self.process {
            Some(p) => p.stderr(),
            None => self
                .last_log
                .as_ref()
                .and_then(|p| fs::read(p).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
        }
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(Process::is_running)
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after a grace period).
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut p) = self.process.take() {
            let st = p.stop()?;
            if !st.success() {
                eprintln!("lab: {} exited with {st} on SIGTERM", self.kind.as_str());
            }
        }
        Ok(())
    }

    /// `kill -9` of the server's pid (only the process this subject started).
    pub fn kill9(&mut self) -> Result<()> {
        if let Some(mut p) = self.process.take() {
            p.kill9()?;
        }
        Ok(())
    }

    /// Starts the server again from the same config and store (after stop or kill9).
    pub fn restart(&mut self, ns: &Netns) -> Result<()> {
        self.stop()?;
        self.launch(ns)
    }

    /// Every lease in the store (tandemd: `tandemd dump-leases`; Kea: its memfile CSV), live
    /// ones only for Kea (the last record per resource, dropped when its valid lifetime is 0).
    pub fn leases(&self) -> Result<Vec<StoredLease>> {
        match self.kind {
            SubjectKind::Kea => {
                let path = self.dir.join("kea-leases6.csv");
                let text = fs::read_to_string(&path).unwrap_or_default();
                crate::kea_csv::parse(&text)
            }
            SubjectKind::Tandem => {
                let bin = self.tandemd.as_ref().context("tandemd path")?;
                let mut cmd = std::process::Command::new(bin);
                cmd.arg("dump-leases").arg("--config").arg(&self.config);
                let out = output_timeout(&mut cmd, Duration::from_secs(30))?;
                if !out.status.success() {
                    bail!(
                        "tandemd dump-leases: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| serde_json::from_str(l).with_context(|| format!("lease line {l}")))
                    .collect()
            }
        }
    }

    /// tandemd's `stats.json` (None for Kea, which keeps no such file).
    pub fn stats(&self) -> Result<Option<serde_json::Value>> {
        if self.kind != SubjectKind::Tandem {
            return Ok(None);
        }
        let path = self.storage_dir().join("stats.json");
        let text = fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        Ok(Some(serde_json::from_str(&text)?))
    }

    /// The failover state of tandemd's first relationship in `stats.json`, with the partner's
    /// last reported state (`None` before the first stats.json, or without failover).
    pub fn failover_state(&self) -> Option<(String, Option<String>)> {
        relationship_status(&self.stats().ok()??, None)
    }

    /// Waits until the first relationship is in `state` (an RFC 8156 name, e.g. "NORMAL");
    /// returns how long that took.
    pub fn wait_failover_state(&self, state: &str, timeout: Duration) -> Result<Duration> {
        self.wait_state_of(None, state, timeout)
    }

    /// Like [`Self::failover_state`], for the relationship called `name` (RFC 8156 §6.2,
    /// OPTION_F_RELATIONSHIP_NAME) of a server with several (R9). `None` also when no
    /// relationship has that name.
    pub fn relationship_state(&self, name: &str) -> Option<(String, Option<String>)> {
        relationship_status(&self.stats().ok()??, Some(name))
    }

    /// Waits until the relationship called `name` is in `state`; returns how long that took.
    pub fn wait_relationship_state(
        &self,
        name: &str,
        state: &str,
        timeout: Duration,
    ) -> Result<Duration> {
        self.wait_state_of(Some(name), state, timeout)
    }

    /// The names of the relationships in `stats.json`, in configuration order (empty before
    /// the first stats.json, or without failover).
    pub fn relationship_names(&self) -> Vec<String> {
        let Some(stats) = self.stats().ok().flatten() else {
            return Vec::new();
        };
        relationships(&stats)
            .iter()
            .filter_map(|r| r.get("name")?.as_str().map(str::to_owned))
            .collect()
    }

    fn wait_state_of(
        &self,
        name: Option<&str>,
        state: &str,
        timeout: Duration,
    ) -> Result<Duration> {
        let t0 = std::time::Instant::now();
        let current = || relationship_status(&self.stats().ok()??, name);
        let what = match name {
            Some(n) => format!("{} relationship {n:?} in {state}", self.ns),
            None => format!("{} in {state}", self.ns),
        };
        wait_for(&what, timeout, || {
            current().filter(|(st, _)| st == state).map(|_| ())
        })
        .with_context(|| format!("last state {:?}", current()))?;
        Ok(t0.elapsed())
    }

    /// The live bindings of the store, by (address or prefix, length) → client DUID.
    pub fn bound(&self) -> Result<BTreeMap<(Ipv6Addr, u8), String>> {
        Ok(self
            .leases()?
            .into_iter()
            .filter(|l| l.state == "bound")
            .map(|l| ((l.address, l.prefix_len), l.duid))
            .collect())
    }

    fn launch(&mut self, ns: &Netns) -> Result<()> {
        self.starts += 1;
        let name = format!("{}-{}", self.kind.as_str(), self.starts);
        match self.kind {
            SubjectKind::Kea => {
                let mut cmd = ns.command("kea-dhcp6");
                cmd.arg("-c").arg(&self.config);
                cmd.env("KEA_PIDFILE_DIR", self.dir.join("kea-run"));
                cmd.env("KEA_LOCKFILE_DIR", self.dir.join("kea-lock"));
                cmd.env("KEA_LOGGER_DESTINATION", self.dir.join("kea-logger"));
                let mut p = Process::spawn(cmd, &self.dir, &name)?;
                self.last_log = Some(p.stderr_path().to_owned());
                let r = wait_for("kea-dhcp6 listening on UDP 547", START_TIMEOUT, || {
                    if !p.is_running() {
                        return Some(false);
                    }
                    listening_547(ns).then_some(true)
                });
                if !matches!(r, Ok(true)) {
                    bail!("kea-dhcp6 did not start: {}", p.stderr());
                }
                self.process = Some(p);
            }
            SubjectKind::Tandem => {
                let bin = self.tandemd.clone().context("tandemd path")?;
                let ready = self.storage_dir().join("tandemd.ready");
                let _ = fs::remove_file(&ready);
                let mut cmd = match self.wrapper.split_first() {
                    Some((program, args)) => {
                        let mut c = ns.command(program);
                        c.args(args).arg(&bin);
                        c
                    }
                    None => ns.command(&bin.display().to_string()),
                };
                cmd.arg("run").arg("--config").arg(&self.config);
                cmd.env(
                    "TANDEM_LOG",
                    std::env::var("TANDEM_LOG").unwrap_or_else(|_| "info".into()),
                );
                let mut p = Process::spawn(cmd, &self.dir, &name)?;
                self.last_log = Some(p.stderr_path().to_owned());
                let r = wait_for("tandemd.ready", START_TIMEOUT, || {
                    if !p.is_running() {
                        return Some(false);
                    }
                    ready.exists().then_some(true)
                });
                if !matches!(r, Ok(true)) {
                    bail!("tandemd did not start: {}", p.stderr());
                }
                self.process = Some(p);
            }
        }
        Ok(())
    }
}

/// `failover.relationships` of a `stats.json` (empty when absent).
fn relationships(stats: &serde_json::Value) -> &[serde_json::Value] {
    stats
        .get("failover")
        .and_then(|f| f.get("relationships"))
        .and_then(serde_json::Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The state and partner state of the relationship called `name` in `stats` (`None`: the first).
fn relationship_status(
    stats: &serde_json::Value,
    name: Option<&str>,
) -> Option<(String, Option<String>)> {
    let all = relationships(stats);
    let rel = match name {
        None => all.first()?,
        Some(n) => all
            .iter()
            .find(|r| r.get("name").and_then(|v| v.as_str()) == Some(n))?,
    };
    let state = rel.get("state")?.as_str()?.to_owned();
    let partner = rel
        .get("partner")
        .and_then(|p| p.as_str())
        .map(str::to_owned);
    Some((state, partner))
}

/// Whether something in `ns` listens on UDP port 547.
fn listening_547(ns: &Netns) -> bool {
    ns.run(&["ss", "-H", "-u", "-l", "-n", "sport = :547"])
        .is_ok_and(|o| !o.trim().is_empty())
}

impl Drop for Subject {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("lab: stopping subject: {e:#}");
        }
    }
}

#[cfg(test)]
#[path = "subject_tests.rs"]
mod tests;

#[cfg(test)]
mod relationship_status_tests {
    use serde_json::json;

    use super::relationship_status;

    #[test]
    fn picks_a_relationship_by_name_or_the_first() {
        let stats = json!({ "failover": { "relationships": [
            { "name": "rel-a", "state": "COMMUNICATIONS-INTERRUPTED", "partner": null },
            { "name": "rel-b", "state": "NORMAL", "partner": "NORMAL" },
        ]}});
        let first = Some(("COMMUNICATIONS-INTERRUPTED".to_owned(), None));
        assert_eq!(relationship_status(&stats, None), first);
        assert_eq!(relationship_status(&stats, Some("rel-a")), first);
        assert_eq!(
            relationship_status(&stats, Some("rel-b")),
            Some(("NORMAL".to_owned(), Some("NORMAL".to_owned())))
        );
        assert_eq!(relationship_status(&stats, Some("rel-c")), None);
    }

    #[test]
    fn no_failover_section_means_no_state() {
        assert_eq!(relationship_status(&json!({ "workers": [] }), None), None);
        assert_eq!(
            relationship_status(&json!({ "failover": null }), Some("x")),
            None
        );
        let empty = json!({ "failover": { "relationships": [] } });
        assert_eq!(relationship_status(&empty, None), None);
        let stateless = json!({ "failover": { "relationships": [{ "name": "x" }] } });
        assert_eq!(relationship_status(&stateless, Some("x")), None);
    }
}
