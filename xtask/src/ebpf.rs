//! `cargo xtask build-ebpf`: builds tandem's eBPF object (`ebpf/xdp`: `tandem_xdp`,
//! `tandem_sock_filter`, `tandem_reuseport`) to [`OBJECT`] under the repository root.
//!
//! The crate is outside the host workspace: it builds only with nightly, `-Z build-std=core` and
//! bpf-linker (ebpf-toolchain.md), all of which `deps` installs idempotently first. The server
//! loads the object by path and runs without it, so a plain `cargo build` never needs nightly.
//!
//! The tests at the bottom (ignored: root, namespaces and the built object) prove that the kernel's
//! verifier accepts all three programs, that `tandem_xdp` attaches to a veth in native and in
//! generic mode and counts what it sees, and that the socket filter and the reuseport program
//! read the datagram at the offset this kernel gives them. `cargo xtask test` runs them in its
//! `ebpf` step, right after building the object.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::shell::{cmd, run_streamed};

/// The eBPF object, relative to the repository root.
pub(crate) const OBJECT: &str = "target/bpfel-unknown-none/release/tandem-xdp";

/// Installs what the build needs, builds the object and prints its path.
pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let object = build(root)?;
    println!("ebpf: {}", object.display());
    Ok(())
}

/// `deps`, then the release build of `ebpf/xdp` into `<root>/target`; returns the object's path.
pub(crate) fn build(root: &Path) -> anyhow::Result<PathBuf> {
    crate::deps::run().context("installing the eBPF toolchain (nightly rust-src, bpf-linker)")?;
    let mut c = cmd("cargo", ["+nightly", "build", "--release", "--target-dir"]);
    c.arg(root.join("target"))
        .current_dir(root.join("ebpf/xdp"));
    // The crate's `.cargo/config.toml` and `rust-toolchain.toml` set the target, build-std and
    // flags; variables inherited from the outer cargo (or the caller) must not override them.
    for var in [
        "RUSTUP_TOOLCHAIN",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC",
        "RUSTC_WRAPPER",
    ] {
        c.env_remove(var);
    }
    run_streamed(&mut c)?;
    let object = root.join(OBJECT);
    if !object.is_file() {
        bail!(
            "the eBPF build succeeded but {} is missing",
            object.display()
        );
    }
    Ok(object)
}

/// The verifier and attach checks (the ignored tests below), for `cargo xtask test`.
pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    run_streamed(
        cmd(
            "cargo",
            [
                "test",
                "-p",
                "xtask",
                "--bin",
                "xtask",
                "--",
                "--ignored",
                "--test-threads=1",
                "ebpf::tests::",
            ],
        )
        .current_dir(root),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::ffi::CString;
    use std::fs::File;
    use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    use aya::maps::{Array, CpuMap, HashMap, MapData, PerCpuArray, ReusePortSockArray};
    use aya::programs::{SkReuseport, SocketFilter, Xdp, XdpMode};
    use aya::Ebpf;
    use socket2::{Domain, Protocol, Socket, Type};
    use tandem_ebpf_common::maps::{
        Counter, CONFIG_FLAGS, CONFIG_PORT, CONFIG_RATE_PER_S, CONFIG_SHARDS, FLAG_REDIRECT,
        MAP_CONFIG, MAP_COUNTERS, MAP_CPUS, MAP_SHARD_CPU, MAP_SOCKETS, MAP_SOCK_SHARD, MAX_CPUS,
        PROGRAM, PROGRAM_REUSEPORT, PROGRAM_SOCK_FILTER,
    };
    use tandem_ebpf_common::shard_of;
    use tandem_lab::{add_address, Link, Netns};

    use super::*;

    const SERVER: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x7d, 0, 0, 0, 0, 0, 1);
    const CLIENT: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x7d, 0, 0, 0, 0, 0, 2);
    const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
    const WAIT: Duration = Duration::from_millis(300);

    /// Runs `f` on a thread inside `ns`'s network namespace (setns affects only that thread).
    fn in_netns<T: Send>(
        ns: &str,
        f: impl FnOnce() -> anyhow::Result<T> + Send,
    ) -> anyhow::Result<T> {
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(format!("/run/netns/{ns}"))?;
                // SAFETY: setns(2) on an fd we own; it moves only this thread.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    bail!("setns {ns}: {}", std::io::Error::last_os_error());
                }
                f()
            })
            .join()
            .map_err(|_| anyhow::anyhow!("thread in {ns} panicked"))?
        })
    }

    fn if_index(name: &str) -> u32 {
        let c = CString::new(name).unwrap();
        // SAFETY: a NUL-terminated name; the call only reads it.
        unsafe { libc::if_nametoindex(c.as_ptr()) }
    }

    fn load_object() -> Ebpf {
        let object = super::super::repo_root().join(OBJECT);
        assert!(
            object.is_file(),
            "{} is missing: run `cargo xtask build-ebpf` first",
            object.display()
        );
        Ebpf::load_file(&object).unwrap()
    }

    fn set_config(ebpf: &mut Ebpf, shards: u32, flags: u32, rate_per_s: u32) {
        let mut config: Array<&mut MapData, u32> =
            Array::try_from(ebpf.map_mut(MAP_CONFIG).unwrap()).unwrap();
        config.set(CONFIG_SHARDS, shards, 0).unwrap();
        config.set(CONFIG_FLAGS, flags, 0).unwrap();
        config.set(CONFIG_RATE_PER_S, rate_per_s, 0).unwrap();
        config.set(CONFIG_PORT, 547, 0).unwrap();
    }

    fn counters(ebpf: &Ebpf) -> BTreeMap<&'static str, u64> {
        let map: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(ebpf.map(MAP_COUNTERS).unwrap()).unwrap();
        Counter::ALL
            .iter()
            .map(|c| (c.name(), map.get(&(*c as u32), 0).unwrap().iter().sum()))
            .collect()
    }

    fn duid(n: u32) -> Vec<u8> {
        let mut d = vec![0, 1, 0, 1, 0x5e, 0xed, 0, 0];
        d.extend_from_slice(&n.to_be_bytes());
        d
    }

    fn option(code: u16, body: &[u8]) -> Vec<u8> {
        let mut o = code.to_be_bytes().to_vec();
        o.extend_from_slice(&(body.len() as u16).to_be_bytes());
        o.extend_from_slice(body);
        o
    }

    /// A Solicit carrying `duid`, transaction id = the DUID's last three octets.
    fn solicit(duid: &[u8]) -> Vec<u8> {
        let mut m = vec![1];
        m.extend_from_slice(&duid[duid.len() - 3..]);
        m.extend(option(8, &[0, 0]));
        m.extend(option(1, duid));
        m
    }

    fn relayed(inner: &[u8]) -> Vec<u8> {
        let mut m = vec![12, 0];
        m.extend_from_slice(&CLIENT.octets());
        m.extend_from_slice(&CLIENT.octets());
        m.extend(option(9, inner));
        m
    }

    fn send_all(from: &str, to: SocketAddrV6, datagrams: &[Vec<u8>]) {
        let to = *to.ip();
        let datagrams = datagrams.to_vec();
        in_netns(from, move || {
            let sock = UdpSocket::bind("[::]:0")?;
            let scope = if to.is_multicast() { if_index("xb") } else { 0 };
            for d in &datagrams {
                sock.send_to(d, SocketAddrV6::new(to, 547, 0, scope))?;
            }
            Ok(())
        })
        .unwrap();
    }

    fn lab() -> (Netns, Netns) {
        let a = Netns::new().unwrap();
        let b = Netns::new().unwrap();
        Link::veth(&a, "xa", &b, "xb").unwrap();
        add_address(&a, "xa", SERVER, 64).unwrap();
        add_address(&b, "xb", CLIENT, 64).unwrap();
        (a, b)
    }

    /// Waits until `counter` has grown by at least `by` over `before`.
    fn wait_counter(ebpf: &Ebpf, before: &BTreeMap<&str, u64>, counter: Counter, by: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let grown = counters(ebpf)[counter.name()] - before[counter.name()];
            if grown >= by || Instant::now() > deadline {
                return grown;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    #[ignore = "needs root, network namespaces and the object (cargo xtask build-ebpf)"]
    fn verifier_accepts_all_programs_and_xdp_runs_native_and_generic() {
        let (a, b) = lab();
        let server = SocketAddrV6::new(SERVER, 547, 0, 0);
        in_netns(a.name(), || {
            let mut ebpf = load_object();
            let sf: &mut SocketFilter =
                ebpf.program_mut(PROGRAM_SOCK_FILTER).unwrap().try_into()?;
            sf.load()?;
            let rp: &mut SkReuseport = ebpf.program_mut(PROGRAM_REUSEPORT).unwrap().try_into()?;
            rp.load()?;
            let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
            xdp.load()?;
            set_config(&mut ebpf, 4, 0, 0);
            let mut malformed = solicit(&duid(7));
            malformed.truncate(malformed.len() - 2);
            for mode in [XdpMode::Driver, XdpMode::Skb] {
                let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
                let link = xdp.attach("xa", mode)?;
                let before = counters(&ebpf);
                send_all(
                    b.name(),
                    server,
                    &[solicit(&duid(1)), relayed(&solicit(&duid(2)))],
                );
                send_all(b.name(), server, &[malformed.clone(), vec![13, 0]]);
                assert_eq!(
                    wait_counter(&ebpf, &before, Counter::PassNoCpu, 2),
                    2,
                    "{mode:?}"
                );
                assert_eq!(
                    wait_counter(&ebpf, &before, Counter::DropMalformed, 1),
                    1,
                    "{mode:?}"
                );
                assert_eq!(
                    wait_counter(&ebpf, &before, Counter::PassNoDuid, 1),
                    1,
                    "{mode:?}"
                );
                assert_eq!(
                    wait_counter(&ebpf, &before, Counter::Steered, 0),
                    0,
                    "{mode:?}"
                );
                let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
                xdp.detach(link)?;
            }
            // The rate limit: a budget of 2 per second lets 2 of 5 through at once.
            set_config(&mut ebpf, 4, 0, 2);
            let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
            let link = xdp.attach("xa", XdpMode::Skb)?;
            let before = counters(&ebpf);
            let burst: Vec<Vec<u8>> = (10..15).map(|n| solicit(&duid(n))).collect();
            send_all(b.name(), server, &burst);
            assert_eq!(wait_counter(&ebpf, &before, Counter::DropRateLimited, 3), 3);
            assert_eq!(wait_counter(&ebpf, &before, Counter::PassNoCpu, 2), 2);
            let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
            xdp.detach(link)?;
            Ok(())
        })
        .unwrap();
    }

    fn set_shard_cpus(ebpf: &mut Ebpf, cpus: &[u32]) {
        let mut map: Array<&mut MapData, u32> =
            Array::try_from(ebpf.map_mut(MAP_SHARD_CPU).unwrap()).unwrap();
        for (shard, cpu) in cpus.iter().enumerate() {
            map.set(shard as u32, cpu, 0).unwrap();
        }
    }

    #[test]
    #[ignore = "needs root, network namespaces and the object (cargo xtask build-ebpf)"]
    fn xdp_redirects_to_the_shard_cpu_and_passes_when_it_cannot() {
        let (a, b) = lab();
        // Redirected frames skip the sender's checksum offload fix-up (testing.md).
        b.run(&["ethtool", "-K", "xb", "tx", "off"]).unwrap();
        let server = SocketAddrV6::new(SERVER, 547, 0, 0);
        in_netns(a.name(), || {
            let mut ebpf = load_object();
            set_config(&mut ebpf, 2, FLAG_REDIRECT, 0);
            let mut cpus: CpuMap<&mut MapData> = CpuMap::try_from(ebpf.map_mut(MAP_CPUS).unwrap())?;
            cpus.set(0, 256, None, 0)?;
            let sock = UdpSocket::bind("[::]:547")?;
            sock.set_read_timeout(Some(WAIT))?;
            let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
            xdp.load()?;
            for mode in [XdpMode::Driver, XdpMode::Skb] {
                let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
                let link = xdp.attach("xa", mode)?;
                // Both shards on CPU 0, which is in the CPU map: steered, and delivered.
                set_shard_cpus(&mut ebpf, &[0, 0]);
                let before = counters(&ebpf);
                let sent = [solicit(&duid(1)), relayed(&solicit(&duid(2)))];
                send_all(b.name(), server, &sent);
                assert_eq!(
                    wait_counter(&ebpf, &before, Counter::Steered, 2),
                    2,
                    "{mode:?}"
                );
                let got = drain(std::slice::from_ref(&sock));
                assert_eq!(got[0], sent.to_vec(), "{mode:?}");
                // CPU 1 is not in the CPU map: the redirect fails and the packet goes up.
                set_shard_cpus(&mut ebpf, &[1, 1]);
                let before = counters(&ebpf);
                send_all(b.name(), server, &[solicit(&duid(3))]);
                let failed = wait_counter(&ebpf, &before, Counter::PassRedirectFailed, 1);
                assert_eq!(failed, 1, "{mode:?}");
                // No CPU for the shard: passed without trying.
                set_shard_cpus(&mut ebpf, &[MAX_CPUS, u32::MAX]);
                send_all(b.name(), server, &[solicit(&duid(4))]);
                assert_eq!(
                    wait_counter(&ebpf, &before, Counter::PassNoCpu, 1),
                    1,
                    "{mode:?}"
                );
                assert_eq!(drain(std::slice::from_ref(&sock))[0].len(), 2, "{mode:?}");
                let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
                xdp.detach(link)?;
            }
            Ok(())
        })
        .unwrap();
    }

    /// Jumbo frames: generic mode reads them whole. Native mode on a 9000-octet veth refuses a
    /// program without multi-buffer (`xdp.frags`) support (ERANGE), so the loader falls back to
    /// generic there. `tandem_xdp` stays single-buffer on purpose: as an `xdp.frags` program it
    /// attaches natively, but in generic mode its CPU-map redirects were lost on this kernel.
    #[test]
    #[ignore = "needs root, network namespaces and the object (cargo xtask build-ebpf)"]
    fn xdp_reads_jumbo_frames_in_generic_mode_and_native_refuses_them() {
        let (a, b) = lab();
        for (ns, dev) in [(&a, "xa"), (&b, "xb")] {
            ns.run(&["ip", "link", "set", dev, "mtu", "9000"]).unwrap();
        }
        let server = SocketAddrV6::new(SERVER, 547, 0, 0);
        // A Solicit of ~8.5 KB: a large Vendor-specific Information option before the DUID.
        let mut big = vec![1, 0, 0, 7];
        big.extend(option(17, &[0xab; 8400]));
        big.extend(option(1, &duid(77)));
        in_netns(a.name(), || {
            let mut ebpf = load_object();
            set_config(&mut ebpf, 4, 0, 0);
            let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
            xdp.load()?;
            assert!(xdp.attach("xa", XdpMode::Driver).is_err());
            let link = xdp.attach("xa", XdpMode::Skb)?;
            let before = counters(&ebpf);
            send_all(b.name(), server, &[big.clone(), relayed(&big)]);
            assert_eq!(wait_counter(&ebpf, &before, Counter::PassNoCpu, 2), 2);
            let xdp: &mut Xdp = ebpf.program_mut(PROGRAM).unwrap().try_into()?;
            xdp.detach(link)?;
            Ok(())
        })
        .unwrap();
    }

    fn worker_socket(ifindex: u32) -> anyhow::Result<UdpSocket> {
        let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_only_v6(true)?;
        s.set_reuse_port(true)?;
        s.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, 547)).into())?;
        s.join_multicast_v6(&ALL_SERVERS, ifindex)?;
        s.set_read_timeout(Some(WAIT))?;
        Ok(s.into())
    }

    fn cookie(s: &UdpSocket) -> u64 {
        let mut v = 0u64;
        let mut len = size_of::<u64>() as libc::socklen_t;
        // SAFETY: getsockopt(SO_COOKIE) writes a u64 into `v`, bounded by `len`.
        let rc = unsafe {
            libc::getsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_COOKIE,
                (&mut v as *mut u64).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "SO_COOKIE: {}", std::io::Error::last_os_error());
        v
    }

    /// Everything each socket receives until it stays quiet for [`WAIT`].
    fn drain(socks: &[UdpSocket]) -> Vec<Vec<Vec<u8>>> {
        socks
            .iter()
            .map(|s| {
                let mut got = Vec::new();
                let mut buf = [0u8; 1500];
                while let Ok(n) = s.recv(&mut buf) {
                    got.push(buf[..n].to_vec());
                }
                got
            })
            .collect()
    }

    #[test]
    #[ignore = "needs root, network namespaces and the object (cargo xtask build-ebpf)"]
    fn reuseport_and_socket_filter_deliver_to_the_owning_shard() {
        let (a, b) = lab();
        in_netns(a.name(), || {
            let mut ebpf = load_object();
            set_config(&mut ebpf, 2, 0, 0);
            let ifindex = if_index("xa");
            let socks = [worker_socket(ifindex)?, worker_socket(ifindex)?];
            let rp: &mut SkReuseport = ebpf.program_mut(PROGRAM_REUSEPORT).unwrap().try_into()?;
            rp.load()?;
            rp.attach(&socks[0])?;
            let sf: &mut SocketFilter =
                ebpf.program_mut(PROGRAM_SOCK_FILTER).unwrap().try_into()?;
            sf.load()?;
            for s in &socks {
                sf.attach(s)?;
            }
            let mut array: ReusePortSockArray<&mut MapData> =
                ReusePortSockArray::try_from(ebpf.map_mut(MAP_SOCKETS).unwrap())?;
            for (shard, s) in socks.iter().enumerate() {
                array.set(shard as u32, s, 0)?;
            }
            let mut by_cookie: HashMap<&mut MapData, u64, u32> =
                HashMap::try_from(ebpf.map_mut(MAP_SOCK_SHARD).unwrap())?;
            for (shard, s) in socks.iter().enumerate() {
                by_cookie.insert(cookie(s), shard as u32, 0)?;
            }
            let duids: Vec<Vec<u8>> = (100..116).map(duid).collect();
            let owner = |d: &[u8]| shard_of(d, 2) as usize;
            assert!(duids.iter().any(|d| owner(d) == 0) && duids.iter().any(|d| owner(d) == 1));
            for (to, relay) in [(SERVER, false), (SERVER, true), (ALL_SERVERS, false)] {
                let sent: Vec<Vec<u8>> = duids
                    .iter()
                    .map(|d| {
                        if relay {
                            relayed(&solicit(d))
                        } else {
                            solicit(d)
                        }
                    })
                    .collect();
                send_all(b.name(), SocketAddrV6::new(to, 547, 0, 0), &sent);
                let got = drain(&socks);
                for (d, m) in duids.iter().zip(&sent) {
                    for (shard, g) in got.iter().enumerate() {
                        let n = g.iter().filter(|x| *x == m).count();
                        let want = usize::from(shard == owner(d));
                        assert_eq!(n, want, "to {to} relayed {relay}: shard {shard}");
                    }
                }
            }
            // Multicast without a DUID: shard 0's socket only.
            let info = vec![11, 0, 0, 9];
            send_all(
                b.name(),
                SocketAddrV6::new(ALL_SERVERS, 547, 0, 0),
                std::slice::from_ref(&info),
            );
            let got = drain(&socks);
            assert_eq!(got[0], vec![info]);
            assert!(got[1].is_empty(), "{:?}", got[1]);
            Ok(())
        })
        .unwrap();
    }
}
