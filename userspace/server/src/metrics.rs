//! The Prometheus / OpenMetrics endpoint (`[metrics] listen`): one thread answering
//! `GET /metrics` with [`encode::encode`] of the counters the workers publish every tick and
//! the control thread's failover status, the same sources as `stats.json`, and `GET /` (or
//! `/status`) with a read-only HTML status page ([`status_page`]). Nothing here touches the
//! packet path: a scrape only loads published atomics and takes the status lock the control
//! thread holds once per turn; once a second the thread also loads the workers' counters
//! into a short history ([`rates::History`]) for the page's rates.
//!
//! HTTP is [`crate::http_server`]: at most [`CONNECTIONS`] connections, each request within
//! [`DEADLINE`], no request bodies (GET and HEAD only).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tandem_engine::policy::Subnet;
use tracing::info;

use crate::http_server::{self, Handler, Head, Request, Response};

use crate::partner::status::FailoverStatus;
use crate::stats::Shared;

mod encode;
mod process_age;
mod rates;
mod status_page;
#[cfg(test)]
mod tests;

pub(crate) use encode::{Scrape, SubnetInfo};

/// Connections served at a time; more are closed at once.
const CONNECTIONS: usize = 16;
/// From a connection's accept to the end of its request head.
const DEADLINE: Duration = Duration::from_secs(5);
/// For writing an answer (a scrape or the status page).
const WRITE_DEADLINE: Duration = Duration::from_secs(10);

/// `Content-Type` of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The XDP program's counters by name, as the main thread last read them.
pub(crate) type XdpLatest = Arc<Mutex<Option<Vec<(&'static str, u64)>>>>;

/// The configured subnets' labels and pool sizes; a live reload replaces them.
#[derive(Debug, Clone, Default)]
pub(crate) struct SubnetList(Arc<Mutex<Vec<SubnetInfo>>>);

impl SubnetList {
    pub(crate) fn new(subnets: Vec<SubnetInfo>) -> Self {
        Self(Arc::new(Mutex::new(subnets)))
    }

    /// The subnets as configured now.
    pub(crate) fn get(&self) -> Vec<SubnetInfo> {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Replaces the subnets (a live reload).
    pub(crate) fn set(&self, subnets: Vec<SubnetInfo>) {
        if let Ok(mut s) = self.0.lock() {
            *s = subnets;
        }
    }
}

/// Where a scrape reads from.
pub(crate) struct Sources {
    pub(crate) workers: Vec<Arc<Shared>>,
    pub(crate) subnets: SubnetList,
    pub(crate) datapath: &'static str,
    /// The XDP counters as the main thread last read them (once a second).
    pub(crate) xdp: XdpLatest,
    /// The control thread's status; `None` standalone.
    pub(crate) failover: Option<Arc<Mutex<FailoverStatus>>>,
    /// Requests the control API's HTTP listener refused with 401; `None` without one.
    pub(crate) http_auth_failures: Option<Arc<AtomicU64>>,
}

impl Sources {
    fn scrape(&self) -> Scrape {
        Scrape {
            workers: self.workers.iter().map(|w| w.load()).collect(),
            subnets: self.subnets.get(),
            datapath: self.datapath,
            xdp: self.xdp.lock().map(|x| x.clone()).unwrap_or_default(),
            failover: self
                .failover
                .as_ref()
                .map(|s| s.lock().map(|s| s.clone()).unwrap_or_default()),
            http_auth_failures: self
                .http_auth_failures
                .as_ref()
                .map(|n| n.load(Ordering::Relaxed)),
        }
    }
}

/// Each configured subnet's labels and pool sizes (Kea's `total-nas`, `total-pds`).
pub(crate) fn subnet_infos(subnets: &[Subnet]) -> Vec<SubnetInfo> {
    subnets
        .iter()
        .map(|s| SubnetInfo {
            id: s.id.0,
            prefix: format!("{}/{}", s.prefix, s.prefix_len),
            na_total: s
                .ranges
                .iter()
                .map(|r| {
                    let (f, l) = (u128::from(r.first), u128::from(r.last));
                    if l < f {
                        0.0
                    } else {
                        (l - f) as f64 + 1.0
                    }
                })
                .sum(),
            pd_total: s
                .pd_pools
                .iter()
                .map(|p| {
                    let bits = i32::from(p.delegated_len) - i32::from(p.prefix_len);
                    if bits < 0 {
                        0.0
                    } else {
                        2f64.powi(bits)
                    }
                })
                .sum(),
        })
        .collect()
}

/// The listening socket, bound at start-up before any worker runs.
pub(crate) struct Bound {
    listener: http_server::Listener,
    addr: SocketAddr,
    /// When the process started, for the status page's uptime.
    started: Instant,
}

/// Binds `addr`; a failure is a start-up error naming the `metrics.listen` key.
pub(crate) fn bind(addr: SocketAddr) -> anyhow::Result<Bound> {
    let listener = http_server::bind(addr)
        .with_context(|| format!("metrics.listen = \"{addr}\": cannot listen there"))?;
    let started = process_age::process_started(Instant::now());
    Ok(Bound {
        addr: listener.addr(),
        listener,
        started,
    })
}

/// The running listener; [`Endpoint::stop`] ends it.
pub(crate) struct Endpoint {
    server: http_server::Server,
}

impl Bound {
    /// Starts the listener thread; `durability` (`durable` / `os-buffer`) is shown on the
    /// status page.
    pub(crate) fn start(
        self,
        sources: Sources,
        durability: &'static str,
    ) -> anyhow::Result<Endpoint> {
        let state = Arc::new(Mutex::new(State {
            sources,
            started: self.started,
            durability: Some(durability),
            history: rates::History::default(),
        }));
        let limits = http_server::Limits {
            name: "tandem-metrics",
            connections: CONNECTIONS,
            deadline: DEADLINE,
            write_deadline: WRITE_DEADLINE,
            body_max: 0,
        };
        let server = self.listener.start(limits, Arc::new(Metrics(state)))?;
        info!(addr = %self.addr, "metrics endpoint: GET /metrics, status page: GET /");
        Ok(Endpoint { server })
    }
}

impl Endpoint {
    /// Stops accepting and joins the listener thread.
    pub(crate) fn stop(self) {
        self.server.stop();
    }
}

/// The metrics thread's own data.
struct State {
    sources: Sources,
    started: Instant,
    durability: Option<&'static str>,
    /// The workers' totals about once a second, for the status page's rates.
    history: rates::History,
}

impl State {
    /// Records the totals when a record is due.
    fn record_if_due(&mut self, now: Instant) {
        if self.history.until_due(now).is_zero() {
            let workers: Vec<_> = self.sources.workers.iter().map(|w| w.load()).collect();
            let xdp = self
                .sources
                .xdp
                .lock()
                .map(|x| x.clone())
                .unwrap_or_default();
            self.history
                .record(now, rates::Totals::of(&workers, xdp.as_deref()));
        }
    }
}

/// The HTTP handler: the state behind a lock, taken by one request (or record) at a time.
struct Metrics(Arc<Mutex<State>>);

impl Handler for Metrics {
    fn admit(&self, head: &Head) -> Result<(), Response> {
        let reply = precheck(&head.method, &head.target);
        reply.map_or(Ok(()), |r| Err(r.into()))
    }

    fn handle(&self, request: Request) -> Response {
        let state = match self.0.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        answer(&request.head.method, &request.head.target, &state).into()
    }

    fn tick(&self, now: Instant) -> Option<Duration> {
        // The accept thread never waits for a scrape being answered: it comes back soon.
        let mut state = match self.0.try_lock() {
            Ok(s) => s,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Some(Duration::from_millis(100)),
        };
        state.record_if_due(now);
        Some(state.history.until_due(now))
    }
}

/// An HTTP answer.
struct Reply {
    status: u16,
    content_type: Option<&'static str>,
    body: String,
}

impl Reply {
    fn plain(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: None,
            body: body.into(),
        }
    }
}

impl From<Reply> for Response {
    fn from(r: Reply) -> Self {
        Self {
            status: r.status,
            content_type: r.content_type.unwrap_or("text/plain; charset=utf-8"),
            headers: if r.status == 405 {
                vec![("Allow", "GET, HEAD".to_owned())]
            } else {
                Vec::new()
            },
            body: r.body.into_bytes(),
        }
    }
}

/// The 404 and 405 answers, from the method and the URL alone.
fn precheck(method: &str, url: &str) -> Option<Reply> {
    let path = url.split('?').next().unwrap_or("");
    if !matches!(path, "/metrics" | "/" | "/status") {
        return Some(Reply::plain(
            404,
            "not found: the metrics are at /metrics, the status page at /\n",
        ));
    }
    if !matches!(method, "GET" | "HEAD") {
        return Some(Reply::plain(405, "only GET\n"));
    }
    None
}

/// The answer to a request: the metrics on `GET /metrics`, the status page on `GET /` and
/// `GET /status` (a query string is ignored), 405 for another method there, 404 elsewhere.
fn answer(method: &str, url: &str, state: &State) -> Reply {
    if let Some(r) = precheck(method, url) {
        return r;
    }
    let path = url.split('?').next().unwrap_or("");
    let scrape = state.sources.scrape();
    if path != "/metrics" {
        return Reply {
            status: 200,
            content_type: Some(status_page::CONTENT_TYPE),
            body: status_page_of(&scrape, state, Instant::now()),
        };
    }
    match encode::encode(scrape) {
        Ok(text) => Reply {
            status: 200,
            content_type: Some(CONTENT_TYPE),
            body: text,
        },
        Err(e) => Reply::plain(500, format!("encoding failed: {e}\n")),
    }
}

/// The status page for `scrape`, with rates against the thread's history as of `now`.
fn status_page_of(scrape: &Scrape, state: &State, now: Instant) -> String {
    let totals = rates::Totals::of(&scrape.workers, scrape.xdp.as_deref());
    let server = status_page::ServerInfo {
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: now.saturating_duration_since(state.started).as_secs(),
        datapath: scrape.datapath,
        durability: state.durability,
    };
    let view = status_page::view(
        scrape,
        server,
        crate::worker::unix_now(),
        state.history.rates(now, &totals),
    );
    status_page::render(&view)
}
