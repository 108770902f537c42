//! Kea's JSON shapes for what tandemd knows: a lease as `lease6-get` returns it, and counters
//! as `statistic-get-all` returns them (`{"name": [[value, "timestamp"]]}`).

use serde_json::{json, Map, Value};
use tandem_lease::{Lease, LeaseKind, LeaseState};

/// A lease in Kea's lease6 fields. `state` is Kea's number (0 assigned, 1 declined, 2
/// expired-reclaimed, 3 released); tandem adds `expires-at` (Unix s) and `state-name`.
pub(crate) fn lease6(l: &Lease) -> Value {
    let (kind, state_name) = (
        match l.resource.kind {
            LeaseKind::Pd => "IA_PD",
            _ => "IA_NA",
        },
        state_name(l.state),
    );
    json!({
        "ip-address": l.resource.addr.to_string(),
        "prefix-len": l.resource.prefix_len,
        "type": kind,
        "duid": duid_text(&l.duid),
        "iaid": l.iaid,
        "subnet-id": l.subnet_id,
        "valid-lft": l.valid_s,
        "preferred-lft": l.preferred_s,
        "cltt": l.cltt,
        "expires-at": l.expires_at,
        "state": kea_state(l.state),
        "state-name": state_name,
        "fqdn-fwd": false,
        "fqdn-rev": false,
        "hostname": "",
    })
}

/// Kea's lease state numbers.
fn kea_state(s: LeaseState) -> u8 {
    match s {
        LeaseState::Declined => 1,
        LeaseState::Expired => 2,
        LeaseState::Released => 3,
        _ => 0,
    }
}

/// The names `tandemd dump-leases` uses.
fn state_name(s: LeaseState) -> &'static str {
    match s {
        LeaseState::Bound => "bound",
        LeaseState::Declined => "declined",
        LeaseState::Released => "released",
        LeaseState::Expired => "expired",
        _ => "other",
    }
}

/// A DUID as Kea writes it: colon-separated hex octets.
pub(crate) fn duid_text(duid: &[u8]) -> String {
    let mut s = String::with_capacity(duid.len() * 3);
    for (i, b) in duid.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// `stats.json` in Kea's statistic shape: every number (and boolean, as 0/1) becomes a
/// statistic named by its path (`leases.na`, `drops.malformed`, `per_worker[1].received`,
/// `failover.relationships[0].sent`), each `[[value, "timestamp"]]` with the file's `now`.
/// Kea's own names for the packet totals are added: `pkt6-received`, `pkt6-sent`.
pub(crate) fn statistics(stats: &Value) -> Map<String, Value> {
    let now = stats.get("now").and_then(Value::as_u64).unwrap_or(0);
    let stamp = kea_timestamp(now);
    let mut out = Map::new();
    flatten("", stats, &mut |name, v| {
        out.insert(name, json!([[v, stamp]]));
    });
    for (kea, ours) in [("pkt6-received", "received"), ("pkt6-sent", "replied")] {
        if let Some(v) = stats.get(ours).and_then(Value::as_u64) {
            out.insert(kea.to_owned(), json!([[v, stamp]]));
        }
    }
    out
}

fn flatten(path: &str, v: &Value, emit: &mut dyn FnMut(String, Value)) {
    match v {
        Value::Number(n) => emit(path.to_owned(), Value::Number(n.clone())),
        Value::Bool(b) => emit(path.to_owned(), json!(u8::from(*b))),
        Value::Object(m) => {
            for (k, v) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(&p, v, emit);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), v, emit);
            }
        }
        Value::String(_) | Value::Null => {}
    }
}

/// Kea's statistic timestamp, `YYYY-MM-DD HH:MM:SS.ffffff` in UTC.
pub(crate) fn kea_timestamp(unix_s: u64) -> String {
    let days = unix_s / 86_400;
    let secs = unix_s % 86_400;
    let (y, m, d) = crate::civil::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.000000",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use tandem_lease::{FoData, Resource};

    use super::*;

    #[test]
    fn leases_carry_keas_fields() {
        let l = Lease {
            resource: Resource::prefix("2001:db8:8000:100::".parse().unwrap(), 56),
            duid: vec![0, 3, 0, 1, 0xaa].into_boxed_slice(),
            iaid: 9,
            subnet_id: 4,
            preferred_s: 300,
            valid_s: 600,
            cltt: 1_700_000_000,
            expires_at: 1_700_000_600,
            state: LeaseState::Released,
            fo: FoData::default(),
        };
        let v = lease6(&l);
        assert_eq!(v["ip-address"], "2001:db8:8000:100::");
        assert_eq!(v["prefix-len"], 56);
        assert_eq!(v["type"], "IA_PD");
        assert_eq!(v["duid"], "00:03:00:01:aa");
        assert_eq!(v["iaid"], 9);
        assert_eq!(v["subnet-id"], 4);
        assert_eq!(
            (v["valid-lft"].clone(), v["preferred-lft"].clone()),
            (json!(600), json!(300))
        );
        assert_eq!(v["cltt"], 1_700_000_000u64);
        assert_eq!(
            (v["state"].clone(), v["state-name"].clone()),
            (json!(3), json!("released"))
        );
        let na = Lease {
            resource: Resource::address("2001:db8::5".parse().unwrap()),
            state: LeaseState::Bound,
            ..l
        };
        let v = lease6(&na);
        assert_eq!(
            (v["type"].clone(), v["prefix-len"].clone()),
            (json!("IA_NA"), json!(128))
        );
        assert_eq!(v["state"], 0);
    }

    #[test]
    fn timestamps() {
        assert_eq!(kea_timestamp(0), "1970-01-01 00:00:00.000000");
        assert_eq!(kea_timestamp(951_782_400), "2000-02-29 00:00:00.000000");
        assert_eq!(kea_timestamp(1_798_365_039), "2026-12-27 09:50:39.000000");
        assert_eq!(kea_timestamp(4_107_542_399), "2100-02-28 23:59:59.000000");
    }

    #[test]
    fn statistics_flatten_stats_json() {
        let stats = json!({
            "pid": 7, "now": 0, "datapath": "socket", "received": 10, "replied": 9,
            "drops": {"malformed": 1},
            "journal": {"failing": true},
            "per_worker": [{"received": 4}, {"received": 6}],
            "failover": {"relationships": [{"name": "isp", "sent": 3, "skew_s": null}]}
        });
        let s = statistics(&stats);
        let v = |k: &str| s.get(k).unwrap_or_else(|| panic!("{k} in {s:?}"))[0][0].clone();
        assert_eq!(v("received"), 10);
        assert_eq!(v("pkt6-received"), 10);
        assert_eq!(v("pkt6-sent"), 9);
        assert_eq!(v("drops.malformed"), 1);
        assert_eq!(v("journal.failing"), 1);
        assert_eq!(v("per_worker[1].received"), 6);
        assert_eq!(v("failover.relationships[0].sent"), 3);
        assert!(!s.contains_key("datapath") && !s.contains_key("failover.relationships[0].name"));
        assert!(!s.contains_key("failover.relationships[0].skew_s"));
        assert_eq!(s["received"][0][1], "1970-01-01 00:00:00.000000");
    }
}
