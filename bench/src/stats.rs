//! Counters and latency histograms: one set per worker, merged after each step.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;
use tandem_wire::StatusCode;

/// Highest latency a histogram records, in nanoseconds (longer ones are clamped).
pub const LATENCY_MAX_NS: u64 = 60_000_000_000;

/// The exchanges measured, each with its own histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Solicit → Advertise (RFC 8415 §18.2.1).
    SolicitAdvertise,
    /// Request → Reply (§18.2.2).
    RequestReply,
    /// Renew → Reply (§18.2.4).
    RenewReply,
    /// Release → Reply (§18.2.7).
    ReleaseReply,
    /// Solicit with Rapid Commit → Reply (§18.2.1, §21.14).
    RapidCommit,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Self; 5] = [
        Self::SolicitAdvertise,
        Self::RequestReply,
        Self::RenewReply,
        Self::ReleaseReply,
        Self::RapidCommit,
    ];

    /// The kind's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::SolicitAdvertise => "solicit-advertise",
            Self::RequestReply => "request-reply",
            Self::RenewReply => "renew-reply",
            Self::ReleaseReply => "release-reply",
            Self::RapidCommit => "solicit-reply-rapid-commit",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// Status codes are counted in slots 0..STATUS_SLOTS-1 by value; the last slot holds the rest.
pub const STATUS_SLOTS: usize = 24;

/// One worker's (or the merged) counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Transactions started by the pacer (Solicit, Renew, Release; not Requests).
    pub started: u64,
    /// Messages sent, by kind.
    pub sent: [u64; 5],
    /// Answers matched to their transaction, by kind.
    pub received: [u64; 5],
    /// Transactions that got no answer within the wait, by kind.
    pub lost: [u64; 5],
    /// Answers to a transaction that was already over (timed out, or an earlier generation).
    pub late: u64,
    /// Further Advertises for a Solicit whose first Advertise the client took (the other server
    /// of a failover pair): ignored, neither an error nor a second answer to the transaction.
    pub extra_advertise: u64,
    /// Answers of a type the transaction does not expect, or for no client of ours.
    pub unexpected: u64,
    /// Datagrams that do not parse as an answer.
    pub malformed: u64,
    /// Pacer slots given up because every client tried was busy.
    pub busy_skips: u64,
    /// Exchanges that ended in a binding (Reply to Request or Rapid Commit with a lease).
    pub bound: u64,
    /// sendmmsg failures (datagrams not sent).
    pub send_errors: u64,
    /// Status codes seen in answers, by value.
    pub status: [u64; STATUS_SLOTS + 1],
}

impl Counters {
    /// Adds `o` into `self`.
    pub fn merge(&mut self, o: &Self) {
        self.started += o.started;
        for k in 0..5 {
            self.sent[k] += o.sent[k];
            self.received[k] += o.received[k];
            self.lost[k] += o.lost[k];
        }
        self.late += o.late;
        self.extra_advertise += o.extra_advertise;
        self.unexpected += o.unexpected;
        self.malformed += o.malformed;
        self.busy_skips += o.busy_skips;
        self.bound += o.bound;
        self.send_errors += o.send_errors;
        for (a, b) in self.status.iter_mut().zip(o.status.iter()) {
            *a += b;
        }
    }

    /// Counts one status code.
    pub fn count_status(&mut self, code: StatusCode) {
        let v = usize::from(u16::from(code)).min(STATUS_SLOTS);
        self.status[v] += 1;
    }

    /// The status codes seen, by name.
    pub fn status_names(&self) -> BTreeMap<String, u64> {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(v, n)| {
                let name = if v == STATUS_SLOTS {
                    "other".to_owned()
                } else {
                    format!("{:?}", StatusCode::from(v as u16))
                };
                (name, *n)
            })
            .collect()
    }

    /// Lost over sent, across kinds (0 when nothing was sent).
    pub fn loss(&self) -> f64 {
        let sent: u64 = self.sent.iter().sum();
        if sent == 0 {
            return 0.0;
        }
        self.lost.iter().sum::<u64>() as f64 / sent as f64
    }
}

/// One histogram per [`Kind`], in nanoseconds.
#[derive(Debug, Clone)]
pub struct Latencies {
    hist: [Histogram<u64>; 5],
}

impl Latencies {
    /// Empty histograms, 3 significant figures, 1 ns to [`LATENCY_MAX_NS`].
    pub fn new() -> Self {
        Self {
            hist: std::array::from_fn(|_| new_histogram()),
        }
    }

    /// Records one latency.
    pub fn record(&mut self, kind: Kind, ns: u64) {
        self.hist[kind.slot()].saturating_record(ns.clamp(1, LATENCY_MAX_NS));
    }

    /// Adds `o` into `self` (same bounds, so this cannot fail).
    pub fn merge(&mut self, o: &Self) {
        for (a, b) in self.hist.iter_mut().zip(o.hist.iter()) {
            // Both were built by new_histogram(), with the same bounds and precision.
            let _ = a.add(b);
        }
    }

    /// p50, p99, p99.9 and max of `kind` in microseconds.
    pub fn summary(&self, kind: Kind) -> LatencySummary {
        summarize(&self.hist[kind.slot()])
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds: low 1 ≥ 1, high ≥ 2 × low, 3 significant figures ≤ 5.
    Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("constant histogram bounds are valid")
}

/// Percentiles of one exchange kind, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest sample.
    pub max_us: f64,
}

/// Percentiles of `h` (nanoseconds) in microseconds; all zero for an empty histogram.
pub fn summarize(h: &Histogram<u64>) -> LatencySummary {
    let us = |ns: u64| ns as f64 / 1000.0;
    LatencySummary {
        count: h.len(),
        p50_us: us(h.value_at_quantile(0.50)),
        p99_us: us(h.value_at_quantile(0.99)),
        p999_us: us(h.value_at_quantile(0.999)),
        max_us: us(h.max()),
    }
}

/// Servers seen, by Server ID (RFC 8415 §21.3), with how many answers each sent. Small and
/// scanned linearly: a run talks to one server, or two for a failover pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerTable {
    servers: Vec<(Vec<u8>, ServerCounts)>,
}

/// Answers from one server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ServerCounts {
    /// Advertise messages.
    pub advertise: u64,
    /// Reply messages.
    pub reply: u64,
    /// Transactions this server won: its Advertise was the first, so the Request went to it
    /// (RFC 8415 §18.2.1: the client picks one Advertise and requests from its server).
    pub won: u64,
}

/// Most servers one table tracks; answers from more are counted in the last slot.
pub const SERVERS_MAX: usize = 8;

impl ServerTable {
    /// The slot of `duid`, adding it when new (allocates once per new server, not per packet).
    pub fn slot(&mut self, duid: &[u8]) -> u8 {
        if let Some(i) = self.servers.iter().position(|(d, _)| d == duid) {
            return i as u8;
        }
        if self.servers.len() >= SERVERS_MAX {
            return (SERVERS_MAX - 1) as u8;
        }
        self.servers.push((duid.to_vec(), ServerCounts::default()));
        (self.servers.len() - 1) as u8
    }

    /// The DUID in `slot`.
    pub fn duid(&self, slot: u8) -> Option<&[u8]> {
        self.servers
            .get(usize::from(slot))
            .map(|(d, _)| d.as_slice())
    }

    /// Counts one answer from the server in `slot`.
    pub fn count(&mut self, slot: u8, advertise: bool) {
        if let Some((_, c)) = self.servers.get_mut(usize::from(slot)) {
            if advertise {
                c.advertise += 1;
            } else {
                c.reply += 1;
            }
        }
    }

    /// Counts one transaction the server in `slot` won (the Request goes to it).
    pub fn win(&mut self, slot: u8) {
        if let Some((_, c)) = self.servers.get_mut(usize::from(slot)) {
            c.won += 1;
        }
    }

    /// Zeroes every count, keeping the slots (clients refer to servers by slot).
    pub fn reset_counts(&mut self) {
        for (_, c) in &mut self.servers {
            *c = ServerCounts::default();
        }
    }

    /// Adds `o`'s counts into `self`, by DUID.
    pub fn merge(&mut self, o: &Self) {
        for (duid, c) in &o.servers {
            let s = usize::from(self.slot(duid));
            if let Some((_, mine)) = self.servers.get_mut(s) {
                mine.advertise += c.advertise;
                mine.reply += c.reply;
                mine.won += c.won;
            }
        }
    }

    /// (DUID as lowercase hex, counts), in first-seen order.
    pub fn entries(&self) -> Vec<(String, ServerCounts)> {
        self.servers
            .iter()
            .map(|(d, c)| (d.iter().map(|b| format!("{b:02x}")).collect(), *c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_out_in_microseconds() {
        let mut l = Latencies::new();
        // 1..=1000 µs, one sample each.
        for us in 1..=1000u64 {
            l.record(Kind::RequestReply, us * 1000);
        }
        let s = l.summary(Kind::RequestReply);
        assert_eq!(s.count, 1000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.002 + 0.001;
        assert!(close(s.p50_us, 500.0), "{s:?}");
        assert!(close(s.p99_us, 990.0), "{s:?}");
        assert!(close(s.p999_us, 999.0), "{s:?}");
        assert!(close(s.max_us, 1000.0), "{s:?}");
        assert_eq!(l.summary(Kind::RenewReply).count, 0);
        assert_eq!(l.summary(Kind::RenewReply).max_us, 0.0);
    }

    #[test]
    fn merging_adds_samples_and_counters() {
        let mut a = Latencies::new();
        let mut b = Latencies::new();
        a.record(Kind::SolicitAdvertise, 100_000);
        b.record(Kind::SolicitAdvertise, 300_000);
        b.record(Kind::SolicitAdvertise, u64::MAX);
        a.merge(&b);
        let s = a.summary(Kind::SolicitAdvertise);
        assert_eq!(s.count, 3);
        assert!(s.max_us >= LATENCY_MAX_NS as f64 / 1000.0 * 0.999);
        let mut c = Counters::default();
        let mut d = Counters::default();
        c.sent[0] = 10;
        d.sent[0] = 90;
        d.lost[1] = 5;
        d.count_status(StatusCode::NoAddrsAvail);
        d.count_status(StatusCode::from(999));
        c.merge(&d);
        assert_eq!(c.sent[0], 100);
        assert!((c.loss() - 0.05).abs() < 1e-12);
        let names = c.status_names();
        assert_eq!(names.get("NoAddrsAvail"), Some(&1));
        assert_eq!(names.get("other"), Some(&1));
        assert_eq!(Counters::default().loss(), 0.0);
    }

    #[test]
    fn server_table_counts_by_duid_across_workers() {
        let mut a = ServerTable::default();
        let s1 = a.slot(b"one");
        let s2 = a.slot(b"two");
        assert_eq!((s1, s2, a.slot(b"one")), (0, 1, 0));
        a.count(s1, true);
        a.count(s2, false);
        let mut b = ServerTable::default();
        let t2 = b.slot(b"two");
        b.count(t2, false);
        b.count(t2, true);
        b.win(t2);
        b.win(7);
        a.merge(&b);
        let e = a.entries();
        assert_eq!(e[0].0, "6f6e65");
        assert_eq!(
            e[1].1,
            ServerCounts {
                advertise: 1,
                reply: 2,
                won: 1
            }
        );
        assert_eq!(e[0].1.won, 0);
        assert_eq!(a.duid(1), Some(&b"two"[..]));
        for i in 0..20u8 {
            assert!(usize::from(a.slot(&[i])) < SERVERS_MAX);
        }
    }
}
