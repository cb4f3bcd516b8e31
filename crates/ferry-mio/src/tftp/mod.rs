//! The TFTP server in the loop. (Being written: only binds so far.)

use std::net::SocketAddr;

use ferry_service::tftp::ServerConfig;
use ferry_service::ServerError;
use ferry_time::Instant;
use mio::Registry;

use crate::reactor::{Cx, Service};

pub(crate) struct Tftp {
    local_addr: SocketAddr,
}

impl Tftp {
    pub(crate) fn bind(
        config: ServerConfig,
        _registry: &Registry,
    ) -> Result<Tftp, ServerError> {
        Ok(Tftp {
            local_addr: config.bind,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Service for Tftp {
    fn ready(&mut self, _cx: &mut Cx<'_>, _index: usize, _event: &mio::event::Event) {}
    fn timer(&mut self, _cx: &mut Cx<'_>, _index: usize, _at: Instant) {}
    fn shutdown(&mut self, _cx: &mut Cx<'_>) {}
    fn is_idle(&self) -> bool {
        true
    }
}
