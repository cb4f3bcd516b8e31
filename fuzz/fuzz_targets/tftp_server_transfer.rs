//! A server transfer, read and write, fed an arbitrary sequence of
//! datagrams (from its peer and from strangers) and clock jumps.
//!
//! Input layout:
//! - a header choosing the request's options, its mode, the server policy
//!   and the size of the file served;
//! - then steps, each: a selector byte (sender address and step kind), the
//!   step's fields (a length-prefixed raw datagram, or the fields of an
//!   ACK, DATA or ERROR built here), and a time advance byte.
//!
//! The same steps drive a read transfer (the server sends a file made of
//! known bytes) and a write transfer (the server receives). After every
//! step both are drained as a driver would: events first (NeedData is
//! answered from the file), then datagrams. Beyond "no panic", checked:
//! every datagram sent parses, is a packet its role may send, and goes to
//! the peer (or is ERROR 5 to a stranger that wrote); DATA sent holds
//! exactly the file's bytes for its block; an OACK only narrows what was
//! asked; nothing is sent to the peer after an ERROR either way; a
//! transfer has at most one outcome; and once input stops, timeouts alone
//! end every transfer within its retry bound.
#![no_main]

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;
use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tftp_proto::options::{MAX_BLKSIZE, MIN_BLKSIZE};
use tftp_proto::transfer::{
    Event, ServerPolicy, Transfer, TransferConfig, TransferError, DEFAULT_WINDOW_BUDGET,
};
use tftp_proto::{BlockNumber, ErrorCode, Instant, Mode, Options, Packet, Request};

const PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 40001);
/// Same host as the peer, another port: a foreign transfer ID.
const STRAY_PORT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 40002);
/// Same port as the peer, another host.
const STRAY_HOST: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 40001);

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
    policy: ServerPolicy,
    mode: Mode,
    options: Options,
    file: Vec<u8>,
}

fn setup(input: &mut Cursor<'_>) -> Setup {
    let flags = input.u8();
    let blksize = input.u16();
    let timeout = input.u8();
    let tsize = input.u32();
    let windowsize = input.u16();
    let limits = input.u8();
    let file_len = input.u32();

    let span = u32::from(MAX_BLKSIZE - MIN_BLKSIZE) + 1;
    let options = Options {
        blksize: (flags & 1 != 0).then(|| MIN_BLKSIZE + (u32::from(blksize) % span) as u16),
        timeout: (flags & 2 != 0).then_some(timeout.max(1)),
        tsize: (flags & 4 != 0).then_some(u64::from(tsize)),
        windowsize: (flags & 8 != 0).then_some(windowsize.max(1)),
        unknown: u16::from(flags >> 6),
    };
    let mode = if flags & 16 != 0 {
        Mode::Netascii
    } else {
        Mode::Octet
    };
    let policy = ServerPolicy {
        allow_write: true,
        max_blksize: if limits & 1 != 0 { 1468 } else { MAX_BLKSIZE },
        max_windowsize: 1 + u16::from((limits >> 1) & 15),
        // Either the default budget (large blocks get narrower windows) or none.
        window_budget: if flags & 32 != 0 {
            usize::MAX
        } else {
            DEFAULT_WINDOW_BUDGET
        },
        transfer: TransferConfig {
            max_retries: u32::from(limits >> 5),
            ..TransferConfig::default()
        },
    };
    // Small enough that block numbers never wrap within one fuzz input, so
    // a DATA block's number says exactly where its bytes come from.
    let blksize = usize::from(
        options
            .blksize
            .map_or(512, |b| b.min(policy.max_blksize.max(MIN_BLKSIZE))),
    );
    // A few windows of the largest blocks; more is never reached.
    let len = (file_len as usize % (256 << 10)).min(30_000 * blksize);
    let file = pattern(0, len);
    Setup {
        policy,
        mode,
        options,
        file,
    }
}

/// File contents: text with line ends and a bare CR, so netascii expands.
const FILE_PATTERN: &[u8] = b"line one\nline\rtwo\r\n\0bin\xff";
/// [`FILE_PATTERN`] in netascii.
const WIRE_PATTERN: &[u8] = b"line one\r\nline\r\0two\r\0\r\n\0bin\xff";

/// `len` bytes of the repeated pattern, from `start` (bulk copies only:
/// per-byte loops here would dominate the fuzzer's time).
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
            0 | 1 => PEER,
            2 => STRAY_PORT,
            _ => STRAY_HOST,
        };
        let datagram = match (sel >> 2) & 7 {
            0 | 1 => {
                let len = usize::from(input.u16());
                Some(input.take(len).to_vec())
            }
            2 | 3 => Some(encode(&Packet::Ack(BlockNumber(input.u16())))),
            4 => {
                let block = input.u16();
                let len = usize::from(input.u16()) % (usize::from(MAX_BLKSIZE) + 2);
                let data = pattern(usize::from(block), len);
                Some(encode(&Packet::Data {
                    block: BlockNumber(block),
                    data: &data,
                }))
            }
            5 => {
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

/// The served file (the pattern repeated) as it must appear on the wire.
fn wire_form(file: &[u8], mode: Mode) -> Vec<u8> {
    if mode != Mode::Netascii {
        return file.to_vec();
    }
    assert_eq!(netascii(FILE_PATTERN), WIRE_PATTERN);
    let whole = file.len() / FILE_PATTERN.len();
    let mut wire = WIRE_PATTERN.repeat(whole);
    wire.extend_from_slice(&netascii(&file[whole * FILE_PATTERN.len()..]));
    wire
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Server read: sends the file.
    Sender,
    /// Server write: receives.
    Receiver,
}

struct Harness<'s> {
    side: Side,
    setup: &'s Setup,
    transfer: Transfer,
    now: Instant,
    /// Sender: the file as it must appear on the wire, and how much of the
    /// local file was handed over.
    wire: Vec<u8>,
    offset: usize,
    /// Receiver: what arrived, and every DATA payload the peer sent, by block.
    received: Vec<u8>,
    fed: BTreeMap<u16, Vec<Vec<u8>>>,
    outcome: Option<Result<(), ()>>,
    /// Strangers that wrote; only they may get ERROR 5.
    strangers: Vec<SocketAddr>,
    /// An ERROR went to, or came from, the peer: nothing more for it.
    peer_errored: bool,
    /// An OACK went out; DATA went out (sender) or came in (receiver).
    oack_sent: bool,
    data_moved: bool,
    /// The transfer ended as `Declined`.
    declined: bool,
}

impl<'s> Harness<'s> {
    fn new(side: Side, setup: &'s Setup) -> Self {
        let now = Instant::from_millis(1_000);
        let request = Request {
            filename: "fuzz.bin",
            mode: setup.mode,
            options: setup.options,
        };
        let transfer = match side {
            Side::Sender => Transfer::server_read(
                &setup.policy,
                PEER,
                &request,
                Some(setup.file.len() as u64),
                now,
            ),
            Side::Receiver => Transfer::server_write(&setup.policy, PEER, &request, now),
        };
        let mut h = Harness {
            side,
            setup,
            transfer,
            now,
            wire: wire_form(&setup.file, setup.mode),
            offset: 0,
            received: Vec::new(),
            fed: BTreeMap::new(),
            outcome: None,
            strangers: Vec::new(),
            peer_errored: false,
            oack_sent: false,
            data_moved: false,
            declined: false,
        };
        h.drain();
        h
    }

    fn step(&mut self, step: &Step) {
        if let Some(bytes) = &step.datagram {
            let was_open = self.outcome.is_none();
            let mut peer_error = false;
            if step.from == PEER {
                match Packet::parse(bytes) {
                    // RFC 1350 §7: an ERROR is never answered.
                    Ok(Packet::Error { .. }) => peer_error = true,
                    Ok(Packet::Data { block, data }) => {
                        self.data_moved |= was_open;
                        self.fed.entry(block.0).or_default().push(data.to_vec())
                    }
                    _ => {}
                }
            } else if !self.strangers.contains(&step.from) {
                self.strangers.push(step.from);
            }
            // Once finished, a receiver dallies and may still re-ACK a
            // repeated final DATA; the peer's ERROR only ends a live transfer.
            self.peer_errored |= peer_error && was_open;
            self.transfer.handle_datagram(self.now, step.from, bytes);
            self.drain();
            if peer_error && was_open {
                assert!(
                    self.outcome.is_some(),
                    "an ERROR from the peer ends the transfer"
                );
                // RFC 2347: an ERROR answering our OACK before any DATA is
                // the client declining the options, and only that is.
                assert_eq!(
                    self.declined,
                    self.oack_sent && !self.data_moved,
                    "declined (OACK sent {}, DATA moved {})",
                    self.oack_sent,
                    self.data_moved
                );
            }
            assert!(
                !self.declined || (self.oack_sent && !self.data_moved),
                "declined after DATA moved or without an OACK"
            );
        }
        self.now = self.now + step.advance;
        // Also called early on purpose: an early call must do nothing harmful.
        self.transfer.handle_timeout(self.now);
        self.drain();
    }

    /// Input is over: only time passes. Every transfer must close, within
    /// a time its retry policy bounds.
    fn run_out_the_clock(&mut self) {
        let config = &self.setup.policy.transfer;
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
        if self.side == Side::Receiver && self.setup.mode == Mode::Octet {
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
                    assert_eq!(self.side, Side::Sender, "NeedData on a receiver");
                    let end = (self.offset + max_len).min(self.setup.file.len());
                    let chunk = &self.setup.file[self.offset..end];
                    self.offset = end;
                    self.transfer.provide_data(self.now, chunk);
                }
                Event::Data(bytes) => {
                    assert_eq!(self.side, Side::Receiver, "Data on a sender");
                    self.received.extend_from_slice(bytes);
                }
                Event::Finished(_) => {
                    assert_eq!(
                        self.outcome, None,
                        "a second outcome after {:?}",
                        self.outcome
                    );
                    self.outcome = Some(Ok(()));
                }
                Event::Failed(error) => {
                    self.declined = matches!(error, TransferError::Declined { .. });
                    assert_eq!(
                        self.outcome, None,
                        "a second outcome after {:?}",
                        self.outcome
                    );
                    self.outcome = Some(Err(()));
                }
                _ => {}
            }
        }
        let blksize = self.transfer.negotiated().blksize;
        let mut sent = 0;
        while let Some(tx) = self.transfer.poll_transmit() {
            sent += 1;
            assert!(sent < 100_000, "poll_transmit never runs dry");
            let packet = Packet::parse_with_blksize(tx.payload, blksize)
                .unwrap_or_else(|e| panic!("sent an invalid datagram ({e}): {:02x?}", tx.payload));
            if tx.to != PEER {
                assert!(self.strangers.contains(&tx.to), "datagram to {}", tx.to);
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
            assert!(!self.peer_errored, "sent {packet:?} after an ERROR");
            match (self.side, packet) {
                (_, Packet::Error { .. }) => self.peer_errored = true,
                (_, Packet::Oack(o)) => {
                    self.oack_sent = true;
                    check_oack(self.setup, self.side, &o)
                }
                (Side::Sender, Packet::Data { block, data }) => {
                    self.data_moved = true;
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
                (Side::Receiver, Packet::Ack(_)) => {}
                (side, packet) => panic!("{side:?} sent {packet:?}"),
            }
        }
    }

    /// Octet receiver: the file is the peer's blocks 1, 2, ... in order,
    /// each exactly as one of the DATA packets sent with that number.
    fn check_received(&self) {
        let blksize = usize::from(self.transfer.negotiated().blksize);
        for (i, chunk) in self.received.chunks(blksize).enumerate() {
            let block = u16::try_from(i + 1).expect("no wrap within one input");
            let candidates = self.fed.get(&block).map(Vec::as_slice).unwrap_or(&[]);
            assert!(
                candidates.iter().any(|c| c.as_slice() == chunk),
                "received block {block} was never sent as such"
            );
        }
    }
}

/// RFC 2347: the server acknowledges only what was asked, never more.
fn check_oack(setup: &Setup, side: Side, oack: &Options) {
    let asked = &setup.options;
    assert_eq!(oack.unknown, 0);
    assert!(!oack.is_empty(), "an empty OACK");
    let narrowed = |got: Option<u16>, wanted: Option<u16>| match (got, wanted) {
        (None, _) => true,
        (Some(g), Some(w)) => g <= w,
        (Some(_), None) => false,
    };
    assert!(
        narrowed(oack.blksize, asked.blksize),
        "{oack:?} for {asked:?}"
    );
    assert!(
        narrowed(oack.windowsize, asked.windowsize),
        "{oack:?} for {asked:?}"
    );
    if let Some(b) = oack.blksize {
        assert!((MIN_BLKSIZE..=setup.policy.max_blksize.max(MIN_BLKSIZE)).contains(&b));
    }
    if let Some(w) = oack.windowsize {
        assert!(w <= setup.policy.max_windowsize.max(1));
    }
    assert!(oack.timeout.is_none() || oack.timeout == asked.timeout);
    if let Some(tsize) = oack.tsize {
        match side {
            Side::Sender => {
                assert_eq!(setup.mode, Mode::Octet, "tsize in netascii");
                assert_eq!(tsize, setup.file.len() as u64, "tsize is the file's size");
            }
            Side::Receiver => assert_eq!(Some(tsize), asked.tsize),
        }
        assert!(asked.tsize.is_some(), "tsize not asked for");
    }
}

fuzz_target!(|bytes: &[u8]| {
    let mut input = Cursor(bytes);
    let setup = setup(&mut input);
    let steps = steps(&mut input);
    for side in [Side::Sender, Side::Receiver] {
        let mut h = Harness::new(side, &setup);
        for step in &steps {
            h.step(step);
        }
        h.run_out_the_clock();
    }
});
