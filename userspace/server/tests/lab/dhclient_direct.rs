//! dhclient -6 -N -P against the server on a directly attached link: bind, renew, release.

use std::net::Ipv6Addr;
use std::time::Duration;

use tandem_lab::capture::{msg, Capture, Dhcp6Frame};
use tandem_lab::{
    wait_for, Dhclient, DhclientMode, Direct, LeaseKind, Lifetimes, Netns, ServerParams,
    StoredLease, Subject, CLIENT_IF, SERVER_IF,
};

use crate::common::{log_tail, subject_kind, tandemd, TestDir};

/// What the client got, as dhclient reported it.
pub(crate) struct Bound {
    pub(crate) duid: String,
    pub(crate) address: Ipv6Addr,
    pub(crate) prefix: (Ipv6Addr, u8),
}

/// The server parameters of both dhclient tests: short timers so a renewal happens within
/// seconds (T1 3 s, T2 5 s, preferred 8 s, valid 12 s).
pub(crate) fn short_params(mut p: ServerParams) -> ServerParams {
    p.lifetimes = Lifetimes::SHORT;
    p.pd_lifetimes = Lifetimes::SHORT;
    p
}

/// Bind, check the store, renew (capture + store), release (store), shared by the direct and
/// relayed tests. `cap` captures on the server's interface.
pub(crate) fn bind_renew_release(
    client_ns: &Netns,
    subject: &Subject,
    params: &ServerParams,
    cap: &mut Capture,
    dir: &std::path::Path,
) -> Vec<Dhcp6Frame> {
    let t0 = std::time::Instant::now();
    let mut client =
        Dhclient::start(client_ns, CLIENT_IF, DhclientMode::AddressAndPrefix, dir).unwrap();
    let bound = wait_bound(&client, "BOUND6", 0);
    println!(
        "bound in {:?}: duid {} address {} prefix {}/{}",
        t0.elapsed(),
        bound.duid,
        bound.address,
        bound.prefix.0,
        bound.prefix.1
    );
    assert!(
        params.in_pool(bound.address),
        "address {} outside the pool",
        bound.address
    );
    assert!(
        params.in_pd_pool(bound.prefix.0, bound.prefix.1),
        "prefix {:?} outside the PD pool",
        bound.prefix
    );

    let first = store_pair(subject, &bound)
        .unwrap_or_else(|e| panic!("{e}\nserver log:\n{}", log_tail(subject)));
    println!("store after bind: {first:?}");
    // The client's own record (its -lf lease file) names the same resources under the same
    // IAIDs as the server's store.
    let held = wait_for(
        "dhclient lease file with the address and the prefix",
        Duration::from_secs(5),
        || {
            let held = client.lease_file().ok()?;
            let has = |s: &StoredLease| {
                held.iter().any(|h| {
                    (h.kind, h.address, h.prefix_len, h.iaid)
                        == (s.kind, s.address, s.prefix_len, s.iaid)
                })
            };
            (has(&first.0) && has(&first.1)).then_some(held)
        },
    )
    .unwrap_or_else(|e| panic!("{e}: store {first:?}, lease file {:?}", client.lease_file()));
    println!("dhclient lease file: {held:?}");

    // Renewal at T1 = 3 s: dhclient reports RENEW6 for the address and the prefix.
    let renewed = wait_bound(&client, "RENEW6", 0);
    assert_eq!(renewed.address, bound.address, "Renew changed the address");
    assert_eq!(renewed.prefix, bound.prefix, "Renew changed the prefix");
    let moved = |a: &StoredLease, b: &StoredLease| b.cltt > a.cltt && b.expires_at > a.expires_at;
    let second = wait_for(
        "store cltt and expires_at moved forward by the Renew",
        Duration::from_secs(5),
        || {
            let s = store_pair(subject, &bound).ok()?;
            (moved(&first.0, &s.0) && moved(&first.1, &s.1)).then_some(s)
        },
    )
    .unwrap_or_else(|e| panic!("{e}: first {first:?} now {:?}", store_pair(subject, &bound)));
    for (l, lt) in [
        (&second.0, params.lifetimes),
        (&second.1, params.pd_lifetimes),
    ] {
        assert_eq!(
            l.expires_at,
            l.cltt + u64::from(lt.valid),
            "stored expiry is not cltt + valid: {l:?}"
        );
    }
    println!(
        "renewed after {:?}: cltt {} -> {}, expires_at {} -> {} (na); cltt {} -> {}, expires_at {} -> {} (pd)",
        t0.elapsed(),
        first.0.cltt,
        second.0.cltt,
        first.0.expires_at,
        second.0.expires_at,
        first.1.cltt,
        second.1.cltt,
        first.1.expires_at,
        second.1.expires_at
    );

    // Release: dhclient -r; the bindings leave the store.
    client.release(client_ns, Duration::from_secs(15)).unwrap();
    wait_for(
        "bindings removed from the store after Release",
        Duration::from_secs(5),
        || {
            let l = subject.leases().ok()?;
            (!l.iter().any(|x| x.duid == bound.duid)).then_some(())
        },
    )
    .unwrap_or_else(|e| panic!("{e}: {:?}", subject.leases()));
    println!("released after {:?}", t0.elapsed());

    let frames = cap.finish().unwrap();
    // The capture shows a Renew for both IAs answered by a Reply with the same resources.
    let renew = frames
        .iter()
        .find(|f| {
            f.inner_type() == msg::RENEW
                && f.inner()
                    .is_some_and(|m| m.client_duid.as_deref() == Some(&bound.duid))
        })
        .unwrap_or_else(|| panic!("no Renew in the capture: {:?}", types(&frames)));
    let reply = frames
        .iter()
        .find(|f| f.number > renew.number && f.inner_type() == msg::REPLY)
        .unwrap_or_else(|| panic!("no Reply after the Renew: {:?}", types(&frames)));
    let r = reply.inner().unwrap();
    assert_eq!(r.client_duid.as_deref(), Some(bound.duid.as_str()));
    assert!(
        r.leases.iter().any(|l| l.kind == LeaseKind::Na
            && l.address == bound.address
            && l.valid == params.lifetimes.valid),
        "Reply to Renew lacks {} with valid {}: {:?}",
        bound.address,
        params.lifetimes.valid,
        r.leases
    );
    assert!(
        r.leases.iter().any(|l| l.kind == LeaseKind::Pd
            && (l.address, l.prefix_len) == bound.prefix
            && l.valid == params.pd_lifetimes.valid),
        "Reply to Renew lacks {:?}: {:?}",
        bound.prefix,
        r.leases
    );
    assert!(
        frames.iter().any(|f| f.inner_type() == msg::RELEASE),
        "no Release captured"
    );
    assert_single_answers(&frames);
    frames
}

/// Every client transaction got at most one answer: two Advertises or Replies with the same
/// transaction id mean the server answered one message twice.
pub(crate) fn assert_single_answers(frames: &[Dhcp6Frame]) {
    let mut seen = std::collections::BTreeMap::new();
    for f in frames
        .iter()
        .filter(|f| matches!(f.inner_type(), msg::ADVERTISE | msg::REPLY))
    {
        let Some(m) = f.inner() else { continue };
        seen.entry((m.msg_type, m.xid))
            .or_insert_with(Vec::new)
            .push(f.number);
    }
    let dup: Vec<_> = seen.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        dup.is_empty(),
        "answered more than once ((type, xid) -> frames): {dup:?}"
    );
}

/// Waits for the first `reason` events reporting an address and a prefix (after `skip` of each).
pub(crate) fn wait_bound(client: &Dhclient, reason: &str, skip: usize) -> Bound {
    let r = wait_for(
        &format!("dhclient {reason} for address and prefix"),
        Duration::from_secs(30),
        || {
            let ev = client.events_with(reason).ok()?;
            let a = ev.iter().filter(|e| e.ip6_address().is_some()).nth(skip)?;
            let p = ev.iter().filter(|e| e.ip6_prefix().is_some()).nth(skip)?;
            Some(Bound {
                duid: a.client_duid()?,
                address: a.ip6_address()?,
                prefix: p.ip6_prefix()?,
            })
        },
    );
    r.unwrap_or_else(|e| panic!("{e}\ndhclient log:\n{}", client.log()))
}

/// The store's (address lease, prefix lease) for the bound client.
fn store_pair(subject: &Subject, b: &Bound) -> Result<(StoredLease, StoredLease), String> {
    let leases = subject.leases().map_err(|e| format!("{e:#}"))?;
    let na = leases
        .iter()
        .find(|l| l.kind == LeaseKind::Na && l.address == b.address);
    let pd = leases
        .iter()
        .find(|l| l.kind == LeaseKind::Pd && (l.address, l.prefix_len) == b.prefix);
    match (na, pd) {
        (Some(na), Some(pd)) if na.duid == b.duid && pd.duid == b.duid => {
            Ok((na.clone(), pd.clone()))
        }
        _ => Err(format!(
            "store lacks {} and {:?} for DUID {}: {leases:?}",
            b.address, b.prefix, b.duid
        )),
    }
}

/// (frame, outer type, inner type) for failure messages.
pub(crate) fn types(frames: &[Dhcp6Frame]) -> Vec<(u64, u8, u8)> {
    frames
        .iter()
        .map(|f| (f.number, f.outer_type(), f.inner_type()))
        .collect()
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn dhclient_direct() {
    let kind = subject_kind();
    let dir = TestDir::new("dhclient-direct");
    let lab = Direct::new().unwrap();
    let params = short_params(lab.server_params());
    let subject = Subject::start(kind, &lab.server, &params, dir.path(), Some(tandemd())).unwrap();
    let mut cap = Capture::start(&lab.server, SERVER_IF, dir.path(), "server").unwrap();
    let frames = bind_renew_release(&lab.client, &subject, &params, &mut cap, dir.path());
    println!("captured {} DHCPv6 frames", frames.len());
}
