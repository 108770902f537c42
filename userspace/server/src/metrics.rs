//! The Prometheus / OpenMetrics endpoint (`[metrics] listen`): one thread answering
//! `GET /metrics` with [`encode::encode`] of the counters the workers publish every tick and
//! the control thread's failover status, the same sources as `stats.json`. Nothing here
//! touches the packet path: a scrape only loads published atomics and takes the status lock
//! the control thread holds once per turn.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::Context;
use tandem_engine::policy::Subnet;
use tracing::{debug, info, warn};

use crate::partner::status::FailoverStatus;
use crate::stats::Shared;

mod encode;
#[cfg(test)]
mod tests;

pub(crate) use encode::{Scrape, SubnetInfo};

/// `Content-Type` of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The XDP program's counters by name, as the main thread last read them.
pub(crate) type XdpLatest = Arc<Mutex<Option<Vec<(&'static str, u64)>>>>;

/// Where a scrape reads from.
pub(crate) struct Sources {
    pub(crate) workers: Vec<Arc<Shared>>,
    pub(crate) subnets: Vec<SubnetInfo>,
    pub(crate) datapath: &'static str,
    /// The XDP counters as the main thread last read them (once a second).
    pub(crate) xdp: XdpLatest,
    /// The control thread's status; `None` standalone.
    pub(crate) failover: Option<Arc<Mutex<FailoverStatus>>>,
}

impl Sources {
    fn scrape(&self) -> Scrape {
        Scrape {
            workers: self.workers.iter().map(|w| w.load()).collect(),
            subnets: self.subnets.clone(),
            datapath: self.datapath,
            xdp: self.xdp.lock().map(|x| x.clone()).unwrap_or_default(),
            failover: self
                .failover
                .as_ref()
                .map(|s| s.lock().map(|s| s.clone()).unwrap_or_default()),
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
    server: tiny_http::Server,
    addr: SocketAddr,
}

/// Binds `addr`; a failure is a start-up error naming the `metrics.listen` key.
pub(crate) fn bind(addr: SocketAddr) -> anyhow::Result<Bound> {
    let server = tiny_http::Server::http(addr)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("metrics.listen = \"{addr}\": cannot listen there"))?;
    Ok(Bound { server, addr })
}

/// The running listener; [`Endpoint::stop`] ends it.
pub(crate) struct Endpoint {
    server: Arc<tiny_http::Server>,
    thread: JoinHandle<()>,
}

impl Bound {
    /// Starts the listener thread.
    pub(crate) fn start(self, sources: Sources) -> anyhow::Result<Endpoint> {
        let server = Arc::new(self.server);
        let listener = server.clone();
        let thread = std::thread::Builder::new()
            .name("tandem-metrics".into())
            .spawn(move || serve(&listener, &sources))?;
        info!(addr = %self.addr, "metrics endpoint: GET /metrics");
        Ok(Endpoint { server, thread })
    }
}

impl Endpoint {
    /// Stops accepting, lets the thread finish its request and joins it.
    pub(crate) fn stop(self) {
        self.server.unblock();
        if self.thread.join().is_err() {
            warn!("the metrics thread panicked");
        }
    }
}

fn serve(server: &tiny_http::Server, sources: &Sources) {
    // `recv` returns an error once `unblock` was called (shutdown).
    while let Ok(request) = server.recv() {
        let (status, body) = answer(request.method(), request.url(), sources);
        let mut response = tiny_http::Response::from_string(body).with_status_code(status);
        if status == 200 {
            if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", CONTENT_TYPE) {
                response.add_header(h);
            }
        }
        if let Err(e) = request.respond(response) {
            debug!(error = %e, "metrics: could not answer a scrape");
        }
    }
}

/// Status and body for a request: the metrics on `GET /metrics` (a query string is ignored),
/// 405 for another method there, 404 elsewhere.
fn answer(method: &tiny_http::Method, url: &str, sources: &Sources) -> (u16, String) {
    let path = url.split('?').next().unwrap_or("");
    if path != "/metrics" {
        return (404, "not found: the metrics are at /metrics\n".into());
    }
    if !matches!(method, tiny_http::Method::Get | tiny_http::Method::Head) {
        return (405, "only GET\n".into());
    }
    match encode::encode(sources.scrape()) {
        Ok(text) => (200, text),
        Err(e) => (500, format!("encoding failed: {e}\n")),
    }
}
