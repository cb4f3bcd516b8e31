//! A TFTP server: one socket takes requests, each accepted transfer runs on
//! its own thread with its own ephemeral socket (its transfer ID, RFC 1350
//! §4) or, for a single-port server, on the request socket itself, fed by
//! the request loop with the datagrams from its peer.
//!
//! A request from a peer whose transfer runs is held, and the transfer's
//! queue (its socket, or its inbox) is marked behind it: when the transfer
//! reaches the mark, it has taken everything that came before the request,
//! and `ferry-service` judges whether the request repeats the running
//! transfer's or is a new one (a client that asks again right after the
//! last ACK). A transfer that ends first takes the held request along and
//! admits it.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use ferry_service::pace::RateLimit;
use ferry_service::tftp::{
    bind_request_socket, Acceptor, Admission, Buffering, FileEnd, Outcome, Repeat, Report, Running,
    Start, RECV_BUFFER,
};
pub use ferry_service::tftp::{ServerConfig, DEFAULT_MAX_TRANSFERS};
pub use ferry_service::ServerError;
use tftp_proto::transfer::Transfer;

use super::drive::{
    drive, nothing_received, wake_addr, Buffers, Inbound, OwnSocket, Received, Routed, Stop, Wire,
};
use crate::clock;

/// How often the request loop looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

/// How long a stopping server waits for its transfers to wind down.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// A thread per transfer affords large file buffers: fewer, larger reads
/// than one per block, and write-behind for uploads.
const BUFFERING: Buffering = Buffering {
    read_ahead: 256 * 1024,
    window_read_ahead: 256 * 1024,
    write_behind: 256 * 1024,
};

/// Datagrams a single-port transfer may have waiting; more are dropped,
/// as a full socket buffer would.
const INBOX: usize = 256;

/// A bound TFTP server. Call [`Server::run`] or [`Server::run_until`].
pub struct Server {
    shared: Arc<Shared>,
}

/// What the request loop and every transfer thread need.
struct Shared {
    socket: UdpSocket,
    local_addr: SocketAddr,
    single_port: bool,
    acceptor: Acceptor,
    /// Peers with a transfer running: their count is the load, and a
    /// repeated request from one of them (a client resending its RRQ or WRQ
    /// before our first answer reached it) must not start a second
    /// transfer.
    active: Mutex<HashMap<SocketAddr, Active>>,
    stop: AtomicBool,
    /// Each transfer's rate limit.
    rate_limit: Option<RateLimit>,
}

/// A running transfer, as the request loop sees it.
struct Active {
    /// How the request loop reaches the transfer's thread: on a
    /// single-port server its inbox, otherwise its own socket.
    way: Way,
    /// The latest request from the peer while the transfer runs, with its
    /// number, waiting for the transfer to reach that number's mark.
    held: Option<(u64, Vec<u8>)>,
    /// Requests held so far.
    asked: u64,
}

enum Way {
    Inbox(SyncSender<Inbound>),
    /// The transfer's socket, and the address that marks it (the
    /// socket's own: a mark is sent from the socket to itself, so it
    /// queues behind every datagram already waiting there).
    Own(Arc<UdpSocket>, SocketAddr),
}

/// Stops a running [`Server`] from another thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Ask the server to stop: no new transfers; running ones are aborted
    /// with an ERROR and partial uploads discarded.
    pub fn shutdown(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

impl Server {
    /// Open the root and bind the request socket.
    pub fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        let acceptor = Acceptor::open(&config, BUFFERING)?;
        let (socket, local_addr) = bind_request_socket(&config)?;
        Ok(Server {
            shared: Arc::new(Shared {
                socket,
                local_addr,
                single_port: config.single_port,
                rate_limit: config.rate_limit,
                acceptor,
                active: Mutex::new(HashMap::new()),
                stop: AtomicBool::new(false),
            }),
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// A handle that stops [`Server::run`] from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Transfers running right now.
    pub fn active_transfers(&self) -> usize {
        self.shared.count()
    }

    /// Serve until a [`ShutdownHandle`] says stop.
    pub fn run(&self) -> io::Result<()> {
        self.run_until(&AtomicBool::new(false))
    }

    /// Serve until `stop` (or a [`ShutdownHandle`]) is set, then abort the
    /// running transfers and wait (a bounded time) for them to end.
    pub fn run_until(&self, stop: &AtomicBool) -> io::Result<()> {
        let shared = &self.shared;
        shared.socket.set_read_timeout(Some(STOP_POLL))?;
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            if stop.load(Ordering::Relaxed) || shared.stop.load(Ordering::Relaxed) {
                break;
            }
            let (len, peer) = match shared.socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(err) if nothing_received(&err) => continue,
                Err(err) => return Err(err),
            };
            handle_datagram(shared, peer, &buf[..len]);
        }
        shared.stop.store(true, Ordering::Relaxed);
        let waited = Instant::now();
        while shared.count() > 0 && waited.elapsed() < DRAIN_LIMIT {
            thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

/// A datagram to the request socket: a request, or (single-port) one for
/// a running transfer.
fn handle_datagram(shared: &Arc<Shared>, peer: SocketAddr, bytes: &[u8]) {
    // A second round only if the peer's transfer ended between the two
    // looks at it.
    for _ in 0..2 {
        match shared.acceptor.admit(peer, bytes, clock::now(), &**shared) {
            Admission::Start(start) => {
                let (file, op) = (start.label.file.clone(), start.label.op);
                if let Err(err) = spawn_transfer(shared, *start) {
                    tracing::warn!(%peer, file = %file, op, error = %err, "tftp transfer not started");
                }
            }
            // Sent right here from the request socket: a refusal needs no
            // thread and no transfer ID of its own.
            Admission::Refuse(refusal) => refusal.send(&shared.socket),
            Admission::Repeated if !shared.hold(peer, bytes) => continue,
            Admission::Repeated => {}
            Admission::NotARequest if shared.single_port => shared.route(peer, bytes),
            Admission::NotARequest => {}
        }
        return;
    }
}

fn spawn_transfer(shared: &Arc<Shared>, start: Start) -> io::Result<()> {
    let Start {
        label,
        mut transfer,
        mut local,
        socket,
    } = start;
    let peer = label.peer;
    let (way, wire) = match socket {
        None => {
            let (sender, inbox) = mpsc::sync_channel(INBOX);
            (Way::Inbox(sender), TransferWire::Routed(inbox))
        }
        Some(socket) => {
            let socket = Arc::new(socket);
            let wake = wake_addr(&socket)?;
            let way = Way::Own(Arc::clone(&socket), wake);
            (way, TransferWire::Own(socket, wake))
        }
    };
    let guard = ActiveGuard::enter(Arc::clone(shared), peer, way);
    let spawned = thread::Builder::new()
        .name(format!("tftp {peer}"))
        .spawn(move || {
            let mut guard = guard;
            let shared = &guard.shared;
            let mut buffers = Buffers::new();
            let stop = Some(Stop {
                flag: &shared.stop,
                message: "server shutting down",
            });
            let report = match wire {
                TransferWire::Own(socket, wake) => {
                    let wire = OwnSocket::marked(&socket, wake, &**shared);
                    drive_marked(
                        wire,
                        shared,
                        peer,
                        &mut transfer,
                        &mut local,
                        &mut buffers,
                        stop,
                    )
                }
                TransferWire::Routed(inbox) => {
                    let wire = Routed {
                        socket: &shared.socket,
                        inbox,
                    };
                    drive_marked(
                        wire,
                        shared,
                        peer,
                        &mut transfer,
                        &mut local,
                        &mut buffers,
                        stop,
                    )
                }
            };
            label.log_end(report, local.bytes());
            // A request still held is judged against an ended transfer:
            // a new one (unless the server is stopping).
            if let Some(request) = guard.leave() {
                if !guard.shared.stop.load(Ordering::Relaxed) {
                    handle_datagram(&guard.shared, peer, &request);
                }
            }
        });
    spawned.map(drop)
}

/// Runs a transfer over `wire`, judging its peer's held request at the mark.
fn drive_marked<W: Wire>(
    wire: W,
    shared: &Shared,
    peer: SocketAddr,
    transfer: &mut Transfer,
    local: &mut FileEnd,
    buffers: &mut Buffers,
    stop: Option<Stop<'_>>,
) -> io::Result<Report> {
    let limit = shared.rate_limit;
    let mut marked = Marked { wire, shared, peer };
    drive(&mut marked, transfer, local, buffers, stop, limit)
}

/// How a transfer thread reaches its peer.
enum TransferWire {
    /// Its own socket, and the address its marks come from.
    Own(Arc<UdpSocket>, SocketAddr),
    /// The shared request socket, and what the request loop hands on.
    Routed(mpsc::Receiver<Inbound>),
}

/// A server transfer's wire: it judges the peer's held request once the
/// transfer has caught up to its mark.
struct Marked<'a, W> {
    wire: W,
    shared: &'a Shared,
    peer: SocketAddr,
}

impl<W: Wire> Wire for Marked<'_, W> {
    fn socket(&self) -> &UdpSocket {
        self.wire.socket()
    }

    fn recv(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<Received> {
        self.wire.recv(buf, wait)
    }

    fn caught_up(&mut self, n: u64, outcome: &Outcome) -> bool {
        let mut peers = self.shared.peers();
        let Some(active) = peers.get_mut(&self.peer) else {
            return false;
        };
        // Only the latest request's mark judges it: an earlier mark may
        // come before a datagram that reached the server before that
        // request.
        if !matches!(active.held, Some((held, _)) if held == n) {
            return false;
        }
        match Repeat::judge(self.peer, Some(outcome)) {
            Repeat::Duplicate => {
                active.held = None;
                false
            }
            // End the transfer; its thread then admits the request.
            Repeat::New => true,
        }
    }
}

impl Shared {
    fn peers(&self) -> MutexGuard<'_, HashMap<SocketAddr, Active>> {
        // The map stays consistent even if a holder panicked.
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Single-port: hand a datagram from a peer with a running transfer to
    /// that transfer.
    fn route(&self, peer: SocketAddr, datagram: &[u8]) {
        if let Some(Active {
            way: Way::Inbox(inbox),
            ..
        }) = self.peers().get(&peer)
        {
            match inbox.try_send(Inbound::Datagram(datagram.to_vec(), peer)) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                Err(TrySendError::Full(_)) => {
                    tracing::debug!(%peer, "tftp transfer inbox full, datagram dropped");
                }
            }
        }
    }

    /// A request from `peer`, whose transfer runs: hold it and mark the
    /// transfer's queue behind everything that reached the server before
    /// it (single-port: its inbox, which has all of it; otherwise its own
    /// socket). The transfer's thread judges the request at the mark
    /// ([`Marked::caught_up`]) or, if it ends first, when it ends. False
    /// if the transfer has ended already.
    fn hold(&self, peer: SocketAddr, request: &[u8]) -> bool {
        let mut peers = self.peers();
        let Some(active) = peers.get_mut(&peer) else {
            return false;
        };
        active.asked += 1;
        let n = active.asked;
        let marked = match &active.way {
            // Disconnected: the transfer has ended, and its thread takes
            // the request when it leaves the map.
            Way::Inbox(inbox) => !matches!(
                inbox.try_send(Inbound::CaughtUp(n)),
                Err(TrySendError::Full(_))
            ),
            Way::Own(socket, wake) => socket.send_to(&n.to_be_bytes(), *wake).is_ok(),
        };
        // Unmarked, it would wait for the transfer's end and then start a
        // second transfer even if it was a repeat: drop it instead (a
        // client resends).
        active.held = marked.then(|| (n, request.to_vec()));
        true
    }
}

impl Running for Shared {
    fn has_peer(&self, peer: SocketAddr) -> bool {
        self.peers().contains_key(&peer)
    }

    fn count(&self) -> usize {
        self.peers().len()
    }

    fn count_from(&self, ip: std::net::IpAddr) -> usize {
        self.peers().keys().filter(|peer| peer.ip() == ip).count()
    }
}

/// Keeps the map of running transfers right however a thread ends.
struct ActiveGuard {
    shared: Arc<Shared>,
    peer: SocketAddr,
    left: bool,
}

impl ActiveGuard {
    fn enter(shared: Arc<Shared>, peer: SocketAddr, way: Way) -> Self {
        let active = Active {
            way,
            held: None,
            asked: 0,
        };
        shared.peers().insert(peer, active);
        ActiveGuard {
            shared,
            peer,
            left: false,
        }
    }

    /// The transfer has ended: leave the map, with the request held for
    /// its peer, if there is one.
    fn leave(&mut self) -> Option<Vec<u8>> {
        self.left = true;
        let active = self.shared.peers().remove(&self.peer)?;
        active.held.map(|(_, request)| request)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if !self.left {
            self.shared.peers().remove(&self.peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recv(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
        let mut buf = vec![0u8; 65536];
        let (len, from) = socket.recv_from(&mut buf).expect("a datagram");
        buf.truncate(len);
        (buf, from)
    }

    /// Single-port: the upload runs on the request socket; a shutdown
    /// tells the client from there and leaves no file behind.
    #[test]
    fn single_port_shutdown_aborts_from_the_listening_port() {
        let root = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(root.path(), "127.0.0.1:0".parse().unwrap());
        config.policy.allow_write = true;
        config.single_port = true;
        let server = Arc::new(Server::bind(config).unwrap());
        let addr = server.local_addr();
        let running = {
            let server = Arc::clone(&server);
            thread::spawn(move || server.run().unwrap())
        };

        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client
            .send_to(b"\x00\x02partial\x00octet\x00", addr)
            .unwrap();
        assert_eq!(recv(&client), (vec![0, 4, 0, 0], addr));
        let mut block = vec![0, 3, 0, 1];
        block.extend_from_slice(&[7; 512]);
        client.send_to(&block, addr).unwrap();
        assert_eq!(recv(&client), (vec![0, 4, 0, 1], addr));
        // A repeated request goes nowhere: the transfer runs on.
        client
            .send_to(b"\x00\x02partial\x00octet\x00", addr)
            .unwrap();
        client.send_to(&block, addr).unwrap();
        assert_eq!(recv(&client), (vec![0, 4, 0, 1], addr));
        assert_eq!(server.active_transfers(), 1);

        server.shutdown_handle().shutdown();
        // Until then the server may resend ACK 1 (its timer runs).
        let bye = loop {
            let (packet, from) = recv(&client);
            assert_eq!(from, addr);
            if packet != [0, 4, 0, 1] {
                break packet;
            }
        };
        assert_eq!(&bye[..4], &[0, 5, 0, 0]);
        assert_eq!(&bye[4..], b"server shutting down\0");
        running.join().unwrap();
        assert_eq!(server.active_transfers(), 0);
        let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert!(left.is_empty(), "the partial upload was kept: {left:?}");
    }
}
