//! (being written) Sans-IO DHCPv6 server engine.
#![forbid(unsafe_code)]

pub mod policy;
