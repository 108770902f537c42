//! Failover status for `stats.json` and the logs: per relationship its state, the partner's,
//! the link, the lazy-update queue and the clock skew (R25).

use serde::Serialize;
use tandem_failover::{FoTime, Role, ServerState};

/// What the control thread publishes after every turn.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct FailoverStatus {
    pub(crate) relationships: Vec<RelStatus>,
}

/// One relationship.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RelStatus {
    pub(crate) name: String,
    #[serde(serialize_with = "role")]
    pub(crate) role: Role,
    #[serde(serialize_with = "state")]
    pub(crate) state: ServerState,
    #[serde(serialize_with = "unix")]
    pub(crate) since: FoTime,
    #[serde(serialize_with = "opt_state")]
    pub(crate) partner: Option<ServerState>,
    pub(crate) connected: bool,
    pub(crate) mclt_s: u32,
    /// Averaged partner clock minus ours, seconds (R25).
    pub(crate) skew_s: Option<i32>,
    #[serde(serialize_with = "opt_unix")]
    pub(crate) partner_down_time: Option<FoTime>,
    /// Updates waiting, sent and unacknowledged, rejected and waiting for the next pass.
    pub(crate) queued: u64,
    pub(crate) unacked: u64,
    pub(crate) parked: u64,
    /// BNDUPDs sent, acknowledged, rejected; BNDUPDs received.
    pub(crate) sent: u64,
    pub(crate) acked: u64,
    pub(crate) rejected: u64,
    pub(crate) received: u64,
}

fn role<S: serde::Serializer>(r: &Role, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match r {
        Role::Primary => "primary",
        _ => "secondary",
    })
}

fn state<S: serde::Serializer>(st: &ServerState, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(st.rfc_name())
}

fn opt_state<S: serde::Serializer>(st: &Option<ServerState>, s: S) -> Result<S::Ok, S::Error> {
    match st {
        Some(st) => s.serialize_str(st.rfc_name()),
        None => s.serialize_none(),
    }
}

/// Failover times as Unix seconds (the clock wraps in 2136; until then this is exact).
fn unix<S: serde::Serializer>(t: &FoTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(tandem_engine::partner::unix_time(*t))
}

fn opt_unix<S: serde::Serializer>(t: &Option<FoTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => unix(t, s),
        None => s.serialize_none(),
    }
}
