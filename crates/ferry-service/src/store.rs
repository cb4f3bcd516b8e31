//! What a server serves: the local root or an S3 bucket, behind one
//! interface. A driver learns one thing about the backend: whether a
//! download's body is a local [`File`] (which it may `sendfile`) or a
//! stream it must copy through a buffer.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

use ferry_s3::{Bucket, ObjectRead, ObjectUpload};
use ferry_storage::{
    DirEntry, FileInfo, NewUpload, ReadFile, Root, StorageError, Upload, UploadMode,
};

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

impl Body {
    /// Whether reading waits on the network (an object's GET), which a
    /// driver that must never wait does elsewhere
    /// ([`relay`](crate::relay)).
    pub fn is_remote(&self) -> bool {
        matches!(self, Body::Object(_))
    }
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
    /// The local temporary file, which a driver may `splice(2)` into; an
    /// object upload has none.
    pub fn file(&mut self) -> Option<&mut File> {
        match self {
            StoreUpload::Local(upload) => Some(upload.file()),
            StoreUpload::S3(_) => None,
        }
    }

    /// Whether writing waits on the network (an object's parts), which a
    /// driver that must never wait does elsewhere
    /// ([`relay`](crate::relay)).
    pub fn is_remote(&self) -> bool {
        matches!(self, StoreUpload::S3(_))
    }

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

/// An upload begun but not yet ready for data: a local one may still have
/// to copy the old file's bytes (APPE, REST+STOR), which may take long;
/// [`prepare`](NewStoreUpload::prepare) does that, where a wait blocks
/// nobody. Dropped, it leaves the name as it was.
#[derive(Debug)]
pub enum NewStoreUpload {
    /// A temporary file beside the target.
    Local(NewUpload),
    /// An object upload (always a replacement: nothing to copy).
    S3(ObjectUpload),
}

impl NewStoreUpload {
    /// Copies what the mode keeps of the old file; the upload, ready.
    pub fn prepare(self) -> Result<StoreUpload, StorageError> {
        match self {
            NewStoreUpload::Local(upload) => upload.prepare().map(StoreUpload::Local),
            NewStoreUpload::S3(upload) => Ok(StoreUpload::S3(upload)),
        }
    }

    /// The name the upload will be published under (STOU's 150 says it).
    pub fn planned_name(&self) -> String {
        match self {
            NewStoreUpload::Local(upload) => upload.planned_name(),
            NewStoreUpload::S3(upload) => upload
                .key()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

impl Store {
    /// What `name` is.
    pub fn stat(&self, name: &str) -> Result<FileInfo, StorageError> {
        match self {
            Store::Local(root) => root.stat(name),
            Store::S3(bucket) => bucket.stat(name),
        }
    }

    /// Directory `name`'s entries.
    pub fn read_dir(&self, name: &str) -> Result<Vec<DirEntry>, StorageError> {
        match self {
            Store::Local(root) => root.read_dir(name),
            Store::S3(bucket) => bucket.read_dir(name),
        }
    }

    /// Creates directory `name`.
    pub fn make_dir(&self, name: &str) -> Result<(), StorageError> {
        match self {
            Store::Local(root) => root.make_dir(name),
            Store::S3(bucket) => bucket.make_dir(name),
        }
    }

    /// Removes the empty directory `name`.
    pub fn remove_dir(&self, name: &str) -> Result<(), StorageError> {
        match self {
            Store::Local(root) => root.remove_dir(name),
            Store::S3(bucket) => bucket.remove_dir(name),
        }
    }

    /// Removes the file `name`.
    pub fn remove_file(&self, name: &str) -> Result<(), StorageError> {
        match self {
            Store::Local(root) => root.remove_file(name),
            Store::S3(bucket) => bucket.remove_file(name),
        }
    }

    /// Renames `from` to `to`: atomic on a local disk; on a bucket a copy
    /// then a delete, of a file only.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        match self {
            Store::Local(root) => root.rename(from, to),
            Store::S3(bucket) => bucket.rename(from, to),
        }
    }

    /// Sets file `name`'s modification time (an object's date is the
    /// store's own: [`StorageError::Unsupported`]).
    pub fn set_modified(&self, name: &str, secs: i64) -> Result<(), StorageError> {
        match self {
            Store::Local(root) => root.set_modified(name, secs),
            Store::S3(_) => Err(StorageError::Unsupported),
        }
    }

    /// Where the symlink `name` leads inside the store, and what it is
    /// there. A bucket has no links.
    pub fn resolve_link(&self, name: &str) -> Result<(String, FileInfo), StorageError> {
        match self {
            Store::Local(root) => root.resolve_link(name),
            Store::S3(_) => Err(StorageError::NotFound),
        }
    }

    /// The directory `name` as a store of its own (a user's home), out of
    /// which no name leads.
    pub fn subdirectory(&self, name: &str) -> Result<Store, StorageError> {
        match self {
            Store::Local(root) => root.subdirectory(name).map(Store::Local),
            Store::S3(bucket) => bucket.subdirectory(name).map(Store::S3),
        }
    }

    /// Opens file `name` for reading from byte `offset` on (a local file
    /// is positioned there; an object is a ranged GET): the body and the
    /// whole file's size.
    pub fn open_read_at(&self, name: &str, offset: u64) -> Result<(Body, u64), StorageError> {
        match self {
            Store::Local(root) => {
                let ReadFile { mut file, len } = root.open_read(name)?;
                file.seek(SeekFrom::Start(offset))?;
                Ok((Body::File(file), len))
            }
            Store::S3(bucket) => bucket
                .open_read(name, offset)
                .map(|object| (object.len, Body::Object(object)))
                .map(|(len, body)| (body, len)),
        }
    }

    /// Begins an upload to `name`. On a bucket only a replacement is
    /// possible; the other modes are [`StorageError::Unsupported`].
    pub fn begin_upload(
        &self,
        name: &str,
        mode: UploadMode,
    ) -> Result<NewStoreUpload, StorageError> {
        match self {
            Store::Local(root) => root.begin_upload(name, mode).map(NewStoreUpload::Local),
            Store::S3(bucket) if mode == UploadMode::Replace => {
                bucket.create_upload(name).map(NewStoreUpload::S3)
            }
            Store::S3(_) => Err(StorageError::Unsupported),
        }
    }

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
