//! dhclient -6 -S: stateless configuration through Information-request [RFC 8415 §18.2.6].

use std::time::Duration;

use tandem_lab::capture::{msg, Capture};
use tandem_lab::{Dhclient, DhclientMode, Direct, Subject, CLIENT_IF, SERVER_IF};

use crate::common::{subject_kind, tandemd, TestDir};

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn information_request() {
    let kind = subject_kind();
    let dir = TestDir::new("information-request");
    let lab = Direct::new().unwrap();
    let params = lab.server_params();
    let _subject = Subject::start(kind, &lab.server, &params, dir.path(), Some(tandemd())).unwrap();
    let mut cap = Capture::start(&lab.server, SERVER_IF, dir.path(), "server").unwrap();
    let mut client =
        Dhclient::start(&lab.client, CLIENT_IF, DhclientMode::Stateless, dir.path()).unwrap();
    // dhclient 4.4 reports a stateless Reply with reason RENEW6 (INFORM6 in some builds): take
    // the first event that carries the DNS option.
    let ev = client
        .wait_event("stateless Reply", Duration::from_secs(30), |e| {
            e.env.contains_key("new_dhcp6_name_servers")
        })
        .unwrap();
    println!(
        "{}: dns {:?} search {:?}",
        ev.reason,
        ev.name_servers(),
        ev.domain_search()
    );
    assert_eq!(ev.name_servers(), params.dns_servers);
    assert_eq!(ev.domain_search(), params.domain_search);
    assert!(
        ev.ip6_address().is_none() && ev.ip6_prefix().is_none(),
        "stateless reply carried leases: {ev:?}"
    );
    client.stop().unwrap();

    let frames = cap.finish().unwrap();
    let req = frames
        .iter()
        .find(|f| f.inner_type() == msg::INFORMATION_REQUEST)
        .expect("no Information-request captured");
    let reply = frames
        .iter()
        .find(|f| f.number > req.number && f.inner_type() == msg::REPLY)
        .expect("no Reply captured");
    crate::dhclient_direct::assert_single_answers(&frames);
    let r = reply.inner().unwrap();
    assert!(
        r.leases.is_empty() && r.iaids.is_empty(),
        "Reply to Information-request has IAs: {r:?}"
    );
    assert_eq!(r.dns_servers, params.dns_servers);
    assert_eq!(r.domain_search, params.domain_search);
}
