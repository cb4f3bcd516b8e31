//! Why an operation failed.

use alloc::string::String;

use crate::reply::{Reply, ReplyCode, ReplyError};

/// Why an operation ended without its result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused: a 4yz or 5yz reply (RFC 959 §4.2), its code
    /// and text as sent.
    #[error("{code} {text}")]
    Reply {
        /// The server's code.
        code: ReplyCode,
        /// The server's text (lines joined by `\n`).
        text: String,
    },
    /// A final reply this operation has no use for at this point (a 2yz
    /// to RNFR, a 229 without a port, a 257 without a quoted path, ...).
    /// The dialogue is still in step; the session stays open.
    #[error("unexpected reply {code} {text}")]
    Unexpected {
        /// The server's code.
        code: ReplyCode,
        /// The server's text.
        text: String,
    },
    /// The control connection carried something that is not a reply.
    /// The session is closed.
    #[error("malformed reply: {0}")]
    Malformed(ReplyError),
    /// No reply (or no data-connection progress) in time. The session is
    /// closed.
    #[error("timed out waiting for the server")]
    Timeout,
    /// The server ended the session: a 421 reply (RFC 959 §4.2, at any
    /// time), or the control connection closed. The session is closed.
    #[error("{}", closed_text(.reply))]
    Closed {
        /// The 421 reply, when there was one.
        reply: Option<Reply>,
    },
    /// The driver reported the data connection (or listener) failed.
    #[error("data connection failed")]
    DataConnection,
    /// The transfer was stopped by [`Client::abort`](super::Client::abort).
    #[error("transfer aborted")]
    Aborted,
    /// The TLS handshake on the control connection failed, as the driver
    /// reported with
    /// [`Client::control_tls_failed`](super::Client::control_tls_failed).
    /// The session is closed (neither side can go on in clear).
    #[error("TLS handshake on the control connection failed")]
    TlsFailed,
    /// The operation cannot be sent as given (a CR or LF in an argument,
    /// a missing path, ...). Nothing was sent.
    #[error("invalid operation: {0}")]
    InvalidArgument(&'static str),
}

fn closed_text(reply: &Option<Reply>) -> String {
    use core::fmt::Write;
    let mut s = String::from("connection closed by the server");
    if let Some(r) = reply {
        let _ = write!(s, ": {} {}", r.code, r.text);
    }
    s
}

impl ClientError {
    /// The error a negative (4yz/5yz) reply becomes.
    pub(super) fn refused(reply: Reply) -> ClientError {
        ClientError::Reply {
            code: reply.code,
            text: reply.text,
        }
    }

    /// The error an out-of-place final reply becomes.
    pub(super) fn unexpected(reply: Reply) -> ClientError {
        ClientError::Unexpected {
            code: reply.code,
            text: reply.text,
        }
    }

    /// The server's reply code, for the errors that carry one.
    pub fn code(&self) -> Option<ReplyCode> {
        match self {
            ClientError::Reply { code, .. } | ClientError::Unexpected { code, .. } => Some(*code),
            ClientError::Closed { reply: Some(r) } => Some(r.code),
            _ => None,
        }
    }
}

/// [`Client::start`](super::Client::start) was called while another
/// operation was still running; the new one was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("another operation is still running")]
pub struct Busy;
