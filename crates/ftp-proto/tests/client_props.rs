//! The client session machine under arbitrary servers: replies made of
//! random codes and texts (and plain garbage), cut into random chunks,
//! mixed with random driver calls and clock jumps. It must never panic,
//! and every operation started must end with exactly one `Done`.
//!
//! FTPS (RFC 4217) is in the mix: AUTH TLS with random bytes behind its
//! 234 and a random end to the handshake (done, failed, timed out, the
//! connection closed, or left to the random driver calls, with more
//! bytes fed first), PBSZ/PROT, raw PROT lines, implicit-TLS sessions.
//! Nothing fed between `StartTls` and the driver's report may yield an
//! event, and every `TransferStarted` is `protected` exactly when the
//! last PROT the server accepted was P.

use core::time::Duration;

use ftp_proto::client::{
    Client, ClientConfig, ClientError, DataMode, Event, Op, Outcome, Transfer, TransferKind,
};
use ftp_proto::Instant;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Action {
    /// Start the next operation of the list (if the client is idle).
    Start,
    /// Bytes from the server.
    Input(Vec<u8>),
    /// The server's usual positive answer to the last command sent.
    Answer,
    DataConnected,
    DataFinished(u64),
    DataFailed,
    DataProgress,
    Listening(u16),
    Abort,
    Advance(u64),
    Eof,
    /// The driver reports the control handshake done (in turn or not).
    Secured,
    /// The driver reports the control handshake failed (in turn or not).
    TlsFailed,
}

/// How the driver's handshake after a 234 ends.
#[derive(Debug, Clone)]
enum HandshakeEnd {
    Secured,
    Failed,
    /// It never ends: the reply timeout does.
    Timeout,
    /// The server closes the connection.
    Eof,
    /// Left to the random actions that follow.
    Later,
}

/// What the driver does on `StartTls`: feeds `before` (control bytes
/// that came in clear, which the machine must drop), then reports.
#[derive(Debug, Clone)]
struct Handshake {
    before: Vec<Vec<u8>>,
    end: HandshakeEnd,
}

/// Which operations this test judges more closely, as started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auth,
    Protect(bool),
    RawProt(bool),
    Other,
}

fn op(choice: u8, path: &str) -> Op {
    let path = String::from(path);
    let t = |kind, data, offset| {
        Op::Transfer(Transfer {
            kind,
            path: Some(path.clone()),
            offset,
            data,
        })
    };
    match choice % 26 {
        0 => Op::Login {
            user: "u".into(),
            password: "p".into(),
            account: Some("a".into()),
        },
        1 => Op::Features,
        2 => Op::Pwd,
        3 => Op::Size(path),
        4 => Op::Mdtm(path),
        5 => Op::MakeDir(path),
        6 => Op::Rename {
            from: path.clone(),
            to: "b".into(),
        },
        7 => Op::Noop,
        8 => Op::Quit,
        9 => Op::Raw(path),
        10 => Op::Cwd(path),
        11 => t(TransferKind::Retrieve, DataMode::Passive, None),
        12 => t(TransferKind::Retrieve, DataMode::Passive, Some(7)),
        13 => t(TransferKind::Store, DataMode::Active, Some(3)),
        14 => t(TransferKind::List, DataMode::Active, None),
        15 => t(TransferKind::MachineList, DataMode::Passive, None),
        16 => t(TransferKind::StoreUnique, DataMode::Active, None),
        17 => Op::Transfer(Transfer::new(TransferKind::NameList, None)),
        18 => t(TransferKind::Append, DataMode::Passive, None),
        20 | 21 => Op::AuthTls,
        22 => Op::ProtectData { private: true },
        23 => Op::ProtectData { private: false },
        24 => Op::Raw(if path == "f" { "PROT P" } else { "prot c" }.into()),
        _ => Op::Delete(path),
    }
}

fn kind(op: &Op) -> Kind {
    match op {
        Op::AuthTls => Kind::Auth,
        Op::ProtectData { private } => Kind::Protect(*private),
        Op::Raw(line) if line.eq_ignore_ascii_case("PROT P") => Kind::RawProt(true),
        Op::Raw(line) if line.eq_ignore_ascii_case("PROT C") => Kind::RawProt(false),
        _ => Kind::Other,
    }
}

fn handshake() -> impl Strategy<Value = Handshake> {
    let end = prop_oneof![
        4 => Just(HandshakeEnd::Secured),
        1 => Just(HandshakeEnd::Failed),
        1 => Just(HandshakeEnd::Timeout),
        1 => Just(HandshakeEnd::Eof),
        2 => Just(HandshakeEnd::Later),
    ];
    (prop::collection::vec(input(), 0..3), end).prop_map(|(before, end)| Handshake { before, end })
}

/// One reply line as servers write them, with texts that carry the
/// values the client looks for.
fn reply_line() -> impl Strategy<Value = Vec<u8>> {
    let codes = prop_oneof![
        Just(110u16),
        Just(120),
        Just(125),
        Just(150),
        Just(200),
        Just(202),
        Just(211),
        Just(213),
        Just(220),
        Just(221),
        Just(225),
        Just(226),
        Just(227),
        Just(229),
        Just(230),
        Just(250),
        Just(257),
        Just(331),
        Just(332),
        Just(350),
        Just(425),
        Just(426),
        Just(500),
        Just(502),
        Just(530),
        Just(550),
        Just(234),
        Just(334),
        Just(431),
        Just(503),
        Just(504),
        Just(534),
        100u16..=599,
    ];
    let texts = prop_oneof![
        Just(String::from("ok")),
        Just(String::from("Entering Extended Passive Mode (|||50000|)")),
        Just(String::from("Entering Passive Mode (1,2,3,4,195,80)")),
        Just(String::from("\"/a \"\"b\"\"\" here")),
        Just(String::from("Opening (123 bytes)")),
        Just(String::from("19960228123456")),
        Just(String::from("4096")),
        "[ -~]{0,30}",
    ];
    (codes, prop::bool::weighted(0.1), texts).prop_map(|(code, dash, text)| {
        let sep = if dash { '-' } else { ' ' };
        format!("{code}{sep}{text}\r\n").into_bytes()
    })
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        30 => prop::collection::vec(reply_line(), 1..4).prop_map(|v| v.concat()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}

/// Server bytes cut at random points.
fn chunked() -> impl Strategy<Value = Vec<Action>> {
    (
        input(),
        prop::collection::vec(any::<prop::sample::Index>(), 0..3),
    )
        .prop_map(|(bytes, cuts)| {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut last = 0;
            let mut out = Vec::new();
            for c in cuts.into_iter().chain([bytes.len()]) {
                out.push(Action::Input(bytes[last..c].to_vec()));
                last = c;
            }
            out
        })
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    let one = prop_oneof![
        36 => Just(vec![Action::Start]),
        90 => Just(vec![Action::Answer]),
        30 => chunked(),
        24 => Just(vec![Action::DataConnected]),
        12 => (0u64..1_000_000).prop_map(|n| vec![Action::DataFinished(n)]),
        3 => Just(vec![Action::DataFailed]),
        6 => Just(vec![Action::DataProgress]),
        12 => any::<u16>().prop_map(|p| vec![Action::Listening(p)]),
        3 => Just(vec![Action::Abort]),
        6 => (0u64..40).prop_map(|s| vec![Action::Advance(s)]),
        1 => Just(vec![Action::Eof]),
        3 => Just(vec![Action::Secured]),
        1 => Just(vec![Action::TlsFailed]),
    ];
    prop::collection::vec(one, 0..80).prop_map(|v| v.concat())
}

/// A server that mostly answers as it should and a driver that mostly
/// does its part, so that sessions get far: through AUTH, PBSZ and PROT
/// to transfers.
fn calm_actions() -> impl Strategy<Value = Vec<Action>> {
    let one = prop_oneof![
        36 => Just(vec![Action::Start]),
        90 => Just(vec![Action::Answer]),
        6 => chunked(),
        24 => Just(vec![Action::DataConnected]),
        12 => (0u64..1_000_000).prop_map(|n| vec![Action::DataFinished(n)]),
        1 => Just(vec![Action::DataFailed]),
        3 => Just(vec![Action::DataProgress]),
        12 => any::<u16>().prop_map(|p| vec![Action::Listening(p)]),
        1 => Just(vec![Action::Abort]),
        2 => (0u64..20).prop_map(|s| vec![Action::Advance(s)]),
        3 => Just(vec![Action::Secured]),
        1 => Just(vec![Action::TlsFailed]),
    ];
    prop::collection::vec(one, 0..120).prop_map(|v| v.concat())
}

/// A well-behaved server's reply to the last command it got; a transfer
/// command gets 150, then 226 the next time. AUTH's 234 comes with
/// `behind` after it in the same read, as a man in the middle would add.
fn answer(last: &mut Option<String>, behind: &[u8]) -> Vec<u8> {
    let verb = last.as_deref().unwrap_or("");
    let verb = verb.split(' ').next().unwrap_or("").to_ascii_uppercase();
    let (reply, keep): (&'static [u8], bool) = match &verb[..] {
        "" => (b"220 hello\r\n", false),
        "USER" => (b"331 pass?\r\n", false),
        "PASS" => (b"332 account?\r\n", false),
        "ACCT" => (b"230 in\r\n", false),
        "FEAT" => (
            b"211-Features\r\n SIZE\r\n MLST size*;\r\n211 End\r\n",
            false,
        ),
        "PWD" | "MKD" => (b"257 \"/a\"\"b\" ok\r\n", false),
        "SIZE" => (b"213 1234\r\n", false),
        "MDTM" => (b"213 20240101000000\r\n", false),
        "RNFR" | "REST" => (b"350 go on\r\n", false),
        "EPSV" => (b"229 Extended (|||50000|)\r\n", false),
        "PASV" => (b"227 Passive (10,0,0,1,195,80)\r\n", false),
        "QUIT" => (b"221 bye\r\n", false),
        "AUTH" => {
            let mut reply = b"234 Proceed with negotiation\r\n".to_vec();
            reply.extend_from_slice(behind);
            return reply;
        }
        "PBSZ" => (b"200 PBSZ=0\r\n", false),
        "RETR" | "STOR" | "APPE" | "STOU" | "LIST" | "NLST" | "MLSD" => {
            (b"150 Opening (10 bytes)\r\n", true)
        }
        "ABOR" | "TRANSFER" => (b"226 done\r\n", false),
        _ => (b"200 ok\r\n", false),
    };
    *last = keep.then(|| String::from("TRANSFER"));
    reply.to_vec()
}

/// The verb of the last whole command line in `sent`.
fn last_command(sent: &[u8]) -> Option<String> {
    let text: String = sent
        .iter()
        .filter(|b| b.is_ascii())
        .map(|&b| b as char)
        .collect();
    text.trim_end().rsplit("\r\n").next().map(String::from)
}

/// The operation running, as it stood when started.
struct Running {
    kind: Kind,
    /// Sent to the server: started after the greeting on an open
    /// session, or begun by the greeting since.
    began: bool,
    secured_at_start: bool,
}

/// What the session should be, by this test's account.
#[derive(Default)]
struct Tally {
    started: usize,
    done: usize,
    running: Option<Running>,
    greeted: bool,
    /// `StartTls` came; the driver has not reported.
    handshake: bool,
    /// The last PROT the server accepted was P.
    protected: bool,
    // Coverage.
    transferred: usize,
    handshakes: usize,
    secured: usize,
    protected_transfers: usize,
}

fn drain(client: &mut Client, tally: &mut Tally, last: &mut Option<String>) -> Vec<Event> {
    if !client.transmit().is_empty() {
        assert!(!tally.handshake, "written in clear during the handshake");
        *last = last_command(client.transmit());
    }
    let n = client.transmit().len();
    client.transmitted(n);
    let mut events = Vec::new();
    while let Some(event) = client.poll_event() {
        events.push(event);
    }
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::Connected { .. } => {
                tally.greeted = true;
                if let Some(running) = tally.running.as_mut() {
                    running.began = true;
                }
            }
            Event::StartTls => {
                assert_eq!(i + 1, events.len(), "events after StartTls: {events:?}");
                let running = tally.running.as_ref().expect("StartTls, nothing running");
                assert_eq!(running.kind, Kind::Auth);
                assert!(!tally.handshake && !client.is_control_secured());
                tally.handshake = true;
                tally.handshakes += 1;
            }
            Event::TransferStarted { protected, .. } => {
                assert_eq!(
                    *protected, tally.protected,
                    "protected is whether the last accepted PROT was P"
                );
                tally.protected_transfers += usize::from(*protected);
            }
            Event::Done(result) => {
                tally.done += 1;
                let running = tally.running.take().expect("Done, nothing running");
                match (running.kind, result) {
                    (_, Ok(Outcome::Transferred { .. })) => tally.transferred += 1,
                    (Kind::Auth, Ok(outcome)) => {
                        assert_eq!(outcome, &Outcome::Ok);
                        assert!(tally.handshake && client.is_control_secured());
                        tally.secured += 1;
                    }
                    (Kind::Protect(private), Ok(_)) => tally.protected = private,
                    (Kind::Protect(_), Err(ClientError::InvalidArgument(_))) => {
                        assert!(!running.secured_at_start)
                    }
                    (Kind::Protect(_), Err(_)) if running.began => {
                        assert!(running.secured_at_start)
                    }
                    (Kind::RawProt(private), Ok(Outcome::Reply(r))) if r.code.is_completion() => {
                        tally.protected = private
                    }
                    _ => {}
                }
                if running.kind == Kind::Auth {
                    tally.handshake = false;
                }
                assert_eq!(client.data_protected(), tally.protected);
            }
            Event::Disconnected(_) => assert!(tally.running.is_none()),
            _ => {}
        }
    }
    let running = usize::from(client.is_busy());
    assert_eq!(
        tally.done + running,
        tally.started,
        "each operation ends once"
    );
    assert_eq!(client.data_protected(), tally.protected);
    events
}

/// The driver's side of a handshake `StartTls` asked for: bytes in clear
/// first, dropped without a trace, then its end.
fn run_handshake(
    client: &mut Client,
    tally: &mut Tally,
    last: &mut Option<String>,
    now: &mut Instant,
    hs: &Handshake,
) -> Result<(), TestCaseError> {
    for bytes in &hs.before {
        prop_assert_eq!(client.handle_input(*now, bytes), bytes.len());
        let events = drain(client, tally, last);
        prop_assert!(events.is_empty(), "fed in the handshake: {:?}", events);
    }
    let want = match hs.end {
        HandshakeEnd::Later => return Ok(()),
        HandshakeEnd::Secured => {
            client.control_secured(*now);
            Ok(Outcome::Ok)
        }
        HandshakeEnd::Failed => {
            client.control_tls_failed(*now);
            Err(ClientError::TlsFailed)
        }
        HandshakeEnd::Timeout => {
            *now = client.poll_timeout().expect("the handshake has a deadline");
            client.handle_timeout(*now);
            Err(ClientError::Timeout)
        }
        HandshakeEnd::Eof => {
            client.handle_eof(*now);
            Err(ClientError::Closed { reply: None })
        }
    };
    let secured = want.is_ok();
    let events = drain(client, tally, last);
    prop_assert_eq!(events, vec![Event::Done(want)]);
    prop_assert_eq!(client.is_control_secured(), secured);
    prop_assert_eq!(client.is_closed(), !secured);
    if secured {
        // Nothing that came in clear behind the 234 is left to read: the
        // next command's reply is the server's next one, as it is.
        prop_assert!(client.start(*now, Op::Raw("NOOP".into())).is_ok());
        tally.started += 1;
        tally.running = Some(Running {
            kind: Kind::Other,
            began: true,
            secured_at_start: true,
        });
        client.handle_input(*now, b"");
        prop_assert!(drain(client, tally, last).is_empty());
        client.handle_input(*now, b"200 probe\r\n");
        let events = drain(client, tally, last);
        let want = ftp_proto::Reply {
            code: ftp_proto::ReplyCode::OK,
            text: "probe".into(),
        };
        prop_assert_eq!(events, vec![Event::Done(Ok(Outcome::Reply(want)))]);
    }
    Ok(())
}

/// One random session: its operations (cycled), the driver's and the
/// server's actions, what comes behind each 234 (cycled) and how each
/// handshake ends (cycled).
#[derive(Debug, Clone)]
struct Session {
    ops: Vec<Op>,
    actions: Vec<Action>,
    behind: Vec<Vec<u8>>,
    handshakes: Vec<Handshake>,
    ipv6: bool,
    epsv: bool,
    greeted: bool,
    implicit: bool,
}

fn session(
    ops: impl Strategy<Value = Op>,
    actions: impl Strategy<Value = Vec<Action>>,
) -> impl Strategy<Value = Session> {
    (
        prop::collection::vec(ops, 1..12),
        actions,
        prop::collection::vec(prop_oneof![2 => Just(Vec::new()), 3 => input()], 1..4),
        prop::collection::vec(handshake(), 1..4),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.25),
        ),
    )
        .prop_map(
            |(ops, actions, behind, handshakes, (ipv6, epsv, greeted, implicit))| Session {
                ops,
                actions,
                behind,
                handshakes,
                ipv6,
                epsv,
                greeted,
                implicit,
            },
        )
}

/// Every operation, with the paths (one with CR LF) it may name.
fn any_op() -> impl Strategy<Value = Op> {
    (
        any::<u8>(),
        prop_oneof![Just("f"), Just("a b"), Just("x\r\ny")],
    )
        .prop_map(|(choice, path)| op(choice, path))
}

/// Mostly FTPS: AUTH, PBSZ/PROT (as operations and raw lines), transfers
/// of every kind both ways.
fn ftps_op() -> impl Strategy<Value = Op> {
    let t = |kind, data| {
        Op::Transfer(Transfer {
            kind,
            path: Some("f".into()),
            offset: None,
            data,
        })
    };
    prop_oneof![
        4 => Just(Op::AuthTls),
        3 => Just(Op::ProtectData { private: true }),
        2 => Just(Op::ProtectData { private: false }),
        1 => Just(Op::Raw("PROT P".into())),
        1 => Just(Op::Raw("PROT C".into())),
        1 => Just(Op::Raw("REIN".into())),
        2 => Just(t(TransferKind::Retrieve, DataMode::Passive)),
        1 => Just(t(TransferKind::Store, DataMode::Active)),
        1 => Just(t(TransferKind::List, DataMode::Passive)),
        1 => Just(t(TransferKind::MachineList, DataMode::Active)),
        1 => Just(Op::Transfer(Transfer::new(TransferKind::NameList, None))),
        1 => Just(Op::Noop),
    ]
}

fn run_session(s: &Session) -> Result<Tally, TestCaseError> {
    let ipv6 = s.ipv6;
    let peer = if ipv6 {
        "[2001:db8::2]:21"
    } else {
        "192.0.2.2:21"
    };
    let config = ClientConfig {
        reply_timeout: Duration::from_secs(30),
        prefer_epsv: s.epsv,
        ..ClientConfig::default()
    };
    let mut now = Instant::ZERO;
    let mut client = if s.implicit {
        Client::new_secured(&config, peer.parse().unwrap(), now)
    } else {
        Client::new(&config, peer.parse().unwrap(), now)
    };
    let mut tally = Tally::default();
    let mut last: Option<String> = None;
    if s.greeted {
        client.handle_input(now, b"220 ready\r\n");
        drain(&mut client, &mut tally, &mut last);
    }
    let mut next = s.ops.iter().cycle();
    let mut behind = s.behind.iter().cycle();
    let mut handshakes = s.handshakes.iter().cycle();
    for action in &s.actions {
        let in_handshake = tally.handshake;
        // Whether this action may end a handshake.
        let mut ends = false;
        match action {
            Action::Answer => {
                let reply = answer(&mut last, behind.next().unwrap());
                prop_assert_eq!(client.handle_input(now, &reply), reply.len());
            }
            Action::Start => {
                let op = next.next().unwrap().clone();
                let busy = client.is_busy();
                let running = Running {
                    kind: kind(&op),
                    began: tally.greeted && !client.is_closed(),
                    secured_at_start: client.is_control_secured(),
                };
                match client.start(now, op) {
                    Ok(()) => {
                        prop_assert!(!busy);
                        tally.started += 1;
                        tally.running = Some(running);
                    }
                    Err(_) => prop_assert!(busy),
                }
            }
            Action::Input(bytes) => {
                prop_assert_eq!(client.handle_input(now, bytes), bytes.len());
            }
            Action::DataConnected => client.data_connected(now),
            Action::DataFinished(n) => client.data_finished(now, *n),
            Action::DataFailed => client.data_failed(now),
            Action::DataProgress => client.data_progress(now),
            Action::Listening(port) => {
                let addr = if ipv6 {
                    "[2001:db8::1]:0"
                } else {
                    "192.0.2.1:0"
                };
                let mut addr: core::net::SocketAddr = addr.parse().unwrap();
                addr.set_port(*port);
                client.listening(now, addr);
            }
            Action::Abort => {
                let aborted = client.abort(now);
                prop_assert!(!(in_handshake && aborted));
            }
            Action::Advance(secs) => {
                now = now + Duration::from_secs(*secs);
                if client.poll_timeout().is_some_and(|t| t <= now) {
                    ends = true;
                    client.handle_timeout(now);
                }
            }
            Action::Eof => {
                ends = true;
                client.handle_eof(now);
            }
            Action::Secured => {
                ends = true;
                client.control_secured(now);
            }
            Action::TlsFailed => {
                ends = true;
                client.control_tls_failed(now);
            }
        }
        let closed = client.is_closed();
        let secured = client.is_control_secured();
        let events = drain(&mut client, &mut tally, &mut last);
        if in_handshake && !ends {
            prop_assert!(
                events.is_empty(),
                "{:?} in the handshake gave {:?}",
                action,
                events
            );
            prop_assert!(tally.handshake);
        }
        if !in_handshake && matches!(action, Action::Secured | Action::TlsFailed) {
            // A report out of turn changes nothing.
            prop_assert!(events.is_empty());
            prop_assert_eq!(client.is_closed(), closed);
            prop_assert_eq!(client.is_control_secured(), secured);
        }
        if tally.handshake && !in_handshake {
            let hs = handshakes.next().unwrap();
            run_handshake(&mut client, &mut tally, &mut last, &mut now, hs)?;
        }
        // Nothing waits forever.
        if client.is_busy() {
            prop_assert!(client.poll_timeout().is_some());
        }
        if client.is_closed() {
            prop_assert!(!client.is_busy());
            prop_assert_eq!(client.poll_timeout(), None);
        }
    }
    // However the server behaved, the session ends when the
    // connection does, and with it whatever was running.
    client.handle_eof(now);
    drain(&mut client, &mut tally, &mut last);
    prop_assert!(!client.is_busy());
    prop_assert_eq!(tally.done, tally.started);
    Ok(tally)
}

fn report(tally: &Tally) {
    if std::env::var_os("CLIENT_PROPS_COVERAGE").is_some() {
        eprintln!(
            "coverage: started {} transferred {} handshakes {} secured {} protected transfers {}",
            tally.started,
            tally.transferred,
            tally.handshakes,
            tally.secured,
            tally.protected_transfers,
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn every_started_operation_ends_exactly_once(s in session(any_op(), actions())) {
        report(&run_session(&s)?);
    }

    #[test]
    fn ftps_handshakes_and_protection_hold(s in session(ftps_op(), calm_actions())) {
        report(&run_session(&s)?);
    }
}
