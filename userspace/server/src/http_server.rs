//! A minimal, bounded HTTP/1.1 server (RFC 9112) on `std::net` and `mio`, used by the
//! metrics endpoint ([`crate::metrics`]) and the control API's HTTP listener
//! ([`crate::control_api::http`]).
//!
//! Our own on purpose: `tiny_http` 0.12, used before, could not be exposed. One unauthenticated
//! request with `Content-Length: 4611686018427387904` and no body aborted tandemd (dropping an
//! unread request allocated `vec![0; remaining]`); ~520 idle connections exhausted the file
//! descriptors and its accept thread panicked on `EMFILE`, leaving the listener dead for good;
//! its threads were unbounded and it set no socket timeouts, so stalled clients held them
//! forever; a header line without CRLF was buffered without limit. Here:
//!
//! - at most [`Limits::connections`] connections at a time, each with a thread of its own,
//!   kept in a registry ([`registry`]). At the cap, the oldest connection not yet admitted
//!   (head incomplete, or [`Handler::admit`] not passed) is shut down to make room for the
//!   newcomer, so idle or half-sent requests from one host cannot keep everyone out, nor can
//!   answered ones it never closes (the lingering close may be cut too); admitted connections
//!   are never cut before their answer is written, and when all are, the newcomer is closed at
//!   once, after a best-effort non-blocking `503`;
//! - one **deadline per connection**, not per read: the head and the body must both have
//!   arrived within [`Limits::deadline`] of the accept (408 otherwise, slowloris included);
//!   the answer must be written within [`Limits::write_deadline`];
//! - the head is at most [`HEAD_MAX`] bytes and [`HEADER_LINES_MAX`] header lines (431); it is
//!   read into a fixed buffer;
//! - a body only with a `Content-Length` of at most [`Limits::body_max`] (413 above, before a
//!   byte of it is read), read into a buffer of exactly that size; `Transfer-Encoding` is not
//!   implemented (501);
//! - [`Handler::admit`] sees the head before the body is read, so a handler answers 401, 404
//!   or 405 without reading it; `Expect: 100-continue` gets its `100 Continue` only after
//!   `admit` passed and the length was accepted;
//! - every answer has `Content-Length` and `Connection: close`; the connection is closed after
//!   it. Before closing, what the client still sends is read and discarded into a fixed buffer
//!   for at most [`LINGER`] and `body_max` + [`HEAD_MAX`] bytes, so that the answer is not lost
//!   to a TCP reset (a "lingering close");
//! - accept errors (`EMFILE`, `ENFILE`, `ECONNABORTED`, …) are logged at most once per
//!   [`WARN_INTERVAL`] and retried after [`ACCEPT_BACKOFF`]: the listener never dies;
//! - [`Server::stop`] wakes the accept thread (a `mio` waker) and joins it; connection threads
//!   end by their own deadlines.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use tracing::{debug, warn};

mod head;
mod registry;
#[cfg(test)]
mod tests;

pub(crate) use head::Head;
use registry::{Entry, Registry, Slot};

/// The longest request head (request line and header lines) read.
pub(crate) const HEAD_MAX: usize = 8 * 1024;
/// The most header lines in a head.
pub(crate) const HEADER_LINES_MAX: usize = 64;
/// How long the client's further bytes are discarded after the answer, at most.
pub(crate) const LINGER: Duration = Duration::from_secs(1);
/// How long the accept thread waits after an accept error before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At most one warning about accept errors (or refused connections) per this interval.
const WARN_INTERVAL: Duration = Duration::from_secs(10);
/// How long the accept thread sleeps when the handler asks for no tick.
const POLL: Duration = Duration::from_secs(1);

const LISTENER: Token = Token(0);
const WAKE: Token = Token(1);

/// The bounds of one listener.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// The thread names (`tandem-metrics`; connections get a `-c` suffix).
    pub(crate) name: &'static str,
    /// Connections served at a time; more are closed at once.
    pub(crate) connections: usize,
    /// From the accept to the end of the body.
    pub(crate) deadline: Duration,
    /// For writing the answer.
    pub(crate) write_deadline: Duration,
    /// The longest body accepted (0: no body).
    pub(crate) body_max: usize,
}

/// A request: its head and its body (of `Content-Length` bytes).
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) head: Head,
    pub(crate) body: Vec<u8>,
}

/// An answer. `Content-Length` and `Connection: close` are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// A `text/plain` answer.
    pub(crate) fn plain(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: body.into().into_bytes(),
        }
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// What a listener does with requests. Called from connection threads, several at a time.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Looks at the head before any of the body is read: `Err` is the answer, and the body is
    /// never read.
    fn admit(&self, _head: &Head) -> Result<(), Response> {
        Ok(())
    }

    /// Answers a complete request.
    fn handle(&self, request: Request) -> Response;

    /// Called by the accept thread whenever it wakes; returns how long it may sleep at most
    /// before the next call (`None`: no wish).
    fn tick(&self, _now: Instant) -> Option<Duration> {
        None
    }
}

/// A bound listening socket, not yet served.
pub(crate) struct Listener {
    listener: TcpListener,
    addr: SocketAddr,
}

/// Binds `addr` (non-blocking, for the accept thread's poll).
pub(crate) fn bind(addr: SocketAddr) -> io::Result<Listener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    Ok(Listener { listener, addr })
}

impl Listener {
    /// The address bound (the port chosen when 0 was given).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts the accept thread.
    pub(crate) fn start<H: Handler>(self, limits: Limits, handler: Arc<H>) -> io::Result<Server> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        poll.registry().register(
            &mut SourceFd(&self.listener.as_raw_fd()),
            LISTENER,
            Interest::READABLE,
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let accept = Accept {
            listener: self.listener,
            poll,
            limits,
            handler,
            registry: Registry::default(),
            stop: stop.clone(),
            warned: None,
            suppressed: 0,
        };
        let thread = std::thread::Builder::new()
            .name(accept.limits.name.to_owned())
            .spawn(move || accept.run())?;
        Ok(Server {
            waker,
            stop,
            thread,
        })
    }
}

/// A running listener; [`Server::stop`] ends it.
pub(crate) struct Server {
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Server {
    /// Stops accepting, closes the listening socket and joins the accept thread. Connections
    /// being served end by their deadlines.
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Err(e) = self.waker.wake() {
            warn!(error = %e, "HTTP listener: could not wake the accept thread");
        }
        if self.thread.join().is_err() {
            warn!("HTTP listener: the accept thread panicked");
        }
    }
}

/// The accept thread's state.
struct Accept<H> {
    listener: TcpListener,
    poll: Poll,
    limits: Limits,
    handler: Arc<H>,
    registry: Registry,
    stop: Arc<AtomicBool>,
    /// When a warning was last logged, and how many were not logged since.
    warned: Option<Instant>,
    suppressed: u64,
}

impl<H: Handler> Accept<H> {
    fn run(mut self) {
        let mut events = Events::with_capacity(8);
        let mut timeout = POLL;
        while !self.stop.load(Ordering::Relaxed) {
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.warn(&format!("poll failed: {e}"));
                    std::thread::sleep(ACCEPT_BACKOFF);
                }
            }
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            // Accepting on every wake-up (not only on readiness) retries after an error.
            let failed = self.accept_all();
            let wish = self.handler.tick(Instant::now()).unwrap_or(POLL);
            timeout = if failed {
                ACCEPT_BACKOFF
            } else {
                wish.clamp(Duration::from_millis(10), POLL)
            };
        }
    }

    /// Accepts until none is waiting; `true` after an error (to be retried soon).
    fn accept_all(&mut self) -> bool {
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => self.serve(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.warn(&format!("accept failed: {e}; retrying"));
                    return true;
                }
            }
        }
    }

    fn serve(&mut self, stream: TcpStream, peer: SocketAddr) {
        let clone = match stream.try_clone() {
            Ok(c) => c,
            Err(e) => {
                self.warn(&format!("a connection from {peer} closed: {e}"));
                return;
            }
        };
        let max = self.limits.connections;
        let slot = match self.registry.enter(clone, Instant::now(), max) {
            Entry::In(slot) => slot,
            Entry::Evicted(slot, age) => {
                self.warn(&format!(
                    "{max} connections already; the oldest not admitted ({} ms old) \
                     closed for one from {peer}",
                    age.as_millis()
                ));
                slot
            }
            Entry::Full => {
                refuse(stream);
                self.warn(&format!(
                    "{max} admitted connections already; one from {peer} closed"
                ));
                return;
            }
        };
        let (limits, handler) = (self.limits.clone(), self.handler.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("{}-c", self.limits.name))
            .spawn(move || {
                connection(stream, peer, &limits, &*handler, &slot);
            });
        if let Err(e) = spawned {
            // The closure, its slot and the stream were dropped: the place is free again.
            self.warn(&format!("no thread for a connection: {e}"));
        }
    }

    /// Logs at warn, at most once per [`WARN_INTERVAL`].
    fn warn(&mut self, what: &str) {
        let now = Instant::now();
        let due = self
            .warned
            .is_none_or(|t| now.saturating_duration_since(t) >= WARN_INTERVAL);
        if due {
            warn!(
                listener = self.limits.name,
                not_logged_before = self.suppressed,
                "HTTP listener: {what}"
            );
            self.warned = Some(now);
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
    }
}

/// A best-effort `503` on a connection beyond the limit, never waiting.
fn refuse(stream: TcpStream) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                          Connection: close\r\n\r\n";
    if stream.set_nonblocking(true).is_ok() {
        let _ = (&stream).write(BUSY);
    }
}

/// Why reading stopped.
enum ReadEnd {
    /// The deadline passed.
    Late,
    /// The client closed its side, or the connection failed.
    Gone,
}

/// One read before `deadline`.
fn read_by(stream: &mut TcpStream, buf: &mut [u8], deadline: Instant) -> Result<usize, ReadEnd> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadEnd::Late);
        }
        if stream.set_read_timeout(Some(left)).is_err() {
            return Err(ReadEnd::Gone);
        }
        match stream.read(buf) {
            Ok(0) => return Err(ReadEnd::Gone),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Err(ReadEnd::Gone),
        }
    }
}

/// Writes all of `bytes` before `deadline`.
fn write_by(stream: &mut TcpStream, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
    while !bytes.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn late() -> Response {
    Response::plain(
        408,
        "408 Request Timeout: the request did not arrive in time\n",
    )
}

/// One connection: one request, one answer, then a lingering close.
fn connection<H: Handler + ?Sized>(
    mut stream: TcpStream,
    peer: SocketAddr,
    limits: &Limits,
    handler: &H,
    slot: &Slot,
) {
    let deadline = Instant::now() + limits.deadline;
    let _ = stream.set_nodelay(true);
    let Some((response, head_only)) = exchange(&mut stream, peer, limits, handler, slot, deadline)
    else {
        return;
    };
    let bytes = encode(&response, head_only);
    if let Err(e) = write_by(&mut stream, &bytes, Instant::now() + limits.write_deadline) {
        debug!(%peer, error = %e, "HTTP: the answer could not be written");
        return;
    }
    slot.answered();
    linger(&mut stream, limits.body_max.saturating_add(HEAD_MAX));
}

/// Reads and answers the request; `None` when the client went away before a full head, or
/// the connection was cut to make room before it was admitted. The `bool` is true for `HEAD`
/// (an answer without its body).
fn exchange<H: Handler + ?Sized>(
    stream: &mut TcpStream,
    peer: SocketAddr,
    limits: &Limits,
    handler: &H,
    slot: &Slot,
    deadline: Instant,
) -> Option<(Response, bool)> {
    let mut buf = [0u8; HEAD_MAX];
    let mut len = 0;
    let end = loop {
        if let Some(end) = head::end(&buf[..len]) {
            break end;
        }
        if len == buf.len() {
            return Some((head::too_large(), false));
        }
        match read_by(stream, &mut buf[len..], deadline) {
            Ok(n) => len += n,
            Err(ReadEnd::Late) if len > 0 => return Some((late(), false)),
            Err(_) => return None,
        }
    };
    let head = match head::parse(&buf[..end], peer) {
        Ok(h) => h,
        Err(r) => return Some((r, false)),
    };
    let head_only = head.method == "HEAD";
    let answer = |r| Some((r, head_only));
    if let Err(r) = handler.admit(&head) {
        return answer(r);
    }
    let length = match head.body_length(limits.body_max) {
        Ok(n) => n,
        Err(r) => return answer(r),
    };
    if !slot.admit() {
        return None;
    }
    let mut body = Vec::with_capacity(length);
    let early = &buf[end..len];
    body.extend_from_slice(&early[..early.len().min(length)]);
    // Not for an HTTP/1.0 client (RFC 9110 §10.1.1).
    if body.len() < length && head.expects_continue() {
        let go = b"HTTP/1.1 100 Continue\r\n\r\n";
        if write_by(stream, go, deadline).is_err() {
            return None;
        }
    }
    let mut chunk = [0u8; 4096];
    while body.len() < length {
        let want = (length - body.len()).min(chunk.len());
        match read_by(stream, &mut chunk[..want], deadline) {
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(ReadEnd::Late) => return answer(late()),
            Err(ReadEnd::Gone) => return None,
        }
    }
    answer(handler.handle(Request { head, body }))
}

/// The bytes of an answer.
fn encode(r: &Response, head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        head::reason(r.status),
        r.content_type,
        r.body.len()
    )
    .into_bytes();
    for (name, value) in &r.headers {
        // Values are the handlers' own; a line break would split the head.
        let value: String = value.chars().filter(|c| !c.is_control()).collect();
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(&r.body);
    }
    out
}

/// Ends our side, then discards what the client still sends (at most `max` bytes, for at
/// most [`LINGER`]) into a fixed buffer, so that closing does not reset the connection
/// before the client read the answer.
fn linger(stream: &mut TcpStream, max: usize) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut sink = [0u8; 4096];
    let mut seen = 0usize;
    while seen < max {
        match read_by(stream, &mut sink, deadline) {
            Ok(n) => seen += n,
            Err(_) => return,
        }
    }
}
