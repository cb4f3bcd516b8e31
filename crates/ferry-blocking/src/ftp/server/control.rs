//! One control connection: the session machine's loop.
//!
//! The thread sleeps in `poll(2)` on the control socket, a wake-up socket
//! its transfer thread signals, the server's stop signal and, while a
//! passive transfer waits for its data connection, the passive listener;
//! its timeout is the machine's `poll_timeout`.
//!
//! FTPS (RFC 4217): once the control connection is TLS (after AUTH's 234,
//! or from the first byte on the implicit listener) every control byte
//! goes through one [`TlsConn`]: records read are decrypted at once, all
//! of them, so no command waits inside the TLS connection while `poll(2)`
//! sleeps on an empty socket.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use ferry_service::ftp::{
    self as service, Job, SessionEnd, SessionLog, View, INPUT_LIMIT, WRITE_TIMEOUT,
};
use ferry_tls::{ReuseKey, TlsConn};
use ftp_proto::format::Format;
use ftp_proto::server::{
    Completion, DataChannel, Event, Failure, Operation, RequestId, Session, Transfer,
};
use ftp_proto::Instant;
use rustix::event::{PollFd, PollFlags, Timespec};

use super::data::{self, Connect, Marks, Protect};
use super::secure::{self, Unsecured};
use super::Shared;
use crate::clock;

/// Serves one control connection until it closes. `implicit`: it came to
/// the implicit-TLS listener, so it is TLS from its first byte.
pub(super) fn serve(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>, implicit: bool) {
    if let Err(err) = prepare(&stream) {
        SessionLog::failed_to_start(peer, &err);
        return;
    }
    let tls = if implicit {
        match secure_implicit(&stream, peer, shared) {
            Some(tls) => Some(tls),
            None => return,
        }
    } else {
        None
    };
    let mut control = match Control::new(stream, peer, shared, tls) {
        Ok(control) => control,
        Err(err) => {
            SessionLog::failed_to_start(peer, &err);
            return;
        }
    };
    control.log.opened();
    let reason = match control.run() {
        Ok(reason) => reason,
        Err(err) => {
            control.log.control_failed(&err);
            SessionEnd::ConnectionError
        }
    };
    control.stop_transfer();
    if control.running.is_some() {
        // Let the transfer thread finish discarding an upload's temporary
        // file, so a stopping server leaves none behind.
        let _ = control.done_rx.recv_timeout(super::DRAIN_LIMIT);
    }
    control.log.closed(reason);
}

/// The control socket's options, set before its first byte moves.
fn prepare(ctrl: &TcpStream) -> io::Result<()> {
    let sock = socket2::SockRef::from(ctrl);
    // Python's ftplib sends ABOR's line as urgent data (RFC 959 §4.1.3
    // Synch); without this its last byte would be lost.
    sock.set_out_of_band_inline(true)?;
    // Replies are whole and small: send each at once.
    ctrl.set_nodelay(true)?;
    ctrl.set_write_timeout(Some(WRITE_TIMEOUT))
}

/// Implicit FTPS: the TLS handshake before any session exists, bounded by
/// the configured handshake timeout, so a plain-text or silent client
/// holds its session slot no longer than that. A failure is logged and
/// the connection closed; `None` then.
fn secure_implicit(ctrl: &TcpStream, peer: SocketAddr, shared: &Shared) -> Option<TlsConn> {
    let log = SessionLog::new(peer);
    let Some(server) = &shared.config.tls else {
        // Server::bind refuses an implicit listener without a certificate.
        let _ = ctrl.shutdown(Shutdown::Both);
        return None;
    };
    let mut tls = server.accept_control();
    let deadline = clock::now() + shared.config.session.tls_handshake_timeout;
    match secure::handshake(ctrl, &mut tls, deadline, Some(&shared.stopping)) {
        Ok(()) => Some(tls),
        Err(Unsecured::Stopped) => {
            let _ = ctrl.shutdown(Shutdown::Both);
            None
        }
        Err(Unsecured::Failed(err)) => {
            log.tls_failed("control", &err);
            let _ = ctrl.shutdown(Shutdown::Both);
            None
        }
    }
}

/// A transfer whose 150 went out and whose data connection is awaited on
/// the passive listener.
struct Waiting {
    id: RequestId,
    job: Job,
    format: Format,
    protect: Option<Protect>,
    listener: TcpListener,
}

/// A transfer running on its own thread.
struct Running {
    id: RequestId,
    stop: Arc<AtomicBool>,
    /// The data connection once it exists, to cut it on ABOR.
    data: Arc<Mutex<Option<TcpStream>>>,
    /// Bytes moved so far, and what the session was last told.
    moved: Arc<AtomicU64>,
    reported: u64,
    /// Restart markers its data carried, not yet given to the session.
    marks: Arc<Marks>,
}

struct Control {
    shared: Arc<Shared>,
    ctrl: TcpStream,
    /// The control connection's TLS, once it has any.
    tls: Option<Box<TlsConn>>,
    /// The control connection's TLS session key, which its protected data
    /// connections present (RFC 4217 §10: only they may resume it).
    reuse_key: Option<ReuseKey>,
    session: Session,
    /// Bytes read but not yet taken by the session.
    input: Vec<u8>,
    eof: bool,
    listener: Option<TcpListener>,
    waiting: Option<Waiting>,
    running: Option<Running>,
    done_tx: Sender<(RequestId, Completion)>,
    done_rx: Receiver<(RequestId, Completion)>,
    /// A byte written on `wake_tx` by a finishing transfer makes `wake_rx`
    /// readable.
    wake_tx: Arc<UnixStream>,
    wake_rx: UnixStream,
    /// The session was told the server is stopping.
    told_stop: bool,
    /// The control connection can take no more replies (it failed, or
    /// the client closed it): what the session says is dropped, while a
    /// running transfer is left to end on its own.
    dead: bool,
    /// What the session sees of the tree: the whole root, or a user's home.
    view: View,
    log: SessionLog,
}

impl Control {
    /// `tls`: the control connection is TLS already (implicit FTPS, its
    /// handshake done), so the session starts secured and its 220 goes
    /// out through TLS.
    fn new(
        ctrl: TcpStream,
        peer: SocketAddr,
        shared: &Arc<Shared>,
        tls: Option<TlsConn>,
    ) -> io::Result<Control> {
        let local = ctrl.local_addr()?;
        let (wake_tx, wake_rx) = UnixStream::pair()?;
        wake_tx.set_nonblocking(true)?;
        wake_rx.set_nonblocking(true)?;
        let (done_tx, done_rx) = mpsc::channel();
        let config = &shared.config.session;
        let session = match tls {
            Some(_) => Session::new_secured(config, peer, local, clock::now()),
            None => Session::new(config, peer, local, clock::now()),
        };
        let reuse_key = tls.as_ref().and_then(TlsConn::reuse_key);
        let mut control = Control {
            shared: Arc::clone(shared),
            ctrl,
            tls: tls.map(Box::new),
            reuse_key,
            session,
            input: Vec::new(),
            eof: false,
            listener: None,
            waiting: None,
            running: None,
            done_tx,
            done_rx,
            wake_tx: Arc::new(wake_tx),
            wake_rx,
            told_stop: false,
            dead: false,
            view: View::whole(&shared.root),
            log: SessionLog::new(peer),
        };
        // Commands may have come with the handshake's last records.
        control.take_plain();
        Ok(control)
    }

    /// Runs the session; returns why it ended.
    fn run(&mut self) -> io::Result<SessionEnd> {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            self.pump()?;
            if self.session.is_closed() {
                self.flush()?;
                if let Some(tls) = self.tls.as_deref_mut() {
                    // The TLS session ends cleanly before the TCP one.
                    tls.close();
                    let _ = secure::write_queued(&self.ctrl, tls);
                }
                let _ = self.ctrl.shutdown(Shutdown::Write);
                return Ok(SessionEnd::Server);
            }
            if (self.eof || self.dead) && self.running.is_none() && self.waiting.is_none() {
                return Ok(SessionEnd::Client);
            }
            self.wait(&mut buf)?;
        }
    }

    /// Sleeps until something happens, and takes it in.
    fn wait(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let now = clock::now();
        let deadline = self.session.poll_timeout();
        let timeout = deadline.map(|at| {
            let left = clock::until(now, at);
            Timespec {
                tv_sec: left.as_secs() as _,
                tv_nsec: left.subsec_nanos() as _,
            }
        });
        let read_ctrl = !self.eof && !self.dead && self.input.len() < INPUT_LIMIT;
        let (ctrl_ready, wake_ready, stop_ready, listen_ready) = {
            // A slot not wanted now polls the wake-up socket for nothing:
            // poll(2) reports hang-ups even for no events, so leaving a
            // closed control connection or the fired stop signal in the
            // set would wake the thread forever.
            let unused = || PollFd::new(&self.wake_rx, PollFlags::empty());
            let mut fds = [
                if read_ctrl {
                    PollFd::new(&self.ctrl, PollFlags::IN)
                } else {
                    unused()
                },
                PollFd::new(&self.wake_rx, PollFlags::IN),
                if self.told_stop {
                    unused()
                } else {
                    PollFd::new(&self.shared.stopping, PollFlags::IN)
                },
                match &self.waiting {
                    Some(waiting) => PollFd::new(&waiting.listener, PollFlags::IN),
                    None => unused(),
                },
            ];
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
            let ready = |fd: &PollFd<'_>| !fd.revents().is_empty();
            (
                read_ctrl && ready(&fds[0]),
                ready(&fds[1]),
                !self.told_stop && ready(&fds[2]),
                self.waiting.is_some() && ready(&fds[3]),
            )
        };
        if ctrl_ready {
            if self.tls.is_some() {
                self.read_secured();
            } else {
                match self.ctrl.read(buf) {
                    Ok(0) => self.eof = true,
                    Ok(n) => self.input.extend_from_slice(&buf[..n]),
                    Err(err) if is_transient(&err) => {}
                    // A reset control connection ends the session like a close.
                    Err(_) => self.eof = true,
                }
            }
            if self.eof {
                self.client_left();
            }
        }
        if wake_ready {
            while matches!((&self.wake_rx).read(buf), Ok(n) if n > 0) {}
        }
        if stop_ready {
            self.told_stop = true;
            self.session.shutdown(clock::now());
        }
        if listen_ready {
            self.accept_data();
        }
        let now = clock::now();
        if self.session.poll_timeout().is_some_and(|at| now >= at) {
            // Progress first: a transfer that moved is not timed out.
            self.report_progress(now);
            if self.session.poll_timeout().is_some_and(|at| now >= at) {
                self.session.handle_timeout(now);
            }
        }
        Ok(())
    }

    /// One read of a TLS control connection: the records it brings, and
    /// the commands in them for the session.
    fn read_secured(&mut self) {
        let Some(tls) = self.tls.as_deref_mut() else {
            return;
        };
        let at_end = match tls.read_tls(&mut &self.ctrl) {
            // At the end of the socket the plaintext before it is still
            // the session's; take_plain then tells the end.
            Ok(n) => n == 0,
            Err(err) if is_transient(&err) => return,
            Err(err) => {
                // Garbage inside the TLS session: the connection is over
                // (the alert says why), as if the client had gone.
                let _ = secure::write_queued(&self.ctrl, tls);
                self.log.tls_failed("control", &err);
                self.eof = true;
                return;
            }
        };
        // A TLS 1.3 key update, say, asks for an answer.
        if tls.wants_write() && secure::write_queued(&self.ctrl, tls).is_err() {
            self.eof = true;
            return;
        }
        self.take_plain();
        if at_end {
            self.eof = true;
        }
    }

    /// Moves every byte of plaintext the TLS connection holds to the
    /// session's input (it reads no more records while it holds any),
    /// noting the end of the connection: a close_notify, or a socket
    /// closed without one.
    fn take_plain(&mut self) {
        let Some(tls) = self.tls.as_deref_mut() else {
            return;
        };
        let mut buf = [0u8; 4096];
        loop {
            match tls.read_plain(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    return;
                }
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.eof = true;
                    return;
                }
            }
        }
    }

    /// AUTH's 234 is queued (RFC 4217 §4): it goes out in clear, then the
    /// control connection's TLS handshake runs under the session's
    /// deadline, and the session hears how it ended.
    fn secure_control(&mut self) -> io::Result<()> {
        self.flush()?;
        // Nothing the client sent before the handshake may be taken after
        // it: a command pipelined behind AUTH came in clear, and running
        // it inside the TLS session is the STARTTLS injection attack.
        self.input = Vec::new();
        let now = clock::now();
        let Some(server) = &self.shared.config.tls else {
            // The session offers AUTH only with a certificate loaded.
            self.session.control_tls_failed(now);
            return Ok(());
        };
        if self.dead {
            self.session.control_tls_failed(now);
            return Ok(());
        }
        let mut tls = server.accept_control();
        let deadline = self
            .session
            .poll_timeout()
            .unwrap_or(now + self.shared.config.session.tls_handshake_timeout);
        let stopping = (!self.told_stop).then_some(&self.shared.stopping);
        match secure::handshake(&self.ctrl, &mut tls, deadline, stopping) {
            Ok(()) => {
                self.reuse_key = tls.reuse_key();
                self.tls = Some(Box::new(tls));
                self.session.control_secured(clock::now());
                // Commands may have come with the handshake's last records.
                self.take_plain();
            }
            Err(Unsecured::Stopped) => {
                self.told_stop = true;
                self.session.shutdown(clock::now());
            }
            Err(Unsecured::Failed(err)) => {
                self.log.tls_failed("control", &err);
                // The connection is neither clear nor TLS now: nothing
                // more is read from it.
                self.eof = true;
                self.session.control_tls_failed(clock::now());
            }
        }
        Ok(())
    }

    /// Feeds the session everything pending and carries out what it asks,
    /// until it has nothing more to say.
    fn pump(&mut self) -> io::Result<()> {
        loop {
            let mut progressed = false;
            while let Ok((id, completion)) = self.done_rx.try_recv() {
                let now = clock::now();
                if self.running.as_ref().is_some_and(|r| r.id == id) {
                    // Its markers were all queued before it ended.
                    self.report_progress(now);
                    let running = self.running.take().expect("checked");
                    let moved = running.moved.load(Ordering::Relaxed);
                    let (session, log) = (&mut self.session, &mut self.log);
                    service::end_transfer(session, log, now, id, moved, completion);
                } else {
                    self.session.complete(now, id, completion);
                }
                progressed = true;
            }
            self.report_progress(clock::now());
            if !self.input.is_empty() {
                let taken = self.session.handle_input(clock::now(), &self.input);
                if taken > 0 {
                    self.input.drain(..taken);
                    progressed = true;
                }
            }
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                self.on_event(event)?;
            }
            if !self.session.transmit().is_empty() {
                self.flush()?;
                progressed = true;
            }
            if !progressed {
                return Ok(());
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        while !self.session.transmit().is_empty() {
            if self.dead {
                let n = self.session.transmit().len();
                self.session.transmitted(n);
                continue;
            }
            if let Some(tls) = self.tls.as_deref_mut() {
                // At most 64 KiB is queued at a time, then written out.
                let n = tls.write_plain(self.session.transmit());
                self.session.transmitted(n);
                if let Err(err) = secure::write_queued(&self.ctrl, tls) {
                    self.connection_lost(err)?;
                }
                continue;
            }
            match self.ctrl.write(self.session.transmit()) {
                Ok(0) => self.connection_lost(io::ErrorKind::WriteZero.into())?,
                Ok(n) => self.session.transmitted(n),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => self.connection_lost(err)?,
            }
        }
        Ok(())
    }

    /// Replies can no longer be written. With a transfer running, it is
    /// left to end on its own (an upload whose data all came is still
    /// stored); otherwise the session is over.
    fn connection_lost(&mut self, err: io::Error) -> io::Result<()> {
        self.dead = true;
        if self.running.is_none() {
            return Err(err);
        }
        self.log.control_lost_mid_transfer(&err);
        Ok(())
    }

    /// The client closed the control connection. A transfer waiting for
    /// its data connection never gets one now; a running one goes on to
    /// its end (RFC 959 §4.1.1: even QUIT waits for a transfer), bounded
    /// by the data timeout.
    fn client_left(&mut self) {
        self.fail_waiting(Failure::Aborted);
    }

    /// Ends a transfer still waiting for its data connection, if there is
    /// one: nothing moved, and its job (an upload's temporary file) is
    /// dropped here.
    fn fail_waiting(&mut self, failure: Failure) {
        if let Some(waiting) = self.waiting.take() {
            self.session
                .complete(clock::now(), waiting.id, Completion::Failed(failure));
        }
    }

    fn report_progress(&mut self, now: Instant) {
        if let Some(running) = &mut self.running {
            let moved = running.moved.load(Ordering::Relaxed);
            if moved != running.reported {
                running.reported = moved;
                self.session.transfer_progress(now, running.id, moved);
            }
            while let Some(marker) = running.marks.take() {
                self.session.restart_marker(now, running.id, &marker);
            }
        }
    }

    fn on_event(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Request { id, op } => {
                self.log.request_began();
                match op {
                    Operation::Transfer(transfer) => self.start_transfer(id, transfer)?,
                    Operation::Authenticate { user, password } => {
                        let (completion, view) = {
                            // Each check takes tens of MiB for a moment
                            // (argon2): a crowd of logins waits its turn
                            // instead of taking memory without bound.
                            let _slot = self.shared.password_checks.take();
                            service::authenticate(
                                &self.shared.root,
                                &self.shared.config,
                                &user,
                                &password,
                            )
                        };
                        if let Some(view) = view {
                            self.view = view;
                        }
                        self.session.complete(clock::now(), id, completion);
                    }
                    Operation::Listen { ip } => {
                        let completion = match self.shared.passive.listen(ip) {
                            Ok(listener) => match listener.local_addr() {
                                Ok(addr) => {
                                    self.listener = Some(listener);
                                    Completion::Listening(addr)
                                }
                                Err(_) => Completion::Failed(Failure::NoDataConnection),
                            },
                            Err(err) => {
                                self.log.no_passive_port(&err);
                                Completion::Failed(Failure::NoDataConnection)
                            }
                        };
                        self.session.complete(clock::now(), id, completion);
                    }
                    op => {
                        let completion = service::perform(&self.view, op);
                        self.session.complete(clock::now(), id, completion);
                    }
                }
            }
            Event::SecureControl => self.secure_control()?,
            Event::Abort { id } => self.abort(id),
            Event::ReleaseData => self.listener = None,
            Event::Log(log) => {
                let anonymous_login = self.log.log(log);
                if anonymous_login {
                    // Anonymous logins see the whole root; no request set it.
                    self.view = View::whole(&self.shared.root);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn start_transfer(&mut self, id: RequestId, transfer: Transfer) -> io::Result<()> {
        // Whatever happens, this transfer uses up the passive listener.
        let listener = self.listener.take();
        let (session, log, view) = (&mut self.session, &mut self.log, &self.view);
        let begun = service::begin_transfer(session, log, view, clock::now(), id, &transfer);
        let Some(job) = begun else { return Ok(()) };
        // The 150 goes out before the data connection is opened or taken.
        self.flush()?;
        // RFC 4217 §9: under PROT P the data connection is TLS, this
        // server its TLS server.
        let protect = match (transfer.protected, &self.shared.config.tls) {
            (false, _) => None,
            (true, Some(server)) => Some(Protect {
                server: server.clone(),
                key: self.reuse_key,
                timeout: self.shared.config.session.data_timeout,
                peer: self.log.peer(),
            }),
            // The session protects transfers only with a certificate loaded.
            (true, None) => {
                let failed = Completion::Failed(Failure::DataTlsFailed);
                self.session.complete(clock::now(), id, failed);
                return Ok(());
            }
        };
        match transfer.data {
            DataChannel::Passive => match listener {
                Some(listener) => {
                    listener.set_nonblocking(true)?;
                    self.waiting = Some(Waiting {
                        id,
                        job,
                        format: transfer.format,
                        protect,
                        listener,
                    });
                    // Clients usually connected before sending the command.
                    self.accept_data();
                }
                None => self.session.complete(
                    clock::now(),
                    id,
                    Completion::Failed(Failure::NoDataConnection),
                ),
            },
            DataChannel::Active(to) => {
                let from = self.ctrl.local_addr()?.ip();
                let connect = Connect::To { from, to };
                self.spawn(id, job, transfer.format, protect, connect)
            }
        }
        Ok(())
    }

    /// Takes connections from the passive listener until one comes from
    /// the client (RFC 2577 §3: never from anyone else).
    fn accept_data(&mut self) {
        let Some(waiting) = &self.waiting else { return };
        loop {
            match waiting.listener.accept() {
                Ok((stream, from)) if self.session.accept_data_peer(from) => {
                    let waiting = self.waiting.take().expect("checked");
                    let _ = stream.set_nonblocking(false);
                    self.spawn(
                        waiting.id,
                        waiting.job,
                        waiting.format,
                        waiting.protect,
                        Connect::Accepted(stream),
                    );
                    return;
                }
                Ok((stream, from)) => {
                    self.log.data_peer_refused(from);
                    drop(stream);
                }
                Err(err) if is_transient(&err) => return,
                // Out of descriptors, say: the connection stays queued, so
                // waiting on would spin. The transfer fails (425).
                Err(err) => {
                    self.log.passive_accept_failed(&err);
                    self.fail_waiting(Failure::NoDataConnection);
                    return;
                }
            }
        }
    }

    fn spawn(
        &mut self,
        id: RequestId,
        job: Job,
        format: Format,
        protect: Option<Protect>,
        connect: Connect,
    ) {
        let stop = Arc::new(AtomicBool::new(false));
        let slot = Arc::new(Mutex::new(None));
        let moved = Arc::new(AtomicU64::new(0));
        let marks = Arc::new(Marks::new(Some(Arc::clone(&self.wake_tx))));
        let limit = self.log.rate_limit(self.shared.config.rate_limits, &job);
        let work = data::Work {
            job,
            format,
            limit,
            protect,
            connect,
            stop: Arc::clone(&stop),
            slot: Arc::clone(&slot),
            moved: Arc::clone(&moved),
            marks: Arc::clone(&marks),
        };
        let done = self.done_tx.clone();
        let wake = Arc::clone(&self.wake_tx);
        let spawned = std::thread::Builder::new()
            .name("ftp-transfer".into())
            .stack_size(super::THREAD_STACK)
            .spawn(move || {
                let completion = data::run(work);
                let _ = done.send((id, completion));
                let _ = (&*wake).write(&[1]);
            });
        match spawned {
            Ok(_) => {
                self.running = Some(Running {
                    id,
                    stop,
                    data: slot,
                    moved,
                    reported: 0,
                    marks,
                })
            }
            Err(err) => {
                tracing::warn!(peer = %self.log.peer(), error = %err, "cannot start a transfer thread");
                self.session
                    .complete(clock::now(), id, Completion::Failed(Failure::Io));
            }
        }
    }

    fn abort(&mut self, id: RequestId) {
        if self.waiting.as_ref().is_some_and(|w| w.id == id) {
            self.fail_waiting(Failure::Aborted);
        } else if self.running.as_ref().is_some_and(|r| r.id == id) {
            self.stop_transfer();
        }
    }

    /// Tells a running transfer to stop and cuts its data connection, so a
    /// blocked send or receive returns at once; its thread then reports.
    fn stop_transfer(&mut self) {
        self.waiting = None;
        if let Some(running) = &self.running {
            running.stop.store(true, Ordering::Release);
            if let Some(data) = running
                .data
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
            {
                let _ = data.shutdown(Shutdown::Both);
            }
        }
    }
}

fn is_transient(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
