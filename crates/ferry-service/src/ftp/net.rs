//! The sockets an FTP server opens besides what it accepts: listeners
//! (control and passive) and active-mode data connections.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Connections waiting to be accepted on the control listener (the kernel
/// caps it at somaxconn): a burst of hundreds of clients connecting at once
/// all get in.
pub const LISTEN_BACKLOG: i32 = 1024;

/// Pending connections a passive listener holds: one is expected.
const PASSIVE_BACKLOG: i32 = 8;

/// How long an active-mode connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A listening TCP socket with address reuse (a restarted server or a
/// passive port in TIME_WAIT binds at once).
pub fn listen(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// A control (or implicit-TLS) listener: the one inherited from a service
/// manager when there is one, else a new one bound at `addr`.
pub fn control_listener(
    addr: SocketAddr,
    inherited: Option<&crate::Inherited<TcpListener>>,
) -> io::Result<TcpListener> {
    crate::inherited::tcp_or(inherited, || listen(addr, LISTEN_BACKLOG))
}

/// Where passive listeners are bound: ephemeral ports, or the configured
/// range, each listener trying first the port after the last one handed
/// out, so that consecutive transfers do not all race for the same port.
#[derive(Debug)]
pub struct PassivePorts {
    range: Option<RangeInclusive<u16>>,
    next: AtomicUsize,
}

impl PassivePorts {
    /// Ports from `range` (`None`: ephemeral ones).
    pub fn new(range: Option<RangeInclusive<u16>>) -> PassivePorts {
        PassivePorts {
            range,
            next: AtomicUsize::new(std::process::id() as usize),
        }
    }

    /// Binds a passive listener on `ip`: an ephemeral port, or the first
    /// free one of the range, starting after the last one handed out.
    pub fn listen(&self, ip: IpAddr) -> io::Result<TcpListener> {
        let Some(range) = self.range.clone() else {
            return listen(SocketAddr::new(ip, 0), PASSIVE_BACKLOG);
        };
        let (lo, hi) = (usize::from(*range.start()), usize::from(*range.end()));
        let count = hi - lo + 1;
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last = io::Error::from(io::ErrorKind::AddrInUse);
        for i in 0..count {
            let port = (lo + (start + i) % count) as u16;
            match listen(SocketAddr::new(ip, port), PASSIVE_BACKLOG) {
                Ok(listener) => return Ok(listener),
                Err(err) => last = err,
            }
        }
        Err(last)
    }
}

/// A socket for an active-mode data connection to `to`, bound to the
/// control connection's local address `from` (a client may check where
/// the data comes from).
fn data_socket(from: IpAddr, to: SocketAddr) -> io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(to),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
    let from = from.to_canonical();
    if from.is_ipv4() == to.is_ipv4() {
        socket.bind(&SocketAddr::new(from, 0).into())?;
    }
    Ok(socket)
}

/// PORT/EPRT: connects to `to` from `from` (the control connection's
/// local address), waiting at most [`CONNECT_TIMEOUT`].
pub fn connect_from(from: IpAddr, to: SocketAddr) -> io::Result<TcpStream> {
    let socket = data_socket(from, to)?;
    socket.connect_timeout(&to.into(), CONNECT_TIMEOUT)?;
    Ok(socket.into())
}

/// PORT/EPRT for an event loop: a non-blocking socket from `from` whose
/// connection to `to` is under way. It is connected once writable with no
/// `SO_ERROR`; the caller bounds the wait by [`CONNECT_TIMEOUT`].
pub fn connect_from_nonblocking(from: IpAddr, to: SocketAddr) -> io::Result<TcpStream> {
    let socket = data_socket(from, to)?;
    socket.set_nonblocking(true)?;
    match socket.connect(&to.into()) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(err) => return Err(err),
    }
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_listeners_rotate_through_the_range() {
        // Find three free consecutive ports by binding them once.
        let base = (20000..60000u16)
            .step_by(7)
            .find(|&p| (p..p + 3).all(|q| listen(SocketAddr::from(([127, 0, 0, 1], q)), 1).is_ok()))
            .unwrap();
        let ports = PassivePorts::new(Some(base..=base + 2));
        let ip = IpAddr::from([127, 0, 0, 1]);
        let a = ports.listen(ip).unwrap();
        let b = ports.listen(ip).unwrap();
        let c = ports.listen(ip).unwrap();
        let mut got: Vec<u16> = [&a, &b, &c]
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        got.sort();
        assert_eq!(got, [base, base + 1, base + 2]);
        // All taken: the last error comes back.
        assert!(ports.listen(ip).is_err());
    }

    #[test]
    fn a_nonblocking_connect_comes_from_the_given_address() {
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0)), 1).unwrap();
        let to = listener.local_addr().unwrap();
        let stream = connect_from_nonblocking(IpAddr::from([127, 0, 0, 1]), to).unwrap();
        let (_, from) = listener.accept().unwrap();
        assert_eq!(from.ip(), IpAddr::from([127, 0, 0, 1]));
        assert_eq!(stream.local_addr().unwrap(), from);
    }
}
