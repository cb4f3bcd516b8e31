//! A client session and a server session coupled in memory, with the
//! server's file work done on an in-memory store: whole dialogues end to
//! end, and files byte-exact after STOR then RETR in both TYPEs and both
//! data-connection modes.

mod support;

use ftp_proto::client::{ClientError, DataMode, Op, Outcome, TransferKind};
use ftp_proto::server::{Access, Config, LogEvent};
use proptest::prelude::*;
use support::pair::Pair;

const MODES: [DataMode; 2] = [DataMode::Passive, DataMode::Active];

/// Logged in as anna, TYPE I (as clients set before transfers).
fn logged_in(seed: u64) -> Pair {
    let mut pair = Pair::new(Config::default(), seed);
    pair.login("anna", "secret").unwrap();
    pair.set_type(false).unwrap();
    pair
}

fn code(result: Result<Outcome, ClientError>) -> u16 {
    match result {
        Ok(o) => panic!("expected a refusal, got {o:?}"),
        Err(e) => e.code().map(|c| c.as_u16()).unwrap_or(0),
    }
}

fn put(pair: &mut Pair, path: &str, content: &[u8], data: DataMode) -> Outcome {
    let r = pair.upload(TransferKind::Store, Some(path), content, data, None);
    r.unwrap_or_else(|e| panic!("STOR {path}: {e}\n{}", pair.transcript))
}

fn get(pair: &mut Pair, path: &str, data: DataMode) -> Vec<u8> {
    let d = pair.download(TransferKind::Retrieve, Some(path), data, None);
    d.result
        .unwrap_or_else(|e| panic!("RETR {path}: {e}\n{}", pair.transcript));
    d.data
}

#[test]
fn login_pwd_quit() {
    let mut pair = Pair::new(Config::default(), 0);
    assert_eq!(pair.login("anna", "secret"), Ok(Outcome::Ok));
    assert_eq!(pair.run(Op::Pwd), Ok(Outcome::Path("/".into())));
    assert_eq!(pair.run(Op::Quit), Ok(Outcome::Ok));
    assert!(pair.client.is_closed());
    assert!(pair.server.is_closed());
    assert_eq!(
        pair.transcript,
        "< 220 ferry FTP server ready\n\
         > USER anna\n\
         < 331 Please specify the password.\n\
         > PASS secret\n\
         < 230 Login successful.\n\
         > PWD\n\
         < 257 \"/\" is the current directory.\n\
         > QUIT\n\
         < 221 Goodbye.\n"
    );
}

#[test]
fn wrong_password_is_refused_after_the_delay() {
    let mut pair = Pair::new(Config::default(), 0);
    let before = pair.now;
    assert_eq!(code(pair.login("anna", "nope")), 530);
    // RFC 2577 §4: the 530 is held back by the configured second.
    assert!(pair.now - before >= std::time::Duration::from_secs(1));
    assert!(pair
        .server_log
        .iter()
        .any(|e| matches!(e, LogEvent::LoginFailed { user } if user == "anna")));
    assert_eq!(pair.login("anna", "secret"), Ok(Outcome::Ok));
}

#[test]
fn anonymous_login_when_allowed() {
    let config = Config {
        anonymous: Some(Access { write: false }),
        ..Config::default()
    };
    let mut pair = Pair::new(config, 0);
    assert_eq!(pair.login("anonymous", "guest@"), Ok(Outcome::Ok));
    pair.fs.put("/pub/readme", b"hello\n");
    // RFC 959 §3.1.1.5: TYPE A by default; the LF went as CR LF.
    assert_eq!(get(&mut pair, "/pub/readme", DataMode::Passive), b"hello\n");

    // No write access: the machine refuses before asking the store.
    let r = pair.upload(
        TransferKind::Store,
        Some("x"),
        b"x",
        DataMode::Passive,
        None,
    );
    assert_eq!(code(r), 550);
    assert_eq!(pair.fs.get("/x"), None);
}

#[test]
fn retrieve_and_store_binary_both_modes() {
    for data in MODES {
        let mut pair = logged_in(0);
        let content: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        pair.fs.put("/bin/blob", &content);
        assert_eq!(get(&mut pair, "/bin/blob", data), content);
        assert_eq!(pair.started_sizes.last(), Some(&Some(70_000)));

        let back = put(&mut pair, "/bin/copy", &content, data);
        assert_eq!(back, Outcome::Transferred { bytes: 70_000 });
        assert_eq!(pair.fs.get("/bin/copy"), Some(&content[..]));
    }
}

#[test]
fn passive_uses_epsv_and_active_uses_eprt() {
    let mut pair = logged_in(0);
    pair.fs.put("/f", b"x");
    get(&mut pair, "/f", DataMode::Passive);
    get(&mut pair, "/f", DataMode::Active);
    assert!(
        pair.transcript.contains("> EPSV\n< 229 "),
        "{}",
        pair.transcript
    );
    assert!(
        pair.transcript.contains("> EPRT |1|192.0.2.1|"),
        "{}",
        pair.transcript
    );
    assert!(pair.transcript.contains("< 150 "));
    assert!(pair.transcript.contains("< 226 "));
}

#[test]
fn ascii_transfers_convert_line_ends() {
    for data in MODES {
        let mut pair = logged_in(0);
        pair.set_type(true).unwrap();
        assert!(pair.transcript.contains("> TYPE A\n< 200 "));
        // Stored in TYPE A: each bare LF went as CR LF and came back as
        // LF; the line already ending in CR LF went as it was and was
        // stored with the server's LF; a lone CR survives.
        let text = b"line one\nline two\r\nbare\rcr\n\n";
        let stored = b"line one\nline two\nbare\rcr\n\n";
        let out = put(&mut pair, "/t.txt", text, data);
        // 3 bare LFs each gained a CR on the wire.
        assert_eq!(
            out,
            Outcome::Transferred {
                bytes: text.len() as u64 + 3
            }
        );
        assert_eq!(pair.fs.get("/t.txt"), Some(&stored[..]));
        assert_eq!(get(&mut pair, "/t.txt", data), stored);

        // The same file in TYPE I shows the bytes as stored.
        pair.set_type(false).unwrap();
        assert_eq!(get(&mut pair, "/t.txt", data), stored);
    }
}

#[test]
fn append_and_resume() {
    for data in MODES {
        let mut pair = logged_in(0);
        put(&mut pair, "/log", b"first\n", data);
        let r = pair.upload(TransferKind::Append, Some("/log"), b"second\n", data, None);
        assert_eq!(r, Ok(Outcome::Transferred { bytes: 7 }));
        assert_eq!(pair.fs.get("/log"), Some(&b"first\nsecond\n"[..]));
        // An APPE to a file that does not exist creates it.
        pair.upload(TransferKind::Append, Some("/new"), b"n", data, None)
            .unwrap();
        assert_eq!(pair.fs.get("/new"), Some(&b"n"[..]));

        // REST + RETR: the rest of the file.
        let d = pair.download(TransferKind::Retrieve, Some("/log"), data, Some(6));
        assert_eq!(d.result, Ok(Outcome::Transferred { bytes: 7 }));
        assert_eq!(d.data, b"second\n");
        assert!(pair.transcript.contains("> REST 6\n< 350 "));

        // REST + STOR: resume an interrupted upload.
        pair.fs.put("/big", b"0123456789-partial");
        pair.upload(TransferKind::Store, Some("/big"), b"abc", data, Some(10))
            .unwrap();
        assert_eq!(pair.fs.get("/big"), Some(&b"0123456789abc"[..]));
    }
}

#[test]
fn store_unique_never_overwrites() {
    let mut pair = logged_in(0);
    pair.fs.put("/up/upload", b"old");
    pair.run(Op::Cwd("/up".into())).unwrap();
    let r = pair.upload(
        TransferKind::StoreUnique,
        None,
        b"new one",
        DataMode::Passive,
        None,
    );
    assert_eq!(r, Ok(Outcome::Transferred { bytes: 7 }));
    assert_eq!(pair.fs.get("/up/upload"), Some(&b"old"[..]));
    let others: Vec<String> = pair
        .fs
        .paths()
        .into_iter()
        .filter(|p| p.starts_with("/up/") && p != "/up/upload")
        .collect();
    assert_eq!(others.len(), 1, "{:?}", pair.fs.paths());
    assert_eq!(pair.fs.get(&others[0]), Some(&b"new one"[..]));
    // RFC 1123 §4.1.2.9: the 150 names the file chosen, and the client
    // reports it.
    let name = others[0].rsplit('/').next().unwrap();
    assert!(pair.transcript.contains(name), "{}", pair.transcript);
    assert_eq!(pair.started_names.last(), Some(&Some(name.to_string())));
}

#[test]
fn listings_in_three_formats() {
    for data in MODES {
        let mut pair = logged_in(0);
        pair.fs.put("/pub/a.txt", b"aaa");
        pair.fs.put("/pub/b file", b"bb");
        pair.fs.put("/pub/sub/deep", b"");

        let long = pair.listing(TransferKind::List, Some("/pub"), data);
        let lines: Vec<&str> = long.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 3, "{long:?}");
        assert!(lines[0].starts_with("-rw-r--r--") && lines[0].ends_with(" a.txt"));
        assert!(lines[1].ends_with(" b file"));
        assert!(lines[2].starts_with("drwxr-xr-x") && lines[2].ends_with(" sub"));

        // NLST names carry the directory the client named, so each can
        // go straight back to RETR.
        let names = pair.listing(TransferKind::NameList, Some("/pub"), data);
        assert_eq!(names, "/pub/a.txt\r\n/pub/b file\r\n/pub/sub\r\n");

        let facts = pair.listing(TransferKind::MachineList, Some("/pub"), data);
        let lines: Vec<&str> = facts.split_terminator("\r\n").collect();
        assert_eq!(lines.len(), 3, "{facts:?}");
        assert!(lines[0].starts_with("type=file;size=3;modify="));
        assert!(lines[0].ends_with("; a.txt"));
        assert!(lines[2].starts_with("type=dir;"));
        // anna may write: the perm fact says so (RFC 3659 §7.5.5).
        assert!(lines[2].contains("perm=elcmdfp;"), "{}", lines[2]);

        // LIST of the current directory, and of one file.
        pair.run(Op::Cwd("/pub".into())).unwrap();
        let here = pair.listing(TransferKind::List, None, data);
        assert_eq!(here, long);
        let one = pair.listing(TransferKind::NameList, Some("a.txt"), data);
        assert_eq!(one, "a.txt\r\n");
        let bare = pair.listing(TransferKind::NameList, None, data);
        assert_eq!(bare, "a.txt\r\nb file\r\nsub\r\n");
        let sub = pair.listing(TransferKind::NameList, Some("sub"), data);
        assert_eq!(sub, "sub/deep\r\n");
        let Ok(Outcome::Transferred { bytes: 0 }) = pair
            .download(TransferKind::Retrieve, Some(sub.trim_end()), data, None)
            .result
        else {
            panic!("an NLST name did not RETR:\n{}", pair.transcript);
        };
    }
}

#[test]
fn stat_of_a_directory_lists_it_on_the_control_connection() {
    let mut pair = logged_in(0);
    pair.fs.put("/pub/a.txt", b"aaa");
    pair.fs.put("/pub/sub/deep", b"");
    let long = pair.listing(TransferKind::List, Some("/pub"), DataMode::Passive);
    let Ok(Outcome::Reply(reply)) = pair.run(Op::Raw("STAT /pub".into())) else {
        panic!("STAT failed:\n{}", pair.transcript);
    };
    assert_eq!(reply.code.as_u16(), 213);
    // The same lines LIST carries, between a heading and an end line.
    let lines: Vec<&str> = reply.text.lines().collect();
    let listed: Vec<&str> = long.split_terminator("\r\n").collect();
    assert_eq!(lines[0], "Status of /pub:");
    assert_eq!(&lines[1..lines.len() - 1], &listed[..]);
    assert_eq!(lines[lines.len() - 1], "End of status.");
}

#[test]
fn listings_are_the_same_in_type_a() {
    let mut pair = logged_in(0);
    pair.fs.put("/d/x", b"1");
    let binary = pair.listing(TransferKind::List, Some("/d"), DataMode::Passive);
    pair.set_type(true).unwrap();
    let ascii = pair.listing(TransferKind::List, Some("/d"), DataMode::Passive);
    assert_eq!(binary, ascii);
    assert!(ascii.ends_with(" x\r\n"));
}

#[test]
fn file_management() {
    let mut pair = logged_in(0);
    assert_eq!(
        pair.run(Op::MakeDir("docs".into())),
        Ok(Outcome::Path("/docs".into()))
    );
    assert!(pair.fs.is_dir("/docs"));
    assert!(pair.transcript.contains("< 257 \"/docs\""));
    assert_eq!(code(pair.run(Op::MakeDir("docs".into()))), 550);

    pair.run(Op::Cwd("docs".into())).unwrap();
    assert_eq!(pair.run(Op::Pwd), Ok(Outcome::Path("/docs".into())));
    put(&mut pair, "draft", b"text", DataMode::Passive);
    assert_eq!(pair.fs.get("/docs/draft"), Some(&b"text"[..]));

    assert_eq!(pair.run(Op::Size("draft".into())), Ok(Outcome::Size(4)));
    let Ok(Outcome::Modified(t)) = pair.run(Op::Mdtm("draft".into())) else {
        panic!("MDTM\n{}", pair.transcript)
    };
    assert!((support::memfs::EPOCH..support::memfs::EPOCH + 60).contains(&t));

    pair.run(Op::Rename {
        from: "draft".into(),
        to: "/final".into(),
    })
    .unwrap();
    assert!(pair.transcript.contains("> RNFR draft\n< 350 "));
    assert_eq!(pair.fs.get("/final"), Some(&b"text"[..]));
    assert_eq!(pair.fs.get("/docs/draft"), None);
    assert_eq!(
        code(pair.run(Op::Rename {
            from: "gone".into(),
            to: "x".into()
        })),
        550
    );

    assert_eq!(code(pair.run(Op::RemoveDir("/docs/nothing".into()))), 550);
    pair.run(Op::Cdup).unwrap();
    pair.fs.put("/docs/keep", b"");
    assert_eq!(code(pair.run(Op::RemoveDir("docs".into()))), 550);
    pair.run(Op::Delete("docs/keep".into())).unwrap();
    pair.run(Op::RemoveDir("docs".into())).unwrap();
    assert!(!pair.fs.is_dir("/docs"));
    assert_eq!(code(pair.run(Op::Delete("docs/keep".into()))), 550);
    assert_eq!(pair.fs.paths(), ["/final"]);
}

#[test]
fn missing_files_and_full_storage() {
    let mut pair = logged_in(0);
    let d = pair.download(
        TransferKind::Retrieve,
        Some("/nope"),
        DataMode::Passive,
        None,
    );
    assert_eq!(code(d.result), 550);
    pair.fs.capacity = Some(10);
    let r = pair.upload(
        TransferKind::Store,
        Some("/big"),
        &[7; 11],
        DataMode::Active,
        None,
    );
    assert_eq!(code(r), 552);
    assert_eq!(pair.fs.get("/big"), None);
    // The session goes on.
    put(&mut pair, "/small", &[7; 10], DataMode::Passive);
}

#[test]
fn paths_never_leave_the_root() {
    let mut pair = logged_in(0);
    pair.fs.put("/etc/passwd", b"root:x:0:0");
    pair.run(Op::Cwd("/etc".into())).unwrap();
    assert_eq!(
        get(&mut pair, "../../../../etc/passwd", DataMode::Passive),
        b"root:x:0:0"
    );
    pair.run(Op::Cwd("../../..".into())).unwrap();
    assert_eq!(pair.run(Op::Pwd), Ok(Outcome::Path("/".into())));
}

#[test]
fn epsv_falls_back_to_pasv_and_eprt_to_port() {
    // The harness renames EPSV and EPRT on their way to the server, which
    // then answers 500 as a server without RFC 2428 would.
    let mut pair = logged_in(0);
    pair.unknown_verbs = vec!["EPSV", "EPRT"];
    pair.fs.put("/f", b"old style");
    assert_eq!(get(&mut pair, "/f", DataMode::Passive), b"old style");
    assert!(
        pair.transcript.contains("> XPSV\n< 500 "),
        "{}",
        pair.transcript
    );
    assert!(pair
        .transcript
        .contains("> PASV\n< 227 Entering Passive Mode (192,0,2,2,"));
    // Remembered: the next passive transfer goes straight to PASV.
    let before = pair.transcript.matches("XPSV").count();
    assert_eq!(get(&mut pair, "/f", DataMode::Passive), b"old style");
    assert_eq!(pair.transcript.matches("XPSV").count(), before);

    assert_eq!(get(&mut pair, "/f", DataMode::Active), b"old style");
    assert!(
        pair.transcript.contains("> PORT 192,0,2,1,"),
        "{}",
        pair.transcript
    );
}

#[test]
fn client_prefers_pasv_and_port_when_told() {
    let client = ftp_proto::client::ClientConfig {
        prefer_epsv: false,
        prefer_eprt: false,
        ..Default::default()
    };
    let mut pair = Pair::with_client(Config::default(), client, 0);
    pair.login("anna", "secret").unwrap();
    pair.set_type(false).unwrap();
    pair.fs.put("/f", b"via pasv");
    assert_eq!(get(&mut pair, "/f", DataMode::Passive), b"via pasv");
    assert_eq!(get(&mut pair, "/f", DataMode::Active), b"via pasv");
    assert!(!pair.transcript.contains("EPSV") && !pair.transcript.contains("EPRT"));
    assert!(pair.transcript.contains("> PASV\n< 227 "));
    assert!(pair.transcript.contains("> PORT 192,0,2,1,"));
}

#[test]
fn abort_during_a_download() {
    for data in MODES {
        // Non-zero seeds: data moves in small chunks, so the abort falls
        // mid-transfer.
        for seed in [1, 2, 3, 5, 8, 13, 21, 34, 55] {
            let mut pair = logged_in(seed);
            let content = vec![b'z'; 200_000];
            pair.fs.put("/big", &content);
            pair.abort_after = Some(1000);
            let d = pair.download(TransferKind::Retrieve, Some("/big"), data, None);
            assert_eq!(d.result, Err(ClientError::Aborted), "{}", pair.transcript);
            // RFC 959 §4.1.3: the transfer's 426, then 226 for the ABOR
            // (whether the server saw the ABOR or the closed data connection
            // first).
            let retr = pair.transcript.rfind("> RETR /big\n").unwrap();
            let tail = &pair.transcript[retr..];
            assert!(tail.contains("> <IP><DM>ABOR\n"), "{}", pair.transcript);
            let codes: Vec<&str> = tail
                .lines()
                .filter(|l| l.starts_with("< "))
                .map(|l| &l[2..5])
                .collect();
            assert_eq!(codes, ["150", "426", "226"], "{}", pair.transcript);
            assert!(pair.server_log.iter().any(|e| matches!(
                e,
                LogEvent::Transfer { verb: "RETR", code, .. } if code.as_u16() == 426
            )));
            // The session goes on.
            assert_eq!(get(&mut pair, "/big", data), content);
        }
    }
}

#[test]
fn random_schedules_keep_dialogues_whole() {
    // Control lines and data split at random points, actions reordered.
    for seed in 1..100 {
        let mut pair = logged_in(seed);
        let content: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
        let data = MODES[seed as usize % 2];
        put(&mut pair, "/f", &content, data);
        assert_eq!(get(&mut pair, "/f", data), content, "seed {seed}");
        let names = pair.listing(TransferKind::NameList, None, data);
        assert_eq!(names, "f\r\n");
    }
}

/// File names a client can send: no CR, LF or NUL, no `/`, not `.`/`..`,
/// not starting with a space (some clients trim), not empty.
fn file_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9 ._\\-+~äé\u{4e2d}\"']{0,20}".prop_filter("not a dot name", |s| {
        s != "." && s != ".." && !s.ends_with(' ')
    })
}

fn contents() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4096),
        prop::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'x'), any::<u8>()],
            0..512
        ),
    ]
}

/// `local` sent in TYPE A and stored by the receiver (unchanged in TYPE I).
fn type_a(local: &[u8], ascii: bool) -> Vec<u8> {
    if !ascii {
        return local.to_vec();
    }
    let mut wire = Vec::new();
    ftp_proto::ascii::Encoder::new().encode(local, &mut wire);
    let mut stored = Vec::new();
    let mut decoder = ftp_proto::ascii::Decoder::new();
    decoder.decode(&wire, &mut stored);
    decoder.finish(&mut stored);
    stored
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn store_then_retrieve_is_byte_exact(
        name in file_name(),
        content in contents(),
        ascii in any::<bool>(),
        active in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let data = if active { DataMode::Active } else { DataMode::Passive };
        let mut pair = logged_in(seed);
        pair.set_type(ascii).unwrap();
        let stored = pair.upload(TransferKind::Store, Some(&name), &content, data, None);
        prop_assert!(stored.is_ok(), "{:?}\n{}", stored, pair.transcript);
        // TYPE I: the stored file is the local one. TYPE A: what the
        // conversion makes of it (tests/ascii.rs pins that down): each
        // line end, bare LF or CR LF, stored as LF; a lone CR kept.
        let stored = type_a(&content, ascii);
        let path = format!("/{name}");
        prop_assert_eq!(pair.fs.get(&path), Some(&stored[..]), "{}", pair.transcript);
        if ascii && !content.contains(&b'\r') {
            prop_assert_eq!(&stored, &content);
        }

        let back = pair.download(TransferKind::Retrieve, Some(&name), data, None);
        prop_assert!(back.result.is_ok(), "{:?}\n{}", back.result, pair.transcript);
        prop_assert_eq!(&back.data, &type_a(&stored, ascii));
        let bare_lfs = stored
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' && (i == 0 || stored[i - 1] != b'\r'))
            .count() as u64;
        let wire = stored.len() as u64 + if ascii { bare_lfs } else { 0 };
        prop_assert_eq!(back.result.unwrap(), Outcome::Transferred { bytes: wire });

        let list = pair.listing(TransferKind::List, None, data);
        let line_end = format!(" {name}\r\n");
        prop_assert!(list.ends_with(&line_end), "{:?}", list);
        let size_field = format!(" {} ", stored.len());
        prop_assert!(list.contains(&size_field), "{:?}", list);
        let names = pair.listing(TransferKind::NameList, None, data);
        prop_assert_eq!(names, format!("{name}\r\n"));
    }
}
