//! tandem's eBPF object through aya: load it, fill the maps of the contract
//! ([`tandem_ebpf_common::maps`]), attach the socket filter to every worker socket, the
//! reuseport program to their group and the XDP program to the interfaces, and read the XDP
//! counters.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};

use anyhow::{anyhow, Context};
use aya::maps::{Array, CpuMap, HashMap, MapData, PerCpuArray, ReusePortSockArray};
use aya::programs::{SkReuseport, SocketFilter, Xdp, XdpMode};
use aya::Ebpf;
use tandem_ebpf_common::maps::{
    Counter, CONFIG_FLAGS, CONFIG_PORT, CONFIG_RATE_PER_S, CONFIG_SHARDS, FLAG_REDIRECT,
    MAP_CONFIG, MAP_COUNTERS, MAP_CPUS, MAP_SHARD_CPU, MAP_SOCKETS, MAP_SOCK_SHARD, MAX_CPUS,
    MAX_SHARDS, PROGRAM, PROGRAM_REUSEPORT, PROGRAM_SOCK_FILTER,
};

use crate::socket::{self, Interface, SERVER_PORT};

/// Packets a CPUMAP entry queues before the CPU takes them.
const CPUMAP_QUEUE: u32 = 2048;

/// An XDP attach mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// In the driver (veth has it).
    Native,
    /// In the kernel's generic path, for any driver.
    Generic,
}

impl Mode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Generic => "generic",
        }
    }

    fn flags(self) -> XdpMode {
        match self {
            Self::Native => XdpMode::Driver,
            Self::Generic => XdpMode::Skb,
        }
    }
}

/// The loaded object. Dropping it detaches the XDP program from every interface.
pub(crate) struct Programs {
    ebpf: Ebpf,
}

impl Programs {
    /// Loads the object, configures the maps for `sockets.len()` shards (worker `i` owns
    /// shard `i`, runs on `cpus[i]`), attaches the socket filter to every socket and the
    /// reuseport program to their group.
    pub(crate) fn load(
        bytes: &[u8],
        rate_per_source: u32,
        sockets: &[OwnedFd],
        cpus: &[usize],
    ) -> anyhow::Result<Self> {
        let shards = u32::try_from(sockets.len()).unwrap_or(u32::MAX);
        if shards == 0 || shards > MAX_SHARDS || cpus.len() < sockets.len() {
            return Err(anyhow!(
                "{shards} workers: XDP steering takes 1..={MAX_SHARDS}"
            ));
        }
        let mut ebpf = Ebpf::load(bytes).context("the kernel refused the object")?;
        {
            let mut config: Array<&mut MapData, u32> = map(&mut ebpf, MAP_CONFIG)?;
            config.set(CONFIG_SHARDS, shards, 0)?;
            config.set(CONFIG_RATE_PER_S, rate_per_source, 0)?;
            config.set(CONFIG_FLAGS, FLAG_REDIRECT, 0)?;
            config.set(CONFIG_PORT, u32::from(SERVER_PORT), 0)?;
        }
        {
            let mut shard_cpu: Array<&mut MapData, u32> = map(&mut ebpf, MAP_SHARD_CPU)?;
            for (i, &cpu) in cpus.iter().take(sockets.len()).enumerate() {
                let cpu = u32::try_from(cpu).ok().filter(|&c| c < MAX_CPUS);
                let cpu = cpu.ok_or_else(|| anyhow!("CPU index beyond {MAX_CPUS}"))?;
                shard_cpu.set(i as u32, cpu, 0)?;
            }
        }
        {
            let mut cpumap: CpuMap<&mut MapData> = map(&mut ebpf, MAP_CPUS)?;
            for &cpu in cpus.iter().take(sockets.len()) {
                cpumap
                    .set(cpu as u32, CPUMAP_QUEUE, None, 0)
                    .with_context(|| format!("CPUMAP entry for CPU {cpu}"))?;
            }
        }
        {
            let mut by_cookie: HashMap<&mut MapData, u64, u32> = map(&mut ebpf, MAP_SOCK_SHARD)?;
            for (i, fd) in sockets.iter().enumerate() {
                let cookie = socket::cookie(fd).context("SO_COOKIE")?;
                by_cookie.insert(cookie, i as u32, 0)?;
            }
        }
        {
            let mut group: ReusePortSockArray<&mut MapData> = map(&mut ebpf, MAP_SOCKETS)?;
            for (i, fd) in sockets.iter().enumerate() {
                group.set(i as u32, fd, 0)?;
            }
        }
        let filter: &mut SocketFilter = program(&mut ebpf, PROGRAM_SOCK_FILTER)?;
        filter.load().context("loading the socket filter")?;
        for fd in sockets {
            filter.attach(fd.as_fd()).context("SO_ATTACH_BPF")?;
        }
        let reuseport: &mut SkReuseport = program(&mut ebpf, PROGRAM_REUSEPORT)?;
        reuseport.load().context("loading the reuseport program")?;
        if let Some(fd) = sockets.first() {
            reuseport
                .attach(fd.as_fd())
                .context("SO_ATTACH_REUSEPORT_EBPF")?;
        }
        Ok(Self { ebpf })
    }

    /// Attaches the XDP program to every interface in `mode`; on failure none stays attached.
    pub(crate) fn attach_xdp(
        &mut self,
        interfaces: &[Interface],
        mode: Mode,
    ) -> anyhow::Result<()> {
        let xdp: &mut Xdp = program(&mut self.ebpf, PROGRAM)?;
        if xdp.fd().is_err() {
            xdp.load().context("loading the XDP program")?;
        }
        let mut links = Vec::new();
        for iface in interfaces {
            match xdp.attach(&iface.name, mode.flags()) {
                Ok(link) => links.push(link),
                Err(e) => {
                    for link in links {
                        let _ = xdp.detach(link);
                    }
                    return Err(anyhow!(e))
                        .with_context(|| format!("{} mode on {}", mode.name(), iface.name));
                }
            }
        }
        Ok(())
    }

    /// Every XDP counter summed over the CPUs.
    pub(crate) fn counters(&self) -> anyhow::Result<BTreeMap<&'static str, u64>> {
        let m = self
            .ebpf
            .map(MAP_COUNTERS)
            .ok_or_else(|| anyhow!("no map {MAP_COUNTERS}"))?;
        let counters: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(m)?;
        let mut out = BTreeMap::new();
        for c in Counter::ALL {
            let per_cpu = counters.get(&(c as u32), 0)?;
            out.insert(c.name(), per_cpu.iter().sum());
        }
        Ok(out)
    }
}

fn map<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> anyhow::Result<T>
where
    T: TryFrom<&'a mut aya::maps::Map, Error = aya::maps::MapError>,
{
    let m = ebpf
        .map_mut(name)
        .ok_or_else(|| anyhow!("the object has no map {name}"))?;
    T::try_from(m).with_context(|| format!("map {name}"))
}

fn program<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> anyhow::Result<&'a mut T>
where
    &'a mut T: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
{
    let p = ebpf
        .program_mut(name)
        .ok_or_else(|| anyhow!("the object has no program {name}"))?;
    <&mut T>::try_from(p).with_context(|| format!("program {name}"))
}
