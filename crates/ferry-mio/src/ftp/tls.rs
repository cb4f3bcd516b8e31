//! TLS (RFC 4217) on the loop's non-blocking sockets: a handshake step
//! that never waits, and a data connection's bytes through its
//! [`TlsConn`]. The cryptography is `ferry-tls`'s; what happens when is
//! the session machine's.

use std::io::{self, Read, Write};

use ferry_tls::TlsConn;

/// Reads of one handshake per call at most; a peer with more waits for
/// the run queue, so a flood of handshake bytes cannot hold the loop.
const HANDSHAKE_READS: usize = 8;

/// How a handshake step ended.
#[derive(Debug)]
pub(super) enum Handshake {
    /// The handshake is complete (what it left queued, such as TLS 1.3
    /// session tickets, goes out with the connection's next writes).
    Done,
    /// The socket gives or takes nothing now: wait for readiness.
    Blocked,
    /// More to read than one step may: call again at the next turn.
    Yield,
    /// It failed; the alert that says why was sent as far as the socket
    /// took it.
    Failed(io::Error),
}

/// Runs the handshake as far as the socket allows, a bounded amount.
pub(super) fn handshake<S: Read + Write>(sock: &mut S, tls: &mut TlsConn) -> Handshake {
    for _ in 0..HANDSHAKE_READS {
        match flush(sock, tls) {
            Ok(true) => {}
            Ok(false) => return Handshake::Blocked,
            Err(err) => return Handshake::Failed(err),
        }
        if !tls.is_handshaking() {
            return Handshake::Done;
        }
        match tls.read_tls(sock) {
            Ok(0) => {
                return Handshake::Failed(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection during the TLS handshake",
                ))
            }
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Handshake::Blocked,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                // Best effort: the alert tells the peer the handshake is over.
                let _ = flush(sock, tls);
                return Handshake::Failed(err);
            }
        }
    }
    Handshake::Yield
}

/// Writes what the connection has queued: `Ok(true)` once all is
/// written, `Ok(false)` when the socket is full (its writable edge comes
/// later).
pub(super) fn flush<S: Write>(sock: &mut S, tls: &mut TlsConn) -> io::Result<bool> {
    while tls.wants_write() {
        match tls.write_tls(sock) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(true)
}

/// A protected data connection as a non-blocking byte stream: writes
/// are encrypted, reads decrypted. A write takes bytes while the
/// connection's queue has room (at most 64 KiB wait in it) and pushes
/// the queue to the socket; it would block only once the socket took
/// nothing, so readiness always follows. A read ends (`Ok(0)`) at the
/// client's close_notify and at a TCP end of file without one: many
/// clients skip close_notify after an upload.
pub(super) struct Secured<'a, S> {
    pub sock: &'a mut S,
    pub tls: &'a mut TlsConn,
}

impl<S: Write> Write for Secured<'_, S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Twice at most: once more after the queue drained.
        for _ in 0..2 {
            let n = self.tls.write_plain(buf);
            let drained = flush(self.sock, self.tls)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            if !drained {
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
        Err(io::Error::other("the TLS connection takes no data"))
    }

    fn flush(&mut self) -> io::Result<()> {
        if flush(self.sock, self.tls)? {
            Ok(())
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
    }
}

impl<S: Read + Write> Read for Secured<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.read_plain(buf) {
                Ok(n) => return Ok(n),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(err) => return Err(err),
            }
            // An alert or a key update's answer goes first; a full socket
            // does not stop the read.
            flush(self.sock, self.tls)?;
            // At end of file the next read_plain says which end it was.
            self.tls.read_tls(self.sock)?;
        }
    }
}
