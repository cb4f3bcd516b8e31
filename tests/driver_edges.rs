//! The edges of each server driver, in this process: clients that close
//! one half early, stall, or pipeline; what a session leaves behind. Each
//! test runs against both drivers, which must behave alike.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_interop::ftp::{connect_data, read_all, Control};
use ferry_interop::in_process::InProcess;
use ferry_interop::Driver;
use ferry_service::ftp::ServerConfig;
use ferry_users::{user_line, Users};

/// An FTP server on 127.0.0.1 serving a fresh temporary root.
struct FtpTest {
    /// Stopped when the test ends (dropped).
    _server: InProcess,
    addr: SocketAddr,
    root: tempfile::TempDir,
}

impl FtpTest {
    /// Anonymous read-only by default; `configure` changes the rest.
    fn start(driver: Driver, configure: impl FnOnce(&mut ServerConfig)) -> FtpTest {
        let root = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(root.path(), "127.0.0.1:0".parse().unwrap());
        config.session.login_failure_delay = Duration::from_millis(50);
        configure(&mut config);
        let server = InProcess::ftp(driver, config);
        FtpTest {
            addr: server.ftp_addr(),
            _server: server,
            root,
        }
    }

    /// A server whose one user is `alice` (password `s3cret`, home
    /// `/alice`, read-write).
    fn with_alice(driver: Driver) -> FtpTest {
        let line = user_line("alice", "s3cret", "/alice", true).unwrap();
        let users = Arc::new(Users::parse(&line).unwrap());
        let test = FtpTest::start(driver, |c| {
            c.users = Some(users.into());
            c.anonymous = false;
            c.write = true;
        });
        std::fs::create_dir(test.path("alice")).unwrap();
        test
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// A control connection, its greeting read.
    #[track_caller]
    fn connect(&self) -> Control {
        let mut c = Control::connect(self.addr).unwrap();
        c.expect_code(220);
        c
    }
}

/// Every reply code the server sends until it closes the connection.
fn codes_until_closed(c: &mut Control) -> Vec<u16> {
    let mut codes = Vec::new();
    while let Ok(Some(reply)) = c.read_reply() {
        codes.push(reply.code);
    }
    codes
}

fn a_pipelined_login_then_half_close_is_answered_in_full(driver: Driver) {
    // A scripted client (`printf ... | nc -N`) sends its commands and
    // closes its sending half at once; every command is still answered,
    // a named user's password check included.
    let server = FtpTest::with_alice(driver);
    std::fs::write(server.path("alice/f.txt"), b"12345").unwrap();
    let mut c = server.connect();
    c.send_raw(b"USER alice\r\nPASS s3cret\r\nSIZE f.txt\r\nQUIT\r\n")
        .unwrap();
    c.shutdown_write();
    assert_eq!(codes_until_closed(&mut c), [331, 230, 213, 221]);
}

fn replies_a_half_closed_client_reads_slowly_all_arrive(driver: Driver) {
    // Far more replies than the socket buffers hold, asked for by a
    // client that closes its sending half once it has asked, and reads
    // the replies more slowly than the server makes them: the server
    // sees the end of its input while replies still wait to be sent.
    let server = FtpTest::start(driver, |_| {});
    let mut c = Control::connect_small_buffers(server.addr, 4096).unwrap();
    c.expect_code(220);
    let count = 30_000;
    let mut batch = b"USER anonymous\r\nPASS x\r\n".to_vec();
    for _ in 0..count {
        batch.extend_from_slice(b"HELP\r\n");
    }
    batch.extend_from_slice(b"QUIT\r\n");
    let mut writer = c.writer();
    let sender = std::thread::spawn(move || {
        writer.write_all(&batch).unwrap();
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut codes = Vec::new();
    while let Ok(Some(reply)) = c.read_reply() {
        codes.push(reply.code);
        if codes.len() % 100 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    sender.join().unwrap();
    assert_eq!(
        codes.len(),
        count + 3,
        "{:?}",
        &codes[codes.len().saturating_sub(3)..]
    );
    assert_eq!(codes[..2], [331, 230]);
    assert!(codes[2..count + 2].iter().all(|&code| code == 214));
    assert_eq!(codes[count + 2], 221);
}

fn commands_piled_up_during_a_transfer_are_all_answered_after_it(driver: Driver) {
    // While a download waits on its slow reader, the client pipelines far
    // more commands than the server keeps unread: the server stops reading
    // them, and must take them up again once the transfer is over.
    let server = FtpTest::start(driver, |_| {});
    let data: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(server.path("big.bin"), &data).unwrap();
    let mut c = server.connect();
    c.expect("USER anonymous", 331);
    c.expect("PASS x", 230);
    c.expect("TYPE I", 200);
    let mut stream = connect_data(c.epsv());
    c.expect("RETR big.bin", 150);
    let count = 40_000;
    let mut writer = c.writer();
    let sender = std::thread::spawn(move || {
        let batch = b"NOOP\r\n".repeat(count);
        writer.write_all(&batch).unwrap();
    });
    // Long enough for the server to read its fill of them.
    std::thread::sleep(Duration::from_millis(500));
    assert!(read_all(&mut stream) == data);
    c.expect_code(226);
    for n in 0..count {
        let reply = c.reply();
        assert_eq!(reply.code, 200, "NOOP {n}: {reply:?}");
    }
    sender.join().unwrap();
    c.expect("QUIT", 221);
}

ferry_interop::driver_tests!(
    a_pipelined_login_then_half_close_is_answered_in_full,
    replies_a_half_closed_client_reads_slowly_all_arrive,
    commands_piled_up_during_a_transfer_are_all_answered_after_it,
);
