use super::*;

/// A toy update: a key and a version. Rejection is passed to `settle` directly, so the codec
/// functions only need to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Up {
    key: u32,
    version: u32,
}

impl LazyUpdate for Up {
    type Key = u32;
    fn key(&self) -> u32 {
        self.key
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn encode(&self, _xid: Xid, _sent: FoTime, buf: &mut [u8]) -> Option<usize> {
        buf.get_mut(..4)?
            .copy_from_slice(&self.version.to_be_bytes());
        Some(4)
    }
    fn is_rejection(_reply: &FailoverMessage<'_>) -> bool {
        false
    }
    /// Keys from 100 on stand for hand-overs whose refusal is an answer (§4.2.2).
    fn refusal_is_final(&self) -> bool {
        self.key >= 100
    }
    fn deferrable(&self) -> bool {
        self.key >= 100
    }
}

fn up(key: u32, version: u32) -> Up {
    Up { key, version }
}

/// Sends everything sendable with consecutive xids from `first`; returns the (xid, update)s.
fn send_all(q: &mut UpdateQueue<Up>, window: usize, first: u32) -> Vec<(u32, Up)> {
    let mut out = Vec::new();
    let mut x = first;
    while let Some(u) = q.next_sendable(window).cloned() {
        assert!(q.sent(window, Xid::from_u32(x)));
        out.push((x, u));
        x += 1;
    }
    out
}

#[test]
fn fifo_order_and_coalescing_in_place() {
    let mut q = UpdateQueue::new(10);
    assert_eq!(q.push(up(1, 1)), Pushed::Queued);
    assert_eq!(q.push(up(2, 1)), Pushed::Queued);
    assert_eq!(q.push(up(1, 2)), Pushed::Coalesced);
    let sent = send_all(&mut q, 10, 100);
    assert_eq!(sent, vec![(100, up(1, 2)), (101, up(2, 1))]);
    assert_eq!(q.stats().coalesced, 1);
}

#[test]
fn window_limits_outstanding_updates() {
    // R32: partner advertises 2 ⇒ never more than 2 in flight.
    let mut q = UpdateQueue::new(100);
    for k in 0..10 {
        q.push(up(k, 0));
    }
    let first = send_all(&mut q, 2, 1);
    assert_eq!(first.len(), 2);
    assert_eq!(q.in_flight_len(), 2);
    assert!(q.next_sendable(2).is_none());
    assert_eq!(
        q.settle(Xid::from_u32(1), false),
        Some(Settled {
            key: 0,
            rejected: false,
            update: Some(up(0, 0))
        })
    );
    let next = send_all(&mut q, 2, 3);
    assert_eq!(next, vec![(3, up(2, 0))]);
    assert_eq!(q.in_flight_len(), 2);
}

#[test]
fn a_key_in_flight_is_not_sent_twice() {
    let mut q = UpdateQueue::new(10);
    q.push(up(7, 1));
    assert_eq!(send_all(&mut q, 5, 1).len(), 1);
    q.push(up(7, 2));
    q.push(up(8, 1));
    // 7 waits for its reply; 8 overtakes it.
    assert_eq!(send_all(&mut q, 5, 2), vec![(2, up(8, 1))]);
    q.settle(Xid::from_u32(1), false);
    assert_eq!(send_all(&mut q, 5, 3), vec![(3, up(7, 2))]);
}

#[test]
fn rejected_updates_wait_for_the_next_pass_and_give_up_after_max_attempts() {
    // R37: no resend loop: one resend per pass, MAX_ATTEMPTS in all.
    let mut q = UpdateQueue::new(10);
    q.push(up(1, 1));
    for attempt in 1..=MAX_ATTEMPTS {
        let xid = u32::from(attempt);
        let sent = send_all(&mut q, 4, xid);
        assert_eq!(sent.len(), 1, "attempt {attempt}");
        q.settle(Xid::from_u32(xid), true);
        // Nothing goes out before the next pass.
        assert!(q.next_sendable(4).is_none());
        q.next_pass();
    }
    assert!(q.is_idle());
    assert_eq!(q.parked_len(), 0);
    assert_eq!(q.stats().given_up, 1);
    assert_eq!(q.stats().rejected, u64::from(MAX_ATTEMPTS));
}

#[test]
fn a_newer_update_supersedes_a_rejected_one() {
    let mut q = UpdateQueue::new(10);
    q.push(up(1, 1));
    send_all(&mut q, 4, 1);
    q.push(up(1, 2));
    q.settle(Xid::from_u32(1), true);
    assert_eq!(q.parked_len(), 0);
    assert_eq!(send_all(&mut q, 4, 2), vec![(2, up(1, 2))]);
    // Rejected, parked, then a push replaces the parked one too.
    q.settle(Xid::from_u32(2), true);
    assert_eq!(q.parked_len(), 1);
    q.push(up(1, 3));
    assert_eq!(q.parked_len(), 0);
    assert_eq!(send_all(&mut q, 4, 3), vec![(3, up(1, 3))]);
}

#[test]
fn forget_drops_a_parked_update() {
    let mut q = UpdateQueue::new(10);
    q.push(up(1, 1));
    send_all(&mut q, 4, 1);
    q.settle(Xid::from_u32(1), true);
    q.forget(&1);
    q.next_pass();
    assert!(q.next_sendable(4).is_none());
}

#[test]
fn unknown_xid_settles_nothing() {
    let mut q = UpdateQueue::<Up>::new(10);
    assert_eq!(q.settle(Xid::from_u32(9), false), None);
}

#[test]
fn connection_loss_requeues_in_flight_at_the_front_in_order() {
    let mut q = UpdateQueue::new(10);
    for k in 1..=4 {
        q.push(up(k, 1));
    }
    send_all(&mut q, 2, 10); // keys 1, 2 in flight
    q.push(up(2, 2)); // newer for key 2 waits at the back
    q.requeue_in_flight();
    assert_eq!(q.in_flight_len(), 0);
    let order: Vec<u32> = send_all(&mut q, 10, 20)
        .iter()
        .map(|(_, u)| u.key)
        .collect();
    assert_eq!(order, vec![1, 3, 4, 2]);
    assert!(!q.is_outstanding(Xid::from_u32(10)));
    assert!(q.is_outstanding(Xid::from_u32(20)));
}

#[test]
fn overflow_is_refused_and_reported_once() {
    let mut q = UpdateQueue::new(2);
    q.push(up(1, 1));
    q.push(up(2, 1));
    assert_eq!(q.push(up(3, 1)), Pushed::Overflow);
    // Coalescing still works when full.
    assert_eq!(q.push(up(1, 2)), Pushed::Coalesced);
    assert!(q.take_overflowed());
    assert!(!q.take_overflowed());
}

#[test]
fn idle_ignores_parked() {
    let mut q = UpdateQueue::new(4);
    assert!(q.is_idle());
    q.push(up(1, 1));
    assert!(!q.is_idle());
    send_all(&mut q, 1, 1);
    assert!(!q.is_idle());
    q.settle(Xid::from_u32(1), true);
    assert!(q.is_idle());
}

#[test]
fn unencodable_updates_are_dropped_and_counted() {
    let mut q = UpdateQueue::new(4);
    q.push(up(1, 1));
    q.push(up(2, 1));
    q.drop_unencodable(4);
    assert_eq!(send_all(&mut q, 4, 1), vec![(1, up(2, 1))]);
    assert_eq!(q.stats().unencodable, 1);
}

#[test]
fn a_final_refusal_is_settled_with_the_update_and_not_parked() {
    let mut q = UpdateQueue::new(10);
    q.push(up(100, 1));
    send_all(&mut q, 4, 1);
    let settled = q.settle(Xid::from_u32(1), true).unwrap();
    assert!(settled.rejected);
    assert_eq!(settled.update, Some(up(100, 1)));
    assert_eq!(q.parked_len(), 0);
    q.next_pass();
    assert!(q.is_idle(), "a final refusal is never resent");
}

#[test]
fn stopping_drops_only_waiting_deferrable_updates() {
    let mut q = UpdateQueue::new(10);
    for key in [1, 100, 2, 101] {
        q.push(up(key, 1));
    }
    // 1 and 100 go out; 2 and 101 wait.
    let sent = send_all(&mut q, 2, 1);
    assert_eq!(sent.len(), 2);
    assert_eq!(q.drop_deferrable(), 1, "only the waiting 101");
    q.settle(Xid::from_u32(1), false);
    q.settle(Xid::from_u32(2), false);
    let rest = send_all(&mut q, 2, 3);
    assert_eq!(rest.iter().map(|(_, u)| u.key).collect::<Vec<_>>(), [2]);
}
