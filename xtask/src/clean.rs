//! `cargo xtask clean`: remove what an interrupted run left behind.
//!
//! Only leftovers whose creating process is gone are touched: lab namespaces named
//! `tdm<pid>x<n>` (tandem-lab's naming; the processes still inside are killed first, and
//! `/etc/netns/<name>` goes too) and xtask's scratch directories `tandem-{demo,compare}-<pid>`
//! and `tandem-fuzz-<target>-<pid>` in the temp dir. A live run's pid still exists, so running
//! `clean` next to one is safe.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::host::lab_namespaces;
use crate::shell::{cmd, output, run_streamed, succeeds};

pub(crate) fn run() -> anyhow::Result<()> {
    let mut removed = 0;
    let listed = output(&mut cmd("ip", ["netns", "list"])).context("ip netns list")?;
    for (name, pid) in lab_namespaces(&listed) {
        if alive(pid) {
            continue;
        }
        let inside = output(&mut cmd("ip", ["netns", "pids", &name])).unwrap_or_default();
        for p in inside.split_whitespace() {
            succeeds(&mut cmd("kill", ["-KILL", p]));
        }
        run_streamed(&mut cmd("ip", ["netns", "del", &name]))?;
        let etc = Path::new("/etc/netns").join(&name);
        if etc.exists() {
            std::fs::remove_dir_all(&etc).with_context(|| etc.display().to_string())?;
        }
        removed += 1;
    }
    for dir in stale_scratch_dirs(&std::env::temp_dir())? {
        println!("removing {}", dir.display());
        std::fs::remove_dir_all(&dir).with_context(|| dir.display().to_string())?;
        removed += 1;
    }
    println!("clean: removed {removed} leftover(s)");
    Ok(())
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn stale_scratch_dirs(tmp: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(tmp).with_context(|| tmp.display().to_string())? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(scratch_pid) else {
            continue;
        };
        if entry.file_type()?.is_dir() && !alive(pid) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The pid in an xtask scratch directory name (`WorkDir` and the fuzz smoke run name them).
fn scratch_pid(name: &str) -> Option<u32> {
    let rest = ["tandem-demo-", "tandem-compare-", "tandem-fuzz-"]
        .iter()
        .find_map(|p| name.strip_prefix(p))?;
    let (_, pid) = rest.rsplit_once('-').unwrap_or(("", rest));
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_yield_their_pid_and_others_nothing() {
        assert_eq!(scratch_pid("tandem-demo-4242"), Some(4242));
        assert_eq!(scratch_pid("tandem-compare-7"), Some(7));
        assert_eq!(scratch_pid("tandem-fuzz-wire_relay-99"), Some(99));
        assert_eq!(scratch_pid("tandem-lab-dhclient-x1y2"), None);
        assert_eq!(scratch_pid("tandem-demo-abc"), None);
        assert_eq!(scratch_pid("other-1"), None);
    }

    #[test]
    fn only_dead_owners_scratch_dirs_are_stale() {
        let tmp = std::env::temp_dir().join(format!("xtask-clean-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        // Our own pid is alive; pid 0 has no /proc entry and stands for a dead owner.
        let live = tmp.join(format!("tandem-demo-{}", std::process::id()));
        let dead = tmp.join("tandem-compare-0");
        for d in [&live, &dead] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(tmp.join("tandem-demo-1"), "a file, not a directory").unwrap();
        assert_eq!(stale_scratch_dirs(&tmp).unwrap(), vec![dead]);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
