//! Directory entries read back from a listing, for a client that walks a
//! tree: MLSD lines (RFC 3659 §7, exact facts) where the server has them,
//! else LIST lines in the Unix `ls -l` layout most servers send (or the
//! MS-DOS one), and NLST names with the prefix the client sent taken off.
//!
//! ```
//! use ftp_proto::client::entries::{self, EntryKind};
//! let e = entries::parse_mlsd_line("type=file;size=12;modify=20260102030405; a b.txt").unwrap();
//! assert_eq!((e.name.as_str(), e.kind, e.size), ("a b.txt", EntryKind::File, Some(12)));
//! let e = entries::parse_list_line("drwxr-xr-x 2 ftp ftp 4096 Jan 02 03:04 sub").unwrap();
//! assert_eq!((e.name.as_str(), e.kind), ("sub", EntryKind::Directory));
//! assert_eq!(entries::name_list_entry(Some("dir/"), "dir/f.bin"), "f.bin");
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use crate::listing::parse_timeval;

/// What an entry is, as far as a tree walk cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file: transferred.
    File,
    /// A directory: descended into.
    Directory,
    /// A symbolic link the server did not resolve (LIST `l`, MLSD
    /// `OS.unix=slink`): its target is unknown, so a walk leaves it out.
    Link,
    /// Anything else (devices, unknown types).
    Other,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name inside the listed directory (no `/`).
    pub name: String,
    /// File, directory, link...
    pub kind: EntryKind,
    /// Size in bytes, when the listing gave one.
    pub size: Option<u64>,
    /// Modification time, Unix seconds UTC, when the listing gave it
    /// exactly: MLSD's `modify` fact. LIST times are rounded to the
    /// minute or the day and carry no time zone, so they are not taken;
    /// ask MDTM for those.
    pub modified: Option<i64>,
}

/// One MLSD line (RFC 3659 §7.2): `fact=value;...; name`. `None` for
/// the listed directory itself and its parent (`type=cdir`/`pdir`),
/// for a name with a `/` in it, and for a line of another shape.
pub fn parse_mlsd_line(line: &str) -> Option<Entry> {
    let line = line.trim_end_matches(['\r', '\n']);
    // RFC 3659 §7.2: the facts end with `;`, then one space, then the
    // name, which may hold anything but CR LF (spaces and `;` included).
    let (facts, name) = line.split_once(' ')?;
    if !valid_name(name) {
        return None;
    }
    let mut kind = EntryKind::Other;
    let mut size = None;
    let mut modified = None;
    for fact in facts.split(';').filter(|f| !f.is_empty()) {
        let (key, value) = fact.split_once('=')?;
        if key.eq_ignore_ascii_case("type") {
            kind = match value.to_ascii_lowercase().as_str() {
                "file" => EntryKind::File,
                "dir" => EntryKind::Directory,
                "cdir" | "pdir" => return None,
                v if v.starts_with("os.unix=slink") || v.starts_with("os.unix=symlink") => {
                    EntryKind::Link
                }
                _ => EntryKind::Other,
            };
        } else if key.eq_ignore_ascii_case("size") {
            size = value.parse().ok();
        } else if key.eq_ignore_ascii_case("modify") {
            modified = parse_timeval(value);
        }
    }
    Some(Entry {
        name: String::from(name),
        kind,
        size,
        modified,
    })
}

/// One LIST line in the Unix `ls -l` layout (`-rw-r--r-- 1 owner group
/// size Mon DD HH:MM name`, the name kept with its spaces, a link's
/// ` -> target` taken off) or the MS-DOS one (`MM-DD-YY HH:MMxM <DIR>|size
/// name`). `None` for `total N`, `.` and `..`, and anything else.
pub fn parse_list_line(line: &str) -> Option<Entry> {
    let line = line.trim_end_matches(['\r', '\n']);
    let first = line.as_bytes().first()?;
    if first.is_ascii_digit() {
        return parse_dos_line(line);
    }
    let kind = match first {
        b'-' => EntryKind::File,
        b'd' => EntryKind::Directory,
        b'l' => EntryKind::Link,
        b'b' | b'c' | b'p' | b's' | b'?' => EntryKind::Other,
        _ => return None,
    };
    // mode, links, owner, group, size, month, day, time-or-year, name.
    let (fields, rest) = split_fields(line, 8)?;
    let mode = fields[0];
    if mode.len() < 10 {
        return None;
    }
    let size = fields[4].parse().ok()?;
    let mut name = rest;
    if kind == EntryKind::Link {
        name = name.split_once(" -> ").map_or(name, |(n, _)| n);
    }
    if !valid_name(name) {
        return None;
    }
    Some(Entry {
        name: String::from(name),
        kind,
        size: Some(size),
        modified: None,
    })
}

fn parse_dos_line(line: &str) -> Option<Entry> {
    let (fields, name) = split_fields(line, 3)?;
    if !fields[0].contains('-') || !fields[1].contains(':') {
        return None;
    }
    let (kind, size) = match fields[2] {
        "<DIR>" => (EntryKind::Directory, None),
        size => (EntryKind::File, Some(size.parse().ok()?)),
    };
    if !valid_name(name) {
        return None;
    }
    Some(Entry {
        name: String::from(name),
        kind,
        size,
        modified: None,
    })
}

/// The first `n` blank-separated fields and the rest of the line after
/// the blanks that follow the last of them (the rest not empty).
fn split_fields(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start_matches(' ');
        let end = rest.find(' ')?;
        fields.push(&rest[..end]);
        rest = &rest[end..];
    }
    // Exactly one blank separates the last field from the name in
    // every layout seen; names may themselves start with blanks, but
    // the fields before them are padded, so take all of them.
    let rest = rest.trim_start_matches(' ');
    (!rest.is_empty()).then_some((fields, rest))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/')
}

/// An NLST line as the name the user gave it: servers that answer `NLST
/// dir` with `dir/a` (vsftpd, ferry) have `dir/` taken off, as the client
/// sent it; servers that send `a` keep it. `sent` is NLST's argument.
pub fn name_list_entry<'a>(sent: Option<&str>, line: &'a str) -> &'a str {
    let line = line.trim_end_matches(['\r', '\n']);
    let Some(sent) = sent.map(|s| s.trim_end_matches('/')) else {
        return line;
    };
    if sent.is_empty() {
        return line;
    }
    match line.strip_prefix(sent).and_then(|r| r.strip_prefix('/')) {
        Some(rest) if !rest.is_empty() => rest.trim_start_matches('/'),
        _ => line,
    }
}

/// Every entry of a whole listing (`mlsd`: MLSD lines, else LIST),
/// lines ending in CR LF or LF; lines that are not entries are skipped.
pub fn parse_listing(listing: &str, mlsd: bool) -> Vec<Entry> {
    listing
        .split('\n')
        .filter_map(|line| match mlsd {
            true => parse_mlsd_line(line),
            false => parse_list_line(line),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, kind: EntryKind, size: Option<u64>, modified: Option<i64>) -> Entry {
        Entry {
            name: name.into(),
            kind,
            size,
            modified,
        }
    }

    #[test]
    fn mlsd_lines() {
        assert_eq!(
            parse_mlsd_line("type=file;size=1000;modify=19700101000100;perm=r; a;b c\r\n"),
            Some(entry("a;b c", EntryKind::File, Some(1000), Some(60)))
        );
        assert_eq!(
            parse_mlsd_line("Type=dir;Modify=19700101000001; sub"),
            Some(entry("sub", EntryKind::Directory, None, Some(1)))
        );
        assert_eq!(
            parse_mlsd_line("type=OS.unix=slink:/x;size=8; l").map(|e| e.kind),
            Some(EntryKind::Link)
        );
        assert_eq!(parse_mlsd_line("type=cdir; /pub"), None);
        assert_eq!(parse_mlsd_line("type=pdir; .."), None);
        assert_eq!(parse_mlsd_line("no facts"), None);
        assert_eq!(parse_mlsd_line("type=file; a/b"), None);
        assert_eq!(parse_mlsd_line(""), None);
    }

    #[test]
    fn unix_list_lines() {
        assert_eq!(
            parse_list_line("-rw-r--r--    1 0        0            1234 Dec 07 03:36 b file.bin\r"),
            Some(entry("b file.bin", EntryKind::File, Some(1234), None))
        );
        assert_eq!(
            parse_list_line("drwxr-xr-x 2 ftp ftp 4096 Jan 02  2020 sub"),
            Some(entry("sub", EntryKind::Directory, Some(4096), None))
        );
        assert_eq!(
            parse_list_line("lrwxrwxrwx 1 ftp ftp 8 Jan 02 03:04 link -> target"),
            Some(entry("link", EntryKind::Link, Some(8), None))
        );
        assert_eq!(parse_list_line("total 12"), None);
        assert_eq!(
            parse_list_line("drwxr-xr-x 2 ftp ftp 4096 Jan 02 03:04 .."),
            None
        );
        assert_eq!(
            parse_list_line("-rw-r--r-- 1 ftp ftp x Jan 02 03:04 f"),
            None
        );
        assert_eq!(parse_list_line("-rw-r--r-- 1 ftp ftp 1 Jan 02 03:04"), None);
    }

    #[test]
    fn dos_list_lines() {
        assert_eq!(
            parse_list_line("12-07-26  03:36AM       <DIR>          My Dir"),
            Some(entry("My Dir", EntryKind::Directory, None, None))
        );
        assert_eq!(
            parse_list_line("12-07-26  03:36AM                 1234 f.txt"),
            Some(entry("f.txt", EntryKind::File, Some(1234), None))
        );
    }

    #[test]
    fn name_list_prefixes_come_off() {
        assert_eq!(name_list_entry(Some("dir/"), "dir/a\r\n"), "a");
        assert_eq!(name_list_entry(Some("dir"), "dir/a"), "a");
        assert_eq!(name_list_entry(Some("a/b/"), "a/b/c d"), "c d");
        assert_eq!(name_list_entry(Some("dir"), "a"), "a");
        assert_eq!(name_list_entry(Some("dir"), "dirt"), "dirt");
        assert_eq!(name_list_entry(None, "x/y"), "x/y");
        // A file named as itself stays as sent.
        assert_eq!(name_list_entry(Some("f.bin"), "f.bin"), "f.bin");
    }

    #[test]
    fn whole_listings() {
        let mlsd = "type=cdir; .\r\ntype=file;size=1; a\r\ntype=dir; d\r\n";
        let got = parse_listing(mlsd, true);
        assert_eq!(got.len(), 2);
        let list = "total 2\r\n-rw-r--r-- 1 u g 1 Jan 02 03:04 a\r\n";
        assert_eq!(parse_listing(list, false)[0].name, "a");
    }
}
