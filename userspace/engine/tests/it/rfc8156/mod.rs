//! RFC 8156 (DHCPv6 failover) as the engine applies it, one file per section, with shared
//! fixtures: a failover view and harnesses whose subnets 1 (eth0) and 3 (eth1) are in one
//! relationship; subnet 2 stays standalone.

mod section_4_2_1_independent_allocation;
mod section_4_2_2_1_reallocation;
mod section_4_2_2_proportional_allocation;
mod section_4_4_mclt;
mod section_7_binding_sync;
mod section_8_responsiveness;

use std::net::Ipv6Addr;

use tandem_engine::partner::fo_time;
use tandem_engine::policy::{Policy, SubnetId};
use tandem_engine::{FailoverView, RelationshipView};
use tandem_failover::binding::{
    decode_bndreply, decode_bndupd, encode_bndreply, encode_bndupd, encoded_len, reply_encoded_len,
    BindingReply, BindingUpdate,
};
use tandem_failover::{Role, ServerState};
use tandem_lease::{Lease, PartnerAck, Resource};
use tandem_wire::failover::FailoverMessage;
use tandem_wire::Xid;

use crate::common::*;

pub(crate) const MCLT_S: u32 = 3600;

pub(crate) fn view(role: Role, state: ServerState) -> FailoverView {
    FailoverView {
        relationships: vec![RelationshipView {
            role,
            state,
            mclt_s: MCLT_S,
            entered_state_at: NOW - 10,
            subnets: vec![SubnetId(1), SubnetId(3)],
        }],
    }
}

/// One shard of one, subnets 1 and 3 in failover with `role` in `state`.
pub(crate) fn harness(role: Role, state: ServerState) -> Harness {
    with_policy(policy(), role, state)
}

pub(crate) fn with_policy(p: Policy, role: Role, state: ServerState) -> Harness {
    let mut h = Harness::with_policy(p);
    set_state(&mut h, role, state);
    h
}

pub(crate) fn set_state(h: &mut Harness, role: Role, state: ServerState) {
    h.engine.set_failover(Some(view(role, state)));
    h.engine.configure_shard(&mut h.shard);
}

pub(crate) fn request(n: u16) -> Vec<u8> {
    Msg::new(REQUEST, 1)
        .client_id(&client(n))
        .server_id(SERVER_DUID)
        .ia_na(1, &[])
        .build()
}

pub(crate) fn renew(n: u16, addr: Ipv6Addr) -> Vec<u8> {
    Msg::new(RENEW, 2)
        .client_id(&client(n))
        .server_id(SERVER_DUID)
        .ia_na(1, &[addr])
        .build()
}

pub(crate) fn release(n: u16, addr: Ipv6Addr) -> Vec<u8> {
    Msg::new(RELEASE, 3)
        .client_id(&client(n))
        .server_id(SERVER_DUID)
        .ia_na(1, &[addr])
        .build()
}

/// The ack of the data the lease holds now (the partner acked our latest BNDUPD).
pub(crate) fn ack_current(l: &Lease) -> PartnerAck {
    PartnerAck {
        state: l.state,
        start_time_of_state: l.fo.start_time_of_state,
        cltt: l.cltt,
        partner_lifetime: l.fo.partner_lifetime,
    }
}

pub(crate) fn na(addr: Ipv6Addr) -> Resource {
    Resource::address(addr)
}

/// An update through the wire: encode, then decode as the partner would.
pub(crate) fn wire_update(u: &BindingUpdate) -> BindingUpdate {
    let mut buf = vec![0u8; encoded_len(u)];
    let n = encode_bndupd(u, Xid([0, 0, 1]), fo_time(NOW).unwrap(), &mut buf).unwrap();
    decode_bndupd(&FailoverMessage::new_checked(&buf[2..n]).unwrap()).unwrap()
}

pub(crate) fn wire_reply(r: &BindingReply) -> BindingReply {
    let mut buf = vec![0u8; reply_encoded_len(r)];
    let n = encode_bndreply(r, Xid([0, 0, 1]), fo_time(NOW).unwrap(), &mut buf).unwrap();
    decode_bndreply(&FailoverMessage::new_checked(&buf[2..n]).unwrap()).unwrap()
}
