//! `[failover.relationship.tls]` [RFC 8156 §10]: mutual TLS by default, its files, relative
//! paths, and [`tandem_config::Config::check_files`].

use std::path::{Path, PathBuf};

use tandem_config::{load, parse, FileProblem, Invalid, Tls};

use crate::failover::{invalid, one, with_failover, NO_TLS, REL};
use crate::util::{fails, ok};

#[test]
fn mutual_tls_is_the_default_and_needs_its_files() {
    let text = with_failover(&REL.replace(
        "[[failover.relationship]]",
        "[[failover.relationship]] # <-",
    ));
    let e = fails(
        &text,
        "failover.relationship[0].tls",
        "no [tls] table, so TLS mode is \"mutual\" (the default), which needs cert, key and ca",
    );
    assert_eq!(invalid(&e), &Invalid::TlsTableMissing);
    let tls = "[failover.relationship.tls] # <-\ncert = \"a.crt\"\nca = \"ca.crt\"\n";
    let e = fails(
        &with_failover(&format!("{REL}{tls}")),
        "failover.relationship[0].tls.key",
        "`key` is required with TLS mode \"mutual\"",
    );
    assert_eq!(invalid(&e), &Invalid::TlsKeyMissing("key"));
    let tls =
        "[failover.relationship.tls] # <-\nmode = \"mutual\"\nkey = \"a.key\"\nca = \"ca.crt\"\n";
    fails(
        &with_failover(&format!("{REL}{tls}")),
        "failover.relationship[0].tls.cert",
        "`cert` is required",
    );
    let tls = "[failover.relationship.tls]\ncert = \" \" # <-\nkey = \"a.key\"\nca = \"ca.crt\"\n";
    let e = fails(
        &with_failover(&format!("{REL}{tls}")),
        "failover.relationship[0].tls.cert",
        "the path is empty",
    );
    assert_eq!(invalid(&e), &Invalid::EmptyPath);
    let tls = "[failover.relationship.tls]\ncert = \"a\"\nkey = \"b\"\nca = \"c\"\n\
               partner-name = \"not a name\" # <-\n";
    let e = fails(
        &with_failover(&format!("{REL}{tls}")),
        "failover.relationship[0].tls.partner-name",
        "not a DNS name or IP address",
    );
    assert_eq!(invalid(&e), &Invalid::PartnerName("not a name".into()));
}

#[test]
fn tls_mode_none_takes_no_files() {
    for key in ["cert", "key", "ca", "partner-name"] {
        let tls = format!("{NO_TLS}{key} = \"x\" # <-\n");
        let e = fails(
            &with_failover(&format!("{REL}{tls}")),
            &format!("failover.relationship[0].tls.{key}"),
            "is given but TLS mode is \"none\"",
        );
        assert!(matches!(invalid(&e), Invalid::TlsKeyUnused(k) if *k == key));
    }
    // Inline table form.
    let text = with_failover(&format!("{REL}tls = {{ mode = \"none\" }}\n"));
    assert_eq!(ok(&text).failover.unwrap().relationships[0].tls, Tls::None);
}

fn mutual(cert: &str) -> String {
    let tls = format!(
        "[failover.relationship.tls]\ncert = \"{cert}\"\nkey = \"k.pem\"\nca = \"/etc/ca.pem\"\n\
         partner-name = \"2001:db8::2\"\n"
    );
    with_failover(&format!("{REL}{tls}"))
}

#[test]
fn relative_tls_paths_are_taken_from_the_config_files_directory() {
    let config = parse(&mutual("tls/a.crt"), "/etc/tandem/tandem.toml").unwrap();
    let expected = Tls::Mutual {
        cert: PathBuf::from("/etc/tandem/tls/a.crt"),
        key: PathBuf::from("/etc/tandem/k.pem"),
        ca: PathBuf::from("/etc/ca.pem"),
        partner_name: Some("2001:db8::2".into()),
    };
    assert_eq!(config.failover.unwrap().relationships[0].tls, expected);
    // A bare file name has no directory: paths stay as written.
    let config = parse(&mutual("tls/a.crt"), "t.toml").unwrap();
    let Tls::Mutual { cert, .. } = &config.failover.unwrap().relationships[0].tls else {
        panic!()
    };
    assert_eq!(cert, Path::new("tls/a.crt"));
}

#[test]
fn check_files_reports_unreadable_tls_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tandem.toml");
    let text = mutual("tls/a.crt").replace("/etc/ca.pem", "ca.pem");
    std::fs::write(&file, &text).unwrap();
    // `load` does not look at the files.
    let config = load(&file).unwrap();
    let keys = |c: &tandem_config::Config| -> Vec<String> {
        c.check_files().into_iter().map(|u| u.key).collect()
    };
    assert_eq!(
        keys(&config),
        [
            "failover.relationship[0].tls.cert",
            "failover.relationship[0].tls.key",
            "failover.relationship[0].tls.ca"
        ]
    );
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    std::fs::write(dir.path().join("tls/a.crt"), "PEM").unwrap();
    std::fs::write(dir.path().join("k.pem"), "").unwrap();
    std::fs::create_dir(dir.path().join("ca.pem")).unwrap();
    let problems = config.check_files();
    let [key, ca] = &problems[..] else {
        panic!("{problems:?}")
    };
    assert!(matches!(key.problem, FileProblem::Empty));
    assert_eq!(
        key.to_string(),
        format!(
            "key `failover.relationship[0].tls.key`: {}: the file is empty",
            dir.path().join("k.pem").display()
        )
    );
    assert!(matches!(&ca.problem, FileProblem::Read(_)), "{ca}");
    std::fs::write(dir.path().join("k.pem"), "PEM").unwrap();
    std::fs::remove_dir(dir.path().join("ca.pem")).unwrap();
    std::fs::write(dir.path().join("ca.pem"), "PEM").unwrap();
    assert!(config.check_files().is_empty());
    // Mode "none" names no files.
    assert!(ok(&one("")).check_files().is_empty());
}
