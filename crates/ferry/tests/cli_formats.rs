//! `ferry get` and `ferry put` in every data format RFC 959 names that
//! maps to a Unix file (TYPE A/E/I, STRU F/R, MODE S/B/C), against
//! `ferry serve` on both drivers: the file arrives byte for byte.

use ferry_interop::Driver;

mod support;
use support::{ferry, Serve};

/// Every byte value, runs long enough for MODE C's replicated and filler
/// units (zeros, spaces), 0xFF for STRU R's escapes, line ends for its
/// records, and more than one restart-marker interval (1 MiB) for MODE B
/// and C; the last line has no LF.
fn binary_file() -> Vec<u8> {
    let mut data: Vec<u8> = (0..=255u8).collect();
    data.extend_from_slice(&[0; 200]);
    data.extend_from_slice(&[b' '; 70]);
    data.extend_from_slice(b"\xff\xff\n\n\xff\x01\x02\n");
    while data.len() < (1 << 20) + 4000 {
        let i = data.len();
        data.push((i * 31 % 251) as u8);
        if i % 97 == 0 {
            data.push(b'\n');
        }
    }
    data.extend_from_slice(b"no line end");
    data
}

/// Text as TYPE A can carry it exactly (LF line ends, no CR), with runs.
fn text_file() -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..20_000 {
        text.extend_from_slice(format!("line {i}:{}end\n", " ".repeat(i % 80)).as_bytes());
    }
    text.extend_from_slice(b"\n\nlast line without LF");
    text
}

/// TYPE A's own line-end conversion makes a CR of the file ambiguous, so
/// it gets text; TYPE E (a bijection of all 256 bytes) and I any bytes,
/// and so does STRU R in TYPE A (a record's bytes go as they are).
fn file_for(ftp_type: &str, stru: &str) -> Vec<u8> {
    match (ftp_type, stru) {
        ("ascii", "file") => text_file(),
        _ => binary_file(),
    }
}

fn formats_round_trip(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = Serve::start(Some(driver), root.path(), &["--write"]);
    for ftp_type in ["binary", "ascii", "ebcdic"] {
        for stru in ["file", "record"] {
            for mode in ["stream", "block", "compressed", "deflate"] {
                let name = format!("{ftp_type}-{stru}-{mode}");
                let content = file_for(ftp_type, stru);
                let flags = ["--type", ftp_type, "--stru", stru, "--mode", mode];
                // Up: the server stores the file as it was.
                let local = work.path().join(&name);
                std::fs::write(&local, &content).unwrap();
                let url = server.ftp_url(&name);
                let mut args = vec!["put", name.as_str(), url.as_str()];
                args.extend(flags);
                let out = ferry(&args, work.path());
                assert!(
                    out.status.success(),
                    "{name} put: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let stored = std::fs::read(root.path().join(&name)).unwrap();
                assert!(stored == content, "{name}: stored file differs");
                // Down: ferry writes the server's file as it is there.
                let back = format!("{name}.back");
                let mut args = vec!["get", url.as_str(), "-o", back.as_str()];
                args.extend(flags);
                let out = ferry(&args, work.path());
                assert!(
                    out.status.success(),
                    "{name} get: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let got = std::fs::read(work.path().join(&back)).unwrap();
                assert!(got == content, "{name}: downloaded file differs");
            }
        }
    }
}

/// Active data connections and `-B` (curl's --use-ascii) with MODE B
/// records, and a directory tree in MODE C, whose listings come in
/// MODE C too.
fn active_ascii_blocks_and_compressed_trees(driver: Driver) {
    let root = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let server = Serve::start(Some(driver), root.path(), &["--write"]);
    let text = text_file();
    std::fs::write(work.path().join("t.txt"), &text).unwrap();
    let url = server.ftp_url("t.txt");
    let block = ["-B", "--mode", "block", "--stru", "record", "--active"];
    let out = ferry(&[&["put", "t.txt", &url][..], &block].concat(), work.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(root.path().join("t.txt")).unwrap() == text);
    let out = ferry(
        &[&["get", &url, "-o", "-"][..], &block].concat(),
        work.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == text);

    std::fs::create_dir_all(root.path().join("tree/sub")).unwrap();
    std::fs::write(root.path().join("tree/a.bin"), binary_file()).unwrap();
    std::fs::write(root.path().join("tree/sub/b.txt"), &text).unwrap();
    let out = ferry(
        &[
            "get",
            "-r",
            &server.ftp_url("tree/"),
            "down",
            "--mode",
            "compressed",
        ],
        work.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(work.path().join("down/a.bin")).unwrap() == binary_file());
    assert!(std::fs::read(work.path().join("down/sub/b.txt")).unwrap() == text);
}

/// A mode of the other protocol is a usage error (exit 2), before any
/// connection.
#[test]
fn modes_of_the_other_protocol_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            &["get", "ftp://127.0.0.1:1/f", "--mode", "netascii"][..],
            "TFTP",
        ),
        (
            &["get", "tftp://127.0.0.1:1/f", "--mode", "block"][..],
            "FTP",
        ),
        (
            &["get", "ftp://127.0.0.1:1/f", "-B", "--type", "ebcdic"][..],
            "--type",
        ),
    ] {
        let out = ferry(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

ferry_interop::driver_tests!(formats_round_trip, active_ascii_blocks_and_compressed_trees);
