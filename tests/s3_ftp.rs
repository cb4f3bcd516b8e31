//! FTP over `ferry serve --root s3://BUCKET[/PREFIX]`, under both
//! drivers, against a real S3 server (SeaweedFS, one per test binary):
//! curl (in clear and explicit FTPS), Python's ftplib and lftp
//! byte-exact; what object storage cannot do answered 553; a cut
//! upload leaving the old object and no open multipart upload; no name
//! reaching a key outside the prefix or a user's home.
//!
//! What the server wrote is read back through the S3 API with curl's own
//! signing, not through ferry.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ferry_interop::ftp::{
    connect_data, lftp, marked_file, put_with_markers, read_all, reset, tree, FtpServer,
};
use ferry_interop::ftps::{curl_tls, FtpsOptions, FtpsServer};
use ferry_interop::seaweedfs::{bucket, get_object, open_uploads, put_object, s3_curl, Weed};
use ferry_interop::{
    assert_bytes_eq, content, curl, make_file, require_peer, run, temp_dir, Driver, PEER_TIMEOUT,
};

fn peer(name: &str) -> PathBuf {
    ferry_interop::find_program(name).expect("peer checked by require_peer! first")
}

/// A bucket name of its own for each test and driver.
fn name(test: &str, driver: Driver) -> String {
    format!("{test}-{}", driver.name())
}

fn serve(driver: Driver, root: &str, extra: &[&str]) -> FtpServer {
    FtpServer::start(driver, Path::new(root), extra)
}

/// The keys of `bucket` under `prefix`, as the S3 API lists them.
fn keys(weed: &Weed, bucket: &str, prefix: &str) -> Vec<String> {
    let prefix = prefix.replace('/', "%2F");
    let (code, body) = s3_curl(weed, &[], &format!("{bucket}?list-type=2&prefix={prefix}"));
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let body = String::from_utf8_lossy(&body);
    let mut keys: Vec<String> = body
        .split("<Key>")
        .skip(1)
        .filter_map(|rest| rest.split("</Key>").next())
        .map(str::to_owned)
        .collect();
    keys.sort();
    keys
}

fn curl_gets_and_puts_objects_byte_exact(driver: Driver) {
    require_peer!("curl");
    let bucket_name = name("curl", driver);
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    let image = content(11, 9 * 1024 * 1024 + 5);
    put_object(weed, &format!("{bucket_name}/pub/image.bin"), &image);
    let server = serve(driver, &format!("s3://{bucket_name}/pub"), &["--write"]);
    let work = temp_dir("s3-curl");

    // RETR: the object, whole; REST 1000 (curl's range): the rest of it.
    let out = work.path().join("image.bin");
    run(
        curl(120).arg("-o").arg(&out).arg(server.url("image.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("curl get");
    assert_bytes_eq(&std::fs::read(&out).unwrap(), &image, "RETR of an object");
    let tail = work.path().join("tail.bin");
    run(
        curl(120)
            .args(["-r", "1000-", "-o"])
            .arg(&tail)
            .arg(server.url("image.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("curl ranged get");
    assert_bytes_eq(
        &std::fs::read(&tail).unwrap(),
        &image[1000..],
        "REST then RETR of an object",
    );

    // SIZE and MDTM from the object's metadata.
    let head = run(
        curl(120).arg("-I").arg(server.url("image.bin")),
        PEER_TIMEOUT,
    );
    head.assert_success("curl -I");
    let head = String::from_utf8_lossy(&head.stdout).into_owned();
    assert!(
        head.contains(&format!("Content-Length: {}", image.len())),
        "{head}"
    );
    assert!(head.contains("Last-Modified: "), "{head}");

    // STOR: small (one PUT) and large (multipart, 8 MiB parts), each
    // visible whole under its name; an upload into a new directory path
    // that does not exist is refused.
    for (file, len) in [("small.txt", 1234), ("large.bin", 17 * 1024 * 1024 + 3)] {
        let bytes = make_file(work.path(), file, len, len as u64);
        run(
            curl(120)
                .arg("-T")
                .arg(work.path().join(file))
                .arg(server.url(&format!("up/{file}")))
                .arg("--ftp-create-dirs"),
            PEER_TIMEOUT,
        )
        .assert_success("curl put");
        assert_bytes_eq(
            &get_object(weed, &format!("{bucket_name}/pub/up/{file}")).expect("uploaded object"),
            &bytes,
            "STOR into an object",
        );
    }
    assert_eq!(open_uploads(weed, &bucket_name), 0);
}

fn ftps_gets_and_puts_objects_byte_exact(driver: Driver) {
    require_peer!("curl");
    let bucket_name = name("ftps", driver);
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    // More than one part each way, no multiple of a TLS record.
    let image = content(21, 9 * 1024 * 1024 + 7);
    put_object(weed, &format!("{bucket_name}/tls/image.bin"), &image);
    let root = format!("s3://{bucket_name}/tls");
    let options = FtpsOptions {
        write: true,
        require_tls: true,
        ..FtpsOptions::default()
    };
    let server = FtpsServer::start(driver, Path::new(&root), options);
    let work = temp_dir("s3-ftps");

    let out = work.path().join("image.bin");
    let done = run(
        curl_tls(120)
            .arg("-o")
            .arg(&out)
            .arg(server.url("image.bin")),
        PEER_TIMEOUT,
    );
    done.assert_success("curl --ssl-reqd RETR");
    assert!(done.stderr.contains("\n> PROT P\r\n"), "{}", done.stderr);
    assert_bytes_eq(&std::fs::read(&out).unwrap(), &image, "RETR under TLS");

    let bytes = make_file(work.path(), "up.bin", 17 * 1024 * 1024 + 9, 33);
    let done = run(
        curl_tls(120)
            .arg("-T")
            .arg(work.path().join("up.bin"))
            .arg(server.url("up.bin")),
        PEER_TIMEOUT,
    );
    done.assert_success("curl --ssl-reqd STOR");
    assert!(done.stderr.contains("\n< 226"), "{}", done.stderr);
    assert_bytes_eq(
        &get_object(weed, &format!("{bucket_name}/tls/up.bin")).expect("uploaded object"),
        &bytes,
        "STOR under TLS",
    );
    assert_eq!(open_uploads(weed, &bucket_name), 0);
}

fn what_object_storage_cannot_do_gets_553(driver: Driver) {
    let bucket_name = name("limits", driver);
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    put_object(weed, &format!("{bucket_name}/log.txt"), b"old log\n");
    let server = serve(driver, &format!("s3://{bucket_name}"), &["--write"]);
    let mut ctl = server.login();
    let limitation = "Not supported on object storage";
    for commands in [
        &["APPE log.txt"][..],
        &["REST 4", "STOR log.txt"],
        &["STOU"],
    ] {
        let _ = ctl.epsv();
        let (last, first) = commands.split_last().unwrap();
        for command in first {
            ctl.expect(command, 350);
        }
        let reply = ctl.cmd(last);
        assert!(
            reply.code == 553 && reply.text().starts_with(limitation),
            "{last}: {} {}",
            reply.code,
            reply.text()
        );
    }
    let reply = ctl.cmd("MFMT 20200101000000 log.txt");
    assert!(
        reply.code == 553 && reply.text().starts_with(limitation),
        "{}",
        reply.text()
    );
    ctl.expect("NOOP", 200);
    assert_eq!(
        get_object(weed, &format!("{bucket_name}/log.txt")).unwrap(),
        b"old log\n"
    );
    assert_eq!(keys(weed, &bucket_name, ""), ["log.txt"]);
}

const FTPLIB_SCRIPT: &str = r#"
import ftplib, io, sys
port = int(sys.argv[1])
ftp = ftplib.FTP()
ftp.connect('127.0.0.1', port, timeout=30)
ftp.login()
def refused(f, *args):
    try:
        f(*args)
    except ftplib.error_perm as e:
        return str(e)[:3]
    return 'done'
ftp.mkd('docs')
assert refused(ftp.mkd, 'docs') == '550'
assert refused(ftp.mkd, 'no/such/parent') == '550'
ftp.cwd('docs')
assert ftp.pwd() == '/docs', ftp.pwd()
ftp.storbinary('STOR a.txt', io.BytesIO(b'alpha\n'))
ftp.storbinary('STOR b.txt', io.BytesIO(b'bravo bravo\n'))
ftp.mkd('inner')
assert sorted(ftp.nlst()) == ['a.txt', 'b.txt', 'inner'], ftp.nlst()
facts = {name: f for name, f in ftp.mlsd(facts=['type', 'size'])}
assert facts['a.txt']['type'] == 'file' and facts['a.txt']['size'] == '6', facts
assert facts['inner']['type'] == 'dir', facts
lines = []
ftp.retrlines('LIST', lines.append)
assert len(lines) == 3 and lines[0].startswith('-') and lines[2].startswith('d'), lines
assert ftp.size('b.txt') == 12
assert ftp.sendcmd('MDTM a.txt').startswith('213 ')
assert ftp.sendcmd('MLST a.txt').startswith('250')
ftp.rename('a.txt', 'c.txt')
assert sorted(ftp.nlst()) == ['b.txt', 'c.txt', 'inner'], ftp.nlst()
got = io.BytesIO()
ftp.retrbinary('RETR c.txt', got.write)
assert got.getvalue() == b'alpha\n'
assert refused(ftp.rename, 'inner', 'outer') == '550'
assert refused(ftp.rmd, '/docs') == '550'
assert refused(ftp.delete, 'inner') == '550'
assert refused(ftp.delete, 'gone.txt') == '550'
assert refused(ftp.cwd, 'gone') == '550'
assert refused(ftp.cwd, 'c.txt') == '550'
ftp.rmd('inner')
ftp.delete('b.txt')
ftp.cwd('/')
ftp.rename('docs/c.txt', 'top.txt')
ftp.rmd('docs')
assert ftp.nlst() == ['top.txt'], ftp.nlst()
ftp.quit()
print('ok')
"#;

fn ftplib_lists_makes_and_removes(driver: Driver) {
    require_peer!("python3");
    let bucket_name = name("ftplib", driver);
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    let server = serve(driver, &format!("s3://{bucket_name}/site"), &["--write"]);
    let work = temp_dir("s3-ftplib");
    let script = work.path().join("ftplib_s3.py");
    std::fs::write(&script, FTPLIB_SCRIPT).unwrap();
    let done = run(
        Command::new(peer("python3"))
            .arg(&script)
            .arg(server.port().to_string()),
        PEER_TIMEOUT * 2,
    );
    done.assert_success("python3 ftplib script");
    assert_eq!(String::from_utf8_lossy(&done.stdout), "ok\n");
    assert_eq!(keys(weed, &bucket_name, ""), ["site/top.txt"]);
    assert_eq!(
        get_object(weed, &format!("{bucket_name}/site/top.txt")).unwrap(),
        b"alpha\n"
    );
}

/// 30 small files in a few levels of directories, one of 9 MiB (a
/// multipart upload) and an empty directory.
fn mirror_tree(root: &Path) {
    for i in 0..30 {
        let dir = match i % 3 {
            0 => PathBuf::new(),
            1 => PathBuf::from("docs/nested"),
            _ => PathBuf::from("src"),
        };
        std::fs::create_dir_all(root.join(&dir)).unwrap();
        make_file(
            &root.join(&dir),
            &format!("file-{i:02}.dat"),
            i * 307,
            2400 + i as u64,
        );
    }
    make_file(&root.join("src"), "large.bin", (9 << 20) + 1, 2500);
    std::fs::create_dir(root.join("empty")).unwrap();
}

fn lftp_mirrors_up_into_and_down_from_a_bucket(driver: Driver) {
    require_peer!("lftp");
    let bucket_name = name("lftp", driver);
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    let source = temp_dir("s3-mirror-source");
    mirror_tree(source.path());
    let want = tree(source.path());
    let server = serve(driver, &format!("s3://{bucket_name}/m"), &["--write"]);
    run(
        &mut lftp(
            &server,
            &format!("mirror -R --no-perms {} /", source.path().display()),
        ),
        PEER_TIMEOUT * 3,
    )
    .assert_success("lftp mirror -R");
    let stored = keys(weed, &bucket_name, "m/");
    assert!(stored.contains(&"m/empty/".to_owned()), "{stored:?}");
    assert!(stored.contains(&"m/src/large.bin".to_owned()), "{stored:?}");

    let local = temp_dir("s3-mirror-local");
    let target = local.path().join("copy");
    run(
        &mut lftp(&server, &format!("mirror / {}", target.display())),
        PEER_TIMEOUT * 3,
    )
    .assert_success("lftp mirror");
    assert_eq!(tree(&target), want, "tree through the bucket and back");
    assert_eq!(open_uploads(weed, &bucket_name), 0);
}

fn a_stor_cut_by_a_reset_leaves_the_old_object_and_no_open_upload(driver: Driver) {
    let bucket_name = name("cut", driver);
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    put_object(weed, &format!("{bucket_name}/fw.bin"), b"old firmware");
    let server = serve(driver, &format!("s3://{bucket_name}"), &["--write"]);
    let mut ctl = server.login();
    ctl.expect("TYPE I", 200);
    let addr = ctl.epsv();
    ctl.send("STOR fw.bin");
    let mut data = connect_data(addr);
    ctl.expect_code(150);
    // More than two parts' worth, then a reset once a part went to S3.
    let chunk = content(5, 1024 * 1024);
    let started = Instant::now();
    let mut sent = 0;
    while open_uploads(weed, &bucket_name) == 0 || sent < 20 {
        data.write_all(&chunk).unwrap();
        sent += 1;
        assert!(
            started.elapsed() < Duration::from_secs(60) && sent < 200,
            "no multipart upload began"
        );
    }
    reset(data);
    let reply = ctl.reply();
    assert_eq!(reply.code, 426, "{}", reply.text());
    let cut = Instant::now();
    while open_uploads(weed, &bucket_name) != 0 {
        assert!(
            cut.elapsed() < Duration::from_secs(30),
            "multipart upload still open\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        get_object(weed, &format!("{bucket_name}/fw.bin")).unwrap(),
        b"old firmware"
    );
    assert_eq!(keys(weed, &bucket_name, ""), ["fw.bin"]);

    // A new name cut the same way leaves nothing at all.
    let addr = ctl.epsv();
    ctl.send("STOR new.bin");
    let mut data = connect_data(addr);
    ctl.expect_code(150);
    for _ in 0..12 {
        data.write_all(&chunk).unwrap();
    }
    reset(data);
    assert_eq!(ctl.reply().code, 426);
    let cut = Instant::now();
    while open_uploads(weed, &bucket_name) != 0 {
        assert!(cut.elapsed() < Duration::from_secs(30), "upload still open");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(keys(weed, &bucket_name, ""), ["fw.bin"]);
}

fn no_name_reaches_keys_outside_the_prefix_or_the_home(driver: Driver) {
    let bucket_name = name("jail", driver);
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    let b = &bucket_name;
    put_object(weed, &format!("{b}/bait.txt"), b"outside the prefix");
    put_object(weed, &format!("{b}/srv-bait.txt"), b"beside the prefix");
    put_object(weed, &format!("{b}/srv/pub.txt"), b"public");
    put_object(weed, &format!("{b}/srv/alice/mine.txt"), b"alice's");
    put_object(weed, &format!("{b}/srv/bob/secret.txt"), b"bob's secret");
    let work = temp_dir("s3-jail");
    let users = work.path().join("users");
    std::fs::write(
        &users,
        ferry_users::user_line("alice", "s3cret", "/alice", true).unwrap() + "\n",
    )
    .unwrap();
    let server = serve(
        driver,
        &format!("s3://{b}/srv"),
        &["--write", "--anonymous", "--users", users.to_str().unwrap()],
    );

    let baits = [
        "../bait.txt",
        "/../bait.txt",
        "../../bait.txt",
        "..\\bait.txt",
        "%2e%2e/bait.txt",
        "../srv-bait.txt",
        "/../srv-bait.txt",
        "bob/../../bait.txt",
    ];
    let mut ctl = server.login();
    for bait in baits {
        let reply = ctl.cmd(&format!("SIZE {bait}"));
        assert!(reply.code >= 500, "SIZE {bait}: {}", reply.text());
        let addr = ctl.epsv();
        ctl.send(&format!("RETR {bait}"));
        let reply = ctl.reply();
        if reply.code == 150 {
            let got = read_all(&mut connect_data(addr));
            panic!("RETR {bait} sent {got:?}");
        }
        assert!(reply.code >= 500, "RETR {bait}: {}", reply.text());
        let reply = ctl.cmd(&format!("CWD {bait}"));
        assert!(reply.code >= 500, "CWD {bait}: {}", reply.text());
    }
    // CWD .. at the top stays at the top; the listing is the prefix's.
    ctl.expect("CWD ..", 250);
    ctl.expect("CWD /..", 250);
    let addr = ctl.epsv();
    ctl.send("NLST");
    let mut data = connect_data(addr);
    ctl.expect_code(150);
    let listing = String::from_utf8(read_all(&mut data)).unwrap();
    ctl.expect_code(226);
    let mut names: Vec<&str> = listing.lines().collect();
    names.sort();
    assert_eq!(names, ["alice", "bob", "pub.txt"]);

    // alice's home is the sub-prefix srv/alice/: nothing above it.
    let mut alice = server.connect();
    alice.expect("USER alice", 331);
    alice.expect("PASS s3cret", 230);
    let reply = alice.cmd("PWD");
    assert!(reply.text().contains("\"/\""), "{}", reply.text());
    alice.expect("SIZE mine.txt", 213);
    for bait in [
        "../bob/secret.txt",
        "/../bob/secret.txt",
        "../pub.txt",
        "../../bait.txt",
    ] {
        let reply = alice.cmd(&format!("SIZE {bait}"));
        assert!(reply.code >= 500, "SIZE {bait}: {}", reply.text());
        let reply = alice.cmd(&format!("DELE {bait}"));
        assert!(reply.code >= 500, "DELE {bait}: {}", reply.text());
    }
    // `..` at the top of the home stays there: the rename lands inside it.
    alice.expect("RNFR mine.txt", 350);
    alice.expect("RNTO ../moved.txt", 250);

    let mut all = keys(weed, b, "");
    all.sort();
    assert_eq!(
        all,
        [
            "bait.txt",
            "srv-bait.txt",
            "srv/alice/moved.txt",
            "srv/bob/secret.txt",
            "srv/pub.txt"
        ]
    );
}

/// Restart markers of a MODE B or C upload into a bucket get their 110s
/// as on a local disk (under the event loop the object's parts are written
/// on a thread of their own, which hands the markers back), and the
/// object is stored whole.
fn marked_uploads_into_a_bucket_get_their_110s(driver: Driver) {
    let bucket_name = name("marks", driver);
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    let work = temp_dir("s3-marks");
    let file = marked_file();
    std::fs::write(work.path().join("up.bin"), &file).unwrap();
    let server = serve(driver, &format!("s3://{bucket_name}"), &["--write"]);
    for mode in ["block", "compressed"] {
        let key = format!("{mode}.bin");
        put_with_markers(work.path(), "up.bin", &server.url(&key), mode);
        assert_bytes_eq(
            &get_object(weed, &format!("{bucket_name}/{key}")).expect("stored object"),
            &file,
            "marked upload",
        );
    }
}

ferry_interop::driver_tests!(
    marked_uploads_into_a_bucket_get_their_110s,
    curl_gets_and_puts_objects_byte_exact,
    ftps_gets_and_puts_objects_byte_exact,
    what_object_storage_cannot_do_gets_553,
    ftplib_lists_makes_and_removes,
    lftp_mirrors_up_into_and_down_from_a_bucket,
    a_stor_cut_by_a_reset_leaves_the_old_object_and_no_open_upload,
    no_name_reaches_keys_outside_the_prefix_or_the_home,
);
