//! The status page's content: a standalone and a failover server, escaping, the formats.

use tandem_failover::{FoTime, ServerState};

use super::*;
use crate::metrics::encode::SubnetInfo;
use crate::partner::status::RelStatus;
use crate::stats::{Local, ServerDrop, SubnetLeases};

fn server() -> ServerInfo {
    ServerInfo {
        version: "0.1.0",
        uptime_s: 3 * 3600 + 120,
        datapath: "socket",
        durability: Some("durable"),
    }
}

fn scrape() -> Scrape {
    let mut w = Local::new();
    w.rx_ops[0] = 2_000; // solicit
    w.rx_ops[2] = 1_990; // request
    w.tx_ops = [2_000, 1_990];
    w.drops[stats::server_drop_slot(ServerDrop::Truncated)] = 3;
    w.subnets = vec![(
        1,
        SubnetLeases {
            na_assigned: 2_000,
            pd_assigned: 16_384,
            ..SubnetLeases::default()
        },
    )];
    Scrape {
        workers: vec![w, Local::new()],
        subnets: vec![SubnetInfo {
            id: 1,
            prefix: "2001:db8:1::/64".into(),
            na_total: 61_440.0,
            pd_total: 65_536.0,
        }],
        datapath: "socket",
        xdp: None,
        failover: None,
        http_auth_failures: None,
    }
}

fn rates() -> Rates {
    let mut by_op_per_s = [0.0; RX_OPS.len()];
    by_op_per_s[0] = 250.0;
    by_op_per_s[2] = 249.5;
    Rates {
        span_s: 10.0,
        received_per_s: 499.5,
        sent_per_s: 499.5,
        dropped_per_s: 0.3,
        by_op_per_s,
    }
}

/// 2026-11-27 07:00:00 UTC.
const NOW: u64 = 1_795_762_800;

fn fo(unix: u64) -> FoTime {
    tandem_engine::partner::fo_time(unix).unwrap()
}

fn page(s: &Scrape, rates: Option<Rates>) -> String {
    render(&view(s, server(), NOW, rates))
}

fn rel(name: &str, state: ServerState, partner: Option<ServerState>) -> RelStatus {
    RelStatus {
        name: name.into(),
        since: fo(NOW - 95),
        ..crate::metrics::tests::rel(state, partner)
    }
}

/// The text between `<table id="{id}"` and its `</table>`.
fn table<'p>(page: &'p str, id: &str) -> &'p str {
    let start = page
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}:\n{page}"));
    let len = page[start..].find("</table>").unwrap();
    &page[start..start + len]
}

#[test]
fn a_standalone_page_shows_server_pools_and_rates() {
    let p = page(&scrape(), Some(rates()));
    assert!(p.starts_with("<!DOCTYPE html>"));
    assert!(p.ends_with("</body></html>\n"));
    assert!(p.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
    // Self-contained: no script, no external stylesheet, image or font.
    for banned in ["<script", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!p.contains(banned), "{banned}");
    }
    assert!(p.contains("<h1>tandem 0.1.0</h1>"));
    assert!(p.contains("up 3h 2m · datapath <b>socket</b> · durability <b>durable</b>"));
    assert!(p.contains("standalone · 2026-11-27 07:00:00 UTC"), "{p}");
    assert!(p.contains("Standalone: no failover relationship is configured."));
    let pools = table(&p, "pools");
    assert!(pools.contains(
        "<tr><td>2001:db8:1::/64</td><td class=\"n\">1</td><td>NA</td>\
         <td class=\"n\">2,000 / 61,440</td><td><span class=\"bar\"><span \
         style=\"width:3.26%\"></span></span> 3.26 %</td></tr>"
    ));
    assert!(pools.contains("16,384 / 65,536"));
    assert!(pools.contains("style=\"width:25.00%\"></span></span> 25.00 %"));
    let r = table(&p, "rates");
    assert!(r.contains("over the last 10 s"));
    assert!(r.contains(
        "<td>requests received</td><td class=\"n\">499.5</td><td class=\"n\">3,990</td>"
    ));
    assert!(r.contains("<td>· solicit</td><td class=\"n\">250.0</td><td class=\"n\">2,000</td>"));
    assert!(r.contains("<td>replies sent</td><td class=\"n\">499.5</td>"));
    assert!(r.contains("<td>dropped</td><td class=\"n\">0.3</td><td class=\"n\">3</td>"));
    // Operations nothing was received for are left out.
    assert!(!r.contains("· renew"));
    let drops = table(&p, "drops");
    assert!(drops.contains("<td>socket</td><td>truncated_datagram</td><td class=\"n\">3</td>"));
}

#[test]
fn a_failover_page_shows_each_relationship() {
    let mut s = scrape();
    let mut down = rel("pair-b", ServerState::PartnerDown, None);
    down.partner_down_time = Some(fo(NOW - 3 * 86_400 - 7200));
    down.skew_s = None;
    s.failover = Some(FailoverStatus {
        relationships: vec![
            rel("pair-a", ServerState::Normal, Some(ServerState::Normal)),
            down,
        ],
    });
    let p = page(&s, Some(rates()));
    assert!(p.contains(" · failover · "));
    let fo = table(&p, "failover");
    let rows: Vec<&str> = fo.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 2, "{fo}");
    assert_eq!(
        rows[0].trim_end(),
        "<td>pair-a</td><td>primary</td><td><span class=\"state ok\">NORMAL</span></td>\
         <td>1m 35s ago</td><td><span class=\"state ok\">NORMAL</span></td>\
         <td><span class=\"state ok\">connected</span></td><td class=\"n\">-2 s</td>\
         <td class=\"n\">7</td><td class=\"n\">5</td><td><span class=\"muted\">—</span></td>\
         <td class=\"n\">10 / 3 / 0 / 9</td></tr>"
    );
    let b = rows[1];
    assert!(
        b.contains("<span class=\"state bad\">PARTNER-DOWN</span>"),
        "{b}"
    );
    assert!(
        b.contains("<span class=\"muted\">unknown</span>"),
        "partner state: {b}"
    );
    assert!(b.contains("<span class=\"state bad\">disconnected</span>"));
    assert!(b.contains("not measured"));
    assert!(b.contains("2026-11-24 05:00:00 UTC (3d 2h ago)"), "{b}");
}

#[test]
fn configured_and_partner_strings_are_escaped() {
    let mut s = scrape();
    s.subnets[0].prefix = "<script>alert('x')</script>".into();
    s.failover = Some(FailoverStatus {
        relationships: vec![rel("a&b\"<i>", ServerState::Recover, None)],
    });
    let mut info = server();
    info.version = "1<2>\"3\"";
    let p = render(&view(&s, info, NOW, None));
    assert!(!p.contains("<script"), "{p}");
    assert!(!p.contains("<i>"));
    assert!(p.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(p.contains("<td>a&amp;b&quot;&lt;i&gt;</td>"));
    assert!(p.contains("<h1>tandem 1&lt;2&gt;&quot;3&quot;</h1>"));
    assert!(p.contains("<span class=\"state warn\">RECOVER</span>"));
    assert_eq!(escape("plain 2001:db8::/64"), "plain 2001:db8::/64");
    assert!(matches!(escape("plain"), Cow::Borrowed(_)));
}

#[test]
fn without_rates_traffic_or_subnets_the_page_says_so() {
    let mut s = scrape();
    s.subnets.clear();
    s.workers = vec![Local::new()];
    let mut info = server();
    info.durability = None;
    let p = render(&view(&s, info, NOW, None));
    assert!(p.contains("No subnet is configured."));
    assert!(p.contains("Rates appear a second after start."));
    assert!(p.contains("No packet dropped since start."));
    assert!(!p.contains("durability"));
    assert!(!p.contains("<table id=\"rates\""));
}

#[test]
fn xdp_drops_are_listed_with_the_workers() {
    let mut s = scrape();
    s.xdp = Some(vec![
        ("steered", 10),
        ("drop_malformed", 2),
        ("drop_short", 0),
    ]);
    let v = view(&s, server(), NOW, None);
    assert_eq!(
        v.drops,
        [("socket", "truncated_datagram", 3), ("xdp", "malformed", 2)]
    );
    assert_eq!(v.totals.dropped, 5);
}

#[test]
fn formats() {
    assert_eq!(count(0.0), "0");
    assert_eq!(count(999.0), "999");
    assert_eq!(count(1_000.0), "1,000");
    assert_eq!(count(61_440.0), "61,440");
    assert_eq!(count(1_234_567.0), "1,234,567");
    assert_eq!(count(2f64.powi(64)), "1.845e19");
    assert_eq!(percent(0, 100.0), "0 %");
    assert_eq!(percent(1, 2f64.powi(64)), "&lt; 0.01 %");
    assert_eq!(percent(5, 0.0), "no pool");
    assert_eq!(percent(150, 100.0), "100.00 %");
    assert!(bar(1, 2f64.powi(64)).contains("width:0.00%"));
    assert!(
        !bar(1, 2f64.powi(64)).contains("zero"),
        "a bound lease shows"
    );
    assert!(bar(0, 10.0).contains("class=\"zero\""));
    assert_eq!(duration(0), "0s");
    assert_eq!(duration(59), "59s");
    assert_eq!(duration(61), "1m 1s");
    assert_eq!(duration(3 * 3600 + 61), "3h 1m");
    assert_eq!(duration(2 * 86_400 + 3 * 3600), "2d 3h");
    assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    assert_eq!(utc(NOW), "2026-11-27 07:00:00 UTC");
    assert_eq!(utc(4_107_542_399), "2100-02-28 23:59:59 UTC");
}
