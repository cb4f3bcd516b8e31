//! What can be wrong with a users file, an entry, or the inputs of a new line.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A users file that cannot be used, or a line that cannot be made.
///
/// The message is complete on its own (it names the file and the line), so
/// callers print it as it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsersError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read users file {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// One line of the file is wrong; nothing from the file is used.
    #[error("{}: {error}", Location { path: path.as_deref(), line: *line })]
    Line {
        /// The file, when the text came from one ([`Users::load`](crate::Users::load)).
        path: Option<PathBuf>,
        /// The line number, counting from 1.
        line: usize,
        /// What is wrong with it.
        error: EntryError,
    },
    /// An argument of [`user_line`](crate::user_line) is not acceptable.
    #[error(transparent)]
    Entry(#[from] EntryError),
    /// The password could not be hashed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// What is wrong with one entry of a users file (or with the parts of one
/// being made by [`user_line`](crate::user_line)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// Not exactly four `:`-separated fields.
    #[error("expected 4 fields name:hash:home:ro|rw separated by ':', found {0}")]
    FieldCount(usize),
    /// The user name is empty, starts with `#`, or contains `:`, whitespace
    /// or a control character.
    #[error(
        "bad user name {0:?}: it must be non-empty, must not start with '#' \
         and must not contain ':', whitespace or control characters"
    )]
    BadName(String),
    /// The home directory is not an absolute path inside the served root.
    #[error("bad home directory {home:?}: {reason}")]
    BadHome {
        /// The home as written.
        home: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The access word is neither `ro` nor `rw`.
    #[error("bad access {0:?}: expected ro or rw")]
    BadAccess(String),
    /// The password hash is not an argon2 PHC string that can be verified.
    #[error("unusable password hash: {0}")]
    BadHash(String),
    /// A second entry for a user already defined.
    #[error("duplicate user {name:?} (first defined on line {first_line})")]
    Duplicate {
        /// The user.
        name: String,
        /// Where the first entry is.
        first_line: usize,
    },
    /// An empty password, refused by [`user_line`](crate::user_line).
    #[error("empty password")]
    EmptyPassword,
}

/// `path:line`, or `line N` for text that came from no file.
struct Location<'a> {
    path: Option<&'a Path>,
    line: usize,
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path {
            Some(path) => write!(f, "{}:{}", path.display(), self.line),
            None => write!(f, "line {}", self.line),
        }
    }
}
