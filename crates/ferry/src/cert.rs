//! `ferry cert`: a self-signed certificate and its key for FTPS, so a new
//! server goes from nothing to TLS in two commands.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::cli::CertArgs;
use crate::Failure;

/// The certificate's file name in `--out`.
pub const CERT_FILE: &str = "cert.pem";
/// The private key's file name in `--out`.
pub const KEY_FILE: &str = "key.pem";

pub fn run(args: CertArgs) -> Result<(), Failure> {
    let cert_path = args.out.join(CERT_FILE);
    let key_path = args.out.join(KEY_FILE);
    // Both checked before either is written, so a refusal leaves the
    // directory as it was rather than a new certificate beside an old key.
    if !args.force {
        for path in [&cert_path, &key_path] {
            if path.exists() {
                return Err(Failure::Usage(format!(
                    "{} exists; remove it or give --force to replace it",
                    path.display()
                )));
            }
        }
    }
    let (cert, key, fingerprint) = ferry_tls::generate_self_signed(&args.hosts)
        .map_err(|err| Failure::Failed(err.to_string()))?;
    fs::create_dir_all(&args.out)
        .map_err(|err| Failure::Failed(format!("{}: {err}", args.out.display())))?;
    // The key first: it is the file whose permissions matter, and a failure
    // there leaves no certificate without its key.
    write_file(&key_path, key.as_bytes(), args.force, true)?;
    write_file(&cert_path, cert.as_bytes(), args.force, false)?;
    let hosts = match args.hosts.is_empty() {
        true => "localhost, 127.0.0.1".to_owned(),
        false => args.hosts.join(", "),
    };
    println!("ferry: certificate {} (for {hosts})", cert_path.display());
    println!("ferry: private key {}", key_path.display());
    println!("ferry: tls certificate sha256 {fingerprint}");
    Ok(())
}

/// Writes `contents` to `path`, a new file unless `force`; a private one
/// (mode 0600) when `private`, also when it replaces a file that was not.
fn write_file(path: &Path, contents: &[u8], force: bool, private: bool) -> Result<(), Failure> {
    let failed = |err: io::Error| match err.kind() {
        io::ErrorKind::AlreadyExists => Failure::Usage(format!(
            "{} exists; remove it or give --force to replace it",
            path.display()
        )),
        _ => Failure::Failed(format!("{}: {err}", path.display())),
    };
    let mut file = open(path, force, private).map_err(failed)?;
    if private {
        restrict(&file).map_err(failed)?;
    }
    file.write_all(contents).map_err(failed)?;
    file.sync_all().map_err(failed)
}

fn open(path: &Path, force: bool, private: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true);
    match force {
        true => options.create(true).truncate(true),
        // create_new: a file that appeared since the check is not clobbered.
        false => options.create_new(true),
    };
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(path)
}

/// The key readable by its owner only, even when `--force` replaced a file
/// whose mode was wider (open's mode applies to new files only).
#[cfg(unix)]
fn restrict(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_file: &File) -> io::Result<()> {
    Ok(())
}
