//! A transfer's ends that are not the data connection, the same in every
//! driver: telling the session it starts (the 150) and how it ended (the
//! 226 or the failure), reading a download's file (TYPE A's LF becomes
//! CR LF), writing an upload's (CR LF becomes LF) and publishing it once
//! its data ended cleanly. The driver moves the bytes on the data
//! connection, with buffers of its own choosing, and says when.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;

use ferry_storage::{NewUpload, StorageError, Upload};
use ferry_time::Instant;
use ftp_proto::ascii::{Decoder, Encoder};
use ftp_proto::server::{Completion, Failure, RequestId, Session, TransferKind};

use super::{failure, open_job, Job, SessionLog, View};
use crate::metrics::{ErrorClass, Metrics, Protocol};

/// Opens what transfer `id` moves and tells the session, which answers
/// 150 (or the failure, and then there is no job). The driver sends that
/// reply before it opens or takes the data connection.
pub fn begin_transfer(
    session: &mut Session,
    log: &mut SessionLog,
    view: &View,
    now: Instant,
    id: RequestId,
    kind: &TransferKind,
) -> Option<Job> {
    log.transfer_began();
    match open_job(view, kind) {
        Ok((job, started)) => {
            session.complete(now, id, started);
            Some(job)
        }
        Err(failure) => {
            session.complete(now, id, Completion::Failed(failure));
            None
        }
    }
}

/// Tells the session how transfer `id` ended after `moved` bytes on the
/// data connection (the 226, or the failure's reply), and logs them. The
/// data connection is closed by then (RFC 959 §3.2: the data ends before
/// the reply).
pub fn end_transfer(
    session: &mut Session,
    log: &mut SessionLog,
    now: Instant,
    id: RequestId,
    moved: u64,
    completion: Completion,
) {
    // The data connection's own failures (the file's are counted where
    // the storage said them, a TLS handshake's where it failed).
    if let Completion::Failed(Failure::NoDataConnection | Failure::DataConnectionLost) = completion
    {
        Metrics::global().error(Protocol::Ftp, ErrorClass::Io);
    }
    log.transfer_moved(moved);
    session.transfer_progress(now, id, moved);
    session.complete(now, id, completion);
}

/// How a transfer ended, as the session's completion: all `bytes` moved,
/// or why not. A transfer the session asked to stop (ABOR, a data timeout,
/// a shutdown) that then broke ended because of that.
pub fn completion(result: Result<u64, Failure>, stopped: bool) -> Completion {
    match result {
        Ok(bytes) => Completion::Finished { bytes },
        Err(_) if stopped => Completion::Failed(Failure::Aborted),
        Err(failure) => Completion::Failed(failure),
    }
}

/// What one [`send_file`] call did.
#[derive(Debug, PartialEq, Eq)]
pub enum SendFile {
    /// This many bytes went; none at the end of the file.
    Sent(usize),
    /// The socket is full (non-blocking sockets only).
    WouldBlock,
    /// The kernel cannot send this file so: copy it through a buffer
    /// instead, if nothing was sent yet.
    Unsupported,
    /// The transfer failed.
    Failed(Failure),
}

/// Up to `max` bytes of `file`, from its position, onto `socket` without a
/// copy through user space (`sendfile(2)`).
pub fn send_file(socket: impl AsFd, file: &File, max: usize) -> SendFile {
    loop {
        return match rustix::fs::sendfile(&socket, file, None, max) {
            Ok(n) => SendFile::Sent(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::AGAIN) => SendFile::WouldBlock,
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => SendFile::Unsupported,
            Err(rustix::io::Errno::IO) => SendFile::Failed(Failure::Io),
            Err(_) => SendFile::Failed(Failure::DataConnectionLost),
        };
    }
}

/// A download's file, read from its position and turned into wire bytes.
#[derive(Debug)]
pub struct Source {
    file: File,
    encoder: Option<Encoder>,
}

impl Source {
    /// `file` sent in TYPE A (`ascii`) or TYPE I.
    pub fn new(file: File, ascii: bool) -> Source {
        Source {
            file,
            encoder: ascii.then(Encoder::new),
        }
    }

    /// How many file bytes to read so that their wire bytes fit in
    /// `room` (TYPE A may double every byte).
    pub fn read_size(&self, room: usize) -> usize {
        if self.encoder.is_some() {
            room / 2
        } else {
            room
        }
    }

    /// The wire bytes of the next at most `buf.len()` bytes of the file:
    /// in `buf`, or converted into `converted` (TYPE A); `None` at the end
    /// of the file.
    pub fn read<'a>(
        &mut self,
        buf: &'a mut [u8],
        converted: &'a mut Vec<u8>,
    ) -> Result<Option<&'a [u8]>, Failure> {
        let n = loop {
            match self.file.read(buf) {
                Ok(n) => break n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    Metrics::global().error(Protocol::Ftp, ErrorClass::Io);
                    return Err(Failure::Io);
                }
            }
        };
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(match &mut self.encoder {
            Some(encoder) => {
                converted.clear();
                encoder.encode(&buf[..n], converted);
                converted
            }
            None => &buf[..n],
        }))
    }
}

/// An upload's file: wire bytes into the upload's temporary file, which is
/// published only by [`commit`](Sink::commit). Dropped before, it removes
/// the temporary file (a reset, an ABOR, a timeout, a shutdown).
#[derive(Debug)]
pub struct Sink {
    upload: Upload,
    decoder: Option<Decoder>,
}

impl Sink {
    /// Into `upload`, received in TYPE A (`ascii`) or TYPE I.
    pub fn new(upload: Upload, ascii: bool) -> Sink {
        Sink {
            upload,
            decoder: ascii.then(Decoder::new),
        }
    }

    /// Readies `upload` ([`NewUpload::prepare`]: for APPE and REST+STOR a
    /// copy of the old file, which may take long) and receives into it.
    pub fn prepare(upload: NewUpload, ascii: bool) -> Result<Sink, Failure> {
        let upload = upload.prepare().map_err(failure)?;
        Ok(Sink::new(upload, ascii))
    }

    /// Stores bytes that came on the data connection; TYPE A's are
    /// converted through `converted`.
    pub fn write(&mut self, wire: &[u8], converted: &mut Vec<u8>) -> Result<(), Failure> {
        let bytes = match &mut self.decoder {
            Some(decoder) => {
                converted.clear();
                decoder.decode(wire, converted);
                &converted[..]
            }
            None => wire,
        };
        self.upload.file().write_all(bytes).map_err(write_failure)
    }

    /// The client closed the data connection cleanly: the data is all
    /// there. Stores what TYPE A held back and publishes the file.
    pub fn commit(mut self, converted: &mut Vec<u8>) -> Result<(), Failure> {
        if let Some(decoder) = &mut self.decoder {
            converted.clear();
            decoder.finish(converted);
            self.upload
                .file()
                .write_all(converted)
                .map_err(write_failure)?;
        }
        self.upload.commit().map(drop).map_err(failure)
    }
}

fn write_failure(err: io::Error) -> Failure {
    failure(StorageError::from(err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Seek;

    use ferry_storage::{Root, UploadMode};

    fn file_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file.rewind().unwrap();
        file
    }

    fn read_all(mut source: Source, chunk: usize) -> Vec<u8> {
        let (mut buf, mut converted) = (vec![0; chunk], Vec::new());
        let mut wire = Vec::new();
        while let Some(bytes) = source.read(&mut buf, &mut converted).unwrap() {
            assert!(!bytes.is_empty());
            wire.extend_from_slice(bytes);
        }
        wire
    }

    #[test]
    fn a_source_gives_the_file_or_its_cr_lf_form() {
        let text = b"one\ntwo\r\nthree\n";
        assert_eq!(read_all(Source::new(file_with(text), false), 4), text);
        // A CR LF split between two reads stays one line end.
        assert_eq!(
            read_all(Source::new(file_with(text), true), 8),
            b"one\r\ntwo\r\nthree\r\n"
        );
        let source = Source::new(file_with(text), true);
        assert_eq!(source.read_size(64), 32);
        assert_eq!(Source::new(file_with(text), false).read_size(64), 64);
    }

    #[test]
    fn a_sink_publishes_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path()).unwrap();
        let new = root.begin_upload("a.txt", UploadMode::Replace).unwrap();
        let mut sink = Sink::prepare(new, true).unwrap();
        let mut converted = Vec::new();
        // The CR at the end of a write is held back until the next shows
        // what follows it; at the end it is stored.
        for wire in [&b"one\r"[..], b"\ntwo\r", b"\r\nend\r"] {
            sink.write(wire, &mut converted).unwrap();
        }
        assert!(!dir.path().join("a.txt").exists());
        sink.commit(&mut converted).unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).unwrap(),
            b"one\ntwo\r\nend\r"
        );

        let new = root.begin_upload("b.bin", UploadMode::Replace).unwrap();
        let mut sink = Sink::prepare(new, false).unwrap();
        sink.write(b"partial\r\n", &mut converted).unwrap();
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_stopped_transfer_ended_by_the_stop() {
        let lost = Err(Failure::DataConnectionLost);
        assert_eq!(
            completion(lost, false),
            Completion::Failed(Failure::DataConnectionLost)
        );
        assert_eq!(completion(lost, true), Completion::Failed(Failure::Aborted));
        assert_eq!(completion(Ok(7), true), Completion::Finished { bytes: 7 });
    }
}
