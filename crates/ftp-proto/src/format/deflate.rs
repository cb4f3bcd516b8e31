//! MODE Z (draft-preston-ftpext-deflate): the bytes stream mode would
//! send, STRU R's escapes included, through a zlib stream (RFC 1950
//! around RFC 1951 deflate). The zlib stream's own end marks the end of
//! the data, so a connection cut before it is a truncated transfer. The
//! level (0 = stored, 9 = smallest) changes only how hard the sender
//! works; any level's output reads the same.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use miniz_oxide::deflate::core::{create_comp_flags_from_zip_params, CompressorOxide};
use miniz_oxide::inflate::stream::InflateState;
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

use super::{after_end, record, DecodeError, Item};

/// The level when `OPTS MODE Z LEVEL` has not set one (zlib's default).
pub const DEFAULT_LEVEL: u8 = 6;

/// The highest level `OPTS MODE Z LEVEL` takes.
pub const MAX_LEVEL: u8 = 9;

/// Room added to the output per compression or decompression step.
const STEP: usize = 16 * 1024;

/// zlib's window: 2^15 bytes, with the RFC 1950 header and Adler-32.
const WINDOW_BITS: i32 = 15;

pub(super) struct Writer {
    record: bool,
    compressor: Box<CompressorOxide>,
    plain: Vec<u8>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("deflate::Writer")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

impl Writer {
    pub(super) fn new(level: u8, record: bool) -> Writer {
        let level = i32::from(level.min(MAX_LEVEL));
        let flags = create_comp_flags_from_zip_params(level, WINDOW_BITS, 0);
        Writer {
            record,
            compressor: Box::new(CompressorOxide::new(flags)),
            plain: Vec::new(),
        }
    }

    pub(super) fn data(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.record {
            self.plain.clear();
            record::data(bytes, &mut self.plain);
            let plain = core::mem::take(&mut self.plain);
            self.compress(&plain, MZFlush::None, out);
            self.plain = plain;
        } else {
            self.compress(bytes, MZFlush::None, out);
        }
    }

    pub(super) fn end_record(&mut self, out: &mut Vec<u8>) {
        if self.record {
            let mut escape = Vec::new();
            record::end_record(&mut escape);
            self.compress(&escape, MZFlush::None, out);
        }
    }

    pub(super) fn end_file(&mut self, out: &mut Vec<u8>) {
        let mut escape = Vec::new();
        if self.record {
            record::end_file(&mut escape);
        }
        self.compress(&escape, MZFlush::Finish, out);
    }

    fn compress(&mut self, mut input: &[u8], flush: MZFlush, out: &mut Vec<u8>) {
        loop {
            let at = out.len();
            out.resize(at + STEP, 0);
            let step = miniz_oxide::deflate::stream::deflate(
                &mut self.compressor,
                input,
                &mut out[at..],
                flush,
            );
            out.truncate(at + step.bytes_written);
            input = &input[step.bytes_consumed..];
            match step.status {
                Ok(MZStatus::StreamEnd) => return,
                // More output may be waiting while the room was filled.
                Ok(_) if !input.is_empty() || step.bytes_written == STEP => {}
                Ok(_) if flush == MZFlush::Finish => {}
                // Everything taken (the rest held for the next call), or
                // nothing more can be done (finished already).
                Ok(_) | Err(_) => return,
            }
        }
    }
}

pub(super) struct Reader {
    inflater: Box<InflateState>,
    /// STRU R: the inflated bytes carry stream mode's record escapes.
    record: Option<record::Reader>,
    ended: bool,
    plain: Vec<u8>,
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("deflate::Reader")
            .field("record", &self.record)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Reader {
    pub(super) fn new(record: bool) -> Reader {
        Reader {
            inflater: InflateState::new_boxed(DataFormat::Zlib),
            record: record.then(record::Reader::default),
            ended: false,
            plain: Vec::new(),
        }
    }

    pub(super) fn feed(
        &mut self,
        mut input: &[u8],
        emit: &mut impl FnMut(Item<'_>),
    ) -> Result<(), DecodeError> {
        loop {
            if self.ended {
                return after_end(input);
            }
            self.plain.clear();
            self.plain.resize(STEP, 0);
            let step = miniz_oxide::inflate::stream::inflate(
                &mut self.inflater,
                input,
                &mut self.plain,
                MZFlush::None,
            );
            self.plain.truncate(step.bytes_written);
            input = &input[step.bytes_consumed..];
            // What this call wrote goes on first, whatever its status:
            // Err(Buf) (nothing more without more input) may come with
            // output that was pending, and an error in the stream with
            // the bytes before it, which a cut elsewhere would have
            // passed on already (so the error found first is the same
            // however the wire is split).
            if !self.plain.is_empty() {
                match &mut self.record {
                    Some(r) => r.feed(&self.plain, emit)?,
                    None => emit(Item::Data(&self.plain)),
                }
            }
            let ended = match step.status {
                Ok(MZStatus::StreamEnd) => true,
                Ok(_) => false,
                Err(MZError::Buf) => return Ok(()),
                Err(_) => return Err(DecodeError::BadDeflate),
            };
            if ended {
                self.ended = true;
                // STRU R ends with its own escape; the record reader has
                // sent it (or the data is truncated).
                if self.record.is_none() {
                    emit(Item::EndOfFile);
                }
            } else if input.is_empty() && step.bytes_written < STEP {
                return Ok(());
            }
        }
    }
}
