//! The TFTP server in the loop.
//!
//! One request socket, and per accepted transfer a non-blocking socket of
//! its own (its transfer ID, RFC 1350 §4: an ephemeral port on the request
//! socket's address), registered under the transfer's slab index. A
//! single-port server has no transfer sockets: every datagram comes to the
//! request socket and goes to the transfer of the peer that sent it, and
//! every answer leaves by it.
//!
//! The machines are `tftp-proto`'s and what happens to their events is
//! `ferry-service`'s ([`Acceptor::admit`], [`Outcome::pump`]): this module
//! only reads datagrams until the socket is drained (the loop is
//! edge-triggered), hands them to the machine, and keeps each machine's
//! next deadline in the loop's timer heap. File work is bounded by the
//! machine: one block, or one window, read or written per input. While
//! only one transfer runs, its drained socket is polled for up to 200
//! microseconds before the loop sleeps ([`Spin`]): its peer's answer is
//! usually that close, and a sleep and wake-up cost more.
//!
//! What a transfer costs: its machine, a small read-ahead (up to one
//! window of at most 64 KiB for a windowed download) or write-behind,
//! and its socket. Receive, block and batch buffers are the loop's, one
//! each, shared by every transfer.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ferry_service::clock;
use ferry_service::pace::RateLimit;
use ferry_service::tftp::{
    bind_request_socket, recv_error_is_transient, Acceptor, Admission, Buffering, FileEnd, Label,
    Local, Outbox, Outcome, Repeat, Report, Running, ServerConfig, Spin, Start, RECV_BUFFER,
};
use ferry_service::ServerError;
use ferry_time::Instant;
use mio::net::UdpSocket;
use mio::{Interest, Registry};
use slab::Slab;
use tftp_proto::transfer::{LocalError, Transfer};

use crate::reactor::{token, Cx, Service, Tag};

/// The request socket's index; transfer `key` has index `key + 1`.
const REQUEST: usize = 0;

/// Small file buffers: thousands of transfers share the loop. 8 KiB of
/// read-ahead still saves most read calls for small blocks (large ones are
/// read directly). A windowed download reads a window at a time, up to
/// 64 KiB: at 8192 × 8 one read per window instead of one per block.
const BUFFERING: Buffering = Buffering {
    read_ahead: 8 * 1024,
    window_read_ahead: 64 * 1024,
    write_behind: 16 * 1024,
};

/// Datagrams taken from one socket per readiness event before the loop
/// serves others; the socket is then re-registered, which reports it
/// again if it still has datagrams.
const READ_BUDGET: usize = 128;

/// The first pause before the request socket is read again after it
/// failed; it doubles while the socket keeps failing, up to
/// [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The server's ERROR text for transfers ended by a shutdown.
const SHUTDOWN_MESSAGE: &str = "server shutting down";

pub(crate) struct Tftp {
    socket: UdpSocket,
    local_addr: SocketAddr,
    single_port: bool,
    acceptor: Acceptor,
    transfers: Slab<Entry>,
    /// The running transfers by peer: a repeated request from one of them
    /// starts nothing, and on a single-port server this routes datagrams.
    peers: HashMap<SocketAddr, usize>,
    /// Loop-wide buffers, used by one transfer at a time.
    recv: Vec<u8>,
    block: Vec<u8>,
    outbox: Outbox,
    stopping: bool,
    /// Each transfer's rate limit.
    rate_limit: Option<RateLimit>,
    /// After a failed read of the request socket: the pause before the
    /// next attempt (zero while reads succeed), and that attempt's
    /// deadline as armed in the loop's heap.
    retry: Duration,
    retry_armed: Option<Instant>,
    /// Polls a lone transfer's socket briefly before the loop sleeps.
    spin: Spin,
}

/// A running transfer.
struct Entry {
    transfer: Transfer,
    local: FileEnd,
    outcome: Outcome,
    label: Label,
    /// Its own socket; `None` on a single-port server.
    socket: Option<UdpSocket>,
    /// The earliest deadline armed in the loop's heap for it.
    armed: Option<Instant>,
}

/// The running transfers as admission sees them.
struct Peers<'a> {
    peers: &'a HashMap<SocketAddr, usize>,
}

impl Running for Peers<'_> {
    fn has_peer(&self, peer: SocketAddr) -> bool {
        self.peers.contains_key(&peer)
    }

    fn count(&self) -> usize {
        self.peers.len()
    }

    fn count_from(&self, ip: std::net::IpAddr) -> usize {
        self.peers.keys().filter(|peer| peer.ip() == ip).count()
    }
}

impl Tftp {
    pub(crate) fn bind(config: ServerConfig, registry: &Registry) -> Result<Tftp, ServerError> {
        if config.bucket.is_some() {
            // Every S3 request blocks for a network round trip, which the
            // loop must never do; moving them to the pool is not done yet.
            return Err(ServerError::Root {
                path: config.root.clone(),
                source: std::io::Error::other(
                    "the event-loop driver cannot serve an S3 bucket yet (use --driver blocking)",
                ),
            });
        }
        let acceptor = Acceptor::open(&config, BUFFERING)?;
        let (socket, local_addr) = bind_request_socket(&config)?;
        let bind_error = |source| ServerError::Bind {
            addr: config.bind,
            source,
        };
        socket.set_nonblocking(true).map_err(bind_error)?;
        let mut socket = UdpSocket::from_std(socket);
        registry
            .register(&mut socket, token(Tag::Tftp, REQUEST), Interest::READABLE)
            .map_err(bind_error)?;
        Ok(Tftp {
            socket,
            local_addr,
            single_port: config.single_port,
            acceptor,
            transfers: Slab::new(),
            peers: HashMap::new(),
            recv: vec![0; RECV_BUFFER],
            block: Vec::new(),
            outbox: Outbox::new(),
            stopping: false,
            rate_limit: config.rate_limit,
            retry: Duration::ZERO,
            retry_armed: None,
            spin: Spin::default(),
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Drain the request socket: requests, and on a single-port server
    /// every running transfer's datagrams.
    fn request_ready(&mut self, cx: &mut Cx<'_>) {
        for _ in 0..READ_BUDGET {
            if self.stopping {
                return;
            }
            let (len, peer) = match self.socket.recv_from(&mut self.recv) {
                Ok(got) => got,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if recv_error_is_transient(&err) => continue,
                Err(err) => return self.request_failed(cx, err),
            };
            self.retry = Duration::ZERO;
            let running = Peers { peers: &self.peers };
            match self
                .acceptor
                .admit(peer, &self.recv[..len], cx.now, &running)
            {
                Admission::Start(start) => self.start(cx, *start),
                Admission::Refuse(refusal) => refusal.send(&self.socket),
                Admission::Repeated => self.repeated(cx, peer, len),
                Admission::NotARequest if self.single_port => {
                    if let Some(&key) = self.peers.get(&peer) {
                        self.datagram(cx, key, peer, len);
                    }
                }
                Admission::NotARequest => {}
            }
        }
        self.more_later(cx, None);
    }

    /// Reading the request socket failed, and not for a reason known to
    /// lose nothing. The blocking driver's server ends on such an error;
    /// here the loop also runs the other server and every transfer, so
    /// the socket is kept and read again after a pause. It must be, on a
    /// timer: the loop is edge-triggered, so a socket left undrained is
    /// not reported again until another datagram arrives. The pause
    /// doubles while the socket keeps failing (a lasting error logs a few
    /// lines a second at first, then one every 5 s) and starts again
    /// after a successful read.
    fn request_failed(&mut self, cx: &mut Cx<'_>, err: io::Error) {
        self.retry = (self.retry * 2).clamp(RETRY_MIN, RETRY_MAX);
        let retry_ms = self.retry.as_millis() as u64;
        tracing::warn!(error = %err, retry_ms, "tftp request socket failed");
        let at = cx.now + self.retry;
        cx.timers
            .arm(token(Tag::Tftp, REQUEST), at, &mut self.retry_armed);
    }

    /// The request in the receive buffer (`len` bytes) came from `peer`,
    /// whose transfer runs. That transfer first takes what reached us
    /// before the request: on a single-port server it already has (the
    /// request socket is read in order); otherwise its own socket is
    /// drained now. Then [`Repeat::judge`] says whether the request is a
    /// new one, to admit again once the transfer is ended.
    fn repeated(&mut self, cx: &mut Cx<'_>, peer: SocketAddr, len: usize) {
        let request = self.recv[..len].to_vec();
        if let (false, Some(&key)) = (self.single_port, self.peers.get(&peer)) {
            self.transfer_ready(cx, key);
        }
        let key = self.peers.get(&peer).copied();
        let outcome = key
            .and_then(|key| self.transfers.get(key))
            .map(|entry| &entry.outcome);
        if Repeat::judge(peer, outcome) == Repeat::Duplicate {
            return;
        }
        if let Some(key) = key {
            self.close(cx, key, Ok(()));
        }
        let running = Peers { peers: &self.peers };
        match self.acceptor.admit(peer, &request, cx.now, &running) {
            Admission::Start(start) => self.start(cx, *start),
            Admission::Refuse(refusal) => refusal.send(&self.socket),
            Admission::Repeated | Admission::NotARequest => {}
        }
    }

    /// Drain transfer `key`'s own socket.
    fn transfer_ready(&mut self, cx: &mut Cx<'_>, key: usize) {
        for _ in 0..READ_BUDGET {
            let alone = self.transfers.len() == 1;
            let Some(entry) = self.transfers.get_mut(key) else {
                return;
            };
            let Some(socket) = &entry.socket else { return };
            let got = match socket.recv_from(&mut self.recv) {
                // The only transfer, just answered: its peer's next
                // datagram is likely microseconds away.
                Err(err) if err.kind() == io::ErrorKind::WouldBlock && alone => {
                    self.spin.poll(|| socket.recv_from(&mut self.recv))
                }
                got => got,
            };
            let (len, from) = match got {
                Ok(got) => got,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if recv_error_is_transient(&err) => continue,
                Err(err) => return self.close(cx, key, Err(err)),
            };
            self.datagram(cx, key, from, len);
        }
        self.more_later(cx, Some(key));
    }

    /// A socket still had datagrams when its budget ran out: re-register
    /// it, so the loop reports it again after serving the others.
    fn more_later(&mut self, cx: &mut Cx<'_>, key: Option<usize>) {
        let (socket, index) = match key {
            None => (&mut self.socket, REQUEST),
            Some(key) => match self.transfers.get_mut(key) {
                Some(Entry {
                    socket: Some(socket),
                    ..
                }) => (socket, key + 1),
                _ => return,
            },
        };
        let token = token(Tag::Tftp, index);
        if let Err(err) = cx.registry.reregister(socket, token, Interest::READABLE) {
            tracing::warn!(error = %err, "tftp socket cannot be re-registered");
        }
    }

    /// The datagram in the receive buffer (`len` bytes from `from`) is
    /// transfer `key`'s.
    fn datagram(&mut self, cx: &mut Cx<'_>, key: usize, from: SocketAddr, len: usize) {
        if let Some(entry) = self.transfers.get_mut(key) {
            entry
                .transfer
                .handle_datagram(clock::now(), from, &self.recv[..len]);
            self.settle(cx, key);
        }
    }

    /// Start an admitted transfer: its socket (unless single-port), its
    /// first answer, its first deadline.
    fn start(&mut self, cx: &mut Cx<'_>, start: Start) {
        let Start {
            label,
            transfer,
            local,
            socket,
        } = start;
        let slot = self.transfers.vacant_entry();
        let key = slot.key();
        let socket = match socket.map(|socket| own_socket(socket, cx.registry, key)) {
            None => None,
            Some(Ok(socket)) => Some(socket),
            Some(Err(err)) => {
                tracing::warn!(peer = %label.peer, file = %label.file, op = label.op, error = %err, "tftp transfer not started");
                return;
            }
        };
        self.peers.insert(label.peer, key);
        slot.insert(Entry {
            transfer,
            local,
            outcome: Outcome::paced(self.rate_limit, cx.now),
            label,
            socket,
            armed: None,
        });
        self.settle(cx, key);
    }

    /// After any input to transfer `key`: answer its events, send its
    /// datagrams, then close it or arm its next deadline.
    fn settle(&mut self, cx: &mut Cx<'_>, key: usize) {
        let Some(entry) = self.transfers.get_mut(key) else {
            return;
        };
        let socket = entry.socket.as_ref().unwrap_or(&self.socket);
        entry.outcome.pump(
            &mut entry.transfer,
            &mut entry.local,
            &mut self.block,
            &mut self.outbox,
            socket,
        );
        if entry.transfer.is_closed() {
            return self.close(cx, key, Ok(()));
        }
        match entry.transfer.poll_timeout() {
            Some(deadline) => {
                // Under a rate limit, the transfer goes on (its next block
                // read, or its ACK sent) at this timer, not before.
                let paced = entry.outcome.paced_until(cx.now);
                let at = paced.map_or(deadline, |paced| paced.min(deadline));
                cx.timers
                    .arm(token(Tag::Tftp, key + 1), at, &mut entry.armed)
            }
            None => self.close(cx, key, Ok(())),
        }
    }

    /// Transfer `key` is over (or its socket failed): log it and free it.
    fn close(&mut self, cx: &mut Cx<'_>, key: usize, socket: io::Result<()>) {
        let mut entry = self.transfers.remove(key);
        if self.peers.get(&entry.label.peer) == Some(&key) {
            self.peers.remove(&entry.label.peer);
        }
        if let Some(socket) = &mut entry.socket {
            if let Err(err) = cx.registry.deregister(socket) {
                tracing::debug!(error = %err, "tftp transfer socket deregister failed");
            }
        }
        let report: io::Result<Report> = match socket {
            Ok(()) => Ok(entry.outcome.finish(&mut entry.local)),
            Err(err) => {
                entry.local.discard();
                Err(err)
            }
        };
        entry.label.log_end(report, entry.local.bytes());
    }
}

/// Transfer `key`'s own socket, registered with the loop.
fn own_socket(
    socket: std::net::UdpSocket,
    registry: &Registry,
    key: usize,
) -> io::Result<UdpSocket> {
    socket.set_nonblocking(true)?;
    let mut socket = UdpSocket::from_std(socket);
    registry.register(&mut socket, token(Tag::Tftp, key + 1), Interest::READABLE)?;
    Ok(socket)
}

impl Service for Tftp {
    fn ready(&mut self, cx: &mut Cx<'_>, index: usize, event: &mio::event::Event) {
        if !event.is_readable() && !event.is_error() {
            return;
        }
        match index {
            REQUEST => self.request_ready(cx),
            index => self.transfer_ready(cx, index - 1),
        }
    }

    fn timer(&mut self, cx: &mut Cx<'_>, index: usize, at: Instant) {
        let Some(key) = index.checked_sub(1) else {
            // The request socket's retry after a failed read.
            if self.retry_armed == Some(at) {
                self.retry_armed = None;
                self.request_ready(cx);
            }
            return;
        };
        let Some(entry) = self.transfers.get_mut(key) else {
            return;
        };
        if entry.armed == Some(at) {
            entry.armed = None;
        }
        let now = clock::now();
        if entry.transfer.poll_timeout().is_some_and(|d| d <= now) {
            entry.transfer.handle_timeout(now);
        }
        self.settle(cx, key);
    }

    fn shutdown(&mut self, cx: &mut Cx<'_>) {
        self.stopping = true;
        let keys: Vec<usize> = self.transfers.iter().map(|(key, _)| key).collect();
        for key in keys {
            if let Some(entry) = self.transfers.get_mut(key) {
                entry
                    .transfer
                    .abort(cx.now, LocalError::Other, SHUTDOWN_MESSAGE);
                self.settle(cx, key);
            }
        }
    }

    fn is_idle(&self) -> bool {
        self.transfers.is_empty()
    }
}

#[cfg(test)]
mod tests;
