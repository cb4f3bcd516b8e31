//! Real FTPS clients (curl, Python's ftplib, lftp) against `ferry serve
//! --tls-cert --tls-key`, on 127.0.0.1, explicit (AUTH TLS) and implicit
//! (`--ftps`). Every transfer is checked byte for byte; every refusal by
//! its exact reply code, and by the bytes that did not move.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use ferry_interop::ftp::{names, tree};
use ferry_interop::ftps::{curl_tls, python, FtpsOptions, FtpsServer};
use ferry_interop::{
    assert_file_eq, curl, make_file, require_peer, run, sha256_hex, temp_dir, Driver, Finished,
    PEER_TIMEOUT,
};

/// A peer's path, once the test has checked it with `require_peer!`.
fn peer(name: &str) -> PathBuf {
    ferry_interop::find_program(name).expect("peer checked by require_peer! first")
}

/// Empty, one byte, and a few MB that is no multiple of any buffer or
/// TLS record size.
fn sizes() -> [(&'static str, usize); 3] {
    [
        ("empty.bin", 0),
        ("one.bin", 1),
        ("large.bin", 3_000_000 + 17),
    ]
}

fn options() -> FtpsOptions {
    FtpsOptions::default()
}

// ---------------------------------------------------------------------------
// curl

/// curl's exit code 67: "the remote server denied curl to login".
const CURLE_LOGIN_DENIED: i32 = 67;
/// curl's exit code 28: the `--max-time` deadline passed.
const CURLE_OPERATION_TIMEDOUT: i32 = 28;

/// The trace shows AUTH (curl tries SSL first, then TLS), PBSZ 0 and
/// PROT P, and TLS 1.2 or 1.3.
#[track_caller]
fn assert_protected_dialogue(done: &Finished) {
    let trace = &done.stderr;
    assert!(
        trace.contains("\n> AUTH SSL\r\n") || trace.contains("\n> AUTH TLS\r\n"),
        "no AUTH:\n{trace}"
    );
    assert!(trace.contains("\n< 234 "), "AUTH not accepted:\n{trace}");
    assert!(trace.contains("\n> PBSZ 0\r\n"), "{trace}");
    assert!(trace.contains("\n> PROT P\r\n"), "{trace}");
    assert!(
        trace.contains("TLSv1.3") || trace.contains("TLSv1.2"),
        "no TLS 1.2/1.3 in the trace:\n{trace}"
    );
}

// curl's active mode is left to ftplib below: curl 7.88 with `-P` and
// `--ssl-reqd` stalls after accepting the data connection, against
// vsftpd just the same.

fn curl_explicit_retr(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let out = temp_dir("out");
    // --require-tls: a download that went in clear would be refused, so
    // success also shows every byte moved under TLS.
    let server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            require_tls: true,
            ..options()
        },
    );
    for (seed, (name, len)) in sizes().into_iter().enumerate() {
        let want = make_file(root.path(), name, len, 4000 + seed as u64);
        for (mode, label) in [(&[][..], "epsv"), (&["--disable-epsv"][..], "pasv")] {
            let local = out.path().join(format!("{label}-{name}"));
            let done = run(
                curl_tls(60)
                    .args(mode)
                    .arg("-o")
                    .arg(&local)
                    .arg(server.url(name)),
                PEER_TIMEOUT,
            );
            done.assert_success("curl --ssl-reqd RETR");
            assert_protected_dialogue(&done);
            assert!(
                done.stderr.contains(&format!("\n> RETR {name}\r\n")),
                "{}",
                done.stderr
            );
            assert!(done.stderr.contains("\n< 226"), "{}", done.stderr);
            assert_file_eq(&local, &want);
        }
    }
}

fn curl_explicit_stor(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            write: true,
            require_tls: true,
            ..options()
        },
    );
    let mut expected = Vec::new();
    for (seed, (name, len)) in sizes().into_iter().enumerate() {
        let want = make_file(work.path(), name, len, 4100 + seed as u64);
        for (mode, label) in [(&[][..], "epsv"), (&["--disable-epsv"][..], "pasv")] {
            let remote = format!("{label}-{name}");
            let done = run(
                curl_tls(60)
                    .args(mode)
                    .arg("-T")
                    .arg(work.path().join(name))
                    .arg(server.url(&remote)),
                PEER_TIMEOUT,
            );
            done.assert_success("curl --ssl-reqd STOR");
            assert_protected_dialogue(&done);
            assert!(
                done.stderr.contains(&format!("\n> STOR {remote}\r\n")),
                "{}",
                done.stderr
            );
            assert_file_eq(&root.path().join(&remote), &want);
            expected.push(remote);
        }
    }
    expected.sort();
    // No temporary file is left behind.
    assert_eq!(names(root.path()), expected);
}

/// 2021-03-04 05:06:07 UTC, so LIST shows the year and every run prints
/// the same lines.
const MTIME: u64 = 1_614_834_367;

fn fixed(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    let file = std::fs::File::open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME))
        .unwrap();
}

fn curl_explicit_list(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    std::fs::write(root.path().join("alpha.txt"), b"alpha\n").unwrap();
    make_file(root.path(), "beta.bin", 123_456, 4200);
    std::fs::create_dir(root.path().join("sub")).unwrap();
    fixed(&root.path().join("alpha.txt"), 0o644);
    fixed(&root.path().join("beta.bin"), 0o600);
    fixed(&root.path().join("sub"), 0o755);
    let server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            require_tls: true,
            ..options()
        },
    );

    let done = run(curl_tls(60).arg(server.url("")), PEER_TIMEOUT);
    done.assert_success("curl --ssl-reqd LIST");
    assert_protected_dialogue(&done);
    assert!(done.stderr.contains("\n> LIST\r\n"), "{}", done.stderr);
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        "-rw-r--r--    1 ftp      ftp                 6 Mar 04  2021 alpha.txt\n\
         -rw-------    1 ftp      ftp            123456 Mar 04  2021 beta.bin\n\
         drwxr-xr-x    2 ftp      ftp              4096 Mar 04  2021 sub\n"
    );

    let done = run(curl_tls(60).arg("-l").arg(server.url("")), PEER_TIMEOUT);
    done.assert_success("curl --ssl-reqd NLST");
    assert!(done.stderr.contains("\n> NLST\r\n"), "{}", done.stderr);
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        "alpha.txt\nbeta.bin\nsub\n"
    );
}

fn curl_implicit(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            implicit: true,
            write: true,
            require_tls: true,
            ..options()
        },
    );
    assert_ne!(server.ftps_addr(), server.addr());
    for (seed, (name, len)) in sizes().into_iter().enumerate() {
        // Download over ftps://: TLS from the first byte, no AUTH.
        let want = make_file(root.path(), name, len, 4300 + seed as u64);
        let local = work.path().join(name);
        let done = run(
            curl(60)
                .args(["-v", "-k", "-o"])
                .arg(&local)
                .arg(server.ftps_url(name)),
            PEER_TIMEOUT,
        );
        done.assert_success("curl ftps:// RETR");
        assert!(!done.stderr.contains("> AUTH"), "{}", done.stderr);
        assert!(done.stderr.contains("\n> PROT P\r\n"), "{}", done.stderr);
        assert_file_eq(&local, &want);

        // And back up under another name.
        let remote = format!("up-{name}");
        run(
            curl(60)
                .arg("-k")
                .arg("-T")
                .arg(&local)
                .arg(server.ftps_url(&remote)),
            PEER_TIMEOUT,
        )
        .assert_success("curl ftps:// STOR");
        assert_file_eq(&root.path().join(&remote), &want);
    }
    // A listing over the implicit port, and explicit FTPS still on the
    // FTP port of the same server.
    let done = run(
        curl(60).arg("-k").arg("-l").arg(server.ftps_url("")),
        PEER_TIMEOUT,
    );
    done.assert_success("curl ftps:// NLST");
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        "empty.bin\nlarge.bin\none.bin\nup-empty.bin\nup-large.bin\nup-one.bin\n"
    );
    let local = work.path().join("explicit.bin");
    run(
        curl_tls(60)
            .arg("-o")
            .arg(&local)
            .arg(server.url("large.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("curl --ssl-reqd beside --ftps");
    assert_file_eq(
        &local,
        &std::fs::read(root.path().join("large.bin")).unwrap(),
    );
}

// ---------------------------------------------------------------------------
// Python's ftplib.FTP_TLS

/// Run as `python3 -c SCRIPT PORT CAFILE UPLOAD BIG_SHA256 BIG_LEN`; the
/// certificate is verified against CAFILE for 127.0.0.1. Prints `ok`.
const FTPLIB_TLS: &str = r#"
import ftplib, hashlib, io, ssl, sys

port, cafile = int(sys.argv[1]), sys.argv[2]
upload = open(sys.argv[3], 'rb').read()
big_sha, big_len = sys.argv[4], int(sys.argv[5])

ctx = ssl.create_default_context(cafile=cafile)
ftp = ftplib.FTP_TLS(context=ctx, timeout=30)
welcome = ftp.connect('127.0.0.1', port)
assert welcome.startswith('220'), welcome

# FEAT in clear names the RFC 4217 commands.
feat = ftp.sendcmd('FEAT').split('\n')
features = [l.strip() for l in feat[1:-1]]
for f in ['AUTH TLS', 'PBSZ', 'PROT']:
    assert f in features, (f, features)

resp = ftp.auth()
assert resp.startswith('234'), resp
assert ftp.sock.version() in ('TLSv1.2', 'TLSv1.3'), ftp.sock.version()
resp = ftp.login()
assert resp.startswith('230'), resp
assert ftp.sendcmd('PBSZ 0').startswith('200')
try:
    ftp.sendcmd('PROT S')
    raise AssertionError('PROT S accepted')
except ftplib.error_perm as e:
    assert str(e).startswith('536'), e
resp = ftp.prot_p()
assert resp.startswith('200'), resp
ftp.voidcmd('TYPE I')

assert ftp.size('big.bin') == big_len
assert ftp.size('hello.txt') == 6

chunks = []
resp = ftp.retrbinary('RETR big.bin', chunks.append)
assert resp.startswith('226'), resp
big = b''.join(chunks)
assert len(big) == big_len and hashlib.sha256(big).hexdigest() == big_sha
chunks = []
resp = ftp.retrbinary('RETR big.bin', chunks.append, rest=100000)
assert resp.startswith('226'), resp
assert b''.join(chunks) == big[100000:]
chunks = []
assert ftp.retrbinary('RETR empty.bin', chunks.append).startswith('226')
assert chunks == [], chunks

resp = ftp.storbinary('STOR up.bin', io.BytesIO(upload))
assert resp.startswith('226'), resp
assert ftp.size('up.bin') == len(upload)
resp = ftp.storbinary('STOR empty-up.bin', io.BytesIO(b''))
assert resp.startswith('226'), resp

# Active mode: the server connects, and is still the TLS server on the
# data connection (RFC 4217 section 7).
ftp.set_pasv(False)
chunks = []
assert ftp.retrbinary('RETR big.bin', chunks.append).startswith('226')
assert hashlib.sha256(b''.join(chunks)).hexdigest() == big_sha
resp = ftp.storbinary('STOR active-up.bin', io.BytesIO(upload))
assert resp.startswith('226'), resp
ftp.set_pasv(True)

names = ftp.nlst()
assert names == ['active-up.bin', 'big.bin', 'empty-up.bin', 'empty.bin', 'hello.txt', 'up.bin'], names
listing = []
ftp.retrlines('LIST', listing.append)
assert len(listing) == 6 and listing[4].endswith(' hello.txt'), listing

resp = ftp.quit()
assert resp.startswith('221'), resp
print('ok')
"#;

fn python_ftplib_tls(driver: Driver) {
    require_peer!("python3");
    let root = temp_dir("root");
    let work = temp_dir("work");
    std::fs::write(root.path().join("hello.txt"), b"hello\n").unwrap();
    std::fs::write(root.path().join("empty.bin"), b"").unwrap();
    let big = make_file(root.path(), "big.bin", 2_000_000 + 3, 4400);
    let upload = make_file(work.path(), "upload.bin", 1_500_000 + 7, 4401);
    let server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            write: true,
            require_tls: true,
            ..options()
        },
    );
    let done = python(
        FTPLIB_TLS,
        &[
            &server.port().to_string(),
            server.certs().cert().to_str().unwrap(),
            work.path().join("upload.bin").to_str().unwrap(),
            &sha256_hex(&big),
            &big.len().to_string(),
        ],
    );
    done.assert_success("python3 ftplib FTP_TLS");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "ok\n");
    assert_file_eq(&root.path().join("up.bin"), &upload);
    assert_file_eq(&root.path().join("active-up.bin"), &upload);
    assert_file_eq(&root.path().join("empty-up.bin"), b"");
}

// ---------------------------------------------------------------------------
// lftp

fn lftp(port: u16, script: &str) -> Command {
    let mut cmd = Command::new(peer("lftp"));
    cmd.arg("-c").arg(format!(
        "set cmd:fail-exit yes; set net:max-retries 2; set net:reconnect-interval-base 1; \
         set net:timeout 20; set ftp:passive-mode yes; set xfer:clobber yes; \
         set ftp:ssl-force true; set ftp:ssl-protect-data true; \
         set ftp:ssl-protect-list true; set ssl:verify-certificate no; \
         open -u anonymous,lftp@example.org ftp://127.0.0.1:{port}; {script}"
    ));
    cmd
}

/// 30 small files in a few directories, one of 4 MiB, an empty directory.
fn mirror_tree(root: &Path) {
    let mut seed = 4500;
    for i in 0..30 {
        let dir = match i % 3 {
            0 => PathBuf::new(),
            1 => PathBuf::from("docs/nested"),
            _ => PathBuf::from("src"),
        };
        std::fs::create_dir_all(root.join(&dir)).unwrap();
        make_file(&root.join(&dir), &format!("file-{i:02}.dat"), i * 307, seed);
        seed += 1;
    }
    make_file(&root.join("src"), "large.bin", (4 << 20) + 5, seed);
    std::fs::create_dir(root.join("empty")).unwrap();
}

fn lftp_mirror_down_and_up(driver: Driver) {
    require_peer!("lftp");
    let source = temp_dir("source");
    mirror_tree(source.path());
    let want = tree(source.path());
    assert_eq!(want.0.len(), 31);

    // --require-tls on both servers: any listing or file that lftp moved
    // in clear would have been refused.
    let local = temp_dir("local");
    let server = FtpsServer::start(
        driver,
        source.path(),
        FtpsOptions {
            require_tls: true,
            ..options()
        },
    );
    let target = local.path().join("copy");
    run(
        &mut lftp(server.port(), &format!("mirror / {}", target.display())),
        PEER_TIMEOUT * 3,
    )
    .assert_success("lftp mirror over FTPS");
    assert_eq!(tree(&target), want, "tree mirrored down");
    drop(server);

    let fresh = temp_dir("fresh");
    let server = FtpsServer::start(
        driver,
        fresh.path(),
        FtpsOptions {
            write: true,
            require_tls: true,
            ..options()
        },
    );
    run(
        &mut lftp(
            server.port(),
            &format!("mirror -R --no-perms {} /", target.display()),
        ),
        PEER_TIMEOUT * 3,
    )
    .assert_success("lftp mirror -R over FTPS");
    assert_eq!(tree(fresh.path()), want, "tree mirrored up");
}

// ---------------------------------------------------------------------------
// Raw checks

/// After PROT P, data connections that never start TLS: one sends plain
/// bytes, one sends nothing and half-closes, one is a STOR whose plain
/// bytes must not reach the file. Each gets a 522 and none of the file's
/// bytes; the session then still downloads byte-exact. Run as `python3
/// -c SCRIPT PORT CAFILE BIG_SHA256`; prints `ok`.
const PLAIN_DATA_AFTER_PROT_P: &str = r#"
import ftplib, hashlib, socket, ssl, sys

port, cafile, big_sha = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=cafile)
ftp = ftplib.FTP_TLS(context=ctx, timeout=30)
ftp.connect('127.0.0.1', port)
ftp.login()
assert ftp.prot_p().startswith('200')
ftp.voidcmd('TYPE I')

def read_all(conn):
    got = b''
    conn.settimeout(20)
    while True:
        try:
            chunk = conn.recv(65536)
        except ConnectionResetError:
            return got
        if not chunk:
            return got
        got += chunk

def attempt(command, send):
    host, dport = ftp.makepasv()
    conn = socket.create_connection((host, dport), timeout=30)
    resp = ftp.sendcmd(command)
    assert resp.startswith('150'), (command, resp)
    send(conn)
    got = read_all(conn)
    conn.close()
    try:
        end = ftp.getresp()
        raise AssertionError('%s over a plain data connection: %s' % (command, end))
    except ftplib.error_perm as e:
        end = str(e)
    assert end.startswith('522'), (command, end)
    return got

# The server may close the connection as soon as it sees bytes that are
# not TLS, before everything is sent: a write or shutdown that fails then
# (EPIPE, ECONNRESET, ENOTCONN) is the refusal, not a test failure.
def quietly(step):
    try:
        step()
    except OSError:
        pass

def plain(conn):
    quietly(lambda: conn.sendall(b'USER plain text, not a TLS ClientHello\r\n' * 20))

def silent(conn):
    quietly(lambda: conn.shutdown(socket.SHUT_WR))

for send in (plain, silent):
    got = attempt('RETR big.bin', send)
    # At most a TLS alert came back, never file bytes.
    assert len(got) < 64, (send.__name__, len(got), got[:64])
    assert b'FILEHEAD' not in got, got

def upload(conn):
    quietly(lambda: conn.sendall(b'plain upload bytes ' * 1000))
    quietly(lambda: conn.shutdown(socket.SHUT_WR))

got = attempt('STOR stolen.bin', upload)
assert len(got) < 64, got

# The session is still good: a protected download, byte-exact.
chunks = []
assert ftp.retrbinary('RETR big.bin', chunks.append).startswith('226')
data = b''.join(chunks)
assert hashlib.sha256(data).hexdigest() == big_sha, len(data)
assert ftp.quit().startswith('221')
print('ok')
"#;

fn plain_data_connection_after_prot_p_gets_no_file_bytes(driver: Driver) {
    require_peer!("python3");
    let root = temp_dir("root");
    // Every 1000 bytes start with FILEHEAD, so any file byte that leaks
    // onto a plain connection shows.
    let big: Vec<u8> = (0..3000u32)
        .flat_map(|i| {
            let mut block = b"FILEHEAD".to_vec();
            block.extend(ferry_interop::content(u64::from(i) + 4600, 992));
            block
        })
        .collect();
    std::fs::write(root.path().join("big.bin"), &big).unwrap();
    let server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            write: true,
            ..options()
        },
    );
    let done = python(
        PLAIN_DATA_AFTER_PROT_P,
        &[
            &server.port().to_string(),
            server.certs().cert().to_str().unwrap(),
            &sha256_hex(&big),
        ],
    );
    done.assert_success("python3 plain data connections after PROT P");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "ok\n");
    // The plain upload wrote nothing: no file, or an empty one.
    let stolen = root.path().join("stolen.bin");
    assert!(
        !stolen.exists() || std::fs::metadata(&stolen).unwrap().len() == 0,
        "plain bytes reached {}",
        stolen.display()
    );
}

/// `--require-tls`: a clear login (plain ftplib) gets 530 at USER; with
/// TLS on the control connection but PROT C (before PROT P, or after an
/// explicit PROT C) RETR, NLST and STOR get 521; PROT P then works. Run
/// as `python3 -c SCRIPT PORT CAFILE`; prints `ok`.
const REQUIRE_TLS: &str = r#"
import ftplib, io, ssl, sys

port, cafile = int(sys.argv[1]), sys.argv[2]

clear = ftplib.FTP(timeout=30)
clear.connect('127.0.0.1', port)
try:
    clear.login()
    raise AssertionError('clear login accepted')
except ftplib.error_perm as e:
    assert str(e).startswith('530'), e
clear.close()

ctx = ssl.create_default_context(cafile=cafile)
ftp = ftplib.FTP_TLS(context=ctx, timeout=30)
ftp.connect('127.0.0.1', port)
assert ftp.login().startswith('230')
ftp.voidcmd('TYPE I')

def refused(action):
    try:
        action()
        raise AssertionError('clear transfer accepted')
    except ftplib.error_perm as e:
        assert str(e).startswith('521'), e

# No PROT yet: data would be clear.
refused(lambda: ftp.retrbinary('RETR file.bin', lambda b: None))
assert ftp.sendcmd('PBSZ 0').startswith('200')
assert ftp.prot_c().startswith('200')
refused(lambda: ftp.retrbinary('RETR file.bin', lambda b: None))
refused(lambda: ftp.nlst())
refused(lambda: ftp.storbinary('STOR clear.bin', io.BytesIO(b'clear upload')))

assert ftp.prot_p().startswith('200')
chunks = []
assert ftp.retrbinary('RETR file.bin', chunks.append).startswith('226')
sys.stdout.buffer.write(b''.join(chunks))
ftp.quit()
"#;

fn require_tls_refuses_clear_logins_and_clear_data(driver: Driver) {
    require_peer!("curl");
    require_peer!("python3");
    let root = temp_dir("root");
    let out = temp_dir("out");
    let want = make_file(root.path(), "file.bin", 700_001, 4700);
    let server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            write: true,
            require_tls: true,
            ..options()
        },
    );

    // curl in clear: USER anonymous gets 530, curl exits 67, no file.
    let local = out.path().join("clear.bin");
    let done = run(
        curl(60)
            .arg("-v")
            .arg("-o")
            .arg(&local)
            .arg(server.url("file.bin")),
        PEER_TIMEOUT,
    );
    assert_eq!(done.code(), Some(CURLE_LOGIN_DENIED), "{}", done.stderr);
    assert!(
        done.stderr.contains("\n> USER anonymous\r\n"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("\n< 530 "), "{}", done.stderr);
    assert!(!done.stderr.contains("\n> PASS"), "{}", done.stderr);
    assert!(!local.exists());

    let done = python(
        REQUIRE_TLS,
        &[
            &server.port().to_string(),
            server.certs().cert().to_str().unwrap(),
        ],
    );
    done.assert_success("python3 --require-tls refusals");
    ferry_interop::assert_bytes_eq(&done.stdout, &want, "RETR under PROT P");
    assert_eq!(
        names(root.path()),
        ["file.bin"],
        "a refused STOR made a file"
    );

    // And curl with TLS gets the file from the same server.
    let local = out.path().join("tls.bin");
    run(
        curl_tls(60)
            .arg("-o")
            .arg(&local)
            .arg(server.url("file.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("curl --ssl-reqd under --require-tls");
    assert_file_eq(&local, &want);
}

/// Whether ftplib's FTP_TLS, which does not resume the control
/// connection's TLS session on its data connections, gets a file; on
/// refusal prints the reply. Run as `python3 -c SCRIPT PORT CAFILE`.
const FTPLIB_RETR: &str = r#"
import ftplib, ssl, sys

port, cafile = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
ftp = ftplib.FTP_TLS(context=ctx, timeout=30)
ftp.connect('127.0.0.1', port)
ftp.login()
ftp.prot_p()
ftp.voidcmd('TYPE I')
chunks = []
try:
    ftp.retrbinary('RETR file.bin', chunks.append)
    print('passed', len(b''.join(chunks)))
except ftplib.Error as e:
    print('refused', str(e))
    print('bytes', len(b''.join(chunks)))
ftp.quit()
"#;

/// The clients that pass with `--tls-require-reuse` (RETR and STOR both
/// byte-exact), as measured: curl and lftp resume the control
/// connection's TLS session on their data connections; Python's ftplib
/// cannot, and is refused with 522 and no file byte. docs/architecture.md
/// ("FTPS") states the same table.
const REUSE_MATRIX: [(&str, bool); 3] = [("curl", true), ("lftp", true), ("ftplib", false)];

fn tls_require_reuse_matrix(driver: Driver) {
    require_peer!("curl");
    require_peer!("lftp");
    require_peer!("python3");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let want = make_file(root.path(), "file.bin", 1_000_003, 4800);
    let up = make_file(work.path(), "up.bin", 900_007, 4801);
    let server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            write: true,
            require_reuse: true,
            ..options()
        },
    );
    let byte_exact = |path: &Path, want: &[u8]| std::fs::read(path).is_ok_and(|got| got == want);

    let curl_passes = {
        let local = work.path().join("curl.bin");
        let get = run(
            curl_tls(60)
                .arg("-o")
                .arg(&local)
                .arg(server.url("file.bin")),
            PEER_TIMEOUT,
        );
        let put = run(
            curl_tls(60)
                .arg("-T")
                .arg(work.path().join("up.bin"))
                .arg(server.url("curl-up.bin")),
            PEER_TIMEOUT,
        );
        get.success()
            && put.success()
            && byte_exact(&local, &want)
            && byte_exact(&root.path().join("curl-up.bin"), &up)
    };

    let lftp_passes = {
        let local = work.path().join("lftp.bin");
        let done = run(
            &mut lftp(
                server.port(),
                &format!(
                    "get file.bin -o {}; put {} -o lftp-up.bin",
                    local.display(),
                    work.path().join("up.bin").display()
                ),
            ),
            PEER_TIMEOUT,
        );
        done.success()
            && byte_exact(&local, &want)
            && byte_exact(&root.path().join("lftp-up.bin"), &up)
    };

    let ftplib = python(
        FTPLIB_RETR,
        &[
            &server.port().to_string(),
            server.certs().cert().to_str().unwrap(),
        ],
    );
    ftplib.assert_success("python3 ftplib under --tls-require-reuse");
    let said = String::from_utf8_lossy(&ftplib.stdout).into_owned();
    let ftplib_passes = said == format!("passed {}\n", want.len());
    if !ftplib_passes {
        // Refused exactly as RFC 4217 §9 says, and nothing leaked.
        assert!(
            said.starts_with("refused 522 ") && said.ends_with("\nbytes 0\n"),
            "{said}"
        );
    }

    let observed = [
        ("curl", curl_passes),
        ("lftp", lftp_passes),
        ("ftplib", ftplib_passes),
    ];
    assert_eq!(observed, REUSE_MATRIX, "server log:\n{}", server.log());
}

/// Plain clients on the implicit-TLS port: one that sends FTP in clear is
/// closed at once, one that waits for a greeting in clear (curl
/// `ftp://`) is closed by the handshake deadline; neither stops the
/// server serving TLS clients meanwhile and after.
fn implicit_port_refuses_plain_clients(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let out = temp_dir("out");
    let want = make_file(root.path(), "file.bin", 500_009, 4900);
    let mut server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            implicit: true,
            ..options()
        },
    );

    // A client that speaks FTP in clear: the handshake fails on its first
    // bytes, the connection closes with no FTP reply.
    {
        use std::io::{Read, Write};
        let mut raw = std::net::TcpStream::connect(server.ftps_addr()).unwrap();
        raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let started = Instant::now();
        raw.write_all(b"USER anonymous\r\n").unwrap();
        let mut got = Vec::new();
        let ended = raw.read_to_end(&mut got);
        assert!(
            ended.is_ok()
                || ended
                    .as_ref()
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
            "not closed within 10 s: {ended:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(!got.starts_with(b"220"), "a clear greeting: {got:?}");
    }

    // curl in clear on the implicit port waits for a greeting in clear
    // that never comes; the server must close it at its handshake
    // deadline rather than hold the session for ever.
    let waiting = Command::new(peer("curl"))
        .args(["--silent", "--show-error", "--max-time", "60"])
        .arg(format!("ftp://{}/file.bin", server.ftps_addr()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();

    // Meanwhile TLS clients are served, on both ports.
    for url in [server.ftps_url("file.bin"), server.url("file.bin")] {
        let local = out.path().join("got.bin");
        let mut cmd = if url.starts_with("ftps:") {
            let mut c = curl(60);
            c.arg("-k");
            c
        } else {
            curl_tls(60)
        };
        run(cmd.arg("-o").arg(&local).arg(&url), PEER_TIMEOUT)
            .assert_success("curl beside a plain client on the implicit port");
        assert_file_eq(&local, &want);
    }

    let waited = waiting.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    assert!(
        !waited.status.success(),
        "curl ftp:// to the implicit port succeeded"
    );
    assert!(waited.stdout.is_empty());
    assert_ne!(
        waited.status.code(),
        Some(CURLE_OPERATION_TIMEDOUT),
        "the server held a silent plain client for {elapsed:?}: {}",
        String::from_utf8_lossy(&waited.stderr)
    );
    assert!(server.running(), "the server exited");

    // And after it, still serving.
    let local = out.path().join("after.bin");
    run(
        curl(60)
            .arg("-k")
            .arg("-o")
            .arg(&local)
            .arg(server.ftps_url("file.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("curl ftps:// after the plain clients");
    assert_file_eq(&local, &want);
    assert!(
        server.log().contains("TLS handshake failed"),
        "no log line for the failed handshakes:\n{}",
        server.log()
    );
}

/// 50 threads, each with its own FTP_TLS session: all log in and turn on
/// PROT P, wait for one another (so all 50 TLS sessions are open at
/// once), then each downloads its own file and uploads it back under
/// another name. Run as `python3 -c SCRIPT PORT CAFILE N`; prints each
/// downloaded file's SHA-256 in order.
const FIFTY_SESSIONS: &str = r#"
import ftplib, hashlib, io, ssl, sys, threading

port, cafile, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=cafile)
barrier = threading.Barrier(n, timeout=60)
results = [None] * n

def session(i):
    try:
        ftp = ftplib.FTP_TLS(context=ctx, timeout=60)
        ftp.connect('127.0.0.1', port)
        ftp.login()
        ftp.prot_p()
        ftp.voidcmd('TYPE I')
        barrier.wait()
        chunks = []
        ftp.retrbinary('RETR file-%02d.bin' % i, chunks.append)
        data = b''.join(chunks)
        ftp.storbinary('STOR back-%02d.bin' % i, io.BytesIO(data))
        ftp.quit()
        results[i] = hashlib.sha256(data).hexdigest()
    except Exception as e:
        results[i] = 'error: %r' % e
        barrier.abort()

threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for r in results:
    print(r)
"#;

const SESSIONS: usize = 50;

fn fifty_tls_sessions_at_once(driver: Driver) {
    require_peer!("python3");
    let root = temp_dir("root");
    let files: Vec<Vec<u8>> = (0..SESSIONS)
        .map(|i| {
            make_file(
                root.path(),
                &format!("file-{i:02}.bin"),
                200_000 + i * 1_013,
                5000 + i as u64,
            )
        })
        .collect();
    let server = FtpsServer::start(
        driver,
        root.path(),
        FtpsOptions {
            write: true,
            require_tls: true,
            ..options()
        },
    );
    let done = python(
        FIFTY_SESSIONS,
        &[
            &server.port().to_string(),
            server.certs().cert().to_str().unwrap(),
            &SESSIONS.to_string(),
        ],
    );
    done.assert_success("python3 50 FTP_TLS sessions");
    let want: String = files.iter().map(|f| sha256_hex(f) + "\n").collect();
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        want,
        "{}",
        done.stderr
    );
    for (i, file) in files.iter().enumerate() {
        assert_file_eq(&root.path().join(format!("back-{i:02}.bin")), file);
    }
}

ferry_interop::driver_tests!(
    curl_explicit_retr,
    curl_explicit_stor,
    curl_explicit_list,
    curl_implicit,
    python_ftplib_tls,
    lftp_mirror_down_and_up,
    plain_data_connection_after_prot_p_gets_no_file_bytes,
    require_tls_refuses_clear_logins_and_clear_data,
    tls_require_reuse_matrix,
    implicit_port_refuses_plain_clients,
    fifty_tls_sessions_at_once,
);
