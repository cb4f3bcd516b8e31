//! The directory a ferry server serves, and nothing outside it.
//!
//! Every server (TFTP now, FTP later) reaches files only through a [`Root`]:
//! client names are normalised into a [`RelativePath`], which cannot name
//! anything above the root, then opened beneath the root's directory handle
//! in a way that also keeps symlinks from leading out.
//!
//! ```
//! use std::io::{Read, Write};
//! use ferry_storage::{Root, StorageError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let root = Root::new(dir.path())?;
//!
//! // A TFTP WRQ: write beside the target, publish on the last block.
//! let mut upload = root.create_upload("/pxelinux.cfg")?;
//! upload.write_all(b"default linux\n")?;
//! upload.commit()?;
//!
//! // A TFTP RRQ; the size is what `tsize` reports.
//! let mut download = root.open_read("/pxelinux.cfg")?;
//! let mut text = String::new();
//! download.file.read_to_string(&mut text)?;
//! assert_eq!((download.len, text.as_str()), (14, "default linux\n"));
//!
//! assert!(matches!(root.open_read("../etc/passwd"), Err(StorageError::InvalidPath)));
//! # Ok(())
//! # }
//! ```
//!
//! # How confinement works
//!
//! Two layers, so that neither alone has to be perfect:
//!
//! 1. **Names** ([`path`]): split on `/`, empty and `.` components dropped,
//!    any `..` or NUL refused ([`StorageError::InvalidPath`]).
//! 2. **Symlinks**: on Linux, files are opened with `openat2(2)` and
//!    `RESOLVE_BENEATH` relative to a handle on the root directory, taken
//!    once in [`Root::new`]. The kernel follows links while it walks and
//!    refuses the lookup the moment it would step outside the root, in the
//!    same system call that opens the file: there is no gap between checking
//!    a path and opening it for someone to swap a directory for a link.
//!    A plain "canonicalise, check the prefix, open" would have exactly that
//!    gap, which is why it is only the fallback: for links the kernel refuses
//!    that still land inside the root (absolute links such as
//!    `/srv/tftp/images/vmlinuz`) and for kernels without `openat2`. The
//!    fallback opens the canonical path one component at a time with
//!    `O_NOFOLLOW`, so a link that appears after the check fails the open
//!    rather than escaping.
//!
//! A symlink at any position (middle or last, to a file or a directory)
//! that resolves outside the root gives [`StorageError::PermissionDenied`]:
//! to a client it is a file it may not have, which maps to TFTP error 2 and
//! FTP 550. A link that resolves inside the root is followed.
//!
//! Uploads write a hidden temporary file (`.ferry-upload-<random>-<name>`,
//! created with `O_EXCL`) in the target's directory and rename it over the
//! target on [`Upload::commit`]; rename never follows a link, so nothing is
//! ever written outside the directory handle that was opened beneath the
//! root.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod error;
pub mod path;
mod read;
mod resolve;
mod upload;

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags};

pub use error::StorageError;
pub use path::{PathError, RelativePath};
pub use read::ReadFile;
pub use upload::{Upload, TEMP_PREFIX};

/// The served directory. Cheap to clone; share one among all transfers.
#[derive(Debug, Clone)]
pub struct Root {
    inner: Arc<RootInner>,
}

#[derive(Debug)]
struct RootInner {
    /// Canonical path, used for messages and the canonicalising fallback.
    path: PathBuf,
    /// Handle every lookup starts from: renaming the directory later does
    /// not change what is served.
    fd: OwnedFd,
}

impl Root {
    /// Serve `dir`, which must exist and be a directory.
    pub fn new(dir: impl AsRef<Path>) -> std::io::Result<Root> {
        let path = std::fs::canonicalize(dir.as_ref())?;
        let fd = rustix::fs::open(&path, resolve::DIR_HANDLE | OFlags::CLOEXEC, Mode::empty())?;
        Ok(Root {
            inner: Arc::new(RootInner { path, fd }),
        })
    }

    /// The canonical path of the served directory.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Open an existing regular file for reading. `name` is the client's
    /// string (a TFTP filename, an FTP path).
    ///
    /// A directory gives [`StorageError::IsADirectory`]; devices, FIFOs and
    /// sockets give [`StorageError::PermissionDenied`].
    pub fn open_read(&self, name: &str) -> Result<ReadFile, StorageError> {
        let path = RelativePath::parse(name)?;
        read::open_read(self, &path)
    }

    /// Start an upload to `name`: a temporary file in the target's directory,
    /// which must already exist. The target may exist (it is replaced on
    /// commit) but must not be a directory.
    ///
    /// The temporary file is created with mode 0644 (less the umask). If the
    /// target is a symlink leading to a file inside the root, that file is
    /// the one replaced and the link is kept.
    pub fn create_upload(&self, name: &str) -> Result<Upload, StorageError> {
        let path = RelativePath::parse(name)?;
        upload::create(self, path.as_path(), true)
    }

    fn open_beneath(&self, rel: &Path, flags: OFlags) -> Result<OwnedFd, StorageError> {
        resolve::open_beneath(self.inner.fd.as_fd(), &self.inner.path, rel, flags)
    }
}
