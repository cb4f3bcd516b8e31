//! vsftpd with TLS, configured and started by a test on 127.0.0.1: the
//! anonymous setup of [`super::vsftpd`] (a 755 root owned by root,
//! `upload/` owned by `ftp`) with TLS forced for logins and data, and
//! `require_ssl_reuse=YES`, so every data connection must resume the
//! control connection's TLS session.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use super::ftps::Certs;
use super::{interop_required, require_peer, temp_dir};

/// Explicit FTPS (AUTH TLS on the FTP port) or implicit (TLS from the
/// first byte, `implicit_ssl=YES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Explicit,
    Implicit,
}

/// A running vsftpd with TLS, killed (and reaped) when dropped.
pub struct VsftpdTls {
    child: Child,
    port: u16,
    mode: Mode,
    root: tempfile::TempDir,
    /// The config file, the protocol log, the empty `secure_chroot_dir`.
    state: tempfile::TempDir,
    certs: Certs,
}

impl VsftpdTls {
    /// `None` means skip the test (vsftpd missing or unable to run here),
    /// unless `FERRY_INTEROP=1` makes that a failure.
    pub fn start(mode: Mode) -> Option<VsftpdTls> {
        let vsftpd = require_peer("vsftpd")?;
        if let Err(why) = can_run() {
            if interop_required() {
                panic!("{why} (FERRY_INTEROP=1: interop tests may not skip)");
            }
            eprintln!("skipping: {why} (set FERRY_INTEROP=1 to make this a failure)");
            return None;
        }
        let ftp_uid = ftp_uid().expect("checked by can_run");
        let certs = Certs::generate();
        let root = temp_dir("vsftpd-tls-root");
        let upload = root.path().join("upload");
        std::fs::create_dir(&upload).expect("create upload/");
        std::os::unix::fs::chown(&upload, Some(ftp_uid), None).expect("chown upload/ to ftp");
        let state = temp_dir("vsftpd-tls-state");
        std::fs::create_dir(state.path().join("empty")).expect("create secure_chroot_dir");

        // The port is picked before vsftpd binds it; retry on a clash.
        for _attempt in 0..5 {
            let port = free_tcp_port();
            let config = state.path().join("vsftpd.conf");
            std::fs::write(
                &config,
                config_text(port, mode, root.path(), state.path(), &certs),
            )
            .expect("write vsftpd.conf");
            let mut child = Command::new(&vsftpd)
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start vsftpd");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break; // exited: most likely the port was taken
                }
                if up(port, mode) {
                    return Some(VsftpdTls {
                        child,
                        port,
                        mode,
                        root,
                        state,
                        certs,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("vsftpd (TLS) did not start on 127.0.0.1");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The anonymous root, as the server sees `/`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `root/upload`, where anonymous uploads may go.
    pub fn upload_dir(&self) -> PathBuf {
        self.root.path().join("upload")
    }

    /// `ftp://127.0.0.1:PORT/path` (explicit) or `ftps://...` (implicit).
    pub fn url(&self, path: &str) -> String {
        let scheme = match self.mode {
            Mode::Explicit => "ftp",
            Mode::Implicit => "ftps",
        };
        format!("{scheme}://127.0.0.1:{}/{}", self.port, path)
    }

    /// The certificate vsftpd presents.
    pub fn certs(&self) -> &Certs {
        &self.certs
    }

    /// Every command, reply and TLS event vsftpd logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join("vsftpd.log")).unwrap_or_default()
    }

    /// The commands clients sent, in order, as vsftpd logged them.
    pub fn commands(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| {
                let (_, command) = line.split_once("FTP command: Client \"")?;
                let (_, command) = command.split_once("\", \"")?;
                Some(command.trim_end_matches('"').to_owned())
            })
            .collect()
    }
}

impl Drop for VsftpdTls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(port: u16, mode: Mode, root: &Path, state: &Path, certs: &Certs) -> String {
    let pasv = pasv_range();
    let implicit = match mode {
        Mode::Explicit => "NO",
        Mode::Implicit => "YES",
    };
    // ssl_ciphers: vsftpd 3.0.3's default list is one old TLS 1.2 suite
    // that rustls does not offer; HIGH lets TLS 1.2 meet too (TLS 1.3
    // suites are not governed by it).
    format!(
        "listen=YES
listen_ipv6=NO
background=NO
listen_address=127.0.0.1
listen_port={port}
anonymous_enable=YES
local_enable=NO
anon_root={root}
no_anon_password=YES
write_enable=YES
anon_upload_enable=YES
anon_other_write_enable=YES
anon_umask=022
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port={lo}
pasv_max_port={hi}
port_enable=YES
connect_from_port_20=NO
seccomp_sandbox=NO
secure_chroot_dir={state}/empty
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file={state}/vsftpd.log
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=YES
implicit_ssl={implicit}
ssl_ciphers=HIGH
debug_ssl=YES
rsa_cert_file={cert}
rsa_private_key_file={key}
",
        root = root.display(),
        state = state.display(),
        lo = pasv.0,
        hi = pasv.1,
        cert = certs.cert().display(),
        key = certs.key().display(),
    )
}

/// A passive port range of its own per instance, apart from the ranges
/// [`super::vsftpd`] hands out (20000-24095) and below the kernel's
/// ephemeral range.
fn pasv_range() -> (u16, u16) {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let slot = (std::process::id() as u16).wrapping_mul(7) % 64;
    let slot = (slot + NEXT.fetch_add(1, Ordering::Relaxed)) % 64;
    let lo = 25_000 + slot * 64;
    (lo, lo + 63)
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral TCP port")
        .port()
}

/// Explicit: a connection gets a 220 greeting in clear. Implicit: the
/// port accepts connections (its greeting is inside TLS).
fn up(port: u16, mode: Mode) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    if mode == Mode::Implicit {
        return true;
    }
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("220 ")
}

/// vsftpd runs as root (it chroots anonymous sessions) and switches to the
/// `ftp` user, which must exist.
fn can_run() -> Result<(), String> {
    if !std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0) {
        return Err("vsftpd needs root to run".to_owned());
    }
    if ftp_uid().is_none() {
        return Err("vsftpd needs the `ftp` user".to_owned());
    }
    Ok(())
}

fn ftp_uid() -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == "ftp").then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}
