//! The store as a restart sees it: real files in a temporary directory, real shards.

use std::os::unix::fs::FileExt;

use tandem_lease::{
    journal, FoData, Lease, LeaseState, PoolDef, PoolId, PoolRange, Resource, Shard,
};

use super::*;

fn pools() -> Vec<PoolDef> {
    vec![
        PoolDef {
            id: PoolId(0),
            subnet_id: 1,
            range: PoolRange::Addresses {
                first: "2001:db8:1::1000".parse().unwrap(),
                last: "2001:db8:1::1fff".parse().unwrap(),
            },
        },
        PoolDef {
            id: PoolId(1),
            subnet_id: 1,
            range: PoolRange::Prefixes {
                prefix: "2001:db8:8000::".parse().unwrap(),
                prefix_len: 40,
                delegated_len: 56,
            },
        },
    ]
}

fn duid(n: u32) -> Vec<u8> {
    let mut d = vec![0, 1, 0, 1, 0x2a, 0x3b, 0x4c, 0x5d];
    d.extend_from_slice(&n.to_be_bytes());
    d
}

/// Bind `clients` clients (an address and a prefix each) in the shards that own them, and
/// append each shard's changes to its journal the way a worker does.
fn bind_clients(
    shards: &mut [Shard],
    journals: &mut [JournalFile],
    clients: std::ops::Range<u32>,
    now: u64,
) -> Vec<Lease> {
    let count = shards.len() as u32;
    let mut granted = Vec::new();
    for c in clients {
        let d = duid(c);
        let s = tandem_ebpf_common::shard_of(&d, count) as usize;
        for pool in [PoolId(0), PoolId(1)] {
            let resource = shards[s].allocate(pool, None, now).expect("pool has room");
            let lease = Lease {
                resource,
                duid: d.clone().into_boxed_slice(),
                iaid: c,
                subnet_id: 1,
                preferred_s: 3000,
                valid_s: 4000,
                cltt: now,
                expires_at: now + 4000,
                state: LeaseState::Bound,
                fo: FoData::default(),
            };
            shards[s].bind(lease.clone());
            granted.push(lease);
        }
    }
    for (shard, journal) in shards.iter_mut().zip(journals.iter_mut()) {
        append(shard, journal);
    }
    granted.sort_by_key(|l| l.resource);
    granted
}

fn append(shard: &mut Shard, journal: &mut JournalFile) {
    let mut buf = Vec::new();
    for change in shard.drain_changes() {
        journal::encode(&change, &mut buf);
    }
    let file = File::from(journal.fd.try_clone().unwrap());
    file.write_all_at(&buf, journal.offset).unwrap();
    journal.offset += buf.len() as u64;
}

fn journal_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir.join("shards"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "journal"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_restart_finds_every_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let (mut shards, mut journals, report) = store.load(2, &pools(), &[]).unwrap();
    assert_eq!(report.records, 0);
    let granted = bind_clients(&mut shards, &mut journals, 0..50, 1_000_000);
    drop((shards, journals));

    let (shards, _journals, report) = store.load(2, &pools(), &[]).unwrap();
    assert_eq!(report.skipped, 0);
    assert_eq!(report.records, 100);
    let mut loaded: Vec<Lease> = shards.iter().flat_map(|s| s.leases().cloned()).collect();
    loaded.sort_by_key(|l| l.resource);
    assert_eq!(loaded, granted);
    for shard in &shards {
        for lease in shard.leases() {
            assert!(
                shard.owns_client(&lease.duid),
                "a lease came back in a foreign shard"
            );
        }
    }
}

#[test]
fn a_torn_last_record_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let (mut shards, mut journals, _) = store.load(1, &pools(), &[]).unwrap();
    let granted = bind_clients(&mut shards, &mut journals, 0..10, 1_000_000);
    drop((shards, journals));
    // A crash in the middle of a write leaves part of the last record.
    let path = &journal_paths(dir.path())[0];
    let len = fs::metadata(path).unwrap().len();
    let file = OpenOptions::new().write(true).open(path).unwrap();
    file.set_len(len - 7).unwrap();

    let (leases, report) = store.read_leases().unwrap();
    assert_eq!(report.skipped, 1, "the torn tail is reported once");
    assert_eq!(leases.len(), granted.len() - 1);
    let (mut shards, mut journals, report) = store.load(1, &pools(), &[]).unwrap();
    assert_eq!(report.skipped, 1);
    assert_eq!(
        shards[0].len(),
        granted.len() - 1,
        "the server starts with every whole record"
    );
    // New records after such a start never follow the torn bytes.
    bind_clients(&mut shards, &mut journals, 10..12, 1_000_000);
    drop((shards, journals));
    let (leases, report) = store.read_leases().unwrap();
    assert_eq!(
        report.skipped, 0,
        "the damage is reported once, then compacted away"
    );
    assert_eq!(leases.len(), granted.len() - 1 + 4);
}

#[test]
fn a_corrupt_record_in_the_middle_is_skipped_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let (mut shards, mut journals, _) = store.load(1, &pools(), &[]).unwrap();
    let granted = bind_clients(&mut shards, &mut journals, 0..10, 1_000_000);
    drop((shards, journals));
    let path = &journal_paths(dir.path())[0];
    let mut bytes = fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(path, &bytes).unwrap();

    let (leases, report) = store.read_leases().unwrap();
    assert!(report.skipped >= 1);
    assert_eq!(
        leases.len(),
        granted.len() - 1,
        "only the damaged record is lost"
    );
}

#[test]
fn a_changed_worker_count_redistributes_leases_by_duid() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let (mut shards, mut journals, _) = store.load(2, &pools(), &[]).unwrap();
    let granted = bind_clients(&mut shards, &mut journals, 0..40, 1_000_000);
    drop((shards, journals));

    let (mut shards, mut journals, _) = store.load(3, &pools(), &[]).unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("shards/layout")).unwrap(),
        "3"
    );
    let mut loaded: Vec<Lease> = shards.iter().flat_map(|s| s.leases().cloned()).collect();
    loaded.sort_by_key(|l| l.resource);
    assert_eq!(loaded, granted);
    for shard in &shards {
        assert!(shard.leases().all(|l| shard.owns_client(&l.duid)));
    }
    // No shard may hand out a resource another shard holds.
    let more = bind_clients(&mut shards, &mut journals, 40..200, 1_000_000);
    let mut all: Vec<Resource> = more.iter().map(|l| l.resource).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), more.len());
    for lease in &granted {
        let holders = shards
            .iter()
            .filter(|s| s.lease(&lease.resource).is_some())
            .count();
        assert_eq!(
            holders, 1,
            "{:?} is held by {holders} shards",
            lease.resource
        );
    }
    drop((shards, journals));
    let (_, report) = store.read_leases().unwrap();
    assert_eq!(report.skipped, 0);
}

#[test]
fn a_batch_rewritten_at_its_offset_replaces_a_partial_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let (mut shards, mut journals, _) = store.load(1, &pools(), &[]).unwrap();
    bind_clients(&mut shards, &mut journals, 0..3, 1_000_000);
    // The next batch's first write stops half way (disk full); the worker rewrites the whole
    // batch at the same offset once space returns.
    let granted_more = {
        let before = journals[0].offset;
        let more = bind_clients(&mut shards, &mut journals, 3..6, 1_000_000);
        let full = fs::read(&journal_paths(dir.path())[0]).unwrap();
        let batch = &full[before as usize..];
        let file = File::from(journals[0].fd.try_clone().unwrap());
        file.set_len(before).unwrap();
        file.write_all_at(&batch[..batch.len() / 2 + 5], before)
            .unwrap();
        file.write_all_at(batch, before).unwrap();
        more
    };
    drop((shards, journals));
    let (leases, report) = store.read_leases().unwrap();
    assert_eq!(report.skipped, 0, "the rewrite replaced the partial bytes");
    assert_eq!(leases.len(), 12);
    assert!(granted_more.iter().all(|g| leases.contains(g)));
}

#[test]
fn compaction_keeps_every_lease_and_drops_old_journals() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let (mut shards, mut journals, _) = store.load(1, &pools(), &[]).unwrap();
    let mut granted = bind_clients(&mut shards, &mut journals, 0..20, 1_000_000);
    journals[0].compact(&shards[0]).unwrap();
    assert_eq!(journals[0].generation, 1);
    assert_eq!(
        journal_paths(dir.path()).len(),
        1,
        "the old journal is gone"
    );
    // Changes after compaction go to the new journal and survive too.
    granted.extend(bind_clients(&mut shards, &mut journals, 20..25, 1_000_100));
    granted.sort_by_key(|l| l.resource);
    drop((shards, journals));
    let (leases, report) = store.read_leases().unwrap();
    assert_eq!(report.skipped, 0);
    assert_eq!(leases, granted);
}

#[test]
fn removals_in_the_journal_are_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let (mut shards, mut journals, _) = store.load(1, &pools(), &[]).unwrap();
    let granted = bind_clients(&mut shards, &mut journals, 0..5, 1_000_000);
    shards[0].release(&granted[0].resource, 1_000_000);
    append(&mut shards[0], &mut journals[0]);
    drop((shards, journals));
    let (leases, _) = store.read_leases().unwrap();
    assert_eq!(leases.len(), granted.len() - 1);
    assert!(leases.iter().all(|l| l.resource != granted[0].resource));
}

#[test]
fn the_server_duid_is_created_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let first = store.server_duid(None).unwrap();
    assert_eq!(&first[..2], &[0, 4], "DUID-UUID");
    assert_eq!(first.len(), 18);
    let again = Store::open(dir.path(), true)
        .unwrap()
        .server_duid(None)
        .unwrap();
    assert_eq!(first, again);
    let configured = [0u8, 2, 0, 0, 0x12, 0x34, 1, 2, 3];
    assert_eq!(store.server_duid(Some(&configured)).unwrap(), configured);
}

#[test]
fn file_names_round_trip() {
    assert!(matches!(
        parse_file_name("shard-3.snap"),
        Some(FileName::Snapshot(3))
    ));
    assert!(matches!(
        parse_file_name(&journal_name(2, 17)),
        Some(FileName::Journal(2, 17))
    ));
    assert!(parse_file_name("shard-x.snap").is_none());
    assert!(parse_file_name("stats.json").is_none());
    assert!(parse_file_name("shard-1.snap.tmp").is_none());
}

#[test]
fn hex_round_trip() {
    let duid = [0u8, 4, 0xde, 0xad, 0xbe, 0xef];
    assert_eq!(parse_hex(&hex(&duid)).as_deref(), Some(&duid[..]));
    assert_eq!(parse_hex("0"), None);
    assert_eq!(parse_hex("zz"), None);
}

/// The FREE-BACKUP records of every shard: (shard, prefix, record), sorted.
fn backups(shards: &[Shard]) -> Vec<(u32, Resource, BackupPrefix)> {
    let mut v: Vec<_> = shards
        .iter()
        .flat_map(|s| {
            s.backup_prefixes()
                .map(move |(r, b)| (s.shard_id(), *r, *b))
        })
        .collect();
    v.sort_by_key(|(_, r, _)| *r);
    v
}

#[test]
fn free_backup_records_survive_restart_compaction_and_a_new_worker_count() {
    // RFC 8156 §4.2.2: what the primary gave the secondary must never come back as its own.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let (mut shards, mut journals, _) = store.load(2, &pools(), &[]).unwrap();
    let target = tandem_lease::ShareTarget::from_fractions(0.001, 0.001);
    for (shard, journal) in shards.iter_mut().zip(journals.iter_mut()) {
        shard.set_subnet_failover(1, Some(tandem_lease::FoRole::Primary));
        assert!(shard.rebalance(&[1], target, 1_000_000).given > 0);
        append(shard, journal);
    }
    let given = backups(&shards);
    assert_eq!(given.len(), 64, "0.1 % of 65536 /56s");
    journals[1].compact(&shards[1]).unwrap();
    drop((shards, journals));

    let (shards, journals, report) = store.load(2, &pools(), &[]).unwrap();
    assert_eq!(report.skipped, 0);
    assert_eq!(backups(&shards), given);
    drop((shards, journals));

    // Three workers: each record moves to the shard of its prefix's slice.
    let (mut shards, _, _) = store.load(3, &pools(), &[]).unwrap();
    let moved = backups(&shards);
    assert_eq!(moved.len(), given.len());
    for (shard, r, _) in &moved {
        assert_eq!(tandem_lease::prefix_slice_of(&pools(), r, 3), Some(*shard));
    }
    for shard in &mut shards {
        shard.set_subnet_failover(1, Some(tandem_lease::FoRole::Primary));
        shard.check_invariants().unwrap();
        // The primary never allocates a prefix it gave away.
        while let Some(r) = shard.allocate(PoolId(1), None, 1_000_000) {
            assert!(shard.backup(&r).is_none(), "{r:?} was given away");
            shard.bind(Lease {
                resource: r,
                duid: duid(7).into_boxed_slice(),
                iaid: 1,
                subnet_id: 1,
                preferred_s: 1,
                valid_s: 2,
                cltt: 1_000_000,
                expires_at: 1_000_002,
                state: LeaseState::Bound,
                fo: FoData::default(),
            });
        }
    }
}

#[test]
fn free_backup_records_follow_their_slice_when_the_pools_change() {
    // The same worker count, a PD pool with another base: the prefixes' slice indexes move, and
    // so must their records, or a shard would hand out a prefix another shard's record gives
    // the secondary (RFC 8156 §4.2.2).
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), true).unwrap();
    let (mut shards, mut journals, _) = store.load(3, &pools(), &[]).unwrap();
    let target = tandem_lease::ShareTarget::from_fractions(0.001, 0.001);
    for (shard, journal) in shards.iter_mut().zip(journals.iter_mut()) {
        shard.set_subnet_failover(1, Some(tandem_lease::FoRole::Primary));
        shard.rebalance(&[1], target, 1_000_000);
        append(shard, journal);
    }
    let given: Vec<Resource> = backups(&shards).into_iter().map(|(_, r, _)| r).collect();
    drop((shards, journals));
    let mut wider = pools();
    wider[1].range = PoolRange::Prefixes {
        prefix: "2001:db8::".parse().unwrap(),
        prefix_len: 32,
        delegated_len: 56,
    };
    for round in 0..2 {
        let (mut shards, _, report) = store.load(3, &wider, &[]).unwrap();
        assert_eq!(report.skipped, 0);
        let now: Vec<(u32, Resource, BackupPrefix)> = backups(&shards);
        assert_eq!(now.len(), given.len(), "round {round}");
        for (shard, r, _) in &now {
            assert_eq!(
                tandem_lease::prefix_slice_of(&wider, r, 3),
                Some(*shard),
                "round {round}"
            );
        }
        for shard in &mut shards {
            shard.set_subnet_failover(1, Some(tandem_lease::FoRole::Primary));
            shard.check_invariants().unwrap();
        }
    }
}
