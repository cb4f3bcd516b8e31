//! Sending a window of datagrams with as few system calls as possible.
//!
//! A windowed sender (RFC 7440) emits runs of equal-size DATA packets to one
//! peer. On Linux, UDP generic segmentation offload (`UDP_SEGMENT`) sends
//! such a run with one `sendmsg`: the kernel cuts it into the same datagrams
//! the peer would have received one by one, so nothing changes on the wire
//! but the sender's per-packet cost. Where that is not available (another
//! OS, an old kernel, a device that refuses it), every datagram goes out
//! with its own `send_to`, as before.
//!
//! Any UDP socket will do (`std`'s, mio's): the outbox only needs its file
//! descriptor. Sends never block on a blocking socket's behalf and never
//! wait on a non-blocking one: a datagram the kernel will not take now is a
//! loss like any other, and the machine's retransmission deals with it.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;

/// `UDP_SEGMENT` from Linux's `<linux/udp.h>` (since 4.18), not in every
/// libc binding.
#[cfg(target_os = "linux")]
const UDP_SEGMENT: libc::c_int = 103;

/// Most datagrams the kernel accepts in one segmented send.
const MAX_SEGMENTS: usize = 64;

/// Most bytes in one segmented send: one IPv4 datagram's worth of payload,
/// with room for headers.
const MAX_BATCH_BYTES: usize = 65000;

/// Collects consecutive transmits and sends them together when it can.
#[derive(Debug)]
pub struct Outbox {
    buf: Vec<u8>,
    to: Option<SocketAddr>,
    segment: usize,
    count: usize,
    /// The last datagram taken was shorter than the segment size: only the
    /// final segment of a batch may be short.
    short_tail: bool,
    segmentation: bool,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox::new()
    }
}

impl Outbox {
    /// An empty outbox; its batch buffer is allocated at the first batch.
    pub fn new() -> Self {
        Outbox {
            buf: Vec::new(),
            to: None,
            segment: 0,
            count: 0,
            short_tail: false,
            segmentation: cfg!(target_os = "linux"),
        }
    }

    /// Queue one datagram (or send it at once if batching is off).
    pub fn push(&mut self, socket: &impl AsFd, to: SocketAddr, payload: &[u8]) {
        if !self.segmentation || payload.len() > MAX_BATCH_BYTES / 2 {
            self.flush(socket);
            send_datagram(socket, to, payload);
            return;
        }
        if self.count > 0
            && (self.to != Some(to)
                || self.short_tail
                || payload.len() > self.segment
                || self.count == MAX_SEGMENTS
                || self.buf.len() + payload.len() > MAX_BATCH_BYTES)
        {
            self.flush(socket);
        }
        if self.count == 0 {
            self.to = Some(to);
            self.segment = payload.len();
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(MAX_BATCH_BYTES);
            }
        }
        self.buf.extend_from_slice(payload);
        self.count += 1;
        self.short_tail = payload.len() < self.segment;
    }

    /// Send whatever is queued.
    pub fn flush(&mut self, socket: &impl AsFd) {
        let Some(to) = self.to.take() else { return };
        let count = std::mem::take(&mut self.count);
        if count == 1 {
            send_datagram(socket, to, &self.buf);
        } else if let Err(err) = send_segmented(socket, to, &self.buf, self.segment) {
            // Not supported here: send this batch, and all later ones,
            // datagram by datagram.
            tracing::debug!(error = %err, "UDP segmentation offload unavailable");
            self.segmentation = false;
            for datagram in self.buf.chunks(self.segment) {
                send_datagram(socket, to, datagram);
            }
        }
        self.buf.clear();
        self.short_tail = false;
    }
}

/// Send one datagram. UDP send errors (a full socket buffer included) are
/// losses like any other: the machine's retransmission deals with them.
pub fn send_datagram(socket: &impl AsFd, to: SocketAddr, payload: &[u8]) {
    let addr = socket2::SockAddr::from(to);
    if let Err(err) = socket2::SockRef::from(socket).send_to(payload, &addr) {
        tracing::debug!(%to, error = %err, "tftp send failed");
    }
}

#[cfg(target_os = "linux")]
fn send_segmented(
    socket: &impl AsFd,
    to: SocketAddr,
    payload: &[u8],
    segment: usize,
) -> io::Result<()> {
    use std::io::IoSlice;

    let segment = u16::try_from(segment).map_err(|_| io::ErrorKind::InvalidInput)?;
    let control = segment_control(segment);
    let addr = socket2::SockAddr::from(to);
    let bufs = [IoSlice::new(payload)];
    let msg = socket2::MsgHdr::new()
        .with_addr(&addr)
        .with_buffers(&bufs)
        .with_control(&control);
    match socket2::SockRef::from(socket).sendmsg(&msg, 0) {
        Ok(_) => Ok(()),
        // These mean "cannot segment" (no support, or the device's MTU is
        // smaller than a segment); anything else is an ordinary loss.
        Err(err)
            if matches!(
                err.raw_os_error(),
                Some(libc::EINVAL | libc::EIO | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
            ) =>
        {
            Err(err)
        }
        Err(err) => {
            tracing::debug!(%to, error = %err, "tftp send failed");
            Ok(())
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn send_segmented(
    _socket: &impl AsFd,
    _to: SocketAddr,
    _payload: &[u8],
    _segment: usize,
) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// The ancillary data of a segmented send: one `cmsghdr` at level
/// `SOL_UDP`, type `UDP_SEGMENT`, carrying the segment size as a `u16`,
/// padded to the platform's alignment (`CMSG_SPACE(2)`). Built as plain
/// bytes so no unsafe code is needed; the kernel copies it before parsing,
/// so the buffer's own alignment does not matter.
#[cfg(target_os = "linux")]
fn segment_control(segment: u16) -> [u8; CONTROL_LEN] {
    const HEADER: usize = std::mem::size_of::<libc::cmsghdr>();
    let mut control = [0u8; CONTROL_LEN];
    let cmsg_len = HEADER + std::mem::size_of::<u16>();
    let len_field = std::mem::size_of::<libc::size_t>();
    control[..len_field].copy_from_slice(&cmsg_len.to_ne_bytes()[..len_field]);
    let level = len_field;
    control[level..level + 4].copy_from_slice(&libc::SOL_UDP.to_ne_bytes());
    control[level + 4..level + 8].copy_from_slice(&UDP_SEGMENT.to_ne_bytes());
    control[HEADER..HEADER + 2].copy_from_slice(&segment.to_ne_bytes());
    control
}

/// `CMSG_SPACE(sizeof(u16))`: the header plus the data rounded up to the
/// alignment of `size_t`.
#[cfg(target_os = "linux")]
const CONTROL_LEN: usize = {
    let header = std::mem::size_of::<libc::cmsghdr>();
    let align = std::mem::size_of::<libc::size_t>();
    header + 2usize.div_ceil(align) * align
};

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Duration;

    #[test]
    fn control_matches_the_c_layout() {
        // SAFETY: CMSG_SPACE and CMSG_LEN are pure arithmetic on a length.
        let (space, len) = unsafe { (libc::CMSG_SPACE(2) as usize, libc::CMSG_LEN(2) as usize) };
        assert_eq!(CONTROL_LEN, space);
        let control = segment_control(1472);
        let cmsg_len = usize::from_ne_bytes(control[..8].try_into().unwrap());
        assert_eq!(cmsg_len, len);
    }

    /// Whatever the kernel supports, the peer receives exactly the
    /// datagrams pushed, in order, with their own lengths.
    #[test]
    fn datagrams_arrive_one_by_one() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let mut outbox = Outbox::new();
        let mut sent = Vec::new();
        for i in 0..50u8 {
            let len = if i == 20 || i == 49 { 100 } else { 1472 };
            let datagram = vec![i; len];
            outbox.push(&tx, to, &datagram);
            sent.push(datagram);
        }
        outbox.flush(&tx);
        let mut buf = [0u8; 4096];
        for expected in &sent {
            let (n, _) = rx.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &expected[..]);
        }
    }
}
