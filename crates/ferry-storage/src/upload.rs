//! Uploads: written to a hidden temporary file beside the target, renamed
//! over it only on [`Upload::commit`], so the final name never holds a
//! half-written file.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::error::StorageError;
use crate::ops;
use crate::resolve::{self, DIR_HANDLE};
use crate::Root;

/// Prefix of every temporary upload name; the leading dot hides it from
/// ordinary listings.
pub const TEMP_PREFIX: &str = ".ferry-upload-";

/// Longest file name the common Linux file systems accept.
const NAME_MAX: usize = 255;

/// Most names [`UploadMode::Unique`] tries (`name`, `name.1`, ...) before
/// giving up with [`StorageError::AlreadyExists`].
const UNIQUE_TRIES: u32 = 10_000;

/// What an upload starts from and how [`Upload::commit`] publishes it.
///
/// Every mode writes to a temporary file; the target is untouched until
/// commit, and dropping the upload leaves it as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UploadMode {
    /// Start empty; commit replaces the target (FTP `STOR`, TFTP `WRQ`).
    Replace,
    /// Start as a copy of the existing target (empty if there is none),
    /// positioned at its end; commit replaces the target (FTP `APPE`).
    Append,
    /// Start as a copy of the first `n` bytes of the existing target,
    /// positioned at `n`; commit replaces the target (FTP `REST n` + `STOR`).
    /// An `n` beyond the target's length (a missing target has length 0)
    /// gives [`StorageError::InvalidOffset`].
    Resume(u64),
    /// Start empty; commit publishes under the requested name if it is
    /// free, else the first free one of `name.1`, `name.2`, ..., never
    /// replacing anything, even a name taken in the meantime (FTP `STOU`).
    Unique,
}

/// An upload in progress.
///
/// Dropping it (or calling [`discard`](Upload::discard)) removes the
/// temporary file; only [`commit`](Upload::commit) makes the data visible
/// under the target name.
#[derive(Debug)]
pub struct Upload {
    file: File,
    /// The target's directory, opened beneath the root; both the temporary
    /// and the final name live in it, so rename is atomic and cannot leave it.
    dir: OwnedFd,
    temp_name: OsString,
    target_name: OsString,
    unique: bool,
    committed: bool,
}

impl Upload {
    /// The temporary file, for writing. It is positioned where the data
    /// goes next: at 0, or after what [`UploadMode::Append`] and
    /// [`UploadMode::Resume`] copied.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Publish the data: rename the temporary file over the target,
    /// atomically replacing an existing file, or for
    /// [`UploadMode::Unique`] to the first free name. No fsync: a crash may
    /// lose the data, never expose half.
    ///
    /// Returns the name the file now has in its directory (no directory
    /// part; lossy UTF-8). That is the requested name except for
    /// [`UploadMode::Unique`], and when the target was a symlink inside the
    /// root, whose target file was replaced.
    pub fn commit(mut self) -> Result<String, StorageError> {
        let name = if self.unique {
            self.publish_unique()?
        } else {
            rustix::fs::renameat(&self.dir, &self.temp_name, &self.dir, &self.target_name)?;
            self.committed = true;
            self.target_name.clone()
        };
        Ok(name.to_string_lossy().into_owned())
    }

    /// Give up: remove the temporary file (the same as dropping).
    pub fn discard(self) {}

    /// The name [`commit`](Upload::commit) would publish under now: the
    /// target's, or for [`UploadMode::Unique`] the first candidate that is
    /// free at this moment (FTP's STOU names it in its 150 reply, before
    /// the data). A name taken in the meantime moves the commit on to the
    /// next free one, which `commit` returns.
    pub fn planned_name(&self) -> String {
        let mut candidate = self.target_name.clone();
        if self.unique {
            for n in 1..UNIQUE_TRIES {
                let taken = rustix::fs::statat(&self.dir, &candidate, AtFlags::SYMLINK_NOFOLLOW);
                if taken.is_err() {
                    break;
                }
                candidate = self.target_name.clone();
                candidate.push(format!(".{n}"));
            }
        }
        candidate.to_string_lossy().into_owned()
    }

    /// Move the temporary file to the first free candidate name without
    /// ever replacing an existing one.
    fn publish_unique(&mut self) -> Result<OsString, StorageError> {
        let mut no_replace_works = true;
        for n in 0..UNIQUE_TRIES {
            let mut candidate = self.target_name.clone();
            if n > 0 {
                candidate.push(format!(".{n}"));
            }
            if no_replace_works {
                match rustix::fs::renameat_with(
                    &self.dir,
                    &self.temp_name,
                    &self.dir,
                    &candidate,
                    RenameFlags::NOREPLACE,
                ) {
                    Ok(()) => {
                        self.committed = true;
                        return Ok(candidate);
                    }
                    Err(Errno::EXIST) => continue,
                    // No renameat2, or a file system without RENAME_NOREPLACE.
                    Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => no_replace_works = false,
                    Err(errno) => return Err(errno.into()),
                }
            }
            // A hard link fails rather than replace; then drop the temporary name.
            match rustix::fs::linkat(
                &self.dir,
                &self.temp_name,
                &self.dir,
                &candidate,
                AtFlags::empty(),
            ) {
                Ok(()) => {
                    // If this fails, Drop tries again; the data is published either way.
                    if rustix::fs::unlinkat(&self.dir, &self.temp_name, AtFlags::empty()).is_ok() {
                        self.committed = true;
                    }
                    return Ok(candidate);
                }
                Err(Errno::EXIST) => continue,
                Err(errno) => return Err(errno.into()),
            }
        }
        Err(StorageError::AlreadyExists)
    }
}

impl Write for Upload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.file.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing useful to do on failure: the name is hidden and unique.
            let _ = rustix::fs::unlinkat(&self.dir, &self.temp_name, AtFlags::empty());
        }
    }
}

/// Start an upload to `rel` (plain components, non-empty).
///
/// A final component that is a symlink is followed once, to wherever it
/// leads inside the root, and the upload replaces that file, keeping the
/// link; a link leading outside the root, or to nothing, is refused.
/// [`UploadMode::Unique`] never replaces, so it does not look at the
/// target at all.
pub(crate) fn create(
    root: &Root,
    rel: &Path,
    follow_link: bool,
    mode: UploadMode,
) -> Result<NewUpload, StorageError> {
    let (Some(parent), Some(target_name)) = (rel.parent(), rel.file_name()) else {
        // Only the root itself has no file name.
        return Err(StorageError::IsADirectory);
    };
    ops::creatable(target_name.as_bytes())?;
    let dir = root.open_beneath(parent, DIR_HANDLE)?;
    // Permission bits of the regular file being replaced, if any.
    let mut existing: Option<u32> = None;
    if mode != UploadMode::Unique {
        match rustix::fs::statat(&dir, target_name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => return Err(StorageError::IsADirectory),
                FileType::Symlink if follow_link => {
                    let real = resolve::canonical_inside(root.path(), rel, true)?;
                    return create(root, &real, false, mode);
                }
                // A link appeared between canonicalisation and now.
                FileType::Symlink => return Err(StorageError::PermissionDenied),
                FileType::RegularFile => existing = Some(stat.st_mode & 0o777),
                // A FIFO, socket or device: replaced, or refused as a source.
                _ => existing = Some(0o644),
            },
            Err(Errno::NOENT) => {}
            Err(errno) => return Err(errno.into()),
        }
    }

    // What to copy into the temporary file: the source and how much of it.
    let source = match mode {
        UploadMode::Replace | UploadMode::Unique => None,
        UploadMode::Append | UploadMode::Resume(_) => {
            let source = if existing.is_some() {
                Some(open_source(&dir, target_name)?)
            } else {
                None
            };
            let len = source
                .as_ref()
                .map_or(Ok(0), |file| file.metadata().map(|m| m.len()))?;
            let keep = match mode {
                UploadMode::Resume(offset) if offset > len => {
                    return Err(StorageError::InvalidOffset)
                }
                UploadMode::Resume(offset) => offset,
                _ => len,
            };
            source.map(|file| (file, keep))
        }
    };

    let upload = create_temp(dir, target_name, mode == UploadMode::Unique)?;
    // A replaced file keeps its permissions: an upload must not make a
    // private file readable by others. (Not set-id bits, and not the owner.)
    if let Some(bits) = existing {
        rustix::fs::fchmod(&upload.file, Mode::from_raw_mode(bits))?;
    }
    Ok(NewUpload {
        upload,
        copy: source,
        resume: matches!(mode, UploadMode::Resume(_)),
    })
}

/// An upload whose temporary file exists but may still have to be filled
/// with the old file's bytes ([`UploadMode::Append`],
/// [`UploadMode::Resume`]): [`prepare`](NewUpload::prepare) does that
/// copy, which takes as long as the file is large, so a server can do it
/// where a long wait blocks nobody. Dropping it removes the temporary file.
#[derive(Debug)]
pub struct NewUpload {
    upload: Upload,
    /// The old file and how many of its bytes to copy.
    copy: Option<(File, u64)>,
    resume: bool,
}

impl NewUpload {
    /// Copies what the mode keeps of the old file and gives the upload,
    /// positioned where new data goes.
    pub fn prepare(self) -> Result<Upload, StorageError> {
        let NewUpload {
            upload,
            copy,
            resume,
        } = self;
        if let Some((source, keep)) = copy {
            let copied = copy_prefix(&source, &upload.file, keep)?;
            // The source shrank while we copied: a resume would leave a hole.
            if copied < keep && resume {
                return Err(StorageError::InvalidOffset);
            }
        }
        Ok(upload)
    }

    /// The name [`Upload::commit`] would publish under now; see
    /// [`Upload::planned_name`].
    pub fn planned_name(&self) -> String {
        self.upload.planned_name()
    }
}

/// Open the existing target for copying; only a regular file will do.
fn open_source(dir: &OwnedFd, name: &OsStr) -> Result<File, StorageError> {
    // O_NONBLOCK: a FIFO swapped in after the stat cannot hang the open.
    let fd = rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| match errno {
        // A symlink swapped in after the stat.
        Errno::LOOP => StorageError::PermissionDenied,
        other => other.into(),
    })?;
    let file = File::from(fd);
    if !file.metadata()?.is_file() {
        return Err(StorageError::PermissionDenied);
    }
    let flags = rustix::fs::fcntl_getfl(&file)?;
    rustix::fs::fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    Ok(file)
}

/// Create a fresh temporary file beside `target_name` in `dir`.
fn create_temp(dir: OwnedFd, target_name: &OsStr, unique: bool) -> Result<Upload, StorageError> {
    let mut attempts = 0;
    loop {
        let temp_name = temp_name_for(target_name);
        let created = rustix::fs::openat(
            &dir,
            &temp_name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        );
        match created {
            Ok(fd) => {
                return Ok(Upload {
                    file: File::from(fd),
                    dir,
                    temp_name,
                    target_name: target_name.to_owned(),
                    unique,
                    committed: false,
                })
            }
            Err(Errno::EXIST) if attempts < 16 => attempts += 1,
            Err(errno) => return Err(errno.into()),
        }
    }
}

/// Copy up to `len` bytes from the current position of `from` to that of
/// `to`, in the kernel when it can (`copy_file_range`, which may share
/// extents), else through a buffer. Returns how many were copied: fewer
/// only when `from` ended early.
fn copy_prefix(from: &File, to: &File, len: u64) -> Result<u64, StorageError> {
    let mut copied = 0;
    while copied < len {
        let chunk = usize::try_from(len - copied)
            .unwrap_or(usize::MAX)
            .min(1 << 30);
        match rustix::fs::copy_file_range(from, None, to, None, chunk) {
            Ok(0) => break,
            Ok(n) => copied += n as u64,
            Err(Errno::INTR) => {}
            // Across file systems on older kernels, unsupported file
            // systems, no such call: copy by hand.
            Err(Errno::XDEV | Errno::NOSYS | Errno::INVAL | Errno::OPNOTSUPP | Errno::PERM) => {
                break
            }
            Err(errno) => return Err(errno.into()),
        }
    }
    // Some file systems report 0 rather than an error when they cannot
    // copy in the kernel: finish (or confirm the end) by reading.
    if copied < len {
        copied += io::copy(&mut from.take(len - copied), &mut &*to)?;
    }
    Ok(copied)
}

/// `.ferry-upload-<16 hex digits>-<target>`, the target cut short if the
/// whole would exceed `NAME_MAX`.
fn temp_name_for(target: &OsStr) -> OsString {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS once per process; the counter and
    // clock make successive names differ. Uniqueness is enforced by O_EXCL,
    // this only makes collisions rare.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    let mut name = format!("{TEMP_PREFIX}{:016x}-", hasher.finish()).into_bytes();
    let room = NAME_MAX - name.len();
    let target = target.as_bytes();
    name.extend_from_slice(&target[..target.len().min(room)]);
    OsString::from_vec(name)
}

#[cfg(test)]
mod tests {
    use std::io::Seek;
    use std::os::unix::net::UnixStream;

    use super::*;

    fn read_all(mut file: &File) -> Vec<u8> {
        file.rewind().unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn copy_in_the_kernel_between_files() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let mut from = tempfile::tempfile().unwrap();
        from.write_all(&data).unwrap();
        from.rewind().unwrap();
        let to = tempfile::tempfile().unwrap();
        assert_eq!(copy_prefix(&from, &to, 123_457).unwrap(), 123_457);
        assert_eq!((&to).stream_position().unwrap(), 123_457);
        assert_eq!(read_all(&to), &data[..123_457]);
        from.rewind().unwrap();
        let to = tempfile::tempfile().unwrap();
        assert_eq!(copy_prefix(&from, &to, u64::MAX).unwrap(), 300_000);
        assert_eq!(read_all(&to), data);
    }

    #[test]
    fn copy_falls_back_to_reading_when_the_kernel_cannot() {
        // copy_file_range refuses sockets (EINVAL): the buffered path runs.
        let (mut writer, reader) = UnixStream::pair().unwrap();
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        writer.write_all(&data).unwrap();
        drop(writer);
        let from = File::from(OwnedFd::from(reader));
        let to = tempfile::tempfile().unwrap();
        assert_eq!(copy_prefix(&from, &to, 20_000).unwrap(), 20_000);
        assert_eq!(copy_prefix(&from, &to, 40_000).unwrap(), 30_000);
        assert_eq!(read_all(&to), data);
    }

    #[test]
    fn temp_names_are_hidden_distinct_and_fit() {
        let a = temp_name_for(OsStr::new("kernel"));
        let b = temp_name_for(OsStr::new("kernel"));
        assert_ne!(a, b);
        let a = a.to_str().unwrap();
        assert!(a.starts_with(TEMP_PREFIX) && a.ends_with("-kernel"), "{a}");
        let long = "x".repeat(300);
        assert_eq!(temp_name_for(OsStr::new(&long)).len(), NAME_MAX);
    }
}
