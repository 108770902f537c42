//! `tandem-bench` against tandemd and Kea in the tandem-lab topologies: every exchange
//! completes, and the server's store holds a lease for every simulated client.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tandem_bench::population::{DuidKind, Population, DUID_LEN_MAX};
use tandem_lab::{Direct, LeaseKind, Netns, Relayed, Subject, SubjectKind, CLIENT_IF};

const SEED: u64 = 7;

/// The tandemd binary: `$TANDEMD`, else a release build of the workspace's `tandemd`.
fn tandemd() -> PathBuf {
    if let Some(p) = std::env::var_os("TANDEMD") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let st = Command::new(env!("CARGO"))
        .args(["build", "--release", "-p", "tandemd"])
        .current_dir(&root)
        .status()
        .expect("cargo build -p tandemd");
    assert!(st.success(), "building tandemd failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join("release/tandemd");
    assert!(bin.is_file(), "{} missing", bin.display());
    bin
}

fn bench_bin() -> &'static str {
    env!("CARGO_BIN_EXE_tandem-bench")
}

/// Runs the generator in `ns` with `args` plus `--json`; returns the JSON report.
fn run_bench(ns: &Netns, dir: &Path, name: &str, args: &[&str]) -> Value {
    let json = dir.join(format!("{name}.json"));
    let svg = dir.join(format!("{name}.svg"));
    let mut cmd = ns.command(bench_bin());
    cmd.args(args)
        .arg("--seed")
        .arg(SEED.to_string())
        .arg("--json")
        .arg(&json)
        .arg("--svg")
        .arg(&svg);
    let out = cmd.output().expect("running tandem-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{name}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tandem-bench {args:?} failed");
    let text = std::fs::read_to_string(&json).expect("json written");
    assert!(std::fs::read_to_string(&svg)
        .expect("svg written")
        .starts_with("<svg"));
    serde_json::from_str(&text).expect("valid JSON")
}

/// Checks the one step of `report`: `clients` transactions started, each answered, each
/// ending in a binding.
fn assert_all_completed(report: &Value, clients: u64) {
    let step = &report["steps"][0];
    let n = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    assert_eq!(n(&step["started"]), clients, "{step:#}");
    let sa = &step["kinds"]["solicit-advertise"];
    let rr = &step["kinds"]["request-reply"];
    assert_eq!(
        (n(&sa["sent"]), n(&sa["received"]), n(&sa["lost"])),
        (clients, clients, 0),
        "{step:#}"
    );
    assert_eq!(
        (n(&rr["sent"]), n(&rr["received"]), n(&rr["lost"])),
        (clients, clients, 0),
        "{step:#}"
    );
    assert_eq!(n(&step["bound"]), clients, "{step:#}");
    assert_eq!(n(&step["bound_clients"]), clients, "{step:#}");
    assert_eq!(
        n(&step["unexpected"]) + n(&step["malformed"]) + n(&step["late"]),
        0,
        "{step:#}"
    );
    assert!(
        step["kinds"]["request-reply"]["latency"]["p99_us"]
            .as_f64()
            .unwrap_or(0.0)
            > 0.0
    );
    assert_eq!(
        step["servers"].as_array().map(Vec::len),
        Some(1),
        "{step:#}"
    );
}

/// Checks that the store binds an address and a prefix to each of the `clients` DUIDs.
fn assert_stored(subject: &Subject, clients: u32) {
    let pop = Population::new(clients, SEED, DuidKind::Ll).unwrap();
    let mut buf = [0u8; DUID_LEN_MAX];
    let ours: BTreeSet<String> = (0..clients)
        .map(|i| {
            let n = pop.duid(i, &mut buf);
            buf[..n].iter().map(|b| format!("{b:02x}")).collect()
        })
        .collect();
    let bound = subject.bound().expect("reading the store");
    let leases = subject.leases().expect("reading the store");
    for kind in [LeaseKind::Na, LeaseKind::Pd] {
        let duids: BTreeSet<&str> = leases
            .iter()
            .filter(|l| l.kind == kind && l.state == "bound")
            .map(|l| l.duid.as_str())
            .collect();
        let missing = ours.iter().filter(|d| !duids.contains(d.as_str())).count();
        assert_eq!(
            missing, 0,
            "{kind:?}: {missing} of {clients} clients have no lease"
        );
    }
    let ours_bound = bound.values().filter(|d| ours.contains(*d)).count();
    assert_eq!(
        ours_bound,
        2 * clients as usize,
        "one address and one prefix per client"
    );
}

/// A directory for configs, stores and results; kept when `TANDEM_LAB_KEEP=1`.
struct TestDir(tempfile::TempDir);

impl TestDir {
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::env::var("TANDEM_LAB_KEEP").is_ok_and(|v| v == "1") {
            let keep = std::mem::replace(&mut self.0, tempfile::tempdir().expect("tempdir"));
            eprintln!("kept {}", keep.keep().display());
        }
    }
}

fn test_dir(name: &str) -> TestDir {
    TestDir(
        tempfile::Builder::new()
            .prefix(&format!("tandem-bench-{name}-"))
            .tempdir()
            .expect("tempdir"),
    )
}

fn direct(kind: SubjectKind) {
    tandem_lab::preflight().expect("lab preflight");
    let tandemd = (kind == SubjectKind::Tandem).then(tandemd);
    let dir = test_dir(kind.as_str());
    let lab = Direct::new().expect("lab");
    let params = lab.server_params();
    let subject = Subject::start(kind, &lab.server, &params, dir.path(), tandemd.as_deref())
        .expect("server start");
    let clients = 3000u32;
    let report = run_bench(
        &lab.client,
        dir.path(),
        "direct",
        &[
            "--iface",
            CLIENT_IF,
            "--mode",
            "direct",
            "--scenario",
            "exchange",
            "--ia",
            "both",
            "--clients",
            "3000",
            "--rate",
            "1000",
            "--seconds",
            "3",
            "--wait-ms",
            "2000",
            "--threads",
            "2",
        ],
    );
    assert_all_completed(&report, u64::from(clients));
    assert_stored(&subject, clients);
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn direct_exchanges_against_tandemd_all_complete_and_are_stored() {
    direct(SubjectKind::Tandem);
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn direct_exchanges_against_kea_all_complete_and_are_stored() {
    direct(SubjectKind::Kea);
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn relayed_exchanges_against_tandemd_all_complete_and_are_stored() {
    tandem_lab::preflight().expect("lab preflight");
    let tandemd = tandemd();
    let dir = test_dir("relayed");
    let lab = Relayed::new().expect("lab");
    let params = lab.server_params();
    let subject = Subject::start(
        SubjectKind::Tandem,
        &lab.server,
        &params,
        dir.path(),
        Some(&tandemd),
    )
    .expect("server start");
    // The generator stands in for 64 relays on the relay's upstream address; their
    // link-addresses lie in the served subnet 2001:db8:1::/64.
    let server = lab.server_addr.to_string();
    let bind = lab.relay_up_addr.to_string();
    let base: Ipv6Addr = "2001:db8:1::ff:0".parse().unwrap();
    let report = run_bench(
        &lab.relay,
        dir.path(),
        "relayed",
        &[
            "--mode",
            "relayed",
            "--relay-server",
            &server,
            "--bind",
            &bind,
            "--relays",
            "64",
            "--relay-link-base",
            &base.to_string(),
            "--scenario",
            "exchange",
            "--ia",
            "both",
            "--clients",
            "2000",
            "--rate",
            "1000",
            "--seconds",
            "2",
            "--wait-ms",
            "2000",
        ],
    );
    assert_all_completed(&report, 2000);
    assert_stored(&subject, 2000);
}
