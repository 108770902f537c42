//! `cargo xtask demo`: the README's main job.
//!
//! Builds tandemd (release), then in two tandem-lab topologies — `Direct` (client and server
//! namespaces on one veth link) and `Relayed` (client, `dhcrelay -6`, server) — starts tandemd
//! with a generated config, gets an address and a /56 with a real `dhclient -6 -N -P`, adds
//! simulated clients with `perfdhcp -6` (directly attached), stops tandemd, reads the store back
//! with `tandemd dump-leases`, prints a summary and removes every namespace, process and file.

use std::fmt::Write as _;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use tandem_lab::{
    wait_for, Dhclient, DhclientMode, Direct, LeaseKind, Netns, Perfdhcp, PerfdhcpReport, Relay,
    Relayed, StoredLease, Subject, SubjectKind, CLIENT_IF, RELAY_DOWN_IF, RELAY_UP_IF, SERVER_IF,
};

use crate::interrupt;
use crate::servers::{build_tandemd, WorkDir};
use crate::shell::{cmd, display};

/// How long a real client may take to get its address and prefix.
const BIND_TIMEOUT: Duration = Duration::from_secs(30);
/// perfdhcp's rate for the simulated clients (exchanges per second).
const PERF_RATE: u32 = 1000;

/// Which server the demo runs (Kea shows the reference doing the same job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DemoSubject {
    Tandem,
    Kea,
}

/// What the demo options ask for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// The server under demonstration.
    pub(crate) subject: DemoSubject,
    /// Simulated perfdhcp clients (`-R`); perfdhcp runs twice as many exchanges.
    pub(crate) clients: u32,
    /// Keep the scratch directory (configs, stores, logs) instead of removing it.
    pub(crate) keep: bool,
}

/// One topology's results, gathered before its lab is torn down.
#[derive(Debug)]
struct Phase {
    title: &'static str,
    topology: String,
    dhclient: (Ipv6Addr, (Ipv6Addr, u8)),
    perfdhcp: Option<(String, PerfdhcpReport)>,
    leases: Vec<StoredLease>,
    stats: Option<serde_json::Value>,
    storage: PathBuf,
    files: Vec<(String, u64)>,
}

pub(crate) fn run(root: &Path, options: Options) -> anyhow::Result<()> {
    let started = Instant::now();
    interrupt::install();
    crate::deps::run()?;
    tandem_lab::preflight()?;
    let tandemd = match options.subject {
        DemoSubject::Tandem => Some(build_tandemd(root)?),
        DemoSubject::Kea => None,
    };
    let kind = match options.subject {
        DemoSubject::Tandem => SubjectKind::Tandem,
        DemoSubject::Kea => SubjectKind::Kea,
    };
    let tandemd = tandemd.as_deref();
    let mut work = WorkDir::new("demo")?;
    if options.keep {
        work.keep();
    }
    println!("\ndemo: directly attached clients ...");
    let direct =
        direct_phase(kind, tandemd, &work, options.clients).context("directly attached phase")?;
    interrupt::check()?;
    println!("demo: clients behind dhcrelay -6 ...");
    let relayed = relayed_phase(kind, tandemd, &work).context("relayed phase")?;

    let mut out = String::new();
    writeln!(out, "\n================ tandem demo ================")?;
    match tandemd {
        Some(bin) => writeln!(out, "server: tandemd {}", bin.display())?,
        None => writeln!(
            out,
            "server: {} (the reference implementation)",
            kea_version()
        )?,
    }
    for phase in [&direct, &relayed] {
        out.push_str(&phase.render());
    }
    let kept = if options.keep {
        format!("kept {} (configs, stores, logs)", work.path().display())
    } else {
        format!("removed {} (pass --keep to keep it)", work.path().display())
    };
    let left = our_namespaces()?;
    if left.is_empty() {
        writeln!(
            out,
            "\nCleanup: the lab's namespaces and processes are gone; {kept}."
        )?;
    } else {
        writeln!(
            out,
            "\nCleanup FAILED: namespaces still present: {}",
            left.join(" ")
        )?;
    }
    writeln!(out, "Demo took {:.0} s.", started.elapsed().as_secs_f64())?;
    print!("{out}");
    if !left.is_empty() {
        anyhow::bail!("the lab left namespaces behind: {}", left.join(" "));
    }
    Ok(())
}

/// Lab namespaces created by this process (tandem-lab names them `tdm<pid>x<n>`).
fn our_namespaces() -> anyhow::Result<Vec<String>> {
    let listed = crate::shell::output(&mut cmd("ip", ["netns", "list"]))?;
    let pid = std::process::id();
    Ok(crate::host::lab_namespaces(&listed)
        .into_iter()
        .filter(|(_, owner)| *owner == pid)
        .map(|(name, _)| name)
        .collect())
}

fn direct_phase(
    kind: SubjectKind,
    tandemd: Option<&Path>,
    work: &WorkDir,
    clients: u32,
) -> anyhow::Result<Phase> {
    let dir = work.sub("direct")?;
    let lab = Direct::new().context("building the Direct lab")?;
    let params = lab.server_params();
    let mut server = Subject::start(kind, &lab.server, &params, &dir, tandemd)?;
    let dhclient = bind_real_client(&lab.client, &dir)?;
    let mut perf = Perfdhcp::new(CLIENT_IF, PERF_RATE, clients, clients.saturating_mul(2));
    perf.address_and_prefix = true;
    // Without tandem-lab's -W (wait for late answers after the last Solicit), perfdhcp's rate
    // covers the sending period only instead of being diluted by the wait.
    perf.extra.clear();
    let line = display(&cmd("perfdhcp", perf.args()));
    println!("demo: {line}");
    let report = perf.run(&lab.client, &dir, "perfdhcp")?;
    let topology = format!(
        "server namespace {} ({SERVER_IF}, {}) -- veth -- client namespace {} ({CLIENT_IF})",
        lab.server.name(),
        lab.server_addr,
        lab.client.name()
    );
    finish(
        &mut server,
        "Directly attached",
        topology,
        dhclient,
        Some((line, report)),
    )
}

fn relayed_phase(
    kind: SubjectKind,
    tandemd: Option<&Path>,
    work: &WorkDir,
) -> anyhow::Result<Phase> {
    let dir = work.sub("relayed")?;
    let lab = Relayed::new().context("building the Relayed lab")?;
    let params = lab.server_params();
    let mut server = Subject::start(kind, &lab.server, &params, &dir, tandemd)?;
    let _relay = Relay::start(
        &lab.relay,
        RELAY_DOWN_IF,
        lab.server_addr,
        RELAY_UP_IF,
        &dir,
    )?;
    let dhclient = bind_real_client(&lab.client, &dir)?;
    let topology = format!(
        "server {} ({}) -- relay {} (dhcrelay -6, link-address {}) -- client {}",
        lab.server.name(),
        lab.server_addr,
        lab.relay.name(),
        lab.relay_down_addr,
        lab.client.name()
    );
    finish(
        &mut server,
        "Through a relay agent",
        topology,
        dhclient,
        None,
    )
}

/// `dhclient -6 -N -P` until it reports both an address and a prefix; then stops it without a
/// Release, so the leases stay bound.
fn bind_real_client(ns: &Netns, dir: &Path) -> anyhow::Result<(Ipv6Addr, (Ipv6Addr, u8))> {
    let mut client = Dhclient::start(ns, CLIENT_IF, DhclientMode::AddressAndPrefix, dir)?;
    let bound = wait_for(
        "dhclient -6 -N -P to bind an address and a prefix",
        BIND_TIMEOUT,
        || {
            if interrupt::interrupted() {
                return Some(None);
            }
            let events = client.events_with("BOUND6").ok()?;
            let address = events.iter().find_map(|e| e.ip6_address())?;
            let prefix = events.iter().find_map(|e| e.ip6_prefix())?;
            Some(Some((address, prefix)))
        },
    )
    .with_context(|| format!("dhclient log:\n{}", client.log()));
    client.stop()?;
    let Some(bound) = bound? else {
        anyhow::bail!("interrupted");
    };
    println!(
        "demo: dhclient bound {} and {}/{}",
        bound.0, bound.1 .0, bound.1 .1
    );
    Ok(bound)
}

/// Stops tandemd (stats.json is written at exit) and reads what it stored.
fn finish(
    server: &mut Subject,
    title: &'static str,
    topology: String,
    dhclient: (Ipv6Addr, (Ipv6Addr, u8)),
    perfdhcp: Option<(String, PerfdhcpReport)>,
) -> anyhow::Result<Phase> {
    server.stop()?;
    let leases = server.leases().context("reading the lease store")?;
    let stats = server.stats().context("reading stats.json")?;
    let (storage, files) = match server.kind() {
        // Kea keeps its memfile CSV (and its rotations) next to its config.
        SubjectKind::Kea => {
            let dir = server
                .config_path()
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let files = list_files(&dir)?;
            let csv = files
                .into_iter()
                .filter(|(n, _)| n.starts_with("kea-leases"))
                .collect();
            (dir, csv)
        }
        _ => {
            let dir = server.storage_dir();
            let files = list_files(&dir)?;
            (dir, files)
        }
    };
    Ok(Phase {
        title,
        topology,
        dhclient,
        perfdhcp,
        leases,
        stats,
        storage,
        files,
    })
}

fn kea_version() -> String {
    crate::shell::output(&mut cmd("kea-dhcp6", ["-v"]))
        .map(|v| format!("Kea {}", v.trim()))
        .unwrap_or_else(|_| "Kea".to_owned())
}

/// Every file under `dir` (recursively), as (path relative to `dir`, size), sorted.
fn list_files(dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| d.display().to_string())? {
            let entry = entry?;
            let meta = entry.metadata()?;
            let path = entry.path();
            if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() {
                let rel = path.strip_prefix(dir).unwrap_or(&path);
                files.push((rel.display().to_string(), meta.len()));
            }
        }
    }
    files.sort();
    Ok(files)
}

impl Phase {
    fn render(&self) -> String {
        let mut s = String::new();
        let count = |k: LeaseKind| self.leases.iter().filter(|l| l.kind == k).count();
        let _ = writeln!(s, "\n-- {} --\n   {}", self.title, self.topology);
        let (a, (p, plen)) = self.dhclient;
        let _ = writeln!(
            s,
            "   dhclient -6 -N -P got address {a} and prefix {p}/{plen}"
        );
        if let Some((line, r)) = &self.perfdhcp {
            let _ = writeln!(s, "   {line}");
            let _ = writeln!(s, "     rate achieved: {:.1} 4-message exchanges/s", r.rate);
            for (name, x) in &r.exchanges {
                let _ = writeln!(
                    s,
                    "     {name}: sent {} received {} drops {}; delay min/avg/max {:.3}/{:.3}/{:.3} ms",
                    x.sent, x.received, x.drops, x.min_delay_ms, x.avg_delay_ms, x.max_delay_ms
                );
            }
            if r.exchanges.values().any(|x| x.drops > 0) {
                let _ = writeln!(
                    s,
                    "     (perfdhcp counts an exchange still in flight when it stops as a drop)"
                );
            }
        }
        let _ = writeln!(
            s,
            "   leases granted (read back from the store): {} addresses (IA_NA), {} prefixes (IA_PD)",
            count(LeaseKind::Na),
            count(LeaseKind::Pd)
        );
        match &self.stats {
            Some(stats) => {
                let _ = writeln!(
                    s,
                    "   packets: received {}, replied {}",
                    stats["received"], stats["replied"]
                );
                let _ = writeln!(
                    s,
                    "   drops by reason (stats.json): {}",
                    drops_by_reason(stats)
                );
                let _ = writeln!(s, "   journal: {}", journal_line(stats));
            }
            None => {
                let _ = writeln!(s, "   drops by reason: (this server writes no stats.json)");
            }
        }
        let _ = writeln!(s, "   leases stored in {}:", self.storage.display());
        for (name, size) in &self.files {
            let _ = writeln!(s, "     {name:<28} {:>10}", human_size(*size));
        }
        s
    }
}

/// `reason n, reason n` for every non-zero counter in `drops`, or `none`.
fn drops_by_reason(stats: &serde_json::Value) -> String {
    let Some(drops) = stats["drops"].as_object() else {
        return "(no drops object in stats.json)".to_owned();
    };
    let nonzero: Vec<String> = drops
        .iter()
        .filter_map(|(reason, n)| {
            n.as_u64()
                .filter(|n| *n > 0)
                .map(|n| format!("{reason} {n}"))
        })
        .collect();
    if nonzero.is_empty() {
        "none".to_owned()
    } else {
        nonzero.join(", ")
    }
}

/// `N records, N fdatasyncs (avg N µs), durability D` from stats.json's `journal` object.
fn journal_line(stats: &serde_json::Value) -> String {
    let j = &stats["journal"];
    let (Some(records), Some(syncs), Some(us)) = (
        j["records"].as_u64(),
        j["syncs"].as_u64(),
        j["sync_us_total"].as_u64(),
    ) else {
        return "(no journal counters in stats.json)".to_owned();
    };
    let avg = us
        .checked_div(syncs)
        .map_or(String::new(), |a| format!(" (avg {a} µs)"));
    let durability = stats["durability"].as_str().unwrap_or("?");
    format!("{records} records, {syncs} fdatasyncs{avg}, durability {durability}")
}

fn human_size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_by_reason_lists_only_nonzero_counters() {
        let stats =
            serde_json::json!({ "drops": { "malformed": 2, "not_for_us": 0, "no_binding": 5 } });
        assert_eq!(drops_by_reason(&stats), "malformed 2, no_binding 5");
        assert_eq!(
            drops_by_reason(&serde_json::json!({ "drops": { "malformed": 0 } })),
            "none"
        );
        assert!(drops_by_reason(&serde_json::json!({})).contains("no drops"));
    }

    #[test]
    fn journal_line_averages_sync_time() {
        let stats = serde_json::json!({ "durability": "durable",
            "journal": { "records": 10, "syncs": 4, "sync_us_total": 1000 } });
        assert_eq!(
            journal_line(&stats),
            "10 records, 4 fdatasyncs (avg 250 µs), durability durable"
        );
        let none =
            serde_json::json!({ "journal": { "records": 0, "syncs": 0, "sync_us_total": 0 } });
        assert_eq!(journal_line(&none), "0 records, 0 fdatasyncs, durability ?");
        assert!(journal_line(&serde_json::json!({})).starts_with("(no journal"));
    }

    #[test]
    fn files_are_listed_recursively_with_relative_paths() {
        let dir = std::env::temp_dir().join(format!("xtask-demo-ls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("shards")).unwrap();
        std::fs::write(dir.join("server-duid"), [0; 10]).unwrap();
        std::fs::write(dir.join("shards/shard-0.0.journal"), [0; 3]).unwrap();
        let files = list_files(&dir).unwrap();
        assert_eq!(
            files,
            vec![
                ("server-duid".to_owned(), 10),
                ("shards/shard-0.0.journal".to_owned(), 3)
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sizes_are_human_readable() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2048), "2.0 KiB");
        assert_eq!(human_size(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
    }

    #[test]
    fn phase_summary_counts_kinds_and_names_every_file() {
        // A `tandemd dump-leases` line as /work/notes/tandemd-cli.md documents it.
        let lease = |kind: &str, address: &str, prefix_len: u8| -> StoredLease {
            serde_json::from_value(serde_json::json!({
                "kind": kind, "address": address, "prefix_len": prefix_len,
                "duid": "000100012a", "iaid": 1, "subnet_id": 1, "preferred": 3000,
                "valid": 4000, "cltt": 1790000000, "expires_at": 1790004000, "state": "bound"
            }))
            .unwrap()
        };
        let phase = Phase {
            title: "Directly attached",
            topology: "a -- b".to_owned(),
            dhclient: (
                "2001:db8:1::1000".parse().unwrap(),
                ("2001:db8:8000::".parse().unwrap(), 56),
            ),
            perfdhcp: None,
            leases: vec![
                lease("na", "2001:db8:1::1000", 128),
                lease("na", "2001:db8:1::1001", 128),
                lease("pd", "2001:db8:8000::", 56),
            ],
            stats: Some(
                serde_json::json!({ "received": 9, "replied": 8, "drops": { "malformed": 1 } }),
            ),
            storage: PathBuf::from("/tmp/x/store"),
            files: vec![
                ("server-duid".to_owned(), 28),
                ("shard-0.1.journal".to_owned(), 4096),
            ],
        };
        let text = phase.render();
        for needle in [
            "address 2001:db8:1::1000 and prefix 2001:db8:8000::/56",
            "2 addresses (IA_NA), 1 prefixes (IA_PD)",
            "received 9, replied 8",
            "drops by reason (stats.json): malformed 1",
            "journal: (no journal counters",
            "/tmp/x/store",
            "shard-0.1.journal",
            "4.0 KiB",
        ] {
            assert!(text.contains(needle), "{needle} missing:\n{text}");
        }
    }
}
