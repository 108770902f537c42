//! The written files checked with `openssl`, an implementation independent of rcgen: chains,
//! purposes, names, validity dates, key/certificate match and key file modes.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::*;

/// Runs `openssl ARGS`; returns (success, stdout + stderr).
fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn verify(ca: &Path, cert: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["verify", "-CAfile", s(ca)];
    args.extend_from_slice(extra);
    args.push(s(cert));
    openssl(&args)
}

fn written() -> (tempfile::TempDir, PairCerts) {
    let dir = tempfile::tempdir().unwrap();
    let certs = write_lab_pair(&dir.path().join("tls")).unwrap();
    (dir, certs)
}

#[test]
fn partner_certificates_chain_to_the_lab_ca_for_both_purposes() {
    let (_dir, c) = written();
    for leaf in [&c.primary, &c.secondary] {
        for purpose in ["sslserver", "sslclient"] {
            let (ok, text) = verify(&c.ca, &leaf.cert, &["-purpose", purpose]);
            assert!(ok, "{}: {purpose}: {text}", leaf.cert.display());
        }
    }
}

#[test]
fn rogue_certificates_chain_only_to_the_rogue_ca() {
    let (_dir, c) = written();
    for rogue in [&c.rogue_primary, &c.rogue_secondary] {
        let (ok, text) = verify(&c.ca, &rogue.cert, &[]);
        assert!(!ok, "rogue accepted by the lab CA: {text}");
        let (ok, text) = verify(&c.rogue_ca, &rogue.cert, &[]);
        assert!(ok, "rogue not even valid under its own CA: {text}");
    }
    let (ok, _) = verify(&c.rogue_ca, &c.primary.cert, &[]);
    assert!(!ok, "the rogue CA accepts the genuine primary");
}

#[test]
fn expired_certificates_were_valid_only_in_2000() {
    let (_dir, c) = written();
    for leaf in [&c.expired_primary, &c.expired_secondary] {
        let (ok, text) = verify(&c.ca, &leaf.cert, &[]);
        assert!(!ok && text.contains("expired"), "{text}");
        // 2000-06-01: inside the validity window, so the chain itself is sound.
        let (ok, text) = verify(&c.ca, &leaf.cert, &["-attime", "959817600"]);
        assert!(ok, "{text}");
    }
}

#[test]
fn certificates_carry_the_dns_name_and_partner_link_address() {
    let (_dir, c) = written();
    let cases = [
        (
            &c.primary,
            "DNS:dhcp-a.lab.example",
            "IP Address:FD00:647:0:0:0:0:0:1",
        ),
        (
            &c.secondary,
            "DNS:dhcp-b.lab.example",
            "IP Address:FD00:647:0:0:0:0:0:2",
        ),
        (
            &c.rogue_primary,
            "DNS:dhcp-a.lab.example",
            "IP Address:FD00:647:0:0:0:0:0:1",
        ),
        (
            &c.rogue_secondary,
            "DNS:dhcp-b.lab.example",
            "IP Address:FD00:647:0:0:0:0:0:2",
        ),
    ];
    for (leaf, dns, ip) in cases {
        let (ok, text) = openssl(&[
            "x509",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
            s(&leaf.cert),
        ]);
        assert!(ok, "{text}");
        assert!(
            text.contains(dns) && text.contains(ip),
            "{}: {text}",
            leaf.cert.display()
        );
    }
    // The other partner's name is not in the certificate.
    let (_, text) = openssl(&[
        "x509",
        "-noout",
        "-ext",
        "subjectAltName",
        "-in",
        s(&c.primary.cert),
    ]);
    assert!(!text.contains("dhcp-b"), "{text}");
    assert_eq!(c.primary_identity, Identity::lab(FailoverRole::Primary));
}

#[test]
fn keys_match_their_certificates_and_are_private() {
    let (_dir, c) = written();
    let leaves = [
        &c.primary,
        &c.secondary,
        &c.rogue_primary,
        &c.rogue_secondary,
        &c.expired_primary,
        &c.expired_secondary,
    ];
    let mut seen = Vec::new();
    for leaf in leaves {
        let (ok, from_cert) = openssl(&["x509", "-noout", "-pubkey", "-in", s(&leaf.cert)]);
        assert!(ok, "{from_cert}");
        let (ok, from_key) = openssl(&["pkey", "-pubout", "-in", s(&leaf.key)]);
        assert!(ok, "{from_key}");
        assert_eq!(from_cert, from_key, "{}", leaf.key.display());
        assert!(!seen.contains(&from_key), "a key was reused");
        seen.push(from_key);
        let mode = fs::metadata(&leaf.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", leaf.key.display());
        assert!(fs::read_to_string(&leaf.key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----"));
    }
}

#[test]
fn writing_again_replaces_the_files() {
    let (dir, first) = written();
    let before = fs::read(&first.ca).unwrap();
    let second = write_lab_pair(&dir.path().join("tls")).unwrap();
    assert_eq!(first, second, "same paths");
    assert_ne!(before, fs::read(&second.ca).unwrap(), "a fresh CA");
    let (ok, text) = verify(&second.ca, &second.primary.cert, &[]);
    assert!(ok, "{text}");
}

/// What rustls does with a partner's certificate in tandemd: webpki path building to `ca` for
/// `usage` at `time`, then the name check against `name` (DNS name or IP address).
fn webpki_accepts(
    ca: &Path,
    leaf: &Path,
    usage: webpki::KeyUsage,
    time: rustls_pki_types::UnixTime,
    name: &str,
) -> Result<(), webpki::Error> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName};
    let ca = CertificateDer::from_pem_file(ca).unwrap();
    let leaf = CertificateDer::from_pem_file(leaf).unwrap();
    let anchors = [webpki::anchor_from_trusted_cert(&ca)?];
    let ee = webpki::EndEntityCert::try_from(&leaf)?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        time,
        usage,
        None,
        None,
    )?;
    ee.verify_is_valid_for_subject_name(&ServerName::try_from(name).unwrap())
}

#[test]
fn webpki_accepts_the_partners_and_refuses_rogue_expired_and_wrong_names() {
    let (_dir, c) = written();
    let now = rustls_pki_types::UnixTime::now();
    let server = webpki::KeyUsage::server_auth;
    let client = webpki::KeyUsage::client_auth;
    for (leaf, dns, ip) in [
        (&c.primary, "dhcp-a.lab.example", "fd00:647::1"),
        (&c.secondary, "dhcp-b.lab.example", "fd00:647::2"),
    ] {
        for name in [dns, ip] {
            for usage in [server(), client()] {
                webpki_accepts(&c.ca, &leaf.cert, usage, now, name)
                    .unwrap_or_else(|e| panic!("{}: {name}: {e}", leaf.cert.display()));
            }
        }
    }
    let refused = |leaf: &CertKey, ca: &Path, name: &str| {
        webpki_accepts(ca, &leaf.cert, server(), now, name).unwrap_err()
    };
    // The rogue CA bears the lab CA's name, so the path is found and its signature fails.
    assert_eq!(
        refused(&c.rogue_primary, &c.ca, "dhcp-a.lab.example"),
        webpki::Error::InvalidSignatureForPublicKey
    );
    assert!(matches!(
        refused(&c.expired_secondary, &c.ca, "dhcp-b.lab.example"),
        webpki::Error::CertExpired { .. }
    ));
    assert!(matches!(
        refused(&c.primary, &c.ca, "dhcp-b.lab.example"),
        webpki::Error::CertNotValidForName(_)
    ));
    assert!(matches!(
        refused(&c.primary, &c.ca, "fd00:647::2"),
        webpki::Error::CertNotValidForName(_)
    ));
    // The rogue chain itself is sound: only the trust anchor is wrong.
    webpki_accepts(
        &c.rogue_ca,
        &c.rogue_primary.cert,
        server(),
        now,
        "fd00:647::1",
    )
    .unwrap();
}
