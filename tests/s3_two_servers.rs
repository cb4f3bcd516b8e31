//! Two ferry servers, A and B, in front of one bucket (SeaweedFS, one per
//! test binary), as a fleet of stateless servers would run: what one
//! writes the other reads byte-exact and lists the same; concurrent
//! uploads to one name through both leave exactly one of them whole; a
//! TFTP upload through one is read back through the other.
//!
//! Under the blocking driver only, until the event loop serves a bucket.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use ferry_interop::ftp::{connect_data, read_all, FtpServer};
use ferry_interop::seaweedfs::{bucket, get_object, open_uploads, s3_curl};
use ferry_interop::tftp::tftp_hpa;
use ferry_interop::{
    assert_bytes_eq, content, curl, require_peer, run, temp_dir, Driver, Launched, Service,
    PEER_TIMEOUT,
};

/// Two writable FTP servers under `driver` on the same bucket.
fn two_servers(bucket: &str, driver: Driver) -> (FtpServer, FtpServer) {
    let root = format!("s3://{bucket}");
    let a = FtpServer::start(driver, Path::new(&root), &["--write"]);
    let b = FtpServer::start(driver, Path::new(&root), &["--write"]);
    (a, b)
}

fn curl_put(server: &FtpServer, local: &Path, name: &str) {
    run(
        curl(120)
            .arg("--ftp-create-dirs")
            .arg("-T")
            .arg(local)
            .arg(server.url(name)),
        PEER_TIMEOUT,
    )
    .assert_success("curl put");
}

fn curl_get(server: &FtpServer, name: &str, local: &Path) -> Vec<u8> {
    run(
        curl(120).arg("-o").arg(local).arg(server.url(name)),
        PEER_TIMEOUT,
    )
    .assert_success("curl get");
    std::fs::read(local).unwrap()
}

/// The names a listing command (`LIST` or `MLSD`) gives for `dir`,
/// sorted.
fn listed(server: &FtpServer, command: &str, dir: &str) -> Vec<String> {
    let mut ctl = server.login();
    let addr = ctl.epsv();
    ctl.send(&format!("{command} {dir}"));
    let mut data = connect_data(addr);
    ctl.expect_code(150);
    let text = String::from_utf8(read_all(&mut data)).unwrap();
    ctl.expect_code(226);
    let mut names: Vec<String> = text
        .lines()
        .map(|line| match command {
            // `fact=value;fact=value; name`
            "MLSD" => line.split_once("; ").expect("MLSD line").1.to_owned(),
            // `-rw-r--r-- 1 owner group size month day time name`
            _ => line
                .split_whitespace()
                .nth(8)
                .expect("LIST line")
                .to_owned(),
        })
        .filter(|name| name != "." && name != "..")
        .collect();
    names.sort();
    names
}

fn what_a_writes_b_reads_and_both_list_the_same(driver: Driver) {
    let bucket_name = format!("two-share-{driver}");
    require_peer!("curl");
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    let (a, b) = two_servers(&bucket_name, driver);
    let work = temp_dir("s3-two-share");

    // Small (one PUT) and large (multipart) files, through A, into a
    // tree of directories.
    let files = [
        ("top.txt", content(1, 1234)),
        ("img/boot.img", content(2, 17 * 1024 * 1024 + 3)),
        ("img/cfg/menu.cfg", content(3, 333)),
    ];
    for (name, bytes) in &files {
        let local = work.path().join(name.replace('/', "_"));
        std::fs::write(&local, bytes).unwrap();
        curl_put(&a, &local, name);
    }
    for (name, bytes) in &files {
        let got = curl_get(&b, name, &work.path().join("got"));
        assert_bytes_eq(&got, bytes, &format!("{name} through B"));
        assert_bytes_eq(
            &get_object(weed, &format!("{bucket_name}/{name}")).expect("object"),
            bytes,
            &format!("{name} through the S3 API"),
        );
    }

    // Both servers list the same tree, by either listing command.
    for (dir, want) in [
        ("/", &["img", "top.txt"][..]),
        ("/img", &["boot.img", "cfg"]),
        ("/img/cfg", &["menu.cfg"]),
    ] {
        for command in ["LIST", "MLSD"] {
            assert_eq!(listed(&a, command, dir), want, "{command} {dir} on A");
            assert_eq!(listed(&b, command, dir), want, "{command} {dir} on B");
        }
    }

    // A directory made through B, and a file deleted through B, are
    // seen so through A.
    let mut ctl = b.login();
    ctl.expect("MKD /img/new", 257);
    ctl.expect("DELE /top.txt", 250);
    assert_eq!(listed(&a, "MLSD", "/"), ["img"]);
    assert_eq!(listed(&a, "LIST", "/img"), ["boot.img", "cfg", "new"]);
    assert_eq!(open_uploads(weed, &bucket_name), 0);
}

fn eight_concurrent_uploads_to_one_name_leave_one_whole(driver: Driver) {
    let bucket_name = format!("two-race-{driver}");
    require_peer!("curl");
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    let (a, b) = two_servers(&bucket_name, driver);
    let work = temp_dir("s3-two-race");

    // Eight different contents, half small enough for one PUT, half
    // multipart (the part size is 8 MiB), each a different length.
    let contents: Vec<Vec<u8>> = (0..8u8)
        .map(|i| {
            let len = if i % 2 == 0 {
                1024 * 1024
            } else {
                9 * 1024 * 1024
            };
            content(40 + u64::from(i), len + usize::from(i))
        })
        .collect();
    let mut clients = Vec::new();
    for (i, bytes) in contents.iter().enumerate() {
        let local = work.path().join(format!("up{i}"));
        std::fs::write(&local, bytes).unwrap();
        let server = if i % 2 == 0 { &a } else { &b };
        let child = curl(120)
            .arg("-T")
            .arg(&local)
            .arg(server.url("same.bin"))
            .stdout(Stdio::null())
            .spawn()
            .expect("start curl");
        clients.push(child);
    }
    for mut child in clients {
        assert!(
            child.wait().unwrap().success(),
            "a concurrent upload failed"
        );
    }

    let stored = get_object(weed, &format!("{bucket_name}/same.bin")).expect("the object");
    let winner = contents
        .iter()
        .position(|bytes| *bytes == stored)
        .unwrap_or_else(|| {
            panic!(
                "the object ({} bytes) is none of the uploads whole",
                stored.len()
            )
        });
    for (server, label) in [(&a, "A"), (&b, "B")] {
        let got = curl_get(server, "same.bin", &work.path().join("got"));
        assert_bytes_eq(
            &got,
            &contents[winner],
            &format!("the surviving upload through {label}"),
        );
    }
    // One key, nothing partial beside it, no upload left open.
    let (code, body) = s3_curl(weed, &[], &format!("{bucket_name}?list-type=2"));
    assert_eq!(code, 200);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(body.matches("<Key>").count(), 1, "{body}");
    assert_eq!(open_uploads(weed, &bucket_name), 0);
}

fn a_tftp_upload_through_a_is_read_through_b(driver: Driver) {
    let _tftp = require_peer!("tftp");
    let bucket_name = format!("two-tftp-{driver}");
    let Some(weed) = bucket(&bucket_name) else {
        return;
    };
    let root = format!("s3://{bucket_name}");
    let root = Path::new(&root);
    let a = Launched::start(Service::Tftp, driver, root, &["--write"]);
    let b = Launched::start(Service::Tftp, driver, root, &[]);
    let work = temp_dir("s3-two-tftp");

    let upload = content(77, 700_001);
    let sent = work.path().join("sent.bin");
    std::fs::write(&sent, &upload).unwrap();
    run(
        &mut tftp_hpa(a.addr().port(), &["put", sent.to_str().unwrap(), "fw.bin"]),
        Duration::from_secs(120),
    )
    .assert_success("tftp put through A");
    let got = work.path().join("got.bin");
    run(
        &mut tftp_hpa(b.addr().port(), &["get", "fw.bin", got.to_str().unwrap()]),
        Duration::from_secs(120),
    )
    .assert_success("tftp get through B");
    assert_bytes_eq(&std::fs::read(&got).unwrap(), &upload, "WRQ on A, RRQ on B");
    assert_eq!(open_uploads(weed, &bucket_name), 0);
}

ferry_interop::driver_tests!(
    what_a_writes_b_reads_and_both_list_the_same,
    eight_concurrent_uploads_to_one_name_leave_one_whole,
    a_tftp_upload_through_a_is_read_through_b,
);
