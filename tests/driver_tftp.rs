//! ferry's TFTP server in this process, under each driver, over
//! 127.0.0.1: the blocking client of `ferry-blocking` (and raw packets
//! where the wire itself is checked) against it. Byte-exact files, exact
//! error codes, clean failures, limits, shutdown, single-port mode. Both
//! drivers get the same `ferry_service::tftp::ServerConfig`.

use std::io::{self, Read};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ferry_blocking::tftp::{
    get, put, ClientError, ClientOptions, Input, Mode, Output, Progress, TransferConfig,
};
use ferry_interop::in_process::InProcess;
use ferry_interop::Driver;
use ferry_service::tftp::ServerConfig;

const MIB: usize = 1024 * 1024;

/// A server on 127.0.0.1 serving a fresh temporary root.
struct TestServer {
    server: InProcess,
    root: tempfile::TempDir,
}

impl TestServer {
    fn start(driver: Driver, write: bool) -> TestServer {
        TestServer::start_with(driver, |c| c.policy.allow_write = write)
    }

    fn start_with(driver: Driver, configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let root = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(root.path(), "127.0.0.1:0".parse().unwrap());
        configure(&mut config);
        let server = InProcess::tftp(driver, config);
        assert_ne!(server.tftp_addr().port(), 0);
        TestServer { server, root }
    }

    fn addr(&self) -> SocketAddr {
        self.server.tftp_addr()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn write_file(&self, name: &str, data: &[u8]) {
        std::fs::write(self.path(name), data).unwrap();
    }

    /// Names in the root, sorted: temporary files would show here.
    fn listing(&self) -> Vec<String> {
        ferry_interop::ftp::names(self.root.path())
    }

    /// Waits (up to 10 s) until the root's names satisfy `done`: a
    /// transfer's temporary file goes once the server has seen its end,
    /// which may be a moment after the client's.
    #[track_caller]
    fn settles(&self, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let names = self.listing();
            if done(&names) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the root never settled: {names:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(mut self) {
        self.server.stop();
    }

    fn get(&self, remote: &str, options: &ClientOptions) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::new();
        get(
            "127.0.0.1",
            self.addr().port(),
            remote,
            Output::Writer(&mut out),
            options,
            &mut |_| {},
        )?;
        Ok(out)
    }

    fn put(&self, data: &[u8], remote: &str, options: &ClientOptions) -> Result<(), ClientError> {
        let mut reader = data;
        let input = Input::Reader {
            reader: &mut reader,
            len: Some(data.len() as u64),
        };
        put(
            input,
            "127.0.0.1",
            self.addr().port(),
            remote,
            options,
            &mut |_| {},
        )
        .map(drop)
    }
}

/// Deterministic bytes that are not a repeating pattern of any block size.
fn data(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ len as u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn options(blksize: u16, windowsize: u16) -> ClientOptions {
    ClientOptions {
        blksize: Some(blksize),
        windowsize: Some(windowsize),
        transfer: quick(),
        ..ClientOptions::default()
    }
}

/// Short dally so the tests do not wait a second after every download.
fn quick() -> TransferConfig {
    TransferConfig {
        dally: Duration::from_millis(20),
        ..TransferConfig::default()
    }
}

fn sizes(blksize: u16) -> Vec<usize> {
    let b = usize::from(blksize);
    let mut sizes = vec![0, 1, 511, 512, 513, b - 1, b, b + 1, 3 * b, MIB];
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

fn get_every_size_block_size_and_window(driver: Driver) {
    let server = TestServer::start(driver, false);
    for blksize in [512u16, 1468, 8192] {
        for windowsize in [1u16, 8] {
            for size in sizes(blksize) {
                let name = format!("f{size}");
                let expected = data(size);
                server.write_file(&name, &expected);
                let got = server
                    .get(&name, &options(blksize, windowsize))
                    .unwrap_or_else(|e| panic!("{name} {blksize}/{windowsize}: {e}"));
                assert!(
                    got == expected,
                    "{name} at blksize {blksize} windowsize {windowsize}: {} bytes, expected {}",
                    got.len(),
                    expected.len()
                );
            }
        }
    }
}

fn put_every_size_block_size_and_window(driver: Driver) {
    let server = TestServer::start(driver, true);
    for blksize in [512u16, 1468, 8192] {
        for windowsize in [1u16, 8] {
            for size in sizes(blksize) {
                let name = format!("up-{blksize}-{windowsize}-{size}");
                let expected = data(size);
                server
                    .put(&expected, &name, &options(blksize, windowsize))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                // The server commits before its final ACK goes out.
                let stored = std::fs::read(server.path(&name)).unwrap();
                assert!(stored == expected, "{name}: {} bytes stored", stored.len());
            }
        }
    }
    server.settles(|names| names.iter().all(|n| n.starts_with("up-")));
}

fn default_options_are_plain_rfc1350(driver: Driver) {
    let server = TestServer::start(driver, true);
    let expected = data(100_000);
    let plain = ClientOptions {
        transfer: quick(),
        ..ClientOptions::default()
    };
    server.put(&expected, "plain", &plain).unwrap();
    assert_eq!(server.get("plain", &plain).unwrap(), expected);
}

fn large_blocks_and_wide_windows(driver: Driver) {
    let server = TestServer::start(driver, true);
    let expected = data(4 * MIB + 7);
    server.write_file("big", &expected);
    for (blksize, windowsize) in [(65464u16, 4u16), (65464, 16), (1468, 64), (8192, 32)] {
        let got = server.get("big", &options(blksize, windowsize)).unwrap();
        assert!(got == expected, "get {blksize}/{windowsize}");
        let name = format!("big-{blksize}-{windowsize}");
        server
            .put(&expected, &name, &options(blksize, windowsize))
            .unwrap();
        assert!(std::fs::read(server.path(&name)).unwrap() == expected);
    }
}

fn netascii_round_trip(driver: Driver) {
    let server = TestServer::start(driver, true);
    // Line ends, a bare CR, a CR LF pair and a NUL, repeated across many
    // block boundaries at a small block size.
    let mut text = Vec::new();
    for i in 0..400 {
        text.extend_from_slice(format!("line {i}\n").as_bytes());
        text.extend_from_slice(b"bare\rcr and crlf\r\n nul\0 end\n");
    }
    let netascii = ClientOptions {
        blksize: Some(64),
        mode: Mode::Netascii,
        transfer: quick(),
        ..ClientOptions::default()
    };
    server.put(&text, "text.txt", &netascii).unwrap();
    let stored = std::fs::read(server.path("text.txt")).unwrap();
    assert!(stored == text, "stored text differs from the original");
    let back = server.get("text.txt", &netascii).unwrap();
    assert!(back == text, "text fetched back differs");
}

fn netascii_get_converts_line_ends_on_the_wire(driver: Driver) {
    let server = TestServer::start(driver, false);
    server.write_file("t", b"a\nb\rc");
    // Read in netascii, written raw by an octet-mode peer, would show the
    // wire form; here both ends convert, so check the wire with a raw
    // request instead.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
        .send_to(b"\x00\x01t\x00netascii\x00", server.addr())
        .unwrap();
    let mut buf = [0u8; 600];
    let (n, from) = socket.recv_from(&mut buf).unwrap();
    assert_ne!(
        from,
        server.addr(),
        "data must come from the transfer's own port"
    );
    assert_eq!(&buf[..n], b"\x00\x03\x00\x01a\r\nb\r\x00c");
    socket.send_to(b"\x00\x04\x00\x01", from).unwrap();
}

fn missing_file_is_error_1(driver: Driver) {
    let server = TestServer::start(driver, false);
    let err = server.get("no-such-file", &options(512, 1)).unwrap_err();
    match err {
        ClientError::Server { code, ref message } => {
            assert_eq!(code, 1);
            assert_eq!(message, "File not found");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.to_string(), "server error 1: File not found");
}

fn write_without_permission_is_error_2(driver: Driver) {
    let server = TestServer::start(driver, false);
    let err = server.put(b"hello", "x", &options(512, 1)).unwrap_err();
    assert!(
        matches!(err, ClientError::Server { code: 2, .. }),
        "unexpected {err:?}"
    );
    server.settles(|names| names.is_empty());
}

fn paths_outside_the_root_are_refused(driver: Driver) {
    let server = TestServer::start(driver, true);
    for name in ["../etc/passwd", "a/../../x", "/../x"] {
        let err = server.get(name, &options(512, 1)).unwrap_err();
        assert!(
            matches!(err, ClientError::Server { code: 2, .. }),
            "{name}: {err:?}"
        );
        let err = server.put(b"x", name, &options(512, 1)).unwrap_err();
        assert!(
            matches!(err, ClientError::Server { code: 2, .. }),
            "{name}: {err:?}"
        );
    }
}

fn directory_is_not_served(driver: Driver) {
    let server = TestServer::start(driver, false);
    std::fs::create_dir(server.path("dir")).unwrap();
    let err = server.get("dir", &options(512, 1)).unwrap_err();
    assert!(matches!(err, ClientError::Server { .. }), "{err:?}");
}

/// A reader that fails after `ok` bytes, like a disk that goes away.
struct FailingReader {
    data: Vec<u8>,
    at: usize,
    ok: usize,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at >= self.ok {
            return Err(io::Error::other("source vanished"));
        }
        let n = buf.len().min(self.ok - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn failed_upload_leaves_no_file_and_keeps_the_old_one(driver: Driver) {
    let server = TestServer::start(driver, true);
    server.write_file("kept", b"old content");
    for name in ["new", "kept"] {
        let mut reader = FailingReader {
            data: data(MIB),
            at: 0,
            ok: 300_000,
        };
        let input = Input::Reader {
            reader: &mut reader,
            len: Some(MIB as u64),
        };
        let err = put(
            input,
            "127.0.0.1",
            server.addr().port(),
            name,
            &options(1468, 8),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("source vanished"),
            "unexpected {err}"
        );
    }
    server.settles(|names| names == ["kept"]);
    assert_eq!(std::fs::read(server.path("kept")).unwrap(), b"old content");
}

/// Send an RRQ and never answer: the transfer stays busy retransmitting.
fn stalled_reader(server: SocketAddr, name: &str) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rrq = vec![0, 1];
    rrq.extend_from_slice(name.as_bytes());
    rrq.extend_from_slice(b"\0octet\0");
    socket.send_to(&rrq, server).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buf = [0u8; 600];
    let (n, _) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..4], b"\x00\x03\x00\x01", "first DATA");
    assert_eq!(n, 516);
    socket
}

fn over_the_limit_requests_are_refused(driver: Driver) {
    let server = TestServer::start_with(driver, |c| c.max_transfers = 1);
    server.write_file("f", &data(10_000));
    let _busy = stalled_reader(server.addr(), "f");
    let err = server.get("f", &options(512, 1)).unwrap_err();
    match err {
        ClientError::Server { code, message } => {
            assert_eq!(code, 0);
            assert_eq!(message, "server busy");
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn shutdown_aborts_running_transfers_with_an_error(driver: Driver) {
    let server = TestServer::start(driver, false);
    server.write_file("f", &data(10_000));
    let socket = stalled_reader(server.addr(), "f");
    server.server.shutdown();
    let mut buf = [0u8; 600];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no ERROR after shutdown");
        let (n, _) = socket.recv_from(&mut buf).unwrap();
        // Retransmitted DATA 1 may come first; then the ERROR.
        if buf[..2] == [0, 5] {
            assert!(n > 4);
            break;
        }
        assert_eq!(&buf[..4], b"\x00\x03\x00\x01");
    }
    server.stop();
}

fn requests_from_many_clients_at_once(driver: Driver) {
    many_clients(TestServer::start(driver, true));
}

/// Eight clients at once, each downloading one shared file and uploading
/// a copy of it: every byte arrives.
fn many_clients(server: TestServer) {
    let server = Arc::new(server);
    let expected = Arc::new(data(300_000));
    server.write_file("shared", &expected);
    let failures = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let server = Arc::clone(&server);
            let expected = Arc::clone(&expected);
            let failures = Arc::clone(&failures);
            thread::spawn(move || {
                let got = server.get("shared", &options(1468, 4)).unwrap();
                if got != *expected {
                    failures.store(true, Ordering::Relaxed);
                }
                let name = format!("c{i}");
                server.put(&expected, &name, &options(512, 8)).unwrap();
                if std::fs::read(server.path(&name)).unwrap() != *expected {
                    failures.store(true, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(!failures.load(Ordering::Relaxed));
}

fn ipv6_loopback(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("six"), data(50_000)).unwrap();
    let mut config = ServerConfig::new(root.path(), "[::1]:0".parse().unwrap());
    config.policy.allow_write = true;
    let server = match InProcess::try_tftp(driver, config) {
        Ok(server) => server,
        // No IPv6 on this host: nothing to test.
        Err(err) => return eprintln!("skipping: {err}"),
    };
    let port = server.tftp_addr().port();
    let mut out = Vec::new();
    get(
        "::1",
        port,
        "six",
        Output::Writer(&mut out),
        &options(1468, 8),
        &mut |_| {},
    )
    .unwrap();
    assert!(out == data(50_000));
    let mut reader = &out[..];
    let input = Input::Reader {
        reader: &mut reader,
        len: None,
    };
    put(input, "::1", port, "back", &options(512, 1), &mut |_| {}).unwrap();
    assert!(std::fs::read(root.path().join("back")).unwrap() == data(50_000));
}

fn a_repeated_request_does_not_start_a_second_transfer(driver: Driver) {
    let server = TestServer::start(driver, false);
    server.write_file("f", b"short file");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let rrq = b"\x00\x01f\x00octet\x00";
    socket.send_to(rrq, server.addr()).unwrap();
    socket.send_to(rrq, server.addr()).unwrap();
    let mut buf = [0u8; 600];
    let (n, tid) = socket.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"\x00\x03\x00\x01short file");
    // Nothing else arrives before the first transfer's own timer fires.
    match socket.recv_from(&mut buf) {
        Err(err) => assert!(matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )),
        Ok((n, from)) => panic!("unexpected {:?} from {from}", &buf[..n]),
    }
    socket.send_to(b"\x00\x04\x00\x01", tid).unwrap();
    // Nor once that transfer has ended: the repeat started nothing.
    match socket.recv_from(&mut buf) {
        Err(err) => assert!(matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )),
        Ok((n, from)) => panic!("a second transfer: {:?} from {from}", &buf[..n]),
    }
}

/// Read from `socket` within 500 ms, or fail naming `what`: a client
/// whose request was ignored would wait for its own timeout (seconds).
#[track_caller]
fn answer_within_500ms(socket: &UdpSocket, what: &str) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 600];
    let sent = Instant::now();
    match socket.recv_from(&mut buf) {
        Ok((n, from)) => (buf[..n].to_vec(), from),
        Err(err) => panic!("{what}: no answer after {:?} ({err})", sent.elapsed()),
    }
}

/// A client that asks again from the same port right after it ACKed the
/// last block of its previous download (or got the last ACK of its
/// upload) is answered at once: the server must not take the request for
/// a repeat of the transfer it has just finished, whichever of the two
/// datagrams it happens to read first.
fn back_to_back_requests_from_one_port(server: TestServer) {
    let file = data(1300); // blocks of 512, 512 and 276 bytes
    server.write_file("f", &file);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let rrq = b"\x00\x01f\x00octet\x00";
    socket.send_to(rrq, server.addr()).unwrap();
    for round in 0..20 {
        let mut got = Vec::new();
        let mut expected_block = 1u16;
        loop {
            let (packet, tid) = answer_within_500ms(&socket, &format!("round {round}"));
            assert_eq!(
                packet[..4],
                [0, 3, 0, expected_block as u8],
                "round {round}"
            );
            got.extend_from_slice(&packet[4..]);
            socket
                .send_to(&[0, 4, 0, expected_block as u8], tid)
                .unwrap();
            if packet.len() < 516 {
                break;
            }
            expected_block += 1;
        }
        assert!(got == file, "round {round}: {} bytes", got.len());
        // At once: the final ACK is hardly out of the socket.
        socket.send_to(rrq, server.addr()).unwrap();
    }
    // The last request's transfer: answered, then given up by the client.
    let (packet, tid) = answer_within_500ms(&socket, "the last round");
    assert_eq!(packet[..4], [0, 3, 0, 1]);
    socket.send_to(b"\x00\x05\x00\x00gone\x00", tid).unwrap();

    // An upload whose last ACK the client has got: the server dallies,
    // in case that ACK was lost, but a new request from the client says
    // it was not.
    for round in 0..5 {
        let name = format!("up{round}");
        let wrq = format!("\x00\x02{name}\x00octet\x00");
        socket.send_to(wrq.as_bytes(), server.addr()).unwrap();
        let (packet, tid) = answer_within_500ms(&socket, &format!("WRQ {round}"));
        assert_eq!(packet, [0, 4, 0, 0], "upload round {round}");
        let mut block = vec![0, 3, 0, 1];
        block.extend_from_slice(&file[..100]);
        socket.send_to(&block, tid).unwrap();
        let (packet, _) = answer_within_500ms(&socket, &format!("DATA {round}"));
        assert_eq!(packet, [0, 4, 0, 1], "upload round {round}");
        socket.send_to(rrq, server.addr()).unwrap();
        let (packet, tid) = answer_within_500ms(&socket, &format!("RRQ after upload {round}"));
        assert_eq!(packet[..4], [0, 3, 0, 1], "round {round}");
        socket.send_to(b"\x00\x05\x00\x00gone\x00", tid).unwrap();
        assert!(std::fs::read(server.path(&name)).unwrap() == file[..100]);
    }
}

fn a_new_request_right_after_a_transfer_is_answered_at_once(driver: Driver) {
    back_to_back_requests_from_one_port(TestServer::start(driver, true));
}

// ---------------------------------------------------------------------------
// Single-port TFTP: every transfer on the request socket (where each
// reply comes from is checked in tftp_single_port.rs).

/// A single-port server on 127.0.0.1.
fn single_port(driver: Driver, write: bool) -> TestServer {
    TestServer::start_with(driver, |c| {
        c.policy.allow_write = write;
        c.single_port = true;
    })
}

fn single_port_answers_a_new_request_right_after_a_transfer(driver: Driver) {
    back_to_back_requests_from_one_port(single_port(driver, true));
}

fn single_port_serves_many_clients_at_once(driver: Driver) {
    many_clients(single_port(driver, true));
}

// The client's own behaviour around a server: atomic downloads, progress,
// cancelling.

fn download_to_a_path_is_atomic(driver: Driver) {
    let server = TestServer::start(driver, false);
    let expected = data(200_000);
    server.write_file("src", &expected);
    let local = tempfile::tempdir().unwrap();
    let dest = local.path().join("copy");
    std::fs::write(&dest, b"previous").unwrap();

    let mut seen = Vec::new();
    get(
        "127.0.0.1",
        server.addr().port(),
        "src",
        Output::Path(&dest),
        &options(1468, 4),
        &mut |p: Progress| seen.push(p),
    )
    .unwrap();
    assert!(std::fs::read(&dest).unwrap() == expected);
    let last = *seen.last().unwrap();
    assert_eq!(last.bytes, expected.len() as u64);
    assert_eq!(
        last.total,
        Some(expected.len() as u64),
        "tsize gives the total"
    );

    // A failed download leaves the previous file and no temporary file.
    std::fs::write(&dest, b"previous").unwrap();
    let err = get(
        "127.0.0.1",
        server.addr().port(),
        "missing",
        Output::Path(&dest),
        &options(1468, 4),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ClientError::Server { code: 1, .. }));
    assert_eq!(std::fs::read(&dest).unwrap(), b"previous");
    assert_eq!(std::fs::read_dir(local.path()).unwrap().count(), 1);
}

fn upload_from_a_path_reports_progress(driver: Driver) {
    let server = TestServer::start(driver, true);
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src");
    let expected = data(700_001);
    std::fs::write(&src, &expected).unwrap();
    let mut last = None;
    put(
        Input::Path(&src),
        "127.0.0.1",
        server.addr().port(),
        "dst",
        &options(8192, 8),
        &mut |p: Progress| last = Some(p),
    )
    .unwrap();
    assert_eq!(
        last,
        Some(Progress {
            bytes: 700_001,
            total: Some(700_001)
        })
    );
    assert!(std::fs::read(server.path("dst")).unwrap() == expected);

    let err = put(
        Input::Path(Path::new("/nonexistent/file")),
        "127.0.0.1",
        server.addr().port(),
        "dst",
        &options(8192, 8),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ClientError::LocalFile { .. }), "{err:?}");
}

/// The client alone, against a fake server: no driver involved.
#[test]
fn cancel_stops_a_download_and_tells_the_server() {
    // A server that sends the first block and then goes silent.
    let fake = UdpSocket::bind("127.0.0.1:0").unwrap();
    fake.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = fake.local_addr().unwrap().port();
    let local = tempfile::tempdir().unwrap();
    let dest = local.path().join("partial");
    let cancel = Arc::new(AtomicBool::new(false));
    let opts = ClientOptions {
        cancel: Some(Arc::clone(&cancel)),
        ..ClientOptions::default()
    };
    let client = {
        let dest = dest.clone();
        thread::spawn(move || {
            get(
                "127.0.0.1",
                port,
                "f",
                Output::Path(&dest),
                &opts,
                &mut |_| {},
            )
        })
    };
    let mut buf = [0u8; 600];
    let (_, client_addr) = fake.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..2], b"\x00\x01", "RRQ");
    let mut block = vec![0, 3, 0, 1];
    block.extend_from_slice(&[7u8; 512]);
    // Answer from another port, as a real server's transfer ID would.
    let tid = UdpSocket::bind("127.0.0.1:0").unwrap();
    tid.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tid.send_to(&block, client_addr).unwrap();
    let (n, _) = tid.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"\x00\x04\x00\x01", "ACK 1");
    cancel.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let result = client.join().unwrap();
    assert!(matches!(result, Err(ClientError::Cancelled)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The server was told, with an ERROR packet.
    loop {
        let (n, _) = tid.recv_from(&mut buf).unwrap();
        if buf[..2] == [0, 5] {
            assert!(n > 4);
            break;
        }
    }
    assert_eq!(std::fs::read_dir(local.path()).unwrap().count(), 0);
}

ferry_interop::driver_tests!(
    get_every_size_block_size_and_window,
    put_every_size_block_size_and_window,
    default_options_are_plain_rfc1350,
    large_blocks_and_wide_windows,
    netascii_round_trip,
    netascii_get_converts_line_ends_on_the_wire,
    missing_file_is_error_1,
    write_without_permission_is_error_2,
    paths_outside_the_root_are_refused,
    directory_is_not_served,
    failed_upload_leaves_no_file_and_keeps_the_old_one,
    over_the_limit_requests_are_refused,
    shutdown_aborts_running_transfers_with_an_error,
    requests_from_many_clients_at_once,
    ipv6_loopback,
    a_repeated_request_does_not_start_a_second_transfer,
    a_new_request_right_after_a_transfer_is_answered_at_once,
    single_port_answers_a_new_request_right_after_a_transfer,
    single_port_serves_many_clients_at_once,
    download_to_a_path_is_atomic,
    upload_from_a_path_reports_progress,
);
