//! The sending side: a window of prepared DATA packets (RFC 7440), filled
//! from the driver's file data, resent only on timeout or on an ACK that
//! shows a gap — never on a duplicate ACK, so the Sorcerer's Apprentice
//! syndrome (RFC 1123 §4.2.3.1) cannot start.

use alloc::vec;
use alloc::vec::Vec;

use super::{Common, Negotiated};
use crate::netascii::Encoder;
use crate::packet::{opcode, BlockNumber, Mode};
use crate::time::Instant;
use core::time::Duration;

/// Memory a sender may spend on blocks read ahead of the window.
const READ_AHEAD_BYTES: usize = 256 * 1024;

/// Pause between bursts once loss has made the sender pace a window.
const MIN_GAP: Duration = Duration::from_micros(200);
const MAX_GAP: Duration = Duration::from_millis(100);
/// Clean windows before probing again a burst size that once lost blocks.
const PROBE_PATIENCE: usize = 16;

#[derive(Debug)]
pub(crate) struct Sender {
    mode: Mode,
    blksize: usize,
    windowsize: usize,
    /// Slots in the ring: the window, plus blocks read ahead so the next
    /// window is ready the moment its ACK arrives.
    slots: usize,
    /// `slots` slots of a 4-byte DATA header and `blksize` bytes, so a
    /// prepared block is sent, and resent, straight from here.
    window: Vec<u8>,
    /// Payload length of each slot.
    lens: Vec<usize>,
    /// First block not yet acknowledged, and its slot.
    base: BlockNumber,
    base_slot: usize,
    /// Complete slots counted from `base`.
    filled: usize,
    /// Bytes already in the slot being filled.
    partial: usize,
    /// Slots from `base` sent in the current round.
    sent: usize,
    /// Slots from `base` sent in any round: an ACK may cover blocks of an
    /// earlier round that a restarted round has not reached again yet.
    sent_ever: usize,
    /// The final (short) block is among the filled slots.
    last_filled: bool,
    /// The driver reported the end of the file.
    eof: bool,
    /// Bytes asked of the driver and not yet provided.
    awaiting: Option<usize>,
    need_event: bool,
    /// netascii: file bytes taken but not yet encoded (at most one block).
    carry: Vec<u8>,
    encoder: Encoder,
    round_start: Instant,
    round_resent: bool,
    /// Congestion control (RFC 7440 §6, RFC 8085 §3.1): blocks sent back
    /// to back before a pause of `gap`. A whole window at first; halved on
    /// loss (then the gap doubles), grown again by clean windows.
    burst: usize,
    gap: Duration,
    /// The burst that last lost blocks: growth slows down near it.
    burst_limit: usize,
    /// Clean windows since the burst last grew.
    clean_windows: usize,
    /// The latest time seen, to release paced blocks.
    clock: Instant,
}

impl Sender {
    pub(crate) fn new(mode: Mode) -> Self {
        Sender {
            mode,
            blksize: 0,
            windowsize: 0,
            slots: 0,
            window: Vec::new(),
            lens: Vec::new(),
            base: BlockNumber(1),
            base_slot: 0,
            filled: 0,
            partial: 0,
            sent: 0,
            sent_ever: 0,
            last_filled: false,
            eof: false,
            awaiting: None,
            need_event: false,
            carry: Vec::new(),
            encoder: Encoder::new(),
            round_start: Instant::ZERO,
            round_resent: false,
            burst: 0,
            gap: MIN_GAP,
            burst_limit: usize::MAX,
            clean_windows: 0,
            clock: Instant::ZERO,
        }
    }

    /// Allocate the window once the options are known; nothing is
    /// allocated per block after this.
    pub(crate) fn setup(&mut self, negotiated: &Negotiated) {
        self.blksize = usize::from(negotiated.blksize);
        self.windowsize = usize::from(negotiated.windowsize.max(1));
        // Read one more window ahead, within a modest memory budget (at
        // least one block, so lock-step never reads on the ACK's path).
        let lookahead = self
            .windowsize
            .min((READ_AHEAD_BYTES / self.blksize).max(1));
        self.slots = self.windowsize + lookahead;
        self.burst = self.windowsize;
        self.window = vec![0; self.slots * (4 + self.blksize)];
        self.lens = vec![0; self.slots];
        if self.mode == Mode::Netascii {
            self.carry = Vec::with_capacity(self.blksize);
        }
    }

    fn slot_range(&self, index_from_base: usize) -> core::ops::Range<usize> {
        let slot = (self.base_slot + index_from_base) % self.slots;
        let start = slot * (4 + self.blksize);
        start..start + 4 + self.blksize
    }

    /// Prepare slots until the window is full, the file has ended, or data
    /// must be asked of the driver.
    pub(crate) fn fill(&mut self) {
        if self.slots == 0 {
            return;
        }
        while self.filled < self.slots && !self.last_filled && self.awaiting.is_none() {
            let range = self.slot_range(self.filled);
            let blksize = self.blksize;
            if self.mode == Mode::Netascii {
                let out = &mut self.window[range.start + 4 + self.partial..range.end];
                let (consumed, written) = self.encoder.encode(&self.carry, out);
                self.carry.drain(..consumed);
                self.partial += written;
            }
            if self.partial == blksize {
                self.complete_slot(blksize);
            } else if self.eof {
                let len = self.partial;
                self.complete_slot(len);
                self.last_filled = true;
            } else {
                self.awaiting = Some(blksize - self.partial);
                self.need_event = true;
            }
        }
    }

    fn complete_slot(&mut self, len: usize) {
        let range = self.slot_range(self.filled);
        let block = self.base.add(self.filled as u16);
        self.window[range.start..range.start + 2].copy_from_slice(&opcode::DATA.to_be_bytes());
        self.window[range.start + 2..range.start + 4].copy_from_slice(&block.0.to_be_bytes());
        let slot = (self.base_slot + self.filled) % self.slots;
        self.lens[slot] = len;
        self.filled += 1;
        self.partial = 0;
    }

    /// File data from the driver. Returns the bytes taken, or `None` if no
    /// data was asked for.
    pub(crate) fn provide(&mut self, data: &[u8]) -> Option<usize> {
        let room = self.awaiting.take()?;
        self.need_event = false;
        let data = &data[..data.len().min(room)];
        if data.len() < room {
            self.eof = true;
        }
        let range = self.slot_range(self.filled);
        let start = range.start + 4 + self.partial;
        match self.mode {
            Mode::Netascii => {
                let (consumed, written) = self
                    .encoder
                    .encode(data, &mut self.window[start..range.end]);
                self.partial += written;
                self.carry.extend_from_slice(&data[consumed..]);
            }
            _ => {
                self.window[start..start + data.len()].copy_from_slice(data);
                self.partial += data.len();
            }
        }
        Some(data.len())
    }

    /// Data is asked for only once the current round is on its way, so
    /// reading ahead never delays a send.
    pub(crate) fn take_need_data(&mut self) -> Option<usize> {
        if self.has_unsent() {
            return None;
        }
        if core::mem::take(&mut self.need_event) {
            self.awaiting
        } else {
            None
        }
    }

    /// A round can start: prepared blocks not yet sent, and either the
    /// window is complete or the file has ended.
    pub(crate) fn has_unsent(&self) -> bool {
        self.sent < self.filled.min(self.windowsize)
            && (self.filled >= self.windowsize || self.last_filled)
    }

    pub(crate) fn finished(&self) -> bool {
        self.last_filled && self.filled == 0
    }

    pub(crate) fn start_round(&mut self, now: Instant) {
        self.clock = now;
        if self.sent == 0 {
            self.round_start = now;
            self.round_resent = false;
        }
    }

    /// How long the current round takes to hand out, pauses included.
    pub(crate) fn round_span(&self) -> Duration {
        let round = self.filled.min(self.windowsize).max(1);
        let pauses = (round - 1) / self.burst.max(1);
        self.gap * pauses as u32
    }

    /// Time passed: paced blocks may be due.
    pub(crate) fn tick(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
    }

    /// When the next paced block is due, if one is waiting.
    pub(crate) fn next_release(&self) -> Option<Instant> {
        if self.has_unsent() && self.sent >= self.released() {
            let bursts = (self.sent / self.burst.max(1)) as u32;
            Some(self.round_start + self.gap * bursts)
        } else {
            None
        }
    }

    /// Blocks of the current round that may be out by now.
    fn released(&self) -> usize {
        if self.burst >= self.windowsize {
            return usize::MAX;
        }
        let elapsed = self.clock - self.round_start;
        let bursts = (elapsed.as_micros() / self.gap.as_micros().max(1)) as usize + 1;
        bursts.saturating_mul(self.burst)
    }

    /// Loss seen (a timeout, or an ACK showing a gap): send gentler.
    fn on_loss(&mut self) {
        self.burst_limit = self.burst;
        self.clean_windows = 0;
        if self.burst > 1 {
            self.burst /= 2;
        } else {
            self.gap = (self.gap * 2).min(MAX_GAP);
        }
    }

    /// A whole window arrived without loss: send a little harder; below
    /// the burst that last lost blocks at once, at it only now and then.
    fn on_clean_window(&mut self) {
        self.clean_windows += 1;
        let patience = if self.burst + 1 < self.burst_limit {
            1
        } else {
            PROBE_PATIENCE
        };
        if self.clean_windows < patience {
            return;
        }
        self.clean_windows = 0;
        if self.gap > MIN_GAP {
            self.gap = (self.gap / 2).max(MIN_GAP);
        } else if self.burst < self.windowsize {
            self.burst += 1;
        }
    }

    /// Timeout: resend the window from the first unacknowledged block.
    /// Returns how many blocks will go out again.
    pub(crate) fn restart_round(&mut self, now: Instant) -> usize {
        let resent = self.sent;
        self.sent = 0;
        self.round_start = now;
        self.clock = now;
        self.round_resent = true;
        self.on_loss();
        resent
    }

    pub(crate) fn next_datagram(&mut self) -> Option<&[u8]> {
        if !self.has_unsent() || self.sent >= self.released() {
            return None;
        }
        let slot = (self.base_slot + self.sent) % self.slots;
        let start = slot * (4 + self.blksize);
        self.sent += 1;
        self.sent_ever = self.sent_ever.max(self.sent);
        Some(&self.window[start..start + 4 + self.lens[slot]])
    }

    /// An ACK arrived. Returns true if the window moved.
    pub(crate) fn on_ack(&mut self, c: &mut Common, block: BlockNumber, now: Instant) -> bool {
        // Blocks this ACK covers, counted from base; 0 is a duplicate of the
        // previous ACK, more than were ever sent acknowledges nothing real.
        let acked = usize::from(block.distance_from(self.base)) + 1;
        if acked > self.sent_ever {
            return false;
        }
        let resent_in_gap = self.sent.saturating_sub(acked);
        self.clock = now;
        if resent_in_gap > 0 {
            self.on_loss();
        } else if !self.round_resent && acked == self.windowsize {
            self.on_clean_window();
        }
        // Karn: time only rounds that were not resent after a timeout.
        if !self.round_resent {
            c.rto.sample(now - self.round_start);
        } else {
            c.rto.reset_backoff();
        }
        c.blocks += acked as u64;
        c.progress(now);
        c.retransmits += resent_in_gap as u64;
        self.base = block.next();
        self.base_slot = (self.base_slot + acked) % self.slots;
        self.filled -= acked;
        self.sent_ever -= acked;
        // RFC 7440 §4: the next window starts right after the acknowledged
        // block, even when that block was not the window's last (a gap).
        self.sent = 0;
        self.fill();
        true
    }
}
