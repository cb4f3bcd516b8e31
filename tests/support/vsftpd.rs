//! vsftpd, configured and started by a test on 127.0.0.1.
//!
//! Each instance has its own control port, its own passive port range, its
//! own anonymous root and its own protocol log. The root is 755 and owned
//! by root (vsftpd refuses a writable anonymous root); `upload/` inside it
//! belongs to the `ftp` user, so anonymous uploads go there.
//!
//! vsftpd is left at its defaults for TYPE A (`ascii_upload_enable` and
//! `ascii_download_enable` off): it moves the bytes as they are in either
//! type, so a test sees exactly what the client put on the wire and can
//! feed it CR LF text to decode.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use crate::{interop_required, require_peer, temp_dir};

/// A running vsftpd, killed (and reaped) when dropped.
pub struct Vsftpd {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
    /// The config file, the protocol log and the empty
    /// `secure_chroot_dir`.
    state: tempfile::TempDir,
}

impl Vsftpd {
    /// Starts vsftpd with anonymous read access and uploads into
    /// `upload/`. `None` means the test should be skipped (vsftpd is not
    /// installed, or cannot run here), unless `FERRY_INTEROP=1` makes that
    /// a failure.
    pub fn start() -> Option<Vsftpd> {
        let vsftpd = require_peer("vsftpd")?;
        if let Err(why) = can_run() {
            if interop_required() {
                panic!("{why} (FERRY_INTEROP=1: interop tests may not skip)");
            }
            eprintln!("skipping: {why} (set FERRY_INTEROP=1 to make this a failure)");
            return None;
        }
        let ftp_uid = ftp_uid().expect("checked by can_run");
        let root = temp_dir("vsftpd-root");
        let upload = root.path().join("upload");
        std::fs::create_dir(&upload).expect("create upload/");
        std::os::unix::fs::chown(&upload, Some(ftp_uid), None).expect("chown upload/ to ftp");
        let state = temp_dir("vsftpd-state");
        std::fs::create_dir(state.path().join("empty")).expect("create secure_chroot_dir");

        // The port is picked before vsftpd binds it; retry on a clash.
        for _attempt in 0..5 {
            let port = free_tcp_port();
            let config = state.path().join("vsftpd.conf");
            std::fs::write(&config, config_text(port, root.path(), state.path()))
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
                if greets(port) {
                    return Some(Vsftpd {
                        child,
                        port,
                        root,
                        state,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("vsftpd did not start on 127.0.0.1");
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

    /// `ftp://127.0.0.1:PORT/path`
    pub fn url(&self, path: &str) -> String {
        format!("ftp://127.0.0.1:{}/{}", self.port, path)
    }

    /// Every command and reply vsftpd logged so far (`log_ftp_protocol`).
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

impl Drop for Vsftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(port: u16, root: &Path, state: &Path) -> String {
    let pasv = pasv_range();
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
",
        root = root.display(),
        state = state.display(),
        lo = pasv.0,
        hi = pasv.1,
    )
}

/// A passive port range of its own for each instance: below the kernel's
/// ephemeral range, so no outgoing connection holds one of its ports, and
/// different for every instance of this process (and likely of others).
fn pasv_range() -> (u16, u16) {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let slot = (std::process::id() as u16).wrapping_mul(7) % 64;
    let slot = (slot + NEXT.fetch_add(1, Ordering::Relaxed)) % 64;
    let lo = 20_000 + slot * 64;
    (lo, lo + 63)
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral TCP port")
        .port()
}

/// True once a connection to the port gets a 220 greeting.
fn greets(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
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
