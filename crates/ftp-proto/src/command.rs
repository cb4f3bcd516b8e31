//! Control-connection commands: one line in, one typed [`Command`] out.
//!
//! [`Command::parse`] takes one line *without* its terminator (the
//! [`line`](crate::line) reader strips CR LF / LF and Telnet sequences).
//! Verbs are case-insensitive; the argument is everything after the first
//! space, spaces kept. An unknown verb is `Command::Unknown`, not an error.

use core::net::{SocketAddr, SocketAddrV4};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferMode {
    /// `S`
    Stream,
    /// `B`
    Block,
    /// `C`
    Compressed,
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
    /// STOU [name]
    Stou(Option<&'a str>),
    /// APPE path
    Appe(&'a str),
    /// ALLO size [R record-size]
    Allo(u64, Option<u64>),
    /// REST marker (a byte offset: RFC 3659 REST STREAM)
    Rest(u64),
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
    /// LIST [path or options]
    List(Option<&'a str>),
    /// NLST [path or options]
    Nlst(Option<&'a str>),
    /// SITE command
    Site(&'a str),
    /// SYST
    Syst,
    /// STAT [path]
    Stat(Option<&'a str>),
    /// HELP [verb]
    Help(Option<&'a str>),
    /// NOOP
    Noop,
    /// FEAT (RFC 2389)
    Feat,
    /// OPTS command [options] (RFC 2389), the whole argument
    Opts(&'a str),
    /// EPRT |proto|address|port| (RFC 2428)
    Eprt(SocketAddr),
    /// EPSV [proto|ALL] (RFC 2428)
    Epsv(EpsvArg),
    /// SIZE path (RFC 3659)
    Size(&'a str),
    /// MDTM path (RFC 3659)
    Mdtm(&'a str),
    /// MLST [path] (RFC 3659)
    Mlst(Option<&'a str>),
    /// MLSD [path] (RFC 3659)
    Mlsd(Option<&'a str>),
    /// AUTH mechanism (RFC 4217 / 2228)
    Auth(&'a str),
    /// PBSZ size (RFC 4217 / 2228)
    Pbsz(&'a str),
    /// PROT level (RFC 4217 / 2228)
    Prot(&'a str),
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

impl<'a> Command<'a> {
    /// Parses one control line, without its CR LF.
    pub fn parse(line: &'a [u8]) -> Result<Command<'a>, ParseError> {
        let _ = line;
        todo!()
    }

    /// The canonical upper-case verb (`"RETR"`; for `Unknown`, `"?"`).
    pub fn verb(&self) -> &'static str {
        todo!()
    }

    /// Appends the command as a client sends it: `VERB[ arg]\r\n`.
    /// `parse` of the written line (minus CR LF) gives back `self`.
    pub fn encode(&self, out: &mut alloc::vec::Vec<u8>) {
        let _ = out;
        todo!()
    }
}
