//! One scrape's numbers ([`Scrape`]) and their OpenMetrics text, encoded by `prometheus-client`
//! through a custom collector: the counters are the workers' published ones, nothing is kept
//! between scrapes.
//!
//! Kea's names are those kea-exporter exports (the names Stork-era and Grafana dashboards
//! graph): every one is a **gauge** whose name ends in `_total`, with the labels `subnet` (the
//! subnet prefix), `subnet_id` (the `id` of the `[[subnet]]`, which is Kea's subnet id) and
//! `pool` (`""`: the subnet as a whole), and `operation` for packets. Pool sizes are floats:
//! a /64 address pool holds 2^64 addresses, more than a u64 counts.
//! tandem's own metrics are under `tandem_`, with real counter and histogram types.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tandem_failover::{Role, ServerState};

use crate::partner::status::FailoverStatus;
use crate::stats::{self, Local, SubnetLeases, BATCH_BUCKETS, RX_OPS, SYNC_BUCKETS_US, TX_OPS};

/// Every name [`Active`](crate::datapath::Active) can have.
pub(crate) const DATAPATHS: [&str; 4] = ["socket", "steered", "xdp-native", "xdp-generic"];

/// A configured subnet as the metrics label it, with its pool sizes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubnetInfo {
    pub(crate) id: u32,
    /// `prefix/len`, Kea's `subnet` label.
    pub(crate) prefix: String,
    /// Addresses in its IA_NA pools.
    pub(crate) na_total: f64,
    /// Delegable prefixes in its IA_PD pools.
    pub(crate) pd_total: f64,
}

/// Everything one scrape reports.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scrape {
    /// Each worker's published counters, by worker id.
    pub(crate) workers: Vec<Local>,
    pub(crate) subnets: Vec<SubnetInfo>,
    /// The [`DATAPATHS`] name running.
    pub(crate) datapath: &'static str,
    /// The XDP program's decision counters (absent without XDP).
    pub(crate) xdp: Option<Vec<(&'static str, u64)>>,
    /// The control thread's status (absent on a standalone server).
    pub(crate) failover: Option<FailoverStatus>,
    /// Requests the control API's HTTP listener refused with 401 (absent without one).
    pub(crate) http_auth_failures: Option<u64>,
}

/// The OpenMetrics text of one scrape (ends with `# EOF`).
pub(crate) fn encode(scrape: Scrape) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(scrape));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

impl Collector for Scrape {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        self.kea(&mut e)?;
        self.own(&mut e)?;
        self.journal(&mut e)?;
        if let Some(fo) = &self.failover {
            failover(fo, &mut e)?;
        }
        if let Some(n) = self.http_auth_failures {
            e.encode_descriptor(
                "tandem_control_http_auth_failures",
                "Control API requests over HTTP refused for missing or wrong credentials",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<NoLabelSet, u64, u64>(&n, None)?;
        }
        Ok(())
    }
}

type Labels = Vec<(&'static str, String)>;

fn gauges<V: EncodeGaugeValue>(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels, V)>,
) -> Result<(), std::fmt::Error> {
    let mut m = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in rows {
        m.encode_family(&labels)?.encode_gauge(&v)?;
    }
    Ok(())
}

/// `name` is given without `_total`: the encoder adds it to the sample.
fn counters(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut m = e.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in rows {
        m.encode_family(&labels)?
            .encode_counter::<NoLabelSet, u64, u64>(&v, None)?;
    }
    Ok(())
}

fn histogram(
    m: &mut MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    sum: f64,
    bounds: &[f64],
    counts: &[u64],
) -> Result<(), std::fmt::Error> {
    let buckets: Vec<(f64, u64)> = bounds
        .iter()
        .copied()
        .chain([f64::MAX])
        .zip(counts.iter().copied())
        .collect();
    let count = counts.iter().sum();
    m.encode_family(labels)?
        .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
}

fn label(k: &'static str, v: impl ToString) -> (&'static str, String) {
    (k, v.to_string())
}

impl Scrape {
    fn sum(&self, f: impl Fn(&Local) -> u64) -> u64 {
        self.workers.iter().map(f).sum()
    }

    fn subnet_leases(&self, id: u32) -> SubnetLeases {
        let mut total = SubnetLeases::default();
        for w in &self.workers {
            if let Some((_, c)) = w.subnets.iter().find(|(i, _)| *i == id) {
                total.add(c);
            }
        }
        total
    }

    /// kea-exporter's `kea_dhcp6_*` gauges.
    fn kea(&self, e: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let op = |name: &str| vec![label("operation", name)];
        let drops: u64 = (0..stats::drop_slots())
            .filter(|s| stats::is_receive_drop(*s))
            .map(|s| self.sum(|w| w.drops.get(s).copied().unwrap_or(0)))
            .sum();
        let received = RX_OPS
            .iter()
            .enumerate()
            .map(|(i, name)| (op(name), self.sum(|w| w.rx_ops[i])))
            .chain([(op("drop"), drops)]);
        gauges(
            e,
            "kea_dhcp6_packets_received_total",
            "Packets received",
            received,
        )?;
        let sent = TX_OPS
            .iter()
            .enumerate()
            .map(|(i, name)| (op(name), self.sum(|w| w.tx_ops[i])));
        gauges(e, "kea_dhcp6_packets_sent_total", "Packets sent", sent)?;

        let with_pool = |s: &SubnetInfo| {
            vec![
                label("subnet", &s.prefix),
                label("subnet_id", s.id),
                label("pool", ""),
            ]
        };
        let without_pool =
            |s: &SubnetInfo| vec![label("subnet", &s.prefix), label("subnet_id", s.id)];
        let per_subnet = |f: fn(&SubnetLeases) -> u64, pool: bool| {
            self.subnets
                .iter()
                .map(move |s| {
                    let labels = if pool { with_pool(s) } else { without_pool(s) };
                    (labels, f(&self.subnet_leases(s.id)))
                })
                .collect::<Vec<_>>()
        };
        gauges(
            e,
            "kea_dhcp6_na_total",
            "Size of non-temporary address pool",
            self.subnets.iter().map(|s| (with_pool(s), s.na_total)),
        )?;
        gauges(
            e,
            "kea_dhcp6_na_assigned_total",
            "Assigned non-temporary addresses (IA_NA)",
            per_subnet(|c| c.na_assigned, true),
        )?;
        gauges(
            e,
            "kea_dhcp6_pd_total",
            "Size of prefix delegation pool",
            self.subnets.iter().map(|s| (without_pool(s), s.pd_total)),
        )?;
        gauges(
            e,
            "kea_dhcp6_pd_assigned_total",
            "Assigned prefix delegations (IA_PD)",
            per_subnet(|c| c.pd_assigned, false),
        )?;
        gauges(
            e,
            "kea_dhcp6_addresses_declined_total",
            "Declined addresses",
            per_subnet(|c| c.declined, true),
        )?;
        gauges(
            e,
            "kea_dhcp6_addresses_declined_reclaimed_total",
            "Declined addresses that were reclaimed",
            per_subnet(|c| c.declined_reclaimed, true),
        )?;
        gauges(
            e,
            "kea_dhcp6_addresses_reclaimed_total",
            "Expired addresses that were reclaimed",
            per_subnet(|c| c.reclaimed, true),
        )
    }

    /// Datapath, drops, per-worker load and handoffs, XDP decisions.
    fn own(&self, e: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        gauges(
            e,
            "tandem_datapath_active",
            "How packets reach the workers: 1 for the datapath running",
            DATAPATHS
                .iter()
                .map(|d| (vec![label("datapath", d)], i64::from(*d == self.datapath))),
        )?;
        let mut drops: Vec<(Labels, u64)> = (0..stats::drop_slots())
            .map(|s| {
                let n = self.sum(|w| w.drops.get(s).copied().unwrap_or(0));
                let labels = vec![
                    label("layer", stats::drop_layer(s)),
                    label("reason", stats::drop_label(s)),
                ];
                (labels, n)
            })
            .collect();
        for (name, n) in self.xdp.iter().flatten() {
            if let Some(reason) = name.strip_prefix("drop_") {
                drops.push((vec![label("layer", "xdp"), label("reason", reason)], *n));
            }
        }
        counters(
            e,
            "tandem_drops",
            "Packets dropped, by layer and reason",
            drops,
        )?;
        if let Some(xdp) = &self.xdp {
            counters(
                e,
                "tandem_xdp_packets",
                "The XDP program's decisions, summed over CPUs",
                xdp.iter()
                    .map(|(name, n)| (vec![label("decision", name)], *n)),
            )?;
        }
        let worker = |i: usize| vec![label("worker", i)];
        let per_worker = |f: fn(&Local) -> u64| {
            self.workers
                .iter()
                .enumerate()
                .map(move |(i, w)| (worker(i), f(w)))
        };
        counters(
            e,
            "tandem_worker_received",
            "Datagrams each worker received from its socket",
            per_worker(|w| w.received),
        )?;
        counters(
            e,
            "tandem_worker_replied",
            "Replies each worker sent",
            per_worker(|w| w.replied),
        )?;
        let handoffs = self.workers.iter().enumerate().flat_map(|(i, w)| {
            [
                (
                    vec![label("worker", i), label("direction", "in")],
                    w.handoffs_in,
                ),
                (
                    vec![label("worker", i), label("direction", "out")],
                    w.handoffs_out,
                ),
            ]
        });
        counters(
            e,
            "tandem_worker_handoffs",
            "Packets handed to the worker owning the client (out) or taken from another (in)",
            handoffs,
        )?;
        let leases = self.workers.iter().enumerate().flat_map(|(i, w)| {
            [
                (vec![label("worker", i), label("kind", "na")], w.leases_na),
                (vec![label("worker", i), label("kind", "pd")], w.leases_pd),
            ]
        });
        gauges(
            e,
            "tandem_worker_leases",
            "Leases in each worker's shard (any state)",
            leases,
        )
    }

    /// Journal sync latency and batch size histograms, failures.
    fn journal(&self, e: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let seconds: Vec<f64> = SYNC_BUCKETS_US.iter().map(|us| *us as f64 / 1e6).collect();
        let mut m = e.encode_descriptor(
            "tandem_journal_sync_duration_seconds",
            "Time from starting a journal batch's write to its fdatasync completing (write only \
             with durability os-buffer)",
            None,
            MetricType::Histogram,
        )?;
        for (i, w) in self.workers.iter().enumerate() {
            let sum = w.journal_sync_us_total as f64 / 1e6;
            histogram(
                &mut m,
                &[label("worker", i)],
                sum,
                &seconds,
                &w.sync_us_buckets,
            )?;
        }
        let bounds: Vec<f64> = BATCH_BUCKETS.iter().map(|b| *b as f64).collect();
        let mut m = e.encode_descriptor(
            "tandem_journal_batch_records",
            "Lease records per journal sync (group commit batch size)",
            None,
            MetricType::Histogram,
        )?;
        for (i, w) in self.workers.iter().enumerate() {
            let sum = w.journal_records as f64;
            histogram(
                &mut m,
                &[label("worker", i)],
                sum,
                &bounds,
                &w.batch_buckets,
            )?;
        }
        counters(
            e,
            "tandem_journal_failures",
            "Journal batches that failed to write or sync (each is retried)",
            self.workers
                .iter()
                .enumerate()
                .map(|(i, w)| (vec![label("worker", i)], w.journal_failures)),
        )?;
        let failing = i64::from(self.workers.iter().any(|w| w.journal_failing != 0));
        e.encode_descriptor(
            "tandem_journal_failing",
            "1 while any worker's journal cannot write: replies are withheld",
            None,
            MetricType::Gauge,
        )?
        .encode_gauge(&failing)
    }
}

/// Per relationship: state (RFC 8156 §4.1 names), partner, link, update queues, skew,
/// partner-down time.
fn failover(fo: &FailoverStatus, e: &mut DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
    let rels = &fo.relationships;
    let rel = |name: &str| vec![label("relationship", name)];
    let states = rels.iter().flat_map(|r| {
        let role = match r.role {
            Role::Primary => "primary",
            _ => "secondary",
        };
        ServerState::ALL.iter().map(move |s| {
            let labels = vec![
                label("relationship", &r.name),
                label("role", role),
                label("state", s.rfc_name()),
            ];
            (labels, i64::from(*s == r.state))
        })
    });
    gauges(
        e,
        "tandem_failover_state",
        "This server's failover state per relationship (1 for the current state, RFC 8156 §4.1)",
        states,
    )?;
    let partner = rels.iter().flat_map(|r| {
        r.partner.into_iter().flat_map(move |p| {
            ServerState::ALL.iter().map(move |s| {
                let labels = vec![label("relationship", &r.name), label("state", s.rfc_name())];
                (labels, i64::from(*s == p))
            })
        })
    });
    gauges(
        e,
        "tandem_failover_partner_state",
        "The partner's last reported state (1 for it; absent until one is known)",
        partner,
    )?;
    gauges(
        e,
        "tandem_failover_connected",
        "1 while the partner connection is up",
        rels.iter().map(|r| (rel(&r.name), i64::from(r.connected))),
    )?;
    gauges(
        e,
        "tandem_failover_unacked_updates",
        "BNDUPDs sent and not yet acknowledged",
        rels.iter().map(|r| (rel(&r.name), r.unacked)),
    )?;
    gauges(
        e,
        "tandem_failover_queued_updates",
        "Binding updates waiting to be sent (the lazy-update backlog)",
        rels.iter().map(|r| (rel(&r.name), r.queued + r.parked)),
    )?;
    gauges(
        e,
        "tandem_failover_partner_skew_seconds",
        "Partner clock minus ours, averaged (absent until measured)",
        rels.iter()
            .filter_map(|r| r.skew_s.map(|s| (rel(&r.name), i64::from(s)))),
    )?;
    gauges(
        e,
        "tandem_failover_partner_down_time_seconds",
        "When the partner went down, Unix seconds (absent unless known)",
        rels.iter().filter_map(|r| {
            r.partner_down_time
                .map(|t| (rel(&r.name), tandem_engine::partner::unix_time(t)))
        }),
    )?;
    let bndupd = rels.iter().flat_map(|r| {
        [
            ("sent", r.sent),
            ("acked", r.acked),
            ("rejected", r.rejected),
            ("received", r.received),
        ]
        .map(|(what, n)| (vec![label("relationship", &r.name), label("what", what)], n))
    });
    counters(
        e,
        "tandem_failover_bndupd",
        "BNDUPD messages by outcome",
        bndupd,
    )
}
