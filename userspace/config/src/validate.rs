//! Raw file → validated [`Config`]: server, storage, lifetimes and options. Subnets are in
//! [`crate::subnet`].

use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::{Path, PathBuf};

use tandem_engine::policy::{ClientOptions, Lifetimes, Policy};
use toml::Spanned;

use crate::control;
use crate::error::{ConfigError, Invalid};
use crate::failover_validate;
use crate::locate::Source;
use crate::metrics;
use crate::raw::{
    RawConfig, RawDatapath, RawDatapathMode, RawDurability, RawLifetimes, RawOptions, RawServer,
    RawStorage, RawXdpAttach,
};
use crate::subnet::{self, Defaults};
use crate::values::{self, parse_duid};
use crate::{
    Config, DatapathMode, DatapathSettings, Durability, ServerSettings, StorageSettings, XdpAttach,
};

/// Most worker threads a config may ask for.
pub(crate) const WORKERS_MAX: usize = 1024;
/// Preferred lifetime when neither the subnet nor `[lifetimes]` gives one.
pub(crate) const PREFERRED_DEFAULT_S: u32 = 3600;
/// Valid lifetime when neither the subnet nor `[lifetimes]` gives one.
pub(crate) const VALID_DEFAULT_S: u32 = 7200;
/// How long a declined address is held back when `server.decline-hold` is absent.
pub(crate) const DECLINE_HOLD_DEFAULT_S: u32 = 86_400;
/// SOL_MAX_RT bounds [RFC 8415 §21.24].
const SOL_MAX_RT_S: Range<u32> = 60..86_401;
/// INFORMATION_REFRESH_TIME minimum [RFC 8415 §21.23].
const INFORMATION_REFRESH_TIME_MIN_S: u32 = 600;

/// `base`: the config file's directory, for relative paths in the file.
pub(crate) fn validate(
    raw: RawConfig,
    src: &Source<'_>,
    base: &Path,
) -> Result<Config, ConfigError> {
    let rapid_commit = raw.server.rapid_commit.unwrap_or(false);
    let decline_hold_s = raw.server.decline_hold.unwrap_or(DECLINE_HOLD_DEFAULT_S);
    let server = server(raw.server, src)?;
    let storage_span = raw.storage.path.span();
    let storage = storage(raw.storage, src)?;
    let control = control::control(raw.control, &storage.path, &storage_span, base, src)?;
    let lifetimes = Merged::defaults().over(&raw.lifetimes);
    lifetimes.check(src)?;
    let options = options(&raw.options, src)?;
    let subnet_lifetimes = failover_validate::subnet_lifetimes(&lifetimes, &raw.subnet);
    let defaults = Defaults {
        interfaces: &server.interfaces,
        lifetimes,
        options: &options,
        rapid_commit,
    };
    let subnets = subnet::subnets(raw.subnet, &defaults, src)?;
    let failover = match raw.failover {
        Some(f) => Some(failover_validate::failover(
            f,
            &subnet_lifetimes,
            base,
            src,
        )?),
        None => None,
    };
    let policy = Policy {
        server_duid: Vec::new(),
        subnets,
        decline_hold_s,
        options,
    };
    let datapath = datapath(raw.datapath, src, base)?;
    let metrics = match raw.metrics {
        Some(m) => Some(metrics::metrics(m, src)?),
        None => None,
    };
    Ok(Config {
        server,
        storage,
        datapath,
        failover,
        metrics,
        control,
        policy,
    })
}

fn datapath(
    raw: RawDatapath,
    src: &Source<'_>,
    base: &Path,
) -> Result<DatapathSettings, ConfigError> {
    let mode = match raw.mode.unwrap_or(RawDatapathMode::Auto) {
        RawDatapathMode::Auto => DatapathMode::Auto,
        RawDatapathMode::Xdp => DatapathMode::Xdp,
        RawDatapathMode::Socket => DatapathMode::Socket,
    };
    let xdp_attach = match raw.xdp_attach.unwrap_or(RawXdpAttach::Auto) {
        RawXdpAttach::Auto => XdpAttach::Auto,
        RawXdpAttach::Native => XdpAttach::Native,
        RawXdpAttach::Generic => XdpAttach::Generic,
    };
    let xdp_object = match raw.xdp_object {
        Some(p) if p.get_ref().trim().is_empty() => {
            return Err(src.invalid(&p.span(), Invalid::EmptyXdpObject));
        }
        Some(p) => Some(base.join(p.into_inner())),
        None => None,
    };
    Ok(DatapathSettings {
        mode,
        xdp_object,
        xdp_attach,
        rate_limit_per_source: raw.rate_limit_per_source.unwrap_or(0),
    })
}

fn server(raw: RawServer, src: &Source<'_>) -> Result<ServerSettings, ConfigError> {
    let list_span = raw.interfaces.span();
    let mut interfaces: Vec<String> = Vec::new();
    for name in raw.interfaces.into_inner() {
        let span = name.span();
        let name = name.into_inner();
        if !values::is_interface_name(&name) {
            return Err(src.invalid(&span, Invalid::InterfaceName(name)));
        }
        if interfaces.contains(&name) {
            return Err(src.invalid(&span, Invalid::DuplicateInterface(name)));
        }
        interfaces.push(name);
    }
    if interfaces.is_empty() {
        return Err(src.invalid(&list_span, Invalid::NoInterfaces));
    }
    let workers = match raw.workers {
        Some(w) if *w.get_ref() > WORKERS_MAX => {
            return Err(src.invalid(&w.span(), Invalid::TooManyWorkers(*w.get_ref())))
        }
        Some(w) => NonZeroUsize::new(w.into_inner()),
        None => None,
    };
    let server_duid = match raw.server_duid {
        Some(text) => Some(
            parse_duid(text.get_ref()).map_err(|e| src.invalid(&text.span(), Invalid::Duid(e)))?,
        ),
        None => None,
    };
    Ok(ServerSettings {
        interfaces,
        workers,
        server_duid,
    })
}

fn storage(raw: RawStorage, src: &Source<'_>) -> Result<StorageSettings, ConfigError> {
    if raw.path.get_ref().trim().is_empty() {
        return Err(src.invalid(&raw.path.span(), Invalid::EmptyStoragePath));
    }
    let durability = match raw.durability.unwrap_or(RawDurability::Durable) {
        RawDurability::Durable => Durability::Durable,
        RawDurability::OsBuffer => Durability::OsBuffer,
    };
    Ok(StorageSettings {
        path: PathBuf::from(raw.path.into_inner()),
        durability,
    })
}

/// One lifetime value and where it came from.
#[derive(Debug, Clone)]
struct Src {
    value: u32,
    span: Option<Range<usize>>,
    /// Set by the table being merged (rather than inherited from the level above).
    own: bool,
}

impl Src {
    fn builtin(value: u32) -> Self {
        Self {
            value,
            span: None,
            own: false,
        }
    }

    fn from_raw(raw: &Spanned<u32>) -> Self {
        Self {
            value: *raw.get_ref(),
            span: Some(raw.span()),
            own: true,
        }
    }
}

/// Lifetimes merged field by field over the level above (built-in defaults → `[lifetimes]` →
/// `[subnet.lifetimes]` → `[subnet.pd-lifetimes]`).
#[derive(Debug, Clone)]
pub(crate) struct Merged {
    preferred: Src,
    valid: Src,
    t1: Option<Src>,
    t2: Option<Src>,
}

impl Merged {
    fn defaults() -> Self {
        Self {
            preferred: Src::builtin(PREFERRED_DEFAULT_S),
            valid: Src::builtin(VALID_DEFAULT_S),
            t1: None,
            t2: None,
        }
    }

    /// `raw`'s keys over `self`'s values.
    pub(crate) fn over(&self, raw: &RawLifetimes) -> Self {
        let inherit = |s: &Src| Src {
            own: false,
            ..s.clone()
        };
        let pick = |own: &Option<Spanned<u32>>, base: Option<&Src>| match own {
            Some(v) => Some(Src::from_raw(v)),
            None => base.map(inherit),
        };
        Self {
            preferred: pick(&raw.preferred, Some(&self.preferred))
                .unwrap_or_else(|| inherit(&self.preferred)),
            valid: pick(&raw.valid, Some(&self.valid)).unwrap_or_else(|| inherit(&self.valid)),
            t1: pick(&raw.t1, self.t1.as_ref()),
            t2: pick(&raw.t2, self.t2.as_ref()),
        }
    }

    /// preferred <= valid and t1 <= t2 [RFC 8415 §7.7, §21.4]; the error points at the key the
    /// table being checked set itself, if any.
    pub(crate) fn check(&self, src: &Source<'_>) -> Result<Lifetimes, ConfigError> {
        let (preferred, valid) = (&self.preferred, &self.valid);
        if preferred.value > valid.value {
            let invalid = Invalid::LifetimeOrder {
                preferred_s: preferred.value,
                valid_s: valid.value,
            };
            return Err(src.invalid(&blame(preferred, valid), invalid));
        }
        if let (Some(t1), Some(t2)) = (&self.t1, &self.t2) {
            if t1.value > t2.value {
                let invalid = Invalid::TimerOrder {
                    t1_s: t1.value,
                    t2_s: t2.value,
                };
                return Err(src.invalid(&blame(t1, t2), invalid));
            }
        }
        Ok(Lifetimes {
            preferred_s: preferred.value,
            valid_s: valid.value,
            t1_s: self.t1.as_ref().map(|s| s.value),
            t2_s: self.t2.as_ref().map(|s| s.value),
        })
    }
}

impl Merged {
    /// The valid lifetime if it is under `min_s`, else the preferred one if it is: `(is_valid,
    /// seconds, where it was written)`. Built-in defaults have no span.
    pub(crate) fn first_below(&self, min_s: u32) -> Option<(bool, u32, Option<Range<usize>>)> {
        [(true, &self.valid), (false, &self.preferred)]
            .into_iter()
            .find(|(_, s)| s.value < min_s)
            .map(|(is_valid, s)| (is_valid, s.value, s.span.clone()))
    }
}

/// Of two conflicting values, the one to point at: the later one, unless only the earlier was
/// set by the table being checked.
fn blame(earlier: &Src, later: &Src) -> Range<usize> {
    let pick = if !later.own && earlier.own {
        earlier
    } else {
        later
    };
    pick.span
        .clone()
        .or_else(|| earlier.span.clone())
        .unwrap_or(0..0)
}

/// Checks one `[options]` table. Absent keys stay unset (`None` / empty).
pub(crate) fn options(raw: &RawOptions, src: &Source<'_>) -> Result<ClientOptions, ConfigError> {
    let mut domain_search = Vec::new();
    for name in raw.domain_search.iter().flatten() {
        if !values::is_domain_name(name.get_ref()) {
            return Err(src.invalid(&name.span(), Invalid::DomainName(name.get_ref().clone())));
        }
        domain_search.push(name.get_ref().clone());
    }
    if let Some(v) = &raw.sol_max_rt {
        if !SOL_MAX_RT_S.contains(v.get_ref()) {
            return Err(src.invalid(&v.span(), Invalid::SolMaxRt(*v.get_ref())));
        }
    }
    if let Some(v) = &raw.information_refresh_time {
        if *v.get_ref() < INFORMATION_REFRESH_TIME_MIN_S {
            return Err(src.invalid(&v.span(), Invalid::InformationRefreshTime(*v.get_ref())));
        }
    }
    Ok(ClientOptions {
        dns_servers: raw.dns_servers.clone().unwrap_or_default(),
        domain_search,
        preference: raw.preference,
        sol_max_rt_s: raw.sol_max_rt.as_ref().map(|v| *v.get_ref()),
        information_refresh_time_s: raw.information_refresh_time.as_ref().map(|v| *v.get_ref()),
    })
}

/// `own` over `global`, field by field. An empty list counts as unset, as the engine treats it.
pub(crate) fn merge_options(own: ClientOptions, global: &ClientOptions) -> ClientOptions {
    ClientOptions {
        dns_servers: or_inherit(own.dns_servers, &global.dns_servers),
        domain_search: or_inherit(own.domain_search, &global.domain_search),
        preference: own.preference.or(global.preference),
        sol_max_rt_s: own.sol_max_rt_s.or(global.sol_max_rt_s),
        information_refresh_time_s: own
            .information_refresh_time_s
            .or(global.information_refresh_time_s),
    }
}

fn or_inherit<T: Clone>(own: Vec<T>, global: &[T]) -> Vec<T> {
    if own.is_empty() {
        global.to_vec()
    } else {
        own
    }
}
