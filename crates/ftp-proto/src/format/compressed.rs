//! MODE C (compressed mode, RFC 959 §3.4.3). The data is a series of
//! units, each starting with a header byte:
//!
//! - `0nnnnnnn` (n = 1..127): n data bytes follow;
//! - `10nnnnnn`: the next byte, n times (replicated bytes);
//! - `11nnnnnn`: n filler bytes, the representation's space (0x20 in
//!   TYPE A, 0x40 in TYPE E) or zero (TYPE I);
//! - `00000000`: an escape; the next byte is a descriptor with block
//!   mode's bits (end of record, end of file, suspected errors, restart
//!   marker). With the restart-marker bit, the marker follows as one
//!   unit of data bytes.
//!
//! The writer replaces runs of three bytes or more (up to 63) with a
//! replicated or filler unit and sends the rest as data units of up to
//! 127 bytes; it decides byte by byte, so its output does not depend on
//! how the input was split. The reader takes every valid form, zero-count
//! runs included.

use alloc::vec::Vec;

use super::block::{END_OF_FILE, END_OF_RECORD, RESTART_MARKER};
use super::{after_end, DecodeError, Item, MAX_MARKER};

const MAX_DATA: usize = 127;
const MAX_RUN: u8 = 63;
const MIN_RUN: u8 = 3;
/// Descriptor bits RFC 959 gives no meaning.
const UNASSIGNED: u8 = 0x0F;

/// File bytes into compressed units.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    filler: u8,
    literal: Vec<u8>,
    run_byte: u8,
    run_len: u8,
}

impl Writer {
    pub(super) fn new(filler: u8) -> Writer {
        Writer {
            filler,
            literal: Vec::new(),
            run_byte: 0,
            run_len: 0,
        }
    }

    pub(super) fn data(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            if self.run_len > 0 && b == self.run_byte && self.run_len < MAX_RUN {
                self.run_len += 1;
                continue;
            }
            self.flush_run(out);
            self.run_byte = b;
            self.run_len = 1;
        }
    }

    fn flush_run(&mut self, out: &mut Vec<u8>) {
        let n = core::mem::take(&mut self.run_len);
        if n >= MIN_RUN {
            self.flush_literal(out);
            if self.run_byte == self.filler {
                out.push(0xC0 | n);
            } else {
                out.extend_from_slice(&[0x80 | n, self.run_byte]);
            }
            return;
        }
        for _ in 0..n {
            self.literal.push(self.run_byte);
            if self.literal.len() == MAX_DATA {
                self.flush_literal(out);
            }
        }
    }

    fn flush_literal(&mut self, out: &mut Vec<u8>) {
        if !self.literal.is_empty() {
            out.push(self.literal.len() as u8);
            out.extend_from_slice(&self.literal);
            self.literal.clear();
        }
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        self.flush_run(out);
        self.flush_literal(out);
    }

    pub(super) fn end_record(&mut self, out: &mut Vec<u8>) {
        self.flush(out);
        out.extend_from_slice(&[0, END_OF_RECORD]);
    }

    pub(super) fn marker(&mut self, marker: &[u8], out: &mut Vec<u8>) {
        self.flush(out);
        // Markers are decimal offsets: far shorter than one unit.
        let marker = &marker[..marker.len().min(MAX_DATA)];
        out.extend_from_slice(&[0, RESTART_MARKER, marker.len() as u8]);
        out.extend_from_slice(marker);
    }

    pub(super) fn end_file(&mut self, out: &mut Vec<u8>) {
        self.flush(out);
        out.extend_from_slice(&[0, END_OF_FILE]);
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Header,
    /// Inside a data unit.
    Data {
        left: u8,
    },
    /// The byte to replicate comes next.
    Replicate {
        n: u8,
    },
    /// The descriptor of an escape comes next.
    Escape,
    /// The marker's unit header comes next; `then` are the escape's
    /// other bits, applied after the marker.
    MarkerHeader {
        then: u8,
    },
    /// Inside the marker's unit.
    Marker {
        left: u8,
        then: u8,
    },
    Ended,
}

/// Compressed units back into data, record ends and markers.
#[derive(Debug, Clone)]
pub(super) struct Reader {
    filler: u8,
    state: State,
    marker: Vec<u8>,
}

impl Reader {
    pub(super) fn new(filler: u8) -> Reader {
        Reader {
            filler,
            state: State::Header,
            marker: Vec::new(),
        }
    }

    fn descriptor(&mut self, d: u8, emit: &mut impl FnMut(Item<'_>)) {
        if d & END_OF_RECORD != 0 {
            emit(Item::EndOfRecord);
        }
        self.state = if d & END_OF_FILE != 0 {
            emit(Item::EndOfFile);
            State::Ended
        } else {
            State::Header
        };
    }

    pub(super) fn feed(
        &mut self,
        mut input: &[u8],
        emit: &mut impl FnMut(Item<'_>),
    ) -> Result<(), DecodeError> {
        loop {
            if let State::Data { left } = &mut self.state {
                if input.is_empty() {
                    return Ok(());
                }
                let take = input.len().min(usize::from(*left));
                emit(Item::Data(&input[..take]));
                input = &input[take..];
                *left -= take as u8;
                if *left == 0 {
                    self.state = State::Header;
                }
                continue;
            }
            if let State::Ended = self.state {
                return after_end(input);
            }
            let Some((&b, rest)) = input.split_first() else {
                return Ok(());
            };
            input = rest;
            match self.state {
                State::Header => match b {
                    0 => self.state = State::Escape,
                    1..=0x7F => self.state = State::Data { left: b },
                    0x80..=0xBF => self.state = State::Replicate { n: b & 0x3F },
                    _ => {
                        let fill = [self.filler; MAX_RUN as usize];
                        let n = usize::from(b & 0x3F);
                        if n > 0 {
                            emit(Item::Data(&fill[..n]));
                        }
                    }
                },
                State::Replicate { n } => {
                    let run = [b; MAX_RUN as usize];
                    if n > 0 {
                        emit(Item::Data(&run[..usize::from(n)]));
                    }
                    self.state = State::Header;
                }
                State::Escape => {
                    if b & UNASSIGNED != 0 {
                        return Err(DecodeError::BadDescriptor(b));
                    }
                    if b & RESTART_MARKER != 0 {
                        self.state = State::MarkerHeader {
                            then: b & !RESTART_MARKER,
                        };
                    } else {
                        self.descriptor(b, emit);
                    }
                }
                State::MarkerHeader { then } => match b {
                    // As in MODE B, no marker is longer than MAX_MARKER.
                    1..=0x7F if usize::from(b) > MAX_MARKER => {
                        return Err(DecodeError::MarkerTooLong)
                    }
                    1..=0x7F => self.state = State::Marker { left: b, then },
                    _ => return Err(DecodeError::BadMarker),
                },
                State::Marker { left, then } => {
                    self.marker.push(b);
                    if left > 1 {
                        self.state = State::Marker {
                            left: left - 1,
                            then,
                        };
                    } else {
                        emit(Item::Marker(&self.marker));
                        self.marker.clear();
                        self.descriptor(then, emit);
                    }
                }
                State::Data { .. } | State::Ended => unreachable!("handled above"),
            }
        }
    }
}
