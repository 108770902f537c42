//! A process's CPU time (user + system, all threads) from `/proc/<pid>/stat` (proc(5)).

use anyhow::{bail, Context};

use crate::shell::{cmd, output};

/// CPU time a process has used so far, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CpuTicks {
    /// `utime`, field 14.
    pub(crate) user: u64,
    /// `stime`, field 15.
    pub(crate) system: u64,
}

impl CpuTicks {
    /// Reads `/proc/<pid>/stat`. The counters cover every thread of the process.
    pub(crate) fn of(pid: u32) -> anyhow::Result<Self> {
        let path = format!("/proc/{pid}/stat");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        parse_stat(&text).with_context(|| format!("parsing {path}: {text}"))
    }

    /// User + system.
    pub(crate) fn total(self) -> u64 {
        self.user + self.system
    }
}

/// CPU time per thread of `pid`: `(tid, comm, ticks)` from `/proc/<pid>/task/*/stat`.
///
/// Threads that exit between two readings drop out of the per-thread view (the process total
/// in [`CpuTicks::of`] still counts them).
pub(crate) fn threads_of(pid: u32) -> anyhow::Result<Vec<(u32, String, CpuTicks)>> {
    let dir = format!("/proc/{pid}/task");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
        let name = entry?.file_name();
        let Some(tid) = name.to_str().and_then(|t| t.parse::<u32>().ok()) else {
            continue;
        };
        // A thread may exit between the listing and the read; skip it then.
        let Ok(text) = std::fs::read_to_string(format!("{dir}/{tid}/stat")) else {
            continue;
        };
        out.push((tid, comm(&text).to_owned(), parse_stat(&text)?));
    }
    out.sort_by_key(|(tid, _, _)| *tid);
    Ok(out)
}

/// Per-thread CPU ticks spent between two [`threads_of`] readings, by thread name, threads of
/// the same name summed, largest first.
pub(crate) fn thread_deltas(
    before: &[(u32, String, CpuTicks)],
    after: &[(u32, String, CpuTicks)],
) -> Vec<(String, u64)> {
    let mut by_name: Vec<(String, u64)> = Vec::new();
    for (tid, name, ticks) in after {
        let start = before
            .iter()
            .find(|(t, _, _)| t == tid)
            .map_or(0, |(_, _, b)| b.total());
        let delta = ticks.total().saturating_sub(start);
        match by_name.iter_mut().find(|(n, _)| n == name) {
            Some((_, sum)) => *sum += delta,
            None => by_name.push((name.clone(), delta)),
        }
    }
    by_name.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    by_name
}

/// The command name between the first `(` and the last `)`.
fn comm(text: &str) -> &str {
    match (text.find('('), text.rfind(')')) {
        (Some(open), Some(close)) if open < close => &text[open + 1..close],
        _ => "?",
    }
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
pub(crate) fn ticks_per_second() -> anyhow::Result<u64> {
    let out = output(&mut cmd("getconf", ["CLK_TCK"]))?;
    let hz: u64 = out
        .trim()
        .parse()
        .with_context(|| format!("getconf CLK_TCK printed {out:?}"))?;
    if hz == 0 {
        bail!("CLK_TCK is 0");
    }
    Ok(hz)
}

/// `pid (comm) state ppid ...`: the command name may hold spaces and parentheses, so fields are
/// counted after the last `)`; there the state is field 3, utime field 14, stime field 15.
fn parse_stat(text: &str) -> anyhow::Result<CpuTicks> {
    let Some(close) = text.rfind(')') else {
        bail!("no `)` after the command name")
    };
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let field = |n: usize| -> anyhow::Result<u64> {
        let s = fields.get(n - 3).with_context(|| format!("no field {n}"))?;
        s.parse().with_context(|| format!("field {n} is {s:?}"))
    };
    Ok(CpuTicks {
        user: field(14)?,
        system: field(15)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_after_the_command_name() {
        let line =
            "4242 (kea dhcp6 (x)) S 1 4242 4242 0 -1 4194560 500 0 0 0 731 129 0 0 20 0 3 0 \
                    271999 3133440 380 18446744073709551615";
        assert_eq!(
            parse_stat(line).unwrap(),
            CpuTicks {
                user: 731,
                system: 129
            }
        );
        assert_eq!(parse_stat(line).unwrap().total(), 860);
        assert!(parse_stat("4242 (short) S 1 2").is_err());
        assert!(parse_stat("no parenthesis").is_err());
    }

    #[test]
    fn thread_deltas_sum_by_name_and_count_new_threads_from_zero() {
        let t = |user, system| CpuTicks { user, system };
        let before = vec![
            (1, "main".to_owned(), t(10, 5)),
            (2, "worker".to_owned(), t(100, 0)),
        ];
        let after = vec![
            (1, "main".to_owned(), t(11, 5)),
            (2, "worker".to_owned(), t(150, 10)),
            (3, "worker".to_owned(), t(7, 0)),
        ];
        assert_eq!(
            thread_deltas(&before, &after),
            vec![("worker".to_owned(), 67), ("main".to_owned(), 1)]
        );
        assert_eq!(comm("1 (a (b)) S"), "a (b)");
        assert_eq!(comm("garbage"), "?");
    }

    #[test]
    fn our_threads_are_listed() {
        let pid = std::process::id();
        let threads = threads_of(pid).unwrap();
        assert!(!threads.is_empty());
        assert!(threads
            .iter()
            .all(|(_, name, _)| !name.is_empty() && name != "?"));
    }

    #[test]
    fn our_own_cpu_time_is_readable_and_grows() {
        let pid = std::process::id();
        let before = CpuTicks::of(pid).unwrap();
        let hz = ticks_per_second().unwrap();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let after = CpuTicks::of(pid).unwrap();
        assert!(
            after.total() >= before.total() + hz / 10,
            "{before:?} -> {after:?}"
        );
    }
}
