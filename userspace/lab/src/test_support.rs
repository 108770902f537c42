//! Helpers for this crate's namespaced tests: tiny python3 TCP and UDP endpoints run inside a
//! namespace (python3 is one of [`crate::preflight`]'s tools).

use std::net::Ipv6Addr;
use std::path::Path;
use std::time::Duration;

use crate::netns::{wait_for, Netns};
use crate::process::Process;

/// Accepts on `[argv1]:argv2` forever and answers each connection with "ok".
const TCP_SERVER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"ok")
    c.close()
"#;

/// Connects to `[argv1]:argv2` within argv3 seconds and prints what the server said.
const TCP_CLIENT: &str = r#"
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    print(c.recv(2).decode(), flush=True)
except OSError as e:
    print("failed:", e, flush=True)
    sys.exit(1)
"#;

/// Connects to `[argv1]:argv2`, sends the octets given in hex as argv3, then waits for the
/// server's answer.
const TCP_SEND: &str = r#"
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
c.sendall(bytes.fromhex(sys.argv[3]))
c.recv(2)
"#;

/// Binds UDP `[::]:547`, joins ff02::1:2 on interface argv1, prints the message type (first
/// octet) and source of every datagram.
const UDP_SERVER: &str = r#"
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 547))
ifindex = socket.if_nametoindex(sys.argv[1])
mreq = socket.inet_pton(socket.AF_INET6, "ff02::1:2") + struct.pack("@I", ifindex)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
print("listening", flush=True)
while True:
    data, src = s.recvfrom(65535)
    print("type", data[0], "from", src[0], flush=True)
"#;

/// Sends a minimal Solicit (type 1, xid 0x123456, an Elapsed Time option) from interface argv1
/// to ff02::1:2 port 547, from port 546.
const SOLICIT: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", 546))
ifindex = socket.if_nametoindex(sys.argv[1])
msg = bytes([1, 0x12, 0x34, 0x56, 0, 8, 0, 2, 0, 0])
s.sendto(msg, ("ff02::1:2", 547, 0, ifindex))
"#;

/// Starts the TCP server in `ns` on `[addr]:port` and waits until it listens.
pub(crate) fn tcp_listen(ns: &Netns, addr: Ipv6Addr, port: u16, dir: &Path) -> Process {
    let mut cmd = ns.command("python3");
    cmd.args(["-c", TCP_SERVER, &addr.to_string(), &port.to_string()]);
    wait_listening(Process::spawn(cmd, dir, &format!("tcp-{}-{port}", ns.name())).unwrap())
}

/// Whether a TCP connection from `ns` to `[addr]:port` is answered within 1.5 s.
pub(crate) fn tcp_connects(ns: &Netns, addr: Ipv6Addr, port: u16) -> bool {
    let out = ns
        .run_timeout(
            &[
                "python3",
                "-c",
                TCP_CLIENT,
                &addr.to_string(),
                &port.to_string(),
                "1.5",
            ],
            Duration::from_secs(10),
        )
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    out.status.success() && said.trim() == "ok"
}

/// Sends `bytes` over a TCP connection from `ns` to `[addr]:port` (a [`tcp_listen`] server).
pub(crate) fn tcp_send(ns: &Netns, addr: Ipv6Addr, port: u16, bytes: &[u8]) {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    ns.run(&[
        "python3",
        "-c",
        TCP_SEND,
        &addr.to_string(),
        &port.to_string(),
        &hex,
    ])
    .unwrap();
}

/// Starts the UDP 547 listener in `ns` on `iface` and waits until it listens.
pub(crate) fn udp_listen(ns: &Netns, iface: &str, dir: &Path) -> Process {
    let mut cmd = ns.command("python3");
    cmd.args(["-c", UDP_SERVER, iface]);
    wait_listening(Process::spawn(cmd, dir, &format!("udp-{}", ns.name())).unwrap())
}

/// Sends one Solicit from `ns` out of `iface` to All_DHCP_Relay_Agents_and_Servers.
pub(crate) fn send_solicit(ns: &Netns, iface: &str) {
    ns.run(&["python3", "-c", SOLICIT, iface]).unwrap();
}

/// Waits until `listener` (from [`udp_listen`]) printed a datagram of message type `msg_type`;
/// returns the lines it printed.
pub(crate) fn wait_datagram(listener: &Process, msg_type: u8) -> String {
    let want = format!("type {msg_type} ");
    wait_for(
        &format!("a datagram of type {msg_type} at {}", listener.name()),
        Duration::from_secs(10),
        || {
            let out = listener.stdout();
            out.contains(&want).then_some(out)
        },
    )
    .unwrap()
}

fn wait_listening(mut p: Process) -> Process {
    let ok = wait_for("listener up", Duration::from_secs(10), || {
        if !p.is_running() {
            return Some(false);
        }
        p.stdout().contains("listening").then_some(true)
    })
    .unwrap();
    assert!(ok, "{} exited: {}", p.name(), p.stderr());
    p
}
