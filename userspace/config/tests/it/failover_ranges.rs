//! One test per range rule of a `[[failover.relationship]]` key: each error names the line
//! (marked `# <-`) and the key, and the value just inside the range is accepted.

use std::net::IpAddr;

use tandem_config::Invalid;

use crate::failover::{invalid, one};
use crate::util::{fails, ok};

const REL0: &str = "failover.relationship[0]";

/// `keys` (one line, marked) fails on `key` with `part` in the message.
fn key_fails(keys: &str, key: &str, part: &str) -> Invalid {
    let e = fails(
        &one(&format!("{keys} # <-\n")),
        &format!("{REL0}.{key}"),
        part,
    );
    invalid(&e).clone()
}

#[test]
fn mclt_is_at_least_30_s() {
    assert_eq!(
        key_fails(
            "mclt = 29",
            "mclt",
            "mclt 29 s is below the minimum of 30 s"
        ),
        Invalid::Mclt(29)
    );
    key_fails("mclt = 0", "mclt", "mclt 0 s");
    ok(&one("mclt = 30\n"));
}

#[test]
fn keepalive_and_contact_interval() {
    assert_eq!(
        key_fails(
            "keepalive = 1",
            "keepalive",
            "keepalive 1 s is below the minimum of 2 s"
        ),
        Invalid::Keepalive(1)
    );
    assert_eq!(
        key_fails(
            "contact-interval = 60",
            "contact-interval",
            "contact-interval 60 s is not in 1..60"
        ),
        Invalid::ContactInterval {
            contact_s: 60,
            keepalive_s: 60
        }
    );
    // Checked against a written keepalive too, and 0 is out.
    let text = one("keepalive = 10\ncontact-interval = 11 # <-\n");
    fails(
        &text,
        &format!("{REL0}.contact-interval"),
        "shorter than keepalive 10 s",
    );
    key_fails(
        "contact-interval = 0",
        "contact-interval",
        "contact-interval 0 s",
    );
    ok(&one("keepalive = 10\ncontact-interval = 9\n"));
}

#[test]
fn max_unacked_bndupd_is_1_to_65535() {
    for bad in [0, 65_536] {
        assert_eq!(
            key_fails(
                &format!("max-unacked-bndupd = {bad}"),
                "max-unacked-bndupd",
                "not in 1..=65535"
            ),
            Invalid::MaxUnackedBndupd(bad)
        );
    }
    ok(&one("max-unacked-bndupd = 1\n"));
}

#[test]
fn skew_window_is_not_0() {
    key_fails(
        "skew-window = 0",
        "skew-window",
        "skew-window 0 is not in 1..=",
    );
}

#[test]
fn timers_are_above_0() {
    for key in [
        "startup-timer",
        "reconnect-initial",
        "auto-partner-down",
        "update-request-timeout",
    ] {
        assert_eq!(
            key_fails(
                &format!("{key} = 0"),
                key,
                &format!("{key} must be above 0")
            ),
            Invalid::ZeroTime(key)
        );
        ok(&one(&format!("{key} = 1\n")));
    }
}

#[test]
fn reconnect_cap_is_not_below_the_initial_delay() {
    let text = one("reconnect-initial = 2000\nreconnect-cap = 1999 # <-\n");
    let e = fails(
        &text,
        &format!("{REL0}.reconnect-cap"),
        "reconnect-cap 1999 ms is below reconnect-initial 2000 ms",
    );
    assert_eq!(
        invalid(&e),
        &Invalid::ReconnectCap {
            initial_ms: 2000,
            cap_ms: 1999
        }
    );
    // Against the default cap (64 s), the written initial delay is blamed.
    key_fails(
        "reconnect-initial = 64001",
        "reconnect-initial",
        "reconnect-cap 64000 ms",
    );
    ok(&one("reconnect-initial = 64000\n"));
}

#[test]
fn prefix_share_and_rebalance_threshold() {
    for (bad, shown) in [
        ("1.5", "1.5"),
        ("-0.1", "-0.1"),
        ("nan", "NaN"),
        ("inf", "inf"),
    ] {
        let got = key_fails(
            &format!("prefix-share = {bad}"),
            "prefix-share",
            &format!("prefix-share {shown} is not in 0..=1"),
        );
        assert_eq!(got, Invalid::PrefixShare(shown.into()));
    }
    ok(&one("prefix-share = 0\n"));
    ok(&one("prefix-share = 1.0\n"));
    for bad in ["0", "1", "0.0", "2"] {
        key_fails(
            &format!("prefix-rebalance-threshold = {bad}"),
            "prefix-rebalance-threshold",
            "is not strictly between 0 and 1",
        );
    }
    ok(&one("prefix-rebalance-threshold = 0.99\n"));
}

#[test]
fn partner_and_listen_addresses() {
    let replace_partner = |value: &str| {
        one("").replace(
            "partner = \"2001:db8::2\"",
            &format!("partner = {value} # <-"),
        )
    };
    for bad in [
        "\"dhcp-b.isp.example\"",
        "\"2001:db8::2:647:1:2:3:4\"",
        "\"[2001:db8::2]:x\"",
    ] {
        let e = fails(
            &replace_partner(bad),
            &format!("{REL0}.partner"),
            "is not an address",
        );
        assert!(matches!(invalid(&e), Invalid::SocketAddress(_)));
    }
    let e = fails(
        &replace_partner("\"[2001:db8::2]:0\""),
        &format!("{REL0}.partner"),
        "port 0",
    );
    assert_eq!(invalid(&e), &Invalid::PortZero);
    for bad in ["::", "ff05::1:3", "[::]:647"] {
        let e = fails(
            &replace_partner(&format!("\"{bad}\"")),
            &format!("{REL0}.partner"),
            "is not a unicast address",
        );
        assert!(matches!(invalid(&e), Invalid::NotUnicast(IpAddr::V6(_))));
    }
    // Listening on the unspecified address is the default; a multicast one is refused.
    key_fails(
        "listen = \"[ff02::1]:647\"",
        "listen",
        "ff02::1 is not a unicast address",
    );
    key_fails("listen = \"[::1]:0\"", "listen", "port 0");
    key_fails(
        "listen = \"nowhere\"",
        "listen",
        "`nowhere` is not an address",
    );
    let r = &ok(&one("listen = \"::1\"\n"))
        .failover
        .unwrap()
        .relationships[0];
    assert_eq!(r.listen, "[::1]:647".parse().unwrap());
    // IPv4 works too, with or without a port.
    let text = one("").replace("\"2001:db8::2\"", "\"192.0.2.2\"");
    let r = &ok(&text).failover.unwrap().relationships[0];
    assert_eq!(r.partner, "192.0.2.2:647".parse().unwrap());
}
