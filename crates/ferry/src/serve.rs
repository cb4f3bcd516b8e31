//! `ferry serve`: FTP and TFTP over one directory, together.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ferry_blocking::{ftp, tftp};
use ferry_users::Users;

use crate::cli::{Driver, ServeArgs};
use crate::Failure;

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    if args.driver == Some(Driver::Mio) {
        return Err(Failure::Usage(
            "the mio driver is not available yet; use --driver blocking".to_owned(),
        ));
    }
    if args.no_ftp && args.no_tftp {
        return Err(Failure::Usage(
            "nothing to serve: both --no-ftp and --no-tftp were given".to_owned(),
        ));
    }

    // Bind everything before serving anything, so a bad address fails the
    // whole command and every `listening` line means the server is up.
    let ftp = if args.no_ftp {
        None
    } else {
        let server = ftp::server::Server::bind(ftp_config(&args)?)
            .map_err(|err| Failure::Failed(format!("ftp: {err}")))?;
        Some(server)
    };
    let tftp = if args.no_tftp {
        None
    } else {
        let mut config = tftp::ServerConfig::new(&args.root, args.tftp);
        config.policy = tftp::ServerPolicy {
            allow_write: args.write,
            ..tftp::ServerPolicy::default()
        };
        if let Some(max) = args.max_sessions {
            config.max_transfers = max as usize;
        }
        let server =
            tftp::Server::bind(config).map_err(|err| Failure::Failed(format!("tftp: {err}")))?;
        Some(server)
    };
    if let Some(server) = &ftp {
        eprintln!("ferry: ftp listening on {}", server.local_addr());
    }
    if let Some(server) = &tftp {
        eprintln!("ferry: tftp listening on {}", server.local_addr());
    }

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(err) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        tracing::warn!(error = %err, "cannot install the SIGINT/SIGTERM handler");
    }

    // Whichever server ends first (a signal, or a failure) stops the other.
    let tftp_thread = tftp.map(|server| {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let result = server.run_until(&stop);
            stop.store(true, Ordering::Relaxed);
            result
        })
    });
    let ftp_result = ftp.map(|server| {
        let result = server.run_until(&stop);
        stop.store(true, Ordering::Relaxed);
        result
    });
    let tftp_result = tftp_thread.map(|thread| {
        thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("tftp server thread panicked")))
    });
    if let Some(Err(err)) = ftp_result {
        return Err(Failure::Failed(format!("ftp server: {err}")));
    }
    if let Some(Err(err)) = tftp_result {
        return Err(Failure::Failed(format!("tftp server: {err}")));
    }
    tracing::info!("servers stopped");
    Ok(())
}

fn ftp_config(args: &ServeArgs) -> Result<ftp::server::ServerConfig, Failure> {
    let mut config = ftp::server::ServerConfig::new(&args.root, args.ftp);
    config.write = args.write;
    if let Some(path) = &args.users {
        let users = Users::load(path).map_err(|err| Failure::Usage(err.to_string()))?;
        config.users = Some(Arc::new(users));
        // A users file means named accounts; anonymous only when asked for.
        config.anonymous = args.anonymous;
    }
    config.passive_ports = args.passive_ports.clone();
    if let Some(max) = args.max_sessions {
        config.max_sessions = max as usize;
    }
    if let Some(secs) = args.idle_timeout {
        config.session.idle_timeout = Duration::from_secs(secs);
    }
    Ok(config)
}
