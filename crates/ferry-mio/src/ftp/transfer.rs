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

/// Buffer of a download that goes through user space (TYPE A, a file
/// `sendfile(2)` cannot send); allocated only while it runs.
const BUFFER: usize = 64 * 1024;

/// Buffer of an upload, allocated only while it runs: one read per turn
/// takes what a fast client has sent meanwhile (fewer, larger reads and
/// writes; the blocking driver's buffer is as large).
const RECEIVE_BUFFER: usize = BUDGET;

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
    /// A download through a buffer: TYPE A (LF becomes CR LF), or where
    /// `sendfile(2)` is not supported.
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
    /// Raw bytes read from the file (TYPE A only).
    raw: Vec<u8>,
    /// Bytes for the wire, sent up to `at`.
    out: Vec<u8>,
    at: usize,
    eof: bool,
}

pub(super) struct Receive {
    upload: Option<Upload>,
    decoder: Option<Decoder>,
    buf: Vec<u8>,
    out: Vec<u8>,
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
            raw: if encoder.is_some() {
                vec![0; BUFFER]
            } else {
                Vec::new()
            },
            encoder,
            out: Vec::with_capacity(BUFFER * 2),
            at: 0,
            eof: false,
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
            buf: vec![0; RECEIVE_BUFFER],
            out: Vec::new(),
        }))
    }

    /// Moves what the connection takes or gives, at most [`BUDGET`] bytes,
    /// adding them to `moved` (bytes on the wire).
    pub(super) fn step<S: Read + Write + std::os::fd::AsFd>(
        &mut self,
        stream: &mut S,
        moved: &mut u64,
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
                                return self.step(stream, moved);
                            }
                            Err(_) => return Step::Failed(Ended::Local(Failure::Io)),
                        }
                    }
                    Err(rustix::io::Errno::IO) => return Step::Failed(Ended::Local(Failure::Io)),
                    Err(_) => return Step::Failed(Ended::Data),
                }
            },
            Mover::Buffered(copy) => copy.step(stream, moved, budget),
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
            Mover::Receive(receive) => receive.step(stream, moved, budget),
        }
    }
}

impl Buffered {
    fn step<S: Write>(&mut self, stream: &mut S, moved: &mut u64, mut budget: usize) -> Step {
        loop {
            if self.at < self.out.len() {
                if budget == 0 {
                    return Step::Yield;
                }
                let end = self.out.len().min(self.at + budget);
                match write(stream, &self.out[self.at..end]) {
                    Ok(Some(n)) => {
                        self.at += n;
                        *moved += n as u64;
                        budget -= n;
                    }
                    Ok(None) => return Step::Blocked,
                    Err(ended) => return Step::Failed(ended),
                }
                continue;
            }
            if self.eof {
                return Step::Done;
            }
            self.out.clear();
            self.at = 0;
            let read = match &mut self.encoder {
                Some(encoder) => {
                    let read = read_file(&mut self.file, &mut self.raw);
                    if let Ok(n) = read {
                        encoder.encode(&self.raw[..n], &mut self.out);
                    }
                    read
                }
                None => {
                    self.out.resize(BUFFER, 0);
                    let read = read_file(&mut self.file, &mut self.out);
                    self.out.truncate(*read.as_ref().unwrap_or(&0));
                    read
                }
            };
            match read {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(ended) => return Step::Failed(ended),
            }
        }
    }
}

impl Receive {
    fn step<S: Read>(&mut self, stream: &mut S, moved: &mut u64, mut budget: usize) -> Step {
        loop {
            if budget == 0 {
                return Step::Yield;
            }
            let n = match stream.read(&mut self.buf) {
                Ok(0) => return self.finish(),
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Step::Blocked,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Step::Failed(Ended::Data),
            };
            *moved += n as u64;
            budget = budget.saturating_sub(n);
            let Some(upload) = &mut self.upload else {
                return Step::Failed(Ended::Local(Failure::Io));
            };
            let bytes = match &mut self.decoder {
                Some(decoder) => {
                    self.out.clear();
                    decoder.decode(&self.buf[..n], &mut self.out);
                    &self.out[..]
                }
                None => &self.buf[..n],
            };
            if let Err(err) = upload.file().write_all(bytes) {
                return Step::Failed(local(err));
            }
        }
    }

    /// The client closed the connection: the upload is complete.
    fn finish(&mut self) -> Step {
        let Some(mut upload) = self.upload.take() else {
            return Step::Failed(Ended::Local(Failure::Io));
        };
        if let Some(decoder) = &mut self.decoder {
            self.out.clear();
            decoder.finish(&mut self.out);
            if let Err(err) = upload.file().write_all(&self.out) {
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
        let mut moved = 0;
        loop {
            let before = moved;
            match mover.step(&mut sender, &mut moved) {
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
        let mut moved = 0;
        assert!(matches!(
            copy.step(&mut sink, &mut moved, BUDGET),
            Step::Yield
        ));
        assert_eq!(moved, BUDGET as u64);
        assert_eq!(sink.len(), BUDGET);
        while !matches!(copy.step(&mut sink, &mut moved, BUDGET), Step::Done) {}
        assert!(sink == content());
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
        let mut moved = 0;
        let mut incoming = Incoming {
            bytes: &data,
            end: false,
        };
        // One full buffer per step, then the turn is over.
        assert!(matches!(
            receive.step(&mut incoming, &mut moved, BUDGET),
            Step::Yield
        ));
        assert_eq!(moved, BUDGET as u64);
        loop {
            match receive.step(&mut incoming, &mut moved, BUDGET) {
                Step::Yield => {}
                Step::Blocked => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(moved, data.len() as u64);
        assert!(!dir.path().join("up.bin").exists());
        incoming.end = true;
        assert!(matches!(
            receive.step(&mut incoming, &mut moved, BUDGET),
            Step::Done
        ));
        assert!(std::fs::read(dir.path().join("up.bin")).unwrap() == data);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_type_a_upload_loses_its_cr_and_counts_wire_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut receive = receive(upload(dir.path(), "a.txt"), true);
        let mut moved = 0;
        let wire = b"one\r\ntwo\r\n";
        let mut incoming = Incoming {
            bytes: wire,
            end: true,
        };
        assert!(matches!(
            receive.step(&mut incoming, &mut moved, BUDGET),
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
        let mut moved = 0;
        let mut incoming = Incoming {
            bytes: b"partial",
            end: false,
        };
        assert!(matches!(
            receive.step(&mut incoming, &mut moved, BUDGET),
            Step::Blocked
        ));
        drop(receive);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
