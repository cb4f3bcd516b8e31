//! A download: a GET from an offset, read as the client takes it.

use std::io::{self, Read};

use ferry_storage::StorageError;
use rusty_s3::S3Action;
use ureq::BodyReader;

use crate::{header, http_failure, status_failure, Bucket, SIGNED_FOR};

/// An object being read. The body comes off the HTTP connection as it is
/// read, so a slow client slows the GET (TCP's own backpressure) and no
/// more than the client's and the socket's buffers are ever held.
pub struct ObjectRead {
    /// The whole object's size (what TFTP's `tsize` and FTP's `SIZE` say).
    pub len: u64,
    body: Option<BodyReader<'static>>,
}

impl std::fmt::Debug for ObjectRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectRead")
            .field("len", &self.len)
            .finish()
    }
}

impl Read for ObjectRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.body {
            Some(body) => body.read(buf),
            None => Ok(0),
        }
    }
}

pub(crate) fn open(bucket: &Bucket, key: &str, offset: u64) -> Result<ObjectRead, StorageError> {
    let inner = &bucket.inner;
    let url = inner
        .bucket
        .get_object(Some(&inner.credentials), key)
        .sign(SIGNED_FOR);
    let mut request = inner.agent.get(url.as_str());
    if offset > 0 {
        // Unsigned headers are allowed beside a presigned URL.
        request = request.header("range", format!("bytes={offset}-"));
    }
    let response = request.call().map_err(http_failure)?;
    match response.status().as_u16() {
        200 => {
            let len = header(&response, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            Ok(ObjectRead {
                len,
                body: Some(response.into_body().into_reader()),
            })
        }
        206 => {
            // Content-Range: bytes FIRST-LAST/TOTAL
            let len = header(&response, "content-range")
                .and_then(|v| v.rsplit_once('/'))
                .and_then(|(_, total)| total.parse().ok())
                .ok_or_else(|| StorageError::Io(io::Error::other("206 without Content-Range")))?;
            Ok(ObjectRead {
                len,
                body: Some(response.into_body().into_reader()),
            })
        }
        // A range starting at or past the end: at the end is an empty
        // download (REST to the size), past it a bad offset.
        416 => match bucket.head(key)? {
            Some(info) if info.len == offset => Ok(ObjectRead {
                len: info.len,
                body: None,
            }),
            Some(_) => Err(StorageError::InvalidOffset),
            None => Err(StorageError::NotFound),
        },
        404 => Err(if bucket.has_keys_under(&format!("{key}/"))? {
            StorageError::IsADirectory
        } else {
            StorageError::NotFound
        }),
        status => Err(status_failure(status)),
    }
}
