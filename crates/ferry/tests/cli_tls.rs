//! FTPS through the `ferry` program: `ferry cert`, `ferry serve
//! --tls-cert/--tls-key/--ftps`, and `ferry get|put|ls --tls` / `ftps://`
//! with `--cacert` and `--insecure`, as users and scripts see them: the
//! printed lines, exit codes, files on disk byte for byte.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ferry_interop::Driver;

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

fn ferry(args: &[&str], cwd: &Path) -> Output {
    Command::new(FERRY)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// The fingerprint in a `... sha256 AB:CD:...` line of `text`.
fn fingerprint_in(text: &str) -> String {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ferry: tls certificate sha256 "))
        .unwrap_or_else(|| panic!("no fingerprint line in {text:?}"));
    let print = line.trim().to_owned();
    assert_eq!(print.len(), 32 * 3 - 1, "{print}");
    assert!(
        print
            .split(':')
            .all(|pair| pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit())),
        "{print}"
    );
    print
}

/// `ferry cert --out DIR/tls`, checked; returns (cert, key, fingerprint).
fn make_cert(dir: &Path) -> (PathBuf, PathBuf, String) {
    let out = ferry(&["cert", "--out", "tls"], dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let tls = dir.join("tls");
    (
        tls.join("cert.pem"),
        tls.join("key.pem"),
        fingerprint_in(&stdout(&out)),
    )
}

/// `ferry serve` with FTP (and optionally implicit FTPS) on ephemeral
/// ports of 127.0.0.1 and a certificate, killed when dropped.
struct Serve {
    child: Child,
    ftp: SocketAddr,
    ftps: Option<SocketAddr>,
    /// The lines printed before the listeners were up.
    head: Vec<String>,
}

impl Serve {
    fn start(driver: Driver, root: &Path, cert: &Path, key: &Path, extra: &[&str]) -> Serve {
        let mut child = Command::new(FERRY)
            .args(["serve", "--driver", driver.name(), "--no-tftp"])
            .args(["--ftp", "127.0.0.1:0"])
            .arg("--root")
            .arg(root)
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .args(extra)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let implicit = extra.contains(&"--ftps");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Keep draining the log so the server never blocks on a full pipe.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut ftp, mut ftps, mut head) = (None, None, Vec::new());
        while ftp.is_none() || (implicit && ftps.is_none()) {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no listening lines; so far: {head:?}"));
            let addr = |prefix: &str| -> Option<SocketAddr> {
                let addr: SocketAddr = line.strip_prefix(prefix)?.trim().parse().unwrap();
                assert!(addr.ip().is_loopback() && addr.port() != 0, "{line}");
                Some(addr)
            };
            if let Some(a) = addr("ferry: ftp listening on ") {
                ftp = Some(a);
            }
            if let Some(a) = addr("ferry: ftps listening on ") {
                ftps = Some(a);
            }
            head.push(line);
        }
        // The rest of the log is not looked at; drain it in the background.
        thread::spawn(move || while rx.recv().is_ok() {});
        Serve {
            child,
            ftp: ftp.unwrap(),
            ftps,
            head,
        }
    }

    fn ftp_url(&self, path: &str) -> String {
        format!("ftp://127.0.0.1:{}/{path}", self.ftp.port())
    }

    fn ftps_url(&self, path: &str) -> String {
        format!("ftps://127.0.0.1:{}/{path}", self.ftps.unwrap().port())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A served root with a file `f`, a working directory, a certificate.
struct Setup {
    root: tempfile::TempDir,
    work: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    fingerprint: String,
    content: Vec<u8>,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (cert, key, fingerprint) = make_cert(work.path());
    // Several TLS records' worth, with a ragged end.
    let content = data(300_001);
    std::fs::write(root.path().join("f"), &content).unwrap();
    Setup {
        root,
        work,
        cert,
        key,
        fingerprint,
        content,
    }
}

impl Setup {
    fn serve(&self, driver: Driver, extra: &[&str]) -> Serve {
        Serve::start(driver, self.root.path(), &self.cert, &self.key, extra)
    }

    fn cacert(&self) -> &str {
        self.cert.to_str().unwrap()
    }
}

fn which(program: &str) -> bool {
    Command::new(program)
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

#[test]
fn serve_help_lists_the_ftps_flags() {
    let out = ferry(&["serve", "--help"], Path::new("."));
    assert!(out.status.success());
    let help = stdout(&out);
    for flag in [
        "--tls-cert <FILE>",
        "--tls-key <FILE>",
        "--ftps <ADDR>",
        "--require-tls",
        "--tls-require-reuse",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let out = ferry(&["get", "--help"], Path::new("."));
    let help = stdout(&out);
    for flag in ["--tls", "--insecure", "-k", "--cacert <FILE>", "ftps://"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn cert_writes_a_pair_and_prints_its_fingerprint() {
    let work = tempfile::tempdir().unwrap();
    let out = ferry(&["cert", "--out", "tls"], work.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let print = fingerprint_in(&text);
    let (cert, key) = (
        work.path().join("tls/cert.pem"),
        work.path().join("tls/key.pem"),
    );
    assert!(
        text.contains("tls/cert.pem") && text.contains("tls/key.pem"),
        "{text}"
    );
    let cert_pem = std::fs::read_to_string(&cert).unwrap();
    let key_pem = std::fs::read_to_string(&key).unwrap();
    assert!(
        cert_pem.starts_with("-----BEGIN CERTIFICATE-----"),
        "{cert_pem}"
    );
    assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key mode {mode:o}");
    }

    if which("openssl") {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        // "sha256 Fingerprint=AB:CD:..." (the label's case varies by version).
        let openssl = stdout(&out);
        let theirs = openssl.trim().rsplit('=').next().unwrap();
        assert_eq!(theirs, print);
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        let text = stdout(&out);
        assert!(
            text.contains("DNS:localhost") && text.contains("IP Address:127.0.0.1"),
            "{text}"
        );
    }

    // An existing pair is not replaced without --force: exit 2, nothing
    // touched.
    let out = ferry(&["cert", "--out", "tls"], work.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tls/cert.pem exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&cert).unwrap(), cert_pem);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), key_pem);
    // Only the key there: still refused, and no certificate is written.
    std::fs::remove_file(&cert).unwrap();
    let out = ferry(&["cert", "--out", "tls"], work.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tls/key.pem exists"),
        "{}",
        stderr(&out)
    );
    assert!(!cert.exists());

    let out = ferry(
        &["cert", "--out", "tls", "--force", "--host", "files.example"],
        work.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(fingerprint_in(&stdout(&out)), print);
    assert_ne!(std::fs::read_to_string(&key).unwrap(), key_pem);
    if which("openssl") {
        let out = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&cert)
            .output()
            .unwrap();
        let text = stdout(&out);
        assert!(text.contains("DNS:files.example"), "{text}");
        assert!(!text.contains("DNS:localhost"), "{text}");
    }
}

#[test]
fn serve_refuses_bad_tls_flags_and_files_with_exit_2() {
    let work = tempfile::tempdir().unwrap();
    let (cert, key, _) = make_cert(work.path());
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", "--ftp", "127.0.0.1:0", "--tftp", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        ferry(&args, work.path())
    };
    // Flags that need the certificate, without it.
    for extra in [
        &["--ftps", "127.0.0.1:0"][..],
        &["--require-tls"],
        &["--tls-require-reuse"],
        &["--tls-cert", cert],
        &["--tls-key", key],
    ] {
        let out = serve(extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
    }
    // Files that cannot be used: the message names the flag and the file.
    let missing = work.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    for (extra, named) in [
        (["--tls-cert", missing, "--tls-key", key], "--tls-cert"),
        (["--tls-cert", cert, "--tls-key", missing], "--tls-key"),
        (["--tls-cert", key, "--tls-key", key], "--tls-cert"),
        (["--tls-cert", cert, "--tls-key", cert], "--tls-key"),
    ] {
        let out = serve(&extra);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        let file = if named == "--tls-cert" {
            extra[1]
        } else {
            extra[3]
        };
        assert!(err.contains(&format!("{named} {file}")), "{extra:?}: {err}");
        assert!(!err.contains("listening"), "{err}");
    }
    // A key of another certificate.
    let other = tempfile::tempdir().unwrap();
    let (_, other_key, _) = make_cert(other.path());
    let out = serve(&["--tls-cert", cert, "--tls-key", other_key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(cert), "{}", stderr(&out));
}

fn serve_prints_the_fingerprint_and_the_ftps_listener(driver: Driver) {
    let s = setup();
    let server = s.serve(driver, &["--ftps", "127.0.0.1:0"]);
    assert_eq!(server.head.len(), 3, "{:?}", server.head);
    assert_eq!(
        server.head[0],
        format!("ferry: tls certificate sha256 {}", s.fingerprint)
    );
    assert!(server.head[1].starts_with("ferry: ftp listening on 127.0.0.1:"));
    assert!(server.head[2].starts_with("ferry: ftps listening on 127.0.0.1:"));
    assert_ne!(server.ftp, server.ftps.unwrap());
}

fn explicit_get_put_ls_with_cacert(driver: Driver) {
    let s = setup();
    let server = s.serve(driver, &["--write", "--require-tls"]);
    let work = s.work.path();
    let out = ferry(
        &["get", "--tls", "--cacert", s.cacert(), &server.ftp_url("f")],
        work,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read(work.join("f")).unwrap() == s.content,
        "download differs"
    );

    let out = ferry(
        &[
            "get",
            "--tls",
            "--cacert",
            s.cacert(),
            &server.ftp_url("f"),
            "-o",
            "-",
        ],
        work,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == s.content, "download to stdout differs");

    let up = data(70_000);
    std::fs::write(work.join("up"), &up).unwrap();
    let out = ferry(
        &[
            "put",
            "--tls",
            "--cacert",
            s.cacert(),
            "up",
            &server.ftp_url("sent"),
        ],
        work,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read(s.root.path().join("sent")).unwrap() == up,
        "upload differs"
    );

    let out = ferry(
        &[
            "ls",
            "-1",
            "--tls",
            "--cacert",
            s.cacert(),
            &server.ftp_url(""),
        ],
        work,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<_> = stdout(&out).lines().map(str::to_owned).collect();
    names.sort();
    assert_eq!(names, ["f", "sent"]);

    // The same server refuses a clear login (--require-tls): exit 1 with
    // its text.
    let out = ferry(&["get", &server.ftp_url("f"), "-o", "clear"], work);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!work.join("clear").exists());
}

fn an_unknown_certificate_fails_with_exit_1_and_no_file(driver: Driver) {
    let s = setup();
    let server = s.serve(driver, &["--ftps", "127.0.0.1:0"]);
    let work = s.work.path();
    for url in [server.ftp_url("f"), server.ftps_url("f")] {
        let out = ferry(&["get", "--tls", &url, "-o", "got"], work);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{url}: {err}");
        assert!(err.contains("certificate"), "{url}: {err}");
        assert!(!work.join("got").exists(), "{url}: output written");
    }
    // A trusted certificate, but not the server's: the server's is not
    // signed by it (and is for other names).
    let other = tempfile::tempdir().unwrap();
    let out = ferry(
        &["cert", "--out", ".", "--host", "files.example"],
        other.path(),
    );
    assert!(out.status.success());
    let out = ferry(
        &[
            "get",
            "--tls",
            "--cacert",
            other.path().join("cert.pem").to_str().unwrap(),
            &server.ftp_url("f"),
            "-o",
            "got",
        ],
        work,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("certificate"), "{err}");
    assert!(!work.join("got").exists());
}

fn insecure_skips_the_certificate_check(driver: Driver) {
    let s = setup();
    let server = s.serve(driver, &[]);
    let work = s.work.path();
    for flag in ["--insecure", "-k"] {
        let out = ferry(
            &["get", "--tls", flag, &server.ftp_url("f"), "-o", "-"],
            work,
        );
        assert!(out.status.success(), "{flag}: {}", stderr(&out));
        assert!(out.stdout == s.content, "{flag}: download differs");
    }
}

fn implicit_ftps_urls(driver: Driver) {
    let s = setup();
    let server = s.serve(driver, &["--ftps", "127.0.0.1:0", "--write"]);
    let work = s.work.path();
    let out = ferry(
        &[
            "get",
            "--cacert",
            s.cacert(),
            &server.ftps_url("f"),
            "-o",
            "got",
        ],
        work,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        std::fs::read(work.join("got")).unwrap() == s.content,
        "download differs"
    );
    let out = ferry(&["put", "-k", "got", &server.ftps_url("back")], work);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::read(s.root.path().join("back")).unwrap() == s.content);
    let out = ferry(&["ls", "-1", "-k", &server.ftps_url("")], work);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).lines().any(|l| l == "back"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn tls_against_a_clear_only_server_fails_with_exit_1() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"x").unwrap();
    let mut child = Command::new(FERRY)
        .args(["serve", "--ftp", "127.0.0.1:0", "--no-tftp", "--root"])
        .arg(root.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr_pipe.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("ferry: ftp listening on ")
        .unwrap()
        .to_owned();
    thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr_pipe.read_to_string(&mut rest);
    });
    let work = tempfile::tempdir().unwrap();
    let out = ferry(
        &[
            "get",
            "--tls",
            "-k",
            &format!("ftp://{addr}/f"),
            "-o",
            "got",
        ],
        work.path(),
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!work.path().join("got").exists());
}

#[test]
fn tls_flags_with_tftp_urls_are_usage_errors() {
    let work = tempfile::tempdir().unwrap();
    for args in [
        &["get", "--tls", "tftp://127.0.0.1:1/f"][..],
        &["get", "-k", "tftp://127.0.0.1:1/f"],
        &["get", "--cacert", "c.pem", "tftp://127.0.0.1:1/f"],
        &["put", "--tls", "x", "tftp://127.0.0.1:1/f"],
    ] {
        let out = ferry(args, work.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}

// The tests above that start `ferry serve` run once per driver.
ferry_interop::driver_tests!(
    serve_prints_the_fingerprint_and_the_ftps_listener,
    explicit_get_put_ls_with_cacert,
    an_unknown_certificate_fails_with_exit_1_and_no_file,
    insecure_skips_the_certificate_check,
    implicit_ftps_urls,
);
