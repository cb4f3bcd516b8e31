//! ferry's TFTP server (`ferry serve`) against real clients: tftp-hpa,
//! atftp and curl, on 127.0.0.1. Every transfer is checked byte for byte.

use std::path::Path;

use ferry_interop::tftp::{atftp, tftp_hpa};
use ferry_interop::{
    assert_bytes_eq, assert_file_eq, curl, ferry, make_file, require_peer, run, temp_dir, Driver,
    FerryServer, PEER_TIMEOUT,
};

/// A size that is an exact multiple of the block size (so the transfer
/// ends with a zero-length DATA), one of about 3 MB that is not, and an
/// empty file (a single zero-length DATA).
fn sizes(blksize: usize) -> [(String, usize); 3] {
    [
        (format!("multiple-{blksize}.bin"), blksize * 300),
        (format!("large-{blksize}.bin"), 3_000_000 + 17),
        (format!("empty-{blksize}.bin"), 0),
    ]
}

// ---------------------------------------------------------------------------
// tftp-hpa: no options at all, so 512-byte lock-step blocks.

fn tftp_hpa_get(driver: Driver) {
    require_peer!("tftp");
    let root = temp_dir("root");
    let out = temp_dir("out");
    let server = FerryServer::read_only(driver, root.path());
    for (seed, (name, len)) in sizes(512).into_iter().enumerate() {
        let want = make_file(root.path(), &name, len, seed as u64);
        let local = out.path().join(&name);
        let done = run(
            &mut tftp_hpa(server.port(), &["get", &name, local.to_str().unwrap()]),
            PEER_TIMEOUT,
        );
        // tftp-hpa exits 0 even when the server sends an ERROR: judge by
        // what it printed and by the bytes.
        done.assert_success("tftp-hpa get");
        assert!(done.stderr.is_empty(), "tftp-hpa: {}", done.stderr);
        assert_file_eq(&local, &want);
    }
}

fn tftp_hpa_put(driver: Driver) {
    require_peer!("tftp");
    let root = temp_dir("root");
    let src = temp_dir("src");
    let server = FerryServer::writable(driver, root.path());
    for (seed, (name, len)) in sizes(512).into_iter().enumerate() {
        let want = make_file(src.path(), &name, len, 100 + seed as u64);
        let local = src.path().join(&name);
        let done = run(
            &mut tftp_hpa(server.port(), &["put", local.to_str().unwrap(), &name]),
            PEER_TIMEOUT,
        );
        done.assert_success("tftp-hpa put");
        assert!(done.stderr.is_empty(), "tftp-hpa: {}", done.stderr);
        assert_file_eq(&root.path().join(&name), &want);
    }
}

// ---------------------------------------------------------------------------
// atftp: sends exactly the options it is given, including windowsize.

fn atftp_get_and_put(driver: Driver, blksize: u16, windowsize: Option<u16>) {
    let root = temp_dir("root");
    let server = FerryServer::writable(driver, root.path());
    let work = temp_dir("work");
    for (seed, (name, len)) in sizes(blksize as usize).into_iter().enumerate() {
        // Get.
        let want = make_file(root.path(), &name, len, 200 + seed as u64);
        let local = work.path().join(format!("got-{name}"));
        run(
            atftp(server.port(), blksize, windowsize)
                .args(["-g", "-r", &name, "-l"])
                .arg(&local),
            PEER_TIMEOUT,
        )
        .assert_success("atftp get");
        assert_file_eq(&local, &want);

        // Put, under another name.
        let upload = make_file(work.path(), &format!("up-{name}"), len, 300 + seed as u64);
        let remote = format!("put-{name}");
        run(
            atftp(server.port(), blksize, windowsize)
                .args(["-p", "-r", &remote, "-l"])
                .arg(work.path().join(format!("up-{name}"))),
            PEER_TIMEOUT,
        )
        .assert_success("atftp put");
        assert_file_eq(&root.path().join(&remote), &upload);
    }
}

fn atftp_blksize_1468(driver: Driver) {
    require_peer!("atftp");
    atftp_get_and_put(driver, 1468, None);
}

fn atftp_blksize_8192(driver: Driver) {
    require_peer!("atftp");
    atftp_get_and_put(driver, 8192, None);
}

fn atftp_blksize_1468_windowsize_8(driver: Driver) {
    require_peer!("atftp");
    atftp_get_and_put(driver, 1468, Some(8));
}

fn atftp_blksize_8192_windowsize_16(driver: Driver) {
    require_peer!("atftp");
    atftp_get_and_put(driver, 8192, Some(16));
}

/// Requests that name something outside the root get an ERROR and no
/// bytes: a `..` path and an absolute path to a file that exists.
fn atftp_cannot_escape_root(driver: Driver) {
    require_peer!("atftp");
    let base = temp_dir("jail");
    let root = base.path().join("root");
    std::fs::create_dir(&root).unwrap();
    make_file(base.path(), "secret", 4000, 7);
    let secret = base.path().join("secret");
    let work = temp_dir("work");
    let server = FerryServer::writable(driver, &root);
    for remote in [
        "../secret".to_owned(),
        secret.display().to_string(),
        "sub/../../secret".to_owned(),
    ] {
        let local = work.path().join("out");
        let done = run(
            atftp(server.port(), 512, None)
                .args(["-g", "-r", &remote, "-l"])
                .arg(&local),
            PEER_TIMEOUT,
        );
        assert!(
            !done.success(),
            "atftp fetched {remote:?} from outside the root"
        );
        let got = std::fs::read(&local).unwrap_or_default();
        assert!(got.is_empty(), "{} bytes leaked for {remote:?}", got.len());
    }
    // Nor may an upload land outside the root.
    let upload = work.path().join("evil");
    std::fs::write(&upload, b"overwritten").unwrap();
    let done = run(
        atftp(server.port(), 512, None)
            .args(["-p", "-r", "../secret", "-l"])
            .arg(&upload),
        PEER_TIMEOUT,
    );
    assert!(!done.success(), "atftp wrote outside the root");
    assert_ne!(std::fs::read(&secret).unwrap(), b"overwritten");
    assert!(!root.join("secret").exists());
}

// ---------------------------------------------------------------------------
// curl: asks for blksize and tsize.

fn curl_get_and_put(driver: Driver, blksize: Option<u16>) {
    let root = temp_dir("root");
    let server = FerryServer::writable(driver, root.path());
    curl_get_and_put_on(&server, root.path(), blksize);
}

/// Gets and puts every size of [`sizes`] with curl from a writable
/// `server` serving `root`.
fn curl_get_and_put_on(server: &FerryServer, root: &Path, blksize: Option<u16>) {
    let work = temp_dir("work");
    let options: Vec<String> = match blksize {
        Some(n) => vec!["--tftp-blksize".into(), n.to_string()],
        None => vec!["--tftp-no-options".into()],
    };
    // The empty file matters here: curl asks for tsize and rejects an OACK
    // carrying `tsize 0` as invalid (exit 71, as from tftpd-hpa), so the
    // server must leave tsize out of the OACK for an empty file.
    for (seed, (name, len)) in sizes(blksize.unwrap_or(512) as usize)
        .into_iter()
        .enumerate()
    {
        let want = make_file(root, &name, len, 400 + seed as u64);
        let local = work.path().join(format!("got-{name}"));
        run(
            curl(60)
                .args(&options)
                .arg("-o")
                .arg(&local)
                .arg(server.url(&name)),
            PEER_TIMEOUT,
        )
        .assert_success("curl get");
        assert_file_eq(&local, &want);

        let upload = make_file(work.path(), &format!("up-{name}"), len, 500 + seed as u64);
        let remote = format!("put-{name}");
        run(
            curl(60)
                .args(&options)
                .arg("-T")
                .arg(work.path().join(format!("up-{name}")))
                .arg(server.url(&remote)),
            PEER_TIMEOUT,
        )
        .assert_success("curl put");
        assert_file_eq(&root.join(&remote), &upload);
    }
}

fn curl_blksize_1468(driver: Driver) {
    require_peer!("curl");
    curl_get_and_put(driver, Some(1468));
}

fn curl_blksize_8192(driver: Driver) {
    require_peer!("curl");
    curl_get_and_put(driver, Some(8192));
}

fn curl_no_options(driver: Driver) {
    require_peer!("curl");
    curl_get_and_put(driver, None);
}

/// curl's exit codes for TFTP errors: 68 "file not found" (ERROR 1),
/// 69 "permission problem" (ERROR 2).
const CURLE_TFTP_NOTFOUND: i32 = 68;
const CURLE_TFTP_PERM: i32 = 69;

fn curl_missing_file_is_error_1(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FerryServer::read_only(driver, root.path());
    let local = work.path().join("out");
    let done = run(
        curl(60)
            .arg("-o")
            .arg(&local)
            .arg(server.url("no-such-file")),
        PEER_TIMEOUT,
    );
    assert_eq!(done.code(), Some(CURLE_TFTP_NOTFOUND), "{}", done.stderr);
    assert!(std::fs::read(&local).unwrap_or_default().is_empty());
}

fn put_without_write_is_refused(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FerryServer::read_only(driver, root.path());
    let existing = make_file(root.path(), "existing.bin", 5000, 600);
    let upload = work.path().join("upload.bin");
    make_file(work.path(), "upload.bin", 5000, 601);

    // A new file and an existing one: both refused with ERROR 2, nothing
    // created, nothing changed.
    for remote in ["new.bin", "existing.bin"] {
        let done = run(
            curl(60).arg("-T").arg(&upload).arg(server.url(remote)),
            PEER_TIMEOUT,
        );
        assert_eq!(done.code(), Some(CURLE_TFTP_PERM), "{}", done.stderr);
    }
    assert!(!root.path().join("new.bin").exists());
    assert_file_eq(&root.path().join("existing.bin"), &existing);
    let names: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["existing.bin"], "stray files in the root");

    // ferry's own client reports the server's refusal and exits 1.
    let done = run(
        ferry().arg("put").arg(&upload).arg(server.url("new.bin")),
        PEER_TIMEOUT,
    );
    assert_eq!(done.code(), Some(1), "{}", done.stderr);
    assert!(!done.stderr.trim().is_empty(), "no error text printed");
    assert!(!root.path().join("new.bin").exists());
}

// ---------------------------------------------------------------------------
// ferry's client against ferry's server: windowed, and to standard output.

fn ferry_client_windowed_and_stdout(driver: Driver) {
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FerryServer::writable(driver, root.path());
    let want = make_file(root.path(), "file.bin", 3_000_000 + 5, 700);

    let local = work.path().join("got.bin");
    run(
        ferry()
            .arg("get")
            .arg(server.url("file.bin"))
            .arg("-o")
            .arg(&local)
            .args(["--blksize", "8192", "--windowsize", "16"]),
        PEER_TIMEOUT,
    )
    .assert_success("ferry get");
    assert_file_eq(&local, &want);

    let done = run(
        ferry().arg("get").arg(server.url("file.bin")).args([
            "-o",
            "-",
            "--blksize",
            "1468",
            "--windowsize",
            "8",
        ]),
        PEER_TIMEOUT,
    );
    done.assert_success("ferry get -o -");
    assert_bytes_eq(&done.stdout, &want, "ferry get -o - (stdout)");

    let upload = make_file(work.path(), "up.bin", 1468 * 64, 701);
    run(
        ferry()
            .arg("put")
            .arg(work.path().join("up.bin"))
            .arg(server.url("up.bin"))
            .args(["--blksize", "1468", "--windowsize", "32"]),
        PEER_TIMEOUT,
    )
    .assert_success("ferry put");
    assert_file_eq(&root.path().join("up.bin"), &upload);
}

// ---------------------------------------------------------------------------
// Block numbers past 65535, with the peers' default 512-byte blocks.

fn block_numbers_wrap_past_65535(driver: Driver) {
    require_peer!("curl");
    require_peer!("tftp");
    let root = temp_dir("root");
    let work = temp_dir("work");
    let server = FerryServer::writable(driver, root.path());
    // 65,537 blocks: numbered 1..=65535, then wrapping to 0 and 1.
    let len = 512 * 65_536 + 700;

    let want = make_file(root.path(), "wrap.bin", len, 800);
    let local = work.path().join("got.bin");
    run(
        curl(60)
            .arg("--tftp-no-options")
            .arg("-o")
            .arg(&local)
            .arg(server.url("wrap.bin")),
        PEER_TIMEOUT,
    )
    .assert_success("curl get past block 65535");
    assert_file_eq(&local, &want);

    let upload = make_file(work.path(), "up.bin", len, 801);
    let done = run(
        &mut tftp_hpa(
            server.port(),
            &[
                "put",
                work.path().join("up.bin").to_str().unwrap(),
                "wrap-up.bin",
            ],
        ),
        PEER_TIMEOUT,
    );
    assert!(done.stderr.is_empty(), "tftp-hpa: {}", done.stderr);
    assert_file_eq(&root.path().join("wrap-up.bin"), &upload);
}

/// curl under `--tftp-single-port` (tftp-hpa and atftp are in
/// tftp_single_port.rs).
fn curl_single_port(driver: Driver) {
    require_peer!("curl");
    let root = temp_dir("root");
    let server = FerryServer::start(driver, root.path(), &["--write", "--tftp-single-port"]);
    curl_get_and_put_on(&server, root.path(), Some(8192));
}

ferry_interop::driver_tests!(
    curl_single_port,
    tftp_hpa_get,
    tftp_hpa_put,
    atftp_blksize_1468,
    atftp_blksize_8192,
    atftp_blksize_1468_windowsize_8,
    atftp_blksize_8192_windowsize_16,
    atftp_cannot_escape_root,
    curl_blksize_1468,
    curl_blksize_8192,
    curl_no_options,
    curl_missing_file_is_error_1,
    put_without_write_is_refused,
    ferry_client_windowed_and_stdout,
    block_numbers_wrap_past_65535,
);
