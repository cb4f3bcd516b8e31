//! Paths as the machine hands them to a driver: normalised and relative
//! to the served root, so they cannot name anything outside it.
//!
//! A [`RootPath`] is a sequence of components joined by `/`, none of them
//! empty, `.`, `..`, or containing `/` or NUL; the root itself is the
//! empty sequence. The only ways to build one are [`RootPath::ROOT`],
//! [`RootPath::resolve`] and [`RootPath::join`], which keep that shape.

use alloc::string::String;
use alloc::vec::Vec;

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
    pub fn resolve(&self, arg: &str) -> Result<RootPath, PathError> {
        let _ = arg;
        todo!()
    }

    /// `self` followed by `other` (used to put a user's view under their
    /// home directory).
    pub fn join(&self, other: &RootPath) -> RootPath {
        let _ = other;
        todo!()
    }

    /// The parent; the root is its own parent.
    pub fn parent(&self) -> RootPath {
        todo!()
    }

    /// The last component; `""` for the root.
    pub fn file_name(&self) -> &str {
        todo!()
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
        todo!()
    }
}

/// Appends `path` in the quoted form of RFC 959 Appendix II (257
/// replies): wrapped in `"`, every `"` inside doubled.
pub fn write_quoted(out: &mut String, path: &str) {
    let _ = (out, path);
    todo!()
}

/// Keeps `Vec` in scope for implementations that need it.
#[allow(dead_code)]
type Scratch = Vec<u8>;
