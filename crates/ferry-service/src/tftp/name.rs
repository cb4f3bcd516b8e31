//! The file a TFTP request names, as the served root is asked for it.
//!
//! RFC 1350 gives the filename no structure; netboot clients bring the
//! conventions of their world. PXE and UEFI firmware and PXELINUX ask for
//! `\EFI\BOOT\bootx64.efi` or `pxelinux.cfg\default`, DOS-style, and some
//! put a `/` in front of a name meant relative to the server's directory.
//! So a backslash separates components like `/` does (no file served over
//! TFTP can have one in its name), and a leading separator means the
//! root. Whatever the spelling, `..` is refused by the root's own
//! confinement ([`ferry_storage::RelativePath`]), which sees the name only
//! after this mapping, so a backslash cannot smuggle one past it.

use std::borrow::Cow;

/// `requested` with every backslash taken as a `/`.
pub fn local_name(requested: &str) -> Cow<'_, str> {
    if requested.contains('\\') {
        Cow::Owned(requested.replace('\\', "/"))
    } else {
        Cow::Borrowed(requested)
    }
}

#[cfg(test)]
mod tests {
    use ferry_storage::{PathError, RelativePath};

    use super::*;

    fn resolve(requested: &str) -> Result<String, PathError> {
        RelativePath::parse(&local_name(requested)).map(|path| path.as_str().to_owned())
    }

    #[test]
    fn backslashes_separate() {
        assert_eq!(
            resolve(r"pxelinux.cfg\default").unwrap(),
            "pxelinux.cfg/default"
        );
        assert_eq!(
            resolve(r"\EFI\BOOT\bootx64.efi").unwrap(),
            "EFI/BOOT/bootx64.efi"
        );
        assert_eq!(
            resolve(r"/EFI\BOOT/grubx64.efi").unwrap(),
            "EFI/BOOT/grubx64.efi"
        );
        assert_eq!(resolve(r"a\\b\.\c").unwrap(), "a/b/c");
    }

    #[test]
    fn a_leading_separator_means_the_root() {
        assert_eq!(resolve("/pxelinux.0").unwrap(), "pxelinux.0");
        assert_eq!(resolve(r"\pxelinux.0").unwrap(), "pxelinux.0");
        assert_eq!(resolve(r"\\/pxelinux.0").unwrap(), "pxelinux.0");
    }

    #[test]
    fn no_spelling_leaves_the_root() {
        for name in [
            r"..\..\etc\passwd",
            r"\..\x",
            r"/..\x",
            r"a\..\..\b",
            r"boot/..\..\etc/passwd",
            r"..",
            r"\..",
            r"a\..",
            r"..\",
        ] {
            assert_eq!(resolve(name), Err(PathError::ParentComponent), "{name:?}");
        }
        assert_eq!(resolve(r"\"), Err(PathError::Empty));
        assert_eq!(resolve(r"a\0b").unwrap(), "a/0b");
    }

    proptest::proptest! {
        /// Names built from separators of both kinds, dots and plain
        /// names: whatever resolves has only plain components, and a name
        /// with a `..` component in either spelling never resolves.
        #[test]
        fn mapped_names_stay_under_the_root(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["..", ".", "", "a", "b.c", "..x", "x.."]), 0..8),
            seps in proptest::collection::vec(proptest::sample::select(vec!["/", "\\"]), 8),
        ) {
            let mut name = String::new();
            for (part, sep) in parts.iter().zip(&seps) {
                name.push_str(sep);
                name.push_str(part);
            }
            match resolve(&name) {
                Ok(path) => {
                    proptest::prop_assert!(!parts.contains(&".."), "{name:?} -> {path:?}");
                    for component in path.split('/') {
                        proptest::prop_assert!(!["", ".", ".."].contains(&component));
                        proptest::prop_assert!(!component.contains('\\'));
                    }
                }
                Err(err) => proptest::prop_assert!(
                    parts.contains(&"..") || err == PathError::Empty, "{name:?}: {err}"
                ),
            }
        }
    }

    #[test]
    fn plain_names_are_not_copied() {
        assert!(matches!(local_name("pxelinux.0"), Cow::Borrowed(_)));
    }
}
