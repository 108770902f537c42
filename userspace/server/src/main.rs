//! `tandemd`: the I/O shell around tandem's sans-IO cores.
//!
//! `main` reads the config, opens the store (replaying snapshots and journals), starts one
//! worker thread per shard, and then waits for signals, writing `stats.json` once a second and
//! serving `/metrics` when `[metrics] listen` is set.

mod civil;
mod control_api;
mod datagram;
mod datapath;
mod group_commit;
mod http_server;
mod kea_config_import;
mod metrics;
mod migrate;
mod partner;
mod reload;
mod run;
mod service;
mod socket;
mod stats;
mod store;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tandemd", version, about = "tandem DHCPv6 server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve DHCPv6 in the foreground until SIGTERM or SIGINT.
    Run {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a config file without starting.
    CheckConfig { file: PathBuf },
    /// Print every lease in the store, one JSON object per line, as a start would load them.
    DumpLeases {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Convert a Kea kea-dhcp6 config into a tandem config; what cannot be carried over is
    /// listed on stderr and in the output's header.
    ImportKeaConfig(kea_config_import::ImportKeaConfig),
    /// Load the live leases of a Kea leases6 memfile CSV into the store (tandemd stopped).
    ImportLeases {
        #[arg(long, short)]
        config: PathBuf,
        /// Kea's lease file (kea-leases6.csv).
        csv: PathBuf,
    },
    /// Print the store's leases as a Kea 2.2 leases6 CSV.
    ExportLeases {
        #[arg(long, short)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => check_config(&file),
        Command::DumpLeases { config } => report(run::dump_leases(&config)),
        Command::ImportKeaConfig(args) => report(kea_config_import::import_kea_config(&args)),
        Command::ImportLeases { config, csv } => report(migrate::import_leases(&config, &csv)),
        Command::ExportLeases { config } => report(migrate::export_leases(&config)),
        Command::Run { config } => {
            init_tracing();
            report(run::serve(&config))
        }
    }
}

/// Validates the file, then what it points at: the TLS files of every failover relationship
/// must be readable and hold a certificate chain, a key that matches it, and a CA.
fn check_config(file: &std::path::Path) -> ExitCode {
    let config = match tandem_config::load(file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let unreadable = config.check_files();
    for u in &unreadable {
        eprintln!("{}: {u}", file.display());
    }
    if !unreadable.is_empty() {
        return ExitCode::FAILURE;
    }
    if let Some(fo) = &config.failover {
        if let Err(e) = partner::setup::relationships(fo) {
            eprintln!("{}: {e:#}", file.display());
            return ExitCode::FAILURE;
        }
    }
    println!("{}: ok", file.display());
    ExitCode::SUCCESS
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tandemd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr: human-readable by default, one JSON object per line with
/// `TANDEM_LOG_FORMAT=json` (log shippers), or straight to journald with
/// `TANDEM_LOG_FORMAT=journald` (the unit file's choice): each event's fields become journal
/// fields, so the alarms' `message_id` is `MESSAGE_ID` (`journalctl
/// MESSAGE_ID=TANDEM_FO_COMMS_INTERRUPTED`). `TANDEM_LOG` sets the filter.
fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("TANDEM_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    let format = std::env::var("TANDEM_LOG_FORMAT").unwrap_or_default();
    if format == "journald" {
        match tracing_journald::layer() {
            Ok(journald) => {
                let journald = journald
                    .with_field_prefix(None)
                    .with_syslog_identifier("tandemd".to_owned());
                tracing_subscriber::registry()
                    .with(filter())
                    .with(journald)
                    .init();
                return;
            }
            Err(e) => eprintln!("tandemd: no journald socket ({e}); logging to stderr"),
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}
