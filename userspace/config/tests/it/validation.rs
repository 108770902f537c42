//! One test per validation rule: each error names the line (marked `# <-`) and the key.

use tandem_config::{DuidError, ErrorKind, Invalid, PrefixError};

use crate::util::{fails, ok, HEAD};

fn invalid(e: &tandem_config::ConfigError) -> &Invalid {
    match e.kind() {
        ErrorKind::Invalid(i) => i,
        other => panic!("not a validation error: {other:?}"),
    }
}

/// HEAD plus one subnet (id 1, 2001:db8:1::/64 on eth0) whose body is `body`.
fn subnet(body: &str) -> String {
    format!("{HEAD}[[subnet]]\nid = 1\nprefix = \"2001:db8:1::/64\"\ninterface = \"eth0\"\n{body}")
}

#[test]
fn at_least_one_interface() {
    let e = fails(
        "[server]\ninterfaces = [] # <-\n[storage]\npath = \"/x\"\n",
        "server.interfaces",
        "at least one",
    );
    assert_eq!(invalid(&e), &Invalid::NoInterfaces);
}

#[test]
fn interface_names_are_valid_and_unique() {
    let text = "[server]\ninterfaces = [\"eth0\",\n \"\"] # <-\n[storage]\npath = \"/x\"\n";
    let e = fails(text, "server.interfaces[1]", "not an interface name");
    assert_eq!(invalid(&e), &Invalid::InterfaceName(String::new()));
    let text = "[server]\ninterfaces = [\"eth0\",\n \"eth0\"] # <-\n[storage]\npath = \"/x\"\n";
    fails(text, "server.interfaces[1]", "listed twice");
}

#[test]
fn worker_count_is_capped_and_zero_means_per_core() {
    let text = "[server]\ninterfaces = [\"e\"]\nworkers = 5000 # <-\n[storage]\npath = \"/x\"\n";
    let e = fails(text, "server.workers", "5000 workers");
    assert_eq!(invalid(&e), &Invalid::TooManyWorkers(5000));
    let config = ok("[server]\ninterfaces = [\"e\"]\nworkers = 0\n[storage]\npath = \"/x\"\n");
    assert_eq!(config.server.workers, None);
}

#[test]
fn server_duid_is_hex_of_1_to_130_octets() {
    let head = "[server]\ninterfaces = [\"e\"]\n";
    let text = format!("{head}server-duid = \"00:01:zz\" # <-\n[storage]\npath = \"/x\"\n");
    let e = fails(&text, "server.server-duid", "hex octets");
    assert_eq!(invalid(&e), &Invalid::Duid(DuidError::Syntax));
    let long = "00".repeat(131);
    let text = format!("{head}server-duid = \"{long}\" # <-\n[storage]\npath = \"/x\"\n");
    fails(&text, "server.server-duid", "1..=130 octets, got 131");
    let config = ok(&format!(
        "{head}server-duid = \"00:01:02\"\n[storage]\npath = \"/x\"\n"
    ));
    assert_eq!(config.server.server_duid, Some(vec![0, 1, 2]));
}

#[test]
fn storage_path_is_not_empty() {
    let text = "[server]\ninterfaces = [\"e\"]\n[storage]\npath = \" \" # <-\n";
    let e = fails(text, "storage.path", "empty");
    assert_eq!(invalid(&e), &Invalid::EmptyStoragePath);
}

#[test]
fn preferred_not_above_valid() {
    let text = format!("{HEAD}[lifetimes]\npreferred = 100\nvalid = 99 # <-\n");
    let e = fails(
        &text,
        "lifetimes.valid",
        "preferred lifetime 100 s is longer than valid lifetime 99 s",
    );
    assert_eq!(
        invalid(&e),
        &Invalid::LifetimeOrder {
            preferred_s: 100,
            valid_s: 99
        }
    );
    // Against the built-in valid lifetime (7200): the key that was set is blamed.
    let text = format!("{HEAD}[lifetimes]\npreferred = 8000 # <-\n");
    fails(&text, "lifetimes.preferred", "8000");
}

#[test]
fn subnet_lifetimes_are_checked_after_merging() {
    let globals = "[lifetimes]\npreferred = 3000\nvalid = 4000\n";
    // The subnet's own key is blamed, whichever side of the comparison it is on.
    let text = format!("{}[subnet.lifetimes]\nvalid = 2000 # <-\n", subnet(""));
    let text = text.replacen("[[subnet]]", &format!("{globals}[[subnet]]"), 1);
    fails(
        &text,
        "subnet[0].lifetimes.valid",
        "3000 s is longer than valid lifetime 2000 s",
    );
    let text = format!("{}[subnet.lifetimes]\npreferred = 5000 # <-\n", subnet(""));
    let text = text.replacen("[[subnet]]", &format!("{globals}[[subnet]]"), 1);
    fails(
        &text,
        "subnet[0].lifetimes.preferred",
        "5000 s is longer than valid lifetime 4000 s",
    );
    // pd-lifetimes merge over the subnet's lifetimes.
    let text = format!(
        "{}[subnet.lifetimes]\nvalid = 9000\n[subnet.pd-lifetimes]\npreferred = 9001 # <-\n",
        subnet("")
    );
    fails(
        &text,
        "subnet[0].pd-lifetimes.preferred",
        "9001 s is longer than valid lifetime 9000 s",
    );
}

#[test]
fn t1_not_after_t2() {
    let text = format!("{HEAD}[lifetimes]\nt1 = 2000\nt2 = 1000 # <-\n");
    let e = fails(&text, "lifetimes.t2", "t1 2000 s is later than t2 1000 s");
    assert_eq!(
        invalid(&e),
        &Invalid::TimerOrder {
            t1_s: 2000,
            t2_s: 1000
        }
    );
    let text = format!(
        "{HEAD}[lifetimes]\nt2 = 1000\n{}[subnet.lifetimes]\nt1 = 1001 # <-\n",
        subnet("").replace(HEAD, "")
    );
    fails(&text, "subnet[0].lifetimes.t1", "t1 1001 s");
    // Only one of them given: nothing to compare.
    ok(&format!("{HEAD}[lifetimes]\nt1 = 5000\n"));
}

#[test]
fn sol_max_rt_and_information_refresh_time_bounds() {
    for bad in [59, 86_401] {
        let text = format!("{HEAD}[options]\nsol-max-rt = {bad} # <-\n");
        let e = fails(&text, "options.sol-max-rt", "60..=86400");
        assert_eq!(invalid(&e), &Invalid::SolMaxRt(bad));
    }
    ok(&format!(
        "{HEAD}[options]\nsol-max-rt = 60\ninformation-refresh-time = 600\n"
    ));
    let text = format!(
        "{}[subnet.options]\ninformation-refresh-time = 599 # <-\n",
        subnet("")
    );
    let e = fails(
        &text,
        "subnet[0].options.information-refresh-time",
        "below the minimum of 600",
    );
    assert_eq!(invalid(&e), &Invalid::InformationRefreshTime(599));
}

#[test]
fn domain_search_names_are_checked() {
    let text =
        format!("{HEAD}[options]\ndomain-search = [\"ok.example\",\n\"bad_name.example\"] # <-\n");
    let e = fails(&text, "options.domain-search[1]", "not a domain name");
    assert_eq!(invalid(&e), &Invalid::DomainName("bad_name.example".into()));
    let long = "a".repeat(64);
    let text = format!("{HEAD}[options]\ndomain-search = [\"{long}.example\"] # <-\n");
    fails(&text, "options.domain-search[0]", "not a domain name");
}

#[test]
fn subnet_ids_are_positive_and_unique() {
    let text = format!("{HEAD}[[subnet]]\nid = 0 # <-\nprefix = \"2001:db8:1::/64\"\n");
    let e = fails(&text, "subnet[0].id", "above 0");
    assert_eq!(invalid(&e), &Invalid::SubnetIdZero);
    let text = subnet("[[subnet]]\nid = 1 # <-\nprefix = \"2001:db8:2::/64\"\n");
    let e = fails(
        &text,
        "subnet[1].id",
        "subnet id 1 is already used at `subnet[0].id` on line 6",
    );
    assert!(matches!(
        invalid(&e),
        Invalid::DuplicateSubnetId { id: 1, .. }
    ));
}

#[test]
fn subnet_prefix_is_a_prefix() {
    let text = format!("{HEAD}[[subnet]]\nid = 1\nprefix = \"2001:db8:1::\" # <-\n");
    let e = fails(&text, "subnet[0].prefix", "not an IPv6 prefix");
    assert!(matches!(
        invalid(&e),
        Invalid::Prefix {
            why: PrefixError::Syntax,
            ..
        }
    ));
    let text = format!("{HEAD}[[subnet]]\nid = 1\nprefix = \"2001:db8:1::1/64\" # <-\n");
    fails(
        &text,
        "subnet[0].prefix",
        "bits are set after the prefix length",
    );
    let text = format!("{HEAD}[[subnet]]\nid = 1\nprefix = \"::/0\" # <-\n");
    fails(
        &text,
        "subnet[0].prefix",
        "prefix length 0 is not in 1..=128",
    );
}

#[test]
fn subnet_interface_is_a_server_interface_used_once() {
    let text = format!(
        "{HEAD}[[subnet]]\nid = 1\nprefix = \"2001:db8:1::/64\"\ninterface = \"eth9\" # <-\n"
    );
    let e = fails(
        &text,
        "subnet[0].interface",
        "`eth9` is not one of server.interfaces",
    );
    assert_eq!(invalid(&e), &Invalid::UnknownInterface("eth9".into()));
    let text =
        subnet("[[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\ninterface = \"eth0\" # <-\n");
    fails(
        &text,
        "subnet[1].interface",
        "already belongs to the subnet at `subnet[0].interface` on line 8",
    );
}

#[test]
fn subnet_prefixes_do_not_overlap() {
    let text = subnet("[[subnet]]\nid = 2\nprefix = \"2001:db8:1::/48\" # <-\n");
    let e = fails(
        &text,
        "subnet[1].prefix",
        "overlaps the subnet prefix at `subnet[0].prefix` on line 7",
    );
    assert!(matches!(invalid(&e), Invalid::SubnetOverlap { .. }));
}

#[test]
fn ranges_are_inside_the_prefix_and_ordered() {
    let e = fails(
        &subnet("pools = [\"2001:db8:1::10\"] # <-\n"),
        "subnet[0].pools[0]",
        "not an address range",
    );
    assert_eq!(invalid(&e), &Invalid::RangeSyntax("2001:db8:1::10".into()));
    let text = subnet(
        "pools = [\"2001:db8:1::10-2001:db8:1::20\",\n\"2001:db8:1::100-2001:db8:2::1\"] # <-\n",
    );
    let e = fails(
        &text,
        "subnet[0].pools[1]",
        "2001:db8:2::1 is outside the subnet prefix 2001:db8:1::/64",
    );
    assert!(matches!(invalid(&e), Invalid::OutsidePrefix { .. }));
    let text = subnet("pools = [\"2001:db8:1::20-2001:db8:1::10\"] # <-\n");
    let e = fails(
        &text,
        "subnet[0].pools[0]",
        "range starts at 2001:db8:1::20, after its last address",
    );
    assert!(matches!(invalid(&e), Invalid::RangeReversed { .. }));
    // A single-address range is fine.
    ok(&subnet("pools = [\"2001:db8:1::10-2001:db8:1::10\"]\n"));
}

#[test]
fn delegated_length_between_pool_length_and_128() {
    let pd = |len: u32| {
        subnet(&format!(
            "pd-pools = [{{ prefix = \"2001:db8:8000::/40\", delegated-length = {len} }}] # <-\n"
        ))
    };
    let e = fails(
        &pd(39),
        "subnet[0].pd-pools[0].delegated-length",
        "delegated-length 39 is not in 40..=128",
    );
    assert_eq!(
        invalid(&e),
        &Invalid::DelegatedLength {
            prefix_len: 40,
            delegated_len: 39
        }
    );
    fails(&pd(129), "subnet[0].pd-pools[0].delegated-length", "129");
    ok(&pd(40));
    ok(&pd(128));
    let text =
        subnet("pd-pools = [{ prefix = \"2001:db8:8000::/0\", delegated-length = 56 }] # <-\n");
    fails(&text, "subnet[0].pd-pools[0].prefix", "prefix length 0");
}

#[test]
fn pools_do_not_overlap_within_a_subnet() {
    let text = subnet(
        "pools = [\"2001:db8:1::10-2001:db8:1::20\",\n\"2001:db8:1::20-2001:db8:1::30\"] # <-\n",
    );
    let e = fails(
        &text,
        "subnet[0].pools[1]",
        "overlaps the pool at `subnet[0].pools[0]` on line 9",
    );
    assert!(matches!(invalid(&e), Invalid::PoolOverlap { .. }));
    // Adjacent is fine.
    ok(&subnet(
        "pools = [\"2001:db8:1::10-2001:db8:1::1f\", \"2001:db8:1::20-2001:db8:1::30\"]\n",
    ));
}

#[test]
fn pools_do_not_overlap_across_subnets() {
    let text = subnet(
        "pd-pools = [{ prefix = \"2001:db8:8000::/40\", delegated-length = 56 }]\n\
         [[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n\
         pd-pools = [{ prefix = \"2001:db8:80ff::/48\", delegated-length = 56 }] # <-\n",
    );
    fails(
        &text,
        "subnet[1].pd-pools[0].prefix",
        "overlaps the pool at `subnet[0].pd-pools[0].prefix` on line 9",
    );
    // An address range inside another subnet's prefix pool is an overlap too.
    let text = subnet(
        "pools = [\"2001:db8:1::10-2001:db8:1::20\"]\n\
         [[subnet]]\nid = 2\nprefix = \"2001:db8:2::/64\"\n\
         pd-pools = [{ prefix = \"2001:db8::/32\", delegated-length = 56 }] # <-\n",
    );
    fails(
        &text,
        "subnet[1].pd-pools[0].prefix",
        "`subnet[0].pools[0]` on line 9",
    );
}

#[test]
fn reservation_duids_are_valid_and_unique_in_a_subnet() {
    let text = subnet("[[subnet.reservation]]\nduid = \"\" # <-\n");
    let e = fails(
        &text,
        "subnet[0].reservation[0].duid",
        "1..=130 octets, got 0",
    );
    assert_eq!(invalid(&e), &Invalid::Duid(DuidError::Length(0)));
    let text = subnet(
        "[[subnet.reservation]]\nduid = \"0001\"\n[[subnet.reservation]]\nduid = \"00:01\" # <-\n",
    );
    let e = fails(
        &text,
        "subnet[0].reservation[1].duid",
        "already has a reservation in this subnet, at `subnet[0].reservation[0].duid` on line 10",
    );
    assert!(matches!(invalid(&e), Invalid::DuplicateReservation { .. }));
}

#[test]
fn reserved_addresses_are_inside_the_prefix_but_may_be_out_of_pool() {
    let text = subnet(
        "pools = [\"2001:db8:1::10-2001:db8:1::20\"]\n[[subnet.reservation]]\nduid = \"0001\"\n\
         addresses = [\"2001:db8:9::5\"] # <-\n",
    );
    fails(
        &text,
        "subnet[0].reservation[0].addresses[0]",
        "2001:db8:9::5 is outside the subnet prefix",
    );
    let config = ok(&subnet(
        "pools = [\"2001:db8:1::10-2001:db8:1::20\"]\n[[subnet.reservation]]\nduid = \"0001\"\n\
         addresses = [\"2001:db8:1::5\"]\n",
    ));
    let policy = config.policy(vec![1]);
    assert_eq!(
        policy.subnets[0].reservations[0].addresses,
        ["2001:db8:1::5".parse::<std::net::Ipv6Addr>().unwrap()]
    );
}

#[test]
fn reserved_prefix_lengths_are_1_to_128() {
    let r = |p: &str| {
        subnet(&format!(
            "[[subnet.reservation]]\nduid = \"0001\"\nprefixes = [\"{p}\"] # <-\n"
        ))
    };
    fails(
        &r("::/0"),
        "subnet[0].reservation[0].prefixes[0]",
        "prefix length 0 is not in 1..=128",
    );
    fails(
        &r("2001:db8:9900::/129"),
        "subnet[0].reservation[0].prefixes[0]",
        "prefix length 129",
    );
    fails(
        &r("2001:db8:9900::1/56"),
        "subnet[0].reservation[0].prefixes[0]",
        "bits are set",
    );
    let config = ok(&r("2001:db8:9900::/56").replace(" # <-", ""));
    assert_eq!(
        config.policy(vec![1]).subnets[0].reservations[0].prefixes,
        [("2001:db8:9900::".parse().unwrap(), 56)]
    );
}

#[test]
fn reservations_do_not_overlap() {
    let text = subnet(
        "[[subnet.reservation]]\nduid = \"0001\"\nprefixes = [\"2001:db8:9900::/56\"]\n\
         [[subnet.reservation]]\nduid = \"0002\"\nprefixes = [\"2001:db8:9900:ff::/64\"] # <-\n",
    );
    let e = fails(
        &text,
        "subnet[0].reservation[1].prefixes[0]",
        "overlaps the reservation at `subnet[0].reservation[0].prefixes[0]` on line 11",
    );
    assert!(matches!(invalid(&e), Invalid::ReservationOverlap { .. }));
}

#[test]
fn reservation_hostname_is_a_domain_name() {
    let text = subnet("[[subnet.reservation]]\nduid = \"0001\"\nhostname = \"not a name\" # <-\n");
    fails(
        &text,
        "subnet[0].reservation[0].hostname",
        "`not a name` is not a domain name",
    );
}
