//! Tests of [`super`]: the head parser on good and junk input, and real listeners on
//! 127.0.0.1 under the attacks that killed `tiny_http` (a 4.6e18 `Content-Length`, 100 idle
//! connections, slowloris, a 100 KiB header line, chunked bodies, stalled clients at stop).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::AtomicUsize;

use super::*;

/// Echoes the body; `/deny` is refused in `admit`; `/slow` takes [`SLOW`] to answer; counts
/// `tick` calls.
struct Echo {
    ticks: AtomicUsize,
}

impl Handler for Echo {
    fn admit(&self, head: &Head) -> Result<(), Response> {
        if head.path() == "/deny" {
            return Err(Response::plain(401, "no\n").with_header("WWW-Authenticate", "Basic"));
        }
        Ok(())
    }

    fn handle(&self, r: Request) -> Response {
        if r.head.path() == "/slow" {
            std::thread::sleep(SLOW);
        }
        let auth = r.head.header("x-test").unwrap_or_default().to_vec();
        let mut body = format!("{} {} ", r.head.method, r.head.target).into_bytes();
        body.extend_from_slice(&auth);
        body.push(b' ');
        body.extend_from_slice(&r.body);
        Response {
            status: 200,
            content_type: "text/plain",
            headers: Vec::new(),
            body,
        }
    }

    fn tick(&self, _now: Instant) -> Option<Duration> {
        self.ticks.fetch_add(1, Ordering::Relaxed);
        None
    }
}

const BODY_MAX: usize = 64 * 1024;
const SLOW: Duration = Duration::from_millis(1500);

fn start(connections: usize, deadline: Duration) -> (SocketAddr, Server, Arc<Echo>) {
    let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.addr();
    let echo = Arc::new(Echo {
        ticks: AtomicUsize::new(0),
    });
    let limits = Limits {
        name: "test-http",
        connections,
        deadline,
        write_deadline: Duration::from_secs(5),
        body_max: BODY_MAX,
    };
    let server = listener.start(limits, echo.clone()).unwrap();
    (addr, server, echo)
}

/// Sends `request`, reads until the server closes (or an error after some data).
fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may stop reading (and reset) before a long request is all written.
    let _ = s.write_all(request);
    read_all(&mut s)
}

fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status(answer: &str) -> u16 {
    answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn ok_request(addr: SocketAddr) -> String {
    exchange(
        addr,
        b"POST /x?q HTTP/1.1\r\nhost: x\r\nX-TEST: abc\r\ncontent-length: 5\r\n\r\nhello",
    )
}

#[test]
fn a_request_is_answered_with_length_and_close() {
    let (addr, server, echo) = start(4, Duration::from_secs(2));
    let a = ok_request(addr);
    assert_eq!(status(&a), 200, "{a}");
    assert!(a.contains("\r\nContent-Length: 19\r\n"), "{a}");
    assert!(a.contains("\r\nConnection: close\r\n"), "{a}");
    assert!(a.ends_with("\r\n\r\nPOST /x?q abc hello"), "{a}");
    // HEAD: the length, no body.
    let a = exchange(addr, b"HEAD / HTTP/1.0\r\n\r\n");
    assert!(
        a.contains("Content-Length: 8\r\n") && a.ends_with("\r\n\r\n"),
        "{a}"
    );
    // `admit` answers before the body, with the handler's header.
    let a = exchange(addr, b"POST /deny HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(status(&a), 401, "{a}");
    assert!(a.contains("\r\nWWW-Authenticate: Basic\r\n"), "{a}");
    assert!(echo.ticks.load(Ordering::Relaxed) > 0);
    server.stop();
}

/// The request that aborted tandemd under tiny_http: 413 at once, and the next is answered.
#[test]
fn a_huge_content_length_gets_413_and_the_server_stays_up() {
    let (addr, server, _) = start(4, Duration::from_secs(2));
    for length in ["4611686018427387904", "99999999999999999999999999", "65537"] {
        let t = Instant::now();
        let a = exchange(
            addr,
            format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n").as_bytes(),
        );
        assert_eq!(status(&a), 413, "{length}: {a}");
        assert!(t.elapsed() < Duration::from_millis(1500), "{length}");
    }
    let a = exchange(
        addr,
        b"POST / HTTP/1.1\r\nContent-Length: 000065536\r\n\r\n",
    );
    assert_eq!(status(&a), 408, "exactly the limit is read: {a}");
    assert_eq!(status(&ok_request(addr)), 200);
    server.stop();
}

/// 100 idle connections: at the cap, each newcomer closes the oldest (never admitted), so 84
/// are closed at once and 16 held; a request is still answered, closing one more.
#[test]
fn idle_connections_make_room_for_newcomers() {
    let (addr, server, _) = start(16, Duration::from_secs(20));
    let mut idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut closed = 0;
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buf = [0u8; 128];
        match s.read(&mut buf) {
            Ok(n) => {
                assert!(n == 0 || buf.starts_with(b"HTTP/1.1 503 "));
                closed += 1;
            }
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ),
                "{e}"
            ),
        }
    }
    assert_eq!(closed, 84);
    for _ in 0..3 {
        let a = ok_request(addr);
        assert_eq!(status(&a), 200, "{a}");
    }
    let still_open = idle[84..]
        .iter()
        .filter(|s| {
            let mut buf = [0u8; 16];
            let mut s: &TcpStream = s;
            s.read(&mut buf).is_err()
        })
        .count();
    // The first request closed one; the others may have found the slot of the one before
    // not yet freed (its thread lingers until the client closes), and closed one more each.
    assert!((13..=15).contains(&still_open), "{still_open}");
    server.stop();
}

/// The hold attack (one host reopening 16 half-sent requests as they are cut): requests from
/// others are answered all along.
#[test]
fn half_sent_requests_do_not_hold_the_listener() {
    let (addr, server, _) = start(16, Duration::from_millis(400));
    let hold = || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nX: ").unwrap();
        s
    };
    let mut held: Vec<TcpStream> = (0..16).map(|_| hold()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let end = Instant::now() + Duration::from_millis(1500);
    let mut answered = 0;
    while Instant::now() < end {
        assert_eq!(status(&ok_request(addr)), 200);
        answered += 1;
        // Reopen those cut (at the deadline, or to make room).
        for s in &mut held {
            s.set_nonblocking(true).unwrap();
            let mut buf = [0u8; 256];
            if !matches!(s.read(&mut buf), Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                *s = hold();
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(answered >= 10, "{answered}");
    server.stop();
}

/// Answered requests whose clients never read nor close (each lingering up to [`LINGER`])
/// do not hold the slots either.
#[test]
fn answered_connections_make_room_for_newcomers() {
    let (addr, server, _) = start(16, Duration::from_secs(5));
    let held: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    assert_eq!(status(&ok_request(addr)), 200);
    assert!(t.elapsed() < LINGER / 2, "{:?}", t.elapsed());
    drop(held);
    server.stop();
}

/// Admitted connections are never cut: with 16 slow handlers running, a newcomer gets 503,
/// and the 16 are answered.
#[test]
fn admitted_connections_keep_the_cap() {
    let (addr, server, _) = start(16, Duration::from_secs(5));
    let slow: Vec<_> = (0..16)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /slow HTTP/1.1\r\n\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let a = ok_request(addr);
    assert!(a.starts_with("HTTP/1.1 503 ") || a.is_empty(), "{a}");
    for mut s in slow {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let a = read_all(&mut s);
        assert_eq!(status(&a), 200, "{a}");
    }
    assert_eq!(status(&ok_request(addr)), 200);
    server.stop();
}

/// A byte a while: cut at the connection's deadline, not reset by each read.
#[test]
fn a_slowloris_head_is_cut_at_the_deadline() {
    let (addr, server, _) = start(4, Duration::from_secs(1));
    let mut s = TcpStream::connect(addr).unwrap();
    let t = Instant::now();
    let mut cut = None;
    for b in b"POST / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if s.write_all(&[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        let mut buf = [0u8; 64];
        s.set_nonblocking(true).unwrap();
        let r = s.read(&mut buf);
        s.set_nonblocking(false).unwrap();
        if let Ok(n) = r {
            cut = Some((t.elapsed(), String::from_utf8_lossy(&buf[..n]).into_owned()));
            break;
        }
    }
    let (when, answer) = cut.expect("never cut");
    assert_eq!(status(&answer), 408, "{answer}");
    assert!(
        when >= Duration::from_millis(900) && when < Duration::from_millis(1600),
        "{when:?}"
    );
    // A slow body too.
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nab")
        .unwrap();
    let t = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(status(&read_all(&mut s)), 408);
    assert!(t.elapsed() < Duration::from_millis(1500));
    server.stop();
}

#[test]
fn long_or_many_header_lines_get_431() {
    let (addr, server, _) = start(4, Duration::from_secs(2));
    let mut long = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 100 * 1024));
    assert_eq!(status(&exchange(addr, &long)), 431);
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..=HEADER_LINES_MAX {
        many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(status(&exchange(addr, &many)), 431);
    assert_eq!(status(&ok_request(addr)), 200);
    server.stop();
}

#[test]
fn chunked_and_bad_lengths_are_refused() {
    let (addr, server, _) = start(4, Duration::from_secs(2));
    let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    assert_eq!(status(&exchange(addr, chunked)), 501);
    for bad in [
        &b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        b"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
        b"POST / HTTP/1.1\r\n folded\r\n\r\n",
        b"POST /\r\n\r\n",
    ] {
        assert_eq!(
            status(&exchange(addr, bad)),
            400,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(status(&exchange(addr, b"GET / HTTP/2.0\r\n\r\n")), 505);
    server.stop();
}

/// `100 Continue` only after `admit` passed.
#[test]
fn expect_continue_is_answered_after_admission() {
    let (addr, server, _) = start(4, Duration::from_secs(2));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 25];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"hi").unwrap();
    assert!(read_all(&mut s).ends_with("POST /  hi"));
    let a = exchange(
        addr,
        b"POST /deny HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    );
    assert_eq!(status(&a), 401, "{a}");
    // An HTTP/1.0 client's Expect is ignored (RFC 9110 §10.1.1): the answer comes first.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(b"hi").unwrap();
    let a = read_all(&mut s);
    assert!(a.starts_with("HTTP/1.1 200 OK\r\n"), "{a}");
    assert!(a.ends_with("POST /  hi"), "{a}");
    server.stop();
}

/// Stalled clients (mid-head, mid-body, idle) do not delay `stop`, which closes the socket.
#[test]
fn stop_is_prompt_with_stalled_clients() {
    let (addr, server, _) = start(16, Duration::from_secs(30));
    let mut stalled = Vec::new();
    for first in [
        &b""[..],
        b"POST / HTTP/1.1\r\nHo",
        b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\na",
    ] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(first).unwrap();
        stalled.push(s);
    }
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    server.stop();
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    assert!(TcpStream::connect(addr).is_err(), "still listening");
}

/// Junk never panics the parser, nor the listener.
#[test]
fn junk_never_panics() {
    let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let mut x: u32 = 11;
    let mut rand = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            })
            .collect()
    };
    for len in 0..600 {
        let mut bytes = rand(len % 300);
        let _ = head::parse(&bytes, peer);
        bytes.extend_from_slice(b"\r\n\r\n");
        let _ = head::parse(&bytes, peer);
        let mut prefixed = b"GET / HTTP/1.1\r\nContent-Length:".to_vec();
        prefixed.extend_from_slice(&bytes);
        if let Ok(h) = head::parse(&prefixed, peer) {
            let _ = h.body_length(BODY_MAX);
        }
    }
    let (addr, server, _) = start(4, Duration::from_millis(500));
    for len in [1, 10, 100, 5000, 20_000] {
        let _ = exchange(addr, &rand(len));
    }
    assert_eq!(status(&ok_request(addr)), 200);
    server.stop();
}

#[test]
fn heads_parse_with_case_insensitive_names() {
    let peer: SocketAddr = "[::1]:5".parse().unwrap();
    let h = head::parse(
        b"GET /a?b=c HTTP/1.1\r\nAuthorization:  Basic x \r\ncontent-LENGTH: 0007\r\n\r\n",
        peer,
    )
    .unwrap();
    assert_eq!((h.method.as_str(), h.path(), h.peer), ("GET", "/a", peer));
    assert_eq!(h.header("AUTHORIZATION"), Some(&b"Basic x"[..]));
    assert_eq!(h.header("x-none"), None);
    assert_eq!(h.body_length(7), Ok(7));
    assert_eq!(h.body_length(6).unwrap_err().status, 413);
    assert_eq!(h.version, head::Version::Http11);
    assert!(!h.expects_continue());
    let h = head::parse(b"PUT / HTTP/1.0\r\nExpect: 100-Continue\r\n\r\n", peer).unwrap();
    assert_eq!(h.version, head::Version::Http10);
    assert!(!h.expects_continue());
    let h = head::parse(b"PUT / HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n", peer).unwrap();
    assert!(h.expects_continue());
    assert_eq!(head::end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
    assert_eq!(head::end(b"GET / HTTP/1.1\r\n"), None);
}

/// Absolute-form targets (RFC 9112 §3.2.2) have the path of their origin form.
#[test]
fn absolute_form_targets_have_their_path() {
    let peer: SocketAddr = "[::1]:5".parse().unwrap();
    for (target, path) in [
        ("/metrics", "/metrics"),
        ("/metrics?x=1", "/metrics"),
        ("http://host/metrics", "/metrics"),
        ("HTTP://[::1]:9100/metrics?a=b", "/metrics"),
        ("https://h:1/a/b", "/a/b"),
        ("http://host", "/"),
        ("http://host?x=1", "/"),
        ("*", "*"),
        ("/a://b", "/a://b"),
        ("1x://h/p", "1x://h/p"),
        ("://h/p", "://h/p"),
    ] {
        let h = head::parse(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes(), peer).unwrap();
        assert_eq!(h.path(), path, "{target}");
    }
    let (addr, server, _) = start(4, Duration::from_secs(2));
    let a = exchange(addr, b"GET http://127.0.0.1/deny HTTP/1.1\r\n\r\n");
    assert_eq!(status(&a), 401, "{a}");
    server.stop();
}
