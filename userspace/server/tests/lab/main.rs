//! Lab tests: real tandemd (or Kea) in network namespaces, real clients, relays, load and faults.
//!
//! Run as root with the Debian packages of shared/docs/testing.md installed:
//! `cargo test -p tandemd --test lab -- --ignored --test-threads=1`
//! with `TANDEM_TEST_SUBJECT=kea` to run the same scenarios against Kea.

mod common;

mod bad_inputs;
mod capabilities;
mod cleanup;
mod control_api;
mod control_http;
mod dashboard;
mod dhclient_direct;
mod dhclient_relayed;
mod disk_full;
mod failover_hub;
mod failover_pair;
mod information_request;
mod kea_migration;
mod kill9_keeps_leases;
mod metrics;
mod perfdhcp_load;
mod reload;
mod systemd_notify;
mod xdp_steering;
