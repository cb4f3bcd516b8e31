//! STRU R in MODE S (RFC 959 §3.4.1): records travel in the byte stream
//! with two-byte escapes. 0xFF 0x01 ends a record, 0xFF 0x02 ends the
//! file, 0xFF 0x03 does both, and 0xFF 0xFF is one data byte 0xFF. Any
//! other byte after 0xFF is malformed.

use alloc::vec::Vec;

use super::{after_end, DecodeError, Item};

const ESCAPE: u8 = 0xFF;
const EOR: u8 = 0x01;
const EOF: u8 = 0x02;

/// Data with its 0xFF bytes doubled.
pub(super) fn data(bytes: &[u8], out: &mut Vec<u8>) {
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|&b| b == ESCAPE) {
        out.extend_from_slice(&rest[..=i]);
        out.push(ESCAPE);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

pub(super) fn end_record(out: &mut Vec<u8>) {
    out.extend_from_slice(&[ESCAPE, EOR]);
}

pub(super) fn end_file(out: &mut Vec<u8>) {
    out.extend_from_slice(&[ESCAPE, EOF]);
}

/// The escaped stream back into data and record ends.
#[derive(Debug, Clone, Default)]
pub(super) struct Reader {
    /// The last input ended in an escape byte.
    escaped: bool,
    ended: bool,
}

impl Reader {
    pub(super) fn feed(
        &mut self,
        mut input: &[u8],
        emit: &mut impl FnMut(Item<'_>),
    ) -> Result<(), DecodeError> {
        loop {
            if self.ended {
                return after_end(input);
            }
            if self.escaped {
                let Some((&code, rest)) = input.split_first() else {
                    return Ok(());
                };
                input = rest;
                self.escaped = false;
                match code {
                    ESCAPE => emit(Item::Data(&[ESCAPE])),
                    1..=3 => {
                        if code & EOR != 0 {
                            emit(Item::EndOfRecord);
                        }
                        if code & EOF != 0 {
                            emit(Item::EndOfFile);
                            self.ended = true;
                        }
                    }
                    other => return Err(DecodeError::BadEscape(other)),
                }
                continue;
            }
            match input.iter().position(|&b| b == ESCAPE) {
                Some(i) => {
                    if i > 0 {
                        emit(Item::Data(&input[..i]));
                    }
                    self.escaped = true;
                    input = &input[i + 1..];
                }
                None => {
                    if !input.is_empty() {
                        emit(Item::Data(input));
                    }
                    return Ok(());
                }
            }
        }
    }
}
