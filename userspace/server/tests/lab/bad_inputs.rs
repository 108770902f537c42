//! Bad inputs 1–8 of testing.md as crafted datagrams from the client namespace: none gets an
//! answer, each is counted under the expected drop reason (tandem), and a good Solicit
//! afterwards is still answered.

use std::fs;
use std::net::Ipv6Addr;
use std::path::Path;
use std::time::Duration;

use tandem_lab::{wait_for, Direct, Netns, Subject, SubjectKind, CLIENT_IF};

use crate::common::{log_tail, subject_kind, tandemd, TestDir};

/// Sends one datagram from [::]:546 on the client interface and prints every answer received
/// within the listen window as `reply <type> <len>`.
const SENDER: &str = r#"
import socket, sys, time
iface, dst, listen_s, path = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
payload = open(path, 'rb').read()
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
s.bind(('::', 546))
scope = socket.if_nametoindex(iface)
s.sendto(payload, (dst, 547, 0, scope if dst.startswith(('ff02', 'fe80')) else 0))
print('sent', len(payload), flush=True)
end = time.time() + listen_s
while True:
    left = end - time.time()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        data, addr = s.recvfrom(70000)
    except socket.timeout:
        break
    print('reply', data[0] if data else -1, len(data), flush=True)
"#;

const MCAST: &str = "ff02::1:2";

/// What the test expects of one input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// No answer, and (tandem) this drop counter grows. `kea_too`: Kea also sends nothing.
    Drop { reason: &'static str, kea_too: bool },
    /// A valid message with hostile content: answered; the server stays up.
    Answer { msg_type: u8 },
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    unicast: bool,
    expect: Expect,
}

// ---- datagram builders [RFC 8415 §8, §9, §21] ----

fn opt(code: u16, data: &[u8]) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn msg(ty: u8, options: &[Vec<u8>]) -> Vec<u8> {
    let mut v = vec![ty, 0x12, 0x34, 0x56];
    for o in options {
        v.extend_from_slice(o);
    }
    v
}

fn relay_forw(hops: u8, link: Ipv6Addr, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![12, hops];
    v.extend_from_slice(&link.octets());
    v.extend_from_slice(&"fe80::1".parse::<Ipv6Addr>().unwrap().octets());
    v.extend_from_slice(&opt(9, inner));
    v
}

/// DUID-LL with a MAC derived from `n` [RFC 8415 §11.4].
fn duid(n: u8) -> Vec<u8> {
    vec![0, 3, 0, 1, 0x02, 0xba, 0xd0, 0, 0, n]
}

fn client_id(n: u8) -> Vec<u8> {
    opt(1, &duid(n))
}

fn elapsed() -> Vec<u8> {
    opt(8, &[0, 0])
}

fn ia_na(iaid: u32, sub: &[u8]) -> Vec<u8> {
    let mut d = iaid.to_be_bytes().to_vec();
    d.extend_from_slice(&[0; 8]);
    d.extend_from_slice(sub);
    opt(3, &d)
}

fn ia_pd(iaid: u32, sub: &[u8]) -> Vec<u8> {
    let mut d = iaid.to_be_bytes().to_vec();
    d.extend_from_slice(&[0; 8]);
    d.extend_from_slice(sub);
    opt(25, &d)
}

fn iaprefix(len: u8, prefix: Ipv6Addr) -> Vec<u8> {
    let mut d = vec![0; 8];
    d.push(len);
    d.extend_from_slice(&prefix.octets());
    opt(26, &d)
}

fn foreign_server_id() -> Vec<u8> {
    opt(2, &[0, 2, 0, 0, 0x09, 0xbf, 0xde, 0xad, 0xbe, 0xef])
}

fn cases() -> Vec<Case> {
    let link: Ipv6Addr = "2001:db8:1::fffe".parse().unwrap();
    let drop = |reason| Expect::Drop {
        reason,
        kea_too: true,
    };
    // Inputs Kea 2.2 answers: tandem's stricter policy (or, for the Information-request, the
    // RFC 8415 §16.12 rule Kea does not apply). Kea's answers are printed, not failed.
    let strict = |reason| Expect::Drop {
        reason,
        kea_too: false,
    };
    let solicit = |n: u8, extra: Vec<Vec<u8>>| {
        let mut o = vec![client_id(n), elapsed()];
        o.extend(extra);
        msg(1, &o)
    };
    let mut v = Vec::new();
    let mut add = |name, bytes, unicast, expect| {
        v.push(Case {
            name,
            bytes,
            unicast,
            expect,
        })
    };

    // 1. An option whose length runs past its container, at each depth.
    let mut b = msg(1, &[elapsed()]);
    b.extend_from_slice(&[0, 1, 0, 100, 0, 3, 0, 1, 2, 3]);
    add(
        "1 top-level option past the message end",
        b,
        false,
        drop("malformed"),
    );
    let mut inner = vec![0, 5, 0, 60];
    inner.extend_from_slice(&[
        0x20, 1, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    add(
        "1 IAADDR past its IA_NA",
        solicit(11, vec![ia_na(1, &inner)]),
        false,
        strict("bad_ia_option"),
    );
    let mut s = solicit(12, vec![]);
    s.extend_from_slice(&[0, 25, 0, 200, 0, 0, 0, 1]);
    add(
        "1 option past the relayed message",
        relay_forw(0, link, &s),
        false,
        drop("malformed"),
    );

    // 2. Zero-length and over-long identifiers.
    add(
        "2 zero-length Client ID",
        msg(1, &[opt(1, &[]), elapsed()]),
        false,
        drop("bad_duid_length"),
    );
    add(
        "2 131-octet Client ID",
        msg(1, &[opt(1, &[7; 131]), elapsed()]),
        false,
        drop("bad_duid_length"),
    );
    add(
        "2 65,000-octet Client ID",
        msg(1, &[opt(1, &[7; 65_000]), elapsed()]),
        false,
        drop("bad_duid_length"),
    );
    add(
        "2 zero-length Server ID in Request",
        msg(3, &[client_id(21), opt(2, &[]), elapsed()]),
        false,
        drop("bad_duid_length"),
    );

    // 3. Relay nesting past the hop limit, a relay carrying a server message, no relay message,
    //    relay lengths that disagree.
    let mut deep = solicit(31, vec![]);
    for h in 0..40u8 {
        deep = relay_forw(h.min(32), link, &deep);
    }
    add(
        "3 Relay-forward nested 40 deep",
        deep,
        false,
        drop("relay_too_deep"),
    );
    let adv = msg(2, &[client_id(32), foreign_server_id()]);
    add(
        "3 Relay-forward carrying an Advertise",
        relay_forw(0, link, &adv),
        false,
        drop("relay_inner_not_client"),
    );
    let mut no_msg = relay_forw(0, link, &[]);
    no_msg.truncate(34);
    no_msg.extend_from_slice(&opt(18, b"eth0"));
    add(
        "3 Relay-forward without Relay Message",
        no_msg,
        false,
        drop("relay_without_message"),
    );
    let mut liar = relay_forw(0, link, &solicit(33, vec![]));
    liar[36] = 0x7f; // RELAY_MSG length high byte: claims ~32 KiB
    add(
        "3 Relay Message length past the datagram",
        liar,
        false,
        drop("malformed"),
    );

    // 4. RFC 8415 §16 MUST-discard rules.
    add(
        "4 Solicit with Server ID",
        solicit(41, vec![foreign_server_id()]),
        false,
        drop("unexpected_server_id"),
    );
    add(
        "4 Solicit without Client ID",
        msg(1, &[elapsed()]),
        false,
        drop("missing_client_id"),
    );
    add(
        "4 Request without Server ID",
        msg(3, &[client_id(42), elapsed(), ia_na(1, &[])]),
        false,
        drop("missing_server_id"),
    );
    add(
        "4 Request with a foreign Server ID",
        msg(
            3,
            &[client_id(43), foreign_server_id(), elapsed(), ia_na(1, &[])],
        ),
        false,
        drop("foreign_server_id"),
    );
    add(
        "4 Renew without Server ID",
        msg(5, &[client_id(44), elapsed(), ia_na(1, &[])]),
        false,
        drop("missing_server_id"),
    );
    add(
        "4 Release with a foreign Server ID",
        msg(
            8,
            &[client_id(45), foreign_server_id(), elapsed(), ia_na(1, &[])],
        ),
        false,
        drop("foreign_server_id"),
    );
    add(
        "4 Decline without Server ID",
        msg(9, &[client_id(46), elapsed(), ia_na(1, &[])]),
        false,
        drop("missing_server_id"),
    );
    add(
        "4 Confirm with Server ID",
        msg(
            4,
            &[client_id(47), foreign_server_id(), elapsed(), ia_na(1, &[])],
        ),
        false,
        drop("unexpected_server_id"),
    );
    add(
        "4 Rebind with Server ID",
        msg(
            6,
            &[client_id(48), foreign_server_id(), elapsed(), ia_na(1, &[])],
        ),
        false,
        drop("unexpected_server_id"),
    );
    add(
        "4 Information-request with IA_NA",
        msg(11, &[client_id(49), elapsed(), ia_na(1, &[])]),
        false,
        strict("ia_in_information_request"),
    );
    add(
        "4 Solicit by unicast",
        solicit(50, vec![ia_na(1, &[])]),
        true,
        drop("unicast_not_allowed"),
    );
    // The same checks hold for datagrams sent to the server's unicast address (where relays
    // send): validation comes before any unicast handling.
    let mut b = msg(3, &[client_id(59), elapsed()]);
    b.extend_from_slice(&[0, 2, 0, 90, 0, 2, 0, 0]);
    add(
        "1 unicast: Server ID past the message end",
        b,
        true,
        drop("malformed"),
    );
    add(
        "2 unicast: 65,000-octet Client ID in Renew",
        msg(5, &[opt(1, &[9; 65_000]), foreign_server_id(), elapsed()]),
        true,
        drop("bad_duid_length"),
    );
    let mut deep = solicit(60, vec![]);
    for h in 0..40u8 {
        deep = relay_forw(h.min(32), link, &deep);
    }
    add(
        "3 unicast: Relay-forward nested 40 deep",
        deep,
        true,
        drop("relay_too_deep"),
    );
    add(
        "4 unicast: Request with a foreign Server ID",
        msg(
            3,
            &[client_id(62), foreign_server_id(), elapsed(), ia_na(1, &[])],
        ),
        true,
        drop("foreign_server_id"),
    );
    add(
        "4 unicast: Information-request",
        msg(11, &[client_id(63), elapsed()]),
        true,
        drop("unicast_not_allowed"),
    );
    add(
        "4 Advertise sent to a server",
        msg(2, &[client_id(51), foreign_server_id()]),
        false,
        drop("server_message_type"),
    );
    add(
        "4 Reply sent to a server",
        msg(7, &[client_id(52), foreign_server_id()]),
        false,
        drop("server_message_type"),
    );
    add(
        "4 Relay-reply sent to a server",
        {
            let mut r = relay_forw(0, link, &msg(7, &[client_id(53)]));
            r[0] = 13;
            r
        },
        false,
        drop("server_message_type"),
    );

    // 5. Duplicate singletons, duplicate IAIDs, unknown and failover message types.
    add(
        "5 two Client IDs",
        msg(1, &[client_id(54), client_id(55), elapsed()]),
        false,
        drop("duplicate_option"),
    );
    add(
        "5 two IA_NA with one IAID",
        solicit(56, vec![ia_na(7, &[]), ia_na(7, &[])]),
        false,
        strict("duplicate_iaid"),
    );
    add(
        "5 unknown message type 200",
        msg(200, &[client_id(57)]),
        false,
        drop("unknown_message_type"),
    );
    add(
        "5 failover BNDUPD (24) on UDP 547",
        msg(24, &[client_id(58)]),
        false,
        drop("unknown_message_type"),
    );

    // 6. Hostile FQDN bytes in an otherwise valid Solicit: answered, nothing breaks.
    let mut fqdn = vec![0x01, 63];
    fqdn.extend_from_slice(&[b'a'; 63]);
    fqdn.extend_from_slice(&[5, b'x', 0, b'\n', b'"', b'\'', 0]);
    add(
        "6 hostile FQDN bytes",
        solicit(61, vec![ia_na(1, &[]), opt(39, &fqdn), opt(6, &[0, 39])]),
        false,
        Expect::Answer { msg_type: 2 },
    );

    // 7. IA_PD with an impossible prefix length.
    add(
        "7 IAPREFIX length 200",
        solicit(
            71,
            vec![ia_pd(1, &iaprefix(200, "2001:db8:8000::".parse().unwrap()))],
        ),
        false,
        strict("bad_prefix_length"),
    );

    // 8. A maximum-size datagram with thousands of IAs.
    let many: Vec<Vec<u8>> = (0..4000u32).map(|i| ia_na(i, &[])).collect();
    let mut o = vec![client_id(81), elapsed()];
    o.extend(many);
    add(
        "8 4,000 IA_NA in one datagram",
        msg(1, &o),
        false,
        strict("too_many_ias"),
    );
    v
}

/// One send with a listen window; returns the message types answered.
fn send(ns: &Netns, dir: &Path, dst: &str, bytes: &[u8], listen_s: f64) -> Vec<u8> {
    let script = dir.join("send.py");
    if !script.exists() {
        fs::write(&script, SENDER).unwrap();
    }
    let payload = dir.join("payload.bin");
    fs::write(&payload, bytes).unwrap();
    let out = ns
        .run_timeout(
            &[
                "python3",
                &script.display().to_string(),
                CLIENT_IF,
                dst,
                &listen_s.to_string(),
                &payload.display().to_string(),
            ],
            Duration::from_secs(30),
        )
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("sent"),
        "sender failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("reply ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

fn drops(subject: &Subject) -> serde_json::Map<String, serde_json::Value> {
    let s = subject.stats().unwrap().unwrap();
    s["drops"].as_object().cloned().unwrap_or_default()
}

fn stats_now(subject: &Subject) -> u64 {
    subject
        .stats()
        .ok()
        .flatten()
        .and_then(|s| s["now"].as_u64())
        .unwrap_or(0)
}

fn count(d: &serde_json::Map<String, serde_json::Value>, reason: &str) -> u64 {
    d.get(reason)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0)
}

#[test]
#[ignore = "lab: needs root and the Debian packages; run by cargo xtask test"]
fn bad_inputs() {
    let kind = subject_kind();
    let dir = TestDir::new("bad-inputs");
    let lab = Direct::new().unwrap();
    lab.client
        .run(&[
            "ip",
            "-6",
            "route",
            "add",
            "2001:db8:1::/64",
            "dev",
            CLIENT_IF,
        ])
        .unwrap();
    let params = lab.server_params();
    let mut subject =
        Subject::start(kind, &lab.server, &params, dir.path(), Some(tandemd())).unwrap();
    let unicast = lab.server_addr.to_string();
    let tandem = kind == SubjectKind::Tandem;
    if !tandem {
        println!(
            "drop counters: skipped for {} (only tandemd writes stats.json)",
            kind.as_str()
        );
    }

    // The good Solicit is answered before anything else, so a silent server fails here first.
    let good = || msg(1, &[client_id(99), elapsed(), ia_na(1, &[])]);
    let mut failures = Vec::new();
    let check_good = |when: &str, failures: &mut Vec<String>| {
        let r = send(&lab.client, dir.path(), MCAST, &good(), 2.0);
        assert!(
            !r.is_empty() && r.iter().all(|t| *t == 2),
            "good Solicit {when}: answered {r:?}"
        );
        if r.len() > 1 {
            failures.push(format!(
                "good Solicit {when}: {} Advertises for one Solicit",
                r.len()
            ));
        }
    };
    check_good("at the start", &mut failures);

    for c in cases() {
        let before = if tandem {
            // Wait for a fresh stats.json so the counters read are current.
            let t = stats_now(&subject);
            wait_for("stats.json rewritten", Duration::from_secs(5), || {
                (stats_now(&subject) > t).then_some(())
            })
            .unwrap();
            Some(drops(&subject))
        } else {
            None
        };
        let dst = if c.unicast { unicast.as_str() } else { MCAST };
        let replies = send(&lab.client, dir.path(), dst, &c.bytes, 1.0);
        assert!(
            subject.is_running(),
            "server died on input '{}'\n{}",
            c.name,
            log_tail(&subject)
        );
        match c.expect {
            Expect::Answer { msg_type } => {
                println!(
                    "{:<45} {} octets: answered {:?}",
                    c.name,
                    c.bytes.len(),
                    replies
                );
                if tandem && replies != vec![msg_type] {
                    failures.push(format!(
                        "{}: expected one answer of type {msg_type}, got {replies:?}",
                        c.name
                    ));
                }
            }
            Expect::Drop { reason, kea_too } => {
                if !replies.is_empty() {
                    if tandem || kea_too {
                        failures.push(format!("{}: answered with types {replies:?}", c.name));
                    } else {
                        println!(
                            "{:<45} Kea answers {replies:?} (tandem drops it as {reason})",
                            c.name
                        );
                    }
                }
                let Some(before) = before else {
                    if replies.is_empty() {
                        println!("{:<45} {} octets: no answer", c.name, c.bytes.len());
                    }
                    continue;
                };
                let grew = wait_for(
                    &format!("drops.{reason} to grow"),
                    Duration::from_secs(4),
                    || {
                        let now = drops(&subject);
                        (count(&now, reason) > count(&before, reason)).then_some(())
                    },
                );
                // One more stats.json cycle, so a second (duplicate) count would show as well.
                let t = stats_now(&subject);
                let _ = wait_for("stats.json rewritten", Duration::from_secs(5), || {
                    (stats_now(&subject) > t).then_some(())
                });
                let now = drops(&subject);
                let changed: Vec<String> = now
                    .iter()
                    .filter(|(k, _)| count(&now, k) != count(&before, k))
                    .map(|(k, v)| format!("{k}: {} -> {v}", count(&before, k)))
                    .collect();
                let total = |d: &serde_json::Map<String, serde_json::Value>| {
                    d.values()
                        .filter_map(serde_json::Value::as_u64)
                        .sum::<u64>()
                };
                let delta = count(&now, reason) - count(&before, reason);
                if grew.is_err() || delta != 1 || total(&now) - total(&before) != 1 {
                    failures.push(format!(
                        "{}: expected exactly drops.{reason} +1; changed: {changed:?}",
                        c.name
                    ));
                } else {
                    println!(
                        "{:<45} {} octets: no answer, drops.{reason} +1",
                        c.name,
                        c.bytes.len()
                    );
                }
            }
        }
    }
    // Service continues: the good Solicit is still answered.
    check_good("after the bad inputs", &mut failures);
    assert!(subject.is_running(), "server died");
    if tandem {
        let d = drops(&subject);
        let total: u64 = d.values().filter_map(serde_json::Value::as_u64).sum();
        println!("drops after the run: {d:?} (total {total})");
    }
    subject.stop().unwrap();
    assert!(
        failures.is_empty(),
        "{} of the bad inputs misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
