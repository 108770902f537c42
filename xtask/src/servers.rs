//! The servers under test, as the demo and the comparison need them: a release tandemd binary,
//! config variants applied to a lab [`Subject`], and a scratch directory that cleans up after
//! itself.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tandem_lab::{Netns, Subject};

use crate::shell::{cmd, output, run_streamed};

/// Builds `tandemd` in release mode and returns the binary's path.
pub(crate) fn build_tandemd(root: &Path) -> anyhow::Result<PathBuf> {
    build_release_bin(root, "tandemd", "tandemd")
}

/// Builds workspace package `package` in release mode and returns the path of its binary `bin`
/// (in the target directory cargo uses, `CARGO_TARGET_DIR` included).
pub(crate) fn build_release_bin(root: &Path, package: &str, bin: &str) -> anyhow::Result<PathBuf> {
    run_streamed(cmd("cargo", ["build", "--release", "-p", package]).current_dir(root))?;
    built(root, &Path::new("release").join(bin))
}

/// Builds example `example` of workspace package `package` in release mode and returns the
/// path of its binary.
pub(crate) fn build_release_example(
    root: &Path,
    package: &str,
    example: &str,
) -> anyhow::Result<PathBuf> {
    run_streamed(
        cmd(
            "cargo",
            ["build", "--release", "-p", package, "--example", example],
        )
        .current_dir(root),
    )?;
    built(root, &Path::new("release/examples").join(example))
}

/// `relative` under the target directory cargo uses, which must exist.
fn built(root: &Path, relative: &Path) -> anyhow::Result<PathBuf> {
    let metadata =
        output(cmd("cargo", ["metadata", "--format-version", "1", "--no-deps"]).current_dir(root))?;
    let v: Value = serde_json::from_str(&metadata).context("cargo metadata output")?;
    let Some(target) = v["target_directory"].as_str() else {
        bail!("cargo metadata has no target_directory");
    };
    let bin = Path::new(target).join(relative);
    if !bin.is_file() {
        bail!("{} missing after the build", bin.display());
    }
    Ok(bin)
}

/// Kea as the comparison runs it: multi-threading on with `threads` packet-processing threads
/// (tandemd gets as many workers), and WARN logging, because Kea 2.2 logs every allocated
/// lease at INFO and writing those lines is not the work being measured. Restarts Kea.
pub(crate) fn kea_multi_threaded(
    subject: &mut Subject,
    ns: &Netns,
    threads: u32,
) -> anyhow::Result<()> {
    let path = subject.config_path().to_path_buf();
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let mut config: Value = serde_json::from_str(&text).context("Kea config is not JSON")?;
    let patched = kea_config_for_compare(&mut config, threads);
    if !patched {
        bail!("{}: no Dhcp6 object to patch", path.display());
    }
    std::fs::write(&path, serde_json::to_string_pretty(&config)?)?;
    subject.restart(ns)?;
    // Kea reports its threading at WARN (DHCP6_MULTI_THREADING_INFO); make sure it took.
    let wanted = format!("enabled: yes, number of threads: {threads}");
    let log = subject.log();
    if !log.contains(&wanted) {
        bail!("Kea did not start multi-threaded ({wanted:?} not in its log):\n{log}");
    }
    Ok(())
}

fn kea_config_for_compare(config: &mut Value, threads: u32) -> bool {
    let Some(dhcp6) = config.get_mut("Dhcp6").and_then(Value::as_object_mut) else {
        return false;
    };
    dhcp6.insert(
        "multi-threading".to_owned(),
        json!({ "enable-multi-threading": true, "thread-pool-size": threads,
                "packet-queue-size": 64 }),
    );
    dhcp6.insert(
        "loggers".to_owned(),
        json!([{ "name": "kea-dhcp6", "severity": "WARN",
                 "output_options": [{ "output": "stderr" }] }]),
    );
    true
}

/// tandemd's durability mode in the subject's config (`durable` or `os-buffer`); restarts it.
pub(crate) fn tandem_durability(
    subject: &mut Subject,
    ns: &Netns,
    mode: &str,
) -> anyhow::Result<()> {
    let path = subject.config_path().to_path_buf();
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let Some(patched) = with_durability(&text, mode) else {
        bail!("{}: no `durability = ...` line", path.display());
    };
    std::fs::write(&path, patched)?;
    subject.restart(ns)
}

fn with_durability(toml: &str, mode: &str) -> Option<String> {
    let mut found = false;
    let lines: Vec<String> = toml
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("durability") && l.contains('=') {
                found = true;
                format!("durability = \"{mode}\"")
            } else {
                l.to_owned()
            }
        })
        .collect();
    found.then(|| lines.join("\n") + "\n")
}

/// A scratch directory under the system temp dir, removed on drop unless kept.
#[derive(Debug)]
pub(crate) struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    pub(crate) fn new(tag: &str) -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("tandem-{tag}-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::create_dir_all(&path).with_context(|| path.display().to_string())?;
        Ok(Self { path, keep: false })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// A subdirectory, created.
    pub(crate) fn sub(&self, name: &str) -> anyhow::Result<PathBuf> {
        let p = self.path.join(name);
        std::fs::create_dir_all(&p).with_context(|| p.display().to_string())?;
        Ok(p)
    }

    /// Leaves the directory in place on drop.
    pub(crate) fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            eprintln!("xtask: removing {}: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kea_patch_turns_on_threads_and_quiets_per_lease_logging() {
        let mut v = json!({ "Dhcp6": { "subnet6": [], "loggers": [{ "severity": "INFO" }] } });
        assert!(kea_config_for_compare(&mut v, 2));
        assert_eq!(
            v["Dhcp6"]["multi-threading"]["enable-multi-threading"],
            true
        );
        assert_eq!(v["Dhcp6"]["multi-threading"]["thread-pool-size"], 2);
        assert_eq!(v["Dhcp6"]["loggers"][0]["severity"], "WARN");
        assert!(!kea_config_for_compare(&mut json!({ "Dhcp4": {} }), 2));
    }

    #[test]
    fn durability_line_is_replaced_and_its_absence_reported() {
        let t = "[storage]\npath = \"/x\"\ndurability = \"durable\"\n";
        let out = with_durability(t, "os-buffer").unwrap();
        assert!(
            out.contains("durability = \"os-buffer\"") && !out.contains("\"durable\""),
            "{out}"
        );
        assert!(out.contains("path = \"/x\""));
        assert_eq!(with_durability("[storage]\n", "os-buffer"), None);
    }

    #[test]
    fn workdir_is_removed_on_drop_unless_kept() {
        let w = WorkDir::new("xtask-unit").unwrap();
        let p = w.sub("a").unwrap();
        assert!(p.is_dir());
        let root = w.path().to_path_buf();
        drop(w);
        assert!(!root.exists());
        let mut k = WorkDir::new("xtask-unit-keep").unwrap();
        k.keep();
        let root = k.path().to_path_buf();
        drop(k);
        assert!(root.exists());
        std::fs::remove_dir_all(root).unwrap();
    }
}
