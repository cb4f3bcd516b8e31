//! What admins of tftpd-hpa expect, on both drivers: transfer ports from
//! a range (`--tftp-port-range`, and "server busy" once it is used up,
//! with nothing left open), running as an unprivileged user after binding
//! (`--user`), and serving on IPv6 loopback (tftp-hpa `-6`, curl).

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ferry_interop::tftp::{peer, tftp_hpa};
use ferry_interop::{
    assert_file_eq, content, ferry, make_file, require_peer, run, skip_or_fail, temp_dir, Driver,
    FerryServer, Launched, Service, PEER_TIMEOUT,
};

ferry_interop::driver_tests!(
    transfers_use_ports_of_the_range,
    an_exhausted_range_answers_server_busy_and_leaks_nothing,
    serving_as_nobody_after_binding,
    ipv6_loopback_with_tftp_hpa_and_curl,
);

const BLOCK: usize = 512;

/// `n` consecutive UDP ports on 127.0.0.1 that were free a moment ago,
/// below the kernel's ephemeral range, so no socket bound to port 0 (other
/// tests, their peers) can take one before the server does; a counter
/// keeps this binary's tests apart, the process id other test binaries.
fn free_ports(n: u16) -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let ephemeral_low: u16 = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let base = ephemeral_low.saturating_sub(8000).max(1024);
    let spread = (std::process::id() % 4000) as u16;
    for _ in 0..200 {
        let offset = NEXT.fetch_add(n, Ordering::Relaxed);
        let lo = base + (spread + offset) % 7000;
        let held: Vec<_> = (lo..lo + n)
            .map_while(|port| UdpSocket::bind(("127.0.0.1", port)).ok())
            .collect();
        if held.len() == usize::from(n) {
            return lo;
        }
    }
    panic!("no {n} consecutive free UDP ports");
}

fn request(opcode: u8, name: &str) -> Vec<u8> {
    let mut packet = vec![0, opcode];
    packet.extend_from_slice(name.as_bytes());
    packet.push(0);
    packet.extend_from_slice(b"octet\0");
    packet
}

fn error_packet(code: u16, message: &str) -> Vec<u8> {
    let mut packet = vec![0, 5];
    packet.extend_from_slice(&code.to_be_bytes());
    packet.extend_from_slice(message.as_bytes());
    packet.push(0);
    packet
}

const BUSY: &str = "server busy: no free transfer port";

/// A hand-written client: one socket, plain RFC 1350 (no options).
struct RawClient {
    socket: UdpSocket,
}

impl RawClient {
    fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        RawClient { socket }
    }

    fn send(&self, packet: &[u8], to: SocketAddr) {
        self.socket.send_to(packet, to).unwrap();
    }

    fn recv(&self) -> (Vec<u8>, SocketAddr) {
        let mut buf = vec![0u8; 2048];
        let (len, from) = self.socket.recv_from(&mut buf).expect("a datagram");
        buf.truncate(len);
        (buf, from)
    }

    /// Download `name` whole; the file and the transfer's port. `Err`
    /// with the ERROR packet if the first answer is one.
    fn get(&self, server: SocketAddr, name: &str) -> Result<(Vec<u8>, SocketAddr), Vec<u8>> {
        self.send(&request(1, name), server);
        let mut file = Vec::new();
        let mut tid = None;
        let mut expected = 1u16;
        loop {
            let (packet, from) = self.recv();
            if packet[..2] == [0, 5] && tid.is_none() {
                return Err(packet);
            }
            assert_eq!(packet[..2], [0, 3], "DATA expected: {packet:?}");
            let tid = *tid.get_or_insert(from);
            assert_eq!(from, tid, "every DATA from the transfer's port");
            let block = u16::from_be_bytes([packet[2], packet[3]]);
            if block == expected {
                file.extend_from_slice(&packet[4..]);
                expected = expected.wrapping_add(1);
            }
            self.send(&[0, 4, packet[2], packet[3]], tid);
            if block == expected.wrapping_sub(1) && packet.len() - 4 < BLOCK {
                return Ok((file, tid));
            }
        }
    }
}

/// How many files the process `pid` has open.
fn open_fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

/// Wait until `pid` has `want` files open again (transfers close their
/// socket and file as they end, a moment after the last packet).
fn settle_fds(pid: u32, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds(pid) != want {
        assert!(
            Instant::now() < deadline,
            "server has {} files open, {want} before the transfers: {:?}",
            open_fds(pid),
            fs::read_dir(format!("/proc/{pid}/fd"))
                .unwrap()
                .filter_map(|e| fs::read_link(e.unwrap().path()).ok())
                .collect::<Vec<_>>()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn transfers_use_ports_of_the_range(driver: Driver) {
    require_peer!("tftp");
    let root = temp_dir("port-range");
    let file = make_file(root.path(), "f.bin", 20_000, 1);
    let lo = free_ports(3);
    let range = format!("{lo}-{}", lo + 2);
    let server = FerryServer::start(driver, root.path(), &["--tftp-port-range", &range]);
    let client = RawClient::new();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (got, tid) = client.get(server.addr(), "f.bin").expect("a transfer");
        assert_eq!(got, file);
        assert!(
            (lo..=lo + 2).contains(&tid.port()),
            "port {} not in {range}",
            tid.port()
        );
        seen.push(tid.port());
    }
    // The search goes round the range: a port is not reused at once.
    assert_eq!(seen, [lo, lo + 1, lo + 2, lo], "{seen:?}");
    // A real client does not care where the port comes from.
    let out = temp_dir("port-range-out");
    let local = out.path().join("f.bin");
    let done = run(
        &mut tftp_hpa(server.port(), &["get", "f.bin", local.to_str().unwrap()]),
        PEER_TIMEOUT,
    );
    assert!(done.stderr.is_empty(), "tftp-hpa: {}", done.stderr);
    assert_file_eq(&local, &file);
}

fn an_exhausted_range_answers_server_busy_and_leaks_nothing(driver: Driver) {
    let root = temp_dir("port-busy");
    let file = make_file(root.path(), "f.bin", 3 * BLOCK + 100, 2);
    let lo = free_ports(1);
    let range = format!("{lo}-{lo}");
    let server = FerryServer::start(
        driver,
        root.path(),
        &["--write", "--tftp-port-range", &range],
    );
    let idle_fds = open_fds(server.pid());

    // A takes the one port and then sits on DATA 1 without acknowledging.
    let a = RawClient::new();
    a.send(&request(1, "f.bin"), server.addr());
    let (data, a_tid) = a.recv();
    assert_eq!(data[..4], [0, 3, 0, 1]);
    assert_eq!(a_tid.port(), lo);

    // B, reading or writing, is told at once, from the request port.
    let b = RawClient::new();
    assert_eq!(b.get(server.addr(), "f.bin"), Err(error_packet(0, BUSY)));
    b.send(&request(2, "upload.bin"), server.addr());
    let (answer, from) = b.recv();
    assert_eq!(answer, error_packet(0, BUSY));
    assert_eq!(from, server.addr());
    // The refused upload left nothing behind, not even a temporary file.
    let names: Vec<_> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["f.bin"]);

    // A gives up; its port comes free and B gets the file from it.
    a.send(&error_packet(0, "client gave up"), a_tid);
    let deadline = Instant::now() + Duration::from_secs(5);
    let (got, b_tid) = loop {
        match b.get(server.addr(), "f.bin") {
            Ok(done) => break done,
            Err(busy) if Instant::now() < deadline => {
                assert_eq!(busy, error_packet(0, BUSY));
                thread::sleep(Duration::from_millis(20));
            }
            Err(other) => panic!("port never came free: {other:?}"),
        }
    };
    assert_eq!(got, file);
    assert_eq!(b_tid.port(), lo);
    // An upload too, through the same port.
    b.send(&request(2, "upload.bin"), server.addr());
    let (ack, tid) = b.recv();
    assert_eq!(ack, [0, 4, 0, 0]);
    assert_eq!(tid.port(), lo);
    let upload = content(3, 100);
    let mut data = vec![0, 3, 0, 1];
    data.extend_from_slice(&upload);
    b.send(&data, tid);
    assert_eq!(b.recv().0, [0, 4, 0, 1]);
    let uploaded = root.path().join("upload.bin");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !uploaded.exists() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_file_eq(&uploaded, &upload);

    // Every socket and file of the four transfers and two refusals is closed.
    settle_fds(server.pid(), idle_fds);
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The `Uid:` and `Gid:` lines of /proc/PID/status (real, effective,
/// saved, file system) and its `Groups:`.
fn credentials(pid: u32) -> (String, String, String) {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|rest| rest.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    (field("Uid:"), field("Gid:"), field("Groups:"))
}

fn serving_as_nobody_after_binding(driver: Driver) {
    require_peer!("tftp");
    require_peer!("curl");
    if !is_root() && skip_or_fail::<()>("--user needs the tests to run as root").is_none() {
        return;
    }
    let root = temp_dir("user");
    let file = make_file(root.path(), "boot.bin", 5000, 4);
    let incoming = root.path().join("incoming");
    fs::create_dir(&incoming).unwrap();
    std::os::unix::fs::chown(&incoming, Some(65534), Some(65534)).unwrap();
    let server = FerryServer::start(driver, root.path(), &["--write", "--user", "nobody"]);
    let (uid, gid, groups) = credentials(server.pid());
    assert_eq!(uid, "65534 65534 65534 65534");
    assert_eq!(gid, "65534 65534 65534 65534");
    assert_eq!(groups, "65534");
    assert!(server
        .log()
        .contains("running as user user=nobody uid=65534"));

    let out = temp_dir("user-out");
    let local = out.path().join("boot.bin");
    let done = run(
        &mut tftp_hpa(server.port(), &["get", "boot.bin", local.to_str().unwrap()]),
        PEER_TIMEOUT,
    );
    assert!(done.stderr.is_empty(), "tftp-hpa: {}", done.stderr);
    assert_file_eq(&local, &file);

    // nobody may write where nobody may write, and only there.
    let done = run(
        &mut tftp_hpa(
            server.port(),
            &["put", local.to_str().unwrap(), "incoming/up.bin"],
        ),
        PEER_TIMEOUT,
    );
    assert!(done.stderr.is_empty(), "tftp-hpa: {}", done.stderr);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !incoming.join("up.bin").exists() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_file_eq(&incoming.join("up.bin"), &file);
    assert_eq!(fs::metadata(incoming.join("up.bin")).unwrap().uid(), 65534);
    let done = run(
        &mut tftp_hpa(server.port(), &["put", local.to_str().unwrap(), "up.bin"]),
        PEER_TIMEOUT,
    );
    // tftp-hpa prints a put's ERROR on stdout.
    let said = format!("{}{}", String::from_utf8_lossy(&done.stdout), done.stderr);
    assert!(
        said.contains("Error code 2: Access violation"),
        "a root-owned directory refuses nobody: {said}"
    );
    assert!(!root.path().join("up.bin").exists());
    every_thread_is_nobody(server.pid());

    // FTP's listener is dropped the same way, and passive data still works.
    let ftp = Launched::start(Service::Ftp, driver, root.path(), &["--user", "nobody"]);
    assert_eq!(credentials(ftp.pid()).0, "65534 65534 65534 65534");
    let local = out.path().join("ftp.bin");
    run(
        Command::new("curl")
            .args(["-sS", "--fail", "-o"])
            .arg(&local)
            .arg(format!("ftp://{}/boot.bin", ftp.addr())),
        PEER_TIMEOUT,
    )
    .assert_success("curl ftp:// from a server running as nobody");
    assert_file_eq(&local, &file);
    every_thread_is_nobody(ftp.pid());
}

/// Every thread of `pid`, not only the first, runs as nobody.
fn every_thread_is_nobody(pid: u32) {
    for task in fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status = fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert_eq!(
            uid.split_whitespace().collect::<Vec<_>>(),
            ["Uid:", "65534", "65534", "65534", "65534"],
            "{status}"
        );
    }
}

#[test]
fn user_refusals_exit_2_before_binding() {
    let root = temp_dir("user-refusals");
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let serve = |cmd: &mut Command, user: &str| {
        cmd.args(["serve", "--no-ftp", "--tftp"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--root")
            .arg(root.path())
            .args(["--user", user]);
        run(cmd, PEER_TIMEOUT)
    };
    let done = serve(&mut ferry(), "no-such-user-ferry");
    assert_eq!(done.code(), Some(2), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("ferry: --user no-such-user-ferry: no such user"),
        "{}",
        done.stderr
    );
    assert!(!done.stderr.contains("listening"), "{}", done.stderr);

    if !is_root() {
        let done = serve(&mut ferry(), "nobody");
        assert_eq!(done.code(), Some(2), "{}", done.stderr);
        assert!(done.stderr.contains("needs root"), "{}", done.stderr);
        return;
    }
    let Some(setpriv) = ferry_interop::find_program("setpriv") else {
        skip_or_fail::<()>("setpriv (util-linux) is not installed");
        return;
    };
    let mut cmd = Command::new(setpriv);
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(ferry_interop::ferry_bin());
    let done = serve(&mut cmd, "nobody");
    assert_eq!(done.code(), Some(2), "{}", done.stderr);
    assert!(
        done.stderr
            .contains("ferry: --user nobody needs root to switch users (running as uid 65534)"),
        "{}",
        done.stderr
    );
}

/// Whether this machine has an IPv6 loopback to bind.
fn has_ipv6_loopback() -> bool {
    UdpSocket::bind("[::1]:0").is_ok()
}

fn ipv6_loopback_with_tftp_hpa_and_curl(driver: Driver) {
    require_peer!("tftp");
    require_peer!("curl");
    if !has_ipv6_loopback() {
        eprintln!("no IPv6 loopback (::1) on this machine: nothing to test");
        return;
    }
    let root = temp_dir("ipv6");
    let file = make_file(root.path(), "boot.bin", 70_000, 5);
    let server = FerryServer::start_on(driver, root.path(), "[::1]:0", &[]);
    assert_eq!(
        server.addr().to_string(),
        format!("[::1]:{}", server.port())
    );
    let out = temp_dir("ipv6-out");

    let local = out.path().join("hpa.bin");
    let done = run(
        Command::new(peer("tftp"))
            .args(["-6", "-m", "binary", "::1"])
            .arg(server.port().to_string())
            .args(["-c", "get", "boot.bin"])
            .arg(&local),
        PEER_TIMEOUT,
    );
    assert!(done.stderr.is_empty(), "tftp-hpa -6: {}", done.stderr);
    assert_file_eq(&local, &file);

    let local = out.path().join("curl.bin");
    run(
        Command::new("curl")
            .args(["-sS", "--fail", "-g", "-o"])
            .arg(&local)
            .arg(server.url("boot.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("curl tftp://[::1]");
    assert_file_eq(&local, &file);
    let log = server.log();
    assert!(log.contains("peer=[::1]:"), "{log}");

    // FTP too: curl speaks EPSV over IPv6.
    let ftp = Launched::start_on(Service::Ftp, driver, root.path(), "[::1]:0", &[]);
    let local = out.path().join("ftp.bin");
    run(
        Command::new("curl")
            .args(["-sS", "--fail", "-g", "-o"])
            .arg(&local)
            .arg(format!("ftp://{}/boot.bin", ftp.addr())),
        PEER_TIMEOUT,
    )
    .assert_success("curl ftp://[::1]");
    assert_file_eq(&local, &file);
}
