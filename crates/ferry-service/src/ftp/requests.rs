//! The session's requests carried out against the served root: logins,
//! metadata, directory changes, and opening what a transfer moves.
//!
//! Every path a session hands out already starts with the user's home.
//! A [`View`] opens them beneath a root opened on that home, so that not
//! even a symlink inside the home can lead into the rest of the tree.

use crate::metrics::{ErrorClass, Metrics, Protocol};
use std::time::{SystemTime, UNIX_EPOCH};

use ferry_storage::{DirEntry, FileInfo, StorageError, UploadMode};
use ftp_proto::format::Encoder;
use ftp_proto::listing::{self, FileKind, ListFormat, Metadata};
use ftp_proto::server::{
    Access, Completion, Failure, Operation, Pattern, StoreMode, Transfer, TransferKind,
};
use ftp_proto::RootPath;

use super::{hash, ServerConfig};
use crate::{Body, NewStoreUpload, Store};

/// What a transfer moves, opened before its 150.
#[derive(Debug)]
pub enum Job {
    /// RETR: the file (a local file, or an object's ranged GET) from the
    /// REST offset, and how much of it to send.
    Send(Download),
    /// LIST, NLST, MLSD: the lines, ready.
    Listing(Vec<u8>),
    /// STOR, APPE, STOU: the upload (a local one still to be filled with
    /// the old file's bytes for APPE and REST+STOR, by
    /// [`NewStoreUpload::prepare`], which may take long), published on a
    /// clean end.
    Receive(NewStoreUpload),
}

/// A RETR's file and the part of it to send.
#[derive(Debug)]
pub struct Download {
    /// The file or object, read from `offset` on.
    pub body: Body,
    /// Where the transfer starts (REST, RANG): restart markers count from
    /// here.
    pub offset: u64,
    /// RANG: send no more than this many bytes; `None`: to the end.
    pub len: Option<u64>,
}

/// What a session sees of the served tree: the root, or a user's home
/// opened as a root of its own (a local directory, or a bucket under the
/// home's longer prefix).
#[derive(Debug, Clone)]
pub struct View {
    pub(super) root: Store,
    /// The home as the session writes it in front of every path (`""`
    /// for the served root).
    home: String,
}

impl View {
    /// The whole served tree (anonymous users, and before a login).
    pub fn whole(root: &Store) -> View {
        View {
            root: root.clone(),
            home: String::new(),
        }
    }

    /// Whether the tree is an object store, where every operation is a
    /// network round trip (a driver on one thread runs them elsewhere).
    pub fn is_remote(&self) -> bool {
        matches!(self.root, Store::S3(_))
    }

    /// `path` relative to the home: the session put the home in front.
    pub(super) fn name<'a>(&self, path: &'a RootPath) -> &'a str {
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
        Operation::List { path } => {
            return match entries(view, &path, None) {
                Ok((entries, _)) => {
                    let now = unix_now();
                    let mut out = Vec::new();
                    for entry in &entries {
                        entry.write_long(&mut out, now);
                    }
                    Completion::Listing(out)
                }
                Err(failure) => Completion::Failed(failure),
            }
        }
        Operation::SetModified { path, modified } => root
            .set_modified(view.name(&path), modified)
            .map(|()| Completion::Done),
        Operation::Hash { path, algorithm } => return hash::hash(view, &path, algorithm),
        // Authenticate, Listen and Transfer are the control loop's.
        _ => return Completion::Failed(Failure::Io),
    };
    result.unwrap_or_else(|err| Completion::Failed(failure(err)))
}

/// Opens what a transfer moves, before its 150: the file to send (at the
/// REST offset), the upload's temporary file, or the listing's lines
/// (framed already when the transfer's MODE is not S).
/// Returns the job and the session's [`Completion::Started`] (with the
/// size for the 150 text, and STOU's chosen name).
pub fn open_job(view: &View, transfer: &Transfer) -> Result<(Job, Completion), Failure> {
    let root = &view.root;
    match &transfer.kind {
        TransferKind::Retrieve { path, offset, len } => {
            let (body, whole) = root
                .open_read_at(view.name(path), *offset)
                .map_err(failure)?;
            let mut size = whole.saturating_sub(*offset);
            if let Some(len) = len {
                size = size.min(*len);
            }
            let download = Download {
                body,
                offset: *offset,
                len: *len,
            };
            Ok((
                Job::Send(download),
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
            pattern,
        } => {
            let (entries, in_directory) = entries(view, path, pattern.as_ref())?;
            let now = unix_now();
            let mut out = Vec::with_capacity(entries.len() * 64);
            for entry in &entries {
                match format {
                    ListFormat::Long => entry.write_long(&mut out, now),
                    ListFormat::Names => {
                        listing::write_nlst_entry(&mut out, named, &entry.name, in_directory)
                    }
                    ListFormat::Machine(facts) => {
                        listing::write_facts_line(&mut out, &entry.name, &entry.described(), facts)
                    }
                    _ => return Err(Failure::Io),
                }
            }
            if !transfer.format.is_plain() {
                let mut encoder = Encoder::new(transfer.format, 0);
                let mut framed = Vec::with_capacity(out.len() + 16);
                encoder.encode(&out, &mut framed);
                encoder.finish(&mut framed);
                out = framed;
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

/// One entry of a listing.
struct Listed {
    name: String,
    /// The entry itself (for a symlink, the link).
    own: Metadata,
    /// A symlink whose target lies inside the view: the target as `ls -l`
    /// shows it (relative to the link's directory), and what the target
    /// is, unless it is a directory the link lives in (a client walking
    /// the tree would go round that loop without end).
    link: Option<(String, Option<Metadata>)>,
}

impl Listed {
    fn new(view: &View, dir: &str, entry: DirEntry) -> Listed {
        let own = metadata(&entry.info);
        let link = (entry.info.kind == ferry_storage::FileKind::Symlink)
            .then(|| link_target(view, dir, &entry.name))
            .flatten();
        Listed {
            name: entry.name,
            own,
            link,
        }
    }

    /// The LIST line: a link inside the view as `name -> target`.
    fn write_long(&self, out: &mut Vec<u8>, now: i64) {
        match &self.link {
            Some((target, _)) => listing::write_link_line(out, &self.name, target, &self.own, now),
            None => listing::write_list_line(out, &self.name, &self.own, now),
        }
    }

    /// What MLSD says the entry is: a link inside the view as its target
    /// (RFC 3659 §7.5.1 has no type for links; a client that sees one
    /// skips the file that RETR and SIZE give it).
    fn described(&self) -> Metadata {
        match &self.link {
            Some((_, Some(target))) => *target,
            _ => self.own,
        }
    }
}

/// Where the link `dir/name` leads, if inside the view.
fn link_target(view: &View, dir: &str, name: &str) -> Option<(String, Option<Metadata>)> {
    let dir: Vec<&str> = dir.split('/').filter(|c| !c.is_empty()).collect();
    let mut full = dir.join("/");
    if !full.is_empty() {
        full.push('/');
    }
    full.push_str(name);
    let (target, info) = view.root.resolve_link(&full).ok()?;
    let target: Vec<&str> = target.split('/').filter(|c| !c.is_empty()).collect();
    // The target relative to the link's directory, as a relative link
    // would be written.
    let common = dir.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut shown: Vec<&str> = vec![".."; dir.len() - common];
    shown.extend_from_slice(&target[common..]);
    let shown = if shown.is_empty() {
        String::from(".")
    } else {
        shown.join("/")
    };
    let encloses_link = target.len() <= dir.len() && dir[..target.len()] == target[..];
    let described = (!encloses_link).then(|| metadata(&info));
    Some((shown, described))
}

/// A directory's entries, or a file's one entry; and which it was. With
/// a pattern, `path` must be a directory and only the entries that match
/// are listed, no more than its limit.
fn entries(
    view: &View,
    path: &RootPath,
    pattern: Option<&Pattern>,
) -> Result<(Vec<Listed>, bool), Failure> {
    let root = &view.root;
    let name = view.name(path);
    let info = root.stat(name).map_err(failure)?;
    if info.kind == ferry_storage::FileKind::Directory {
        let mut entries = root.read_dir(name).map_err(failure)?;
        if let Some(pattern) = pattern {
            entries.retain(|entry| pattern.matches(&entry.name));
            if entries.len() > pattern.limit {
                // Before any link among them is looked up.
                return Err(Failure::TooManyMatches);
            }
        }
        let listed = entries
            .into_iter()
            .map(|entry| Listed::new(view, name, entry))
            .collect();
        Ok((listed, true))
    } else if pattern.is_some() {
        Err(Failure::NotADirectory)
    } else {
        let name = path.file_name().to_owned();
        let own = metadata(&info);
        Ok((
            vec![Listed {
                name,
                own,
                link: None,
            }],
            false,
        ))
    }
}

/// Checks a password. On success, also the view of the user's home that
/// the session's paths are to be opened in.
///
/// A check takes tens of milliseconds and tens of MiB for a moment
/// (argon2): the driver decides where it runs and how many run at once.
pub fn authenticate(
    root: &Store,
    config: &ServerConfig,
    user: &str,
    password: &str,
) -> (Completion, Option<View>) {
    let Some(users) = config.users.as_ref().map(crate::Reloadable::current) else {
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
    // The storage's own classification, counted once per error.
    let class = match err {
        StorageError::NotFound => Some(ErrorClass::NotFound),
        StorageError::PermissionDenied => Some(ErrorClass::Permission),
        StorageError::AlreadyExists
        | StorageError::InvalidPath
        | StorageError::IsADirectory
        | StorageError::NotADirectory
        | StorageError::DirectoryNotEmpty
        | StorageError::InvalidOffset => None,
        _ => Some(ErrorClass::Io),
    };
    if let Some(class) = class {
        Metrics::global().error(Protocol::Ftp, class);
    }
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
        StorageError::Unsupported => Failure::Unsupported,
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

#[cfg(test)]
mod tests {
    use super::*;
    use ftp_proto::listing::Facts;
    use std::os::unix::fs::symlink;

    const TYPE_ONLY: Facts = Facts {
        kind: true,
        ..Facts::NONE
    };

    fn listing(view: &View, path: &str, format: ListFormat, pattern: Option<&str>) -> String {
        let kind = TransferKind::List {
            path: RootPath::ROOT.resolve(&format!("/{path}")).unwrap(),
            format,
            named: String::new(),
            pattern: pattern.map(|text| Pattern {
                text: text.into(),
                limit: 3,
            }),
        };
        let transfer = Transfer {
            kind,
            data: ftp_proto::server::DataChannel::Passive,
            format: ftp_proto::format::Format::IMAGE,
            protected: false,
        };
        match open_job(view, &transfer) {
            Ok((Job::Listing(lines), _)) => String::from_utf8(lines).unwrap(),
            Ok(_) => panic!("not a listing"),
            Err(failure) => format!("{failure:?}"),
        }
    }

    /// d/f (5 bytes); d/sub/back -> ../f, d/sub/up -> .., d/sub/self -> .,
    /// top -> d, out -> /etc, gone -> nowhere.
    fn tree() -> (tempfile::TempDir, View) {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("d/sub")).unwrap();
        std::fs::write(base.join("d/f"), b"12345").unwrap();
        symlink("../f", base.join("d/sub/back")).unwrap();
        symlink("..", base.join("d/sub/up")).unwrap();
        symlink(".", base.join("d/sub/self")).unwrap();
        symlink("d", base.join("top")).unwrap();
        symlink("/etc", base.join("out")).unwrap();
        symlink("nowhere", base.join("gone")).unwrap();
        let view = View::whole(&Store::Local(ferry_storage::Root::new(base).unwrap()));
        (dir, view)
    }

    #[test]
    fn links_inside_are_their_targets_loops_and_links_out_stay_links() {
        let (_dir, view) = tree();
        let mlsd = listing(&view, "d/sub", ListFormat::Machine(TYPE_ONLY), None);
        assert_eq!(
            mlsd,
            "type=file; back\r\ntype=OS.unix=slink; self\r\ntype=OS.unix=slink; up\r\n"
        );
        let mlsd = listing(&view, "", ListFormat::Machine(TYPE_ONLY), None);
        assert_eq!(
            mlsd,
            "type=dir; d\r\ntype=OS.unix=slink; gone\r\ntype=OS.unix=slink; out\r\ntype=dir; top\r\n"
        );
        let list = listing(&view, "d/sub", ListFormat::Long, None);
        let ends: Vec<&str> = list
            .lines()
            .map(|l| &l[l.find(':').unwrap() + 4..])
            .collect();
        assert_eq!(ends, ["back -> ../f", "self -> .", "up -> .."]);
        let list = listing(&view, "", ListFormat::Long, None);
        assert!(
            list.contains(" top -> d\r\n") && list.contains(" out\r\n"),
            "{list}"
        );
        assert!(!list.contains("etc") && !list.contains("nowhere"), "{list}");
    }

    #[test]
    fn patterns_filter_a_directory_up_to_their_limit() {
        let (_dir, view) = tree();
        assert_eq!(
            listing(&view, "d/sub", ListFormat::Names, Some("[bs]*")),
            "back\r\nself\r\n"
        );
        assert_eq!(listing(&view, "d/sub", ListFormat::Names, Some("x*")), "");
        assert_eq!(
            listing(&view, "", ListFormat::Names, Some("*")),
            "TooManyMatches"
        );
        assert_eq!(
            listing(&view, "d/f", ListFormat::Names, Some("*")),
            "NotADirectory"
        );
    }
}
