//! An in-memory file store for driving the server machine in tests: the
//! same work a real driver does against the disk (stat, mkdir, rmdir,
//! delete, rename, open for read at an offset, store in every mode, list),
//! on a `BTreeMap` keyed by [`RootPath`], with times from a settable clock.
//!
//! The store's own calls speak in [`FsError`]; [`MemFs::perform`] turns
//! a server operation into those calls and the result into a completion.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ftp_proto::format::{DecodeError, Decoder, Encoder, Format};
use ftp_proto::listing::{
    write_facts_line, write_list_line, write_nlst_entry, FileKind, ListFormat, Metadata,
};
use ftp_proto::server::{
    Access, Completion, DataChannel, Failure, Operation, StoreMode, TransferKind,
};
use ftp_proto::RootPath;

/// Why the store refused, in the terms a disk would use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsError {
    NotFound,
    NotADirectory,
    IsADirectory,
    AlreadyExists,
    DirectoryNotEmpty,
    StorageFull,
    InvalidName,
    TooManyMatches,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File { data: Vec<u8>, mtime: i64, ino: u64 },
    Dir { mtime: i64, ino: u64 },
}

/// How a store writes the file (STOR, APPE, REST + STOR, STOU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Create or truncate.
    Replace,
    /// Create or append.
    Append,
    /// Keep the first `n` bytes (zero-filled up to `n` if shorter), write
    /// after them: what `REST n` then `STOR` means to a disk.
    Resume(u64),
    /// A new name beside the requested one, never an existing file.
    Unique,
}

/// The in-memory tree. The root directory always exists.
#[derive(Debug, Clone)]
pub struct MemFs {
    nodes: BTreeMap<RootPath, Node>,
    /// Unix seconds used for new mtimes and as LIST's "now".
    pub clock: i64,
    /// Total file bytes the store holds at most (552 when exceeded).
    pub capacity: Option<usize>,
    next_ino: u64,
}

/// A 2026-01-02 03:04:05 UTC start, so LIST shows times of day.
pub const EPOCH: i64 = 1_767_323_045;

impl Default for MemFs {
    fn default() -> Self {
        MemFs::new()
    }
}

impl MemFs {
    pub fn new() -> MemFs {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            RootPath::ROOT,
            Node::Dir {
                mtime: EPOCH,
                ino: 1,
            },
        );
        MemFs {
            nodes,
            clock: EPOCH,
            capacity: None,
            next_ino: 2,
        }
    }

    /// A path from its absolute text (test shorthand).
    pub fn path(text: &str) -> RootPath {
        RootPath::ROOT.resolve(text).expect("test path")
    }

    fn ino(&mut self) -> u64 {
        self.next_ino += 1;
        self.next_ino
    }

    /// Creates `path` with `data`, making missing parent directories
    /// (test setup, not a protocol operation).
    pub fn put(&mut self, path: &str, data: &[u8]) {
        let path = MemFs::path(path);
        let mut dir = RootPath::ROOT;
        let parents: Vec<String> = path.parent().components().map(String::from).collect();
        for c in parents {
            dir = dir.resolve(&c).unwrap();
            if !self.nodes.contains_key(&dir) {
                self.make_dir(&dir).unwrap();
            }
        }
        self.write(&path, WriteMode::Replace, data).unwrap();
    }

    /// The contents of a file, if `path` is one.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        match self.nodes.get(&MemFs::path(path))? {
            Node::File { data, .. } => Some(data),
            Node::Dir { .. } => None,
        }
    }

    /// True if `path` is a directory.
    pub fn is_dir(&self, path: &str) -> bool {
        matches!(self.nodes.get(&MemFs::path(path)), Some(Node::Dir { .. }))
    }

    /// Every path in the tree but the root, in order.
    pub fn paths(&self) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|p| !p.is_root())
            .map(RootPath::to_absolute)
            .collect()
    }

    pub fn stat(&self, path: &RootPath) -> Result<Metadata, FsError> {
        let node = self.nodes.get(path).ok_or(FsError::NotFound)?;
        Ok(match node {
            Node::File { data, mtime, ino } => Metadata {
                kind: FileKind::File,
                size: data.len() as u64,
                modified: Some(*mtime),
                mode: 0o644,
                nlink: 1,
                unique: Some((1, *ino)),
            },
            Node::Dir { mtime, ino } => Metadata {
                kind: FileKind::Directory,
                size: 4096,
                modified: Some(*mtime),
                mode: 0o755,
                nlink: 2,
                unique: Some((1, *ino)),
            },
        })
    }

    /// The directory `path` must be for something to be created in it.
    fn parent_dir(&self, path: &RootPath) -> Result<(), FsError> {
        if path.is_root() {
            return Err(FsError::AlreadyExists);
        }
        match self.nodes.get(&path.parent()) {
            Some(Node::Dir { .. }) => Ok(()),
            Some(Node::File { .. }) => Err(FsError::NotADirectory),
            None => Err(FsError::NotFound),
        }
    }

    fn touch_parent(&mut self, path: &RootPath) {
        let clock = self.clock;
        if let Some(Node::Dir { mtime, .. }) = self.nodes.get_mut(&path.parent()) {
            *mtime = clock;
        }
    }

    fn children<'a>(&'a self, dir: &'a RootPath) -> impl Iterator<Item = &'a RootPath> + 'a {
        self.nodes
            .keys()
            .filter(move |p| !p.is_root() && p.parent() == *dir && *p != dir)
    }

    fn descendants(&self, dir: &RootPath) -> Vec<RootPath> {
        let prefix = format!("{}/", dir.as_str());
        self.nodes
            .keys()
            .filter(|p| dir.is_root() && !p.is_root() || p.as_str().starts_with(&prefix))
            .cloned()
            .collect()
    }

    pub fn make_dir(&mut self, path: &RootPath) -> Result<(), FsError> {
        self.parent_dir(path)?;
        if self.nodes.contains_key(path) {
            return Err(FsError::AlreadyExists);
        }
        let ino = self.ino();
        self.nodes.insert(
            path.clone(),
            Node::Dir {
                mtime: self.clock,
                ino,
            },
        );
        self.touch_parent(path);
        Ok(())
    }

    pub fn remove_dir(&mut self, path: &RootPath) -> Result<(), FsError> {
        match self.nodes.get(path) {
            None => return Err(FsError::NotFound),
            Some(Node::File { .. }) => return Err(FsError::NotADirectory),
            Some(Node::Dir { .. }) if path.is_root() => return Err(FsError::InvalidName),
            Some(Node::Dir { .. }) => {}
        }
        if self.children(path).next().is_some() {
            return Err(FsError::DirectoryNotEmpty);
        }
        self.nodes.remove(path);
        self.touch_parent(path);
        Ok(())
    }

    pub fn delete(&mut self, path: &RootPath) -> Result<(), FsError> {
        match self.nodes.get(path) {
            None => Err(FsError::NotFound),
            Some(Node::Dir { .. }) => Err(FsError::IsADirectory),
            Some(Node::File { .. }) => {
                self.nodes.remove(path);
                self.touch_parent(path);
                Ok(())
            }
        }
    }

    /// POSIX-like rename: a file may replace a file; a directory moves
    /// with everything under it, but not into itself and not onto an
    /// existing name.
    pub fn rename(&mut self, from: &RootPath, to: &RootPath) -> Result<(), FsError> {
        let node = self.nodes.get(from).ok_or(FsError::NotFound)?.clone();
        if from.is_root() || to.is_root() {
            return Err(FsError::InvalidName);
        }
        self.parent_dir(to)?;
        if from == to {
            return Ok(());
        }
        match (&node, self.nodes.get(to)) {
            (_, None) => {}
            (Node::File { .. }, Some(Node::File { .. })) => {}
            (Node::File { .. }, Some(Node::Dir { .. })) => return Err(FsError::IsADirectory),
            (Node::Dir { .. }, Some(_)) => return Err(FsError::AlreadyExists),
        }
        if let Node::Dir { .. } = node {
            if to.as_str().starts_with(&format!("{}/", from.as_str())) {
                return Err(FsError::InvalidName);
            }
            for old in self.descendants(from) {
                let rest = &old.as_str()[from.as_str().len() + 1..];
                let new = to.resolve(rest).unwrap();
                let moved = self.nodes.remove(&old).unwrap();
                self.nodes.insert(new, moved);
            }
        }
        self.nodes.remove(from);
        self.nodes.insert(to.clone(), node);
        self.touch_parent(from);
        self.touch_parent(to);
        Ok(())
    }

    /// The bytes a RETR at `offset` sends (before TYPE A encoding).
    pub fn read(&self, path: &RootPath, offset: u64) -> Result<&[u8], FsError> {
        match self.nodes.get(path) {
            None => Err(FsError::NotFound),
            Some(Node::Dir { .. }) => Err(FsError::IsADirectory),
            Some(Node::File { data, .. }) => {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                Ok(&data[start..])
            }
        }
    }

    fn used(&self) -> usize {
        self.nodes
            .values()
            .map(|n| match n {
                Node::File { data, .. } => data.len(),
                Node::Dir { .. } => 0,
            })
            .sum()
    }

    /// Where a store in `mode` will write: `path` itself, or for
    /// [`WriteMode::Unique`] the first of `name`, `name.1`, `name.2`, ...
    /// that does not exist. Checks that the file can be opened (as a
    /// driver's `open` would before the 150).
    pub fn open_write(&self, path: &RootPath, mode: WriteMode) -> Result<RootPath, FsError> {
        self.parent_dir(path)?;
        let target = match mode {
            WriteMode::Unique => {
                let mut n = 0u32;
                loop {
                    let name = if n == 0 {
                        path.file_name().to_string()
                    } else {
                        format!("{}.{n}", path.file_name())
                    };
                    let candidate = path.parent().resolve(&name).unwrap();
                    if !self.nodes.contains_key(&candidate) {
                        break candidate;
                    }
                    n += 1;
                }
            }
            _ => path.clone(),
        };
        match self.nodes.get(&target) {
            Some(Node::Dir { .. }) => Err(FsError::IsADirectory),
            _ => Ok(target),
        }
    }

    /// Writes a whole received file at `path` (already chosen by
    /// [`open_write`](Self::open_write)).
    pub fn write(&mut self, path: &RootPath, mode: WriteMode, data: &[u8]) -> Result<(), FsError> {
        let target = self.open_write(path, mode)?;
        let mut contents = match (self.nodes.get(&target), mode) {
            (Some(Node::File { data, .. }), WriteMode::Append) => data.clone(),
            (Some(Node::File { data, .. }), WriteMode::Resume(n)) => {
                let mut kept = data.clone();
                kept.resize(usize::try_from(n).unwrap(), 0);
                kept
            }
            (None, WriteMode::Resume(n)) => vec![0; usize::try_from(n).unwrap()],
            _ => Vec::new(),
        };
        contents.extend_from_slice(data);
        let old = match self.nodes.get(&target) {
            Some(Node::File { data, .. }) => data.len(),
            _ => 0,
        };
        if let Some(cap) = self.capacity {
            if self.used() - old + contents.len() > cap {
                return Err(FsError::StorageFull);
            }
        }
        let ino = match self.nodes.get(&target) {
            Some(Node::File { ino, .. }) => *ino,
            _ => self.ino(),
        };
        self.nodes.insert(
            target.clone(),
            Node::File {
                data: contents,
                mtime: self.clock,
                ino,
            },
        );
        self.touch_parent(&target);
        Ok(())
    }

    /// The bytes of a LIST/NLST/MLSD of `path` (before TYPE A encoding;
    /// listings are CR LF text already, so encoding only matters for the
    /// wire). A file lists as itself; MLSD wants a directory (RFC 3659
    /// §7.2.1).
    pub fn list(
        &self,
        path: &RootPath,
        format: ListFormat,
        named: &str,
    ) -> Result<Vec<u8>, FsError> {
        let meta = self.stat(path)?;
        let in_directory = meta.kind == FileKind::Directory;
        let entries: Vec<(String, Metadata)> = if meta.kind == FileKind::Directory {
            self.children(path)
                .map(|p| (p.file_name().to_string(), self.stat(p).unwrap()))
                .collect()
        } else if let ListFormat::Machine(_) = format {
            return Err(FsError::NotADirectory);
        } else {
            vec![(path.file_name().to_string(), meta)]
        };
        let mut out = Vec::new();
        for (name, meta) in &entries {
            match format {
                ListFormat::Long => write_list_line(&mut out, name, meta, self.clock),
                ListFormat::Names => write_nlst_entry(&mut out, named, name, in_directory),
                ListFormat::Machine(facts) => write_facts_line(&mut out, name, meta, &facts),
                _ => unreachable!("a listing format the store does not know"),
            }
        }
        Ok(out)
    }
}

/// Bytes a transfer puts on the data connection: the file (from file
/// offset `start`) or listing, encoded in `format`.
pub fn wire_bytes(local: &[u8], format: Format, start: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(format, start);
    encoder.encode(local, &mut out);
    encoder.finish(&mut out);
    out
}

/// Receiving side of a data connection: decodes its format across chunks.
#[derive(Debug)]
pub struct Sink {
    pub format: Format,
    decoder: Decoder,
    pub data: Vec<u8>,
    /// Bytes taken off the wire (what a driver reports as transferred).
    pub wire: u64,
    error: Option<DecodeError>,
}

impl Sink {
    pub fn new(format: Format) -> Sink {
        Sink {
            format,
            decoder: Decoder::new(format, 0),
            data: Vec::new(),
            wire: 0,
            error: None,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.wire += chunk.len() as u64;
        if self.error.is_none() {
            self.error = self.decoder.decode(chunk, &mut self.data).err();
        }
    }

    pub fn try_finish(mut self) -> Result<Vec<u8>, DecodeError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.decoder.finish(&mut self.data)?;
        Ok(self.data)
    }

    pub fn finish(self) -> Vec<u8> {
        self.try_finish().expect("the data follows its format")
    }
}

/// One account the store's driver knows (the machine never sees these).
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub password: String,
    pub home: RootPath,
    pub access: Access,
}

/// What the driver must do next for one request.
#[derive(Debug)]
pub enum Work {
    /// Complete the request with this now.
    Complete(Completion),
    /// Bind a passive listener on this address, then complete with
    /// `Listening(addr)`.
    Listen(IpAddr),
    /// The file is open or the listing ready: complete with `started`,
    /// then get the data connection and run `job`.
    Transfer {
        started: Completion,
        job: Job,
        data: DataChannel,
    },
}

/// The data half of a transfer.
#[derive(Debug)]
pub enum Job {
    /// Bytes to write on the data connection (already TYPE A encoded).
    Send(Vec<u8>),
    /// Bytes to read from the data connection into `target`.
    Receive {
        target: RootPath,
        mode: WriteMode,
        sink: Sink,
    },
}

impl From<FsError> for Failure {
    fn from(e: FsError) -> Failure {
        match e {
            FsError::NotFound => Failure::NotFound,
            FsError::NotADirectory => Failure::NotADirectory,
            FsError::IsADirectory => Failure::IsADirectory,
            FsError::AlreadyExists => Failure::AlreadyExists,
            FsError::DirectoryNotEmpty => Failure::DirectoryNotEmpty,
            FsError::StorageFull => Failure::StorageFull,
            FsError::InvalidName => Failure::InvalidName,
            FsError::TooManyMatches => Failure::TooManyMatches,
        }
    }
}

fn done(result: Result<(), FsError>) -> Work {
    Work::Complete(match result {
        Ok(()) => Completion::Done,
        Err(e) => Completion::Failed(e.into()),
    })
}

impl MemFs {
    /// Does what a driver does for `op` (everything but the network).
    pub fn perform(&mut self, users: &[User], op: Operation) -> Work {
        match op {
            Operation::Authenticate { user, password } => Work::Complete(
                match users
                    .iter()
                    .find(|u| u.name == user && u.password == password)
                {
                    Some(u) => Completion::LoggedIn {
                        home: u.home.clone(),
                        access: u.access,
                    },
                    None => Completion::LoginRefused,
                },
            ),
            Operation::Stat { path } => Work::Complete(match self.stat(&path) {
                Ok(m) => Completion::Metadata(m),
                Err(e) => Completion::Failed(e.into()),
            }),
            Operation::MakeDir { path } => done(self.make_dir(&path)),
            Operation::RemoveDir { path } => done(self.remove_dir(&path)),
            Operation::Delete { path } => done(self.delete(&path)),
            Operation::Rename { from, to } => done(self.rename(&from, &to)),
            Operation::Listen { ip } => Work::Listen(ip),
            Operation::List { path } => {
                Work::Complete(match self.list(&path, ListFormat::Long, "") {
                    Ok(lines) => Completion::Listing(lines),
                    Err(e) => Completion::Failed(e.into()),
                })
            }
            Operation::Transfer(t) => match self.open(t.kind, t.format) {
                Ok((started, job)) => Work::Transfer {
                    started,
                    job,
                    data: t.data,
                },
                Err(e) => Work::Complete(Completion::Failed(e.into())),
            },
            other => panic!("an operation the store does not know: {other:?}"),
        }
    }

    /// Opens the file or reads the directory of a transfer: what must
    /// succeed before the 150.
    fn open(&mut self, kind: TransferKind, format: Format) -> Result<(Completion, Job), FsError> {
        Ok(match kind {
            TransferKind::Retrieve { path, offset, len } => {
                let data = self.read(&path, offset)?;
                let len = len.map_or(data.len(), |len| data.len().min(len as usize));
                let data = &data[..len];
                let started = Completion::Started {
                    size: Some(data.len() as u64),
                    name: None,
                };
                (started, Job::Send(wire_bytes(data, format, offset)))
            }
            TransferKind::List {
                path,
                format: list_format,
                named,
                pattern,
            } => {
                let mut listing = self.list(&path, list_format, &named)?;
                if let Some(pattern) = pattern {
                    // Only NLST and LIST carry one; keep the lines whose
                    // last word (the name) matches.
                    let mut kept = Vec::new();
                    let mut count = 0;
                    for line in listing.split_inclusive(|&b| b == b'\n') {
                        let text = String::from_utf8_lossy(line);
                        let name = text.trim_end().rsplit(['/', ' ']).next().unwrap_or("");
                        if pattern.matches(name) {
                            count += 1;
                            kept.extend_from_slice(line);
                        }
                    }
                    if count > pattern.limit {
                        return Err(FsError::TooManyMatches);
                    }
                    listing = kept;
                }
                let started = Completion::Started {
                    size: None,
                    name: None,
                };
                (started, Job::Send(wire_bytes(&listing, format, 0)))
            }
            TransferKind::Store { path, mode } => {
                let mode = match mode {
                    StoreMode::Replace => WriteMode::Replace,
                    StoreMode::Append => WriteMode::Append,
                    StoreMode::Resume(n) => WriteMode::Resume(n),
                    StoreMode::Unique => WriteMode::Unique,
                };
                let target = self.open_write(&path, mode)?;
                let started = Completion::Started {
                    size: None,
                    name: (mode == WriteMode::Unique).then(|| target.file_name().to_string()),
                };
                // The unique name is taken now; later stores write to it.
                let mode = if mode == WriteMode::Unique {
                    WriteMode::Replace
                } else {
                    mode
                };
                let job = Job::Receive {
                    target,
                    mode,
                    sink: Sink::new(format),
                };
                (started, job)
            }
            other => panic!("a transfer the store does not know: {other:?}"),
        })
    }

    /// The end of a received file: writes it and says how the transfer
    /// ended.
    pub fn finish_receive(&mut self, target: &RootPath, mode: WriteMode, sink: Sink) -> Completion {
        let wire = sink.wire;
        let Ok(data) = sink.try_finish() else {
            return Completion::Failed(Failure::MalformedData);
        };
        match self.write(target, mode, &data) {
            Ok(()) => Completion::Finished { bytes: wire },
            Err(e) => Completion::Failed(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ftp_proto::listing::Facts;

    fn p(s: &str) -> RootPath {
        MemFs::path(s)
    }

    #[test]
    fn files_and_directories() {
        let mut fs = MemFs::new();
        fs.put("/pub/a.txt", b"hello");
        assert!(fs.is_dir("/pub"));
        assert_eq!(fs.get("/pub/a.txt"), Some(&b"hello"[..]));
        assert_eq!(fs.stat(&p("/pub/a.txt")).unwrap().size, 5);
        assert_eq!(fs.make_dir(&p("/pub")), Err(FsError::AlreadyExists));
        assert_eq!(fs.make_dir(&p("/nope/x")), Err(FsError::NotFound));
        assert_eq!(fs.make_dir(&p("/pub/a.txt/x")), Err(FsError::NotADirectory));
        assert_eq!(fs.remove_dir(&p("/pub")), Err(FsError::DirectoryNotEmpty));
        assert_eq!(fs.remove_dir(&p("/pub/a.txt")), Err(FsError::NotADirectory));
        assert_eq!(fs.delete(&p("/pub")), Err(FsError::IsADirectory));
        fs.delete(&p("/pub/a.txt")).unwrap();
        assert_eq!(fs.delete(&p("/pub/a.txt")), Err(FsError::NotFound));
        fs.remove_dir(&p("/pub")).unwrap();
        assert!(fs.paths().is_empty());
        assert_eq!(fs.remove_dir(&RootPath::ROOT), Err(FsError::InvalidName));
    }

    #[test]
    fn write_modes() {
        let mut fs = MemFs::new();
        fs.write(&p("/f"), WriteMode::Replace, b"abc").unwrap();
        fs.write(&p("/f"), WriteMode::Append, b"def").unwrap();
        assert_eq!(fs.get("/f"), Some(&b"abcdef"[..]));
        fs.write(&p("/f"), WriteMode::Resume(2), b"XY").unwrap();
        assert_eq!(fs.get("/f"), Some(&b"abXY"[..]));
        fs.write(&p("/f"), WriteMode::Resume(6), b"Z").unwrap();
        assert_eq!(fs.get("/f"), Some(&b"abXY\0\0Z"[..]));
        fs.write(&p("/f"), WriteMode::Replace, b"new").unwrap();
        assert_eq!(fs.get("/f"), Some(&b"new"[..]));
        assert_eq!(fs.open_write(&p("/f"), WriteMode::Unique), Ok(p("/f.1")));
        fs.write(&p("/f"), WriteMode::Unique, b"u1").unwrap();
        fs.write(&p("/f"), WriteMode::Unique, b"u2").unwrap();
        assert_eq!(fs.get("/f.1"), Some(&b"u1"[..]));
        assert_eq!(fs.get("/f.2"), Some(&b"u2"[..]));
        assert_eq!(fs.get("/f"), Some(&b"new"[..]));
        fs.make_dir(&p("/d")).unwrap();
        assert_eq!(
            fs.write(&p("/d"), WriteMode::Replace, b""),
            Err(FsError::IsADirectory)
        );
        assert_eq!(
            fs.write(&p("/x/y"), WriteMode::Replace, b""),
            Err(FsError::NotFound)
        );
        fs.capacity = Some(10);
        assert_eq!(
            fs.write(&p("/big"), WriteMode::Replace, b"0123"),
            Err(FsError::StorageFull)
        );
        assert_eq!(fs.read(&p("/f"), 1), Ok(&b"ew"[..]));
        assert_eq!(fs.read(&p("/f"), 99), Ok(&b""[..]));
        assert_eq!(fs.read(&p("/d"), 0), Err(FsError::IsADirectory));
    }

    #[test]
    fn rename_moves_trees() {
        let mut fs = MemFs::new();
        fs.put("/a/b/c.txt", b"c");
        fs.put("/z.txt", b"z");
        assert_eq!(fs.rename(&p("/a"), &p("/a/b/x")), Err(FsError::InvalidName));
        assert_eq!(
            fs.rename(&p("/a"), &p("/z.txt")),
            Err(FsError::AlreadyExists)
        );
        assert_eq!(
            fs.rename(&p("/z.txt"), &p("/a")),
            Err(FsError::IsADirectory)
        );
        assert_eq!(fs.rename(&p("/q"), &p("/r")), Err(FsError::NotFound));
        fs.rename(&p("/a"), &p("/m")).unwrap();
        assert_eq!(fs.paths(), ["/m", "/m/b", "/m/b/c.txt", "/z.txt"]);
        fs.rename(&p("/z.txt"), &p("/m/b/c.txt")).unwrap();
        assert_eq!(fs.get("/m/b/c.txt"), Some(&b"z"[..]));
        assert_eq!(fs.paths(), ["/m", "/m/b", "/m/b/c.txt"]);
    }

    #[test]
    fn listings() {
        let mut fs = MemFs::new();
        fs.put("/d/one", b"1");
        fs.put("/d/two", b"22");
        fs.make_dir(&p("/d/sub")).unwrap();
        let names = fs.list(&p("/d"), ListFormat::Names, "").unwrap();
        assert_eq!(names, b"one\r\nsub\r\ntwo\r\n");
        let long = String::from_utf8(fs.list(&p("/d"), ListFormat::Long, "d").unwrap()).unwrap();
        assert_eq!(long.lines().count(), 3);
        assert!(
            long.contains("-rw-r--r--    1 ftp      ftp                 2 Jan 02 03:04 two\r\n")
        );
        let one = fs.list(&p("/d/one"), ListFormat::Names, "one").unwrap();
        assert_eq!(one, b"one\r\n");
        // NLST names keep the directory the client named.
        let named = fs.list(&p("/d"), ListFormat::Names, "d/").unwrap();
        assert_eq!(named, b"d/one\r\nd/sub\r\nd/two\r\n");
        let one = fs.list(&p("/d/one"), ListFormat::Names, "/d/one").unwrap();
        assert_eq!(one, b"/d/one\r\n");
        let mlsd = String::from_utf8(
            fs.list(&p("/d"), ListFormat::Machine(Facts::ALL), "")
                .unwrap(),
        )
        .unwrap();
        assert!(
            mlsd.contains("type=dir;modify=20260102030405;perm=el;unique=1-"),
            "{mlsd}"
        );
        assert_eq!(
            fs.list(&p("/d/one"), ListFormat::Machine(Facts::ALL), ""),
            Err(FsError::NotADirectory)
        );
        assert_eq!(
            fs.list(&p("/none"), ListFormat::Long, ""),
            Err(FsError::NotFound)
        );
    }

    #[test]
    fn sink_decodes_across_chunks() {
        let wire = wire_bytes(b"a\nb\r\nc\rd\n", Format::ASCII, 0);
        assert_eq!(wire, b"a\r\nb\r\nc\rd\r\n");
        let mut sink = Sink::new(Format::ASCII);
        for c in wire.chunks(1) {
            sink.push(c);
        }
        assert_eq!(sink.wire, 11);
        assert_eq!(sink.finish(), b"a\nb\nc\rd\n");
    }
}
