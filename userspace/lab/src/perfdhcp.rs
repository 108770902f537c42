//! ISC `perfdhcp -6` as a server-agnostic load generator, and its statistics parsed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::netns::{output_timeout, Netns};

/// A perfdhcp run: `perfdhcp -6 -l IFACE -r RATE -R CLIENTS -n N -p SECONDS [-e ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Perfdhcp {
    /// Client-side interface.
    pub iface: String,
    /// Exchanges initiated per second (`-r`).
    pub rate: u32,
    /// Simulated clients (`-R`, distinct DUIDs).
    pub clients: u32,
    /// Exchanges to initiate before stopping (`-n`).
    pub num: u32,
    /// Test period in seconds (`-p`).
    pub period_s: u32,
    /// `-e address-and-prefix` instead of addresses only.
    pub address_and_prefix: bool,
    /// Extra arguments, appended before nothing else (e.g. `["-W", "2000000"]`).
    pub extra: Vec<String>,
}

impl Perfdhcp {
    /// `rate` exchanges/s for `num` exchanges over `clients` clients, with a period long enough
    /// and `-W 2000000`: after the last Solicit, wait 2 s for outstanding answers, or the last
    /// exchanges in flight count as drops.
    pub fn new(iface: &str, rate: u32, clients: u32, num: u32) -> Self {
        let period_s = num / rate.max(1) + 10;
        let extra = vec!["-W".to_owned(), "2000000".to_owned()];
        Self {
            iface: iface.to_owned(),
            rate,
            clients,
            num,
            period_s,
            address_and_prefix: false,
            extra,
        }
    }

    /// The argument list after `perfdhcp`.
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec!["-6".into(), "-l".into(), self.iface.clone()];
        for (flag, v) in [
            ("-r", self.rate),
            ("-R", self.clients),
            ("-n", self.num),
            ("-p", self.period_s),
        ] {
            a.push(flag.into());
            a.push(v.to_string());
        }
        if self.address_and_prefix {
            a.push("-e".into());
            a.push("address-and-prefix".into());
        }
        a.extend(self.extra.iter().cloned());
        a
    }

    /// Runs to completion in `ns` (bounded by the period plus 60 s) and parses the report.
    /// stdout goes to `dir/<name>.stdout` as well.
    pub fn run(&self, ns: &Netns, dir: &Path, name: &str) -> Result<PerfdhcpReport> {
        let mut cmd = ns.command("perfdhcp");
        cmd.args(self.args());
        let out = output_timeout(&mut cmd, Duration::from_secs(u64::from(self.period_s) + 60))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        std::fs::write(dir.join(format!("{name}.stdout")), &stdout)?;
        std::fs::write(dir.join(format!("{name}.stderr")), &stderr)?;
        // perfdhcp exits 3 when packets were lost; the report says how many.
        match out.status.code() {
            Some(0 | 3) => {}
            _ => bail!(
                "perfdhcp {:?} exited {}: {stderr}\n{stdout}",
                self.args(),
                out.status
            ),
        }
        let mut r = PerfdhcpReport::parse(&stdout)
            .with_context(|| format!("perfdhcp output:\n{stdout}"))?;
        r.exit_code = out.status.code();
        Ok(r)
    }
}

/// One exchange's statistics (`***Statistics for: SOLICIT-ADVERTISE***`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exchange {
    /// Packets sent.
    pub sent: u64,
    /// Packets received.
    pub received: u64,
    /// Packets counted as dropped (no answer within the drop time).
    pub drops: u64,
    /// Answers that matched no sent packet.
    pub orphans: u64,
    /// Leases perfdhcp rejected.
    pub rejected_leases: u64,
    /// Addresses/prefixes seen twice (`non unique addresses`).
    pub non_unique: u64,
    /// Delays in milliseconds.
    pub min_delay_ms: f64,
    /// Average delay (ms).
    pub avg_delay_ms: f64,
    /// Maximum delay (ms).
    pub max_delay_ms: f64,
    /// Every `key: value` line of the section, verbatim.
    pub raw: BTreeMap<String, String>,
}

/// perfdhcp's final report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerfdhcpReport {
    /// Achieved exchanges per second (`Rate:` line).
    pub rate: f64,
    /// Exchanges keyed by their name, e.g. `SOLICIT-ADVERTISE`, `REQUEST-REPLY`.
    pub exchanges: BTreeMap<String, Exchange>,
    /// perfdhcp's exit code (0, or 3 when packets were lost).
    pub exit_code: Option<i32>,
}

impl PerfdhcpReport {
    /// Parses perfdhcp's stdout.
    pub fn parse(text: &str) -> Result<Self> {
        let mut r = Self::default();
        let mut cur: Option<String> = None;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("Rate:") {
                r.rate = rest
                    .split_whitespace()
                    .next()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0.0);
                continue;
            }
            if let Some(name) = line
                .strip_prefix("***Statistics for:")
                .and_then(|s| s.strip_suffix("***"))
            {
                let name = name.trim().to_owned();
                r.exchanges.entry(name.clone()).or_default();
                cur = Some(name);
                continue;
            }
            if line.starts_with("***") {
                cur = None;
                continue;
            }
            let (Some(name), Some((k, v))) = (cur.as_ref(), line.split_once(':')) else {
                continue;
            };
            let Some(x) = r.exchanges.get_mut(name) else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            x.raw.insert(k.to_owned(), v.to_owned());
            let num = || {
                v.split_whitespace()
                    .next()
                    .and_then(|w| w.parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            match k {
                "sent packets" => x.sent = num() as u64,
                "received packets" => x.received = num() as u64,
                "drops" => x.drops = num() as u64,
                "orphans" => x.orphans = num() as u64,
                "rejected leases" => x.rejected_leases = num() as u64,
                "non unique addresses" => x.non_unique = num() as u64,
                "min delay" => x.min_delay_ms = num(),
                "avg delay" => x.avg_delay_ms = num(),
                "max delay" => x.max_delay_ms = num(),
                _ => {}
            }
        }
        if r.exchanges.is_empty() {
            bail!("no statistics in perfdhcp output");
        }
        Ok(r)
    }

    /// The named exchange, or an error naming what is there.
    pub fn exchange(&self, name: &str) -> Result<&Exchange> {
        self.exchanges
            .get(name)
            .with_context(|| format!("no {name} in {:?}", self.exchanges.keys()))
    }
}

impl std::fmt::Display for PerfdhcpReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "rate {:.1} exchanges/s", self.rate)?;
        for (n, x) in &self.exchanges {
            writeln!(
                f,
                "{n}: sent {} received {} drops {} orphans {} rejected {} non-unique {} delay min/avg/max {:.3}/{:.3}/{:.3} ms",
                x.sent, x.received, x.drops, x.orphans, x.rejected_leases, x.non_unique,
                x.min_delay_ms, x.avg_delay_ms, x.max_delay_ms
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections() {
        let t = "Running: perfdhcp -6\n***Rate statistics***\nRate: 998.3 4-way exchanges/second, expected rate: 1000\n\n\
                 ***Statistics for: SOLICIT-ADVERTISE***\nsent packets: 10000\nreceived packets: 9990\ndrops: 10\ndrops ratio: 0.1 %\norphans: 0\nrejected leases: 0\nnon unique addresses: 0\n\nmin delay: 0.084 ms\navg delay: 0.181 ms\nmax delay: 4.356 ms\n\n\
                 ***Statistics for: REQUEST-REPLY***\nsent packets: 9990\nreceived packets: 9990\ndrops: 0\n";
        let r = PerfdhcpReport::parse(t).unwrap();
        assert!((r.rate - 998.3).abs() < 1e-9);
        let sa = r.exchange("SOLICIT-ADVERTISE").unwrap();
        assert_eq!((sa.sent, sa.received, sa.drops), (10000, 9990, 10));
        assert!((sa.max_delay_ms - 4.356).abs() < 1e-9);
        assert_eq!(r.exchange("REQUEST-REPLY").unwrap().received, 9990);
        assert!(PerfdhcpReport::parse("nothing").is_err());
    }
}
