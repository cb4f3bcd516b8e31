//! `ferry serve`: FTP and TFTP over one directory, together, under either
//! driver. Both drivers take the same two configurations, built once here.

use ferry_service::pace::RateLimits;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ferry_service::{ftp, tftp, Inherited, Reloadable, ServerError};
use ferry_tls::{ServerTls, TlsError};
use ferry_users::Users;

use crate::activation::Activated;
use crate::cli::{Driver, ServeArgs};
use crate::privilege::Account;
use crate::Failure;

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    if args.no_ftp && args.no_tftp {
        return Err(Failure::Usage(
            "nothing to serve: both --no-ftp and --no-tftp were given".to_owned(),
        ));
    }
    let activated = Activated::from_env()?;
    if (args.no_ftp && (activated.ftp.is_some() || activated.ftps.is_some()))
        || (args.no_tftp && activated.tftp.is_some())
    {
        return Err(Failure::Usage(
            "socket activation passed a socket for a server turned off (--no-ftp, --no-tftp)"
                .to_owned(),
        ));
    }
    let bucket = match args.root.to_str().filter(|root| root.starts_with("s3://")) {
        Some(root) => Some(s3_root(root, &args)?),
        None => None,
    };
    let ftp = if args.no_ftp {
        None
    } else {
        let mut config = ftp_config(&args)?;
        inherit_ftp(&mut config, activated.ftp, activated.ftps)?;
        config.bucket = bucket.clone();
        Some(config)
    };
    let tftp = if args.no_tftp {
        None
    } else {
        let mut config = tftp_config(&args)?;
        config.inherited = activated.tftp.map(Inherited::new);
        config.bucket = bucket;
        Some(config)
    };
    let reload = Reload::new(&args, ftp.as_ref());
    let metrics = args.metrics.map(crate::metrics::serve).transpose()?;
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
        Driver::Mio => run_mio(ftp, tftp, switch_user, reload, metrics)?,
        Driver::Blocking => run_blocking(ftp, tftp, switch_user, reload, metrics)?,
    }
    tracing::info!("servers stopped");
    Ok(())
}

/// An `s3://` root: the bucket, checked (endpoint, bucket, keys) before
/// anything is bound.
fn s3_root(root: &str, args: &ServeArgs) -> Result<ferry_s3::Bucket, Failure> {
    let usage = |err: ferry_s3::S3Error| Failure::Usage(format!("--root {root}: {err}"));
    let location = ferry_s3::Location::parse(root)
        .expect("an s3:// root")
        .map_err(usage)?;
    let config = ferry_s3::S3Config::from_env(args.s3_endpoint.as_deref()).map_err(usage)?;
    let bucket = ferry_s3::Bucket::connect(&config, &location).map_err(usage)?;
    Ok(bucket)
}

/// Both servers on one event loop, on this thread. TFTP on a bucket is
/// the exception: the loop's TFTP server reads and writes files in the
/// loop, which an object store's round trips must never hold up, so that
/// one runs as the blocking driver's TFTP server (a thread per transfer)
/// beside the loop, stopped with it.
fn run_mio(
    ftp: Option<ftp::ServerConfig>,
    tftp: Option<tftp::ServerConfig>,
    switch_user: impl FnOnce() -> Result<(), Failure>,
    reload: Reload,
    metrics: Option<SocketAddr>,
) -> Result<(), Failure> {
    use ferry_blocking::tftp::Server as TftpServer;

    let (tftp, beside) = match tftp {
        Some(config) if config.bucket.is_some() => (None, Some(config)),
        tftp => (tftp, None),
    };
    let beside = beside
        .map(TftpServer::bind)
        .transpose()
        .map_err(bind_failure("tftp: "))?;
    let mut server = ferry_mio::Server::bind(ftp, tftp).map_err(bind_failure(""))?;
    switch_user()?;
    // Before the listening lines: a signal right after them is handled.
    let handle = server.shutdown_handle();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    on_signals(
        move || {
            flag.store(true, Ordering::Relaxed);
            handle.shutdown();
        },
        reload,
    );
    announce(
        server.ftp_addr(),
        server.ftps_addr(),
        server
            .tftp_addr()
            .or(beside.as_ref().map(TftpServer::local_addr)),
        metrics,
    );
    // Whichever ends first (a signal, or a failure) stops the other.
    let beside = beside.map(|tftp| {
        let (stop, handle) = (Arc::clone(&stop), server.shutdown_handle());
        thread::spawn(move || {
            let result = tftp.run_until(&stop);
            handle.shutdown();
            result
        })
    });
    let result = server
        .run()
        .map_err(|err| Failure::Failed(format!("server: {err}")));
    stop.store(true, Ordering::Relaxed);
    if let Some(thread) = beside {
        let ended = thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("tftp server thread panicked")));
        if let Err(err) = ended {
            result?;
            return Err(Failure::Failed(format!("tftp server: {err}")));
        }
    }
    result
}

/// A thread per session or transfer: FTP's accept loop on this thread,
/// TFTP's on another.
fn run_blocking(
    ftp: Option<ftp::ServerConfig>,
    tftp: Option<tftp::ServerConfig>,
    switch_user: impl FnOnce() -> Result<(), Failure>,
    reload: Reload,
    metrics: Option<SocketAddr>,
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
    // Before the listening lines: a signal right after them is handled.
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    on_signals(move || flag.store(true, Ordering::Relaxed), reload);
    announce(
        ftp.as_ref().map(FtpServer::local_addr),
        ftp.as_ref().and_then(FtpServer::ftps_addr),
        tftp.as_ref().map(TftpServer::local_addr),
        metrics,
    );

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
fn announce(
    ftp: Option<SocketAddr>,
    ftps: Option<SocketAddr>,
    tftp: Option<SocketAddr>,
    metrics: Option<SocketAddr>,
) {
    if let Some(addr) = ftp {
        eprintln!("ferry: ftp listening on {addr}");
    }
    if let Some(addr) = ftps {
        eprintln!("ferry: ftps listening on {addr}");
    }
    if let Some(addr) = tftp {
        eprintln!("ferry: tftp listening on {addr}");
    }
    if let Some(addr) = metrics {
        eprintln!("ferry: metrics listening on http://{addr}/metrics");
    }
}

/// SIGINT and SIGTERM call `stop` (a graceful shutdown); SIGHUP rereads
/// the users file and the certificate, on a thread of its own.
fn on_signals(mut stop: impl FnMut() + Send + 'static, reload: Reload) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    let mut signals = match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(err) => {
            tracing::warn!(error = %err, "cannot install the SIGINT/SIGTERM/SIGHUP handler");
            return;
        }
    };
    let spawned = thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal == SIGHUP {
                    reload.run();
                } else {
                    stop();
                }
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "cannot start the signal thread");
    }
}

/// What SIGHUP rereads: the users file and the FTPS certificate and key,
/// each replaced only when the new one loads, so a bad edit keeps the
/// server as it was (and says why). Sessions stay: a login after the
/// reload checks the new users, a TLS handshake after it gets the new
/// certificate.
struct Reload {
    users: Option<(std::path::PathBuf, Reloadable<Users>)>,
    tls: Option<TlsFiles>,
}

struct TlsFiles {
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    require_reuse: bool,
    serving: ServerTls,
}

impl Reload {
    fn new(args: &ServeArgs, ftp: Option<&ftp::ServerConfig>) -> Reload {
        let users = ftp
            .and_then(|config| config.users.clone())
            .zip(args.users.clone())
            .map(|(users, path)| (path, users));
        let tls = ftp
            .and_then(|config| config.tls.clone())
            .zip(args.tls_cert.clone().zip(args.tls_key.clone()))
            .map(|(serving, (cert, key))| TlsFiles {
                cert,
                key,
                require_reuse: args.tls_require_reuse,
                serving,
            });
        Reload { users, tls }
    }

    fn run(&self) {
        if self.users.is_none() && self.tls.is_none() {
            tracing::info!("SIGHUP: nothing to reload (no --users, no --tls-cert)");
        }
        if let Some((path, users)) = &self.users {
            match Users::load(path) {
                Ok(new) => {
                    let count = new.len();
                    users.replace(new);
                    tracing::info!(file = %path.display(), users = count, "users file reloaded");
                }
                Err(err) => tracing::warn!(
                    file = %path.display(),
                    error = %err,
                    "users file not reloaded, the old one stays"
                ),
            }
        }
        if let Some(files) = &self.tls {
            match load_tls(&files.cert, &files.key, files.require_reuse) {
                Ok(new) => {
                    files.serving.replace_certificate(&new);
                    tracing::info!(
                        file = %files.cert.display(),
                        sha256 = %new.fingerprint(),
                        "tls certificate reloaded"
                    );
                }
                Err(Failure::Usage(err) | Failure::Failed(err)) => tracing::warn!(
                    file = %files.cert.display(),
                    error = %err,
                    "tls certificate not reloaded, the old one stays"
                ),
                // Loading a certificate writes nothing to standard output.
                Err(Failure::ClosedOutput) => {}
            }
        }
    }
}

/// Serves on the listeners socket activation passed, if any. An inherited
/// implicit-FTPS listener needs a certificate, as `--ftps` does.
fn inherit_ftp(
    config: &mut ftp::ServerConfig,
    plain: Option<std::net::TcpListener>,
    implicit: Option<std::net::TcpListener>,
) -> Result<(), Failure> {
    config.inherited = plain.map(Inherited::new);
    if let Some(listener) = implicit {
        if config.tls.is_none() {
            return Err(Failure::Usage(
                "socket activation passed an FTPS listener, which needs --tls-cert".to_owned(),
            ));
        }
        if config.ftps_bind.is_none() {
            let addr = listener
                .local_addr()
                .map_err(|err| Failure::Failed(format!("inherited ftps listener: {err}")))?;
            config.ftps_bind = Some(addr);
        }
        config.ftps_inherited = Some(Inherited::new(listener));
    }
    Ok(())
}

fn ftp_config(args: &ServeArgs) -> Result<ftp::ServerConfig, Failure> {
    let mut config = ftp::ServerConfig::new(&args.root, args.ftp);
    config.write = args.write;
    if let Some(path) = &args.users {
        let users = Users::load(path).map_err(|err| Failure::Usage(err.to_string()))?;
        config.users = Some(Reloadable::new(users));
        // A users file means named accounts; anonymous only when asked for.
        config.anonymous = args.anonymous;
    }
    config.passive_ports = args.passive_ports.clone();
    if let Some(max) = args.max_sessions {
        config.max_sessions = max as usize;
    }
    config.max_per_ip = args.max_per_ip.map(|max| max as usize);
    config.rate_limits = rate_limits(args);
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

fn rate_limits(args: &ServeArgs) -> RateLimits {
    RateLimits {
        all: args.rate_limit,
        anonymous: args.anon_rate_limit,
    }
}

fn tftp_config(args: &ServeArgs) -> Result<tftp::ServerConfig, Failure> {
    let mut config = tftp::ServerConfig::new(&args.root, args.tftp);
    config.policy.allow_write = args.write;
    if let Some(max) = args.max_sessions {
        config.max_transfers = max as usize;
    }
    config.max_per_ip = args.max_per_ip.map(|max| max as usize);
    // TFTP has no login: every client is anonymous.
    config.rate_limit = rate_limits(args).for_client(true);
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
