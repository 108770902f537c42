//! The failover pair's own figures in `cargo xtask bench` [RFC 8156]: whether the partners' lazy
//! updates kept up with the fixed-rate load, and how many transactions each server won.

use serde::Serialize;

/// One partner's lazy-update counters (stats.json `failover.relationships[0]`) after the
/// fixed-rate run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct LazyUpdates {
    /// BNDUPDs sent to the partner [RFC 8156 §7.1.1].
    pub(crate) sent: u64,
    /// Of those, acknowledged by a BNDREPLY.
    pub(crate) acked: u64,
    /// Rejected by the partner.
    pub(crate) rejected: u64,
    /// Waiting to be sent, or sent and not yet answered.
    pub(crate) queued: u64,
    pub(crate) unacked: u64,
    /// BNDUPDs received from the partner.
    pub(crate) received: u64,
}

impl LazyUpdates {
    /// Updates this partner had to send: sent plus still queued.
    pub(crate) fn due(&self) -> u64 {
        self.sent + self.queued
    }
}

/// Both directions of the pair's replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Replication {
    pub(crate) primary: LazyUpdates,
    pub(crate) secondary: LazyUpdates,
}

impl Replication {
    /// Acknowledged updates, both directions.
    pub(crate) fn acked(&self) -> u64 {
        self.primary.acked + self.secondary.acked
    }

    /// Updates due, both directions.
    pub(crate) fn due(&self) -> u64 {
        self.primary.due() + self.secondary.due()
    }

    /// Whether every update was acknowledged and each partner received what the other's
    /// acknowledgements say: the pair kept up.
    pub(crate) fn kept_up(&self) -> bool {
        let (p, s) = (&self.primary, &self.secondary);
        self.acked() == self.due()
            && p.rejected + s.rejected == 0
            && s.received >= p.acked
            && p.received >= s.acked
    }

    /// `replicated: N of M acknowledged (…)`.
    pub(crate) fn line(&self) -> String {
        let (p, s) = (&self.primary, &self.secondary);
        format!(
            "replicated: {} of {} acknowledged (BNDUPDs: primary → secondary {} of {}, the \
             secondary received {}; secondary → primary {} of {}, the primary received {}; \
             rejected {}) — {}",
            self.acked(),
            self.due(),
            p.acked,
            p.due(),
            s.received,
            s.acked,
            s.due(),
            p.received,
            p.rejected + s.rejected,
            if self.kept_up() {
                "the pair kept up"
            } else {
                "the pair did NOT keep up"
            }
        )
    }
}

/// Transactions one server of the pair won at the fixed rate (its Advertise came first, so the
/// client's Request went to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Wins {
    /// `primary` or `secondary` (or `unknown` for a DUID neither store holds).
    pub(crate) server: String,
    /// The server DUID, hex.
    pub(crate) duid: String,
    /// Transactions won.
    pub(crate) won: u64,
    /// Replies received from it.
    pub(crate) replies: u64,
}

/// What one server of the pair saw and answered (its stats.json after the run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Served {
    /// `primary` or `secondary`.
    pub(crate) server: String,
    /// Packets its workers received.
    pub(crate) received: u64,
    /// Replies (Advertise and Reply) sent.
    pub(crate) replied: u64,
    /// Packets dropped for failover reasons (`failover_*` drops: in NORMAL the secondary
    /// leaves new clients to the primary, RFC 8156 §4.2.1).
    pub(crate) failover_drops: u64,
}

/// The pair row's extra figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PairFigures {
    /// None: stats.json could not be read after the run.
    pub(crate) replication: Option<Replication>,
    /// [`Replication::due`] just before the run (None: not read), so the run's own updates
    /// can be told from the start-up's.
    pub(crate) due_before: Option<u64>,
    /// By server, as tandem-bench counted at the fixed rate.
    pub(crate) wins: Vec<Wins>,
    /// Advertises ignored because the other server's came first.
    pub(crate) second_advertises: u64,
    /// Per server, from stats.json (empty when unreadable).
    pub(crate) served: Vec<Served>,
}

impl PairFigures {
    /// The lines under the table; `completed`: the fixed-rate run's completed exchanges.
    pub(crate) fn lines(&self, heading: &str, rate: u32, completed: Option<u64>) -> String {
        let replicated = self.replication.as_ref().map_or_else(
            || "replicated: not measured (stats.json unreadable)".to_owned(),
            |r| match (completed, self.due_before) {
                (Some(c), Some(before)) if c > 0 => {
                    let run = r.due().saturating_sub(before);
                    format!(
                        "{}; {run} BNDUPDs due to the run, {:.2} per completed exchange ({c})",
                        r.line(),
                        run as f64 / c as f64
                    )
                }
                _ => r.line(),
            },
        );
        let wins: Vec<String> = self
            .wins
            .iter()
            .map(|w| {
                format!(
                    "{} ({}) {} won, {} Replies",
                    w.server, w.duid, w.won, w.replies
                )
            })
            .collect();
        let served: Vec<String> = self
            .served
            .iter()
            .map(|s| {
                format!(
                    "{} received {}, answered {}, dropped {} for failover",
                    s.server, s.received, s.replied, s.failover_drops
                )
            })
            .collect();
        let list = |v: Vec<String>, sep: &str, none: &str| {
            if v.is_empty() {
                none.to_owned()
            } else {
                v.join(sep)
            }
        };
        format!(
            "- **{heading}**: its CPU figures are BOTH tandemd processes together (primary + \
             secondary). After the run at {rate}/s: {replicated}.\n- **{heading}** \
             transactions won (first Advertise, so the Request went there): {}; {} second \
             Advertises ignored; stats.json: {}.\n",
            list(wins, ", ", "none"),
            self.second_advertises,
            list(served, "; ", "unreadable")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn updates(sent: u64, acked: u64, received: u64) -> LazyUpdates {
        LazyUpdates {
            sent,
            acked,
            received,
            ..LazyUpdates::default()
        }
    }

    #[test]
    fn a_pair_keeps_up_when_every_update_is_acknowledged_and_received() {
        let r = Replication {
            primary: updates(500, 500, 480),
            secondary: updates(480, 480, 500),
        };
        assert!(r.kept_up());
        assert_eq!((r.acked(), r.due()), (980, 980));
        let line = r.line();
        assert!(
            line.starts_with("replicated: 980 of 980 acknowledged"),
            "{line}"
        );
        assert!(line.ends_with("the pair kept up"), "{line}");
        // Something still queued, unacknowledged, rejected or not received: behind.
        let mut queued = r;
        queued.primary.queued = 3;
        assert!(!queued.kept_up());
        assert!(queued.line().starts_with("replicated: 980 of 983"));
        let mut unacked = r;
        unacked.secondary.acked = 479;
        assert!(!unacked.kept_up());
        let mut rejected = r;
        rejected.primary.rejected = 1;
        assert!(!rejected.kept_up());
        let mut lost = r;
        lost.secondary.received = 499;
        assert!(!lost.kept_up() && lost.line().ends_with("did NOT keep up"));
    }

    #[test]
    fn the_lines_name_replication_and_the_winners() {
        let p = PairFigures {
            replication: None,
            due_before: None,
            wins: vec![Wins {
                server: "primary".into(),
                duid: "0004ab".into(),
                won: 40,
                replies: 39,
            }],
            second_advertises: 38,
            served: vec![Served {
                server: "secondary".into(),
                received: 80,
                replied: 0,
                failover_drops: 80,
            }],
        };
        let l = p.lines("tandemd pair", 2000, Some(40));
        assert!(
            l.contains("After the run at 2000/s: replicated: not measured"),
            "{l}"
        );
        assert!(
            l.contains("primary (0004ab) 40 won, 39 Replies; 38 second Advertises"),
            "{l}"
        );
        assert!(
            l.contains("stats.json: secondary received 80, answered 0, dropped 80 for failover."),
            "{l}"
        );
        let done = LazyUpdates {
            sent: 100,
            acked: 100,
            ..LazyUpdates::default()
        };
        let q = PairFigures {
            replication: Some(Replication {
                primary: done,
                secondary: LazyUpdates::default(),
            }),
            due_before: Some(20),
            ..p
        };
        let l = q.lines("x", 1, Some(40));
        assert!(
            l.contains("80 BNDUPDs due to the run, 2.00 per completed exchange (40)"),
            "{l}"
        );
        assert!(!q.lines("x", 1, Some(0)).contains("per completed"));
    }
}
