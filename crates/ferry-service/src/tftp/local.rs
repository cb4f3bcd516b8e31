//! The local end of a transfer, as a driver sees it: where file bytes come
//! from or go to, how a local failure is told, and how a transfer ended.

use std::io::{self, Read};

use ferry_storage::StorageError;
use tftp_proto::transfer::{LocalError, Negotiated, Summary, TransferError};

/// A local failure, told to the machine (which tells the peer) and kept
/// for the caller.
#[derive(Debug)]
pub struct LocalFailure {
    /// What the peer is told, as a TFTP error code class.
    pub error: LocalError,
    /// The ERROR packet's text.
    pub message: String,
    /// The local cause, for our own report.
    pub cause: Option<io::Error>,
}

impl LocalFailure {
    /// A failure without a local cause.
    pub fn new(error: LocalError, message: impl Into<String>) -> Self {
        LocalFailure {
            error,
            message: message.into(),
            cause: None,
        }
    }
}

/// The local end of a transfer: where data comes from or goes to.
pub trait Local {
    /// The options in force are known.
    fn negotiated(&mut self, _negotiated: &Negotiated) {}

    /// Fill `buf` completely from the source; fewer bytes only at its end.
    fn read_block(&mut self, _buf: &mut [u8]) -> Result<usize, LocalFailure> {
        Err(LocalFailure::new(LocalError::Other, "nothing to send"))
    }

    /// Append the next bytes of the file.
    fn write_data(&mut self, _data: &[u8]) -> Result<(), LocalFailure> {
        Err(LocalFailure::new(LocalError::Other, "nothing to receive"))
    }

    /// The transfer completed: make the result durable (commit an upload).
    fn finish(&mut self) -> Result<(), LocalFailure> {
        Ok(())
    }

    /// The transfer failed: throw partial data away.
    fn discard(&mut self) {}
}

/// How a transfer ended.
#[derive(Debug)]
pub struct Report {
    /// The options in force, if negotiation got that far.
    pub negotiated: Option<Negotiated>,
    /// The machine's verdict.
    pub result: Result<Summary, TransferError>,
    /// A local failure that caused (or, after completion, spoiled) it.
    pub local: Option<LocalFailure>,
}

/// Read until `buf` is full or the input ends.
pub fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// A failed read of the local file: the peer gets a generic ERROR.
pub fn read_failure(err: io::Error) -> LocalFailure {
    LocalFailure {
        error: LocalError::Other,
        message: "Read error".to_owned(),
        cause: Some(err),
    }
}

/// A failed write of the local file, classified for the peer (RFC 1350 §5:
/// disk full is error 3, a refusal error 2).
pub fn write_failure(err: io::Error) -> LocalFailure {
    let storage = err
        .raw_os_error()
        .map(|raw| StorageError::from(io::Error::from_raw_os_error(raw)));
    let (error, message) = match storage {
        Some(StorageError::DiskFull) => (LocalError::DiskFull, "Disk full or allocation exceeded"),
        Some(StorageError::PermissionDenied) => (LocalError::PermissionDenied, "Access violation"),
        _ => (LocalError::Other, "Write error"),
    };
    LocalFailure {
        error,
        message: message.to_owned(),
        cause: Some(err),
    }
}
