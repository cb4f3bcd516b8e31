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
