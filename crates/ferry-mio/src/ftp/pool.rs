//! The few threads that do what may take long, so the loop never waits
//! for it: password checks (argon2: tens of milliseconds and 19 MiB each)
//! the copy that starts an APPE or REST+STOR upload, and HASH, which
//! reads a whole file; on an object store, every request (each a network
//! round trip) and the opening of every transfer.
//!
//! A fixed number of threads (one per core: more would only queue for the
//! CPU while each holds its memory) take tasks from one queue, send what
//! they did back over a channel, and wake the loop.

use std::io;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use ferry_service::ftp::{self as service, Job, View};
use ferry_service::{NewStoreUpload, StoreUpload};
use ferry_storage::StorageError;
use ftp_proto::server::{Completion, Failure, Operation, RequestId, Transfer};
use mio::Waker;

use super::Shared;

/// Stack of a pool thread: argon2 keeps its memory on the heap, but MODE
/// Z's compressor, which a listing on an object store is framed with
/// here, is built on the stack first (only the pages touched count).
const THREAD_STACK: usize = 2 * 1024 * 1024;

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
    Prepare {
        ticket: Ticket,
        upload: NewStoreUpload,
    },
    /// A request that reads much (HASH), or any on an object store, done
    /// in the session's view.
    Perform {
        ticket: Ticket,
        view: View,
        op: Operation,
    },
    /// What a transfer on an object store moves, opened before its 150.
    Open {
        ticket: Ticket,
        view: View,
        transfer: Transfer,
    },
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
        upload: Result<StoreUpload, StorageError>,
    },
    /// The request's completion.
    Performed {
        ticket: Ticket,
        completion: Completion,
    },
    /// The transfer's job and its 150, or why it cannot start.
    Opened {
        ticket: Ticket,
        opened: Result<(Job, Completion), Failure>,
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
            Task::Perform { ticket, view, op } => Done::Performed {
                ticket,
                completion: service::perform(&view, op),
            },
            Task::Open {
                ticket,
                view,
                transfer,
            } => Done::Opened {
                ticket,
                opened: service::open_job(&view, &transfer),
            },
        };
        if done.send(finished).is_err() {
            return;
        }
        let _ = waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::time::Duration;

    use ferry_service::ftp::{PassivePorts, ServerConfig};
    use ferry_storage::{Root, UploadMode};
    use ferry_users::{user_line, Users};
    use ftp_proto::server::Access;
    use mio::{Events, Poll, Token};

    const WAKE: Token = Token(7);

    fn pool(dir: &std::path::Path) -> (Poll, Pool) {
        std::fs::create_dir(dir.join("alice")).unwrap();
        let line = user_line("alice", "s3cret", "/alice", true).unwrap();
        let mut config = ServerConfig::new(dir, "127.0.0.1:0".parse().unwrap());
        config.users = Some(ferry_service::Reloadable::new(Users::parse(&line).unwrap()));
        config.write = true;
        let shared = Arc::new(Shared {
            root: ferry_service::Store::Local(Root::new(dir).unwrap()),
            passive: PassivePorts::new(None),
            limits: ferry_service::ftp::SessionLimits::new(1, None),
            config,
        });
        let poll = Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), WAKE).unwrap());
        let pool = Pool::new(2, &shared, &waker).unwrap();
        (poll, pool)
    }

    /// Sleeps in the loop until the pool wakes it, and collects one result.
    fn wait(poll: &mut Poll, pool: &mut Pool) -> Done {
        let mut events = Events::with_capacity(4);
        for _ in 0..50 {
            if let Some(done) = pool.finished() {
                return done;
            }
            poll.poll(&mut events, Some(Duration::from_millis(200)))
                .unwrap();
        }
        panic!("the pool never answered");
    }

    /// A request id, as only a session hands them out.
    fn request_id() -> RequestId {
        use ftp_proto::server::{Config, Event, Operation, Session};
        let addr = "127.0.0.1:21".parse().unwrap();
        let mut session = Session::new(&Config::default(), addr, addr, Default::default());
        session.handle_input(Default::default(), b"USER alice\r\nPASS pw\r\n");
        loop {
            match session.poll_event() {
                Some(Event::Request {
                    id,
                    op: Operation::Authenticate { .. },
                }) => return id,
                Some(_) => {}
                None => panic!("no login request"),
            }
        }
    }

    fn ticket(n: u64) -> Ticket {
        Ticket {
            key: 3,
            serial: n,
            id: request_id(),
        }
    }

    #[test]
    fn password_checks_come_back_with_the_users_home() {
        let dir = tempfile::tempdir().unwrap();
        let (mut poll, mut pool) = pool(dir.path());
        for (n, password) in [(1, "s3cret"), (2, "wrong")] {
            pool.submit(Task::Authenticate {
                ticket: ticket(n),
                user: "alice".into(),
                password: password.into(),
            });
            assert_eq!(pool.outstanding(), 1);
            let Done::Authenticated {
                ticket: got,
                completion,
                view,
            } = wait(&mut poll, &mut pool)
            else {
                panic!("not a login")
            };
            assert_eq!(got, ticket(n));
            assert_eq!(pool.outstanding(), 0);
            if n == 1 {
                assert!(matches!(
                    completion,
                    Completion::LoggedIn {
                        access: Access { write: true },
                        ..
                    }
                ));
                assert!(view.is_some());
            } else {
                assert_eq!(completion, Completion::LoginRefused);
                assert!(view.is_none());
            }
        }
    }

    #[test]
    fn a_hash_is_computed_on_the_pool_in_the_sessions_view() {
        let dir = tempfile::tempdir().unwrap();
        let (mut poll, mut pool) = pool(dir.path());
        std::fs::write(dir.path().join("alice/abc"), b"abc").unwrap();
        let root = ferry_service::Store::Local(Root::new(dir.path()).unwrap());
        let view = View::whole(&root);
        let op = Operation::Hash {
            path: ftp_proto::RootPath::ROOT.resolve("alice/abc").unwrap(),
            algorithm: ftp_proto::server::HashAlgorithm::Md5,
        };
        pool.submit(Task::Perform {
            ticket: ticket(5),
            view,
            op,
        });
        let Done::Performed {
            ticket: got,
            completion,
        } = wait(&mut poll, &mut pool)
        else {
            panic!("not a request")
        };
        assert_eq!(got, ticket(5));
        let Completion::Hashed { len, digest } = completion else {
            panic!("{completion:?}")
        };
        assert_eq!(len, 3);
        assert_eq!(digest[..4], [0x90, 0x01, 0x50, 0x98]);
    }

    #[test]
    fn an_append_starts_from_a_copy_made_on_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let (mut poll, mut pool) = pool(dir.path());
        std::fs::write(dir.path().join("log.txt"), b"old ").unwrap();
        let root = Root::new(dir.path()).unwrap();
        let upload =
            NewStoreUpload::Local(root.begin_upload("log.txt", UploadMode::Append).unwrap());
        pool.submit(Task::Prepare {
            ticket: ticket(9),
            upload,
        });
        let Done::Prepared {
            ticket: got,
            upload,
        } = wait(&mut poll, &mut pool)
        else {
            panic!("not an upload")
        };
        assert_eq!(got, ticket(9));
        let mut upload = upload.unwrap();
        upload.write_all(b"new").unwrap();
        upload.commit().unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("log.txt")).unwrap(),
            b"old new"
        );
    }
}
