//! The few threads that do what may take long, so the loop never waits
//! for it: password checks (argon2: tens of milliseconds and 19 MiB each)
//! and the copy that starts an APPE or REST+STOR upload.
//!
//! A fixed number of threads (one per core: more would only queue for the
//! CPU while each holds its memory) take tasks from one queue, send what
//! they did back over a channel, and wake the loop.

use std::io;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use ferry_service::ftp::{self as service, View};
use ferry_storage::{NewUpload, StorageError, Upload};
use ftp_proto::server::{Completion, RequestId};
use mio::Waker;

use super::Shared;

/// Stack of a pool thread: argon2 keeps its memory on the heap.
const THREAD_STACK: usize = 256 * 1024;

/// Whose work it is: the session (slab key, and its serial, since a key
/// is reused once the session is gone) and the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ticket {
    pub key: usize,
    pub serial: u64,
    pub id: RequestId,
}

/// Work for the pool.
pub(super) enum Task {
    /// USER/PASS of a named user.
    Authenticate {
        ticket: Ticket,
        user: String,
        password: String,
    },
    /// Fill an upload's temporary file with what it keeps of the old file.
    Prepare { ticket: Ticket, upload: NewUpload },
}

/// What the pool did.
pub(super) enum Done {
    /// The login's completion, and the view of the user's home on success.
    Authenticated {
        ticket: Ticket,
        completion: Completion,
        view: Option<View>,
    },
    /// The upload, ready for data (dropping it removes its temporary file).
    Prepared {
        ticket: Ticket,
        upload: Result<Upload, StorageError>,
    },
}

/// The threads, the queue to them, and the channel back.
pub(super) struct Pool {
    tasks: Option<Sender<Task>>,
    done: Receiver<Done>,
    threads: Vec<JoinHandle<()>>,
    /// Tasks handed out and not yet collected: a stopping server waits for
    /// them (a prepared upload comes back to be discarded).
    outstanding: usize,
}

impl Pool {
    /// Starts `count` threads doing `shared`'s work; each wakes the loop
    /// through `waker` when it finishes a task.
    pub(super) fn new(count: usize, shared: &Arc<Shared>, waker: &Arc<Waker>) -> io::Result<Pool> {
        let (tasks, queue) = mpsc::channel::<Task>();
        let (done_tx, done) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        let mut threads = Vec::new();
        for _ in 0..count.max(1) {
            let queue = Arc::clone(&queue);
            let shared = Arc::clone(shared);
            let waker = Arc::clone(waker);
            let done = done_tx.clone();
            let thread = thread::Builder::new()
                .name("ftp-pool".into())
                .stack_size(THREAD_STACK)
                .spawn(move || work(&queue, &shared, &done, &waker))?;
            threads.push(thread);
        }
        Ok(Pool {
            tasks: Some(tasks),
            done,
            threads,
            outstanding: 0,
        })
    }

    /// Hands `task` to the next free thread.
    pub(super) fn submit(&mut self, task: Task) {
        if let Some(tasks) = &self.tasks {
            if tasks.send(task).is_ok() {
                self.outstanding += 1;
            }
        }
    }

    /// The next finished task, if any.
    pub(super) fn finished(&mut self) -> Option<Done> {
        match self.done.try_recv() {
            Ok(done) => {
                self.outstanding -= 1;
                Some(done)
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }

    /// Tasks not yet collected.
    pub(super) fn outstanding(&self) -> usize {
        self.outstanding
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the queue ends every thread once it is between tasks.
        self.tasks = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn work(queue: &Mutex<Receiver<Task>>, shared: &Shared, done: &Sender<Done>, waker: &Waker) {
    loop {
        let task = match queue.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(task) => task,
            Err(_) => return,
        };
        let finished = match task {
            Task::Authenticate {
                ticket,
                user,
                password,
            } => {
                let (completion, view) =
                    service::authenticate(&shared.root, &shared.config, &user, &password);
                Done::Authenticated {
                    ticket,
                    completion,
                    view,
                }
            }
            Task::Prepare { ticket, upload } => Done::Prepared {
                ticket,
                upload: upload.prepare(),
            },
        };
        if done.send(finished).is_err() {
            return;
        }
        let _ = waker.wake();
    }
}
