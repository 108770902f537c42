//! Monotonic time and the connection timers (RFC 8156 §6.5–6.6; protocol notes §1.7), kept as a
//! fixed array indexed by [`Timer`] (house style §7, quinn `connection/timer.rs`).

/// A monotonic time in milliseconds, from an arbitrary origin chosen by the caller. The crate
/// never reads a clock: every `handle_*` call passes the current value in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// `self + ms`, saturating at the far future.
    pub const fn add_ms(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// `seconds` as milliseconds.
    pub const fn from_s(seconds: u32) -> Self {
        Self(seconds as u64 * 1000)
    }

    /// `self − earlier` in milliseconds, 0 when `earlier` is later.
    pub const fn since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// The two clocks every input carries: monotonic time for timers, and the wall clock as a
/// failover time for sent-time and the skew checks (RFC 8156 §5, §7.1; notes §1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Now {
    /// Monotonic milliseconds, for timers.
    pub mono: Millis,
    /// Wall clock in seconds since 2000-01-01 UTC modulo 2^32, for sent-time.
    pub wall: crate::FoTime,
}

/// One connection timer (RFC 8156 §6.5–6.6; notes §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Timer {
    /// Primary only: when to dial the partner again (RFC 8156 §6.1; R11).
    Reconnect = 0,
    /// FO_SEND_TIMER: send CONTACT when nothing else was sent for FO_SEND_TIME (R22).
    Contact = 1,
    /// FO_KEEPALIVE_TIMER: the partner is dead when nothing arrived for FO_KEEPALIVE_TIME (R23).
    Keepalive = 2,
}

impl Timer {
    /// Every timer, in index order.
    pub const ALL: [Self; 3] = [Self::Reconnect, Self::Contact, Self::Keepalive];
}

/// Deadlines of the [`Timer`]s; `None` is a stopped timer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerTable {
    deadlines: [Option<Millis>; 3],
}

impl TimerTable {
    /// Arms `timer` to fire at `at`, replacing any earlier deadline.
    pub fn set(&mut self, timer: Timer, at: Millis) {
        self.deadlines[timer as usize] = Some(at);
    }

    /// Stops `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    /// Stops every timer.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; 3];
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: Timer) -> Option<Millis> {
        self.deadlines[timer as usize]
    }

    /// The earliest armed deadline.
    pub fn next_timeout(&self) -> Option<Millis> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// True (and the timer is stopped) when `timer` is armed and due at `now`.
    pub fn take_expired(&mut self, timer: Timer, now: Millis) -> bool {
        match self.get(timer) {
            Some(at) if at <= now => {
                self.stop(timer);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_deadline_and_expiry() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(Timer::Keepalive, Millis(50));
        t.set(Timer::Contact, Millis(20));
        assert_eq!(t.next_timeout(), Some(Millis(20)));
        assert!(!t.take_expired(Timer::Contact, Millis(19)));
        assert!(t.take_expired(Timer::Contact, Millis(20)));
        assert!(!t.take_expired(Timer::Contact, Millis(99)));
        assert_eq!(t.next_timeout(), Some(Millis(50)));
        t.stop_all();
        assert_eq!(t.next_timeout(), None);
        assert_eq!(Timer::ALL.map(|x| x as usize), [0, 1, 2]);
    }

    #[test]
    fn millis_arithmetic_saturates() {
        assert_eq!(Millis(u64::MAX).add_ms(1), Millis(u64::MAX));
        assert_eq!(Millis::from_s(3), Millis(3000));
        assert_eq!(Millis(5).since(Millis(9)), 0);
        assert_eq!(Millis(9).since(Millis(5)), 4);
    }
}
