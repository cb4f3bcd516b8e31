//! The FTP client driver: a [`Connection`] runs
//! [`ftp_proto::client::Client`] over a `std::net` control connection and
//! opens, accepts and moves the data connections it asks for.
//!
//! The machine decides everything the protocol decides (EPSV or PASV,
//! EPRT or PORT, REST, TYPE, what a reply means); this driver moves
//! bytes, converts them with [`ftp_proto::format`] when the machine says
//! the transfer's TYPE, STRU or MODE is not the file's bytes as they are
//! (TYPE A or E, STRU R, MODE B or C), and reports what happened on the
//! sockets.
//!
//! ```no_run
//! use ferry_blocking::ftp::client::{Connection, ConnectOptions, Output, TransferType};
//!
//! let mut ftp = Connection::connect("127.0.0.1", 2121, ConnectOptions::default())?;
//! ftp.login("anonymous", "ferry@")?;
//! ftp.set_type(TransferType::Binary)?;
//! let bytes = ftp.get("pub/file.bin", Output::Path("file.bin".as_ref()), &mut |_progress| {})?;
//! println!("{bytes} bytes");
//! ftp.quit()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod data;
mod drive;
mod tls;

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ftp_proto::client::{self as proto, Client, Op, Outcome, Transfer, TransferKind};

pub use ftp_proto::client::entries::{self, Entry, EntryKind};
pub use ftp_proto::client::{ClientConfig, DataMode, Features, TransferType};
pub use ftp_proto::format::{Mode, Structure};

use crate::clock;
use crate::local::{open_upload, PartialFile};
pub use crate::local::{Input, Progress};
use data::Meter;
use drive::Job;
use ferry_tls::MaybeTls;
pub use ferry_tls::{ClientTls, ClientTlsOptions};
use tls::Control;
pub use tls::Security;

/// Local buffering of the file being received.
const FILE_BUFFER: usize = 256 * 1024;

/// How a [`Connection`] is set up.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Who opens data connections: passive (the default) or active.
    pub data: DataMode,
    /// The protocol machine's knobs (reply and data timeouts, EPSV/EPRT
    /// preference).
    pub protocol: ClientConfig,
    /// Set from another thread (a Ctrl-C handler) to stop: a running
    /// transfer is aborted (ABOR), a partial download under a temporary
    /// name removed, and the call returns [`ClientError::Cancelled`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// FTPS: none (the default), explicit or implicit.
    pub security: Security,
}

/// Where a download goes.
pub enum Output<'a> {
    /// A file: written under a temporary name beside it and renamed into
    /// place only when the transfer completed, so a failure leaves the old
    /// file (or nothing).
    Path(&'a Path),
    /// A partial file to complete: the download starts at its length
    /// (REST) and is appended to it; created when missing. What arrived
    /// before a failure stays, ready for the next attempt.
    Continue(&'a Path),
    /// Any writer (standard output...): written as the data arrives.
    Writer(&'a mut dyn Write),
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server's name did not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The name.
        host: String,
        /// Why.
        source: io::Error,
    },
    /// The control connection could not be opened.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The server's address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// Reading or writing the control connection failed.
    #[error("control connection: {0}")]
    Control(#[source] io::Error),
    /// A local file could not be opened or finished.
    #[error("{}: {source}", path.display())]
    LocalFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Reading or writing local data failed during a transfer (the
    /// transfer was aborted).
    #[error("local data: {0}")]
    Local(#[source] io::Error),
    /// The server refused: its 4yz/5yz reply (421 included).
    #[error("server error {code}: {text}")]
    Server {
        /// The reply code.
        code: u16,
        /// The reply text, lines joined by `\n`.
        text: String,
    },
    /// The session failed otherwise (timeout, unexpected or malformed
    /// reply, data connection failure...).
    #[error("{0}")]
    Session(proto::ClientError),
    /// Stopped through [`ConnectOptions::cancel`].
    #[error("cancelled")]
    Cancelled,
    /// A TLS handshake failed (on the control connection, or on a
    /// protected data connection); the text names the problem, such as a
    /// certificate that does not verify.
    #[error("TLS on the {what}: {source}")]
    Tls {
        /// "control connection" or "data connection".
        what: &'static str,
        /// What the TLS library said.
        source: io::Error,
    },
}

impl ClientError {
    /// The server's reply code, when the server refused.
    pub fn code(&self) -> Option<u16> {
        match self {
            ClientError::Server { code, .. } => Some(*code),
            ClientError::Session(err) => err.code().map(|c| c.as_u16()),
            _ => None,
        }
    }
}

impl From<proto::ClientError> for ClientError {
    fn from(err: proto::ClientError) -> Self {
        match err {
            proto::ClientError::Reply { code, text } => ClientError::Server {
                code: code.as_u16(),
                text,
            },
            proto::ClientError::Closed { reply: Some(reply) } => ClientError::Server {
                code: reply.code.as_u16(),
                text: reply.text,
            },
            other => ClientError::Session(other),
        }
    }
}

/// One control connection to an FTP server, running one operation at a
/// time.
pub struct Connection {
    control: Control,
    client: Client,
    /// FTPS: the TLS client and the name the server's certificate must
    /// carry, for the control connection and every data connection.
    tls: Option<(ClientTls, String)>,
    data: DataMode,
    cancel: Option<Arc<AtomicBool>>,
    greeting: String,
    /// Why the control connection broke, reported in place of the
    /// machine's "closed" when it did.
    control_error: Option<io::Error>,
    inbox: Box<[u8]>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.client.peer())
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens the control connection to `host:port` and waits for the
    /// server's greeting.
    pub fn connect(
        host: &str,
        port: u16,
        options: ConnectOptions,
    ) -> Result<Connection, ClientError> {
        let resolve_error = |source| ClientError::Resolve {
            host: host.to_owned(),
            source,
        };
        let addrs: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(resolve_error)?
            .collect();
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, options.protocol.reply_timeout) {
                Ok(control) => return Connection::greet(control, addr, host, options),
                Err(source) => last = Some(ClientError::Connect { addr, source }),
            }
        }
        Err(last.unwrap_or_else(|| resolve_error(io::Error::other("no address"))))
    }

    fn greet(
        control: TcpStream,
        peer: SocketAddr,
        host: &str,
        options: ConnectOptions,
    ) -> Result<Connection, ClientError> {
        // Commands are short and each waits for its reply.
        control.set_nodelay(true).map_err(ClientError::Control)?;
        control
            .set_write_timeout(Some(options.protocol.reply_timeout))
            .map_err(ClientError::Control)?;
        let tls = options
            .security
            .tls()
            .map(|tls| (tls.clone(), host.to_owned()));
        let now = clock::now();
        let (control, client) = match &options.security {
            Security::Implicit(tls) => {
                // TLS before the greeting, under the time a reply gets.
                let stream =
                    tls::handshake(control, tls, host, Some(options.protocol.reply_timeout))
                        .map_err(|source| ClientError::Tls {
                            what: "control connection",
                            source,
                        })?;
                let client = Client::new_secured(&options.protocol, peer, now);
                (Control::new(MaybeTls::Tls(Box::new(stream))), client)
            }
            _ => (
                Control::new(MaybeTls::Plain(control)),
                Client::new(&options.protocol, peer, now),
            ),
        };
        let mut connection = Connection {
            client,
            control,
            tls,
            data: options.data,
            cancel: options.cancel,
            greeting: String::new(),
            control_error: None,
            inbox: vec![0; 16 * 1024].into_boxed_slice(),
        };
        connection.run(None, &mut Job::None)?;
        if let Security::Explicit(_) = options.security {
            // Required: a refusal is the server's reply as the error.
            connection.op(Op::AuthTls)?;
        }
        Ok(connection)
    }

    /// True when the control connection is TLS.
    pub fn is_secured(&self) -> bool {
        self.client.is_control_secured()
    }

    /// PBSZ 0 and PROT P (`private`) or PROT C: whether the data
    /// connections that follow are TLS. [`Connection::login`] does this
    /// itself on a TLS control connection.
    pub fn protect_data(&mut self, private: bool) -> Result<(), ClientError> {
        self.op(Op::ProtectData { private }).map(drop)
    }

    /// The text of the server's 220 greeting.
    pub fn greeting(&self) -> &str {
        &self.greeting
    }

    /// The server's address.
    pub fn peer(&self) -> SocketAddr {
        self.client.peer()
    }

    /// USER and PASS (and nothing for ACCT). On a TLS control
    /// connection, PBSZ 0 and PROT P follow, so that data connections are
    /// TLS too (as curl does with `--ssl-reqd`).
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        self.op(Op::Login {
            user: user.to_owned(),
            password: password.to_owned(),
            account: None,
        })?;
        if self.client.is_control_secured() {
            self.protect_data(true)?;
        }
        Ok(())
    }

    /// TYPE I, A or E for the transfers that follow.
    pub fn set_type(&mut self, transfer_type: TransferType) -> Result<(), ClientError> {
        self.op(Op::SetType(transfer_type)).map(drop)
    }

    /// STRU F or R for the transfers that follow (a record is a line of
    /// the file: RFC 959 §3.1.2 as [`ftp_proto::format`] maps it).
    pub fn set_structure(&mut self, structure: Structure) -> Result<(), ClientError> {
        self.op(Op::SetStructure(structure)).map(drop)
    }

    /// MODE S, B or C for the transfers (and listings) that follow.
    pub fn set_mode(&mut self, mode: Mode) -> Result<(), ClientError> {
        self.op(Op::SetMode(mode)).map(drop)
    }

    /// SIZE: the file's size in bytes as the server counts it.
    pub fn size(&mut self, path: &str) -> Result<u64, ClientError> {
        match self.op(Op::Size(path.to_owned()))? {
            Outcome::Size(size) => Ok(size),
            other => Err(unexpected(other)),
        }
    }

    /// Downloads `remote` into `output` and returns the bytes written
    /// locally by this call. SIZE goes first, for the progress total; a
    /// server that does not answer it just leaves the total unknown.
    pub fn get(
        &mut self,
        remote: &str,
        output: Output<'_>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<u64, ClientError> {
        let total = match self.size(remote) {
            Ok(size) => Some(size),
            // A session that ended (a 421, say) ends the download too,
            // with the reason.
            Err(err) if matches!(err, ClientError::Cancelled) || self.client.is_closed() => {
                return Err(err)
            }
            Err(err) => {
                tracing::debug!(error = %err, "no size for the progress total");
                None
            }
        };
        let mut target = match output {
            Output::Path(path) => Target::Temp(
                PartialFile::create(path, FILE_BUFFER).map_err(local_file_error(path))?,
            ),
            // Nothing to continue: an ordinary download, which leaves no
            // file behind if it fails.
            Output::Continue(path) if !path.exists() => Target::Temp(
                PartialFile::create(path, FILE_BUFFER).map_err(local_file_error(path))?,
            ),
            Output::Continue(path) => Target::append(path, total)?,
            Output::Writer(writer) => Target::Writer(BufWriter::with_capacity(FILE_BUFFER, writer)),
        };
        let offset = target.offset();
        let mut meter = Meter::new(Some(progress), offset, total);
        let mut transfer = Transfer::new(TransferKind::Retrieve, Some(remote));
        transfer.offset = (offset > 0).then_some(offset);
        transfer.data = self.data;
        let result = self.run(
            Some(Op::Transfer(transfer)),
            &mut Job::Download {
                sink: target.writer(),
                offset,
                meter: &mut meter,
            },
        );
        meter.report();
        result?;
        target.finish()?;
        Ok(meter.bytes() - offset)
    }

    /// Uploads `input` as `remote` (STOR) and returns the bytes read from
    /// it.
    pub fn put(
        &mut self,
        input: Input<'_>,
        remote: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<u64, ClientError> {
        let mut file;
        let (source, len): (&mut dyn Read, Option<u64>) = match input {
            Input::Path(path) => {
                let len;
                (file, len) = open_upload(path).map_err(local_file_error(path))?;
                (&mut file, Some(len))
            }
            Input::Reader { reader, len } => (reader, len),
        };
        let mut meter = Meter::new(Some(progress), 0, len);
        let mut transfer = Transfer::new(TransferKind::Store, Some(remote));
        transfer.data = self.data;
        let result = self.run(
            Some(Op::Transfer(transfer)),
            &mut Job::Upload {
                source,
                meter: &mut meter,
            },
        );
        meter.report();
        result?;
        Ok(meter.bytes())
    }

    /// LIST `path` (the login directory when `None`): the server's own
    /// listing format, lines ending in CR LF as sent, written to `out`.
    /// Returns the bytes written.
    pub fn list(&mut self, path: Option<&str>, out: &mut dyn Write) -> Result<u64, ClientError> {
        self.listing(TransferKind::List, path, out)
    }

    /// NLST `path`: names, one a line, ending in CR LF as sent.
    pub fn name_list(
        &mut self,
        path: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<u64, ClientError> {
        self.listing(TransferKind::NameList, path, out)
    }

    fn listing(
        &mut self,
        kind: TransferKind,
        path: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<u64, ClientError> {
        let mut meter = Meter::new(None, 0, None);
        let mut transfer = Transfer::new(kind, path);
        transfer.data = self.data;
        self.run(
            Some(Op::Transfer(transfer)),
            &mut Job::Download {
                sink: out,
                offset: 0,
                meter: &mut meter,
            },
        )?;
        Ok(meter.bytes())
    }

    /// DELE: removes a file.
    pub fn delete(&mut self, path: &str) -> Result<(), ClientError> {
        self.op(Op::Delete(path.to_owned())).map(drop)
    }

    /// RMD: removes an (empty) directory.
    pub fn remove_dir(&mut self, path: &str) -> Result<(), ClientError> {
        self.op(Op::RemoveDir(path.to_owned())).map(drop)
    }

    /// MKD: makes a directory; the path the server reports.
    pub fn make_dir(&mut self, path: &str) -> Result<String, ClientError> {
        match self.op(Op::MakeDir(path.to_owned()))? {
            Outcome::Path(made) => Ok(made),
            other => Err(unexpected(other)),
        }
    }

    /// RNFR and RNTO: renames (or moves) `from` to `to`.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), ClientError> {
        self.op(Op::Rename {
            from: from.to_owned(),
            to: to.to_owned(),
        })
        .map(drop)
    }

    /// MDTM: the file's modification time, Unix seconds UTC.
    pub fn modified(&mut self, path: &str) -> Result<i64, ClientError> {
        match self.op(Op::Mdtm(path.to_owned()))? {
            Outcome::Modified(secs) => Ok(secs),
            other => Err(unexpected(other)),
        }
    }

    /// The server's features (FEAT, asked once per connection).
    pub fn features(&mut self) -> Result<proto::Features, ClientError> {
        if let Some(features) = self.client.features() {
            return Ok(features.clone());
        }
        match self.op(Op::Features)? {
            Outcome::Features(features) => Ok(features),
            other => Err(unexpected(other)),
        }
    }

    /// Sets the remote file's modification time with MFMT where FEAT
    /// lists it; `Ok(false)`, nothing sent, where it does not.
    pub fn set_modified(&mut self, path: &str, secs: i64) -> Result<bool, ClientError> {
        if !self.features()?.mfmt() {
            return Ok(false);
        }
        self.op(Op::SetModified {
            path: path.to_owned(),
            modified: secs,
        })?;
        Ok(true)
    }

    /// The entries of directory `path`: MLSD where FEAT lists MLST
    /// (exact sizes and times), else LIST read in the Unix or MS-DOS
    /// layout (times left unknown: ask [`Connection::modified`]).
    pub fn entries(&mut self, path: Option<&str>) -> Result<Vec<Entry>, ClientError> {
        let mlsd = self.features()?.mlst();
        let kind = match mlsd {
            true => TransferKind::MachineList,
            false => TransferKind::List,
        };
        let mut listing = Vec::new();
        self.listing(kind, path, &mut listing)?;
        Ok(entries::parse_listing(
            &String::from_utf8_lossy(&listing),
            mlsd,
        ))
    }

    /// QUIT, then the control connection is closed.
    pub fn quit(mut self) -> Result<(), ClientError> {
        self.op(Op::Quit).map(drop)
    }

    fn op(&mut self, op: Op) -> Result<Outcome, ClientError> {
        self.run(Some(op), &mut Job::None)
    }

    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }
}

/// An outcome the machine does not give for the operation asked.
fn unexpected(outcome: Outcome) -> ClientError {
    tracing::debug!(?outcome, "unexpected outcome");
    ClientError::Session(proto::ClientError::InvalidArgument(
        "the operation ended with an outcome of another kind",
    ))
}

/// Makes an error about `path` a [`ClientError::LocalFile`].
fn local_file_error(path: &Path) -> impl Fn(io::Error) -> ClientError + Copy + '_ {
    move |source| ClientError::LocalFile {
        path: path.to_owned(),
        source,
    }
}

/// A download's destination.
enum Target<'a> {
    Temp(PartialFile),
    Append {
        writer: BufWriter<File>,
        offset: u64,
    },
    Writer(BufWriter<&'a mut dyn Write>),
}

impl Target<'_> {
    fn append(path: &Path, total: Option<u64>) -> Result<Self, ClientError> {
        let local_error = local_file_error(path);
        let file = File::options()
            .append(true)
            .create(true)
            .open(path)
            .map_err(local_error)?;
        let offset = file.metadata().map_err(local_error)?.len();
        if let Some(total) = total.filter(|&total| offset > total) {
            // REST past the end would leave the longer file as it is and
            // call it complete.
            return Err(local_error(io::Error::other(format!(
                "already {offset} bytes, longer than the remote file ({total} bytes)"
            ))));
        }
        Ok(Target::Append {
            writer: BufWriter::with_capacity(FILE_BUFFER, file),
            offset,
        })
    }

    fn offset(&self) -> u64 {
        match self {
            Target::Append { offset, .. } => *offset,
            _ => 0,
        }
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Target::Temp(file) => file.writer(),
            Target::Append { writer, .. } => writer,
            Target::Writer(writer) => writer,
        }
    }

    fn finish(self) -> Result<(), ClientError> {
        match self {
            Target::Temp(file) => {
                let dest = file.dest().to_owned();
                file.persist().map_err(local_file_error(&dest))
            }
            Target::Append { mut writer, .. } => writer.flush().map_err(ClientError::Local),
            Target::Writer(mut writer) => writer.flush().map_err(ClientError::Local),
        }
    }
}

#[cfg(test)]
mod tests;
