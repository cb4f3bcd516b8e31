//! The users file as the server and `ferry passwd` use it: lines made by
//! `user_line`, read back by `Users`, passwords verified, bad files refused
//! with the line to fix.

use std::path::PathBuf;
use std::sync::OnceLock;

use ferry_users::{user_line, EntryError, User, Users, UsersError};

/// Bob's password is "hunter2": a line written once by `user_line`, kept as
/// text so it also stands for a file made by an earlier run.
const BOB: &str = "bob:$argon2id$v=19$m=19456,t=2,p=1$RRRec0XLGMdgLrFqXUqgtQ$IpbKmKq/gAsA7uuBQCV6cbPvCOHzxEnjTwpr0I7fFUc:/:ro";

/// Hashing costs real time (more so unoptimised): make Alice's line once.
fn alice() -> &'static str {
    static LINE: OnceLock<String> = OnceLock::new();
    LINE.get_or_init(|| user_line("alice", "correct horse", "//alice//", true).unwrap())
}

fn user(name: &str, home: &str, write: bool) -> User {
    User {
        name: name.into(),
        home: home.into(),
        write,
    }
}

fn fields(line: &str) -> Vec<&str> {
    line.split(':').collect()
}

#[test]
fn user_line_round_trips_through_parse_and_verify() {
    let line = alice();
    let [name, hash, home, access] = fields(line)[..] else {
        panic!("{line}");
    };
    assert_eq!((name, home, access), ("alice", "/alice", "rw"));
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );

    let users = Users::parse(&format!("{line}\n{BOB}\n")).unwrap();
    assert_eq!((users.len(), users.is_empty()), (2, false));

    assert_eq!(
        users.verify("alice", "correct horse"),
        Some(&user("alice", "/alice", true))
    );
    assert_eq!(users.verify("alice", "correct horse "), None);
    assert_eq!(
        users.verify("bob", "hunter2"),
        Some(&user("bob", "/", false))
    );
    // Names are exact: no user "Bob", and an unknown user never verifies.
    assert_eq!(users.verify("Bob", "hunter2"), None);
}

#[test]
fn each_line_gets_its_own_salt() {
    let a = user_line("carol", "same password", "/", false).unwrap();
    let b = user_line("carol", "same password", "/", false).unwrap();
    // Salt and output both differ; the parameters are the same.
    let parts =
        |line: &str| -> Vec<String> { fields(line)[1].split('$').map(str::to_owned).collect() };
    let (pa, pb) = (parts(&a), parts(&b));
    assert_eq!(pa[..4], pb[..4]);
    assert_ne!(pa[4], pb[4], "salts");
    assert_ne!(pa[5], pb[5], "outputs");
    assert_eq!(pa[4].len(), 22, "16-byte salt in unpadded base64");
    // Either line is a valid file by itself.
    assert_eq!(Users::parse(&a).unwrap().len(), 1);
    assert_eq!(Users::parse(&b).unwrap().len(), 1);
}

#[test]
fn comments_blank_lines_and_line_ends_are_ignored() {
    let text =
        format!("# ferry users\r\n\r\n   # indented comment\n\t\n  {BOB}  \r\n# alice:x:/:rw\n\n");
    let users = Users::parse(&text).unwrap();
    assert_eq!(users.len(), 1);
    let debug = format!("{users:?}");
    assert!(debug.contains("\"bob\""), "{debug}");
    assert!(
        !debug.contains("argon2"),
        "hashes stay out of Debug: {debug}"
    );

    for empty in ["", "\n", "# nobody yet\n", "  \n\t# none\r\n"] {
        let users = Users::parse(empty).unwrap();
        assert_eq!((users.len(), users.is_empty()), (0, true), "{empty:?}");
    }
}

/// Bob's line with one field replaced.
fn bob_with(index: usize, value: &str) -> String {
    let mut parts = fields(BOB);
    parts[index] = value;
    parts.join(":")
}

/// Parses `bad` as line 4, after a comment, a blank line and a good line.
fn line_4_error(bad: &str) -> EntryError {
    let text = format!("# users\n\n{}\n{bad}\n", bob_with(0, "dave"));
    match Users::parse(&text) {
        Err(UsersError::Line {
            path: None,
            line: 4,
            error,
        }) => error,
        other => panic!("{bad:?}: {other:?}"),
    }
}

#[test]
fn wrong_field_counts() {
    let [name, hash, home, _] = fields(BOB)[..] else {
        unreachable!()
    };
    for (bad, count) in [
        ("bob".to_owned(), 1),
        (format!("{name}:{hash}:{home}"), 3),
        (format!("{BOB}:extra"), 5),
        (format!("{name}:{hash}:/a:b:rw"), 5),
    ] {
        assert_eq!(line_4_error(&bad), EntryError::FieldCount(count), "{bad}");
    }
}

#[test]
fn bad_names() {
    for name in ["", "b b", "bo\u{7}b", "bob\u{a0}"] {
        assert_eq!(
            line_4_error(&bob_with(0, name)),
            EntryError::BadName(name.into())
        );
    }
}

#[test]
fn bad_homes() {
    for home in ["", "bob", "/a/../b", "/..", "/./b", "/a\0b"] {
        match line_4_error(&bob_with(2, home)) {
            EntryError::BadHome { home: given, .. } => assert_eq!(given, home),
            other => panic!("{home:?}: {other:?}"),
        }
    }
}

#[test]
fn bad_access_words() {
    for access in ["", "RW", "r", "rwx", "write"] {
        assert_eq!(
            line_4_error(&bob_with(3, access)),
            EntryError::BadAccess(access.into())
        );
    }
}

#[test]
fn unusable_hashes() {
    let bob_hash = fields(BOB)[1];
    for hash in [
        "",
        "hunter2",
        "$argon2id",
        // Well-formed PHC, wrong algorithm.
        "$scrypt$ln=15,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        // Argon2 without its output.
        bob_hash.rsplit_once('$').unwrap().0,
        // Argon2 with a memory cost argon2 refuses.
        "$argon2id$v=19$m=1,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        // Not base64.
        "$argon2id$v=19$m=19456,t=2,p=1$!!!!$aGFzaGhhc2hoYXNoaGFzaA",
    ] {
        match line_4_error(&bob_with(1, hash)) {
            EntryError::BadHash(_) => {}
            other => panic!("{hash:?}: {other:?}"),
        }
    }
}

#[test]
fn duplicate_users() {
    let text = format!("{BOB}\n# again\n{}\n", bob_with(3, "rw"));
    let err = Users::parse(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 3: duplicate user \"bob\" (first defined on line 1)"
    );
    assert!(matches!(
        err,
        UsersError::Line {
            line: 3,
            error: EntryError::Duplicate { first_line: 1, .. },
            ..
        }
    ));
}

#[test]
fn load_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    std::fs::write(
        &path,
        format!("# users\n{BOB}\nerin:{}:/:rx\n", fields(BOB)[1]),
    )
    .unwrap();
    let err = Users::load(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:3: bad access \"rx\": expected ro or rw", path.display())
    );
    assert!(matches!(err, UsersError::Line { path: Some(p), line: 3, .. } if p == path));

    std::fs::write(&path, format!("# users\n{BOB}\n")).unwrap();
    assert_eq!(Users::load(&path).unwrap().len(), 1);

    let missing: PathBuf = dir.path().join("missing");
    let err = Users::load(&missing).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read users file {}: ", missing.display())),
        "{err}"
    );
    assert!(matches!(err, UsersError::Read { path, .. } if path == missing));
}

#[test]
fn user_line_refuses_what_the_file_cannot_hold() {
    for name in ["", "#root", "a:b", "two words", "tab\t"] {
        assert!(
            matches!(user_line(name, "pw", "/", false), Err(UsersError::Entry(EntryError::BadName(n))) if n == name),
            "{name:?}"
        );
    }
    for home in ["", "rel", "/a/..", "/a:b", "/a\nb"] {
        assert!(
            matches!(
                user_line("frank", "pw", home, false),
                Err(UsersError::Entry(EntryError::BadHome { .. }))
            ),
            "{home:?}"
        );
    }
    assert!(matches!(
        user_line("frank", "", "/", false),
        Err(UsersError::Entry(EntryError::EmptyPassword))
    ));
}
