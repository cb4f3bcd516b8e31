//! Server session cost: whole control dialogues per second through the
//! machine (greeting, login, NOOP, QUIT), and what an idle session
//! occupies: `size_of::<Session>()` and the heap bytes it holds once
//! logged in and drained, measured with a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicIsize, Ordering};

use criterion::{Criterion, Throughput};
use ftp_proto::server::{Access, Completion, Config, Event, Operation, Session, SESSION_SIZE};
use ftp_proto::{Instant, RootPath};

/// Bytes currently allocated through the global allocator.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn peer() -> SocketAddr {
    "192.0.2.7:50000".parse().unwrap()
}

fn local() -> SocketAddr {
    "192.0.2.1:21".parse().unwrap()
}

fn config() -> Config {
    Config {
        anonymous: Some(Access { write: false }),
        ..Config::default()
    }
}

/// Runs the session until it has nothing more to say, answering an
/// Authenticate request the way a password store would.
fn drain(session: &mut Session, now: Instant, input: &mut &[u8]) -> usize {
    let mut written = 0;
    loop {
        let taken = session.handle_input(now, input);
        *input = &input[taken..];
        let mut progressed = taken > 0;
        while let Some(event) = session.poll_event() {
            progressed = true;
            if let Event::Request { id, op } = event {
                let completion = match op {
                    Operation::Authenticate { user, .. } => Completion::LoggedIn {
                        home: RootPath::ROOT.resolve(&user).unwrap(),
                        access: Access { write: true },
                    },
                    _ => unreachable!("the dialogues ask for nothing else"),
                };
                session.complete(now, id, completion);
            }
        }
        let n = session.transmit().len();
        if n > 0 {
            written += n;
            session.transmitted(n);
            progressed = true;
        }
        if !progressed {
            return written;
        }
    }
}

const ANONYMOUS: &[u8] = b"USER anonymous\r\nPASS guest@example.org\r\nNOOP\r\nQUIT\r\n";
const USER: &[u8] = b"USER alice\r\nPASS secret\r\nNOOP\r\nQUIT\r\n";

fn dialogue(config: &Config, script: &[u8]) -> usize {
    let now = Instant::ZERO;
    let mut session = Session::new(config, peer(), local(), now);
    let mut input = script;
    let written = drain(&mut session, now, &mut input);
    assert!(session.is_closed() && input.is_empty());
    written
}

/// Heap bytes held by an idle, logged-in session after its replies went
/// out and its events were taken.
fn idle_heap(config: &Config, login: &[u8]) -> isize {
    let now = Instant::ZERO;
    let before = LIVE.load(Ordering::Relaxed);
    let mut session = Session::new(config, peer(), local(), now);
    let mut input = login;
    drain(&mut session, now, &mut input);
    let held = LIVE.load(Ordering::Relaxed) - before;
    assert!(!session.is_closed());
    drop(black_box(session));
    held
}

fn report_memory() {
    let config = config();
    println!("size_of::<Session>() = {SESSION_SIZE} bytes");
    println!(
        "idle heap, anonymous after USER/PASS/PWD: {} bytes",
        idle_heap(
            &config,
            b"USER anonymous\r\nPASS guest@example.org\r\nPWD\r\n"
        )
    );
    println!(
        "idle heap, user alice (home /alice) after USER/PASS/PWD: {} bytes",
        idle_heap(&config, b"USER alice\r\nPASS secret\r\nPWD\r\n")
    );
}

fn benches(c: &mut Criterion) {
    let config = config();
    let mut group = c.benchmark_group("session");
    group.throughput(Throughput::Elements(1));
    group.bench_function("anonymous login+NOOP+QUIT", |b| {
        b.iter(|| dialogue(black_box(&config), black_box(ANONYMOUS)))
    });
    group.bench_function("user login (Authenticate)+NOOP+QUIT", |b| {
        b.iter(|| dialogue(black_box(&config), black_box(USER)))
    });
    group.finish();
}

fn main() {
    report_memory();
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
