//! Kea's `Dhcp6` object → [`Model`]: the server level (interfaces, server DUID, lease database,
//! lifetimes, options) here; subnets, pools and reservations in [`crate::subnet`]. Every key
//! that is not carried over is recorded with its JSON path and why.

use serde_json::{Map, Value};

use crate::model::{Lifetimes, Model};
use crate::options;
use crate::subnet::{self, Inherited};
use crate::{ImportError, NotCarried};

/// Kea's default enterprise number for DUID-EN (ISC's, 2495) when `enterprise-id` is absent.
const ISC_ENTERPRISE_ID: u32 = 2495;

/// The walk's output besides the model: what was left behind.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub(crate) not_carried: Vec<NotCarried>,
}

impl Walk {
    pub(crate) fn skip(&mut self, path: impl Into<String>, why: impl Into<String>) {
        self.not_carried.push(NotCarried {
            path: path.into(),
            why: why.into(),
        });
    }

    /// `Dhcp6` → model.
    pub(crate) fn dhcp6(&mut self, dhcp6: &Map<String, Value>) -> Result<Model, ImportError> {
        let mut m = Model::default();
        let mut wildcard = false;
        let mut shared: Option<&Value> = None;
        let mut subnets: Option<&Value> = None;
        for (key, value) in dhcp6 {
            let path = format!("Dhcp6.{key}");
            match key.as_str() {
                "interfaces-config" => wildcard = self.interfaces(value, &path, &mut m)?,
                "lease-database" => m.lease_database = self.lease_database(value, &path),
                "server-id" => m.server_duid = self.server_id(value, &path),
                "rapid-commit" => m.rapid_commit = self.boolean(value, &path),
                "decline-probation-period" => m.decline_hold = self.seconds(value, &path),
                "option-data" => m.options = options::option_data(self, value, &path)?,
                "subnet6" => subnets = Some(value),
                "shared-networks" => shared = Some(value),
                "host-reservation-identifiers" => self.identifiers(value, &path),
                "t1-percent" | "t2-percent" | "calculate-tee-times" => {
                    self.tee_times(key, value, &path)
                }
                k if lifetime_key(k) => self.lifetime(k, value, &path, &mut m.lifetimes),
                k => self.skip(path, why_not(k)),
            }
        }
        if !dhcp6.contains_key("server-id") {
            self.skip(
                "Dhcp6.server-id",
                "absent: Kea generated its server DUID and keeps it in its data directory \
                 (kea-dhcp6-serverid); copy it into server.server-duid, or clients' Renews \
                 (which name Kea's DUID) are discarded (RFC 8415 §16.6) and they rebind",
            );
        }
        let top = Inherited::default();
        if let Some(v) = subnets {
            for (i, s) in array(v, "Dhcp6.subnet6")?.iter().enumerate() {
                let path = format!("Dhcp6.subnet6[{i}]");
                if let Some(s) = subnet::subnet(self, s, &path, &top)? {
                    m.subnets.push(s);
                }
            }
        }
        if let Some(v) = shared {
            self.shared_networks(v, &mut m)?;
        }
        subnet::finish(self, &mut m, wildcard);
        Ok(m)
    }

    /// `interfaces-config`: names (`"eth1"`, `"eth1/2001:db8::1"`, `"*"`). Returns whether
    /// `"*"` was listed.
    fn interfaces(&mut self, v: &Value, path: &str, m: &mut Model) -> Result<bool, ImportError> {
        let mut wildcard = false;
        for (key, value) in object(v, path)? {
            let path = format!("{path}.{key}");
            if key != "interfaces" {
                self.skip(path, "Kea socket settings have no tandem equivalent");
                continue;
            }
            for (i, name) in array(value, &path)?.iter().enumerate() {
                let at = format!("{path}[{i}]");
                let Some(name) = name.as_str() else {
                    self.skip(at, "not a string");
                    continue;
                };
                let (ifname, unicast) = match name.split_once('/') {
                    Some((n, a)) => (n, Some(a)),
                    None => (name, None),
                };
                if ifname == "*" {
                    wildcard = true;
                    self.skip(
                        at,
                        "\"*\" (every interface): tandem listens on the interfaces it names; \
                         the subnets' interfaces are listed instead",
                    );
                    continue;
                }
                if unicast.is_some() {
                    self.skip(
                        format!("{at} ({name})"),
                        "the unicast address: tandemd answers unicast on any address",
                    );
                }
                if !m.interfaces.iter().any(|n| n == ifname) {
                    m.interfaces.push(ifname.to_owned());
                }
            }
        }
        Ok(wildcard)
    }

    /// `lease-database`, described for a comment; only memfile CSV can be imported.
    fn lease_database(&mut self, v: &Value, path: &str) -> Option<String> {
        let db = v.as_object()?;
        let kind = db.get("type").and_then(Value::as_str).unwrap_or("memfile");
        let name = db.get("name").and_then(Value::as_str);
        if kind != "memfile" {
            self.skip(
                format!("{path}.type"),
                format!(
                    "{kind}: tandem keeps leases in its own store; dump them to a leases6 CSV \
                     (kea-admin lease-dump) and run tandemd import-leases"
                ),
            );
        }
        if db.get("persist").and_then(Value::as_bool) == Some(false) {
            self.skip(
                format!("{path}.persist"),
                "false: Kea kept no lease file, so no lease can be imported",
            );
        }
        let name = name.unwrap_or("(Kea's default: /var/lib/kea/kea-leases6.csv)");
        Some(format!("{kind} {name}"))
    }

    /// `server-id` → a DUID when Kea's config fixes every part of it [RFC 8415 §11.2–§11.4].
    fn server_id(&mut self, v: &Value, path: &str) -> Option<Vec<u8>> {
        let Some(sid) = v.as_object() else {
            self.skip(path, "not an object");
            return None;
        };
        let text = |k: &str| sid.get(k).and_then(Value::as_str);
        let number = |k: &str| sid.get(k).and_then(Value::as_u64);
        let identifier = text("identifier")
            .and_then(crate::leases::parse_hex_octets)
            .filter(|b| !b.is_empty());
        let kind = text("type").unwrap_or("LLT");
        let htype = number("htype").and_then(|h| u16::try_from(h).ok());
        let duid = match (kind, identifier) {
            ("LLT", Some(id)) => {
                let time = number("time").and_then(|t| u32::try_from(t).ok());
                match (htype, time) {
                    (Some(h), Some(t)) if t != 0 => {
                        Some([&[0, 1][..], &h.to_be_bytes(), &t.to_be_bytes(), &id].concat())
                    }
                    _ => None,
                }
            }
            ("EN", Some(id)) => {
                let en = number("enterprise-id")
                    .and_then(|e| u32::try_from(e).ok())
                    .unwrap_or(ISC_ENTERPRISE_ID);
                Some([&[0, 2][..], &en.to_be_bytes(), &id].concat())
            }
            ("LL", Some(id)) => htype.map(|h| [&[0, 3][..], &h.to_be_bytes(), &id].concat()),
            _ => None,
        };
        let Some(duid) = duid.filter(|d| d.len() <= 130) else {
            self.skip(
                path,
                format!(
                    "type {kind} without every part fixed: Kea generated the rest and keeps the \
                     DUID in kea-dhcp6-serverid; copy it into server.server-duid so clients' \
                     Renews match (RFC 8415 §16.6)"
                ),
            );
            return None;
        };
        for key in sid.keys() {
            if !matches!(
                key.as_str(),
                "type" | "identifier" | "htype" | "time" | "enterprise-id" | "persist"
            ) {
                self.skip(format!("{path}.{key}"), why_not(key));
            }
        }
        Some(duid)
    }

    /// `host-reservation-identifiers`: tandem reserves by DUID only.
    fn identifiers(&mut self, v: &Value, path: &str) {
        let others: Vec<&str> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter(|s| *s != "duid")
                    .collect()
            })
            .unwrap_or_default();
        if !others.is_empty() {
            self.skip(
                path,
                format!(
                    "{}: tandem reserves by DUID only; reservations by these are listed below",
                    others.join(", ")
                ),
            );
        }
    }

    /// Kea computes T1/T2 from the preferred lifetime; tandem's defaults are Kea's default
    /// percentages (0.5 and 0.8, RFC 8415 §21.4), so only other values are worth a note.
    fn tee_times(&mut self, key: &str, v: &Value, path: &str) {
        let default = match key {
            "t1-percent" => v.as_f64().is_some_and(|p| (p - 0.5).abs() < 1e-9),
            "t2-percent" => v.as_f64().is_some_and(|p| (p - 0.8).abs() < 1e-9),
            _ => v.as_bool() == Some(true),
        };
        if !default {
            self.skip(
                path,
                "tandem computes absent T1/T2 as 0.5 and 0.8 x the preferred lifetime; set \
                 t1/t2 in [lifetimes] for other values",
            );
        }
    }

    /// One of the four lifetime keys into `l`.
    pub(crate) fn lifetime(&mut self, key: &str, v: &Value, path: &str, l: &mut Lifetimes) {
        let value = self.seconds(v, path);
        match key {
            "preferred-lifetime" => l.preferred = value,
            "valid-lifetime" => l.valid = value,
            "renew-timer" => l.t1 = value,
            "rebind-timer" => l.t2 = value,
            _ => self.skip(path, why_not(key)),
        }
    }

    /// A `u32` number of seconds, else recorded as not carried.
    pub(crate) fn seconds(&mut self, v: &Value, path: &str) -> Option<u32> {
        let s = v.as_u64().and_then(|n| u32::try_from(n).ok());
        if s.is_none() {
            self.skip(path, "not a number of seconds (0..=4294967295)");
        }
        s
    }

    pub(crate) fn boolean(&mut self, v: &Value, path: &str) -> Option<bool> {
        let b = v.as_bool();
        if b.is_none() {
            self.skip(path, "not true or false");
        }
        b
    }

    /// `shared-networks`: tandem has no shared networks, so each member subnet becomes a plain
    /// subnet with the network's interface, lifetimes, options and Rapid Commit as defaults.
    fn shared_networks(&mut self, v: &Value, m: &mut Model) -> Result<(), ImportError> {
        for (i, net) in array(v, "Dhcp6.shared-networks")?.iter().enumerate() {
            let path = format!("Dhcp6.shared-networks[{i}]");
            let net = object(net, &path)?;
            let name = net.get("name").and_then(Value::as_str).unwrap_or("?");
            self.skip(
                path.clone(),
                format!(
                    "shared network {name:?}: tandem has none; its subnets are imported as \
                     separate subnets (clients no longer fall over from one to another)"
                ),
            );
            let mut inherit = Inherited {
                shared: Some(name.to_owned()),
                ..Inherited::default()
            };
            let mut members: Option<&Value> = None;
            for (key, value) in net {
                let at = format!("{path}.{key}");
                match key.as_str() {
                    "name" => {}
                    "subnet6" => members = Some(value),
                    "interface" => inherit.interface = value.as_str().map(str::to_owned),
                    "relay" => inherit.relay = Some(value.clone()),
                    "rapid-commit" => inherit.rapid_commit = self.boolean(value, &at),
                    "option-data" => inherit.options = options::option_data(self, value, &at)?,
                    k if lifetime_key(k) => self.lifetime(k, value, &at, &mut inherit.lifetimes),
                    k => self.skip(at, why_not(k)),
                }
            }
            let Some(members) = members else { continue };
            for (j, s) in array(members, &format!("{path}.subnet6"))?
                .iter()
                .enumerate()
            {
                let at = format!("{path}.subnet6[{j}]");
                if let Some(s) = subnet::subnet(self, s, &at, &inherit)? {
                    m.subnets.push(s);
                }
            }
        }
        Ok(())
    }
}

/// The four lifetime and timer keys tandem carries.
pub(crate) fn lifetime_key(key: &str) -> bool {
    matches!(
        key,
        "preferred-lifetime" | "valid-lifetime" | "renew-timer" | "rebind-timer"
    )
}

/// Why a Kea key has no place in tandem's config.
pub(crate) fn why_not(key: &str) -> &'static str {
    match key {
        "client-classes" | "client-class" | "require-client-classes" => {
            "client classification has no tandem equivalent"
        }
        "hooks-libraries" => "Kea hook libraries have no tandem equivalent",
        "dhcp-ddns" => "tandem sends no DNS updates",
        k if k.starts_with("ddns-") || k.starts_with("hostname-char") => {
            "tandem sends no DNS updates"
        }
        "option-def" => "custom option definitions have no tandem equivalent",
        "control-socket" => "tandem's control socket is not configured in this file",
        "loggers" => "tandemd logs to stderr (TANDEM_LOG, TANDEM_LOG_FORMAT=json)",
        "expired-leases-processing" => "tandemd reclaims expired leases on its own",
        "hosts-database" | "hosts-databases" => {
            "host databases are not read: write the reservations as [[subnet.reservation]]"
        }
        "reservations" => {
            "global reservations: tandem reserves per subnet ([[subnet.reservation]])"
        }
        "multi-threading" | "dhcp-queue-control" => "tandemd sizes its workers with server.workers",
        k if k.starts_with("min-") || k.starts_with("max-") => {
            "tandem hands out one lifetime per subnet and ignores client hints"
        }
        "reservation-mode"
        | "reservations-global"
        | "reservations-in-subnet"
        | "reservations-out-of-pool" => {
            "tandem always honours a subnet's reservations, inside or outside its pools"
        }
        "interface-id" => "tandem selects a relayed client's subnet by the relay link-address",
        "dhcp4o6-port" => "DHCPv4-over-DHCPv6 is not supported",
        "user-context" | "comment" => "comments and user context are not carried",
        "sanity-checks" => "tandemd import-leases checks every lease against the config",
        "excluded-prefix" | "excluded-prefix-len" => {
            "prefix exclusion (RFC 6603) is not supported; the pool is carried without it"
        }
        _ => "no tandem equivalent",
    }
}

/// The object at `path`, or a shape error.
pub(crate) fn object<'v>(v: &'v Value, path: &str) -> Result<&'v Map<String, Value>, ImportError> {
    v.as_object().ok_or_else(|| ImportError::Shape {
        path: path.to_owned(),
        expected: "an object",
    })
}

/// The array at `path`, or a shape error.
pub(crate) fn array<'v>(v: &'v Value, path: &str) -> Result<&'v Vec<Value>, ImportError> {
    v.as_array().ok_or_else(|| ImportError::Shape {
        path: path.to_owned(),
        expected: "an array",
    })
}

/// Whether `name` is a domain name in RFC 1035 §2.3.1 preferred syntax, as tandem's config
/// requires for domain-search and host names (labels of 1..=63 letters, digits and hyphens
/// not at either end, at most 253 characters, an optional trailing dot).
pub(crate) fn is_domain_name(name: &str) -> bool {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    !trimmed.is_empty()
        && trimmed.len() <= 253
        && trimmed.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}
