//! The control API's wire format, Kea's: a request is one JSON object
//! `{"command": "...", "arguments": {...}}`, the answer `{"result": N, "text": "...",
//! "arguments": ...}` with Kea's result codes ([`Code`]). Parsing turns a request into a typed
//! [`Command`] or into the error answer naming what was wrong; no input makes it panic.

use std::net::Ipv6Addr;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value};
use tandem_lease::LeaseKind;

use crate::worker::admin::{Lookup, PAGE_LIMIT_MAX};

/// The longest request read from a connection.
pub(crate) const REQUEST_LEN_MAX: usize = 64 * 1024;

/// Every command, in the order `list-commands` gives them.
pub(crate) const COMMANDS: [&str; 12] = [
    "config-reload",
    "config-test",
    "failover-partner-down",
    "failover-status",
    "lease6-del",
    "lease6-get",
    "lease6-get-by-duid",
    "lease6-get-page",
    "list-commands",
    "statistic-get-all",
    "status-get",
    "version-get",
];

/// Kea's result codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Code {
    /// 0: the command succeeded.
    Success = 0,
    /// 1: it failed, or the request was malformed.
    Error = 1,
    /// 2: no such command.
    Unsupported = 2,
    /// 3: it succeeded and found nothing.
    Empty = 3,
}

/// An answer in Kea's shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Response {
    pub(crate) result: u8,
    pub(crate) text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) arguments: Option<Value>,
}

impl Response {
    pub(crate) fn new(code: Code, text: impl Into<String>, arguments: Option<Value>) -> Self {
        Self {
            result: code as u8,
            text: text.into(),
            arguments,
        }
    }

    pub(crate) fn error(text: impl Into<String>) -> Self {
        Self::new(Code::Error, text, None)
    }

    /// The answer as one line of JSON with a trailing newline.
    pub(crate) fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"result":1,"text":"the answer could not be encoded"}"#.to_vec()
        });
        v.push(b'\n');
        v
    }
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Command {
    ListCommands,
    VersionGet,
    StatusGet,
    /// Validate the config file at this path (as `tandemd check-config` does).
    ConfigTest(PathBuf),
    /// Read the config file tandemd started with again and apply it live
    /// ([`crate::reload`]).
    ConfigReload,
    Lease6Get(Lookup),
    Lease6GetByDuid(Vec<u8>),
    /// Leases after `after` (from the first when `None`), at most `limit`.
    Lease6GetPage {
        after: Option<Ipv6Addr>,
        limit: usize,
    },
    Lease6Del(Lookup),
    StatisticGetAll,
    FailoverStatus,
    /// One relationship by name, or every one (`None`).
    FailoverPartnerDown(Option<String>),
}

/// Parses one request from the Unix socket. `Err` is the answer to send instead: result 1 for
/// malformed JSON or arguments, 2 for a command that does not exist. A `service` is ignored
/// there, as Kea's own servers do on their sockets: tandemd is the only service behind it.
pub(crate) fn parse(bytes: &[u8]) -> Result<Command, Response> {
    parse_for(bytes, false)
}

/// Parses one request from the HTTP listener, which stands where Kea Control Agent does: a
/// `service` naming another server than `dhcp6` is refused ([`service`]).
pub(crate) fn parse_http(bytes: &[u8]) -> Result<Command, Response> {
    parse_for(bytes, true)
}

fn parse_for(bytes: &[u8], check_service: bool) -> Result<Command, Response> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| Response::error(format!("invalid JSON: {e}")))?;
    let Value::Object(mut top) = value else {
        return Err(Response::error("the request must be a JSON object"));
    };
    let name = match top.remove("command") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(Response::error("`command` must be a string")),
        None => return Err(Response::error("the request has no `command`")),
    };
    let args = match top.remove("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(Response::error("`arguments` must be a JSON object")),
    };
    let named = top.remove("service");
    if check_service {
        service(named)?;
    }
    if let Some(k) = top.keys().next() {
        return Err(Response::error(format!("unknown key `{k}` in the request")));
    }
    let mut a = Args::new(&name, args);
    let cmd = match name.as_str() {
        "list-commands" => Command::ListCommands,
        "version-get" => Command::VersionGet,
        "status-get" => Command::StatusGet,
        "statistic-get-all" => Command::StatisticGetAll,
        "failover-status" => Command::FailoverStatus,
        "config-reload" => Command::ConfigReload,
        "config-test" => Command::ConfigTest(PathBuf::from(a.string("config-file")?)),
        "lease6-get" => Command::Lease6Get(a.lookup()?),
        "lease6-del" => Command::Lease6Del(a.lookup()?),
        "lease6-get-by-duid" => {
            let text = a.string("duid")?;
            let duid = tandem_config::parse_duid(&text)
                .map_err(|e| a.bad("duid", format!("`{text}`: {e}")))?;
            Command::Lease6GetByDuid(duid)
        }
        "lease6-get-page" => {
            let from = a.string("from")?;
            let after = match from.as_str() {
                "start" => None,
                s => Some(s.parse::<Ipv6Addr>().map_err(|_| {
                    a.bad("from", format!("`{s}` is not \"start\" or an IPv6 address"))
                })?),
            };
            let limit = a.integer("limit")?;
            if limit == 0 || limit > PAGE_LIMIT_MAX as u64 {
                return Err(a.bad("limit", format!("{limit} is not in 1..={PAGE_LIMIT_MAX}")));
            }
            Command::Lease6GetPage {
                after,
                // At most PAGE_LIMIT_MAX, checked above.
                limit: limit as usize,
            }
        }
        "failover-partner-down" => Command::FailoverPartnerDown(a.optional_string("relationship")?),
        _ => {
            return Err(Response::new(
                Code::Unsupported,
                format!("'{name}' command not supported."),
                None,
            ))
        }
    };
    a.finish()?;
    Ok(cmd)
}

/// Kea Control Agent's `service` (HTTP only): the servers a request is for. tandemd is the one
/// DHCPv6 server behind its HTTP listener: absent, `[]` (Kea: the agent itself) and
/// `["dhcp6"]` are answered; another name is refused, by name.
fn service(value: Option<Value>) -> Result<(), Response> {
    let list = match value {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(Response::error("`service` must be a list of service names")),
    };
    for s in list {
        match s {
            Value::String(s) if s == "dhcp6" => {}
            Value::String(s) => {
                return Err(Response::error(format!(
                    "service `{s}` is not served here: tandemd is a DHCPv6 server \
                     (service \"dhcp6\")"
                )))
            }
            _ => return Err(Response::error("`service` must be a list of service names")),
        }
    }
    Ok(())
}

/// A command's arguments, taken key by key; keys left over are errors.
struct Args<'a> {
    command: &'a str,
    map: Map<String, Value>,
}

impl<'a> Args<'a> {
    fn new(command: &'a str, map: Map<String, Value>) -> Self {
        Self { command, map }
    }

    fn bad(&self, key: &str, why: impl std::fmt::Display) -> Response {
        Response::error(format!("{}: argument `{key}`: {why}", self.command))
    }

    fn optional_string(&mut self, key: &str) -> Result<Option<String>, Response> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.bad(key, "must be a string")),
        }
    }

    fn string(&mut self, key: &str) -> Result<String, Response> {
        self.optional_string(key)?
            .ok_or_else(|| Response::error(format!("{}: missing argument `{key}`", self.command)))
    }

    fn optional_integer(&mut self, key: &str) -> Result<Option<u64>, Response> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.bad(key, format!("{n} is not a non-negative integer"))),
            Some(_) => Err(self.bad(key, "must be an integer")),
        }
    }

    fn integer(&mut self, key: &str) -> Result<u64, Response> {
        self.optional_integer(key)?
            .ok_or_else(|| Response::error(format!("{}: missing argument `{key}`", self.command)))
    }

    /// Kea's `ip-address` (with `type` "IA_NA", the default, or "IA_PD"), or tandem's
    /// `prefix` ("ADDR" or "ADDR/LEN"); `prefix-len` with either for a prefix.
    fn lookup(&mut self) -> Result<Lookup, Response> {
        let ip = self.optional_string("ip-address")?;
        let prefix = self.optional_string("prefix")?;
        let kind = self.optional_string("type")?;
        let len = self.optional_integer("prefix-len")?;
        let len = match len {
            Some(l @ 1..=128) => Some(l as u8),
            Some(l) => return Err(self.bad("prefix-len", format!("{l} is not in 1..=128"))),
            None => None,
        };
        let (kind, text, len, key) = match (ip, prefix) {
            (Some(_), Some(_)) => {
                return Err(Response::error(format!(
                    "{}: give `ip-address` or `prefix`, not both",
                    self.command
                )))
            }
            (None, None) => {
                return Err(Response::error(format!(
                    "{}: missing argument `ip-address` (or `prefix`)",
                    self.command
                )))
            }
            (Some(ip), None) => {
                let kind = match kind.as_deref() {
                    None | Some("IA_NA") => LeaseKind::Na,
                    Some("IA_PD") => LeaseKind::Pd,
                    Some(t) => {
                        return Err(self.bad("type", format!("`{t}` is not \"IA_NA\" or \"IA_PD\"")))
                    }
                };
                (kind, ip, len, "ip-address")
            }
            (None, Some(p)) => {
                if kind.as_deref().is_some_and(|t| t != "IA_PD") {
                    return Err(self.bad("type", "a prefix is an IA_PD lease"));
                }
                match p.split_once('/') {
                    Some((addr, l)) => {
                        let l: u8 = l
                            .parse()
                            .ok()
                            .filter(|l| (1..=128).contains(l))
                            .ok_or_else(|| self.bad("prefix", format!("`{p}`: bad length")))?;
                        if len.is_some_and(|len| len != l) {
                            return Err(self.bad("prefix-len", format!("differs from `{p}`")));
                        }
                        (LeaseKind::Pd, addr.to_owned(), Some(l), "prefix")
                    }
                    None => (LeaseKind::Pd, p, len, "prefix"),
                }
            }
        };
        if kind == LeaseKind::Na && len.is_some_and(|l| l != 128) {
            return Err(self.bad("prefix-len", "an IA_NA address has length 128"));
        }
        let addr: Ipv6Addr = text
            .parse()
            .map_err(|_| self.bad(key, format!("`{text}` is not an IPv6 address")))?;
        Ok(Lookup {
            kind,
            addr,
            prefix_len: len,
        })
    }

    /// Every argument was used, or the first unknown one is named.
    fn finish(self) -> Result<(), Response> {
        match self.map.keys().next() {
            Some(k) => Err(Response::error(format!(
                "{}: unknown argument `{k}`",
                self.command
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
