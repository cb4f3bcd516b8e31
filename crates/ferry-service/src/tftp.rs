//! TFTP: the server configuration and the file ends of transfers.

use std::net::SocketAddr;
use std::path::PathBuf;

use tftp_proto::transfer::ServerPolicy;

/// Default limit of transfers running at once.
pub const DEFAULT_MAX_TRANSFERS: usize = 64;

/// What a TFTP server serves, where, and how.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The directory served; nothing outside it is ever read or written.
    pub root: PathBuf,
    /// Address of the request socket (port 0 picks a free one).
    pub bind: SocketAddr,
    /// Protocol policy: writes allowed, option limits, retransmission.
    pub policy: ServerPolicy,
    /// Transfers running at once; more requests are refused with an ERROR.
    pub max_transfers: usize,
    /// Every transfer runs on the request socket, told apart by the peer's
    /// address, instead of on a socket of its own: for servers behind NAT
    /// or in containers, where only the one port is reachable.
    pub single_port: bool,
}

impl ServerConfig {
    /// Serve `root` read-only at `bind` with default limits.
    pub fn new(root: impl Into<PathBuf>, bind: SocketAddr) -> Self {
        ServerConfig {
            root: root.into(),
            bind,
            policy: ServerPolicy::default(),
            max_transfers: DEFAULT_MAX_TRANSFERS,
            single_port: false,
        }
    }
}

