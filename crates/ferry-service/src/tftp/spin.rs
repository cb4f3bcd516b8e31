//! A short busy-poll of a lone transfer's socket before its driver sleeps.
//!
//! A TFTP transfer is a chain of round trips: the server answers, then
//! waits for the peer's next datagram. Going to sleep for that wait (in
//! `epoll_wait`, or in a blocking receive) costs a sleep and a wake-up,
//! and on a machine whose idle CPUs halt, a wake-up across CPUs costs far
//! more than the round trip itself (docs/benchmarks.md, runs J to M:
//! lock-step at 1468 runs several times slower with client and server on
//! different CPUs). While a driver runs just one transfer, it polls the
//! socket instead for up to [`SPIN`], yielding the CPU between tries so
//! that a peer on the same CPU runs first.
//!
//! Bounded: a wait costs at most [`SPIN`] of CPU, and a peer slower than
//! that (a real network's round trip) stops the polling after [`MISSES`]
//! misses in a row; it is tried again every [`RETRY`]th wait, so such a
//! transfer spends at most one poll per [`RETRY`] waits. The stop needs
//! many misses: on a loaded machine a fast peer misses now and then, and
//! a driver that stops polling falls back into the slow, sleeping mode
//! (run K: stopping after 4 misses, retrying every 32nd wait, left
//! lock-step at 1468 as bimodal as without polling).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Longest poll of one wait. Windows of 8192-byte blocks come back in 50
/// to 100 µs on loopback: a 50 µs poll missed half of them (run M in
/// docs/benchmarks.md, 8192 × 4 on the blocking driver: 321 MB/s with
/// 50 µs, 439 with 200).
const SPIN: Duration = Duration::from_micros(200);

/// Polls in a row that found nothing before polling stops.
const MISSES: u32 = 64;

/// While polling is stopped, every this many waits polls once more.
const RETRY: u32 = 8;

/// The polling state of one driver (or one transfer thread).
#[derive(Debug, Default)]
pub struct Spin {
    /// Polls in a row that found nothing.
    misses: u32,
    /// Waits not polled since polling stopped.
    skipped: u32,
}

impl Spin {
    /// Nothing has come yet: poll with `try_recv`, which must not block
    /// and answers `WouldBlock` while nothing is there, for up to 200 µs
    /// (`SPIN`). `WouldBlock` if nothing came (or polling is stopped): the
    /// caller then sleeps. Any other answer of `try_recv` is returned as
    /// it is, and counts as a hit.
    pub fn poll<T>(&mut self, mut try_recv: impl FnMut() -> io::Result<T>) -> io::Result<T> {
        if self.misses >= MISSES {
            self.skipped += 1;
            if self.skipped < RETRY {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.skipped = 0;
        }
        let until = Instant::now() + SPIN;
        loop {
            std::thread::yield_now();
            match try_recv() {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= until {
                        self.misses = self.misses.saturating_add(1);
                        return Err(err);
                    }
                }
                got => {
                    self.misses = 0;
                    return got;
                }
            }
        }
    }
}

/// One receive on a UDP socket that never blocks, whatever the socket's
/// mode: `WouldBlock` if no datagram waits. For polling a blocking socket
/// without switching it to non-blocking and back (two system calls).
pub fn try_recv_from(socket: &impl AsFd, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    use rustix::net::{recvfrom, RecvFlags};

    let (len, _, from) = recvfrom(socket, &mut *buf, RecvFlags::DONTWAIT)?;
    let from = from
        .and_then(|from| SocketAddr::try_from(from).ok())
        .ok_or(io::ErrorKind::InvalidData)?;
    Ok((len, from))
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use super::*;

    /// A blocking receiver and a sender connected to it.
    fn pair() -> (UdpSocket, UdpSocket) {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        (rx, tx)
    }

    #[test]
    fn try_recv_from_never_blocks_a_blocking_socket() {
        let (rx, tx) = pair();
        let mut buf = [0u8; 16];
        let err = try_recv_from(&rx, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        tx.send(b"\x00\x04\x00\x07").unwrap();
        let give_up = Instant::now() + Duration::from_secs(5);
        let (len, from) = loop {
            match try_recv_from(&rx, &mut buf) {
                Ok(got) => break got,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock && Instant::now() < give_up => {
                }
                Err(err) => panic!("no datagram: {err}"),
            }
        };
        assert_eq!(&buf[..len], b"\x00\x04\x00\x07");
        assert_eq!(from, tx.local_addr().unwrap());
    }

    #[test]
    fn a_datagram_that_comes_while_polling_is_taken() {
        let (rx, tx) = pair();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_micros(10));
            tx.send(b"\x00\x04\x00\x01").unwrap();
        });
        let mut spin = Spin::default();
        let mut buf = [0u8; 16];
        // The sender thread may be scheduled late on a loaded machine;
        // each miss only counts towards stopping.
        let give_up = Instant::now() + Duration::from_secs(5);
        let got = loop {
            match spin.poll(|| try_recv_from(&rx, &mut buf)) {
                Ok(got) => break got,
                Err(_) if Instant::now() < give_up => {}
                Err(err) => panic!("no datagram: {err}"),
            }
        };
        sender.join().unwrap();
        let (len, _) = got;
        assert_eq!(&buf[..len], b"\x00\x04\x00\x01");
        assert_eq!(spin.misses, 0);
    }

    #[test]
    fn a_slow_peer_stops_the_polling_and_every_retry_th_wait_polls_again() {
        let (rx, tx) = pair();
        let mut spin = Spin::default();
        let mut buf = [0u8; 16];
        for _ in 0..MISSES {
            assert!(spin.misses < MISSES);
            let err = spin.poll(|| try_recv_from(&rx, &mut buf)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        }
        assert_eq!(spin.misses, MISSES);
        // Polling is stopped: a datagram already waiting is left for the
        // caller's sleeping receive.
        tx.send(b"late").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        for _ in 1..RETRY {
            let err = spin.poll(|| try_recv_from(&rx, &mut buf)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        }
        let (len, _) = spin.poll(|| try_recv_from(&rx, &mut buf)).unwrap();
        assert_eq!(&buf[..len], b"late");
        assert_eq!(spin.misses, 0);
    }

    #[test]
    fn other_errors_pass_through_and_end_a_run_of_misses() {
        let mut spin = Spin::default();
        for _ in 0..3 {
            let err = spin
                .poll(|| -> io::Result<()> { Err(io::ErrorKind::WouldBlock.into()) })
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        }
        assert_eq!(spin.misses, 3);
        let err = spin
            .poll(|| -> io::Result<()> { Err(io::ErrorKind::ConnectionRefused.into()) })
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(spin.misses, 0);
    }
}
