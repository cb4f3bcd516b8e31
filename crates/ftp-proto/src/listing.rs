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

    /// No fact on (`OPTS MLST` with an empty list): entries are names only.
    pub const NONE: Facts = Facts {
        kind: false,
        size: false,
        modify: false,
        perm: false,
        unique: false,
        writable: false,
    };
}

/// Appends one LIST line for `name`, CR LF terminated:
/// `-rw-r--r--    1 ftp      ftp              1234 Jan 02 03:04 name`. The
/// date shows the time of day when the file changed within six months
/// before `now` (Unix seconds) or up to an hour after it, the year
/// otherwise, as `ls -l` does.
///
/// RFC 959 leaves LIST's format to the server; clients (lftp, curl,
/// browsers) parse this Unix layout, so it is followed closely. Owner and
/// group are always `ftp`: the client has no use for local user names.
/// An unknown modification time is shown as the Unix epoch so that the
/// line keeps its shape.
pub fn write_list_line(out: &mut Vec<u8>, name: &str, meta: &Metadata, now: i64) {
    list_line(out, name, None, meta, now);
}

/// As [`write_list_line`], for a symlink whose target the client may see:
/// `lrwxrwxrwx ... name -> target`, as `ls -l` shows it (wget and other
/// LIST parsers take the target from there).
pub fn write_link_line(out: &mut Vec<u8>, name: &str, target: &str, meta: &Metadata, now: i64) {
    list_line(out, name, Some(target), meta, now);
}

fn list_line(out: &mut Vec<u8>, name: &str, target: Option<&str>, meta: &Metadata, now: i64) {
    out.push(match meta.kind {
        FileKind::File => b'-',
        FileKind::Directory => b'd',
        FileKind::Symlink => b'l',
        // `ls` prints `?` for a type it cannot name; the mode bits the
        // driver gives carry no type.
        FileKind::Other => b'?',
    });
    write_mode(out, meta.mode);
    out.push(b' ');
    write_padded(out, meta.nlink, 4);
    out.extend_from_slice(b" ftp      ftp      ");
    write_padded(out, meta.size, 12);
    out.push(b' ');

    let secs = clamp_secs(meta.modified.unwrap_or(0));
    let civil = Civil::from_unix(secs);
    out.extend_from_slice(MONTHS[usize::from(civil.month - 1)].as_bytes());
    out.push(b' ');
    write_two(out, civil.day);
    out.push(b' ');
    // i128: `now` and `secs` are arbitrary and their difference must not
    // overflow.
    let age = i128::from(now) - i128::from(secs);
    if (-HOUR..=SIX_MONTHS).contains(&age) {
        write_two(out, civil.hour);
        out.push(b':');
        write_two(out, civil.minute);
    } else {
        out.push(b' ');
        write_digits(out, u64::from(civil.year), 4);
    }
    out.push(b' ');
    write_name(out, name);
    if let Some(target) = target {
        out.extend_from_slice(b" -> ");
        write_name(out, target);
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a file name to a listing line. A CR or LF inside the name
/// (legal on Unix) would end the line early and let the name forge
/// entries of its own, so each is written as `?`: such a file is
/// listed, under a name that cannot be retrieved by it.
fn write_name(out: &mut Vec<u8>, name: &str) {
    let mut rest = name.as_bytes();
    while let Some(i) = rest.iter().position(|&b| b == b'\r' || b == b'\n') {
        out.extend_from_slice(&rest[..i]);
        out.push(b'?');
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Half of the mean Gregorian year, the "recent" window of `ls -l`.
const SIX_MONTHS: i128 = 31_556_952 / 2;
/// How far in the future a time still shows as recent (clock skew).
const HOUR: i128 = 3600;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `rwxr-xr-x` from the low 12 mode bits, with setuid/setgid/sticky
/// shown as `s`/`S`/`t`/`T` in the execute places, as `ls` does.
fn write_mode(out: &mut Vec<u8>, mode: u32) {
    const SPECIAL: [(u32, u8, u8); 3] = [
        (0o4000, b's', b'S'),
        (0o2000, b's', b'S'),
        (0o1000, b't', b'T'),
    ];
    for (i, (bit, with_x, without_x)) in SPECIAL.into_iter().enumerate() {
        let triplet = (mode >> (6 - 3 * i)) & 7;
        out.push(if triplet & 4 != 0 { b'r' } else { b'-' });
        out.push(if triplet & 2 != 0 { b'w' } else { b'-' });
        let x = triplet & 1 != 0;
        out.push(match (mode & bit != 0, x) {
            (true, true) => with_x,
            (true, false) => without_x,
            (false, true) => b'x',
            (false, false) => b'-',
        });
    }
}

/// Appends one NLST line: `name` and CR LF (a CR or LF inside the name
/// is written as `?`, so one name is always one line).
pub fn write_name_line(out: &mut Vec<u8>, name: &str) {
    write_name(out, name);
    out.extend_from_slice(b"\r\n");
}

/// Appends one NLST line for `entry`, named as the client can use it
/// again. `named` is the client's argument (options removed; empty for
/// none) and `in_directory` says whether it named a directory (whose
/// entries are listed) or a file. RFC 959 leaves the form open; a client
/// passes each line back to RETR or DELE, so, as vsftpd does, the line
/// keeps the argument's directory: `NLST sub` shows `sub/a.txt`,
/// `NLST sub/a.txt` shows `sub/a.txt`, a bare `NLST` shows `a.txt`.
pub fn write_nlst_entry(out: &mut Vec<u8>, named: &str, entry: &str, in_directory: bool) {
    if named.is_empty() {
        return write_name_line(out, entry);
    }
    if !in_directory {
        return write_name_line(out, named);
    }
    write_name(out, named);
    if !named.ends_with('/') {
        out.push(b'/');
    }
    write_name_line(out, entry);
}

/// Appends the facts and name of one entry, without a leading space:
/// `type=file;size=12;modify=20260102030405;perm=r; name` and CR LF
/// (RFC 3659 §7.2). MLSD sends these lines; MLST prefixes one with a
/// space inside its 250 reply.
///
/// Facts come in a fixed order (type, size, modify, perm, unique), each
/// ended by `;`; a fact whose value is unknown is left out, as §7.1
/// allows. `size` is given for everything but directories (§7.5.7).
pub fn write_facts_line(out: &mut Vec<u8>, name: &str, meta: &Metadata, facts: &Facts) {
    let dir = meta.kind == FileKind::Directory;
    if facts.kind {
        out.extend_from_slice(b"type=");
        // §7.5.1: file and dir are the registered values; anything else
        // goes under the OS-specific `OS.unix=` prefix.
        out.extend_from_slice(match meta.kind {
            FileKind::File => b"file".as_slice(),
            FileKind::Directory => b"dir",
            FileKind::Symlink => b"OS.unix=slink",
            FileKind::Other => b"OS.unix=other",
        });
        out.push(b';');
    }
    if facts.size && !dir {
        out.extend_from_slice(b"size=");
        write_digits(out, meta.size, 1);
        out.push(b';');
    }
    if facts.modify {
        if let Some(secs) = meta.modified {
            out.extend_from_slice(b"modify=");
            write_timeval(out, secs);
            out.push(b';');
        }
    }
    if facts.perm {
        out.extend_from_slice(b"perm=");
        // §7.5.5: what this user may do to the entry. Reading is always
        // allowed (the storage layer enforces the rest); writes only with
        // write access.
        out.extend_from_slice(match (meta.kind, facts.writable) {
            (FileKind::File, false) => b"r".as_slice(),
            (FileKind::File, true) => b"rawdf",
            (FileKind::Directory, false) => b"el",
            (FileKind::Directory, true) => b"elcmdfp",
            // A link or device is not retrieved or entered through this
            // listing's name; with write access it can still be removed
            // or renamed.
            (_, false) => b"",
            (_, true) => b"df",
        });
        out.push(b';');
    }
    if facts.unique {
        if let Some((dev, ino)) = meta.unique {
            // §7.5.6 only asks for a value unique to the file; device and
            // inode in hex are short and stable.
            out.extend_from_slice(b"unique=");
            write_hex(out, dev);
            out.push(b'-');
            write_hex(out, ino);
            out.push(b';');
        }
    }
    out.push(b' ');
    write_name(out, name);
    out.extend_from_slice(b"\r\n");
}

/// The features line for FEAT: `MLST type*;size*;modify*;perm*;unique*;`
/// with a `*` after each fact that `facts` selects (RFC 3659 §7.8), no
/// leading space and no line end: the FEAT reply frames it.
pub fn mlst_feature(facts: &Facts, out: &mut Vec<u8>) {
    out.extend_from_slice(b"MLST ");
    for (name, on) in [
        ("type", facts.kind),
        ("size", facts.size),
        ("modify", facts.modify),
        ("perm", facts.perm),
        ("unique", facts.unique),
    ] {
        out.extend_from_slice(name.as_bytes());
        if on {
            out.push(b'*');
        }
        out.push(b';');
    }
}

/// Appends `secs` (Unix time, UTC) as `YYYYMMDDHHMMSS` (RFC 3659 §2.3).
///
/// §2.3 allows years 1000 to 9999 only; times outside that range are
/// clamped to its ends rather than written in a form clients reject.
pub fn write_timeval(out: &mut Vec<u8>, secs: i64) {
    let c = Civil::from_unix(secs.clamp(TIMEVAL_MIN, TIMEVAL_MAX));
    write_digits(out, u64::from(c.year), 4);
    for part in [c.month, c.day, c.hour, c.minute, c.second] {
        write_two(out, part);
    }
}

/// Parses `YYYYMMDDHHMMSS[.sss]` (an MDTM reply's value) into Unix
/// seconds, UTC.
///
/// Strict about the shape (14 digits, optionally `.` and at least one
/// digit, RFC 3659 §2.3) and the ranges (a real calendar day; second 60
/// is a leap second and counts as the next minute's first); the fraction
/// is dropped. Any four-digit year is accepted, though §2.3 says 1000 or
/// later, since old servers send what they send.
pub fn parse_timeval(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let (digits, fraction) = bytes.split_at_checked(14)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    match fraction {
        [] => {}
        [b'.', rest @ ..] if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) => {}
        _ => return None,
    }
    let num = |range: core::ops::Range<usize>| {
        digits[range]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    };
    let (year, month, day) = (num(0..4), num(4..6), num(6..8));
    let (hour, minute, second) = (num(8..10), num(10..12), num(12..14));
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(i64::from(year), month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second))
}

/// 1000-01-01 00:00:00 UTC, the earliest time-val (RFC 3659 §2.3).
pub(crate) const TIMEVAL_MIN: i64 = -30_610_224_000;
/// 9999-12-31 23:59:59 UTC, the latest time-val.
pub(crate) const TIMEVAL_MAX: i64 = 253_402_300_799;

/// Keeps a LIST date within four-digit years, like a time-val.
fn clamp_secs(secs: i64) -> i64 {
    secs.clamp(TIMEVAL_MIN, TIMEVAL_MAX)
}

/// A UTC calendar date and time of day.
struct Civil {
    year: u32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl Civil {
    /// Splits Unix seconds already clamped to years 1000..=9999.
    fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            // Clamped input keeps the year within 1000..=9999.
            year: u32::try_from(year).unwrap_or(0),
            month,
            day,
            hour: (of_day / 3600) as u8,
            minute: (of_day / 60 % 60) as u8,
            second: (of_day % 60) as u8,
        }
    }
}

/// The proleptic Gregorian date of a day count from 1970-01-01. Works in
/// 400-year eras (146 097 days each), with years starting on March 1 so
/// that the leap day falls at the end of a year.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468; // days from 0000-03-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // 0..=146096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let mp = i64::from((month + 9) % 12); // March = 0
    let day_of_year = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Appends `n` in decimal, zero-padded to at least `width` digits.
fn write_digits(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = buf.len() - i;
    out.resize(out.len() + width.saturating_sub(len), b'0');
    out.extend_from_slice(&buf[i..]);
}

/// Appends `n` in decimal, right-aligned with spaces in `width` columns.
fn write_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = 1;
    let mut rest = n / 10;
    while rest > 0 {
        digits += 1;
        rest /= 10;
    }
    out.resize(out.len() + width.saturating_sub(digits), b' ');
    write_digits(out, n, 1);
}

fn write_two(out: &mut Vec<u8>, n: u8) {
    out.push(b'0' + n / 10);
    out.push(b'0' + n % 10);
}

/// Appends `n` in lower-case hex, no leading zeros.
fn write_hex(out: &mut Vec<u8>, n: u64) {
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for shift in (0..digits).rev() {
        out.push(b"0123456789abcdef"[((n >> (shift * 4)) & 15) as usize]);
    }
}
