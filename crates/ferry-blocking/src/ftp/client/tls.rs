//! FTPS for the client driver (RFC 4217): the control connection in
//! clear or through TLS, and protected data connections. The machine says
//! when (`Event::StartTls`, `TransferStarted::protected`); this module
//! only runs the handshakes and moves the bytes.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ferry_tls::{ClientTls, MaybeTls, TlsStream};

/// FTPS for a [`Connection`](super::Connection): none, explicit
/// (`AUTH TLS` on an ordinary FTP port) or implicit (TLS from the first
/// byte, conventionally port 990). With either, logins and data go
/// through TLS: the connection sends `PBSZ 0` and `PROT P` after the
/// login, and every data connection resumes the control connection's
/// TLS session (servers such as vsftpd, with `require_ssl_reuse`, refuse
/// one that does not).
#[derive(Debug, Clone, Default)]
pub enum Security {
    /// Plain FTP.
    #[default]
    Plain,
    /// `AUTH TLS` right after the greeting, required: a server that
    /// refuses it ends the connection with its reply as the error.
    Explicit(ClientTls),
    /// TLS before the greeting.
    Implicit(ClientTls),
}

impl Security {
    pub(super) fn tls(&self) -> Option<&ClientTls> {
        match self {
            Security::Plain => None,
            Security::Explicit(tls) | Security::Implicit(tls) => Some(tls),
        }
    }
}

/// The control connection, in clear or through TLS; empty only after a
/// failed switch to TLS (the machine has closed the session then).
pub(super) struct Control(Option<MaybeTls<TcpStream>>);

impl Control {
    pub fn new(stream: MaybeTls<TcpStream>) -> Control {
        Control(Some(stream))
    }

    fn stream(&mut self) -> io::Result<&mut MaybeTls<TcpStream>> {
        self.0
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    pub fn tcp(&self) -> io::Result<&TcpStream> {
        match &self.0 {
            Some(stream) => Ok(stream.sock()),
            None => Err(io::Error::from(io::ErrorKind::NotConnected)),
        }
    }

    /// Runs the TLS client handshake for `server_name` on the clear
    /// connection, each wait bounded by `timeout`. On failure the
    /// connection is left unusable (the machine closes the session).
    pub fn start_tls(
        &mut self,
        tls: &ClientTls,
        server_name: &str,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let Some(MaybeTls::Plain(sock)) = self.0.take() else {
            return Err(io::Error::other("the control connection is not in clear"));
        };
        let stream = handshake(sock, tls, server_name, timeout)?;
        self.0 = Some(MaybeTls::Tls(Box::new(stream)));
        Ok(())
    }
}

impl Read for Control {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream()?.read(buf)
    }
}

impl Write for Control {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.0 {
            Some(stream) => stream.flush(),
            None => Ok(()),
        }
    }
}

/// A TLS client handshake on `sock` for `server_name`, every read and
/// write bounded by `timeout`. A failure's error names the problem
/// (an unknown issuer, a name mismatch, an alert from the server...).
pub(super) fn handshake(
    mut sock: TcpStream,
    tls: &ClientTls,
    server_name: &str,
    timeout: Option<Duration>,
) -> io::Result<TlsStream<TcpStream>> {
    let timeout = timeout.ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))?;
    sock.set_read_timeout(Some(timeout))?;
    sock.set_write_timeout(Some(timeout))?;
    let mut conn = tls
        .connect(server_name)
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))?;
    conn.handshake(&mut sock)?;
    Ok(TlsStream::new(sock, conn))
}

/// How long an upload's end waits for the server to close its side.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A data connection, in clear or protected.
pub(super) type DataStream = MaybeTls<TcpStream>;

/// An upload's end: the server takes the end of the connection for the
/// end of the file (RFC 959 §3.4). Under TLS, close_notify goes first,
/// then the TCP half-close; what the server still sends (its
/// close_notify, TLS 1.3 session tickets) is read to its end, so closing
/// never discards unread bytes, which would make the kernel reset the
/// connection and could cost the server the upload's tail.
pub(super) fn finish_upload(stream: &mut DataStream) -> io::Result<()> {
    match stream {
        MaybeTls::Plain(sock) => sock.shutdown(std::net::Shutdown::Write),
        MaybeTls::Tls(stream) => {
            stream.shutdown()?;
            stream.sock.shutdown(std::net::Shutdown::Write)?;
            stream.sock.set_read_timeout(Some(DRAIN_TIMEOUT))?;
            let mut scrap = [0u8; 4096];
            // The server's side ends soon after ours; an error or
            // timeout here changes nothing: everything was sent.
            while let Ok(n) = stream.read(&mut scrap) {
                if n == 0 {
                    break;
                }
            }
            Ok(())
        }
    }
}

/// After a download read 0: whether the server ended the TLS session
/// with close_notify (always true in clear).
pub(super) fn clean_end(stream: &DataStream) -> bool {
    match stream {
        MaybeTls::Plain(_) => true,
        MaybeTls::Tls(stream) => stream.clean_eof(),
    }
}
