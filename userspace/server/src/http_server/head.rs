//! The request head (RFC 9112 §2–§6): request line, header lines, and what the server takes
//! from them (body length, `Expect`). Parsing works on a complete head of at most
//! [`super::HEAD_MAX`] bytes and never panics.

use std::net::SocketAddr;

use super::{Response, HEADER_LINES_MAX, HEAD_MAX};

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// As sent (methods are case-sensitive, RFC 9110 §9.1).
    pub(crate) method: String,
    /// The request target as sent: origin form (path and query) or absolute form
    /// (`http://host/path?query`, RFC 9112 §3.2.2).
    pub(crate) target: String,
    /// From the request line.
    pub(crate) version: Version,
    /// Names as sent, values with surrounding blanks removed, in order.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) peer: SocketAddr,
}

/// The HTTP version of a request (RFC 9112 §2.3); others get 505.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Version {
    Http10,
    Http11,
}

impl Head {
    /// The target's path: before any `?`, and without the `scheme://authority` of an
    /// absolute-form target (RFC 9112 §3.2.2, `/` when it has no path).
    pub(crate) fn path(&self) -> &str {
        let path = self.target.split('?').next().unwrap_or("");
        match after_scheme(path) {
            Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => path,
        }
    }

    /// The first header named `name` (case-insensitive, RFC 9110 §5.1).
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The body's length, at most `max`: `Transfer-Encoding` is not implemented (501), a
    /// missing `Content-Length` is 0, a bad or conflicting one 400, a longer one 413.
    pub(crate) fn body_length(&self, max: usize) -> Result<usize, Response> {
        if self.header("transfer-encoding").is_some() {
            return Err(Response::plain(
                501,
                "501 Not Implemented: no Transfer-Encoding; send a Content-Length\n",
            ));
        }
        let mut length: Option<&[u8]> = None;
        for (_, v) in self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            if length.is_some_and(|l| l != v.as_slice()) {
                return Err(bad("two different Content-Length headers"));
            }
            length = Some(v);
        }
        let Some(digits) = length else {
            return Ok(0);
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad("Content-Length is not a number"));
        }
        // Leading zeros aside; 19 digits fit a u64, more are more than any `max`.
        let significant = digits
            .iter()
            .position(|&d| d != b'0')
            .map_or(&digits[digits.len()..], |i| &digits[i..]);
        let n = if significant.len() <= 19 {
            significant
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'))
        } else {
            u64::MAX
        };
        if n > max as u64 {
            return Err(Response::plain(
                413,
                format!("413 Content Too Large: at most {max} bytes\n"),
            ));
        }
        // At most `max`, a usize.
        Ok(n as usize)
    }

    /// `Expect: 100-continue` from an HTTP/1.1 client: a server must ignore it from an
    /// HTTP/1.0 one (RFC 9110 §10.1.1).
    pub(crate) fn expects_continue(&self) -> bool {
        self.version == Version::Http11
            && self
                .header("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"))
    }
}

/// What follows `scheme://` when `target` starts with one (a scheme: a letter, then letters,
/// digits, `+`, `-` or `.`; RFC 3986 §3.1).
fn after_scheme(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let ok = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(rest)
}

fn bad(why: &str) -> Response {
    Response::plain(400, format!("400 Bad Request: {why}\n"))
}

/// The 431 answer to a head too long or with too many lines.
pub(crate) fn too_large() -> Response {
    Response::plain(
        431,
        format!(
            "431 Request Header Fields Too Large: at most {HEAD_MAX} bytes and \
             {HEADER_LINES_MAX} header lines\n"
        ),
    )
}

/// Where the head ends in `bytes` (just after its empty line), once it does.
pub(crate) fn end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// A token character (RFC 9110 §5.6.2).
fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a complete head (ending in its empty line).
pub(crate) fn parse(bytes: &[u8], peer: SocketAddr) -> Result<Head, Response> {
    let text = bytes.strip_suffix(b"\r\n\r\n").unwrap_or(bytes);
    let mut lines = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request line is not `METHOD TARGET HTTP/1.1`"));
    };
    if method.is_empty() || !method.iter().all(|&b| tchar(b)) {
        return Err(bad("the method is not a token"));
    }
    if target.is_empty() || !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(bad("the request target is not printable ASCII"));
    }
    let version = match version {
        b"HTTP/1.1" => Version::Http11,
        b"HTTP/1.0" => Version::Http10,
        _ => {
            return Err(Response::plain(
                505,
                "505 HTTP Version Not Supported: HTTP/1.1 or HTTP/1.0\n",
            ))
        }
    };
    let mut headers = Vec::new();
    for line in lines {
        if headers.len() == HEADER_LINES_MAX {
            return Err(too_large());
        }
        // Obsolete line folding (RFC 9112 §5.2) and blanks before the colon are refused.
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(bad("a header line has no ':'"));
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|&b| tchar(b)) {
            return Err(bad("a header name is not a token"));
        }
        if value.iter().any(|&b| b == b'\r' || b == 0) {
            return Err(bad("a header value holds CR or NUL"));
        }
        // A token, hence ASCII.
        let name = String::from_utf8_lossy(name).into_owned();
        headers.push((name, value.trim_ascii().to_vec()));
    }
    Ok(Head {
        // Tokens and printable ASCII, hence UTF-8.
        method: String::from_utf8_lossy(method).into_owned(),
        target: String::from_utf8_lossy(target).into_owned(),
        version,
        headers,
        peer,
    })
}

/// The reason phrase of the statuses the server and its handlers use.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}
