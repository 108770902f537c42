//! The invariants every run must keep (issue 3, simulator):
//! * **safety**: no address is held, unexpired, by two clients at once (RFC 7031 §5; R62);
//! * **MCLT**: outside PARTNER-DOWN no lifetime exceeds the RFC 8156 §4.4 bound (R29);
//! * **acknowledged means kept**: a lease a client was told about, or the partner acknowledged,
//!   is still in the store after a crash (R31);
//! * **convergence**: after the final heal, both stores hold the same active bindings.

use std::collections::HashMap;
use std::net::Ipv6Addr;

use tandem_engine::partner::fo_time;
use tandem_failover::{max_valid_lifetime_s, LifetimeInputs, ServerState};
use tandem_lease::{LeaseState, Resource, Shard};
use tandem_wire::{Message, OptionCode};

use crate::client::{Client, Held};
use crate::server::Server;

/// A broken invariant, with what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Two clients hold one address at the same time.
    DoubleBinding {
        addr: Ipv6Addr,
        clients: (usize, usize),
    },
    /// A lifetime beyond the MCLT bound.
    McltExceeded {
        server: usize,
        state: ServerState,
        valid_s: u64,
        bound_s: u64,
    },
    /// A server lost a lease a client holds from it.
    LostClientLease { server: usize, addr: Ipv6Addr },
    /// A server lost a binding it acknowledged to its partner.
    LostAckedBinding { server: usize, addr: Ipv6Addr },
    /// After the heal the stores disagree, or the pair is not in NORMAL.
    NotConverged(String),
}

/// A binding acknowledged as ACTIVE: its client and until when (Unix s).
pub type AckedActive = (Vec<u8>, u64);

/// Bindings each server acknowledged to its partner as ACTIVE, by address: (DUID, valid until
/// Unix s). A later acknowledged update for the address replaces or removes the entry.
#[derive(Debug, Default)]
pub struct Ledger {
    pub acked_by: [HashMap<(Ipv6Addr, u8), AckedActive>; 2],
    /// When each server was put into PARTNER-DOWN by the operator.
    pub partner_down_at: [Option<u64>; 2],
}

impl Ledger {
    pub fn partner_down(&mut self, server: usize, ms: u64) {
        self.partner_down_at[server] = Some(ms);
    }
}

/// Which server sent this reply (by its SERVERID).
pub fn reply_from(s: &Server, packet: &[u8]) -> bool {
    let Ok(m) = Message::new_checked(packet) else {
        return false;
    };
    m.options().find(OptionCode::ServerId) == Some(s.server_duid())
}

/// A client was just granted or extended `h` by `s`, which was in `state` when it answered: the
/// lifetime respects that state's MCLT bound (R29), computed from `s`'s own lease record and
/// the relationship's MCLT.
pub fn grant(
    s: &Server,
    state: ServerState,
    h: &Held,
    ms: u64,
    mclt_s: u32,
) -> Result<(), Violation> {
    let valid_s = h.expires_ms.saturating_sub(ms) / 1000;
    let Some(bound_s) = lifetime_bound(&s.shard, h.addr, state, mclt_s, s.unix(ms)) else {
        return Ok(());
    };
    if valid_s > u64::from(bound_s) + 1 {
        return Err(Violation::McltExceeded {
            server: s.id,
            state,
            valid_s,
            bound_s: u64::from(bound_s),
        });
    }
    Ok(())
}

/// Checked after every event.
pub fn always(
    servers: &[Server; 2],
    clients: &[Client],
    ledger: &Ledger,
    ms: u64,
    _mclt_s: u32,
) -> Result<(), Violation> {
    let mut prefixes: HashMap<(Ipv6Addr, u8), usize> = HashMap::new();
    for (i, c) in clients.iter().enumerate() {
        if let Some(p) = c.holding_pd(ms) {
            if let Some(&j) = prefixes.get(&p) {
                return Err(Violation::DoubleBinding {
                    addr: p.0,
                    clients: (j, i),
                });
            }
            prefixes.insert(p, i);
        }
    }
    let mut holders: HashMap<Ipv6Addr, usize> = HashMap::new();
    for (i, c) in clients.iter().enumerate() {
        if let Some(h) = c.holding(ms) {
            if let Some(&j) = holders.get(&h.addr) {
                return Err(Violation::DoubleBinding {
                    addr: h.addr,
                    clients: (j, i),
                });
            }
            holders.insert(h.addr, i);
        }
    }
    for (i, s) in servers.iter().enumerate() {
        if !s.alive {
            continue;
        }
        let now = s.unix(ms);
        for (&(addr, len), (_duid, until)) in &ledger.acked_by[i] {
            let r = if len == 128 {
                Resource::address(addr)
            } else {
                Resource::prefix(addr, len)
            };
            if *until > now + 5 && s.shard.lease(&r).is_none() {
                return Err(Violation::LostAckedBinding { server: i, addr });
            }
        }
    }
    Ok(())
}

/// After a restart: every lease a client holds from this server is in its store, unless the
/// storage was wiped on purpose (then the partner's UPDREQALL must bring it back).
pub fn survived_restart(s: &Server, clients: &[Client], ms: u64) -> Result<(), Violation> {
    if s.journal.is_empty() && s.stored.is_none() {
        return Ok(()); // wiped
    }
    for c in clients {
        if let Some(h) = c.holding(ms) {
            if h.server == s.id && !bound_to(&s.shard, h.addr, &c.duid) {
                return Err(Violation::LostClientLease {
                    server: s.id,
                    addr: h.addr,
                });
            }
        }
    }
    Ok(())
}

/// At the end: both in NORMAL, and every active binding of one is the other's too.
pub fn converged(servers: &[Server; 2], ms: u64) -> Result<(), Violation> {
    for s in servers {
        let (state, _) = s.rel.state();
        if state != ServerState::Normal {
            return Err(Violation::NotConverged(format!(
                "server {} in {state} at the end",
                s.id
            )));
        }
    }
    let now = servers[0].unix(ms);
    // An update still on its way (a client released a moment ago) is not a disagreement; one
    // that has been waiting for more than a minute after the heal is stuck.
    for s in servers {
        if let Some(l) = s
            .shard
            .tell_partner_leases()
            .find(|l| l.cltt.max(l.fo.start_time_of_state) + 60 < s.unix(ms))
        {
            return Err(Violation::NotConverged(format!(
                "server {}: the update for {} has waited since {}",
                s.id,
                l.resource.addr,
                l.cltt.max(l.fo.start_time_of_state)
            )));
        }
    }
    let in_flight: std::collections::HashSet<Ipv6Addr> = servers
        .iter()
        .flat_map(|s| s.shard.tell_partner_leases().map(|l| l.resource.addr))
        .collect();
    let settled = |m: HashMap<Ipv6Addr, Vec<u8>>| -> HashMap<Ipv6Addr, Vec<u8>> {
        m.into_iter()
            .filter(|(a, _)| !in_flight.contains(a))
            .collect()
    };
    let a = settled(active_bindings(&servers[0].shard, now));
    let b = settled(active_bindings(&servers[1].shard, now));
    for (addr, duid) in &a {
        match b.get(addr) {
            Some(d) if d == duid => {}
            other => {
                return Err(Violation::NotConverged(format!(
                    "{addr}: primary has {duid:02x?}, secondary {other:02x?}"
                )))
            }
        }
    }
    for addr in b.keys() {
        if !a.contains_key(addr) {
            return Err(Violation::NotConverged(format!(
                "{addr}: only the secondary has it"
            )));
        }
    }
    Ok(())
}

/// The largest valid lifetime `state` allows for the lease of `addr`, from the lease's own
/// acked-partner-lifetime and expiration-time (RFC 8156 §4.4, §7.3; R29); `None` when the
/// state has no cap (PARTNER-DOWN) or the lease is unknown.
fn lifetime_bound(
    shard: &Shard,
    addr: Ipv6Addr,
    state: ServerState,
    mclt_s: u32,
    now: u64,
) -> Option<u32> {
    let l = shard.lease(&Resource::address(addr))?;
    if !state.mclt_cap_applies() {
        return None;
    }
    let inputs = LifetimeInputs {
        now: fo_time(now)?,
        mclt_s,
        desired_s: u32::MAX,
        acked_partner_lifetime: fo_time(l.fo.acked_partner_lifetime),
        expiration_time: fo_time(l.fo.expiration_time),
    };
    max_valid_lifetime_s(state, &inputs)
}

/// Is `addr` bound (ACTIVE) to `duid` in this store?
fn bound_to(shard: &Shard, addr: Ipv6Addr, duid: &[u8]) -> bool {
    shard
        .lease(&Resource::address(addr))
        .is_some_and(|l| l.state == LeaseState::Bound && &*l.duid == duid)
}

/// ACTIVE, unexpired bindings by address, ignoring those within 10 s of expiry (the two
/// servers' clocks differ by up to 4 s).
fn active_bindings(shard: &Shard, now: u64) -> HashMap<Ipv6Addr, Vec<u8>> {
    shard
        .leases()
        .filter(|l| l.state == LeaseState::Bound && l.expires_at > now + 10)
        .map(|l| (l.resource.addr, l.duid.to_vec()))
        .collect()
}
