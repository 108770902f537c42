//! One simulated run: two servers, the partner link, the client link, clients and the fault
//! schedule, advanced event by event on a simulated clock. After every event the invariants of
//! [`crate::check`] run; at the end every fault is healed and the stores must converge.

use std::net::{Ipv6Addr, SocketAddrV6};

use tandem_engine::policy::{
    AddressRange, ClientOptions, Lifetimes, Policy, PrefixPool, Subnet, SubnetId,
};
use tandem_failover::{Config, Millis, RelationshipConfig, Role, ServerState};

use crate::check::{self, Ledger, Violation};
use crate::client::Client;
use crate::faults::{self, CrashPoint, Fault, Intensity};
use crate::link::{Arrival, Link};
use crate::rng::Rng;
use crate::server::{Crashed, Server};

/// A bug planted on purpose, to show the checks catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plant {
    /// The engine grants full lifetimes regardless of the MCLT (RFC 8156 §4.4 ignored).
    IgnoreMclt,
}

/// What one run does.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// Simulated duration before the final heal.
    pub duration_ms: u64,
    pub clients: u16,
    pub mclt_s: u32,
    pub intensity: Intensity,
    pub plant: Option<Plant>,
    /// Skip the per-grant MCLT check, so only end-to-end safety (no address held by two
    /// clients) and durability judge the run.
    pub safety_only: bool,
}

impl Options {
    /// The CI profile: 2 simulated hours, 24 clients on a 32-address pool, MCLT 60 s.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            duration_ms: 2 * 3_600_000,
            clients: 24,
            mclt_s: 60,
            intensity: Intensity::default(),
            plant: None,
            safety_only: false,
        }
    }
}

/// What a run saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub seed: u64,
    pub events: u64,
    pub faults: usize,
    pub grants: u64,
    pub crashes: u64,
    pub partitions: u64,
    /// Prefixes the secondary delegated from its FREE-BACKUP share (RFC 8156 §4.2.2).
    pub backup_delegations: u64,
    /// The first violation, if any, with the simulated time it was seen.
    pub violation: Option<(u64, Violation)>,
    /// Short log of what happened, for replaying a seed.
    pub log: Vec<String>,
}

/// A packet on the client link, in flight.
#[derive(Debug, Clone)]
struct Datagram {
    at_ms: u64,
    /// To a server (Some) or to a client (None, then `client` names it).
    server: Option<usize>,
    client: usize,
    packet: Vec<u8>,
    src: SocketAddrV6,
    dst: Ipv6Addr,
    /// For a reply: the sending server's state when it answered.
    state: Option<ServerState>,
}

/// The policy both servers run: one directly attached subnet with a 32-address pool and 16
/// delegable /56s (the primary's until PARTNER-DOWN and the MCLT let the secondary use them),
/// Rapid Commit, valid 300 s (T1 100 s, T2 200 s).
pub fn policy(server_duid: Vec<u8>) -> Policy {
    let a = |s: &str| s.parse::<Ipv6Addr>().expect("literal");
    Policy {
        server_duid,
        subnets: vec![Subnet {
            id: SubnetId(1),
            prefix: a("2001:db8:1::"),
            prefix_len: 64,
            interface: Some("lan0".into()),
            ranges: vec![AddressRange {
                first: a("2001:db8:1::100"),
                last: a("2001:db8:1::11f"),
            }],
            pd_pools: vec![PrefixPool {
                prefix: a("2001:db8:ff00::"),
                prefix_len: 52,
                delegated_len: 56,
            }],
            reservations: vec![],
            lifetimes: Lifetimes {
                preferred_s: 200,
                valid_s: 300,
                t1_s: Some(100),
                t2_s: Some(200),
            },
            pd_lifetimes: None,
            rapid_commit: true,
            options: ClientOptions::default(),
        }],
        decline_hold_s: 600,
        options: ClientOptions::default(),
    }
}

fn rel_config(role: Role, mclt_s: u32) -> RelationshipConfig {
    let mut c = Config::new(role, b"sim");
    c.mclt_s = mclt_s;
    c.max_unacked_bndupd = 8;
    c.keepalive_time_s = 20;
    c.contact_interval = Millis(5_000);
    c.reconnect_cap = Millis(8_000);
    let mut r = RelationshipConfig::new(c);
    r.startup_timer = Millis(5_000);
    r.update_request_timeout = Millis(30_000);
    r.lazy_pass_interval = Millis(10_000);
    r
}

/// Runs one seed (module doc).
pub fn run(o: &Options) -> Report {
    let mut rng = Rng::new(o.seed);
    let mut report = Report {
        seed: o.seed,
        ..Report::default()
    };
    let skews = faults::skews(&mut rng);
    let mut servers = [0usize, 1].map(|i| {
        let role = if i == 0 {
            Role::Primary
        } else {
            Role::Secondary
        };
        let duid = vec![0, 4, 0x5a, 0x5a, i as u8];
        let mut s = Server::new(i, rel_config(role, o.mclt_s), policy(duid), skews[i], 0);
        s.plant = o.plant;
        s
    });
    let mut link = Link::default();
    let mut clients: Vec<Client> = (0..o.clients)
        .map(|n| Client::new(n + 1, rng.range(1_000, 60_000)))
        .collect();
    let mut air: Vec<Datagram> = Vec::new();
    let mclt_ms = u64::from(o.mclt_s) * 1000;
    let schedule = faults::schedule(&mut rng, o.duration_ms, mclt_ms, o.intensity);
    report.faults = schedule.len();
    let mut next_fault = 0;
    let mut heal_at: Option<u64> = None;
    let mut restart_at: [Option<(u64, bool)>; 2] = [None, None];
    let mut ledger = Ledger::default();
    let mut next_tick = 5_000;
    let end_ms = o.duration_ms + 20 * mclt_ms;
    let mut ms = 0u64;
    let mut healed = false;

    while ms < end_ms {
        report.events += 1;
        // The final heal: no more faults; everything restarts and reconnects.
        if !healed && ms >= o.duration_ms {
            healed = true;
            link.cut = false;
            heal_at = None;
            for (i, s) in servers.iter_mut().enumerate() {
                if !s.alive {
                    s.restart(ms, false);
                    restart_at[i] = None;
                }
                s.crash_at = None;
                // An operator ends any PARTNER-DOWN both sides entered: the pair must resolve.
            }
            report.log.push(format!("{ms}: final heal"));
        }
        // Faults.
        while !healed && next_fault < schedule.len() && schedule[next_fault].0 <= ms {
            let (_, f) = schedule[next_fault];
            next_fault += 1;
            report.log.push(format!("{ms}: {f:?}"));
            match f {
                Fault::Partition { ms: d } if !link.cut => {
                    link.cut = true;
                    heal_at = Some(ms + d);
                    report.partitions += 1;
                }
                Fault::Crash {
                    server,
                    point,
                    down_ms,
                    wipe,
                } if servers[server].alive => {
                    // Losing the storage is survivable only while the partner holds a full
                    // copy: alive and in NORMAL (two lost disks lose everything; out of scope).
                    let other = &servers[1 - server];
                    let wipe = wipe && other.alive && other.rel.state().0 == ServerState::Normal;
                    restart_at[server] = Some((ms + down_ms, wipe));
                    match point {
                        CrashPoint::Idle => {
                            servers[server].crash(ms, &mut link);
                            report.crashes += 1;
                        }
                        p => servers[server].crash_at = Some(p),
                    }
                }
                // The operator declares the partner down only when it really is (RFC 8156 §8:
                // a server in PARTNER-DOWN asserts its partner is not operating).
                Fault::PartnerDown { server }
                    if servers[server].alive && !servers[1 - server].alive =>
                {
                    let state = servers[server].rel.state().0;
                    if state == ServerState::CommunicationsInterrupted {
                        let now = servers[server].now(ms);
                        servers[server].rel.handle_partner_down(now);
                        ledger.partner_down(server, ms);
                    }
                }
                _ => {}
            }
        }
        if heal_at.is_some_and(|t| t <= ms) {
            link.cut = false;
            heal_at = None;
            report.log.push(format!("{ms}: partition healed"));
        }
        for i in 0..2 {
            // Nor does the operator bring a server back while its partner is in PARTNER-DOWN
            // and cannot reach it: it would serve (COMMUNICATIONS-INTERRUPTED after STARTUP)
            // beside a partner that believes it down.
            let other = &servers[1 - i];
            let blocked =
                other.alive && link.cut && other.rel.state().0 == ServerState::PartnerDown;
            if let Some((at, wipe)) = restart_at[i] {
                if at <= ms && blocked {
                    restart_at[i] = Some((ms + 5_000, wipe));
                } else if at <= ms {
                    if servers[i].alive {
                        // An armed crash that never struck: strike now.
                        servers[i].crash(ms, &mut link);
                        report.crashes += 1;
                    }
                    servers[i].restart(ms, wipe);
                    if wipe {
                        // Lost on purpose: the partner's UPDREQALL answer must bring it back
                        // (checked by convergence at the end).
                        ledger.acked_by[i].clear();
                    }
                    restart_at[i] = None;
                    report
                        .log
                        .push(format!("{ms}: server {i} restarted (wipe {wipe})"));
                    if let Err(v) = check::survived_restart(&servers[i], &clients, ms) {
                        report.violation = Some((ms, v));
                        return report;
                    }
                }
            }
        }
        // The partner link.
        for (to, a) in link.due(ms) {
            if !servers[to].alive {
                continue;
            }
            if let Arrival::Connected { conn } = a {
                if !servers[1].alive || !servers[1].accept(ms, conn) {
                    link.close(ms, 1, conn);
                }
            }
            servers[to].on_link(ms, a);
        }
        // The client link.
        let mut due = Vec::new();
        air.retain(|d| {
            if d.at_ms <= ms {
                due.push(d.clone());
                false
            } else {
                true
            }
        });
        for d in due {
            match d.server {
                Some(i) if servers[i].alive => {
                    match servers[i].on_client(ms, d.src, d.dst, &d.packet) {
                        Ok(Some(reply)) => {
                            if !rng.chance(o.intensity.loss_percent) {
                                air.push(Datagram {
                                    at_ms: ms + rng.range(1, 40),
                                    server: None,
                                    client: d.client,
                                    packet: reply,
                                    src: d.src,
                                    dst: d.dst,
                                    state: Some(servers[i].rel.state().0),
                                });
                            }
                        }
                        Ok(None) => {}
                        Err(Crashed) => {
                            servers[i].crash(ms, &mut link);
                            report.crashes += 1;
                        }
                    }
                }
                Some(_) => {}
                None => {
                    let before = clients[d.client].held.clone();
                    let from = servers
                        .iter()
                        .position(|s| check::reply_from(s, &d.packet))
                        .unwrap_or(0);
                    clients[d.client].on_reply(ms, from, &d.packet, &mut rng);
                    if let Some(h) = &clients[d.client].held {
                        if before.as_ref() != Some(h) {
                            report.grants += 1;
                            let st = d.state.unwrap_or(ServerState::Normal);
                            report.log.push(format!(
                                "{ms}: client {} holds {} from server {from} ({st}) for {} s",
                                d.client,
                                h.addr,
                                (h.expires_ms - ms) / 1000
                            ));
                            let checked = if o.safety_only {
                                Ok(())
                            } else {
                                check::grant(&servers[from], st, h, ms, o.mclt_s)
                            };
                            if let Err(v) = checked {
                                report.violation = Some((ms, v));
                                return report;
                            }
                        }
                    }
                }
            }
        }
        for (c, client) in clients.iter_mut().enumerate() {
            if let Some(out) = client.tick(ms, &mut rng) {
                for server in 0..2 {
                    if rng.chance(o.intensity.loss_percent) {
                        continue;
                    }
                    let copies = if rng.chance(o.intensity.dup_percent) {
                        2
                    } else {
                        1
                    };
                    for _ in 0..copies {
                        let delay = if rng.chance(o.intensity.reorder_percent) {
                            rng.range(50, 1_500)
                        } else {
                            rng.range(1, 30)
                        };
                        air.push(Datagram {
                            at_ms: ms + delay,
                            server: Some(server),
                            client: c,
                            packet: out.packet.clone(),
                            src: out.src,
                            dst: out.dst,
                            state: None,
                        });
                    }
                }
            }
        }
        // Servers: timers, relationship output, periodic work.
        for i in 0..2 {
            if !servers[i].alive {
                continue;
            }
            let tick = ms >= next_tick;
            let result = servers[i].drive(ms, &mut link, &mut rng).and_then(|dial| {
                if dial {
                    let up = servers_alive(&servers, 1);
                    link.dial(ms, up, &mut rng);
                }
                if tick {
                    servers[i].tick(ms)?;
                }
                Ok(())
            });
            if result.is_err() {
                servers[i].crash(ms, &mut link);
                report.crashes += 1;
            }
        }
        for s in &mut servers {
            s.take_acks(&mut ledger, ms);
        }
        if ms >= next_tick {
            next_tick = ms + 5_000;
        }
        if let Err(v) = check::always(&servers, &clients, &ledger, ms, o.mclt_s) {
            report.violation = Some((ms, v));
            return report;
        }
        // Next event.
        let mut next = next_tick;
        let mut consider = |t: Option<u64>| {
            if let Some(t) = t {
                next = next.min(t.max(ms + 1));
            }
        };
        consider(air.iter().map(|d| d.at_ms).min());
        consider(link.next_at());
        consider(clients.iter().map(|c| c.next_ms).min());
        for s in &servers {
            if s.alive {
                consider(s.rel.poll_timeout().map(|m| m.0));
            }
        }
        consider(schedule.get(next_fault).map(|(t, _)| *t));
        consider(heal_at);
        for r in restart_at.iter().flatten() {
            consider(Some(r.0));
        }
        if !healed {
            consider(Some(o.duration_ms));
        }
        ms = next.max(ms + 1);
    }
    if let Err(v) = check::converged(&servers, ms) {
        report.violation = Some((ms, v));
    }
    report.backup_delegations = servers
        .iter()
        .filter(|s| s.role == Role::Secondary)
        .map(Server::delegated_from_share)
        .sum();
    report
}

fn servers_alive(servers: &[Server; 2], i: usize) -> bool {
    servers[i].alive
}
