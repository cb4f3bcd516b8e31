//! A client transfer, get and put, fed an arbitrary sequence of datagrams
//! from the server (its request port, or any port of its host, which the
//! first answer makes the transfer ID) and from strangers, and clock jumps.
//!
//! Input layout:
//! - a header choosing the request's options, its mode, the client's
//!   retry limit and dally, and the size of the file a put sends;
//! - then steps, each: a selector byte (sender address and step kind), the
//!   step's fields (a length-prefixed raw datagram, or the fields of an
//!   OACK, ACK, DATA or ERROR built here), and a time advance byte.
//!
//! The same steps drive a get (the client receives) and a put (the client
//! sends a file made of known bytes). After every step both are drained as
//! a driver would: events first (NeedData is answered from the file), then
//! datagrams. Beyond "no panic", checked: every datagram sent parses and is
//! a packet its role may send; the request goes to the request port and
//! nothing else does before an answer; after it everything goes to the
//! server's transfer ID, which is an address that really answered, except
//! ERROR 5 to a stranger that wrote; a put's DATA holds exactly the file's
//! bytes for its block; an octet get's file is made of blocks the server
//! really sent, in order, and a finished get ends on a short block; nothing
//! is sent to the server after an ERROR either way; a transfer has at most
//! one outcome; and once input stops, timeouts alone end every transfer
//! within its retry bound.
#![no_main]

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;
use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tftp_proto::options::{MAX_BLKSIZE, MIN_BLKSIZE};
use tftp_proto::transfer::{Event, Transfer, TransferConfig};
use tftp_proto::{BlockNumber, ErrorCode, Instant, Mode, Options, Packet};

const SERVER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
/// The server's request port, where the request goes.
const REQUEST_PORT: SocketAddr = SocketAddr::new(SERVER_IP, 69);
/// The ports a server may answer from: each may become the transfer ID.
const SERVER_PORTS: [SocketAddr; 2] = [
    SocketAddr::new(SERVER_IP, 50001),
    SocketAddr::new(SERVER_IP, 50002),
];
/// Another host altogether: always foreign.
const STRAY_HOST: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 50001);

/// Reads fields off the fuzz input; missing bytes read as zero.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

struct Setup {
    config: TransferConfig,
    mode: Mode,
    /// What the request asks for (a put's tsize is filled in per side).
    options: Options,
    /// The file a put sends.
    file: Vec<u8>,
}

fn setup(input: &mut Cursor<'_>) -> Setup {
    let flags = input.u8();
    let blksize = input.u16();
    let timeout = input.u8();
    let windowsize = input.u16();
    let limits = input.u8();
    let file_len = input.u32();

    let span = u32::from(MAX_BLKSIZE - MIN_BLKSIZE) + 1;
    let options = Options {
        blksize: (flags & 1 != 0).then(|| MIN_BLKSIZE + (u32::from(blksize) % span) as u16),
        timeout: (flags & 2 != 0).then_some(timeout.max(1)),
        tsize: (flags & 4 != 0).then_some(0),
        windowsize: (flags & 8 != 0).then_some(windowsize.max(1)),
        unknown: 0,
    };
    let mode = if flags & 16 != 0 {
        Mode::Netascii
    } else {
        Mode::Octet
    };
    let config = TransferConfig {
        max_retries: u32::from(limits & 7),
        dally: if limits & 8 != 0 {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        },
        ..TransferConfig::default()
    };
    // Block numbers never wrap within one input: a DATA block's number says
    // exactly where its bytes come from. The largest block a server may
    // narrow to is the one asked for (512 without the option).
    let blksize = usize::from(options.blksize.unwrap_or(512));
    let len = (file_len as usize % (256 << 10)).min(30_000 * blksize.min(512));
    Setup {
        config,
        mode,
        options,
        file: pattern(0, len),
    }
}

/// File contents: text with line ends and a bare CR, so netascii expands.
const FILE_PATTERN: &[u8] = b"line one\nline\rtwo\r\n\0bin\xff";

/// `len` bytes of the repeated pattern, from `start`.
fn pattern(start: usize, len: usize) -> Vec<u8> {
    let skip = start % FILE_PATTERN.len();
    let mut bytes = FILE_PATTERN.repeat((skip + len) / FILE_PATTERN.len() + 1);
    bytes.truncate(skip + len);
    bytes.drain(..skip);
    bytes
}

#[derive(Debug)]
struct Step {
    from: SocketAddr,
    datagram: Option<Vec<u8>>,
    advance: Duration,
}

fn steps(input: &mut Cursor<'_>) -> Vec<Step> {
    let mut steps = Vec::new();
    while !input.is_empty() {
        let sel = input.u8();
        let from = match sel & 3 {
            0 => SERVER_PORTS[0],
            1 => SERVER_PORTS[1],
            2 => REQUEST_PORT,
            _ => STRAY_HOST,
        };
        let datagram = match (sel >> 2) & 7 {
            0 => {
                let len = usize::from(input.u16());
                Some(input.take(len).to_vec())
            }
            1 => {
                // An OACK of fuzz-chosen values, valid or not for the request.
                let which = input.u8();
                let options = Options {
                    blksize: (which & 1 != 0).then(|| input.u16().max(MIN_BLKSIZE)),
                    timeout: (which & 2 != 0).then(|| input.u8().max(1)),
                    tsize: (which & 4 != 0).then(|| u64::from(input.u32())),
                    windowsize: (which & 8 != 0).then(|| input.u16().max(1)),
                    unknown: 0,
                };
                Some(encode(&Packet::Oack(options)))
            }
            2 | 3 => Some(encode(&Packet::Ack(BlockNumber(input.u16())))),
            4 | 5 => {
                let block = input.u16();
                let len = usize::from(input.u16()) % (usize::from(MAX_BLKSIZE) + 2);
                let data = pattern(usize::from(block), len);
                Some(encode(&Packet::Data {
                    block: BlockNumber(block),
                    data: &data,
                }))
            }
            6 => {
                let code = u16::from(input.u8());
                Some(encode(&Packet::Error {
                    code: ErrorCode::from_u16(code),
                    message: "fuzz",
                }))
            }
            _ => None,
        };
        let t = input.u8();
        let amount = u64::from(t & 63);
        let advance = match t >> 6 {
            0 => Duration::ZERO,
            1 => Duration::from_millis(amount),
            2 => Duration::from_millis(100 * amount),
            _ => Duration::from_secs(amount),
        };
        steps.push(Step {
            from,
            datagram,
            advance,
        });
    }
    steps
}

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; packet.encoded_len()];
    let n = packet.encode(&mut buf).expect("exact-size buffer");
    buf.truncate(n);
    buf
}

/// RFC 1350 netascii by definition, one byte at a time.
fn netascii(bytes: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        match b {
            b'\n' => wire.extend_from_slice(b"\r\n"),
            b'\r' => wire.extend_from_slice(b"\r\0"),
            other => wire.push(other),
        }
    }
    wire
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Client get: receives.
    Get,
    /// Client put: sends the file.
    Put,
}

struct Harness<'s> {
    side: Side,
    setup: &'s Setup,
    transfer: Transfer,
    now: Instant,
    /// Put: the file as it must appear on the wire, and how much of the
    /// local file was handed over.
    wire: Vec<u8>,
    offset: usize,
    /// Get: what arrived, and every DATA payload the server sent, by block.
    received: Vec<u8>,
    fed: BTreeMap<u16, Vec<Vec<u8>>>,
    outcome: Option<Result<(), ()>>,
    /// Addresses that wrote to the client.
    heard: Vec<SocketAddr>,
    /// The request went out.
    requested: bool,
    /// An ERROR went to, or came from, the server: nothing more for it.
    peer_errored: bool,
}

impl<'s> Harness<'s> {
    fn new(side: Side, setup: &'s Setup) -> Self {
        let now = Instant::from_millis(1_000);
        let transfer = match side {
            Side::Get => Transfer::client_get(
                &setup.config,
                REQUEST_PORT,
                "fuzz.bin",
                setup.mode,
                setup.options,
                now,
            ),
            Side::Put => {
                let options = Options {
                    tsize: setup.options.tsize.map(|_| setup.file.len() as u64),
                    ..setup.options
                };
                Transfer::client_put(
                    &setup.config,
                    REQUEST_PORT,
                    "fuzz.bin",
                    setup.mode,
                    options,
                    now,
                )
            }
        };
        let wire = match setup.mode {
            Mode::Netascii => netascii(&setup.file),
            _ => setup.file.clone(),
        };
        let mut h = Harness {
            side,
            setup,
            transfer,
            now,
            wire,
            offset: 0,
            received: Vec::new(),
            fed: BTreeMap::new(),
            outcome: None,
            heard: Vec::new(),
            requested: false,
            peer_errored: false,
        };
        h.drain();
        assert!(h.requested, "the request goes out at once");
        h
    }

    fn step(&mut self, step: &Step) {
        if let Some(bytes) = &step.datagram {
            let was_open = self.outcome.is_none();
            if !self.heard.contains(&step.from) {
                self.heard.push(step.from);
            }
            let parsed = Packet::parse(bytes);
            if let Ok(Packet::Data { block, data }) = &parsed {
                self.fed.entry(block.0).or_default().push(data.to_vec());
            }
            self.transfer.handle_datagram(self.now, step.from, bytes);
            let from_peer = step.from == self.transfer.peer();
            // RFC 1350 §7: the server's ERROR ends a live transfer.
            if from_peer && was_open && matches!(parsed, Ok(Packet::Error { .. })) {
                self.peer_errored = true;
                self.drain();
                assert!(
                    self.outcome.is_some(),
                    "an ERROR from the server ends the transfer"
                );
            } else {
                self.drain();
            }
        }
        self.now = self.now + step.advance;
        // Also called early on purpose: an early call must do nothing harmful.
        self.transfer.handle_timeout(self.now);
        self.drain();
    }

    /// Input is over: only time passes. Every transfer must close, within
    /// a time its retry policy bounds.
    fn run_out_the_clock(&mut self) {
        let config = &self.setup.config;
        let agreed = Duration::from_secs(self.transfer.negotiated().timeout.map_or(0, u64::from));
        let per_try = config.max_rto.max(agreed).max(config.dally);
        let limit = self.now + per_try * (config.max_retries + 3);
        let mut calls = 0;
        while let Some(deadline) = self.transfer.poll_timeout() {
            calls += 1;
            assert!(calls < 100_000, "timeouts never end the transfer");
            self.now = self.now.max(deadline);
            assert!(
                self.now <= limit,
                "{:?} still waiting after its retries ran out",
                self.side
            );
            self.transfer.handle_timeout(self.now);
            self.drain();
        }
        assert!(self.transfer.is_closed(), "no timeout left but not closed");
        assert!(self.outcome.is_some(), "closed without an outcome");
        if self.side == Side::Get && self.setup.mode == Mode::Octet {
            self.check_received();
        }
    }

    fn drain(&mut self) {
        let mut rounds = 0;
        while let Some(event) = self.transfer.poll_event() {
            rounds += 1;
            assert!(rounds < 100_000, "poll_event never runs dry");
            match event {
                Event::NeedData { max_len } => {
                    assert_eq!(self.side, Side::Put, "NeedData on a get");
                    let end = (self.offset + max_len).min(self.setup.file.len());
                    let chunk = &self.setup.file[self.offset..end];
                    self.offset = end;
                    self.transfer.provide_data(self.now, chunk);
                }
                Event::Data(bytes) => {
                    assert_eq!(self.side, Side::Get, "Data on a put");
                    assert!(self.outcome.is_none(), "Data after the outcome");
                    self.received.extend_from_slice(bytes);
                }
                Event::Negotiated(n) => {
                    let asked = self.setup.options;
                    // Narrowed, or RFC 1350's 512 when the server ignored options.
                    assert!(n.blksize <= asked.blksize.unwrap_or(512) || n.blksize == 512);
                    assert!(n.windowsize <= asked.windowsize.unwrap_or(1));
                    assert!(n.blksize >= MIN_BLKSIZE && n.windowsize >= 1);
                }
                Event::Finished(_) => {
                    assert_eq!(self.outcome, None, "a second outcome");
                    self.outcome = Some(Ok(()));
                    if self.side == Side::Put {
                        assert_eq!(self.offset, self.setup.file.len(), "put finished early");
                    }
                }
                Event::Failed(_) => {
                    assert_eq!(self.outcome, None, "a second outcome");
                    self.outcome = Some(Err(()));
                }
                _ => {}
            }
        }
        let blksize = self.transfer.negotiated().blksize;
        let peer = self.transfer.peer();
        let mut sent = 0;
        while let Some(tx) = self.transfer.poll_transmit() {
            sent += 1;
            assert!(sent < 100_000, "poll_transmit never runs dry");
            let packet = Packet::parse_with_blksize(tx.payload, blksize)
                .unwrap_or_else(|e| panic!("sent an invalid datagram ({e}): {:02x?}", tx.payload));
            if tx.to != peer {
                assert!(self.heard.contains(&tx.to), "datagram to {}", tx.to);
                assert!(
                    matches!(
                        packet,
                        Packet::Error {
                            code: ErrorCode::UnknownTransferId,
                            ..
                        }
                    ),
                    "a stranger got {packet:?}"
                );
                continue;
            }
            // The transfer ID is the request port until an answer names
            // another, and then only an address that wrote.
            assert!(
                peer == REQUEST_PORT || self.heard.contains(&peer),
                "sent to {peer}, which never wrote"
            );
            assert!(!self.peer_errored, "sent {packet:?} after an ERROR");
            match (self.side, packet) {
                (_, Packet::Error { .. }) => self.peer_errored = true,
                (Side::Get, Packet::Rrq(_)) | (Side::Put, Packet::Wrq(_)) => {
                    assert_eq!(tx.to, REQUEST_PORT, "the request goes to the request port");
                    self.requested = true;
                }
                (Side::Get, Packet::Ack(_)) => {
                    assert!(self.heard.contains(&tx.to), "an ACK before any answer");
                }
                (Side::Put, Packet::Data { block, data }) => {
                    assert!(self.heard.contains(&tx.to), "DATA before any answer");
                    let start = usize::from(block.0).checked_sub(1).expect("DATA block 0")
                        * usize::from(blksize);
                    assert!(start <= self.wire.len(), "DATA {} past the end", block.0);
                    let end = (start + usize::from(blksize)).min(self.wire.len());
                    assert!(
                        data == &self.wire[start..end],
                        "DATA {} does not hold the file's bytes",
                        block.0
                    );
                }
                (side, packet) => panic!("{side:?} sent {packet:?}"),
            }
        }
    }

    /// Octet get: the file is the server's blocks 1, 2, ... in order, each
    /// exactly as one of the DATA packets sent with that number; a finished
    /// one ends on a block shorter than the block size.
    fn check_received(&self) {
        let blksize = usize::from(self.transfer.negotiated().blksize);
        let whole = self.received.len() / blksize;
        let blocks = match self.outcome {
            Some(Ok(())) => whole + 1,
            _ => whole + usize::from(self.received.len() % blksize != 0),
        };
        for i in 0..blocks {
            let chunk = &self.received[(i * blksize).min(self.received.len())
                ..((i + 1) * blksize).min(self.received.len())];
            let block = u16::try_from(i + 1).expect("no wrap within one input");
            let candidates = self.fed.get(&block).map(Vec::as_slice).unwrap_or(&[]);
            assert!(
                candidates.iter().any(|c| c.as_slice() == chunk),
                "received block {block} was never sent as such"
            );
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    let mut input = Cursor(bytes);
    let setup = setup(&mut input);
    let steps = steps(&mut input);
    for side in [Side::Get, Side::Put] {
        let mut h = Harness::new(side, &setup);
        for step in &steps {
            h.step(step);
        }
        h.run_out_the_clock();
    }
});
