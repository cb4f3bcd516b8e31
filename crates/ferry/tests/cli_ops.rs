//! `ferry serve` as an administrator runs it: JSON logs, socket
//! activation, per-client limits, reloads.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use ferry_interop::Driver;

mod support;
use support::{Serve, FERRY};

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
    let server = Serve::start(Some(driver), root.path(), &["--log-format", "json"]);
    let out = ferry(&["get", &server.url("f"), "-o", "-"]);
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
        assert_eq!((server.ftp_port, server.port), (ftp_port, tftp_port));
        for url in [server.ftp_url("f"), server.url("f")] {
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
    let server = Serve::start(Some(driver), root.path(), &["--max-per-ip", "2"]);
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
    let server = Serve::start(Some(driver), root.path(), &["--max-per-ip", "2"]);
    let to = ("127.0.0.1", server.port);
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

/// UEFI firmware's size probe: RRQ with tsize 0, the OACK tells the size,
/// the firmware declines it with ERROR 8 (RFC 2347). Logged at info as
/// declined options and counted under its own outcome, neither ok nor
/// failed, and no error.
fn declined_oack_is_logged_at_info_and_counted_apart(driver: Driver) {
    ferry_interop::require_peer!("curl");
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("bootx64.efi"), vec![9u8; 3000]).unwrap();
    let server = Serve::start(Some(driver), root.path(), &["--metrics", "127.0.0.1:0"]);
    let url = metrics_url(&server);
    let before = scrape(&url);
    let delta = |after: &std::collections::HashMap<String, f64>, key: &str| {
        after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
    };

    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
        .send_to(
            b"\0\x01bootx64.efi\0octet\0tsize\x000\0blksize\x001468\0",
            ("127.0.0.1", server.port),
        )
        .unwrap();
    let mut buf = [0u8; 1024];
    let (len, tid) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..len], b"\0\x06blksize\x001468\0tsize\x003000\0");
    socket
        .send_to(b"\0\x05\0\x08User aborted the transfer\0", tid)
        .unwrap();

    let log = server.wait_for("options declined");
    let line = log
        .lines()
        .find(|line| line.contains("options declined"))
        .unwrap();
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("tftp transfer"), "{line}");
    assert!(line.contains("file=\"bootx64.efi\""), "{line}");
    assert!(line.contains("tsize=3000"), "{line}");
    assert!(
        line.contains("options declined with error 8: User aborted the transfer"),
        "{line}"
    );
    assert!(!log.contains("WARN"), "{log}");
    let after = scrape(&url);
    for (key, moved) in [
        (
            "ferry_transfers_total{protocol=\"tftp\",direction=\"download\",outcome=\"declined\"}",
            1.0,
        ),
        (
            "ferry_transfers_total{protocol=\"tftp\",direction=\"download\",outcome=\"failed\"}",
            0.0,
        ),
        (
            "ferry_transfers_total{protocol=\"tftp\",direction=\"download\",outcome=\"ok\"}",
            0.0,
        ),
        (
            "ferry_errors_total{protocol=\"tftp\",class=\"protocol\"}",
            0.0,
        ),
    ] {
        assert_eq!(delta(&after, key), moved, "{key} in {after:?}");
    }
    assert!(
        !after
            .keys()
            .any(|k| k.starts_with("ferry_errors_total{protocol=\"tftp\"")),
        "{after:?}"
    );
}

/// A users-file line for `name` with `password`, from `ferry passwd`.
fn users_line(name: &str, password: &str) -> String {
    let out = Command::new(FERRY)
        .args(["passwd", name])
        .env("FERRY_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A control connection past its greeting, and its reply reader.
struct Control {
    stream: TcpStream,
    replies: BufReader<TcpStream>,
}

impl Control {
    fn connect(port: u16) -> Control {
        let (stream, line) = greeting(port);
        assert!(line.starts_with("220"), "{line:?}");
        let replies = BufReader::new(stream.try_clone().unwrap());
        Control { stream, replies }
    }

    /// Sends `line`; the reply's code.
    fn command(&mut self, line: &str) -> String {
        write!(self.stream, "{line}\r\n").unwrap();
        let mut reply = String::new();
        self.replies.read_line(&mut reply).unwrap();
        reply[..3].to_owned()
    }

    fn login(port: u16, user: &str, password: &str) -> String {
        let mut control = Control::connect(port);
        assert_eq!(control.command(&format!("USER {user}")), "331");
        control.command(&format!("PASS {password}"))
    }
}

fn sighup_rereads_the_users_file_and_keeps_sessions(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let etc = tempfile::tempdir().unwrap();
    let users = etc.path().join("users");
    std::fs::write(&users, users_line("alice", "first")).unwrap();
    let server = Serve::start(
        Some(driver),
        root.path(),
        &["--users", users.to_str().unwrap()],
    );
    let port = server.ftp_port;
    let mut session = Control::connect(port);
    assert_eq!(session.command("USER alice"), "331");
    assert_eq!(session.command("PASS first"), "230");

    std::fs::write(
        &users,
        users_line("alice", "second") + &users_line("bob", "b"),
    )
    .unwrap();
    server.reload("users file reloaded");
    assert_eq!(Control::login(port, "alice", "first"), "530");
    assert_eq!(Control::login(port, "alice", "second"), "230");
    assert_eq!(Control::login(port, "bob", "b"), "230");
    // The session that logged in before the reload goes on.
    assert_eq!(session.command("PWD"), "257");

    // A bad file keeps the users of the last good one, and says why.
    std::fs::write(&users, "alice:not-a-hash:/:rw\n").unwrap();
    server.reload("users file not reloaded, the old one stays");
    assert_eq!(Control::login(port, "alice", "second"), "230");
    assert_eq!(session.command("NOOP"), "200");
    let log = server.stop();
    assert!(log.contains("users=2"), "{log}");
}

fn sighup_rereads_the_tls_certificate(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"secret").unwrap();
    let tls = tempfile::tempdir().unwrap();
    let dir = tls.path().to_str().unwrap();
    let cert = |host: &str| {
        let out = ferry(&[
            "cert",
            "--out",
            dir,
            "--force",
            "--host",
            host,
            "--host",
            "127.0.0.1",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(tls.path().join("cert.pem")).unwrap()
    };
    let old = cert("old.example");
    let (cert_path, key_path) = (tls.path().join("cert.pem"), tls.path().join("key.pem"));
    let server = Serve::start(
        Some(driver),
        root.path(),
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    let trusted = tls.path().join("trusted.pem");
    let get = |ca: &[u8]| {
        std::fs::write(&trusted, ca).unwrap();
        ferry(&[
            "get",
            "--tls",
            "--cacert",
            trusted.to_str().unwrap(),
            &server.ftp_url("f"),
            "-o",
            "-",
        ])
    };
    assert!(get(&old).status.success());
    let mut session = Control::connect(server.ftp_port);
    assert_eq!(session.command("USER anonymous"), "331");
    assert_eq!(session.command("PASS x"), "230");

    let new = cert("new.example");
    server.reload("tls certificate reloaded");
    let out = get(&new);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"secret");
    assert!(
        !get(&old).status.success(),
        "the old certificate is still served"
    );
    assert_eq!(session.command("NOOP"), "200");

    // A key that is not the certificate's: the new pair stays in use.
    std::fs::write(
        &key_path,
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    server.reload("tls certificate not reloaded, the old one stays");
    assert!(get(&new).status.success());
}

/// Where `server` (started with `--metrics 127.0.0.1:0`) says its
/// metrics listen.
fn metrics_url(server: &Serve) -> String {
    let prefix = "ferry: metrics listening on ";
    let log = server.wait_for(prefix);
    log.lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap()
        .to_owned()
}

/// Scrapes `url` with curl: each sample's value by its name and labels.
fn scrape(url: &str) -> std::collections::HashMap<String, f64> {
    let out = Command::new("curl")
        .args(["-sS", "--fail", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

fn metrics_count_sessions_logins_transfers_and_bytes(driver: Driver) {
    ferry_interop::require_peer!("curl");
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), vec![1u8; 5000]).unwrap();
    std::fs::write(work.path().join("up"), vec![2u8; 700]).unwrap();
    let server = Serve::start(
        Some(driver),
        root.path(),
        &["--write", "--metrics", "127.0.0.1:0"],
    );
    let url = metrics_url(&server);
    let before = scrape(&url);
    let delta = |after: &std::collections::HashMap<String, f64>, key: &str| {
        after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
    };

    for url in [server.url("f"), server.ftp_url("f")] {
        let out = ferry(&["get", &url, "-o", "-"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let up = work.path().join("up");
    let out = ferry(&["put", up.to_str().unwrap(), &server.ftp_url("up")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A missing file over TFTP: ERROR 1.
    let out = ferry(&["get", &server.url("missing"), "-o", "-"]);
    assert_eq!(out.status.code(), Some(1));
    // A named user without a users file: a failed login; then errors of
    // two classes.
    let mut control = Control::connect(server.ftp_port);
    assert_eq!(control.command("USER bob"), "331");
    assert_eq!(control.command("PASS nope"), "530");
    assert_eq!(control.command("USER anonymous"), "331");
    assert_eq!(control.command("PASS guest"), "230");
    assert_eq!(control.command("SIZE missing"), "550");
    assert_eq!(control.command("BOGUS"), "500");
    // The clients are done before the server has counted their ends:
    // wait for its log to say so, then scrape while this session is open.
    server.wait_for_n("INFO tftp transfer", 2);
    server.wait_for_n("ftp session closed", 2);
    server.wait_for("ftp login failed");
    server.wait_for("code=500");
    let after = scrape(&url);
    for (key, moved) in [
        ("ferry_ftp_sessions_total", 3.0),
        ("ferry_ftp_sessions_open", 1.0),
        ("ferry_ftp_logins_total{outcome=\"ok\"}", 3.0),
        ("ferry_ftp_logins_total{outcome=\"failed\"}", 1.0),
        (
            "ferry_transfers_total{protocol=\"tftp\",direction=\"download\",outcome=\"ok\"}",
            1.0,
        ),
        (
            "ferry_transfers_total{protocol=\"ftp\",direction=\"download\",outcome=\"ok\"}",
            1.0,
        ),
        (
            "ferry_transfers_total{protocol=\"ftp\",direction=\"upload\",outcome=\"ok\"}",
            1.0,
        ),
        (
            "ferry_transfer_bytes_total{protocol=\"tftp\",direction=\"download\"}",
            5000.0,
        ),
        (
            "ferry_transfer_bytes_total{protocol=\"ftp\",direction=\"download\"}",
            5000.0,
        ),
        (
            "ferry_transfer_bytes_total{protocol=\"ftp\",direction=\"upload\"}",
            700.0,
        ),
        (
            "ferry_errors_total{protocol=\"tftp\",class=\"not_found\"}",
            1.0,
        ),
        (
            "ferry_errors_total{protocol=\"ftp\",class=\"not_found\"}",
            1.0,
        ),
        (
            "ferry_errors_total{protocol=\"ftp\",class=\"protocol\"}",
            1.0,
        ),
        ("ferry_errors_total{protocol=\"ftp\",class=\"io\"}", 0.0),
    ] {
        assert_eq!(delta(&after, key), moved, "{key} in {after:?}");
    }
    // The event loop's turns: every wake-up of the loop is one, all of
    // them within the histogram's buckets; the blocking driver has none.
    let turns = delta(&after, "ferry_mio_loop_turn_seconds_count");
    let in_buckets = delta(&after, "ferry_mio_loop_turn_seconds_bucket{le=\"+Inf\"}");
    assert_eq!(turns, in_buckets);
    match driver {
        // At least one per session opened and per transfer.
        Driver::Mio => {
            assert!(turns >= 6.0, "{turns} turns in {after:?}");
            assert!(delta(&after, "ferry_mio_loop_turn_seconds_sum") > 0.0);
        }
        Driver::Blocking => assert_eq!(turns, 0.0),
    }
    drop(control);
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(url.replace("/metrics", "/other"))
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"404");
}

/// A configuration file that sets every key.
const FULL_CONFIG: &str = r#"driver = "blocking"
user = "nobody"
max_sessions = 7
max_per_ip = 2
rate_limit = "10M"
anon_rate_limit = "512K"
metrics = "127.0.0.1:9469"

[storage]
root = "/srv/ferry"
s3_endpoint = "http://127.0.0.1:8333"
write = true

[ftp]
enabled = true
listen = "127.0.0.1:2100"
anonymous = true
users = "/etc/ferry/users"
passive_ports = "50000-50100"
idle_timeout = 60

[tftp]
enabled = false
listen = "127.0.0.1:6900"
single_port = true
map = "/etc/ferry/tftp.map"

[tls]
cert = "/etc/ferry/cert.pem"
key = "/etc/ferry/key.pem"
ftps_listen = "127.0.0.1:9900"
require = true
require_reuse = true
"#;

fn print_config(dir: &Path, text: &str, flags: &[&str]) -> Output {
    let path = dir.join("ferry.toml");
    std::fs::write(&path, text).unwrap();
    Command::new(FERRY)
        .args(["serve", "--config"])
        .arg(&path)
        .args(flags)
        .arg("--print-config")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Every `section.key` (or top-level `key`) of a TOML table.
fn keys(table: &toml::Table) -> Vec<String> {
    let mut keys = Vec::new();
    for (key, value) in table {
        match value.as_table() {
            Some(section) => keys.extend(section.keys().map(|k| format!("{key}.{k}"))),
            None => keys.push(key.clone()),
        }
    }
    keys
}

#[test]
fn config_file_holds_every_serve_setting_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let out = print_config(dir.path(), FULL_CONFIG, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let full: toml::Table = toml::from_str(FULL_CONFIG).unwrap();
    assert_eq!(printed, full);

    // Every key is documented, and the documentation names no other.
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .unwrap();
    let documented: Vec<&str> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .collect();
    // port_range excludes single_port: it is set in a file of its own.
    let range = "[tftp]\nport_range = \"50200-50299\"\n";
    let out = print_config(dir.path(), range, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(printed["tftp"]["port_range"].as_str(), Some("50200-50299"));
    let mut in_code = keys(&full);
    in_code.extend(keys(&printed));
    in_code.sort();
    in_code.dedup();
    let mut in_doc: Vec<String> = documented.iter().map(|k| k.to_string()).collect();
    in_doc.sort();
    assert_eq!(in_code, in_doc);
    // And the documentation's example is a good file.
    let example = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap();
    let out = print_config(dir.path(), example, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A flag on the command line wins over the file.
    let out = print_config(
        dir.path(),
        FULL_CONFIG,
        &["--driver", "mio", "--max-per-ip", "5"],
    );
    let printed: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(printed["driver"].as_str(), Some("mio"));
    assert_eq!(printed["max_per_ip"].as_integer(), Some(5));
    assert_eq!(printed["max_sessions"].as_integer(), Some(7));
}

#[test]
fn a_bad_config_file_stops_start_up_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ferry.toml");
    for (text, line, reason) in [
        (
            "[ftp]\nlisten = \"127.0.0.1:0\"\nbogus = 1\n",
            3,
            "unknown field `bogus`",
        ),
        ("driver = \"threads\"\n", 1, "unknown variant `threads`"),
        ("\n\nmax_sessions = 0\n", 3, "nonzero"),
        ("[tftp]\nport_range = \"9-3\"\n", 2, "empty range 9-3"),
        (
            "[ftp]\nlisten = \"localhost\"\n",
            2,
            "invalid socket address",
        ),
    ] {
        let out = print_config(dir.path(), text, &[]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        let at = format!("ferry: {}:{line}: ", file.display());
        assert!(
            err.starts_with(&at) && err.contains(reason),
            "{text}: {err}"
        );
    }
    // A combination clap would refuse on the command line.
    let out = print_config(dir.path(), "[tls]\ncert = \"/c.pem\"\n", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cert and key go together"));
}

fn serves_as_its_config_file_says(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"configured").unwrap();
    let etc = tempfile::tempdir().unwrap();
    let path = etc.path().join("ferry.toml");
    let text = format!(
        "driver = \"{}\"\n[storage]\nroot = {:?}\n[ftp]\nlisten = \"127.0.0.1:0\"\n[tftp]\nlisten = \"127.0.0.1:0\"\n",
        driver.name(),
        root.path().to_str().unwrap(),
    );
    std::fs::write(&path, text).unwrap();
    let mut command = Command::new(FERRY);
    command
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let server = Serve::spawn(command);
    for url in [server.ftp_url("f"), server.url("f")] {
        let out = ferry(&["get", &url, "-o", "-"]);
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"configured");
    }
}

/// 512 KiB, and the limit that must make it take about 2 s.
const PACED_FILE: usize = 512 * 1024;
const PACED_RATE: &str = "256K";

/// Runs `curl ARGS` and says how long it took; it must succeed.
fn timed_curl(args: Vec<String>) -> Duration {
    let began = Instant::now();
    let out = Command::new("curl")
        .args(["-s", "-S"])
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = began.elapsed();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// At 256 KiB/s, 512 KiB take 1.9 s after the first burst: at least
/// 1.8 s, and not much more (the machine may be busy).
fn assert_paced(what: &str, took: Duration) {
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(6),
        "{what} took {took:?}"
    );
}

/// Runs each transfer on its own thread (each has a bucket of its own, so
/// they do not slow each other down) and gives how long each took.
fn timed_together(transfers: Vec<(&'static str, Vec<String>)>) -> Vec<(&'static str, Duration)> {
    let threads: Vec<_> = transfers
        .into_iter()
        .map(|(what, args)| (what, thread::spawn(move || timed_curl(args))))
        .collect();
    threads
        .into_iter()
        .map(|(what, thread)| (what, thread.join().unwrap()))
        .collect()
}

fn rate_limit_paces_ftp_and_tftp_both_ways(driver: Driver) {
    ferry_interop::require_peer!("curl");
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..PACED_FILE).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.path().join("f"), &data).unwrap();
    std::fs::write(work.path().join("up"), &data).unwrap();
    std::fs::create_dir(root.path().join("many")).unwrap();
    for i in 0..3000 {
        std::fs::write(root.path().join("many").join(format!("{i:0>200}")), b"").unwrap();
    }
    let server = Serve::start(
        Some(driver),
        root.path(),
        &["--write", "--rate-limit", PACED_RATE],
    );
    let out = |name: &str| work.path().join(name).to_str().unwrap().to_owned();
    let up = out("up");
    let took = timed_together(vec![
        (
            "ftp get",
            vec![server.ftp_url("f"), "-o".into(), out("ftp")],
        ),
        (
            "ftp put",
            vec!["-T".into(), up.clone(), server.ftp_url("ftp-up")],
        ),
        ("tftp get", vec![server.url("f"), "-o".into(), out("tftp")]),
        ("tftp put", vec!["-T".into(), up, server.url("tftp-up")]),
    ]);
    for (what, took) in took {
        assert_paced(what, took);
    }
    for file in [
        work.path().join("ftp"),
        work.path().join("tftp"),
        root.path().join("ftp-up"),
        root.path().join("tftp-up"),
    ] {
        assert!(std::fs::read(&file).unwrap() == data, "{file:?}");
    }
    // Listings are not limited: about 800 KB of names, at once.
    let listed = timed_curl(vec![server.ftp_url("many/"), "-o".into(), out("listing")]);
    assert!(
        listed < Duration::from_millis(1500),
        "the listing took {listed:?}"
    );
    assert!(
        std::fs::metadata(work.path().join("listing"))
            .unwrap()
            .len()
            > PACED_FILE as u64
    );
}

fn anon_rate_limit_slows_anonymous_clients_only(driver: Driver) {
    ferry_interop::require_peer!("curl");
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..PACED_FILE).map(|i| (i % 241) as u8).collect();
    std::fs::write(root.path().join("f"), &data).unwrap();
    let users = work.path().join("users");
    std::fs::write(&users, users_line("alice", "secret")).unwrap();
    let server = Serve::start(
        Some(driver),
        root.path(),
        &[
            "--users",
            users.to_str().unwrap(),
            "--anonymous",
            "--anon-rate-limit",
            PACED_RATE,
        ],
    );
    let out = |name: &str| work.path().join(name).to_str().unwrap().to_owned();
    let named = server.ftp_url("f").replace("ftp://", "ftp://alice:secret@");
    let took = timed_together(vec![
        (
            "anonymous ftp get",
            vec![server.ftp_url("f"), "-o".into(), out("anon")],
        ),
        ("tftp get", vec![server.url("f"), "-o".into(), out("tftp")]),
        ("named ftp get", vec![named, "-o".into(), out("named")]),
    ]);
    for (what, took) in took {
        if what == "named ftp get" {
            // No limit for a named user: loopback speed.
            assert!(took < Duration::from_millis(1500), "{what} took {took:?}");
        } else {
            assert_paced(what, took);
        }
    }
    for name in ["anon", "tftp", "named"] {
        assert!(
            std::fs::read(work.path().join(name)).unwrap() == data,
            "{name}"
        );
    }
}

ferry_interop::driver_tests!(
    serves_as_its_config_file_says,
    metrics_count_sessions_logins_transfers_and_bytes,
    declined_oack_is_logged_at_info_and_counted_apart,
    sighup_rereads_the_users_file_and_keeps_sessions,
    sighup_rereads_the_tls_certificate,
    max_per_ip_refuses_ftp_connections_beyond_it,
    max_per_ip_refuses_tftp_requests_beyond_it,
    log_format_json_writes_one_object_per_line,
    serves_on_sockets_passed_by_the_service_manager,
    rate_limit_paces_ftp_and_tftp_both_ways,
    anon_rate_limit_slows_anonymous_clients_only,
);
