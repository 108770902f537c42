//! One request to tandemd's control API over HTTP (`--url`): `POST` of the command JSON with
//! HTTP Basic credentials (RFC 7617), answered in Kea Control Agent's shape (an array with
//! the one answer). A minimal HTTP/1.1 client on `std::net`: one request per connection
//! (`Connection: close`), the answer read to its `Content-Length`, chunked or to the end.
//! The whole exchange (connect, send, read) has one deadline, [`ANSWER_TIMEOUT`]: a server
//! that trickles its answer a byte at a time does not hold tandemctl longer.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::client::{ClientError, ANSWER_LEN_MAX, ANSWER_TIMEOUT};

/// Where to send requests, and the credentials (which `Debug` does not show).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct HttpTarget {
    /// The URL as given, for messages.
    url: String,
    /// `host:port`, for connecting and for the `Host` header.
    authority: String,
    /// The request path (`/` when the URL has none).
    path: String,
    /// `base64(user:password)`.
    basic: String,
}

impl std::fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTarget")
            .field("url", &self.url)
            .field("authority", &self.authority)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl HttpTarget {
    /// `url` is `http://HOST[:PORT][/PATH]` (port 80 when absent); the password is the first
    /// line of `password_file`, which must be readable by its owner only (as tandemd's own).
    pub(crate) fn new(url: &str, user: &str, password_file: &Path) -> Result<Self, String> {
        let password = tandem_config::read_http_password(password_file)
            .map_err(|e| format!("--password-file {}: {e}", password_file.display()))?;
        Self::with_password(url, user, &password)
    }

    pub(crate) fn with_password(url: &str, user: &str, password: &[u8]) -> Result<Self, String> {
        if user.contains(':') {
            return Err(format!("--user `{user}`: a Basic user name has no ':'"));
        }
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("--url `{url}`: only http:// URLs (tandemd serves no TLS)"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!(
                "--url `{url}`: no host (give credentials with --user)"
            ));
        }
        // A port unless the host ends the authority (`host`, `[v6]`).
        let has_port = match authority.rfind(']') {
            Some(close) => authority[close..].contains(':'),
            None => authority.contains(':'),
        };
        let authority = if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let mut credentials = user.as_bytes().to_vec();
        credentials.push(b':');
        credentials.extend_from_slice(password);
        Ok(Self {
            url: url.to_owned(),
            authority,
            path: path.to_owned(),
            basic: base64::engine::general_purpose::STANDARD.encode(credentials),
        })
    }

    /// Sends `request` and returns tandemd's answer (the one object of the agent's array),
    /// all within [`ANSWER_TIMEOUT`].
    pub(crate) fn call(&self, request: &str) -> Result<Value, ClientError> {
        self.call_within(request, ANSWER_TIMEOUT)
    }

    /// [`Self::call`] with the whole exchange bounded by `limit`.
    fn call_within(&self, request: &str, limit: Duration) -> Result<Value, ClientError> {
        let deadline = Instant::now() + limit;
        let url = self.url.clone();
        let io = |source| ClientError::HttpIo {
            url: url.clone(),
            source,
        };
        let addrs =
            self.authority
                .to_socket_addrs()
                .map_err(|source| ClientError::HttpConnect {
                    url: self.url.clone(),
                    source,
                })?;
        let mut last = None;
        let mut stream = None;
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                last = Some(io::ErrorKind::TimedOut.into());
                break;
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let mut s = stream.ok_or_else(|| ClientError::HttpConnect {
            url: self.url.clone(),
            source: last.unwrap_or_else(|| io::ErrorKind::NotFound.into()),
        })?;
        let body = request.trim_end();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.authority,
            self.basic,
            body.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(body.as_bytes());
        write_by(&mut s, &out, deadline).map_err(io)?;
        let raw = read_to_end_by(&mut s, ANSWER_LEN_MAX, deadline).map_err(io)?;
        self.answer(&raw)
    }

    /// The answer object in a raw HTTP response.
    fn answer(&self, raw: &[u8]) -> Result<Value, ClientError> {
        let bad = |why: String| ClientError::HttpBadAnswer {
            url: self.url.clone(),
            why,
        };
        let (status, body) = parse_response(raw).map_err(bad)?;
        let text = String::from_utf8_lossy(&body).trim().to_owned();
        if status != 200 {
            return Err(ClientError::HttpStatus {
                url: self.url.clone(),
                status,
                text,
            });
        }
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| bad(format!("the answer is not JSON ({e}): {text:?}")))?;
        match v {
            Value::Array(mut list) if list.len() == 1 && list[0].is_object() => {
                Ok(list.swap_remove(0))
            }
            v @ Value::Object(_) => Ok(v),
            v => Err(bad(format!("not an answer object or an array of one: {v}"))),
        }
    }
}

/// The time left before `deadline`, or a timeout error.
fn left(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no complete answer within {} s", ANSWER_TIMEOUT.as_secs()),
        ));
    }
    Ok(left)
}

/// Writes all of `bytes` before `deadline`.
fn write_by(s: &mut TcpStream, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        s.set_write_timeout(Some(left(deadline)?))?;
        match s.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if is_retry(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads until the server closes (at most `max` bytes) before `deadline`.
fn read_to_end_by(s: &mut TcpStream, max: u64, deadline: Instant) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while (out.len() as u64) < max {
        s.set_read_timeout(Some(left(deadline)?))?;
        let want = buf
            .len()
            .min(usize::try_from(max - out.len() as u64).unwrap_or(usize::MAX));
        match s.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if is_retry(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// A timed-out or interrupted call, tried again (the deadline decides).
fn is_retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Status code and body of an HTTP/1.x response (`Content-Length`, chunked, or to the end).
pub(crate) fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no complete HTTP response head")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "the response head is not text")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.split(' ').nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP/1 status line: {status_line:?}"))?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("content-length") {
            length = Some(
                v.parse::<usize>()
                    .map_err(|_| format!("bad Content-Length {v:?}"))?,
            );
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.to_ascii_lowercase().contains("chunked");
        }
    }
    let rest = &raw[end + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(n) = length {
        rest.get(..n)
            .ok_or_else(|| format!("the body ends after {} of {n} bytes", rest.len()))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok((status, body))
}

/// A chunked body (RFC 9112 §7.1), trailers ignored.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line does not end")?;
        let line = std::str::from_utf8(&rest[..eol]).map_err(|_| "a chunk size is not text")?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {size:?}"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or("a chunk is cut short")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("a chunk does not end")?;
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn urls_and_users() {
        let t = HttpTarget::with_password("http://127.0.0.1:8000", "ops", b"pw").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:8000", "/")
        );
        assert_eq!(t.basic, "b3BzOnB3");
        let t = HttpTarget::with_password("http://[::1]/ctl", "ops", b"pw").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("[::1]:80", "/ctl")
        );
        let t = HttpTarget::with_password("http://[fd00::1]:9000/", "ops", b"pw").unwrap();
        assert_eq!(t.authority, "[fd00::1]:9000");
        let t = HttpTarget::with_password("http://ctl.example", "ops", b"pw").unwrap();
        assert_eq!(t.authority, "ctl.example:80");
        for bad in [
            "https://h:1",
            "127.0.0.1:8000",
            "http://",
            "http://u:p@h:1/",
        ] {
            assert!(
                HttpTarget::with_password(bad, "ops", b"pw").is_err(),
                "{bad}"
            );
        }
        assert!(HttpTarget::with_password("http://h:1", "o:ps", b"pw").is_err());
    }

    #[test]
    fn responses_by_length_chunks_or_end() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n[{}]xx";
        assert_eq!(parse_response(r).unwrap(), (200, b"[{}]".to_vec()));
        let r = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n[{\r\n2;x=y\r\n}]\r\n0\r\n\r\n";
        assert_eq!(parse_response(r).unwrap(), (200, b"[{}]".to_vec()));
        let r = b"HTTP/1.0 401 Unauthorized\r\n\r\nno";
        assert_eq!(parse_response(r).unwrap(), (401, b"no".to_vec()));
        for junk in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\n",
            b"SIP/2.0 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab",
        ] {
            assert!(
                parse_response(junk).is_err(),
                "{:?}",
                String::from_utf8_lossy(junk)
            );
        }
    }

    /// A fake agent on loopback: the request carries the credentials and the body; the
    /// array's one answer comes back; a 401 is an error naming the status.
    #[test]
    fn posts_with_credentials_and_unwraps_the_agents_array() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let mut got = Vec::new();
            let ok = r#"[{"result":0,"text":"1.0.0"}]"#;
            for answer in [
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\n\r\n{ok}",
                    ok.len()
                ),
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nno\r\n".to_owned(),
            ] {
                let (mut c, _) = l.accept().unwrap();
                let mut buf = vec![0u8; 4096];
                let mut req = Vec::new();
                while !String::from_utf8_lossy(&req).contains("version-get\"}") {
                    let n = c.read(&mut buf).unwrap();
                    req.extend_from_slice(&buf[..n]);
                }
                c.write_all(answer.as_bytes()).unwrap();
                got.push(String::from_utf8(req).unwrap());
            }
            got
        });
        let t = HttpTarget::with_password(&format!("http://{addr}"), "ops", b"pw").unwrap();
        let v = t.call("{\"command\":\"version-get\"}\n").unwrap();
        assert_eq!(v["text"], "1.0.0");
        let e = t
            .call("{\"command\":\"version-get\"}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("401") && e.contains("--password-file"), "{e}");
        let got = server.join().unwrap();
        assert!(got[0].starts_with("POST / HTTP/1.1\r\n"), "{}", got[0]);
        assert!(
            got[0].contains("\r\nAuthorization: Basic b3BzOnB3\r\n"),
            "{}",
            got[0]
        );
        assert!(
            got[0].ends_with("\r\n\r\n{\"command\":\"version-get\"}"),
            "{}",
            got[0]
        );
    }

    /// A server that trickles its answer, a byte every 100 ms, is given up at the deadline
    /// of the whole exchange (each read alone would be quick enough).
    #[test]
    fn a_trickling_answer_is_cut_at_the_deadline() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            for b in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                .iter()
                .cycle()
                .take(60)
            {
                if c.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let t = HttpTarget::with_password(&format!("http://{addr}"), "ops", b"pw").unwrap();
        let started = Instant::now();
        let e = t
            .call_within("{\"command\":\"version-get\"}", Duration::from_millis(700))
            .unwrap_err()
            .to_string();
        let took = started.elapsed();
        assert!(e.contains("no complete answer within"), "{e}");
        assert!(
            took >= Duration::from_millis(650) && took < Duration::from_millis(1500),
            "{took:?}"
        );
        server.join().unwrap();
    }
}
