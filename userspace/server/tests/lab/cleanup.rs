//! The lab's own guarantee: a test that panics leaves no namespace, no `/etc/netns` entry and no
//! process behind (every guard cleans up during unwinding).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Mutex;

use tandem_lab::capture::Capture;
use tandem_lab::{
    Dhclient, DhclientMode, Relay, Relayed, Subject, CLIENT_IF, RELAY_DOWN_IF, RELAY_UP_IF,
    SERVER_IF,
};

use crate::common::{subject_kind, tandemd, TestDir};

/// The panic message of the body, which the panic hook keeps quiet.
const DELIBERATE: &str = "deliberate lab panic";

/// What the panicking body had built: namespace names and process ids.
#[derive(Default, Debug)]
struct Built {
    namespaces: Vec<String>,
    pids: Vec<u32>,
}

fn netns_list() -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `pid` names a live (not zombie) process.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let state = s.rsplit_once(')')?.1.split_whitespace().next()?.to_owned();
            Some(state != "Z")
        })
        .unwrap_or(false)
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn cleanup_after_panic() {
    let kind = subject_kind();
    let dir = TestDir::new("cleanup");
    let built = Mutex::new(Built::default());
    // The deliberate panic below is expected: keep its message and backtrace out of the output.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.to_string().contains(DELIBERATE) {
            default_hook(info);
        }
    }));
    let r = catch_unwind(AssertUnwindSafe(|| {
        let lab = Relayed::new().unwrap();
        let params = lab.server_params();
        let subject =
            Subject::start(kind, &lab.server, &params, dir.path(), Some(tandemd())).unwrap();
        let relay = Relay::start(
            &lab.relay,
            RELAY_DOWN_IF,
            lab.server_addr,
            RELAY_UP_IF,
            dir.path(),
        )
        .unwrap();
        let cap = Capture::start(&lab.server, SERVER_IF, dir.path(), "server").unwrap();
        let client =
            Dhclient::start(&lab.client, CLIENT_IF, DhclientMode::Address, dir.path()).unwrap();
        {
            let mut b = built.lock().unwrap();
            for ns in [&lab.server, &lab.relay, &lab.client] {
                b.namespaces.push(ns.name().to_owned());
                b.pids.extend(ns.pids().into_iter().map(|p| p as u32));
            }
            b.pids.extend(subject.pid());
            b.pids.push(relay.process.pid());
        }
        let listed = netns_list();
        for ns in &built.lock().unwrap().namespaces {
            assert!(listed.contains(ns.as_str()), "{ns} not created: {listed}");
        }
        let _keep = (subject, relay, cap, client);
        panic!("{DELIBERATE}: the guards must clean up while unwinding");
    }));
    // Back to the default hook for the assertions below.
    drop(std::panic::take_hook());
    assert!(r.is_err(), "the body did not panic");
    let mut b = built.into_inner().unwrap();
    b.pids.sort_unstable();
    b.pids.dedup();
    println!("built then unwound: {b:?}");
    assert_eq!(b.namespaces.len(), 3);
    assert!(
        b.pids.len() >= 4,
        "too few processes to prove anything: {b:?}"
    );

    let listed = netns_list();
    for ns in &b.namespaces {
        assert!(
            !listed.split_whitespace().any(|w| w == ns),
            "namespace {ns} survived the panic: {listed}"
        );
        let etc = Path::new("/etc/netns").join(ns);
        assert!(!etc.exists(), "{} survived the panic", etc.display());
    }
    let survivors: Vec<u32> = b.pids.iter().copied().filter(|p| alive(*p)).collect();
    assert!(
        survivors.is_empty(),
        "processes survived the panic: {survivors:?}"
    );
}
