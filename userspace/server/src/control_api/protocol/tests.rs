//! Tests of [`super`]: parsing of good, bad and garbled requests, and the answer shape.

use super::*;

fn ok(s: &str) -> Command {
    parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

fn err(s: &str) -> Response {
    parse(s.as_bytes()).expect_err(s)
}

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn commands_without_arguments() {
    assert_eq!(ok(r#"{"command":"list-commands"}"#), Command::ListCommands);
    assert_eq!(ok(r#"{"command":"config-reload"}"#), Command::ConfigReload);
    assert_eq!(
        ok(r#"{"command":"version-get","arguments":{}}"#),
        Command::VersionGet
    );
    assert_eq!(
        ok(r#"{"command":"status-get","arguments":null,"service":["dhcp6"]}"#),
        Command::StatusGet
    );
    assert_eq!(
        ok(r#"{"command":"statistic-get-all"}"#),
        Command::StatisticGetAll
    );
    assert_eq!(
        ok(r#"{"command":"failover-status"}"#),
        Command::FailoverStatus
    );
    assert_eq!(
        ok(r#"{"command":"failover-partner-down"}"#),
        Command::FailoverPartnerDown(None)
    );
    assert_eq!(
        ok(r#"{"command":"failover-partner-down","arguments":{"relationship":"isp"}}"#),
        Command::FailoverPartnerDown(Some("isp".into()))
    );
    assert_eq!(
        ok(r#"{"command":"config-test","arguments":{"config-file":"/etc/t.toml"}}"#),
        Command::ConfigTest("/etc/t.toml".into())
    );
}

#[test]
fn lease_lookups() {
    let na = |addr| Lookup {
        kind: LeaseKind::Na,
        addr: a(addr),
        prefix_len: None,
    };
    assert_eq!(
        ok(r#"{"command":"lease6-get","arguments":{"ip-address":"2001:db8::5"}}"#),
        Command::Lease6Get(na("2001:db8::5"))
    );
    assert_eq!(
        ok(r#"{"command":"lease6-del","arguments":{"ip-address":"2001:db8::5","type":"IA_NA"}}"#),
        Command::Lease6Del(na("2001:db8::5"))
    );
    let pd = |len| {
        Command::Lease6Get(Lookup {
            kind: LeaseKind::Pd,
            addr: a("2001:db8:8000::"),
            prefix_len: len,
        })
    };
    for (req, want) in [
        (
            r#"{"ip-address":"2001:db8:8000::","type":"IA_PD"}"#,
            pd(None),
        ),
        (
            r#"{"ip-address":"2001:db8:8000::","type":"IA_PD","prefix-len":56}"#,
            pd(Some(56)),
        ),
        (
            r#"{"prefix":"2001:db8:8000::","prefix-len":56}"#,
            pd(Some(56)),
        ),
        (r#"{"prefix":"2001:db8:8000::/56"}"#, pd(Some(56))),
        (
            r#"{"prefix":"2001:db8:8000::/56","prefix-len":56}"#,
            pd(Some(56)),
        ),
        (r#"{"prefix":"2001:db8:8000::"}"#, pd(None)),
    ] {
        let r = format!(r#"{{"command":"lease6-get","arguments":{req}}}"#);
        assert_eq!(ok(&r), want, "{r}");
    }
}

#[test]
fn duid_and_page_arguments() {
    assert_eq!(
        ok(r#"{"command":"lease6-get-by-duid","arguments":{"duid":"00:01:ab"}}"#),
        Command::Lease6GetByDuid(vec![0, 1, 0xab])
    );
    assert_eq!(
        ok(r#"{"command":"lease6-get-page","arguments":{"from":"start","limit":100}}"#),
        Command::Lease6GetPage {
            after: None,
            limit: 100
        }
    );
    assert_eq!(
        ok(r#"{"command":"lease6-get-page","arguments":{"from":"2001:db8::9","limit":1}}"#),
        Command::Lease6GetPage {
            after: Some(a("2001:db8::9")),
            limit: 1
        }
    );
}

/// Every malformed request gets result 1 (2 for unknown commands) and a text naming the
/// fault.
#[test]
fn bad_requests_name_what_was_wrong() {
    for (req, code, says) in [
        ("", 1, "invalid JSON"),
        ("{", 1, "invalid JSON"),
        ("[1,2]", 1, "must be a JSON object"),
        (r#"{"arguments":{}}"#, 1, "no `command`"),
        (r#"{"command":7}"#, 1, "`command` must be a string"),
        (
            r#"{"command":"status-get","arguments":[]}"#,
            1,
            "`arguments` must be",
        ),
        (
            r#"{"command":"status-get","extra":1}"#,
            1,
            "unknown key `extra`",
        ),
        (
            r#"{"command":"no-such"}"#,
            2,
            "'no-such' command not supported.",
        ),
        (
            r#"{"command":"config-reload","arguments":{"config-file":"x"}}"#,
            1,
            "unknown argument `config-file`",
        ),
        (
            r#"{"command":"status-get","arguments":{"x":1}}"#,
            1,
            "unknown argument `x`",
        ),
        (
            r#"{"command":"lease6-get"}"#,
            1,
            "missing argument `ip-address`",
        ),
        (
            r#"{"command":"lease6-get","arguments":{"ip-address":"10.0.0.1"}}"#,
            1,
            "`10.0.0.1` is not an IPv6 address",
        ),
        (
            r#"{"command":"lease6-get","arguments":{"ip-address":5}}"#,
            1,
            "argument `ip-address`: must be a string",
        ),
        (
            r#"{"command":"lease6-get","arguments":{"ip-address":"::1","type":"IA_TA"}}"#,
            1,
            "`IA_TA`",
        ),
        (
            r#"{"command":"lease6-get","arguments":{"ip-address":"::1","prefix":"::/8"}}"#,
            1,
            "not both",
        ),
        (
            r#"{"command":"lease6-get","arguments":{"prefix":"::/200"}}"#,
            1,
            "bad length",
        ),
        (
            r#"{"command":"lease6-get","arguments":{"prefix":"::","prefix-len":0}}"#,
            1,
            "0 is not in 1..=128",
        ),
        (
            r#"{"command":"lease6-get","arguments":{"ip-address":"::1","prefix-len":64}}"#,
            1,
            "length 128",
        ),
        (
            r#"{"command":"lease6-get-by-duid","arguments":{"duid":"xyz"}}"#,
            1,
            "argument `duid`",
        ),
        (
            r#"{"command":"lease6-get-by-duid","arguments":{}}"#,
            1,
            "missing argument `duid`",
        ),
        (
            r#"{"command":"lease6-get-page","arguments":{"from":"start","limit":0}}"#,
            1,
            "0 is not in 1..=10000",
        ),
        (
            r#"{"command":"lease6-get-page","arguments":{"from":"start","limit":-5}}"#,
            1,
            "not a non-negative integer",
        ),
        (
            r#"{"command":"lease6-get-page","arguments":{"from":"end","limit":5}}"#,
            1,
            "argument `from`",
        ),
        (
            r#"{"command":"lease6-get-page","arguments":{"from":"start"}}"#,
            1,
            "missing argument `limit`",
        ),
        (
            r#"{"command":"config-test","arguments":{}}"#,
            1,
            "missing argument `config-file`",
        ),
        (
            r#"{"command":"failover-partner-down","arguments":{"relationship":1}}"#,
            1,
            "must be a string",
        ),
    ] {
        let r = err(req);
        assert_eq!(r.result, code, "{req}: {r:?}");
        assert!(r.text.contains(says), "{req}: {:?} lacks {says:?}", r.text);
    }
}

#[test]
fn no_input_panics() {
    // Truncations and byte flips of a valid request.
    let good = br#"{"command":"lease6-get-page","arguments":{"from":"2001:db8::1","limit":10}}"#;
    for n in 0..good.len() {
        let _ = parse(&good[..n]);
        for b in [0u8, b'"', b'{', b'}', b'9', 0xff] {
            let mut v = good.to_vec();
            v[n] = b;
            let _ = parse(&v);
        }
    }
}

#[test]
fn responses_are_one_line_in_kea_shape() {
    let r = Response::new(Code::Empty, "Lease not found.", None);
    assert_eq!(
        r.to_line(),
        b"{\"result\":3,\"text\":\"Lease not found.\"}\n"
    );
    let r = Response::new(Code::Success, "ok", Some(serde_json::json!({"a": [1]})));
    let v: Value = serde_json::from_slice(&r.to_line()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"result": 0, "text": "ok", "arguments": {"a": [1]}})
    );
}

/// Kea Control Agent's `service` over HTTP: dhcp6 (or none, or the agent's empty list) is
/// tandemd; another server is refused by name, and a malformed list is named too. On the Unix
/// socket `service` is ignored, whatever it holds.
#[test]
fn service_dhcp6_is_served_and_others_refused() {
    for s in [
        r#"{"command":"version-get","service":["dhcp6"]}"#,
        r#"{"command":"version-get","service":[]}"#,
        r#"{"command":"version-get","service":null}"#,
        r#"{"command":"version-get","service":["dhcp6","dhcp6"]}"#,
    ] {
        assert_eq!(ok(s), Command::VersionGet, "{s}");
        assert_eq!(parse_http(s.as_bytes()), Ok(Command::VersionGet), "{s}");
    }
    for (s, want) in [
        (
            r#"{"command":"version-get","service":["dhcp4"]}"#,
            "service `dhcp4`",
        ),
        (
            r#"{"command":"version-get","service":["dhcp6","d2"]}"#,
            "service `d2`",
        ),
        (
            r#"{"command":"version-get","service":"dhcp6"}"#,
            "must be a list",
        ),
        (
            r#"{"command":"version-get","service":[6]}"#,
            "must be a list",
        ),
    ] {
        let r = parse_http(s.as_bytes()).expect_err(s);
        assert_eq!(r.result, 1, "{s}");
        assert!(r.text.contains(want), "{s}: {}", r.text);
        assert_eq!(ok(s), Command::VersionGet, "the socket ignores it: {s}");
    }
    // Other keys are still refused on both.
    let extra = r#"{"command":"version-get","service":["dhcp4"],"x":1}"#;
    assert!(err(extra).text.contains("unknown key `x`"));
    assert!(parse_http(extra.as_bytes()).is_err());
}
