//! The client session machine under arbitrary servers: replies made of
//! random codes and texts (and plain garbage), cut into random chunks,
//! mixed with random driver calls and clock jumps. It must never panic,
//! and every operation started must end with exactly one `Done`.

use core::time::Duration;

use ftp_proto::client::{
    Client, ClientConfig, DataMode, Event, Op, Outcome, Transfer, TransferKind,
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
    match choice % 20 {
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
        _ => Op::Delete(path),
    }
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
    ];
    prop::collection::vec(one, 0..80).prop_map(|v| v.concat())
}

/// A well-behaved server's reply to the last command it got; a transfer
/// command gets 150, then 226 the next time.
fn answer(last: &mut Option<String>) -> &'static [u8] {
    let verb = last.as_deref().unwrap_or("");
    let verb = verb.split(' ').next().unwrap_or("");
    let (reply, keep): (&'static [u8], bool) = match verb {
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
        "RETR" | "STOR" | "APPE" | "STOU" | "LIST" | "NLST" | "MLSD" => {
            (b"150 Opening (10 bytes)\r\n", true)
        }
        "ABOR" | "TRANSFER" => (b"226 done\r\n", false),
        _ => (b"200 ok\r\n", false),
    };
    *last = keep.then(|| String::from("TRANSFER"));
    reply
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

struct Tally {
    started: usize,
    done: usize,
    transferred: usize,
}

fn drain(client: &mut Client, tally: &mut Tally, last: &mut Option<String>) {
    if !client.transmit().is_empty() {
        *last = last_command(client.transmit());
    }
    let n = client.transmit().len();
    client.transmitted(n);
    while let Some(event) = client.poll_event() {
        if let Event::Done(result) = event {
            tally.done += 1;
            if let Ok(Outcome::Transferred { .. }) = result {
                tally.transferred += 1;
            }
        }
    }
    let running = usize::from(client.is_busy());
    assert_eq!(
        tally.done + running,
        tally.started,
        "each operation ends once"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn every_started_operation_ends_exactly_once(
        ops in prop::collection::vec((any::<u8>(), prop_oneof![Just("f"), Just("a b"), Just("x\r\ny")]), 1..12),
        actions in actions(),
        ipv6 in any::<bool>(),
        epsv in any::<bool>(),
        greeted in any::<bool>(),
    ) {
        let peer = if ipv6 { "[2001:db8::2]:21" } else { "192.0.2.2:21" };
        let config = ClientConfig {
            reply_timeout: Duration::from_secs(30),
            prefer_epsv: epsv,
            ..ClientConfig::default()
        };
        let mut now = Instant::ZERO;
        let mut client = Client::new(&config, peer.parse().unwrap(), now);
        let mut tally = Tally { started: 0, done: 0, transferred: 0 };
        let mut last: Option<String> = None;
        if greeted {
            client.handle_input(now, b"220 ready\r\n");
            drain(&mut client, &mut tally, &mut last);
        }
        let mut next = ops.iter().cycle();
        for action in actions {
            match action {
                Action::Answer => {
                    let reply = answer(&mut last);
                    prop_assert_eq!(client.handle_input(now, reply), reply.len());
                }
                Action::Start => {
                    let (choice, path) = next.next().unwrap();
                    let busy = client.is_busy();
                    match client.start(now, op(*choice, path)) {
                        Ok(()) => { prop_assert!(!busy); tally.started += 1 }
                        Err(_) => prop_assert!(busy),
                    }
                }
                Action::Input(bytes) => {
                    prop_assert_eq!(client.handle_input(now, &bytes), bytes.len());
                }
                Action::DataConnected => client.data_connected(now),
                Action::DataFinished(n) => client.data_finished(now, n),
                Action::DataFailed => client.data_failed(now),
                Action::DataProgress => client.data_progress(now),
                Action::Listening(port) => {
                    let addr = if ipv6 { "[2001:db8::1]:0" } else { "192.0.2.1:0" };
                    let mut addr: core::net::SocketAddr = addr.parse().unwrap();
                    addr.set_port(port);
                    client.listening(now, addr);
                }
                Action::Abort => { client.abort(now); }
                Action::Advance(secs) => {
                    now = now + Duration::from_secs(secs);
                    if client.poll_timeout().is_some_and(|t| t <= now) {
                        client.handle_timeout(now);
                    }
                }
                Action::Eof => client.handle_eof(now),
            }
            drain(&mut client, &mut tally, &mut last);
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
        if std::env::var_os("CLIENT_PROPS_COVERAGE").is_some() {
            eprintln!("coverage: started {} transferred {}", tally.started, tally.transferred);
        }
    }
}
