//! The request socket's decisions: which datagram starts a transfer, which
//! is refused (and with what ERROR), which is ignored.

use crate::metrics::{ErrorClass, Metrics, Protocol};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Instant as StdInstant;

use ferry_storage::Root;
use ferry_time::Instant;
use tftp_proto::transfer::{
    accept_request, Accepted, Event, LocalError, RequestKind, ServerPolicy, Transfer,
};

use super::files::{refusal_for, Buffering, FileEnd, FileSource, UploadSink};
use super::local::Report;
use super::log::{log_refusal, log_transfer};
use super::name::local_name;
use super::outbox::send_datagram;
use super::pump::Outcome;
use super::remap::{Direction, RemapRules};
use super::socket::TransferPorts;
use super::ServerConfig;
use crate::{ServerError, Store};

/// The transfers a server is running, as admission needs to see them.
pub trait Running {
    /// A transfer with `peer` (its exact address and port) is running.
    fn has_peer(&self, peer: SocketAddr) -> bool;
    /// How many transfers are running.
    fn count(&self) -> usize;
    /// How many of them are with a client at `ip` (any port).
    fn count_from(&self, ip: IpAddr) -> usize;
}

/// Turns datagrams on the request socket into transfers: the served root,
/// the protocol policy and the limits of one server.
#[derive(Debug)]
pub struct Acceptor {
    store: Store,
    policy: ServerPolicy,
    max_transfers: usize,
    max_per_ip: Option<usize>,
    buffering: Buffering,
    remap: Option<Arc<RemapRules>>,
    /// Where transfers get their own sockets; `None` on a single-port
    /// server, whose transfers all run on the request socket.
    ports: Option<TransferPorts>,
    /// The address requests come to: transfer sockets bind the same one.
    ip: IpAddr,
}

/// What to do with a datagram that came to the request socket.
#[derive(Debug)]
pub enum Admission {
    /// Run this transfer.
    Start(Box<Start>),
    /// Send this refusal from the request socket ([`Refusal::send`]).
    Refuse(Refusal),
    /// Not yet decided: a request from a peer whose transfer runs. It is a
    /// client resending its RRQ or WRQ before our first answer reached it
    /// (that transfer answers it itself when its first packet's timer
    /// fires), or a new request that the client sent after that transfer
    /// ended but that was read before the transfer saw its end: the last
    /// ACK of a download may still wait on the transfer's own socket, or
    /// in its queue. Let the transfer take every datagram that reached the
    /// server before this request, then ask [`Repeat::judge`].
    Repeated,
    /// Not a request (a DATA, ACK, ERROR...): on a single-port server, the
    /// running transfer of the peer that sent it takes it; otherwise it is
    /// ignored.
    NotARequest,
}

/// What a request from the peer of a running transfer is, judged once that
/// transfer has taken every datagram that reached the server before the
/// request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// The transfer still runs: the client resent its request before our
    /// first answer reached it. Ignore it.
    Duplicate,
    /// A new request: the transfer has ended, or it completed and only
    /// dallies (a receiver's wait for a resent last DATA, in case its
    /// last ACK was lost; a client that asks anew from the same port got
    /// that ACK). End the transfer if it is still there, then admit the
    /// request again.
    New,
}

impl Repeat {
    /// Judge a request from `peer`, given what its transfer's events have
    /// said (`None`: the transfer has ended).
    pub fn judge(peer: SocketAddr, transfer: Option<&Outcome>) -> Repeat {
        match transfer {
            None => Repeat::New,
            Some(outcome) if outcome.completed() => Repeat::New,
            Some(_) => {
                tracing::debug!(%peer, "duplicate request ignored");
                Repeat::Duplicate
            }
        }
    }
}

/// A transfer to run: its machine, its file end, and what its log line
/// names.
#[derive(Debug)]
pub struct Start {
    /// Who, what and since when, for the log.
    pub label: Label,
    /// The machine, with its first answer (OACK, DATA or ACK) queued.
    pub transfer: Transfer,
    /// The opened file or the upload.
    pub local: FileEnd,
    /// The transfer's own socket (its transfer ID), bound on the request
    /// socket's address; `None` on a single-port server.
    pub socket: Option<UdpSocket>,
}

/// What a transfer's log line names.
#[derive(Debug, Clone)]
pub struct Label {
    /// The client's address.
    pub peer: SocketAddr,
    /// The file as requested.
    pub file: String,
    /// `read` or `write`.
    pub op: &'static str,
    /// When the transfer was accepted.
    pub started: StdInstant,
}

impl Label {
    /// Log the transfer's end (see [`log_transfer`]).
    pub fn log_end(&self, report: io::Result<Report>, bytes: u64) {
        log_transfer(
            self.peer,
            &self.file,
            self.op,
            report,
            bytes,
            self.started.elapsed(),
        );
    }
}

/// A request answered with one ERROR and nothing else. It needs no socket
/// of its own: it goes out of the request socket.
#[derive(Debug)]
pub struct Refusal {
    transfer: Box<Transfer>,
    file: String,
    op: &'static str,
}

impl Refusal {
    fn new(transfer: Box<Transfer>, file: &str, op: &'static str) -> Self {
        Refusal {
            transfer,
            file: file.to_owned(),
            op,
        }
    }

    /// The client refused.
    pub fn peer(&self) -> SocketAddr {
        self.transfer.peer()
    }

    /// Send the ERROR from `socket` and log the refusal.
    pub fn send(mut self, socket: &impl AsFd) {
        let peer = self.transfer.peer();
        let mut outcome = String::from("refused");
        while let Some(event) = self.transfer.poll_event() {
            if let Event::Failed(err) = event {
                outcome = err.to_string();
                if let Some(class) = ErrorClass::of_tftp(&err) {
                    Metrics::global().error(Protocol::Tftp, class);
                }
            }
        }
        while let Some(transmit) = self.transfer.poll_transmit() {
            send_datagram(socket, transmit.to, transmit.payload);
        }
        log_refusal(peer, &self.file, self.op, &outcome);
    }
}

impl Acceptor {
    /// Open the served root of `config`; file ends get `buffering`.
    pub fn open(config: &ServerConfig, buffering: Buffering) -> Result<Acceptor, ServerError> {
        let store = match &config.bucket {
            Some(bucket) => Store::S3(bucket.clone()),
            None => Store::Local(Root::new(&config.root).map_err(|source| ServerError::Root {
                path: config.root.clone(),
                source,
            })?),
        };
        Ok(Acceptor {
            store,
            policy: config.policy.clone(),
            max_transfers: config.max_transfers.max(1),
            max_per_ip: config.max_per_ip.map(|max| max.max(1)),
            buffering,
            remap: config.remap.clone(),
            ports: (!config.single_port).then(|| TransferPorts::new(config.transfer_ports.clone())),
            ip: config.bind.ip(),
        })
    }

    /// Transfers allowed at once (at least 1).
    pub fn max_transfers(&self) -> usize {
        self.max_transfers
    }

    /// Decide what the datagram `bytes` from `peer` does, given the
    /// transfers `running`: a new transfer (its file opened), a refusal
    /// (malformed, not allowed, storage says no, server busy), nothing (a
    /// repeated request), or none of these: not a request.
    pub fn admit(
        &self,
        peer: SocketAddr,
        bytes: &[u8],
        now: Instant,
        running: &impl Running,
    ) -> Admission {
        let Accepted { kind, request } = match accept_request(&self.policy, peer, bytes, now) {
            Ok(accepted) => accepted,
            Err(Some(refusal)) => return Admission::Refuse(Refusal::new(refusal, "-", "request")),
            Err(None) => return Admission::NotARequest,
        };
        let op = match kind {
            RequestKind::Read => "read",
            RequestKind::Write => "write",
        };
        let file = request.filename;
        if running.has_peer(peer) {
            return Admission::Repeated;
        }
        let refuse = |error, message: &str| {
            let refusal = Transfer::server_refuse(peer, error, message, now);
            Admission::Refuse(Refusal::new(Box::new(refusal), file, op))
        };
        if running.count() >= self.max_transfers {
            return refuse(LocalError::Other, "server busy");
        }
        // vsftpd's max_per_ip, for TFTP: one client cannot take every slot.
        if self
            .max_per_ip
            .is_some_and(|max| running.count_from(peer.ip()) >= max)
        {
            tracing::warn!(%peer, file, op, "tftp request refused: too many transfers from this address");
            return refuse(LocalError::Other, "too many transfers from your address");
        }
        let name = match self.file_name(peer, file, kind) {
            Ok(name) => name,
            Err(()) => return refuse(LocalError::PermissionDenied, "Access violation"),
        };
        let opened = match kind {
            RequestKind::Read => self.store.open_read(&name).map(|(body, len)| {
                (
                    Transfer::server_read(&self.policy, peer, &request, Some(len), now),
                    FileEnd::Read(FileSource::windowed(
                        body,
                        self.buffering.read_ahead,
                        self.buffering.window_read_ahead,
                    )),
                )
            }),
            RequestKind::Write => self.store.create_upload(&name).map(|upload| {
                (
                    Transfer::server_write(&self.policy, peer, &request, now),
                    FileEnd::Write(UploadSink::new(upload, self.buffering.write_behind)),
                )
            }),
        };
        match opened {
            Ok((transfer, local)) => {
                // Bound only now, so a missing file is still "not found"
                // when every port is taken. On failure the opened file or
                // upload is dropped here: nothing stays open, and an
                // upload leaves no temporary file.
                let socket = match &self.ports {
                    None => None,
                    Some(ports) => match ports.bind(self.ip) {
                        Ok(socket) => Some(socket),
                        Err(err) => {
                            tracing::warn!(%peer, file, op, error = %err, "tftp request refused: no transfer socket");
                            let message = if err.kind() == io::ErrorKind::AddrInUse {
                                "server busy: no free transfer port"
                            } else {
                                "server busy"
                            };
                            return refuse(LocalError::Other, message);
                        }
                    },
                };
                Admission::Start(Box::new(Start {
                    label: Label {
                        peer,
                        file: file.to_owned(),
                        op,
                        started: StdInstant::now(),
                    },
                    transfer,
                    local,
                    socket,
                }))
            }
            Err(err) => {
                let (error, message) = refusal_for(&err);
                refuse(error, message)
            }
        }
    }

    /// The name the root is asked for: `requested` rewritten by the map
    /// rules, then with backslashes as separators. `Err` when a rule
    /// refuses the request (logged here).
    fn file_name<'a>(
        &self,
        peer: SocketAddr,
        requested: &'a str,
        kind: RequestKind,
    ) -> Result<std::borrow::Cow<'a, str>, ()> {
        let Some(rules) = &self.remap else {
            return Ok(local_name(requested));
        };
        let direction = match kind {
            RequestKind::Read => Direction::Read,
            RequestKind::Write => Direction::Write,
        };
        match rules.apply(requested, peer.ip(), direction) {
            Ok(name) if name == requested => Ok(local_name(requested)),
            Ok(name) => {
                tracing::debug!(%peer, requested, rewritten = %name, "tftp filename remapped");
                Ok(std::borrow::Cow::Owned(local_name(&name).into_owned()))
            }
            Err(refusal) => {
                tracing::info!(%peer, requested, reason = %refusal, "tftp request refused by the map");
                Err(())
            }
        }
    }
}
