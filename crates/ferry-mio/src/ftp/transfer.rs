//! Moving one transfer's bytes on a non-blocking data connection, a
//! bounded amount per call, so that one fast client cannot keep the loop
//! from everyone else.

use std::fs::File;
use std::io::{self, Read, Write};

use ferry_service::ftp::failure;
use ferry_storage::{StorageError, Upload};
use ftp_proto::ascii::{Decoder, Encoder};
use ftp_proto::server::Failure;

/// Bytes moved on the data connection per call at most, before the
/// transfer yields to the rest of the loop.
pub(super) const BUDGET: usize = 256 * 1024;

/// Wire bytes one file read of a buffered download gives at most (TYPE A
/// reads half as much: each LF may become CR LF). What the socket does not
/// take of them is all a download keeps between steps.
const CHUNK: usize = 64 * 1024;

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
}

impl Buffers {
    pub(super) fn new() -> Buffers {
        Buffers {
            read: vec![0; BUDGET].into_boxed_slice(),
            converted: Vec::new(),
        }
    }
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
    /// The transfer failed.
    Failed(Ended),
}

/// Why a transfer did not finish.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Ended {
    /// The data connection broke.
    Data,
    /// The file side failed.
    Local(Failure),
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
}

pub(super) struct Buffered {
    file: File,
    encoder: Option<Encoder>,
    /// Wire bytes read from the file that the socket has not taken yet,
    /// sent from `at`: they wait for the next step (at most [`CHUNK`]).
    /// No allocation while the socket keeps up.
    unsent: Vec<u8>,
    at: usize,
}

pub(super) struct Receive {
    upload: Option<Upload>,
    decoder: Option<Decoder>,
}

impl Mover {
    /// A download of `file`, from its current position.
    pub(super) fn send(file: File, ascii: bool) -> Mover {
        if ascii {
            Mover::copy(file, Some(Encoder::new()))
        } else {
            Mover::SendFile(file)
        }
    }

    fn copy(file: File, encoder: Option<Encoder>) -> Mover {
        Mover::Buffered(Box::new(Buffered {
            file,
            encoder,
            unsent: Vec::new(),
            at: 0,
        }))
    }

    /// A listing's lines.
    pub(super) fn listing(bytes: Vec<u8>) -> Mover {
        Mover::Listing { bytes, at: 0 }
    }

    /// An upload into `upload`, ready for data.
    pub(super) fn receive(upload: Upload, ascii: bool) -> Mover {
        Mover::Receive(Box::new(Receive {
            upload: Some(upload),
            decoder: ascii.then(Decoder::new),
        }))
    }

    /// Moves what the connection takes or gives, at most [`BUDGET`] bytes,
    /// adding them to `moved` (bytes on the wire). `buffers` are the
    /// loop's: nothing is left in them when this returns.
    pub(super) fn step<S: Read + Write + std::os::fd::AsFd>(
        &mut self,
        stream: &mut S,
        moved: &mut u64,
        buffers: &mut Buffers,
    ) -> Step {
        let mut budget = BUDGET;
        match self {
            Mover::SendFile(file) => loop {
                if budget == 0 {
                    return Step::Yield;
                }
                match rustix::fs::sendfile(&*stream, &*file, None, budget) {
                    Ok(0) => return Step::Done,
                    Ok(n) => {
                        *moved += n as u64;
                        budget = budget.saturating_sub(n);
                    }
                    Err(rustix::io::Errno::INTR) => {}
                    Err(rustix::io::Errno::AGAIN) => return Step::Blocked,
                    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) if *moved == 0 => {
                        let file = file.try_clone();
                        match file {
                            Ok(file) => {
                                *self = Mover::copy(file, None);
                                return self.step(stream, moved, buffers);
                            }
                            Err(_) => return Step::Failed(Ended::Local(Failure::Io)),
                        }
                    }
                    Err(rustix::io::Errno::IO) => return Step::Failed(Ended::Local(Failure::Io)),
                    Err(_) => return Step::Failed(Ended::Data),
                }
            },
            Mover::Buffered(copy) => copy.step(stream, moved, budget, buffers),
            Mover::Listing { bytes, at } => loop {
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
                    Err(ended) => return Step::Failed(ended),
                }
            },
            Mover::Receive(receive) => receive.step(stream, moved, budget, buffers),
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
        while self.at < self.unsent.len() {
            if budget == 0 {
                return Step::Yield;
            }
            let end = self.unsent.len().min(self.at + budget);
            match write(stream, &self.unsent[self.at..end]) {
                Ok(Some(n)) => {
                    self.at += n;
                    *moved += n as u64;
                    budget -= n;
                }
                Ok(None) => return Step::Blocked,
                Err(ended) => return Step::Failed(ended),
            }
        }
        self.unsent = Vec::new();
        self.at = 0;
        loop {
            // No more wire bytes than the budget has room for: read only
            // what can go out in this step.
            let room = budget.min(CHUNK);
            let want = if self.encoder.is_some() {
                room / 2
            } else {
                room
            };
            if want == 0 {
                return Step::Yield;
            }
            let raw = &mut buffers.read[..want];
            let n = match read_file(&mut self.file, raw) {
                Ok(0) => return Step::Done,
                Ok(n) => n,
                Err(ended) => return Step::Failed(ended),
            };
            let wire = match &mut self.encoder {
                Some(encoder) => {
                    buffers.converted.clear();
                    encoder.encode(&raw[..n], &mut buffers.converted);
                    &buffers.converted[..]
                }
                None => &raw[..n],
            };
            let mut sent = 0;
            while sent < wire.len() {
                match write(stream, &wire[sent..]) {
                    Ok(Some(n)) => {
                        sent += n;
                        *moved += n as u64;
                        budget -= n;
                    }
                    Ok(None) => {
                        // Kept for the next step: the file has moved on.
                        self.unsent = wire[sent..].to_vec();
                        return Step::Blocked;
                    }
                    Err(ended) => return Step::Failed(ended),
                }
            }
        }
    }
}

impl Receive {
    fn step<S: Read>(
        &mut self,
        stream: &mut S,
        moved: &mut u64,
        mut budget: usize,
        buffers: &mut Buffers,
    ) -> Step {
        loop {
            if budget == 0 {
                return Step::Yield;
            }
            let want = budget.min(buffers.read.len());
            let n = match stream.read(&mut buffers.read[..want]) {
                Ok(0) => return self.finish(buffers),
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Step::Failed(Ended::Data),
            };
            *moved += n as u64;
            budget -= n;
            let Some(upload) = &mut self.upload else {
                return Step::Failed(Ended::Local(Failure::Io));
            };
            let bytes = match &mut self.decoder {
                Some(decoder) => {
                    buffers.converted.clear();
                    decoder.decode(&buffers.read[..n], &mut buffers.converted);
                    &buffers.converted[..]
                }
                None => &buffers.read[..n],
            };
            if let Err(err) = upload.file().write_all(bytes) {
                return Step::Failed(local(err));
            }
        }
    }

    /// The client closed the connection: the upload is complete.
    fn finish(&mut self, buffers: &mut Buffers) -> Step {
        let Some(mut upload) = self.upload.take() else {
            return Step::Failed(Ended::Local(Failure::Io));
        };
        if let Some(decoder) = &mut self.decoder {
            buffers.converted.clear();
            decoder.finish(&mut buffers.converted);
            if let Err(err) = upload.file().write_all(&buffers.converted) {
                return Step::Failed(local(err));
            }
        }
        match upload.commit() {
            Ok(_) => Step::Done,
            Err(err) => Step::Failed(Ended::Local(failure(err))),
        }
    }
}

/// One non-blocking write: `Some(n)` written, `None` when the socket is full.
fn write<S: Write>(stream: &mut S, bytes: &[u8]) -> Result<Option<usize>, Ended> {
    loop {
        return match stream.write(bytes) {
            Ok(0) => Err(Ended::Data),
            Ok(n) => Ok(Some(n)),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => Err(Ended::Data),
        };
    }
}

fn read_file(file: &mut File, buf: &mut [u8]) -> Result<usize, Ended> {
    loop {
        match file.read(buf) {
            Ok(n) => return Ok(n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Ended::Local(Failure::Io)),
        }
    }
}

fn local(err: io::Error) -> Ended {
    Ended::Local(failure(StorageError::from(err)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use ferry_storage::{Root, UploadMode};

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
            match mover.step(&mut sender, &mut moved, &mut buffers) {
                Step::Done => break,
                Step::Yield => assert!(moved - before <= BUDGET as u64),
                Step::Blocked => std::thread::sleep(Duration::from_millis(1)),
                Step::Failed(ended) => panic!("failed: {ended:?}"),
            }
        }
        drop(sender);
        (reader.join().unwrap(), moved)
    }

    #[test]
    fn sendfile_and_the_buffered_path_send_the_same_bytes() {
        let data = content();
        let (by_sendfile, n) = send(Mover::send(file_with(&data), false));
        assert!(by_sendfile == data);
        assert_eq!(n, data.len() as u64);
        let (by_copy, n) = send(Mover::copy(file_with(&data), None));
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
        let (wire, n) = send(Mover::send(file_with(b"one\ntwo\r\nthree\n"), true));
        assert_eq!(wire, b"one\r\ntwo\r\nthree\r\n");
        assert_eq!(n, wire.len() as u64);
    }

    #[test]
    fn a_download_yields_after_its_budget() {
        // A writer that takes everything: only the budget stops a step.
        let Mover::Buffered(mut copy) = Mover::copy(file_with(&content()), None) else {
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
        let Mover::Buffered(mut copy) = Mover::send(file_with(&text), true) else {
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

    fn upload(dir: &std::path::Path, name: &str) -> Upload {
        let root = Root::new(dir).unwrap();
        let upload = root.begin_upload(name, UploadMode::Replace).unwrap();
        upload.prepare().unwrap()
    }

    fn receive(upload: Upload, ascii: bool) -> Box<Receive> {
        match Mover::receive(upload, ascii) {
            Mover::Receive(receive) => receive,
            _ => unreachable!(),
        }
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
