//! A network namespace owned by one test: created with a unique name, cleaned up on drop.
//!
//! Creation order matters for the host's safety: `/etc/netns/<ns>/resolv.conf` (empty) exists
//! before anything runs inside, so `ip netns exec` bind-mounts it over `/etc/resolv.conf` and no
//! DHCP client hook can rewrite the host's DNS configuration (testing.md, "The lab").

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

static NEXT_NS: AtomicU32 = AtomicU32::new(0);

/// A network namespace named `tdm<pid>x<n>`, unique per process and call.
///
/// Drop kills every process still inside (SIGKILL, via `ip netns pids`), deletes the namespace
/// and removes `/etc/netns/<ns>`. Drop never panics; failures are printed.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace, its empty `resolv.conf`, brings `lo` up and turns DAD off inside.
    pub fn new() -> Result<Self> {
        let n = NEXT_NS.fetch_add(1, Ordering::Relaxed);
        let name = format!("tdm{}x{}", std::process::id(), n);
        // The resolv.conf shield comes first: nothing may run in the namespace before it exists.
        let etc = Self::etc_dir_of(&name);
        fs::create_dir_all(&etc).with_context(|| format!("create {}", etc.display()))?;
        fs::write(etc.join("resolv.conf"), b"")
            .with_context(|| format!("create {}/resolv.conf", etc.display()))?;
        if let Err(e) = run_checked(Command::new("ip").args(["netns", "add", &name])) {
            let _ = fs::remove_dir_all(&etc);
            return Err(e);
        }
        // From here on the guard owns the namespace and cleans it up on any early return.
        let ns = Self { name };
        ns.run(&["ip", "link", "set", "lo", "up"])?;
        ns.run(&["sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0"])?;
        ns.run(&["sysctl", "-q", "-w", "net.ipv6.conf.default.accept_dad=0"])?;
        ns.run(&["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0"])?;
        Ok(ns)
    }

    /// The namespace's name (as `ip netns list` shows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `/etc/netns/<ns>`, holding the empty `resolv.conf` that shields the host's.
    pub fn etc_dir(&self) -> PathBuf {
        Self::etc_dir_of(&self.name)
    }

    /// A command that runs `program` inside the namespace (`ip netns exec NS program`).
    ///
    /// `ip netns exec` execs the program in place, so the spawned child's pid is the program's.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `argv` inside the namespace to completion; fails on a non-zero exit, with its stderr.
    pub fn run(&self, argv: &[&str]) -> Result<String> {
        let (program, args) = argv.split_first().context("empty argv")?;
        let out = run_checked(self.command(program).args(args))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Like [`Netns::run`] but gives up after `timeout` (the child is killed).
    pub fn run_timeout(&self, argv: &[&str], timeout: Duration) -> Result<Output> {
        let (program, args) = argv.split_first().context("empty argv")?;
        let mut cmd = self.command(program);
        cmd.args(args);
        output_timeout(&mut cmd, timeout)
    }

    /// Pids of every process whose network namespace is this one.
    pub fn pids(&self) -> Vec<i32> {
        Command::new("ip")
            .args(["netns", "pids", &self.name])
            .stderr(Stdio::null())
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn etc_dir_of(name: &str) -> PathBuf {
        PathBuf::from("/etc/netns").join(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pids = self.pids();
            if pids.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in pids {
                // SAFETY: kill(2) with a pid read from `ip netns pids`: only processes inside the
                // namespace this guard created.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Err(e) = run_checked(Command::new("ip").args(["netns", "del", &self.name])) {
            eprintln!("lab: ip netns del {}: {e:#}", self.name);
        }
        let etc = self.etc_dir();
        if let Err(e) = fs::remove_dir_all(&etc) {
            eprintln!("lab: remove {}: {e}", etc.display());
        }
    }
}

/// Removes lab namespaces left behind by runs that were killed before their guards ran
/// (SIGKILL, Ctrl-C): every `tdm<pid>x<n>` whose creating process `<pid>` is gone. Returns the
/// names removed. Namespaces of live runs and any other namespace are left alone.
pub fn cleanup_stale() -> Result<Vec<String>> {
    let out = run_checked(Command::new("ip").args(["netns", "list"]))?;
    let mut removed = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = owner_pid(name) else { continue };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        // Dropping a guard for the stale name kills what is inside and deletes it.
        drop(Netns {
            name: name.to_owned(),
        });
        removed.push(name.to_owned());
    }
    Ok(removed)
}

/// The creating pid encoded in a lab namespace name `tdm<pid>x<n>`.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("tdm")?;
    let (pid, n) = rest.split_once('x')?;
    n.parse::<u32>().ok()?;
    pid.parse().ok()
}

/// Runs a command to completion; a non-zero exit is an error carrying the command and stderr.
pub fn run_checked(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("spawn {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// Runs a command to completion with a time limit, returning its output whatever the exit status.
pub fn output_timeout(cmd: &mut Command, timeout: Duration) -> Result<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawn {cmd:?}"))?;
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().context("stdout pipe")?;
    let mut se = child.stderr.take().context("stderr pipe")?;
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Polls `f` every 50 ms until it returns `Some`, or fails with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_reads_only_lab_names() {
        assert_eq!(owner_pid("tdm1234x0"), Some(1234));
        assert_eq!(owner_pid("tdm1234x17"), Some(1234));
        assert_eq!(owner_pid("tdm1234"), None);
        assert_eq!(owner_pid("tdmx1"), None);
        assert_eq!(owner_pid("blue"), None);
        assert_eq!(owner_pid("tdm12a4x1"), None);
    }
}
