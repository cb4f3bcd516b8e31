//! The served root as a client sees it: what can be read, what can be
//! written, and that nothing outside the root is ever reached.

#[macro_use]
mod support;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{symlink, PermissionsExt};

use ferry_storage::{Root, StorageError, TEMP_PREFIX};
use support::Jail;

// ---- Root::new ----

#[test]
fn root_must_be_an_existing_directory() {
    let jail = Jail::new();
    assert!(Root::new(jail.root.join("missing")).is_err());
    jail.put("file", b"x");
    assert!(Root::new(jail.root.join("file")).is_err());
}

#[test]
fn root_path_is_canonical() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("sub")).unwrap();
    let root = Root::new(jail.root.join("sub/../sub/.")).unwrap();
    assert_eq!(root.path(), jail.root.join("sub"));
    let linked = jail.outside.join("to-root");
    symlink(&jail.root, &linked).unwrap();
    assert_eq!(Root::new(&linked).unwrap().path(), jail.root);
}

// ---- reading ----

#[test]
fn reads_a_file_byte_exact() {
    let jail = Jail::new();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    jail.put("pxelinux.0", &bytes);
    assert_eq!(jail.read("pxelinux.0").unwrap(), bytes);
    assert_eq!(jail.read("/pxelinux.0").unwrap(), bytes);
    assert_eq!(jail.read("./pxelinux.0").unwrap(), bytes);
}

#[test]
fn reads_an_empty_file() {
    let jail = Jail::new();
    jail.put("empty", b"");
    assert_eq!(jail.read("empty").unwrap(), b"");
}

#[test]
fn reads_nested_directories() {
    let jail = Jail::new();
    jail.put("boot/grub/x86_64-efi/grub.cfg", b"menuentry");
    assert_eq!(
        jail.read("boot/grub/x86_64-efi/grub.cfg").unwrap(),
        b"menuentry"
    );
    assert_eq!(
        jail.read("//boot/./grub//x86_64-efi/grub.cfg").unwrap(),
        b"menuentry"
    );
}

#[test]
fn missing_file_is_not_found() {
    let jail = Jail::new();
    assert!(matches!(jail.read("nope"), Err(StorageError::NotFound)));
    assert!(matches!(
        jail.read("no/such/dir"),
        Err(StorageError::NotFound)
    ));
}

#[test]
fn file_used_as_directory_is_not_a_directory() {
    let jail = Jail::new();
    jail.put("file", b"x");
    assert!(matches!(
        jail.read("file/x"),
        Err(StorageError::NotADirectory)
    ));
}

#[test]
fn reading_a_directory_is_refused() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("dir")).unwrap();
    assert!(matches!(jail.read("dir"), Err(StorageError::IsADirectory)));
    assert!(matches!(jail.read("dir/"), Err(StorageError::IsADirectory)));
}

#[test]
fn reading_a_fifo_is_refused_without_blocking() {
    let jail = Jail::new();
    let status = std::process::Command::new("mkfifo")
        .arg(jail.root.join("pipe"))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(matches!(
        jail.read("pipe"),
        Err(StorageError::PermissionDenied)
    ));
}

#[test]
fn read_file_is_blocking_again() {
    let jail = Jail::new();
    jail.put("f", b"x");
    let file = jail.storage.open_read("f").unwrap();
    let flags = rustix::fs::fcntl_getfl(&file.file).unwrap();
    assert!(!flags.contains(rustix::fs::OFlags::NONBLOCK));
}

#[test]
fn unreadable_file_is_permission_denied() {
    let jail = Jail::new();
    jail.put("locked", b"x");
    fs::set_permissions(jail.root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    if fs::File::open(jail.root.join("locked")).is_ok() {
        return; // running as root: permissions are not enforced
    }
    assert!(matches!(
        jail.read("locked"),
        Err(StorageError::PermissionDenied)
    ));
}

// ---- names that try to leave ----

#[test]
fn dot_dot_is_invalid_wherever_it_appears() {
    let jail = Jail::new();
    jail.put("a/b", b"x");
    for name in [
        "..",
        "../outside/secret",
        "/../outside/secret",
        "a/../../outside/secret",
        "a/../b",
        "a/b/..",
        "../root/a/b",
    ] {
        assert!(
            matches!(jail.read(name), Err(StorageError::InvalidPath)),
            "{name:?}"
        );
        assert!(
            matches!(
                jail.storage.create_upload(name),
                Err(StorageError::InvalidPath)
            ),
            "{name:?}"
        );
    }
}

#[test]
fn absolute_names_are_taken_relative_to_the_root() {
    let jail = Jail::new();
    let secret = jail.outside.join("secret");
    let name = secret.to_str().unwrap();
    // The absolute path of a real file outside means root/<that path> here.
    assert!(matches!(jail.read(name), Err(StorageError::NotFound)));
    assert!(matches!(
        jail.read("/etc/passwd"),
        Err(StorageError::NotFound)
    ));
    jail.put("etc/passwd", b"inside");
    assert_eq!(jail.read("/etc/passwd").unwrap(), b"inside");
}

#[test]
fn nul_and_empty_names_are_invalid() {
    let jail = Jail::new();
    jail.put("a", b"x");
    for name in ["a\0", "\0", "", "/", ".", "//./"] {
        assert!(
            matches!(jail.read(name), Err(StorageError::InvalidPath)),
            "{name:?}"
        );
        assert!(
            matches!(
                jail.storage.create_upload(name),
                Err(StorageError::InvalidPath)
            ),
            "{name:?}"
        );
    }
}

// ---- symlinks ----

#[test]
fn symlink_to_etc_passwd_is_refused() {
    let jail = Jail::new();
    symlink("/etc/passwd", jail.root.join("passwd")).unwrap();
    assert!(matches!(
        jail.read("passwd"),
        Err(StorageError::PermissionDenied)
    ));
}

#[test]
fn relative_symlink_climbing_out_is_refused() {
    let jail = Jail::new();
    symlink("../outside/secret", jail.root.join("up")).unwrap();
    fs::create_dir(jail.root.join("d")).unwrap();
    symlink("../../outside/secret", jail.root.join("d/up2")).unwrap();
    assert!(matches!(
        jail.read("up"),
        Err(StorageError::PermissionDenied)
    ));
    assert!(matches!(
        jail.read("d/up2"),
        Err(StorageError::PermissionDenied)
    ));
}

#[test]
fn dangling_symlink_outside_reveals_nothing() {
    let jail = Jail::new();
    symlink(jail.outside.join("no-such-file"), jail.root.join("probe")).unwrap();
    assert!(matches!(
        jail.read("probe"),
        Err(StorageError::PermissionDenied)
    ));
}

#[test]
fn symlinked_directory_pointing_outside_is_refused() {
    let jail = Jail::new();
    symlink(&jail.outside, jail.root.join("out")).unwrap();
    symlink("../outside", jail.root.join("out_rel")).unwrap();
    symlink("/etc", jail.root.join("etc")).unwrap();
    for name in ["out/secret", "out_rel/secret", "etc/passwd", "out", "etc"] {
        assert!(
            matches!(jail.read(name), Err(StorageError::PermissionDenied)),
            "{name:?}"
        );
    }
    // Writing through it is refused as well, and nothing appears outside.
    for name in ["out/new", "out_rel/new", "out/secret", "etc/ferry-test"] {
        assert!(
            matches!(
                jail.storage.create_upload(name),
                Err(StorageError::PermissionDenied)
            ),
            "{name:?}"
        );
    }
    assert_eq!(Jail::tree(&jail.outside), ["secret"]);
    assert_eq!(fs::read(jail.outside.join("secret")).unwrap(), b"SECRET");
}

#[test]
fn symlinks_resolving_inside_the_root_are_followed() {
    let jail = Jail::new();
    jail.put("images/vmlinuz", b"kernel");
    symlink("images/vmlinuz", jail.root.join("rel")).unwrap();
    symlink(jail.root.join("images/vmlinuz"), jail.root.join("abs")).unwrap();
    symlink("images", jail.root.join("img")).unwrap();
    fs::create_dir(jail.root.join("sub")).unwrap();
    symlink("../images/vmlinuz", jail.root.join("sub/up")).unwrap();
    symlink(jail.root.join("images"), jail.root.join("sub/absdir")).unwrap();
    for name in ["rel", "abs", "img/vmlinuz", "sub/up", "sub/absdir/vmlinuz"] {
        assert_eq!(jail.read(name).unwrap(), b"kernel", "{name:?}");
    }
}

#[test]
fn root_reached_through_a_symlink_still_confines() {
    let jail = Jail::new();
    let via = jail.outside.join("via");
    symlink(&jail.root, &via).unwrap();
    let storage = Root::new(&via).unwrap();
    symlink("../outside/secret", jail.root.join("up")).unwrap();
    jail.put("f", b"ok");
    assert!(matches!(
        storage.open_read("up"),
        Err(StorageError::PermissionDenied)
    ));
    assert_eq!(storage.open_read("f").unwrap().len, 2);
}

// ---- uploads ----

#[test]
fn committed_upload_is_byte_exact() {
    let jail = Jail::new();
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut upload = jail.storage.create_upload("/incoming.bin").unwrap();
    for chunk in bytes.chunks(1468) {
        upload.write_all(chunk).unwrap();
    }
    assert!(
        !jail.root.join("incoming.bin").exists(),
        "visible before commit"
    );
    upload.commit().unwrap();
    assert_eq!(fs::read(jail.root.join("incoming.bin")).unwrap(), bytes);
    assert_eq!(jail.temp_files(), Vec::<String>::new());
}

#[test]
fn upload_goes_to_a_hidden_temp_file_in_the_target_directory() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("d")).unwrap();
    let mut upload = jail.storage.create_upload("d/new.txt").unwrap();
    upload.file().write_all(b"abc").unwrap();
    let temps = jail.temp_files();
    assert_eq!(temps.len(), 1);
    assert!(temps[0].starts_with(&format!("d/{TEMP_PREFIX}")) && temps[0].ends_with("-new.txt"));
    let mode = fs::metadata(jail.root.join(&temps[0]))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7133, 0, "mode {mode:o} is more than 0644");
    upload.commit().unwrap();
    assert_eq!(fs::read(jail.root.join("d/new.txt")).unwrap(), b"abc");
    assert_eq!(Jail::tree(&jail.root), ["d", "d/new.txt"]);
}

#[test]
fn dropped_upload_leaves_the_old_file_and_no_temp() {
    let jail = Jail::new();
    jail.put("config", b"old");
    {
        let mut upload = jail.storage.create_upload("config").unwrap();
        upload.write_all(b"new, half written").unwrap();
    }
    assert_eq!(fs::read(jail.root.join("config")).unwrap(), b"old");
    assert_eq!(Jail::tree(&jail.root), ["config"]);
}

#[test]
fn discarded_upload_leaves_nothing() {
    let jail = Jail::new();
    let mut upload = jail.storage.create_upload("fresh").unwrap();
    upload.write_all(b"data").unwrap();
    upload.discard();
    assert_eq!(Jail::tree(&jail.root), Vec::<String>::new());
}

#[test]
fn upload_replaces_an_existing_file_only_on_commit() {
    let jail = Jail::new();
    jail.put("config", b"old contents, longer than the new");
    let mut upload = jail.storage.create_upload("config").unwrap();
    upload.write_all(b"new").unwrap();
    assert_eq!(
        fs::read(jail.root.join("config")).unwrap(),
        b"old contents, longer than the new"
    );
    // A reader that opened the old file keeps seeing it after the swap.
    let mut before = jail.storage.open_read("config").unwrap();
    upload.commit().unwrap();
    assert_eq!(fs::read(jail.root.join("config")).unwrap(), b"new");
    let mut old = Vec::new();
    before.file.read_to_end(&mut old).unwrap();
    assert_eq!(old, b"old contents, longer than the new");
    assert_eq!(Jail::tree(&jail.root), ["config"]);
}

#[test]
fn concurrent_uploads_to_one_name_do_not_collide() {
    let jail = Jail::new();
    let mut a = jail.storage.create_upload("same").unwrap();
    let mut b = jail.storage.create_upload("same").unwrap();
    a.write_all(b"first").unwrap();
    b.write_all(b"second").unwrap();
    assert_eq!(jail.temp_files().len(), 2);
    a.commit().unwrap();
    b.commit().unwrap();
    assert_eq!(fs::read(jail.root.join("same")).unwrap(), b"second");
    assert_eq!(Jail::tree(&jail.root), ["same"]);
}

#[test]
fn upload_onto_a_directory_is_refused() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("dir")).unwrap();
    symlink("dir", jail.root.join("dirlink")).unwrap();
    for name in ["dir", "dir/", "dirlink"] {
        assert!(
            matches!(
                jail.storage.create_upload(name),
                Err(StorageError::IsADirectory)
            ),
            "{name:?}"
        );
    }
    assert_eq!(Jail::tree(&jail.root), ["dir", "dirlink"]);
}

#[test]
fn commit_fails_cleanly_if_a_directory_took_the_name() {
    let jail = Jail::new();
    let mut upload = jail.storage.create_upload("late").unwrap();
    upload.write_all(b"x").unwrap();
    fs::create_dir(jail.root.join("late")).unwrap();
    fs::write(jail.root.join("late/keep"), b"k").unwrap();
    assert!(upload.commit().is_err());
    assert_eq!(Jail::tree(&jail.root), ["late", "late/keep"]);
}

#[test]
fn upload_needs_an_existing_parent() {
    let jail = Jail::new();
    assert!(matches!(
        jail.storage.create_upload("no/such/file"),
        Err(StorageError::NotFound)
    ));
    jail.put("file", b"x");
    assert!(matches!(
        jail.storage.create_upload("file/x"),
        Err(StorageError::NotADirectory)
    ));
}

#[test]
fn upload_through_a_symlink_outside_is_refused() {
    let jail = Jail::new();
    symlink(jail.outside.join("secret"), jail.root.join("abs")).unwrap();
    symlink("../outside/secret", jail.root.join("rel")).unwrap();
    symlink(jail.outside.join("not-yet"), jail.root.join("dangling")).unwrap();
    for name in ["abs", "rel", "dangling"] {
        assert!(
            matches!(
                jail.storage.create_upload(name),
                Err(StorageError::PermissionDenied)
            ),
            "{name:?}"
        );
    }
    assert_eq!(Jail::tree(&jail.outside), ["secret"]);
    assert_eq!(fs::read(jail.outside.join("secret")).unwrap(), b"SECRET");
}

#[test]
fn upload_through_a_symlink_inside_replaces_its_target_and_keeps_the_link() {
    let jail = Jail::new();
    jail.put("images/current", b"v1");
    symlink("images/current", jail.root.join("rel")).unwrap();
    symlink(jail.root.join("images/current"), jail.root.join("abs")).unwrap();
    jail.upload("rel", b"v2").unwrap();
    assert_eq!(fs::read(jail.root.join("images/current")).unwrap(), b"v2");
    jail.upload("abs", b"v3").unwrap();
    assert_eq!(fs::read(jail.root.join("images/current")).unwrap(), b"v3");
    assert!(fs::symlink_metadata(jail.root.join("rel"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(jail.root.join("abs"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(jail.temp_files(), Vec::<String>::new());
}

#[test]
fn upload_into_a_symlinked_directory_inside_works() {
    let jail = Jail::new();
    fs::create_dir(jail.root.join("real")).unwrap();
    symlink("real", jail.root.join("alias")).unwrap();
    symlink(jail.root.join("real"), jail.root.join("absalias")).unwrap();
    jail.upload("alias/a", b"1").unwrap();
    jail.upload("absalias/b", b"2").unwrap();
    assert_eq!(fs::read(jail.root.join("real/a")).unwrap(), b"1");
    assert_eq!(fs::read(jail.root.join("real/b")).unwrap(), b"2");
}

#[test]
fn very_long_target_names_still_get_a_temp_file() {
    let jail = Jail::new();
    let name = "n".repeat(255);
    jail.upload(&name, b"long").unwrap();
    assert_eq!(fs::read(jail.root.join(&name)).unwrap(), b"long");
    assert!(matches!(
        jail.storage.create_upload(&"n".repeat(256)),
        Err(StorageError::InvalidPath)
    ));
}

#[test]
fn root_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Root>();
    fn assert_send<T: Send>() {}
    assert_send::<ferry_storage::Upload>();

    let jail = Jail::new();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let storage = jail.storage.clone();
            std::thread::spawn(move || {
                let mut upload = storage.create_upload(&format!("t{i}")).unwrap();
                upload.write_all(format!("thread {i}").as_bytes()).unwrap();
                upload.commit().unwrap();
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    for i in 0..4 {
        assert_eq!(
            jail.read(&format!("t{i}")).unwrap(),
            format!("thread {i}").as_bytes()
        );
    }
}
