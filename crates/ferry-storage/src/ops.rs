//! Looking at and rearranging the tree: stat, listing, directories,
//! removal, rename.
//!
//! Every operation that changes a name opens the name's *parent* beneath
//! the root (so no symlink or `..` on the way can lead out) and then acts
//! on the last component with an `*at` call relative to that handle. None
//! of those calls follows a symlink in the last position: removing or
//! renaming a link affects the link, never what it points to.

use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{AtFlags, Dir, Mode, OFlags, Timespec, Timestamps, UTIME_OMIT};
use rustix::io::Errno;

use crate::error::StorageError;
use crate::meta::{DirEntry, FileInfo, FileKind};
use crate::path::{PathError, RelativePath};
use crate::resolve::{DIR_HANDLE, STAT_HANDLE};
use crate::upload::TEMP_PREFIX;
use crate::Root;

/// A client's name: the root itself, or something beneath it.
pub(crate) enum Name {
    Root,
    Beneath(RelativePath),
}

impl Name {
    pub(crate) fn parse(name: &str) -> Result<Name, StorageError> {
        match RelativePath::parse(name) {
            Ok(path) => Ok(Name::Beneath(path)),
            Err(PathError::Empty) => Ok(Name::Root),
            Err(err) => Err(err.into()),
        }
    }

    fn as_path(&self) -> &Path {
        match self {
            Name::Root => Path::new(""),
            Name::Beneath(path) => path.as_path(),
        }
    }
}

/// Whether `name` is one of the crate's temporary upload files. Those are
/// invisible to clients: not listed, not found, and not creatable.
pub(crate) fn is_temp_name(name: &[u8]) -> bool {
    name.starts_with(TEMP_PREFIX.as_bytes())
}

/// The directory holding `path`'s last component, opened beneath the root.
fn parent_dir(root: &Root, path: &RelativePath) -> Result<OwnedFd, StorageError> {
    let parent = path.parent();
    let parent = parent.as_ref().map_or(Path::new(""), RelativePath::as_path);
    root.open_beneath(parent, DIR_HANDLE)
}

/// `NotFound` for a temporary upload name given where an existing name is expected.
fn existing(path: &RelativePath) -> Result<(), StorageError> {
    if is_temp_name(path.file_name().as_bytes()) {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// `InvalidPath` for a temporary upload name given as a name to create.
pub(crate) fn creatable(name: &[u8]) -> Result<(), StorageError> {
    if is_temp_name(name) {
        return Err(StorageError::InvalidPath);
    }
    Ok(())
}

pub(crate) fn stat(root: &Root, name: &str) -> Result<FileInfo, StorageError> {
    let name = Name::parse(name)?;
    if let Name::Beneath(path) = &name {
        existing(path)?;
    }
    let fd = root.open_beneath(name.as_path(), STAT_HANDLE)?;
    Ok(FileInfo::from_stat(&rustix::fs::fstat(&fd)?))
}

pub(crate) fn resolve_link(root: &Root, name: &str) -> Result<(String, FileInfo), StorageError> {
    let name = Name::parse(name)?;
    if let Name::Beneath(path) = &name {
        existing(path)?;
    }
    // Followed with the confinement of every open: a link leading out of
    // the root, or nowhere, fails here.
    let fd = root.open_beneath(name.as_path(), STAT_HANDLE)?;
    let info = FileInfo::from_stat(&rustix::fs::fstat(&fd)?);
    let target = where_open(&fd)?;
    let inside = target
        .strip_prefix(root.path())
        .map_err(|_| StorageError::PermissionDenied)?;
    let inside = inside.to_string_lossy().into_owned();
    if inside.split('/').any(|c| is_temp_name(c.as_bytes())) {
        return Err(StorageError::NotFound);
    }
    Ok((inside, info))
}

/// The path of what `fd` has open, as the kernel knows it.
fn where_open(fd: &OwnedFd) -> Result<std::path::PathBuf, StorageError> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|_| StorageError::PermissionDenied)
}

pub(crate) fn set_modified(root: &Root, name: &str, secs: i64) -> Result<(), StorageError> {
    let name = Name::parse(name)?;
    if let Name::Beneath(path) = &name {
        existing(path)?;
    }
    // A real handle (futimens needs one, O_PATH will not do); NONBLOCK so
    // that a FIFO does not hold the open, which is then refused.
    let fd = root.open_beneath(name.as_path(), OFlags::RDONLY | OFlags::NONBLOCK)?;
    let info = FileInfo::from_stat(&rustix::fs::fstat(&fd)?);
    if !matches!(info.kind, FileKind::File | FileKind::Directory) {
        return Err(StorageError::PermissionDenied);
    }
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        last_modification: Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
    };
    rustix::fs::futimens(&fd, &times)?;
    Ok(())
}

pub(crate) fn read_dir(root: &Root, name: &str) -> Result<Vec<DirEntry>, StorageError> {
    let name = Name::parse(name)?;
    if let Name::Beneath(path) = &name {
        existing(path)?;
    }
    let fd = root.open_beneath(name.as_path(), OFlags::RDONLY | OFlags::DIRECTORY)?;
    let mut dir = Dir::new(fd)?;
    // One pass over the directory for the names, then one fstatat per
    // name relative to the same handle: no name is looked up from the
    // root again, and the handle cannot be moved out from under us.
    let mut names: Vec<CString> = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry?;
        let bytes = entry.file_name().to_bytes();
        if bytes == b"." || bytes == b".." || is_temp_name(bytes) {
            continue;
        }
        names.push(entry.file_name().to_owned());
    }
    names.sort_unstable();
    let fd = dir.fd()?;
    let mut entries = Vec::with_capacity(names.len());
    for name in names {
        match rustix::fs::statat(fd, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => entries.push(DirEntry {
                name: name.to_string_lossy().into_owned(),
                info: FileInfo::from_stat(&stat),
            }),
            // Removed since the directory was read.
            Err(Errno::NOENT) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(entries)
}

pub(crate) fn make_dir(root: &Root, name: &str) -> Result<(), StorageError> {
    let Name::Beneath(path) = Name::parse(name)? else {
        return Err(StorageError::AlreadyExists);
    };
    creatable(path.file_name().as_bytes())?;
    let dir = parent_dir(root, &path)?;
    rustix::fs::mkdirat(&dir, path.file_name(), Mode::from_raw_mode(0o755))?;
    Ok(())
}

pub(crate) fn remove_dir(root: &Root, name: &str) -> Result<(), StorageError> {
    let Name::Beneath(path) = Name::parse(name)? else {
        return Err(StorageError::PermissionDenied);
    };
    existing(&path)?;
    let dir = parent_dir(root, &path)?;
    match rustix::fs::unlinkat(&dir, path.file_name(), AtFlags::REMOVEDIR) {
        Ok(()) => Ok(()),
        // POSIX allows either for a directory that still has entries.
        Err(Errno::EXIST | Errno::NOTEMPTY) => Err(StorageError::DirectoryNotEmpty),
        Err(errno) => Err(errno.into()),
    }
}

pub(crate) fn remove_file(root: &Root, name: &str) -> Result<(), StorageError> {
    let Name::Beneath(path) = Name::parse(name)? else {
        return Err(StorageError::PermissionDenied);
    };
    existing(&path)?;
    let dir = parent_dir(root, &path)?;
    rustix::fs::unlinkat(&dir, path.file_name(), AtFlags::empty())?;
    Ok(())
}

pub(crate) fn rename(root: &Root, from: &str, to: &str) -> Result<(), StorageError> {
    let (Name::Beneath(from), Name::Beneath(to)) = (Name::parse(from)?, Name::parse(to)?) else {
        return Err(StorageError::PermissionDenied);
    };
    existing(&from)?;
    creatable(to.file_name().as_bytes())?;
    let from_dir = parent_dir(root, &from)?;
    let to_dir = parent_dir(root, &to)?;
    match rustix::fs::renameat(&from_dir, from.file_name(), &to_dir, to.file_name()) {
        Ok(()) => Ok(()),
        // The target is a directory with entries.
        Err(Errno::EXIST | Errno::NOTEMPTY) => Err(StorageError::DirectoryNotEmpty),
        // A directory moved beneath itself.
        Err(Errno::INVAL) => Err(StorageError::InvalidPath),
        Err(errno) => Err(errno.into()),
    }
}
