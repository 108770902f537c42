//! tandem-config integration tests (one binary, hickory-style).

mod datapath;
mod examples;
mod failover;
mod failover_ranges;
mod failover_tls;
mod parse_errors;
mod policy;
mod unknown_fields;
mod util;
mod validation;
