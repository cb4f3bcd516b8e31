//! LIST, NLST and MLSD lines and RFC 3659 time values, byte for byte.

use ftp_proto::listing::{
    mlst_feature, parse_timeval, write_facts_line, write_list_line, write_name_line,
    write_nlst_entry, write_timeval, Facts, FileKind, Metadata,
};
use proptest::prelude::*;

/// 2026-01-02 03:04:05 UTC.
const T: i64 = 1_767_323_045;
const DAY: i64 = 86_400;

fn file(size: u64, mode: u32) -> Metadata {
    Metadata {
        kind: FileKind::File,
        size,
        modified: Some(T),
        mode,
        nlink: 1,
        unique: Some((0x803, 0x1a2b)),
    }
}

fn dir() -> Metadata {
    Metadata {
        kind: FileKind::Directory,
        size: 4096,
        modified: Some(T),
        mode: 0o755,
        nlink: 2,
        unique: None,
    }
}

fn list(name: &str, meta: &Metadata, now: i64) -> String {
    let mut out = Vec::new();
    write_list_line(&mut out, name, meta, now);
    String::from_utf8(out).unwrap()
}

fn facts(name: &str, meta: &Metadata, facts: &Facts) -> String {
    let mut out = Vec::new();
    write_facts_line(&mut out, name, meta, facts);
    String::from_utf8(out).unwrap()
}

fn timeval(secs: i64) -> String {
    let mut out = Vec::new();
    write_timeval(&mut out, secs);
    String::from_utf8(out).unwrap()
}

#[test]
fn list_line_recent_file() {
    assert_eq!(
        list("notes.txt", &file(1234, 0o644), T + DAY),
        "-rw-r--r--    1 ftp      ftp              1234 Jan 02 03:04 notes.txt\r\n"
    );
}

#[test]
fn list_line_old_and_future_show_the_year() {
    // More than six months ago.
    assert_eq!(
        list("old", &file(0, 0o600), T + 200 * DAY),
        "-rw-------    1 ftp      ftp                 0 Jan 02  2026 old\r\n"
    );
    // Within the hour ahead: still a time (clock skew); beyond: the year.
    assert!(list("x", &file(0, 0o644), T - 3599).contains("Jan 02 03:04 x"));
    assert!(list("x", &file(0, 0o644), T - 3601).contains("Jan 02  2026 x"));
    // Exactly now.
    assert!(list("x", &file(0, 0o644), T).contains("Jan 02 03:04 x"));
}

#[test]
fn list_line_directory_and_kinds() {
    assert_eq!(
        list("pub", &dir(), T),
        "drwxr-xr-x    2 ftp      ftp              4096 Jan 02 03:04 pub\r\n"
    );
    let mut link = file(7, 0o777);
    link.kind = FileKind::Symlink;
    assert!(list("l", &link, T).starts_with("lrwxrwxrwx "));
    let mut other = file(0, 0o600);
    other.kind = FileKind::Other;
    assert!(list("p", &other, T).starts_with("?rw------- "));
}

#[test]
fn list_line_special_bits() {
    let mode = |m| list("f", &file(0, m), T)[..10].to_string();
    assert_eq!(mode(0o4755), "-rwsr-xr-x");
    assert_eq!(mode(0o4644), "-rwSr--r--");
    assert_eq!(mode(0o2755), "-rwxr-sr-x");
    assert_eq!(mode(0o2745), "-rwxr-Sr-x");
    assert_eq!(mode(0o1777), "-rwxrwxrwt");
    assert_eq!(mode(0o1776), "-rwxrwxrwT");
    assert_eq!(mode(0o7000), "---S--S--T");
    assert_eq!(mode(0o0000), "----------");
    // Bits above the low 12 are ignored.
    assert_eq!(mode(0o100644), "-rw-r--r--");
}

#[test]
fn list_line_big_numbers_and_odd_times() {
    let mut big = file(u64::MAX, 0o644);
    big.nlink = 123_456;
    big.modified = Some(-1); // 1969-12-31 23:59:59
    assert_eq!(
        list("big", &big, T),
        "-rw-r--r-- 123456 ftp      ftp      18446744073709551615 Dec 31  1969 big\r\n"
    );
    let mut unknown = file(1, 0o644);
    unknown.modified = None;
    assert!(list("u", &unknown, T).contains(" Jan 01  1970 u\r\n"));
    for t in [i64::MIN, i64::MAX, -62_167_219_200, 253_402_300_800] {
        for now in [i64::MIN, 0, i64::MAX] {
            let mut m = file(1, 0o644);
            m.modified = Some(t);
            let line = list("n", &m, now);
            assert!(line.ends_with(" n\r\n"), "{line}");
        }
    }
}

#[test]
fn name_line() {
    let mut out = Vec::new();
    write_name_line(&mut out, "a b");
    assert_eq!(out, b"a b\r\n");
}

#[test]
fn a_name_with_line_ends_stays_one_line() {
    // A file named "x\r\n-rw-r--r-- ... passwd" must not forge a second entry.
    let forged = "x\r\n226 fake\nend\r";
    let mut out = Vec::new();
    write_name_line(&mut out, forged);
    assert_eq!(out, b"x??226 fake?end?\r\n");
    let line = list(forged, &file(1, 0o644), 0);
    assert!(line.ends_with(" x??226 fake?end?\r\n"), "{line:?}");
    assert_eq!(line.matches('\n').count(), 1);
    let line = facts(forged, &file(1, 0o644), &Facts::ALL);
    assert!(line.ends_with("; x??226 fake?end?\r\n"), "{line:?}");
    assert_eq!(line.matches('\n').count(), 1);
}

#[test]
fn facts_lines() {
    assert_eq!(
        facts("notes.txt", &file(12, 0o644), &Facts::ALL),
        "type=file;size=12;modify=20260102030405;perm=r;unique=803-1a2b; notes.txt\r\n"
    );
    let writable = Facts {
        writable: true,
        ..Facts::ALL
    };
    assert_eq!(
        facts("notes.txt", &file(12, 0o644), &writable),
        "type=file;size=12;modify=20260102030405;perm=rawdf;unique=803-1a2b; notes.txt\r\n"
    );
    // RFC 3659 §7.5.7: no size for a directory; unknown unique left out.
    assert_eq!(
        facts("pub", &dir(), &Facts::ALL),
        "type=dir;modify=20260102030405;perm=el; pub\r\n"
    );
    assert_eq!(
        facts("pub", &dir(), &writable),
        "type=dir;modify=20260102030405;perm=elcmdfp; pub\r\n"
    );
    let mut link = file(3, 0o777);
    link.kind = FileKind::Symlink;
    link.modified = None;
    link.unique = Some((0, 0));
    assert_eq!(
        facts("l", &link, &Facts::ALL),
        "type=OS.unix=slink;size=3;perm=;unique=0-0; l\r\n"
    );
    let mut other = file(0, 0o600);
    other.kind = FileKind::Other;
    assert!(facts("o", &other, &writable).starts_with("type=OS.unix=other;size=0;"));
    assert!(facts("o", &other, &writable).contains("perm=df;"));
}

#[test]
fn facts_selection() {
    let none = Facts::NONE;
    // RFC 3659 §7.2: the space before the name is there even with no facts.
    assert_eq!(facts("a", &file(1, 0o644), &none), " a\r\n");
    let some = Facts {
        size: true,
        unique: true,
        ..none
    };
    assert_eq!(
        facts("a", &file(1, 0o644), &some),
        "size=1;unique=803-1a2b; a\r\n"
    );
}

#[test]
fn mlst_features() {
    let mut out = Vec::new();
    mlst_feature(&Facts::ALL, &mut out);
    assert_eq!(out, b"MLST type*;size*;modify*;perm*;unique*;");
    let mut out = Vec::new();
    mlst_feature(
        &Facts {
            size: false,
            unique: false,
            ..Facts::ALL
        },
        &mut out,
    );
    assert_eq!(out, b"MLST type*;size;modify*;perm*;unique;");
}

#[test]
fn timevals() {
    assert_eq!(timeval(T), "20260102030405");
    assert_eq!(timeval(0), "19700101000000");
    assert_eq!(timeval(-1), "19691231235959");
    assert_eq!(timeval(951_825_600), "20000229120000");
    assert_eq!(timeval(-2_203_891_200), "19000301000000");
    // RFC 3659 §2.3 years 1000..=9999: clamped.
    assert_eq!(timeval(i64::MIN), "10000101000000");
    assert_eq!(timeval(i64::MAX), "99991231235959");
    assert_eq!(timeval(-30_610_224_001), "10000101000000");
}

#[test]
fn parse_timevals() {
    assert_eq!(parse_timeval("20260102030405"), Some(T));
    assert_eq!(parse_timeval("20260102030405.123"), Some(T));
    assert_eq!(parse_timeval("19691231235959"), Some(-1));
    assert_eq!(parse_timeval("20000229120000"), Some(951_825_600));
    assert_eq!(parse_timeval("99991231235959"), Some(253_402_300_799));
    assert_eq!(parse_timeval("00000101000000"), Some(-62_167_219_200));
    // A leap second is the next minute's first.
    assert_eq!(
        parse_timeval("20161231235960"),
        parse_timeval("20170101000000")
    );
    for bad in [
        "",
        "2026010203040",
        "202601020304056",
        "20260102030405.",
        "20260102030405.1a",
        "20260102030405 ",
        "2026-1-02030405",
        "20261302030405",
        "20260002030405",
        "20260100030405",
        "20260230030405",
        "19000229000000",
        "20260102240000",
        "20260102036000",
        "20260102030461",
        "+2026010203040",
        "２０２６０１０２０３０４０５",
    ] {
        assert_eq!(parse_timeval(bad), None, "{bad:?}");
    }
}

proptest! {
    #[test]
    fn timeval_round_trips(secs in -30_610_224_000i64..=253_402_300_799) {
        let text = timeval(secs);
        prop_assert_eq!(text.len(), 14);
        prop_assert_eq!(parse_timeval(&text), Some(secs));
    }

    #[test]
    fn timeval_never_panics(secs in any::<i64>(), text in "[0-9.]{0,20}|\\PC{0,20}") {
        prop_assert_eq!(timeval(secs).len(), 14);
        let _ = parse_timeval(&text);
    }

    #[test]
    fn list_lines_have_one_shape(
        size in any::<u64>(),
        mode in any::<u32>(),
        nlink in any::<u64>(),
        modified in proptest::option::of(any::<i64>()),
        now in any::<i64>(),
        name in "[^\r\n]{1,20}",
    ) {
        let meta = Metadata { kind: FileKind::File, size, modified, mode, nlink, unique: None };
        let line = list(&name, &meta, now);
        let suffix = format!(" {name}\r\n");
        prop_assert!(line.ends_with(&suffix));
        let fields: Vec<&str> = line[..line.len() - suffix.len()].split_whitespace().collect();
        prop_assert_eq!(fields.len(), 8, "{}", line);
        let size_text = size.to_string();
        prop_assert_eq!(fields[4], size_text.as_str());
        prop_assert!(["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"].contains(&fields[5]));
        prop_assert!(fields[7].len() == 4 || fields[7].len() == 5 && fields[7].as_bytes()[2] == b':');
    }
}

#[test]
fn nlst_entries_keep_the_directory_the_client_named() {
    let line = |named: &str, entry: &str, dir: bool| {
        let mut out = Vec::new();
        write_nlst_entry(&mut out, named, entry, dir);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(line("", "a.txt", true), "a.txt\r\n");
    assert_eq!(line("sub", "a.txt", true), "sub/a.txt\r\n");
    assert_eq!(line("sub/", "a.txt", true), "sub/a.txt\r\n");
    assert_eq!(line("/", "a.txt", true), "/a.txt\r\n");
    assert_eq!(line("/pub/sub", "a.txt", true), "/pub/sub/a.txt\r\n");
    // A file is listed as the client named it.
    assert_eq!(line("sub/a.txt", "a.txt", false), "sub/a.txt\r\n");
    // Line ends inside either part never split the line.
    assert_eq!(line("d\r\n", "x\ny", true), "d??/x?y\r\n");
}
