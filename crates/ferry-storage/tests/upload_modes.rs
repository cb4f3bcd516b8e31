//! Appending, resuming and unique uploads: the old file stays whole until
//! commit and after a discard, unique never replaces anything, and none of
//! them reaches outside the root.

#[macro_use]
mod support;

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{symlink, PermissionsExt};

use ferry_storage::{StorageError, UploadMode, TEMP_PREFIX};
use support::{mkfifo, Jail};

const MODES: [UploadMode; 4] = [
    UploadMode::Replace,
    UploadMode::Append,
    UploadMode::Resume(0),
    UploadMode::Unique,
];

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

impl Jail {
    fn upload_with(
        &self,
        name: &str,
        mode: UploadMode,
        bytes: &[u8],
    ) -> Result<String, StorageError> {
        let mut upload = self.storage.create_upload_with(name, mode)?;
        upload.write_all(bytes).unwrap();
        upload.commit()
    }

    fn bytes(&self, rel: &str) -> Vec<u8> {
        fs::read(self.root.join(rel)).unwrap()
    }
}

// ---- Replace ----

#[test]
fn replace_commit_returns_the_name() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("d")).unwrap();
    assert_eq!(
        jail.upload_with("/d/new", UploadMode::Replace, b"1")
            .unwrap(),
        "new"
    );
    assert_eq!(
        jail.upload_with("d/new", UploadMode::Replace, b"2")
            .unwrap(),
        "new"
    );
    assert_eq!(jail.bytes("d/new"), b"2");
}

#[test]
fn replace_through_a_link_inside_names_the_file_replaced() {
    let jail = Jail::new();
    jail.put("images/current", b"v1");
    symlink("images/current", jail.root.join("latest")).unwrap();
    assert_eq!(
        jail.upload_with("latest", UploadMode::Replace, b"v2")
            .unwrap(),
        "current"
    );
    assert_eq!(jail.bytes("images/current"), b"v2");
    assert!(jail.is_link("latest"));
}

// ---- Append ----

#[test]
fn append_adds_to_the_old_content_only_on_commit() {
    let jail = Jail::new();
    let old = pattern(3 * 1024 * 1024 + 17);
    jail.put("log", &old);
    let mut upload = jail
        .storage
        .create_upload_with("log", UploadMode::Append)
        .unwrap();
    assert_eq!(upload.file().stream_position().unwrap(), old.len() as u64);
    upload.write_all(b"tail").unwrap();
    assert_eq!(jail.bytes("log"), old, "changed before commit");
    assert_eq!(upload.commit().unwrap(), "log");
    let mut expected = old.clone();
    expected.extend_from_slice(b"tail");
    assert_eq!(jail.bytes("log"), expected);
    assert_eq!(jail.temp_files(), Vec::<String>::new());
}

#[test]
fn append_discarded_or_dropped_leaves_the_old_file() {
    let jail = Jail::new();
    jail.put("log", b"old");
    let mut upload = jail
        .storage
        .create_upload_with("log", UploadMode::Append)
        .unwrap();
    upload.write_all(b"more").unwrap();
    upload.discard();
    {
        let mut upload = jail
            .storage
            .create_upload_with("log", UploadMode::Append)
            .unwrap();
        upload.write_all(b"more").unwrap();
    }
    assert_eq!(jail.bytes("log"), b"old");
    assert_eq!(Jail::tree(&jail.root), ["log"]);
}

#[test]
fn append_to_a_missing_or_empty_file_starts_empty() {
    let jail = Jail::new();
    jail.put("empty", b"");
    assert_eq!(
        jail.upload_with("new", UploadMode::Append, b"abc").unwrap(),
        "new"
    );
    assert_eq!(
        jail.upload_with("empty", UploadMode::Append, b"xyz")
            .unwrap(),
        "empty"
    );
    assert_eq!(jail.bytes("new"), b"abc");
    assert_eq!(jail.bytes("empty"), b"xyz");
}

#[test]
fn append_through_a_link_inside_appends_to_its_target() {
    let jail = Jail::new();
    jail.put("real/log", b"one\n");
    symlink("real/log", jail.root.join("log")).unwrap();
    symlink("real", jail.root.join("dir")).unwrap();
    assert_eq!(
        jail.upload_with("log", UploadMode::Append, b"two\n")
            .unwrap(),
        "log"
    );
    jail.upload_with("dir/log", UploadMode::Append, b"three\n")
        .unwrap();
    assert_eq!(jail.bytes("real/log"), b"one\ntwo\nthree\n");
    assert!(jail.is_link("log"));
}

#[test]
fn append_refuses_what_is_not_a_regular_file() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("dir")).unwrap();
    mkfifo(&jail.root.join("pipe"));
    assert_err!(
        jail.storage.create_upload_with("dir", UploadMode::Append),
        StorageError::IsADirectory
    );
    assert_err!(
        jail.storage.create_upload_with("pipe", UploadMode::Append),
        StorageError::PermissionDenied
    );
    assert_eq!(jail.temp_files(), Vec::<String>::new());
}

// ---- Resume ----

#[test]
fn resume_keeps_the_first_bytes_and_writes_from_there() {
    let jail = Jail::new();
    let old = pattern(200_000);
    jail.put("big", &old);
    for offset in [0, 1, 65_536, 199_999, 200_000] {
        let mut upload = jail
            .storage
            .create_upload_with("big", UploadMode::Resume(offset))
            .unwrap();
        assert_eq!(upload.file().stream_position().unwrap(), offset);
        let at = offset as usize;
        upload.write_all(&old[at..]).unwrap();
        upload.write_all(b"!").unwrap();
        assert_eq!(jail.bytes("big"), old, "changed before commit");
        upload.commit().unwrap();
        let mut expected = old.clone();
        expected.push(b'!');
        assert_eq!(jail.bytes("big"), expected, "offset {offset}");
        fs::write(jail.root.join("big"), &old).unwrap();
    }
}

#[test]
fn resume_truncates_to_the_offset() {
    let jail = Jail::new();
    jail.put("f", b"0123456789");
    jail.upload_with("f", UploadMode::Resume(4), b"ab").unwrap();
    assert_eq!(jail.bytes("f"), b"0123ab");
}

#[test]
fn resume_discarded_leaves_the_old_file() {
    let jail = Jail::new();
    jail.put("f", b"0123456789");
    let mut upload = jail
        .storage
        .create_upload_with("f", UploadMode::Resume(5))
        .unwrap();
    upload.write_all(b"XXXXXXXXXXXX").unwrap();
    drop(upload);
    assert_eq!(jail.bytes("f"), b"0123456789");
    assert_eq!(Jail::tree(&jail.root), ["f"]);
}

#[test]
fn resume_beyond_the_end_is_an_invalid_offset() {
    let jail = Jail::new();
    jail.put("f", b"0123456789");
    assert_err!(
        jail.storage.create_upload_with("f", UploadMode::Resume(11)),
        StorageError::InvalidOffset
    );
    assert_err!(
        jail.storage
            .create_upload_with("missing", UploadMode::Resume(1)),
        StorageError::InvalidOffset
    );
    assert_err!(
        jail.storage
            .create_upload_with("f", UploadMode::Resume(u64::MAX)),
        StorageError::InvalidOffset
    );
    jail.upload_with("missing", UploadMode::Resume(0), b"new")
        .unwrap();
    assert_eq!(jail.bytes("missing"), b"new");
    assert_eq!(jail.bytes("f"), b"0123456789");
    assert_eq!(Jail::tree(&jail.root), ["f", "missing"]);
}

#[test]
fn resume_can_seek_back_within_the_copy() {
    let jail = Jail::new();
    jail.put("f", b"abcdef");
    let mut upload = jail
        .storage
        .create_upload_with("f", UploadMode::Resume(6))
        .unwrap();
    upload.file().seek(SeekFrom::Start(2)).unwrap();
    upload.write_all(b"XY").unwrap();
    upload.commit().unwrap();
    assert_eq!(jail.bytes("f"), b"abXYef");
}

// ---- Unique ----

#[test]
fn unique_takes_the_name_when_it_is_free() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("d")).unwrap();
    assert_eq!(
        jail.upload_with("/d/report", UploadMode::Unique, b"r")
            .unwrap(),
        "report"
    );
    assert_eq!(jail.bytes("d/report"), b"r");
    assert_eq!(Jail::tree(&jail.root), ["d", "d/report"]);
}

#[test]
fn unique_picks_a_fresh_name_and_clobbers_nothing() {
    let jail = Jail::new();
    jail.put("report", b"0");
    jail.put("report.1", b"1");
    fs::create_dir(jail.root.join("report.2")).unwrap();
    symlink("nowhere", jail.root.join("report.3")).unwrap();
    symlink(jail.outside.join("new"), jail.root.join("report.4")).unwrap();
    assert_eq!(
        jail.upload_with("report", UploadMode::Unique, b"5")
            .unwrap(),
        "report.5"
    );
    assert_eq!(
        jail.upload_with("report", UploadMode::Unique, b"6")
            .unwrap(),
        "report.6"
    );
    assert_eq!(jail.bytes("report"), b"0");
    assert_eq!(jail.bytes("report.1"), b"1");
    assert_eq!(jail.bytes("report.5"), b"5");
    assert_eq!(jail.bytes("report.6"), b"6");
    assert!(jail.is_link("report.3") && jail.is_link("report.4"));
    jail.assert_outside_untouched();
    assert_eq!(jail.temp_files(), Vec::<String>::new());
}

#[test]
fn unique_does_not_clobber_a_name_taken_after_the_upload_began() {
    let jail = Jail::new();
    let mut upload = jail
        .storage
        .create_upload_with("late", UploadMode::Unique)
        .unwrap();
    upload.write_all(b"mine").unwrap();
    jail.put("late", b"theirs");
    assert_eq!(upload.commit().unwrap(), "late.1");
    assert_eq!(jail.bytes("late"), b"theirs");
    assert_eq!(jail.bytes("late.1"), b"mine");
}

#[test]
fn unique_uploads_from_many_threads_get_distinct_names() {
    let jail = Jail::new();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let storage = jail.storage.clone();
            std::thread::spawn(move || {
                let mut upload = storage
                    .create_upload_with("same", UploadMode::Unique)
                    .unwrap();
                upload.write_all(format!("{i}").as_bytes()).unwrap();
                (i, upload.commit().unwrap())
            })
        })
        .collect();
    let mut names = Vec::new();
    for handle in handles {
        let (i, name) = handle.join().unwrap();
        assert_eq!(jail.bytes(&name), format!("{i}").as_bytes());
        names.push(name);
    }
    names.sort();
    let mut expected: Vec<String> = (1..8).map(|n| format!("same.{n}")).collect();
    expected.insert(0, "same".to_owned());
    assert_eq!(names, expected);
}

#[test]
fn unique_discarded_leaves_nothing() {
    let jail = Jail::new();
    let mut upload = jail
        .storage
        .create_upload_with("x", UploadMode::Unique)
        .unwrap();
    upload.write_all(b"x").unwrap();
    drop(upload);
    assert_eq!(Jail::tree(&jail.root), Vec::<String>::new());
}

// ---- all modes ----

#[test]
fn no_mode_creates_a_temporary_name() {
    let jail = Jail::new();
    let temp = format!("{TEMP_PREFIX}0123-x");
    for mode in MODES {
        assert_err!(
            jail.storage.create_upload_with(&temp, mode),
            StorageError::InvalidPath,
            "{mode:?}"
        );
    }
    // An upload in progress cannot be read, appended to or replaced by name.
    let _upload = jail.storage.create_upload("x").unwrap();
    let temp = jail.temp_files().remove(0);
    assert_err!(jail.storage.open_read(&temp), StorageError::NotFound);
    assert_err!(jail.storage.stat(&temp), StorageError::NotFound);
    assert_err!(
        jail.storage.create_upload_with(&temp, UploadMode::Append),
        StorageError::InvalidPath
    );
}

#[test]
fn no_mode_writes_to_the_root_or_needs_a_missing_parent() {
    let jail = Jail::new();
    jail.put("file", b"x");
    for mode in MODES {
        assert_err!(
            jail.storage.create_upload_with("/", mode),
            StorageError::InvalidPath,
            "{mode:?}"
        );
        assert_err!(
            jail.storage.create_upload_with("no/such", mode),
            StorageError::NotFound,
            "{mode:?}"
        );
        assert_err!(
            jail.storage.create_upload_with("file/x", mode),
            StorageError::NotADirectory,
            "{mode:?}"
        );
    }
}

#[test]
fn no_mode_reaches_outside() {
    let jail = Jail::new();
    symlink(&jail.outside, jail.root.join("out")).unwrap();
    symlink("../outside", jail.root.join("up")).unwrap();
    symlink(jail.outside.join("secret"), jail.root.join("secret")).unwrap();
    symlink("../outside/secret", jail.root.join("rel_secret")).unwrap();
    symlink(jail.outside.join("new"), jail.root.join("dangling_out")).unwrap();
    for mode in MODES {
        for name in ["..", "../outside/secret", "a/../secret"] {
            assert_err!(
                jail.storage.create_upload_with(name, mode),
                StorageError::InvalidPath,
                "{mode:?} {name:?}"
            );
        }
        for name in ["out/secret", "up/secret", "out/new", "/up/new"] {
            assert_err!(
                jail.storage.create_upload_with(name, mode),
                StorageError::PermissionDenied,
                "{mode:?} {name:?}"
            );
        }
        let absolute = jail.outside.join("secret");
        assert_err!(
            jail.storage
                .create_upload_with(absolute.to_str().unwrap(), mode),
            StorageError::NotFound,
            "{mode:?}"
        );
        for name in ["secret", "rel_secret", "dangling_out"] {
            match mode {
                // Unique never follows the name: the link just makes it taken.
                UploadMode::Unique => {
                    let got = jail.upload_with(name, mode, b"UPLOADED").unwrap();
                    assert_eq!(got, format!("{name}.1"));
                    fs::remove_file(jail.root.join(got)).unwrap();
                }
                _ => assert_err!(
                    jail.storage.create_upload_with(name, mode),
                    StorageError::PermissionDenied,
                    "{mode:?} {name:?}"
                ),
            }
        }
    }
    jail.assert_outside_untouched();
    assert_eq!(jail.temp_files(), Vec::<String>::new());
}

#[test]
fn a_replaced_file_keeps_its_permissions() {
    let jail = Jail::new();
    let mode_of = |rel: &str| {
        fs::metadata(jail.root.join(rel))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    for (i, mode) in [
        UploadMode::Replace,
        UploadMode::Append,
        UploadMode::Resume(1),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("private{i}");
        jail.put(&name, b"secret");
        fs::set_permissions(jail.root.join(&name), fs::Permissions::from_mode(0o600)).unwrap();
        jail.upload_with(&name, mode, b"x").unwrap();
        assert_eq!(mode_of(&name), 0o600, "{mode:?}");
        let name = format!("setuid{i}");
        jail.put(&name, b"prog");
        fs::set_permissions(jail.root.join(&name), fs::Permissions::from_mode(0o4755)).unwrap();
        jail.upload_with(&name, mode, b"x").unwrap();
        assert_eq!(mode_of(&name), 0o755, "{mode:?}");
    }
    // A unique upload is a new file, whatever the name it started from.
    let name = jail
        .upload_with("private0", UploadMode::Unique, b"x")
        .unwrap();
    assert_eq!(mode_of(&name) & 0o7133, 0);
}

// ---- Copy left for later ----

#[test]
fn begin_upload_checks_at_once_and_copies_on_prepare() {
    let jail = Jail::new();
    let old = pattern(1024 * 1024 + 5);
    jail.put("part", &old);
    // Every check is made before the copy.
    assert!(matches!(
        jail.storage
            .begin_upload("part", UploadMode::Resume(old.len() as u64 + 1)),
        Err(StorageError::InvalidOffset)
    ));
    let new = jail
        .storage
        .begin_upload("part", UploadMode::Resume(1000))
        .unwrap();
    assert_eq!(jail.temp_files().len(), 1);
    let mut upload = new.prepare().unwrap();
    assert_eq!(upload.file().stream_position().unwrap(), 1000);
    upload.write_all(b"new end").unwrap();
    assert_eq!(jail.bytes("part"), old, "changed before commit");
    upload.commit().unwrap();
    let mut expected = old[..1000].to_vec();
    expected.extend_from_slice(b"new end");
    assert_eq!(jail.bytes("part"), expected);

    // Dropped before its copy: no temporary file, the old file as it was.
    let unprepared = jail
        .storage
        .begin_upload("part", UploadMode::Append)
        .unwrap();
    drop(unprepared);
    assert_eq!(jail.temp_files(), Vec::<String>::new());
    assert_eq!(jail.bytes("part"), expected);
}
