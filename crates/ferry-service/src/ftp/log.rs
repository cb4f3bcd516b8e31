//! A session's log lines, the same whichever driver runs it.

use crate::metrics::{Direction, ErrorClass, Metrics, Outcome, Protocol};
use crate::pace::{RateLimit, RateLimits};
use std::fmt::Display;
use std::net::SocketAddr;
use std::time::Instant;

use ftp_proto::server::{CloseReason, LogEvent};
use ftp_proto::RootPath;

/// How a session ended, for its last log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The session closed (QUIT, a timeout, a shutdown) and its last
    /// replies went out.
    Server,
    /// The client closed the control connection.
    Client,
    /// The control connection failed.
    ConnectionError,
}

impl SessionEnd {
    /// The words the log uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEnd::Server => "closed by the server",
            SessionEnd::Client => "closed by the client",
            SessionEnd::ConnectionError => "connection error",
        }
    }
}

/// What a session's log lines say besides the event itself: the peer, the
/// user, and how long the request and the transfer took. A driver feeds
/// it every [`LogEvent`] and tells it when requests and transfers begin.
#[derive(Debug)]
pub struct SessionLog {
    peer: SocketAddr,
    user: String,
    /// The user logged in is anonymous (or nobody is logged in yet).
    anonymous: bool,
    request_began: Option<Instant>,
    /// The running or last transfer: when it began, and the bytes it
    /// moved (the session reports 0 for one that did not finish).
    transfer_began: Option<Instant>,
    transfer_moved: u64,
}

impl SessionLog {
    /// The log of a session with `peer`, nobody logged in yet.
    pub fn new(peer: SocketAddr) -> SessionLog {
        SessionLog {
            peer,
            user: String::from("-"),
            anonymous: true,
            request_began: None,
            transfer_began: None,
            transfer_moved: 0,
        }
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The rate limit for `job`, a transfer of this session: the
    /// anonymous one unless a named user logged in. Listings are not
    /// limited: only files' bytes are.
    pub fn rate_limit(&self, limits: RateLimits, job: &super::Job) -> Option<RateLimit> {
        match job {
            super::Job::Listing(_) => None,
            _ => limits.for_client(self.anonymous),
        }
    }

    /// A connection refused because the server runs as many sessions as it may.
    pub fn refused(peer: SocketAddr) {
        Metrics::global().session_refused();
        tracing::warn!(%peer, "ftp session refused: too many sessions");
    }

    /// A connection refused because its address holds as many sessions
    /// as one address may.
    pub fn refused_per_ip(peer: SocketAddr) {
        Metrics::global().session_refused();
        tracing::warn!(%peer, "ftp session refused: too many sessions from this address");
    }

    /// The session could not be set up.
    pub fn failed_to_start(peer: SocketAddr, error: &dyn Display) {
        tracing::warn!(%peer, error = %error, "ftp session could not start");
    }

    /// The session began.
    pub fn opened(&self) {
        Metrics::global().session_opened();
        tracing::info!(peer = %self.peer, "ftp session opened");
    }

    /// The session ended, and how.
    pub fn closed(&self, end: SessionEnd) {
        let reason = end.as_str();
        Metrics::global().session_closed();
        tracing::info!(peer = %self.peer, user = %self.user, reason, "ftp session closed");
    }

    /// Accepting a control connection failed; the server pauses for
    /// [`ACCEPT_BACKOFF`](super::ACCEPT_BACKOFF).
    pub fn accept_failed(error: &dyn Display) {
        tracing::warn!(error = %error, "ftp accept failed; pausing");
    }

    /// The control connection failed (the session then ends).
    pub fn control_failed(&self, error: &dyn Display) {
        tracing::debug!(peer = %self.peer, error = %error, "ftp control connection failed");
    }

    /// The control connection broke while a transfer runs on.
    pub fn control_lost_mid_transfer(&self, error: &dyn Display) {
        tracing::debug!(peer = %self.peer, error = %error, "ftp control connection lost mid-transfer");
    }

    /// No passive listener could be bound.
    pub fn no_passive_port(&self, error: &dyn Display) {
        tracing::warn!(peer = %self.peer, error = %error, "no passive port");
    }

    /// A passive data connection came from another address than the
    /// client's, and was closed.
    pub fn data_peer_refused(&self, from: SocketAddr) {
        tracing::warn!(peer = %self.peer, %from, "ftp data connection from another address refused");
    }

    /// Accepting on the passive listener failed; the transfer fails.
    pub fn passive_accept_failed(&self, error: &dyn Display) {
        tracing::warn!(peer = %self.peer, error = %error, "passive accept failed");
    }

    /// A TLS handshake (control or data connection, `what` says which)
    /// failed: a bad handshake, a plain-text client on the implicit port,
    /// garbage after AUTH, a failed session-reuse check.
    pub fn tls_failed(&self, what: &'static str, error: &dyn Display) {
        Metrics::global().error(Protocol::Ftp, ErrorClass::Tls);
        tracing::warn!(peer = %self.peer, connection = what, error = %error, "ftp TLS handshake failed");
    }

    /// An active-mode data connection could not be made.
    pub fn active_connect_failed(to: SocketAddr, error: &dyn Display) {
        tracing::debug!(%to, error = %error, "active data connection failed");
    }

    /// A request began now (for its `elapsed_ms`).
    pub fn request_began(&mut self) {
        self.request_began = Some(Instant::now());
    }

    /// A transfer began now; nothing moved yet.
    pub fn transfer_began(&mut self) {
        self.transfer_began = Some(Instant::now());
        self.transfer_moved = 0;
    }

    /// The transfer ended having moved `bytes` on its data connection.
    pub fn transfer_moved(&mut self, bytes: u64) {
        self.transfer_moved = bytes;
    }

    /// Writes the line for `event`. Returns true when an anonymous user
    /// logged in: the session's [`View`](super::View) is then the whole
    /// root again (no request set it).
    pub fn log(&mut self, event: LogEvent) -> bool {
        let peer = self.peer;
        let elapsed_ms = self
            .request_began
            .take()
            .map_or(0, |began| began.elapsed().as_millis() as u64);
        match event {
            LogEvent::LoggedIn { user, anonymous } => {
                Metrics::global().login(Outcome::Ok);
                tracing::info!(%peer, %user, anonymous, "ftp login");
                self.user = user;
                self.anonymous = anonymous;
                return anonymous;
            }
            LogEvent::LoginFailed { user } => {
                Metrics::global().login(Outcome::Failed);
                tracing::warn!(%peer, %user, "ftp login failed");
            }
            LogEvent::Command { verb, path, code } => {
                // Syntax errors and commands out of sequence.
                if matches!(code.as_u16(), 500 | 501 | 503) {
                    Metrics::global().error(Protocol::Ftp, ErrorClass::Protocol);
                }
                tracing::info!(
                    %peer,
                    user = %self.user,
                    command = verb,
                    path = %shown_path(path.as_ref()),
                    code = code.as_u16(),
                    elapsed_ms,
                    "ftp"
                );
            }
            LogEvent::Transfer {
                verb,
                path,
                bytes,
                code,
            } => {
                // What moved, even when the transfer did not finish.
                let bytes = bytes.max(self.transfer_moved);
                let direction = match verb {
                    "RETR" => Direction::Download,
                    "STOR" | "APPE" | "STOU" => Direction::Upload,
                    _ => Direction::Listing,
                };
                let outcome = match code.as_u16() {
                    200..=299 => Outcome::Ok,
                    _ => Outcome::Failed,
                };
                Metrics::global().transfer(Protocol::Ftp, direction, outcome, bytes);
                let elapsed_ms = self
                    .transfer_began
                    .take()
                    .map_or(elapsed_ms, |began| began.elapsed().as_millis() as u64);
                tracing::info!(
                    %peer,
                    user = %self.user,
                    command = verb,
                    path = %path.to_absolute(),
                    bytes,
                    code = code.as_u16(),
                    elapsed_ms,
                    "ftp transfer"
                );
            }
            LogEvent::Secured => {
                tracing::debug!(%peer, "ftp control connection secured (TLS)");
            }
            LogEvent::Closed { reason } => {
                if matches!(reason, CloseReason::IdleTimeout | CloseReason::DataTimeout) {
                    Metrics::global().error(Protocol::Ftp, ErrorClass::Timeout);
                }
                tracing::debug!(%peer, ?reason, "ftp session ending");
            }
            _ => {}
        }
        false
    }
}

fn shown_path(path: Option<&RootPath>) -> String {
    path.map_or_else(|| String::from("-"), RootPath::to_absolute)
}
