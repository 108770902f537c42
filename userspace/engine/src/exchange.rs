//! Lease decisions of each client message type [RFC 8415 §18.3]. Each function fills a
//! [`Plan`] and records lease changes in the shard; a function that returns `Err` has changed
//! nothing.
//!
//! IA_TA (temporary addresses; removed by RFC 9915): never assigned. In Solicit, Request and a
//! Rapid Commit Solicit the IA_TA is answered with NoAddrsAvail so the client stops asking;
//! in every other message it is ignored (Confirm still checks its addresses for on-link-ness).

use tandem_lease::{LeaseKind, Resource, Shard};

use crate::assign::{
    appropriate, bind, bound, can_create, choose, hint_resource, kind_of, lease_out,
    lease_out_zero, Ctx, Taken,
};
use crate::failover::partner_lifetime;
use crate::fixed::FixedVec;
use crate::plan::{
    timers, IaOut, Plan, ALL_ON_LINK, NOT_ON_LINK, NO_ADDRS_AVAIL, NO_BINDING, NO_PREFIX_AVAIL,
    SUCCESS,
};
use crate::policy::Lifetimes;
use crate::scan::{IaRequest, IaType, Scan};
use crate::DropReason;

/// How a Solicit-like message assigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assign {
    /// Solicit → Advertise: offer, bind nothing [RFC 8415 §18.3.1, §18.3.9].
    Offer,
    /// Request, or Solicit with Rapid Commit: bind and Reply [RFC 8415 §18.3.1, §18.3.2].
    Commit,
}

/// Lifetimes of the kinds of lease a reply grants (the tightest per kind), for T1/T2, and the
/// resources it binds.
struct Granted {
    na: Option<Lifetimes>,
    pd: Option<Lifetimes>,
    bound: Taken,
}

impl Granted {
    fn none() -> Self {
        Self {
            na: None,
            pd: None,
            bound: FixedVec::new(),
        }
    }

    /// A lease of `kind` is given with lifetimes `l`.
    fn note(&mut self, kind: LeaseKind, l: &Lifetimes) {
        let slot = match kind {
            LeaseKind::Pd => &mut self.pd,
            _ => &mut self.na,
        };
        *slot = Some(match *slot {
            None => *l,
            Some(prev) => tighter(&prev, l),
        });
    }

    /// `r` was bound in this exchange.
    fn bind(&mut self, r: Resource) {
        self.bound.push(r);
    }

    /// Sets the reply's T1/T2 [RFC 8415 §18.3.2]; on a failover link every lease bound here
    /// then carries those T1/T2 and the partner-lifetime they imply (RFC 8156 §7.4; R30).
    fn apply(&self, ctx: &Ctx<'_>, shard: &mut Shard, plan: &mut Plan<'_>) {
        let mut kinds: FixedVec<Lifetimes, 2> = FixedVec::new();
        for l in [self.na, self.pd].into_iter().flatten() {
            kinds.push(l);
        }
        plan.set_timers(kinds.as_slice());
        if ctx.fo.is_none() {
            return;
        }
        for r in self.bound.iter() {
            let desired_s = ctx.link.lifetimes_for(r.kind).valid_s;
            let proposed = partner_lifetime(ctx.now, plan.t1_s, desired_s);
            shard.set_grant_timers(r, plan.t1_s, plan.t2_s, proposed);
        }
    }
}

/// Lifetimes whose timers are the smaller of both (equal inputs are returned unchanged).
fn tighter(a: &Lifetimes, b: &Lifetimes) -> Lifetimes {
    if a == b {
        return *a;
    }
    let ((a1, a2), (b1, b2)) = (timers(a), timers(b));
    Lifetimes {
        preferred_s: a.preferred_s.min(b.preferred_s),
        valid_s: a.valid_s.min(b.valid_s),
        t1_s: Some(a1.min(b1)),
        t2_s: Some(a2.min(b2)),
    }
}

/// Solicit (Advertise or Rapid Commit Reply) and Request [RFC 8415 §18.3.1, §18.3.2, §18.3.9].
pub(crate) fn assign(
    ctx: &Ctx<'_>,
    shard: &mut Shard,
    scan: &Scan<'_>,
    mode: Assign,
    plan: &mut Plan<'_>,
) {
    let mut taken: Taken = FixedVec::new();
    let mut granted = Granted::none();
    for ia in scan.ias.iter() {
        let out = match ia.ty {
            IaType::Ta => IaOut::with_status(IaType::Ta, ia.iaid, NO_ADDRS_AVAIL),
            IaType::Na if mode == Assign::Commit && hints_off_link(ctx, ia) => {
                // Request naming addresses not on the client's link [RFC 8415 §18.3.2].
                IaOut::with_status(IaType::Na, ia.iaid, NOT_ON_LINK)
            }
            IaType::Na | IaType::Pd => {
                let chosen = choose(ctx, shard, ia, &mut taken);
                let mut out = IaOut::new(ia.ty, ia.iaid);
                for r in chosen.iter() {
                    let l = ctx.lifetimes(shard, r);
                    if mode == Assign::Commit {
                        bind(ctx, shard, ia.iaid, *r, &l);
                        granted.bind(*r);
                    }
                    out.leases.push(lease_out(r, &l));
                    granted.note(r.kind, &l);
                }
                if chosen.is_empty() {
                    out.status = Some(unavailable(ia.ty));
                }
                out
            }
        };
        plan.push_ia(out);
    }
    granted.apply(ctx, shard, plan);
    let served = plan.ias.iter().any(|ia| ia.has_live_lease());
    if mode == Assign::Offer && !served {
        // Nothing to offer: a top-level NoAddrsAvail as well as the per-IA statuses, which
        // serves RFC 3315 §17.2.2 clients and RFC 8415 §18.3.9 clients alike.
        plan.status = Some(NO_ADDRS_AVAIL);
    }
}

/// Renew [RFC 8415 §18.3.4] and Rebind [RFC 8415 §18.3.5].
///
/// Known IA: its bound leases are extended when still appropriate for the link, returned with
/// lifetimes 0 otherwise; addresses the client lists that are not appropriate are returned with
/// lifetimes 0. Unknown IA: Renew creates a binding when the link has pools (NoAddrsAvail /
/// NoPrefixAvail when they are exhausted, NoBinding when the link has none of that kind);
/// Rebind creates only when the link is configured for Rapid Commit (RFC 8415 §18.3.5 SHOULD),
/// else answers NoBinding — but when no IA of the Rebind is known, created, or carries a
/// lifetime-0 address, the Rebind is dropped (`rebind_unknown_binding`).
pub(crate) fn extend(
    ctx: &Ctx<'_>,
    shard: &mut Shard,
    scan: &Scan<'_>,
    rebind: bool,
    plan: &mut Plan<'_>,
) -> Result<(), DropReason> {
    if rebind && !rebind_answerable(ctx, shard, scan) {
        return Err(DropReason::RebindUnknownBinding);
    }
    let mut taken: Taken = FixedVec::new();
    let mut granted = Granted::none();
    for ia in scan.ias.iter().filter(|ia| ia.ty != IaType::Ta) {
        let kind = kind_of(ia.ty);
        let known = bound(shard, ctx.duid, kind, ia.iaid);
        let mut out = IaOut::new(ia.ty, ia.iaid);
        for r in known.iter() {
            if !appropriate(ctx.link, r) {
                out.leases.push(lease_out_zero(r));
                continue;
            }
            let l = ctx.lifetimes(shard, r);
            bind(ctx, shard, ia.iaid, *r, &l);
            granted.note(kind, &l);
            granted.bind(*r);
            taken.push(*r);
            out.leases.push(lease_out(r, &l));
        }
        for hint in ia.hints.iter().filter(|h| !h.is_unspecified()) {
            let r = hint_resource(kind, hint);
            let listed = known.iter().any(|k| k.addr == r.addr);
            if !listed && !appropriate(ctx.link, &r) && !out.leases.is_full() {
                out.leases.push(lease_out_zero(&r));
            }
        }
        if known.is_empty() {
            if !rebind || ctx.link.rapid_commit {
                create(ctx, shard, ia, &mut taken, &mut granted, &mut out);
            } else {
                out.status = Some(NO_BINDING);
            }
        }
        plan.push_ia(out);
    }
    granted.apply(ctx, shard, plan);
    Ok(())
}

/// A binding for an IA the server does not know (Renew, or Rebind with Rapid Commit). A
/// failover state that may not allocate (renew-responsive) answers NoBinding, unless the IA's
/// own Released / Expired lease is still kept for it.
fn create(
    ctx: &Ctx<'_>,
    shard: &mut Shard,
    ia: &IaRequest,
    taken: &mut Taken,
    granted: &mut Granted,
    out: &mut IaOut,
) {
    if !can_create(ctx, ia) {
        out.status = Some(NO_BINDING);
        return;
    }
    let chosen = choose(ctx, shard, ia, taken);
    if chosen.is_empty() {
        out.status = Some(if ctx.may_allocate() {
            unavailable(ia.ty)
        } else {
            NO_BINDING
        });
    }
    for r in chosen.iter() {
        let l = ctx.lifetimes(shard, r);
        bind(ctx, shard, ia.iaid, *r, &l);
        granted.note(r.kind, &l);
        granted.bind(*r);
        if !out.leases.is_full() {
            out.leases.push(lease_out(r, &l));
        }
    }
}

/// Will a Rebind get a Reply: some IA known, creatable, or with an inappropriate address?
fn rebind_answerable(ctx: &Ctx<'_>, shard: &Shard, scan: &Scan<'_>) -> bool {
    scan.ias.iter().filter(|ia| ia.ty != IaType::Ta).any(|ia| {
        let kind = kind_of(ia.ty);
        ctx.link.rapid_commit
            || !bound(shard, ctx.duid, kind, ia.iaid).is_empty()
            || ia
                .hints
                .iter()
                .any(|h| !h.is_unspecified() && !appropriate(ctx.link, &hint_resource(kind, h)))
    })
}

/// Release [RFC 8415 §18.3.7] (`decline == false`) and Decline [RFC 8415 §18.3.8].
///
/// Listed resources bound to the named IA of this client are released (or, for Decline, held
/// back for `decline_hold_s` [`Shard::decline`]); others are ignored. IAs without a binding are
/// returned with NoBinding; the top-level status is Success. Decline concerns addresses: its
/// IA_PD and IA_TA options are ignored.
pub(crate) fn release(
    ctx: &Ctx<'_>,
    shard: &mut Shard,
    scan: &Scan<'_>,
    decline_hold_s: Option<u32>,
    plan: &mut Plan<'_>,
) {
    for ia in scan.ias.iter() {
        let skip = match ia.ty {
            IaType::Ta => true,
            IaType::Pd => decline_hold_s.is_some(),
            IaType::Na => false,
        };
        if skip {
            continue;
        }
        let kind = kind_of(ia.ty);
        let known = bound(shard, ctx.duid, kind, ia.iaid);
        if known.is_empty() {
            plan.push_ia(IaOut::with_status(ia.ty, ia.iaid, NO_BINDING));
            continue;
        }
        for hint in ia.hints.iter() {
            let want = hint_resource(kind, hint);
            let Some(r) = known.iter().find(|k| **k == want) else {
                continue;
            };
            match decline_hold_s {
                Some(hold_s) => shard.decline(r, ctx.now, hold_s),
                None => shard.release(r, ctx.now),
            }
        }
    }
    plan.status = Some(SUCCESS);
}

/// Confirm [RFC 8415 §18.3.3]: Success when every address is on the link, NotOnLink otherwise;
/// no Reply at all when the message names no address.
pub(crate) fn confirm(
    ctx: &Ctx<'_>,
    scan: &Scan<'_>,
    plan: &mut Plan<'_>,
) -> Result<(), DropReason> {
    let mut any = false;
    let mut all_on_link = true;
    for ia in scan.ias.iter().filter(|ia| ia.ty != IaType::Pd) {
        for hint in ia.hints.iter().filter(|h| !h.is_unspecified()) {
            any = true;
            all_on_link &= ctx.link.on_link(hint.addr);
        }
    }
    if !any {
        return Err(DropReason::ConfirmWithoutAddresses);
    }
    plan.status = Some(if all_on_link {
        ALL_ON_LINK
    } else {
        NOT_ON_LINK
    });
    Ok(())
}

fn hints_off_link(ctx: &Ctx<'_>, ia: &IaRequest) -> bool {
    ia.hints
        .iter()
        .any(|h| !h.is_unspecified() && !ctx.link.on_link(h.addr))
}

fn unavailable(ty: IaType) -> crate::plan::Status {
    match ty {
        IaType::Pd => NO_PREFIX_AVAIL,
        IaType::Na | IaType::Ta => NO_ADDRS_AVAIL,
    }
}
