//! Opening a root-relative path so that no step of the lookup leaves the root.
//!
//! First choice is one `openat2(2)` with `RESOLVE_BENEATH`: the kernel
//! follows symlinks but fails with `EXDEV` the moment the walk would leave
//! the root directory, with no window between check and open. Two cases
//! fall back to [`open_canonical`]:
//!
//! - `EXDEV`: some symlink is absolute or climbs with `..`. It may still
//!   land inside the root (a link written as `/srv/tftp/images/x`), so the
//!   path is canonicalised and checked against the root; if it is inside,
//!   the canonical, symlink-free path is opened component by component with
//!   `O_NOFOLLOW`, so a link swapped in after the check makes the open fail
//!   instead of escaping.
//! - `ENOSYS` (kernels before 5.6, some sandboxes): the same canonicalise,
//!   check and no-follow walk for every path.

use std::ffi::OsStr;
use std::fs;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use crate::error::StorageError;

/// Flags for a directory used only as the base of further `*at` calls.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const DIR_HANDLE: OFlags = OFlags::PATH.union(OFlags::DIRECTORY);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const DIR_HANDLE: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY);

/// Flags for a handle used only to `fstat` what a name resolves to: it
/// needs no read permission and cannot block on a FIFO.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const STAT_HANDLE: OFlags = OFlags::PATH;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const STAT_HANDLE: OFlags = OFlags::RDONLY.union(OFlags::NONBLOCK);

/// Whether `flags` ask for a path-only handle, which `openat2` refuses to
/// combine with flags that only matter for I/O.
fn path_only(flags: OFlags) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return flags.contains(OFlags::PATH);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    return {
        let _ = flags;
        false
    };
}

/// Set once the kernel has said it has no `openat2`, to stop asking.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Open `rel` (plain components only; empty means the root itself) beneath
/// the directory `root_fd`, whose canonical path is `root_path`.
///
/// `flags` must not contain `O_CREAT`: only existing names are resolved here.
pub(crate) fn open_beneath(
    root_fd: BorrowedFd<'_>,
    root_path: &Path,
    rel: &Path,
    flags: OFlags,
) -> Result<OwnedFd, StorageError> {
    debug_assert!(!flags.contains(OFlags::CREATE));
    let flags = if path_only(flags) {
        flags | OFlags::CLOEXEC
    } else {
        flags | OFlags::CLOEXEC | OFlags::NOCTTY
    };
    match openat2_beneath(root_fd, rel, flags) {
        Some(Ok(fd)) => Ok(fd),
        Some(Err(Errno::XDEV)) => open_canonical(root_fd, root_path, rel, flags, true),
        Some(Err(errno)) => Err(errno.into()),
        None => open_canonical(root_fd, root_path, rel, flags, false),
    }
}

/// `None` when `openat2` is unavailable (or keeps racing with renames).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn openat2_beneath(
    root_fd: BorrowedFd<'_>,
    rel: &Path,
    flags: OFlags,
) -> Option<Result<OwnedFd, Errno>> {
    use rustix::fs::{openat2, ResolveFlags};

    if NO_OPENAT2.load(Ordering::Relaxed) {
        return None;
    }
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
    // EAGAIN: a concurrent rename somewhere in the file system made the
    // kernel unsure the walk stayed beneath; it asks us to try again.
    for _ in 0..4 {
        match openat2(root_fd, rel, flags, Mode::empty(), resolve) {
            Err(Errno::AGAIN) => continue,
            Err(Errno::NOSYS) => {
                NO_OPENAT2.store(true, Ordering::Relaxed);
                return None;
            }
            other => return Some(other),
        }
    }
    None
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn openat2_beneath(_: BorrowedFd<'_>, _: &Path, _: OFlags) -> Option<Result<OwnedFd, Errno>> {
    let _ = &NO_OPENAT2;
    None
}

/// Canonicalise `root_path/rel`, refuse it unless it is inside the root,
/// then open the symlink-free remainder without following any link.
///
/// `escape_suspected` is set when the kernel has already seen a symlink
/// leaving the root: then a failing canonicalisation (a dangling link, an
/// unreadable directory out there) is reported as `PermissionDenied` too,
/// so nothing about the world outside the root leaks through the error.
pub(crate) fn open_canonical(
    root_fd: BorrowedFd<'_>,
    root_path: &Path,
    rel: &Path,
    flags: OFlags,
    escape_suspected: bool,
) -> Result<OwnedFd, StorageError> {
    let inside = canonical_inside(root_path, rel, escape_suspected)?;
    open_no_follow(root_fd, &inside, flags)
}

/// Where `root_path/rel` really is, relative to the root; `PermissionDenied`
/// when that is outside.
pub(crate) fn canonical_inside(
    root_path: &Path,
    rel: &Path,
    escape_suspected: bool,
) -> Result<std::path::PathBuf, StorageError> {
    let canonical = match fs::canonicalize(root_path.join(rel)) {
        Ok(path) => path,
        Err(_) if escape_suspected => return Err(StorageError::PermissionDenied),
        Err(err) => return Err(err.into()),
    };
    canonical
        .strip_prefix(root_path)
        .map(Path::to_path_buf)
        .map_err(|_| StorageError::PermissionDenied)
}

/// Walk `rel` from `root_fd` one component at a time, refusing symlinks.
fn open_no_follow(
    root_fd: BorrowedFd<'_>,
    rel: &Path,
    flags: OFlags,
) -> Result<OwnedFd, StorageError> {
    let names = rel
        .components()
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            _ => Err(StorageError::InvalidPath),
        })
        .collect::<Result<Vec<&OsStr>, _>>()?;
    let Some((last, dirs)) = names.split_last() else {
        return rustix::fs::openat(root_fd, ".", flags, Mode::empty()).map_err(Into::into);
    };
    let mut dir: Option<OwnedFd> = None;
    for name in dirs {
        let base = dir.as_ref().map_or(root_fd, |d| d.as_fd());
        let next = rustix::fs::openat(
            base,
            *name,
            DIR_HANDLE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(swapped_link)?;
        dir = Some(next);
    }
    let base = dir.as_ref().map_or(root_fd, |d| d.as_fd());
    rustix::fs::openat(base, *last, flags | OFlags::NOFOLLOW, Mode::empty()).map_err(swapped_link)
}

/// `ELOOP` under `O_NOFOLLOW` means a symlink appeared where the canonical
/// path had none: someone is racing us, so refuse.
fn swapped_link(errno: Errno) -> StorageError {
    match errno {
        Errno::LOOP => StorageError::PermissionDenied,
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_follow_walk_refuses_a_symlink_in_the_middle_and_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let root_path = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir(root_path.join("real")).unwrap();
        fs::write(root_path.join("real/f"), b"x").unwrap();
        std::os::unix::fs::symlink("real", root_path.join("link")).unwrap();
        std::os::unix::fs::symlink("real/f", root_path.join("flink")).unwrap();
        let root =
            rustix::fs::open(&root_path, DIR_HANDLE | OFlags::CLOEXEC, Mode::empty()).unwrap();

        assert!(open_no_follow(root.as_fd(), Path::new("real/f"), OFlags::RDONLY).is_ok());
        assert!(matches!(
            open_no_follow(root.as_fd(), Path::new("link/f"), OFlags::RDONLY),
            Err(StorageError::NotADirectory)
        ));
        assert!(matches!(
            open_no_follow(root.as_fd(), Path::new("flink"), OFlags::RDONLY),
            Err(StorageError::PermissionDenied)
        ));
    }

    #[test]
    fn canonical_fallback_follows_links_inside_and_refuses_links_outside() {
        let dir = tempfile::tempdir().unwrap();
        let root_path = fs::canonicalize(dir.path()).unwrap().join("root");
        fs::create_dir(&root_path).unwrap();
        fs::write(root_path.join("f"), b"x").unwrap();
        fs::write(dir.path().join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(root_path.join("f"), root_path.join("abs_in")).unwrap();
        std::os::unix::fs::symlink("../secret", root_path.join("out")).unwrap();
        let root =
            rustix::fs::open(&root_path, DIR_HANDLE | OFlags::CLOEXEC, Mode::empty()).unwrap();

        let open = |rel: &str, suspected| {
            open_canonical(
                root.as_fd(),
                &root_path,
                Path::new(rel),
                OFlags::RDONLY,
                suspected,
            )
        };
        assert!(open("abs_in", false).is_ok());
        assert!(matches!(
            open("out", false),
            Err(StorageError::PermissionDenied)
        ));
        assert!(matches!(
            open("missing", false),
            Err(StorageError::NotFound)
        ));
        assert!(matches!(
            open("missing", true),
            Err(StorageError::PermissionDenied)
        ));
    }
}
