//! `tandem-sim`: runs seeds of the failover-pair simulator and reports the first violation.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use tandem_sim::{run, Options, Plant};

#[derive(Parser)]
#[command(
    name = "tandem-sim",
    about = "deterministic simulator of a tandem failover pair"
)]
struct Cli {
    /// Run seeds 0..N.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// Replay one seed (overrides --seeds).
    #[arg(long)]
    seed: Option<u64>,
    /// Print the fault log of each run.
    #[arg(long)]
    verbose: bool,
    /// Plant a bug the checks must catch: `ignore-mclt`.
    #[arg(long)]
    plant: Option<String>,
    /// Judge runs by end-to-end safety and durability only (no per-grant MCLT check).
    #[arg(long)]
    safety_only: bool,
    /// Simulated minutes per run before the final heal.
    #[arg(long, default_value_t = 120)]
    minutes: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let plant = match cli.plant.as_deref() {
        None => None,
        Some("ignore-mclt") => Some(Plant::IgnoreMclt),
        Some(other) => {
            eprintln!("tandem-sim: unknown --plant {other:?} (known: ignore-mclt)");
            return ExitCode::FAILURE;
        }
    };
    let seeds: Vec<u64> = match cli.seed {
        Some(s) => vec![s],
        None => (0..cli.seeds).collect(),
    };
    let started = Instant::now();
    let (mut events, mut grants, mut crashes, mut partitions) = (0u64, 0u64, 0u64, 0u64);
    let mut backup_delegations = 0u64;
    let mut failed = Vec::new();
    for &seed in &seeds {
        let mut o = Options::new(seed);
        o.duration_ms = cli.minutes * 60_000;
        o.plant = plant;
        o.safety_only = cli.safety_only;
        let r = run(&o);
        events += r.events;
        grants += r.grants;
        crashes += r.crashes;
        partitions += r.partitions;
        backup_delegations += r.backup_delegations;
        if cli.verbose {
            for line in &r.log {
                println!("seed {seed}: {line}");
            }
        }
        if let Some((ms, v)) = &r.violation {
            println!("seed {seed}: VIOLATION at {ms} ms: {v:?}");
            failed.push(seed);
            if plant.is_some() {
                break;
            }
        }
    }
    println!(
        "tandem-sim: {} seeds, {} violations, {events} events, {grants} grants, {crashes} crashes, \
         {partitions} partitions, {backup_delegations} prefixes delegated from the secondary's \
         share, {:.1} s",
        seeds.len(),
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!(
            "replay with: cargo xtask sim --seed {} --verbose",
            failed[0]
        );
        ExitCode::FAILURE
    }
}
