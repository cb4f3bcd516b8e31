//! ferry's servers in this test process, under either driver, built from
//! the one configuration type both drivers take
//! ([`ferry_service::ftp::ServerConfig`], [`ferry_service::tftp::ServerConfig`]).
//!
//! The server is bound and run on a thread of its own; dropping the
//! [`InProcess`] (or [`InProcess::stop`]) shuts it down through the
//! driver's own shutdown handle and waits for it to return.

use std::io;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use ferry_service::{ftp, tftp, ServerError};

use super::Driver;

/// How long a stopped server may take to return (its drain limit is 15 s).
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// One driver's way of telling its server to stop.
enum Stopper {
    BlockingFtp(ferry_blocking::ftp::server::ShutdownHandle),
    BlockingTftp(ferry_blocking::tftp::ShutdownHandle),
    Mio(ferry_mio::ShutdownHandle),
}

impl Stopper {
    fn shutdown(&self) {
        match self {
            Stopper::BlockingFtp(handle) => handle.shutdown(),
            Stopper::BlockingTftp(handle) => handle.shutdown(),
            Stopper::Mio(handle) => handle.shutdown(),
        }
    }
}

/// What the server thread reports once it has bound (or failed to).
struct Bound {
    ftp: Option<SocketAddr>,
    tftp: Option<SocketAddr>,
    stopper: Stopper,
}

/// A ferry server running on a thread of this process; stopped (and
/// waited for) when dropped.
pub struct InProcess {
    driver: Driver,
    ftp: Option<SocketAddr>,
    tftp: Option<SocketAddr>,
    stopper: Stopper,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl InProcess {
    /// An FTP server under `driver`; panics if it cannot bind.
    #[track_caller]
    pub fn ftp(driver: Driver, config: ftp::ServerConfig) -> InProcess {
        Self::try_ftp(driver, config).unwrap_or_else(|e| panic!("{driver} ftp server: {e}"))
    }

    /// A TFTP server under `driver`; panics if it cannot bind.
    #[track_caller]
    pub fn tftp(driver: Driver, config: tftp::ServerConfig) -> InProcess {
        Self::try_tftp(driver, config).unwrap_or_else(|e| panic!("{driver} tftp server: {e}"))
    }

    /// An FTP server under `driver`, or why it could not bind.
    pub fn try_ftp(driver: Driver, config: ftp::ServerConfig) -> Result<InProcess, ServerError> {
        match driver {
            Driver::Blocking => Self::spawn(driver, move || {
                let server = ferry_blocking::ftp::server::Server::bind(config)?;
                let bound = Bound {
                    ftp: Some(server.local_addr()),
                    tftp: None,
                    stopper: Stopper::BlockingFtp(server.shutdown_handle()),
                };
                Ok((bound, Box::new(move || server.run()) as Runner))
            }),
            Driver::Mio => Self::try_mio(Some(config), None),
        }
    }

    /// A TFTP server under `driver`, or why it could not bind.
    pub fn try_tftp(driver: Driver, config: tftp::ServerConfig) -> Result<InProcess, ServerError> {
        match driver {
            Driver::Blocking => Self::spawn(driver, move || {
                let server = ferry_blocking::tftp::Server::bind(config)?;
                let bound = Bound {
                    ftp: None,
                    tftp: Some(server.local_addr()),
                    stopper: Stopper::BlockingTftp(server.shutdown_handle()),
                };
                Ok((bound, Box::new(move || server.run()) as Runner))
            }),
            Driver::Mio => Self::try_mio(None, Some(config)),
        }
    }

    /// One mio server running FTP, TFTP or both on one event loop.
    pub fn try_mio(
        ftp: Option<ftp::ServerConfig>,
        tftp: Option<tftp::ServerConfig>,
    ) -> Result<InProcess, ServerError> {
        Self::spawn(Driver::Mio, move || {
            let mut server = ferry_mio::Server::bind(ftp, tftp)?;
            let bound = Bound {
                ftp: server.ftp_addr(),
                tftp: server.tftp_addr(),
                stopper: Stopper::Mio(server.shutdown_handle()),
            };
            Ok((bound, Box::new(move || server.run()) as Runner))
        })
    }

    /// Binds on a new thread (so a server need not be `Send`) and runs
    /// there once bound.
    fn spawn(
        driver: Driver,
        bind: impl FnOnce() -> Result<(Bound, Runner), ServerError> + Send + 'static,
    ) -> Result<InProcess, ServerError> {
        let (tx, rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name(format!("{driver} server"))
            .spawn(move || match bind() {
                Ok((bound, run)) => {
                    let _ = tx.send(Ok(bound));
                    run()
                }
                Err(err) => {
                    let _ = tx.send(Err(err));
                    Ok(())
                }
            })
            .expect("spawn the server thread");
        match rx.recv() {
            Ok(Ok(bound)) => Ok(InProcess {
                driver,
                ftp: bound.ftp,
                tftp: bound.tftp,
                stopper: bound.stopper,
                thread: Some(thread),
            }),
            Ok(Err(err)) => {
                let _ = thread.join();
                Err(err)
            }
            Err(_) => match thread.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(_) => panic!("the {driver} server thread ended without binding"),
            },
        }
    }

    /// The driver this server runs under.
    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// The FTP control listener's address.
    #[track_caller]
    pub fn ftp_addr(&self) -> SocketAddr {
        self.ftp.expect("this server runs no FTP")
    }

    /// The TFTP request socket's address.
    #[track_caller]
    pub fn tftp_addr(&self) -> SocketAddr {
        self.tftp.expect("this server runs no TFTP")
    }

    /// Asks the server to stop without waiting for it.
    pub fn shutdown(&self) {
        self.stopper.shutdown();
    }

    /// Stops the server and waits for it to return; panics if it failed,
    /// panicked, or took longer than its drain limit allows.
    #[track_caller]
    pub fn stop(&mut self) {
        if let Some(Err(err)) = self.stop_and_join() {
            panic!("the {} server failed: {err}", self.driver);
        }
    }

    fn stop_and_join(&mut self) -> Option<io::Result<()>> {
        let thread = self.thread.take()?;
        self.stopper.shutdown();
        let deadline = std::time::Instant::now() + STOP_LIMIT;
        while !thread.is_finished() {
            if std::time::Instant::now() >= deadline {
                panic!(
                    "the {} server did not stop within {STOP_LIMIT:?} of its shutdown",
                    self.driver
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
        match thread.join() {
            Ok(result) => Some(result),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if thread::panicking() {
            // Already failing: stop the server, but do not panic again.
            self.stopper.shutdown();
            return;
        }
        self.stop();
    }
}

/// Runs a bound server on its own thread (so it need not be `Send`).
type Runner = Box<dyn FnOnce() -> io::Result<()>>;
