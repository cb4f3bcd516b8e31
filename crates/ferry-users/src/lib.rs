//! ferry's FTP users file: who may log in, with which password, where they
//! start and whether they may write.
//!
//! ```
//! use ferry_users::{user_line, Users};
//!
//! # fn main() -> Result<(), ferry_users::UsersError> {
//! // What `ferry passwd alice --home /alice --write` prints.
//! let line = user_line("alice", "correct horse", "/alice/", true)?;
//! assert!(line.starts_with("alice:$argon2id$v=19$"));
//! assert!(line.ends_with(":/alice:rw"));
//!
//! let users = Users::parse(&format!("# ferry users\n\n{line}\n"))?;
//! assert_eq!(users.len(), 1);
//!
//! let alice = users.verify("alice", "correct horse").expect("right password");
//! assert_eq!((alice.name.as_str(), alice.home.as_str(), alice.write), ("alice", "/alice", true));
//! assert!(users.verify("alice", "wrong horse").is_none());
//! # Ok(())
//! # }
//! ```
//!
//! # The file
//!
//! UTF-8 text, one user per line, four fields separated by `:`:
//!
//! ```text
//! # name:hash:home:access
//! alice:$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>:/alice:rw
//! bob:$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>:/:ro
//! ```
//!
//! - **name**: the login name, compared exactly. Not empty, does not start
//!   with `#`, no `:`, whitespace or control characters.
//! - **hash**: the password as an argon2 hash in PHC string form, as
//!   [`user_line`] (and `ferry passwd`) writes it: argon2id with the argon2
//!   crate's default parameters and a random 16-byte salt. Other argon2
//!   variants and parameters are accepted; anything else is refused.
//! - **home**: the directory the user starts in, relative to the served
//!   root: starts with `/`; no `.` or `..` components, NUL, other control
//!   characters or `:`. Duplicate and trailing slashes are dropped, so
//!   `//pub/` reads as `/pub`. The FTP session keeps the user inside it.
//! - **access**: `rw` (may write, when the server allows writing at all) or
//!   `ro` (never writes).
//!
//! Blank lines and lines starting with `#` (after optional whitespace) are
//! ignored, as is whitespace around a line. A file with any wrong line is
//! refused as a whole ([`UsersError::Line`] names the file and the line), and
//! so is a second line for the same name.
//!
//! # Verifying
//!
//! [`Users::verify`] runs one argon2 verification whether or not the name
//! exists (an unknown name is checked against a dummy hash made with the same
//! parameters), so the time a failed login takes does not tell which names
//! exist.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod field;
mod hash;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

pub use error::{EntryError, UsersError};

/// A user who may log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The login name.
    pub name: String,
    /// The starting directory, relative to the served root: `/` or
    /// `/dir/sub`, normalised (no `.`, `..`, duplicate or trailing slashes).
    pub home: String,
    /// Whether the user may write (`rw`), if the server allows writing.
    pub write: bool,
}

/// The users of a users file, each with a password hash.
#[derive(Clone, Default)]
pub struct Users {
    by_name: HashMap<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    user: User,
    /// An argon2 PHC string, checked by [`hash::check`] when read.
    hash: String,
    /// Where it was defined, to point at the first one on a duplicate.
    line: usize,
}

impl Users {
    /// Reads a users file. A wrong line is an error naming the file and the
    /// line; see the [crate docs](crate) for the format.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        let text = std::fs::read_to_string(path).map_err(|error| UsersError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::parse_from(&text, Some(path))
    }

    /// Reads the text of a users file. A wrong line is an error naming the
    /// line; see the [crate docs](crate) for the format.
    pub fn parse(text: &str) -> Result<Users, UsersError> {
        Self::parse_from(text, None)
    }

    fn parse_from(text: &str, path: Option<&Path>) -> Result<Users, UsersError> {
        let mut by_name: HashMap<String, Entry> = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let at = |error| UsersError::Line {
                path: path.map(Path::to_owned),
                line: number,
                error,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let entry = parse_line(line, number).map_err(at)?;
            if let Some(first) = by_name.get(&entry.user.name) {
                return Err(at(EntryError::Duplicate {
                    name: entry.user.name,
                    first_line: first.line,
                }));
            }
            by_name.insert(entry.user.name.clone(), entry);
        }
        // Make the dummy hash now rather than on the first unknown name, so
        // that first failed login takes no longer than the others.
        hash::dummy();
        Ok(Users { by_name })
    }

    /// Checks a password. Returns the user when `name` exists and `password`
    /// is theirs; `None` otherwise.
    ///
    /// Unknown users cost the same time as known ones: their password is
    /// checked against a dummy hash made with the same parameters.
    pub fn verify(&self, name: &str, password: &str) -> Option<&User> {
        match self.by_name.get(name) {
            Some(entry) => hash::matches(&entry.hash, password).then_some(&entry.user),
            None => {
                // Spend the time, ignore the answer.
                let _ = hash::matches(hash::dummy(), password);
                None
            }
        }
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Lists the users, leaving out their password hashes.
impl fmt::Debug for Users {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut users: Vec<&User> = self.by_name.values().map(|e| &e.user).collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        f.debug_struct("Users").field("users", &users).finish()
    }
}

/// Reads one non-blank, non-comment line, already trimmed.
fn parse_line(line: &str, number: usize) -> Result<Entry, EntryError> {
    let fields: Vec<&str> = line.split(':').collect();
    let [name, hash, home, access] = fields[..] else {
        return Err(EntryError::FieldCount(fields.len()));
    };
    field::name(name)?;
    hash::check(hash).map_err(EntryError::BadHash)?;
    let home = field::home(home)?;
    let write = field::write(access)?;
    Ok(Entry {
        user: User {
            name: name.to_owned(),
            home,
            write,
        },
        hash: hash.to_owned(),
        line: number,
    })
}

/// One users-file line (without a line end) for a new user, with a fresh
/// random salt: `name:hash:home:ro|rw`.
///
/// The password is hashed with argon2id and the argon2 crate's default
/// parameters; `home` is normalised as the file's reader does. Refused: a
/// name or home the file cannot hold ([`EntryError::BadName`],
/// [`EntryError::BadHome`]) and an empty password
/// ([`EntryError::EmptyPassword`]).
pub fn user_line(
    name: &str,
    password: &str,
    home: &str,
    write: bool,
) -> Result<String, UsersError> {
    field::name(name)?;
    let home = field::home(home)?;
    if password.is_empty() {
        return Err(EntryError::EmptyPassword.into());
    }
    let hash = hash::hash(password).map_err(|e| UsersError::Hash(e.to_string()))?;
    Ok(format!("{name}:{hash}:{home}:{}", field::access(write)))
}
