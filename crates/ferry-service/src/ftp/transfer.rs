//! A transfer's ends that are not the data connection, the same in every
//! driver: telling the session it starts (the 150) and how it ended (the
//! 226 or the failure), reading a download's file (through the
//! transfer's format: TYPE A's LF becomes CR LF, MODE B frames blocks...),
//! writing an upload's (the format undone) and publishing it once its
//! data ended cleanly. The driver moves the bytes on the data
//! connection, with buffers of its own choosing, and says when.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;

use ferry_storage::StorageError;
use ferry_time::Instant;
use ftp_proto::format::{Decoder, Encoder, Format, Marker, DECODE_SLICE};
use ftp_proto::server::{Completion, Failure, RequestId, Session, Transfer};

use super::{failure, open_job, Download, Job, SessionLog, View};
use crate::metrics::{ErrorClass, Metrics, Protocol};
use crate::{Body, NewStoreUpload, StoreUpload};

/// Opens what transfer `id` moves and tells the session, which answers
/// 150 (or the failure, and then there is no job). The driver sends that
/// reply before it opens or takes the data connection.
pub fn begin_transfer(
    session: &mut Session,
    log: &mut SessionLog,
    view: &View,
    now: Instant,
    id: RequestId,
    transfer: &Transfer,
) -> Option<Job> {
    log.transfer_began();
    transfer_opened(session, now, id, open_job(view, transfer))
}

/// Tells the session what [`open_job`] made of transfer `id` (run
/// elsewhere, by a driver that must not wait for it): its 150 and the
/// job, or the failure, and then there is no job.
pub fn transfer_opened(
    session: &mut Session,
    now: Instant,
    id: RequestId,
    opened: Result<(Job, Completion), Failure>,
) -> Option<Job> {
    match opened {
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

/// How a download is sent: see [`Source::route`].
#[derive(Debug)]
pub enum Route {
    /// The file's bytes from its position to its end, as they are.
    Whole(File),
    /// Read and turned into wire bytes.
    Through(Box<Source>),
}

/// A download's file, read from its position and turned into wire bytes.
#[derive(Debug)]
pub struct Source {
    file: Body,
    /// `None`: the wire bytes are the file's (TYPE I, STRU F, MODE S).
    encoder: Option<Encoder>,
    /// RANG: file bytes still to send.
    left: Option<u64>,
    /// The encoder's end (MODE B's EOF block...) is written.
    finished: bool,
}

impl Source {
    /// `download` sent in `format`.
    pub fn new(download: Download, format: Format) -> Source {
        Source {
            file: download.body,
            encoder: (!format.is_plain()).then(|| Encoder::new(format, download.offset)),
            left: download.len,
            finished: false,
        }
    }

    /// All of `file` from its position, as it is (TYPE I where
    /// `sendfile(2)` cannot send it).
    pub fn plain(file: File) -> Source {
        Source {
            file: Body::File(file),
            encoder: None,
            left: None,
            finished: false,
        }
    }

    /// How `download` goes out in `format`: a local file whose whole
    /// bytes go as they are may be handed to `sendfile(2)`; anything else
    /// (another format, a RANG range, an object's GET) goes through a
    /// [`Source`].
    pub fn route(download: Download, format: Format) -> Route {
        match download {
            Download {
                body: Body::File(file),
                len: None,
                ..
            } if format.is_plain() => Route::Whole(file),
            download => Route::Through(Box::new(Source::new(download, format))),
        }
    }

    /// Whether reading waits on the network (see [`Body::is_remote`]).
    pub fn is_remote(&self) -> bool {
        self.file.is_remote()
    }

    /// How many file bytes to read so that their wire bytes fit in
    /// `room` (TYPE A may double every byte, and so may STRU R's escapes).
    pub fn read_size(&self, room: usize) -> usize {
        if self.encoder.is_some() {
            room / 2
        } else {
            room
        }
    }

    /// The wire bytes of the next at most `buf.len()` bytes of the file:
    /// in `buf`, or converted into `converted` (any other format, which
    /// may hold bytes back and add its own at the end, so that a call can
    /// give more than `buf.len()` bytes); `None` at the end.
    pub fn read<'a>(
        &mut self,
        buf: &'a mut [u8],
        converted: &'a mut Vec<u8>,
    ) -> Result<Option<&'a [u8]>, Failure> {
        loop {
            let want = match self.left {
                Some(left) => buf.len().min(usize::try_from(left).unwrap_or(usize::MAX)),
                None => buf.len(),
            };
            let n = match want {
                0 => 0,
                _ => loop {
                    match self.file.read(&mut buf[..want]) {
                        Ok(n) => break n,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            Metrics::global().error(Protocol::Ftp, ErrorClass::Io);
                            return Err(Failure::Io);
                        }
                    }
                },
            };
            if let Some(left) = &mut self.left {
                *left -= n as u64;
            }
            let Some(encoder) = &mut self.encoder else {
                return Ok((n > 0).then_some(&buf[..n]));
            };
            converted.clear();
            if n == 0 {
                if std::mem::replace(&mut self.finished, true) {
                    return Ok(None);
                }
                encoder.finish(converted);
            } else {
                encoder.encode(&buf[..n], converted);
            }
            if !converted.is_empty() {
                return Ok(Some(converted));
            }
        }
    }
}

/// An upload's file: wire bytes into the upload (a temporary file, or an
/// object's parts), which is published only by [`commit`](Sink::commit).
/// Dropped before, it removes the temporary file or aborts the multipart
/// upload (a reset, an ABOR, a timeout, a shutdown).
#[derive(Debug)]
pub struct Sink {
    upload: StoreUpload,
    /// `None`: the file's bytes are the wire bytes.
    decoder: Option<Decoder>,
}

impl Sink {
    /// Into `upload`, received in `format`. The data's restart markers
    /// ([`take_marker`](Self::take_marker)) count file offsets from what
    /// the upload holds already: an APPE's old file, or REST+STOR's kept
    /// part, so a marker names the offset a `REST` would resume at.
    pub fn new(mut upload: StoreUpload, format: Format) -> Sink {
        let start = upload
            .file()
            .and_then(|file| file.metadata().ok())
            .map_or(0, |meta| meta.len());
        Sink {
            upload,
            decoder: (!format.is_plain()).then(|| Decoder::new(format, start)),
        }
    }

    /// The oldest restart marker the data carried (MODE B and C) and not
    /// yet taken, for [`Session::restart_marker`]. A driver takes them
    /// after every [`write`](Self::write); of more than
    /// [`MAX_PENDING_MARKERS`](ftp_proto::format::MAX_PENDING_MARKERS) in
    /// one write only the newest are kept.
    pub fn take_marker(&mut self) -> Option<Marker> {
        self.decoder.as_mut().and_then(Decoder::take_marker)
    }

    /// Readies `upload` ([`NewStoreUpload::prepare`]: for APPE and
    /// REST+STOR a copy of the old file, which may take long) and receives
    /// into it.
    pub fn prepare(upload: NewStoreUpload, format: Format) -> Result<Sink, Failure> {
        let upload = upload.prepare().map_err(failure)?;
        Ok(Sink::new(upload, format))
    }

    /// Whether storing waits on the network (see
    /// [`StoreUpload::is_remote`]).
    pub fn is_remote(&self) -> bool {
        self.upload.is_remote()
    }

    /// Stores bytes that came on the data connection, converted through
    /// `converted` unless they are the file's as they are.
    pub fn write(&mut self, wire: &[u8], converted: &mut Vec<u8>) -> Result<(), Failure> {
        let Some(decoder) = &mut self.decoder else {
            return self.upload.write_all(wire).map_err(write_failure);
        };
        for piece in wire.chunks(DECODE_SLICE) {
            converted.clear();
            decoder
                .decode(piece, converted)
                .map_err(|_| Failure::MalformedData)?;
            self.upload.write_all(converted).map_err(write_failure)?;
        }
        Ok(())
    }

    /// The data carried its own end of file (MODE B or C, STRU R): the
    /// upload is whole, whether or not the client closes the connection
    /// (RFC 959 §3.4.2 lets a block-mode sender keep it open).
    pub fn is_complete(&self) -> bool {
        self.decoder.as_ref().is_some_and(Decoder::is_complete)
    }

    /// The client closed the data connection cleanly (or the data ended,
    /// [`is_complete`](Self::is_complete)): stores what the format held
    /// back and publishes the file. Data that ended before its format's
    /// end of file marker is refused, and the file stays unpublished.
    pub fn commit(mut self, converted: &mut Vec<u8>) -> Result<(), Failure> {
        if let Some(decoder) = &mut self.decoder {
            converted.clear();
            decoder
                .finish(converted)
                .map_err(|_| Failure::MalformedData)?;
            self.upload.write_all(converted).map_err(write_failure)?;
        }
        self.upload.commit().map_err(failure)
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

    fn download(bytes: &[u8], len: Option<u64>) -> Download {
        Download {
            body: Body::File(file_with(bytes)),
            offset: 0,
            len,
        }
    }

    fn block_mode() -> Format {
        Format {
            mode: ftp_proto::format::Mode::Block,
            ..Format::IMAGE
        }
    }

    #[test]
    fn a_source_gives_the_file_or_its_cr_lf_form() {
        let text = b"one\ntwo\r\nthree\n";
        assert_eq!(read_all(Source::plain(file_with(text)), 4), text);
        // A CR LF split between two reads stays one line end.
        assert_eq!(
            read_all(Source::new(download(text, None), Format::ASCII), 8),
            b"one\r\ntwo\r\nthree\r\n"
        );
        let source = Source::new(download(text, None), Format::ASCII);
        assert_eq!(source.read_size(64), 32);
        assert_eq!(Source::plain(file_with(text)).read_size(64), 64);
    }

    #[test]
    fn a_source_sends_a_range_and_frames_blocks() {
        let text = b"0123456789";
        let range = Source::new(download(text, Some(4)), Format::IMAGE);
        assert_eq!(read_all(range, 3), b"0123");
        // Block mode: nothing until the end, then one EOF block.
        let blocks = Source::new(download(text, Some(4)), block_mode());
        assert_eq!(read_all(blocks, 3), b"\x40\x00\x040123");
        let whole = |d, f| matches!(Source::route(d, f), Route::Whole(_));
        assert!(!whole(download(text, Some(4)), Format::IMAGE));
        assert!(!whole(download(text, None), Format::ASCII));
        assert!(whole(download(text, None), Format::IMAGE));
    }

    #[test]
    fn a_sink_knows_when_block_mode_data_ended() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path()).unwrap();
        let mut converted = Vec::new();
        let new = NewStoreUpload::Local(root.begin_upload("b.bin", UploadMode::Replace).unwrap());
        let mut sink = Sink::prepare(new, block_mode()).unwrap();
        sink.write(b"\x00\x00\x02ab\x40", &mut converted).unwrap();
        assert!(!sink.is_complete());
        sink.write(b"\x00\x01c", &mut converted).unwrap();
        assert!(sink.is_complete());
        sink.commit(&mut converted).unwrap();
        assert_eq!(std::fs::read(dir.path().join("b.bin")).unwrap(), b"abc");
        // Cut before the EOF block: refused, nothing published.
        let new = NewStoreUpload::Local(root.begin_upload("c.bin", UploadMode::Replace).unwrap());
        let mut sink = Sink::prepare(new, block_mode()).unwrap();
        sink.write(b"\x00\x00\x02ab", &mut converted).unwrap();
        assert_eq!(sink.commit(&mut converted), Err(Failure::MalformedData));
        assert!(!dir.path().join("c.bin").exists());
        // Not a block at all.
        let new = NewStoreUpload::Local(root.begin_upload("d.bin", UploadMode::Replace).unwrap());
        let mut sink = Sink::prepare(new, block_mode()).unwrap();
        let bad = sink.write(b"\x0f\x00\x00", &mut converted);
        assert_eq!(bad, Err(Failure::MalformedData));
    }

    #[test]
    fn a_sinks_markers_are_offsets_in_the_stored_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.bin"), b"0123456789").unwrap();
        let root = Root::new(dir.path()).unwrap();
        let mut converted = Vec::new();
        // REST 4 + STOR: four bytes kept, then "ab", a marker, "c".
        let mode = UploadMode::Resume(4);
        let new = NewStoreUpload::Local(root.begin_upload("m.bin", mode).unwrap());
        let mut sink = Sink::prepare(new, block_mode()).unwrap();
        sink.write(b"\x00\x00\x02ab\x10\x00\x02m1\x40\x00\x01c", &mut converted)
            .unwrap();
        let marker = sink.take_marker().unwrap();
        assert_eq!((&marker.sender[..], marker.offset), (&b"m1"[..], 6));
        assert_eq!(sink.take_marker(), None);
        sink.commit(&mut converted).unwrap();
        assert_eq!(std::fs::read(dir.path().join("m.bin")).unwrap(), b"0123abc");
    }

    #[test]
    fn a_sink_inflates_mode_z_a_slice_at_a_time() {
        let deflate = Format {
            mode: ftp_proto::format::Mode::Deflate,
            level: 9,
            ..Format::IMAGE
        };
        // 16 MiB of zeros deflate to about 16 KiB.
        let file = vec![0u8; 16 << 20];
        let mut wire = Vec::new();
        let mut encoder = Encoder::new(deflate, 0);
        encoder.encode(&file, &mut wire);
        encoder.finish(&mut wire);
        assert!(wire.len() < 64 << 10, "{}", wire.len());
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path()).unwrap();
        let new = NewStoreUpload::Local(root.begin_upload("z.bin", UploadMode::Replace).unwrap());
        let mut sink = Sink::prepare(new, deflate).unwrap();
        let mut converted = Vec::new();
        sink.write(&wire, &mut converted).unwrap();
        assert!(converted.capacity() <= 4 << 20, "{}", converted.capacity());
        assert!(sink.is_complete());
        sink.commit(&mut converted).unwrap();
        assert!(std::fs::read(dir.path().join("z.bin")).unwrap() == file);
    }

    #[test]
    fn a_sink_publishes_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path()).unwrap();
        let new = NewStoreUpload::Local(root.begin_upload("a.txt", UploadMode::Replace).unwrap());
        let mut sink = Sink::prepare(new, Format::ASCII).unwrap();
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

        let new = NewStoreUpload::Local(root.begin_upload("b.bin", UploadMode::Replace).unwrap());
        let mut sink = Sink::prepare(new, Format::IMAGE).unwrap();
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
