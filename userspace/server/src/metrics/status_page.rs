//! The read-only status page on the metrics listener (`GET /` and `GET /status`): one small
//! self-contained HTML document (inline CSS, no script, no external asset) with the server, its
//! failover relationships (RFC 8156 §4.1 state names) and partner health, pool utilisation per
//! subnet, and request and drop rates. [`view`] gathers what one page shows from a [`Scrape`];
//! [`render`] writes the HTML. Every string that comes from configuration or the partner is
//! escaped ([`escape`]).

use std::borrow::Cow;
use std::fmt::Write;

use tandem_failover::{Role, ServerState};

use super::encode::Scrape;
use super::rates::{Rates, Totals};
use crate::partner::status::{FailoverStatus, RelStatus};
use crate::stats::{self, RX_OPS};

/// Seconds between the page's own reloads (`<meta http-equiv="refresh">`).
pub(crate) const REFRESH_S: u32 = 5;

/// `Content-Type` of the page.
pub(crate) const CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// The server line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServerInfo {
    pub(crate) version: &'static str,
    pub(crate) uptime_s: u64,
    /// The datapath running (`socket`, `steered`, `xdp-native`, `xdp-generic`).
    pub(crate) datapath: &'static str,
    /// `durable` or `os-buffer`, when the listener was told.
    pub(crate) durability: Option<&'static str>,
}

/// One subnet's pools.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubnetRow {
    pub(crate) id: u32,
    pub(crate) prefix: String,
    pub(crate) na_assigned: u64,
    pub(crate) na_total: f64,
    pub(crate) pd_assigned: u64,
    pub(crate) pd_total: f64,
}

/// Everything one page shows.
#[derive(Debug, Clone)]
pub(crate) struct StatusView<'a> {
    pub(crate) server: ServerInfo,
    /// Unix seconds, for "since" and "ago".
    pub(crate) now_unix: u64,
    /// `None` on a standalone server.
    pub(crate) failover: Option<&'a FailoverStatus>,
    pub(crate) subnets: Vec<SubnetRow>,
    /// `None` until the metrics thread has an older record to compare with.
    pub(crate) rates: Option<Rates>,
    pub(crate) totals: Totals,
    /// Non-zero drop counters: (layer, reason, packets).
    pub(crate) drops: Vec<(&'static str, &'static str, u64)>,
}

/// What the page shows of `scrape`.
pub(crate) fn view(
    scrape: &Scrape,
    server: ServerInfo,
    now_unix: u64,
    rates: Option<Rates>,
) -> StatusView<'_> {
    let subnets = scrape
        .subnets
        .iter()
        .map(|s| {
            let (mut na, mut pd) = (0, 0);
            for w in &scrape.workers {
                if let Some((_, c)) = w.subnets.iter().find(|(id, _)| *id == s.id) {
                    na += c.na_assigned;
                    pd += c.pd_assigned;
                }
            }
            SubnetRow {
                id: s.id,
                prefix: s.prefix.clone(),
                na_assigned: na,
                na_total: s.na_total,
                pd_assigned: pd,
                pd_total: s.pd_total,
            }
        })
        .collect();
    let mut drops: Vec<_> = (0..stats::drop_slots())
        .map(|slot| {
            let n = scrape
                .workers
                .iter()
                .map(|w| w.drops.get(slot).copied().unwrap_or(0))
                .sum();
            (stats::drop_layer(slot), stats::drop_label(slot), n)
        })
        .collect();
    for (name, n) in scrape.xdp.iter().flatten() {
        if let Some(reason) = name.strip_prefix("drop_") {
            drops.push(("xdp", reason, *n));
        }
    }
    drops.retain(|(_, _, n)| *n > 0);
    StatusView {
        server,
        now_unix,
        failover: scrape.failover.as_ref(),
        subnets,
        rates,
        totals: Totals::of(&scrape.workers, scrape.xdp.as_deref()),
        drops,
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222;background:#fafafa}\
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em}\
table{border-collapse:collapse;background:#fff}\
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:middle}\
td{white-space:nowrap}\
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.ok{color:#fff;background:#2a7d2a}.warn{color:#000;background:#f0c040}\
.bad{color:#fff;background:#b02020}.state{font-weight:bold;padding:.1em .4em;border-radius:3px}\
.bar{width:12em;height:.9em;border:1px solid #888;background:#fff;display:inline-block;\
vertical-align:middle}.bar>span{display:block;height:100%;background:#3b6fb6;min-width:1px}\
.bar>span.zero{min-width:0}.muted{color:#666}p{margin:.6em 0}";

/// The page's HTML.
pub(crate) fn render(v: &StatusView<'_>) -> String {
    let mut out = String::with_capacity(8 * 1024);
    // Writing into a String cannot fail.
    let _ = write_page(&mut out, v);
    out
}

fn write_page(o: &mut String, v: &StatusView<'_>) -> std::fmt::Result {
    write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_S}\">\
         <title>tandem status</title><style>{STYLE}</style></head><body>\n"
    )?;
    write_server(o, v)?;
    write_failover(o, v)?;
    write_pools(o, v)?;
    write_traffic(o, v)?;
    writeln!(
        o,
        "<p class=\"muted\">Read-only. Reloads every {REFRESH_S} s. The counters behind this page \
         are at <a href=\"/metrics\">/metrics</a>.</p>\n</body></html>"
    )
}

fn write_server(o: &mut String, v: &StatusView<'_>) -> std::fmt::Result {
    let s = &v.server;
    writeln!(o, "<h1>tandem {}</h1>", escape(s.version))?;
    write!(
        o,
        "<p id=\"server\">up {} · datapath <b>{}</b>",
        duration(s.uptime_s),
        escape(s.datapath)
    )?;
    if let Some(d) = s.durability {
        write!(o, " · durability <b>{}</b>", escape(d))?;
    }
    let mode = if v.failover.is_some() {
        "failover"
    } else {
        "standalone"
    };
    writeln!(o, " · {mode} · {}</p>", utc(v.now_unix))
}

/// RFC 8156 §4.1 states: NORMAL is healthy; the states where the partner is out of reach are
/// alarms; the rest are transitions.
fn state_class(s: ServerState) -> &'static str {
    match s {
        ServerState::Normal => "ok",
        ServerState::CommunicationsInterrupted
        | ServerState::PartnerDown
        | ServerState::ResolutionInterrupted => "bad",
        _ => "warn",
    }
}

fn state_cell(s: Option<ServerState>) -> String {
    match s {
        Some(s) => format!(
            "<span class=\"state {}\">{}</span>",
            state_class(s),
            escape(s.rfc_name())
        ),
        None => "<span class=\"muted\">unknown</span>".into(),
    }
}

fn write_failover(o: &mut String, v: &StatusView<'_>) -> std::fmt::Result {
    let Some(fo) = v.failover else {
        return writeln!(
            o,
            "<h2>Failover</h2><p id=\"failover\">Standalone: no failover relationship is \
             configured.</p>"
        );
    };
    writeln!(
        o,
        "<h2>Failover</h2><table id=\"failover\"><tr><th>relationship</th><th>role</th>\
         <th>state</th><th>since</th><th>partner</th><th>link</th><th>skew</th>\
         <th>unacked</th><th>queued</th><th>partner down</th><th>BNDUPD sent / acked / \
         rejected / received</th></tr>"
    )?;
    for r in &fo.relationships {
        write_relationship(o, r, v.now_unix)?;
    }
    writeln!(o, "</table>")
}

fn write_relationship(o: &mut String, r: &RelStatus, now_unix: u64) -> std::fmt::Result {
    let role = match r.role {
        Role::Primary => "primary",
        _ => "secondary",
    };
    let since = tandem_engine::partner::unix_time(r.since);
    let link = if r.connected {
        "<span class=\"state ok\">connected</span>"
    } else {
        "<span class=\"state bad\">disconnected</span>"
    };
    let skew = r.skew_s.map_or_else(
        || "<span class=\"muted\">not measured</span>".into(),
        |s| format!("{s} s"),
    );
    let down = r.partner_down_time.map_or_else(
        || "<span class=\"muted\">—</span>".into(),
        |t| {
            let t = tandem_engine::partner::unix_time(t);
            format!("{} ({} ago)", utc(t), duration(now_unix.saturating_sub(t)))
        },
    );
    writeln!(
        o,
        "<tr><td>{}</td><td>{role}</td><td>{}</td><td>{} ago</td><td>{}</td><td>{link}</td>\
         <td class=\"n\">{skew}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{down}</td>\
         <td class=\"n\">{} / {} / {} / {}</td></tr>",
        escape(&r.name),
        state_cell(Some(r.state)),
        duration(now_unix.saturating_sub(since)),
        state_cell(r.partner),
        count(r.unacked as f64),
        count((r.queued + r.parked) as f64),
        count(r.sent as f64),
        count(r.acked as f64),
        count(r.rejected as f64),
        count(r.received as f64),
    )
}

fn write_pools(o: &mut String, v: &StatusView<'_>) -> std::fmt::Result {
    writeln!(o, "<h2>Pools</h2>")?;
    if v.subnets.is_empty() {
        return writeln!(o, "<p id=\"pools\">No subnet is configured.</p>");
    }
    writeln!(
        o,
        "<table id=\"pools\"><tr><th>subnet</th><th>id</th><th>kind</th><th>assigned / total</th>\
         <th>utilisation</th></tr>"
    )?;
    for s in &v.subnets {
        for (kind, assigned, total) in [
            ("NA", s.na_assigned, s.na_total),
            ("PD", s.pd_assigned, s.pd_total),
        ] {
            writeln!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{kind}</td>\
                 <td class=\"n\">{} / {}</td><td>{} {}</td></tr>",
                escape(&s.prefix),
                s.id,
                count(assigned as f64),
                count(total),
                bar(assigned, total),
                percent(assigned, total),
            )?;
        }
    }
    writeln!(o, "</table>")
}

fn write_traffic(o: &mut String, v: &StatusView<'_>) -> std::fmt::Result {
    writeln!(o, "<h2>Traffic</h2>")?;
    let t = &v.totals;
    let Some(r) = &v.rates else {
        writeln!(
            o,
            "<p id=\"rates\" class=\"muted\">Rates appear a second after start.</p>"
        )?;
        return write_drops(o, v);
    };
    writeln!(
        o,
        "<table id=\"rates\"><tr><th>over the last {:.0} s</th><th>per second</th>\
         <th>total</th></tr>",
        r.span_s
    )?;
    let row = |o: &mut String, what: &str, rate: f64, total: u64| {
        writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{rate:.1}</td><td class=\"n\">{}</td></tr>",
            escape(what),
            count(total as f64)
        )
    };
    row(o, "requests received", r.received_per_s, t.received())?;
    for ((op, rate), total) in RX_OPS.iter().zip(r.by_op_per_s).zip(t.by_op) {
        if total > 0 {
            row(o, &format!("· {op}"), rate, total)?;
        }
    }
    row(o, "replies sent", r.sent_per_s, t.sent)?;
    row(o, "dropped", r.dropped_per_s, t.dropped)?;
    writeln!(o, "</table>")?;
    write_drops(o, v)
}

fn write_drops(o: &mut String, v: &StatusView<'_>) -> std::fmt::Result {
    if v.drops.is_empty() {
        return writeln!(o, "<p id=\"drops\">No packet dropped since start.</p>");
    }
    writeln!(
        o,
        "<h2>Drops since start</h2><table id=\"drops\"><tr><th>layer</th><th>reason</th>\
         <th>packets</th></tr>"
    )?;
    for (layer, reason, n) in &v.drops {
        writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            escape(layer),
            escape(reason),
            count(*n as f64)
        )?;
    }
    writeln!(o, "</table>")
}

/// `s` with `& < > " '` replaced by character references: safe in text and in quoted
/// attribute values.
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A utilisation bar: the filled share as a percentage width.
fn bar(assigned: u64, total: f64) -> String {
    let share = share(assigned, total).unwrap_or(0.0);
    let zero = if assigned == 0 { " class=\"zero\"" } else { "" };
    format!(
        "<span class=\"bar\"><span{zero} style=\"width:{:.2}%\"></span></span>",
        share * 100.0
    )
}

/// `assigned / total` in 0..=1; `None` without a pool.
fn share(assigned: u64, total: f64) -> Option<f64> {
    (total > 0.0).then(|| (assigned as f64 / total).clamp(0.0, 1.0))
}

fn percent(assigned: u64, total: f64) -> String {
    match share(assigned, total) {
        None => "no pool".into(),
        Some(_) if assigned == 0 => "0 %".into(),
        Some(s) if s * 100.0 < 0.01 => "&lt; 0.01 %".into(),
        Some(s) => format!("{:.2} %", s * 100.0),
    }
}

/// A count with thousands separators; past 10^15 (a /64 pool holds 2^64) in scientific
/// notation.
fn count(n: f64) -> String {
    if !(0.0..1e15).contains(&n) {
        return format!("{n:.3e}");
    }
    let digits = format!("{n:.0}");
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `3d 4h`, `2h 5m`, `5m 12s`, `42s`.
fn duration(s: u64) -> String {
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// Unix seconds as `YYYY-MM-DD hh:mm:ss UTC`.
fn utc(t: u64) -> String {
    let secs = t % 86_400;
    let (year, month, day) = crate::civil::civil_from_days(t / 86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests;
