//! The client session machine against scripted servers: transcripts of
//! what the client sends (`>`) and what the server answers (`<`), with
//! the driver's part played by hand between them.

use core::net::SocketAddr;
use core::time::Duration;

use ftp_proto::client::{
    Client, ClientConfig, ClientError, DataMode, Event, Op, Outcome, Transfer, TransferKind,
    TransferType,
};
use ftp_proto::{Instant, Reply, ReplyCode};

const SERVER: &str = "198.51.100.20:21";

fn code(n: u16) -> ReplyCode {
    ReplyCode::new(n).unwrap()
}

fn refused(n: u16, text: &str) -> ClientError {
    ClientError::Reply {
        code: code(n),
        text: text.into(),
    }
}

fn login(user: &str, password: &str, account: Option<&str>) -> Op {
    Op::Login {
        user: user.into(),
        password: password.into(),
        account: account.map(Into::into),
    }
}

fn transfer(kind: TransferKind, path: Option<&str>) -> Transfer {
    Transfer::new(kind, path)
}

fn active(mut t: Transfer) -> Transfer {
    t.data = DataMode::Active;
    t
}

/// A client with a scripted server on the other end.
struct Script {
    client: Client,
    now: Instant,
    /// Sent by the client and not yet matched by a `>` line.
    sent: Vec<u8>,
}

impl Script {
    fn with(config: ClientConfig, server: &str) -> Script {
        let client = Client::new(&config, server.parse().unwrap(), Instant::ZERO);
        Script {
            client,
            now: Instant::ZERO,
            sent: Vec::new(),
        }
    }

    /// A client past the greeting.
    fn new() -> Script {
        Script::greeted(ClientConfig::default(), SERVER)
    }

    fn greeted(config: ClientConfig, server: &str) -> Script {
        let mut s = Script::with(config, server);
        s.run("< 220 ferry test server ready");
        assert_eq!(
            s.event(),
            Some(Event::Connected {
                greeting: "ferry test server ready".into()
            })
        );
        s
    }

    fn start(&mut self, op: Op) {
        self.client.start(self.now, op).expect("not busy");
    }

    fn pull(&mut self) {
        let out = self.client.transmit();
        self.sent.extend_from_slice(out);
        let n = out.len();
        self.client.transmitted(n);
    }

    /// Plays a transcript: `> LINE` is a line the client must have sent
    /// next, `< LINE` a line the server sends (its CR LF added). A `<`
    /// line first checks that the client sent nothing more than the `>`
    /// lines said.
    fn run(&mut self, transcript: &str) {
        for line in transcript.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(command) = line.strip_prefix("> ") {
                self.pull();
                let want = format!("{command}\r\n");
                assert!(
                    self.sent.starts_with(want.as_bytes()),
                    "expected {want:?}, client sent {:?}",
                    String::from_utf8_lossy(&self.sent)
                );
                self.sent.drain(..want.len());
            } else if let Some(reply) = line.strip_prefix("< ") {
                self.nothing_sent();
                self.feed(format!("{reply}\r\n").as_bytes());
            } else {
                panic!("transcript line {line:?} is neither > nor <");
            }
        }
    }

    fn nothing_sent(&mut self) {
        self.pull();
        assert!(
            self.sent.is_empty(),
            "client sent {:?} unexpectedly",
            String::from_utf8_lossy(&self.sent)
        );
    }

    fn feed(&mut self, bytes: &[u8]) {
        assert_eq!(self.client.handle_input(self.now, bytes), bytes.len());
    }

    fn event(&mut self) -> Option<Event> {
        self.client.poll_event()
    }

    /// The next event, which must be the operation's end.
    fn done(&mut self) -> Result<Outcome, ClientError> {
        match self.event() {
            Some(Event::Done(result)) => {
                assert_eq!(self.event(), None, "nothing after Done");
                assert!(!self.client.is_busy());
                result
            }
            other => panic!("expected Done, got {other:?}"),
        }
    }

    fn no_event(&mut self) {
        assert_eq!(self.event(), None);
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now + by;
    }

    fn logged_in() -> Script {
        let mut s = Script::new();
        s.start(login("bob", "secret", None));
        s.run(
            "> USER bob
             < 331 Password required for bob
             > PASS secret
             < 230 Logged in",
        );
        assert_eq!(s.done(), Ok(Outcome::Ok));
        s
    }
}

// ---- greeting and login ------------------------------------------------

#[test]
fn greeting_after_120_then_login_started_early() {
    let mut s = Script::with(ClientConfig::default(), SERVER);
    // An operation may be started before the greeting: it waits for it.
    s.start(login("anonymous", "guest@", None));
    s.run("< 120 Service ready in 1 minute");
    s.no_event();
    s.run(
        "< 220 ready
         > USER anonymous
         < 230 Anonymous access granted",
    );
    assert_eq!(
        s.event(),
        Some(Event::Connected {
            greeting: "ready".into()
        })
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

#[test]
fn greeting_refused_ends_the_session() {
    let mut s = Script::with(ClientConfig::default(), SERVER);
    s.run("< 421 Too many connections");
    assert_eq!(
        s.event(),
        Some(Event::Disconnected(ClientError::Closed {
            reply: Some(Reply {
                code: code(421),
                text: "Too many connections".into()
            })
        }))
    );
    assert!(s.client.is_closed());

    let mut s = Script::with(ClientConfig::default(), SERVER);
    s.start(Op::Noop);
    s.run("< 530 This server is for staff only");
    assert_eq!(s.done(), Err(refused(530, "This server is for staff only")));
    assert!(s.client.is_closed());
    s.nothing_sent();
}

#[test]
fn login_accepted_on_user() {
    let mut s = Script::new();
    s.start(login("anonymous", "x", None));
    s.run(
        "> USER anonymous
         < 230 Login successful",
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

#[test]
fn login_with_password() {
    // RFC 959 §5.4 USER -> 331 -> PASS -> 230.
    Script::logged_in();
}

#[test]
fn login_with_account() {
    let mut s = Script::new();
    s.start(login("bob", "secret", Some("proj7")));
    s.run(
        "> USER bob
         < 331 Password required
         > PASS secret
         < 332 Need account for login
         > ACCT proj7
         < 230 Logged in with account",
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));

    // 332 straight after USER.
    let mut s = Script::new();
    s.start(login("bob", "secret", Some("proj7")));
    s.run(
        "> USER bob
         < 332 Account please
         > ACCT proj7
         < 202 Account superfluous",
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

#[test]
fn login_asked_for_an_account_it_has_not() {
    let mut s = Script::new();
    s.start(login("bob", "secret", None));
    s.run(
        "> USER bob
         < 331 Password required
         > PASS secret
         < 332 Need account for login",
    );
    assert_eq!(s.done(), Err(refused(332, "Need account for login")));
    assert!(!s.client.is_closed());
}

#[test]
fn login_refused_carries_code_and_text() {
    let mut s = Script::new();
    s.start(login("bob", "wrong", None));
    s.run(
        "> USER bob
         < 331 Please specify the password.
         > PASS wrong
         < 530 Login incorrect.",
    );
    let err = s.done().unwrap_err();
    assert_eq!(err, refused(530, "Login incorrect."));
    assert_eq!(err.code(), Some(code(530)));
    assert_eq!(err.to_string(), "530 Login incorrect.");
    // The session goes on: the user may try again.
    s.start(login("bob", "right", None));
    s.run("> USER bob");
}

#[test]
fn multi_line_replies_are_one_reply() {
    let mut s = Script::new();
    s.start(login("anonymous", "x", None));
    s.run(
        "> USER anonymous
         < 230-Welcome to the archive.
         < 230-Mirrors are listed in /MIRRORS.
         < 230 Login successful.",
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));
    s.start(Op::Raw("HELP".into()));
    s.run(
        "> HELP
         < 214-The following commands are recognized.
         <  USER PASS QUIT
         < 214 Help OK.",
    );
    assert_eq!(
        s.done(),
        Ok(Outcome::Reply(Reply {
            code: code(214),
            text: "The following commands are recognized.\n USER PASS QUIT\nHelp OK.".into()
        }))
    );
}

#[test]
fn multi_line_reply_ending_in_a_bare_code() {
    let mut s = Script::logged_in();
    s.start(Op::Features);
    s.run(
        "> FEAT
         < 211-Features:
         <  EPSV
         <  SIZE
         < 211",
    );
    match s.done() {
        Ok(Outcome::Features(f)) => assert!(f.has("EPSV") && f.has("SIZE")),
        other => panic!("expected features, got {other:?}"),
    }
    s.start(Op::Noop);
    s.run("> NOOP\n< 200 next");
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

#[test]
fn replies_split_anywhere_and_joined() {
    let mut s = Script::new();
    s.start(login("bob", "pw", None));
    s.pull();
    s.sent.clear();
    // Both replies in byte-sized pieces, the second reply's bytes
    // arriving with the first's.
    let bytes = b"331 Password\r\n";
    for b in bytes.chunks(1) {
        s.feed(b);
    }
    s.run("> PASS pw");
    s.feed(b"230 ok\r\n");
    assert_eq!(s.done(), Ok(Outcome::Ok));
    s.start(Op::Noop);
    s.start_err_busy();
    s.feed(b"200 NOOP ok\r\n");
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

impl Script {
    fn start_err_busy(&mut self) {
        assert_eq!(
            self.client.start(self.now, Op::Pwd),
            Err(ftp_proto::client::Busy)
        );
    }
}

// ---- simple commands ----------------------------------------------------

#[test]
fn features_parsed() {
    let mut s = Script::logged_in();
    s.start(Op::Features);
    s.run(
        "> FEAT
         < 211-Extensions supported:
         <  MLST type*;size*;modify*;perm;unique;
         <  REST STREAM
         <  SIZE
         <  MDTM
         <  EPSV
         <  UTF8
         <  LANG EN*
         < 211 End",
    );
    let Ok(Outcome::Features(f)) = s.done() else {
        panic!("no features")
    };
    assert!(f.size() && f.mdtm() && f.epsv() && f.utf8() && f.rest_stream());
    assert!(f.has("lang"));
    assert_eq!(f.params("LANG"), Some("EN*"));
    let facts: Vec<_> = f
        .mlst_facts()
        .unwrap()
        .map(|fact| (fact.name, fact.enabled))
        .collect();
    assert_eq!(
        facts,
        [
            ("type", true),
            ("size", true),
            ("modify", true),
            ("perm", false),
            ("unique", false)
        ]
    );
    assert_eq!(s.client.features(), Some(&f));

    // RFC 2389 §3: a server without FEAT says 500; no features.
    s.start(Op::Features);
    s.run(
        "> FEAT
         < 500 Unknown command",
    );
    let Ok(Outcome::Features(f)) = s.done() else {
        panic!("no features")
    };
    assert!(f.is_empty() && !f.size() && f.mlst_facts().is_none());

    // A 211 of one line lists nothing.
    s.start(Op::Features);
    s.run(
        "> FEAT
         < 211 No features",
    );
    let Ok(Outcome::Features(f)) = s.done() else {
        panic!("no features")
    };
    assert!(f.is_empty());
}

#[test]
fn pwd_and_mkd_undo_quoting() {
    let mut s = Script::logged_in();
    s.start(Op::Pwd);
    // RFC 959 Appendix II: embedded quotes are doubled.
    s.run(
        r#"> PWD
           < 257 "/home/bob/say ""hi""" is the current directory"#,
    );
    assert_eq!(s.done(), Ok(Outcome::Path(r#"/home/bob/say "hi""#.into())));

    s.start(Op::Pwd);
    s.run(
        "> PWD
         < 257 no quotes here",
    );
    assert_eq!(
        s.done(),
        Err(ClientError::Unexpected {
            code: code(257),
            text: "no quotes here".into()
        })
    );

    s.start(Op::MakeDir("new dir".into()));
    s.run(
        r#"> MKD new dir
           < 257 "/home/bob/new dir" created"#,
    );
    assert_eq!(s.done(), Ok(Outcome::Path("/home/bob/new dir".into())));

    // A 257 that quotes nothing: the path asked for.
    s.start(Op::MakeDir("x".into()));
    s.run(
        "> MKD x
         < 257 Directory created",
    );
    assert_eq!(s.done(), Ok(Outcome::Path("x".into())));

    s.start(Op::MakeDir("x".into()));
    s.run(
        "> MKD x
         < 550 Create directory operation failed.",
    );
    assert_eq!(
        s.done(),
        Err(refused(550, "Create directory operation failed."))
    );
}

#[test]
fn size_and_mdtm() {
    let mut s = Script::logged_in();
    s.start(Op::Size("big.iso".into()));
    s.run(
        "> SIZE big.iso
         < 213 68719476736",
    );
    assert_eq!(s.done(), Ok(Outcome::Size(68_719_476_736)));

    s.start(Op::Size("dir".into()));
    s.run(
        "> SIZE dir
         < 550 Could not get file size.",
    );
    assert_eq!(s.done(), Err(refused(550, "Could not get file size.")));

    s.start(Op::Size("odd".into()));
    s.run(
        "> SIZE odd
         < 213 lots",
    );
    assert!(matches!(s.done(), Err(ClientError::Unexpected { .. })));

    // RFC 3659 §3.3: 1996-02-28 12:34:56 UTC, fractions allowed.
    s.start(Op::Mdtm("a.txt".into()));
    s.run(
        "> MDTM a.txt
         < 213 19960228123456",
    );
    assert_eq!(s.done(), Ok(Outcome::Modified(825_510_896)));
    s.start(Op::Mdtm("a.txt".into()));
    s.run(
        "> MDTM a.txt
         < 213 19960228123456.789",
    );
    assert_eq!(s.done(), Ok(Outcome::Modified(825_510_896)));
    // draft-somers-ftp-mfxx §3: MFMT time path, 213 on success.
    s.start(Op::SetModified {
        path: "a b.txt".into(),
        modified: 825_510_896,
    });
    s.run(
        "> MFMT 19960228123456 a b.txt
         < 213 Modify=19960228123456; a b.txt",
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));
    s.start(Op::SetModified {
        path: "ro".into(),
        modified: 0,
    });
    s.run(
        "> MFMT 19700101000000 ro
         < 550 Permission denied.",
    );
    assert_eq!(s.done(), Err(refused(550, "Permission denied.")));
}

#[test]
fn plain_commands() {
    let mut s = Script::logged_in();
    let cases: [(Op, &str, &str); 8] = [
        (
            Op::SetType(TransferType::Binary),
            "TYPE I",
            "200 Switching to Binary mode.",
        ),
        (
            Op::SetType(TransferType::Ascii),
            "TYPE A",
            "200 Switching to ASCII mode.",
        ),
        (
            Op::Cwd("pub/linux".into()),
            "CWD pub/linux",
            "250 Directory successfully changed.",
        ),
        (Op::Cdup, "CDUP", "250 Directory successfully changed."),
        (
            Op::RemoveDir("old".into()),
            "RMD old",
            "250 Remove directory operation successful.",
        ),
        (
            Op::Delete("f.txt".into()),
            "DELE f.txt",
            "250 Delete operation successful.",
        ),
        (Op::Noop, "NOOP", "200 NOOP ok."),
        (
            Op::Raw("SITE CHMOD 644 f".into()),
            "SITE CHMOD 644 f",
            "200 SITE CHMOD command ok.",
        ),
    ];
    for (op, command, reply) in cases {
        let raw = matches!(op, Op::Raw(_));
        s.start(op);
        s.run(&format!("> {command}\n< {reply}"));
        let done = s.done();
        if raw {
            assert!(matches!(done, Ok(Outcome::Reply(r)) if r.code == code(200)));
        } else {
            assert_eq!(done, Ok(Outcome::Ok));
        }
    }
    s.start(Op::Cwd("nope".into()));
    s.run(
        "> CWD nope
         < 550 Failed to change directory.",
    );
    assert_eq!(s.done(), Err(refused(550, "Failed to change directory.")));
    s.start(Op::Raw("SITE NOPE".into()));
    s.run(
        "> SITE NOPE
         < 500 Unknown SITE command.",
    );
    assert_eq!(s.done(), Err(refused(500, "Unknown SITE command.")));
}

#[test]
fn rename() {
    let mut s = Script::logged_in();
    s.start(Op::Rename {
        from: "a".into(),
        to: "b".into(),
    });
    s.run(
        "> RNFR a
         < 350 Ready for RNTO.
         > RNTO b
         < 250 Rename successful.",
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));

    s.start(Op::Rename {
        from: "missing".into(),
        to: "b".into(),
    });
    s.run(
        "> RNFR missing
         < 550 RNFR command failed.",
    );
    assert_eq!(s.done(), Err(refused(550, "RNFR command failed.")));
    s.nothing_sent();

    s.start(Op::Rename {
        from: "a".into(),
        to: "/etc/passwd".into(),
    });
    s.run(
        "> RNFR a
         < 350 Ready for RNTO.
         > RNTO /etc/passwd
         < 553 Not allowed.",
    );
    assert_eq!(s.done(), Err(refused(553, "Not allowed.")));
}

#[test]
fn arguments_that_would_inject_commands_are_refused() {
    let mut s = Script::logged_in();
    for op in [
        Op::Cwd("a\r\nDELE b".into()),
        Op::Delete("x\ny".into()),
        Op::Rename {
            from: "a".into(),
            to: "b\rc".into(),
        },
        Op::Raw("NOOP\r\nDELE x".into()),
        Op::Cwd(String::new()),
        Op::Transfer(transfer(TransferKind::Retrieve, None)),
        Op::Transfer(Transfer {
            offset: Some(5),
            ..transfer(TransferKind::List, None)
        }),
    ] {
        s.start(op);
        assert!(matches!(s.done(), Err(ClientError::InvalidArgument(_))));
        s.nothing_sent();
    }
}

#[test]
fn quit() {
    let mut s = Script::logged_in();
    s.start(Op::Quit);
    s.run(
        "> QUIT
         < 221 Goodbye.",
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));
    assert!(s.client.is_closed());
    assert_eq!(s.client.poll_timeout(), None);
    // A closed session ends anything started at once.
    s.start(Op::Noop);
    assert_eq!(s.done(), Err(ClientError::Closed { reply: None }));
    s.nothing_sent();

    // A server that just closes on QUIT has done what was asked.
    let mut s = Script::logged_in();
    s.start(Op::Quit);
    s.run("> QUIT");
    s.client.handle_eof(s.now);
    assert_eq!(s.done(), Ok(Outcome::Ok));
    assert!(s.client.is_closed());
}

// ---- sessions ending badly ----------------------------------------------

#[test]
fn reply_timeout_closes() {
    let config = ClientConfig {
        reply_timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    };
    let mut s = Script::greeted(config, SERVER);
    assert_eq!(s.client.poll_timeout(), None, "idle: nothing awaited");
    s.start(Op::Pwd);
    s.run("> PWD");
    assert_eq!(
        s.client.poll_timeout(),
        Some(Instant::from_micros(10_000_000))
    );
    s.advance(Duration::from_secs(9));
    s.client.handle_timeout(s.now);
    s.no_event();
    s.advance(Duration::from_secs(1));
    s.client.handle_timeout(s.now);
    assert_eq!(s.done(), Err(ClientError::Timeout));
    assert!(s.client.is_closed());

    // No greeting at all.
    let mut s = Script::with(ClientConfig::default(), SERVER);
    s.advance(Duration::from_secs(60));
    s.client.handle_timeout(s.now);
    assert_eq!(s.event(), Some(Event::Disconnected(ClientError::Timeout)));
}

#[test]
fn service_closing_421() {
    // In answer to a command.
    let mut s = Script::logged_in();
    s.start(Op::Cwd("x".into()));
    s.run(
        "> CWD x
         < 421 Timeout.",
    );
    let err = s.done().unwrap_err();
    assert_eq!(
        err,
        ClientError::Closed {
            reply: Some(Reply {
                code: code(421),
                text: "Timeout.".into()
            })
        }
    );
    assert_eq!(err.code(), Some(code(421)));
    assert!(s.client.is_closed());

    // Unasked, between operations.
    let mut s = Script::logged_in();
    s.run("< 421 Shutting down");
    assert!(matches!(
        s.event(),
        Some(Event::Disconnected(ClientError::Closed { reply: Some(r) })) if r.code == code(421)
    ));
    assert!(s.client.is_closed());

    // The connection just closes mid-operation.
    let mut s = Script::logged_in();
    s.start(Op::Noop);
    s.run("> NOOP");
    s.client.handle_eof(s.now);
    assert_eq!(s.done(), Err(ClientError::Closed { reply: None }));
}

#[test]
fn garbage_closes_the_session() {
    let mut s = Script::logged_in();
    s.start(Op::Noop);
    s.run("> NOOP");
    s.feed(b"hello there\r\n");
    assert!(matches!(s.done(), Err(ClientError::Malformed(_))));
    assert!(s.client.is_closed());
}

#[test]
fn replies_that_are_not_utf8_keep_the_session() {
    let mut s = Script::logged_in();
    s.start(Op::Pwd);
    s.run("> PWD");
    s.feed(b"257 \"/caf\xe9\" is the current directory\r\n");
    assert_eq!(s.done(), Ok(Outcome::Path("/caf\u{fffd}".into())));
    assert!(!s.client.is_closed());

    // A 150 naming a Latin-1 file in the middle of a transfer.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("caf")), 50010);
    s.run("> RETR caf");
    s.feed(b"150 Opening BINARY mode data connection for caf\xe9 (4 bytes).\r\n");
    assert_eq!(s.started(), Some(4));
    s.client.data_finished(s.now, 4);
    s.run("< 226 Transfer complete.");
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 4 }));
    s.start(Op::Noop);
    s.run("> NOOP\n< 200 ok");
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

#[test]
fn stray_replies_between_operations_are_ignored() {
    let mut s = Script::logged_in();
    s.run("< 200 unasked");
    s.no_event();
    s.start(Op::Noop);
    s.run(
        "> NOOP
         < 200 ok",
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

// ---- passive transfers --------------------------------------------------

impl Script {
    fn connect_event(&mut self) -> SocketAddr {
        match self.event() {
            Some(Event::Connect(addr)) => addr,
            other => panic!("expected Connect, got {other:?}"),
        }
    }

    fn started(&mut self) -> Option<u64> {
        match self.event() {
            Some(Event::TransferStarted { size, .. }) => size,
            other => panic!("expected TransferStarted, got {other:?}"),
        }
    }
}

#[test]
fn epsv_connects_to_the_control_peer() {
    let mut s = Script::logged_in();
    s.start(Op::Transfer(transfer(
        TransferKind::Retrieve,
        Some("file.bin"),
    )));
    s.run(
        "> EPSV
         < 229 Entering Extended Passive Mode (|||50123|)",
    );
    assert_eq!(s.connect_event(), "198.51.100.20:50123".parse().unwrap());
    s.no_event();
    // Nothing more is sent until the data connection is up.
    s.nothing_sent();
    s.client.data_connected(s.now);
    s.run(
        "> RETR file.bin
         < 150 Opening BINARY mode data connection for file.bin (1048576 bytes).",
    );
    assert_eq!(s.started(), Some(1_048_576));
    s.client.data_finished(s.now, 1_048_576);
    s.no_event();
    s.run("< 226 Transfer complete.");
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 1_048_576 }));
}

#[test]
fn epsv_refused_falls_back_to_pasv_and_is_remembered() {
    let mut s = Script::logged_in();
    s.start(Op::Transfer(transfer(TransferKind::NameList, None)));
    s.run(
        "> EPSV
         < 500 'EPSV': command not understood.
         > PASV
         < 227 Entering Passive Mode (198,51,100,20,195,80).",
    );
    assert_eq!(s.connect_event(), "198.51.100.20:50000".parse().unwrap());
    s.client.data_connected(s.now);
    s.run(
        "> NLST
         < 150 Here comes the listing.
         < 226 Directory send OK.",
    );
    assert_eq!(s.started(), None);
    s.client.data_finished(s.now, 12);
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 12 }));

    // The next transfer goes straight to PASV.
    s.start(Op::Transfer(transfer(TransferKind::List, Some("pub"))));
    s.run(
        "> PASV
         < 227 Entering Passive Mode (198,51,100,20,195,81)",
    );
    assert_eq!(s.connect_event(), "198.51.100.20:50001".parse().unwrap());
}

#[test]
fn pasv_address_in_reply_is_not_trusted() {
    let config = ClientConfig {
        prefer_epsv: false,
        ..ClientConfig::default()
    };
    let mut s = Script::greeted(config, SERVER);
    s.start(Op::Transfer(transfer(TransferKind::Retrieve, Some("f"))));
    // A server (or a NAT, or an attacker) names another host: the data
    // connection still goes to the control peer (RFC 2577 §3).
    s.run(
        "> PASV
         < 227 Entering Passive Mode (10,0,0,9,4,1)",
    );
    assert_eq!(s.connect_event(), "198.51.100.20:1025".parse().unwrap());
}

#[test]
fn passive_reply_without_a_port() {
    let mut s = Script::logged_in();
    s.start(Op::Transfer(transfer(TransferKind::List, None)));
    s.run(
        "> EPSV
         < 229 Entering Extended Passive Mode",
    );
    assert_eq!(
        s.done(),
        Err(ClientError::Unexpected {
            code: code(229),
            text: "Entering Extended Passive Mode".into()
        })
    );
    s.nothing_sent();
}

#[test]
fn ipv6_server_uses_epsv_even_when_pasv_preferred() {
    let config = ClientConfig {
        prefer_epsv: false,
        ..ClientConfig::default()
    };
    let mut s = Script::greeted(config, "[2001:db8::7]:21");
    s.start(Op::Transfer(transfer(TransferKind::List, None)));
    s.run(
        "> EPSV
         < 229 Extended Passive (|||40000|)",
    );
    assert_eq!(s.connect_event(), "[2001:db8::7]:40000".parse().unwrap());
    // ...and does not fall back to PASV, which cannot name it.
    s.client.data_failed(s.now);
    assert_eq!(s.done(), Err(ClientError::DataConnection));
    s.start(Op::Transfer(transfer(TransferKind::List, None)));
    s.run(
        "> EPSV
         < 500 no",
    );
    assert_eq!(s.done(), Err(refused(500, "no")));
    s.nothing_sent();
}

#[test]
fn resume_with_rest() {
    let mut s = Script::logged_in();
    s.start(Op::Transfer(Transfer {
        offset: Some(4096),
        ..transfer(TransferKind::Retrieve, Some("big.iso"))
    }));
    s.run(
        "> EPSV
         < 229 Entering Extended Passive Mode (|||50000|)",
    );
    s.connect_event();
    s.client.data_connected(s.now);
    // RFC 959 §4.1.3: REST immediately before the command it modifies.
    s.run(
        "> REST 4096
         < 350 Restart position accepted (4096).
         > RETR big.iso
         < 150 Opening BINARY mode data connection for big.iso (10000 bytes).",
    );
    assert_eq!(s.started(), Some(10000));
    s.run("< 226 Transfer complete.");
    s.no_event();
    s.client.data_finished(s.now, 5904);
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 5904 }));

    // A server without REST: the error, and the data connection dropped.
    s.start(Op::Transfer(Transfer {
        offset: Some(10),
        ..transfer(TransferKind::Store, Some("up"))
    }));
    s.run(
        "> EPSV
         < 229 (|||50001|)",
    );
    s.connect_event();
    s.client.data_connected(s.now);
    s.run(
        "> REST 10
         < 502 REST not implemented.",
    );
    assert_eq!(s.event(), Some(Event::CloseData));
    assert_eq!(s.done(), Err(refused(502, "REST not implemented.")));
    s.nothing_sent();
}

#[test]
fn rest_left_on_the_server_is_undone_before_the_next_transfer() {
    let mut s = Script::logged_in();
    // Aborted while REST is outstanding: its 350 still comes, and the
    // server now holds offset 100 with no RETR to use it.
    s.start(Op::Transfer(Transfer {
        offset: Some(100),
        ..transfer(TransferKind::Retrieve, Some("a"))
    }));
    s.run("> EPSV\n< 229 (|||5000|)");
    s.connect_event();
    s.client.data_connected(s.now);
    s.run("> REST 100");
    assert!(s.client.abort(s.now));
    assert_eq!(s.event(), Some(Event::CloseData));
    s.run("< 350 Restart position accepted (100).");
    assert_eq!(s.done(), Err(ClientError::Aborted));
    s.nothing_sent();

    // Some servers keep a REST across EPSV: a download without an offset
    // resets it to 0 first.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("b")), 5001);
    s.run(
        "> REST 0
         < 350 Restart position accepted (0).
         > RETR b
         < 150 Opening BINARY mode data connection for b (3 bytes).",
    );
    assert_eq!(s.started(), Some(3));
    s.client.data_finished(s.now, 3);
    s.run("< 226 Transfer complete.");
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 3 }));

    // RETR used it: the next transfer sends no REST.
    s.transfer_ascii(TransferKind::Retrieve, "RETR");

    // The data connection failing while REST is outstanding leaves the
    // same state; the next transfer's own offset replaces it.
    s.start(Op::Transfer(Transfer {
        offset: Some(7),
        ..transfer(TransferKind::Store, Some("up"))
    }));
    s.run("> EPSV\n< 229 (|||5002|)");
    s.connect_event();
    s.client.data_connected(s.now);
    s.run("> REST 7");
    s.client.data_failed(s.now);
    s.run("< 350 Restart position accepted (7).");
    assert_eq!(s.done(), Err(ClientError::DataConnection));
    s.start(Op::Transfer(Transfer {
        offset: Some(9),
        ..transfer(TransferKind::Retrieve, Some("c"))
    }));
    s.run("> EPSV\n< 229 (|||5003|)");
    s.connect_event();
    s.client.data_connected(s.now);
    s.run("> REST 9\n< 350 ok\n> RETR c\n< 150 Opening");
    s.started();
    s.run("< 226 Transfer complete.");
    s.client.data_finished(s.now, 1);
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 1 }));

    // A refused REST leaves nothing behind.
    s.start(Op::Transfer(Transfer {
        offset: Some(5),
        ..transfer(TransferKind::Retrieve, Some("d"))
    }));
    s.run("> EPSV\n< 229 (|||5004|)");
    s.connect_event();
    s.client.data_connected(s.now);
    s.run("> REST 5\n< 554 No.");
    assert_eq!(s.event(), Some(Event::CloseData));
    assert_eq!(s.done(), Err(refused(554, "No.")));
    s.transfer_ascii(TransferKind::List, "LIST");
}

#[test]
fn store_and_append_and_unique() {
    let mut s = Script::logged_in();
    for (kind, command) in [
        (TransferKind::Store, "STOR up.bin"),
        (TransferKind::Append, "APPE up.bin"),
        (TransferKind::StoreUnique, "STOU up.bin"),
    ] {
        assert!(kind.is_upload());
        s.start(Op::Transfer(transfer(kind, Some("up.bin"))));
        s.run(
            "> EPSV
             < 229 Entering Extended Passive Mode (|||50002|)",
        );
        s.connect_event();
        s.client.data_connected(s.now);
        s.run(&format!("> {command}\n< 150 Ok to send data."));
        assert_eq!(s.started(), None);
        // The driver writes the file, closes the connection, reports.
        s.client.data_finished(s.now, 3);
        s.run("< 226 Transfer complete.");
        assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 3 }));
    }
    s.start(Op::Transfer(transfer(TransferKind::StoreUnique, None)));
    s.run(
        "> EPSV
         < 229 (|||50002|)",
    );
    s.connect_event();
    s.client.data_connected(s.now);
    s.run("> STOU\n< 150 FILE: upload.3");
    // RFC 1123 §4.1.2.9: the name the server chose.
    match s.event() {
        Some(Event::TransferStarted { name, .. }) => assert_eq!(name.as_deref(), Some("upload.3")),
        other => panic!("expected TransferStarted, got {other:?}"),
    }
    s.client.data_finished(s.now, 0);
    s.run("< 226 Transfer complete.");
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 0 }));
}

#[test]
fn only_stou_reports_a_file_name() {
    let mut s = Script::logged_in();
    s.passive_ready(transfer(TransferKind::Store, Some("x")), 50002);
    s.run("> STOR x\n< 150 FILE: x");
    match s.event() {
        Some(Event::TransferStarted { name, .. }) => assert_eq!(name, None),
        other => panic!("expected TransferStarted, got {other:?}"),
    }
}

#[test]
fn listings() {
    let mut s = Script::logged_in();
    for (kind, path, command) in [
        (TransferKind::List, None, "LIST"),
        (TransferKind::List, Some("pub dir"), "LIST pub dir"),
        (TransferKind::NameList, Some("pub"), "NLST pub"),
        (TransferKind::MachineList, None, "MLSD"),
    ] {
        assert!(!kind.is_upload());
        s.start(Op::Transfer(transfer(kind, path)));
        s.run(
            "> EPSV
             < 229 Entering Extended Passive Mode (|||50003|)",
        );
        s.connect_event();
        s.client.data_connected(s.now);
        s.run(&format!(
            "> {command}\n< 150 Here comes the directory listing."
        ));
        s.started();
        s.client.data_finished(s.now, 80);
        s.run("< 226 Directory send OK.");
        assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 80 }));
    }
}

#[test]
fn transfer_completes_in_either_order() {
    // The data connection's end first, the 226 after.
    let mut s = Script::logged_in();
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50004);
    s.run("> RETR f\n< 150 Opening");
    s.started();
    s.client.data_finished(s.now, 7);
    s.no_event();
    assert!(s.client.is_busy());
    s.run("< 226 Done");
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 7 }));

    // The 226 first, the data connection's end after.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50004);
    s.run("> RETR f\n< 150 Opening\n< 226 Done");
    s.started();
    s.no_event();
    assert!(s.client.is_busy());
    s.client.data_finished(s.now, 7);
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 7 }));

    // The data connection's end even before the 150 is read.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50004);
    s.run("> RETR f");
    s.client.data_finished(s.now, 7);
    s.run("< 150 Opening\n< 226 Done");
    s.started();
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 7 }));
}

#[test]
fn transfer_refusals_carry_code_and_text() {
    let mut s = Script::logged_in();
    // 550 before any data: the driver drops the connection it opened.
    s.start(Op::Transfer(transfer(
        TransferKind::Retrieve,
        Some("missing"),
    )));
    s.run("> EPSV\n< 229 (|||50005|)");
    s.connect_event();
    s.client.data_connected(s.now);
    s.run("> RETR missing\n< 550 Failed to open file.");
    assert_eq!(s.event(), Some(Event::CloseData));
    assert_eq!(s.done(), Err(refused(550, "Failed to open file.")));

    // 425: the server could not get the data connection.
    s.passive_ready(transfer(TransferKind::List, None), 50005);
    s.run("> LIST\n< 425 Failed to establish connection.");
    assert_eq!(s.event(), Some(Event::CloseData));
    assert_eq!(
        s.done(),
        Err(refused(425, "Failed to establish connection."))
    );

    // 426 after the 150: the transfer broke on the server's side.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50005);
    s.run("> RETR f\n< 150 Opening\n< 426 Failure writing network stream.");
    s.started();
    assert_eq!(s.event(), Some(Event::CloseData));
    assert_eq!(
        s.done(),
        Err(refused(426, "Failure writing network stream."))
    );

    // EPSV refused with a 4yz: no fallback, an error.
    s.start(Op::Transfer(transfer(TransferKind::List, None)));
    s.run("> EPSV\n< 425 Cannot open passive connection");
    assert_eq!(
        s.done(),
        Err(refused(425, "Cannot open passive connection"))
    );
    // The session is fine.
    s.start(Op::Noop);
    s.run("> NOOP\n< 200 ok");
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

#[test]
fn data_connection_failures() {
    let mut s = Script::logged_in();
    // Cannot connect: fails at once, nothing more sent.
    s.start(Op::Transfer(transfer(TransferKind::Retrieve, Some("f"))));
    s.run("> EPSV\n< 229 (|||50006|)");
    s.connect_event();
    s.client.data_failed(s.now);
    assert_eq!(s.done(), Err(ClientError::DataConnection));
    s.nothing_sent();

    // Breaks mid-transfer: the server's reply says how it saw it.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50006);
    s.run("> RETR f\n< 150 Opening");
    s.started();
    s.client.data_failed(s.now);
    s.no_event();
    s.run("< 426 Connection closed; transfer aborted.");
    assert_eq!(
        s.done(),
        Err(refused(426, "Connection closed; transfer aborted."))
    );

    // Breaks, yet the server thinks all went well.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50006);
    s.run("> RETR f\n< 150 Opening");
    s.started();
    s.client.data_failed(s.now);
    s.run("< 226 Transfer complete.");
    assert_eq!(s.done(), Err(ClientError::DataConnection));

    // Breaks before the 150: no TransferStarted for a connection gone.
    s.passive_ready(transfer(TransferKind::Store, Some("f")), 50006);
    s.run("> STOR f");
    s.client.data_failed(s.now);
    s.run("< 150 Ok to send data.");
    s.no_event();
    s.run("< 426 Failure reading network stream.");
    assert_eq!(
        s.done(),
        Err(refused(426, "Failure reading network stream."))
    );

    // Breaks after the 226.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50006);
    s.run("> RETR f\n< 150 Opening\n< 226 Transfer complete.");
    s.started();
    s.client.data_failed(s.now);
    assert_eq!(s.done(), Err(ClientError::DataConnection));
}

#[test]
fn data_timeout_restarts_with_progress() {
    let config = ClientConfig {
        reply_timeout: Duration::from_secs(5),
        data_timeout: Duration::from_secs(20),
        ..ClientConfig::default()
    };
    let mut s = Script::greeted(config, SERVER);
    s.start(Op::Transfer(transfer(TransferKind::Retrieve, Some("f"))));
    s.run("> EPSV\n< 229 (|||50006|)");
    s.connect_event();
    s.advance(Duration::from_secs(1));
    s.client.data_connected(s.now);
    s.run("> RETR f\n< 150 Opening");
    s.started();
    // Long transfers: only silence on the data connection counts.
    for _ in 0..10 {
        s.advance(Duration::from_secs(15));
        s.client.data_progress(s.now);
        s.client.handle_timeout(s.now);
        s.no_event();
    }
    assert_eq!(
        s.client.poll_timeout(),
        Some(s.now + Duration::from_secs(20))
    );
    s.advance(Duration::from_secs(20));
    s.client.handle_timeout(s.now);
    assert_eq!(s.event(), Some(Event::CloseData));
    assert_eq!(s.done(), Err(ClientError::Timeout));
    assert!(s.client.is_closed());
}

// ---- active transfers ---------------------------------------------------

#[test]
fn active_with_eprt() {
    let mut s = Script::logged_in();
    s.start(Op::Transfer(active(transfer(
        TransferKind::Retrieve,
        Some("f"),
    ))));
    assert_eq!(s.event(), Some(Event::Listen));
    s.nothing_sent();
    s.client
        .listening(s.now, "198.51.100.1:40001".parse().unwrap());
    s.run(
        "> EPRT |1|198.51.100.1|40001|
         < 200 EPRT command successful.
         > RETR f
         < 150 Opening BINARY mode data connection for f (3 bytes).",
    );
    assert_eq!(s.event(), Some(Event::Accept));
    assert_eq!(s.started(), Some(3));
    s.client.data_connected(s.now);
    s.client.data_finished(s.now, 3);
    s.run("< 226 Transfer complete.");
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 3 }));
}

#[test]
fn active_eprt_refused_falls_back_to_port() {
    let mut s = Script::logged_in();
    s.start(Op::Transfer(Transfer {
        offset: Some(100),
        ..active(transfer(TransferKind::Store, Some("up")))
    }));
    assert_eq!(s.event(), Some(Event::Listen));
    s.client
        .listening(s.now, "198.51.100.1:40002".parse().unwrap());
    // A server that connects before its 150 (as vsftpd does): the
    // driver may accept as soon as the connection is there.
    s.run(
        "> EPRT |1|198.51.100.1|40002|
         < 502 EPRT not implemented
         > PORT 198,51,100,1,156,66
         < 200 PORT command successful.
         > REST 100
         < 350 Restart position accepted (100).
         > STOR up",
    );
    s.client.data_connected(s.now);
    s.run("< 150 Ok to send data.");
    assert_eq!(s.started(), None);
    s.no_event(); // already accepted: no Accept
    s.client.data_finished(s.now, 900);
    s.run("< 226 Transfer complete.");
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 900 }));

    // Remembered: PORT straight away next time.
    s.start(Op::Transfer(active(transfer(TransferKind::List, None))));
    assert_eq!(s.event(), Some(Event::Listen));
    s.client
        .listening(s.now, "198.51.100.1:40003".parse().unwrap());
    s.run("> PORT 198,51,100,1,156,67\n< 500 Illegal PORT command.");
    assert_eq!(s.event(), Some(Event::CloseData));
    assert_eq!(s.done(), Err(refused(500, "Illegal PORT command.")));
}

#[test]
fn active_ipv6_and_port_preference() {
    let mut s = Script::greeted(ClientConfig::default(), "[2001:db8::7]:21");
    s.start(Op::Transfer(active(transfer(TransferKind::List, None))));
    assert_eq!(s.event(), Some(Event::Listen));
    s.client
        .listening(s.now, "[2001:db8::1]:40004".parse().unwrap());
    s.run("> EPRT |2|2001:db8::1|40004|\n< 522 Network protocol not supported, use (1)");
    // No PORT for an IPv6 listener.
    assert_eq!(s.event(), Some(Event::CloseData));
    assert!(matches!(s.done(), Err(ClientError::Reply { code: c, .. }) if c == code(522)));
    s.nothing_sent();

    let config = ClientConfig {
        prefer_eprt: false,
        ..ClientConfig::default()
    };
    let mut s = Script::greeted(config, SERVER);
    s.start(Op::Transfer(active(transfer(TransferKind::List, None))));
    assert_eq!(s.event(), Some(Event::Listen));
    s.client
        .listening(s.now, "198.51.100.1:1025".parse().unwrap());
    s.run("> PORT 198,51,100,1,4,1\n< 200 ok\n> LIST");
}

#[test]
fn active_listener_failure() {
    let mut s = Script::logged_in();
    s.start(Op::Transfer(active(transfer(TransferKind::List, None))));
    assert_eq!(s.event(), Some(Event::Listen));
    s.client.data_failed(s.now);
    assert_eq!(s.done(), Err(ClientError::DataConnection));
    s.nothing_sent();
}

// ---- ABOR ---------------------------------------------------------------

#[test]
fn abort_during_transfer() {
    let mut s = Script::logged_in();
    s.passive_ready(transfer(TransferKind::Retrieve, Some("big")), 50007);
    s.run("> RETR big\n< 150 Opening");
    s.started();
    assert!(s.client.abort(s.now));
    assert!(!s.client.abort(s.now), "already aborting");
    assert_eq!(s.event(), Some(Event::CloseData));
    // RFC 959 §4.1.3: Telnet IP and Synch, then ABOR.
    s.pull();
    assert_eq!(s.sent, b"\xff\xf4\xff\xf2ABOR\r\n");
    s.sent.clear();
    s.run("< 426 Connection closed; transfer aborted.");
    s.no_event();
    s.run("< 226 Abort successful");
    assert_eq!(s.done(), Err(ClientError::Aborted));
    // In step again.
    s.start(Op::Noop);
    s.run("> NOOP\n< 200 ok");
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

#[test]
fn abort_variants() {
    let config = ClientConfig {
        telnet_abort: false,
        ..ClientConfig::default()
    };
    let mut s = Script::greeted(config, SERVER);
    // Transfer already done on the server's side: 226, then ABOR's 225.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50007);
    s.run("> RETR f");
    assert!(s.client.abort(s.now));
    assert_eq!(s.event(), Some(Event::CloseData));
    s.run("> ABOR\n< 150 Opening\n< 226 Transfer complete.");
    s.no_event();
    s.run("< 225 No transfer to abort.");
    assert_eq!(s.done(), Err(ClientError::Aborted));

    // A server answering ABOR only (225): done at once.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50007);
    s.run("> RETR f");
    s.client.abort(s.now);
    s.event();
    s.run("> ABOR\n< 225 ABOR command successful.");
    assert_eq!(s.done(), Err(ClientError::Aborted));

    // After the 226: nothing to tell the server.
    s.passive_ready(transfer(TransferKind::Retrieve, Some("f")), 50007);
    s.run("> RETR f\n< 150 Opening\n< 226 Transfer complete.");
    s.started();
    assert!(s.client.abort(s.now));
    assert_eq!(s.event(), Some(Event::CloseData));
    assert_eq!(s.done(), Err(ClientError::Aborted));
    s.nothing_sent();

    // While EPSV is outstanding: its reply is read, nothing else sent.
    s.start(Op::Transfer(transfer(TransferKind::Retrieve, Some("f"))));
    s.run("> EPSV");
    assert!(s.client.abort(s.now));
    s.no_event();
    s.run("< 229 (|||50007|)");
    assert_eq!(s.done(), Err(ClientError::Aborted));
    s.nothing_sent();

    // While waiting for the driver to connect.
    s.start(Op::Transfer(transfer(TransferKind::Retrieve, Some("f"))));
    s.run("> EPSV\n< 229 (|||50007|)");
    s.connect_event();
    assert!(s.client.abort(s.now));
    assert_eq!(s.event(), Some(Event::CloseData));
    assert_eq!(s.done(), Err(ClientError::Aborted));

    // Nothing to abort.
    s.start(Op::Pwd);
    assert!(!s.client.abort(s.now));
}

impl Script {
    /// Starts `t` in passive mode and takes it up to the data connection:
    /// EPSV, its 229 naming `port`, the Connect event, and the connection
    /// made.
    fn passive_ready(&mut self, t: Transfer, port: u16) {
        self.start(Op::Transfer(t));
        self.run(&format!("> EPSV\n< 229 (|||{port}|)"));
        assert_eq!(self.connect_event().port(), port);
        self.client.data_connected(self.now);
    }

    fn started_ascii(&mut self) -> bool {
        match self.event() {
            Some(Event::TransferStarted { ascii, .. }) => ascii,
            other => panic!("expected TransferStarted, got {other:?}"),
        }
    }

    /// A passive transfer of `kind` up to its 150; returns the event's
    /// `ascii`, then finishes it.
    fn transfer_ascii(&mut self, kind: TransferKind, verb: &str) -> bool {
        self.start(Op::Transfer(transfer(kind, Some("f"))));
        self.run(
            "> EPSV
             < 229 Entering Extended Passive Mode (|||50123|)",
        );
        self.connect_event();
        self.client.data_connected(self.now);
        self.run(&format!("> {verb} f\n< 150 Here it comes."));
        let ascii = self.started_ascii();
        self.client.data_finished(self.now, 0);
        self.run("< 226 Done.");
        assert_eq!(self.done(), Ok(Outcome::Transferred { bytes: 0 }));
        ascii
    }
}

#[test]
fn transfers_say_which_type_the_server_accepted() {
    let mut s = Script::logged_in();
    // RFC 959 §3.1.1.5: TYPE A until the server accepts another.
    assert_eq!(s.client.transfer_type(), TransferType::Ascii);
    assert!(s.transfer_ascii(TransferKind::Retrieve, "RETR"));
    s.start(Op::SetType(TransferType::Binary));
    s.run("> TYPE I\n< 504 Not today.");
    assert!(s.done().is_err());
    assert!(s.transfer_ascii(TransferKind::Store, "STOR"));
    s.start(Op::SetType(TransferType::Binary));
    s.run("> TYPE I\n< 200 Switching to Binary mode.");
    assert_eq!(s.done(), Ok(Outcome::Ok));
    assert_eq!(s.client.transfer_type(), TransferType::Binary);
    assert!(!s.transfer_ascii(TransferKind::Retrieve, "RETR"));
    s.start(Op::SetType(TransferType::Ascii));
    s.run("> TYPE A\n< 200 Switching to ASCII mode.");
    assert_eq!(s.done(), Ok(Outcome::Ok));
    // Listings are CR LF text already: never converted.
    assert!(!s.transfer_ascii(TransferKind::List, "LIST"));
    assert!(s.transfer_ascii(TransferKind::Append, "APPE"));
}

#[test]
fn raw_type_and_rein_are_tracked() {
    let mut s = Script::logged_in();
    // A raw TYPE I the server accepts: transfers are binary from now on.
    s.start(Op::Raw("TYPE I".into()));
    s.run("> TYPE I\n< 200 Switching to Binary mode.");
    assert_eq!(
        s.done(),
        Ok(Outcome::Reply(Reply {
            code: code(200),
            text: "Switching to Binary mode.".into()
        }))
    );
    assert_eq!(s.client.transfer_type(), TransferType::Binary);
    assert!(!s.transfer_ascii(TransferKind::Retrieve, "RETR"));

    // Refused: nothing changes.
    s.start(Op::Raw("type a".into()));
    s.run("> type a\n< 504 Not today.");
    assert_eq!(s.done(), Err(refused(504, "Not today.")));
    assert_eq!(s.client.transfer_type(), TransferType::Binary);

    // Lower case, a format control: still TYPE A.
    s.start(Op::Raw("type a n".into()));
    s.run("> type a n\n< 200 ok");
    assert!(s.done().is_ok());
    assert_eq!(s.client.transfer_type(), TransferType::Ascii);
    assert!(s.transfer_ascii(TransferKind::Retrieve, "RETR"));

    // L 8 is binary by another name; a line that does not parse as TYPE
    // changes nothing.
    s.start(Op::Raw("TYPE L 8".into()));
    s.run("> TYPE L 8\n< 200 ok");
    assert!(s.done().is_ok());
    assert_eq!(s.client.transfer_type(), TransferType::Binary);
    s.start(Op::Raw("TYPE Q".into()));
    s.run("> TYPE Q\n< 200 whatever you say");
    assert!(s.done().is_ok());
    assert_eq!(s.client.transfer_type(), TransferType::Binary);

    // REIN puts the server back to TYPE A (RFC 959 §4.1.1).
    s.start(Op::Raw("REIN".into()));
    s.run("> REIN\n< 120 In a moment.\n< 220 Ready for a new user.");
    assert!(s.done().is_ok());
    assert_eq!(s.client.transfer_type(), TransferType::Ascii);
    assert!(s.transfer_ascii(TransferKind::Store, "STOR"));

    // ...and forgets a REST left over from an aborted transfer, so the
    // next transfer needs no REST 0.
    s.start(Op::Transfer(Transfer {
        offset: Some(100),
        ..transfer(TransferKind::Retrieve, Some("a"))
    }));
    s.run("> EPSV\n< 229 (|||5000|)");
    s.connect_event();
    s.client.data_connected(s.now);
    s.run("> REST 100");
    assert!(s.client.abort(s.now));
    assert_eq!(s.event(), Some(Event::CloseData));
    s.run("< 350 Restart position accepted (100).");
    assert_eq!(s.done(), Err(ClientError::Aborted));
    s.start(Op::Raw("REIN".into()));
    s.run("> REIN\n< 220 Ready for a new user.");
    assert!(s.done().is_ok());
    s.transfer_ascii(TransferKind::Retrieve, "RETR");
}

#[test]
fn active_data_connections_are_kept_only_from_the_server() {
    let server: std::net::SocketAddr = "192.0.2.7:21".parse().unwrap();
    let client = ftp_proto::client::Client::new(
        &ftp_proto::client::ClientConfig::default(),
        server,
        ftp_proto::Instant::from_micros(0),
    );
    assert!(client.accept_data_peer("192.0.2.7:20".parse().unwrap()));
    assert!(client.accept_data_peer("192.0.2.7:40000".parse().unwrap()));
    assert!(!client.accept_data_peer("192.0.2.8:20".parse().unwrap()));
}

// ---- FTPS (RFC 4217) ------------------------------------------------------

impl Script {
    /// AUTH TLS up to its 234: the machine asks for the handshake and
    /// waits.
    fn auth_accepted(&mut self) {
        self.start(Op::AuthTls);
        self.run(
            "> AUTH TLS
             < 234 Proceed with negotiation.",
        );
        assert_eq!(self.event(), Some(Event::StartTls));
        self.no_event();
        assert!(self.client.is_busy());
        assert!(!self.client.is_control_secured());
    }

    /// AUTH TLS, the handshake, USER/PASS, PBSZ 0 and PROT P.
    fn protected() -> Script {
        let mut s = Script::new();
        s.auth_accepted();
        s.client.control_secured(s.now);
        assert_eq!(s.done(), Ok(Outcome::Ok));
        assert!(s.client.is_control_secured());
        s.start(login("bob", "secret", None));
        s.run(
            "> USER bob
             < 331 Password required for bob
             > PASS secret
             < 230 Logged in",
        );
        assert_eq!(s.done(), Ok(Outcome::Ok));
        s.start(Op::ProtectData { private: true });
        s.run(
            "> PBSZ 0
             < 200 PBSZ=0
             > PROT P
             < 200 Protection level set to P",
        );
        assert_eq!(s.done(), Ok(Outcome::Ok));
        assert!(s.client.data_protected());
        s
    }

    /// A passive transfer of `kind` to its 150; returns the event's
    /// `protected`, then finishes it.
    fn transfer_protected(&mut self, kind: TransferKind, verb: &str) -> bool {
        self.passive_ready(transfer(kind, Some("f")), 50400);
        self.run(&format!("> {verb} f\n< 150 Here it comes."));
        let protected = match self.event() {
            Some(Event::TransferStarted { protected, .. }) => protected,
            other => panic!("expected TransferStarted, got {other:?}"),
        };
        self.client.data_finished(self.now, 3);
        self.run("< 226 Done.");
        assert_eq!(self.done(), Ok(Outcome::Transferred { bytes: 3 }));
        protected
    }
}

#[test]
fn auth_tls_then_every_transfer_is_protected() {
    let mut s = Script::protected();
    for (kind, verb) in [
        (TransferKind::Retrieve, "RETR"),
        (TransferKind::Store, "STOR"),
        (TransferKind::Append, "APPE"),
        (TransferKind::List, "LIST"),
        (TransferKind::NameList, "NLST"),
        (TransferKind::MachineList, "MLSD"),
    ] {
        assert!(s.transfer_protected(kind, verb), "{verb}");
    }

    // PROT C: PBSZ is not sent again (RFC 4217 §8: once per session), and
    // transfers go in clear on a TLS control connection.
    s.start(Op::ProtectData { private: false });
    s.run(
        "> PROT C
         < 200 Protection level set to C",
    );
    assert_eq!(s.done(), Ok(Outcome::Ok));
    assert!(!s.client.data_protected());
    assert!(!s.transfer_protected(TransferKind::Retrieve, "RETR"));

    // A raw PROT is followed too.
    s.start(Op::Raw("PROT P".into()));
    s.run("> PROT P\n< 200 P it is");
    assert!(matches!(s.done(), Ok(Outcome::Reply(_))));
    assert!(s.transfer_protected(TransferKind::Retrieve, "RETR"));
}

#[test]
fn replies_in_clear_behind_the_234_are_dropped() {
    // RFC 4217 §4: a man in the middle could append a reply after the 234;
    // nothing that came before the handshake may count after it.
    let mut s = Script::new();
    s.start(Op::AuthTls);
    s.run("> AUTH TLS");
    s.feed(b"234 Go ahead\r\n230 Logged in (injected)\r\n226 x");
    assert_eq!(s.event(), Some(Event::StartTls));
    s.no_event();
    // Whatever the driver still feeds before the handshake ends is
    // dropped as well.
    s.feed(b"\r\n200 more\r\n");
    s.no_event();
    s.client.control_secured(s.now);
    assert_eq!(s.done(), Ok(Outcome::Ok));
    // The next reply is the one to the next command.
    s.start(Op::Noop);
    s.run("> NOOP\n< 200 NOOP ok");
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

#[test]
fn auth_refused_leaves_the_session_in_clear() {
    for (reply, want) in [
        ("504 Unknown AUTH type", refused(504, "Unknown AUTH type")),
        (
            "502 AUTH not implemented",
            refused(502, "AUTH not implemented"),
        ),
        ("431 TLS unavailable", refused(431, "TLS unavailable")),
    ] {
        let mut s = Script::new();
        s.start(Op::AuthTls);
        s.run(&format!("> AUTH TLS\n< {reply}"));
        assert_eq!(s.done(), Err(want));
        assert!(!s.client.is_control_secured() && !s.client.is_closed());
        s.start(Op::Noop);
        s.run("> NOOP\n< 200 ok");
        assert_eq!(s.done(), Ok(Outcome::Ok));
    }
    // 334 (ADAT wanted, RFC 2228) or another 2yz is not TLS going up.
    for reply in ["334 ADAT=xyz", "200 Fine"] {
        let mut s = Script::new();
        s.start(Op::AuthTls);
        s.run(&format!("> AUTH TLS\n< {reply}"));
        assert!(
            matches!(s.done(), Err(ClientError::Unexpected { .. })),
            "{reply}"
        );
        assert!(!s.client.is_control_secured());
    }
}

#[test]
fn protection_needs_tls_and_pbsz_first() {
    let mut s = Script::logged_in();
    s.start(Op::ProtectData { private: true });
    assert!(matches!(s.done(), Err(ClientError::InvalidArgument(_))));
    s.nothing_sent();

    // PBSZ refused: no PROT goes out.
    let mut s = Script::new();
    s.auth_accepted();
    s.client.control_secured(s.now);
    assert_eq!(s.done(), Ok(Outcome::Ok));
    s.start(Op::ProtectData { private: true });
    s.run("> PBSZ 0\n< 503 Login first");
    assert_eq!(s.done(), Err(refused(503, "Login first")));
    s.nothing_sent();
    assert!(!s.client.data_protected());
    // PROT P refused: still in clear; PBSZ was taken, so it is not resent.
    s.start(Op::ProtectData { private: true });
    s.run("> PBSZ 0\n< 200 ok\n> PROT P\n< 534 Not for you");
    assert_eq!(s.done(), Err(refused(534, "Not for you")));
    assert!(!s.client.data_protected());
    s.start(Op::ProtectData { private: true });
    s.run("> PROT P\n< 200 ok");
    assert_eq!(s.done(), Ok(Outcome::Ok));

    // A second AUTH on a TLS connection is refused locally.
    s.start(Op::AuthTls);
    assert!(matches!(s.done(), Err(ClientError::InvalidArgument(_))));
    s.nothing_sent();
}

#[test]
fn a_failed_or_slow_handshake_closes_the_session() {
    let mut s = Script::new();
    s.auth_accepted();
    s.client.control_tls_failed(s.now);
    assert_eq!(s.done(), Err(ClientError::TlsFailed));
    assert!(s.client.is_closed());
    s.nothing_sent();

    // The handshake has the reply timeout, like a reply.
    let mut s = Script::new();
    s.auth_accepted();
    let deadline = s.client.poll_timeout().expect("a deadline");
    assert_eq!(deadline, s.now + ClientConfig::default().reply_timeout);
    s.advance(ClientConfig::default().reply_timeout);
    s.client.handle_timeout(s.now);
    assert_eq!(s.done(), Err(ClientError::Timeout));
    assert!(s.client.is_closed());

    // The server closing mid-handshake.
    let mut s = Script::new();
    s.auth_accepted();
    s.client.handle_eof(s.now);
    assert_eq!(s.done(), Err(ClientError::Closed { reply: None }));

    // Reports out of turn change nothing.
    let mut s = Script::logged_in();
    s.client.control_secured(s.now);
    s.client.control_tls_failed(s.now);
    s.no_event();
    assert!(!s.client.is_control_secured() && !s.client.is_closed());
}

#[test]
fn an_implicit_session_protects_without_auth() {
    let mut s = Script {
        client: Client::new_secured(
            &ClientConfig::default(),
            SERVER.parse().unwrap(),
            Instant::ZERO,
        ),
        now: Instant::ZERO,
        sent: Vec::new(),
    };
    // AUTH may be started before the greeting: it is refused at once.
    s.run("< 220 implicit TLS ready");
    assert!(matches!(s.event(), Some(Event::Connected { .. })));
    assert!(s.client.is_control_secured());
    s.start(Op::AuthTls);
    assert!(matches!(s.done(), Err(ClientError::InvalidArgument(_))));
    s.start(Op::ProtectData { private: true });
    s.run("> PBSZ 0\n< 200 ok\n> PROT P\n< 200 ok");
    assert_eq!(s.done(), Ok(Outcome::Ok));
    assert!(s.transfer_protected(TransferKind::NameList, "NLST"));
}

#[test]
fn auth_started_before_the_greeting_waits_for_it() {
    let mut s = Script::with(ClientConfig::default(), SERVER);
    s.start(Op::AuthTls);
    s.nothing_sent();
    s.run("< 220 ready\n> AUTH TLS\n< 234 ok");
    assert!(matches!(s.event(), Some(Event::Connected { .. })));
    assert_eq!(s.event(), Some(Event::StartTls));
    s.client.control_secured(s.now);
    assert_eq!(s.done(), Ok(Outcome::Ok));
}

#[test]
fn restart_marker_replies_neither_start_nor_end_an_upload() {
    // RFC 959 §3.5: a server receiving a MODE B or C upload answers each
    // restart marker with 110 while the data still flows, before the 226.
    let mut s = Script::logged_in();
    s.start(Op::Transfer(transfer(TransferKind::Store, Some("up.bin"))));
    s.run(
        "> EPSV
         < 229 Entering Extended Passive Mode (|||50123|)",
    );
    s.connect_event();
    s.client.data_connected(s.now);
    // A 110 before the 150 does not start the transfer either.
    s.run(
        "> STOR up.bin
         < 110 MARK 1048576 = 1048576",
    );
    s.no_event();
    s.run("< 150 Ok to send data.");
    assert_eq!(s.started(), None);
    let marked = |text: &str| {
        Some(Event::RestartMarker {
            text: text.to_owned(),
        })
    };
    s.run(
        "< 110 MARK 1048576 = 1048576
         < 110 MARK 2097152 = 2097152",
    );
    assert_eq!(s.event(), marked("MARK 1048576 = 1048576"));
    assert_eq!(s.event(), marked("MARK 2097152 = 2097152"));
    s.no_event();
    s.client.data_finished(s.now, 2_097_160);
    s.no_event();
    s.run(
        "< 110 MARK 2097152 = 2097152
         < 226 Transfer complete.",
    );
    assert_eq!(s.event(), marked("MARK 2097152 = 2097152"));
    assert_eq!(s.done(), Ok(Outcome::Transferred { bytes: 2_097_160 }));
}
