//! Live reload (issue 5 item 3): SIGHUP and `tandemctl raw '{"command": "config-reload"}'`
//! against a real tandemd under perfdhcp load. A changed config (a new pool first in the list,
//! a longer lifetime, another DNS server) is applied without losing a lease and shows in the
//! replies; a broken file and a restart-only change are refused with the reason while the
//! server keeps serving; a client bound outside a shrunk pool renews and gets lifetimes 0
//! (RFC 8415 §18.3.4); a failover primary reloads without dropping its partner session.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tandem_lab::capture::{msg, Capture};
use tandem_lab::{
    wait_for, Dhclient, DhclientMode, Direct, LeaseKind, Perfdhcp, StoredLease, Subject, CLIENT_IF,
    SERVER_IF,
};

use crate::common::{log_tail, skipped_for_kea, start_tandemd, tandemd, unix_now, TestDir};
use crate::dhclient_direct::{short_params, wait_bound};
use crate::failover_pair::start_pair_with;

/// The pool added first in the list by the reload: new clients are served from it.
const NEW_POOL: (&str, &str) = ("2001:db8:1::1:0", "2001:db8:1::1:ffff");
const NEW_DNS: &str = "2001:db8::5454";

fn tandemctl() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tandemctl"))
}

/// `tandemctl --socket SOCKET raw '{"command": "config-reload"}'`: the JSON answer. The
/// socket is named directly: `--config` would read the (possibly broken) file to find it.
fn config_reload(socket: &Path) -> Value {
    let out = Command::new(tandemctl())
        .arg("--socket")
        .arg(socket)
        .arg("raw")
        .arg(r#"{"command": "config-reload"}"#)
        .output()
        .expect("run tandemctl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {stdout:?} stderr {:?}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    println!("$ tandemctl raw config-reload\n{v}");
    v
}

fn sighup(s: &Subject) {
    let pid = s.pid().expect("tandemd runs");
    let ok = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -HUP {pid}");
}

/// How many log lines contain `needle`.
fn count_in_log(s: &Subject, needle: &str) -> usize {
    s.log().lines().filter(|l| l.contains(needle)).count()
}

/// Sends SIGHUP and waits for the next log line with `needle` (a reload's outcome).
fn sighup_and_wait(s: &Subject, needle: &str) -> String {
    let before = count_in_log(s, needle);
    sighup(s);
    wait_for(
        &format!("a log line with {needle} after SIGHUP"),
        Duration::from_secs(15),
        || {
            let log = s.log();
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
            (lines.len() > before).then(|| lines[lines.len() - 1].to_owned())
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", log_tail(s)))
}

/// `text` with the value of `key` in the section headed `header` set to `value`.
fn set_in_section(text: &str, header: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    let mut done = false;
    for line in text.lines() {
        if line.starts_with('[') {
            inside = line.trim() == header;
        }
        if inside && !done && line.split('=').next().map(str::trim) == Some(key) {
            out.push(format!("{key} = {value}"));
            done = true;
            continue;
        }
        out.push(line.to_owned());
    }
    assert!(done, "no {key} under {header}");
    out.join("\n") + "\n"
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the config");
    text.replacen(from, to, 1)
}

fn in_new_pool(a: Ipv6Addr) -> bool {
    let (f, l): (Ipv6Addr, Ipv6Addr) = (NEW_POOL.0.parse().unwrap(), NEW_POOL.1.parse().unwrap());
    f <= a && a <= l
}

fn key(l: &StoredLease) -> (LeaseKind, Ipv6Addr, u8) {
    (l.kind, l.address, l.prefix_len)
}

fn by_key(leases: &[StoredLease]) -> BTreeMap<(LeaseKind, Ipv6Addr, u8), StoredLease> {
    leases.iter().map(|l| (key(l), l.clone())).collect()
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn reload_under_load_keeps_every_lease_and_refuses_what_it_cannot_apply() {
    if skipped_for_kea("live reload") {
        return;
    }
    let dir = TestDir::new("reload");
    let lab = Direct::new().unwrap();
    let mut params = lab.server_params();
    // Pool changes are live only on one worker (README, live reload): a moved pool would move
    // bound addresses between workers' slices.
    params.workers = 1;
    let mut subject = start_tandemd(&lab.server, &params, dir.path());
    let config = subject.config_path().to_owned();
    // The lab's config names no [control] socket: the default in the storage directory.
    let socket = subject.storage_dir().join("control.sock");
    let original = std::fs::read_to_string(&config).unwrap();
    let valid_before = params.lifetimes.valid;

    // (a) A new pool listed first, a longer valid lifetime, another DNS server.
    let old_pool = format!("\"{}-{}\"", params.pool.0, params.pool.1);
    let changed = replace_once(
        &original,
        &format!("pools = [{old_pool}]"),
        &format!("pools = [\"{}-{}\", {old_pool}]", NEW_POOL.0, NEW_POOL.1),
    );
    let changed = set_in_section(
        &changed,
        "[subnet.lifetimes]",
        "valid",
        &(valid_before + 1000).to_string(),
    );
    let changed = replace_once(
        &changed,
        "dns-servers = [",
        &format!("dns-servers = [\"{NEW_DNS}\", "),
    );
    // The second reload, through the control API: a longer lifetime again.
    let changed_again = set_in_section(
        &changed,
        "[subnet.lifetimes]",
        "valid",
        &(valid_before + 2000).to_string(),
    );

    let mut load = Perfdhcp::new(CLIENT_IF, 200, 4000, 4000);
    load.address_and_prefix = true;
    let (report, before, reloaded_at, final_at) = std::thread::scope(|scope| {
        let running = scope.spawn(|| load.run(&lab.client, dir.path(), "perfdhcp"));
        std::thread::sleep(Duration::from_secs(4));
        let before = subject.leases().unwrap();
        println!("{} leases before the reload", before.len());
        assert!(
            before.len() > 200,
            "the load binds clients: {}",
            before.len()
        );

        std::fs::write(&config, &changed).unwrap();
        let line = sighup_and_wait(&subject, "TANDEM_RELOADED");
        let reloaded_at = unix_now();
        println!("SIGHUP: {line}");
        assert!(
            line.contains("subnet 1: pools, lifetimes, options"),
            "{line}"
        );
        std::thread::sleep(Duration::from_secs(2));

        // (b) A syntax error: refused with file and line, by SIGHUP and by config-reload.
        std::fs::write(&config, changed.replace("[storage]", "[storage")).unwrap();
        let line = sighup_and_wait(&subject, "TANDEM_RELOAD_REFUSED");
        println!("SIGHUP with a broken file: {line}");
        assert!(line.contains(&format!("{}:", config.display())), "{line}");
        let v = config_reload(&socket);
        assert_eq!(v["result"], 1, "{v}");
        let text = v["text"].as_str().unwrap();
        assert!(text.contains(&format!("{}:", config.display())), "{text}");

        // (c) A restart-only change (the worker count, which also makes the pool change one),
        // with a pool change beside it: refused as a whole.
        let workers = replace_once(
            &changed_again,
            &format!("workers = {}", params.workers),
            &format!("workers = {}", params.workers + 1),
        );
        std::fs::write(&config, workers).unwrap();
        let v = config_reload(&socket);
        assert_eq!(v["result"], 1, "{v}");
        assert!(
            v["text"]
                .as_str()
                .unwrap()
                .contains("restart needed: server.workers"),
            "{v}"
        );
        assert!(subject.is_running(), "{}", log_tail(&subject));

        // The second change through the control API.
        std::fs::write(&config, &changed_again).unwrap();
        let v = config_reload(&socket);
        assert_eq!(v["result"], 0, "{v}");
        assert!(
            v["text"].as_str().unwrap().contains("subnet 1: lifetimes"),
            "{v}"
        );
        let final_at = unix_now();
        let report = running.join().unwrap().unwrap();
        (report, before, reloaded_at, final_at)
    });
    println!("perfdhcp {}\n{report}", load.args().join(" "));
    let ex = report.exchange("REQUEST-REPLY").unwrap();
    assert!(
        ex.received * 100 >= ex.sent * 95,
        "the server kept serving: {} of {} Requests answered",
        ex.received,
        ex.sent
    );

    // No lease lost: every lease bound before the reload is in the store after it, with the
    // same client.
    let after = subject.leases().unwrap();
    let after_map = by_key(&after);
    for l in &before {
        let now = after_map
            .get(&key(l))
            .unwrap_or_else(|| panic!("lost {l:?}"));
        assert_eq!(now.duid, l.duid, "{l:?} changed hands: {now:?}");
    }
    println!("{} leases before, {} after", before.len(), after.len());
    // New clients (bound after the reload, DUID never seen before it) got the new pool.
    let old_duids: BTreeSet<&str> = before.iter().map(|l| l.duid.as_str()).collect();
    let settle = reloaded_at as u64 + 2;
    let fresh: Vec<&StoredLease> = after
        .iter()
        .filter(|l| l.kind == LeaseKind::Na && l.cltt >= settle)
        .filter(|l| !old_duids.contains(l.duid.as_str()))
        .collect();
    assert!(
        fresh.len() > 50,
        "{} new clients after the reload",
        fresh.len()
    );
    for l in &fresh {
        assert!(
            in_new_pool(l.address),
            "new client outside the new pool: {l:?}"
        );
    }
    // The stored lifetimes follow the reloads.
    for l in after.iter().filter(|l| l.kind == LeaseKind::Na) {
        let want = if (l.cltt as f64) >= final_at + 1.0 {
            Some(valid_before + 2000)
        } else if l.cltt >= settle && (l.cltt as f64) < final_at - 1.0 {
            Some(valid_before + 1000)
        } else {
            None
        };
        if let Some(v) = want {
            assert_eq!(l.valid, v, "{l:?}");
        }
    }

    // The replies carry the new lifetime and option: fresh perfdhcp clients and a dhclient
    // (which asks for the DNS servers; perfdhcp does not), captured.
    let mut cap = Capture::start(&lab.server, SERVER_IF, dir.path(), "after").unwrap();
    let mut more = Perfdhcp::new(CLIENT_IF, 20, 20, 20);
    more.extra
        .extend(["-b", "mac=00:0c:01:02:03:04"].map(str::to_owned));
    let r = more.run(&lab.client, dir.path(), "perfdhcp-after").unwrap();
    println!("perfdhcp {}\n{r}", more.args().join(" "));
    let client =
        Dhclient::start(&lab.client, CLIENT_IF, DhclientMode::Address, dir.path()).unwrap();
    let ev = client
        .wait_event(
            "dhclient bound with DNS servers",
            Duration::from_secs(30),
            |e| e.env.contains_key("new_dhcp6_name_servers") && e.ip6_address().is_some(),
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", client.log()));
    let new_dns: Ipv6Addr = NEW_DNS.parse().unwrap();
    println!(
        "dhclient {}: {:?} dns {:?}",
        ev.reason,
        ev.ip6_address(),
        ev.name_servers()
    );
    assert!(
        ev.name_servers().contains(&new_dns),
        "{:?}",
        ev.name_servers()
    );
    assert!(in_new_pool(ev.ip6_address().unwrap()), "{ev:?}");
    drop(client);
    let frames = cap.finish().unwrap();
    let replies: Vec<_> = frames
        .iter()
        .filter(|f| f.inner_type() == msg::REPLY)
        .filter_map(|f| f.inner())
        .collect();
    assert!(replies.len() >= 11, "{} replies captured", replies.len());
    for m in &replies {
        for l in m.leases.iter().filter(|l| l.kind == LeaseKind::Na) {
            assert_eq!(l.valid, valid_before + 2000, "{l:?}");
            assert!(in_new_pool(l.address), "{l:?}");
        }
    }
    assert!(
        replies.iter().any(|m| m.dns_servers.contains(&new_dns)),
        "no Reply with the new DNS server"
    );
    // status-get: `reload` counts from the last reload, `uptime` from the start.
    let out = Command::new(tandemctl())
        .arg("--socket")
        .arg(&socket)
        .args(["raw", r#"{"command": "status-get"}"#])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (uptime, since) = (&v["arguments"]["uptime"], &v["arguments"]["reload"]);
    println!("status-get: uptime {uptime}, reload {since}");
    assert!(
        since.as_u64().unwrap() + 5 <= uptime.as_u64().unwrap(),
        "{v}"
    );
    // Put the original file back and stop cleanly.
    std::fs::write(&config, &original).unwrap();
    subject.stop().unwrap();
}

/// (d) A client bound in the part of the pool a reload removes: its Renew gets the address
/// back with lifetimes 0 (RFC 8415 §18.3.4), and the stored lease is not extended.
#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn reload_shrinking_the_pool_answers_a_renew_outside_it_with_lifetimes_0() {
    if skipped_for_kea("live reload") {
        return;
    }
    let dir = TestDir::new("reload-shrink");
    let lab = Direct::new().unwrap();
    let mut params = short_params(lab.server_params());
    params.workers = 1;
    let subject = start_tandemd(&lab.server, &params, dir.path());
    let config = subject.config_path().to_owned();
    let text = std::fs::read_to_string(&config).unwrap();
    let client = Dhclient::start(
        &lab.client,
        CLIENT_IF,
        DhclientMode::AddressAndPrefix,
        dir.path(),
    )
    .unwrap();
    let bound = wait_bound(&client, "BOUND6", 0);
    println!("bound {} and {:?}", bound.address, bound.prefix);
    assert!(params.in_pool(bound.address));

    // The pool moves to a range without the bound address.
    let old_pool = format!("\"{}-{}\"", params.pool.0, params.pool.1);
    let shrunk = replace_once(
        &text,
        &format!("pools = [{old_pool}]"),
        &format!("pools = [\"{}-{}\"]", NEW_POOL.0, NEW_POOL.1),
    );
    let mut cap = Capture::start(&lab.server, SERVER_IF, dir.path(), "server").unwrap();
    std::fs::write(&config, shrunk).unwrap();
    let line = sighup_and_wait(&subject, "TANDEM_RELOADED");
    println!("SIGHUP: {line}");
    let reloaded = Instant::now();
    let stored = |s: &Subject| {
        s.leases()
            .unwrap()
            .into_iter()
            .find(|l| l.kind == LeaseKind::Na && l.address == bound.address)
    };
    let at_reload = stored(&subject).expect("the lease is kept");
    // T1 is 3 s: wait for a Renew after the reload and its Reply.
    let (renew, reply) = wait_for(
        "a Renew after the reload and its Reply",
        Duration::from_secs(20),
        || {
            let frames = tandem_lab::capture::decode(cap.path(), None).ok()?;
            let renew = frames.iter().find(|f| {
                matches!(f.inner_type(), msg::RENEW | msg::REBIND)
                    && f.inner()
                        .is_some_and(|m| m.client_duid.as_deref() == Some(&bound.duid))
            })?;
            let reply = frames
                .iter()
                .find(|f| f.number > renew.number && f.inner_type() == msg::REPLY)?;
            Some((renew.inner()?.clone(), reply.inner()?.clone()))
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e} ({:?} since the reload)\n{}",
            reloaded.elapsed(),
            client.log()
        )
    });
    let _ = cap.finish();
    println!("renew {:?}\nreply {:?}", renew.leases, reply.leases);
    let zero = reply
        .leases
        .iter()
        .find(|l| l.kind == LeaseKind::Na && l.address == bound.address)
        .unwrap_or_else(|| panic!("the Reply does not name {}: {reply:?}", bound.address));
    assert_eq!((zero.preferred, zero.valid), (0, 0), "{zero:?}");
    // The prefix pool did not change: the prefix is extended as usual.
    assert!(
        reply
            .leases
            .iter()
            .any(|l| l.kind == LeaseKind::Pd && l.valid == params.pd_lifetimes.valid),
        "{reply:?}"
    );
    if let Some(now) = stored(&subject) {
        assert_eq!(
            (now.cltt, now.expires_at),
            (at_reload.cltt, at_reload.expires_at),
            "the lease outside the pool was extended"
        );
    }
    drop(client);
}

/// (e) A failover primary reloads a changed lifetime: the partner session stays up (connected,
/// NORMAL, the same `since`) and nothing interrupts it.
#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn reload_of_a_failover_primary_keeps_the_partner_session() {
    if skipped_for_kea("live reload") {
        return;
    }
    let dir = TestDir::new("reload-pair");
    let run = start_pair_with(dir.path(), false);
    let status = |s: &Subject| {
        let out = Command::new(tandemctl())
            .arg("--config")
            .arg(s.config_path())
            .args(["raw", r#"{"command": "failover-status"}"#])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["arguments"]["relationships"][0].clone()
    };
    let before = status(&run.primary);
    println!("before: {before}");
    assert_eq!(before["connected"], true);
    assert_eq!(before["state"], "NORMAL");

    let mut p = Perfdhcp::new(CLIENT_IF, 100, 200, 200);
    p.address_and_prefix = true;
    let config = run.primary.config_path().to_owned();
    let text = std::fs::read_to_string(&config).unwrap();
    let valid: u32 = text
        .split("[subnet.lifetimes]")
        .nth(1)
        .and_then(|s| s.lines().find(|l| l.starts_with("valid")))
        .and_then(|l| l.split('=').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let changed = set_in_section(
        &text,
        "[subnet.lifetimes]",
        "valid",
        &(valid + 30).to_string(),
    );
    let leases_before = std::thread::scope(|scope| {
        let load = scope.spawn(|| p.run(&run.lab.clients, dir.path(), "perfdhcp"));
        std::thread::sleep(Duration::from_secs(1));
        let leases_before = run.primary.leases().unwrap();
        std::fs::write(&config, &changed).unwrap();
        let line = sighup_and_wait(&run.primary, "TANDEM_RELOADED");
        println!("SIGHUP: {line}");
        let r = load.join().unwrap().unwrap();
        println!("perfdhcp {}\n{r}", p.args().join(" "));
        leases_before
    });
    // Give a dropped session time to show.
    std::thread::sleep(Duration::from_secs(3));
    let after = status(&run.primary);
    println!("after: {after}");
    assert_eq!(after["connected"], true, "{}", log_tail(&run.primary));
    assert_eq!(after["state"], "NORMAL");
    assert_eq!(
        after["since"], before["since"],
        "the state was not re-entered"
    );
    assert_eq!(
        count_in_log(&run.primary, "TANDEM_FO_COMMS_INTERRUPTED"),
        0,
        "{}",
        log_tail(&run.primary)
    );
    let after_leases = by_key(&run.primary.leases().unwrap());
    for l in &leases_before {
        assert!(after_leases.contains_key(&key(l)), "lost {l:?}");
    }
}

/// Under systemd (`NOTIFY_SOCKET`), an applied reload is framed by RELOADING=1 (with
/// MONOTONIC_USEC) and READY=1; a refused one sends nothing.
#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn reload_tells_systemd_reloading_then_ready() {
    if skipped_for_kea("live reload") {
        return;
    }
    let dir = TestDir::new("reload-notify");
    let lab = Direct::new().unwrap();
    let path = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    let notify = format!("NOTIFY_SOCKET={}", path.display());
    let subject = Subject::start_wrapped(
        &lab.server,
        &lab.server_params(),
        dir.path(),
        tandemd(),
        &["env", notify.as_str()],
        |_| Ok(()),
    )
    .unwrap();
    let started = crate::systemd_notify::messages(&sock, Duration::from_millis(1500));
    assert!(
        started.iter().any(|m| m.lines().any(|l| l == "READY=1")),
        "{started:?}"
    );
    let config = subject.config_path().to_owned();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("[storage]", "[storage")).unwrap();
    sighup_and_wait(&subject, "TANDEM_RELOAD_REFUSED");
    let refused = crate::systemd_notify::messages(&sock, Duration::from_millis(500));
    assert!(refused.is_empty(), "a refused reload notified: {refused:?}");

    let changed = set_in_section(&text, "[subnet.lifetimes]", "valid", "5000");
    std::fs::write(&config, changed).unwrap();
    sighup_and_wait(&subject, "TANDEM_RELOADED");
    let got = crate::systemd_notify::messages(&sock, Duration::from_millis(500));
    println!("{got:?}");
    let reloading = got
        .iter()
        .position(|m| m.lines().any(|l| l == "RELOADING=1"))
        .unwrap_or_else(|| panic!("no RELOADING=1: {got:?}"));
    assert!(
        got[reloading]
            .lines()
            .any(|l| l.starts_with("MONOTONIC_USEC=")),
        "{got:?}"
    );
    let ready = got
        .iter()
        .position(|m| m.lines().any(|l| l == "READY=1"))
        .unwrap_or_else(|| panic!("no READY=1: {got:?}"));
    assert!(reloading < ready, "{got:?}");
}
