//! Start-up, the signal loop and shutdown of `tandemd run`, and the offline `dump-leases`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Serialize;
use tandem_config::{Config, Durability};
use tandem_engine::Engine;
use tandem_failover::ServerState;
use tandem_lease::{Lease, LeaseKind, LeaseState};
use tracing::{error, info, warn};

use crate::control_api;
use crate::datapath;
use crate::metrics;
use crate::partner;
use crate::partner::control::{self, Control, ControlSetup, WorkerLink};
use crate::partner::messages::{ToControl, ToWorker};
use crate::partner::operator::PartnerDownRequests;
use crate::partner::status::FailoverStatus;
use crate::partner::view::{RelView, View};
use crate::reload;
use crate::service::{self, Service};

use crate::socket::{self, SERVER_PORT};
use crate::stats::{self, Shared};
use crate::store::{self, Store};
use crate::worker::{self, Handoff, Peer, Setup};

/// Bound of each worker's handoff queue (packets for clients it owns, from other workers).
const HANDOFF_QUEUE_LEN: usize = 4096;
/// Bound of the queue from the workers to the failover control thread.
const CONTROL_QUEUE_LEN: usize = 65_536;
/// Bound of each worker's queue from the control thread.
const WORKER_FO_QUEUE_LEN: usize = 4096;

fn load_config(path: &Path) -> anyhow::Result<Config> {
    tandem_config::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

pub(crate) fn serve(config_path: &Path) -> anyhow::Result<()> {
    let config = load_config(config_path)?;
    let durable = matches!(config.storage.durability, Durability::Durable);
    let store = Store::open(&config.storage.path, durable)
        .with_context(|| format!("opening the store at {}", config.storage.path.display()))?;
    let duid = store
        .server_duid(config.server.server_duid.as_deref())
        .context("server DUID")?;
    let policy = config.policy(duid.clone());
    let subnet_ids: Vec<u32> = policy.subnets.iter().map(|s| s.id.0).collect();
    let subnet_infos = metrics::subnet_infos(&policy.subnets);
    let mut engine =
        Engine::new(policy).map_err(|e| anyhow::anyhow!("policy rejected by the engine: {e}"))?;
    let interfaces =
        socket::resolve_interfaces(&config.server.interfaces).context("resolving interfaces")?;
    for iface in &interfaces {
        engine.bind_interface(&iface.name, iface.index);
    }
    let count = config
        .server
        .workers
        .map(|n| n.get())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let count = u32::try_from(count).context("worker count")?;

    let started = std::time::Instant::now();
    let (shards, journals, report) = store
        .load(count, engine.pool_defs(), engine.reserved())
        .context("loading leases")?;
    let leases: usize = shards.iter().map(|s| s.len()).sum();
    info!(
        leases,
        records = report.records,
        skipped = report.skipped,
        files = report.files,
        ms = started.elapsed().as_millis() as u64,
        "store loaded"
    );
    if report.skipped > 0 {
        warn!(
            skipped = report.skipped,
            "damaged store records were skipped (see warnings above)"
        );
    }

    // Failover: the relationships, and the engine unresponsive on their subnets until the
    // control thread has run STARTUP (RFC 8156 §8.3).
    let relationships = match &config.failover {
        Some(fo) => Some(partner::setup::relationships(fo).context("failover configuration")?),
        None => None,
    };
    let mut shards = shards;
    let initial_view: Option<View> = relationships.as_ref().map(|rels| {
        let since = tandem_engine::partner::fo_time(worker::unix_now()).unwrap_or_default();
        rels.iter()
            .map(|r| RelView {
                role: r.role(),
                state: ServerState::Startup,
                since,
                mclt_s: r.config.connection.mclt_s,
                subnets: r.subnets.clone(),
            })
            .collect()
    });
    if let Some(view) = &initial_view {
        engine.set_failover(Some(worker::engine_view(view)));
        for shard in &mut shards {
            engine.configure_shard(shard);
        }
    }

    // Workers inherit this mask: only the main thread takes SIGTERM, SIGINT and SIGHUP.
    let signals = block_signals()?;
    let shutdown = Arc::new(AtomicBool::new(false));
    let mut peers = Vec::new();
    let mut inboxes = Vec::new();
    for _ in 0..count {
        let (tx, rx) = crossbeam_channel::bounded::<Handoff>(HANDOFF_QUEUE_LEN);
        peers.push(Peer {
            tx,
            wake: Arc::new(worker::new_eventfd()?),
        });
        inboxes.push(rx);
    }
    // The control API's queue to each worker (lease commands).
    let (admin_links, admin_inboxes): (Vec<_>, Vec<_>) = peers
        .iter()
        .map(|p| worker::admin::link(p.wake.clone()))
        .unzip();
    // The live reload's queue to each worker (new configurations).
    let (reconfigure_links, reconfigure_inboxes): (Vec<_>, Vec<_>) = peers
        .iter()
        .map(|p| worker::reconfigure::link(p.wake.clone()))
        .unzip();
    // The control thread's queues: one to it, one to each worker.
    let fo_status = Arc::new(std::sync::Mutex::new(FailoverStatus::default()));
    let partner_down = Arc::new(PartnerDownRequests::default());
    let mut control_waker: Option<Arc<mio::Waker>> = None;
    let mut control_setup = None;
    let mut worker_fo: Vec<Option<worker::WorkerFo>> = (0..count).map(|_| None).collect();
    if let (Some(rels), Some(view)) = (relationships, &initial_view) {
        let poll = mio::Poll::new().context("control thread poll")?;
        let waker = control::waker(&poll).context("control thread waker")?;
        control_waker = Some(waker.clone());
        let (to_control, inbox) = crossbeam_channel::bounded::<ToControl>(CONTROL_QUEUE_LEN);
        let mut links = Vec::new();
        for (i, slot) in worker_fo.iter_mut().enumerate() {
            let (tx, rx) = crossbeam_channel::bounded::<ToWorker>(WORKER_FO_QUEUE_LEN);
            links.push(WorkerLink {
                tx,
                wake: peers[i].wake.clone(),
            });
            *slot = Some(worker::WorkerFo::new(
                rx,
                to_control.clone(),
                waker.clone(),
                view.clone(),
            ));
        }
        control_setup = Some(ControlSetup {
            rels,
            state_dir: store.dir().join("failover"),
            workers: links,
            inbox,
            poll,
            shutdown: shutdown.clone(),
            status: fo_status.clone(),
            partner_down: partner_down.clone(),
            pools: engine.pool_defs().to_vec(),
        });
    }
    // Every socket starts deaf to multicast; the datapath decides which ones join (all, when
    // each keeps only its own shard's clients; worker 0's otherwise).
    let sockets = (0..count)
        .map(|_| socket::server_socket(SERVER_PORT))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("binding UDP port {SERVER_PORT}"))?;
    let metrics_bound = match &config.metrics {
        Some(m) => Some(metrics::bind(m.listen)?),
        None => None,
    };
    let control_bound = control_api::bind(&config.control.socket)?;
    let (http_credentials, http_bound) = match &config.control.http {
        Some(h) => {
            let credentials = control_api::http::Credentials::load(h)
                .with_context(|| config_path.display().to_string())?;
            let bound = control_api::http::bind(h, credentials.clone())?;
            (Some(credentials), Some(bound))
        }
        None => (None, None),
    };
    let http_auth_failures = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let allowed = datapath::allowed_cpus();
    let cpus: Vec<usize> = (0..count as usize)
        .map(|i| allowed[i % allowed.len()])
        .collect();
    let datapath = datapath::start(&config.datapath, &interfaces, &sockets, &cpus)?;
    let pin = matches!(datapath.active(), datapath::Active::Xdp { .. });
    // The partner listeners (port 647) are the last privileged step: then the capabilities
    // start-up needed go, before any thread exists to inherit them (they are per thread).
    let control = match control_setup {
        Some(setup) => Some(Control::new(setup).context("failover control thread")?),
        None => None,
    };
    service::drop_capabilities().context("dropping the capabilities start-up needed")?;
    let mut shared = Vec::new();
    let mut threads = Vec::new();
    for (((((id, shard), journal), inbox), fo), socket) in (0..count)
        .zip(shards)
        .zip(journals)
        .zip(inboxes)
        .zip(worker_fo)
        .zip(sockets)
    {
        let stats = Shared::new(&subnet_ids);
        shared.push(stats.clone());
        let setup = Setup {
            id,
            engine: engine.clone(),
            shard,
            journal,
            socket,
            inbox,
            peers: peers.clone(),
            stats,
            shutdown: shutdown.clone(),
            fo,
            // XDP redirects a shard's packets to this CPU: its worker runs there.
            cpu: pin.then(|| cpus[id as usize]),
            admin: admin_inboxes[id as usize].clone(),
            reconfigure: reconfigure_inboxes[id as usize].clone(),
        };
        threads.push(
            std::thread::Builder::new()
                .name(format!("tandem-w{id}"))
                .spawn(move || worker::run(setup))?,
        );
    }
    let control_thread = match control {
        Some(control) => Some(
            std::thread::Builder::new()
                .name("tandem-control".into())
                .spawn(move || control.run())?,
        ),
        None => None,
    };
    let subnet_list = metrics::SubnetList::new(subnet_infos);
    let reloader = Arc::new(std::sync::Mutex::new(reload::Reloader::new(
        reload::Setup {
            path: config_path.to_owned(),
            config: config.clone(),
            server_duid: duid.clone(),
            interfaces: interfaces
                .iter()
                .map(|i| (i.name.clone(), i.index))
                .collect(),
            workers: reconfigure_links,
            stats: shared.clone(),
            metrics: metrics_bound.is_some().then(|| subnet_list.clone()),
        },
    )));
    let control_sources = Arc::new(control_api::Sources {
        workers: admin_links,
        storage: store.dir().to_owned(),
        datapath: datapath.active().name(),
        durability: if durable { "durable" } else { "os-buffer" },
        failover: control_thread.is_some().then(|| fo_status.clone()),
        partner_down: control_waker.clone().map(|waker| control_api::PartnerDown {
            requests: partner_down.clone(),
            waker,
        }),
        started,
        reload: Some(reloader.clone()),
        http: http_credentials.clone(),
    });
    let control_api = control_bound.start(control_sources.clone())?;
    let control_http = match http_bound {
        Some(b) => Some(b.start(control_sources, http_auth_failures.clone())?),
        None => None,
    };
    // The XDP counters as the main thread last read them, for the metrics thread.
    let xdp_latest = Arc::new(std::sync::Mutex::new(None));
    let endpoint = match metrics_bound {
        Some(bound) => Some(bound.start(
            metrics::Sources {
                workers: shared.clone(),
                subnets: subnet_list,
                datapath: datapath.active().name(),
                xdp: xdp_latest.clone(),
                failover: control_thread.is_some().then(|| fo_status.clone()),
                http_auth_failures: http_credentials.is_some().then_some(http_auth_failures),
            },
            if durable { "durable" } else { "os-buffer" },
        )?),
        None => None,
    };
    let names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
    info!(
        duid = %store::hex(&duid),
        durability = if durable { "durable" } else { "os-buffer" },
        "tandemd: serving on {} with {count} workers",
        names.join(",")
    );
    std::fs::write(
        store.dir().join("tandemd.ready"),
        std::process::id().to_string(),
    )?;
    let mut service = Service::from_env();
    let mut heartbeats = service::Heartbeats::new(shared.len(), std::time::Instant::now());
    service.ready(&format!(
        "serving on {} with {count} workers, datapath {}",
        names.join(","),
        datapath.active().name()
    ));

    let has_failover = control_thread.is_some();
    let meta = |now| stats::Meta {
        now,
        datapath: datapath.active().name(),
        xdp: datapath.counters(),
        durability: if durable { "durable" } else { "os-buffer" },
        skipped_at_start: report.skipped,
        failover: has_failover.then(|| fo_status.lock().map(|s| s.clone()).unwrap_or_default()),
    };
    loop {
        if threads.iter().any(|t| t.is_finished()) {
            warn!("a worker stopped; shutting down");
            break;
        }
        let control_alive = control_thread.as_ref().is_none_or(|t| !t.is_finished());
        let workers_alive = heartbeats.healthy(
            std::time::Instant::now(),
            shared.iter().map(|s| s.publishes()),
        );
        service.watchdog(control_alive && workers_alive);
        match wait_signal(&signals, Duration::from_secs(1)) {
            Some(libc::SIGHUP) => {
                // Live reload (the outcome is logged); the control API's `config-reload`
                // takes the same lock.
                // Never wait for a reload the control API runs: the watchdog, SIGTERM and
                // the workers' health are this loop's.
                match reloader.try_lock() {
                    Ok(mut r) => {
                        let _ = r.reload("SIGHUP");
                        // The HTTP password file is read again (an error keeps the old one).
                        if let Some(c) = &http_credentials {
                            let _ = c.reload("SIGHUP");
                        }
                    }
                    Err(std::sync::TryLockError::WouldBlock) => {
                        warn!("SIGHUP: a reload is already running; this one is ignored")
                    }
                    Err(std::sync::TryLockError::Poisoned(_)) => {
                        error!("SIGHUP: the reload state is poisoned; restart to change the config")
                    }
                }
            }
            Some(libc::SIGUSR1) if has_failover => {
                // The operator's "partner down" (RFC 8156 §8; R54): the control thread applies
                // it to every relationship whose state allows it.
                warn!("SIGUSR1: the operator declares the failover partner down");
                partner_down.request(None);
                control_waker_wake(&control_waker);
            }
            Some(libc::SIGUSR1) => warn!("SIGUSR1: no failover relationship; ignoring"),
            Some(sig) => {
                info!(signal = sig, "shutting down");
                break;
            }
            None => {
                let meta = meta(worker::unix_now());
                if endpoint.is_some() {
                    if let Ok(mut x) = xdp_latest.lock() {
                        *x = meta
                            .xdp
                            .as_ref()
                            .map(|m| m.iter().map(|(k, v)| (*k, *v)).collect());
                    }
                }
                if let Err(e) = stats::write(store.dir(), &shared, &meta) {
                    warn!(error = %e, "could not write stats.json");
                }
            }
        }
    }
    service.stopping();
    // The control API first: a lease command in progress still finds its worker.
    control_api.stop();
    if let Some(h) = control_http {
        h.stop();
    }
    shutdown.store(true, Ordering::Relaxed);
    control_waker_wake(&control_waker);
    for peer in &peers {
        worker::wake(&peer.wake);
    }
    let mut failed = false;
    // The control thread flushes its updates and sends DISCONNECT (R21) while the workers
    // still answer its last messages.
    if let Some(t) = control_thread {
        if !matches!(t.join(), Ok(Ok(()))) {
            failed = true;
        }
    }
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => failed = true,
        }
    }
    if let Some(endpoint) = endpoint {
        endpoint.stop();
    }
    stats::write(store.dir(), &shared, &meta(worker::unix_now()))?;
    let _ = std::fs::remove_file(store.dir().join("tandemd.ready"));
    if failed {
        bail!("a worker failed; see the log");
    }
    info!("stopped");
    Ok(())
}

fn control_waker_wake(w: &Option<Arc<mio::Waker>>) {
    if let Some(w) = w {
        let _ = w.wake();
    }
}

fn block_signals() -> anyhow::Result<libc::sigset_t> {
    // SAFETY: sigset_t is plain data; the calls only read and write it and the thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1] {
            libc::sigaddset(&mut set, sig);
        }
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            bail!("pthread_sigmask failed: {rc}");
        }
        Ok(set)
    }
}

fn wait_signal(set: &libc::sigset_t, timeout: Duration) -> Option<i32> {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `set` and `ts` are live for the call; a null siginfo pointer is allowed.
    let sig = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &ts) };
    (sig > 0).then_some(sig)
}

#[derive(Serialize)]
struct LeaseJson<'a> {
    kind: &'a str,
    address: String,
    prefix_len: u8,
    duid: String,
    iaid: u32,
    subnet_id: u32,
    preferred: u32,
    valid: u32,
    cltt: u64,
    expires_at: u64,
    state: &'a str,
}

fn lease_json(lease: &Lease) -> LeaseJson<'_> {
    LeaseJson {
        kind: match lease.resource.kind {
            LeaseKind::Pd => "pd",
            _ => "na",
        },
        address: lease.resource.addr.to_string(),
        prefix_len: lease.resource.prefix_len,
        duid: store::hex(&lease.duid),
        iaid: lease.iaid,
        subnet_id: lease.subnet_id,
        preferred: lease.preferred_s,
        valid: lease.valid_s,
        cltt: lease.cltt,
        expires_at: lease.expires_at,
        state: match lease.state {
            LeaseState::Bound => "bound",
            LeaseState::Declined => "declined",
            LeaseState::Released => "released",
            LeaseState::Expired => "expired",
            _ => "other",
        },
    }
}

/// `tandemd dump-leases`: the store as a start would load it. It changes no file, except that it
/// completes a store relayout a crash interrupted, as a start would.
pub(crate) fn dump_leases(config_path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let config = load_config(config_path)?;
    let durable = matches!(config.storage.durability, Durability::Durable);
    let store = Store::open(&config.storage.path, durable)?;
    let (leases, report) = store.read_leases()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written: std::io::Result<()> = leases.iter().try_for_each(|lease| {
        serde_json::to_writer(&mut out, &lease_json(lease))?;
        out.write_all(b"\n")
    });
    match written.and_then(|()| out.flush()) {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
        other => other?,
    }
    eprintln!(
        "replayed {} records, skipped {}",
        report.records, report.skipped
    );
    Ok(())
}
