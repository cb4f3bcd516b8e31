//! `ferry serve`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ferry_blocking::tftp::{Server, ServerConfig, ServerPolicy};

use crate::cli::{Driver, ServeArgs};
use crate::Failure;

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    if args.driver == Some(Driver::Mio) {
        return Err(Failure::Usage(
            "the mio driver is not available yet; use --driver blocking".to_owned(),
        ));
    }
    if args.no_tftp {
        return Err(Failure::Usage(
            "nothing to serve: the FTP server is not available yet and --no-tftp was given"
                .to_owned(),
        ));
    }

    let mut config = ServerConfig::new(&args.root, args.tftp);
    config.policy = ServerPolicy {
        allow_write: args.write,
        ..ServerPolicy::default()
    };
    if let Some(max) = args.max_sessions {
        config.max_transfers = max as usize;
    }
    let server = Server::bind(config).map_err(|err| Failure::Failed(err.to_string()))?;
    eprintln!("ferry: tftp listening on {}", server.local_addr());
    if !args.no_ftp {
        eprintln!(
            "ferry: ftp is not available yet; serving tftp only (--ftp, --users, --anonymous, \
             --passive-ports and --idle-timeout have no effect)"
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(err) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        tracing::warn!(error = %err, "cannot install the SIGINT/SIGTERM handler");
    }
    server
        .run_until(&stop)
        .map_err(|err| Failure::Failed(format!("tftp server: {err}")))?;
    tracing::info!("tftp server stopped");
    Ok(())
}
