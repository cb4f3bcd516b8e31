//! MODE B (block mode, RFC 959 §3.4.2): the data is a series of blocks,
//! each a descriptor byte, a 16-bit big-endian count and that many bytes.
//! Descriptor bits: 128 end of record (the block's last byte ends one),
//! 64 end of file, 32 suspected errors, 16 the block is a restart marker
//! (its bytes are the marker, not data). The other bits are unassigned.
//!
//! The writer sends full 65535-byte blocks as the data fills them and
//! flushes a shorter one at each record end, marker and the end of file,
//! which rides on the last data block (an empty file is one empty EOF
//! block). The reader takes any valid sequence: empty blocks, blocks of
//! any size, several flags at once.

use alloc::vec::Vec;

use super::{after_end, DecodeError, Item, MAX_MARKER};

/// The end of a record (RFC 959 §3.4.2).
pub const END_OF_RECORD: u8 = 0x80;
/// The end of the file.
pub const END_OF_FILE: u8 = 0x40;
/// The sender suspects errors in the block's data.
pub const SUSPECTED_ERRORS: u8 = 0x20;
/// The block is a restart marker.
pub const RESTART_MARKER: u8 = 0x10;
/// Descriptor bits RFC 959 gives no meaning.
const UNASSIGNED: u8 = 0x0F;
/// The largest count.
pub const MAX_BLOCK: usize = u16::MAX as usize;

fn header(out: &mut Vec<u8>, descriptor: u8, len: usize) {
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    out.push(descriptor);
    out.extend_from_slice(&len.to_be_bytes());
}

/// File bytes into blocks.
#[derive(Debug, Clone, Default)]
pub(super) struct Writer {
    /// Data not yet sent: less than a full block.
    pending: Vec<u8>,
}

impl Writer {
    pub(super) fn data(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) {
        while !bytes.is_empty() {
            if self.pending.is_empty() && bytes.len() >= MAX_BLOCK {
                header(out, 0, MAX_BLOCK);
                out.extend_from_slice(&bytes[..MAX_BLOCK]);
                bytes = &bytes[MAX_BLOCK..];
                continue;
            }
            let take = bytes.len().min(MAX_BLOCK - self.pending.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == MAX_BLOCK {
                self.flush(0, out);
            }
        }
    }

    fn flush(&mut self, descriptor: u8, out: &mut Vec<u8>) {
        header(out, descriptor, self.pending.len());
        out.extend_from_slice(&self.pending);
        self.pending.clear();
    }

    pub(super) fn end_record(&mut self, out: &mut Vec<u8>) {
        self.flush(END_OF_RECORD, out);
    }

    pub(super) fn marker(&mut self, marker: &[u8], out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            self.flush(0, out);
        }
        header(out, RESTART_MARKER, marker.len());
        out.extend_from_slice(marker);
    }

    pub(super) fn end_file(&mut self, out: &mut Vec<u8>) {
        self.flush(END_OF_FILE, out);
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// `have` bytes of the next header, in `header`.
    Header { have: usize, header: [u8; 3] },
    /// Inside a block: `left` bytes of it to come.
    Body { descriptor: u8, left: usize },
    /// The EOF block came: nothing may follow.
    Ended,
}

/// Blocks back into data, record ends and markers.
#[derive(Debug, Clone)]
pub(super) struct Reader {
    state: State,
    marker: Vec<u8>,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader {
            state: State::Header {
                have: 0,
                header: [0; 3],
            },
            marker: Vec::new(),
        }
    }
}

impl Reader {
    pub(super) fn feed(
        &mut self,
        mut input: &[u8],
        emit: &mut impl FnMut(Item<'_>),
    ) -> Result<(), DecodeError> {
        loop {
            match &mut self.state {
                State::Ended => return after_end(input),
                State::Header { have, header } => {
                    let Some((&b, rest)) = input.split_first() else {
                        return Ok(());
                    };
                    input = rest;
                    header[*have] = b;
                    *have += 1;
                    if *have < 3 {
                        continue;
                    }
                    let descriptor = header[0];
                    if descriptor & UNASSIGNED != 0 {
                        return Err(DecodeError::BadDescriptor(descriptor));
                    }
                    let left = usize::from(u16::from_be_bytes([header[1], header[2]]));
                    if descriptor & RESTART_MARKER != 0 && left > MAX_MARKER {
                        return Err(DecodeError::MarkerTooLong);
                    }
                    self.state = State::Body { descriptor, left };
                }
                State::Body { descriptor, left } => {
                    let descriptor = *descriptor;
                    if *left > 0 {
                        if input.is_empty() {
                            return Ok(());
                        }
                        let take = input.len().min(*left);
                        *left -= take;
                        let (bytes, rest) = input.split_at(take);
                        input = rest;
                        if descriptor & RESTART_MARKER != 0 {
                            self.marker.extend_from_slice(bytes);
                        } else {
                            emit(Item::Data(bytes));
                        }
                        if *left > 0 {
                            return Ok(());
                        }
                    }
                    if descriptor & RESTART_MARKER != 0 {
                        emit(Item::Marker(&self.marker));
                        self.marker.clear();
                    }
                    if descriptor & END_OF_RECORD != 0 {
                        emit(Item::EndOfRecord);
                    }
                    self.state = if descriptor & END_OF_FILE != 0 {
                        emit(Item::EndOfFile);
                        State::Ended
                    } else {
                        State::Header {
                            have: 0,
                            header: [0; 3],
                        }
                    };
                }
            }
        }
    }
}
