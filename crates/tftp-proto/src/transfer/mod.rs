//! Transfer machines: one per TFTP transfer (one transfer ID), for both
//! roles and both directions.
//!
//! A [`Transfer`] is fed datagrams, timeouts and file data, and drained of
//! events and datagrams to send. It never blocks and never reads a clock.
//!
//! ```
//! use core::net::SocketAddr;
//! use tftp_proto::transfer::{Event, Transfer, TransferConfig};
//! use tftp_proto::{Instant, Mode, Options};
//!
//! let server: SocketAddr = "127.0.0.1:69".parse().unwrap();
//! let options = Options { blksize: Some(1468), tsize: Some(0), ..Options::default() };
//! let mut get = Transfer::client_get(&TransferConfig::default(), server, "boot.img",
//!                                    Mode::Octet, options, Instant::ZERO);
//! // Part of the drive loop (the crate docs give it whole): drain events
//! // and transmits until both are empty.
//! while let Some(event) = get.poll_event() {
//!     match event {
//!         Event::Data(bytes) => { /* append to the file */ let _ = bytes; }
//!         Event::Finished(_) | Event::Failed(_) => { /* commit or discard */ }
//!         _ => {}
//!     }
//! }
//! let rrq = get.poll_transmit().expect("the request goes out first");
//! assert_eq!(rrq.to, server);
//! assert_eq!(&rrq.payload[..2], &[0, 1]); // opcode RRQ
//! // ...send it, then sleep until `get.poll_timeout()` or a datagram arrives,
//! // and call `handle_timeout(now)` or `handle_datagram(now, from, bytes)`.
//! assert!(get.poll_timeout().is_some());
//! ```

mod accept;
mod error;
mod receiver;
mod rto;
mod sender;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddr;
use core::time::Duration;

use crate::error_code::ErrorCode;
use crate::options::{Options, DEFAULT_BLKSIZE};
use crate::packet::{opcode, BlockNumber, Mode, Packet, Request};
use crate::time::Instant;

pub use accept::{
    accept_request, datagram_cost, Accepted, RequestKind, ServerPolicy, DEFAULT_WINDOW_BUDGET,
};
pub use error::{LocalError, TransferError};

use receiver::Receiver;
use rto::Rto;
use sender::Sender;

/// Most memory a sender spends on the window it may have to resend: a
/// larger windowsize is never asked for (client put) nor granted (server
/// read). At the largest block size that is 128 blocks.
pub const MAX_WINDOW_BYTES: usize = 8 << 20;

/// How many DATA packets of `blksize` fit `bytes`; at least one.
fn windows_within(bytes: usize, blksize: u16) -> u16 {
    let blocks = bytes / (usize::from(blksize) + 4);
    u16::try_from(blocks).unwrap_or(u16::MAX).max(1)
}

/// Longest ERROR text this side sends.
const MAX_ERROR_TEXT: usize = 255;

/// Retransmission and timing knobs, for both roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferConfig {
    /// Timeout before any round trip has been measured.
    pub initial_rto: Duration,
    /// Lower bound of the adaptive timeout.
    pub min_rto: Duration,
    /// Upper bound of the adaptive timeout, backoff included.
    pub max_rto: Duration,
    /// Retransmissions of the same packet or window before giving up.
    pub max_retries: u32,
    /// How long a receiver stays after its final ACK to answer a
    /// retransmitted final DATA (RFC 1350 §6). A negotiated `timeout`
    /// replaces it. Zero ends the transfer as soon as the final ACK is
    /// sent: [`Transfer::is_closed`] once it is drained, no timeout left.
    /// The default dallies one second, as servers receiving uploads do;
    /// a client that should exit when its file is complete sets zero.
    pub dally: Duration,
}

impl Default for TransferConfig {
    fn default() -> Self {
        TransferConfig {
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(20),
            max_rto: Duration::from_secs(8),
            max_retries: 6,
            dally: Duration::from_secs(1),
        }
    }
}

/// One datagram to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// Destination.
    pub to: SocketAddr,
    /// The encoded packet.
    pub payload: &'a [u8],
}

/// The options in force for a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Block size.
    pub blksize: u16,
    /// Blocks per window (1 is RFC 1350 lock-step).
    pub windowsize: u16,
    /// Agreed retransmission timeout in seconds, if any.
    pub timeout: Option<u8>,
    /// Size of the file, if the peer told it.
    pub tsize: Option<u64>,
}

impl Default for Negotiated {
    fn default() -> Self {
        Negotiated {
            blksize: DEFAULT_BLKSIZE,
            windowsize: 1,
            timeout: None,
            tsize: None,
        }
    }
}

/// What a finished transfer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// File bytes moved (local form, before netascii expansion).
    pub bytes: u64,
    /// DATA blocks moved, each counted once.
    pub blocks: u64,
    /// Packets sent again after a timeout or a gap.
    pub retransmits: u64,
    /// From the transfer's creation to its end.
    pub elapsed: Duration,
}

/// Something the driver must act on.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The options in force, after an OACK or the fallback to RFC 1350.
    Negotiated(Negotiated),
    /// Sender: call [`Transfer::provide_data`] with the next `max_len`
    /// bytes of the file; fewer means the file ends there.
    NeedData {
        /// Bytes wanted.
        max_len: usize,
    },
    /// Receiver: the next bytes of the file, in order, in local form.
    Data(&'a [u8]),
    /// The transfer is complete; a receiver commits its file now. Keep
    /// driving until [`Transfer::is_closed`]: the final ACK is still to
    /// send, and a receiver may dally ([`TransferConfig::dally`]).
    Finished(Summary),
    /// The transfer ended without completing; discard partial data. Keep
    /// driving until [`Transfer::is_closed`]: an ERROR may still be queued.
    /// [`TransferError::Declined`] is the one ending that is no fault: a
    /// client refused the options offered, before any data.
    Failed(TransferError),
}

/// The phase of a transfer, shared by both roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Client: RRQ/WRQ sent, no answer yet.
    Requesting,
    /// Server: OACK sent, waiting for ACK 0 (read) or DATA 1 (write).
    OackSent,
    /// Data is moving.
    Transferring,
    /// Receiver: final ACK sent, re-ACKing a repeated final DATA until then.
    Dallying(Instant),
    /// Nothing more will be sent but what is queued.
    Done,
}

/// A control packet this side may have to send again on timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctrl {
    Request,
    Oack(Options),
    Ack(BlockNumber),
}

/// A client's request: what it asked for, and the packet, encoded once so
/// a retransmission is a plain resend.
#[derive(Debug)]
struct ClientRequest {
    kind: RequestKind,
    asked: Options,
    packet: Vec<u8>,
}

/// State both roles share.
#[derive(Debug)]
struct Common {
    peer: SocketAddr,
    /// Client: the server's transfer ID is learned from its first answer.
    peer_locked: bool,
    config: TransferConfig,
    rto: Rto,
    phase: Phase,
    start: Instant,
    deadline: Option<Instant>,
    retries: u32,
    /// When the transfer last moved forward.
    last_progress: Instant,
    /// Client: the request as sent.
    request: Option<ClientRequest>,
    negotiated: Negotiated,
    ctrl: Option<Ctrl>,
    ctrl_pending: bool,
    error_out: Option<(ErrorCode, String)>,
    stray: Option<SocketAddr>,
    scratch: Vec<u8>,
    ev_negotiated: bool,
    ev_finished: Option<Summary>,
    ev_failed: Option<TransferError>,
    bytes: u64,
    blocks: u64,
    retransmits: u64,
}

#[derive(Debug)]
enum Role {
    Sender(Sender),
    Receiver(Receiver),
}

/// One TFTP transfer: a sans-IO state machine.
#[derive(Debug)]
pub struct Transfer {
    c: Common,
    role: Role,
}

impl Common {
    fn new(peer: SocketAddr, config: &TransferConfig, now: Instant) -> Self {
        Common {
            peer,
            peer_locked: true,
            config: config.clone(),
            rto: Rto::new(config),
            phase: Phase::Transferring,
            start: now,
            deadline: None,
            retries: 0,
            last_progress: now,
            request: None,
            negotiated: Negotiated::default(),
            ctrl: None,
            ctrl_pending: false,
            error_out: None,
            stray: None,
            scratch: Vec::with_capacity(64),
            ev_negotiated: false,
            ev_finished: None,
            ev_failed: None,
            bytes: 0,
            blocks: 0,
            retransmits: 0,
        }
    }

    fn arm(&mut self, now: Instant) {
        self.deadline = Some(now + self.rto.current());
    }

    fn send_ctrl(&mut self, ctrl: Ctrl, now: Instant) {
        self.ctrl = Some(ctrl);
        self.ctrl_pending = true;
        self.arm(now);
    }

    fn set_negotiated(&mut self, negotiated: Negotiated) {
        self.negotiated = negotiated;
        if let Some(seconds) = negotiated.timeout {
            self.rto.fix(seconds);
        }
        self.ev_negotiated = true;
    }

    fn summary(&self, now: Instant) -> Summary {
        Summary {
            bytes: self.bytes,
            blocks: self.blocks,
            retransmits: self.retransmits,
            elapsed: now - self.start,
        }
    }

    /// End now with `error`; `wire` is the ERROR to send, if any (never in
    /// answer to the peer's own ERROR: RFC 1350 §7).
    fn fail(&mut self, error: TransferError, wire: Option<(ErrorCode, &str)>) {
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        self.deadline = None;
        self.ctrl_pending = false;
        self.error_out = wire.map(|(code, text)| (code, truncate(text)));
        self.ev_failed = Some(error);
    }

    fn fail_protocol(&mut self, why: &'static str) {
        self.fail(
            TransferError::Protocol(why),
            Some((ErrorCode::IllegalOperation, why)),
        );
    }

    fn finish(&mut self, now: Instant) {
        self.ev_finished = Some(self.summary(now));
    }

    fn progress(&mut self, now: Instant) {
        self.retries = 0;
        self.last_progress = now;
    }

    /// Retries left? If not, the transfer fails with a timeout. The peer
    /// runs its own timer, possibly much longer than ours: never give up
    /// before `max_rto` has passed without progress.
    fn count_retry(&mut self, now: Instant) -> bool {
        self.retries += 1;
        if self.retries > self.config.max_retries && now - self.last_progress >= self.config.max_rto
        {
            self.fail(
                TransferError::TimedOut,
                Some((ErrorCode::NotDefined, "Transfer timed out")),
            );
            false
        } else {
            self.rto.on_timeout();
            true
        }
    }

    fn encode_scratch(&mut self, packet: &Packet<'_>) -> usize {
        let len = packet.encoded_len();
        if self.scratch.len() < len {
            self.scratch.resize(len, 0);
        }
        packet.encode(&mut self.scratch).unwrap_or(0)
    }
}

fn truncate(text: &str) -> String {
    let mut end = text.len().min(MAX_ERROR_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    String::from(&text[..end])
}

impl Transfer {
    /// Serve a read request: this side sends the file.
    ///
    /// `file_size` answers a `tsize` request (octet mode only: the netascii
    /// size is not known in advance).
    pub fn server_read(
        policy: &ServerPolicy,
        peer: SocketAddr,
        request: &Request<'_>,
        file_size: Option<u64>,
        now: Instant,
    ) -> Transfer {
        Transfer::server(policy, peer, RequestKind::Read, request, file_size, now)
    }

    /// Serve a write request: this side receives the file.
    pub fn server_write(
        policy: &ServerPolicy,
        peer: SocketAddr,
        request: &Request<'_>,
        now: Instant,
    ) -> Transfer {
        Transfer::server(policy, peer, RequestKind::Write, request, None, now)
    }

    fn server(
        policy: &ServerPolicy,
        peer: SocketAddr,
        kind: RequestKind,
        request: &Request<'_>,
        file_size: Option<u64>,
        now: Instant,
    ) -> Transfer {
        let accepted = policy.negotiate(kind, request, file_size);
        let role = match kind {
            RequestKind::Read => Role::Sender(Sender::new(request.mode)),
            RequestKind::Write => Role::Receiver(Receiver::new(request.mode)),
        };
        let mut t = Transfer {
            role,
            c: Common::new(peer, &policy.transfer, now),
        };
        t.start_server(accepted, now);
        t
    }

    /// Answer a request with an ERROR for a local failure, then end.
    pub fn server_refuse(
        peer: SocketAddr,
        error: LocalError,
        message: &str,
        now: Instant,
    ) -> Transfer {
        Transfer::refusal(peer, error.error_code(), message, now)
    }

    pub(crate) fn refusal(
        peer: SocketAddr,
        code: ErrorCode,
        message: &str,
        now: Instant,
    ) -> Transfer {
        let mut c = Common::new(peer, &TransferConfig::default(), now);
        c.fail(
            TransferError::Refused {
                code,
                message: truncate(message),
            },
            Some((code, message)),
        );
        Transfer {
            role: Role::Receiver(Receiver::new(Mode::Octet)),
            c,
        }
    }

    /// Download `filename` from the server whose request port is `server`.
    pub fn client_get(
        config: &TransferConfig,
        server: SocketAddr,
        filename: &str,
        mode: Mode,
        options: Options,
        now: Instant,
    ) -> Transfer {
        Transfer::client(
            RequestKind::Read,
            config,
            server,
            filename,
            mode,
            options,
            now,
        )
    }

    /// Upload to `filename` on the server whose request port is `server`.
    /// Put the file's length in `options.tsize` to announce it.
    pub fn client_put(
        config: &TransferConfig,
        server: SocketAddr,
        filename: &str,
        mode: Mode,
        options: Options,
        now: Instant,
    ) -> Transfer {
        Transfer::client(
            RequestKind::Write,
            config,
            server,
            filename,
            mode,
            options,
            now,
        )
    }

    fn client(
        kind: RequestKind,
        config: &TransferConfig,
        server: SocketAddr,
        filename: &str,
        mode: Mode,
        mut options: Options,
        now: Instant,
    ) -> Transfer {
        options.unknown = 0;
        if kind == RequestKind::Write {
            // This side will hold a whole window to resend it: never ask
            // for more than that memory allows.
            let blksize = options.blksize.unwrap_or(DEFAULT_BLKSIZE);
            options.windowsize = options
                .windowsize
                .map(|w| w.min(windows_within(MAX_WINDOW_BYTES, blksize)));
        }
        let mut c = Common::new(server, config, now);
        c.peer_locked = false;
        c.phase = Phase::Requesting;
        let request = Request {
            filename,
            mode,
            options,
        };
        let packet = match kind {
            RequestKind::Read => Packet::Rrq(request),
            RequestKind::Write => Packet::Wrq(request),
        };
        let mut encoded = vec![0; packet.encoded_len()];
        let len = packet.encode(&mut encoded).unwrap_or(0);
        encoded.truncate(len);
        c.request = Some(ClientRequest {
            kind,
            asked: options,
            packet: encoded,
        });
        c.send_ctrl(Ctrl::Request, now);
        let role = match kind {
            RequestKind::Read => Role::Receiver(Receiver::new(mode)),
            RequestKind::Write => Role::Sender(Sender::new(mode)),
        };
        Transfer { c, role }
    }

    fn start_server(&mut self, accepted: Options, now: Instant) {
        let negotiated = Negotiated {
            blksize: accepted.blksize.unwrap_or(DEFAULT_BLKSIZE),
            windowsize: accepted.windowsize.unwrap_or(1),
            timeout: accepted.timeout,
            tsize: accepted.tsize,
        };
        self.c.set_negotiated(negotiated);
        match &mut self.role {
            Role::Sender(s) => {
                s.setup(&negotiated);
                if accepted.is_empty() {
                    // RFC 1350: no options, so DATA 1 is the answer.
                    self.c.phase = Phase::Transferring;
                    s.fill();
                    self.after_send_progress(now);
                } else {
                    self.c.phase = Phase::OackSent;
                    self.c.send_ctrl(Ctrl::Oack(accepted), now);
                }
            }
            Role::Receiver(r) => {
                r.setup(&negotiated);
                if accepted.is_empty() {
                    self.c.phase = Phase::Transferring;
                    r.ack(&mut self.c, BlockNumber(0), now);
                } else {
                    self.c.phase = Phase::OackSent;
                    self.c.send_ctrl(Ctrl::Oack(accepted), now);
                    r.note_sent(now);
                }
            }
        }
    }

    /// A datagram arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        if self.c.phase == Phase::Done {
            return;
        }
        let foreign = if self.c.peer_locked {
            from != self.c.peer
        } else {
            from.ip() != self.c.peer.ip()
        };
        if foreign {
            // RFC 1350 §4: a foreign TID gets ERROR 5 and the transfer goes
            // on. An ERROR is never answered (§7), which also keeps two
            // confused hosts from trading ERROR 5s forever.
            if bytes.get(..2) != Some(&opcode::ERROR.to_be_bytes()[..]) {
                self.c.stray = Some(from);
            }
            return;
        }
        if let Phase::Dallying(_) = self.c.phase {
            // Finished: the driver has committed the file, so nothing may
            // fail the transfer now. Only a repeated final DATA is answered.
            if let (Role::Receiver(r), Ok(Packet::Data { block, data })) =
                (&mut self.role, Packet::parse(bytes))
            {
                r.on_data(&mut self.c, block, data, now);
            }
            return;
        }
        let packet = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(_) => {
                if self.c.peer_locked {
                    self.c.fail_protocol("malformed packet");
                }
                return;
            }
        };
        if let Packet::Error { code, message } = packet {
            // RFC 1350 §7: an ERROR ends the transfer and is never answered.
            self.c.peer = from;
            let message = String::from(message);
            let error = if self.c.phase == Phase::OackSent {
                // RFC 2347: the client refused our OACK before any DATA
                // moved, as UEFI firmware's size probe does (tsize 0,
                // then ERROR 8): its choice, not a failure.
                TransferError::Declined { code, message }
            } else {
                TransferError::Peer { code, message }
            };
            self.c.fail(error, None);
            return;
        }
        if self.c.phase == Phase::Requesting {
            self.handle_first_answer(now, from, packet);
            return;
        }
        match &mut self.role {
            Role::Sender(s) => match packet {
                Packet::Ack(block) => {
                    if self.c.phase == Phase::OackSent {
                        if block.0 == 0 {
                            self.c.phase = Phase::Transferring;
                            self.c.ctrl = None;
                            self.c.ctrl_pending = false;
                            self.c.progress(now);
                            s.fill();
                            self.after_send_progress(now);
                        }
                        return;
                    }
                    if s.on_ack(&mut self.c, block, now) {
                        self.after_send_progress(now);
                    }
                }
                // A duplicate OACK (client put): already handled.
                Packet::Oack(_) => {}
                _ => self.c.fail_protocol("unexpected packet for a sender"),
            },
            Role::Receiver(r) => match packet {
                Packet::Data { block, data } => {
                    if self.c.phase == Phase::OackSent {
                        self.c.phase = Phase::Transferring;
                    }
                    r.on_data(&mut self.c, block, data, now);
                }
                // Client get: the server sent its OACK again because our ACK 0
                // was lost; answer it again until data flows.
                Packet::Oack(_) if r.expecting_first_block() => {
                    self.c.retransmits += 1;
                    r.ack(&mut self.c, BlockNumber(0), now);
                }
                Packet::Oack(_) => {}
                _ => self.c.fail_protocol("unexpected packet for a receiver"),
            },
        }
    }

    /// Client: the first answer to the request decides the options and the
    /// server's transfer ID.
    fn handle_first_answer(&mut self, now: Instant, from: SocketAddr, packet: Packet<'_>) {
        let Some(ClientRequest { kind, asked, .. }) = self.c.request.as_ref() else {
            return;
        };
        let (kind, asked) = (*kind, *asked);
        let negotiated = match (kind, packet) {
            (_, Packet::Oack(offered)) => match check_oack(&asked, &offered) {
                Ok(n) => n,
                Err(why) => {
                    self.c.peer = from;
                    self.c.peer_locked = true;
                    self.c.fail(
                        TransferError::OptionNegotiation(why),
                        Some((ErrorCode::OptionNegotiation, why)),
                    );
                    return;
                }
            },
            // RFC 2347: a server that ignores options answers as in RFC 1350.
            (RequestKind::Read, Packet::Data { .. })
            | (RequestKind::Write, Packet::Ack(BlockNumber(0))) => Negotiated::default(),
            // Anything else cannot come from a server answering our request.
            _ => return,
        };
        self.c.peer = from;
        self.c.peer_locked = true;
        self.c.phase = Phase::Transferring;
        self.c.ctrl = None;
        self.c.ctrl_pending = false;
        // Karn: a round trip is only measured on a request sent once.
        if self.c.retries == 0 {
            self.c.rto.sample(now - self.c.start);
        }
        self.c.progress(now);
        self.c.set_negotiated(negotiated);
        match &mut self.role {
            Role::Sender(s) => {
                s.setup(&negotiated);
                s.fill();
                self.after_send_progress(now);
            }
            Role::Receiver(r) => {
                r.setup(&negotiated);
                match packet {
                    Packet::Data { block, data } => r.on_data(&mut self.c, block, data, now),
                    _ => r.ack(&mut self.c, BlockNumber(0), now),
                }
            }
        }
    }

    /// Sender: the window moved or got data; start sending if a round is ready.
    fn after_send_progress(&mut self, now: Instant) {
        if let Role::Sender(s) = &mut self.role {
            if s.finished() {
                self.c.phase = Phase::Done;
                self.c.deadline = None;
                self.c.finish(now);
            } else if s.has_unsent() {
                s.start_round(now);
                let span = s.round_span();
                self.c.deadline = Some(now + span + self.c.rto.current());
            }
        }
    }

    /// Time passed; call when `now >= poll_timeout()` (earlier calls do nothing).
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.c.phase {
            Phase::Done => return,
            Phase::Dallying(until) => {
                if now >= until {
                    self.c.phase = Phase::Done;
                    self.c.deadline = None;
                }
                return;
            }
            _ => {}
        }
        if let Role::Sender(s) = &mut self.role {
            s.tick(now);
        }
        match self.c.deadline {
            Some(deadline) if now >= deadline => {}
            _ => return,
        }
        if !self.c.count_retry(now) {
            return;
        }
        match (&mut self.role, self.c.phase) {
            (Role::Receiver(r), Phase::Transferring) => {
                self.c.retransmits += 1;
                r.on_timeout(&mut self.c, now);
            }
            (Role::Sender(s), Phase::Transferring) => {
                // RFC 7440 §4: the last ACK received sets where the window restarts.
                self.c.retransmits += s.restart_round(now) as u64;
                let span = s.round_span();
                self.c.deadline = Some(now + span + self.c.rto.current());
            }
            // The request or the OACK went unanswered: send it again.
            _ => {
                self.c.ctrl_pending = true;
                self.c.retransmits += 1;
                self.c.arm(now);
            }
        }
    }

    /// The next `max_len` bytes of the file, answering [`Event::NeedData`].
    /// Fewer bytes mean the file ends here.
    pub fn provide_data(&mut self, now: Instant, data: &[u8]) {
        if self.c.phase == Phase::Done {
            return;
        }
        if let Role::Sender(s) = &mut self.role {
            if let Some(taken) = s.provide(data) {
                self.c.bytes += taken as u64;
                s.fill();
                if self.c.phase == Phase::Transferring {
                    self.after_send_progress(now);
                }
            }
        }
    }

    /// Abort for a local reason: the peer gets an ERROR, the driver gets
    /// [`Event::Failed`].
    ///
    /// `_now` keeps every input's signature alike; an abort needs no time.
    pub fn abort(&mut self, _now: Instant, error: LocalError, message: &str) {
        let code = error.error_code();
        self.c.fail(
            TransferError::Aborted {
                code,
                message: truncate(message),
            },
            Some((code, message)),
        );
    }

    /// The next event, if any. After every input, drain this and
    /// [`Transfer::poll_transmit`] until both return `None`: a sender asks
    /// for read-ahead data only once its current round has been sent.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        if core::mem::take(&mut self.c.ev_negotiated) {
            return Some(Event::Negotiated(self.c.negotiated));
        }
        match &mut self.role {
            Role::Sender(s) => {
                if let Some(max_len) = s.take_need_data() {
                    if self.c.phase != Phase::Done {
                        return Some(Event::NeedData { max_len });
                    }
                }
            }
            Role::Receiver(r) => {
                if let Some(data) = r.take_data() {
                    return Some(Event::Data(data));
                }
            }
        }
        if let Some(summary) = self.c.ev_finished.take() {
            return Some(Event::Finished(summary));
        }
        self.c.ev_failed.take().map(Event::Failed)
    }

    /// The next datagram to send, if any. Drain until `None`.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        if let Some(to) = self.c.stray.take() {
            let len = self.c.encode_scratch(&Packet::Error {
                code: ErrorCode::UnknownTransferId,
                message: "Unknown transfer ID",
            });
            return Some(Transmit {
                to,
                payload: &self.c.scratch[..len],
            });
        }
        if let Some((code, text)) = self.c.error_out.take() {
            let len = self.c.encode_scratch(&Packet::Error {
                code,
                message: &text,
            });
            return Some(Transmit {
                to: self.c.peer,
                payload: &self.c.scratch[..len],
            });
        }
        // A receiver that does not dally is done with its final ACK still
        // to send: a pending control packet goes out even then (a failure
        // clears it, so nothing else is left pending at the end).
        if core::mem::take(&mut self.c.ctrl_pending) {
            let payload = match self.c.ctrl {
                Some(Ctrl::Ack(block)) => {
                    let len = self.c.encode_scratch(&Packet::Ack(block));
                    &self.c.scratch[..len]
                }
                Some(Ctrl::Oack(options)) => {
                    let len = self.c.encode_scratch(&Packet::Oack(options));
                    &self.c.scratch[..len]
                }
                Some(Ctrl::Request) => &self.c.request.as_ref()?.packet[..],
                None => return None,
            };
            return Some(Transmit {
                to: self.c.peer,
                payload,
            });
        }
        if self.c.phase != Phase::Transferring {
            return None;
        }
        match &mut self.role {
            Role::Sender(s) => s.next_datagram().map(|payload| Transmit {
                to: self.c.peer,
                payload,
            }),
            Role::Receiver(_) => None,
        }
    }

    /// When to call [`Transfer::handle_timeout`]; `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.c.phase, &self.role) {
            (Phase::Dallying(until), _) => Some(until),
            (Phase::Done, _) => None,
            (Phase::Transferring, Role::Sender(s)) => match s.next_release() {
                Some(release) => Some(self.c.deadline.map_or(release, |d| d.min(release))),
                None => self.c.deadline,
            },
            _ => self.c.deadline,
        }
    }

    /// True when nothing is left to send, report or wait for.
    pub fn is_closed(&self) -> bool {
        self.c.phase == Phase::Done
            && !self.c.ctrl_pending
            && self.c.error_out.is_none()
            && self.c.stray.is_none()
            && self.c.ev_finished.is_none()
            && self.c.ev_failed.is_none()
            && match &self.role {
                Role::Receiver(r) => !r.has_data(),
                Role::Sender(_) => true,
            }
    }

    /// The peer's address (for a client, the server's transfer ID once known).
    pub fn peer(&self) -> SocketAddr {
        self.c.peer
    }

    /// The options in force.
    pub fn negotiated(&self) -> Negotiated {
        self.c.negotiated
    }
}

/// RFC 2347: an OACK may only narrow what was asked. `Err` names the fault.
fn check_oack(asked: &Options, offered: &Options) -> Result<Negotiated, &'static str> {
    if offered.unknown > 0 {
        return Err("server acknowledged an option that was not requested");
    }
    let narrower = |got: Option<u16>, wanted: Option<u16>| match (got, wanted) {
        (None, _) => Ok(()),
        (Some(_), None) => Err("server acknowledged an option that was not requested"),
        (Some(g), Some(w)) if g > w => Err("server raised an option value"),
        _ => Ok(()),
    };
    narrower(offered.blksize, asked.blksize)?;
    narrower(offered.windowsize, asked.windowsize)?;
    match (offered.timeout, asked.timeout) {
        (Some(_), None) => return Err("server acknowledged an option that was not requested"),
        (Some(g), Some(w)) if g != w => return Err("server changed the timeout"),
        _ => {}
    }
    if offered.tsize.is_some() && asked.tsize.is_none() {
        return Err("server acknowledged an option that was not requested");
    }
    Ok(Negotiated {
        blksize: offered.blksize.unwrap_or(DEFAULT_BLKSIZE),
        windowsize: offered.windowsize.unwrap_or(1),
        timeout: offered.timeout,
        tsize: offered.tsize,
    })
}
