//! `tandemd check-config` on failover configs: TLS files are checked for being readable and for
//! holding usable certificates and keys, and each failure names the file.

use std::path::Path;
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

fn tandemd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tandemd"))
}

/// Writes ca.crt, primary.crt and primary.key into `dir`.
fn write_certs(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let p = CertificateParams::new(vec!["dhcp-a.isp.example".to_string()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca_cert, &ca_key).unwrap();
    std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("primary.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("primary.key"), key.serialize_pem()).unwrap();
}

/// The example primary config, with its TLS paths pointing into `dir`.
fn config_in(dir: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/failover/primary.toml");
    let text = std::fs::read_to_string(root).unwrap();
    let path = dir.join("primary.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    path
}

#[test]
fn missing_tls_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path());
    let out = tandemd().arg("check-config").arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tls/primary.crt"), "{err}");
}

#[test]
fn good_tls_files_pass_and_a_mismatched_key_fails() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path());
    let tls = dir.path().join("tls");
    write_certs(&tls);
    let out = tandemd().arg("check-config").arg(&cfg).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Another key than the certificate's.
    std::fs::write(
        tls.join("primary.key"),
        KeyPair::generate().unwrap().serialize_pem(),
    )
    .unwrap();
    let out = tandemd().arg("check-config").arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TLS"), "{err}");
}
