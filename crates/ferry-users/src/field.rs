//! The fields of a users-file line, checked and normalised.

use crate::EntryError;

/// Checks a user name: non-empty, not starting with `#` (the line would be a
/// comment), no `:` (the field separator), no whitespace or control characters.
pub(crate) fn name(name: &str) -> Result<(), EntryError> {
    let bad = name.is_empty()
        || name.starts_with('#')
        || name
            .chars()
            .any(|c| c == ':' || c.is_whitespace() || c.is_control());
    if bad {
        Err(EntryError::BadName(name.to_owned()))
    } else {
        Ok(())
    }
}

/// Normalises a home directory to `/` or `/a/b`: absolute, duplicate and
/// trailing slashes collapsed. `.` and `..` components, `:`, NUL and other
/// control characters are refused.
pub(crate) fn home(home: &str) -> Result<String, EntryError> {
    let refuse = |reason| EntryError::BadHome {
        home: home.to_owned(),
        reason,
    };
    if !home.starts_with('/') {
        return Err(refuse("it must start with '/'"));
    }
    if home.contains('\0') {
        return Err(refuse("it contains a NUL byte"));
    }
    if home.chars().any(char::is_control) {
        return Err(refuse("it contains a control character"));
    }
    if home.contains(':') {
        return Err(refuse("it contains ':', the field separator"));
    }
    let mut normal = String::with_capacity(home.len());
    for component in home.split('/').filter(|c| !c.is_empty()) {
        match component {
            ".." => return Err(refuse("it contains a \"..\" component")),
            "." => return Err(refuse("it contains a \".\" component")),
            _ => {
                normal.push('/');
                normal.push_str(component);
            }
        }
    }
    if normal.is_empty() {
        normal.push('/');
    }
    Ok(normal)
}

/// Reads the access word: `rw` may write, `ro` may not.
pub(crate) fn write(access: &str) -> Result<bool, EntryError> {
    match access {
        "rw" => Ok(true),
        "ro" => Ok(false),
        _ => Err(EntryError::BadAccess(access.to_owned())),
    }
}

/// The access word for `write`.
pub(crate) fn access(write: bool) -> &'static str {
    if write {
        "rw"
    } else {
        "ro"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["alice", "bob.smith", "x", "user@example.org", "a#b", "ünï"] {
            assert_eq!(name(good), Ok(()), "{good}");
        }
        for bad in [
            "", "#alice", "a:b", "a b", " alice", "alice\t", "a\u{0}b", "a\u{7f}", "a\u{a0}b",
        ] {
            assert_eq!(name(bad), Err(EntryError::BadName(bad.into())), "{bad:?}");
        }
    }

    #[test]
    fn homes_are_normalised() {
        for (given, normal) in [
            ("/", "/"),
            ("//", "/"),
            ("/a", "/a"),
            ("/a/", "/a"),
            ("//a///b//", "/a/b"),
            ("/pub/my files", "/pub/my files"),
            ("/a/.hidden/..x/x..", "/a/.hidden/..x/x.."),
        ] {
            assert_eq!(home(given).as_deref(), Ok(normal), "{given:?}");
        }
    }

    #[test]
    fn bad_homes_are_refused() {
        for (bad, why) in [
            ("", "start with '/'"),
            ("a/b", "start with '/'"),
            ("~alice", "start with '/'"),
            ("/a/../b", "\"..\""),
            ("/..", "\"..\""),
            ("/a/..", "\"..\""),
            ("/.", "\".\""),
            ("/a/./b", "\".\""),
            ("/a\0b", "NUL"),
            ("/a\nb", "control"),
            ("/a:b", "':'"),
        ] {
            match home(bad) {
                Err(EntryError::BadHome { home, reason }) => {
                    assert_eq!(home, bad);
                    assert!(reason.contains(why), "{bad:?}: {reason}");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn access_words() {
        assert_eq!(write("rw"), Ok(true));
        assert_eq!(write("ro"), Ok(false));
        for bad in ["", "RW", "r", "rwx", "wo", " rw"] {
            assert_eq!(write(bad), Err(EntryError::BadAccess(bad.into())));
        }
        assert_eq!(write(access(true)), Ok(true));
        assert_eq!(write(access(false)), Ok(false));
    }
}
