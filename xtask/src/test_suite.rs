//! `cargo xtask test`: the README's one test command.
//!
//! Steps, in order, stopping at the first failure: `deps`; `unit + integration` (`cargo test
//! --workspace --all-targets`); `lab` (the ignored namespace-lab tests of tandemd, one at a time,
//! with the host's DNS config and namespace list checked before and after, after the `ebpf` step
//! builds the eBPF object and checks that the verifier accepts it); `sim` (the failover
//! simulator over [`SIM_SEEDS`] seeds, release build); one `fuzz <target>` smoke run per target
//! in `fuzz/fuzz_targets/`, on a scratch copy of the committed corpus.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::host::HostState;
use crate::shell::{cmd, run_streamed};
use crate::steps::{failure, Steps};

/// libFuzzer limits for the smoke run: whichever comes first.
const FUZZ_RUNS: u32 = 1_000_000;
const FUZZ_MAX_SECS: u32 = 60;

/// Seeds of the failover simulator CI runs (issue 3: at least 2,000).
pub(crate) const SIM_SEEDS: u64 = 2_000;

/// A group of steps, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Part {
    Deps,
    Unit,
    Lab,
    Sim,
    Fuzz,
}

/// Runs the parts in `only` (every part when empty), in the fixed order.
pub(crate) fn run(root: &Path, only: &[Part]) -> anyhow::Result<()> {
    let wanted = |p: Part| only.is_empty() || only.contains(&p);
    let mut steps = Steps::new();
    if wanted(Part::Deps) {
        steps.run("deps", || crate::deps::run().map(|_| ()));
    }
    if wanted(Part::Unit) {
        steps.run("unit + integration", || {
            run_streamed(cmd("cargo", ["test", "--workspace", "--all-targets"]).current_dir(root))
        });
    }
    if wanted(Part::Lab) {
        // The lab loads the eBPF object; the step also proves the verifier accepts it.
        steps.run("ebpf", || {
            crate::ebpf::build(root)?;
            crate::ebpf::check(root)
        });
        steps.run("lab", || lab(root));
    }
    if wanted(Part::Sim) {
        steps.run("sim", || sim(root, &["--seeds", &SIM_SEEDS.to_string()]));
    }
    if wanted(Part::Fuzz) {
        match fuzz_targets(root) {
            Ok(targets) => {
                for target in targets {
                    steps.run(&format!("fuzz {target}"), || fuzz_smoke(root, &target));
                }
            }
            Err(e) => steps.run("fuzz", || Err(e)),
        }
    }
    steps.finish()
}

/// Runs the failover simulator (release build) with `args`; a violation fails the step.
pub(crate) fn sim(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let mut argv = vec!["run", "--release", "-q", "-p", "tandem-sim", "--"];
    argv.extend_from_slice(args);
    run_streamed(cmd("cargo", argv).current_dir(root))
}

fn lab(root: &Path) -> anyhow::Result<()> {
    let before = HostState::capture()?;
    for w in before.warnings() {
        println!("warning: {w}");
    }
    let tests = run_streamed(
        cmd(
            "cargo",
            [
                "test",
                "-p",
                "tandemd",
                "--test",
                "lab",
                "--",
                "--ignored",
                "--test-threads=1",
            ],
        )
        // The object the `ebpf` step built, for the lab's XDP tests (tandemd's loader reads it).
        .env("TANDEM_XDP_OBJECT", root.join(crate::ebpf::OBJECT))
        .current_dir(root),
    );
    let after = HostState::capture()?;
    let broken = after.broken_by(&before);
    if !broken.is_empty() {
        let also = tests
            .err()
            .map(|e| format!(" (and the tests failed: {e:#})"))
            .unwrap_or_default();
        return Err(failure(format!(
            "the lab broke the host: {}{also}",
            broken.join("; ")
        )));
    }
    tests
}

/// The fuzz targets: the `.rs` files in `fuzz/fuzz_targets/`, by name.
fn fuzz_targets(root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = root.join("fuzz/fuzz_targets");
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                targets.push(stem.to_owned());
            }
        }
    }
    targets.sort();
    if targets.is_empty() {
        bail!("no fuzz targets in {}", dir.display());
    }
    Ok(targets)
}

/// Runs one target on a scratch copy of its committed corpus, so new inputs never land in the
/// repository. Builds go to `$CARGO_TARGET_DIR/fuzz` when that is set, else `fuzz/target`.
fn fuzz_smoke(root: &Path, target: &str) -> anyhow::Result<()> {
    let corpus = root.join("fuzz/corpus").join(target);
    let scratch = std::env::temp_dir().join(format!("tandem-fuzz-{target}-{}", std::process::id()));
    copy_corpus(&corpus, &scratch)?;
    let mut c = cmd("cargo", ["+nightly", "fuzz", "run"]);
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        c.arg("--target-dir").arg(PathBuf::from(dir).join("fuzz"));
        c.env_remove("CARGO_TARGET_DIR");
    }
    c.arg(target)
        .arg(&scratch)
        .arg("--")
        .arg(format!("-runs={FUZZ_RUNS}"))
        .arg(format!("-max_total_time={FUZZ_MAX_SECS}"))
        .current_dir(root.join("fuzz"));
    let result = run_streamed(&mut c);
    if let Err(e) = std::fs::remove_dir_all(&scratch) {
        println!("warning: removing {}: {e}", scratch.display());
    }
    result
}

/// Copies the files of `from` (may be missing: then the scratch corpus starts empty) into a
/// fresh directory `to`.
fn copy_corpus(from: &Path, to: &Path) -> anyhow::Result<usize> {
    if to.exists() {
        std::fs::remove_dir_all(to).with_context(|| format!("clearing {}", to.display()))?;
    }
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(0);
    };
    let mut copied = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .with_context(|| format!("copying {}", entry.path().display()))?;
            copied += 1;
        }
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn fuzz_targets_are_the_rs_files_sorted() {
        let root = scratch("targets");
        let dir = root.join("fuzz/fuzz_targets");
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["b_target.rs", "a_target.rs", "notes.md"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        assert_eq!(fuzz_targets(&root).unwrap(), vec!["a_target", "b_target"]);
        std::fs::remove_file(dir.join("a_target.rs")).unwrap();
        std::fs::remove_file(dir.join("b_target.rs")).unwrap();
        assert!(
            fuzz_targets(&root).is_err(),
            "an empty target list must fail the step"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn corpus_copy_is_fresh_and_leaves_the_source_alone() {
        let root = scratch("corpus");
        let from = root.join("from");
        let to = root.join("to");
        std::fs::create_dir_all(&from).unwrap();
        std::fs::write(from.join("solicit"), [1, 2, 3]).unwrap();
        std::fs::create_dir_all(&to).unwrap();
        std::fs::write(to.join("stale"), [9]).unwrap();
        assert_eq!(copy_corpus(&from, &to).unwrap(), 1);
        assert_eq!(std::fs::read(to.join("solicit")).unwrap(), vec![1, 2, 3]);
        assert!(!to.join("stale").exists());
        std::fs::write(to.join("new-input"), [4]).unwrap();
        assert_eq!(std::fs::read_dir(&from).unwrap().count(), 1);
        assert_eq!(copy_corpus(&root.join("missing"), &to).unwrap(), 0);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
