//! A client session taken through a fuzz-chosen sequence of operations,
//! fed arbitrary reply bytes in arbitrary chunks, data-connection calls
//! in any order, clock jumps, and the end of the TLS handshakes that
//! AUTH TLS asks for.
//!
//! Input layout:
//! - a header byte: IPv6 server, EPSV/EPRT preferred, Telnet abort,
//!   implicit TLS (`Client::new_secured`);
//! - then steps, each a selector byte and its fields: start an operation
//!   (kind and path bytes), raw server bytes (length-prefixed), a canned
//!   reply line (index bytes), a well-behaved server's answer to the
//!   last command, a data call, abort, a time jump, the connection's
//!   end, or the driver reporting a control-connection handshake as done
//!   or failed (in turn or not).
//!
//! Beyond "no panic", checked: at most one operation runs and each one
//! started ends with exactly one `Done`; a running operation always has
//! a deadline; a closed session has none, runs nothing, and answers any
//! new operation with one `Done` at once; once input stops, the
//! connection's end finishes whatever was running.
//!
//! And for FTPS (RFC 4217): `StartTls` comes only for a running AUTH TLS
//! on a clear connection, as the last event of its step; from then until
//! the driver reports, control bytes are all taken and yield no event,
//! nothing is written, and data calls, aborts and new operations change
//! nothing; only a timeout or the connection's end cuts it short. The
//! report ends AUTH (`Ok` and a TLS connection, or `TlsFailed` and a
//! closed session) and leaves no clear reply behind the 234 to be read; a
//! report out of turn changes nothing. The connection is TLS exactly when
//! it started so or a handshake was reported done. ProtectData is refused
//! (nothing sent) exactly on a clear connection, sends PBSZ only until a
//! PROT followed one, and changes protection only when it succeeds; an
//! accepted raw PROT counts too, anything else leaves it. Every
//! `TransferStarted` says `protected` exactly when the last accepted PROT
//! was P.
#![no_main]

use core::net::SocketAddr;
use core::time::Duration;

use ftp_proto::client::{
    Client, ClientConfig, ClientError, DataMode, Event, Op, Outcome, Transfer, TransferKind,
};
use ftp_proto::format::{Mode, Structure};
use ftp_proto::{Instant, Reply, ReplyCode};
use libfuzzer_sys::fuzz_target;

/// Reads fields off the fuzz input; missing bytes read as zero.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reply lines that move the client forward, for the fuzzer to pick.
const CANNED: &[&[u8]] = &[
    b"220 ready\r\n",
    b"120 soon\r\n",
    b"230 in\r\n",
    b"331 password\r\n",
    b"332 account\r\n",
    b"200 ok\r\n",
    b"211-Features\r\n SIZE\r\n MLST type*;size;\r\n REST STREAM\r\n211 End\r\n",
    b"213 1234\r\n",
    b"213 19960228123456\r\n",
    b"257 \"/a \"\"b\"\"\" made\r\n",
    b"350 go on\r\n",
    b"229 Extended (|||50000|)\r\n",
    b"227 Passive (10,0,0,1,195,80)\r\n",
    b"150 Opening (10 bytes)\r\n",
    b"125 Already open\r\n",
    b"110 MARK 10 = 10\r\n",
    b"226 done\r\n",
    b"225 abort ok\r\n",
    b"250 ok\r\n",
    b"221 bye\r\n",
    b"421 closing\r\n",
    b"425 no data\r\n",
    b"426 broken\r\n",
    b"500 what\r\n",
    b"502 no\r\n",
    b"522 use (1)\r\n",
    b"530 no\r\n",
    b"550 missing\r\n",
    b"234 Proceed with negotiation\r\n",
    // What a man in the middle would append behind the 234.
    b"234 go\r\n230 injected\r\n150 Opening\r\n",
    b"234 go\r\n421 injected",
    b"334 ADAT=x\r\n",
    b"431 no TLS here\r\n",
    b"504 unknown AUTH type\r\n",
    b"200 PBSZ=0\r\n",
    b"200 PBSZ=1024\r\n",
    b"503 PBSZ first\r\n",
    b"534 protection refused\r\n",
    b"536 level not supported\r\n",
];

/// A well-behaved server's reply to the last command line sent (the
/// greeting before any); a transfer command gets its 1yz, then its 226
/// the next time. `extra` picks what AUTH's 234 has behind it.
fn answer(last: &mut Option<Vec<u8>>, extra: u8) -> &'static [u8] {
    let line = last.take().unwrap_or_default();
    // ABOR comes behind Telnet IP and Synch.
    let start = line.iter().position(u8::is_ascii_alphabetic);
    let line = &line[start.unwrap_or(line.len())..];
    let verb = line.split(|&b| b == b' ').next().unwrap_or(b"");
    let verb = verb.to_ascii_uppercase();
    match &verb[..] {
        b"" => b"220 hello\r\n",
        b"USER" => b"331 pass?\r\n",
        b"PASS" => b"230 in\r\n",
        b"ACCT" => b"230 in\r\n",
        b"FEAT" => b"211-Features\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n",
        b"PWD" | b"MKD" => b"257 \"/a\" ok\r\n",
        b"SIZE" => b"213 1234\r\n",
        b"MDTM" => b"213 20240101000000\r\n",
        b"RNFR" | b"REST" => b"350 go on\r\n",
        b"EPSV" => b"229 Extended (|||50000|)\r\n",
        b"PASV" => b"227 Passive (10,0,0,1,195,80)\r\n",
        b"QUIT" => b"221 bye\r\n",
        b"AUTH" => match extra % 3 {
            0 => b"234 Proceed\r\n",
            1 => b"234 Proceed\r\n226 injected\r\n",
            _ => b"234 Proceed\r\n200 PROT P inj",
        },
        b"PBSZ" => b"200 PBSZ=0\r\n",
        b"RETR" | b"STOR" | b"APPE" | b"STOU" | b"LIST" | b"NLST" | b"MLSD" => {
            *last = Some(b"TRANSFER".to_vec());
            b"150 Opening (10 bytes)\r\n"
        }
        b"ABOR" | b"TRANSFER" => b"226 done\r\n",
        _ => b"200 ok\r\n",
    }
}

fn path(b: u8) -> String {
    match b % 4 {
        0 => String::from("f"),
        1 => String::from("dir/a b"),
        2 => String::from("x\r\nDELE y"),
        _ => String::new(),
    }
}

/// What the target remembers of a started operation, to judge its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auth,
    Protect(bool),
    /// A raw `PROT P` (true) or `PROT C` (false).
    RawProt(bool),
    Transfer,
    Other,
}

fn op(kind: u8, path_byte: u8, offset: u8) -> (Op, Kind) {
    let p = path(path_byte);
    let offset = (offset & 1 == 1).then_some(u64::from(offset));
    let data = if offset.unwrap_or(0) & 2 == 2 {
        DataMode::Active
    } else {
        DataMode::Passive
    };
    let t = |kind| {
        let op = Op::Transfer(Transfer {
            kind,
            path: (path_byte & 4 == 0).then(|| p.clone()),
            offset,
            data,
        });
        (op, Kind::Transfer)
    };
    let other = |op| (op, Kind::Other);
    match kind % 31 {
        0 => other(Op::Login {
            user: p.clone(),
            password: String::from("pw"),
            account: (path_byte & 8 == 0).then(|| String::from("acct")),
        }),
        1 => other(Op::Features),
        2 => other(Op::SetType(if offset.is_some() {
            ftp_proto::client::TransferType::Ascii
        } else {
            ftp_proto::client::TransferType::Binary
        })),
        3 => other(Op::Cwd(p)),
        4 => other(Op::Cdup),
        5 => other(Op::Pwd),
        6 => other(Op::Size(p)),
        7 => other(Op::Mdtm(p)),
        8 => other(Op::MakeDir(p)),
        9 => other(Op::RemoveDir(p)),
        10 => other(Op::Delete(p)),
        11 => other(Op::Rename {
            from: p,
            to: String::from("b"),
        }),
        12 => other(Op::Noop),
        13 => other(Op::Quit),
        14 => other(Op::Raw(p)),
        15 => t(TransferKind::Retrieve),
        16 => t(TransferKind::Store),
        17 => t(TransferKind::Append),
        18 => t(TransferKind::StoreUnique),
        19 => t(TransferKind::List),
        20 => t(TransferKind::NameList),
        21 => t(TransferKind::MachineList),
        22 | 23 => (Op::AuthTls, Kind::Auth),
        24 => {
            let private = path_byte & 1 == 0;
            (Op::ProtectData { private }, Kind::Protect(private))
        }
        25 => match path_byte % 3 {
            0 => (Op::Raw(String::from("PROT P")), Kind::RawProt(true)),
            1 => (Op::Raw(String::from("prot c")), Kind::RawProt(false)),
            // RFC 4217: REIN leaves the security state alone.
            _ => other(Op::Raw(String::from("REIN"))),
        },
        // The data formats the machine tracks for each transfer.
        26 => other(Op::SetMode(match path_byte % 4 {
            0 => Mode::Block,
            1 => Mode::Compressed,
            2 => Mode::Deflate,
            _ => Mode::Stream,
        })),
        27 => other(Op::SetStructure(match path_byte & 1 {
            0 => Structure::Record,
            _ => Structure::File,
        })),
        28 => other(Op::SetType(ftp_proto::client::TransferType::Ebcdic)),
        29 => other(Op::Raw(String::from(match path_byte % 4 {
            0 => "RANG 1 2",
            1 => "MODE B",
            2 => "MODE Z",
            _ => "STRU R",
        }))),
        _ => t(TransferKind::Retrieve),
    }
}

/// The operation running, as it stood when it started.
#[derive(Debug)]
struct Running {
    kind: Kind,
    secured_at_start: bool,
    /// Started on a closed session: it ends at once, `Closed`.
    closed_at_start: bool,
    /// Sent: the greeting was in when it started, or came since.
    began: bool,
    /// AUTH's 234 came: `StartTls` was given.
    start_tls: bool,
}

/// What the session should be, by the target's own account.
struct Model {
    started: usize,
    done: usize,
    running: Option<Running>,
    /// The control connection is TLS.
    secured: bool,
    /// `StartTls` came and the driver has not reported yet.
    handshake: bool,
    /// The last accepted PROT was P.
    protected: bool,
    /// A ProtectData sent its PROT: PBSZ went through, never again.
    pbsz_done: bool,
    /// `Connected` came.
    greeted: bool,
    /// The last command line sent, for [`answer`].
    last: Option<Vec<u8>>,
}

impl Model {
    fn op_ended(&mut self, client: &Client, result: &Result<Outcome, ClientError>) {
        let running = self
            .running
            .take()
            .expect("a Done with no operation running");
        self.done += 1;
        if running.closed_at_start {
            assert_eq!(result, &Err(ClientError::Closed { reply: None }));
        }
        let sent = running.began && !running.closed_at_start;
        match running.kind {
            // Ended before it was sent (the greeting failed): nothing to
            // judge but that nothing changed.
            Kind::Auth | Kind::Protect(_) if !sent => {}
            Kind::Auth => {
                assert_eq!(
                    matches!(result, Err(ClientError::InvalidArgument(_))),
                    running.secured_at_start,
                    "AUTH is refused locally exactly on a TLS connection: {result:?}"
                );
                match result {
                    Ok(outcome) => {
                        assert_eq!(outcome, &Outcome::Ok);
                        assert!(running.start_tls && self.handshake);
                        assert!(client.is_control_secured(), "AUTH ended Ok in clear");
                        self.secured = true;
                    }
                    Err(ClientError::TlsFailed) => {
                        assert!(running.start_tls && self.handshake);
                        assert!(client.is_closed());
                    }
                    Err(e) if running.start_tls => assert!(
                        matches!(
                            e,
                            ClientError::Timeout | ClientError::Closed { reply: None }
                        ),
                        "a handshake cut short by {e:?}"
                    ),
                    Err(_) => {}
                }
                self.handshake = false;
            }
            Kind::Protect(private) => {
                assert_eq!(
                    matches!(result, Err(ClientError::InvalidArgument(_))),
                    !running.secured_at_start,
                    "ProtectData is refused locally exactly in clear: {result:?}"
                );
                if let Ok(outcome) = result {
                    assert_eq!(outcome, &Outcome::Ok);
                    self.protected = private;
                }
            }
            Kind::RawProt(private) => {
                if let Ok(Outcome::Reply(reply)) = result {
                    if reply.code.is_completion() {
                        self.protected = private;
                    }
                }
            }
            Kind::Transfer | Kind::Other => {}
        }
        assert_eq!(
            client.data_protected(),
            self.protected,
            "protection follows the last accepted PROT ({:?} ended {result:?})",
            running.kind
        );
    }
}

/// Writes out what the client has to send and takes its events, checking
/// them against the model; returns the events.
fn drain(client: &mut Client, model: &mut Model) -> Vec<Event> {
    let sent = client.transmit().to_vec();
    client.transmitted(sent.len());
    if let Some(line) = sent
        .strip_suffix(b"\r\n")
        .and_then(|s| s.rsplit(|&b| b == b'\n').next())
    {
        model.last = Some(line.to_vec());
    }
    if model.handshake {
        assert!(sent.is_empty(), "written in clear during the handshake");
    }
    if let Some(Running {
        kind: Kind::Protect(_),
        ..
    }) = model.running
    {
        let has = |verb: &[u8]| sent.windows(verb.len()).any(|w| w == verb);
        if has(b"PBSZ") {
            assert!(!model.pbsz_done, "PBSZ sent again");
        }
        if has(b"PROT") {
            model.pbsz_done = true;
        }
    }
    let mut events = Vec::new();
    while let Some(event) = client.poll_event() {
        events.push(event);
    }
    for (i, event) in events.iter().enumerate() {
        match event {
            Event::Done(result) => model.op_ended(client, result),
            Event::StartTls => {
                assert_eq!(i + 1, events.len(), "events after StartTls");
                assert!(!model.handshake && !model.secured);
                let running = model
                    .running
                    .as_mut()
                    .expect("StartTls with nothing running");
                assert_eq!(running.kind, Kind::Auth, "StartTls for {:?}", running.kind);
                running.start_tls = true;
                model.handshake = true;
            }
            Event::TransferStarted { protected, .. } => {
                assert_eq!(*protected, model.protected, "TransferStarted's protected");
            }
            Event::Disconnected(_) => assert!(model.running.is_none()),
            Event::Connected { .. } => {
                assert!(!model.greeted, "greeted twice");
                model.greeted = true;
                if let Some(running) = model.running.as_mut() {
                    running.began = true;
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        model.done + usize::from(client.is_busy()),
        model.started,
        "every operation ends exactly once"
    );
    assert_eq!(client.is_busy(), model.running.is_some());
    if client.is_busy() {
        assert!(
            client.poll_timeout().is_some(),
            "a running operation waits for ever"
        );
    }
    if client.is_closed() {
        assert!(!client.is_busy());
        assert_eq!(client.poll_timeout(), None);
    }
    assert_eq!(client.is_control_secured(), model.secured);
    assert_eq!(client.data_protected(), model.protected);
    events
}

fuzz_target!(|data: &[u8]| {
    let mut input = Cursor(data);
    let header = input.byte();
    let ipv6 = header & 1 == 1;
    let implicit = header & 16 == 16;
    let config = ClientConfig {
        reply_timeout: Duration::from_secs(30),
        data_timeout: Duration::from_secs(20),
        max_reply: 512,
        prefer_epsv: header & 2 == 0,
        prefer_eprt: header & 4 == 0,
        telnet_abort: header & 8 == 0,
    };
    let peer: SocketAddr = if ipv6 {
        "[2001:db8::2]:21".parse().unwrap()
    } else {
        "192.0.2.2:21".parse().unwrap()
    };
    let mut now = Instant::ZERO;
    let mut client = if implicit {
        Client::new_secured(&config, peer, now)
    } else {
        Client::new(&config, peer, now)
    };
    let mut model = Model {
        started: 0,
        done: 0,
        running: None,
        secured: implicit,
        handshake: false,
        protected: false,
        pbsz_done: false,
        greeted: false,
        last: None,
    };
    while !input.is_empty() {
        // Steps that must change nothing while the handshake runs.
        let handshake = model.handshake;
        let mut inert = true;
        // The step's last input came during a handshake.
        let mut quiet = handshake;
        let step = input.byte() % 16;
        match step {
            0 => {
                let (op, kind) = op(input.byte(), input.byte(), input.byte());
                let busy = client.is_busy();
                let secured = client.is_control_secured();
                let closed = client.is_closed();
                match client.start(now, op) {
                    Ok(()) => {
                        assert!(!busy);
                        model.started += 1;
                        model.running = Some(Running {
                            kind,
                            secured_at_start: secured,
                            closed_at_start: closed,
                            began: model.greeted,
                            start_tls: false,
                        });
                    }
                    Err(_) => assert!(busy),
                }
            }
            1 => {
                let len = usize::from(input.byte());
                let bytes = input.bytes(len);
                assert_eq!(client.handle_input(now, bytes), bytes.len());
            }
            2 | 3 => {
                let line = CANNED[usize::from(input.byte()) % CANNED.len()];
                // Cut where the fuzzer says: the reader must join pieces.
                let cut = usize::from(input.byte()) % (line.len() + 1);
                assert_eq!(client.handle_input(now, &line[..cut]), cut);
                let events = drain(&mut client, &mut model);
                if handshake {
                    assert!(events.is_empty(), "input in the handshake: {events:?}");
                }
                // The first piece may have ended with the 234.
                quiet = model.handshake;
                assert_eq!(client.handle_input(now, &line[cut..]), line.len() - cut);
            }
            4 => client.data_connected(now),
            5 => {
                let n = u64::from(input.byte());
                client.data_finished(now, n)
            }
            6 => client.data_failed(now),
            7 => client.data_progress(now),
            8 => {
                let port = u16::from_be_bytes([input.byte(), input.byte()]);
                let addr: SocketAddr = if input.byte() & 1 == 1 {
                    "[2001:db8::1]:0".parse().unwrap()
                } else {
                    "192.0.2.1:0".parse().unwrap()
                };
                client.listening(now, SocketAddr::new(addr.ip(), port));
            }
            9 => {
                let aborted = client.abort(now);
                assert!(!(handshake && aborted), "an abort during the handshake");
            }
            10 => {
                now = now + Duration::from_secs(u64::from(input.byte()));
                inert = client.poll_timeout().is_none_or(|t| now < t);
                client.handle_timeout(now);
            }
            11 => {
                inert = false;
                client.handle_eof(now);
            }
            14 | 15 => {
                let reply = answer(&mut model.last, input.byte());
                assert_eq!(client.handle_input(now, reply), reply.len());
            }
            12 => {
                inert = false;
                client.control_secured(now);
                if handshake {
                    assert!(client.is_control_secured() && !client.is_busy());
                }
            }
            _ => {
                inert = false;
                client.control_tls_failed(now);
                if handshake {
                    assert!(client.is_closed());
                }
            }
        }
        let closed = client.is_closed();
        let events = drain(&mut client, &mut model);
        if quiet && inert {
            assert!(events.is_empty(), "a step in the handshake: {events:?}");
        }
        if handshake {
            if inert {
                assert!(events.is_empty(), "a step in the handshake: {events:?}");
                assert!(model.handshake && client.is_busy());
            } else {
                // The handshake's end, however it came, ends AUTH and
                // nothing else.
                assert!(!model.handshake);
                let done = events.iter().filter(|e| matches!(e, Event::Done(_)));
                assert_eq!(done.count(), 1, "{events:?}");
                assert!(!events.iter().any(|e| matches!(e, Event::CloseData)));
            }
        } else if !model.handshake {
            if step == 12 || step == 13 {
                assert!(events.is_empty(), "a report out of turn: {events:?}");
            }
            let secured = client.is_control_secured();
            // A report out of turn changes nothing at all.
            client.control_secured(now);
            client.control_tls_failed(now);
            assert_eq!(client.is_closed(), closed);
            assert!(drain(&mut client, &mut model).is_empty());
            assert_eq!(client.is_control_secured(), secured);
        }
        if handshake && client.is_control_secured() && !client.is_closed() {
            // Nothing that came in clear behind the 234 is left to read:
            // the next command's reply is the server's next one, as it is.
            assert!(client.start(now, Op::Raw(String::from("NOOP"))).is_ok());
            model.started += 1;
            model.running = Some(Running {
                kind: Kind::Other,
                secured_at_start: true,
                closed_at_start: false,
                began: true,
                start_tls: false,
            });
            assert_eq!(client.handle_input(now, b""), 0);
            assert!(drain(&mut client, &mut model).is_empty());
            assert_eq!(client.handle_input(now, b"200 probe\r\n"), 11);
            let want = Reply {
                code: ReplyCode::OK,
                text: String::from("probe"),
            };
            let events = drain(&mut client, &mut model);
            assert_eq!(events, [Event::Done(Ok(Outcome::Reply(want)))]);
        }
    }
    client.handle_eof(now);
    drain(&mut client, &mut model);
    assert!(!client.is_busy());
    assert_eq!(model.done, model.started);
});
