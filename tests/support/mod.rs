//! Helpers for the interoperability tests: the `ferry` binary, real peers
//! (curl, tftp-hpa, atftp, tftpd-hpa) started and stopped by the tests,
//! deterministic test files and byte-exact comparison.
//!
//! Every server binds 127.0.0.1 on a port of its own, so tests run in
//! parallel. A peer that is not installed skips its test with a message,
//! unless `FERRY_INTEROP=1` is set (as `scripts/test.sh` and CI do), in
//! which case a missing peer fails the test.

pub mod ftp;
pub mod ftps;
pub mod in_process;
pub mod pyftpd;
pub mod seaweedfs;
pub mod tftp;
pub mod vsftpd;
pub mod vsftpd_tls;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Longest any single peer command may run before the test calls it a stall.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Drivers

/// Which of ferry's server drivers a test runs against: every server-side
/// test runs once per driver (see [`driver_tests!`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    /// `ferry-blocking`: a thread per session or transfer.
    Blocking,
    /// `ferry-mio`: one event loop for everything.
    Mio,
}

impl Driver {
    /// Every driver, in the order tests run them.
    pub const ALL: [Driver; 2] = [Driver::Blocking, Driver::Mio];

    /// The name `ferry serve --driver` takes.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Blocking => "blocking",
            Driver::Mio => "mio",
        }
    }
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Turns test bodies written once, `fn name(driver: Driver)`, into one
/// `#[test]` per driver, named `name::blocking` and `name::mio`:
///
/// ```
/// use ferry_interop::Driver;
///
/// fn get_a_file(driver: Driver) {
///     assert!(Driver::ALL.contains(&driver));
/// }
/// fn put_a_file(driver: Driver) {
///     assert!(["blocking", "mio"].contains(&driver.name()));
/// }
///
/// ferry_interop::driver_tests!(get_a_file, put_a_file);
/// # fn main() {}
/// ```
///
/// Attributes written before a name (`#[ignore = "..."]`) go on both of
/// its tests. `cargo test -- ::mio` runs one driver's tests.
#[macro_export]
macro_rules! driver_tests {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        $(
            mod $name {
                $(#[$attr])*
                #[test]
                fn blocking() {
                    super::$name($crate::Driver::Blocking)
                }

                $(#[$attr])*
                #[test]
                fn mio() {
                    super::$name($crate::Driver::Mio)
                }
            }
        )*
    };
}

// ---------------------------------------------------------------------------
// Peers

/// True when interop tests must not skip (`FERRY_INTEROP=1`).
pub fn interop_required() -> bool {
    std::env::var_os("FERRY_INTEROP").is_some_and(|v| v == "1")
}

/// Skips a test (prints why) or, under `FERRY_INTEROP=1`, fails it.
/// Returns `None` when the caller should return early.
pub fn skip_or_fail<T>(why: &str) -> Option<T> {
    if interop_required() {
        panic!("{why} (FERRY_INTEROP=1: interop tests may not skip)");
    }
    eprintln!("skipping: {why} (set FERRY_INTEROP=1 to make this a failure)");
    None
}

/// Finds a peer program on `PATH` or in the sbin directories (where
/// `in.tftpd` lives, often outside a non-root user's `PATH`).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
        })
}

/// The path of a peer program, or `None` (after a message) if the test
/// should be skipped because it is not installed.
pub fn require_peer(name: &str) -> Option<PathBuf> {
    match find_program(name) {
        Some(path) => Some(path),
        None => skip_or_fail(&format!("peer `{name}` is not installed")),
    }
}

/// Returns early from the calling test when a peer is missing (see
/// [`require_peer`](fn@require_peer)).
#[macro_export]
macro_rules! require_peer {
    ($name:expr) => {
        match $crate::require_peer($name) {
            Some(path) => path,
            None => return,
        }
    };
}

/// What a finished peer command printed and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Panics with the command's output unless it exited 0.
    pub fn assert_success(&self, what: &str) -> &Self {
        assert!(
            self.success(),
            "{what}: exited with {}\nstderr: {}",
            self.status,
            self.stderr
        );
        self
    }
}

/// Runs a command to completion with a deadline: a peer that hangs is
/// killed and the test fails with "stalled" rather than hanging the run.
pub fn run(cmd: &mut Command, timeout: Duration) -> Finished {
    let described = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {described}: {e}"));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for peer") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
            panic!("stalled: {described} still running after {timeout:?}\nstderr: {err}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    Finished {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned(),
    }
}

fn drain(mut from: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut all = Vec::new();
        let _ = from.read_to_end(&mut all);
        all
    })
}

/// Raises this process's soft limit on open files to its hard limit
/// (children started afterwards inherit it) and returns the limit now in
/// force.
pub fn raise_fd_limit_to_hard() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// A UDP port on 127.0.0.1 that was free a moment ago (for peers that
/// cannot bind port 0 and report it).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("bind an ephemeral UDP port")
        .port()
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Sends a read request for a file that does not exist and waits for any
/// answer: the server at `addr` is up once it replies (with an ERROR).
fn tftp_answers(addr: SocketAddr) -> bool {
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_millis(100)));
    let probe = b"\x00\x01ferry-interop-probe-absent\x00octet\x00";
    if socket.send_to(probe, addr).is_err() {
        return false;
    }
    let mut buf = [0u8; 600];
    socket.recv_from(&mut buf).is_ok()
}

/// A child process killed (and reaped) when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ---------------------------------------------------------------------------
// The ferry binary

/// The `ferry` binary of this workspace, built once per test process.
///
/// `FERRY_BIN` overrides it. Otherwise `cargo build -p ferry` runs once,
/// into the same target directory and profile as this test binary, which
/// lives in `<target>/<profile>/deps/`.
pub fn ferry_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("FERRY_BIN") {
            return PathBuf::from(bin);
        }
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in <target>/<profile>/deps");
        let target_dir = profile_dir.parent().expect("target directory");
        let profile = profile_dir
            .file_name()
            .and_then(OsStr::to_str)
            .expect("profile directory name");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(workspace)
            .args(["build", "--quiet", "-p", "ferry", "--bin", "ferry"])
            .arg("--target-dir")
            .arg(target_dir);
        match profile {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let status = build.status().expect("run cargo build -p ferry");
        assert!(status.success(), "cargo build -p ferry failed");
        let bin = profile_dir.join("ferry");
        assert!(bin.is_file(), "no ferry binary at {}", bin.display());
        bin
    })
    .clone()
}

/// curl, silent but for errors, giving up after `max_time` seconds
/// (check it with `require_peer!("curl")` first).
pub fn curl(max_time: u32) -> Command {
    let path = find_program("curl").expect("peer checked by require_peer! first");
    let mut cmd = Command::new(path);
    cmd.args(["--silent", "--show-error", "--max-time"])
        .arg(max_time.to_string());
    cmd
}

/// A `ferry` command with its log kept quiet unless the test overrides it.
pub fn ferry() -> Command {
    Command::new(ferry_bin())
}

/// The one protocol a [`Launched`] `ferry serve` serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Tftp,
    Ftp,
}

impl Service {
    /// The name in `--tftp`/`--no-tftp` and in the `listening on` line.
    pub fn name(self) -> &'static str {
        match self {
            Service::Tftp => "tftp",
            Service::Ftp => "ftp",
        }
    }

    /// The arguments that serve this protocol on `addr` and switch the
    /// other one off.
    fn only_args(self, addr: &str) -> [&str; 3] {
        match self {
            Service::Tftp => ["--tftp", addr, "--no-ftp"],
            Service::Ftp => ["--ftp", addr, "--no-tftp"],
        }
    }
}

/// A running `ferry serve` with one protocol on 127.0.0.1, killed when
/// dropped: the process, the address it announced, and its stderr so far.
pub struct Launched {
    child: Reaped,
    addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Launched {
    /// Starts `ferry serve --driver DRIVER --root ROOT --PROTO 127.0.0.1:0
    /// --no-OTHER EXTRA...` and waits for its `ferry: PROTO listening on
    /// ADDR` line.
    pub fn start(service: Service, driver: Driver, root: &Path, extra: &[&str]) -> Self {
        Self::start_on(service, driver, root, "127.0.0.1:0", extra)
    }

    /// As [`start`](Launched::start), listening on `addr` (`[::1]:0`...).
    pub fn start_on(
        service: Service,
        driver: Driver,
        root: &Path,
        addr: &str,
        extra: &[&str],
    ) -> Self {
        let mut child = ferry()
            .arg("serve")
            .args(["--driver", driver.name()])
            .arg("--root")
            .arg(root)
            .args(service.only_args(addr))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ferry serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let child = Reaped(child);
        let log = Arc::new(Mutex::new(String::new()));
        let listening = format!("ferry: {} listening on ", service.name());
        let (tx, rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            // Keep draining stderr for the server's whole life so its log
            // lines (per transfer, per session event) never block it on a
            // full pipe.
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = line.strip_prefix(&listening) {
                        let _ = tx.send(addr.trim().to_owned());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => addr
                .parse()
                .unwrap_or_else(|e| panic!("bad listening address {addr:?}: {e}")),
            Err(_) => panic!(
                "ferry serve printed no `ferry: {} listening on ADDR` line\nstderr: {}",
                service.name(),
                log.lock().unwrap()
            ),
        };
        Launched { child, addr, log }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// `ferry serve` on 127.0.0.1 with TFTP only, killed when dropped.
pub struct FerryServer {
    server: Launched,
}

impl FerryServer {
    /// Serves `root` read-only.
    pub fn read_only(driver: Driver, root: &Path) -> Self {
        Self::start(driver, root, &[])
    }

    /// Serves `root` with `--write`.
    pub fn writable(driver: Driver, root: &Path) -> Self {
        Self::start(driver, root, &["--write"])
    }

    /// Starts `ferry serve --driver DRIVER --root ROOT --tftp 127.0.0.1:0
    /// --no-ftp EXTRA...` and waits for its `ferry: tftp listening on ADDR`
    /// line.
    pub fn start(driver: Driver, root: &Path, extra: &[&str]) -> Self {
        FerryServer {
            server: Launched::start(Service::Tftp, driver, root, extra),
        }
    }

    /// As [`start`](FerryServer::start), listening on `addr`.
    pub fn start_on(driver: Driver, root: &Path, addr: &str, extra: &[&str]) -> Self {
        FerryServer {
            server: Launched::start_on(Service::Tftp, driver, root, addr, extra),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// `tftp://127.0.0.1:PORT/path`
    pub fn url(&self, path: &str) -> String {
        format!("tftp://{}/{}", self.addr(), path)
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.server.log()
    }
}

// ---------------------------------------------------------------------------
// tftpd-hpa

/// `in.tftpd` (tftpd-hpa) in the foreground on 127.0.0.1, killed when
/// dropped.
///
/// As root it must be told `-u root`: by default it drops to `nobody`,
/// which cannot create files in a root-owned directory, so uploads fail
/// with "File not found". As any other user it cannot start at all (it
/// chroots and switches user on every request), so it runs under
/// `sudo -n` when that is available.
pub struct TftpdHpa {
    _child: Reaped,
    port: u16,
}

impl TftpdHpa {
    /// Serves `root`, letting WRQ create files (`-c`) when `create`, with
    /// the block-size cap raised to 65464. `None` means skip the test.
    pub fn start(root: &Path, create: bool) -> Option<Self> {
        let tftpd = require_peer("in.tftpd")?;
        let as_root = is_root();
        if !as_root && !sudo_works() {
            return skip_or_fail("tftpd-hpa needs root (or password-less sudo) to run");
        }
        // The port is picked before in.tftpd binds it; retry on a clash.
        for _attempt in 0..5 {
            let port = free_udp_port();
            let mut cmd = if as_root {
                Command::new(&tftpd)
            } else {
                let mut c = Command::new("sudo");
                c.arg("-n").arg(&tftpd);
                c
            };
            cmd.arg("-L")
                .arg("-a")
                .arg(format!("127.0.0.1:{port}"))
                .args(["-u", "root", "-B", "65464", "-s"])
                .arg(root);
            if create {
                cmd.arg("-c");
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start in.tftpd");
            let mut child = Reaped(child);
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.0.try_wait().ok().flatten().is_some() {
                    break; // exited: most likely the port was taken
                }
                if tftp_answers(addr) {
                    return Some(TftpdHpa {
                        _child: child,
                        port,
                    });
                }
            }
        }
        panic!("in.tftpd did not start on 127.0.0.1");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `tftp://127.0.0.1:PORT/path`
    pub fn url(&self, path: &str) -> String {
        format!("tftp://127.0.0.1:{}/{}", self.port, path)
    }
}

fn sudo_works() -> bool {
    find_program("sudo").is_some_and(|sudo| {
        Command::new(sudo)
            .args(["-n", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

// ---------------------------------------------------------------------------
// Files

/// `len` bytes of deterministic pseudo-random content (splitmix64 of
/// `seed`), so every run transfers the same bytes and no pattern repeats
/// at a block boundary.
pub fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `content(seed, len)` to `dir/name` and returns the bytes.
pub fn make_file(dir: &Path, name: &str, len: usize, seed: u64) -> Vec<u8> {
    let bytes = content(seed, len);
    std::fs::write(dir.join(name), &bytes)
        .unwrap_or_else(|e| panic!("write {}: {e}", dir.join(name).display()));
    bytes
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts that `path` holds exactly `expected`, compared by length and
/// SHA-256 (and the first differing offset, to help debugging).
#[track_caller]
pub fn assert_file_eq(path: &Path, expected: &[u8]) {
    let actual = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_bytes_eq(&actual, expected, &path.display().to_string());
}

#[track_caller]
pub fn assert_bytes_eq(actual: &[u8], expected: &[u8], what: &str) {
    let (got, want) = (sha256_hex(actual), sha256_hex(expected));
    if got != want || actual.len() != expected.len() {
        let first_diff = actual
            .iter()
            .zip(expected)
            .position(|(a, b)| a != b)
            .unwrap_or(actual.len().min(expected.len()));
        panic!(
            "{what}: {} bytes (sha256 {got}), expected {} bytes (sha256 {want}); first difference at offset {first_diff}",
            actual.len(),
            expected.len()
        );
    }
}

/// A fresh temporary directory, removed when dropped. World-readable and
/// traversable so that servers which drop privileges can still read it.
pub fn temp_dir(label: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("ferry-interop-{label}-"))
        .tempdir()
        .expect("create temporary directory");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod temporary directory");
    dir
}
