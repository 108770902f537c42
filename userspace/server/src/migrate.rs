//! Moving from Kea, offline: `tandemd import-leases` and `tandemd export-leases`
//! (`import-kea-config` is in `kea_config_import.rs`, shared with tandemctl). The lease commands work on the store with tandemd stopped; the
//! import writes through the store's own snapshot code, so the next start loads the leases.

use std::fs;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use tandem_config::{Config, Durability};
use tandem_engine::policy::Subnet;
use tandem_engine::Engine;
use tandem_kea::{KeaLease, KeaLeaseState, KeaLeaseType};
use tandem_lease::{FoData, Lease, LeaseChange, LeaseKind, LeaseState, Resource};

use crate::store::Store;
use crate::worker;

/// `tandemd import-leases`: the live leases of a Kea leases6 CSV into the store of `config`.
/// Each lease must lie in a pool (or reservation) of the right kind; the rest are listed and
/// skipped, as are leases whose resource the store already gives another client.
pub(crate) fn import_leases(config_path: &Path, csv: &Path) -> anyhow::Result<()> {
    let config = load_config(config_path)?;
    refuse_if_running(&config.storage.path)?;
    let text = fs::read_to_string(csv).with_context(|| format!("reading {}", csv.display()))?;
    let kea = tandem_kea::parse_leases6(&text, worker::unix_now())
        .map_err(|e| anyhow!("{}: {e}", csv.display()))?;
    let store = open_store(&config)?;
    let duid = store
        .server_duid(config.server.server_duid.as_deref())
        .context("server DUID")?;
    let engine = Engine::new(config.policy(duid))
        .map_err(|e| anyhow!("policy rejected by the engine: {e}"))?;
    let subnets = &config.policy(Vec::new()).subnets;
    // The shard count `tandemd run` uses, so the start finds the leases where it looks.
    let count = config
        .server
        .workers
        .map(|n| n.get())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let count = u32::try_from(count).context("worker count")?;
    let (mut shards, mut journals, _) = store
        .load(count, engine.pool_defs(), engine.reserved())
        .context("loading the store")?;
    let (mut na, mut pd) = (0u64, 0u64);
    let mut skipped = Vec::new();
    for k in &kea {
        let lease = match to_lease(subnets, k) {
            Ok(l) => l,
            Err(why) => {
                skipped.push(format!("{}: {why}", describe(k)));
                continue;
            }
        };
        let holder = shards.iter().find_map(|s| s.lease(&lease.resource));
        if holder.is_some_and(|h| h.duid != lease.duid) {
            skipped.push(format!(
                "{}: the store gives it to another client",
                describe(k)
            ));
            continue;
        }
        // The shard the server gives this client: tandem_ebpf_common::shard_of, as the store
        // places replayed leases (DUID-less Declined holds go to shard 0).
        let to = if lease.duid.is_empty() {
            0
        } else {
            tandem_ebpf_common::shard_of(&lease.duid, count)
        };
        match lease.resource.kind {
            LeaseKind::Pd => pd += 1,
            _ => na += 1,
        }
        if let Some(shard) = shards.get_mut(to as usize) {
            shard.apply_replayed(LeaseChange::Upsert(lease));
        }
    }
    for (journal, shard) in journals.iter_mut().zip(&shards) {
        journal.compact(shard).context("writing the snapshot")?;
    }
    println!(
        "imported {} lease(s) ({na} address(es), {pd} prefix(es)) from {} into {}; skipped {}",
        na + pd,
        csv.display(),
        config.storage.path.display(),
        skipped.len()
    );
    for s in &skipped {
        println!("  skipped {s}");
    }
    Ok(())
}

/// `tandemd export-leases`: the store's bound and declined leases as a Kea 2.2 leases6 CSV on
/// stdout (Kea can load it to go back).
pub(crate) fn export_leases(config_path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let config = load_config(config_path)?;
    let store = open_store(&config)?;
    let (leases, _) = store.read_leases().context("reading the store")?;
    let kea: Vec<KeaLease> = leases.iter().filter_map(to_kea).collect();
    let mut out = std::io::stdout().lock();
    match out
        .write_all(tandem_kea::write_leases6(&kea).as_bytes())
        .and_then(|()| out.flush())
    {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// A Kea lease as tandem stores it, with the subnet it belongs to in `subnets`, or why not.
fn to_lease(subnets: &[Subnet], k: &KeaLease) -> Result<Lease, String> {
    let (resource, subnet_id) = match k.lease_type {
        KeaLeaseType::Na if k.prefix_len == 128 => {
            (Resource::address(k.address), address_subnet(subnets, k)?)
        }
        KeaLeaseType::Pd => (
            Resource::prefix(k.address, k.prefix_len),
            prefix_subnet(subnets, k)?,
        ),
        KeaLeaseType::Na => return Err("an address lease with a prefix length".into()),
        _ => return Err("IA_TA: tandem serves no temporary addresses".into()),
    };
    let (state, duid): (LeaseState, Box<[u8]>) = match k.state {
        KeaLeaseState::Declined => (LeaseState::Declined, Box::default()),
        _ => (LeaseState::Bound, k.duid.clone().into_boxed_slice()),
    };
    Ok(Lease {
        resource,
        duid,
        iaid: k.iaid,
        subnet_id,
        preferred_s: k.pref_lifetime,
        valid_s: k.valid_lifetime,
        cltt: k.cltt(),
        expires_at: k.expire,
        state,
        fo: FoData::default(),
    })
}

/// The subnet whose address range or reservation holds the address (Kea's subnet id first).
fn address_subnet(subnets: &[Subnet], k: &KeaLease) -> Result<u32, String> {
    let holds = |s: &&Subnet| {
        s.ranges
            .iter()
            .any(|r| r.first <= k.address && k.address <= r.last)
            || s.reservations
                .iter()
                .any(|r| r.addresses.contains(&k.address))
    };
    pick(subnets, k.subnet_id, holds)
        .ok_or_else(|| "in no address pool or reservation of the config".to_owned())
}

/// The subnet with a prefix pool delegating this length that holds the prefix, or a
/// reservation of exactly this prefix.
fn prefix_subnet(subnets: &[Subnet], k: &KeaLease) -> Result<u32, String> {
    let a = u128::from(k.address);
    let holds = |s: &&Subnet| {
        s.pd_pools.iter().any(|p| {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(p.prefix_len))
                .unwrap_or(0);
            p.delegated_len == k.prefix_len && a & mask == u128::from(p.prefix) & mask
        }) || s
            .reservations
            .iter()
            .any(|r| r.prefixes.contains(&(k.address, k.prefix_len)))
    };
    pick(subnets, k.subnet_id, holds).ok_or_else(|| {
        format!(
            "in no prefix pool delegating /{} (or reservation) of the config",
            k.prefix_len
        )
    })
}

fn pick(subnets: &[Subnet], kea_id: u32, holds: impl Fn(&&Subnet) -> bool) -> Option<u32> {
    subnets
        .iter()
        .filter(|s| s.id.0 == kea_id)
        .find(&holds)
        .or_else(|| subnets.iter().find(&holds))
        .map(|s| s.id.0)
}

/// A stored lease as a Kea row; Released and Expired leases (failover bookkeeping) are not.
fn to_kea(l: &Lease) -> Option<KeaLease> {
    let state = match l.state {
        LeaseState::Bound => KeaLeaseState::Default,
        LeaseState::Declined => KeaLeaseState::Declined,
        _ => return None,
    };
    let lease_type = match l.resource.kind {
        LeaseKind::Pd => KeaLeaseType::Pd,
        _ => KeaLeaseType::Na,
    };
    // Kea gives declined leases the one-octet DUID 00.
    let duid = if l.duid.is_empty() {
        vec![0]
    } else {
        l.duid.to_vec()
    };
    Some(KeaLease {
        address: l.resource.addr,
        duid,
        valid_lifetime: l.valid_s,
        expire: l.expires_at,
        subnet_id: l.subnet_id,
        pref_lifetime: l.preferred_s,
        lease_type,
        iaid: l.iaid,
        prefix_len: l.resource.prefix_len,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        hwaddr: Vec::new(),
        state,
        user_context: String::new(),
        hwtype: None,
        hwaddr_source: None,
        pool_id: None,
    })
}

fn describe(k: &KeaLease) -> String {
    let kind = match k.lease_type {
        KeaLeaseType::Na => "address",
        KeaLeaseType::Pd => "prefix",
        _ => "temporary address",
    };
    format!(
        "{kind} {}/{} of {}",
        k.address,
        k.prefix_len,
        tandem_kea::hex_octets(&k.duid)
    )
}

/// Refuses when `<storage>/tandemd.ready` names a running tandemd: the store belongs to it.
fn refuse_if_running(storage: &Path) -> anyhow::Result<()> {
    let Ok(text) = fs::read_to_string(storage.join("tandemd.ready")) else {
        return Ok(());
    };
    let Ok(pid) = text.trim().parse::<u32>() else {
        return Ok(());
    };
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm.trim() == "tandemd" {
        bail!(
            "tandemd (pid {pid}) is serving from {}: stop it first",
            storage.display()
        );
    }
    Ok(())
}

fn load_config(path: &Path) -> anyhow::Result<Config> {
    tandem_config::load(path).map_err(|e| anyhow!("{e}"))
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    let durable = matches!(config.storage.durability, Durability::Durable);
    Store::open(&config.storage.path, durable)
        .with_context(|| format!("opening the store at {}", config.storage.path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn config(storage: &Path) -> Config {
        let text = format!(
            "[server]\ninterfaces = [\"eth1\"]\nworkers = 2\n[storage]\npath = {:?}\n\
             [[subnet]]\nid = 1\nprefix = \"2001:db8:1::/64\"\ninterface = \"eth1\"\n\
             pools = [\"2001:db8:1::1000-2001:db8:1::1fff\"]\n\
             pd-pools = [{{ prefix = \"2001:db8:8000::/40\", delegated-length = 56 }}]\n\
             [[subnet.reservation]]\nduid = \"00:03:00:01:02:00:00:00:00:07\"\n\
             addresses = [\"2001:db8:1::7\"]\nprefixes = [\"2001:db8:7f00::/56\"]\n",
            storage.display().to_string()
        );
        tandem_config::parse(&text, "t.toml").unwrap()
    }

    fn kea_csv() -> String {
        let rows = [
            "2001:db8:1::1000,00:01:00:01:aa:bb:cc:dd:02:00:00:00:00:01,4000,1700003000,1,3000,0,1,128,0,0,,,0,,,",
            "2001:db8:8000::,00:01:00:01:aa:bb:cc:dd:02:00:00:00:00:01,4000,1700003000,1,3000,2,2,56,0,0,,,0,,,",
            "2001:db8:1::7,00:03:00:01:02:00:00:00:00:07,4000,1700003000,1,3000,0,1,128,0,0,,,0,,,",
            "2001:db8:7f00::,00:03:00:01:02:00:00:00:00:07,4000,1700003000,1,3000,2,1,56,0,0,,,0,,,",
            "2001:db8:1::1001,00,3600,1700002000,1,0,0,0,128,0,0,,,1,,,",
            "2001:db8:2::5,00:01:02,4000,1700003000,1,3000,0,1,128,0,0,,,0,,,",
            "2001:db8:8000:100::,00:01:02,4000,1700003000,1,3000,2,1,48,0,0,,,0,,,",
            "2001:db8:1::1002,00:01:02,4000,1700003000,1,3000,1,1,128,0,0,,,0,,,",
        ];
        format!(
            "{}\n{}\n",
            tandem_kea::KEA_2_2_COLUMNS.join(","),
            rows.join("\n")
        )
    }

    #[test]
    fn leases_in_pools_and_reservations_convert_and_the_rest_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let subnets = config(dir.path()).policy(Vec::new()).subnets;
        let kea = tandem_kea::parse_leases6(&kea_csv(), NOW).unwrap();
        let results: Vec<Result<Lease, String>> =
            kea.iter().map(|k| to_lease(&subnets, k)).collect();
        let ok: Vec<&Lease> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(ok.len(), 5, "{results:?}");
        let declined = ok.iter().find(|l| l.state == LeaseState::Declined).unwrap();
        assert!(declined.duid.is_empty());
        assert_eq!(declined.expires_at, 1_700_002_000);
        let first = ok
            .iter()
            .find(|l| l.resource == Resource::address("2001:db8:1::1000".parse().unwrap()))
            .unwrap();
        assert_eq!(
            (first.cltt, first.valid_s, first.preferred_s),
            (1_700_003_000 - 4000, 4000, 3000)
        );
        let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(errors.len(), 3);
        assert!(errors.iter().any(|e| e.contains("no address pool")));
        assert!(errors.iter().any(|e| e.contains("/48")));
        assert!(errors.iter().any(|e| e.contains("IA_TA")));
    }

    #[test]
    fn import_then_export_round_trips_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        let toml_path = dir.path().join("t.toml");
        // `config` parsed the same text; write it for the file-based commands.
        fs::write(
            &toml_path,
            format!(
                "[server]\ninterfaces = [\"eth1\"]\nworkers = 2\n[storage]\npath = {:?}\n\
                 [[subnet]]\nid = 1\nprefix = \"2001:db8:1::/64\"\ninterface = \"eth1\"\n\
                 pools = [\"2001:db8:1::1000-2001:db8:1::1fff\"]\n\
                 pd-pools = [{{ prefix = \"2001:db8:8000::/40\", delegated-length = 56 }}]\n\
                 [[subnet.reservation]]\nduid = \"00:03:00:01:02:00:00:00:00:07\"\n\
                 addresses = [\"2001:db8:1::7\"]\nprefixes = [\"2001:db8:7f00::/56\"]\n",
                dir.path().display().to_string()
            ),
        )
        .unwrap();
        assert_eq!(load_config(&toml_path).unwrap(), cfg);
        // Leases that expire far in the future, so the import (which reads the clock) keeps them.
        let far = worker::unix_now() + 100_000;
        let csv = kea_csv()
            .replace("1700003000", &far.to_string())
            .replace("1700002000", &far.to_string());
        let csv_path = dir.path().join("leases6.csv");
        fs::write(&csv_path, &csv).unwrap();
        import_leases(&toml_path, &csv_path).unwrap();
        let store = open_store(&cfg).unwrap();
        let (leases, _) = store.read_leases().unwrap();
        assert_eq!(leases.len(), 5);
        // Each client's leases sit in the shard the server gives it.
        let (shards, _, _) = store.load(2, &[], &[]).unwrap();
        for l in leases.iter().filter(|l| !l.duid.is_empty()) {
            let owner = tandem_ebpf_common::shard_of(&l.duid, 2) as usize;
            assert!(shards[owner].lease(&l.resource).is_some(), "{l:?}");
        }
        let exported: Vec<KeaLease> = leases.iter().filter_map(to_kea).collect();
        let text = tandem_kea::write_leases6(&exported);
        let back = tandem_kea::parse_leases6(&text, NOW).unwrap();
        let want = tandem_kea::parse_leases6(&csv, NOW).unwrap();
        let key = |k: &KeaLease| {
            (
                k.lease_type,
                k.address,
                k.prefix_len,
                k.duid.clone(),
                k.iaid,
                k.expire,
                k.valid_lifetime,
                k.pref_lifetime,
            )
        };
        let back: Vec<_> = back.iter().map(key).collect();
        let want: Vec<_> = want
            .iter()
            .filter(|k| to_lease(&cfg.policy(Vec::new()).subnets, k).is_ok())
            .map(key)
            .collect();
        assert_eq!(back, want);
    }

    #[test]
    fn a_running_tandemd_blocks_the_import() {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("tandemd.ready");
        refuse_if_running(dir.path()).unwrap();
        // Stale files from a crashed run: no such process, or a process that is not tandemd.
        fs::write(&ready, "999999999").unwrap();
        refuse_if_running(dir.path()).unwrap();
        fs::write(&ready, std::process::id().to_string()).unwrap();
        refuse_if_running(dir.path()).unwrap();
        // A live process called tandemd (sleep under that name) holds the store.
        let fake = dir.path().join("tandemd");
        fs::copy("/bin/sleep", &fake).unwrap();
        let mut child = std::process::Command::new(&fake).arg("30").spawn().unwrap();
        fs::write(&ready, child.id().to_string()).unwrap();
        let refused = refuse_if_running(dir.path());
        child.kill().unwrap();
        child.wait().unwrap();
        let e = refused.unwrap_err().to_string();
        assert!(e.contains("stop it first"), "{e}");
    }
}
