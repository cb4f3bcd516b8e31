//! FTPS (RFC 4217) for the interop tests: a self-signed certificate made
//! for each test, `ferry serve` with TLS on (explicit on the FTP port,
//! optionally an implicit-TLS listener too), and Python scripts run
//! inline with `python3 -c`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::{ferry, find_program, run, temp_dir, Driver, Finished, Reaped, PEER_TIMEOUT};

/// A self-signed certificate for 127.0.0.1 and `localhost` with its key,
/// as `cert.pem` and `key.pem` in a temporary directory of their own.
pub struct Certs {
    dir: tempfile::TempDir,
    fingerprint: String,
}

impl Certs {
    /// Generates a fresh pair (`ferry_tls::generate_self_signed`, what
    /// `ferry cert` writes).
    pub fn generate() -> Certs {
        let hosts = ["127.0.0.1".to_owned(), "localhost".to_owned()];
        let (cert, key, fingerprint) =
            ferry_tls::generate_self_signed(&hosts).expect("generate a self-signed certificate");
        let dir = temp_dir("certs");
        std::fs::write(dir.path().join("cert.pem"), cert).expect("write cert.pem");
        std::fs::write(dir.path().join("key.pem"), key).expect("write key.pem");
        Certs { dir, fingerprint }
    }

    /// The certificate (PEM): also what a client trusts with `--cacert`.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The private key (PEM).
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// SHA-256 of the certificate, `AB:CD:...`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// How a [`FtpsServer`] is started, beyond TLS on its FTP port.
#[derive(Debug, Clone, Copy, Default)]
pub struct FtpsOptions {
    /// `--ftps 127.0.0.1:0`: an implicit-TLS listener as well.
    pub implicit: bool,
    /// `--write`.
    pub write: bool,
    /// `--require-tls`.
    pub require_tls: bool,
    /// `--tls-require-reuse`.
    pub require_reuse: bool,
}

/// `ferry serve --tls-cert --tls-key` with FTP only on 127.0.0.1, killed
/// when dropped.
pub struct FtpsServer {
    child: Reaped,
    ftp: SocketAddr,
    ftps: Option<SocketAddr>,
    log: Arc<Mutex<String>>,
    certs: Certs,
}

impl FtpsServer {
    /// Starts `ferry serve --driver DRIVER --root ROOT --ftp 127.0.0.1:0
    /// --no-tftp --tls-cert CERT --tls-key KEY` with `options`, and waits
    /// for its `ferry: ftp listening on ADDR` line (and `ferry: ftps
    /// listening on ADDR` when implicit).
    pub fn start(driver: Driver, root: &Path, options: FtpsOptions) -> FtpsServer {
        let certs = Certs::generate();
        let mut cmd = ferry();
        cmd.arg("serve")
            .args(["--driver", driver.name()])
            .arg("--root")
            .arg(root)
            .args(["--ftp", "127.0.0.1:0", "--no-tftp"])
            .arg("--tls-cert")
            .arg(certs.cert())
            .arg("--tls-key")
            .arg(certs.key());
        if options.implicit {
            cmd.args(["--ftps", "127.0.0.1:0"]);
        }
        if options.write {
            cmd.arg("--write");
        }
        if options.require_tls {
            cmd.arg("--require-tls");
        }
        if options.require_reuse {
            cmd.arg("--tls-require-reuse");
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ferry serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let child = Reaped(child);
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            // Drain stderr for the server's whole life so that its log
            // lines never block it on a full pipe.
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    for (service, prefix) in [
                        ("ftp", "ferry: ftp listening on "),
                        ("ftps", "ferry: ftps listening on "),
                    ] {
                        if let Some(addr) = line.strip_prefix(prefix) {
                            let _ = tx.send((service, addr.trim().to_owned()));
                        }
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let (mut ftp, mut ftps) = (None, None);
        while ftp.is_none() || (options.implicit && ftps.is_none()) {
            let Ok((service, addr)) = rx.recv_timeout(Duration::from_secs(20)) else {
                panic!(
                    "ferry serve did not announce its listeners\nstderr: {}",
                    log.lock().unwrap()
                );
            };
            let addr: SocketAddr = addr
                .parse()
                .unwrap_or_else(|e| panic!("bad listening address {addr:?}: {e}"));
            match service {
                "ftp" => ftp = Some(addr),
                _ => ftps = Some(addr),
            }
        }
        FtpsServer {
            child,
            ftp: ftp.expect("loop ends with it"),
            ftps,
            log,
            certs,
        }
    }

    /// The FTP port (explicit FTPS: AUTH TLS).
    pub fn addr(&self) -> SocketAddr {
        self.ftp
    }

    pub fn port(&self) -> u16 {
        self.ftp.port()
    }

    /// The implicit-TLS port; panics unless started with `implicit`.
    pub fn ftps_addr(&self) -> SocketAddr {
        self.ftps.expect("started with FtpsOptions::implicit")
    }

    /// `ftp://127.0.0.1:PORT/path` (anonymous; explicit FTPS with curl's
    /// `--ssl-reqd`).
    pub fn url(&self, path: &str) -> String {
        format!("ftp://{}/{}", self.ftp, path)
    }

    /// `ftps://127.0.0.1:PORT/path` on the implicit listener.
    pub fn ftps_url(&self, path: &str) -> String {
        format!("ftps://{}/{}", self.ftps_addr(), path)
    }

    /// The certificate the server presents.
    pub fn certs(&self) -> &Certs {
        &self.certs
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Whether the server process is still running.
    pub fn running(&mut self) -> bool {
        self.child.0.try_wait().ok().flatten().is_none()
    }
}

/// `python3 -c SCRIPT ARGS...` to completion, with [`PEER_TIMEOUT`].
pub fn python(script: &str, args: &[&str]) -> Finished {
    python_within(script, args, PEER_TIMEOUT)
}

/// [`python`] with a deadline of its own.
pub fn python_within(script: &str, args: &[&str], timeout: Duration) -> Finished {
    let python3 = find_program("python3").expect("peer checked by require_peer! first");
    run(
        Command::new(python3)
            .arg("-c")
            .arg(script)
            .args(args)
            .env("PYTHONUNBUFFERED", "1"),
        timeout,
    )
}

/// Whether `python3` can import `module` (pyftpdlib, OpenSSL).
pub fn python_has(module: &str) -> bool {
    find_program("python3").is_some_and(|python3| {
        Command::new(python3)
            .args(["-c", &format!("import {module}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// [`curl`](crate::curl) requiring explicit FTPS (AUTH TLS) of the server,
/// accepting the test's self-signed certificate (`-k`) and tracing the
/// dialogue (`-v`), so a test can check every byte moved under TLS.
pub fn curl_tls(max_time: u32) -> Command {
    let mut cmd = crate::curl(max_time);
    cmd.args(["-v", "--ssl-reqd", "-k"]);
    cmd
}
