//! The driver-independent half of running a transfer: after every input,
//! drain the machine's events into the [`Local`] end and its datagrams
//! into the socket, and keep what the events said for the final
//! [`Report`].
//!
//! A rate limit paces the file's bytes: a sender's next block is not read
//! (nor its DATA sent) until the limit allows it; a receiver, which cannot
//! slow its peer but by answering later, holds its ACKs back while it has
//! received more than the limit allows. The driver wakes the transfer at
//! [`Outcome::paced_until`] to go on.

use std::os::fd::AsFd;

use tftp_proto::transfer::{Event, Negotiated, Summary, Transfer, TransferError};

use super::local::{Local, LocalFailure, Report};
use super::outbox::Outbox;
use crate::clock;
use crate::pace::{Pacer, RateLimit};
use ferry_time::Instant;

/// What a transfer's events have said so far: its options, its verdict,
/// and the local failure that ended it, if one did.
#[derive(Debug, Default)]
pub struct Outcome {
    negotiated: Option<Negotiated>,
    result: Option<Result<Summary, TransferError>>,
    local: Option<LocalFailure>,
    /// The rate limit's bucket, if the transfer has one.
    pacer: Option<Pacer>,
    /// A sender's request for a block (its largest length), held back by
    /// the rate limit.
    held: Option<usize>,
    /// The transfer receives a file (it has had DATA).
    receiving: bool,
}

impl Outcome {
    /// Nothing said yet.
    pub fn new() -> Self {
        Outcome::default()
    }

    /// Nothing said yet, and the file's bytes paced to `limit` (if there
    /// is one) from `now`.
    pub fn paced(limit: Option<RateLimit>, now: Instant) -> Self {
        Outcome {
            pacer: Pacer::maybe(limit, now),
            ..Outcome::default()
        }
    }

    /// When the rate limit lets the transfer go on, if it holds anything
    /// back: the driver calls [`pump`](Self::pump) again then (it need not
    /// be the machine's deadline).
    pub fn paced_until(&mut self, now: Instant) -> Option<Instant> {
        let pacer = self.pacer.as_mut()?;
        if let Some(want) = self.held {
            return Some(pacer.ready_at(now, want as u64));
        }
        // A receiver in debt holds its ACKs until it is paid.
        (self.receiving && !pacer.may_send(now, 1)).then(|| pacer.ready_at(now, 1))
    }

    /// A receiver in debt to its limit sends nothing yet.
    fn holding_transmits(&mut self, now: Instant) -> bool {
        self.receiving && self.pacer.as_mut().is_some_and(|p| !p.may_send(now, 1))
    }

    /// Answers the held request for a block once the limit allows it.
    fn give_held<L: Local + ?Sized>(
        &mut self,
        transfer: &mut Transfer,
        local: &mut L,
        block: &mut Vec<u8>,
    ) -> bool {
        let Some(max_len) = self.held else {
            return false;
        };
        let now = clock::now();
        if self
            .pacer
            .as_mut()
            .is_some_and(|p| !p.may_send(now, max_len as u64))
        {
            return false;
        }
        self.held = None;
        self.read_block(transfer, local, block, max_len);
        true
    }

    fn read_block<L: Local + ?Sized>(
        &mut self,
        transfer: &mut Transfer,
        local: &mut L,
        block: &mut Vec<u8>,
        max_len: usize,
    ) {
        if block.len() < max_len {
            block.resize(max_len, 0);
        }
        let now = clock::now();
        match local.read_block(&mut block[..max_len]) {
            Ok(n) => {
                if let Some(pacer) = &mut self.pacer {
                    pacer.spend(n as u64);
                }
                transfer.provide_data(now, &block[..n]);
            }
            Err(failure) => {
                transfer.abort(now, failure.error, &failure.message);
                self.local.get_or_insert(failure);
            }
        }
    }

    /// Answer every event and send every datagram `transfer` has, until it
    /// has neither (a sender asks for read-ahead data only once its round
    /// is sent). Call it after every input to the machine.
    ///
    /// `block` is scratch space for file reads, grown to the block size;
    /// the `outbox` is flushed before this returns.
    pub fn pump<L: Local + ?Sized>(
        &mut self,
        transfer: &mut Transfer,
        local: &mut L,
        block: &mut Vec<u8>,
        outbox: &mut Outbox,
        socket: &impl AsFd,
    ) {
        let mut busy = true;
        while busy {
            busy = self.give_held(transfer, local, block);
            busy |= self.handle_events(transfer, local, block);
            if self.holding_transmits(clock::now()) {
                break;
            }
            // A window's worth is sent together where possible.
            while let Some(transmit) = transfer.poll_transmit() {
                busy = true;
                outbox.push(socket, transmit.to, transmit.payload);
            }
            outbox.flush(socket);
        }
    }

    /// Drain `transfer`'s events into `local`; true if there were any.
    pub fn handle_events<L: Local + ?Sized>(
        &mut self,
        transfer: &mut Transfer,
        local: &mut L,
        block: &mut Vec<u8>,
    ) -> bool {
        let mut any = false;
        while let Some(event) = transfer.poll_event() {
            any = true;
            match event {
                Event::Negotiated(n) => {
                    local.negotiated(&n);
                    self.negotiated = Some(n);
                }
                Event::NeedData { max_len } => {
                    let now = clock::now();
                    let paced = self.pacer.as_mut();
                    if paced.is_some_and(|p| !p.may_send(now, max_len as u64)) {
                        self.held = Some(max_len);
                    } else {
                        self.read_block(transfer, local, block, max_len);
                    }
                }
                Event::Data(bytes) => {
                    self.receiving = true;
                    if let Some(pacer) = &mut self.pacer {
                        pacer.spend(bytes.len() as u64);
                    }
                    if let Err(failure) = local.write_data(bytes) {
                        transfer.abort(clock::now(), failure.error, &failure.message);
                        self.local.get_or_insert(failure);
                    }
                }
                Event::Finished(summary) if self.result.is_none() => {
                    if let Err(failure) = local.finish() {
                        transfer.abort(clock::now(), failure.error, &failure.message);
                        self.local.get_or_insert(failure);
                    }
                    self.result = Some(Ok(summary));
                }
                Event::Failed(error) => {
                    local.discard();
                    if self.result.is_none() {
                        self.result = Some(Err(error));
                    }
                }
                // A second verdict, or events this driver does not know.
                _ => {}
            }
        }
        any
    }

    /// The transfer has completed: the machine said `Finished` and the
    /// file end took it (an upload is committed). A receiver still dallies
    /// after this; a sender is closed.
    pub fn completed(&self) -> bool {
        matches!(self.result, Some(Ok(_))) && self.local.is_none()
    }

    /// The transfer is over (closed, or given up on): the final report.
    /// Partial data is discarded unless the transfer completed.
    pub fn finish<L: Local + ?Sized>(self, local: &mut L) -> Report {
        // A machine closes only after Finished or Failed; if it somehow did
        // not say which, the transfer did not complete.
        let result = self.result.unwrap_or(Err(TransferError::Protocol(
            "transfer closed without an outcome",
        )));
        if result.is_err() {
            local.discard();
        }
        Report {
            negotiated: self.negotiated,
            result,
            local: self.local,
        }
    }
}
