//! Directory listings from plain metadata the driver supplies: `ls -l`
//! style LIST lines, NLST names, RFC 3659 MLSD/MLST facts and MDTM times.
//! Pure functions: the driver stats files, these format them.

use alloc::vec::Vec;

/// What kind of file an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (listed, never followed out of the root).
    Symlink,
    /// Anything else (device, socket, fifo).
    Other,
}

/// What a driver knows about one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Metadata {
    /// The kind.
    pub kind: FileKind,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, seconds since the Unix epoch (UTC), if known.
    pub modified: Option<i64>,
    /// Unix permission bits (`0o644`); only the low 12 bits are used.
    pub mode: u32,
    /// Number of hard links.
    pub nlink: u64,
    /// A value unique to this file on this server (RFC 3659 `unique`),
    /// e.g. device and inode, if known.
    pub unique: Option<(u64, u64)>,
}

/// The listing format a transfer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListFormat {
    /// LIST: `ls -l` style lines.
    Long,
    /// NLST: names only.
    Names,
    /// MLSD: RFC 3659 fact lines.
    Machine(Facts),
}

/// Which RFC 3659 facts to emit (chosen with `OPTS MLST`), and whether
/// the user may write (which changes the `perm` fact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Facts {
    /// `type=`
    pub kind: bool,
    /// `size=`
    pub size: bool,
    /// `modify=`
    pub modify: bool,
    /// `perm=`
    pub perm: bool,
    /// `unique=`
    pub unique: bool,
    /// The user may write: `perm` includes the write letters.
    pub writable: bool,
}

impl Facts {
    /// Every fact on (the default before `OPTS MLST`).
    pub const ALL: Facts = Facts {
        kind: true,
        size: true,
        modify: true,
        perm: true,
        unique: true,
        writable: false,
    };
}

/// Appends one LIST line for `name`, CR LF terminated:
/// `-rw-r--r-- 1 ftp ftp 1234 Jan 02 03:04 name`. The date shows the
/// time of day when the file changed within six months of `now` (Unix
/// seconds), the year otherwise, as `ls -l` does.
pub fn write_list_line(out: &mut Vec<u8>, name: &str, meta: &Metadata, now: i64) {
    let _ = (out, name, meta, now);
    todo!()
}

/// Appends one NLST line: `name` and CR LF.
pub fn write_name_line(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends the facts and name of one entry, without a leading space:
/// `type=file;size=12;modify=20260102030405;perm=r; name` and CR LF
/// (RFC 3659 §7.2). MLSD sends these lines; MLST prefixes one with a
/// space inside its 250 reply.
pub fn write_facts_line(out: &mut Vec<u8>, name: &str, meta: &Metadata, facts: &Facts) {
    let _ = (out, name, meta, facts);
    todo!()
}

/// The features line for FEAT: `MLST type*;size*;modify*;perm*;unique*;`
/// with a `*` after each fact that `facts` selects.
pub fn mlst_feature(facts: &Facts, out: &mut Vec<u8>) {
    let _ = (facts, out);
    todo!()
}

/// Appends `secs` (Unix time, UTC) as `YYYYMMDDHHMMSS` (RFC 3659 §2.3).
pub fn write_timeval(out: &mut Vec<u8>, secs: i64) {
    let _ = (out, secs);
    todo!()
}

/// Parses `YYYYMMDDHHMMSS[.sss]` (an MDTM reply's value) into Unix
/// seconds, UTC.
pub fn parse_timeval(text: &str) -> Option<i64> {
    let _ = text;
    todo!()
}
