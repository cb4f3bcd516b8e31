//! A transfer's file end on a thread of its own, for a driver that must
//! never wait: reading an object (a GET) or writing one (its parts) waits
//! on the network, which an event loop serving every session on one
//! thread cannot do.
//!
//! The thread and the driver share a small bounded queue of chunks. A
//! [`Fetch`] reads ahead into it and stops when it is full, so a client
//! that takes its bytes slowly stops the GET (the store's connection
//! fills, TCP does the rest) instead of growing a buffer; a [`Feed`]
//! takes what the driver read from the client, and while it is full the
//! driver stops reading the client. Either end rings `wake` (the loop's
//! waker) when the driver may go on: a chunk is ready, room was made, the
//! thread is done. The driver's side never blocks.
//!
//! At most `depth` chunks wait in the queue, one more is being filled or
//! written by the thread, and one is held by the driver: the memory of a
//! transfer is bounded by the chunk size times `depth + 2` (plus what the
//! store itself holds, an upload's one part).

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::thread;

/// Rung when the driver's side may go on.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Stack of a relay thread: it holds its chunks on the heap, but a
/// format's state (MODE Z's compressor) is built on the stack first (only
/// the pages touched count).
const THREAD_STACK: usize = 2 * 1024 * 1024;

/// Relay threads running, for a server that waits for them to end (an
/// upload's thread aborts its multipart upload on the way out).
#[derive(Debug, Clone, Default)]
pub struct Running(Arc<AtomicUsize>);

impl Running {
    /// None running yet.
    pub fn new() -> Running {
        Running::default()
    }

    /// How many threads still run.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// Counts a thread for as long as it lives (a panic included).
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(running: &Running) -> Counted {
        running.0.fetch_add(1, Ordering::AcqRel);
        Counted(Arc::clone(&running.0))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn spawn(name: &str, running: &Running, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    let counted = Counted::new(running);
    thread::Builder::new()
        .name(name.into())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let _counted = counted;
            f();
        })
        .map(drop)
}

/// What the reading thread put in the queue.
enum Piece<E> {
    Bytes(Vec<u8>),
    End,
    Failed(E),
}

/// What a [`Fetch`] has for the driver now.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched<E> {
    /// The next chunk (never empty).
    Bytes(Vec<u8>),
    /// Nothing yet: `wake` rings when there is.
    Pending,
    /// Everything was read.
    End,
    /// Reading failed (or the thread died: `None`).
    Failed(Option<E>),
}

/// A download read ahead on a thread of its own, a few chunks at most.
pub struct Fetch<E> {
    queue: Receiver<Piece<E>>,
}

impl<E> std::fmt::Debug for Fetch<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetch").finish_non_exhaustive()
    }
}

impl<E: Send + 'static> Fetch<E> {
    /// Starts a thread that calls `fill` to append the next bytes (about
    /// `chunk` of them) to an empty buffer, `Ok(false)` once there are no
    /// more, and queues each buffer, at most `depth` waiting. Dropping the
    /// fetch stops the thread at its next chunk (and drops `fill`, with
    /// the GET it reads).
    pub fn start(
        chunk: usize,
        depth: usize,
        running: &Running,
        mut fill: impl FnMut(&mut Vec<u8>) -> Result<bool, E> + Send + 'static,
        wake: Wake,
    ) -> io::Result<Fetch<E>> {
        let (tx, queue) = mpsc::sync_channel(depth.max(1));
        spawn("relay-read", running, move || loop {
            let mut bytes = Vec::with_capacity(chunk);
            let (piece, last) = match fill(&mut bytes) {
                Ok(true) if bytes.is_empty() => continue,
                Ok(true) => (Piece::Bytes(bytes), None),
                Ok(false) if bytes.is_empty() => (Piece::End, None),
                Ok(false) => (Piece::Bytes(bytes), Some(Piece::End)),
                Err(err) => (Piece::Failed(err), None),
            };
            let end = !matches!(piece, Piece::Bytes(_)) || last.is_some();
            // Blocks while the queue is full: the driver's backpressure.
            if tx.send(piece).is_err() {
                return;
            }
            wake();
            if let Some(last) = last {
                if tx.send(last).is_err() {
                    return;
                }
                wake();
            }
            if end {
                return;
            }
        })?;
        Ok(Fetch { queue })
    }

    /// The next chunk, if one is ready.
    pub fn poll(&mut self) -> Fetched<E> {
        match self.queue.try_recv() {
            Ok(Piece::Bytes(bytes)) => Fetched::Bytes(bytes),
            Ok(Piece::End) => Fetched::End,
            Ok(Piece::Failed(err)) => Fetched::Failed(Some(err)),
            Err(TryRecvError::Empty) => Fetched::Pending,
            Err(TryRecvError::Disconnected) => Fetched::Failed(None),
        }
    }
}

/// What the writing thread is given.
enum Message {
    Bytes(Vec<u8>),
    End,
}

/// What a [`Feed`] says to the driver now.
#[derive(Debug, PartialEq, Eq)]
pub enum Fed<E> {
    /// Give it more ([`Feed::send`], or [`Feed::end`]).
    Room,
    /// The queue is full (or the end is given and not yet written): `wake`
    /// rings when that changes.
    Full,
    /// The thread is done: the upload published, or why not (`None`: the
    /// thread died).
    Done(Result<(), Option<E>>),
}

/// An upload written on a thread of its own, a few chunks behind the
/// driver at most.
pub struct Feed<E> {
    queue: Option<SyncSender<Message>>,
    /// What the queue did not take yet.
    held: Option<Message>,
    ended: bool,
    result: Receiver<Result<(), E>>,
}

impl<E> std::fmt::Debug for Feed<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<E: Send + 'static> Feed<E> {
    /// Starts a thread that owns `upload` and hands it every chunk the
    /// driver sends, through `write` (`Ok(true)`: the data carried its own
    /// end, the upload is whole), then publishes it with `commit`; the
    /// verdict comes back through [`poll`](Self::poll). At most `depth`
    /// chunks wait. Dropped before the end, the feed leaves the thread to
    /// drop `upload` uncommitted, which throws it away.
    pub fn start<T: Send + 'static>(
        depth: usize,
        running: &Running,
        mut upload: T,
        mut write: impl FnMut(&mut T, &[u8]) -> Result<bool, E> + Send + 'static,
        commit: impl FnOnce(T) -> Result<(), E> + Send + 'static,
        wake: Wake,
    ) -> io::Result<Feed<E>> {
        let (queue, rx) = mpsc::sync_channel::<Message>(depth.max(1));
        let (done, result) = mpsc::sync_channel(1);
        spawn("relay-write", running, move || {
            let verdict = loop {
                let message = rx.recv();
                // Room was made: the driver may send again.
                wake();
                match message {
                    Ok(Message::Bytes(bytes)) => match write(&mut upload, &bytes) {
                        Ok(false) => {}
                        Ok(true) => break commit(upload),
                        Err(err) => break Err(err),
                    },
                    Ok(Message::End) => break commit(upload),
                    // Cut off: the upload is dropped uncommitted.
                    Err(_) => return,
                }
            };
            let _ = done.send(verdict);
            wake();
        })?;
        Ok(Feed {
            queue: Some(queue),
            held: None,
            ended: false,
            result,
        })
    }

    /// Queues `bytes`; give them only after [`poll`](Self::poll) said
    /// [`Fed::Room`].
    pub fn send(&mut self, bytes: Vec<u8>) {
        debug_assert!(self.held.is_none() && !self.ended);
        self.held = Some(Message::Bytes(bytes));
        self.push();
    }

    /// The client's data ended cleanly: the upload is to be published.
    pub fn end(&mut self) {
        debug_assert!(self.held.is_none());
        self.ended = true;
        self.held = Some(Message::End);
        self.push();
    }

    /// Whether the feed takes more, or how the upload ended.
    pub fn poll(&mut self) -> Fed<E> {
        match self.result.try_recv() {
            Ok(verdict) => return Fed::Done(verdict.map_err(Some)),
            Err(TryRecvError::Disconnected) => return Fed::Done(Err(None)),
            Err(TryRecvError::Empty) => {}
        }
        self.push();
        if self.held.is_some() || self.ended {
            Fed::Full
        } else {
            Fed::Room
        }
    }

    fn push(&mut self) {
        let (Some(queue), Some(message)) = (&self.queue, self.held.take()) else {
            return;
        };
        match queue.try_send(message) {
            Ok(()) => {}
            Err(TrySendError::Full(message)) => self.held = Some(message),
            // The thread ended (its verdict is on the way).
            Err(TrySendError::Disconnected(_)) => self.queue = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;
    use std::time::Duration;

    /// A wake that counts, and a way to wait for it.
    fn bell() -> (Wake, Arc<AtomicUsize>) {
        let rung = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&rung);
        (
            Arc::new(move || {
                count.fetch_add(1, Ordering::AcqRel);
            }),
            rung,
        )
    }

    fn until(mut f: impl FnMut() -> bool) {
        for _ in 0..500 {
            if f() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
        panic!("never happened");
    }

    #[test]
    fn a_fetch_reads_ahead_no_more_than_its_queue() {
        let (wake, _) = bell();
        let read = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&read);
        let running = Running::new();
        let mut fetch = Fetch::<()>::start(
            4,
            2,
            &running,
            move |out| {
                let n = counter.fetch_add(1, Ordering::AcqRel);
                out.extend_from_slice(&[n as u8; 4]);
                Ok(n < 99)
            },
            wake,
        )
        .unwrap();
        // Two queued and one held by the blocked thread: no more.
        until(|| read.load(Ordering::Acquire) == 3);
        thread::sleep(Duration::from_millis(50));
        assert_eq!(read.load(Ordering::Acquire), 3);
        let mut got = Vec::new();
        loop {
            match fetch.poll() {
                Fetched::Bytes(bytes) => got.extend(bytes),
                Fetched::Pending => thread::sleep(Duration::from_millis(1)),
                Fetched::End => break,
                Fetched::Failed(err) => panic!("{err:?}"),
            }
        }
        assert_eq!(got.len(), 400);
        assert_eq!(got[396..], [99; 4]);
        until(|| running.count() == 0);
    }

    #[test]
    fn a_dropped_fetch_stops_its_thread() {
        let (wake, _) = bell();
        let running = Running::new();
        let fetch = Fetch::<()>::start(
            1,
            1,
            &running,
            |out| {
                out.push(1);
                Ok(true)
            },
            wake,
        )
        .unwrap();
        assert_eq!(running.count(), 1);
        drop(fetch);
        until(|| running.count() == 0);
    }

    #[test]
    fn a_failed_read_comes_after_the_bytes_before_it() {
        let (wake, _) = bell();
        let mut first = true;
        let mut fetch = Fetch::start(
            1,
            2,
            &Running::new(),
            move |out| {
                if std::mem::take(&mut first) {
                    out.push(7);
                    return Ok(true);
                }
                Err("gone")
            },
            wake,
        )
        .unwrap();
        let mut seen = Vec::new();
        loop {
            match fetch.poll() {
                Fetched::Pending => thread::sleep(Duration::from_millis(1)),
                Fetched::Failed(err) => {
                    seen.push(Fetched::Failed(err));
                    break;
                }
                other => seen.push(other),
            }
        }
        assert_eq!(
            seen,
            [Fetched::Bytes(vec![7]), Fetched::Failed(Some("gone"))]
        );
    }

    /// A feed into a shared buffer; the flag tells a commit.
    #[allow(clippy::type_complexity)]
    fn feed(
        depth: usize,
        gate: Arc<Mutex<()>>,
        complete_at: Option<u8>,
    ) -> (
        Feed<&'static str>,
        Arc<Mutex<Vec<u8>>>,
        Arc<AtomicBool>,
        Running,
    ) {
        let (wake, _) = bell();
        let stored = Arc::new(Mutex::new(Vec::new()));
        let committed = Arc::new(AtomicBool::new(false));
        let (into, flag) = (Arc::clone(&stored), Arc::clone(&committed));
        let running = Running::new();
        let feed = Feed::start(
            depth,
            &running,
            into,
            move |into: &mut Arc<Mutex<Vec<u8>>>, bytes: &[u8]| {
                let _wait = gate.lock().unwrap();
                into.lock().unwrap().extend_from_slice(bytes);
                Ok(complete_at.is_some_and(|end| bytes.contains(&end)))
            },
            move |_into| {
                flag.store(true, Ordering::Release);
                Ok(())
            },
            wake,
        )
        .unwrap();
        (feed, stored, committed, running)
    }

    fn wait_done(feed: &mut Feed<&'static str>) -> Result<(), Option<&'static str>> {
        for _ in 0..500 {
            if let Fed::Done(verdict) = feed.poll() {
                return verdict;
            }
            thread::sleep(Duration::from_millis(5));
        }
        panic!("the feed never ended");
    }

    #[test]
    fn a_full_feed_says_so_and_stores_in_order() {
        let gate = Arc::new(Mutex::new(()));
        let (mut feed, stored, committed, _) = feed(2, Arc::clone(&gate), None);
        let held = gate.lock().unwrap();
        let mut sent = 0u8;
        // The thread takes one and waits on the gate; two more queue.
        while sent < 10 {
            match feed.poll() {
                Fed::Room => {
                    feed.send(vec![sent]);
                    sent += 1;
                }
                Fed::Full => break,
                Fed::Done(verdict) => panic!("{verdict:?}"),
            }
        }
        assert!(sent <= 4, "{sent}");
        drop(held);
        while sent < 10 {
            match feed.poll() {
                Fed::Room => {
                    feed.send(vec![sent]);
                    sent += 1;
                }
                Fed::Full => thread::sleep(Duration::from_millis(1)),
                Fed::Done(verdict) => panic!("{verdict:?}"),
            }
        }
        until(|| feed.poll() == Fed::Room);
        feed.end();
        assert_eq!(wait_done(&mut feed), Ok(()));
        assert!(committed.load(Ordering::Acquire));
        assert_eq!(*stored.lock().unwrap(), (0..10).collect::<Vec<u8>>());
    }

    #[test]
    fn a_feed_cut_off_never_commits() {
        let (mut feed, stored, committed, running) = feed(2, Arc::default(), None);
        feed.send(vec![1, 2]);
        until(|| stored.lock().unwrap().len() == 2);
        drop(feed);
        until(|| running.count() == 0);
        assert!(!committed.load(Ordering::Acquire));
    }

    #[test]
    fn data_that_carries_its_end_commits_without_the_drivers_end() {
        let (mut feed, _, committed, _) = feed(2, Arc::default(), Some(0xff));
        feed.send(vec![1, 0xff]);
        assert_eq!(wait_done(&mut feed), Ok(()));
        assert!(committed.load(Ordering::Acquire));
    }
}
