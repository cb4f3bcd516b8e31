//! The server's file ends: a served file read block by block, an upload
//! written to a temporary file and renamed into place only when complete.

use std::io::{self, BufReader, BufWriter, Write};

use ferry_storage::StorageError;
use tftp_proto::transfer::LocalError;

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
    reader: BufReader<Body>,
    bytes: u64,
}

impl FileSource {
    /// Serve `file` with `read_ahead` bytes of read-ahead.
    pub fn new(file: Body, read_ahead: usize) -> Self {
        FileSource {
            reader: BufReader::with_capacity(read_ahead, file),
            bytes: 0,
        }
    }

    /// File bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
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
