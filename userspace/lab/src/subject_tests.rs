//! [`Subject::start_failover`] with a stand-in for tandemd that checks its arguments and
//! reports ready the way tandemd does.

use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::fo_params::{FailoverRole, LabTls};
use crate::topology::{Partners, SERVER_IF};

/// `tandemd run --config PATH`: writes `<dir of PATH>/store/tandemd.ready`, then idles.
const FAKE_TANDEMD: &str = r#"#!/bin/sh
[ "$1" = run ] && [ "$2" = --config ] && [ -f "$3" ] || { echo "bad arguments: $*" >&2; exit 2; }
touch "$(dirname "$3")/store/tandemd.ready"
exec sleep 60
"#;

#[test]
fn start_failover_writes_a_failover_config_and_waits_for_ready() {
    crate::preflight().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-tandemd");
    fs::write(&fake, FAKE_TANDEMD).unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let ns = Netns::new().unwrap();
    let params = ServerParams::standard(SERVER_IF, true);
    let fo = Partners::failover_params(FailoverRole::Secondary, LabTls::None);
    let sdir = dir.path().join("secondary");
    fs::create_dir_all(&sdir).unwrap();

    let mut s = Subject::start_failover(&ns, &params, &fo, &sdir, &fake).unwrap();
    assert!(s.is_running());
    assert_eq!(s.kind(), SubjectKind::Tandem);
    assert!(s.storage_dir().join("tandemd.ready").exists());
    let c = tandem_config::load(s.config_path()).unwrap();
    let r = &c.failover.as_ref().unwrap().relationships[0];
    assert_eq!(r.role, tandem_config::Role::Secondary);
    assert_eq!(c.storage.path, s.storage_dir());
    s.stop().unwrap();
    assert!(!s.is_running());
}

#[test]
fn start_failover_fails_when_tandemd_exits() {
    crate::preflight().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ns = Netns::new().unwrap();
    let params = ServerParams::standard(SERVER_IF, true);
    let fo = Partners::failover_params(FailoverRole::Primary, LabTls::None);
    let err = Subject::start_failover(&ns, &params, &fo, dir.path(), Path::new("/bin/false"))
        .unwrap_err();
    assert!(err.to_string().contains("did not start"), "{err}");
}
