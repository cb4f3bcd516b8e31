//! One simulated network for every transfer test: a TFTP client machine
//! and the server's machines exchange datagrams through a virtual network
//! that can lose, duplicate, reorder and delay them, with a stray host
//! injecting foreign traffic, all on a virtual clock.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use tftp_proto::transfer::{
    accept_request, datagram_cost, Event, RequestKind, ServerPolicy, Summary, Transfer,
    TransferConfig, TransferError,
};
use tftp_proto::{Instant, Mode, Options, Packet};

pub const CLIENT: &str = "10.0.0.1:40000";
pub const SERVER: &str = "10.0.0.2:69";
pub const STRAY: &str = "10.0.0.3:5555";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Deterministic pseudo-random numbers (xorshift64*), so a failing case
/// replays exactly from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u32) -> bool {
        (self.next_u64() % 100) < u64::from(percent)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// How the network misbehaves.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    pub loss_percent: u32,
    pub duplicate_percent: u32,
    /// Extra random delay up to this, which reorders datagrams.
    pub jitter: Duration,
    pub delay: Duration,
    /// A foreign host sends a datagram to a transfer this often (percent per step).
    pub stray_percent: u32,
}

impl Faults {
    pub fn none() -> Self {
        Faults {
            loss_percent: 0,
            duplicate_percent: 0,
            jitter: Duration::ZERO,
            delay: Duration::from_millis(1),
            stray_percent: 0,
        }
    }
}

/// Deterministic file contents.
pub fn file_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

#[derive(Debug)]
struct Endpoint {
    addr: SocketAddr,
    transfer: Transfer,
    /// Sender: the file and how much of it was handed over.
    source: Vec<u8>,
    offset: usize,
    /// Receiver: what arrived.
    sink: Vec<u8>,
    outcome: Option<Result<Summary, TransferError>>,
    data_sends: u64,
}

impl Endpoint {
    fn new(addr: SocketAddr, transfer: Transfer, source: Vec<u8>) -> Self {
        Endpoint {
            addr,
            transfer,
            source,
            offset: 0,
            sink: Vec::new(),
            outcome: None,
            data_sends: 0,
        }
    }

    /// Drain events and datagrams until neither is left, as every driver does.
    fn drain(&mut self, now: Instant, out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>) {
        while self.drain_once(now, out) {}
    }

    /// One pass: events, then datagrams. True if anything happened.
    fn drain_once(
        &mut self,
        now: Instant,
        out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    ) -> bool {
        let mut busy = false;
        while let Some(event) = self.transfer.poll_event() {
            busy = true;
            match event {
                Event::NeedData { max_len } => {
                    let end = (self.offset + max_len).min(self.source.len());
                    let chunk = self.source[self.offset..end].to_vec();
                    self.offset = end;
                    self.transfer.provide_data(now, &chunk);
                }
                Event::Data(bytes) => self.sink.extend_from_slice(bytes),
                Event::Finished(summary) => {
                    assert!(self.outcome.is_none(), "a second outcome");
                    self.outcome = Some(Ok(summary));
                }
                Event::Failed(error) => {
                    assert!(self.outcome.is_none(), "a second outcome: {error:?}");
                    self.outcome = Some(Err(error));
                }
                _ => {}
            }
        }
        while let Some(tx) = self.transfer.poll_transmit() {
            if tx.payload.len() >= 2 && tx.payload[..2] == [0, 3] {
                self.data_sends += 1;
            }
            Packet::parse(tx.payload).expect("every datagram sent parses");
            out.push((self.addr, tx.to, tx.payload.to_vec()));
            busy = true;
        }
        busy
    }
}

/// A whole scenario: one client transfer against a server on the network.
pub struct Sim {
    pub now: Instant,
    pub rng: Rng,
    pub faults: Faults,
    pub policy: ServerPolicy,
    /// The file the server holds (for get) or the client sends (put).
    pub server_files: BTreeMap<String, Vec<u8>>,
    client: Endpoint,
    servers: Vec<Endpoint>,
    next_port: u16,
    /// (deliver at, sequence) -> (from, to, bytes)
    in_flight: BTreeMap<(Instant, u64), (SocketAddr, SocketAddr, Vec<u8>)>,
    seq: u64,
    pub stray_errors_received: u64,
    pub delivered: u64,
    /// The client's socket, when it has a bounded receive buffer.
    client_socket: Option<ClientSocket>,
    /// Datagrams the client's full buffer dropped.
    pub overflows: u64,
}

/// A receive buffer of `capacity` bytes, charged as a Linux kernel charges
/// it ([`datagram_cost`]), that the client reads one datagram per `read`.
#[derive(Debug)]
struct ClientSocket {
    capacity: usize,
    read: Duration,
    queue: VecDeque<(SocketAddr, Vec<u8>)>,
    queued: usize,
    busy_until: Instant,
}

fn charge(bytes: &[u8]) -> usize {
    datagram_cost(u16::try_from(bytes.len().saturating_sub(4)).unwrap_or(u16::MAX))
}

/// How one machine ended, if it did.
pub type Ended = Option<Result<Summary, TransferError>>;

/// What a scenario ended with.
#[derive(Debug)]
pub struct Outcome {
    pub client: Option<Result<Summary, TransferError>>,
    pub client_received: Vec<u8>,
    /// Per server transfer: outcome and what it received.
    pub servers: Vec<(Ended, Vec<u8>)>,
    /// DATA packets sent by whichever side sent the file.
    pub data_sends: u64,
    pub elapsed: Duration,
    pub stray_errors: u64,
}

impl Sim {
    #[allow(clippy::too_many_arguments)] // one scenario, spelled out at each call
    pub fn get(
        config: &TransferConfig,
        policy: ServerPolicy,
        name: &str,
        file: Vec<u8>,
        mode: Mode,
        options: Options,
        faults: Faults,
        seed: u64,
    ) -> Sim {
        let client = Transfer::client_get(config, addr(SERVER), name, mode, options, Instant::ZERO);
        let mut server_files = BTreeMap::new();
        server_files.insert(name.to_string(), file);
        Sim::new(
            Endpoint::new(addr(CLIENT), client, Vec::new()),
            policy,
            server_files,
            faults,
            seed,
        )
    }

    #[allow(clippy::too_many_arguments)] // one scenario, spelled out at each call
    pub fn put(
        config: &TransferConfig,
        policy: ServerPolicy,
        name: &str,
        file: Vec<u8>,
        mode: Mode,
        options: Options,
        faults: Faults,
        seed: u64,
    ) -> Sim {
        let client = Transfer::client_put(config, addr(SERVER), name, mode, options, Instant::ZERO);
        Sim::new(
            Endpoint::new(addr(CLIENT), client, file),
            policy,
            BTreeMap::new(),
            faults,
            seed,
        )
    }

    fn new(
        client: Endpoint,
        policy: ServerPolicy,
        server_files: BTreeMap<String, Vec<u8>>,
        faults: Faults,
        seed: u64,
    ) -> Sim {
        Sim {
            now: Instant::ZERO,
            rng: Rng::new(seed),
            faults,
            policy,
            server_files,
            client,
            servers: Vec::new(),
            next_port: 50000,
            in_flight: BTreeMap::new(),
            seq: 0,
            stray_errors_received: 0,
            delivered: 0,
            client_socket: None,
            overflows: 0,
        }
    }

    /// Give the client a receive buffer of `capacity` bytes, from which it
    /// reads one datagram every `read`: what arrives while it is full is
    /// dropped, as a kernel drops it.
    pub fn with_client_buffer(mut self, capacity: usize, read: Duration) -> Sim {
        self.client_socket = Some(ClientSocket {
            capacity,
            read,
            queue: VecDeque::new(),
            queued: 0,
            busy_until: Instant::ZERO,
        });
        self
    }

    /// A datagram reaches the client's buffer (or is dropped there).
    fn enqueue_for_client(&mut self, from: SocketAddr, bytes: Vec<u8>) {
        let socket = self.client_socket.as_mut().expect("a client buffer");
        let cost = charge(&bytes);
        if socket.queued + cost > socket.capacity {
            self.overflows += 1;
            return;
        }
        socket.queued += cost;
        socket.queue.push_back((from, bytes));
    }

    /// When the client next reads a queued datagram, if one waits.
    fn next_client_read(&self) -> Option<Instant> {
        let socket = self.client_socket.as_ref()?;
        (!socket.queue.is_empty()).then(|| socket.busy_until.max(self.now))
    }

    fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        if self.rng.chance(self.faults.loss_percent) {
            return;
        }
        let copies = if self.rng.chance(self.faults.duplicate_percent) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let jitter = self.rng.below(self.faults.jitter.as_micros() as u64 + 1);
            let at = self.now + self.faults.delay + Duration::from_micros(jitter);
            self.seq += 1;
            self.in_flight
                .insert((at, self.seq), (from, to, bytes.clone()));
        }
    }

    fn flush(&mut self, out: Vec<(SocketAddr, SocketAddr, Vec<u8>)>) {
        for (from, to, bytes) in out {
            self.send(from, to, bytes);
        }
    }

    fn deliver(&mut self, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        self.delivered += 1;
        if std::env::var_os("SIM_TRACE").is_some() {
            eprintln!(
                "{:>10} {from} -> {to} {:?}",
                self.now.as_micros(),
                &bytes[..bytes.len().min(4)]
            );
        }
        let now = self.now;
        let mut out = Vec::new();
        if to == addr(STRAY) {
            if let Ok(Packet::Error { code, .. }) = Packet::parse(bytes) {
                assert_eq!(code.to_u16(), 5, "a stray host only ever gets ERROR 5");
                self.stray_errors_received += 1;
            }
            return;
        }
        if to == self.client.addr {
            self.client.transfer.handle_datagram(now, from, bytes);
            self.client.drain(now, &mut out);
        } else if to == addr(SERVER) {
            let policy = self.policy.clone();
            match accept_request(&policy, from, bytes, now) {
                Ok(accepted) => {
                    let name = accepted.request.filename.to_string();
                    let port = self.next_port;
                    self.next_port += 1;
                    let mut server_addr = addr(SERVER);
                    server_addr.set_port(port);
                    let endpoint = match accepted.kind {
                        RequestKind::Read => match self.server_files.get(&name) {
                            Some(file) => Endpoint::new(
                                server_addr,
                                Transfer::server_read(
                                    &policy,
                                    from,
                                    &accepted.request,
                                    Some(file.len() as u64),
                                    now,
                                ),
                                file.clone(),
                            ),
                            None => Endpoint::new(
                                server_addr,
                                Transfer::server_refuse(
                                    from,
                                    tftp_proto::transfer::LocalError::NotFound,
                                    "File not found",
                                    now,
                                ),
                                Vec::new(),
                            ),
                        },
                        RequestKind::Write => Endpoint::new(
                            server_addr,
                            Transfer::server_write(&policy, from, &accepted.request, now),
                            Vec::new(),
                        ),
                    };
                    self.servers.push(endpoint);
                    self.servers.last_mut().unwrap().drain(now, &mut out);
                }
                Err(Some(refusal)) => {
                    let mut server_addr = addr(SERVER);
                    server_addr.set_port(self.next_port);
                    self.next_port += 1;
                    self.servers
                        .push(Endpoint::new(server_addr, *refusal, Vec::new()));
                    self.servers.last_mut().unwrap().drain(now, &mut out);
                }
                Err(None) => {}
            }
        } else if let Some(server) = self.servers.iter_mut().find(|s| s.addr == to) {
            if !server.transfer.is_closed() {
                server.transfer.handle_datagram(now, from, bytes);
                server.drain(now, &mut out);
                if std::env::var_os("SIM_TRACE").is_some() {
                    eprintln!(
                        "           server timer {:?}",
                        server.transfer.poll_timeout()
                    );
                }
            }
        }
        self.flush(out);
    }

    fn inject_stray(&mut self) {
        let targets: Vec<SocketAddr> = std::iter::once(self.client.addr)
            .chain(
                self.servers
                    .iter()
                    .filter(|s| !s.transfer.is_closed())
                    .map(|s| s.addr),
            )
            .collect();
        let to = targets[self.rng.below(targets.len() as u64) as usize];
        let block = self.rng.below(4) as u16;
        let bytes = match self.rng.below(3) {
            0 => vec![0, 4, 0, block as u8],
            1 => vec![0, 3, 0, block as u8, 1, 2, 3],
            _ => vec![0, 5, 0, 1, b'x', 0],
        };
        let now = self.now;
        self.seq += 1;
        self.in_flight.insert(
            (now + self.faults.delay, self.seq),
            (addr(STRAY), to, bytes),
        );
    }

    /// Run until every machine is closed, or `limit` of virtual time passes.
    pub fn run(mut self, limit: Duration) -> Outcome {
        let mut out = Vec::new();
        self.client.drain(self.now, &mut out);
        self.flush(out);
        let deadline = Instant::ZERO + limit;
        loop {
            let all_closed = self.client.transfer.is_closed()
                && self.servers.iter().all(|s| s.transfer.is_closed());
            if all_closed && self.in_flight.is_empty() && self.next_client_read().is_none() {
                break;
            }
            let mut next = self.in_flight.keys().next().map(|k| k.0);
            let timers = std::iter::once(&self.client)
                .chain(self.servers.iter())
                .filter_map(|e| e.transfer.poll_timeout());
            for t in timers.chain(self.next_client_read()) {
                next = Some(next.map_or(t, |n: Instant| n.min(t)));
            }
            let Some(next) = next else { break };
            assert!(next <= deadline, "scenario did not end within {limit:?}");
            self.now = self.now.max(next);
            if self.next_client_read().is_some_and(|t| t <= self.now) {
                let socket = self.client_socket.as_mut().unwrap();
                let (from, bytes) = socket.queue.pop_front().unwrap();
                socket.queued -= charge(&bytes);
                socket.busy_until = self.now + socket.read;
                let to = self.client.addr;
                self.deliver(from, to, &bytes);
                continue;
            }
            if let Some((&key, _)) = self.in_flight.iter().next() {
                if key.0 <= self.now {
                    let (from, to, bytes) = self.in_flight.remove(&key).unwrap();
                    if to == self.client.addr && self.client_socket.is_some() {
                        self.enqueue_for_client(from, bytes);
                        continue;
                    }
                    self.deliver(from, to, &bytes);
                    if self.faults.stray_percent > 0 && self.rng.chance(self.faults.stray_percent) {
                        self.inject_stray();
                    }
                    continue;
                }
            }
            let now = self.now;
            let mut out = Vec::new();
            for e in std::iter::once(&mut self.client).chain(self.servers.iter_mut()) {
                if e.transfer.poll_timeout().is_some_and(|t| t <= now) {
                    if std::env::var_os("SIM_TRACE").is_some() {
                        eprintln!("{:>10} timeout at {}", now.as_micros(), e.addr);
                    }
                    e.transfer.handle_timeout(now);
                    e.drain(now, &mut out);
                }
            }
            self.flush(out);
        }
        let client_sends_data = self.client.data_sends;
        let server_sends: u64 = self.servers.iter().map(|s| s.data_sends).sum();
        Outcome {
            client: self.client.outcome,
            client_received: self.client.sink,
            data_sends: client_sends_data + server_sends,
            servers: self
                .servers
                .into_iter()
                .map(|s| (s.outcome, s.sink))
                .collect(),
            elapsed: self.now - Instant::ZERO,
            stray_errors: self.stray_errors_received,
        }
    }
}
