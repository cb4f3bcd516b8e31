//! `ferry get` and `ferry put`.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_blocking::tftp::{self, ClientError, ClientOptions, Input, Mode, Output, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::{ClientArgs, GetArgs, PutArgs, TftpMode};
use crate::url::{TftpUrl, Url};
use crate::Failure;

pub fn get(args: GetArgs) -> Result<(), Failure> {
    let url = tftp_url(&args.url)?;
    let options = client_options(&args.client);
    let mut bar = Bar::new();
    let mut progress = |p: Progress| bar.update(p);
    let result = match args.output.as_deref() {
        Some(path) if path == Path::new("-") => {
            let mut stdout = io::stdout().lock();
            tftp::get(
                &url.host,
                url.port,
                &url.path,
                Output::Writer(&mut stdout),
                &options,
                &mut progress,
            )
        }
        Some(path) => tftp::get(
            &url.host,
            url.port,
            &url.path,
            Output::Path(path),
            &options,
            &mut progress,
        ),
        None => {
            let path = default_output(&url.path)?;
            tftp::get(
                &url.host,
                url.port,
                &url.path,
                Output::Path(&path),
                &options,
                &mut progress,
            )
        }
    };
    bar.finish();
    let summary = result.map_err(failure)?;
    tracing::debug!(
        bytes = summary.bytes,
        retransmits = summary.retransmits,
        elapsed = ?summary.elapsed,
        "download complete"
    );
    Ok(())
}

pub fn put(args: PutArgs) -> Result<(), Failure> {
    let url = tftp_url(&args.url)?;
    let options = client_options(&args.client);
    let mut remote = url.path.clone();
    if remote.ends_with('/') {
        let name = args
            .file
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|_| args.file != Path::new("-"))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "{} names a directory; give the remote file name",
                    args.url
                ))
            })?;
        remote.push_str(name);
    }
    let mut bar = Bar::new();
    let mut progress = |p: Progress| bar.update(p);
    let result = if args.file == Path::new("-") {
        let mut stdin = io::stdin().lock();
        let input = Input::Reader {
            reader: &mut stdin,
            len: None,
        };
        tftp::put(input, &url.host, url.port, &remote, &options, &mut progress)
    } else {
        let input = Input::Path(&args.file);
        tftp::put(input, &url.host, url.port, &remote, &options, &mut progress)
    };
    bar.finish();
    let summary = result.map_err(failure)?;
    tracing::debug!(
        bytes = summary.bytes,
        retransmits = summary.retransmits,
        elapsed = ?summary.elapsed,
        "upload complete"
    );
    Ok(())
}

fn tftp_url(text: &str) -> Result<TftpUrl, Failure> {
    match Url::parse(text) {
        Ok(Url::Tftp(url)) => Ok(url),
        Ok(Url::Ftp(_)) => Err(Failure::Usage(
            "ftp:// is not supported yet; only tftp:// URLs work for now".to_owned(),
        )),
        Err(err) => Err(Failure::Usage(format!("bad URL {text:?}: {err}"))),
    }
}

fn client_options(args: &ClientArgs) -> ClientOptions {
    // Ctrl-C cancels cleanly: the server is told, a partial download removed.
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    if let Err(err) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        tracing::debug!(error = %err, "cannot install the SIGINT/SIGTERM handler");
    }
    ClientOptions {
        cancel: Some(cancel),
        blksize: args.blksize,
        windowsize: args.windowsize,
        timeout: args.timeout,
        mode: match args.mode {
            TftpMode::Octet => Mode::Octet,
            TftpMode::Netascii => Mode::Netascii,
        },
        ..ClientOptions::default()
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

fn failure(err: ClientError) -> Failure {
    Failure::Failed(err.to_string())
}

/// A progress bar on stderr, only when both stdout and stderr are
/// terminals (so pipes and logs stay clean).
struct Bar {
    bar: Option<ProgressBar>,
    styled: bool,
}

impl Bar {
    fn new() -> Self {
        let interactive = io::stderr().is_terminal() && io::stdout().is_terminal();
        Bar {
            bar: interactive.then(|| {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.enable_steady_tick(Duration::from_millis(200));
                bar
            }),
            styled: false,
        }
    }

    fn update(&mut self, progress: Progress) {
        let Some(bar) = &self.bar else { return };
        if !self.styled {
            self.styled = true;
            let style = match progress.total {
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
        }
        bar.set_position(progress.bytes);
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn ftp_urls_are_refused_as_usage() {
        assert!(matches!(tftp_url("ftp://h/x"), Err(Failure::Usage(_))));
        assert!(matches!(tftp_url("tftp://h"), Err(Failure::Usage(_))));
        assert!(tftp_url("tftp://h/x").is_ok());
    }
}
