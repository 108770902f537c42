//! Choosing and committing the resources of one IA [RFC 8415 §18.3.1, §18.3.2, §18.3.4].
//!
//! Order of preference for an IA_NA / IA_PD that gets new resources:
//! 1. the client's host reservation on this link: the i-th IA_NA gets the i-th reserved address,
//!    the i-th IA_PD the i-th reserved prefix (when still available to this client);
//! 2. the IA's existing binding (same DUID, kind and IAID) while it is appropriate for the link —
//!    so Solicit → Advertise → Request gives the same address, and so does a restart;
//! 3. a dynamic allocation from the link's pools in configuration order, passing the client's
//!    hint to [`Shard::allocate`] when it lies in a pool (an IAPREFIX `::/len` length hint
//!    prefers pools delegating that length [RFC 8415 §18.2.1]).
//!
//! On a failover link (RFC 8156 §4.2.2.1) a Released or Expired lease of the same IA, which the
//! shard keeps until the partner acks it, is given back to its client before anything new, and
//! new resources are allocated only in states that may allocate (renew-responsive ones do not).
//!
//! An Advertise does not bind. Its Request normally names the advertised resource as a hint, and
//! `allocate` takes a free hint, so the Request gets what was advertised. Two IAs of one
//! Advertise could be offered the same free resource (nothing is bound in between); the offer
//! is then moved on by trying up to [`ADVERTISE_STEP_TRIES`] following resources as hints, and
//! the IA is left without a resource if all of them are taken.

use std::net::Ipv6Addr;

use tandem_lease::{FoData, Lease, LeaseKind, LeaseState, PoolId, Resource, Shard};

use crate::compile::Link;
use crate::failover::{partner_lifetime, FoLink};
use crate::fixed::FixedVec;
use crate::plan::{timers, LeaseOut};
use crate::policy::Lifetimes;
use crate::scan::{Hint, IaRequest, IaType, HINTS_PER_IA_MAX, IAS_MAX};

/// How many following resources an Advertise tries when its first choice is already offered to
/// another IA of the same reply. Covers one step per shard for up to this many shards.
pub(crate) const ADVERTISE_STEP_TRIES: u128 = 64;

/// Resources of one IA.
pub(crate) type IaResources = FixedVec<Resource, HINTS_PER_IA_MAX>;
/// Resources already placed in this reply (two IAs never get the same one).
pub(crate) type Taken = FixedVec<Resource, { IAS_MAX * HINTS_PER_IA_MAX }>;

/// The client, link and time of one exchange.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub(crate) link: &'a Link,
    pub(crate) duid: &'a [u8],
    pub(crate) now: u64,
    /// The link's failover relationship, if any.
    pub(crate) fo: Option<FoLink>,
}

impl Ctx<'_> {
    /// May resources the client does not hold yet be handed out (always, without failover)?
    pub(crate) fn may_allocate(&self) -> bool {
        self.fo.is_none_or(|f| f.may_allocate())
    }

    /// The lifetimes a grant of `r` gets now: the link's, cut by failover (RFC 8156 §4.4).
    pub(crate) fn lifetimes(&self, shard: &Shard, r: &Resource) -> Lifetimes {
        let policy = self.link.lifetimes_for(r.kind);
        match self.fo {
            None => policy,
            Some(fo) => fo.lifetimes(policy, shard.lease(r), self.now),
        }
    }
}

/// The lease kind of an IA type (IA_TA is never served, see the crate docs).
pub(crate) fn kind_of(ty: IaType) -> LeaseKind {
    match ty {
        IaType::Pd => LeaseKind::Pd,
        IaType::Na | IaType::Ta => LeaseKind::Na,
    }
}

/// Bound leases of one IA of this client (at most [`HINTS_PER_IA_MAX`]).
pub(crate) fn bound(shard: &Shard, duid: &[u8], kind: LeaseKind, iaid: u32) -> IaResources {
    let mut out = FixedVec::new();
    for lease in shard.ia_leases(duid, kind, iaid) {
        if lease.state == LeaseState::Bound && !out.push(lease.resource) {
            break;
        }
    }
    out
}

/// Is `r` appropriate for the link [RFC 8415 §18.3.2, §18.3.4]: an address or a prefix inside
/// one of the link's pools or reservations.
pub(crate) fn appropriate(link: &Link, r: &Resource) -> bool {
    match r.kind {
        LeaseKind::Pd => link.prefix_appropriate(r.addr, r.prefix_len),
        _ => link.address_appropriate(r.addr),
    }
}

/// The resource a hint names (an address, or a prefix with its length).
pub(crate) fn hint_resource(kind: LeaseKind, hint: &Hint) -> Resource {
    let prefix_len = if kind == LeaseKind::Pd {
        hint.prefix_len
    } else {
        128
    };
    Resource {
        kind,
        addr: hint.addr,
        prefix_len,
    }
}

/// The IAADDR / IAPREFIX of a resource with the given lifetimes.
pub(crate) fn lease_out(r: &Resource, l: &Lifetimes) -> LeaseOut {
    LeaseOut {
        addr: r.addr,
        prefix_len: r.prefix_len,
        preferred_s: l.preferred_s,
        valid_s: l.valid_s,
    }
}

/// The IAADDR / IAPREFIX of a resource with lifetimes 0 (no longer the client's).
pub(crate) fn lease_out_zero(r: &Resource) -> LeaseOut {
    LeaseOut {
        addr: r.addr,
        prefix_len: r.prefix_len,
        preferred_s: 0,
        valid_s: 0,
    }
}

/// Records (or extends) the binding of `r` to this client's IA, from `now`, with lifetimes `l`.
/// On a failover link the lease also carries its T1/T2 and the partner-lifetime to propose
/// (RFC 8156 §7.3; R30); the reply's final T1/T2 are set later when they differ
/// (`Shard::set_grant_timers`).
pub(crate) fn bind(ctx: &Ctx<'_>, shard: &mut Shard, iaid: u32, r: Resource, l: &Lifetimes) {
    let mut fo = FoData::default();
    if ctx.fo.is_some() {
        let (t1_s, t2_s) = timers(l);
        let desired_s = ctx.link.lifetimes_for(r.kind).valid_s;
        fo.t1_s = t1_s;
        fo.t2_s = t2_s;
        fo.partner_lifetime = partner_lifetime(ctx.now, t1_s, desired_s);
    }
    shard.bind(Lease {
        resource: r,
        duid: ctx.duid.into(),
        iaid,
        subnet_id: ctx.link.id.0,
        preferred_s: l.preferred_s,
        valid_s: l.valid_s,
        cltt: ctx.now,
        expires_at: ctx.now.saturating_add(u64::from(l.valid_s)),
        state: LeaseState::Bound,
        fo,
    });
}

/// Chooses the resources of one IA_NA / IA_PD (see the module docs). Does not bind; adds the
/// choice to `taken`. Empty when nothing can be assigned.
pub(crate) fn choose(
    ctx: &Ctx<'_>,
    shard: &mut Shard,
    ia: &IaRequest,
    taken: &mut Taken,
) -> IaResources {
    let kind = kind_of(ia.ty);
    let mut out: IaResources = FixedVec::new();
    if let Some(r) = reserved_for(ctx, ia, kind) {
        if !contains(taken, &r) && shard.is_available(&r, ctx.duid, ctx.now) {
            out.push(r);
            taken.push(r);
            return out;
        }
    }
    for r in bound(shard, ctx.duid, kind, ia.iaid).iter() {
        if appropriate(ctx.link, r) && !contains(taken, r) {
            out.push(*r);
            taken.push(*r);
        }
    }
    if !out.is_empty() {
        return out;
    }
    if ctx.fo.is_some() {
        // Released / Expired, kept until the partner acks: its client may have it back.
        for l in shard.ia_leases(ctx.duid, kind, ia.iaid) {
            let r = l.resource;
            if l.state.is_pending_free() && appropriate(ctx.link, &r) && !contains(taken, &r) {
                out.push(r);
                taken.push(r);
                return out;
            }
        }
    }
    if !ctx.may_allocate() {
        return out;
    }
    if let Some(r) = allocate(ctx, shard, ia, kind, taken) {
        out.push(r);
        taken.push(r);
    }
    out
}

/// Whether this link could ever give the client a resource of `kind` (pools or a reservation):
/// when not, a Renew for an unknown IA gets NoBinding rather than NoAddrsAvail.
pub(crate) fn can_create(ctx: &Ctx<'_>, ia: &IaRequest) -> bool {
    let has_pool = match kind_of(ia.ty) {
        LeaseKind::Pd => !ctx.link.pd_pools.is_empty(),
        _ => !ctx.link.na_pools.is_empty(),
    };
    has_pool || reserved_for(ctx, ia, kind_of(ia.ty)).is_some()
}

fn reserved_for(ctx: &Ctx<'_>, ia: &IaRequest, kind: LeaseKind) -> Option<Resource> {
    let r = ctx.link.reservations.get(ctx.duid)?;
    match kind {
        LeaseKind::Pd => r
            .prefixes
            .get(ia.index)
            .map(|&(addr, prefix_len)| Resource {
                kind,
                addr,
                prefix_len,
            }),
        _ => r.addresses.get(ia.index).map(|&addr| Resource {
            kind,
            addr,
            prefix_len: 128,
        }),
    }
}

fn contains(taken: &Taken, r: &Resource) -> bool {
    taken.iter().any(|t| t == r)
}

/// A dynamic allocation for one IA, honouring the client's hints and the pool order.
fn allocate(
    ctx: &Ctx<'_>,
    shard: &mut Shard,
    ia: &IaRequest,
    kind: LeaseKind,
    taken: &Taken,
) -> Option<Resource> {
    if kind == LeaseKind::Pd {
        return allocate_prefix(ctx, shard, ia, taken);
    }
    let link = ctx.link;
    for hint in ia.hints.iter().filter(|h| !h.is_unspecified()) {
        let a = u128::from(hint.addr);
        if let Some(pool) = link.na_pools.iter().find(|p| p.first <= a && a <= p.last) {
            if let Some(r) = from_pool(ctx, shard, pool.id, Some(hint.addr), 1, taken) {
                return Some(r);
            }
        }
    }
    link.na_pools
        .iter()
        .find_map(|p| from_pool(ctx, shard, p.id, None, 1, taken))
}

fn allocate_prefix(
    ctx: &Ctx<'_>,
    shard: &mut Shard,
    ia: &IaRequest,
    taken: &Taken,
) -> Option<Resource> {
    let pools = &ctx.link.pd_pools;
    let stride = |len: u8| {
        if len >= 128 {
            1
        } else {
            1u128 << (128 - u32::from(len))
        }
    };
    let mut wanted_len = None;
    for hint in ia.hints.iter() {
        if hint.is_unspecified() {
            if hint.prefix_len != 0 {
                wanted_len = wanted_len.or(Some(hint.prefix_len));
            }
            continue;
        }
        let a = u128::from(hint.addr);
        let pool = pools.iter().find(|p| {
            p.delegated_len == hint.prefix_len
                && crate::link::prefix_contains(p.prefix, p.prefix_len, a)
        });
        if let Some(p) = pool {
            if let Some(r) = from_pool(
                ctx,
                shard,
                p.id,
                Some(hint.addr),
                stride(p.delegated_len),
                taken,
            ) {
                return Some(r);
            }
        }
        wanted_len = wanted_len.or(Some(hint.prefix_len));
    }
    let preferred = pools.iter().filter(|p| Some(p.delegated_len) == wanted_len);
    let others = pools.iter().filter(|p| Some(p.delegated_len) != wanted_len);
    preferred
        .chain(others)
        .find_map(|p| from_pool(ctx, shard, p.id, None, stride(p.delegated_len), taken))
}

/// One allocation from `pool`; when the result is already offered in this reply (only possible
/// in an Advertise), the following resources are tried as hints.
fn from_pool(
    ctx: &Ctx<'_>,
    shard: &mut Shard,
    pool: PoolId,
    hint: Option<Ipv6Addr>,
    stride: u128,
    taken: &Taken,
) -> Option<Resource> {
    let first = shard.allocate(pool, hint, ctx.now)?;
    if !contains(taken, &first) {
        return Some(first);
    }
    let base = u128::from(first.addr);
    for k in 1..=ADVERTISE_STEP_TRIES {
        let next = base.checked_add(k.checked_mul(stride)?)?;
        let r = shard.allocate(pool, Some(Ipv6Addr::from(next)), ctx.now)?;
        if !contains(taken, &r) {
            return Some(r);
        }
    }
    None
}
