//! tandemd's answers as readable text: aligned tables for leases, statistics and failover
//! relationships, `key value` lines for status.

use serde_json::Value;

/// What kind of answer to render (the command that produced it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum View {
    Status,
    Version,
    Commands,
    /// One lease in `arguments` (lease6-get, lease6-del).
    Lease,
    /// `arguments.leases` (lease6-get-by-duid, lease6-get-page).
    Leases,
    Stats,
    Failover,
    /// `text` only, plus the relationships' states if any (config-test, partner-down).
    Text,
}

/// The answer's `arguments` as text. Errors and empty results are printed by the caller from
/// `text`.
pub(crate) fn render(view: View, args: &Value) -> String {
    match view {
        View::Status => status(args),
        View::Version => args["extended"].as_str().unwrap_or_default().to_owned() + "\n",
        View::Commands => args
            .as_array()
            .map(|a| a.iter().map(|c| format!("{}\n", s(c))).collect())
            .unwrap_or_default(),
        View::Lease => leases(std::slice::from_ref(args)),
        View::Leases => leases(args["leases"].as_array().map_or(&[], Vec::as_slice)),
        View::Stats => stats(args),
        View::Failover => failover(args),
        View::Text => match args["relationships"].as_array() {
            Some(rels) => rels
                .iter()
                .map(|r| format!("{}: {}\n", s(&r["name"]), s(&r["state"])))
                .collect(),
            None => String::new(),
        },
    }
}

/// A JSON value as a table cell: strings bare, null as `-`.
fn s(v: &Value) -> String {
    match v {
        Value::String(t) => t.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i + 1 == widths.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out += &line(&mut row.iter().map(String::as_str));
    }
    out
}

fn status(a: &Value) -> String {
    let mut rows = vec![
        ("pid", s(&a["pid"])),
        ("uptime", format!("{} s", s(&a["uptime"]))),
        ("datapath", s(&a["datapath"])),
        ("durability", s(&a["durability"])),
        ("workers", s(&a["workers"])),
    ];
    for r in a["failover"].as_array().map_or(&[][..], Vec::as_slice) {
        let link = if r["connected"].as_bool() == Some(true) {
            "connected"
        } else {
            "not connected"
        };
        rows.push((
            "failover",
            format!(
                "{}: {} (partner {}, {link})",
                s(&r["name"]),
                s(&r["state"]),
                s(&r["partner-state"])
            ),
        ));
    }
    rows.iter().map(|(k, v)| format!("{k:<12}{v}\n")).collect()
}

fn leases(list: &[Value]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|l| {
            let addr = match l["type"].as_str() {
                Some("IA_PD") => format!("{}/{}", s(&l["ip-address"]), s(&l["prefix-len"])),
                _ => s(&l["ip-address"]),
            };
            vec![
                addr,
                s(&l["type"]),
                s(&l["state-name"]),
                s(&l["duid"]),
                s(&l["iaid"]),
                s(&l["subnet-id"]),
                s(&l["valid-lft"]),
                s(&l["preferred-lft"]),
                s(&l["cltt"]),
            ]
        })
        .collect();
    table(
        &[
            "ADDRESS",
            "TYPE",
            "STATE",
            "DUID",
            "IAID",
            "SUBNET",
            "VALID",
            "PREFERRED",
            "CLTT",
        ],
        &rows,
    )
}

/// `{"name": [[value, "timestamp"]]}` as NAME VALUE, by name.
fn stats(a: &Value) -> String {
    let Some(m) = a.as_object() else {
        return String::new();
    };
    let mut rows: Vec<Vec<String>> = m
        .iter()
        .map(|(k, v)| vec![k.clone(), s(&v[0][0])])
        .collect();
    rows.sort();
    table(&["NAME", "VALUE"], &rows)
}

fn failover(a: &Value) -> String {
    let rows: Vec<Vec<String>> = a["relationships"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|r| {
            vec![
                s(&r["name"]),
                s(&r["role"]),
                s(&r["state"]),
                s(&r["partner"]),
                s(&r["connected"]),
                s(&r["mclt_s"]),
                s(&r["skew_s"]),
                s(&r["queued"]),
                s(&r["unacked"]),
                s(&r["sent"]),
                s(&r["acked"]),
                s(&r["received"]),
            ]
        })
        .collect();
    table(
        &[
            "NAME",
            "ROLE",
            "STATE",
            "PARTNER",
            "CONNECTED",
            "MCLT",
            "SKEW",
            "QUEUED",
            "UNACKED",
            "SENT",
            "ACKED",
            "RECEIVED",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["A", "LONG HEADER", "C"],
            &[
                vec!["xxxx".into(), "1".into(), "last".into()],
                vec!["y".into(), "22".into(), "".into()],
            ],
        );
        assert_eq!(
            t,
            "A     LONG HEADER  C\nxxxx  1            last\ny     22\n"
        );
    }

    #[test]
    fn leases_show_prefixes_with_their_length() {
        let args = json!({"leases": [
            {"ip-address": "2001:db8:1::1000", "prefix-len": 128, "type": "IA_NA",
             "state-name": "bound", "duid": "00:01", "iaid": 1, "subnet-id": 1,
             "valid-lft": 4000, "preferred-lft": 3000, "cltt": 1700000000u64},
            {"ip-address": "2001:db8:8000::", "prefix-len": 56, "type": "IA_PD",
             "state-name": "released", "duid": "00:02", "iaid": 2, "subnet-id": 1,
             "valid-lft": 4000, "preferred-lft": 3000, "cltt": 1700000001u64}
        ], "count": 2});
        let t = render(View::Leases, &args);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(
            lines[0].starts_with("ADDRESS             TYPE   STATE"),
            "{t}"
        );
        assert!(
            lines[1].starts_with("2001:db8:1::1000    IA_NA  bound     00:01"),
            "{t}"
        );
        assert!(
            lines[2].starts_with("2001:db8:8000::/56  IA_PD  released  00:02"),
            "{t}"
        );
        // One lease (lease6-get) renders the same way.
        let one = render(View::Lease, &args["leases"][0]);
        let words = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(one.lines().nth(1).map(words), Some(words(lines[1])));
    }

    #[test]
    fn status_stats_and_failover() {
        let st = json!({"pid": 42, "uptime": 7, "datapath": "socket", "durability": "durable",
            "workers": 2, "failover": [{"name": "isp", "state": "NORMAL",
            "partner-state": "NORMAL", "connected": true}]});
        assert_eq!(
            render(View::Status, &st),
            "pid         42\nuptime      7 s\ndatapath    socket\ndurability  durable\n\
             workers     2\nfailover    isp: NORMAL (partner NORMAL, connected)\n"
        );
        let stats = json!({"received": [[10, "t"]], "drops.malformed": [[0, "t"]]});
        assert_eq!(
            render(View::Stats, &stats),
            "NAME             VALUE\ndrops.malformed  0\nreceived         10\n"
        );
        let fo = json!({"relationships": [{"name": "isp", "role": "primary",
            "state": "PARTNER-DOWN", "partner": null, "connected": false, "mclt_s": 3600,
            "skew_s": null, "queued": 0, "unacked": 0, "sent": 5, "acked": 5, "received": 2}]});
        let t = render(View::Failover, &fo);
        assert!(
            t.lines()
                .nth(1)
                .unwrap()
                .starts_with("isp   primary  PARTNER-DOWN  -"),
            "{t}"
        );
        assert_eq!(
            render(
                View::Text,
                &json!({"relationships": [{"name": "isp", "state": "NORMAL"}]})
            ),
            "isp: NORMAL\n"
        );
        assert_eq!(render(View::Commands, &json!(["a", "b"])), "a\nb\n");
    }
}
