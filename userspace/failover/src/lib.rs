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
//! # What is not here yet
//!
//! Connection handling (CONNECT / CONNECTREPLY / STATE / CONTACT, keepalive timers), the
//! lazy-update queue and BNDUPD / BNDREPLY flow control, UPDREQ / UPDREQALL / UPDDONE
//! recovery, and proportional prefix rebalancing are the next increments; they will drive the
//! functions here through the `handle_*` / `poll_*` API of house style §2. This crate does not
//! yet depend on `tandem-wire`: it uses its own small types.
//!
//! # Errors
//!
//! [`Error`] splits into [`PeerMisbehaved`], [`PeerIncompatible`] and [`ApiMisuse`] (house
//! style §6); [`PersistError`] covers corrupt stored state.
#![forbid(unsafe_code)]

pub mod conflict;
pub mod error;
pub mod mclt;
pub mod startup;
pub mod state;
pub mod time;
pub mod transition;

pub use conflict::{
    resolve, BindingStatus, ClientIdentity, LocalBinding, ReceivedBinding, RejectReason, Resolution,
};
pub use error::{ApiMisuse, Error, PeerIncompatible, PeerMisbehaved, PersistError};
pub use mclt::{max_valid_lifetime_s, partner_lifetime_to_propose, LifetimeInputs};
pub use startup::{startup, startup_comms_ok, startup_timer_expired, PersistedState};
pub use state::{LifetimeCap, Resource, Responsiveness, Role, ServerState};
pub use time::{
    check_connect_skew, FoTime, SkewEstimator, MAX_TIME_SKEW_S, SKEW_WINDOW_DEFAULT,
    SKEW_WINDOW_MAX, TIME_EQUAL_WINDOW_S,
};
pub use transition::{
    recover_wait_deadline, transition, Event, PartnerState, Transition, UpdateRequest,
};
