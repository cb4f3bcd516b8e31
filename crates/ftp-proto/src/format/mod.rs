//! The data formats of RFC 959 §3.1–§3.4 beyond TYPE A/I in stream mode:
//! what a transfer's bytes look like on the data connection, given its
//! representation type (TYPE A, E, I), its structure (STRU F, R) and its
//! transmission mode (MODE S, B, C, and the deflate extension's Z). A [`Format`] is the three together;
//! an [`Encoder`] turns a local file's bytes into wire bytes and a
//! [`Decoder`] turns wire bytes back into the file's. Both are streaming:
//! input may be split anywhere and gives the same output.
//!
//! Files here are Unix files, so the mapping to the protocol's notions is
//! fixed:
//!
//! - Local bytes are the server's representation. TYPE A sends LF as
//!   CR LF ([`ascii`]); TYPE E sends EBCDIC code page 037
//!   with LF as NL ([`ebcdic`]); TYPE I sends them as they
//!   are.
//! - STRU R: a record is a line. Each LF of the file ends a record (the
//!   LF itself is not sent, whatever the type), and a last line without
//!   LF is a last record without end-of-record; received record ends
//!   become LF. So a file makes the round trip exactly.
//! - MODE S with STRU F ends the data by closing the connection; with
//!   STRU R it uses the escapes of [`record`]; MODE B and C carry record
//!   ends, the end of file and restart markers in their own framing
//!   ([`block`], [`compressed`]). MODE Z is stream mode's bytes
//!   through zlib, whose own end marks the end ([`deflate`]).
//! - Restart markers (MODE B and C, RFC 959 §3.5): the sender marks the
//!   file offset every [`MARKER_INTERVAL`] file bytes, the marker being
//!   that offset in decimal ASCII. `REST` takes the same number, so a
//!   transfer restarts at a marker as it would at a stream-mode offset.
//!   A [`Decoder`] reports the markers it receives with the file offset
//!   each fell at ([`Marker`]); the server session answers each with a
//!   110 reply (`Session::restart_marker`).

pub mod block;
pub mod compressed;
pub mod deflate;
pub mod record;

use alloc::vec::Vec;

use crate::{ascii, ebcdic};

pub use crate::command::TransferMode as Mode;

/// File bytes between two restart markers in MODE B and C.
pub const MARKER_INTERVAL: u64 = 1 << 20;

/// A restart marker longer than this is refused (ours are at most 20
/// digits).
pub const MAX_MARKER: usize = 64;

/// The most wire bytes to hand one [`Decoder::decode`] call when its
/// output is to stay small: MODE Z inflates up to about 1000 times, so a
/// slice of this size gives at most a few MiB, where a whole socket read
/// could give hundreds.
pub const DECODE_SLICE: usize = 2048;

/// What a reader answers once its data has ended: nothing more may come.
fn after_end(input: &[u8]) -> Result<(), DecodeError> {
    match input.is_empty() {
        true => Ok(()),
        false => Err(DecodeError::AfterEnd),
    }
}

/// TYPE (RFC 959 §3.1.1), as far as it changes bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Representation {
    /// TYPE I (and L 8): bytes as they are.
    Image,
    /// TYPE A N: LF is CR LF on the wire.
    Ascii,
    /// TYPE E N: EBCDIC on the wire, CP037 with LF as NL.
    Ebcdic,
}

/// STRU (RFC 959 §3.1.2) as mapped to a Unix file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Structure {
    /// STRU F: a sequence of bytes.
    #[default]
    File,
    /// STRU R: a sequence of records, each a line of the file.
    Record,
}

/// A transfer's TYPE, STRU and MODE together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Format {
    /// TYPE.
    pub representation: Representation,
    /// STRU.
    pub structure: Structure,
    /// MODE.
    pub mode: Mode,
    /// MODE Z's deflate level, 0 to [`deflate::MAX_LEVEL`] (`OPTS MODE Z
    /// LEVEL`); the other modes ignore it.
    pub level: u8,
}

impl Format {
    /// TYPE I, STRU F, MODE S: the bytes of the file, as they are.
    pub const IMAGE: Format = Format {
        representation: Representation::Image,
        structure: Structure::File,
        mode: Mode::Stream,
        level: deflate::DEFAULT_LEVEL,
    };

    /// TYPE A, STRU F, MODE S (RFC 959's defaults).
    pub const ASCII: Format = Format {
        representation: Representation::Ascii,
        structure: Structure::File,
        mode: Mode::Stream,
        level: deflate::DEFAULT_LEVEL,
    };

    /// The wire bytes are the file's bytes: a driver may move them with
    /// `sendfile(2)` or `splice(2)`.
    pub fn is_plain(&self) -> bool {
        self.same_bytes(&Format::IMAGE)
    }

    /// TYPE A in STRU F and MODE S: today's plain text transfer.
    pub fn is_ascii(&self) -> bool {
        self.same_bytes(&Format::ASCII)
    }

    /// TYPE, STRU and MODE agree (the level changes no byte's meaning).
    fn same_bytes(&self, other: &Format) -> bool {
        (self.representation, self.structure, self.mode)
            == (other.representation, other.structure, other.mode)
    }

    /// The mode delimits the data itself (an end of file marker), so the
    /// receiver knows the end without the connection closing.
    pub fn marks_end(&self) -> bool {
        self.mode != Mode::Stream || self.structure == Structure::Record
    }

    /// MODE C's filler byte as it appears on the wire (RFC 959 §3.4.3):
    /// a space in TYPE A and E, zero otherwise.
    fn filler(&self) -> u8 {
        match self.representation {
            Representation::Ascii => b' ',
            Representation::Ebcdic => ebcdic::to_ebcdic(b' '),
            Representation::Image => 0,
        }
    }
}

/// What a mode's reader finds in the wire bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// Data bytes, still in the wire representation.
    Data(&'a [u8]),
    /// The end of a record.
    EndOfRecord,
    /// A restart marker, as the sender wrote it.
    Marker(&'a [u8]),
    /// The end of the file.
    EndOfFile,
}

/// Why wire bytes are not valid in the transfer's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A block or escape descriptor with bits RFC 959 does not assign.
    #[error("invalid descriptor 0x{0:02X}")]
    BadDescriptor(u8),
    /// STRU R in MODE S: 0xFF followed by something other than 1, 2, 3 or 0xFF.
    #[error("invalid record escape 0xFF 0x{0:02X}")]
    BadEscape(u8),
    /// MODE C: a restart-marker escape not followed by a data unit.
    #[error("invalid restart marker")]
    BadMarker,
    /// A restart marker longer than [`MAX_MARKER`].
    #[error("restart marker too long")]
    MarkerTooLong,
    /// Bytes after the end of file marker.
    #[error("data after the end of file")]
    AfterEnd,
    /// The connection closed before the end of file marker (or inside an
    /// escape, a header or a block).
    #[error("the data ended before its end of file")]
    Truncated,
    /// MODE Z: the bytes are not a valid zlib stream.
    #[error("invalid deflate stream")]
    BadDeflate,
}

#[derive(Debug)]
enum Writer {
    Stream,
    RecordStream,
    Block(block::Writer),
    Compressed(compressed::Writer),
    // Boxed: the compressor's buffers would make every Encoder large.
    Deflate(alloc::boxed::Box<deflate::Writer>),
}

impl Writer {
    fn new(format: Format) -> Writer {
        match (format.mode, format.structure) {
            (Mode::Stream, Structure::File) => Writer::Stream,
            (Mode::Stream, Structure::Record) => Writer::RecordStream,
            (Mode::Block, _) => Writer::Block(block::Writer::default()),
            (Mode::Compressed, _) => Writer::Compressed(compressed::Writer::new(format.filler())),
            (Mode::Deflate, structure) => Writer::Deflate(alloc::boxed::Box::new(
                deflate::Writer::new(format.level, structure == Structure::Record),
            )),
        }
    }

    fn data(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        match self {
            Writer::Stream => out.extend_from_slice(bytes),
            Writer::RecordStream => record::data(bytes, out),
            Writer::Block(w) => w.data(bytes, out),
            Writer::Compressed(w) => w.data(bytes, out),
            Writer::Deflate(w) => w.data(bytes, out),
        }
    }

    fn end_record(&mut self, out: &mut Vec<u8>) {
        match self {
            // STRU F in stream mode has no records (Encoder never asks).
            Writer::Stream => {}
            Writer::RecordStream => record::end_record(out),
            Writer::Block(w) => w.end_record(out),
            Writer::Compressed(w) => w.end_record(out),
            Writer::Deflate(w) => w.end_record(out),
        }
    }

    fn marker(&mut self, marker: &[u8], out: &mut Vec<u8>) {
        match self {
            // Stream mode has no markers (RFC 959 §3.5), nor MODE Z.
            Writer::Stream | Writer::RecordStream | Writer::Deflate(_) => {}
            Writer::Block(w) => w.marker(marker, out),
            Writer::Compressed(w) => w.marker(marker, out),
        }
    }

    fn end_file(&mut self, out: &mut Vec<u8>) {
        match self {
            Writer::Stream => {}
            Writer::RecordStream => record::end_file(out),
            Writer::Block(w) => w.end_file(out),
            Writer::Compressed(w) => w.end_file(out),
            Writer::Deflate(w) => w.end_file(out),
        }
    }
}

/// A local file's bytes into wire bytes in a [`Format`].
#[derive(Debug)]
pub struct Encoder {
    format: Format,
    ascii: ascii::Encoder,
    writer: Writer,
    /// File offset of the next input byte.
    offset: u64,
    /// Where the next restart marker goes, if any.
    next_marker: Option<u64>,
    interval: u64,
    converted: Vec<u8>,
}

impl Encoder {
    /// An encoder for a transfer that starts at file offset `start` (REST),
    /// with restart markers every [`MARKER_INTERVAL`] in MODE B and C.
    pub fn new(format: Format, start: u64) -> Encoder {
        Encoder::with_marker_interval(format, start, MARKER_INTERVAL)
    }

    /// The same with markers every `interval` file bytes (0: none).
    pub fn with_marker_interval(format: Format, start: u64, interval: u64) -> Encoder {
        let marks = matches!(format.mode, Mode::Block | Mode::Compressed) && interval > 0;
        Encoder {
            format,
            ascii: ascii::Encoder::new(),
            writer: Writer::new(format),
            offset: start,
            next_marker: marks.then(|| start.saturating_add(interval)),
            interval,
            converted: Vec::new(),
        }
    }

    /// Appends the wire bytes of the file bytes `input` to `out` (some
    /// may be held back until more input or [`finish`](Self::finish)).
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut rest = input;
        while !rest.is_empty() {
            let take = match self.next_marker {
                Some(at) => rest
                    .len()
                    .min(usize::try_from(at - self.offset).unwrap_or(usize::MAX)),
                None => rest.len(),
            };
            let (piece, tail) = rest.split_at(take);
            self.piece(piece, out);
            self.offset += take as u64;
            rest = tail;
            if self.next_marker == Some(self.offset) {
                let mut marker = Vec::new();
                crate::command::push_decimal(&mut marker, self.offset);
                self.writer.marker(&marker, out);
                self.next_marker = self.offset.checked_add(self.interval);
            }
        }
    }

    fn piece(&mut self, piece: &[u8], out: &mut Vec<u8>) {
        if self.format.structure == Structure::File {
            return self.data(piece, out);
        }
        let mut rest = piece;
        while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
            self.data(&rest[..lf], out);
            self.writer.end_record(out);
            rest = &rest[lf + 1..];
        }
        self.data(rest, out);
    }

    fn data(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        match (self.format.representation, self.format.structure) {
            (Representation::Image, _) | (Representation::Ascii, Structure::Record) => {
                self.writer.data(bytes, out)
            }
            (Representation::Ascii, Structure::File) => {
                self.converted.clear();
                self.ascii.encode(bytes, &mut self.converted);
                self.writer.data(&self.converted, out);
            }
            (Representation::Ebcdic, _) => {
                self.converted.clear();
                self.converted.extend_from_slice(bytes);
                ebcdic::encode_in_place(&mut self.converted);
                self.writer.data(&self.converted, out);
            }
        }
    }

    /// The file ended: appends what was held back and the format's end of
    /// file marker, if it has one.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.writer.end_file(out);
    }
}

#[derive(Debug)]
enum Reader {
    Stream,
    RecordStream(record::Reader),
    Block(block::Reader),
    Compressed(compressed::Reader),
    Deflate(alloc::boxed::Box<deflate::Reader>),
}

/// A restart marker received (RFC 959 §3.5), with where it fell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The marker as the sender wrote it.
    pub sender: Vec<u8>,
    /// The file offset it fell at: the decoder's start offset plus the
    /// file bytes decoded before it. The receiver's own marker, what a
    /// `REST` names to resume there.
    pub offset: u64,
}

/// Markers a [`Decoder`] keeps until [`Decoder::take_marker`] takes
/// them; past this the oldest is dropped (the newest is the one a
/// restart needs). A driver that takes them after every write of wire
/// bytes loses none unless one write carries more than this many.
pub const MAX_PENDING_MARKERS: usize = 8;

/// Restart markers waiting to be taken, oldest first: at most
/// [`MAX_PENDING_MARKERS`], past that the oldest is dropped. The
/// [`Decoder`] keeps its markers so, and a driver that carries them on to
/// the session from elsewhere (another thread) keeps the same bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingMarkers(Vec<Marker>);

impl PendingMarkers {
    /// Adds the newest marker, dropping the oldest if it is full.
    pub fn push(&mut self, marker: Marker) {
        if self.0.len() == MAX_PENDING_MARKERS {
            self.0.remove(0);
        }
        self.0.push(marker);
    }

    /// Takes the oldest marker.
    pub fn pop(&mut self) -> Option<Marker> {
        (!self.0.is_empty()).then(|| self.0.remove(0))
    }
}

/// What a [`Reader`]'s items do to the file.
#[derive(Debug, Clone)]
struct Assembler {
    format: Format,
    ascii: ascii::Decoder,
    /// File offset at the start of `out` in this call.
    base: u64,
    start_len: usize,
    markers: PendingMarkers,
    complete: bool,
}

impl Assembler {
    fn item(&mut self, item: Item<'_>, out: &mut Vec<u8>) {
        match item {
            Item::Data(bytes) => match (self.format.representation, self.format.structure) {
                (Representation::Image, _) | (Representation::Ascii, Structure::Record) => {
                    out.extend_from_slice(bytes)
                }
                (Representation::Ascii, Structure::File) => self.ascii.decode(bytes, out),
                (Representation::Ebcdic, _) => {
                    let at = out.len();
                    out.extend_from_slice(bytes);
                    ebcdic::decode_in_place(&mut out[at..]);
                }
            },
            Item::EndOfRecord => {
                // STRU F has no records: a block flagged so is taken as data.
                if self.format.structure == Structure::Record {
                    out.push(b'\n');
                }
            }
            Item::Marker(sender) => {
                let offset = self.base + (out.len() - self.start_len) as u64;
                self.markers.push(Marker {
                    sender: sender.to_vec(),
                    offset,
                });
            }
            Item::EndOfFile => {
                self.ascii.finish(out);
                self.complete = true;
            }
        }
    }
}

/// Wire bytes in a [`Format`] back into a local file's bytes.
#[derive(Debug)]
pub struct Decoder {
    reader: Reader,
    assembler: Assembler,
}

impl Decoder {
    /// A decoder for a transfer written from file offset `start` (REST).
    pub fn new(format: Format, start: u64) -> Decoder {
        let reader = match (format.mode, format.structure) {
            (Mode::Stream, Structure::File) => Reader::Stream,
            (Mode::Stream, Structure::Record) => Reader::RecordStream(record::Reader::default()),
            (Mode::Block, _) => Reader::Block(block::Reader::default()),
            (Mode::Compressed, _) => Reader::Compressed(compressed::Reader::new(format.filler())),
            (Mode::Deflate, structure) => Reader::Deflate(alloc::boxed::Box::new(
                deflate::Reader::new(structure == Structure::Record),
            )),
        };
        Decoder {
            reader,
            assembler: Assembler {
                format,
                ascii: ascii::Decoder::new(),
                base: start,
                start_len: 0,
                markers: PendingMarkers::default(),
                complete: false,
            },
        }
    }

    /// Appends the file bytes of the wire bytes `input` to `out`.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
        let start_len = out.len();
        self.assembler.start_len = start_len;
        let assembler = &mut self.assembler;
        let result = match &mut self.reader {
            Reader::Stream => {
                assembler.item(Item::Data(input), out);
                Ok(())
            }
            Reader::RecordStream(r) => r.feed(input, &mut |item| assembler.item(item, out)),
            Reader::Block(r) => r.feed(input, &mut |item| assembler.item(item, out)),
            Reader::Compressed(r) => r.feed(input, &mut |item| assembler.item(item, out)),
            Reader::Deflate(r) => r.feed(input, &mut |item| assembler.item(item, out)),
        };
        self.assembler.base += (out.len() - start_len) as u64;
        result
    }

    /// The data's own end of file marker came (MODE B and C, STRU R): the
    /// file is whole even if the sender keeps the connection open.
    pub fn is_complete(&self) -> bool {
        self.assembler.complete
    }

    /// The connection closed: appends what was held back, or fails if the
    /// format marks its end and that end did not come.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        if let Reader::Stream = self.reader {
            self.assembler.ascii.finish(out);
            self.assembler.complete = true;
        }
        match self.assembler.complete {
            true => Ok(()),
            false => Err(DecodeError::Truncated),
        }
    }

    /// The oldest restart marker not yet taken.
    pub fn take_marker(&mut self) -> Option<Marker> {
        self.assembler.markers.pop()
    }
}
