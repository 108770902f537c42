//! The sans-IO crates never open a socket, read a clock, spawn a thread, touch files or draw
//! system randomness: time and seeds are arguments. This test reads their sources and manifests
//! and fails on any use of those facilities, so the rule is checked, not reviewed.

use std::fs;
use std::path::{Path, PathBuf};

/// The crates that must stay sans-IO (paths from the workspace root).
const SANS_IO_CRATES: &[&str] = &[
    "userspace/wire",
    "userspace/lease",
    "userspace/engine",
    "userspace/failover",
    "userspace/kea",
    "ebpf/common",
];

/// Tokens that mean I/O, clocks, threads, processes or system randomness.
const FORBIDDEN: &[&str] = &[
    "UdpSocket",
    "TcpStream",
    "TcpListener",
    "UnixStream",
    "UnixDatagram",
    "std::net::Socket",
    "SystemTime",
    "Instant",
    "std::thread",
    "thread::spawn",
    "thread::sleep",
    "std::fs",
    "File::",
    "std::process",
    "std::env",
    "getrandom",
    "thread_rng",
    "OsRng",
    "rand::",
    "libc::",
    "mio::",
    "tokio",
    "io_uring",
    "Mutex",
    "RwLock",
];

/// Normal dependencies a sans-IO crate may have (dev-dependencies are not checked).
const ALLOWED_DEPS: &[&str] = &[
    "tandem-ebpf-common",
    "tandem-wire",
    "tandem-lease",
    "tandem-engine",
    "tandem-failover",
    "thiserror",
    "tracing",
    "crc32fast",
    "arbitrary",
    // Fixed-capacity vectors on the stack (no_std capable, no I/O): the engine's per-packet
    // lists.
    "arrayvec",
    // tandem-kea reads Kea's JSON config: a parser, text in and values out.
    "serde_json",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Code of a line without its `//` comment (string literals containing `//` are rare enough
/// in these crates that a false negative is acceptable; a false positive would show up here).
fn code_part(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

/// The first forbidden token of each offending line. Test code is exempt: files named
/// `tests.rs` and everything after a `#[cfg(test)]` line (house style puts tests last).
fn violations_in(source: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = code_part(line);
        if let Some(token) = FORBIDDEN.iter().find(|t| code.contains(*t)) {
            found.push((n + 1, *token));
        }
    }
    found
}

#[test]
fn sans_io_crates_use_no_sockets_clocks_threads_files_or_randomness() {
    let root = workspace_root();
    let mut problems = Vec::new();
    for krate in SANS_IO_CRATES {
        let mut files = Vec::new();
        rust_files(&root.join(krate).join("src"), &mut files);
        assert!(
            !files.is_empty(),
            "{krate} has no sources: is the list above stale?"
        );
        for file in files.into_iter().filter(|f| !f.ends_with("tests.rs")) {
            let source = fs::read_to_string(&file).unwrap();
            for (line, token) in violations_in(&source) {
                problems.push(format!("{}:{line}: uses `{token}`", file.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "sans-IO rule broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn sans_io_crates_depend_only_on_allowed_crates() {
    let root = workspace_root();
    let mut problems = Vec::new();
    for krate in SANS_IO_CRATES {
        let manifest = fs::read_to_string(root.join(krate).join("Cargo.toml")).unwrap();
        let mut section = String::new();
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                section = line.to_owned();
                continue;
            }
            if section != "[dependencies]" || line.is_empty() || line.starts_with('#') {
                continue;
            }
            let name = line.split(['=', '.', ' ']).next().unwrap_or("");
            if !ALLOWED_DEPS.contains(&name) {
                problems.push(format!(
                    "{krate}: dependency `{name}` is not allowed in a sans-IO crate"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_catches_what_it_should() {
    // Guard against a checker that can never fail.
    assert_eq!(
        violations_in("let t = std::time::SystemTime::now();").len(),
        1
    );
    assert_eq!(violations_in("let s = UdpSocket::bind(a);").len(), 1);
    assert_eq!(violations_in("std::thread::spawn(|| ());").len(), 1);
    assert!(violations_in("// SystemTime is passed in by the caller").is_empty());
    assert!(violations_in("let now: u64 = input.now;").is_empty());
    assert!(violations_in("#[cfg(test)]\nmod tests { use std::fs; }").is_empty());
}
