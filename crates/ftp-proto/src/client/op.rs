//! What a client can ask for, and what it gets back.

use alloc::string::String;

use super::features::Features;
use crate::format::{Mode, Representation, Structure};
use crate::reply::Reply;

/// One operation: a command, or the short dialogue that does one thing
/// (login, rename, a transfer). Start it with
/// [`Client::start`](super::Client::start); it ends with one
/// [`Event::Done`](super::Event::Done).
///
/// String arguments must not contain CR or LF (they would end the
/// command line early): such an operation fails with
/// [`ClientError::InvalidArgument`](super::ClientError::InvalidArgument)
/// and nothing is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// USER, then PASS on 331 and ACCT on 332 (RFC 959 §4.1.1, §5.4).
    /// -> [`Outcome::Ok`]. A 332 without an `account` fails with that
    /// reply.
    Login {
        /// User name.
        user: String,
        /// Password (may be empty).
        password: String,
        /// Account, sent only if the server asks for one.
        account: Option<String>,
    },
    /// FEAT (RFC 2389 §3) -> [`Outcome::Features`]; a 5yz (FEAT not
    /// known) gives an empty set.
    Features,
    /// TYPE I, A or E (RFC 959 §3.1.1) -> [`Outcome::Ok`].
    SetType(TransferType),
    /// STRU F or R (RFC 959 §3.1.2) -> [`Outcome::Ok`]. Later transfers
    /// carry it in [`Event::TransferStarted`](super::Event::TransferStarted)'s
    /// `format`.
    SetStructure(Structure),
    /// MODE S, B or C (RFC 959 §3.4) -> [`Outcome::Ok`]; likewise.
    SetMode(Mode),
    /// CWD path -> [`Outcome::Ok`].
    Cwd(String),
    /// CDUP -> [`Outcome::Ok`].
    Cdup,
    /// PWD -> [`Outcome::Path`] (RFC 959 Appendix II quoting undone).
    Pwd,
    /// SIZE path (RFC 3659 §4) -> [`Outcome::Size`].
    Size(String),
    /// MDTM path (RFC 3659 §3) -> [`Outcome::Modified`].
    Mdtm(String),
    /// `MFMT YYYYMMDDHHMMSS path` (draft-somers-ftp-mfxx §3): set the
    /// file's modification time, Unix seconds UTC -> [`Outcome::Ok`].
    /// Only servers whose FEAT lists it know it
    /// ([`Features::mfmt`](super::Features::mfmt)).
    SetModified {
        /// The file.
        path: String,
        /// The new modification time, Unix seconds UTC.
        modified: i64,
    },
    /// MKD path -> [`Outcome::Path`]: the path from the 257 reply, or
    /// the one asked for when the reply quotes none.
    MakeDir(String),
    /// RMD path -> [`Outcome::Ok`].
    RemoveDir(String),
    /// DELE path -> [`Outcome::Ok`].
    Delete(String),
    /// RNFR, 350, RNTO (RFC 959 §4.1.3) -> [`Outcome::Ok`].
    Rename {
        /// The existing name.
        from: String,
        /// The new name.
        to: String,
    },
    /// NOOP -> [`Outcome::Ok`].
    Noop,
    /// QUIT -> [`Outcome::Ok`]; the session is closed afterwards.
    Quit,
    /// Any command line, sent as given (without CR LF) ->
    /// [`Outcome::Reply`] for a 1yz/2yz/3yz final reply, an error for
    /// 4yz/5yz. A command that opens a data connection is not a `Raw`.
    /// An accepted `TYPE` or `REIN` updates
    /// [`Client::transfer_type`](super::Client::transfer_type).
    Raw(String),
    /// A file or listing transfer over a data connection.
    Transfer(Transfer),
    /// `AUTH TLS` (RFC 4217 §4) -> [`Outcome::Ok`] once the control
    /// connection is TLS. On the server's 234 the machine gives
    /// [`Event::StartTls`](super::Event::StartTls) and takes no more
    /// control input until the driver reports the handshake's end with
    /// [`Client::control_secured`](super::Client::control_secured) or
    /// [`Client::control_tls_failed`](super::Client::control_tls_failed).
    /// A refusal (4yz/5yz) ends the operation with that reply and the
    /// session goes on in clear: a caller that requires TLS stops there.
    AuthTls,
    /// Data-connection protection (RFC 4217 §§ 8, 9): `PBSZ 0` (first
    /// time only), then `PROT P` when `private`, else `PROT C` ->
    /// [`Outcome::Ok`]. Every transfer after an accepted `PROT P` has
    /// [`Event::TransferStarted`](super::Event::TransferStarted)'s
    /// `protected` set. Refused before [`Op::AuthTls`] succeeded (or
    /// [`Client::new_secured`](super::Client::new_secured)): protection
    /// needs a TLS control connection.
    ProtectData {
        /// `PROT P` (true) or `PROT C` (false).
        private: bool,
    },
}

/// TYPE's argument, as far as clients use it (RFC 959 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TransferType {
    /// `TYPE I`: bytes as they are.
    Binary,
    /// `TYPE A`: lines in CR LF on the wire; the driver converts with
    /// [`ascii`](crate::ascii). A session's type until it sets another
    /// (RFC 959 §3.1.1.5).
    #[default]
    Ascii,
    /// `TYPE E`: EBCDIC on the wire (code page 037, LF as NL); the
    /// driver converts with [`format`](crate::format).
    Ebcdic,
}

impl TransferType {
    /// The data format's representation.
    pub fn representation(self) -> Representation {
        match self {
            TransferType::Binary => Representation::Image,
            TransferType::Ascii => Representation::Ascii,
            TransferType::Ebcdic => Representation::Ebcdic,
        }
    }
}

/// Which transfer command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransferKind {
    /// RETR path: download a file; `offset` resumes it (REST).
    Retrieve,
    /// STOR path: upload a file; `offset` resumes it (REST).
    Store,
    /// APPE path: upload, appended to the file.
    Append,
    /// `STOU [name]`: upload under a name the server chooses.
    StoreUnique,
    /// `LIST [path]`: a listing in the server's own format.
    List,
    /// `NLST [path]`: names, one a line.
    NameList,
    /// `MLSD [path]` (RFC 3659 §7): facts, one entry a line.
    MachineList,
}

impl TransferKind {
    /// True when the data is a file's content (RETR, STOR, APPE, STOU),
    /// not a listing.
    pub fn carries_file(self) -> bool {
        matches!(
            self,
            TransferKind::Retrieve
                | TransferKind::Store
                | TransferKind::Append
                | TransferKind::StoreUnique
        )
    }

    /// True when the client sends the data (STOR, APPE, STOU).
    pub fn is_upload(self) -> bool {
        matches!(
            self,
            TransferKind::Store | TransferKind::Append | TransferKind::StoreUnique
        )
    }
}

/// Who opens the data connection (RFC 959 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataMode {
    /// The server listens, the client connects: EPSV, or PASV when the
    /// server does not know EPSV.
    #[default]
    Passive,
    /// The client listens, the server connects: EPRT or PORT.
    Active,
}

/// One transfer: the command, its path, where to resume, and who opens
/// the data connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The command.
    pub kind: TransferKind,
    /// The path: required for RETR, STOR and APPE, optional otherwise.
    pub path: Option<String>,
    /// Resume at this byte offset: REST before RETR or STOR (RFC 3659
    /// §5). Refused for other kinds.
    pub offset: Option<u64>,
    /// Who opens the data connection.
    pub data: DataMode,
}

impl Transfer {
    /// A passive transfer from the start of the file.
    pub fn new(kind: TransferKind, path: Option<&str>) -> Transfer {
        Transfer {
            kind,
            path: path.map(String::from),
            offset: None,
            data: DataMode::Passive,
        }
    }
}

/// What a successful operation gave.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Done; nothing to report.
    Ok,
    /// The server's features (FEAT).
    Features(Features),
    /// A path (PWD, MKD).
    Path(String),
    /// A size in bytes (SIZE).
    Size(u64),
    /// A modification time, Unix seconds UTC (MDTM).
    Modified(i64),
    /// The transfer completed: the data connection ended cleanly and the
    /// server confirmed. `bytes` is what the driver reported moving.
    Transferred {
        /// Bytes moved on the data connection.
        bytes: u64,
    },
    /// The final reply to a [`Op::Raw`] command.
    Reply(Reply),
}
