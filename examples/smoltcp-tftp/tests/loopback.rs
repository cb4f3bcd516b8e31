//! The no_std client against a TFTP server on the same smoltcp loopback
//! interface: the server is `tftp-proto` too, driven over two more UDP
//! sockets (its request port and the transfer's own port). Time is
//! virtual: when nothing moves it jumps to the next deadline.

use std::net::SocketAddrV4;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Device, DeviceCapabilities, Loopback, Medium, TxToken};
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address};
use smoltcp_tftp::{to_proto, to_smoltcp, Download};
use tftp_proto::transfer::{accept_request, Event, ServerPolicy, Transfer};
use tftp_proto::Options;

const SERVER_PORT: u16 = 69;
const SERVER_TID: u16 = 50_001;
const CLIENT_PORT: u16 = 40_000;

fn udp_socket(port: u16) -> udp::Socket<'static> {
    let buffer =
        || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 16], vec![0; 16 * 9000]);
    let mut socket = udp::Socket::new(buffer(), buffer());
    socket.bind(port).expect("bind");
    socket
}

/// The server: tftp-proto's `server_read` on its own socket, serving one file.
struct Server {
    requests: SocketHandle,
    tid: SocketHandle,
    transfer: Option<Transfer>,
    file: Vec<u8>,
    offset: usize,
}

impl Server {
    fn poll(&mut self, now: Instant, sockets: &mut SocketSet<'_>) {
        let at = to_proto(now);
        let policy = ServerPolicy::default();
        let requests = sockets.get_mut::<udp::Socket>(self.requests);
        while let Ok((bytes, meta)) = requests.recv() {
            let peer = std::net::SocketAddr::new(meta.endpoint.addr.into(), meta.endpoint.port);
            if self.transfer.is_some() {
                continue; // one transfer at a time: a repeat is ignored
            }
            let accepted = accept_request(&policy, peer, bytes, at)
                .unwrap_or_else(|_| panic!("the request is accepted"));
            let size = Some(self.file.len() as u64);
            self.transfer = Some(Transfer::server_read(
                &policy,
                peer,
                &accepted.request,
                size,
                at,
            ));
        }
        let Some(transfer) = self.transfer.as_mut() else {
            return;
        };
        let socket = sockets.get_mut::<udp::Socket>(self.tid);
        if transfer.poll_timeout().is_some_and(|t| at >= t) {
            transfer.handle_timeout(at);
        }
        let mut inputs = Vec::new();
        while let Ok((bytes, meta)) = socket.recv() {
            inputs.push((
                std::net::SocketAddr::new(meta.endpoint.addr.into(), meta.endpoint.port),
                bytes.to_vec(),
            ));
        }
        let mut inputs = inputs.into_iter();
        loop {
            // Drain events and transmits until both are empty.
            loop {
                let mut busy = false;
                while let Some(event) = transfer.poll_event() {
                    busy = true;
                    if let Event::NeedData { max_len } = event {
                        let end = (self.offset + max_len).min(self.file.len());
                        let (start, file) = (self.offset, &self.file);
                        self.offset = end;
                        transfer.provide_data(at, &file[start..end]);
                    }
                }
                while let Some(t) = transfer.poll_transmit() {
                    busy = true;
                    let std::net::SocketAddr::V4(to) = t.to else {
                        unreachable!("an IPv4-only stack")
                    };
                    let to = IpEndpoint::from(to);
                    socket
                        .send_slice(t.payload, to)
                        .expect("room in the buffer");
                }
                if !busy {
                    break;
                }
            }
            match inputs.next() {
                Some((from, bytes)) => transfer.handle_datagram(at, from, &bytes),
                None => break,
            }
        }
    }

    fn poll_at(&self) -> Option<Instant> {
        self.transfer
            .as_ref()
            .and_then(Transfer::poll_timeout)
            .map(to_smoltcp)
    }
}

/// Fetches `file` (served as "image.bin") with `options`; returns what arrived.
fn fetch(file: Vec<u8>, options: Options, drop_nth: Option<usize>) -> (Vec<u8>, u64) {
    let mut device = Dropping {
        inner: Loopback::new(Medium::Ip),
        sent: 0,
        in_flight: 0,
        drop_nth,
    };
    let mut iface = Interface::new(Config::new(HardwareAddress::Ip), &mut device, Instant::ZERO);
    iface.update_ip_addrs(|addrs| {
        addrs
            .push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8))
            .unwrap();
    });
    let mut sockets = SocketSet::new(vec![]);
    let client_h = sockets.add(udp_socket(CLIENT_PORT));
    let mut server = Server {
        requests: sockets.add(udp_socket(SERVER_PORT)),
        tid: sockets.add(udp_socket(SERVER_TID)),
        transfer: None,
        file,
        offset: 0,
    };
    let mut now = Instant::ZERO;
    let server_addr = SocketAddrV4::new(Ipv4Address::new(127, 0, 0, 1), SERVER_PORT);
    let mut download = Download::new(server_addr, "image.bin", options, 1 << 20, now);
    for _ in 0..100_000 {
        iface.poll(now, &mut device, &mut sockets);
        download.poll(now, sockets.get_mut::<udp::Socket>(client_h));
        server.poll(now, &mut sockets);
        let server_closed = server.transfer.as_ref().is_some_and(Transfer::is_closed);
        if download.is_closed() && server_closed {
            let summary = download
                .result()
                .cloned()
                .expect("an end")
                .expect("a complete image");
            return (download.image().to_vec(), summary.retransmits);
        }
        // Anything queued on a socket or the device goes out first; when
        // all is quiet, the clock jumps to the earliest deadline.
        let queued = device.in_flight > 0
            || [client_h, server.requests, server.tid]
                .into_iter()
                .any(|h| {
                    let socket = sockets.get::<udp::Socket>(h);
                    socket.send_queue() > 0 || socket.recv_queue() > 0
                });
        if !queued {
            let next = [
                download.poll_at(),
                server.poll_at(),
                iface.poll_at(now, &sockets),
            ]
            .into_iter()
            .flatten()
            .min()
            .expect("something to wait for");
            now = next.max(now + Duration::from_micros(1));
        }
    }
    panic!("the download never ended");
}

/// smoltcp's loopback, losing the `drop_nth` datagram sent (1-based),
/// and counting what it holds so the test knows when all is quiet.
struct Dropping {
    inner: Loopback,
    sent: usize,
    in_flight: usize,
    drop_nth: Option<usize>,
}

impl Device for Dropping {
    type RxToken<'a> = <Loopback as Device>::RxToken<'a>;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, now: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.inner.receive(now)?;
        self.in_flight -= 1;
        let tx = Tx {
            inner: tx,
            sent: &mut self.sent,
            in_flight: &mut self.in_flight,
            drop_nth: self.drop_nth,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, now: Instant) -> Option<Self::TxToken<'_>> {
        let tx = self.inner.transmit(now)?;
        Some(Tx {
            inner: tx,
            sent: &mut self.sent,
            in_flight: &mut self.in_flight,
            drop_nth: self.drop_nth,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.inner.capabilities()
    }
}

struct Tx<'a> {
    inner: <Loopback as Device>::TxToken<'a>,
    sent: &'a mut usize,
    in_flight: &'a mut usize,
    drop_nth: Option<usize>,
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        *self.sent += 1;
        if Some(*self.sent) == self.drop_nth {
            return f(&mut vec![0; len]);
        }
        *self.in_flight += 1;
        self.inner.consume(len, f)
    }
}

/// A file whose bytes do not repeat at block boundaries.
fn content(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn fetches_an_image_byte_exact() {
    let file = content(200_000);
    let (got, _) = fetch(file.clone(), Options::default(), None);
    assert_eq!(got.len(), file.len());
    assert!(got == file, "the image arrived intact");
}

#[test]
fn fetches_with_a_larger_block_and_exact_multiple() {
    let file = content(8 * 1468);
    let options = Options {
        blksize: Some(1468),
        tsize: Some(0),
        ..Options::default()
    };
    let (got, _) = fetch(file.clone(), options, None);
    assert!(got == file, "the image arrived intact");
}

#[test]
fn a_lost_datagram_is_sent_again() {
    let file = content(10_000);
    // The 4th datagram on the wire: RRQ, DATA 1, ACK 1, DATA 2 (lost).
    let (got, retransmits) = fetch(file.clone(), Options::default(), Some(4));
    assert!(got == file, "the image arrived intact");
    assert!(
        retransmits >= 1,
        "the client re-acknowledged after its timeout"
    );
}
