//! What a listing or a size/date query reports about a name.

use rustix::fs::{FileType, Stat};

/// What kind of thing a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link, reported as itself (only [`Root::read_dir`] does;
    /// [`Root::stat`] follows links).
    ///
    /// [`Root::read_dir`]: crate::Root::read_dir
    /// [`Root::stat`]: crate::Root::stat
    Symlink,
    /// A FIFO, socket or device.
    Other,
}

/// The facts about a file that FTP listings and `SIZE`/`MDTM` need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileInfo {
    /// File, directory, link or other.
    pub kind: FileKind,
    /// Size in bytes (for a symlink, the length of the text it holds).
    pub len: u64,
    /// Last modification, in seconds since the Unix epoch (UTC).
    pub modified: Option<i64>,
    /// Permission bits: `0o7777` of `st_mode` (type bits removed).
    pub mode: u32,
    /// Number of hard links.
    pub nlink: u64,
    /// Device the file lives on; with `ino`, identifies the file (`MLSD`'s `unique` fact).
    pub dev: u64,
    /// Inode number on `dev`.
    pub ino: u64,
}

/// One entry of [`Root::read_dir`](crate::Root::read_dir).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DirEntry {
    /// The entry's name within its directory; bytes that are not UTF-8 are
    /// replaced by U+FFFD.
    pub name: String,
    /// The entry itself, not what it points to when it is a symlink.
    pub info: FileInfo,
}

impl FileInfo {
    // The field types of `struct stat` differ between architectures: some
    // of these casts widen, some are identities.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    pub(crate) fn from_stat(stat: &Stat) -> FileInfo {
        let kind = match FileType::from_raw_mode(stat.st_mode) {
            FileType::RegularFile => FileKind::File,
            FileType::Directory => FileKind::Directory,
            FileType::Symlink => FileKind::Symlink,
            _ => FileKind::Other,
        };
        FileInfo {
            kind,
            len: u64::try_from(stat.st_size).unwrap_or(0),
            modified: Some(stat.st_mtime as i64),
            mode: (stat.st_mode as u32) & 0o7777,
            nlink: stat.st_nlink as u64,
            dev: stat.st_dev as u64,
            ino: stat.st_ino as u64,
        }
    }
}
