//! What a server serves: the local root or an S3 bucket, behind one
//! interface. A driver learns one thing about the backend: whether a
//! download's body is a local [`File`] (which it may `sendfile`) or a
//! stream it must copy through a buffer.

use std::fs::File;
use std::io::{self, Read, Write};

use ferry_s3::{Bucket, ObjectRead, ObjectUpload};
use ferry_storage::{ReadFile, Root, StorageError, Upload};

/// The served tree. Cheap to clone.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Store {
    /// A local directory, confined with `openat2`.
    Local(Root),
    /// A bucket under a prefix.
    S3(Bucket),
}

/// A download's bytes.
#[derive(Debug)]
pub enum Body {
    /// A local file, positioned at its start.
    File(File),
    /// An object, streamed as it is read.
    Object(ObjectRead),
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Body::File(file) => file.read(buf),
            Body::Object(object) => object.read(buf),
        }
    }
}

/// An upload, published only by [`commit`](StoreUpload::commit); dropped
/// before, it leaves the name as it was.
#[derive(Debug)]
pub enum StoreUpload {
    /// A temporary file beside the target, renamed over it at commit.
    Local(Upload),
    /// A PUT or multipart upload, completed at commit.
    S3(ObjectUpload),
}

impl StoreUpload {
    /// Publishes the upload under its name.
    pub fn commit(self) -> Result<(), StorageError> {
        match self {
            StoreUpload::Local(upload) => upload.commit().map(drop),
            StoreUpload::S3(upload) => upload.commit(),
        }
    }

    /// Throws the upload away.
    pub fn discard(self) {
        match self {
            StoreUpload::Local(upload) => upload.discard(),
            StoreUpload::S3(upload) => upload.discard(),
        }
    }
}

impl Write for StoreUpload {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            StoreUpload::Local(upload) => upload.write(bytes),
            StoreUpload::S3(upload) => upload.write(bytes),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            StoreUpload::Local(upload) => upload.flush(),
            StoreUpload::S3(upload) => upload.flush(),
        }
    }
}

impl Store {
    /// Opens the file `name` for reading: its body and its size.
    pub fn open_read(&self, name: &str) -> Result<(Body, u64), StorageError> {
        match self {
            Store::Local(root) => root
                .open_read(name)
                .map(|ReadFile { file, len }| (Body::File(file), len)),
            Store::S3(bucket) => bucket
                .open_read(name, 0)
                .map(|object| (object.len, Body::Object(object)))
                .map(|(len, body)| (body, len)),
        }
    }

    /// Starts an upload replacing `name`.
    pub fn create_upload(&self, name: &str) -> Result<StoreUpload, StorageError> {
        match self {
            Store::Local(root) => root.create_upload(name).map(StoreUpload::Local),
            Store::S3(bucket) => bucket.create_upload(name).map(StoreUpload::S3),
        }
    }
}
