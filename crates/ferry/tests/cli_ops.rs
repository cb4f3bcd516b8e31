//! `ferry serve` as an administrator runs it: JSON logs, socket
//! activation, per-client limits, reloads.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

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
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .args(["serve", "--tftp", "127.0.0.1:0", "--ftp", "127.0.0.1:0"])
            .args(["--driver", driver.name()])
            .arg("--root")
            .arg(root)
            .args(extra);
        Serve::spawn(command)
    }

    /// Spawns `command` (its stdin and stdout set) and waits for its FTP and TFTP listening lines.
    fn spawn(mut command: Command) -> Serve {
        let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
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

/// Starts `ferry serve` as systemd would with socket activation: two
/// sockets as descriptors 3 and 4, `LISTEN_FDS=2` and `LISTEN_PID` the
/// server's own pid. A shell places them (they arrive as its standard
/// input and output) and sets the pid, known only in the child, then
/// execs the server in its place.
fn activated(driver: Driver, root: &Path, sockets: [OwnedFd; 2], names: Option<&str>) -> Serve {
    let [first, second] = sockets;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"LISTEN_PID=$$ exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#)
        .arg(FERRY)
        .args(["serve", "--driver", driver.name(), "--root"])
        .arg(root)
        .env("LISTEN_FDS", "2")
        .stdin(Stdio::from(first))
        .stdout(Stdio::from(second));
    match names {
        Some(names) => command.env("LISTEN_FDNAMES", names),
        None => command.env_remove("LISTEN_FDNAMES"),
    };
    Serve::spawn(command)
}

fn serves_on_sockets_passed_by_the_service_manager(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"activated").unwrap();
    let ftp = TcpListener::bind("127.0.0.1:0").unwrap();
    let tftp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (ftp_port, tftp_port) = (
        ftp.local_addr().unwrap().port(),
        tftp.local_addr().unwrap().port(),
    );

    // By kind and order, then by name in the other order.
    let by_order = [
        OwnedFd::from(ftp.try_clone().unwrap()),
        OwnedFd::from(tftp.try_clone().unwrap()),
    ];
    let by_name = [OwnedFd::from(tftp), OwnedFd::from(ftp)];
    for (sockets, names) in [(by_order, None), (by_name, Some("tftp:ftp"))] {
        let server = activated(driver, root.path(), sockets, names);
        // The listening lines name the passed sockets, not the defaults.
        assert_eq!((server.ftp_port, server.tftp_port), (ftp_port, tftp_port));
        for url in [server.ftp_url("f"), server.tftp_url("f")] {
            let out = ferry(&["get", &url, "-o", "-"]);
            assert!(
                out.status.success(),
                "{url}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, b"activated", "{url}");
        }
        server.stop();
    }
}

#[test]
fn socket_activation_refuses_a_socket_for_a_server_turned_off() {
    let root = tempfile::tempdir().unwrap();
    let tftp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"LISTEN_PID=$$ exec "$0" "$@" 3<&0"#)
        .arg(FERRY)
        .args(["serve", "--no-tftp", "--root"])
        .arg(root.path())
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "tftp")
        .stdin(Stdio::from(OwnedFd::from(tftp)))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--no-tftp"), "{err}");
}

/// The first line the server says on a new control connection.
fn greeting(port: u16) -> (TcpStream, String) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).unwrap();
    (stream, line)
}

fn max_per_ip_refuses_ftp_connections_beyond_it(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let server = Serve::start(driver, root.path(), &["--max-per-ip", "2"]);
    let (first, line) = greeting(server.ftp_port);
    assert!(line.starts_with("220"), "{line:?}");
    let (_second, line) = greeting(server.ftp_port);
    assert!(line.starts_with("220"), "{line:?}");
    let (_third, line) = greeting(server.ftp_port);
    assert_eq!(
        line,
        "421 Too many connections from your address; try again later.\r\n"
    );
    // A session that ends gives its place back.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_again, line) = greeting(server.ftp_port);
        if line.starts_with("220") {
            break;
        }
        assert!(Instant::now() < deadline, "still refused: {line:?}");
        thread::sleep(Duration::from_millis(50));
    }
    let log = server.stop();
    assert!(log.contains("too many sessions from this address"), "{log}");
}

/// A TFTP read request for `file`, octet mode.
fn rrq(file: &str) -> Vec<u8> {
    let mut packet = vec![0, 1];
    packet.extend_from_slice(file.as_bytes());
    packet.push(0);
    packet.extend_from_slice(b"octet\0");
    packet
}

fn max_per_ip_refuses_tftp_requests_beyond_it(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("big"), vec![7u8; 100_000]).unwrap();
    let server = Serve::start(driver, root.path(), &["--max-per-ip", "2"]);
    let to = ("127.0.0.1", server.tftp_port);
    let client = || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket
    };
    let mut buf = [0u8; 1024];
    // Two transfers left waiting for their first ACK hold both places.
    let holding: Vec<UdpSocket> = (0..2)
        .map(|_| {
            let socket = client();
            socket.send_to(&rrq("big"), to).unwrap();
            let (len, _) = socket.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..4], &[0, 3, 0, 1], "DATA 1, got {:?}", &buf[..len]);
            socket
        })
        .collect();
    let third = client();
    third.send_to(&rrq("big"), to).unwrap();
    let (len, _) = third.recv_from(&mut buf).unwrap();
    assert_eq!(
        &buf[..len],
        b"\0\x05\0\0too many transfers from your address\0"
    );
    drop(holding);
    let log = server.stop();
    assert!(
        log.contains("too many transfers from this address"),
        "{log}"
    );
}

ferry_interop::driver_tests!(
    max_per_ip_refuses_ftp_connections_beyond_it,
    max_per_ip_refuses_tftp_requests_beyond_it,
    log_format_json_writes_one_object_per_line,
    serves_on_sockets_passed_by_the_service_manager,
);
