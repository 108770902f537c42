//! The benchmarks' numbers and how they are shown: `cargo xtask compare`'s table
//! ([`compare`]), `cargo xtask bench`'s rows and table ([`bench`]), issue 4's target verdicts
//! ([`targets`]), the failover pair's replication ([`pair`]), memory per lease and restart time
//! ([`store`]) and the `bench/RESULTS.md` it writes ([`markdown`]).

mod bench;
mod compare;
#[cfg(test)]
mod fixtures;
mod markdown;
mod pair;
pub(crate) mod store;
mod targets;

pub(crate) use bench::{Bench, BenchRow, FixedRun, Role, SearchStop};
pub(crate) use compare::{Comparison, ServerRun};
pub(crate) use pair::{LazyUpdates, PairFigures, Replication, Served, Wins};
pub(crate) use store::{Memory, Restart, StoreFigures};
pub(crate) use targets::Verdict;
