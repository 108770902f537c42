//! The control API over HTTP (`[control] http-listen`), in Kea Control Agent's shape so that
//! Kea scripts and Stork-style tools work: `POST /` with the command JSON the socket takes
//! (`"service": ["dhcp6"]` accepted, another service refused), answered by the same
//! dispatcher ([`Sources::answer`]) as a JSON **array** holding the one answer.
//!
//! Every request needs HTTP Basic credentials (RFC 7617), as Kea CA's `authentication` does:
//! the one `http-user` and the first line of `http-password-file` (at least 16 bytes, since
//! guesses are not rate-limited), compared in constant time.
//! Anything else gets 401 with `WWW-Authenticate: Basic realm="tandem"`, is counted
//! (`tandem_control_http_auth_failures_total`) and logged at warn with the peer, at most once
//! per [`WARN_INTERVAL`]. The password file is read at start-up and at every reload (SIGHUP,
//! `config-reload`). No TLS: keep the listener on loopback or behind a reverse proxy.
//!
//! HTTP is [`crate::http_server`] (our own, bounded; its module doc says why not `tiny_http`):
//! at most [`CONNECTIONS`] connections, each with its own thread; the head and the body must
//! arrive within [`IO_TIMEOUT`] of the accept (the socket's bound; 408 otherwise), the answer
//! be written within [`WRITE_DEADLINE`]. Credentials are checked on the head, before any of
//! the body is read: 401 comes before anything else, then 404 and 405, then 413 for a
//! `Content-Length` above [`REQUEST_LEN_MAX`] (the body is never read then); `Expect:
//! 100-continue` is answered after authentication passed. Commands are answered one at a
//! time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine as _;
use subtle::ConstantTimeEq;
use tandem_config::{FileProblem, HttpControl};
use tracing::{debug, error, info, warn};

use super::protocol::{self, Response, REQUEST_LEN_MAX};
use super::{Sources, IO_TIMEOUT};
use crate::http_server::{self, Handler, Head, Request};

/// The `WWW-Authenticate` challenge of a 401.
const CHALLENGE: &str = "Basic realm=\"tandem\"";
/// At most one warning about failed authentications per this interval.
const WARN_INTERVAL: Duration = Duration::from_secs(10);
/// Connections served at a time; more are closed at once.
const CONNECTIONS: usize = 16;
/// For writing an answer (a page of leases may be long).
const WRITE_DEADLINE: Duration = Duration::from_secs(10);

/// Why a request's credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum AuthError {
    #[error("no Authorization header")]
    Missing,
    #[error("the Authorization scheme is not Basic")]
    Scheme,
    #[error("the Basic credentials are not base64")]
    Base64,
    #[error("the Basic credentials have no ':' between user and password")]
    NoColon,
    #[error("wrong user or password")]
    Wrong,
}

/// The user and the password the listener accepts; the password is replaced at reload.
pub(crate) struct Credentials {
    /// The user and the password file.
    settings: HttpControl,
    password: RwLock<Vec<u8>>,
}

/// tandemd's effective uid: the password file's owner must be it or root.
fn euid() -> u32 {
    // SAFETY: geteuid(2) takes no arguments, touches no memory and cannot fail.
    unsafe { libc::geteuid() }
}

impl Credentials {
    /// Reads the password file (owned by tandemd's user or root, readable by its owner only);
    /// the error names the key, the file and what is wrong with it.
    pub(crate) fn load(settings: &HttpControl) -> anyhow::Result<Arc<Self>> {
        let password = settings.read_password_owned_by(euid()).with_context(|| {
            format!(
                "key `control.http-password-file`: {}",
                settings.password_file.display()
            )
        })?;
        Ok(Arc::new(Self {
            settings: settings.clone(),
            password: RwLock::new(password),
        }))
    }

    /// Reads the password file again (a reload, named by `trigger`). On an error the password
    /// in use is kept, and the error is logged and returned.
    pub(crate) fn reload(&self, trigger: &str) -> Result<(), FileProblem> {
        let file = self.settings.password_file.display();
        match self.settings.read_password_owned_by(euid()) {
            Ok(p) => {
                match self.password.write() {
                    Ok(mut w) => *w = p,
                    Err(poisoned) => *poisoned.into_inner() = p,
                }
                debug!(trigger, file = %file, "HTTP control password read again");
                Ok(())
            }
            Err(e) => {
                error!(
                    trigger,
                    file = %file,
                    "HTTP control password file: {e}; the password in use is kept"
                );
                Err(e)
            }
        }
    }

    /// Checks an `Authorization` header value; user and password are compared in constant
    /// time (their lengths aside).
    pub(crate) fn check(&self, header: Option<&[u8]>) -> Result<(), AuthError> {
        let (user, password) = parse_basic(header.ok_or(AuthError::Missing)?)?;
        let want = match self.password.read() {
            Ok(p) => p,
            Err(poisoned) => poisoned.into_inner(),
        };
        let ok = user.ct_eq(self.settings.user.as_bytes()) & password.ct_eq(want.as_slice());
        if bool::from(ok) {
            Ok(())
        } else {
            Err(AuthError::Wrong)
        }
    }
}

/// An `Authorization: Basic BASE64(user:password)` value (RFC 7617 §2; the scheme is
/// case-insensitive) → user and password, split at the first ':'.
pub(crate) fn parse_basic(value: &[u8]) -> Result<(Vec<u8>, Vec<u8>), AuthError> {
    let value = value.trim_ascii();
    let split = value
        .iter()
        .position(|b| *b == b' ')
        .ok_or(AuthError::Scheme)?;
    let (scheme, token) = value.split_at(split);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(AuthError::Scheme);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim_ascii())
        .map_err(|_| AuthError::Base64)?;
    let colon = decoded
        .iter()
        .position(|b| *b == b':')
        .ok_or(AuthError::NoColon)?;
    Ok((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
}

/// Decides whether a failed authentication is logged: the first, then at most one per
/// [`WARN_INTERVAL`], saying how many were not logged in between.
#[derive(Debug, Default)]
pub(crate) struct WarnLimiter {
    last: Option<Instant>,
    suppressed: u64,
}

impl WarnLimiter {
    /// `Some(failures not logged since the last warning)` when this one is to be logged.
    pub(crate) fn allow(&mut self, now: Instant) -> Option<u64> {
        let due = self
            .last
            .is_none_or(|t| now.saturating_duration_since(t) >= WARN_INTERVAL);
        if due {
            self.last = Some(now);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

/// The listening socket, bound at start-up before any worker runs.
pub(crate) struct Bound {
    listener: http_server::Listener,
    credentials: Arc<Credentials>,
}

/// Binds `settings.listen`; a failure names the `control.http-listen` key.
pub(crate) fn bind(settings: &HttpControl, credentials: Arc<Credentials>) -> anyhow::Result<Bound> {
    let listen = settings.listen;
    let listener = http_server::bind(listen)
        .with_context(|| format!("control.http-listen = \"{listen}\": cannot listen there"))?;
    Ok(Bound {
        listener,
        credentials,
    })
}

/// What every request's thread shares.
struct Shared {
    sources: Arc<Sources>,
    credentials: Arc<Credentials>,
    /// Requests refused with 401.
    auth_failures: Arc<AtomicU64>,
    warn: Mutex<WarnLimiter>,
    /// Held while a command is answered; `true` once the endpoint stopped.
    gate: Mutex<bool>,
}

/// The running listener; [`Endpoint::stop`] ends it.
pub(crate) struct Endpoint {
    server: http_server::Server,
    shared: Arc<Shared>,
}

impl Bound {
    /// The address listened on (the port chosen when the config gave 0, in tests).
    #[cfg(test)]
    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        self.listener.addr()
    }

    /// Starts the listener thread; `auth_failures` counts the requests refused with 401.
    pub(crate) fn start(
        self,
        sources: Arc<Sources>,
        auth_failures: Arc<AtomicU64>,
    ) -> anyhow::Result<Endpoint> {
        let shared = Arc::new(Shared {
            sources,
            credentials: self.credentials,
            auth_failures,
            warn: Mutex::new(WarnLimiter::default()),
            gate: Mutex::new(false),
        });
        let addr = self.listener.addr();
        let limits = http_server::Limits {
            name: "tandem-ctlhttp",
            connections: CONNECTIONS,
            deadline: IO_TIMEOUT,
            write_deadline: WRITE_DEADLINE,
            body_max: REQUEST_LEN_MAX,
        };
        let server = self
            .listener
            .start(limits, Arc::new(Control(shared.clone())))?;
        info!(
            %addr,
            "control API over HTTP: POST / (Kea Control Agent shape, Basic authentication)"
        );
        Ok(Endpoint { server, shared })
    }
}

impl Endpoint {
    /// Stops accepting and joins the listener thread; waits for a command being answered,
    /// then refuses the ones still to come (their clients hear "tandemd is stopping").
    pub(crate) fn stop(self) {
        self.server.stop();
        match self.shared.gate.lock() {
            Ok(mut g) => *g = true,
            Err(poisoned) => *poisoned.into_inner() = true,
        }
    }
}

/// The HTTP handler.
struct Control(Arc<Shared>);

impl Handler for Control {
    /// Authenticates and routes on the head alone.
    fn admit(&self, head: &Head) -> Result<(), http_server::Response> {
        let shared = &self.0;
        let auth = shared.credentials.check(head.header("authorization"));
        if let Err(why) = auth {
            shared.auth_failures.fetch_add(1, Ordering::Relaxed);
            let allowed = shared.warn.lock().map(|mut w| w.allow(Instant::now()));
            if let Ok(Some(suppressed)) = allowed {
                warn!(
                    peer = %head.peer,
                    reason = %why,
                    not_logged_before = suppressed,
                    "control API over HTTP: authentication failed"
                );
            }
        }
        route(&head.method, head.path(), auth).map_err(Reply::into_response)
    }

    fn handle(&self, request: Request) -> http_server::Response {
        Reply::agent(&answer(&request.body, &self.0)).into_response()
    }
}

/// An HTTP answer.
#[derive(Debug, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) json: bool,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    fn plain(status: u16, body: &str) -> Self {
        Self {
            status,
            json: false,
            body: body.as_bytes().to_vec(),
        }
    }

    /// The answer on the wire, with the 401 challenge and the 405 `Allow`.
    fn into_response(self) -> http_server::Response {
        let mut r = http_server::Response {
            status: self.status,
            content_type: if self.json {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            },
            headers: Vec::new(),
            body: self.body,
        };
        if self.status == 401 {
            r = r.with_header("WWW-Authenticate", CHALLENGE);
        }
        if self.status == 405 {
            r = r.with_header("Allow", "POST");
        }
        r
    }

    /// Kea Control Agent's answer: an array with one answer per service, here the one.
    pub(crate) fn agent(answer: &Response) -> Self {
        let body = serde_json::to_vec(&[answer]).unwrap_or_else(|_| {
            br#"[{"result":1,"text":"the answer could not be encoded"}]"#.to_vec()
        });
        Self {
            status: 200,
            json: true,
            body,
        }
    }
}

/// Where a request goes, from its method, URL and credentials alone: `Err` is the answer to
/// give without reading the body.
pub(crate) fn route(method: &str, url: &str, auth: Result<(), AuthError>) -> Result<(), Reply> {
    if auth.is_err() {
        return Err(Reply::plain(
            401,
            "401 Unauthorized: HTTP Basic credentials required\n",
        ));
    }
    if url.split('?').next() != Some("/") {
        return Err(Reply::plain(
            404,
            "404 Not Found: commands are POSTed to /\n",
        ));
    }
    if method != "POST" {
        return Err(Reply::plain(405, "405 Method Not Allowed: only POST\n"));
    }
    Ok(())
}

/// The dispatcher's answer to a body, one command at a time.
fn answer(body: &[u8], shared: &Shared) -> Response {
    let cmd = match protocol::parse_http(body) {
        Ok(cmd) => cmd,
        Err(r) => return r,
    };
    let Ok(stopped) = shared.gate.lock() else {
        return Response::error("the control API failed; restart tandemd");
    };
    if *stopped {
        return Response::error("tandemd is stopping");
    }
    debug!(command = ?cmd, "control command over HTTP");
    shared.sources.answer(cmd)
}

#[cfg(test)]
mod tests;
