//! `ferry get/put/ls ftp://` against vsftpd, started by each test on
//! 127.0.0.1. Every transfer is checked byte for byte (length and
//! SHA-256), and vsftpd's protocol log shows which commands went out.

use std::path::Path;
use std::process::Stdio;

use ferry_interop::vsftpd::Vsftpd;
use ferry_interop::{
    assert_bytes_eq, assert_file_eq, content, ferry, make_file, run, temp_dir, Finished,
    PEER_TIMEOUT,
};

/// Runs `ferry ARGS` in `cwd`, without FERRY_PASSWORD from the outside.
fn ferry_in(cwd: &Path, args: &[&str]) -> Finished {
    run(
        ferry()
            .args(args)
            .current_dir(cwd)
            .env_remove("FERRY_PASSWORD"),
        PEER_TIMEOUT,
    )
}

/// The commands with this verb, in order.
fn sent<'a>(commands: &'a [String], verb: &str) -> Vec<&'a str> {
    commands
        .iter()
        .map(String::as_str)
        .filter(|c| c.split(' ').next() == Some(verb))
        .collect()
}

/// Empty, one byte, a 64 KiB multiple, and about 3 MB.
const SIZES: [(&str, usize); 4] = [
    ("empty.bin", 0),
    ("one.bin", 1),
    ("multiple.bin", 4 * 65536),
    ("large.bin", 3_000_000 + 17),
];

fn get_all(server: &Vsftpd, mode: &[&str]) {
    let work = temp_dir("work");
    for (seed, (name, len)) in SIZES.into_iter().enumerate() {
        let want = make_file(server.root(), name, len, 300 + seed as u64);
        let local = work.path().join(name);
        let mut args = vec!["get", "-o"];
        let local_str = local.to_str().unwrap();
        args.push(local_str);
        let url = server.url(name);
        args.push(&url);
        args.extend_from_slice(mode);
        ferry_in(work.path(), &args).assert_success("ferry get");
        assert_file_eq(&local, &want);
    }
    // No temporary file is left beside the downloads.
    let mut names: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["empty.bin", "large.bin", "multiple.bin", "one.bin"]);
}

#[test]
fn get_passive_is_byte_exact() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    get_all(&server, &[]);
    let commands = server.commands();
    assert_eq!(sent(&commands, "EPSV").len(), SIZES.len(), "{commands:?}");
    assert!(sent(&commands, "PORT").is_empty() && sent(&commands, "EPRT").is_empty());
    assert_eq!(sent(&commands, "TYPE"), ["TYPE I"; SIZES.len()]);
}

#[test]
fn get_active_is_byte_exact() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    get_all(&server, &["--active"]);
    let commands = server.commands();
    let eprt = sent(&commands, "EPRT");
    assert_eq!(eprt.len(), SIZES.len(), "{commands:?}");
    assert!(eprt.iter().all(|c| c.starts_with("EPRT |1|127.0.0.1|")));
    assert!(sent(&commands, "EPSV").is_empty() && sent(&commands, "PASV").is_empty());
}

#[test]
fn get_to_stdout_and_to_the_urls_file_name() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    std::fs::create_dir(server.root().join("dir")).unwrap();
    let want = make_file(&server.root().join("dir"), "named.bin", 200_000, 7);
    let out = ferry_in(
        work.path(),
        &["get", &server.url("dir/named.bin"), "-o", "-"],
    );
    out.assert_success("ferry get -o -");
    assert_bytes_eq(&out.stdout, &want, "stdout");
    ferry_in(work.path(), &["get", &server.url("dir/named.bin")]).assert_success("ferry get");
    assert_file_eq(&work.path().join("named.bin"), &want);
}

#[test]
fn put_passive_and_active() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    for (seed, (name, len)) in SIZES.into_iter().enumerate() {
        let want = make_file(work.path(), name, len, 400 + seed as u64);
        let remote = format!("upload/passive-{name}");
        ferry_in(work.path(), &["put", name, &server.url(&remote)]).assert_success("ferry put");
        assert_file_eq(&server.root().join(&remote), &want);
        let remote = format!("upload/active-{name}");
        ferry_in(
            work.path(),
            &["put", name, &server.url(&remote), "--active"],
        )
        .assert_success("ferry put --active");
        assert_file_eq(&server.root().join(&remote), &want);
    }
    let commands = server.commands();
    assert_eq!(sent(&commands, "STOR").len(), 2 * SIZES.len());
    assert_eq!(sent(&commands, "EPRT").len(), SIZES.len());

    // A URL ending in "/" takes the local file's name.
    ferry_in(work.path(), &["put", "one.bin", &server.url("upload/")]).assert_success("put dir/");
    assert_file_eq(&server.upload_dir().join("one.bin"), &content(401, 1));
}

#[test]
fn put_from_stdin() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let want = content(500, 1_000_000);
    let mut child = ferry()
        .args(["put", "-", &server.url("upload/piped.bin")])
        .env_remove("FERRY_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = {
        let want = want.clone();
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &want))
    };
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_file_eq(&server.upload_dir().join("piped.bin"), &want);
}

#[test]
fn ls_lists_and_names() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    make_file(server.root(), "a.txt", 5, 1);
    make_file(server.root(), "b file.bin", 1234, 2);
    std::fs::create_dir(server.root().join("sub")).unwrap();
    make_file(&server.root().join("sub"), "inner", 10, 3);

    let out = ferry_in(work.path(), &["ls", "--names", &server.url("")]);
    out.assert_success("ferry ls --names");
    let mut names: Vec<_> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    assert_eq!(names, ["a.txt", "b file.bin", "sub", "upload"]);

    let out = ferry_in(work.path(), &["ls", &server.url("")]);
    out.assert_success("ferry ls");
    let listing = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(!listing.contains('\r'), "local line ends: {listing:?}");
    let line = listing
        .lines()
        .find(|l| l.ends_with(" b file.bin"))
        .unwrap_or_else(|| panic!("no b file.bin in {listing:?}"));
    assert!(
        line.starts_with("-rw-r--r--") && line.contains(" 1234 "),
        "{line}"
    );
    assert!(listing
        .lines()
        .any(|l| l.starts_with('d') && l.ends_with(" sub")));

    // A subdirectory, and active mode.
    let out = ferry_in(work.path(), &["ls", &server.url("sub"), "--active"]);
    out.assert_success("ferry ls sub --active");
    let listing = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(listing.lines().count(), 1, "{listing:?}");
    assert!(listing.trim_end().ends_with(" inner"), "{listing:?}");
}

/// vsftpd moves TYPE A data as it is (see `support/vsftpd.rs`), so these
/// bytes are exactly what ferry put on, or took off, the wire.
#[test]
fn ascii_converts_line_ends_both_ways() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");

    // Download: CR LF on the wire becomes LF; a lone CR stays.
    std::fs::write(
        server.root().join("crlf.txt"),
        b"one\r\ntwo\r\nlone\rcr\r\n\r\nlast",
    )
    .unwrap();
    ferry_in(
        work.path(),
        &[
            "get",
            &server.url("crlf.txt"),
            "-o",
            "got.txt",
            "--type",
            "ascii",
        ],
    )
    .assert_success("ferry get --type ascii");
    assert_file_eq(&work.path().join("got.txt"), b"one\ntwo\nlone\rcr\n\nlast");
    // The same file in binary arrives untouched.
    ferry_in(
        work.path(),
        &["get", &server.url("crlf.txt"), "-o", "raw.txt"],
    )
    .assert_success("ferry get");
    assert_file_eq(
        &work.path().join("raw.txt"),
        b"one\r\ntwo\r\nlone\rcr\r\n\r\nlast",
    );

    // Upload: each bare LF goes out as CR LF; a CR LF already there stays.
    std::fs::write(work.path().join("lf.txt"), b"alpha\nbeta\r\ngamma\n\nend").unwrap();
    ferry_in(
        work.path(),
        &[
            "put",
            "lf.txt",
            &server.url("upload/lf.txt"),
            "--type",
            "ascii",
        ],
    )
    .assert_success("ferry put --type ascii");
    assert_file_eq(
        &server.upload_dir().join("lf.txt"),
        b"alpha\r\nbeta\r\ngamma\r\n\r\nend",
    );

    // A larger text, where CR LF pairs straddle the read buffers.
    let text: Vec<u8> = (0..200_000)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    std::fs::write(work.path().join("big.txt"), &text).unwrap();
    ferry_in(
        work.path(),
        &[
            "put",
            "big.txt",
            &server.url("upload/big.txt"),
            "--type",
            "ascii",
            "--active",
        ],
    )
    .assert_success("ferry put big --type ascii");
    let wire: Vec<u8> = text
        .split_inclusive(|&b| b == b'\n')
        .flat_map(|l| [&l[..l.len() - 1], b"\r\n"].concat())
        .collect();
    assert_file_eq(&server.upload_dir().join("big.txt"), &wire);
    ferry_in(
        work.path(),
        &[
            "get",
            &server.url("upload/big.txt"),
            "-o",
            "back.txt",
            "--type",
            "ascii",
        ],
    )
    .assert_success("ferry get big --type ascii");
    assert_file_eq(&work.path().join("back.txt"), &text);

    let commands = server.commands();
    assert_eq!(
        sent(&commands, "TYPE"),
        ["TYPE A", "TYPE I", "TYPE A", "TYPE A", "TYPE A"]
    );
}

#[test]
fn continue_resumes_a_truncated_download() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    let want = make_file(server.root(), "resume.bin", 5_000_000 + 3, 600);
    let partial = work.path().join("resume.bin");
    std::fs::write(&partial, &want[..1_234_567]).unwrap();
    ferry_in(
        work.path(),
        &["get", &server.url("resume.bin"), "--continue"],
    )
    .assert_success("ferry get --continue");
    assert_file_eq(&partial, &want);
    assert_eq!(sent(&server.commands(), "REST"), ["REST 1234567"]);

    // Nothing local yet: --continue downloads the whole file, no REST.
    let fresh = work.path().join("fresh.bin");
    ferry_in(
        work.path(),
        &[
            "get",
            &server.url("resume.bin"),
            "-o",
            "fresh.bin",
            "-c",
            "--active",
        ],
    )
    .assert_success("ferry get --continue (no partial file)");
    assert_file_eq(&fresh, &want);
    assert_eq!(sent(&server.commands(), "REST").len(), 1);

    // A local file longer than the remote one is refused, untouched.
    let longer = [want.as_slice(), b"extra"].concat();
    std::fs::write(&partial, &longer).unwrap();
    let out = ferry_in(
        work.path(),
        &["get", &server.url("resume.bin"), "--continue"],
    );
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("longer than the remote file"),
        "{}",
        out.stderr
    );
    assert_file_eq(&partial, &longer);
}

#[test]
fn a_64_mib_file_both_ways() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    let want = make_file(server.root(), "big.bin", 64 << 20, 64);
    ferry_in(
        work.path(),
        &["get", &server.url("big.bin"), "-o", "big.bin"],
    )
    .assert_success("ferry get 64 MiB");
    assert_file_eq(&work.path().join("big.bin"), &want);
    ferry_in(
        work.path(),
        &["put", "big.bin", &server.url("upload/big.bin"), "--active"],
    )
    .assert_success("ferry put 64 MiB");
    assert_file_eq(&server.upload_dir().join("big.bin"), &want);
}

#[test]
fn a_missing_file_exits_1_with_the_servers_text() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    for mode in [&[][..], &["--active"][..]] {
        let mut args = vec!["get", "missing.bin"];
        let url = server.url("missing.bin");
        args[1] = &url;
        args.extend_from_slice(mode);
        let out = ferry_in(work.path(), &args);
        assert_eq!(out.code(), Some(1), "{}", out.stderr);
        assert_eq!(
            out.stderr.trim_end(),
            "ferry: server error 550: Failed to open file."
        );
        assert!(out.stdout.is_empty());
        assert_eq!(
            std::fs::read_dir(work.path()).unwrap().count(),
            0,
            "a failed get leaves no file"
        );
    }

    // An upload where anonymous users may not write.
    make_file(work.path(), "local.bin", 10, 1);
    let out = ferry_in(work.path(), &["put", "local.bin", &server.url("local.bin")]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert_eq!(
        out.stderr.trim_end(),
        "ferry: server error 553: Could not create file."
    );
    assert!(!server.root().join("local.bin").exists());

    // A named user on an anonymous-only server.
    let out = run(
        ferry()
            .args(["ls", &server.url("").replace("ftp://", "ftp://alice:pw@")])
            .current_dir(work.path()),
        PEER_TIMEOUT,
    );
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert_eq!(
        out.stderr.trim_end(),
        "ferry: server error 530: This FTP server is anonymous only."
    );
}

/// The whole session of a listing, as vsftpd logged it: with
/// `no_anon_password` the 230 comes straight after USER, and the client
/// sends no PASS.
#[test]
fn ls_session_as_vsftpd_saw_it() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    ferry_in(work.path(), &["ls", &server.url("")]).assert_success("ferry ls");
    assert_eq!(
        server.commands(),
        ["USER anonymous", "EPSV", "LIST", "QUIT"]
    );
}

/// Against vsftpd: a pattern matched from its LIST (no MLSD there), `ls -1
/// dir/` names without the `dir/` vsftpd puts in front, `ls -R`, a reader
/// that stops early ending ferry quietly, and rm/mv with mkdir refused.
#[test]
fn patterns_names_and_file_operations() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    let pubdir = server.root().join("pub");
    std::fs::create_dir(&pubdir).unwrap();
    let a = make_file(&pubdir, "a.iso", 70_000, 1);
    let b = make_file(&pubdir, "b.iso", 3, 2);
    make_file(&pubdir, "c.txt", 3, 3);
    for i in 0..3000 {
        make_file(
            server.root(),
            &format!("many-{i:05}-padding-padding.dat"),
            0,
            4,
        );
    }

    ferry_in(work.path(), &["get", &server.url("pub/*.iso")]).assert_success("get *.iso");
    assert_file_eq(&work.path().join("a.iso"), &a);
    assert_file_eq(&work.path().join("b.iso"), &b);
    assert!(!work.path().join("c.txt").exists());

    let out = ferry_in(work.path(), &["ls", "-1", &server.url("pub/")]);
    out.assert_success("ls -1 pub/");
    let mut names: Vec<_> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    assert_eq!(names, ["a.iso", "b.iso", "c.txt"]);
    assert!(sent(&server.commands(), "NLST").contains(&"NLST pub/"));

    let out = ferry_in(work.path(), &["ls", "-R", "-1", &server.url("upload/")]);
    out.assert_success("ls -R");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "upload:\n");

    let mut child = ferry()
        .args(["ls", &server.url("")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let up = server.upload_dir();
    ferry_in(work.path(), &["put", "a.iso", &server.url("upload/")]).assert_success("put");
    ferry_in(work.path(), &["mv", &server.url("upload/a.iso"), "z.iso"]).assert_success("mv");
    assert_file_eq(&up.join("z.iso"), &a);
    ferry_in(work.path(), &["rm", &server.url("upload/z.iso")]).assert_success("rm");
    assert!(!up.join("z.iso").exists());
    let out = ferry_in(work.path(), &["mkdir", &server.url("upload/new")]);
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr.starts_with("ferry: server error 550"),
        "{}",
        out.stderr
    );
}

/// `get -r` against vsftpd, which has no MLSD: the tree comes from LIST,
/// each file's time from MDTM, byte-exact, with --parallel.
#[test]
fn recursive_get_over_list_keeps_times() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    let tree = server.root().join("tree");
    std::fs::create_dir_all(tree.join("sub dir")).unwrap();
    let a = make_file(&tree, "a.bin", 100_000, 7);
    let b = make_file(&tree.join("sub dir"), "b.bin", 5, 8);
    let then = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    for path in [tree.join("a.bin"), tree.join("sub dir/b.bin")] {
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(then)
            .unwrap();
    }
    ferry_in(
        work.path(),
        &["get", "-r", "--parallel", "2", &server.url("tree/"), "out"],
    )
    .assert_success("get -r");
    let out = work.path().join("out");
    assert_file_eq(&out.join("a.bin"), &a);
    assert_file_eq(&out.join("sub dir/b.bin"), &b);
    for path in [out.join("a.bin"), out.join("sub dir/b.bin")] {
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), then);
    }
    let commands = server.commands();
    assert!(sent(&commands, "MLSD").is_empty());
    assert!(!sent(&commands, "LIST").is_empty());
    assert!(sent(&commands, "MDTM").contains(&"MDTM tree/a.bin"));
}
