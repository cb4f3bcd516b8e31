//! The server's file ends: a served file read block by block, an upload
//! written to a temporary file and renamed into place only when complete.

use std::io::{self, BufReader, BufWriter, Write};

use ferry_storage::StorageError;
use tftp_proto::transfer::{LocalError, Negotiated};

use crate::{Body, StoreUpload};

use super::local::{read_failure, read_full, write_failure, Local, LocalFailure};

/// Blocks at least this large are read without the read-ahead buffer.
const DIRECT_READ: usize = 16 * 1024;

/// How much a transfer's file end buffers: a thread per transfer can
/// afford large buffers (fewer system calls); thousands of transfers on one
/// loop cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffering {
    /// Read-ahead of a file being served (0 reads every block directly).
    pub read_ahead: usize,
    /// Most read-ahead a windowed download grows to: once the options
    /// are known, a served file reads one window's bytes (block size ×
    /// window size) at a time, up to this, where that is more than
    /// [`read_ahead`](Self::read_ahead). Lock-step transfers keep
    /// `read_ahead`.
    pub window_read_ahead: usize,
    /// Write-behind of an upload.
    pub write_behind: usize,
}

/// The ERROR a request gets when storage says no (RFC 1350 §5 codes).
pub fn refusal_for(err: &StorageError) -> (LocalError, &'static str) {
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
#[derive(Debug)]
pub enum FileEnd {
    /// A download: the file is read.
    Read(FileSource),
    /// An upload: the file is written.
    Write(UploadSink),
}

impl FileEnd {
    /// File bytes moved so far.
    pub fn bytes(&self) -> u64 {
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

    fn negotiated(&mut self, negotiated: &Negotiated) {
        if let FileEnd::Read(source) = self {
            source.negotiated(negotiated);
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
            FileEnd::Write(sink) => sink.finish(),
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
#[derive(Debug)]
pub struct FileSource {
    /// `None` only while the reader is being replaced.
    reader: Option<BufReader<Body>>,
    bytes: u64,
    /// What the read-ahead may grow to for a windowed transfer.
    window_read_ahead: usize,
}

impl FileSource {
    /// Serve `file` with `read_ahead` bytes of read-ahead.
    pub fn new(file: Body, read_ahead: usize) -> Self {
        FileSource::windowed(file, read_ahead, read_ahead)
    }

    /// Serve `file` with `read_ahead` bytes of read-ahead, grown to one
    /// window's bytes, up to `window_read_ahead`, once a window size is
    /// negotiated (see [`Buffering::window_read_ahead`]).
    pub fn windowed(file: Body, read_ahead: usize, window_read_ahead: usize) -> Self {
        FileSource {
            reader: Some(BufReader::with_capacity(read_ahead, file)),
            bytes: 0,
            window_read_ahead,
        }
    }

    /// The read-ahead in bytes.
    pub fn read_ahead(&self) -> usize {
        self.reader.as_ref().map_or(0, BufReader::capacity)
    }

    /// File bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Local for FileSource {
    /// A windowed sender asks for a window's blocks at once: read them
    /// with one call where the bound allows. Only before anything is
    /// buffered (the options come before the first block).
    fn negotiated(&mut self, negotiated: &Negotiated) {
        let window = usize::from(negotiated.blksize) * usize::from(negotiated.windowsize);
        let wanted = window.min(self.window_read_ahead);
        let Some(reader) = self
            .reader
            .take_if(|r| wanted > r.capacity() && r.buffer().is_empty())
        else {
            return;
        };
        self.reader = Some(BufReader::with_capacity(wanted, reader.into_inner()));
    }

    fn read_block(&mut self, buf: &mut [u8]) -> Result<usize, LocalFailure> {
        let Some(reader) = self.reader.as_mut() else {
            return Err(LocalFailure::new(LocalError::Other, "Read error"));
        };
        // Large blocks gain nothing from read-ahead but an extra copy: read
        // them straight from the file once nothing is buffered.
        let n = if buf.len() >= DIRECT_READ && reader.buffer().is_empty() {
            read_full(reader.get_mut(), buf)
        } else {
            read_full(reader, buf)
        }
        .map_err(read_failure)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// An upload: written to a temporary file, renamed into place on commit.
#[derive(Debug)]
pub struct UploadSink {
    writer: Option<BufWriter<StoreUpload>>,
    bytes: u64,
}

impl UploadSink {
    /// Receive into `upload` with `write_behind` bytes of buffering.
    pub fn new(upload: StoreUpload, write_behind: usize) -> Self {
        UploadSink {
            writer: Some(BufWriter::with_capacity(write_behind, upload)),
            bytes: 0,
        }
    }

    /// File bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Local for UploadSink {
    fn write_data(&mut self, data: &[u8]) -> Result<(), LocalFailure> {
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| LocalFailure::new(LocalError::Other, "upload already closed"))?;
        writer.write_all(data).map_err(write_failure)?;
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Commit the upload: flush it and rename it into place.
    fn finish(&mut self) -> Result<(), LocalFailure> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(blksize: u16, windowsize: u16) -> Negotiated {
        Negotiated {
            blksize,
            windowsize,
            ..Negotiated::default()
        }
    }

    fn source(content: &[u8]) -> FileSource {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(content).unwrap();
        io::Seek::rewind(&mut file).unwrap();
        FileSource::windowed(Body::File(file), 8 * 1024, 64 * 1024)
    }

    #[test]
    fn a_window_is_read_at_once_up_to_the_bound() {
        for (blksize, windowsize, read_ahead) in [
            (1468, 1, 8 * 1024),
            (512, 8, 8 * 1024),
            (8192, 4, 32 * 1024),
            (1468, 16, 1468 * 16),
            (8192, 64, 64 * 1024),
        ] {
            let mut file = source(b"");
            file.negotiated(&options(blksize, windowsize));
            assert_eq!(file.read_ahead(), read_ahead, "{blksize} x {windowsize}");
        }
    }

    #[test]
    fn the_read_ahead_does_not_change_once_bytes_are_buffered() {
        let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut file = source(&content);
        let mut block = vec![0; 512];
        assert_eq!(file.read_block(&mut block).unwrap(), 512);
        file.negotiated(&options(8192, 8));
        assert_eq!(file.read_ahead(), 8 * 1024);
        let mut read = block.clone();
        read.extend(read_rest(&mut file, block.len()));
        assert_eq!(read, content);
        assert_eq!(file.bytes(), content.len() as u64);
    }

    #[test]
    fn a_grown_read_ahead_serves_the_file_byte_exact() {
        let content: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let mut file = source(&content);
        file.negotiated(&options(1468, 32));
        assert_eq!(file.read_ahead(), 1468 * 32);
        assert_eq!(read_rest(&mut file, 1468), content);
    }

    /// Reads `file` in blocks of `blksize` up to its short last block.
    fn read_rest(file: &mut FileSource, blksize: usize) -> Vec<u8> {
        let mut block = vec![0; blksize];
        let mut read = Vec::new();
        loop {
            let n = file.read_block(&mut block).unwrap();
            read.extend_from_slice(&block[..n]);
            if n < block.len() {
                return read;
            }
        }
    }
}
