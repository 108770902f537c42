//! JSON results: one record per step, and the whole run.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::stats::{Counters, Kind, Latencies, LatencySummary, ServerCounts, ServerTable};

/// One exchange kind's figures in a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindReport {
    /// Requests of this kind sent.
    pub sent: u64,
    /// Answers matched.
    pub received: u64,
    /// No answer within the wait.
    pub lost: u64,
    /// Latency percentiles (µs).
    pub latency: LatencySummary,
}

/// One server's answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerReport {
    /// Server DUID, hex.
    pub server_id: String,
    /// Counts.
    #[serde(flatten)]
    pub counts: ServerCounts,
}

/// One step of a run (the only step of an open-loop run).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    /// The rate asked for (transactions/s).
    pub offered_rate: f64,
    /// Transactions really started per second of the sending period.
    pub achieved_rate: f64,
    /// Length of the sending period (s).
    pub send_s: f64,
    /// Transactions started.
    pub started: u64,
    /// Completed exchanges that ended in a binding, per second of the sending period.
    pub bound_per_s: f64,
    /// Lost over sent, all kinds.
    pub loss: f64,
    /// Per exchange kind (only kinds that sent something).
    pub kinds: BTreeMap<&'static str, KindReport>,
    /// Answers after their transaction was over.
    pub late: u64,
    /// Further Advertises for a Solicit already answered (the other server of a failover
    /// pair), ignored: not errors, not answers.
    pub extra_advertise: u64,
    /// Answers matching no transaction.
    pub unexpected: u64,
    /// Datagrams that did not parse.
    pub malformed: u64,
    /// Pacer slots lost because the clients tried were all busy.
    pub busy_skips: u64,
    /// Datagrams that could not be sent.
    pub send_errors: u64,
    /// Exchanges that ended in a binding.
    pub bound: u64,
    /// Clients holding leases after the step.
    pub bound_clients: u64,
    /// Status codes seen, by name.
    pub status_codes: BTreeMap<String, u64>,
    /// Answers by server, with the transactions each won.
    pub servers: Vec<ServerReport>,
}

impl StepReport {
    /// The report of merged measurements.
    pub fn new(
        offered_rate: f64,
        send_s: f64,
        c: &Counters,
        l: &Latencies,
        servers: &ServerTable,
        bound_clients: u64,
    ) -> Self {
        let per_s = |n: u64| if send_s > 0.0 { n as f64 / send_s } else { 0.0 };
        let kinds = Kind::ALL
            .iter()
            .filter(|k| c.sent[**k as usize] > 0 || c.received[**k as usize] > 0)
            .map(|k| {
                let i = *k as usize;
                (
                    k.name(),
                    KindReport {
                        sent: c.sent[i],
                        received: c.received[i],
                        lost: c.lost[i],
                        latency: l.summary(*k),
                    },
                )
            })
            .collect();
        Self {
            offered_rate,
            achieved_rate: per_s(c.started),
            send_s,
            started: c.started,
            bound_per_s: per_s(c.bound),
            loss: c.loss(),
            kinds,
            late: c.late,
            extra_advertise: c.extra_advertise,
            unexpected: c.unexpected,
            malformed: c.malformed,
            busy_skips: c.busy_skips,
            send_errors: c.send_errors,
            bound: c.bound,
            bound_clients,
            status_codes: c.status_names(),
            servers: servers
                .entries()
                .into_iter()
                .map(|(server_id, counts)| ServerReport { server_id, counts })
                .collect(),
        }
    }

    /// The latency of the step's first exchange kind (Solicit→Advertise before the others):
    /// what the plot shows.
    pub fn headline(&self) -> Option<(&'static str, LatencySummary)> {
        Kind::ALL.iter().find_map(|k| {
            self.kinds
                .get(k.name())
                .filter(|r| r.latency.count > 0)
                .map(|r| (k.name(), r.latency))
        })
    }
}

/// A whole run: what was asked, every step, and the search result if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// The command line.
    pub command: String,
    /// Settings of the run.
    pub settings: serde_json::Value,
    /// Every step.
    pub steps: Vec<StepReport>,
    /// Highest rate with loss under the bound (search mode).
    pub max_rate: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_report_carries_rates_kinds_and_statuses() {
        let mut c = Counters {
            started: 2000,
            bound: 1900,
            ..Counters::default()
        };
        c.sent[Kind::SolicitAdvertise as usize] = 2000;
        c.received[Kind::SolicitAdvertise as usize] = 1990;
        c.lost[Kind::SolicitAdvertise as usize] = 10;
        c.sent[Kind::RequestReply as usize] = 1990;
        c.received[Kind::RequestReply as usize] = 1900;
        c.lost[Kind::RequestReply as usize] = 90;
        c.count_status(tandem_wire::StatusCode::NoAddrsAvail);
        let mut l = Latencies::new();
        l.record(Kind::RequestReply, 250_000);
        let mut s = ServerTable::default();
        let slot = s.slot(&[0xab, 0x01]);
        s.count(slot, true);
        let r = StepReport::new(1000.0, 2.0, &c, &l, &s, 1900);
        assert_eq!(r.achieved_rate, 1000.0);
        assert_eq!(r.bound_per_s, 950.0);
        assert!((r.loss - 100.0 / 3990.0).abs() < 1e-12);
        assert_eq!(r.kinds.len(), 2);
        assert_eq!(r.kinds["request-reply"].latency.count, 1);
        assert_eq!(r.headline().unwrap().0, "request-reply");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["status_codes"]["NoAddrsAvail"], 1);
        assert_eq!(v["servers"][0]["server_id"], "ab01");
        assert_eq!(v["servers"][0]["advertise"], 1);
        assert_eq!(v["kinds"]["solicit-advertise"]["lost"], 10);
        let empty = StepReport::new(
            1.0,
            0.0,
            &Counters::default(),
            &Latencies::new(),
            &ServerTable::default(),
            0,
        );
        assert_eq!(empty.achieved_rate, 0.0);
        assert!(empty.headline().is_none());
    }
}
