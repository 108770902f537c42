//! One TCP connection to a failover partner, with the STARTTLS exchange and mutual TLS in
//! front of the failover byte stream (RFC 8156 §6.1, §10; RFC 7653 §8.2, §9.1; protocol notes
//! §1.2, §1.6 step 3, §1.16; R15).
//!
//! The primary is the TLS client ("requestor"): it sends STARTTLS first, and on a REPLY
//! without a status starts the handshake; the secondary answers and runs the TLS server,
//! which demands and verifies the partner's certificate (mutual authentication). Only then
//! does the failover stream (CONNECT …) flow, framed as on plain TCP.
//!
//! * **OPEN-7 decision:** STARTTLS and REPLY use the 4-octet DHCPv6 header (type, xid) of
//!   RFC 7653, behind the same 2-octet length prefix; `tandem-wire` tells them apart by type.
//! * **Insecure mode** only when configured (`tls.mode = "none"`): then a STARTTLS is answered
//!   with REPLY + TLSConnectionRefused and the connection closed; a secure-mode listener closes
//!   any connection whose first message is not STARTTLS (RFC 7653 §9.1).
//! * **Names.** The primary checks the secondary's certificate for `partner-name`, or else for
//!   the partner's IP address; the secondary checks the primary's certificate for
//!   `partner-name` when configured (rustls's client verifier checks only the chain).

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use tandem_wire::failover::{FailoverMessage, FailoverWriter};
use tandem_wire::{MessageType, OptionCode, StatusCode, Xid};

/// TLS settings of one relationship (or `None` = explicitly insecure).
#[derive(Debug, Clone)]
pub(crate) struct TlsSettings {
    pub(crate) client: Arc<ClientConfig>,
    pub(crate) server: Arc<ServerConfig>,
    /// Name the partner's certificate must carry; `None` = its IP address (primary) or any
    /// name the CA signed (secondary).
    pub(crate) partner_name: Option<String>,
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    /// The socket failed or the peer closed it.
    #[error("connection: {0}")]
    Io(#[from] io::Error),
    /// TLS failed: handshake, certificate or record error.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The partner refused TLS (REPLY with TLSConnectionRefused) or we refused its STARTTLS.
    #[error("partner and we disagree about TLS: {0}")]
    TlsRefused(&'static str),
    /// The partner sent something that is not the STARTTLS exchange.
    #[error("unexpected first message: {0}")]
    Protocol(&'static str),
    /// The certificate does not name the configured partner.
    #[error("partner certificate does not name {0}")]
    WrongName(String),
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Primary: TCP connect in progress.
    Connecting,
    /// Primary: STARTTLS sent, waiting for REPLY.
    AwaitReply,
    /// Secondary: waiting for the first message (STARTTLS, or CONNECT in insecure mode).
    AwaitFirst,
    /// TLS handshake running.
    Handshaking,
    /// The failover stream flows.
    Ready,
    /// A refusal is being written; the session ends when it is out.
    Refusing,
}

/// What a call to [`Session::drive`] brought.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Progress {
    /// The session just became ready for the failover stream.
    pub(crate) ready: bool,
    /// New stream bytes are in [`Session::received`].
    pub(crate) data: bool,
}

/// One partner connection (module doc).
pub(crate) struct Session {
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<Connection>,
    settings: Option<Arc<TlsSettings>>,
    phase: Phase,
    /// The pre-TLS message being read (STARTTLS exchange), length prefix included.
    pre: Vec<u8>,
    /// Stream bytes received and not yet taken.
    received: Vec<u8>,
    /// Raw bytes waiting for the socket (pre-TLS messages, or plain-mode stream).
    raw_out: Vec<u8>,
}

impl Session {
    /// Primary: dial the partner. Drive with [`Session::drive`] once the socket is writable.
    pub(crate) fn dial(peer: SocketAddr, settings: Option<Arc<TlsSettings>>) -> io::Result<Self> {
        let stream = TcpStream::connect(peer)?;
        Ok(Self::new(stream, peer, settings, Phase::Connecting))
    }

    /// Secondary: a connection the listener accepted from `peer` (already checked against the
    /// configured partners; R12).
    pub(crate) fn accepted(
        stream: TcpStream,
        peer: SocketAddr,
        settings: Option<Arc<TlsSettings>>,
    ) -> Self {
        Self::new(stream, peer, settings, Phase::AwaitFirst)
    }

    fn new(
        stream: TcpStream,
        peer: SocketAddr,
        settings: Option<Arc<TlsSettings>>,
        phase: Phase,
    ) -> Self {
        Self {
            stream,
            peer,
            tls: None,
            settings,
            phase,
            pre: Vec::new(),
            received: Vec::new(),
            raw_out: Vec::new(),
        }
    }

    /// The socket, to register with mio.
    pub(crate) fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// The partner's address.
    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The failover stream may flow.
    #[cfg(test)]
    pub(crate) fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Stream bytes received so far (take them with `std::mem::take`).
    pub(crate) fn received(&mut self) -> &mut Vec<u8> {
        &mut self.received
    }

    /// Queues failover stream bytes (framed messages) for the partner.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Result<(), SessionError> {
        match &mut self.tls {
            Some(tls) => tls.writer().write_all(bytes)?,
            None => self.raw_out.extend_from_slice(bytes),
        }
        Ok(())
    }

    /// Something waits for the socket: register for writability.
    pub(crate) fn wants_write(&self) -> bool {
        !self.raw_out.is_empty()
            || self.phase == Phase::Connecting
            || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Advances the session on a readiness event (or after `send`): completes the TCP
    /// connect, runs the STARTTLS exchange and the TLS handshake, reads stream bytes and
    /// writes what is queued. An error ends the session.
    pub(crate) fn drive(&mut self) -> Result<Progress, SessionError> {
        let mut progress = Progress::default();
        if self.phase == Phase::Connecting {
            if let Some(e) = self.stream.take_error()? {
                return Err(e.into());
            }
            match self.stream.peer_addr() {
                Ok(_) => self.connected(&mut progress)?,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(progress),
                Err(e) => return Err(e.into()),
            }
        }
        self.read(&mut progress)?;
        self.write()?;
        if self.phase == Phase::Refusing && self.raw_out.is_empty() {
            return Err(SessionError::TlsRefused(
                "we answered STARTTLS with a refusal",
            ));
        }
        if self.phase == Phase::Handshaking
            && self.tls.as_ref().is_some_and(|t| !t.is_handshaking())
        {
            self.check_partner_name()?;
            self.phase = Phase::Ready;
            progress.ready = true;
            // Stream bytes may have arrived with the last handshake flight.
            self.read_plaintext(&mut progress)?;
        }
        Ok(progress)
    }

    /// TCP is up: the primary starts STARTTLS, or, insecure, is ready at once.
    fn connected(&mut self, progress: &mut Progress) -> Result<(), SessionError> {
        if self.settings.is_some() {
            self.raw_out
                .extend_from_slice(&tls_message(MessageType::StartTls, None)?);
            self.phase = Phase::AwaitReply;
        } else {
            self.phase = Phase::Ready;
            progress.ready = true;
        }
        Ok(())
    }

    fn read(&mut self, progress: &mut Progress) -> Result<(), SessionError> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if self.tls.is_some() {
                return self.read_tls(progress);
            }
            if self.phase == Phase::Ready {
                // Plain mode: the stream itself.
                match self.stream.read(&mut buf) {
                    Ok(0) => return Err(closed()),
                    Ok(n) => {
                        self.received.extend_from_slice(&buf[..n]);
                        progress.data = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
                continue;
            }
            // The STARTTLS exchange: read only as much as one message needs, so no TLS
            // byte is taken out of the socket before rustls owns it.
            if self.phase == Phase::Refusing {
                return Ok(());
            }
            let want = self.pre_bytes_wanted().clamp(1, buf.len());
            let n = match self.stream.read(&mut buf[..want]) {
                Ok(0) => return Err(closed()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            self.pre.extend_from_slice(&buf[..n]);
            if self.pre_bytes_wanted() == 0 {
                let msg = std::mem::take(&mut self.pre);
                self.pre_message(&msg, progress)?;
            }
        }
    }

    /// Octets still missing from the pre-TLS message being read: the 2-octet length prefix,
    /// then the body it announces.
    fn pre_bytes_wanted(&self) -> usize {
        match *self.pre.as_slice() {
            [a, b, ..] => {
                (2 + usize::from(u16::from_be_bytes([a, b]))).saturating_sub(self.pre.len())
            }
            _ => 2 - self.pre.len(),
        }
    }

    /// Handles one complete pre-TLS message (`framed` includes the length prefix).
    fn pre_message(&mut self, framed: &[u8], progress: &mut Progress) -> Result<(), SessionError> {
        let bytes = framed.get(2..).unwrap_or_default();
        let t = FailoverMessage::new_checked(bytes)
            .map_err(|_| SessionError::Protocol("bad pre-TLS message"))?
            .msg_type();
        match (self.phase, t) {
            (Phase::AwaitReply, MessageType::Reply) => {
                let m = FailoverMessage::new_checked(bytes)
                    .map_err(|_| SessionError::Protocol("bad REPLY"))?;
                if let Some(&[a, b, ..]) = m.options().find(OptionCode::StatusCode) {
                    if u16::from_be_bytes([a, b]) != u16::from(StatusCode::Success) {
                        return Err(SessionError::TlsRefused("partner refused STARTTLS"));
                    }
                }
                self.start_tls()
            }
            (Phase::AwaitFirst, MessageType::StartTls) => match self.settings {
                Some(_) => {
                    self.raw_out
                        .extend_from_slice(&tls_message(MessageType::Reply, None)?);
                    self.start_tls()
                }
                None => {
                    let refusal =
                        tls_message(MessageType::Reply, Some(StatusCode::TlsConnectionRefused))?;
                    self.raw_out.extend_from_slice(&refusal);
                    self.phase = Phase::Refusing;
                    Ok(())
                }
            },
            (Phase::AwaitFirst, _) if self.settings.is_none() => {
                // Insecure mode: the first message is CONNECT; hand it over with its prefix.
                self.phase = Phase::Ready;
                progress.ready = true;
                progress.data = true;
                self.received.extend_from_slice(framed);
                Ok(())
            }
            (Phase::AwaitFirst, _) => Err(SessionError::Protocol(
                "secure mode: the first message must be STARTTLS",
            )),
            _ => Err(SessionError::Protocol("unexpected message before TLS")),
        }
    }

    fn start_tls(&mut self) -> Result<(), SessionError> {
        let Some(s) = &self.settings else {
            return Err(SessionError::TlsRefused("no TLS configured"));
        };
        let conn = match self.phase {
            Phase::AwaitReply => {
                let name = match &s.partner_name {
                    Some(n) => ServerName::try_from(n.clone())
                        .map_err(|_| SessionError::WrongName(n.clone()))?,
                    None => ServerName::IpAddress(self.peer.ip().into()),
                };
                Connection::Client(ClientConnection::new(s.client.clone(), name)?)
            }
            _ => Connection::Server(ServerConnection::new(s.server.clone())?),
        };
        self.tls = Some(conn);
        self.phase = Phase::Handshaking;
        Ok(())
    }

    fn read_tls(&mut self, progress: &mut Progress) -> Result<(), SessionError> {
        let Some(tls) = &mut self.tls else {
            return Ok(());
        };
        loop {
            match tls.read_tls(&mut self.stream) {
                Ok(0) => return Err(closed()),
                Ok(_) => {
                    let state = tls.process_new_packets();
                    if let Err(e) = state {
                        // Let the alert go out before the error ends the session.
                        let _ = tls.write_tls(&mut self.stream);
                        return Err(e.into());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.read_plaintext(progress)
    }

    fn read_plaintext(&mut self, progress: &mut Progress) -> Result<(), SessionError> {
        let Some(tls) = &mut self.tls else {
            return Ok(());
        };
        let mut buf = [0u8; 16 * 1024];
        loop {
            match tls.reader().read(&mut buf) {
                Ok(0) => return Err(closed()),
                Ok(n) => {
                    self.received.extend_from_slice(&buf[..n]);
                    progress.data = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn write(&mut self) -> Result<(), SessionError> {
        while !self.raw_out.is_empty() {
            match self.stream.write(&self.raw_out) {
                Ok(0) => return Err(closed()),
                Ok(n) => {
                    self.raw_out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(tls) = &mut self.tls {
            while tls.wants_write() {
                match tls.write_tls(&mut self.stream) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// The secondary checks the primary's certificate names `partner-name` (the chain was
    /// verified by rustls). The primary's name check is rustls's own server-name check.
    fn check_partner_name(&self) -> Result<(), SessionError> {
        let (Some(Connection::Server(conn)), Some(s)) = (&self.tls, &self.settings) else {
            return Ok(());
        };
        let Some(name) = &s.partner_name else {
            return Ok(());
        };
        let wrong = || SessionError::WrongName(name.clone());
        let cert: &CertificateDer<'_> = conn
            .peer_certificates()
            .and_then(<[_]>::first)
            .ok_or_else(wrong)?;
        let ee = webpki::EndEntityCert::try_from(cert).map_err(|_| wrong())?;
        let server_name = ServerName::try_from(name.as_str()).map_err(|_| wrong())?;
        ee.verify_is_valid_for_subject_name(&server_name)
            .map_err(|_| wrong())
    }
}

fn closed() -> SessionError {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "partner closed the connection",
    )
    .into()
}

/// A framed STARTTLS or REPLY (4-octet header, OPEN-7), with an optional status.
fn tls_message(t: MessageType, status: Option<StatusCode>) -> Result<Vec<u8>, SessionError> {
    let mut buf = [0u8; 64];
    let encode = |buf: &mut [u8]| -> tandem_wire::Result<usize> {
        let mut fw = FailoverWriter::new(buf, t, Xid([0, 0, 1]), None)?;
        if let Some(s) = status {
            fw.writer().status_code(s, "TLS is not configured here")?;
        }
        fw.finish()
    };
    let n = encode(&mut buf).map_err(|_| SessionError::Protocol("cannot encode STARTTLS"))?;
    Ok(buf[..n].to_vec())
}

#[cfg(test)]
mod tests;
