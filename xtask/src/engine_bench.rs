//! `cargo xtask bench-engine`: instructions per 4-message exchange in the engine alone, counted
//! by callgrind, so a regression shows on a noisy shared machine where wall-clock and CPU
//! figures wander (issue 4).
//!
//! Runs `tandem-engine`'s `engine_exchanges` example (Solicit + Request per client through one
//! engine and one shard, journal records encoded) under `valgrind --tool=callgrind` for two
//! client counts; the difference divided by the extra clients is the per-exchange cost without
//! the set-up.

use std::path::Path;

use anyhow::{bail, Context};

use crate::shell::{cmd, output, run_streamed};

/// Client counts of the two runs.
const SMALL: u32 = 1_000;
const LARGE: u32 = 11_000;

/// Instructions per exchange, and the command line that measured it.
pub(crate) struct EngineCost {
    pub(crate) instructions: u64,
    pub(crate) command: String,
}

pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let cost = measure(root)?;
    println!(
        "engine: {} instructions per Solicit+Request exchange (callgrind; {})",
        cost.instructions, cost.command
    );
    Ok(())
}

pub(crate) fn measure(root: &Path) -> anyhow::Result<EngineCost> {
    crate::deps::run()?;
    run_streamed(
        cmd(
            "cargo",
            [
                "build",
                "--release",
                "-p",
                "tandem-engine",
                "--example",
                "engine_exchanges",
            ],
        )
        .current_dir(root),
    )?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release/examples/engine_exchanges");
    let scratch = tempfile_dir()?;
    let mut totals = Vec::new();
    for n in [SMALL, LARGE] {
        let out = scratch.join(format!("callgrind.{n}"));
        let text = output(&mut cmd(
            "valgrind",
            [
                "--tool=callgrind".to_owned(),
                format!("--callgrind-out-file={}", out.display()),
                bin.display().to_string(),
                n.to_string(),
            ],
        ))
        .context("valgrind (Debian package valgrind)")?;
        if text.trim() != n.to_string() {
            bail!("engine_exchanges {n} completed {} exchanges", text.trim());
        }
        totals.push(total_ir(&std::fs::read_to_string(&out)?)?);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let instructions = (totals[1].saturating_sub(totals[0])) / u64::from(LARGE - SMALL);
    Ok(EngineCost {
        instructions,
        command: format!(
            "valgrind --tool=callgrind engine_exchanges {SMALL} and {LARGE}, difference / {}",
            LARGE - SMALL
        ),
    })
}

/// The RESULTS.md section for `cost`.
pub(crate) fn markdown(cost: &EngineCost) -> String {
    format!(
        "\n## The engine alone: instructions per exchange\n\n\
         **{} instructions** per Solicit → Advertise + Request → Reply exchange (IA_NA, journal \
         records encoded), `cargo xtask bench-engine`: {}. Counted by callgrind, so it does not \
         move with the machine's load; a regression in the engine shows here first.\n",
        cost.instructions, cost.command
    )
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("tandem-bench-engine-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The `summary:` (or `totals:`) line of a callgrind output file: total instructions.
fn total_ir(callgrind_out: &str) -> anyhow::Result<u64> {
    callgrind_out
        .lines()
        .find_map(|l| {
            l.strip_prefix("summary: ")
                .or_else(|| l.strip_prefix("totals: "))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no summary line in the callgrind output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_gives_the_total() {
        let text = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nfn=main\n5 10\nsummary: 214725648\ntotals: 214725648\n";
        assert_eq!(total_ir(text).unwrap(), 214_725_648);
        assert!(total_ir("events: Ir\n").is_err());
    }
}
