//! An FTP server: one thread per control connection, and one more per
//! transfer while it runs, so that the control connection still answers
//! ABOR, STAT and QUIT mid-transfer.
//!
//! Every protocol decision is the session machine's
//! ([`ftp_proto::server::Session`]); this module moves bytes, performs the
//! machine's requests against the served [`Store`] (a directory or a
//! bucket) and reports back.
//!
//! ```no_run
//! use ferry_blocking::ftp::server::{Server, ServerConfig};
//!
//! let config = ServerConfig::new("/srv/ftp", "127.0.0.1:2121".parse().unwrap());
//! let server = Server::bind(config)?;
//! eprintln!("ftp listening on {}", server.local_addr());
//! server.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! FTPS (RFC 4217) comes with a certificate in [`ServerConfig::tls`]:
//! `AUTH TLS` on the control port and, with [`ServerConfig::ftps_bind`],
//! a second listener that is TLS from the first byte (implicit FTPS,
//! conventionally port 990; see [`Server::ftps_addr`]). Both listeners
//! share the session limit.

mod control;
mod data;
mod secure;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ferry_service::ftp::{
    control_listener, PassivePorts, SessionLimits, SessionLog, SessionSlot, ACCEPT_BACKOFF,
    CONNECT_TIMEOUT,
};
pub use ferry_service::ftp::{ServerConfig, DEFAULT_MAX_SESSIONS};
pub use ferry_service::ServerError;
use ferry_service::Store;
use rustix::event::{PollFd, PollFlags};

/// How often the accept loop looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

/// How long a stopping server waits for its sessions to wind down. A
/// stopped transfer ends at once unless it is blocked where a stop cannot
/// reach it (an active-mode connect, at most [`CONNECT_TIMEOUT`]), and
/// a session waits for its transfer so that a discarded upload's temporary
/// file is gone before the process exits.
const DRAIN_LIMIT: Duration = Duration::from_secs(15);
const _: () = assert!(DRAIN_LIMIT.as_secs() > CONNECT_TIMEOUT.as_secs());

/// Stack of a session or transfer thread: buffers live on the heap, but
/// MODE Z's compressor builds its tables (about 200 KiB) on the stack
/// before boxing them in unoptimised builds. Untouched stack pages cost
/// no memory.
const THREAD_STACK: usize = 1024 * 1024;

/// A bound FTP server. Call [`Server::run`] or [`Server::run_until`].
pub struct Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    /// The implicit-TLS listener and its address, when one is configured.
    implicit: Option<(TcpListener, SocketAddr)>,
    shared: Arc<Shared>,
}

/// What every session thread shares.
pub(crate) struct Shared {
    pub(crate) root: Store,
    pub(crate) config: ServerConfig,
    /// Control connections being served.
    sessions: AtomicUsize,
    /// Their count per client address, against the limits.
    limits: Arc<SessionLimits>,
    /// Readable (at end of file) once the server is stopping: every session
    /// polls it beside its control connection, so one close wakes them all.
    pub(crate) stopping: UnixStream,
    /// Dropped to make [`stopping`](Self::stopping) readable.
    stop_signal: Mutex<Option<UnixStream>>,
    stop: AtomicBool,
    /// Where passive listeners are bound.
    pub(crate) passive: PassivePorts,
    /// Password checks allowed at once.
    pub(crate) password_checks: Slots,
}

/// A counting semaphore: at most N holders at once, the rest wait.
pub(crate) struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    fn new(count: usize) -> Slots {
        Slots {
            free: Mutex::new(count.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free slot; it is given back when the guard drops.
    pub(crate) fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

/// A slot of [`Slots`], held until dropped.
pub(crate) struct Slot<'a>(&'a Slots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

impl Shared {
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(
            self.stop_signal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(),
        );
    }
}

/// Stops a running [`Server`] from another thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Ask the server to stop: no new sessions; each session is told 421
    /// (after its running transfer's 426) and closed; partial uploads are
    /// discarded.
    pub fn shutdown(&self) {
        self.shared.stop();
    }
}

impl Server {
    /// Open the root and bind the control listener.
    pub fn bind(mut config: ServerConfig) -> Result<Server, ServerError> {
        let root = config.open_store()?;
        let listener =
            control_listener(config.bind, config.inherited.as_ref()).map_err(|source| {
                ServerError::Bind {
                    addr: config.bind,
                    source,
                }
            })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
        let implicit = match config.ftps_bind {
            Some(addr) if config.tls.is_none() => {
                let source = io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an implicit-TLS listener needs a certificate",
                );
                return Err(ServerError::Bind { addr, source });
            }
            Some(addr) => {
                let bind_error = |source| ServerError::Bind { addr, source };
                let listener =
                    control_listener(addr, config.ftps_inherited.as_ref()).map_err(bind_error)?;
                let local = listener.local_addr().map_err(bind_error)?;
                Some((listener, local))
            }
            None => None,
        };
        config.settle();
        let passive = PassivePorts::new(config.passive_ports.clone());
        let limits = SessionLimits::new(config.max_sessions, config.max_per_ip);
        let (stopping, signal) = UnixStream::pair().map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
        Ok(Server {
            listener,
            local_addr,
            implicit,
            shared: Arc::new(Shared {
                root,
                config,
                sessions: AtomicUsize::new(0),
                limits,
                stopping,
                stop_signal: Mutex::new(Some(signal)),
                stop: AtomicBool::new(false),
                passive,
                // One argon2 check per core: more would only queue for
                // the CPU while each holds its memory.
                password_checks: Slots::new(thread::available_parallelism().map_or(2, |n| n.get())),
            }),
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The implicit-TLS listener's address (FTPS from the first byte),
    /// bound when [`ServerConfig::ftps_bind`] is set: the real port when 0
    /// was asked for. `None` without one.
    pub fn ftps_addr(&self) -> Option<SocketAddr> {
        self.implicit.as_ref().map(|(_, addr)| *addr)
    }

    /// A handle that stops this server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Serve until the process ends.
    pub fn run(&self) -> io::Result<()> {
        self.run_until(&AtomicBool::new(false))
    }

    /// Serve until `stop` is set or [`ShutdownHandle::shutdown`] is called,
    /// then end every session (421) and wait briefly for them to close.
    pub fn run_until(&self, stop: &AtomicBool) -> io::Result<()> {
        self.listener.set_nonblocking(true)?;
        if let Some((listener, _)) = &self.implicit {
            listener.set_nonblocking(true)?;
        }
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: STOP_POLL.as_nanos() as _,
        };
        while !stop.load(Ordering::Relaxed) && !self.shared.stop.load(Ordering::Relaxed) {
            let (plain, implicit) = {
                let mut fds = [
                    PollFd::new(&self.listener, PollFlags::IN),
                    match &self.implicit {
                        Some((listener, _)) => PollFd::new(listener, PollFlags::IN),
                        // No second listener: the first again, for nothing.
                        None => PollFd::new(&self.listener, PollFlags::empty()),
                    },
                ];
                match rustix::event::poll(&mut fds, Some(&timeout)) {
                    Ok(_) => {}
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(err) => return Err(err.into()),
                }
                (
                    !fds[0].revents().is_empty(),
                    self.implicit.is_some() && !fds[1].revents().is_empty(),
                )
            };
            if plain {
                self.accept_all(&self.listener, false);
            }
            if let (true, Some((listener, _))) = (implicit, &self.implicit) {
                self.accept_all(listener, true);
            }
        }
        self.shared.stop();
        let deadline = Instant::now() + DRAIN_LIMIT;
        while self.shared.sessions.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Takes every connection queued on `listener`; `implicit`: the
    /// implicit-TLS one.
    fn accept_all(&self, listener: &TcpListener, implicit: bool) {
        loop {
            match listener.accept() {
                Ok((stream, peer)) => self.admit(stream, peer, implicit),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // Out of descriptors, say: the connection stays queued
                // and poll would report it at once, so pause before
                // trying again rather than spin.
                Err(err) => {
                    SessionLog::accept_failed(&err);
                    thread::sleep(ACCEPT_BACKOFF);
                    break;
                }
            }
        }
    }

    fn admit(&self, stream: TcpStream, peer: SocketAddr, implicit: bool) {
        let shared = &self.shared;
        let running = shared.sessions.load(Ordering::Acquire);
        let slot = match shared.limits.admit(running, peer) {
            Ok(slot) => slot,
            Err(refusal) => {
                if !implicit {
                    // A fresh socket's send buffer takes one short line
                    // without blocking; never let a refusal stall the
                    // accept loop.
                    let _ = stream.set_nonblocking(true);
                    let _ = (&stream).write_all(refusal);
                }
                // On the implicit port a clear 421 would read as garbage
                // to a client expecting a TLS handshake: it is just closed.
                return;
            }
        };
        shared.sessions.fetch_add(1, Ordering::AcqRel);
        let guard = SessionCount {
            shared: Arc::clone(shared),
            _slot: slot,
        };
        let spawned = thread::Builder::new()
            .name("ftp-session".into())
            .stack_size(THREAD_STACK)
            .spawn(move || {
                let guard = guard;
                control::serve(stream, peer, &guard.shared, implicit);
            });
        if let Err(err) = spawned {
            tracing::warn!(%peer, error = %err, "cannot start an ftp session thread");
        }
    }
}

/// Counts a session for as long as its thread runs.
struct SessionCount {
    shared: Arc<Shared>,
    /// Its address's count, given back with it.
    _slot: SessionSlot,
}

impl Drop for SessionCount {
    fn drop(&mut self) {
        self.shared.sessions.fetch_sub(1, Ordering::AcqRel);
    }
}
