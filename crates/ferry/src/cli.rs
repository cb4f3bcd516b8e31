//! The command line, as `clap` sees it.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferry_service::pace::RateLimit;

/// FTP and TFTP client and server.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, propagate_version = true)]
pub struct Cli {
    /// More log output (repeat for more); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors in the log; RUST_LOG overrides.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log line format on stderr: text (key=value) or json (one object a
    /// line, with the same fields).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a directory over FTP and TFTP.
    ///
    /// Started with socket activation (systemd's LISTEN_FDS), it serves on
    /// the sockets passed instead of binding: those named ftp, ftps or tftp
    /// (LISTEN_FDNAMES) to that listener, the others by kind and order
    /// (first TCP listener FTP, second FTPS, UDP socket TFTP).
    Serve(Box<ServeArgs>),
    /// Download a file: ferry get ftp[s]://[user[:password]@]host[:port]/path | tftp://host[:port]/path [-o FILE|-]
    ///
    /// FTP logs in as the URL's user, or anonymously without one. The
    /// password comes from the URL, else from the FERRY_PASSWORD environment
    /// variable, else from a prompt when a user is named and standard input
    /// is a terminal.
    Get(GetArgs),
    /// Upload a file: ferry put FILE ftp[s]://[user[:password]@]host[:port]/path | tftp://host[:port]/path
    ///
    /// FTP logs in as the URL's user, or anonymously without one. The
    /// password comes from the URL, else from the FERRY_PASSWORD environment
    /// variable, else from a prompt when a user is named and standard input
    /// is a terminal.
    Put(PutArgs),
    /// List a directory: ferry ls ftp[s]://[user[:password]@]host[:port]/dir
    ///
    /// Logs in as the URL's user, or anonymously without one. The password
    /// comes from the URL, else from the FERRY_PASSWORD environment
    /// variable, else from a prompt when a user is named and standard input
    /// is a terminal.
    Ls(LsArgs),
    /// Remove remote files (DELE), or directories (RMD) given with a
    /// trailing "/": ferry rm ftp[s]://[user[:password]@]host[:port]/path...
    Rm(RmArgs),
    /// Make remote directories (MKD): ferry mkdir ftp[s]://host[:port]/dir...
    Mkdir(MkdirArgs),
    /// Rename or move a remote file or directory (RNFR, RNTO): ferry mv
    /// ftp[s]://host[:port]/path NEW, where NEW is a URL on the same server,
    /// a path from the server's root ("/..."), or a path beside the first.
    Mv(MvArgs),
    /// Print a users-file line (for serve --users) with a salted password hash.
    ///
    /// The password comes from the FERRY_PASSWORD environment variable, else
    /// it is asked twice on the terminal without echo.
    Passwd(PasswdArgs),
    /// Write a self-signed certificate and its key (DIR/cert.pem,
    /// DIR/key.pem) for serve --tls-cert/--tls-key, and print its SHA-256
    /// fingerprint.
    ///
    /// Clients that check certificates need it as a trusted root
    /// (ferry --cacert DIR/cert.pem, curl --cacert), or skip the check
    /// (--insecure, curl -k) and compare the fingerprint by hand.
    Cert(CertArgs),
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines of `key=value` fields.
    Text,
    /// One JSON object per line (for log collectors).
    Json,
}

/// Which driver runs the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// One event loop for every session (mio).
    Mio,
    /// A thread per transfer or session (std::net).
    Blocking,
}

/// `ferry serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Read the serve settings from this TOML file (keys in
    /// docs/configuration.md); flags given here override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the settings in force (flags and --config) as a --config
    /// file, and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Directory to serve, or an S3 bucket as `s3://BUCKET[/PREFIX]`
    /// (endpoint, region and keys from AWS_ENDPOINT_URL, AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The S3 endpoint for an `s3://` root (overrides AWS_ENDPOINT_URL);
    /// addressed path-style.
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// FTP control address.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2121")]
    pub ftp: SocketAddr,
    /// TFTP address.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6969")]
    pub tftp: SocketAddr,
    /// Do not serve FTP.
    #[arg(long)]
    pub no_ftp: bool,
    /// Do not serve TFTP.
    #[arg(long)]
    pub no_tftp: bool,
    /// Server driver.
    #[arg(long, value_enum, default_value_t = Driver::Mio)]
    pub driver: Driver,
    /// Allow uploads (TFTP WRQ; FTP STOR, DELE, MKD...).
    #[arg(long)]
    pub write: bool,
    /// Allow anonymous FTP logins even with --users.
    #[arg(long)]
    pub anonymous: bool,
    /// FTP users file (lines from `ferry passwd`); SIGHUP rereads it.
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// FTP passive data ports, e.g. 50000-50100.
    #[arg(long, value_name = "LO-HI", value_parser = parse_port_range)]
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// Most sessions (FTP) or transfers (TFTP) at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_sessions: Option<u32>,
    /// Most FTP sessions or TFTP transfers at once from one client IP
    /// address (as vsftpd's max_per_ip): beyond it an FTP connection gets
    /// 421, a TFTP request ERROR 0.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_per_ip: Option<u32>,
    /// Most bytes a second each FTP file transfer (either way; not
    /// listings) and each TFTP transfer moves: 524288, 512K, 10M (K =
    /// 1024).
    #[arg(long, value_name = "BYTES/s")]
    pub rate_limit: Option<RateLimit>,
    /// The limit instead for anonymous FTP logins and for TFTP (which has
    /// no login), as vsftpd's anon_max_rate.
    #[arg(long, value_name = "BYTES/s")]
    pub anon_rate_limit: Option<RateLimit>,
    /// Serve counters (sessions, logins, transfers, bytes, errors, event-loop
    /// turns) for Prometheus over HTTP at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Close idle FTP control connections after SECS.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout: Option<u64>,
    /// Run every TFTP transfer on the listening port, told apart by the
    /// client's address (for servers behind NAT or in containers).
    #[arg(long)]
    pub tftp_single_port: bool,
    /// TFTP filename rewrite rules, in the format of tftpd-hpa's map file
    /// (lines of FLAGS REGEX [REPLACEMENT]; flags r g i e s a G P 4 6 ~),
    /// applied to each requested name before it is looked up.
    #[arg(long, value_name = "FILE")]
    pub tftp_map: Option<PathBuf>,
    /// TFTP transfer ports from this range, e.g. 50200-50299 (for a
    /// firewall); requests beyond it get ERROR 0 "server busy".
    #[arg(long, value_name = "LO-HI", value_parser = parse_port_range, conflicts_with = "tftp_single_port")]
    pub tftp_port_range: Option<RangeInclusive<u16>>,
    /// Once every listener is bound, run as this user (and its groups);
    /// needs root. The root directory must be readable (for --write,
    /// writable) by that user.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// FTPS: the server's PEM certificate chain; turns on explicit TLS
    /// (AUTH TLS) on the FTP port. SIGHUP rereads it and --tls-key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "no_ftp",
        help_heading = "FTPS options"
    )]
    pub tls_cert: Option<PathBuf>,
    /// FTPS: the PEM private key of --tls-cert.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        help_heading = "FTPS options"
    )]
    pub tls_key: Option<PathBuf>,
    /// FTPS: also an implicit-TLS listener (TLS from the first byte,
    /// conventionally port 990); needs --tls-cert.
    #[arg(
        long,
        value_name = "ADDR",
        requires = "tls_cert",
        help_heading = "FTPS options"
    )]
    pub ftps: Option<SocketAddr>,
    /// FTPS: no login and no data transfer in clear; needs --tls-cert.
    #[arg(long, requires = "tls_cert", help_heading = "FTPS options")]
    pub require_tls: bool,
    /// FTPS: data connections must resume the control connection's TLS
    /// session (some clients, such as Python's ftplib, cannot); needs
    /// --tls-cert.
    #[arg(long, requires = "tls_cert", help_heading = "FTPS options")]
    pub tls_require_reuse: bool,
}

/// `--mode`: TFTP's transfer mode, or FTP's transmission mode (the URL's
/// scheme says which values apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransferMode {
    /// TFTP: raw bytes [TFTP default].
    Octet,
    /// TFTP: text, lines in CR LF on the wire.
    Netascii,
    /// FTP: MODE S, the data ends when the connection closes [FTP default].
    Stream,
    /// FTP: MODE B, blocks with restart markers (RFC 959 §3.4.2).
    Block,
    /// FTP: MODE C, runs of a byte sent as counts (RFC 959 §3.4.3).
    Compressed,
    /// FTP: MODE Z, the data through zlib deflate (an extension; FEAT lists it).
    #[value(alias = "z")]
    Deflate,
}

/// FTP representation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FtpType {
    /// TYPE I.
    Binary,
    /// TYPE A.
    Ascii,
    /// TYPE E: EBCDIC (code page 037) on the wire.
    Ebcdic,
}

/// FTP file structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FtpStructure {
    /// STRU F: a sequence of bytes.
    File,
    /// STRU R: records, each a line of the file.
    Record,
}

/// TFTP options of `get` and `put`.
#[derive(Debug, Args)]
#[command(next_help_heading = "TFTP options")]
pub struct TftpArgs {
    /// Block size to ask for (8-65464).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(8..=65464))]
    pub blksize: Option<u16>,
    /// Window size to ask for (1-65535).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub windowsize: Option<u16>,
    /// Retransmission timeout to ask for, in seconds (1-255).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u8).range(1..))]
    pub timeout: Option<u8>,
    /// Transfer mode: octet or netascii (TFTP), stream, block or
    /// compressed (FTP's MODE).
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        help_heading = "TFTP and FTP options"
    )]
    pub mode: Option<TransferMode>,
    /// get: after the final ACK, stay a while (1 s, or the negotiated
    /// timeout) to ACK again a final DATA the server repeats because that
    /// ACK was lost (RFC 1350). By default ferry exits as soon as the file
    /// is complete.
    #[arg(long)]
    pub dally: bool,
}

/// FTP options of `get`, `put` and `ls`.
#[derive(Debug, Args)]
#[command(next_help_heading = "FTP options")]
pub struct FtpArgs {
    /// Passive data connections: the client connects (EPSV, then PASV) [default].
    #[arg(long, conflicts_with = "active")]
    pub passive: bool,
    /// Active data connections: the server connects back (EPRT, then PORT).
    #[arg(long)]
    pub active: bool,
    /// Log in as USER, with PASSWORD after a colon, in place of the URL's
    /// credentials (as curl -u); without a password it comes from
    /// FERRY_PASSWORD or a prompt.
    #[arg(short = 'u', long = "user", value_name = "USER[:PASSWORD]")]
    pub user: Option<String>,
    /// Explicit FTPS (AUTH TLS) on an ftp:// URL, required: fail if the
    /// server refuses it. Logins and data (PROT P) then go through TLS.
    /// ftps:// URLs are implicit FTPS and need no flag.
    #[arg(long, help_heading = "FTPS options")]
    pub tls: bool,
    /// Do not check the server's certificate (as curl -k): the connection
    /// is encrypted, but to whoever answers.
    #[arg(short = 'k', long, help_heading = "FTPS options")]
    pub insecure: bool,
    /// Trust the PEM certificates in FILE as roots too (a self-signed
    /// server's cert.pem, a private CA), besides the system's.
    #[arg(long, value_name = "FILE", help_heading = "FTPS options")]
    pub cacert: Option<PathBuf>,
}

/// The FTP and TFTP options of `get` and `put` (the URL's scheme picks
/// which apply).
#[derive(Debug, Args)]
pub struct ProtocolArgs {
    /// FTP representation type: ascii converts line ends (CR LF on the
    /// wire), ebcdic bytes too (code page 037).
    #[arg(
        long = "type",
        value_name = "TYPE",
        value_enum,
        default_value_t = FtpType::Binary,
        help_heading = "FTP options"
    )]
    pub ftp_type: FtpType,
    /// FTP: TYPE A, as --type ascii (curl's name).
    #[arg(
        short = 'B',
        long,
        conflicts_with = "ftp_type",
        help_heading = "FTP options"
    )]
    pub use_ascii: bool,
    /// FTP file structure: record sends each line as a record (STRU R).
    #[arg(
        long,
        value_name = "STRU",
        value_enum,
        default_value_t = FtpStructure::File,
        help_heading = "FTP options"
    )]
    pub stru: FtpStructure,
    #[command(flatten)]
    pub ftp: FtpArgs,
    #[command(flatten)]
    pub tftp: TftpArgs,
}

/// `ferry get`
#[derive(Debug, Args)]
pub struct GetArgs {
    /// ftp://[user[:password]@]host[:port]/path, ftps://... (implicit
    /// FTPS, port 990 by default) or tftp://host[:port]/path; several are
    /// fetched one after the other. On FTP, a last component with `*`, `?`
    /// or `[...]` is matched against the directory's listing, unless a
    /// file of exactly that name exists.
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    /// Where to write ("-" for standard output) [default: the URL's file
    /// name]; with several files, an existing directory to write them in.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// FTP: resume a partial download, appending to the local file from its length (REST).
    #[arg(short = 'c', long = "continue")]
    pub resume: bool,
    /// FTP: download a directory tree (URL ending in "/"), into DEST (a
    /// last argument that is not a URL) or -o DIR [default: the remote
    /// directory's name]; MLSD where the server has it, else LIST.
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// With -r: skip files whose local copy has the remote size and
    /// modification time already.
    #[arg(long, requires = "recursive")]
    pub newer: bool,
    /// With -r: this many files at once, each on its own connection.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "recursive",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// FTP: leave the downloaded file's modification time as the download
    /// made it, instead of the remote file's (MDTM; as curl -R, by default).
    #[arg(long)]
    pub no_remote_time: bool,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
}

/// `ferry put`
#[derive(Debug, Args)]
pub struct PutArgs {
    /// Local file to send ("-" for standard input).
    pub file: PathBuf,
    /// ftp://[user[:password]@]host[:port]/path, ftps://... (implicit
    /// FTPS, port 990 by default) or tftp://host[:port]/path (a path
    /// ending in "/" gets the file's name).
    pub url: String,
    /// FTP: upload the directory FILE as the tree at URL (made where
    /// missing), giving each file its local modification time with MFMT
    /// where the server's FEAT lists it.
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// With -r: skip files the server has already with the local size and
    /// modification time.
    #[arg(long, requires = "recursive")]
    pub newer: bool,
    /// With -r: this many files at once, each on its own connection.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "recursive",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
}

/// `ferry ls`
#[derive(Debug, Args)]
pub struct LsArgs {
    /// ftp://[user[:password]@]host[:port]/dir or ftps://... (the login
    /// directory when empty).
    pub url: String,
    /// Names only, one a line (NLST) instead of the server's long listing
    /// (LIST), as given: a "dir/" prefix the server adds is taken off.
    #[arg(short = '1', long, conflicts_with = "long")]
    pub names: bool,
    /// The server's long listing (LIST) [default].
    #[arg(short = 'l', long)]
    pub long: bool,
    /// Every subdirectory too, each after a "path:" header line, as ls -R.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    #[command(flatten)]
    pub ftp: FtpArgs,
}

/// `ferry rm`
#[derive(Debug, Args)]
pub struct RmArgs {
    /// What to remove: a file, or a directory when the path ends in "/".
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    #[command(flatten)]
    pub ftp: FtpArgs,
}

/// `ferry mkdir`
#[derive(Debug, Args)]
pub struct MkdirArgs {
    /// The directories to make.
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    #[command(flatten)]
    pub ftp: FtpArgs,
}

/// `ferry mv`
#[derive(Debug, Args)]
pub struct MvArgs {
    /// What to rename.
    pub url: String,
    /// The new name: a URL on the same server, "/path" from the server's
    /// root, or a path relative to the first's directory.
    pub to: String,
    #[command(flatten)]
    pub ftp: FtpArgs,
}

/// `ferry passwd`
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// The login name.
    pub user: String,
    /// The user's home directory, relative to the served root.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub home: String,
    /// Let the user write (uploads, deletes...) when the server runs with --write.
    #[arg(long)]
    pub write: bool,
}

/// `ferry cert`
#[derive(Debug, Args)]
pub struct CertArgs {
    /// A name the certificate is for: a DNS name or an IP address (repeat
    /// for more) [default: localhost and 127.0.0.1].
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// Directory to write cert.pem and key.pem in (made if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Replace cert.pem and key.pem if they exist.
    #[arg(long)]
    pub force: bool,
}

pub(crate) fn parse_port_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let (lo, hi) = text
        .split_once('-')
        .ok_or_else(|| format!("expected LO-HI, got {text:?}"))?;
    let port = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("bad port {s:?}"))
    };
    let (lo, hi) = (port(lo)?, port(hi)?);
    if lo > hi {
        return Err(format!("empty range {lo}-{hi}"));
    }
    Ok(lo..=hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("50000-50100"), Ok(50000..=50100));
        assert_eq!(parse_port_range("7-7"), Ok(7..=7));
        assert!(parse_port_range("5").is_err());
        assert!(parse_port_range("0-5").is_err());
        assert!(parse_port_range("9-5").is_err());
        assert!(parse_port_range("a-b").is_err());
    }

    #[test]
    fn serve_defaults() {
        let cli = Cli::try_parse_from(["ferry", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.root, PathBuf::from("."));
        assert_eq!(args.tftp, "127.0.0.1:6969".parse().unwrap());
        assert_eq!(args.ftp, "127.0.0.1:2121".parse().unwrap());
        assert_eq!(args.driver, Driver::Mio);
        assert!(!args.write);
        assert!(!args.tftp_single_port);
        let cli = Cli::try_parse_from([
            "ferry",
            "serve",
            "--driver",
            "blocking",
            "--tftp-single-port",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.driver, Driver::Blocking);
        assert!(args.tftp_single_port);
        assert!(Cli::try_parse_from(["ferry", "serve", "--driver", "threads"]).is_err());
    }

    #[test]
    fn client_options() {
        let cli = Cli::try_parse_from([
            "ferry",
            "get",
            "tftp://h/f",
            "-o",
            "-",
            "--blksize",
            "1468",
            "--windowsize",
            "8",
            "--mode",
            "netascii",
        ])
        .unwrap();
        let Command::Get(args) = cli.command else {
            panic!("not get")
        };
        assert_eq!(args.output, Some(PathBuf::from("-")));
        assert_eq!(args.protocol.tftp.blksize, Some(1468));
        assert_eq!(args.protocol.tftp.windowsize, Some(8));
        assert_eq!(args.protocol.tftp.mode, Some(TransferMode::Netascii));
        assert!(Cli::try_parse_from(["ferry", "get", "tftp://h/f", "--blksize", "7"]).is_err());
        assert!(Cli::try_parse_from(["ferry", "get", "tftp://h/f", "--timeout", "0"]).is_err());
    }

    #[test]
    fn ftps_serve_flags_need_the_certificate_and_key() {
        let serve = |extra: &[&str]| {
            Cli::try_parse_from(["ferry", "serve"].iter().chain(extra)).map(|cli| {
                match cli.command {
                    Command::Serve(args) => args,
                    _ => panic!("not serve"),
                }
            })
        };
        let args = serve(&[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--ftps",
            "127.0.0.1:990",
            "--require-tls",
            "--tls-require-reuse",
        ])
        .unwrap();
        assert_eq!(args.tls_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(args.tls_key, Some(PathBuf::from("k.pem")));
        assert_eq!(args.ftps, Some("127.0.0.1:990".parse().unwrap()));
        assert!(args.require_tls && args.tls_require_reuse);
        let args = serve(&[]).unwrap();
        assert_eq!((args.tls_cert, args.ftps), (None, None));
        assert!(!args.require_tls && !args.tls_require_reuse);
        for bad in [
            &["--tls-cert", "c.pem"][..],
            &["--tls-key", "k.pem"],
            &["--ftps", "127.0.0.1:990"],
            &["--require-tls"],
            &["--tls-require-reuse"],
            &["--tls-cert", "c", "--tls-key", "k", "--no-ftp"],
        ] {
            let err = serve(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn cert_defaults_and_hosts() {
        let cli = Cli::try_parse_from(["ferry", "cert"]).unwrap();
        let Command::Cert(args) = cli.command else {
            panic!("not cert")
        };
        assert_eq!(args.out, PathBuf::from("."));
        assert!(args.hosts.is_empty() && !args.force);
        let cli = Cli::try_parse_from([
            "ferry",
            "cert",
            "--host",
            "a.example",
            "--host",
            "::1",
            "--out",
            "tls",
            "--force",
        ])
        .unwrap();
        let Command::Cert(args) = cli.command else {
            panic!("not cert")
        };
        assert_eq!(args.hosts, ["a.example", "::1"]);
        assert_eq!(args.out, PathBuf::from("tls"));
        assert!(args.force);
    }
}
