//! The FTP server in the loop. (Being written: only binds so far.)

use std::net::SocketAddr;
use std::sync::Arc;

use ferry_service::ftp::ServerConfig;
use ferry_service::ServerError;
use ferry_time::Instant;
use mio::{Registry, Waker};

use crate::reactor::{Cx, Service};

pub(crate) struct Ftp {
    local_addr: SocketAddr,
}

impl Ftp {
    pub(crate) fn bind(
        config: ServerConfig,
        _registry: &Registry,
        _waker: &Arc<Waker>,
    ) -> Result<Ftp, ServerError> {
        Ok(Ftp {
            local_addr: config.bind,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Service for Ftp {
    fn ready(&mut self, _cx: &mut Cx<'_>, _index: usize, _event: &mio::event::Event) {}
    fn timer(&mut self, _cx: &mut Cx<'_>, _index: usize, _at: Instant) {}
    fn shutdown(&mut self, _cx: &mut Cx<'_>) {}
    fn is_idle(&self) -> bool {
        true
    }
}
