//! `config/systemd/tandemd.service` passes `systemd-analyze verify` with no warning, pointing
//! at the binary this build made and at the example config (issue 5: "the unit file is checked
//! with `systemd-analyze verify`").

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn unit_text() -> String {
    std::fs::read_to_string(repo().join("config/systemd/tandemd.service")).expect("the unit file")
}

/// The unit with its paths pointed at this build, written to a scratch directory; returns what
/// `systemd-analyze verify` printed on stderr and whether it exited 0.
fn verify(unit: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("scratch dir");
    let config = repo().join("config/standalone.toml");
    let unit = unit
        .replace("/usr/local/sbin/tandemd", env!("CARGO_BIN_EXE_tandemd"))
        .replace("/etc/tandem/tandemd.toml", &config.to_string_lossy());
    let path = dir.path().join("tandemd.service");
    std::fs::write(&path, unit).expect("write the unit");
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian package systemd; `cargo xtask deps` installs it)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

#[test]
fn the_unit_file_verifies_without_a_warning() {
    let (ok, stderr) = verify(&unit_text());
    assert!(ok && stderr.is_empty(), "systemd-analyze verify: {stderr}");
}

#[test]
fn verification_catches_a_broken_unit() {
    // The check above is only worth something if a bad directive shows.
    let broken = unit_text().replace("Type=notify", "Type=notifyy");
    let (_, stderr) = verify(&broken);
    assert!(stderr.contains("notifyy"), "not caught: {stderr:?}");
}

#[test]
fn the_unit_runs_unprivileged_with_the_documented_capabilities() {
    let unit = unit_text();
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key}="))
            .to_owned()
    };
    assert_eq!(value("Type"), "notify");
    // `systemctl reload` is a live reload (SIGHUP), announced with RELOADING=1.
    assert_eq!(value("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(value("User"), "tandem");
    assert!(value("WatchdogSec").ends_with('s'));
    let mut ambient: Vec<&str> = Vec::new();
    let ambient_line = value("AmbientCapabilities");
    ambient.extend(ambient_line.split_whitespace());
    ambient.sort_unstable();
    assert_eq!(
        ambient,
        [
            "CAP_BPF",
            "CAP_NET_ADMIN",
            "CAP_NET_BIND_SERVICE",
            "CAP_PERFMON"
        ]
    );
    assert_eq!(value("CapabilityBoundingSet"), ambient_line);
    assert_eq!(value("NoNewPrivileges"), "yes");
}
