//! The parts of the event loop every service shares: token tags, the one
//! timer structure, and what a service is handed when something happens.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use ferry_time::Instant;
use mio::{Registry, Token, Waker};

/// The loop's own token: the [`Waker`] (a stop request, or finished work
/// from a pool thread).
pub(crate) const WAKER: Token = Token(0);

/// Which service a token belongs to; the rest of the token is the
/// service's own index (a slab key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Ftp = 1,
    Tftp = 2,
}

const TAG_BITS: usize = 2;
const TAG_MASK: usize = (1 << TAG_BITS) - 1;

/// The token for a service's `index`.
pub(crate) fn token(tag: Tag, index: usize) -> Token {
    Token(index << TAG_BITS | tag as usize)
}

/// The service and index a token stands for; `None` for the waker.
pub(crate) fn split(token: Token) -> Option<(Tag, usize)> {
    let index = token.0 >> TAG_BITS;
    match token.0 & TAG_MASK {
        1 => Some((Tag::Ftp, index)),
        2 => Some((Tag::Tftp, index)),
        _ => None,
    }
}

/// Every deadline of every session and transfer, in one min-heap.
///
/// Entries are never removed early: an owner keeps, per index, the
/// earliest deadline it has armed (`armed`), and arms again only for an
/// earlier one. A deadline that moved later just fires early once, and the
/// owner arms its real one; so the heap holds about one entry per owner,
/// however often its machine's deadline moves.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, Token)>>,
}

impl Timers {
    /// Fire for `token` at `at`, unless something at least as early is
    /// armed already. `armed` is the owner's record of its earliest entry.
    pub(crate) fn arm(&mut self, token: Token, at: Instant, armed: &mut Option<Instant>) {
        if armed.map_or(true, |current| at < current) {
            self.heap.push(Reverse((at, token)));
            *armed = Some(at);
        }
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Takes one entry due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Token)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(entry)| entry),
            _ => None,
        }
    }

    /// Entries held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

/// What a service is handed with every event.
pub(crate) struct Cx<'a> {
    /// Where sockets are registered, under [`token`]s of the service's tag.
    pub registry: &'a Registry,
    /// The shared timer structure.
    pub timers: &'a mut Timers,
    /// Wakes the loop from another thread (a pool's finished work).
    pub waker: &'a Arc<Waker>,
    /// The time the machines are told, read once per event.
    pub now: Instant,
}

/// A protocol server living in the loop.
pub(crate) trait Service {
    /// A socket registered under the service's `index` is ready.
    fn ready(&mut self, cx: &mut Cx<'_>, index: usize, event: &mio::event::Event);

    /// A deadline armed for `index` at `at` has come. It may be stale (the
    /// owner is gone or its deadline moved): check the machine's own.
    fn timer(&mut self, cx: &mut Cx<'_>, index: usize, at: Instant);

    /// The waker fired: collect whatever other threads finished.
    fn woken(&mut self, _cx: &mut Cx<'_>) {}

    /// The server is stopping: refuse new work, end what runs (the
    /// protocol's own goodbye), discard partial uploads.
    fn shutdown(&mut self, cx: &mut Cx<'_>);

    /// Nothing is left running; a stopping loop may end.
    fn is_idle(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_never_collide_with_the_waker() {
        for index in [0, 1, 7, 1 << 40] {
            for tag in [Tag::Ftp, Tag::Tftp] {
                let t = token(tag, index);
                assert_ne!(t, WAKER);
                assert_eq!(split(t), Some((tag, index)));
            }
        }
        assert_eq!(split(WAKER), None);
    }

    #[test]
    fn a_later_deadline_does_not_add_an_entry_and_an_earlier_one_does() {
        let mut timers = Timers::default();
        let mut armed = None;
        let t = token(Tag::Tftp, 3);
        timers.arm(t, Instant::from_micros(100), &mut armed);
        timers.arm(t, Instant::from_micros(200), &mut armed);
        assert_eq!(timers.len(), 1);
        timers.arm(t, Instant::from_micros(50), &mut armed);
        assert_eq!(timers.len(), 2);
        assert_eq!(armed, Some(Instant::from_micros(50)));
        assert_eq!(timers.pop_due(Instant::from_micros(10)), None);
        assert_eq!(
            timers.pop_due(Instant::from_micros(60)),
            Some((Instant::from_micros(50), t))
        );
        assert_eq!(timers.next(), Some(Instant::from_micros(100)));
    }
}
