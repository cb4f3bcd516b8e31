//! The receiving side: accepts blocks in order, ACKs each window's last
//! block (every block in lock-step), tells the sender once about a gap
//! (RFC 7440 §4), and dallies after the final ACK (RFC 1350 §6) if its
//! configuration asks for it.

use alloc::vec;
use alloc::vec::Vec;

use super::{Common, Ctrl, Negotiated, Phase};
use crate::netascii::Decoder;
use crate::packet::{BlockNumber, Mode};
use crate::time::Instant;

#[derive(Debug)]
pub(crate) struct Receiver {
    mode: Mode,
    blksize: usize,
    windowsize: u16,
    /// The last accepted block, in local form, until the driver takes it.
    buf: Vec<u8>,
    len: usize,
    pending: bool,
    expected: BlockNumber,
    /// The block named by the last ACK sent.
    last_ack: BlockNumber,
    /// Blocks accepted since the last ACK sent.
    in_window: u16,
    /// Duplicates seen since the last progress.
    duplicates: u16,
    gap_reported: bool,
    decoder: Decoder,
    ack_sent_at: Instant,
    ack_resent: bool,
}

impl Receiver {
    pub(crate) fn new(mode: Mode) -> Self {
        Receiver {
            mode,
            blksize: 0,
            windowsize: 1,
            buf: Vec::new(),
            len: 0,
            pending: false,
            expected: BlockNumber(1),
            last_ack: BlockNumber(0),
            in_window: 0,
            duplicates: 0,
            gap_reported: false,
            decoder: Decoder::new(),
            ack_sent_at: Instant::ZERO,
            ack_resent: false,
        }
    }

    pub(crate) fn setup(&mut self, negotiated: &Negotiated) {
        self.blksize = usize::from(negotiated.blksize);
        self.windowsize = negotiated.windowsize.max(1);
        // netascii may release a CR held back from the previous block.
        self.buf = vec![0; self.blksize + 2];
    }

    pub(crate) fn expecting_first_block(&self) -> bool {
        self.expected == BlockNumber(1) && self.in_window == 0
    }

    pub(crate) fn has_data(&self) -> bool {
        self.pending && self.len > 0
    }

    pub(crate) fn take_data(&mut self) -> Option<&[u8]> {
        if core::mem::take(&mut self.pending) && self.len > 0 {
            Some(&self.buf[..self.len])
        } else {
            None
        }
    }

    /// Timeout: ACK again the last block received in order (RFC 7440 §4),
    /// which also restarts a window whose end never arrived.
    pub(crate) fn on_timeout(&mut self, c: &mut Common, now: Instant) {
        let last = BlockNumber(self.expected.0.wrapping_sub(1));
        self.ack(c, last, now);
        self.ack_resent = true;
    }

    /// An OACK or ACK 0 went out at `now`; time the first block against it.
    pub(crate) fn note_sent(&mut self, now: Instant) {
        self.ack_sent_at = now;
        self.ack_resent = false;
    }

    pub(crate) fn ack(&mut self, c: &mut Common, block: BlockNumber, now: Instant) {
        self.in_window = 0;
        self.last_ack = block;
        self.ack_sent_at = now;
        self.ack_resent = false;
        c.send_ctrl(Ctrl::Ack(block), now);
    }

    pub(crate) fn on_data(
        &mut self,
        c: &mut Common,
        block: BlockNumber,
        data: &[u8],
        now: Instant,
    ) {
        let last_acked = BlockNumber(self.expected.0.wrapping_sub(1));
        if let Phase::Dallying(_) = c.phase {
            // Our final ACK was lost: the sender repeats its final DATA.
            if block == last_acked && data.len() <= self.blksize {
                c.ctrl_pending = true;
                c.retransmits += 1;
            }
            return;
        }
        if data.len() > self.blksize {
            c.fail_protocol("data block longer than the negotiated block size");
            return;
        }
        if block != self.expected {
            if self.last_ack.distance_from(block) < 0x8000 {
                // A block our last ACK already covered: the sender missed
                // that ACK. Answer the first such duplicate of a round, not
                // each one (a resent window would draw one ACK per block).
                self.duplicates = self.duplicates.wrapping_add(1);
                if self.duplicates.wrapping_sub(1) % self.windowsize == 0 {
                    // The window count stays: blocks after `last_ack` that
                    // already arrived still belong to the sender's window.
                    c.retransmits += 1;
                    c.send_ctrl(Ctrl::Ack(self.last_ack), now);
                }
            } else if last_acked.distance_from(block) < 0x8000 {
                // A copy of a block of the current window: the network
                // duplicated it. Nothing to say.
            } else if !self.gap_reported {
                // RFC 7440 §4: a block arrived out of order; say once where
                // the sender must restart.
                self.gap_reported = true;
                self.ack(c, last_acked, now);
            }
            return;
        }
        if self.pending && self.len > 0 {
            // The driver has not taken the previous block: treat this one
            // as lost rather than overwrite data.
            return;
        }
        if !self.ack_resent && self.in_window == 0 {
            c.rto.sample(now - self.ack_sent_at);
        } else {
            c.rto.reset_backoff();
        }
        self.len = match self.mode {
            Mode::Netascii => self.decoder.decode(data, &mut self.buf),
            _ => {
                self.buf[..data.len()].copy_from_slice(data);
                data.len()
            }
        };
        let last = data.len() < self.blksize;
        if last && self.mode == Mode::Netascii {
            let len = self.len;
            self.len += self.decoder.finish(&mut self.buf[len..]);
        }
        self.pending = true;
        c.bytes += self.len as u64;
        c.blocks += 1;
        c.progress(now);
        self.duplicates = 0;
        self.gap_reported = false;
        self.expected = block.next();
        self.in_window += 1;
        if last {
            self.ack(c, block, now);
            c.finish(now);
            c.deadline = None;
            // RFC 1350 §6 suggests dallying in case this ACK is lost; with
            // no dally configured the transfer ends once it is sent, and a
            // repeated final DATA is the sender's to time out on.
            c.phase = if c.config.dally.is_zero() {
                Phase::Done
            } else {
                let dally = match c.negotiated.timeout {
                    Some(seconds) => core::time::Duration::from_secs(u64::from(seconds)),
                    None => c.config.dally,
                };
                Phase::Dallying(now + dally)
            };
        } else if self.in_window >= self.windowsize {
            self.ack(c, block, now);
        } else {
            // Mid-window: no ACK yet, but a silent sender must not stall us.
            c.arm(now);
        }
    }
}
