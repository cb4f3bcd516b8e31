//! `ferry serve`: FTP and TFTP over one directory, together, under either
//! driver. Both drivers take the same two configurations, built once here.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ferry_service::{ftp, tftp, ServerError};
use ferry_tls::{ServerTls, TlsError};
use ferry_users::Users;

use crate::cli::{Driver, ServeArgs};
use crate::privilege::Account;
use crate::Failure;

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    if args.no_ftp && args.no_tftp {
        return Err(Failure::Usage(
            "nothing to serve: both --no-ftp and --no-tftp were given".to_owned(),
        ));
    }
    let bucket = match args.root.to_str().filter(|root| root.starts_with("s3://")) {
        Some(root) => Some(s3_root(root, &args)?),
        None => None,
    };
    let ftp = if args.no_ftp {
        None
    } else {
        Some(ftp_config(&args)?)
    };
    let tftp = if args.no_tftp {
        None
    } else {
        let mut config = tftp_config(&args)?;
        config.bucket = bucket;
        Some(config)
    };
    let account = args.user.as_deref().map(Account::lookup).transpose()?;
    // After every listener is bound, before any client is served.
    let switch_user = move || match account {
        Some(account) => account.become_it(&args.root, args.write),
        None => Ok(()),
    };
    // Printed before the listeners, so whoever waits for `listening` has
    // the fingerprint to compare clients' warnings against.
    if let Some(tls) = ftp.as_ref().and_then(|config| config.tls.as_ref()) {
        eprintln!("ferry: tls certificate sha256 {}", tls.fingerprint());
    }
    match args.driver {
        Driver::Mio => run_mio(ftp, tftp, switch_user)?,
        Driver::Blocking => run_blocking(ftp, tftp, switch_user)?,
    }
    tracing::info!("servers stopped");
    Ok(())
}

/// An `s3://` root: the bucket, checked (endpoint, bucket, keys) before
/// anything is bound. Only TFTP under the blocking driver serves one yet;
/// anything else is refused with the reason rather than served from
/// somewhere else.
fn s3_root(root: &str, args: &ServeArgs) -> Result<ferry_s3::Bucket, Failure> {
    let usage = |err: ferry_s3::S3Error| Failure::Usage(format!("--root {root}: {err}"));
    let location = ferry_s3::Location::parse(root)
        .expect("an s3:// root")
        .map_err(usage)?;
    let config = ferry_s3::S3Config::from_env(args.s3_endpoint.as_deref()).map_err(usage)?;
    let bucket = ferry_s3::Bucket::connect(&config, &location).map_err(usage)?;
    let limitation = if !args.no_ftp {
        Some("FTP cannot serve an S3 bucket yet (use --no-ftp)")
    } else if args.driver != Driver::Blocking {
        Some("only --driver blocking serves an S3 bucket yet")
    } else {
        None
    };
    match limitation {
        Some(limitation) => Err(Failure::Usage(format!("--root {root}: {limitation}"))),
        None => Ok(bucket),
    }
}

/// Both servers on one event loop, on this thread.
fn run_mio(
    ftp: Option<ftp::ServerConfig>,
    tftp: Option<tftp::ServerConfig>,
    switch_user: impl FnOnce() -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut server = ferry_mio::Server::bind(ftp, tftp).map_err(bind_failure(""))?;
    switch_user()?;
    announce(server.ftp_addr(), server.ftps_addr(), server.tftp_addr());
    let handle = server.shutdown_handle();
    on_signal(move || handle.shutdown());
    server
        .run()
        .map_err(|err| Failure::Failed(format!("server: {err}")))
}

/// A thread per session or transfer: FTP's accept loop on this thread,
/// TFTP's on another.
fn run_blocking(
    ftp: Option<ftp::ServerConfig>,
    tftp: Option<tftp::ServerConfig>,
    switch_user: impl FnOnce() -> Result<(), Failure>,
) -> Result<(), Failure> {
    use ferry_blocking::{ftp::server::Server as FtpServer, tftp::Server as TftpServer};

    // Bind everything before serving anything, so a bad address fails the
    // whole command and every `listening` line means the server is up.
    let ftp = ftp
        .map(FtpServer::bind)
        .transpose()
        .map_err(bind_failure("ftp: "))?;
    let tftp = tftp
        .map(TftpServer::bind)
        .transpose()
        .map_err(bind_failure("tftp: "))?;
    switch_user()?;
    announce(
        ftp.as_ref().map(FtpServer::local_addr),
        ftp.as_ref().and_then(FtpServer::ftps_addr),
        tftp.as_ref().map(TftpServer::local_addr),
    );

    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    on_signal(move || flag.store(true, Ordering::Relaxed));

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
    Ok(())
}

fn bind_failure(what: &'static str) -> impl Fn(ServerError) -> Failure {
    move |err| Failure::Failed(format!("{what}{err}"))
}

/// One line per listener, once it is bound (scripts and tests wait for it).
fn announce(ftp: Option<SocketAddr>, ftps: Option<SocketAddr>, tftp: Option<SocketAddr>) {
    if let Some(addr) = ftp {
        eprintln!("ferry: ftp listening on {addr}");
    }
    if let Some(addr) = ftps {
        eprintln!("ferry: ftps listening on {addr}");
    }
    if let Some(addr) = tftp {
        eprintln!("ferry: tftp listening on {addr}");
    }
}

/// SIGINT and SIGTERM call `stop` (a graceful shutdown).
fn on_signal(stop: impl FnMut() + Send + 'static) {
    if let Err(err) = ctrlc::set_handler(stop) {
        tracing::warn!(error = %err, "cannot install the SIGINT/SIGTERM handler");
    }
}

fn ftp_config(args: &ServeArgs) -> Result<ftp::ServerConfig, Failure> {
    let mut config = ftp::ServerConfig::new(&args.root, args.ftp);
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
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(load_tls(cert, key, args.tls_require_reuse)?);
        config.ftps_bind = args.ftps;
        config.require_tls = args.require_tls;
    }
    Ok(config)
}

/// The FTPS certificate and key; a file that cannot be used is a usage
/// error that names it.
fn load_tls(cert: &Path, key: &Path, require_reuse: bool) -> Result<ServerTls, Failure> {
    ServerTls::from_pem_files(cert, key, require_reuse).map_err(|err| {
        let flag = match &err {
            // An error about one file: say which flag named it.
            TlsError::Read { path, .. } if path == key => "--tls-key",
            TlsError::NoKey(_) => "--tls-key",
            TlsError::Read { .. } | TlsError::NoCertificate(_) => "--tls-cert",
            // A key that does not match the certificate, or one rustls
            // cannot use: the pair is at fault.
            _ => {
                return Failure::Usage(format!(
                    "cannot use --tls-cert {} with --tls-key {}: {err}",
                    cert.display(),
                    key.display()
                ))
            }
        };
        Failure::Usage(format!("cannot load {flag} {err}"))
    })
}

fn tftp_config(args: &ServeArgs) -> Result<tftp::ServerConfig, Failure> {
    let mut config = tftp::ServerConfig::new(&args.root, args.tftp);
    config.policy.allow_write = args.write;
    if let Some(max) = args.max_sessions {
        config.max_transfers = max as usize;
    }
    config.single_port = args.tftp_single_port;
    config.transfer_ports = args.tftp_port_range.clone();
    if let Some(path) = &args.tftp_map {
        config.remap = Some(Arc::new(load_map(path)?));
    }
    Ok(config)
}

/// The `--tftp-map` rules; a file that cannot be read or parsed is a usage
/// error that names the file and the line.
fn load_map(path: &Path) -> Result<tftp::RemapRules, Failure> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        Failure::Usage(format!("cannot read --tftp-map {}: {err}", path.display()))
    })?;
    let rules = tftp::RemapRules::parse(&text)
        .map_err(|err| Failure::Usage(format!("{}:{err}", path.display())))?;
    tracing::debug!(file = %path.display(), rules = rules.len(), "tftp map loaded");
    Ok(rules)
}
