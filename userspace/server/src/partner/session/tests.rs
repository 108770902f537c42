//! Two sessions over loopback TCP: mutual TLS succeeds with certificates from one CA and is
//! refused otherwise; insecure and secure modes refuse each other (R15's matrix).

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::*;

/// A CA and the certificates it signs.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new() -> Self {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// Settings for a server whose certificate names `names` (DNS names or IP addresses).
    fn settings(
        &self,
        names: &[&str],
        trusted: &Self,
        partner_name: Option<&str>,
    ) -> Arc<TlsSettings> {
        let p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let roots = vec![CertificateDer::from(trusted.cert.der().to_vec())];
        Arc::new(
            TlsSettings::from_der(
                vec![cert.der().clone()],
                key_der,
                roots,
                partner_name.map(str::to_string),
            )
            .unwrap(),
        )
    }
}

/// Dials from a primary with `p` to an accepting secondary with `s` on 127.0.0.1, and
/// drives both until both are ready or one fails (5 s at most).
fn connect(
    p: Option<Arc<TlsSettings>>,
    s: Option<Arc<TlsSettings>>,
) -> (Result<Session, SessionError>, Result<Session, SessionError>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let a = Session::dial(addr, p).unwrap();
    let (std_stream, peer) = listener.accept().unwrap();
    std_stream.set_nonblocking(true).unwrap();
    let b = Session::accepted(TcpStream::from_std(std_stream), peer, s);
    // A side that fails is dropped, closing its socket, as the control thread does.
    let mut sides = [Some(a), Some(b)];
    let mut errors: [Option<SessionError>; 2] = [None, None];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        for i in 0..2 {
            if let Some(session) = &mut sides[i] {
                if let Err(e) = session.drive() {
                    errors[i] = Some(e);
                    sides[i] = None;
                }
            }
        }
        // An insecure secondary becomes ready only with the first stream message.
        let settled = |i: usize| {
            sides[i].as_ref().is_none_or(|s| {
                s.is_ready() || (s.settings.is_none() && s.phase == Phase::AwaitFirst)
            })
        };
        if settled(0) && settled(1) {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let [ea, eb] = errors;
    let [a, b] = sides;
    let result = |s: Option<Session>, e: Option<SessionError>| match (s, e) {
        (Some(s), _) => Ok(s),
        (None, Some(e)) => Err(e),
        (None, None) => unreachable!(),
    };
    (result(a, ea), result(b, eb))
}

/// Sends `msg` from `a` and reads it at `b`.
fn exchange(a: &mut Session, b: &mut Session, msg: &[u8]) -> Vec<u8> {
    a.send(msg).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.received().len() < msg.len() && Instant::now() < deadline {
        a.drive().unwrap();
        b.drive().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    std::mem::take(b.received())
}

#[test]
fn mutual_tls_carries_the_stream_both_ways() {
    let ca = Ca::new();
    let p = ca.settings(&["primary.pair.example"], &ca, Some("primary.pair.example"));
    let s = ca.settings(&["127.0.0.1"], &ca, None);
    // The secondary checks the primary's name; the primary checks the secondary's IP.
    let s = Arc::new(TlsSettings {
        partner_name: Some("primary.pair.example".into()),
        ..(*s).clone()
    });
    let p = Arc::new(TlsSettings {
        partner_name: None,
        ..(*p).clone()
    });
    let (a, b) = connect(Some(p), Some(s));
    let (mut a, mut b) = (a.unwrap(), b.unwrap());
    assert!(a.is_ready() && b.is_ready());
    assert_eq!(exchange(&mut a, &mut b, b"\x00\x03abc"), b"\x00\x03abc");
    assert_eq!(exchange(&mut b, &mut a, b"\x00\x01z"), b"\x00\x01z");
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let ca = Ca::new();
    let rogue = Ca::new();
    let s = ca.settings(&["127.0.0.1"], &ca, None);
    // The rogue primary trusts our CA but its own certificate is signed by another.
    let p = rogue.settings(&["primary.pair.example"], &ca, None);
    let (a, b) = connect(Some(p), Some(s));
    assert!(matches!(b, Err(SessionError::Tls(_))), "{:?}", b.err());
    // Under TLS 1.3 the client finishes before the server has checked its certificate; the
    // server's alert then ends the primary's session too.
    if let Ok(mut a) = a {
        let mut outcome = Ok(Progress::default());
        for _ in 0..500 {
            outcome = a.drive();
            if outcome.is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(outcome.is_err());
    }
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let ca = Ca::new();
    let s = ca.settings(&["127.0.0.1"], &ca, Some("primary.pair.example"));
    let p = ca.settings(&["intruder.example"], &ca, None);
    let (_, b) = connect(Some(p), Some(s));
    assert!(
        matches!(b, Err(SessionError::WrongName(_))),
        "{:?}",
        b.err()
    );
    // And the primary checks the secondary's address: a certificate for another one fails.
    let s = ca.settings(&["192.0.2.9"], &ca, None);
    let p = ca.settings(&["primary.pair.example"], &ca, None);
    let (a, _) = connect(Some(p), Some(s));
    assert!(matches!(a, Err(SessionError::Tls(_))), "{:?}", a.err());
}

#[test]
fn secure_listener_closes_a_plain_primary() {
    let ca = Ca::new();
    let s = ca.settings(&["127.0.0.1"], &ca, None);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut a = Session::dial(addr, None).unwrap();
    let (std_stream, peer) = listener.accept().unwrap();
    std_stream.set_nonblocking(true).unwrap();
    let mut b = Session::accepted(TcpStream::from_std(std_stream), peer, Some(s));
    for _ in 0..100 {
        a.drive().unwrap();
        if a.is_ready() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // A CONNECT-sized plain message instead of STARTTLS.
    a.send(&[0, 8, 31, 0, 0, 1, 0, 0, 0, 0]).unwrap();
    a.drive().unwrap();
    let mut outcome = Ok(Progress::default());
    for _ in 0..100 {
        outcome = b.drive();
        if outcome.is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        matches!(outcome, Err(SessionError::Protocol(_))),
        "{outcome:?}"
    );
}

#[test]
fn insecure_listener_refuses_starttls() {
    let ca = Ca::new();
    let p = ca.settings(&["primary.pair.example"], &ca, None);
    let (a, b) = connect(Some(p), None);
    assert!(
        matches!(a, Err(SessionError::TlsRefused(_))),
        "{:?}",
        a.err()
    );
    assert!(
        matches!(b, Err(SessionError::TlsRefused(_))),
        "{:?}",
        b.err()
    );
}

#[test]
fn insecure_pair_passes_connect_through() {
    let (a, b) = connect(None, None);
    let (mut a, mut b) = (a.unwrap(), b.unwrap());
    assert!(a.is_ready());
    // The secondary becomes ready with the first message, which it hands up whole.
    let contact = [0, 8, 35, 0, 0, 7, 0, 0, 0, 1];
    let got = exchange(&mut a, &mut b, &contact);
    assert_eq!(got, contact);
    assert!(b.is_ready());
}
