//! One mio event loop that runs ferry's FTP and TFTP servers, for
//! thousands of sessions on a single thread.
//!
//! The protocol machines are the very ones the blocking driver runs
//! ([`ftp_proto::server::Session`], [`tftp_proto::transfer::Transfer`]);
//! what a server does with its root and users is `ferry-service`'s. This
//! crate only waits for readiness, moves bytes in bounded steps, and keeps
//! every machine's deadline in one timer heap.
//!
//! ```no_run
//! use ferry_mio::Server;
//! use ferry_service::{ftp, tftp};
//!
//! let ftp = ftp::ServerConfig::new("/srv", "127.0.0.1:2121".parse().unwrap());
//! let tftp = tftp::ServerConfig::new("/srv", "127.0.0.1:6969".parse().unwrap());
//! let mut server = Server::bind(Some(ftp), Some(tftp))?;
//! eprintln!("ftp on {:?}, tftp on {:?}", server.ftp_addr(), server.tftp_addr());
//! server.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ftp;
mod reactor;
mod tftp;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_service::clock;
use ferry_service::metrics::Metrics;
pub use ferry_service::ServerError;
use mio::{Events, Poll, Waker};
use reactor::{Cx, Service, Tag, Timers, WAKER};

/// Longest sleep, so that a `run_until` flag set without the
/// [`ShutdownHandle`] is still noticed.
const STOP_POLL: Duration = Duration::from_millis(200);

/// How long a stopping server waits for its sessions and transfers to
/// wind down (an active-mode connect is bounded by 10 s).
const DRAIN_LIMIT: Duration = Duration::from_secs(15);

/// Readiness events taken per `poll` call.
const EVENTS: usize = 1024;

/// The FTP and TFTP servers on one event loop. Either may be left out.
pub struct Server {
    poll: Poll,
    timers: Timers,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
    ftp: Option<ftp::Ftp>,
    tftp: Option<tftp::Tftp>,
}

/// Stops a running [`Server`] from another thread (or a signal handler's
/// thread).
#[derive(Clone)]
pub struct ShutdownHandle {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl ShutdownHandle {
    /// Ask the server to stop: no new sessions or transfers; FTP sessions
    /// are told 421 (after a running transfer's 426), TFTP transfers get an
    /// ERROR, and partial uploads are discarded.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

impl Server {
    /// Opens the roots and binds the listeners of the servers asked for.
    pub fn bind(
        ftp: Option<ferry_service::ftp::ServerConfig>,
        tftp: Option<ferry_service::tftp::ServerConfig>,
    ) -> Result<Server, ServerError> {
        let bind_error = |addr: SocketAddr| move |source| ServerError::Bind { addr, source };
        let some_addr = ftp
            .as_ref()
            .map(|c| c.bind)
            .or(tftp.as_ref().map(|c| c.bind))
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let poll = Poll::new().map_err(bind_error(some_addr))?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(bind_error(some_addr))?);
        let ftp = match ftp {
            Some(config) => Some(ftp::Ftp::bind(config, poll.registry(), &waker)?),
            None => None,
        };
        let tftp = match tftp {
            Some(config) => Some(tftp::Tftp::bind(config, poll.registry())?),
            None => None,
        };
        Ok(Server {
            poll,
            timers: Timers::default(),
            waker,
            stop: Arc::new(AtomicBool::new(false)),
            ftp,
            tftp,
        })
    }

    /// The FTP control listener's address (the real port when 0 was asked for).
    pub fn ftp_addr(&self) -> Option<SocketAddr> {
        self.ftp.as_ref().map(ftp::Ftp::local_addr)
    }

    /// The implicit-TLS FTP listener's address (FTPS from the first byte,
    /// bound when the FTP configuration's `ftps_bind` is set; the real
    /// port when 0 was asked for).
    pub fn ftps_addr(&self) -> Option<SocketAddr> {
        self.ftp.as_ref().and_then(ftp::Ftp::ftps_addr)
    }

    /// The TFTP request socket's address.
    pub fn tftp_addr(&self) -> Option<SocketAddr> {
        self.tftp.as_ref().map(tftp::Tftp::local_addr)
    }

    /// A handle that stops this server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            stop: Arc::clone(&self.stop),
            waker: Arc::clone(&self.waker),
        }
    }

    /// Serve until the process ends or a [`ShutdownHandle`] says stop.
    pub fn run(&mut self) -> io::Result<()> {
        self.run_until(&AtomicBool::new(false))
    }

    /// Serve until `stop` is set or a [`ShutdownHandle`] says stop, then
    /// end every session and transfer and wait (a bounded time) for them
    /// to wind down.
    pub fn run_until(&mut self, stop: &AtomicBool) -> io::Result<()> {
        let mut events = Events::with_capacity(EVENTS);
        let mut drain_until: Option<std::time::Instant> = None;
        let metrics = Metrics::global();
        // When the last poll returned: a turn is its events and the
        // timers due after them, up to the next poll.
        let mut turn_began: Option<std::time::Instant> = None;
        loop {
            self.fire_timers();
            if let Some(began) = turn_began.take() {
                metrics.loop_turn(began.elapsed());
            }
            if drain_until.is_none()
                && (stop.load(Ordering::Relaxed) || self.stop.load(Ordering::Acquire))
            {
                drain_until = Some(std::time::Instant::now() + DRAIN_LIMIT);
                self.each(|service, cx| service.shutdown(cx));
                self.fire_timers();
            }
            if let Some(limit) = drain_until {
                if self.is_idle() || std::time::Instant::now() >= limit {
                    return Ok(());
                }
            }
            let now = clock::now();
            let timeout = self
                .timers
                .next()
                .map_or(STOP_POLL, |at| clock::until(now, at).min(STOP_POLL));
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
            if metrics.enabled() {
                turn_began = Some(std::time::Instant::now());
            }
            for event in events.iter() {
                let mut cx = Cx {
                    registry: self.poll.registry(),
                    timers: &mut self.timers,
                    waker: &self.waker,
                    now: clock::now(),
                };
                match reactor::split(event.token()) {
                    None => {
                        if let Some(ftp) = &mut self.ftp {
                            ftp.woken(&mut cx);
                        }
                        if let Some(tftp) = &mut self.tftp {
                            tftp.woken(&mut cx);
                        }
                    }
                    Some((Tag::Ftp, index)) => {
                        if let Some(ftp) = &mut self.ftp {
                            ftp.ready(&mut cx, index, event);
                        }
                    }
                    Some((Tag::Tftp, index)) => {
                        if let Some(tftp) = &mut self.tftp {
                            tftp.ready(&mut cx, index, event);
                        }
                    }
                }
            }
        }
    }

    /// Hands every due deadline to its owner.
    fn fire_timers(&mut self) {
        let now = clock::now();
        while let Some((at, token)) = self.timers.pop_due(now) {
            let mut cx = Cx {
                registry: self.poll.registry(),
                timers: &mut self.timers,
                waker: &self.waker,
                now: clock::now(),
            };
            match reactor::split(token) {
                Some((Tag::Ftp, index)) => {
                    if let Some(ftp) = &mut self.ftp {
                        ftp.timer(&mut cx, index, at);
                    }
                }
                Some((Tag::Tftp, index)) => {
                    if let Some(tftp) = &mut self.tftp {
                        tftp.timer(&mut cx, index, at);
                    }
                }
                None => {}
            }
        }
    }

    fn each(&mut self, mut f: impl FnMut(&mut dyn Service, &mut Cx<'_>)) {
        let mut cx = Cx {
            registry: self.poll.registry(),
            timers: &mut self.timers,
            waker: &self.waker,
            now: clock::now(),
        };
        if let Some(ftp) = &mut self.ftp {
            f(ftp, &mut cx);
        }
        if let Some(tftp) = &mut self.tftp {
            f(tftp, &mut cx);
        }
    }

    fn is_idle(&self) -> bool {
        self.ftp.as_ref().map_or(true, Service::is_idle)
            && self.tftp.as_ref().map_or(true, Service::is_idle)
    }
}
