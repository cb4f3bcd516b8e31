//! Data connections: the thread that moves one transfer's bytes.
//!
//! A protected transfer (`PROT P`, RFC 4217 §9) first runs its TLS
//! handshake, with this server as the TLS server whichever side connected
//! (§7), and moves no file byte before it completes. Under TLS nothing is
//! sent with `sendfile(2)`: the file is read and encrypted through a
//! buffer.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_service::clock;
use ferry_service::ftp::{
    completion, connect_from, send_file, Job, Route, SendFile, SessionLog, Sink, Source,
};
use ferry_service::pace::{Pacer, RateLimit};
use ferry_service::NewStoreUpload;
use ferry_tls::{MaybeTls, ReuseKey, ServerTls, TlsStream};
use ftp_proto::format::{Format, Marker, PendingMarkers};
use ftp_proto::server::{Completion, Failure};

/// Copy buffer for uploads, TYPE A and the fallback download path (each
/// transfer has a thread, and a buffer, of its own).
const BUFFER: usize = 256 * 1024;

/// Bytes handed to one `sendfile(2)` call: large enough to keep the socket
/// full, small enough to look at the stop flag now and then.
const SENDFILE_CHUNK: usize = 8 * 1024 * 1024;

/// Longest sleep waiting for a rate limit, so an ABOR is noticed soon.
const PACE_SLEEP: Duration = Duration::from_millis(100);

/// How the data connection comes.
pub(super) enum Connect {
    /// Taken from the passive listener and approved by the session.
    Accepted(TcpStream),
    /// PORT/EPRT: to the address the session approved, from the control
    /// connection's local address (a client may check where it comes from).
    To {
        /// The control connection's local address.
        from: IpAddr,
        /// The client's data port.
        to: SocketAddr,
    },
}

/// A protected transfer's TLS.
pub(super) struct Protect {
    /// The server's certificate and reuse policy.
    pub server: ServerTls,
    /// The control connection's session key (RFC 4217 §10: only its
    /// data connections may resume its session).
    pub key: Option<ReuseKey>,
    /// How long the handshake may wait for the client at a time: the
    /// data timeout.
    pub timeout: Duration,
    /// The client, for the log.
    pub peer: SocketAddr,
}

/// Everything a transfer thread needs.
pub(super) struct Work {
    pub job: Job,
    pub format: Format,
    /// The transfer's rate limit, if it has one.
    pub limit: Option<RateLimit>,
    /// `Some`: the data connection is TLS.
    pub protect: Option<Protect>,
    pub connect: Connect,
    /// Set by the control thread on ABOR (it also cuts the connection).
    pub stop: Arc<AtomicBool>,
    /// Where the data connection is published for the control thread.
    pub slot: Arc<Mutex<Option<TcpStream>>>,
    /// Bytes moved on the data connection so far.
    pub moved: Arc<AtomicU64>,
    /// Restart markers an upload's data carried, for the session.
    pub marks: Arc<Marks>,
}

/// Restart markers an upload's data carried (MODE B and C), on their way
/// from the transfer thread to the control thread, which hands them to
/// the session; bounded as the decoder they came from bounds them
/// ([`PendingMarkers`]).
pub(super) struct Marks {
    queue: Mutex<PendingMarkers>,
    /// Written to when markers came, so the control thread wakes for them.
    wake: Option<Arc<UnixStream>>,
}

impl Marks {
    /// Markers for a control thread woken through `wake`.
    pub(super) fn new(wake: Option<Arc<UnixStream>>) -> Marks {
        Marks {
            queue: Mutex::new(PendingMarkers::default()),
            wake,
        }
    }

    /// The oldest marker not yet taken.
    pub(super) fn take(&self) -> Option<Marker> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// Moves the markers `sink` found to the queue, and wakes the
    /// control thread if there were any.
    fn carry(&self, sink: &mut Sink) {
        let mut came = false;
        while let Some(marker) = sink.take_marker() {
            self.queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(marker);
            came = true;
        }
        if let (true, Some(wake)) = (came, &self.wake) {
            // A full wake-up socket already has the thread awake.
            let _ = (&**wake).write(&[1]);
        }
    }
}

/// Runs one transfer to its end and says how it ended. The data
/// connection is closed before this returns, so the 226 follows the end of
/// the data (RFC 959 §3.2).
pub(super) fn run(work: Work) -> Completion {
    let Work {
        job,
        format,
        limit,
        protect,
        connect,
        stop,
        slot,
        moved,
        marks,
    } = work;
    let stream = match connect {
        Connect::Accepted(stream) => stream,
        Connect::To { from, to } => match connect_from(from, to) {
            Ok(stream) => stream,
            Err(err) => {
                SessionLog::active_connect_failed(to, &err);
                return completion(Err(Failure::NoDataConnection), stopped(&stop));
            }
        },
    };
    if let Ok(clone) = stream.try_clone() {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(clone);
    }
    // The control thread may have asked to stop before the clone was there.
    if stop.load(Ordering::Acquire) {
        return Completion::Failed(Failure::Aborted);
    }
    let stream = match protect {
        None => DataStream::Plain(stream),
        Some(protect) => match secure(stream, &protect, matches!(job, Job::Receive(_)), &stop) {
            Ok(stream) => DataStream::Tls(Box::new(stream)),
            Err(failure) => {
                // Dropping the job drops an upload's temporary file.
                drop(job);
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
                return completion(Err(failure), stopped(&stop));
            }
        },
    };
    let mut mover = Mover {
        stream,
        stop: &stop,
        moved: &moved,
        marks: &marks,
        total: 0,
        pacer: Pacer::maybe(limit, clock::now()),
    };
    let result = match job {
        Job::Send(download) => match Source::route(download, format) {
            Route::Whole(file) => mover.send_file(file),
            Route::Through(source) => mover.send_buffered(*source),
        },
        Job::Listing(bytes) => mover.send_bytes(&bytes),
        Job::Receive(upload) => mover.receive(upload, format),
    };
    let total = mover.total;
    close(&mut mover.stream, result.is_ok());
    drop(mover);
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    completion(result.map(|()| total), stopped(&stop))
}

/// The data connection's TLS handshake, as the TLS server (RFC 4217
/// §7), before any byte of the transfer. `upload`: the client only
/// writes, so it is sent no session tickets it would leave unread.
fn secure(
    stream: TcpStream,
    protect: &Protect,
    upload: bool,
    stop: &AtomicBool,
) -> Result<TlsStream<TcpStream>, Failure> {
    let mut tls = if upload {
        protect.server.accept_upload(protect.key)
    } else {
        protect.server.accept_data(protect.key)
    };
    // A client that connects and never says hello is bounded here as
    // well as by the session's data timeout (which cuts the connection).
    let timeout = Some(protect.timeout.max(Duration::from_millis(1)));
    let _ = stream.set_read_timeout(timeout);
    let _ = stream.set_write_timeout(timeout);
    let shaken = tls.handshake(&mut &stream);
    let _ = stream.set_read_timeout(None);
    let _ = stream.set_write_timeout(None);
    match shaken {
        Ok(()) => Ok(TlsStream::new(stream, tls)),
        Err(err) => {
            if !stopped(stop) {
                // (An ABOR cuts the connection mid-handshake: no failure.)
                SessionLog::new(protect.peer).tls_failed("data", &err);
            }
            let _ = stream.shutdown(Shutdown::Both);
            // ferry-tls tells the reuse refusal apart from other failures.
            Err(if ferry_tls::is_not_resumed(&err) {
                Failure::DataTlsNotResumed
            } else {
                Failure::DataTlsFailed
            })
        }
    }
}

/// The data connection: clear, or TLS over it.
type DataStream = MaybeTls<TcpStream>;

/// Ends the connection. A TLS one that carried its whole transfer says so
/// with close_notify first; one that failed does not, so the client can
/// tell a truncated file from a complete one.
fn close(stream: &mut DataStream, complete: bool) {
    if let DataStream::Tls(tls) = stream {
        if complete {
            let _ = tls.shutdown();
        }
    }
    let _ = stream.sock().shutdown(Shutdown::Both);
}

/// The control thread asked the transfer to stop (and cut its connection).
fn stopped(stop: &AtomicBool) -> bool {
    stop.load(Ordering::Acquire)
}

struct Mover<'a> {
    stream: DataStream,
    stop: &'a AtomicBool,
    moved: &'a AtomicU64,
    marks: &'a Marks,
    total: u64,
    /// The rate limit's bucket: each piece waits for it.
    pacer: Option<Pacer>,
}

impl Mover<'_> {
    /// A stopped transfer's connection was cut: that is how it ends.
    fn stopped(&self) -> Result<(), Failure> {
        if stopped(self.stop) {
            Err(Failure::DataConnectionLost)
        } else {
            Ok(())
        }
    }

    fn count(&mut self, n: usize) {
        self.total += n as u64;
        self.moved.store(self.total, Ordering::Relaxed);
        if let Some(pacer) = &mut self.pacer {
            pacer.spend(n as u64);
        }
    }

    /// How many bytes the next piece may have, at most `max`: under a rate
    /// limit, this thread sleeps until the bucket has some (looking at the
    /// stop flag every [`PACE_SLEEP`]).
    fn allowance(&mut self, max: usize) -> Result<usize, Failure> {
        let Some(pacer) = &mut self.pacer else {
            return Ok(max);
        };
        loop {
            if stopped(self.stop) {
                return Err(Failure::DataConnectionLost);
            }
            let now = clock::now();
            let wait = match pacer.grant(now, max as u64) {
                Ok(n) => return Ok(usize::try_from(n).unwrap_or(max).min(max)),
                Err(at) => clock::until(now, at),
            };
            std::thread::sleep(wait.min(PACE_SLEEP));
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.stream
            .write_all(bytes)
            .map_err(|_| Failure::DataConnectionLost)?;
        self.count(bytes.len());
        Ok(())
    }

    fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        for chunk in bytes.chunks(BUFFER) {
            self.stopped()?;
            self.write(chunk)?;
        }
        Ok(())
    }

    /// TYPE I: straight from the page cache to the socket with
    /// `sendfile(2)`; a copy through a buffer where it is not supported.
    fn send_file(&mut self, file: File) -> Result<(), Failure> {
        if matches!(self.stream, DataStream::Tls(_)) {
            // The kernel cannot encrypt (no kTLS here): through a buffer.
            return self.send_buffered(Source::plain(file));
        }
        loop {
            self.stopped()?;
            let max = self.allowance(SENDFILE_CHUNK)?;
            let sent = match &self.stream {
                DataStream::Plain(stream) => send_file(stream, &file, max),
                DataStream::Tls(_) => SendFile::Unsupported,
            };
            match sent {
                SendFile::Sent(0) => return Ok(()),
                SendFile::Sent(n) => self.count(n),
                SendFile::WouldBlock => {}
                SendFile::Unsupported if self.total == 0 => {
                    return self.send_buffered(Source::plain(file));
                }
                SendFile::Unsupported => return Err(Failure::DataConnectionLost),
                SendFile::Failed(failure) => return Err(failure),
            }
        }
    }

    /// Through a buffer: TYPE A (LF becomes CR LF), or a file
    /// `sendfile(2)` cannot send.
    fn send_buffered(&mut self, mut source: Source) -> Result<(), Failure> {
        let mut buf = vec![0u8; BUFFER];
        let mut converted = Vec::new();
        loop {
            self.stopped()?;
            // At least one byte: a read of none would be the end.
            let want = source.read_size(self.allowance(BUFFER)?).max(1);
            match source.read(&mut buf[..want], &mut converted)? {
                Some(wire) => self.write(wire)?,
                None => return Ok(()),
            }
        }
    }

    /// Into the upload's temporary file until the client closes the data
    /// connection; only then is the file published. A broken connection
    /// or an ABOR drops the upload, which removes the temporary file.
    fn receive(&mut self, upload: NewStoreUpload, format: Format) -> Result<(), Failure> {
        let mut sink = Sink::prepare(upload, format)?;
        let mut buf = vec![0u8; BUFFER];
        let mut converted = Vec::new();
        loop {
            self.stopped()?;
            let want = self.allowance(BUFFER)?;
            let n = match self.stream.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(Failure::DataConnectionLost),
            };
            self.count(n);
            sink.write(&buf[..n], &mut converted)?;
            // Before the completion is sent: its reply follows their 110s.
            self.marks.carry(&mut sink);
            if sink.is_complete() {
                // MODE B/C, STRU R: the data's own end of file came; a
                // sender that keeps the connection open is not waited for.
                break;
            }
        }
        self.stopped()?;
        if let DataStream::Tls(stream) = &self.stream {
            if !stream.clean_eof() {
                // Many clients end an upload with a plain TCP close; the
                // data all came, so it is taken as complete.
                tracing::debug!(bytes = self.total, "tls upload ended without close_notify");
            }
        }
        sink.commit(&mut converted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A mover writing to one end of a loopback connection, and the other end.
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sender = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (receiver, _) = listener.accept().unwrap();
        (sender, receiver)
    }

    fn file_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        io::Seek::rewind(&mut file).unwrap();
        file
    }

    fn mover<'a>(stream: TcpStream, stop: &'a AtomicBool, moved: &'a AtomicU64) -> Mover<'a> {
        static NO_MARKS: std::sync::OnceLock<Marks> = std::sync::OnceLock::new();
        Mover {
            stream: DataStream::Plain(stream),
            stop,
            moved,
            marks: NO_MARKS.get_or_init(|| Marks::new(None)),
            total: 0,
            pacer: None,
        }
    }

    fn send(bytes: &[u8], how: fn(&mut Mover<'_>, File) -> Result<(), Failure>) -> (Vec<u8>, u64) {
        let (sender, mut receiver) = pair();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            receiver.read_to_end(&mut got).unwrap();
            got
        });
        let stop = AtomicBool::new(false);
        let moved = AtomicU64::new(0);
        let mut mover = mover(sender, &stop, &moved);
        assert!(how(&mut mover, file_with(bytes)).is_ok());
        let total = mover.total;
        assert_eq!(moved.load(Ordering::Relaxed), total);
        drop(mover);
        (reader.join().unwrap(), total)
    }

    fn content() -> Vec<u8> {
        (0..700_000u32).map(|i| (i % 253) as u8).collect()
    }

    #[test]
    fn sendfile_and_the_buffered_fallback_send_the_same_bytes() {
        let data = content();
        let (by_sendfile, n) = send(&data, |m, f| m.send_file(f));
        assert!(by_sendfile == data);
        assert_eq!(n, data.len() as u64);
        let (by_copy, n) = send(&data, |m, f| m.send_buffered(Source::plain(f)));
        assert!(by_copy == data);
        assert_eq!(n, data.len() as u64);
    }

    #[test]
    fn type_a_sends_cr_lf_and_counts_wire_bytes() {
        let (wire, n) = send(b"one\ntwo\r\nthree\n", |m, f| {
            m.send_buffered(Source::new(
                ferry_service::ftp::Download {
                    body: ferry_service::Body::File(f),
                    offset: 0,
                    len: None,
                },
                Format::ASCII,
            ))
        });
        assert_eq!(wire, b"one\r\ntwo\r\nthree\r\n");
        assert_eq!(n, wire.len() as u64);
    }

    #[test]
    fn markers_wait_for_the_control_thread_eight_at_most_the_newest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = ferry_storage::Root::new(dir.path()).unwrap();
        let mode = ferry_storage::UploadMode::Replace;
        let upload = NewStoreUpload::Local(root.begin_upload("m.bin", mode).unwrap());
        let block = Format {
            mode: ftp_proto::format::Mode::Block,
            ..Format::IMAGE
        };
        let mut sink = Sink::prepare(upload, block).unwrap();
        let (wake_tx, mut wake_rx) = UnixStream::pair().unwrap();
        wake_rx.set_nonblocking(true).unwrap();
        let marks = Marks::new(Some(Arc::new(wake_tx)));
        let mut converted = Vec::new();
        // Three reads of five markers each, one data byte before each.
        for read in 0..3 {
            let mut wire = Vec::new();
            for i in 0..5 {
                let n = read * 5 + i;
                wire.extend_from_slice(b"\x00\x00\x01x\x10\x00\x02");
                wire.extend_from_slice(format!("{n:02}").as_bytes());
            }
            sink.write(&wire, &mut converted).unwrap();
            marks.carry(&mut sink);
            // Each read with markers wakes the control thread.
            assert!(matches!(wake_rx.read(&mut [0; 8]), Ok(n) if n > 0));
        }
        let left: Vec<(Vec<u8>, u64)> = std::iter::from_fn(|| marks.take())
            .map(|m| (m.sender, m.offset))
            .collect();
        let newest: Vec<(Vec<u8>, u64)> = (7..15u64)
            .map(|n| (format!("{n:02}").into_bytes(), n + 1))
            .collect();
        assert_eq!(left, newest);
        // No markers, no wake-up.
        sink.write(b"\x00\x00\x01y", &mut converted).unwrap();
        marks.carry(&mut sink);
        assert!(wake_rx.read(&mut [0; 8]).is_err());
    }

    #[test]
    fn a_stopped_transfer_sends_nothing() {
        let (sender, _receiver) = pair();
        let stop = AtomicBool::new(true);
        let moved = AtomicU64::new(0);
        let mut mover = mover(sender, &stop, &moved);
        assert!(matches!(
            mover.send_file(file_with(b"data")),
            Err(Failure::DataConnectionLost)
        ));
        assert_eq!(mover.total, 0);
    }
}
