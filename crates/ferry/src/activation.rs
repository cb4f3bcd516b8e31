//! Socket activation: listeners a service manager (systemd, or anything
//! speaking its `LISTEN_FDS` protocol) bound for us and passed as file
//! descriptors 3, 4, ...
//!
//! Each descriptor goes to one listener. A descriptor named (in
//! `LISTEN_FDNAMES`, from a socket unit's `FileDescriptorName=`) `ftp`,
//! `ftps` or `tftp` goes to that listener; the others by kind and order:
//! the first unnamed TCP listener is FTP's, the second the implicit-FTPS
//! one, the first unnamed UDP socket TFTP's. A listener without a
//! descriptor binds its address as usual.

use std::net::{TcpListener, UdpSocket};

use listenfd::ListenFd;

use crate::Failure;

/// The sockets handed to this process, by the listener they belong to.
#[derive(Debug, Default)]
pub struct Activated {
    pub ftp: Option<TcpListener>,
    pub ftps: Option<TcpListener>,
    pub tftp: Option<UdpSocket>,
}

impl Activated {
    /// Takes the passed sockets out of the environment (`LISTEN_PID` must
    /// name this process when set). Call before any thread starts: it
    /// clears `LISTEN_FDS` and `LISTEN_PID`.
    pub fn from_env() -> Result<Activated, Failure> {
        let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
        let names: Vec<&str> = names.split(':').collect();
        let mut fds = ListenFd::from_env();
        let mut activated = Activated::default();
        let mut unnamed = Vec::new();
        for index in 0..fds.len() {
            let fd = index + 3;
            match names.get(index).copied() {
                Some("ftp") => activated.set_tcp(&mut fds, index, Slot::Ftp)?,
                Some("ftps") => activated.set_tcp(&mut fds, index, Slot::Ftps)?,
                Some("tftp") => {
                    let socket = fds
                        .take_udp_socket(index)
                        .map_err(|err| bad_fd(fd, "tftp", err))?;
                    put(&mut activated.tftp, socket, fd, "tftp")?;
                }
                _ => unnamed.push(index),
            }
        }
        for index in unnamed {
            let fd = index + 3;
            if let Ok(Some(listener)) = fds.take_tcp_listener(index) {
                let slot = if activated.ftp.is_none() {
                    &mut activated.ftp
                } else {
                    &mut activated.ftps
                };
                put(slot, Some(listener), fd, "ftps")?;
            } else if let Ok(Some(socket)) = fds.take_udp_socket(index) {
                put(&mut activated.tftp, Some(socket), fd, "tftp")?;
            } else {
                return Err(Failure::Usage(format!(
                    "socket activation: fd {fd} is neither a TCP listener nor a UDP socket"
                )));
            }
        }
        if !activated.is_empty() {
            tracing::debug!(
                ftp = activated.ftp.is_some(),
                ftps = activated.ftps.is_some(),
                tftp = activated.tftp.is_some(),
                "listeners inherited from the service manager"
            );
        }
        Ok(activated)
    }

    fn is_empty(&self) -> bool {
        self.ftp.is_none() && self.ftps.is_none() && self.tftp.is_none()
    }

    fn set_tcp(&mut self, fds: &mut ListenFd, index: usize, slot: Slot) -> Result<(), Failure> {
        let (place, name) = match slot {
            Slot::Ftp => (&mut self.ftp, "ftp"),
            Slot::Ftps => (&mut self.ftps, "ftps"),
        };
        let listener = fds
            .take_tcp_listener(index)
            .map_err(|err| bad_fd(index + 3, name, err))?;
        put(place, listener, index + 3, name)
    }
}

enum Slot {
    Ftp,
    Ftps,
}

/// Fills a listener's place once; a second socket for it is an error.
fn put<S>(place: &mut Option<S>, socket: Option<S>, fd: usize, name: &str) -> Result<(), Failure> {
    if place.is_some() {
        return Err(Failure::Usage(format!(
            "socket activation: fd {fd} is one socket too many for {name}"
        )));
    }
    *place = socket;
    Ok(())
}

fn bad_fd(fd: usize, name: &str, err: std::io::Error) -> Failure {
    Failure::Usage(format!("socket activation: fd {fd} named {name}: {err}"))
}
