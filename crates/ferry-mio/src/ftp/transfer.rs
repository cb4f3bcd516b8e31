//! Moving one transfer's bytes on a non-blocking data connection, a
//! bounded amount per call, so that one fast client cannot keep the loop
//! from everyone else. The file ends ([`Source`], [`Sink`]) are
//! ferry-service's, as the blocking driver's are.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex};

use ferry_service::ftp::{self as service, send_file, Download, Route, SendFile, Sink, Source};
use ferry_service::relay::{Fed, Feed, Fetch, Fetched, Running, Wake};
use ferry_service::StoreUpload;
use ferry_storage::StorageError;
use ferry_tls::TlsConn;
use ftp_proto::format::{Format, Marker, PendingMarkers};
use ftp_proto::server::Failure;
use rustix::pipe::{self, PipeFlags, SpliceFlags};

use super::tls::{self, Secured};

/// Bytes moved on the data connection per call at most, before the
/// transfer yields to the rest of the loop.
pub(super) const BUDGET: usize = 256 * 1024;

/// Wire bytes one file read of a buffered download gives at most (TYPE A
/// reads half as much: each LF may become CR LF). What the socket does not
/// take of them is all a download keeps between steps.
const CHUNK: usize = 64 * 1024;

/// A download relayed from the network reads this much per chunk, and at
/// most [`RELAY_DEPTH`] chunks wait for the client: with the chunk being
/// read and the one being sent, 4 MiB per transfer.
const RELAY_CHUNK: usize = 1024 * 1024;

/// Chunks queued between a relayed transfer's thread and the loop: a
/// download's of [`RELAY_CHUNK`], an upload's of one socket read (at most
/// [`BUDGET`]), so an upload holds at most 2.25 MiB besides the part the
/// store fills.
const RELAY_DEPTH: usize = 2;
const UPLOAD_DEPTH: usize = 8;

/// What a transfer whose file waits on the network (an object store)
/// needs to run on a thread of its own: the count the server waits for
/// when it stops, and the wake that brings the session back to the loop.
pub(super) struct Relay {
    pub running: Running,
    pub wake: Wake,
}

/// The loop's buffers for moving bytes, shared by every transfer: a step
/// fills and empties them before it returns, so one set serves them all
/// however many run.
pub(super) struct Buffers {
    /// One read: from a data connection (an upload takes up to the whole
    /// budget in one read, as the blocking driver's buffer does) or from
    /// a file.
    read: Box<[u8]>,
    /// TYPE A's converted bytes.
    converted: Vec<u8>,
    /// TYPE I uploads move through this pipe instead of `read`: the
    /// socket's pages into it, from it into the file (`splice(2)`), so the
    /// bytes are copied once, not twice (`None` where no pipe could be
    /// made: uploads then read).
    pipe: Option<Pipe>,
}

impl Buffers {
    pub(super) fn new() -> Buffers {
        Buffers {
            read: vec![0; BUDGET].into_boxed_slice(),
            converted: Vec::new(),
            pipe: Pipe::new().ok(),
        }
    }
}

/// The loop's pipe, empty between steps. It holds at most [`BUDGET`]
/// bytes (a pipe's default is 64 KiB; where the system refuses more, what
/// it gives): the pages it refers to are the socket's, not a copy.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    size: usize,
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let (read, write) = pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        let size = pipe::fcntl_setpipe_size(&write, BUDGET)
            .or_else(|_| pipe::fcntl_getpipe_size(&write))?;
        Ok(Pipe { read, write, size })
    }

    /// Reads what is left in the pipe, storing it in `sink` while that
    /// works (a step that cannot splice into the file ends this way), and
    /// then discarding it: the pipe is empty afterwards.
    fn drain(
        &self,
        sink: &mut Sink,
        read: &mut [u8],
        converted: &mut Vec<u8>,
    ) -> Result<(), Failure> {
        let mut result = Ok(());
        loop {
            let n = match rustix::io::read(&self.read, &mut *read) {
                Ok(0) | Err(rustix::io::Errno::AGAIN) => return result,
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return Err(Failure::Io),
            };
            if result.is_ok() {
                result = sink.write(&read[..n], converted);
            }
        }
    }
}

/// `splice(2)` of at most `len` bytes from `from` to `to`, at their
/// positions, without blocking on a pipe.
fn splice(from: impl AsFd, to: impl AsFd, len: usize) -> io::Result<usize> {
    // No offsets: both ends move their own positions.
    let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
    Ok(pipe::splice(from, None, to, None, len, flags)?)
}

/// How a call ended.
#[derive(Debug)]
pub(super) enum Step {
    /// The connection takes or gives nothing more now: wait for readiness.
    Blocked,
    /// The budget is used up and there is more to move: call again soon.
    Yield,
    /// All moved (an upload is published).
    Done,
    /// The transfer failed (the data connection: `DataConnectionLost`).
    Failed(Failure),
}

/// One transfer's file end and progress.
pub(super) enum Mover {
    /// TYPE I download: from the page cache to the socket by `sendfile(2)`.
    SendFile(File),
    /// A download through the loop's buffers: TYPE A (LF becomes CR LF),
    /// or where `sendfile(2)` is not supported.
    Buffered(Box<Buffered>),
    /// LIST, NLST, MLSD: lines built before the 150.
    Listing { bytes: Vec<u8>, at: usize },
    /// STOR, APPE, STOU: into the upload's temporary file until the client
    /// closes the connection; then published.
    Receive(Box<Receive>),
    /// A download whose file waits on the network: read ahead on a thread
    /// of its own, a few chunks at most.
    Fetching(Box<Fetching>),
    /// An upload whose file waits on the network: stored on a thread of
    /// its own, a few chunks behind at most.
    Feeding(Box<Feeding>),
}

pub(super) struct Fetching {
    fetch: Fetch<Failure>,
    /// The chunk being sent, from `at`.
    chunk: Vec<u8>,
    at: usize,
}

pub(super) struct Feeding {
    feed: Feed<Failure>,
    /// Restart markers the thread's sink found, for the session (as
    /// bounded as the decoder's own).
    marks: Arc<Mutex<PendingMarkers>>,
}

pub(super) struct Receive {
    /// Taken by the commit.
    sink: Option<Sink>,
    /// Restart markers the sink still held at the commit, for the session.
    marks: VecDeque<Marker>,
    /// TYPE I: the temporary file again (the same open file, so the same
    /// position), for splicing into while that works.
    splice_to: Option<File>,
}

pub(super) struct Buffered {
    source: Source,
    /// Wire bytes read from the file that the socket has not taken yet,
    /// sent from `at`: they wait for the next step (at most [`CHUNK`]).
    /// No allocation while the socket keeps up.
    unsent: Vec<u8>,
    at: usize,
}

/// A protected transfer's TLS connection (`PROT P`, RFC 4217 §9), its
/// handshake done.
pub(super) struct Protected {
    tls: Box<TlsConn>,
    /// A download's bytes are all queued and so is its close_notify:
    /// what is left is writing them.
    closing: bool,
}

impl Protected {
    pub(super) fn new(tls: Box<TlsConn>) -> Protected {
        Protected {
            tls,
            closing: false,
        }
    }
}

impl Mover {
    /// A download of `file`, from its current position; `protected`: on
    /// a TLS data connection.
    pub(super) fn send(
        download: Download,
        format: Format,
        protected: bool,
        relay: impl FnOnce() -> Relay,
    ) -> Result<Mover, Failure> {
        // Under TLS the kernel cannot send the file's pages as they are:
        // they are read and encrypted.
        Ok(match Source::route(download, format) {
            Route::Whole(file) if !protected => Mover::SendFile(file),
            Route::Whole(file) => Mover::copy(Source::plain(file)),
            Route::Through(source) if source.is_remote() => Mover::fetch(*source, relay())?,
            Route::Through(source) => Mover::copy(*source),
        })
    }

    /// `source` read ahead on a thread of its own.
    fn fetch(mut source: Source, relay: Relay) -> Result<Mover, Failure> {
        let (mut buf, mut converted) = (vec![0; RELAY_CHUNK], Vec::new());
        let fill = move |out: &mut Vec<u8>| loop {
            if out.len() >= RELAY_CHUNK {
                return Ok(true);
            }
            let want = source.read_size(RELAY_CHUNK - out.len()).max(1);
            match source.read(&mut buf[..want], &mut converted)? {
                Some(wire) => out.extend_from_slice(wire),
                None => return Ok(false),
            }
        };
        let fetch = Fetch::start(RELAY_CHUNK, RELAY_DEPTH, &relay.running, fill, relay.wake)
            .map_err(|_| Failure::Io)?;
        Ok(Mover::Fetching(Box::new(Fetching {
            fetch,
            chunk: Vec::new(),
            at: 0,
        })))
    }

    fn copy(source: Source) -> Mover {
        Mover::Buffered(Box::new(Buffered {
            source,
            unsent: Vec::new(),
            at: 0,
        }))
    }

    /// A listing's lines.
    pub(super) fn listing(bytes: Vec<u8>) -> Mover {
        Mover::Listing { bytes, at: 0 }
    }

    /// An upload into `upload` (prepared), received in TYPE A (`ascii`)
    /// or TYPE I, ready for data.
    pub(super) fn receive(
        upload: StoreUpload,
        format: Format,
        protected: bool,
        relay: impl FnOnce() -> Relay,
    ) -> Result<Mover, Failure> {
        if upload.is_remote() {
            return Mover::feed(upload, format, relay());
        }
        Ok(Mover::local_receive(upload, format, protected))
    }

    /// `upload` stored on a thread of its own.
    fn feed(upload: StoreUpload, format: Format, relay: Relay) -> Result<Mover, Failure> {
        let marks = Arc::new(Mutex::new(PendingMarkers::default()));
        let found = Arc::clone(&marks);
        let write = move |sink: &mut (Sink, Vec<u8>), bytes: &[u8]| {
            let (sink, converted) = sink;
            sink.write(bytes, converted)?;
            while let Some(marker) = sink.take_marker() {
                found.lock().unwrap_or_else(|e| e.into_inner()).push(marker);
            }
            Ok(sink.is_complete())
        };
        let commit = |(sink, mut converted): (Sink, Vec<u8>)| sink.commit(&mut converted);
        let sink = (Sink::new(upload, format), Vec::new());
        let feed = Feed::start(
            UPLOAD_DEPTH,
            &relay.running,
            sink,
            write,
            commit,
            relay.wake,
        )
        .map_err(|_| Failure::Io)?;
        Ok(Mover::Feeding(Box::new(Feeding { feed, marks })))
    }

    fn local_receive(mut upload: StoreUpload, format: Format, protected: bool) -> Mover {
        // Without a second descriptor, the upload is read as TYPE A's is;
        // under TLS it is read and decrypted.
        let splice_to = if !format.is_plain() || protected {
            None
        } else {
            upload.file().and_then(|file| file.try_clone().ok())
        };
        Mover::Receive(Box::new(Receive {
            sink: Some(Sink::new(upload, format)),
            marks: VecDeque::new(),
            splice_to,
        }))
    }

    /// The oldest restart marker an upload's data carried that the
    /// session has not been given ([`Sink::take_marker`]); the driver
    /// takes them after every step.
    pub(super) fn take_marker(&mut self) -> Option<Marker> {
        match self {
            Mover::Receive(receive) => match &mut receive.sink {
                Some(sink) => sink.take_marker(),
                None => receive.marks.pop_front(),
            },
            Mover::Feeding(feeding) => feeding
                .marks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop(),
            _ => None,
        }
    }

    /// Moves what the connection takes or gives, at most `budget` bytes
    /// (at most [`BUDGET`]; less under a rate limit), adding them to
    /// `moved` (bytes on the wire). `buffers` are the loop's: nothing is
    /// left in them when this returns.
    pub(super) fn step<S: Read + Write + AsFd>(
        &mut self,
        stream: &mut S,
        moved: &mut u64,
        mut budget: usize,
        buffers: &mut Buffers,
    ) -> Step {
        match self {
            Mover::SendFile(file) => loop {
                if budget == 0 {
                    return Step::Yield;
                }
                match send_file(&*stream, file, budget) {
                    SendFile::Sent(0) => return Step::Done,
                    SendFile::Sent(n) => {
                        *moved += n as u64;
                        budget = budget.saturating_sub(n);
                    }
                    SendFile::WouldBlock => return Step::Blocked,
                    SendFile::Unsupported if *moved == 0 => match file.try_clone() {
                        Ok(file) => {
                            *self = Mover::copy(Source::plain(file));
                            return self.step(stream, moved, budget, buffers);
                        }
                        Err(_) => return Step::Failed(Failure::Io),
                    },
                    SendFile::Unsupported => return Step::Failed(Failure::DataConnectionLost),
                    SendFile::Failed(failure) => return Step::Failed(failure),
                }
            },
            Mover::Buffered(copy) => copy.step(stream, moved, budget, buffers),
            Mover::Listing { bytes, at } => send_listing(stream, bytes, at, moved, budget),
            Mover::Receive(receive) => receive.step(stream, moved, budget, buffers),
            Mover::Fetching(fetching) => fetching.step(stream, moved, budget),
            Mover::Feeding(feeding) => feeding.step(stream, moved, budget, buffers),
        }
    }

    /// The same on a protected data connection: through its TLS
    /// connection, never by `sendfile(2)` or `splice(2)`. A download or
    /// listing ends with close_notify written (RFC 4217 §9, RFC 8446
    /// §6.1: the end of the data is the TLS close, not just the TCP one).
    pub(super) fn step_protected<S: Read + Write>(
        &mut self,
        stream: &mut S,
        protected: &mut Protected,
        moved: &mut u64,
        budget: usize,
        buffers: &mut Buffers,
    ) -> Step {
        if !protected.closing {
            let mut io = Secured {
                sock: &mut *stream,
                tls: &mut protected.tls,
            };
            let step = match self {
                Mover::Buffered(copy) => copy.step(&mut io, moved, budget, buffers),
                Mover::Listing { bytes, at } => send_listing(&mut io, bytes, at, moved, budget),
                Mover::Receive(receive) => receive.read(&mut io, moved, budget, buffers),
                Mover::Fetching(fetching) => fetching.step(&mut io, moved, budget),
                Mover::Feeding(feeding) => feeding.step(&mut io, moved, budget, buffers),
                // Never made for a protected transfer.
                Mover::SendFile(_) => Step::Failed(Failure::Io),
            };
            match step {
                Step::Done if matches!(self, Mover::Receive(_) | Mover::Feeding(_)) => {
                    // The upload is stored. Clients that close TLS both
                    // ways (Python's ftplib) wait for close_notify in
                    // answer to theirs; others are gone already, so one
                    // try, whatever comes of it.
                    protected.tls.close();
                    let _ = tls::flush(stream, &mut protected.tls);
                    return Step::Done;
                }
                Step::Done => {
                    protected.tls.close();
                    protected.closing = true;
                }
                step => return step,
            }
        }
        match tls::flush(stream, &mut protected.tls) {
            Ok(true) => Step::Done,
            Ok(false) => Step::Blocked,
            Err(_) => Step::Failed(Failure::DataConnectionLost),
        }
    }
}

/// A listing's step: its lines from `at`, at most `budget` bytes.
fn send_listing<S: Write>(
    stream: &mut S,
    bytes: &[u8],
    at: &mut usize,
    moved: &mut u64,
    mut budget: usize,
) -> Step {
    loop {
        if *at == bytes.len() {
            return Step::Done;
        }
        if budget == 0 {
            return Step::Yield;
        }
        let end = bytes.len().min(*at + budget);
        match write(stream, &bytes[*at..end]) {
            Ok(Some(n)) => {
                *at += n;
                *moved += n as u64;
                budget -= n;
            }
            Ok(None) => return Step::Blocked,
            Err(failure) => return Step::Failed(failure),
        }
    }
}

impl Buffered {
    fn step<S: Write>(
        &mut self,
        stream: &mut S,
        moved: &mut u64,
        mut budget: usize,
        buffers: &mut Buffers,
    ) -> Step {
        // First what the socket did not take last time.
        if let Some(step) = send_held(stream, &self.unsent, &mut self.at, moved, &mut budget) {
            return step;
        }
        self.unsent = Vec::new();
        self.at = 0;
        loop {
            // No more wire bytes than the budget has room for: read only
            // what can go out in this step.
            let want = self.source.read_size(budget.min(CHUNK));
            if want == 0 {
                return Step::Yield;
            }
            let wire = match self
                .source
                .read(&mut buffers.read[..want], &mut buffers.converted)
            {
                Ok(Some(wire)) => wire,
                Ok(None) => return Step::Done,
                Err(failure) => return Step::Failed(failure),
            };
            let mut sent = 0;
            while sent < wire.len() {
                match write(stream, &wire[sent..]) {
                    Ok(Some(n)) => {
                        sent += n;
                        *moved += n as u64;
                        // A format may give more wire bytes than were read
                        // (MODE B releases a whole held-back block).
                        budget = budget.saturating_sub(n);
                    }
                    Ok(None) => {
                        // Kept for the next step: the file has moved on.
                        self.unsent = wire[sent..].to_vec();
                        return Step::Blocked;
                    }
                    Err(failure) => return Step::Failed(failure),
                }
            }
        }
    }
}

/// Sends `held[*at..]` as far as the socket and `budget` take it,
/// counting what went in `moved` and taking it off `budget`. `None` once
/// all of it went; otherwise the step's end (out of budget, a full
/// socket, or a failure).
fn send_held<S: Write>(
    stream: &mut S,
    held: &[u8],
    at: &mut usize,
    moved: &mut u64,
    budget: &mut usize,
) -> Option<Step> {
    while *at < held.len() {
        if *budget == 0 {
            return Some(Step::Yield);
        }
        let end = held.len().min(*at + *budget);
        match write(stream, &held[*at..end]) {
            Ok(Some(n)) => {
                *at += n;
                *moved += n as u64;
                *budget -= n;
            }
            Ok(None) => return Some(Step::Blocked),
            Err(failure) => return Some(Step::Failed(failure)),
        }
    }
    None
}

impl Fetching {
    /// A relayed download's step: the chunks the thread has read, as far
    /// as the socket and the budget take them. With no chunk ready the
    /// step waits for the thread's wake, not for the socket.
    fn step<S: Write>(&mut self, stream: &mut S, moved: &mut u64, mut budget: usize) -> Step {
        loop {
            if let Some(step) = send_held(stream, &self.chunk, &mut self.at, moved, &mut budget) {
                return step;
            }
            self.at = 0;
            self.chunk = match self.fetch.poll() {
                Fetched::Bytes(bytes) => bytes,
                Fetched::Pending => {
                    self.chunk = Vec::new();
                    return Step::Blocked;
                }
                Fetched::End => return Step::Done,
                Fetched::Failed(failure) => return Step::Failed(failure.unwrap_or(Failure::Io)),
            };
        }
    }
}

impl Feeding {
    /// A relayed upload's step: socket reads handed to the thread while
    /// its queue has room (a full queue leaves the client's bytes in the
    /// socket: the client is slowed, nothing grows); at the end of the
    /// data, the thread publishes the upload, and the step waits for its
    /// verdict.
    fn step<S: Read>(
        &mut self,
        stream: &mut S,
        moved: &mut u64,
        mut budget: usize,
        buffers: &mut Buffers,
    ) -> Step {
        loop {
            match self.feed.poll() {
                Fed::Room => {}
                Fed::Full => return Step::Blocked,
                Fed::Done(Ok(())) => return Step::Done,
                Fed::Done(Err(failure)) => return Step::Failed(failure.unwrap_or(Failure::Io)),
            }
            if budget == 0 {
                return Step::Yield;
            }
            let want = budget.min(buffers.read.len());
            match stream.read(&mut buffers.read[..want]) {
                Ok(0) => self.feed.end(),
                Ok(n) => {
                    *moved += n as u64;
                    budget -= n;
                    self.feed.send(buffers.read[..n].to_vec());
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Step::Failed(Failure::DataConnectionLost),
            }
        }
    }
}

impl Receive {
    /// An upload's step: at most the budget, spliced through the loop's
    /// pipe (TYPE I) or read into its buffer, each piece stored before the
    /// next; at the end of the data, the commit.
    fn step<S: Read + AsFd>(
        &mut self,
        stream: &mut S,
        moved: &mut u64,
        budget: usize,
        buffers: &mut Buffers,
    ) -> Step {
        self.pieces(moved, budget, buffers, |this, budget, moved, buffers| {
            if this.splice_to.is_none() || buffers.pipe.is_none() {
                return Some(this.read_piece(stream, budget, buffers));
            }
            match this.splice_piece(stream, budget, buffers) {
                // Not a socket that splices: read from here on.
                Err(err) if err.raw_os_error() == Some(libc::EINVAL) && moved == 0 => {
                    this.splice_to = None;
                    None
                }
                got => Some(got),
            }
        })
    }

    /// The step by reads alone, into the loop's buffer (a protected
    /// upload's, whose bytes must be decrypted).
    fn read<S: Read>(
        &mut self,
        stream: &mut S,
        moved: &mut u64,
        budget: usize,
        buffers: &mut Buffers,
    ) -> Step {
        self.pieces(moved, budget, buffers, |this, budget, _, buffers| {
            Some(this.read_piece(stream, budget, buffers))
        })
    }

    /// Takes pieces (`piece`: what one moved, or `None` to ask again) until
    /// the budget is used, the connection has nothing now, or the data ends.
    fn pieces(
        &mut self,
        moved: &mut u64,
        mut budget: usize,
        buffers: &mut Buffers,
        mut piece: impl FnMut(
            &mut Self,
            usize,
            u64,
            &mut Buffers,
        ) -> Option<io::Result<Result<usize, Failure>>>,
    ) -> Step {
        loop {
            if budget == 0 {
                return Step::Yield;
            }
            let Some(got) = piece(self, budget, *moved, buffers) else {
                continue;
            };
            if let Some(step) = self.account(got, moved, &mut budget, buffers) {
                return step;
            }
        }
    }

    /// One splice of at most `budget` bytes from the socket through the
    /// loop's pipe into the file; a file that does not splice turns the
    /// upload to reading from then on.
    fn splice_piece<S: AsFd>(
        &mut self,
        stream: &mut S,
        budget: usize,
        buffers: &mut Buffers,
    ) -> io::Result<Result<usize, Failure>> {
        let (Some(file), Some(pipe)) = (&self.splice_to, &buffers.pipe) else {
            return Ok(Err(Failure::Io));
        };
        let n = splice(&*stream, &pipe.write, budget.min(pipe.size))?;
        let (stored, splices) = unpipe(
            file,
            pipe,
            n,
            &mut self.sink,
            &mut buffers.read,
            &mut buffers.converted,
        );
        if !splices {
            self.splice_to = None;
        }
        Ok(stored)
    }

    /// One read of at most `budget` bytes into the loop's buffer, stored.
    fn read_piece<S: Read>(
        &mut self,
        stream: &mut S,
        budget: usize,
        buffers: &mut Buffers,
    ) -> io::Result<Result<usize, Failure>> {
        let want = budget.min(buffers.read.len());
        let n = stream.read(&mut buffers.read[..want])?;
        let bytes = &buffers.read[..n];
        Ok(store(&mut self.sink, |sink| {
            sink.write(bytes, &mut buffers.converted)
        })
        .map(|()| n))
    }

    /// What one piece moved (`Ok(Ok(n))`: `n` bytes stored, 0 at the end
    /// of the data) means: how the step ends, or `None` to go on.
    fn account(
        &mut self,
        got: io::Result<Result<usize, Failure>>,
        moved: &mut u64,
        budget: &mut usize,
        buffers: &mut Buffers,
    ) -> Option<Step> {
        match got {
            Ok(Ok(0)) => Some(self.commit(buffers)),
            Ok(Ok(n)) => {
                *moved += n as u64;
                *budget -= n;
                // MODE B/C, STRU R: the data's own end of file came; a
                // sender that keeps the connection open is not waited for.
                let complete = self.sink.as_ref().is_some_and(Sink::is_complete);
                complete.then(|| self.commit(buffers))
            }
            Ok(Err(failure)) => Some(Step::Failed(failure)),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Some(Step::Blocked),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => None,
            Err(_) => Some(Step::Failed(Failure::DataConnectionLost)),
        }
    }

    /// The client closed the connection: the upload is complete.
    fn commit(&mut self, buffers: &mut Buffers) -> Step {
        self.splice_to = None;
        if let Some(sink) = &mut self.sink {
            // The commit ends the sink, not its markers' 110s.
            self.marks.extend(std::iter::from_fn(|| sink.take_marker()));
        }
        match self
            .sink
            .take()
            .map(|sink| sink.commit(&mut buffers.converted))
        {
            Some(Ok(())) => Step::Done,
            Some(Err(failure)) => Step::Failed(failure),
            None => Step::Failed(Failure::Io),
        }
    }
}

/// Moves the `n` bytes just spliced into the pipe on into `file`, leaving
/// the pipe empty whatever happens: the bytes stored (or the failure), and
/// whether the file splices (if not, the bytes were read and written).
fn unpipe(
    file: &File,
    pipe: &Pipe,
    n: usize,
    sink: &mut Option<Sink>,
    read: &mut [u8],
    converted: &mut Vec<u8>,
) -> (Result<usize, Failure>, bool) {
    let mut left = n;
    while left > 0 {
        match splice(&pipe.read, file, left) {
            Ok(0) => break,
            Ok(done) => left -= done,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            // A file system that does not splice: the rest by reading and
            // writing, now and from here on.
            Err(err) if err.raw_os_error() == Some(libc::EINVAL) => {
                let stored = store(sink, |sink| pipe.drain(sink, read, converted));
                return (stored.map(|()| n), false);
            }
            Err(err) => {
                let _ = store(sink, |sink| pipe.drain(sink, read, converted));
                return (Err(service::failure(StorageError::from(err))), true);
            }
        }
    }
    if left > 0 {
        // The file took nothing more and said nothing: the rest is lost.
        let _ = store(sink, |sink| pipe.drain(sink, read, converted));
        return (Err(Failure::Io), true);
    }
    (Ok(n), true)
}

/// Runs `f` on the upload's sink (gone only after the commit).
fn store(
    sink: &mut Option<Sink>,
    f: impl FnOnce(&mut Sink) -> Result<(), Failure>,
) -> Result<(), Failure> {
    match sink {
        Some(sink) => f(sink),
        None => Err(Failure::Io),
    }
}

/// One non-blocking write: `Some(n)` written, `None` when the socket is full.
fn write<S: Write>(stream: &mut S, bytes: &[u8]) -> Result<Option<usize>, Failure> {
    loop {
        return match stream.write(bytes) {
            Ok(0) => Err(Failure::DataConnectionLost),
            Ok(n) => Ok(Some(n)),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => Err(Failure::DataConnectionLost),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use ferry_storage::{Root, UploadMode};
    use ftp_proto::ascii::Encoder;

    fn dl(file: File) -> Download {
        Download {
            body: ferry_service::Body::File(file),
            offset: 0,
            len: None,
        }
    }

    /// A local file's download, which never needs a relay.
    fn local_send(download: Download, format: Format, protected: bool) -> Mover {
        Mover::send(download, format, protected, || unreachable!("a local file")).unwrap()
    }

    fn file_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file.rewind().unwrap();
        file
    }

    fn content() -> Vec<u8> {
        (0..700_000u32).map(|i| (i % 253) as u8).collect()
    }

    /// Runs `mover` to its end on a non-blocking loopback connection whose
    /// other end a thread reads; gives what arrived and the bytes counted.
    fn send(mut mover: Mover) -> (Vec<u8>, u64) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sender = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut receiver, _) = listener.accept().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            receiver.read_to_end(&mut got).unwrap();
            got
        });
        sender.set_nonblocking(true).unwrap();
        let mut buffers = Buffers::new();
        let mut moved = 0;
        loop {
            let before = moved;
            match mover.step(&mut sender, &mut moved, BUDGET, &mut buffers) {
                Step::Done => break,
                Step::Yield => assert!(moved - before <= BUDGET as u64),
                Step::Blocked => std::thread::sleep(Duration::from_millis(1)),
                Step::Failed(ended) => panic!("failed: {ended:?}"),
            }
        }
        drop(sender);
        (reader.join().unwrap(), moved)
    }

    /// A relay whose wake rings nothing: the tests' loops poll.
    fn relay() -> Relay {
        Relay {
            running: Running::new(),
            wake: std::sync::Arc::new(|| {}),
        }
    }

    #[test]
    fn a_relayed_download_sends_what_the_buffered_path_sends() {
        let text: Vec<u8> = (0..3_000_000u32)
            .map(|i| {
                if i % 61 == 0 {
                    b'\n'
                } else {
                    b'a' + (i % 26) as u8
                }
            })
            .collect();
        let (buffered, _) = send(local_send(dl(file_with(&text)), Format::ASCII, false));
        let source = Source::new(dl(file_with(&text)), Format::ASCII);
        let relayed = Mover::fetch(source, relay()).unwrap();
        assert!(matches!(relayed, Mover::Fetching(_)));
        let (wire, n) = send(relayed);
        assert!(
            wire == buffered,
            "{} and {} bytes",
            wire.len(),
            buffered.len()
        );
        assert_eq!(n, wire.len() as u64);
    }

    #[test]
    fn sendfile_and_the_buffered_path_send_the_same_bytes() {
        let data = content();
        let (by_sendfile, n) = send(local_send(dl(file_with(&data)), Format::IMAGE, false));
        assert!(by_sendfile == data);
        assert_eq!(n, data.len() as u64);
        let (by_copy, n) = send(Mover::copy(Source::plain(file_with(&data))));
        assert!(by_copy == data);
        assert_eq!(n, data.len() as u64);
    }

    #[test]
    fn a_listing_is_sent_whole() {
        let lines: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("file-{i}\r\n").into_bytes())
            .collect();
        let (got, n) = send(Mover::listing(lines.clone()));
        assert!(got == lines);
        assert_eq!(n, lines.len() as u64);
    }

    #[test]
    fn type_a_sends_cr_lf_and_counts_wire_bytes() {
        let (wire, n) = send(local_send(
            dl(file_with(b"one\ntwo\r\nthree\n")),
            Format::ASCII,
            false,
        ));
        assert_eq!(wire, b"one\r\ntwo\r\nthree\r\n");
        assert_eq!(n, wire.len() as u64);
    }

    #[test]
    fn a_download_yields_after_its_budget() {
        // A writer that takes everything: only the budget stops a step.
        let Mover::Buffered(mut copy) = Mover::copy(Source::plain(file_with(&content()))) else {
            unreachable!()
        };
        let mut sink = Vec::new();
        let mut buffers = Buffers::new();
        let mut moved = 0;
        assert!(matches!(
            copy.step(&mut sink, &mut moved, BUDGET, &mut buffers),
            Step::Yield
        ));
        assert_eq!(moved, BUDGET as u64);
        assert_eq!(sink.len(), BUDGET);
        while !matches!(
            copy.step(&mut sink, &mut moved, BUDGET, &mut buffers),
            Step::Done
        ) {}
        assert!(sink == content());
    }

    /// A data connection that takes `room` bytes, then would block.
    struct Tight {
        got: Vec<u8>,
        room: usize,
    }

    impl Write for Tight {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.room);
            self.got.extend_from_slice(&buf[..n]);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_full_socket_keeps_at_most_a_chunk_of_a_download_back() {
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| if i % 7 == 0 { *b"\n" } else { *b"x" })
            .collect();
        let mut expected = Vec::new();
        Encoder::new().encode(&text, &mut expected);
        let Mover::Buffered(mut copy) = local_send(dl(file_with(&text)), Format::ASCII, false)
        else {
            unreachable!()
        };
        let mut buffers = Buffers::new();
        let mut sink = Tight {
            got: Vec::new(),
            room: 0,
        };
        let mut moved = 0;
        loop {
            // An odd amount of room each time: chunks end mid-way.
            sink.room = 10_007;
            match copy.step(&mut sink, &mut moved, BUDGET, &mut buffers) {
                Step::Blocked | Step::Yield => {}
                Step::Done => break,
                Step::Failed(ended) => panic!("failed: {ended:?}"),
            }
            assert!(copy.unsent.len() - copy.at <= CHUNK);
        }
        assert!(sink.got == expected);
        assert_eq!(moved, expected.len() as u64);
        assert_eq!(copy.unsent.capacity(), 0);
    }

    /// A data connection that gives `bytes`, then would block or ends.
    struct Incoming<'a> {
        bytes: &'a [u8],
        end: bool,
    }

    impl Read for Incoming<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.bytes.is_empty() && !self.end {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.bytes.read(buf)
        }
    }

    fn upload(dir: &std::path::Path, name: &str) -> StoreUpload {
        let root = Root::new(dir).unwrap();
        let upload = root.begin_upload(name, UploadMode::Replace).unwrap();
        StoreUpload::Local(upload.prepare().unwrap())
    }

    /// An upload's mover, stepped as the loop steps it.
    struct Receive(Mover);

    impl Receive {
        fn step(
            &mut self,
            incoming: &mut Incoming<'_>,
            moved: &mut u64,
            budget: usize,
            buffers: &mut Buffers,
        ) -> Step {
            let Mover::Receive(receive) = &mut self.0 else {
                unreachable!()
            };
            receive.read(incoming, moved, budget, buffers)
        }
    }

    fn receive(upload: StoreUpload, ascii: bool) -> Receive {
        Receive(Mover::local_receive(
            upload,
            if ascii { Format::ASCII } else { Format::IMAGE },
            false,
        ))
    }

    /// Runs `mover` (an upload) to its end on a non-blocking loopback
    /// connection whose other end a thread writes `bytes` to and closes;
    /// gives the bytes counted.
    fn upload_over_tcp(mut mover: Mover, bytes: Vec<u8>, buffers: &mut Buffers) -> u64 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sender = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut receiver, _) = listener.accept().unwrap();
        let writer = std::thread::spawn(move || sender.write_all(&bytes).unwrap());
        receiver.set_nonblocking(true).unwrap();
        let mut moved = 0;
        loop {
            let before = moved;
            match mover.step(&mut receiver, &mut moved, BUDGET, buffers) {
                Step::Done => break,
                Step::Yield => assert!(moved - before <= BUDGET as u64),
                Step::Blocked => std::thread::sleep(Duration::from_millis(1)),
                Step::Failed(ended) => panic!("failed: {ended:?}"),
            }
        }
        writer.join().unwrap();
        moved
    }

    #[test]
    fn an_uploads_markers_outlast_the_commit_for_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let block = Format {
            mode: ftp_proto::format::Mode::Block,
            ..Format::IMAGE
        };
        let mut mover = Receive(Mover::local_receive(
            upload(dir.path(), "m.bin"),
            block,
            false,
        ));
        let mut buffers = Buffers::new();
        let mut moved = 0;
        // A marker, then the EOF block: one step stores it all and
        // commits, which ends the sink but not the marker.
        let mut incoming = Incoming {
            bytes: b"\x00\x00\x02ab\x10\x00\x02m1\x00\x00\x01c\x10\x00\x02m2",
            end: false,
        };
        assert!(matches!(
            mover.step(&mut incoming, &mut moved, BUDGET, &mut buffers),
            Step::Blocked
        ));
        let first = mover.0.take_marker().unwrap();
        assert_eq!((&first.sender[..], first.offset), (&b"m1"[..], 2));
        let mut incoming = Incoming {
            bytes: b"\x40\x00\x01d",
            end: false,
        };
        assert!(matches!(
            mover.step(&mut incoming, &mut moved, BUDGET, &mut buffers),
            Step::Done
        ));
        let second = mover.0.take_marker().unwrap();
        assert_eq!((&second.sender[..], second.offset), (&b"m2"[..], 3));
        assert_eq!(mover.0.take_marker(), None);
        assert_eq!(std::fs::read(dir.path().join("m.bin")).unwrap(), b"abcd");
    }

    #[test]
    fn a_relayed_upload_is_stored_whole_and_published_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
        let mover = Mover::feed(upload(dir.path(), "fed.bin"), Format::IMAGE, relay()).unwrap();
        let moved = upload_over_tcp(mover, bytes.clone(), &mut Buffers::new());
        assert_eq!(moved, bytes.len() as u64);
        assert!(std::fs::read(dir.path().join("fed.bin")).unwrap() == bytes);
    }

    #[test]
    fn a_type_i_upload_is_spliced_into_its_file_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let data = content();
        let mut buffers = Buffers::new();
        assert!(buffers.pipe.is_some());
        let mover = Mover::local_receive(upload(dir.path(), "up.bin"), Format::IMAGE, false);
        let Mover::Receive(receive) = &mover else {
            unreachable!()
        };
        assert!(receive.splice_to.is_some());
        let moved = upload_over_tcp(mover, data.clone(), &mut buffers);
        assert_eq!(moved, data.len() as u64);
        assert!(std::fs::read(dir.path().join("up.bin")).unwrap() == data);
        // The pipe is left empty for the next upload: a second one, with
        // other bytes, arrives whole too.
        let other: Vec<u8> = data.iter().rev().copied().collect();
        let mover = Mover::local_receive(upload(dir.path(), "two.bin"), Format::IMAGE, false);
        assert_eq!(
            upload_over_tcp(mover, other.clone(), &mut buffers),
            other.len() as u64
        );
        assert!(std::fs::read(dir.path().join("two.bin")).unwrap() == other);
    }

    #[test]
    fn a_type_a_upload_over_tcp_is_read_and_converted() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffers = Buffers::new();
        let wire: Vec<u8> = (0..100_000).flat_map(|_| *b"line\r\n").collect();
        let mover = Mover::local_receive(upload(dir.path(), "a.txt"), Format::ASCII, false);
        assert_eq!(
            upload_over_tcp(mover, wire.clone(), &mut buffers),
            wire.len() as u64
        );
        let expected: Vec<u8> = (0..100_000).flat_map(|_| *b"line\n").collect();
        assert!(std::fs::read(dir.path().join("a.txt")).unwrap() == expected);
    }

    #[test]
    fn an_upload_is_published_at_the_end_of_its_data_and_not_before() {
        let dir = tempfile::tempdir().unwrap();
        let data = content();
        let mut receive = receive(upload(dir.path(), "up.bin"), false);
        let mut buffers = Buffers::new();
        let mut moved = 0;
        let mut incoming = Incoming {
            bytes: &data,
            end: false,
        };
        // One full buffer per step, then the turn is over.
        assert!(matches!(
            receive.step(&mut incoming, &mut moved, BUDGET, &mut buffers),
            Step::Yield
        ));
        assert_eq!(moved, BUDGET as u64);
        loop {
            match receive.step(&mut incoming, &mut moved, BUDGET, &mut buffers) {
                Step::Yield => {}
                Step::Blocked => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(moved, data.len() as u64);
        assert!(!dir.path().join("up.bin").exists());
        incoming.end = true;
        assert!(matches!(
            receive.step(&mut incoming, &mut moved, BUDGET, &mut buffers),
            Step::Done
        ));
        assert!(std::fs::read(dir.path().join("up.bin")).unwrap() == data);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn uploads_taking_turns_share_the_loops_buffers() {
        let dir = tempfile::tempdir().unwrap();
        let one = content();
        let two: Vec<u8> = one.iter().rev().copied().collect();
        let mut first = receive(upload(dir.path(), "one.bin"), false);
        let mut second = receive(upload(dir.path(), "two.bin"), false);
        let mut buffers = Buffers::new();
        let (mut moved_one, mut moved_two) = (0, 0);
        let (mut left_one, mut left_two) = (&one[..], &two[..]);
        let (mut done_one, mut done_two) = (false, false);
        while !(done_one && done_two) {
            // Each turn hands each upload some of its bytes, or its end.
            if !done_one {
                let a = left_one.len().min(100_003);
                let mut incoming = Incoming {
                    bytes: &left_one[..a],
                    end: left_one.is_empty(),
                };
                let step = first.step(&mut incoming, &mut moved_one, BUDGET, &mut buffers);
                done_one = matches!(step, Step::Done);
                left_one = &left_one[a..];
            }
            if !done_two {
                let b = left_two.len().min(77_777);
                let mut incoming = Incoming {
                    bytes: &left_two[..b],
                    end: left_two.is_empty(),
                };
                let step = second.step(&mut incoming, &mut moved_two, BUDGET, &mut buffers);
                done_two = matches!(step, Step::Done);
                left_two = &left_two[b..];
            }
        }
        assert_eq!((moved_one, moved_two), (one.len() as u64, two.len() as u64));
        assert!(std::fs::read(dir.path().join("one.bin")).unwrap() == one);
        assert!(std::fs::read(dir.path().join("two.bin")).unwrap() == two);
    }

    #[test]
    fn a_type_a_upload_loses_its_cr_and_counts_wire_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut receive = receive(upload(dir.path(), "a.txt"), true);
        let mut buffers = Buffers::new();
        let mut moved = 0;
        let wire = b"one\r\ntwo\r\n";
        let mut incoming = Incoming {
            bytes: wire,
            end: true,
        };
        assert!(matches!(
            receive.step(&mut incoming, &mut moved, BUDGET, &mut buffers),
            Step::Done
        ));
        assert_eq!(moved, wire.len() as u64);
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).unwrap(),
            b"one\ntwo\n"
        );
    }

    #[test]
    fn an_upload_cut_off_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut receive = receive(upload(dir.path(), "cut.bin"), false);
        let mut buffers = Buffers::new();
        let mut moved = 0;
        let mut incoming = Incoming {
            bytes: b"partial",
            end: false,
        };
        assert!(matches!(
            receive.step(&mut incoming, &mut moved, BUDGET, &mut buffers),
            Step::Blocked
        ));
        drop(receive);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
