//! The Prometheus endpoint under load (issue 5, "Done when" 1): tandemd with `[metrics] listen`
//! on its address in the server namespace, scraped with curl from inside that namespace before,
//! during and after a perfdhcp run. The Kea-named counters move by what perfdhcp completed, the
//! subnet's assigned addresses equal the store, the journal histograms counted the syncs; a
//! failover pair reports NORMAL per relationship.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use tandem_lab::{LabDatapath, Netns, Perfdhcp, SubjectKind, CLIENT_IF};

use crate::common::{log_tail, start_tandemd, subject_kind, TestDir};
use crate::dashboard::MeteredPair;

const CLIENTS: u32 = 2_000;
const RATE: u32 = 500;
const PORT: u16 = 9547;

/// One scrape: `name{labels}` → value, every sample line of the text, and the text.
struct Metrics(BTreeMap<String, f64>, String);

impl Metrics {
    fn scrape(ns: &Netns, addr: SocketAddr) -> Self {
        let url = format!("http://{addr}/metrics");
        let text = ns
            .run(&["curl", "-sS", "--fail", "--max-time", "5", &url])
            .unwrap_or_else(|e| panic!("curl {url}: {e:#}"));
        assert!(text.ends_with("# EOF\n"), "not OpenMetrics text:\n{text}");
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let (key, value) = l.rsplit_once(' ')?;
                Some((key.to_owned(), value.parse().ok()?))
            })
            .collect();
        Self(samples, text)
    }

    /// The sample `key` exactly (`name{labels}` as printed); panics when absent.
    fn get(&self, key: &str) -> f64 {
        match self.0.get(key) {
            Some(v) => *v,
            None => panic!("no sample {key}; have:\n{:#?}", self.0.keys()),
        }
    }

    /// The sum of every sample of `name` whose labels contain `part`.
    fn sum(&self, name: &str, part: &str) -> f64 {
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{name}{{")) && k.contains(part))
            .map(|(_, v)| *v)
            .sum()
    }
}

fn received(m: &Metrics, op: &str) -> f64 {
    m.get(&format!(
        "kea_dhcp6_packets_received_total{{operation=\"{op}\"}}"
    ))
}

fn sent(m: &Metrics, op: &str) -> f64 {
    m.get(&format!(
        "kea_dhcp6_packets_sent_total{{operation=\"{op}\"}}"
    ))
}

const SUBNET: &str = "subnet=\"2001:db8:1::/64\",subnet_id=\"1\"";

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn metrics_move_with_perfdhcp_traffic() {
    if subject_kind() != SubjectKind::Tandem {
        println!("metrics: tandemd only");
        return;
    }
    let dir = TestDir::new("metrics");
    let lab = tandem_lab::Direct::new().unwrap();
    let mut params = lab.server_params();
    let addr = SocketAddr::new(lab.server_addr.into(), PORT);
    params.metrics = Some(addr);
    let subject = start_tandemd(&lab.server, &params, dir.path());

    let before = Metrics::scrape(&lab.server, addr);
    assert_eq!(received(&before, "solicit"), 0.0);
    assert_eq!(
        before.get(&format!("kea_dhcp6_na_total{{{SUBNET},pool=\"\"}}")),
        61_440.0,
        "pool ::1000-::ffff"
    );
    assert_eq!(
        before.get(&format!("kea_dhcp6_pd_total{{{SUBNET}}}")),
        65_536.0
    );
    assert_eq!(
        before.get("tandem_datapath_active{datapath=\"socket\"}"),
        1.0
    );

    let p = Perfdhcp::new(CLIENT_IF, RATE, CLIENTS, CLIENTS);
    let (report, during) = std::thread::scope(|s| {
        let run = s.spawn(|| p.run(&lab.client, dir.path(), "perfdhcp").unwrap());
        std::thread::sleep(Duration::from_secs(2));
        let during = Metrics::scrape(&lab.server, addr);
        (run.join().unwrap(), during)
    });
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    // Counters are published once per 250 ms tick.
    std::thread::sleep(Duration::from_millis(700));
    let after = Metrics::scrape(&lab.server, addr);

    let sa = report.exchange("SOLICIT-ADVERTISE").unwrap();
    let rr = report.exchange("REQUEST-REPLY").unwrap();
    assert!(sa.received >= u64::from(CLIENTS), "{sa:?}");
    let between = |what: &str, got: f64, lo: u64, hi: u64| {
        assert!(
            (lo as f64..=hi as f64).contains(&got),
            "{what}: {got} not in {lo}..={hi}"
        );
    };
    // Every Solicit perfdhcp sent reached the engine; every Advertise it got was counted.
    between(
        "solicits",
        received(&after, "solicit"),
        sa.received,
        sa.sent,
    );
    between(
        "requests",
        received(&after, "request"),
        rr.received,
        rr.sent,
    );
    between(
        "advertises",
        sent(&after, "advertise"),
        sa.received,
        sa.sent,
    );
    between("replies", sent(&after, "reply"), rr.received, rr.sent);
    // During the run the counters were moving.
    let mid = received(&during, "solicit");
    assert!(
        mid > 0.0 && mid <= received(&after, "solicit"),
        "during: {mid}"
    );

    // The subnet's assigned addresses are the store's bound addresses: one per client.
    let na = subject
        .leases()
        .unwrap()
        .iter()
        .filter(|l| l.kind == tandem_lab::LeaseKind::Na)
        .count();
    assert_eq!(na, CLIENTS as usize);
    let assigned = after.get(&format!(
        "kea_dhcp6_na_assigned_total{{{SUBNET},pool=\"\"}}"
    ));
    assert_eq!(assigned, na as f64);
    assert_eq!(
        after.get(&format!("kea_dhcp6_pd_assigned_total{{{SUBNET}}}")),
        0.0
    );
    // Journal: each Request committed one record, in at least one and at most one sync per
    // record; the latency histogram counted every sync.
    let syncs = after.sum("tandem_journal_sync_duration_seconds_count", "worker=");
    let records = after.sum("tandem_journal_batch_records_sum", "worker=");
    let batches = after.sum("tandem_journal_batch_records_count", "worker=");
    println!("journal: {syncs} syncs, {records} records");
    assert!(records >= f64::from(CLIENTS), "records {records}");
    assert!(syncs >= 1.0 && syncs <= records, "syncs {syncs}");
    assert_eq!(syncs, batches);
    let inf = after.sum("tandem_journal_sync_duration_seconds_bucket", "le=\"+Inf\"");
    assert_eq!(inf, syncs);
    // Workers: what they received adds up to what perfdhcp sent, nothing was dropped.
    let got = after.sum("tandem_worker_received_total", "worker=");
    between(
        "worker received",
        got,
        sa.received + rr.received,
        sa.sent + rr.sent,
    );
    assert_eq!(after.sum("tandem_drops_total", "layer="), 0.0);
    let shown = [
        "kea_dhcp6_",
        "tandem_journal_sync_duration_seconds_",
        "tandem_worker_",
    ];
    for line in after.1.lines() {
        if shown.iter().any(|p| line.starts_with(p)) && !line.contains(" 0") {
            println!("  {line}");
        }
    }
    println!(
        "scrape: {} samples; solicit {}, request {}, advertise {}, reply {}, na assigned {}",
        after.0.len(),
        received(&after, "solicit"),
        received(&after, "request"),
        sent(&after, "advertise"),
        sent(&after, "reply"),
        assigned
    );
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn metrics_show_a_failover_pair_normal() {
    let dir = TestDir::new("metrics-pair");
    let run = MeteredPair::start(dir.path(), LabDatapath::Socket);
    let (lab, primary, secondary) = (&run.lab, &run.primary, &run.secondary);
    let (p_addr, s_addr) = (run.primary_metrics, run.secondary_metrics);
    for (s, ns, addr, role) in [
        (primary, lab.primary(), p_addr, "primary"),
        (secondary, lab.secondary(), s_addr, "secondary"),
    ] {
        let m = Metrics::scrape(ns, addr);
        let on: Vec<_> =
            m.0.iter()
                .filter(|(k, v)| k.starts_with("tandem_failover_state{") && **v == 1.0)
                .map(|(k, _)| k.clone())
                .collect();
        assert_eq!(on.len(), 1, "{on:?}\n{}", log_tail(s));
        assert!(
            on[0].contains(&format!("role=\"{role}\",state=\"NORMAL\"")),
            "{on:?}"
        );
        assert_eq!(m.sum("tandem_failover_connected", "relationship="), 1.0);
        assert_eq!(
            m.sum("tandem_failover_partner_state", "state=\"NORMAL\""),
            1.0
        );
    }
}
