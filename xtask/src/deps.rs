//! `cargo xtask deps`: install what the tests and the demo need on a fresh Debian 12 machine.
//!
//! Idempotent and quick when everything is present: `dpkg-query` decides what is missing, `apt-get
//! update` runs only when something is, and the Rust pieces are probed before they are installed.
//! When packages were installed, no Debian DHCP service they brought is left running in the
//! host's network namespace (the Kea package starts one from its postinst where it can): the
//! units are stopped and disabled where systemd runs, and daemons that appeared during the
//! install are ended. A DHCP daemon someone runs on the host on purpose is left alone.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::shell::{cmd, output, run_streamed, succeeds};

/// Debian packages the lab, the demo and the comparison use.
///
/// `g++` is here because `cargo fuzz` builds libFuzzer's C++ sources (libfuzzer-sys).
/// perfdhcp ships in `kea-admin`.
pub(crate) const PACKAGES: &[&str] = &[
    "kea-dhcp6-server",
    "kea-admin",
    "isc-dhcp-client",
    "isc-dhcp-relay",
    "tshark",
    "nftables",
    "faketime",
    "ethtool",
    "iproute2",
    "procps",
    "psmisc",
    "python3",
    // systemd-analyze checks the unit file (config/systemd/tandemd.service).
    "systemd",
    // The metrics lab test scrapes /metrics from inside the server's namespace.
    "curl",
    // The status page lab test loads it in headless Chromium (tests/lab/dashboard.rs).
    "chromium",
    "g++",
    // `cargo xtask bench-engine` counts the engine's instructions with callgrind.
    "valgrind",
    // bpf-linker links against LLVM 22 (the nightly's LLVM); Debian's default llvm-config is
    // LLVM 14 (ebpf-toolchain.md).
    "llvm-22-dev",
];

/// Never ask whether non-root users may capture packets.
const TSHARK_PRESEED: &str = "wireshark-common wireshark-common/install-setuid boolean false";

/// A fresh cloud machine often runs unattended-upgrades at boot; wait for its dpkg lock
/// instead of failing.
const APT_LOCK_WAIT: &str = "-oDPkg::Lock::Timeout=600";

/// Daemons the packages above (or Kea's recommended companions) may start on the host; none
/// the install started may keep running there.
const HOST_DAEMONS: &[(&str, &str)] = &[
    // (systemd unit / init script, process name)
    ("kea-dhcp6-server", "kea-dhcp6"),
    ("kea-dhcp4-server", "kea-dhcp4"),
    ("kea-ctrl-agent", "kea-ctrl-agent"),
    ("isc-dhcp-relay", "dhcrelay"),
];

/// Installs whatever is missing and returns one line per action taken (empty: nothing to do).
pub(crate) fn run() -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let mut actions = Vec::new();
    let running_before = host_daemon_pids()?;
    if install_packages(&mut actions)? {
        quiet_host_daemons(&running_before, &mut actions)?;
    }
    install_rust_pieces(&mut actions)?;
    let secs = started.elapsed().as_secs_f64();
    if actions.is_empty() {
        println!("deps: everything present ({secs:.1} s)");
    } else {
        println!("deps: done in {secs:.1} s:");
        for a in &actions {
            println!("  - {a}");
        }
    }
    Ok(actions)
}

/// Installs the missing packages; true when it installed any.
fn install_packages(actions: &mut Vec<String>) -> anyhow::Result<bool> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|p| !package_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(false);
    }
    ensure_root()?;
    println!("deps: missing Debian packages: {}", missing.join(" "));
    if missing.contains(&"tshark") {
        // tshark's wireshark-common asks whether non-root users may capture; never prompt.
        let script = format!("echo '{TSHARK_PRESEED}' | debconf-set-selections");
        run_streamed(&mut cmd("sh", ["-c", &script])).context("preseeding wireshark-common")?;
    }
    run_streamed(
        cmd("apt-get", [APT_LOCK_WAIT, "update"]).env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    let mut install = cmd(
        "apt-get",
        [APT_LOCK_WAIT, "install", "-y", "--no-install-recommends"],
    );
    install
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive");
    run_streamed(&mut install)?;
    let still: Vec<&str> = missing
        .iter()
        .copied()
        .filter(|p| !package_installed(p))
        .collect();
    if !still.is_empty() {
        bail!(
            "apt-get install finished but these are still not installed: {}",
            still.join(" ")
        );
    }
    actions.push(format!("installed {}", missing.join(" ")));
    Ok(true)
}

fn package_installed(package: &str) -> bool {
    output(&mut cmd("dpkg-query", ["-W", "-f=${Status}", package]))
        .is_ok_and(|status| status_is_installed(&status))
}

/// `dpkg-query -W -f='${Status}'` prints `install ok installed` for an installed package;
/// removed-but-configured (`deinstall ok config-files`) and half-installed states are not.
fn status_is_installed(status: &str) -> bool {
    status.trim() == "install ok installed"
}

fn ensure_root() -> anyhow::Result<()> {
    let uid = output(&mut cmd("id", ["-u"])).context("finding our user id")?;
    if uid.trim() != "0" {
        bail!("installing Debian packages needs root (run as root, as CI does)");
    }
    Ok(())
}

/// Host-namespace pids of every [`HOST_DAEMONS`] process, before the install.
fn host_daemon_pids() -> anyhow::Result<Vec<u32>> {
    let mut pids = Vec::new();
    for &(_, process) in HOST_DAEMONS {
        pids.extend(host_namespace_pids(process)?);
    }
    Ok(pids)
}

/// After an install: stops and disables the Debian services (where systemd runs) and ends the
/// daemons that appeared in the host's network namespace since `running_before` was taken.
/// Daemons inside lab namespaces, and those that ran before the install, are left alone.
fn quiet_host_daemons(running_before: &[u32], actions: &mut Vec<String>) -> anyhow::Result<()> {
    let systemd = Path::new("/run/systemd/system").is_dir();
    for &(unit, process) in HOST_DAEMONS {
        if systemd && unit_enabled_or_active(unit) {
            run_streamed(&mut cmd("systemctl", ["disable", "--now", unit]))?;
            actions.push(format!("stopped and disabled the {unit} service"));
        }
        for pid in started_since(running_before, &host_namespace_pids(process)?) {
            stop_process(pid)?;
            actions.push(format!(
                "stopped {process} (pid {pid}), started on the host by the install"
            ));
        }
    }
    Ok(())
}

/// The pids in `now` that were not running `before`.
fn started_since(before: &[u32], now: &[u32]) -> Vec<u32> {
    now.iter()
        .copied()
        .filter(|pid| !before.contains(pid))
        .collect()
}

/// `enabled` only: a SysV script's generated unit reports `generated` and never starts on its
/// own here (isc-dhcp-relay does nothing without configured servers), so it is left alone
/// unless it runs.
fn unit_enabled_or_active(unit: &str) -> bool {
    let state = output(&mut cmd("systemctl", ["is-enabled", unit])).unwrap_or_default();
    state.trim() == "enabled" || succeeds(&mut cmd("systemctl", ["is-active", "--quiet", unit]))
}

/// Pids of processes named exactly `name` that share our network namespace.
fn host_namespace_pids(name: &str) -> anyhow::Result<Vec<u32>> {
    let ours = std::fs::read_link("/proc/self/ns/net").context("reading our network namespace")?;
    // pgrep exits 1 when nothing matches; that is the common case, not an error.
    let listed = output(&mut cmd("pgrep", ["-x", name])).unwrap_or_default();
    Ok(parse_pids(&listed)
        .into_iter()
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|ns| ns == ours))
        .collect())
}

fn parse_pids(listed: &str) -> Vec<u32> {
    listed
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// SIGTERM, up to three seconds of grace, then SIGKILL.
fn stop_process(pid: u32) -> anyhow::Result<()> {
    let pid_s = pid.to_string();
    if !succeeds(&mut cmd("kill", ["-TERM", &pid_s])) {
        return Ok(()); // already gone
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    succeeds(&mut cmd("kill", ["-KILL", &pid_s]));
    Ok(())
}

fn install_rust_pieces(actions: &mut Vec<String>) -> anyhow::Result<()> {
    let toolchains = output(&mut cmd("rustup", ["toolchain", "list"])).context("rustup")?;
    if !toolchains.lines().any(|l| l.starts_with("nightly")) {
        run_streamed(&mut cmd(
            "rustup",
            [
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
                "--component",
                "rust-src",
            ],
        ))?;
        actions.push("installed the nightly toolchain with rust-src".to_owned());
    }
    let components = output(&mut cmd(
        "rustup",
        ["component", "list", "--installed", "--toolchain", "nightly"],
    ))?;
    if !components.lines().any(|l| l.starts_with("rust-src")) {
        run_streamed(&mut cmd(
            "rustup",
            ["component", "add", "rust-src", "--toolchain", "nightly"],
        ))?;
        actions.push("added rust-src to nightly".to_owned());
    }
    if !succeeds(&mut cmd("cargo", ["fuzz", "--version"])) {
        run_streamed(&mut cmd("cargo", ["install", "cargo-fuzz", "--locked"]))?;
        actions.push("installed cargo-fuzz".to_owned());
    }
    if install_bpf_linker()? {
        actions.push("installed bpf-linker (LLVM 22)".to_owned());
    }
    Ok(())
}

/// bpf-linker, for the XDP program (`ebpf/`), built against LLVM 22 as ebpf-toolchain.md
/// verified (`LLVM_PREFIX` is required: /usr/bin/llvm-config is LLVM 14). Lands in cargo's
/// bin directory, which is on PATH wherever cargo is.
fn install_bpf_linker() -> anyhow::Result<bool> {
    if succeeds(&mut cmd("bpf-linker", ["--version"])) {
        return Ok(false);
    }
    run_streamed(
        cmd(
            "cargo",
            [
                "install",
                "bpf-linker",
                "--locked",
                "--no-default-features",
                "--features",
                "llvm-22",
            ],
        )
        .env("LLVM_PREFIX", "/usr/lib/llvm-22"),
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fully_installed_status_counts() {
        assert!(status_is_installed("install ok installed"));
        assert!(status_is_installed("install ok installed\n"));
        assert!(!status_is_installed("deinstall ok config-files"));
        assert!(!status_is_installed("install ok half-configured"));
        assert!(!status_is_installed(""));
    }

    #[test]
    fn only_daemons_the_install_started_are_stopped() {
        assert_eq!(started_since(&[10, 20], &[10, 20, 30, 40]), vec![30, 40]);
        assert_eq!(started_since(&[10], &[10]), Vec::<u32>::new());
        assert_eq!(started_since(&[], &[5]), vec![5]);
        // A daemon that ran before and exited during the install is not ours to stop.
        assert_eq!(started_since(&[7], &[]), Vec::<u32>::new());
    }

    #[test]
    fn pgrep_output_parses_to_pids() {
        assert_eq!(parse_pids("12\n345\n"), vec![12, 345]);
        assert_eq!(parse_pids(""), Vec::<u32>::new());
        assert_eq!(parse_pids("x\n7\n"), vec![7]);
    }

    #[test]
    fn host_namespace_pids_sees_a_process_of_ours_and_not_a_stranger() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pids = host_namespace_pids("sleep").unwrap();
        assert!(pids.contains(&child.id()), "{pids:?} lacks {}", child.id());
        assert!(host_namespace_pids("xtask-no-such-process")
            .unwrap()
            .is_empty());
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn the_package_list_covers_every_program_the_lab_runs() {
        for p in [
            "kea-dhcp6-server",
            "kea-admin",
            "isc-dhcp-client",
            "isc-dhcp-relay",
            "tshark",
            "chromium",
        ] {
            assert!(PACKAGES.contains(&p), "{p}");
        }
    }
}
