//! The `ferry` program as users and scripts see it: the listening line,
//! exit codes, error text, files on disk.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// `ferry serve` on an ephemeral port, stopped when dropped.
struct Serve {
    child: Child,
    port: u16,
    drain: Option<thread::JoinHandle<String>>,
}

impl Serve {
    fn start(root: &Path, extra: &[&str]) -> Serve {
        let mut child = Command::new(FERRY)
            .args([
                "serve",
                "--tftp",
                "127.0.0.1:0",
                "--no-ftp",
                "--driver",
                "blocking",
            ])
            .arg("--root")
            .arg(root)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let addr = line
            .trim_end()
            .strip_prefix("ferry: tftp listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let port = addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
        assert!(addr.starts_with("127.0.0.1:") && port != 0, "{addr}");
        // Keep draining the log so the server never blocks on a full pipe.
        let drain = thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            rest
        });
        Serve {
            child,
            port,
            drain: Some(drain),
        }
    }

    /// Stop the server and return what it logged after the first line.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.drain.take().unwrap().join().unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("tftp://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ferry(args: &[&str], cwd: &Path) -> Output {
    Command::new(FERRY)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn get_and_put_through_the_binary() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let content = data(300_000);
    std::fs::create_dir(root.path().join("sub")).unwrap();
    std::fs::write(root.path().join("sub/file.bin"), &content).unwrap();
    let server = Serve::start(root.path(), &["--write"]);

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

#[test]
fn put_from_stdin() {
    let root = tempfile::tempdir().unwrap();
    let server = Serve::start(root.path(), &["--write"]);
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

#[test]
fn netascii_mode_through_the_binary() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let text = b"one\ntwo\r\nthree\rfour\n".repeat(100);
    std::fs::write(work.path().join("t.txt"), &text).unwrap();
    let server = Serve::start(root.path(), &["--write"]);
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

#[test]
fn server_errors_exit_1_with_the_servers_text() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("local"), b"x").unwrap();
    let server = Serve::start(root.path(), &[]);

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
        (
            &["get", "ftp://127.0.0.1/x"][..],
            "ftp:// is not supported yet",
        ),
        (&["put", "f", "tftp://[::1/x"][..], "bad host"),
        (&["get", "tftp://127.0.0.1/x", "--blksize", "4"][..], "4"),
        (
            &["serve", "--driver", "mio"][..],
            "the mio driver is not available yet",
        ),
        (&["serve", "--no-tftp"][..], "nothing to serve"),
        (&["frobnicate"][..], "frobnicate"),
    ] {
        let out = ferry(args, work.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn serve_prints_the_listening_line_and_a_log_line_per_transfer() {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"hello").unwrap();
    let server = Serve::start(root.path(), &[]);
    let out = ferry(&["get", &server.url("f"), "-o", "-"], work.path());
    assert!(out.status.success());
    assert_eq!(out.stdout, b"hello");
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
