//! Sockets a server is handed already bound, by a service manager that
//! opened them before starting it (systemd's socket activation).

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};

/// A socket to serve on instead of binding the configured address,
/// taken once by the server that binds (configurations are cloned, the
/// socket is not).
pub struct Inherited<S>(Arc<Mutex<Option<S>>>);

impl<S> Inherited<S> {
    /// Hands `socket` to whichever server binds first.
    pub fn new(socket: S) -> Self {
        Inherited(Arc::new(Mutex::new(Some(socket))))
    }

    /// The socket, unless a server has already taken it.
    pub fn take(&self) -> Option<S> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl<S> Clone for Inherited<S> {
    fn clone(&self) -> Self {
        Inherited(Arc::clone(&self.0))
    }
}

impl<S> fmt::Debug for Inherited<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Inherited(..)")
    }
}

/// The inherited TCP listener if there is one, in blocking mode as a
/// freshly bound one is, else `bind()`.
pub(crate) fn tcp_or(
    inherited: Option<&Inherited<TcpListener>>,
    bind: impl FnOnce() -> io::Result<TcpListener>,
) -> io::Result<TcpListener> {
    match inherited.and_then(Inherited::take) {
        Some(listener) => {
            listener.set_nonblocking(false)?;
            Ok(listener)
        }
        None => bind(),
    }
}

/// The inherited UDP socket if there is one (blocking, as a fresh one),
/// else one bound at `addr`.
pub(crate) fn udp_or(
    inherited: Option<&Inherited<UdpSocket>>,
    addr: SocketAddr,
) -> io::Result<UdpSocket> {
    match inherited.and_then(Inherited::take) {
        Some(socket) => {
            socket.set_nonblocking(false)?;
            Ok(socket)
        }
        None => UdpSocket::bind(addr),
    }
}
