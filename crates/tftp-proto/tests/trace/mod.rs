//! Packet traces: drive one transfer machine by hand, datagram by
//! datagram, on a virtual clock, and check every packet it sends and every
//! event it reports, in order.
//!
//! ```text
//! let mut t = Trace::server_read(&policy, &rrq("f", Mode::Octet, &[]), file);
//! t.expect_sent(CLIENT, data(1, &file[..512]));
//! t.recv(CLIENT, ack(1));
//! ```
//!
//! Every packet sent and every event reported must be consumed by an
//! `expect_*` call before the trace is dropped, so nothing the machine does
//! goes unchecked.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tftp_proto::transfer::{
    accept_request, Event, LocalError, Negotiated, RequestKind, ServerPolicy, Summary, Transfer,
    TransferConfig, TransferError,
};
use tftp_proto::{BlockNumber, ErrorCode, Instant, Mode, Options, Packet, Request};

const fn v4(last: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, last), port))
}

/// The client's address (its transfer ID).
pub const CLIENT: SocketAddr = v4(1, 40000);
/// The server's request port.
pub const SERVER: SocketAddr = v4(2, 69);
/// The ephemeral port a server answers from (its transfer ID).
pub const SERVER_TID: SocketAddr = v4(2, 50000);
/// Another port on the client's host: a foreign transfer ID.
pub const STRANGER: SocketAddr = v4(1, 40001);
/// Another host altogether.
pub const OTHER_HOST: SocketAddr = v4(9, 40000);

// ---------------------------------------------------------------------------
// Packet builders. Fixed fields go through `Packet::encode`; option pairs
// are appended raw (name NUL value NUL) so unknown or malformed options can
// be written too.

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut buf = vec![0; packet.encoded_len()];
    let n = packet.encode(&mut buf).expect("encode");
    buf.truncate(n);
    buf
}

fn push_options(buf: &mut Vec<u8>, options: &[(&str, &str)]) {
    for (name, value) in options {
        buf.extend_from_slice(name.as_bytes());
        buf.push(0);
        buf.extend_from_slice(value.as_bytes());
        buf.push(0);
    }
}

fn request(write: bool, filename: &str, mode: Mode, options: &[(&str, &str)]) -> Vec<u8> {
    let r = Request {
        filename,
        mode,
        options: Options::default(),
    };
    let mut buf = encode(&if write {
        Packet::Wrq(r)
    } else {
        Packet::Rrq(r)
    });
    push_options(&mut buf, options);
    buf
}

/// RRQ with options in the given order.
pub fn rrq(filename: &str, mode: Mode, options: &[(&str, &str)]) -> Vec<u8> {
    request(false, filename, mode, options)
}

/// WRQ with options in the given order.
pub fn wrq(filename: &str, mode: Mode, options: &[(&str, &str)]) -> Vec<u8> {
    request(true, filename, mode, options)
}

/// DATA `block` carrying `bytes`.
pub fn data(block: u16, bytes: &[u8]) -> Vec<u8> {
    encode(&Packet::Data {
        block: BlockNumber(block),
        data: bytes,
    })
}

/// ACK `block`.
pub fn ack(block: u16) -> Vec<u8> {
    encode(&Packet::Ack(BlockNumber(block)))
}

/// ERROR `code` with `message`.
pub fn error(code: u16, message: &str) -> Vec<u8> {
    encode(&Packet::Error {
        code: ErrorCode::from_u16(code),
        message,
    })
}

/// OACK with options in the given order.
pub fn oack(options: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = encode(&Packet::Oack(Options::default()));
    push_options(&mut buf, options);
    buf
}

/// A readable form of a datagram for failure messages.
pub fn describe(bytes: &[u8]) -> String {
    match Packet::parse(bytes) {
        Ok(Packet::Data { block, data }) => {
            let head = &data[..data.len().min(16)];
            format!(
                "DATA {} ({} bytes, starting {:?})",
                block.0,
                data.len(),
                head
            )
        }
        Ok(p) => format!("{p:?}"),
        Err(e) => format!("unparsable ({e}): {bytes:?}"),
    }
}

/// Deterministic file contents that differ from block to block.
pub fn file_bytes(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(7) as u8)
        .collect()
}

/// A server policy with the given caps and default timing.
pub fn policy(max_blksize: u16, max_windowsize: u16) -> ServerPolicy {
    ServerPolicy {
        max_blksize,
        max_windowsize,
        ..ServerPolicy::default()
    }
}

/// The default policy, with writes allowed.
pub fn write_policy() -> ServerPolicy {
    ServerPolicy {
        allow_write: true,
        ..ServerPolicy::default()
    }
}

/// Negotiated options, for `Ev::Negotiated`.
pub fn negotiated(blksize: u16, windowsize: u16, tsize: Option<u64>) -> Negotiated {
    Negotiated {
        blksize,
        windowsize,
        timeout: None,
        tsize,
    }
}

// ---------------------------------------------------------------------------

/// An event, owned so it can wait in a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Negotiated(Negotiated),
    Data(Vec<u8>),
    Finished(Summary),
    Failed(TransferError),
}

/// One datagram the machine sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Instant,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

/// One machine, its virtual clock, and what it has said so far.
pub struct Trace {
    pub machine: Transfer,
    pub now: Instant,
    /// Sender side: the local file, handed out as the machine asks.
    file: Vec<u8>,
    offset: usize,
    /// Answer `NeedData` at once (the usual driver); off to hold it back.
    pub auto_provide: bool,
    /// `max_len` of every `NeedData`, in order.
    pub need_data: Vec<usize>,
    /// Receiver side: every `Data` event appended.
    pub received: Vec<u8>,
    sent: VecDeque<Sent>,
    events: VecDeque<Ev>,
}

impl Trace {
    /// Wrap a machine built elsewhere and drain what it has to say.
    pub fn new(machine: Transfer, now: Instant) -> Trace {
        let mut t = Trace {
            machine,
            now,
            file: Vec::new(),
            offset: 0,
            auto_provide: true,
            need_data: Vec::new(),
            received: Vec::new(),
            sent: VecDeque::new(),
            events: VecDeque::new(),
        };
        t.drain();
        t
    }

    /// A server answering `rrq` from CLIENT with `file`.
    pub fn server_read(policy: &ServerPolicy, rrq: &[u8], file: Vec<u8>) -> Trace {
        let now = Instant::ZERO;
        let accepted = accept_request(policy, CLIENT, rrq, now)
            .unwrap_or_else(|_| panic!("request refused: {}", describe(rrq)));
        assert_eq!(accepted.kind, RequestKind::Read);
        let machine = Transfer::server_read(
            policy,
            CLIENT,
            &accepted.request,
            Some(file.len() as u64),
            now,
        );
        Trace::with_file(machine, now, file)
    }

    /// A server answering `wrq` from CLIENT.
    pub fn server_write(policy: &ServerPolicy, wrq: &[u8]) -> Trace {
        let now = Instant::ZERO;
        let accepted = accept_request(policy, CLIENT, wrq, now)
            .unwrap_or_else(|_| panic!("request refused: {}", describe(wrq)));
        assert_eq!(accepted.kind, RequestKind::Write);
        Trace::new(
            Transfer::server_write(policy, CLIENT, &accepted.request, now),
            now,
        )
    }

    /// A client downloading `filename` from SERVER.
    pub fn client_get(config: &TransferConfig, filename: &str, options: Options) -> Trace {
        let now = Instant::ZERO;
        let machine = Transfer::client_get(config, SERVER, filename, Mode::Octet, options, now);
        Trace::new(machine, now)
    }

    /// A client uploading `file` to SERVER.
    pub fn client_put(
        config: &TransferConfig,
        filename: &str,
        options: Options,
        file: Vec<u8>,
    ) -> Trace {
        let now = Instant::ZERO;
        let machine = Transfer::client_put(config, SERVER, filename, Mode::Octet, options, now);
        Trace::with_file(machine, now, file)
    }

    fn with_file(machine: Transfer, now: Instant, file: Vec<u8>) -> Trace {
        let mut t = Trace {
            machine,
            now,
            file,
            offset: 0,
            auto_provide: true,
            need_data: Vec::new(),
            received: Vec::new(),
            sent: VecDeque::new(),
            events: VecDeque::new(),
        };
        t.drain();
        t
    }

    /// The drive loop of every driver: events until none (answering
    /// `NeedData` from the file), then datagrams until none.
    fn drain(&mut self) {
        loop {
            let event = match self.machine.poll_event() {
                None => break,
                Some(Event::NeedData { max_len }) => {
                    self.need_data.push(max_len);
                    if self.auto_provide {
                        self.provide(max_len);
                    }
                    continue;
                }
                Some(Event::Negotiated(n)) => Ev::Negotiated(n),
                Some(Event::Data(bytes)) => {
                    self.received.extend_from_slice(bytes);
                    Ev::Data(bytes.to_vec())
                }
                Some(Event::Finished(s)) => Ev::Finished(s),
                Some(Event::Failed(e)) => Ev::Failed(e),
                Some(other) => panic!("unknown event {other:?}"),
            };
            self.events.push_back(event);
        }
        while let Some(tx) = self.machine.poll_transmit() {
            self.sent.push_back(Sent {
                at: self.now,
                to: tx.to,
                bytes: tx.payload.to_vec(),
            });
        }
    }

    /// Hand the machine the next `max_len` bytes of the file (fewer at its end).
    pub fn provide(&mut self, max_len: usize) {
        let end = (self.offset + max_len).min(self.file.len());
        let chunk = self.file[self.offset..end].to_vec();
        self.offset = end;
        self.machine.provide_data(self.now, &chunk);
        self.drain();
    }

    /// A datagram arrives from `from`.
    pub fn recv(&mut self, from: SocketAddr, bytes: Vec<u8>) {
        self.machine.handle_datagram(self.now, from, &bytes);
        self.drain();
    }

    /// Local failure.
    pub fn abort(&mut self, error: LocalError, message: &str) {
        self.machine.abort(self.now, error, message);
        self.drain();
    }

    /// Let `ms` milliseconds pass, firing every timeout that falls due on
    /// the way, each at its own instant.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        let mut fired = 0;
        while let Some(deadline) = self.machine.poll_timeout() {
            if deadline > target {
                break;
            }
            fired += 1;
            assert!(fired < 100_000, "timeout keeps firing at {deadline:?}");
            self.now = self.now.max(deadline);
            self.machine.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    /// Jump to the next timeout and fire it; returns how long that was.
    pub fn fire_timeout(&mut self) -> Duration {
        let deadline = self
            .machine
            .poll_timeout()
            .expect("a timeout should be armed");
        assert!(deadline >= self.now, "timeout in the past");
        let waited = deadline - self.now;
        self.now = deadline;
        self.machine.handle_timeout(self.now);
        self.drain();
        waited
    }

    /// The next datagram sent, whatever it is.
    pub fn take_sent(&mut self) -> Sent {
        match self.sent.pop_front() {
            Some(s) => s,
            None => panic!("expected a datagram, nothing was sent"),
        }
    }

    /// The next datagram sent is exactly `bytes`, to `to`.
    #[track_caller]
    pub fn expect_sent(&mut self, to: SocketAddr, bytes: Vec<u8>) -> Sent {
        let Some(s) = self.sent.pop_front() else {
            panic!("expected {} to {to}, nothing was sent", describe(&bytes));
        };
        assert!(
            s.to == to && s.bytes == bytes,
            "expected {} to {to},\n     got {} to {}",
            describe(&bytes),
            describe(&s.bytes),
            s.to
        );
        s
    }

    /// The next datagram sent is an ERROR with `code` to `to`; returns its text.
    #[track_caller]
    pub fn expect_error(&mut self, to: SocketAddr, code: u16) -> String {
        let s = self.take_sent();
        assert_eq!(s.to, to, "ERROR {code} sent to the wrong address");
        match Packet::parse(&s.bytes) {
            Ok(Packet::Error { code: got, message }) => {
                assert_eq!(got.to_u16(), code, "ERROR code ({message:?})");
                assert_eq!(s.bytes.last(), Some(&0), "ERROR text ends in NUL");
                message.to_string()
            }
            _ => panic!("expected ERROR {code}, got {}", describe(&s.bytes)),
        }
    }

    /// The next event is exactly `ev`.
    #[track_caller]
    pub fn expect_event(&mut self, ev: Ev) {
        match self.events.pop_front() {
            Some(got) => assert_eq!(got, ev),
            None => panic!("expected {ev:?}, no event"),
        }
    }

    /// The next event is `Data` with exactly `bytes`.
    #[track_caller]
    pub fn expect_data(&mut self, bytes: &[u8]) {
        self.expect_event(Ev::Data(bytes.to_vec()));
    }

    /// The next event is `Finished`; returns its summary.
    #[track_caller]
    pub fn expect_finished(&mut self) -> Summary {
        match self.events.pop_front() {
            Some(Ev::Finished(s)) => s,
            other => panic!("expected Finished, got {other:?}"),
        }
    }

    /// The next event is `Failed`; returns the reason.
    #[track_caller]
    pub fn expect_failed(&mut self) -> TransferError {
        match self.events.pop_front() {
            Some(Ev::Failed(e)) => e,
            other => panic!("expected Failed, got {other:?}"),
        }
    }

    /// Nothing sent and nothing reported since the last check.
    #[track_caller]
    pub fn expect_silent(&mut self) {
        let sent: Vec<String> = self
            .sent
            .iter()
            .map(|s| format!("{} to {}", describe(&s.bytes), s.to))
            .collect();
        assert!(sent.is_empty(), "expected silence, sent {sent:?}");
        assert!(
            self.events.is_empty(),
            "expected silence, events {:?}",
            self.events
        );
    }

    /// The machine is done: closed, no timeout armed, nothing more to say.
    #[track_caller]
    pub fn expect_closed(&mut self) {
        self.expect_silent();
        assert!(self.machine.is_closed(), "machine still open");
        assert_eq!(
            self.machine.poll_timeout(),
            None,
            "closed but a timeout is armed"
        );
    }

    /// Everything sent and reported since the last check, described, and
    /// taken as checked.
    pub fn take_all(&mut self) -> Vec<String> {
        let mut all: Vec<String> = self
            .sent
            .drain(..)
            .map(|s| format!("sent {} to {}", describe(&s.bytes), s.to))
            .collect();
        all.extend(self.events.drain(..).map(|e| format!("event {e:?}")));
        all
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let sent: Vec<String> = self
            .sent
            .iter()
            .map(|s| format!("{} to {}", describe(&s.bytes), s.to))
            .collect();
        assert!(sent.is_empty(), "unchecked datagrams at the end: {sent:?}");
        assert!(
            self.events.is_empty(),
            "unchecked events at the end: {:?}",
            self.events
        );
    }
}
