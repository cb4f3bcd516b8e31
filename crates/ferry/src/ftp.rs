//! `ferry get`, `ferry put` and `ferry ls` over FTP.

use std::io::{self, IsTerminal, Write};

use ferry_blocking::ftp::client::{
    ClientTls, ClientTlsOptions, ConnectOptions, Connection, DataMode, Output, Security,
    TransferType,
};
use ftp_proto::ascii::Decoder;

use crate::cli::{FtpArgs, FtpType, GetArgs, LsArgs, ProtocolArgs, PutArgs};
use crate::client::{self, failure, Destination};
use crate::url::{FtpUrl, Url};
use crate::Failure;

/// The environment variable a password may come from.
pub const PASSWORD_VAR: &str = "FERRY_PASSWORD";

/// The user name of an anonymous login (RFC 1635).
const ANONYMOUS: &str = "anonymous";

/// What an anonymous login gives as its password: by custom an e-mail
/// address, which servers take as it comes.
const ANONYMOUS_PASSWORD: &str = "ferry@";

pub fn get(url: FtpUrl, args: &GetArgs) -> Result<(), Failure> {
    if url.path.is_empty() || url.path.ends_with('/') {
        return Err(Failure::Usage(format!(
            "{} names a directory; use ferry ls to list it",
            args.url
        )));
    }
    let destination = client::destination(args.output.as_deref(), &url.path)?;
    if args.resume && destination == Destination::Stdout {
        return Err(Failure::Usage(
            "--continue needs an output file, not standard output".to_owned(),
        ));
    }
    let mut ftp = open_typed(&url, &args.protocol)?;
    let result = client::with_bar(|progress| match &destination {
        Destination::Stdout => ftp.get(
            &url.path,
            Output::Writer(&mut io::stdout().lock()),
            progress,
        ),
        Destination::File(path) if args.resume => {
            ftp.get(&url.path, Output::Continue(path), progress)
        }
        Destination::File(path) => ftp.get(&url.path, Output::Path(path), progress),
    });
    let bytes = result.map_err(failure)?;
    tracing::debug!(bytes, "download complete");
    quit(ftp);
    Ok(())
}

pub fn put(url: FtpUrl, args: &PutArgs) -> Result<(), Failure> {
    let remote = client::remote_name(&url.path, &args.file, &args.url)?;
    let mut ftp = open_typed(&url, &args.protocol)?;
    let result = client::with_bar(|progress| {
        client::with_input(&args.file, |input| ftp.put(input, &remote, progress))
    });
    let bytes = result.map_err(failure)?;
    tracing::debug!(bytes, "upload complete");
    quit(ftp);
    Ok(())
}

pub fn ls(args: LsArgs) -> Result<(), Failure> {
    let url = match client::parse_url(&args.url)? {
        Url::Ftp(url) => url,
        Url::Tftp(_) => {
            return Err(Failure::Usage(
                "ls works with ftp:// URLs only: TFTP cannot list".to_owned(),
            ))
        }
    };
    let mut ftp = open(&url, &args.ftp)?;
    let path = (!url.path.is_empty()).then_some(url.path.as_str());
    let mut out = LocalLines::new(io::stdout().lock());
    let result = match args.names {
        true => ftp.name_list(path, &mut out),
        false => ftp.list(path, &mut out),
    };
    result.map_err(failure)?;
    out.finish()
        .map_err(|err| Failure::Failed(err.to_string()))?;
    quit(ftp);
    Ok(())
}

/// Connects and logs in as the URL says.
fn open(url: &FtpUrl, args: &FtpArgs) -> Result<Connection, Failure> {
    let security = security(url, args)?;
    let login = credentials(
        url,
        std::env::var(PASSWORD_VAR).ok(),
        io::stdin().is_terminal(),
        &mut |prompt| rpassword::prompt_password(prompt),
    )?;
    let options = ConnectOptions {
        data: match args.active {
            true => DataMode::Active,
            false => DataMode::Passive,
        },
        cancel: Some(client::cancel_flag()),
        security,
        ..ConnectOptions::default()
    };
    let mut ftp = Connection::connect(&url.host, url.port, options).map_err(failure)?;
    tracing::debug!(greeting = ftp.greeting(), "connected");
    ftp.login(&login.user, &login.password).map_err(failure)?;
    Ok(ftp)
}

/// FTPS as the URL and flags ask: `ftps://` is implicit TLS, `--tls`
/// on `ftp://` explicit (AUTH TLS, required). Certificates are checked
/// against the system's roots and `--cacert`, unless `--insecure`.
fn security(url: &FtpUrl, args: &FtpArgs) -> Result<Security, Failure> {
    if !url.implicit_tls && !args.tls {
        if let Some(flag) =
            (args.insecure.then_some("--insecure")).or(args.cacert.is_some().then_some("--cacert"))
        {
            return Err(Failure::Usage(format!(
                "{flag} is for FTPS: add --tls, or use an ftps:// URL"
            )));
        }
        return Ok(Security::Plain);
    }
    let options = ClientTlsOptions {
        insecure: args.insecure,
        cacert: args.cacert.clone(),
    };
    let tls = ClientTls::new(&options).map_err(|err| Failure::Usage(err.to_string()))?;
    Ok(match url.implicit_tls {
        true => Security::Implicit(tls),
        false => Security::Explicit(tls),
    })
}

/// Connects, logs in and sets the representation type for a transfer.
fn open_typed(url: &FtpUrl, args: &ProtocolArgs) -> Result<Connection, Failure> {
    let mut ftp = open(url, &args.ftp)?;
    ftp.set_type(transfer_type(args.ftp_type))
        .map_err(failure)?;
    Ok(ftp)
}

/// Ends the session politely; the transfer has already succeeded, so a
/// failure here changes nothing.
fn quit(ftp: Connection) {
    if let Err(err) = ftp.quit() {
        tracing::debug!(error = %err, "QUIT failed");
    }
}

/// Who logs in, with which password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
}

/// The URL's user (anonymous without one) and password; without a
/// password in the URL, `env` (FERRY_PASSWORD); without that, a prompt
/// when the URL names a user and standard input is a terminal.
pub fn credentials(
    url: &FtpUrl,
    env: Option<String>,
    interactive: bool,
    prompt: &mut dyn FnMut(&str) -> io::Result<String>,
) -> Result<Login, Failure> {
    let user = url.user.clone().unwrap_or_else(|| ANONYMOUS.to_owned());
    let anonymous = user == ANONYMOUS || user == "ftp";
    let password = match (url.password.clone(), env) {
        (Some(password), _) | (None, Some(password)) => password,
        (None, None) if anonymous => ANONYMOUS_PASSWORD.to_owned(),
        (None, None) if interactive => prompt(&format!("Password for {user}@{}: ", url.host))
            .map_err(|err| Failure::Failed(format!("cannot read the password: {err}")))?,
        (None, None) => String::new(),
    };
    Ok(Login { user, password })
}

fn transfer_type(ftp_type: FtpType) -> TransferType {
    match ftp_type {
        FtpType::Binary => TransferType::Binary,
        FtpType::Ascii => TransferType::Ascii,
    }
}

/// A listing's CR LF line ends (RFC 959 §3.1.1.1, as listings are sent)
/// written out as local LF.
struct LocalLines<W: Write> {
    out: W,
    decoder: Decoder,
    buf: Vec<u8>,
}

impl<W: Write> LocalLines<W> {
    fn new(out: W) -> Self {
        LocalLines {
            out,
            decoder: Decoder::new(),
            buf: Vec::new(),
        }
    }

    fn finish(mut self) -> io::Result<()> {
        self.buf.clear();
        self.decoder.finish(&mut self.buf);
        self.out.write_all(&self.buf)?;
        self.out.flush()
    }
}

impl<W: Write> Write for LocalLines<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.clear();
        self.decoder.decode(bytes, &mut self.buf);
        self.out.write_all(&self.buf)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(user: Option<&str>, password: Option<&str>) -> FtpUrl {
        FtpUrl {
            user: user.map(String::from),
            password: password.map(String::from),
            host: "files.example".into(),
            port: 21,
            path: "f".into(),
            implicit_tls: false,
        }
    }

    fn login(url: &FtpUrl, env: Option<&str>, interactive: bool) -> (Login, Vec<String>) {
        let mut prompts = Vec::new();
        let login = credentials(url, env.map(String::from), interactive, &mut |p| {
            prompts.push(p.to_owned());
            Ok("typed".into())
        })
        .unwrap();
        (login, prompts)
    }

    fn pair(user: &str, password: &str) -> Login {
        Login {
            user: user.into(),
            password: password.into(),
        }
    }

    #[test]
    fn the_url_password_comes_first() {
        let (l, prompts) = login(&url(Some("alice"), Some("s3cr:t")), Some("env"), true);
        assert_eq!(l, pair("alice", "s3cr:t"));
        assert!(prompts.is_empty());
    }

    #[test]
    fn then_the_environment() {
        let (l, prompts) = login(&url(Some("alice"), None), Some("env"), true);
        assert_eq!(l, pair("alice", "env"));
        assert!(prompts.is_empty());
    }

    #[test]
    fn then_a_prompt_on_a_terminal() {
        let (l, prompts) = login(&url(Some("alice"), None), None, true);
        assert_eq!(l, pair("alice", "typed"));
        assert_eq!(prompts, ["Password for alice@files.example: "]);
        // No terminal: no prompt, an empty password.
        let (l, prompts) = login(&url(Some("alice"), None), None, false);
        assert_eq!(l, pair("alice", ""));
        assert!(prompts.is_empty());
    }

    #[test]
    fn anonymous_by_default_and_never_prompted() {
        let (l, prompts) = login(&url(None, None), None, true);
        assert_eq!(l, pair("anonymous", ANONYMOUS_PASSWORD));
        assert!(prompts.is_empty());
        let (l, _) = login(&url(Some("ftp"), None), None, true);
        assert_eq!(l, pair("ftp", ANONYMOUS_PASSWORD));
        let (l, _) = login(&url(None, None), Some("me@example"), true);
        assert_eq!(l, pair("anonymous", "me@example"));
    }

    #[test]
    fn listings_get_local_line_ends() {
        let mut out = LocalLines::new(Vec::new());
        out.write_all(b"a\r\nb\r").unwrap();
        out.write_all(b"\nc\r\n").unwrap();
        let mut got = Vec::new();
        std::mem::swap(&mut got, &mut out.out);
        out.finish().unwrap();
        assert_eq!(got, b"a\nb\nc\n");
    }
}
