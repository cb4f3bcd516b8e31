//! The local side of a client transfer, the same for TFTP and FTP: where
//! an upload comes from, how far a transfer got, and a download written
//! under a temporary name beside its destination.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How far a transfer got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the local file so far (a resumed FTP download counts the
    /// part it started from).
    pub bytes: u64,
    /// The file's size, when known: for a download from TFTP's tsize or
    /// FTP's SIZE, for an upload from the local file.
    pub total: Option<u64>,
}

/// Where an upload comes from.
pub enum Input<'a> {
    /// A local file.
    Path(&'a Path),
    /// Any reader, with its length if known (for progress, and for
    /// TFTP's tsize).
    Reader {
        /// The data.
        reader: &'a mut dyn Read,
        /// Its length.
        len: Option<u64>,
    },
}

/// Opens the file of an [`Input::Path`] for reading, with its length; a
/// directory is refused.
pub(crate) fn open_upload(path: &Path) -> io::Result<(File, u64)> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    Ok((file, meta.len()))
}

/// A download in progress: written under `.NAME.PID-N.part` in the
/// destination's directory, renamed into place by
/// [`PartialFile::persist`], removed when dropped before that. The
/// destination holds either its old content or the whole new file.
pub(crate) struct PartialFile {
    writer: BufWriter<File>,
    temp: PathBuf,
    dest: PathBuf,
    persisted: bool,
}

impl PartialFile {
    /// Creates the temporary file for `dest`, buffered by `buffer` bytes.
    /// An error is about `dest`.
    pub fn create(dest: &Path, buffer: usize) -> io::Result<PartialFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        if dest.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        let name = dest
            .file_name()
            .ok_or_else(|| io::Error::other("not a file name"))?;
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
        let file = File::options().write(true).create_new(true).open(&temp)?;
        Ok(PartialFile {
            writer: BufWriter::with_capacity(buffer, file),
            temp,
            dest: dest.to_owned(),
            persisted: false,
        })
    }

    /// Where the file goes once complete.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Where the data goes meanwhile.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.writer
    }

    /// Flushes the data and renames the file into place.
    pub fn persist(mut self) -> io::Result<()> {
        self.writer.flush()?;
        fs::rename(&self.temp, &self.dest)?;
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
