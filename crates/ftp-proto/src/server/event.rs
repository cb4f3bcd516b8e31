//! What a session tells its driver besides reply bytes.

use alloc::string::String;

use super::ops::{Operation, RequestId};
use crate::path::RootPath;
use crate::reply::ReplyCode;

/// Something the driver must act on, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Do `op`, then call [`Session::complete`](super::Session::complete)
    /// with `id`.
    Request {
        /// Names the request.
        id: RequestId,
        /// The work.
        op: Operation,
    },
    /// Stop transfer `id` now (ABOR, a data timeout, a shutdown), then
    /// complete it with `Failed(Failure::Aborted)`, unless it finished
    /// first (then complete it as usual).
    Abort {
        /// The transfer.
        id: RequestId,
    },
    /// The control connection turns to TLS now (RFC 4217 §4: after
    /// `AUTH TLS` and its 234). Write everything [`transmit`] holds in
    /// clear, discard every control byte not yet taken (the session takes
    /// none after the AUTH line: nothing read before the handshake may be
    /// used after it), then run the TLS server handshake and call
    /// [`control_secured`] or [`control_tls_failed`]. From then on every
    /// control byte in either direction goes through TLS.
    ///
    /// [`transmit`]: super::Session::transmit
    /// [`control_secured`]: super::Session::control_secured
    /// [`control_tls_failed`]: super::Session::control_tls_failed
    SecureControl,
    /// Drop the passive listener, if one is held (PORT/EPRT after PASV,
    /// ABOR or REIN).
    ReleaseData,
    /// A line for the driver's log.
    Log(LogEvent),
}

/// One thing worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogEvent {
    /// A user logged in.
    LoggedIn {
        /// The name from USER.
        user: String,
        /// Logged in through the anonymous account.
        anonymous: bool,
    },
    /// A login was refused.
    LoginFailed {
        /// The name from USER.
        user: String,
    },
    /// The control connection's TLS handshake completed.
    Secured,
    /// A command got its final reply.
    Command {
        /// The canonical verb (`"?"` for a line that is not a command).
        verb: &'static str,
        /// The path it acted on, if any (root-relative, home included).
        path: Option<RootPath>,
        /// The final reply.
        code: ReplyCode,
    },
    /// A transfer command got its final reply.
    Transfer {
        /// RETR, STOR, STOU, APPE, LIST, NLST or MLSD.
        verb: &'static str,
        /// The file or directory (root-relative, home included).
        path: RootPath,
        /// Bytes moved on the data connection (0 unless it finished).
        bytes: u64,
        /// The final reply.
        code: ReplyCode,
    },
    /// The session ended.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent QUIT.
    Quit,
    /// Nothing arrived within the idle timeout (421).
    IdleTimeout,
    /// Too many failed logins (530).
    TooManyLoginFailures,
    /// A transfer made no progress within the data timeout (421).
    DataTimeout,
    /// The server is stopping ([`Session::shutdown`](super::Session::shutdown), 421).
    Shutdown,
    /// The control connection's TLS handshake failed or took too long.
    TlsFailed,
}
