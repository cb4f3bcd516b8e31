//! The work a session asks its driver to do, and what the driver reports
//! back: [`Operation`] out (inside an [`Event::Request`]), [`Completion`]
//! in (through [`Session::complete`]).
//!
//! [`Event::Request`]: super::Event::Request
//! [`Session::complete`]: super::Session::complete

use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

use super::config::Access;
use crate::format::Format;
use crate::listing::{ListFormat, Metadata};
use crate::path::RootPath;

/// Names one request; the driver passes it back with the completion.
/// Fresh for every request of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

impl RequestId {
    /// The number, for logs.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// Something only the driver can do. Every path is relative to the
/// served root and already has the user's home directory in front.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Check a user's password. Complete with [`Completion::LoggedIn`] or
    /// [`Completion::LoginRefused`] (the session applies the delay).
    Authenticate {
        /// The name from USER.
        user: String,
        /// The password from PASS.
        password: String,
    },
    /// Describe one file. Complete with [`Completion::Metadata`] or
    /// [`Completion::Failed`].
    Stat {
        /// The file.
        path: RootPath,
    },
    /// Create a directory. Complete with [`Completion::Done`] or `Failed`.
    MakeDir {
        /// The new directory.
        path: RootPath,
    },
    /// Remove an empty directory. [`Completion::Done`] or `Failed`.
    RemoveDir {
        /// The directory.
        path: RootPath,
    },
    /// Delete a file. [`Completion::Done`] or `Failed`.
    Delete {
        /// The file.
        path: RootPath,
    },
    /// Rename `from` to `to`. [`Completion::Done`] or `Failed`.
    Rename {
        /// The existing name (from RNFR).
        from: RootPath,
        /// The new name (from RNTO).
        to: RootPath,
    },
    /// Bind a passive data listener on `ip` (the control connection's local
    /// address), on a port of the driver's choosing, replacing any listener
    /// held. Complete with [`Completion::Listening`] or `Failed`.
    Listen {
        /// The address to bind.
        ip: IpAddr,
    },
    /// STAT with a path (RFC 959 §4.1.3: "analogous to LIST" but on the
    /// control connection): the LIST lines for `path` — a directory's
    /// entries, or the one entry of a file — written with
    /// [`listing::write_list_line`](crate::listing::write_list_line).
    /// Complete with [`Completion::Listing`] or `Failed`.
    List {
        /// The file or directory to list.
        path: RootPath,
    },
    /// Set a file's (or directory's) modification time: MFMT, `MDTM time
    /// path`, SITE UTIME. A symlink inside the view is followed. Complete
    /// with [`Completion::Done`] or `Failed`.
    SetModified {
        /// The file.
        path: RootPath,
        /// The new time, Unix seconds, UTC.
        modified: i64,
    },
    /// HASH: the digest of a whole regular file. Reading it all may take
    /// long: a driver with many sessions on one thread runs this off it.
    /// Complete with [`Completion::Hashed`] or `Failed`.
    Hash {
        /// The file.
        path: RootPath,
        /// Which digest.
        algorithm: HashAlgorithm,
    },
    /// Run one transfer; see [`Transfer`].
    Transfer(Transfer),
}

/// The digests HASH offers (draft-bryan-ftpext-hash §3.1), named as the
/// draft's registry writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// `SHA-256`, the default.
    #[default]
    Sha256,
    /// `SHA-1`
    Sha1,
    /// `MD5`
    Md5,
}

impl HashAlgorithm {
    /// Every algorithm, in the order FEAT lists them.
    pub const ALL: [HashAlgorithm; 3] = [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha1,
        HashAlgorithm::Md5,
    ];

    /// The name on the wire: `SHA-256`, `SHA-1`, `MD5`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Md5 => "MD5",
        }
    }

    /// The algorithm a client names, in any case.
    pub fn from_name(name: &str) -> Option<HashAlgorithm> {
        HashAlgorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// Bytes in a digest.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Md5 => 16,
        }
    }
}

/// A wildcard pattern from the last component of a LIST or NLST argument
/// (see [`glob`](crate::glob)): list only the directory's entries whose
/// names match, and no more than `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The last component as the client wrote it.
    pub text: String,
    /// More matches than this fail the listing with
    /// [`Failure::TooManyMatches`] before its 150.
    pub limit: usize,
}

impl Pattern {
    /// Whether an entry named `name` is listed.
    /// A name equal to the pattern is listed too, so that a file called
    /// `a[1]` can still be named by itself.
    pub fn matches(&self, name: &str) -> bool {
        name == self.text || crate::glob::matches(&self.text, name)
    }
}

/// One transfer on a data connection.
///
/// The driver first opens the file or reads the directory: on failure it
/// completes with [`Completion::Failed`] (no 150 has been sent). On
/// success it completes with [`Completion::Started`] (the session queues
/// the 150), writes the control bytes, then gets the data connection
/// ([`DataChannel`]); if it cannot: `Failed(NoDataConnection)` (425).
/// Then it moves the bytes, closes the data connection and completes with
/// [`Completion::Finished`] (226) or `Failed(DataConnectionLost)` (426),
/// `Failed(StorageFull)` (552), `Failed(Io)` (451). While it runs the
/// session may ask to stop it ([`Event::Abort`]).
///
/// [`Event::Abort`]: super::Event::Abort
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// What moves.
    pub kind: TransferKind,
    /// How the data connection is had.
    pub data: DataChannel,
    /// TYPE, STRU and MODE: unless [`Format::is_plain`], file bytes go
    /// through a [`format::Encoder`](crate::format::Encoder) on the way out
    /// and a [`format::Decoder`](crate::format::Decoder) on the way in.
    /// Listings, whose lines are written with CR LF already (RFC 959
    /// §4.1.3: listings are ASCII), are TYPE I in the session's MODE.
    pub format: Format,
    /// `PROT P` (RFC 4217 §9): the data connection is TLS, with the
    /// server as the TLS server whichever side connected (§7). The
    /// handshake follows the 150; if it fails, complete with
    /// `Failed(DataTlsFailed)` (or `Failed(DataTlsNotResumed)` when the
    /// client did not resume the control connection's session and the
    /// server requires it), having moved no file byte.
    pub protected: bool,
}

/// The data connection of a transfer (RFC 959 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataChannel {
    /// Accept one connection on the listener bound for PASV/EPSV, passing
    /// each candidate through [`Session::accept_data_peer`]; the listener
    /// is used up by this transfer (a new PASV/EPSV binds the next one).
    ///
    /// [`Session::accept_data_peer`]: super::Session::accept_data_peer
    Passive,
    /// Connect to this address (PORT/EPRT; already checked to be the
    /// control peer's address and an unprivileged port).
    Active(SocketAddr),
}

/// What a transfer moves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferKind {
    /// RETR: send the file from byte `offset` (REST or RANG).
    Retrieve {
        /// The file.
        path: RootPath,
        /// Where to start (0 without REST).
        offset: u64,
        /// RANG: send at most this many bytes (fewer where the file ends
        /// first); `None`: to the end of the file.
        len: Option<u64>,
    },
    /// STOR, APPE, STOU: receive into a file.
    Store {
        /// The file, or for [`StoreMode::Unique`] the name to start from.
        path: RootPath,
        /// How to open it.
        mode: StoreMode,
    },
    /// LIST, NLST, MLSD: send a listing of a directory, or of one file.
    List {
        /// The directory (or file).
        path: RootPath,
        /// How to format each entry.
        format: ListFormat,
        /// The path as the client wrote it, options removed; empty when
        /// it named none. NLST lines show names built from it with
        /// [`listing::write_nlst_entry`](crate::listing::write_nlst_entry).
        /// With a pattern, the directory part only (`dir/` of `dir/*.bin`).
        named: String,
        /// LIST and NLST whose last component has wildcards: `path` is
        /// then the directory, and only its entries that match are listed
        /// (never the directory itself, nor what matched directories hold).
        pattern: Option<Pattern>,
    },
}

/// How a stored file is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreMode {
    /// STOR: create or truncate.
    Replace,
    /// APPE: create or append.
    Append,
    /// REST n then STOR: keep the file, write from byte n (RFC 3659 §5).
    Resume(u64),
    /// STOU: create a file that does not exist yet, named after `path`
    /// (its name, or a variant in the same directory); report the name
    /// chosen in [`Completion::Started`].
    Unique,
}

/// What the driver did about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completion {
    /// Authenticate: the password is right.
    LoggedIn {
        /// The user's home: every path of this session is beneath it.
        home: RootPath,
        /// What the user may do.
        access: Access,
    },
    /// Authenticate: wrong user or password.
    LoginRefused,
    /// Stat: the file.
    Metadata(Metadata),
    /// MakeDir, RemoveDir, Delete, Rename: done.
    Done,
    /// Listen: the address bound.
    Listening(SocketAddr),
    /// List: the lines, CR LF terminated, as a LIST transfer would carry
    /// them.
    Listing(Vec<u8>),
    /// Transfer: the file is open / the listing is ready; the session
    /// queues the 150 reply.
    Started {
        /// Bytes to send, if known (shown in the 150 text).
        size: Option<u64>,
        /// STOU: the name chosen, relative to the directory of the request.
        name: Option<String>,
    },
    /// Transfer: the data moved and the data connection is closed.
    Finished {
        /// Bytes moved on the data connection.
        bytes: u64,
    },
    /// Hash: the digest of the file's `len` bytes.
    Hashed {
        /// Bytes hashed: the whole file.
        len: u64,
        /// The digest, [`HashAlgorithm::digest_len`] bytes.
        digest: Vec<u8>,
    },
    /// Any request: it could not be done.
    Failed(Failure),
}

/// Why a request failed; the session maps each to its reply code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// No such file or directory (550).
    NotFound,
    /// The storage refuses (550).
    PermissionDenied,
    /// A directory was needed (550).
    NotADirectory,
    /// A file was needed (550).
    IsADirectory,
    /// The name is taken (550).
    AlreadyExists,
    /// RMD of a directory with entries (550).
    DirectoryNotEmpty,
    /// No space left (552).
    StorageFull,
    /// The storage cannot hold such a name (553).
    InvalidName,
    /// The data connection could not be opened (425).
    NoDataConnection,
    /// The data connection broke (426).
    DataConnectionLost,
    /// The transfer was stopped after [`Event::Abort`](super::Event::Abort) (426).
    Aborted,
    /// REST+STOR: the restart offset lies beyond the end of the file, so
    /// resuming there would leave a hole (554, RFC 3659 §5.5).
    InvalidOffset,
    /// Anything else went wrong locally (451).
    Io,
    /// The server's storage cannot do this at all (553): object storage
    /// has no append, no resumed upload, no unique name, no date setting.
    Unsupported,
    /// The data connection's TLS handshake failed (522, RFC 4217 §9).
    DataTlsFailed,
    /// The data connection's TLS session did not resume the control
    /// connection's, and the server requires it (522).
    DataTlsNotResumed,
    /// An upload's wire bytes broke the rules of its MODE or STRU, or
    /// ended before the end-of-file marker those carry (451).
    MalformedData,
    /// A LIST or NLST pattern matched more than its
    /// [`limit`](Pattern::limit) (550).
    TooManyMatches,
}
