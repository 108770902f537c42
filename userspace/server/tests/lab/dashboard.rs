//! Seeing it (issue 5, item 6): the Grafana dashboard in `config/grafana/` queries only metrics a
//! real tandemd exports, and the status page on the metrics listener renders in headless
//! Chromium with the failover state, pool utilisation and live rates.
//!
//! Both lab tests run a failover pair (so the `tandem_failover_*` families have samples) with
//! XDP in generic mode (so `tandem_xdp_packets_total` does) under perfdhcp load; the dashboard
//! test also cuts the partner link and declares the partner down, so the partner-down time has
//! a sample too. The dashboard's structure and the metric-name extraction are checked without
//! root by the plain tests at the bottom.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tandem_lab::pair::{Pair, PRIMARY_FO_ADDR, SECONDARY_FO_ADDR};
use tandem_lab::{
    FailoverRole, LabDatapath, LabTls, Lifetimes, Netns, Perfdhcp, Subject, CLIENT_IF,
};

use crate::common::{log_tail, tandemd, TestDir};
use crate::failover_pair::wait_state;

const PORT: u16 = 9548;

/// The dashboard operators import.
fn dashboard_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/grafana/tandem-dashboard.json")
}

fn dashboard() -> Value {
    let path = dashboard_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every PromQL expression of the dashboard, with where it is: each panel target's `expr`
/// (nested rows included) and the metric of each `label_values(metric, label)` variable.
fn dashboard_exprs(d: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, title: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                let title = m.get("title").and_then(Value::as_str).unwrap_or(title);
                if let Some(e) = m.get("expr").and_then(Value::as_str) {
                    out.push((title.to_owned(), e.to_owned()));
                }
                for v in m.values() {
                    walk(v, title, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, title, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&d["panels"], "", &mut out);
    for var in d["templating"]["list"].as_array().into_iter().flatten() {
        let def = var["definition"].as_str().unwrap_or_default();
        let inner = def
            .strip_prefix("label_values(")
            .and_then(|r| r.rsplit_once(','))
            .map(|(metric, _)| metric.trim());
        if let Some(metric) = inner {
            let name = var["name"].as_str().unwrap_or_default();
            out.push((format!("variable ${name}"), metric.to_owned()));
        }
    }
    out
}

/// PromQL words that are not metric names when not followed by `(`.
const KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "inf", "nan", "Inf", "NaN",
];
/// Modifiers whose parenthesised list holds label names, not expressions.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metric names a PromQL expression selects: identifiers outside label matchers `{…}`,
/// ranges `[…]`, strings and label lists (`by (…)`), that are not function calls, keywords or
/// Grafana variables (`$x`). An unbalanced expression is an error.
fn metric_names(expr: &str) -> Result<BTreeSet<String>, String> {
    let b = expr.as_bytes();
    let mut names = BTreeSet::new();
    let mut depth = 0i32;
    let mut i = 0;
    // The index just past the bracket closing the one at `open` (strings inside skipped).
    let close = |open: usize, end: u8| -> Result<usize, String> {
        let mut j = open + 1;
        while j < b.len() {
            match b[j] {
                q @ (b'"' | b'\'' | b'`') => j = skip_string(b, j, q)?,
                c if c == end => return Ok(j + 1),
                _ => j += 1,
            }
        }
        Err(format!(
            "unclosed `{}` at {open} in {expr}",
            b[open] as char
        ))
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' => i = skip_string(b, i, c)?,
            b'{' => i = close(i, b'}')?,
            b'[' => i = close(i, b']')?,
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced `)` at {i} in {expr}"));
                }
                i += 1;
            }
            b'$' => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
            }
            b'0'..=b'9' | b'.' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':')
                {
                    i += 1;
                }
                let word = &expr[start..i];
                let mut next = i;
                while next < b.len() && b[next].is_ascii_whitespace() {
                    next += 1;
                }
                // A call, or an aggregation with its clause first: `sum by (le) (…)`.
                let clause = ["by", "without"].iter().any(|k| {
                    expr[next..].strip_prefix(k).is_some_and(|r| {
                        !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                    })
                });
                let call = b.get(next) == Some(&b'(') || clause;
                if call && LABEL_LISTS.contains(&word) {
                    i = close(next, b')')?;
                } else if !call && !KEYWORDS.contains(&word) && !LABEL_LISTS.contains(&word) {
                    names.insert(word.to_owned());
                }
            }
            _ => i += 1,
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced parentheses in {expr}"));
    }
    Ok(names)
}

/// The index just past the string opening at `open` with quote `q` (backslash escapes).
fn skip_string(b: &[u8], open: usize, q: u8) -> Result<usize, String> {
    let mut j = open + 1;
    while j < b.len() {
        match b[j] {
            b'\\' if q != b'`' => j += 2,
            c if c == q => return Ok(j + 1),
            _ => j += 1,
        }
    }
    Err(format!("unclosed string at {open}"))
}

/// What a scrape declares: sample names, and `# TYPE` family → type.
#[derive(Debug, Default)]
struct Exported {
    samples: BTreeSet<String>,
    families: BTreeMap<String, String>,
}

impl Exported {
    fn add(&mut self, text: &str) {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                if let Some((family, ty)) = rest.split_once(' ') {
                    self.families.insert(family.to_owned(), ty.to_owned());
                }
            } else if !line.starts_with('#') && !line.is_empty() {
                let end = line.find(['{', ' ']).unwrap_or(line.len());
                self.samples.insert(line[..end].to_owned());
            }
        }
    }

    /// Why `name` is not a metric of the scrape, if it is not: it needs a sample with that
    /// name and a `# TYPE` for its family (the name itself for a gauge; without `_total` for a
    /// counter; without `_bucket`, `_sum` or `_count` for a histogram).
    fn lacks(&self, name: &str) -> Option<String> {
        if !self.samples.contains(name) {
            return Some(format!("no sample named {name}"));
        }
        if self.families.contains_key(name) {
            return None;
        }
        let typed = [
            ("_bucket", "histogram"),
            ("_sum", "histogram"),
            ("_count", "histogram"),
            ("_total", "counter"),
        ]
        .iter()
        .any(|(suffix, ty)| {
            name.strip_suffix(suffix)
                .and_then(|family| self.families.get(family))
                .is_some_and(|t| t == ty)
        });
        (!typed).then(|| format!("{name} has samples but no # TYPE for its family"))
    }
}

/// Every (where, metric, why) the dashboard queries and `exported` lacks.
fn missing(exprs: &[(String, String)], exported: &Exported) -> Vec<String> {
    let mut out = Vec::new();
    for (title, expr) in exprs {
        match metric_names(expr) {
            Ok(names) if names.is_empty() => out.push(format!("{title}: no metric in {expr}")),
            Ok(names) => {
                for n in names {
                    if let Some(why) = exported.lacks(&n) {
                        out.push(format!("{title}: {why}"));
                    }
                }
            }
            Err(e) => out.push(format!("{title}: {e}")),
        }
    }
    out
}

fn scrape(ns: &Netns, addr: SocketAddr) -> String {
    let url = format!("http://{addr}/metrics");
    let text = ns
        .run(&["curl", "-sS", "--fail", "--max-time", "5", &url])
        .unwrap_or_else(|e| panic!("curl {url}: {e:#}"));
    assert!(text.ends_with("# EOF\n"), "not OpenMetrics text:\n{text}");
    text
}

/// A failover pair with the metrics listener on each partner address and `datapath` on the
/// client link. Fields drop in order: the servers stop before their namespaces go.
pub(crate) struct MeteredPair {
    pub(crate) primary: Subject,
    pub(crate) secondary: Subject,
    pub(crate) primary_metrics: SocketAddr,
    pub(crate) secondary_metrics: SocketAddr,
    pub(crate) lab: Pair,
}

/// The datapath of the dashboard's pair: XDP in generic mode, so its counters exist.
fn xdp_generic() -> LabDatapath {
    LabDatapath::Xdp {
        object: crate::xdp_steering::object(),
        generic: true,
    }
}

impl MeteredPair {
    pub(crate) fn start(dir: &Path, datapath: LabDatapath) -> Self {
        tandem_lab::preflight().expect("lab preflight");
        let lab = Pair::new().unwrap();
        let start = |role: FailoverRole, ns: &Netns| {
            let mut params = lab.server_params();
            params.lifetimes = Lifetimes::FAILOVER_SHORT;
            params.pd_lifetimes = Lifetimes::FAILOVER_SHORT;
            params.datapath = datapath.clone();
            let addr = match role {
                FailoverRole::Primary => PRIMARY_FO_ADDR,
                _ => SECONDARY_FO_ADDR,
            };
            let addr = SocketAddr::new(addr.into(), PORT);
            params.metrics = Some(addr);
            let fo = lab.failover_params(role, LabTls::None);
            let sub = dir.join(role.as_str());
            std::fs::create_dir_all(&sub).unwrap();
            let s = Subject::start_failover(ns, &params, &fo, &sub, tandemd())
                .unwrap_or_else(|e| panic!("start {}: {e:#}", role.as_str()));
            (s, addr)
        };
        let (primary, primary_metrics) = start(FailoverRole::Primary, lab.primary());
        let (secondary, secondary_metrics) = start(FailoverRole::Secondary, lab.secondary());
        wait_state(&primary, "NORMAL", Duration::from_secs(30));
        wait_state(&secondary, "NORMAL", Duration::from_secs(30));
        Self {
            primary,
            secondary,
            primary_metrics,
            secondary_metrics,
            lab,
        }
    }
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn dashboard_queries_only_metrics_a_real_scrape_has() {
    let dir = TestDir::new("dashboard");
    let run = MeteredPair::start(dir.path(), xdp_generic());
    let mut p = Perfdhcp::new(CLIENT_IF, 200, 400, 400);
    p.address_and_prefix = true;
    let report = p.run(&run.lab.clients, dir.path(), "perfdhcp").unwrap();
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    // Counters are published once per 250 ms tick; the status once per control turn.
    std::thread::sleep(Duration::from_secs(2));
    let mut exported = Exported::default();
    exported.add(&scrape(run.lab.primary(), run.primary_metrics));
    exported.add(&scrape(run.lab.secondary(), run.secondary_metrics));
    // The partner-down time exists once a partner is declared down (RFC 8156 §8): cut the
    // partner link, wait for COMMUNICATIONS-INTERRUPTED, and tell the primary (SIGUSR1).
    let _cut = tandem_lab::Partition::cut(run.lab.primary(), tandem_lab::pair::PARTNER_IF).unwrap();
    wait_state(
        &run.primary,
        "COMMUNICATIONS-INTERRUPTED",
        Duration::from_secs(30),
    );
    let pid = run.primary.pid().expect("running") as i32;
    // SAFETY: a plain kill(2) to a process this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
    wait_state(&run.primary, "PARTNER-DOWN", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    let down = scrape(run.lab.primary(), run.primary_metrics);
    assert!(
        down.contains("tandem_failover_partner_down_time_seconds{"),
        "{down}\n{}",
        log_tail(&run.primary)
    );
    exported.add(&down);

    let exprs = dashboard_exprs(&dashboard());
    let names: BTreeSet<String> = exprs
        .iter()
        .flat_map(|(_, e)| metric_names(e).unwrap_or_default())
        .collect();
    println!(
        "{} expressions over {} metrics; the scrapes have {} sample names",
        exprs.len(),
        names.len(),
        exported.samples.len()
    );
    for n in &names {
        println!("  {n}");
    }
    let missing = missing(&exprs, &exported);
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics tandemd does not export:\n{}",
        missing.join("\n")
    );
    // Every family tandemd exports is on the dashboard (a new metric gets a panel).
    let unqueried: Vec<_> = exported
        .families
        .keys()
        .filter(|f| {
            !names.iter().any(|n| {
                n == *f
                    || n.strip_prefix(f.as_str())
                        .is_some_and(|s| s.starts_with('_'))
            })
        })
        .collect();
    assert!(
        unqueried.is_empty(),
        "families no panel shows: {unqueried:?}"
    );
}

/// The profile directory of one Chromium run: every process whose command line names it is
/// ours.
fn chromium_pids(profile: &Path) -> Vec<i32> {
    let needle = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|b| *b == 0).any(|arg| arg == needle.as_bytes()))
        })
        .collect()
}

/// Runs headless Chromium in `ns` on `url` with `args` (`--dump-dom` or `--screenshot=…`):
/// its profile, cache and home in `tmp`, never in $HOME; returns stdout. Fails if a Chromium
/// process outlives the run (any is killed first).
fn chromium(ns: &Netns, tmp: &Path, url: &str, args: &[&str]) -> String {
    let profile = tmp.join("profile");
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut cmd = ns.command("chromium");
    cmd.env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("DISPLAY")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-breakpad",
            "--disable-extensions",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url);
    let out = tandem_lab::netns::output_timeout(&mut cmd, Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("chromium: {e:#}"));
    std::thread::sleep(Duration::from_millis(300));
    let left = chromium_pids(&profile);
    for pid in &left {
        // SAFETY: kill(2) on a pid whose command line names this run's own profile directory.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    assert!(left.is_empty(), "Chromium processes left behind: {left:?}");
    assert!(
        out.status.success(),
        "chromium {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `$HOME/.config/chromium` exists (a Chromium run that ignored our directories
/// would create it).
fn chromium_in_home() -> bool {
    std::env::var_os("HOME").is_some_and(|h| Path::new(&h).join(".config/chromium").exists())
}

/// The text of the `<td>` cells of the row of `table` whose first cell is `first`.
fn row_cells(dom: &str, table: &str, first: &str) -> Vec<String> {
    find_row(dom, table, |cells| {
        cells.first().is_some_and(|c| c == first)
    })
}

/// The text of the `<td>` cells of the first row of `table` that `pick` accepts.
fn find_row(dom: &str, table: &str, pick: impl Fn(&[String]) -> bool) -> Vec<String> {
    let start = dom
        .find(&format!("<table id=\"{table}\""))
        .unwrap_or_else(|| panic!("no table {table} in\n{dom}"));
    let end = start + dom[start..].find("</table>").unwrap();
    dom[start..end]
        .split("<tr>")
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let text = cell.split_once('>').map_or("", |(_, t)| t);
                    let text = text.split("</td>").next().unwrap_or("");
                    strip_tags(text)
                })
                .collect::<Vec<_>>()
        })
        .find(|cells| pick(cells))
        .unwrap_or_else(|| panic!("no such row in table {table}:\n{}", &dom[start..end]))
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn status_page_renders_in_chromium_on_a_failover_pair_under_load() {
    let dir = TestDir::new("status-page");
    let had_chromium_home = chromium_in_home();
    let run = MeteredPair::start(dir.path(), xdp_generic());
    let url = format!("http://{}/", run.primary_metrics);
    let tmp = dir.path().join("chromium");
    let mut p = Perfdhcp::new(CLIENT_IF, 200, 1_500, 1_500);
    p.address_and_prefix = true;
    let (report, dom) = std::thread::scope(|s| {
        let load = s.spawn(|| p.run(&run.lab.clients, dir.path(), "perfdhcp").unwrap());
        std::thread::sleep(Duration::from_secs(4));
        let dom = chromium(run.lab.primary(), &tmp, &url, &["--dump-dom"]);
        (load.join().unwrap(), dom)
    });
    println!("perfdhcp {}\n{report}", p.args().join(" "));
    std::fs::write(dir.path().join("status.html"), &dom).unwrap();

    assert!(dom.contains("<title>tandem status</title>"), "{dom}");
    assert!(dom.contains("datapath <b>xdp-generic</b>"), "{dom}");
    // Failover: NORMAL, the partner NORMAL, connected.
    let fo = row_cells(&dom, "failover", tandem_lab::fo_params::LAB_RELATIONSHIP);
    println!("failover row: {fo:?}");
    assert_eq!(fo[1], "primary");
    assert_eq!(fo[2], "NORMAL");
    assert_eq!(fo[4], "NORMAL");
    assert_eq!(fo[5], "connected");
    // Pool utilisation: the lab subnet's addresses, some assigned, with a bar.
    let na = row_cells(&dom, "pools", "2001:db8:1::/64");
    println!("pool row: {na:?}");
    assert_eq!(na[2], "NA");
    let (assigned, total) = na[3].split_once(" / ").unwrap();
    let assigned: u64 = assigned.replace(',', "").parse().unwrap();
    assert!(assigned > 0, "{na:?}");
    assert_eq!(total, "61,440");
    assert!(na[4].ends_with('%'), "{na:?}");
    assert!(dom.contains("<span class=\"bar\">"));
    let pd = find_row(&dom, "pools", |c| c.get(2).is_some_and(|k| k == "PD"));
    println!("pool row: {pd:?}");
    assert_eq!(pd[3].split_once(" / ").map(|(_, t)| t), Some("65,536"));
    let pd_assigned: u64 = pd[3]
        .split(" / ")
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(pd_assigned > 0, "PD row: {pd:?}");
    // Rates over the last seconds: requests and replies moving during the run.
    for what in ["requests received", "replies sent", "· solicit"] {
        let r = row_cells(&dom, "rates", what);
        let per_s: f64 = r[1].parse().unwrap();
        assert!(per_s > 0.0, "{what}: {r:?}");
    }

    // The secondary's page, after the run: its own role, the partner NORMAL.
    let url2 = format!("http://{}/status", run.secondary_metrics);
    let dom2 = chromium(run.lab.secondary(), &tmp, &url2, &["--dump-dom"]);
    let fo2 = row_cells(&dom2, "failover", tandem_lab::fo_params::LAB_RELATIONSHIP);
    assert_eq!(
        (fo2[1].as_str(), fo2[2].as_str(), fo2[4].as_str()),
        ("secondary", "NORMAL", "NORMAL"),
        "{fo2:?}\n{}",
        log_tail(&run.secondary)
    );

    // The screenshot, after the run: the page as an operator sees it.
    let png = dir.path().join("status-page.png");
    let shot = format!("--screenshot={}", png.display());
    chromium(
        run.lab.primary(),
        &tmp,
        &url,
        &[&shot, "--window-size=1100,800"],
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(bytes.len() > 10_000, "{} bytes: a blank page?", bytes.len());
    println!("screenshot: {} ({} bytes)", png.display(), bytes.len());
    if let Some(to) = std::env::var_os("TANDEM_STATUS_SCREENSHOT") {
        std::fs::copy(&png, &to).unwrap();
        println!("copied to {}", Path::new(&to).display());
    }
    // Nothing was written to the real home directory.
    assert_eq!(
        chromium_in_home(),
        had_chromium_home,
        "Chromium wrote to $HOME"
    );
}

#[test]
fn the_dashboard_is_importable_and_filters_by_instance() {
    let d = dashboard();
    assert!(d["schemaVersion"].as_u64().unwrap() >= 36);
    assert_eq!(d["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(d["__inputs"][0]["pluginId"], "prometheus");
    assert!(
        d["id"].is_null(),
        "an exported dashboard has no database id"
    );
    let vars: Vec<&str> = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(vars, ["instance"]);
    let exprs = dashboard_exprs(&d);
    assert!(exprs.len() >= 20, "{}", exprs.len());
    let mut ids = BTreeSet::new();
    for panel in d["panels"].as_array().unwrap() {
        assert!(
            ids.insert(panel["id"].as_u64().unwrap()),
            "duplicate id {}",
            panel["id"]
        );
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${DS_PROMETHEUS}",
            "{}",
            panel["title"]
        );
        for t in panel["targets"].as_array().unwrap() {
            assert_eq!(
                t["datasource"]["uid"], "${DS_PROMETHEUS}",
                "{}",
                panel["title"]
            );
            let e = t["expr"].as_str().unwrap();
            assert!(
                e.contains("instance=~\"$instance\""),
                "{}: {e}",
                panel["title"]
            );
            metric_names(e).unwrap();
        }
    }
    // What issue 5 names is on it.
    let all: String = exprs.iter().map(|(_, e)| e.as_str()).collect();
    for needle in [
        "rate(kea_dhcp6_packets_received_total",
        "tandem_drops_total",
        "kea_dhcp6_na_assigned_total",
        "kea_dhcp6_pd_total",
        "tandem_worker_handoffs_total",
        "histogram_quantile(0.99, sum by (le) (rate(tandem_journal_sync_duration_seconds_bucket",
        "tandem_journal_batch_records_bucket",
        "tandem_failover_state",
        "tandem_failover_unacked_updates",
        "tandem_failover_queued_updates",
        "tandem_failover_partner_skew_seconds",
        "tandem_failover_partner_down_time_seconds",
        "tandem_xdp_packets_total",
    ] {
        assert!(all.contains(needle), "{needle}");
    }
}

#[test]
fn metric_names_skip_functions_labels_ranges_and_variables() {
    let names = |e: &str| metric_names(e).unwrap().into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            "histogram_quantile(0.99, sum by (le) (rate(tandem_journal_sync_duration_seconds_bucket\
             {instance=~\"$instance\",x=\"a}b\"}[$__rate_interval])))"
        ),
        ["tandem_journal_sync_duration_seconds_bucket"]
    );
    assert_eq!(
        names(
            "sum(rate(a_total[5m])) without (worker) / on(instance) group_left(state) b > bool 0"
        ),
        ["a_total", "b"]
    );
    assert_eq!(names("time() - c offset 5m"), ["c"]);
    assert_eq!(
        names("x == 1 and y or z unless w * 1e3"),
        ["w", "x", "y", "z"]
    );
    assert_eq!(names("sum by(subnet) (k) / sum by (subnet) (k)"), ["k"]);
    assert!(metric_names("rate(x[1m]").is_err());
    assert!(metric_names("x{a=\"b\"").is_err());
    assert!(metric_names("x)").is_err());
    assert!(names("time()").is_empty());
}

const SCRAPE: &str = "# TYPE kea_dhcp6_packets_received_total gauge\n\
kea_dhcp6_packets_received_total{operation=\"solicit\"} 3\n\
# TYPE tandem_drops counter\n\
tandem_drops_total{layer=\"engine\",reason=\"malformed\"} 0\n\
# TYPE tandem_journal_sync_duration_seconds histogram\n\
tandem_journal_sync_duration_seconds_bucket{le=\"+Inf\",worker=\"0\"} 1\n\
tandem_journal_sync_duration_seconds_sum{worker=\"0\"} 0.001\n\
tandem_journal_sync_duration_seconds_count{worker=\"0\"} 1\n\
# TYPE tandem_failover_partner_skew_seconds gauge\n\
# EOF\n";

#[test]
fn a_panel_naming_a_metric_that_does_not_exist_is_caught() {
    let mut exported = Exported::default();
    exported.add(SCRAPE);
    let good = [
        ("traffic".to_owned(), "sum by (operation) (rate(kea_dhcp6_packets_received_total{instance=~\"$instance\"}[$__rate_interval]))".to_owned()),
        ("drops".to_owned(), "rate(tandem_drops_total[1m])".to_owned()),
        ("sync".to_owned(), "histogram_quantile(0.5, sum by (le) (rate(tandem_journal_sync_duration_seconds_bucket[1m]))) + tandem_journal_sync_duration_seconds_sum / tandem_journal_sync_duration_seconds_count".to_owned()),
    ];
    assert_eq!(missing(&good, &exported), Vec::<String>::new());
    let bad = [
        // A typo, Kea's name without kea-exporter's `_total`, the counter's family name
        // (no such sample), a gauge declared with no sample, and an expression with none.
        (
            "typo".to_owned(),
            "rate(kea_dhcp6_packets_recieved_total[1m])".to_owned(),
        ),
        (
            "kea name".to_owned(),
            "kea_dhcp6_packets_received".to_owned(),
        ),
        ("family".to_owned(), "rate(tandem_drops[1m])".to_owned()),
        (
            "no sample".to_owned(),
            "tandem_failover_partner_skew_seconds".to_owned(),
        ),
        ("nothing".to_owned(), "time()".to_owned()),
        ("broken".to_owned(), "rate(x[1m]".to_owned()),
    ];
    let m = missing(&bad, &exported);
    assert_eq!(
        m,
        [
            "typo: no sample named kea_dhcp6_packets_recieved_total",
            "kea name: no sample named kea_dhcp6_packets_received",
            "family: no sample named tandem_drops",
            "no sample: no sample named tandem_failover_partner_skew_seconds",
            "nothing: no metric in time()",
            "broken: unbalanced parentheses in rate(x[1m]",
        ]
    );
    // A sample whose family is not declared is not enough.
    let mut undeclared = Exported::default();
    undeclared.add("x_total 1\n# EOF\n");
    assert_eq!(
        undeclared.lacks("x_total").as_deref(),
        Some("x_total has samples but no # TYPE for its family")
    );
}
