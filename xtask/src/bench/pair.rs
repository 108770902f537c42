//! The failover pair's row [RFC 8156]: a tandemd primary and secondary (durable, mutual TLS) in
//! the tandem-lab `Pair` lab, started by `cargo xtask demo`'s code and waited on until both are
//! in NORMAL; a fresh pair for the search and for the fixed-rate run. CPU is the sum of BOTH
//! processes. After the fixed-rate run, the partners' lazy-update counters in stats.json say
//! whether every update was acknowledged.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};
use tandem_lab::pair::Pair;
use tandem_lab::{wait_for, LabDatapath, ServerParams, Subject, CLIENT_IF};

use crate::bench::figures::{fixed_figures, max_rate, search_stop, wins};
use crate::bench::generator::{fixed_args, search_args, tandem_bench, LOSS_MAX};
use crate::bench::single::wait_datapath;
use crate::bench::{pool, role, BenchServer, Ctx, Measured};
use crate::compare::CpuWindow;
use crate::demo_pair::{start_pair, wait_normal};
use crate::proc_stat::{thread_deltas, threads_of, CpuTicks};
use crate::results::{BenchRow, LazyUpdates, PairFigures, Replication, Served};

/// How long the partners may take to acknowledge what the fixed-rate run left queued.
const REPLICATION_WAIT: Duration = Duration::from_secs(30);

/// The datapaths tried, best first: XDP native, XDP generic, sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Datapath {
    Native,
    Generic,
    Sockets,
}

impl Datapath {
    fn lab(self, object: &Path) -> LabDatapath {
        match self {
            Self::Native | Self::Generic => LabDatapath::Xdp {
                object: object.to_path_buf(),
                generic: self == Self::Generic,
            },
            Self::Sockets => LabDatapath::Socket,
        }
    }

    /// stats.json's `datapath` for this mode.
    fn stats_name(self) -> &'static str {
        match self {
            Self::Native => "xdp-native",
            Self::Generic => "xdp-generic",
            Self::Sockets => "socket",
        }
    }

    /// The table's datapath cell.
    fn cell(self) -> &'static str {
        match self {
            Self::Native => "XDP native (both)",
            Self::Generic => "XDP generic (both)",
            Self::Sockets => "sockets (both)",
        }
    }

    fn next(self) -> Option<Self> {
        match self {
            Self::Native => Some(Self::Generic),
            Self::Generic => Some(Self::Sockets),
            Self::Sockets => None,
        }
    }
}

/// Starts fresh pairs, falling back from native XDP to generic to sockets once for good.
struct PairStarter<'a> {
    lab: &'a Pair,
    params: ServerParams,
    tandemd: &'a Path,
    object: &'a Path,
    datapath: Datapath,
}

impl PairStarter<'_> {
    /// A fresh pair in `dir`, both in NORMAL on the best datapath that starts.
    fn start(&mut self, dir: &Path) -> anyhow::Result<(Subject, Subject)> {
        loop {
            let mut p = self.params.clone();
            p.datapath = self.datapath.lab(self.object);
            let sub = dir.join(self.datapath.stats_name());
            std::fs::create_dir_all(&sub)?;
            let started = start_pair(self.lab, &p, &sub, self.tandemd).and_then(|(a, b)| {
                wait_normal(&a, &b)?;
                for s in [&a, &b] {
                    wait_datapath(s, self.datapath.stats_name())?;
                }
                Ok((a, b))
            });
            match (started, self.datapath.next()) {
                (Ok(pair), _) => return Ok(pair),
                (Err(e), Some(next)) => {
                    println!(
                        "bench: the pair did not start on {} ({e:#}); falling back to {}",
                        self.datapath.cell(),
                        next.cell()
                    );
                    self.datapath = next;
                }
                (Err(e), None) => return Err(e),
            }
        }
    }
}

/// The pair's search and fixed-rate run at `rate`, in a `Pair` lab of its own.
pub(super) fn measure(
    ctx: &Ctx<'_>,
    tandemd: &Path,
    object: &Path,
    dir: &Path,
    rate: u32,
) -> anyhow::Result<Measured> {
    let t = &ctx.timing;
    let heading = BenchServer::Pair.heading();
    let lab = Pair::new().context("building the failover-pair lab")?;
    lab.clients
        .run(&["ethtool", "-K", CLIENT_IF, "tx", "off"])?;
    let mut params = lab.server_params();
    params.pool = pool()?;
    let workers = params.workers;
    let mut starter = PairStarter {
        lab: &lab,
        params,
        tandemd,
        object,
        datapath: Datapath::Native,
    };

    println!("\nbench: {heading}: search for the maximum rate with loss < 1 % ...");
    let search_dir = dir.join("search");
    let (a, b) = starter.start(&search_dir)?;
    // The start-up's lazy updates go through before the load (see the fixed-rate run below).
    settled_replication(&a, &b, 3);
    let search = tandem_bench(
        &lab.clients,
        ctx.bench_bin,
        &search_args(t),
        &search_dir,
        "search",
        t.search_bound(),
    )?;
    drop((a, b));
    let max = max_rate(&search);
    println!(
        "bench: {heading}: maximum {max:?}/s ({})",
        starter.datapath.cell()
    );
    crate::interrupt::check()?;

    println!("\nbench: {heading}: tandem-bench at {rate}/s for CPU, latency and replication ...");
    let fixed_dir = dir.join("fixed");
    let (primary, secondary) = starter.start(&fixed_dir)?;
    let bound = Duration::from_secs(u64::from(t.seconds)) + Duration::from_millis(t.wait_ms);
    let args = fixed_args(t, rate);
    // What the counters hold once the start-up's updates (the primary hands the secondary its
    // half of the prefixes, RFC 8156 §4.2.1) are through predates the run; waiting for them
    // also keeps that burst out of the CPU window.
    let due_before = settled_replication(&primary, &secondary, 3).map(|r| r.due());
    let (cpu, fixed_report) = cpu_window_of(&[&primary, &secondary], ctx.hz, || {
        tandem_bench(
            &lab.clients,
            ctx.bench_bin,
            &args,
            &fixed_dir,
            "fixed",
            bound,
        )
    })?;
    let fixed = fixed_figures(&fixed_report, cpu)?;
    let replication = settled_replication(&primary, &secondary, 2);
    let duids = [("primary", &primary), ("secondary", &secondary)]
        .map(|(name, s)| (name, server_duid(s).unwrap_or_default()));
    let (wins, second_advertises) = wins(&fixed_report, &duids);
    let served = [("primary", &primary), ("secondary", &secondary)]
        .into_iter()
        .filter_map(|(name, s)| served(name, &s.stats().ok()??))
        .collect();
    drop((primary, secondary));
    crate::interrupt::check()?;

    let setup = format!(
        "two tandemd release builds (primary and secondary), {workers} workers each, durability \
         = \"durable\", failover with mutual TLS on a separate partner link, MCLT 30 s, \
         active/passive in NORMAL (the primary allocates from the odd half of the pool); \
         datapath {}",
        starter.datapath.cell()
    );
    let pair = PairFigures {
        replication,
        due_before,
        wins,
        second_advertises,
        served,
    };
    let row = BenchRow {
        server: heading.to_owned(),
        role: role(BenchServer::Pair),
        setup,
        datapath: starter.datapath.cell().to_owned(),
        max_rate: max,
        stop: Some(search_stop(&search, max, LOSS_MAX)),
        fixed: Some(fixed),
        perfdhcp: None,
        pair: Some(pair.clone()),
    };
    let raw = json!({
        "server": heading,
        "search": search,
        "fixed": fixed_report,
        "pair": pair,
    });
    Ok(Measured {
        row,
        raw,
        plot: search_dir.join("search.svg"),
    })
}

/// Runs `load` and returns the CPU time of all `subjects` together over it (user + system,
/// every thread, `/proc/<pid>/stat` right before and right after), with the load's result.
/// Threads are named `<namespace>/<thread>`.
fn cpu_window_of<T>(
    subjects: &[&Subject],
    hz: u64,
    load: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(CpuWindow, T)> {
    let mut pids = Vec::new();
    for s in subjects {
        let pid = s.pid().context("a server of the pair is not running")?;
        pids.push((
            s.ns_name().to_owned(),
            pid,
            threads_of(pid)?,
            CpuTicks::of(pid)?,
        ));
    }
    let started = Instant::now();
    let out = load()?;
    let wall_s = started.elapsed().as_secs_f64();
    let (mut ticks, mut threads) = (0u64, Vec::new());
    for (ns, pid, threads_before, before) in &pids {
        let after = CpuTicks::of(*pid).context("a server of the pair exited during the load")?;
        ticks += after.total().saturating_sub(before.total());
        for (name, t) in thread_deltas(threads_before, &threads_of(*pid)?) {
            threads.push((format!("{ns}/{name}"), t as f64 / hz as f64));
        }
    }
    threads.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let window = CpuWindow {
        cpu_s: ticks as f64 / hz as f64,
        wall_s,
        threads,
    };
    Ok((window, out))
}

/// The server DUID tandemd stored (`<storage>/server-duid`, hex).
fn server_duid(s: &Subject) -> anyhow::Result<String> {
    let path = s.storage_dir().join("server-duid");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(text.trim().to_ascii_lowercase())
}

/// Both partners' lazy-update counters once nothing is queued or unacknowledged on either side
/// and `readings` readings a second apart agree (stats.json is rewritten every second), or the
/// last reading after [`REPLICATION_WAIT`]; None when stats.json never had them.
fn settled_replication(
    primary: &Subject,
    secondary: &Subject,
    readings: u32,
) -> Option<Replication> {
    let read = || read_replication(primary, secondary);
    let (mut last, mut same) = (read(), 1);
    let settled = wait_for("the pair's lazy updates", REPLICATION_WAIT, || {
        std::thread::sleep(Duration::from_millis(1000));
        let now = read();
        let idle = now.is_some_and(|r| {
            [r.primary, r.secondary]
                .iter()
                .all(|u| u.queued == 0 && u.unacked == 0)
        });
        same = if now.is_some() && now == last {
            same + 1
        } else {
            1
        };
        last = now;
        (idle && same >= readings).then_some(now).flatten()
    });
    settled.ok().or(last)
}

/// Both partners' lazy-update counters as their stats.json files say now.
fn read_replication(primary: &Subject, secondary: &Subject) -> Option<Replication> {
    Some(Replication {
        primary: lazy_updates(&primary.stats().ok()??)?,
        secondary: lazy_updates(&secondary.stats().ok()??)?,
    })
}

/// What a stats.json says `server` received, answered and dropped for failover reasons.
fn served(server: &str, stats: &Value) -> Option<Served> {
    let failover_drops = stats
        .get("drops")?
        .as_object()?
        .iter()
        .filter(|(k, _)| k.starts_with("failover"))
        .filter_map(|(_, v)| v.as_u64())
        .sum();
    Some(Served {
        server: server.to_owned(),
        received: stats.get("received")?.as_u64()?,
        replied: stats.get("replied")?.as_u64()?,
        failover_drops,
    })
}

/// The first relationship's lazy-update counters in a stats.json.
fn lazy_updates(stats: &Value) -> Option<LazyUpdates> {
    let rel = stats.get("failover")?.get("relationships")?.get(0)?;
    let n = |k: &str| rel.get(k).and_then(Value::as_u64);
    Some(LazyUpdates {
        sent: n("sent")?,
        acked: n("acked")?,
        rejected: n("rejected")?,
        queued: n("queued")?,
        unacked: n("unacked")?,
        received: n("received")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_update_counters_come_from_the_first_relationship() {
        let stats = json!({ "failover": { "relationships": [
            { "name": "lab-pair", "state": "NORMAL", "sent": 10, "acked": 9, "rejected": 0,
              "queued": 1, "unacked": 1, "parked": 0, "received": 7 },
            { "name": "other", "sent": 99 }
        ]}});
        assert_eq!(
            lazy_updates(&stats),
            Some(LazyUpdates {
                sent: 10,
                acked: 9,
                rejected: 0,
                queued: 1,
                unacked: 1,
                received: 7
            })
        );
        assert_eq!(lazy_updates(&json!({ "workers": [] })), None);
        let partial = json!({ "failover": { "relationships": [{ "sent": 1 }] } });
        assert_eq!(lazy_updates(&partial), None);
    }

    #[test]
    fn served_counts_only_failover_drops() {
        let stats = json!({ "received": 100, "replied": 0, "drops": {
            "failover_renew_only": 90, "failover_unresponsive": 5, "malformed": 5 } });
        assert_eq!(
            served("secondary", &stats),
            Some(Served {
                server: "secondary".into(),
                received: 100,
                replied: 0,
                failover_drops: 95
            })
        );
        assert_eq!(served("x", &json!({ "received": 1 })), None);
    }

    #[test]
    fn datapaths_fall_back_from_native_to_sockets() {
        let obj = Path::new("/x.o");
        assert_eq!(Datapath::Native.next(), Some(Datapath::Generic));
        assert_eq!(Datapath::Generic.next(), Some(Datapath::Sockets));
        assert_eq!(Datapath::Sockets.next(), None);
        assert_eq!(
            Datapath::Generic.lab(obj),
            LabDatapath::Xdp {
                object: obj.to_path_buf(),
                generic: true
            }
        );
        assert_eq!(Datapath::Sockets.lab(obj), LabDatapath::Socket);
        assert_eq!(Datapath::Native.stats_name(), "xdp-native");
    }
}
