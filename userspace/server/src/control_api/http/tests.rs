//! Tests of [`super`]: Basic header parsing on junk, the credentials and their reload, the
//! Kea Control Agent answer shape, and a real listener on loopback end to end.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use super::*;

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn basic(user_pass: &[u8]) -> Vec<u8> {
    format!("Basic {}", b64(user_pass)).into_bytes()
}

fn password_file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("pw");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn settings(dir: &Path, password: &str) -> HttpControl {
    HttpControl {
        listen: "127.0.0.1:0".parse().unwrap(),
        user: "ops".into(),
        password_file: password_file(dir, password),
    }
}

#[test]
fn basic_headers_parse_and_junk_is_refused() {
    assert_eq!(
        parse_basic(&basic(b"ops:s3cret-0123456789")).unwrap(),
        (b"ops".to_vec(), b"s3cret-0123456789".to_vec())
    );
    // The scheme is case-insensitive; the password may hold ':'; padding spaces are fine.
    let v = format!("  bAsIc   {}  ", b64(b"ops:a:b"));
    assert_eq!(
        parse_basic(v.as_bytes()).unwrap(),
        (b"ops".to_vec(), b"a:b".to_vec())
    );
    assert_eq!(parse_basic(&basic(b":")).unwrap(), (Vec::new(), Vec::new()));
    for (junk, want) in [
        (&b""[..], AuthError::Scheme),
        (b"Basic", AuthError::Scheme),
        (b"Bearer abc", AuthError::Scheme),
        (b"Basic !!!notbase64", AuthError::Base64),
        (b"Basic b3Bz=", AuthError::Base64),
        (b"Basic \xff\xfe", AuthError::Base64),
    ] {
        assert_eq!(parse_basic(junk), Err(want), "{junk:?}");
    }
    assert_eq!(parse_basic(&basic(b"ops")), Err(AuthError::NoColon));
    // Arbitrary bytes never panic.
    let mut x: u32 = 7;
    for len in 0..200usize {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (x >> 16) as u8
            })
            .collect();
        let _ = parse_basic(&bytes);
        let mut prefixed = b"Basic ".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = parse_basic(&prefixed);
    }
}

#[test]
fn credentials_check_user_and_password_and_reload_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), "s3cret-0123456789\n");
    let c = Credentials::load(&s).unwrap();
    assert_eq!(c.check(Some(&basic(b"ops:s3cret-0123456789"))), Ok(()));
    assert_eq!(c.check(None), Err(AuthError::Missing));
    for wrong in [
        &b"ops:s3cre"[..],
        b"ops:s3cret-0123456789\n",
        b"ops:s3cret-0123456789X",
        b"op:s3cret-0123456789",
        b"OPS:s3cret-0123456789",
    ] {
        assert_eq!(
            c.check(Some(&basic(wrong))),
            Err(AuthError::Wrong),
            "{wrong:?}"
        );
    }
    // A reload reads the new password; a broken file keeps the one in use.
    password_file(dir.path(), "n3w-0123456789abc\n");
    c.reload("test").unwrap();
    assert_eq!(c.check(Some(&basic(b"ops:n3w-0123456789abc"))), Ok(()));
    assert_eq!(
        c.check(Some(&basic(b"ops:s3cret-0123456789"))),
        Err(AuthError::Wrong)
    );
    std::fs::set_permissions(&s.password_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        c.reload("test"),
        Err(FileProblem::OpenToOthers(0o644))
    ));
    assert_eq!(c.check(Some(&basic(b"ops:n3w-0123456789abc"))), Ok(()));
    // Start-up refuses such a file, naming key and file.
    let e = format!("{:#}", Credentials::load(&s).err().unwrap());
    assert!(
        e.contains("control.http-password-file") && e.contains("pw") && e.contains("0644"),
        "{e}"
    );
    // A password shorter than 16 bytes is refused at reload (the old one stays) and start-up.
    password_file(dir.path(), "0123456789abcde\n");
    let e = c.reload("test").unwrap_err().to_string();
    assert!(
        e.contains("shorter than 16") && e.contains("openssl rand -base64 24"),
        "{e}"
    );
    assert_eq!(c.check(Some(&basic(b"ops:n3w-0123456789abc"))), Ok(()));
    let e = format!("{:#}", Credentials::load(&s).err().unwrap());
    assert!(
        e.contains("control.http-password-file") && e.contains("shorter than 16"),
        "{e}"
    );
    password_file(dir.path(), "0123456789abcdef\n");
    assert!(Credentials::load(&s).is_ok());
    c.reload("test").unwrap();
    assert_eq!(c.check(Some(&basic(b"ops:0123456789abcdef"))), Ok(()));
    // A file of another user (not root) is refused; so is a FIFO, at once.
    let other = euid().wrapping_add(4242).max(1);
    if euid() == 0 {
        std::os::unix::fs::chown(&s.password_file, Some(other), None).unwrap();
        let e = format!("{:#}", Credentials::load(&s).err().unwrap());
        assert!(e.contains(&format!("owned by uid {other}")), "{e}");
        assert!(c.reload("test").is_err());
        assert_eq!(c.check(Some(&basic(b"ops:0123456789abcdef"))), Ok(()));
    }
    std::fs::remove_file(&s.password_file).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&s.password_file)
        .status()
        .unwrap();
    assert!(made.success());
    let t = Instant::now();
    let e = format!("{:#}", Credentials::load(&s).err().unwrap());
    assert!(e.contains("not a regular file"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn failures_are_logged_at_most_once_per_interval() {
    let mut w = WarnLimiter::default();
    let t0 = Instant::now();
    assert_eq!(w.allow(t0), Some(0));
    assert_eq!(w.allow(t0 + Duration::from_secs(1)), None);
    assert_eq!(w.allow(t0 + Duration::from_secs(9)), None);
    assert_eq!(w.allow(t0 + WARN_INTERVAL), Some(2));
    assert_eq!(w.allow(t0 + WARN_INTERVAL), None);
    assert_eq!(w.allow(t0 + 3 * WARN_INTERVAL), Some(1));
}

#[test]
fn routes_need_credentials_then_post_to_the_root() {
    let ok = Ok(());
    assert_eq!(route("POST", "/", ok), Ok(()));
    assert_eq!(route("POST", "/?x=1", ok), Ok(()));
    let status = |r: Result<(), Reply>| r.unwrap_err().status;
    assert_eq!(status(route("POST", "/", Err(AuthError::Missing))), 401);
    // Without credentials nothing else is told, not even that a path does not exist.
    assert_eq!(status(route("GET", "/x", Err(AuthError::Wrong))), 401);
    assert_eq!(status(route("POST", "/x", ok)), 404);
    assert_eq!(status(route("POST", "", ok)), 404);
    assert_eq!(status(route("GET", "/", ok)), 405);
    assert_eq!(status(route("PUT", "/", ok)), 405);
}

#[test]
fn answers_are_kea_control_agent_arrays() {
    let r = Reply::agent(&Response::error("no"));
    assert_eq!((r.status, r.json), (200, true));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v, serde_json::json!([{"result": 1, "text": "no"}]));
}

fn sources(dir: &Path, http: Option<Arc<Credentials>>) -> Arc<Sources> {
    Arc::new(Sources {
        workers: Vec::new(),
        storage: dir.to_owned(),
        datapath: "socket",
        durability: "durable",
        failover: None,
        partner_down: None,
        started: Instant::now(),
        reload: None,
        http,
    })
}

/// One HTTP/1.1 exchange on a fresh connection: status, headers (lower-case names), body.
fn exchange(addr: SocketAddr, request: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[end + 4..].to_vec())
}

fn post(
    addr: SocketAddr,
    auth: Option<&[u8]>,
    body: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let auth = auth
        .map(|a| format!("Authorization: Basic {}\r\n", b64(a)))
        .unwrap_or_default();
    exchange(
        addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: \
             application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A real listener on 127.0.0.1: 401 with the challenge, counted; the CA-shaped answer with
/// the right credentials; another service refused by name; 404, 405, 413; a password change
/// picked up by `config-reload`; and a prompt stop.
#[test]
fn serves_over_a_real_listener() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), "s3cret-0123456789\n");
    let credentials = Credentials::load(&s).unwrap();
    let bound = bind(&s, credentials.clone()).unwrap();
    let addr = bound.addr();
    let failures = Arc::new(AtomicU64::new(0));
    let endpoint = bound
        .start(sources(dir.path(), Some(credentials)), failures.clone())
        .unwrap();
    let version = r#"{"command":"version-get","service":["dhcp6"]}"#;

    let (status, headers, _) = post(addr, None, version);
    assert_eq!(status, 401);
    assert_eq!(header(&headers, "www-authenticate"), Some(CHALLENGE));
    let (status, _, _) = post(addr, Some(b"ops:wrong"), version);
    assert_eq!(status, 401);
    assert_eq!(failures.load(Ordering::Relaxed), 2);

    let (status, headers, body) = post(addr, Some(b"ops:s3cret-0123456789"), version);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v[0]["result"], 0);
    assert_eq!(v[0]["text"], env!("CARGO_PKG_VERSION"));

    let (_, _, body) = post(
        addr,
        Some(b"ops:s3cret-0123456789"),
        r#"{"command":"version-get","service":["dhcp4"]}"#,
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v[0]["result"], 1);
    assert!(v[0]["text"].as_str().unwrap().contains("dhcp4"), "{v}");
    let (_, _, body) = post(addr, Some(b"ops:s3cret-0123456789"), "not json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v[0]["result"], 1, "{v}");

    let auth = format!("Authorization: Basic {}\r\n", b64(b"ops:s3cret-0123456789"));
    let (status, _, _) = exchange(
        addr,
        &format!("POST /other HTTP/1.1\r\nConnection: close\r\n{auth}Content-Length: 0\r\n\r\n"),
    );
    assert_eq!(status, 404);
    let (status, headers, _) = exchange(
        addr,
        &format!("GET / HTTP/1.1\r\nConnection: close\r\n{auth}\r\n"),
    );
    assert_eq!(status, 405);
    assert_eq!(header(&headers, "allow"), Some("POST"));
    let big = format!(r#"{{"command":"{}"}}"#, "x".repeat(REQUEST_LEN_MAX));
    let (status, _, _) = post(addr, Some(b"ops:s3cret-0123456789"), &big);
    assert_eq!(status, 413);
    assert_eq!(failures.load(Ordering::Relaxed), 2, "only 401s count");
    // The request that aborted tandemd under tiny_http: 401 first (the body is never read),
    // and 413 with credentials; the listener answers the next request.
    let huge = "Content-Length: 4611686018427387904\r\n\r\n";
    let (status, _, _) = exchange(addr, &format!("POST / HTTP/1.1\r\nHost: x\r\n{huge}"));
    assert_eq!(status, 401);
    let (status, _, _) = exchange(addr, &format!("POST / HTTP/1.1\r\n{auth}{huge}"));
    assert_eq!(status, 413);
    assert_eq!(failures.load(Ordering::Relaxed), 3);
    // A body not complete within IO_TIMEOUT: 408 at the deadline.
    let t = Instant::now();
    let (status, _, _) = exchange(
        addr,
        &format!("POST / HTTP/1.1\r\n{auth}Content-Length: 30\r\n\r\n{{\"command\""),
    );
    assert_eq!(status, 408);
    assert!(
        t.elapsed() >= IO_TIMEOUT - Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    assert!(
        t.elapsed() < IO_TIMEOUT + Duration::from_secs(1),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(post(addr, Some(b"ops:s3cret-0123456789"), version).0, 200);

    // A new password, read by config-reload (whose config part is not available here).
    password_file(dir.path(), "n3w-0123456789abc\n");
    let (_, _, body) = post(
        addr,
        Some(b"ops:s3cret-0123456789"),
        r#"{"command":"config-reload"}"#,
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v[0]["result"], 1, "{v}");
    assert_eq!(post(addr, Some(b"ops:s3cret-0123456789"), version).0, 401);
    assert_eq!(post(addr, Some(b"ops:n3w-0123456789abc"), version).0, 200);

    // A client that sends its head and stalls holds only its own thread: stop is prompt.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled
        .write_all(format!("POST / HTTP/1.1\r\n{auth}Content-Length: 5000\r\n\r\n{{").as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    endpoint.stop();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(TcpStream::connect(addr).is_err() || post_fails(addr));
    drop(stalled);
}

/// After stop nothing answers a command.
fn post_fails(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return true;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    !String::from_utf8_lossy(&out).contains("\"result\":0")
}
