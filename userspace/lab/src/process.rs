//! A spawned-process guard: output to files, SIGTERM then SIGKILL on drop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// How long [`Process::stop`] waits after SIGTERM before sending SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// A child process whose stdout and stderr go to `<dir>/<name>.stdout` / `.stderr`.
///
/// Drop stops it (SIGTERM, then SIGKILL after [`STOP_GRACE`]) and reaps it.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl Process {
    /// Spawns `cmd` with stdin closed and output appended to files in `dir`.
    pub fn spawn(mut cmd: Command, dir: &Path, name: &str) -> Result<Self> {
        let stdout_path = dir.join(format!("{name}.stdout"));
        let stderr_path = dir.join(format!("{name}.stderr"));
        let open = |p: &Path| {
            File::options()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| p.display().to_string())
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(open(&stdout_path)?)
            .stderr(open(&stderr_path)?)
            .spawn()
            .with_context(|| format!("spawn {name}: {cmd:?}"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            status: None,
            stdout_path,
            stderr_path,
        })
    }

    /// The name given at spawn time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Path of the file holding the child's stdout.
    pub fn stdout_path(&self) -> &Path {
        &self.stdout_path
    }

    /// Path of the file holding the child's stderr.
    pub fn stderr_path(&self) -> &Path {
        &self.stderr_path
    }

    /// The child's stderr so far (lossy UTF-8), for failure messages.
    pub fn stderr(&self) -> String {
        std::fs::read(&self.stderr_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The child's stdout so far (lossy UTF-8).
    pub fn stdout(&self) -> String {
        std::fs::read(&self.stdout_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The exit status if the child has exited, without blocking.
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.child.try_wait()?;
        }
        Ok(self.status)
    }

    /// Whether the child is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.try_status(), Ok(None))
    }

    /// Waits up to `timeout` for the child to exit; `None` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.try_status()? {
                return Ok(Some(st));
            }
            if Instant::now() > deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the child if it is still running.
    pub fn signal(&mut self, signal: i32) -> Result<()> {
        if self.try_status()?.is_some() {
            return Ok(());
        }
        // SAFETY: kill(2) on the pid of our own unreaped child: the pid cannot have been reused.
        let rc = unsafe { libc::kill(self.child.id() as i32, signal) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error()).context(format!("kill {}", self.name));
        }
        Ok(())
    }

    /// `kill -9` on purpose (a crash), then reaps the child.
    pub fn kill9(&mut self) -> Result<ExitStatus> {
        self.signal(libc::SIGKILL)?;
        let st = self.child.wait()?;
        self.status = Some(st);
        Ok(st)
    }

    /// SIGTERM, wait up to [`STOP_GRACE`], then SIGKILL; returns the exit status.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        self.signal(libc::SIGTERM)?;
        if let Some(st) = self.wait_timeout(STOP_GRACE)? {
            return Ok(st);
        }
        eprintln!(
            "lab: {} ignored SIGTERM for {STOP_GRACE:?}; SIGKILL",
            self.name
        );
        self.kill9()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("lab: stopping {}: {e:#}", self.name);
        }
    }
}
