//! RootPath: resolution against a current directory, clamping at the
//! root, and the RFC 959 Appendix II quoting of 257 replies.

use ftp_proto::path::{write_quoted, PathError};
use ftp_proto::RootPath;
use proptest::prelude::*;

fn at(cwd: &str) -> RootPath {
    RootPath::ROOT.resolve(cwd).unwrap()
}

fn resolve(cwd: &str, arg: &str) -> String {
    at(cwd).resolve(arg).unwrap().to_absolute()
}

#[test]
fn resolves_relative_and_absolute() {
    assert_eq!(resolve("/", "a"), "/a");
    assert_eq!(resolve("/pub", "a/b"), "/pub/a/b");
    assert_eq!(resolve("/pub", "/etc/passwd"), "/etc/passwd");
    assert_eq!(resolve("/pub", "/"), "/");
    assert_eq!(resolve("/pub/x", "."), "/pub/x");
}

#[test]
fn normalises_empty_and_dot_components() {
    assert_eq!(resolve("/", "//a///b/./c/"), "/a/b/c");
    assert_eq!(resolve("/a", "./././"), "/a");
    assert_eq!(at("/a//b/").as_str(), "a/b");
}

#[test]
fn dot_dot_is_clamped_at_the_root() {
    assert_eq!(resolve("/a/b", ".."), "/a");
    assert_eq!(resolve("/a/b", "../.."), "/");
    assert_eq!(resolve("/a/b", "../../../../etc/passwd"), "/etc/passwd");
    assert_eq!(resolve("/", "/../../.."), "/");
    assert_eq!(resolve("/a", "b/../../c"), "/c");
}

#[test]
fn odd_names_stay_single_components() {
    // `...` and a backslash are names, not navigation.
    let p = at("/a").resolve("...").unwrap();
    assert_eq!(p.as_str(), "a/...");
    let p = at("/a").resolve("..\\..\\etc").unwrap();
    assert_eq!(p.components().collect::<Vec<_>>(), ["a", "..\\..\\etc"]);
    let p = at("/").resolve("dir with spaces/ü").unwrap();
    assert_eq!(p.to_absolute(), "/dir with spaces/ü");
}

#[test]
fn refuses_nul_and_empty() {
    assert_eq!(RootPath::ROOT.resolve("a\0b"), Err(PathError::Nul));
    assert_eq!(RootPath::ROOT.resolve(""), Err(PathError::Empty));
}

#[test]
fn join_parent_file_name() {
    let home = at("/home/anna");
    assert_eq!(home.join(&at("/docs/x")).to_absolute(), "/home/anna/docs/x");
    assert_eq!(home.join(&RootPath::ROOT), home);
    assert_eq!(RootPath::ROOT.join(&home), home);
    assert_eq!(home.parent().to_absolute(), "/home");
    assert_eq!(home.parent().parent(), RootPath::ROOT);
    assert_eq!(RootPath::ROOT.parent(), RootPath::ROOT);
    assert_eq!(home.file_name(), "anna");
    assert_eq!(at("/x").file_name(), "x");
    assert_eq!(RootPath::ROOT.file_name(), "");
    assert!(RootPath::ROOT.is_root());
    assert_eq!(RootPath::ROOT.to_absolute(), "/");
    assert_eq!(RootPath::ROOT.as_str(), "");
    assert_eq!(RootPath::ROOT.components().count(), 0);
}

#[test]
fn quoting_doubles_embedded_quotes() {
    // RFC 959 Appendix II: MKD foo"bar -> 257 "/usr/dm/foo""bar" created.
    let mut out = String::from("257 ");
    write_quoted(&mut out, "/usr/dm/foo\"bar");
    assert_eq!(out, "257 \"/usr/dm/foo\"\"bar\"");
    let mut out = String::new();
    write_quoted(&mut out, "\"\"");
    assert_eq!(out, "\"\"\"\"\"\"");
    let mut out = String::new();
    write_quoted(&mut out, "/");
    assert_eq!(out, "\"/\"");
}

/// Undoes write_quoted the way a client reads a 257 reply.
fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '"' && chars.next() != Some('"') {
            return None;
        }
        out.push(c);
    }
    Some(out)
}

fn well_formed(p: &RootPath) {
    for c in p.as_str().split('/') {
        if p.is_root() {
            break;
        }
        assert!(!c.is_empty(), "empty component in {p:?}");
        assert_ne!(c, ".", "{p:?}");
        assert_ne!(c, "..", "{p:?}");
        assert!(!c.contains('\0'), "{p:?}");
    }
    assert!(!p.as_str().starts_with('/') && !p.as_str().ends_with('/'));
    assert_eq!(
        p.components().count(),
        if p.is_root() {
            0
        } else {
            p.as_str().split('/').count()
        }
    );
}

/// Path-like strings: mostly separators, dots and a few names, with
/// arbitrary characters mixed in.
fn path_arg() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => Just("/".to_string()),
        3 => Just("..".to_string()),
        2 => Just(".".to_string()),
        1 => Just("//".to_string()),
        1 => Just("\\".to_string()),
        1 => Just("\0".to_string()),
        3 => "[a-c]{1,3}",
        1 => any::<String>(),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn resolve_keeps_the_shape(cwd in path_arg(), arg in path_arg()) {
        let cwd = RootPath::ROOT.resolve(&cwd).unwrap_or_default();
        well_formed(&cwd);
        match cwd.resolve(&arg) {
            Ok(p) => {
                well_formed(&p);
                // The absolute form names the same path from anywhere.
                let abs = p.to_absolute();
                prop_assert_eq!(&RootPath::ROOT.resolve(&abs).unwrap(), &p);
                prop_assert_eq!(&cwd.resolve(&abs).unwrap(), &p);
                prop_assert_eq!(&p.resolve(&abs).unwrap(), &p);
                // Resolving is idempotent on the relative form too.
                if !p.is_root() {
                    prop_assert_eq!(RootPath::ROOT.resolve(p.as_str()).unwrap(), p.clone());
                }
                let joined = cwd.join(&p);
                well_formed(&joined);
            }
            Err(PathError::Nul) => prop_assert!(arg.contains('\0')),
            Err(PathError::Empty) => prop_assert!(arg.is_empty()),
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }

    #[test]
    fn dot_dots_never_climb_above_the_root(cwd in path_arg(), ups in 0usize..20, tail in "[a-z]{1,4}") {
        let cwd = RootPath::ROOT.resolve(&cwd).unwrap_or_default();
        let arg = format!("{}{}", "../".repeat(ups), tail);
        let p = cwd.resolve(&arg).unwrap();
        let depth = cwd.components().count();
        let kept = depth.saturating_sub(ups);
        let mut want: Vec<&str> = cwd.components().take(kept).collect();
        want.push(&tail);
        prop_assert_eq!(p.components().collect::<Vec<_>>(), want);
    }

    #[test]
    fn parent_and_file_name_split_the_path(arg in path_arg()) {
        if let Ok(p) = RootPath::ROOT.resolve(&arg) {
            if !p.is_root() {
                let back = p.parent().resolve(p.file_name()).unwrap();
                prop_assert_eq!(back, p);
            }
        }
    }

    #[test]
    fn quoting_round_trips(s in any::<String>()) {
        let mut out = String::new();
        write_quoted(&mut out, &s);
        prop_assert_eq!(unquote(&out), Some(s));
    }
}
