//! Migration from Kea, for real: Kea 2.2 (Debian's kea-dhcp6) serves a dhclient (address and
//! prefix) and 100 perfdhcp clients (address and prefix each); Kea stops; `tandemd
//! import-kea-config` converts its config and `tandemd import-leases` loads its memfile CSV;
//! tandemd starts on the result, and the dhclient's Renew at T1 — which names Kea's server DUID
//! [RFC 8415 §18.2.4, §16.6] — is answered by tandemd with the same address and prefix. Every
//! Kea lease is in tandemd's store (`dump-leases`), and `export-leases` reads back as the store.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tandem_lab::capture::msg;
use tandem_lab::netns::output_timeout;
use tandem_lab::{
    wait_for, Capture, Dhclient, DhclientMode, Direct, LeaseKind, Lifetimes, Perfdhcp, StoredLease,
    Subject, SubjectKind, CLIENT_IF, SERVER_IF,
};

use crate::common::{log_tail, tandemd, TestDir};
use crate::dhclient_direct::{types, wait_bound};

/// T1 15 s: the switch from Kea to tandemd (a few seconds) happens before the client renews.
const LIFETIMES: Lifetimes = Lifetimes {
    t1: 15,
    t2: 24,
    preferred: 30,
    valid: 45,
};
const PERF_CLIENTS: u32 = 100;

/// Runs `tandemd ARGS`, returns stdout; fails the test with stderr otherwise.
fn tandemd_cmd(args: &[&str]) -> String {
    run_cmd(tandemd(), args)
}

fn run_cmd(program: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = output_timeout(&mut cmd, Duration::from_secs(60)).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = program.display();
    assert!(out.status.success(), "{name} {args:?}: {stderr}");
    if !stderr.is_empty() {
        println!("{name} {}: stderr:\n{stderr}", args[0]);
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// (kind, address, length, DUID, IAID) of every live lease.
fn identities(
    leases: &[StoredLease],
) -> BTreeSet<(LeaseKind, std::net::Ipv6Addr, u8, String, u32)> {
    leases
        .iter()
        .filter(|l| l.state == "bound")
        .map(|l| (l.kind, l.address, l.prefix_len, l.duid.clone(), l.iaid))
        .collect()
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn kea_migration() {
    tandem_lab::preflight().expect("lab preflight");
    let dir = TestDir::new("kea-migration");
    let kea_dir = dir.path().join("kea");
    let tandem_dir = dir.path().join("tandem");
    for d in [&kea_dir, &tandem_dir] {
        std::fs::create_dir_all(d).unwrap();
    }
    let lab = Direct::new().unwrap();
    let mut params = lab.server_params();
    params.lifetimes = LIFETIMES;
    params.pd_lifetimes = LIFETIMES;

    // 1. Kea serves: perfdhcp's clients, then the dhclient whose renewal is watched.
    let mut kea = Subject::start(SubjectKind::Kea, &lab.server, &params, &kea_dir, None).unwrap();
    let mut perf = Perfdhcp::new(CLIENT_IF, 100, PERF_CLIENTS, PERF_CLIENTS);
    perf.address_and_prefix = true;
    let report = perf.run(&lab.client, dir.path(), "perfdhcp-kea").unwrap();
    println!("perfdhcp against Kea:\n{report}");
    let mut client = Dhclient::start(
        &lab.client,
        CLIENT_IF,
        DhclientMode::AddressAndPrefix,
        dir.path(),
    )
    .unwrap();
    let bound = wait_bound(&client, "BOUND6", 0);
    let bound_at = std::time::Instant::now();
    println!(
        "Kea bound dhclient {}: {} and {}/{}",
        bound.duid, bound.address, bound.prefix.0, bound.prefix.1
    );
    let kea_leases = kea.leases().unwrap();
    let kea_ids = identities(&kea_leases);
    let na = kea_ids.iter().filter(|l| l.0 == LeaseKind::Na).count();
    println!(
        "Kea's lease file: {na} addresses, {} prefixes",
        kea_ids.len() - na
    );
    assert!(
        na > PERF_CLIENTS as usize / 2,
        "perfdhcp bound too few clients: {na}"
    );
    assert!(kea_ids
        .iter()
        .any(|l| l.1 == bound.address && l.3 == bound.duid));
    kea.stop().unwrap();
    let csv = kea.kea_lease_file().unwrap();
    let kea_csv = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(dir.path().join("kea-leases6.csv"), &kea_csv).unwrap();
    // tandem-kea writes the header Kea 2.2 itself writes.
    assert_eq!(
        kea_csv.lines().next(),
        Some(tandem_kea::KEA_2_2_COLUMNS.join(",").as_str()),
        "Kea's own header"
    );

    // 2. Import the config and the leases.
    let toml = tandem_dir.join("tandemd.toml");
    let store = tandem_dir.join("store");
    let kea_config = kea.config_path().to_owned();
    // The operator's command (issue 5: `tandemctl import-kea-config`), and tandemd's, which
    // must write the same file.
    let import = |program: &Path, output: &Path| {
        run_cmd(
            program,
            &[
                "import-kea-config",
                &kea_config.display().to_string(),
                "--output",
                &output.display().to_string(),
                "--storage",
                &store.display().to_string(),
            ],
        )
    };
    import(Path::new(env!("CARGO_BIN_EXE_tandemctl")), &toml);
    let by_tandemd = tandem_dir.join("by-tandemd.toml");
    import(tandemd(), &by_tandemd);
    let mut text = std::fs::read_to_string(&toml).unwrap();
    assert_eq!(
        std::fs::read_to_string(&by_tandemd).unwrap(),
        text,
        "tandemctl and tandemd import alike"
    );
    println!("imported config:\n{text}");
    assert!(text.contains("server-duid = "), "Kea's server-id carried");
    // The lab runs tandemd without the eBPF object, as every lab test does.
    text += "\n# Added by the lab test: sockets only.\n[datapath]\nmode = \"socket\"\n";
    std::fs::write(&toml, text).unwrap();
    let out = tandemd_cmd(&[
        "import-leases",
        "--config",
        &toml.display().to_string(),
        &csv.display().to_string(),
    ]);
    println!("{out}");
    assert!(out.contains("skipped 0"), "{out}");

    // 3. tandemd serves from the imported store; the client renews with it.
    let mut cap = Capture::start(&lab.server, SERVER_IF, dir.path(), "after-switch").unwrap();
    let subject = Subject::start_tandem_file(&lab.server, &toml, &tandem_dir, tandemd()).unwrap();
    println!(
        "tandemd serving {:?} after dhclient's bind",
        bound_at.elapsed()
    );
    let imported = subject.leases().unwrap();
    assert_eq!(
        identities(&imported),
        kea_ids,
        "tandemd's store holds Kea's leases"
    );
    for k in kea_leases.iter().filter(|l| l.state == "bound") {
        let t = imported
            .iter()
            .find(|t| (t.kind, t.address, t.prefix_len) == (k.kind, k.address, k.prefix_len))
            .unwrap();
        assert_eq!((t.cltt, t.expires_at), (k.cltt, k.expires_at), "{k:?}");
    }

    let renewed = wait_bound(&client, "RENEW6", 0);
    println!("dhclient renewed {:?} after its bind", bound_at.elapsed());
    assert_eq!(renewed.address, bound.address, "Renew kept the address");
    assert_eq!(renewed.prefix, bound.prefix, "Renew kept the prefix");
    let kea_cltt = |kind| {
        kea_leases
            .iter()
            .find(|l| l.kind == kind && l.duid == bound.duid)
            .map(|l| l.cltt)
            .unwrap()
    };
    let after = wait_for(
        "tandemd's store extended by the Renew",
        Duration::from_secs(5),
        || {
            let leases = subject.leases().ok()?;
            let mine: Vec<StoredLease> = leases
                .into_iter()
                .filter(|l| l.duid == bound.duid)
                .collect();
            let moved = |kind| {
                mine.iter()
                    .any(|l| l.kind == kind && l.cltt > kea_cltt(kind))
            };
            (moved(LeaseKind::Na) && moved(LeaseKind::Pd)).then_some(mine)
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", log_tail(&subject)));
    println!("tandemd's leases for the client after the Renew: {after:?}");
    client.stop().unwrap();
    let frames = cap.finish().unwrap();
    let renew = frames
        .iter()
        .find(|f| f.inner_type() == msg::RENEW)
        .unwrap_or_else(|| panic!("no Renew captured: {:?}", types(&frames)));
    let kea_duid = renew.inner().and_then(|m| m.server_duid.clone()).unwrap();
    let reply = frames
        .iter()
        .find(|f| f.number > renew.number && f.inner_type() == msg::REPLY)
        .unwrap_or_else(|| panic!("no Reply to the Renew: {:?}", types(&frames)));
    let r = reply.inner().unwrap();
    assert_eq!(
        r.server_duid.as_deref(),
        Some(kea_duid.as_str()),
        "tandemd answers as Kea's DUID"
    );
    assert!(r
        .leases
        .iter()
        .any(|l| l.kind == LeaseKind::Na && l.address == bound.address && l.valid > 0));
    assert!(r.leases.iter().any(|l| l.kind == LeaseKind::Pd
        && (l.address, l.prefix_len) == bound.prefix
        && l.valid > 0));
    assert!(
        r.status_codes.iter().all(|c| *c == 0),
        "status codes {:?}",
        r.status_codes
    );

    // 4. export-leases reads back as the store.
    let mut subject = subject;
    subject.stop().unwrap();
    let exported = tandemd_cmd(&["export-leases", "--config", &toml.display().to_string()]);
    std::fs::write(dir.path().join("exported-leases6.csv"), &exported).unwrap();
    let back = tandem_lab::kea_csv::parse(&exported).unwrap();
    let store_now = subject.leases().unwrap();
    assert_eq!(identities(&back), identities(&store_now));
    for b in &back {
        let s = store_now
            .iter()
            .find(|s| (s.kind, s.address, s.prefix_len) == (b.kind, b.address, b.prefix_len))
            .unwrap();
        assert_eq!(
            (b.cltt, b.expires_at, b.valid, b.preferred),
            (s.cltt, s.expires_at, s.valid, s.preferred)
        );
    }
    println!(
        "exported {} leases; first lines:\n{}",
        back.len(),
        exported.lines().take(3).collect::<Vec<_>>().join("\n")
    );

    // 5. The way back: Kea 2.2 loads the exported file as its lease file, row for row.
    std::fs::write(&csv, &exported).unwrap();
    kea.restart(&lab.server).unwrap();
    let kea_log = kea.log();
    let memfile: Vec<&str> = kea_log.lines().filter(|l| l.contains("MEMFILE")).collect();
    println!("Kea restarted on the export:\n{}", memfile.join("\n"));
    assert!(
        !kea_log.contains("ROW_ERROR"),
        "Kea refused rows of the export:\n{kea_log}"
    );
    assert!(
        kea_log.contains("DHCPSRV_MEMFILE_LEASE_FILE_LOAD"),
        "{kea_log}"
    );
    assert_eq!(identities(&kea.leases().unwrap()), identities(&store_now));
}
