//! Data connections: the thread that moves one transfer's bytes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ferry_service::ftp::{connect_from, failure, Job, SessionLog};
use ferry_storage::{NewUpload, StorageError};
use ftp_proto::ascii::{Decoder, Encoder};
use ftp_proto::server::{Completion, Failure};

/// Copy buffer for uploads, TYPE A and the fallback download path.
const BUFFER: usize = 256 * 1024;

/// Bytes handed to one `sendfile(2)` call: large enough to keep the socket
/// full, small enough to look at the stop flag now and then.
const SENDFILE_CHUNK: usize = 8 * 1024 * 1024;

/// How the data connection comes.
pub(super) enum Connect {
    /// Taken from the passive listener and approved by the session.
    Accepted(TcpStream),
    /// PORT/EPRT: to the address the session approved, from the control
    /// connection's local address (a client may check where it comes from).
    To {
        /// The control connection's local address.
        from: IpAddr,
        /// The client's data port.
        to: SocketAddr,
    },
}

/// Everything a transfer thread needs.
pub(super) struct Work {
    pub job: Job,
    pub ascii: bool,
    pub connect: Connect,
    /// Set by the control thread on ABOR (it also cuts the connection).
    pub stop: Arc<AtomicBool>,
    /// Where the data connection is published for the control thread.
    pub slot: Arc<Mutex<Option<TcpStream>>>,
    /// Bytes moved on the data connection so far.
    pub moved: Arc<AtomicU64>,
}

/// Runs one transfer to its end and says how it ended. The data
/// connection is closed before this returns, so the 226 follows the end of
/// the data (RFC 959 §3.2).
pub(super) fn run(work: Work) -> Completion {
    let Work {
        job,
        ascii,
        connect,
        stop,
        slot,
        moved,
    } = work;
    let stream = match connect {
        Connect::Accepted(stream) => stream,
        Connect::To { from, to } => match connect_from(from, to) {
            Ok(stream) => stream,
            Err(err) => {
                SessionLog::active_connect_failed(to, &err);
                return stopped_or(&stop, Failure::NoDataConnection);
            }
        },
    };
    if let Ok(clone) = stream.try_clone() {
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(clone);
    }
    // The control thread may have asked to stop before the clone was there.
    if stop.load(Ordering::Acquire) {
        return Completion::Failed(Failure::Aborted);
    }
    let mut mover = Mover {
        stream,
        stop: &stop,
        moved: &moved,
        total: 0,
    };
    let result = match job {
        Job::Send(file) if ascii => mover.send_ascii(file),
        Job::Send(file) => mover.send_file(file),
        Job::Listing(bytes) => mover.send_bytes(&bytes),
        Job::Receive(upload) => mover.receive(upload, ascii),
    };
    let total = mover.total;
    let _ = mover.stream.shutdown(Shutdown::Both);
    drop(mover);
    *slot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    match result {
        Ok(()) => Completion::Finished { bytes: total },
        Err(Ended::Data) => stopped_or(&stop, Failure::DataConnectionLost),
        Err(Ended::Local(failure)) => stopped_or(&stop, failure),
    }
}

fn stopped_or(stop: &AtomicBool, failure: Failure) -> Completion {
    if stop.load(Ordering::Acquire) {
        Completion::Failed(Failure::Aborted)
    } else {
        Completion::Failed(failure)
    }
}

/// Why a transfer did not finish.
enum Ended {
    /// The data connection broke (or was cut on ABOR).
    Data,
    /// The file side failed.
    Local(Failure),
}

struct Mover<'a> {
    stream: TcpStream,
    stop: &'a AtomicBool,
    moved: &'a AtomicU64,
    total: u64,
}

impl Mover<'_> {
    fn stopped(&self) -> Result<(), Ended> {
        if self.stop.load(Ordering::Acquire) {
            Err(Ended::Data)
        } else {
            Ok(())
        }
    }

    fn count(&mut self, n: usize) {
        self.total += n as u64;
        self.moved.store(self.total, Ordering::Relaxed);
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Ended> {
        self.stream.write_all(bytes).map_err(|_| Ended::Data)?;
        self.count(bytes.len());
        Ok(())
    }

    fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), Ended> {
        for chunk in bytes.chunks(BUFFER) {
            self.stopped()?;
            self.write(chunk)?;
        }
        Ok(())
    }

    /// TYPE I: straight from the page cache to the socket with
    /// `sendfile(2)`; a copy through a buffer where it is not supported.
    fn send_file(&mut self, mut file: File) -> Result<(), Ended> {
        loop {
            self.stopped()?;
            match rustix::fs::sendfile(&self.stream, &file, None, SENDFILE_CHUNK) {
                Ok(0) => return Ok(()),
                Ok(n) => self.count(n),
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) if self.total == 0 => {
                    return self.copy_from(&mut file);
                }
                Err(rustix::io::Errno::IO) => return Err(Ended::Local(Failure::Io)),
                Err(_) => return Err(Ended::Data),
            }
        }
    }

    fn copy_from(&mut self, file: &mut File) -> Result<(), Ended> {
        let mut buf = vec![0u8; BUFFER];
        loop {
            self.stopped()?;
            let n = read_file(file, &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            self.write(&buf[..n])?;
        }
    }

    /// TYPE A: LF becomes CR LF on the way out.
    fn send_ascii(&mut self, mut file: File) -> Result<(), Ended> {
        let mut buf = vec![0u8; BUFFER];
        let mut out = Vec::with_capacity(BUFFER * 2);
        let mut encoder = Encoder::new();
        loop {
            self.stopped()?;
            let n = read_file(&mut file, &mut buf)?;
            if n == 0 {
                return Ok(());
            }
            out.clear();
            encoder.encode(&buf[..n], &mut out);
            self.write(&out)?;
        }
    }

    /// Into the upload's temporary file until the client closes the data
    /// connection; only then is the file published. A broken connection
    /// or an ABOR drops the upload, which removes the temporary file.
    fn receive(&mut self, upload: NewUpload, ascii: bool) -> Result<(), Ended> {
        let mut upload = upload.prepare().map_err(|err| Ended::Local(failure(err)))?;
        let mut buf = vec![0u8; BUFFER];
        let mut out = Vec::new();
        let mut decoder = Decoder::new();
        loop {
            self.stopped()?;
            let n = match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(Ended::Data),
            };
            self.count(n);
            let bytes = if ascii {
                out.clear();
                decoder.decode(&buf[..n], &mut out);
                &out[..]
            } else {
                &buf[..n]
            };
            upload.file().write_all(bytes).map_err(local)?;
        }
        self.stopped()?;
        if ascii {
            out.clear();
            decoder.finish(&mut out);
            upload.file().write_all(&out).map_err(local)?;
        }
        upload
            .commit()
            .map(drop)
            .map_err(|err| Ended::Local(failure(err)))
    }
}

fn read_file(file: &mut File, buf: &mut [u8]) -> Result<usize, Ended> {
    loop {
        match file.read(buf) {
            Ok(n) => return Ok(n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Ended::Local(Failure::Io)),
        }
    }
}

fn local(err: io::Error) -> Ended {
    Ended::Local(failure(StorageError::from(err)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A mover writing to one end of a loopback connection, and the other end.
    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sender = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (receiver, _) = listener.accept().unwrap();
        (sender, receiver)
    }

    fn file_with(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        io::Seek::rewind(&mut file).unwrap();
        file
    }

    fn mover<'a>(stream: TcpStream, stop: &'a AtomicBool, moved: &'a AtomicU64) -> Mover<'a> {
        Mover {
            stream,
            stop,
            moved,
            total: 0,
        }
    }

    fn send(bytes: &[u8], how: fn(&mut Mover<'_>, File) -> Result<(), Ended>) -> (Vec<u8>, u64) {
        let (sender, mut receiver) = pair();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            receiver.read_to_end(&mut got).unwrap();
            got
        });
        let stop = AtomicBool::new(false);
        let moved = AtomicU64::new(0);
        let mut mover = mover(sender, &stop, &moved);
        assert!(how(&mut mover, file_with(bytes)).is_ok());
        let total = mover.total;
        assert_eq!(moved.load(Ordering::Relaxed), total);
        drop(mover);
        (reader.join().unwrap(), total)
    }

    fn content() -> Vec<u8> {
        (0..700_000u32).map(|i| (i % 253) as u8).collect()
    }

    #[test]
    fn sendfile_and_the_buffered_fallback_send_the_same_bytes() {
        let data = content();
        let (by_sendfile, n) = send(&data, |m, f| m.send_file(f));
        assert!(by_sendfile == data);
        assert_eq!(n, data.len() as u64);
        let (by_copy, n) = send(&data, |m, mut f| m.copy_from(&mut f));
        assert!(by_copy == data);
        assert_eq!(n, data.len() as u64);
    }

    #[test]
    fn type_a_sends_cr_lf_and_counts_wire_bytes() {
        let (wire, n) = send(b"one\ntwo\r\nthree\n", |m, f| m.send_ascii(f));
        assert_eq!(wire, b"one\r\ntwo\r\nthree\r\n");
        assert_eq!(n, wire.len() as u64);
    }

    #[test]
    fn a_stopped_transfer_sends_nothing() {
        let (sender, _receiver) = pair();
        let stop = AtomicBool::new(true);
        let moved = AtomicU64::new(0);
        let mut mover = mover(sender, &stop, &moved);
        assert!(matches!(
            mover.send_file(file_with(b"data")),
            Err(Ended::Data)
        ));
        assert_eq!(mover.total, 0);
    }
}
