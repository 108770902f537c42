//! One simulated client's transaction state, kept in a table allocated once per worker.

use std::net::Ipv6Addr;

use crate::stats::Kind;

/// What the client waits for (RFC 8415 §18.2 client behaviour, without retransmission: a
/// transaction that gets no answer within the wait is counted lost and ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// No transaction in flight.
    Idle,
    /// Sent Solicit, waits for Advertise (RFC 8415 §18.2.1).
    Soliciting,
    /// Sent Solicit with Rapid Commit, waits for Reply (RFC 8415 §18.2.1, §21.14).
    RapidSoliciting,
    /// Sent Request, waits for Reply (RFC 8415 §18.2.2).
    Requesting,
    /// Sent Renew, waits for Reply (RFC 8415 §18.2.4).
    Renewing,
    /// Sent Release, waits for Reply (RFC 8415 §18.2.7).
    Releasing,
}

impl Phase {
    /// The exchange whose answer this phase waits for (`None` when idle).
    pub fn kind(self) -> Option<Kind> {
        match self {
            Self::Idle => None,
            Self::Soliciting => Some(Kind::SolicitAdvertise),
            Self::RapidSoliciting => Some(Kind::RapidCommit),
            Self::Requesting => Some(Kind::RequestReply),
            Self::Renewing => Some(Kind::RenewReply),
            Self::Releasing => Some(Kind::ReleaseReply),
        }
    }
}

/// Index into a worker's table of servers seen (by Server ID); [`NO_SERVER`] when none.
pub type ServerSlot = u8;

/// No server chosen yet.
pub const NO_SERVER: ServerSlot = u8::MAX;

/// One client's state: what it waits for, since when, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// What the client waits for.
    pub phase: Phase,
    /// Transaction counter; its low bits go into the xid.
    pub generation: u32,
    /// When the outstanding message was sent (ns since the run's epoch).
    pub sent_ns: u64,
    /// The server that advertised or granted the leases below.
    pub server: ServerSlot,
    /// Whether the client holds the leases below (a Reply to Request/Rapid Commit granted them).
    pub bound: bool,
    /// Whether the client's last Solicit got the Advertise it took: a further Advertise for
    /// that Solicit is another server's (two servers on the link, or a failover pair whose
    /// partners both answer; RFC 8415 §18.2.1) and is ignored.
    pub advertised: bool,
    /// The address advertised or leased (IA_NA), if any.
    pub addr: Option<Ipv6Addr>,
    /// The prefix advertised or delegated (IA_PD), if any.
    pub prefix: Option<(Ipv6Addr, u8)>,
}

impl Client {
    /// A client that has never talked to a server.
    pub const NEW: Self = Self {
        phase: Phase::Idle,
        generation: 0,
        sent_ns: 0,
        server: NO_SERVER,
        bound: false,
        advertised: false,
        addr: None,
        prefix: None,
    };

    /// Forgets every lease (after a Release, or a NoBinding answer).
    pub fn unbind(&mut self) {
        self.bound = false;
        self.addr = None;
        self.prefix = None;
        self.server = NO_SERVER;
    }
}

/// The clients one worker owns: client `index` belongs to worker `index % workers` and sits
/// at `index / workers` in that worker's table.
#[derive(Debug)]
pub struct ClientTable {
    worker: u32,
    workers: u32,
    clients: Vec<Client>,
}

impl ClientTable {
    /// Worker `worker`'s share of `population` clients among `workers` workers.
    pub fn new(worker: u32, workers: u32, population: u32) -> Self {
        let workers = workers.max(1);
        let count = population / workers + u32::from(worker < population % workers);
        Self {
            worker,
            workers,
            clients: vec![Client::NEW; count as usize],
        }
    }

    /// Number of clients in this table.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether the table holds no client.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Global client index of table slot `slot`.
    pub fn index_of(&self, slot: usize) -> u32 {
        slot as u32 * self.workers + self.worker
    }

    /// Table slot of global client `index`, if this worker owns it.
    pub fn slot_of(&self, index: u32) -> Option<usize> {
        if index % self.workers != self.worker {
            return None;
        }
        let slot = (index / self.workers) as usize;
        (slot < self.clients.len()).then_some(slot)
    }

    /// The client in `slot`.
    pub fn get_mut(&mut self, slot: usize) -> Option<&mut Client> {
        self.clients.get_mut(slot)
    }

    /// The client in `slot`.
    pub fn get(&self, slot: usize) -> Option<&Client> {
        self.clients.get(slot)
    }

    /// How many clients hold leases.
    pub fn bound_count(&self) -> usize {
        self.clients.iter().filter(|c| c.bound).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_partition_the_population() {
        let workers = 4;
        let tables: Vec<_> = (0..workers)
            .map(|w| ClientTable::new(w, workers, 1003))
            .collect();
        assert_eq!(tables.iter().map(ClientTable::len).sum::<usize>(), 1003);
        for index in 0..1003u32 {
            let owners: Vec<_> = tables
                .iter()
                .filter_map(|t| t.slot_of(index).map(|s| (t.worker, s)))
                .collect();
            assert_eq!(owners.len(), 1, "client {index}");
            let (w, slot) = owners[0];
            assert_eq!(w, index % workers);
            assert_eq!(tables[w as usize].index_of(slot), index);
        }
        assert_eq!(tables[0].slot_of(1004), None);
        assert_eq!(tables[3].slot_of(1003), None, "past the end");
    }

    #[test]
    fn unbind_forgets_leases() {
        let mut c = Client::NEW;
        c.bound = true;
        c.server = 1;
        c.addr = Some(Ipv6Addr::LOCALHOST);
        c.unbind();
        assert_eq!(c, Client::NEW);
        assert_eq!(Phase::Renewing.kind(), Some(Kind::RenewReply));
        assert_eq!(Phase::Idle.kind(), None);
    }
}
