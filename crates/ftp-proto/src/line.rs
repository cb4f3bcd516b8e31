//! The server's control-line reader: splits the control stream into
//! command lines, strips Telnet sequences (RFC 854: `IAC IAC` is a literal
//! 0xFF, `IAC WILL|WONT|DO|DONT x` and `IAC <command>` such as IP and DM are
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

/// Telnet's "interpret as command" byte (RFC 854).
const IAC: u8 = 0xFF;

/// Where the reader is inside a Telnet sequence. Kept between `feed`
/// calls: TCP may split `IAC DO x` anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Telnet {
    /// Ordinary data.
    Data,
    /// After an IAC.
    Iac,
    /// After IAC WILL/WONT/DO/DONT: the option byte is next.
    Option,
}

/// Control-line reader with a fixed maximum line length.
///
/// The line never holds more than `max_len` bytes, however long the input
/// line is: the excess is dropped as it arrives, so a peer cannot make
/// the server buffer more than it chose to.
#[derive(Debug)]
pub struct LineReader {
    buf: Vec<u8>,
    max_len: usize,
    telnet: Telnet,
    /// The last data byte was a CR, not yet in `buf`: it is dropped if an
    /// LF follows (CR LF ends the line) and kept otherwise.
    cr: bool,
    /// The current line went past `max_len`; its bytes are being dropped.
    overflow: bool,
    state: Fed,
}

impl LineReader {
    /// A reader whose lines (after Telnet stripping, without terminator)
    /// may be at most `max_len` bytes. It allocates lazily.
    pub fn new(max_len: usize) -> LineReader {
        LineReader {
            buf: Vec::new(),
            max_len,
            telnet: Telnet::Data,
            cr: false,
            overflow: false,
            state: Fed::NeedMore,
        }
    }

    /// Takes bytes from `input` up to and including the end of the first
    /// line, or all of it. Returns how many bytes were taken and what was
    /// found. While a line is waiting (after `Line`/`TooLong`, before
    /// `clear`) it takes nothing and returns the same result again.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Fed) {
        if self.state != Fed::NeedMore {
            return (0, self.state);
        }
        let mut i = 0;
        while i < input.len() {
            match self.telnet {
                Telnet::Data => {
                    let rest = &input[i..];
                    let Some(p) = find_lf_or_iac(rest) else {
                        self.data(rest);
                        return (input.len(), Fed::NeedMore);
                    };
                    self.data(&rest[..p]);
                    i += p + 1;
                    if rest[p] == IAC {
                        self.telnet = Telnet::Iac;
                    } else {
                        // CR LF or a bare LF: either ends the line.
                        self.cr = false;
                        self.state = if self.overflow {
                            Fed::TooLong
                        } else {
                            Fed::Line
                        };
                        return (i, self.state);
                    }
                }
                Telnet::Iac => {
                    match input[i] {
                        // IAC IAC: one literal 0xFF data byte.
                        IAC => {
                            self.data(&[IAC]);
                            self.telnet = Telnet::Data;
                        }
                        // WILL, WONT, DO, DONT: an option byte follows.
                        0xFB..=0xFE => self.telnet = Telnet::Option,
                        // SE, NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, SB:
                        // a two-byte command, dropped. The server acts
                        // on the ABOR that follows IP and Synch (RFC 959
                        // §4.1.3), not on the Telnet signals themselves.
                        0xF0..=0xFA => self.telnet = Telnet::Data,
                        // Not a command: drop the IAC alone and read this
                        // byte (even an LF) as data.
                        _ => {
                            self.telnet = Telnet::Data;
                            continue;
                        }
                    }
                    i += 1;
                }
                Telnet::Option => {
                    self.telnet = Telnet::Data;
                    i += 1;
                }
            }
        }
        (input.len(), Fed::NeedMore)
    }

    /// The completed line (without CR LF); empty unless `feed` said `Line`.
    pub fn line(&self) -> &[u8] {
        if self.state == Fed::Line {
            &self.buf
        } else {
            &[]
        }
    }

    /// Forgets the completed line so the next can be read. Keeps the
    /// buffer's capacity.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.cr = false;
        self.overflow = false;
        self.state = Fed::NeedMore;
    }

    /// Bytes currently buffered (a partial or waiting line). Never more
    /// than `max_len`.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated for the line buffer. Never more than `max_len`,
    /// so a session's memory is bounded by its configuration.
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Data bytes (Telnet already removed) without an LF.
    fn data(&mut self, bytes: &[u8]) {
        let Some((&last, body)) = bytes.split_last() else {
            return;
        };
        if self.cr {
            self.cr = false;
            self.append(b"\r");
        }
        if last == b'\r' {
            self.append(body);
            self.cr = true;
        } else {
            self.append(bytes);
        }
    }

    fn append(&mut self, bytes: &[u8]) {
        if self.overflow {
            return;
        }
        let need = self.buf.len() + bytes.len();
        if need > self.max_len {
            self.overflow = true;
            self.buf.clear();
            return;
        }
        if need > self.buf.capacity() {
            // Grow geometrically, but never past the limit.
            let target = need.max(2 * self.buf.capacity()).max(64).min(self.max_len);
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(bytes);
    }
}

/// The position of the first LF or IAC in `hay`. Eight bytes at a time
/// (the classic "has a zero byte" word trick), since control lines are
/// scanned on every command and most hold neither byte.
fn find_lf_or_iac(hay: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const LFS: u64 = u64::from_ne_bytes([b'\n'; 8]);
    // High bit set in each byte of the result that was zero in `x`; the
    // lowest such bit is exact (false positives only above a true zero).
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let hits = zero(w ^ LFS) | zero(!w);
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n' || b == IAC)
        .map(|p| at + p)
}
