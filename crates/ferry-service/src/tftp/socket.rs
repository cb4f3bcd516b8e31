//! Socket set-up shared by every driver, server and client.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU16, Ordering};

use super::ServerConfig;
use crate::ServerError;

/// Kernel buffer size asked for each socket. A window of large blocks
/// (64 × 65464 bytes) arrives as one burst; the default buffers (about
/// 200 KiB) would drop most of it. The kernel caps the value at its
/// `rmem_max`/`wmem_max`, which is fine: this is a wish, not a need.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Enlarge a socket's send and receive buffers, ignoring refusals.
pub fn tune(socket: &UdpSocket) {
    let sock = socket2::SockRef::from(socket);
    if let Err(err) = sock.set_recv_buffer_size(SOCKET_BUFFER) {
        tracing::debug!(error = %err, "cannot enlarge UDP receive buffer");
    }
    if let Err(err) = sock.set_send_buffer_size(SOCKET_BUFFER) {
        tracing::debug!(error = %err, "cannot enlarge UDP send buffer");
    }
}

/// Bind a server's request socket (tuned) and tell the address it got.
pub fn bind_request_socket(config: &ServerConfig) -> Result<(UdpSocket, SocketAddr), ServerError> {
    let bind_error = |source| ServerError::Bind {
        addr: config.bind,
        source,
    };
    let socket =
        crate::inherited::udp_or(config.inherited.as_ref(), config.bind).map_err(bind_error)?;
    let local_addr = socket.local_addr().map_err(bind_error)?;
    tune(&socket);
    Ok((socket, local_addr))
}

/// Where transfers' own sockets (their transfer IDs, RFC 1350 §4) get
/// their ports: any free one, or (tftpd-hpa's `-R`) only those of a range,
/// so a firewall can let exactly that range through.
#[derive(Debug)]
pub struct TransferPorts {
    range: Option<RangeInclusive<u16>>,
    /// Where the next search through the range starts: one past the port
    /// handed out last, so ports are reused as late as possible (a late
    /// datagram of an ended transfer then meets no new one).
    next: AtomicU16,
}

impl TransferPorts {
    /// Ports from `range`, or ephemeral ones when `None`.
    pub fn new(range: Option<RangeInclusive<u16>>) -> Self {
        let next = range.as_ref().map_or(0, |range| *range.start());
        TransferPorts {
            range,
            next: AtomicU16::new(next),
        }
    }

    /// A transfer's socket (tuned) on `ip`, the address the request came
    /// to. With a range, every port in it is tried once; when all are
    /// taken the error is [`io::ErrorKind::AddrInUse`].
    pub fn bind(&self, ip: IpAddr) -> io::Result<UdpSocket> {
        let socket = match &self.range {
            None => UdpSocket::bind(SocketAddr::new(ip, 0))?,
            Some(range) => self.bind_in(ip, range)?,
        };
        tune(&socket);
        Ok(socket)
    }

    fn bind_in(&self, ip: IpAddr, range: &RangeInclusive<u16>) -> io::Result<UdpSocket> {
        let (lo, hi) = (*range.start(), *range.end());
        let size = u32::from(hi - lo) + 1;
        let first = self.next.load(Ordering::Relaxed).clamp(lo, hi);
        for step in 0..size {
            let port = lo + ((u32::from(first - lo) + step) % size) as u16;
            match UdpSocket::bind(SocketAddr::new(ip, port)) {
                Ok(socket) => {
                    let after = if port == hi { lo } else { port + 1 };
                    self.next.store(after, Ordering::Relaxed);
                    return Ok(socket);
                }
                Err(err) if err.kind() == io::ErrorKind::AddrInUse => {}
                Err(err) => return Err(err),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("every transfer port in {lo}-{hi} is in use"),
        ))
    }
}

/// Receive errors after which the socket is still good and nothing was
/// lost: a signal, or an ICMP error (port unreachable...) that an earlier
/// send left on the socket; the peer may still come back, and the
/// machine's timers decide. A timeout is not among them (a blocking
/// socket's read timeout shows as `WouldBlock` or `TimedOut`).
pub fn recv_error_is_transient(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionRefused
    )
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// Two consecutive free ports.
    fn free_pair() -> u16 {
        loop {
            let probe = UdpSocket::bind((LOCALHOST, 0)).unwrap();
            let port = probe.local_addr().unwrap().port();
            if port < u16::MAX && UdpSocket::bind((LOCALHOST, port + 1)).is_ok() {
                return port;
            }
        }
    }

    fn port(socket: &UdpSocket) -> u16 {
        socket.local_addr().unwrap().port()
    }

    #[test]
    fn a_range_hands_out_its_ports_then_says_in_use() {
        let lo = free_pair();
        let ports = TransferPorts::new(Some(lo..=lo + 1));
        let a = ports.bind(LOCALHOST).unwrap();
        let b = ports.bind(LOCALHOST).unwrap();
        let mut got = [port(&a), port(&b)];
        got.sort_unstable();
        assert_eq!(got, [lo, lo + 1]);
        let err = ports.bind(LOCALHOST).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(
            err.to_string().contains(&format!("{lo}-{}", lo + 1)),
            "{err}"
        );
        // A port comes back when its socket closes.
        let freed = port(&a);
        drop(a);
        assert_eq!(port(&ports.bind(LOCALHOST).unwrap()), freed);
    }

    #[test]
    fn ports_taken_by_others_are_skipped() {
        let lo = free_pair();
        let _other = UdpSocket::bind((LOCALHOST, lo)).unwrap();
        let ports = TransferPorts::new(Some(lo..=lo + 1));
        assert_eq!(port(&ports.bind(LOCALHOST).unwrap()), lo + 1);
    }

    #[test]
    fn without_a_range_any_port() {
        let ports = TransferPorts::new(None);
        assert_ne!(port(&ports.bind(LOCALHOST).unwrap()), 0);
    }
}
