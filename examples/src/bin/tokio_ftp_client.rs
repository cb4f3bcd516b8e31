//! An FTP client on tokio, built on `ftp-proto` alone: login, binary
//! type, one passive RETR or STOR, QUIT.
//!
//! ```text
//! tokio-ftp-client ADDR USER PASSWORD get REMOTE LOCAL
//! tokio-ftp-client ADDR USER PASSWORD put LOCAL REMOTE
//! ```
//!
//! The drive rule: after each input, write what `transmit()` holds and
//! act on every event until neither has anything, then sleep until
//! control input arrives or `poll_timeout`.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use ftp_proto::client::{
    Client, ClientConfig, ClientError, Event, Op, Outcome, Transfer, TransferKind, TransferType,
};
use ftp_proto::Instant;
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// What the data connection does once the server starts the transfer.
enum Local {
    /// Download into this file (written under a temporary name first).
    Get(PathBuf),
    /// Upload this file.
    Put(PathBuf),
}

struct Driver {
    start: tokio::time::Instant,
    client: Client,
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    data: Option<TcpStream>,
}

impl Driver {
    fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as u64)
    }

    /// Runs `op` to its [`Event::Done`].
    async fn run(
        &mut self,
        op: Op,
        local: Option<&Local>,
    ) -> io::Result<Result<Outcome, ClientError>> {
        let now = self.now();
        self.client
            .start(now, op)
            .map_err(|_| io::Error::other("an operation is already running"))?;
        let mut buf = vec![0; 4096];
        loop {
            // Drain: write the commands, act on the events, until neither
            // has anything (an event's answer may queue a command).
            loop {
                let pending = self.client.transmit().len();
                if pending > 0 {
                    self.write.write_all(self.client.transmit()).await?;
                    self.client.transmitted(pending);
                }
                let Some(event) = self.client.poll_event() else {
                    if self.client.transmit().is_empty() {
                        break;
                    }
                    continue;
                };
                match event {
                    Event::Connect(addr) => match TcpStream::connect(addr).await {
                        Ok(stream) => {
                            self.data = Some(stream);
                            self.client.data_connected(self.now());
                        }
                        Err(_) => self.client.data_failed(self.now()),
                    },
                    Event::TransferStarted { .. } => {
                        let moved = match (self.data.take(), local) {
                            (Some(stream), Some(local)) => move_data(stream, local).await,
                            _ => Err(io::Error::other("no data connection")),
                        };
                        match moved {
                            Ok(bytes) => self.client.data_finished(self.now(), bytes),
                            Err(_) => self.client.data_failed(self.now()),
                        }
                    }
                    Event::CloseData => self.data = None,
                    // Passive only: there is never a listener to open, and
                    // no TLS is asked for.
                    Event::Listen | Event::Accept => self.client.data_failed(self.now()),
                    Event::Done(result) => return Ok(result),
                    Event::Disconnected(error) => return Ok(Err(error)),
                    _ => {}
                }
            }
            if self.client.is_closed() {
                return Ok(Err(ClientError::Closed { reply: None }));
            }
            // Sleep until control input or the machine's deadline.
            let deadline = self
                .client
                .poll_timeout()
                .map(|at| self.start + std::time::Duration::from_micros(at.as_micros()));
            let read = match deadline {
                Some(at) => tokio::time::timeout_at(at, self.read.read(&mut buf)).await,
                None => Ok(self.read.read(&mut buf).await),
            };
            let now = self.now();
            match read {
                Ok(Ok(0)) => self.client.handle_eof(now),
                Ok(Ok(n)) => {
                    self.client.handle_input(now, &buf[..n]);
                }
                Ok(Err(e)) => return Err(e),
                Err(_elapsed) => self.client.handle_timeout(now),
            }
        }
    }
}

/// Where a download is written until the server confirms it.
fn part_of(path: &std::path::Path) -> PathBuf {
    path.with_extension("part")
}

/// Moves the file over the data connection; returns the bytes moved.
async fn move_data(mut stream: TcpStream, local: &Local) -> io::Result<u64> {
    match local {
        Local::Get(path) => {
            // Under a temporary name until the server confirms (226).
            let mut file = File::create(part_of(path)).await?;
            let bytes = tokio::io::copy(&mut stream, &mut file).await?;
            file.sync_all().await?;
            Ok(bytes)
        }
        Local::Put(path) => {
            let mut file = File::open(path).await?;
            let bytes = tokio::io::copy(&mut file, &mut stream).await?;
            // Closing the data connection marks the file's end.
            stream.shutdown().await?;
            Ok(bytes)
        }
    }
}

async fn session(
    addr: SocketAddr,
    user: String,
    password: String,
    kind: TransferKind,
    remote: String,
    local: Local,
) -> io::Result<Result<u64, ClientError>> {
    let stream = TcpStream::connect(addr).await?;
    let (read, write) = stream.into_split();
    let start = tokio::time::Instant::now();
    let mut driver = Driver {
        client: Client::new(&ClientConfig::default(), addr, Instant::ZERO),
        start,
        read,
        write,
        data: None,
    };
    let login = Op::Login {
        user,
        password,
        account: None,
    };
    if let Err(e) = driver.run(login, None).await? {
        return Ok(Err(e));
    }
    if let Err(e) = driver.run(Op::SetType(TransferType::Binary), None).await? {
        return Ok(Err(e));
    }
    let transfer = Op::Transfer(Transfer::new(kind, Some(&remote)));
    let done = driver.run(transfer, Some(&local)).await?;
    // A download gets its name only once the server confirmed it.
    if let Local::Get(path) = &local {
        match done {
            Ok(Outcome::Transferred { .. }) => tokio::fs::rename(part_of(path), path).await?,
            _ => {
                let _ = tokio::fs::remove_file(part_of(path)).await;
            }
        }
    }
    let bytes = match done {
        Ok(Outcome::Transferred { bytes }) => bytes,
        Ok(other) => return Err(io::Error::other(format!("unexpected outcome {other:?}"))),
        Err(e) => return Ok(Err(e)),
    };
    // The file is complete; a failed QUIT changes nothing.
    let _ = driver.run(Op::Quit, None).await?;
    Ok(Ok(bytes))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, user, password, verb, a, b] = &args[..] else {
        eprintln!("usage: tokio-ftp-client ADDR USER PASSWORD get REMOTE LOCAL | put LOCAL REMOTE");
        return ExitCode::from(2);
    };
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        eprintln!("tokio-ftp-client: bad address {addr}");
        return ExitCode::from(2);
    };
    let (kind, remote, local) = match verb.as_str() {
        "get" => (TransferKind::Retrieve, a.clone(), Local::Get(b.into())),
        "put" => (TransferKind::Store, b.clone(), Local::Put(a.into())),
        _ => {
            eprintln!("tokio-ftp-client: {verb}: get or put");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = runtime.and_then(|rt| {
        rt.block_on(session(
            addr,
            user.clone(),
            password.clone(),
            kind,
            remote,
            local,
        ))
    });
    match result {
        Ok(Ok(bytes)) => {
            eprintln!("tokio-ftp-client: {verb} done, {bytes} bytes");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("tokio-ftp-client: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("tokio-ftp-client: {e}");
            ExitCode::from(1)
        }
    }
}
