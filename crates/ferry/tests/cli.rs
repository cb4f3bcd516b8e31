//! The `ferry` program as users and scripts see it: the listening line,
//! exit codes, error text, files on disk.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use ferry_interop::Driver;

mod support;
use support::{ferry, stderr, Serve, FERRY};

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn get_and_put_through_the_binary(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let content = data(300_000);
    std::fs::create_dir(root.path().join("sub")).unwrap();
    std::fs::write(root.path().join("sub/file.bin"), &content).unwrap();
    let server = Serve::start(Some(driver), root.path(), &["--write"]);

    // Default output name: the URL's last component, in the current directory.
    let out = ferry(&["get", &server.url("sub/file.bin")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(work.path().join("file.bin")).unwrap() == content);

    // -o FILE with options.
    let out = ferry(
        &[
            "get",
            &server.url("sub/file.bin"),
            "-o",
            "copy",
            "--blksize",
            "1468",
            "--windowsize",
            "8",
        ],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(work.path().join("copy")).unwrap() == content);

    // -o - writes to stdout, nothing else on it.
    let out = ferry(
        &["get", &server.url("sub/file.bin"), "-o", "-"],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == content);

    // put, then the server has it byte for byte.
    let out = ferry(
        &[
            "put",
            "copy",
            &server.url("uploaded.bin"),
            "--blksize",
            "8192",
        ],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(root.path().join("uploaded.bin")).unwrap() == content);

    // A URL ending in '/' takes the local file's name.
    let out = ferry(&["put", "copy", &server.url("sub/")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(root.path().join("sub/copy")).unwrap() == content);
}

fn put_from_stdin(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let server = Serve::start(Some(driver), root.path(), &["--write"]);
    let mut child = Command::new(FERRY)
        .args(["put", "-", &server.url("piped")])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let content = data(100_000);
    child.stdin.take().unwrap().write_all(&content).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(root.path().join("piped")).unwrap() == content);
}

fn netascii_mode_through_the_binary(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let text = b"one\ntwo\r\nthree\rfour\n".repeat(100);
    std::fs::write(work.path().join("t.txt"), &text).unwrap();
    let server = Serve::start(Some(driver), root.path(), &["--write"]);
    let out = ferry(
        &["put", "t.txt", &server.url("t.txt"), "--mode", "netascii"],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(root.path().join("t.txt")).unwrap() == text);
    let out = ferry(
        &["get", &server.url("t.txt"), "-o", "-", "--mode", "netascii"],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == text);
}

fn server_errors_exit_1_with_the_servers_text(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("local"), b"x").unwrap();
    let server = Serve::start(Some(driver), root.path(), &[]);

    let out = ferry(&["get", &server.url("missing")], work.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim_end(),
        "ferry: server error 1: File not found"
    );
    assert!(
        std::fs::read_dir(work.path()).unwrap().count() == 1,
        "a failed get leaves no file"
    );

    // Read-only server: WRQ is an access violation.
    let out = ferry(&["put", "local", &server.url("x")], work.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("ferry: server error 2: "),
        "{}",
        stderr(&out)
    );
    assert!(!root.path().join("x").exists());
}

#[test]
fn bad_urls_and_usage_exit_2() {
    let work = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["get", "tftp://127.0.0.1:6969"][..], "missing file path"),
        (&["get", "127.0.0.1/x"][..], "missing scheme"),
        (&["get", "tftp://127.0.0.1:99999/x"][..], "bad port"),
        (&["get", "http://h/x"][..], "unsupported scheme"),
        (&["put", "f", "tftp://[::1/x"][..], "bad host"),
        (&["get", "tftp://127.0.0.1/x", "--blksize", "4"][..], "4"),
        (&["serve", "--driver", "threads"][..], "threads"),
        (&["serve", "--no-tftp", "--no-ftp"][..], "nothing to serve"),
        (&["frobnicate"][..], "frobnicate"),
        (
            &["put", "f", "tftp://127.0.0.1:6969/f", "--dally"][..],
            "--dally is for downloads",
        ),
    ] {
        let out = ferry(args, work.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

fn serve_prints_the_listening_line_and_a_log_line_per_transfer(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"hello").unwrap();
    let server = Serve::start(Some(driver), root.path(), &[]);
    let out = ferry(&["get", &server.url("f"), "-o", "-"], work.path());
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hello");
    server.wait_for_log("tftp transfer");
    let log = server.stop();
    let line = log
        .lines()
        .find(|l| l.contains("tftp transfer"))
        .unwrap_or_else(|| panic!("no transfer line in {log:?}"));
    for field in [
        "file=\"f\"",
        "op=\"read\"",
        "bytes=5",
        "outcome=\"ok\"",
        "blksize=512",
    ] {
        assert!(line.contains(field), "{field} missing from {line:?}");
    }
}

fn ftp_get_put_ls_through_the_binary(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let content = data(700_000);
    std::fs::create_dir(root.path().join("sub")).unwrap();
    std::fs::write(root.path().join("sub/file.bin"), &content).unwrap();
    let server = Serve::start(Some(driver), root.path(), &["--write"]);

    // Default output name, passive.
    let out = ferry(&["get", &server.ftp_url("sub/file.bin")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(work.path().join("file.bin")).unwrap() == content);

    // Active, to stdout.
    let out = ferry(
        &[
            "get",
            &server.ftp_url("sub/file.bin"),
            "-o",
            "-",
            "--active",
        ],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == content);

    // put into a directory URL takes the local name.
    let out = ferry(&["put", "file.bin", &server.ftp_url("sub/")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(root.path().join("sub/file.bin")).unwrap() == content);
    let out = ferry(
        &["put", "file.bin", &server.ftp_url("copy.bin"), "--active"],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(root.path().join("copy.bin")).unwrap() == content);

    // ls --names: one name a line, local line ends.
    let out = ferry(&["ls", "--names", &server.ftp_url("")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "copy.bin\nsub\n");
    let out = ferry(&["ls", &server.ftp_url("sub")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(
        listing.ends_with(" file.bin\n") && !listing.contains('\r'),
        "{listing:?}"
    );

    // A missing file: exit 1 with the server's reply, no local file.
    let out = ferry(&["get", &server.ftp_url("nope"), "-o", "nope"], work.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("ferry: server error 550"),
        "{}",
        stderr(&out)
    );
    assert!(!work.path().join("nope").exists());
}

/// A one-connection FTP server that asks for a password, refuses every
/// login, and returns the command lines it got.
fn refusing_server() -> (u16, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        writer.write_all(b"220 scripted\r\n").unwrap();
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            let reply: &[u8] = match line.split(' ').next() {
                Some("USER") => b"331 Password, please.\r\n",
                Some("PASS") => b"530 Login incorrect.\r\n",
                _ => b"500 Not here.\r\n",
            };
            lines.push(line);
            if writer.write_all(reply).is_err() {
                break;
            }
        }
        lines
    });
    (port, handle)
}

fn login_lines(url: impl Fn(u16) -> String, password_env: Option<&str>) -> Vec<String> {
    let work = tempfile::tempdir().unwrap();
    let (port, server) = refusing_server();
    let mut cmd = Command::new(FERRY);
    cmd.args(["get", &url(port), "-o", "-"])
        .current_dir(work.path())
        .stdin(Stdio::null())
        .env_remove("FERRY_PASSWORD");
    if let Some(password) = password_env {
        cmd.env("FERRY_PASSWORD", password);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        "ferry: server error 530: Login incorrect."
    );
    assert!(out.stdout.is_empty());
    server.join().unwrap()
}

#[test]
fn ftp_credentials_from_the_url_the_environment_or_anonymous() {
    // Percent-decoded from the URL, ahead of the environment.
    assert_eq!(
        login_lines(
            |p| format!("ftp://al%40ice:p%3As%20s@127.0.0.1:{p}/f"),
            Some("env")
        ),
        ["USER al@ice", "PASS p:s s"]
    );
    // No password in the URL: FERRY_PASSWORD.
    assert_eq!(
        login_lines(|p| format!("ftp://bob@127.0.0.1:{p}/f"), Some("from env")),
        ["USER bob", "PASS from env"]
    );
    // No user: anonymous, with FERRY_PASSWORD when given.
    assert_eq!(
        login_lines(|p| format!("ftp://127.0.0.1:{p}/f"), None),
        ["USER anonymous", "PASS ferry@"]
    );
    assert_eq!(
        login_lines(|p| format!("ftp://127.0.0.1:{p}/f"), Some("me@example")),
        ["USER anonymous", "PASS me@example"]
    );
    // A user, no password anywhere, no terminal to ask on: an empty one.
    let lines = login_lines(|p| format!("ftp://bob@127.0.0.1:{p}/f"), None);
    assert_eq!(lines[0], "USER bob");
    assert_eq!(lines[1].trim_end(), "PASS");
}

#[test]
fn ftp_usage_errors_exit_2() {
    let work = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["get", "ftp://127.0.0.1/dir/"][..], "names a directory"),
        (&["get", "ftp://127.0.0.1"][..], "names a directory"),
        (
            &["get", "ftp://127.0.0.1/f", "-o", "-", "--continue"][..],
            "--continue needs an output file",
        ),
        (
            &["get", "tftp://127.0.0.1/f", "--continue"][..],
            "--continue works with ftp:// URLs only",
        ),
        (&["ls", "tftp://127.0.0.1/f"][..], "ls works with ftp://"),
        (&["ls", "ftp://127.0.0.1:0/"][..], "bad port"),
        (&["ls", "ftp://u@/"][..], "missing host"),
        (&["get", "ftp://h/%zz"][..], "bad percent-encoding"),
        (
            &["put", "-", "ftp://127.0.0.1/dir/"][..],
            "names a directory",
        ),
        (
            &["get", "ftp://h/f", "--passive", "--active"][..],
            "cannot be used with",
        ),
        // STRU P has no Unix file form: not a value --stru takes.
        (&["get", "ftp://h/f", "--stru", "page"][..], "page"),
    ] {
        let out = ferry(args, work.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn ftp_connection_refused_exits_1() {
    let work = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = ferry(&["ls", &format!("ftp://127.0.0.1:{port}/")], work.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with(&format!("ferry: cannot connect to 127.0.0.1:{port}: ")),
        "{}",
        stderr(&out)
    );
}

fn passwd(args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = Command::new(FERRY);
    cmd.arg("passwd")
        .args(args)
        .stdin(Stdio::null())
        .env_remove("FERRY_PASSWORD");
    if let Some(password) = password {
        cmd.env("FERRY_PASSWORD", password);
    }
    cmd.output().unwrap()
}

#[test]
fn passwd_prints_a_users_file_line() {
    let out = passwd(&["alice", "--home", "/alice", "--write"], Some("pw"));
    assert!(out.status.success(), "{}", stderr(&out));
    let line = String::from_utf8(out.stdout).unwrap();
    assert!(line.starts_with("alice:$argon2id$"), "{line}");
    assert!(line.ends_with(":/alice:rw\n"), "{line}");
    let users = ferry_users::Users::parse(&line).unwrap();
    let alice = users.verify("alice", "pw").expect("the password verifies");
    assert!(alice.write);
    assert!(users.verify("alice", "other").is_none());

    // Read-only at the root by default.
    let out = passwd(&["bob"], Some("pw"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8(out.stdout).unwrap().ends_with(":/:ro\n"));
}

#[test]
fn passwd_usage_errors_exit_2() {
    for (args, password, needle) in [
        (&["a:b"][..], Some("pw"), "a:b"),
        (&["alice", "--home", "../x"][..], Some("pw"), "home"),
        (&["alice"][..], Some(""), "empty"),
        (&["alice"][..], None, "FERRY_PASSWORD"),
    ] {
        let out = passwd(args, password);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty());
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn serve_without_a_driver_flag_serves_both_protocols() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let content = data(100_000);
    std::fs::write(root.path().join("f"), &content).unwrap();
    let server = Serve::start(None, root.path(), &[]);
    let out = ferry(&["get", &server.url("f"), "-o", "-"], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == content, "tftp download differs");
    let out = ferry(&["get", &server.ftp_url("f"), "-o", "-"], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == content, "ftp download differs");
}

/// `ferry rm`, `mkdir` and `mv` on ferry's own server: each does what it
/// says, and a refusal exits 1 with the server's text.
fn ftp_rm_mkdir_mv_through_the_binary(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("dir")).unwrap();
    std::fs::write(root.path().join("dir/a.txt"), b"a").unwrap();
    let server = Serve::start(Some(driver), root.path(), &["--write"]);
    let ok = |args: &[&str]| {
        let out = ferry(args, work.path());
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    ok(&[
        "mkdir",
        &server.ftp_url("new"),
        &server.ftp_url("new/deeper"),
    ]);
    assert!(root.path().join("new/deeper").is_dir());
    // Beside the first, then from the root, then to a full URL.
    ok(&["mv", &server.ftp_url("dir/a.txt"), "b.txt"]);
    assert_eq!(std::fs::read(root.path().join("dir/b.txt")).unwrap(), b"a");
    ok(&["mv", &server.ftp_url("dir/b.txt"), "/new/c.txt"]);
    ok(&["mv", &server.ftp_url("new/c.txt"), &server.ftp_url("d.txt")]);
    assert_eq!(std::fs::read(root.path().join("d.txt")).unwrap(), b"a");
    ok(&[
        "rm",
        &server.ftp_url("d.txt"),
        &server.ftp_url("new/deeper/"),
    ]);
    assert!(!root.path().join("d.txt").exists());
    assert!(!root.path().join("new/deeper").exists());
    for args in [
        &["rm", &server.ftp_url("d.txt")][..],
        &["rm", &server.ftp_url("nothing/")],
        &["mv", &server.ftp_url("d.txt"), "e.txt"],
        &["mkdir", &server.ftp_url("new")],
    ] {
        let out = ferry(args, work.path());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).starts_with("ferry: server error 550"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = ferry(&["rm", &server.url("x")], work.path());
    assert_eq!(out.status.code(), Some(2), "rm tftp://");
}

/// `ls -1` prints names as given (without the `dir/` ferry's NLST
/// puts in front), `ls -R` every directory under a header, `ls -l` the
/// long listing, and a reader that stops early (`| head`) ends ferry
/// quietly with 141.
fn ftp_ls_forms_through_the_binary(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("dir/sub")).unwrap();
    std::fs::write(root.path().join("dir/a b.txt"), b"a").unwrap();
    std::fs::write(root.path().join("dir/sub/c.txt"), b"c").unwrap();
    for i in 0..4000 {
        std::fs::write(
            root.path().join(format!("many-{i:05}-padding-padding.dat")),
            b"",
        )
        .unwrap();
    }
    let server = Serve::start(Some(driver), root.path(), &[]);
    for url in [server.ftp_url("dir/"), server.ftp_url("dir")] {
        let out = ferry(&["ls", "-1", &url], work.path());
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "a b.txt\nsub\n",
            "{url}"
        );
    }
    let out = ferry(&["ls", "-R", "-1", &server.ftp_url("dir/")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "dir:\na b.txt\nsub\n\ndir/sub:\nc.txt\n"
    );
    let out = ferry(&["ls", "-l", "-R", &server.ftp_url("dir")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.starts_with("dir:\n-rw-r--r--"), "{listing}");
    assert!(listing.contains("\n\ndir/sub:\n-rw-r--r--"), "{listing}");
    assert!(listing.ends_with(" c.txt\n"), "{listing}");

    // A listing far larger than a pipe's buffer, read for one line.
    for names in [false, true] {
        let mut command = Command::new(FERRY);
        command
            .arg("ls")
            .args(names.then_some("-1"))
            .arg(server.ftp_url(""));
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(!first.is_empty());
        assert_eq!(out.status.code(), Some(141), "names {names}");
        assert_eq!(stderr(&out), "", "names {names}: quiet");
    }
}

/// `-u user:password` logs in as curl's does, over the URL's own user;
/// `-u user` takes the password from FERRY_PASSWORD. `get` gives the file
/// the remote modification time unless `--no-remote-time`.
fn ftp_user_flag_and_remote_time(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let users = work.path().join("users");
    let line = Command::new(FERRY)
        .args(["passwd", "alice"])
        .env("FERRY_PASSWORD", "s3cret")
        .output()
        .unwrap();
    std::fs::write(&users, &line.stdout).unwrap();
    let file = root.path().join("old.bin");
    std::fs::write(&file, b"old").unwrap();
    let then = std::time::UNIX_EPOCH + Duration::from_secs(1_577_934_245);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(then)
        .unwrap();
    let server = Serve::start(
        Some(driver),
        root.path(),
        &["--users", users.to_str().unwrap()],
    );
    let url = format!("ftp://bob:wrong@127.0.0.1:{}/old.bin", server.ftp_port);
    let out = ferry(&["get", "-u", "alice:s3cret", &url], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let got = work.path().join("old.bin");
    assert_eq!(std::fs::read(&got).unwrap(), b"old");
    assert_eq!(std::fs::metadata(&got).unwrap().modified().unwrap(), then);

    let out = Command::new(FERRY)
        .args(["get", "--no-remote-time", "-u", "alice", "-o", "new.bin"])
        .arg(server.ftp_url("old.bin"))
        .env("FERRY_PASSWORD", "s3cret")
        .current_dir(work.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let modified = std::fs::metadata(work.path().join("new.bin"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(modified > then + Duration::from_secs(86_400));

    let out = ferry(
        &["ls", "-u", "alice:nope", &server.ftp_url("")],
        work.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("530"), "{}", stderr(&out));
}

/// Several URLs in one `get`, and a pattern in the last component matched
/// from the listing; a name that is exactly the pattern is that file; no
/// match exits 1. Several TFTP URLs as well.
fn get_several_urls_and_patterns(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("pub")).unwrap();
    for name in ["a.iso", "b.iso", "c.txt", "lit*.iso", ".hidden.iso"] {
        std::fs::write(root.path().join("pub").join(name), name.as_bytes()).unwrap();
    }
    let server = Serve::start(Some(driver), root.path(), &[]);
    let read = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for name in &names {
            assert_eq!(std::fs::read(dir.join(name)).unwrap(), name.as_bytes());
        }
        names
    };
    let out = ferry(&["get", &server.ftp_url("pub/[ab].iso")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(work.path()), ["a.iso", "b.iso"]);

    let into = work.path().join("into");
    std::fs::create_dir(&into).unwrap();
    let out = ferry(
        &[
            "get",
            "-o",
            "into",
            &server.ftp_url("pub/c.txt"),
            &server.ftp_url("pub/lit*.iso"),
            &server.url("pub/a.iso"),
        ],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(read(&into), ["a.iso", "c.txt", "lit*.iso"]);

    let out = ferry(&["get", &server.ftp_url("pub/*.zip")], work.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no file matches /pub/*.zip"),
        "{}",
        stderr(&out)
    );
    let out = ferry(
        &["get", "-o", "x", &server.ftp_url("pub/*.iso")],
        work.path(),
    );
    assert_eq!(out.status.code(), Some(2), "-o FILE with several files");
}

/// With the bar forced on (FERRY_PROGRESS=1), a finished transfer
/// leaves one summary line on stderr, and never a bare `0/0` frame; the
/// bar is off by default when nothing is a terminal.
fn progress_leaves_one_summary_line(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f.bin"), data(300_000)).unwrap();
    let server = Serve::start(Some(driver), root.path(), &[]);
    for url in [server.ftp_url("f.bin"), server.url("f.bin")] {
        let out = Command::new(FERRY)
            .args(["-q", "get", "-o", "out.bin", &url])
            .env("FERRY_PROGRESS", "1")
            .current_dir(work.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(!err.contains("0/0"), "{err:?}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{err:?}");
        assert!(
            lines[0].starts_with("300000 bytes (292.97 KiB) in ") && lines[0].ends_with("/s"),
            "{err:?}"
        );
        let out = ferry(&["-q", "get", "-o", "out.bin", &url], work.path());
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            stderr(&out)
        );
    }
}

/// `get -r` copies a tree byte for byte with the remote times (MLSD's
/// `modify`), on several connections with `--parallel`; `--newer` leaves
/// files that already have the remote size and time.
fn get_recursive_keeps_times_and_skips_with_newer(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let then = std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let mut files = Vec::new();
    for (i, name) in [
        "tree/a.bin",
        "tree/sub/b c.bin",
        "tree/sub/deeper/d.bin",
        "tree/e.bin",
    ]
    .into_iter()
    .enumerate()
    {
        let path = root.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, data(1000 * i + 7)).unwrap();
        let when = then + Duration::from_secs(i as u64 * 60);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
        files.push((
            name.strip_prefix("tree/").unwrap(),
            data(1000 * i + 7),
            when,
        ));
    }
    std::fs::create_dir(root.path().join("tree/empty")).unwrap();
    let server = Serve::start(Some(driver), root.path(), &[]);
    let out = ferry(
        &[
            "get",
            "-r",
            "--parallel",
            "3",
            &server.ftp_url("tree/"),
            "copy",
        ],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = work.path().join("copy");
    for (name, content, when) in &files {
        let path = copy.join(name);
        assert!(std::fs::read(&path).unwrap() == *content, "{name} differs");
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            *when,
            "{name}"
        );
    }
    assert!(copy.join("empty").is_dir());

    // Same size and time: --newer leaves the local bytes as they are.
    let a = copy.join("a.bin");
    std::fs::write(&a, vec![b'x'; 7]).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&a)
        .unwrap()
        .set_modified(then)
        .unwrap();
    let out = ferry(
        &["get", "-r", "--newer", &server.ftp_url("tree/"), "copy"],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&a).unwrap(), vec![b'x'; 7]);
    let out = ferry(
        &["get", "-r", &server.ftp_url("tree/"), "copy"],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&a).unwrap() == data(7));
    // The default destination is the remote directory's name.
    let out = ferry(&["get", "-r", &server.ftp_url("tree/sub/")], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(work.path().join("sub/deeper/d.bin")).unwrap() == data(2007));
}

/// `put -r` sends a tree byte for byte, makes its directories, sets each
/// file's time with MFMT (ferry lists it in FEAT), and with `--newer`
/// leaves the files the server has with the same size and time.
fn put_recursive_keeps_times_and_skips_with_newer(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let then = std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    let mut files = Vec::new();
    for (i, name) in ["a.bin", "sub/b c.bin", "sub/deeper/d.bin"]
        .into_iter()
        .enumerate()
    {
        let path = work.path().join("src").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, data(3000 * i + 5)).unwrap();
        let when = then + Duration::from_secs(i as u64 * 3600);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
        files.push((name, data(3000 * i + 5), when));
    }
    std::fs::create_dir(root.path().join("up")).unwrap();
    let server = Serve::start(Some(driver), root.path(), &["--write"]);
    let out = ferry(
        &[
            "put",
            "-r",
            "--parallel",
            "2",
            "src",
            &server.ftp_url("up/tree/"),
        ],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let tree = root.path().join("up/tree");
    for (name, content, when) in &files {
        let path = tree.join(name);
        assert!(std::fs::read(&path).unwrap() == *content, "{name} differs");
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            *when,
            "{name}"
        );
    }
    let a = tree.join("a.bin");
    std::fs::write(&a, vec![b'x'; 5]).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&a)
        .unwrap()
        .set_modified(then)
        .unwrap();
    let out = ferry(
        &["put", "-r", "--newer", "src", &server.ftp_url("up/tree/")],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&a).unwrap(), vec![b'x'; 5]);
    let out = ferry(
        &["put", "-r", "src", &server.ftp_url("up/tree/")],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(&a).unwrap() == data(5));
}

// The tests above that start `ferry serve` run once per driver.
ferry_interop::driver_tests!(
    get_and_put_through_the_binary,
    put_from_stdin,
    netascii_mode_through_the_binary,
    server_errors_exit_1_with_the_servers_text,
    serve_prints_the_listening_line_and_a_log_line_per_transfer,
    ftp_get_put_ls_through_the_binary,
    ftp_rm_mkdir_mv_through_the_binary,
    ftp_ls_forms_through_the_binary,
    ftp_user_flag_and_remote_time,
    get_several_urls_and_patterns,
    progress_leaves_one_summary_line,
    get_recursive_keeps_times_and_skips_with_newer,
    put_recursive_keeps_times_and_skips_with_newer,
);
