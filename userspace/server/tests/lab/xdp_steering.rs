//! The datapath of issue 4 with the real eBPF object (`cargo xtask build-ebpf`): the XDP program
//! on the server's veth in native and in generic mode, the socket filter and the reuseport
//! program on the workers' sockets. Checked through tandemd's own counters in stats.json: every
//! client packet reaches the worker that owns its client (no handoff), junk to port 547 dies in
//! XDP; and without the object (`mode = "auto"`) the server still serves everyone on sockets.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tandem_lab::relay::Relay;
use tandem_lab::{
    wait_for, Direct, LabDatapath, Perfdhcp, Relayed, Subject, CLIENT_IF, RELAY_DOWN_IF,
    RELAY_UP_IF,
};

use crate::common::{log_tail, start_tandemd, TestDir};

/// Where `cargo xtask build-ebpf` leaves the object (or `TANDEM_XDP_OBJECT`).
pub(crate) fn object() -> PathBuf {
    if let Some(p) = std::env::var_os("TANDEM_XDP_OBJECT") {
        return PathBuf::from(p);
    }
    // `cargo xtask build-ebpf` always builds into the workspace's own target directory.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = root.join("target/bpfel-unknown-none/release/tandem-xdp");
    assert!(
        p.is_file(),
        "no XDP object at {}: run `cargo xtask build-ebpf` (cargo xtask test does)",
        p.display()
    );
    p
}

fn stats(s: &Subject) -> Value {
    s.stats().ok().flatten().unwrap_or(Value::Null)
}

/// Waits for stats.json to show `datapath` and returns the stats.
fn wait_datapath(s: &Subject, want: &str) -> Value {
    wait_for("datapath in stats.json", Duration::from_secs(10), || {
        let v = stats(s);
        (v["datapath"] == want).then_some(v)
    })
    .unwrap_or_else(|e| panic!("{e:#}\nstats {}\n{}", stats(s), log_tail(s)))
}

/// Runs `clients` 4-message exchanges; asserts that every one completed.
fn exchanges(ns: &tandem_lab::Netns, dir: &Path, name: &str, clients: u32) {
    let p = Perfdhcp::new(CLIENT_IF, 500, clients, clients);
    let report = p.run(ns, dir, name).unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    let req = report.exchange("REQUEST-REPLY").unwrap();
    assert!(
        req.received >= u64::from(clients),
        "every exchange completes: {req:?}"
    );
}

/// The stats once they show `clients` address leases and two packets per client received
/// (workers publish their counters a few times a second).
fn settled(s: &Subject, clients: u64) -> Value {
    wait_for("counters settle", Duration::from_secs(5), || {
        let v = stats(s);
        let done = v["leases"]["na"] == clients && v["received"].as_u64() >= Some(2 * clients);
        done.then_some(v)
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", stats(s)))
}

fn counter(v: &Value, name: &str) -> u64 {
    v["xdp"][name].as_u64().unwrap_or(0)
}

fn direct_run(generic: bool) {
    let mode = if generic { "xdp-generic" } else { "xdp-native" };
    let dir = TestDir::new(mode);
    tandem_lab::preflight().expect("lab preflight");
    let lab = Direct::new().unwrap();
    // testing.md: redirected packets a peer-namespace process generated need the sender's
    // checksum offload off, or the kernel drops them as bad UDP checksums.
    lab.client
        .run(&["ethtool", "-K", CLIENT_IF, "tx", "off"])
        .unwrap();
    let mut params = lab.server_params();
    params.workers = 2;
    params.datapath = LabDatapath::Xdp {
        object: object(),
        generic,
    };
    let server = start_tandemd(&lab.server, &params, dir.path());
    let before = wait_datapath(&server, mode);
    assert_eq!(before["handoffs"], 0);

    exchanges(&lab.client, dir.path(), "perfdhcp", 2000);
    let after = settled(&server, 2000);
    println!(
        "{mode}: received {} handoffs {} per worker {} xdp {}",
        after["received"], after["handoffs"], after["per_worker"], after["xdp"]
    );
    // Every Solicit and Request reached its owner's socket: no worker handed one over.
    assert_eq!(after["handoffs"], 0, "{after}");
    let per_worker: Vec<u64> = after["per_worker"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["received"].as_u64().unwrap())
        .collect();
    assert!(
        per_worker.iter().all(|&n| n > 500),
        "both workers own clients: {per_worker:?}"
    );
    assert!(counter(&after, "steered") >= 4000, "{after}");
    assert_eq!(after["leases"]["na"], 2000, "every client holds an address");

    // Junk to port 547: shorter than a DHCPv6 header, and an option running past the end.
    let junk_before = counter(&after, "drop_malformed");
    let received_before = after["received"].as_u64().unwrap();
    let truncated_option = [1u8, 0, 0, 1, 0, 1, 0, 200, 0, 1];
    for bytes in [&[1u8, 0][..], &truncated_option[..]] {
        send(&lab.client, dir.path(), bytes, 10);
    }
    let after_junk = wait_for("junk counted", Duration::from_secs(5), || {
        let v = stats(&server);
        (counter(&v, "drop_malformed") >= junk_before + 20).then_some(v)
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", stats(&server)));
    assert_eq!(
        after_junk["received"].as_u64().unwrap(),
        received_before,
        "junk never reached a worker"
    );
}

/// Sends `bytes` `times` times from the client namespace to ff02::1:2 port 547.
fn send(ns: &tandem_lab::Netns, dir: &Path, bytes: &[u8], times: u32) {
    let path = dir.join("junk.bin");
    std::fs::write(&path, bytes).unwrap();
    let script = format!(
        "import socket\ns = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n\
         s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'{CLIENT_IF}')\n\
         p = open('{}', 'rb').read()\nscope = socket.if_nametoindex('{CLIENT_IF}')\n\
         for _ in range({times}):\n    s.sendto(p, ('ff02::1:2', 547, 0, scope))\n",
        path.display()
    );
    ns.run(&["python3", "-c", &script]).unwrap();
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn xdp_native_steers_every_client_to_its_owner_and_drops_junk() {
    direct_run(false);
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn xdp_generic_steers_every_client_to_its_owner_and_drops_junk() {
    direct_run(true);
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn relayed_clients_reach_their_owner_through_the_reuseport_program() {
    let dir = TestDir::new("xdp-relayed");
    tandem_lab::preflight().expect("lab preflight");
    let lab = Relayed::new().unwrap();
    for (ns, iface) in [(&lab.client, CLIENT_IF), (&lab.relay, RELAY_UP_IF)] {
        ns.run(&["ethtool", "-K", iface, "tx", "off"]).unwrap();
    }
    let mut params = lab.server_params();
    params.datapath = LabDatapath::Xdp {
        object: object(),
        generic: false,
    };
    let server = start_tandemd(&lab.server, &params, dir.path());
    wait_datapath(&server, "xdp-native");
    let _relay = Relay::start(
        &lab.relay,
        RELAY_DOWN_IF,
        lab.server_addr,
        RELAY_UP_IF,
        dir.path(),
    )
    .unwrap();
    // The relay forwards every client from one address and port: one flow, which the
    // kernel's own reuseport hash would put on one socket.
    exchanges(&lab.client, dir.path(), "perfdhcp", 1000);
    let after = settled(&server, 1000);
    println!(
        "relayed: received {} handoffs {} per worker {} xdp {}",
        after["received"], after["handoffs"], after["per_worker"], after["xdp"]
    );
    assert_eq!(after["handoffs"], 0, "{after}");
    assert_eq!(after["leases"]["na"], 1000);
    let per_worker: Vec<u64> = after["per_worker"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["received"].as_u64().unwrap())
        .collect();
    assert!(
        per_worker.iter().all(|&n| n > 300),
        "one relay flow spread over both workers: {per_worker:?}"
    );
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn without_the_object_auto_serves_every_client_on_sockets() {
    let dir = TestDir::new("xdp-absent");
    tandem_lab::preflight().expect("lab preflight");
    let lab = Direct::new().unwrap();
    let mut params = lab.server_params();
    params.datapath = LabDatapath::Auto {
        object: dir.path().join("no-such-object"),
    };
    let server = start_tandemd(&lab.server, &params, dir.path());
    let v = wait_datapath(&server, "socket");
    assert!(v.get("xdp").is_none(), "{v}");
    assert!(
        server.log().contains("no-such-object"),
        "the reason is logged"
    );
    exchanges(&lab.client, dir.path(), "perfdhcp", 1000);
    assert_eq!(stats(&server)["leases"]["na"], 1000);
}
