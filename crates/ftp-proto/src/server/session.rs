//! The session: its state, the drive verbs, and what happens when a
//! request completes. Commands themselves are in `commands.rs`.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

use super::config::{Access, Config, Tls};
use super::event::{CloseReason, Event, LogEvent};
use super::ops::{Completion, Failure, HashAlgorithm, Operation, RequestId};
use super::text;
use crate::command::Command;
use crate::format::{Format, Marker};
use crate::line::{Fed, LineReader};
use crate::listing::{Facts, FileKind};
use crate::path::{write_quoted, RootPath};
use crate::reply::{write_reply, ReplyCode};
use crate::Instant;

/// Past this many unsent reply bytes the session stops taking input
/// until the driver has written some: a client that pipelines commands
/// without reading replies cannot make it buffer without bound.
const OUTPUT_HIGH_WATER: usize = 16 * 1024;

/// A 110 restart-marker reply is queued only while fewer reply bytes
/// than this are unsent; past it the newest marker waits in one slot
/// (replacing an older one waiting there) until the client reads. So a
/// client that marks every block and reads nothing on the control
/// connection costs a bounded buffer, and the marker it gets last is the
/// latest one, the one a restart needs (RFC 959 §3.5).
const MARK_ROOM: usize = 1024;

/// One FTP control connection, from the 220 greeting to its close.
///
/// See the [module docs](super) for the drive loop.
#[derive(Debug)]
pub struct Session {
    reader: LineReader,
    /// Commands read during a transfer, handled once it ends, in order:
    /// each a tag byte (`LINE` or `TOO_LONG`), the line, and an LF (a
    /// line never holds one). At most `DEFERRED_LIMIT` bytes; past that
    /// the session stops reading until the transfer ends.
    deferred: Vec<u8>,
    pub(super) st: State,
}

/// A deferred entry holding a command line.
const LINE: u8 = b'L';
/// A deferred entry standing for an over-long line (answered 500).
const TOO_LONG: u8 = b'T';
/// Bytes of commands a session holds during a transfer.
const DEFERRED_LIMIT: usize = 4096;

/// Everything but the line reader, so a command borrowed from the reader's
/// line can be handled with `&mut State`.
/// What REST or RANG left for the next transfer command (they replace
/// each other: draft-bryan-ftp-range §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Restart {
    /// REST: from this byte.
    Offset(u64),
    /// RANG: these bytes, `end` included.
    Range {
        /// The first byte.
        start: u64,
        /// The last byte.
        end: u64,
    },
}

#[derive(Debug)]
pub(super) struct State {
    out: Vec<u8>,
    events: VecDeque<Event>,
    pub(super) policy: Policy,
    /// The control connection's peer, IPv4-mapped addresses unmapped.
    pub(super) peer: SocketAddr,
    /// The control connection's local address, unmapped likewise.
    pub(super) local_ip: IpAddr,
    pub(super) login: Login,
    pub(super) failures: u32,
    /// TYPE, STRU and MODE (RFC 959 §3.1.1.1 defaults: A, F, S).
    pub(super) format: Format,
    /// After `EPSV ALL` (RFC 2428 §4), only EPSV sets up data connections.
    pub(super) epsv_all: bool,
    /// An ABOR held behind other commands stopped the last transfer; its
    /// reply, in turn, says so.
    pub(super) abor_held: bool,
    /// A QUIT is held behind a running transfer: nothing after it is
    /// read, since the session ends once it is answered.
    pub(super) quit_held: bool,
    /// Facts selected with `OPTS MLST` (RFC 3659 §7.9).
    pub(super) facts: Facts,
    /// The digest HASH gives, chosen with `OPTS HASH`.
    pub(super) hash: HashAlgorithm,
    pub(super) data: Data,
    /// REST offset or RANG range for the very next command (RFC 3659
    /// §5.3, draft-bryan-ftp-range §3).
    pub(super) rest: Option<Restart>,
    /// The full path named by RNFR, for the very next command (RFC 959 §4.1.3).
    pub(super) rnfr: Option<RootPath>,
    pub(super) wait: Wait,
    /// Where RFC 4217 stands on this connection.
    pub(super) tls: Protection,
    next_id: u64,
    /// The last input, or the last moment the client was waiting for us.
    last_activity: Instant,
    closed: bool,
}

/// The part of [`Config`] a session needs after its greeting.
#[derive(Debug, Clone, Copy)]
pub(super) struct Policy {
    pub(super) anonymous: Option<Access>,
    pub(super) max_login_failures: u32,
    pub(super) login_failure_delay: Duration,
    pub(super) idle_timeout: Duration,
    pub(super) data_timeout: Duration,
    pub(super) tls: Tls,
    pub(super) tls_handshake_timeout: Duration,
    pub(super) max_matches: usize,
}

/// The protection of the control and data connections (RFC 4217).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Protection {
    /// The control connection is TLS (after AUTH's handshake, or from the
    /// first byte on an implicit-TLS port).
    pub(super) control: bool,
    /// PBSZ was given since (RFC 4217 §8: PBSZ 0 comes before PROT).
    pub(super) pbsz: bool,
    /// `PROT P`: data connections are TLS (RFC 4217 §9).
    pub(super) private: bool,
}

/// Where the login dialogue stands (RFC 959 §5.4, USER/PASS).
#[derive(Debug)]
pub(super) enum Login {
    /// No USER yet (or after REIN or a refused password).
    Out,
    /// USER given; PASS expected.
    NeedPassword { user: String, anonymous: bool },
    /// Logged in.
    In(User),
}

/// A logged-in user.
#[derive(Debug)]
pub(super) struct User {
    pub(super) name: String,
    pub(super) anonymous: bool,
    /// Joined in front of every path handed out.
    pub(super) home: RootPath,
    /// The current directory as the user sees it (beneath `home`).
    pub(super) cwd: RootPath,
    pub(super) access: Access,
}

/// How the next transfer's data connection is to be had (RFC 959 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Data {
    /// Neither PORT/EPRT nor PASV/EPSV since the last transfer.
    None,
    /// PORT/EPRT: connect to this address.
    Active(SocketAddr),
    /// PASV/EPSV: the driver holds a listener.
    Passive,
}

/// What the session waits for before it reads the next command.
#[derive(Debug)]
pub(super) enum Wait {
    /// Nothing: commands are read as they come.
    Nothing,
    /// A request's completion.
    Request(Pending),
    /// The time to send a failed login's 530 (RFC 2577 §4).
    Held { until: Instant, close: bool },
    /// The driver's TLS handshake on the control connection, after
    /// AUTH's 234; given up at `until`.
    Tls { until: Instant },
}

/// An outstanding request and the command that asked for it.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) id: RequestId,
    pub(super) verb: &'static str,
    /// The full path, for the log (and RNFR's memory).
    pub(super) path: Option<RootPath>,
    pub(super) then: Then,
}

/// What a completion turns into.
#[derive(Debug)]
pub(super) enum Then {
    /// PASS: 230 or (held) 530.
    Login { user: String },
    /// CWD/CDUP: if a directory, it becomes `cwd`.
    ChangeDir { cwd: RootPath },
    /// MKD: 257 with the new directory as the user sees it.
    MakeDir { shown: RootPath },
    /// RMD, DELE, RNTO: 250.
    Done,
    /// RNFR: 350, remembering the path for RNTO.
    RenameFrom,
    /// SIZE: 213 size.
    Size,
    /// MDTM: 213 time.
    Mdtm,
    /// MFMT, `MDTM time path`, SITE UTIME: the time is set.
    Modified(SetTime),
    /// HASH: 213 with the digest.
    Hashed {
        algorithm: HashAlgorithm,
        /// The path as the client wrote it.
        shown: String,
    },
    /// MLST: 250 with one facts line (RFC 3659 §7.2).
    Mlst { shown: RootPath },
    /// STAT path: 213 with one listing line.
    Status { shown: RootPath },
    /// PASV (227) or EPSV (229).
    Listen { extended: bool },
    /// A transfer command: 150, then the final reply.
    Transfer(Running),
}

/// Which command set a modification time, for its reply.
#[derive(Debug)]
pub(super) enum SetTime {
    /// MFMT: `213 Modify=<time>; <path>` (draft-somers-ftp-mfxx §3).
    Mfmt { modified: i64, shown: String },
    /// `MDTM time path`: 213.
    Mdtm,
    /// SITE UTIME: 200.
    SiteUtime,
}

/// A transfer in progress.
#[derive(Debug)]
pub(super) struct Running {
    pub(super) started: bool,
    /// Bytes moved so far, as the driver last reported.
    pub(super) progress: u64,
    pub(super) unique: bool,
    pub(super) listing: bool,
    /// STOR, APPE, STOU: the client sends the data, and its restart
    /// markers get 110 replies.
    pub(super) receives: bool,
    /// A marker whose 110 waits for room in the reply buffer.
    pub(super) held_mark: Option<alloc::boxed::Box<Marker>>,
    pub(super) stop: Stop,
}

/// Why a transfer is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// It is not.
    No,
    /// ABOR (RFC 959 §4.1.3): 426 for the transfer, then 226 for ABOR.
    Abor,
    /// No progress within the data timeout: the transfer's reply, then
    /// 421 and close.
    Timeout,
    /// ABOR behind other commands: the transfer's reply only; the ABOR
    /// is answered in its turn.
    Only,
    /// The server is stopping: the transfer's reply, then 421 and close.
    Shutdown,
}

/// Whether a command read during a transfer was dealt with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Handled {
    /// Answered (or acted on) now.
    Now,
    /// To be handled after the transfer, in order.
    Later,
}

impl Session {
    /// A session for a control connection from `peer` accepted on `local`,
    /// with the 220 greeting queued (RFC 959 §5.4: connection establishment).
    pub fn new(config: &Config, peer: SocketAddr, local: SocketAddr, now: Instant) -> Session {
        Session::start(config, peer, local, now, Protection::default())
    }

    /// A session for a control connection that is TLS from its first byte
    /// (implicit FTPS, conventionally port 990): the driver has completed
    /// the TLS handshake before making it. Data connections are protected
    /// unless the client sends `PROT C`, and `AUTH` gets 503.
    pub fn new_secured(
        config: &Config,
        peer: SocketAddr,
        local: SocketAddr,
        now: Instant,
    ) -> Session {
        let tls = Protection {
            control: true,
            pbsz: true,
            private: true,
        };
        Session::start(config, peer, local, now, tls)
    }

    fn start(
        config: &Config,
        peer: SocketAddr,
        local: SocketAddr,
        now: Instant,
        tls: Protection,
    ) -> Session {
        let mut st = State {
            out: Vec::new(),
            events: VecDeque::new(),
            policy: Policy {
                anonymous: config.anonymous,
                max_login_failures: config.max_login_failures,
                login_failure_delay: config.login_failure_delay,
                idle_timeout: config.idle_timeout,
                data_timeout: config.data_timeout,
                tls: config.tls,
                tls_handshake_timeout: config.tls_handshake_timeout,
                max_matches: config.max_matches,
            },
            // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d;
            // comparisons and 227 replies want the IPv4 form.
            peer: SocketAddr::new(peer.ip().to_canonical(), peer.port()),
            local_ip: local.ip().to_canonical(),
            login: Login::Out,
            failures: 0,
            format: Format::ASCII,
            epsv_all: false,
            abor_held: false,
            quit_held: false,
            facts: Facts::ALL,
            hash: HashAlgorithm::default(),
            data: Data::None,
            rest: None,
            rnfr: None,
            wait: Wait::Nothing,
            tls,
            next_id: 0,
            last_activity: now,
            closed: false,
        };
        st.reply(ReplyCode::SERVICE_READY, &config.greeting);
        Session {
            reader: LineReader::new(config.max_line),
            deferred: Vec::new(),
            st,
        }
    }

    /// Feeds control-connection bytes; returns how many were taken.
    ///
    /// Commands are handled in order, each answered once. The session
    /// takes fewer bytes than given while a command waits for a request's
    /// completion, while a failed login's 530 is held, or while more than
    /// 16 KiB of replies are unsent: the driver keeps the rest and feeds it
    /// again after the next `complete`, `handle_timeout` or `transmitted`.
    /// During a transfer the session keeps reading: ABOR stops the
    /// transfer at once and STAT reports its progress (RFC 959 §4.1.3);
    /// other commands are held, up to 4 KiB of them, and answered after
    /// the transfer's reply, in order (an ABOR behind one still stops the
    /// transfer at once, and is answered in its turn). QUIT is one of
    /// those: the transfer ends on its own, then 221 (RFC 959 §4.1.1). Once
    /// closed, it takes nothing. Bytes offered but not taken do not count
    /// as activity for the idle and data timeouts.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        if self.st.closed {
            return 0;
        }
        let taken = self.pump(now, bytes);
        // Only bytes taken count as activity: a driver offering the same
        // untaken bytes again must not put off the idle or data timeout.
        if taken > 0 {
            self.st.last_activity = now;
        }
        taken
    }

    /// Reads and handles lines from the deferred queue, the reader's
    /// buffer and `bytes`, for as long as the session may.
    fn pump(&mut self, now: Instant, bytes: &[u8]) -> usize {
        let mut taken = 0;
        while !self.st.closed && self.st.out.len() < OUTPUT_HIGH_WATER {
            let transferring = match &self.st.wait {
                Wait::Nothing => false,
                Wait::Request(Pending {
                    then: Then::Transfer(_),
                    ..
                }) => true,
                Wait::Request(_) | Wait::Held { .. } | Wait::Tls { .. } => break,
            };
            if !transferring && !self.deferred.is_empty() {
                self.handle_deferred(now);
                continue;
            }
            if transferring && self.st.quit_held {
                break;
            }
            let (n, fed) = self.reader.feed(&bytes[taken..]);
            taken += n;
            match fed {
                Fed::NeedMore => break,
                Fed::TooLong if transferring => {
                    if !defer(&mut self.deferred, TOO_LONG, &[]) {
                        break;
                    }
                }
                Fed::TooLong => {
                    self.st.forget_one_shot();
                    self.st
                        .answer("?", None, ReplyCode::SYNTAX_ERROR, "Command line too long.");
                }
                Fed::Line if transferring => {
                    let now_or_later = match Command::parse(self.reader.line()) {
                        // RFC 959 §4.1.1: QUIT during a transfer waits for
                        // the transfer's own reply, like any other command.
                        Ok(cmd @ (Command::Abor | Command::Stat(_))) => {
                            self.st.during_transfer(&cmd, self.deferred.is_empty())
                        }
                        Ok(Command::Quit) => {
                            self.st.quit_held = true;
                            Handled::Later
                        }
                        _ => Handled::Later,
                    };
                    if now_or_later == Handled::Later
                        && !defer(&mut self.deferred, LINE, self.reader.line())
                    {
                        // Kept in the reader: read again after the
                        // transfer, after what was deferred before it.
                        break;
                    }
                }
                Fed::Line => self.st.handle_line(now, self.reader.line()),
            }
            self.reader.clear();
        }
        taken
    }

    /// Handles the oldest deferred entry.
    fn handle_deferred(&mut self, now: Instant) {
        let end = self
            .deferred
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(self.deferred.len());
        match self.deferred.first() {
            Some(&TOO_LONG) => {
                self.st.forget_one_shot();
                self.st
                    .answer("?", None, ReplyCode::SYNTAX_ERROR, "Command line too long.");
            }
            Some(_) => self.st.handle_line(now, &self.deferred[1..end]),
            None => return,
        }
        self.deferred.drain(..(end + 1).min(self.deferred.len()));
        if self.deferred.is_empty() {
            // No queue while idle.
            self.deferred = Vec::new();
        }
    }

    /// Tells the session the time is `now`: a held 530 goes out when due;
    /// a session idle for the configured time answers 421 and closes.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.st.closed {
            return;
        }
        match self.st.wait {
            Wait::Held { until, close } if now >= until => {
                self.st.wait = Wait::Nothing;
                self.st.last_activity = now;
                self.st
                    .answer("PASS", None, ReplyCode::NOT_LOGGED_IN, "Login incorrect.");
                if close {
                    self.st.close(CloseReason::TooManyLoginFailures);
                }
                self.pump(now, &[]);
            }
            Wait::Tls { until } if now >= until => {
                // No reply: the client is in the middle of a handshake,
                // and a clear line would only read as garbage.
                self.st.wait = Wait::Nothing;
                self.st.close(CloseReason::TlsFailed);
            }
            Wait::Nothing if now >= self.st.idle_deadline() => {
                // RFC 959 §5.4: 421 may answer any command when the
                // service is shutting down the connection.
                self.st.reply(ReplyCode::NOT_AVAILABLE, "Timeout.");
                self.st.close(CloseReason::IdleTimeout);
            }
            Wait::Request(Pending {
                id,
                then: Then::Transfer(ref mut running),
                ..
            }) if running.stop == Stop::No
                && now >= self.st.last_activity + self.st.policy.data_timeout =>
            {
                // A data connection that never comes, or stops moving:
                // stop the transfer; its reply and a 421 follow when the
                // driver confirms.
                running.stop = Stop::Timeout;
                self.st.event(Event::Abort { id });
            }
            _ => {}
        }
    }

    /// The server is stopping. A running transfer is stopped
    /// ([`Event::Abort`]); once the driver completes it, its reply and a
    /// 421 follow and the session closes. Otherwise the session answers
    /// 421 at once and closes (RFC 959 §5.4: 421 may answer any command
    /// when the service is shutting down). Calling it again does nothing.
    pub fn shutdown(&mut self, now: Instant) {
        let _ = now;
        if self.st.closed {
            return;
        }
        if let Wait::Request(Pending {
            id,
            then: Then::Transfer(running),
            ..
        }) = &mut self.st.wait
        {
            if running.stop == Stop::Shutdown {
                return;
            }
            // A transfer already stopping (ABOR, timeout) ends with
            // the server's reason instead of its own.
            let id = *id;
            running.stop = Stop::Shutdown;
            self.st.event(Event::Abort { id });
            return;
        }
        let handshaking = matches!(self.st.wait, Wait::Tls { .. });
        self.st.wait = Wait::Nothing;
        if !handshaking {
            self.st
                .reply(ReplyCode::NOT_AVAILABLE, "Server shutting down.");
        }
        self.st.close(CloseReason::Shutdown);
    }

    /// The TLS handshake that [`Event::SecureControl`] asked for is
    /// complete: every control byte from now on goes through TLS, and the
    /// session reads commands again.
    pub fn control_secured(&mut self, now: Instant) {
        if self.st.closed || !matches!(self.st.wait, Wait::Tls { .. }) {
            return;
        }
        self.st.wait = Wait::Nothing;
        self.st.tls.control = true;
        self.st.last_activity = now;
        // Commands queued behind an AUTH that waited for a transfer came
        // in clear after it: none of them may run inside the TLS session
        // (STARTTLS command injection).
        self.deferred = Vec::new();
        self.reader.clear();
        self.st.log(LogEvent::Secured);
        self.pump(now, &[]);
    }

    /// The TLS handshake that [`Event::SecureControl`] asked for failed:
    /// the session closes without another reply (the connection is
    /// neither clear nor TLS any more).
    pub fn control_tls_failed(&mut self, now: Instant) {
        let _ = now;
        if self.st.closed || !matches!(self.st.wait, Wait::Tls { .. }) {
            return;
        }
        self.st.wait = Wait::Nothing;
        self.st.close(CloseReason::TlsFailed);
    }

    /// Whether the control connection is TLS now.
    pub fn is_control_secured(&self) -> bool {
        self.st.tls.control
    }

    /// Feeds back what the driver did about request `id`. A completion for
    /// any other id than the outstanding request's is ignored.
    pub fn complete(&mut self, now: Instant, id: RequestId, completion: Completion) {
        if self.st.closed {
            return;
        }
        let pending = match &mut self.st.wait {
            Wait::Request(pending) if pending.id == id => pending,
            _ => return,
        };
        if let Then::Transfer(running) = &mut pending.then {
            match completion {
                Completion::Started { size, name } => {
                    self.st.last_activity = now;
                    if !running.started {
                        running.started = true;
                        let unique = running.unique;
                        let listing = running.listing;
                        let path = pending.path.clone().unwrap_or_default();
                        self.st
                            .preliminary(&path, unique, listing, size, name.as_deref());
                    }
                    return;
                }
                other => {
                    let Wait::Request(pending) =
                        core::mem::replace(&mut self.st.wait, Wait::Nothing)
                    else {
                        unreachable!("matched above")
                    };
                    self.st.transfer_ended(pending, other);
                }
            }
        } else {
            let Wait::Request(pending) = core::mem::replace(&mut self.st.wait, Wait::Nothing)
            else {
                unreachable!("matched above")
            };
            self.st.completed(now, pending, completion);
        }
        self.st.last_activity = now;
        self.pump(now, &[]);
    }

    /// Whether to keep a connection accepted on the passive listener:
    /// only one from the control connection's peer address (RFC 2577 §5,
    /// against connection theft).
    pub fn accept_data_peer(&self, from: SocketAddr) -> bool {
        from.ip().to_canonical() == self.st.peer.ip()
    }

    /// Reports the bytes moved so far by transfer `id` (shown by STAT
    /// during the transfer). A report restarts the data timeout, so a
    /// driver reports whenever bytes move (at least every few seconds
    /// of a long transfer).
    pub fn transfer_progress(&mut self, now: Instant, id: RequestId, bytes: u64) {
        if let Wait::Request(Pending {
            id: pending,
            then: Then::Transfer(running),
            ..
        }) = &mut self.st.wait
        {
            if *pending == id {
                running.progress = bytes;
                self.st.last_activity = now;
            }
        }
    }

    /// Reports a restart marker that upload `id`'s data carried (RFC 959
    /// §3.5, MODE B and C), as [`format::Decoder::take_marker`] gives it;
    /// a driver reports them in the order they came, before the
    /// transfer's completion. The session answers each with `110 MARK
    /// yyyy = mmmm` on the control connection while the transfer runs:
    /// `yyyy` the client's marker as it came, `mmmm` the file offset the
    /// marker fell at, which `REST mmmm` names for a later transfer
    /// (restart markers here are byte offsets, as REST's are).
    ///
    /// Ignored for any other id, a download or listing, a transfer being
    /// stopped, and a marker that is not 1 to [`format::MAX_MARKER`]
    /// printable characters without spaces (RFC 959 §3.4.2), which could
    /// not be repeated as it came. While 1 KiB of replies is unsent, only
    /// the newest marker is kept, and its 110 follows once the client has
    /// read; a marker still kept when the transfer ends goes out before
    /// its final reply.
    ///
    /// [`format::Decoder::take_marker`]: crate::format::Decoder::take_marker
    /// [`format::MAX_MARKER`]: crate::format::MAX_MARKER
    pub fn restart_marker(&mut self, now: Instant, id: RequestId, marker: &Marker) {
        let _ = now;
        let Wait::Request(Pending {
            id: pending,
            then: Then::Transfer(running),
            ..
        }) = &mut self.st.wait
        else {
            return;
        };
        if *pending != id || !running.receives || !running.started || running.stop != Stop::No {
            return;
        }
        if !text::printable_marker(&marker.sender) {
            return;
        }
        if self.st.out.len() < MARK_ROOM {
            write_reply(
                &mut self.st.out,
                ReplyCode::RESTART_MARKER,
                &text::restart_mark(marker),
            );
        } else {
            running.held_mark = Some(alloc::boxed::Box::new(marker.clone()));
        }
    }

    /// Reply bytes to write on the control connection.
    pub fn transmit(&self) -> &[u8] {
        &self.st.out
    }

    /// Says that the first `n` bytes of [`transmit`](Self::transmit) were
    /// written.
    pub fn transmitted(&mut self, n: usize) {
        let out = &mut self.st.out;
        let n = n.min(out.len());
        if n == out.len() {
            // An idle session holds no reply buffer: thousands of idle
            // sessions cost their state, not their last reply.
            *out = Vec::new();
        } else {
            out.drain(..n);
        }
        if self.st.out.len() < MARK_ROOM {
            self.st.release_held_mark();
        }
    }

    /// The next thing the driver must act on.
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.st.events.pop_front();
        if self.st.events.is_empty() && self.st.events.capacity() > 0 {
            // Likewise no event queue while idle.
            self.st.events = VecDeque::new();
        }
        event
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next: the
    /// release of a held 530, the idle deadline, or during a transfer the
    /// data timeout (measured from the last progress). `None` while any
    /// other request is outstanding (the client is waiting for us, not
    /// idle), while a stopped transfer waits for its completion, and once
    /// closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.st.closed {
            return None;
        }
        match &self.st.wait {
            Wait::Nothing => Some(self.st.idle_deadline()),
            Wait::Held { until, .. } | Wait::Tls { until } => Some(*until),
            Wait::Request(Pending {
                then: Then::Transfer(running),
                ..
            }) if running.stop == Stop::No => {
                Some(self.st.last_activity + self.st.policy.data_timeout)
            }
            Wait::Request(_) => None,
        }
    }

    /// True once the session has ended: the driver writes what
    /// [`transmit`](Self::transmit) still holds, then closes the control
    /// connection and any data connection or listener.
    pub fn is_closed(&self) -> bool {
        self.st.closed
    }
}

impl State {
    fn idle_deadline(&self) -> Instant {
        self.last_activity + self.policy.idle_timeout
    }

    /// The 110 of a marker held for room, if the running transfer has one.
    fn release_held_mark(&mut self) {
        if let Wait::Request(Pending {
            then: Then::Transfer(running),
            ..
        }) = &mut self.wait
        {
            if let Some(marker) = running.held_mark.take() {
                let text = text::restart_mark(&marker);
                self.reply(ReplyCode::RESTART_MARKER, &text);
            }
        }
    }

    /// Appends a reply.
    pub(super) fn reply(&mut self, code: ReplyCode, text: &str) {
        write_reply(&mut self.out, code, text);
    }

    /// Appends a command's final reply and logs it.
    pub(super) fn answer(
        &mut self,
        verb: &'static str,
        path: Option<RootPath>,
        code: ReplyCode,
        text: &str,
    ) {
        self.reply(code, text);
        self.log(LogEvent::Command { verb, path, code });
    }

    pub(super) fn log(&mut self, event: LogEvent) {
        self.events.push_back(Event::Log(event));
    }

    pub(super) fn event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    pub(super) fn close(&mut self, reason: CloseReason) {
        self.closed = true;
        self.log(LogEvent::Closed { reason });
    }

    /// Emits a request and waits for its completion.
    pub(super) fn request(
        &mut self,
        verb: &'static str,
        path: Option<RootPath>,
        op: Operation,
        then: Then,
    ) {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.events.push_back(Event::Request { id, op });
        self.wait = Wait::Request(Pending {
            id,
            verb,
            path,
            then,
        });
    }

    /// REST and RNFR hold only for the command right after them.
    pub(super) fn forget_one_shot(&mut self) {
        self.rest = None;
        self.rnfr = None;
    }

    /// ABOR or STAT while a transfer runs. `first` says no command
    /// is waiting before this one. Anything answered now would overtake
    /// a waiting command's reply, so then only the transfer is stopped
    /// (Telnet IP and Synch before ABOR ask for that at once, RFC 959
    /// §4.1.3) and the command itself waits its turn.
    fn during_transfer(&mut self, cmd: &Command<'_>, first: bool) -> Handled {
        let Wait::Request(Pending {
            id,
            then: Then::Transfer(running),
            ..
        }) = &mut self.wait
        else {
            return Handled::Later;
        };
        let id = *id;
        if running.stop != Stop::No {
            // Already stopping: the rest is answered after its reply.
            return Handled::Later;
        }
        match cmd {
            // RFC 959 §4.1.3: STAT during a transfer reports its status;
            // before its 150 that would read as the transfer's reply.
            Command::Stat(_) if first && running.started => {
                let text = format!("Status: {} bytes transferred.", running.progress);
                self.answer("STAT", None, ReplyCode::FILE_STATUS, &text);
                Handled::Now
            }
            Command::Stat(_) => Handled::Later,
            Command::Abor => {
                running.stop = if first { Stop::Abor } else { Stop::Only };
                self.abor_held = !first;
                self.event(Event::Abort { id });
                if first {
                    Handled::Now
                } else {
                    Handled::Later
                }
            }
            _ => Handled::Later,
        }
    }

    /// The 150 of a transfer.
    fn preliminary(
        &mut self,
        path: &RootPath,
        unique: bool,
        listing: bool,
        size: Option<u64>,
        chosen: Option<&str>,
    ) {
        let text = if unique {
            // RFC 1123 §4.1.2.9: the name STOU chose, in exactly this form.
            format!("FILE: {}", chosen.unwrap_or(path.file_name()))
        } else if listing {
            String::from("Opening ASCII mode data connection for file list.")
        } else {
            let mode = text::mode_name(self.format.representation);
            match size {
                Some(size) => format!(
                    "Opening {mode} mode data connection for {} ({size} bytes).",
                    path.file_name()
                ),
                None => format!(
                    "Opening {mode} mode data connection for {}.",
                    path.file_name()
                ),
            }
        };
        self.reply(ReplyCode::ABOUT_TO_OPEN_DATA, &text);
    }

    /// A transfer's final reply, then whatever ABOR or a stop waited for it.
    fn transfer_ended(&mut self, pending: Pending, completion: Completion) {
        let Then::Transfer(mut running) = pending.then else {
            return;
        };
        // RFC 959 §4.2: a 110 comes before the final reply, never after.
        if let Some(marker) = running.held_mark.take() {
            self.reply(ReplyCode::RESTART_MARKER, &text::restart_mark(&marker));
        }
        let (code, reply, bytes) = match completion {
            Completion::Finished { bytes } => {
                (ReplyCode::CLOSING_DATA, "Transfer complete.", bytes)
            }
            Completion::Failed(f) => {
                let f = if running.stop != Stop::No {
                    Failure::Aborted
                } else {
                    f
                };
                let (code, text) = text::failure(f);
                (code, text, 0)
            }
            _ => {
                let (code, text) = text::failure(Failure::Io);
                (code, text, 0)
            }
        };
        self.reply(code, reply);
        self.log(LogEvent::Transfer {
            verb: pending.verb,
            path: pending.path.unwrap_or_default(),
            bytes,
            code,
        });
        match running.stop {
            Stop::No => {}
            // RFC 959 §4.1.3 (ABOR): the aborted command's 426, then 226.
            Stop::Abor => self.answer("ABOR", None, ReplyCode::CLOSING_DATA, "ABOR successful."),
            Stop::Timeout => {
                self.reply(ReplyCode::NOT_AVAILABLE, "Data connection timed out.");
                self.close(CloseReason::DataTimeout);
            }
            Stop::Shutdown => {
                self.reply(ReplyCode::NOT_AVAILABLE, "Server shutting down.");
                self.close(CloseReason::Shutdown);
            }
            Stop::Only => {}
        }
    }

    /// The final reply for a completed request other than a transfer.
    fn completed(&mut self, now: Instant, pending: Pending, completion: Completion) {
        let Pending {
            verb, path, then, ..
        } = pending;
        let completion = match (then, completion) {
            (Then::Login { user }, Completion::LoggedIn { home, access }) => {
                self.login = Login::In(User {
                    name: user.clone(),
                    anonymous: false,
                    home,
                    cwd: RootPath::ROOT,
                    access,
                });
                self.log(LogEvent::LoggedIn {
                    user,
                    anonymous: false,
                });
                return self.answer(verb, None, ReplyCode::LOGGED_IN, "Login successful.");
            }
            (Then::Login { user }, _) => {
                // RFC 2577 §4: hold the 530, and close after too many.
                self.failures = self.failures.saturating_add(1);
                self.log(LogEvent::LoginFailed { user });
                self.wait = Wait::Held {
                    until: now + self.policy.login_failure_delay,
                    close: self.failures >= self.policy.max_login_failures,
                };
                return;
            }
            (Then::ChangeDir { cwd }, Completion::Metadata(meta)) => {
                if meta.kind != FileKind::Directory {
                    return self.answer(
                        verb,
                        path,
                        ReplyCode::FILE_UNAVAILABLE,
                        "Not a directory.",
                    );
                }
                if let Login::In(user) = &mut self.login {
                    user.cwd = cwd;
                }
                // RFC 959 §5.4: CDUP answers 200, CWD 250.
                let code = if verb == "CDUP" {
                    ReplyCode::OK
                } else {
                    ReplyCode::FILE_ACTION_OK
                };
                return self.answer(verb, path, code, "Directory successfully changed.");
            }
            (Then::MakeDir { shown }, Completion::Done) => {
                // RFC 959 Appendix II: the new directory, quoted.
                let mut text = String::new();
                write_quoted(&mut text, &shown.to_absolute());
                text.push_str(" created.");
                return self.answer(verb, path, ReplyCode::PATH_CREATED, &text);
            }
            (Then::Done, Completion::Done) => {
                let text = match verb {
                    "RMD" => "Remove directory operation successful.",
                    "DELE" => "Delete operation successful.",
                    _ => "Rename successful.",
                };
                return self.answer(verb, path, ReplyCode::FILE_ACTION_OK, text);
            }
            (Then::RenameFrom, Completion::Metadata(_)) => {
                self.answer(verb, path.clone(), ReplyCode::PENDING, "Ready for RNTO.");
                self.rnfr = path;
                return;
            }
            (Then::Size, Completion::Metadata(meta)) => {
                // RFC 3659 §4: the size of a file; a directory has none.
                // The stored size is given in TYPE A too, as most servers
                // do: counting CR LF would mean reading the whole file.
                if meta.kind == FileKind::Directory {
                    return self.answer(
                        verb,
                        path,
                        ReplyCode::FILE_UNAVAILABLE,
                        "Not a regular file.",
                    );
                }
                let text = format!("{}", meta.size);
                return self.answer(verb, path, ReplyCode::FILE_STATUS, &text);
            }
            (Then::Mdtm, Completion::Metadata(meta)) => {
                let Some(secs) = meta.modified else {
                    return self.answer(
                        verb,
                        path,
                        ReplyCode::FILE_UNAVAILABLE,
                        "Modification time unknown.",
                    );
                };
                // RFC 3659 §3: 213 YYYYMMDDHHMMSS, UTC.
                let mut value = Vec::new();
                crate::listing::write_timeval(&mut value, secs);
                let text = String::from_utf8(value).unwrap_or_default();
                return self.answer(verb, path, ReplyCode::FILE_STATUS, &text);
            }
            (Then::Modified(set), Completion::Done) => {
                return match set {
                    SetTime::Mfmt { modified, shown } => {
                        let mut text = Vec::from(&b"Modify="[..]);
                        crate::listing::write_timeval(&mut text, modified);
                        let text = format!("{}; {shown}", String::from_utf8_lossy(&text));
                        self.answer(verb, path, ReplyCode::FILE_STATUS, &text)
                    }
                    SetTime::Mdtm => self.answer(
                        verb,
                        path,
                        ReplyCode::FILE_STATUS,
                        "File modification time set.",
                    ),
                    SetTime::SiteUtime => {
                        self.answer(verb, path, ReplyCode::OK, "Modification time set.")
                    }
                };
            }
            (Then::Hashed { algorithm, shown }, Completion::Hashed { len, digest }) => {
                // draft-bryan-ftpext-hash §3.3: 213 <algorithm> <start>-<end>
                // <hash> <pathname>, the whole file here (no RANG).
                let mut text = format!("{} 0-{len} ", algorithm.name());
                for byte in digest {
                    text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
                    text.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
                }
                text.push(' ');
                text.push_str(&shown);
                return self.answer(verb, path, ReplyCode::FILE_STATUS, &text);
            }
            (Then::Mlst { shown }, Completion::Metadata(meta)) => {
                // RFC 3659 §7.2: 250-, one entry line starting with a
                // space, the pathname as given, then 250 End.
                let name = shown.to_absolute();
                let mut line = Vec::new();
                crate::listing::write_facts_line(&mut line, &name, &meta, &self.facts());
                let line = trim_crlf(&line);
                let text = format!("Listing {name}\n {line}\nEnd");
                return self.answer(verb, path, ReplyCode::FILE_ACTION_OK, &text);
            }
            (Then::Status { shown }, Completion::Listing(lines)) => {
                // RFC 959 §4.1.3 (STAT with an argument): like LIST, but
                // over the control connection, as the middle lines of one
                // multi-line reply (write_reply keeps a line that could
                // end it from doing so).
                let mut text = format!("Status of {}:", shown.to_absolute());
                for line in lines.split(|&b| b == b'\n') {
                    let line = trim_crlf(line);
                    if !line.is_empty() {
                        text.push('\n');
                        text.push_str(&line);
                    }
                }
                text.push_str("\nEnd of status.");
                return self.answer(verb, path, ReplyCode::FILE_STATUS, &text);
            }
            (Then::Listen { extended }, Completion::Listening(addr)) => {
                let addr = SocketAddr::new(addr.ip().to_canonical(), addr.port());
                if extended {
                    self.data = Data::Passive;
                    let text = text::extended_passive(addr);
                    return self.answer(verb, None, ReplyCode::EXTENDED_PASSIVE, &text);
                }
                let ip = match addr.ip() {
                    IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
                    IpAddr::V4(_) => match self.local_ip {
                        IpAddr::V4(ip) => Some(ip),
                        IpAddr::V6(_) => None,
                    },
                    IpAddr::V6(_) => None,
                };
                let Some(ip) = ip else {
                    // A 227 can only carry an IPv4 address.
                    self.event(Event::ReleaseData);
                    return self.answer(
                        verb,
                        None,
                        ReplyCode::CANT_OPEN_DATA,
                        "Can't open passive connection.",
                    );
                };
                self.data = Data::Passive;
                let text = text::passive(ip, addr.port());
                return self.answer(verb, None, ReplyCode::PASSIVE, &text);
            }
            (Then::Listen { .. }, _) => {
                return self.answer(
                    verb,
                    None,
                    ReplyCode::CANT_OPEN_DATA,
                    "Can't open passive connection.",
                );
            }
            (_, completion) => completion,
        };
        // A failure, or a completion that does not fit the request.
        let failure = match completion {
            Completion::Failed(f) => f,
            _ => Failure::Io,
        };
        let (code, text) = text::failure(failure);
        self.answer(verb, path, code, text);
    }

    /// MLST/MLSD facts, with `perm` telling whether the user may write.
    pub(super) fn facts(&self) -> Facts {
        Facts {
            writable: self.may_write(),
            ..self.facts
        }
    }

    pub(super) fn may_write(&self) -> bool {
        matches!(&self.login, Login::In(user) if user.access.write)
    }
}

fn trim_crlf(line: &[u8]) -> alloc::borrow::Cow<'_, str> {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    // A listing comes from the driver; a name that is not UTF-8 must not
    // cost the whole reply.
    String::from_utf8_lossy(&line[..end])
}

/// Queues an entry for after the transfer; false if it does not fit.
fn defer(deferred: &mut Vec<u8>, tag: u8, line: &[u8]) -> bool {
    if deferred.len() + line.len() + 2 > DEFERRED_LIMIT {
        return false;
    }
    deferred.push(tag);
    deferred.extend_from_slice(line);
    deferred.push(b'\n');
    true
}
