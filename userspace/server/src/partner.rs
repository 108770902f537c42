//! The failover partner side of tandemd: the control thread ([`control`]) that owns every
//! relationship, its TCP + STARTTLS + mutual TLS sessions ([`session`], [`tls`]), its stored
//! state ([`state_file`]) and its status ([`status`]), and the messages it exchanges with the
//! workers ([`messages`]), and the operator's partner-down requests ([`operator`]).

pub(crate) mod control;
pub(crate) mod messages;
pub(crate) mod operator;
pub(crate) mod session;
pub(crate) mod setup;
pub(crate) mod state_file;
pub(crate) mod status;
pub(crate) mod tls;
pub(crate) mod view;
