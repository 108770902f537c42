//! tandem-bench as `cargo xtask bench` runs it: how long each part runs ([`Timing`]), the
//! generator's command lines, and running the release binary in a lab namespace.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;
use tandem_lab::netns::output_timeout;
use tandem_lab::{Netns, CLIENT_IF};

use crate::compare::Load;

/// The search's loss bound (1 %).
pub(super) const LOSS_MAX: f64 = 0.01;

/// How long each part runs, and how many clients it draws from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Timing {
    /// Sending time of one search step (s).
    pub(super) step_s: f64,
    /// Most steps of a search.
    pub(super) search_steps: u32,
    /// The search stops within this many percent.
    pub(super) precision_pct: f64,
    /// First rate of a search.
    pub(super) start_rate: u32,
    /// Highest rate a search tries.
    pub(super) max_rate: u32,
    /// Simulated clients of a search.
    pub(super) search_clients: u32,
    /// Sending time of each fixed-rate run (s).
    pub(super) seconds: u32,
    /// How long an answer may take before it counts as lost (ms).
    pub(super) wait_ms: u64,
}

impl Timing {
    pub(super) fn new(quick: bool, seconds: Option<u32>) -> Self {
        if quick {
            Self {
                step_s: 1.0,
                search_steps: 8,
                precision_pct: 10.0,
                start_rate: 1000,
                max_rate: 400_000,
                search_clients: 1 << 18,
                seconds: seconds.unwrap_or(3).max(1),
                wait_ms: 300,
            }
        } else {
            Self {
                step_s: 3.0,
                search_steps: 14,
                precision_pct: 5.0,
                start_rate: 1000,
                max_rate: 400_000,
                search_clients: 1 << 22,
                seconds: seconds.unwrap_or(10).max(1),
                wait_ms: 500,
            }
        }
    }

    /// Upper bound on one search's wall time (sending plus waiting, every step).
    pub(super) fn search_bound(&self) -> Duration {
        let step = self.step_s + self.wait_ms as f64 / 1000.0;
        Duration::from_secs_f64(step * f64::from(self.search_steps))
    }

    /// Clients for `rate` exchanges/s over `seconds`: every exchange a new client.
    pub(super) fn fixed_clients(&self, rate: u32) -> u32 {
        let n = u64::from(rate) * u64::from(self.seconds) * 11 / 10 + 1000;
        u32::try_from(n)
            .unwrap_or(u32::MAX)
            .min(self.search_clients)
    }
}

/// The generator arguments every tandem-bench run shares (IA_NA, 4-message exchange, direct).
fn common_args(clients: u32, wait_ms: u64) -> Vec<String> {
    let mut a: Vec<String> = [
        "--iface",
        CLIENT_IF,
        "--mode",
        "direct",
        "--scenario",
        "exchange",
        "--ia",
        "na",
        "--threads",
        "2",
        "--seed",
        "1",
        "--clients",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    a.push(clients.to_string());
    a.push("--wait-ms".into());
    a.push(wait_ms.to_string());
    a
}

pub(super) fn search_args(t: &Timing) -> Vec<String> {
    let mut a = common_args(t.search_clients, t.wait_ms);
    a.extend([
        "--search".to_owned(),
        "--loss-max".into(),
        (LOSS_MAX * 100.0).to_string(),
        "--rate".into(),
        t.start_rate.to_string(),
        "--max-rate".into(),
        t.max_rate.to_string(),
        "--search-steps".into(),
        t.search_steps.to_string(),
        "--precision".into(),
        t.precision_pct.to_string(),
        "--seconds".into(),
        t.step_s.to_string(),
    ]);
    a
}

pub(super) fn fixed_args(t: &Timing, rate: u32) -> Vec<String> {
    let mut a = common_args(t.fixed_clients(rate), t.wait_ms);
    a.extend([
        "--rate".to_owned(),
        rate.to_string(),
        "--seconds".into(),
        t.seconds.to_string(),
    ]);
    a
}

/// perfdhcp at `rate` for as long and with as many clients as tandem-bench's fixed run.
pub(super) fn perf_load(t: &Timing, rate: u32) -> Load {
    Load {
        rate,
        clients: t.fixed_clients(rate),
        seconds: t.seconds,
    }
}

/// Runs the release tandem-bench in `ns` with `args`, its JSON and SVG into `dir/<name>.*`;
/// returns the parsed JSON.
pub(super) fn tandem_bench(
    ns: &Netns,
    bin: &Path,
    args: &[String],
    dir: &Path,
    name: &str,
    bound: Duration,
) -> anyhow::Result<Value> {
    let json = dir.join(format!("{name}.json"));
    let mut c = ns.command(&bin.to_string_lossy());
    c.args(args)
        .arg("--json")
        .arg(&json)
        .arg("--svg")
        .arg(dir.join(format!("{name}.svg")));
    let out = output_timeout(&mut c, bound + Duration::from_secs(60))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    if !out.status.success() {
        bail!(
            "tandem-bench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = std::fs::read_to_string(&json).with_context(|| json.display().to_string())?;
    serde_json::from_str(&text).context("tandem-bench's JSON")
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::bench::POOL;

    #[test]
    fn a_full_run_fits_in_twenty_minutes_and_the_pool_outlasts_the_clients() {
        let t = Timing::new(false, None);
        // Four servers: a search, a fixed-rate tandem-bench run and a perfdhcp run each (the
        // pair has no perfdhcp run but waits up to half a minute for its lazy updates), plus up
        // to a minute per server for starts and stops; then about three minutes of builds,
        // memory, restart and callgrind.
        let fixed = 2.0 * (f64::from(t.seconds) + t.wait_ms as f64 / 1000.0);
        let per_server = t.search_bound().as_secs_f64() + fixed + 60.0;
        let rest = 3.0 * 60.0;
        assert!(
            4.0 * per_server + rest < 20.0 * 60.0,
            "{per_server} s per server"
        );
        let pool = u128::from(POOL.1.parse::<Ipv6Addr>().unwrap())
            - u128::from(POOL.0.parse::<Ipv6Addr>().unwrap())
            + 1;
        assert!(pool >= u128::from(t.search_clients), "{pool}");
        let q = Timing::new(true, Some(2));
        assert_eq!(q.seconds, 2);
        assert!(q.search_bound() < t.search_bound());
        // Fixed-rate runs have a client per exchange, and never more than the pool.
        assert_eq!(t.fixed_clients(2000), 2000 * 10 * 11 / 10 + 1000);
        assert_eq!(t.fixed_clients(u32::MAX), t.search_clients);
    }

    #[test]
    fn generator_arguments_name_the_scenario_and_the_bounds() {
        let t = Timing::new(true, None);
        let s = search_args(&t).join(" ");
        for needle in [
            "--iface cli0",
            "--scenario exchange",
            "--ia na",
            "--search",
            "--loss-max 1",
            "--search-steps 8",
            "--seconds 1",
            "--clients 262144",
        ] {
            assert!(s.contains(needle), "{needle} missing: {s}");
        }
        let f = fixed_args(&t, 1500).join(" ");
        assert!(f.contains("--rate 1500 --seconds 3"), "{f}");
        assert!(!f.contains("--search"), "{f}");
        assert!(
            f.contains(&format!("--clients {}", t.fixed_clients(1500))),
            "{f}"
        );
    }
}
