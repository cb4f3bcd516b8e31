//! The steady state of a transfer allocates nothing: once the options are
//! negotiated, every DATA/ACK step runs on buffers allocated up front.
//! Checked with a counting global allocator, one test per binary so no
//! other thread allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use tftp_proto::transfer::{accept_request, Event, ServerPolicy, Transfer, TransferConfig};
use tftp_proto::{BlockNumber, Instant, Mode, Options, Packet};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Drive a server read and a client get against each other by hand, with
/// preallocated buffers, and count allocations over many blocks.
#[test]
fn steady_state_allocates_nothing() {
    let client_addr: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server_addr: SocketAddr = "10.0.0.2:69".parse().unwrap();
    let tid: SocketAddr = "10.0.0.2:50000".parse().unwrap();
    let policy = ServerPolicy::default();
    let file = vec![0x5au8; 1468 * 4000 + 7];
    let options = Options {
        blksize: Some(1468),
        windowsize: Some(8),
        tsize: Some(0),
        ..Options::default()
    };

    let mut now = Instant::ZERO;
    let mut client = Transfer::client_get(
        &TransferConfig::default(),
        server_addr,
        "f",
        Mode::Octet,
        options,
        now,
    );
    let rrq = client.poll_transmit().unwrap().payload.to_vec();
    let accepted = accept_request(&policy, client_addr, &rrq, now).unwrap();
    let mut server = Transfer::server_read(
        &policy,
        client_addr,
        &accepted.request,
        Some(file.len() as u64),
        now,
    );

    let mut wire: Vec<(bool, Vec<u8>)> = Vec::with_capacity(64);
    let mut datagram = vec![0u8; 65536];
    let mut offset = 0usize;
    let mut received = 0usize;
    let mut blocks = 0u64;
    let mut counted_from = None;
    let mut done = false;
    for step in 0..1_000_000u64 {
        now = Instant::from_micros(step * 10);
        while let Some(event) = server.poll_event() {
            if let Event::NeedData { max_len } = event {
                let end = (offset + max_len).min(file.len());
                server.provide_data(now, &file[offset..end]);
                offset = end;
            }
        }
        while let Some(tx) = server.poll_transmit() {
            // Reuse a pooled buffer rather than allocate per packet.
            let slot = wire.iter_mut().find(|(used, _)| !*used);
            let (used, buf) = match slot {
                Some(s) => s,
                None => {
                    wire.push((false, Vec::with_capacity(65536)));
                    wire.last_mut().unwrap()
                }
            };
            *used = true;
            buf.clear();
            buf.extend_from_slice(tx.payload);
        }
        for (used, buf) in wire.iter_mut().filter(|(used, _)| *used) {
            datagram[..buf.len()].copy_from_slice(buf);
            let len = buf.len();
            *used = false;
            if let Ok(Packet::Data { block, .. }) = Packet::parse(&datagram[..len]) {
                if block == BlockNumber(100) && counted_from.is_none() {
                    counted_from = Some(allocations());
                }
            }
            client.handle_datagram(now, tid, &datagram[..len]);
            while let Some(event) = client.poll_event() {
                match event {
                    Event::Data(bytes) => {
                        received += bytes.len();
                        blocks += 1;
                    }
                    Event::Finished(_) => done = true,
                    _ => {}
                }
            }
            while let Some(tx) = client.poll_transmit() {
                let len = tx.payload.len();
                datagram[..len].copy_from_slice(tx.payload);
                server.handle_datagram(now, client_addr, &datagram[..len]);
            }
        }
        if done {
            break;
        }
    }
    let during = allocations() - counted_from.expect("block 100 was seen");
    assert!(done, "transfer finished");
    assert_eq!(received, file.len());
    assert!(blocks > 3900);
    assert_eq!(during, 0, "allocations during {blocks} steady-state blocks");
}
