//! TLS on a control connection (RFC 4217): the server's handshake, run
//! to a deadline and cut short by the server's stop signal.
//!
//! The handshake runs on the session's own thread, which has nothing else
//! to do meanwhile: after AUTH's 234 the session reads no command until
//! it is told how the handshake ended, and an implicit-TLS connection has
//! no session before it.

use std::io::{self, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use ferry_tls::TlsConn;
use ftp_proto::Instant;
use rustix::event::{PollFd, PollFlags, Timespec};

use crate::clock;

/// Why a control handshake did not complete.
pub(super) enum Unsecured {
    /// The server is stopping.
    Stopped,
    /// The handshake failed, or its deadline passed: why, for the log.
    Failed(io::Error),
}

/// Runs `tls`'s server handshake over the (blocking) control socket until
/// it completes, fails, `deadline` passes, or `stopping` turns readable.
/// Each wait is one `poll(2)` bounded by what is left of the deadline, so
/// a client that trickles its hello byte by byte cannot stretch it.
pub(super) fn handshake(
    sock: &TcpStream,
    tls: &mut TlsConn,
    deadline: Instant,
    stopping: Option<&UnixStream>,
) -> Result<(), Unsecured> {
    loop {
        write_queued(sock, tls).map_err(Unsecured::Failed)?;
        if !tls.is_handshaking() {
            return Ok(());
        }
        let left = clock::until(clock::now(), deadline);
        if left.is_zero() {
            return Err(Unsecured::Failed(io::Error::new(
                io::ErrorKind::TimedOut,
                "the TLS handshake did not complete in time",
            )));
        }
        let timeout = Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        let (readable, stop) = {
            let mut fds = [
                PollFd::new(sock, PollFlags::IN),
                // Without a stop signal to watch, the socket again: its
                // readiness is read from the first slot only.
                match stopping {
                    Some(stopping) => PollFd::new(stopping, PollFlags::IN),
                    None => PollFd::new(sock, PollFlags::empty()),
                },
            ];
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(Unsecured::Failed(err.into())),
            }
            (
                !fds[0].revents().is_empty(),
                stopping.is_some() && !fds[1].revents().is_empty(),
            )
        };
        if stop {
            return Err(Unsecured::Stopped);
        }
        if !readable {
            continue;
        }
        match tls.read_tls(&mut &*sock) {
            Ok(0) => {
                return Err(Unsecured::Failed(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the connection during the TLS handshake",
                )))
            }
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(err) => {
                // Best effort: the alert tells the client why, so it does
                // not wait on a handshake that is over.
                let _ = write_queued(sock, tls);
                return Err(Unsecured::Failed(err));
            }
        }
    }
}

/// Writes every TLS byte `tls` has queued (records, alerts, tickets).
pub(super) fn write_queued(sock: &TcpStream, tls: &mut TlsConn) -> io::Result<()> {
    while tls.wants_write() {
        match tls.write_tls(&mut &*sock) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    (&*sock).flush()
}
