//! Proportional allocation of delegable prefixes between failover partners (RFC 8156 §4.2.2;
//! R43–R45): which unbound prefixes the secondary may delegate (FREE-BACKUP), and which hand-over
//! is still to be told to the partner.
//!
//! The primary owns every delegable prefix at first. It gives some to the secondary with a
//! BNDUPD carrying a top-level IAPREFIX in FREE-BACKUP and never uses them afterwards (except
//! in PARTNER-DOWN after the MCLT); it may ask for one back with FREE, which the secondary
//! refuses when it has already delegated it. A delegated prefix belongs to its client, and
//! when it is freed it returns to the primary. Both servers keep the same record: a prefix
//! with a [`BackupPrefix`] belongs to the secondary, any other unbound prefix to the primary.

/// A hand-over the partner has not acknowledged yet (kept on the primary, which starts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShareMove {
    /// BNDUPD with binding-status FREE-BACKUP: the prefix goes to the secondary. The primary
    /// stops using it before the update is sent.
    Give,
    /// BNDUPD with binding-status FREE: the primary asks for the prefix back. It stays the
    /// secondary's until the secondary accepts.
    Reclaim,
}

impl ShareMove {
    /// The RFC 8156 binding-status the update carries: FREE-BACKUP 6, FREE 5 (§1.9).
    pub const fn binding_status(self) -> u8 {
        match self {
            Self::Give => 6,
            Self::Reclaim => 5,
        }
    }
}

/// An unbound-or-delegated prefix that belongs to the secondary (FREE-BACKUP, RFC 8156 §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackupPrefix {
    /// When it became the secondary's (F_START_TIME_OF_STATE of the update; Unix s).
    pub since: u64,
    /// A hand-over still to be acknowledged by the partner, if any.
    pub pending: Option<ShareMove>,
}

/// The balance the primary keeps (RFC 8156 §4.2.2: "a configured proportion" and a threshold
/// "to avoid churn"), both in thousandths of a shard's free prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareTarget {
    /// The secondary's share of the free delegable prefixes, 0..=1000.
    pub share_permille: u16,
    /// Rebalance only when the secondary's free prefixes are off the target by more than this
    /// many thousandths of all free prefixes (hysteresis), 1..=1000.
    pub threshold_permille: u16,
}

impl ShareTarget {
    /// From the configuration's fractions (clamped to 0..=1; the threshold at least 1/1000).
    pub fn from_fractions(share: f64, threshold: f64) -> Self {
        let permille = |f: f64| (f.clamp(0.0, 1.0) * 1000.0).round() as u16;
        Self {
            share_permille: permille(share),
            threshold_permille: permille(threshold).max(1),
        }
    }

    /// How many of `free` prefixes the secondary should hold, and the dead band around it.
    pub(crate) fn target(&self, free: u128) -> (u128, u128) {
        // free * p / 1000 without overflowing for pools near 2^128 prefixes.
        let part = |p: u16| {
            let p = u128::from(p);
            (free / 1000) * p + (free % 1000 * p) / 1000
        };
        let exact = |p: u16| !(free % 1000 * u128::from(p)).is_multiple_of(1000);
        let band = part(self.threshold_permille) + u128::from(exact(self.threshold_permille));
        (part(self.share_permille), band)
    }
}

/// What one [`crate::Shard::rebalance`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rebalanced {
    /// Prefixes given to the secondary (FREE-BACKUP updates to send).
    pub given: usize,
    /// Prefixes asked back (FREE updates to send).
    pub reclaimed: usize,
    /// The pass stopped at [`crate::MOVES_PER_PASS`]: call again soon.
    pub more: bool,
}

/// A shard's free delegable prefixes by owner, for status and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShareCounts {
    /// Unbound prefixes the primary may delegate (FREE).
    pub primary_free: u128,
    /// Unbound prefixes the secondary may delegate (FREE-BACKUP), a reclaim not yet acked
    /// included.
    pub backup_free: u128,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_and_band_follow_the_fractions() {
        let t = ShareTarget::from_fractions(0.5, 0.05);
        assert_eq!(
            t,
            ShareTarget {
                share_permille: 500,
                threshold_permille: 50
            }
        );
        assert_eq!(t.target(256), (128, 13));
        assert_eq!(t.target(0), (0, 0));
        let none = ShareTarget::from_fractions(0.0, 0.0);
        assert_eq!(none.threshold_permille, 1);
        assert_eq!(none.target(1000), (0, 1));
        // Huge pools do not overflow.
        let (want, band) = t.target(u128::MAX);
        assert_eq!(
            want,
            u128::MAX / 1000 * 500 + (u128::MAX % 1000) * 500 / 1000
        );
        assert!(band > 0 && band < want);
        assert_eq!(ShareMove::Give.binding_status(), 6);
        assert_eq!(ShareMove::Reclaim.binding_status(), 5);
    }
}
