//! `ferry get` and `ferry put`: over TFTP or FTP, by the URL's scheme;
//! what both share (output naming, Ctrl-C, the progress bar).

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use ferry_blocking::tftp::{self, ClientOptions, Input, Mode, Output, Progress, TransferConfig};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{FtpArgs, GetArgs, PutArgs, TftpArgs, TransferMode};
use crate::ftp;
use crate::url::{TftpUrl, Url};
use crate::Failure;

/// `ferry get URL...`: each URL (an FTP pattern as the files it
/// matches) in turn; with more than one file, `-o` must be a directory.
/// The first failure ends the command.
pub fn get(args: GetArgs) -> Result<(), Failure> {
    if args.recursive {
        return get_tree(&args);
    }
    let mut files = Vec::new();
    for text in &args.urls {
        match parse_url(text)? {
            Url::Ftp(url) => files.extend(
                ftp::expand(url, &args.protocol.ftp)?
                    .into_iter()
                    .map(Url::Ftp),
            ),
            url => files.push(url),
        }
    }
    let several = files.len() > 1;
    let dir = args.output.as_deref().filter(|_| several);
    if let Some(dir) = dir {
        if !dir.is_dir() {
            return Err(Failure::Usage(format!(
                "-o {} must be an existing directory for several files",
                dir.display()
            )));
        }
    }
    for url in files {
        let path = match &url {
            Url::Ftp(url) => &url.path,
            Url::Tftp(url) => &url.path,
        };
        let output = match (several, dir) {
            (false, _) => args.output.clone(),
            (true, Some(dir)) => Some(dir.join(default_output(path)?)),
            (true, None) => None,
        };
        match url {
            Url::Ftp(url) => ftp::get(url, &args, output.as_deref())?,
            Url::Tftp(url) => tftp_get(url, &args, output.as_deref())?,
        }
    }
    Ok(())
}

pub fn put(args: PutArgs) -> Result<(), Failure> {
    match parse_url(&args.url)? {
        Url::Ftp(url) if args.recursive => ftp::put_tree(url, &args),
        Url::Tftp(_) if args.recursive => Err(Failure::Usage(
            "put -r works with ftp:// URLs only".to_owned(),
        )),
        Url::Ftp(url) => ftp::put(url, &args),
        Url::Tftp(url) => tftp_put(url, &args),
    }
}

/// Parses a `get`/`put`/`ls` URL; a bad one is a usage error.
pub fn parse_url(text: &str) -> Result<Url, Failure> {
    Url::parse(text).map_err(|err| Failure::Usage(format!("bad URL {text:?}: {err}")))
}

/// `ferry get -r URL/dir/ [DEST]`.
fn get_tree(args: &GetArgs) -> Result<(), Failure> {
    let (dest, urls) = match args.urls.split_last() {
        Some((last, rest)) if !last.contains("://") && !rest.is_empty() => {
            (Some(PathBuf::from(last)), rest)
        }
        _ => (args.output.clone(), &args.urls[..]),
    };
    let [url] = urls else {
        return Err(Failure::Usage("get -r takes one URL (and DEST)".to_owned()));
    };
    let Url::Ftp(url) = parse_url(url)? else {
        return Err(Failure::Usage(
            "get -r works with ftp:// URLs only: TFTP cannot list".to_owned(),
        ));
    };
    let dest = match dest {
        Some(dest) => dest,
        None => match url.path.trim_end_matches('/').rsplit('/').next() {
            Some(name) if !name.is_empty() => PathBuf::from(name),
            _ => PathBuf::from("."),
        },
    };
    ftp::get_tree(url, args, &dest)
}

fn tftp_get(url: TftpUrl, args: &GetArgs, output: Option<&Path>) -> Result<(), Failure> {
    no_tls(&args.protocol.ftp)?;
    if args.resume {
        return Err(Failure::Usage(
            "--continue works with ftp:// URLs only".to_owned(),
        ));
    }
    let options = tftp_options(&args.protocol.tftp)?;
    let destination = destination(output, &url.path)?;
    let get = |output: Output<'_>, progress: &mut dyn FnMut(Progress)| {
        tftp::get(&url.host, url.port, &url.path, output, &options, progress)
    };
    let result = with_bar(|progress| match &destination {
        Destination::Stdout => get(Output::Writer(&mut io::stdout().lock()), progress),
        Destination::File(path) => get(Output::Path(path), progress),
    });
    let summary = result.map_err(failure)?;
    tracing::debug!(
        bytes = summary.bytes,
        retransmits = summary.retransmits,
        elapsed = ?summary.elapsed,
        "download complete"
    );
    Ok(())
}

fn tftp_put(url: TftpUrl, args: &PutArgs) -> Result<(), Failure> {
    no_tls(&args.protocol.ftp)?;
    if args.protocol.tftp.dally {
        // The uploader sends the last DATA and gets the last ACK: there is
        // nothing to dally for (RFC 1350 §6 is the receiver's wait).
        return Err(Failure::Usage(
            "--dally is for downloads: an upload ends with the server's final ACK".to_owned(),
        ));
    }
    let options = tftp_options(&args.protocol.tftp)?;
    let remote = remote_name(&url.path, &args.file, &args.url)?;
    let result = with_bar(|progress| {
        with_input(&args.file, |input| {
            tftp::put(input, &url.host, url.port, &remote, &options, progress)
        })
    });
    let summary = result.map_err(failure)?;
    tracing::debug!(
        bytes = summary.bytes,
        retransmits = summary.retransmits,
        elapsed = ?summary.elapsed,
        "upload complete"
    );
    Ok(())
}

/// TFTP has no TLS: asking for it is a usage error, not a transfer in clear.
fn no_tls(args: &FtpArgs) -> Result<(), Failure> {
    let flag = match () {
        _ if args.tls => "--tls",
        _ if args.insecure => "--insecure",
        _ if args.cacert.is_some() => "--cacert",
        _ => return Ok(()),
    };
    Err(Failure::Usage(format!(
        "{flag} is for FTPS (ftp:// with --tls, or ftps://); TFTP has no TLS"
    )))
}

/// The remote name of an upload: the URL's path, with the local file's
/// name added when the path names a directory (ends in `/`, or is empty).
pub fn remote_name(path: &str, file: &Path, url: &str) -> Result<String, Failure> {
    if !path.is_empty() && !path.ends_with('/') {
        return Ok(path.to_owned());
    }
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|_| file != Path::new("-"))
        .ok_or_else(|| {
            Failure::Usage(format!(
                "{url} names a directory; give the remote file name"
            ))
        })?;
    Ok(format!("{path}{name}"))
}

/// Runs `upload` from `file`: standard input for `-`, else the file.
pub fn with_input<T>(file: &Path, upload: impl FnOnce(Input<'_>) -> T) -> T {
    if file == Path::new("-") {
        let mut stdin = io::stdin().lock();
        upload(Input::Reader {
            reader: &mut stdin,
            len: None,
        })
    } else {
        upload(Input::Path(file))
    }
}

/// Runs `transfer` with its progress shown on a [`Bar`], cleared at the
/// end.
pub fn with_bar<T>(transfer: impl FnOnce(&mut dyn FnMut(Progress)) -> T) -> T {
    let mut bar = Bar::new();
    let result = transfer(&mut |p| bar.update(p));
    bar.finish();
    result
}

/// Set by Ctrl-C (SIGINT/SIGTERM): the transfer stops cleanly, the
/// server is told, a partial download under a temporary name is removed.
pub fn cancel_flag() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    if let Err(err) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        tracing::debug!(error = %err, "cannot install the SIGINT/SIGTERM handler");
    }
    cancel
}

fn tftp_options(args: &TftpArgs) -> Result<ClientOptions, Failure> {
    let mode = match args.mode {
        None | Some(TransferMode::Octet) => Mode::Octet,
        Some(TransferMode::Netascii) => Mode::Netascii,
        Some(other) => {
            return Err(Failure::Usage(format!(
                "--mode {}: an FTP mode; TFTP takes octet or netascii",
                other
                    .to_possible_value()
                    .map(|v| v.get_name().to_owned())
                    .unwrap_or_default()
            )))
        }
    };
    let mut options = ClientOptions {
        cancel: Some(cancel_flag()),
        blksize: args.blksize,
        windowsize: args.windowsize,
        timeout: args.timeout,
        mode,
        ..ClientOptions::default()
    };
    // The client's default is to end with the final ACK; the machine
    // dallies when its configuration says so (RFC 1350 §6).
    if args.dally {
        options.transfer.dally = TransferConfig::default().dally;
    }
    Ok(options)
}

/// Where a download goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Destination {
    /// `-o -`
    Stdout,
    /// `-o FILE`, or the URL's file name.
    File(PathBuf),
}

/// `-o` as given, or the URL's last path component, like curl's `-O`.
pub fn destination(output: Option<&Path>, remote: &str) -> Result<Destination, Failure> {
    match output {
        Some(path) if path == Path::new("-") => Ok(Destination::Stdout),
        Some(path) => Ok(Destination::File(path.to_owned())),
        None => default_output(remote).map(Destination::File),
    }
}

/// The local name of a download when `-o` is not given: the URL's last
/// path component, like curl's `-O`.
fn default_output(remote: &str) -> Result<PathBuf, Failure> {
    let name = remote.rsplit('/').next().unwrap_or_default();
    if name.is_empty() || name == "." || name == ".." {
        return Err(Failure::Usage(format!(
            "cannot name the output after {remote:?}; use -o FILE"
        )));
    }
    Ok(PathBuf::from(name))
}

/// A client error (of either protocol) as the command's failure; a
/// closed standard output ends the command quietly.
pub fn failure(err: impl std::error::Error + 'static) -> Failure {
    if is_broken_pipe(&err) {
        return Failure::ClosedOutput;
    }
    Failure::Failed(err.to_string())
}

/// Whether `err`, or an error it came from, is EPIPE: the reader of
/// standard output went away.
pub fn is_broken_pipe(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if err
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// Forces the progress bar on (`1`) or off (`0`) whatever the
/// terminals say: for scripts that want it, and for tests.
pub const PROGRESS_VAR: &str = "FERRY_PROGRESS";

/// A progress bar on stderr, only when both stdout and stderr are
/// terminals (so pipes and logs stay clean), unless FERRY_PROGRESS says.
/// Nothing is drawn before the first report has given the bar its style
/// (so no bare `0/0` frame); at the end the bar gives way to one summary
/// line, as curl and wget leave.
struct Bar {
    bar: Option<ProgressBar>,
    styled: bool,
    bytes: u64,
    started: std::time::Instant,
}

impl Bar {
    fn new() -> Self {
        let interactive = match std::env::var(PROGRESS_VAR).as_deref() {
            Ok("1") => true,
            Ok("0") => false,
            _ => io::stderr().is_terminal() && io::stdout().is_terminal(),
        };
        Bar {
            bar: interactive
                .then(|| ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())),
            styled: false,
            bytes: 0,
            started: std::time::Instant::now(),
        }
    }

    fn update(&mut self, Progress { bytes, total }: Progress) {
        let Some(bar) = &self.bar else { return };
        self.bytes = bytes;
        if !self.styled {
            self.styled = true;
            let style = match total {
                Some(total) => {
                    bar.set_length(total);
                    ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                    )
                }
                None => ProgressStyle::with_template("{spinner} {bytes} {binary_bytes_per_sec}"),
            };
            if let Ok(style) = style {
                bar.set_style(style);
            }
            bar.set_position(bytes);
            // Drawn only now that it has its style and its numbers.
            bar.set_draw_target(ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(200));
            return;
        }
        bar.set_position(bytes);
    }

    fn finish(&mut self) {
        let Some(bar) = self.bar.take() else { return };
        bar.finish_and_clear();
        if self.styled {
            eprintln!("{}", summary(self.bytes, self.started.elapsed()));
        }
    }
}

/// The line a finished transfer leaves: bytes, time and mean rate.
fn summary(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = match secs > 0.0 {
        true => bytes as f64 / secs,
        false => 0.0,
    };
    format!(
        "{bytes} bytes ({}) in {secs:.2} s, {}/s",
        indicatif::BinaryBytes(bytes),
        indicatif::BinaryBytes(rate as u64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines() {
        assert_eq!(
            summary(3 * 1024 * 1024, Duration::from_secs(2)),
            "3145728 bytes (3.00 MiB) in 2.00 s, 1.50 MiB/s"
        );
        assert_eq!(summary(0, Duration::ZERO), "0 bytes (0 B) in 0.00 s, 0 B/s");
    }

    #[test]
    fn default_output_is_the_last_component() {
        assert_eq!(
            default_output("boot/pxelinux.0").unwrap(),
            PathBuf::from("pxelinux.0")
        );
        assert_eq!(default_output("file").unwrap(), PathBuf::from("file"));
        assert!(matches!(default_output("dir/"), Err(Failure::Usage(_))));
    }

    #[test]
    fn destinations() {
        assert_eq!(
            destination(Some(Path::new("-")), "a/b").unwrap(),
            Destination::Stdout
        );
        assert_eq!(
            destination(Some(Path::new("out")), "a/").unwrap(),
            Destination::File(PathBuf::from("out"))
        );
        assert_eq!(
            destination(None, "a/b").unwrap(),
            Destination::File(PathBuf::from("b"))
        );
        assert!(matches!(destination(None, ""), Err(Failure::Usage(_))));
    }

    #[test]
    fn remote_names() {
        let file = Path::new("dir/local.txt");
        assert_eq!(remote_name("up/x", file, "u").unwrap(), "up/x");
        assert_eq!(remote_name("up/", file, "u").unwrap(), "up/local.txt");
        assert_eq!(remote_name("", file, "u").unwrap(), "local.txt");
        assert!(matches!(
            remote_name("up/", Path::new("-"), "u"),
            Err(Failure::Usage(_))
        ));
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        assert!(matches!(parse_url("tftp://h"), Err(Failure::Usage(_))));
        assert!(matches!(parse_url("ftp://h:0/x"), Err(Failure::Usage(_))));
        assert!(parse_url("ftp://h/x").is_ok());
    }
}
