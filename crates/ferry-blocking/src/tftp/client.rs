//! TFTP client: [`get`] a file from a server, [`put`] one onto it.

use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tftp_proto::transfer::{
    LocalError, Negotiated, Summary, Transfer, TransferConfig, TransferError,
};
use tftp_proto::{Mode, Options};

use ferry_service::tftp::{
    read_failure, read_full, tune, write_failure, Local, LocalFailure, Report,
};

use super::drive::{drive, Buffers, OwnSocket, Stop};
use crate::clock;
use crate::local::{open_upload, PartialFile};
pub use crate::local::{Input, Progress};

/// Progress is reported at least this often (in bytes), and at the end.
const PROGRESS_STEP: u64 = 256 * 1024;

/// Local buffering of the file being sent or received.
const FILE_BUFFER: usize = 256 * 1024;

/// What the client asks for.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Block size to ask for (RFC 2348); `None` keeps 512.
    pub blksize: Option<u16>,
    /// Window size to ask for (RFC 7440); `None` keeps lock-step.
    pub windowsize: Option<u16>,
    /// Retransmission timeout in seconds to ask for (RFC 2349).
    pub timeout: Option<u8>,
    /// Transfer mode.
    pub mode: Mode,
    /// Local retransmission knobs. The default does not dally: a download
    /// ends as soon as its file is complete and its final ACK sent, as
    /// curl's and tftp-hpa's do; set `transfer.dally` to stay and answer a
    /// repeated final DATA (RFC 1350 §6).
    pub transfer: TransferConfig,
    /// Set from another thread (a Ctrl-C handler) to cancel the transfer:
    /// the server gets an ERROR, a partial download is removed, and the
    /// call returns [`ClientError::Cancelled`].
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            blksize: None,
            windowsize: None,
            timeout: None,
            mode: Mode::Octet,
            transfer: TransferConfig {
                dally: Duration::ZERO,
                ..TransferConfig::default()
            },
            cancel: None,
        }
    }
}

impl ClientOptions {
    fn stop(&self) -> Option<Stop<'_>> {
        self.cancel.as_deref().map(|flag| Stop {
            flag,
            message: "transfer cancelled",
        })
    }

    /// The RFC 2347 options of the request. tsize is always asked for in
    /// octet mode (0 on a read, the size on a write, RFC 2349) so progress
    /// has a total; in netascii the size on the wire is not the file's.
    fn request_options(&self, tsize: Option<u64>) -> Options {
        Options {
            blksize: self.blksize,
            windowsize: self.windowsize,
            timeout: self.timeout,
            tsize: if self.mode == Mode::Netascii {
                None
            } else {
                tsize
            },
            ..Options::default()
        }
    }
}

/// Where a download goes.
pub enum Output<'a> {
    /// A file: written under a temporary name beside it and renamed into
    /// place only when the transfer completed, so a failure leaves the old
    /// file (or nothing).
    Path(&'a Path),
    /// Any writer (standard output...): written as the data arrives.
    Writer(&'a mut dyn Write),
}

/// Why a client transfer failed.
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
    /// The local socket failed.
    #[error("socket error: {0}")]
    Socket(#[source] io::Error),
    /// A local file could not be opened or finished.
    #[error("{}: {source}", path.display())]
    LocalFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Reading or writing local data failed during the transfer.
    #[error("{message}{}", cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    Local {
        /// What the server was told.
        message: String,
        /// The local error.
        cause: Option<io::Error>,
    },
    /// The server answered with an ERROR packet.
    #[error("server error {code}: {message}")]
    Server {
        /// The TFTP error code (RFC 1350 §5).
        code: u16,
        /// The server's text.
        message: String,
    },
    /// The transfer was cancelled through [`ClientOptions::cancel`].
    #[error("transfer cancelled")]
    Cancelled,
    /// The transfer failed otherwise (timeout, protocol violation...).
    #[error("{0}")]
    Transfer(TransferError),
}

impl From<TransferError> for ClientError {
    fn from(err: TransferError) -> Self {
        match err {
            TransferError::Peer { code, message } => ClientError::Server {
                code: code.to_u16(),
                message,
            },
            other => ClientError::Transfer(other),
        }
    }
}

/// Download `remote` from the TFTP server at `host:port` into `output`.
pub fn get(
    host: &str,
    port: u16,
    remote: &str,
    output: Output<'_>,
    options: &ClientOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, ClientError> {
    let server = resolve(host, port)?;
    let socket = client_socket(server)?;
    let target = match output {
        Output::Path(path) => {
            Target::Temp(PartialFile::create(path, FILE_BUFFER).map_err(local_file_error(path))?)
        }
        Output::Writer(writer) => Target::Writer(BufWriter::with_capacity(FILE_BUFFER, writer)),
    };
    let mut local = Receiver {
        target: Some(target),
        reporter: Reporter::new(progress, None),
    };
    let transfer = Transfer::client_get(
        &options.transfer,
        server,
        remote,
        options.mode,
        options.request_options(Some(0)),
        clock::now(),
    );
    let result = run(&socket, transfer, &mut local, options);
    local.reporter.report();
    result
}

/// Upload `input` to the TFTP server at `host:port` as `remote`.
pub fn put(
    input: Input<'_>,
    host: &str,
    port: u16,
    remote: &str,
    options: &ClientOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Summary, ClientError> {
    let (reader, len): (Box<dyn Read + '_>, Option<u64>) = match input {
        Input::Path(path) => {
            let (file, len) = open_upload(path).map_err(local_file_error(path))?;
            (Box::new(file), Some(len))
        }
        Input::Reader { reader, len } => (Box::new(reader), len),
    };
    let server = resolve(host, port)?;
    let socket = client_socket(server)?;
    let mut local = Sender {
        reader: BufReader::with_capacity(FILE_BUFFER, reader),
        reporter: Reporter::new(progress, len),
    };
    let transfer = Transfer::client_put(
        &options.transfer,
        server,
        remote,
        options.mode,
        options.request_options(len),
        clock::now(),
    );
    let result = run(&socket, transfer, &mut local, options);
    local.reporter.report();
    result
}

/// Drive a client transfer to its end and judge how it went.
fn run<L: Local>(
    socket: &UdpSocket,
    mut transfer: Transfer,
    local: &mut L,
    options: &ClientOptions,
) -> Result<Summary, ClientError> {
    let report = drive(
        &mut OwnSocket::new(socket),
        &mut transfer,
        local,
        &mut Buffers::new(),
        options.stop(),
        None,
    )
    .map_err(ClientError::Socket)?;
    outcome(report, options)
}

fn outcome(report: Report, options: &ClientOptions) -> Result<Summary, ClientError> {
    let cancelled = options
        .cancel
        .as_ref()
        .is_some_and(|c| c.load(Ordering::Relaxed));
    if cancelled && report.result.is_err() {
        return Err(ClientError::Cancelled);
    }
    if let Some(failure) = report.local {
        return Err(ClientError::Local {
            message: failure.message,
            cause: failure.cause,
        });
    }
    report.result.map_err(ClientError::from)
}

/// Makes an error about `path` a [`ClientError::LocalFile`].
fn local_file_error(path: &Path) -> impl Fn(io::Error) -> ClientError + '_ {
    move |source| ClientError::LocalFile {
        path: path.to_owned(),
        source,
    }
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, ClientError> {
    let resolve_error = |source| ClientError::Resolve {
        host: host.to_owned(),
        source,
    };
    (host, port)
        .to_socket_addrs()
        .map_err(resolve_error)?
        .next()
        .ok_or_else(|| resolve_error(io::Error::other("no address")))
}

/// An ephemeral socket of the server's address family: our transfer ID.
fn client_socket(server: SocketAddr) -> Result<UdpSocket, ClientError> {
    let any: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(any).map_err(ClientError::Socket)?;
    tune(&socket);
    Ok(socket)
}

/// Calls the progress callback, not more often than every [`PROGRESS_STEP`].
struct Reporter<'p> {
    callback: &'p mut dyn FnMut(Progress),
    bytes: u64,
    total: Option<u64>,
    reported: u64,
}

impl<'p> Reporter<'p> {
    fn new(callback: &'p mut dyn FnMut(Progress), total: Option<u64>) -> Self {
        Reporter {
            callback,
            bytes: 0,
            total,
            reported: 0,
        }
    }

    fn advance(&mut self, n: usize) {
        self.bytes += n as u64;
        if self.bytes - self.reported >= PROGRESS_STEP {
            self.report();
        }
    }

    fn report(&mut self) {
        self.reported = self.bytes;
        (self.callback)(Progress {
            bytes: self.bytes,
            total: self.total,
        });
    }
}

/// A download's destination.
enum Target<'a> {
    Temp(PartialFile),
    Writer(BufWriter<&'a mut dyn Write>),
}

struct Receiver<'a, 'p> {
    target: Option<Target<'a>>,
    reporter: Reporter<'p>,
}

impl Local for Receiver<'_, '_> {
    fn negotiated(&mut self, negotiated: &Negotiated) {
        if negotiated.tsize.is_some() {
            self.reporter.total = negotiated.tsize;
        }
        self.reporter.report();
    }

    fn write_data(&mut self, data: &[u8]) -> Result<(), LocalFailure> {
        let written = match &mut self.target {
            Some(Target::Temp(file)) => file.writer().write_all(data),
            Some(Target::Writer(writer)) => writer.write_all(data),
            None => return Err(LocalFailure::new(LocalError::Other, "download closed")),
        };
        written.map_err(write_failure)?;
        self.reporter.advance(data.len());
        Ok(())
    }

    fn finish(&mut self) -> Result<(), LocalFailure> {
        self.reporter.report();
        match self.target.take() {
            Some(Target::Temp(file)) => file.persist().map_err(write_failure),
            Some(Target::Writer(mut writer)) => writer.flush().map_err(write_failure),
            None => Ok(()),
        }
    }

    fn discard(&mut self) {
        if let Some(Target::Writer(mut writer)) = self.target.take() {
            // What arrived is already partly out; pass on the rest so the
            // writer holds exactly the bytes received.
            let _ = writer.flush();
        }
    }
}

struct Sender<'r, 'p> {
    reader: BufReader<Box<dyn Read + 'r>>,
    reporter: Reporter<'p>,
}

impl Local for Sender<'_, '_> {
    fn negotiated(&mut self, _negotiated: &Negotiated) {
        self.reporter.report();
    }

    fn read_block(&mut self, buf: &mut [u8]) -> Result<usize, LocalFailure> {
        let n = read_full(&mut self.reader, buf).map_err(read_failure)?;
        self.reporter.advance(n);
        Ok(n)
    }

    fn finish(&mut self) -> Result<(), LocalFailure> {
        self.reporter.report();
        Ok(())
    }
}
