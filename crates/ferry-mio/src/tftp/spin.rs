//! A short busy-poll of a lone transfer's socket before the loop sleeps.
//!
//! A TFTP transfer is a chain of round trips: the server answers, then
//! waits for the peer's next datagram. Going back to `epoll_wait` for
//! that wait costs a sleep and a wake-up, and on a VM whose idle CPUs
//! halt, a wake-up across CPUs costs far more than the round trip itself
//! (docs/benchmarks.md, runs J and K: lock-step at 1468 runs several
//! times slower with client and server on different CPUs). When the loop
//! runs just one transfer, the socket is polled instead for up to
//! [`SPIN`], yielding the CPU between tries so that a peer on the same
//! CPU runs first.
//!
//! Bounded: a wait costs at most [`SPIN`] of CPU, and a peer slower than
//! that (a real network's round trip) stops the polling after [`MISSES`]
//! misses in a row; it is tried again every [`RETRY`]th wait, so such a
//! transfer spends at most one poll per [`RETRY`] waits. The stop needs
//! many misses: on a loaded machine a fast peer misses now and then, and
//! a loop that stops polling falls back into the slow, sleeping mode
//! (run K: stopping after 4 misses, retrying every 32nd wait, left
//! lock-step at 1468 as bimodal as without polling).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;

/// Longest poll of one wait.
const SPIN: Duration = Duration::from_micros(50);

/// Polls in a row that found nothing before polling stops.
const MISSES: u32 = 64;

/// While polling is stopped, every this many waits polls once more.
const RETRY: u32 = 8;

/// The polling state, the loop's (one transfer at a time uses it).
#[derive(Debug, Default)]
pub(super) struct Spin {
    /// Polls in a row that found nothing.
    misses: u32,
    /// Waits not polled since polling stopped.
    skipped: u32,
}

impl Spin {
    /// The socket had nothing: poll it for a while. `WouldBlock` if
    /// nothing came (or polling is stopped); the loop then sleeps.
    pub(super) fn recv_from(
        &mut self,
        socket: &UdpSocket,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr)> {
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
            match socket.recv_from(buf) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (UdpSocket, std::net::UdpSocket) {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_nonblocking(true).unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        (UdpSocket::from_std(rx), tx)
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
            match spin.recv_from(&rx, &mut buf) {
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
            let err = spin.recv_from(&rx, &mut buf).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        }
        // Polling is stopped: a datagram already waiting is left for the
        // loop's next readiness (its arrival was reported).
        tx.send(b"late").unwrap();
        for _ in 1..RETRY {
            let err = spin.recv_from(&rx, &mut buf).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        }
        let (len, _) = spin.recv_from(&rx, &mut buf).unwrap();
        assert_eq!(&buf[..len], b"late");
        assert_eq!(spin.misses, 0);
    }
}
