//! A download in progress under a temporary name beside its destination.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::ClientError;

/// Written under `.NAME.PID-N.part` in the destination's directory,
/// renamed into place by [`PartialFile::persist`], removed when dropped
/// before that: the destination holds either its old content or the
/// whole new file.
pub(super) struct PartialFile {
    writer: BufWriter<File>,
    temp: PathBuf,
    dest: PathBuf,
    persisted: bool,
}

impl PartialFile {
    pub fn create(dest: &Path, buffer: usize) -> Result<PartialFile, ClientError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let local_error = |source| ClientError::LocalFile {
            path: dest.to_owned(),
            source,
        };
        if dest.is_dir() {
            return Err(local_error(io::Error::other("is a directory")));
        }
        let name = dest
            .file_name()
            .ok_or_else(|| local_error(io::Error::other("not a file name")))?;
        let dir = match dest.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(
            ".{}-{}.part",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let temp = dir.join(temp_name);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(local_error)?;
        Ok(PartialFile {
            writer: BufWriter::with_capacity(buffer, file),
            temp,
            dest: dest.to_owned(),
            persisted: false,
        })
    }

    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.writer
    }

    pub fn persist(mut self) -> Result<(), ClientError> {
        let local_error = |source| ClientError::LocalFile {
            path: self.dest.clone(),
            source,
        };
        self.writer.flush().map_err(local_error)?;
        fs::rename(&self.temp, &self.dest).map_err(local_error)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.temp);
        }
    }
}
