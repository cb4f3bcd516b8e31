//! How many FTP sessions one client address may hold at once (vsftpd's
//! `max_per_ip`), counted the same way by both drivers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use ftp_proto::server::{TOO_MANY_FROM_ADDRESS, TOO_MANY_SESSIONS};

use super::SessionLog;

/// Sessions open per client address, against the server's limits.
#[derive(Debug)]
pub struct SessionLimits {
    max_sessions: usize,
    max_per_ip: Option<usize>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// A session's place in its address's count, given back when dropped.
#[derive(Debug)]
pub struct SessionSlot {
    limits: Arc<SessionLimits>,
    ip: IpAddr,
}

impl SessionLimits {
    /// At most `max_sessions` in all and `max_per_ip` from one address.
    pub fn new(max_sessions: usize, max_per_ip: Option<usize>) -> Arc<SessionLimits> {
        Arc::new(SessionLimits {
            max_sessions,
            max_per_ip: max_per_ip.map(|max| max.max(1)),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Lets a connection from `peer` in while `running` sessions are
    /// open, or gives the reply to send before closing it (logged here).
    pub fn admit(
        self: &Arc<Self>,
        running: usize,
        peer: std::net::SocketAddr,
    ) -> Result<SessionSlot, &'static [u8]> {
        if running >= self.max_sessions {
            SessionLog::refused(peer);
            return Err(TOO_MANY_SESSIONS);
        }
        // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
        let ip = peer.ip().to_canonical();
        let mut open = self.open();
        let count = open.entry(ip).or_insert(0);
        if self.max_per_ip.is_some_and(|max| *count >= max) {
            SessionLog::refused_per_ip(peer);
            return Err(TOO_MANY_FROM_ADDRESS);
        }
        *count += 1;
        Ok(SessionSlot {
            limits: Arc::clone(self),
            ip,
        })
    }

    fn open(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        // The counts stay consistent even if a holder panicked.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: &str, port: u16) -> std::net::SocketAddr {
        std::net::SocketAddr::new(ip.parse().unwrap(), port)
    }

    #[test]
    fn one_address_is_capped_and_its_slots_come_back() {
        let limits = SessionLimits::new(10, Some(2));
        let a = limits.admit(0, peer("10.0.0.1", 1)).unwrap();
        let _b = limits.admit(1, peer("10.0.0.1", 2)).unwrap();
        // IPv4-mapped is the same client.
        assert_eq!(
            limits.admit(2, peer("::ffff:10.0.0.1", 3)).unwrap_err(),
            TOO_MANY_FROM_ADDRESS
        );
        let _other = limits.admit(2, peer("10.0.0.2", 1)).unwrap();
        drop(a);
        let _c = limits.admit(2, peer("10.0.0.1", 4)).unwrap();
        assert_eq!(
            limits.admit(10, peer("10.0.0.3", 1)).unwrap_err(),
            TOO_MANY_SESSIONS
        );
    }

    #[test]
    fn no_per_address_limit_by_default() {
        let limits = SessionLimits::new(100, None);
        let slots: Vec<_> = (0..50)
            .map(|port| limits.admit(port, peer("127.0.0.1", port as u16)).unwrap())
            .collect();
        assert_eq!(slots.len(), 50);
        drop(slots);
        assert!(limits.open().is_empty());
    }
}
