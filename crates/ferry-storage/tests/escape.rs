//! Property: whatever name a client sends, reads return only bytes from
//! inside the root and uploads change only files inside the root, even with
//! symlinks leading out planted throughout the tree.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use ferry_storage::Root;
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
