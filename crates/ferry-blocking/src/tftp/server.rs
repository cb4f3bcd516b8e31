//! A TFTP server: one socket takes requests, each accepted transfer runs on
//! its own thread with its own ephemeral socket (its transfer ID, RFC 1350 §4).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub use ferry_service::tftp::{ServerConfig, DEFAULT_MAX_TRANSFERS};
pub use ferry_service::ServerError;
use ferry_storage::{ReadFile, Root, StorageError, Upload};
use tftp_proto::transfer::{
    accept_request, Accepted, Event, LocalError, Negotiated, RequestKind, ServerPolicy, Transfer,
};

use super::drive::{drive, Buffers, Local, LocalFailure, Report, Stop, RECV_BUFFER};
use super::files::{read_failure, read_full, write_failure};
use super::socket;
use crate::clock;

/// How often the request loop looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

/// How long a stopping server waits for its transfers to wind down.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// Read-ahead for files being served: fewer, larger reads than one per block.
const READ_BUFFER: usize = 256 * 1024;

/// Blocks at least this large are read without the read-ahead buffer.
const DIRECT_READ: usize = 16 * 1024;

/// Write-behind for uploads.
const WRITE_BUFFER: usize = 256 * 1024;

/// A bound TFTP server. Call [`Server::run`] or [`Server::run_until`].
pub struct Server {
    socket: UdpSocket,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
}

/// What every transfer thread needs.
struct Shared {
    root: Root,
    policy: ServerPolicy,
    max_transfers: usize,
    /// Peers with a transfer running: their count is the load, and a
    /// repeated request from one of them (a client resending its RRQ or WRQ
    /// before our first answer reached it) must not start a second transfer.
    active: Mutex<HashSet<SocketAddr>>,
    stop: AtomicBool,
}

/// Stops a running [`Server`] from another thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Ask the server to stop: no new transfers; running ones are aborted
    /// with an ERROR and partial uploads discarded.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl Server {
    /// Open the root and bind the request socket.
    pub fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        let root = Root::new(&config.root).map_err(|source| ServerError::Root {
            path: config.root.clone(),
            source,
        })?;
        let socket = UdpSocket::bind(config.bind).map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
        let local_addr = socket.local_addr().map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
        socket::tune(&socket);
        Ok(Server {
            socket,
            local_addr,
            shared: Arc::new(Shared {
                root,
                policy: config.policy,
                max_transfers: config.max_transfers.max(1),
                active: Mutex::new(HashSet::new()),
                stop: AtomicBool::new(false),
            }),
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops [`Server::run`] from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Transfers running right now.
    pub fn active_transfers(&self) -> usize {
        self.shared.active_count()
    }

    /// Serve until a [`ShutdownHandle`] says stop.
    pub fn run(&self) -> io::Result<()> {
        self.run_until(&AtomicBool::new(false))
    }

    /// Serve until `stop` (or a [`ShutdownHandle`]) is set, then abort the
    /// running transfers and wait (a bounded time) for them to end.
    pub fn run_until(&self, stop: &AtomicBool) -> io::Result<()> {
        self.socket.set_read_timeout(Some(STOP_POLL))?;
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            if stop.load(Ordering::Relaxed) || self.shared.stop.load(Ordering::Relaxed) {
                break;
            }
            let (len, peer) = match self.socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                            | io::ErrorKind::ConnectionRefused
                    ) =>
                {
                    continue
                }
                Err(err) => return Err(err),
            };
            self.handle_request(peer, &buf[..len]);
        }
        self.shared.stop.store(true, Ordering::Relaxed);
        let waited = Instant::now();
        while self.shared.active_count() > 0 && waited.elapsed() < DRAIN_LIMIT {
            thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    fn handle_request(&self, peer: SocketAddr, bytes: &[u8]) {
        let shared = &self.shared;
        let now = clock::now();
        let accepted = match accept_request(&shared.policy, peer, bytes, now) {
            Ok(accepted) => accepted,
            Err(Some(refusal)) => return self.refuse(*refusal, "-", "request"),
            Err(None) => return,
        };
        let Accepted { kind, request } = accepted;
        let op = match kind {
            RequestKind::Read => "read",
            RequestKind::Write => "write",
        };
        if shared.is_active(peer) {
            // The running transfer answers the repeated request itself
            // when its first packet's timer fires.
            tracing::debug!(%peer, "duplicate request ignored");
            return;
        }
        if shared.active_count() >= shared.max_transfers {
            let refusal = Transfer::server_refuse(peer, LocalError::Other, "server busy", now);
            return self.refuse(refusal, request.filename, op);
        }

        let (transfer, local) = match kind {
            RequestKind::Read => match shared.root.open_read(request.filename) {
                Ok(ReadFile { file, len }) => (
                    Transfer::server_read(&shared.policy, peer, &request, Some(len), now),
                    FileEnd::Read(FileSource::new(file)),
                ),
                Err(err) => {
                    let (error, message) = refusal_for(&err);
                    let refusal = Transfer::server_refuse(peer, error, message, now);
                    return self.refuse(refusal, request.filename, op);
                }
            },
            RequestKind::Write => match shared.root.create_upload(request.filename) {
                Ok(upload) => (
                    Transfer::server_write(&shared.policy, peer, &request, now),
                    FileEnd::Write(UploadSink::new(upload)),
                ),
                Err(err) => {
                    let (error, message) = refusal_for(&err);
                    let refusal = Transfer::server_refuse(peer, error, message, now);
                    return self.refuse(refusal, request.filename, op);
                }
            },
        };
        let file = request.filename.to_owned();
        if let Err(err) = self.spawn_transfer(peer, file.clone(), op, transfer, local) {
            tracing::warn!(%peer, file = %file, op, error = %err, "tftp transfer not started");
        }
    }

    /// Run a transfer that only answers with an ERROR, right here on the
    /// request socket: it needs no thread and no transfer ID of its own.
    fn refuse(&self, mut refusal: Transfer, file: &str, op: &str) {
        let peer = refusal.peer();
        let mut outcome = String::from("refused");
        while let Some(event) = refusal.poll_event() {
            if let Event::Failed(err) = event {
                outcome = err.to_string();
            }
        }
        while let Some(transmit) = refusal.poll_transmit() {
            if let Err(err) = self.socket.send_to(transmit.payload, transmit.to) {
                tracing::debug!(to = %transmit.to, error = %err, "tftp send failed");
            }
        }
        tracing::info!(%peer, file, op, outcome = %outcome, "tftp transfer");
    }

    fn spawn_transfer(
        &self,
        peer: SocketAddr,
        file: String,
        op: &'static str,
        mut transfer: Transfer,
        mut local: FileEnd,
    ) -> io::Result<()> {
        // The transfer's own socket, on the address the request came to.
        let socket = UdpSocket::bind(SocketAddr::new(self.local_addr.ip(), 0))?;
        socket::tune(&socket);
        let shared = Arc::clone(&self.shared);
        let guard = ActiveGuard::enter(Arc::clone(&shared), peer);
        let spawned = thread::Builder::new()
            .name(format!("tftp {peer}"))
            .spawn(move || {
                let _guard = guard;
                let started = Instant::now();
                let mut buffers = Buffers::new();
                let report = drive(
                    &socket,
                    &mut transfer,
                    &mut local,
                    &mut buffers,
                    Some(Stop {
                        flag: &shared.stop,
                        message: "server shutting down",
                    }),
                );
                log_transfer(peer, &file, op, report, local.bytes(), started.elapsed());
            });
        spawned.map(drop)
    }
}

impl Shared {
    fn peers(&self) -> std::sync::MutexGuard<'_, HashSet<SocketAddr>> {
        // The set stays consistent even if a holder panicked.
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn active_count(&self) -> usize {
        self.peers().len()
    }

    fn is_active(&self, peer: SocketAddr) -> bool {
        self.peers().contains(&peer)
    }
}

/// Keeps the set of running transfers right however a thread ends.
struct ActiveGuard {
    shared: Arc<Shared>,
    peer: SocketAddr,
}

impl ActiveGuard {
    fn enter(shared: Arc<Shared>, peer: SocketAddr) -> Self {
        shared.peers().insert(peer);
        ActiveGuard { shared, peer }
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.shared.peers().remove(&self.peer);
    }
}

fn log_transfer(
    peer: SocketAddr,
    file: &str,
    op: &str,
    report: io::Result<Report>,
    bytes: u64,
    elapsed: Duration,
) {
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            tracing::warn!(%peer, file, op, bytes, duration_ms, outcome = %format_args!("socket error: {err}"), "tftp transfer");
            return;
        }
    };
    let options = report
        .negotiated
        .as_ref()
        .map_or_else(|| "-".to_owned(), describe_options);
    if let (true, Ok(summary)) = (report.local.is_none(), &report.result) {
        let retransmits = summary.retransmits;
        tracing::info!(%peer, file, op, options, bytes, retransmits, duration_ms, outcome = "ok", "tftp transfer");
    } else {
        let outcome = match (&report.local, &report.result) {
            (Some(local), _) => match &local.cause {
                Some(cause) => format!("{}: {cause}", local.message),
                None => local.message.clone(),
            },
            (None, Err(err)) => err.to_string(),
            (None, Ok(_)) => "failed".to_owned(),
        };
        tracing::warn!(%peer, file, op, options, bytes, duration_ms, outcome, "tftp transfer");
    }
}

fn describe_options(n: &Negotiated) -> String {
    let mut out = format!("blksize={} windowsize={}", n.blksize, n.windowsize);
    if let Some(timeout) = n.timeout {
        out.push_str(&format!(" timeout={timeout}"));
    }
    if let Some(tsize) = n.tsize {
        out.push_str(&format!(" tsize={tsize}"));
    }
    out
}

/// The ERROR a request gets when storage says no (RFC 1350 §5 codes).
fn refusal_for(err: &StorageError) -> (LocalError, &'static str) {
    match err {
        StorageError::NotFound | StorageError::NotADirectory => {
            (LocalError::NotFound, "File not found")
        }
        StorageError::PermissionDenied | StorageError::InvalidPath => {
            (LocalError::PermissionDenied, "Access violation")
        }
        StorageError::IsADirectory => (LocalError::PermissionDenied, "Is a directory"),
        StorageError::AlreadyExists => (LocalError::AlreadyExists, "File already exists"),
        StorageError::DiskFull => (LocalError::DiskFull, "Disk full or allocation exceeded"),
        _ => (LocalError::Other, "Cannot open file"),
    }
}

/// The server's file side: a file being served or an upload.
enum FileEnd {
    Read(FileSource),
    Write(UploadSink),
}

impl FileEnd {
    fn bytes(&self) -> u64 {
        match self {
            FileEnd::Read(source) => source.bytes,
            FileEnd::Write(sink) => sink.bytes,
        }
    }
}

impl Local for FileEnd {
    fn read_block(&mut self, buf: &mut [u8]) -> Result<usize, LocalFailure> {
        match self {
            FileEnd::Read(source) => source.read_block(buf),
            FileEnd::Write(_) => Err(LocalFailure::new(LocalError::Other, "not sending")),
        }
    }

    fn write_data(&mut self, data: &[u8]) -> Result<(), LocalFailure> {
        match self {
            FileEnd::Write(sink) => sink.write_data(data),
            FileEnd::Read(_) => Err(LocalFailure::new(LocalError::Other, "not receiving")),
        }
    }

    fn finish(&mut self) -> Result<(), LocalFailure> {
        match self {
            FileEnd::Write(sink) => sink.commit(),
            FileEnd::Read(_) => Ok(()),
        }
    }

    fn discard(&mut self) {
        if let FileEnd::Write(sink) = self {
            sink.discard();
        }
    }
}

/// A served file, read ahead in large chunks.
struct FileSource {
    reader: BufReader<File>,
    bytes: u64,
}

impl FileSource {
    fn new(file: File) -> Self {
        FileSource {
            reader: BufReader::with_capacity(READ_BUFFER, file),
            bytes: 0,
        }
    }
}

impl Local for FileSource {
    fn read_block(&mut self, buf: &mut [u8]) -> Result<usize, LocalFailure> {
        // Large blocks gain nothing from read-ahead but an extra copy: read
        // them straight from the file once nothing is buffered.
        let n = if buf.len() >= DIRECT_READ && self.reader.buffer().is_empty() {
            read_full(self.reader.get_mut(), buf)
        } else {
            read_full(&mut self.reader, buf)
        }
        .map_err(read_failure)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// An upload: written to a temporary file, renamed into place on commit.
struct UploadSink {
    writer: Option<BufWriter<Upload>>,
    bytes: u64,
}

impl UploadSink {
    fn new(upload: Upload) -> Self {
        UploadSink {
            writer: Some(BufWriter::with_capacity(WRITE_BUFFER, upload)),
            bytes: 0,
        }
    }

    fn write_data(&mut self, data: &[u8]) -> Result<(), LocalFailure> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| LocalFailure::new(LocalError::Other, "upload already closed"))?;
        writer.write_all(data).map_err(write_failure)?;
        self.bytes += data.len() as u64;
        Ok(())
    }

    fn commit(&mut self) -> Result<(), LocalFailure> {
        let writer = self
            .writer
            .take()
            .ok_or_else(|| LocalFailure::new(LocalError::Other, "upload already closed"))?;
        let upload = writer
            .into_inner()
            .map_err(|err| write_failure(err.into_error()))?;
        upload.commit().map(drop).map_err(|err| {
            let (error, message) = refusal_for(&err);
            LocalFailure {
                error,
                message: message.to_owned(),
                cause: Some(io::Error::other(err)),
            }
        })
    }

    fn discard(&mut self) {
        // Dropping the upload removes its temporary file; the final name
        // keeps whatever it had before.
        if let Some(writer) = self.writer.take() {
            let (upload, _unwritten) = writer.into_parts();
            upload.discard();
        }
    }
}
