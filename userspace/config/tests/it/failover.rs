//! `[failover]` (RFC 8156; R7–R10): defaults, the example pair, relationships against each
//! other and against the subnets. Value ranges of single keys are in `failover_ranges.rs`, the
//! tls table in `failover_tls.rs`.

use std::net::SocketAddr;

use tandem_config::{load, ErrorKind, Fraction, Invalid, Relationship, Role, Tls};
use tandem_engine::policy::SubnetId;

use crate::examples::config_dir;
use crate::util::{fails, ok, HEAD};

/// Subnet 1 (direct, lines 5..=8) and subnet 2 (relayed, lines 9..=11).
pub(crate) const SUBNETS: &str = "[[subnet]]\nid = 1\nprefix = \"2001:db8:1::/64\"\n\
                                  interface = \"eth0\"\n\
                                  [[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n";

/// A relationship header and its required keys (4 lines).
pub(crate) const REL: &str =
    "[[failover.relationship]]\nname = \"pair\"\nrole = \"primary\"\npartner = \"2001:db8::2\"\n";

pub(crate) const NO_TLS: &str = "[failover.relationship.tls]\nmode = \"none\"\n";

/// HEAD, both subnets, then `[failover]` (line 12) followed by `body`.
pub(crate) fn with_failover(body: &str) -> String {
    format!("{HEAD}{SUBNETS}[failover]\n{body}")
}

/// One relationship (header on line 13, required keys on 14..=16) with `keys` from line 17,
/// and TLS off.
pub(crate) fn one(keys: &str) -> String {
    with_failover(&format!("{REL}{keys}{NO_TLS}"))
}

pub(crate) fn invalid(e: &tandem_config::ConfigError) -> &Invalid {
    match e.kind() {
        ErrorKind::Invalid(i) => i,
        other => panic!("not a validation error: {other:?}"),
    }
}

fn only(text: &str) -> Relationship {
    let failover = ok(text).failover.expect("a failover section");
    let [relationship] = <[Relationship; 1]>::try_from(failover.relationships).unwrap();
    relationship
}

fn sock(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn no_failover_table_means_standalone() {
    assert_eq!(ok(&format!("{HEAD}{SUBNETS}")).failover, None);
    let standalone = load(&config_dir().join("standalone.toml")).unwrap();
    assert_eq!(standalone.failover, None);
    assert!(standalone.check_files().is_empty());
}

#[test]
fn defaults() {
    let r = only(&one(""));
    assert_eq!(r.name, "pair");
    assert_eq!(r.role, Role::Primary);
    assert_eq!(r.partner, sock("[2001:db8::2]:647"));
    assert_eq!(r.listen, sock("[::]:647"));
    // No list and a single relationship: every subnet, in file order.
    assert_eq!(r.subnets, [SubnetId(1), SubnetId(2)]);
    assert_eq!(r.mclt_s, 3600);
    assert_eq!((r.keepalive_s, r.contact_interval_s), (60, 15));
    assert_eq!(r.max_unacked_bndupd, 128);
    assert_eq!(r.skew_window, tandem_failover::SKEW_WINDOW_DEFAULT);
    assert_eq!(r.startup_timer_s, 10);
    assert_eq!((r.reconnect_initial_ms, r.reconnect_cap_ms), (1000, 64_000));
    assert_eq!(r.auto_partner_down_s, None);
    assert!(r.stimulus);
    assert_eq!(r.update_request_timeout_s, 60);
    assert_eq!(r.prefix_share, Fraction::new(0.5).unwrap());
    assert_eq!(r.prefix_rebalance_threshold, Fraction::new(0.05).unwrap());
    assert_eq!(r.tls, Tls::None);
}

#[test]
fn every_key_written() {
    let keys = "listen = \"[2001:db8::1]:6470\"\nsubnets = [2]\nmclt = 30\nkeepalive = 20\n\
                contact-interval = 19\nmax-unacked-bndupd = 65535\nskew-window = 1\n\
                startup-timer = 1\nreconnect-initial = 5\nreconnect-cap = 5\n\
                auto-partner-down = 600\nstimulus = false\nupdate-request-timeout = 9\n\
                prefix-share = 1\nprefix-rebalance-threshold = 0.5\n";
    let r = only(&one(keys));
    assert_eq!(r.listen, sock("[2001:db8::1]:6470"));
    assert_eq!(r.subnets, [SubnetId(2)]);
    assert_eq!(
        (r.mclt_s, r.keepalive_s, r.contact_interval_s),
        (30, 20, 19)
    );
    assert_eq!((r.max_unacked_bndupd, r.skew_window), (65_535, 1));
    assert_eq!(r.startup_timer_s, 1);
    assert_eq!((r.reconnect_initial_ms, r.reconnect_cap_ms), (5, 5));
    assert_eq!(r.auto_partner_down_s, Some(600));
    assert!(!r.stimulus);
    assert_eq!(r.update_request_timeout_s, 9);
    // An integer is accepted for a fraction.
    assert_eq!(r.prefix_share.get(), 1.0);
    assert_eq!(r.prefix_rebalance_threshold.get(), 0.5);
}

#[test]
fn contact_interval_defaults_to_a_quarter_of_the_keepalive() {
    assert_eq!(only(&one("keepalive = 100\n")).contact_interval_s, 25);
    // Never 0: with keepalive 2 or 3 the quarter rounds down to 0, so 1 s is used.
    assert_eq!(only(&one("keepalive = 3\n")).contact_interval_s, 1);
    assert_eq!(only(&one("keepalive = 2\n")).contact_interval_s, 1);
}

#[test]
fn skew_window_bounds_are_the_failover_crates() {
    let max = tandem_failover::SKEW_WINDOW_MAX;
    assert_eq!(
        only(&one(&format!("skew-window = {max}\n"))).skew_window,
        max
    );
    let text = one(&format!("skew-window = {} # <-\n", max + 1));
    let e = fails(
        &text,
        "failover.relationship[0].skew-window",
        "is not in 1..=",
    );
    assert_eq!(invalid(&e), &Invalid::SkewWindow { got: max + 1, max });
}

#[test]
fn example_pair_loads_and_agrees() {
    let dir = config_dir().join("failover");
    let primary = load(&dir.join("primary.toml")).unwrap_or_else(|e| panic!("{e}"));
    let secondary = load(&dir.join("secondary.toml")).unwrap_or_else(|e| panic!("{e}"));
    let [p] = &primary.failover.as_ref().unwrap().relationships[..] else {
        panic!("one relationship: {primary:?}")
    };
    let [s] = &secondary.failover.as_ref().unwrap().relationships[..] else {
        panic!("one relationship: {secondary:?}")
    };
    assert_eq!(p.name, s.name);
    assert_eq!((p.role, s.role), (Role::Primary, Role::Secondary));
    // Each dials or accepts the other: the partner's address is the other's listen address.
    assert_eq!(p.partner, s.listen);
    assert_eq!(s.partner, p.listen);
    assert_eq!(p.mclt_s, s.mclt_s);
    assert_eq!(p.subnets, s.subnets);
    assert_eq!(p.subnets, [SubnetId(1), SubnetId(2)]);
    // Same pools and options on both sides: either server can serve every client.
    assert_eq!(primary.policy(vec![1]), secondary.policy(vec![1]));
    for (r, own, partner) in [(p, "primary", "secondary"), (s, "secondary", "primary")] {
        let Tls::Mutual {
            cert,
            key,
            ca,
            partner_name,
        } = &r.tls
        else {
            panic!("mutual TLS: {r:?}")
        };
        assert_eq!(cert, &dir.join(format!("tls/{own}.crt")));
        assert_eq!(key, &dir.join(format!("tls/{own}.key")));
        assert_eq!(ca, &dir.join("tls/ca.crt"));
        let expected = if partner == "primary" {
            "dhcp-a"
        } else {
            "dhcp-b"
        };
        assert_eq!(
            partner_name.as_deref(),
            Some(&*format!("{expected}.isp.example"))
        );
    }
}

#[test]
fn several_relationships_share_a_listener() {
    // m-to-1 (R9): one server, primary for one pair and secondary for another.
    let body = format!(
        "{REL}subnets = [1]\n{NO_TLS}\
         [[failover.relationship]]\nname = \"other\"\nrole = \"secondary\"\n\
         partner = \"[2001:db8::3]:6470\"\nsubnets = [2]\n{NO_TLS}"
    );
    let failover = ok(&with_failover(&body)).failover.unwrap();
    let [a, b] = &failover.relationships[..] else {
        panic!("{failover:?}")
    };
    assert_eq!(
        (a.name.as_str(), a.role, &a.subnets[..]),
        ("pair", Role::Primary, &[SubnetId(1)][..])
    );
    assert_eq!(
        (b.name.as_str(), b.role, &b.subnets[..]),
        ("other", Role::Secondary, &[SubnetId(2)][..])
    );
    assert_eq!(b.partner, sock("[2001:db8::3]:6470"));
    assert_eq!(a.listen, b.listen);
    // Same partner, other name: a second relationship with the same server (R7).
    let body = body.replace("[2001:db8::3]:6470", "2001:db8::2");
    assert_eq!(
        ok(&with_failover(&body))
            .failover
            .unwrap()
            .relationships
            .len(),
        2
    );
}

#[test]
fn at_least_one_relationship() {
    let text = format!("{HEAD}{SUBNETS}[failover] # <-\n");
    let e = fails(&text, "failover", "at least one [[failover.relationship]]");
    assert_eq!(invalid(&e), &Invalid::NoRelationships);
}

#[test]
fn names_are_1_to_255_octets_and_unique() {
    let text = one("").replace("name = \"pair\"", "name = \"\" # <-");
    let e = fails(
        &text,
        "failover.relationship[0].name",
        "1..=255 octets, got 0",
    );
    assert_eq!(invalid(&e), &Invalid::RelationshipNameLength(0));
    let long = "é".repeat(128);
    let text = one("").replace("name = \"pair\"", &format!("name = \"{long}\" # <-"));
    fails(&text, "failover.relationship[0].name", "got 256");
    let name = "n".repeat(255);
    assert_eq!(only(&one("").replace("pair", &name)).name, name);

    let second = "[[failover.relationship]]\nname = \"pair\" # <-\nrole = \"secondary\"\n\
                  partner = \"2001:db8::3\"\nsubnets = [2]\n";
    let text = with_failover(&format!("{REL}subnets = [1]\n{NO_TLS}{second}{NO_TLS}"));
    let e = fails(
        &text,
        "failover.relationship[1].name",
        "this relationship name is already used at `failover.relationship[0].name` on line 14",
    );
    assert!(matches!(
        invalid(&e),
        Invalid::DuplicateRelationshipName { .. }
    ));
}

#[test]
fn partner_name_and_role_select_one_relationship() {
    // R7: the same (partner address, name, role) twice; the port does not tell them apart.
    let second = "[[failover.relationship]]\nname = \"pair\" # <-\nrole = \"primary\"\n\
                  partner = \"[2001:db8::2]:6470\"\nsubnets = [2]\n";
    let text = with_failover(&format!("{REL}subnets = [1]\n{NO_TLS}{second}{NO_TLS}"));
    let e = fails(
        &text,
        "failover.relationship[1].name",
        "same name, partner address and role as the relationship at \
         `failover.relationship[0].name` on line 14: partner, name and role must select one",
    );
    assert!(matches!(invalid(&e), Invalid::DuplicateRelationship { .. }));
}

#[test]
fn subnets_are_required_with_several_relationships() {
    let second = "[[failover.relationship]] # <-\nname = \"b\"\nrole = \"secondary\"\n\
                  partner = \"2001:db8::3\"\n";
    let text = with_failover(&format!("{REL}subnets = [1]\n{NO_TLS}{second}{NO_TLS}"));
    let e = fails(
        &text,
        "failover.relationship[1].subnets",
        "`subnets` is required when there is more than one relationship",
    );
    assert_eq!(invalid(&e), &Invalid::SubnetsRequired);
}

#[test]
fn subnets_exist_and_belong_to_one_relationship() {
    let e = fails(
        &one("subnets = [] # <-\n"),
        "failover.relationship[0].subnets",
        "at least one subnet",
    );
    assert_eq!(invalid(&e), &Invalid::NoSubnets);
    let e = fails(
        &one("subnets = [1,\n 7] # <-\n"),
        "failover.relationship[0].subnets[1]",
        "no subnet has id 7",
    );
    assert_eq!(invalid(&e), &Invalid::UnknownSubnet(7));
    // Listed twice in one relationship.
    fails(
        &one("subnets = [1,\n 1] # <-\n"),
        "failover.relationship[0].subnets[1]",
        "subnet 1 is already covered at `failover.relationship[0].subnets[0]` on line 17",
    );
    // In two relationships (R8).
    let second = "[[failover.relationship]]\nname = \"b\"\nrole = \"secondary\"\n\
                  partner = \"2001:db8::3\"\nsubnets = [2,\n 1] # <-\n";
    let text = with_failover(&format!("{REL}subnets = [1]\n{NO_TLS}{second}{NO_TLS}"));
    let e = fails(
        &text,
        "failover.relationship[1].subnets[1]",
        "subnet 1 is already covered at `failover.relationship[0].subnets[0]` on line 17: a \
         subnet belongs to at most one relationship",
    );
    assert!(matches!(invalid(&e), Invalid::SubnetTaken { id: 1, .. }));
}

#[test]
fn lifetimes_under_30_s_in_covered_subnets_are_refused() {
    // Inherited from the globals: the global key is named.
    let text = one("").replacen(
        "[[subnet]]",
        "[lifetimes]\npreferred = 10\nvalid = 29 # <-\n[[subnet]]",
        1,
    );
    let e = fails(
        &text,
        "lifetimes.valid",
        "valid lifetime 29 s of subnet 1 is below the 30 s minimum for subnets in failover \
         relationship `pair`",
    );
    assert_eq!(
        invalid(&e),
        &Invalid::FailoverLifetime {
            which: "valid lifetime",
            value_s: 29,
            subnet: 1,
            relationship: "pair".into()
        }
    );
    // The subnet's own preferred lifetime.
    let text = one("").replacen(
        "[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n",
        "[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n[subnet.lifetimes]\npreferred = 0 # <-\n",
        1,
    );
    fails(
        &text,
        "subnet[1].lifetimes.preferred",
        "preferred lifetime 0 s of subnet 2",
    );
    // Prefix lifetimes.
    let text = one("").replacen(
        "[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n",
        "[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n[subnet.pd-lifetimes]\n\
         preferred = 20\nvalid = 25 # <-\n",
        1,
    );
    fails(
        &text,
        "subnet[1].pd-lifetimes.valid",
        "prefix valid lifetime 25 s of subnet 2",
    );
    let text = text
        .replace("valid = 25 # <-", "valid = 30")
        .replace("preferred = 20", "preferred = 20 # <-");
    fails(
        &text,
        "subnet[1].pd-lifetimes.preferred",
        "prefix preferred lifetime 20 s",
    );
    // 30 s is enough, and a subnet outside every relationship may be shorter.
    ok(&one("").replacen(
        "[[subnet]]",
        "[lifetimes]\npreferred = 30\nvalid = 30\n[[subnet]]",
        1,
    ));
    let text = one("subnets = [1]\n").replacen(
        "[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n",
        "[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n[subnet.lifetimes]\npreferred = 5\nvalid = 10\n",
        1,
    );
    ok(&text);
}

#[test]
fn unknown_keys_and_values_inside_failover_are_rejected() {
    let cases = [
        (with_failover("oops = 1 # <-\n"), "failover.oops"),
        (one("oops = 1 # <-\n"), "failover.relationship[0].oops"),
        (
            format!("{}oops = 1 # <-\n", one("")),
            "failover.relationship[0].tls.oops",
        ),
    ];
    for (text, key) in cases {
        let e = fails(&text, key, "unknown field `oops`");
        assert!(matches!(e.kind(), ErrorKind::Parse(_)), "{e}");
    }
    let text = one("").replace("role = \"primary\"", "role = \"tertiary\" # <-");
    let e = fails(
        &text,
        "failover.relationship[0].role",
        "unknown variant `tertiary`",
    );
    assert!(matches!(e.kind(), ErrorKind::Parse(_)));
    let text = one("").replace("mode = \"none\"", "mode = \"tls\" # <-");
    fails(
        &text,
        "failover.relationship[0].tls.mode",
        "unknown variant `tls`",
    );
    let text = one("").replace("partner = \"2001:db8::2\"\n", "");
    let text = text.replace(
        "[[failover.relationship]]",
        "[[failover.relationship]] # <-",
    );
    fails(
        &text,
        "failover.relationship[0].partner",
        "missing field `partner`",
    );
    fails(
        &one("stimulus = \"yes\" # <-\n"),
        "failover.relationship[0].stimulus",
        "invalid type",
    );
}
