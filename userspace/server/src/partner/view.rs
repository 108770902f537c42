//! What the workers need to know about each relationship to answer clients (RFC 8156 §8
//! responsiveness, §4.4 lifetimes, §4.2 allocation; R29, R41, R47): a snapshot the control
//! thread sends on every state change.

use tandem_failover::binding::BindingUpdate;
use tandem_failover::{FoTime, Relationship, Role, ServerState};

use super::setup::RelSetup;

/// One relationship as the workers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelView {
    pub(crate) role: Role,
    pub(crate) state: ServerState,
    /// When `state` was entered.
    pub(crate) since: FoTime,
    /// The MCLT in force (the primary's).
    pub(crate) mclt_s: u32,
    /// Subnet ids in this relationship.
    pub(crate) subnets: Vec<u32>,
}

/// All relationships, in configuration order (the index is the `rel` of the messages).
pub(crate) type View = Vec<RelView>;

/// Builds the view from the control thread's relationships.
pub(crate) fn build<'a>(
    rels: impl Iterator<Item = (&'a RelSetup, &'a Relationship<BindingUpdate>)>,
) -> View {
    rels.map(|(setup, rel)| {
        let (state, since) = rel.state();
        RelView {
            role: rel.role(),
            state,
            since,
            mclt_s: rel.mclt_s(),
            subnets: setup.subnets.clone(),
        }
    })
    .collect()
}
