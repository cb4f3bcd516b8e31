//! Property: whatever names a client sends, reads, stats and listings
//! return only what is inside the root, and uploads, directory operations,
//! removals and renames change only things inside the root (never the root
//! itself), even with symlinks leading out planted throughout the tree.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

use ferry_storage::{Root, UploadMode};
use proptest::prelude::*;

struct Trap {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

/// root/                         outside/
///   f, a/f, a/b/f  "inside..."    f, secret, a/f  "SECRET..."
///   out     -> <outside>          (absolute)
///   a/up    -> ../../outside      (relative, climbing)
///   a/in    -> ../f               (stays inside)
///   abs_in  -> <root>/a           (absolute, stays inside)
///   passwd  -> /etc/passwd
///   loop    -> loop
fn trap() -> Trap {
    let dir = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(dir.path()).unwrap();
    let root = base.join("root");
    let outside = base.join("outside");
    for d in [root.join("a/b"), outside.join("a")] {
        fs::create_dir_all(d).unwrap();
    }
    for f in ["f", "a/f", "a/b/f"] {
        fs::write(root.join(f), format!("inside {f}")).unwrap();
    }
    for f in ["f", "secret", "a/f"] {
        fs::write(outside.join(f), format!("SECRET {f}")).unwrap();
    }
    symlink(&outside, root.join("out")).unwrap();
    symlink("../../outside", root.join("a/up")).unwrap();
    symlink("../f", root.join("a/in")).unwrap();
    symlink(root.join("a"), root.join("abs_in")).unwrap();
    symlink("/etc/passwd", root.join("passwd")).unwrap();
    symlink("loop", root.join("loop")).unwrap();
    Trap {
        _dir: dir,
        root,
        outside,
    }
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                files.insert(entry.path(), b"<dir>".to_vec());
                stack.push(entry.path());
            } else if kind.is_file() {
                files.insert(entry.path(), fs::read(entry.path()).unwrap());
            } else {
                files.insert(
                    entry.path(),
                    fs::read_link(entry.path())
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                );
            }
        }
    }
    files
}

/// (device, inode) of the root and of everything beneath it, links
/// themselves included.
fn identities(root: &Path) -> BTreeSet<(u64, u64)> {
    let meta = fs::metadata(root).unwrap();
    let mut ids = BTreeSet::from([(meta.dev(), meta.ino())]);
    let mut stack = vec![root.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).unwrap() {
            let entry = entry.unwrap();
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            ids.insert((meta.dev(), meta.ino()));
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    ids
}

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "f", "a", "b", "out", "up", "in", "abs_in", "passwd", "loop", "secret", "..", ".", "",
            "etc",
        ])
        .prop_map(str::to_owned),
        1 => "\\PC{0,3}",
        1 => Just("x\0".to_owned()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(component(), 0..6)).prop_map(|(absolute, parts)| {
        let joined = parts.join("/");
        if absolute {
            format!("/{joined}")
        } else {
            joined
        }
    })
}

#[derive(Debug, Clone)]
enum Op {
    MakeDir(String),
    RemoveDir(String),
    RemoveFile(String),
    Rename(String, String),
    Upload(String, UploadMode, bool),
}

fn mode() -> impl Strategy<Value = UploadMode> {
    prop_oneof![
        Just(UploadMode::Replace),
        Just(UploadMode::Append),
        (0u64..12).prop_map(UploadMode::Resume),
        Just(UploadMode::Unique),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        name().prop_map(Op::MakeDir),
        name().prop_map(Op::RemoveDir),
        name().prop_map(Op::RemoveFile),
        (name(), name()).prop_map(|(from, to)| Op::Rename(from, to)),
        (name(), mode(), any::<bool>())
            .prop_map(|(name, mode, commit)| Op::Upload(name, mode, commit)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reads_never_return_bytes_from_outside(name in name()) {
        let trap = trap();
        let storage = Root::new(&trap.root).unwrap();
        if let Ok(mut file) = storage.open_read(&name) {
            let mut bytes = Vec::new();
            file.file.read_to_end(&mut bytes).unwrap();
            prop_assert!(bytes.starts_with(b"inside "), "{:?} gave {:?}", name, String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn uploads_never_touch_anything_outside(name in name(), commit in any::<bool>()) {
        let trap = trap();
        let before = snapshot(&trap.outside);
        let storage = Root::new(&trap.root).unwrap();
        if let Ok(mut upload) = storage.create_upload(&name) {
            upload.write_all(b"UPLOADED").unwrap();
            if commit {
                let committed = upload.commit().is_ok();
                let inside = snapshot(&trap.root);
                prop_assert_eq!(
                    committed,
                    inside.values().any(|bytes| bytes == b"UPLOADED"),
                    "{:?}", name
                );
            }
        }
        prop_assert_eq!(snapshot(&trap.outside), before, "{:?}", name);
        let leftovers: Vec<_> = snapshot(&trap.root)
            .into_keys()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(ferry_storage::TEMP_PREFIX))
            .collect();
        prop_assert!(leftovers.is_empty(), "{:?} left {:?}", name, leftovers);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn stats_and_listings_show_only_what_is_inside(name in name()) {
        let trap = trap();
        let storage = Root::new(&trap.root).unwrap();
        let inside = identities(&trap.root);
        if let Ok(info) = storage.stat(&name) {
            prop_assert!(inside.contains(&(info.dev, info.ino)), "stat {:?} gave {:?}", name, info);
        }
        if let Ok(entries) = storage.read_dir(&name) {
            for entry in entries {
                prop_assert!(
                    inside.contains(&(entry.info.dev, entry.info.ino)),
                    "read_dir {:?} listed {:?}", name, entry
                );
            }
        }
    }

    #[test]
    fn changes_never_touch_anything_outside(ops in prop::collection::vec(op(), 1..4)) {
        let trap = trap();
        let before = snapshot(&trap.outside);
        let storage = Root::new(&trap.root).unwrap();
        for op in &ops {
            match op {
                Op::MakeDir(name) => drop(storage.make_dir(name)),
                Op::RemoveDir(name) => drop(storage.remove_dir(name)),
                Op::RemoveFile(name) => drop(storage.remove_file(name)),
                Op::Rename(from, to) => drop(storage.rename(from, to)),
                Op::Upload(name, mode, commit) => {
                    if let Ok(mut upload) = storage.create_upload_with(name, *mode) {
                        upload.write_all(b"UPLOADED").unwrap();
                        if *commit {
                            drop(upload.commit());
                        }
                    }
                }
            }
        }
        prop_assert_eq!(snapshot(&trap.outside), before, "{:?}", ops);
        prop_assert!(trap.root.is_dir(), "{:?} removed the root", ops);
        let leftovers: Vec<_> = snapshot(&trap.root)
            .into_keys()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(ferry_storage::TEMP_PREFIX))
            .collect();
        prop_assert!(leftovers.is_empty(), "{:?} left {:?}", ops, leftovers);
    }
}
