//! The fault schedule of one run, drawn from its seed: partitions of the partner link (some
//! longer than the MCLT), crashes with a storage crash point and restarts (sometimes with the
//! storage wiped), operator partner-down, and per-server clock skew within the 5 s the protocol
//! tolerates. Client packet loss, duplication, reordering and delay are drawn as packets go.

use crate::rng::Rng;

/// Where a crash strikes relative to the next durable write of the victim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// Between processes: nothing in flight is lost.
    Idle,
    /// The next batch of lease changes never reaches the disk, and nothing waiting for it is
    /// sent (replies to clients, BNDREPLYs).
    BeforeWrite,
    /// The batch is on disk, but the process dies before sending what waited for it.
    AfterWrite,
}

/// One scheduled fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Cut the partner link for `ms`.
    Partition { ms: u64 },
    /// Crash server `server` at `point`; restart it after `down_ms`, with its storage
    /// wiped when `wipe`.
    Crash {
        server: usize,
        point: CrashPoint,
        down_ms: u64,
        wipe: bool,
    },
    /// The operator declares the partner down on `server`.
    PartnerDown { server: usize },
}

/// How hard a run is.
#[derive(Debug, Clone, Copy)]
pub struct Intensity {
    /// Faults per simulated hour.
    pub faults_per_hour: u64,
    /// Client packet loss, duplication and reordering, percent each.
    pub loss_percent: u64,
    pub dup_percent: u64,
    pub reorder_percent: u64,
}

impl Default for Intensity {
    fn default() -> Self {
        Self {
            faults_per_hour: 6,
            loss_percent: 3,
            dup_percent: 2,
            reorder_percent: 5,
        }
    }
}

/// Faults with their times, sorted, all before `until_ms`.
pub fn schedule(rng: &mut Rng, until_ms: u64, mclt_ms: u64, i: Intensity) -> Vec<(u64, Fault)> {
    let hours = until_ms.div_ceil(3_600_000).max(1);
    let n = i.faults_per_hour * hours;
    let mut out = Vec::new();
    for _ in 0..n {
        // Leave the first minutes for the pair to reach NORMAL.
        let at = rng.range(120_000, until_ms.saturating_sub(60_000));
        let fault = match rng.range(0, 9) {
            0..=3 => Fault::Partition {
                ms: if rng.chance(40) {
                    rng.range(mclt_ms, 3 * mclt_ms)
                } else {
                    rng.range(1_000, mclt_ms)
                },
            },
            4..=7 => Fault::Crash {
                server: rng.below(2),
                point: match rng.range(0, 2) {
                    0 => CrashPoint::Idle,
                    1 => CrashPoint::BeforeWrite,
                    _ => CrashPoint::AfterWrite,
                },
                down_ms: rng.range(1_000, 2 * mclt_ms),
                wipe: rng.chance(15),
            },
            _ => Fault::PartnerDown {
                server: rng.below(2),
            },
        };
        out.push((at, fault));
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// Per-server clock offsets in seconds, within ±2 s (the protocol refuses more than 5 s).
pub fn skews(rng: &mut Rng) -> [i64; 2] {
    [rng.range(0, 4) as i64 - 2, rng.range(0, 4) as i64 - 2]
}
