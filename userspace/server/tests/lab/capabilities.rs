//! tandemd as the unit file runs it (issue 5, systemd): an unprivileged user (nobody) holding
//! only the unit's `AmbientCapabilities` (NET_BIND_SERVICE, NET_ADMIN, BPF, PERFMON) starts,
//! binds port 547, loads and attaches XDP, then drops every capability, and still serves every
//! client, reads its XDP counters and detaches XDP at exit.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tandem_lab::{wait_for, Direct, LabDatapath, Perfdhcp, Subject, CLIENT_IF, SERVER_IF};

use crate::common::{log_tail, tandemd, TestDir};

const NOBODY: u32 = 65534;
const CAP_NET_BIND_SERVICE: u32 = 10;
const CAP_NET_ADMIN: u32 = 12;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// setpriv as systemd's `User=`, `AmbientCapabilities=` and `CapabilityBoundingSet=` would
/// leave the process.
const AS_NOBODY: &[&str] = &[
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all,+net_bind_service,+net_admin,+bpf,+perfmon",
    "--ambient-caps=-all,+net_bind_service,+net_admin,+bpf,+perfmon",
    "--bounding-set=-all,+net_bind_service,+net_admin,+bpf,+perfmon",
    "--",
];

fn mask(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |m, c| m | 1 << c)
}

/// (uid, CapEff, CapPrm, CapBnd, CapAmb) of the main thread of `pid`.
fn identity(pid: u32) -> (u32, u64, u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
            .trim()
            .to_owned()
    };
    let hex = |name: &str| u64::from_str_radix(&field(name), 16).unwrap();
    let uid = field("Uid:")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    (
        uid,
        hex("CapEff:"),
        hex("CapPrm:"),
        hex("CapBnd:"),
        hex("CapAmb:"),
    )
}

/// Every thread of `pid` holds `effective` (capabilities are per thread).
fn assert_threads(pid: u32, effective: u64) {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    for t in tasks {
        let tid: u32 = t.unwrap().file_name().to_string_lossy().parse().unwrap();
        let (uid, eff, prm, _, _) = identity(tid);
        assert_eq!(
            (uid, eff, prm),
            (NOBODY, effective, effective),
            "thread {tid}"
        );
    }
}

/// Hands the storage directory and its parent to nobody.
fn give_to_nobody(storage: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = storage.parent().unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    std::os::unix::fs::chown(storage, Some(NOBODY), Some(NOBODY))?;
    Ok(())
}

fn served(lab: &Direct, dir: &Path, clients: u32) {
    let p = Perfdhcp::new(CLIENT_IF, 500, clients, clients);
    let report = p.run(&lab.client, dir, "perfdhcp").unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    let req = report.exchange("REQUEST-REPLY").unwrap();
    assert!(req.received >= u64::from(clients), "{req:?}");
}

fn stats(s: &Subject) -> Value {
    s.stats().ok().flatten().unwrap_or(Value::Null)
}

fn run(datapath: LabDatapath, want_datapath: &str) {
    let dir = TestDir::new(&format!("caps-{want_datapath}"));
    tandem_lab::preflight().expect("lab preflight");
    let lab = Direct::new().unwrap();
    lab.client
        .run(&["ethtool", "-K", CLIENT_IF, "tx", "off"])
        .unwrap();
    let mut params = lab.server_params();
    params.workers = 2;
    params.datapath = datapath;
    let mut server = Subject::start_wrapped(
        &lab.server,
        &params,
        dir.path(),
        tandemd(),
        AS_NOBODY,
        give_to_nobody,
    )
    .unwrap();
    let pid = server.pid().unwrap();
    let v = wait_for("datapath in stats.json", Duration::from_secs(10), || {
        let v = stats(&server);
        (v["datapath"] == want_datapath).then_some(v)
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}\n{}", stats(&server), log_tail(&server)));
    let (uid, eff, prm, bnd, amb) = identity(pid);
    println!(
        "{want_datapath}: uid {uid} CapEff {eff:#x} CapPrm {prm:#x} CapBnd {bnd:#x} CapAmb {amb:#x}"
    );
    let started_with = mask(&[CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_BPF, CAP_PERFMON]);
    assert_eq!(uid, NOBODY);
    assert_eq!((eff, prm, amb), (0, 0, 0), "no capability left");
    // Shrinking the bounding set needs CAP_SETPCAP, which the unit does not grant: it stays
    // the unit's, and nothing outside it can come back.
    assert_eq!(bnd, started_with, "the unit's bounding set");
    assert_threads(pid, 0);

    served(&lab, dir.path(), 500);
    let after = wait_for("counters settle", Duration::from_secs(5), || {
        let v = stats(&server);
        (v["leases"]["na"] == 500).then_some(v)
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", stats(&server)));
    if want_datapath == "xdp-native" {
        // The counters are still read without a capability.
        let steered = after["xdp"]["steered"].as_u64().unwrap_or(0);
        let before = v["xdp"]["steered"].as_u64().unwrap_or(0);
        assert!(steered >= before + 1000, "XDP counters move: {after}");
    }
    let attached = || {
        lab.server
            .run(&["ip", "link", "show", "dev", SERVER_IF])
            .unwrap()
    };
    assert_eq!(
        attached().contains("xdp"),
        want_datapath == "xdp-native",
        "{}",
        attached()
    );
    server.stop().unwrap();
    // Closing the bpf_link detached it, unprivileged.
    assert!(
        !attached().contains("xdp"),
        "XDP left attached: {}",
        attached()
    );
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn unprivileged_on_sockets_serves_with_no_capability_left() {
    run(LabDatapath::Socket, "socket");
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn unprivileged_with_xdp_serves_and_detaches_with_no_capability_left() {
    run(
        LabDatapath::Xdp {
            object: crate::xdp_steering::object(),
            generic: false,
        },
        "xdp-native",
    );
}
