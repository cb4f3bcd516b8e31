//! FTP: the server configuration and what a session's requests do, for
//! every driver: carrying out the machine's requests against the served
//! root ([`View`], [`perform`], [`open_job`], [`authenticate`]), the
//! sockets a server opens ([`listen`], [`PassivePorts`], active
//! connects), the session's log lines ([`SessionLog`]), and a
//! transfer's file ends and replies ([`Source`], [`Sink`],
//! [`begin_transfer`], [`end_transfer`], [`completion`]).

mod hash;
mod limits;
mod log;
mod net;
mod requests;
mod transfer;

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use ferry_tls::ServerTls;

use crate::pace::RateLimits;
use crate::{Inherited, Reloadable, ServerError, Store};
use ferry_storage::Root;
use ferry_users::Users;
use ftp_proto::server::{Access, Config, Tls};

pub use hash::hash;
pub use limits::{SessionLimits, SessionSlot};
pub use log::{SessionEnd, SessionLog};
pub use net::{
    connect_from, connect_from_nonblocking, control_listener, listen, PassivePorts,
    CONNECT_TIMEOUT, LISTEN_BACKLOG,
};
pub use requests::{authenticate, failure, metadata, open_job, perform, Download, Job, View};
pub use transfer::{
    begin_transfer, completion, end_transfer, send_file, transfer_opened, Route, SendFile, Sink,
    Source,
};

/// Default limit of control connections served at once.
pub const DEFAULT_MAX_SESSIONS: usize = 1000;

/// Control bytes read but not yet taken by the session, at most: past
/// this, a driver stops reading until the session catches up (a client
/// pipelining without end cannot grow memory). The session itself takes
/// no input while 16 KiB of its replies are unsent, so a client that does
/// not read its replies soon stops being read.
pub const INPUT_LIMIT: usize = 64 * 1024;

/// A client that takes no replies for this long is gone.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long accepting pauses after a failed accept (such as running out
/// of file descriptors): the connection stays queued, and trying again at
/// once would spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What an FTP server serves, where, and to whom.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The directory served; nothing outside it is ever read or written.
    pub root: PathBuf,
    /// An S3 bucket served instead of [`root`](Self::root) (checked by
    /// [`ferry_s3::Bucket::connect`] before the server binds).
    pub bucket: Option<ferry_s3::Bucket>,
    /// Address of the control listener (port 0 picks a free one).
    pub bind: SocketAddr,
    /// Writes allowed at all (STOR, APPE, STOU, DELE, MKD, RMD, RNFR/RNTO).
    /// Without it every write is refused, whoever asks.
    pub write: bool,
    /// Anonymous logins (`anonymous` or `ftp`, any password) allowed.
    pub anonymous: bool,
    /// Named users and their passwords; their `rw` needs [`write`](Self::write) too.
    /// Replacing them (a reload) holds for the logins that follow.
    pub users: Option<Reloadable<Users>>,
    /// Ports for passive data listeners; `None` takes ephemeral ports.
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// Control connections served at once; one more is answered 421 and closed.
    pub max_sessions: usize,
    /// Most sessions at once from one client IP address (`None`: no limit
    /// but `max_sessions`); beyond it a connection gets 421.
    pub max_per_ip: Option<usize>,
    /// FTPS (RFC 4217): the certificate, which turns on `AUTH TLS` on the
    /// control port and makes [`ftps_bind`](Self::ftps_bind) possible.
    pub tls: Option<ServerTls>,
    /// A control listener already bound (socket activation), served
    /// instead of binding [`bind`](Self::bind).
    pub inherited: Option<Inherited<std::net::TcpListener>>,
    /// An implicit-TLS listener already bound, served instead of binding
    /// [`ftps_bind`](Self::ftps_bind).
    pub ftps_inherited: Option<Inherited<std::net::TcpListener>>,
    /// Address of an implicit-TLS listener (TLS from the first byte,
    /// conventionally port 990); needs [`tls`](Self::tls).
    pub ftps_bind: Option<SocketAddr>,
    /// No login and no data transfer in clear.
    pub require_tls: bool,
    /// Each file transfer's rate limit (listings are not limited), for
    /// named users and, unless they have their own, anonymous ones.
    pub rate_limits: RateLimits,
    /// Timeouts, line limit and greeting of every session. Its `anonymous`
    /// and `tls` are set from the fields above by [`settle`](Self::settle).
    pub session: Config,
}

impl ServerConfig {
    /// Serve `root` read-only to anonymous users at `bind`, with default limits.
    pub fn new(root: impl Into<PathBuf>, bind: SocketAddr) -> Self {
        ServerConfig {
            root: root.into(),
            bucket: None,
            bind,
            write: false,
            anonymous: true,
            users: None,
            passive_ports: None,
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_per_ip: None,
            tls: None,
            ftps_bind: None,
            inherited: None,
            ftps_inherited: None,
            require_tls: false,
            rate_limits: RateLimits::default(),
            session: Config::default(),
        }
    }

    /// Opens what is served: the bucket if there is one, else the root
    /// directory.
    pub fn open_store(&self) -> Result<Store, ServerError> {
        match &self.bucket {
            Some(bucket) => Ok(Store::S3(bucket.clone())),
            None => Root::new(&self.root)
                .map(Store::Local)
                .map_err(|source| ServerError::Root {
                    path: self.root.clone(),
                    source,
                }),
        }
    }

    /// Sets the sessions' anonymous access from [`anonymous`](Self::anonymous)
    /// and [`write`](Self::write); a server calls it once when it binds.
    pub fn settle(&mut self) {
        self.session.anonymous = self.anonymous.then_some(Access { write: self.write });
        self.session.tls = Tls {
            offered: self.tls.is_some(),
            required: self.require_tls,
        };
    }
}
