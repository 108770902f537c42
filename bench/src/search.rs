//! Closed-loop search for the highest rate a server sustains with loss under a bound:
//! doubling from a start rate until a step fails, then bisection between the last rate that
//! passed and the first that failed.

/// Parameters of the search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchParams {
    /// First rate tried (transactions/s, ≥ 1).
    pub start_rate: u32,
    /// Highest rate ever tried.
    pub max_rate: u32,
    /// A step passes when its loss fraction is below this (0.01 = 1 %).
    pub loss_max: f64,
    /// Stop bisecting when failed/passed ≤ 1 + this (0.05 = within 5 %).
    pub precision: f64,
    /// Most steps run in all.
    pub steps_max: u32,
}

/// One step: the rate offered and the loss fraction it produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Offered rate.
    pub rate: u32,
    /// Loss fraction measured.
    pub loss: f64,
}

/// Result of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The highest rate that passed (`None`: even the start rate failed).
    pub best: Option<u32>,
    /// Every step, in the order run.
    pub steps: Vec<Step>,
}

/// Runs the search; `run_step(rate)` measures one step and returns its loss fraction.
pub fn search<E>(
    p: &SearchParams,
    mut run_step: impl FnMut(u32) -> Result<f64, E>,
) -> Result<Outcome, E> {
    let mut steps = Vec::new();
    let mut passed: Option<u32> = None;
    let mut failed: Option<u32> = None;
    let mut rate = p.start_rate.clamp(1, p.max_rate.max(1));
    while (steps.len() as u32) < p.steps_max {
        let loss = run_step(rate)?;
        steps.push(Step { rate, loss });
        if loss < p.loss_max {
            passed = Some(rate);
        } else {
            failed = Some(rate);
        }
        let next = match (passed, failed) {
            (Some(lo), None) => {
                if lo >= p.max_rate {
                    break;
                }
                lo.saturating_mul(2).min(p.max_rate)
            }
            (None, Some(hi)) => {
                if hi <= 1 {
                    break;
                }
                hi / 2
            }
            (Some(lo), Some(hi)) => {
                if f64::from(hi) <= f64::from(lo) * (1.0 + p.precision) || hi - lo <= 1 {
                    break;
                }
                lo + (hi - lo) / 2
            }
            (None, None) => break,
        };
        rate = next;
    }
    Ok(Outcome {
        best: passed,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    const P: SearchParams = SearchParams {
        start_rate: 1000,
        max_rate: 1_000_000,
        loss_max: 0.01,
        precision: 0.02,
        steps_max: 40,
    };

    /// A simulated server with capacity `cap`: no loss below it, the excess lost above.
    fn server(cap: f64) -> impl FnMut(u32) -> Result<f64, Infallible> {
        move |rate| {
            let r = f64::from(rate);
            Ok(if r <= cap { 0.0 } else { (r - cap) / r })
        }
    }

    #[test]
    fn finds_the_capacity_of_a_simulated_server() {
        for cap in [1500.0, 37_000.0, 123_456.0] {
            let o = search(&P, server(cap)).unwrap();
            let best = f64::from(o.best.unwrap());
            // Loss < 1 % allows up to cap / 0.99.
            assert!(best <= cap / 0.99 && best >= cap * 0.98, "cap {cap}: {o:?}");
            assert!(o.steps.len() < 30, "{}", o.steps.len());
            // Doubling first: the second step is twice the first.
            assert_eq!(o.steps[1].rate, 2000);
        }
    }

    #[test]
    fn a_server_failing_the_start_rate_is_searched_downwards() {
        let o = search(&P, server(300.0)).unwrap();
        let best = o.best.unwrap();
        assert!((294..=303).contains(&best), "{o:?}");
        assert_eq!(o.steps[0].rate, 1000);
        assert_eq!(o.steps[1].rate, 500);
    }

    #[test]
    fn limits_are_respected() {
        let o = search(&P, server(1e12)).unwrap();
        assert_eq!(o.best, Some(P.max_rate));
        let dead = search(&P, |_| Ok::<_, Infallible>(1.0)).unwrap();
        assert_eq!(dead.best, None);
        let few = search(&SearchParams { steps_max: 3, ..P }, server(1e9)).unwrap();
        assert_eq!(few.steps.len(), 3);
        let err = search(&P, |_| Err::<f64, _>("boom"));
        assert_eq!(err, Err("boom"));
    }
}
