//! TLS for FTPS (RFC 4217), in one place for every driver.
//!
//! The FTP machines decide *when* a connection turns to TLS; this crate
//! is *how*: the rustls configurations built from the server's
//! certificate or the client's trust roots, self-signed certificates for
//! `ferry cert`, and [`TlsConn`], a sans-IO TLS connection (rustls
//! underneath) that a driver feeds socket bytes and drains plaintext
//! from, blocking or not.
//!
//! API CONTRACT (skeleton, being filled in): signatures below are what
//! the drivers code against.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use rustls;

/// What can go wrong setting TLS up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The certificate file holds no PEM certificate.
    #[error("{}: no PEM certificate in it", .0.display())]
    NoCertificate(PathBuf),
    /// The key file holds no PEM private key.
    #[error("{}: no PEM private key in it", .0.display())]
    NoKey(PathBuf),
    /// rustls refused the certificate/key pair or the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The name to verify the server's certificate against is not a
    /// DNS name or IP address.
    #[error("{0:?} is not a valid TLS server name")]
    ServerName(String),
    /// Generating a certificate failed.
    #[error("certificate generation: {0}")]
    Generate(String),
}

/// What ties a data connection to its control connection when session
/// reuse is required: the data connection's TLS session must resume the
/// one the control connection's handshake created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReuseKey(pub [u8; 16]);

/// The server's TLS: its certificate, and whether data connections must
/// resume the control connection's session (`--tls-require-reuse`).
#[derive(Clone)]
pub struct ServerTls {
    _p: (),
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Loads a PEM certificate chain and its PEM private key. TLS 1.2 and
    /// 1.3 only.
    pub fn from_pem_files(
        cert: &Path,
        key: &Path,
        require_reuse: bool,
    ) -> Result<ServerTls, TlsError> {
        let _ = (cert, key, require_reuse);
        todo!()
    }

    /// SHA-256 of the leaf certificate's DER, as `AB:CD:...` (upper-case
    /// hex pairs), the form `openssl x509 -fingerprint -sha256` prints.
    pub fn fingerprint(&self) -> &str {
        todo!()
    }

    /// Whether data connections must resume the control connection's session.
    pub fn require_reuse(&self) -> bool {
        todo!()
    }

    /// A TLS server connection for a control connection (explicit, after
    /// the 234 is written; or implicit, from the first byte).
    pub fn accept_control(&self) -> TlsConn {
        todo!()
    }

    /// A TLS server connection for a data connection of the session whose
    /// control connection has `key` ([`TlsConn::reuse_key`]). With
    /// reuse required, its handshake fails unless the client resumed that
    /// control connection's session.
    pub fn accept_data(&self, key: Option<ReuseKey>) -> TlsConn {
        let _ = key;
        todo!()
    }
}

/// How the client checks servers' certificates.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsOptions {
    /// Accept any certificate (curl's `-k`).
    pub insecure: bool,
    /// Trust this PEM file's certificates too.
    pub cacert: Option<PathBuf>,
}

/// The client's TLS: trust roots and a session cache shared by a control
/// connection and its data connections (so they resume its session).
#[derive(Clone)]
pub struct ClientTls {
    _p: (),
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

impl ClientTls {
    /// The system's roots (plus `cacert`), or no checks at all.
    pub fn new(options: &ClientTlsOptions) -> Result<ClientTls, TlsError> {
        let _ = options;
        todo!()
    }

    /// A TLS client connection to `server_name` (the URL's host). Every
    /// connection from one `ClientTls` to one name shares the session
    /// cache, so a data connection resumes its control connection's
    /// session.
    pub fn connect(&self, server_name: &str) -> Result<TlsConn, TlsError> {
        let _ = server_name;
        todo!()
    }
}

/// One TLS connection, client or server, sans-IO: the driver moves TLS
/// bytes between it and the socket ([`read_tls`](Self::read_tls),
/// [`write_tls`](Self::write_tls)) and plaintext between it and the
/// protocol ([`read_plain`](Self::read_plain),
/// [`write_plain`](Self::write_plain)). Works over blocking and
/// non-blocking sockets alike (`WouldBlock` passes through).
pub struct TlsConn {
    _p: (),
}

impl std::fmt::Debug for TlsConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConn").finish_non_exhaustive()
    }
}

impl TlsConn {
    /// Reads once from `sock` and processes the TLS records read.
    /// `Ok(0)`: the socket reached end of file. A TLS error (bad
    /// handshake, garbage, a failed reuse or certificate check) is an
    /// `io::Error` of kind `InvalidData` whose text names the problem; the
    /// alert it queued goes out with the next `write_tls`.
    pub fn read_tls(&mut self, sock: &mut dyn Read) -> io::Result<usize> {
        let _ = sock;
        todo!()
    }

    /// Plaintext received so far, into `buf`. `Ok(0)`: the peer closed
    /// the TLS session cleanly (close_notify) and nothing is left;
    /// `WouldBlock`: nothing yet.
    pub fn read_plain(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let _ = buf;
        todo!()
    }

    /// Queues plaintext to send; returns how much it took (less than
    /// `data` once 64 KiB wait to be written with `write_tls`).
    pub fn write_plain(&mut self, data: &[u8]) -> usize {
        let _ = data;
        todo!()
    }

    /// Writes queued TLS bytes to `sock` (one write call); `Ok(0)` when
    /// nothing is queued.
    pub fn write_tls(&mut self, sock: &mut dyn Write) -> io::Result<usize> {
        let _ = sock;
        todo!()
    }

    /// TLS bytes wait to be written.
    pub fn wants_write(&self) -> bool {
        todo!()
    }

    /// The handshake has not completed yet.
    pub fn is_handshaking(&self) -> bool {
        todo!()
    }

    /// Queues a close_notify alert (then `write_tls` it).
    pub fn close(&mut self) {
        todo!()
    }

    /// After the handshake: the key data connections of this (control)
    /// connection must present when reuse is required.
    pub fn reuse_key(&self) -> Option<ReuseKey> {
        todo!()
    }

    /// Whether this connection's handshake resumed an earlier session.
    pub fn resumed(&self) -> bool {
        todo!()
    }

    /// Runs the handshake to its end over a blocking socket.
    pub fn handshake<S: Read + Write>(&mut self, sock: &mut S) -> io::Result<()> {
        let _ = sock;
        todo!()
    }
}

/// A [`TlsConn`] and its blocking socket as one `Read + Write` stream,
/// for the blocking drivers' data connections and the client: reads
/// return plaintext (0 at close_notify, and also at a plain end of file,
/// which [`clean_eof`](Self::clean_eof) tells apart), writes encrypt.
pub struct TlsStream<S> {
    /// The socket.
    pub sock: S,
    /// The TLS connection.
    pub tls: TlsConn,
}

impl<S: Read + Write> TlsStream<S> {
    /// Pairs them (no I/O yet).
    pub fn new(sock: S, tls: TlsConn) -> Self {
        TlsStream { sock, tls }
    }
    /// Sends close_notify and everything queued.
    pub fn shutdown(&mut self) -> io::Result<()> {
        todo!()
    }
    /// After a read returned 0: true if the peer sent close_notify.
    pub fn clean_eof(&self) -> bool {
        todo!()
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let _ = buf;
        todo!()
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = buf;
        todo!()
    }
    fn flush(&mut self) -> io::Result<()> {
        todo!()
    }
}

/// A self-signed certificate for `hosts` (DNS names or IP addresses;
/// `localhost` and 127.0.0.1 when empty): its PEM, its key's PEM, and its
/// fingerprint (as [`ServerTls::fingerprint`]).
pub fn generate_self_signed(hosts: &[String]) -> Result<(String, String, String), TlsError> {
    let _ = hosts;
    todo!()
}

#[allow(dead_code)]
fn _unused(_: Arc<()>) {}
