//! What each started transaction is: the scenario picks an action per client, by the client's
//! state and, for a mix, a seeded weighted draw.

use serde::Serialize;

/// The load to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Scenario {
    /// Solicit → Advertise → Request → Reply (RFC 8415 §18.2.1–18.2.2).
    Exchange,
    /// Solicit with Rapid Commit → Reply (§18.2.1, §21.14).
    Rapid,
    /// Renew → Reply (§18.2.4); a client without leases first does an exchange.
    Renew,
    /// Release → Reply (§18.2.7); a client without leases first does an exchange.
    Release,
    /// A weighted mix of the four (`--mix`).
    Mix,
}

/// The first message of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Solicit, expecting Advertise.
    Solicit,
    /// Solicit with Rapid Commit, expecting Reply.
    RapidSolicit,
    /// Renew.
    Renew,
    /// Release.
    Release,
}

/// Weights of a mix: exchange, rapid commit, renew, release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mix {
    /// Weight of 4-message exchanges.
    pub exchange: u32,
    /// Weight of Rapid Commit exchanges.
    pub rapid: u32,
    /// Weight of Renews.
    pub renew: u32,
    /// Weight of Releases.
    pub release: u32,
}

/// A `--mix` that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MixError {
    /// Not `name=weight`, or an unknown name.
    #[error("bad mix item {0:?}: expected exchange|rapid|renew|release=WEIGHT")]
    BadItem(String),
    /// Every weight is zero.
    #[error("the mix has no weight")]
    Empty,
}

impl Mix {
    /// Parses `exchange=6,renew=3,release=1` (names left out weigh 0).
    pub fn parse(s: &str) -> Result<Self, MixError> {
        let mut m = Self {
            exchange: 0,
            rapid: 0,
            renew: 0,
            release: 0,
        };
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let bad = || MixError::BadItem(item.to_owned());
            let (name, w) = item.split_once('=').ok_or_else(bad)?;
            let w: u32 = w.trim().parse().map_err(|_| bad())?;
            match name.trim() {
                "exchange" => m.exchange = w,
                "rapid" => m.rapid = w,
                "renew" => m.renew = w,
                "release" => m.release = w,
                _ => return Err(bad()),
            }
        }
        if m.total() == 0 {
            return Err(MixError::Empty);
        }
        Ok(m)
    }

    fn total(&self) -> u64 {
        u64::from(self.exchange)
            + u64::from(self.rapid)
            + u64::from(self.renew)
            + u64::from(self.release)
    }

    /// The action for a draw `r` (uniform over u64).
    pub fn pick(&self, r: u64) -> Action {
        let mut x = r % self.total().max(1);
        for (w, a) in [
            (self.exchange, Action::Solicit),
            (self.rapid, Action::RapidSolicit),
            (self.renew, Action::Renew),
            (self.release, Action::Release),
        ] {
            if x < u64::from(w) {
                return a;
            }
            x -= u64::from(w);
        }
        Action::Solicit
    }
}

/// The action a client starts: Renew and Release need leases, so an unbound client solicits.
pub fn action(scenario: Scenario, mix: &Mix, bound: bool, draw: u64) -> Action {
    let wanted = match scenario {
        Scenario::Exchange => Action::Solicit,
        Scenario::Rapid => Action::RapidSolicit,
        Scenario::Renew => Action::Renew,
        Scenario::Release => Action::Release,
        Scenario::Mix => mix.pick(draw),
    };
    match wanted {
        Action::Renew | Action::Release if !bound => Action::Solicit,
        a => a,
    }
}

/// SplitMix64: a tiny seeded generator for the mix draws (reproducible from `--seed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_draws_by_weight() {
        let m = Mix::parse("exchange=6, renew=3,release=1").unwrap();
        assert_eq!((m.exchange, m.rapid, m.renew, m.release), (6, 0, 3, 1));
        let mut rng = SplitMix64::new(7);
        let mut counts = [0u32; 4];
        for _ in 0..100_000 {
            match m.pick(rng.next_u64()) {
                Action::Solicit => counts[0] += 1,
                Action::RapidSolicit => counts[1] += 1,
                Action::Renew => counts[2] += 1,
                Action::Release => counts[3] += 1,
            }
        }
        assert_eq!(counts[1], 0);
        for (got, want) in [
            (counts[0], 60_000),
            (counts[2], 30_000),
            (counts[3], 10_000),
        ] {
            assert!(got.abs_diff(want) < 1_000, "{counts:?}");
        }
        assert!(matches!(Mix::parse("renew=x"), Err(MixError::BadItem(_))));
        assert!(matches!(Mix::parse("decline=1"), Err(MixError::BadItem(_))));
        assert_eq!(Mix::parse("exchange=0"), Err(MixError::Empty));
    }

    #[test]
    fn unbound_clients_solicit_before_renewing_or_releasing() {
        let m = Mix::parse("renew=1").unwrap();
        assert_eq!(action(Scenario::Renew, &m, false, 0), Action::Solicit);
        assert_eq!(action(Scenario::Renew, &m, true, 0), Action::Renew);
        assert_eq!(action(Scenario::Release, &m, true, 0), Action::Release);
        assert_eq!(action(Scenario::Mix, &m, false, 3), Action::Solicit);
        assert_eq!(action(Scenario::Mix, &m, true, 3), Action::Renew);
        assert_eq!(action(Scenario::Rapid, &m, true, 0), Action::RapidSolicit);
        assert_eq!(action(Scenario::Exchange, &m, true, 0), Action::Solicit);
    }

    #[test]
    fn the_generator_is_seeded() {
        let a: Vec<u64> = (0..4)
            .scan(SplitMix64::new(1), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .scan(SplitMix64::new(1), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..4)
            .scan(SplitMix64::new(2), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
