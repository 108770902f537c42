//! Running as a service: systemd's readiness protocol (`Type=notify`: READY with a STATUS
//! line, STOPPING, the watchdog) and giving up the capabilities that only start-up needs.
//!
//! Without systemd (`NOTIFY_SOCKET` unset) every notification is a no-op. Capabilities are
//! dropped whoever started the process: after start-up tandemd needs none.

use std::time::{Duration, Instant};

use caps::{CapSet, Capability};
use sd_notify::NotifyState;
use tracing::{debug, error, info};

/// The service manager's side: notifications and the watchdog.
#[derive(Debug)]
pub(crate) struct Service {
    /// How often to pet the watchdog (half of `WatchdogSec`); `None` when it is off.
    watchdog: Option<Duration>,
    last_ping: Option<Instant>,
}

impl Service {
    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC` from the environment systemd set.
    pub(crate) fn from_env() -> Self {
        let mut usec = 0u64;
        let watchdog = sd_notify::watchdog_enabled(false, &mut usec)
            .then(|| Duration::from_micros(usec / 2))
            .filter(|d| !d.is_zero());
        if let Some(every) = watchdog {
            debug!(every_ms = every.as_millis() as u64, "systemd watchdog on");
        }
        Self {
            watchdog,
            last_ping: None,
        }
    }

    /// Start-up is over: the server answers clients (READY=1 with a STATUS line).
    pub(crate) fn ready(&mut self, status: &str) {
        notify(&[NotifyState::Ready, NotifyState::Status(status)]);
        self.last_ping = Some(Instant::now());
    }

    /// The server is stopping (STOPPING=1).
    pub(crate) fn stopping(&self) {
        notify(&[NotifyState::Stopping]);
    }

    /// Pets the watchdog when one is due and the server is `healthy` (see [`Heartbeats`]). An
    /// unhealthy server stays silent, so systemd kills and restarts it after `WatchdogSec`.
    pub(crate) fn watchdog(&mut self, healthy: bool) {
        let Some(every) = self.watchdog else {
            return;
        };
        if healthy && self.last_ping.is_none_or(|t| t.elapsed() >= every) {
            notify(&[NotifyState::Watchdog]);
            self.last_ping = Some(Instant::now());
        }
    }
}

/// How long a worker may go without publishing its counters (it does every 250 ms tick)
/// before the server counts as hung. Long enough for a journal compaction of a big shard,
/// well inside the unit's `WatchdogSec=30s`.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(15);

/// The workers' heartbeats (how many times each published), and when each last moved.
#[derive(Debug)]
pub(crate) struct Heartbeats {
    last: Vec<(u64, Instant)>,
    stalled: Vec<bool>,
}

impl Heartbeats {
    pub(crate) fn new(workers: usize, now: Instant) -> Self {
        Self {
            last: vec![(0, now); workers],
            stalled: vec![false; workers],
        }
    }

    /// Takes the workers' current counts at `now`; true when every worker moved within
    /// [`STALL_LIMIT`]. A worker that stalls or recovers is logged once.
    pub(crate) fn healthy(&mut self, now: Instant, counts: impl Iterator<Item = u64>) -> bool {
        let mut healthy = true;
        for (i, count) in counts.enumerate() {
            let Some((last, since)) = self.last.get_mut(i) else {
                continue;
            };
            if count != *last {
                (*last, *since) = (count, now);
            }
            let stalled = now.saturating_duration_since(*since) > STALL_LIMIT;
            if stalled != self.stalled[i] {
                self.stalled[i] = stalled;
                if stalled {
                    error!(
                        message_id = "TANDEM_WORKER_STALLED",
                        worker = i,
                        seconds = STALL_LIMIT.as_secs(),
                        "a worker made no progress: the systemd watchdog is no longer petted"
                    );
                } else {
                    info!(worker = i, "the worker makes progress again");
                }
            }
            healthy &= !stalled;
        }
        healthy
    }
}

/// A live reload starts (RELOADING=1 with MONOTONIC_USEC, which `Type=notify-reload` needs and
/// `Type=notify` accepts). Any thread may call it: the control API reloads too.
pub(crate) fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(usec) => notify(&[NotifyState::Reloading, usec]),
        Err(_) => notify(&[NotifyState::Reloading]),
    }
}

/// A live reload is over, applied or refused: serving again (READY=1 with a STATUS line).
pub(crate) fn reloaded(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        debug!(error = %e, "sd_notify failed");
    }
}

/// Drops every capability from the effective, permitted, inheritable and ambient sets, and
/// from the bounding set where CAP_SETPCAP allows (under the unit file it does not, and the
/// unit's bounding set already holds only what start-up needs). Once the sockets are bound
/// and XDP is attached nothing needs a capability: the XDP counters are read through map
/// descriptors already open, and XDP detaches by closing its `bpf_link` (Linux 5.9; tandemd
/// needs 5.19 for buffer rings), both unprivileged — the lab's `capabilities` test shows it.
///
/// Linux keeps capabilities per thread and a new thread copies its creator's: call this on
/// the main thread after every privileged step (binding port 547, loading and attaching XDP,
/// binding the partner listeners) and before any thread is spawned. Returns how many were
/// dropped from the permitted set.
pub(crate) fn drop_capabilities() -> Result<usize, caps::errors::CapsError> {
    let had = caps::read(None, CapSet::Permitted)?;
    if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP)? {
        for cap in caps::all() {
            if caps::has_cap(None, CapSet::Bounding, cap)? {
                caps::drop(None, CapSet::Bounding, cap)?;
            }
        }
    }
    caps::clear(None, CapSet::Ambient)?;
    caps::clear(None, CapSet::Inheritable)?;
    caps::clear(None, CapSet::Effective)?;
    caps::clear(None, CapSet::Permitted)?;
    let left = caps::read(None, CapSet::Permitted)?;
    info!(
        dropped = had.len(),
        left = left.len(),
        "capabilities dropped"
    );
    Ok(had.len() - left.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_stops_publishing_makes_the_server_unhealthy_after_the_limit() {
        let t0 = Instant::now();
        let mut h = Heartbeats::new(2, t0);
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert!(h.healthy(at(1), [1, 1].into_iter()));
        // Worker 1 stops at count 1; worker 0 keeps going.
        assert!(h.healthy(at(10), [5, 1].into_iter()));
        assert!(
            h.healthy(at(16), [6, 1].into_iter()),
            "15 s since it moved: not yet"
        );
        assert!(!h.healthy(at(17), [7, 1].into_iter()), "stalled");
        assert!(h.healthy(at(18), [8, 2].into_iter()), "it moved again");
    }
}
