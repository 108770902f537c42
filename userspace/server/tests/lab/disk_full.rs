//! A full disk under load (testing.md item 12): nothing is acknowledged that is not stored, the
//! server raises its alarm and keeps running, and it serves again once space returns.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tandem_lab::capture::{decode, Capture};
use tandem_lab::{wait_for, Direct, LeaseKind, Perfdhcp, Subject, SubjectKind, CLIENT_IF};

use crate::common::{log_tail, subject_kind, tandemd, TestDir};

/// A tmpfs mounted over a directory for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                &dir.display().to_string(),
            ],
        );
        Self(dir.to_owned())
    }

    fn resize(&self, size: &str) {
        run(
            "mount",
            &[
                "-o",
                &format!("remount,size={size}"),
                &self.0.display().to_string(),
            ],
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn run(prog: &str, args: &[&str]) {
    let status = Command::new(prog).args(args).status().unwrap();
    assert!(status.success(), "{prog} {args:?} failed");
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn disk_full_acknowledges_nothing_unstored_and_recovers() {
    let kind = subject_kind();
    if kind == SubjectKind::Kea {
        println!("skipped for Kea: it writes its memfile without fsync and has no such alarm");
        return;
    }
    let dir = TestDir::new("disk-full");
    let lab = Direct::new().unwrap();
    let params = lab.server_params();
    // Room for a few hundred journal records, then ENOSPC.
    let disk = Tmpfs::mount(&dir.path().join("store"), "48k");
    let mut subject =
        Subject::start(kind, &lab.server, &params, dir.path(), Some(tandemd())).unwrap();
    let mut cap = Capture::start(&lab.client, CLIENT_IF, dir.path(), "client").unwrap();

    let p = Perfdhcp::new(CLIENT_IF, 500, 2000, 2000);
    let report = p.run(&lab.client, dir.path(), "perfdhcp-full").unwrap();
    println!("while the disk fills: {report}");
    assert!(
        wait_for("the journal alarm", Duration::from_secs(5), || {
            subject
                .log()
                .contains("journal writes are failing")
                .then_some(())
        })
        .is_ok(),
        "no alarm in the log:\n{}",
        log_tail(&subject)
    );
    assert!(
        subject.is_running(),
        "the server died on a full disk:\n{}",
        log_tail(&subject)
    );
    cap.stop().unwrap();

    // Every lease a client was told about is on disk, with its owner.
    let replies = decode(cap.path(), Some("dhcpv6.msgtype == 7")).unwrap();
    let mut given: BTreeMap<(LeaseKind, Ipv6Addr), String> = BTreeMap::new();
    for f in &replies {
        let Some(m) = f.inner() else { continue };
        let Some(duid) = &m.client_duid else { continue };
        for l in m.leases.iter().filter(|l| l.valid > 0) {
            given.insert((l.kind, l.address), duid.clone());
        }
    }
    let stored: BTreeMap<(LeaseKind, Ipv6Addr), String> = subject
        .leases()
        .unwrap()
        .into_iter()
        .map(|l| ((l.kind, l.address), l.duid))
        .collect();
    let unstored: Vec<_> = given
        .iter()
        .filter(|(k, d)| stored.get(*k) != Some(*d))
        .collect();
    println!(
        "{} Replies with leases, {} leases given, {} stored, {} given but not stored",
        replies.len(),
        given.len(),
        stored.len(),
        unstored.len()
    );
    assert!(
        !given.is_empty(),
        "no lease was granted before the disk filled"
    );
    assert!(
        given.len() < 2000,
        "the disk never filled: every client was answered"
    );
    assert!(
        unstored.is_empty(),
        "acknowledged but not stored: {:?}",
        &unstored[..unstored.len().min(5)]
    );

    // Space returns: the withheld batch is written and new clients are served.
    disk.resize("16m");
    assert!(
        wait_for("recovery", Duration::from_secs(10), || {
            subject
                .log()
                .contains("journal writes succeed again")
                .then_some(())
        })
        .is_ok(),
        "no recovery in the log:\n{}",
        log_tail(&subject)
    );
    let p = Perfdhcp::new(CLIENT_IF, 200, 400, 400);
    let report = p.run(&lab.client, dir.path(), "perfdhcp-after").unwrap();
    println!("after space returned: {report}");
    let rr = &report.exchanges["REQUEST-REPLY"];
    assert!(rr.received >= 395, "service did not recover: {report}");
    subject.stop().unwrap();
    drop(disk);
}
