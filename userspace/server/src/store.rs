//! The lease store on disk: one snapshot and a chain of journals per shard, the server DUID, and
//! the recovery rules.
//!
//! ```text
//! <storage>/server-duid                 hex, written once
//! <storage>/shards/shard-<i>.snap       snapshot of shard i (header carries generation g)
//! <storage>/shards/shard-<i>.<g>.journal  changes after the snapshot of generation g
//! ```
//! Restart = for every shard, snapshot + every journal of generation >= the snapshot's, in
//! order. A corrupt record is skipped and counted, a torn tail is counted, and the server starts
//! anyway. When the worker count changed, leases are redistributed by DUID into a complete new
//! `shards.new/` directory which then replaces `shards/` by rename, so a crash at any point
//! leaves either the old or the new layout whole.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use tandem_lease::{journal, BackupPrefix, Lease, LeaseChange, PoolDef, Resource, Shard};
use tracing::{info, warn};

/// Holds the shard count the store's files are distributed by.
const LAYOUT_FILE: &str = "layout";

/// What a start found in the store.
#[derive(Debug, Default, Clone)]
pub(crate) struct LoadReport {
    pub(crate) records: u64,
    pub(crate) skipped: u64,
    pub(crate) files: u64,
}

pub(crate) struct Store {
    dir: PathBuf,
    durable: bool,
}

/// The journal a worker appends to. The worker does the writes (through its io_uring ring);
/// this type knows where and which generation.
pub(crate) struct JournalFile {
    pub(crate) fd: OwnedFd,
    pub(crate) offset: u64,
    pub(crate) generation: u64,
    shard: u32,
    shards_dir: PathBuf,
    durable: bool,
}

impl Store {
    pub(crate) fn open(dir: &Path, durable: bool) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let store = Self {
            dir: dir.to_owned(),
            durable,
        };
        store.finish_interrupted_relayout()?;
        fs::create_dir_all(store.shards_dir())?;
        Ok(store)
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn shards_dir(&self) -> PathBuf {
        self.dir.join("shards")
    }

    /// The server DUID [RFC 8415 §11]: the configured one, else the one created at first start,
    /// else a new DUID-UUID (type 4) from the kernel's random source, stored before first use.
    pub(crate) fn server_duid(&self, configured: Option<&[u8]>) -> io::Result<Vec<u8>> {
        let path = self.dir.join("server-duid");
        if let Some(duid) = configured {
            return Ok(duid.to_vec());
        }
        if let Ok(text) = fs::read_to_string(&path) {
            if let Some(duid) = parse_hex(text.trim()) {
                if !duid.is_empty() && duid.len() <= 130 {
                    return Ok(duid);
                }
            }
            warn!(path = %path.display(), "stored server DUID is unreadable; creating a new one");
        }
        let mut uuid = [0u8; 16];
        File::open("/dev/urandom")?.read_exact(&mut uuid)?;
        uuid[6] = (uuid[6] & 0x0f) | 0x40; // RFC 9562 version 4
        uuid[8] = (uuid[8] & 0x3f) | 0x80; // variant
        let mut duid = vec![0, 4];
        duid.extend_from_slice(&uuid);
        write_durably(&path, hex(&duid).as_bytes())?;
        sync_dir(&self.dir)?;
        info!(duid = %hex(&duid), "created the server DUID");
        Ok(duid)
    }

    /// Every lease in the store, as a start would see it, without changing any file.
    pub(crate) fn read_leases(&self) -> io::Result<(Vec<Lease>, LoadReport)> {
        let mut report = LoadReport::default();
        let per_shard = self.replay_all(&mut report)?;
        let mut leases: Vec<Lease> = per_shard
            .into_values()
            .flat_map(|state| state.leases.into_values())
            .collect();
        leases.sort_by_key(|l| l.resource);
        Ok((leases, report))
    }

    /// Load the store into `count` shards and open one journal per shard.
    pub(crate) fn load(
        &self,
        count: u32,
        pools: &[PoolDef],
        reserved: &[Resource],
    ) -> io::Result<(Vec<Shard>, Vec<JournalFile>, LoadReport)> {
        let mut report = LoadReport::default();
        let per_shard = self.replay_all(&mut report)?;
        // Leases were distributed by DUID hash modulo the shard count they were written with.
        let relayout = match self.stored_count()? {
            Some(stored) => stored != count,
            None => !per_shard.is_empty(),
        };
        let mut shards: Vec<Shard> = (0..count)
            .map(|i| Shard::new(i, count, pools, reserved))
            .collect();
        let mut backups = Vec::new();
        let mut moved = false;
        for (origin, state) in per_shard {
            for (r, b) in state.backups {
                // A FREE-BACKUP record lives with its prefix's pool slice (RFC 8156 §4.2.2),
                // wherever the worker count or the pools put that now.
                let to = tandem_lease::prefix_slice_of(pools, &r, count);
                moved |= to != Some(origin);
                backups.push((to, r, b));
            }
            for lease in state.leases.into_values() {
                let to = if relayout {
                    if lease.duid.is_empty() {
                        0
                    } else {
                        tandem_ebpf_common::shard_of(&lease.duid, count)
                    }
                } else {
                    origin
                };
                shards[to as usize].apply_replayed(LeaseChange::Upsert(lease));
            }
        }
        // After the leases: a record names an unbound prefix only (a delegated one is the
        // client's, R45), so a record of a prefix bound anywhere, or outside every pool now,
        // goes (a crash between a lease and its shard's note can leave one).
        let bound: std::collections::HashSet<Resource> = shards
            .iter()
            .flat_map(|s| s.leases().map(|l| l.resource))
            .collect();
        for (to, r, b) in backups {
            match to.and_then(|to| shards.get_mut(to as usize)) {
                Some(shard) if !bound.contains(&r) => {
                    shard.apply_replayed(LeaseChange::Backup(r, Some(b)));
                }
                _ => {
                    info!(prefix = %r.addr, len = r.prefix_len, "dropped a stale FREE-BACKUP record");
                    moved = true;
                }
            }
        }
        // A lease held by one shard may lie in another shard's slice (layout or pools changed):
        // that shard must never allocate it.
        let held: Vec<(u32, Resource)> = shards
            .iter()
            .flat_map(|s| s.leases().map(move |l| (s.shard_id(), l.resource)))
            .collect();
        for (owner, resource) in held {
            for shard in shards.iter_mut().filter(|s| s.shard_id() != owner) {
                shard.exclude_foreign(resource);
            }
        }
        if relayout || moved {
            info!(
                count,
                "worker count or pools changed: redistributing leases into a new store layout"
            );
            self.write_layout(&shards)?;
        } else if self.stored_count()?.is_none() {
            write_durably(
                &self.shards_dir().join(LAYOUT_FILE),
                count.to_string().as_bytes(),
            )?;
            sync_dir(&self.shards_dir())?;
        }
        let mut journals = (0..count)
            .map(|i| self.open_journal(i, shards_generation(&self.shards_dir(), i)?))
            .collect::<io::Result<Vec<_>>>()?;
        if report.skipped > 0 {
            // Damaged records were reported above; a fresh snapshot drops them, so new records
            // never follow a torn tail and the next start reads a clean store.
            for (journal, shard) in journals.iter_mut().zip(&shards) {
                journal.compact(shard)?;
            }
        }
        Ok((shards, journals, report))
    }

    fn replay_all(&self, report: &mut LoadReport) -> io::Result<BTreeMap<u32, Replayed>> {
        let mut files: BTreeMap<u32, ShardFiles> = BTreeMap::new();
        for entry in fs::read_dir(self.shards_dir())? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            match parse_file_name(name) {
                Some(FileName::Snapshot(i)) => files.entry(i).or_default().0 = Some(path),
                Some(FileName::Journal(i, g)) => files.entry(i).or_default().1.push((g, path)),
                None => {}
            }
        }
        let mut out = BTreeMap::new();
        for (shard, (snapshot, mut journals)) in files {
            let mut leases = Replayed::default();
            let mut from_generation = 0;
            if let Some(path) = snapshot {
                report.files += 1;
                let bytes = fs::read(&path)?;
                match journal::decode_snapshot_header(&bytes) {
                    Ok((generation, header_len)) => {
                        from_generation = generation;
                        replay(&bytes[header_len..], &mut leases, report, &path);
                    }
                    Err(skipped) => {
                        report.skipped += 1;
                        warn!(path = %path.display(), ?skipped, "snapshot header unreadable");
                    }
                }
            }
            journals.sort();
            for (_, path) in journals.into_iter().filter(|(g, _)| *g >= from_generation) {
                report.files += 1;
                let bytes = fs::read(&path)?;
                replay(&bytes, &mut leases, report, &path);
            }
            out.insert(shard, leases);
        }
        Ok(out)
    }

    fn open_journal(&self, shard: u32, generation: u64) -> io::Result<JournalFile> {
        let dir = self.shards_dir();
        let path = dir.join(journal_name(shard, generation));
        // Not O_APPEND: on Linux a positioned write to an O_APPEND file ignores its offset, and
        // a failed batch must be rewritten over its own partial bytes, at the same offset.
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)?;
        let offset = file.metadata()?.len();
        sync_dir(&dir)?;
        Ok(JournalFile {
            fd: file.into(),
            offset,
            generation,
            shard,
            shards_dir: dir,
            durable: self.durable,
        })
    }

    /// The shard count the store was written with (`None` for a new store).
    fn stored_count(&self) -> io::Result<Option<u32>> {
        match fs::read_to_string(self.shards_dir().join(LAYOUT_FILE)) {
            Ok(text) => text.trim().parse().map(Some).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "shards/layout is not a shard count",
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Write a complete layout for `shards` beside the live one, then swap it in.
    fn write_layout(&self, shards: &[Shard]) -> io::Result<()> {
        let new_dir = self.dir.join("shards.new");
        let _ = fs::remove_dir_all(&new_dir);
        fs::create_dir_all(&new_dir)?;
        for shard in shards {
            write_snapshot(&new_dir, shard, 1)?;
        }
        write_durably(
            &new_dir.join(LAYOUT_FILE),
            shards.len().to_string().as_bytes(),
        )?;
        File::create(new_dir.join("complete"))?.sync_all()?;
        sync_dir(&new_dir)?;
        self.swap_in(&new_dir)
    }

    fn swap_in(&self, new_dir: &Path) -> io::Result<()> {
        let live = self.shards_dir();
        let old = self.dir.join("shards.old");
        if live.exists() {
            fs::rename(&live, &old)?;
        }
        fs::rename(new_dir, &live)?;
        sync_dir(&self.dir)?;
        let _ = fs::remove_file(live.join("complete"));
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }

    /// A crash during a relayout leaves `shards.new` (complete or not) and maybe `shards.old`.
    fn finish_interrupted_relayout(&self) -> io::Result<()> {
        let new_dir = self.dir.join("shards.new");
        if new_dir.join("complete").exists() {
            warn!("finishing an interrupted store relayout");
            return self.swap_in(&new_dir);
        }
        let _ = fs::remove_dir_all(&new_dir);
        if self.shards_dir().exists() {
            let _ = fs::remove_dir_all(self.dir.join("shards.old"));
        } else if self.dir.join("shards.old").exists() {
            fs::rename(self.dir.join("shards.old"), self.shards_dir())?;
        }
        Ok(())
    }
}

impl JournalFile {
    pub(crate) fn durable(&self) -> bool {
        self.durable
    }

    /// Online compaction: the shard's whole state goes into a new snapshot of the next
    /// generation, and journals of older generations are deleted. The caller guarantees no write
    /// to this journal is in flight. A crash at any point leaves a consistent store: either the
    /// old snapshot with every journal, or the new snapshot with the new (empty) journal.
    pub(crate) fn compact(&mut self, shard: &Shard) -> io::Result<()> {
        let next = self.generation + 1;
        let path = self.shards_dir.join(journal_name(self.shard, next));
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)?;
        sync_dir(&self.shards_dir)?;
        write_snapshot(&self.shards_dir, shard, next)?;
        let old = self.generation;
        self.fd = file.into();
        self.offset = 0;
        self.generation = next;
        for g in 0..=old {
            let _ = fs::remove_file(self.shards_dir.join(journal_name(self.shard, g)));
        }
        Ok(())
    }
}

/// One shard's files replayed: its leases and its FREE-BACKUP records (RFC 8156 §4.2.2).
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    leases: BTreeMap<Resource, Lease>,
    backups: BTreeMap<Resource, BackupPrefix>,
}

fn replay(bytes: &[u8], state: &mut Replayed, report: &mut LoadReport, path: &Path) {
    for record in journal::read(bytes) {
        match record {
            Ok(LeaseChange::Upsert(lease)) => {
                report.records += 1;
                state.leases.insert(lease.resource, lease);
            }
            Ok(LeaseChange::Remove(resource)) => {
                report.records += 1;
                state.leases.remove(&resource);
            }
            Ok(LeaseChange::Backup(resource, entry)) => {
                report.records += 1;
                match entry {
                    Some(b) => state.backups.insert(resource, b),
                    None => state.backups.remove(&resource),
                };
            }
            Ok(_) => report.records += 1,
            Err(skipped) => {
                report.skipped += 1;
                warn!(path = %path.display(), ?skipped, "skipped a damaged journal record");
            }
        }
    }
}

/// Snapshot of `shard` with `generation`, written to a temporary file, synced, renamed.
fn write_snapshot(dir: &Path, shard: &Shard, generation: u64) -> io::Result<()> {
    let mut buf = Vec::with_capacity(64 + shard.len() * 96);
    journal::encode_snapshot_header(generation, &mut buf);
    for lease in shard.leases() {
        journal::encode(&LeaseChange::Upsert(lease.clone()), &mut buf);
    }
    for (r, b) in shard.backup_prefixes() {
        journal::encode(&LeaseChange::Backup(*r, Some(*b)), &mut buf);
    }
    let path = dir.join(format!("shard-{}.snap", shard.shard_id()));
    write_durably(&path, &buf)?;
    sync_dir(dir)
}

fn shards_generation(dir: &Path, shard: u32) -> io::Result<u64> {
    let mut generation = 0;
    if let Ok(bytes) = fs::read(dir.join(format!("shard-{shard}.snap"))) {
        if let Ok((g, _)) = journal::decode_snapshot_header(&bytes) {
            generation = g;
        }
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if let Some(FileName::Journal(i, g)) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(parse_file_name)
        {
            if i == shard {
                generation = generation.max(g);
            }
        }
    }
    Ok(generation)
}

/// A shard's snapshot (if any) and its journals with their generations.
type ShardFiles = (Option<PathBuf>, Vec<(u64, PathBuf)>);

enum FileName {
    Snapshot(u32),
    Journal(u32, u64),
}

fn journal_name(shard: u32, generation: u64) -> String {
    format!("shard-{shard}.{generation}.journal")
}

fn parse_file_name(name: &str) -> Option<FileName> {
    let rest = name.strip_prefix("shard-")?;
    if let Some(i) = rest.strip_suffix(".snap") {
        return i.parse().ok().map(FileName::Snapshot);
    }
    let rest = rest.strip_suffix(".journal")?;
    let (i, g) = rest.split_once('.')?;
    Some(FileName::Journal(i.parse().ok()?, g.parse().ok()?))
}

fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(tmp, path)
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests;
