//! Running programs: streamed (the user sees the output as it comes), captured, or probed.
//!
//! Every child gets `/dev/null` as stdin so nothing can wait for a terminal (CI has none).

use std::ffi::OsStr;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// Builds a command from a program and its arguments.
pub(crate) fn cmd<I, S>(program: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// The command as a shell-like line, for logs and for `bench/RESULTS.md`.
pub(crate) fn display(c: &Command) -> String {
    let mut parts = vec![c.get_program().to_string_lossy().into_owned()];
    parts.extend(c.get_args().map(|a| quote(&a.to_string_lossy())));
    parts.join(" ")
}

fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:+,@%".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Runs `c` with stdout and stderr going straight to ours; fails unless it exits 0.
pub(crate) fn run_streamed(c: &mut Command) -> anyhow::Result<()> {
    let line = display(c);
    println!("$ {line}");
    let status = c
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("starting `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Runs `c` and returns its stdout; fails (quoting stderr) unless it exits 0.
pub(crate) fn output(c: &mut Command) -> anyhow::Result<String> {
    let line = display(c);
    let out = c
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting `{line}`"))?;
    if !out.status.success() {
        bail!(
            "`{line}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// True when `c` starts and exits 0; its output is discarded.
pub(crate) fn succeeds(c: &mut Command) -> bool {
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_a_shell_would_split() {
        let c = cmd("perfdhcp", ["-6", "-r", "2000", "-l", "veth cli", "it's"]);
        assert_eq!(display(&c), r"perfdhcp -6 -r 2000 -l 'veth cli' 'it'\''s'");
    }

    #[test]
    fn output_captures_stdout_and_reports_failure_with_stderr() {
        assert_eq!(output(&mut cmd("sh", ["-c", "echo hi"])).unwrap(), "hi\n");
        let err = output(&mut cmd("sh", ["-c", "echo oops >&2; exit 3"])).unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("oops") && msg.contains("exit status: 3"),
            "{msg}"
        );
    }

    #[test]
    fn succeeds_distinguishes_exit_codes_and_missing_programs() {
        assert!(succeeds(&mut cmd("true", [] as [&str; 0])));
        assert!(!succeeds(&mut cmd("false", [] as [&str; 0])));
        assert!(!succeeds(&mut cmd(
            "/nonexistent/xtask-probe",
            [] as [&str; 0]
        )));
    }
}
