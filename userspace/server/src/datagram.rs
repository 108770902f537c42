//! What a receive yields ([`Received`]; the buffers are the worker's multishot ring) and the
//! send slots for io_uring `SendMsg`: a buffer, its iovec and the peer's address, boxed so the
//! kernel's pointers stay valid while a send is in flight.

use std::mem;
use std::net::{Ipv6Addr, SocketAddrV6};

/// A DHCPv6 datagram can be as large as UDP allows; a maximum-size one must be seen whole to be
/// judged (testing.md item 8), so receive buffers take 64 KiB.
pub(crate) const RECV_BUF_LEN: usize = 65_536;
/// Room for the control messages of a receive (IPV6_PKTINFO).
pub(crate) const CONTROL_LEN: usize = 64;

/// Where a datagram came from and where it was sent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    pub(crate) src: SocketAddrV6,
    /// (destination address, arriving interface) from IPV6_PKTINFO.
    pub(crate) pktinfo: Option<(Ipv6Addr, u32)>,
    pub(crate) truncated: bool,
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
