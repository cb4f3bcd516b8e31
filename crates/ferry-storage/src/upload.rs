//! Uploads: written to a hidden temporary file beside the target, renamed
//! over it only on [`Upload::commit`], so the final name never holds a
//! half-written file.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, IoSlice, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::StorageError;
use crate::resolve::{self, DIR_HANDLE};
use crate::Root;

/// Prefix of every temporary upload name; the leading dot hides it from
/// ordinary listings.
pub const TEMP_PREFIX: &str = ".ferry-upload-";

/// Longest file name the common Linux file systems accept.
const NAME_MAX: usize = 255;

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
    committed: bool,
}

impl Upload {
    /// The temporary file, for writing (or seeking, for a resumed FTP upload).
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Rename the temporary file over the target, atomically replacing an
    /// existing file. No fsync: a crash may lose the data, never expose half.
    pub fn commit(mut self) -> Result<(), StorageError> {
        rustix::fs::renameat(&self.dir, &self.temp_name, &self.dir, &self.target_name)?;
        self.committed = true;
        Ok(())
    }

    /// Give up: remove the temporary file (the same as dropping).
    pub fn discard(self) {}
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
pub(crate) fn create(root: &Root, rel: &Path, follow_link: bool) -> Result<Upload, StorageError> {
    let (Some(parent), Some(target_name)) = (rel.parent(), rel.file_name()) else {
        // Only the root itself has no file name.
        return Err(StorageError::IsADirectory);
    };
    let dir = root.open_beneath(parent, DIR_HANDLE)?;
    match rustix::fs::statat(&dir, target_name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => return Err(StorageError::IsADirectory),
            FileType::Symlink if follow_link => {
                let real = resolve::canonical_inside(root.path(), rel, true)?;
                return create(root, &real, false);
            }
            // A link appeared between canonicalisation and now.
            FileType::Symlink => return Err(StorageError::PermissionDenied),
            _ => {}
        },
        Err(Errno::NOENT) => {}
        Err(errno) => return Err(errno.into()),
    }

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
                    committed: false,
                })
            }
            Err(Errno::EXIST) if attempts < 16 => attempts += 1,
            Err(errno) => return Err(errno.into()),
        }
    }
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
    use super::*;

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
