//! The UDP socket each worker owns: `[::]:547`, `SO_REUSEPORT`, joined to the DHCPv6 multicast
//! groups on the configured interfaces, with `IPV6_RECVPKTINFO` so every datagram carries the
//! interface it arrived on and the address it was sent to.

use std::ffi::CString;
use std::io;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};

use socket2::{Domain, Protocol, Socket, Type};

/// UDP port servers and relays listen on [RFC 8415 §7.2].
pub(crate) const SERVER_PORT: u16 = 547;
/// All_DHCP_Relay_Agents_and_Servers [RFC 8415 §7.1].
pub(crate) const ALL_RELAYS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// All_DHCP_Servers [RFC 8415 §7.1] (site-scoped; relays may use it).
pub(crate) const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, 3);

/// An interface tandem serves on.
#[derive(Debug, Clone)]
pub(crate) struct Interface {
    pub(crate) name: String,
    pub(crate) index: u32,
}

/// Resolve interface names to indexes; an unknown name is an operator error worth naming.
pub(crate) fn resolve_interfaces(names: &[String]) -> io::Result<Vec<Interface>> {
    names
        .iter()
        .map(|name| {
            let c = CString::new(name.as_str()).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, "NUL in interface name")
            })?;
            // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
            let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
            if index == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("interface `{name}` does not exist"),
                ));
            }
            Ok(Interface {
                name: name.clone(),
                index,
            })
        })
        .collect()
}

/// `IPV6_MULTICAST_ALL` from `<linux/in6.h>` (not exported by the libc crate for glibc).
const IPV6_MULTICAST_ALL: i32 = 29;

/// One worker's socket. Every worker binds the same port with `SO_REUSEPORT`, and the kernel
/// spreads *unicast* datagrams (relays) across them by flow hash (or the reuseport program of
/// the steered datapath picks the shard's socket). Linux delivers a *multicast* datagram to
/// every socket bound to the port that joined the group, so the socket starts with
/// `IPV6_MULTICAST_ALL = 0` and joins nothing; [`receive_multicast`] joins the groups on the
/// sockets the datapath chooses ([`crate::datapath`]). Whichever worker receives a packet hands
/// it to the shard's owner when it is not that owner.
pub(crate) fn server_socket(port: u16) -> io::Result<OwnedFd> {
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_only_v6(true)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    // Large buffers absorb bursts while a worker waits for a journal sync.
    let _ = socket.set_recv_buffer_size(4 << 20);
    let _ = socket.set_send_buffer_size(4 << 20);
    set_int_opt(&socket, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
    // Replies to link-local multicast senders go out with hop limit 1 anyway; relays are unicast.
    socket.set_multicast_loop_v6(false)?;
    let addr = SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0);
    socket.bind(&addr.into())?;
    set_int_opt(&socket, libc::IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)?;
    Ok(socket.into())
}

/// A socket made by [`server_socket`] starts receiving multicast: it joins the groups on
/// every interface. Only for sockets that filter out other shards' clients (XDP steering's
/// socket filter), or every worker would answer every Solicit.
pub(crate) fn receive_multicast(fd: &OwnedFd, interfaces: &[Interface]) -> io::Result<()> {
    let socket = socket2::SockRef::from(fd);
    set_int_opt(&socket, libc::IPPROTO_IPV6, IPV6_MULTICAST_ALL, 1)?;
    join_groups(&socket, interfaces)
}

fn join_groups(socket: &Socket, interfaces: &[Interface]) -> io::Result<()> {
    for iface in interfaces {
        socket.join_multicast_v6(&ALL_RELAYS_AND_SERVERS, iface.index)?;
        socket.join_multicast_v6(&ALL_SERVERS, iface.index)?;
    }
    Ok(())
}

/// The kernel's cookie of a socket (SO_COOKIE): what a socket-filter program sees.
pub(crate) fn cookie(fd: &OwnedFd) -> io::Result<u64> {
    let mut value: u64 = 0;
    let mut len = size_of::<u64>() as libc::socklen_t;
    // SAFETY: the pointer and length describe a live u64 for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_COOKIE,
            (&mut value as *mut u64).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

fn set_int_opt(socket: &Socket, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live i32 for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
