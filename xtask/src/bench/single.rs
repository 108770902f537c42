//! One server at a time in the `Direct` lab (Kea, tandemd durable, tandemd os-buffer): a fresh
//! server for each of the search, the fixed-rate run and perfdhcp.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde_json::json;
use tandem_lab::{wait_for, Direct, LabDatapath, ServerParams, Subject, SubjectKind};

use crate::bench::figures::{fixed_figures, max_rate, search_stop};
use crate::bench::generator::{fixed_args, perf_load, search_args, tandem_bench, LOSS_MAX};
use crate::bench::{role, BenchServer, Ctx, Measured};
use crate::compare::{cpu_window, kea_version, perfdhcp_load, perfdhcp_run};
use crate::results::BenchRow;
use crate::servers::{kea_multi_threaded, tandem_durability};

/// Starts the servers the bench measures, each fresh in its own directory.
pub(super) struct Servers<'a> {
    pub(super) lab: &'a Direct,
    pub(super) params: ServerParams,
    pub(super) tandemd: Option<&'a Path>,
    pub(super) object: Option<&'a Path>,
    /// Native XDP failed once: go straight to generic.
    pub(super) generic_only: bool,
}

impl Servers<'_> {
    /// A fresh `server` in `dir`: the subject, its setup line and its datapath.
    fn start(
        &mut self,
        server: BenchServer,
        dir: &Path,
    ) -> anyhow::Result<(Subject, String, String)> {
        std::fs::create_dir_all(dir)?;
        let workers = self.params.workers;
        if server == BenchServer::Kea {
            let mut s =
                Subject::start(SubjectKind::Kea, &self.lab.server, &self.params, dir, None)?;
            kea_multi_threaded(&mut s, &self.lab.server, workers)?;
            let setup = format!(
                "kea-dhcp6 {}, memfile with persist (CSV), multi-threading on, {workers} threads, \
                 packet queue 64, WARN logging",
                kea_version()
            );
            return Ok((s, setup, "sockets".to_owned()));
        }
        let (mut s, generic) = self.start_tandem(dir)?;
        let durability = if server == BenchServer::TandemOsBuffer {
            tandem_durability(&mut s, &self.lab.server, "os-buffer")?;
            "os-buffer"
        } else {
            "durable"
        };
        let mode = if generic { "xdp-generic" } else { "xdp-native" };
        wait_datapath(&s, mode)?;
        let setup = format!(
            "tandemd release build, {workers} workers, durability = \"{durability}\", \
             [datapath] mode = \"xdp\", xdp-attach = \"{}\"",
            if generic { "generic" } else { "native" }
        );
        let datapath = if generic { "XDP generic" } else { "XDP native" };
        Ok((s, setup, datapath.to_owned()))
    }

    /// tandemd with XDP attached natively, else generically; says which.
    fn start_tandem(&mut self, dir: &Path) -> anyhow::Result<(Subject, bool)> {
        let object = self.object.context("no eBPF object")?.to_path_buf();
        let ns = &self.lab.server;
        if !self.generic_only {
            let mut p = self.params.clone();
            p.datapath = LabDatapath::Xdp {
                object: object.clone(),
                generic: false,
            };
            let native = dir.join("native");
            std::fs::create_dir_all(&native)?;
            match Subject::start(SubjectKind::Tandem, ns, &p, &native, self.tandemd) {
                Ok(s) => return Ok((s, false)),
                Err(e) => {
                    println!("bench: native XDP did not start ({e:#}); falling back to generic");
                    self.generic_only = true;
                }
            }
        }
        let mut p = self.params.clone();
        p.datapath = LabDatapath::Xdp {
            object,
            generic: true,
        };
        let generic = dir.join("generic");
        std::fs::create_dir_all(&generic)?;
        let s = Subject::start(SubjectKind::Tandem, ns, &p, &generic, self.tandemd)?;
        Ok((s, true))
    }
}

/// The share of packets tandemd's workers served where they arrived (1 − handoffs /
/// received), once stats.json counts at least the run's 2 × `completed` packets (workers
/// publish a few times a second, stats.json is written every second).
fn owner_share(s: &Subject, completed: u64) -> Option<f64> {
    let v = wait_for("tandemd's counters", Duration::from_secs(5), || {
        let v = s.stats().ok().flatten()?;
        (v["received"].as_u64()? >= 2 * completed).then_some(v)
    })
    .ok()?;
    let received = v["received"].as_u64()?;
    let handoffs = v["handoffs"].as_u64()?;
    (received > 0).then(|| 1.0 - handoffs as f64 / received as f64)
}

/// Waits until tandemd's stats.json names `mode` as its datapath.
pub(super) fn wait_datapath(s: &Subject, mode: &str) -> anyhow::Result<()> {
    wait_for(
        "the datapath in stats.json",
        Duration::from_secs(15),
        || {
            let v = s.stats().ok().flatten()?;
            (v["datapath"] == mode).then_some(())
        },
    )
    .with_context(|| format!("tandemd did not report datapath {mode:?}"))
}

/// The three measurements of `server` (not the pair), each against a fresh server in
/// `dir/<part>`; `rate` turns the search's maximum into the fixed rate.
pub(super) fn measure(
    ctx: &Ctx<'_>,
    servers: &mut Servers<'_>,
    server: BenchServer,
    dir: &Path,
    rate: impl FnOnce(Option<u32>) -> u32,
) -> anyhow::Result<(Measured, Option<u32>)> {
    let t = &ctx.timing;
    let client = &servers.lab.client;
    let heading = server.heading();

    println!("\nbench: {heading}: search for the maximum rate with loss < 1 % ...");
    let search_dir = dir.join("search");
    let (mut s, setup, datapath) = servers.start(server, &search_dir)?;
    let search = tandem_bench(
        client,
        ctx.bench_bin,
        &search_args(t),
        &search_dir,
        "search",
        t.search_bound(),
    )?;
    s.stop()?;
    let max = max_rate(&search);
    println!("bench: {heading}: maximum {max:?}/s ({datapath})");
    crate::interrupt::check()?;

    let rate = rate(max);
    println!("\nbench: {heading}: tandem-bench at {rate}/s for CPU and latency ...");
    let fixed_dir = dir.join("fixed");
    let (s, _, _) = servers.start(server, &fixed_dir)?;
    let bound = Duration::from_secs(u64::from(t.seconds)) + Duration::from_millis(t.wait_ms);
    let args = fixed_args(t, rate);
    let (cpu, fixed_report) = cpu_window(&s, ctx.hz, || {
        tandem_bench(client, ctx.bench_bin, &args, &fixed_dir, "fixed", bound)
    })?;
    let mut fixed = fixed_figures(&fixed_report, cpu)?;
    if server != BenchServer::Kea {
        fixed.owner_share = owner_share(&s, fixed.completed);
    }
    let mut s = s;
    s.stop()?;
    crate::interrupt::check()?;

    println!("\nbench: {heading}: perfdhcp at {rate}/s for CPU ...");
    let perf_dir = dir.join("perfdhcp");
    let (mut s, _, _) = servers.start(server, &perf_dir)?;
    let perf = perfdhcp_load(perf_load(t, rate));
    let perf_run = perfdhcp_run(
        &mut s,
        client,
        &perf,
        &perf_dir,
        ctx.hz,
        heading,
        setup.clone(),
    )?;
    crate::interrupt::check()?;

    let row = BenchRow {
        server: heading.to_owned(),
        role: role(server),
        setup,
        datapath,
        max_rate: max,
        stop: Some(search_stop(&search, max, LOSS_MAX)),
        fixed: Some(fixed),
        perfdhcp: Some(perf_run.clone()),
        pair: None,
    };
    let raw = json!({
        "server": heading,
        "search": search,
        "fixed": fixed_report,
        "perfdhcp": perf_run,
    });
    Ok((
        Measured {
            row,
            raw,
            plot: search_dir.join("search.svg"),
        },
        max,
    ))
}
