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
//! Operations that change a name ([`Root::make_dir`], [`Root::remove_dir`],
//! [`Root::remove_file`], [`Root::rename`], uploads) open the name's parent
//! directory that way and then act on the last component with an `*at`
//! system call relative to that handle. Those calls never follow a symlink
//! in the last position: removing or renaming a link touches only the
//! link. The root itself is never removed or renamed.
//!
//! Uploads write a hidden temporary file (`.ferry-upload-<random>-<name>`,
//! created with `O_EXCL`) in the target's directory and rename it over the
//! target on [`Upload::commit`]; rename never follows a link, so nothing is
//! ever written outside the directory handle that was opened beneath the
//! root. Appending and resuming ([`UploadMode`]) copy the old file into the
//! temporary one first, so the old file stays whole until commit.
//! Temporary files are invisible to clients: [`Root::read_dir`] leaves them
//! out, naming one to read, stat or remove gives
//! [`StorageError::NotFound`], and creating one (as an upload target, a
//! directory or a rename target) gives [`StorageError::InvalidPath`].
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod error;
mod meta;
mod ops;
pub mod path;
mod read;
mod resolve;
mod upload;

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags};

pub use error::StorageError;
pub use meta::{DirEntry, FileInfo, FileKind};
pub use path::{PathError, RelativePath};
pub use read::ReadFile;
pub use upload::{NewUpload, Upload, UploadMode, TEMP_PREFIX};

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

    /// The directory `name` beneath this root, as a root of its own: what
    /// an FTP user whose home it is may reach. Lookups from it stay beneath
    /// it, so a symlink inside the home that leads elsewhere in this root
    /// is refused like one leading out of the root. `""` and `"/"` give
    /// this root.
    ///
    /// A name that is not a directory gives [`StorageError::NotADirectory`].
    pub fn subdirectory(&self, name: &str) -> Result<Root, StorageError> {
        if name.split('/').all(|c| c.is_empty() || c == ".") {
            return Ok(self.clone());
        }
        let rel = RelativePath::parse(name)?;
        // O_DIRECTORY: anything else fails with NotADirectory.
        let fd = self.open_beneath(rel.as_path(), resolve::DIR_HANDLE)?;
        // The canonical path of what was opened (links inside the root
        // followed), for messages and the canonicalising fallback.
        let path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .or_else(|_| std::fs::canonicalize(self.inner.path.join(rel.as_path())))?;
        Ok(Root {
            inner: Arc::new(RootInner { path, fd }),
        })
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
    /// commit) but must not be a directory. The same as
    /// [`create_upload_with`](Root::create_upload_with) and
    /// [`UploadMode::Replace`].
    ///
    /// The temporary file is created with mode 0644 (less the umask); when
    /// it replaces an existing file it takes that file's permission bits
    /// instead (set-id bits and ownership are not carried over). If the
    /// target is a symlink leading to a file inside the root, that file is
    /// the one replaced and the link is kept.
    pub fn create_upload(&self, name: &str) -> Result<Upload, StorageError> {
        self.create_upload_with(name, UploadMode::Replace)
    }

    /// Start an upload to `name` in the given [`UploadMode`].
    ///
    /// As [`create_upload`](Root::create_upload); in addition
    /// [`UploadMode::Append`] and [`UploadMode::Resume`] copy the existing
    /// target into the temporary file first (it must be a regular file,
    /// else [`StorageError::PermissionDenied`]), and
    /// [`UploadMode::Unique`] ignores whatever the name holds, since
    /// commit picks a free one.
    pub fn create_upload_with(&self, name: &str, mode: UploadMode) -> Result<Upload, StorageError> {
        self.begin_upload(name, mode)?.prepare()
    }

    /// As [`create_upload_with`](Root::create_upload_with), but the copy
    /// of the old file that [`UploadMode::Append`] and
    /// [`UploadMode::Resume`] start from is left to
    /// [`NewUpload::prepare`]. Every check (names, links, a resume offset
    /// beyond the end) is made here.
    pub fn begin_upload(&self, name: &str, mode: UploadMode) -> Result<NewUpload, StorageError> {
        let path = RelativePath::parse(name)?;
        upload::create(self, path.as_path(), true, mode)
    }

    /// What `name` is. A symlink is followed when it resolves inside the
    /// root (out of it: [`StorageError::PermissionDenied`]); `""` and `"/"`
    /// are the root itself.
    pub fn stat(&self, name: &str) -> Result<FileInfo, StorageError> {
        ops::stat(self, name)
    }

    /// Where the symlink (or any name) `name` leads: the path of its final
    /// target relative to this root (`""` for the root itself, components
    /// joined by `/`, no link left in it), and what the target is. A link
    /// leading outside the root gives [`StorageError::PermissionDenied`],
    /// as opening it would, and a dangling one [`StorageError::NotFound`];
    /// neither says anything of the world outside.
    pub fn resolve_link(&self, name: &str) -> Result<(String, FileInfo), StorageError> {
        ops::resolve_link(self, name)
    }

    /// Set the modification time of the file or directory `name` to
    /// `secs` (Unix seconds, UTC), leaving its access time. A symlink
    /// inside the root is followed; anything but a file or directory
    /// gives [`StorageError::PermissionDenied`], as does a file the
    /// server's own user may not change.
    pub fn set_modified(&self, name: &str, secs: i64) -> Result<(), StorageError> {
        ops::set_modified(self, name, secs)
    }

    /// The entries of directory `name` (`""` or `"/"` for the root), sorted
    /// by name, without `.`, `..` and temporary upload files.
    ///
    /// `name` itself may be a symlink to a directory inside the root. The
    /// entries are not followed: a symlink is listed as
    /// [`FileKind::Symlink`] with the link's own information, wherever it
    /// points (in or out of the root, or nowhere), so a listing reveals
    /// nothing about the world outside. A file gives
    /// [`StorageError::NotADirectory`].
    pub fn read_dir(&self, name: &str) -> Result<Vec<DirEntry>, StorageError> {
        ops::read_dir(self, name)
    }

    /// Create directory `name` (mode 0755 less the umask); its parent must
    /// exist. A name that exists in any form, even a dangling symlink, gives
    /// [`StorageError::AlreadyExists`], and so does the root.
    pub fn make_dir(&self, name: &str) -> Result<(), StorageError> {
        ops::make_dir(self, name)
    }

    /// Remove the empty directory `name`.
    ///
    /// [`StorageError::DirectoryNotEmpty`] if it has entries,
    /// [`StorageError::NotADirectory`] for anything else, including a
    /// symlink to a directory; the root gives
    /// [`StorageError::PermissionDenied`].
    pub fn remove_dir(&self, name: &str) -> Result<(), StorageError> {
        ops::remove_dir(self, name)
    }

    /// Remove the file `name`. A symlink is removed itself, never its
    /// target; a directory gives [`StorageError::IsADirectory`], the root
    /// [`StorageError::PermissionDenied`].
    pub fn remove_file(&self, name: &str) -> Result<(), StorageError> {
        ops::remove_file(self, name)
    }

    /// Rename `from` to `to`, both beneath the root (their parents may be
    /// symlinks inside it; the names themselves are never followed, so a
    /// symlink is renamed as a link). An existing file at `to` is replaced,
    /// as is an empty directory when `from` is a directory.
    ///
    /// Either name being the root gives [`StorageError::PermissionDenied`];
    /// a non-empty directory at `to` [`StorageError::DirectoryNotEmpty`]; a
    /// directory moved beneath itself [`StorageError::InvalidPath`]; a
    /// directory onto a file [`StorageError::NotADirectory`] and a file
    /// onto a directory [`StorageError::IsADirectory`].
    pub fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        ops::rename(self, from, to)
    }

    fn open_beneath(&self, rel: &Path, flags: OFlags) -> Result<OwnedFd, StorageError> {
        resolve::open_beneath(self.inner.fd.as_fd(), &self.inner.path, rel, flags)
    }
}
