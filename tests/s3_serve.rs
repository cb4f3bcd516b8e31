//! `ferry serve --root s3://BUCKET[/PREFIX]` at start-up, against a real
//! S3 server (SeaweedFS): every reason the bucket cannot be served stops
//! the server with exit 2 and says which, before anything is bound; TFTP
//! under both drivers then serves the bucket byte-exact.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use ferry_interop::seaweedfs::{
    free_port, get_object, make_bucket, open_uploads, put_object, weed, Weed, KEY, SECRET,
};
use ferry_interop::tftp::{atftp, tftp_hpa};
use ferry_interop::{
    assert_bytes_eq, content, ferry, require_peer, run, Driver, Launched, Service,
};

/// `ferry serve` on `root` with these AWS_* settings (others cleared) and
/// extra arguments.
fn serve(root: &str, env: &[(&str, &str)], extra: &[&str]) -> Output {
    let mut command = ferry();
    command
        .args([
            "serve",
            "--root",
            root,
            "--ftp",
            "127.0.0.1:0",
            "--tftp",
            "127.0.0.1:0",
        ])
        .args(extra);
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("run ferry serve")
}

fn assert_refused(output: &Output, reason: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(reason), "wanted {reason:?} in: {stderr}");
    assert!(!stderr.contains("listening"), "{stderr}");
}

#[test]
fn start_up_stops_with_exit_2_and_the_reason() {
    let Some(weed) = weed() else { return };
    make_bucket(weed, "served");
    let endpoint = weed.endpoint.as_str();
    let keys = [
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env: Vec<(&str, &str)> = keys.to_vec();
        env.extend_from_slice(extra);
        env
    };

    let missing = serve(
        "s3://no-such-bucket/x",
        &with(&[]),
        &["--s3-endpoint", endpoint],
    );
    assert_refused(&missing, "S3 bucket \"no-such-bucket\" does not exist");

    let wrong_secret = [
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", "wrong"),
    ];
    let refused = serve("s3://served", &wrong_secret, &["--s3-endpoint", endpoint]);
    assert_refused(&refused, "S3 credentials refused");

    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let unreachable = serve("s3://served", &with(&[]), &["--s3-endpoint", &nowhere]);
    assert_refused(&unreachable, "unreachable");

    let no_keys = serve("s3://served", &[], &["--s3-endpoint", endpoint]);
    assert_refused(&no_keys, "no S3 credentials");
    let no_endpoint = serve("s3://served", &with(&[]), &[]);
    assert_refused(&no_endpoint, "no S3 endpoint");
    assert_refused(
        &serve("s3://", &with(&[]), &["--s3-endpoint", endpoint]),
        "no bucket name",
    );

    // (The endpoint from AWS_ENDPOINT_URL is what the TFTP test below
    // serves with.)
}

/// The AWS_* settings of this process, for servers started with
/// `Launched` (which inherit them).
fn use_weed_env(weed: &Weed) {
    std::env::set_var("AWS_ENDPOINT_URL", &weed.endpoint);
    std::env::set_var("AWS_ACCESS_KEY_ID", KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET);
}

fn tftp_reads_and_writes_objects_byte_exact(driver: Driver) {
    let b = format!("boot-{driver}");
    let Some(weed) = weed() else { return };
    let _tftp = require_peer!("tftp");
    make_bucket(weed, &b);
    use_weed_env(weed);
    let image = content(7, 3 * 1024 * 1024 + 77);
    put_object(weed, &format!("{b}/pxe/images/vmlinuz"), &image);
    put_object(weed, &format!("{b}/bait.txt"), b"outside the prefix");
    let server = Launched::start(
        Service::Tftp,
        driver,
        Path::new(&format!("s3://{b}/pxe")),
        &["--write"],
    );
    let port = server.addr().port();
    let dir = tempfile::tempdir().unwrap();

    // RRQ: the object, byte-exact.
    let local = dir.path().join("vmlinuz");
    run(
        &mut tftp_hpa(port, &["get", "images/vmlinuz", local.to_str().unwrap()]),
        Duration::from_secs(120),
    )
    .assert_success("tftp get");
    assert_bytes_eq(&std::fs::read(&local).unwrap(), &image, "RRQ of an object");

    // WRQ: a new object, visible whole.
    let upload = content(9, 200_000);
    let sent = dir.path().join("upload.bin");
    std::fs::write(&sent, &upload).unwrap();
    run(
        &mut tftp_hpa(port, &["put", sent.to_str().unwrap(), "images/new.bin"]),
        Duration::from_secs(60),
    )
    .assert_success("tftp put");
    assert_bytes_eq(
        &get_object(weed, &format!("{b}/pxe/images/new.bin")).expect("uploaded object"),
        &upload,
        "WRQ into an object",
    );

    // No name leads out of the prefix.
    for name in ["../bait.txt", "/../bait.txt", "images/../../bait.txt"] {
        let got = dir.path().join("bait");
        let _ = std::fs::remove_file(&got);
        run(
            &mut tftp_hpa(port, &["get", name, got.to_str().unwrap()]),
            Duration::from_secs(30),
        );
        let bytes = std::fs::read(&got).unwrap_or_default();
        assert!(!bytes.starts_with(b"outside"), "{name} reached the bait");
    }
    assert_eq!(open_uploads(weed, &b), 0);
}

/// atftp sends exactly the options it is given: blksize 1468 with
/// windowsize 4, as netboot firmware asks, both ways through a bucket.
fn atftp_reads_and_writes_objects_with_windows(driver: Driver) {
    let b = format!("windows-{driver}");
    let Some(weed) = weed() else { return };
    let _atftp = require_peer!("atftp");
    make_bucket(weed, &b);
    use_weed_env(weed);
    let image = content(11, 5 * 1024 * 1024 + 1468 * 3);
    put_object(weed, &format!("{b}/kernel.img"), &image);
    let server = Launched::start(
        Service::Tftp,
        driver,
        Path::new(&format!("s3://{b}")),
        &["--write"],
    );
    let port = server.addr().port();
    let dir = tempfile::tempdir().unwrap();

    let local = dir.path().join("kernel.img");
    run(
        atftp(port, 1468, Some(4))
            .args(["-g", "-r", "kernel.img", "-l"])
            .arg(&local),
        Duration::from_secs(120),
    )
    .assert_success("atftp get");
    assert_bytes_eq(
        &std::fs::read(&local).unwrap(),
        &image,
        "atftp RRQ of an object",
    );

    let upload = content(12, 1468 * 700);
    let sent = dir.path().join("up.bin");
    std::fs::write(&sent, &upload).unwrap();
    run(
        atftp(port, 1468, Some(4))
            .args(["-p", "-r", "up.bin", "-l"])
            .arg(&sent),
        Duration::from_secs(120),
    )
    .assert_success("atftp put");
    assert_bytes_eq(
        &get_object(weed, &format!("{b}/up.bin")).expect("uploaded object"),
        &upload,
        "atftp WRQ into an object",
    );
    assert_eq!(open_uploads(weed, &b), 0);
}

fn an_abandoned_tftp_upload_leaves_the_old_object_and_no_open_upload(driver: Driver) {
    let b = format!("cutwrq-{driver}");
    let Some(weed) = weed() else { return };
    make_bucket(weed, &b);
    use_weed_env(weed);
    put_object(weed, &format!("{b}/fw.bin"), b"old firmware");
    let server = Launched::start(
        Service::Tftp,
        driver,
        Path::new(&format!("s3://{b}")),
        &["--write"],
    );
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    std::fs::write(&big, content(3, 64 * 1024 * 1024)).unwrap();
    let url = format!("tftp://{}/fw.bin", server.addr());
    let mut client = ferry()
        .args([
            "put",
            big.to_str().unwrap(),
            &url,
            "--blksize",
            "8192",
            "--windowsize",
            "8",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Cut the client once parts went to S3 (more than one part's worth
    // was received), well before the end.
    let started = std::time::Instant::now();
    while open_uploads(weed, &b) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no multipart upload began"
        );
        assert!(
            client.try_wait().unwrap().is_none(),
            "the upload ended before the cut"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    client.kill().unwrap();
    client.wait().unwrap();
    // The server gives up on the silent client and aborts the upload.
    let cut = std::time::Instant::now();
    while open_uploads(weed, &b) != 0 {
        assert!(
            cut.elapsed() < Duration::from_secs(90),
            "multipart upload still open\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        get_object(weed, &format!("{b}/fw.bin")).unwrap(),
        b"old firmware"
    );
}

ferry_interop::driver_tests!(
    tftp_reads_and_writes_objects_byte_exact,
    atftp_reads_and_writes_objects_with_windows,
    an_abandoned_tftp_upload_leaves_the_old_object_and_no_open_upload,
);

/// The default driver with both servers on one bucket (`ferry serve
/// --root s3://...`, no `--no-tftp`): FTP on the loop and TFTP beside
/// it both read the object byte-exact, and one SIGTERM stops both.
#[test]
fn the_event_loop_serves_both_protocols_on_a_bucket_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let Some(weed) = weed() else { return };
    let _tftp = require_peer!("tftp");
    let _curl = require_peer!("curl");
    make_bucket(weed, "both");
    use_weed_env(weed);
    let image = content(13, 2 * 1024 * 1024 + 99);
    put_object(weed, "both/boot.img", &image);
    let mut child = ferry()
        .args(["serve", "--root", "s3://both", "--ftp", "127.0.0.1:0"])
        .args(["--tftp", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferry serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut ftp, mut tftp) = (None, None);
    while ftp.is_none() || tftp.is_none() {
        let line = lines.next().expect("the listening lines").unwrap();
        if let Some(addr) = line.strip_prefix("ferry: ftp listening on ") {
            ftp = Some(addr.parse::<std::net::SocketAddr>().unwrap());
        }
        if let Some(addr) = line.strip_prefix("ferry: tftp listening on ") {
            tftp = Some(addr.parse::<std::net::SocketAddr>().unwrap());
        }
    }
    // The log must keep draining, or the server blocks on a full pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let dir = tempfile::tempdir().unwrap();
    let by_ftp = dir.path().join("ftp.img");
    run(
        ferry_interop::curl(60)
            .arg("-o")
            .arg(&by_ftp)
            .arg(format!("ftp://{}/boot.img", ftp.unwrap())),
        Duration::from_secs(60),
    )
    .assert_success("curl get");
    assert_bytes_eq(&std::fs::read(&by_ftp).unwrap(), &image, "RETR under mio");
    let by_tftp = dir.path().join("tftp.img");
    run(
        &mut tftp_hpa(
            tftp.unwrap().port(),
            &["get", "boot.img", by_tftp.to_str().unwrap()],
        ),
        Duration::from_secs(60),
    )
    .assert_success("tftp get");
    assert_bytes_eq(&std::fs::read(&by_tftp).unwrap(), &image, "RRQ beside mio");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "ferry serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = drain.join().unwrap().join("\n");
    assert!(status.success(), "{status}\n{log}");
}
