//! Receive and send slots for io_uring `RecvMsg` / `SendMsg`: a buffer, its iovec, the peer's
//! address and the control buffer, boxed so the kernel's pointers stay valid while an operation
//! is in flight.

use std::mem;
use std::net::{Ipv6Addr, SocketAddrV6};

/// A DHCPv6 datagram can be as large as UDP allows; a maximum-size one must be seen whole to be
/// judged (testing.md item 8), so receive buffers take 64 KiB.
pub(crate) const RECV_BUF_LEN: usize = 65_536;
const CONTROL_LEN: usize = 64;

pub(crate) struct RecvSlot {
    pub(crate) buf: Box<[u8]>,
    iov: libc::iovec,
    name: libc::sockaddr_in6,
    control: [u8; CONTROL_LEN],
    pub(crate) msg: libc::msghdr,
}

/// Where a datagram came from and where it was sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    pub(crate) len: usize,
    pub(crate) src: SocketAddrV6,
    /// (destination address, arriving interface) from IPV6_PKTINFO.
    pub(crate) pktinfo: Option<(Ipv6Addr, u32)>,
    pub(crate) truncated: bool,
}

impl RecvSlot {
    pub(crate) fn new() -> Box<Self> {
        // SAFETY: all-zero is a valid bit pattern for these plain C structs.
        let mut slot = Box::new(Self {
            buf: vec![0u8; RECV_BUF_LEN].into_boxed_slice(),
            iov: unsafe { mem::zeroed() },
            name: unsafe { mem::zeroed() },
            control: [0; CONTROL_LEN],
            msg: unsafe { mem::zeroed() },
        });
        slot.reset();
        slot
    }

    /// Point the msghdr at this slot's own fields; call before every submission (the kernel
    /// rewrites the lengths).
    pub(crate) fn reset(&mut self) {
        self.iov.iov_base = self.buf.as_mut_ptr().cast();
        self.iov.iov_len = self.buf.len();
        self.msg.msg_name = (&mut self.name as *mut libc::sockaddr_in6).cast();
        self.msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        self.msg.msg_iov = &mut self.iov;
        self.msg.msg_iovlen = 1;
        self.msg.msg_control = self.control.as_mut_ptr().cast();
        self.msg.msg_controllen = CONTROL_LEN;
        self.msg.msg_flags = 0;
    }

    /// Decode a completed receive of `len` bytes.
    pub(crate) fn received(&self, len: usize) -> Received {
        let src = SocketAddrV6::new(
            Ipv6Addr::from(self.name.sin6_addr.s6_addr),
            u16::from_be(self.name.sin6_port),
            0,
            self.name.sin6_scope_id,
        );
        Received {
            len: len.min(self.buf.len()),
            src,
            pktinfo: self.pktinfo(),
            truncated: self.msg.msg_flags & libc::MSG_TRUNC != 0,
        }
    }

    fn pktinfo(&self) -> Option<(Ipv6Addr, u32)> {
        // SAFETY: msg_control/msg_controllen describe this slot's control buffer as the kernel
        // filled it; the CMSG_* macros stay within msg_controllen.
        unsafe {
            let mut cmsg = libc::CMSG_FIRSTHDR(&self.msg);
            while !cmsg.is_null() {
                if (*cmsg).cmsg_level == libc::IPPROTO_IPV6
                    && (*cmsg).cmsg_type == libc::IPV6_PKTINFO
                {
                    let info: libc::in6_pktinfo =
                        std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                    return Some((Ipv6Addr::from(info.ipi6_addr.s6_addr), info.ipi6_ifindex));
                }
                cmsg = libc::CMSG_NXTHDR(&self.msg, cmsg);
            }
        }
        None
    }
}

pub(crate) struct SendSlot {
    pub(crate) buf: Vec<u8>,
    iov: libc::iovec,
    name: libc::sockaddr_in6,
    pub(crate) msg: libc::msghdr,
}

impl SendSlot {
    pub(crate) fn new() -> Box<Self> {
        // SAFETY: all-zero is a valid bit pattern for these plain C structs.
        Box::new(Self {
            buf: Vec::with_capacity(1500),
            iov: unsafe { mem::zeroed() },
            name: unsafe { mem::zeroed() },
            msg: unsafe { mem::zeroed() },
        })
    }

    /// Fill the slot with a datagram for `dst`.
    pub(crate) fn prepare(&mut self, bytes: &[u8], dst: SocketAddrV6) {
        self.buf.clear();
        self.buf.extend_from_slice(bytes);
        self.name.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        self.name.sin6_port = dst.port().to_be();
        self.name.sin6_addr.s6_addr = dst.ip().octets();
        self.name.sin6_scope_id = dst.scope_id();
        self.name.sin6_flowinfo = 0;
        self.iov.iov_base = self.buf.as_mut_ptr().cast();
        self.iov.iov_len = self.buf.len();
        self.msg.msg_name = (&mut self.name as *mut libc::sockaddr_in6).cast();
        self.msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
        self.msg.msg_iov = &mut self.iov;
        self.msg.msg_iovlen = 1;
        self.msg.msg_control = std::ptr::null_mut();
        self.msg.msg_controllen = 0;
        self.msg.msg_flags = 0;
    }
}
