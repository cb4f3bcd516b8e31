//! Data connections: opened, accepted, and the bytes moved over them,
//! converted through the transfer's format (TYPE A/E, STRU R, MODE B/C)
//! when the machine says it is not the file's bytes as they are.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use ftp_proto::format::{Decoder, Encoder, Format, DECODE_SLICE};
use socket2::Socket;

use super::tls::{self, DataStream};
use super::{Connection, Progress};
use crate::clock;

/// Bytes read from or written to a data connection at a time.
const DATA_BUFFER: usize = 256 * 1024;

/// Progress is reported at least this often (in bytes), and at the end.
const PROGRESS_STEP: u64 = 256 * 1024;

/// The data connection and the active-mode listener the running
/// operation holds; dropping it closes both.
#[derive(Default)]
pub(super) struct DataChannel {
    pub stream: Option<TcpStream>,
    pub listener: Option<Socket>,
}

/// Why the data side stopped before the connection's clean end.
pub(super) enum Stop {
    /// The data connection (or listener) failed.
    Data(io::Error),
    /// Reading or writing the local side failed.
    Local(io::Error),
    /// The cancel flag was set.
    Cancelled,
    /// The machine's deadline passed with nothing moving.
    TimedOut,
}

/// Counts local bytes and calls the progress callback, not more often
/// than every [`PROGRESS_STEP`].
pub(super) struct Meter<'p> {
    callback: Option<&'p mut dyn FnMut(Progress)>,
    bytes: u64,
    total: Option<u64>,
    reported: u64,
}

impl<'p> Meter<'p> {
    /// Starts at `offset` bytes (a resumed download).
    pub fn new(
        callback: Option<&'p mut dyn FnMut(Progress)>,
        offset: u64,
        total: Option<u64>,
    ) -> Self {
        let mut meter = Meter {
            callback,
            bytes: offset,
            total,
            reported: offset,
        };
        meter.report();
        meter
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn advance(&mut self, n: usize) {
        self.bytes += n as u64;
        if self.bytes - self.reported >= PROGRESS_STEP {
            self.report();
        }
    }

    pub fn report(&mut self) {
        self.reported = self.bytes;
        if let Some(callback) = self.callback.as_mut() {
            callback(Progress {
                bytes: self.bytes,
                total: self.total,
            });
        }
    }
}

/// Passive mode: connects to the server's data port.
pub(super) fn connect(addr: SocketAddr, budget: Option<Duration>) -> io::Result<TcpStream> {
    let budget = budget.ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))?;
    TcpStream::connect_timeout(&addr, budget)
}

/// Active mode: a listener on the control connection's local address, any
/// port.
pub(super) fn listen(local: SocketAddr) -> io::Result<(Socket, SocketAddr)> {
    let listener = TcpListener::bind(SocketAddr::new(local.ip(), 0))?;
    let addr = listener.local_addr()?;
    Ok((Socket::from(listener), addr))
}

/// Wire bytes the transfer's format does not allow: the data connection
/// failed, as far as the machine is concerned.
fn malformed(err: ftp_proto::format::DecodeError) -> Stop {
    Stop::Data(io::Error::new(io::ErrorKind::InvalidData, err))
}

/// A read or write that gave up at its socket timeout.
pub(super) fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl Connection {
    /// Active mode: accepts the server's data connection. One from any
    /// other address than the control connection's peer is closed
    /// unread, and the wait goes on.
    pub(super) fn accept(&mut self, listener: &Socket) -> Result<TcpStream, Stop> {
        loop {
            self.check_cancel()?;
            let budget = self.budget().ok_or(Stop::TimedOut)?;
            // Linux applies SO_RCVTIMEO to accept(2) too.
            listener
                .set_read_timeout(Some(budget))
                .map_err(Stop::Data)?;
            match listener.accept() {
                Ok((socket, from)) => {
                    let from = from.as_socket();
                    if from.is_some_and(|from| self.client.accept_data_peer(from)) {
                        return Ok(socket.into());
                    }
                    tracing::warn!(?from, "data connection from another address refused");
                }
                Err(err) if is_timeout(&err) || err.kind() == io::ErrorKind::Interrupted => {
                    self.check_deadline()?;
                }
                Err(err) => return Err(Stop::Data(err)),
            }
        }
    }

    /// Reads the data connection into `sink`, decoding `format`, to its
    /// end: the connection's close, or the format's own end of file
    /// (MODE B/C, STRU R), after which the server may keep it open (RFC
    /// 959 §3.4.2). `offset` is where the file resumes (REST). Returns
    /// the bytes that came over the connection.
    pub(super) fn download(
        &mut self,
        mut stream: DataStream,
        format: Format,
        offset: u64,
        sink: &mut dyn Write,
        meter: &mut Meter<'_>,
    ) -> Result<u64, Stop> {
        let mut buf = vec![0u8; DATA_BUFFER];
        let mut decoder = (!format.is_plain()).then(|| Decoder::new(format, offset));
        let mut decoded = Vec::new();
        let mut wire = 0u64;
        self.data_timeouts(stream.sock())?;
        loop {
            self.check_cancel()?;
            let n = match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if is_timeout(&err) || err.kind() == io::ErrorKind::Interrupted => {
                    self.check_deadline()?;
                    self.data_timeouts(stream.sock())?;
                    continue;
                }
                Err(err) => return Err(Stop::Data(err)),
            };
            wire += n as u64;
            self.client.data_progress(clock::now());
            match decoder.as_mut() {
                Some(decoder) => {
                    for piece in buf[..n].chunks(DECODE_SLICE) {
                        decoded.clear();
                        decoder.decode(piece, &mut decoded).map_err(malformed)?;
                        sink.write_all(&decoded).map_err(Stop::Local)?;
                        meter.advance(decoded.len());
                    }
                }
                None => {
                    sink.write_all(&buf[..n]).map_err(Stop::Local)?;
                    meter.advance(n);
                }
            }
            if decoder.as_ref().is_some_and(Decoder::is_complete) {
                break;
            }
        }
        if let Some(mut decoder) = decoder {
            decoded.clear();
            // Data cut before its end of file marker is a failed transfer,
            // whatever the server's reply says.
            decoder.finish(&mut decoded).map_err(malformed)?;
            sink.write_all(&decoded).map_err(Stop::Local)?;
            meter.advance(decoded.len());
        }
        sink.flush().map_err(Stop::Local)?;
        if !tls::clean_end(&stream) {
            // The server's 226 on the protected control connection is
            // what vouches for the end; many servers close without
            // close_notify.
            tracing::debug!("protected download ended without close_notify");
        }
        Ok(wire)
    }

    /// Writes `source` to the data connection, encoded in `format` (with
    /// its end of file marker, if it has one), then closes it so the
    /// server sees the end. Returns the bytes that went over the
    /// connection.
    pub(super) fn upload(
        &mut self,
        mut stream: DataStream,
        format: Format,
        source: &mut dyn Read,
        meter: &mut Meter<'_>,
    ) -> Result<u64, Stop> {
        let mut buf = vec![0u8; DATA_BUFFER];
        let mut encoder = (!format.is_plain()).then(|| Encoder::new(format, 0));
        let mut encoded = Vec::new();
        let mut wire = 0u64;
        let mut ended = false;
        self.data_timeouts(stream.sock())?;
        while !ended {
            self.check_cancel()?;
            let n = match source.read(&mut buf) {
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(Stop::Local(err)),
            };
            meter.advance(n);
            ended = n == 0;
            let mut out = match encoder.as_mut() {
                Some(encoder) => {
                    encoded.clear();
                    match ended {
                        true => encoder.finish(&mut encoded),
                        false => encoder.encode(&buf[..n], &mut encoded),
                    }
                    &encoded[..]
                }
                None => &buf[..n],
            };
            while !out.is_empty() {
                match stream.write(out) {
                    Ok(0) => return Err(Stop::Data(io::ErrorKind::WriteZero.into())),
                    Ok(written) => {
                        out = &out[written..];
                        wire += written as u64;
                        self.client.data_progress(clock::now());
                    }
                    Err(err) if is_timeout(&err) || err.kind() == io::ErrorKind::Interrupted => {
                        self.check_cancel()?;
                        self.check_deadline()?;
                        self.data_timeouts(stream.sock())?;
                    }
                    Err(err) => return Err(Stop::Data(err)),
                }
            }
        }
        // The server takes the end of the connection for the end of the
        // file (RFC 959 §3.4, stream mode).
        tls::finish_upload(&mut stream).map_err(Stop::Data)?;
        Ok(wire)
    }

    /// Read and write timeouts for a data connection from the machine's
    /// deadline. Each chunk moved pushes the deadline on by the same data
    /// timeout, so setting them once is enough.
    fn data_timeouts(&self, stream: &TcpStream) -> Result<(), Stop> {
        let budget = self.budget().ok_or(Stop::TimedOut)?;
        stream.set_read_timeout(Some(budget)).map_err(Stop::Data)?;
        stream.set_write_timeout(Some(budget)).map_err(Stop::Data)
    }

    fn check_cancel(&self) -> Result<(), Stop> {
        match self.cancelled() {
            true => Err(Stop::Cancelled),
            false => Ok(()),
        }
    }

    /// After a socket timeout: has the machine's deadline passed?
    fn check_deadline(&self) -> Result<(), Stop> {
        let now = clock::now();
        match self.client.poll_timeout() {
            Some(deadline) if now >= deadline => Err(Stop::TimedOut),
            _ => Ok(()),
        }
    }
}
