//! The running operation: which command was sent, what reply may come,
//! what to send next. Transfers have their own module.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::config::ClientConfig;
use super::error::ClientError;
use super::event::Event;
use super::features::Features;
use super::op::{Op, Outcome, TransferType};
use super::text;
use super::transfer::TransferOp;
use crate::command::{self, Command, FormatControl, RepresentationType};
use crate::format::{Mode, Structure};
use crate::listing::parse_timeval;
use crate::reply::{Reply, ReplyCode};

/// What the client has to say to the driver and the server, lent to the
/// operation for one step.
pub(super) struct Ctx<'a> {
    pub out: &'a mut Vec<u8>,
    pub events: &'a mut VecDeque<Event>,
    pub peer: SocketAddr,
    pub config: &'a ClientConfig,
    pub ext: &'a mut Extensions,
}

impl Ctx<'_> {
    pub fn send(&mut self, command: &Command<'_>) {
        command.encode(self.out);
    }
}

/// What the client remembers about the server's session: RFC 2428
/// commands the server refused once (not tried again), the
/// representation type the server last accepted, and whether a REST
/// offset may still be in force there.
#[derive(Debug, Default)]
pub(super) struct Extensions {
    pub epsv_refused: bool,
    pub eprt_refused: bool,
    /// RFC 959 §3.1.1.5: a session starts in TYPE A; the data connection
    /// carries what the last accepted TYPE says.
    pub transfer_type: TransferType,
    /// STRU and MODE last accepted (F and S until then).
    pub structure: Structure,
    pub mode: Mode,
    /// A REST got its 350 but the transfer command it was for was never
    /// sent (the transfer was aborted or failed first). Servers differ
    /// on how long an unused REST lasts — some keep it across EPSV or
    /// PASV until the next RETR or STOR — so the next transfer sends
    /// `REST 0` first rather than start at the stale offset.
    pub rest_pending: bool,
    /// The control connection is TLS (AUTH TLS went through, or the
    /// session was implicit TLS from the start).
    pub secured: bool,
    /// The server accepted `PBSZ 0` (RFC 4217 §8: once, before PROT).
    pub pbsz: bool,
    /// The server accepted `PROT P` last (and not `PROT C` since).
    pub protected: bool,
}

/// What an operation waits for after a step.
#[derive(Debug)]
pub(super) enum Flow {
    /// A reply is outstanding.
    AwaitReply,
    /// The driver has to connect, bind or accept; no reply outstanding.
    AwaitDriver,
    /// Data is moving on the data connection.
    AwaitData,
    /// Nothing changed (an input with no meaning here).
    Unchanged,
    /// The operation ended; the session goes on.
    Done(Result<Outcome, ClientError>),
    /// The operation ended and so did the session (QUIT).
    Closed(Result<Outcome, ClientError>),
    /// AUTH's 234 is in: the driver handshakes before anything else.
    StartTls,
}

/// One running operation.
#[derive(Debug)]
pub(super) enum Dialogue {
    Login(Login),
    Single(Single),
    /// RNFR sent (`Some(to)`), or RNTO sent (`None`).
    Rename(Option<String>),
    Transfer(TransferOp),
    /// AUTH TLS sent.
    Auth,
    /// 234 in, the driver is handshaking.
    Handshake,
    /// PBSZ 0 sent (`Pbsz`) or PROT sent (`Prot`), for `private`.
    Protect {
        stage: ProtectStage,
        private: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProtectStage {
    Pbsz,
    Prot,
}

#[derive(Debug)]
pub(super) struct Login {
    stage: LoginStage,
    password: String,
    account: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginStage {
    User,
    Pass,
    Acct,
}

/// Operations of one command and one final reply, by what they make of
/// a positive reply.
#[derive(Debug)]
pub(super) enum Single {
    Plain,
    Features,
    Pwd,
    Size,
    Mdtm,
    MakeDir(String),
    SetType(TransferType),
    SetStructure(Structure),
    SetMode(Mode),
    Quit,
    Raw(Effect),
}

impl Single {
    /// What this command changes in the server's session once accepted.
    fn effect(&self) -> Effect {
        match self {
            Single::SetType(t) => Effect::Type(*t),
            Single::SetStructure(s) => Effect::Structure(*s),
            Single::SetMode(m) => Effect::Mode(*m),
            Single::Raw(effect) => *effect,
            _ => Effect::None,
        }
    }
}

/// What a command changes in the session once the server accepts it
/// (2yz), so that the client's idea of it stays true: `Op::SetType`, or
/// a raw line that is a TYPE or REIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    /// Nothing the client keeps track of.
    None,
    /// TYPE A, E or I (or L 8, which is I by another name).
    Type(TransferType),
    /// STRU F or R.
    Structure(Structure),
    /// MODE S, B or C.
    Mode(Mode),
    /// REIN: the server forgets the session's state (RFC 959 §4.1.1),
    /// back to TYPE A with no REST. The TLS session and its PBSZ/PROT
    /// stay: RFC 4217 has REIN leave the security state in place.
    Reinitialize,
    /// PROT P (true) or PROT C (false), sent raw (RFC 4217 §9).
    Protect(bool),
}

impl Effect {
    fn of(line: &str) -> Effect {
        match Command::parse(line.as_bytes()) {
            Ok(Command::Type(rep)) => match rep {
                RepresentationType::Ascii(_) => Effect::Type(TransferType::Ascii),
                RepresentationType::Image | RepresentationType::Local(8) => {
                    Effect::Type(TransferType::Binary)
                }
                RepresentationType::Ebcdic(FormatControl::NonPrint) => {
                    Effect::Type(TransferType::Ebcdic)
                }
                // Other byte sizes and format controls: nothing the client
                // can name; transfers keep reporting the last known type.
                _ => Effect::None,
            },
            Ok(Command::Stru(command::Structure::File)) => Effect::Structure(Structure::File),
            Ok(Command::Stru(command::Structure::Record)) => Effect::Structure(Structure::Record),
            Ok(Command::Mode(mode)) => Effect::Mode(mode),
            Ok(Command::Rein) => Effect::Reinitialize,
            Ok(Command::Prot(level)) if level.eq_ignore_ascii_case("P") => Effect::Protect(true),
            Ok(Command::Prot(level)) if level.eq_ignore_ascii_case("C") => Effect::Protect(false),
            _ => Effect::None,
        }
    }

    fn apply(self, ext: &mut Extensions) {
        match self {
            Effect::None => {}
            Effect::Type(t) => ext.transfer_type = t,
            Effect::Structure(s) => ext.structure = s,
            Effect::Mode(m) => ext.mode = m,
            Effect::Reinitialize => {
                ext.transfer_type = TransferType::Ascii;
                ext.structure = Structure::File;
                ext.mode = Mode::Stream;
                ext.rest_pending = false;
            }
            Effect::Protect(private) => ext.protected = private,
        }
    }
}

/// An argument fit to be sent: no CR or LF (RFC 959 §4.1: CR LF ends a
/// command), and not empty when `required`.
pub(super) fn checked(arg: &str, required: bool) -> Result<&str, ClientError> {
    if arg.contains(['\r', '\n']) {
        return Err(ClientError::InvalidArgument("CR or LF in an argument"));
    }
    if required && arg.is_empty() {
        return Err(ClientError::InvalidArgument("empty argument"));
    }
    Ok(arg)
}

/// A final reply for a command whose only success is 2yz.
fn completion(reply: Reply) -> Result<Reply, ClientError> {
    let code = reply.code;
    if code.is_completion() {
        Ok(reply)
    } else if code.is_transient_failure() || code.is_permanent_failure() {
        Err(ClientError::refused(reply))
    } else {
        Err(ClientError::unexpected(reply))
    }
}

impl Dialogue {
    /// Sends the operation's first command. `Err`: the operation cannot
    /// be sent; nothing was.
    pub fn begin(op: Op, ctx: &mut Ctx<'_>) -> Result<(Dialogue, Flow), ClientError> {
        let single = |ctx: &mut Ctx<'_>, command: Command<'_>, kind: Single| {
            ctx.send(&command);
            Ok((Dialogue::Single(kind), Flow::AwaitReply))
        };
        match op {
            Op::Login {
                user,
                password,
                account,
            } => {
                let user = checked(&user, true)?;
                checked(&password, false)?;
                if let Some(account) = &account {
                    checked(account, true)?;
                }
                ctx.send(&Command::User(user));
                let login = Login {
                    stage: LoginStage::User,
                    password,
                    account,
                };
                Ok((Dialogue::Login(login), Flow::AwaitReply))
            }
            Op::Features => single(ctx, Command::Feat, Single::Features),
            Op::SetType(t) => {
                let rep = match t {
                    TransferType::Binary => RepresentationType::Image,
                    TransferType::Ascii => RepresentationType::Ascii(FormatControl::NonPrint),
                    TransferType::Ebcdic => RepresentationType::Ebcdic(FormatControl::NonPrint),
                };
                single(ctx, Command::Type(rep), Single::SetType(t))
            }
            Op::SetStructure(s) => {
                let command = match s {
                    Structure::File => command::Structure::File,
                    Structure::Record => command::Structure::Record,
                };
                single(ctx, Command::Stru(command), Single::SetStructure(s))
            }
            Op::SetMode(m) => single(ctx, Command::Mode(m), Single::SetMode(m)),
            Op::Cwd(path) => single(ctx, Command::Cwd(checked(&path, true)?), Single::Plain),
            Op::Cdup => single(ctx, Command::Cdup, Single::Plain),
            Op::Pwd => single(ctx, Command::Pwd, Single::Pwd),
            Op::Size(path) => single(ctx, Command::Size(checked(&path, true)?), Single::Size),
            Op::Mdtm(path) => single(ctx, Command::Mdtm(checked(&path, true)?), Single::Mdtm),
            Op::MakeDir(path) => {
                let command = Command::Mkd(checked(&path, true)?);
                ctx.send(&command);
                Ok((Dialogue::Single(Single::MakeDir(path)), Flow::AwaitReply))
            }
            Op::SetModified { path, modified } => {
                let path = checked(&path, true)?;
                single(ctx, Command::Mfmt { modified, path }, Single::Plain)
            }
            Op::RemoveDir(path) => single(ctx, Command::Rmd(checked(&path, true)?), Single::Plain),
            Op::Delete(path) => single(ctx, Command::Dele(checked(&path, true)?), Single::Plain),
            Op::Rename { from, to } => {
                checked(&to, true)?;
                ctx.send(&Command::Rnfr(checked(&from, true)?));
                Ok((Dialogue::Rename(Some(to)), Flow::AwaitReply))
            }
            Op::Noop => single(ctx, Command::Noop, Single::Plain),
            Op::Quit => single(ctx, Command::Quit, Single::Quit),
            Op::Raw(line) => {
                ctx.out.extend_from_slice(checked(&line, true)?.as_bytes());
                ctx.out.extend_from_slice(b"\r\n");
                let effect = Effect::of(&line);
                Ok((Dialogue::Single(Single::Raw(effect)), Flow::AwaitReply))
            }
            Op::Transfer(t) => {
                let (op, flow) = TransferOp::begin(t, ctx)?;
                Ok((Dialogue::Transfer(op), flow))
            }
            Op::AuthTls => {
                if ctx.ext.secured {
                    return Err(ClientError::InvalidArgument(
                        "the control connection is already TLS",
                    ));
                }
                ctx.send(&Command::Auth("TLS"));
                Ok((Dialogue::Auth, Flow::AwaitReply))
            }
            Op::ProtectData { private } => {
                if !ctx.ext.secured {
                    return Err(ClientError::InvalidArgument(
                        "data protection needs a TLS control connection (AUTH TLS first)",
                    ));
                }
                let stage = if ctx.ext.pbsz {
                    ctx.send(&Command::Prot(if private { "P" } else { "C" }));
                    ProtectStage::Prot
                } else {
                    ctx.send(&Command::Pbsz("0"));
                    ProtectStage::Pbsz
                };
                Ok((Dialogue::Protect { stage, private }, Flow::AwaitReply))
            }
        }
    }

    /// One reply for this operation (421 is handled before).
    pub fn on_reply(&mut self, ctx: &mut Ctx<'_>, reply: Reply) -> Flow {
        if let Dialogue::Transfer(t) = self {
            return t.on_reply(ctx, reply);
        }
        // RFC 959 §4.2: a 1yz comes before the final reply; outside
        // transfers nothing is made of it.
        if reply.code.is_preliminary() {
            return Flow::AwaitReply;
        }
        match self {
            Dialogue::Login(login) => login.on_reply(ctx, reply),
            Dialogue::Single(kind) => {
                if reply.code.is_completion() {
                    kind.effect().apply(ctx.ext);
                }
                kind.on_reply(reply)
            }
            Dialogue::Rename(to) => match to.take() {
                Some(to) => {
                    if reply.code == ReplyCode::PENDING {
                        ctx.send(&Command::Rnto(&to));
                        Flow::AwaitReply
                    } else {
                        Flow::Done(completion(reply).and_then(|r| Err(ClientError::unexpected(r))))
                    }
                }
                None => Flow::Done(completion(reply).map(|_| Outcome::Ok)),
            },
            // RFC 4217 §4: 234 and nothing else starts the handshake.
            Dialogue::Auth if reply.code == ReplyCode::AUTH_OK => {
                *self = Dialogue::Handshake;
                Flow::StartTls
            }
            Dialogue::Auth => {
                Flow::Done(completion(reply).and_then(|r| Err(ClientError::unexpected(r))))
            }
            // The server says nothing while the handshake runs; a reply
            // now would be bytes the driver should not have fed.
            Dialogue::Handshake => Flow::Unchanged,
            Dialogue::Protect { stage, private } => {
                let private = *private;
                if let Err(err) = completion(reply) {
                    return Flow::Done(Err(err));
                }
                match stage {
                    ProtectStage::Pbsz => {
                        // RFC 4217 §8: a `200 PBSZ=n` naming another size
                        // changes nothing: TLS has no use for any but 0.
                        ctx.ext.pbsz = true;
                        ctx.send(&Command::Prot(if private { "P" } else { "C" }));
                        *stage = ProtectStage::Prot;
                        Flow::AwaitReply
                    }
                    ProtectStage::Prot => {
                        ctx.ext.protected = private;
                        Flow::Done(Ok(Outcome::Ok))
                    }
                }
            }
            Dialogue::Transfer(_) => unreachable!("handled above"),
        }
    }

    /// The control connection closed: QUIT got what it wanted.
    pub fn on_eof(&self) -> Option<Flow> {
        match self {
            Dialogue::Single(Single::Quit) => Some(Flow::Closed(Ok(Outcome::Ok))),
            _ => None,
        }
    }

    /// True while the driver may hold a data connection or listener for
    /// this operation.
    pub fn holds_data(&self) -> bool {
        match self {
            Dialogue::Transfer(t) => t.holds_data(),
            _ => false,
        }
    }
}

impl Login {
    /// RFC 959 §5.4: USER -> 230 | 331 (PASS) | 332 (ACCT); PASS -> 230 |
    /// 202 | 332; ACCT -> 230 | 202.
    fn on_reply(&mut self, ctx: &mut Ctx<'_>, reply: Reply) -> Flow {
        let code = reply.code;
        if code == ReplyCode::NEED_PASSWORD && self.stage == LoginStage::User {
            ctx.send(&Command::Pass(&self.password));
            self.stage = LoginStage::Pass;
            return Flow::AwaitReply;
        }
        if code == ReplyCode::NEED_ACCOUNT && self.stage != LoginStage::Acct {
            if let Some(account) = &self.account {
                ctx.send(&Command::Acct(account));
                self.stage = LoginStage::Acct;
                return Flow::AwaitReply;
            }
            // Asked for an account we were not given: the server's words
            // say why the login did not complete.
            return Flow::Done(Err(ClientError::refused(reply)));
        }
        Flow::Done(completion(reply).map(|_| Outcome::Ok))
    }
}

impl Single {
    fn on_reply(&mut self, reply: Reply) -> Flow {
        let code = reply.code;
        match self {
            // RFC 2389 §3: a server without FEAT answers 500/502.
            Single::Features if code.is_permanent_failure() => {
                Flow::Done(Ok(Outcome::Features(Features::default())))
            }
            Single::Quit => Flow::Closed(completion(reply).map(|_| Outcome::Ok)),
            Single::Raw(_) if !code.is_transient_failure() && !code.is_permanent_failure() => {
                Flow::Done(Ok(Outcome::Reply(reply)))
            }
            _ => Flow::Done(completion(reply).and_then(|r| self.value(r))),
        }
    }

    /// The value of a positive reply.
    fn value(&mut self, reply: Reply) -> Result<Outcome, ClientError> {
        let bad = |reply| Err(ClientError::unexpected(reply));
        match self {
            Single::Plain
            | Single::SetType(_)
            | Single::SetStructure(_)
            | Single::SetMode(_)
            | Single::Quit
            | Single::Raw(_) => Ok(Outcome::Ok),
            Single::Features => Ok(Outcome::Features(Features::parse(&reply.text))),
            Single::Pwd => match text::quoted_path(&reply.text) {
                Some(path) => Ok(Outcome::Path(path)),
                None => bad(reply),
            },
            Single::MakeDir(asked) => Ok(Outcome::Path(
                text::quoted_path(&reply.text).unwrap_or_else(|| core::mem::take(asked)),
            )),
            // RFC 3659 §4.2: `213 <size>`.
            Single::Size => match text::decimal(text::status_value(&reply.text)) {
                Some(size) => Ok(Outcome::Size(size)),
                None => bad(reply),
            },
            // RFC 3659 §3.2: `213 YYYYMMDDHHMMSS[.sss]`.
            Single::Mdtm => match parse_timeval(text::status_value(&reply.text)) {
                Some(secs) => Ok(Outcome::Modified(secs)),
                None => bad(reply),
            },
        }
    }
}
