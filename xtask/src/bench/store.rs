//! Memory per lease and restart time (issue 4's last two targets), measured by the harness:
//!
//! - `engine_exchanges N memory`: N clients through one engine and one shard; the resident
//!   memory the process grew by, per lease;
//! - `engine_exchanges N journal FILE`: the same leases as journal records, written where a
//!   one-worker tandemd's store keeps shard 0 (`<storage>/shards/shard-0.0.journal`, layout 1);
//!   then a release tandemd with that storage (the example's subnet and pool, on `lo` in a
//!   fresh network namespace) is started twice and timed from spawn until it writes
//!   `<storage>/tandemd.ready`, the file `tandem_lab::Subject` waits for.

use std::net::Ipv6Addr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use tandem_lab::render::tandem_toml;
use tandem_lab::{Netns, Process, ServerParams};

use crate::results::{Memory, Restart, StoreFigures};
use crate::servers::build_release_example;
use crate::shell::{cmd, output};

/// The example's address pool (`engine_exchanges.rs`): tandemd's config must hold the same.
const EXAMPLE_POOL: (&str, &str) = ("2001:db8:1::1:0", "2001:db8:1::ffff:ffff");
/// Starts timed; the slowest is judged.
const STARTS: usize = 2;
/// Longest a start may take before it counts as failed.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Both figures for `leases` leases, with scratch files under `dir`.
pub(super) fn measure(
    root: &Path,
    tandemd: &Path,
    leases: u32,
    quick: bool,
    dir: &Path,
) -> anyhow::Result<StoreFigures> {
    let example = build_release_example(root, "tandem-engine", "engine_exchanges")?;
    let example = example.display().to_string();
    println!("\nbench: memory per lease with {leases} leases ...");
    let n = leases.to_string();
    let text = output(&mut cmd(&example, [n.as_str(), "memory"]))?;
    let memory = parse_memory(&text, leases)?;
    println!("bench: {}", text.trim());

    println!("bench: restart of tandemd on a journal of {leases} leases ...");
    let storage = dir.join("store");
    let shards = storage.join("shards");
    std::fs::create_dir_all(&shards)?;
    std::fs::write(shards.join("layout"), "1")?;
    let journal = shards.join("shard-0.0.journal");
    let j = journal.display().to_string();
    let written = output(&mut cmd(&example, [n.as_str(), "journal", j.as_str()]))?;
    if written.trim() != n {
        bail!(
            "engine_exchanges {n} journal wrote {} exchanges",
            written.trim()
        );
    }
    let journal_bytes = std::fs::metadata(&journal)?.len();
    let config = dir.join("tandemd.toml");
    std::fs::write(&config, tandem_toml(&params()?, &storage))?;
    let ns = Netns::new()?;
    let (mut ready_ms, mut load_ms, mut loaded) = (Vec::new(), Vec::new(), None);
    for i in 0..STARTS {
        let (ms, log) = timed_start(&ns, tandemd, &config, &storage, dir, i)?;
        let (count, load) = store_loaded(&log);
        println!(
            "bench: start {}: ready after {ms} ms (store loaded {count:?} leases in {load:?} ms)",
            i + 1
        );
        ready_ms.push(ms);
        load_ms.push(load);
        if i == 0 {
            loaded = count;
        }
    }
    let memory = Memory {
        bytes_per_lease: memory.0,
        grown_mib: memory.1,
        command: format!("target/release/examples/engine_exchanges {leases} memory"),
    };
    let restart = Restart {
        ready_ms,
        load_ms,
        loaded,
        journal_bytes,
        commands: vec![
            "mkdir -p S/shards && echo -n 1 > S/shards/layout".to_owned(),
            format!("target/release/examples/engine_exchanges {leases} journal S/shards/shard-0.0.journal"),
            format!(
                "ip netns exec NS tandemd run --config tandemd.toml   # [storage] path = S, \
                 workers 1, pool {}–{} on lo; started {STARTS} times, each timed from spawn to \
                 S/tandemd.ready",
                EXAMPLE_POOL.0, EXAMPLE_POOL.1
            ),
        ],
    };
    Ok(StoreFigures {
        leases,
        quick,
        memory,
        restart,
    })
}

/// tandemd's config for the example's leases: one worker, the example's pool, on `lo`.
fn params() -> anyhow::Result<ServerParams> {
    let mut p = ServerParams::standard("lo", true);
    p.pool = (
        EXAMPLE_POOL.0.parse::<Ipv6Addr>()?,
        EXAMPLE_POOL.1.parse::<Ipv6Addr>()?,
    );
    p.workers = 1;
    Ok(p)
}

/// Starts tandemd on `config` in `ns` and times it from spawn to `<storage>/tandemd.ready`
/// (polled every 2 ms); stops it and returns the milliseconds and its log.
fn timed_start(
    ns: &Netns,
    tandemd: &Path,
    config: &Path,
    storage: &Path,
    dir: &Path,
    i: usize,
) -> anyhow::Result<(u64, String)> {
    let ready = storage.join("tandemd.ready");
    let _ = std::fs::remove_file(&ready);
    let mut c = ns.command(&tandemd.display().to_string());
    c.arg("run").arg("--config").arg(config);
    c.env("TANDEM_LOG", "info");
    let t0 = Instant::now();
    let mut p = Process::spawn(c, dir, &format!("tandemd-restart-{i}"))?;
    let ms = loop {
        if ready.exists() {
            break t0.elapsed().as_millis() as u64;
        }
        if !p.is_running() {
            bail!("tandemd exited before it was ready: {}", p.stderr());
        }
        if t0.elapsed() > START_TIMEOUT {
            bail!("tandemd not ready after {START_TIMEOUT:?}: {}", p.stderr());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let log = p.stderr();
    p.stop()?;
    Ok((ms, log))
}

/// `N leases, B bytes resident per lease (M MiB grown)` → (B, M), N checked against `leases`.
fn parse_memory(text: &str, leases: u32) -> anyhow::Result<(u64, u64)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let num = |i: usize| -> Option<u64> { words.get(i)?.trim_start_matches('(').parse().ok() };
    match (num(0), num(2), num(7)) {
        (Some(n), Some(bytes), Some(mib)) if n == u64::from(leases) => Ok((bytes, mib)),
        _ => bail!("engine_exchanges {leases} memory printed {:?}", text.trim()),
    }
}

/// `(leases, ms)` of tandemd's `store loaded` log line (ANSI colours stripped).
fn store_loaded(log: &str) -> (Option<u64>, Option<u64>) {
    let Some(line) = log
        .lines()
        .map(strip_ansi)
        .find(|l| l.contains("store loaded"))
    else {
        return (None, None);
    };
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key)?.parse::<u64>().ok())
    };
    (field("leases="), field("ms="))
}

/// `s` without ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_s_memory_line_parses() {
        let line = "1000000 leases, 592 bytes resident per lease (565 MiB grown)\n";
        assert_eq!(parse_memory(line, 1_000_000).unwrap(), (592, 565));
        assert!(parse_memory(line, 100_000).is_err(), "wrong lease count");
        assert!(parse_memory("1000000\n", 1_000_000).is_err());
    }

    #[test]
    fn the_store_loaded_line_parses_with_or_without_colours() {
        let plain = "2026-11-27T05:00:00Z  INFO tandemd::run: store loaded leases=1000000 \
                     records=1000000 skipped=0 files=1 ms=2921\n";
        assert_eq!(store_loaded(plain), (Some(1_000_000), Some(2921)));
        let coloured = "\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m store loaded \
                        \u{1b}[3mleases\u{1b}[0m\u{1b}[2m=\u{1b}[0m12 \u{1b}[3mms\u{1b}[0m\
                        \u{1b}[2m=\u{1b}[0m7";
        assert_eq!(store_loaded(coloured), (Some(12), Some(7)));
        assert_eq!(store_loaded("nothing here"), (None, None));
    }

    #[test]
    fn tandemd_gets_the_example_s_pool_and_one_worker() {
        let p = params().unwrap();
        assert_eq!((p.interface.as_str(), p.workers), ("lo", 1));
        // The example's first and last address lie in the pool.
        assert!(p.in_pool("2001:db8:1::1:0".parse().unwrap()));
        assert!(p.in_pool("2001:db8:1::ffff:ffff".parse().unwrap()));
        let toml = tandem_toml(&p, Path::new("/s"));
        assert!(toml.contains("2001:db8:1::1:0"), "{toml}");
    }
}
