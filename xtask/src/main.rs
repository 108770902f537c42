//! `cargo xtask`: tandem's project automation.
//!
//! - `deps`: install what the tests and the demo need on a fresh Debian 12 machine (idempotent).
//! - `test`: the README's test command (deps, workspace tests, the namespace lab, a fuzz smoke).
//! - `demo`: a failover pair of tandemd in a network-namespace lab serving real and simulated
//!   clients through a crash of the primary (`--standalone`: one server).
//! - `build-ebpf`: build the eBPF object (`ebpf/xdp`) and print its path.
//! - `bench-engine`: the engine's instructions per exchange (callgrind).
//! - `clean`: remove what an interrupted run left behind (lab namespaces, scratch dirs).
//! - `bench`: tandemd (durable and os-buffer, on XDP), a tandemd failover pair and Kea under
//!   tandem-bench and perfdhcp: maximum rate, CPU per exchange, p99 latency, memory per lease,
//!   restart time, the engine's instruction count and the targets of issue 4, into
//!   `bench/RESULTS.md`.
//! - `compare`: tandemd against Kea, CPU time per 4-message exchange, into `bench/RESULTS.md`.
//! - `sim`: the deterministic failover-pair simulator over many seeds, or a replay of one.
//!
//! Everything runs as root; network traffic stays inside namespaces the lab creates.

mod bench;
mod clean;
mod compare;
mod demo;
mod demo_pair;
mod deps;
mod ebpf;
mod engine_bench;
mod host;
mod interrupt;
mod machine;
mod proc_stat;
mod results;
mod servers;
mod shell;
mod steps;
mod test_suite;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "tandem project automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install the Debian packages and Rust components the tests and the demo need.
    Deps,
    /// Run every test: deps, unit + integration, the namespace lab, a fuzz smoke run.
    Test {
        /// Run only these parts (comma-separated); CI runs them all.
        #[arg(long, value_enum, value_delimiter = ',')]
        only: Vec<test_suite::Part>,
    },
    /// The main job: a failover pair serving real and simulated clients through a crash of
    /// the primary (`--standalone`: one server, directly and through a relay).
    Demo {
        /// Run the standalone demo instead (one server; direct and relayed clients).
        #[arg(long)]
        standalone: bool,
        /// Simulated perfdhcp clients.
        #[arg(long, default_value_t = 2000)]
        clients: u32,
        /// Keep the scratch directory (configs, lease stores, logs) for inspection.
        #[arg(long)]
        keep: bool,
        /// The server to run: tandemd, or Kea to see the reference do the same job.
        #[arg(long, value_enum, default_value = "tandem")]
        subject: demo::DemoSubject,
    },
    /// Build the eBPF object (ebpf/xdp) with nightly and bpf-linker; prints its path.
    BuildEbpf,
    /// Instructions per exchange in the engine alone, counted by callgrind.
    BenchEngine,
    /// Remove lab namespaces and scratch directories left by interrupted runs.
    Clean,
    /// Run the failover-pair simulator over seeds 0..N, or replay one seed.
    Sim {
        /// Run seeds 0..N.
        #[arg(long, default_value_t = test_suite::SIM_SEEDS)]
        seeds: u64,
        /// Replay this seed only.
        #[arg(long)]
        seed: Option<u64>,
        /// Print each run's fault log.
        #[arg(long)]
        verbose: bool,
        /// Plant a bug the checks must catch (`ignore-mclt`).
        #[arg(long)]
        plant: Option<String>,
    },
    /// tandemd and Kea under tandem-bench (and perfdhcp) in one run; write bench/RESULTS.md.
    Bench {
        /// Short steps: a smoke run of every part.
        #[arg(long)]
        quick: bool,
        /// Seconds of each fixed-rate run (default 10, 3 with --quick).
        #[arg(long)]
        seconds: Option<u32>,
        /// Servers to measure (Kea always runs first: half its maximum is the fixed rate;
        /// `pair`, a tandemd failover pair, last).
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "kea,tandem-durable,tandem-os-buffer,pair"
        )]
        servers: Vec<bench::BenchServer>,
    },
    /// Measure tandemd and Kea under the same perfdhcp load; write bench/RESULTS.md.
    Compare {
        /// perfdhcp exchange rate (-r).
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// perfdhcp simulated clients (-R).
        #[arg(long, default_value_t = 20000)]
        clients: u32,
        /// perfdhcp test period in seconds (-p).
        #[arg(long, default_value_t = 20)]
        seconds: u32,
        /// Servers to measure, in order (the ratio is taken against Kea when it runs).
        #[arg(
            long,
            value_enum,
            value_delimiter = ',',
            default_value = "tandem-durable,tandem-os-buffer,kea"
        )]
        servers: Vec<compare::Server>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = repo_root();
    let quiet_failure = matches!(cli.command, Command::Test { .. });
    let result = match cli.command {
        Command::Deps => deps::run().map(|_| ()),
        Command::BuildEbpf => ebpf::run(&root),
        Command::BenchEngine => engine_bench::run(&root),
        Command::Clean => clean::run(),
        Command::Test { only } => test_suite::run(&root, &only),
        Command::Sim {
            seeds,
            seed,
            verbose,
            plant,
        } => {
            let mut args = vec![match seed {
                Some(s) => format!("--seed={s}"),
                None => format!("--seeds={seeds}"),
            }];
            if verbose {
                args.push("--verbose".into());
            }
            if let Some(p) = plant {
                args.push(format!("--plant={p}"));
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            test_suite::sim(&root, &args)
        }
        Command::Demo {
            standalone: false,
            clients,
            keep,
            subject: demo::DemoSubject::Tandem,
        } => demo_pair::run(&root, clients, keep),
        Command::Demo {
            standalone: _,
            clients,
            keep,
            subject,
        } => demo::run(
            &root,
            demo::Options {
                subject,
                clients,
                keep,
            },
        ),
        Command::Bench {
            quick,
            seconds,
            servers,
        } => bench::run(
            &root,
            &bench::Options {
                quick,
                seconds,
                servers,
            },
        ),
        Command::Compare {
            rate,
            clients,
            seconds,
            servers,
        } => compare::run(
            &root,
            compare::Load {
                rate,
                clients,
                seconds,
            },
            &servers,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `test` already printed the failing step's error and, last, the `N passed, N failed`
        // line; repeating the error here would make that line not the last one.
        Err(_) if quiet_failure => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}
