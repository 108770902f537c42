//! The decided content of one reply, on the stack, before any byte is written.
//!
//! Processing (the `exchange` module) fills a [`Plan`]; `emit` turns it into bytes. Keeping
//! them apart lets T1/T2 be computed across all IAs of the reply before the first IA is written
//! [RFC 8415 §18.3.2: T1/T2 MUST be the same across all IAs of one Reply].

use std::net::Ipv6Addr;

use tandem_wire::{MessageType, StatusCode};

use crate::fixed::FixedVec;
use crate::policy::Lifetimes;
use crate::scan::{IaType, Wants, HINTS_PER_IA_MAX, IAS_MAX};

/// A status code and its human-readable message [RFC 8415 §21.13].
pub(crate) type Status = (StatusCode, &'static str);

pub(crate) const NO_ADDRS_AVAIL: Status = (StatusCode::NoAddrsAvail, "no addresses available");
pub(crate) const NO_PREFIX_AVAIL: Status = (StatusCode::NoPrefixAvail, "no prefixes available");
pub(crate) const NO_BINDING: Status = (StatusCode::NoBinding, "no binding for this IA");
pub(crate) const NOT_ON_LINK: Status = (StatusCode::NotOnLink, "address not on link");
pub(crate) const SUCCESS: Status = (StatusCode::Success, "success");
pub(crate) const ALL_ON_LINK: Status = (StatusCode::Success, "all addresses on link");
pub(crate) const USE_MULTICAST: Status = (StatusCode::UseMulticast, "use multicast");

/// One IAADDR or IAPREFIX of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LeaseOut {
    pub(crate) addr: Ipv6Addr,
    pub(crate) prefix_len: u8,
    pub(crate) preferred_s: u32,
    pub(crate) valid_s: u32,
}

/// One IA of a reply.
#[derive(Debug, Clone)]
pub(crate) struct IaOut {
    pub(crate) ty: IaType,
    pub(crate) iaid: u32,
    pub(crate) status: Option<Status>,
    pub(crate) leases: FixedVec<LeaseOut, HINTS_PER_IA_MAX>,
}

impl IaOut {
    pub(crate) fn new(ty: IaType, iaid: u32) -> Self {
        Self {
            ty,
            iaid,
            status: None,
            leases: FixedVec::new(),
        }
    }

    pub(crate) fn with_status(ty: IaType, iaid: u32, status: Status) -> Self {
        Self {
            status: Some(status),
            ..Self::new(ty, iaid)
        }
    }

    /// Does the IA hold a lease with a non-zero valid lifetime (an "applicable" IA for T1/T2)?
    pub(crate) fn has_live_lease(&self) -> bool {
        self.leases.iter().any(|l| l.valid_s > 0)
    }
}

/// Everything a reply will say.
#[derive(Clone)]
pub(crate) struct Plan<'p> {
    pub(crate) msg_type: MessageType,
    /// Top-level status code.
    pub(crate) status: Option<Status>,
    pub(crate) ias: FixedVec<IaOut, IAS_MAX>,
    pub(crate) rapid_commit: bool,
    /// Advertise: add OPTION_PREFERENCE when configured [RFC 8415 §18.3.9].
    pub(crate) preference: bool,
    /// Which ORO answers to add; `None` for replies that carry only identifiers and a status
    /// (UseMulticast [RFC 8415 §18.4], Confirm, Release, Decline).
    pub(crate) wants: Option<Wants>,
    /// Information-request reply: INFORMATION_REFRESH_TIME may be added [RFC 8415 §21.23].
    pub(crate) information: bool,
    /// OPTION_CLIENT_FQDN to send: (flags, wire-format name) [RFC 4704 §5].
    pub(crate) fqdn: Option<(u8, &'p [u8])>,
    /// T1 and T2 of every IA with leases (0 for IAs without).
    pub(crate) t1_s: u32,
    pub(crate) t2_s: u32,
}

impl Plan<'_> {
    pub(crate) fn new(msg_type: MessageType) -> Self {
        Self {
            msg_type,
            status: None,
            ias: FixedVec::new(),
            rapid_commit: false,
            preference: false,
            wants: None,
            information: false,
            fqdn: None,
            t1_s: 0,
            t2_s: 0,
        }
    }

    /// Adds an IA (capacity equals the scan cap, so a scanned message always fits).
    pub(crate) fn push_ia(&mut self, ia: IaOut) {
        self.ias.push(ia);
    }

    /// Sets T1/T2 from the lifetimes of the kinds of lease the reply grants: the smallest T1 and
    /// the smallest T2 over them, so one value serves every IA [RFC 8415 §18.3.2, §21.4].
    pub(crate) fn set_timers(&mut self, granted: &[Lifetimes]) {
        let mut t1 = u32::MAX;
        let mut t2 = u32::MAX;
        let mut any = false;
        for l in granted {
            let (a, b) = timers(l);
            t1 = t1.min(a);
            t2 = t2.min(b);
            any = true;
        }
        if any {
            self.t1_s = t1.min(t2);
            self.t2_s = t2;
        }
    }
}

/// T1/T2 of one lifetime setting: configured, or 0.5 and 0.8 × preferred; an infinite preferred
/// lifetime gives infinite timers [RFC 8415 §21.4, §7.7].
pub(crate) fn timers(l: &Lifetimes) -> (u32, u32) {
    let p = l.preferred_s;
    let t1 = l
        .t1_s
        .unwrap_or(if p == u32::MAX { u32::MAX } else { p / 2 });
    let t2 = l.t2_s.unwrap_or(if p == u32::MAX {
        u32::MAX
    } else {
        (u64::from(p) * 4 / 5) as u32
    });
    (t1, t2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lt(p: u32, t1: Option<u32>, t2: Option<u32>) -> Lifetimes {
        Lifetimes {
            preferred_s: p,
            valid_s: p * 2,
            t1_s: t1,
            t2_s: t2,
        }
    }

    #[test]
    fn default_timers_are_half_and_four_fifths() {
        assert_eq!(timers(&lt(3600, None, None)), (1800, 2880));
        assert_eq!(timers(&lt(3600, Some(100), None)), (100, 2880));
        assert_eq!(
            timers(&Lifetimes {
                preferred_s: u32::MAX,
                valid_s: u32::MAX,
                t1_s: None,
                t2_s: None
            }),
            (u32::MAX, u32::MAX)
        );
    }

    #[test]
    fn timers_are_the_minimum_over_kinds() {
        let mut p = Plan::new(MessageType::Reply);
        p.set_timers(&[]);
        assert_eq!((p.t1_s, p.t2_s), (0, 0));
        p.set_timers(&[lt(3600, None, None), lt(1000, None, None)]);
        assert_eq!((p.t1_s, p.t2_s), (500, 800));
        // A configured T1 above another kind's T2 is clamped so T1 <= T2.
        p.set_timers(&[
            lt(3600, Some(3000), Some(3100)),
            lt(1000, Some(900), Some(950)),
        ]);
        assert_eq!((p.t1_s, p.t2_s), (900, 950));
        p.set_timers(&[lt(3600, Some(3000), Some(3100)), lt(100, None, None)]);
        assert_eq!((p.t1_s, p.t2_s), (50, 80));
    }
}
