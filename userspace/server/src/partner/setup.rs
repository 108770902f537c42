//! From the `[failover]` section to what the control thread runs: one
//! [`RelationshipConfig`] per `[[failover.relationship]]`, with its TLS settings
//! (RFC 8156 §6.1; R7, R9, R15).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tandem_config::{Failover, Role as ConfigRole, Tls};
use tandem_failover::Millis;
use tandem_failover::{Config, RelationshipConfig, Role};

use tandem_lease::ShareTarget;

use super::session::TlsSettings;

/// One relationship as the control thread needs it.
#[derive(Debug, Clone)]
pub(crate) struct RelSetup {
    /// OPTION_F_RELATIONSHIP_NAME.
    pub(crate) name: String,
    /// Where the partner listens (the primary dials it; the secondary accepts only from its
    /// address, R12).
    pub(crate) partner: SocketAddr,
    /// Where we listen.
    pub(crate) listen: SocketAddr,
    /// Subnet ids in this relationship.
    pub(crate) subnets: Vec<u32>,
    /// The sans-IO relationship's configuration.
    pub(crate) config: RelationshipConfig,
    /// `None` only when the config says `tls.mode = "none"`.
    pub(crate) tls: Option<Arc<TlsSettings>>,
    /// Proportional prefix allocation: the secondary's share and the hysteresis (§4.2.2).
    pub(crate) share: ShareTarget,
}

impl RelSetup {
    /// Primary or secondary.
    pub(crate) fn role(&self) -> Role {
        self.config.connection.role
    }
}

/// Maps every relationship of the config; reads the TLS files (their errors name the file).
pub(crate) fn relationships(fo: &Failover) -> anyhow::Result<Vec<RelSetup>> {
    fo.relationships
        .iter()
        .map(|r| {
            let role = match r.role {
                ConfigRole::Primary => Role::Primary,
                _ => Role::Secondary,
            };
            let mut c = Config::new(role, r.name.as_bytes());
            c.mclt_s = r.mclt_s;
            c.max_unacked_bndupd = r.max_unacked_bndupd;
            c.keepalive_time_s = r.keepalive_s;
            c.contact_interval = Millis::from_s(r.contact_interval_s);
            c.reconnect_initial = Millis(u64::from(r.reconnect_initial_ms));
            c.reconnect_cap = Millis(u64::from(r.reconnect_cap_ms));
            c.skew_window = r.skew_window;
            c.stimulus = r.stimulus;
            let mut config = RelationshipConfig::new(c);
            config.startup_timer = Millis::from_s(r.startup_timer_s);
            config.auto_partner_down = r.auto_partner_down_s.map(Millis::from_s);
            config.update_request_timeout = Millis::from_s(r.update_request_timeout_s);
            // One entry per client at most (updates coalesce by client), so the store's size
            // bounds the queue: a full UPDREQALL answer of a million clients must fit whole, or
            // the overflow path (which re-collects only flagged leases) would cut it short.
            config.queue_capacity = usize::MAX;
            let tls = match &r.tls {
                Tls::Mutual {
                    cert,
                    key,
                    ca,
                    partner_name,
                } => Some(Arc::new(
                    TlsSettings::from_files(cert, key, ca, partner_name.clone())
                        .with_context(|| format!("relationship {:?}: TLS", r.name))?,
                )),
                _ => None,
            };
            Ok(RelSetup {
                name: r.name.clone(),
                partner: r.partner,
                listen: r.listen,
                subnets: r.subnets.iter().map(|s| s.0).collect(),
                config,
                tls,
                share: ShareTarget::from_fractions(
                    r.prefix_share.get(),
                    r.prefix_rebalance_threshold.get(),
                ),
            })
        })
        .collect()
}
