//! The relationship state that must survive a restart (RFC 8156 §8.2; R50): one small file per
//! relationship under `<storage>/failover/`, replaced atomically (write a temporary file,
//! fdatasync, rename, fsync the directory), so a crash leaves either the old or the new record.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tandem_failover::{PersistError, PersistedState};

/// Where the state of relationship `name` is kept. Names are free text; the file name keeps
/// `[A-Za-z0-9._-]` and hex-escapes everything else, so two names never share a file.
pub(crate) fn path(dir: &Path, name: &str) -> PathBuf {
    let mut file = String::with_capacity(name.len() + 6);
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' => file.push(char::from(b)),
            _ => file.push_str(&format!("_{b:02x}")),
        }
    }
    file.push_str(".state");
    dir.join(file)
}

/// The stored state, `Ok(None)` when there is none (first start or lost storage).
pub(crate) fn load(path: &Path) -> Result<Option<PersistedState>, LoadError> {
    match fs::read(path) {
        Ok(bytes) => PersistedState::from_bytes(&bytes)
            .map(Some)
            .map_err(|e| LoadError::Corrupt(path.to_path_buf(), e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LoadError::Io(path.to_path_buf(), e)),
    }
}

/// Why the stored state could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    /// The file exists but cannot be read.
    #[error("{0}: {1}")]
    Io(PathBuf, io::Error),
    /// The file is damaged; the operator decides (removing it means RECOVER with UPDREQALL).
    #[error("{0}: {1} (remove the file to start this relationship in RECOVER)")]
    Corrupt(PathBuf, PersistError),
}

/// Replaces the stored state durably.
pub(crate) fn store(path: &Path, state: &PersistedState) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = path.with_extension("state.tmp");
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    f.write_all(&state.to_bytes())?;
    f.sync_data()?;
    drop(f);
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use tandem_failover::{FoTime, ServerState};

    use super::*;

    fn state() -> PersistedState {
        PersistedState {
            current: ServerState::Normal,
            previous: Some(ServerState::RecoverDone),
            current_since: FoTime(10),
            partner: Some(ServerState::Normal),
            partner_since: FoTime(11),
            last_heard_from_partner: Some(FoTime(12)),
            last_operating_time: FoTime(13),
        }
    }

    #[test]
    fn stores_loads_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), "isp-pair");
        assert_eq!(load(&p).unwrap(), None);
        store(&p, &state()).unwrap();
        assert_eq!(load(&p).unwrap(), Some(state()));
        let mut next = state();
        next.current = ServerState::CommunicationsInterrupted;
        store(&p, &next).unwrap();
        assert_eq!(load(&p).unwrap(), Some(next));
        assert!(!p.with_extension("state.tmp").exists());
    }

    #[test]
    fn corrupt_state_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path(), "x");
        fs::write(&p, b"garbage").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("x.state"), "{e}");
    }

    #[test]
    fn names_map_to_distinct_safe_files() {
        let d = Path::new("/s");
        assert_eq!(path(d, "isp-pair"), Path::new("/s/isp-pair.state"));
        assert_eq!(path(d, "a/b"), Path::new("/s/a_2fb.state"));
        assert_ne!(path(d, "a_2fb"), path(d, "a/b"));
    }
}
