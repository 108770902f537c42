//! Failover time: absolute seconds since 2000-01-01T00:00:00Z modulo 2^32 (RFC 8156 §7.1,
//! protocol.md §1.8), the ±5 s equality rule (RFC 8156 §7.1, §7.5.1; R26) and the seed
//! draft's time-skew moving average (draft-mrugalski-dhc-dhcpv6-failover-design-00; R25).
//!
//! All comparisons use wrapping arithmetic: the difference of two times is the `i32` of
//! their `u32` wrapping difference, so times compare correctly across the 2136 wrap as long
//! as they are less than 2^31 s (68 years) apart.

use crate::error::{ApiMisuse, PeerIncompatible};

/// Two times within this many seconds compare equal (RFC 8156 §7.1, §7.5.1; R26).
pub const TIME_EQUAL_WINDOW_S: u32 = 5;

/// Largest tolerated clock difference at CONNECT (RFC 8156 §6, §7.1; R17, R24).
pub const MAX_TIME_SKEW_S: u32 = 5;

/// Largest supported skew moving-average window (the seed's TIME_SKEW_PKTS_AVG has no value;
/// the array is fixed so the estimator never allocates).
pub const SKEW_WINDOW_MAX: usize = 64;

/// Default skew window: our choice for the seed draft's unspecified TIME_SKEW_PKTS_AVG.
pub const SKEW_WINDOW_DEFAULT: usize = 16;

/// An absolute failover time: seconds since 2000-01-01 UTC, modulo 2^32 (RFC 8156 §7.1; R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FoTime(pub u32);

impl FoTime {
    /// Signed seconds from `earlier` to `self` (wrap-aware; positive when `self` is later).
    pub const fn since(self, earlier: Self) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// `self` plus `secs` seconds, wrapping at 2^32.
    pub const fn add_s(self, secs: u32) -> Self {
        Self(self.0.wrapping_add(secs))
    }

    /// True when `self` is strictly later than `other` (wrap-aware, no equality window).
    pub const fn is_after(self, other: Self) -> bool {
        self.since(other) > 0
    }

    /// The later of two times (wrap-aware).
    pub const fn later(self, other: Self) -> Self {
        if other.is_after(self) {
            other
        } else {
            self
        }
    }

    /// True when the two times are within ±[`TIME_EQUAL_WINDOW_S`] (RFC 8156 §7.5.1; R26).
    pub const fn roughly_equal(self, other: Self) -> bool {
        self.since(other).unsigned_abs() <= TIME_EQUAL_WINDOW_S
    }

    /// True when `self` is later than `other` by more than the equality window: the
    /// "later" of RFC 8156 §7.5.1, where times within ±5 s are equal and so not later.
    pub const fn later_than(self, other: Self) -> bool {
        self.since(other) > TIME_EQUAL_WINDOW_S as i32
    }
}

/// Moving average of (partner sent-time − our receive time) over the last `window` messages
/// (seed draft §"time skew", RFC 8156 §7.1 sent-time; R25). Fixed storage, no heap growth.
#[derive(Debug, Clone)]
pub struct SkewEstimator {
    samples_s: [i32; SKEW_WINDOW_MAX],
    window: usize,
    len: usize,
    next: usize,
}

impl SkewEstimator {
    /// An empty estimator averaging over the last `window` samples (`1..=SKEW_WINDOW_MAX`).
    pub fn new(window: usize) -> Result<Self, ApiMisuse> {
        if window == 0 || window > SKEW_WINDOW_MAX {
            return Err(ApiMisuse::SkewWindowOutOfRange {
                window,
                max: SKEW_WINDOW_MAX,
            });
        }
        Ok(Self {
            samples_s: [0; SKEW_WINDOW_MAX],
            window,
            len: 0,
            next: 0,
        })
    }

    /// Records one received message: its header sent-time and our receive time.
    pub fn record(&mut self, sent: FoTime, received: FoTime) {
        self.samples_s[self.next] = sent.since(received);
        self.next = (self.next + 1) % self.window;
        self.len = (self.len + 1).min(self.window);
    }

    /// Number of samples currently averaged (at most the window).
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True before the first sample.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The average skew in seconds (partner clock minus ours, rounded toward zero), or
    /// `None` before the first sample.
    pub fn skew_s(&self) -> Option<i32> {
        if self.len == 0 {
            return None;
        }
        let sum: i64 = self.samples_s[..self.len]
            .iter()
            .map(|&s| i64::from(s))
            .sum();
        // The mean of i32 values always fits in an i32.
        i32::try_from(sum / self.len as i64).ok()
    }
}

/// The CONNECT time check (RFC 8156 §6, §7.1; R17): the partner's sent-time must be
/// within [`MAX_TIME_SKEW_S`] of our receive time, else CONNECTREPLY with ExcessiveTimeSkew.
pub const fn check_connect_skew(sent: FoTime, received: FoTime) -> Result<(), PeerIncompatible> {
    let skew_s = sent.since(received);
    if skew_s.unsigned_abs() > MAX_TIME_SKEW_S {
        return Err(PeerIncompatible::ExcessiveTimeSkew { skew_s });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_wraps() {
        let before = FoTime(u32::MAX - 2);
        let after = FoTime(3);
        assert_eq!(after.since(before), 6);
        assert_eq!(before.since(after), -6);
        assert!(after.is_after(before));
        assert_eq!(before.later(after), after);
        assert_eq!(before.add_s(6), after);
    }

    #[test]
    fn equality_window_is_five_seconds_across_wrap() {
        let t = FoTime(u32::MAX - 1);
        assert!(t.roughly_equal(t.add_s(5)));
        assert!(!t.roughly_equal(t.add_s(6)));
        assert!(!t.add_s(5).later_than(t));
        assert!(t.add_s(6).later_than(t));
        assert!(!t.later_than(t.add_s(6)));
    }

    #[test]
    fn window_bounds_checked() {
        assert!(SkewEstimator::new(0).is_err());
        assert!(SkewEstimator::new(SKEW_WINDOW_MAX + 1).is_err());
        assert!(SkewEstimator::new(SKEW_WINDOW_MAX).is_ok());
    }

    #[test]
    fn moving_average_keeps_last_n() {
        let mut e = SkewEstimator::new(3).unwrap();
        assert_eq!(e.skew_s(), None);
        let rx = FoTime(1000);
        e.record(FoTime(1010), rx); // +10
        assert_eq!(e.skew_s(), Some(10));
        e.record(FoTime(990), rx); // -10
        e.record(FoTime(1003), rx); // +3
        assert_eq!(e.skew_s(), Some(1));
        e.record(FoTime(1003), rx); // evicts +10
        assert_eq!(e.len(), 3);
        assert_eq!(e.skew_s(), Some(-1));
        e.record(FoTime(1003), rx); // evicts -10
        assert_eq!(e.skew_s(), Some(3));
    }

    #[test]
    fn skew_sample_across_wrap() {
        let mut e = SkewEstimator::new(2).unwrap();
        e.record(FoTime(2), FoTime(u32::MAX - 1)); // partner 4 s ahead, across the wrap
        assert_eq!(e.skew_s(), Some(4));
    }

    #[test]
    fn excessive_skew_over_five_seconds() {
        let rx = FoTime(1);
        assert_eq!(check_connect_skew(FoTime(6), rx), Ok(()));
        assert_eq!(check_connect_skew(FoTime(u32::MAX - 3), rx), Ok(()));
        assert_eq!(
            check_connect_skew(FoTime(7), rx),
            Err(PeerIncompatible::ExcessiveTimeSkew { skew_s: 6 })
        );
        assert_eq!(
            check_connect_skew(FoTime(u32::MAX - 4), rx),
            Err(PeerIncompatible::ExcessiveTimeSkew { skew_s: -6 })
        );
    }
}
