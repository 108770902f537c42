//! A deterministic simulator of a tandem failover pair (issue 3, item 4).
//!
//! It drives both servers' real sans-IO cores — `tandem-engine` with a real `tandem-lease`
//! shard, and `tandem-failover`'s `Relationship` with the real BNDUPD codec — through a
//! simulated partner link (TCP-like: ordered bytes, random chunking, partitions that hold bytes
//! back) and a simulated client link (loss, duplication, reordering, delay), with crashes at
//! storage crash points, restarts with and without storage, operator partner-down, and clock
//! skew. After every event it checks the invariants of [`check`]; a seed replays a run exactly.
//!
//! The operator is modelled as RFC 8156 §8 requires: "partner down" is declared only when the
//! partner is really down, and a server is not brought back while its partner is in
//! PARTNER-DOWN and cannot reach it. (With the partner alive, PARTNER-DOWN lets both serve the
//! same addresses after the MCLT; the simulator finds that at once if the rule is dropped.)
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
