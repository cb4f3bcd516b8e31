//! The client session machine: one per control connection.
//!
//! A [`Client`] runs one [`Op`] at a time. It writes commands into
//! [`Client::transmit`], reads replies from [`Client::handle_input`],
//! and asks the driver, through [`Event`]s, to open, accept or close data
//! connections; the data bytes themselves never pass through it. Every
//! operation ends with exactly one [`Event::Done`].
//!
//! ```
//! use core::net::SocketAddr;
//! use ftp_proto::client::{Client, ClientConfig, Event, Op, Outcome, Transfer, TransferKind};
//! use ftp_proto::Instant;
//!
//! let server: SocketAddr = "192.0.2.7:21".parse().unwrap();
//! let now = Instant::ZERO;
//! let mut client = Client::new(&ClientConfig::default(), server, now);
//! client.start(now, Op::Login {
//!     user: "anonymous".into(), password: "guest@".into(), account: None,
//! }).unwrap();
//!
//! // The drive loop, as every driver runs it: feed what the control
//! // connection reads, write what `transmit` holds, act on events,
//! // sleep until input or `poll_timeout`. Here the server is scripted.
//! let mut script: &[&[u8]] = &[
//!     b"220 ready\r\n", b"331 password?\r\n", b"230 in\r\n",
//!     b"229 Entering Extended Passive Mode (|||50001|)\r\n",
//!     b"150 Opening data connection (5 bytes)\r\n", b"226 done\r\n",
//! ];
//! let mut sent = Vec::new();
//! let mut logged_in = false;
//! loop {
//!     sent.extend_from_slice(client.transmit());
//!     let n = client.transmit().len();
//!     client.transmitted(n);
//!     let mut done = None;
//!     while let Some(event) = client.poll_event() {
//!         match event {
//!             Event::Connect(addr) => {
//!                 assert_eq!(addr, "192.0.2.7:50001".parse().unwrap());
//!                 client.data_connected(now); // connected to `addr`
//!             }
//!             Event::TransferStarted { size, .. } => {
//!                 assert_eq!(size, Some(5));
//!                 // ...read the data connection to its end...
//!                 client.data_finished(now, 5);
//!             }
//!             Event::Done(result) => done = Some(result),
//!             _ => {}
//!         }
//!     }
//!     match done {
//!         Some(Ok(Outcome::Ok)) if !logged_in => {
//!             logged_in = true;
//!             let get = Transfer::new(TransferKind::Retrieve, Some("hello.txt"));
//!             client.start(now, Op::Transfer(get)).unwrap();
//!             continue;
//!         }
//!         Some(result) => {
//!             assert_eq!(result, Ok(Outcome::Transferred { bytes: 5 }));
//!             break;
//!         }
//!         None => {}
//!     }
//!     let (reply, rest) = script.split_first().expect("the client waits for a reply");
//!     script = rest;
//!     assert_eq!(client.handle_input(now, reply), reply.len());
//! }
//! assert_eq!(
//!     sent,
//!     b"USER anonymous\r\nPASS guest@\r\nEPSV\r\nRETR hello.txt\r\n"
//! );
//! ```

mod config;
mod dialogue;
pub mod entries;
mod error;
mod event;
mod features;
mod op;
mod text;
mod transfer;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::SocketAddr;

pub use config::ClientConfig;
pub use error::{Busy, ClientError};
pub use event::Event;
pub use features::{Features, MlstFact};
pub use op::{DataMode, Op, Outcome, Transfer, TransferKind, TransferType};

use crate::format::Format;
use crate::reply::{Reply, ReplyCode, ReplyReader};
use crate::Instant;
use dialogue::{Ctx, Dialogue, Extensions, Flow};

/// The client side of one control connection.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    peer: SocketAddr,
    reader: ReplyReader,
    out: Vec<u8>,
    events: VecDeque<Event>,
    state: State,
    running: Option<Dialogue>,
    /// Started before the greeting; begins when it arrives.
    queued: Option<Op>,
    /// What the running operation (or the greeting) waits for.
    waiting: Option<Wait>,
    deadline: Option<Instant>,
    ext: Extensions,
    features: Option<Features>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Greeting,
    Ready,
    /// AUTH's 234 is in; the driver is running the handshake.
    Handshake,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    Reply,
    Driver,
    Data,
}

impl Client {
    /// A client for a control connection to `peer`, just opened: it
    /// waits for the greeting (RFC 959 §5.4: 220, perhaps after 120).
    pub fn new(config: &ClientConfig, peer: SocketAddr, now: Instant) -> Client {
        Client {
            config: config.clone(),
            peer,
            reader: ReplyReader::new(config.max_reply),
            out: Vec::new(),
            events: VecDeque::new(),
            state: State::Greeting,
            running: None,
            queued: None,
            waiting: Some(Wait::Reply),
            deadline: Some(now + config.reply_timeout),
            ext: Extensions::default(),
            features: None,
        }
    }

    /// A client for a control connection that is TLS from its first
    /// byte (implicit FTPS, conventionally port 990): the driver has
    /// run the handshake before the greeting. [`Op::AuthTls`] is then
    /// refused and [`Op::ProtectData`] may be sent at once.
    pub fn new_secured(config: &ClientConfig, peer: SocketAddr, now: Instant) -> Client {
        let mut client = Client::new(config, peer, now);
        client.ext.secured = true;
        client
    }

    /// The TLS handshake asked for by [`Event::StartTls`] succeeded: the
    /// control connection is TLS from now on, and [`Op::AuthTls`] ends
    /// with [`Outcome::Ok`]. Ignored at any other time.
    pub fn control_secured(&mut self, now: Instant) {
        if self.state != State::Handshake {
            return;
        }
        self.state = State::Ready;
        self.ext.secured = true;
        self.apply(now, Flow::Done(Ok(Outcome::Ok)));
    }

    /// The TLS handshake asked for by [`Event::StartTls`] failed: the
    /// session is closed with [`ClientError::TlsFailed`] (the driver says
    /// why, from its TLS library). Ignored at any other time.
    pub fn control_tls_failed(&mut self, _now: Instant) {
        if self.state == State::Handshake {
            self.close(ClientError::TlsFailed);
        }
    }

    /// True once the control connection is TLS ([`Op::AuthTls`] went
    /// through, or [`Client::new_secured`]).
    pub fn is_control_secured(&self) -> bool {
        self.ext.secured
    }

    /// True while `PROT P` is in force: transfers are protected.
    pub fn data_protected(&self) -> bool {
        self.ext.protected
    }

    /// Starts `op`. It may be started before the greeting: it begins
    /// once the greeting arrives. On a closed session it ends at once
    /// with [`ClientError::Closed`].
    pub fn start(&mut self, now: Instant, op: Op) -> Result<(), Busy> {
        if self.is_busy() {
            return Err(Busy);
        }
        match self.state {
            State::Closed => {
                let closed = ClientError::Closed { reply: None };
                self.events.push_back(Event::Done(Err(closed)));
            }
            State::Greeting => self.queued = Some(op),
            // A handshake is AUTH still running: is_busy said so above.
            State::Ready | State::Handshake => self.begin(now, op),
        }
        Ok(())
    }

    /// Stops the running transfer: the driver gets
    /// [`Event::CloseData`], the server ABOR when its transfer command
    /// is under way (RFC 959 §4.1.3), and the operation ends with
    /// [`ClientError::Aborted`] once the server's replies are in. Returns
    /// false, doing nothing, when no transfer is running or it is already
    /// being aborted.
    pub fn abort(&mut self, now: Instant) -> bool {
        self.with_transfer(now, |t, ctx| t.abort(ctx))
    }

    /// Feeds bytes read from the control connection. Takes them all
    /// (returns `bytes.len()`); after the session closed they are
    /// ignored.
    ///
    /// While the driver runs the handshake asked for by
    /// [`Event::StartTls`], nothing is taken as a reply: bytes that came
    /// in clear behind the 234, in this call or before, are dropped.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        let mut taken = 0;
        loop {
            if self.state == State::Handshake {
                return bytes.len();
            }
            while let Some(next) = self.reader.next_reply() {
                match next {
                    Ok(reply) => self.on_reply(now, reply),
                    Err(e) => self.close(ClientError::Malformed(e)),
                }
                if self.state == State::Closed {
                    return bytes.len();
                }
                if self.state == State::Handshake {
                    // RFC 4217 §4: what followed the 234 in clear is not
                    // the server's to say once TLS is up.
                    self.reader = ReplyReader::new(self.config.max_reply);
                    return bytes.len();
                }
            }
            if taken == bytes.len() {
                return taken;
            }
            let n = self.reader.push(&bytes[taken..]);
            if n == 0 {
                // Only a reader holding an untaken reply refuses bytes,
                // and none is left: nothing more can be done.
                return taken;
            }
            taken += n;
        }
    }

    /// The control connection reached its end (the server closed it).
    pub fn handle_eof(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if let Some(flow) = self.running.as_ref().and_then(Dialogue::on_eof) {
            return self.apply(now, flow);
        }
        self.close(ClientError::Closed { reply: None });
    }

    /// Call when [`Client::poll_timeout`] has passed: a reply or the data
    /// connection took too long, and the session fails with
    /// [`ClientError::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) {
            self.close(ClientError::Timeout);
        }
    }

    /// Active mode: the listener asked for by [`Event::Listen`] is bound
    /// at `addr` (the control connection's local IP, any port). Ignored
    /// at any other time.
    pub fn listening(&mut self, now: Instant, addr: SocketAddr) {
        self.with_transfer(now, |t, ctx| t.on_listening(ctx, addr));
    }

    /// The data connection is open: connected (passive, after
    /// [`Event::Connect`]) or accepted (active). Ignored at any other
    /// time.
    pub fn data_connected(&mut self, now: Instant) {
        self.with_transfer(now, |t, ctx| t.on_data_connected(ctx));
    }

    /// Bytes moved on the data connection: the data timeout starts
    /// again. Call it as often as convenient while a transfer runs.
    pub fn data_progress(&mut self, now: Instant) {
        if self.waiting == Some(Wait::Data) {
            self.deadline = Some(now + self.config.data_timeout);
        }
    }

    /// The data connection ended cleanly after `bytes`: a download read
    /// it to its end, an upload wrote everything and closed it. Ignored
    /// unless a data connection is open.
    pub fn data_finished(&mut self, now: Instant, bytes: u64) {
        self.with_transfer(now, |t, ctx| t.on_data_finished(ctx, bytes));
    }

    /// The data connection (or the listener, or the attempt to open
    /// either) failed; the driver has dropped it. The operation fails,
    /// with the server's reply if one is due. Ignored when the driver
    /// holds no data connection for the running operation.
    pub fn data_failed(&mut self, now: Instant) {
        self.with_transfer(now, |t, ctx| t.on_data_failed(ctx));
    }

    /// Bytes to write on the control connection; call
    /// [`Client::transmitted`] with how many were written.
    pub fn transmit(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`Client::transmit`] were written.
    pub fn transmitted(&mut self, n: usize) {
        let n = n.min(self.out.len());
        self.out.drain(..n);
    }

    /// The next event for the driver.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`Client::handle_timeout`], if anything is awaited.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// True once the session has ended: the driver writes what
    /// [`Client::transmit`] still holds, then closes the control
    /// connection and any data connection.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// True while an operation runs (or waits for the greeting).
    pub fn is_busy(&self) -> bool {
        self.running.is_some() || self.queued.is_some()
    }

    /// The representation type the server last accepted (TYPE A until an
    /// [`Op::SetType`] succeeds, RFC 959 §3.1.1.5). An [`Op::Raw`] `TYPE A`,
    /// `TYPE I` or `TYPE L 8` the server accepts counts too, and an
    /// accepted raw `REIN` puts it back to TYPE A.
    pub fn transfer_type(&self) -> TransferType {
        self.ext.transfer_type
    }

    /// The format of the next file transfer: the TYPE, STRU and MODE the
    /// server last accepted (A, F, S until then).
    pub fn data_format(&self) -> Format {
        Format {
            representation: self.ext.transfer_type.representation(),
            structure: self.ext.structure,
            mode: self.ext.mode,
            ..Format::IMAGE
        }
    }

    /// The features from the last successful [`Op::Features`].
    pub fn features(&self) -> Option<&Features> {
        self.features.as_ref()
    }

    /// The server's address, as given to [`Client::new`].
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Whether to keep a data connection accepted in active mode from
    /// `from`: only one from the server's own address (RFC 2577 §3, the
    /// client's side of the bounce rule); the driver closes any other
    /// unread and goes on waiting.
    pub fn accept_data_peer(&self, from: SocketAddr) -> bool {
        from.ip() == self.peer.ip()
    }

    fn begin(&mut self, now: Instant, op: Op) {
        let mut ctx = Ctx {
            out: &mut self.out,
            events: &mut self.events,
            peer: self.peer,
            config: &self.config,
            ext: &mut self.ext,
        };
        match Dialogue::begin(op, &mut ctx) {
            Ok((dialogue, flow)) => {
                self.running = Some(dialogue);
                self.apply(now, flow);
            }
            Err(e) => {
                self.events.push_back(Event::Done(Err(e)));
                self.set_wait(now, None);
            }
        }
    }

    fn on_reply(&mut self, now: Instant, reply: Reply) {
        // RFC 959 §4.2 / §5.4: 421 may answer any command, or come
        // unasked, when the server is shutting the connection.
        if reply.code == ReplyCode::NOT_AVAILABLE {
            return self.close(ClientError::Closed { reply: Some(reply) });
        }
        match self.state {
            State::Closed | State::Handshake => {}
            State::Greeting => self.on_greeting(now, reply),
            State::Ready => {
                let Some(dialogue) = self.running.as_mut() else {
                    // Nothing was asked: a stray reply changes nothing.
                    return;
                };
                let mut ctx = Ctx {
                    out: &mut self.out,
                    events: &mut self.events,
                    peer: self.peer,
                    config: &self.config,
                    ext: &mut self.ext,
                };
                let flow = dialogue.on_reply(&mut ctx, reply);
                self.apply(now, flow);
            }
        }
    }

    fn on_greeting(&mut self, now: Instant, reply: Reply) {
        let code = reply.code;
        if code.is_preliminary() {
            // 120: ready in a while; keep waiting.
            return self.set_wait(now, Some(Wait::Reply));
        }
        if !code.is_completion() {
            let err = if code.is_intermediate() {
                ClientError::unexpected(reply)
            } else {
                ClientError::refused(reply)
            };
            return self.close(err);
        }
        self.state = State::Ready;
        self.events.push_back(Event::Connected {
            greeting: reply.text,
        });
        self.set_wait(now, None);
        if let Some(op) = self.queued.take() {
            self.begin(now, op);
        }
    }

    fn with_transfer(
        &mut self,
        now: Instant,
        step: impl FnOnce(&mut transfer::TransferOp, &mut Ctx<'_>) -> Option<Flow>,
    ) -> bool {
        let Some(Dialogue::Transfer(t)) = self.running.as_mut() else {
            return false;
        };
        let mut ctx = Ctx {
            out: &mut self.out,
            events: &mut self.events,
            peer: self.peer,
            config: &self.config,
            ext: &mut self.ext,
        };
        match step(t, &mut ctx) {
            Some(flow) => {
                self.apply(now, flow);
                true
            }
            None => false,
        }
    }

    fn apply(&mut self, now: Instant, flow: Flow) {
        match flow {
            Flow::Unchanged => {}
            Flow::AwaitReply => self.set_wait(now, Some(Wait::Reply)),
            Flow::AwaitDriver => self.set_wait(now, Some(Wait::Driver)),
            Flow::AwaitData => self.set_wait(now, Some(Wait::Data)),
            Flow::Done(result) => {
                self.finish(result);
                self.set_wait(now, None);
            }
            Flow::Closed(result) => {
                self.finish(result);
                self.state = State::Closed;
                self.set_wait(now, None);
            }
            Flow::StartTls => {
                self.state = State::Handshake;
                self.events.push_back(Event::StartTls);
                self.set_wait(now, Some(Wait::Driver));
            }
        }
    }

    fn finish(&mut self, result: Result<Outcome, ClientError>) {
        self.running = None;
        if let Ok(Outcome::Features(f)) = &result {
            self.features = Some(f.clone());
        }
        self.events.push_back(Event::Done(result));
    }

    fn set_wait(&mut self, now: Instant, wait: Option<Wait>) {
        self.waiting = wait;
        self.deadline = wait.map(|w| {
            now + match w {
                Wait::Reply | Wait::Driver => self.config.reply_timeout,
                Wait::Data => self.config.data_timeout,
            }
        });
    }

    /// Ends the session on `err`: the running (or queued) operation gets
    /// it, or the driver hears of it as [`Event::Disconnected`].
    fn close(&mut self, err: ClientError) {
        if let Some(dialogue) = self.running.take() {
            if dialogue.holds_data() {
                self.events.push_back(Event::CloseData);
            }
            self.events.push_back(Event::Done(Err(err)));
        } else if self.queued.take().is_some() {
            self.events.push_back(Event::Done(Err(err)));
        } else {
            self.events.push_back(Event::Disconnected(err));
        }
        self.state = State::Closed;
        self.waiting = None;
        self.deadline = None;
    }
}
