//! Kea `option-data` lists → the options tandem sends. Kea names an option by `name` or
//! `code` (in `space` "dhcp6" unless told) and gives its value as comma-separated text
//! (`csv-format`, the default) or as hex. tandem sends OPTION_DNS_SERVERS (23) and
//! OPTION_DOMAIN_LIST (24) [RFC 3646], OPTION_PREFERENCE (7) [RFC 8415 §21.8],
//! OPTION_INFORMATION_REFRESH_TIME (32) [§21.23] and OPTION_SOL_MAX_RT (82) [§21.24].

use std::net::Ipv6Addr;

use serde_json::Value;

use crate::import::{array, is_domain_name, Walk};
use crate::model::Options;
use crate::ImportError;

/// The options tandem knows, by (code, Kea name).
const KNOWN: [(u64, &str); 5] = [
    (23, "dns-servers"),
    (24, "domain-search"),
    (7, "preference"),
    (82, "sol-max-rt"),
    (32, "information-refresh-time"),
];

/// SOL_MAX_RT bounds tandem accepts [RFC 8415 §21.24].
const SOL_MAX_RT_S: std::ops::RangeInclusive<u32> = 60..=86_400;
/// INFORMATION_REFRESH_TIME minimum [RFC 8415 §21.23].
const IRT_MIN_S: u32 = 600;

/// One `option-data` list at `path`.
pub(crate) fn option_data(w: &mut Walk, v: &Value, path: &str) -> Result<Options, ImportError> {
    let mut out = Options::default();
    for (i, entry) in array(v, path)?.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some(entry) = entry.as_object() else {
            w.skip(at, "not an object");
            continue;
        };
        let name = entry.get("name").and_then(Value::as_str);
        let code = entry.get("code").and_then(Value::as_u64);
        let label = name.map_or_else(|| format!("code {}", code.unwrap_or(0)), str::to_owned);
        let at = format!("{at} ({label})");
        let space = entry
            .get("space")
            .and_then(Value::as_str)
            .unwrap_or("dhcp6");
        let known = KNOWN
            .iter()
            .find(|(c, n)| space == "dhcp6" && (name == Some(*n) || code == Some(*c)));
        let Some((_, kind)) = known else {
            w.skip(
                at,
                format!("option {label} (space {space}) is not one tandem sends"),
            );
            continue;
        };
        if entry.get("csv-format").and_then(Value::as_bool) == Some(false) {
            w.skip(at, "hex option data (csv-format false) is not decoded");
            continue;
        }
        if entry.get("always-send").and_then(Value::as_bool) == Some(true) {
            w.skip(
                format!("{at}.always-send"),
                "tandem sends the option when the client's Option Request asks for it",
            );
        }
        let data = entry.get("data").and_then(Value::as_str).unwrap_or("");
        if let Err(why) = set(&mut out, kind, data) {
            w.skip(at, why);
        }
    }
    Ok(out)
}

/// Decodes `data` for option `kind` into `out`, or says why not.
fn set(out: &mut Options, kind: &str, data: &str) -> Result<(), String> {
    let items = || data.split(',').map(str::trim).filter(|s| !s.is_empty());
    match kind {
        "dns-servers" => {
            let addrs: Result<Vec<Ipv6Addr>, _> = items().map(str::parse).collect();
            out.dns_servers =
                addrs.map_err(|_| format!("{data:?} is not a list of IPv6 addresses"))?;
        }
        "domain-search" => {
            let names: Vec<String> = items().map(str::to_owned).collect();
            if let Some(bad) = names.iter().find(|n| !is_domain_name(n)) {
                return Err(format!("{bad:?} is not a domain name tandem can send"));
            }
            out.domain_search = names;
        }
        "preference" => {
            out.preference = Some(
                data.trim()
                    .parse()
                    .map_err(|_| format!("{data:?} is not 0..=255"))?,
            );
        }
        "sol-max-rt" => {
            let v: u32 = data
                .trim()
                .parse()
                .map_err(|_| format!("{data:?} is not seconds"))?;
            if !SOL_MAX_RT_S.contains(&v) {
                return Err(format!("{v} is outside 60..=86400 (RFC 8415 §21.24)"));
            }
            out.sol_max_rt = Some(v);
        }
        _ => {
            let v: u32 = data
                .trim()
                .parse()
                .map_err(|_| format!("{data:?} is not seconds"))?;
            if v < IRT_MIN_S {
                return Err(format!("{v} is under 600 (RFC 8415 §21.23)"));
            }
            out.information_refresh_time = Some(v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn known_options_by_name_or_code_and_the_rest_listed() {
        let mut w = Walk::default();
        let v = json!([
            { "name": "dns-servers", "data": "2001:db8::53, 2001:db8::5353" },
            { "code": 24, "data": "isp.example, example.net" },
            { "name": "preference", "data": "255", "always-send": true },
            { "name": "sol-max-rt", "data": "30" },
            { "name": "information-refresh-time", "data": "86400" },
            { "name": "sntp-servers", "data": "2001:db8::123" },
            { "name": "dns-servers", "space": "vendor-4491", "data": "2001:db8::1" },
            { "code": 7, "csv-format": false, "data": "ff" },
            { "name": "domain-search", "data": "bad_name.example" },
            "junk"
        ]);
        let o = option_data(&mut w, &v, "Dhcp6.option-data").unwrap();
        assert_eq!(o.dns_servers.len(), 2);
        assert_eq!(o.domain_search, ["isp.example", "example.net"]);
        assert_eq!(o.preference, Some(255));
        assert_eq!(o.sol_max_rt, None, "30 s is under the RFC minimum");
        assert_eq!(o.information_refresh_time, Some(86_400));
        let paths: Vec<&str> = w.not_carried.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Dhcp6.option-data[2] (preference).always-send",
                "Dhcp6.option-data[3] (sol-max-rt)",
                "Dhcp6.option-data[5] (sntp-servers)",
                "Dhcp6.option-data[6] (dns-servers)",
                "Dhcp6.option-data[7] (code 7)",
                "Dhcp6.option-data[8] (domain-search)",
                "Dhcp6.option-data[9]",
            ]
        );
        assert!(option_data(&mut w, &json!({}), "x").is_err());
    }
}
