//! Control-connection commands: one line in, one typed [`Command`] out.
//!
//! [`Command::parse`] takes one line *without* its terminator (the
//! [`line`](crate::line) reader strips CR LF / LF and Telnet sequences).
//! Verbs are case-insensitive; the argument is everything after the first
//! space, spaces kept. An unknown verb is `Command::Unknown`, not an error.

use alloc::vec::Vec;
use core::fmt::Write;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use nom::branch::alt;
use nom::bytes::complete::{tag_no_case, take_till};
use nom::character::complete::{char, digit1, u16, u64, u8};
use nom::combinator::{all_consuming, opt, verify};
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// TYPE's representation (RFC 959 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RepresentationType {
    /// `A [N|T|C]`
    Ascii(FormatControl),
    /// `E [N|T|C]`
    Ebcdic(FormatControl),
    /// `I`
    Image,
    /// `L <byte size>`
    Local(u8),
}

/// The second TYPE parameter for A and E (RFC 959 §3.1.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormatControl {
    /// `N`, the default.
    NonPrint,
    /// `T`
    Telnet,
    /// `C`
    Asa,
}

/// STRU's argument (RFC 959 §3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Structure {
    /// `F`
    File,
    /// `R`
    Record,
    /// `P`
    Page,
}

/// MODE's argument (RFC 959 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TransferMode {
    /// `S`
    #[default]
    Stream,
    /// `B`
    Block,
    /// `C`
    Compressed,
    /// `Z`: deflate (draft-preston-ftpext-deflate).
    Deflate,
}

/// EPSV's argument (RFC 2428 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpsvArg {
    /// No argument: the protocol of the control connection.
    Any,
    /// `1` (IPv4) or `2` (IPv6).
    Protocol(u8),
    /// `ALL`: from now on only EPSV may set up data connections.
    All,
}

/// One control-connection command.
///
/// String arguments borrow from the parsed line. Optional arguments are
/// `None` when the verb came alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command<'a> {
    /// USER name
    User(&'a str),
    /// PASS password (may be empty)
    Pass(&'a str),
    /// ACCT account
    Acct(&'a str),
    /// CWD path (also XCWD)
    Cwd(&'a str),
    /// CDUP (also XCUP)
    Cdup,
    /// SMNT path
    Smnt(&'a str),
    /// REIN
    Rein,
    /// QUIT
    Quit,
    /// PORT h1,h2,h3,h4,p1,p2
    Port(SocketAddrV4),
    /// PASV
    Pasv,
    /// TYPE
    Type(RepresentationType),
    /// STRU
    Stru(Structure),
    /// MODE
    Mode(TransferMode),
    /// RETR path
    Retr(&'a str),
    /// STOR path
    Stor(&'a str),
    /// `STOU [name]`
    Stou(Option<&'a str>),
    /// APPE path
    Appe(&'a str),
    /// `ALLO size [R record-size]`
    Allo(u64, Option<u64>),
    /// REST marker (a byte offset: RFC 3659 REST STREAM; in MODE B and C
    /// the restart markers this crate sends are such offsets too)
    Rest(u64),
    /// `RANG start end` (draft-bryan-ftp-range §3): the next RETR sends
    /// only bytes `start..=end`; `RANG 1 0` takes a range back.
    Rang {
        /// The first byte.
        start: u64,
        /// The last byte, included.
        end: u64,
    },
    /// RNFR path
    Rnfr(&'a str),
    /// RNTO path
    Rnto(&'a str),
    /// ABOR
    Abor,
    /// DELE path
    Dele(&'a str),
    /// RMD path (also XRMD)
    Rmd(&'a str),
    /// MKD path (also XMKD)
    Mkd(&'a str),
    /// PWD (also XPWD)
    Pwd,
    /// `LIST [path or options]`
    List(Option<&'a str>),
    /// `NLST [path or options]`
    Nlst(Option<&'a str>),
    /// SITE command
    Site(&'a str),
    /// SYST
    Syst,
    /// `STAT [path]`
    Stat(Option<&'a str>),
    /// `HELP [verb]`
    Help(Option<&'a str>),
    /// NOOP
    Noop,
    /// FEAT (RFC 2389)
    Feat,
    /// `OPTS command [options]` (RFC 2389), the whole argument
    Opts(&'a str),
    /// EPRT |proto|address|port| (RFC 2428)
    Eprt(SocketAddr),
    /// `EPSV [proto|ALL]` (RFC 2428)
    Epsv(EpsvArg),
    /// SIZE path (RFC 3659)
    Size(&'a str),
    /// MDTM path (RFC 3659); also the older two-argument `MDTM time path`
    /// that sets the time, which the server machine tells apart.
    Mdtm(&'a str),
    /// `MFMT YYYYMMDDHHMMSS[.sss] path` (draft-somers-ftp-mfxx §3): set a
    /// file's modification time. The fraction is accepted and dropped.
    Mfmt {
        /// The new time, Unix seconds, UTC.
        modified: i64,
        /// The file.
        path: &'a str,
    },
    /// `HASH path` (draft-bryan-ftpext-hash §3): the file's digest in the
    /// algorithm selected with `OPTS HASH`.
    Hash(&'a str),
    /// `MLST [path]` (RFC 3659)
    Mlst(Option<&'a str>),
    /// `MLSD [path]` (RFC 3659)
    Mlsd(Option<&'a str>),
    /// AUTH mechanism (RFC 4217 / 2228)
    Auth(&'a str),
    /// PBSZ size (RFC 4217 / 2228)
    Pbsz(&'a str),
    /// PROT level (RFC 4217 / 2228)
    Prot(&'a str),
    /// CCC: clear the command channel (RFC 4217 §6 / 2228)
    Ccc,
    /// A verb this codec does not know, with its argument if any.
    Unknown {
        /// The verb as sent.
        verb: &'a str,
        /// The argument, if any.
        arg: Option<&'a str>,
    },
}

/// Why a line is not a valid command. The server answers 500 for
/// [`ParseError::Empty`] / [`ParseError::BadVerb`], 501 for argument
/// errors and 522 for [`ParseError::UnsupportedNetworkProtocol`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The line is empty.
    #[error("empty command line")]
    Empty,
    /// The verb is not made of letters.
    #[error("malformed verb")]
    BadVerb,
    /// The line is not UTF-8 (RFC 2640).
    #[error("command line is not UTF-8")]
    NotUtf8,
    /// A verb that needs an argument came without one.
    #[error("{verb} needs an argument")]
    MissingArgument {
        /// Canonical verb.
        verb: &'static str,
    },
    /// A verb that takes no argument came with one.
    #[error("{verb} takes no argument")]
    UnexpectedArgument {
        /// Canonical verb.
        verb: &'static str,
    },
    /// The argument is malformed.
    #[error("invalid argument to {verb}")]
    InvalidArgument {
        /// Canonical verb.
        verb: &'static str,
    },
    /// EPRT or EPSV named a network protocol other than 1 or 2 (RFC 2428).
    #[error("network protocol not supported")]
    UnsupportedNetworkProtocol,
}

/// A verb of three or four ASCII letters packed into one integer, upper
/// case, so that dispatch is one `match` on a `u32` instead of string
/// comparisons (the parser's speed goal is millions of lines a second).
const fn key(verb: &[u8]) -> u32 {
    let mut k = 0u32;
    let mut i = 0;
    while i < verb.len() {
        k = (k << 8) | (verb[i] & !0x20) as u32;
        i += 1;
    }
    k
}

const USER: u32 = key(b"USER");
const PASS: u32 = key(b"PASS");
const ACCT: u32 = key(b"ACCT");
const CWD: u32 = key(b"CWD");
const XCWD: u32 = key(b"XCWD");
const CDUP: u32 = key(b"CDUP");
const XCUP: u32 = key(b"XCUP");
const SMNT: u32 = key(b"SMNT");
const REIN: u32 = key(b"REIN");
const QUIT: u32 = key(b"QUIT");
const PORT: u32 = key(b"PORT");
const PASV: u32 = key(b"PASV");
const TYPE: u32 = key(b"TYPE");
const STRU: u32 = key(b"STRU");
const MODE: u32 = key(b"MODE");
const RETR: u32 = key(b"RETR");
const STOR: u32 = key(b"STOR");
const STOU: u32 = key(b"STOU");
const APPE: u32 = key(b"APPE");
const ALLO: u32 = key(b"ALLO");
const REST: u32 = key(b"REST");
const RANG: u32 = key(b"RANG");
const RNFR: u32 = key(b"RNFR");
const RNTO: u32 = key(b"RNTO");
const ABOR: u32 = key(b"ABOR");
const DELE: u32 = key(b"DELE");
const RMD: u32 = key(b"RMD");
const XRMD: u32 = key(b"XRMD");
const MKD: u32 = key(b"MKD");
const XMKD: u32 = key(b"XMKD");
const PWD: u32 = key(b"PWD");
const XPWD: u32 = key(b"XPWD");
const LIST: u32 = key(b"LIST");
const NLST: u32 = key(b"NLST");
const SITE: u32 = key(b"SITE");
const SYST: u32 = key(b"SYST");
const STAT: u32 = key(b"STAT");
const HELP: u32 = key(b"HELP");
const NOOP: u32 = key(b"NOOP");
const FEAT: u32 = key(b"FEAT");
const OPTS: u32 = key(b"OPTS");
const EPRT: u32 = key(b"EPRT");
const EPSV: u32 = key(b"EPSV");
const SIZE: u32 = key(b"SIZE");
const MDTM: u32 = key(b"MDTM");
const MFMT: u32 = key(b"MFMT");
const HASH: u32 = key(b"HASH");
const MLST: u32 = key(b"MLST");
const MLSD: u32 = key(b"MLSD");
const AUTH: u32 = key(b"AUTH");
const PBSZ: u32 = key(b"PBSZ");
const PROT: u32 = key(b"PROT");
const CCC: u32 = key(b"CCC");

/// nom's error type for argument parsers: the caller only needs to know
/// *that* an argument is malformed (it answers 501), so carry nothing.
type Res<'a, T> = IResult<&'a str, T, ()>;

/// A verb that takes no argument. A trailing space (or several) is
/// tolerated, since some clients send one; anything else is an error.
fn bare<'a>(cmd: Command<'a>, arg: Option<&str>) -> Result<Command<'a>, ParseError> {
    match arg {
        Some(a) if !a.bytes().all(|b| b == b' ') => {
            Err(ParseError::UnexpectedArgument { verb: cmd.verb() })
        }
        _ => Ok(cmd),
    }
}

/// A verb whose argument is required: absent or empty is an error.
fn required<'a>(verb: &'static str, arg: Option<&'a str>) -> Result<&'a str, ParseError> {
    match arg {
        Some(a) if !a.is_empty() => Ok(a),
        _ => Err(ParseError::MissingArgument { verb }),
    }
}

/// The argument of a verb with a typed (non-path) parameter: required,
/// trailing spaces ignored.
fn typed<'a>(verb: &'static str, arg: Option<&'a str>) -> Result<&'a str, ParseError> {
    let a = required(verb, arg)?.trim_end_matches(' ');
    if a.is_empty() {
        Err(ParseError::MissingArgument { verb })
    } else {
        Ok(a)
    }
}

/// Runs `parser` over all of `input`; anything left over is an error.
fn whole<'a, T>(
    verb: &'static str,
    input: &'a str,
    parser: impl Parser<&'a str, Output = T, Error = ()>,
) -> Result<T, ParseError> {
    all_consuming(parser)
        .parse(input)
        .map(|(_, v)| v)
        .map_err(|_| ParseError::InvalidArgument { verb })
}

/// `h1,h2,h3,h4,p1,p2`: exactly six decimal numbers 0..=255 (RFC 959 §4.1.2).
fn host_port(input: &str) -> Res<'_, SocketAddrV4> {
    let c = || char(',');
    (u8, c(), u8, c(), u8, c(), u8, c(), u8, c(), u8)
        .map(|(h1, _, h2, _, h3, _, h4, _, p1, _, p2)| {
            SocketAddrV4::new(Ipv4Addr::new(h1, h2, h3, h4), u16::from_be_bytes([p1, p2]))
        })
        .parse(input)
}

/// `decimal [R decimal]` (RFC 959 §4.1.3, ALLO).
fn allocation(input: &str) -> Res<'_, (u64, Option<u64>)> {
    (u64, opt(preceded(tag_no_case(" R "), u64))).parse(input)
}

/// TYPE's parameter (RFC 959 §4.1.2: `A [<sp> N|T|C]`, `E [...]`, `I`,
/// `L <sp> byte-size`). `L8` without the space is also taken, as some
/// clients send it.
fn range(input: &str) -> Res<'_, (u64, u64)> {
    (u64, preceded(char(' '), u64)).parse(input)
}

fn type_code(input: &str) -> Res<'_, RepresentationType> {
    let form = || {
        opt(preceded(
            char(' '),
            alt((
                tag_no_case("N").map(|_| FormatControl::NonPrint),
                tag_no_case("T").map(|_| FormatControl::Telnet),
                tag_no_case("C").map(|_| FormatControl::Asa),
            )),
        ))
        .map(|f| f.unwrap_or(FormatControl::NonPrint))
    };
    let byte_size = verify(u8, |&n| n != 0);
    alt((
        preceded(tag_no_case("A"), form()).map(RepresentationType::Ascii),
        preceded(tag_no_case("E"), form()).map(RepresentationType::Ebcdic),
        tag_no_case("I").map(|_| RepresentationType::Image),
        preceded((tag_no_case("L"), opt(char(' '))), byte_size).map(RepresentationType::Local),
    ))
    .parse(input)
}

/// A network protocol number of RFC 2428 §2: 1 (IPv4) or 2 (IPv6).
/// Any other decimal number is well-formed but unsupported (522).
fn net_prt(field: &str, verb: &'static str) -> Result<u8, ParseError> {
    match whole(verb, field, digit1)? {
        "1" => Ok(1),
        "2" => Ok(2),
        _ => Err(ParseError::UnsupportedNetworkProtocol),
    }
}

/// EPRT's `<d><net-prt><d><net-addr><d><tcp-port><d>` (RFC 2428 §2): the
/// delimiter is the first character, any printable ASCII but space.
fn eprt(arg: &str) -> Result<SocketAddr, ParseError> {
    const VERB: &str = "EPRT";
    let invalid = ParseError::InvalidArgument { verb: VERB };
    let d = match arg.bytes().next() {
        Some(d @ 33..=126) => d as char,
        _ => return Err(invalid),
    };
    let field = || take_till(move |c| c == d);
    let sep = || char(d);
    let (prt, addr, port) = whole(
        VERB,
        arg,
        (sep(), field(), sep(), field(), sep(), field(), sep())
            .map(|(_, prt, _, addr, _, port, _)| (prt, addr, port)),
    )?;
    let protocol = net_prt(prt, VERB)?;
    let port = whole(VERB, port, u16)?;
    // The address must be of the family the protocol number names.
    let ip: IpAddr = match protocol {
        1 => IpAddr::V4(addr.parse::<Ipv4Addr>().map_err(|_| invalid)?),
        _ => IpAddr::V6(addr.parse::<Ipv6Addr>().map_err(|_| invalid)?),
    };
    Ok(SocketAddr::new(ip, port))
}

/// EPSV's optional argument (RFC 2428 §3): a protocol number or `ALL`.
fn epsv(arg: Option<&str>) -> Result<EpsvArg, ParseError> {
    let a = arg.unwrap_or("").trim_end_matches(' ');
    if a.is_empty() {
        Ok(EpsvArg::Any)
    } else if a.eq_ignore_ascii_case("ALL") {
        Ok(EpsvArg::All)
    } else {
        net_prt(a, "EPSV").map(EpsvArg::Protocol)
    }
}

/// MFMT's `time-val SP pathname` (draft-somers-ftp-mfxx §3): the time
/// strictly as RFC 3659 §2.3 writes it, then one space and a path that may
/// hold spaces of its own.
fn mfmt(arg: Option<&str>) -> Result<Command<'_>, ParseError> {
    const VERB: &str = "MFMT";
    let arg = required(VERB, arg)?;
    let (time, path) = arg
        .split_once(' ')
        .ok_or(ParseError::MissingArgument { verb: VERB })?;
    if path.is_empty() {
        return Err(ParseError::MissingArgument { verb: VERB });
    }
    // Years before 1000 are no time-val (§2.3), and could not be written
    // back as they came.
    let modified = crate::listing::parse_timeval(time)
        .filter(|t| (crate::listing::TIMEVAL_MIN..=crate::listing::TIMEVAL_MAX).contains(t))
        .ok_or(ParseError::InvalidArgument { verb: VERB })?;
    Ok(Command::Mfmt { modified, path })
}

/// A single-letter parameter (STRU, MODE), case-insensitive.
fn letter<T>(
    verb: &'static str,
    arg: Option<&str>,
    choose: impl Fn(u8) -> Option<T>,
) -> Result<T, ParseError> {
    match typed(verb, arg)?.as_bytes() {
        [c] => choose(c.to_ascii_uppercase()).ok_or(ParseError::InvalidArgument { verb }),
        _ => Err(ParseError::InvalidArgument { verb }),
    }
}

impl<'a> Command<'a> {
    /// Parses one control line, without its CR LF.
    ///
    /// The verb is the bytes before the first space (RFC 959 §5.3.1: the
    /// command code, then `<SP>`, then the argument); it is matched
    /// case-insensitively. The argument is everything after that space,
    /// kept verbatim — spaces, trailing ones included, are part of path
    /// names. `LIST ` (a space and nothing) is `List(Some(""))`, not
    /// `List(None)`, so that [`Command::encode`] can reproduce every line
    /// this function accepts.
    ///
    /// Errors: [`ParseError::Empty`] for an empty line;
    /// [`ParseError::BadVerb`] when the verb has a byte that is not an
    /// ASCII letter; [`ParseError::NotUtf8`] when the line is not UTF-8
    /// (RFC 2640 makes UTF-8 the path encoding); argument errors per verb.
    /// A verb of letters that is not known is `Command::Unknown`.
    pub fn parse(line: &'a [u8]) -> Result<Command<'a>, ParseError> {
        // The verb: letters up to the first space. Only the first four
        // matter for known verbs; longer ones are unknown.
        let mut k = 0u32;
        let mut n = 0;
        while n < line.len() {
            let b = line[n];
            if b == b' ' {
                break;
            }
            if !b.is_ascii_alphabetic() {
                return Err(if core::str::from_utf8(line).is_err() {
                    ParseError::NotUtf8
                } else {
                    ParseError::BadVerb
                });
            }
            k = (k << 8) | (b & !0x20) as u32;
            n += 1;
        }
        if n == 0 {
            return Err(if line.is_empty() {
                ParseError::Empty
            } else {
                ParseError::BadVerb
            });
        }
        let arg = match line.get(n + 1..) {
            Some(a) => Some(core::str::from_utf8(a).map_err(|_| ParseError::NotUtf8)?),
            None => None,
        };
        if !(3..=4).contains(&n) {
            return Ok(Self::unknown(&line[..n], arg));
        }
        Ok(match k {
            USER => Command::User(required("USER", arg)?),
            // RFC 959 §4.1.1: a password may be empty; some clients send
            // `PASS` alone for an anonymous login without one.
            PASS => Command::Pass(arg.unwrap_or("")),
            ACCT => Command::Acct(required("ACCT", arg)?),
            CWD | XCWD => Command::Cwd(required("CWD", arg)?),
            CDUP | XCUP => bare(Command::Cdup, arg)?,
            SMNT => Command::Smnt(required("SMNT", arg)?),
            REIN => bare(Command::Rein, arg)?,
            QUIT => bare(Command::Quit, arg)?,
            PORT => Command::Port(whole("PORT", typed("PORT", arg)?, host_port)?),
            PASV => bare(Command::Pasv, arg)?,
            TYPE => Command::Type(whole("TYPE", typed("TYPE", arg)?, type_code)?),
            STRU => Command::Stru(letter("STRU", arg, |c| match c {
                b'F' => Some(Structure::File),
                b'R' => Some(Structure::Record),
                b'P' => Some(Structure::Page),
                _ => None,
            })?),
            MODE => Command::Mode(letter("MODE", arg, |c| match c {
                b'S' => Some(TransferMode::Stream),
                b'B' => Some(TransferMode::Block),
                b'C' => Some(TransferMode::Compressed),
                b'Z' => Some(TransferMode::Deflate),
                _ => None,
            })?),
            RETR => Command::Retr(required("RETR", arg)?),
            STOR => Command::Stor(required("STOR", arg)?),
            STOU => Command::Stou(arg),
            APPE => Command::Appe(required("APPE", arg)?),
            ALLO => {
                let (size, record) = whole("ALLO", typed("ALLO", arg)?, allocation)?;
                Command::Allo(size, record)
            }
            // RFC 3659 §5: in STREAM mode the marker is a byte offset.
            REST => Command::Rest(whole("REST", typed("REST", arg)?, u64)?),
            RANG => {
                let (start, end) = whole("RANG", typed("RANG", arg)?, range)?;
                Command::Rang { start, end }
            }
            RNFR => Command::Rnfr(required("RNFR", arg)?),
            RNTO => Command::Rnto(required("RNTO", arg)?),
            ABOR => bare(Command::Abor, arg)?,
            DELE => Command::Dele(required("DELE", arg)?),
            RMD | XRMD => Command::Rmd(required("RMD", arg)?),
            MKD | XMKD => Command::Mkd(required("MKD", arg)?),
            PWD | XPWD => bare(Command::Pwd, arg)?,
            LIST => Command::List(arg),
            NLST => Command::Nlst(arg),
            SITE => Command::Site(required("SITE", arg)?),
            SYST => bare(Command::Syst, arg)?,
            STAT => Command::Stat(arg),
            HELP => Command::Help(arg),
            NOOP => bare(Command::Noop, arg)?,
            FEAT => bare(Command::Feat, arg)?,
            OPTS => Command::Opts(required("OPTS", arg)?),
            EPRT => Command::Eprt(eprt(typed("EPRT", arg)?)?),
            EPSV => Command::Epsv(epsv(arg)?),
            SIZE => Command::Size(required("SIZE", arg)?),
            MDTM => Command::Mdtm(required("MDTM", arg)?),
            MFMT => mfmt(arg)?,
            HASH => Command::Hash(required("HASH", arg)?),
            MLST => Command::Mlst(arg),
            MLSD => Command::Mlsd(arg),
            AUTH => Command::Auth(required("AUTH", arg)?),
            PBSZ => Command::Pbsz(typed("PBSZ", arg)?),
            PROT => Command::Prot(typed("PROT", arg)?),
            CCC => bare(Command::Ccc, arg)?,
            _ => Self::unknown(&line[..n], arg),
        })
    }

    fn unknown(verb: &'a [u8], arg: Option<&'a str>) -> Command<'a> {
        // The verb was checked to be ASCII letters, hence UTF-8.
        let verb = core::str::from_utf8(verb).unwrap_or_default();
        Command::Unknown { verb, arg }
    }

    /// The canonical upper-case verb (`"RETR"`; for `Unknown`, `"?"`).
    /// The X-aliases of RFC 1123 §4.1.3.1 give their RFC 959 names
    /// (`XCWD` is `"CWD"`).
    pub fn verb(&self) -> &'static str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Acct(_) => "ACCT",
            Command::Cwd(_) => "CWD",
            Command::Cdup => "CDUP",
            Command::Smnt(_) => "SMNT",
            Command::Rein => "REIN",
            Command::Quit => "QUIT",
            Command::Port(_) => "PORT",
            Command::Pasv => "PASV",
            Command::Type(_) => "TYPE",
            Command::Stru(_) => "STRU",
            Command::Mode(_) => "MODE",
            Command::Retr(_) => "RETR",
            Command::Stor(_) => "STOR",
            Command::Stou(_) => "STOU",
            Command::Appe(_) => "APPE",
            Command::Allo(..) => "ALLO",
            Command::Rest(_) => "REST",
            Command::Rang { .. } => "RANG",
            Command::Rnfr(_) => "RNFR",
            Command::Rnto(_) => "RNTO",
            Command::Abor => "ABOR",
            Command::Dele(_) => "DELE",
            Command::Rmd(_) => "RMD",
            Command::Mkd(_) => "MKD",
            Command::Pwd => "PWD",
            Command::List(_) => "LIST",
            Command::Nlst(_) => "NLST",
            Command::Site(_) => "SITE",
            Command::Syst => "SYST",
            Command::Stat(_) => "STAT",
            Command::Help(_) => "HELP",
            Command::Noop => "NOOP",
            Command::Feat => "FEAT",
            Command::Opts(_) => "OPTS",
            Command::Eprt(_) => "EPRT",
            Command::Epsv(_) => "EPSV",
            Command::Size(_) => "SIZE",
            Command::Mdtm(_) => "MDTM",
            Command::Mfmt { .. } => "MFMT",
            Command::Hash(_) => "HASH",
            Command::Mlst(_) => "MLST",
            Command::Mlsd(_) => "MLSD",
            Command::Auth(_) => "AUTH",
            Command::Pbsz(_) => "PBSZ",
            Command::Prot(_) => "PROT",
            Command::Ccc => "CCC",
            Command::Unknown { .. } => "?",
        }
    }

    /// Appends the command as a client sends it: `VERB[ arg]\r\n`, with
    /// the canonical verb. For every command `parse` returns, `parse` of
    /// the written line (minus CR LF) gives back the same command.
    /// (A string argument holding CR or LF cannot be sent on a control
    /// connection; such a command is the caller's error.)
    pub fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Command::Unknown { verb, .. } => out.extend_from_slice(verb.as_bytes()),
            _ => out.extend_from_slice(self.verb().as_bytes()),
        }
        match *self {
            Command::User(s)
            | Command::Pass(s)
            | Command::Acct(s)
            | Command::Cwd(s)
            | Command::Smnt(s)
            | Command::Retr(s)
            | Command::Stor(s)
            | Command::Appe(s)
            | Command::Rnfr(s)
            | Command::Rnto(s)
            | Command::Dele(s)
            | Command::Rmd(s)
            | Command::Mkd(s)
            | Command::Site(s)
            | Command::Opts(s)
            | Command::Size(s)
            | Command::Mdtm(s)
            | Command::Hash(s)
            | Command::Auth(s)
            | Command::Pbsz(s)
            | Command::Prot(s)
            | Command::Stou(Some(s))
            | Command::List(Some(s))
            | Command::Nlst(Some(s))
            | Command::Stat(Some(s))
            | Command::Help(Some(s))
            | Command::Mlst(Some(s))
            | Command::Mlsd(Some(s))
            | Command::Unknown { arg: Some(s), .. } => {
                out.push(b' ');
                out.extend_from_slice(s.as_bytes());
            }
            Command::Port(addr) => {
                out.push(b' ');
                let [p1, p2] = addr.port().to_be_bytes();
                for (i, n) in addr.ip().octets().into_iter().chain([p1, p2]).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    push_decimal(out, n.into());
                }
            }
            Command::Type(t) => {
                out.push(b' ');
                let (code, form) = match t {
                    RepresentationType::Ascii(f) => (b'A', f),
                    RepresentationType::Ebcdic(f) => (b'E', f),
                    RepresentationType::Image => (b'I', FormatControl::NonPrint),
                    RepresentationType::Local(size) => {
                        out.extend_from_slice(b"L ");
                        push_decimal(out, size.into());
                        out.extend_from_slice(b"\r\n");
                        return;
                    }
                };
                out.push(code);
                match form {
                    FormatControl::NonPrint => {}
                    FormatControl::Telnet => out.extend_from_slice(b" T"),
                    FormatControl::Asa => out.extend_from_slice(b" C"),
                }
            }
            Command::Stru(s) => out.extend_from_slice(match s {
                Structure::File => b" F",
                Structure::Record => b" R",
                Structure::Page => b" P",
            }),
            Command::Mode(m) => out.extend_from_slice(match m {
                TransferMode::Stream => b" S",
                TransferMode::Block => b" B",
                TransferMode::Compressed => b" C",
                TransferMode::Deflate => b" Z",
            }),
            Command::Allo(size, record) => {
                out.push(b' ');
                push_decimal(out, size);
                if let Some(r) = record {
                    out.extend_from_slice(b" R ");
                    push_decimal(out, r);
                }
            }
            Command::Rest(offset) => {
                out.push(b' ');
                push_decimal(out, offset);
            }
            Command::Rang { start, end } => {
                out.push(b' ');
                push_decimal(out, start);
                out.push(b' ');
                push_decimal(out, end);
            }
            Command::Mfmt { modified, path } => {
                out.push(b' ');
                crate::listing::write_timeval(out, modified);
                out.push(b' ');
                out.extend_from_slice(path.as_bytes());
            }
            Command::Eprt(addr) => {
                let proto = if addr.is_ipv4() { "1" } else { "2" };
                // Display never writes `|`, the delimiter used here.
                let _ = write!(VecWriter(out), " |{proto}|{}|{}|", addr.ip(), addr.port());
            }
            Command::Epsv(EpsvArg::Any) => {}
            Command::Epsv(EpsvArg::All) => out.extend_from_slice(b" ALL"),
            Command::Epsv(EpsvArg::Protocol(p)) => {
                out.push(b' ');
                push_decimal(out, p.into());
            }
            Command::Cdup
            | Command::Rein
            | Command::Ccc
            | Command::Quit
            | Command::Pasv
            | Command::Abor
            | Command::Pwd
            | Command::Syst
            | Command::Noop
            | Command::Feat
            | Command::Stou(None)
            | Command::List(None)
            | Command::Nlst(None)
            | Command::Stat(None)
            | Command::Help(None)
            | Command::Mlst(None)
            | Command::Mlsd(None)
            | Command::Unknown { arg: None, .. } => {}
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes `n` in decimal without going through `core::fmt`.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// `core::fmt` into a byte vector, for the address forms `Display` knows.
struct VecWriter<'v>(&'v mut Vec<u8>);

impl Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}
