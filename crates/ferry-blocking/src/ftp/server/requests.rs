//! The session's requests carried out against the served root: logins,
//! metadata, directory changes, and opening what a transfer moves.

use std::io::{Seek, SeekFrom};
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_storage::{DirEntry, FileInfo, StorageError, UploadMode};
use ftp_proto::listing::{self, FileKind, ListFormat, Metadata};
use ftp_proto::server::{Access, Completion, Failure, Operation, StoreMode, TransferKind};
use ftp_proto::RootPath;

use super::data::Job;
use super::Shared;

/// Carries out a request that needs no data connection.
pub(super) fn perform(shared: &Shared, op: Operation) -> Completion {
    let root = &shared.root;
    let result = match op {
        Operation::Authenticate { user, password } => {
            return authenticate(shared, &user, &password)
        }
        Operation::Stat { path } => root
            .stat(path.as_str())
            .map(|info| Completion::Metadata(metadata(&info))),
        Operation::MakeDir { path } => root.make_dir(path.as_str()).map(|()| Completion::Done),
        Operation::RemoveDir { path } => root.remove_dir(path.as_str()).map(|()| Completion::Done),
        Operation::Delete { path } => root.remove_file(path.as_str()).map(|()| Completion::Done),
        Operation::Rename { from, to } => root
            .rename(from.as_str(), to.as_str())
            .map(|()| Completion::Done),
        Operation::List { path } => entries(shared, &path).map(|(entries, _)| {
            let now = unix_now();
            let mut out = Vec::new();
            for entry in &entries {
                listing::write_list_line(&mut out, &entry.name, &metadata(&entry.info), now);
            }
            Completion::Listing(out)
        }),
        // Listen and Transfer are the control loop's; nothing else exists yet.
        _ => return Completion::Failed(Failure::Io),
    };
    result.unwrap_or_else(|err| Completion::Failed(failure(err)))
}

/// Opens what a transfer moves, before its 150: the file to send (at the
/// REST offset), the upload's temporary file, or the listing's lines.
/// Returns the job, the size for the 150 text, and STOU's chosen name.
pub(super) fn open_job(
    shared: &Shared,
    kind: &TransferKind,
) -> Result<(Job, Option<u64>, Option<String>), Failure> {
    let root = &shared.root;
    match kind {
        TransferKind::Retrieve { path, offset } => {
            let mut read = root.open_read(path.as_str()).map_err(failure)?;
            read.file
                .seek(SeekFrom::Start(*offset))
                .map_err(|_| Failure::Io)?;
            let size = read.len.saturating_sub(*offset);
            Ok((Job::Send(read.file), Some(size), None))
        }
        TransferKind::Store { path, mode } => {
            let mode = match *mode {
                StoreMode::Replace => UploadMode::Replace,
                StoreMode::Append => UploadMode::Append,
                StoreMode::Resume(offset) => UploadMode::Resume(offset),
                StoreMode::Unique => UploadMode::Unique,
            };
            let unique = mode == UploadMode::Unique;
            let upload = root
                .create_upload_with(path.as_str(), mode)
                .map_err(failure)?;
            // STOU's 150 names the file (RFC 1123 §4.1.2.9) before any
            // data: the name free now.
            let name = unique.then(|| upload.planned_name());
            Ok((Job::Receive(upload), None, name))
        }
        TransferKind::List {
            path,
            format,
            named,
        } => {
            let (entries, in_directory) = entries(shared, path).map_err(failure)?;
            let now = unix_now();
            let mut out = Vec::with_capacity(entries.len() * 64);
            for entry in &entries {
                let meta = metadata(&entry.info);
                match format {
                    ListFormat::Long => listing::write_list_line(&mut out, &entry.name, &meta, now),
                    ListFormat::Names => {
                        listing::write_nlst_entry(&mut out, named, &entry.name, in_directory)
                    }
                    ListFormat::Machine(facts) => {
                        listing::write_facts_line(&mut out, &entry.name, &meta, facts)
                    }
                    _ => return Err(Failure::Io),
                }
            }
            Ok((Job::Listing(out), None, None))
        }
        _ => Err(Failure::Io),
    }
}

/// A directory's entries, or a file's one entry; and which it was.
fn entries(shared: &Shared, path: &RootPath) -> Result<(Vec<DirEntry>, bool), StorageError> {
    let root = &shared.root;
    let info = root.stat(path.as_str())?;
    if info.kind == ferry_storage::FileKind::Directory {
        Ok((root.read_dir(path.as_str())?, true))
    } else {
        let name = path.file_name().to_owned();
        Ok((vec![DirEntry { name, info }], false))
    }
}

fn authenticate(shared: &Shared, user: &str, password: &str) -> Completion {
    let Some(users) = &shared.config.users else {
        return Completion::LoginRefused;
    };
    let Some(found) = users.verify(user, password) else {
        return Completion::LoginRefused;
    };
    let Ok(home) = RootPath::ROOT.resolve(&found.home) else {
        return Completion::LoginRefused;
    };
    // A home that is not there would leave the user nowhere to stand.
    match shared.root.stat(home.as_str()) {
        Ok(info) if info.kind == ferry_storage::FileKind::Directory => Completion::LoggedIn {
            home,
            access: Access {
                write: shared.config.write && found.write,
            },
        },
        _ => {
            tracing::warn!(%user, home = %found.home, "ftp user's home is not a directory in the root");
            Completion::LoginRefused
        }
    }
}

/// Storage failures as the session's failure classes (it picks the code).
pub(super) fn failure(err: StorageError) -> Failure {
    match err {
        StorageError::NotFound => Failure::NotFound,
        StorageError::PermissionDenied => Failure::PermissionDenied,
        StorageError::AlreadyExists => Failure::AlreadyExists,
        StorageError::DiskFull => Failure::StorageFull,
        StorageError::InvalidPath => Failure::InvalidName,
        StorageError::IsADirectory => Failure::IsADirectory,
        StorageError::NotADirectory => Failure::NotADirectory,
        StorageError::DirectoryNotEmpty => Failure::DirectoryNotEmpty,
        StorageError::InvalidOffset => Failure::InvalidOffset,
        _ => Failure::Io,
    }
}

fn metadata(info: &FileInfo) -> Metadata {
    Metadata {
        kind: match info.kind {
            ferry_storage::FileKind::File => FileKind::File,
            ferry_storage::FileKind::Directory => FileKind::Directory,
            ferry_storage::FileKind::Symlink => FileKind::Symlink,
            _ => FileKind::Other,
        },
        size: info.len,
        modified: info.modified,
        mode: info.mode,
        nlink: info.nlink,
        unique: Some((info.dev, info.ino)),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
