//! A served root beside a directory that must stay out of reach, shared by
//! the integration tests.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ferry_storage::{Root, StorageError, TEMP_PREFIX};
use tempfile::TempDir;

/// A scratch area holding `root/` (served) and `outside/` (must stay unreachable).
pub struct Jail {
    _dir: TempDir,
    pub root: PathBuf,
    pub outside: PathBuf,
    pub storage: Root,
}

impl Jail {
    pub fn new() -> Jail {
        let dir = tempfile::tempdir().unwrap();
        let base = fs::canonicalize(dir.path()).unwrap();
        let root = base.join("root");
        let outside = base.join("outside");
        fs::create_dir(&root).unwrap();
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("secret"), b"SECRET").unwrap();
        let storage = Root::new(&root).unwrap();
        Jail {
            _dir: dir,
            root,
            outside,
            storage,
        }
    }

    pub fn put(&self, rel: &str, bytes: &[u8]) {
        let path = self.root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    pub fn read(&self, name: &str) -> Result<Vec<u8>, StorageError> {
        let mut file = self.storage.open_read(name)?;
        let mut bytes = Vec::new();
        file.file.read_to_end(&mut bytes).unwrap();
        assert_eq!(file.len, bytes.len() as u64);
        Ok(bytes)
    }

    pub fn upload(&self, name: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let mut upload = self.storage.create_upload(name)?;
        upload.write_all(bytes).unwrap();
        upload.commit().map(drop)
    }

    /// Every name under `dir`, recursively, relative to it.
    pub fn tree(dir: &Path) -> Vec<String> {
        let mut names = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(at) = stack.pop() {
            for entry in fs::read_dir(&at).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                names.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
                if entry.file_type().unwrap().is_dir() {
                    stack.push(path);
                }
            }
        }
        names.sort();
        names
    }

    pub fn temp_files(&self) -> Vec<String> {
        Jail::tree(&self.root)
            .into_iter()
            .filter(|name| name.rsplit('/').next().unwrap().starts_with(TEMP_PREFIX))
            .collect()
    }
}

/// Make a FIFO at `path`.
pub fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

impl Jail {
    /// The outside directory still holds exactly what [`Jail::new`] put there.
    pub fn assert_outside_untouched(&self) {
        assert_eq!(Jail::tree(&self.outside), ["secret"]);
        assert_eq!(fs::read(self.outside.join("secret")).unwrap(), b"SECRET");
    }

    /// Whether `rel` (inside the root) is a symlink, without following it.
    pub fn is_link(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.root.join(rel))
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false)
    }
}

/// Assert that `$expr` fails with an error matching `$pat`, showing what it
/// gave otherwise.
#[macro_export]
macro_rules! assert_err {
    ($expr:expr, $pat:pat) => {
        match $expr {
            Err($pat) => {}
            other => panic!(
                "{} gave {:?}, expected Err({})",
                stringify!($expr),
                other,
                stringify!($pat)
            ),
        }
    };
    ($expr:expr, $pat:pat, $($context:tt)+) => {
        match $expr {
            Err($pat) => {}
            other => panic!(
                "{} gave {:?}, expected Err({}) ({})",
                stringify!($expr),
                other,
                stringify!($pat),
                format!($($context)+)
            ),
        }
    };
}
