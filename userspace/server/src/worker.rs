//! One worker: its own socket, its own io_uring ring, its own shard and journal.
//!
//! Each loop iteration waits for completions (at most until the next tick), handles every
//! received datagram, hands packets of clients it does not own to their owner over a bounded
//! queue, starts the next group-commit write when none is in flight, and submits the replies
//! whose batch is stable. A reply that commits nothing (an Advertise) and changed nothing goes
//! out at once. Nothing here takes a lock; the per-packet path touches no atomic
//! except the bounded queues of handoffs.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use io_uring::{opcode, squeue, types, IoUring};
use tandem_engine::{client_duid, Engine, RxMeta};
use tandem_lease::{journal, Shard};
use tracing::{debug, error, info, warn};

pub(crate) mod admin;
mod partner;
pub(crate) mod reconfigure;
mod recv_ring;

use partner::Held;
pub(crate) use partner::{engine_view, WorkerFo};
use recv_ring::RecvRing;

use crate::datagram::SendSlot;
use crate::group_commit::GroupCommit;
use crate::stats::{self, Local, ServerDrop, Shared};
use crate::store::JournalFile;

/// Receives kept armed at once per worker.
/// Maintenance period: expiry reclamation, counters, compaction checks.
const TICK: Duration = Duration::from_millis(250);
/// Wait before rewriting a batch whose write or sync failed (disk full, I/O error).
const JOURNAL_RETRY: Duration = Duration::from_millis(100);
/// A drain slower than this is logged with what it still waits for.
const DRAIN_REPORT_AFTER: Duration = Duration::from_secs(2);

/// How long shutdown keeps retrying a journal the disk refuses.
const SHUTDOWN_WRITE_GRACE: Duration = Duration::from_secs(5);
/// Compact a journal once it is this large and larger than a fresh snapshot would be.
const COMPACT_JOURNAL_BYTES: u64 = 64 << 20;

const KIND_RECV: u64 = 1;
const KIND_SEND: u64 = 2;
const KIND_WAKE: u64 = 3;
const KIND_JWRITE: u64 = 4;
const KIND_JSYNC: u64 = 5;
const KIND_CANCEL: u64 = 6;
/// The index of a [`KIND_CANCEL`] completion: which armed operation it ends.
const CANCEL_RECV: usize = 0;
const CANCEL_WAKE: usize = 1;

fn user_data(kind: u64, index: usize) -> u64 {
    kind << 32 | index as u64
}

/// A packet received by one worker for a client another worker owns.
pub(crate) struct Handoff {
    pub(crate) packet: Vec<u8>,
    pub(crate) rx: RxMeta,
}

/// How to reach another worker: its queue and its wake-up eventfd.
#[derive(Clone)]
pub(crate) struct Peer {
    pub(crate) tx: Sender<Handoff>,
    pub(crate) wake: Arc<OwnedFd>,
}

/// Everything a worker thread is started with.
pub(crate) struct Setup {
    pub(crate) id: u32,
    pub(crate) engine: Engine,
    pub(crate) shard: Shard,
    pub(crate) journal: JournalFile,
    pub(crate) socket: OwnedFd,
    pub(crate) inbox: Receiver<Handoff>,
    pub(crate) peers: Vec<Peer>,
    pub(crate) stats: Arc<Shared>,
    pub(crate) shutdown: Arc<AtomicBool>,
    /// Failover: the control thread's queues and the relationships' view; `None` standalone.
    pub(crate) fo: Option<WorkerFo>,
    /// The CPU to run on (XDP redirects this worker's shard there); `None`: anywhere.
    pub(crate) cpu: Option<usize>,
    /// Lease queries and deletions from the control API ([`admin`]).
    pub(crate) admin: Receiver<admin::Request>,
    /// New configurations from a live reload ([`reconfigure`]).
    pub(crate) reconfigure: Receiver<reconfigure::Request>,
}

/// Wake a worker blocked in its ring (eventfd write; the worker polls it through the ring).
pub(crate) fn wake(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an eventfd we own.
    let _ = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

pub(crate) fn new_eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the result is checked and owned below.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

/// Run a worker until shutdown; pending journal batches are flushed before it returns.
pub(crate) fn run(setup: Setup) -> io::Result<()> {
    let id = setup.id;
    if let Some(cpu) = setup.cpu {
        match crate::datapath::pin_current_thread(cpu) {
            Ok(()) => debug!(worker = id, cpu, "pinned"),
            Err(e) => warn!(worker = id, cpu, error = %e, "could not pin the worker to its CPU"),
        }
    }
    let ring = new_ring()?;
    let recv = RecvRing::new(&ring.submitter())?;
    let mut worker = Worker::new(ring, recv, setup);
    let result = worker.run();
    if let Err(e) = &result {
        error!(worker = id, error = %e, "worker stopped on an error");
    }
    result
}

/// The worker's ring. Only this thread submits (`SINGLE_ISSUER`), and completion work runs
/// when the worker asks for completions, not as an interrupt of whatever it is doing
/// (`DEFER_TASKRUN`, Linux 6.1): fewer wake-ups per packet. Older kernels get a plain ring.
fn new_ring() -> io::Result<IoUring> {
    let deferred = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(1024);
    match deferred {
        Ok(ring) => Ok(ring),
        Err(e) => {
            debug!(error = %e, "io_uring without DEFER_TASKRUN");
            IoUring::new(1024)
        }
    }
}

// Field order matters: the ring is dropped first, so no kernel operation can outlive a buffer.
struct Worker {
    ring: IoUring,
    /// The multishot receive's buffers (after `ring`: dropped once the kernel is done).
    recv: RecvRing,
    recv_armed: usize,
    wake_armed: bool,
    /// A cancellation of the receive ([`CANCEL_RECV`]) or the wake-up poll ([`CANCEL_WAKE`])
    /// has been submitted and has not completed.
    cancelling: [bool; 2],
    draining: bool,
    socket: OwnedFd,
    wake_fd: Arc<OwnedFd>,
    inbox: Receiver<Handoff>,
    shutdown: Arc<AtomicBool>,
    ctx: Ctx,
    completions: Vec<(u64, i32, u32)>,
}

/// The parts of a worker that the packet path mutates, apart from the ring and receive slots.
struct Ctx {
    id: u32,
    socket_fd: i32,
    count: u32,
    engine: Engine,
    shard: Shard,
    out: Vec<u8>,
    #[allow(
        clippy::vec_box,
        reason = "the kernel holds pointers into slots while the Vec grows"
    )]
    sends: Vec<Box<SendSlot>>,
    free_sends: Vec<usize>,
    sends_in_flight: usize,
    to_send: Vec<usize>,
    journal: JournalFile,
    gc: GroupCommit<Held>,
    fo: Option<WorkerFo>,
    /// Updates the control queue refused: ask for a collection of the flagged bindings.
    fo_resync: bool,
    /// A prefix rebalancing cut short by its per-pass cap: relationship and target, run again
    /// on the next tick.
    fo_rebalance: Option<(usize, tandem_lease::ShareTarget)>,
    /// Clients to tell the partner about, gathered while recording changes (kept for reuse).
    tells: Vec<Held>,
    write_ok: Option<bool>,
    sync_started: Instant,
    /// After a failed batch, no rewrite before this instant.
    retry_at: Option<Instant>,
    peers: Vec<Peer>,
    peer_dirty: Vec<bool>,
    stats: Local,
    shared: Arc<Shared>,
    /// The control API's requests ([`admin`]).
    admin: Receiver<admin::Request>,
    /// A live reload's new configuration ([`reconfigure`]).
    reconfigure: Receiver<reconfigure::Request>,
}

impl Worker {
    fn new(ring: IoUring, recv: RecvRing, s: Setup) -> Self {
        let count = s.peers.len() as u32;
        let wake_fd = s.peers[s.id as usize].wake.clone();
        let socket_fd = s.socket.as_raw_fd();
        Self {
            ring,
            recv,
            recv_armed: 0,
            wake_armed: false,
            cancelling: [false; 2],
            draining: false,
            socket: s.socket,
            wake_fd,
            inbox: s.inbox,
            shutdown: s.shutdown,
            ctx: Ctx {
                id: s.id,
                socket_fd,
                count,
                engine: s.engine,
                shard: s.shard,
                out: vec![0u8; tandem_engine::REPLY_LEN_MAX],
                sends: Vec::new(),
                free_sends: Vec::new(),
                sends_in_flight: 0,
                to_send: Vec::new(),
                journal: s.journal,
                gc: GroupCommit::new(),
                fo: s.fo,
                fo_resync: false,
                fo_rebalance: None,
                tells: Vec::new(),
                write_ok: None,
                sync_started: Instant::now(),
                retry_at: None,
                peer_dirty: vec![false; count as usize],
                peers: s.peers,
                stats: Local::new(),
                shared: s.stats,
                admin: s.admin,
                reconfigure: s.reconfigure,
            },
            completions: Vec::with_capacity(1024),
        }
    }

    fn run(&mut self) -> io::Result<()> {
        self.arm_recv()?;
        self.arm_wake()?;
        let mut next_tick = Instant::now();
        let mut drain_started = Instant::now();
        let mut drain_reported = false;
        loop {
            if !self.draining && self.shutdown.load(Ordering::Relaxed) {
                self.begin_drain()?;
                drain_started = Instant::now();
            }
            if self.draining && self.is_drained() {
                break;
            }
            if self.draining {
                self.cancel_armed()?;
            }
            if self.draining && !drain_reported && drain_started.elapsed() > DRAIN_REPORT_AFTER {
                drain_reported = true;
                warn!(
                    worker = self.ctx.id,
                    receives_armed = self.recv_armed,
                    wake_armed = self.wake_armed,
                    journal_idle = self.ctx.gc.is_idle(),
                    sends_in_flight = self.ctx.sends_in_flight,
                    sends_queued = self.ctx.to_send.len(),
                    "worker still draining"
                );
            }
            if self.draining
                && self.ctx.stats.journal_failing != 0
                && drain_started.elapsed() > SHUTDOWN_WRITE_GRACE
            {
                // Nothing in the unwritten batch was acknowledged to anyone.
                error!(
                    worker = self.ctx.id,
                    "stopping with journal records the disk refused"
                );
                break;
            }
            let wait = next_tick.saturating_duration_since(Instant::now());
            let ts = types::Timespec::from(wait.max(Duration::from_micros(50)));
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.ring.submitter().submit_with_args(1, &args) {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                    ) => {}
                Err(e) => return Err(e),
            }
            let now = unix_now();
            self.completions.clear();
            self.completions.extend(
                self.ring
                    .completion()
                    .map(|c| (c.user_data(), c.result(), c.flags())),
            );
            for k in 0..self.completions.len() {
                let (ud, res, flags) = self.completions[k];
                self.on_completion(ud, res, flags, now)?;
            }
            self.drain_inbox(now);
            self.ctx.notify_peers();
            if Instant::now() >= next_tick {
                next_tick = Instant::now() + TICK;
                self.ctx.tick(now);
                // The counters other threads read, once per tick: no atomic per packet.
                self.ctx.shared.publish(&self.ctx.stats);
            }
            self.ctx.start_batch(&mut self.ring)?;
            self.ctx.flush_sends(&mut self.ring)?;
        }
        self.ctx.tick(unix_now());
        self.ctx.shared.publish(&self.ctx.stats);
        info!(worker = self.ctx.id, "worker stopped");
        Ok(())
    }

    fn on_completion(&mut self, ud: u64, res: i32, flags: u32, now: u64) -> io::Result<()> {
        let index = (ud & 0xffff_ffff) as usize;
        match ud >> 32 {
            KIND_RECV => {
                let more = io_uring::cqueue::more(flags);
                if !more {
                    self.recv_armed -= 1;
                }
                match io_uring::cqueue::buffer_select(flags) {
                    Some(bid) if res >= 0 => {
                        self.on_datagram(bid, res as usize, now);
                        self.recv.recycle(bid);
                    }
                    Some(bid) => self.recv.recycle(bid),
                    // ENOBUFS: every buffer was in use; the receive is re-armed below.
                    None if res == -libc::ENOBUFS || res == -libc::ECANCELED => {}
                    None => debug!(worker = self.ctx.id, errno = -res, "receive failed"),
                }
                if !more && !self.draining {
                    self.arm_recv()?;
                }
            }
            KIND_SEND => self.ctx.on_sent(index, res),
            KIND_WAKE => {
                if !io_uring::cqueue::more(flags) {
                    self.wake_armed = false;
                    if !self.draining {
                        self.arm_wake()?;
                    }
                }
                let mut counter = 0u64;
                // SAFETY: reads 8 bytes into a live u64 from our nonblocking eventfd.
                let _ = unsafe {
                    libc::read(
                        self.wake_fd.as_raw_fd(),
                        (&mut counter as *mut u64).cast(),
                        8,
                    )
                };
            }
            KIND_JWRITE => self.ctx.on_journal_written(res),
            KIND_JSYNC => self.ctx.on_journal_synced(res),
            KIND_CANCEL => {
                if res < 0 && res != -libc::ENOENT {
                    debug!(
                        worker = self.ctx.id,
                        errno = -res,
                        which = index,
                        "cancellation lost a race; retrying"
                    );
                }
                if let Some(c) = self.cancelling.get_mut(index) {
                    *c = false;
                }
            }
            other => warn!(kind = other, "completion of unknown kind"),
        }
        Ok(())
    }

    fn on_datagram(&mut self, bid: u16, len: usize, now: u64) {
        self.ctx.stats.received += 1;
        let Some((payload, got)) = self.recv.datagram(bid, len) else {
            self.ctx.count_drop(ServerDrop::NoPacketInfo);
            return;
        };
        if got.truncated {
            self.ctx.count_drop(ServerDrop::Truncated);
            return;
        }
        let Some((dst, ifindex)) = got.pktinfo else {
            self.ctx.count_drop(ServerDrop::NoPacketInfo);
            return;
        };
        let rx = RxMeta {
            ifindex,
            src: got.src,
            dst,
        };
        self.ctx.route(payload, rx, now);
    }

    fn drain_inbox(&mut self, now: u64) {
        while let Ok(handoff) = self.inbox.try_recv() {
            self.ctx.stats.handoffs_in += 1;
            self.ctx.serve(&handoff.packet, handoff.rx, now);
        }
        self.ctx.drain_control(now);
        self.ctx.drain_admin(now);
        self.ctx.drain_reconfigure();
    }

    fn arm_recv(&mut self) -> io::Result<()> {
        let entry = self
            .recv
            .sqe(self.socket.as_raw_fd())
            .user_data(user_data(KIND_RECV, 0));
        push(&mut self.ring, &entry)?;
        self.recv_armed += 1;
        Ok(())
    }

    fn arm_wake(&mut self) -> io::Result<()> {
        let entry = opcode::PollAdd::new(types::Fd(self.wake_fd.as_raw_fd()), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(user_data(KIND_WAKE, 0));
        push(&mut self.ring, &entry)?;
        self.wake_armed = true;
        Ok(())
    }

    /// Stop receiving: cancel every armed receive and the wake-up poll; pending batches and
    /// replies still complete.
    fn begin_drain(&mut self) -> io::Result<()> {
        self.draining = true;
        self.cancel_armed()
    }

    /// Asks the kernel to end the armed receive and wake-up poll, once per outstanding
    /// cancellation. A cancellation can lose a race: a multishot poll whose wake-up is being
    /// delivered cannot be removed at that instant (`-EALREADY`), and stays armed. So the drain
    /// loop calls this again after each cancellation completes, until nothing is armed.
    fn cancel_armed(&mut self) -> io::Result<()> {
        if self.recv_armed > 0 && !self.cancelling[CANCEL_RECV] {
            let entry = opcode::AsyncCancel::new(user_data(KIND_RECV, 0))
                .build()
                .user_data(user_data(KIND_CANCEL, CANCEL_RECV));
            push(&mut self.ring, &entry)?;
            self.cancelling[CANCEL_RECV] = true;
        }
        if self.wake_armed && !self.cancelling[CANCEL_WAKE] {
            let entry = opcode::PollRemove::new(user_data(KIND_WAKE, 0))
                .build()
                .user_data(user_data(KIND_CANCEL, CANCEL_WAKE));
            push(&mut self.ring, &entry)?;
            self.cancelling[CANCEL_WAKE] = true;
        }
        Ok(())
    }

    fn is_drained(&self) -> bool {
        self.recv_armed == 0
            && !self.wake_armed
            && self.ctx.gc.is_idle()
            && self.ctx.sends_in_flight == 0
            && self.ctx.to_send.is_empty()
    }
}

impl Ctx {
    /// Serve a datagram here or hand it to the worker that owns the client.
    fn route(&mut self, packet: &[u8], rx: RxMeta, now: u64) {
        if self.count > 1 {
            if let Some(duid) = client_duid(packet) {
                let owner = tandem_ebpf_common::shard_of(duid, self.count);
                if owner != self.id {
                    self.hand_off(owner as usize, packet, rx);
                    return;
                }
            }
        }
        self.serve(packet, rx, now);
    }

    fn hand_off(&mut self, owner: usize, packet: &[u8], rx: RxMeta) {
        let handoff = Handoff {
            packet: packet.to_vec(),
            rx,
        };
        match self.peers[owner].tx.try_send(handoff) {
            Ok(()) => {
                self.stats.handoffs_out += 1;
                self.peer_dirty[owner] = true;
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.count_drop(ServerDrop::HandoffQueueFull);
            }
        }
    }

    fn notify_peers(&mut self) {
        for (i, dirty) in self.peer_dirty.iter_mut().enumerate() {
            if std::mem::take(dirty) {
                wake(&self.peers[i].wake);
            }
        }
    }

    /// Run the engine on a packet this worker owns, record its changes, queue its reply.
    fn serve(&mut self, packet: &[u8], rx: RxMeta, now: u64) {
        self.stats.count_request(packet);
        let outcome = self
            .engine
            .handle(now, &rx, packet, &mut self.shard, &mut self.out);
        let changed = self.record_changes();
        match outcome {
            Ok(reply) => {
                self.stats.count_reply(reply.msg_type);
                let slot = self.send_slot();
                self.sends[slot].prepare(&self.out[..reply.len], reply.dst);
                if !reply.commits && !changed {
                    // An Advertise promises nothing (RFC 8415 §18.3.9): it need not wait
                    // behind other clients' journal batches.
                    self.release(Held::Send(slot), now);
                } else if let (_, Some(h)) = self.gc.attach(Held::Send(slot), changed) {
                    self.release(h, now);
                }
            }
            Err(reason) => self.stats.drops[stats::engine_drop_slot(reason)] += 1,
        }
    }

    /// Move the shard's changes into the open journal batch. Returns whether there were any.
    /// On failover subnets, the clients whose bindings changed are told to the partner once
    /// the batch is durable.
    fn record_changes(&mut self) -> bool {
        let mut n = 0;
        let buf = self.gc.open_buffer();
        for change in self.shard.drain_changes() {
            journal::encode(&change, buf);
            if let Some(fo) = &self.fo {
                fo.note_tell(&change, &mut self.tells);
            }
            n += 1;
        }
        self.gc.added_records(n);
        if self.fo.is_some() {
            self.tells
                .extend(self.shard.take_cross().into_iter().map(Held::Cross));
        }
        // Held behind this batch (it has records, so nothing is released at once).
        for h in self.tells.drain(..) {
            self.gc.attach(h, true);
        }
        n > 0
    }

    fn send_slot(&mut self) -> usize {
        if let Some(i) = self.free_sends.pop() {
            return i;
        }
        self.sends.push(SendSlot::new());
        self.sends.len() - 1
    }

    fn flush_sends(&mut self, ring: &mut IoUring) -> io::Result<()> {
        for k in 0..self.to_send.len() {
            let slot = self.to_send[k];
            let entry = opcode::SendMsg::new(types::Fd(self.socket_fd), &self.sends[slot].msg)
                .build()
                .user_data(user_data(KIND_SEND, slot));
            push(ring, &entry)?;
            self.sends_in_flight += 1;
        }
        self.to_send.clear();
        Ok(())
    }

    fn on_sent(&mut self, slot: usize, res: i32) {
        self.sends_in_flight -= 1;
        self.free_sends.push(slot);
        if res < 0 {
            debug!(worker = self.id, errno = -res, "send failed");
            self.count_drop(ServerDrop::SendFailed);
        } else {
            self.stats.replied += 1;
        }
    }

    /// Start the next group-commit write (plus fdatasync in durable mode) when none is in flight.
    fn start_batch(&mut self, ring: &mut IoUring) -> io::Result<()> {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        let durable = self.journal.durable();
        let fd = self.journal.fd.as_raw_fd();
        let Some(batch) = self.gc.start(self.journal.offset) else {
            return Ok(());
        };
        let mut write = opcode::Write::new(
            types::Fd(fd),
            batch.bytes.as_ptr(),
            batch.bytes.len() as u32,
        )
        .offset(batch.offset)
        .build()
        .user_data(user_data(KIND_JWRITE, 0));
        if durable {
            write = write.flags(squeue::Flags::IO_LINK);
        }
        push(ring, &write)?;
        if durable {
            let sync = opcode::Fsync::new(types::Fd(fd))
                .flags(types::FsyncFlags::DATASYNC)
                .build()
                .user_data(user_data(KIND_JSYNC, 0));
            push(ring, &sync)?;
        }
        self.write_ok = None;
        self.sync_started = Instant::now();
        Ok(())
    }

    fn on_journal_written(&mut self, res: i32) {
        let expected = self.gc.in_flight().map_or(0, |b| b.bytes.len());
        let ok = res >= 0 && res as usize == expected;
        if !ok {
            debug!(
                worker = self.id,
                result = res,
                expected,
                "journal write failed or was short"
            );
        }
        if self.journal.durable() {
            self.write_ok = Some(ok);
        } else {
            self.finish_batch(ok);
        }
    }

    fn on_journal_synced(&mut self, res: i32) {
        let ok = self.write_ok.take().unwrap_or(false) && res >= 0;
        if res < 0 && res != -libc::ECANCELED {
            debug!(worker = self.id, errno = -res, "journal fdatasync failed");
        }
        self.finish_batch(ok);
    }

    fn finish_batch(&mut self, ok: bool) {
        let (finished, grown) = self.gc.finish(ok);
        self.journal.offset += grown;
        // The alarm: once when the journal starts failing, once when it recovers.
        match (ok, self.stats.journal_failing != 0) {
            (false, false) => error!(
                worker = self.id,
                "journal writes are failing (disk full or I/O error): replies are withheld and \
                 the batch is retried until the disk accepts it"
            ),
            (true, true) => info!(worker = self.id, "journal writes succeed again; serving"),
            _ => {}
        }
        self.stats.journal_failing = u64::from(!ok);
        self.retry_at = None;
        if !ok {
            self.stats.journal_failures += 1;
            self.retry_at = Some(Instant::now() + JOURNAL_RETRY);
        }
        if ok {
            let us = self.sync_started.elapsed().as_micros() as u64;
            self.stats.count_sync(us, finished.records);
        }
        let now = unix_now();
        for h in finished.send {
            self.release(h, now);
        }
        for h in finished.withdrawn {
            if let Some(slot) = self.withdraw(h) {
                self.free_sends.push(slot);
                self.count_drop(ServerDrop::JournalFailed);
            }
        }
    }

    /// Periodic work: reclaim expired leases, refresh lease counts, compact a large journal.
    fn tick(&mut self, now: u64) {
        let reclaimed = self.shard.reclaim_expired(now) + self.fo_tick(now);
        if reclaimed > 0 {
            debug!(worker = self.id, reclaimed, "reclaimed expired leases");
            self.record_changes();
        }
        self.stats.refresh_leases(&self.shard);
        let snapshot_estimate = self.shard.len() as u64 * 128;
        if self.journal.offset > COMPACT_JOURNAL_BYTES.max(2 * snapshot_estimate)
            && self.gc.is_idle()
        {
            let started = Instant::now();
            match self.journal.compact(&self.shard) {
                Ok(()) => info!(
                    worker = self.id,
                    leases = self.shard.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "compacted the journal into a snapshot"
                ),
                Err(e) => warn!(worker = self.id, error = %e, "journal compaction failed"),
            }
        }
    }

    fn count_drop(&mut self, reason: ServerDrop) {
        self.stats.drops[stats::server_drop_slot(reason)] += 1;
    }
}

/// Queue a submission, flushing the queue to the kernel when it is full.
fn push(ring: &mut IoUring, entry: &squeue::Entry) -> io::Result<()> {
    // SAFETY: every entry points at memory owned by the worker (slots, journal buffers) that
    // stays alive and unmoved until its completion is reaped; the ring is dropped first.
    unsafe {
        if ring.submission().push(entry).is_ok() {
            return Ok(());
        }
        ring.submit()?;
        ring.submission()
            .push(entry)
            .map_err(|_| io::Error::other("io_uring submission queue full after submit"))
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::os::fd::FromRawFd;

    use super::*;

    /// Why the drain retries its cancellations: with DEFER_TASKRUN, an eventfd wake-up that has
    /// not been delivered yet owns the multishot poll, so a PollRemove submitted then fails with
    /// `-EALREADY` and the poll stays armed. One retry after the wake-up is delivered ends it.
    /// (CI caught a worker that waited forever for this poll to end.)
    #[test]
    fn poll_remove_loses_to_an_undelivered_wakeup_and_a_retry_ends_the_poll() {
        let mut ring = new_ring().unwrap();
        // SAFETY: eventfd(2) with valid flags; the descriptor is owned below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: `fd` was just returned by eventfd and nothing else owns it.
        let efd = unsafe { OwnedFd::from_raw_fd(fd) };
        let poll = opcode::PollAdd::new(types::Fd(efd.as_raw_fd()), libc::POLLIN as u32)
            .multi(true)
            .build()
            .user_data(user_data(KIND_WAKE, 0));
        push(&mut ring, &poll).unwrap();
        ring.submit().unwrap();
        wake(&efd);
        let remove = opcode::PollRemove::new(user_data(KIND_WAKE, 0))
            .build()
            .user_data(user_data(KIND_CANCEL, CANCEL_WAKE));
        push(&mut ring, &remove).unwrap();
        ring.submit_and_wait(1).unwrap();
        let mut first_remove = None;
        let mut poll_ended = false;
        for _ in 0..100 {
            let done: Vec<_> = ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags()))
                .collect();
            for (ud, res, flags) in done {
                match ud >> 32 {
                    KIND_CANCEL => {
                        first_remove.get_or_insert(res);
                        if !poll_ended {
                            push(&mut ring, &remove).unwrap();
                        }
                    }
                    KIND_WAKE => poll_ended |= !io_uring::cqueue::more(flags),
                    other => panic!("unexpected completion kind {other}"),
                }
            }
            if poll_ended {
                break;
            }
            ring.submit_and_wait(1).unwrap();
        }
        assert_eq!(
            first_remove,
            Some(-libc::EALREADY),
            "the first PollRemove raced the wake-up"
        );
        assert!(poll_ended, "a retried PollRemove ends the multishot poll");
    }
}
