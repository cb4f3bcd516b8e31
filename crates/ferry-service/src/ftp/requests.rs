//! The session's requests carried out against the served root: logins,
//! metadata, directory changes, and opening what a transfer moves.
//!
//! Every path a session hands out already starts with the user's home.
//! A [`View`] opens them beneath a root opened on that home, so that not
//! even a symlink inside the home can lead into the rest of the tree.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_storage::{DirEntry, FileInfo, NewUpload, Root, StorageError, UploadMode};
use ftp_proto::listing::{self, FileKind, ListFormat, Metadata};
use ftp_proto::server::{Access, Completion, Failure, Operation, StoreMode, TransferKind};
use ftp_proto::RootPath;

use super::ServerConfig;

/// What a transfer moves, opened before its 150.
#[derive(Debug)]
pub enum Job {
    /// RETR: the file, positioned at the REST offset.
    Send(File),
    /// LIST, NLST, MLSD: the lines, ready.
    Listing(Vec<u8>),
    /// STOR, APPE, STOU: the temporary file (still to be filled with the
    /// old file's bytes for APPE and REST+STOR, by [`NewUpload::prepare`],
    /// which may take long), published on a clean end.
    Receive(NewUpload),
}

/// What a session sees of the served tree: the root, or a user's home
/// opened as a root of its own.
#[derive(Debug)]
pub struct View {
    root: Root,
    /// The home as the session writes it in front of every path (`""`
    /// for the served root).
    home: String,
}

impl View {
    /// The whole served tree (anonymous users, and before a login).
    pub fn whole(root: &Root) -> View {
        View {
            root: root.clone(),
            home: String::new(),
        }
    }

    /// `path` relative to the home: the session put the home in front.
    fn name<'a>(&self, path: &'a RootPath) -> &'a str {
        let path = path.as_str();
        if self.home.is_empty() {
            return path;
        }
        match path.strip_prefix(self.home.as_str()) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            // Never handed out by the session (a property test says so);
            // a name the storage refuses if it ever were.
            _ => "..",
        }
    }
}

/// Carries out a request that needs no data connection (but logins,
/// which [`authenticate`] does).
pub fn perform(view: &View, op: Operation) -> Completion {
    let root = &view.root;
    let result = match op {
        Operation::Stat { path } => root
            .stat(view.name(&path))
            .map(|info| Completion::Metadata(metadata(&info))),
        Operation::MakeDir { path } => root.make_dir(view.name(&path)).map(|()| Completion::Done),
        Operation::RemoveDir { path } => {
            root.remove_dir(view.name(&path)).map(|()| Completion::Done)
        }
        Operation::Delete { path } => root
            .remove_file(view.name(&path))
            .map(|()| Completion::Done),
        Operation::Rename { from, to } => root
            .rename(view.name(&from), view.name(&to))
            .map(|()| Completion::Done),
        Operation::List { path } => entries(view, &path).map(|(entries, _)| {
            let now = unix_now();
            let mut out = Vec::new();
            for entry in &entries {
                listing::write_list_line(&mut out, &entry.name, &metadata(&entry.info), now);
            }
            Completion::Listing(out)
        }),
        // Authenticate, Listen and Transfer are the control loop's.
        _ => return Completion::Failed(Failure::Io),
    };
    result.unwrap_or_else(|err| Completion::Failed(failure(err)))
}

/// Opens what a transfer moves, before its 150: the file to send (at the
/// REST offset), the upload's temporary file, or the listing's lines.
/// Returns the job and the session's [`Completion::Started`] (with the
/// size for the 150 text, and STOU's chosen name).
pub fn open_job(view: &View, kind: &TransferKind) -> Result<(Job, Completion), Failure> {
    let root = &view.root;
    match kind {
        TransferKind::Retrieve { path, offset } => {
            let mut read = root.open_read(view.name(path)).map_err(failure)?;
            read.file
                .seek(SeekFrom::Start(*offset))
                .map_err(|_| Failure::Io)?;
            let size = read.len.saturating_sub(*offset);
            Ok((
                Job::Send(read.file),
                Completion::Started {
                    size: Some(size),
                    name: None,
                },
            ))
        }
        TransferKind::Store { path, mode } => {
            let mode = match *mode {
                StoreMode::Replace => UploadMode::Replace,
                StoreMode::Append => UploadMode::Append,
                StoreMode::Resume(offset) => UploadMode::Resume(offset),
                StoreMode::Unique => UploadMode::Unique,
            };
            let unique = mode == UploadMode::Unique;
            // Append and Resume copy the old file first; that copy is
            // left to the driver, to run where it keeps no one waiting.
            let upload = root.begin_upload(view.name(path), mode).map_err(failure)?;
            // STOU's 150 names the file (RFC 1123 §4.1.2.9) before any
            // data: the name free now.
            let name = unique.then(|| upload.planned_name());
            Ok((
                Job::Receive(upload),
                Completion::Started { size: None, name },
            ))
        }
        TransferKind::List {
            path,
            format,
            named,
        } => {
            let (entries, in_directory) = entries(view, path).map_err(failure)?;
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
            Ok((
                Job::Listing(out),
                Completion::Started {
                    size: None,
                    name: None,
                },
            ))
        }
        _ => Err(Failure::Io),
    }
}

/// A directory's entries, or a file's one entry; and which it was.
fn entries(view: &View, path: &RootPath) -> Result<(Vec<DirEntry>, bool), StorageError> {
    let root = &view.root;
    let name = view.name(path);
    let info = root.stat(name)?;
    if info.kind == ferry_storage::FileKind::Directory {
        Ok((root.read_dir(name)?, true))
    } else {
        let name = path.file_name().to_owned();
        Ok((vec![DirEntry { name, info }], false))
    }
}

/// Checks a password. On success, also the view of the user's home that
/// the session's paths are to be opened in.
///
/// A check takes tens of milliseconds and tens of MiB for a moment
/// (argon2): the driver decides where it runs and how many run at once.
pub fn authenticate(
    root: &Root,
    config: &ServerConfig,
    user: &str,
    password: &str,
) -> (Completion, Option<View>) {
    let Some(users) = &config.users else {
        return (Completion::LoginRefused, None);
    };
    let found = users.verify(user, password);
    let Some(found) = found else {
        return (Completion::LoginRefused, None);
    };
    let Ok(home) = RootPath::ROOT.resolve(&found.home) else {
        return (Completion::LoginRefused, None);
    };
    // A home that is not there would leave the user nowhere to stand.
    match root.subdirectory(home.as_str()) {
        Ok(root) => {
            let view = View {
                root,
                home: home.as_str().to_owned(),
            };
            let access = Access {
                write: config.write && found.write,
            };
            (Completion::LoggedIn { home, access }, Some(view))
        }
        Err(err) => {
            tracing::warn!(%user, home = %found.home, error = %err, "ftp user's home is not a directory in the root");
            (Completion::LoginRefused, None)
        }
    }
}

/// Storage failures as the session's failure classes (it picks the code).
pub fn failure(err: StorageError) -> Failure {
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

/// Storage's view of a file as the listings' [`Metadata`].
pub fn metadata(info: &FileInfo) -> Metadata {
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
