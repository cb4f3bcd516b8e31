//! `ferry get`, `ferry put` and `ferry ls` over FTP.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use ferry_blocking::ftp::client::{
    entries, ClientTls, ClientTlsOptions, ConnectOptions, Connection, DataMode, Entry, EntryKind,
    Input, Mode, Output, Security, Structure, TransferType,
};
use ftp_proto::ascii::Decoder;
use ftp_proto::glob;

use crate::cli::{
    FtpArgs, FtpStructure, FtpType, GetArgs, LsArgs, MkdirArgs, MvArgs, ProtocolArgs, PutArgs,
    RmArgs, TransferMode,
};
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

/// Downloads one file to `output` (`None`: the URL's file name).
pub fn get(url: FtpUrl, args: &GetArgs, output: Option<&Path>) -> Result<(), Failure> {
    if url.path.is_empty() || url.path.ends_with('/') {
        return Err(Failure::Usage(format!(
            "/{} names a directory; use ferry ls to list it",
            url.path
        )));
    }
    let destination = client::destination(output, &url.path)?;
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
    if let (Destination::File(path), false) = (&destination, args.no_remote_time) {
        keep_remote_time(&mut ftp, &url.path, path);
    }
    quit(ftp);
    Ok(())
}

/// One file of a tree download.
struct TreeFile {
    remote: String,
    local: PathBuf,
    entry: Entry,
}

/// `ferry get -r`: walks the remote tree (MLSD or LIST, as the server
/// allows), makes its directories under `dest`, then fetches the files,
/// on `--parallel` connections. Entry names never hold `/` or `..`
/// (the listing readers refuse them), so nothing lands outside `dest`.
pub fn get_tree(url: FtpUrl, args: &GetArgs, dest: &Path) -> Result<(), Failure> {
    let mut ftp = open_typed(&url, &args.protocol)?;
    let mut files = Vec::new();
    let mut pending = vec![(url.path.trim_end_matches('/').to_owned(), dest.to_owned())];
    while let Some((dir, local)) = pending.pop() {
        std::fs::create_dir_all(&local)
            .map_err(|err| Failure::Failed(format!("{}: {err}", local.display())))?;
        let listed = ftp
            .entries((!dir.is_empty()).then_some(dir.as_str()))
            .map_err(failure)?;
        for entry in listed {
            let remote = match dir.is_empty() {
                true => entry.name.clone(),
                false => format!("{dir}/{}", entry.name),
            };
            let local = local.join(&entry.name);
            match entry.kind {
                EntryKind::Directory => pending.push((remote, local)),
                EntryKind::File => files.push(TreeFile {
                    remote,
                    local,
                    entry,
                }),
                EntryKind::Link | EntryKind::Other => {
                    tracing::debug!(path = remote, "not a file or directory: left out")
                }
            }
        }
    }
    in_parallel(
        ftp,
        &url,
        &args.protocol,
        args.parallel,
        files,
        |ftp, share| fetch_all(ftp, share, args),
    )
}

fn fetch_all(ftp: &mut Connection, files: Vec<TreeFile>, args: &GetArgs) -> Result<(), Failure> {
    for file in files {
        let modified = match file.entry.modified {
            Some(secs) => Some(secs),
            None => ftp.modified(&file.remote).ok(),
        };
        if args.newer && same_file(&file.local, file.entry.size, modified) {
            tracing::debug!(path = file.remote, "already here: skipped");
            continue;
        }
        ftp.get(&file.remote, Output::Path(&file.local), &mut |_| {})
            .map_err(failure)?;
        if let (Some(secs), false) = (modified, args.no_remote_time) {
            if let Err(err) = set_local_time(&file.local, secs) {
                tracing::warn!(file = %file.local.display(), error = %err, "cannot set the modification time");
            }
        }
    }
    Ok(())
}

/// `--newer`: the local file has the remote size and modification time.
fn same_file(local: &Path, size: Option<u64>, modified: Option<i64>) -> bool {
    let (Some(size), Some(modified)) = (size, modified) else {
        return false;
    };
    let Ok(meta) = std::fs::metadata(local) else {
        return false;
    };
    let secs = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64);
    meta.is_file() && meta.len() == size && secs == Some(modified)
}

/// The files a `get` URL names: itself, or, when its last component is
/// a pattern, the files of its directory that match it (matched here from
/// a listing, so servers without wildcards do as well). A file whose name
/// is exactly the pattern is that file, so a literal `*` in a name still
/// fetches. No match is a failure, as a missing file would be.
pub fn expand(url: FtpUrl, args: &FtpArgs) -> Result<Vec<FtpUrl>, Failure> {
    let (dir, pattern) = match url.path.rsplit_once('/') {
        Some((dir, name)) => (Some(dir), name),
        None => (None, url.path.as_str()),
    };
    if !glob::is_pattern(pattern) {
        return Ok(vec![url]);
    }
    let mut ftp = open(&url, args)?;
    let listed = ftp
        .entries(dir.filter(|d| !d.is_empty()))
        .map_err(failure)?;
    quit(ftp);
    let exact = listed.iter().any(|e| e.name == pattern);
    let mut names: Vec<&str> = listed
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .filter(|e| match exact {
            true => e.name == pattern,
            false => glob::matches(pattern, &e.name),
        })
        .map(|e| e.name.as_str())
        .collect();
    names.sort_unstable();
    if names.is_empty() {
        return Err(Failure::Failed(format!("no file matches /{}", url.path)));
    }
    Ok(names
        .into_iter()
        .map(|name| FtpUrl {
            path: match dir {
                Some(dir) => format!("{dir}/{name}"),
                None => name.to_owned(),
            },
            ..url.clone()
        })
        .collect())
}

/// Gives the downloaded file the remote file's modification time (MDTM),
/// as curl -R and wget do; a server without MDTM leaves the local time.
fn keep_remote_time(ftp: &mut Connection, remote: &str, local: &Path) {
    let secs = match ftp.modified(remote) {
        Ok(secs) => secs,
        Err(err) => return tracing::debug!(error = %err, "no remote modification time"),
    };
    if let Err(err) = set_local_time(local, secs) {
        tracing::warn!(file = %local.display(), error = %err, "cannot set the modification time");
    }
}

/// Sets `path`'s modification time to `secs` (Unix seconds, UTC).
fn set_local_time(path: &Path, secs: i64) -> io::Result<()> {
    let time = match u64::try_from(secs) {
        Ok(secs) => UNIX_EPOCH + Duration::from_secs(secs),
        Err(_) => UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()),
    };
    File::options().write(true).open(path)?.set_modified(time)
}

/// One file of a tree upload.
struct UpFile {
    local: PathBuf,
    remote: String,
    size: u64,
    modified: Option<i64>,
}

/// `ferry put -r DIR URL/dir/`: walks DIR (files and directories; links
/// and special files left out), lists what the server has there already,
/// makes the missing directories, then uploads the files on `--parallel`
/// connections and sets each one's time with MFMT where FEAT lists it.
pub fn put_tree(url: FtpUrl, args: &PutArgs) -> Result<(), Failure> {
    let local_error =
        |path: &Path, err: io::Error| Failure::Failed(format!("{}: {err}", path.display()));
    if !args.file.is_dir() {
        return Err(Failure::Usage(format!(
            "{} is not a directory",
            args.file.display()
        )));
    }
    let base = url.path.trim_end_matches('/').to_owned();
    let join = |dir: &str, name: &str| match dir.is_empty() {
        true => name.to_owned(),
        false => format!("{dir}/{name}"),
    };
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let mut pending = vec![(args.file.clone(), base.clone())];
    while let Some((local, remote)) = pending.pop() {
        dirs.push(remote.clone());
        let listing = std::fs::read_dir(&local).map_err(|e| local_error(&local, e))?;
        for item in listing {
            let item = item.map_err(|e| local_error(&local, e))?;
            let path = item.path();
            let Some(name) = item.file_name().to_str().map(str::to_owned) else {
                return Err(Failure::Failed(format!("{}: not UTF-8", path.display())));
            };
            let meta = std::fs::symlink_metadata(&path).map_err(|e| local_error(&path, e))?;
            if meta.is_dir() {
                pending.push((path, join(&remote, &name)));
            } else if meta.is_file() {
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_secs() as i64);
                files.push(UpFile {
                    local: path,
                    remote: join(&remote, &name),
                    size: meta.len(),
                    modified,
                });
            }
        }
    }
    let mut ftp = open_typed(&url, &args.protocol)?;
    // What is there already: a directory that cannot be listed is taken
    // as missing, and MKD says the rest.
    let mut there = std::collections::HashMap::new();
    for dir in &dirs {
        if let Ok(listed) = ftp.entries((!dir.is_empty()).then_some(dir.as_str())) {
            there.insert(dir.clone(), None);
            for entry in listed.into_iter().filter(|e| e.kind == EntryKind::File) {
                there.insert(join(dir, &entry.name), Some(entry));
            }
        }
    }
    for dir in dirs
        .iter()
        .filter(|d| !d.is_empty() && !there.contains_key(*d))
    {
        ftp.make_dir(dir).map_err(failure)?;
    }
    let files: Vec<(UpFile, Option<Entry>)> = files
        .into_iter()
        .map(|f| {
            let entry = there.get(&f.remote).cloned().flatten();
            (f, entry)
        })
        .collect();
    in_parallel(
        ftp,
        &url,
        &args.protocol,
        args.parallel,
        files,
        |ftp, share| send_all(ftp, share, args.newer),
    )
}

fn send_all(
    ftp: &mut Connection,
    files: Vec<(UpFile, Option<Entry>)>,
    newer: bool,
) -> Result<(), Failure> {
    for (file, there) in files {
        if newer {
            if let Some(there) = there {
                let remote_time = match there.modified {
                    Some(secs) => Some(secs),
                    None => ftp.modified(&file.remote).ok(),
                };
                if there.size == Some(file.size)
                    && remote_time.is_some()
                    && remote_time == file.modified
                {
                    tracing::debug!(path = file.remote, "already there: skipped");
                    continue;
                }
            }
        }
        ftp.put(Input::Path(&file.local), &file.remote, &mut |_| {})
            .map_err(failure)?;
        if let Some(secs) = file.modified {
            match ftp.set_modified(&file.remote, secs) {
                Ok(true) => {}
                Ok(false) => tracing::debug!("no MFMT: the server keeps its own times"),
                Err(err) => {
                    tracing::warn!(path = file.remote, error = %err, "modification time not set")
                }
            }
        }
    }
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
    let url = ftp_url(&args.url, "ls")?;
    let mut ftp = open(&url, &args.ftp)?;
    let mut out = io::stdout().lock();
    if !args.recursive {
        list_one(&mut ftp, &url.path, args.names, &mut out)?;
        out.flush().map_err(failure)?;
        quit(ftp);
        return Ok(());
    }
    // ls -R: each directory after a `path:` header, subdirectories in
    // the order the server listed them, found from its entries (MLSD
    // where the server has it, else LIST).
    let mut pending = std::collections::VecDeque::from([url.path.clone()]);
    let mut first = true;
    while let Some(dir) = pending.pop_front() {
        let shown = match dir.is_empty() {
            true => ".",
            false => dir.trim_end_matches('/'),
        };
        let header = format!("{}{shown}:\n", if first { "" } else { "\n" });
        first = false;
        out.write_all(header.as_bytes()).map_err(failure)?;
        list_one(&mut ftp, &dir, args.names, &mut out)?;
        let path = (!dir.is_empty()).then_some(dir.as_str());
        let entries = ftp.entries(path).map_err(failure)?;
        let base = match dir.is_empty() || dir.ends_with('/') {
            true => dir.clone(),
            false => format!("{dir}/"),
        };
        for entry in entries
            .into_iter()
            .filter(|e| e.kind == EntryKind::Directory)
        {
            pending.push_back(format!("{base}{}", entry.name));
        }
    }
    out.flush().map_err(failure)?;
    quit(ftp);
    Ok(())
}

/// One directory's listing on `out`: LIST as the server formats it, or
/// NLST names as given (the prefix some servers add taken off), with
/// local line ends.
fn list_one(
    ftp: &mut Connection,
    dir: &str,
    names: bool,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let path = (!dir.is_empty()).then_some(dir);
    if !names {
        let mut lines = LocalLines::new(&mut *out);
        ftp.list(path, &mut lines).map_err(failure)?;
        return lines.finish().map_err(failure);
    }
    let mut listing = Vec::new();
    ftp.name_list(path, &mut listing).map_err(failure)?;
    for line in listing.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let name = entries::name_list_entry(path, &line);
        if name.is_empty() {
            continue;
        }
        writeln!(out, "{name}").map_err(failure)?;
    }
    Ok(())
}

/// An `ftp://` or `ftps://` URL for a command that only FTP has.
fn ftp_url(text: &str, command: &str) -> Result<FtpUrl, Failure> {
    match client::parse_url(text)? {
        Url::Ftp(url) => Ok(url),
        Url::Tftp(_) => Err(Failure::Usage(format!(
            "{command} works with ftp:// URLs only: TFTP cannot {command}"
        ))),
    }
}

/// `ferry rm`: DELE each file, RMD each directory (a path ending in `/`).
pub fn rm(args: RmArgs) -> Result<(), Failure> {
    let urls = args
        .urls
        .iter()
        .map(|text| ftp_url(text, "rm"))
        .collect::<Result<Vec<_>, _>>()?;
    for url in urls {
        if url.path.is_empty() {
            return Err(Failure::Usage("rm needs a path after the host".to_owned()));
        }
        let mut ftp = open(&url, &args.ftp)?;
        let result = match url.path.strip_suffix('/') {
            Some(dir) => ftp.remove_dir(dir),
            None => ftp.delete(&url.path),
        };
        result.map_err(failure)?;
        quit(ftp);
    }
    Ok(())
}

/// `ferry mkdir`: MKD each directory.
pub fn mkdir(args: MkdirArgs) -> Result<(), Failure> {
    let urls = args
        .urls
        .iter()
        .map(|text| ftp_url(text, "mkdir"))
        .collect::<Result<Vec<_>, _>>()?;
    for url in urls {
        let dir = url.path.trim_end_matches('/');
        if dir.is_empty() {
            return Err(Failure::Usage(
                "mkdir needs a path after the host".to_owned(),
            ));
        }
        let mut ftp = open(&url, &args.ftp)?;
        ftp.make_dir(dir).map_err(failure)?;
        quit(ftp);
    }
    Ok(())
}

/// `ferry mv`: RNFR and RNTO.
pub fn mv(args: MvArgs) -> Result<(), Failure> {
    let url = ftp_url(&args.url, "mv")?;
    let from = url.path.trim_end_matches('/');
    if from.is_empty() {
        return Err(Failure::Usage("mv needs a path after the host".to_owned()));
    }
    let to = rename_target(from, &args.to)?;
    let mut ftp = open(&url, &args.ftp)?;
    ftp.rename(from, &to).map_err(failure)?;
    quit(ftp);
    Ok(())
}

/// Where `ferry mv` moves `from`: a URL's path, a `/`-rooted path as it
/// is, or a plain path beside `from` (in its directory).
fn rename_target(from: &str, to: &str) -> Result<String, Failure> {
    if to.contains("://") {
        let url = ftp_url(to, "mv")?;
        return match url.path.is_empty() {
            true => Err(Failure::Usage(format!("{to} names no path"))),
            false => Ok(url.path),
        };
    }
    if to.is_empty() {
        return Err(Failure::Usage("mv needs a new name".to_owned()));
    }
    if to.starts_with('/') {
        return Ok(to.to_owned());
    }
    Ok(match from.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{to}"),
        None => to.to_owned(),
    })
}

/// Connects and logs in as the URL says.
fn open(url: &FtpUrl, args: &FtpArgs) -> Result<Connection, Failure> {
    let security = security(url, args)?;
    let url = &with_user(url, args.user.as_deref());
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

/// The URL with `-u USER[:PASSWORD]` in place of its own credentials.
fn with_user(url: &FtpUrl, user: Option<&str>) -> FtpUrl {
    let mut url = url.clone();
    if let Some(user) = user {
        let (name, password) = match user.split_once(':') {
            Some((name, password)) => (name, Some(password.to_owned())),
            None => (user, None),
        };
        url.user = Some(name.to_owned());
        url.password = password;
    }
    url
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

/// Deals `items` round-robin into `parallel` shares (at least one, at
/// most one per item): the first runs on `ftp`, each other on a
/// connection of its own, opened to `url`, all at once. Every session
/// ends with QUIT; the first failure, if any, is the result.
fn in_parallel<T: Send>(
    mut ftp: Connection,
    url: &FtpUrl,
    protocol: &ProtocolArgs,
    parallel: u16,
    items: Vec<T>,
    work: impl Fn(&mut Connection, Vec<T>) -> Result<(), Failure> + Sync,
) -> Result<(), Failure> {
    let workers = usize::from(parallel).clamp(1, items.len().max(1));
    let mut shares: Vec<Vec<T>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        shares[i % workers].push(item);
    }
    let first = shares.remove(0);
    let work = &work;
    let results: Vec<Result<(), Failure>> =
        std::thread::scope(|scope| {
            let others: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    scope.spawn(move || {
                        let mut ftp = open_typed(url, protocol)?;
                        work(&mut ftp, share)?;
                        quit(ftp);
                        Ok(())
                    })
                })
                .collect();
            let mut results = vec![work(&mut ftp, first)];
            for worker in others {
                results.push(worker.join().unwrap_or_else(|_| {
                    Err(Failure::Failed("a transfer thread panicked".to_owned()))
                }));
            }
            results
        });
    quit(ftp);
    results.into_iter().collect()
}

/// Connects, logs in and sets the data format for a transfer: TYPE, and
/// STRU and MODE where they are not the defaults (so that a server that
/// knows only those is asked nothing more).
fn open_typed(url: &FtpUrl, args: &ProtocolArgs) -> Result<Connection, Failure> {
    let mode = ftp_mode(args.tftp.mode)?;
    let mut ftp = open(url, &args.ftp)?;
    let ftp_type = match args.use_ascii {
        true => FtpType::Ascii,
        false => args.ftp_type,
    };
    ftp.set_type(transfer_type(ftp_type)).map_err(failure)?;
    if args.stru == FtpStructure::Record {
        ftp.set_structure(Structure::Record).map_err(failure)?;
    }
    if mode != Mode::Stream {
        ftp.set_mode(mode).map_err(failure)?;
    }
    Ok(ftp)
}

/// `--mode` for an FTP URL: MODE S unless it says otherwise.
fn ftp_mode(mode: Option<TransferMode>) -> Result<Mode, Failure> {
    match mode {
        None | Some(TransferMode::Stream) => Ok(Mode::Stream),
        Some(TransferMode::Block) => Ok(Mode::Block),
        Some(TransferMode::Compressed) => Ok(Mode::Compressed),
        Some(TransferMode::Deflate) => Ok(Mode::Deflate),
        Some(TransferMode::Octet | TransferMode::Netascii) => Err(Failure::Usage(
            "--mode octet and netascii are TFTP modes; FTP takes stream, block, compressed or deflate"
                .to_owned(),
        )),
    }
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
        FtpType::Ebcdic => TransferType::Ebcdic,
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
