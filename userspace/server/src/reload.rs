//! Live reload: SIGHUP and the control API's `config-reload` (Kea's name) read the config file
//! tandemd started with again and apply it without a restart and without losing a lease.
//!
//! 1. The file is loaded and checked as `tandemd check-config` checks it. An invalid file is
//!    refused (logged with `message_id=TANDEM_RELOAD_REFUSED`, naming file, line and key) and
//!    the running configuration is untouched.
//! 2. [`diff::restart_needed`] lists the changes only a restart can make (store, workers,
//!    interfaces, server DUID, datapath, metrics, control socket, `[failover]`): any of them
//!    refuses the whole reload, and nothing is applied.
//! 3. Otherwise a new engine is built (with the interface bindings of start-up) and every
//!    worker gets it over its bounded queue ([`crate::worker::reconfigure`]); each keeps its
//!    failover view and re-slices its shard without touching a lease. The reload is done when
//!    every worker answered; systemd hears RELOADING=1 before and READY=1 after.
//!
//! One reload runs at a time: the [`Reloader`] sits behind a mutex that the main thread
//! (SIGHUP) and the control-API thread share. Per-subnet lease gauges and pool sizes follow
//! the new subnets (in `/metrics` and `stats.json`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_config::Config;
use tandem_engine::Engine;
use tracing::{error, info};

use crate::metrics::{self, SubnetList};
use crate::service;
use crate::stats::Shared;
use crate::worker::reconfigure::{self, ReconfigureLink};

pub(crate) mod diff;

/// How long a reload waits for room in a worker's queue, and then for all answers.
const WORKER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a reload was refused or did not complete. Nothing was applied, except for
/// [`Refused::Unreachable`] and [`Refused::Unconfirmed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Refused {
    /// The file does not load or does not pass `check-config`: the reason names file, line
    /// and key.
    #[error("{0}")]
    Invalid(String),
    /// Changes only a restart can make, by config key.
    #[error("restart needed: {} differ(s); nothing was applied", .0.join(", "))]
    RestartNeeded(Vec<String>),
    /// The engine refused the policy.
    #[error("the engine refused the configuration: {0}")]
    Engine(String),
    /// Some workers' queues stayed full: the others run the new configuration, these the
    /// old one; the running file stays the old one, so the next reload sends it to all again.
    #[error("workers {0:?} could not be reached; the others run the new configuration")]
    Unreachable(Vec<usize>),
    /// Sent to every worker, but not every one confirmed in time (each applies it when it
    /// gets to it).
    #[error("not every worker confirmed the new configuration within {0} s")]
    Unconfirmed(u64),
}

/// What start-up set up that every reload needs.
pub(crate) struct Setup {
    pub(crate) path: PathBuf,
    pub(crate) config: Config,
    pub(crate) server_duid: Vec<u8>,
    /// The interfaces served: (name, ifindex), bound into every new engine.
    pub(crate) interfaces: Vec<(String, u32)>,
    /// One per worker, in worker order.
    pub(crate) workers: Vec<ReconfigureLink>,
    /// The workers' published counters (their per-subnet gauges follow the subnets).
    pub(crate) stats: Vec<Arc<Shared>>,
    /// The metrics endpoint's subnets, if it runs.
    pub(crate) metrics: Option<SubnetList>,
}

/// The running configuration and the way to the workers.
pub(crate) struct Reloader {
    s: Setup,
    reloads: u64,
    /// When a reload was last applied.
    last: Option<Instant>,
    /// The last reload reached only some workers (or was not confirmed by all): the next one
    /// sends its engine to every worker even when the file matches the running config.
    partial: bool,
}

impl Reloader {
    pub(crate) fn new(setup: Setup) -> Self {
        Self {
            s: setup,
            reloads: 0,
            last: None,
            partial: false,
        }
    }

    /// When a reload was last applied (`None`: never since start).
    pub(crate) fn last_reload(&self) -> Option<Instant> {
        self.last
    }

    /// Reloads the config file; `trigger` says who asked ("SIGHUP", "config-reload"). `Ok`
    /// says what changed. Every outcome is logged.
    pub(crate) fn reload(&mut self, trigger: &str) -> Result<String, Refused> {
        let result = self.try_reload();
        match &result {
            Ok(text) => info!(
                message_id = "TANDEM_RELOADED",
                trigger,
                reloads = self.reloads,
                "configuration reloaded: {text}"
            ),
            Err(e @ (Refused::Unreachable(_) | Refused::Unconfirmed(_))) => error!(
                message_id = "TANDEM_RELOAD_PARTIAL",
                trigger,
                file = %self.s.path.display(),
                "configuration reload applied by some workers only; the next reload sends it \
                 to every worker again: {e}"
            ),
            Err(e) => error!(
                message_id = "TANDEM_RELOAD_REFUSED",
                trigger,
                file = %self.s.path.display(),
                "configuration reload refused, the running configuration is kept: {e}"
            ),
        }
        result
    }

    fn try_reload(&mut self) -> Result<String, Refused> {
        let new = check(&self.s.path)?;
        let restart = diff::restart_needed(&self.s.config, &new);
        if !restart.is_empty() {
            return Err(Refused::RestartNeeded(restart));
        }
        let duid = &self.s.server_duid;
        let policy = new.policy(duid.clone());
        let changes = diff::live_changes(&self.s.config.policy(duid.clone()), &policy);
        if changes.is_empty() && !self.partial {
            return Ok("no change".to_owned());
        }
        let subnet_ids: Vec<u32> = policy.subnets.iter().map(|s| s.id.0).collect();
        let subnet_infos = metrics::subnet_infos(&policy.subnets);
        let mut engine = Engine::new(policy).map_err(|e| Refused::Engine(e.to_string()))?;
        for (name, index) in &self.s.interfaces {
            engine.bind_interface(name, *index);
        }
        service::reloading();
        let outcome = self.apply(&engine);
        // Sent to every worker: the new file is the running one.
        if !matches!(outcome, Err(Refused::Unreachable(_))) {
            self.s.config = new;
            self.reloads += 1;
            self.last = Some(Instant::now());
            for stats in &self.s.stats {
                stats.set_subnets(&subnet_ids);
            }
            if let Some(list) = &self.s.metrics {
                list.set(subnet_infos);
            }
        }
        self.partial = outcome.is_err();
        service::reloaded(if self.partial {
            "serving; configuration reload reached only some workers"
        } else {
            "serving; configuration reloaded"
        });
        let leases = outcome?;
        if changes.is_empty() {
            return Ok(format!(
                "the running configuration sent to every worker again ({leases} leases kept)"
            ));
        }
        Ok(format!("{} ({leases} leases kept)", changes.join("; ")))
    }

    /// Sends `engine` to every worker and waits for all of them; returns the leases they hold.
    fn apply(&self, engine: &Engine) -> Result<usize, Refused> {
        let (tx, rx) = crossbeam_channel::bounded(self.s.workers.len().max(1));
        let mut unreachable = Vec::new();
        for (i, link) in self.s.workers.iter().enumerate() {
            let req = reconfigure::Request {
                engine: Box::new(engine.clone()),
                reply: tx.clone(),
            };
            if link.send(req, WORKER_TIMEOUT).is_err() {
                unreachable.push(i);
            }
        }
        drop(tx);
        let expected = self.s.workers.len() - unreachable.len();
        let mut leases = 0;
        for _ in 0..expected {
            match rx.recv_timeout(WORKER_TIMEOUT) {
                Ok(done) => leases += done.leases_after,
                Err(_) => return Err(Refused::Unconfirmed(WORKER_TIMEOUT.as_secs())),
            }
        }
        if !unreachable.is_empty() {
            return Err(Refused::Unreachable(unreachable));
        }
        Ok(leases)
    }
}

/// What `tandemd check-config` checks: the file, the TLS files it names, and the failover
/// relationships built from it.
pub(crate) fn check(path: &Path) -> Result<Config, Refused> {
    let config = tandem_config::load(path).map_err(|e| Refused::Invalid(e.to_string()))?;
    if let Some(u) = config.check_files().first() {
        return Err(Refused::Invalid(format!("{}: {u}", path.display())));
    }
    if let Some(fo) = &config.failover {
        crate::partner::setup::relationships(fo)
            .map_err(|e| Refused::Invalid(format!("{}: {e:#}", path.display())))?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests;
