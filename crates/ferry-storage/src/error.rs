//! What can go wrong when touching the served tree, as causes a protocol can answer.

use std::io;

use rustix::io::Errno;

/// A storage failure, classified so a server can pick the protocol's own error
/// (TFTP error 1, 2, 3, 6; FTP 550, 552, 553) without looking at OS codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The name does not exist (or its parent directory does not).
    #[error("file not found")]
    NotFound,
    /// The OS refused access, or the name resolves outside the root (through a symlink).
    #[error("permission denied")]
    PermissionDenied,
    /// The name already exists where it must not.
    #[error("file already exists")]
    AlreadyExists,
    /// No space left on the device, or the user's quota is exhausted.
    #[error("disk full or quota exceeded")]
    DiskFull,
    /// The client's name is not acceptable: `..`, NUL, empty, or too long.
    #[error("invalid path")]
    InvalidPath,
    /// A file was expected but the name is a directory.
    #[error("is a directory")]
    IsADirectory,
    /// A directory was expected (a middle component, or the operand of a
    /// directory operation) but the name is something else.
    #[error("not a directory")]
    NotADirectory,
    /// A directory to remove (or to rename over) still has entries.
    #[error("directory not empty")]
    DirectoryNotEmpty,
    /// A resumed upload asked to start beyond the end of the existing file
    /// ([`UploadMode::Resume`](crate::UploadMode::Resume) with an offset
    /// greater than its length).
    #[error("offset beyond the end of the file")]
    InvalidOffset,
    /// The storage cannot do this at all: an object store cannot append
    /// to an object, resume an upload, pick a unique name or set a date.
    #[error("not supported on object storage")]
    Unsupported,
    /// Any other I/O failure.
    #[error(transparent)]
    Io(io::Error),
}

impl From<io::Error> for StorageError {
    fn from(err: io::Error) -> Self {
        // Raw errno first: ENOSPC/EDQUOT/EISDIR/ENOTDIR have stable ErrorKinds
        // only in Rust newer than our minimum, and EROFS should read as a refusal.
        if let Some(raw) = err.raw_os_error() {
            let errno = Errno::from_raw_os_error(raw);
            let mapped = match errno {
                Errno::NOENT => Some(Self::NotFound),
                Errno::ACCESS | Errno::PERM | Errno::ROFS => Some(Self::PermissionDenied),
                Errno::EXIST => Some(Self::AlreadyExists),
                Errno::NOSPC | Errno::DQUOT => Some(Self::DiskFull),
                Errno::ISDIR => Some(Self::IsADirectory),
                Errno::NOTDIR => Some(Self::NotADirectory),
                Errno::NOTEMPTY => Some(Self::DirectoryNotEmpty),
                Errno::NAMETOOLONG => Some(Self::InvalidPath),
                // A symlink loop names nothing.
                Errno::LOOP => Some(Self::NotFound),
                _ => None,
            };
            if let Some(mapped) = mapped {
                return mapped;
            }
        }
        match err.kind() {
            io::ErrorKind::NotFound => Self::NotFound,
            io::ErrorKind::PermissionDenied => Self::PermissionDenied,
            io::ErrorKind::AlreadyExists => Self::AlreadyExists,
            _ => Self::Io(err),
        }
    }
}

impl From<crate::path::PathError> for StorageError {
    fn from(_: crate::path::PathError) -> Self {
        Self::InvalidPath
    }
}

impl From<Errno> for StorageError {
    fn from(errno: Errno) -> Self {
        io::Error::from(errno).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(errno: Errno) -> StorageError {
        io::Error::from_raw_os_error(errno.raw_os_error()).into()
    }

    #[test]
    fn errno_classification() {
        assert!(matches!(map(Errno::NOENT), StorageError::NotFound));
        assert!(matches!(map(Errno::ACCESS), StorageError::PermissionDenied));
        assert!(matches!(map(Errno::PERM), StorageError::PermissionDenied));
        assert!(matches!(map(Errno::ROFS), StorageError::PermissionDenied));
        assert!(matches!(map(Errno::EXIST), StorageError::AlreadyExists));
        assert!(matches!(map(Errno::NOSPC), StorageError::DiskFull));
        assert!(matches!(map(Errno::DQUOT), StorageError::DiskFull));
        assert!(matches!(map(Errno::ISDIR), StorageError::IsADirectory));
        assert!(matches!(map(Errno::NOTDIR), StorageError::NotADirectory));
        assert!(matches!(
            map(Errno::NOTEMPTY),
            StorageError::DirectoryNotEmpty
        ));
        assert!(matches!(map(Errno::NAMETOOLONG), StorageError::InvalidPath));
        assert!(matches!(map(Errno::LOOP), StorageError::NotFound));
        assert!(matches!(map(Errno::IO), StorageError::Io(_)));
    }

    #[test]
    fn kind_only_errors_are_classified_too() {
        let err = io::Error::new(io::ErrorKind::NotFound, "gone");
        assert!(matches!(StorageError::from(err), StorageError::NotFound));
    }
}
