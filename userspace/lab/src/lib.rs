//! The network-namespace lab: real DHCPv6 clients, relays and load against a real server.
//!
//! Contract:
//! - every namespace, veth pair and process is owned by a guard ([`Netns`], [`Process`],
//!   [`Subject`]) whose `Drop` removes it, so a panicking test leaves `ip netns list` empty;
//! - traffic only ever flows inside namespaces this crate created;
//! - the host's `/etc/resolv.conf` is shielded: each namespace gets an empty
//!   `/etc/netns/<ns>/resolv.conf` before anything runs in it, and dhclient runs with a script
//!   that only records its environment;
//! - every wait is bounded by a timeout;
//! - the server under test is Kea or tandemd ([`SubjectKind::from_env`]), configured from one
//!   [`ServerParams`];
//! - failover pairs [RFC 8156]: [`topology::Pair`] / [`topology::RelayedPair`] give clients a
//!   path to both servers and the servers a separate partner link; [`Partition`] cuts that
//!   link with nftables inside one namespace; [`certs`] writes the partners' TLS files;
//!   [`render::tandem_failover_toml`] renders each server's config; and
//!   [`capture::failover_verdict`] has tshark judge a partner-link capture.
//!
//! Needs root and the Debian packages named in `shared/docs/testing.md`.

pub mod capture;
pub mod capture_failover;
pub mod certs;
pub mod dhclient;
pub mod dhclient_leases;
pub mod fo_params;
pub mod kea_csv;
pub mod link;
pub mod netns;
pub mod pair;
pub mod params;
pub mod partition;
pub mod perfdhcp;
pub mod process;
pub mod relay;
pub mod render;
pub mod subject;
#[cfg(test)]
mod test_support;
pub mod topology;
pub mod trio;

pub use capture::{Capture, Dhcp6Frame, FailoverVerdict, IaLease};
pub use certs::{CertKey, Identity, PairCerts};
pub use dhclient::{Dhclient, DhclientEvent, DhclientMode};
pub use dhclient_leases::ClientLease;
pub use fo_params::{FailoverParams, FailoverRole, LabTls};
pub use link::{add_address, Link, LinkEnd};
pub use netns::{wait_for, Netns};
pub use params::{LabDatapath, Lifetimes, ServerParams};
pub use partition::{Direction, Dropped, Partition};
pub use perfdhcp::{Exchange, Perfdhcp, PerfdhcpReport};
pub use process::Process;
pub use relay::Relay;
pub use subject::{LeaseKind, StoredLease, Subject, SubjectKind};
pub use topology::{
    Direct, Pair, Partners, Relayed, RelayedPair, CLIENT_IF, PARTNER_IF, RELAY_DOWN_IF,
    RELAY_UP_IF, SERVER_IF,
};

/// Whether the lab can run here: root, and the tools on PATH.
pub fn preflight() -> anyhow::Result<()> {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        anyhow::bail!("the lab needs root (network namespaces)");
    }
    for tool in [
        "ip",
        "dhclient",
        "dhcrelay",
        "perfdhcp",
        "tshark",
        "kea-dhcp6",
        "python3",
        "ss",
        "nft",
    ] {
        let found = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
        if !found {
            anyhow::bail!("{tool} not found on PATH");
        }
    }
    Ok(())
}
