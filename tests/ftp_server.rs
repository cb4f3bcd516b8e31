//! Real FTP clients (curl, Python's ftplib, lftp) against `ferry serve`,
//! on 127.0.0.1. Every transfer is checked byte for byte, every refusal
//! by its exact exit code or reply code and by the tree left on disk.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use ferry_interop::ftp::{lftp, names, tree, FtpServer};
use ferry_interop::{
    assert_bytes_eq, assert_file_eq, curl, make_file, require_peer, run, sha256_hex, temp_dir,
    Driver, PEER_TIMEOUT,
};

/// A peer's path, once the test has checked it with `require_peer!`.
fn peer(name: &str) -> PathBuf {
    ferry_interop::find_program(name).expect("peer checked by require_peer! first")
}

/// 2021-03-04 05:06:07 UTC: a fixed modification time, older than six
/// months, so LIST shows the year and every run prints the same lines.
const MTIME: u64 = 1_614_834_367;

fn set_mtime(path: &Path, secs: u64) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap_or_else(|e| panic!("set mtime of {}: {e}", path.display()));
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Sizes around the interesting edges: empty, one byte, a few MB that is
/// no multiple of any buffer size.
fn sizes() -> [(&'static str, usize); 3] {
    [
        ("empty.bin", 0),
        ("one.bin", 1),
        ("large.bin", 3_000_000 + 17),
    ]
}

// ---------------------------------------------------------------------------
// curl

/// curl's exit codes: 25 "upload failed" (STOR refused), 21 "quote
/// command returned error", 9 "access denied to remote resource" (RETR
/// or CWD refused), 78 "remote file not found".
const CURLE_UPLOAD_FAILED: i32 = 25;
const CURLE_QUOTE_ERROR: i32 = 21;

/// Downloads each of `sizes()` with curl in the data-connection mode that
/// `mode` selects, byte-exact, and checks in curl's trace that it used
/// the command `command` to set up the data connection.
fn curl_retr(driver: Driver, mode: &[&str], command: &str) {
    let root = temp_dir("root");
    let out = temp_dir("out");
    let server = FtpServer::read_only(driver, root.path());
    for (seed, (name, len)) in sizes().into_iter().enumerate() {
        let want = make_file(root.path(), name, len, 1000 + seed as u64);
        let local = out.path().join(name);
        let done = run(
            curl(60)
                .arg("-v")
                .args(mode)
                .arg("-o")
                .arg(&local)
                .arg(server.url(name)),
            PEER_TIMEOUT,
        );
        done.assert_success("curl RETR");
        assert!(
            done.stderr.contains(&format!("\n> {command}")),
            "curl did not use {command}:\n{}",
            done.stderr
        );
        assert!(
            done.stderr.contains(&format!("\n> RETR {name}\r\n")),
            "{}",
            done.stderr
        );
        assert!(done.stderr.contains("\n< 226"), "{}", done.stderr);
        assert_file_eq(&local, &want);
    }
}

fn curl_retr_epsv(driver: Driver) {
    require_peer!("curl");
    curl_retr(driver, &[], "EPSV\r\n");
}

fn curl_retr_pasv(driver: Driver) {
    require_peer!("curl");
    curl_retr(driver, &["--disable-epsv"], "PASV\r\n");
}

fn curl_retr_active_eprt(driver: Driver) {
    require_peer!("curl");
    curl_retr(driver, &["-P", "127.0.0.1"], "EPRT |1|127.0.0.1|");
}

fn curl_retr_active_port(driver: Driver) {
    require_peer!("curl");
    curl_retr(
        driver,
        &["-P", "127.0.0.1", "--disable-eprt"],
        "PORT 127,0,0,1,",
    );
}

fn curl_stor_with_write(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FtpServer::writable(driver, root.path());
    // One name already exists: STOR replaces it.
    make_file(root.path(), "large.bin", 5000, 1099);
    let mut expected = Vec::new();
    for (seed, (name, len)) in sizes().into_iter().enumerate() {
        let want = make_file(work.path(), name, len, 1100 + seed as u64);
        run(
            curl(60)
                .arg("-T")
                .arg(work.path().join(name))
                .arg(server.url(name)),
            PEER_TIMEOUT,
        )
        .assert_success("curl STOR");
        assert_file_eq(&root.path().join(name), &want);
        expected.push(name.to_owned());
    }
    // Passive with PASV and active with PORT upload the same way.
    let want = make_file(work.path(), "via-pasv.bin", 700_001, 1110);
    run(
        curl(60)
            .arg("--disable-epsv")
            .arg("-T")
            .arg(work.path().join("via-pasv.bin"))
            .arg(server.url("via-pasv.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("curl STOR over PASV");
    assert_file_eq(&root.path().join("via-pasv.bin"), &want);
    let want = make_file(work.path(), "via-port.bin", 700_003, 1111);
    run(
        curl(60)
            .args(["-P", "127.0.0.1", "--disable-eprt", "-T"])
            .arg(work.path().join("via-port.bin"))
            .arg(server.url("via-port.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("curl STOR over PORT");
    assert_file_eq(&root.path().join("via-port.bin"), &want);
    expected.extend(["via-pasv.bin".to_owned(), "via-port.bin".to_owned()]);
    expected.sort();
    // No temporary file is left behind.
    assert_eq!(names(root.path()), expected);
}

fn curl_append_and_resumed_upload(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FtpServer::writable(driver, root.path());

    // --append: APPE adds to what is there.
    let old = make_file(root.path(), "log.bin", 300_000, 1150);
    let more = make_file(work.path(), "more.bin", 200_001, 1151);
    let done = run(
        curl(60)
            .args(["-v", "--append", "-T"])
            .arg(work.path().join("more.bin"))
            .arg(server.url("log.bin")),
        PEER_TIMEOUT,
    );
    done.assert_success("curl --append");
    assert!(
        done.stderr.contains("\n> APPE log.bin\r\n"),
        "{}",
        done.stderr
    );
    let mut want = old.clone();
    want.extend_from_slice(&more);
    assert_file_eq(&root.path().join("log.bin"), &want);

    // -C - with -T: curl asks SIZE and appends the rest of its file.
    let full = make_file(work.path(), "full.bin", 2_000_000 + 11, 1152);
    std::fs::write(root.path().join("full.bin"), &full[..777_777]).unwrap();
    let done = run(
        curl(60)
            .args(["-v", "-C", "-", "-T"])
            .arg(work.path().join("full.bin"))
            .arg(server.url("full.bin")),
        PEER_TIMEOUT,
    );
    done.assert_success("curl -C - -T");
    assert!(
        done.stderr.contains("\n< 213 777777\r\n"),
        "{}",
        done.stderr
    );
    assert_file_eq(&root.path().join("full.bin"), &full);
    assert_eq!(names(root.path()), ["full.bin", "log.bin"]);
}

fn curl_stor_refused_without_write(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FtpServer::read_only(driver, root.path());
    let existing = make_file(root.path(), "existing.bin", 5000, 1200);
    make_file(work.path(), "upload.bin", 5000, 1201);
    for remote in ["new.bin", "existing.bin"] {
        let done = run(
            curl(60)
                .arg("-v")
                .arg("-T")
                .arg(work.path().join("upload.bin"))
                .arg(server.url(remote)),
            PEER_TIMEOUT,
        );
        assert_eq!(done.code(), Some(CURLE_UPLOAD_FAILED), "{}", done.stderr);
        assert!(
            done.stderr.contains("\n< 550 ") || done.stderr.contains("\n< 553 "),
            "STOR {remote} not refused with 550/553:\n{}",
            done.stderr
        );
    }
    assert_file_eq(&root.path().join("existing.bin"), &existing);
    assert_eq!(names(root.path()), ["existing.bin"], "stray files");
}

/// A small tree with fixed modes and times, so listings are exact.
fn listing_tree(root: &Path) {
    std::fs::write(root.join("alpha.txt"), b"alpha\n").unwrap();
    make_file(root, "beta.bin", 123_456, 1300);
    std::fs::create_dir(root.join("sub")).unwrap();
    std::fs::write(root.join("sub").join("inner.txt"), b"inner file\n").unwrap();
    for (path, mode) in [
        (root.join("alpha.txt"), 0o644),
        (root.join("beta.bin"), 0o600),
        (root.join("sub").join("inner.txt"), 0o640),
        (root.join("sub"), 0o755),
    ] {
        chmod(&path, mode);
        set_mtime(&path, MTIME);
    }
}

fn curl_list_and_nlst(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    listing_tree(root.path());
    let server = FtpServer::read_only(driver, root.path());

    // LIST (curl turns the CR LF of the ASCII listing into LF).
    let done = run(curl(60).arg(server.url("")), PEER_TIMEOUT);
    done.assert_success("curl LIST");
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        "-rw-r--r--    1 ftp      ftp                 6 Mar 04  2021 alpha.txt\n\
         -rw-------    1 ftp      ftp            123456 Mar 04  2021 beta.bin\n\
         drwxr-xr-x    2 ftp      ftp              4096 Mar 04  2021 sub\n"
    );
    let done = run(curl(60).arg(server.url("sub/")), PEER_TIMEOUT);
    done.assert_success("curl LIST sub/");
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        "-rw-r-----    1 ftp      ftp                11 Mar 04  2021 inner.txt\n"
    );

    // NLST.
    let done = run(curl(60).arg("-l").arg(server.url("")), PEER_TIMEOUT);
    done.assert_success("curl NLST");
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        "alpha.txt\nbeta.bin\nsub\n"
    );
    let done = run(curl(60).arg("-l").arg(server.url("sub/")), PEER_TIMEOUT);
    done.assert_success("curl NLST sub/");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "inner.txt\n");
}

fn curl_type_a_download(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let out = temp_dir("out");
    let server = FtpServer::read_only(driver, root.path());
    let text = b"first line\nsecond line\n\nlast line without end".repeat(2000);
    std::fs::write(root.path().join("text.txt"), &text).unwrap();
    let wire = crlf(&text);
    assert_ne!(wire.len(), text.len());

    let local = out.path().join("text.txt");
    let done = run(
        curl(60)
            .args(["-v", "--use-ascii", "-w", "%{size_download}", "-o"])
            .arg(&local)
            .arg(server.url("text.txt")),
        PEER_TIMEOUT,
    );
    done.assert_success("curl --use-ascii");
    assert!(done.stderr.contains("\n> TYPE A\r\n"), "{}", done.stderr);
    // On the wire every LF became CR LF; curl turns them back, so the file
    // is the original.
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        wire.len().to_string(),
        "bytes on the wire"
    );
    assert_file_eq(&local, &text);

    // The wire bytes themselves, read by hand.
    let mut control = server.login();
    control.expect("TYPE A", 200);
    let data = control.epsv();
    let mut stream = ferry_interop::ftp::connect_data(data);
    control.expect("RETR text.txt", 150);
    let got = ferry_interop::ftp::read_all(&mut stream);
    assert_eq!(control.reply().code, 226);
    assert_bytes_eq(&got, &wire, "TYPE A RETR");
    control.expect("QUIT", 221);
}

/// Every bare LF as CR LF.
fn crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2);
    for &b in text {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn curl_resume(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let out = temp_dir("out");
    let server = FtpServer::read_only(driver, root.path());
    let want = make_file(root.path(), "big.bin", 3_000_000 + 5, 1400);
    let local = out.path().join("big.bin");
    let cut = 1_234_567;
    std::fs::write(&local, &want[..cut]).unwrap();
    let done = run(
        curl(60)
            .args(["-v", "-C", "-", "-o"])
            .arg(&local)
            .arg(server.url("big.bin")),
        PEER_TIMEOUT,
    );
    done.assert_success("curl -C -");
    assert!(
        done.stderr.contains(&format!("\n> REST {cut}\r\n")),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("\n< 350"), "{}", done.stderr);
    assert_file_eq(&local, &want);
}

fn curl_quote_commands(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let server = FtpServer::writable(driver, root.path());
    let old = make_file(root.path(), "old.bin", 10_000, 1500);
    make_file(root.path(), "gone.bin", 10, 1501);
    std::fs::create_dir(root.path().join("empty-dir")).unwrap();
    let done = run(
        curl(60)
            .args([
                "-l",
                "-Q",
                "MKD newdir",
                "-Q",
                "DELE gone.bin",
                "-Q",
                "RNFR old.bin",
                "-Q",
                "RNTO newdir/renamed.bin",
                "-Q",
                "RMD empty-dir",
            ])
            .arg(server.url("")),
        PEER_TIMEOUT,
    );
    done.assert_success("curl -Q");
    // The listing after the commands shows their effect.
    assert_eq!(String::from_utf8_lossy(&done.stdout), "newdir\n");
    let (files, dirs) = tree(root.path());
    assert_eq!(
        files,
        [("newdir/renamed.bin".to_owned(), sha256_hex(&old))],
        "files after -Q"
    );
    assert_eq!(dirs, ["newdir"], "directories after -Q");
}

fn curl_quote_refused_without_write(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let server = FtpServer::read_only(driver, root.path());
    let old = make_file(root.path(), "old.bin", 10_000, 1600);
    std::fs::create_dir(root.path().join("dir")).unwrap();
    for command in [
        "MKD newdir",
        "DELE old.bin",
        "RNFR old.bin",
        "RMD dir",
        "STOR x",
    ] {
        let done = run(
            curl(60)
                .arg("-v")
                .arg("-Q")
                .arg(command)
                .arg(server.url("")),
            PEER_TIMEOUT,
        );
        assert_eq!(
            done.code(),
            Some(CURLE_QUOTE_ERROR),
            "-Q {command:?}: {}",
            done.stderr
        );
        if command != "STOR x" {
            assert!(
                done.stderr.contains("\n< 550 "),
                "-Q {command:?} not refused with 550:\n{}",
                done.stderr
            );
        }
    }
    let (files, dirs) = tree(root.path());
    assert_eq!(files, [("old.bin".to_owned(), sha256_hex(&old))]);
    assert_eq!(dirs, ["dir"]);
}

fn curl_head_size_and_mdtm(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let server = FtpServer::read_only(driver, root.path());
    make_file(root.path(), "file.bin", 987_654, 1700);
    set_mtime(&root.path().join("file.bin"), MTIME);
    let done = run(
        curl(60).arg("-v").arg("-I").arg(server.url("file.bin")),
        PEER_TIMEOUT,
    );
    done.assert_success("curl -I");
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        "Last-Modified: Thu, 04 Mar 2021 05:06:07 GMT\r\n\
         Content-Length: 987654\r\n\
         Accept-ranges: bytes\r\n"
    );
    assert!(
        done.stderr.contains("\n< 213 20210304050607\r\n"),
        "{}",
        done.stderr
    );
    assert!(
        done.stderr.contains("\n< 213 987654\r\n"),
        "{}",
        done.stderr
    );
    // A missing file: SIZE and MDTM get 550, curl reports it (78: remote
    // file not found).
    let done = run(
        curl(60).arg("-I").arg(server.url("missing.bin")),
        PEER_TIMEOUT,
    );
    assert_eq!(done.code(), Some(78), "{}", done.stderr);
}

// ---------------------------------------------------------------------------
// Python's ftplib: a strict RFC 959 client.

/// Run as `python3 SCRIPT PORT UPLOAD_FILE BIG_SHA256 BIG_LEN`; every
/// check is an assert, the last line printed is `ok`.
const FTPLIB_SCRIPT: &str = r#"
import ftplib, hashlib, io, sys

port = int(sys.argv[1])
upload = open(sys.argv[2], 'rb').read()
big_sha, big_len = sys.argv[3], int(sys.argv[4])

ftp = ftplib.FTP()
welcome = ftp.connect('127.0.0.1', port, timeout=30)
assert welcome.startswith('220'), welcome
resp = ftp.login()
assert resp.startswith('230'), resp

# FEAT: a 211 multi-line reply naming each extension on its own line.
feat = ftp.sendcmd('FEAT')
lines = feat.split('\n')
assert lines[0].startswith('211-'), feat
assert lines[-1].startswith('211 '), feat
features = [l.strip() for l in lines[1:-1]]
for f in ['EPSV', 'SIZE', 'MDTM', 'REST STREAM', 'UTF8']:
    assert f in features, (f, features)
assert any(f.startswith('MLST ') for f in features), features
assert ftp.sendcmd('OPTS UTF8 ON').startswith('200')

# pwd / cwd / cdup.
assert ftp.pwd() == '/', ftp.pwd()
assert ftp.cwd('sub').startswith('250')
assert ftp.pwd() == '/sub', ftp.pwd()
assert ftp.cwd('deeper').startswith('250')
assert ftp.pwd() == '/sub/deeper', ftp.pwd()
assert ftp.sendcmd('CDUP').startswith('200')
assert ftp.pwd() == '/sub', ftp.pwd()
ftp.cwd('..')  # ftplib sends CDUP for '..'
assert ftp.pwd() == '/', ftp.pwd()
try:
    ftp.cwd('hello.txt')
    raise AssertionError('CWD to a file succeeded')
except ftplib.error_perm as e:
    assert str(e).startswith('550'), e
ftp.cwd('/sub/deeper')
ftp.cwd('/')

# Listings.
entries = dict(ftp.mlsd())
assert sorted(entries) == ['big.bin', 'hello.txt', 'sub'], entries
hello = entries['hello.txt']
assert hello['type'] == 'file', hello
assert hello['size'] == '6', hello
assert hello['modify'] == '20210304050607', hello
assert entries['sub']['type'] == 'dir', entries['sub']
assert entries['big.bin']['size'] == str(big_len), entries['big.bin']
assert ftp.nlst() == ['big.bin', 'hello.txt', 'sub'], ftp.nlst()
assert ftp.nlst('sub') == ['sub/deeper', 'sub/inner.txt'], ftp.nlst('sub')
listing = []
ftp.retrlines('LIST', listing.append)
assert len(listing) == 3 and listing[1].endswith(' hello.txt'), listing

# MLST: one fact line, with a leading space, inside a 250 reply; the
# name in it is absolute (RFC 3659 7.2.1 lets the server choose).
mlst = ftp.sendcmd('MLST hello.txt').split('\n')
assert mlst[0].startswith('250-'), mlst
assert mlst[-1].startswith('250'), mlst
assert len(mlst) == 3, mlst
assert mlst[1].startswith(' type=file;size=6;modify=20210304050607;'), mlst
assert mlst[1].endswith('; /hello.txt'), mlst

# SIZE, MDTM.
ftp.voidcmd('TYPE I')
assert ftp.size('big.bin') == big_len
assert ftp.size('hello.txt') == 6
assert ftp.sendcmd('MDTM hello.txt') == '213 20210304050607'
try:
    ftp.size('missing.bin')
    raise AssertionError('SIZE of a missing file succeeded')
except ftplib.error_perm as e:
    assert str(e).startswith('550'), e

# RETR, whole and from an offset (REST STREAM).
chunks = []
resp = ftp.retrbinary('RETR big.bin', chunks.append)
assert resp.startswith('226'), resp
big = b''.join(chunks)
assert len(big) == big_len and hashlib.sha256(big).hexdigest() == big_sha
chunks = []
resp = ftp.retrbinary('RETR big.bin', chunks.append, rest=100000)
assert resp.startswith('226'), resp
assert b''.join(chunks) == big[100000:]
text = []
ftp.retrlines('RETR hello.txt', text.append)
assert text == ['hello'], text

# STOR, rename, delete.
resp = ftp.storbinary('STOR up.bin', io.BytesIO(upload))
assert resp.startswith('226'), resp
assert ftp.size('up.bin') == len(upload)
assert ftp.rename('up.bin', 'sub/renamed.bin').startswith('250')
resp = ftp.storbinary('STOR doomed.bin', io.BytesIO(b'doomed'))
assert resp.startswith('226'), resp
assert ftp.delete('doomed.bin').startswith('250')
resp = ftp.storbinary('STOR gr\u00fc\u00dfe.txt', io.BytesIO(b'utf-8 name\n'))
assert resp.startswith('226'), resp
assert 'gr\u00fc\u00dfe.txt' in ftp.nlst(), ftp.nlst()

# MKD, RMD.
assert ftp.mkd('newdir') == '/newdir'
assert ftp.mkd('keep') == '/keep'
assert ftp.mkd('keep/inner') == '/keep/inner'
assert ftp.rmd('newdir').startswith('250')
try:
    ftp.rmd('keep')
    raise AssertionError('RMD of a non-empty directory succeeded')
except ftplib.error_perm as e:
    assert str(e).startswith('550'), e

resp = ftp.quit()
assert resp.startswith('221'), resp
print('ok')
"#;

fn python_ftplib(driver: Driver) {
    require_peer!("python3");
    let root = temp_dir("root");
    let work = temp_dir("work");
    std::fs::write(root.path().join("hello.txt"), b"hello\n").unwrap();
    set_mtime(&root.path().join("hello.txt"), MTIME);
    let big = make_file(root.path(), "big.bin", 2_000_000 + 3, 1800);
    std::fs::create_dir_all(root.path().join("sub/deeper")).unwrap();
    std::fs::write(root.path().join("sub/inner.txt"), b"inner\n").unwrap();
    let upload = make_file(work.path(), "upload.bin", 1_500_000 + 7, 1801);
    let script = work.path().join("ftplib_test.py");
    std::fs::write(&script, FTPLIB_SCRIPT).unwrap();

    let server = FtpServer::writable(driver, root.path());
    let done = run(
        Command::new(peer("python3"))
            .arg(&script)
            .arg(server.port().to_string())
            .arg(work.path().join("upload.bin"))
            .arg(sha256_hex(&big))
            .arg(big.len().to_string()),
        PEER_TIMEOUT,
    );
    done.assert_success("python3 ftplib script");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "ok\n");

    // What the script changed, on disk.
    let (files, dirs) = tree(root.path());
    let mut want_files = vec![
        ("big.bin".to_owned(), sha256_hex(&big)),
        (
            "gr\u{fc}\u{df}e.txt".to_owned(),
            sha256_hex(b"utf-8 name\n"),
        ),
        ("hello.txt".to_owned(), sha256_hex(b"hello\n")),
        ("sub/inner.txt".to_owned(), sha256_hex(b"inner\n")),
        ("sub/renamed.bin".to_owned(), sha256_hex(&upload)),
    ];
    want_files.sort();
    assert_eq!(files, want_files);
    assert_eq!(dirs, ["keep", "keep/inner", "sub", "sub/deeper"]);
}

/// Every kind of upload but plain STOR: APPE, REST + STOR, STOU, and
/// STOR in TYPE A. Run as `python3 SCRIPT PORT`; prints `ok`.
const FTPLIB_UPLOADS_SCRIPT: &str = r#"
import ftplib, io, socket, sys

port = int(sys.argv[1])
ftp = ftplib.FTP()
ftp.connect('127.0.0.1', port, timeout=30)
ftp.login()
ftp.voidcmd('TYPE I')

# APPE onto an existing file, and onto a name that does not exist yet.
assert ftp.storbinary('APPE log.txt', io.BytesIO(b'second part\n')).startswith('226')
assert ftp.storbinary('APPE appended.txt', io.BytesIO(b'only part\n')).startswith('226')

# REST + STOR: the first 1000 bytes of the old file stay, the rest is new.
new = bytes(range(256)) * 40
resp = ftp.storbinary('STOR partial.bin', io.BytesIO(new[1000:]), rest=1000)
assert resp.startswith('226'), resp
assert ftp.size('partial.bin') == len(new)

# STOU: the server picks a name that does not exist and says it in the 150.
def stou(arg, data):
    host, dport = ftp.makepasv()
    conn = socket.create_connection((host, dport), timeout=30)
    resp = ftp.sendcmd('STOU ' + arg if arg else 'STOU')
    assert resp.startswith('150 FILE: '), resp
    conn.sendall(data)
    conn.close()
    done = ftp.voidresp()
    assert done.startswith('226'), done
    return resp[len('150 FILE: '):]
assert stou('', b'first unique\n') == 'upload', 'STOU'
assert stou('', b'second unique\n') == 'upload.1', 'STOU again'
assert stou('report.txt', b'not the old report\n') == 'report.txt.1'

# TYPE A: lines sent with CR LF are stored with LF.
resp = ftp.storlines('STOR lines.txt', io.BytesIO(b'one\ntwo\n\nthree\n'))
assert resp.startswith('226'), resp

assert ftp.quit().startswith('221')
print('ok')
"#;

fn python_ftplib_uploads(driver: Driver) {
    require_peer!("python3");
    let root = temp_dir("root");
    let work = temp_dir("work");
    std::fs::write(root.path().join("log.txt"), b"first part\n").unwrap();
    std::fs::write(root.path().join("report.txt"), b"old report\n").unwrap();
    let new: Vec<u8> = (0..40).flat_map(|_| 0..=255u8).collect();
    let old = make_file(root.path(), "partial.bin", 1500, 1850);
    let script = work.path().join("ftplib_uploads.py");
    std::fs::write(&script, FTPLIB_UPLOADS_SCRIPT).unwrap();

    let server = FtpServer::writable(driver, root.path());
    let done = run(
        Command::new(peer("python3"))
            .arg(&script)
            .arg(server.port().to_string()),
        PEER_TIMEOUT,
    );
    done.assert_success("python3 ftplib uploads script");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "ok\n");

    let mut resumed = old[..1000].to_vec();
    resumed.extend_from_slice(&new[1000..]);
    let (files, dirs) = tree(root.path());
    let mut want = vec![
        ("appended.txt", sha256_hex(b"only part\n")),
        ("lines.txt", sha256_hex(b"one\ntwo\n\nthree\n")),
        ("log.txt", sha256_hex(b"first part\nsecond part\n")),
        ("partial.bin", sha256_hex(&resumed)),
        ("report.txt", sha256_hex(b"old report\n")),
        ("report.txt.1", sha256_hex(b"not the old report\n")),
        ("upload", sha256_hex(b"first unique\n")),
        ("upload.1", sha256_hex(b"second unique\n")),
    ]
    .into_iter()
    .map(|(name, sha)| (name.to_owned(), sha))
    .collect::<Vec<_>>();
    want.sort();
    assert_eq!(files, want);
    assert!(dirs.is_empty(), "{dirs:?}");
}

/// ftplib's `abort()` sends `ABOR` as urgent data (MSG_OOB) while a
/// download runs. Run as `python3 SCRIPT PORT`; prints `ok`.
const FTPLIB_ABORT_SCRIPT: &str = r#"
import ftplib, sys

port = int(sys.argv[1])
ftp = ftplib.FTP()
ftp.connect('127.0.0.1', port, timeout=20)
ftp.login()
ftp.voidcmd('TYPE I')
for _ in range(3):
    conn = ftp.transfercmd('RETR big.bin')
    got = 0
    while got < 100000:
        chunk = conn.recv(65536)
        assert chunk, 'data ended early'
        got += len(chunk)
    resp = ftp.abort()
    assert resp.startswith('426'), resp
    conn.close()
    resp = ftp.getresp()
    assert resp.startswith('226'), resp
    assert ftp.voidcmd('NOOP').startswith('200')
assert ftp.size('big.bin') == 64 << 20
assert ftp.quit().startswith('221')
print('ok')
"#;

fn python_ftplib_abort(driver: Driver) {
    require_peer!("python3");
    let root = temp_dir("root");
    let work = temp_dir("work");
    make_file(root.path(), "big.bin", 64 << 20, 1870);
    let script = work.path().join("ftplib_abort.py");
    std::fs::write(&script, FTPLIB_ABORT_SCRIPT).unwrap();
    let server = FtpServer::read_only(driver, root.path());
    let done = run(
        Command::new(peer("python3"))
            .arg(&script)
            .arg(server.port().to_string()),
        PEER_TIMEOUT,
    );
    done.assert_success("python3 ftplib abort script");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "ok\n");
}

// ---------------------------------------------------------------------------
// lftp: mirror a tree down, then up into a fresh root.

/// 50 small files in a few levels of directories, two of 8 MiB and an
/// empty directory.
fn mirror_tree(root: &Path) {
    let mut seed = 1900;
    for i in 0..50 {
        let dir = match i % 5 {
            0 => PathBuf::new(),
            1 => PathBuf::from("docs"),
            2 => PathBuf::from("docs/nested"),
            3 => PathBuf::from("src/a/b"),
            _ => PathBuf::from("src"),
        };
        std::fs::create_dir_all(root.join(&dir)).unwrap();
        // Small: 0 to about 10 kB, different for every file.
        make_file(&root.join(&dir), &format!("file-{i:02}.dat"), i * 211, seed);
        seed += 1;
    }
    make_file(root, "large-1.bin", 8 << 20, seed);
    make_file(&root.join("src/a"), "large-2.bin", (8 << 20) + 3, seed + 1);
    std::fs::create_dir(root.join("empty")).unwrap();
}

fn lftp_mirror_down_and_up(driver: Driver) {
    require_peer!("lftp");
    let source = temp_dir("source");
    mirror_tree(source.path());
    let want = tree(source.path());
    assert_eq!(want.0.len(), 52);

    // Down, from a read-only server.
    let local = temp_dir("local");
    let server = FtpServer::read_only(driver, source.path());
    let target = local.path().join("copy");
    let done = run(
        &mut lftp(&server, &format!("mirror / {}", target.display())),
        PEER_TIMEOUT * 3,
    );
    done.assert_success("lftp mirror");
    assert_eq!(tree(&target), want, "tree mirrored down");
    drop(server);

    // Up, into a fresh writable root.
    let fresh = temp_dir("fresh");
    let server = FtpServer::writable(driver, fresh.path());
    let done = run(
        &mut lftp(
            &server,
            &format!("mirror -R --no-perms {} /", target.display()),
        ),
        PEER_TIMEOUT * 3,
    );
    done.assert_success("lftp mirror -R");
    assert_eq!(tree(fresh.path()), want, "tree mirrored up");
}

fn lftp_put_and_get(driver: Driver) {
    require_peer!("lftp");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FtpServer::writable(driver, root.path());
    let upload = make_file(work.path(), "up.bin", 2_500_000 + 1, 1990);
    let done = run(
        &mut lftp(
            &server,
            &format!(
                "put {} -o up.bin; get up.bin -o {}",
                work.path().join("up.bin").display(),
                work.path().join("back.bin").display()
            ),
        ),
        PEER_TIMEOUT,
    );
    done.assert_success("lftp put/get");
    assert_file_eq(&root.path().join("up.bin"), &upload);
    assert_file_eq(&work.path().join("back.bin"), &upload);
}

ferry_interop::driver_tests!(
    curl_retr_epsv,
    curl_retr_pasv,
    curl_retr_active_eprt,
    curl_retr_active_port,
    curl_stor_with_write,
    curl_append_and_resumed_upload,
    curl_stor_refused_without_write,
    curl_list_and_nlst,
    curl_type_a_download,
    curl_resume,
    curl_quote_commands,
    curl_quote_refused_without_write,
    curl_head_size_and_mdtm,
    python_ftplib,
    python_ftplib_uploads,
    python_ftplib_abort,
    lftp_mirror_down_and_up,
    lftp_put_and_get,
);
