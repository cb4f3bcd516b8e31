//! Command lines of the TFTP peers, shared by the server test files.

use std::path::PathBuf;
use std::process::Command;

/// A peer's path, once the test has checked it with `require_peer!`.
pub fn peer(name: &str) -> PathBuf {
    crate::find_program(name).expect("peer checked by require_peer! first")
}

/// `tftp -m binary 127.0.0.1 PORT -c ARGS...` (tftp-hpa: 512-byte lock-step).
pub fn tftp_hpa(port: u16, args: &[&str]) -> Command {
    let mut cmd = Command::new(peer("tftp"));
    cmd.args(["-m", "binary", "127.0.0.1"])
        .arg(port.to_string())
        .arg("-c")
        .args(args);
    cmd
}

/// `atftp --option "blksize N" [--option "windowsize W"] 127.0.0.1 PORT`:
/// atftp sends exactly the options it is given.
pub fn atftp(port: u16, blksize: u16, windowsize: Option<u16>) -> Command {
    let mut cmd = Command::new(peer("atftp"));
    cmd.arg("--option").arg(format!("blksize {blksize}"));
    if let Some(w) = windowsize {
        cmd.arg("--option").arg(format!("windowsize {w}"));
    }
    cmd.args(["127.0.0.1", &port.to_string()]);
    cmd
}
