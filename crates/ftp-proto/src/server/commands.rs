//! One command line in, one final reply (or one request) out. The reply
//! codes follow RFC 959 §5.4 ("Sequencing of commands and replies") and
//! the extensions' own sections, cited where chosen.

use alloc::format;
use alloc::string::String;
use core::net::{IpAddr, SocketAddr};

use super::event::{CloseReason, Event, LogEvent};
use super::ops::{
    DataChannel, HashAlgorithm, Operation, Pattern, StoreMode, Transfer, TransferKind,
};
use super::session::{Data, Login, Restart, Running, SetTime, State, Stop, Then, User, Wait};
use super::text;
use crate::command::{
    Command, EpsvArg, FormatControl, ParseError, RepresentationType, Structure, TransferMode,
};
use crate::format::{self, Format, Representation};
use crate::listing::{parse_timeval, Facts, ListFormat, TIMEVAL_MAX, TIMEVAL_MIN};
use crate::path::{write_quoted, RootPath};
use crate::reply::ReplyCode;
use crate::Instant;

/// The name STOU starts from when given none (RFC 959 leaves it to the
/// server).
const STOU_DEFAULT_NAME: &str = "upload";

impl State {
    /// Handles one complete line (not during a transfer).
    pub(super) fn handle_line(&mut self, now: Instant, line: &[u8]) {
        // RNFR applies to the very next command only (RFC 959 §4.1.3).
        // So does REST in RFC 3659 §5.3, but clients that set up the data
        // connection between REST and the transfer (REST, PASV, RETR) are
        // common, and dropping the offset there would send the whole file
        // where the client expects the rest of it: data-connection setup
        // and TYPE keep it, as vsftpd does.
        let rnfr = self.rnfr.take();
        let parsed = Command::parse(line);
        let keeps_rest = matches!(
            parsed,
            Ok(Command::Port(_)
                | Command::Eprt(_)
                | Command::Pasv
                | Command::Epsv(_)
                | Command::Type(_))
        );
        let rest = if keeps_rest {
            self.rest
        } else {
            self.rest.take()
        };
        match parsed {
            Ok(cmd) => self.command(now, cmd, rest, rnfr),
            Err(e) => self.parse_error(e),
        }
    }

    fn parse_error(&mut self, e: ParseError) {
        let (code, text) = match e {
            ParseError::Empty | ParseError::BadVerb => {
                (ReplyCode::SYNTAX_ERROR, String::from("Unknown command."))
            }
            ParseError::NotUtf8 => (
                ReplyCode::PARAMETER_SYNTAX,
                String::from("Command line is not UTF-8."),
            ),
            // RFC 2428 §2/§3: 522 names the protocols we do support.
            ParseError::UnsupportedNetworkProtocol => (
                ReplyCode::PROTOCOL_NOT_SUPPORTED,
                format!("Network protocol not supported, use ({}).", self.family()),
            ),
            other => (
                ReplyCode::PARAMETER_SYNTAX,
                format!("Syntax error: {other}."),
            ),
        };
        self.answer("?", None, code, &text);
    }

    /// RFC 2428's protocol number of the control connection.
    fn family(&self) -> u8 {
        match self.local_ip {
            IpAddr::V4(_) => 1,
            IpAddr::V6(_) => 2,
        }
    }

    fn command(
        &mut self,
        now: Instant,
        cmd: Command<'_>,
        rest: Option<Restart>,
        rnfr: Option<RootPath>,
    ) {
        let verb = cmd.verb();
        if let Command::Unknown { .. } = cmd {
            return self.answer(verb, None, ReplyCode::SYNTAX_ERROR, "Unknown command.");
        }
        if needs_login(&cmd) && !matches!(self.login, Login::In(_)) {
            return self.answer(
                verb,
                None,
                ReplyCode::NOT_LOGGED_IN,
                "Please login with USER and PASS.",
            );
        }
        match cmd {
            Command::User(name) => self.user_command(name),
            Command::Pass(password) => self.pass(password),
            Command::Acct(_) => match self.login {
                // RFC 959 §5.4: ACCT after login is superfluous here.
                Login::In(_) => self.answer(verb, None, ReplyCode::SUPERFLUOUS, "ACCT not needed."),
                _ => self.answer(
                    verb,
                    None,
                    ReplyCode::BAD_SEQUENCE,
                    "Login with USER first.",
                ),
            },
            Command::Rein => self.reinitialize(),
            Command::Quit => {
                self.answer(verb, None, ReplyCode::CLOSING, "Goodbye.");
                self.close(CloseReason::Quit);
            }
            Command::Noop => self.answer(verb, None, ReplyCode::OK, "NOOP ok."),
            Command::Syst => self.answer(verb, None, ReplyCode::SYSTEM_TYPE, "UNIX Type: L8"),
            Command::Feat => {
                let text = text::features(&self.facts, self.policy.tls.offered, self.hash);
                self.answer(verb, None, ReplyCode::SYSTEM_STATUS, &text)
            }
            Command::Help(None) => {
                self.answer(verb, None, ReplyCode::HELP, &text::help());
            }
            Command::Help(Some(topic)) => {
                let topic = topic.trim();
                if text::VERBS.iter().any(|v| v.eq_ignore_ascii_case(topic)) {
                    let text = format!("Command {} is recognized.", topic.to_ascii_uppercase());
                    self.answer(verb, None, ReplyCode::HELP, &text)
                } else {
                    self.answer(
                        verb,
                        None,
                        ReplyCode::NOT_IMPLEMENTED,
                        "Unknown command; HELP lists them.",
                    )
                }
            }
            Command::Opts(arg) => self.opts(arg),
            Command::Auth(mechanism) => self.auth(now, mechanism),
            Command::Pbsz(size) => self.pbsz(size),
            Command::Prot(level) => self.prot(level),
            Command::Ccc => self.ccc(),
            Command::Smnt(_) => self.answer(
                verb,
                None,
                ReplyCode::NOT_IMPLEMENTED,
                "SMNT not implemented.",
            ),
            Command::Site(arg) => {
                let arg = arg.trim_start_matches(' ');
                let (sub, rest) = arg.split_once(' ').unwrap_or((arg, ""));
                if sub.eq_ignore_ascii_case("HELP") {
                    self.answer(verb, None, ReplyCode::HELP, "SITE UTIME is offered.")
                } else if sub.eq_ignore_ascii_case("UTIME") {
                    match site_utime(rest) {
                        Some((modified, path)) => {
                            self.set_modified(verb, modified, path, SetTime::SiteUtime)
                        }
                        None => self.answer(
                            verb,
                            None,
                            ReplyCode::PARAMETER_SYNTAX,
                            "Use SITE UTIME YYYYMMDDHHMM[SS] path, or SITE UTIME path atime mtime ctime UTC.",
                        ),
                    }
                } else {
                    self.answer(
                        verb,
                        None,
                        ReplyCode::NOT_IMPLEMENTED,
                        "SITE command not implemented.",
                    )
                }
            }
            Command::Type(t) => self.set_type(t),
            Command::Stru(structure) => self.set_structure(structure),
            Command::Mode(mode) => self.set_mode(mode),
            Command::Allo(..) => {
                self.answer(verb, None, ReplyCode::SUPERFLUOUS, "ALLO not needed.")
            }
            Command::Rest(offset) => {
                self.rest = Some(Restart::Offset(offset));
                let text = format!("Restarting at {offset}. Send RETR, STOR or APPE.");
                self.answer(verb, None, ReplyCode::PENDING, &text)
            }
            // draft-bryan-ftp-range §3: `RANG 1 0` takes the range back;
            // any other start after its end is a syntax error.
            Command::Rang { start: 1, end: 0 } => {
                self.rest = None;
                self.answer(
                    verb,
                    None,
                    ReplyCode::PENDING,
                    "Range reset; transfers send whole files.",
                )
            }
            Command::Rang { start, end } if start > end => self.answer(
                verb,
                None,
                ReplyCode::PARAMETER_SYNTAX,
                "RANG start must not be after its end.",
            ),
            Command::Rang { start, end } => {
                self.rest = Some(Restart::Range { start, end });
                let text = format!("Restarting at {start}. Ending byte {end}. Send RETR.");
                self.answer(verb, None, ReplyCode::PENDING, &text)
            }
            Command::Pwd => {
                // RFC 959 Appendix II: 257 "<path>", quotes doubled.
                let mut text = String::new();
                write_quoted(&mut text, &self.current_user().cwd.to_absolute());
                text.push_str(" is the current directory.");
                self.answer(verb, None, ReplyCode::PATH_CREATED, &text)
            }
            Command::Cwd(arg) => {
                let Some((shown, full)) = self.resolve(verb, arg) else {
                    return;
                };
                let op = Operation::Stat { path: full.clone() };
                self.request(verb, Some(full), op, Then::ChangeDir { cwd: shown });
            }
            Command::Cdup => {
                let user = self.current_user();
                let shown = user.cwd.parent();
                let full = user.home.join(&shown);
                let op = Operation::Stat { path: full.clone() };
                self.request(verb, Some(full), op, Then::ChangeDir { cwd: shown });
            }
            Command::Mkd(arg) => {
                let Some((shown, full)) = self.resolve_for_write(verb, arg) else {
                    return;
                };
                let op = Operation::MakeDir { path: full.clone() };
                self.request(verb, Some(full), op, Then::MakeDir { shown });
            }
            Command::Rmd(arg) => {
                let Some((_, full)) = self.resolve_for_write(verb, arg) else {
                    return;
                };
                let op = Operation::RemoveDir { path: full.clone() };
                self.request(verb, Some(full), op, Then::Done);
            }
            Command::Dele(arg) => {
                let Some((_, full)) = self.resolve_for_write(verb, arg) else {
                    return;
                };
                let op = Operation::Delete { path: full.clone() };
                self.request(verb, Some(full), op, Then::Done);
            }
            Command::Rnfr(arg) => {
                let Some((_, full)) = self.resolve_for_write(verb, arg) else {
                    return;
                };
                let op = Operation::Stat { path: full.clone() };
                self.request(verb, Some(full), op, Then::RenameFrom);
            }
            Command::Rnto(arg) => {
                // RFC 959 §4.1.3: RNTO must immediately follow RNFR.
                let Some(from) = rnfr else {
                    return self.answer(
                        verb,
                        None,
                        ReplyCode::BAD_SEQUENCE,
                        "RNFR required first.",
                    );
                };
                let Some((_, to)) = self.resolve_for_write(verb, arg) else {
                    return;
                };
                let op = Operation::Rename {
                    from,
                    to: to.clone(),
                };
                self.request(verb, Some(to), op, Then::Done);
            }
            Command::Size(arg) => self.stat_request(verb, Some(arg), Then::Size),
            Command::Mdtm(arg) => match mdtm_set(arg) {
                // The older form that sets the time (rclone's
                // --ftp-writing-mdtm, some ftp(1) clients).
                Some((modified, path)) => self.set_modified(verb, modified, path, SetTime::Mdtm),
                None => self.stat_request(verb, Some(arg), Then::Mdtm),
            },
            Command::Mfmt { modified, path } => {
                let shown = String::from(path);
                self.set_modified(verb, modified, path, SetTime::Mfmt { modified, shown })
            }
            Command::Hash(arg) => {
                let Some((_, full)) = self.resolve(verb, arg) else {
                    return;
                };
                let op = Operation::Hash {
                    path: full.clone(),
                    algorithm: self.hash,
                };
                let then = Then::Hashed {
                    algorithm: self.hash,
                    shown: String::from(arg),
                };
                self.request(verb, Some(full), op, then);
            }
            Command::Mlst(arg) => {
                let Some((shown, full)) = self.resolve_or_cwd(verb, arg) else {
                    return;
                };
                let op = Operation::Stat { path: full.clone() };
                self.request(verb, Some(full), op, Then::Mlst { shown });
            }
            Command::Stat(arg) if arg.map_or(true, |a| a.trim().is_empty()) => {
                let text = self.status();
                self.answer(verb, None, ReplyCode::SYSTEM_STATUS, &text)
            }
            Command::Stat(Some(arg)) => {
                // `STAT -la` (options only) is the current directory, as
                // for LIST; only a bare STAT reports the session.
                let arg = Some(strip_list_options(arg));
                let Some((shown, full)) = self.resolve_or_cwd(verb, arg) else {
                    return;
                };
                let op = Operation::List { path: full.clone() };
                self.request(verb, Some(full), op, Then::Status { shown });
            }
            Command::Abor => {
                // RFC 959 §4.1.3: no transfer running: 225 when a data
                // connection (our listener) is open, which is closed, else
                // 226. Either way ABOR ends the data setup: a PORT given
                // before it does not carry over to the next transfer.
                if core::mem::take(&mut self.abor_held) {
                    // This ABOR stopped the transfer before its turn came.
                    self.data = Data::None;
                    return self.answer(verb, None, ReplyCode::CLOSING_DATA, "ABOR successful.");
                }
                match core::mem::replace(&mut self.data, Data::None) {
                    Data::Passive => {
                        self.event(Event::ReleaseData);
                        self.answer(verb, None, ReplyCode::DATA_OPEN, "No transfer to ABOR.")
                    }
                    _ => self.answer(verb, None, ReplyCode::CLOSING_DATA, "No transfer to ABOR."),
                }
            }
            Command::Port(addr) => self.active(verb, SocketAddr::V4(addr)),
            Command::Eprt(addr) => self.active(verb, addr),
            Command::Pasv => {
                if self.epsv_all {
                    return self.refuse_after_epsv_all(verb);
                }
                if self.local_ip.is_ipv6() {
                    // RFC 2428 §1: a 227 cannot carry an IPv6 address.
                    return self.answer(
                        verb,
                        None,
                        ReplyCode::PROTOCOL_NOT_SUPPORTED,
                        "PASV needs IPv4; use EPSV.",
                    );
                }
                self.listen(verb, false)
            }
            Command::Epsv(EpsvArg::All) => {
                // RFC 2428 §4: from now on only EPSV sets up data connections.
                self.epsv_all = true;
                self.answer(verb, None, ReplyCode::OK, "EPSV ALL ok.")
            }
            Command::Epsv(EpsvArg::Protocol(p)) if p != self.family() => {
                let text = format!("Network protocol not supported, use ({}).", self.family());
                self.answer(verb, None, ReplyCode::PROTOCOL_NOT_SUPPORTED, &text)
            }
            Command::Epsv(_) => self.listen(verb, true),
            Command::Retr(arg) => {
                let Some((_, full)) = self.resolve(verb, arg) else {
                    return;
                };
                let (offset, len) = match rest {
                    None => (0, None),
                    Some(Restart::Offset(offset)) => (offset, None),
                    Some(Restart::Range { start, end }) => (start, Some(end - start + 1)),
                };
                let kind = TransferKind::Retrieve {
                    path: full.clone(),
                    offset,
                    len,
                };
                self.transfer(verb, full, kind, false, false);
            }
            Command::Stor(arg) => {
                let Some((_, full)) = self.resolve_for_write(verb, arg) else {
                    return;
                };
                // RFC 3659 §5.3: REST then STOR writes from the offset.
                let mode = match rest {
                    Some(Restart::Offset(offset)) if offset > 0 => StoreMode::Resume(offset),
                    // Writing into the middle of a file cannot be made
                    // atomic as every other upload is (the old file stays
                    // until the new one is whole), so a range is refused
                    // before anything is opened.
                    Some(Restart::Range { .. }) => {
                        return self.answer(
                            verb,
                            None,
                            ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                            "RANG applies to RETR only; the range is reset.",
                        )
                    }
                    _ => StoreMode::Replace,
                };
                let kind = TransferKind::Store {
                    path: full.clone(),
                    mode,
                };
                self.transfer(verb, full, kind, false, false);
            }
            Command::Appe(arg) => {
                let Some((_, full)) = self.resolve_for_write(verb, arg) else {
                    return;
                };
                let kind = TransferKind::Store {
                    path: full.clone(),
                    mode: StoreMode::Append,
                };
                self.transfer(verb, full, kind, false, false);
            }
            Command::Stou(arg) => {
                let arg = arg.filter(|a| !a.is_empty()).unwrap_or(STOU_DEFAULT_NAME);
                let Some((_, full)) = self.resolve_for_write(verb, arg) else {
                    return;
                };
                let kind = TransferKind::Store {
                    path: full.clone(),
                    mode: StoreMode::Unique,
                };
                self.transfer(verb, full, kind, true, false);
            }
            Command::List(arg) => self.listing(verb, arg, ListFormat::Long),
            Command::Nlst(arg) => self.listing(verb, arg, ListFormat::Names),
            Command::Mlsd(arg) => {
                let format = ListFormat::Machine(self.facts());
                self.listing(verb, arg, format)
            }
            // Unknown was answered above; anything newer is not offered.
            _ => self.answer(verb, None, ReplyCode::NOT_IMPLEMENTED, "Not implemented."),
        }
    }

    /// The logged-in user (only called after the login check).
    fn current_user(&self) -> &User {
        match &self.login {
            Login::In(user) => user,
            _ => unreachable!("commands that need a user are refused before login"),
        }
    }
}

/// Commands that may come before login: the login dialogue itself,
/// QUIT and REIN, and what a client asks before logging in (FEAT per
/// RFC 2389 §3, OPTS UTF8 per RFC 2640 §3.2, AUTH per RFC 4217 §4).
fn needs_login(cmd: &Command<'_>) -> bool {
    !matches!(
        cmd,
        Command::User(_)
            | Command::Pass(_)
            | Command::Acct(_)
            | Command::Rein
            | Command::Quit
            | Command::Noop
            | Command::Syst
            | Command::Feat
            | Command::Help(_)
            | Command::Opts(_)
            | Command::Auth(_)
            | Command::Pbsz(_)
            | Command::Prot(_)
            | Command::Ccc
    )
}

/// A LIST or NLST argument whose last component has wildcards: the
/// directory part as written (`dir/`, `/`, or empty for the current
/// directory) and the pattern. Wildcards elsewhere are literal.
fn split_pattern(arg: &str) -> Option<(&str, &str)> {
    let (dir, last) = match arg.rfind('/') {
        Some(i) => arg.split_at(i + 1),
        None => ("", arg),
    };
    crate::glob::is_pattern(last).then_some((dir, last))
}

/// A time-val that could be written back: years 1000 to 9999 (RFC 3659 §2.3).
fn timeval(text: &str) -> Option<i64> {
    parse_timeval(text).filter(|t| (TIMEVAL_MIN..=TIMEVAL_MAX).contains(t))
}

/// `MDTM YYYYMMDDHHMMSS[.sss] path`: the two-argument form that sets the
/// time. An argument whose first word is no time-val is a path to query.
fn mdtm_set(arg: &str) -> Option<(i64, &str)> {
    let (time, path) = arg.split_once(' ')?;
    if path.is_empty() {
        return None;
    }
    Some((timeval(time)?, path))
}

/// SITE UTIME in the two forms clients send: `YYYYMMDDHHMM[SS] path`
/// (ProFTPD's mod_site_misc) and `path atime mtime ctime UTC` (lftp and
/// others, times as time-vals; the modification time is the second).
fn site_utime(args: &str) -> Option<(i64, &str)> {
    if let Some(front) = args
        .strip_suffix(" UTC")
        .or_else(|| args.strip_suffix(" utc"))
    {
        let mut parts = front.rsplitn(4, ' ');
        let (_ctime, mtime, _atime) = (parts.next()?, parts.next()?, parts.next()?);
        if let Some(path) = parts.next().filter(|p| !p.is_empty()) {
            if let Some(modified) = timeval(mtime) {
                return Some((modified, path));
            }
        }
    }
    let (time, path) = args.split_once(' ')?;
    if path.is_empty() || !time.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let modified = match time.len() {
        14 => timeval(time)?,
        12 => timeval(&format!("{time}00"))?,
        _ => return None,
    };
    Some((modified, path))
}

/// LIST and NLST arguments that start with `-` are `ls` options many
/// clients send (`LIST -la`, `LIST -l dir`); they are dropped, leaving
/// the path (possibly empty: the current directory).
fn strip_list_options(arg: &str) -> &str {
    let mut rest = arg.trim_start();
    while rest.starts_with('-') {
        rest = match rest.find(' ') {
            Some(i) => rest[i..].trim_start(),
            None => "",
        };
    }
    rest
}

impl State {
    /// `--require-tls`: no login dialogue on a clear control connection
    /// (RFC 4217 §11; 530 as vsftpd's `force_local_logins_ssl` answers),
    /// for anonymous users too. True if refused.
    fn refuse_clear_login(&mut self, verb: &'static str) -> bool {
        if !self.policy.tls.required || self.tls.control {
            return false;
        }
        self.answer(
            verb,
            None,
            ReplyCode::NOT_LOGGED_IN,
            "Login in clear refused: use AUTH TLS first.",
        );
        true
    }

    fn user_command(&mut self, name: &str) {
        if self.refuse_clear_login("USER") {
            return;
        }
        // RFC 959 §4.1.1: USER may come at any time and starts a new login.
        let anonymous = self.policy.anonymous.is_some()
            && (name.eq_ignore_ascii_case("anonymous") || name.eq_ignore_ascii_case("ftp"));
        self.login = Login::NeedPassword {
            user: String::from(name),
            anonymous,
        };
        let text = if anonymous {
            "Guest login ok, send your complete e-mail address as password."
        } else {
            "Please specify the password."
        };
        self.answer("USER", None, ReplyCode::NEED_PASSWORD, text);
    }

    fn pass(&mut self, password: &str) {
        if self.refuse_clear_login("PASS") {
            self.login = Login::Out;
            return;
        }
        match core::mem::replace(&mut self.login, Login::Out) {
            Login::Out => self.answer(
                "PASS",
                None,
                ReplyCode::BAD_SEQUENCE,
                "Login with USER first.",
            ),
            Login::In(user) => {
                self.login = Login::In(user);
                self.answer("PASS", None, ReplyCode::SUPERFLUOUS, "Already logged in.")
            }
            Login::NeedPassword {
                user,
                anonymous: true,
            } => {
                // The password of an anonymous login is the guest's
                // address, by convention only (RFC 1635): not checked.
                let access = self.policy.anonymous.unwrap_or_default();
                self.login = Login::In(User {
                    name: user.clone(),
                    anonymous: true,
                    home: RootPath::ROOT,
                    cwd: RootPath::ROOT,
                    access,
                });
                self.log(LogEvent::LoggedIn {
                    user,
                    anonymous: true,
                });
                self.answer("PASS", None, ReplyCode::LOGGED_IN, "Login successful.")
            }
            Login::NeedPassword { user, .. } => {
                let op = Operation::Authenticate {
                    user: user.clone(),
                    password: String::from(password),
                };
                self.request("PASS", None, op, Then::Login { user });
            }
        }
    }

    /// REIN (RFC 959 §4.1.1): back to the state right after the greeting,
    /// transfer parameters at their defaults. The TLS of the control
    /// connection stays (RFC 4217 leaves a TLS session in place until
    /// either side closes it, and leaving TLS in-band would need a
    /// close_notify exchange few clients do), and so does PBSZ/PROT: the
    /// next user works under the same protection.
    fn reinitialize(&mut self) {
        if self.data == Data::Passive {
            self.event(Event::ReleaseData);
        }
        self.data = Data::None;
        self.login = Login::Out;
        self.format = Format::ASCII;
        self.epsv_all = false;
        self.facts = Facts::ALL;
        self.hash = HashAlgorithm::default();
        self.answer(
            "REIN",
            None,
            ReplyCode::SERVICE_READY,
            "Service ready for new user.",
        );
    }

    /// OPTS (RFC 2389 §4): `UTF8 ON` (RFC 2640 §3.2) and `MLST facts`
    /// (RFC 3659 §7.9).
    fn opts(&mut self, arg: &str) {
        let arg = arg.trim();
        let (name, value) = match arg.find(' ') {
            Some(i) => (&arg[..i], arg[i + 1..].trim()),
            None => (arg, ""),
        };
        if name.eq_ignore_ascii_case("UTF8") {
            // Paths are always UTF-8 here; only ON (or nothing) is accepted.
            if value.is_empty() || value.eq_ignore_ascii_case("ON") {
                return self.answer("OPTS", None, ReplyCode::OK, "Always in UTF8 mode.");
            }
            return self.answer(
                "OPTS",
                None,
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "UTF8 cannot be turned off.",
            );
        }
        if name.eq_ignore_ascii_case("HASH") {
            // draft-bryan-ftpext-hash §3.2: no value asks which is
            // selected; either way the reply names it.
            if !value.is_empty() {
                match HashAlgorithm::from_name(value) {
                    Some(algorithm) => self.hash = algorithm,
                    None => {
                        return self.answer(
                            "OPTS",
                            None,
                            ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                            "Unknown algorithm; FEAT lists them.",
                        )
                    }
                }
            }
            return self.answer("OPTS", None, ReplyCode::OK, self.hash.name());
        }
        if name.eq_ignore_ascii_case("MODE") {
            return self.mode_options(value);
        }
        if name.eq_ignore_ascii_case("MLST") {
            let mut facts = Facts::NONE;
            // Unknown facts are ignored (RFC 3659 §7.9); the reply lists
            // those now selected.
            for fact in value.split(';').map(str::trim) {
                match fact.to_ascii_lowercase().as_str() {
                    "type" => facts.kind = true,
                    "size" => facts.size = true,
                    "modify" => facts.modify = true,
                    "perm" => facts.perm = true,
                    "unique" => facts.unique = true,
                    _ => {}
                }
            }
            self.facts = facts;
            let mut text = String::from("MLST OPTS ");
            for (on, name) in [
                (facts.kind, "type"),
                (facts.size, "size"),
                (facts.modify, "modify"),
                (facts.perm, "perm"),
                (facts.unique, "unique"),
            ] {
                if on {
                    text.push_str(name);
                    text.push(';');
                }
            }
            let text = text.trim_end();
            return self.answer("OPTS", None, ReplyCode::OK, text);
        }
        self.answer(
            "OPTS",
            None,
            ReplyCode::PARAMETER_SYNTAX,
            "Option not understood.",
        )
    }

    /// TYPE (RFC 959 §3.1.1): A N, E N and I, and L 8 (the same as I on
    /// byte-oriented hosts); anything else 504 (the Telnet and ASA format
    /// controls describe printers, not files).
    fn set_type(&mut self, t: RepresentationType) {
        let (representation, text) = match t {
            RepresentationType::Ascii(FormatControl::NonPrint) => {
                (Representation::Ascii, "Switching to ASCII mode.")
            }
            RepresentationType::Ebcdic(FormatControl::NonPrint) => (
                Representation::Ebcdic,
                "Switching to EBCDIC mode (code page 037).",
            ),
            RepresentationType::Image | RepresentationType::Local(8) => {
                (Representation::Image, "Switching to Binary mode.")
            }
            _ => {
                return self.answer(
                    "TYPE",
                    None,
                    ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                    "Only TYPE A, E, I and L 8 are supported.",
                )
            }
        };
        self.format.representation = representation;
        self.answer("TYPE", None, ReplyCode::OK, text)
    }

    /// STRU (RFC 959 §3.1.2): F, and R with each record a line of the
    /// file. P (pages, each with a header of TOPS-20 page attributes)
    /// has no form in a Unix file: 504.
    fn set_structure(&mut self, structure: Structure) {
        let (structure, text) = match structure {
            Structure::File => (format::Structure::File, "Structure set to F."),
            Structure::Record => (
                format::Structure::Record,
                "Structure set to R (a record per line).",
            ),
            Structure::Page => {
                return self.answer(
                    "STRU",
                    None,
                    ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                    "STRU P has no Unix file form; use STRU F or R.",
                )
            }
        };
        self.format.structure = structure;
        self.answer("STRU", None, ReplyCode::OK, text)
    }

    /// `OPTS MODE Z LEVEL n` (draft-preston-ftpext-deflate §5): the
    /// deflate level of later MODE Z transfers; `OPTS MODE Z` alone
    /// names it.
    fn mode_options(&mut self, value: &str) {
        let mut words = value.split_ascii_whitespace();
        if !words.next().is_some_and(|m| m.eq_ignore_ascii_case("Z")) {
            return self.answer(
                "OPTS",
                None,
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Only MODE Z takes options.",
            );
        }
        match (words.next(), words.next(), words.next()) {
            (None, _, _) => {}
            (Some(key), Some(n), None) if key.eq_ignore_ascii_case("LEVEL") => {
                match n.parse::<u8>() {
                    Ok(level) if level <= format::deflate::MAX_LEVEL => self.format.level = level,
                    _ => {
                        return self.answer(
                            "OPTS",
                            None,
                            ReplyCode::PARAMETER_SYNTAX,
                            "LEVEL takes 0 to 9.",
                        )
                    }
                }
            }
            _ => {
                return self.answer(
                    "OPTS",
                    None,
                    ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                    "MODE Z takes only LEVEL.",
                )
            }
        }
        let text = alloc::format!("MODE Z LEVEL {}", self.format.level);
        self.answer("OPTS", None, ReplyCode::OK, &text)
    }

    /// MODE (RFC 959 §3.4): S, B and C, and Z (draft-preston-ftpext-deflate).
    fn set_mode(&mut self, mode: TransferMode) {
        self.format.mode = mode;
        let text = match mode {
            TransferMode::Stream => "Mode set to S.",
            TransferMode::Block => "Mode set to B.",
            TransferMode::Compressed => "Mode set to C.",
            TransferMode::Deflate => "Mode set to Z.",
        };
        self.answer("MODE", None, ReplyCode::OK, text)
    }

    /// The STAT reply without argument and without transfer (RFC 959
    /// §4.1.3): the session's parameters.
    fn status(&self) -> String {
        let user = self.current_user();
        let data = match self.data {
            Data::None => String::from("none"),
            Data::Active(addr) => format!("active, to {addr}"),
            Data::Passive => String::from("passive, listening"),
        };
        format!(
            "FTP server status:\n Connected to {}\n Logged in as {}{}\n TYPE: {}, STRU: {}, MODE: {}\n Data connection: {}\n Directory: {}\nEnd of status.",
            self.peer.ip(),
            user.name,
            if user.anonymous { " (anonymous)" } else { "" },
            text::mode_name(self.format.representation),
            text::structure_letter(self.format.structure),
            text::mode_letter(self.format.mode),
            data,
            user.cwd.to_absolute(),
        )
    }

    /// The path an argument names: as the user sees it, and in full
    /// (home in front, what the driver gets). 501 for an unusable one.
    fn resolve(&mut self, verb: &'static str, arg: &str) -> Option<(RootPath, RootPath)> {
        let user = self.current_user();
        match user.cwd.resolve(arg) {
            Ok(shown) => {
                let full = user.home.join(&shown);
                Some((shown, full))
            }
            Err(e) => {
                let text = format!("Invalid path: {e}.");
                self.answer(verb, None, ReplyCode::PARAMETER_SYNTAX, &text);
                None
            }
        }
    }

    /// As `resolve`, for an optional argument: none or empty is the
    /// current directory.
    fn resolve_or_cwd(
        &mut self,
        verb: &'static str,
        arg: Option<&str>,
    ) -> Option<(RootPath, RootPath)> {
        match arg {
            Some(arg) if !arg.is_empty() => self.resolve(verb, arg),
            _ => {
                let user = self.current_user();
                Some((user.cwd.clone(), user.home.join(&user.cwd)))
            }
        }
    }

    /// As `resolve`, for a command that changes the file system: refused
    /// with 550 by the session itself when the user may not write.
    fn resolve_for_write(&mut self, verb: &'static str, arg: &str) -> Option<(RootPath, RootPath)> {
        let resolved = self.resolve(verb, arg)?;
        if !self.may_write() {
            self.answer(
                verb,
                Some(resolved.1),
                ReplyCode::FILE_UNAVAILABLE,
                "Permission denied.",
            );
            return None;
        }
        Some(resolved)
    }

    fn stat_request(&mut self, verb: &'static str, arg: Option<&str>, then: Then) {
        let Some((_, full)) = self.resolve_or_cwd(verb, arg) else {
            return;
        };
        let op = Operation::Stat { path: full.clone() };
        self.request(verb, Some(full), op, then);
    }

    /// 503 for PORT, EPRT and PASV after `EPSV ALL` (RFC 2428 §4 says
    /// they MUST be refused, not with which code; the sequence is what is
    /// wrong).
    fn refuse_after_epsv_all(&mut self, verb: &'static str) {
        self.answer(
            verb,
            None,
            ReplyCode::BAD_SEQUENCE,
            "Only EPSV after EPSV ALL.",
        )
    }

    /// PORT and EPRT.
    fn active(&mut self, verb: &'static str, addr: SocketAddr) {
        if self.epsv_all {
            return self.refuse_after_epsv_all(verb);
        }
        let ip = addr.ip().to_canonical();
        // RFC 2577 §3: connect only back to the client itself and never to
        // a privileged port, against the bounce attack; 504, "command not
        // implemented for that parameter", as RFC 2577 suggests. Nothing
        // is asked of the driver for a refused address.
        if ip != self.peer.ip() || addr.port() < 1024 {
            return self.answer(
                verb,
                None,
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Illegal address: only the client's own, port 1024 or above.",
            );
        }
        if self.data == Data::Passive {
            self.event(Event::ReleaseData);
        }
        self.data = Data::Active(SocketAddr::new(ip, addr.port()));
        let text = format!("{verb} command successful.");
        self.answer(verb, None, ReplyCode::OK, &text)
    }

    /// PASV and EPSV: ask for a listener (which replaces any held).
    fn listen(&mut self, verb: &'static str, extended: bool) {
        self.data = Data::None;
        let op = Operation::Listen { ip: self.local_ip };
        self.request(verb, None, op, Then::Listen { extended });
    }

    fn listing(&mut self, verb: &'static str, arg: Option<&str>, format: ListFormat) {
        let arg = match (verb, arg) {
            ("MLSD", arg) => arg,
            (_, Some(arg)) => Some(strip_list_options(arg)),
            (_, None) => None,
        };
        // RFC 3659 §7.2.1: MLSD takes a directory, never a pattern.
        let split = match (verb, arg) {
            ("MLSD", _) | (_, None) => None,
            (_, Some(arg)) => split_pattern(arg),
        };
        let (dir, pattern) = match split {
            Some((dir, last)) => (Some(dir), Some(last)),
            None => (arg, None),
        };
        let Some((_, full)) = self.resolve_or_cwd(verb, dir) else {
            return;
        };
        let kind = TransferKind::List {
            path: full.clone(),
            format,
            named: String::from(dir.unwrap_or("")),
            pattern: pattern.map(|text| Pattern {
                text: String::from(text),
                limit: self.policy.max_matches,
            }),
        };
        self.transfer(verb, full, kind, false, true);
    }

    /// MFMT, `MDTM time path` and SITE UTIME: refused with 550 by the
    /// session itself for a user who may not write, as every other change
    /// to the tree is (the file is there; the user may not change it).
    fn set_modified(&mut self, verb: &'static str, modified: i64, arg: &str, set: SetTime) {
        let Some((_, full)) = self.resolve_for_write(verb, arg) else {
            return;
        };
        let op = Operation::SetModified {
            path: full.clone(),
            modified,
        };
        self.request(verb, Some(full), op, Then::Modified(set));
    }

    /// Starts a transfer on the data connection PORT/EPRT or PASV/EPSV set
    /// up, which it uses up; 425 without one (RFC 959 §5.4).
    fn transfer(
        &mut self,
        verb: &'static str,
        path: RootPath,
        kind: TransferKind,
        unique: bool,
        listing: bool,
    ) {
        if self.policy.tls.required && !self.tls.private {
            // RFC 4217 §9: 521 when the policy needs protected data. The
            // data connection set up for it stays for the next attempt.
            return self.answer(
                verb,
                Some(path),
                ReplyCode::PROT_SETTING_REFUSED,
                "Data connections must be protected: use PROT P.",
            );
        }
        let data = match core::mem::replace(&mut self.data, Data::None) {
            Data::None => {
                return self.answer(
                    verb,
                    Some(path),
                    ReplyCode::CANT_OPEN_DATA,
                    "Use PORT or PASV first.",
                )
            }
            Data::Active(addr) => DataChannel::Active(addr),
            Data::Passive => DataChannel::Passive,
        };
        let receives = matches!(kind, TransferKind::Store { .. });
        let op = Operation::Transfer(Transfer {
            kind,
            data,
            format: if listing {
                Format {
                    representation: Representation::Image,
                    structure: format::Structure::File,
                    mode: self.format.mode,
                    ..self.format
                }
            } else {
                self.format
            },
            protected: self.tls.private,
        });
        self.request(
            verb,
            Some(path),
            op,
            Then::Transfer(Running {
                started: false,
                progress: 0,
                unique,
                listing,
                receives,
                held_mark: None,
                stop: Stop::No,
            }),
        );
    }

    /// AUTH (RFC 2228 §3, RFC 4217 §4): `TLS`, and the older names
    /// clients still send (`SSL` first, as curl does; `TLS-C`, `TLS-P`).
    fn auth(&mut self, now: Instant, mechanism: &str) {
        let mechanism = mechanism.trim();
        let known = ["TLS", "TLS-C", "SSL", "TLS-P"]
            .iter()
            .any(|m| m.eq_ignore_ascii_case(mechanism));
        if !self.policy.tls.offered || !known {
            return self.answer(
                "AUTH",
                None,
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Security mechanism not implemented.",
            );
        }
        if self.tls.control {
            // A TLS session is not renegotiated in-band (RFC 4217 §4).
            return self.answer("AUTH", None, ReplyCode::BAD_SEQUENCE, "Already using TLS.");
        }
        // RFC 2228 §3: a new security exchange resets the login; a USER
        // sent in clear does not carry over into the protected session.
        self.login = Login::Out;
        // The historical SSL and TLS-P mechanisms protect data as well.
        if mechanism.eq_ignore_ascii_case("SSL") || mechanism.eq_ignore_ascii_case("TLS-P") {
            self.tls.private = true;
            self.tls.pbsz = true;
        }
        self.answer(
            "AUTH",
            None,
            ReplyCode::AUTH_OK,
            "Proceed with negotiation.",
        );
        self.wait = Wait::Tls {
            until: now + self.policy.tls_handshake_timeout,
        };
        self.event(Event::SecureControl);
    }

    /// PBSZ (RFC 4217 §8): TLS has no buffer, so the size is always 0.
    fn pbsz(&mut self, size: &str) {
        if !self.tls.control {
            return self.answer(
                "PBSZ",
                None,
                ReplyCode::BAD_SEQUENCE,
                "PBSZ needs a completed AUTH first.",
            );
        }
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
            return self.answer(
                "PBSZ",
                None,
                ReplyCode::PARAMETER_SYNTAX,
                "PBSZ takes a decimal size.",
            );
        }
        self.tls.pbsz = true;
        // §8: any size the client proposes is answered with PBSZ=0.
        self.answer("PBSZ", None, ReplyCode::OK, "PBSZ=0")
    }

    /// PROT (RFC 4217 §9): C and P; S and E are not offered by TLS (536).
    fn prot(&mut self, level: &str) {
        if !self.tls.control || !self.tls.pbsz {
            return self.answer(
                "PROT",
                None,
                ReplyCode::BAD_SEQUENCE,
                "PROT needs AUTH and PBSZ first.",
            );
        }
        match level.trim() {
            "P" | "p" => {
                self.tls.private = true;
                self.answer(
                    "PROT",
                    None,
                    ReplyCode::OK,
                    "Data protection level set to P.",
                )
            }
            "C" | "c" => {
                self.tls.private = false;
                self.answer(
                    "PROT",
                    None,
                    ReplyCode::OK,
                    "Data protection level set to C.",
                )
            }
            "S" | "s" | "E" | "e" => self.answer(
                "PROT",
                None,
                ReplyCode::PROT_LEVEL_NOT_SUPPORTED,
                "Only PROT C and PROT P are supported.",
            ),
            _ => self.answer(
                "PROT",
                None,
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Unknown protection level.",
            ),
        }
    }

    /// CCC (RFC 4217 §6, RFC 2228 §3): the control connection stays
    /// protected; a clear channel after a TLS login would expose every
    /// command that follows.
    fn ccc(&mut self) {
        if !self.tls.control {
            return self.answer(
                "CCC",
                None,
                ReplyCode::BAD_SEQUENCE,
                "The control connection is not protected.",
            );
        }
        self.answer(
            "CCC",
            None,
            ReplyCode::COMMAND_PROTECTION_DENIED,
            "The control connection stays protected.",
        )
    }
}
