//! TFTP: the server configuration, and everything a TFTP server does
//! whichever driver runs it.
//!
//! A driver reads datagrams and waits for deadlines; the rest is here:
//! deciding what a request does ([`Acceptor::admit`]: a transfer with its
//! file opened, a refusal, or nothing; [`Repeat::judge`] for a request
//! from a peer whose transfer runs), answering a machine's events
//! ([`Outcome::pump`]: file reads and writes, commit or discard, datagrams
//! out through the [`Outbox`]), and the log line each transfer ends with.

mod admit;
mod files;
mod local;
mod log;
mod name;
mod outbox;
mod pump;
mod remap;
mod socket;
mod spin;

pub use admit::{Acceptor, Admission, Label, Refusal, Repeat, Running, Start};
pub use files::{refusal_for, Buffering, FileEnd, FileSource, UploadSink};
pub use local::{read_failure, read_full, write_failure, Local, LocalFailure, Report};
pub use log::{describe_options, log_transfer};
pub use name::local_name;
pub use outbox::{send_datagram, Outbox};
pub use pump::Outcome;
pub use remap::{Direction, RemapError, RemapRefusal, RemapRules};
pub use socket::{bind_request_socket, recv_error_is_transient, tune, TransferPorts};
pub use spin::{try_recv_from, Spin};

/// Largest datagram a TFTP peer may send us: a DATA of the largest block
/// size (RFC 2348: 65464) plus its 4-byte header, rounded up.
pub const RECV_BUFFER: usize = 65536;

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;

use tftp_proto::transfer::ServerPolicy;

/// Default limit of transfers running at once.
pub const DEFAULT_MAX_TRANSFERS: usize = 64;

/// What a TFTP server serves, where, and how.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The directory served; nothing outside it is ever read or written.
    pub root: PathBuf,
    /// An S3 bucket served instead of [`root`](Self::root). Only the
    /// blocking driver's TFTP server serves one (the event loop's refuses
    /// it at bind; `ferry serve --driver mio` runs the blocking one beside
    /// the loop for it).
    pub bucket: Option<ferry_s3::Bucket>,
    /// Address of the request socket (port 0 picks a free one).
    pub bind: SocketAddr,
    /// Protocol policy: writes allowed, option limits, retransmission.
    pub policy: ServerPolicy,
    /// Transfers running at once; more requests are refused with an ERROR.
    pub max_transfers: usize,
    /// Most transfers at once with clients at one IP address (`None`: no
    /// limit but `max_transfers`); beyond it a request gets ERROR 0.
    pub max_per_ip: Option<usize>,
    /// Every transfer runs on the request socket, told apart by the peer's
    /// address, instead of on a socket of its own: for servers behind NAT
    /// or in containers, where only the one port is reachable.
    pub single_port: bool,
    /// Ports for the transfers' own sockets (none: any free port).
    /// Unused with `single_port`.
    pub transfer_ports: Option<RangeInclusive<u16>>,
    /// Filename rewrite rules, applied to each requested name before it
    /// is looked up under the root.
    pub remap: Option<Arc<RemapRules>>,
    /// Each transfer's rate limit (TFTP has no login: every client is
    /// anonymous).
    pub rate_limit: Option<crate::pace::RateLimit>,
    /// A request socket already bound (socket activation), served
    /// instead of binding [`bind`](Self::bind).
    pub inherited: Option<crate::Inherited<std::net::UdpSocket>>,
}

impl ServerConfig {
    /// Serve `root` read-only at `bind` with default limits.
    pub fn new(root: impl Into<PathBuf>, bind: SocketAddr) -> Self {
        ServerConfig {
            root: root.into(),
            bucket: None,
            bind,
            policy: ServerPolicy::default(),
            max_transfers: DEFAULT_MAX_TRANSFERS,
            max_per_ip: None,
            single_port: false,
            transfer_ports: None,
            remap: None,
            rate_limit: None,
            inherited: None,
        }
    }
}
