//! The server's control-line reader: splits the control stream into
//! command lines, strips Telnet sequences (RFC 854: IAC IAC is a literal
//! 0xFF, IAC WILL/WONT/DO/DONT x and IAC <command> such as IP and DM are
//! dropped, a lone IAC before an ordinary byte is dropped) and bounds the
//! line length. CR LF and a bare LF both end a line; the terminator is not
//! part of the line. An over-long line is reported once, when its end
//! arrives, and the stream stays in step.

use alloc::vec::Vec;

/// What [`LineReader::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// All input was taken; no line is complete yet.
    NeedMore,
    /// A line is complete: read it with [`LineReader::line`], then call
    /// [`LineReader::clear`] before feeding more.
    Line,
    /// A line longer than the limit ended (its bytes were discarded).
    /// Call [`LineReader::clear`] before feeding more.
    TooLong,
}

/// Control-line reader with a fixed maximum line length.
#[derive(Debug)]
pub struct LineReader {
    _private: Vec<u8>,
}

impl LineReader {
    /// A reader whose lines (after Telnet stripping, without terminator)
    /// may be at most `max_len` bytes. It allocates lazily.
    pub fn new(max_len: usize) -> LineReader {
        let _ = max_len;
        todo!()
    }

    /// Takes bytes from `input` up to and including the end of the first
    /// line, or all of it. Returns how many bytes were taken and what was
    /// found. While a line is waiting (after `Line`/`TooLong`, before
    /// `clear`) it takes nothing and returns the same result again.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Fed) {
        let _ = input;
        todo!()
    }

    /// The completed line (without CR LF); empty unless `feed` said `Line`.
    pub fn line(&self) -> &[u8] {
        todo!()
    }

    /// Forgets the completed line so the next can be read. Keeps the
    /// buffer's capacity.
    pub fn clear(&mut self) {
        todo!()
    }

    /// Bytes currently buffered (a partial or waiting line).
    pub fn buffered(&self) -> usize {
        todo!()
    }
}
