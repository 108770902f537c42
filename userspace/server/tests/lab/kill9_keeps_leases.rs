//! kill -9 of the server in the middle of a perfdhcp run: every lease a client was given in a
//! Reply is in the store after the restart, with the same DUID, IAID, resource and expiry
//! (testing.md item 10).

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use tandem_lab::capture::{decode, Capture};
use tandem_lab::{Direct, LeaseKind, Perfdhcp, Subject, SubjectKind, CLIENT_IF};

use crate::common::{log_tail, subject_kind, tandemd, TestDir};

/// How far the stored expiry may sit from reply time + valid lifetime.
const EXPIRY_SLACK_S: f64 = 2.0;

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn kill9_keeps_leases() {
    let kind = subject_kind();
    let dir = TestDir::new("kill9-keeps-leases");
    let lab = Direct::new().unwrap();
    let params = lab.server_params();
    let mut subject =
        Subject::start(kind, &lab.server, &params, dir.path(), Some(tandemd())).unwrap();
    let mut cap = Capture::start(&lab.client, CLIENT_IF, dir.path(), "client").unwrap();

    // 8 s of load at 500 exchanges/s (addresses and prefixes); the kill lands at about 3 s.
    let mut p = Perfdhcp::new(CLIENT_IF, 500, 4000, 4000);
    p.address_and_prefix = true;
    let t0 = std::time::Instant::now();
    let (report, killed_at, restarted_at, killed_unix) = std::thread::scope(|s| {
        let load = s.spawn(|| p.run(&lab.client, dir.path(), "perfdhcp"));
        std::thread::sleep(Duration::from_secs(3));
        let pid = subject.pid();
        subject.kill9().unwrap();
        let killed_at = t0.elapsed();
        let killed_unix = crate::common::unix_now();
        println!("kill -9 of pid {pid:?} at {killed_at:?}");
        subject
            .restart(&lab.server)
            .unwrap_or_else(|e| panic!("restart after kill -9: {e:#}"));
        let restarted_at = t0.elapsed();
        println!("restarted (pid {:?}) at {restarted_at:?}", subject.pid());
        (load.join().unwrap(), killed_at, restarted_at, killed_unix)
    });
    let report = report.unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    cap.stop().unwrap();
    let replies = decode(cap.path(), Some("dhcpv6.msgtype == 7")).unwrap();

    // The newest Reply per resource is what the client holds. A resource that Replies give to
    // two different clients is the signature of a lost lease (the restarted server handed it out
    // again), so it is recorded rather than overwritten.
    let mut given: BTreeMap<(LeaseKind, Ipv6Addr), (String, u32, u8, f64)> = BTreeMap::new();
    let mut twice = Vec::new();
    for f in &replies {
        let Some(m) = f.inner() else { continue };
        let Some(duid) = &m.client_duid else { continue };
        for l in m.leases.iter().filter(|l| l.valid > 0) {
            let now = (
                duid.clone(),
                l.iaid,
                l.prefix_len,
                f.time + f64::from(l.valid),
            );
            if let Some(old) = given.insert((l.kind, l.address), now) {
                if (&old.0, old.1) != (duid, l.iaid) {
                    twice.push(format!(
                        "{:?} {}/{} given to {} iaid {} and then (frame {}) to {duid} iaid {}",
                        l.kind, l.address, l.prefix_len, old.0, old.1, f.number, l.iaid
                    ));
                }
            }
        }
    }
    let before_kill = replies.iter().filter(|f| f.time < killed_unix).count();
    println!(
        "{} Replies captured ({before_kill} before the kill), {} leases given",
        replies.len(),
        given.len()
    );
    // Without Replies before the kill the test would prove nothing about the crash.
    assert!(before_kill > 0, "no Reply before the kill");
    assert!(replies.len() > before_kill, "no Reply after the restart");

    let stored: BTreeMap<(LeaseKind, Ipv6Addr), _> = subject
        .leases()
        .unwrap()
        .into_iter()
        .map(|l| ((l.kind, l.address), l))
        .collect();
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for ((k, a), (duid, iaid, plen, expires)) in &given {
        match stored.get(&(*k, *a)) {
            None => missing.push(format!("{k:?} {a}/{plen} for {duid}")),
            Some(l) => {
                let off = l.expires_at as f64 - expires;
                if &l.duid != duid
                    || l.iaid != *iaid
                    || l.prefix_len != *plen
                    || off.abs() > EXPIRY_SLACK_S
                {
                    wrong.push(format!(
                        "{k:?} {a}/{plen}: given to {duid} iaid {iaid} until {expires:.0}; stored {} iaid {} /{} until {} ({off:+.1} s)",
                        l.duid, l.iaid, l.prefix_len, l.expires_at
                    ));
                }
            }
        }
    }
    println!(
        "{}: {} of {} given leases missing after kill -9 at {killed_at:?} (restart done at {restarted_at:?}), {} differ, {} given to two clients",
        kind.as_str(), missing.len(), given.len(), wrong.len(), twice.len()
    );
    for m in missing.iter().chain(&wrong).chain(&twice).take(10) {
        println!("  {m}");
    }
    if kind == SubjectKind::Kea {
        println!("kea: printed only (the durability promise under kill -9 is tandem's)");
        return;
    }
    assert!(
        subject.is_running(),
        "tandemd died after restart:\n{}",
        log_tail(&subject)
    );
    assert!(
        missing.is_empty() && wrong.is_empty() && twice.is_empty(),
        "{} missing, {} wrong, {} given to two clients (first: {:?})",
        missing.len(),
        wrong.len(),
        twice.len(),
        missing.iter().chain(&wrong).chain(&twice).next()
    );
}
