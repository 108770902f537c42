//! Tests of [`super`]: each command against fake workers and files.

use std::io::Write;

use tandem_lease::{FoData, LeaseKind, LeaseState, Resource};

use super::*;
use crate::control_api::protocol::parse;
use crate::worker::admin::Deleted;

fn lease(addr: &str, kind: LeaseKind) -> Lease {
    let addr = addr.parse().unwrap();
    Lease {
        resource: match kind {
            LeaseKind::Pd => Resource::prefix(addr, 56),
            _ => Resource::address(addr),
        },
        duid: vec![1, 2].into_boxed_slice(),
        iaid: 1,
        subnet_id: 1,
        preferred_s: 1,
        valid_s: 2,
        cltt: 3,
        expires_at: 5,
        state: LeaseState::Bound,
        fo: FoData::default(),
    }
}

/// Sources whose workers are plain queues this test answers itself.
fn sources(workers: usize, storage: &Path) -> (Sources, Vec<crossbeam_channel::Receiver<Request>>) {
    let mut links = Vec::new();
    let mut inboxes = Vec::new();
    for _ in 0..workers {
        let (link, rx) = admin::link(Arc::new(crate::worker::new_eventfd().unwrap()));
        links.push(link);
        inboxes.push(rx);
    }
    let s = Sources {
        workers: links,
        storage: storage.to_owned(),
        datapath: "socket",
        durability: "durable",
        failover: None,
        partner_down: None,
        started: Instant::now(),
        reload: None,
        http: None,
    };
    (s, inboxes)
}

fn run(s: &Sources, req: &str) -> Response {
    match parse(req.as_bytes()) {
        Ok(c) => s.answer(c),
        Err(r) => r,
    }
}

#[test]
fn pages_from_several_workers_merge_in_address_order() {
    let all = vec![
        lease("2001:db8::9", LeaseKind::Na),
        lease("2001:db8::1", LeaseKind::Na),
        lease("2001:db8:8000::", LeaseKind::Pd),
        lease("2001:db8::5", LeaseKind::Na),
    ];
    let got: Vec<String> = merge_pages(all, 3)
        .iter()
        .map(|l| l.resource.addr.to_string())
        .collect();
    assert_eq!(got, ["2001:db8::1", "2001:db8::5", "2001:db8::9"]);
}

#[test]
fn lease_commands_ask_the_workers_and_answer_in_keas_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (s, inboxes) = sources(2, dir.path());
    // Worker 1 holds ::5; both answer every request (in a thread, as workers would).
    let worker = std::thread::spawn(move || {
        for _ in 0..4 {
            for (i, rx) in inboxes.iter().enumerate() {
                let req = rx.recv().unwrap();
                let held = (i == 1).then(|| lease("2001:db8::5", LeaseKind::Na));
                let a = match req.query {
                    Query::Delete(_) => Answer::Deleted(held.map(|lease| Deleted {
                        lease,
                        pending_partner: false,
                    })),
                    _ => Answer::Leases(held.into_iter().collect()),
                };
                req.reply.send(a).unwrap();
            }
        }
    });
    let r = run(
        &s,
        r#"{"command":"lease6-get","arguments":{"ip-address":"2001:db8::5"}}"#,
    );
    assert_eq!((r.result, r.text.as_str()), (0, "IPv6 lease found."));
    assert_eq!(r.arguments.as_ref().unwrap()["duid"], "01:02");
    let r = run(
        &s,
        r#"{"command":"lease6-get-page","arguments":{"from":"start","limit":5}}"#,
    );
    assert_eq!((r.result, r.text.as_str()), (0, "1 IPv6 lease(s) found."));
    assert_eq!(r.arguments.as_ref().unwrap()["count"], 1);
    let r = run(
        &s,
        r#"{"command":"lease6-del","arguments":{"ip-address":"2001:db8::5"}}"#,
    );
    assert_eq!((r.result, r.text.as_str()), (0, "IPv6 lease deleted."));
    assert_eq!(r.arguments.as_ref().unwrap()["pending-partner"], false);
    let r = run(
        &s,
        r#"{"command":"lease6-get","arguments":{"ip-address":"2001:db8::5"}}"#,
    );
    assert_eq!(r.result, 0);
    worker.join().unwrap();
}

#[test]
fn absent_leases_are_result_3_and_silent_workers_result_1() {
    let dir = tempfile::tempdir().unwrap();
    let (s, inboxes) = sources(1, dir.path());
    let worker = std::thread::spawn(move || {
        for _ in 0..2 {
            let req = inboxes[0].recv().unwrap();
            let a = match req.query {
                Query::Delete(_) => Answer::Deleted(None),
                _ => Answer::Leases(Vec::new()),
            };
            req.reply.send(a).unwrap();
        }
        // The third request is dropped unanswered, as a failed journal batch drops a
        // lease6-del's answer.
        drop(inboxes[0].recv().unwrap());
    });
    let r = run(
        &s,
        r#"{"command":"lease6-get-by-duid","arguments":{"duid":"00:01"}}"#,
    );
    assert_eq!((r.result, r.text.as_str()), (3, "0 IPv6 lease(s) found."));
    let r = run(
        &s,
        r#"{"command":"lease6-del","arguments":{"prefix":"2001:db8:8000::/56"}}"#,
    );
    assert_eq!((r.result, r.text.as_str()), (3, "IPv6 lease not found."));
    let r = run(
        &s,
        r#"{"command":"lease6-del","arguments":{"ip-address":"2001:db8::5"}}"#,
    );
    assert_eq!(r.result, 1);
    assert!(r.text.contains("journal write failed"), "{}", r.text);
    worker.join().unwrap();
}

#[test]
fn a_full_worker_queue_is_an_error_not_a_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _inboxes) = sources(1, dir.path());
    for _ in 0..admin::ADMIN_QUEUE_LEN {
        let (tx, _rx) = crossbeam_channel::bounded(1);
        s.workers[0]
            .ask(Request {
                query: Query::ByDuid(Box::new([1])),
                reply: tx,
            })
            .unwrap();
    }
    let r = run(
        &s,
        r#"{"command":"lease6-get","arguments":{"ip-address":"::1"}}"#,
    );
    assert_eq!(r.result, 1);
    assert!(r.text.contains("busy"), "{}", r.text);
}

#[test]
fn process_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _inboxes) = sources(2, dir.path());
    let r = run(&s, r#"{"command":"list-commands"}"#);
    assert_eq!(
        r.arguments.unwrap().as_array().unwrap().len(),
        COMMANDS.len()
    );
    let r = run(&s, r#"{"command":"version-get"}"#);
    assert_eq!(r.text, env!("CARGO_PKG_VERSION"));
    let r = run(&s, r#"{"command":"status-get"}"#);
    let a = r.arguments.unwrap();
    assert_eq!(a["pid"], std::process::id());
    assert_eq!(
        (a["workers"].clone(), a["datapath"].clone()),
        (json!(2), json!("socket"))
    );
    assert!(a.get("failover").is_none());
    // Standalone: no failover to show or declare down.
    assert_eq!(run(&s, r#"{"command":"failover-status"}"#).result, 3);
    let r = run(&s, r#"{"command":"failover-partner-down"}"#);
    assert_eq!(
        (r.result, r.text.as_str()),
        (1, "no failover relationship is configured")
    );
    // No stats.json yet: an error naming the file; then its counters.
    let r = run(&s, r#"{"command":"statistic-get-all"}"#);
    assert_eq!(r.result, 1);
    assert!(r.text.contains("stats.json"), "{}", r.text);
    std::fs::write(
        dir.path().join("stats.json"),
        br#"{"now": 60, "received": 4}"#,
    )
    .unwrap();
    let r = run(&s, r#"{"command":"statistic-get-all"}"#);
    assert_eq!(
        r.arguments.unwrap()["pkt6-received"],
        json!([[4, "1970-01-01 00:01:00.000000"]])
    );
}

#[test]
fn config_test_checks_like_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _inboxes) = sources(1, dir.path());
    let good = dir.path().join("good.toml");
    let mut f = std::fs::File::create(&good).unwrap();
    writeln!(
        f,
        "[server]\ninterfaces = [\"eth0\"]\n[storage]\npath = \"/var/lib/t\""
    )
    .unwrap();
    let req = |p: &Path| {
        format!(
            r#"{{"command":"config-test","arguments":{{"config-file":"{}"}}}}"#,
            p.display()
        )
    };
    let r = run(&s, &req(&good));
    assert_eq!(
        (r.result, r.text.as_str()),
        (0, "Configuration seems sane.")
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\ninterfaces = []\n[storage]\npath = \"/x\"\n",
    )
    .unwrap();
    let r = run(&s, &req(&bad));
    assert_eq!(r.result, 1);
    assert!(
        r.text.starts_with(&format!("{}:2:", bad.display())),
        "{}",
        r.text
    );
    let r = run(&s, &req(&dir.path().join("missing.toml")));
    assert_eq!(r.result, 1);
    assert!(r.text.contains("missing.toml"), "{}", r.text);
}
