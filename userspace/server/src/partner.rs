//! The failover partner side of tandemd: TCP + STARTTLS + mutual TLS sessions
//! ([`session`], [`tls`]).

pub(crate) mod session;
pub(crate) mod tls;
