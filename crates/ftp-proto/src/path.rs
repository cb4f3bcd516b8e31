//! Paths as the machine hands them to a driver: normalised and relative
//! to the served root, so they cannot name anything outside it.
//!
//! A [`RootPath`] is a sequence of components joined by `/`, none of them
//! empty, `.`, `..`, or containing `/` or NUL; the root itself is the
//! empty sequence. The only ways to build one are [`RootPath::ROOT`],
//! [`RootPath::resolve`] and [`RootPath::join`], which keep that shape.

use alloc::string::String;

/// A normalised path relative to the served root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RootPath(String);

/// Why an argument cannot be resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The argument contains a NUL byte.
    #[error("path contains NUL")]
    Nul,
    /// The argument is empty.
    #[error("empty path")]
    Empty,
}

impl RootPath {
    /// The root.
    pub const ROOT: RootPath = RootPath(String::new());

    /// Resolves a client's argument against `self` (the current
    /// directory): a leading `/` starts from the root; empty components
    /// and `.` are skipped; `..` drops the last component and stops at
    /// the root (RFC 959 leaves this to the server; clamping is what
    /// chrooted servers do).
    ///
    /// A backslash is an ordinary character here: a Unix file name may
    /// contain one, and the storage layer opens each component as one
    /// name, so `a\..` is a (harmless) name, never a step up.
    pub fn resolve(&self, arg: &str) -> Result<RootPath, PathError> {
        if arg.is_empty() {
            return Err(PathError::Empty);
        }
        if arg.contains('\0') {
            return Err(PathError::Nul);
        }
        let mut out = if arg.starts_with('/') {
            String::with_capacity(arg.len())
        } else {
            let mut s = String::with_capacity(self.0.len() + 1 + arg.len());
            s.push_str(&self.0);
            s
        };
        for component in arg.split('/') {
            match component {
                "" | "." => {}
                ".." => {
                    let keep = out.rfind('/').unwrap_or(0);
                    out.truncate(keep);
                }
                name => {
                    if !out.is_empty() {
                        out.push('/');
                    }
                    out.push_str(name);
                }
            }
        }
        Ok(RootPath(out))
    }

    /// `self` followed by `other` (used to put a user's view under their
    /// home directory).
    pub fn join(&self, other: &RootPath) -> RootPath {
        if self.is_root() {
            return other.clone();
        }
        if other.is_root() {
            return self.clone();
        }
        let mut s = String::with_capacity(self.0.len() + 1 + other.0.len());
        s.push_str(&self.0);
        s.push('/');
        s.push_str(&other.0);
        RootPath(s)
    }

    /// The parent; the root is its own parent.
    pub fn parent(&self) -> RootPath {
        match self.0.rfind('/') {
            Some(i) => RootPath(String::from(&self.0[..i])),
            None => RootPath::ROOT,
        }
    }

    /// The last component; `""` for the root.
    pub fn file_name(&self) -> &str {
        match self.0.rfind('/') {
            Some(i) => &self.0[i + 1..],
            None => &self.0,
        }
    }

    /// True for the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The components joined by `/`, no leading slash (`""` for the root):
    /// the form a storage layer opens beneath its root directory.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// The absolute form a client sees: `/` or `/a/b`.
    pub fn to_absolute(&self) -> String {
        let mut s = String::with_capacity(self.0.len() + 1);
        s.push('/');
        s.push_str(&self.0);
        s
    }
}

/// Appends `path` in the quoted form of RFC 959 Appendix II (257
/// replies): wrapped in `"`, every `"` inside doubled.
///
/// RFC 959 Appendix II spells the rule out for MKD/PWD; a client undoes
/// it by reading to the first `"` not followed by another `"`.
pub fn write_quoted(out: &mut String, path: &str) {
    out.reserve(path.len() + 2);
    out.push('"');
    let mut rest = path;
    while let Some(i) = rest.find('"') {
        out.push_str(&rest[..=i]);
        out.push('"');
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
}
