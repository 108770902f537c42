//! `[failover]` → [`Failover`]: each relationship's values checked alone (ranges of protocol
//! notes §1.17 and `tandem_failover::Config::validate`), then against the other relationships
//! (unique names, R7) and the subnets (each in at most one relationship, R8; no lifetime under
//! 30 s in a covered subnet, R10).

use std::net::{Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::Path;

use tandem_engine::policy::SubnetId;
use tandem_failover::{MAX_RELATIONSHIP_NAME_LEN, SKEW_WINDOW_DEFAULT, SKEW_WINDOW_MAX};
use toml::Spanned;

use crate::error::{ConfigError, Invalid};
use crate::failover::{
    Failover, Fraction, Relationship, Role, FAILOVER_LIFETIME_MIN_S, FAILOVER_PORT,
};
use crate::failover_peer::{is_unicast, socket_addr, tls};
use crate::locate::Source;
use crate::raw::{RawFailover, RawRelationship, RawRole, RawSubnet};
use crate::validate::Merged;

/// Defaults of the relationship keys (protocol notes §1.17 where it gives one).
pub(crate) const MCLT_DEFAULT_S: u32 = 3600;
pub(crate) const KEEPALIVE_DEFAULT_S: u32 = 60;
/// Least keepalive: the CONTACT interval (whole seconds) must fit under it.
pub(crate) const KEEPALIVE_MIN_S: u32 = 2;
/// FO_CONTACT_PER_KEEPALIVE_TIME [RFC 8156 §6.5]: the default CONTACT interval is
/// keepalive ÷ 4.
pub(crate) const CONTACTS_PER_KEEPALIVE: u32 = 4;
pub(crate) const MAX_UNACKED_BNDUPD_DEFAULT: u32 = 128;
pub(crate) const MAX_UNACKED_BNDUPD_MAX: u32 = 65_535;
pub(crate) const STARTUP_TIMER_DEFAULT_S: u32 = 10;
pub(crate) const RECONNECT_INITIAL_DEFAULT_MS: u32 = 1_000;
pub(crate) const RECONNECT_CAP_DEFAULT_MS: u32 = 64_000;
pub(crate) const UPDATE_REQUEST_TIMEOUT_DEFAULT_S: u32 = 60;
pub(crate) const PREFIX_SHARE_DEFAULT: f64 = 0.5;
pub(crate) const PREFIX_REBALANCE_THRESHOLD_DEFAULT: f64 = 0.05;

/// A subnet's merged address and prefix lifetimes, kept with their spans for the R10 check.
pub(crate) struct SubnetLifetimes {
    id: u32,
    addresses: Merged,
    prefixes: Option<Merged>,
}

/// The lifetimes of every subnet as [`crate::subnet`] merges them (globals, then the subnet's
/// `lifetimes`, then its `pd-lifetimes`).
pub(crate) fn subnet_lifetimes(globals: &Merged, raw: &[RawSubnet]) -> Vec<SubnetLifetimes> {
    raw.iter()
        .map(|s| {
            let addresses = globals.over(s.lifetimes.as_ref().unwrap_or(&Default::default()));
            let prefixes = s.pd_lifetimes.as_ref().map(|pd| addresses.over(pd));
            SubnetLifetimes {
                id: *s.id.get_ref(),
                addresses,
                prefixes,
            }
        })
        .collect()
}

/// A relationship's claim on a subnet: where it was listed (or the relationship's header when
/// it covers every subnet by default).
struct Claim {
    id: u32,
    span: Range<usize>,
}

/// Checks `[failover]` against the subnets (already validated, ids unique).
pub(crate) fn failover(
    raw: Spanned<RawFailover>,
    subnets: &[SubnetLifetimes],
    base: &Path,
    src: &Source<'_>,
) -> Result<Failover, ConfigError> {
    let table_span = raw.span();
    let raw = raw.into_inner();
    if raw.relationship.is_empty() {
        return Err(src.invalid(&table_span, Invalid::NoRelationships));
    }
    let single = raw.relationship.len() == 1;
    let mut relationships: Vec<Relationship> = Vec::with_capacity(raw.relationship.len());
    let mut name_spans: Vec<Range<usize>> = Vec::with_capacity(raw.relationship.len());
    let mut claims: Vec<Claim> = Vec::new();
    for raw_relationship in raw.relationship {
        let span = raw_relationship.span();
        let r = raw_relationship.into_inner();
        let mut relationship = relationship(&r, &span, base, src)?;
        let name_span = r.name.span();
        let mut earlier = relationships.iter().zip(&name_spans);
        // R7 before plain name uniqueness: the more specific message wins.
        if let Some((_, other)) = earlier.clone().find(|(o, _)| {
            o.name == relationship.name
                && o.partner.ip() == relationship.partner.ip()
                && o.role == relationship.role
        }) {
            let invalid = Invalid::DuplicateRelationship {
                other: src.place(other),
            };
            return Err(src.invalid(&name_span, invalid));
        }
        if let Some((_, other)) = earlier.find(|(o, _)| o.name == relationship.name) {
            let invalid = Invalid::DuplicateRelationshipName {
                other: src.place(other),
            };
            return Err(src.invalid(&name_span, invalid));
        }
        let first_claim = claims.len();
        covered(&r, &span, single, subnets, &mut claims, src)?;
        for claim in &claims[first_claim..] {
            lifetimes_long_enough(&relationship.name, claim, subnets, src)?;
        }
        relationship.subnets = claims[first_claim..]
            .iter()
            .map(|c| SubnetId(c.id))
            .collect();
        relationships.push(relationship);
        name_spans.push(name_span);
    }
    Ok(Failover { relationships })
}

/// The subnets a relationship covers, appended to `claims`: its `subnets` list, or every subnet
/// when it is the only relationship. Each subnet must exist and be claimed once (R8).
fn covered(
    r: &RawRelationship,
    span: &Range<usize>,
    single: bool,
    subnets: &[SubnetLifetimes],
    claims: &mut Vec<Claim>,
    src: &Source<'_>,
) -> Result<(), ConfigError> {
    let Some(list) = &r.subnets else {
        if !single {
            return Err(src.missing(span, "subnets", Invalid::SubnetsRequired));
        }
        claims.extend(subnets.iter().map(|s| Claim {
            id: s.id,
            span: span.clone(),
        }));
        return Ok(());
    };
    if list.get_ref().is_empty() {
        return Err(src.invalid(&list.span(), Invalid::NoSubnets));
    }
    for id in list.get_ref() {
        let (value, at) = (*id.get_ref(), id.span());
        if !subnets.iter().any(|s| s.id == value) {
            return Err(src.invalid(&at, Invalid::UnknownSubnet(value)));
        }
        if let Some(other) = claims.iter().find(|c| c.id == value) {
            let invalid = Invalid::SubnetTaken {
                id: value,
                other: src.place(&other.span),
            };
            return Err(src.invalid(&at, invalid));
        }
        claims.push(Claim {
            id: value,
            span: at,
        });
    }
    Ok(())
}

/// R10: no valid or preferred lifetime (address or prefix) under 30 s in a covered subnet. The
/// error points at the lifetime key, wherever it was written.
fn lifetimes_long_enough(
    relationship: &str,
    claim: &Claim,
    subnets: &[SubnetLifetimes],
    src: &Source<'_>,
) -> Result<(), ConfigError> {
    let Some(subnet) = subnets.iter().find(|s| s.id == claim.id) else {
        return Ok(());
    };
    let kinds = [
        (false, Some(&subnet.addresses)),
        (true, subnet.prefixes.as_ref()),
    ];
    for (prefix, merged) in kinds {
        let Some((is_valid, value_s, at)) =
            merged.and_then(|m| m.first_below(FAILOVER_LIFETIME_MIN_S))
        else {
            continue;
        };
        let which = match (prefix, is_valid) {
            (false, true) => "valid lifetime",
            (false, false) => "preferred lifetime",
            (true, true) => "prefix valid lifetime",
            (true, false) => "prefix preferred lifetime",
        };
        let invalid = Invalid::FailoverLifetime {
            which,
            value_s,
            subnet: claim.id,
            relationship: relationship.to_owned(),
        };
        return Err(src.invalid(&at.unwrap_or_else(|| claim.span.clone()), invalid));
    }
    Ok(())
}

/// The keys of one relationship checked alone; `subnets` is left empty for the caller.
fn relationship(
    r: &RawRelationship,
    span: &Range<usize>,
    base: &Path,
    src: &Source<'_>,
) -> Result<Relationship, ConfigError> {
    let name = r.name.get_ref();
    if name.is_empty() || name.len() > MAX_RELATIONSHIP_NAME_LEN {
        let invalid = Invalid::RelationshipNameLength(name.len());
        return Err(src.invalid(&r.name.span(), invalid));
    }
    let role = match r.role.get_ref() {
        RawRole::Primary => Role::Primary,
        RawRole::Secondary => Role::Secondary,
    };
    let partner = socket_addr(&r.partner, src)?;
    if !is_unicast(partner.ip()) || partner.ip().is_unspecified() {
        return Err(src.invalid(&r.partner.span(), Invalid::NotUnicast(partner.ip())));
    }
    let listen = match &r.listen {
        Some(text) => {
            let listen = socket_addr(text, src)?;
            if !is_unicast(listen.ip()) {
                return Err(src.invalid(&text.span(), Invalid::NotUnicast(listen.ip())));
            }
            listen
        }
        None => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), FAILOVER_PORT),
    };

    let mclt_s = value(&r.mclt, MCLT_DEFAULT_S);
    if mclt_s < FAILOVER_LIFETIME_MIN_S {
        return Err(src.invalid(&at(&r.mclt, span), Invalid::Mclt(mclt_s)));
    }
    let keepalive_s = value(&r.keepalive, KEEPALIVE_DEFAULT_S);
    if keepalive_s < KEEPALIVE_MIN_S {
        return Err(src.invalid(&at(&r.keepalive, span), Invalid::Keepalive(keepalive_s)));
    }
    let contact_default_s = (keepalive_s / CONTACTS_PER_KEEPALIVE).max(1);
    let contact_interval_s = value(&r.contact_interval, contact_default_s);
    if contact_interval_s == 0 || contact_interval_s >= keepalive_s {
        let invalid = Invalid::ContactInterval {
            contact_s: contact_interval_s,
            keepalive_s,
        };
        // Only a written contact-interval can be out of range (the default fits).
        return Err(src.invalid(&at(&r.contact_interval, span), invalid));
    }
    let max_unacked_bndupd = value(&r.max_unacked_bndupd, MAX_UNACKED_BNDUPD_DEFAULT);
    if !(1..=MAX_UNACKED_BNDUPD_MAX).contains(&max_unacked_bndupd) {
        let invalid = Invalid::MaxUnackedBndupd(max_unacked_bndupd);
        return Err(src.invalid(&at(&r.max_unacked_bndupd, span), invalid));
    }
    let skew_window = r
        .skew_window
        .as_ref()
        .map_or(SKEW_WINDOW_DEFAULT, |v| *v.get_ref());
    if !(1..=SKEW_WINDOW_MAX).contains(&skew_window) {
        let invalid = Invalid::SkewWindow {
            got: skew_window,
            max: SKEW_WINDOW_MAX,
        };
        return Err(src.invalid(&at(&r.skew_window, span), invalid));
    }
    let startup_timer_s = nonzero(
        &r.startup_timer,
        STARTUP_TIMER_DEFAULT_S,
        "startup-timer",
        src,
    )?;
    let reconnect_initial_ms = nonzero(
        &r.reconnect_initial,
        RECONNECT_INITIAL_DEFAULT_MS,
        "reconnect-initial",
        src,
    )?;
    let reconnect_cap_ms = value(&r.reconnect_cap, RECONNECT_CAP_DEFAULT_MS);
    if reconnect_cap_ms < reconnect_initial_ms {
        let invalid = Invalid::ReconnectCap {
            initial_ms: reconnect_initial_ms,
            cap_ms: reconnect_cap_ms,
        };
        // Blame the cap if it was written, else the initial delay that outgrew its default.
        let blamed = r.reconnect_cap.as_ref().or(r.reconnect_initial.as_ref());
        let blamed = blamed.map_or_else(|| span.clone(), Spanned::span);
        return Err(src.invalid(&blamed, invalid));
    }
    let auto_partner_down_s = match &r.auto_partner_down {
        Some(v) if *v.get_ref() == 0 => {
            return Err(src.invalid(&v.span(), Invalid::ZeroTime("auto-partner-down")))
        }
        Some(v) => Some(*v.get_ref()),
        None => None,
    };
    let update_request_timeout_s = nonzero(
        &r.update_request_timeout,
        UPDATE_REQUEST_TIMEOUT_DEFAULT_S,
        "update-request-timeout",
        src,
    )?;
    let prefix_share = fraction(
        &r.prefix_share,
        PREFIX_SHARE_DEFAULT,
        Invalid::PrefixShare,
        |x| (0.0..=1.0).contains(&x),
        src,
    )?;
    let prefix_rebalance_threshold = fraction(
        &r.prefix_rebalance_threshold,
        PREFIX_REBALANCE_THRESHOLD_DEFAULT,
        Invalid::RebalanceThreshold,
        |x| x > 0.0 && x < 1.0,
        src,
    )?;
    let tls = tls(r.tls.as_ref(), span, base, src)?;
    Ok(Relationship {
        name: name.clone(),
        role,
        partner,
        listen,
        subnets: Vec::new(),
        mclt_s,
        keepalive_s,
        contact_interval_s,
        max_unacked_bndupd,
        skew_window,
        startup_timer_s,
        reconnect_initial_ms,
        reconnect_cap_ms,
        auto_partner_down_s,
        stimulus: r.stimulus.unwrap_or(true),
        update_request_timeout_s,
        prefix_share,
        prefix_rebalance_threshold,
        tls,
    })
}

fn value(v: &Option<Spanned<u32>>, default: u32) -> u32 {
    v.as_ref().map_or(default, |v| *v.get_ref())
}

/// Where a possibly absent value is: its own span, else `fallback` (the relationship).
fn at<T>(v: &Option<Spanned<T>>, fallback: &Range<usize>) -> Range<usize> {
    v.as_ref().map_or_else(|| fallback.clone(), Spanned::span)
}

/// A time that must be above 0 (a zero timer would fire at once, over and over).
fn nonzero(
    v: &Option<Spanned<u32>>,
    default: u32,
    what: &'static str,
    src: &Source<'_>,
) -> Result<u32, ConfigError> {
    match v {
        Some(v) if *v.get_ref() == 0 => Err(src.invalid(&v.span(), Invalid::ZeroTime(what))),
        _ => Ok(value(v, default)),
    }
}

/// A fraction that `ok` accepts (NaN never is: every comparison with it is false).
fn fraction(
    v: &Option<Spanned<f64>>,
    default: f64,
    error: fn(String) -> Invalid,
    ok: impl Fn(f64) -> bool,
    src: &Source<'_>,
) -> Result<Fraction, ConfigError> {
    let x = v.as_ref().map_or(default, |v| *v.get_ref());
    match (ok(x), Fraction::new(x)) {
        (true, Some(f)) => Ok(f),
        _ => Err(src.invalid(
            &v.as_ref().map_or(0..0, Spanned::span),
            error(x.to_string()),
        )),
    }
}
