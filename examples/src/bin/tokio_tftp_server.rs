//! A read-only TFTP server on tokio, built on `tftp-proto` alone.
//!
//! ```text
//! tokio-tftp-server [ROOT] [ADDR]      (defaults: . and 127.0.0.1:6969)
//! ```
//!
//! The request socket hands each read request to a task of its own, with
//! a fresh UDP socket: that socket's port is the transfer's ID (RFC 1350
//! §4). Every task runs the drive rule: after each input, drain events
//! and transmits until both are empty, then sleep until the next datagram
//! or `poll_timeout`.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use tftp_proto::transfer::{
    accept_request, Event, LocalError, RequestKind, ServerPolicy, Transfer,
};
use tftp_proto::Instant;
use tokio::fs::File;
use tokio::io::AsyncReadExt;
use tokio::net::UdpSocket;

/// The machines take time as a value: microseconds since the server began.
#[derive(Clone, Copy)]
struct Clock(tokio::time::Instant);

impl Clock {
    fn now(self) -> Instant {
        Instant::from_micros(self.0.elapsed().as_micros() as u64)
    }

    fn to_tokio(self, at: Instant) -> tokio::time::Instant {
        self.0 + std::time::Duration::from_micros(at.as_micros())
    }
}

/// Peers whose transfer runs: a repeated request from one of them is a
/// retransmission, not a second transfer.
type Running = Arc<Mutex<HashSet<SocketAddr>>>;

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let root = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:6969".into())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let root = root.canonicalize()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve(root, addr))
}

async fn serve(root: PathBuf, addr: SocketAddr) -> io::Result<()> {
    let requests = UdpSocket::bind(addr).await?;
    eprintln!("tokio-tftp-server: listening on {}", requests.local_addr()?);
    let clock = Clock(tokio::time::Instant::now());
    let policy = Arc::new(ServerPolicy::default());
    let running = Running::default();
    let mut buf = vec![0; 65536];
    loop {
        let (len, peer) = requests.recv_from(&mut buf).await?;
        let now = clock.now();
        let transfer = match accept_request(&policy, peer, &buf[..len], now) {
            // The running task answers a repeat itself.
            Ok(_) if running.lock().unwrap().contains(&peer) => continue,
            Ok(accepted) => {
                let request = accepted.request;
                match open(&root, accepted.kind, request.filename).await {
                    Ok((file, size)) => {
                        let t = Transfer::server_read(&policy, peer, &request, Some(size), now);
                        (t, Some(file))
                    }
                    Err((error, message)) => {
                        (Transfer::server_refuse(peer, error, message, now), None)
                    }
                }
            }
            Err(Some(refusal)) => (*refusal, None),
            Err(None) => continue, // not a request: ignore it
        };
        // A new socket, a new transfer ID, on the request socket's address.
        let socket = UdpSocket::bind(SocketAddr::new(addr.ip(), 0)).await?;
        running.lock().unwrap().insert(peer);
        let running = Arc::clone(&running);
        tokio::spawn(async move {
            let (transfer, file) = transfer;
            if let Err(e) = drive(clock, socket, transfer, file).await {
                eprintln!("tokio-tftp-server: {peer}: {e}");
            }
            running.lock().unwrap().remove(&peer);
        });
    }
}

/// Opens `name` under `root` for reading, or says which TFTP error refuses it.
async fn open(
    root: &Path,
    kind: RequestKind,
    name: &str,
) -> Result<(File, u64), (LocalError, &'static str)> {
    if kind == RequestKind::Write {
        return Err((LocalError::PermissionDenied, "This server is read-only"));
    }
    let denied = (LocalError::PermissionDenied, "Access violation");
    let mut path = root.to_path_buf();
    for part in Path::new(name.trim_start_matches('/')).components() {
        match part {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            _ => return Err(denied),
        }
    }
    let not_found = (LocalError::NotFound, "File not found");
    // A symbolic link may not lead outside the root.
    let real = path.canonicalize().map_err(|_| not_found)?;
    if !real.starts_with(root) {
        return Err(denied);
    }
    let file = File::open(&real).await.map_err(|_| not_found)?;
    let meta = file.metadata().await.map_err(|_| not_found)?;
    if !meta.is_file() {
        return Err(not_found);
    }
    Ok((file, meta.len()))
}

/// One transfer, to its end.
async fn drive(
    clock: Clock,
    socket: UdpSocket,
    mut transfer: Transfer,
    mut file: Option<File>,
) -> io::Result<()> {
    let mut buf = vec![0; 65536];
    let mut chunk = Vec::new();
    loop {
        // Drain events and transmits until both are empty: answering
        // NeedData may queue DATA, and sending may ask for more data.
        loop {
            let mut busy = false;
            while let Some(event) = transfer.poll_event() {
                busy = true;
                match event {
                    Event::NeedData { max_len } => {
                        chunk.resize(max_len, 0);
                        let read = match file.as_mut() {
                            Some(file) => read_full(file, &mut chunk).await,
                            None => Ok(0),
                        };
                        match read {
                            Ok(n) => transfer.provide_data(clock.now(), &chunk[..n]),
                            Err(_) => transfer.abort(clock.now(), LocalError::Other, "read error"),
                        }
                    }
                    Event::Finished(summary) => {
                        eprintln!("tokio-tftp-server: sent {} bytes", summary.bytes)
                    }
                    Event::Failed(error) => eprintln!("tokio-tftp-server: failed: {error}"),
                    _ => {}
                }
            }
            while let Some(transmit) = transfer.poll_transmit() {
                busy = true;
                socket.send_to(transmit.payload, transmit.to).await?;
            }
            if !busy {
                break;
            }
        }
        if transfer.is_closed() {
            return Ok(());
        }
        // Sleep until the next datagram or the machine's deadline.
        let received = match transfer.poll_timeout() {
            Some(at) => {
                tokio::time::timeout_at(clock.to_tokio(at), socket.recv_from(&mut buf)).await
            }
            None => Ok(socket.recv_from(&mut buf).await),
        };
        match received {
            Ok(Ok((len, from))) => transfer.handle_datagram(clock.now(), from, &buf[..len]),
            Ok(Err(e)) => return Err(e),
            Err(_elapsed) => transfer.handle_timeout(clock.now()),
        }
    }
}

/// Fills `buf` unless the file ends first: a short block ends the transfer.
async fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
