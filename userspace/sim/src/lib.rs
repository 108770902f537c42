//! A deterministic simulator of a tandem failover pair (issue 3, item 4).
//!
//! It drives both servers' real sans-IO cores — `tandem-engine` with a real `tandem-lease`
//! shard, and `tandem-failover`'s `Relationship` with the real BNDUPD codec — through a
//! simulated partner link (TCP-like: ordered bytes, random chunking, partitions that hold bytes
//! back) and a simulated client link (loss, duplication, reordering, delay), with crashes at
//! storage crash points, restarts with and without storage, operator partner-down, and clock
//! skew. After every event it checks the invariants of [`check`]; a seed replays a run exactly.
//!
//! `cargo xtask sim --seeds N` runs seeds 0..N; `cargo xtask sim --seed S --verbose` replays one.

#![forbid(unsafe_code)]

pub mod check;
pub mod client;
pub mod faults;
pub mod link;
pub mod rng;
pub mod server;
pub mod world;

pub use check::Violation;
pub use world::{run, Options, Plant, Report};
