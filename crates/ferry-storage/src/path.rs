//! Client names turned into root-relative paths that cannot leave the root.
//!
//! This is the purely lexical half of confinement: no file system access.
//! Symlinks are the other half and are handled when a path is opened
//! (see the crate docs).

use std::fmt;
use std::path::Path;

/// Why a client's name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// A `..` component: refused outright, never collapsed, so `a/../b`
    /// cannot be used to probe what `a` is.
    #[error("path contains a \"..\" component")]
    ParentComponent,
    /// A NUL byte, which no file name can contain.
    #[error("path contains a NUL byte")]
    Nul,
    /// Nothing left after dropping empty and `.` components: the root itself.
    #[error("path names no file")]
    Empty,
}

/// A path relative to the served root, made only of plain names.
///
/// By construction every component is non-empty, is neither `.` nor `..`,
/// and contains neither `/` nor NUL, so joining it onto a directory can only
/// name something beneath that directory (symlinks aside). Components are
/// stored joined by single `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelativePath(String);

impl RelativePath {
    /// Normalise a client's name.
    ///
    /// The name is split on `/`; empty and `.` components are dropped, so a
    /// leading `/` (tftp clients ask for `/pxelinux.0`) and doubled slashes
    /// mean the root. A backslash is an ordinary character of a Unix file
    /// name, not a separator.
    pub fn parse(name: &str) -> Result<RelativePath, PathError> {
        if name.contains('\0') {
            return Err(PathError::Nul);
        }
        let mut out = String::with_capacity(name.len());
        for component in name.split('/') {
            match component {
                "" | "." => {}
                ".." => return Err(PathError::ParentComponent),
                plain => {
                    if !out.is_empty() {
                        out.push('/');
                    }
                    out.push_str(plain);
                }
            }
        }
        if out.is_empty() {
            return Err(PathError::Empty);
        }
        Ok(RelativePath(out))
    }

    /// The normalised form, components joined by `/`, no leading `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same path for use with the OS (relative, so it must be joined
    /// onto or opened beneath the root).
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }

    /// The plain names, outermost first.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last component.
    pub fn file_name(&self) -> &str {
        self.0.rsplit_once('/').map_or(&self.0, |(_, name)| name)
    }

    /// Everything but the last component, or `None` when the path is a
    /// single name directly in the root.
    pub fn parent(&self) -> Option<RelativePath> {
        self.0
            .rsplit_once('/')
            .map(|(parent, _)| RelativePath(parent.to_owned()))
    }
}

impl fmt::Display for RelativePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Component, PathBuf};

    use proptest::prelude::*;

    use super::*;

    fn parse(name: &str) -> Result<String, PathError> {
        RelativePath::parse(name).map(|p| p.0)
    }

    #[test]
    fn plain_names() {
        assert_eq!(parse("pxelinux.0").unwrap(), "pxelinux.0");
        assert_eq!(parse("boot/grub/grub.cfg").unwrap(), "boot/grub/grub.cfg");
    }

    #[test]
    fn leading_slash_means_the_root() {
        assert_eq!(parse("/pxelinux.0").unwrap(), "pxelinux.0");
        assert_eq!(parse("//boot///x").unwrap(), "boot/x");
        assert_eq!(parse("./boot/./x/.").unwrap(), "boot/x");
    }

    #[test]
    fn dot_dot_anywhere_is_refused() {
        for name in [
            "..",
            "../etc/passwd",
            "a/../b",
            "a/..",
            "/../x",
            "a/b/../../..",
        ] {
            assert_eq!(parse(name), Err(PathError::ParentComponent), "{name:?}");
        }
    }

    #[test]
    fn names_that_merely_contain_dots_are_fine() {
        assert_eq!(parse("...").unwrap(), "...");
        assert_eq!(parse("..a/b..").unwrap(), "..a/b..");
        assert_eq!(parse(".hidden").unwrap(), ".hidden");
    }

    #[test]
    fn nul_is_refused() {
        assert_eq!(parse("a\0b"), Err(PathError::Nul));
        assert_eq!(parse("\0"), Err(PathError::Nul));
    }

    #[test]
    fn nothing_left_is_refused() {
        for name in ["", "/", ".", "/./", "//.//"] {
            assert_eq!(parse(name), Err(PathError::Empty), "{name:?}");
        }
    }

    #[test]
    fn backslash_is_not_a_separator() {
        assert_eq!(parse("a\\..\\b").unwrap(), "a\\..\\b");
    }

    #[test]
    fn parent_and_file_name() {
        let p = RelativePath::parse("/a/b/c").unwrap();
        assert_eq!(p.file_name(), "c");
        assert_eq!(p.parent().unwrap().as_str(), "a/b");
        assert_eq!(p.components().collect::<Vec<_>>(), ["a", "b", "c"]);
        let top = RelativePath::parse("c").unwrap();
        assert_eq!(top.file_name(), "c");
        assert_eq!(top.parent(), None);
    }

    fn component() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("...".to_owned()),
            Just("/".to_owned()),
            Just("\0".to_owned()),
            Just("..\0".to_owned()),
            Just("\\..".to_owned()),
            "[a-z.]{1,4}",
            any::<String>(),
            "\\PC{0,6}",
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        (any::<bool>(), prop::collection::vec(component(), 0..8)).prop_map(|(absolute, parts)| {
            let joined = parts.join("/");
            if absolute {
                format!("/{joined}")
            } else {
                joined
            }
        })
    }

    /// Resolve `rel` against `root` the way the OS would without symlinks,
    /// popping on `..`, and report whether it ever stepped outside.
    fn lexically_escapes(root: &Path, rel: &Path) -> bool {
        let mut at = root.to_path_buf();
        for c in rel.components() {
            match c {
                Component::Normal(n) => at.push(n),
                Component::CurDir => {}
                Component::ParentDir => {
                    at.pop();
                }
                Component::RootDir | Component::Prefix(_) => at = PathBuf::from("/"),
            }
            if !at.starts_with(root) {
                return true;
            }
        }
        false
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn no_name_escapes_the_root(name in name()) {
            let root = Path::new("/srv/root");
            match RelativePath::parse(&name) {
                Ok(rel) => {
                    prop_assert!(!rel.as_str().is_empty());
                    prop_assert!(!rel.as_str().contains('\0'));
                    prop_assert!(rel.as_path().is_relative());
                    for c in rel.as_path().components() {
                        prop_assert!(matches!(c, Component::Normal(_)), "{:?} in {:?}", c, rel);
                    }
                    for c in rel.components() {
                        prop_assert!(!c.is_empty() && c != "." && c != ".." && !c.contains('/'));
                    }
                    let joined = root.join(rel.as_path());
                    prop_assert!(joined.starts_with(root) && joined != root);
                    prop_assert!(!lexically_escapes(root, rel.as_path()));
                    // Normalising is idempotent: the stored form parses to itself.
                    prop_assert_eq!(RelativePath::parse(rel.as_str()).unwrap(), rel.clone());
                    if let Some(parent) = rel.parent() {
                        prop_assert_eq!(format!("{}/{}", parent, rel.file_name()), rel.as_str());
                    }
                }
                Err(PathError::Nul) => prop_assert!(name.contains('\0')),
                Err(PathError::ParentComponent) => {
                    prop_assert!(name.split('/').any(|c| c == ".."));
                }
                Err(PathError::Empty) => {
                    prop_assert!(name.split('/').all(|c| c.is_empty() || c == "."));
                }
            }
            // Every refusal the rules demand actually happens.
            if name.contains('\0') || name.split('/').any(|c| c == "..") {
                prop_assert!(RelativePath::parse(&name).is_err());
            }
        }
    }
}
