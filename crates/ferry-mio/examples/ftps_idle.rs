//! What an idle FTPS session costs the event loop: an FTP server with a
//! fresh self-signed certificate (explicit FTPS on one port, implicit on
//! another) whose heap in use is printed on request.
//!
//! ```text
//! cargo run --release -p ferry-mio --example ftps_idle -- ROOT [rw]
//! ```
//!
//! (`rw`: anonymous uploads allowed, for trying clients' puts.)
//!
//! Prints `ftp PORT ftps PORT` once listening; then, for every line read
//! on standard input, `heap BYTES`: the bytes allocated and not yet
//! freed, counted by this program's allocator. It stops when standard
//! input closes. A client opens sessions, asks before and after, and
//! divides (VmRSS in `/proc/PID/status` gives the same from the kernel's
//! side).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::BufRead;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferry_service::ftp::ServerConfig;

/// The system allocator, counting the bytes it has handed out.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator with the caller's own
// arguments; the counter is only arithmetic on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's pointer, layout and size, as realloc requires.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args()
        .nth(1)
        .ok_or("usage: ftps_idle ROOT [rw]")?;
    let write = std::env::args().nth(2).as_deref() == Some("rw");
    let hosts = vec!["127.0.0.1".to_owned()];
    let (cert, key, _) = ferry_tls::generate_self_signed(&hosts)?;
    let tls = ferry_tls::ServerTls::from_pem(cert.as_bytes(), key.as_bytes(), false)?;
    let mut config = ServerConfig::new(root, "127.0.0.1:0".parse()?);
    config.tls = Some(tls);
    config.write = write;
    config.ftps_bind = Some("127.0.0.1:0".parse()?);
    config.max_sessions = 20_000;
    config.session.idle_timeout = std::time::Duration::from_secs(600);
    let mut server = ferry_mio::Server::bind(Some(config), None)?;
    let ftp = server.ftp_addr().ok_or("no ftp listener")?;
    let ftps = server.ftps_addr().ok_or("no ftps listener")?;
    println!("ftp {} ftps {}", ftp.port(), ftps.port());
    let stop = server.shutdown_handle();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
            println!("heap {}", LIVE.load(Ordering::Relaxed));
        }
        // Standard input closed: the measuring client is done.
        stop.shutdown();
    });
    server.run()?;
    Ok(())
}
