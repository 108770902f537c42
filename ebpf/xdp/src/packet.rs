//! [`Packet`] over the kernel's load-bytes helpers, so the parsing in `tandem_ebpf_common::parse`
//! runs unchanged on an XDP frame and on a socket buffer. The helpers check the range at run
//! time, which keeps the verifier's view simple: no packet-pointer arithmetic to prove safe.

use aya_ebpf::{
    helpers::generated::{bpf_skb_load_bytes, bpf_xdp_get_buff_len, bpf_xdp_load_bytes},
    programs::{SkBuffContext, SkReuseportContext, XdpContext},
    EbpfContext,
};
use tandem_ebpf_common::parse::Packet;

/// An XDP frame, all of it (`bpf_xdp_load_bytes` also reads fragments of a multi-buffer frame).
pub(crate) struct XdpPacket<'a> {
    ctx: &'a XdpContext,
    len: usize,
}

impl<'a> XdpPacket<'a> {
    #[inline(always)]
    pub(crate) fn new(ctx: &'a XdpContext) -> Self {
        // SAFETY: the helper only reads the context the kernel handed the program.
        let len = unsafe { bpf_xdp_get_buff_len(ctx.ctx) } as usize;
        Self { ctx, len }
    }
}

impl Packet for XdpPacket<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn load(&self, offset: usize, buf: &mut [u8]) -> bool {
        if buf.is_empty() || offset > u32::MAX as usize {
            return false;
        }
        // SAFETY: the helper writes at most `buf.len()` bytes into `buf` and checks the packet
        // range itself.
        let rc = unsafe {
            bpf_xdp_load_bytes(
                self.ctx.ctx,
                offset as u32,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
            )
        };
        rc == 0
    }
}

/// A socket buffer as a socket filter or an `sk_reuseport` program sees it (`bpf_skb_load_bytes`
/// reads relative to `skb->data`, the UDP header on this path).
pub(crate) struct SkbPacket {
    ctx: *mut aya_ebpf::cty::c_void,
    len: usize,
}

impl SkbPacket {
    #[inline(always)]
    pub(crate) fn of_filter(ctx: &SkBuffContext) -> Self {
        Self {
            ctx: ctx.as_ptr(),
            len: ctx.len() as usize,
        }
    }

    #[inline(always)]
    pub(crate) fn of_reuseport(ctx: &SkReuseportContext) -> Self {
        Self {
            ctx: ctx.as_ptr(),
            len: ctx.len(),
        }
    }
}

impl Packet for SkbPacket {
    #[inline(always)]
    fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn load(&self, offset: usize, buf: &mut [u8]) -> bool {
        if buf.is_empty() || offset > u32::MAX as usize {
            return false;
        }
        // SAFETY: as above; `bpf_skb_load_bytes` checks the skb range itself.
        let rc = unsafe {
            bpf_skb_load_bytes(
                self.ctx,
                offset as u32,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
            )
        };
        rc == 0
    }
}
