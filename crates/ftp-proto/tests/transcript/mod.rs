//! Executable transcripts: a server [`Session`] driven line by line on a
//! virtual clock, with the driver's work scripted.
//!
//! ```text
//! < 220 ferry FTP server ready          the next reply line, exactly
//! > USER alice                           the client sends `USER alice` CR LF
//! < 331                                  the next reply has code 331 (any text)
//! > PASS secret
//! ! Authenticate alice secret -> login /home/alice rw
//! < 230 Login successful.
//! > CWD pub
//! ! Stat /home/alice/pub -> dir          the next request, and its completion
//! < 250 Directory...                     a reply line starting with this
//! > RETR a.txt
//! ! Transfer Retrieve /home/alice/pub/a.txt @0 active 10.0.0.2:2000
//! -> Started 12                          complete the outstanding request later
//! < 150 Opening ASCII mode data connection for a.txt (12 bytes).
//! -> Finished 12
//! < 226 Transfer complete.
//! ~ 301s                                 advance the clock, then handle_timeout
//! closed                                 the session has ended
//! ```
//!
//! `! Abort`, `! ReleaseData` and `! SecureControl` expect those events;
//! `secure` is the driver's TLS handshake succeeding (it discards the
//! client bytes not taken, then calls `control_secured`), `tls-failed` its
//! failure; `progress N` reports transfer progress, `mark SENDER OFFSET`
//! a restart marker the upload carried; `# ...` is a comment. A reply given by
//! code alone (`< 211`) takes every line of a multi-line reply. Client
//! bytes the session does not take yet are kept and fed again after
//! each completion, timeout and write, as a driver does. At the end every
//! reply line and every request must have been matched.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use ftp_proto::listing::{FileKind, Metadata};
use ftp_proto::server::{
    Access, Completion, Config, DataChannel, Event, Failure, LogEvent, Operation, RequestId,
    Session, StoreMode, TransferKind,
};
use ftp_proto::{Instant, RootPath};

/// The client's control-connection address.
pub const CLIENT: &str = "10.0.0.2:40000";
/// The server's control-connection address.
pub const SERVER: &str = "10.0.0.1:21";
/// Modification time of scripted files: 2001-09-09 01:46:40 UTC.
pub const MTIME: i64 = 1_000_000_000;

/// A config with anonymous login allowed, read-only.
pub fn anonymous_read_only() -> Config {
    Config {
        anonymous: Some(Access { write: false }),
        ..Config::default()
    }
}

/// A running transcript.
pub struct Transcript {
    pub session: Session,
    pub now: Instant,
    /// Client bytes not taken yet.
    input: Vec<u8>,
    /// Reply bytes written by the session and not yet matched.
    received: Vec<u8>,
    /// Events other than logs, not yet matched.
    events: VecDeque<Event>,
    /// Every log event, in order.
    pub logs: Vec<LogEvent>,
    /// The request `->` lines complete.
    outstanding: Option<RequestId>,
    /// Lines run so far, for failure messages.
    history: Vec<String>,
}

impl Transcript {
    /// A session with `config`, from [`CLIENT`] to [`SERVER`], at time 0.
    pub fn new(config: &Config) -> Transcript {
        Self::between(config, CLIENT.parse().unwrap(), SERVER.parse().unwrap())
    }

    /// A session between the given addresses.
    pub fn between(config: &Config, peer: SocketAddr, local: SocketAddr) -> Transcript {
        Self::with(Session::new(config, peer, local, Instant::ZERO))
    }

    /// An implicit-TLS session (the handshake done before the greeting).
    pub fn secured(config: &Config) -> Transcript {
        let (peer, local) = (CLIENT.parse().unwrap(), SERVER.parse().unwrap());
        Self::with(Session::new_secured(config, peer, local, Instant::ZERO))
    }

    fn with(session: Session) -> Transcript {
        let mut t = Transcript {
            session,
            now: Instant::ZERO,
            input: Vec::new(),
            received: Vec::new(),
            events: VecDeque::new(),
            logs: Vec::new(),
            outstanding: None,
            history: Vec::new(),
        };
        t.drain();
        t
    }

    /// Runs a script, then checks everything the session said was matched.
    pub fn run(&mut self, script: &str) -> &mut Self {
        self.step(script);
        self.finish();
        self
    }

    /// Runs a script, leaving unmatched output for later steps.
    pub fn step(&mut self, script: &str) -> &mut Self {
        for line in script.lines() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            self.history.push(line.to_string());
            self.line(line);
        }
        self
    }

    /// Every reply line and request was matched.
    pub fn finish(&mut self) {
        self.drain();
        if !self.received.is_empty() {
            self.fail(&format!(
                "unmatched replies: {:?}",
                String::from_utf8_lossy(&self.received)
            ));
        }
        if let Some(event) = self.events.front() {
            self.fail(&format!("unmatched event: {event:?}"));
        }
    }

    fn line(&mut self, line: &str) {
        if let Some(text) = line.strip_prefix("> ").or(line.strip_prefix(">")) {
            self.send(format!("{text}\r\n").as_bytes());
        } else if let Some(expect) = line.strip_prefix("< ") {
            self.expect_reply(expect);
        } else if let Some(rest) = line.strip_prefix("! ") {
            let (op, completions) = match rest.split_once(" -> ") {
                Some((op, c)) => (op, Some(c)),
                None => (rest, None),
            };
            self.expect_event(op.trim());
            if let Some(c) = completions {
                self.complete_all(c);
            }
        } else if let Some(c) = line.strip_prefix("-> ") {
            self.complete_all(c);
        } else if let Some(d) = line.strip_prefix("~ ") {
            self.advance(parse_duration(d));
        } else if let Some(n) = line.strip_prefix("progress ") {
            let id = self.outstanding.expect("no outstanding request");
            self.session
                .transfer_progress(self.now, id, n.parse().unwrap());
        } else if let Some(rest) = line.strip_prefix("mark ") {
            // `mark SENDER OFFSET`: the upload's data carried a restart
            // marker (SENDER may hold spaces; the last word is the offset).
            let (sender, offset) = rest.rsplit_once(' ').expect("mark SENDER OFFSET");
            let id = self.outstanding.expect("no outstanding request");
            let marker = ftp_proto::format::Marker {
                sender: sender.as_bytes().to_vec(),
                offset: offset.parse().unwrap(),
            };
            self.session.restart_marker(self.now, id, &marker);
        } else if line == "closed" {
            self.drain();
            if !self.session.is_closed() {
                self.fail("expected the session to be closed");
            }
        } else if line == "secure" {
            // What the driver must do: bytes the client sent after AUTH
            // were sent in clear and are never taken as commands.
            self.input.clear();
            self.session.control_secured(self.now);
            self.drain();
        } else if line == "tls-failed" {
            self.input.clear();
            self.session.control_tls_failed(self.now);
            self.drain();
        } else if line == "open" {
            if self.session.is_closed() {
                self.fail("expected the session to be open");
            }
        } else if line == "waiting" {
            // The session has not taken all the client sent.
            if self.input.is_empty() {
                self.fail("expected unread client input");
            }
        } else {
            self.fail(&format!("bad transcript line {line:?}"));
        }
    }

    /// Sends raw client bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        self.drain();
    }

    /// Advances the clock and lets the session act on it.
    pub fn advance(&mut self, d: Duration) {
        self.now = self.now + d;
        self.session.handle_timeout(self.now);
        self.drain();
    }

    /// Feeds kept input, collects events and replies, until quiet.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            if !self.input.is_empty() {
                let n = self.session.handle_input(self.now, &self.input);
                assert!(n <= self.input.len());
                if n > 0 {
                    self.input.drain(..n);
                    progressed = true;
                }
            }
            while let Some(event) = self.session.poll_event() {
                match event {
                    Event::Log(log) => self.logs.push(log),
                    other => self.events.push_back(other),
                }
            }
            let out = self.session.transmit();
            if !out.is_empty() {
                let n = out.len();
                self.received.extend_from_slice(out);
                self.session.transmitted(n);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
    }

    fn expect_reply(&mut self, expect: &str) {
        self.drain();
        let Some(first) = self.take_line() else {
            self.fail(&format!("expected reply {expect:?}, got nothing"));
        };
        let code_only = expect.len() == 3 && expect.bytes().all(|b| b.is_ascii_digit());
        if code_only {
            if !first.starts_with(expect) || first.len() < 4 {
                self.fail(&format!("expected a {expect} reply, got {first:?}"));
            }
            if first.as_bytes()[3] == b'-' {
                // Skip to the end line of the multi-line reply.
                let end = format!("{expect} ");
                loop {
                    let Some(line) = self.take_line() else {
                        self.fail(&format!("unterminated {expect} reply"));
                    };
                    if line.starts_with(&end) {
                        break;
                    }
                }
            }
            return;
        }
        let ok = match expect.strip_suffix("...") {
            Some(prefix) => first.starts_with(prefix),
            None => first == expect,
        };
        if !ok {
            self.fail(&format!("expected reply line {expect:?}, got {first:?}"));
        }
    }

    /// The next whole reply line, taken.
    pub fn next_line(&mut self) -> Option<String> {
        self.drain();
        self.take_line()
    }

    fn take_line(&mut self) -> Option<String> {
        let end = self.received.windows(2).position(|w| w == b"\r\n")?;
        let line = String::from_utf8(self.received[..end].to_vec()).expect("replies are UTF-8");
        self.received.drain(..end + 2);
        Some(line)
    }

    fn expect_event(&mut self, expect: &str) {
        self.drain();
        let Some(event) = self.events.pop_front() else {
            self.fail(&format!("expected {expect:?}, got no event"));
        };
        let got = match &event {
            Event::Request { id, op } => {
                self.outstanding = Some(*id);
                describe(op)
            }
            Event::Abort { id } => {
                if Some(*id) != self.outstanding {
                    self.fail("Abort names another request");
                }
                "Abort".to_string()
            }
            Event::ReleaseData => "ReleaseData".to_string(),
            other => format!("{other:?}"),
        };
        if got != expect {
            self.fail(&format!("expected {expect:?}, got {got:?}"));
        }
    }

    fn complete_all(&mut self, completions: &str) {
        for c in completions.split(", ") {
            let id = self.outstanding.expect("no outstanding request");
            let completion = parse_completion(c.trim());
            self.session.complete(self.now, id, completion);
            self.drain();
        }
    }

    fn fail(&self, message: &str) -> ! {
        panic!(
            "{message}\ntranscript so far:\n  {}\nlogs: {:?}",
            self.history.join("\n  "),
            self.logs
        )
    }
}

/// Runs `script` against a session with `config`.
pub fn transcript(config: &Config, script: &str) -> Transcript {
    let mut t = Transcript::new(config);
    t.run(script);
    t
}

fn parse_duration(s: &str) -> Duration {
    let s = s.trim();
    if let Some(ms) = s.strip_suffix("ms") {
        Duration::from_millis(ms.parse().unwrap())
    } else if let Some(secs) = s.strip_suffix('s') {
        Duration::from_secs(secs.parse().unwrap())
    } else {
        panic!("bad duration {s:?}")
    }
}

fn path(p: &RootPath) -> String {
    p.to_absolute()
}

/// The script form of a request.
pub fn describe(op: &Operation) -> String {
    match op {
        Operation::Authenticate { user, password } => format!("Authenticate {user} {password}"),
        Operation::Stat { path: p } => format!("Stat {}", path(p)),
        Operation::MakeDir { path: p } => format!("MakeDir {}", path(p)),
        Operation::RemoveDir { path: p } => format!("RemoveDir {}", path(p)),
        Operation::Delete { path: p } => format!("Delete {}", path(p)),
        Operation::Rename { from, to } => format!("Rename {} {}", path(from), path(to)),
        Operation::Listen { ip } => format!("Listen {ip}"),
        Operation::List { path: p } => format!("List {}", path(p)),
        Operation::SetModified { path: p, modified } => {
            format!("SetModified {} {modified}", path(p))
        }
        Operation::Hash { path: p, algorithm } => {
            format!("Hash {} {}", path(p), algorithm.name())
        }
        Operation::Transfer(t) => {
            let what = match &t.kind {
                TransferKind::Retrieve {
                    path: p,
                    offset,
                    len: None,
                } => format!("Retrieve {} @{offset}", path(p)),
                TransferKind::Retrieve {
                    path: p,
                    offset,
                    len: Some(len),
                } => format!("Retrieve {} @{offset} len {len}", path(p)),
                TransferKind::Store { path: p, mode } => {
                    let mode = match mode {
                        StoreMode::Replace => "replace".to_string(),
                        StoreMode::Append => "append".to_string(),
                        StoreMode::Resume(n) => format!("resume {n}"),
                        StoreMode::Unique => "unique".to_string(),
                    };
                    format!("Store {} {mode}", path(p))
                }
                TransferKind::List {
                    path: p,
                    format,
                    named,
                    pattern,
                } => {
                    let format = match format {
                        ftp_proto::listing::ListFormat::Long => "long",
                        ftp_proto::listing::ListFormat::Names => "names",
                        _ => "machine",
                    };
                    match pattern {
                        Some(pattern) => format!(
                            "List {} {format} named={named:?} pattern={:?} limit={}",
                            path(p),
                            pattern.text,
                            pattern.limit
                        ),
                        None => format!("List {} {format}", path(p)),
                    }
                }
                other => format!("{other:?}"),
            };
            let data = match t.data {
                DataChannel::Passive => "passive".to_string(),
                DataChannel::Active(addr) => format!("active {addr}"),
            };
            // TYPE A in stream mode, today's default, as a word; any
            // other format in full (TYPE I, STRU F, MODE S is nothing).
            let ascii = match t.format {
                f if f == ftp_proto::format::Format::ASCII => " ascii".to_string(),
                f if f.is_plain() => String::new(),
                f => format!(" {:?}/{:?}/{:?}", f.representation, f.structure, f.mode),
            };
            let protected = if t.protected { " protected" } else { "" };
            format!("Transfer {what} {data}{ascii}{protected}")
        }
        other => format!("{other:?}"),
    }
}

/// Metadata of a scripted file.
pub fn file(size: u64) -> Metadata {
    Metadata {
        kind: FileKind::File,
        size,
        modified: Some(MTIME),
        mode: 0o644,
        nlink: 1,
        unique: Some((2049, 100)),
    }
}

/// Metadata of a scripted directory.
pub fn dir() -> Metadata {
    Metadata {
        kind: FileKind::Directory,
        size: 4096,
        modified: Some(MTIME),
        mode: 0o755,
        nlink: 2,
        unique: Some((2049, 2)),
    }
}

/// The script form of a completion: `dir`, `file 12`, `done`,
/// `refused`, `login /home rw|ro`, `listening 10.0.0.1:30000`,
/// `lines line one | line two`,
/// `Started [size] [name=x]`, `Finished n`, `Failed NotFound`.
pub fn parse_completion(s: &str) -> Completion {
    let mut words = s.split_whitespace();
    let head = words.next().expect("empty completion");
    let rest: Vec<&str> = words.collect();
    match head {
        "dir" => Completion::Metadata(dir()),
        "file" => Completion::Metadata(file(rest[0].parse().unwrap())),
        "done" => Completion::Done,
        "refused" => Completion::LoginRefused,
        "login" => Completion::LoggedIn {
            home: RootPath::ROOT.resolve(rest[0]).unwrap(),
            access: Access {
                write: rest.get(1) == Some(&"rw"),
            },
        },
        "listening" => Completion::Listening(rest[0].parse().unwrap()),
        // `lines a | b`: a listing, one line per `|`-separated part.
        "lines" => {
            let text = s["lines".len()..].trim();
            let mut bytes = Vec::new();
            for line in text.split('|').map(str::trim).filter(|l| !l.is_empty()) {
                bytes.extend_from_slice(line.as_bytes());
                bytes.extend_from_slice(b"\r\n");
            }
            Completion::Listing(bytes)
        }
        "Started" => {
            let mut size = None;
            let mut name = None;
            for w in rest {
                match w.strip_prefix("name=") {
                    Some(n) => name = Some(n.to_string()),
                    None => size = Some(w.parse().unwrap()),
                }
            }
            Completion::Started { size, name }
        }
        // `hashed 3 0a0b`: length and hex digest.
        "hashed" => Completion::Hashed {
            len: rest[0].parse().unwrap(),
            digest: (0..rest[1].len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&rest[1][i..i + 2], 16).unwrap())
                .collect(),
        },
        "Finished" => Completion::Finished {
            bytes: rest[0].parse().unwrap(),
        },
        "Failed" => Completion::Failed(match rest[0] {
            "NotFound" => Failure::NotFound,
            "PermissionDenied" => Failure::PermissionDenied,
            "NotADirectory" => Failure::NotADirectory,
            "IsADirectory" => Failure::IsADirectory,
            "AlreadyExists" => Failure::AlreadyExists,
            "DirectoryNotEmpty" => Failure::DirectoryNotEmpty,
            "StorageFull" => Failure::StorageFull,
            "InvalidName" => Failure::InvalidName,
            "NoDataConnection" => Failure::NoDataConnection,
            "DataConnectionLost" => Failure::DataConnectionLost,
            "Aborted" => Failure::Aborted,
            "Io" => Failure::Io,
            "InvalidOffset" => Failure::InvalidOffset,
            "DataTlsFailed" => Failure::DataTlsFailed,
            "DataTlsNotResumed" => Failure::DataTlsNotResumed,
            "TooManyMatches" => Failure::TooManyMatches,
            "Unsupported" => Failure::Unsupported,
            other => panic!("unknown failure {other:?}"),
        }),
        other => panic!("unknown completion {other:?}"),
    }
}
