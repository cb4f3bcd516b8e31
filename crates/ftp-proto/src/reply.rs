//! Replies: formatting on the server side, parsing on the client side.
//!
//! A reply's text is kept as lines joined by `\n`. A multi-line reply
//! (`211-First` ... `211 End`, RFC 959 §4.2) has its first line's text,
//! every middle line verbatim, and the last line's text.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// A three-digit reply code (RFC 959 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// 110 Restart marker reply.
    pub const RESTART_MARKER: ReplyCode = ReplyCode(110);
    /// 120 Service ready in nnn minutes.
    pub const READY_SOON: ReplyCode = ReplyCode(120);
    /// 125 Data connection already open; transfer starting.
    pub const DATA_ALREADY_OPEN: ReplyCode = ReplyCode(125);
    /// 150 File status okay; about to open data connection.
    pub const ABOUT_TO_OPEN_DATA: ReplyCode = ReplyCode(150);
    /// 200 Command okay.
    pub const OK: ReplyCode = ReplyCode(200);
    /// 202 Command not implemented, superfluous at this site.
    pub const SUPERFLUOUS: ReplyCode = ReplyCode(202);
    /// 211 System status, or system help reply.
    pub const SYSTEM_STATUS: ReplyCode = ReplyCode(211);
    /// 212 Directory status.
    pub const DIRECTORY_STATUS: ReplyCode = ReplyCode(212);
    /// 213 File status.
    pub const FILE_STATUS: ReplyCode = ReplyCode(213);
    /// 214 Help message.
    pub const HELP: ReplyCode = ReplyCode(214);
    /// 215 NAME system type.
    pub const SYSTEM_TYPE: ReplyCode = ReplyCode(215);
    /// 220 Service ready for new user.
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    /// 221 Service closing control connection.
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// 225 Data connection open; no transfer in progress.
    pub const DATA_OPEN: ReplyCode = ReplyCode(225);
    /// 226 Closing data connection; requested file action successful.
    pub const CLOSING_DATA: ReplyCode = ReplyCode(226);
    /// 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).
    pub const PASSIVE: ReplyCode = ReplyCode(227);
    /// 229 Entering Extended Passive Mode (|||port|) (RFC 2428).
    pub const EXTENDED_PASSIVE: ReplyCode = ReplyCode(229);
    /// 230 User logged in, proceed.
    pub const LOGGED_IN: ReplyCode = ReplyCode(230);
    /// 234 Security data exchange complete (RFC 2228).
    pub const AUTH_OK: ReplyCode = ReplyCode(234);
    /// 250 Requested file action okay, completed.
    pub const FILE_ACTION_OK: ReplyCode = ReplyCode(250);
    /// 257 "PATHNAME" created.
    pub const PATH_CREATED: ReplyCode = ReplyCode(257);
    /// 331 User name okay, need password.
    pub const NEED_PASSWORD: ReplyCode = ReplyCode(331);
    /// 332 Need account for login.
    pub const NEED_ACCOUNT: ReplyCode = ReplyCode(332);
    /// 350 Requested file action pending further information.
    pub const PENDING: ReplyCode = ReplyCode(350);
    /// 421 Service not available, closing control connection.
    pub const NOT_AVAILABLE: ReplyCode = ReplyCode(421);
    /// 425 Can't open data connection.
    pub const CANT_OPEN_DATA: ReplyCode = ReplyCode(425);
    /// 426 Connection closed; transfer aborted.
    pub const TRANSFER_ABORTED: ReplyCode = ReplyCode(426);
    /// 450 Requested file action not taken (file unavailable, busy).
    pub const FILE_BUSY: ReplyCode = ReplyCode(450);
    /// 451 Requested action aborted: local error in processing.
    pub const LOCAL_ERROR: ReplyCode = ReplyCode(451);
    /// 452 Requested action not taken: insufficient storage space.
    pub const INSUFFICIENT_STORAGE: ReplyCode = ReplyCode(452);
    /// 500 Syntax error, command unrecognized (also: line too long).
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    /// 501 Syntax error in parameters or arguments.
    pub const PARAMETER_SYNTAX: ReplyCode = ReplyCode(501);
    /// 502 Command not implemented.
    pub const NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    /// 503 Bad sequence of commands.
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    /// 504 Command not implemented for that parameter.
    pub const PARAMETER_NOT_IMPLEMENTED: ReplyCode = ReplyCode(504);
    /// 521 Data connection cannot be opened with this PROT setting (RFC 4217 §9).
    pub const PROT_SETTING_REFUSED: ReplyCode = ReplyCode(521);
    /// 522 Network protocol not supported (RFC 2428).
    pub const PROTOCOL_NOT_SUPPORTED: ReplyCode = ReplyCode(522);
    /// 522 TLS negotiation on the data connection failed (RFC 4217 §9).
    pub const DATA_TLS_FAILED: ReplyCode = ReplyCode(522);
    /// 530 Not logged in.
    pub const NOT_LOGGED_IN: ReplyCode = ReplyCode(530);
    /// 532 Need account for storing files.
    pub const NEED_ACCOUNT_TO_STORE: ReplyCode = ReplyCode(532);
    /// 534 Request denied for policy reasons (RFC 2228).
    pub const DENIED_FOR_POLICY: ReplyCode = ReplyCode(534);
    /// 533 Command protection level denied for policy reasons (RFC 2228).
    pub const COMMAND_PROTECTION_DENIED: ReplyCode = ReplyCode(533);
    /// 536 Requested PROT level not supported by mechanism (RFC 2228).
    pub const PROT_LEVEL_NOT_SUPPORTED: ReplyCode = ReplyCode(536);
    /// 550 Requested action not taken: file unavailable.
    pub const FILE_UNAVAILABLE: ReplyCode = ReplyCode(550);
    /// 551 Requested action aborted: page type unknown.
    pub const PAGE_TYPE_UNKNOWN: ReplyCode = ReplyCode(551);
    /// 552 Requested file action aborted: exceeded storage allocation.
    pub const EXCEEDED_STORAGE: ReplyCode = ReplyCode(552);
    /// 553 Requested action not taken: file name not allowed.
    pub const NAME_NOT_ALLOWED: ReplyCode = ReplyCode(553);
    /// 554 Requested action not taken: invalid REST parameter (RFC 3659 §5.5).
    pub const INVALID_REST: ReplyCode = ReplyCode(554);

    /// A code from its number; `None` outside 100..=599.
    pub const fn new(code: u16) -> Option<ReplyCode> {
        if code >= 100 && code <= 599 {
            Some(ReplyCode(code))
        } else {
            None
        }
    }

    /// The number.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The three ASCII digits as they appear on the wire.
    pub const fn digits(self) -> [u8; 3] {
        [
            b'0' + (self.0 / 100) as u8,
            b'0' + (self.0 / 10 % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }

    /// 1yz: positive preliminary.
    pub const fn is_preliminary(self) -> bool {
        self.0 / 100 == 1
    }
    /// 2yz: positive completion.
    pub const fn is_completion(self) -> bool {
        self.0 / 100 == 2
    }
    /// 3yz: positive intermediate.
    pub const fn is_intermediate(self) -> bool {
        self.0 / 100 == 3
    }
    /// 4yz: transient negative completion.
    pub const fn is_transient_failure(self) -> bool {
        self.0 / 100 == 4
    }
    /// 5yz: permanent negative completion.
    pub const fn is_permanent_failure(self) -> bool {
        self.0 / 100 == 5
    }
}

impl core::fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Appends one reply to `out`: `CODE text\r\n` when `text` has one line;
/// `CODE-first\r\n`, the middle lines, `CODE last\r\n` when it has several
/// (lines split on `\n`; RFC 959 §4.2). A middle line that would read as
/// the end line (it starts with the code and a space, or is the code
/// alone) is written with a leading space, as §4.2 suggests. Every `\r` in `text` is dropped, so no
/// text can end a line early or forge another reply.
pub fn write_reply(out: &mut Vec<u8>, code: ReplyCode, text: &str) {
    let digits = code.digits();
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    let Some(mut next) = lines.next() else {
        out.extend_from_slice(&digits);
        out.push(b' ');
        push_without_cr(out, first);
        out.extend_from_slice(b"\r\n");
        return;
    };
    out.extend_from_slice(&digits);
    out.push(b'-');
    push_without_cr(out, first);
    out.extend_from_slice(b"\r\n");
    for line in lines {
        let middle = core::mem::replace(&mut next, line);
        let mut start = middle.bytes().filter(|&b| b != b'\r');
        if start.by_ref().take(3).eq(digits) && matches!(start.next(), None | Some(b' ')) {
            out.push(b' ');
        }
        push_without_cr(out, middle);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(&digits);
    out.push(b' ');
    push_without_cr(out, next);
    out.extend_from_slice(b"\r\n");
}

fn push_without_cr(out: &mut Vec<u8>, line: &str) {
    for part in line.as_bytes().split(|&b| b == b'\r') {
        out.extend_from_slice(part);
    }
}

/// A parsed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The code.
    pub code: ReplyCode,
    /// The text: lines joined by `\n`, without codes or CR LF.
    pub text: String,
}

impl Reply {
    /// Appends this reply as [`write_reply`] does.
    pub fn encode(&self, out: &mut Vec<u8>) {
        write_reply(out, self.code, &self.text)
    }
}

/// Why the bytes on a control connection are not a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line does not start with a three-digit code and ` ` or `-`.
    #[error("malformed reply line")]
    Malformed,
    /// A line, or a multi-line reply, grew past the reader's limit.
    #[error("reply too long")]
    TooLong,
}

/// The client's reply reader: feed it control-connection bytes, take
/// whole replies out. Accepts CR LF or a bare LF. Memory is bounded by
/// the limit given to [`ReplyReader::new`].
///
/// A reply is one line `DDD text` (or `DDD` alone, taken as empty text),
/// or a multi-line reply (RFC 959 §4.2): `DDD-text`, then any lines at
/// all — they may start with other codes, or with this code and a `-` —
/// up to the first line that starts with the same `DDD` and a space, or
/// is that `DDD` alone (its text then empty, as for a one-line reply).
/// Middle lines are kept verbatim. Stray `\r` bytes inside a line are
/// dropped, as [`write_reply`] drops them. Text that is not UTF-8 (a
/// server naming a Latin-1 file, say) is decoded lossily: each invalid
/// sequence becomes U+FFFD. Only the text suffers, never the session.
#[derive(Debug)]
pub struct ReplyReader {
    max_len: usize,
    /// The line being received, without its LF.
    line: Vec<u8>,
    /// Bytes of the current reply seen so far (terminators included).
    total: usize,
    /// The code of a multi-line reply whose end line has not come yet.
    open: Option<ReplyCode>,
    /// Text of the reply being assembled.
    text: String,
    /// A finished reply (or the error) for `next_reply`.
    ready: Option<Result<Reply, ReplyError>>,
    /// An error was found: the stream is out of step for good.
    failed: bool,
}

/// Reply text as UTF-8, invalid sequences replaced by U+FFFD.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

impl ReplyReader {
    /// A reader that refuses a reply longer than `max_len` bytes in total.
    pub fn new(max_len: usize) -> ReplyReader {
        ReplyReader {
            max_len,
            line: Vec::new(),
            total: 0,
            open: None,
            text: String::new(),
            ready: None,
            failed: false,
        }
    }

    /// Buffers `input`; returns how many bytes were taken (all of them,
    /// unless a complete reply is waiting to be taken by `next_reply`).
    /// It stops right after the line that completes a reply, so the
    /// caller feeds the rest after taking that reply. Once an error has
    /// been found every byte is taken and thrown away.
    pub fn push(&mut self, input: &[u8]) -> usize {
        if self.failed {
            return input.len();
        }
        if self.ready.is_some() {
            return 0;
        }
        let mut taken = 0;
        while taken < input.len() {
            let rest = &input[taken..];
            let (segment, ends) = match rest.iter().position(|&b| b == b'\n') {
                Some(p) => (&rest[..p], true),
                None => (rest, false),
            };
            let used = segment.len() + usize::from(ends);
            if self.total + used > self.max_len {
                self.fail(ReplyError::TooLong);
                return input.len();
            }
            self.total += used;
            taken += used;
            if !ends {
                self.line.extend_from_slice(segment);
                break;
            }
            let result = if self.line.is_empty() {
                self.take_line(segment)
            } else {
                let mut line = core::mem::take(&mut self.line);
                line.extend_from_slice(segment);
                let result = self.take_line(&line);
                line.clear();
                self.line = line;
                result
            };
            if let Err(e) = result {
                self.fail(e);
                return input.len();
            }
            if self.ready.is_some() {
                break;
            }
        }
        taken
    }

    /// The next complete reply, if one is buffered. After an error the
    /// reader is unusable (the stream cannot be resynchronised safely):
    /// the error is returned once, then `None` for ever.
    pub fn next_reply(&mut self) -> Option<Result<Reply, ReplyError>> {
        self.ready.take()
    }

    fn fail(&mut self, e: ReplyError) {
        self.failed = true;
        self.ready = Some(Err(e));
        self.line = Vec::new();
        self.text = String::new();
    }

    /// One whole line, without its LF.
    fn take_line(&mut self, raw: &[u8]) -> Result<(), ReplyError> {
        let mut owned = Vec::new();
        let line = if raw.contains(&b'\r') {
            owned.extend(raw.iter().copied().filter(|&b| b != b'\r'));
            &owned[..]
        } else {
            raw
        };
        match self.open {
            None => {
                let code = match line {
                    [a, b, c, ..] if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
                        let n = u16::from(a - b'0') * 100
                            + u16::from(b - b'0') * 10
                            + u16::from(c - b'0');
                        ReplyCode::new(n).ok_or(ReplyError::Malformed)?
                    }
                    _ => return Err(ReplyError::Malformed),
                };
                match line.get(3) {
                    None | Some(b' ') => {
                        let t = text(line.get(4..).unwrap_or_default());
                        self.finish(code, &t);
                    }
                    Some(b'-') => {
                        self.text.clear();
                        self.text.push_str(&text(&line[4..]));
                        self.open = Some(code);
                    }
                    Some(_) => return Err(ReplyError::Malformed),
                }
            }
            Some(code) => {
                self.text.push('\n');
                // `DDD text`, or `DDD` alone.
                let end = match line.strip_prefix(&code.digits()[..]) {
                    Some([]) => Some(&[][..]),
                    Some([b' ', last @ ..]) => Some(last),
                    _ => None,
                };
                if let Some(last) = end {
                    self.text.push_str(&text(last));
                    let t = core::mem::take(&mut self.text);
                    self.ready = Some(Ok(Reply { code, text: t }));
                    self.open = None;
                    self.total = 0;
                } else {
                    self.text.push_str(&text(line));
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, code: ReplyCode, text: &str) {
        self.ready = Some(Ok(Reply {
            code,
            text: String::from(text),
        }));
        self.total = 0;
    }
}
