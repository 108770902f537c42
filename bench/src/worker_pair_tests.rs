//! The generator against a fake pair of servers on loopback (relayed mode, unprivileged
//! ports) that both answer every Solicit (as two servers on a link do, or a failover pair whose
//! secondary answers too): the first Advertise alternates between them by client,
//! and the other server's Advertise arrives only after the Reply, so the client is idle again
//! when it comes. The generator must take the first Advertise, send the Request to its server,
//! ignore the second without calling it late or an error, and say which server won how many.

use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tandem_wire::{IaNa, MessageType, OptionCode, Writer, Xid};

use crate::messages::IaSel;
use crate::population::{DuidKind, Population, XidMap};
use crate::run::{Endpoints, Generator};
use crate::scenario::{Mix, Scenario};
use crate::worker::{Plan, RelayPlan};

const SERVER_A: &[u8] = &[0, 3, 0, 1, 0xaa, 0, 0, 0, 0, 1];
const SERVER_B: &[u8] = &[0, 3, 0, 1, 0xbb, 0, 0, 0, 0, 2];

/// One answer inside a Relay-reply to `link`/`peer`, from `server`, with one address, for the
/// client `(DUID, IAID, index)`.
fn answer(
    out: &mut [u8],
    (link, peer): (Ipv6Addr, Ipv6Addr),
    t: MessageType,
    xid: Xid,
    server: &[u8],
    (client, iaid, index): (&[u8], u32, u32),
) -> usize {
    let mut w = Writer::new(out);
    w.relay_header(MessageType::RelayRepl, 0, link, peer)
        .unwrap();
    let rm = w.begin_option(OptionCode::RelayMsg).unwrap();
    w.message_header(t, xid).unwrap();
    w.option(OptionCode::ServerId, server).unwrap();
    w.option(OptionCode::ClientId, client).unwrap();
    let o = w.begin_option(OptionCode::IaNa).unwrap();
    w.u32(iaid).unwrap();
    w.u32(100).unwrap();
    w.u32(200).unwrap();
    let a = w.begin_option(OptionCode::IaAddr).unwrap();
    // Primary odd, secondary even, as a pair in NORMAL splits its pool.
    let last = u128::from(index) * 2 + u128::from(server == SERVER_A);
    w.ipv6(Ipv6Addr::from(
        0x2001_0db8_0001_0000_0000_0001_0000_0000u128 + last,
    ))
    .unwrap();
    w.u32(400).unwrap();
    w.u32(400).unwrap();
    w.end_option(a).unwrap();
    w.end_option(o).unwrap();
    w.end_option(rm).unwrap();
    w.finish()
}

/// The fake pair until `stop`; counts Requests that named the wrong server in `wrong`.
fn fake_pair(
    sock: UdpSocket,
    stop: Arc<AtomicBool>,
    wrong: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    std::thread::spawn(move || {
        let (mut buf, mut out) = ([0u8; 2048], [0u8; 2048]);
        // The Advertise of the server that lost, held back until the Reply went out.
        let mut held: HashMap<u32, Vec<u8>> = HashMap::new();
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let (chain, msg) = tandem_wire::unwrap_relays(&buf[..n]).unwrap();
            let hop = chain.innermost().unwrap();
            let ends = (hop.link_address, hop.peer_address);
            let options = msg.options();
            let duid = options.find(OptionCode::ClientId).unwrap();
            let index = u32::from_be_bytes(duid[duid.len() - 4..].try_into().unwrap());
            let iaid = IaNa::parse(options.find(OptionCode::IaNa).unwrap())
                .unwrap()
                .iaid();
            let (first, second) = if index % 2 == 0 {
                (SERVER_A, SERVER_B)
            } else {
                (SERVER_B, SERVER_A)
            };
            let xid = msg.xid();
            let who = (duid, iaid, index);
            match msg.msg_type() {
                MessageType::Solicit => {
                    let t = MessageType::Advertise;
                    let len = answer(&mut out, ends, t, xid, first, who);
                    sock.send_to(&out[..len], from).unwrap();
                    let len = answer(&mut out, ends, t, xid, second, who);
                    held.insert(index, out[..len].to_vec());
                }
                MessageType::Request => {
                    let named = options.find(OptionCode::ServerId);
                    if named != Some(first) {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                    let t = MessageType::Reply;
                    let len = answer(&mut out, ends, t, xid, first, who);
                    sock.send_to(&out[..len], from).unwrap();
                    if let Some(late) = held.remove(&index) {
                        sock.send_to(&late, from).unwrap();
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    })
}

#[test]
fn a_pair_s_second_advertise_is_ignored_and_each_server_s_wins_counted() {
    let sock = UdpSocket::bind("[::1]:0").unwrap();
    let port = sock.local_addr().unwrap().port();
    let (stop, wrong) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let server = fake_pair(sock, stop.clone(), wrong.clone());
    let clients = 600;
    let plan = Plan {
        population: Population::new(clients, 5, DuidKind::Ll).unwrap(),
        xids: XidMap::new(clients),
        scenario: Scenario::Exchange,
        mix: Mix::parse("exchange=1").unwrap(),
        ia: IaSel::Na,
        relay: Some(RelayPlan {
            base: "2001:db8:1::ff:0".parse().unwrap(),
            count: 8,
        }),
    };
    let bind = UdpSocket::bind("[::1]:0").unwrap();
    let ends = Endpoints {
        bind: SocketAddrV6::new(Ipv6Addr::LOCALHOST, bind.local_addr().unwrap().port(), 0, 0),
        dest: SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0),
        multicast_if: None,
    };
    drop(bind);
    let mut g = Generator::new(plan, 2, ends, 5).unwrap();
    let step = g.step(1200.0, 0.5, 300);
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();

    let all = u64::from(clients);
    assert_eq!(step.started, all, "{step:#?}");
    let sa = &step.kinds["solicit-advertise"];
    let rr = &step.kinds["request-reply"];
    assert_eq!((sa.sent, sa.received, sa.lost), (all, all, 0), "{step:#?}");
    assert_eq!((rr.sent, rr.received, rr.lost), (all, all, 0), "{step:#?}");
    assert_eq!(step.bound, all);
    // Every other server's Advertise came after the Reply: ignored, not late, not an error. A
    // worker ends the step once its last transaction is over, so the second Advertise of its
    // last client (one per worker thread) may arrive after the step.
    assert!((all - 2..=all).contains(&step.extra_advertise), "{step:#?}");
    assert_eq!(step.late + step.unexpected + step.malformed, 0, "{step:#?}");
    assert_eq!(step.loss, 0.0);
    assert_eq!(
        wrong.load(Ordering::Relaxed),
        0,
        "a Request named the wrong server"
    );
    // Each server won the clients whose Solicit it answered first, and replied to them; every
    // Advertise received was either taken or ignored.
    let mut by_server: Vec<(String, u64, u64)> = step
        .servers
        .iter()
        .map(|s| (s.server_id.clone(), s.counts.reply, s.counts.won))
        .collect();
    by_server.sort();
    let half = all / 2;
    assert_eq!(
        by_server,
        [
            ("00030001aa0000000001".to_owned(), half, half),
            ("00030001bb0000000002".to_owned(), half, half),
        ]
    );
    let advertises: u64 = step.servers.iter().map(|s| s.counts.advertise).sum();
    assert_eq!(advertises, all + step.extra_advertise, "{step:#?}");
}
