//! What each control command does: the answers from the process's own state, from the
//! workers (lease commands go to the worker owning the shard, or to every worker), from
//! `stats.json`, and from the failover control thread's published status.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use serde_json::{json, Value};
use tandem_failover::ServerState;
use tandem_lease::Lease;

use super::kea_json;
use super::protocol::{Code, Command, Response, COMMANDS};
use crate::partner::operator::{self, PartnerDownRequests};
use crate::partner::status::FailoverStatus;
use crate::worker::admin::{self, AdminLink, Answer, Lookup, Query, Request};

/// How long a command waits for the workers' answers.
const WORKER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `failover-partner-down` waits to see the new state published.
const PARTNER_DOWN_WAIT: Duration = Duration::from_secs(3);

/// The operator's partner-down, as SIGUSR1 gives it: the control thread's flag and its waker.
pub(crate) struct PartnerDown {
    pub(crate) requests: Arc<PartnerDownRequests>,
    pub(crate) waker: Arc<mio::Waker>,
}

/// Everything the commands read or drive.
pub(crate) struct Sources {
    /// One link per worker, in worker order (the shard index).
    pub(crate) workers: Vec<AdminLink>,
    /// The storage directory (`stats.json`).
    pub(crate) storage: PathBuf,
    pub(crate) datapath: &'static str,
    pub(crate) durability: &'static str,
    /// The failover control thread's status; `None` standalone.
    pub(crate) failover: Option<Arc<Mutex<FailoverStatus>>>,
    /// `None` standalone.
    pub(crate) partner_down: Option<PartnerDown>,
    pub(crate) started: Instant,
    /// The live reload path `config-reload` drives (shared with SIGHUP); `None` in tests.
    pub(crate) reload: Option<Arc<Mutex<crate::reload::Reloader>>>,
    /// The HTTP listener's credentials, whose password file a reload reads again; `None`
    /// without `[control] http-listen`.
    pub(crate) http: Option<Arc<super::http::Credentials>>,
}

impl Sources {
    /// The answer to one command.
    pub(crate) fn answer(&self, cmd: Command) -> Response {
        match cmd {
            Command::ListCommands => Response::new(
                Code::Success,
                format!("{} commands", COMMANDS.len()),
                Some(json!(COMMANDS)),
            ),
            Command::VersionGet => Response::new(
                Code::Success,
                env!("CARGO_PKG_VERSION"),
                Some(json!({
                    "extended": concat!("tandemd ", env!("CARGO_PKG_VERSION"),
                        ": DHCPv6 server (RFC 8415), failover (RFC 8156)"),
                })),
            ),
            Command::StatusGet => self.status(),
            Command::ConfigTest(path) => config_test(&path),
            Command::ConfigReload => self.config_reload(),
            Command::Lease6Get(l) => self.lease_get(l),
            Command::Lease6GetByDuid(duid) => self.by_duid(duid),
            Command::Lease6GetPage { after, limit } => self.page(after, limit),
            Command::Lease6Del(l) => self.delete(l),
            Command::StatisticGetAll => self.statistics(),
            Command::FailoverStatus => match self.failover_status() {
                Some(s) => Response::new(
                    Code::Success,
                    format!("{} relationship(s)", s.relationships.len()),
                    serde_json::to_value(&s).ok(),
                ),
                None => Response::new(Code::Empty, "no failover relationship is configured", None),
            },
            Command::FailoverPartnerDown(name) => self.partner_down(name.as_deref()),
        }
    }

    /// `config-reload`: what SIGHUP does; result 0 with what changed, or 1 with why nothing
    /// (or not everything) was applied. The HTTP password file is read again either way.
    fn config_reload(&self) -> Response {
        let mut r = self.reload_config();
        if let Some(http) = &self.http {
            if let Err(e) = http.reload("config-reload") {
                r.text.push_str(&format!(
                    "; HTTP password file: {e}; the password in use is kept"
                ));
            }
        }
        r
    }

    fn reload_config(&self) -> Response {
        let Some(reload) = &self.reload else {
            return Response::error("live reload is not available");
        };
        let Ok(mut reloader) = reload.lock() else {
            return Response::error("an earlier reload failed midway; restart tandemd");
        };
        match reloader.reload("config-reload") {
            Ok(text) => Response::new(
                Code::Success,
                format!("Configuration reloaded: {text}"),
                None,
            ),
            Err(
                e @ (crate::reload::Refused::Unreachable(_)
                | crate::reload::Refused::Unconfirmed(_)),
            ) => Response::error(format!("Configuration partly reloaded: {e}")),
            Err(e) => Response::error(format!("Configuration not reloaded: {e}")),
        }
    }

    fn failover_status(&self) -> Option<FailoverStatus> {
        let s = self.failover.as_ref()?;
        Some(s.lock().map(|s| s.clone()).unwrap_or_default())
    }

    /// Kea's `pid`, `uptime` and `reload` (seconds since the last live reload, or since start;
    /// the uptime while a reload is running), and tandem's datapath, durability, workers and
    /// failover state per relationship.
    fn status(&self) -> Response {
        let uptime = self.started.elapsed().as_secs();
        let reload = self
            .reload
            .as_ref()
            .and_then(|r| r.try_lock().ok()?.last_reload())
            .map_or(uptime, |t| t.elapsed().as_secs());
        let mut args = json!({
            "pid": std::process::id(),
            "uptime": uptime,
            "reload": reload,
            "datapath": self.datapath,
            "durability": self.durability,
            "workers": self.workers.len(),
        });
        if let Some(s) = self.failover_status() {
            args["failover"] = s
                .relationships
                .iter()
                .map(|r| {
                    json!({
                        "name": r.name,
                        "state": r.state.rfc_name(),
                        "partner-state": r.partner.map(|p| p.rfc_name()),
                        "connected": r.connected,
                    })
                })
                .collect();
        }
        Response::new(Code::Success, "tandemd is running", Some(args))
    }

    /// Sends `query` to the given workers and collects their answers. `Err` is the answer to
    /// give instead (a worker busy, gone or too slow).
    fn ask(&self, query: &Query, to: &[usize]) -> Result<Vec<Answer>, Response> {
        let (tx, rx) = crossbeam_channel::bounded(to.len().max(1));
        for &w in to {
            let Some(link) = self.workers.get(w) else {
                return Err(Response::error(format!("no worker {w}")));
            };
            let req = Request {
                query: query.clone(),
                reply: tx.clone(),
            };
            if link.ask(req).is_err() {
                return Err(Response::error(format!(
                    "worker {w} is busy or stopped; try again"
                )));
            }
        }
        drop(tx);
        let deadline = Instant::now() + WORKER_TIMEOUT;
        let mut answers = Vec::with_capacity(to.len());
        while answers.len() < to.len() {
            match rx.recv_deadline(deadline) {
                Ok(a) => answers.push(a),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(Response::error("the workers did not answer within 5 s"))
                }
                // A worker dropped the request: only a lease6-del whose journal write failed.
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Response::error(
                        "the journal write failed (disk full or I/O error); the change is \
                         retried with its batch: see the log",
                    ))
                }
            }
        }
        Ok(answers)
    }

    fn all_workers(&self) -> Vec<usize> {
        (0..self.workers.len()).collect()
    }

    fn lease_get(&self, l: Lookup) -> Response {
        let answers = match self.ask(&Query::Get(l), &self.all_workers()) {
            Ok(a) => a,
            Err(r) => return r,
        };
        match leases(answers).first() {
            Some(lease) => Response::new(
                Code::Success,
                "IPv6 lease found.",
                Some(kea_json::lease6(lease)),
            ),
            None => Response::new(Code::Empty, "Lease not found.", None),
        }
    }

    fn by_duid(&self, duid: Vec<u8>) -> Response {
        let count = u32::try_from(self.workers.len()).unwrap_or(u32::MAX).max(1);
        let owner = tandem_ebpf_common::shard_of(&duid, count) as usize;
        match self.ask(&Query::ByDuid(duid.into_boxed_slice()), &[owner]) {
            Ok(a) => lease_list(&leases(a)),
            Err(r) => r,
        }
    }

    fn page(&self, after: Option<std::net::Ipv6Addr>, limit: usize) -> Response {
        let answers = match self.ask(&Query::Page { after, limit }, &self.all_workers()) {
            Ok(a) => a,
            Err(r) => return r,
        };
        lease_list(&merge_pages(leases(answers), limit))
    }

    fn delete(&self, l: Lookup) -> Response {
        let answers = match self.ask(&Query::Delete(l), &self.all_workers()) {
            Ok(a) => a,
            Err(r) => return r,
        };
        let deleted = answers.into_iter().find_map(|a| match a {
            Answer::Deleted(Some(d)) => Some(d),
            _ => None,
        });
        let Some(d) = deleted else {
            return Response::new(Code::Empty, "IPv6 lease not found.", None);
        };
        let mut args = kea_json::lease6(&d.lease);
        args["pending-partner"] = Value::Bool(d.pending_partner);
        let text = if d.pending_partner {
            "IPv6 lease deleted: released, and freed once the failover partner acknowledges."
        } else {
            "IPv6 lease deleted."
        };
        Response::new(Code::Success, text, Some(args))
    }

    fn statistics(&self) -> Response {
        let path = self.storage.join("stats.json");
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) => return Response::error(format!("{}: {e}", path.display())),
        };
        match serde_json::from_slice::<Value>(&text) {
            Ok(v) => {
                let stats = kea_json::statistics(&v);
                Response::new(
                    Code::Success,
                    format!("{} statistics", stats.len()),
                    Some(Value::Object(stats)),
                )
            }
            Err(e) => Response::error(format!("{}: {e}", path.display())),
        }
    }

    /// The operator's partner-down (RFC 8156 §8; R54): for the relationship `name`, or, as
    /// SIGUSR1, for all; the control thread applies it to each whose state allows it. Answers
    /// once the new states are published (or after [`PARTNER_DOWN_WAIT`] with the states as
    /// they are).
    fn partner_down(&self, name: Option<&str>) -> Response {
        let (Some(pd), Some(before)) = (&self.partner_down, self.failover_status()) else {
            return Response::error("no failover relationship is configured");
        };
        let names: Vec<&str> = before
            .relationships
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        if let Some(n) = name {
            if !names.contains(&n) {
                return Response::error(format!(
                    "no relationship named `{n}` (configured: {})",
                    names.join(", ")
                ));
            }
        }
        pd.requests.request(name);
        let _ = pd.waker.wake();
        let deadline = Instant::now() + PARTNER_DOWN_WAIT;
        let mut now = before;
        while Instant::now() < deadline {
            if now
                .relationships
                .iter()
                .filter(|r| operator::covers(name, &r.name))
                .all(|r| r.state == ServerState::PartnerDown)
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            now = self.failover_status().unwrap_or_default();
        }
        let states: Vec<Value> = now
            .relationships
            .iter()
            .map(|r| json!({"name": r.name, "state": r.state.rfc_name()}))
            .collect();
        let down = now
            .relationships
            .iter()
            .filter(|r| r.state == ServerState::PartnerDown);
        let text = format!(
            "partner down declared; {} of {} relationship(s) in PARTNER-DOWN",
            down.count(),
            now.relationships.len()
        );
        Response::new(
            Code::Success,
            text,
            Some(json!({ "relationships": states })),
        )
    }
}

/// `config-test`: what `tandemd check-config` checks: the file, the TLS files it names, and
/// the failover relationships built from it.
fn config_test(path: &Path) -> Response {
    let config = match tandem_config::load(path) {
        Ok(c) => c,
        Err(e) => return Response::error(e.to_string()),
    };
    let unreadable = config.check_files();
    if let Some(u) = unreadable.first() {
        return Response::error(format!("{}: {u}", path.display()));
    }
    if let Some(fo) = &config.failover {
        if let Err(e) = crate::partner::setup::relationships(fo) {
            return Response::error(format!("{}: {e:#}", path.display()));
        }
    }
    Response::new(Code::Success, "Configuration seems sane.", None)
}

fn leases(answers: Vec<Answer>) -> Vec<Lease> {
    let mut out = Vec::new();
    for a in answers {
        if let Answer::Leases(l) = a {
            out.extend(l);
        }
    }
    out
}

/// The workers' pages merged: the first `limit` in [`admin::page_key`] order.
fn merge_pages(mut all: Vec<Lease>, limit: usize) -> Vec<Lease> {
    all.sort_by_key(admin::page_key);
    all.truncate(limit);
    all
}

/// Kea's answer to `lease6-get-by-duid` and `lease6-get-page`.
fn lease_list(leases: &[Lease]) -> Response {
    let n = leases.len();
    let list: Vec<Value> = leases.iter().map(kea_json::lease6).collect();
    let code = if n == 0 { Code::Empty } else { Code::Success };
    Response::new(
        code,
        format!("{n} IPv6 lease(s) found."),
        Some(json!({ "leases": list, "count": n })),
    )
}

#[cfg(test)]
mod tests;
