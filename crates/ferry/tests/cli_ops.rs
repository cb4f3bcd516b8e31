//! `ferry serve` as an administrator runs it: JSON logs, socket
//! activation, per-client limits, reloads.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;

use ferry_interop::Driver;

const FERRY: &str = env!("CARGO_BIN_EXE_ferry");

/// A running `ferry serve`, stopped when dropped.
struct Serve {
    child: Child,
    ftp_port: u16,
    tftp_port: u16,
    drain: Option<thread::JoinHandle<String>>,
}

impl Serve {
    /// `ferry serve --driver DRIVER --root ROOT` on ephemeral ports.
    fn start(driver: Driver, root: &Path, extra: &[&str]) -> Serve {
        let mut command = Command::new(FERRY);
        command
            .args(["serve", "--tftp", "127.0.0.1:0", "--ftp", "127.0.0.1:0"])
            .args(["--driver", driver.name()])
            .arg("--root")
            .arg(root)
            .args(extra);
        Serve::spawn(command)
    }

    /// Spawns `command` and waits for its FTP and TFTP listening lines.
    fn spawn(mut command: Command) -> Serve {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut port_after = |prefix: &str| {
            let mut line = String::new();
            stderr.read_line(&mut line).unwrap();
            let addr = line
                .trim_end()
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
                .to_owned();
            addr.rsplit(':').next().unwrap().parse::<u16>().unwrap()
        };
        let ftp_port = port_after("ferry: ftp listening on ");
        let tftp_port = port_after("ferry: tftp listening on ");
        let drain = thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            rest
        });
        Serve {
            child,
            ftp_port,
            tftp_port,
            drain: Some(drain),
        }
    }

    /// Stops the server; what it logged after the listening lines.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.drain.take().unwrap().join().unwrap()
    }

    fn tftp_url(&self, path: &str) -> String {
        format!("tftp://127.0.0.1:{}/{path}", self.tftp_port)
    }

    fn ftp_url(&self, path: &str) -> String {
        format!("ftp://127.0.0.1:{}/{path}", self.ftp_port)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ferry(args: &[&str]) -> Output {
    Command::new(FERRY)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn log_format_json_writes_one_object_per_line(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"hello").unwrap();
    let server = Serve::start(driver, root.path(), &["--log-format", "json"]);
    let out = ferry(&["get", &server.tftp_url("f"), "-o", "-"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ferry(&["get", &server.ftp_url("f"), "-o", "-"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello");
    let log = server.stop();

    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: not JSON: {line:?}"))
        })
        .collect();
    for event in &events {
        assert!(event["timestamp"].is_string(), "{event}");
        assert!(event["level"].is_string(), "{event}");
        assert!(event["message"].is_string(), "{event}");
    }
    // The same fields as the text line, at the top level, typed.
    let transfer = events
        .iter()
        .find(|e| e["message"] == "tftp transfer")
        .unwrap_or_else(|| panic!("no tftp transfer event in {log}"));
    assert_eq!(transfer["file"], "f");
    assert_eq!(transfer["op"], "read");
    assert_eq!(transfer["bytes"], 5);
    assert_eq!(transfer["outcome"], "ok");
    assert_eq!(transfer["level"], "INFO");
    assert!(transfer["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    let login = events
        .iter()
        .find(|e| e["message"] == "ftp login")
        .unwrap_or_else(|| panic!("no ftp login event in {log}"));
    assert_eq!(login["anonymous"], true);
    assert!(
        events.iter().any(|e| e["message"] == "ftp session opened"),
        "{log}"
    );
}

ferry_interop::driver_tests!(log_format_json_writes_one_object_per_line);
