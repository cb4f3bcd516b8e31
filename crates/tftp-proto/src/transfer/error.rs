//! Why a transfer ended badly, and how local failures map to wire codes.

use alloc::string::String;

use crate::error_code::ErrorCode;

/// A failure on the local side (usually storage), reported by the driver.
/// The machine alone decides which TFTP error code it becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalError {
    /// The file does not exist.
    NotFound,
    /// The file may not be read or written.
    PermissionDenied,
    /// No space left to store the file.
    DiskFull,
    /// The file exists and may not be replaced.
    AlreadyExists,
    /// Anything else.
    Other,
}

impl LocalError {
    /// The one place local failures become wire codes (RFC 1350 appendix).
    pub const fn error_code(self) -> ErrorCode {
        match self {
            LocalError::NotFound => ErrorCode::FileNotFound,
            LocalError::PermissionDenied => ErrorCode::AccessViolation,
            LocalError::DiskFull => ErrorCode::DiskFull,
            LocalError::AlreadyExists => ErrorCode::FileExists,
            LocalError::Other => ErrorCode::NotDefined,
        }
    }
}

/// Why a transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The peer sent an ERROR packet.
    #[error("peer error {}: {message}", code.to_u16())]
    Peer {
        /// The peer's code.
        code: ErrorCode,
        /// The peer's text.
        message: String,
    },
    /// Server: the client answered our OACK with an ERROR, before any
    /// DATA (RFC 2347: a client may refuse the options it was offered
    /// with ERROR 8 and end the transfer). Not a fault: UEFI firmware
    /// learns a file's size this way, asking for `tsize` and declining
    /// the answer before it fetches the file. Nothing was read or
    /// written; nothing is sent back.
    #[error("options declined with error {}: {message}", code.to_u16())]
    Declined {
        /// The client's code (8, option negotiation, from firmware).
        code: ErrorCode,
        /// The client's text.
        message: String,
    },
    /// No answer after the configured number of retransmissions.
    #[error("timed out: no answer after repeated retransmissions")]
    TimedOut,
    /// The server's OACK carried an option or value that was not asked for;
    /// ERROR 8 was sent (RFC 2347).
    #[error("option negotiation failed: {0}")]
    OptionNegotiation(&'static str),
    /// The peer broke the protocol; ERROR 4 was sent.
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// This side refused the request with an ERROR packet.
    #[error("refused with error {}: {message}", code.to_u16())]
    Refused {
        /// The code sent.
        code: ErrorCode,
        /// The text sent.
        message: String,
    },
    /// The local side aborted the transfer with an ERROR packet.
    #[error("aborted with error {}: {message}", code.to_u16())]
    Aborted {
        /// The code sent.
        code: ErrorCode,
        /// The text sent.
        message: String,
    },
}
