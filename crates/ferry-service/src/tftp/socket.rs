//! Socket set-up shared by every driver, server and client.

use std::io;
use std::net::{SocketAddr, UdpSocket};

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
    let socket = UdpSocket::bind(config.bind).map_err(bind_error)?;
    let local_addr = socket.local_addr().map_err(bind_error)?;
    tune(&socket);
    Ok((socket, local_addr))
}

/// A transfer's own socket (its transfer ID, RFC 1350 §4): an ephemeral
/// port on the address the request came to.
pub fn transfer_socket(request_addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = UdpSocket::bind(SocketAddr::new(request_addr.ip(), 0))?;
    tune(&socket);
    Ok(socket)
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
