//! What the CLI test binaries share: `ferry serve` on ephemeral ports
//! and running the built `ferry`. Each binary uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ferry_interop::Driver;

pub const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// `ferry serve` with FTP and TFTP on ephemeral ports, stopped when
/// dropped.
pub struct Serve {
    child: Child,
    pub port: u16,
    pub ftp_port: u16,
    /// What the server logged after the listening lines, so far.
    log: Arc<Mutex<String>>,
    drain: Option<thread::JoinHandle<()>>,
}

impl Serve {
    /// `ferry serve --driver DRIVER ...`; `None` leaves the driver to
    /// the default.
    pub fn start(driver: Option<Driver>, root: &Path, extra: &[&str]) -> Serve {
        let mut command = Command::new(FERRY);
        command
            .args(["serve", "--tftp", "127.0.0.1:0", "--ftp", "127.0.0.1:0"])
            .args(driver.map(|d| ["--driver", d.name()]).into_iter().flatten())
            .arg("--root")
            .arg(root)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        Serve::spawn(command)
    }

    /// Spawns `command` (a `ferry serve` with its stdin and stdout set)
    /// and waits for its FTP and TFTP listening lines, on 127.0.0.1.
    pub fn spawn(mut command: Command) -> Serve {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut port_after = |prefix: &str| {
            let mut line = String::new();
            stderr.read_line(&mut line).unwrap();
            // With a certificate, its fingerprint comes first.
            if line.starts_with("ferry: tls certificate sha256 ") {
                line.clear();
                stderr.read_line(&mut line).unwrap();
            }
            let addr = line
                .trim_end()
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
                .to_owned();
            let port = addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
            assert!(addr.starts_with("127.0.0.1:") && port != 0, "{addr}");
            port
        };
        let ftp_port = port_after("ferry: ftp listening on ");
        let port = port_after("ferry: tftp listening on ");
        // Keep draining the log so the server never blocks on a full pipe.
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        let drain = thread::spawn(move || {
            let mut line = String::new();
            while matches!(stderr.read_line(&mut line), Ok(n) if n > 0) {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Serve {
            child,
            port,
            ftp_port,
            log,
            drain: Some(drain),
        }
    }

    /// Sends SIGHUP and waits for the log line that says what came of it.
    pub fn reload(&self, expect: &str) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.wait_for(expect);
    }

    /// Waits until the log holds `expect` (failing after 10 s); the log
    /// so far.
    pub fn wait_for(&self, expect: &str) -> String {
        self.wait_for_n(expect, 1)
    }

    /// Waits until the log holds `expect` `n` times (failing after 10 s);
    /// the log so far.
    pub fn wait_for_n(&self, expect: &str, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log.lock().unwrap();
            if log.matches(expect).count() >= n {
                return log.clone();
            }
            assert!(Instant::now() < deadline, "no {expect:?} in {log}");
            drop(log);
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most 10 s) until the log has a line containing `needle`:
    /// a client may be done before the server has logged its side (a TFTP
    /// get ends with its final ACK, before the server has read it).
    pub fn wait_for_log(&self, needle: &str) {
        for _ in 0..1000 {
            if self.log.lock().unwrap().contains(needle) {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stop the server and return what it logged after the listening lines.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.drain.take().unwrap().join().unwrap();
        let log = self.log.lock().unwrap().clone();
        log
    }

    pub fn url(&self, path: &str) -> String {
        format!("tftp://127.0.0.1:{}/{path}", self.port)
    }

    pub fn ftp_url(&self, path: &str) -> String {
        format!("ftp://127.0.0.1:{}/{path}", self.ftp_port)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn ferry(args: &[&str], cwd: &Path) -> Output {
    Command::new(FERRY)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
