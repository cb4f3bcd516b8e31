//! The one loop that runs a [`Transfer`] over blocking I/O.
//!
//! Server and client share it; what differs is the [`Local`] end (a file
//! from storage, an upload, a download target) and the [`Wire`] the
//! datagrams come from (the transfer's own socket, or, for a single-port
//! server, the request loop handing on what arrived for this peer). The
//! loop only moves bytes: datagrams in, transmits out (through
//! [`Outcome::pump`], which also feeds the file end), and it sleeps until
//! the machine's next deadline.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use ferry_service::pace::RateLimit;
use ferry_service::tftp::{
    recv_error_is_transient, try_recv_from, Local, Outbox, Outcome, Report, Running, Spin,
    RECV_BUFFER,
};
use tftp_proto::transfer::{LocalError, Transfer};

use crate::clock;

/// Longest single sleep, so a stop request is noticed promptly even while
/// the machine waits out a long retransmission timeout.
const MAX_SLEEP: Duration = Duration::from_millis(250);

/// What a [`Wire`] received.
pub(crate) enum Received {
    /// A datagram, copied into the buffer: its length and sender.
    Datagram(usize, SocketAddr),
    /// Nothing came in time.
    Nothing,
    /// Server only: the request loop's mark for request number `n` from
    /// this transfer's peer. Everything that reached the server before that
    /// request came before the mark, so the transfer has now taken it.
    CaughtUp(u64),
}

/// Where a transfer's datagrams come from and go out.
pub(crate) trait Wire {
    /// The socket transmits leave by.
    fn socket(&self) -> &UdpSocket;

    /// The next datagram for this transfer, copied into `buf`, waiting at
    /// most about `wait`.
    fn recv(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<Received>;

    /// The transfer took everything up to the mark for request `n` (see
    /// [`Received::CaughtUp`]) and its events said `outcome`: true to end
    /// the transfer now.
    fn caught_up(&mut self, _n: u64, _outcome: &Outcome) -> bool {
        false
    }
}

/// A socket of the transfer's own: every datagram on it is the transfer's,
/// except the request loop's marks.
///
/// While the transfer is the only one running, the socket is polled for a
/// moment (up to 200 µs, [`Spin`]) before the blocking receive: the
/// peer's answer is usually that close, and sleeping in the kernel and
/// being woken, often on another CPU, costs more than the round trip.
pub(crate) struct OwnSocket<'a> {
    socket: &'a UdpSocket,
    /// Where marks come from: the socket itself (see [`wake_addr`]).
    marks: Option<SocketAddr>,
    timeout: ReadTimeout,
    spin: Spin,
    /// The server's running transfers: polling only while this is the
    /// one. None for a client's transfer, which is alone.
    running: Option<&'a dyn Running>,
}

impl<'a> OwnSocket<'a> {
    pub(crate) fn new(socket: &'a UdpSocket) -> Self {
        OwnSocket {
            socket,
            marks: None,
            timeout: ReadTimeout { current: None },
            spin: Spin::default(),
            running: None,
        }
    }

    /// A server transfer's socket, which the request loop marks by sending
    /// to `wake` from the socket itself; `running` are the server's
    /// transfers.
    pub(crate) fn marked(
        socket: &'a UdpSocket,
        wake: SocketAddr,
        running: &'a dyn Running,
    ) -> Self {
        OwnSocket {
            marks: Some(wake),
            running: Some(running),
            ..OwnSocket::new(socket)
        }
    }

    fn alone(&self) -> bool {
        self.running.map_or(true, |running| running.count() <= 1)
    }

    /// What a datagram of `len` bytes from `from` in `buf` is.
    fn received(&self, buf: &[u8], len: usize, from: SocketAddr) -> Received {
        if Some(from) != self.marks {
            return Received::Datagram(len, from);
        }
        match buf[..len].try_into() {
            Ok(n) => Received::CaughtUp(u64::from_be_bytes(n)),
            Err(_) => Received::Nothing,
        }
    }
}

impl Wire for OwnSocket<'_> {
    fn socket(&self) -> &UdpSocket {
        self.socket
    }

    fn recv(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<Received> {
        let got = if self.alone() {
            self.spin.poll(|| try_recv_from(self.socket, buf))
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        };
        let got = match got {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.timeout.arm(self.socket, wait)?;
                self.socket.recv_from(buf)
            }
            got => got,
        };
        match got {
            Ok((len, from)) => Ok(self.received(buf, len, from)),
            Err(err) if nothing_received(&err) => Ok(Received::Nothing),
            Err(err) => Err(err),
        }
    }
}

/// Where a mark for a transfer's own socket is sent, from that socket: its
/// own address, loopback if it is bound to every address. No one else can
/// send from there, so a datagram from that address is a mark.
pub(crate) fn wake_addr(socket: &UdpSocket) -> io::Result<SocketAddr> {
    let mut addr = socket.local_addr()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    Ok(addr)
}

/// A receive on a blocking socket that got nothing but lost nothing: its
/// read timeout, or a transient error.
pub(crate) fn nothing_received(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) || recv_error_is_transient(err)
}

/// What the request loop of a single-port server hands a running transfer.
pub(crate) enum Inbound {
    /// A datagram from its peer.
    Datagram(Vec<u8>, SocketAddr),
    /// The mark for request `n` from its peer (see [`Received::CaughtUp`]).
    CaughtUp(u64),
}

/// A transfer of a single-port server: it sends from the shared request
/// socket and receives what the request loop hands on for its peer.
pub(crate) struct Routed<'a> {
    pub(crate) socket: &'a UdpSocket,
    pub(crate) inbox: Receiver<Inbound>,
}

impl Wire for Routed<'_> {
    fn socket(&self) -> &UdpSocket {
        self.socket
    }

    fn recv(&mut self, buf: &mut [u8], wait: Duration) -> io::Result<Received> {
        let wait = wait.clamp(Duration::from_micros(100), MAX_SLEEP);
        match self.inbox.recv_timeout(wait) {
            Ok(Inbound::Datagram(datagram, from)) => {
                let len = datagram.len().min(buf.len());
                buf[..len].copy_from_slice(&datagram[..len]);
                Ok(Received::Datagram(len, from))
            }
            Ok(Inbound::CaughtUp(n)) => Ok(Received::CaughtUp(n)),
            Err(RecvTimeoutError::Timeout) => Ok(Received::Nothing),
            // The request loop is gone (the server is stopping): nothing
            // more will come; let the timers and the stop flag decide.
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(wait);
                Ok(Received::Nothing)
            }
        }
    }
}

/// Sets the socket's receive timeout only when the wanted sleep differs
/// enough from the one in force: a `setsockopt` per packet would cost as
/// much as the packet. Waking a little early is harmless (the loop checks
/// the deadline again); waking a little late only delays a retransmission.
struct ReadTimeout {
    current: Option<Duration>,
}

impl ReadTimeout {
    fn arm(&mut self, socket: &UdpSocket, wait: Duration) -> io::Result<()> {
        let wait = wait.clamp(Duration::from_micros(100), MAX_SLEEP);
        let acceptable = match self.current {
            Some(current) => {
                let slack = (wait / 8).max(Duration::from_millis(1));
                current >= wait / 2 && current <= wait + slack
            }
            None => false,
        };
        if !acceptable {
            socket.set_read_timeout(Some(wait))?;
            self.current = Some(wait);
        }
        Ok(())
    }
}

/// A request, from another thread, to end a transfer early.
#[derive(Clone, Copy)]
pub(crate) struct Stop<'a> {
    /// Set to stop.
    pub flag: &'a AtomicBool,
    /// The ERROR text the peer gets.
    pub message: &'static str,
}

/// Buffers one transfer needs, allocated once.
pub(crate) struct Buffers {
    recv: Vec<u8>,
    block: Vec<u8>,
    outbox: Outbox,
}

impl Buffers {
    pub(crate) fn new() -> Self {
        Buffers {
            recv: vec![0; RECV_BUFFER],
            block: Vec::new(),
            outbox: Outbox::new(),
        }
    }
}

/// Run `transfer` to its end over `wire`, with `local` as the file side.
///
/// `stop`, once its flag is set, makes the transfer abort cleanly (the peer
/// gets an ERROR, partial data is discarded). Under a rate `limit`, the
/// thread sleeps (in `recv`, so datagrams are still taken) until the
/// limit lets the transfer go on.
pub(crate) fn drive<L: Local, W: Wire>(
    wire: &mut W,
    transfer: &mut Transfer,
    local: &mut L,
    buffers: &mut Buffers,
    stop: Option<Stop<'_>>,
    limit: Option<RateLimit>,
) -> io::Result<Report> {
    let mut outcome = Outcome::paced(limit, clock::now());
    let mut stopping = false;

    loop {
        // Events and transmits: every input may produce some; answer them
        // at once.
        outcome.pump(
            transfer,
            local,
            &mut buffers.block,
            &mut buffers.outbox,
            wire.socket(),
        );

        if transfer.is_closed() {
            break;
        }
        if let Some(stop) = stop.filter(|s| !stopping && s.flag.load(Ordering::Relaxed)) {
            stopping = true;
            transfer.abort(clock::now(), LocalError::Other, stop.message);
            continue;
        }

        // Sleep until the next datagram, the machine's deadline or the
        // end of a rate limit's wait.
        let Some(deadline) = transfer.poll_timeout() else {
            break;
        };
        let now = clock::now();
        if now >= deadline {
            transfer.handle_timeout(now);
            continue;
        }
        let wake = match outcome.paced_until(now) {
            Some(paced) if paced <= now => continue,
            Some(paced) => paced.min(deadline),
            None => deadline,
        };
        match wire.recv(&mut buffers.recv, clock::until(now, wake)) {
            Ok(Received::Datagram(len, from)) => {
                transfer.handle_datagram(clock::now(), from, &buffers.recv[..len]);
            }
            Ok(Received::CaughtUp(n)) => {
                if wire.caught_up(n, &outcome) {
                    break;
                }
            }
            Ok(Received::Nothing) => {
                let now = clock::now();
                if now >= deadline {
                    transfer.handle_timeout(now);
                }
            }
            Err(err) => {
                local.discard();
                return Err(err);
            }
        }
    }
    Ok(outcome.finish(local))
}
