//! The control API: JSON commands over a Unix socket, in Kea's shape (`{"command": ...,
//! "arguments": ...}` → `{"result": ..., "text": ..., "arguments": ...}`), for `tandemctl` and
//! operators' own tools (`socat UNIX:/var/lib/tandem/control.sock -`).
//!
//! One thread accepts connections one at a time. A connection carries one request: a JSON
//! object ended by a newline, by the end of the object, or by the client closing its side; at
//! most [`protocol::REQUEST_LEN_MAX`] bytes, within [`IO_TIMEOUT`]. The answer is one line of
//! JSON, then the connection is closed. Commands are in [`commands`]; the lease commands are
//! answered by the workers owning the leases ([`crate::worker::admin`]).

mod commands;
pub(crate) mod http;
mod kea_json;
mod protocol;

use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context};
use mio::{Events, Interest, Poll, Token, Waker};
use tracing::{debug, info, warn};

pub(crate) use commands::{PartnerDown, Sources};
use protocol::{Response, REQUEST_LEN_MAX};

/// How long a client may take to send its request, and to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// The socket's file mode: owner and group (`unix(7)`: connecting needs write permission).
const SOCKET_MODE: u32 = 0o660;

const LISTENER: Token = Token(0);
const STOP: Token = Token(1);

/// The control socket, bound at start-up before any worker runs.
pub(crate) struct Bound {
    listener: UnixListener,
    path: PathBuf,
}

/// Binds the socket at `path` (mode 0660), creating its directory. A socket file left by a
/// process that is gone is replaced; one a live process answers on is an error.
pub(crate) fn bind(path: &Path) -> anyhow::Result<Bound> {
    let what = || format!("control socket {}", path.display());
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!("{}: the path exists and is not a socket", what());
        }
        if UnixStream::connect(path).is_ok() {
            bail!(
                "{}: another process answers there (is tandemd already running?)",
                what()
            );
        }
        std::fs::remove_file(path).with_context(what)?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(what)?;
    }
    let listener = UnixListener::bind(path).with_context(what)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .with_context(what)?;
    listener.set_nonblocking(true).with_context(what)?;
    Ok(Bound {
        listener,
        path: path.to_owned(),
    })
}

/// The running control thread; [`Endpoint::stop`] ends it.
pub(crate) struct Endpoint {
    waker: Arc<Waker>,
    thread: JoinHandle<()>,
    path: PathBuf,
}

impl Bound {
    /// Starts the control thread; `sources` may be shared with the HTTP listener
    /// ([`http`]).
    pub(crate) fn start(self, sources: Arc<Sources>) -> anyhow::Result<Endpoint> {
        let poll = Poll::new().context("control socket poll")?;
        let waker = Arc::new(Waker::new(poll.registry(), STOP).context("control socket waker")?);
        let mut listener = mio::net::UnixListener::from_std(self.listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .context("control socket poll")?;
        let thread = std::thread::Builder::new()
            .name("tandem-ctlapi".into())
            .spawn(move || serve(poll, &listener, &sources))?;
        info!(socket = %self.path.display(), "control socket: Kea-style JSON commands");
        Ok(Endpoint {
            waker,
            thread,
            path: self.path,
        })
    }
}

impl Endpoint {
    /// Stops accepting, lets the thread finish its request, joins it and removes the socket.
    pub(crate) fn stop(self) {
        let _ = self.waker.wake();
        if self.thread.join().is_err() {
            warn!("the control socket thread panicked");
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(mut poll: Poll, listener: &mio::net::UnixListener, sources: &Sources) {
    let mut events = Events::with_capacity(8);
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            warn!(error = %e, "control socket: poll failed; the control API stops");
            return;
        }
        if events.iter().any(|e| e.token() == STOP) {
            return;
        }
        // Edge-triggered: take every waiting connection.
        loop {
            match listener.accept() {
                Ok((stream, _)) => handle(stream.into(), sources),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    debug!(error = %e, "control socket: accept failed");
                    break;
                }
            }
        }
    }
}

/// One connection: read its request, answer, close.
fn handle(mut stream: UnixStream, sources: &Sources) {
    let prepared = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(IO_TIMEOUT)))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)));
    if let Err(e) = prepared {
        debug!(error = %e, "control socket: connection setup failed");
        return;
    }
    let answer = match read_request(&mut stream) {
        Ok(None) => return,
        Ok(Some(bytes)) => match protocol::parse(&bytes) {
            Ok(cmd) => {
                debug!(command = ?cmd, "control command");
                sources.answer(cmd)
            }
            Err(r) => r,
        },
        Err(r) => r,
    };
    if let Err(e) = stream
        .write_all(&answer.to_line())
        .and_then(|()| stream.flush())
    {
        debug!(error = %e, "control socket: could not send the answer");
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// Reads one request: up to a newline, the end of a complete JSON value, or the end of the
/// stream. `Ok(None)`: the client sent nothing and left. `Err`: the answer to give instead.
fn read_request(stream: &mut impl Read) -> Result<Option<Vec<u8>>, Response> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.iter().position(|&b| b == b'\n') {
            if buf[..end].iter().all(u8::is_ascii_whitespace) {
                // A blank line before the request.
                buf.drain(..=end);
                continue;
            }
            buf.truncate(end);
            return Ok(Some(buf));
        }
        if complete_json(&buf) {
            return Ok(Some(buf));
        }
        if buf.len() > REQUEST_LEN_MAX {
            return Err(Response::error(format!(
                "the request is longer than {REQUEST_LEN_MAX} bytes"
            )));
        }
        match stream.read(&mut chunk) {
            Ok(0) if buf.iter().all(u8::is_ascii_whitespace) => return Ok(None),
            Ok(0) => return Ok(Some(buf)),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Response::error(format!(
                    "no complete request within {} s",
                    IO_TIMEOUT.as_secs()
                )))
            }
            Err(e) => {
                debug!(error = %e, "control socket: read failed");
                return Ok(None);
            }
        }
    }
}

/// Whether `buf` holds a whole JSON value, or text no continuation can make valid (both are
/// ready for [`protocol::parse`]); false while more bytes could complete it.
fn complete_json(buf: &[u8]) -> bool {
    if buf.iter().all(u8::is_ascii_whitespace) {
        return false;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(buf) {
        Ok(_) => true,
        Err(e) => !e.is_eof(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A reader handing out its bytes in the given pieces, then EOF (or a timeout).
    struct Pieces(Vec<Vec<u8>>, bool);

    impl Read for Pieces {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                if self.1 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                return Ok(0);
            }
            let p = self.0.remove(0);
            out[..p.len()].copy_from_slice(&p);
            Ok(p.len())
        }
    }

    fn pieces(p: &[&str], stall: bool) -> Pieces {
        Pieces(p.iter().map(|s| s.as_bytes().to_vec()).collect(), stall)
    }

    #[test]
    fn requests_end_at_a_newline_the_end_of_the_object_or_eof() {
        let whole = r#"{"command":"version-get"}"#;
        for p in [
            vec![whole, "\n{\"x\""],
            vec!["\n", "{\"command\":", "\"version-get\"}"],
            vec!["{\"command\":\"version-get\"", "}"],
        ] {
            // Stalling after the pieces: the request must be complete without EOF.
            let got = read_request(&mut pieces(&p, true)).unwrap().unwrap();
            assert_eq!(String::from_utf8(got).unwrap().trim(), whole, "{p:?}");
        }
        let got = read_request(&mut pieces(&["{\"command\""], false))
            .unwrap()
            .unwrap();
        assert_eq!(
            got, b"{\"command\"",
            "EOF ends an incomplete request: parse reports it"
        );
        assert_eq!(read_request(&mut pieces(&[" \n "], false)).unwrap(), None);
        // Garbage is handed on at once for parse to name.
        assert_eq!(
            read_request(&mut pieces(&["}{"], true)).unwrap().unwrap(),
            b"}{"
        );
    }

    #[test]
    fn stalled_and_oversized_requests_are_refused() {
        let r = read_request(&mut pieces(&["{\"command\":"], true)).unwrap_err();
        assert_eq!(r.result, 1);
        assert!(r.text.contains("no complete request"), "{}", r.text);
        // Read in 4 KiB pieces; the bound is checked between them.
        let long = format!("{{\"command\":\"{}", "x".repeat(REQUEST_LEN_MAX));
        let mut p = Pieces(
            long.as_bytes().chunks(4096).map(<[u8]>::to_vec).collect(),
            true,
        );
        let r = read_request(&mut p).unwrap_err();
        assert!(r.text.contains("longer than 65536"), "{}", r.text);
    }

    /// The socket end to end: bind (replacing a stale file), mode 0660, a request, a second
    /// bind refused while the first serves, and stop removing the file.
    #[test]
    fn serves_over_a_real_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/ctl.sock");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        drop(UnixListener::bind(&path).unwrap()); // stale
        let bound = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        let sources = Sources {
            workers: Vec::new(),
            storage: dir.path().to_owned(),
            datapath: "socket",
            durability: "durable",
            failover: None,
            partner_down: None,
            started: Instant::now(),
            reload: None,
            http: None,
        };
        let endpoint = bound.start(Arc::new(sources)).unwrap();
        let ask = |req: &str| {
            let mut s = UnixStream::connect(&path).unwrap();
            s.write_all(req.as_bytes()).unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            serde_json::from_str::<serde_json::Value>(&out).unwrap()
        };
        // No newline and no EOF: the end of the object ends the request.
        let v = ask(r#"{"command":"version-get"}"#);
        assert_eq!(v["result"], 0);
        let v = ask("not json\n");
        assert_eq!(v["result"], 1);
        let e = bind(&path).err().unwrap();
        assert!(format!("{e:#}").contains("already running"), "{e:#}");
        endpoint.stop();
        assert!(!path.exists());
        // A regular file is not replaced.
        std::fs::write(&path, b"x").unwrap();
        assert!(format!("{:#}", bind(&path).err().unwrap()).contains("not a socket"));
    }
}
