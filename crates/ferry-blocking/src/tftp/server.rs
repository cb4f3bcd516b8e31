//! A TFTP server: one socket takes requests, each accepted transfer runs on
//! its own thread with its own ephemeral socket (its transfer ID, RFC 1350
//! §4) or, for a single-port server, on the request socket itself, fed by
//! the request loop with the datagrams from its peer.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ferry_service::tftp::{
    bind_request_socket, transfer_socket, Acceptor, Admission, Buffering, Running, Start,
    RECV_BUFFER,
};
pub use ferry_service::tftp::{ServerConfig, DEFAULT_MAX_TRANSFERS};
pub use ferry_service::ServerError;

use super::drive::{drive, nothing_received, Buffers, Datagram, OwnSocket, Routed, Stop};
use crate::clock;

/// How often the request loop looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

/// How long a stopping server waits for its transfers to wind down.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// A thread per transfer affords large file buffers: fewer, larger reads
/// than one per block, and write-behind for uploads.
const BUFFERING: Buffering = Buffering {
    read_ahead: 256 * 1024,
    write_behind: 256 * 1024,
};

/// Datagrams a single-port transfer may have waiting; more are dropped,
/// as a full socket buffer would.
const INBOX: usize = 256;

/// A bound TFTP server. Call [`Server::run`] or [`Server::run_until`].
pub struct Server {
    socket: Arc<UdpSocket>,
    local_addr: SocketAddr,
    single_port: bool,
    shared: Arc<Shared>,
}

/// What every transfer thread needs.
struct Shared {
    acceptor: Acceptor,
    /// Peers with a transfer running: their count is the load, and a
    /// repeated request from one of them (a client resending its RRQ or WRQ
    /// before our first answer reached it) must not start a second
    /// transfer. On a single-port server each holds the way to its
    /// transfer's thread.
    active: Mutex<HashMap<SocketAddr, Option<SyncSender<Datagram>>>>,
    stop: AtomicBool,
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
            socket: Arc::new(socket),
            local_addr,
            single_port: config.single_port,
            shared: Arc::new(Shared {
                acceptor,
                active: Mutex::new(HashMap::new()),
                stop: AtomicBool::new(false),
            }),
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
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
        self.socket.set_read_timeout(Some(STOP_POLL))?;
        let mut buf = vec![0u8; RECV_BUFFER];
        loop {
            if stop.load(Ordering::Relaxed) || self.shared.stop.load(Ordering::Relaxed) {
                break;
            }
            let (len, peer) = match self.socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(err) if nothing_received(&err) => continue,
                Err(err) => return Err(err),
            };
            self.handle_datagram(peer, &buf[..len]);
        }
        self.shared.stop.store(true, Ordering::Relaxed);
        let waited = Instant::now();
        while self.shared.count() > 0 && waited.elapsed() < DRAIN_LIMIT {
            thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Single-port: hand a datagram from a peer with a running transfer to
    /// that transfer.
    fn route(&self, peer: SocketAddr, datagram: &[u8]) {
        if let Some(Some(inbox)) = self.shared.peers().get(&peer) {
            match inbox.try_send((datagram.to_vec(), peer)) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                Err(TrySendError::Full(_)) => {
                    tracing::debug!(%peer, "tftp transfer inbox full, datagram dropped");
                }
            }
        }
    }

    fn handle_datagram(&self, peer: SocketAddr, bytes: &[u8]) {
        match self
            .shared
            .acceptor
            .admit(peer, bytes, clock::now(), &*self.shared)
        {
            Admission::Start(start) => {
                let (file, op) = (start.label.file.clone(), start.label.op);
                if let Err(err) = self.spawn_transfer(*start) {
                    tracing::warn!(%peer, file = %file, op, error = %err, "tftp transfer not started");
                }
            }
            // Sent right here from the request socket: a refusal needs no
            // thread and no transfer ID of its own.
            Admission::Refuse(refusal) => refusal.send(&*self.socket),
            Admission::Repeated => {}
            Admission::NotARequest if self.single_port => self.route(peer, bytes),
            Admission::NotARequest => {}
        }
    }

    fn spawn_transfer(&self, start: Start) -> io::Result<()> {
        let Start {
            label,
            mut transfer,
            mut local,
        } = start;
        let peer = label.peer;
        let wire = if self.single_port {
            let (sender, inbox) = mpsc::sync_channel(INBOX);
            let guard = ActiveGuard::enter(Arc::clone(&self.shared), peer, Some(sender));
            let socket = Arc::clone(&self.socket);
            (guard, TransferWire::Routed(socket, inbox))
        } else {
            let socket = transfer_socket(self.local_addr)?;
            let guard = ActiveGuard::enter(Arc::clone(&self.shared), peer, None);
            (guard, TransferWire::Own(socket))
        };
        let shared = Arc::clone(&self.shared);
        let spawned = thread::Builder::new()
            .name(format!("tftp {peer}"))
            .spawn(move || {
                let (_guard, wire) = wire;
                let mut buffers = Buffers::new();
                let stop = Some(Stop {
                    flag: &shared.stop,
                    message: "server shutting down",
                });
                let report = match wire {
                    TransferWire::Own(socket) => drive(
                        &mut OwnSocket::new(&socket),
                        &mut transfer,
                        &mut local,
                        &mut buffers,
                        stop,
                    ),
                    TransferWire::Routed(socket, inbox) => drive(
                        &mut Routed {
                            socket: &socket,
                            inbox,
                        },
                        &mut transfer,
                        &mut local,
                        &mut buffers,
                        stop,
                    ),
                };
                label.log_end(report, local.bytes());
            });
        spawned.map(drop)
    }
}

/// How a transfer thread reaches its peer.
enum TransferWire {
    /// Its own socket.
    Own(UdpSocket),
    /// The shared request socket, and what the request loop hands on.
    Routed(Arc<UdpSocket>, mpsc::Receiver<Datagram>),
}

impl Shared {
    fn peers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Option<SyncSender<Datagram>>>> {
        // The map stays consistent even if a holder panicked.
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Running for Shared {
    fn has_peer(&self, peer: SocketAddr) -> bool {
        self.peers().contains_key(&peer)
    }

    fn count(&self) -> usize {
        self.peers().len()
    }
}

/// Keeps the map of running transfers right however a thread ends.
struct ActiveGuard {
    shared: Arc<Shared>,
    peer: SocketAddr,
}

impl ActiveGuard {
    fn enter(shared: Arc<Shared>, peer: SocketAddr, inbox: Option<SyncSender<Datagram>>) -> Self {
        shared.peers().insert(peer, inbox);
        ActiveGuard { shared, peer }
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.shared.peers().remove(&self.peer);
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
