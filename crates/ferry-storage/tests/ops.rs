//! Looking at and rearranging the served tree: stat, listings, directories,
//! removal and rename, each with its failures and every way out of the
//! root (`..`, absolute names, symlinks in the middle and at the end).

#[macro_use]
mod support;

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::time::{Duration, SystemTime};

use ferry_storage::{FileInfo, FileKind, StorageError, TEMP_PREFIX};
use support::{mkfifo, Jail};

/// root/: `out` -> outside (absolute), `up` -> ../outside (relative),
/// `secret` -> outside/secret, `etc` -> /etc, and an empty `outside/dir`.
fn jail_with_links_out() -> Jail {
    let jail = Jail::new();
    symlink(&jail.outside, jail.root.join("out")).unwrap();
    symlink("../outside", jail.root.join("up")).unwrap();
    symlink(jail.outside.join("secret"), jail.root.join("secret")).unwrap();
    symlink("/etc", jail.root.join("etc")).unwrap();
    jail
}

/// Names that reach outside through a symlink in the middle.
const THROUGH_LINKS_OUT: [&str; 4] = ["out/secret", "up/secret", "/up/x", "etc/passwd"];

const DOT_DOT: [&str; 5] = ["..", "../outside/secret", "/../x", "a/../b", "a/.."];

fn names(entries: &[ferry_storage::DirEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.name.as_str()).collect()
}

// ---- stat ----

#[test]
fn stat_reports_a_file() {
    let jail = Jail::new();
    jail.put("f", b"12345");
    let path = jail.root.join("f");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(when)
        .unwrap();
    fs::hard_link(&path, jail.root.join("g")).unwrap();
    let meta = fs::metadata(&path).unwrap();
    let info = jail.storage.stat("f").unwrap();
    assert_eq!(
        info,
        FileInfo {
            kind: FileKind::File,
            len: 5,
            modified: Some(1_000_000_000),
            mode: 0o640,
            nlink: 2,
            dev: meta.dev(),
            ino: meta.ino(),
        }
    );
    assert_eq!(jail.storage.stat("/f").unwrap(), info);
    assert_eq!(jail.storage.stat("g").unwrap().ino, info.ino);
}

#[test]
fn stat_of_the_root_and_of_directories() {
    let jail = Jail::new();
    fs::create_dir_all(jail.root.join("a/b")).unwrap();
    let root_ino = fs::metadata(&jail.root).unwrap().ino();
    for name in ["", "/", ".", "//./"] {
        let info = jail.storage.stat(name).unwrap();
        assert_eq!(
            (info.kind, info.ino),
            (FileKind::Directory, root_ino),
            "{name:?}"
        );
    }
    let info = jail.storage.stat("a/b/").unwrap();
    assert_eq!(info.kind, FileKind::Directory);
    assert_eq!(info.ino, fs::metadata(jail.root.join("a/b")).unwrap().ino());
}

#[test]
fn stat_follows_symlinks_that_stay_inside() {
    let jail = Jail::new();
    jail.put("images/vmlinuz", b"kernel");
    symlink("images/vmlinuz", jail.root.join("rel")).unwrap();
    symlink(jail.root.join("images/vmlinuz"), jail.root.join("abs")).unwrap();
    symlink("images", jail.root.join("dir")).unwrap();
    let target = jail.storage.stat("images/vmlinuz").unwrap();
    for name in ["rel", "abs", "dir/vmlinuz"] {
        assert_eq!(jail.storage.stat(name).unwrap(), target, "{name:?}");
    }
    assert_eq!(jail.storage.stat("dir").unwrap().kind, FileKind::Directory);
}

#[test]
fn stat_of_a_fifo_is_other_and_does_not_block() {
    let jail = Jail::new();
    mkfifo(&jail.root.join("pipe"));
    assert_eq!(jail.storage.stat("pipe").unwrap().kind, FileKind::Other);
}

#[test]
fn stat_failures() {
    let jail = Jail::new();
    jail.put("file", b"x");
    symlink("nowhere", jail.root.join("dangling")).unwrap();
    assert_err!(jail.storage.stat("missing"), StorageError::NotFound);
    assert_err!(jail.storage.stat("no/such"), StorageError::NotFound);
    assert_err!(jail.storage.stat("dangling"), StorageError::NotFound);
    assert_err!(jail.storage.stat("file/x"), StorageError::NotADirectory);
    assert_err!(jail.storage.stat("a\0"), StorageError::InvalidPath);
    symlink("loop", jail.root.join("loop")).unwrap();
    assert_err!(jail.storage.stat("loop"), StorageError::NotFound);
    assert_err!(jail.storage.read_dir("loop"), StorageError::NotFound);
    assert_err!(jail.storage.open_read("loop"), StorageError::NotFound);
}

#[test]
fn stat_cannot_reach_outside() {
    let jail = jail_with_links_out();
    for name in DOT_DOT {
        assert_err!(
            jail.storage.stat(name),
            StorageError::InvalidPath,
            "{name:?}"
        );
    }
    // Absolute names are taken beneath the root.
    let absolute = jail.outside.join("secret");
    assert_err!(
        jail.storage.stat(absolute.to_str().unwrap()),
        StorageError::NotFound
    );
    symlink(jail.outside.join("nothing"), jail.root.join("probe")).unwrap();
    for name in ["out", "up", "secret", "etc", "probe"]
        .into_iter()
        .chain(THROUGH_LINKS_OUT)
    {
        assert_err!(
            jail.storage.stat(name),
            StorageError::PermissionDenied,
            "{name:?}"
        );
    }
}

// ---- read_dir ----

#[test]
fn read_dir_lists_sorted_names_with_their_facts() {
    let jail = Jail::new();
    jail.put("b.txt", b"bee");
    jail.put("a.txt", b"a");
    jail.put("sub/inner", b"i");
    jail.put(".hidden", b"h");
    jail.put("Z", b"");
    let entries = jail.storage.read_dir("").unwrap();
    assert_eq!(names(&entries), [".hidden", "Z", "a.txt", "b.txt", "sub"]);
    for entry in &entries {
        assert_eq!(
            entry.info,
            jail.storage.stat(&entry.name).unwrap(),
            "{entry:?}"
        );
    }
    assert_eq!(entries[3].info.len, 3);
    assert_eq!(entries[4].info.kind, FileKind::Directory);
    assert_eq!(jail.storage.read_dir("/").unwrap(), entries);
    assert_eq!(names(&jail.storage.read_dir("sub").unwrap()), ["inner"]);
    assert_eq!(names(&jail.storage.read_dir("/sub/").unwrap()), ["inner"]);
}

#[test]
fn read_dir_reports_links_as_links_wherever_they_point() {
    let jail = jail_with_links_out();
    jail.put("file", b"data");
    fs::create_dir(jail.root.join("subdir")).unwrap();
    symlink("nowhere", jail.root.join("dangling")).unwrap();
    symlink("file", jail.root.join("inside")).unwrap();
    let entries = jail.storage.read_dir("/").unwrap();
    assert_eq!(
        names(&entries),
        ["dangling", "etc", "file", "inside", "out", "secret", "subdir", "up"]
    );
    for entry in &entries {
        let meta = fs::symlink_metadata(jail.root.join(&entry.name)).unwrap();
        let expected = if meta.file_type().is_symlink() {
            FileKind::Symlink
        } else if meta.is_dir() {
            FileKind::Directory
        } else {
            FileKind::File
        };
        assert_eq!(entry.info.kind, expected, "{entry:?}");
        // The link's own facts: nothing about what it points to.
        assert_eq!(
            (entry.info.len, entry.info.ino),
            (meta.len(), meta.ino()),
            "{entry:?}"
        );
    }
    let out = entries.iter().find(|e| e.name == "out").unwrap();
    assert_eq!(out.info.len, jail.outside.as_os_str().len() as u64);
}

#[test]
fn read_dir_hides_temporary_upload_files() {
    let jail = Jail::new();
    jail.put("kept", b"k");
    let _upload = jail.storage.create_upload("new").unwrap();
    let _upload2 = jail.storage.create_upload("kept").unwrap();
    assert_eq!(jail.temp_files().len(), 2);
    assert_eq!(names(&jail.storage.read_dir("").unwrap()), ["kept"]);
}

#[test]
fn read_dir_of_an_empty_directory_and_through_a_link_inside() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("empty")).unwrap();
    assert_eq!(jail.storage.read_dir("empty").unwrap(), []);
    jail.put("real/x", b"x");
    symlink("real", jail.root.join("alias")).unwrap();
    symlink(jail.root.join("real"), jail.root.join("absalias")).unwrap();
    assert_eq!(names(&jail.storage.read_dir("alias").unwrap()), ["x"]);
    assert_eq!(names(&jail.storage.read_dir("absalias").unwrap()), ["x"]);
}

#[test]
fn read_dir_names_that_are_not_utf8_are_lossy() {
    let jail = Jail::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9");
    fs::write(jail.root.join(name), b"x").unwrap();
    assert_eq!(names(&jail.storage.read_dir("").unwrap()), ["caf\u{fffd}"]);
}

#[test]
fn read_dir_of_ten_thousand_entries() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("big")).unwrap();
    for i in 0..10_000 {
        fs::write(jail.root.join(format!("big/f{i:05}")), i.to_string()).unwrap();
    }
    let started = std::time::Instant::now();
    let entries = jail.storage.read_dir("big").unwrap();
    let took = started.elapsed();
    assert_eq!(entries.len(), 10_000);
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(entry.name, format!("f{i:05}"));
        assert_eq!(entry.info.len, i.to_string().len() as u64);
    }
    // One directory pass and one fstatat per entry take milliseconds; this
    // only catches something far slower (a lookup from the root per entry
    // is still fast, but a quadratic walk is not).
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn read_dir_failures() {
    let jail = Jail::new();
    jail.put("file", b"x");
    mkfifo(&jail.root.join("pipe"));
    symlink("nowhere", jail.root.join("dangling")).unwrap();
    assert_err!(jail.storage.read_dir("file"), StorageError::NotADirectory);
    assert_err!(jail.storage.read_dir("pipe"), StorageError::NotADirectory);
    assert_err!(jail.storage.read_dir("missing"), StorageError::NotFound);
    assert_err!(jail.storage.read_dir("dangling"), StorageError::NotFound);
    assert_err!(jail.storage.read_dir("file/x"), StorageError::NotADirectory);
}

#[test]
fn unreadable_directory_is_permission_denied() {
    let jail = Jail::new();
    jail.put("locked/x", b"x");
    fs::set_permissions(jail.root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read_dir(jail.root.join("locked")).is_ok() {
        return; // running as root: permissions are not enforced
    }
    assert_err!(
        jail.storage.read_dir("locked"),
        StorageError::PermissionDenied
    );
}

#[test]
fn read_dir_cannot_reach_outside() {
    let jail = jail_with_links_out();
    fs::create_dir(jail.root.join("a")).unwrap();
    for name in DOT_DOT {
        assert_err!(
            jail.storage.read_dir(name),
            StorageError::InvalidPath,
            "{name:?}"
        );
    }
    assert_err!(
        jail.storage.read_dir(jail.outside.to_str().unwrap()),
        StorageError::NotFound
    );
    for name in ["out", "up", "etc", "out/", "up/.", "/etc/"] {
        assert_err!(
            jail.storage.read_dir(name),
            StorageError::PermissionDenied,
            "{name:?}"
        );
    }
    fs::create_dir(jail.outside.join("dir")).unwrap();
    assert_err!(
        jail.storage.read_dir("out/dir"),
        StorageError::PermissionDenied
    );
}

// ---- make_dir ----

#[test]
fn make_dir_creates_directories() {
    let jail = Jail::new();
    jail.storage.make_dir("a").unwrap();
    jail.storage.make_dir("/a/b/").unwrap();
    fs::create_dir(jail.root.join("real")).unwrap();
    symlink("real", jail.root.join("alias")).unwrap();
    jail.storage.make_dir("alias/c").unwrap();
    assert!(jail.root.join("a/b").is_dir());
    assert!(jail.root.join("real/c").is_dir());
    let mode = fs::metadata(jail.root.join("a")).unwrap().mode();
    assert_eq!(mode & 0o7022, 0, "mode {mode:o} is more than 0755");
    assert_eq!(mode & 0o700, 0o700);
}

#[test]
fn make_dir_failures() {
    let jail = Jail::new();
    jail.put("file", b"x");
    fs::create_dir(jail.root.join("dir")).unwrap();
    symlink("nowhere", jail.root.join("dangling")).unwrap();
    for name in ["file", "dir", "dangling", "", "/"] {
        assert_err!(
            jail.storage.make_dir(name),
            StorageError::AlreadyExists,
            "{name:?}"
        );
    }
    assert_err!(jail.storage.make_dir("no/such"), StorageError::NotFound);
    assert_err!(jail.storage.make_dir("file/x"), StorageError::NotADirectory);
    assert_err!(
        jail.storage.make_dir(&format!("{TEMP_PREFIX}x")),
        StorageError::InvalidPath
    );
    assert_err!(
        jail.storage.make_dir(&"n".repeat(256)),
        StorageError::InvalidPath
    );
    assert!(fs::symlink_metadata(jail.root.join("dangling"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn make_dir_cannot_reach_outside() {
    let jail = jail_with_links_out();
    for name in DOT_DOT {
        assert_err!(
            jail.storage.make_dir(name),
            StorageError::InvalidPath,
            "{name:?}"
        );
    }
    for name in ["out/new", "up/new", "out/secret", "etc/ferry-test"] {
        assert_err!(
            jail.storage.make_dir(name),
            StorageError::PermissionDenied,
            "{name:?}"
        );
    }
    // A link at the end is a name that exists; it is not followed.
    symlink(jail.outside.join("new"), jail.root.join("dangling_out")).unwrap();
    for name in ["out", "secret", "dangling_out"] {
        assert_err!(
            jail.storage.make_dir(name),
            StorageError::AlreadyExists,
            "{name:?}"
        );
    }
    // An absolute name is a path beneath the root.
    let absolute = jail.outside.join("new");
    assert_err!(
        jail.storage.make_dir(absolute.to_str().unwrap()),
        StorageError::NotFound
    );
    jail.assert_outside_untouched();
}

// ---- remove_dir ----

#[test]
fn remove_dir_removes_empty_directories_only() {
    let jail = Jail::new();
    fs::create_dir_all(jail.root.join("a/b")).unwrap();
    assert_err!(
        jail.storage.remove_dir("a"),
        StorageError::DirectoryNotEmpty
    );
    jail.storage.remove_dir("/a/b/").unwrap();
    jail.storage.remove_dir("a").unwrap();
    assert_eq!(Jail::tree(&jail.root), Vec::<String>::new());
}

#[test]
fn remove_dir_through_a_link_inside_works() {
    let jail = Jail::new();
    fs::create_dir_all(jail.root.join("real/gone")).unwrap();
    symlink("real", jail.root.join("alias")).unwrap();
    jail.storage.remove_dir("alias/gone").unwrap();
    assert_eq!(Jail::tree(&jail.root), ["alias", "real"]);
}

#[test]
fn remove_dir_failures() {
    let jail = Jail::new();
    jail.put("file", b"x");
    fs::create_dir(jail.root.join("dir")).unwrap();
    symlink("dir", jail.root.join("dirlink")).unwrap();
    assert_err!(jail.storage.remove_dir("file"), StorageError::NotADirectory);
    // A link to a directory is not a directory to remove, and its target stays.
    assert_err!(
        jail.storage.remove_dir("dirlink"),
        StorageError::NotADirectory
    );
    assert_err!(jail.storage.remove_dir("missing"), StorageError::NotFound);
    assert_err!(jail.storage.remove_dir("no/such"), StorageError::NotFound);
    assert_err!(
        jail.storage.remove_dir("file/x"),
        StorageError::NotADirectory
    );
    assert_eq!(Jail::tree(&jail.root), ["dir", "dirlink", "file"]);
}

#[test]
fn remove_dir_never_removes_the_root() {
    let jail = Jail::new();
    for name in ["", "/", ".", "//./"] {
        assert_err!(
            jail.storage.remove_dir(name),
            StorageError::PermissionDenied,
            "{name:?}"
        );
    }
    symlink(".", jail.root.join("self")).unwrap();
    assert_err!(jail.storage.remove_dir("self"), StorageError::NotADirectory);
    assert!(jail.root.is_dir());
    assert_eq!(jail.storage.read_dir("").unwrap().len(), 1);
}

#[test]
fn remove_dir_cannot_reach_outside() {
    let jail = jail_with_links_out();
    fs::create_dir(jail.outside.join("dir")).unwrap();
    for name in DOT_DOT {
        assert_err!(
            jail.storage.remove_dir(name),
            StorageError::InvalidPath,
            "{name:?}"
        );
    }
    for name in ["out/dir", "up/dir", "etc/ssl"] {
        assert_err!(
            jail.storage.remove_dir(name),
            StorageError::PermissionDenied,
            "{name:?}"
        );
    }
    for name in ["out", "up", "etc"] {
        assert_err!(
            jail.storage.remove_dir(name),
            StorageError::NotADirectory,
            "{name:?}"
        );
    }
    let absolute = jail.outside.join("dir");
    assert_err!(
        jail.storage.remove_dir(absolute.to_str().unwrap()),
        StorageError::NotFound
    );
    assert!(jail.outside.join("dir").is_dir());
    fs::remove_dir(jail.outside.join("dir")).unwrap();
    jail.assert_outside_untouched();
    assert!(jail.is_link("out") && jail.is_link("up") && jail.is_link("etc"));
}

// ---- remove_file ----

#[test]
fn remove_file_removes_files() {
    let jail = Jail::new();
    jail.put("a/f", b"x");
    jail.put("g", b"y");
    jail.storage.remove_file("/a/f").unwrap();
    jail.storage.remove_file("g").unwrap();
    assert_eq!(Jail::tree(&jail.root), ["a"]);
    mkfifo(&jail.root.join("pipe"));
    jail.storage.remove_file("pipe").unwrap();
}

#[test]
fn remove_file_removes_a_link_not_its_target() {
    let jail = Jail::new();
    jail.put("target", b"t");
    fs::create_dir(jail.root.join("dir")).unwrap();
    symlink("target", jail.root.join("link")).unwrap();
    symlink("dir", jail.root.join("dirlink")).unwrap();
    symlink("nowhere", jail.root.join("dangling")).unwrap();
    for name in ["link", "dirlink", "dangling"] {
        jail.storage.remove_file(name).unwrap();
    }
    assert_eq!(Jail::tree(&jail.root), ["dir", "target"]);
    assert_eq!(fs::read(jail.root.join("target")).unwrap(), b"t");
}

#[test]
fn remove_file_failures() {
    let jail = Jail::new();
    jail.put("file", b"x");
    fs::create_dir(jail.root.join("dir")).unwrap();
    assert_err!(jail.storage.remove_file("dir"), StorageError::IsADirectory);
    assert_err!(jail.storage.remove_file("dir/"), StorageError::IsADirectory);
    assert_err!(jail.storage.remove_file("missing"), StorageError::NotFound);
    assert_err!(jail.storage.remove_file("no/such"), StorageError::NotFound);
    assert_err!(
        jail.storage.remove_file("file/x"),
        StorageError::NotADirectory
    );
    for name in ["", "/", "."] {
        assert_err!(
            jail.storage.remove_file(name),
            StorageError::PermissionDenied,
            "{name:?}"
        );
    }
    assert_eq!(Jail::tree(&jail.root), ["dir", "file"]);
}

#[test]
fn remove_file_cannot_touch_an_upload_in_progress() {
    let jail = Jail::new();
    let mut upload = jail.storage.create_upload("new").unwrap();
    let temp = jail.temp_files().remove(0);
    assert_err!(jail.storage.remove_file(&temp), StorageError::NotFound);
    std::io::Write::write_all(&mut upload, b"safe").unwrap();
    upload.commit().unwrap();
    assert_eq!(fs::read(jail.root.join("new")).unwrap(), b"safe");
}

#[test]
fn remove_file_cannot_reach_outside() {
    let jail = jail_with_links_out();
    for name in DOT_DOT {
        assert_err!(
            jail.storage.remove_file(name),
            StorageError::InvalidPath,
            "{name:?}"
        );
    }
    for name in THROUGH_LINKS_OUT {
        assert_err!(
            jail.storage.remove_file(name),
            StorageError::PermissionDenied,
            "{name:?}"
        );
    }
    let absolute = jail.outside.join("secret");
    assert_err!(
        jail.storage.remove_file(absolute.to_str().unwrap()),
        StorageError::NotFound
    );
    jail.assert_outside_untouched();
    // The links themselves are inside: removing them is allowed and leaves
    // their targets alone.
    for name in ["secret", "out", "up", "etc"] {
        jail.storage.remove_file(name).unwrap();
    }
    assert_eq!(Jail::tree(&jail.root), Vec::<String>::new());
    jail.assert_outside_untouched();
    assert!(std::path::Path::new("/etc/passwd").exists());
}

// ---- rename ----

#[test]
fn rename_moves_files_and_directories() {
    let jail = Jail::new();
    jail.put("a", b"A");
    jail.put("d/inner", b"I");
    fs::create_dir(jail.root.join("e")).unwrap();
    jail.storage.rename("a", "b").unwrap();
    jail.storage.rename("/b", "/e/c").unwrap();
    jail.storage.rename("d", "e/d2").unwrap();
    assert_eq!(Jail::tree(&jail.root), ["e", "e/c", "e/d2", "e/d2/inner"]);
    assert_eq!(fs::read(jail.root.join("e/c")).unwrap(), b"A");
}

#[test]
fn rename_replaces_a_file_and_an_empty_directory() {
    let jail = Jail::new();
    jail.put("new", b"new");
    jail.put("old", b"old");
    jail.storage.rename("new", "old").unwrap();
    assert_eq!(Jail::tree(&jail.root), ["old"]);
    assert_eq!(fs::read(jail.root.join("old")).unwrap(), b"new");
    fs::create_dir(jail.root.join("d1")).unwrap();
    jail.put("d1/x", b"x");
    fs::create_dir(jail.root.join("d2")).unwrap();
    jail.storage.rename("d1", "d2").unwrap();
    assert_eq!(Jail::tree(&jail.root), ["d2", "d2/x", "old"]);
}

#[test]
fn rename_of_a_link_moves_the_link() {
    let jail = Jail::new();
    jail.put("target", b"t");
    symlink("target", jail.root.join("link")).unwrap();
    jail.storage.rename("link", "moved").unwrap();
    assert!(jail.is_link("moved"));
    assert_eq!(fs::read(jail.root.join("target")).unwrap(), b"t");
    // Onto a link: the link is replaced, not what it points to.
    jail.put("other", b"o");
    jail.storage.rename("other", "moved").unwrap();
    assert!(!jail.is_link("moved"));
    assert_eq!(fs::read(jail.root.join("target")).unwrap(), b"t");
    assert_eq!(fs::read(jail.root.join("moved")).unwrap(), b"o");
}

#[test]
fn rename_through_links_inside_works() {
    let jail = Jail::new();
    jail.put("real/a", b"a");
    symlink("real", jail.root.join("alias")).unwrap();
    symlink(jail.root.join("real"), jail.root.join("absalias")).unwrap();
    jail.storage.rename("alias/a", "absalias/b").unwrap();
    assert_eq!(fs::read(jail.root.join("real/b")).unwrap(), b"a");
}

#[test]
fn rename_failures() {
    let jail = Jail::new();
    jail.put("file", b"f");
    jail.put("full/x", b"x");
    fs::create_dir(jail.root.join("dir")).unwrap();
    assert_err!(jail.storage.rename("missing", "x"), StorageError::NotFound);
    assert_err!(
        jail.storage.rename("file", "no/such"),
        StorageError::NotFound
    );
    assert_err!(
        jail.storage.rename("file", "dir"),
        StorageError::IsADirectory
    );
    assert_err!(
        jail.storage.rename("dir", "file"),
        StorageError::NotADirectory
    );
    assert_err!(
        jail.storage.rename("dir", "full"),
        StorageError::DirectoryNotEmpty
    );
    assert_err!(
        jail.storage.rename("dir", "dir/sub"),
        StorageError::InvalidPath
    );
    assert_err!(
        jail.storage.rename("file", "file/x"),
        StorageError::NotADirectory
    );
    assert_err!(
        jail.storage.rename("file", &format!("{TEMP_PREFIX}x")),
        StorageError::InvalidPath
    );
    assert_eq!(Jail::tree(&jail.root), ["dir", "file", "full", "full/x"]);
}

#[test]
fn rename_never_moves_the_root_or_onto_it() {
    let jail = Jail::new();
    jail.put("f", b"f");
    for (from, to) in [("", "x"), ("/", "f2"), ("f", ""), ("f", "/"), ("/", "/")] {
        assert_err!(
            jail.storage.rename(from, to),
            StorageError::PermissionDenied,
            "{from:?} -> {to:?}"
        );
    }
    assert_eq!(Jail::tree(&jail.root), ["f"]);
}

#[test]
fn rename_cannot_take_or_place_anything_outside() {
    let jail = jail_with_links_out();
    jail.put("mine", b"mine");
    for name in DOT_DOT {
        assert_err!(
            jail.storage.rename(name, "x"),
            StorageError::InvalidPath,
            "{name:?}"
        );
        assert_err!(
            jail.storage.rename("mine", name),
            StorageError::InvalidPath,
            "{name:?}"
        );
    }
    for name in THROUGH_LINKS_OUT {
        assert_err!(
            jail.storage.rename(name, "stolen"),
            StorageError::PermissionDenied,
            "{name:?}"
        );
        assert_err!(
            jail.storage.rename("mine", name),
            StorageError::PermissionDenied,
            "{name:?}"
        );
    }
    let absolute = jail.outside.join("secret");
    let absolute = absolute.to_str().unwrap();
    assert_err!(jail.storage.rename(absolute, "x"), StorageError::NotFound);
    assert_err!(
        jail.storage.rename("mine", absolute),
        StorageError::NotFound
    );
    jail.assert_outside_untouched();
    assert_eq!(fs::read(jail.root.join("mine")).unwrap(), b"mine");

    // Links at the end are names inside: moving one moves the link, and
    // replacing one replaces the link; their targets stay as they were.
    jail.storage.rename("secret", "still_a_link").unwrap();
    assert!(jail.is_link("still_a_link"));
    jail.storage.rename("mine", "out").unwrap();
    assert!(!jail.is_link("out"));
    assert_eq!(fs::read(jail.root.join("out")).unwrap(), b"mine");
    jail.assert_outside_untouched();
}

#[test]
fn a_subdirectory_root_keeps_lookups_beneath_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("alice/docs")).unwrap();
    std::fs::create_dir_all(dir.path().join("bob")).unwrap();
    std::fs::write(dir.path().join("alice/docs/a.txt"), b"alice's").unwrap();
    std::fs::write(dir.path().join("bob/secret.txt"), b"bob's").unwrap();
    std::fs::write(dir.path().join("plain"), b"").unwrap();
    std::os::unix::fs::symlink("../bob", dir.path().join("alice/to-bob")).unwrap();
    std::os::unix::fs::symlink("docs", dir.path().join("alice/inside")).unwrap();
    let root = ferry_storage::Root::new(dir.path()).unwrap();

    let home = root.subdirectory("/alice").unwrap();
    assert_eq!(home.path(), root.path().join("alice"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut home.open_read("docs/a.txt").unwrap().file, &mut text)
        .unwrap();
    assert_eq!(text, "alice's");
    // A link inside the home is followed while it stays in the home...
    assert!(home.open_read("inside/a.txt").is_ok());
    // ...and refused when it leads elsewhere in the served root.
    assert!(matches!(
        home.open_read("to-bob/secret.txt"),
        Err(StorageError::PermissionDenied)
    ));
    assert!(matches!(
        home.read_dir("to-bob"),
        Err(StorageError::PermissionDenied)
    ));
    assert!(matches!(
        home.create_upload("to-bob/new"),
        Err(StorageError::PermissionDenied)
    ));
    assert!(root.open_read("alice/to-bob/secret.txt").is_ok());

    assert!(matches!(
        root.subdirectory("plain"),
        Err(StorageError::NotADirectory)
    ));
    assert!(matches!(
        root.subdirectory("nobody"),
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        root.subdirectory("../x"),
        Err(StorageError::InvalidPath)
    ));
    assert_eq!(root.subdirectory("/").unwrap().path(), root.path());
}

// ---- links and times ----

#[test]
fn resolve_link_gives_the_target_inside_and_refuses_every_way_out() {
    let jail = jail_with_links_out();
    fs::create_dir(jail.root.join("d")).unwrap();
    fs::write(jail.root.join("d/f"), b"12345").unwrap();
    symlink("d/f", jail.root.join("rel")).unwrap();
    symlink(jail.root.join("d"), jail.root.join("abs")).unwrap();
    symlink("../d/f", jail.root.join("d/back")).unwrap();
    symlink("nowhere", jail.root.join("dangling")).unwrap();
    let root = jail.storage.clone();

    let (target, info) = root.resolve_link("rel").unwrap();
    assert_eq!(
        (target.as_str(), info.kind, info.len),
        ("d/f", FileKind::File, 5)
    );
    let (target, info) = root.resolve_link("abs").unwrap();
    assert_eq!((target.as_str(), info.kind), ("d", FileKind::Directory));
    assert_eq!(root.resolve_link("d/back").unwrap().0, "d/f");
    assert_eq!(root.resolve_link("").unwrap().0, "");
    for out in ["out", "up", "secret", "etc"] {
        assert!(
            matches!(root.resolve_link(out), Err(StorageError::PermissionDenied)),
            "{out}"
        );
    }
    assert!(matches!(
        root.resolve_link("dangling"),
        Err(StorageError::NotFound)
    ));
}

#[test]
fn set_modified_changes_the_time_through_links_inside_only() {
    let jail = jail_with_links_out();
    fs::write(jail.root.join("f"), b"x").unwrap();
    fs::create_dir(jail.root.join("d")).unwrap();
    symlink("f", jail.root.join("lf")).unwrap();
    let root = jail.storage.clone();
    let mtime = |p: &str| fs::metadata(jail.root.join(p)).unwrap().mtime();

    root.set_modified("f", 1_614_834_367).unwrap();
    assert_eq!(mtime("f"), 1_614_834_367);
    root.set_modified("lf", 1_000_000_000).unwrap();
    assert_eq!(mtime("f"), 1_000_000_000);
    root.set_modified("d", 1_234_567_890).unwrap();
    assert_eq!(mtime("d"), 1_234_567_890);
    let before = fs::metadata(jail.outside.join("secret")).unwrap().mtime();
    assert!(matches!(
        root.set_modified("secret", 1),
        Err(StorageError::PermissionDenied)
    ));
    assert_eq!(
        fs::metadata(jail.outside.join("secret")).unwrap().mtime(),
        before
    );
    assert!(matches!(
        root.set_modified("gone", 1),
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        root.set_modified("../x", 1),
        Err(StorageError::InvalidPath)
    ));
}
