//! The loop's TFTP server, in process: transfers byte for byte through
//! ferry's client, and what only a raw client sees (retransmissions from
//! the timer heap, which port answers, refusals, shutdown).

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use ferry_blocking::tftp::{get, put, ClientOptions, Input, Output};
use ferry_service::tftp::ServerConfig;
use tftp_proto::transfer::TransferConfig;

use crate::{Server, ShutdownHandle};

struct Running {
    addr: SocketAddr,
    stop: ShutdownHandle,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    fn start(config: ServerConfig) -> Running {
        let mut server = Server::bind(None, Some(config)).unwrap();
        let addr = server.tftp_addr().unwrap();
        let stop = server.shutdown_handle();
        let thread = thread::spawn(move || server.run().unwrap());
        Running {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// Stop and wait for the loop to return.
    fn stop(&mut self) {
        self.stop.shutdown();
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

fn config(root: &Path, single_port: bool) -> ServerConfig {
    let mut config = ServerConfig::new(root, "127.0.0.1:0".parse().unwrap());
    config.policy.allow_write = true;
    config.single_port = single_port;
    config
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn options(blksize: Option<u16>, windowsize: Option<u16>) -> ClientOptions {
    ClientOptions {
        blksize,
        windowsize,
        ..ClientOptions::default()
    }
}

fn download(addr: SocketAddr, name: &str, options: &ClientOptions) -> Vec<u8> {
    let mut got = Vec::new();
    get(
        "127.0.0.1",
        addr.port(),
        name,
        Output::Writer(&mut got),
        options,
        &mut |_| {},
    )
    .unwrap();
    got
}

fn upload(addr: SocketAddr, name: &str, mut bytes: &[u8], options: &ClientOptions) {
    let len = Some(bytes.len() as u64);
    let input = Input::Reader {
        reader: &mut bytes,
        len,
    };
    put(input, "127.0.0.1", addr.port(), name, options, &mut |_| {}).unwrap();
}

fn round_trips(single_port: bool) {
    let root = tempfile::tempdir().unwrap();
    let server = Running::start(config(root.path(), single_port));
    let cases = [
        (None, None, 0),
        (None, None, 512 * 20),
        (Some(1468), None, 1_000_003),
        (Some(1468), Some(16), 2_000_001),
        (Some(65464), Some(4), 1_500_000),
    ];
    for (i, (blksize, windowsize, len)) in cases.into_iter().enumerate() {
        let name = format!("file-{i}");
        let want = data(len, i as u8);
        std::fs::write(root.path().join(&name), &want).unwrap();
        let options = options(blksize, windowsize);
        assert!(download(server.addr, &name, &options) == want, "{name}");

        let sent = data(len, 100 + i as u8);
        upload(server.addr, &format!("up-{name}"), &sent, &options);
        let stored = std::fs::read(root.path().join(format!("up-{name}"))).unwrap();
        assert!(stored == sent, "up-{name}");
    }
}

#[test]
fn downloads_and_uploads_are_byte_exact() {
    round_trips(false);
}

#[test]
fn single_port_downloads_and_uploads_are_byte_exact() {
    round_trips(true);
}

/// Many transfers on the one thread, each with its own bytes.
fn many_at_once(single_port: bool) {
    let root = tempfile::tempdir().unwrap();
    let mut config = config(root.path(), single_port);
    config.max_transfers = 200;
    let server = Running::start(config);
    let files: Vec<Vec<u8>> = (0..100).map(|i| data(50_000 + i * 97, i as u8)).collect();
    for (i, file) in files.iter().enumerate() {
        std::fs::write(root.path().join(format!("f{i}")), file).unwrap();
    }
    thread::scope(|scope| {
        for (i, want) in files.iter().enumerate() {
            let addr = server.addr;
            scope.spawn(move || {
                let options = options(Some(1024), Some(1 + (i % 4) as u16));
                assert!(download(addr, &format!("f{i}"), &options) == *want, "f{i}");
            });
        }
    });
}

#[test]
fn a_hundred_transfers_at_once() {
    many_at_once(false);
}

#[test]
fn a_hundred_transfers_at_once_on_one_port() {
    many_at_once(true);
}

// ---------------------------------------------------------------------------
// A raw client.

fn rrq(name: &str) -> Vec<u8> {
    let mut packet = vec![0, 1];
    for field in [name, "octet"] {
        packet.extend_from_slice(field.as_bytes());
        packet.push(0);
    }
    packet
}

fn wrq(name: &str) -> Vec<u8> {
    let mut packet = rrq(name);
    packet[1] = 2;
    packet
}

fn client(timeout: Duration) -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(timeout)).unwrap();
    socket
}

fn recv(socket: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = vec![0u8; 65536];
    let (len, from) = socket.recv_from(&mut buf).ok()?;
    buf.truncate(len);
    Some((buf, from))
}

/// ERROR `code` with `text`, as sent.
fn error(code: u16, text: &str) -> Vec<u8> {
    let mut packet = vec![0, 5];
    packet.extend_from_slice(&code.to_be_bytes());
    packet.extend_from_slice(text.as_bytes());
    packet.push(0);
    packet
}

#[test]
fn an_unanswered_block_is_sent_again_from_its_own_port() {
    let root = tempfile::tempdir().unwrap();
    let mut config = config(root.path(), false);
    config.policy.transfer = TransferConfig {
        initial_rto: Duration::from_millis(100),
        ..TransferConfig::default()
    };
    std::fs::write(root.path().join("f"), data(2000, 1)).unwrap();
    let server = Running::start(config);
    let socket = client(Duration::from_secs(5));
    socket.send_to(&rrq("f"), server.addr).unwrap();
    let (first, port) = recv(&socket).unwrap();
    assert_eq!(&first[..4], &[0, 3, 0, 1], "DATA 1");
    assert_ne!(port, server.addr, "a transfer has its own port");
    let (again, from) = recv(&socket).unwrap();
    assert_eq!(again, first, "DATA 1 again");
    assert_eq!(from, port);
}

#[test]
fn a_repeated_request_starts_nothing_and_the_limit_refuses() {
    let root = tempfile::tempdir().unwrap();
    let mut config = config(root.path(), false);
    config.max_transfers = 1;
    std::fs::write(root.path().join("f"), data(2000, 1)).unwrap();
    let server = Running::start(config);

    let stalled = client(Duration::from_millis(300));
    stalled.send_to(&rrq("f"), server.addr).unwrap();
    stalled.send_to(&rrq("f"), server.addr).unwrap();
    let (first, _) = recv(&stalled).unwrap();
    assert_eq!(&first[..4], &[0, 3, 0, 1], "DATA 1");
    // Its timer (1 s) has not fired: nothing more, from no port.
    assert!(recv(&stalled).is_none(), "a second transfer started");

    let other = client(Duration::from_secs(5));
    other.send_to(&rrq("f"), server.addr).unwrap();
    let (refusal, from) = recv(&other).unwrap();
    assert_eq!(refusal, error(0, "server busy"));
    assert_eq!(from, server.addr, "refusals come from the request socket");
}

fn shutdown_aborts(single_port: bool) {
    let root = tempfile::tempdir().unwrap();
    let mut server = Running::start(config(root.path(), single_port));
    let socket = client(Duration::from_secs(5));
    socket.send_to(&wrq("partial"), server.addr).unwrap();
    let (ack0, port) = recv(&socket).unwrap();
    assert_eq!(ack0, [0, 4, 0, 0]);
    let mut block = vec![0, 3, 0, 1];
    block.extend_from_slice(&data(512, 9));
    socket.send_to(&block, port).unwrap();
    assert_eq!(recv(&socket).unwrap().0, [0, 4, 0, 1]);

    server.stop();
    // Until then the server may resend ACK 1 (its timer runs).
    let bye = loop {
        let (packet, from) = recv(&socket).unwrap();
        assert_eq!(from, port);
        if packet != [0, 4, 0, 1] {
            break packet;
        }
    };
    assert_eq!(bye, error(0, "server shutting down"));
    let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
    assert!(left.is_empty(), "the partial upload was kept: {left:?}");
}

#[test]
fn shutdown_aborts_transfers_and_discards_uploads() {
    shutdown_aborts(false);
}

#[test]
fn single_port_shutdown_aborts_transfers_and_discards_uploads() {
    shutdown_aborts(true);
}

/// A failed read of the request socket neither ends the server nor leaves
/// the socket unread (the loop is edge-triggered): a retry is armed, with
/// a pause that doubles while reads keep failing, and it drains the socket.
#[test]
fn a_failed_request_read_is_retried_on_a_timer() {
    use super::{Tftp, RETRY_MIN};
    use crate::reactor::{Cx, Service, Timers};

    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"retried").unwrap();
    let poll = mio::Poll::new().unwrap();
    let waker = std::sync::Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
    let mut timers = Timers::default();
    let mut tftp = Tftp::bind(config(root.path(), false), poll.registry()).unwrap();
    let now = ferry_service::clock::now();
    let mut cx = Cx {
        registry: poll.registry(),
        timers: &mut timers,
        waker: &waker,
        now,
    };
    tftp.request_failed(&mut cx, std::io::Error::other("first"));
    tftp.request_failed(&mut cx, std::io::Error::other("second"));
    assert_eq!(tftp.retry, RETRY_MIN * 2);
    // The earlier deadline stays armed; the later one adds nothing.
    let at = now + RETRY_MIN;
    assert_eq!(tftp.retry_armed, Some(at));
    assert_eq!(cx.timers.next(), Some(at));
    assert_eq!(cx.timers.len(), 1);

    // A request waits, unread; the retry reads it.
    let socket = client(Duration::from_secs(5));
    socket.send_to(&rrq("f"), tftp.local_addr()).unwrap();
    thread::sleep(Duration::from_millis(50));
    let (due, _) = cx.timers.pop_due(at).unwrap();
    assert_eq!(due, at);
    tftp.timer(&mut cx, 0, at);
    assert_eq!(tftp.retry_armed, None);
    assert_eq!(tftp.retry, Duration::ZERO, "a read succeeded");
    let (packet, _) = recv(&socket).expect("the request was read");
    assert_eq!(packet, b"\x00\x03\x00\x01retried");
    tftp.shutdown(&mut cx);
}
