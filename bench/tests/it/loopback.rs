//! The whole generator (workers, steering, pacing, timeouts, reports) against a fake server
//! pair on loopback, in relayed mode on unprivileged ports. The fake answers every Solicit
//! with two Advertises (servers A and B, as a failover pair on one link would), drops the
//! Solicits of every tenth client, and answers Request, Renew and Release from A.

use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tandem_bench::messages::IaSel;
use tandem_bench::population::{DuidKind, Population, XidMap};
use tandem_bench::run::{Endpoints, Generator};
use tandem_bench::scenario::{Mix, Scenario};
use tandem_bench::worker::{Plan, RelayPlan};
use tandem_wire::{IaNa, MessageType, OptionCode, Writer};

const SERVER_A: &[u8] = &[0, 3, 0, 1, 0xaa, 0, 0, 0, 0, 1];
const SERVER_B: &[u8] = &[0, 3, 0, 1, 0xbb, 0, 0, 0, 0, 2];

/// A fake server on `[::1]:port` until `stop` is set.
fn fake_server(sock: UdpSocket, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let mut out = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let (chain, msg) = tandem_wire::unwrap_relays(&buf[..n]).unwrap();
            let hop = chain.innermost().unwrap();
            let peer = hop.peer_address;
            // The client index's low byte is the peer-address's last octet; every tenth
            // client (by that byte) is ignored when it solicits.
            let options = msg.options();
            let duid = options.find(OptionCode::ClientId).unwrap();
            let index = u32::from_be_bytes(duid[duid.len() - 4..].try_into().unwrap());
            let ia = IaNa::parse(options.find(OptionCode::IaNa).unwrap()).unwrap();
            let addr =
                Ipv6Addr::from(0x2001_0db8_0001_0000_0000_0000_0001_0000u128 + u128::from(index));
            let answers: &[(MessageType, &[u8])] = match msg.msg_type() {
                MessageType::Solicit if index % 10 == 0 => &[],
                MessageType::Solicit => &[
                    (MessageType::Advertise, SERVER_A),
                    (MessageType::Advertise, SERVER_B),
                ],
                MessageType::Request | MessageType::Renew | MessageType::Release => {
                    assert_eq!(options.find(OptionCode::ServerId), Some(SERVER_A));
                    &[(MessageType::Reply, SERVER_A)]
                }
                other => panic!("unexpected {other:?}"),
            };
            for (t, server) in answers {
                let mut w = Writer::new(&mut out);
                w.relay_header(MessageType::RelayRepl, 0, hop.link_address, peer)
                    .unwrap();
                let rm = w.begin_option(OptionCode::RelayMsg).unwrap();
                w.message_header(*t, msg.xid()).unwrap();
                w.option(OptionCode::ServerId, server).unwrap();
                w.option(OptionCode::ClientId, duid).unwrap();
                let o = w.begin_option(OptionCode::IaNa).unwrap();
                w.u32(ia.iaid()).unwrap();
                w.u32(100).unwrap();
                w.u32(200).unwrap();
                let a = w.begin_option(OptionCode::IaAddr).unwrap();
                w.ipv6(addr).unwrap();
                let valid = if msg.msg_type() == MessageType::Release {
                    0
                } else {
                    400
                };
                w.u32(valid).unwrap();
                w.u32(valid).unwrap();
                w.end_option(a).unwrap();
                w.end_option(o).unwrap();
                w.end_option(rm).unwrap();
                let len = w.finish();
                sock.send_to(&out[..len], from).unwrap();
            }
        }
    })
}

fn free_port() -> u16 {
    UdpSocket::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn generator(scenario: Scenario, clients: u32, server_port: u16) -> Generator {
    let plan = Plan {
        population: Population::new(clients, 3, DuidKind::Ll).unwrap(),
        xids: XidMap::new(clients),
        scenario,
        mix: Mix::parse("exchange=1").unwrap(),
        ia: IaSel::Na,
        relay: Some(RelayPlan {
            base: "2001:db8:1::ff:0".parse().unwrap(),
            count: 16,
        }),
    };
    let ends = Endpoints {
        bind: SocketAddrV6::new(Ipv6Addr::LOCALHOST, free_port(), 0, 0),
        dest: SocketAddrV6::new(Ipv6Addr::LOCALHOST, server_port, 0, 0),
        multicast_if: None,
    };
    Generator::new(plan, 2, ends, 3).unwrap()
}

fn with_server<T>(f: impl FnOnce(u16) -> T) -> T {
    let sock = UdpSocket::bind("[::1]:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let h = fake_server(sock, stop.clone());
    let r = f(port);
    stop.store(true, Ordering::Relaxed);
    h.join().unwrap();
    r
}

#[test]
fn exchanges_through_a_fake_pair_are_counted_by_server_and_loss() {
    let step = with_server(|port| generator(Scenario::Exchange, 1000, port).step(2000.0, 0.5, 300));
    let v = serde_json::to_value(&step).unwrap();
    let n = |p: &Value| p.as_u64().unwrap();
    assert_eq!(n(&v["started"]), 1000, "{v:#}");
    let sa = &v["kinds"]["solicit-advertise"];
    // Clients 0, 10, 20, ... are never answered: 100 lost Solicits.
    assert_eq!(
        (n(&sa["sent"]), n(&sa["received"]), n(&sa["lost"])),
        (1000, 900, 100),
        "{v:#}"
    );
    let rr = &v["kinds"]["request-reply"];
    assert_eq!(
        (n(&rr["sent"]), n(&rr["received"]), n(&rr["lost"])),
        (900, 900, 0),
        "{v:#}"
    );
    assert_eq!(n(&v["bound"]), 900);
    assert_eq!(n(&v["bound_clients"]), 900);
    // Server B's Advertise arrives second and is counted, not mistaken for a late answer.
    assert_eq!(n(&v["extra_advertise"]), 900, "{v:#}");
    assert_eq!(
        n(&v["late"]) + n(&v["unexpected"]) + n(&v["malformed"]),
        0,
        "{v:#}"
    );
    let servers = v["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0]["server_id"], "00030001aa0000000001");
    assert_eq!(
        (n(&servers[0]["advertise"]), n(&servers[0]["reply"])),
        (900, 900)
    );
    assert_eq!(
        (n(&servers[1]["advertise"]), n(&servers[1]["reply"])),
        (900, 0)
    );
    assert!(v["kinds"]["request-reply"]["latency"]["count"].as_u64() == Some(900));
    assert!((step.loss - 100.0 / 1900.0).abs() < 1e-9, "{}", step.loss);
}

#[test]
fn bound_clients_renew_then_release() {
    with_server(|port| {
        // 200 clients at 1000/s for 0.4 s: 400 starts, the first 200 bind, the next 200 renew
        // (every tenth client never binds, so it solicits again instead). The 100 ms wait
        // frees an unanswered client before its turn comes round again, 200 ms later.
        let mut g = generator(Scenario::Renew, 200, port);
        let s = serde_json::to_value(g.step(1000.0, 0.4, 100)).unwrap();
        let n = |p: &Value| p.as_u64().unwrap();
        assert_eq!(n(&s["started"]), 400, "{s:#}");
        assert_eq!(n(&s["kinds"]["renew-reply"]["received"]), 180, "{s:#}");
        assert_eq!(n(&s["kinds"]["solicit-advertise"]["sent"]), 220, "{s:#}");
        assert_eq!(n(&s["bound_clients"]), 180);
        let mut r = generator(Scenario::Release, 200, port);
        let s = serde_json::to_value(r.step(1000.0, 0.4, 100)).unwrap();
        assert_eq!(n(&s["kinds"]["release-reply"]["received"]), 180, "{s:#}");
        assert_eq!(n(&s["bound_clients"]), 0, "{s:#}");
    });
}
