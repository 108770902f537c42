//! `tandem-bench`: tandem's own DHCPv6 (RFC 8415) load generator.
//!
//! It simulates up to 2^24 clients with distinct DUIDs ([`population`]), each with its own
//! transaction state in a table allocated once ([`client`]); transaction ids map back to the
//! client ([`population::XidMap`]). Clients are directly attached (link-local, port 546, to
//! `ff02::1:2`) or sit behind one of many relays (Relay-forward from port 547 to the server's
//! unicast address, RFC 8415 §19.1). Messages are built with `tandem-wire` into reused buffers
//! ([`messages`]) and answers parsed without allocating ([`answers`]).
//!
//! # Architecture
//!
//! * One worker thread per socket ([`worker`]); the sockets form one `SO_REUSEPORT` group whose
//!   classic-BPF steering program picks the socket from the low byte of the client index (the
//!   last xid octet, or the last octet of the Relay-reply peer-address), so every answer lands
//!   on the thread that owns the client: no locks or atomics on the hot path.
//! * Batched syscalls ([`net`]): `sendmmsg` and `recvmmsg` with 64 messages per call.
//! * Open loop: a token bucket per thread ([`pacing`]) starts transactions at the target rate;
//!   the achieved rate is what was really started. Answers later than `--wait-ms` are lost.
//! * Closed loop: [`search`] doubles the rate until loss exceeds 1 %, then bisects.
//! * Measurement: one `hdrhistogram` per exchange kind per thread, merged after the step
//!   ([`stats`]); JSON ([`report`]) and an SVG plot of latency against load ([`svg`]).

pub mod answers;
pub mod client;
pub mod messages;
pub mod net;
pub mod pacing;
pub mod population;
pub mod report;
pub mod run;
pub mod scenario;
pub mod search;
pub mod stats;
pub mod svg;
pub mod worker;
