//! An upload: parts of a multipart upload (one PUT when small), published
//! only when the client's data ended cleanly.

use std::io::{self, Write};

use ferry_storage::StorageError;
use rusty_s3::actions::CreateMultipartUpload;
use rusty_s3::S3Action;

use crate::{expect_success, header, http_failure, status_failure, Bucket, SIGNED_FOR};

/// Bytes held before they go as one part: S3's parts must be at least
/// 5 MiB (but the last); one part in memory bounds an upload's memory.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// S3's limit on part numbers: 10,000 parts of [`PART_SIZE`], about 78 GiB.
const MAX_PARTS: u16 = 10_000;

/// An object being uploaded. Nothing is visible under the key until
/// [`commit`](ObjectUpload::commit) completes: a small upload is one PUT
/// made then, a large one a multipart upload whose parts S3 keeps out of
/// sight until it is completed. Dropped before (a reset, an ABOR, a
/// timeout), the multipart upload is aborted and the key keeps what it
/// had.
#[derive(Debug)]
pub struct ObjectUpload {
    bucket: Bucket,
    key: String,
    buffer: Vec<u8>,
    upload_id: Option<String>,
    etags: Vec<String>,
    finished: bool,
}

impl ObjectUpload {
    pub(crate) fn new(bucket: Bucket, key: String) -> ObjectUpload {
        ObjectUpload {
            bucket,
            key,
            buffer: Vec::new(),
            upload_id: None,
            etags: Vec::new(),
            finished: false,
        }
    }

    /// The object's key in the bucket.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Publishes the object: the last part and the completion, or the one
    /// PUT of a small upload.
    pub fn commit(mut self) -> Result<(), StorageError> {
        match self.upload_id.clone() {
            None => {
                let bytes = std::mem::take(&mut self.buffer);
                self.bucket.put(&self.key, bytes)?;
            }
            Some(id) => {
                if !self.buffer.is_empty() || self.etags.is_empty() {
                    self.send_part(&id)?;
                }
                self.complete(&id)?;
            }
        }
        self.finished = true;
        Ok(())
    }

    /// Throws the upload away: the key keeps what it had.
    pub fn discard(self) {}

    fn start(&mut self) -> Result<String, StorageError> {
        let inner = &self.bucket.inner;
        let url = inner
            .bucket
            .create_multipart_upload(Some(&inner.credentials), &self.key)
            .sign(SIGNED_FOR);
        let response = inner
            .agent
            .post(url.as_str())
            .send_empty()
            .map_err(http_failure)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(status_failure(status));
        }
        let body = response
            .into_body()
            .read_to_string()
            .map_err(http_failure)?;
        let created = CreateMultipartUpload::parse_response(&body)
            .map_err(|err| StorageError::Io(io::Error::other(err)))?;
        Ok(created.upload_id().to_owned())
    }

    fn send_part(&mut self, id: &str) -> Result<(), StorageError> {
        let number = u16::try_from(self.etags.len() + 1)
            .ok()
            .filter(|n| *n <= MAX_PARTS)
            .ok_or(StorageError::DiskFull)?;
        let inner = &self.bucket.inner;
        let url = inner
            .bucket
            .upload_part(Some(&inner.credentials), &self.key, number, id)
            .sign(SIGNED_FOR);
        let response = inner
            .agent
            .put(url.as_str())
            .send(&self.buffer[..])
            .map_err(http_failure)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(status_failure(status));
        }
        let etag = header(&response, "etag")
            .ok_or_else(|| StorageError::Io(io::Error::other("part stored without an ETag")))?
            .to_owned();
        self.etags.push(etag);
        self.buffer.clear();
        Ok(())
    }

    fn complete(&mut self, id: &str) -> Result<(), StorageError> {
        let inner = &self.bucket.inner;
        let action = inner.bucket.complete_multipart_upload(
            Some(&inner.credentials),
            &self.key,
            id,
            self.etags.iter().map(String::as_str),
        );
        let url = action.sign(SIGNED_FOR);
        let body = action.body();
        let response = inner
            .agent
            .post(url.as_str())
            .send(body.as_bytes())
            .map_err(http_failure)?;
        // An error in the body of a 200 means the upload did not complete.
        expect_success(response)?;
        self.upload_id = None;
        Ok(())
    }

    fn abort(&mut self) {
        let Some(id) = self.upload_id.take() else {
            return;
        };
        let inner = &self.bucket.inner;
        let url = inner
            .bucket
            .abort_multipart_upload(Some(&inner.credentials), &self.key, &id)
            .sign(SIGNED_FOR);
        // Nothing more can be done if this fails: the parts stay out of
        // sight, and a bucket lifecycle rule is what cleans those up.
        let _ = inner.agent.delete(url.as_str()).call();
    }
}

impl Write for ObjectUpload {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = PART_SIZE - self.buffer.len();
        let n = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..n]);
        if self.buffer.len() == PART_SIZE {
            let id = match self.upload_id.clone() {
                Some(id) => id,
                None => {
                    let id = self.start().map_err(io::Error::other)?;
                    self.upload_id = Some(id.clone());
                    id
                }
            };
            self.send_part(&id).map_err(io::Error::other)?;
        }
        Ok(n)
    }

    /// Parts go when full; a flush sends nothing early (every part but
    /// the last must be at least 5 MiB).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectUpload {
    fn drop(&mut self) {
        if !self.finished {
            self.abort();
        }
    }
}
