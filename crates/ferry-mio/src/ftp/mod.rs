//! The FTP server in the loop: the control listener, one
//! [`Session`](ftp_proto::server::Session) per control connection, their
//! passive listeners and data connections.
//!
//! Tokens: every socket's token index is its session's slab key shifted
//! left by two bits, with its [`Role`] in the low bits (control connection,
//! passive listener, data connection); the control listener is role
//! [`Role::Listener`] of key 0. A session has at most one socket of each
//! role, so no second table is needed. Timers use the control role's index.
//!
//! What may take long (argon2 password checks, the copy that starts an
//! APPE or REST+STOR upload, HASH) runs on a small [`pool`]; on a local
//! disk the rest (stat, listings, open, rename) is quick and runs in the
//! loop. On an object store every request is a network round trip, so
//! all of them run on the pool, and a transfer's file bytes move on a
//! relay thread of its own ([`ferry_service::relay`]), a few chunks ahead
//! of (or behind) the client, waking the loop when it may go on. Transfers move a
//! bounded amount per turn ([`transfer::BUDGET`]), then wait for readiness
//! or, with more to move, take the run queue: the loop's [`Waker`] brings
//! them back at the next turn, after everyone else's events.

mod conn;
mod pool;
mod tls;
mod transfer;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use ferry_service::ftp::{
    control_listener, PassivePorts, ServerConfig, SessionLimits, SessionLog, ACCEPT_BACKOFF,
};
use ferry_service::relay::Running;
use ferry_service::{Inherited, ServerError, Store};
use ferry_time::Instant;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token, Waker};
use slab::Slab;

use crate::reactor::{self, Cx, Service, Tag};
use conn::{Conn, Env};
use pool::{Done, Pool, Ticket};
use transfer::{Buffers, Relay};

/// The loop's buffer for control reads, shared by every session.
const SCRATCH: usize = 16 * 1024;

/// What a socket is to its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The control connection (and the session's timers).
    Control = 0,
    /// The passive listener of a transfer waiting for its data connection.
    Passive = 1,
    /// The data connection.
    Data = 2,
    /// The server's control listeners: key 0 the FTP port's, key 1 the
    /// implicit-TLS port's.
    Listener = 3,
}

const ROLE_BITS: usize = 2;

/// The loop token of session `key`'s socket in `role`.
fn token(key: usize, role: Role) -> Token {
    reactor::token(Tag::Ftp, key << ROLE_BITS | role as usize)
}

/// The session key and role a token index stands for.
fn split(index: usize) -> (usize, Role) {
    let role = match index & ((1 << ROLE_BITS) - 1) {
        0 => Role::Control,
        1 => Role::Passive,
        2 => Role::Data,
        _ => Role::Listener,
    };
    (index >> ROLE_BITS, role)
}

/// What the loop and the pool threads share.
pub(crate) struct Shared {
    root: Store,
    config: ServerConfig,
    passive: PassivePorts,
    /// Sessions per client address, against the limits.
    limits: Arc<SessionLimits>,
}

/// What a session's relay threads need to bring it back to the loop: the
/// channel that names the session to step, and the loop's waker.
pub(crate) struct Relays {
    running: Running,
    ready: Sender<(usize, u64)>,
    waker: Arc<Waker>,
}

impl Relays {
    /// A relay for session `key` (its `serial`).
    fn relay(&self, key: usize, serial: u64) -> Relay {
        let (ready, waker) = (self.ready.clone(), Arc::clone(&self.waker));
        Relay {
            running: self.running.clone(),
            wake: Arc::new(move || {
                if ready.send((key, serial)).is_ok() {
                    let _ = waker.wake();
                }
            }),
        }
    }
}

/// The listener keys (with [`Role::Listener`]).
const PLAIN: usize = 0;
const IMPLICIT: usize = 1;

pub(crate) struct Ftp {
    /// `None` once stopping: no new sessions.
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    /// The implicit-TLS listener (RFC 4217 §2's "implicit" FTPS,
    /// conventionally port 990), if asked for; `None` once stopping.
    implicit: Option<TcpListener>,
    implicit_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    conns: Slab<Conn>,
    pool: Pool,
    relays: Relays,
    /// Sessions a relay thread woke (key and serial).
    relayed: Receiver<(usize, u64)>,
    scratch: Box<[u8]>,
    /// Every transfer's buffers: a transfer's step empties them again.
    buffers: Buffers,
    /// Sessions to run again at the next turn (keys).
    queue: Vec<usize>,
    /// The waker was rung for the queue and has not fired yet.
    wake_pending: bool,
    next_serial: u64,
    /// An accept retry is armed (after a failed accept), per listener.
    accept_armed: Option<Instant>,
    implicit_armed: Option<Instant>,
}

impl Ftp {
    pub(crate) fn bind(
        mut config: ServerConfig,
        registry: &Registry,
        waker: &Arc<Waker>,
    ) -> Result<Ftp, ServerError> {
        let root = config.open_store()?;
        let addr = config.bind;
        let bind_error = move |source| ServerError::Bind { addr, source };
        let (listener, local_addr) =
            bind_listener(config.bind, config.inherited.as_ref(), registry, PLAIN)?;
        let (implicit, implicit_addr) = match config.ftps_bind {
            Some(addr) if config.tls.is_none() => {
                let source = io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an implicit-TLS listener needs a certificate",
                );
                return Err(ServerError::Bind { addr, source });
            }
            Some(addr) => {
                let (listener, addr) =
                    bind_listener(addr, config.ftps_inherited.as_ref(), registry, IMPLICIT)?;
                (Some(listener), Some(addr))
            }
            None => (None, None),
        };
        config.settle();
        let shared = Arc::new(Shared {
            root,
            passive: PassivePorts::new(config.passive_ports.clone()),
            limits: SessionLimits::new(config.max_sessions, config.max_per_ip),
            config,
        });
        // One password check per core: more would only queue for the CPU
        // while each holds its memory.
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let pool = Pool::new(threads, &shared, waker).map_err(bind_error)?;
        let (ready, relayed) = mpsc::channel();
        let relays = Relays {
            running: Running::new(),
            ready,
            waker: Arc::clone(waker),
        };
        Ok(Ftp {
            listener: Some(listener),
            local_addr,
            implicit,
            implicit_addr,
            shared,
            conns: Slab::new(),
            pool,
            relays,
            relayed,
            scratch: vec![0; SCRATCH].into_boxed_slice(),
            buffers: Buffers::new(),
            queue: Vec::new(),
            wake_pending: false,
            next_serial: 0,
            accept_armed: None,
            implicit_armed: None,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The implicit-TLS listener's address, if there is one.
    pub(crate) fn ftps_addr(&self) -> Option<SocketAddr> {
        self.implicit_addr
    }

    /// Runs `f` on session `key` (if `serial` matches, when given), then
    /// drops the session if it is over.
    fn with_conn(
        &mut self,
        cx: &mut Cx<'_>,
        key: usize,
        serial: Option<u64>,
        f: impl FnOnce(&mut Conn, &mut Env<'_, '_>),
    ) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if serial.is_some_and(|serial| serial != conn.serial()) {
            return;
        }
        let mut env = Env {
            cx,
            shared: &self.shared,
            pool: &mut self.pool,
            relays: &self.relays,
            scratch: &mut self.scratch,
            buffers: &mut self.buffers,
            queue: &mut self.queue,
            key,
        };
        f(conn, &mut env);
        if let Some(reason) = conn.ended() {
            conn.log().closed(reason);
            self.conns.remove(key);
        }
    }

    /// Rings the waker if sessions wait on the run queue.
    fn kick(&mut self, cx: &mut Cx<'_>) {
        if !self.queue.is_empty() && !self.wake_pending && cx.waker.wake().is_ok() {
            self.wake_pending = true;
        }
    }

    /// Accepts on listener `which` ([`PLAIN`] or [`IMPLICIT`]) until it
    /// would block.
    fn accept(&mut self, cx: &mut Cx<'_>, which: usize) {
        let implicit = which == IMPLICIT;
        loop {
            let listener = if implicit {
                &self.implicit
            } else {
                &self.listener
            };
            let Some(listener) = listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => self.admit(cx, stream, peer, implicit),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    SessionLog::accept_failed(&err);
                    let at = cx.now + ACCEPT_BACKOFF;
                    let token = token(which, Role::Listener);
                    let armed = if implicit {
                        &mut self.implicit_armed
                    } else {
                        &mut self.accept_armed
                    };
                    cx.timers.arm(token, at, armed);
                    return;
                }
            }
        }
    }

    fn admit(&mut self, cx: &mut Cx<'_>, stream: TcpStream, peer: SocketAddr, implicit: bool) {
        let slot = match self.shared.limits.admit(self.conns.len(), peer) {
            Ok(slot) => slot,
            Err(refusal) => {
                if !implicit {
                    // A fresh socket's send buffer takes one short line at
                    // once. (A TLS client would read it as garbage.)
                    let _ = (&stream).write(refusal);
                }
                return;
            }
        };
        let serial = self.next_serial;
        self.next_serial += 1;
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        let started = Conn::new(stream, peer, serial, &self.shared, cx.now, implicit, slot)
            .and_then(|mut conn| conn.register(cx.registry, key).map(|()| conn));
        match started {
            Ok(conn) => {
                entry.insert(conn);
                self.with_conn(cx, key, None, Conn::start);
            }
            Err(err) => SessionLog::failed_to_start(peer, &err),
        }
    }
}

/// A non-blocking listener at `addr` (or the inherited one), registered
/// as listener `which`.
fn bind_listener(
    addr: SocketAddr,
    inherited: Option<&Inherited<std::net::TcpListener>>,
    registry: &Registry,
    which: usize,
) -> Result<(TcpListener, SocketAddr), ServerError> {
    let bind_error = move |source| ServerError::Bind { addr, source };
    let listener = control_listener(addr, inherited).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let local_addr = listener.local_addr().map_err(bind_error)?;
    let mut listener = TcpListener::from_std(listener);
    registry
        .register(
            &mut listener,
            token(which, Role::Listener),
            Interest::READABLE,
        )
        .map_err(bind_error)?;
    Ok((listener, local_addr))
}

impl Service for Ftp {
    fn ready(&mut self, cx: &mut Cx<'_>, index: usize, event: &mio::event::Event) {
        let (key, role) = split(index);
        match role {
            Role::Listener => self.accept(cx, key),
            Role::Control => {
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                self.with_conn(cx, key, None, |conn, env| conn.on_control(env, readable));
            }
            Role::Passive => self.with_conn(cx, key, None, Conn::on_passive),
            Role::Data => self.with_conn(cx, key, None, Conn::on_data),
        }
        self.kick(cx);
    }

    fn timer(&mut self, cx: &mut Cx<'_>, index: usize, at: Instant) {
        let (key, role) = split(index);
        if role == Role::Listener {
            let armed = if key == IMPLICIT {
                &mut self.implicit_armed
            } else {
                &mut self.accept_armed
            };
            if *armed == Some(at) {
                *armed = None;
            }
            self.accept(cx, key);
        } else {
            self.with_conn(cx, key, None, |conn, env| conn.on_timer(env, at));
        }
        self.kick(cx);
    }

    fn woken(&mut self, cx: &mut Cx<'_>) {
        self.wake_pending = false;
        while let Some(done) = self.pool.finished() {
            match done {
                Done::Authenticated {
                    ticket: Ticket { key, serial, id },
                    completion,
                    view,
                } => self.with_conn(cx, key, Some(serial), |conn, env| {
                    conn.authenticated(env, id, completion, view)
                }),
                Done::Prepared {
                    ticket: Ticket { key, serial, id },
                    upload,
                } => self.with_conn(cx, key, Some(serial), |conn, env| {
                    conn.prepared(env, id, upload)
                }),
                Done::Performed {
                    ticket: Ticket { key, serial, id },
                    completion,
                } => self.with_conn(cx, key, Some(serial), |conn, env| {
                    conn.performed(env, id, completion)
                }),
                Done::Opened {
                    ticket: Ticket { key, serial, id },
                    opened,
                } => self.with_conn(cx, key, Some(serial), |conn, env| {
                    conn.job_opened(env, id, opened)
                }),
            }
        }
        while let Ok((key, serial)) = self.relayed.try_recv() {
            self.with_conn(cx, key, Some(serial), Conn::relayed);
        }
        let queue = std::mem::take(&mut self.queue);
        for &key in &queue {
            self.with_conn(cx, key, None, Conn::on_tick);
        }
        if self.queue.is_empty() {
            // Keep the allocation for the next turn.
            self.queue = queue;
            self.queue.clear();
        }
        self.kick(cx);
    }

    fn shutdown(&mut self, cx: &mut Cx<'_>) {
        // No new sessions: closing the listeners refuses connections.
        self.listener = None;
        self.implicit = None;
        let keys: Vec<usize> = self.conns.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.with_conn(cx, key, None, Conn::shutdown);
        }
        self.kick(cx);
    }

    fn is_idle(&self) -> bool {
        self.conns.is_empty() && self.pool.outstanding() == 0 && self.relays.running.count() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_indexes_carry_the_session_and_the_role() {
        for key in [0, 1, 5, 1 << 30] {
            for role in [Role::Control, Role::Passive, Role::Data, Role::Listener] {
                let index = key << ROLE_BITS | role as usize;
                assert_eq!(split(index), (key, role));
                let (tag, got) = reactor::split(token(key, role)).unwrap();
                assert_eq!((tag, got), (Tag::Ftp, index));
            }
        }
    }

    #[test]
    fn an_idle_session_is_small() {
        // Its slab entry; an idle session holds no buffers besides (the
        // session's own are freed once empty), so this is most of what
        // it costs in user space.
        assert!(
            std::mem::size_of::<Conn>() <= 1024,
            "{} bytes",
            std::mem::size_of::<Conn>()
        );
    }
}
