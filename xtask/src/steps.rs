//! Named, timed steps that stop at the first failure and end with a per-step summary.

use std::time::Instant;

use anyhow::anyhow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    NotRun,
}

#[derive(Debug)]
struct Step {
    name: String,
    outcome: Outcome,
    secs: f64,
}

/// Runs steps in order; after the first failure the remaining steps are recorded as not run.
#[derive(Debug, Default)]
pub(crate) struct Steps {
    done: Vec<Step>,
    first_failure: Option<anyhow::Error>,
}

impl Steps {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Runs `f` as step `name` unless an earlier step failed.
    pub(crate) fn run(&mut self, name: &str, f: impl FnOnce() -> anyhow::Result<()>) {
        if self.first_failure.is_some() {
            self.done.push(Step {
                name: name.to_owned(),
                outcome: Outcome::NotRun,
                secs: 0.0,
            });
            return;
        }
        println!("\n==> step `{name}`");
        let started = Instant::now();
        let result = f();
        let secs = started.elapsed().as_secs_f64();
        let outcome = match result {
            Ok(()) => {
                println!("==> step `{name}` passed ({secs:.1} s)");
                Outcome::Passed
            }
            Err(e) => {
                println!("==> step `{name}` FAILED ({secs:.1} s): {e:#}");
                self.first_failure = Some(e.context(format!("step `{name}` failed")));
                Outcome::Failed
            }
        };
        self.done.push(Step {
            name: name.to_owned(),
            outcome,
            secs,
        });
    }

    /// The summary: one line per step, then `N passed, N failed`.
    pub(crate) fn summary(&self) -> String {
        let width = self.done.iter().map(|s| s.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for s in &self.done {
            let verdict = match s.outcome {
                Outcome::Passed => "passed",
                Outcome::Failed => "FAILED",
                Outcome::NotRun => "not run",
            };
            out.push_str(&format!(
                "{:<width$}  {verdict:<7}  {:>7.1} s\n",
                s.name, s.secs
            ));
        }
        let count = |o| self.done.iter().filter(|s| s.outcome == o).count();
        out.push_str(&format!(
            "{} passed, {} failed\n",
            count(Outcome::Passed),
            count(Outcome::Failed)
        ));
        out
    }

    /// Prints the summary and returns the first failure, if any.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        println!("\n{}", self.summary().trim_end());
        match self.first_failure {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    #[cfg(test)]
    fn failed(&self) -> bool {
        self.first_failure.is_some()
    }
}

/// An error for a step that ran to completion but found something wrong.
pub(crate) fn failure(message: impl Into<String>) -> anyhow::Error {
    anyhow!(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_first_failure_and_counts_steps() {
        let mut steps = Steps::new();
        let mut ran_after_failure = false;
        steps.run("deps", || Ok(()));
        steps.run("unit", || Err(failure("3 tests failed")));
        steps.run("lab", || {
            ran_after_failure = true;
            Ok(())
        });
        assert!(!ran_after_failure);
        assert!(steps.failed());
        let summary = steps.summary();
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines.len(), 4, "{summary}");
        assert!(
            lines[0].starts_with("deps ") && lines[0].contains("passed"),
            "{summary}"
        );
        assert!(
            lines[1].starts_with("unit ") && lines[1].contains("FAILED"),
            "{summary}"
        );
        assert!(
            lines[2].starts_with("lab ") && lines[2].contains("not run"),
            "{summary}"
        );
        assert_eq!(lines[3], "1 passed, 1 failed");
        let err = format!("{:#}", steps.finish().unwrap_err());
        assert!(
            err.contains("step `unit` failed") && err.contains("3 tests failed"),
            "{err}"
        );
    }

    #[test]
    fn all_passing_finishes_ok() {
        let mut steps = Steps::new();
        steps.run("a", || Ok(()));
        steps.run("b", || Ok(()));
        assert!(steps.summary().ends_with("2 passed, 0 failed\n"));
        assert!(steps.finish().is_ok());
    }
}
