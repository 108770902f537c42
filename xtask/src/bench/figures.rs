//! The figures `cargo xtask bench` reads from tandem-bench's JSON report: the fixed-rate run's
//! CPU, loss and latency, the search's maximum and what ended it, and which server of a pair won
//! how many transactions.

use anyhow::{bail, Context};
use serde_json::Value;

use crate::compare::CpuWindow;
use crate::results::{FixedRun, SearchStop, Wins};

/// The figures of a fixed-rate tandem-bench report (one step).
pub(super) fn fixed_figures(report: &Value, cpu: CpuWindow) -> anyhow::Result<FixedRun> {
    let step = &report["steps"][0];
    if step.is_null() {
        bail!("tandem-bench reported no step");
    }
    let f = |v: &Value| {
        v.as_f64()
            .context("a number missing in tandem-bench's JSON")
    };
    let p99 = |kind: &str| {
        let l = &step["kinds"][kind]["latency"];
        (l["count"].as_u64().unwrap_or(0) > 0)
            .then(|| l["p99_us"].as_f64())
            .flatten()
    };
    Ok(FixedRun {
        offered_rate: f(&step["offered_rate"])?,
        achieved_rate: f(&step["achieved_rate"])?,
        completed: step["kinds"]["request-reply"]["received"]
            .as_u64()
            .unwrap_or(0),
        loss: f(&step["loss"])?,
        p99_advertise_us: p99("solicit-advertise"),
        p99_reply_us: p99("request-reply"),
        cpu_s: cpu.cpu_s,
        wall_s: cpu.wall_s,
        threads: cpu.threads,
        owner_share: None,
    })
}

/// The search's result in a tandem-bench report.
pub(super) fn max_rate(report: &Value) -> Option<u32> {
    report["max_rate"]
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
}

/// What ended the search in a tandem-bench report: the lowest failing step above `max` (a
/// step fails as tandem-bench judges it: loss, or the generator's shortfall against the offered
/// rate, at least `loss_max`).
pub(super) fn search_stop(report: &Value, max: Option<u32>, loss_max: f64) -> SearchStop {
    let floor = max.map_or(0.0, f64::from);
    let mut lowest: Option<(f64, f64, f64)> = None;
    for step in report["steps"].as_array().into_iter().flatten() {
        let (Some(rate), Some(achieved), Some(loss)) = (
            step["offered_rate"].as_f64(),
            step["achieved_rate"].as_f64(),
            step["loss"].as_f64(),
        ) else {
            continue;
        };
        let shortfall = 1.0 - achieved / rate.max(1.0);
        let failed = loss.max(shortfall) >= loss_max;
        if failed && rate > floor && lowest.is_none_or(|(r, _, _)| rate < r) {
            lowest = Some((rate, achieved, loss));
        }
    }
    match lowest {
        Some((rate, _, loss)) if loss >= loss_max => SearchStop::Loss { rate, loss },
        Some((rate, achieved, _)) => SearchStop::Generator { rate, achieved },
        None => SearchStop::NoFailure,
    }
}

/// Which server won how many transactions of the fixed-rate run (tandem-bench's `servers`,
/// whose `won` counts the Requests sent to the server whose Advertise came first), named by
/// `duids` (`(name, hex DUID)`), and how many second Advertises tandem-bench ignored.
pub(super) fn wins(report: &Value, duids: &[(&str, String)]) -> (Vec<Wins>, u64) {
    let step = &report["steps"][0];
    let wins = step["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let duid = s["server_id"].as_str().unwrap_or("").to_ascii_lowercase();
            let server = duids
                .iter()
                .find(|(_, d)| *d == duid)
                .map_or("unknown", |(name, _)| name);
            Wins {
                server: server.to_owned(),
                duid,
                won: s["won"].as_u64().unwrap_or(0),
                replies: s["reply"].as_u64().unwrap_or(0),
            }
        })
        .collect();
    (wins, step["extra_advertise"].as_u64().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::bench::generator::LOSS_MAX;

    #[test]
    fn figures_come_from_the_first_step_of_the_report() {
        let report = json!({
            "max_rate": 4200,
            "steps": [{
                "offered_rate": 2000.0, "achieved_rate": 1999.5, "loss": 0.001,
                "kinds": {
                    "solicit-advertise": { "received": 20000,
                        "latency": { "count": 20000, "p99_us": 150.5 } },
                    "request-reply": { "received": 19990,
                        "latency": { "count": 19990, "p99_us": 420.0 } }
                }
            }]
        });
        let cpu = CpuWindow {
            cpu_s: 2.0,
            wall_s: 10.5,
            threads: vec![("w".to_owned(), 2.0)],
        };
        let f = fixed_figures(&report, cpu.clone()).unwrap();
        assert_eq!(f.completed, 19990);
        assert_eq!(f.p99_advertise_us, Some(150.5));
        assert_eq!(f.p99_reply_us, Some(420.0));
        assert!((f.cpu_us_per_exchange().unwrap() - 2e6 / 19990.0).abs() < 1e-9);
        assert_eq!(max_rate(&report), Some(4200));
        assert_eq!(max_rate(&json!({ "max_rate": null })), None);
        // No answers: no latency, no exchanges; no step at all: an error.
        let silent = json!({ "steps": [{ "offered_rate": 1.0, "achieved_rate": 1.0,
            "loss": 1.0, "kinds": { "solicit-advertise": { "received": 0,
            "latency": { "count": 0, "p99_us": 0.0 } } } }] });
        let f = fixed_figures(&silent, cpu.clone()).unwrap();
        assert_eq!(
            (f.completed, f.p99_advertise_us, f.p99_reply_us),
            (0, None, None)
        );
        assert!(fixed_figures(&json!({ "steps": [] }), cpu).is_err());
    }

    #[test]
    fn the_search_stop_is_the_lowest_failing_step_above_the_maximum() {
        let step = |rate: f64, achieved: f64, loss: f64| json!({ "offered_rate": rate, "achieved_rate": achieved, "loss": loss });
        // The shortfall at 128000/s and a real loss at 96000/s: the loss ended it.
        let server = json!({ "steps": [
            step(64_000.0, 64_000.0, 0.0),
            step(128_000.0, 120_000.0, 0.0),
            step(96_000.0, 95_900.0, 0.057),
            step(80_000.0, 80_000.0, 0.002),
        ] });
        assert_eq!(
            search_stop(&server, Some(80_000), LOSS_MAX),
            SearchStop::Loss {
                rate: 96_000.0,
                loss: 0.057
            }
        );
        // Only shortfalls above the maximum: the generator ended it.
        let generator = json!({ "steps": [
            step(64_000.0, 64_000.0, 0.0),
            step(128_000.0, 112_000.0, 0.0),
            step(96_000.0, 94_000.0, 0.0008),
        ] });
        assert_eq!(
            search_stop(&generator, Some(64_000), LOSS_MAX),
            SearchStop::Generator {
                rate: 96_000.0,
                achieved: 94_000.0
            }
        );
        assert_eq!(
            search_stop(
                &json!({ "steps": [step(1000.0, 1000.0, 0.0)] }),
                Some(1000),
                LOSS_MAX
            ),
            SearchStop::NoFailure
        );
        // Nothing passed: the lowest failing step is the first.
        let none = json!({ "steps": [step(1000.0, 1000.0, 0.5), step(500.0, 500.0, 0.2)] });
        assert_eq!(
            search_stop(&none, None, LOSS_MAX),
            SearchStop::Loss {
                rate: 500.0,
                loss: 0.2
            }
        );
    }

    #[test]
    fn wins_are_named_by_the_stored_duids() {
        let report = json!({ "steps": [{ "extra_advertise": 19990, "servers": [
            { "server_id": "0004AA", "advertise": 20000, "reply": 9990, "won": 10000 },
            { "server_id": "0004bb", "advertise": 20000, "reply": 10000, "won": 10000 },
            { "server_id": "0004cc", "advertise": 1, "reply": 0, "won": 0 }
        ]}]});
        let duids = [
            ("primary", "0004aa".to_owned()),
            ("secondary", "0004bb".to_owned()),
        ];
        let (w, second) = wins(&report, &duids);
        assert_eq!(second, 19990);
        let named: Vec<(&str, u64, u64)> = w
            .iter()
            .map(|w| (w.server.as_str(), w.won, w.replies))
            .collect();
        assert_eq!(
            named,
            [
                ("primary", 10000, 9990),
                ("secondary", 10000, 10000),
                ("unknown", 0, 0)
            ]
        );
        assert_eq!(wins(&json!({}), &duids), (vec![], 0));
    }
}
