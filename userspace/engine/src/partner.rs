//! The bridge between a lease shard and RFC 8156 binding updates, used alike by tandemd's
//! workers and by the simulator (sans-IO; `now` is Unix seconds):
//!
//! * [`client_update`] / [`collect`]: a client's bindings as one BNDUPD CLIENT_DATA (§7.4: all
//!   of one client's bindings in one option), for the lazy-update queue, UPDREQ and UPDREQALL;
//! * [`apply_update`]: a partner's BNDUPD decided by the conflict rules (§7.5) against the
//!   shard, accepted items stored (§7.5.5), the BNDREPLY to send once that is durable (§7.6);
//! * [`apply_reply`]: the partner's BNDREPLY to our update: acknowledged partner lifetimes and
//!   PENDING-FREE → FREE for acknowledged releases and expiries (§7.7; R39);
//! * [`tick`]: expiry, and in PARTNER-DOWN the freeing of unacknowledged releases after the MCLT
//!   (§8.4.1; R56);
//! * [`share`]: proportional allocation of delegable prefixes, top-level IAPREFIX updates
//!   (§4.2.2; R43–R45).
//!
//! Time conversion: the failover crate counts seconds since 2000-01-01 (`FoTime`), the lease
//! crate Unix seconds (0 = none).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use tandem_failover::binding::{
    receive_update, reply_to, timeout, BindingItem, BindingReply, BindingUpdate, ClientBinding,
    IaBinding, IaKind, ItemOutcome, ItemReject, LocalLease, LocalTimes, ReplyContainer, Timeout,
};
use tandem_failover::conflict::{BindingStatus, ClientIdentity, RejectReason};
use tandem_failover::state::Role;
use tandem_failover::time::FoTime;
use tandem_lease::{Lease, LeaseChange, LeaseKind, LeaseState, PartnerAck, Resource, Shard};
use tandem_wire::failover::FailoverTime;
use tandem_wire::StatusCode;

use crate::Engine;

mod share;

pub use share::{changed_prefixes, prefix_update, share_update};

/// Unix seconds → failover time (`None` for 0 = none).
pub fn fo_time(unix: u64) -> Option<FoTime> {
    (unix != 0).then(|| FoTime(FailoverTime::from_unix_s(unix).0))
}

/// Failover time → Unix seconds (valid until 2136, when the 32-bit count wraps).
pub fn unix_time(t: FoTime) -> u64 {
    u64::from(t.0) + FailoverTime::UNIX_OFFSET_S
}

fn status_of(s: LeaseState) -> BindingStatus {
    match s {
        LeaseState::Bound => BindingStatus::Active,
        LeaseState::Released => BindingStatus::Released,
        LeaseState::Expired => BindingStatus::Expired,
        _ => BindingStatus::Abandoned,
    }
}

fn state_of(s: BindingStatus) -> Option<LeaseState> {
    match s {
        BindingStatus::Active => Some(LeaseState::Bound),
        BindingStatus::Released => Some(LeaseState::Released),
        BindingStatus::Expired => Some(LeaseState::Expired),
        BindingStatus::Abandoned => Some(LeaseState::Declined),
        _ => None,
    }
}

pub(crate) fn resource(addr: Ipv6Addr, prefix_len: u8) -> Resource {
    if prefix_len == 128 {
        Resource::address(addr)
    } else {
        Resource::prefix(addr, prefix_len)
    }
}

/// The clients whose bindings `changes` touched and whose partner must be told (R28).
pub fn changed_clients(changes: &[LeaseChange]) -> Vec<Box<[u8]>> {
    let set: BTreeSet<&[u8]> = changes
        .iter()
        .filter_map(|c| match c {
            LeaseChange::Upsert(l) if l.fo.tell_partner && !l.duid.is_empty() => Some(&*l.duid),
            _ => None,
        })
        .collect();
    set.into_iter().map(Box::from).collect()
}

/// One lease as a BNDUPD item (RFC 8156 §7.4). The (*) options are present exactly when the
/// status has a timeout (R33). F_PARTNER_LIFETIME is the partner-lifetime to propose; when
/// nothing new is proposed (it was acknowledged) the acknowledged one is repeated.
fn item(l: &Lease) -> BindingItem {
    let status = status_of(l.state);
    let timed = timeout(status) == Timeout::Always;
    let start = if l.fo.start_time_of_state != 0 {
        l.fo.start_time_of_state
    } else {
        l.cltt
    };
    let proposed = if l.fo.partner_lifetime != 0 {
        l.fo.partner_lifetime
    } else {
        l.fo.acked_partner_lifetime.max(l.expires_at)
    };
    BindingItem {
        addr: l.resource.addr,
        prefix_len: l.resource.prefix_len,
        preferred_s: l.preferred_s,
        valid_s: l.valid_s,
        status,
        start_time_of_state: fo_time(start).unwrap_or(FoTime(0)),
        state_expiration_time: timed.then(|| fo_time(l.expires_at)).flatten(),
        clt_time: fo_time(l.cltt),
        partner_lifetime: timed.then(|| fo_time(proposed)).flatten(),
        partner_raw_clt_time: (l.fo.partner_raw_clt_time != 0)
            .then_some(FoTime(l.fo.partner_raw_clt_time)),
        expiration_time: timed
            .then(|| fo_time(l.fo.expiration_time.max(l.cltt)))
            .flatten(),
    }
}

/// The client's bindings in this shard as one CLIENT_DATA update (§7.4): all of them, so the
/// partner sees the client whole. `None` when the client has none, or (unless `all`) when none
/// is flagged "partner must be told".
pub fn client_binding<'a>(
    leases: impl Iterator<Item = &'a Lease>,
    duid: &[u8],
    now: u64,
    all: bool,
) -> Option<BindingUpdate> {
    let mut ias: BTreeMap<(u8, u32), IaBinding> = BTreeMap::new();
    let mut flagged = false;
    for l in leases.filter(|l| &*l.duid == duid) {
        flagged |= l.fo.tell_partner;
        let kind = match l.resource.kind {
            LeaseKind::Pd => IaKind::Pd,
            _ => IaKind::Na,
        };
        let key = (u8::from(kind == IaKind::Pd), l.iaid);
        ias.entry(key)
            .or_insert_with(|| IaBinding {
                kind,
                iaid: l.iaid,
                t1_s: l.fo.t1_s,
                t2_s: l.fo.t2_s,
                items: Vec::new(),
            })
            .items
            .push(item(l));
    }
    if ias.is_empty() || !(flagged || all) {
        return None;
    }
    // Keep within the decoder's bounds (64 IAs, 64 items): a client never has that many.
    Some(BindingUpdate::Client(ClientBinding {
        duid: duid.into(),
        base_time: fo_time(now).unwrap_or(FoTime(0)),
        ias: ias.into_values().collect(),
    }))
}

/// The update for one client whose bindings changed (lazy update, R27), if any is flagged.
pub fn client_update(shard: &Shard, duid: &[u8], now: u64) -> Option<BindingUpdate> {
    client_binding(shard.client_leases(duid), duid, now, false)
}

/// Updates for UPDREQ (`all` false: clients with a flagged lease, pending prefix hand-overs)
/// or UPDREQALL (`all`: every client and every unbound FREE-BACKUP prefix), restricted to
/// `subnets` when given (one relationship's subnets; R28, R52).
pub fn collect(shard: &Shard, subnets: Option<&[u32]>, all: bool, now: u64) -> Vec<BindingUpdate> {
    let in_scope = |l: &&Lease| subnets.is_none_or(|s| s.contains(&l.subnet_id));
    let duids: BTreeSet<&[u8]> = if all {
        shard.leases().filter(in_scope).map(|l| &*l.duid).collect()
    } else {
        shard
            .tell_partner_leases()
            .filter(in_scope)
            .map(|l| &*l.duid)
            .collect()
    };
    let mut out: Vec<BindingUpdate> = duids
        .into_iter()
        .filter(|d| !d.is_empty())
        .filter_map(|d| client_binding(shard.client_leases(d), d, now, all))
        .collect();
    out.extend(share::collect_prefixes(shard, subnets, all, now));
    out
}

fn local_times(l: &Lease) -> LocalTimes {
    let start = if l.fo.start_time_of_state != 0 {
        l.fo.start_time_of_state
    } else {
        l.cltt
    };
    LocalTimes {
        cltt: fo_time(l.cltt),
        start_time_of_state: fo_time(start).unwrap_or(FoTime(0)),
        state_expiration_time: fo_time(l.expires_at),
        partner_lifetime: fo_time(l.fo.partner_lifetime),
        expiration_time: fo_time(l.fo.expiration_time),
        partner_raw_clt_time: (l.fo.partner_raw_clt_time != 0)
            .then_some(FoTime(l.fo.partner_raw_clt_time)),
    }
}

/// Decides a partner's BNDUPD against the shard (RFC 8156 §7.5; R35–R40), stores what is
/// accepted (recorded as changes: persist them before sending the reply, R31) and returns the
/// BNDREPLY. Resources outside this shard's pools are ConfigurationConflict.
///
/// `recovering_mclt`: we are in RECOVER (our storage was lost or is stale) with this MCLT. Then
/// an ACTIVE binding is kept from reuse until the partner-lifetime the partner acknowledged to
/// us (its F_EXPIRATION_TIME) plus the MCLT, if that is later than the client expiry the partner
/// knows: before we lost our records we may have extended the client that far (RFC 8156 §4.4's
/// bound), and the partner may not have heard of it.
pub fn apply_update(
    shard: &mut Shard,
    role: Role,
    now: u64,
    update: &BindingUpdate,
    recovering_mclt: Option<u32>,
) -> BindingReply {
    apply_update_in(shard, None, role, now, update, recovering_mclt)
}

/// [`apply_update`] for the partner of a relationship holding `subnets` (`None`: every
/// subnet): a resource of another subnet is not the partner's business, ConfigurationConflict
/// (R8: a subnet is in one relationship only; R35).
pub fn apply_update_in(
    shard: &mut Shard,
    subnets: Option<&[u32]>,
    role: Role,
    now: u64,
    update: &BindingUpdate,
    recovering_mclt: Option<u32>,
) -> BindingReply {
    if let BindingUpdate::Prefix { item, .. } = update {
        let r = resource(item.addr, item.prefix_len);
        if !in_scope(shard, subnets, &r) {
            return share::refuse_prefix(update);
        }
        return share::apply_prefix(shard, update);
    }
    let now_fo = fo_time(now).unwrap_or(FoTime(0));
    let mut outcomes = {
        let view: &Shard = shard;
        receive_update(
            role,
            now_fo,
            update,
            |addr, len| in_scope(view, subnets, &resource(addr, len)),
            |ia, it| {
                let l = view.lease(&resource(it.addr, it.prefix_len))?;
                Some(LocalLease {
                    status: status_of(l.state),
                    client: (!l.duid.is_empty()).then(|| ClientIdentity {
                        duid: &l.duid,
                        iaid: ia.map_or(l.iaid, |_| l.iaid),
                    }),
                    times: local_times(l),
                })
            },
        )
    };
    if let BindingUpdate::Client(c) = update {
        for ((ia, it), outcome) in update.items().zip(outcomes.items.iter_mut()) {
            let ItemOutcome::Accept(times) = *outcome else {
                continue;
            };
            let (Some(ia), Some(mut state)) = (ia, state_of(it.status)) else {
                continue;
            };
            // Recovering: a binding the partner holds as EXPIRED or RELEASED may be one we
            // extended unseen before we lost our records, up to the partner-lifetime it acked
            // us plus the MCLT. Keep it bound until then, and refuse the free so the partner
            // keeps it too (it resends; our own EXPIRED follows when the hold ends).
            let held_until = recovering_mclt
                .zip(it.expiration_time)
                .map(|(mclt, x)| unix_time(x) + u64::from(mclt))
                .filter(|&until| until > now && state.is_pending_free());
            if let Some(until) = held_until {
                state = LeaseState::Bound;
                *outcome = ItemOutcome::Reject(ItemReject::Conflict(
                    RejectReason::OutdatedBindingInformation,
                ));
                let r = resource(it.addr, it.prefix_len);
                shard.apply_partner(Lease {
                    resource: r,
                    duid: c.duid.clone(),
                    iaid: ia.iaid,
                    subnet_id: shard.subnet_of(&r).unwrap_or(0),
                    preferred_s: 0,
                    valid_s: it.valid_s,
                    cltt: it.clt_time.map_or(0, unix_time),
                    expires_at: until,
                    state,
                    fo: tandem_lease::FoData {
                        start_time_of_state: now,
                        expiration_time: times.expiration_time.map_or(0, unix_time),
                        t1_s: ia.t1_s,
                        t2_s: ia.t2_s,
                        ..tandem_lease::FoData::default()
                    },
                });
                continue;
            }
            let r = resource(it.addr, it.prefix_len);
            let mut cltt = it.clt_time.map_or(0, unix_time);
            let mut expires_at = it
                .state_expiration_time
                .map_or(cltt.saturating_add(u64::from(it.valid_s)), unix_time);
            if let (Some(mclt), LeaseState::Bound) = (recovering_mclt, state) {
                let acked = it.expiration_time.map_or(0, unix_time);
                if acked != 0 {
                    expires_at = expires_at.max(acked + u64::from(mclt));
                }
            }
            // accept(3) takes any ACTIVE update for the same client, even an old one re-sent
            // after a reconnect: it must not shorten what we know the client may hold.
            if let Some(old) = shard.lease(&r) {
                if old.duid == c.duid && old.state == state {
                    cltt = cltt.max(old.cltt);
                    expires_at = expires_at.max(old.expires_at);
                }
            }
            let lease = Lease {
                resource: r,
                duid: c.duid.clone(),
                iaid: ia.iaid,
                subnet_id: shard.subnet_of(&r).unwrap_or(0),
                preferred_s: it.preferred_s,
                valid_s: it.valid_s,
                cltt,
                expires_at,
                state,
                fo: tandem_lease::FoData {
                    tell_partner: false,
                    start_time_of_state: unix_time(times.start_time_of_state),
                    partner_lifetime: 0,
                    acked_partner_lifetime: 0,
                    expiration_time: times.expiration_time.map_or(0, unix_time),
                    partner_raw_clt_time: times.partner_raw_clt_time.map_or(0, |t| t.0),
                    t1_s: ia.t1_s,
                    t2_s: ia.t2_s,
                },
            };
            shard.apply_partner(lease);
        }
    }
    reply_to(update, &outcomes).unwrap_or(BindingReply {
        status: Some(StatusCode::UnspecFail),
        container: ReplyContainer::Empty,
    })
}

/// Is `r` in a pool of one of `subnets` (any pool when `None`)?
fn in_scope(shard: &Shard, subnets: Option<&[u32]>, r: &Resource) -> bool {
    shard
        .subnet_of(r)
        .is_some_and(|s| subnets.is_none_or(|list| list.contains(&s)))
}

/// The partner answered `sent` with `reply` (RFC 8156 §7.7; R39): each acknowledged item
/// raises acked-partner-lifetime and, when it still describes the lease, clears the flag;
/// acknowledged releases and expiries are freed. For a top-level IAPREFIX the hand-over
/// completes or, refused, ends (§4.2.2).
pub fn apply_reply(shard: &mut Shard, reply: &BindingReply, sent: &BindingUpdate) {
    if let BindingUpdate::Prefix { .. } = sent {
        return share::prefix_replied(shard, reply, sent);
    }
    for acked in reply.acked_items() {
        let Some((_, it)) = sent
            .items()
            .find(|(_, it)| it.addr == acked.addr && it.prefix_len == acked.prefix_len)
        else {
            continue;
        };
        let Some(state) = state_of(it.status) else {
            continue;
        };
        let r = resource(it.addr, it.prefix_len);
        let Some(l) = shard.lease(&r) else {
            continue;
        };
        // The lifetime we proposed is what the lease stores; a repeated, already acknowledged
        // one (stored 0) stays 0 so the identity check below still matches.
        let sent_pl = it.partner_lifetime.map_or(0, unix_time);
        let pl = if l.fo.partner_lifetime == 0 {
            0
        } else {
            sent_pl
        };
        let ack = PartnerAck {
            state,
            start_time_of_state: unix_time(it.start_time_of_state),
            cltt: it.clt_time.map_or(0, unix_time),
            partner_lifetime: pl,
        };
        shard.partner_acked(&r, &ack);
    }
}

/// Periodic work for a shard with failover subnets: expiry (failover subnets keep expired
/// leases as EXPIRED until the partner acks), and in PARTNER-DOWN, once MCLT has passed since
/// entering it, the release of every unacknowledged RELEASED / EXPIRED lease older than MCLT
/// (RFC 8156 §8.4.1; R56; OPEN-5). Records changes; returns how many leases it touched.
pub fn tick(shard: &mut Shard, engine: &Engine, now: u64) -> usize {
    shard.reclaim_expired(now) + engine.free_unacked(shard, now)
}
