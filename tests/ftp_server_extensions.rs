//! What real clients ask of a server beyond plain transfers: wildcards in
//! NLST (tnftp's `mget`, Python's `ftplib.nlst`), trees with symlinks in
//! them (rclone, wget -m, lftp mirror), modification times set on upload
//! (rclone, lftp mirror -R) and HASH. Each against `ferry serve` on both
//! drivers, on 127.0.0.1.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use ferry_interop::ftp::{lftp, FtpServer};
use ferry_interop::{assert_file_eq, make_file, require_peer, run, temp_dir, Driver, PEER_TIMEOUT};

fn peer(name: &str) -> PathBuf {
    ferry_interop::find_program(name).expect("peer checked by require_peer! first")
}

/// 2021-03-04 05:06:07 and 2017-07-14 02:40:00 UTC.
const TIMES: [u64; 2] = [1_614_834_367, 1_500_000_000];

fn set_mtime(path: &Path, secs: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

fn mtime(path: &Path) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .modified()
        .unwrap()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A tree with links that stay inside it: `link.bin -> dir/x.bin`,
/// `dlink -> dir`, `sub/y.txt -> ../dir/y.txt`. Returns the bytes every
/// client must end up with under each name (links read as their targets).
fn linked_tree(root: &Path) -> Vec<(&'static str, Vec<u8>)> {
    std::fs::create_dir_all(root.join("dir")).unwrap();
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let x = make_file(&root.join("dir"), "x.bin", 1000, 4100);
    let y = make_file(&root.join("dir"), "y.txt", 77, 4101);
    let top = make_file(root, "top.bin", 300_000 + 5, 4102);
    symlink("dir/x.bin", root.join("link.bin")).unwrap();
    symlink("dir", root.join("dlink")).unwrap();
    symlink("../dir/y.txt", root.join("sub/y.txt")).unwrap();
    vec![
        ("top.bin", top),
        ("dir/x.bin", x.clone()),
        ("dir/y.txt", y.clone()),
        ("link.bin", x.clone()),
        ("sub/y.txt", y.clone()),
        ("dlink/x.bin", x),
        ("dlink/y.txt", y),
    ]
}

/// Files that are regular files (not local links) with the right bytes.
fn assert_files(base: &Path, want: &[(&str, Vec<u8>)], names: &[&str]) {
    for (name, bytes) in want.iter().filter(|(n, _)| names.contains(n)) {
        let path = base.join(name);
        let meta = std::fs::symlink_metadata(&path)
            .unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
        assert!(meta.is_file(), "{name} is not a regular file");
        assert_file_eq(&path, bytes);
    }
}

// ---------------------------------------------------------------------------
// Wildcards

fn tnftp_mget_pattern(driver: Driver) {
    require_peer!("tnftp");
    let root = temp_dir("root");
    let local = temp_dir("local");
    let f1 = make_file(root.path(), "f1.bin", 1000, 4000);
    let f2 = make_file(root.path(), "f22.bin", 70_000, 4001);
    make_file(root.path(), "g.bin", 10, 4002);
    make_file(root.path(), "f3.txt", 10, 4003);
    make_file(root.path(), ".f4.bin", 10, 4004);
    let server = FtpServer::read_only(driver, root.path());
    let script = local.path().join("script");
    std::fs::write(
        &script,
        format!(
            "user anonymous tnftp@example.org\nbinary\nlcd {}\nmget f*.bin\nbye\n",
            local.path().display()
        ),
    )
    .unwrap();
    // tnftp reads its commands from standard input only.
    let done = run(
        Command::new("sh").arg("-c").arg(format!(
            "exec {} -n -i 127.0.0.1 {} < {}",
            peer("tnftp").display(),
            server.port(),
            script.display()
        )),
        PEER_TIMEOUT,
    );
    done.assert_success("tnftp mget");
    assert_file_eq(&local.path().join("f1.bin"), &f1);
    assert_file_eq(&local.path().join("f22.bin"), &f2);
    let mut got = ferry_interop::ftp::names(local.path());
    got.retain(|n| n != "script");
    assert_eq!(
        got,
        ["f1.bin", "f22.bin"],
        "only the matches, no hidden file"
    );
}

const FTPLIB_SCRIPT: &str = r#"
import ftplib, hashlib, sys
port = int(sys.argv[1])
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", port, timeout=20)
ftp.login()
assert ftp.nlst("dir/*.bin") == ["dir/a.bin", "dir/b.bin"], ftp.nlst("dir/*.bin")
assert ftp.nlst("dir/[a]?bin") == ["dir/a.bin"], ftp.nlst("dir/[a]?bin")
assert ftp.nlst("*") == ["dir"], ftp.nlst("*")
assert ftp.nlst("dir/*.none") == []
lines = []
ftp.retrlines("LIST dir/*.txt", lines.append)
assert len(lines) == 1 and lines[0].endswith(" c.txt"), lines
try:
    ftp.nlst("dir/*.bin/x")
    raise SystemExit("a pattern in the middle is literal")
except ftplib.error_perm as e:
    assert str(e).startswith("550"), e

# HASH in each algorithm, against Python's own digests.
data = open(sys.argv[2], "rb").read()
feat = ftp.sendcmd("FEAT")
assert " HASH SHA-256*;SHA-1;MD5\n" in feat, feat
for name, algorithm in [("SHA-256", "sha256"), ("SHA-1", "sha1"), ("MD5", "md5")]:
    assert ftp.sendcmd("OPTS HASH " + name) == "200 " + name
    reply = ftp.sendcmd("HASH dir/a.bin")
    want = "213 %s 0-%d %s dir/a.bin" % (name, len(data), hashlib.new(algorithm, data).hexdigest())
    assert reply == want, (reply, want)
try:
    ftp.sendcmd("MFMT 20210304050607 dir/a.bin")
    raise SystemExit("a read-only user set a time")
except ftplib.error_perm as e:
    assert str(e).startswith("550"), e
ftp.quit()
print("ok")
"#;

fn python_ftplib_patterns_and_hash(driver: Driver) {
    require_peer!("python3");
    let root = temp_dir("root");
    let work = temp_dir("work");
    std::fs::create_dir(root.path().join("dir")).unwrap();
    make_file(&root.path().join("dir"), "a.bin", 2_000_000 + 11, 4010);
    make_file(&root.path().join("dir"), "b.bin", 5, 4011);
    make_file(&root.path().join("dir"), "c.txt", 5, 4012);
    let script = work.path().join("patterns.py");
    std::fs::write(&script, FTPLIB_SCRIPT).unwrap();
    let server = FtpServer::read_only(driver, root.path());
    let done = run(
        Command::new(peer("python3"))
            .arg(&script)
            .arg(server.port().to_string())
            .arg(root.path().join("dir/a.bin")),
        PEER_TIMEOUT,
    );
    done.assert_success("python3 ftplib patterns and HASH");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "ok\n");
}

/// HASH of a large file keeps no other session waiting: on the mio driver
/// it runs on the pool, not the loop, so another session's NOOP is
/// answered while the digest is still being computed.
fn hash_holds_up_no_other_session(driver: Driver) {
    let root = temp_dir("root");
    let data = make_file(root.path(), "big.bin", 64 << 20, 4050);
    let server = FtpServer::read_only(driver, root.path());
    let mut hashing = server.login();
    let mut other = server.login();
    hashing.send("HASH big.bin");
    other.expect("NOOP", 200);
    // The digest of 64 MiB takes tens of milliseconds at least; a NOOP's
    // round trip on loopback a fraction of one.
    let peek = hashing.writer();
    peek.set_nonblocking(true).unwrap();
    let waiting = matches!(
        peek.peek(&mut [0; 1]),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
    );
    peek.set_nonblocking(false).unwrap();
    assert!(
        waiting,
        "the HASH reply came before the other session's NOOP"
    );
    let reply = hashing.expect_code(213);
    let want = ferry_interop::sha256_hex(&data);
    assert_eq!(
        reply.text(),
        format!("SHA-256 0-{} {want} big.bin", data.len())
    );
    hashing.expect("QUIT", 221);
    other.expect("QUIT", 221);
}

// ---------------------------------------------------------------------------
// Trees with links

/// rclone with an on-the-fly remote for the server, and no config file.
fn rclone(server: &FtpServer, work: &Path, args: &[&str]) -> Command {
    let obscured = run(
        Command::new(peer("rclone")).args(["obscure", "rclone@example.org"]),
        PEER_TIMEOUT,
    );
    obscured.assert_success("rclone obscure");
    let pass = String::from_utf8(obscured.stdout).unwrap();
    let remote = format!(
        ":ftp,host=127.0.0.1,port={},user=anonymous,pass={}:",
        server.port(),
        pass.trim()
    );
    let config = work.join("rclone.conf");
    std::fs::write(&config, "").unwrap();
    let mut cmd = Command::new(peer("rclone"));
    cmd.arg("--config").arg(&config);
    cmd.args(["--retries", "1", "--low-level-retries", "1"]);
    for arg in args {
        cmd.arg(arg.replace("REMOTE", &remote));
    }
    cmd
}

fn rclone_copy_down_follows_links(driver: Driver) {
    require_peer!("rclone");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let want = linked_tree(root.path());
    let server = FtpServer::read_only(driver, root.path());
    let local = work.path().join("copy");
    let local_arg = local.to_str().unwrap();
    let done = run(
        &mut rclone(&server, work.path(), &["copy", "REMOTE", local_arg]),
        PEER_TIMEOUT,
    );
    done.assert_success("rclone copy down");
    let names: Vec<&str> = want.iter().map(|(n, _)| *n).collect();
    assert_files(&local, &want, &names);
}

fn rclone_copy_up_keeps_modtimes(driver: Driver) {
    require_peer!("rclone");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let source = work.path().join("source");
    std::fs::create_dir_all(source.join("d")).unwrap();
    let a = make_file(&source, "a.bin", 100_000, 4020);
    let b = make_file(&source.join("d"), "b.txt", 10, 4021);
    set_mtime(&source.join("a.bin"), TIMES[0]);
    set_mtime(&source.join("d/b.txt"), TIMES[1]);
    let server = FtpServer::writable(driver, root.path());
    let done = run(
        &mut rclone(
            &server,
            work.path(),
            &["copy", source.to_str().unwrap(), "REMOTE"],
        ),
        PEER_TIMEOUT,
    );
    done.assert_success("rclone copy up");
    assert!(
        !done.stderr.contains("SetModTime is not supported"),
        "{}",
        done.stderr
    );
    assert_file_eq(&root.path().join("a.bin"), &a);
    assert_file_eq(&root.path().join("d/b.txt"), &b);
    assert_eq!(mtime(&root.path().join("a.bin")), TIMES[0]);
    assert_eq!(mtime(&root.path().join("d/b.txt")), TIMES[1]);
    let listed = run(
        &mut rclone(
            &server,
            work.path(),
            &["lsjson", "-R", "--files-only", "REMOTE"],
        ),
        PEER_TIMEOUT,
    );
    listed.assert_success("rclone lsjson");
    let json = String::from_utf8_lossy(&listed.stdout);
    for (name, time) in [
        ("\"Path\":\"a.bin\"", "\"ModTime\":\"2021-03-04T05:06:07Z\""),
        (
            "\"Path\":\"d/b.txt\"",
            "\"ModTime\":\"2017-07-14T02:40:00Z\"",
        ),
    ] {
        assert!(
            json.lines().any(|l| l.contains(name) && l.contains(time)),
            "{name} {time} in\n{json}"
        );
    }
}

fn wget_mirror_gets_linked_files(driver: Driver) {
    require_peer!("wget");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let want = linked_tree(root.path());
    let server = FtpServer::read_only(driver, root.path());
    let done = run(
        Command::new(peer("wget"))
            .args(["-q", "-m", "-nH", "--tries=1", "--timeout=20", "-P"])
            .arg(work.path())
            .arg(server.url("")),
        PEER_TIMEOUT,
    );
    done.assert_success("wget -m");
    // wget does not descend into a link to a directory (its own rule, the
    // same against any server); everything else arrives as files.
    assert_files(
        work.path(),
        &want,
        &["top.bin", "dir/x.bin", "dir/y.txt", "link.bin", "sub/y.txt"],
    );
}

fn lftp_mirror_gets_linked_files(driver: Driver) {
    require_peer!("lftp");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let want = linked_tree(root.path());
    let server = FtpServer::read_only(driver, root.path());
    let target = work.path().join("copy");
    let done = run(
        &mut lftp(&server, &format!("mirror / {}", target.display())),
        PEER_TIMEOUT,
    );
    done.assert_success("lftp mirror");
    let names: Vec<&str> = want.iter().map(|(n, _)| *n).collect();
    assert_files(&target, &want, &names);
}

fn lftp_mirror_up_keeps_modtimes(driver: Driver) {
    require_peer!("lftp");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let source = work.path().join("source");
    std::fs::create_dir_all(source.join("d")).unwrap();
    let a = make_file(&source, "a.bin", 200_000, 4030);
    let b = make_file(&source.join("d"), "b.txt", 10, 4031);
    set_mtime(&source.join("a.bin"), TIMES[0]);
    set_mtime(&source.join("d/b.txt"), TIMES[1]);
    let server = FtpServer::writable(driver, root.path());
    let done = run(
        &mut lftp(
            &server,
            &format!("mirror -R --no-perms {} /", source.display()),
        ),
        PEER_TIMEOUT,
    );
    done.assert_success("lftp mirror -R");
    assert_file_eq(&root.path().join("a.bin"), &a);
    assert_file_eq(&root.path().join("d/b.txt"), &b);
    assert_eq!(mtime(&root.path().join("a.bin")), TIMES[0]);
    assert_eq!(mtime(&root.path().join("d/b.txt")), TIMES[1]);
}

ferry_interop::driver_tests!(
    tnftp_mget_pattern,
    python_ftplib_patterns_and_hash,
    hash_holds_up_no_other_session,
    rclone_copy_down_follows_links,
    rclone_copy_up_keeps_modtimes,
    wget_mirror_gets_linked_files,
    lftp_mirror_gets_linked_files,
    lftp_mirror_up_keeps_modtimes,
);
