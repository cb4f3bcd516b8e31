//! The FTP server in process over 127.0.0.1, driven by a raw control
//! connection: exact replies, what reaches the disk, shutdown, limits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ferry_blocking::ftp::server::{Server, ServerConfig, ShutdownHandle};
use ferry_users::{user_line, Users};

struct TestServer {
    addr: SocketAddr,
    root: tempfile::TempDir,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let root = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(root.path(), "127.0.0.1:0".parse().unwrap());
        config.session.login_failure_delay = Duration::from_millis(50);
        configure(&mut config);
        let server = Server::bind(config).unwrap();
        let addr = server.local_addr();
        let handle = server.shutdown_handle();
        let thread = thread::spawn(move || server.run().unwrap());
        TestServer {
            addr,
            root,
            handle,
            thread: Some(thread),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn connect(&self) -> Control {
        Control::connect(self.addr)
    }

    /// Logged in as anonymous.
    fn anonymous(&self) -> Control {
        let mut c = self.connect();
        c.expect(220);
        c.command("USER anonymous", 331);
        c.command("PASS guest@", 230);
        c
    }

    fn stop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Control {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Control {
    fn connect(addr: SocketAddr) -> Control {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Control {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
    }

    /// One whole reply: (code, text of its last line).
    fn reply(&mut self) -> (u16, String) {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        assert!(line.len() >= 4, "short reply {line:?}");
        let code: u16 = line[..3].parse().unwrap();
        if line.as_bytes()[3] == b'-' {
            let end = format!("{code} ");
            loop {
                line.clear();
                self.reader.read_line(&mut line).unwrap();
                if line.starts_with(&end) {
                    break;
                }
            }
        }
        (code, line[4..].trim_end().to_owned())
    }

    fn expect(&mut self, code: u16) -> String {
        let (got, text) = self.reply();
        assert_eq!(got, code, "reply text: {text}");
        text
    }

    fn command(&mut self, line: &str, code: u16) -> String {
        self.send(line);
        self.expect(code)
    }

    /// EPSV, then connect to the port it names.
    fn passive(&mut self) -> TcpStream {
        let text = self.command("EPSV", 229);
        let port: u16 = text
            .split("|||")
            .nth(1)
            .and_then(|rest| rest.split('|').next())
            .unwrap()
            .parse()
            .unwrap();
        TcpStream::connect(("127.0.0.1", port)).unwrap()
    }

    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok() && rest.is_empty()
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn retrieve_and_store_are_byte_exact() {
    let server = TestServer::start(|c| c.write = true);
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(server.path("big.bin"), &data).unwrap();
    let mut c = server.anonymous();
    c.command("TYPE I", 200);

    let mut stream = c.passive();
    c.command("RETR big.bin", 150);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect(226);
    assert!(got == data, "RETR differs");

    let mut stream = c.passive();
    c.command("STOR copy.bin", 150);
    stream.write_all(&data).unwrap();
    drop(stream);
    c.expect(226);
    assert!(std::fs::read(server.path("copy.bin")).unwrap() == data);
    c.command("QUIT", 221);
    assert_eq!(names_in(server.root.path()), ["big.bin", "copy.bin"]);
}

#[test]
fn rest_and_type_a_downloads() {
    let server = TestServer::start(|_| {});
    std::fs::write(server.path("t.txt"), b"one\ntwo\n").unwrap();
    let mut c = server.anonymous();
    c.command("TYPE A", 200);
    let mut stream = c.passive();
    c.command("RETR t.txt", 150);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect(226);
    assert_eq!(got, b"one\r\ntwo\r\n");

    c.command("TYPE I", 200);
    c.command("REST 4", 350);
    let mut stream = c.passive();
    c.command("RETR t.txt", 150);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect(226);
    assert_eq!(got, b"two\n");
}

#[test]
fn active_mode_connects_back_to_the_client() {
    let server = TestServer::start(|_| {});
    std::fs::write(server.path("f"), b"active data").unwrap();
    let mut c = server.anonymous();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    c.command(&format!("EPRT |1|127.0.0.1|{port}|"), 200);
    c.command("RETR f", 150);
    let (mut stream, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect(226);
    assert_eq!(got, b"active data");
}

#[test]
fn writes_are_refused_without_write_access() {
    let server = TestServer::start(|_| {});
    let mut c = server.anonymous();
    c.command("MKD d", 550);
    c.command("DELE x", 550);
    let _stream = c.passive();
    c.command("STOR x", 550);
    assert!(names_in(server.root.path()).is_empty());
}

#[test]
fn a_cut_upload_leaves_the_old_file() {
    let server = TestServer::start(|c| c.write = true);
    std::fs::write(server.path("keep.txt"), b"old content").unwrap();
    let mut c = server.anonymous();
    let mut stream = c.passive();
    c.command("STOR keep.txt", 150);
    stream.write_all(&[7u8; 100_000]).unwrap();
    // A reset, not a close: the upload did not end cleanly.
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
    c.expect(426);
    assert_eq!(
        std::fs::read(server.path("keep.txt")).unwrap(),
        b"old content"
    );
    assert_eq!(names_in(server.root.path()), ["keep.txt"]);
}

#[test]
fn abor_stops_an_upload_and_discards_it() {
    let server = TestServer::start(|c| c.write = true);
    let mut c = server.anonymous();
    let mut stream = c.passive();
    c.command("STOR new.bin", 150);
    stream.write_all(&[1u8; 50_000]).unwrap();
    c.send("ABOR");
    c.expect(426);
    c.expect(226);
    drop(stream);
    c.command("NOOP", 200);
    assert!(names_in(server.root.path()).is_empty());
}

#[test]
fn shutdown_ends_a_transfer_with_426_then_421_and_leaves_no_temporary_file() {
    let mut server = TestServer::start(|c| c.write = true);
    let mut c = server.anonymous();
    let mut stream = c.passive();
    c.command("STOR partial.bin", 150);
    stream.write_all(&[2u8; 10_000]).unwrap();
    server.stop();
    c.expect(426);
    c.expect(421);
    assert!(c.closed());
    assert!(names_in(server.root.path()).is_empty());
}

#[test]
fn an_idle_session_is_told_421_when_the_server_stops() {
    let mut server = TestServer::start(|_| {});
    let mut c = server.anonymous();
    server.stop();
    c.expect(421);
    assert!(c.closed());
}

#[test]
fn a_connection_over_the_session_limit_gets_421() {
    let server = TestServer::start(|c| c.max_sessions = 2);
    let mut a = server.connect();
    a.expect(220);
    let mut b = server.connect();
    b.expect(220);
    let mut over = server.connect();
    over.expect(421);
    assert!(over.closed());
    drop(a);
    // The slot frees once the first session's thread has ended.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = server.connect();
        if again.reply().0 == 220 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot never freed");
        thread::sleep(Duration::from_millis(20));
    }
    b.command("NOOP", 200);
}

#[test]
fn passive_ports_come_from_the_range() {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = probe.local_addr().unwrap().port();
    drop(probe);
    let server = TestServer::start(|c| c.passive_ports = Some(base..=base));
    let mut c = server.anonymous();
    let text = c.command("EPSV", 229);
    assert!(text.contains(&format!("|||{base}|")), "{text}");
}

#[test]
fn idle_timeout_answers_421() {
    let server = TestServer::start(|c| c.session.idle_timeout = Duration::from_millis(300));
    let mut c = server.anonymous();
    let began = Instant::now();
    c.expect(421);
    assert!(began.elapsed() >= Duration::from_millis(250));
    assert!(c.closed());
}

#[test]
fn users_log_in_to_their_home_with_their_access() {
    let line = user_line("alice", "s3cret", "/home/alice", true).unwrap();
    let users = Arc::new(Users::parse(&line).unwrap());
    let server = TestServer::start(|c| {
        c.users = Some(users);
        c.anonymous = false;
        c.write = true;
    });
    std::fs::create_dir_all(server.path("home/alice")).unwrap();
    std::fs::write(server.path("secret.txt"), b"not alice's").unwrap();

    let mut c = server.connect();
    c.expect(220);
    c.command("USER anonymous", 331);
    c.command("PASS x", 530);
    c.command("USER alice", 331);
    c.command("PASS wrong", 530);
    c.command("USER alice", 331);
    c.command("PASS s3cret", 230);
    assert_eq!(c.command("PWD", 257), "\"/\" is the current directory.");
    // Her root is her home: the file above it cannot be named.
    let _stream = c.passive();
    c.command("RETR ../../secret.txt", 550);
    c.command("MKD uploads", 257);
    assert!(server.path("home/alice/uploads").is_dir());
}

#[test]
fn ipv6_passive_and_active() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let server = TestServer::start(|c| c.bind = "[::1]:0".parse().unwrap());
    std::fs::write(server.path("f"), b"over six").unwrap();
    let mut c = server.anonymous();
    let text = c.command("EPSV", 229);
    let port: u16 = text.split('|').nth(3).unwrap().parse().unwrap();
    let mut stream = TcpStream::connect(("::1", port)).unwrap();
    c.command("RETR f", 150);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect(226);
    assert_eq!(got, b"over six");

    let listener = TcpListener::bind("[::1]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    c.command(&format!("EPRT |2|::1|{port}|"), 200);
    c.command("RETR f", 150);
    let (mut stream, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect(226);
    assert_eq!(got, b"over six");
    // PASV cannot name an IPv6 address (RFC 2428 §1).
    c.command("PASV", 522);
}

/// Sends all of an upload, closes its data connection and sends QUIT at
/// once, without waiting for the 226.
fn upload_then_quit(server: &TestServer, name: &str, data: &[u8]) -> Control {
    let mut c = server.anonymous();
    let mut stream = c.passive();
    c.command(&format!("STOR {name}"), 150);
    stream.write_all(data).unwrap();
    drop(stream);
    c.send("QUIT");
    c
}

#[test]
fn quit_right_after_an_upload_keeps_it() {
    // RFC 959 §4.1.1: QUIT during a transfer waits for its result. A
    // client that closes the data connection and sends QUIT at once,
    // without waiting for the 226, must find its file stored.
    let server = TestServer::start(|c| c.write = true);
    let data = vec![b'x'; 2_000_000];
    for round in 0..10 {
        let name = format!("q{round}.bin");
        let mut c = upload_then_quit(&server, &name, &data);
        c.expect(226);
        c.expect(221);
        assert!(c.closed());
        assert!(std::fs::read(server.path(&name)).unwrap() == data, "{name}");
    }
}

#[test]
fn an_upload_survives_its_client_closing_the_control_connection_after_quit() {
    // The client sends everything, closes the data connection, sends QUIT
    // and closes the control connection without reading a reply.
    let server = TestServer::start(|c| c.write = true);
    let data = vec![b'y'; 3_000_000];
    for round in 0..5 {
        let name = format!("gone{round}.bin");
        drop(upload_then_quit(&server, &name, &data));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(server.path(&name)).map_or(true, |m| m.len() < data.len() as u64) {
            assert!(Instant::now() < deadline, "{name} was not stored");
            thread::sleep(Duration::from_millis(10));
        }
        assert!(std::fs::read(server.path(&name)).unwrap() == data, "{name}");
    }
}

#[test]
fn a_symlink_inside_a_home_cannot_lead_to_another_home() {
    let line = user_line("alice", "pw", "/alice", true).unwrap();
    let users = Arc::new(Users::parse(&line).unwrap());
    let server = TestServer::start(|c| {
        c.users = Some(users);
        c.write = true;
    });
    std::fs::create_dir_all(server.path("alice/docs")).unwrap();
    std::fs::create_dir_all(server.path("bob")).unwrap();
    std::fs::write(server.path("bob/secret.txt"), b"bob's").unwrap();
    std::fs::write(server.path("alice/docs/mine.txt"), b"alice's").unwrap();
    std::os::unix::fs::symlink("../bob", server.path("alice/x")).unwrap();
    std::os::unix::fs::symlink("docs", server.path("alice/d")).unwrap();

    let mut c = server.connect();
    c.expect(220);
    c.command("USER alice", 331);
    c.command("PASS pw", 230);
    c.command("SIZE d/mine.txt", 213);
    c.command("SIZE x/secret.txt", 550);
    c.command("CWD x", 550);
    c.command("RNFR docs/mine.txt", 350);
    c.command("RNTO x/stolen.txt", 550);
    let _stream = c.passive();
    c.command("RETR x/secret.txt", 550);
    assert!(!server.path("bob/stolen.txt").exists());
}

#[test]
fn active_data_connections_come_from_the_control_connections_address() {
    let server = TestServer::start(|c| c.bind = "127.0.0.2:0".parse().unwrap());
    std::fs::write(server.path("f"), b"from where?").unwrap();
    let mut c = server.anonymous();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    c.command(&format!("EPRT |1|127.0.0.1|{port}|"), 200);
    c.command("RETR f", 150);
    let (mut stream, from) = listener.accept().unwrap();
    assert_eq!(from.ip(), server.addr.ip());
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect(226);
    assert_eq!(got, b"from where?");
}
