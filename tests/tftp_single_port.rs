//! Single-port TFTP (`ferry serve --tftp-single-port`), on both drivers:
//! every transfer runs on the listening port, told apart by the client's
//! address. Real clients (tftp-hpa, atftp) and a hand-written one that
//! checks where every reply comes from; every file byte for byte.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::thread;
use std::time::Duration;

use ferry_interop::tftp::{atftp, tftp_hpa};
use ferry_interop::{
    assert_bytes_eq, assert_file_eq, content, make_file, require_peer, run, temp_dir, Driver,
    FerryServer, PEER_TIMEOUT,
};

ferry_interop::driver_tests!(
    tftp_hpa_get_and_put,
    atftp_get_and_put,
    several_clients_at_once,
    every_reply_comes_from_the_listening_port,
);

/// A writable single-port server.
fn single_port(driver: Driver, root: &Path) -> FerryServer {
    FerryServer::start(driver, root, &["--write", "--tftp-single-port"])
}

fn tftp_hpa_get(server: &FerryServer, name: &str, local: &Path) {
    let local = local.to_str().unwrap();
    let done = run(
        &mut tftp_hpa(server.port(), &["get", name, local]),
        PEER_TIMEOUT,
    );
    // tftp-hpa exits 0 even after an ERROR: judge by stderr and the bytes.
    done.assert_success("tftp-hpa get");
    assert!(done.stderr.is_empty(), "tftp-hpa: {}", done.stderr);
}

fn tftp_hpa_put(server: &FerryServer, local: &Path, name: &str) {
    let local = local.to_str().unwrap();
    let done = run(
        &mut tftp_hpa(server.port(), &["put", local, name]),
        PEER_TIMEOUT,
    );
    done.assert_success("tftp-hpa put");
    assert!(done.stderr.is_empty(), "tftp-hpa: {}", done.stderr);
}

fn atftp_get(
    server: &FerryServer,
    blksize: u16,
    windowsize: Option<u16>,
    name: &str,
    local: &Path,
) {
    run(
        atftp(server.port(), blksize, windowsize)
            .args(["-g", "-r", name, "-l"])
            .arg(local),
        PEER_TIMEOUT,
    )
    .assert_success("atftp get");
}

fn atftp_put(
    server: &FerryServer,
    blksize: u16,
    windowsize: Option<u16>,
    local: &Path,
    name: &str,
) {
    run(
        atftp(server.port(), blksize, windowsize)
            .args(["-p", "-r", name, "-l"])
            .arg(local),
        PEER_TIMEOUT,
    )
    .assert_success("atftp put");
}

fn tftp_hpa_get_and_put(driver: Driver) {
    require_peer!("tftp");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = single_port(driver, root.path());
    // A multiple of the block size (ends with an empty DATA), a large odd
    // size, and an empty file.
    for (seed, len) in [512 * 300, 2_000_000 + 17, 0].into_iter().enumerate() {
        let name = format!("file-{len}.bin");
        let want = make_file(root.path(), &name, len, 10 + seed as u64);
        let local = work.path().join(&name);
        tftp_hpa_get(&server, &name, &local);
        assert_file_eq(&local, &want);

        let upload = make_file(work.path(), &format!("up-{name}"), len, 20 + seed as u64);
        let remote = format!("put-{name}");
        tftp_hpa_put(&server, &work.path().join(format!("up-{name}")), &remote);
        assert_file_eq(&root.path().join(&remote), &upload);
    }
}

fn atftp_get_and_put(driver: Driver) {
    require_peer!("atftp");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = single_port(driver, root.path());
    for (seed, (blksize, windowsize)) in [(1468, None), (1468, Some(8)), (8192, Some(16))]
        .into_iter()
        .enumerate()
    {
        let len = 3_000_000 + seed;
        let name = format!("file-{blksize}-{seed}.bin");
        let want = make_file(root.path(), &name, len, 30 + seed as u64);
        let local = work.path().join(format!("got-{name}"));
        atftp_get(&server, blksize, windowsize, &name, &local);
        assert_file_eq(&local, &want);

        let upload = make_file(work.path(), &format!("up-{name}"), len, 40 + seed as u64);
        let remote = format!("put-{name}");
        atftp_put(
            &server,
            blksize,
            windowsize,
            &work.path().join(format!("up-{name}")),
            &remote,
        );
        assert_file_eq(&root.path().join(&remote), &upload);
    }
}

/// tftp-hpa and atftp clients, downloading and uploading at the same time
/// through the one port, each getting its own bytes.
fn several_clients_at_once(driver: Driver) {
    require_peer!("tftp");
    require_peer!("atftp");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = single_port(driver, root.path());
    let mut wanted = Vec::new();
    for i in 0..12 {
        let name = format!("down-{i}.bin");
        wanted.push((
            name.clone(),
            make_file(root.path(), &name, 300_000 + i * 1001, 100 + i as u64),
        ));
    }
    let mut uploads = Vec::new();
    for i in 0..6 {
        let name = format!("up-{i}.bin");
        uploads.push((
            name.clone(),
            make_file(work.path(), &name, 250_000 + i * 999, 200 + i as u64),
        ));
    }
    thread::scope(|scope| {
        for (i, (name, _)) in wanted.iter().enumerate() {
            let (server, work) = (&server, work.path());
            scope.spawn(move || {
                let local = work.join(format!("got-{name}"));
                match i % 3 {
                    0 => tftp_hpa_get(server, name, &local),
                    1 => atftp_get(server, 1468, None, name, &local),
                    _ => atftp_get(server, 1024, Some(4), name, &local),
                }
            });
        }
        for (i, (name, _)) in uploads.iter().enumerate() {
            let (server, work) = (&server, work.path());
            scope.spawn(move || {
                let local = work.join(name);
                let remote = format!("put-{name}");
                if i % 2 == 0 {
                    tftp_hpa_put(server, &local, &remote);
                } else {
                    atftp_put(server, 1468, Some(8), &local, &remote);
                }
            });
        }
    });
    for (name, want) in &wanted {
        assert_file_eq(&work.path().join(format!("got-{name}")), want);
    }
    for (name, want) in &uploads {
        assert_file_eq(&root.path().join(format!("put-{name}")), want);
    }
}

// ---------------------------------------------------------------------------
// A hand-written client that checks every reply's source.

const RRQ: u16 = 1;
const WRQ: u16 = 2;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;

fn request(opcode: u16, name: &str, blksize: u16) -> Vec<u8> {
    let mut packet = opcode.to_be_bytes().to_vec();
    for field in [name, "octet", "blksize", &blksize.to_string()] {
        packet.extend_from_slice(field.as_bytes());
        packet.push(0);
    }
    packet
}

fn ack(block: u16) -> [u8; 4] {
    let [a, b] = ACK.to_be_bytes();
    let [c, d] = block.to_be_bytes();
    [a, b, c, d]
}

fn data(block: u16, bytes: &[u8]) -> Vec<u8> {
    let mut packet = DATA.to_be_bytes().to_vec();
    packet.extend_from_slice(&block.to_be_bytes());
    packet.extend_from_slice(bytes);
    packet
}

/// The next datagram, which must come from the server's listening
/// address: (opcode, the rest).
fn reply(socket: &UdpSocket, server: SocketAddr) -> (u16, Vec<u8>) {
    let mut buf = vec![0u8; 65536];
    let (len, from) = socket.recv_from(&mut buf).expect("a reply from the server");
    assert_eq!(
        from, server,
        "a reply from another port than the listening one"
    );
    assert!(len >= 2, "a runt datagram");
    (u16::from_be_bytes([buf[0], buf[1]]), buf[2..len].to_vec())
}

fn client() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket
}

/// Download `name` in lock-step with `blksize` blocks, resending the RRQ
/// once mid-transfer (which must change nothing).
fn raw_get(server: SocketAddr, name: &str, blksize: u16) -> Vec<u8> {
    let socket = client();
    let rrq = request(RRQ, name, blksize);
    socket.send_to(&rrq, server).unwrap();
    let (op, _) = reply(&socket, server);
    assert_eq!(op, OACK, "OACK expected");
    socket.send_to(&ack(0), server).unwrap();
    let mut got = Vec::new();
    let mut expected: u16 = 1;
    loop {
        let (op, rest) = reply(&socket, server);
        assert_eq!(
            op,
            DATA,
            "DATA expected, got {op}: {:?}",
            String::from_utf8_lossy(&rest)
        );
        let block = u16::from_be_bytes([rest[0], rest[1]]);
        if block != expected {
            // A retransmission of the previous block: ACK it again.
            socket.send_to(&ack(block), server).unwrap();
            continue;
        }
        got.extend_from_slice(&rest[2..]);
        if block == 2 {
            socket.send_to(&rrq, server).unwrap();
        }
        socket.send_to(&ack(block), server).unwrap();
        if rest.len() - 2 < usize::from(blksize) {
            return got;
        }
        expected = expected.wrapping_add(1);
    }
}

/// Upload `bytes` as `name` in lock-step with `blksize` blocks.
fn raw_put(server: SocketAddr, name: &str, bytes: &[u8], blksize: u16) {
    let socket = client();
    socket
        .send_to(&request(WRQ, name, blksize), server)
        .unwrap();
    let (op, _) = reply(&socket, server);
    assert_eq!(op, OACK, "OACK expected");
    let blocks = bytes.len() / usize::from(blksize) + 1;
    for (i, chunk) in (0..blocks).map(|i| {
        let start = i * usize::from(blksize);
        (
            i,
            &bytes[start..(start + usize::from(blksize)).min(bytes.len())],
        )
    }) {
        let block = (i + 1) as u16;
        socket.send_to(&data(block, chunk), server).unwrap();
        let (op, rest) = reply(&socket, server);
        assert_eq!(
            op,
            ACK,
            "ACK expected, got {op}: {:?}",
            String::from_utf8_lossy(&rest)
        );
        assert_eq!(u16::from_be_bytes([rest[0], rest[1]]), block);
    }
}

fn every_reply_comes_from_the_listening_port(driver: Driver) {
    let root = temp_dir("root");
    let server = single_port(driver, root.path());
    let addr = server.addr();
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| {
            let name = format!("raw-{i}.bin");
            let len = 100_000 + i * 777;
            (
                name.clone(),
                make_file(root.path(), &name, len, 300 + i as u64),
            )
        })
        .collect();
    thread::scope(|scope| {
        for (i, (name, want)) in files.iter().enumerate() {
            scope.spawn(move || {
                let got = raw_get(addr, name, 512 + 256 * i as u16);
                assert_bytes_eq(&got, want, name);
            });
            scope.spawn(move || {
                let upload = content(400 + i as u64, 90_000 + i * 555);
                let remote = format!("raw-put-{i}.bin");
                raw_put(addr, &remote, &upload, 1024);
                upload
            });
        }
    });
    for i in 0..6 {
        assert_file_eq(
            &root.path().join(format!("raw-put-{i}.bin")),
            &content(400 + i as u64, 90_000 + i * 555),
        );
    }

    // A refusal comes from the listening port too.
    let socket = client();
    socket
        .send_to(&request(RRQ, "no-such-file", 512), addr)
        .unwrap();
    let (op, rest) = reply(&socket, addr);
    assert_eq!(op, ERROR);
    assert_eq!(u16::from_be_bytes([rest[0], rest[1]]), 1, "File not found");
}
