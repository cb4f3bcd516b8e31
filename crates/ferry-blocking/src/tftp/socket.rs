//! Socket set-up shared by the server and the client.

use std::net::UdpSocket;

/// Kernel buffer size asked for each socket. A window of large blocks
/// (64 × 65464 bytes) arrives as one burst; the default buffers (about
/// 200 KiB) would drop most of it. The kernel caps the value at its
/// `rmem_max`/`wmem_max`, which is fine: this is a wish, not a need.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// Enlarge a socket's send and receive buffers, ignoring refusals.
pub(crate) fn tune(socket: &UdpSocket) {
    let sock = socket2::SockRef::from(socket);
    if let Err(err) = sock.set_recv_buffer_size(SOCKET_BUFFER) {
        tracing::debug!(error = %err, "cannot enlarge UDP receive buffer");
    }
    if let Err(err) = sock.set_send_buffer_size(SOCKET_BUFFER) {
        tracing::debug!(error = %err, "cannot enlarge UDP send buffer");
    }
}
