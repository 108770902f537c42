//! Sans-IO DHCPv6 server engine [RFC 8415]: `(now, packet, &mut shard, policy) -> reply or drop
//! reason`.
//!
//! # Contract
//!
//! * [`Engine::new`] validates a [`policy::Policy`] once and pre-encodes every static option
//!   (SERVERID, DNS_SERVERS, DOMAIN_LIST, SOL_MAX_RT, INFORMATION_REFRESH_TIME, PREFERENCE);
//!   the engine is then immutable and cloned into each worker.
//! * [`Engine::handle`] takes one datagram received on UDP 547 and either writes the Advertise,
//!   Reply or Relay-reply into the caller's buffer and returns where it goes ([`Reply`]), or
//!   returns the [`DropReason`] the server counts. Lease changes go into the worker's
//!   [`tandem_lease::Shard`], from which the server drains and persists them before sending.
//!   **A dropped packet never changes the shard's leases**, and no input panics. (A packet on a
//!   failover subnet may first put the shard in that subnet's failover mode, which re-slices
//!   allocation but records no change.)
//! * Stateful messages (all but Information-request and Confirm) for a client whose DUID the
//!   given shard does not own (`Shard::owns_client`) are dropped as `wrong_shard`: route each
//!   packet to the worker of `tandem_ebpf_common::shard_of(client_duid(packet), workers)`.
//! * No sockets, clocks, threads or randomness (`now` is an argument); no heap allocation per
//!   packet beyond what a lease binding itself stores (IA lists are fixed-size arrays); tracing
//!   only at trace level per packet. `#![forbid(unsafe_code)]`.
//! * Bounded work per packet: at most 16 IA_NA, 16 IA_TA and 16 IA_PD (`too_many_ias` beyond),
//!   8 IAADDR/IAPREFIX considered per IA, at most `HOP_COUNT_LIMIT + 1` relay layers.
//!
//! # Protocol decisions
//!
//! * **Message validation** follows every RFC 8415 §16 "MUST discard" rule, each with its own
//!   [`DropReason`]; duplicate singleton options, DUIDs of 0 or more than 130 octets, IAPREFIX
//!   lengths above 128 and duplicate IAIDs are dropped too.
//! * **Unicast**: the server never sends OPTION_UNICAST. Solicit, Confirm, Rebind and
//!   Information-request sent straight to a unicast address are dropped; Request, Renew,
//!   Release and Decline get a Reply with status UseMulticast, SERVERID and CLIENTID only
//!   [RFC 8415 §18.4]. (RFC 9915 removes UseMulticast; RFC 8415 clients still expect it, and
//!   RFC 9915 clients treat it like any failure status and retry by multicast.)
//! * **Link selection** [RFC 8415 §13.1]: relayed → the subnet (longest prefix) holding the
//!   innermost relay's link-address; a relay that leaves it unspecified (`::`) defers to the next
//!   relay outwards, and when none names it, to the receiving interface. A link-address in no
//!   subnet is `no_subnet` (no fallback). Direct → the subnet bound to the receiving interface.
//! * **Advertise** binds nothing; when no IA can be served it carries a top-level NoAddrsAvail
//!   in addition to the per-IA NoAddrsAvail/NoPrefixAvail [RFC 3315 §17.2.2, RFC 8415 §18.3.9].
//!   The following Request names the offered resource as a hint and gets it while it is free.
//!   (When a pool is full, `Shard::allocate` may first reclaim expired leases; those `Remove`
//!   changes are recorded even for an Advertise and must be persisted like any other.)
//! * **Rapid Commit**: a Solicit with RAPID_COMMIT on a subnet with `rapid_commit` is committed
//!   and answered with a Reply carrying RAPID_COMMIT [RFC 8415 §18.3.1]. Rebind creates
//!   bindings for unknown IAs only on such subnets [RFC 8415 §18.3.5].
//! * **IA_TA** (removed by RFC 9915) is never served: NoAddrsAvail in Advertise/Reply to
//!   Solicit/Request, ignored elsewhere.
//! * **CLIENT_FQDN** [RFC 4704]: no DNS updates are done; when the client sent the option and
//!   asked for it in its ORO, the reply echoes its name with N = 1, S = 0 (O = 1 if the client
//!   had set S).
//! * **Host reservations** (by DUID): the i-th IA_NA gets the i-th reserved address, the i-th
//!   IA_PD the i-th reserved prefix; reserved resources are listed in [`Engine::reserved`] so
//!   shards never hand them out dynamically.
//! * **T1/T2** are the same across all IAs of a reply: the smallest configured (or 0.5 / 0.8 ×
//!   preferred) value over the kinds of lease granted [RFC 8415 §18.3.2, §21.4].
//!
//! # Failover [RFC 8156]
//!
//! [`Engine::set_failover`] gives the engine a [`FailoverView`]: per relationship this server's
//! role, state, MCLT and subnets. On a subnet in a relationship:
//! * the state decides who is answered (§8, R47): nothing in STARTUP, POTENTIAL-CONFLICT,
//!   RECOVER, RECOVER-WAIT (`failover_unresponsive`); only Renew when renew-responsive
//!   (`failover_renew_only`);
//! * new resources come only from this server's half (primary odd addresses and every prefix,
//!   secondary even addresses; §4.2.1, R41) through the shard's failover mode, which the engine
//!   sets on the shard when a packet for the subnet arrives ([`Engine::configure_shard`] sets it
//!   for every subnet at once); renew-responsive states allocate nothing;
//! * every valid lifetime is at most the MCLT bound of the state (§4.4, R29), preferred at most
//!   valid, T1/T2 recomputed from the cut lifetimes; each grant stores the partner-lifetime to
//!   propose, `now + T1 + desired` (R30), and the T1/T2 sent, and is flagged for the partner;
//! * Release and expiry keep the lease until the partner acks (R46); the client that released
//!   it may have it back.
//!
//! Subnets outside every relationship behave exactly as without failover.

#![forbid(unsafe_code)]

mod assign;
mod compile;
mod drop_reason;
mod emit;
mod engine;
mod exchange;
mod failover;
mod fixed;
mod link;
mod plan;
pub mod policy;
mod scan;
mod validate;

pub use compile::PolicyError;
pub use drop_reason::DropReason;
pub use engine::{client_duid, Engine, Reply, RxMeta, SERVER_PORT};
pub use failover::{FailoverView, RelationshipView};
pub mod partner;

/// Largest reply the engine produces: the largest UDP payload over IPv6 without jumbograms
/// (65535 − 8 octets of UDP header). Size `out` with it; a reply that would not fit the given
/// `out` is dropped as `reply_too_large` before any lease change.
pub const REPLY_LEN_MAX: usize = 65_527;
