//! Property tests of the server session under random command sequences
//! (valid and garbage lines, split into random chunks), with every request
//! answered by a random plausible completion: it never panics, answers
//! every line with exactly one final reply, and never hands the driver a
//! path outside the logged-in user's home. With TLS offered, AUTH's
//! handshake succeeds or fails at random; what the client had sent behind
//! AUTH is discarded, as a driver must, and never answered.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ftp_proto::line::{Fed, LineReader};
use ftp_proto::listing::{FileKind, Metadata};
use ftp_proto::reply::ReplyReader;
use ftp_proto::server::{
    Access, Completion, Config, DataChannel, Event, Failure, LogEvent, Operation, RequestId,
    Session, Tls, TransferKind,
};
use ftp_proto::{Instant, ReplyCode, RootPath};
use proptest::prelude::*;

const MAX_LINE: usize = 64;

fn client() -> SocketAddr {
    "10.0.0.2:40000".parse().unwrap()
}

fn server() -> SocketAddr {
    "10.0.0.1:21".parse().unwrap()
}

const TEMPLATES: &[&str] = &[
    "USER anonymous",
    "USER alice",
    "user ftp",
    "PASS {p}",
    "ACCT {p}",
    "CWD {p}",
    "XCWD {p}",
    "CDUP",
    "SMNT {p}",
    "REIN",
    "QUIT",
    "PORT 10,0,0,2,{hi},{lo}",
    "PORT 10,0,0,9,7,208",
    "PASV",
    "EPSV",
    "EPSV ALL",
    "EPSV 2",
    "EPRT |1|10.0.0.2|{n}|",
    "EPRT |2|::1|{n}|",
    "TYPE A",
    "TYPE I",
    "TYPE E",
    "TYPE L 8",
    "STRU F",
    "STRU R",
    "MODE S",
    "MODE B",
    "RETR {p}",
    "RETR {p}",
    "STOR {p}",
    "STOU",
    "STOU {p}",
    "APPE {p}",
    "ALLO {n}",
    "REST {n}",
    "REST {n}",
    "RNFR {p}",
    "RNTO {p}",
    "RNTO {p}",
    "ABOR",
    "ABOR",
    "DELE {p}",
    "RMD {p}",
    "MKD {p}",
    "PWD",
    "LIST",
    "LIST -la {p}",
    "NLST {p}",
    "MLSD",
    "MLSD {p}",
    "SITE HELP",
    "SITE {p}",
    "SYST",
    "STAT",
    "STAT",
    "STAT {p}",
    "HELP",
    "HELP {p}",
    "NOOP",
    "FEAT",
    "OPTS UTF8 ON",
    "OPTS MLST size;{p}",
    "SIZE {p}",
    "MDTM {p}",
    "MLST {p}",
    "MLST",
    "AUTH TLS",
    "AUTH TLS",
    "AUTH SSL",
    "AUTH {p}",
    "PBSZ 0",
    "PBSZ {p}",
    "PROT P",
    "PROT C",
    "PROT {p}",
    "CCC",
    "{p}",
];

fn path_arg() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_string()),
        Just("../../..".to_string()),
        Just("/".to_string()),
        Just("a/../../b".to_string()),
        Just("/../etc/passwd".to_string()),
        Just("\"q\"".to_string()),
        Just("..\\..\\x".to_string()),
        "[a-z./\" ]{0,12}",
        "\\PC{0,8}",
    ]
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    let command = (0..TEMPLATES.len(), path_arg(), any::<u16>()).prop_map(|(i, p, n)| {
        TEMPLATES[i]
            .replace("{p}", &p)
            .replace("{n}", &n.to_string())
            .replace("{hi}", &(n >> 8).to_string())
            .replace("{lo}", &(n & 0xff).to_string())
            .into_bytes()
    });
    let line = prop_oneof![
        12 => command,
        1 => proptest::collection::vec(any::<u8>(), 0..100),
        1 => Just(vec![b'N'; MAX_LINE + 10]),
        1 => Just(vec![0xff, 0xf4, 0xff, 0xf2, b'A', b'B', b'O', b'R']),
    ];
    (line, any::<bool>()).prop_map(|(mut l, crlf)| {
        l.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        l
    })
}

/// A stream of choices for the simulated driver.
struct Dice {
    bytes: Vec<u8>,
    at: usize,
}

impl Dice {
    fn roll(&mut self, n: usize) -> usize {
        if self.bytes.is_empty() {
            return 0;
        }
        let b = self.bytes[self.at % self.bytes.len()] as usize;
        self.at += 1;
        b % n
    }
}

fn meta(kind: FileKind) -> Metadata {
    Metadata {
        kind,
        size: 42,
        modified: Some(1_000_000_000),
        mode: 0o644,
        nlink: 1,
        unique: Some((1, 2)),
    }
}

const FAILURES: &[Failure] = &[
    Failure::NotFound,
    Failure::PermissionDenied,
    Failure::NotADirectory,
    Failure::IsADirectory,
    Failure::AlreadyExists,
    Failure::DirectoryNotEmpty,
    Failure::StorageFull,
    Failure::InvalidName,
    Failure::NoDataConnection,
    Failure::DataConnectionLost,
    Failure::Io,
];

/// A request the simulated driver is working on.
struct Work {
    id: RequestId,
    op: Operation,
    /// Transfer: Started sent.
    started: bool,
    /// Transfer: rounds to wait before finishing.
    rounds: usize,
    aborted: bool,
}

/// Every path in a request must be a well-formed root path beneath the
/// current user's home.
fn check_path(p: &RootPath, home: &RootPath) {
    let s = p.as_str();
    assert!(!s.starts_with('/'), "{s:?}");
    if !s.is_empty() {
        for c in s.split('/') {
            assert!(
                !c.is_empty() && c != "." && c != ".." && !c.contains('\0'),
                "{s:?}"
            );
        }
    }
    let mut comps = p.components();
    for h in home.components() {
        assert_eq!(comps.next(), Some(h), "{s:?} is outside home {home:?}");
    }
}

fn check_op(op: &Operation, home: &RootPath) {
    match op {
        Operation::Stat { path }
        | Operation::List { path }
        | Operation::MakeDir { path }
        | Operation::RemoveDir { path }
        | Operation::Delete { path } => check_path(path, home),
        Operation::Rename { from, to } => {
            check_path(from, home);
            check_path(to, home);
        }
        Operation::Listen { ip } => assert_eq!(*ip, server().ip()),
        Operation::Transfer(t) => {
            match &t.kind {
                TransferKind::Retrieve { path, .. }
                | TransferKind::Store { path, .. }
                | TransferKind::List { path, .. } => check_path(path, home),
                _ => {}
            }
            if let DataChannel::Active(addr) = t.data {
                // RFC 2577: never a bounce.
                assert_eq!(addr.ip(), client().ip());
                assert!(addr.port() >= 1024);
            }
        }
        Operation::Authenticate { .. } => {}
        _ => {}
    }
}

fn run(config: Config, lines: Vec<Vec<u8>>, cuts: Vec<usize>, dice: Vec<u8>) {
    let mut dice = Dice { bytes: dice, at: 0 };
    let stream: Vec<u8> = lines.concat();
    let mut now = Instant::ZERO;
    let mut session = Session::new(&config, client(), server(), now);
    let mut available = 0usize;
    let mut cuts = cuts.into_iter();
    let mut consumed = 0usize;
    let mut output = Vec::new();
    let mut work: VecDeque<Work> = VecDeque::new();
    let mut home = RootPath::ROOT;
    let mut pending_home = RootPath::ROOT;
    let mut rounds = 0;
    // What the session was given, without what a handshake discarded.
    let mut taken = Vec::new();
    let mut handshake = false;
    // Lines the session took but dropped unanswered once TLS was up
    // (queued behind an AUTH that waited for a transfer).
    let mut dropped = 0;

    loop {
        rounds += 1;
        assert!(rounds < 100_000, "the session is stuck");
        let mut progressed = false;

        if !session.is_closed() && consumed < available {
            let n = session.handle_input(now, &stream[consumed..available]);
            assert!(n <= available - consumed);
            taken.extend_from_slice(&stream[consumed..consumed + n]);
            consumed += n;
            progressed |= n > 0;
        }
        while let Some(event) = session.poll_event() {
            progressed = true;
            match event {
                Event::Request { id, op } => {
                    check_op(&op, &home);
                    assert!(work.iter().all(|w| w.id != id), "request ids are fresh");
                    assert!(work.is_empty(), "one request at a time");
                    work.push_back(Work {
                        id,
                        op,
                        started: false,
                        rounds: dice.roll(3),
                        aborted: false,
                    });
                }
                Event::Abort { id } => {
                    let w = work
                        .iter_mut()
                        .find(|w| w.id == id)
                        .expect("abort of a request");
                    assert!(matches!(w.op, Operation::Transfer(_)));
                    w.aborted = true;
                }
                Event::SecureControl => {
                    assert!(config.tls.offered);
                    assert!(!session.is_control_secured());
                    handshake = true;
                }
                Event::Log(LogEvent::LoggedIn { anonymous, .. }) => {
                    home = if anonymous {
                        RootPath::ROOT
                    } else {
                        pending_home.clone()
                    };
                }
                _ => {}
            }
        }
        let out = session.transmit();
        if !out.is_empty() {
            progressed = true;
            output.extend_from_slice(out);
            let n = out.len();
            session.transmitted(n);
        }
        assert!(session.transmit().is_empty());

        if handshake {
            // The 234 is out; the driver drops what it read but the
            // session did not take, and the handshake ends one way or
            // the other.
            handshake = false;
            assert_eq!(
                session.handle_input(now, &stream[consumed..available]),
                0,
                "input taken during the handshake"
            );
            consumed = available;
            // Every line up to AUTH has its reply now; the rest of what
            // was taken is dropped, a partial line included.
            let (lines, end) = split_lines(&taken);
            let answered = final_replies(&reply_codes(&output));
            assert!(answered <= lines);
            dropped += lines - answered;
            taken.truncate(end);
            if dice.roll(4) > 0 {
                session.control_secured(now);
                assert!(session.is_control_secured());
            } else {
                session.control_tls_failed(now);
                assert!(session.is_closed());
            }
            continue;
        }

        // The driver does one step of its work.
        if let Some(mut w) = work.pop_front() {
            let completion = match &w.op {
                Operation::Authenticate { .. } => {
                    if dice.roll(2) == 0 {
                        pending_home = [RootPath::ROOT, RootPath::ROOT.resolve("home/u").unwrap()]
                            [dice.roll(2)]
                        .clone();
                        Some(Completion::LoggedIn {
                            home: pending_home.clone(),
                            access: Access {
                                write: dice.roll(2) == 0,
                            },
                        })
                    } else {
                        Some(Completion::LoginRefused)
                    }
                }
                Operation::Stat { .. } => Some(match dice.roll(3) {
                    0 => Completion::Metadata(meta(FileKind::Directory)),
                    1 => Completion::Metadata(meta(FileKind::File)),
                    _ => Completion::Failed(FAILURES[dice.roll(FAILURES.len())]),
                }),
                Operation::List { .. } => Some(match dice.roll(3) {
                    0 => Completion::Listing(Vec::new()),
                    1 => Completion::Listing(
                        b"-rw-r--r-- 1 ftp ftp 1 Jan 01 00:00 a\r\n213 x\r\n\xff\r\n".to_vec(),
                    ),
                    _ => Completion::Failed(FAILURES[dice.roll(FAILURES.len())]),
                }),
                Operation::Listen { ip } => Some(if dice.roll(4) > 0 {
                    Completion::Listening(SocketAddr::new(*ip, 30000 + dice.roll(1000) as u16))
                } else {
                    Completion::Failed(Failure::Io)
                }),
                Operation::Transfer(_) => {
                    if w.aborted {
                        Some(if dice.roll(4) == 0 {
                            Completion::Finished { bytes: 1 }
                        } else {
                            Completion::Failed(Failure::Aborted)
                        })
                    } else if !w.started {
                        if dice.roll(5) == 0 {
                            Some(Completion::Failed(FAILURES[dice.roll(FAILURES.len())]))
                        } else {
                            w.started = true;
                            Some(Completion::Started {
                                size: Some(10),
                                name: None,
                            })
                        }
                    } else if w.rounds > 0 {
                        w.rounds -= 1;
                        session.transfer_progress(now, w.id, 5);
                        None
                    } else if dice.roll(3) == 0 {
                        Some(Completion::Failed(FAILURES[dice.roll(FAILURES.len())]))
                    } else {
                        Some(Completion::Finished { bytes: 10 })
                    }
                }
                _ => Some(if dice.roll(3) > 0 {
                    Completion::Done
                } else {
                    Completion::Failed(FAILURES[dice.roll(FAILURES.len())])
                }),
            };
            let keep = matches!(completion, Some(Completion::Started { .. }) | None);
            if let Some(c) = completion {
                session.complete(now, w.id, c);
            }
            if keep {
                work.push_front(w);
            }
            continue;
        }

        if progressed {
            continue;
        }
        if available < stream.len() && consumed == available {
            // The next chunk arrives, sometimes after a while.
            available = available
                .saturating_add(cuts.next().unwrap_or(usize::MAX))
                .min(stream.len());
            if dice.roll(8) == 0 {
                now = now + Duration::from_secs(dice.roll(400) as u64);
                session.handle_timeout(now);
            }
            continue;
        }
        if session.is_closed() {
            break;
        }
        // A held failed-login reply is released by the clock (the idle
        // deadline is minutes away; a held reply, a second).
        let held = session
            .poll_timeout()
            .filter(|&deadline| deadline <= now + Duration::from_secs(2));
        if let Some(deadline) = held {
            now = deadline;
            session.handle_timeout(now);
            continue;
        }
        assert_eq!(consumed, available, "input declined while idle");
        break;
    }

    let (lines, _) = split_lines(&taken);
    let codes = reply_codes(&output);
    assert_eq!(codes.first(), Some(&ReplyCode::SERVICE_READY));
    let finals = final_replies(&codes);
    assert_eq!(
        finals + dropped,
        lines,
        "every line gets one final reply: {:?}\n{}",
        codes,
        String::from_utf8_lossy(&taken).escape_debug()
    );
}

/// Lines in `bytes` as the session's reader splits them, and where the
/// last complete one ends.
fn split_lines(bytes: &[u8]) -> (usize, usize) {
    let mut reader = LineReader::new(MAX_LINE);
    let (mut lines, mut at, mut end) = (0, 0, 0);
    loop {
        let (n, fed) = reader.feed(&bytes[at..]);
        at += n;
        match fed {
            Fed::NeedMore => break,
            Fed::Line | Fed::TooLong => {
                lines += 1;
                end = at;
                reader.clear();
            }
        }
    }
    (lines, end)
}

fn reply_codes(output: &[u8]) -> Vec<ReplyCode> {
    let mut replies = ReplyReader::new(1 << 20);
    let mut at = output;
    let mut codes = Vec::new();
    loop {
        let n = replies.push(at);
        at = &at[n..];
        let mut any = false;
        while let Some(r) = replies.next_reply() {
            codes.push(r.expect("well-formed replies").code);
            any = true;
        }
        if at.is_empty() && !any {
            break;
        }
    }
    codes
}

/// Final replies: not the greeting, not a 421 (idle timeout).
fn final_replies(codes: &[ReplyCode]) -> usize {
    codes[1..]
        .iter()
        .filter(|c| !c.is_preliminary() && **c != ReplyCode::NOT_AVAILABLE)
        .count()
}

fn config() -> impl Strategy<Value = Config> {
    (any::<bool>(), any::<bool>(), 0..3u8).prop_map(|(anon, write, tls)| Config {
        anonymous: anon.then_some(Access { write }),
        max_line: MAX_LINE,
        tls: Tls {
            offered: tls > 0,
            required: tls > 1,
        },
        ..Config::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_sessions_answer_every_line_once_and_stay_in_the_root(
        config in config(),
        lines in proptest::collection::vec(line(), 0..60),
        cuts in proptest::collection::vec(1usize..64, 0..200),
        dice in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        run(config, lines, cuts, dice);
    }

    #[test]
    fn logged_in_sessions_answer_every_line_once(
        lines in proptest::collection::vec(line(), 0..60),
        cuts in proptest::collection::vec(1usize..64, 0..200),
        dice in proptest::collection::vec(any::<u8>(), 0..64),
        write in any::<bool>(),
    ) {
        let mut all = vec![b"USER anonymous\r\n".to_vec(), b"PASS x\r\n".to_vec()];
        all.extend(lines.into_iter().filter(|l| !l.starts_with(b"QUIT")));
        let config = Config {
            anonymous: Some(Access { write }),
            max_line: MAX_LINE,
            ..Config::default()
        };
        run(config, all, cuts, dice);
    }
}

#[test]
fn ip_of_listen_is_the_local_address() {
    // The property above checks it for every Listen; make sure one happens.
    let mut s = Session::new(
        &Config {
            anonymous: Some(Access::default()),
            ..Config::default()
        },
        client(),
        server(),
        Instant::ZERO,
    );
    s.handle_input(Instant::ZERO, b"USER ftp\r\nPASS x\r\nPASV\r\n");
    let mut saw = false;
    while let Some(e) = s.poll_event() {
        if let Event::Request {
            op: Operation::Listen { ip },
            ..
        } = e
        {
            assert_eq!(ip, IpAddr::from([10, 0, 0, 1]));
            saw = true;
        }
    }
    assert!(saw);
}
