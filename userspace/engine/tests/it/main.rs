//! tandem-engine integration tests: one binary (house style §14), conformance cases in files
//! named by RFC 8415 section, a full exchange, and robustness properties.

mod common;
mod exchange;
mod rfc8415;
mod robustness;
