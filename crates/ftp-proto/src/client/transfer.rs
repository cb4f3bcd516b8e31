//! A transfer's dialogue: set up the data connection (EPSV/PASV or
//! EPRT/PORT), REST, the transfer command, then wait for both the data
//! connection's end and the server's final reply, in either order.

use alloc::string::String;
use core::net::{SocketAddr, SocketAddrV4};

use super::dialogue::{checked, Ctx, Flow};
use super::error::ClientError;
use super::event::Event;
use super::op::{DataMode, Outcome, Transfer, TransferKind};
use super::text;
use crate::command::{Command, EpsvArg};
use crate::format::Format;
use crate::reply::{Reply, ReplyCode};

/// Telnet IAC IP IAC DM: "interrupt process" then the Synch's data mark
/// (RFC 959 §4.1.3, ABOR; RFC 854).
const TELNET_INTERRUPT: [u8; 4] = [255, 244, 255, 242];

#[derive(Debug)]
pub(super) struct TransferOp {
    kind: TransferKind,
    path: Option<String>,
    offset: Option<u64>,
    mode: DataMode,
    stage: Stage,
    data: DataSide,
    /// A 1yz to the transfer command arrived.
    started: bool,
    /// A 2yz to the transfer command arrived.
    confirmed: bool,
    /// The operation has failed; report this once the outstanding reply
    /// is in (a negative reply, being more precise, wins).
    failed: Option<ClientError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// EPSV (`extended`) or PASV sent.
    Passive { extended: bool },
    /// `Event::Connect` given; waiting for the driver.
    AwaitConnect,
    /// `Event::Listen` given; waiting for the driver.
    AwaitListen,
    /// EPRT (`extended`) or PORT sent for the listener at `addr`.
    Port { extended: bool, addr: SocketAddr },
    /// REST sent.
    Rest,
    /// The transfer command sent.
    Command,
    /// ABOR sent; `finals` final replies still to come.
    Aborting { finals: u8 },
}

/// The data connection as the driver last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataSide {
    /// Not asked for yet.
    None,
    /// Connect or Listen asked for.
    Requested,
    /// Active: listening, not yet accepted.
    Listening,
    /// Connected.
    Open,
    /// Reached its clean end after this many bytes.
    Finished(u64),
    /// Failed, or closed by this side.
    Failed,
}

impl TransferOp {
    pub fn begin(t: Transfer, ctx: &mut Ctx<'_>) -> Result<(TransferOp, Flow), ClientError> {
        let needs_path = matches!(
            t.kind,
            TransferKind::Retrieve | TransferKind::Store | TransferKind::Append
        );
        match &t.path {
            Some(path) => {
                checked(path, true)?;
            }
            None if needs_path => return Err(ClientError::InvalidArgument("a path is required")),
            None => {}
        }
        if t.offset.is_some() && !matches!(t.kind, TransferKind::Retrieve | TransferKind::Store) {
            return Err(ClientError::InvalidArgument(
                "an offset applies to RETR and STOR only",
            ));
        }
        // An earlier REST may still hold on the server: undo it with
        // REST 0 before this transfer's command.
        let offset = t.offset.or(ctx.ext.rest_pending.then_some(0));
        let mut op = TransferOp {
            kind: t.kind,
            path: t.path,
            offset,
            mode: t.data,
            stage: Stage::AwaitListen,
            data: DataSide::Requested,
            started: false,
            confirmed: false,
            failed: None,
        };
        let flow = match op.mode {
            DataMode::Active => {
                ctx.events.push_back(Event::Listen);
                Flow::AwaitDriver
            }
            DataMode::Passive => {
                op.data = DataSide::None;
                op.send_passive(ctx)
            }
        };
        Ok((op, flow))
    }

    pub fn holds_data(&self) -> bool {
        matches!(
            self.data,
            DataSide::Requested | DataSide::Listening | DataSide::Open
        )
    }

    fn send_passive(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        // RFC 2428 §3; PASV cannot name an IPv6 address, so only EPSV
        // can serve an IPv6 server.
        let extended = ctx.peer.is_ipv6() || (ctx.config.prefer_epsv && !ctx.ext.epsv_refused);
        if extended {
            ctx.send(&Command::Epsv(EpsvArg::Any));
        } else {
            ctx.send(&Command::Pasv);
        }
        self.stage = Stage::Passive { extended };
        Flow::AwaitReply
    }

    fn send_port(&mut self, ctx: &mut Ctx<'_>, addr: SocketAddr) -> Flow {
        let extended = match addr {
            SocketAddr::V6(_) => true,
            SocketAddr::V4(_) => ctx.config.prefer_eprt && !ctx.ext.eprt_refused,
        };
        match addr {
            SocketAddr::V4(v4) if !extended => ctx.send(&Command::Port(v4)),
            _ => ctx.send(&Command::Eprt(addr)),
        }
        self.stage = Stage::Port { extended, addr };
        Flow::AwaitReply
    }

    /// The data connection is arranged: REST if resuming, then the
    /// transfer command. RFC 959 §4.1.3: REST is followed immediately
    /// by the command it modifies.
    fn after_setup(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        match self.offset {
            Some(offset) => {
                ctx.send(&Command::Rest(offset));
                self.stage = Stage::Rest;
                Flow::AwaitReply
            }
            None => self.send_command(ctx),
        }
    }

    fn send_command(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let path = self.path.as_deref();
        let command = match (self.kind, path) {
            (TransferKind::Retrieve, Some(p)) => Command::Retr(p),
            (TransferKind::Store, Some(p)) => Command::Stor(p),
            (TransferKind::Append, Some(p)) => Command::Appe(p),
            (TransferKind::StoreUnique, p) => Command::Stou(p),
            (TransferKind::List, p) => Command::List(p),
            (TransferKind::NameList, p) => Command::Nlst(p),
            (TransferKind::MachineList, p) => Command::Mlsd(p),
            // `begin` refused these without a path.
            (TransferKind::Retrieve | TransferKind::Store | TransferKind::Append, None) => {
                return self.fail(ctx, ClientError::InvalidArgument("a path is required"))
            }
        };
        ctx.send(&command);
        // The server has used (or dropped) any REST now.
        ctx.ext.rest_pending = false;
        self.stage = Stage::Command;
        self.waiting()
    }

    /// What the transfer command's stage waits for now.
    fn waiting(&self) -> Flow {
        match self.data {
            DataSide::Finished(_) | DataSide::Failed | DataSide::None | DataSide::Requested => {
                Flow::AwaitReply
            }
            DataSide::Open if self.started || self.confirmed => Flow::AwaitData,
            DataSide::Open => Flow::AwaitReply,
            DataSide::Listening if self.started => Flow::AwaitDriver,
            DataSide::Listening => Flow::AwaitReply,
        }
    }

    /// Ends the operation with `err`, telling the driver to drop what it
    /// holds.
    fn fail(&mut self, ctx: &mut Ctx<'_>, err: ClientError) -> Flow {
        if self.holds_data() {
            ctx.events.push_back(Event::CloseData);
        }
        self.data = DataSide::Failed;
        Flow::Done(Err(err))
    }

    /// The final reply to a set-up command arrived after the operation
    /// failed: report it now.
    fn settle(&mut self, ctx: &mut Ctx<'_>, reply: Reply) -> Result<Reply, Flow> {
        match self.failed.take() {
            None => Ok(reply),
            Some(err) => {
                let code = reply.code;
                let err = if code.is_transient_failure() || code.is_permanent_failure() {
                    ClientError::refused(reply)
                } else {
                    err
                };
                Err(self.fail(ctx, err))
            }
        }
    }

    fn negative_or_unexpected(&mut self, ctx: &mut Ctx<'_>, reply: Reply) -> Flow {
        let code = reply.code;
        let err = if code.is_transient_failure() || code.is_permanent_failure() {
            ClientError::refused(reply)
        } else {
            ClientError::unexpected(reply)
        };
        self.fail(ctx, err)
    }

    pub fn on_reply(&mut self, ctx: &mut Ctx<'_>, reply: Reply) -> Flow {
        let code = reply.code;
        if code.is_preliminary() && self.stage != Stage::Command {
            return Flow::Unchanged;
        }
        match self.stage {
            // Nothing outstanding: not ours.
            Stage::AwaitConnect | Stage::AwaitListen => Flow::Unchanged,
            Stage::Passive { extended } => {
                let reply = match self.settle(ctx, reply) {
                    Ok(reply) => reply,
                    Err(flow) => return flow,
                };
                if code.is_completion() {
                    let port = if extended {
                        text::epsv_port(&reply.text)
                    } else {
                        text::pasv_port(&reply.text)
                    };
                    return match port {
                        Some(port) => {
                            // The control peer's address, whatever a 227
                            // says: a server cannot send the data
                            // elsewhere (RFC 2577 §3 bounce).
                            let to = SocketAddr::new(ctx.peer.ip(), port);
                            ctx.events.push_back(Event::Connect(to));
                            self.data = DataSide::Requested;
                            self.stage = Stage::AwaitConnect;
                            Flow::AwaitDriver
                        }
                        None => self.fail(ctx, ClientError::unexpected(reply)),
                    };
                }
                if extended && code.is_permanent_failure() && ctx.peer.is_ipv4() {
                    // RFC 2428 §3 leaves old servers answering 500/502:
                    // fall back to PASV, and skip EPSV from now on.
                    ctx.ext.epsv_refused = true;
                    return self.send_passive(ctx);
                }
                self.negative_or_unexpected(ctx, reply)
            }
            Stage::Port { extended, addr } => {
                let reply = match self.settle(ctx, reply) {
                    Ok(reply) => reply,
                    Err(flow) => return flow,
                };
                if code.is_completion() {
                    return self.after_setup(ctx);
                }
                if extended && code.is_permanent_failure() && addr.is_ipv4() {
                    ctx.ext.eprt_refused = true;
                    if let SocketAddr::V4(v4) = addr {
                        ctx.send(&Command::Port(SocketAddrV4::new(*v4.ip(), v4.port())));
                        self.stage = Stage::Port {
                            extended: false,
                            addr,
                        };
                        return Flow::AwaitReply;
                    }
                }
                self.negative_or_unexpected(ctx, reply)
            }
            Stage::Rest => {
                if code == ReplyCode::PENDING {
                    // The offset holds on the server until a transfer
                    // command uses it, even if this operation ends first.
                    ctx.ext.rest_pending = true;
                }
                let reply = match self.settle(ctx, reply) {
                    Ok(reply) => reply,
                    Err(flow) => return flow,
                };
                // RFC 959 §5.4: REST -> 350.
                if code == ReplyCode::PENDING {
                    return self.send_command(ctx);
                }
                self.negative_or_unexpected(ctx, reply)
            }
            Stage::Command => self.on_command_reply(ctx, reply),
            Stage::Aborting { finals } => {
                // RFC 959 §4.1.3: the transfer's own reply (426, or 226
                // if it had finished), then ABOR's 226; 225 is ABOR's
                // reply when no transfer was running.
                if finals <= 1 || code == ReplyCode::DATA_OPEN {
                    Flow::Done(Err(ClientError::Aborted))
                } else {
                    self.stage = Stage::Aborting { finals: finals - 1 };
                    Flow::AwaitReply
                }
            }
        }
    }

    fn on_command_reply(&mut self, ctx: &mut Ctx<'_>, reply: Reply) -> Flow {
        let code = reply.code;
        if code.is_preliminary() {
            // RFC 959 §3.5: a 110 reports a restart marker the server
            // received (MODE B and C uploads); it neither starts a
            // transfer nor ends one. Repeated 1yz: nothing to do either.
            if self.started || self.confirmed || code == ReplyCode::RESTART_MARKER {
                if code == ReplyCode::RESTART_MARKER && self.started {
                    ctx.events
                        .push_back(Event::RestartMarker { text: reply.text });
                }
                return Flow::Unchanged;
            }
            self.started = true;
            if self.data == DataSide::Failed {
                // The driver has nothing left to move bytes on.
                return self.waiting();
            }
            // Accept first: a blocking driver accepts, then moves bytes.
            if self.data == DataSide::Listening {
                ctx.events.push_back(Event::Accept);
            }
            let unique = self.kind == TransferKind::StoreUnique;
            let format = match self.kind.carries_file() {
                true => Format {
                    representation: ctx.ext.transfer_type.representation(),
                    structure: ctx.ext.structure,
                    mode: ctx.ext.mode,
                    ..Format::IMAGE
                },
                false => Format {
                    mode: ctx.ext.mode,
                    ..Format::IMAGE
                },
            };
            ctx.events.push_back(Event::TransferStarted {
                size: text::size_hint(&reply.text),
                name: unique.then(|| text::unique_name(&reply.text)).flatten(),
                ascii: format == Format::ASCII,
                format,
                protected: ctx.ext.protected,
            });
            return self.waiting();
        }
        if self.confirmed {
            return Flow::Unchanged;
        }
        if !code.is_completion() {
            return self.negative_or_unexpected(ctx, reply);
        }
        self.confirmed = true;
        match self.data {
            DataSide::Finished(bytes) => Flow::Done(Ok(Outcome::Transferred { bytes })),
            DataSide::Failed => self.fail(ctx, ClientError::DataConnection),
            // Active, no 1yz, no connection: the server claims a
            // transfer that cannot have happened.
            DataSide::Listening if !self.started => self.fail(ctx, ClientError::unexpected(reply)),
            _ => self.waiting(),
        }
    }

    pub fn on_listening(&mut self, ctx: &mut Ctx<'_>, addr: SocketAddr) -> Option<Flow> {
        if self.stage != Stage::AwaitListen || self.data != DataSide::Requested {
            return None;
        }
        self.data = DataSide::Listening;
        Some(self.send_port(ctx, addr))
    }

    pub fn on_data_connected(&mut self, ctx: &mut Ctx<'_>) -> Option<Flow> {
        match (self.mode, self.stage, self.data) {
            (DataMode::Passive, Stage::AwaitConnect, DataSide::Requested) => {
                self.data = DataSide::Open;
                Some(self.after_setup(ctx))
            }
            (DataMode::Active, Stage::Port { .. } | Stage::Rest, DataSide::Listening) => {
                self.data = DataSide::Open;
                Some(Flow::AwaitReply)
            }
            (DataMode::Active, Stage::Command, DataSide::Listening) => {
                self.data = DataSide::Open;
                Some(self.waiting())
            }
            _ => None,
        }
    }

    pub fn on_data_finished(&mut self, ctx: &mut Ctx<'_>, bytes: u64) -> Option<Flow> {
        if self.data != DataSide::Open {
            return None;
        }
        if self.stage != Stage::Command {
            // The connection ended before the command that uses it.
            return self.on_data_failed(ctx);
        }
        self.data = DataSide::Finished(bytes);
        Some(if self.confirmed {
            Flow::Done(Ok(Outcome::Transferred { bytes }))
        } else {
            Flow::AwaitReply
        })
    }

    pub fn on_data_failed(&mut self, ctx: &mut Ctx<'_>) -> Option<Flow> {
        if !self.holds_data() {
            return None;
        }
        self.data = DataSide::Failed;
        Some(match self.stage {
            Stage::AwaitConnect | Stage::AwaitListen => self.fail(ctx, ClientError::DataConnection),
            Stage::Port { .. } | Stage::Rest | Stage::Passive { .. } => {
                self.failed = Some(ClientError::DataConnection);
                Flow::AwaitReply
            }
            Stage::Command if self.confirmed => self.fail(ctx, ClientError::DataConnection),
            // The server's reply (426, 425, ...) says more: wait for it.
            Stage::Command => Flow::AwaitReply,
            Stage::Aborting { .. } => Flow::Unchanged,
        })
    }

    pub fn abort(&mut self, ctx: &mut Ctx<'_>) -> Option<Flow> {
        match self.stage {
            Stage::Aborting { .. } => None,
            Stage::Passive { .. } | Stage::Port { .. } | Stage::Rest => {
                if self.failed.is_none() {
                    self.failed = Some(ClientError::Aborted);
                }
                if self.holds_data() {
                    ctx.events.push_back(Event::CloseData);
                }
                self.data = DataSide::Failed;
                Some(Flow::AwaitReply)
            }
            Stage::AwaitConnect | Stage::AwaitListen => Some(self.fail(ctx, ClientError::Aborted)),
            Stage::Command if self.confirmed => Some(self.fail(ctx, ClientError::Aborted)),
            Stage::Command => {
                if ctx.config.telnet_abort {
                    ctx.out.extend_from_slice(&TELNET_INTERRUPT);
                }
                ctx.send(&Command::Abor);
                if self.holds_data() {
                    ctx.events.push_back(Event::CloseData);
                }
                self.data = DataSide::Failed;
                self.stage = Stage::Aborting { finals: 2 };
                Some(Flow::AwaitReply)
            }
        }
    }
}
