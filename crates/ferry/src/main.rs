//! `ferry`: FTP and TFTP client and server.

mod activation;
mod cert;
mod cli;
mod client;
mod config;
mod ftp;
mod metrics;
mod passwd;
mod privilege;
mod serve;
mod url;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, LogFormat};

/// Exit status for a failed transfer or a protocol error.
const EXIT_FAILURE: u8 = 1;
/// Exit status for bad usage or a bad URL (clap uses it too).
const EXIT_USAGE: u8 = 2;

/// A command's failure, with the exit status it maps to.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage: exit 2.
    Usage(String),
    /// The transfer or the server failed: exit 1.
    Failed(String),
    /// Standard output was closed by its reader (`ferry ls URL | head`):
    /// nothing printed, exit 141, the status a shell gives a tool that
    /// SIGPIPE ended (ls, cat).
    ClosedOutput,
}

/// Exit status when standard output was closed under us: 128 + SIGPIPE.
const EXIT_CLOSED_OUTPUT: u8 = 141;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    init_logging(cli.verbose, cli.quiet, cli.log_format);
    let result = match cli.command {
        Command::Serve(mut args) => {
            let serve = matches
                .subcommand_matches("serve")
                .expect("the serve subcommand");
            match config::apply(&mut args, serve) {
                Ok(config::Next::Serve) => serve::run(*args),
                Ok(config::Next::Printed) => Ok(()),
                Err(failure) => Err(failure),
            }
        }
        Command::Get(args) => client::get(args),
        Command::Put(args) => client::put(args),
        Command::Ls(args) => ftp::ls(args),
        Command::Rm(args) => ftp::rm(args),
        Command::Mkdir(args) => ftp::mkdir(args),
        Command::Mv(args) => ftp::mv(args),
        Command::Passwd(args) => passwd::run(args),
        Command::Cert(args) => cert::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("ferry: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::ClosedOutput) => ExitCode::from(EXIT_CLOSED_OUTPUT),
        Err(Failure::Failed(message)) => {
            eprintln!("ferry: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Logs go to stderr, one line per event; RUST_LOG wins over -v/-q.
fn init_logging(verbose: u8, quiet: bool, format: LogFormat) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // Fields at the top level beside `message`, as in the text lines,
        // so a collector reads `peer` or `bytes` without unwrapping.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
}
