//! tandem-engine integration tests: one binary (house style §14), conformance cases in files
//! named by RFC 8415 / RFC 8156 section, a full exchange, and robustness properties.

mod common;
mod exchange;
mod rfc8156;
mod rfc8415;
mod robustness;
