//! Why a server could not start; the same causes for every protocol.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The root directory cannot be served.
    #[error("cannot serve {path}: {source}")]
    Root {
        /// The configured root.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The listening socket could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}
