//! A generator: the workers and their sockets, driven step by step.

use std::net::SocketAddrV6;
use std::time::Instant;

use crate::net::{self, Socket, Steer};
use crate::report::StepReport;
use crate::stats::{Counters, Latencies, ServerTable};
use crate::worker::{Plan, StepTiming, Worker};

/// Where the generator sends from and to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// Local address and port the sockets bind (546 direct, 547 relayed).
    pub bind: SocketAddrV6,
    /// Destination (`ff02::1:2%iface` port 547, or the server's unicast address).
    pub dest: SocketAddrV6,
    /// Interface for multicast sends (direct attachment).
    pub multicast_if: Option<u32>,
}

/// Workers with their sockets and client tables, kept across steps.
#[derive(Debug)]
pub struct Generator {
    plan: Plan,
    workers: Vec<Worker>,
    sockets: Vec<Socket>,
}

impl Generator {
    /// `threads` (a power of two) workers for `plan`, bound as `ends` says.
    pub fn new(plan: Plan, threads: u32, ends: Endpoints, seed: u64) -> std::io::Result<Self> {
        let steer = if plan.relay.is_some() {
            Steer::PeerLowByte
        } else {
            Steer::XidLowByte
        };
        let sockets = net::open_group(threads as usize, ends.bind, ends.multicast_if, steer)?;
        let workers = (0..threads)
            .map(|id| Worker::new(id, threads, &plan, ends.dest, seed))
            .collect();
        Ok(Self {
            plan,
            workers,
            sockets,
        })
    }

    /// One step at `rate` transactions/s for `seconds`, answers awaited `wait_ms`.
    pub fn step(&mut self, rate: f64, seconds: f64, wait_ms: u64) -> StepReport {
        let threads = self.workers.len().max(1);
        let timing = StepTiming {
            rate_per_s: rate / threads as f64,
            send_ns: (seconds * 1e9) as u64,
            wait_ns: wait_ms * 1_000_000,
        };
        let epoch = Instant::now();
        let plan = &self.plan;
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .workers
                .iter_mut()
                .zip(&self.sockets)
                .enumerate()
                .map(|(i, (w, sock))| {
                    std::thread::Builder::new()
                        .name(format!("bench-w{i}"))
                        .spawn_scoped(s, move || w.run_step(sock, plan, timing, epoch))
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.ok().and_then(|h| h.join().ok()))
                .collect()
        });
        let mut counters = Counters::default();
        let mut latencies = Latencies::new();
        let mut servers = ServerTable::default();
        let mut send_s: f64 = 0.0;
        let mut bound_clients = 0;
        for r in &results {
            counters.merge(&r.counters);
            latencies.merge(&r.latencies);
            servers.merge(&r.servers);
            send_s = send_s.max(r.send_s);
            bound_clients += r.bound_clients;
        }
        StepReport::new(rate, send_s, &counters, &latencies, &servers, bound_clients)
    }
}
