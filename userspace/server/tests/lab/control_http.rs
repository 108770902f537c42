//! The control API over HTTP (issue 5 item 2, the optional part): tandemd with `[control]
//! http-listen` on its address in the server namespace, ~100 perfdhcp clients served, then
//! curl inside that namespace: no credentials and a wrong password get 401 (counted in
//! `/metrics`), the right ones get Kea Control Agent's array answers that match the store
//! (`dump-leases`), a `lease6-del` leaves the store, `tandemctl --url` counts the same
//! leases, and a new password is taken at SIGHUP.

use std::collections::BTreeSet;
use std::net::{Ipv6Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::Value;
use tandem_lab::{wait_for, Netns, Perfdhcp, StoredLease, Subject, SubjectKind, CLIENT_IF};

use crate::common::{log_tail, subject_kind, tandemd, TestDir};

const CLIENTS: u32 = 100;
const HTTP_PORT: u16 = 8000;
const METRICS_PORT: u16 = 9547;
const USER: &str = "ops";
const PASSWORD: &str = "lab-s3cret-0123456789";

/// One curl exchange: status, the raw head, the body.
struct Http {
    status: u16,
    head: String,
    body: String,
}

impl Http {
    /// The Kea Control Agent answer: an array holding exactly one answer object.
    fn answer(&self) -> Value {
        let v: Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {} {}", self.head, self.body));
        let list = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
        assert_eq!(list.len(), 1, "{v}");
        list[0].clone()
    }
}

/// `curl -i` inside `ns`: POST `body` to `/` with `user:password` when given.
fn curl(ns: &Netns, addr: SocketAddr, auth: Option<&str>, body: &str) -> Http {
    let url = format!("http://{addr}/");
    let mut args = vec![
        "curl",
        "-sS",
        "-i",
        "-g",
        "--max-time",
        "10",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        body,
    ];
    if let Some(a) = auth {
        args.extend(["-u", a]);
    }
    args.push(&url);
    let out = ns
        .run(&args)
        .unwrap_or_else(|e| panic!("curl {url}: {e:#}"));
    let (head, body) = out
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head: {out:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head:?}"));
    Http {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

fn key(l: &StoredLease) -> (Ipv6Addr, u8) {
    (l.address, l.prefix_len)
}

fn api_key(l: &Value) -> (Ipv6Addr, u8) {
    let a = l["ip-address"].as_str().unwrap().parse().unwrap();
    (a, l["prefix-len"].as_u64().unwrap() as u8)
}

fn page(ns: &Netns, addr: SocketAddr, auth: &str) -> BTreeSet<(Ipv6Addr, u8)> {
    let a = curl(
        ns,
        addr,
        Some(auth),
        r#"{"command":"lease6-get-page","service":["dhcp6"],"arguments":{"from":"start","limit":10000}}"#,
    )
    .answer();
    assert_eq!(a["result"], 0, "{a}");
    let leases = a["arguments"]["leases"].as_array().unwrap();
    assert_eq!(a["arguments"]["count"], leases.len());
    leases.iter().map(api_key).collect()
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn control_http_answers_with_credentials_only() {
    if subject_kind() != SubjectKind::Tandem {
        println!("control API over HTTP: tandemd only");
        return;
    }
    let dir = TestDir::new("control-http");
    let lab = tandem_lab::Direct::new().unwrap();
    let mut params = lab.server_params();
    let metrics = SocketAddr::new(lab.server_addr.into(), METRICS_PORT);
    params.metrics = Some(metrics);
    let addr = SocketAddr::new(lab.server_addr.into(), HTTP_PORT);
    let password_file = dir.path().join("http-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let storage = dir.path().join("store");
    std::fs::create_dir_all(&storage).unwrap();
    let config = dir.path().join("tandemd.toml");
    let text = format!(
        "{}\n[control]\nhttp-listen = \"{addr}\"\nhttp-user = \"{USER}\"\n\
         http-password-file = \"{}\"\n",
        tandem_lab::render::tandem_toml(&params, &storage),
        password_file.display()
    );
    std::fs::write(&config, text).unwrap();
    let mut subject =
        Subject::start_tandem_file(&lab.server, &config, dir.path(), tandemd()).unwrap();

    let mut p = Perfdhcp::new(CLIENT_IF, 200, CLIENTS, CLIENTS);
    p.address_and_prefix = true;
    let report = p.run(&lab.client, dir.path(), "perfdhcp").unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    let store = subject.leases().unwrap();
    assert!(
        store.len() >= CLIENTS as usize,
        "{} leases for {CLIENTS} clients",
        store.len()
    );

    // Without credentials, and with a wrong password: 401 and the Basic challenge.
    let status = r#"{"command":"status-get","service":["dhcp6"]}"#;
    let wrong = format!("{USER}:not-{PASSWORD}");
    for auth in [None, Some(wrong.as_str())] {
        let r = curl(&lab.server, addr, auth, status);
        println!("$ curl -u {auth:?} ...\n{}\n\n{}", r.head, r.body);
        assert_eq!(r.status, 401, "{auth:?}: {}", r.head);
        assert!(
            r.head.contains("WWW-Authenticate: Basic realm=\"tandem\""),
            "{}",
            r.head
        );
        assert!(!r.body.contains("result"), "nothing answered: {}", r.body);
    }
    // Logged at warn with the peer, once for both (at most one line per 10 s).
    let log = subject.log();
    let warned: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("authentication failed"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert!(
        warned[0].contains("WARN") && warned[0].contains(&lab.server_addr.to_string()),
        "{}",
        warned[0]
    );
    let scrape = lab
        .server
        .run(&[
            "curl",
            "-sS",
            "-g",
            "--max-time",
            "5",
            &format!("http://{metrics}/metrics"),
        ])
        .unwrap();
    assert!(
        scrape.contains("\ntandem_control_http_auth_failures_total 2\n"),
        "{}",
        scrape
            .lines()
            .filter(|l| l.contains("control_http"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The right credentials: Kea Control Agent's array answers.
    let auth = format!("{USER}:{PASSWORD}");
    let r = curl(&lab.server, addr, Some(&auth), status);
    println!("$ curl -u {USER}:*** status-get\n{}\n\n{}", r.head, r.body);
    assert_eq!(r.status, 200);
    assert!(
        r.head.contains("Content-Type: application/json"),
        "{}",
        r.head
    );
    let a = r.answer();
    assert_eq!(a["result"], 0, "{a}");
    assert_eq!(a["arguments"]["pid"], subject.pid().unwrap());
    let a = curl(
        &lab.server,
        addr,
        Some(&auth),
        r#"{"command":"status-get","service":["dhcp4"]}"#,
    )
    .answer();
    assert_eq!(a["result"], 1);
    assert!(a["text"].as_str().unwrap().contains("dhcp4"), "{a}");

    // lease6-get-page: exactly the store's leases.
    let want: BTreeSet<_> = store.iter().map(key).collect();
    assert_eq!(page(&lab.server, addr, &auth), want);

    // lease6-del of one lease: gone from the store (durable before the answer).
    let gone = &store[store.len() / 2];
    let del = if gone.prefix_len == 128 {
        format!(
            r#"{{"command":"lease6-del","arguments":{{"ip-address":"{}"}}}}"#,
            gone.address
        )
    } else {
        format!(
            r#"{{"command":"lease6-del","arguments":{{"prefix":"{}/{}"}}}}"#,
            gone.address, gone.prefix_len
        )
    };
    let a = curl(&lab.server, addr, Some(&auth), &del).answer();
    assert_eq!(
        (a["result"].as_i64(), a["text"].as_str()),
        (Some(0), Some("IPv6 lease deleted.")),
        "{a}"
    );
    let after = subject.leases().unwrap();
    assert_eq!(after.len(), store.len() - 1);
    assert!(after.iter().all(|l| key(l) != key(gone)));
    let remaining: BTreeSet<_> = after.iter().map(key).collect();
    assert_eq!(page(&lab.server, addr, &auth), remaining);

    // tandemctl --url counts the same leases.
    let out = lab
        .server
        .command(env!("CARGO_BIN_EXE_tandemctl"))
        .args([
            "--url",
            &format!("http://{addr}"),
            "--user",
            USER,
            "--password-file",
        ])
        .arg(&password_file)
        .args(["leases", "page", "--all", "--limit", "1000"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("$ tandemctl --url http://{addr} ... leases page --all\n{stderr}");
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("{} IPv6 lease(s) found.", after.len())),
        "{stderr}"
    );
    assert_eq!(
        stdout.lines().count(),
        after.len() + 1,
        "header and one line per lease"
    );

    // A new password is read at reload (SIGHUP); the old one stops working.
    std::fs::write(&password_file, "n3w-s3cret-0123456789\n").unwrap();
    let pid = subject.pid().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    let new = format!("{USER}:n3w-s3cret-0123456789");
    wait_for("the new password", Duration::from_secs(10), || {
        (curl(&lab.server, addr, Some(&new), status).status == 200).then_some(())
    })
    .unwrap();
    assert_eq!(curl(&lab.server, addr, Some(&auth), status).status, 401);
    assert!(subject.is_running(), "{}", log_tail(&subject));
    subject.stop().unwrap();
}
