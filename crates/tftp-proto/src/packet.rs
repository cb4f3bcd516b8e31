//! The six TFTP packets (RFC 1350 §5, RFC 2347 for OACK): typed values,
//! parsed from and encoded into byte slices.

use nom::bytes::complete::{tag, take_until};
use nom::number::complete::be_u16;
use nom::{IResult, Parser};

use crate::error_code::ErrorCode;
use crate::options::{OptionError, Options, MAX_BLKSIZE};

/// A block number; wraps from 65535 to 0 so files of any size can move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BlockNumber(pub u16);

impl BlockNumber {
    /// The block after this one, wrapping past 65535 to 0.
    pub const fn next(self) -> Self {
        BlockNumber(self.0.wrapping_add(1))
    }

    /// The block `n` after this one, wrapping.
    pub const fn add(self, n: u16) -> Self {
        BlockNumber(self.0.wrapping_add(n))
    }

    /// How many blocks `self` is ahead of `earlier`, modulo 65536.
    pub const fn distance_from(self, earlier: BlockNumber) -> u16 {
        self.0.wrapping_sub(earlier.0)
    }
}

/// Transfer mode of a request (RFC 1350 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Text: lines end in CR LF on the wire.
    Netascii,
    /// Raw bytes.
    Octet,
    /// Obsolete mail mode; parsed so it can be refused properly.
    Mail,
}

impl Mode {
    /// The name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Netascii => "netascii",
            Mode::Octet => "octet",
            Mode::Mail => "mail",
        }
    }
}

/// A read or write request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The file name, as the client sent it.
    pub filename: &'a str,
    /// Transfer mode.
    pub mode: Mode,
    /// RFC 2347 options.
    pub options: Options,
}

/// One TFTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// Read request (opcode 1).
    Rrq(Request<'a>),
    /// Write request (opcode 2).
    Wrq(Request<'a>),
    /// A block of data (opcode 3): at most 65464 bytes.
    Data {
        /// Block number.
        block: BlockNumber,
        /// Payload.
        data: &'a [u8],
    },
    /// Acknowledgement (opcode 4).
    Ack(BlockNumber),
    /// Error (opcode 5).
    Error {
        /// Error code.
        code: ErrorCode,
        /// Human-readable text.
        message: &'a str,
    },
    /// Option acknowledgement (opcode 6, RFC 2347).
    Oack(Options),
}

/// Opcodes of RFC 1350 and RFC 2347.
pub mod opcode {
    /// Read request.
    pub const RRQ: u16 = 1;
    /// Write request.
    pub const WRQ: u16 = 2;
    /// Data.
    pub const DATA: u16 = 3;
    /// Acknowledgement.
    pub const ACK: u16 = 4;
    /// Error.
    pub const ERROR: u16 = 5;
    /// Option acknowledgement.
    pub const OACK: u16 = 6;
}

/// Why bytes are not a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer bytes than the packet's fixed fields need.
    #[error("packet truncated")]
    Truncated,
    /// The opcode is none of 1..=6.
    #[error("unknown opcode {0}")]
    UnknownOpcode(u16),
    /// A string field does not end in a NUL byte.
    #[error("string field not terminated by NUL")]
    MissingNul,
    /// A file name or option is not valid UTF-8.
    #[error("string field is not valid text")]
    InvalidText,
    /// The mode is none of netascii, octet, mail.
    #[error("unknown transfer mode")]
    UnknownMode,
    /// The same option appears twice.
    #[error("duplicate option")]
    DuplicateOption,
    /// An option's value is not a number in its allowed range.
    #[error("malformed option value")]
    MalformedOption,
    /// A DATA payload over 65464 bytes, or over the negotiated block size.
    #[error("data block longer than the block size")]
    DataTooLong,
    /// Bytes after the end of a fixed-size packet.
    #[error("trailing bytes after packet")]
    TrailingBytes,
}

/// Why a packet could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The buffer is smaller than [`Packet::encoded_len`].
    #[error("buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
    },
}

type Res<'a, T> = IResult<&'a [u8], T>;

/// A NUL-terminated string field.
fn cstring(input: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    let parsed: Res<'_, &[u8]> = (take_until(&b"\0"[..]), tag(&b"\0"[..]))
        .map(|(s, _)| s)
        .parse(input);
    parsed.map_err(|_| ParseError::MissingNul)
}

fn text(bytes: &[u8]) -> Result<&str, ParseError> {
    core::str::from_utf8(bytes).map_err(|_| ParseError::InvalidText)
}

fn parse_mode(bytes: &[u8]) -> Result<Mode, ParseError> {
    [Mode::Netascii, Mode::Octet, Mode::Mail]
        .into_iter()
        .find(|m| bytes.eq_ignore_ascii_case(m.as_str().as_bytes()))
        .ok_or(ParseError::UnknownMode)
}

/// name NUL value NUL pairs up to the end of the packet.
fn parse_options(mut input: &[u8]) -> Result<Options, ParseError> {
    let mut options = Options::default();
    while !input.is_empty() {
        let (rest, name) = cstring(input)?;
        let (rest, value) = cstring(rest)?;
        options.set(name, value).map_err(|e| match e {
            OptionError::Duplicate => ParseError::DuplicateOption,
            OptionError::Malformed => ParseError::MalformedOption,
        })?;
        input = rest;
    }
    Ok(options)
}

fn parse_request(input: &[u8]) -> Result<Request<'_>, ParseError> {
    let (rest, filename) = cstring(input)?;
    let (rest, mode) = cstring(rest)?;
    Ok(Request {
        filename: text(filename)?,
        mode: parse_mode(mode)?,
        options: parse_options(rest)?,
    })
}

fn no_trailing<T>(rest: &[u8], value: T) -> Result<T, ParseError> {
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(ParseError::TrailingBytes)
    }
}

impl<'a> Packet<'a> {
    /// Parse one datagram.
    pub fn parse(bytes: &'a [u8]) -> Result<Packet<'a>, ParseError> {
        let word = |input: &'a [u8]| -> Result<(&'a [u8], u16), ParseError> {
            be_u16::<_, nom::error::Error<&[u8]>>(input).map_err(|_| ParseError::Truncated)
        };
        let (body, op) = word(bytes)?;
        match op {
            opcode::RRQ => Ok(Packet::Rrq(parse_request(body)?)),
            opcode::WRQ => Ok(Packet::Wrq(parse_request(body)?)),
            opcode::DATA => {
                let (data, block) = word(body)?;
                if data.len() > usize::from(MAX_BLKSIZE) {
                    return Err(ParseError::DataTooLong);
                }
                Ok(Packet::Data {
                    block: BlockNumber(block),
                    data,
                })
            }
            opcode::ACK => {
                let (rest, block) = word(body)?;
                no_trailing(rest, Packet::Ack(BlockNumber(block)))
            }
            opcode::ERROR => {
                let (rest, code) = word(body)?;
                // RFC 1123 §1.2.2 robustness: a message without its final NUL
                // still carries the peer's reason, so take it to the end.
                let raw = match cstring(rest) {
                    Ok((_, s)) => s,
                    Err(_) => rest,
                };
                let message = match core::str::from_utf8(raw) {
                    Ok(s) => s,
                    Err(e) => core::str::from_utf8(&raw[..e.valid_up_to()]).unwrap_or(""),
                };
                Ok(Packet::Error {
                    code: ErrorCode::from_u16(code),
                    message,
                })
            }
            opcode::OACK => Ok(Packet::Oack(parse_options(body)?)),
            other => Err(ParseError::UnknownOpcode(other)),
        }
    }

    /// Parse a DATA packet and check its payload against a negotiated block size.
    pub fn parse_with_blksize(bytes: &'a [u8], blksize: u16) -> Result<Packet<'a>, ParseError> {
        let packet = Packet::parse(bytes)?;
        if let Packet::Data { data, .. } = packet {
            if data.len() > usize::from(blksize) {
                return Err(ParseError::DataTooLong);
            }
        }
        Ok(packet)
    }

    /// The packet as [`Packet::encode`] writes it: unknown options are
    /// only counted on the way in and never written out, so they are
    /// dropped here; everything else is kept.
    pub fn canonical(self) -> Packet<'a> {
        let known = |o: Options| Options { unknown: 0, ..o };
        match self {
            Packet::Rrq(r) => Packet::Rrq(Request {
                options: known(r.options),
                ..r
            }),
            Packet::Wrq(r) => Packet::Wrq(Request {
                options: known(r.options),
                ..r
            }),
            Packet::Oack(o) => Packet::Oack(known(o)),
            other => other,
        }
    }

    /// Bytes [`Packet::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let options_len = |o: &Options| {
            let mut n = 0;
            o.for_each(|name, value| n += name.len() + 1 + decimal_len(value) + 1);
            n
        };
        2 + match self {
            Packet::Rrq(r) | Packet::Wrq(r) => {
                r.filename.len() + 1 + r.mode.as_str().len() + 1 + options_len(&r.options)
            }
            Packet::Data { data, .. } => 2 + data.len(),
            Packet::Ack(_) => 2,
            Packet::Error { message, .. } => 2 + message.len() + 1,
            Packet::Oack(o) => options_len(o),
        }
    }

    /// Encode into `buf`, returning the length written.
    ///
    /// Names are written in lower case; unknown options are not written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let needed = self.encoded_len();
        if buf.len() < needed {
            return Err(EncodeError::BufferTooSmall { needed });
        }
        let mut w = Writer { buf, pos: 0 };
        match self {
            Packet::Rrq(r) | Packet::Wrq(r) => {
                w.u16(if matches!(self, Packet::Rrq(_)) {
                    opcode::RRQ
                } else {
                    opcode::WRQ
                });
                w.cstr(r.filename.as_bytes());
                w.cstr(r.mode.as_str().as_bytes());
                w.options(&r.options);
            }
            Packet::Data { block, data } => {
                w.u16(opcode::DATA);
                w.u16(block.0);
                w.bytes(data);
            }
            Packet::Ack(block) => {
                w.u16(opcode::ACK);
                w.u16(block.0);
            }
            Packet::Error { code, message } => {
                w.u16(opcode::ERROR);
                w.u16(code.to_u16());
                w.cstr(message.as_bytes());
            }
            Packet::Oack(o) => {
                w.u16(opcode::OACK);
                w.options(o);
            }
        }
        debug_assert_eq!(w.pos, needed);
        Ok(w.pos)
    }
}

fn decimal_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }
    fn cstr(&mut self, b: &[u8]) {
        self.bytes(b);
        self.bytes(&[0]);
    }
    fn decimal(&mut self, v: u64) {
        let mut digits = [0u8; 20];
        let len = decimal_len(v);
        let mut rest = v;
        for d in digits[..len].iter_mut().rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        self.bytes(&digits[..len]);
    }
    fn options(&mut self, o: &Options) {
        o.for_each(|name, value| {
            self.cstr(name.as_bytes());
            self.decimal(value);
            self.bytes(&[0]);
        });
    }
}
