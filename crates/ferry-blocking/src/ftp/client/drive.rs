//! The drive loop: write what the machine transmits, act on its events,
//! read the control connection until its next deadline, and feed back
//! what happened. Nothing here looks at a reply.

use std::io::{self, Read, Write};
use std::time::Duration;

use ftp_proto::client::{self as proto, Event, Op, Outcome};

use super::data::{self, DataChannel, Meter, Stop};
use super::tls::{self, DataStream};
use super::{ClientError, Connection};
use crate::clock;

/// With a cancel flag, no blocking call waits longer than this before
/// looking at it again.
const CANCEL_TICK: Duration = Duration::from_millis(200);

/// What a transfer moves on its data connection.
pub(super) enum Job<'a, 'p> {
    /// No transfer.
    None,
    /// Read the data connection into `sink`, whose file resumes at
    /// `offset` (REST).
    Download {
        sink: &'a mut dyn Write,
        offset: u64,
        meter: &'a mut Meter<'p>,
    },
    /// Write `source` to the data connection.
    Upload {
        source: &'a mut dyn Read,
        meter: &'a mut Meter<'p>,
    },
}

/// What one operation's run has gathered besides the machine's result.
#[derive(Default)]
struct Run {
    data: DataChannel,
    /// Writing or reading the local side failed; the transfer was aborted.
    local: Option<io::Error>,
    /// Stopped by the cancel flag.
    cancelled: bool,
    /// A TLS handshake failed: on which connection, and why.
    tls: Option<(&'static str, io::Error)>,
}

/// Where an event leaves the loop.
enum Step {
    Continue,
    Greeted,
    Finished(Result<Outcome, proto::ClientError>),
}

impl Connection {
    /// Runs `op` to its [`Event::Done`]; with no op, waits for the
    /// greeting.
    pub(super) fn run(
        &mut self,
        op: Option<Op>,
        job: &mut Job<'_, '_>,
    ) -> Result<Outcome, ClientError> {
        if self.cancelled() {
            return Err(ClientError::Cancelled);
        }
        let mut run = Run::default();
        if let Some(op) = op {
            if self.client.start(clock::now(), op).is_err() {
                // Only an abandoned operation can still be running.
                return Err(ClientError::Session(proto::ClientError::Closed {
                    reply: None,
                }));
            }
        }
        loop {
            // What one event makes the machine say (a transfer command
            // once the data connection is up, say) goes out before the
            // next event is acted on or the control connection waited on.
            self.send();
            let Some(event) = self.client.poll_event() else {
                if let Err(err) = self.wait(&mut run) {
                    self.abandon();
                    return Err(err);
                }
                continue;
            };
            match self.on_event(event, job, &mut run) {
                Step::Continue => {}
                Step::Greeted => return Ok(Outcome::Ok),
                Step::Finished(result) => {
                    self.send();
                    return self.judge(result, run);
                }
            }
        }
    }

    fn on_event(&mut self, event: Event, job: &mut Job<'_, '_>, run: &mut Run) -> Step {
        match event {
            Event::Connected { greeting } => {
                self.greeting = greeting;
                return Step::Greeted;
            }
            Event::Connect(addr) => {
                let connected = data::connect(addr, self.budget());
                let now = clock::now();
                match connected {
                    Ok(stream) => {
                        run.data.stream = Some(stream);
                        self.client.data_connected(now);
                    }
                    Err(err) => {
                        tracing::debug!(%addr, error = %err, "data connection failed");
                        self.client.data_failed(now);
                    }
                }
            }
            Event::StartTls => {
                let budget = self.budget();
                let result = match &self.tls {
                    Some((tls, name)) => self.control.start_tls(tls, name, budget),
                    None => Err(io::Error::other("no TLS configuration for AUTH TLS")),
                };
                let now = clock::now();
                match result {
                    Ok(()) => self.client.control_secured(now),
                    Err(err) => {
                        tracing::debug!(error = %err, "control TLS handshake failed");
                        run.tls = Some(("control connection", err));
                        self.client.control_tls_failed(now);
                    }
                }
            }
            Event::Listen => {
                let listening = self
                    .control
                    .tcp()
                    .and_then(|sock| sock.local_addr())
                    .and_then(data::listen);
                let now = clock::now();
                match listening {
                    Ok((listener, addr)) => {
                        run.data.listener = Some(listener);
                        self.client.listening(now, addr);
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "cannot listen for the data connection");
                        self.client.data_failed(now);
                    }
                }
            }
            Event::Accept => {
                if let Some(listener) = run.data.listener.take() {
                    let accepted = self.accept(&listener);
                    drop(listener);
                    match accepted {
                        Ok(stream) => {
                            run.data.stream = Some(stream);
                            self.client.data_connected(clock::now());
                        }
                        Err(stop) => self.stopped(stop, run),
                    }
                }
            }
            Event::TransferStarted {
                format, protected, ..
            } => {
                if let Some(stream) = run.data.stream.take() {
                    let stream = match self.data_stream(stream, protected) {
                        Ok(stream) => stream,
                        Err(err) => {
                            tracing::debug!(error = %err, "data TLS handshake failed");
                            run.tls = Some(("data connection", err));
                            self.client.data_failed(clock::now());
                            return Step::Continue;
                        }
                    };
                    let moved = match job {
                        Job::Download {
                            sink,
                            offset,
                            meter,
                        } => self.download(stream, format, *offset, &mut **sink, meter),
                        Job::Upload { source, meter } => {
                            self.upload(stream, format, &mut **source, meter)
                        }
                        Job::None => Err(Stop::Data(io::Error::other("nothing to transfer"))),
                    };
                    match moved {
                        Ok(wire) => self.client.data_finished(clock::now(), wire),
                        Err(stop) => self.stopped(stop, run),
                    }
                }
            }
            Event::CloseData => run.data = DataChannel::default(),
            Event::RestartMarker { text } => {
                tracing::debug!(reply = %text, "the server marked a restart point");
            }
            Event::Done(result) => return Step::Finished(result),
            Event::Disconnected(err) => return Step::Finished(Err(err)),
            other => tracing::trace!(event = ?other, "ignored client event"),
        }
        Step::Continue
    }

    /// The data connection as the transfer uses it: under `PROT P`, after
    /// a TLS client handshake that resumes the control connection's
    /// session (RFC 4217 §7: the client is the TLS client in both modes),
    /// bounded by the machine's data deadline.
    fn data_stream(&self, stream: std::net::TcpStream, protected: bool) -> io::Result<DataStream> {
        if !protected {
            return Ok(DataStream::Plain(stream));
        }
        let Some((tls, name)) = &self.tls else {
            return Err(io::Error::other("PROT P without a TLS configuration"));
        };
        let stream = tls::handshake(stream, tls, name, self.budget())?;
        Ok(DataStream::Tls(Box::new(stream)))
    }

    /// Reports why the data side stopped early.
    fn stopped(&mut self, stop: Stop, run: &mut Run) {
        let now = clock::now();
        match stop {
            Stop::Data(err) => {
                tracing::debug!(error = %err, "data connection failed");
                self.client.data_failed(now);
            }
            Stop::Local(err) => {
                run.local = Some(err);
                self.client.abort(now);
            }
            Stop::Cancelled => {
                run.cancelled = true;
                self.client.abort(now);
            }
            Stop::TimedOut => self.client.handle_timeout(now),
        }
    }

    /// Writes what the machine has to send. A failed write ends the
    /// session as a closed connection would.
    fn send(&mut self) {
        while !self.client.transmit().is_empty() {
            match self.control.write(self.client.transmit()) {
                Ok(n) => self.client.transmitted(n),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    let all = self.client.transmit().len();
                    self.client.transmitted(all);
                    self.control_error = Some(err);
                    self.client.handle_eof(clock::now());
                }
            }
        }
    }

    /// Waits for control input until the machine's deadline (or the next
    /// look at the cancel flag) and feeds what happened.
    fn wait(&mut self, run: &mut Run) -> Result<(), ClientError> {
        let now = clock::now();
        if self.cancelled() && !run.cancelled {
            run.cancelled = true;
            // A transfer is aborted and its replies awaited; anything else
            // is simply left.
            return match self.client.abort(now) {
                true => Ok(()),
                false => Err(ClientError::Cancelled),
            };
        }
        let Some(wait) = self.budget() else {
            self.client.handle_timeout(now);
            return Ok(());
        };
        self.control
            .tcp()
            .and_then(|sock| sock.set_read_timeout(Some(wait)))
            .map_err(ClientError::Control)?;
        match self.control.read(&mut self.inbox) {
            Ok(0) => self.client.handle_eof(clock::now()),
            Ok(n) => {
                self.client.handle_input(clock::now(), &self.inbox[..n]);
            }
            Err(err) if data::is_timeout(&err) => self.client.handle_timeout(clock::now()),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => {
                self.control_error = Some(err);
                self.client.handle_eof(clock::now());
            }
        }
        Ok(())
    }

    /// How long a blocking call may wait now: until the machine's
    /// deadline, and no longer than [`CANCEL_TICK`] when there is a cancel
    /// flag to watch. `None` when the deadline has passed.
    pub(super) fn budget(&self) -> Option<Duration> {
        let now = clock::now();
        let mut wait = match self.client.poll_timeout() {
            Some(deadline) => clock::until(now, deadline),
            None => Duration::MAX,
        };
        if self.cancel.is_some() {
            wait = wait.min(CANCEL_TICK);
        }
        // A zero timeout would mean "no timeout" to the socket calls.
        (!wait.is_zero()).then_some(wait)
    }

    /// Drops the running operation: the control connection is shut and
    /// the machine closed, so later operations fail at once.
    fn abandon(&mut self) {
        if let Ok(sock) = self.control.tcp() {
            let _ = sock.shutdown(std::net::Shutdown::Both);
        }
        self.client.handle_eof(clock::now());
        while self.client.poll_event().is_some() {}
    }

    fn judge(
        &mut self,
        result: Result<Outcome, proto::ClientError>,
        run: Run,
    ) -> Result<Outcome, ClientError> {
        let err = match result {
            Ok(outcome) => return Ok(outcome),
            Err(err) => err,
        };
        if let Some(local) = run.local {
            return Err(ClientError::Local(local));
        }
        if run.cancelled {
            return Err(ClientError::Cancelled);
        }
        if let Some((what, source)) = run.tls {
            // The server's own refusal of a data connection (vsftpd's
            // "522 ... session reuse required") says more than the TLS
            // library; a failed control handshake has only the latter.
            if !matches!(err, proto::ClientError::Reply { .. }) {
                return Err(ClientError::Tls { what, source });
            }
        }
        if let (proto::ClientError::Closed { reply: None }, Some(io)) =
            (&err, self.control_error.take())
        {
            return Err(ClientError::Control(io));
        }
        Err(err.into())
    }
}
