//! UDP sockets and batched syscalls: one `SO_REUSEPORT` group with a classic-BPF steering
//! program, `sendmmsg` and `recvmmsg` over buffers allocated once.
//!
//! Why not io_uring: on this 2-core machine the generator must leave CPU to the server, and
//! the cost that matters is syscalls per datagram. `sendmmsg`/`recvmmsg` with 64 datagrams per
//! call already bring that to a 64th; io_uring would save the one remaining syscall per batch
//! at the price of a second, kernel-version-dependent code path. The batch loop is the same
//! either way, so io_uring can replace [`SendBatch::flush`] and [`RecvBatch::recv`] later.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Datagrams per `sendmmsg` / `recvmmsg`.
pub const BATCH: usize = 64;
/// Room for one outgoing datagram (the largest relayed Request is about 200 octets).
pub const SEND_BUF_LEN: usize = 512;
/// Room for one incoming datagram.
pub const RECV_BUF_LEN: usize = 2048;
/// Socket buffer size asked for (`SO_RCVBUFFORCE`/`SO_SNDBUFFORCE` as root).
const SOCKET_BUF_LEN: i32 = 8 << 20;

/// One UDP socket of the group.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Where in an answer's UDP payload the steering program reads the owning worker's byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Steer {
    /// The last xid octet of a direct answer (offset 3, RFC 8415 §8): the client index's low
    /// byte.
    XidLowByte,
    /// The last octet of a Relay-reply's peer-address (offset 33, RFC 8415 §9): the client's
    /// link-local address, whose last octet is the index's low byte.
    PeerLowByte,
}

impl Steer {
    /// The payload offset read.
    pub fn offset(self) -> u32 {
        match self {
            Self::XidLowByte => 3,
            Self::PeerLowByte => 33,
        }
    }
}

/// The classic-BPF steering program: socket index = payload byte at `offset` & (n − 1).
/// `n` must be a power of two (the workers' ownership rule `index % n` then agrees).
pub fn steering_program(offset: u32, n: u32) -> [libc::sock_filter; 3] {
    const LD_B_ABS: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_ABS) as u16;
    const AND_K: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
    const RET_A: u16 = (libc::BPF_RET | libc::BPF_A) as u16;
    [
        libc::sock_filter {
            code: LD_B_ABS,
            jt: 0,
            jf: 0,
            k: offset,
        },
        libc::sock_filter {
            code: AND_K,
            jt: 0,
            jf: 0,
            k: n.saturating_sub(1),
        },
        libc::sock_filter {
            code: RET_A,
            jt: 0,
            jf: 0,
            k: 0,
        },
    ]
}

/// Opens `n` (a power of two) non-blocking sockets bound to `bind` in one `SO_REUSEPORT`
/// group, socket i being group index i, with the steering program attached. `multicast_if`
/// sets the interface for multicast sends (direct attachment).
pub fn open_group(
    n: usize,
    bind: SocketAddrV6,
    multicast_if: Option<u32>,
    steer: Steer,
) -> io::Result<Vec<Socket>> {
    if !n.is_power_of_two() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "socket count must be a power of two",
        ));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let s = open_one(bind, multicast_if)?;
        out.push(s);
    }
    if n > 1 {
        let prog = steering_program(steer.offset(), n as u32);
        let fprog = libc::sock_fprog {
            len: prog.len() as u16,
            filter: prog.as_ptr().cast_mut(),
        };
        // SAFETY: fprog points at `prog`, alive for the call; the kernel copies the program.
        let r = unsafe {
            libc::setsockopt(
                out[0].as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_REUSEPORT_CBPF,
                (&raw const fprog).cast(),
                size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(out)
}

fn open_one(bind: SocketAddrV6, multicast_if: Option<u32>) -> io::Result<Socket> {
    // SAFETY: socket(2) with constant arguments; the result is checked.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET6,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    let s = Socket {
        fd: unsafe { OwnedFd::from_raw_fd(fd) },
    };
    set_int(&s, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    set_int(&s, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    for (force, plain) in [
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
    ] {
        if set_int(&s, libc::SOL_SOCKET, force, SOCKET_BUF_LEN).is_err() {
            set_int(&s, libc::SOL_SOCKET, plain, SOCKET_BUF_LEN)?;
        }
    }
    if let Some(ifindex) = multicast_if {
        set_int(
            &s,
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_IF,
            ifindex as i32,
        )?;
        set_int(&s, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 1)?;
        set_int(&s, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, 0)?;
    }
    let sa = sockaddr(bind);
    // SAFETY: sa is a valid sockaddr_in6 of the length passed.
    let r = unsafe {
        libc::bind(
            s.as_raw_fd(),
            (&raw const sa).cast(),
            size_of::<libc::sockaddr_in6>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(s)
}

fn set_int(s: &Socket, level: i32, name: i32, v: i32) -> io::Result<()> {
    // SAFETY: an int option of the right size.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            level,
            name,
            (&raw const v).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `addr` as the C structure.
pub fn sockaddr(addr: SocketAddrV6) -> libc::sockaddr_in6 {
    // SAFETY: sockaddr_in6 is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in6 = unsafe { zeroed() };
    sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    sa.sin6_port = addr.port().to_be();
    sa.sin6_addr.s6_addr = addr.ip().octets();
    sa.sin6_scope_id = addr.scope_id();
    sa.sin6_flowinfo = addr.flowinfo();
    sa
}

/// The index of interface `name` (in this network namespace).
pub fn interface_index(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name has a NUL"))?;
    // SAFETY: c is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(i)
}

/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// Up to [`BATCH`] outgoing datagrams to one destination, sent with one `sendmmsg`.
pub struct SendBatch {
    bufs: Box<[[u8; SEND_BUF_LEN]; BATCH]>,
    lens: [usize; BATCH],
    dest: libc::sockaddr_in6,
    iov: [libc::iovec; BATCH],
    hdrs: [libc::mmsghdr; BATCH],
    n: usize,
}

impl std::fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBatch").field("n", &self.n).finish()
    }
}

// SAFETY: the raw pointers in `iov` and `hdrs` only ever point into this batch's own boxed
// buffers and destination, and are rewritten right before each syscall; moving the batch to
// another thread moves what they point at with it (the box does not move).
unsafe impl Send for SendBatch {}

impl SendBatch {
    /// An empty batch for `dest`.
    pub fn new(dest: SocketAddrV6) -> Self {
        Self {
            bufs: Box::new([[0; SEND_BUF_LEN]; BATCH]),
            lens: [0; BATCH],
            dest: sockaddr(dest),
            // SAFETY: iovec and mmsghdr are plain data; all-zero (null pointers) is valid
            // and every entry is filled in before each sendmmsg.
            iov: unsafe { zeroed() },
            hdrs: unsafe { zeroed() },
            n: 0,
        }
    }

    /// Datagrams queued.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Whether no more fits.
    pub fn is_full(&self) -> bool {
        self.n == BATCH
    }

    /// The next free buffer, to be committed with [`Self::commit`] (`None` when full).
    pub fn next_buf(&mut self) -> Option<&mut [u8; SEND_BUF_LEN]> {
        self.bufs.get_mut(self.n)
    }

    /// Queues the buffer returned by [`Self::next_buf`] with `len` octets.
    pub fn commit(&mut self, len: usize) {
        if self.n < BATCH {
            self.lens[self.n] = len.min(SEND_BUF_LEN);
            self.n += 1;
        }
    }

    /// Sends everything queued; returns how many datagrams could not be sent.
    pub fn flush(&mut self, s: &Socket) -> u64 {
        let n = self.n;
        self.n = 0;
        for i in 0..n {
            self.iov[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: self.lens[i],
            };
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = (&raw mut self.dest).cast();
            h.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            h.msg_iov = &raw mut self.iov[i];
            h.msg_iovlen = 1;
        }
        let mut done = 0usize;
        let mut stalls = 0;
        while done < n {
            // SAFETY: hdrs[done..n] point at live buffers, iovecs and the destination of
            // this batch, which outlive the call.
            let r = unsafe {
                libc::sendmmsg(
                    s.as_raw_fd(),
                    self.hdrs[done..].as_mut_ptr(),
                    (n - done) as libc::c_uint,
                    0,
                )
            };
            if r > 0 {
                done += r as usize;
                continue;
            }
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock && stalls < 100 {
                stalls += 1;
                wait(s, libc::POLLOUT, 1_000_000);
                continue;
            }
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        (n - done) as u64
    }
}

/// Up to [`BATCH`] incoming datagrams, read with one `recvmmsg`.
pub struct RecvBatch {
    bufs: Box<[[u8; RECV_BUF_LEN]; BATCH]>,
    iov: [libc::iovec; BATCH],
    hdrs: [libc::mmsghdr; BATCH],
    n: usize,
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch").field("n", &self.n).finish()
    }
}

// SAFETY: as for SendBatch: the pointers are rewritten before each recvmmsg and point into
// this batch's own boxed buffers.
unsafe impl Send for RecvBatch {}

impl RecvBatch {
    /// Empty buffers.
    pub fn new() -> Self {
        Self {
            bufs: Box::new([[0; RECV_BUF_LEN]; BATCH]),
            // SAFETY: plain data, filled in before each recvmmsg.
            iov: unsafe { zeroed() },
            hdrs: unsafe { zeroed() },
            n: 0,
        }
    }

    /// Reads what is waiting, without blocking; returns how many datagrams (0: none).
    pub fn recv(&mut self, s: &Socket) -> io::Result<usize> {
        for i in 0..BATCH {
            self.iov[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: RECV_BUF_LEN,
            };
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = std::ptr::null_mut();
            h.msg_namelen = 0;
            h.msg_iov = &raw mut self.iov[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            self.hdrs[i].msg_len = 0;
        }
        // SAFETY: every header points at a live buffer of RECV_BUF_LEN octets.
        let r = unsafe {
            libc::recvmmsg(
                s.as_raw_fd(),
                self.hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            self.n = 0;
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        self.n = r as usize;
        Ok(self.n)
    }

    /// Datagram `i` of the last [`Self::recv`] (empty past the end).
    pub fn packet(&self, i: usize) -> &[u8] {
        if i >= self.n {
            return &[];
        }
        let len = (self.hdrs[i].msg_len as usize).min(RECV_BUF_LEN);
        &self.bufs[i][..len]
    }
}

impl Default for RecvBatch {
    fn default() -> Self {
        Self::new()
    }
}

/// Waits until `s` has `events` (POLLIN/POLLOUT) or `timeout_ns` passed.
pub fn wait(s: &Socket, events: i16, timeout_ns: u64) {
    let mut p = libc::pollfd {
        fd: s.as_raw_fd(),
        events,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: (timeout_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (timeout_ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: one valid pollfd and a valid timespec; no signal mask.
    unsafe {
        libc::ppoll(&raw mut p, 1, &raw const ts, std::ptr::null());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steering_program_reads_the_byte_and_masks() {
        let p = steering_program(33, 4);
        assert_eq!(p[0].code, 0x30, "ld b abs");
        assert_eq!(p[0].k, 33);
        assert_eq!(p[1].code, 0x54, "and k");
        assert_eq!(p[1].k, 3);
        assert_eq!(p[2].code, 0x16, "ret a");
    }

    #[test]
    fn loopback_batches_are_steered_to_the_owning_socket() {
        // Two sockets on one loopback port; datagrams whose byte 3 is even reach socket 0,
        // odd ones socket 1.
        let probe = open_group(
            1,
            SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0),
            None,
            Steer::XidLowByte,
        )
        .unwrap();
        let mut sa: libc::sockaddr_in6 = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        // SAFETY: test-only getsockname into a sockaddr_in6.
        unsafe { libc::getsockname(probe[0].as_raw_fd(), (&raw mut sa).cast(), &raw mut len) };
        let port = u16::from_be(sa.sin6_port);
        drop(probe);
        let group = open_group(
            2,
            SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0),
            None,
            Steer::XidLowByte,
        )
        .unwrap();
        let sender = open_group(
            1,
            SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0),
            None,
            Steer::XidLowByte,
        )
        .unwrap();
        let mut batch = SendBatch::new(SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0));
        for i in 0..10u8 {
            let b = batch.next_buf().unwrap();
            b[..4].copy_from_slice(&[2, 0, 0, i]);
            batch.commit(4);
        }
        assert_eq!(batch.flush(&sender[0]), 0);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut rb = RecvBatch::new();
        for (k, s) in group.iter().enumerate() {
            let n = rb.recv(s).unwrap();
            assert_eq!(n, 5, "socket {k}");
            for i in 0..n {
                assert_eq!(usize::from(rb.packet(i)[3]) % 2, k);
            }
        }
        assert_eq!(rb.recv(&group[0]).unwrap(), 0);
        assert!(rb.packet(0).is_empty());
        assert!(open_group(
            3,
            SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0),
            None,
            Steer::XidLowByte
        )
        .is_err());
    }
}
