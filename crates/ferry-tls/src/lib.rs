//! TLS for FTPS (RFC 4217), in one place for every driver.
//!
//! The FTP machines decide *when* a connection turns to TLS; this crate
//! is *how*: the rustls configurations built from the server's
//! certificate or the client's trust roots, self-signed certificates for
//! `ferry cert`, and [`TlsConn`], a sans-IO TLS connection (rustls
//! underneath) that a driver feeds socket bytes and drains plaintext
//! from, blocking or not.
//!

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};

use ring::rand::{SecureRandom, SystemRandom};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ServerSessionMemoryCache, StoresServerSessions};
use rustls::{
    ClientConfig, ClientConnection, Connection, DigitallySignedStruct, HandshakeKind,
    ProtocolVersion, RootCertStore, ServerConfig, ServerConnection, SignatureScheme,
};

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
    /// No trust roots: the system has none and no `--cacert` was given.
    #[error(
        "no trusted root certificates: the system store is empty; give --cacert FILE or --insecure"
    )]
    NoRoots,
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
    inner: Arc<ServerInner>,
}

struct ServerInner {
    /// The certificate new connections are given; replaced by
    /// [`ServerTls::replace_certificate`].
    current: RwLock<Certified>,
    require_reuse: bool,
    /// Each live control connection's data-connection configurations,
    /// under its key.
    controls: Mutex<HashMap<[u8; 16], Weak<DataConfigs>>>,
    random: SystemRandom,
}

/// A certificate and key, as the configuration connections start from.
struct Certified {
    /// The configuration every control connection's own is cloned from.
    base: Arc<ServerConfig>,
    fingerprint: String,
}

/// One control connection's session store. Its first entries are the
/// control connection's own session (a TLS 1.2 session id, or TLS 1.3's
/// tickets) and stay for the connection's life; after them, the tickets
/// its data connections were issued, newest kept. Lookups do not consume
/// an entry: clients resume the control connection's session over and
/// over (OpenSSL's clients hand the same session to every data
/// connection), and without early data a repeated ticket is no replay.
#[derive(Debug, Default)]
struct ControlStore {
    entries: Mutex<VecDeque<(Vec<u8>, Vec<u8>)>>,
}

/// Entries of the control connection's own handshake kept for good: the
/// TLS 1.3 tickets it is sent, or TLS 1.2's one session. rustls clients
/// (ferry's own) spend a ticket per connection, and an upload brings no
/// new one, so this many uploads in a row resume before a download must
/// bring fresh tickets.
const PINNED: usize = 4;
/// Later entries kept, from data connections.
const RECENT: usize = 4;

/// The configurations of one control connection's data connections,
/// sharing its session store.
#[derive(Debug)]
struct DataConfigs {
    /// Downloads and listings: each brings the client fresh TLS 1.3
    /// tickets, which it reads before the data.
    download: Arc<ServerConfig>,
    /// Uploads: no tickets. A client that only writes never reads them,
    /// and a socket closed with unread bytes sends a reset that can cut
    /// the end of the upload off (the "426 Failure reading network
    /// stream" vsftpd is known for with TLS 1.3 uploads).
    upload: Arc<ServerConfig>,
}

impl DataConfigs {
    fn new(base: &ServerConfig, store: Arc<dyn StoresServerSessions>) -> DataConfigs {
        let mut download = base.clone();
        download.session_storage = store;
        let mut upload = download.clone();
        download.send_tls13_tickets = 1;
        upload.send_tls13_tickets = 0;
        DataConfigs {
            download: Arc::new(download),
            upload: Arc::new(upload),
        }
    }

    fn pick(&self, upload: bool) -> &Arc<ServerConfig> {
        if upload {
            &self.upload
        } else {
            &self.download
        }
    }
}

impl StoresServerSessions for ControlStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let mut entries = lock(&self.entries);
        if entries.len() >= PINNED + RECENT {
            entries.remove(PINNED);
        }
        entries.push_back((key, value));
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let entries = lock(&self.entries);
        entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get(key)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("fingerprint", &self.fingerprint())
            .field("require_reuse", &self.inner.require_reuse)
            .finish_non_exhaustive()
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
        let cert_pem = read(cert)?;
        let key_pem = read(key)?;
        let certs = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsError::NoCertificate(cert.to_path_buf()))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate(cert.to_path_buf()));
        }
        let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|_| TlsError::NoKey(key.to_path_buf()))?;
        Self::from_der(certs, key_der, require_reuse)
    }

    /// The same from PEM text already in memory.
    pub fn from_pem(
        cert_pem: &[u8],
        key_pem: &[u8],
        require_reuse: bool,
    ) -> Result<ServerTls, TlsError> {
        let certs = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TlsError::NoCertificate(PathBuf::from("(certificate)")))?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate(PathBuf::from("(certificate)")));
        }
        let key_der = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|_| TlsError::NoKey(PathBuf::from("(key)")))?;
        Self::from_der(certs, key_der, require_reuse)
    }

    fn from_der(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        require_reuse: bool,
    ) -> Result<ServerTls, TlsError> {
        let fingerprint = fingerprint(&certs[0]);
        // with_single_cert checks that the key matches the certificate.
        let mut base = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(VERSIONS)?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
        // Stateful resumption only (no ticketer): TLS 1.3 tickets and TLS
        // 1.2 session ids alike live in the control connection's own
        // store, which is what ties a data connection to its session.
        base.send_tls13_tickets = PINNED;
        Ok(ServerTls {
            inner: Arc::new(ServerInner {
                current: RwLock::new(Certified {
                    base: Arc::new(base),
                    fingerprint,
                }),
                require_reuse,
                controls: Mutex::new(HashMap::new()),
                random: SystemRandom::new(),
            }),
        })
    }

    /// SHA-256 of the leaf certificate's DER, as `AB:CD:...` (upper-case
    /// hex pairs), the form `openssl x509 -fingerprint -sha256` prints.
    pub fn fingerprint(&self) -> String {
        self.current().fingerprint.clone()
    }

    /// Serves `other`'s certificate and key from now on, to every holder
    /// of this `ServerTls` (its clones share it). Connections already made
    /// keep theirs, and their data connections go on resuming their
    /// sessions.
    pub fn replace_certificate(&self, other: &ServerTls) {
        let (base, fingerprint) = {
            let new = other.current();
            (Arc::clone(&new.base), new.fingerprint.clone())
        };
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(|e| e.into_inner());
        *current = Certified { base, fingerprint };
    }

    fn current(&self) -> std::sync::RwLockReadGuard<'_, Certified> {
        self.inner.current.read().unwrap_or_else(|e| e.into_inner())
    }

    fn base(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.current().base)
    }

    /// Whether data connections must resume the control connection's session.
    pub fn require_reuse(&self) -> bool {
        self.inner.require_reuse
    }

    /// A TLS server connection for a control connection (explicit, after
    /// the 234 is written; or implicit, from the first byte).
    pub fn accept_control(&self) -> TlsConn {
        // RFC 4217 §10 (data connection stealing): each control
        // connection has a session store of its own, so only its data
        // connections can resume what its handshake created.
        let store: Arc<dyn StoresServerSessions> = Arc::new(ControlStore::default());
        let base = self.base();
        let mut config = (*base).clone();
        config.session_storage = store.clone();
        let data = Arc::new(DataConfigs::new(&base, store));
        let mut key = [0u8; 16];
        let key = match self.inner.random.fill(&mut key) {
            Ok(()) => {
                let mut controls = lock(&self.inner.controls);
                controls.retain(|_, c| c.strong_count() > 0);
                controls.insert(key, Arc::downgrade(&data));
                Some(ReuseKey(key))
            }
            // No randomness: no reuse key, and with reuse required the
            // data connections fail rather than share a guessable one.
            Err(_) => None,
        };
        TlsConn::server(&Arc::new(config), key, false, Some(data))
    }

    /// A TLS server connection for a download or listing data connection
    /// of the session whose control connection has `key`
    /// ([`TlsConn::reuse_key`]). With reuse required, its handshake fails
    /// unless the client resumed that control connection's session
    /// ([`is_not_resumed`] recognises the error).
    pub fn accept_data(&self, key: Option<ReuseKey>) -> TlsConn {
        self.data(key, false)
    }

    /// The same for an upload's data connection (STOR, APPE, STOU): it is
    /// sent no session tickets, which a client that only writes would
    /// leave unread.
    pub fn accept_upload(&self, key: Option<ReuseKey>) -> TlsConn {
        self.data(key, true)
    }

    fn data(&self, key: Option<ReuseKey>, upload: bool) -> TlsConn {
        let control = key.and_then(|k| lock(&self.inner.controls).get(&k.0)?.upgrade());
        let require = self.inner.require_reuse;
        match control {
            Some(configs) => TlsConn::server(configs.pick(upload), None, require, None),
            None => {
                // A store of its own: nothing to resume from.
                let configs = DataConfigs::new(&self.base(), ServerSessionMemoryCache::new(1));
                TlsConn::server(configs.pick(upload), None, require, None)
            }
        }
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
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

impl ClientTls {
    /// The system's roots (plus `cacert`), or no checks at all.
    pub fn new(options: &ClientTlsOptions) -> Result<ClientTls, TlsError> {
        let builder =
            ClientConfig::builder_with_provider(provider()).with_protocol_versions(VERSIONS)?;
        let config = if options.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
                .with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            // The system's store, as curl uses it; unreadable entries are
            // skipped like the system's own tools skip them.
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
            if let Some(path) = &options.cacert {
                let pem = read(path)?;
                let mut any = false;
                for cert in CertificateDer::pem_slice_iter(&pem) {
                    let cert = cert.map_err(|_| TlsError::NoCertificate(path.clone()))?;
                    roots.add(cert)?;
                    any = true;
                }
                if !any {
                    return Err(TlsError::NoCertificate(path.clone()));
                }
            }
            if roots.is_empty() {
                return Err(TlsError::NoRoots);
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        };
        // rustls' default resumption (an in-memory cache, TLS 1.2 session
        // ids and tickets, TLS 1.3 tickets) is shared by every connection
        // made from this config: a data connection resumes its control
        // connection's session, as vsftpd's require_ssl_reuse demands.
        Ok(ClientTls {
            config: Arc::new(config),
        })
    }

    /// A TLS client connection to `server_name` (the URL's host). Every
    /// connection from one `ClientTls` to one name shares the session
    /// cache, so a data connection resumes its control connection's
    /// session.
    pub fn connect(&self, server_name: &str) -> Result<TlsConn, TlsError> {
        let host = server_name.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| TlsError::ServerName(server_name.to_owned()))?;
        let conn = ClientConnection::new(self.config.clone(), name)?;
        Ok(TlsConn::new(Connection::Client(conn), None, false, None))
    }
}

/// The `--insecure` verifier: any certificate is accepted, but the
/// handshake's signatures are still checked, so the connection is at
/// least encrypted to whoever holds the presented key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One TLS connection, client or server, sans-IO: the driver moves TLS
/// bytes between it and the socket ([`read_tls`](Self::read_tls),
/// [`write_tls`](Self::write_tls)) and plaintext between it and the
/// protocol ([`read_plain`](Self::read_plain),
/// [`write_plain`](Self::write_plain)). Works over blocking and
/// non-blocking sockets alike (`WouldBlock` passes through).
pub struct TlsConn {
    conn: Connection,
    /// The key of this control connection's session store.
    key: Option<ReuseKey>,
    /// A data connection that must resume its control connection's session.
    must_resume: bool,
    /// Set once the handshake ended without the required resumption.
    refused: bool,
    /// Keeps a control connection's data configurations (and so its
    /// session store) alive as long as the connection.
    _data: Option<Arc<DataConfigs>>,
}

impl std::fmt::Debug for TlsConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConn")
            .field("handshaking", &self.conn.is_handshaking())
            .field("resumed", &self.resumed())
            .finish_non_exhaustive()
    }
}

/// Plaintext a connection buffers before `write_plain` takes no more.
const PLAIN_LIMIT: usize = 64 * 1024;

/// The error a data connection's handshake ends with when the server
/// requires session reuse and the client did not resume the control
/// connection's session. [`is_not_resumed`] recognises it.
#[derive(Debug, thiserror::Error)]
#[error("the data connection did not resume the control connection's TLS session")]
pub struct NotResumed;

/// Whether `err` (from [`TlsConn::read_tls`] or [`TlsConn::handshake`])
/// is a refused data connection that did not resume its control
/// connection's session, rather than any other TLS failure.
pub fn is_not_resumed(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|e| e.is::<NotResumed>())
}

impl TlsConn {
    fn server(
        config: &Arc<ServerConfig>,
        key: Option<ReuseKey>,
        must_resume: bool,
        data: Option<Arc<DataConfigs>>,
    ) -> TlsConn {
        match ServerConnection::new(config.clone()) {
            Ok(conn) => TlsConn::new(Connection::Server(conn), key, must_resume, data),
            // A server connection fails to build only for a configuration
            // rustls rejects, which from_pem_files already built once.
            Err(_) => unreachable!("a server configuration rustls accepted once"),
        }
    }

    fn new(
        mut conn: Connection,
        key: Option<ReuseKey>,
        must_resume: bool,
        data: Option<Arc<DataConfigs>>,
    ) -> TlsConn {
        conn.set_buffer_limit(Some(PLAIN_LIMIT));
        TlsConn {
            conn,
            key,
            must_resume,
            refused: false,
            _data: data,
        }
    }

    /// Reads once from `sock` and processes the TLS records read.
    /// `Ok(0)`: the socket reached end of file. A TLS error (bad
    /// handshake, garbage, a failed reuse or certificate check) is an
    /// `io::Error` of kind `InvalidData` whose text names the problem; the
    /// alert it queued goes out with the next `write_tls`.
    pub fn read_tls(&mut self, sock: &mut dyn Read) -> io::Result<usize> {
        if self.refused {
            return Err(io::Error::new(io::ErrorKind::InvalidData, NotResumed));
        }
        let n = self.conn.read_tls(sock)?;
        if let Err(err) = self.conn.process_new_packets() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, err));
        }
        if self.must_resume && !self.conn.is_handshaking() && !self.resumed() {
            self.refused = true;
            self.conn.send_close_notify();
            return Err(io::Error::new(io::ErrorKind::InvalidData, NotResumed));
        }
        Ok(n)
    }

    /// Plaintext received so far, into `buf`. `Ok(0)`: the peer closed
    /// the TLS session cleanly (close_notify) and nothing is left;
    /// `WouldBlock`: nothing yet; `UnexpectedEof`: the socket ended
    /// without a close_notify (a truncation, or a client that skips it).
    pub fn read_plain(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.refused {
            return Err(io::Error::new(io::ErrorKind::InvalidData, NotResumed));
        }
        self.conn.reader().read(buf)
    }

    /// Queues plaintext to send; returns how much it took (less than
    /// `data` once 64 KiB wait to be written with `write_tls`).
    pub fn write_plain(&mut self, data: &[u8]) -> usize {
        if self.refused {
            return 0;
        }
        self.conn.writer().write(data).unwrap_or(0)
    }

    /// Writes queued TLS bytes to `sock` (one write call); `Ok(0)` when
    /// nothing is queued.
    pub fn write_tls(&mut self, sock: &mut dyn Write) -> io::Result<usize> {
        if !self.conn.wants_write() {
            return Ok(0);
        }
        self.conn.write_tls(sock)
    }

    /// TLS bytes wait to be written.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// The handshake has not completed yet.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Queues a close_notify alert (then `write_tls` it).
    pub fn close(&mut self) {
        self.conn.send_close_notify();
    }

    /// The key data connections of this (control) connection must
    /// present when reuse is required: for [`ServerTls::accept_data`].
    pub fn reuse_key(&self) -> Option<ReuseKey> {
        self.key
    }

    /// Whether this connection's handshake resumed an earlier session.
    pub fn resumed(&self) -> bool {
        self.conn.handshake_kind() == Some(HandshakeKind::Resumed)
    }

    /// The negotiated protocol version, once known (`"TLSv1.3"`...).
    pub fn version(&self) -> Option<&'static str> {
        self.conn.protocol_version().map(|v| match v {
            ProtocolVersion::TLSv1_3 => "TLSv1.3",
            ProtocolVersion::TLSv1_2 => "TLSv1.2",
            _ => "TLS",
        })
    }

    /// Runs the handshake to its end over a blocking socket (its read
    /// timeout bounds each wait), and writes what the handshake left
    /// queued (a TLS 1.3 server's session tickets).
    pub fn handshake<S: Read + Write>(&mut self, sock: &mut S) -> io::Result<()> {
        loop {
            while self.conn.wants_write() {
                if self.write_tls(sock)? == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
            }
            if !self.conn.is_handshaking() {
                return Ok(());
            }
            match self.read_tls(sock) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection during the TLS handshake",
                    ))
                }
                Ok(_) => {}
                Err(err) => {
                    // Best effort: the alert tells the peer why, so it
                    // does not wait for a handshake that is over.
                    while self.conn.wants_write() {
                        if !matches!(self.write_tls(sock), Ok(n) if n > 0) {
                            break;
                        }
                    }
                    return Err(err);
                }
            }
        }
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
    /// The socket reached end of file.
    eof: bool,
    /// The peer's close_notify arrived.
    clean: bool,
}

impl<S: Read + Write> TlsStream<S> {
    /// Pairs them (no I/O yet).
    pub fn new(sock: S, tls: TlsConn) -> Self {
        TlsStream {
            sock,
            tls,
            eof: false,
            clean: false,
        }
    }

    /// Sends close_notify and everything queued.
    pub fn shutdown(&mut self) -> io::Result<()> {
        self.tls.close();
        self.flush()
    }

    /// After a read returned 0: true if the peer sent close_notify.
    pub fn clean_eof(&self) -> bool {
        self.clean
    }

    fn write_queued(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            if self.tls.write_tls(&mut self.sock)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }
}

impl<S: Read + Write> Read for TlsStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.tls.read_plain(buf) {
                Ok(0) => {
                    self.clean = true;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.eof => {}
                // The socket ended without close_notify: an end all the
                // same; clean_eof() tells the caller which it was.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) => return Err(e),
            }
            self.write_queued()?;
            if self.tls.read_tls(&mut self.sock)? == 0 {
                self.eof = true;
            }
        }
    }
}

impl<S: Read + Write> Write for TlsStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.tls.is_handshaking() {
            self.tls.handshake(&mut self.sock)?;
        }
        loop {
            let n = self.tls.write_plain(buf);
            self.write_queued()?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_queued()?;
        self.sock.flush()
    }
}

/// A blocking stream in clear or through TLS, read and written alike: an
/// FTP connection before and after `AUTH TLS`, or a data connection under
/// `PROT C` or `PROT P`.
pub enum MaybeTls<S> {
    /// In clear.
    Plain(S),
    /// Through TLS.
    Tls(Box<TlsStream<S>>),
}

impl<S> MaybeTls<S> {
    /// The socket underneath.
    pub fn sock(&self) -> &S {
        match self {
            MaybeTls::Plain(sock) => sock,
            MaybeTls::Tls(stream) => &stream.sock,
        }
    }
}

impl<S: Read + Write> Read for MaybeTls<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(sock) => sock.read(buf),
            MaybeTls::Tls(stream) => stream.read(buf),
        }
    }
}

impl<S: Read + Write> Write for MaybeTls<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(sock) => sock.write(buf),
            MaybeTls::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            MaybeTls::Plain(sock) => sock.flush(),
            MaybeTls::Tls(stream) => stream.flush(),
        }
    }
}

/// SHA-256 of a certificate's DER, `AB:CD:...`.
fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    let hex: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    hex.join(":")
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The map stays consistent even if a holder panicked mid-insert.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// ring's provider. rustls marks it deprecated because ring has no
/// post-quantum key exchange; it stays the choice here because it builds
/// with a C compiler alone, fast, where aws-lc-rs needs cmake and takes
/// minutes on a small machine. X25519, P-256 and P-384 remain.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS 1.3 first, then 1.2; nothing older (RFC 8996).
const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// A self-signed certificate for `hosts` (DNS names or IP addresses;
/// `localhost` and 127.0.0.1 when empty): its PEM, its key's PEM, and its
/// fingerprint (as [`ServerTls::fingerprint`]).
pub fn generate_self_signed(hosts: &[String]) -> Result<(String, String, String), TlsError> {
    let hosts: Vec<String> = if hosts.is_empty() {
        vec!["localhost".to_owned(), "127.0.0.1".to_owned()]
    } else {
        hosts.to_vec()
    };
    let generate = |e: rcgen::Error| TlsError::Generate(e.to_string());
    // IP addresses become IP subject alternative names, the rest DNS names.
    let mut params = rcgen::CertificateParams::new(hosts.clone()).map_err(generate)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, hosts[0].clone());
    let key = rcgen::KeyPair::generate().map_err(generate)?;
    let cert = params.self_signed(&key).map_err(generate)?;
    let print = fingerprint(cert.der());
    Ok((cert.pem(), key.serialize_pem(), print))
}
