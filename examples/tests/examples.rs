//! Runs each example program against a real peer: curl for the tokio TFTP
//! server, `ferry serve --write` for the tokio FTP client.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ferry_interop::ftp::FtpServer;
use ferry_interop::{assert_file_eq, make_file, require_peer, run, temp_dir, Driver};

const LIMIT: Duration = Duration::from_secs(60);

/// The tokio TFTP server serving `root`, killed when dropped.
struct TokioTftp {
    child: Child,
    addr: SocketAddr,
}

impl TokioTftp {
    fn start(root: &Path) -> TokioTftp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokio-tftp-server"))
            .arg(root)
            .arg("127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tokio-tftp-server");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        // Keep reading stderr so the server never blocks on a full pipe.
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("tokio-tftp-server: listening on ") {
                    let _ = tx.send(addr.parse::<SocketAddr>().expect("an address"));
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("tokio-tftp-server announces its address");
        TokioTftp { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("tftp://{}/{path}", self.addr)
    }
}

impl Drop for TokioTftp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tokio_tftp_server_serves_curl() {
    let Some(curl) = require_peer("curl") else {
        return;
    };
    let root = temp_dir("tokio-tftp");
    let out = temp_dir("tokio-tftp-out");
    // Block boundaries: exactly two 512-byte blocks, and a larger file.
    let even = make_file(root.path(), "even.bin", 1024, 1);
    let big = make_file(root.path(), "big.bin", 300_000, 2);
    let server = TokioTftp::start(root.path());

    let got = out.path().join("even.bin");
    run(
        Command::new(&curl)
            .args(["-sS", "-o"])
            .arg(&got)
            .arg(server.url("even.bin")),
        LIMIT,
    )
    .assert_success("curl get even.bin");
    assert_file_eq(&got, &even);

    for blksize in ["512", "1468", "8192"] {
        let got = out.path().join(format!("big-{blksize}.bin"));
        run(
            Command::new(&curl)
                .args(["-sS", "--tftp-blksize", blksize, "-o"])
                .arg(&got)
                .arg(server.url("big.bin")),
            LIMIT,
        )
        .assert_success("curl get big.bin");
        assert_file_eq(&got, &big);
    }
}

#[test]
fn tokio_tftp_server_refuses_what_it_lacks() {
    let Some(curl) = require_peer("curl") else {
        return;
    };
    let root = temp_dir("tokio-tftp-missing");
    let server = TokioTftp::start(root.path());
    let out = temp_dir("tokio-tftp-missing-out");
    // curl's exit code 68: "TFTP: File Not Found".
    let missing = run(
        Command::new(&curl)
            .args(["-sS", "-o"])
            .arg(out.path().join("x"))
            .arg(server.url("no-such-file")),
        LIMIT,
    );
    assert_eq!(
        missing.code(),
        Some(68),
        "curl's TFTP file-not-found exit code"
    );
    // Outside the root: access violation (curl 69: "TFTP: Access Violation").
    let escape = run(
        Command::new(&curl)
            .args(["-sS", "-o"])
            .arg(out.path().join("y"))
            .arg(server.url("..%2F..%2Fetc%2Fpasswd")),
        LIMIT,
    );
    assert!(!escape.success(), "nothing outside the root is served");
    // A write request: read-only server.
    let upload = out.path().join("up.bin");
    std::fs::write(&upload, b"data").unwrap();
    let put = run(
        Command::new(&curl)
            .args(["-sS", "-T"])
            .arg(&upload)
            .arg(server.url("up.bin")),
        LIMIT,
    );
    assert_eq!(
        put.code(),
        Some(69),
        "curl's TFTP access-violation exit code"
    );
    assert!(!root.path().join("up.bin").exists());
}

#[test]
fn tokio_ftp_client_gets_and_puts_against_ferry() {
    let root = temp_dir("tokio-ftp");
    let local = temp_dir("tokio-ftp-local");
    let remote = make_file(root.path(), "remote.bin", 2_000_000, 3);
    let server = FtpServer::writable(Driver::Mio, root.path());
    let client = env!("CARGO_BIN_EXE_tokio-ftp-client");
    let addr = server.addr().to_string();

    let got = local.path().join("got.bin");
    run(
        Command::new(client)
            .args([&addr, "anonymous", "guest@", "get", "remote.bin"])
            .arg(&got),
        LIMIT,
    )
    .assert_success("tokio-ftp-client get");
    assert_file_eq(&got, &remote);

    let upload = make_file(local.path(), "up.bin", 1_500_001, 4);
    run(
        Command::new(client)
            .args([&addr, "anonymous", "guest@", "put"])
            .arg(local.path().join("up.bin"))
            .arg("stored.bin"),
        LIMIT,
    )
    .assert_success("tokio-ftp-client put");
    assert_file_eq(&root.path().join("stored.bin"), &upload);

    // A missing file: the server's 550 ends the client with exit code 1
    // and no file is left under the local name.
    let missing = local.path().join("missing.bin");
    let failed = run(
        Command::new(client)
            .args([&addr, "anonymous", "guest@", "get", "missing.bin"])
            .arg(&missing),
        LIMIT,
    );
    assert_eq!(failed.code(), Some(1));
    assert!(!missing.exists());
}

#[test]
fn simulated_tftp_recovers_a_dropped_packet() {
    let out = Command::new(env!("CARGO_BIN_EXE_simulated-tftp"))
        .output()
        .expect("run simulated-tftp");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "simulated-tftp failed:\n{stdout}");
    assert!(stdout.contains("drop      DATA 3"), "{stdout}");
    assert!(stdout.contains("timeout"), "{stdout}");
    assert!(
        stdout.contains("received 5000 of 5000 bytes, identical"),
        "{stdout}"
    );
}
