//! [`BindingUpdate`] as the payload of the lazy-update queue ([`crate::lazy`]; RFC 8156 §4.3,
//! §7.4, §7.6): coalesced per client or delegable prefix, encoded by [`encode_bndupd`].

use tandem_wire::failover::FailoverMessage;
use tandem_wire::Xid;

use super::encode::{encode_bndupd, encoded_len};
use super::model::{BindingUpdate, UpdateKey};
use super::reply_codec::decode_bndreply;
use crate::lazy::LazyUpdate;
use crate::time::FoTime;

impl LazyUpdate for BindingUpdate {
    type Key = UpdateKey;

    fn key(&self) -> UpdateKey {
        Self::key(self)
    }

    fn encoded_len(&self) -> usize {
        encoded_len(self)
    }

    /// `None` when `buf` is too small or the update breaks an RFC 8156 §7.4 rule.
    fn encode(&self, xid: Xid, sent: FoTime, buf: &mut [u8]) -> Option<usize> {
        encode_bndupd(self, xid, sent, buf).ok()
    }

    /// A BNDREPLY that does not decode counts as a rejection: nothing in it is recorded as
    /// acknowledged (§7.7).
    fn is_rejection(reply: &FailoverMessage<'_>) -> bool {
        decode_bndreply(reply).map_or(true, |r| r.has_rejection())
    }

    /// A refused top-level IAPREFIX (FREE-BACKUP or FREE, §4.2.2) is the partner's answer
    /// to a hand-over: the owner records it instead of resending.
    fn refusal_is_final(&self) -> bool {
        matches!(self, Self::Prefix { .. })
    }

    /// A prefix hand-over is durable at the primary and collected again on the next
    /// connection (entering NORMAL): stopping need not wait for thousands of them.
    fn deferrable(&self) -> bool {
        matches!(self, Self::Prefix { .. })
    }
}

#[cfg(test)]
mod tests {
    use tandem_wire::failover::testdata as wire;

    use super::super::tests::{client_update, msg, prefix_update, t};
    use super::*;
    use crate::lazy::{Pushed, UpdateQueue};

    #[test]
    fn trait_methods_use_the_codec() {
        let u = client_update();
        assert_eq!(LazyUpdate::key(&u), u.key());
        let need = LazyUpdate::encoded_len(&u);
        let mut buf = vec![0u8; need];
        assert_eq!(
            LazyUpdate::encode(&u, Xid::from_u32(1), t(0), &mut buf),
            Some(need)
        );
        assert_eq!(
            LazyUpdate::encode(&u, Xid::from_u32(1), t(0), &mut buf[..need - 1]),
            None
        );
        assert!(!BindingUpdate::is_rejection(&msg(wire::BNDREPLY)));
        assert!(BindingUpdate::is_rejection(&msg(wire::BNDREPLY_PREFIX)));
        assert!(
            BindingUpdate::is_rejection(&msg(wire::BNDUPD)),
            "not a BNDREPLY"
        );
    }

    #[test]
    fn queue_coalesces_per_client_and_prefix() {
        let mut q = UpdateQueue::<BindingUpdate>::new(8);
        assert_eq!(q.push(client_update()), Pushed::Queued);
        assert_eq!(q.push(client_update()), Pushed::Coalesced);
        assert_eq!(q.push(prefix_update()), Pushed::Queued);
    }
}
