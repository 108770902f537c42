//! The machine a measurement ran on, and the date, for `bench/RESULTS.md`.

use serde::Serialize;

use crate::shell::{cmd, output};

/// Where and when a measurement ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Machine {
    /// `nproc`.
    pub(crate) nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub(crate) cpu_model: String,
    /// `uname -r`.
    pub(crate) kernel: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub(crate) date_utc: String,
    /// 1, 5 and 15-minute load averages before the run (`/proc/loadavg`): other work on the
    /// machine shows here.
    pub(crate) load_average: String,
}

impl Machine {
    pub(crate) fn describe() -> anyhow::Result<Self> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Ok(Self {
            nproc: output(&mut cmd("nproc", [] as [&str; 0]))?.trim().parse()?,
            cpu_model: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown".to_owned()),
            kernel: output(&mut cmd("uname", ["-r"]))?.trim().to_owned(),
            date_utc: output(&mut cmd("date", ["-u", "+%Y-%m-%dT%H:%M:%SZ"]))?
                .trim()
                .to_owned(),
            load_average: load_average(
                &std::fs::read_to_string("/proc/loadavg").unwrap_or_default(),
            ),
        })
    }
}

fn load_average(loadavg: &str) -> String {
    loadavg
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "model name").then(|| v.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_is_the_first_model_name() {
        let info = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold\nprocessor\t: 1\nmodel name\t: other\n";
        assert_eq!(cpu_model(info).as_deref(), Some("Intel(R) Xeon(R) Gold"));
        assert_eq!(cpu_model("processor : 0\n"), None);
        assert_eq!(
            load_average("0.52 1.20 0.98 2/311 4242\n"),
            "0.52 1.20 0.98"
        );
    }

    #[test]
    fn describe_reads_this_machine() {
        let m = Machine::describe().unwrap();
        assert!(m.nproc >= 1);
        assert!(!m.kernel.is_empty());
        assert_eq!(
            m.date_utc.len(),
            "2026-11-26T23:00:00Z".len(),
            "{}",
            m.date_utc
        );
        assert!(m.date_utc.ends_with('Z'), "{}", m.date_utc);
    }
}
