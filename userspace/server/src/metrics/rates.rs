//! Request, reply and drop rates for the status page. The metrics thread records the workers'
//! published totals about once a second ([`History::record`]); a page divides the difference
//! between the totals now and the oldest record in the last [`WINDOW`] by the time between
//! them. Time is an argument, so the arithmetic is tested without a clock. Nothing here runs
//! on the packet path: the totals come from the same relaxed loads a scrape makes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::stats::{Local, RX_OPS};

/// How far back the rates look.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);

/// How often the metrics thread records totals.
pub(crate) const RECORD_EVERY: Duration = Duration::from_secs(1);

/// The youngest record a rate is computed against (a shorter span is mostly noise).
const SPAN_MIN: Duration = Duration::from_millis(500);

/// Counter totals over every worker at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Client messages given to the engine, by [`RX_OPS`] slot.
    pub(crate) by_op: [u64; RX_OPS.len()],
    /// Advertise and Reply messages sent.
    pub(crate) sent: u64,
    /// Packets dropped at any layer, the XDP program's drops included.
    pub(crate) dropped: u64,
}

impl Totals {
    /// Sums the workers' counters and the XDP program's `drop_*` decisions.
    pub(crate) fn of(workers: &[Local], xdp: Option<&[(&'static str, u64)]>) -> Self {
        let mut t = Self::default();
        for w in workers {
            for (sum, n) in t.by_op.iter_mut().zip(w.rx_ops) {
                *sum += n;
            }
            t.sent += w.tx_ops.iter().sum::<u64>();
            t.dropped += w.drops.iter().sum::<u64>();
        }
        t.dropped += xdp
            .into_iter()
            .flatten()
            .filter(|(name, _)| name.starts_with("drop_"))
            .map(|(_, n)| n)
            .sum::<u64>();
        t
    }

    /// Every client message received.
    pub(crate) fn received(&self) -> u64 {
        self.by_op.iter().sum()
    }
}

/// Per-second rates over [`Rates::span_s`] seconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rates {
    pub(crate) span_s: f64,
    pub(crate) received_per_s: f64,
    pub(crate) sent_per_s: f64,
    pub(crate) dropped_per_s: f64,
    /// By [`RX_OPS`] slot.
    pub(crate) by_op_per_s: [f64; RX_OPS.len()],
}

/// Totals recorded over the last [`WINDOW`], oldest first.
#[derive(Debug, Default)]
pub(crate) struct History {
    records: VecDeque<(Instant, Totals)>,
}

impl History {
    /// Time until the next record is due (zero: now).
    pub(crate) fn until_due(&self, now: Instant) -> Duration {
        match self.records.back() {
            None => Duration::ZERO,
            Some((at, _)) => RECORD_EVERY.saturating_sub(now.saturating_duration_since(*at)),
        }
    }

    /// Keeps `totals` as of `now` and forgets records older than [`WINDOW`]. The history holds
    /// at most `WINDOW / RECORD_EVERY + 1` records when called every [`RECORD_EVERY`], and
    /// never more than a record per call.
    pub(crate) fn record(&mut self, now: Instant, totals: Totals) {
        self.records.push_back((now, totals));
        while self
            .records
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > WINDOW)
        {
            self.records.pop_front();
        }
    }

    /// Rates from the oldest record within [`WINDOW`] of `now` to `current`; `None` until a
    /// record at least half a second old exists (just after start).
    pub(crate) fn rates(&self, now: Instant, current: &Totals) -> Option<Rates> {
        let (at, old) = self.records.iter().find(|(at, _)| {
            let age = now.saturating_duration_since(*at);
            age <= WINDOW && age >= SPAN_MIN
        })?;
        let span_s = now.saturating_duration_since(*at).as_secs_f64();
        let per_s = |new: u64, old: u64| new.saturating_sub(old) as f64 / span_s;
        let mut by_op_per_s = [0.0; RX_OPS.len()];
        for ((r, new), old) in by_op_per_s.iter_mut().zip(current.by_op).zip(old.by_op) {
            *r = per_s(new, old);
        }
        Some(Rates {
            span_s,
            received_per_s: per_s(current.received(), old.received()),
            sent_per_s: per_s(current.sent, old.sent),
            dropped_per_s: per_s(current.dropped, old.dropped),
            by_op_per_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{self, ServerDrop};

    fn totals(solicits: u64, sent: u64, dropped: u64) -> Totals {
        let mut t = Totals::default();
        t.by_op[0] = solicits;
        t.sent = sent;
        t.dropped = dropped;
        t
    }

    #[test]
    fn totals_sum_workers_and_xdp_drops() {
        let mut a = Local::new();
        a.rx_ops[0] = 5;
        a.rx_ops[2] = 3;
        a.tx_ops = [5, 3];
        a.drops[stats::server_drop_slot(ServerDrop::Truncated)] = 2;
        let mut b = Local::new();
        b.rx_ops[0] = 1;
        b.drops[0] = 1;
        let xdp = [("steered", 100), ("drop_malformed", 4), ("pass_other", 7)];
        let t = Totals::of(&[a, b], Some(&xdp));
        assert_eq!(t.by_op[0], 6);
        assert_eq!(t.received(), 9);
        assert_eq!(t.sent, 8);
        assert_eq!(t.dropped, 2 + 1 + 4);
        assert_eq!(Totals::of(&[], None), Totals::default());
    }

    #[test]
    fn rates_over_the_window() {
        let t0 = Instant::now();
        let mut h = History::default();
        assert_eq!(h.until_due(t0), Duration::ZERO);
        // Nothing to compare against yet.
        assert_eq!(h.rates(t0, &totals(0, 0, 0)), None);
        h.record(t0, totals(0, 0, 0));
        assert_eq!(
            h.until_due(t0 + Duration::from_millis(300)),
            Duration::from_millis(700)
        );
        assert_eq!(h.until_due(t0 + Duration::from_secs(2)), Duration::ZERO);
        // Too young a record gives no rate.
        let soon = t0 + Duration::from_millis(200);
        assert_eq!(h.rates(soon, &totals(50, 0, 0)), None);
        let at = t0 + Duration::from_secs(4);
        let r = h.rates(at, &totals(400, 300, 8)).unwrap();
        assert_eq!(r.span_s, 4.0);
        assert_eq!(r.received_per_s, 100.0);
        assert_eq!(r.by_op_per_s[0], 100.0);
        assert_eq!(r.by_op_per_s[2], 0.0);
        assert_eq!(r.sent_per_s, 75.0);
        assert_eq!(r.dropped_per_s, 2.0);
    }

    #[test]
    fn old_records_are_forgotten_and_the_rate_falls_to_zero() {
        let t0 = Instant::now();
        let mut h = History::default();
        // A burst of 1000 in the first second, then silence for 30 s, recorded every second.
        h.record(t0, totals(0, 0, 0));
        for s in 1..=30 {
            h.record(t0 + Duration::from_secs(s), totals(1000, 1000, 0));
        }
        assert_eq!(h.records.len(), 11, "WINDOW / RECORD_EVERY + 1");
        let now = t0 + Duration::from_secs(30);
        let r = h.rates(now, &totals(1000, 1000, 0)).unwrap();
        assert_eq!(r.span_s, 10.0);
        assert_eq!(r.received_per_s, 0.0);
        // A record far older than the window is not used even when it is the only one.
        let mut h = History::default();
        h.record(t0, totals(0, 0, 0));
        assert_eq!(
            h.rates(t0 + Duration::from_secs(60), &totals(10, 0, 0)),
            None
        );
    }

    #[test]
    fn counters_going_backwards_read_as_zero() {
        let t0 = Instant::now();
        let mut h = History::default();
        h.record(t0, totals(100, 100, 100));
        let r = h
            .rates(t0 + Duration::from_secs(1), &totals(0, 0, 0))
            .unwrap();
        assert_eq!(
            (r.received_per_s, r.sent_per_s, r.dropped_per_s),
            (0.0, 0.0, 0.0)
        );
    }
}
