//! One control connection in the loop: its session machine, its sockets,
//! and the transfer it may be running.
//!
//! Sockets are edge-triggered, so every handler reads or writes until the
//! socket would block, or until a bound is reached and the session puts
//! itself on the loop's run queue to go on at the next turn.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::sync::Arc;

use ferry_service::ftp::{
    self as service, Job, SessionEnd, SessionLog, SessionSlot, View, CONNECT_TIMEOUT, INPUT_LIMIT,
    WRITE_TIMEOUT,
};
use ferry_service::pace::Pacer;
use ferry_service::StoreUpload;
use ferry_storage::StorageError;
use ferry_time::Instant;
use ferry_tls::TlsConn;
use ftp_proto::format::Format;
use ftp_proto::server::{
    Completion, DataChannel, Event, Failure, Operation, RequestId, Session, StoreMode, Transfer,
    TransferKind,
};
use mio::net::{TcpListener, TcpStream};
use mio::Interest;

use super::pool::{Pool, Task, Ticket};
use super::tls::{self, Handshake};
use super::transfer::{Buffers, Mover, Protected, Step, BUDGET};
use super::Relays;
use super::{token, Role, Shared};
use crate::reactor::Cx;

/// Control reads per turn of the loop, at most (each up to the loop's
/// scratch buffer); a client with more waits for the next turn.
const CONTROL_READS: usize = 4;

/// What a session's handlers may use besides the session itself.
pub(super) struct Env<'a, 'b> {
    pub cx: &'a mut Cx<'b>,
    pub shared: &'a Arc<Shared>,
    pub pool: &'a mut Pool,
    /// What a transfer whose file waits on the network runs with.
    pub relays: &'a Relays,
    /// The loop's one buffer for control reads.
    pub scratch: &'a mut [u8],
    /// The loop's buffers for data connections.
    pub buffers: &'a mut Buffers,
    /// Sessions to run again at the next turn of the loop.
    pub queue: &'a mut Vec<usize>,
    /// This session's slab key.
    pub key: usize,
}

impl Env<'_, '_> {
    fn now(&self) -> Instant {
        self.cx.now
    }
}

/// A transfer being opened on the pool (on an object store), before its
/// 150: what it needs to go on once it is.
struct Opening {
    id: RequestId,
    transfer: Transfer,
    /// The passive listener it is to use.
    listener: Option<TcpListener>,
    /// The session asked to stop it meanwhile (ABOR, a timeout, a
    /// shutdown): what was opened is dropped, and the transfer fails so.
    aborted: bool,
}

/// A transfer after its 150.
struct Data {
    id: RequestId,
    format: Format,
    /// APPE or REST+STOR: the upload starts with a copy of the old file,
    /// made on the pool.
    prepare: bool,
    /// `PROT P`: the data connection is TLS, the server its TLS server
    /// (RFC 4217 §§7, 9).
    protected: bool,
    /// STOR, APPE, STOU: the client only writes.
    upload: bool,
    /// Bytes moved on the data connection, and what the session was told.
    moved: u64,
    reported: u64,
    /// The rate limit's bucket (file transfers only, not listings).
    pacer: Option<Pacer>,
    /// Held back by the rate limit until then: the transfer is not
    /// stepped (its socket neither read nor written) before the timer.
    paced_until: Option<Instant>,
    state: State,
}

enum State {
    /// Passive: the listener is registered, the client is to connect.
    Waiting { job: Job, listener: TcpListener },
    /// Active: the connection to the client is under way.
    Connecting {
        job: Job,
        stream: TcpStream,
        to: SocketAddr,
        until: Instant,
    },
    /// A protected transfer's TLS handshake runs: no file byte moves
    /// before it ends.
    Securing {
        job: Job,
        stream: TcpStream,
        tls: Box<TlsConn>,
    },
    /// The upload's copy of the old file runs on the pool.
    Preparing {
        stream: TcpStream,
        tls: Option<Box<TlsConn>>,
    },
    /// Bytes move.
    Moving {
        stream: TcpStream,
        mover: Mover,
        tls: Option<Protected>,
    },
}

impl State {
    /// Cuts the data connection, if there is one (the data ends before
    /// the transfer's reply, RFC 959 §3.2).
    fn close(self) {
        match self {
            State::Waiting { .. } => {}
            State::Connecting { stream, .. }
            | State::Securing { stream, .. }
            | State::Preparing { stream, .. }
            | State::Moving { stream, .. } => {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Where the control connection's TLS handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Securing {
    /// None runs (the connection is clear, or TLS already).
    No,
    /// After AUTH's 234: the session's deadline bounds it.
    Explicit,
    /// On the implicit-TLS port, before the session exists (its
    /// placeholder says nothing): bounded by `until`.
    Implicit { until: Instant },
}

/// One control connection.
pub(super) struct Conn {
    /// Tells this session from an earlier one under the same slab key.
    serial: u64,
    ctrl: TcpStream,
    /// The control connection's TLS (after AUTH, or from the first byte
    /// on the implicit port); it also keys the data connections' session
    /// reuse.
    tls: Option<Box<TlsConn>>,
    securing: Securing,
    session: Session,
    /// Bytes read but not yet taken by the session (none while idle).
    input: Vec<u8>,
    /// The control socket may have bytes to read.
    readable: bool,
    /// The client closed the control connection (or it was reset).
    eof: bool,
    /// The control connection can take no more replies: what the session
    /// says is dropped, while a running transfer is left to end on its own.
    dead: bool,
    /// The session was told the server is stopping.
    told_stop: bool,
    /// On the loop's run queue.
    queued: bool,
    /// A password check or a HASH for this session runs on the pool.
    checking: bool,
    /// Replies have waited since then for the socket to take them.
    stalled_since: Option<Instant>,
    /// This session's place in its address's count, given back with it.
    _slot: SessionSlot,
    /// The earliest deadline armed in the loop's timers.
    armed: Option<Instant>,
    /// What the session sees of the tree: the whole root, or a user's home.
    view: View,
    log: SessionLog,
    /// The passive listener from PASV/EPSV, until a transfer uses it.
    listener: Option<TcpListener>,
    /// A transfer being opened on the pool.
    opening: Option<Box<Opening>>,
    data: Option<Box<Data>>,
    /// Why the session is over; the loop then drops it.
    ended: Option<SessionEnd>,
}

impl Conn {
    /// A session for a control connection just accepted; `implicit`: on
    /// the implicit-TLS port, where the TLS handshake comes first.
    pub(super) fn new(
        ctrl: TcpStream,
        peer: SocketAddr,
        serial: u64,
        shared: &Shared,
        now: Instant,
        implicit: bool,
        slot: SessionSlot,
    ) -> io::Result<Conn> {
        let local = ctrl.local_addr()?;
        let sock = socket2::SockRef::from(&ctrl);
        // Python's ftplib sends ABOR's line as urgent data (RFC 959 §4.1.3
        // Synch); without this its last byte would be lost.
        sock.set_out_of_band_inline(true)?;
        // Replies are whole and small: send each at once.
        ctrl.set_nodelay(true)?;
        let config = &shared.config.session;
        let (session, tls, securing) = match (&shared.config.tls, implicit) {
            (Some(server), true) => {
                // Replaced by the real one once the handshake is done.
                let placeholder = Session::new_secured(config, peer, local, now);
                let until = now + config.tls_handshake_timeout;
                let tls = Box::new(server.accept_control());
                (placeholder, Some(tls), Securing::Implicit { until })
            }
            _ => (Session::new(config, peer, local, now), None, Securing::No),
        };
        Ok(Conn {
            serial,
            session,
            ctrl,
            tls,
            securing,
            input: Vec::new(),
            readable: true,
            eof: false,
            dead: false,
            told_stop: false,
            queued: false,
            checking: false,
            stalled_since: None,
            _slot: slot,
            armed: None,
            view: View::whole(&shared.root),
            log: SessionLog::new(peer),
            listener: None,
            opening: None,
            data: None,
            ended: None,
        })
    }

    /// Registers the control socket as session `key`'s.
    pub(super) fn register(&mut self, registry: &mio::Registry, key: usize) -> io::Result<()> {
        let token = token(key, Role::Control);
        registry.register(
            &mut self.ctrl,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    /// The session begins: the greeting goes out.
    pub(super) fn start(&mut self, env: &mut Env<'_, '_>) {
        self.log.opened();
        self.drive(env);
    }

    pub(super) fn serial(&self) -> u64 {
        self.serial
    }

    pub(super) fn log(&self) -> &SessionLog {
        &self.log
    }

    /// Why the session is over, once it is.
    pub(super) fn ended(&self) -> Option<SessionEnd> {
        self.ended
    }

    /// The control socket is ready (`readable`: to read, or closed).
    pub(super) fn on_control(&mut self, env: &mut Env<'_, '_>, readable: bool) {
        if readable {
            self.readable = true;
        }
        self.drive(env);
    }

    /// The passive listener is ready.
    pub(super) fn on_passive(&mut self, env: &mut Env<'_, '_>) {
        self.accept_data(env);
        self.drive(env);
    }

    /// The data connection is ready.
    pub(super) fn on_data(&mut self, env: &mut Env<'_, '_>) {
        match self.data.as_deref().map(|data| &data.state) {
            Some(State::Connecting { .. }) => self.check_connect(env),
            Some(State::Securing { .. }) => self.secure_data(env),
            Some(State::Moving { .. }) => self.step(env),
            _ => {}
        }
        self.drive(env);
    }

    /// The session's turn on the run queue.
    pub(super) fn on_tick(&mut self, env: &mut Env<'_, '_>) {
        self.queued = false;
        match self.data.as_deref().map(|data| &data.state) {
            Some(State::Securing { .. }) => self.secure_data(env),
            _ => self.step(env),
        }
        self.drive(env);
    }

    /// A relay thread has a chunk ready, made room, or is done.
    pub(super) fn relayed(&mut self, env: &mut Env<'_, '_>) {
        self.step(env);
        self.drive(env);
    }

    /// A deadline armed for this session (perhaps stale) has come.
    pub(super) fn on_timer(&mut self, env: &mut Env<'_, '_>, at: Instant) {
        if self.armed == Some(at) {
            self.armed = None;
        }
        let now = env.now();
        if let Some(data) = self.data.as_deref_mut() {
            if data.paced_until.is_some_and(|until| now >= until) {
                data.paced_until = None;
                self.step(env);
            }
        }
        if let Some(Data {
            state: State::Connecting { until, to, .. },
            ..
        }) = self.data.as_deref()
        {
            if now >= *until {
                let to = *to;
                self.connect_failed(env, to, &io::Error::from(io::ErrorKind::TimedOut));
            }
        }
        if self
            .stalled_since
            .is_some_and(|since| now >= since + WRITE_TIMEOUT)
        {
            self.connection_lost(io::ErrorKind::TimedOut.into());
        }
        match self.securing {
            Securing::Implicit { until } => {
                if now >= until {
                    self.control_tls_failed(env, &io::Error::from(io::ErrorKind::TimedOut));
                }
            }
            securing => {
                if self.session.poll_timeout().is_some_and(|at| now >= at) {
                    self.session.handle_timeout(now);
                    if securing == Securing::Explicit && self.session.is_closed() {
                        // The session's handshake deadline passed.
                        let err = io::Error::from(io::ErrorKind::TimedOut);
                        self.log.tls_failed("control", &err);
                        self.securing = Securing::No;
                        self.tls = None;
                    }
                }
            }
        }
        self.drive(env);
    }

    /// The server is stopping.
    pub(super) fn shutdown(&mut self, env: &mut Env<'_, '_>) {
        if let Securing::Implicit { .. } = self.securing {
            // No session yet, and nothing to tell a client mid-handshake.
            let _ = self.ctrl.shutdown(Shutdown::Both);
            self.ended = Some(SessionEnd::Server);
            return;
        }
        if !self.told_stop {
            self.told_stop = true;
            self.session.shutdown(env.now());
        }
        self.drive(env);
    }

    /// The pool checked a password.
    pub(super) fn authenticated(
        &mut self,
        env: &mut Env<'_, '_>,
        id: RequestId,
        completion: Completion,
        view: Option<View>,
    ) {
        self.checking = false;
        if let Some(view) = view {
            self.view = view;
        }
        self.session.complete(env.now(), id, completion);
        self.drive(env);
    }

    /// The pool did a request (HASH).
    pub(super) fn performed(
        &mut self,
        env: &mut Env<'_, '_>,
        id: RequestId,
        completion: Completion,
    ) {
        self.checking = false;
        self.session.complete(env.now(), id, completion);
        self.drive(env);
    }

    /// The pool opened what transfer `id` moves (or could not).
    pub(super) fn job_opened(
        &mut self,
        env: &mut Env<'_, '_>,
        id: RequestId,
        opened: Result<(Job, Completion), Failure>,
    ) {
        if !self
            .opening
            .as_deref()
            .is_some_and(|opening| opening.id == id)
        {
            return;
        }
        self.checking = false;
        let opening = self.opening.take().expect("checked");
        // Stopped meanwhile: dropping the job closes its GET or throws
        // its upload away.
        let opened = if opening.aborted {
            Err(Failure::Aborted)
        } else {
            opened
        };
        let now = env.now();
        if let Some(job) = service::transfer_opened(&mut self.session, now, id, opened) {
            self.run_job(env, id, opening.transfer, opening.listener, job);
        }
        self.drive(env);
    }

    /// The pool prepared an upload (or could not).
    pub(super) fn prepared(
        &mut self,
        env: &mut Env<'_, '_>,
        id: RequestId,
        upload: Result<StoreUpload, StorageError>,
    ) {
        let preparing = self
            .data
            .as_deref()
            .is_some_and(|data| data.id == id && matches!(data.state, State::Preparing { .. }));
        if !preparing {
            // Aborted meanwhile: dropping the upload removes its file.
            return;
        }
        let mut data = self.data.take().expect("checked");
        let State::Preparing { stream, tls } = data.state else {
            unreachable!("checked")
        };
        let relay = || env.relays.relay(env.key, self.serial);
        let mover = upload
            .map_err(service::failure)
            .and_then(|upload| Mover::receive(upload, data.format, tls.is_some(), relay));
        match mover {
            Ok(mover) => {
                data.state = State::Moving {
                    stream,
                    mover,
                    tls: tls.map(Protected::new),
                };
                self.data = Some(data);
                self.step(env);
            }
            Err(failure) => {
                let _ = stream.shutdown(Shutdown::Both);
                self.end_transfer(env, id, 0, Completion::Failed(failure));
            }
        }
        self.drive(env);
    }

    fn may_read(&self) -> bool {
        !self.eof
            && !self.dead
            && self.ended.is_none()
            && !self.session.is_closed()
            && self.input.len() < INPUT_LIMIT
    }

    /// Reads and answers control input, writes replies, until nothing
    /// moves; then decides whether the session is over and arms its timer.
    fn drive(&mut self, env: &mut Env<'_, '_>) {
        let mut reads = 0;
        loop {
            let mut progressed = false;
            if self.readable && self.may_read() && reads < CONTROL_READS {
                reads += 1;
                progressed |= self.read_control(env);
            }
            progressed |= self.pump(env);
            if !progressed || self.ended.is_some() {
                break;
            }
        }
        if self.readable && self.may_read() && reads == CONTROL_READS {
            self.requeue(env);
        }
        self.settle(env);
    }

    /// One read of the control socket; whether anything happened.
    fn read_control(&mut self, env: &mut Env<'_, '_>) -> bool {
        if self.tls.is_some() {
            return self.read_secured(env);
        }
        match self.ctrl.read(env.scratch) {
            Ok(0) => self.client_left(env),
            Ok(n) => self.take_input(env, n),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                return false;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            // A reset control connection ends the session like a close.
            Err(_) => self.client_left(env),
        }
        true
    }

    /// Control bytes just read (the scratch buffer's first `n`), in clear
    /// or decrypted, for the session.
    fn take_input(&mut self, env: &mut Env<'_, '_>, n: usize) {
        let bytes = &env.scratch[..n];
        if self.input.is_empty() {
            // The usual case: the session takes it all, and an idle
            // session keeps no input buffer.
            let taken = self.session.handle_input(env.cx.now, bytes);
            self.input.extend_from_slice(&bytes[taken..]);
        } else {
            self.input.extend_from_slice(bytes);
        }
    }

    /// One read of a TLS control connection (in its handshake or after):
    /// the records it brings, and the commands in them for the session.
    fn read_secured(&mut self, env: &mut Env<'_, '_>) -> bool {
        let Some(tls) = self.tls.as_deref_mut() else {
            return false;
        };
        let handshaking = self.securing != Securing::No;
        match tls.read_tls(&mut self.ctrl) {
            Ok(0) if handshaking => {
                let err = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the connection during the TLS handshake",
                );
                self.control_tls_failed(env, &err);
                return true;
            }
            // The end of the socket: the plaintext before it is still
            // the session's, then read_plain tells the end.
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                return false;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => return true,
            Err(err) if handshaking => {
                self.control_tls_failed(env, &err);
                return true;
            }
            Err(err) => {
                // Garbage inside the TLS session: the connection is over
                // (the alert says why, the log line too).
                let _ = tls::flush(&mut self.ctrl, tls);
                self.eof = true;
                self.connection_lost(err);
                return true;
            }
        }
        if handshaking && !tls.is_handshaking() {
            self.control_secured(env);
        }
        if self.securing != Securing::No {
            return true;
        }
        // Every record decrypted now goes to the session (the TLS
        // connection may not read again while it holds plaintext).
        loop {
            let Some(tls) = self.tls.as_deref_mut() else {
                return true;
            };
            match tls.read_plain(env.scratch) {
                Ok(0) => {
                    // close_notify: the client is done.
                    self.client_left(env);
                    return true;
                }
                Ok(n) => self.take_input(env, n),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return true,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // The socket ended without close_notify (or the session is
                // broken): the client left all the same.
                Err(_) => {
                    self.client_left(env);
                    return true;
                }
            }
        }
    }

    /// The control connection's handshake is complete.
    fn control_secured(&mut self, env: &mut Env<'_, '_>) {
        let now = env.now();
        match std::mem::replace(&mut self.securing, Securing::No) {
            Securing::Explicit => self.session.control_secured(now),
            Securing::Implicit { .. } => {
                // Implicit FTPS: the session begins now, its 220 in TLS.
                if let Ok(local) = self.ctrl.local_addr() {
                    let config = &env.shared.config.session;
                    self.session = Session::new_secured(config, self.log.peer(), local, now);
                }
            }
            Securing::No => {}
        }
    }

    /// The control connection's handshake failed: the session closes
    /// without a reply (the connection is neither clear nor TLS now).
    fn control_tls_failed(&mut self, env: &mut Env<'_, '_>, err: &io::Error) {
        self.log.tls_failed("control", err);
        if let Some(tls) = self.tls.as_deref_mut() {
            // Best effort: the alert tells the client why.
            let _ = tls::flush(&mut self.ctrl, tls);
        }
        self.tls = None;
        // Nothing more is read: the session is over.
        self.eof = true;
        match std::mem::replace(&mut self.securing, Securing::No) {
            Securing::Explicit => self.session.control_tls_failed(env.now()),
            Securing::Implicit { .. } => {
                let _ = self.ctrl.shutdown(Shutdown::Both);
                self.ended = Some(SessionEnd::ConnectionError);
            }
            Securing::No => {}
        }
    }

    /// AUTH's 234 is queued: the control connection turns to TLS.
    fn secure_control(&mut self, env: &mut Env<'_, '_>) {
        // RFC 4217 §4: nothing the client sent before the handshake may
        // be taken after it; a command pipelined behind AUTH came in
        // clear (STARTTLS command injection).
        self.input = Vec::new();
        match &env.shared.config.tls {
            Some(server) => {
                self.tls = Some(Box::new(server.accept_control()));
                self.securing = Securing::Explicit;
                // The 234 goes out in clear, before any TLS byte.
                self.flush(env);
            }
            // The session offers AUTH only with a certificate loaded.
            None => self.session.control_tls_failed(env.now()),
        }
    }

    /// Control bytes the socket has not taken: replies, or TLS records.
    fn unsent(&self) -> bool {
        !self.session.transmit().is_empty() || self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Feeds the session what is pending and carries out what it asks,
    /// until it has nothing more to say; whether anything happened.
    fn pump(&mut self, env: &mut Env<'_, '_>) -> bool {
        if let Securing::Implicit { .. } = self.securing {
            // No session yet: only the handshake's bytes move.
            return self.flush(env);
        }
        let mut any = false;
        loop {
            let mut progressed = false;
            if !self.input.is_empty() {
                let taken = self.session.handle_input(env.now(), &self.input);
                if taken > 0 {
                    self.input.drain(..taken);
                    if self.input.is_empty() {
                        self.input = Vec::new();
                    } else if self.input.capacity() > 4 * self.input.len().max(4096) {
                        self.input.shrink_to_fit();
                    }
                    progressed = true;
                }
            }
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                self.on_event(env, event);
            }
            progressed |= self.flush(env);
            if !progressed || self.ended.is_some() {
                return any;
            }
            any = true;
        }
    }

    /// Writes replies as far as the socket takes them; whether any went.
    fn flush(&mut self, env: &mut Env<'_, '_>) -> bool {
        // In clear: everything before AUTH's handshake, its 234 included
        // (the session says nothing more until the handshake is done).
        if self.tls.is_none() || self.securing == Securing::Explicit {
            let (progressed, blocked) = self.flush_clear(env);
            if self.tls.is_none() || blocked {
                return progressed;
            }
            return self.flush_secured(env) || progressed;
        }
        self.flush_secured(env)
    }

    /// Replies through the control connection's TLS, and the handshake's
    /// own records; whether anything went.
    fn flush_secured(&mut self, env: &mut Env<'_, '_>) -> bool {
        let mut progressed = false;
        loop {
            let Some(tls) = self.tls.as_deref_mut() else {
                return progressed;
            };
            if self.dead {
                // Nothing can go out: what the session says is dropped.
                let n = self.session.transmit().len();
                self.session.transmitted(n);
                return progressed || n > 0;
            }
            if self.securing == Securing::No {
                let out = self.session.transmit();
                if !out.is_empty() {
                    let n = tls.write_plain(out);
                    if n > 0 {
                        self.session.transmitted(n);
                        progressed = true;
                    }
                }
            }
            if !tls.wants_write() {
                break;
            }
            match tls.write_tls(&mut self.ctrl) {
                Ok(0) => self.connection_lost(io::ErrorKind::WriteZero.into()),
                Ok(_) => self.stalled_since = None,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.stalled_since.get_or_insert(env.now());
                    return progressed;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => self.connection_lost(err),
            }
            progressed = true;
        }
        self.stalled_since = None;
        progressed
    }

    /// Writes clear replies as far as the socket takes them; whether any
    /// went, and whether the socket is full.
    fn flush_clear(&mut self, env: &mut Env<'_, '_>) -> (bool, bool) {
        let mut progressed = false;
        while !self.session.transmit().is_empty() {
            if self.dead {
                let n = self.session.transmit().len();
                self.session.transmitted(n);
                progressed = true;
                continue;
            }
            match self.ctrl.write(self.session.transmit()) {
                Ok(0) => self.connection_lost(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.session.transmitted(n);
                    self.stalled_since = None;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.stalled_since.get_or_insert(env.now());
                    return (progressed, true);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => self.connection_lost(err),
            }
            progressed = true;
        }
        self.stalled_since = None;
        (progressed, false)
    }

    /// Replies can no longer be written. With a transfer running, it is
    /// left to end on its own (an upload whose data all came is still
    /// stored); otherwise the session is over.
    fn connection_lost(&mut self, err: io::Error) {
        self.dead = true;
        self.stalled_since = None;
        let running = self
            .data
            .as_deref()
            .is_some_and(|data| !matches!(data.state, State::Waiting { .. }));
        if running {
            self.log.control_lost_mid_transfer(&err);
        } else if self.ended.is_none() {
            self.log.control_failed(&err);
            self.ended = Some(SessionEnd::ConnectionError);
        }
    }

    /// The client closed the control connection. A transfer waiting for
    /// its data connection never gets one now; a running one goes on to
    /// its end (RFC 959 §4.1.1: even QUIT waits for a transfer), bounded
    /// by the data timeout.
    fn client_left(&mut self, env: &mut Env<'_, '_>) {
        self.eof = true;
        self.fail_waiting(env, Failure::Aborted);
    }

    /// A client that closed its sending half has had every answer the
    /// session will give it: no password check is out, and every reply
    /// is written (a scripted client sends all, closes, then reads).
    /// What the session still holds back by then (a held 530) is dropped.
    fn answered_all(&self) -> bool {
        !self.checking && !self.unsent()
    }

    /// Whether the session is over, and its next deadline.
    fn settle(&mut self, env: &mut Env<'_, '_>) {
        if self.ended.is_none() {
            if self.session.is_closed() {
                if self.dead || !self.unsent() {
                    if let Some(tls) = self.tls.as_deref_mut() {
                        // The TLS session's end first (best effort).
                        tls.close();
                        let _ = tls::flush(&mut self.ctrl, tls);
                    }
                    let _ = self.ctrl.shutdown(Shutdown::Write);
                    self.ended = Some(SessionEnd::Server);
                }
            } else if self.data.is_none() && (self.dead || (self.eof && self.answered_all())) {
                self.ended = Some(SessionEnd::Client);
            }
        }
        if self.ended.is_some() {
            return;
        }
        let connect = match self.data.as_deref() {
            Some(Data {
                state: State::Connecting { until, .. },
                ..
            }) => Some(*until),
            Some(Data {
                paced_until: Some(until),
                ..
            }) => Some(*until),
            _ => None,
        };
        let stall = self.stalled_since.map(|since| since + WRITE_TIMEOUT);
        let session = match self.securing {
            Securing::Implicit { until } => Some(until),
            _ => self.session.poll_timeout(),
        };
        let next = [session, connect, stall].into_iter().flatten().min();
        if let Some(at) = next {
            let token = token(env.key, Role::Control);
            env.cx.timers.arm(token, at, &mut self.armed);
        }
    }

    fn requeue(&mut self, env: &mut Env<'_, '_>) {
        if !self.queued {
            self.queued = true;
            env.queue.push(env.key);
        }
    }

    fn on_event(&mut self, env: &mut Env<'_, '_>, event: Event) {
        match event {
            Event::Request { id, op } => {
                self.log.request_began();
                match op {
                    Operation::Transfer(transfer) => self.start_transfer(env, id, transfer),
                    Operation::Authenticate { user, password } => {
                        let ticket = Ticket {
                            key: env.key,
                            serial: self.serial,
                            id,
                        };
                        self.checking = true;
                        env.pool.submit(Task::Authenticate {
                            ticket,
                            user,
                            password,
                        });
                    }
                    Operation::Listen { ip } => {
                        let completion = self.listen(env, ip);
                        self.session.complete(env.now(), id, completion);
                    }
                    // HASH reads the whole file, and on an object store
                    // every request is a round trip: never on the loop.
                    op if matches!(op, Operation::Hash { .. }) || self.view.is_remote() => {
                        let ticket = Ticket {
                            key: env.key,
                            serial: self.serial,
                            id,
                        };
                        self.checking = true;
                        env.pool.submit(Task::Perform {
                            ticket,
                            view: self.view.clone(),
                            op,
                        });
                    }
                    op => {
                        let completion = service::perform(&self.view, op);
                        self.session.complete(env.now(), id, completion);
                    }
                }
            }
            Event::Abort { id } => self.abort(env, id),
            Event::SecureControl => self.secure_control(env),
            Event::ReleaseData => self.listener = None,
            Event::Log(log) => {
                let anonymous_login = self.log.log(log);
                if anonymous_login {
                    // Anonymous logins see the whole root; no request set it.
                    self.view = View::whole(&env.shared.root);
                }
            }
            _ => {}
        }
    }

    /// PASV/EPSV: a listener for the next transfer.
    fn listen(&mut self, env: &mut Env<'_, '_>, ip: IpAddr) -> Completion {
        let listener = match env.shared.passive.listen(ip) {
            Ok(listener) => listener,
            Err(err) => {
                self.log.no_passive_port(&err);
                return Completion::Failed(Failure::NoDataConnection);
            }
        };
        let addr = listener
            .set_nonblocking(true)
            .and_then(|()| listener.local_addr());
        match addr {
            Ok(addr) => {
                self.listener = Some(TcpListener::from_std(listener));
                Completion::Listening(addr)
            }
            Err(_) => Completion::Failed(Failure::NoDataConnection),
        }
    }

    fn start_transfer(&mut self, env: &mut Env<'_, '_>, id: RequestId, transfer: Transfer) {
        // Whatever happens, this transfer uses up the passive listener.
        let listener = self.listener.take();
        if self.view.is_remote() {
            // Opening is a round trip (a GET, a listing): on the pool.
            self.log.transfer_began();
            self.checking = true;
            env.pool.submit(Task::Open {
                ticket: Ticket {
                    key: env.key,
                    serial: self.serial,
                    id,
                },
                view: self.view.clone(),
                transfer: transfer.clone(),
            });
            self.opening = Some(Box::new(Opening {
                id,
                transfer,
                listener,
                aborted: false,
            }));
            return;
        }
        let now = env.now();
        let log = &mut self.log;
        let view = &self.view;
        let begun = service::begin_transfer(&mut self.session, log, view, now, id, &transfer);
        let Some(job) = begun else { return };
        self.run_job(env, id, transfer, listener, job);
    }

    /// Transfer `id`'s 150 is queued: its data connection is taken or
    /// opened, and `job` moves on it.
    fn run_job(
        &mut self,
        env: &mut Env<'_, '_>,
        id: RequestId,
        transfer: Transfer,
        listener: Option<TcpListener>,
        job: Job,
    ) {
        let prepare = matches!(
            transfer.kind,
            TransferKind::Store {
                mode: StoreMode::Append | StoreMode::Resume(_),
                ..
            }
        );
        let now = env.now();
        // The 150 goes out before the data connection is opened or taken.
        self.flush(env);
        let upload = matches!(transfer.kind, TransferKind::Store { .. });
        let limit = self.log.rate_limit(env.shared.config.rate_limits, &job);
        let pacer = Pacer::maybe(limit, now);
        let head = |state| Data {
            id,
            format: transfer.format,
            protected: transfer.protected,
            upload,
            prepare,
            moved: 0,
            reported: 0,
            pacer,
            paced_until: None,
            state,
        };
        match transfer.data {
            DataChannel::Passive => {
                let Some(mut listener) = listener else {
                    self.session.complete(
                        env.now(),
                        id,
                        Completion::Failed(Failure::NoDataConnection),
                    );
                    return;
                };
                let token = token(env.key, Role::Passive);
                if let Err(err) = env
                    .cx
                    .registry
                    .register(&mut listener, token, Interest::READABLE)
                {
                    self.log.passive_accept_failed(&err);
                    self.session.complete(
                        env.now(),
                        id,
                        Completion::Failed(Failure::NoDataConnection),
                    );
                    return;
                }
                self.data = Some(Box::new(head(State::Waiting { job, listener })));
                // Clients usually connected before sending the command.
                self.accept_data(env);
            }
            DataChannel::Active(to) => {
                let connected = self.ctrl.local_addr().and_then(|local| {
                    let stream = service::connect_from_nonblocking(local.ip(), to)?;
                    let mut stream = TcpStream::from_std(stream);
                    let token = token(env.key, Role::Data);
                    env.cx.registry.register(
                        &mut stream,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    Ok(stream)
                });
                match connected {
                    Ok(stream) => {
                        let until = env.now() + CONNECT_TIMEOUT;
                        self.data = Some(Box::new(head(State::Connecting {
                            job,
                            stream,
                            to,
                            until,
                        })));
                    }
                    Err(err) => {
                        SessionLog::active_connect_failed(to, &err);
                        self.end_transfer(
                            env,
                            id,
                            0,
                            Completion::Failed(Failure::NoDataConnection),
                        );
                    }
                }
            }
        }
    }

    /// Takes connections from the passive listener until one comes from
    /// the client (RFC 2577 §3: never from anyone else).
    fn accept_data(&mut self, env: &mut Env<'_, '_>) {
        loop {
            let Some(Data {
                state: State::Waiting { listener, .. },
                ..
            }) = self.data.as_deref()
            else {
                return;
            };
            match listener.accept() {
                Ok((mut stream, from)) if self.session.accept_data_peer(from) => {
                    let token = token(env.key, Role::Data);
                    let registered = env.cx.registry.register(
                        &mut stream,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    );
                    if let Err(err) = registered {
                        self.log.passive_accept_failed(&err);
                        self.fail_waiting(env, Failure::NoDataConnection);
                        return;
                    }
                    let mut data = self.data.take().expect("checked");
                    let State::Waiting { job, listener } = data.state else {
                        unreachable!("checked")
                    };
                    drop(listener);
                    data.state = State::Preparing { stream, tls: None };
                    self.opened(env, data, job);
                    return;
                }
                Ok((stream, from)) => {
                    self.log.data_peer_refused(from);
                    drop(stream);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // Out of descriptors, say: the connection stays queued and
                // no new readiness would come. The transfer fails (425).
                Err(err) => {
                    self.log.passive_accept_failed(&err);
                    self.fail_waiting(env, Failure::NoDataConnection);
                    return;
                }
            }
        }
    }

    /// An active connection in progress may have finished.
    fn check_connect(&mut self, env: &mut Env<'_, '_>) {
        let Some(Data {
            state: State::Connecting { stream, to, .. },
            ..
        }) = self.data.as_deref()
        else {
            return;
        };
        let to = *to;
        let outcome = match stream.take_error() {
            Ok(None) => match stream.peer_addr() {
                Ok(_) => Ok(()),
                Err(err) if err.kind() == io::ErrorKind::NotConnected => return,
                Err(err) => Err(err),
            },
            Ok(Some(err)) | Err(err) => Err(err),
        };
        match outcome {
            Ok(()) => {
                let mut data = self.data.take().expect("checked");
                let State::Connecting { job, stream, .. } = data.state else {
                    unreachable!("checked")
                };
                data.state = State::Preparing { stream, tls: None };
                self.opened(env, data, job);
            }
            Err(err) => self.connect_failed(env, to, &err),
        }
    }

    fn connect_failed(&mut self, env: &mut Env<'_, '_>, to: SocketAddr, err: &io::Error) {
        SessionLog::active_connect_failed(to, err);
        if let Some(data) = self.data.take() {
            let id = data.id;
            data.state.close();
            self.end_transfer(env, id, 0, Completion::Failed(Failure::NoDataConnection));
        }
    }

    /// The data connection is there, accepted or connected (`data.state`
    /// holds it, as `Preparing`): its TLS handshake first if the transfer
    /// is protected (the server is the TLS server either way, RFC 4217
    /// §7), then the job.
    fn opened(&mut self, env: &mut Env<'_, '_>, mut data: Box<Data>, job: Job) {
        if !data.protected {
            return self.connected(env, data, job);
        }
        let State::Preparing { stream, .. } = data.state else {
            unreachable!("the caller put the stream there")
        };
        let Some(server) = env.shared.config.tls.as_ref() else {
            // The session protects transfers only with a certificate loaded.
            let _ = stream.shutdown(Shutdown::Both);
            let failed = Completion::Failed(Failure::DataTlsFailed);
            return self.end_transfer(env, data.id, 0, failed);
        };
        // RFC 4217 §10: the data connection may resume only this control
        // connection's TLS session (required with --tls-require-reuse).
        let key = self.tls.as_deref().and_then(TlsConn::reuse_key);
        let tls = if data.upload {
            server.accept_upload(key)
        } else {
            server.accept_data(key)
        };
        data.state = State::Securing {
            job,
            stream,
            tls: Box::new(tls),
        };
        self.data = Some(data);
        // The client usually sent its hello already.
        self.secure_data(env);
    }

    /// A protected transfer's data handshake, as far as the socket allows.
    fn secure_data(&mut self, env: &mut Env<'_, '_>) {
        let Some(Data {
            state: State::Securing { stream, tls, .. },
            ..
        }) = self.data.as_deref_mut()
        else {
            return;
        };
        match tls::handshake(stream, tls) {
            Handshake::Blocked => {}
            Handshake::Yield => self.requeue(env),
            Handshake::Done => {
                let mut data = self.data.take().expect("checked");
                let State::Securing { job, stream, tls } = data.state else {
                    unreachable!("checked")
                };
                data.state = State::Preparing {
                    stream,
                    tls: Some(tls),
                };
                self.connected(env, data, job);
            }
            Handshake::Failed(err) => {
                self.log.tls_failed("data", &err);
                let failure = if ferry_tls::is_not_resumed(&err) {
                    Failure::DataTlsNotResumed
                } else {
                    Failure::DataTlsFailed
                };
                // Dropping the job drops an upload's temporary file.
                let data = self.data.take().expect("checked");
                let id = data.id;
                data.state.close();
                self.end_transfer(env, id, 0, Completion::Failed(failure));
            }
        }
    }

    /// The data connection is there (`data.state` holds it, as
    /// `Preparing`, its TLS handshake done if protected): set the job
    /// moving.
    fn connected(&mut self, env: &mut Env<'_, '_>, mut data: Box<Data>, job: Job) {
        let State::Preparing { stream, tls } = data.state else {
            unreachable!("the caller put the stream there")
        };
        let protected = tls.is_some();
        let relay = || env.relays.relay(env.key, self.serial);
        let mover = match job {
            Job::Send(download) => Mover::send(download, data.format, protected, relay),
            Job::Listing(bytes) => Ok(Mover::listing(bytes)),
            Job::Receive(upload) if data.prepare => {
                // The copy of the old file may take long: on the pool.
                env.pool.submit(Task::Prepare {
                    ticket: Ticket {
                        key: env.key,
                        serial: self.serial,
                        id: data.id,
                    },
                    upload,
                });
                data.state = State::Preparing { stream, tls };
                self.data = Some(data);
                return;
            }
            // Nothing to copy: at once.
            Job::Receive(upload) => upload
                .prepare()
                .map_err(service::failure)
                .and_then(|upload| Mover::receive(upload, data.format, protected, relay)),
        };
        let mover = match mover {
            Ok(mover) => mover,
            Err(failure) => {
                let _ = stream.shutdown(Shutdown::Both);
                self.end_transfer(env, data.id, 0, Completion::Failed(failure));
                return;
            }
        };
        data.state = State::Moving {
            stream,
            mover,
            tls: tls.map(Protected::new),
        };
        self.data = Some(data);
        self.step(env);
    }

    /// Moves a running transfer's bytes, a bounded amount.
    fn step(&mut self, env: &mut Env<'_, '_>) {
        let Some(data) = self.data.as_deref_mut() else {
            return;
        };
        let State::Moving { stream, mover, tls } = &mut data.state else {
            return;
        };
        let now = env.cx.now;
        let budget = match data.pacer.as_mut().map(|p| p.grant(now, BUDGET as u64)) {
            None => BUDGET,
            Some(Ok(n)) => usize::try_from(n).unwrap_or(BUDGET).min(BUDGET),
            // Until the bucket has a burst: the timer, and nothing moves.
            Some(Err(at)) => {
                data.paced_until = Some(at);
                let token = token(env.key, Role::Control);
                env.cx.timers.arm(token, at, &mut self.armed);
                return;
            }
        };
        let before = data.moved;
        let step = match tls {
            Some(protected) => {
                mover.step_protected(stream, protected, &mut data.moved, budget, env.buffers)
            }
            None => mover.step(stream, &mut data.moved, budget, env.buffers),
        };
        if let Some(pacer) = &mut data.pacer {
            pacer.spend(data.moved - before);
        }
        if data.moved != data.reported {
            // Progress restarts the data timeout and feeds STAT.
            data.reported = data.moved;
            self.session
                .transfer_progress(env.now(), data.id, data.moved);
        }
        // Before the transfer's end, whose reply follows their 110s.
        while let Some(marker) = mover.take_marker() {
            self.session.restart_marker(env.now(), data.id, &marker);
        }
        let result = match step {
            Step::Blocked => return,
            Step::Yield => return self.requeue(env),
            Step::Done => Ok(data.moved),
            Step::Failed(failure) => Err(failure),
        };
        let data = self.data.take().expect("checked");
        let (id, moved) = (data.id, data.moved);
        data.state.close();
        // An ABOR or a timeout ends the transfer before it steps again:
        // nothing here was asked to stop.
        self.end_transfer(env, id, moved, service::completion(result, false));
    }

    /// Tells the session how transfer `id` ended.
    fn end_transfer(
        &mut self,
        env: &mut Env<'_, '_>,
        id: RequestId,
        moved: u64,
        completion: Completion,
    ) {
        let now = env.now();
        service::end_transfer(&mut self.session, &mut self.log, now, id, moved, completion);
    }

    /// Ends a transfer still waiting for its data connection, if there is
    /// one: nothing moved, and its job (an upload's temporary file) is
    /// dropped here.
    fn fail_waiting(&mut self, env: &mut Env<'_, '_>, failure: Failure) {
        if let Some(Data {
            state: State::Waiting { .. },
            ..
        }) = self.data.as_deref()
        {
            let data = self.data.take().expect("checked");
            self.session
                .complete(env.now(), data.id, Completion::Failed(failure));
        }
    }

    /// ABOR, a data timeout or a shutdown: stop transfer `id` now.
    fn abort(&mut self, env: &mut Env<'_, '_>, id: RequestId) {
        if let Some(opening) = self.opening.as_deref_mut().filter(|o| o.id == id) {
            // It fails so when the pool is done opening it.
            opening.aborted = true;
            return;
        }
        match self.data.as_deref() {
            Some(data) if data.id == id => {}
            _ => return,
        }
        if matches!(
            self.data.as_deref().map(|data| &data.state),
            Some(State::Waiting { .. })
        ) {
            return self.fail_waiting(env, Failure::Aborted);
        }
        // A copy on the pool comes back to be dropped (and its file with it).
        let data = self.data.take().expect("checked");
        let moved = data.moved;
        data.state.close();
        self.end_transfer(env, id, moved, Completion::Failed(Failure::Aborted));
    }
}
