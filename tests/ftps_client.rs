//! `ferry get/put/ls` over FTPS against real servers started by each
//! test on 127.0.0.1: vsftpd with TLS forced for logins and data and
//! `require_ssl_reuse=YES` (so every data connection must resume the
//! control connection's TLS session), explicit and implicit, and
//! pyftpdlib's `TLS_FTPHandler` with TLS required. Every transfer is
//! checked byte for byte.

use std::path::Path;

use ferry_interop::pyftpd::PyFtpd;
use ferry_interop::vsftpd::Vsftpd;
use ferry_interop::vsftpd_tls::{Mode, VsftpdTls};
use ferry_interop::{assert_file_eq, ferry, make_file, run, temp_dir, Finished, PEER_TIMEOUT};

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

/// Empty, one byte, a 64 KiB multiple, and about 3 MB.
const SIZES: [(&str, usize); 4] = [
    ("empty.bin", 0),
    ("one.bin", 1),
    ("multiple.bin", 4 * 65536),
    ("large.bin", 3_000_000 + 17),
];

/// The commands with this verb, in order.
fn sent<'a>(commands: &'a [String], verb: &str) -> Vec<&'a str> {
    commands
        .iter()
        .map(String::as_str)
        .filter(|c| c.split(' ').next() == Some(verb))
        .collect()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    ferry_interop::ftp::names(dir)
}

// ---------------------------------------------------------------------------
// vsftpd, explicit FTPS

fn vsftpd_get_all(server: &VsftpdTls, mode: &[&str]) {
    let work = temp_dir("work");
    let cacert = server.certs().cert();
    for (seed, (name, len)) in SIZES.into_iter().enumerate() {
        let want = make_file(server.root(), name, len, 6000 + seed as u64);
        let local = work.path().join(name);
        let url = server.url(name);
        let mut args = vec!["get", "--tls", "--cacert", cacert.to_str().unwrap(), "-o"];
        args.push(local.to_str().unwrap());
        args.push(&url);
        args.extend_from_slice(mode);
        ferry_in(work.path(), &args).assert_success("ferry get --tls");
        assert_file_eq(&local, &want);
    }
    assert_eq!(
        names(work.path()),
        ["empty.bin", "large.bin", "multiple.bin", "one.bin"],
        "a temporary file was left beside the downloads"
    );
}

#[test]
fn vsftpd_explicit_get_passive() {
    let Some(server) = VsftpdTls::start(Mode::Explicit) else {
        return;
    };
    vsftpd_get_all(&server, &[]);
    let commands = server.commands();
    // AUTH TLS before anything else in every session, then PBSZ 0 and
    // PROT P; vsftpd (require_ssl_reuse) served every data connection,
    // so each resumed its control connection's session.
    assert_eq!(
        sent(&commands, "AUTH"),
        ["AUTH TLS"; SIZES.len()],
        "{commands:?}"
    );
    assert_eq!(sent(&commands, "PBSZ"), ["PBSZ 0"; SIZES.len()]);
    assert_eq!(sent(&commands, "PROT"), ["PROT P"; SIZES.len()]);
    assert_eq!(sent(&commands, "RETR").len(), SIZES.len());
    assert_eq!(commands.first().map(String::as_str), Some("AUTH TLS"));
}

#[test]
fn vsftpd_explicit_get_active() {
    let Some(server) = VsftpdTls::start(Mode::Explicit) else {
        return;
    };
    // In active mode vsftpd connects to ferry and is still the TLS
    // server on the data connection (RFC 4217 §7).
    vsftpd_get_all(&server, &["--active"]);
    let commands = server.commands();
    assert_eq!(sent(&commands, "EPRT").len(), SIZES.len(), "{commands:?}");
    assert_eq!(sent(&commands, "PROT"), ["PROT P"; SIZES.len()]);
}

#[test]
fn vsftpd_explicit_put() {
    let Some(server) = VsftpdTls::start(Mode::Explicit) else {
        return;
    };
    let work = temp_dir("work");
    let cacert = server.certs().cert();
    for (seed, (name, len)) in SIZES.into_iter().enumerate() {
        let want = make_file(work.path(), name, len, 6100 + seed as u64);
        let remote = format!("upload/{name}");
        ferry_in(
            work.path(),
            &[
                "put",
                "--tls",
                "--cacert",
                cacert.to_str().unwrap(),
                name,
                &server.url(&remote),
            ],
        )
        .assert_success("ferry put --tls");
        assert_file_eq(&server.root().join(&remote), &want);
    }
    let commands = server.commands();
    assert_eq!(sent(&commands, "STOR").len(), SIZES.len(), "{commands:?}");
    assert_eq!(sent(&commands, "PROT"), ["PROT P"; SIZES.len()]);
}

#[test]
fn vsftpd_explicit_ls() {
    let Some(server) = VsftpdTls::start(Mode::Explicit) else {
        return;
    };
    let work = temp_dir("work");
    let cacert = server.certs().cert();
    make_file(server.root(), "a.txt", 5, 1);
    make_file(server.root(), "b file.bin", 1234, 2);
    std::fs::create_dir(server.root().join("sub")).unwrap();

    let out = ferry_in(
        work.path(),
        &[
            "ls",
            "--tls",
            "--cacert",
            cacert.to_str().unwrap(),
            "--names",
            &server.url(""),
        ],
    );
    out.assert_success("ferry ls --tls --names");
    let mut listed: Vec<_> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    listed.sort();
    assert_eq!(listed, ["a.txt", "b file.bin", "sub", "upload"]);

    let out = ferry_in(
        work.path(),
        &[
            "ls",
            "--tls",
            "--cacert",
            cacert.to_str().unwrap(),
            &server.url(""),
        ],
    );
    out.assert_success("ferry ls --tls");
    let listing = String::from_utf8(out.stdout.clone()).unwrap();
    let line = listing
        .lines()
        .find(|l| l.ends_with(" b file.bin"))
        .unwrap_or_else(|| panic!("no b file.bin in {listing:?}"));
    assert!(
        line.starts_with("-rw-r--r--") && line.contains(" 1234 "),
        "{line}"
    );
    assert_eq!(
        server.commands(),
        [
            "AUTH TLS",
            "USER anonymous",
            "PBSZ 0",
            "PROT P",
            "EPSV",
            "NLST",
            "QUIT",
            "AUTH TLS",
            "USER anonymous",
            "PBSZ 0",
            "PROT P",
            "EPSV",
            "LIST",
            "QUIT"
        ]
    );
}

// ---------------------------------------------------------------------------
// vsftpd, implicit FTPS

#[test]
fn vsftpd_implicit_get_put_ls() {
    let Some(server) = VsftpdTls::start(Mode::Implicit) else {
        return;
    };
    let work = temp_dir("work");
    let cacert = server.certs().cert();
    let cacert = cacert.to_str().unwrap();
    let url = server.url("large.bin");
    assert!(url.starts_with("ftps://"), "{url}");
    for (seed, (name, len)) in SIZES.into_iter().enumerate() {
        let want = make_file(server.root(), name, len, 6200 + seed as u64);
        ferry_in(
            work.path(),
            &["get", "--cacert", cacert, "-o", name, &server.url(name)],
        )
        .assert_success("ferry get ftps://");
        assert_file_eq(&work.path().join(name), &want);
    }
    let out = ferry_in(
        work.path(),
        &["ls", "--cacert", cacert, "--names", &server.url("")],
    );
    out.assert_success("ferry ls ftps://");
    let mut listed: Vec<_> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "empty.bin",
            "large.bin",
            "multiple.bin",
            "one.bin",
            "upload"
        ]
    );
    let commands = server.commands();
    // Implicit: no AUTH, but PBSZ 0 and PROT P before the data.
    assert!(sent(&commands, "AUTH").is_empty(), "{commands:?}");
    assert_eq!(sent(&commands, "PROT"), ["PROT P"; SIZES.len() + 1]);

    ferry_in(
        work.path(),
        &[
            "put",
            "--cacert",
            cacert,
            "large.bin",
            &server.url("upload/large.bin"),
        ],
    )
    .assert_success("ferry put ftps://");
    assert_file_eq(
        &server.upload_dir().join("large.bin"),
        &std::fs::read(work.path().join("large.bin")).unwrap(),
    );
}

// ---------------------------------------------------------------------------
// pyftpdlib

#[test]
fn pyftpdlib_get_and_put() {
    let Some(server) = PyFtpd::start() else {
        return;
    };
    let work = temp_dir("work");
    let cacert = server.certs().cert();
    let cacert = cacert.to_str().unwrap();
    for (seed, (name, len)) in SIZES.into_iter().enumerate() {
        let want = make_file(server.root(), name, len, 6300 + seed as u64);
        let local = format!("got-{name}");
        ferry_in(
            work.path(),
            &[
                "get",
                "--tls",
                "--cacert",
                cacert,
                "-o",
                &local,
                &server.url(name),
            ],
        )
        .assert_success("ferry get --tls from pyftpdlib");
        assert_file_eq(&work.path().join(&local), &want);

        let remote = format!("up-{name}");
        ferry_in(
            work.path(),
            &[
                "put",
                "--tls",
                "--cacert",
                cacert,
                &local,
                &server.url(&remote),
            ],
        )
        .assert_success("ferry put --tls to pyftpdlib");
        assert_file_eq(&server.root().join(&remote), &want);
    }
    // Active mode too.
    let want = make_file(work.path(), "active.bin", 1_000_001, 6310);
    ferry_in(
        work.path(),
        &[
            "put",
            "--tls",
            "--cacert",
            cacert,
            "--active",
            "active.bin",
            &server.url("active.bin"),
        ],
    )
    .assert_success("ferry put --tls --active to pyftpdlib");
    assert_file_eq(&server.root().join("active.bin"), &want);
}

// ---------------------------------------------------------------------------
// Certificates and refusals

#[test]
fn an_untrusted_certificate_fails_with_no_output_file() {
    let Some(server) = VsftpdTls::start(Mode::Explicit) else {
        return;
    };
    let work = temp_dir("work");
    let want = make_file(server.root(), "file.bin", 100_000, 6400);
    // A self-signed certificate is in no system root store.
    for args in [
        &["get", "--tls", "-o", "out.bin"][..],
        &["get", "--tls", "-o", "-"][..],
    ] {
        let url = server.url("file.bin");
        let mut args = args.to_vec();
        args.push(&url);
        let out = ferry_in(work.path(), &args);
        assert_eq!(out.code(), Some(1), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.to_lowercase().contains("certificate"),
            "the message does not name the certificate problem: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
        assert!(names(work.path()).is_empty(), "a failed get left a file");
    }
    // No login went out on the connection that failed verification.
    assert!(sent(&server.commands(), "USER").is_empty());

    // --insecure (curl's -k) accepts it.
    ferry_in(
        work.path(),
        &[
            "get",
            "--tls",
            "--insecure",
            "-o",
            "out.bin",
            &server.url("file.bin"),
        ],
    )
    .assert_success("ferry get --tls --insecure");
    assert_file_eq(&work.path().join("out.bin"), &want);

    // A --cacert that is some other certificate does not.
    let other = ferry_interop::ftps::Certs::generate();
    let out = ferry_in(
        work.path(),
        &[
            "get",
            "--tls",
            "--cacert",
            other.cert().to_str().unwrap(),
            "-o",
            "other.bin",
            &server.url("file.bin"),
        ],
    );
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.to_lowercase().contains("certificate"),
        "{}",
        out.stderr
    );
    assert!(!work.path().join("other.bin").exists());
}

#[test]
fn an_untrusted_certificate_fails_on_the_implicit_port() {
    let Some(server) = VsftpdTls::start(Mode::Implicit) else {
        return;
    };
    let work = temp_dir("work");
    make_file(server.root(), "file.bin", 1000, 6500);
    let out = ferry_in(
        work.path(),
        &["get", "-o", "out.bin", &server.url("file.bin")],
    );
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.to_lowercase().contains("certificate"),
        "{}",
        out.stderr
    );
    assert!(names(work.path()).is_empty());
}

/// `--tls` means TLS or nothing: against a server without TLS the client
/// stops at the refused AUTH, before any login in clear.
#[test]
fn tls_required_against_a_server_without_it() {
    let Some(server) = Vsftpd::start() else {
        return;
    };
    let work = temp_dir("work");
    make_file(server.root(), "file.bin", 1000, 6600);
    let out = ferry_in(
        work.path(),
        &[
            "get",
            "--tls",
            "--insecure",
            "-o",
            "out.bin",
            &server.url("file.bin"),
        ],
    );
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(names(work.path()).is_empty());
    let commands = server.commands();
    assert_eq!(
        commands.first().map(String::as_str),
        Some("AUTH TLS"),
        "{commands:?}"
    );
    assert!(sent(&commands, "USER").is_empty(), "{commands:?}");
    assert!(sent(&commands, "RETR").is_empty(), "{commands:?}");
}

/// `put -r` and `get -r` over FTPS against pyftpdlib, which has MLSD and
/// MFMT: the tree goes up with its times set by MFMT and comes back
/// byte-exact with its times from MLSD's `modify`.
#[test]
fn recursive_put_and_get_keep_times_against_pyftpdlib() {
    let Some(server) = PyFtpd::start() else {
        return;
    };
    let work = temp_dir("work");
    let cacert = server.certs().cert();
    let cacert = cacert.to_str().unwrap();
    let src = work.path().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    let a = make_file(&src, "a.bin", 200_000, 91);
    let b = make_file(&src.join("sub"), "b.bin", 17, 92);
    let then = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_400_000_000);
    for path in [src.join("a.bin"), src.join("sub/b.bin")] {
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(then)
            .unwrap();
    }
    let tls = ["--tls", "--cacert", cacert];
    let mut args = vec!["put", "-r", "--parallel", "2", "src"];
    let up = server.url("tree/");
    args.push(&up);
    args.extend(tls);
    ferry_in(work.path(), &args).assert_success("put -r");
    let tree = server.root().join("tree");
    assert_file_eq(&tree.join("a.bin"), &a);
    assert_file_eq(&tree.join("sub/b.bin"), &b);
    for path in [tree.join("a.bin"), tree.join("sub/b.bin")] {
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), then);
    }
    let mut args = vec!["get", "-r", &up, "back"];
    args.extend(tls);
    ferry_in(work.path(), &args).assert_success("get -r");
    let back = work.path().join("back");
    assert_file_eq(&back.join("a.bin"), &a);
    assert_file_eq(&back.join("sub/b.bin"), &b);
    assert_eq!(
        std::fs::metadata(back.join("sub/b.bin"))
            .unwrap()
            .modified()
            .unwrap(),
        then
    );
    let log = server.log();
    assert!(log.contains("MFMT") && log.contains("213"), "{log}");
}
