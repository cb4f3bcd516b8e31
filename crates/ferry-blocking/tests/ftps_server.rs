//! FTPS (RFC 4217) against the blocking driver: explicit AUTH TLS and
//! the implicit-TLS listener, protected downloads, uploads and listings
//! byte-exact (passive and active), the STARTTLS-injection and garbage
//! cases, the implicit port's handshake deadline, `--require-tls`
//! refusals and session-reuse enforcement.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ferry_blocking::ftp::server::{Server, ServerConfig, ShutdownHandle};
use ferry_tls::{ClientTls, ClientTlsOptions, ServerTls, TlsStream};

/// Every client socket's read timeout: a test fails, it does not hang.
const WAIT: Duration = Duration::from_secs(20);

/// A certificate for 127.0.0.1 in a directory of its own, and a client
/// that trusts it (through `cacert`, as `ferry --cacert` would).
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let hosts = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let (cert, key, _) = ferry_tls::generate_self_signed(&hosts).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
        std::fs::write(dir.path().join("key.pem"), key).unwrap();
        Pki { dir }
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn server(&self, require_reuse: bool) -> ServerTls {
        ServerTls::from_pem_files(
            &self.cert(),
            &self.dir.path().join("key.pem"),
            require_reuse,
        )
        .unwrap()
    }

    /// A client with a session cache of its own.
    fn client(&self) -> ClientTls {
        ClientTls::new(&ClientTlsOptions {
            insecure: false,
            cacert: Some(self.cert()),
        })
        .unwrap()
    }
}

/// A blocking server on a thread of its own, stopped when dropped.
struct Running {
    ftp: SocketAddr,
    ftps: Option<SocketAddr>,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    fn start(config: ServerConfig) -> Running {
        let server = Server::bind(config).unwrap();
        let (ftp, ftps, handle) = (
            server.local_addr(),
            server.ftps_addr(),
            server.shutdown_handle(),
        );
        let thread = thread::spawn(move || server.run().unwrap());
        Running {
            ftp,
            ftps,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A served root with `files` in it, writable, anonymous logins, TLS.
fn config(root: &Path, tls: ServerTls) -> ServerConfig {
    let mut config = ServerConfig::new(root, "127.0.0.1:0".parse().unwrap());
    config.write = true;
    config.tls = Some(tls);
    config
}

/// Bytes that differ everywhere, so a shifted or dropped piece shows.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The control connection, clear or TLS.
enum Wire {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(s) => s.read(buf),
            Wire::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Wire::Plain(s) => s.write(buf),
            Wire::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Wire::Plain(s) => s.flush(),
            Wire::Tls(s) => s.flush(),
        }
    }
}

/// A minimal FTP client: one command, one reply.
struct Client {
    wire: Option<Wire>,
    pending: Vec<u8>,
    tls: ClientTls,
}

impl Client {
    fn socket(addr: SocketAddr) -> TcpStream {
        let sock = TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(WAIT)).unwrap();
        sock.set_write_timeout(Some(WAIT)).unwrap();
        sock
    }

    /// Explicit FTPS: connected in clear, the 220 read.
    fn connect(addr: SocketAddr, tls: &ClientTls) -> Client {
        let mut client = Client {
            wire: Some(Wire::Plain(Self::socket(addr))),
            pending: Vec::new(),
            tls: tls.clone(),
        };
        client.expect(220);
        client
    }

    /// Implicit FTPS: the handshake, then the 220 through TLS.
    fn implicit(addr: SocketAddr, tls: &ClientTls) -> Client {
        let sock = Self::socket(addr);
        let mut stream = TlsStream::new(sock, tls.connect("127.0.0.1").unwrap());
        stream.tls.handshake(&mut stream.sock).unwrap();
        let mut client = Client {
            wire: Some(Wire::Tls(Box::new(stream))),
            pending: Vec::new(),
            tls: tls.clone(),
        };
        client.expect(220);
        client
    }

    fn wire(&mut self) -> &mut Wire {
        self.wire.as_mut().expect("connected")
    }

    fn send(&mut self, line: &str) {
        let line = format!("{line}\r\n");
        self.wire().write_all(line.as_bytes()).unwrap();
        self.wire().flush().unwrap();
    }

    /// The next reply: its code and its text (every line).
    fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.pending.drain(..end + 2).collect();
                let line = String::from_utf8_lossy(&line[..end]).into_owned();
                text.push_str(&line);
                text.push('\n');
                let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
                // The last line of a reply is "ddd text" (RFC 959 §4.2).
                if let (Some(code), Some(b' ')) = (code, line.as_bytes().get(3)) {
                    return (code, text);
                }
                continue;
            }
            let mut buf = [0u8; 4096];
            let n = self.wire().read(&mut buf).expect("a reply");
            assert!(n > 0, "the server closed the control connection");
            self.pending.extend_from_slice(&buf[..n]);
        }
    }

    #[track_caller]
    fn expect(&mut self, code: u16) -> String {
        let (got, line) = self.reply();
        assert_eq!(got, code, "{line}");
        line
    }

    #[track_caller]
    fn command(&mut self, line: &str, code: u16) -> String {
        self.send(line);
        self.expect(code)
    }

    /// AUTH TLS, 234, and the handshake.
    fn secure(&mut self) {
        self.command("AUTH TLS", 234);
        assert!(self.pending.is_empty(), "bytes after the 234 in clear");
        let Some(Wire::Plain(sock)) = self.wire.take() else {
            panic!("already TLS")
        };
        let mut stream = TlsStream::new(sock, self.tls.connect("127.0.0.1").unwrap());
        stream.tls.handshake(&mut stream.sock).unwrap();
        self.wire = Some(Wire::Tls(Box::new(stream)));
    }

    fn login(&mut self) {
        self.command("USER anonymous", 331);
        self.command("PASS guest@", 230);
    }

    fn protect(&mut self) {
        self.command("PBSZ 0", 200);
        self.command("PROT P", 200);
    }

    /// PASV, and a TCP connection to the port it names.
    fn pasv(&mut self) -> TcpStream {
        let line = self.command("PASV", 227);
        let open = line.find('(').unwrap();
        let close = line.find(')').unwrap();
        let n: Vec<u16> = line[open + 1..close]
            .split(',')
            .map(|x| x.trim().parse().unwrap())
            .collect();
        let port = n[4] << 8 | n[5];
        Self::socket(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// The data connection's TLS, with this client's session cache.
    fn secure_data(&self, sock: TcpStream, tls: &ClientTls) -> io::Result<TlsStream<TcpStream>> {
        let mut stream = TlsStream::new(sock, tls.connect("127.0.0.1").unwrap());
        stream.tls.handshake(&mut stream.sock)?;
        Ok(stream)
    }

    /// A protected download (or listing: `verb`), read to its close_notify.
    fn fetch(&mut self, verb: &str) -> Vec<u8> {
        let sock = self.pasv();
        self.command(verb, 150);
        let tls = self.tls.clone();
        let mut data = self.secure_data(sock, &tls).unwrap();
        let mut got = Vec::new();
        data.read_to_end(&mut got).unwrap();
        assert!(data.clean_eof(), "the download ended without close_notify");
        self.expect(226);
        got
    }

    /// A protected upload; `close_notify`: end it with one (else just the
    /// TCP close, as many clients do).
    fn store(&mut self, name: &str, bytes: &[u8], close_notify: bool) {
        let sock = self.pasv();
        self.command(&format!("STOR {name}"), 150);
        let tls = self.tls.clone();
        let mut data = self.secure_data(sock, &tls).unwrap();
        data.write_all(bytes).unwrap();
        if close_notify {
            data.shutdown().unwrap();
            // A two-way close, as Python's ftplib does it: the server
            // answers close_notify with its own.
            let mut rest = Vec::new();
            data.read_to_end(&mut rest).unwrap();
            assert!(rest.is_empty() && data.clean_eof(), "no close_notify back");
        } else {
            data.flush().unwrap();
        }
        drop(data);
        self.expect(226);
    }

    /// Whether the server closed this connection within `within`.
    fn closed_within(&mut self, within: Duration) -> bool {
        let Some(Wire::Plain(sock)) = self.wire.as_mut() else {
            panic!("a clear socket")
        };
        closed_within(sock, within)
    }
}

/// Whether the server closed `sock` within `within` (reading and
/// dropping whatever it sent first).
fn closed_within(sock: &mut TcpStream, within: Duration) -> bool {
    let until = Instant::now() + within;
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        match sock.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn explicit_ftps_moves_files_and_listings_byte_exact() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    let big = content(1, 3 * 1024 * 1024 + 4321);
    std::fs::write(root.path().join("big.bin"), &big).unwrap();
    let server = Running::start(config(root.path(), pki.server(false)));
    let tls = pki.client();

    let mut c = Client::connect(server.ftp, &tls);
    let feat = c.command("FEAT", 211);
    for feature in ["AUTH TLS", "PBSZ", "PROT"] {
        assert!(feat.contains(feature), "{feat}");
    }
    c.secure();
    c.login();
    c.protect();
    c.command("TYPE I", 200);

    let got = c.fetch("RETR big.bin");
    assert!(got == big, "RETR: {} bytes of {}", got.len(), big.len());

    // An upload is published under its name only once it is complete.
    let up = content(2, 2 * 1024 * 1024 + 99);
    let sock = c.pasv();
    c.command("STOR up.bin", 150);
    let mut data = c.secure_data(sock, &tls).unwrap();
    let (first, rest) = up.split_at(up.len() / 2);
    data.write_all(first).unwrap();
    data.flush().unwrap();
    thread::sleep(Duration::from_millis(100));
    assert!(!root.path().join("up.bin").exists(), "published mid-upload");
    data.write_all(rest).unwrap();
    data.shutdown().unwrap();
    drop(data);
    c.expect(226);
    assert!(std::fs::read(root.path().join("up.bin")).unwrap() == up);

    // Ended with a TCP close and no close_notify, as many clients do.
    let up2 = content(3, 500_001);
    c.store("up2.bin", &up2, false);
    assert!(std::fs::read(root.path().join("up2.bin")).unwrap() == up2);

    let listing = String::from_utf8(c.fetch("LIST")).unwrap();
    for name in ["big.bin", "up.bin", "up2.bin"] {
        assert!(listing.contains(name), "{listing}");
    }
    let names = String::from_utf8(c.fetch("NLST")).unwrap();
    assert!(names.contains("up2.bin\r\n"), "{names}");
    let facts = String::from_utf8(c.fetch("MLSD")).unwrap();
    assert!(facts.contains("; big.bin\r\n"), "{facts}");

    // TYPE A through TLS: LF becomes CR LF on the wire.
    std::fs::write(root.path().join("a.txt"), b"one\ntwo\n").unwrap();
    c.command("TYPE A", 200);
    assert_eq!(c.fetch("RETR a.txt"), b"one\r\ntwo\r\n");
    c.command("QUIT", 221);
}

#[test]
fn a_command_pipelined_behind_auth_is_never_answered() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    let server = Running::start(config(root.path(), pki.server(false)));
    let tls = pki.client();
    let mut c = Client::connect(server.ftp, &tls);
    // One write: USER arrives with AUTH, in clear.
    c.wire().write_all(b"AUTH TLS\r\nUSER x\r\n").unwrap();
    c.expect(234);
    assert!(c.pending.is_empty(), "a clear reply after the 234");
    let Some(Wire::Plain(sock)) = c.wire.take() else {
        unreachable!()
    };
    let mut stream = TlsStream::new(sock, tls.connect("127.0.0.1").unwrap());
    stream.tls.handshake(&mut stream.sock).unwrap();
    c.wire = Some(Wire::Tls(Box::new(stream)));
    // The first reply inside TLS is NOOP's: USER was never answered...
    c.command("NOOP", 200);
    // ...nor taken: PASS without USER is out of sequence.
    c.command("PASS x", 503);
    c.login();
}

#[test]
fn garbage_after_234_closes_that_session_alone() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"still served").unwrap();
    let server = Running::start(config(root.path(), pki.server(false)));
    let tls = pki.client();

    let mut good = Client::connect(server.ftp, &tls);
    good.secure();
    good.login();

    for garbage in [
        b"USER anonymous\r\nPASS x\r\n".to_vec(),
        content(9, 256 * 1024),
    ] {
        let mut bad = Client::connect(server.ftp, &tls);
        bad.command("AUTH TLS", 234);
        // The server may close while this is being written.
        let _ = bad.wire().write_all(&garbage);
        assert!(bad.closed_within(Duration::from_secs(10)), "not closed");
    }

    good.command("NOOP", 200);
    good.protect();
    assert_eq!(good.fetch("RETR f"), b"still served");
    let mut fresh = Client::connect(server.ftp, &tls);
    fresh.secure();
    fresh.login();
}

#[test]
fn a_silent_client_after_234_is_closed_at_the_handshake_deadline() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    let mut config = config(root.path(), pki.server(false));
    config.session.tls_handshake_timeout = Duration::from_millis(500);
    let server = Running::start(config);
    let tls = pki.client();
    let mut c = Client::connect(server.ftp, &tls);
    c.command("AUTH TLS", 234);
    let began = Instant::now();
    // Half a TLS record header, then nothing.
    c.wire().write_all(&[0x16, 0x03]).unwrap();
    assert!(c.closed_within(Duration::from_secs(10)), "not closed");
    let took = began.elapsed();
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
}

#[test]
fn many_tls_sessions_at_once_each_download_byte_exact() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    let file = content(4, 256 * 1024 + 3);
    std::fs::write(root.path().join("f.bin"), &file).unwrap();
    let server = Running::start(config(root.path(), pki.server(false)));
    let addr = server.ftp;
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let tls = pki.client();
            let file = file.clone();
            thread::spawn(move || {
                let mut c = Client::connect(addr, &tls);
                c.secure();
                c.login();
                c.protect();
                c.command("TYPE I", 200);
                let got = c.fetch("RETR f.bin");
                assert!(got == file, "{} bytes of {}", got.len(), file.len());
                c.command("QUIT", 221);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn the_implicit_listener_speaks_tls_from_the_first_byte() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    let file = content(5, 1024 * 1024 + 1);
    std::fs::write(root.path().join("f.bin"), &file).unwrap();
    let mut config = config(root.path(), pki.server(false));
    config.ftps_bind = Some("127.0.0.1:0".parse().unwrap());
    let server = Running::start(config);
    let ftps = server.ftps.expect("an implicit listener");
    assert_ne!(ftps.port(), 0);
    assert_ne!(ftps, server.ftp);
    let tls = pki.client();
    // The handshake, then the 220 through TLS.
    let mut c = Client::implicit(ftps, &tls);
    c.command("AUTH TLS", 503);
    c.login();
    c.command("TYPE I", 200);
    // Data is protected from the start, without PBSZ/PROT.
    assert!(c.fetch("RETR f.bin") == file);
    let up = content(6, 300_000);
    c.store("up.bin", &up, true);
    assert!(std::fs::read(root.path().join("up.bin")).unwrap() == up);
    c.command("QUIT", 221);
}

#[test]
fn no_implicit_listener_unless_asked() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    let server = Running::start(config(root.path(), pki.server(false)));
    assert_eq!(server.ftps, None);
    let mut plain = ServerConfig::new(root.path(), "127.0.0.1:0".parse().unwrap());
    plain.ftps_bind = Some("127.0.0.1:0".parse().unwrap());
    assert!(
        Server::bind(plain).is_err(),
        "an implicit listener without a certificate"
    );
}

#[test]
fn plain_and_silent_clients_on_the_implicit_port_are_closed_and_free_their_slots() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    let mut config = config(root.path(), pki.server(false));
    config.ftps_bind = Some("127.0.0.1:0".parse().unwrap());
    config.session.tls_handshake_timeout = Duration::from_millis(700);
    config.max_sessions = 2;
    let server = Running::start(config);
    let ftps = server.ftps.unwrap();

    // Plain FTP clients wait for a 220 that never comes: silent. They
    // take both slots until the handshake timeout.
    let began = Instant::now();
    let mut silent = [Client::socket(ftps), Client::socket(ftps)];
    for sock in &mut silent {
        assert!(closed_within(sock, Duration::from_secs(10)), "still open");
    }
    let took = began.elapsed();
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
    assert!(took >= Duration::from_millis(600), "closed after {took:?}");

    // One that talks plain FTP is closed at once.
    let mut plain = Client::socket(ftps);
    let began = Instant::now();
    plain.write_all(b"USER anonymous\r\n").unwrap();
    assert!(closed_within(&mut plain, Duration::from_secs(5)));
    assert!(began.elapsed() < Duration::from_millis(600));
    drop(plain);
    thread::sleep(Duration::from_millis(100));

    // Both slots are free again: two sessions fit, one on each listener.
    let tls = pki.client();
    let mut one = Client::connect(server.ftp, &tls);
    let mut two = Client::implicit(ftps, &tls);
    one.command("NOOP", 200);
    two.command("NOOP", 200);
}

#[test]
fn require_tls_refuses_clear_logins_and_clear_data() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("secret"), b"not for clear eyes").unwrap();
    let mut config = config(root.path(), pki.server(false));
    config.require_tls = true;
    let server = Running::start(config);
    let tls = pki.client();

    let mut c = Client::connect(server.ftp, &tls);
    c.command("USER anonymous", 530);
    c.secure();
    c.login();
    c.command("PBSZ 0", 200);
    c.command("PROT C", 200);
    let mut data = c.pasv();
    c.command("RETR secret", 521);
    let mut got = Vec::new();
    let _ = data.read_to_end(&mut got);
    assert!(got.is_empty(), "{} bytes in clear", got.len());

    // Under PROT P, a data connection that never starts TLS gets none of
    // the file; its close fails the transfer (522).
    c.command("PROT P", 200);
    let mut data = c.pasv();
    c.command("RETR secret", 150);
    data.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 64];
    match data.read(&mut buf) {
        Ok(n) => assert_eq!(n, 0, "bytes without TLS"),
        Err(err) => assert!(
            matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{err}"
        ),
    }
    drop(data);
    c.expect(522);
    c.command("NOOP", 200);
    assert_eq!(c.fetch("RETR secret"), b"not for clear eyes");
}

#[test]
fn with_reuse_required_only_the_control_connections_session_opens_data() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("f"), b"reused").unwrap();
    let server = Running::start(config(root.path(), pki.server(true)));
    let tls = pki.client();
    let mut c = Client::connect(server.ftp, &tls);
    c.secure();
    c.login();
    c.protect();
    c.command("TYPE I", 200);

    // A fresh client session cache cannot resume the control session.
    let sock = c.pasv();
    c.command("RETR f", 150);
    let stranger = pki.client();
    let mut got = Vec::new();
    if let Ok(mut data) = c.secure_data(sock, &stranger) {
        let _ = data.read_to_end(&mut got);
    }
    assert!(got.is_empty(), "{} bytes to a stranger", got.len());
    c.expect(522);

    // The control connection's own cache resumes: the file comes, and
    // an upload goes.
    assert_eq!(c.fetch("RETR f"), b"reused");
    let up = content(7, 100_000);
    c.store("up.bin", &up, true);
    let stored = std::fs::read(root.path().join("up.bin")).unwrap();
    assert!(stored == up, "{} of {}", stored.len(), up.len());
    let listing = String::from_utf8(c.fetch("NLST")).unwrap();
    assert!(listing.contains("up.bin"), "{listing}");
}

#[test]
fn an_active_mode_data_connection_is_tls_with_the_server_as_tls_server() {
    let pki = Pki::new();
    let root = tempfile::tempdir().unwrap();
    let file = content(8, 600_000);
    std::fs::write(root.path().join("f.bin"), &file).unwrap();
    let server = Running::start(config(root.path(), pki.server(true)));
    let tls = pki.client();
    let mut c = Client::connect(server.ftp, &tls);
    c.secure();
    c.login();
    c.protect();
    c.command("TYPE I", 200);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let port_command = format!("PORT 127,0,0,1,{},{}", port >> 8, port & 0xff);
    c.command(&port_command, 200);
    c.command("RETR f.bin", 150);
    let (sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    // RFC 4217 §7: the client that accepted is the TLS client all the same.
    let mut data = c.secure_data(sock, &tls).unwrap();
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert!(data.clean_eof());
    c.expect(226);
    assert!(got == file);

    // And an active upload.
    let up = content(10, 200_000);
    c.command(&port_command, 200);
    c.command("STOR act.bin", 150);
    let (sock, _) = listener.accept().unwrap();
    let mut data = c.secure_data(sock, &tls).unwrap();
    data.write_all(&up).unwrap();
    data.shutdown().unwrap();
    drop(data);
    c.expect(226);
    assert!(std::fs::read(root.path().join("act.bin")).unwrap() == up);
}
