//! The TFTP client of this crate, in process over 127.0.0.1: what it does
//! with local files (atomic downloads, progress, cancellation). The
//! server's side of TFTP is tested under both drivers in the interop
//! crate (`tests/driver_tftp.rs`).

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ferry_blocking::tftp::{
    get, put, ClientError, ClientOptions, Input, Output, Progress, Server, ServerConfig,
    ShutdownHandle, TransferConfig,
};

struct TestServer {
    addr: SocketAddr,
    root: tempfile::TempDir,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(write: bool) -> TestServer {
        let root = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(root.path(), "127.0.0.1:0".parse().unwrap());
        config.policy.allow_write = write;
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

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.root.path().join(name)
    }

    fn write_file(&self, name: &str, data: &[u8]) {
        std::fs::write(self.path(name), data).unwrap();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
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

#[test]
fn download_to_a_path_is_atomic() {
    let server = TestServer::start(false);
    let expected = data(200_000);
    server.write_file("src", &expected);
    let local = tempfile::tempdir().unwrap();
    let dest = local.path().join("copy");
    std::fs::write(&dest, b"previous").unwrap();

    let mut seen = Vec::new();
    get(
        "127.0.0.1",
        server.addr.port(),
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
        server.addr.port(),
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

#[test]
fn upload_from_a_path_reports_progress() {
    let server = TestServer::start(true);
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src");
    let expected = data(700_001);
    std::fs::write(&src, &expected).unwrap();
    let mut last = None;
    put(
        Input::Path(&src),
        "127.0.0.1",
        server.addr.port(),
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
        server.addr.port(),
        "dst",
        &options(8192, 8),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ClientError::LocalFile { .. }), "{err:?}");
}

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
