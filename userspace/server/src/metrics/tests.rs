//! The endpoint's text: Kea's names, labels and types exactly as kea-exporter exports them,
//! tandem's own families, and the HTTP answers.

use tandem_failover::{Role, ServerState};

use super::encode::{encode, Scrape, SubnetInfo};
use super::*;
use crate::partner::status::RelStatus;
use crate::stats::{self, Local, SubnetLeases};

fn worker(seed: u64) -> Local {
    let mut w = Local::new();
    w.received = 100 * seed;
    w.replied = 90 * seed;
    w.handoffs_in = seed;
    w.handoffs_out = 2 * seed;
    w.rx_ops[0] = 10 * seed; // solicit
    w.rx_ops[2] = 5 * seed; // request
    w.rx_ops[9] = seed; // infrequest
    w.tx_ops[0] = 10 * seed;
    w.tx_ops[1] = 6 * seed;
    w.count_sync(80, 1);
    w.count_sync(3_000, 20);
    w.count_sync(2_000_000, 5_000);
    w.drops[stats::server_drop_slot(stats::ServerDrop::HandoffQueueFull)] = seed;
    w.subnets = vec![(
        1,
        SubnetLeases {
            na_assigned: 7 * seed,
            pd_assigned: 3 * seed,
            declined: seed,
            reclaimed: 4 * seed,
            declined_reclaimed: 0,
        },
    )];
    w
}

fn scrape() -> Scrape {
    Scrape {
        workers: vec![worker(1), worker(2)],
        subnets: vec![SubnetInfo {
            id: 1,
            prefix: "2001:db8:1::/64".into(),
            na_total: 2f64.powi(64),
            pd_total: 256.0,
        }],
        datapath: "steered",
        xdp: None,
        failover: None,
        http_auth_failures: None,
    }
}

fn text(s: Scrape) -> String {
    encode(s).unwrap()
}

/// The lines of `text` that are samples of `name` (exact metric name, any labels).
fn samples<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

#[test]
fn kea_names_types_and_labels_are_kea_exporters() {
    let t = text(scrape());
    // If one of these changes, every Kea dashboard graphing it goes blank.
    for name in [
        "kea_dhcp6_packets_received_total",
        "kea_dhcp6_packets_sent_total",
        "kea_dhcp6_na_total",
        "kea_dhcp6_na_assigned_total",
        "kea_dhcp6_pd_total",
        "kea_dhcp6_pd_assigned_total",
        "kea_dhcp6_addresses_declined_total",
        "kea_dhcp6_addresses_declined_reclaimed_total",
        "kea_dhcp6_addresses_reclaimed_total",
    ] {
        assert!(
            t.contains(&format!("# TYPE {name} gauge\n")),
            "{name}:\n{t}"
        );
        assert!(!samples(&t, name).is_empty(), "{name}");
    }
    let sub = r#"subnet="2001:db8:1::/64",subnet_id="1""#;
    for line in [
        r#"kea_dhcp6_packets_received_total{operation="solicit"} 30"#.to_string(),
        r#"kea_dhcp6_packets_received_total{operation="request"} 15"#.into(),
        r#"kea_dhcp6_packets_received_total{operation="infrequest"} 3"#.into(),
        r#"kea_dhcp6_packets_received_total{operation="drop"} 3"#.into(),
        r#"kea_dhcp6_packets_sent_total{operation="advertise"} 30"#.into(),
        r#"kea_dhcp6_packets_sent_total{operation="reply"} 18"#.into(),
        format!(r#"kea_dhcp6_na_assigned_total{{{sub},pool=""}} 21"#),
        format!(r#"kea_dhcp6_pd_assigned_total{{{sub}}} 9"#),
        format!(r#"kea_dhcp6_pd_total{{{sub}}} 256.0"#),
        format!(r#"kea_dhcp6_addresses_declined_total{{{sub},pool=""}} 3"#),
        format!(r#"kea_dhcp6_addresses_reclaimed_total{{{sub},pool=""}} 12"#),
    ] {
        assert!(t.lines().any(|l| l == line), "missing `{line}` in\n{t}");
    }
    // A /64 pool: 2^64 addresses, beyond u64, as a float.
    let na_total = samples(&t, "kea_dhcp6_na_total");
    assert_eq!(na_total.len(), 1);
    let value: f64 = na_total[0].rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(value, 2f64.powi(64));
    assert!(t.ends_with("# EOF\n"));
}

#[test]
fn every_operation_is_exported_even_at_zero() {
    let t = text(Scrape::default());
    let ops: Vec<&str> = samples(&t, "kea_dhcp6_packets_received_total");
    assert_eq!(ops.len(), stats::RX_OPS.len() + 1);
    for op in stats::RX_OPS.iter().chain(&["drop"]) {
        assert!(
            ops.iter()
                .any(|l| l.contains(&format!("operation=\"{op}\"}} 0"))),
            "{op}: {ops:?}"
        );
    }
    assert_eq!(samples(&t, "kea_dhcp6_packets_sent_total").len(), 2);
}

#[test]
fn tandem_counters_histograms_and_datapath() {
    let mut s = scrape();
    s.xdp = Some(vec![
        ("steered", 40),
        ("drop_malformed", 2),
        ("pass_other", 1),
    ]);
    let t = text(s);
    assert!(t.contains("# TYPE tandem_drops counter\n"));
    assert!(t.contains("tandem_drops_total{layer=\"queue\",reason=\"handoff_queue_full\"} 3\n"));
    assert!(t.contains("tandem_drops_total{layer=\"xdp\",reason=\"malformed\"} 2\n"));
    assert!(t.contains("tandem_drops_total{layer=\"engine\",reason=\"malformed\"} 0\n"));
    assert!(t.contains("tandem_xdp_packets_total{decision=\"steered\"} 40\n"));
    assert!(t.contains("tandem_datapath_active{datapath=\"steered\"} 1\n"));
    assert!(t.contains("tandem_datapath_active{datapath=\"socket\"} 0\n"));
    assert!(t.contains("tandem_worker_received_total{worker=\"1\"} 200\n"));
    assert!(t.contains("tandem_worker_replied_total{worker=\"0\"} 90\n"));
    assert!(t.contains("tandem_worker_handoffs_total{worker=\"1\",direction=\"out\"} 4\n"));
    // Histograms: cumulative buckets, count and sum per worker.
    assert!(t.contains("# TYPE tandem_journal_sync_duration_seconds histogram\n"));
    assert!(t.contains("tandem_journal_sync_duration_seconds_count{worker=\"0\"} 3\n"));
    assert!(
        t.contains("tandem_journal_sync_duration_seconds_bucket{le=\"0.0001\",worker=\"0\"} 1\n")
            || t.contains(
                "tandem_journal_sync_duration_seconds_bucket{worker=\"0\",le=\"0.0001\"} 1\n"
            ),
        "{t}"
    );
    let inf: Vec<_> = samples(&t, "tandem_journal_sync_duration_seconds_bucket")
        .into_iter()
        .filter(|l| l.contains("+Inf"))
        .collect();
    assert_eq!(inf.len(), 2);
    assert!(inf.iter().all(|l| l.ends_with(" 3")), "{inf:?}");
    assert!(
        t.contains("tandem_journal_batch_records_sum{worker=\"1\"} 5021.0\n"),
        "{t}"
    );
    assert!(t.contains("tandem_journal_failing 0\n"), "{t}");
}

/// A relationship's status with every counter set (the status page's tests use it too).
pub(in crate::metrics) fn rel(state: ServerState, partner: Option<ServerState>) -> RelStatus {
    RelStatus {
        name: "pair-a".into(),
        role: Role::Primary,
        state,
        since: Default::default(),
        partner,
        connected: partner.is_some(),
        mclt_s: 3600,
        skew_s: Some(-2),
        partner_down_time: None,
        queued: 4,
        unacked: 7,
        parked: 1,
        sent: 10,
        acked: 3,
        rejected: 0,
        received: 9,
    }
}

#[test]
fn failover_state_is_one_of_the_rfc_names() {
    let mut s = scrape();
    s.failover = Some(FailoverStatus {
        relationships: vec![rel(ServerState::Normal, Some(ServerState::Normal))],
    });
    let t = text(s);
    let states = samples(&t, "tandem_failover_state");
    assert_eq!(states.len(), ServerState::ALL.len());
    let on: Vec<_> = states.iter().filter(|l| l.ends_with(" 1")).collect();
    assert_eq!(
        on,
        [&"tandem_failover_state{relationship=\"pair-a\",role=\"primary\",state=\"NORMAL\"} 1"]
    );
    assert!(
        t.contains("tandem_failover_partner_state{relationship=\"pair-a\",state=\"NORMAL\"} 1\n")
    );
    assert!(t.contains("tandem_failover_unacked_updates{relationship=\"pair-a\"} 7\n"));
    assert!(t.contains("tandem_failover_queued_updates{relationship=\"pair-a\"} 5\n"));
    assert!(t.contains("tandem_failover_partner_skew_seconds{relationship=\"pair-a\"} -2\n"));
    assert!(t.contains("tandem_failover_connected{relationship=\"pair-a\"} 1\n"));
    assert!(t.contains("tandem_failover_bndupd_total{relationship=\"pair-a\",what=\"acked\"} 3\n"));
    assert!(samples(&t, "tandem_failover_partner_down_time_seconds").is_empty());
    // Standalone: no failover families at all.
    assert!(!text(scrape()).contains("tandem_failover"));
}

#[test]
fn pool_sizes_from_the_policy() {
    let cfg = tandem_config::parse(
        "[server]\ninterfaces = [\"eth0\"]\n[storage]\npath = \"/x\"\n\
         [[subnet]]\nid = 7\nprefix = \"2001:db8:1::/64\"\ninterface = \"eth0\"\n\
         pools = [\"2001:db8:1::100-2001:db8:1::1ff\", \"2001:db8:1:0:1::-2001:db8:1:0:1:ffff:ffff:ffff\"]\n\
         pd-pools = [{ prefix = \"2001:db8:100::/40\", delegated-length = 56 }]\n",
        "t.toml",
    )
    .unwrap();
    let infos = subnet_infos(&cfg.policy(vec![1]).subnets);
    assert_eq!(
        infos,
        [SubnetInfo {
            id: 7,
            prefix: "2001:db8:1::/64".into(),
            na_total: 256.0 + 2f64.powi(48),
            pd_total: 65536.0,
        }]
    );
}

fn state(workers: Vec<Arc<Shared>>) -> State {
    State {
        sources: Sources {
            workers,
            subnets: SubnetList::new(scrape().subnets),
            datapath: "socket",
            xdp: Arc::new(Mutex::new(None)),
            failover: None,
            http_auth_failures: None,
        },
        started: Instant::now(),
        durability: Some("os-buffer"),
        history: rates::History::default(),
    }
}

#[test]
fn http_answers() {
    let state = state(vec![Shared::new(&[1])]);
    let get = |url: &str| answer("GET", url, &state);
    let r = get("/metrics?x=1");
    assert_eq!((r.status, r.content_type), (200, Some(CONTENT_TYPE)));
    assert!(r.body.contains(
        "kea_dhcp6_na_assigned_total{subnet=\"2001:db8:1::/64\",subnet_id=\"1\",pool=\"\"} 0\n"
    ));
    for page in ["/", "/status", "/status?x=1"] {
        let r = get(page);
        assert_eq!(r.status, 200, "{page}");
        assert_eq!(r.content_type, Some("text/html; charset=utf-8"));
        assert!(r.body.starts_with("<!DOCTYPE html>"), "{page}");
        assert!(r.body.contains("durability <b>os-buffer</b>"));
        assert!(r.body.contains("<td>2001:db8:1::/64</td>"));
    }
    assert_eq!(get("/metricsx").status, 404);
    assert_eq!(get("/status/x").status, 404);
    assert_eq!(get("/index.html").status, 404);
    for path in ["/metrics", "/", "/status"] {
        assert_eq!(answer("POST", path, &state).status, 405);
    }
}

#[test]
fn the_status_page_rates_come_from_the_recorded_history() {
    use std::time::{Duration, Instant};
    let shared = Shared::new(&[1]);
    let mut state = state(vec![shared.clone()]);
    let t0 = Instant::now();
    // The first record: nothing received yet.
    state.record_if_due(t0);
    let mut l = worker(1);
    shared.publish(&l);
    // Not due again within the second: the first record stays the only one.
    state.record_if_due(t0 + Duration::from_millis(500));
    l.rx_ops[0] += 400;
    shared.publish(&l);
    let scrape = state.sources.scrape();
    let page = status_page_of(&scrape, &state, t0 + Duration::from_secs(4));
    assert!(page.contains("over the last 4 s"), "{page}");
    // 410 Solicits since the first record, in 4 s.
    assert!(
        page.contains("<td>· solicit</td><td class=\"n\">102.5</td><td class=\"n\">410</td>"),
        "{page}"
    );
}

#[test]
fn the_listener_serves_and_stops() {
    use std::io::{Read, Write};
    let bound = bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = bound.addr;
    let endpoint = bound
        .start(
            Sources {
                workers: vec![Shared::new(&[])],
                subnets: SubnetList::default(),
                datapath: "socket",
                xdp: Arc::new(Mutex::new(None)),
                failover: None,
                http_auth_failures: None,
            },
            "durable",
        )
        .unwrap();
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let page = get("/");
    assert!(page.contains("text/html; charset=utf-8"), "{page}");
    assert!(page.contains("<title>tandem status</title>"), "{page}");
    let ok = get("/metrics");
    assert!(
        ok.starts_with("HTTP/1.0 200") || ok.starts_with("HTTP/1.1 200"),
        "{ok}"
    );
    assert!(ok.contains("application/openmetrics-text"), "{ok}");
    assert!(ok.contains("tandem_datapath_active{datapath=\"socket\"} 1"));
    assert!(get("/nope").contains(" 404 "));
    // The request that aborted tandemd under tiny_http: refused, and the next one answered.
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4611686018427387904\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 405 ") && out.contains("Allow: GET, HEAD"),
        "{out}"
    );
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 413 "), "no bodies: {out}");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(b"HEAD /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut head = String::new();
    s.read_to_string(&mut head).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 200 ") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    endpoint.stop();
    // The accept thread closes the socket before `stop` returns.
    let closed = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::net::TcpStream::connect(addr).is_err()
    });
    assert!(closed, "still listening after stop");
    // A taken port is a start-up error naming the key.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let Err(e) = bind(taken.local_addr().unwrap()) else {
        panic!("bound a taken port")
    };
    assert!(format!("{e:#}").starts_with("metrics.listen = \""), "{e:#}");
}

#[test]
fn published_counters_reach_the_scrape() {
    let shared = Shared::new(&[1, 2]);
    let mut l = worker(1);
    l.subnets.push((
        5,
        SubnetLeases {
            na_assigned: 99,
            ..SubnetLeases::default()
        },
    ));
    shared.publish(&l);
    let back = shared.load();
    assert_eq!(back.rx_ops, l.rx_ops);
    assert_eq!(back.tx_ops, l.tx_ops);
    assert_eq!(back.sync_us_buckets, l.sync_us_buckets);
    assert_eq!(back.batch_buckets, l.batch_buckets);
    // Only the configured subnets are published; one without leases reads 0.
    assert_eq!(
        back.subnets,
        vec![(1, l.subnets[0].1), (2, SubnetLeases::default())]
    );
}

/// The control API's HTTP listener's refused requests: a counter when the listener runs,
/// absent otherwise.
#[test]
fn http_auth_failures_are_a_counter_only_with_the_listener() {
    let t = text(scrape());
    assert!(!t.contains("tandem_control_http_auth_failures"), "{t}");
    let t = text(Scrape {
        http_auth_failures: Some(3),
        ..scrape()
    });
    assert!(
        t.contains("# TYPE tandem_control_http_auth_failures counter\n"),
        "{t}"
    );
    assert_eq!(
        samples(&t, "tandem_control_http_auth_failures_total"),
        ["tandem_control_http_auth_failures_total 3"]
    );
}
