//! An S3-compatible bucket (under an optional key prefix) as the tree a
//! ferry server serves.
//!
//! Names are the same client strings the local root takes and are
//! normalised by the same [`RelativePath`] rules (`..` and NUL refused,
//! empty and `.` components dropped), then appended to the prefix: no
//! name reaches a key outside `PREFIX/`.
//!
//! Object storage has no directories: a directory is a key prefix ending
//! in `/`. [`Bucket::make_dir`] writes an empty `dir/` marker object so that
//! an empty directory can exist; a directory exists when its marker or any
//! key beneath it does.
//!
//! Every call blocks on HTTP: the blocking driver calls it from its
//! session's thread, the event-loop driver must call it from its pool.
//!
//! Requests are signed by `rusty-s3` (SigV4 as presigned URLs, no I/O of
//! its own) and sent with `ureq`, a small blocking HTTP client.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod date;
mod list;
mod read;
mod upload;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ferry_storage::{DirEntry, FileInfo, FileKind, RelativePath, StorageError};
use rusty_s3::{Credentials, S3Action, UrlStyle};
use ureq::http::Response;
use ureq::Body;

pub use config::{Location, S3Config};
pub use read::ObjectRead;
pub use upload::{ObjectUpload, PART_SIZE};

/// How long a signed request stays valid: long enough for a slow GET or
/// part upload to start, short enough not to matter if a URL leaks into a
/// log.
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);

/// Why a bucket could not be served: each stops start-up with its reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3Error {
    /// The `s3://` location or the endpoint URL does not parse.
    #[error("bad S3 location: {0}")]
    BadLocation(String),
    /// No access key or secret key in the environment.
    #[error("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")]
    NoCredentials,
    /// No endpoint given.
    #[error("no S3 endpoint: set AWS_ENDPOINT_URL or --s3-endpoint")]
    NoEndpoint,
    /// The endpoint did not answer.
    #[error("S3 endpoint {endpoint} unreachable: {reason}")]
    Unreachable {
        /// The endpoint URL.
        endpoint: String,
        /// What the HTTP client said.
        reason: String,
    },
    /// The bucket does not exist.
    #[error("S3 bucket {0:?} does not exist")]
    NoSuchBucket(String),
    /// The keys were refused.
    #[error("S3 credentials refused for bucket {0:?} (HTTP {1})")]
    Refused(String, u16),
    /// Any other answer to the start-up checks.
    #[error("S3 bucket {0:?}: unexpected HTTP {1}")]
    Unexpected(String, u16),
}

/// A bucket and prefix being served. Cheap to clone; share one among all
/// sessions and transfers.
#[derive(Debug, Clone)]
pub struct Bucket {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bucket: rusty_s3::Bucket,
    credentials: Credentials,
    agent: ureq::Agent,
    /// `""` or `PREFIX/`: every key served starts with it.
    prefix: String,
}

impl Bucket {
    /// Opens `location` with `config` and checks, before anything is
    /// served, that the endpoint answers, the bucket exists and the keys
    /// may list it.
    pub fn connect(config: &S3Config, location: &Location) -> Result<Bucket, S3Error> {
        let bucket = rusty_s3::Bucket::new(
            config.endpoint.clone(),
            UrlStyle::Path,
            location.bucket.clone(),
            config.region.clone(),
        )
        .map_err(|err| S3Error::BadLocation(err.to_string()))?;
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_connect(Some(Duration::from_secs(10)))
                .build(),
        );
        let bucket = Bucket {
            inner: Arc::new(Inner {
                bucket,
                credentials: Credentials::new(&config.access_key, &config.secret_key),
                agent,
                prefix: location.key_prefix(),
            }),
        };
        bucket.check(config, &location.bucket)?;
        Ok(bucket)
    }

    /// One listing of at most one key: it needs the bucket and the right
    /// to list it, which every server needs.
    fn check(&self, config: &S3Config, name: &str) -> Result<(), S3Error> {
        let inner = &self.inner;
        let mut action = inner.bucket.list_objects_v2(Some(&inner.credentials));
        action.with_max_keys(1);
        let url = action.sign(SIGNED_FOR);
        let response =
            inner
                .agent
                .get(url.as_str())
                .call()
                .map_err(|err| S3Error::Unreachable {
                    endpoint: config.endpoint.to_string(),
                    reason: err.to_string(),
                })?;
        let status = response.status().as_u16();
        let body = response.into_body().read_to_string().unwrap_or_default();
        match status {
            200 => Ok(()),
            404 => Err(S3Error::NoSuchBucket(name.to_owned())),
            // A missing bucket can also be told by its error code alone.
            _ if body.contains("NoSuchBucket") => Err(S3Error::NoSuchBucket(name.to_owned())),
            401 | 403 => Err(S3Error::Refused(name.to_owned(), status)),
            _ => Err(S3Error::Unexpected(name.to_owned(), status)),
        }
    }

    /// The directory `name` as a bucket of its own: the same bucket under
    /// the longer prefix (a user's home), so that no name given to it
    /// reaches a key outside that directory. It must exist.
    pub fn subdirectory(&self, name: &str) -> Result<Bucket, StorageError> {
        let Some(key) = self.key(name)? else {
            return Ok(self.clone());
        };
        if self.stat(name)?.kind != FileKind::Directory {
            return Err(StorageError::NotADirectory);
        }
        let inner = &self.inner;
        Ok(Bucket {
            inner: Arc::new(Inner {
                bucket: inner.bucket.clone(),
                credentials: inner.credentials.clone(),
                agent: inner.agent.clone(),
                prefix: key + "/",
            }),
        })
    }

    /// The key of `name`, beneath the prefix; `None` for the served root.
    fn key(&self, name: &str) -> Result<Option<String>, StorageError> {
        match RelativePath::parse(name) {
            // Some S3 servers take `\` for `/`, which would make `..\x` a
            // way up: a name with one is refused outright.
            Ok(path) if path.as_str().contains('\\') => Err(StorageError::InvalidPath),
            Ok(path) => Ok(Some(format!("{}{}", self.inner.prefix, path.as_str()))),
            Err(ferry_storage::PathError::Empty) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The key of `name`, which must not be the root (the root is never
    /// written, removed or renamed).
    fn object_key(&self, name: &str) -> Result<String, StorageError> {
        self.key(name)?.ok_or(StorageError::PermissionDenied)
    }

    /// The prefix that lists directory `name` (`PREFIX/` for the root).
    fn dir_prefix(&self, name: &str) -> Result<String, StorageError> {
        Ok(match self.key(name)? {
            Some(key) => key + "/",
            None => self.inner.prefix.clone(),
        })
    }

    /// What `name` is: an object (a file), or a prefix with keys (a
    /// directory); `""` and `"/"` are the root, always a directory.
    pub fn stat(&self, name: &str) -> Result<FileInfo, StorageError> {
        let Some(key) = self.key(name)? else {
            return Ok(directory_info(None));
        };
        if let Some(info) = self.head(&key)? {
            return Ok(info);
        }
        if self.has_keys_under(&(key + "/"))? {
            return Ok(directory_info(None));
        }
        Err(StorageError::NotFound)
    }

    /// The object `key`'s size and date, if it exists.
    fn head(&self, key: &str) -> Result<Option<FileInfo>, StorageError> {
        let inner = &self.inner;
        let url = inner
            .bucket
            .head_object(Some(&inner.credentials), key)
            .sign(SIGNED_FOR);
        let response = inner
            .agent
            .head(url.as_str())
            .call()
            .map_err(http_failure)?;
        match response.status().as_u16() {
            200 => {
                let len = header(&response, "content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let modified = header(&response, "last-modified").and_then(date::parse_http_date);
                Ok(Some(file_info(len, modified)))
            }
            404 => Ok(None),
            status => Err(status_failure(status)),
        }
    }

    /// Whether any key starts with `prefix`.
    fn has_keys_under(&self, prefix: &str) -> Result<bool, StorageError> {
        let page = list::page(self, prefix, None, Some(1), false)?;
        Ok(!page.contents.is_empty() || !page.common_prefixes.is_empty())
    }

    /// Directory `name`'s entries, sorted by name: the objects and the
    /// common prefixes one `/` below it, every page of them. The
    /// directory's own marker is left out.
    pub fn read_dir(&self, name: &str) -> Result<Vec<DirEntry>, StorageError> {
        let prefix = self.dir_prefix(name)?;
        let entries = list::all(self, &prefix)?;
        if entries.is_empty() && !prefix.is_empty() && prefix != self.inner.prefix {
            // No key at all: either an object of that name, or nothing.
            let key = &prefix[..prefix.len() - 1];
            return match self.head(key)? {
                Some(_) => Err(StorageError::NotADirectory),
                None if self.has_keys_under(&prefix)? => Ok(entries),
                None => Err(StorageError::NotFound),
            };
        }
        Ok(entries)
    }

    /// Opens object `name` for reading from byte `offset` on: a GET with a
    /// `Range`, streamed as it is read, never held whole.
    pub fn open_read(&self, name: &str, offset: u64) -> Result<ObjectRead, StorageError> {
        let Some(key) = self.key(name)? else {
            return Err(StorageError::IsADirectory);
        };
        read::open(self, &key, offset)
    }

    /// Starts an upload to `name`, published only by
    /// [`ObjectUpload::commit`]. Its directory must exist and `name` must
    /// not be one.
    pub fn create_upload(&self, name: &str) -> Result<ObjectUpload, StorageError> {
        let key = self.object_key(name)?;
        self.check_parent(name)?;
        if self.has_keys_under(&format!("{key}/"))? {
            return Err(StorageError::IsADirectory);
        }
        Ok(ObjectUpload::new(self.clone(), key))
    }

    /// The directory `name` would live in exists.
    fn check_parent(&self, name: &str) -> Result<(), StorageError> {
        let path = RelativePath::parse(name)?;
        match path.parent() {
            None => Ok(()),
            Some(parent) => match self.stat(parent.as_str())?.kind {
                FileKind::Directory => Ok(()),
                _ => Err(StorageError::NotADirectory),
            },
        }
    }

    /// Removes object `name`. A directory gives
    /// [`StorageError::IsADirectory`], the root
    /// [`StorageError::PermissionDenied`].
    pub fn remove_file(&self, name: &str) -> Result<(), StorageError> {
        let key = self.object_key(name)?;
        if self.head(&key)?.is_none() {
            return Err(if self.has_keys_under(&(key + "/"))? {
                StorageError::IsADirectory
            } else {
                StorageError::NotFound
            });
        }
        self.delete_key(&key)
    }

    /// Creates directory `name`: an empty `name/` marker object. Its parent
    /// must exist; a name that exists as a file or directory gives
    /// [`StorageError::AlreadyExists`].
    pub fn make_dir(&self, name: &str) -> Result<(), StorageError> {
        let key = self.object_key(name)?;
        self.check_parent(name)?;
        if self.head(&key)?.is_some() || self.has_keys_under(&format!("{key}/"))? {
            return Err(StorageError::AlreadyExists);
        }
        self.put(&format!("{key}/"), Vec::new())
    }

    /// Removes directory `name`, only when nothing but its marker is in
    /// it ([`StorageError::DirectoryNotEmpty`] otherwise).
    pub fn remove_dir(&self, name: &str) -> Result<(), StorageError> {
        let key = self.object_key(name)?;
        let prefix = format!("{key}/");
        let page = list::page(self, &prefix, None, Some(2), false)?;
        let others = page.contents.iter().any(|object| object.key != prefix);
        if others || !page.common_prefixes.is_empty() {
            return Err(StorageError::DirectoryNotEmpty);
        }
        if page.contents.is_empty() {
            return Err(if self.head(&key)?.is_some() {
                StorageError::NotADirectory
            } else {
                StorageError::NotFound
            });
        }
        self.delete_key(&prefix)
    }

    /// Renames file `from` to `to`: a server-side copy, then a delete of
    /// `from`. Not atomic: between the two, both names hold the file, and a
    /// failed delete leaves both. Directories are refused
    /// ([`StorageError::PermissionDenied`]): renaming one would be a copy
    /// of every key beneath it.
    pub fn rename(&self, from: &str, to: &str) -> Result<(), StorageError> {
        let from_key = self.object_key(from)?;
        let to_key = self.object_key(to)?;
        if self.head(&from_key)?.is_none() {
            return Err(if self.has_keys_under(&(from_key + "/"))? {
                StorageError::PermissionDenied
            } else {
                StorageError::NotFound
            });
        }
        self.check_parent(to)?;
        if self.has_keys_under(&format!("{to_key}/"))? {
            return Err(StorageError::IsADirectory);
        }
        self.copy(&from_key, &to_key)?;
        self.delete_key(&from_key)
    }

    fn copy(&self, from_key: &str, to_key: &str) -> Result<(), StorageError> {
        let inner = &self.inner;
        let source = format!("/{}/{}", inner.bucket.name(), percent_encode_key(from_key));
        let mut action = inner.bucket.put_object(Some(&inner.credentials), to_key);
        action
            .headers_mut()
            .insert("x-amz-copy-source", source.clone());
        let url = action.sign(SIGNED_FOR);
        let response = inner
            .agent
            .put(url.as_str())
            .header("x-amz-copy-source", &source)
            .send_empty()
            .map_err(http_failure)?;
        expect_success(response)
    }

    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let inner = &self.inner;
        let url = inner
            .bucket
            .put_object(Some(&inner.credentials), key)
            .sign(SIGNED_FOR);
        let response = inner
            .agent
            .put(url.as_str())
            .send(&bytes[..])
            .map_err(http_failure)?;
        expect_success(response)
    }

    fn delete_key(&self, key: &str) -> Result<(), StorageError> {
        let inner = &self.inner;
        let url = inner
            .bucket
            .delete_object(Some(&inner.credentials), key)
            .sign(SIGNED_FOR);
        let response = inner
            .agent
            .delete(url.as_str())
            .call()
            .map_err(http_failure)?;
        expect_success(response)
    }
}

/// A key as it appears in `x-amz-copy-source`: each `/`-separated part
/// percent-encoded.
fn percent_encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn header<'a>(response: &'a Response<Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name)?.to_str().ok()
}

fn file_info(len: u64, modified: Option<i64>) -> FileInfo {
    FileInfo {
        kind: FileKind::File,
        len,
        modified,
        mode: 0o644,
        nlink: 1,
        dev: 0,
        ino: 0,
    }
}

fn directory_info(modified: Option<i64>) -> FileInfo {
    FileInfo {
        kind: FileKind::Directory,
        len: 0,
        modified,
        mode: 0o755,
        nlink: 1,
        dev: 0,
        ino: 0,
    }
}

/// A request that got no answer.
fn http_failure(err: ureq::Error) -> StorageError {
    StorageError::Io(io::Error::other(err))
}

/// An answer that is not success, as the storage error a client is told.
fn status_failure(status: u16) -> StorageError {
    match status {
        404 => StorageError::NotFound,
        401 | 403 => StorageError::PermissionDenied,
        _ => StorageError::Io(io::Error::other(format!("S3 answered HTTP {status}"))),
    }
}

fn expect_success(response: Response<Body>) -> Result<(), StorageError> {
    let status = response.status().as_u16();
    // S3 may answer 200 to a copy and put the error in the body.
    let body = response.into_body().read_to_string().unwrap_or_default();
    if (200..300).contains(&status) && !body.contains("<Error>") {
        Ok(())
    } else {
        Err(status_failure(status))
    }
}
