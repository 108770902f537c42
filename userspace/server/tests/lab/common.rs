//! Shared set-up for the lab tests.

use std::path::Path;

use tandem_lab::{Netns, ServerParams, Subject, SubjectKind};

/// The tandemd binary built with this test.
pub(crate) fn tandemd() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tandemd"))
}

/// Checks root and tools, prints and returns the subject named by `TANDEM_TEST_SUBJECT`.
pub(crate) fn subject_kind() -> SubjectKind {
    tandem_lab::preflight().expect("lab preflight");
    let k = SubjectKind::from_env().expect("TANDEM_TEST_SUBJECT");
    println!("subject: {}", k.as_str());
    k
}

/// True, after saying why, when the subject is Kea and the test drives what only tandemd has
/// (`what` names it, e.g. "live reload").
pub(crate) fn skipped_for_kea(what: &str) -> bool {
    let kea = subject_kind() == SubjectKind::Kea;
    if kea {
        println!("{what} drives tandemd only; skipped for Kea");
    }
    kea
}

/// Starts tandemd in `ns` with `params`, its config and store in `dir`.
pub(crate) fn start_tandemd(ns: &Netns, params: &ServerParams, dir: &Path) -> Subject {
    Subject::start(SubjectKind::Tandem, ns, params, dir, Some(tandemd()))
        .unwrap_or_else(|e| panic!("start tandemd: {e:#}"))
}

/// A temporary directory for configs, logs, captures; kept when `TANDEM_LAB_KEEP=1`.
pub(crate) struct TestDir(Option<tempfile::TempDir>, std::path::PathBuf);

impl TestDir {
    pub(crate) fn new(test: &str) -> Self {
        let d = tempfile::Builder::new()
            .prefix(&format!("tandem-lab-{test}-"))
            .tempdir()
            .expect("tempdir");
        let p = d.path().to_owned();
        println!("test dir: {}", p.display());
        Self(Some(d), p)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.1
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::env::var("TANDEM_LAB_KEEP").is_ok_and(|v| v == "1") || std::thread::panicking() {
            if let Some(d) = self.0.take() {
                let p = d.keep();
                eprintln!("kept {}", p.display());
            }
        }
    }
}

/// The subject's log, for failure messages.
pub(crate) fn log_tail(s: &Subject) -> String {
    let l = s.log();
    let start = l.len().saturating_sub(4000);
    l[l.floor_char_boundary_compat(start)..].to_owned()
}

trait FloorCompat {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCompat for String {
    fn floor_char_boundary_compat(&self, mut i: usize) -> usize {
        while i > 0 && !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

/// Unix time now, in seconds (f64).
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
