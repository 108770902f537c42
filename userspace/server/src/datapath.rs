//! How DHCPv6 packets reach the worker that owns their client (design: Steering).
//!
//! * **socket** — every worker binds UDP 547 with `SO_REUSEPORT`; only worker 0's socket joins
//!   the multicast groups (Linux copies a multicast datagram to every joined socket), the
//!   kernel spreads unicast (relayed) datagrams by flow hash, and a worker hands a packet for
//!   another shard's client to its owner over a bounded queue.
//! * **steered** — tandem's eBPF object (`cargo xtask build-ebpf`, [`tandem_ebpf_common::maps`])
//!   adds a socket filter on every worker socket that keeps only its own shard's clients, so
//!   every worker can join the multicast groups and a Solicit is queued at its owner alone; and
//!   a reuseport program that sends a unicast datagram to its shard's socket. Handoffs then
//!   happen only for what the programs could not parse.
//! * **XDP** (on top of steered) — the XDP program on each interface counts every decision,
//!   drops malformed DHCPv6 to the server port and sources over the rate budget, and redirects
//!   a steered packet to the CPU its worker is pinned to (CPUMAP), native mode or generic.
//!
//! `mode = "auto"` takes the best that works and logs why the rest did not; `"xdp"` refuses to
//! start without XDP; `"socket"` loads nothing. Without the object, without the privilege or on
//! an old kernel the server runs, correctly, on sockets (testing.md 28: degrade, never lose
//! service).

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use tandem_config::{DatapathMode, DatapathSettings, XdpAttach};
use tracing::{info, warn};

use crate::socket::{self, Interface};

mod ebpf;

/// Which datapath runs, for the log, stats.json and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Active {
    /// Plain sockets and handoffs; `why` says what kept the others out.
    Socket { why: String },
    /// Socket filter + reuseport steering, no XDP program attached (`why`).
    Steered { why: String },
    /// Steering plus the XDP program in this attach mode on every interface.
    Xdp { mode: &'static str },
}

impl Active {
    /// Stable name: `socket`, `steered`, `xdp-native`, `xdp-generic`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Socket { .. } => "socket",
            Self::Steered { .. } => "steered",
            Self::Xdp { mode: "native" } => "xdp-native",
            Self::Xdp { .. } => "xdp-generic",
        }
    }

    /// Do the workers' sockets keep only their own shard's clients?
    pub(crate) fn steered(&self) -> bool {
        !matches!(self, Self::Socket { .. })
    }
}

/// The running datapath. Dropping it detaches the XDP program (the socket programs go with
/// the sockets).
pub(crate) struct Datapath {
    active: Active,
    programs: Option<ebpf::Programs>,
}

impl Datapath {
    pub(crate) fn active(&self) -> &Active {
        &self.active
    }

    /// The XDP program's counters summed over CPUs, by name; `None` without XDP.
    pub(crate) fn counters(&self) -> Option<BTreeMap<&'static str, u64>> {
        match (&self.active, &self.programs) {
            (Active::Xdp { .. }, Some(p)) => p.counters().ok(),
            _ => None,
        }
    }
}

impl Drop for Datapath {
    fn drop(&mut self) {
        if let Active::Xdp { .. } = self.active {
            info!("XDP program detached");
        }
    }
}

/// Sets the datapath up for the workers' `sockets` (made by [`socket::server_socket`];
/// socket `i` is worker `i`'s, pinned to `cpus[i]`). Joins the multicast groups on the sockets
/// that may receive them. Errors only when the configuration demands XDP and it cannot run.
pub(crate) fn start(
    settings: &DatapathSettings,
    interfaces: &[Interface],
    sockets: &[OwnedFd],
    cpus: &[usize],
) -> anyhow::Result<Datapath> {
    let (active, programs) = match settings.mode {
        DatapathMode::Socket => (
            Active::Socket {
                why: "configured".into(),
            },
            None,
        ),
        _ => match load(settings, sockets, cpus) {
            Err(e) if settings.mode == DatapathMode::Xdp => {
                return Err(e.context("datapath.mode = \"xdp\""));
            }
            Err(e) => (
                Active::Socket {
                    why: format!("{e:#}"),
                },
                None,
            ),
            Ok(mut p) => match attach_xdp(&mut p, settings.xdp_attach, interfaces) {
                Ok(mode) => (Active::Xdp { mode }, Some(p)),
                Err(e) if settings.mode == DatapathMode::Xdp => {
                    return Err(e.context("datapath.mode = \"xdp\""));
                }
                Err(e) => (
                    Active::Steered {
                        why: format!("{e:#}"),
                    },
                    Some(p),
                ),
            },
        },
    };
    // Multicast: every steered socket (its filter keeps its own clients), else worker 0 only.
    for (i, fd) in sockets.iter().enumerate() {
        if i == 0 || active.steered() {
            socket::receive_multicast(fd, interfaces).context("joining ff02::1:2 and ff05::1:3")?;
        }
    }
    match &active {
        Active::Socket { why } => info!(datapath = active.name(), reason = %why, "datapath"),
        Active::Steered { why } => {
            warn!(datapath = active.name(), reason = %why, "datapath: XDP not attached")
        }
        Active::Xdp { .. } => info!(datapath = active.name(), "datapath"),
    }
    Ok(Datapath { active, programs })
}

/// Loads the object, fills its maps and attaches the socket programs.
fn load(
    settings: &DatapathSettings,
    sockets: &[OwnedFd],
    cpus: &[usize],
) -> anyhow::Result<ebpf::Programs> {
    let path = object_path(settings.xdp_object.as_deref())?;
    let bytes = std::fs::read(&path)
        .with_context(|| format!("reading the XDP object {}", path.display()))?;
    ebpf::Programs::load(&bytes, settings.rate_limit_per_source, sockets, cpus)
        .with_context(|| format!("loading {}", path.display()))
}

fn attach_xdp(
    p: &mut ebpf::Programs,
    attach: XdpAttach,
    interfaces: &[Interface],
) -> anyhow::Result<&'static str> {
    let modes: &[ebpf::Mode] = match attach {
        XdpAttach::Native => &[ebpf::Mode::Native],
        XdpAttach::Generic => &[ebpf::Mode::Generic],
        _ => &[ebpf::Mode::Native, ebpf::Mode::Generic],
    };
    let mut last = None;
    for &mode in modes {
        match p.attach_xdp(interfaces, mode) {
            Ok(()) => return Ok(mode.name()),
            Err(e) => {
                warn!(mode = mode.name(), error = %format!("{e:#}"), "XDP attach failed");
                last = Some(e);
            }
        }
    }
    match last {
        Some(e) => Err(e),
        None => bail!("no XDP attach mode to try"),
    }
}

/// The configured object, else the first that exists of `TANDEM_XDP_OBJECT`, `tandem-xdp`
/// next to the running binary, and `/usr/lib/tandem/tandem-xdp`.
fn object_path(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = configured {
        return Ok(p.to_owned());
    }
    let mut places = Vec::new();
    if let Some(p) = std::env::var_os("TANDEM_XDP_OBJECT") {
        places.push(PathBuf::from(p));
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_owned))
    {
        places.push(dir.join("tandem-xdp"));
    }
    places.push(PathBuf::from("/usr/lib/tandem/tandem-xdp"));
    first_file(&places)
}

fn first_file(places: &[PathBuf]) -> anyhow::Result<PathBuf> {
    match places.iter().find(|p| p.is_file()) {
        Some(p) => Ok(p.clone()),
        None => bail!(
            "no XDP object (tried {}; build it with `cargo xtask build-ebpf`)",
            places
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The CPUs this process may run on (sched_getaffinity), in order; `[0]` if unknown.
pub(crate) fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; the call fills it for this process.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return vec![0];
        }
        set
    };
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `c` is below CPU_SETSIZE and `set` is initialised.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect();
    if cpus.is_empty() {
        vec![0]
    } else {
        cpus
    }
}

/// Pins the calling thread to `cpu` (the worker whose packets XDP redirects there).
pub(crate) fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_SET stays within it for cpu < CPU_SETSIZE.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
        }
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable() {
        let why = String::new;
        assert_eq!(Active::Socket { why: why() }.name(), "socket");
        assert_eq!(Active::Steered { why: why() }.name(), "steered");
        assert_eq!(Active::Xdp { mode: "native" }.name(), "xdp-native");
        assert_eq!(Active::Xdp { mode: "generic" }.name(), "xdp-generic");
        assert!(!Active::Socket { why: why() }.steered());
        assert!(Active::Steered { why: why() }.steered());
    }

    #[test]
    fn the_object_is_the_configured_one_or_the_first_that_exists() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let text = format!("{:#}", first_file(&[a.clone(), b.clone()]).unwrap_err());
        assert!(text.contains(&*a.to_string_lossy()) && text.contains(&*b.to_string_lossy()));
        assert!(text.contains("cargo xtask build-ebpf"), "{text}");
        std::fs::write(&b, b"obj").unwrap();
        assert_eq!(first_file(&[a.clone(), b.clone()]).unwrap(), b);
        std::fs::write(&a, b"obj").unwrap();
        assert_eq!(first_file(&[a.clone(), b]).unwrap(), a);
        let configured = Path::new("/nonexistent/tandem-xdp");
        assert_eq!(object_path(Some(configured)).unwrap(), configured);
    }

    #[test]
    fn the_process_may_run_somewhere() {
        let cpus = allowed_cpus();
        assert!(!cpus.is_empty());
        assert!(cpus.windows(2).all(|w| w[0] < w[1]));
    }
}
