//! Counters. Each worker counts in plain integers on its own stack and publishes them once per
//! loop iteration with relaxed stores (no read-modify-write on the packet path); the main thread
//! reads them to write `stats.json`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde::Serialize;
use tandem_engine::DropReason;

/// Drops the server itself decides, beside the engine's [`DropReason`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerDrop {
    /// The owning worker's handoff queue was full.
    HandoffQueueFull,
    /// The datagram was larger than a receive buffer (truncated by the kernel).
    Truncated,
    /// No IPV6_PKTINFO came with the datagram, so the interface is unknown.
    NoPacketInfo,
    /// The journal write or sync failed: the reply was withheld, nothing acknowledged.
    JournalFailed,
    /// The kernel refused to send a reply.
    SendFailed,
}

impl ServerDrop {
    const ALL: [Self; 5] = [
        Self::HandoffQueueFull,
        Self::Truncated,
        Self::NoPacketInfo,
        Self::JournalFailed,
        Self::SendFailed,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::HandoffQueueFull => "handoff_queue_full",
            Self::Truncated => "truncated_datagram",
            Self::NoPacketInfo => "no_packet_info",
            Self::JournalFailed => "journal_failed",
            Self::SendFailed => "send_failed",
        }
    }
}

/// Index of a drop counter: engine reasons first, then server reasons.
pub(crate) fn engine_drop_slot(reason: DropReason) -> usize {
    DropReason::ALL
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(0)
}

pub(crate) fn server_drop_slot(reason: ServerDrop) -> usize {
    DropReason::ALL.len()
        + ServerDrop::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0)
}

fn drop_label(slot: usize) -> &'static str {
    match DropReason::ALL.get(slot) {
        Some(r) => r.as_str(),
        None => ServerDrop::ALL
            .get(slot - DropReason::ALL.len())
            .map_or("unknown", |r| r.as_str()),
    }
}

pub(crate) fn drop_slots() -> usize {
    DropReason::ALL.len() + ServerDrop::ALL.len()
}

/// A worker's own counters, plain integers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Local {
    pub(crate) received: u64,
    pub(crate) replied: u64,
    pub(crate) handoffs_out: u64,
    pub(crate) handoffs_in: u64,
    pub(crate) drops: Vec<u64>,
    pub(crate) journal_records: u64,
    pub(crate) journal_syncs: u64,
    pub(crate) journal_sync_us_total: u64,
    /// Journal batches that failed to write or sync (each is retried).
    pub(crate) journal_failures: u64,
    /// 1 while the latest journal batch failed: replies are withheld (the alarm).
    pub(crate) journal_failing: u64,
    pub(crate) leases_na: u64,
    pub(crate) leases_pd: u64,
    /// Unbound delegable prefixes that are the failover secondary's (FREE-BACKUP).
    pub(crate) prefixes_backup_free: u64,
}

impl Local {
    pub(crate) fn new() -> Self {
        Self {
            drops: vec![0; drop_slots()],
            ..Self::default()
        }
    }
}

/// The published copy of one worker's counters.
#[derive(Debug)]
pub(crate) struct Shared {
    received: AtomicU64,
    replied: AtomicU64,
    handoffs_out: AtomicU64,
    handoffs_in: AtomicU64,
    drops: Vec<AtomicU64>,
    journal_records: AtomicU64,
    journal_syncs: AtomicU64,
    journal_sync_us_total: AtomicU64,
    journal_failures: AtomicU64,
    journal_failing: AtomicU64,
    leases_na: AtomicU64,
    leases_pd: AtomicU64,
    prefixes_backup_free: AtomicU64,
}

impl Shared {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            received: AtomicU64::new(0),
            replied: AtomicU64::new(0),
            handoffs_out: AtomicU64::new(0),
            handoffs_in: AtomicU64::new(0),
            drops: (0..drop_slots()).map(|_| AtomicU64::new(0)).collect(),
            journal_records: AtomicU64::new(0),
            journal_syncs: AtomicU64::new(0),
            journal_sync_us_total: AtomicU64::new(0),
            journal_failures: AtomicU64::new(0),
            journal_failing: AtomicU64::new(0),
            leases_na: AtomicU64::new(0),
            leases_pd: AtomicU64::new(0),
            prefixes_backup_free: AtomicU64::new(0),
        })
    }

    /// Called by the owning worker only.
    pub(crate) fn publish(&self, l: &Local) {
        self.received.store(l.received, Relaxed);
        self.replied.store(l.replied, Relaxed);
        self.handoffs_out.store(l.handoffs_out, Relaxed);
        self.handoffs_in.store(l.handoffs_in, Relaxed);
        for (a, v) in self.drops.iter().zip(&l.drops) {
            a.store(*v, Relaxed);
        }
        self.journal_records.store(l.journal_records, Relaxed);
        self.journal_syncs.store(l.journal_syncs, Relaxed);
        self.journal_sync_us_total
            .store(l.journal_sync_us_total, Relaxed);
        self.journal_failures.store(l.journal_failures, Relaxed);
        self.journal_failing.store(l.journal_failing, Relaxed);
        self.leases_na.store(l.leases_na, Relaxed);
        self.leases_pd.store(l.leases_pd, Relaxed);
        self.prefixes_backup_free
            .store(l.prefixes_backup_free, Relaxed);
    }
}

#[derive(Serialize)]
struct WorkerJson {
    received: u64,
    replied: u64,
    handoffs_in: u64,
    handoffs_out: u64,
    leases: u64,
}

#[derive(Serialize)]
struct LeasesJson {
    na: u64,
    pd: u64,
    /// Unbound delegable prefixes that are the failover secondary's (FREE-BACKUP, RFC 8156
    /// §4.2.2), as this server's records say.
    pd_backup_free: u64,
}

#[derive(Serialize)]
struct JournalJson {
    records: u64,
    syncs: u64,
    sync_us_total: u64,
    failures: u64,
    /// True while any worker's journal cannot write: clients are not being answered.
    failing: bool,
    skipped_at_start: u64,
}

#[derive(Serialize)]
struct StatsJson<'a> {
    pid: u32,
    now: u64,
    workers: usize,
    datapath: &'a str,
    durability: &'a str,
    received: u64,
    replied: u64,
    handoffs: u64,
    drops: std::collections::BTreeMap<&'static str, u64>,
    leases: LeasesJson,
    journal: JournalJson,
    per_worker: Vec<WorkerJson>,
    /// Failover relationships (absent on a standalone server).
    #[serde(skip_serializing_if = "Option::is_none")]
    failover: Option<crate::partner::status::FailoverStatus>,
    /// The XDP program's decision counters, summed over CPUs (absent without XDP).
    #[serde(skip_serializing_if = "Option::is_none")]
    xdp: Option<std::collections::BTreeMap<&'static str, u64>>,
}

/// What the main thread knows besides the workers' counters.
pub(crate) struct Meta<'a> {
    pub(crate) now: u64,
    pub(crate) datapath: &'a str,
    pub(crate) durability: &'a str,
    pub(crate) skipped_at_start: u64,
    /// The control thread's latest failover status, if failover is configured.
    pub(crate) failover: Option<crate::partner::status::FailoverStatus>,
    /// The XDP counters, when XDP is attached.
    pub(crate) xdp: Option<std::collections::BTreeMap<&'static str, u64>>,
}

/// Sum the workers' counters and write `dir/stats.json` atomically (tmp + rename).
pub(crate) fn write(dir: &Path, workers: &[Arc<Shared>], meta: &Meta<'_>) -> std::io::Result<()> {
    let sum = |f: &dyn Fn(&Shared) -> u64| workers.iter().map(|w| f(w)).sum::<u64>();
    let mut drops = std::collections::BTreeMap::new();
    for slot in 0..drop_slots() {
        let n = sum(&|w| w.drops[slot].load(Relaxed));
        *drops.entry(drop_label(slot)).or_insert(0) += n;
    }
    let json = StatsJson {
        pid: std::process::id(),
        now: meta.now,
        workers: workers.len(),
        datapath: meta.datapath,
        durability: meta.durability,
        received: sum(&|w| w.received.load(Relaxed)),
        replied: sum(&|w| w.replied.load(Relaxed)),
        handoffs: sum(&|w| w.handoffs_out.load(Relaxed)),
        drops,
        leases: LeasesJson {
            na: sum(&|w| w.leases_na.load(Relaxed)),
            pd: sum(&|w| w.leases_pd.load(Relaxed)),
            pd_backup_free: sum(&|w| w.prefixes_backup_free.load(Relaxed)),
        },
        journal: JournalJson {
            records: sum(&|w| w.journal_records.load(Relaxed)),
            syncs: sum(&|w| w.journal_syncs.load(Relaxed)),
            sync_us_total: sum(&|w| w.journal_sync_us_total.load(Relaxed)),
            failures: sum(&|w| w.journal_failures.load(Relaxed)),
            failing: workers.iter().any(|w| w.journal_failing.load(Relaxed) != 0),
            skipped_at_start: meta.skipped_at_start,
        },
        per_worker: workers
            .iter()
            .map(|w| WorkerJson {
                received: w.received.load(Relaxed),
                replied: w.replied.load(Relaxed),
                handoffs_in: w.handoffs_in.load(Relaxed),
                handoffs_out: w.handoffs_out.load(Relaxed),
                leases: w.leases_na.load(Relaxed) + w.leases_pd.load(Relaxed),
            })
            .collect(),
        failover: meta.failover.clone(),
        xdp: meta.xdp.clone(),
    };
    let tmp = dir.join("stats.json.tmp");
    let body = serde_json::to_vec_pretty(&json).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, body)?;
    std::fs::rename(tmp, dir.join("stats.json"))
}
