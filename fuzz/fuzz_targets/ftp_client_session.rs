//! A client session taken through a fuzz-chosen sequence of operations,
//! fed arbitrary reply bytes in arbitrary chunks, data-connection calls
//! in any order and clock jumps.
//!
//! Input layout:
//! - a header byte: IPv6 server, EPSV/EPRT preferred, Telnet abort;
//! - then steps, each a selector byte and its fields: start an operation
//!   (kind and path bytes), raw server bytes (length-prefixed), a canned
//!   reply line (index bytes), a data call, abort, a time jump, or the
//!   connection's end.
//!
//! Beyond "no panic", checked: at most one operation runs and each one
//! started ends with exactly one `Done`; a running operation always has
//! a deadline; a closed session has none, runs nothing, and answers any
//! new operation with one `Done` at once; once input stops, the
//! connection's end finishes whatever was running.
#![no_main]

use core::net::SocketAddr;
use core::time::Duration;

use ftp_proto::client::{Client, ClientConfig, DataMode, Event, Op, Transfer, TransferKind};
use ftp_proto::Instant;
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
];

fn path(b: u8) -> String {
    match b % 4 {
        0 => String::from("f"),
        1 => String::from("dir/a b"),
        2 => String::from("x\r\nDELE y"),
        _ => String::new(),
    }
}

fn op(kind: u8, path_byte: u8, offset: u8) -> Op {
    let p = path(path_byte);
    let offset = (offset & 1 == 1).then_some(u64::from(offset));
    let data = if offset.unwrap_or(0) & 2 == 2 {
        DataMode::Active
    } else {
        DataMode::Passive
    };
    let t = |kind| {
        Op::Transfer(Transfer {
            kind,
            path: (path_byte & 4 == 0).then(|| p.clone()),
            offset,
            data,
        })
    };
    match kind % 23 {
        0 => Op::Login {
            user: p.clone(),
            password: String::from("pw"),
            account: (path_byte & 8 == 0).then(|| String::from("acct")),
        },
        1 => Op::Features,
        2 => Op::SetType(if offset.is_some() {
            ftp_proto::client::TransferType::Ascii
        } else {
            ftp_proto::client::TransferType::Binary
        }),
        3 => Op::Cwd(p),
        4 => Op::Cdup,
        5 => Op::Pwd,
        6 => Op::Size(p),
        7 => Op::Mdtm(p),
        8 => Op::MakeDir(p),
        9 => Op::RemoveDir(p),
        10 => Op::Delete(p),
        11 => Op::Rename {
            from: p,
            to: String::from("b"),
        },
        12 => Op::Noop,
        13 => Op::Quit,
        14 => Op::Raw(p),
        15 => t(TransferKind::Retrieve),
        16 => t(TransferKind::Store),
        17 => t(TransferKind::Append),
        18 => t(TransferKind::StoreUnique),
        19 => t(TransferKind::List),
        20 => t(TransferKind::NameList),
        21 => t(TransferKind::MachineList),
        _ => t(TransferKind::Retrieve),
    }
}

struct Tally {
    started: usize,
    done: usize,
}

fn drain(client: &mut Client, tally: &mut Tally) {
    let n = client.transmit().len();
    client.transmitted(n);
    while let Some(event) = client.poll_event() {
        if let Event::Done(_) = event {
            tally.done += 1;
        }
    }
    assert_eq!(
        tally.done + usize::from(client.is_busy()),
        tally.started,
        "every operation ends exactly once"
    );
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
}

fuzz_target!(|data: &[u8]| {
    let mut input = Cursor(data);
    let header = input.byte();
    let ipv6 = header & 1 == 1;
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
    let mut client = Client::new(&config, peer, now);
    let mut tally = Tally {
        started: 0,
        done: 0,
    };
    while !input.is_empty() {
        match input.byte() % 12 {
            0 => {
                let op = op(input.byte(), input.byte(), input.byte());
                let busy = client.is_busy();
                match client.start(now, op) {
                    Ok(()) => {
                        assert!(!busy);
                        tally.started += 1;
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
                drain(&mut client, &mut tally);
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
                client.abort(now);
            }
            10 => {
                now = now + Duration::from_secs(u64::from(input.byte()));
                client.handle_timeout(now);
            }
            _ => client.handle_eof(now),
        }
        drain(&mut client, &mut tally);
    }
    client.handle_eof(now);
    drain(&mut client, &mut tally);
    assert!(!client.is_busy());
    assert_eq!(tally.done, tally.started);
});
