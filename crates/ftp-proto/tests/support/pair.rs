//! A client machine and a server machine coupled in memory: control bytes
//! flow both ways through queues, the server's requests are performed on a
//! [`MemFs`], data connections are pairs of byte queues, and time is a
//! virtual clock. Nothing here decides protocol matters; it does what a
//! driver does (and only that), so any misstep shows up as a machine's
//! reply or error.
//!
//! With a seed of 0 every step moves as much as it can in a fixed order;
//! any other seed picks chunk sizes and the order of the driver's actions
//! at random, so control lines and data arrive split anywhere and replies
//! may overtake the end of a data connection, as they can on a network.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ftp_proto::client::{
    Client, ClientConfig, ClientError, DataMode, Event as ClientEvent, Op, Outcome, Transfer,
    TransferKind as ClientKind, TransferType,
};
use ftp_proto::format::Format;
use ftp_proto::server::{
    Access, Completion, Config, DataChannel, Event as ServerEvent, Failure, LogEvent, RequestId,
    Session,
};
use ftp_proto::{Instant, RootPath};

use super::memfs::{wire_bytes, Job, MemFs, Sink, User, Work, EPOCH};

pub const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
pub const SERVER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

/// One TCP data connection, as two byte queues and how each end left.
#[derive(Debug, Default)]
struct Conn {
    /// The client's end (the address the server's accept sees).
    client_addr: Option<SocketAddr>,
    to_client: VecDeque<u8>,
    to_server: VecDeque<u8>,
    /// The server wrote everything and closed its end.
    server_closed: bool,
    /// The client wrote everything and closed its end.
    client_closed: bool,
    /// Either end dropped the connection abruptly.
    reset: bool,
}

/// A bound listener and the connections waiting to be accepted on it.
#[derive(Debug)]
struct Listener {
    addr: SocketAddr,
    backlog: VecDeque<usize>,
}

/// The server driver's side of one running transfer.
#[derive(Debug)]
struct ServerJob {
    data: DataChannel,
    conn: Option<usize>,
    job: Job,
    sent: usize,
}

/// The client driver's side of the running transfer.
#[derive(Debug)]
struct ClientJob {
    /// Wire bytes to send (uploads); None for downloads.
    upload: Option<Vec<u8>>,
    /// The format of this job's data.
    format: Format,
    sent: usize,
    sink: Sink,
    conn: Option<usize>,
    /// 150/125 arrived: the data may move.
    started: bool,
    /// Active mode: the machine asked to accept.
    accept: bool,
    /// data_finished or data_failed was reported.
    ended: bool,
}

/// The result of a download: the operation's end and the bytes read
/// (decoded for TYPE A).
#[derive(Debug)]
pub struct Download {
    pub result: Result<Outcome, ClientError>,
    pub data: Vec<u8>,
}

pub struct Pair {
    pub now: Instant,
    pub server: Session,
    pub client: Client,
    pub fs: MemFs,
    pub users: Vec<User>,
    /// Everything said on the control connection, `> ` for the client's
    /// lines and `< ` for the server's.
    pub transcript: String,
    pub server_log: Vec<LogEvent>,
    /// Client events other than `Done`, in order.
    pub client_events: Vec<ClientEvent>,
    /// `TransferStarted` sizes seen.
    pub started_sizes: Vec<Option<u64>>,
    /// `TransferStarted` names seen (STOU's chosen name).
    pub started_names: Vec<Option<String>>,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    c2s_line: Vec<u8>,
    s2c_line: Vec<u8>,
    control_closed: bool,
    done: Option<Result<Outcome, ClientError>>,
    next_port: u16,
    conns: Vec<Conn>,
    server_listener: Option<Listener>,
    client_listener: Option<Listener>,
    server_jobs: BTreeMap<RequestId, ServerJob>,
    client_job: Option<ClientJob>,
    /// What the last finished client transfer read.
    last_download: Option<Vec<u8>>,
    rng: u64,
    max_chunk: usize,
    /// Verbs the server is made not to know: the harness renames them on
    /// the way in, so the server answers 500 as an older server would.
    pub unknown_verbs: Vec<&'static str>,
    /// Abort a download once this many bytes arrived (Client::abort).
    pub abort_after: Option<u64>,
}

impl Pair {
    /// A pair with the server's `config`, one user `anna`/`secret` with
    /// write access, an empty store, and the greeting exchanged.
    pub fn new(config: Config, seed: u64) -> Pair {
        Pair::with_client(config, ClientConfig::default(), seed)
    }

    pub fn with_client(config: Config, client_config: ClientConfig, seed: u64) -> Pair {
        let now = Instant::from_millis(1_000);
        let server_addr = SocketAddr::new(SERVER_IP, 21);
        let client_addr = SocketAddr::new(CLIENT_IP, 40_000);
        let mut pair = Pair {
            now,
            server: Session::new(&config, client_addr, server_addr, now),
            client: Client::new(&client_config, server_addr, now),
            fs: MemFs::new(),
            users: vec![User {
                name: "anna".into(),
                password: "secret".into(),
                home: RootPath::ROOT,
                access: Access { write: true },
            }],
            transcript: String::new(),
            server_log: Vec::new(),
            client_events: Vec::new(),
            started_sizes: Vec::new(),
            started_names: Vec::new(),
            c2s: Vec::new(),
            s2c: Vec::new(),
            c2s_line: Vec::new(),
            s2c_line: Vec::new(),
            control_closed: false,
            done: None,
            next_port: 50_000,
            conns: Vec::new(),
            server_listener: None,
            client_listener: None,
            server_jobs: BTreeMap::new(),
            client_job: None,
            last_download: None,
            // RFC 959 §3.1.1.5: TYPE A until the client says otherwise.
            // xorshift must not start at 0; seed 0 means "no randomness".
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            max_chunk: if seed == 0 {
                usize::MAX
            } else {
                1 + (seed % 97) as usize
            },
            unknown_verbs: Vec::new(),
            abort_after: None,
        };
        if seed == 0 {
            pair.rng = 0;
        }
        pair.settle();
        pair
    }

    // ---- operations, as a test writes them -------------------------------

    /// The client's TYPE: what the client machine says the server accepted.
    /// The format the client's next transfer of `kind` uses.
    fn client_format(&self, kind: ClientKind) -> Format {
        match kind.carries_file() {
            true => self.client.data_format(),
            false => Format {
                mode: self.client.data_format().mode,
                ..Format::IMAGE
            },
        }
    }

    /// Runs `op` to its end.
    pub fn run(&mut self, op: Op) -> Result<Outcome, ClientError> {
        self.run_inner(op)
    }

    fn run_inner(&mut self, op: Op) -> Result<Outcome, ClientError> {
        self.done = None;
        self.client.start(self.now, op).expect("client busy");
        self.drive();
        match self.done.take() {
            Some(r) => r,
            None => panic!("the operation never ended\n{}", self.transcript),
        }
    }

    pub fn login(&mut self, user: &str, password: &str) -> Result<Outcome, ClientError> {
        self.run(Op::Login {
            user: user.into(),
            password: password.into(),
            account: None,
        })
    }

    pub fn set_type(&mut self, ascii: bool) -> Result<Outcome, ClientError> {
        self.run(Op::SetType(if ascii {
            TransferType::Ascii
        } else {
            TransferType::Binary
        }))
    }

    /// STOR / APPE / STOU of `content` (a local file: TYPE A encoding is
    /// the client driver's job).
    pub fn upload(
        &mut self,
        kind: ClientKind,
        path: Option<&str>,
        content: &[u8],
        data: DataMode,
        offset: Option<u64>,
    ) -> Result<Outcome, ClientError> {
        let format = self.client_format(kind);
        self.client_job = Some(ClientJob::new(
            Some(wire_bytes(content, format, offset.unwrap_or(0))),
            format,
        ));
        self.run(Op::Transfer(Transfer {
            kind,
            path: path.map(String::from),
            offset,
            data,
        }))
    }

    /// RETR of a file (decoded for TYPE A) or a listing (raw: listings
    /// are CR LF text in either TYPE).
    pub fn download(
        &mut self,
        kind: ClientKind,
        path: Option<&str>,
        data: DataMode,
        offset: Option<u64>,
    ) -> Download {
        let format = self.client_format(kind);
        self.client_job = Some(ClientJob::new(None, format));
        self.last_download = None;
        let result = self.run(Op::Transfer(Transfer {
            kind,
            path: path.map(String::from),
            offset,
            data,
        }));
        Download {
            result,
            data: self.last_download.take().unwrap_or_default(),
        }
    }

    /// A listing as text.
    pub fn listing(&mut self, kind: ClientKind, path: Option<&str>, data: DataMode) -> String {
        let d = self.download(kind, path, data, None);
        d.result
            .unwrap_or_else(|e| panic!("{e}\n{}", self.transcript));
        String::from_utf8(d.data).expect("listing is text")
    }

    // ---- the drive loop ---------------------------------------------------

    /// Steps until the running operation ends (or, with none, until
    /// nothing moves).
    fn drive(&mut self) {
        for _ in 0..2_000_000 {
            if self.done.is_some() {
                // Let what is still in flight land.
                self.settle();
                return;
            }
            if !self.step() && !self.quiet() {
                return;
            }
        }
        panic!("no end after many steps\n{}", self.transcript);
    }

    /// Steps until nothing moves without time passing.
    pub fn settle(&mut self) {
        for _ in 0..1_000_000 {
            if !self.step() {
                return;
            }
        }
        panic!("livelock\n{}", self.transcript);
    }

    /// Nothing moved: what a real driver would see next. A transfer
    /// waiting for a data connection nobody makes gives up (an accept or
    /// connect timeout); otherwise time jumps to the next timer. False
    /// when nothing is left to wait for.
    fn quiet(&mut self) -> bool {
        let waiting: Vec<RequestId> = self
            .server_jobs
            .iter()
            .filter(|(_, j)| j.conn.is_none())
            .map(|(id, _)| *id)
            .collect();
        if let Some(id) = waiting.first() {
            self.server_jobs.remove(id);
            self.server_listener = None;
            self.server
                .complete(self.now, *id, Completion::Failed(Failure::NoDataConnection));
            return true;
        }
        let next = [self.server.poll_timeout(), self.client.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) => {
                self.set_now(self.now.max(t));
                self.server.handle_timeout(self.now);
                self.client.handle_timeout(self.now);
                true
            }
            None => false,
        }
    }

    /// Advances the clock (idle time, as a test wants it).
    pub fn sleep(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            let next = [self.server.poll_timeout(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|t| *t <= until)
                .min();
            match next {
                Some(t) => {
                    self.set_now(self.now.max(t));
                    self.server.handle_timeout(self.now);
                    self.client.handle_timeout(self.now);
                    self.settle();
                }
                None => break,
            }
        }
        self.set_now(until);
        self.settle();
    }

    fn random(&mut self) -> u64 {
        next_random(&mut self.rng)
    }

    /// The store's clock follows the virtual one (mtimes, LIST's "now").
    fn set_now(&mut self, now: Instant) {
        self.now = now;
        self.fs.clock = EPOCH + (now.as_micros() / 1_000_000) as i64;
    }

    /// One round of every driver action; true if anything happened.
    fn step(&mut self) -> bool {
        self.set_now(self.now + Duration::from_micros(100));
        let mut order = [0u8, 1, 2, 3, 4, 5];
        if self.rng != 0 {
            for i in (1..order.len()).rev() {
                let j = (self.random() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        let mut moved = false;
        for action in order {
            moved |= match action {
                0 => self.client_to_server(),
                1 => self.server_to_client(),
                2 => self.server_events(),
                3 => self.client_events(),
                4 => self.server_data(),
                _ => self.client_data(),
            };
        }
        moved
    }

    // ---- control connection ------------------------------------------------

    fn client_to_server(&mut self) -> bool {
        let mut moved = false;
        let out = self.client.transmit();
        if !out.is_empty() && !self.control_closed {
            let mut out = out.to_vec();
            self.client.transmitted(out.len());
            self.hide_verbs(&mut out);
            record(&mut self.transcript, &mut self.c2s_line, "> ", &out);
            self.c2s.extend_from_slice(&out);
            moved = true;
        }
        if !self.c2s.is_empty() && !self.server.is_closed() {
            let n = chunk_of(&mut self.rng, self.max_chunk, self.c2s.len());
            let taken = self.server.handle_input(self.now, &self.c2s[..n]);
            self.c2s.drain(..taken);
            moved |= taken > 0;
        }
        moved
    }

    /// `EPSV` -> `XPSV` and the like, at the start of each line.
    fn hide_verbs(&self, bytes: &mut [u8]) {
        let mut start = 0;
        while start < bytes.len() {
            let end = bytes[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| start + i + 1);
            let line = &mut bytes[start..end];
            for verb in &self.unknown_verbs {
                let v = verb.as_bytes();
                if line.len() > v.len()
                    && line[..v.len()].eq_ignore_ascii_case(v)
                    && matches!(line[v.len()], b' ' | b'\r' | b'\n')
                {
                    line[0] = b'X';
                }
            }
            start = end;
        }
    }

    fn server_to_client(&mut self) -> bool {
        let mut moved = false;
        let out = self.server.transmit();
        if !out.is_empty() {
            let out = out.to_vec();
            self.server.transmitted(out.len());
            record(&mut self.transcript, &mut self.s2c_line, "< ", &out);
            self.s2c.extend_from_slice(&out);
            moved = true;
        }
        if !self.s2c.is_empty() {
            let n = chunk_of(&mut self.rng, self.max_chunk, self.s2c.len());
            let taken = self.client.handle_input(self.now, &self.s2c[..n]);
            assert_eq!(taken, n, "the client takes all control input");
            self.s2c.drain(..n);
            moved = true;
        } else if self.server.is_closed() && !self.control_closed {
            // Everything written: the server's driver closes the control
            // connection, and with it any data connection and listener.
            self.control_closed = true;
            self.server_listener = None;
            for (_, job) in std::mem::take(&mut self.server_jobs) {
                if let Some(c) = job.conn {
                    self.conns[c].reset = true;
                }
            }
            self.client.handle_eof(self.now);
            moved = true;
        }
        moved
    }

    // ---- the server's driver -----------------------------------------------

    fn server_events(&mut self) -> bool {
        let mut moved = false;
        while let Some(event) = self.server.poll_event() {
            moved = true;
            match event {
                ServerEvent::Request { id, op } => self.perform(id, op),
                ServerEvent::Abort { id } => {
                    if let Some(job) = self.server_jobs.remove(&id) {
                        if let Some(c) = job.conn {
                            self.conns[c].reset = true;
                        }
                        self.server
                            .complete(self.now, id, Completion::Failed(Failure::Aborted));
                    }
                }
                ServerEvent::ReleaseData => {
                    if let Some(l) = self.server_listener.take() {
                        for c in l.backlog {
                            self.conns[c].reset = true;
                        }
                    }
                }
                ServerEvent::Log(e) => self.server_log.push(e),
                other => panic!("a server event the harness does not know: {other:?}"),
            }
        }
        moved
    }

    fn perform(&mut self, id: RequestId, op: ftp_proto::server::Operation) {
        match self.fs.perform(&self.users, op) {
            Work::Complete(c) => self.server.complete(self.now, id, c),
            Work::Listen(ip) => {
                let addr = SocketAddr::new(ip, self.port());
                if let Some(old) = self.server_listener.take() {
                    for c in old.backlog {
                        self.conns[c].reset = true;
                    }
                }
                self.server_listener = Some(Listener {
                    addr,
                    backlog: VecDeque::new(),
                });
                self.server
                    .complete(self.now, id, Completion::Listening(addr));
            }
            Work::Transfer { started, job, data } => {
                self.server.complete(self.now, id, started);
                let mut job = ServerJob {
                    data,
                    conn: None,
                    job,
                    sent: 0,
                };
                if let DataChannel::Active(addr) = data {
                    match self.client_listener.as_mut() {
                        Some(l) if l.addr == addr => {
                            let c = self.conns.len();
                            self.conns.push(Conn {
                                client_addr: Some(addr),
                                ..Conn::default()
                            });
                            l.backlog.push_back(c);
                            job.conn = Some(c);
                        }
                        _ => {
                            // Connection refused.
                            let fail = Completion::Failed(Failure::NoDataConnection);
                            self.server.complete(self.now, id, fail);
                            return;
                        }
                    }
                }
                self.server_jobs.insert(id, job);
            }
        }
    }

    fn port(&mut self) -> u16 {
        self.next_port += 1;
        self.next_port
    }

    fn server_data(&mut self) -> bool {
        let mut moved = false;
        let ids: Vec<RequestId> = self.server_jobs.keys().copied().collect();
        for id in ids {
            moved |= self.server_job(id);
        }
        moved
    }

    fn server_job(&mut self, id: RequestId) -> bool {
        let job = self.server_jobs.get(&id).unwrap();
        let conn = match job.conn {
            Some(c) => c,
            None => {
                debug_assert_eq!(job.data, DataChannel::Passive);
                // Accept: each candidate goes through the machine's check.
                let Some(listener) = self.server_listener.as_mut() else {
                    return false;
                };
                let Some(c) = listener.backlog.pop_front() else {
                    return false;
                };
                let from = self.conns[c].client_addr.unwrap();
                if self.server.accept_data_peer(from) {
                    // The listener serves one transfer.
                    self.server_listener = None;
                    self.server_jobs.get_mut(&id).unwrap().conn = Some(c);
                } else {
                    self.conns[c].reset = true;
                }
                return true;
            }
        };
        if self.conns[conn].reset {
            self.server_jobs.remove(&id);
            let fail = Completion::Failed(Failure::DataConnectionLost);
            self.server.complete(self.now, id, fail);
            return true;
        }
        let job = self.server_jobs.get_mut(&id).unwrap();
        match &mut job.job {
            Job::Send(bytes) => {
                let left = bytes.len() - job.sent;
                if left > 0 {
                    let n = chunk_of(&mut self.rng, self.max_chunk, left);
                    let chunk = &bytes[job.sent..job.sent + n];
                    self.conns[conn].to_client.extend(chunk);
                    job.sent += n;
                    let sent = job.sent as u64;
                    self.server.transfer_progress(self.now, id, sent);
                    return true;
                }
                let sent = job.sent as u64;
                self.server_jobs.remove(&id);
                self.conns[conn].server_closed = true;
                self.server
                    .complete(self.now, id, Completion::Finished { bytes: sent });
                true
            }
            Job::Receive { sink, .. } => {
                let queue = &mut self.conns[conn].to_server;
                if !queue.is_empty() {
                    let n = chunk_of(&mut self.rng, self.max_chunk, queue.len());
                    let chunk: Vec<u8> = queue.drain(..n).collect();
                    sink.push(&chunk);
                    let wire = sink.wire;
                    self.server.transfer_progress(self.now, id, wire);
                    return true;
                }
                if !self.conns[conn].client_closed {
                    return false;
                }
                let Some(ServerJob {
                    job: Job::Receive { target, mode, sink },
                    ..
                }) = self.server_jobs.remove(&id)
                else {
                    unreachable!()
                };
                self.conns[conn].server_closed = true;
                let completion = self.fs.finish_receive(&target, mode, sink);
                self.server.complete(self.now, id, completion);
                true
            }
        }
    }

    // ---- the client's driver -----------------------------------------------

    fn client_events(&mut self) -> bool {
        let mut moved = false;
        while let Some(event) = self.client.poll_event() {
            moved = true;
            match &event {
                ClientEvent::Connect(addr) => {
                    let found = match self.server_listener.as_mut() {
                        Some(l) if l.addr == *addr => {
                            let c = self.conns.len();
                            self.conns.push(Conn {
                                client_addr: Some(SocketAddr::new(CLIENT_IP, 0)),
                                ..Conn::default()
                            });
                            let port = self.port();
                            self.conns[c].client_addr = Some(SocketAddr::new(CLIENT_IP, port));
                            self.server_listener.as_mut().unwrap().backlog.push_back(c);
                            Some(c)
                        }
                        _ => None,
                    };
                    match (found, self.client_job.as_mut()) {
                        (Some(c), Some(job)) => {
                            job.conn = Some(c);
                            self.client.data_connected(self.now);
                        }
                        (Some(c), None) => {
                            // A transfer the test did not set up: read and
                            // drop whatever comes.
                            let mut job = ClientJob::new(None, Format::IMAGE);
                            job.conn = Some(c);
                            self.client_job = Some(job);
                            self.client.data_connected(self.now);
                        }
                        (None, _) => self.client.data_failed(self.now),
                    }
                }
                ClientEvent::Listen => {
                    let addr = SocketAddr::new(CLIENT_IP, self.port());
                    self.client_listener = Some(Listener {
                        addr,
                        backlog: VecDeque::new(),
                    });
                    self.client.listening(self.now, addr);
                }
                ClientEvent::Accept => {
                    if self.client_job.is_none() {
                        self.client_job = Some(ClientJob::new(None, Format::IMAGE));
                    }
                    self.client_job.as_mut().unwrap().accept = true;
                }
                ClientEvent::TransferStarted {
                    size,
                    ascii,
                    name,
                    format,
                    ..
                } => {
                    self.started_sizes.push(*size);
                    self.started_names.push(name.clone());
                    if let Some(job) = self.client_job.as_mut() {
                        // The job was prepared from the client's TYPE; the
                        // event must say the same conversion applies.
                        assert_eq!(*format, job.format, "TransferStarted.format");
                        assert_eq!(*ascii, job.format == Format::ASCII, "TransferStarted.ascii");
                        job.started = true;
                    }
                }
                ClientEvent::CloseData => {
                    self.client_listener = None;
                    if let Some(job) = self.client_job.take() {
                        if let Some(c) = job.conn {
                            self.conns[c].reset = true;
                        }
                    }
                }
                ClientEvent::Done(result) => {
                    if let Some(job) = self.client_job.take() {
                        if let Some(c) = job.conn {
                            if !job.ended {
                                self.conns[c].reset = true;
                            }
                        }
                        if job.ended && job.upload.is_none() {
                            self.last_download = Some(job.sink.finish());
                        }
                    }
                    self.client_listener = None;
                    self.done = Some(result.clone());
                }
                _ => {}
            }
            if !matches!(event, ClientEvent::Done(_)) {
                self.client_events.push(event);
            }
        }
        moved
    }

    fn client_data(&mut self) -> bool {
        let Some(job) = self.client_job.as_mut() else {
            return false;
        };
        if job.ended {
            return false;
        }
        let conn = match job.conn {
            Some(c) => c,
            None => {
                // Active: accept once the machine asks.
                if !job.accept {
                    return false;
                }
                let Some(l) = self.client_listener.as_mut() else {
                    return false;
                };
                let Some(c) = l.backlog.pop_front() else {
                    return false;
                };
                self.client_listener = None;
                job.conn = Some(c);
                self.client.data_connected(self.now);
                return true;
            }
        };
        if self.conns[conn].reset {
            job.ended = true;
            self.client.data_failed(self.now);
            return true;
        }
        if !job.started {
            return false;
        }
        match &job.upload {
            Some(bytes) => {
                let left = bytes.len() - job.sent;
                if left > 0 {
                    let n = chunk_of(&mut self.rng, self.max_chunk, left);
                    self.conns[conn]
                        .to_server
                        .extend(&bytes[job.sent..job.sent + n]);
                    job.sent += n;
                    self.client.data_progress(self.now);
                    return true;
                }
                job.ended = true;
                self.conns[conn].client_closed = true;
                let sent = job.sent as u64;
                self.client.data_finished(self.now, sent);
                true
            }
            None => {
                let queue = &mut self.conns[conn].to_client;
                if !queue.is_empty() {
                    let n = chunk_of(&mut self.rng, self.max_chunk, queue.len());
                    let chunk: Vec<u8> = queue.drain(..n).collect();
                    job.sink.push(&chunk);
                    self.client.data_progress(self.now);
                    if self.abort_after.is_some_and(|at| job.sink.wire >= at) {
                        self.abort_after = None;
                        assert!(self.client.abort(self.now), "nothing to abort");
                    }
                    return true;
                }
                if !self.conns[conn].server_closed {
                    return false;
                }
                job.ended = true;
                self.conns[conn].client_closed = true;
                let wire = job.sink.wire;
                self.client.data_finished(self.now, wire);
                true
            }
        }
    }
}

impl ClientJob {
    fn new(upload: Option<Vec<u8>>, format: Format) -> ClientJob {
        ClientJob {
            upload,
            sent: 0,
            sink: Sink::new(format),
            format,
            conn: None,
            started: false,
            accept: false,
            ended: false,
        }
    }
}

/// A chunk size: all of it with no randomness, else 1..=min(max, left).
fn chunk_of(rng: &mut u64, max: usize, left: usize) -> usize {
    if *rng == 0 {
        return left.min(max);
    }
    1 + next_random(rng) as usize % left.min(max).max(1)
}

/// xorshift64*: small, seedable, good enough to shuffle a schedule.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// Appends control bytes to the transcript line by line.
fn record(transcript: &mut String, partial: &mut Vec<u8>, prefix: &str, bytes: &[u8]) {
    partial.extend_from_slice(bytes);
    while let Some(i) = partial.iter().position(|&b| b == b'\n') {
        let mut line: Vec<u8> = partial.drain(..=i).collect();
        while matches!(line.last(), Some(b'\r' | b'\n')) {
            line.pop();
        }
        transcript.push_str(prefix);
        // Telnet IP and Synch (RFC 959 §4.1.3, before ABOR) shown by name.
        let mut rest = &line[..];
        while let Some(iac) = rest.iter().position(|&b| b == 0xFF) {
            transcript.push_str(&String::from_utf8_lossy(&rest[..iac]));
            let name = match rest.get(iac + 1) {
                Some(0xF4) => "<IP>",
                Some(0xF2) => "<DM>",
                _ => "<IAC?>",
            };
            transcript.push_str(name);
            rest = &rest[(iac + 2).min(rest.len())..];
        }
        let _ = writeln!(transcript, "{}", String::from_utf8_lossy(rest));
    }
}
