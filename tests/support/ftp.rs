//! Launching ferry's FTP server for interop tests, and a raw control
//! connection for the tests that speak FTP by hand (the attacks).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::{Driver, Launched, Service};

/// How long a raw control or data connection waits for the server before
/// the test calls it a hang.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// `ferry serve` with FTP only on 127.0.0.1, killed when dropped.
pub struct FtpServer {
    server: Launched,
}

impl FtpServer {
    /// Serves `root` read-only to anonymous users.
    pub fn read_only(driver: Driver, root: &Path) -> Self {
        Self::start(driver, root, &[])
    }

    /// Serves `root` with `--write`.
    pub fn writable(driver: Driver, root: &Path) -> Self {
        Self::start(driver, root, &["--write"])
    }

    /// Starts `ferry serve --driver DRIVER --root ROOT --ftp 127.0.0.1:0
    /// --no-tftp EXTRA...` and waits for its `ferry: ftp listening on ADDR`
    /// line.
    pub fn start(driver: Driver, root: &Path, extra: &[&str]) -> Self {
        FtpServer {
            server: Launched::start(Service::Ftp, driver, root, extra),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// `ftp://127.0.0.1:PORT/path` (anonymous).
    pub fn url(&self, path: &str) -> String {
        format!("ftp://{}/{}", self.addr(), path)
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.server.log()
    }

    /// How many file descriptors and threads the server process has now
    /// (from /proc): for checking that sessions leave nothing behind.
    pub fn fds_and_threads(&self) -> (usize, usize) {
        let proc = std::path::PathBuf::from(format!("/proc/{}", self.server.child.0.id()));
        let count = |dir: &str| {
            std::fs::read_dir(proc.join(dir))
                .unwrap_or_else(|e| panic!("read /proc/PID/{dir}: {e}"))
                .count()
        };
        (count("fd"), count("task"))
    }

    /// The server's resident memory in KiB (VmRSS in /proc/PID/status).
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.server.child.0.id()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// Sends SIGTERM to the server (a graceful shutdown).
    pub fn terminate(&self) {
        use rustix::process::{kill_process, Pid, Signal};
        let pid = i32::try_from(self.server.child.0.id())
            .ok()
            .and_then(Pid::from_raw)
            .expect("server pid");
        kill_process(pid, Signal::TERM).expect("send SIGTERM to the server");
    }

    /// Waits up to `timeout` for the server to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.server.child.0.try_wait().expect("wait for the server") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// A new control connection, its 220 greeting already read.
    #[track_caller]
    pub fn connect(&self) -> Control {
        let addr = self.addr();
        let mut control = Control::connect(addr)
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}\nlog: {}", self.log()));
        let greeting = control.reply();
        assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
        control
    }

    /// A new control connection, logged in as `anonymous`.
    #[track_caller]
    pub fn login(&self) -> Control {
        let mut control = self.connect();
        control.login_anonymous();
        control
    }
}

// ---------------------------------------------------------------------------
// A raw control connection

/// One FTP reply: its code and every line of its text (the code and the
/// `-`/space after it removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The text of every line, joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// A control connection spoken by hand: send a line, read a reply.
pub struct Control {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Control {
    /// Connects to `addr` without reading anything.
    pub fn connect(addr: SocketAddr) -> io::Result<Control> {
        let stream = TcpStream::connect_timeout(&addr, REPLY_TIMEOUT)?;
        Self::wrap(stream)
    }

    /// Connects to `addr` with small socket buffers (SO_RCVBUF and
    /// SO_SNDBUF set before the connection is made), so that what one side
    /// does not read backs up after a few kilobytes rather than megabytes.
    pub fn connect_small_buffers(addr: SocketAddr, bytes: usize) -> io::Result<Control> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_recv_buffer_size(bytes)?;
        socket.set_send_buffer_size(bytes)?;
        socket.connect_timeout(&SockAddr::from(addr), REPLY_TIMEOUT)?;
        Self::wrap(socket.into())
    }

    fn wrap(stream: TcpStream) -> io::Result<Control> {
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(Control {
            reader: BufReader::new(stream.try_clone()?),
            stream,
        })
    }

    /// The local end of the connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("control local address")
    }

    /// Sends `line` followed by CR LF.
    #[track_caller]
    pub fn send(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.extend_from_slice(b"\r\n");
        self.send_raw(&bytes)
            .unwrap_or_else(|e| panic!("send {line:?}: {e}"));
    }

    /// A second handle on the connection, for writing from another thread
    /// while this one reads.
    pub fn writer(&self) -> TcpStream {
        self.stream
            .try_clone()
            .expect("clone the control connection")
    }

    /// Sends bytes exactly as given.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Reads one reply, single- or multi-line (RFC 959 §4.2). `Ok(None)`
    /// when the server closed the connection before a reply began.
    pub fn read_reply(&mut self) -> io::Result<Option<Reply>> {
        let Some(first) = self.read_line()? else {
            return Ok(None);
        };
        let (code, sep, text) = split_reply_line(&first)?;
        let mut lines = vec![text.to_owned()];
        if sep == Some('-') {
            let end = format!("{code} ");
            let bare = code.to_string();
            loop {
                let Some(line) = self.read_line()? else {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("connection closed inside multi-line reply {code}: {lines:?}"),
                    ));
                };
                if let Some(text) = line.strip_prefix(&end) {
                    lines.push(text.to_owned());
                    break;
                }
                if line == bare {
                    break;
                }
                lines.push(line);
            }
        }
        Ok(Some(Reply { code, lines }))
    }

    /// One reply; panics on a closed connection or a timeout.
    #[track_caller]
    pub fn reply(&mut self) -> Reply {
        match self.read_reply() {
            Ok(Some(reply)) => reply,
            Ok(None) => panic!("the server closed the control connection instead of replying"),
            Err(e) => panic!("reading a reply: {e}"),
        }
    }

    /// Sends `line` and reads its reply.
    #[track_caller]
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send(line);
        match self.read_reply() {
            Ok(Some(reply)) => reply,
            Ok(None) => panic!("{line:?}: the server closed the control connection"),
            Err(e) => panic!("{line:?}: reading the reply: {e}"),
        }
    }

    /// Sends `line` and asserts the reply's code.
    #[track_caller]
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let reply = self.cmd(line);
        assert_eq!(reply.code, code, "{line:?} answered {reply:?}");
        reply
    }

    /// Reads the next reply (one not asked for by a command: a greeting,
    /// a transfer's end, a shutdown's 421) and asserts its code.
    #[track_caller]
    pub fn expect_code(&mut self, code: u16) -> Reply {
        let reply = self.reply();
        assert_eq!(reply.code, code, "expected a {code}, got {reply:?}");
        reply
    }

    /// Whether the server closes the connection (EOF or reset) within
    /// [`REPLY_TIMEOUT`] without sending anything more.
    pub fn closed_silently(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => rest.is_empty(),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => rest.is_empty(),
            Err(_) => false,
        }
    }

    /// USER anonymous, PASS: 331 then 230.
    #[track_caller]
    pub fn login_anonymous(&mut self) {
        self.expect("USER anonymous", 331);
        self.expect("PASS interop@example.org", 230);
    }

    /// EPSV: the passive address (the control peer's address, the port
    /// from the 229).
    #[track_caller]
    pub fn epsv(&mut self) -> SocketAddr {
        let reply = self.expect("EPSV", 229);
        let text = reply.text();
        let port: u16 = enclosed(&reply, "(|||", "|)")
            .parse()
            .unwrap_or_else(|e| panic!("port in 229 {text:?}: {e}"));
        SocketAddr::new(self.peer().ip(), port)
    }

    /// PASV: the address from the 227.
    #[track_caller]
    pub fn pasv(&mut self) -> SocketAddr {
        let reply = self.expect("PASV", 227);
        let text = reply.text();
        let n: Vec<u8> = enclosed(&reply, "(", ")")
            .split(',')
            .map(|part| part.trim().parse().expect("number in 227"))
            .collect();
        assert_eq!(n.len(), 6, "227 needs six numbers: {text:?}");
        SocketAddr::from((
            [n[0], n[1], n[2], n[3]],
            u16::from(n[4]) << 8 | u16::from(n[5]),
        ))
    }

    /// The server's end of the control connection.
    pub fn peer(&self) -> SocketAddr {
        self.stream.peer_addr().expect("control peer address")
    }

    /// Closes the sending half (the server sees EOF).
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Waits until the server closes the connection, discarding anything
    /// it still sends; true if it closed (EOF or reset) within `timeout`.
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = self.stream.set_read_timeout(Some(left));
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return false
                }
                Err(_) => return true,
            }
        }
    }

    fn read_line(&mut self) -> io::Result<Option<String>> {
        let mut raw = Vec::new();
        let n = self.reader.read_until(b'\n', &mut raw)?;
        if n == 0 {
            return Ok(None);
        }
        if raw.last() != Some(&b'\n') {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed inside a reply line: {:?}",
                    String::from_utf8_lossy(&raw)
                ),
            ));
        }
        raw.pop();
        if raw.last() == Some(&b'\r') {
            raw.pop();
        }
        Ok(Some(String::from_utf8_lossy(&raw).into_owned()))
    }
}

/// The part of a reply's text between `open` and `close` (the address
/// in a 227 or 229).
#[track_caller]
fn enclosed(reply: &Reply, open: &str, close: &str) -> String {
    let text = reply.text();
    match text
        .split_once(open)
        .and_then(|(_, rest)| rest.split_once(close))
    {
        Some((inner, _)) => inner.to_owned(),
        None => panic!("malformed {}: {text:?}", reply.code),
    }
}

fn split_reply_line(line: &str) -> io::Result<(u16, Option<char>, &str)> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a reply line: {line:?}"),
        )
    };
    let digits = line.get(..3).ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let code = digits.parse().map_err(|_| bad())?;
    let rest = &line[3..];
    let mut chars = rest.chars();
    match chars.next() {
        None => Ok((code, None, "")),
        Some(sep @ (' ' | '-')) => Ok((code, Some(sep), chars.as_str())),
        Some(_) => Err(bad()),
    }
}

// ---------------------------------------------------------------------------
// Data connections

/// A TCP connection to `to` from the local address `from` (port 0):
/// used to reach a passive port from another loopback address.
pub fn connect_from(from: Ipv4Addr, to: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SockAddr::from(SocketAddrV4::new(from, 0)))?;
    socket.connect_timeout(&SockAddr::from(to), REPLY_TIMEOUT)?;
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
    stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
    Ok(stream)
}

/// A data connection to a passive address.
#[track_caller]
pub fn connect_data(to: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&to, REPLY_TIMEOUT)
        .unwrap_or_else(|e| panic!("connect {to}: {e}"));
    stream.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(REPLY_TIMEOUT)).unwrap();
    stream
}

/// Reads until EOF; a reset counts as the end too (what arrived is kept).
pub fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                panic!("data connection: nothing more and no EOF after {REPLY_TIMEOUT:?}")
            }
            Err(_) => return all,
        }
    }
}

/// Closes `stream` with a reset (SO_LINGER 0) instead of a FIN: for the
/// server, a data connection cut off rather than ended.
pub fn reset(stream: TcpStream) {
    let socket = Socket::from(stream);
    let _ = socket.set_linger(Some(Duration::ZERO));
    drop(socket);
}

/// A listener on `ip` (port 0) for checking that nobody connects to it.
pub fn listen_on(ip: Ipv4Addr) -> TcpListener {
    let listener = TcpListener::bind((ip, 0)).unwrap_or_else(|e| panic!("bind {ip}:0: {e}"));
    listener.set_nonblocking(true).unwrap();
    listener
}

/// Whether any connection arrived on `listener` (non-blocking) within
/// `wait`.
pub fn anyone_connected(listener: &TcpListener, wait: Duration) -> Option<SocketAddr> {
    let deadline = Instant::now() + wait;
    loop {
        match listener.accept() {
            Ok((_, from)) => return Some(from),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("accept: {e}"),
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// `h1,h2,h3,h4,p1,p2` for a PORT command.
pub fn port_argument(addr: SocketAddrV4) -> String {
    let [a, b, c, d] = addr.ip().octets();
    let port = addr.port();
    format!("{a},{b},{c},{d},{},{}", port >> 8, port & 0xff)
}

// ---------------------------------------------------------------------------
// File trees

/// Every file under `dir` as (relative path, sha256), sorted, and every
/// directory's relative path: the shape and content of a tree. Symlinks
/// are not followed; one is listed as (path, `-> target`).
pub fn tree(dir: &Path) -> (Vec<(String, String)>, Vec<String>) {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    walk(dir, dir, &mut files, &mut dirs);
    files.sort();
    dirs.sort();
    (files, dirs)
}

fn walk(base: &Path, dir: &Path, files: &mut Vec<(String, String)>, dirs: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let entry = entry.unwrap();
        let path = entry.path();
        let rel = path
            .strip_prefix(base)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            // Not followed: a link is listed with where it points.
            let target = std::fs::read_link(&path).unwrap();
            files.push((rel, format!("-> {}", target.display())));
        } else if kind.is_dir() {
            dirs.push(rel);
            walk(base, &path, files, dirs);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            files.push((rel, super::sha256_hex(&bytes)));
        }
    }
}

/// The names directly in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Raises this process's soft limit on open files to at least `want`
/// (up to the hard limit), for tests that hold many sockets at once.
pub fn raise_fd_limit(want: u64) {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    if current >= want {
        return;
    }
    let target = match limit.maximum {
        Some(max) => want.min(max),
        None => want,
    };
    limit.current = Some(target);
    let _ = setrlimit(Resource::Nofile, limit);
}

/// lftp running `script` against `server`: logged in anonymously,
/// passive, ending at the first failed command, with short retries so a
/// refused step fails the test instead of stalling it.
pub fn lftp(server: &FtpServer, script: &str) -> Command {
    let lftp = super::find_program("lftp").expect("peer checked by require_peer! first");
    let mut cmd = Command::new(lftp);
    cmd.arg("-c").arg(format!(
        "set cmd:fail-exit yes; set net:max-retries 2; set net:reconnect-interval-base 1; \
         set net:timeout 20; set ftp:passive-mode yes; set xfer:clobber yes; \
         open -u anonymous,lftp@example.org ftp://127.0.0.1:{}; {script}",
        server.port()
    ));
    cmd
}

/// A file of a little over two restart-marker intervals (1 MiB each), for
/// [`put_with_markers`].
pub fn marked_file() -> Vec<u8> {
    (0..(2u32 << 20) + 777)
        .map(|i| (i * 7 % 251) as u8)
        .collect()
}

/// `ferry -v put FILE URL --mode MODE` (block or compressed) from `dir`:
/// ferry's client sends a restart marker every 1 MiB, so a
/// [`marked_file`] must come back with exactly two 110s, at 1 MiB and
/// 2 MiB, reported before the transfer's end.
pub fn put_with_markers(dir: &Path, file: &str, url: &str, mode: &str) {
    let done = super::run(
        super::ferry()
            .current_dir(dir)
            .args(["-v", "put", file, url, "--mode", mode]),
        super::PEER_TIMEOUT,
    );
    done.assert_success(&format!("ferry put --mode {mode}"));
    let marks: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| l.contains("marked a restart point"))
        .collect();
    assert_eq!(marks.len(), 2, "{mode}: {}", done.stderr);
    assert!(marks[0].contains("MARK 1048576 = 1048576"), "{}", marks[0]);
    assert!(marks[1].contains("MARK 2097152 = 2097152"), "{}", marks[1]);
}
