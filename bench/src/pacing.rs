//! Open-loop pacing: a token bucket per worker thread.
//!
//! Tokens accrue at the target rate; each token starts one transaction. The bucket holds at
//! most `burst` tokens, so a sender that falls behind does not catch up in one burst: the rate
//! it really achieved is what it started, and the report says so.

/// A token bucket over a nanosecond clock supplied by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate_per_s: f64,
    burst: f64,
    tokens: f64,
    last_ns: u64,
}

impl TokenBucket {
    /// A bucket filling at `rate_per_s`, holding at most `burst` (≥ 1) tokens, empty at
    /// `now_ns`.
    pub fn new(rate_per_s: f64, burst: u32, now_ns: u64) -> Self {
        Self {
            rate_per_s: rate_per_s.max(0.0),
            burst: f64::from(burst.max(1)),
            tokens: 0.0,
            last_ns: now_ns,
        }
    }

    /// Adds the tokens accrued since the last refill (time never runs backwards here).
    pub fn refill(&mut self, now_ns: u64) {
        let dt = now_ns.saturating_sub(self.last_ns);
        self.last_ns = self.last_ns.max(now_ns);
        self.tokens = (self.tokens + dt as f64 * self.rate_per_s / 1e9).min(self.burst);
    }

    /// Takes up to `max` whole tokens; returns how many.
    pub fn take(&mut self, max: u32) -> u32 {
        // The epsilon absorbs rounding, so rate × period tokens are all there at its end.
        let n = ((self.tokens + 1e-6).floor() as u32).min(max);
        self.tokens = (self.tokens - f64::from(n)).max(0.0);
        n
    }

    /// Nanoseconds from the last refill until `n` whole tokens are available (0 if they are;
    /// `u64::MAX` for a zero rate).
    pub fn ns_until(&self, n: u32) -> u64 {
        let missing = f64::from(n) - self.tokens;
        if missing <= 0.0 {
            return 0;
        }
        if self.rate_per_s <= 0.0 {
            return u64::MAX;
        }
        (missing * 1e9 / self.rate_per_s).ceil() as u64
    }
}

/// How many transactions to gather before a send: about 100 µs worth at `rate_per_s`, at least
/// one and at most `batch`. Fewer syscalls at high rates, no added delay at low ones.
pub fn gather(rate_per_s: f64, batch: u32) -> u32 {
    ((rate_per_s * 100e-6) as u32).clamp(1, batch.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_at_a_thousand_per_second_gives_a_thousand() {
        let mut b = TokenBucket::new(1000.0, 64, 5);
        let mut taken = 0;
        // Poll every 137 µs for one second.
        let mut t = 5;
        while t <= 1_000_000_005 {
            b.refill(t);
            taken += b.take(64);
            t += 137_000;
        }
        assert!((999..=1000).contains(&taken), "{taken}");
        // Refilling at the period's end exactly gives exactly rate × period.
        let mut exact = TokenBucket::new(3000.0, 64, 0);
        let mut total = 0;
        for ms in (7..=3000u64).step_by(7).chain([3000]) {
            exact.refill(ms * 1_000_000);
            total += exact.take(64);
        }
        assert_eq!(total, 9000);
    }

    #[test]
    fn the_burst_caps_catch_up_after_a_stall() {
        let mut b = TokenBucket::new(10_000.0, 32, 0);
        b.refill(1_000_000_000); // a one-second stall: 10,000 tokens due, 32 kept
        assert_eq!(b.take(u32::MAX), 32);
        assert_eq!(b.take(u32::MAX), 0);
        b.refill(500_000_000); // the clock going back changes nothing
        assert_eq!(b.take(u32::MAX), 0);
    }

    #[test]
    fn waiting_time_for_tokens() {
        let mut b = TokenBucket::new(2000.0, 64, 0);
        assert_eq!(b.ns_until(1), 500_000);
        assert_eq!(b.ns_until(4), 2_000_000);
        b.refill(1_000_000);
        assert_eq!(b.ns_until(2), 0);
        assert_eq!(b.take(1), 1);
        assert_eq!(b.ns_until(2), 500_000);
        assert_eq!(TokenBucket::new(0.0, 1, 0).ns_until(1), u64::MAX);
    }

    #[test]
    fn gathering_scales_with_rate() {
        assert_eq!(gather(100.0, 64), 1);
        assert_eq!(gather(50_000.0, 64), 5);
        assert_eq!(gather(10_000_000.0, 64), 64);
    }
}
