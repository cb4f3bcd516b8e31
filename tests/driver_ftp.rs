//! ferry's FTP server in this process, under each driver, over
//! 127.0.0.1 and spoken to by hand: exact replies, what reaches the disk,
//! shutdown, limits. Both drivers get the same
//! `ferry_service::ftp::ServerConfig`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferry_interop::ftp::{connect_data, names, Control};
use ferry_interop::in_process::InProcess;
use ferry_interop::Driver;
use ferry_service::ftp::ServerConfig;
use ferry_users::{user_line, Users};

/// A server on 127.0.0.1 serving a fresh temporary root.
struct TestServer {
    server: InProcess,
    addr: SocketAddr,
    root: tempfile::TempDir,
}

impl TestServer {
    /// Anonymous read-only by default; `configure` changes the rest.
    fn start(driver: Driver, configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let root = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(root.path(), "127.0.0.1:0".parse().unwrap());
        config.session.login_failure_delay = Duration::from_millis(50);
        configure(&mut config);
        let server = InProcess::ftp(driver, config);
        TestServer {
            addr: server.ftp_addr(),
            server,
            root,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// A control connection, nothing read yet.
    #[track_caller]
    fn connect_raw(&self) -> Control {
        Control::connect(self.addr).unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr))
    }

    /// Logged in as anonymous.
    #[track_caller]
    fn anonymous(&self) -> Control {
        let mut c = self.connect_raw();
        c.expect_code(220);
        c.expect("USER anonymous", 331);
        c.expect("PASS guest@", 230);
        c
    }

    fn stop(&mut self) {
        self.server.stop();
    }
}

/// EPSV, then a data connection to the port it names.
#[track_caller]
fn passive(c: &mut Control) -> TcpStream {
    let addr = c.epsv();
    connect_data(addr)
}

fn retrieve_and_store_are_byte_exact(driver: Driver) {
    let server = TestServer::start(driver, |c| c.write = true);
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(server.path("big.bin"), &data).unwrap();
    let mut c = server.anonymous();
    c.expect("TYPE I", 200);

    let mut stream = passive(&mut c);
    c.expect("RETR big.bin", 150);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect_code(226);
    assert!(got == data, "RETR differs");

    let mut stream = passive(&mut c);
    c.expect("STOR copy.bin", 150);
    stream.write_all(&data).unwrap();
    drop(stream);
    c.expect_code(226);
    assert!(std::fs::read(server.path("copy.bin")).unwrap() == data);
    c.expect("QUIT", 221);
    assert_eq!(names(server.root.path()), ["big.bin", "copy.bin"]);
}

fn rest_and_type_a_downloads(driver: Driver) {
    let server = TestServer::start(driver, |_| {});
    std::fs::write(server.path("t.txt"), b"one\ntwo\n").unwrap();
    let mut c = server.anonymous();
    c.expect("TYPE A", 200);
    let mut stream = passive(&mut c);
    c.expect("RETR t.txt", 150);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect_code(226);
    assert_eq!(got, b"one\r\ntwo\r\n");

    c.expect("TYPE I", 200);
    c.expect("REST 4", 350);
    let mut stream = passive(&mut c);
    c.expect("RETR t.txt", 150);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect_code(226);
    assert_eq!(got, b"two\n");
}

fn active_mode_connects_back_to_the_client(driver: Driver) {
    let server = TestServer::start(driver, |_| {});
    std::fs::write(server.path("f"), b"active data").unwrap();
    let mut c = server.anonymous();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    c.expect(&format!("EPRT |1|127.0.0.1|{port}|"), 200);
    c.expect("RETR f", 150);
    let (mut stream, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect_code(226);
    assert_eq!(got, b"active data");
}

fn writes_are_refused_without_write_access(driver: Driver) {
    let server = TestServer::start(driver, |_| {});
    let mut c = server.anonymous();
    c.expect("MKD d", 550);
    c.expect("DELE x", 550);
    let _stream = passive(&mut c);
    c.expect("STOR x", 550);
    assert!(names(server.root.path()).is_empty());
}

fn a_cut_upload_leaves_the_old_file(driver: Driver) {
    let server = TestServer::start(driver, |c| c.write = true);
    std::fs::write(server.path("keep.txt"), b"old content").unwrap();
    let mut c = server.anonymous();
    let mut stream = passive(&mut c);
    c.expect("STOR keep.txt", 150);
    stream.write_all(&[7u8; 100_000]).unwrap();
    // A reset, not a close: the upload did not end cleanly.
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
    c.expect_code(426);
    assert_eq!(
        std::fs::read(server.path("keep.txt")).unwrap(),
        b"old content"
    );
    assert_eq!(names(server.root.path()), ["keep.txt"]);
}

fn abor_stops_an_upload_and_discards_it(driver: Driver) {
    let server = TestServer::start(driver, |c| c.write = true);
    let mut c = server.anonymous();
    let mut stream = passive(&mut c);
    c.expect("STOR new.bin", 150);
    stream.write_all(&[1u8; 50_000]).unwrap();
    c.send("ABOR");
    c.expect_code(426);
    c.expect_code(226);
    drop(stream);
    c.expect("NOOP", 200);
    assert!(names(server.root.path()).is_empty());
}

fn shutdown_ends_a_transfer_with_426_then_421_and_leaves_no_temporary_file(driver: Driver) {
    let mut server = TestServer::start(driver, |c| c.write = true);
    let mut c = server.anonymous();
    let mut stream = passive(&mut c);
    c.expect("STOR partial.bin", 150);
    stream.write_all(&[2u8; 10_000]).unwrap();
    server.stop();
    c.expect_code(426);
    c.expect_code(421);
    assert!(c.closed_silently());
    assert!(names(server.root.path()).is_empty());
}

fn an_idle_session_is_told_421_when_the_server_stops(driver: Driver) {
    let mut server = TestServer::start(driver, |_| {});
    let mut c = server.anonymous();
    server.stop();
    c.expect_code(421);
    assert!(c.closed_silently());
}

fn a_connection_over_the_session_limit_gets_421(driver: Driver) {
    let server = TestServer::start(driver, |c| c.max_sessions = 2);
    let mut a = server.connect_raw();
    a.expect_code(220);
    let mut b = server.connect_raw();
    b.expect_code(220);
    let mut over = server.connect_raw();
    over.expect_code(421);
    assert!(over.closed_silently());
    drop(a);
    // The slot frees once the first session's thread has ended.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = server.connect_raw();
        if again.reply().code == 220 {
            break;
        }
        assert!(Instant::now() < deadline, "the slot never freed");
        thread::sleep(Duration::from_millis(20));
    }
    b.expect("NOOP", 200);
}

fn passive_ports_come_from_the_range(driver: Driver) {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = probe.local_addr().unwrap().port();
    drop(probe);
    let server = TestServer::start(driver, |c| c.passive_ports = Some(base..=base));
    let mut c = server.anonymous();
    let text = c.expect("EPSV", 229).text();
    assert!(text.contains(&format!("|||{base}|")), "{text}");
}

fn idle_timeout_answers_421(driver: Driver) {
    let server = TestServer::start(driver, |c| {
        c.session.idle_timeout = Duration::from_millis(300)
    });
    let mut c = server.anonymous();
    let began = Instant::now();
    c.expect_code(421);
    assert!(began.elapsed() >= Duration::from_millis(250));
    assert!(c.closed_silently());
}

fn users_log_in_to_their_home_with_their_access(driver: Driver) {
    let line = user_line("alice", "s3cret", "/home/alice", true).unwrap();
    let users = Arc::new(Users::parse(&line).unwrap());
    let server = TestServer::start(driver, |c| {
        c.users = Some(users.into());
        c.anonymous = false;
        c.write = true;
    });
    std::fs::create_dir_all(server.path("home/alice")).unwrap();
    std::fs::write(server.path("secret.txt"), b"not alice's").unwrap();

    let mut c = server.connect_raw();
    c.expect_code(220);
    c.expect("USER anonymous", 331);
    c.expect("PASS x", 530);
    c.expect("USER alice", 331);
    c.expect("PASS wrong", 530);
    c.expect("USER alice", 331);
    c.expect("PASS s3cret", 230);
    assert_eq!(
        c.expect("PWD", 257).text(),
        "\"/\" is the current directory."
    );
    // Her root is her home: the file above it cannot be named.
    let _stream = passive(&mut c);
    c.expect("RETR ../../secret.txt", 550);
    c.expect("MKD uploads", 257);
    assert!(server.path("home/alice/uploads").is_dir());
}

fn ipv6_passive_and_active(driver: Driver) {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let server = TestServer::start(driver, |c| c.bind = "[::1]:0".parse().unwrap());
    std::fs::write(server.path("f"), b"over six").unwrap();
    let mut c = server.anonymous();
    let text = c.expect("EPSV", 229).text();
    let port: u16 = text.split('|').nth(3).unwrap().parse().unwrap();
    let mut stream = TcpStream::connect(("::1", port)).unwrap();
    c.expect("RETR f", 150);
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect_code(226);
    assert_eq!(got, b"over six");

    let listener = TcpListener::bind("[::1]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    c.expect(&format!("EPRT |2|::1|{port}|"), 200);
    c.expect("RETR f", 150);
    let (mut stream, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect_code(226);
    assert_eq!(got, b"over six");
    // PASV cannot name an IPv6 address (RFC 2428 §1).
    c.expect("PASV", 522);
}

/// Sends all of an upload, closes its data connection and sends QUIT at
/// once, without waiting for the 226.
fn upload_then_quit(server: &TestServer, name: &str, data: &[u8]) -> Control {
    let mut c = server.anonymous();
    let mut stream = passive(&mut c);
    c.expect(&format!("STOR {name}"), 150);
    stream.write_all(data).unwrap();
    drop(stream);
    c.send("QUIT");
    c
}

fn quit_right_after_an_upload_keeps_it(driver: Driver) {
    // RFC 959 §4.1.1: QUIT during a transfer waits for its result. A
    // client that closes the data connection and sends QUIT at once,
    // without waiting for the 226, must find its file stored.
    let server = TestServer::start(driver, |c| c.write = true);
    let data = vec![b'x'; 2_000_000];
    for round in 0..10 {
        let name = format!("q{round}.bin");
        let mut c = upload_then_quit(&server, &name, &data);
        c.expect_code(226);
        c.expect_code(221);
        assert!(c.closed_silently());
        assert!(std::fs::read(server.path(&name)).unwrap() == data, "{name}");
    }
}

fn an_upload_survives_its_client_closing_the_control_connection_after_quit(driver: Driver) {
    // The client sends everything, closes the data connection, sends QUIT
    // and closes the control connection without reading a reply.
    let server = TestServer::start(driver, |c| c.write = true);
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

fn a_symlink_inside_a_home_cannot_lead_to_another_home(driver: Driver) {
    let line = user_line("alice", "pw", "/alice", true).unwrap();
    let users = Arc::new(Users::parse(&line).unwrap());
    let server = TestServer::start(driver, |c| {
        c.users = Some(users.into());
        c.write = true;
    });
    std::fs::create_dir_all(server.path("alice/docs")).unwrap();
    std::fs::create_dir_all(server.path("bob")).unwrap();
    std::fs::write(server.path("bob/secret.txt"), b"bob's").unwrap();
    std::fs::write(server.path("alice/docs/mine.txt"), b"alice's").unwrap();
    std::os::unix::fs::symlink("../bob", server.path("alice/x")).unwrap();
    std::os::unix::fs::symlink("docs", server.path("alice/d")).unwrap();

    let mut c = server.connect_raw();
    c.expect_code(220);
    c.expect("USER alice", 331);
    c.expect("PASS pw", 230);
    c.expect("SIZE d/mine.txt", 213);
    c.expect("SIZE x/secret.txt", 550);
    c.expect("CWD x", 550);
    c.expect("RNFR docs/mine.txt", 350);
    c.expect("RNTO x/stolen.txt", 550);
    let _stream = passive(&mut c);
    c.expect("RETR x/secret.txt", 550);
    assert!(!server.path("bob/stolen.txt").exists());
}

fn active_data_connections_come_from_the_control_connections_address(driver: Driver) {
    let server = TestServer::start(driver, |c| c.bind = "127.0.0.2:0".parse().unwrap());
    std::fs::write(server.path("f"), b"from where?").unwrap();
    let mut c = server.anonymous();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    c.expect(&format!("EPRT |1|127.0.0.1|{port}|"), 200);
    c.expect("RETR f", 150);
    let (mut stream, from) = listener.accept().unwrap();
    assert_eq!(from.ip(), server.addr.ip());
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    c.expect_code(226);
    assert_eq!(got, b"from where?");
}

ferry_interop::driver_tests!(
    retrieve_and_store_are_byte_exact,
    rest_and_type_a_downloads,
    active_mode_connects_back_to_the_client,
    writes_are_refused_without_write_access,
    a_cut_upload_leaves_the_old_file,
    abor_stops_an_upload_and_discards_it,
    shutdown_ends_a_transfer_with_426_then_421_and_leaves_no_temporary_file,
    an_idle_session_is_told_421_when_the_server_stops,
    a_connection_over_the_session_limit_gets_421,
    passive_ports_come_from_the_range,
    idle_timeout_answers_421,
    users_log_in_to_their_home_with_their_access,
    ipv6_passive_and_active,
    quit_right_after_an_upload_keeps_it,
    an_upload_survives_its_client_closing_the_control_connection_after_quit,
    a_symlink_inside_a_home_cannot_lead_to_another_home,
    active_data_connections_come_from_the_control_connections_address,
);
