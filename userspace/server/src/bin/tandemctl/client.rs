//! One request over tandemd's control socket: connect, send the JSON line, read the answer.
//! ([`crate::http_client`] is the same over HTTP.)

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// Longest wait for an answer: a lease deletion waits for the disk, a partner-down for the
/// failover state (tandemd gives up on its workers after 5 s).
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest answer read (a page of 10,000 leases is about 3.5 MB).
pub(crate) const ANSWER_LEN_MAX: u64 = 64 << 20;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ClientError {
    #[error("cannot connect to the control socket {path}: {source} (is tandemd running? see --socket and --config)")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("control socket {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("control socket {path}: the answer is not JSON ({source}): {text:?}")]
    BadAnswer {
        path: String,
        source: serde_json::Error,
        text: String,
    },
    #[error("cannot connect to {url}: {source} (is tandemd's [control] http-listen there?)")]
    HttpConnect { url: String, source: std::io::Error },
    #[error("{url}: {source}")]
    HttpIo { url: String, source: std::io::Error },
    #[error("{url}: HTTP {status}{}: {text}", if *.status == 401 { " (check --user and --password-file)" } else { "" })]
    HttpStatus {
        url: String,
        status: u16,
        text: String,
    },
    #[error("{url}: {why}")]
    HttpBadAnswer { url: String, why: String },
}

/// Sends `request` (one line) and returns tandemd's answer.
pub(crate) fn call(socket: &Path, request: &str) -> Result<Value, ClientError> {
    let path = socket.display().to_string();
    let mut s = UnixStream::connect(socket).map_err(|source| ClientError::Connect {
        path: path.clone(),
        source,
    })?;
    let io = |source| ClientError::Io {
        path: path.clone(),
        source,
    };
    s.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(io)?;
    s.set_write_timeout(Some(ANSWER_TIMEOUT)).map_err(io)?;
    let mut line = request.trim_end().as_bytes().to_vec();
    line.push(b'\n');
    s.write_all(&line).map_err(io)?;
    s.shutdown(std::net::Shutdown::Write).map_err(io)?;
    let mut text = String::new();
    s.take(ANSWER_LEN_MAX)
        .read_to_string(&mut text)
        .map_err(io)?;
    serde_json::from_str(text.trim()).map_err(|source| ClientError::BadAnswer {
        path: path.clone(),
        source,
        text,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixListener;

    use super::*;

    #[test]
    fn a_missing_socket_says_tandemd_may_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let e = call(&dir.path().join("none.sock"), "{}").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("none.sock") && text.contains("is tandemd running?"),
            "{text}"
        );
    }

    #[test]
    fn sends_one_line_and_reads_the_answer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let l = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut got = String::new();
            c.read_to_string(&mut got).unwrap();
            c.write_all(b"{\"result\":0,\"text\":\"ok\"}\n").unwrap();
            got
        });
        let v = call(&path, "{\"command\":\"version-get\"}").unwrap();
        assert_eq!(v["text"], "ok");
        assert_eq!(server.join().unwrap(), "{\"command\":\"version-get\"}\n");
    }
}
