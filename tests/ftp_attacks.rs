//! ferry's FTP server (`ferry serve`) under attack, spoken to by hand on
//! raw control and data connections: path traversal by every route,
//! bounce (PORT/EPRT to another address), passive-port theft, uploads cut
//! off midway, garbage on the control connection, and many connections
//! at once. 127.0.0.2 stands in for "another address": Linux answers on
//! the whole of 127.0.0.0/8.

use std::io::{ErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ferry_interop::ftp::{
    anyone_connected, connect_data, connect_from, listen_on, names, port_argument, raise_fd_limit,
    read_all, reset, tree, Control, FtpServer, REPLY_TIMEOUT,
};
use ferry_interop::{assert_bytes_eq, assert_file_eq, content, make_file, temp_dir, Driver};

/// Whether `name` is a temporary upload file (`.ferry-upload-...`, as
/// ferry-storage names them), which must never outlive its upload.
fn is_temporary(name: &str) -> bool {
    name.starts_with(".ferry-upload-")
}

const OTHER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

// ---------------------------------------------------------------------------
// Path traversal

/// A served root inside a directory that also holds a secret file and a
/// secret directory, with symlinks inside the root pointing out at both.
struct Jail {
    base: tempfile::TempDir,
}

impl Jail {
    fn new() -> Jail {
        let base = temp_dir("jail");
        let b = base.path();
        std::fs::create_dir(b.join("root")).unwrap();
        std::fs::create_dir(b.join("root/sub")).unwrap();
        std::fs::create_dir(b.join("outside")).unwrap();
        make_file(b, "secret", 4000, 2000);
        make_file(&b.join("outside"), "inner-secret", 3000, 2001);
        make_file(&b.join("root"), "inside.txt", 1000, 2002);
        // Relative and absolute links out, to a file and to a directory.
        std::os::unix::fs::symlink("../secret", b.join("root/file-link")).unwrap();
        std::os::unix::fs::symlink(b.join("outside"), b.join("root/dir-link")).unwrap();
        std::os::unix::fs::symlink("../../outside", b.join("root/sub/deep-link")).unwrap();
        Jail { base }
    }

    fn root(&self) -> std::path::PathBuf {
        self.base.path().join("root")
    }

    /// Everything outside the root: its names and contents.
    fn outside(&self) -> Vec<(String, String)> {
        tree(self.base.path())
            .0
            .into_iter()
            .filter(|(name, _)| !name.starts_with("root/"))
            .collect()
    }

    /// Names that reach outside the root if anything follows them:
    /// `..` chains, absolute paths, and the links.
    fn escapes(&self) -> Vec<String> {
        let secret = self.base.path().join("secret");
        vec![
            "../secret".into(),
            "../../../../secret".into(),
            "sub/../../secret".into(),
            "/../secret".into(),
            "./../secret".into(),
            secret.display().to_string(),
            "/etc/passwd".into(),
            "../../../../../../etc/passwd".into(),
            "file-link".into(),
            "/file-link".into(),
            "dir-link/inner-secret".into(),
            "sub/deep-link/inner-secret".into(),
            "sub/../dir-link/inner-secret".into(),
            format!("{}/outside/inner-secret", self.base.path().display()),
        ]
    }
}

fn traversal_retr_size_mdtm_mlst(driver: Driver) {
    let jail = Jail::new();
    let before = jail.outside();
    let server = FtpServer::read_only(driver, &jail.root());
    let mut control = server.login();
    control.expect("TYPE I", 200);
    for name in jail.escapes() {
        // RETR: 550, and the data connection carries nothing.
        let data = control.epsv();
        let mut stream = connect_data(data);
        let reply = control.cmd(&format!("RETR {name}"));
        assert_eq!(reply.code, 550, "RETR {name}: {reply:?}");
        let leaked = read_all(&mut stream);
        assert!(
            leaked.is_empty(),
            "RETR {name}: {} bytes on the data connection",
            leaked.len()
        );
        for verb in ["SIZE", "MDTM", "MLST", "HASH"] {
            let reply = control.cmd(&format!("{verb} {name}"));
            assert_eq!(reply.code, 550, "{verb} {name}: {reply:?}");
        }
        // STAT with a path lists on the control connection.
        let reply = control.cmd(&format!("STAT {name}"));
        assert_eq!(reply.code, 550, "STAT {name}: {reply:?}");
    }
    // The same names the root holds are served from inside it: `..`
    // stops at the root.
    let inside = std::fs::read(jail.root().join("inside.txt")).unwrap();
    let data = control.epsv();
    let mut stream = connect_data(data);
    control.expect("RETR ../../sub/../inside.txt", 150);
    assert_bytes_eq(
        &read_all(&mut stream),
        &inside,
        "RETR ../../sub/../inside.txt",
    );
    assert_eq!(control.reply().code, 226);
    control.expect("QUIT", 221);
    assert_eq!(jail.outside(), before);
}

fn traversal_cwd_and_list(driver: Driver) {
    let jail = Jail::new();
    let server = FtpServer::read_only(driver, &jail.root());
    let mut control = server.login();
    let outside = jail.base.path().join("outside");
    for name in [
        "dir-link".to_owned(),
        "sub/deep-link".to_owned(),
        "/etc".to_owned(),
        "../outside".to_owned(),
        outside.display().to_string(),
        jail.base.path().display().to_string(),
    ] {
        let reply = control.cmd(&format!("CWD {name}"));
        assert_eq!(reply.code, 550, "CWD {name}: {reply:?}");
        let reply = control.expect("PWD", 257);
        assert!(
            reply.text().starts_with("\"/\""),
            "PWD after CWD {name}: {reply:?}"
        );
    }
    // `..` from the root stays at the root.
    control.expect("CWD ../../..", 250);
    let reply = control.expect("PWD", 257);
    assert!(reply.text().starts_with("\"/\""), "{reply:?}");
    control.expect("CWD sub", 250);
    control.expect("CDUP", 200);
    control.expect("CDUP", 200);
    let reply = control.expect("PWD", 257);
    assert!(reply.text().starts_with("\"/\""), "{reply:?}");

    // Listings of the links out are refused and show nothing of outside.
    for name in ["dir-link", "sub/deep-link", "../outside"] {
        for verb in ["LIST", "NLST", "MLSD"] {
            let data = control.epsv();
            let mut stream = connect_data(data);
            let reply = control.cmd(&format!("{verb} {name}"));
            assert_eq!(reply.code, 550, "{verb} {name}: {reply:?}");
            let leaked = read_all(&mut stream);
            assert!(leaked.is_empty(), "{verb} {name}: {leaked:?}");
        }
    }
    // Patterns in directories reached through links out: refused too.
    for name in [
        "dir-link/*",
        "sub/deep-link/*",
        "../outside/*",
        "/etc/pass*",
    ] {
        for verb in ["LIST", "NLST"] {
            let data = control.epsv();
            let mut stream = connect_data(data);
            let reply = control.cmd(&format!("{verb} {name}"));
            assert_eq!(reply.code, 550, "{verb} {name}: {reply:?}");
            let leaked = read_all(&mut stream);
            assert!(leaked.is_empty(), "{verb} {name}: {leaked:?}");
        }
    }
    // The links out show as links, with no target, in LIST and MLSD.
    for verb in ["LIST", "MLSD", "LIST *"] {
        let data = control.epsv();
        let mut stream = connect_data(data);
        control.expect(verb, 150);
        let listing = String::from_utf8(read_all(&mut stream)).unwrap();
        assert_eq!(control.reply().code, 226);
        assert!(
            !listing.contains("->") && !listing.contains("outside") && !listing.contains("secret"),
            "{verb} shows where links out lead: {listing:?}"
        );
        if verb == "MLSD" {
            assert_eq!(
                listing.matches("type=OS.unix=slink").count(),
                2,
                "{listing}"
            );
        }
    }
    // LIST of `..` is the root's listing: the links show as links, and
    // nothing of what they point to.
    let data = control.epsv();
    let mut stream = connect_data(data);
    control.expect("NLST ..", 150);
    let listing = String::from_utf8(read_all(&mut stream)).unwrap();
    assert_eq!(control.reply().code, 226);
    let mut got: Vec<&str> = listing.lines().map(|l| l.trim_end_matches('\r')).collect();
    got.sort();
    assert!(
        !listing.contains("secret"),
        "NLST .. shows outside names: {listing:?}"
    );
    assert_eq!(got.len(), 4, "NLST ..: {listing:?}");
    control.expect("QUIT", 221);
}

fn traversal_writes(driver: Driver) {
    let jail = Jail::new();
    let before = jail.outside();
    let server = FtpServer::writable(driver, &jail.root());
    let mut control = server.login();
    control.expect("TYPE I", 200);
    let payload = content(2100, 5000);

    // STOR through every link out: 550, nothing written anywhere.
    for name in [
        "file-link",
        "dir-link/inner-secret",
        "dir-link/new-file",
        "sub/deep-link/new-file",
    ] {
        let data = control.epsv();
        let mut stream = connect_data(data);
        let reply = control.cmd(&format!("STOR {name}"));
        assert_eq!(reply.code, 550, "STOR {name}: {reply:?}");
        // The server must not take the bytes: the connection is closed.
        let _ = stream.write_all(&payload);
        drop(stream);
    }
    for (verb, name) in [
        ("DELE", "../secret"),
        ("DELE", "dir-link/inner-secret"),
        ("DELE", "sub/deep-link/inner-secret"),
        ("RMD", "dir-link"),
        ("RMD", "../outside"),
        ("MKD", "dir-link/newdir"),
        ("MKD", "sub/deep-link/newdir"),
        ("RNFR", "../secret"),
        ("RNFR", "dir-link/inner-secret"),
        ("RNFR", "/etc/passwd"),
        ("MFMT 20000101000000", "file-link"),
        ("MFMT 20000101000000", "dir-link/inner-secret"),
        ("MDTM 20000101000000", "file-link"),
        ("SITE UTIME 20000101000000", "sub/deep-link/inner-secret"),
    ] {
        let reply = control.cmd(&format!("{verb} {name}"));
        assert_eq!(reply.code, 550, "{verb} {name}: {reply:?}");
    }
    // A rename out through a link is refused at RNTO.
    control.expect("RNFR inside.txt", 350);
    let reply = control.cmd("RNTO dir-link/stolen.txt");
    assert_eq!(reply.code, 550, "RNTO dir-link/stolen.txt: {reply:?}");
    assert!(jail.root().join("inside.txt").is_file());

    // `..` in a written name stops at the root: these land inside.
    let data = control.epsv();
    let mut stream = connect_data(data);
    control.expect("STOR ../../clamped.bin", 150);
    stream.write_all(&payload).unwrap();
    drop(stream);
    assert_eq!(control.reply().code, 226);
    assert_file_eq(&jail.root().join("clamped.bin"), &payload);
    control.expect("RNFR clamped.bin", 350);
    control.expect("RNTO ../moved.bin", 250);
    assert_file_eq(&jail.root().join("moved.bin"), &payload);
    control.expect("MKD ../../made", 257);
    assert!(jail.root().join("made").is_dir());
    // Removing a link removes the link, never its target.
    control.expect("DELE file-link", 250);
    assert!(!jail.root().join("file-link").exists());
    control.expect("QUIT", 221);

    assert_eq!(jail.outside(), before, "something outside the root changed");
    assert!(!jail.base.path().join("clamped.bin").exists());
    assert!(!jail.base.path().join("moved.bin").exists());
    assert!(!jail.base.path().join("made").exists());
}

// ---------------------------------------------------------------------------
// Bounce: PORT and EPRT may name only the control connection's peer.

fn port_and_eprt_to_another_address_are_refused(driver: Driver) {
    let root = temp_dir("root");
    make_file(root.path(), "file.bin", 100_000, 2200);
    let server = FtpServer::read_only(driver, root.path());
    let trap = listen_on(OTHER);
    let trap_addr = match trap.local_addr().unwrap() {
        SocketAddr::V4(a) => a,
        other => panic!("{other}"),
    };
    let mut control = server.login();
    for command in [
        format!("PORT {}", port_argument(trap_addr)),
        format!("EPRT |1|{}|{}|", trap_addr.ip(), trap_addr.port()),
        format!(
            "PORT {}",
            port_argument(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 4000))
        ),
        "EPRT |1|10.0.0.1|4000|".to_owned(),
        // The right address, but a privileged port (RFC 2577 §3).
        format!(
            "PORT {}",
            port_argument(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 21))
        ),
        "EPRT |1|127.0.0.1|25|".to_owned(),
    ] {
        let reply = control.cmd(&command);
        assert_eq!(reply.code, 504, "{command}: {reply:?}");
        // No data connection was set up, so a transfer has none.
        let reply = control.cmd("RETR file.bin");
        assert_eq!(reply.code, 425, "RETR after {command}: {reply:?}");
    }
    control.expect("QUIT", 221);
    if let Some(from) = anyone_connected(&trap, Duration::from_millis(500)) {
        panic!("the server connected to {trap_addr} from {from}");
    }
}

// ---------------------------------------------------------------------------
// Passive-port theft: a connection from another address is not used.

fn passive_theft(driver: Driver, use_epsv: bool) {
    let root = temp_dir("root");
    let want = make_file(root.path(), "file.bin", 1_000_000, 2300);
    let server = FtpServer::read_only(driver, root.path());
    let mut control = server.login();
    control.expect("TYPE I", 200);
    let data = if use_epsv {
        control.epsv()
    } else {
        control.pasv()
    };
    assert_eq!(data.ip(), std::net::IpAddr::from(Ipv4Addr::LOCALHOST));
    // The thief connects first, from 127.0.0.2, then the real client.
    let mut thief = connect_from(OTHER, data).expect("connect from 127.0.0.2");
    let mut real = connect_data(data);
    // The server turns the thief away and serves the real client, which
    // was already waiting in the backlog.
    control.expect("RETR file.bin", 150);
    assert_bytes_eq(&read_all(&mut real), &want, "RETR to the real client");
    assert_eq!(control.reply().code, 226);
    let stolen = read_all(&mut thief);
    assert!(
        stolen.is_empty(),
        "{} bytes went to the connection from {OTHER}",
        stolen.len()
    );
    // The session goes on.
    control.expect("NOOP", 200);
    control.expect("QUIT", 221);
}

fn passive_connection_from_another_address_epsv(driver: Driver) {
    passive_theft(driver, true);
}

fn passive_connection_from_another_address_pasv(driver: Driver) {
    passive_theft(driver, false);
}

/// An upload with a thief on the passive port: the thief's bytes never
/// reach the file.
fn passive_upload_from_another_address(driver: Driver) {
    let root = temp_dir("root");
    let server = FtpServer::writable(driver, root.path());
    let mut control = server.login();
    control.expect("TYPE I", 200);
    let data = control.epsv();
    let mut thief = connect_from(OTHER, data).expect("connect from 127.0.0.2");
    // Whatever the thief writes sits in its socket until the server
    // closes it; it must not become the file.
    let _ = thief.write_all(b"stolen bytes from the thief\n");
    let mut real = connect_data(data);
    let want = content(2301, 300_000);
    control.expect("STOR up.bin", 150);
    real.write_all(&want).unwrap();
    drop(real);
    assert_eq!(control.reply().code, 226);
    assert_file_eq(&root.path().join("up.bin"), &want);
    control.expect("QUIT", 221);
    drop(thief);
}

// ---------------------------------------------------------------------------
// Uploads cut off midway.

/// Waits (briefly) for the server to remove its temporary upload files,
/// then returns the names in `dir`.
fn settled_names(dir: &Path) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let names = names(dir);
        if !names.iter().any(|n| is_temporary(n)) || Instant::now() >= deadline {
            return names;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The cut-off uploads left `dir` as it was: `target.bin` with its `old`
/// content, and nothing else (no new file, no temporary one).
#[track_caller]
fn assert_only_old_target(dir: &Path, old: &[u8]) {
    assert_eq!(settled_names(dir), ["target.bin"]);
    assert_file_eq(&dir.join("target.bin"), old);
}

/// Starts `STOR name` and sends `half` bytes of a new content.
fn start_upload(control: &mut Control, name: &str, half: &[u8]) -> std::net::TcpStream {
    let data = control.epsv();
    let mut stream = connect_data(data);
    control.expect(&format!("STOR {name}"), 150);
    stream.write_all(half).unwrap();
    stream
}

fn stor_cut_by_reset_leaves_old_file(driver: Driver) {
    let root = temp_dir("root");
    let old = make_file(root.path(), "target.bin", 2_000_000, 2400);
    let server = FtpServer::writable(driver, root.path());
    let mut control = server.login();
    control.expect("TYPE I", 200);
    let new = content(2401, 4_000_000);

    // Over an existing file, then under a new name.
    for name in ["target.bin", "fresh.bin"] {
        let stream = start_upload(&mut control, name, &new[..1_000_000]);
        thread::sleep(Duration::from_millis(100));
        reset(stream);
        let reply = control.reply();
        assert_eq!(reply.code, 426, "STOR cut by a reset: {reply:?}");
    }
    control.expect("NOOP", 200);

    assert_only_old_target(root.path(), &old);
    control.expect("QUIT", 221);
}

fn stor_aborted_leaves_old_file(driver: Driver) {
    let root = temp_dir("root");
    let old = make_file(root.path(), "target.bin", 2_000_000, 2500);
    let server = FtpServer::writable(driver, root.path());
    let mut control = server.login();
    control.expect("TYPE I", 200);
    let new = content(2501, 4_000_000);

    for name in ["target.bin", "fresh.bin"] {
        let stream = start_upload(&mut control, name, &new[..1_000_000]);
        // ABOR while the data connection is still open: 426, then 226.
        let reply = control.cmd("ABOR");
        assert_eq!(reply.code, 426, "ABOR during STOR: {reply:?}");
        let reply = control.reply();
        assert_eq!(reply.code, 226, "after the 426: {reply:?}");
        drop(stream);
    }
    control.expect("NOOP", 200);
    assert_only_old_target(root.path(), &old);
    control.expect("QUIT", 221);
}

/// The client dies midway (both connections reset): the server discards
/// the upload and goes on serving.
fn stor_client_vanishes_leaves_old_file(driver: Driver) {
    let root = temp_dir("root");
    let old = make_file(root.path(), "target.bin", 2_000_000, 2600);
    let server = FtpServer::writable(driver, root.path());
    let mut control = server.login();
    control.expect("TYPE I", 200);
    let new = content(2601, 1_000_000);
    let stream = start_upload(&mut control, "target.bin", &new);
    thread::sleep(Duration::from_millis(100));
    reset(stream);
    drop(control);

    assert_only_old_target(root.path(), &old);
    let mut control = server.connect();
    control.expect("NOOP", 200);
}

// ---------------------------------------------------------------------------
// Garbage on the control connection.

/// Sends `bytes` on a new connection: the server answers `code`, and the
/// session goes on (NOOP works on the same connection).
#[track_caller]
fn garbage_answered(server: &FtpServer, bytes: &[u8], code: u16) {
    let mut control = server.connect();
    let start = &bytes[..bytes.len().min(16)];
    control
        .send_raw(bytes)
        .unwrap_or_else(|e| panic!("sending {start:?}...: {e}"));
    match control.read_reply() {
        Ok(Some(reply)) => assert_eq!(reply.code, code, "{start:?}... answered {reply:?}"),
        other => panic!("{start:?}... answered {other:?}"),
    }
    control.expect("NOOP", 200);
}

fn garbage_and_long_lines(driver: Driver) {
    let root = temp_dir("root");
    make_file(root.path(), "file.bin", 1000, 2700);
    let server = FtpServer::read_only(driver, root.path());

    // Unknown verbs: 500; a line that is not UTF-8: 501.
    garbage_answered(&server, b"\x00\x01\x02\x03 garbage \x7f\r\n", 500);
    garbage_answered(&server, b"\x80\x81\xfe\xc3\x28 not utf-8\r\n", 501);
    garbage_answered(&server, b"\xff\xf4\xff\xf2\xff\xff\xff garbage\r\n", 501);
    garbage_answered(&server, b"RETR\x00/etc/passwd\r\n", 500);
    // Lines over the limit: 500, once, and the stream stays in step.
    let mut long = vec![b'A'; 100 * 1024];
    long.extend_from_slice(b"\r\n");
    garbage_answered(&server, &long, 500);
    let mut long = b"USER ".to_vec();
    long.extend(std::iter::repeat_n(b'u', 100 * 1024));
    long.extend_from_slice(b"\r\n");
    garbage_answered(&server, &long, 500);

    // 1 MB of random bytes without a line end, then the connection is
    // dropped: the server must neither hang nor die.
    {
        let mut control = server.connect();
        let noise: Vec<u8> = content(2701, 1 << 20)
            .into_iter()
            .map(|b| if b == b'\n' { b'x' } else { b })
            .collect();
        let _ = control.send_raw(&noise);
    }

    // A new connection is served as usual.
    let mut control = server.login();
    control.expect("TYPE I", 200);
    let data = control.epsv();
    let mut stream = connect_data(data);
    control.expect("RETR file.bin", 150);
    assert_eq!(read_all(&mut stream).len(), 1000);
    assert_eq!(control.reply().code, 226);
    control.expect("QUIT", 221);
}

// ---------------------------------------------------------------------------
// Many connections at once, and the session limit.

fn two_hundred_concurrent_sessions(driver: Driver) {
    const N: usize = 200;
    raise_fd_limit(4096);
    let root = temp_dir("root");
    let server = FtpServer::start(driver, root.path(), &["--max-sessions", "300"]);
    let addr = server.addr();
    let start = Arc::new(Barrier::new(N));
    let all_in = Arc::new(Barrier::new(N));
    let clients: Vec<_> = (0..N)
        .map(|i| {
            let (start, all_in) = (Arc::clone(&start), Arc::clone(&all_in));
            thread::spawn(move || {
                start.wait();
                let greeting = Control::connect(addr).map(|mut c| {
                    let r = c.read_reply();
                    (c, r)
                });
                // Everyone waits here, connected, before anyone goes on,
                // so all N sessions are open at the same time.
                all_in.wait();
                let (mut control, greeting) = match greeting {
                    Ok(pair) => pair,
                    Err(e) => panic!("client {i}: connect: {e}"),
                };
                match greeting {
                    Ok(Some(r)) if r.code == 220 => {}
                    other => panic!("client {i}: greeting {other:?}"),
                }
                control.expect("NOOP", 200);
                control.expect("QUIT", 221);
            })
        })
        .collect();
    let mut failures = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        if let Err(e) = client.join() {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{i}: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} clients failed: {failures:#?}",
        failures.len()
    );
}

fn over_max_sessions_gets_421(driver: Driver) {
    let root = temp_dir("root");
    let server = FtpServer::start(driver, root.path(), &["--max-sessions", "2"]);
    let mut first = server.connect();
    let _second = server.connect();
    let mut third = Control::connect(server.addr()).unwrap();
    let reply = third.reply();
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(
        third.closed_within(Duration::from_secs(5)),
        "not closed after 421"
    );
    first.expect("QUIT", 221);
    drop(first);
    // The slot comes free once the first session has ended.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut next = Control::connect(server.addr()).unwrap();
        let reply = next.reply();
        if reply.code == 220 {
            next.expect("NOOP", 200);
            break;
        }
        assert_eq!(reply.code, 421, "{reply:?}");
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// Uploads racing each other and readers.

/// Eight clients upload different contents to one name at once while
/// others download it: every download is one whole version, and the file
/// ends as exactly one of the uploads.
fn concurrent_uploads_to_one_name(driver: Driver) {
    const WRITERS: usize = 8;
    const READERS: usize = 4;
    let root = temp_dir("root");
    let old = make_file(root.path(), "shared.bin", 1_500_000, 2900);
    let server = FtpServer::writable(driver, root.path());
    let versions: Vec<Vec<u8>> = (0..WRITERS)
        .map(|i| content(2901 + i as u64, 1_000_000 + i * 1000))
        .collect();
    let start = Arc::new(Barrier::new(WRITERS + READERS));
    let addr = server.addr();
    let mut threads = Vec::new();
    for version in versions.clone() {
        let start = Arc::clone(&start);
        threads.push(thread::spawn(move || {
            let mut control = Control::connect(addr).unwrap();
            assert_eq!(control.reply().code, 220);
            control.login_anonymous();
            control.expect("TYPE I", 200);
            let mut stream = connect_data(control.epsv());
            start.wait();
            control.expect("STOR shared.bin", 150);
            for chunk in version.chunks(64 * 1024) {
                stream.write_all(chunk).unwrap();
            }
            drop(stream);
            assert_eq!(control.reply().code, 226);
            None
        }));
    }
    for _ in 0..READERS {
        let start = Arc::clone(&start);
        threads.push(thread::spawn(move || {
            let mut control = Control::connect(addr).unwrap();
            assert_eq!(control.reply().code, 220);
            control.login_anonymous();
            control.expect("TYPE I", 200);
            let mut stream = connect_data(control.epsv());
            start.wait();
            control.expect("RETR shared.bin", 150);
            let got = read_all(&mut stream);
            assert_eq!(control.reply().code, 226);
            Some(got)
        }));
    }
    let mut downloads = Vec::new();
    for t in threads {
        if let Some(got) = t.join().expect("client thread") {
            downloads.push(got);
        }
    }
    let whole = |bytes: &[u8]| bytes == old.as_slice() || versions.iter().any(|v| v == bytes);
    for got in &downloads {
        assert!(
            whole(got),
            "a download of {} bytes is no whole version",
            got.len()
        );
    }
    let last = std::fs::read(root.path().join("shared.bin")).unwrap();
    assert!(
        versions.contains(&last),
        "the final file ({} bytes) is none of the uploads",
        last.len()
    );
    assert_eq!(settled_names(root.path()), ["shared.bin"]);
}

// ---------------------------------------------------------------------------
// A client that sends and never reads.

/// Commands pour in while the client reads no reply: the server stops
/// reading once its replies back up, its memory stays bounded, it serves
/// others meanwhile, and every command is answered once, in order, when
/// the client reads at last.
fn flood_without_reading(driver: Driver) {
    const LINE: &[u8] = b"NOOP\r\n";
    let root = temp_dir("root");
    let server = FtpServer::read_only(driver, root.path());
    let before = server.resident_kib();
    let mut flood = Control::connect_small_buffers(server.addr(), 4096).unwrap();
    assert_eq!(flood.reply().code, 220);
    let mut writer = flood.writer();
    writer
        .set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let batch = LINE.repeat(1000);
    let mut sent = 0usize;
    let started = Instant::now();
    // Two seconds of commands as fast as the server takes them. Reading
    // no replies, the client gets its commands in only as fast as the
    // replies drain into its small buffer: a few hundred kB, where a
    // server that read on regardless would take hundreds of MB.
    while started.elapsed() < Duration::from_secs(2) {
        let at = sent % batch.len();
        match writer.write(&batch[at..]) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("flooding: {e}"),
        }
    }
    assert!(
        sent < 20 << 20,
        "the server took {sent} bytes of commands in 2 s without its replies being read"
    );
    let grown = server.resident_kib().saturating_sub(before);
    assert!(grown < 20 * 1024, "the server grew by {grown} KiB");

    // Others are served meanwhile.
    let mut other = server.login();
    other.expect("NOOP", 200);
    other.expect("QUIT", 221);

    // Every NOOP is answered exactly once, then QUIT.
    writer.set_write_timeout(Some(REPLY_TIMEOUT)).unwrap();
    let tail = sent % LINE.len();
    let expected = sent / LINE.len() + usize::from(tail > 0);
    let reader = thread::spawn(move || {
        let mut control = flood;
        let mut n = 0usize;
        loop {
            match control.read_reply() {
                Ok(Some(r)) if r.code == 200 => n += 1,
                Ok(Some(r)) if r.code == 221 => return n,
                other => panic!("after {n} NOOP replies: {other:?}"),
            }
        }
    });
    if tail > 0 {
        writer.write_all(&LINE[tail..]).unwrap();
    }
    writer.write_all(b"QUIT\r\n").unwrap();
    let answered = reader.join().expect("reader");
    assert_eq!(answered, expected, "NOOPs answered");
}

/// A client that opens a download and then reads nothing for a while: the
/// server sends only what the socket takes and never reads the file ahead
/// into memory, whichever driver runs it. Then the whole file arrives,
/// byte for byte.
fn slow_data_reader_is_not_buffered(driver: Driver) {
    const LEN: usize = 64 << 20;
    let root = temp_dir("root");
    let want = make_file(root.path(), "big.bin", LEN, 2900);
    let server = FtpServer::read_only(driver, root.path());
    let mut control = server.login();
    control.expect("TYPE I", 200);
    let before = server.resident_kib();
    let data_addr = control.epsv();
    let mut data = connect_data(data_addr);
    control.send("RETR big.bin");
    assert_eq!(control.reply().code, 150);
    // Nothing read for two seconds while the server has the whole file to
    // send; STAT still answered at once meanwhile, with the bytes so far.
    for _ in 0..4 {
        thread::sleep(Duration::from_millis(500));
        control.expect("STAT", 213);
    }
    let grown = server.resident_kib().saturating_sub(before);
    assert!(
        grown < 8 * 1024,
        "the server grew by {grown} KiB while its reader was stalled"
    );
    let got = read_all(&mut data);
    assert_bytes_eq(&got, &want, "the download after the stall");
    assert_eq!(control.reply().code, 226);
    control.expect("QUIT", 221);
}

ferry_interop::driver_tests!(
    traversal_retr_size_mdtm_mlst,
    traversal_cwd_and_list,
    traversal_writes,
    port_and_eprt_to_another_address_are_refused,
    passive_connection_from_another_address_epsv,
    passive_connection_from_another_address_pasv,
    passive_upload_from_another_address,
    stor_cut_by_reset_leaves_old_file,
    stor_aborted_leaves_old_file,
    stor_client_vanishes_leaves_old_file,
    garbage_and_long_lines,
    two_hundred_concurrent_sessions,
    over_max_sessions_gets_421,
    concurrent_uploads_to_one_name,
    flood_without_reading,
    slow_data_reader_is_not_buffered,
);
