//! Sans-IO RFC 8156 DHCPv6 failover endpoint: the pure decision rules.
//!
//! # Contract
//!
//! Everything here is a pure function of its arguments: no sockets, clocks, threads, files or
//! randomness (checked by `userspace/server/tests/sans_io.rs`). Time is an argument, always a
//! [`FoTime`]: seconds since 2000-01-01 UTC modulo 2^32, compared with wrapping arithmetic.
//! No function panics on any input; decoders of partner or stored data return errors.
//! State names are RFC 8156's own; every item cites the RFC section it implements.
//!
//! # What is here (first increment)
//!
//! * [`state`]: [`ServerState`] (RFC 8156 §8) with wire values (OPEN-1: RECOVER-WAIT = 7, no
//!   SHUTDOWN state), [`Role`], and per-state rules: [`Responsiveness`], own-pool and
//!   partner-pool allocation (OPEN-2), the lifetime cap.
//! * [`transition`](mod@transition): the §8 transition table as one `match (state, event)`.
//! * [`startup`](mod@startup): [`PersistedState`] (§8.2) with a versioned, checksummed
//!   encoding, and the STARTUP algorithm (§8.3; OPEN-8: RECOVER when nothing is stored).
//! * [`mclt`]: the MCLT lifetime bound and the partner-lifetime to propose (§4.4, §7.3).
//! * [`conflict`]: the BNDUPD conflict-resolution table (§7.5; OPEN-6: literal ±5 s rule).
//! * [`time`]: [`FoTime`], the ±5 s equality rule, the seed draft's skew moving average and
//!   the CONNECT skew check.
//!
//! * [`connection`]: the sans-IO [`Endpoint`] of one relationship's connection (RFC 8156 §6):
//!   primary dials with capped back-off, CONNECT / CONNECTREPLY checks, STATE exchange, CONTACT
//!   keepalives, dead-partner timeout, DISCONNECT, and the seed draft's stimulus / simultaneous
//!   connect rule (R13, R14); configured by [`Config`], timed by
//!   [`timer`] ([`Millis`], [`Now`]). Messages go through `tandem-wire`'s failover codec.
//!
//! * [`binding`]: BNDUPD / BNDREPLY as owned values ([`binding::BindingUpdate`],
//!   [`binding::BindingReply`]), their codec, and the receive rules of §7.5 / §7.5.5 on top of
//!   [`conflict`] (R33–R40). `BindingUpdate` is the [`lazy::LazyUpdate`] the server queues.
//! * [`lazy`]: the lazy-update send queue: coalescing per client or prefix, one update in
//!   flight per key, the partner's MAX_UNACKED window, rejected updates parked for the next
//!   pass and given up after three attempts (R27, R28, R32, R37).
//! * [`relationship`]: one relationship, whole: the connection endpoint, the §8 state machine
//!   with STARTUP and persistence (STATE only after the state is stored, R20), UPDREQ /
//!   UPDREQALL / UPDDONE for recovery and conflict resolution, auto-partner-down, alarms, and
//!   the flush-then-DISCONNECT shutdown.
//!
//! # Where the rest lives
//!
//! STARTTLS and TLS (R15) are the shell's (tandemd's partner sessions run rustls before the
//! first byte reaches the endpoint); several relationships are several
//! [`relationship::Relationship`] values, selected by the shell from the CONNECT's name (R7,
//! R9). A secondary sends POOLREQ after announcing NORMAL and POOLREQ is answered with POOLRESP
//! here; the prefix hand-overs themselves are top-level IAPREFIX BNDUPDs the shell builds
//! (`tandem_engine::partner`, proportional allocation, §4.2.2).
//!
//! # Errors
//!
//! [`Error`] splits into [`PeerMisbehaved`], [`PeerIncompatible`] and [`ApiMisuse`] (house
//! style §6); [`PersistError`] covers corrupt stored state.
#![forbid(unsafe_code)]

pub mod binding;
pub mod config;
pub mod conflict;
pub mod connection;
pub mod error;
pub mod lazy;
pub mod mclt;
pub mod relationship;
pub mod startup;
pub mod state;
pub mod time;
pub mod timer;
pub mod transition;
mod wire_io;

pub use config::{Config, LocalState, MAX_CONTROL_LEN, MAX_RELATIONSHIP_NAME_LEN};
pub use conflict::{
    resolve, BindingStatus, ClientIdentity, LocalBinding, ReceivedBinding, RejectReason, Resolution,
};
pub use connection::{Endpoint, Event as ConnectionEvent};
pub use error::{ApiMisuse, Error, PeerIncompatible, PeerMisbehaved, PersistError};
pub use lazy::{LazyUpdate, Pushed, QueueStats, Settled, UpdateQueue, MAX_ATTEMPTS};
pub use mclt::{max_valid_lifetime_s, partner_lifetime_to_propose, LifetimeInputs};
pub use relationship::{
    Alarm, Event as RelationshipEvent, Relationship, RelationshipConfig, RelationshipStats,
};
pub use startup::{startup, startup_comms_ok, startup_timer_expired, PersistedState};
pub use state::{LifetimeCap, Resource, Responsiveness, Role, ServerState};
pub use time::{
    check_connect_skew, FoTime, SkewEstimator, MAX_TIME_SKEW_S, SKEW_WINDOW_DEFAULT,
    SKEW_WINDOW_MAX, TIME_EQUAL_WINDOW_S,
};
pub use timer::{Millis, Now, Timer, TimerTable};
pub use transition::{
    recover_wait_deadline, transition, Event, PartnerState, Transition, UpdateRequest,
};
