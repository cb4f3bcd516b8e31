//! ferry's TFTP client (`ferry get` / `ferry put`) against tftpd-hpa
//! (`in.tftpd`), started by each test on 127.0.0.1. Every transfer is
//! checked byte for byte.

use ferry_interop::{
    assert_bytes_eq, assert_file_eq, ferry, make_file, run, temp_dir, TftpdHpa, PEER_TIMEOUT,
};

/// An exact multiple of the block size (the transfer ends with a
/// zero-length DATA), about 3 MB, and an empty file.
fn sizes(blksize: usize) -> [(String, usize); 3] {
    [
        (format!("multiple-{blksize}.bin"), blksize * 40),
        (format!("large-{blksize}.bin"), 3_000_000 + 29),
        (format!("empty-{blksize}.bin"), 0),
    ]
}

fn get_and_put(blksize: u16, extra: &[&str]) {
    let root = temp_dir("root");
    let work = temp_dir("work");
    let Some(server) = TftpdHpa::start(root.path(), true) else {
        return;
    };
    let blk = blksize.to_string();
    for (seed, (name, len)) in sizes(blksize as usize).into_iter().enumerate() {
        let want = make_file(root.path(), &name, len, 1000 + seed as u64);
        let local = work.path().join(format!("got-{name}"));
        run(
            ferry()
                .arg("get")
                .arg(server.url(&name))
                .arg("-o")
                .arg(&local)
                .args(["--blksize", &blk])
                .args(extra),
            PEER_TIMEOUT,
        )
        .assert_success("ferry get");
        assert_file_eq(&local, &want);

        let upload = make_file(work.path(), &format!("up-{name}"), len, 1100 + seed as u64);
        let remote = format!("put-{name}");
        run(
            ferry()
                .arg("put")
                .arg(work.path().join(format!("up-{name}")))
                .arg(server.url(&remote))
                .args(["--blksize", &blk])
                .args(extra),
            PEER_TIMEOUT,
        )
        .assert_success("ferry put");
        assert_file_eq(&root.path().join(&remote), &upload);
    }
}

#[test]
fn tftpd_hpa_blksize_1468() {
    get_and_put(1468, &[]);
}

#[test]
fn tftpd_hpa_blksize_65464() {
    get_and_put(65464, &[]);
}

/// tftpd-hpa ignores windowsize: its OACK leaves it out, and the client
/// must fall back to lock-step (windowsize 1) rather than fail.
#[test]
fn tftpd_hpa_ignores_windowsize() {
    get_and_put(8192, &["--windowsize", "8"]);
}

/// No options asked for: RFC 1350's 512-byte blocks, straight to stdout.
#[test]
fn tftpd_hpa_default_blksize_to_stdout() {
    let root = temp_dir("root");
    let Some(server) = TftpdHpa::start(root.path(), false) else {
        return;
    };
    let want = make_file(root.path(), "plain.bin", 512 * 100, 1200);
    let done = run(
        ferry()
            .arg("get")
            .arg(server.url("plain.bin"))
            .args(["-o", "-"]),
        PEER_TIMEOUT,
    );
    done.assert_success("ferry get -o -");
    assert_bytes_eq(&done.stdout, &want, "ferry get -o - (stdout)");
}

/// A missing file: exit code 1 and the server's ERROR text on stderr.
#[test]
fn tftpd_hpa_missing_file() {
    let root = temp_dir("root");
    let work = temp_dir("work");
    let Some(server) = TftpdHpa::start(root.path(), false) else {
        return;
    };
    let local = work.path().join("out.bin");
    let done = run(
        ferry()
            .arg("get")
            .arg(server.url("no-such-file"))
            .arg("-o")
            .arg(&local),
        PEER_TIMEOUT,
    );
    assert_eq!(done.code(), Some(1), "stderr: {}", done.stderr);
    assert!(
        done.stderr.contains("File not found"),
        "the server's error text is not printed: {}",
        done.stderr
    );
    assert!(
        !local.exists() || std::fs::read(&local).unwrap().is_empty(),
        "a failed download left data behind"
    );
}

/// Without `-c`, tftpd-hpa refuses a WRQ for a new file (with ERROR 1).
#[test]
fn tftpd_hpa_refused_upload() {
    let root = temp_dir("root");
    let work = temp_dir("work");
    let Some(server) = TftpdHpa::start(root.path(), false) else {
        return;
    };
    make_file(work.path(), "up.bin", 10_000, 1300);
    let done = run(
        ferry()
            .arg("put")
            .arg(work.path().join("up.bin"))
            .arg(server.url("up.bin")),
        PEER_TIMEOUT,
    );
    assert_eq!(done.code(), Some(1), "stderr: {}", done.stderr);
    assert!(
        done.stderr.contains("File not found"),
        "the server's error text is not printed: {}",
        done.stderr
    );
    assert!(!root.path().join("up.bin").exists());
}

/// A one-shot server scripted by the test: answers the RRQ from a
/// transfer port with a single short DATA 1 (the RFC 1350 fallback), and
/// lets the test send it again as if the client's final ACK were lost.
struct ScriptedServer {
    request: std::net::UdpSocket,
    transfer: std::net::UdpSocket,
}

impl ScriptedServer {
    fn start() -> Self {
        let request = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind request port");
        let transfer = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind transfer port");
        for s in [&request, &transfer] {
            s.set_read_timeout(Some(PEER_TIMEOUT)).expect("timeout");
        }
        ScriptedServer { request, transfer }
    }

    fn url(&self) -> String {
        format!("tftp://{}/f", self.request.local_addr().expect("addr"))
    }

    /// Wait for the RRQ, answer with DATA 1, and read ACK 1.
    fn serve_one_block(&self, payload: &[u8]) -> std::net::SocketAddr {
        let mut buf = [0u8; 1024];
        let (_, client) = self.request.recv_from(&mut buf).expect("RRQ");
        assert_eq!(&buf[..2], &[0, 1], "an RRQ first");
        self.send_data(client, payload);
        assert_eq!(self.recv_ack(), Some(1), "ACK 1 for the final DATA");
        client
    }

    fn send_data(&self, client: std::net::SocketAddr, payload: &[u8]) {
        let mut packet = vec![0, 3, 0, 1];
        packet.extend_from_slice(payload);
        self.transfer.send_to(&packet, client).expect("send DATA");
    }

    /// The next ACK's block number; `None` if nothing (or an ICMP error)
    /// came back.
    fn recv_ack(&self) -> Option<u16> {
        let mut buf = [0u8; 1024];
        let (n, _) = self.transfer.recv_from(&mut buf).ok()?;
        assert!(n == 4 && buf[..2] == [0, 4], "an ACK: {:?}", &buf[..n]);
        Some(u16::from_be_bytes([buf[2], buf[3]]))
    }
}

/// By default `ferry get` exits once its file is complete and the final
/// ACK is out: it does not wait for a repeated final DATA.
#[test]
fn get_exits_after_the_final_ack_without_dally() {
    let work = temp_dir("work");
    let out = work.path().join("got");
    let server = ScriptedServer::start();
    let mut child = ferry()
        .args(["get", &server.url(), "-o"])
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn ferry get");
    let client = server.serve_one_block(b"hello");
    // Nothing more is sent to the client, and it exits on its own.
    let status = child.wait().expect("wait for ferry get");
    assert!(status.success(), "ferry get: {status}");
    assert_bytes_eq(&std::fs::read(&out).expect("output"), b"hello", "download");
    // It is gone: a repeated DATA 1 gets no ACK.
    server
        .transfer
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .expect("timeout");
    server.send_data(client, b"hello");
    assert_eq!(server.recv_ack(), None);
}

/// `--dally`: a final DATA repeated because the final ACK was lost is
/// acknowledged again, and the file is written once.
#[test]
fn get_with_dally_acks_a_repeated_final_data() {
    let work = temp_dir("work");
    let out = work.path().join("got");
    let server = ScriptedServer::start();
    let mut child = ferry()
        .args(["get", &server.url(), "--dally", "-o"])
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn ferry get");
    let client = server.serve_one_block(b"hello");
    server.send_data(client, b"hello");
    assert_eq!(server.recv_ack(), Some(1), "the repeated DATA 1 is ACKed");
    let status = child.wait().expect("wait for ferry get");
    assert!(status.success(), "ferry get: {status}");
    assert_bytes_eq(&std::fs::read(&out).expect("output"), b"hello", "download");
}
