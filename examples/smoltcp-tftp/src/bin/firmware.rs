//! A firmware image that fetches its update over TFTP: the library's
//! [`Download`] on smoltcp, with a heap from `embedded-alloc`.
//!
//! Build: `cargo build --release --target thumbv7em-none-eabihf -p smoltcp-tftp --features firmware --bin firmware`.
//!
//! Two stand-ins keep it board-independent: smoltcp's `Loopback` takes
//! the place of the board's Ethernet driver (any `smoltcp::phy::Device`),
//! and the clock is a loop counter where a board reads its timer.
#![no_std]
#![no_main]

extern crate alloc;

use core::mem::MaybeUninit;
use core::net::{Ipv4Addr, SocketAddrV4};

use alloc::vec;
use cortex_m_rt::entry;
use embedded_alloc::LlffHeap as Heap;
use panic_halt as _;
use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{Loopback, Medium};
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};
use smoltcp_tftp::Download;
use tftp_proto::Options;

#[global_allocator]
static HEAP: Heap = Heap::empty();

const HEAP_SIZE: usize = 64 * 1024;
/// Largest image accepted: what the update slot in flash holds.
const MAX_IMAGE: usize = 32 * 1024;

#[entry]
fn main() -> ! {
    static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
    // SAFETY: `entry` runs once, before anything allocates, and cortex-m-rt
    // hands this `static mut` to it alone as a `&'static mut`.
    unsafe { HEAP.init(HEAP_MEM.as_ptr() as usize, HEAP_SIZE) }

    let mut device = Loopback::new(Medium::Ip);
    let mut now = Instant::ZERO;
    let mut iface = Interface::new(Config::new(HardwareAddress::Ip), &mut device, now);
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::v4(192, 0, 2, 10), 24));
    });
    let buffer = || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 4], vec![0; 4 * 600]);
    let mut sockets = SocketSet::new(vec![]);
    let mut socket = udp::Socket::new(buffer(), buffer());
    let _ = socket.bind(49_152);
    let handle = sockets.add(socket);

    let server = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 69);
    let options = Options {
        tsize: Some(0),
        ..Options::default()
    };
    let mut update = Download::new(server, "firmware.bin", options, MAX_IMAGE, now);
    while !update.is_closed() {
        iface.poll(now, &mut device, &mut sockets);
        update.poll(now, sockets.get_mut::<udp::Socket>(handle));
        now += Duration::from_millis(1);
    }
    // A board would check the image and write it to its update slot here.
    let _complete = matches!(update.result(), Some(Ok(_)));
    loop {
        cortex_m::asm::wfi();
    }
}
