//! The control API through the real `tandemctl` binary against a real tandemd (issue 5 item 2):
//! every command, each answer checked against the store (`tandemd dump-leases`), a deletion
//! that stays deleted across a restart, bad requests answered with result 1 and a reason, and
//! a failover pair's status and operator partner-down.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tandem_lab::{wait_for, Direct, LeaseKind, Perfdhcp, StoredLease, Subject, CLIENT_IF};

use crate::common::{log_tail, skipped_for_kea, start_tandemd, unix_now, TestDir};
use crate::failover_pair::{start_pair, wait_state};

const CLIENTS: u32 = 300;

fn tandemctl() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tandemctl"))
}

/// What one tandemctl run printed, and its exit status.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    /// The `--json` answer.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: stdout {:?} stderr {:?}", self.stdout, self.stderr))
    }
}

/// `tandemctl --config CONFIG ARGS...`: the socket comes from the config, as an operator's would.
fn ctl(config: &Path, args: &[&str]) -> Out {
    let out = Command::new(tandemctl())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run tandemctl");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `--json` and the answer's result code (checked against the exit status).
fn ctl_json(config: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let out = ctl(config, &a);
    let v = out.json();
    let want_exit = match v["result"].as_i64() {
        Some(0) => 0,
        Some(3) => 3,
        _ => 1,
    };
    assert_eq!(out.code, want_exit, "{args:?}: exit status for {v}");
    v
}

/// Store DUIDs are plain hex; the API writes Kea's colon-separated octets.
fn plain(duid: &Value) -> String {
    duid.as_str().unwrap_or_default().replace(':', "")
}

fn key(l: &StoredLease) -> (Ipv6Addr, u8) {
    (l.address, l.prefix_len)
}

fn api_key(l: &Value) -> (Ipv6Addr, u8) {
    let a = l["ip-address"].as_str().unwrap().parse().unwrap();
    (a, l["prefix-len"].as_u64().unwrap() as u8)
}

/// Pages of `limit` through tandemctl, following the cursor, until the end.
fn page_through(config: &Path, limit: usize) -> Vec<(Ipv6Addr, u8)> {
    let mut from = "start".to_owned();
    let mut all = Vec::new();
    loop {
        let limit_s = limit.to_string();
        let v = ctl_json(
            config,
            &["leases", "page", "--from", &from, "--limit", &limit_s],
        );
        if v["result"] == 3 {
            break;
        }
        assert_eq!(v["result"], 0, "{v}");
        let leases = v["arguments"]["leases"].as_array().unwrap();
        assert_eq!(v["arguments"]["count"], leases.len());
        assert!(leases.len() <= limit);
        all.extend(leases.iter().map(api_key));
        if leases.len() < limit {
            break;
        }
        from = leases.last().unwrap()["ip-address"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    all
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn control_api_commands_answer_from_the_store() {
    if skipped_for_kea("tandemctl") {
        return;
    }
    let dir = TestDir::new("control-api");
    let lab = Direct::new().unwrap();
    let params = lab.server_params();
    let mut subject = start_tandemd(&lab.server, &params, dir.path());
    let config = subject.config_path().to_owned();
    let mut p = Perfdhcp::new(CLIENT_IF, 300, CLIENTS, CLIENTS);
    p.address_and_prefix = true;
    let report = p.run(&lab.client, dir.path(), "perfdhcp").unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    let store = subject.leases().unwrap();
    let na: Vec<&StoredLease> = store.iter().filter(|l| l.kind == LeaseKind::Na).collect();
    let pd: Vec<&StoredLease> = store.iter().filter(|l| l.kind == LeaseKind::Pd).collect();
    assert!(
        na.len() >= 250 && pd.len() >= 250,
        "{} addresses, {} prefixes",
        na.len(),
        pd.len()
    );

    // status-get, version-get, list-commands.
    let v = ctl_json(&config, &["status"]);
    assert_eq!(v["arguments"]["pid"], subject.pid().unwrap());
    assert_eq!(v["arguments"]["workers"], params.workers);
    assert_eq!(v["arguments"]["datapath"], "socket");
    assert!(v["arguments"].get("failover").is_none());
    let t = ctl(&config, &["status"]);
    println!("$ tandemctl status\n{}", t.stdout);
    assert!(
        t.stdout
            .contains(&format!("workers     {}", params.workers)),
        "{}",
        t.stdout
    );
    let v = ctl_json(&config, &["version"]);
    assert_eq!(v["text"], env!("CARGO_PKG_VERSION"));
    let v = ctl_json(&config, &["commands"]);
    let names: Vec<&str> = v["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for c in [
        "status-get",
        "version-get",
        "list-commands",
        "config-test",
        "lease6-get",
        "lease6-get-by-duid",
        "lease6-get-page",
        "lease6-del",
        "statistic-get-all",
        "failover-status",
        "failover-partner-down",
        "config-reload",
    ] {
        assert!(names.contains(&c), "{c} missing from {names:?}");
    }

    // lease6-get of a bound address and of a prefix: what the store holds.
    for l in [na[na.len() / 2], pd[pd.len() / 3]] {
        let arg = match l.kind {
            LeaseKind::Pd => format!("{}/{}", l.address, l.prefix_len),
            _ => l.address.to_string(),
        };
        let v = ctl_json(&config, &["leases", "get", &arg]);
        assert_eq!(v["result"], 0, "{v}");
        let a = &v["arguments"];
        assert_eq!(plain(&a["duid"]), l.duid, "{arg}");
        assert_eq!(api_key(a), key(l));
        assert_eq!(
            (a["iaid"].as_u64(), a["valid-lft"].as_u64()),
            (Some(u64::from(l.iaid)), Some(u64::from(l.valid)))
        );
        assert_eq!(a["cltt"].as_u64(), Some(l.cltt));
        assert_eq!(a["subnet-id"], params.subnet_id);
        assert_eq!(a["state-name"], "bound");
    }
    let t = ctl(&config, &["leases", "get", &na[0].address.to_string()]);
    println!("$ tandemctl leases get {}\n{}", na[0].address, t.stdout);
    assert!(t.stdout.starts_with("ADDRESS") && t.stdout.contains(&na[0].address.to_string()));

    // lease6-get-by-duid: exactly the client's leases in the store.
    let client = &na[1].duid;
    let v = ctl_json(&config, &["leases", "by-duid", client]);
    let got: BTreeSet<_> = v["arguments"]["leases"]
        .as_array()
        .unwrap()
        .iter()
        .map(api_key)
        .collect();
    let want: BTreeSet<_> = store
        .iter()
        .filter(|l| &l.duid == client)
        .map(key)
        .collect();
    assert_eq!(got, want);
    assert_eq!(want.len(), 2, "an address and a prefix");
    let t = ctl(&config, &["leases", "by-duid", client]);
    println!(
        "$ tandemctl leases by-duid {client}\n{}{}",
        t.stderr, t.stdout
    );

    // lease6-get-page: pages of 37 walk exactly the stored leases, once each, in order.
    let walked = page_through(&config, 37);
    let mut sorted = walked.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(walked.len(), sorted.len(), "no lease twice");
    let all: BTreeSet<_> = store.iter().map(key).collect();
    assert_eq!(walked.iter().copied().collect::<BTreeSet<_>>(), all);
    let t = ctl(&config, &["leases", "page", "--all", "--limit", "100"]);
    assert_eq!(
        t.stdout.lines().count(),
        store.len() + 1,
        "header and one line per lease"
    );

    // statistic-get-all: the stats.json counters in Kea's shape.
    let stats = wait_for("stats.json", Duration::from_secs(5), || {
        let v = ctl_json(&config, &["stats"]);
        let n = v["arguments"]["leases.na"][0][0].as_u64()?;
        (n == na.len() as u64).then_some(v)
    })
    .unwrap();
    let t = ctl(&config, &["stats"]);
    let head: Vec<&str> = t
        .stdout
        .lines()
        .filter(|l| {
            l.starts_with("NAME")
                || l.starts_with("pkt6")
                || l.starts_with("leases.")
                || l.starts_with("journal.s")
        })
        .collect();
    println!("$ tandemctl stats  (some lines)\n{}", head.join("\n"));
    let received = stats["arguments"]["pkt6-received"][0][0].as_u64().unwrap();
    assert!(received >= 4 * u64::from(CLIENTS) / 2, "{received}");
    assert!(stats["arguments"]["pkt6-received"][0][1].is_string());

    // config-test: the running config passes; a broken one is refused with its line.
    let v = ctl_json(&config, &["config-test", config.to_str().unwrap()]);
    assert_eq!(v["text"], "Configuration seems sane.");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\ninterfaces = []\n[storage]\npath = \"/x\"\n",
    )
    .unwrap();
    let v = ctl_json(&config, &["config-test", bad.to_str().unwrap()]);
    assert_eq!(v["result"], 1);
    assert!(v["text"].as_str().unwrap().contains("bad.toml:2"), "{v}");

    // Standalone: no failover.
    assert_eq!(ctl_json(&config, &["failover", "status"])["result"], 3);
    let v = ctl_json(&config, &["failover", "partner-down"]);
    assert_eq!(
        (v["result"].as_i64(), v["text"].as_str()),
        (Some(1), Some("no failover relationship is configured"))
    );

    // Bad requests: result 1 (2 for an unknown command) and the reason.
    for (args, code, says) in [
        (vec!["raw", "this is not json"], 1, "invalid JSON"),
        (
            vec!["raw", r#"{"command":"lease6-frobnicate"}"#],
            2,
            "not supported",
        ),
        (
            vec!["raw", r#"{"command":"lease4-get"}"#],
            2,
            "not supported",
        ),
        (
            vec![
                "raw",
                r#"{"command":"lease6-get","arguments":{"ip-address":"::1","color":1}}"#,
            ],
            1,
            "unknown argument `color`",
        ),
        (
            vec!["leases", "get", "not-an-address"],
            1,
            "`not-an-address` is not an IPv6 address",
        ),
        (vec!["leases", "by-duid", "zz:zz"], 1, "argument `duid`"),
        (
            vec!["leases", "page", "--limit", "0"],
            1,
            "0 is not in 1..=10000",
        ),
        (vec!["leases", "del", "2001:db8::/200"], 1, "bad length"),
    ] {
        let v = ctl_json(&config, &args);
        assert_eq!(v["result"], code, "{args:?}: {v}");
        assert!(v["text"].as_str().unwrap().contains(says), "{args:?}: {v}");
    }
    let t = ctl(&config, &["leases", "get", "not-an-address"]);
    println!(
        "$ tandemctl leases get not-an-address  (exit {})\n{}",
        t.code, t.stderr
    );
    assert_eq!(t.code, 1);
    assert!(t.stderr.contains("is not an IPv6 address"), "{}", t.stderr);
    assert!(subject.is_running(), "bad requests must not hurt tandemd");

    // lease6-del: gone from the store at once (durable before the answer), and found no more.
    let (gone_na, gone_pd) = (na[3], pd[4]);
    let pd_arg = format!("{}/{}", gone_pd.address, gone_pd.prefix_len);
    for arg in [gone_na.address.to_string(), pd_arg.clone()] {
        let v = ctl_json(&config, &["leases", "del", &arg]);
        assert_eq!(v["arguments"]["pending-partner"], false);
        assert_eq!(
            (v["result"].as_i64(), v["text"].as_str()),
            (Some(0), Some("IPv6 lease deleted.")),
            "{arg}: {v}"
        );
        assert_eq!(ctl_json(&config, &["leases", "get", &arg])["result"], 3);
        assert_eq!(
            ctl_json(&config, &["leases", "del", &arg])["result"],
            3,
            "deleted twice"
        );
    }
    let deleted: BTreeSet<_> = [key(gone_na), key(gone_pd)].into();
    let after = subject.leases().unwrap();
    assert_eq!(after.len(), store.len() - 2);
    assert!(after.iter().all(|l| !deleted.contains(&key(l))));
    let t = ctl(&config, &["leases", "get", &gone_na.address.to_string()]);
    println!(
        "$ tandemctl leases get {}  (exit {})\n{}",
        gone_na.address, t.code, t.stderr
    );
    assert_eq!(t.code, 3, "not found: exit 3");

    // After a restart the deletions hold: in the store and through the API.
    subject.restart(&lab.server).unwrap();
    let after = subject.leases().unwrap();
    assert_eq!(after.len(), store.len() - 2, "{}", log_tail(&subject));
    assert!(after.iter().all(|l| !deleted.contains(&key(l))));
    assert_eq!(ctl_json(&config, &["leases", "get", &pd_arg])["result"], 3);
    let walked: BTreeSet<_> = page_through(&config, 500).into_iter().collect();
    assert_eq!(walked, after.iter().map(key).collect());

    // tandemd stopped: the socket is gone and tandemctl says so.
    subject.stop().unwrap();
    let t = ctl(&config, &["status"]);
    println!(
        "$ tandemctl status  (tandemd stopped; exit {})\n{}",
        t.code, t.stderr
    );
    assert_eq!(t.code, 1);
    assert!(t.stderr.contains("is tandemd running?"), "{}", t.stderr);
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn control_api_failover_status_and_partner_down() {
    let dir = TestDir::new("control-api-pair");
    let mut run = start_pair(dir.path());
    let primary = run.primary.config_path().to_owned();
    let v = ctl_json(&primary, &["failover", "status"]);
    let rel = &v["arguments"]["relationships"][0];
    assert_eq!(
        (rel["state"].as_str(), rel["partner"].as_str()),
        (Some("NORMAL"), Some("NORMAL")),
        "{v}"
    );
    assert_eq!(rel["connected"], true);
    let name = rel["name"].as_str().unwrap().to_owned();
    let v = ctl_json(&primary, &["status"]);
    assert_eq!(v["arguments"]["failover"][0]["state"], "NORMAL");
    let t = ctl(&primary, &["failover", "status"]);
    println!("$ tandemctl failover status\n{}", t.stdout);
    // An unknown relationship is refused; nothing changes.
    let v = ctl_json(&primary, &["failover", "partner-down", "no-such"]);
    assert_eq!(v["result"], 1);
    assert!(v["text"].as_str().unwrap().contains(&name), "{v}");

    // lease6-del on a failover subnet: the partner is told like of any local change, and the
    // lease is freed once it acknowledged (RFC 8156 §4.2.2.1): gone from both stores' bindings.
    let perf = Perfdhcp::new(CLIENT_IF, 100, 50, 50);
    perf.run(&run.lab.clients, dir.path(), "perfdhcp").unwrap();
    let replicated = wait_for("replication", Duration::from_secs(20), || {
        let a = run.primary.bound().ok()?;
        let b = run.secondary.bound().ok()?;
        (a.len() >= 50 && a.iter().all(|(k, v)| b.get(k) == Some(v))).then_some(a)
    })
    .unwrap_or_else(|e| panic!("{e:#}\n{}", log_tail(&run.secondary)));
    // The prefix hand-overs of a fresh pair (half of 65,536) go first: the deletion's update
    // queues behind them. Wait until the queue is empty, as failover-status shows it.
    wait_for(
        "the update queue to drain",
        Duration::from_secs(120),
        || {
            let v = ctl_json(&primary, &["failover", "status"]);
            let r = &v["arguments"]["relationships"][0];
            (r["queued"] == 0 && r["unacked"] == 0).then_some(())
        },
    )
    .unwrap();
    let (&(addr, _), duid) = replicated.iter().next().unwrap();
    // The partner takes a RELEASED update only when its time is more than 5 s after the
    // binding it holds (RFC 8156 §7.5.1; OPEN-6 in tandem-failover's conflict table): a
    // deletion within 5 s of the grant is refused and parked until a later pass.
    let cltt = run
        .primary
        .leases()
        .unwrap()
        .iter()
        .find(|l| l.address == addr)
        .unwrap()
        .cltt;
    let wait_s = (cltt as f64 + 7.0 - unix_now()).max(0.0);
    std::thread::sleep(Duration::from_secs_f64(wait_s));
    let v = ctl_json(&primary, &["leases", "del", &addr.to_string()]);
    assert_eq!(v["result"], 0, "{v}");
    assert_eq!(plain(&v["arguments"]["duid"]), *duid);
    assert_eq!(v["arguments"]["pending-partner"], true, "{v}");
    wait_for(
        "the deletion on both servers",
        Duration::from_secs(20),
        || {
            let gone = |s: &Subject| s.leases().ok().map(|l| l.iter().all(|l| l.address != addr));
            let unbound = run.secondary.bound().ok()?.keys().all(|(a, _)| *a != addr);
            (gone(&run.primary)? && unbound).then_some(())
        },
    )
    .unwrap_or_else(|e| panic!("{e:#}\n{}", log_tail(&run.primary)));
    assert_eq!(
        ctl_json(&primary, &["leases", "get", &addr.to_string()])["result"],
        3
    );

    // The partner really stops; the operator declares it down.
    run.secondary.stop().unwrap();
    wait_state(
        &run.primary,
        "COMMUNICATIONS-INTERRUPTED",
        Duration::from_secs(30),
    );
    let t = ctl(&primary, &["failover", "partner-down", &name]);
    println!("$ tandemctl failover partner-down {name}\n{}", t.stdout);
    // The answer comes once the new state is published.
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert!(
        t.stdout.contains(&format!("{name}: PARTNER-DOWN")),
        "{}",
        t.stdout
    );
    let v = ctl_json(&primary, &["failover", "status"]);
    assert_eq!(v["arguments"]["relationships"][0]["state"], "PARTNER-DOWN");
    assert!(
        !v["arguments"]["relationships"][0]["partner_down_time"].is_null(),
        "{v}"
    );
    run.primary
        .wait_failover_state("PARTNER-DOWN", Duration::from_secs(5))
        .unwrap();
}
