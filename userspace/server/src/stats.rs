//! Counters. Each worker counts in plain integers on its own stack and publishes them once per
//! tick with relaxed stores (no read-modify-write on the packet path); the main thread reads
//! them to write `stats.json`, the metrics listener ([`crate::metrics`]) on every scrape.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde::Serialize;
use tandem_engine::DropReason;
use tandem_lease::Shard;
use tandem_wire::{unwrap_relays, MessageType};

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

    /// Where the packet was lost: `queue` (between workers), `socket` (receive or send),
    /// `journal` (the store refused the batch).
    fn layer(self) -> &'static str {
        match self {
            Self::HandoffQueueFull => "queue",
            Self::Truncated | Self::NoPacketInfo | Self::SendFailed => "socket",
            Self::JournalFailed => "journal",
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

/// The layer a drop slot belongs to: `engine` for the engine's reasons, else the
/// [`ServerDrop`]'s.
pub(crate) fn drop_layer(slot: usize) -> &'static str {
    match slot.checked_sub(DropReason::ALL.len()) {
        None => "engine",
        Some(i) => ServerDrop::ALL.get(i).map_or("unknown", |r| r.layer()),
    }
}

/// Drop slots of packets lost before the engine saw them (Kea's `pkt6-receive-drop`).
pub(crate) fn is_receive_drop(slot: usize) -> bool {
    matches!(drop_layer(slot), "queue" | "socket")
        && slot != server_drop_slot(ServerDrop::SendFailed)
}

/// Received client messages by type, as Kea names them (`pkt6-<name>-received`): the
/// client's own message inside any Relay-forw layers [RFC 8415 §9, §19.1].
pub(crate) const RX_OPS: [&str; 12] = [
    "solicit",
    "advertise",
    "request",
    "confirm",
    "renew",
    "rebind",
    "reply",
    "release",
    "decline",
    "infrequest",
    "unknown",
    "parse-failed",
];

/// Replies sent by type (Kea's `pkt6-advertise-sent`, `pkt6-reply-sent`).
pub(crate) const TX_OPS: [&str; 2] = ["advertise", "reply"];

/// Upper bounds (µs) of the journal sync latency buckets; one more slot counts the rest.
pub(crate) const SYNC_BUCKETS_US: [u64; 12] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];

/// Upper bounds of the records-per-sync buckets; one more slot counts the rest.
pub(crate) const BATCH_BUCKETS: [u64; 11] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/// The [`RX_OPS`] slot of a received datagram. A direct message is classified by its first
/// octet alone (no parse on the packet path; the engine judges the rest and counts its drops);
/// Relay-forw layers are peeled to the client's message.
fn rx_op(packet: &[u8]) -> usize {
    let parse_failed = RX_OPS.len() - 1;
    let Some(&first) = packet.first() else {
        return parse_failed;
    };
    let msg_type = match MessageType::from(first) {
        MessageType::RelayForw => match unwrap_relays(packet) {
            Ok((_, msg)) => msg.msg_type(),
            Err(_) => return parse_failed,
        },
        t => t,
    };
    match msg_type {
        MessageType::Solicit => 0,
        MessageType::Advertise => 1,
        MessageType::Request => 2,
        MessageType::Confirm => 3,
        MessageType::Renew => 4,
        MessageType::Rebind => 5,
        MessageType::Reply => 6,
        MessageType::Release => 7,
        MessageType::Decline => 8,
        MessageType::InformationRequest => 9,
        _ => 10,
    }
}

/// The bucket slot of `value` among `bounds` (the last slot: above every bound).
fn bucket(bounds: &[u64], value: u64) -> usize {
    bounds.partition_point(|b| *b < value)
}

/// One subnet's lease statistics in a shard (see `tandem_lease::Shard::subnet_counts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SubnetLeases {
    pub(crate) na_assigned: u64,
    pub(crate) pd_assigned: u64,
    pub(crate) declined: u64,
    pub(crate) reclaimed: u64,
    pub(crate) declined_reclaimed: u64,
}

impl SubnetLeases {
    fn fields(&self) -> [u64; 5] {
        [
            self.na_assigned,
            self.pd_assigned,
            self.declined,
            self.reclaimed,
            self.declined_reclaimed,
        ]
    }

    fn from_fields(f: [u64; 5]) -> Self {
        Self {
            na_assigned: f[0],
            pd_assigned: f[1],
            declined: f[2],
            reclaimed: f[3],
            declined_reclaimed: f[4],
        }
    }

    pub(crate) fn add(&mut self, o: &Self) {
        self.na_assigned += o.na_assigned;
        self.pd_assigned += o.pd_assigned;
        self.declined += o.declined;
        self.reclaimed += o.reclaimed;
        self.declined_reclaimed += o.declined_reclaimed;
    }
}

pub(crate) fn drop_label(slot: usize) -> &'static str {
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
    /// Client messages the engine was given, by [`RX_OPS`] slot.
    pub(crate) rx_ops: [u64; RX_OPS.len()],
    /// Replies the engine wrote, by [`TX_OPS`] slot.
    pub(crate) tx_ops: [u64; TX_OPS.len()],
    /// Journal syncs by latency bucket ([`SYNC_BUCKETS_US`]), not cumulative.
    pub(crate) sync_us_buckets: [u64; SYNC_BUCKETS_US.len() + 1],
    /// Journal syncs by records written ([`BATCH_BUCKETS`]), not cumulative.
    pub(crate) batch_buckets: [u64; BATCH_BUCKETS.len() + 1],
    /// Per subnet id (ascending), refreshed every tick from the shard.
    pub(crate) subnets: Vec<(u32, SubnetLeases)>,
}

impl Local {
    pub(crate) fn new() -> Self {
        Self {
            drops: vec![0; drop_slots()],
            ..Self::default()
        }
    }

    /// A client message is about to be given to the engine.
    pub(crate) fn count_request(&mut self, packet: &[u8]) {
        self.rx_ops[rx_op(packet)] += 1;
    }

    /// The engine wrote this reply.
    pub(crate) fn count_reply(&mut self, msg_type: MessageType) {
        match msg_type {
            MessageType::Advertise => self.tx_ops[0] += 1,
            MessageType::Reply => self.tx_ops[1] += 1,
            _ => {}
        }
    }

    /// A journal batch of `records` was written (and synced, when durable) in `us` µs.
    pub(crate) fn count_sync(&mut self, us: u64, records: u64) {
        self.journal_syncs += 1;
        self.journal_records += records;
        self.journal_sync_us_total += us;
        self.sync_us_buckets[bucket(&SYNC_BUCKETS_US, us)] += 1;
        self.batch_buckets[bucket(&BATCH_BUCKETS, records)] += 1;
    }

    /// Copy the shard's lease counts (once per tick: the shard keeps them incrementally).
    pub(crate) fn refresh_leases(&mut self, shard: &Shard) {
        let (na, pd) = shard.lease_counts();
        self.leases_na = na;
        self.leases_pd = pd;
        self.prefixes_backup_free = shard.backup_free_count();
        self.subnets.clear();
        self.subnets.extend(shard.subnet_counts().map(|(id, c)| {
            (
                id,
                SubnetLeases {
                    na_assigned: c.na_assigned,
                    pd_assigned: c.pd_assigned,
                    declined: c.declined,
                    reclaimed: c.reclaimed,
                    declined_reclaimed: c.declined_reclaimed,
                },
            )
        }));
    }
}

fn store_all(atoms: &[AtomicU64], values: &[u64]) {
    for (a, v) in atoms.iter().zip(values) {
        a.store(*v, Relaxed);
    }
}

fn load_all<const N: usize>(atoms: &[AtomicU64]) -> [u64; N] {
    let mut out = [0; N];
    for (o, a) in out.iter_mut().zip(atoms) {
        *o = a.load(Relaxed);
    }
    out
}

fn atomics(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
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
    rx_ops: Vec<AtomicU64>,
    tx_ops: Vec<AtomicU64>,
    sync_us_buckets: Vec<AtomicU64>,
    batch_buckets: Vec<AtomicU64>,
    /// The configured subnets (ids ascending), each [`SubnetLeases`] as five counters; a live
    /// reload replaces them ([`Shared::set_subnets`]). Locked once per tick and per scrape.
    subnets: std::sync::RwLock<Vec<(u32, [AtomicU64; 5])>>,
    /// How many times the worker published: its heartbeat, for the systemd watchdog.
    publishes: AtomicU64,
}

/// Five zeroed counters per subnet id, ids ascending and unique.
fn subnet_atomics(subnet_ids: &[u32]) -> Vec<(u32, [AtomicU64; 5])> {
    let mut ids = subnet_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter()
        .map(|id| (id, std::array::from_fn(|_| AtomicU64::new(0))))
        .collect()
}

impl Shared {
    /// `subnet_ids`: the configured subnets, whose lease counts are published.
    pub(crate) fn new(subnet_ids: &[u32]) -> Arc<Self> {
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
            rx_ops: atomics(RX_OPS.len()),
            tx_ops: atomics(TX_OPS.len()),
            sync_us_buckets: atomics(SYNC_BUCKETS_US.len() + 1),
            batch_buckets: atomics(BATCH_BUCKETS.len() + 1),
            subnets: std::sync::RwLock::new(subnet_atomics(subnet_ids)),
            publishes: AtomicU64::new(0),
        })
    }

    /// The subnets whose lease counts are published from now on (a live reload); they read 0
    /// until the worker's next publish.
    pub(crate) fn set_subnets(&self, subnet_ids: &[u32]) {
        if let Ok(mut s) = self.subnets.write() {
            *s = subnet_atomics(subnet_ids);
        }
    }

    /// The worker's heartbeat: it publishes once per tick (250 ms) while its loop turns.
    pub(crate) fn publishes(&self) -> u64 {
        self.publishes.load(Relaxed)
    }

    /// The latest published counters (each a relaxed load: a scrape may see one tick's
    /// counter beside the previous tick's other).
    pub(crate) fn load(&self) -> Local {
        Local {
            received: self.received.load(Relaxed),
            replied: self.replied.load(Relaxed),
            handoffs_out: self.handoffs_out.load(Relaxed),
            handoffs_in: self.handoffs_in.load(Relaxed),
            drops: self.drops.iter().map(|a| a.load(Relaxed)).collect(),
            journal_records: self.journal_records.load(Relaxed),
            journal_syncs: self.journal_syncs.load(Relaxed),
            journal_sync_us_total: self.journal_sync_us_total.load(Relaxed),
            journal_failures: self.journal_failures.load(Relaxed),
            journal_failing: self.journal_failing.load(Relaxed),
            leases_na: self.leases_na.load(Relaxed),
            leases_pd: self.leases_pd.load(Relaxed),
            prefixes_backup_free: self.prefixes_backup_free.load(Relaxed),
            rx_ops: load_all(&self.rx_ops),
            tx_ops: load_all(&self.tx_ops),
            sync_us_buckets: load_all(&self.sync_us_buckets),
            batch_buckets: load_all(&self.batch_buckets),
            subnets: self
                .subnets
                .read()
                .map(|s| {
                    s.iter()
                        .map(|(id, a)| (*id, SubnetLeases::from_fields(load_all(a))))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Called by the owning worker only.
    pub(crate) fn publish(&self, l: &Local) {
        self.publishes.fetch_add(1, Relaxed);
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
        store_all(&self.rx_ops, &l.rx_ops);
        store_all(&self.tx_ops, &l.tx_ops);
        store_all(&self.sync_us_buckets, &l.sync_us_buckets);
        store_all(&self.batch_buckets, &l.batch_buckets);
        let Ok(subnets) = self.subnets.read() else {
            return;
        };
        for (id, atoms) in subnets.iter() {
            let c = l
                .subnets
                .binary_search_by_key(id, |(i, _)| *i)
                .map_or_else(|_| SubnetLeases::default(), |k| l.subnets[k].1);
            store_all(atoms, &c.fields());
        }
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

#[cfg(test)]
mod tests {
    use tandem_wire::testdata;

    use super::*;

    #[test]
    fn requests_count_the_client_message_inside_relays() {
        let mut l = Local::new();
        for p in [
            testdata::SOLICIT,
            testdata::RELAY_FORW_SOLICIT,
            testdata::NESTED_RELAY_SOLICIT,
            testdata::REQUEST,
            testdata::CONFIRM,
            testdata::RENEW,
            testdata::REBIND,
            testdata::RELEASE,
            testdata::DECLINE,
            testdata::INFORMATION_REQUEST,
            &[],
            &[12, 0, 1],
            &[99, 0, 0, 1],
        ] {
            l.count_request(p);
        }
        let got: Vec<_> = RX_OPS
            .iter()
            .zip(l.rx_ops)
            .filter(|(_, n)| *n > 0)
            .collect();
        assert_eq!(
            got,
            [
                (&"solicit", 3),
                (&"request", 1),
                (&"confirm", 1),
                (&"renew", 1),
                (&"rebind", 1),
                (&"release", 1),
                (&"decline", 1),
                (&"infrequest", 1),
                (&"unknown", 1),
                (&"parse-failed", 2),
            ]
        );
    }

    #[test]
    fn replies_count_advertise_and_reply() {
        let mut l = Local::new();
        l.count_reply(MessageType::Advertise);
        l.count_reply(MessageType::Reply);
        l.count_reply(MessageType::Advertise);
        l.count_reply(MessageType::RelayRepl);
        assert_eq!(l.tx_ops, [2, 1]);
    }

    #[test]
    fn sync_buckets() {
        let mut l = Local::new();
        for us in [0, 100, 101, 1_000_000, 1_000_001] {
            l.count_sync(us, us / 1000);
        }
        assert_eq!(l.sync_us_buckets[0], 2);
        assert_eq!(l.sync_us_buckets[1], 1);
        assert_eq!(l.sync_us_buckets[SYNC_BUCKETS_US.len() - 1], 1);
        assert_eq!(l.sync_us_buckets[SYNC_BUCKETS_US.len()], 1);
        assert_eq!(l.batch_buckets[0], 3, "0 and 1 records");
        assert_eq!(l.batch_buckets[BATCH_BUCKETS.len() - 1], 2, "1000 records");
        assert_eq!((l.journal_syncs, l.journal_sync_us_total), (5, 2_000_202));
    }

    #[test]
    fn drop_layers() {
        assert_eq!(
            drop_layer(engine_drop_slot(DropReason::Malformed)),
            "engine"
        );
        assert_eq!(
            drop_layer(server_drop_slot(ServerDrop::HandoffQueueFull)),
            "queue"
        );
        assert_eq!(
            drop_layer(server_drop_slot(ServerDrop::Truncated)),
            "socket"
        );
        assert_eq!(
            drop_layer(server_drop_slot(ServerDrop::JournalFailed)),
            "journal"
        );
        let receive: Vec<_> = (0..drop_slots())
            .filter(|s| is_receive_drop(*s))
            .map(drop_label)
            .collect();
        assert_eq!(
            receive,
            ["handoff_queue_full", "truncated_datagram", "no_packet_info"]
        );
    }
}
