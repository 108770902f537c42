//! Certificates for the failover partners' mutual TLS [RFC 8156 §10]: a lab CA, a certificate
//! and key for each partner, and the bad ones the partner-port tests present (testing.md #25):
//! "rogue" certificates for the same names signed by another CA, and expired ones signed by
//! the lab CA.
//!
//! Every file is PEM. Keys are PKCS#8 ECDSA P-256, written with mode 0600. Leaf certificates
//! carry the partner's DNS name and its partner-link IP address as subject alternative names
//! and are good for both TLS server and client authentication (the primary dials, the
//! secondary accepts, and both present a certificate).

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::fo_params::FailoverRole;
use crate::pair::{PRIMARY_FO_ADDR, PRIMARY_NAME, SECONDARY_FO_ADDR, SECONDARY_NAME};

/// The names a partner's certificate is issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// DNS name (a subject alternative name and the common name).
    pub dns_name: String,
    /// Partner-link address (a subject alternative name).
    pub ip: IpAddr,
}

impl Identity {
    /// The lab's identity of `role`: [`PRIMARY_NAME`] / [`PRIMARY_FO_ADDR`] or
    /// [`SECONDARY_NAME`] / [`SECONDARY_FO_ADDR`], matching [`crate::topology::Pair`].
    pub fn lab(role: FailoverRole) -> Self {
        let (name, ip) = match role {
            FailoverRole::Primary => (PRIMARY_NAME, PRIMARY_FO_ADDR),
            FailoverRole::Secondary => (SECONDARY_NAME, SECONDARY_FO_ADDR),
        };
        Self {
            dns_name: name.to_owned(),
            ip: ip.into(),
        }
    }
}

/// A certificate file and its private key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertKey {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// Its private key (PKCS#8 PEM).
    pub key: PathBuf,
}

/// What [`write_pair`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairCerts {
    /// The lab CA certificate both partners trust (`ca.crt`).
    pub ca: PathBuf,
    /// The primary's certificate (`primary.crt`, `primary.key`).
    pub primary: CertKey,
    /// The secondary's certificate (`secondary.crt`, `secondary.key`).
    pub secondary: CertKey,
    /// Another CA nobody trusts (`rogue-ca.crt`). It has the lab CA's subject name, so only
    /// its key differs: a verifier finds the issuer by name and must fail on the signature.
    pub rogue_ca: PathBuf,
    /// The primary's names, signed by the rogue CA (`rogue-primary.*`).
    pub rogue_primary: CertKey,
    /// The secondary's names, signed by the rogue CA (`rogue-secondary.*`).
    pub rogue_secondary: CertKey,
    /// The primary's names, signed by the lab CA, valid only in the year 2000
    /// (`expired-primary.*`).
    pub expired_primary: CertKey,
    /// The secondary's names, likewise (`expired-secondary.*`).
    pub expired_secondary: CertKey,
    /// The names in the primary's certificates.
    pub primary_identity: Identity,
    /// The names in the secondary's certificates.
    pub secondary_identity: Identity,
}

/// A CA that can sign leaf certificates.
struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(common_name: &str) -> Result<Self> {
        let mut p = CertificateParams::default();
        p.distinguished_name
            .push(DnType::CommonName, common_name.to_owned());
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().context("generate CA key")?;
        let cert = p.self_signed(&key).context("self-sign CA")?;
        Ok(Self { cert, key })
    }

    /// Signs a new leaf for `id`; `expired` makes it valid only during the year 2000.
    fn leaf(&self, id: &Identity, expired: bool) -> Result<(Certificate, KeyPair)> {
        let mut p = CertificateParams::default();
        p.distinguished_name
            .push(DnType::CommonName, id.dns_name.clone());
        p.subject_alt_names = vec![
            SanType::DnsName(
                id.dns_name
                    .clone()
                    .try_into()
                    .with_context(|| format!("DNS name {:?}", id.dns_name))?,
            ),
            SanType::IpAddress(id.ip),
        ];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        if expired {
            p.not_before = rcgen::date_time_ymd(2000, 1, 1);
            p.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let key = KeyPair::generate().context("generate leaf key")?;
        let cert = p
            .signed_by(&key, &self.cert, &self.key)
            .with_context(|| format!("sign certificate for {}", id.dns_name))?;
        Ok((cert, key))
    }
}

/// Writes the lab CA, both partners' certificates and the rogue and expired ones into `dir`
/// (created if missing; existing files are replaced) and returns their paths.
pub fn write_pair(dir: &Path, primary: &Identity, secondary: &Identity) -> Result<PairCerts> {
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let ca = Ca::new("tandem lab CA")?;
    // The same subject as the lab CA: an impostor differs only in its key.
    let rogue = Ca::new("tandem lab CA")?;
    let ca_path = dir.join("ca.crt");
    write_file(&ca_path, &ca.cert.pem(), 0o644)?;
    let rogue_ca_path = dir.join("rogue-ca.crt");
    write_file(&rogue_ca_path, &rogue.cert.pem(), 0o644)?;
    let issue = |signer: &Ca, id: &Identity, expired: bool, stem: &str| -> Result<CertKey> {
        let (cert, key) = signer.leaf(id, expired)?;
        let out = CertKey {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
        };
        write_file(&out.cert, &cert.pem(), 0o644)?;
        write_file(&out.key, &key.serialize_pem(), 0o600)?;
        Ok(out)
    };
    Ok(PairCerts {
        ca: ca_path,
        primary: issue(&ca, primary, false, "primary")?,
        secondary: issue(&ca, secondary, false, "secondary")?,
        rogue_ca: rogue_ca_path,
        rogue_primary: issue(&rogue, primary, false, "rogue-primary")?,
        rogue_secondary: issue(&rogue, secondary, false, "rogue-secondary")?,
        expired_primary: issue(&ca, primary, true, "expired-primary")?,
        expired_secondary: issue(&ca, secondary, true, "expired-secondary")?,
        primary_identity: primary.clone(),
        secondary_identity: secondary.clone(),
    })
}

/// [`write_pair`] with the lab identities of [`Identity::lab`].
pub fn write_lab_pair(dir: &Path) -> Result<PairCerts> {
    write_pair(
        dir,
        &Identity::lab(FailoverRole::Primary),
        &Identity::lab(FailoverRole::Secondary),
    )
}

/// What [`write_leaves`] wrote: a fresh lab CA and one certificate per leaf, in the order asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafCerts {
    /// The CA certificate every leaf chains to (`ca.crt`).
    pub ca: PathBuf,
    /// `<stem>.crt` and `<stem>.key` of each leaf.
    pub leaves: Vec<CertKey>,
}

/// Writes a new lab CA and, for each `(stem, identity)`, a certificate and key it signed, as
/// `<stem>.crt` / `<stem>.key` in `dir` (created if missing; existing files are replaced), for
/// labs with more partners than a pair (m-to-1, R9): one server may need a certificate per
/// relationship, for the address it uses on each partner link.
///
/// Stems must be unique plain file names (no `/`, not empty, not `ca`).
pub fn write_leaves(dir: &Path, leaves: &[(&str, &Identity)]) -> Result<LeafCerts> {
    for (i, (stem, _)) in leaves.iter().enumerate() {
        if stem.is_empty() || stem.contains('/') || *stem == "ca" || stem.starts_with('.') {
            anyhow::bail!("certificate stem {stem:?} is not a plain file name");
        }
        if leaves[..i].iter().any(|(other, _)| other == stem) {
            anyhow::bail!("certificate stem {stem:?} given twice");
        }
    }
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let ca = Ca::new("tandem lab CA")?;
    let ca_path = dir.join("ca.crt");
    write_file(&ca_path, &ca.cert.pem(), 0o644)?;
    let mut out = Vec::with_capacity(leaves.len());
    for (stem, id) in leaves {
        let (cert, key) = ca.leaf(id, false)?;
        let ck = CertKey {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
        };
        write_file(&ck.cert, &cert.pem(), 0o644)?;
        write_file(&ck.key, &key.serialize_pem(), 0o600)?;
        out.push(ck);
    }
    Ok(LeafCerts {
        ca: ca_path,
        leaves: out,
    })
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<()> {
    // Replace, never append: remove first so the mode of a new file applies.
    let _ = fs::remove_file(path);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("write {}", path.display()))
}

#[cfg(test)]
#[path = "certs_tests.rs"]
mod tests;
