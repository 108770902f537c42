//! The dhclient scenario through dhcrelay in a middle namespace: Relay-forward in, Relay-reply
//! out, Interface-ID echoed [RFC 8415 §19.1, §21.18].

use tandem_lab::capture::{msg, Capture};
use tandem_lab::{Relay, Relayed, Subject, RELAY_DOWN_IF, RELAY_UP_IF, SERVER_IF};

use crate::common::{subject_kind, tandemd, TestDir};
use crate::dhclient_direct::{bind_renew_release, short_params, types};

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn dhclient_relayed() {
    let kind = subject_kind();
    let dir = TestDir::new("dhclient-relayed");
    let lab = Relayed::new().unwrap();
    let params = short_params(lab.server_params());
    let subject = Subject::start(kind, &lab.server, &params, dir.path(), Some(tandemd())).unwrap();
    let _relay = Relay::start(
        &lab.relay,
        RELAY_DOWN_IF,
        lab.server_addr,
        RELAY_UP_IF,
        dir.path(),
    )
    .unwrap();
    let mut cap = Capture::start(&lab.server, SERVER_IF, dir.path(), "server").unwrap();
    let frames = bind_renew_release(&lab.client, &subject, &params, &mut cap, dir.path());

    let forw: Vec<_> = frames
        .iter()
        .filter(|f| f.outer_type() == msg::RELAY_FORW)
        .collect();
    let repl: Vec<_> = frames
        .iter()
        .filter(|f| f.outer_type() == msg::RELAY_REPL)
        .collect();
    println!(
        "server side: {} Relay-forward, {} Relay-reply, of {} frames",
        forw.len(),
        repl.len(),
        frames.len()
    );
    assert!(
        frames
            .iter()
            .all(|f| matches!(f.outer_type(), msg::RELAY_FORW | msg::RELAY_REPL)),
        "non-relayed traffic on the server link: {:?}",
        types(&frames)
    );
    for f in &forw {
        assert_eq!(f.src, lab.relay_up_addr, "Relay-forward from {}", f.src);
        assert!(
            f.messages.len() >= 2,
            "Relay-forward without inner message: {f:?}"
        );
        assert_eq!(
            f.messages[0].link_address,
            Some(lab.relay_down_addr),
            "relay link-address"
        );
    }
    for inner in [msg::SOLICIT, msg::REQUEST, msg::RENEW, msg::RELEASE] {
        assert!(
            forw.iter().any(|f| f.inner_type() == inner),
            "no relayed message type {inner}: {:?}",
            types(&frames)
        );
    }
    // Every Relay-reply answers a Relay-forward and echoes its Interface-ID byte for byte.
    for r in &repl {
        assert_eq!(r.dst, lab.relay_up_addr, "Relay-reply to {}", r.dst);
        let iid = r.messages[0]
            .interface_id
            .as_ref()
            .unwrap_or_else(|| panic!("Relay-reply without Interface-ID: {r:?}"));
        let q = forw
            .iter()
            .rev()
            .find(|f| f.number < r.number)
            .unwrap_or_else(|| panic!("Relay-reply {} before any Relay-forward", r.number));
        assert_eq!(
            q.messages[0].interface_id.as_ref(),
            Some(iid),
            "Interface-ID not echoed in frame {}",
            r.number
        );
        assert!(
            matches!(r.inner_type(), msg::ADVERTISE | msg::REPLY),
            "Relay-reply carries type {}",
            r.inner_type()
        );
    }
    println!(
        "Interface-ID: {:?}",
        forw.first()
            .and_then(|f| f.messages[0].interface_id.as_ref())
    );
    crate::dhclient_direct::assert_single_answers(&frames);
    assert!(
        repl.len() >= 4,
        "expected Advertise, Reply, Reply(Renew), Reply(Release) relayed: {:?}",
        types(&frames)
    );
}
