//! How long tandemd has been running, for the status page's uptime: the process's start time
//! from `/proc/self/stat` (field 22, clock ticks after boot, proc(5)) against `/proc/uptime`.
//! Read once when the metrics listener binds, which is after the store loaded, so the uptime
//! includes the load.

use std::time::{Duration, Instant};

/// The moment the process started, as an [`Instant`]; `now` when `/proc` cannot tell.
pub(crate) fn process_started(now: Instant) -> Instant {
    let age = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .zip(std::fs::read_to_string("/proc/uptime").ok())
        .and_then(|(stat, uptime)| age(&stat, &uptime, clock_ticks_per_s()?));
    age.and_then(|a| now.checked_sub(a)).unwrap_or(now)
}

/// `sysconf(_SC_CLK_TCK)`, the unit of `/proc/self/stat` times.
fn clock_ticks_per_s() -> Option<u64> {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|t| *t > 0)
}

/// The process's age from the text of `/proc/self/stat` and `/proc/uptime`.
fn age(stat: &str, uptime: &str, ticks_per_s: u64) -> Option<Duration> {
    // The command name (field 2) is in parentheses and may hold spaces or ')': the fields
    // after the last ')' start at field 3 (state); starttime is field 22.
    let (_, rest) = stat.rsplit_once(')')?;
    let start_ticks: u64 = rest.split_whitespace().nth(22 - 3)?.parse().ok()?;
    let up_s: f64 = uptime.split_whitespace().next()?.parse().ok()?;
    let started_s = start_ticks as f64 / ticks_per_s as f64;
    Duration::try_from_secs_f64(up_s - started_s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_from_proc_text() {
        // A command name with a space and a parenthesis; starttime 12345 ticks at 100 Hz.
        let stat = "4242 (tan dem)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 3 0 \
                    12345 1000 200 18446744073709551615";
        assert_eq!(
            age(stat, "200.45 300.00\n", 100),
            Some(Duration::from_secs(77))
        );
        assert_eq!(
            age(stat, "100.00 1.0", 100),
            None,
            "uptime before the start"
        );
        assert_eq!(age("4242 (x) S 1", "1.0 1.0", 100), None, "short");
        assert_eq!(age("garbage", "1.0", 100), None);
    }

    #[test]
    fn this_process_has_an_age() {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let uptime = std::fs::read_to_string("/proc/uptime").unwrap();
        let a = age(&stat, &uptime, clock_ticks_per_s().unwrap()).unwrap();
        assert!(a < Duration::from_secs(24 * 3600), "{a:?}");
        let now = Instant::now();
        assert!(process_started(now) <= now);
    }
}
