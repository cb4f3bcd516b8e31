//! The file side of a transfer, shared by server and client: a source read
//! in full blocks, and how local I/O errors become TFTP errors.

use std::io::{self, Read};

use ferry_storage::StorageError;
use tftp_proto::transfer::LocalError;

use super::drive::LocalFailure;

/// Read until `buf` is full or the input ends.
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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
pub(crate) fn read_failure(err: io::Error) -> LocalFailure {
    LocalFailure {
        error: LocalError::Other,
        message: "Read error".to_owned(),
        cause: Some(err),
    }
}

/// A failed write of the local file, classified for the peer (RFC 1350 §5:
/// disk full is error 3, a refusal error 2).
pub(crate) fn write_failure(err: io::Error) -> LocalFailure {
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
