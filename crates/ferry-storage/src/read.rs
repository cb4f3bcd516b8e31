//! Opening an existing file for a download.

use std::fs::File;

use rustix::fs::OFlags;

use crate::error::StorageError;
use crate::path::RelativePath;
use crate::Root;

/// A regular file opened for reading, with its size at open time
/// (what a TFTP server offers as `tsize`).
#[derive(Debug)]
pub struct ReadFile {
    /// The open file, positioned at its start.
    pub file: File,
    /// Its length in bytes when it was opened.
    pub len: u64,
}

pub(crate) fn open_read(root: &Root, path: &RelativePath) -> Result<ReadFile, StorageError> {
    if crate::ops::is_temp_name(path.file_name().as_bytes()) {
        return Err(StorageError::NotFound);
    }
    // O_NONBLOCK so that a FIFO planted in the tree cannot hang the open;
    // anything but a regular file is refused below anyway.
    let fd = root.open_beneath(path.as_path(), OFlags::RDONLY | OFlags::NONBLOCK)?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(StorageError::IsADirectory);
    }
    if !kind.is_file() {
        return Err(StorageError::PermissionDenied);
    }
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    Ok(ReadFile {
        file,
        len: meta.len(),
    })
}
