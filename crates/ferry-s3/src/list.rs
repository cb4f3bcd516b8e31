//! Directories as key prefixes: one page of `ListObjectsV2`, and every
//! page of a directory turned into entries.

use std::collections::BTreeMap;

use ferry_storage::{DirEntry, StorageError};
use rusty_s3::actions::{ListObjectsV2, ListObjectsV2Response};
use rusty_s3::S3Action;

use crate::{date, directory_info, file_info, http_failure, status_failure, Bucket, SIGNED_FOR};

/// One page of the keys starting with `prefix`, from `token` on; with
/// `delimited`, keys with a further `/` are folded into common prefixes.
pub(crate) fn page(
    bucket: &Bucket,
    prefix: &str,
    token: Option<&str>,
    max_keys: Option<usize>,
    delimited: bool,
) -> Result<ListObjectsV2Response, StorageError> {
    let inner = &bucket.inner;
    let mut action = inner.bucket.list_objects_v2(Some(&inner.credentials));
    if !prefix.is_empty() {
        action.with_prefix(prefix);
    }
    if delimited {
        action.with_delimiter("/");
    }
    if let Some(token) = token {
        action.with_continuation_token(token);
    }
    if let Some(max) = max_keys {
        action.with_max_keys(max);
    }
    let url = action.sign(SIGNED_FOR);
    let response = inner.agent.get(url.as_str()).call().map_err(http_failure)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(status_failure(status));
    }
    // A page of 1,000 keys is a few hundred KiB of XML: well inside the
    // client's limit for a body read whole.
    let body = response
        .into_body()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()
        .map_err(http_failure)?;
    ListObjectsV2::parse_response(&body).map_err(|err| StorageError::Io(std::io::Error::other(err)))
}

/// Every entry one level below `prefix` (which is `""` or ends in `/`),
/// page after page, sorted by name. The directory's own marker (the key
/// `prefix` itself) is not an entry.
pub(crate) fn all(bucket: &Bucket, prefix: &str) -> Result<Vec<DirEntry>, StorageError> {
    let mut entries = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = page(bucket, prefix, token.as_deref(), None, true)?;
        for object in &page.contents {
            let Some(name) = object.key.strip_prefix(prefix) else {
                continue;
            };
            if name.is_empty() {
                continue;
            }
            let modified = date::parse_iso8601(&object.last_modified);
            entries.insert(name.to_owned(), file_info(object.size, modified));
        }
        for common in &page.common_prefixes {
            let Some(name) = common.prefix.strip_prefix(prefix) else {
                continue;
            };
            let name = name.trim_end_matches('/');
            // A key such as `dir//x` would give an empty name: no entry
            // a client could name.
            if !name.is_empty() {
                entries.insert(name.to_owned(), directory_info(None));
            }
        }
        match page.next_continuation_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    Ok(entries
        .into_iter()
        .map(|(name, info)| DirEntry { name, info })
        .collect())
}
