//! pyftpdlib's `TLS_FTPHandler` (pyftpdlib and pyOpenSSL from PyPI),
//! started by a test on 127.0.0.1 with TLS required on the control
//! connection and on every data connection, serving a temporary root to
//! anonymous users with write permission.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::ftps::{python_has, Certs};
use super::{require_peer, skip_or_fail, temp_dir, Reaped};

/// Run as `python3 -c SCRIPT ROOT CERT KEY`; prints `port N` once bound.
const SERVER: &str = r#"
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.servers import FTPServer

root, cert, key = sys.argv[1:4]
authorizer = DummyAuthorizer()
authorizer.add_anonymous(root, perm='elradfmwMT')

class Handler(TLS_FTPHandler):
    pass

Handler.authorizer = authorizer
Handler.certfile = cert
Handler.keyfile = key
Handler.tls_control_required = True
Handler.tls_data_required = True

server = FTPServer(('127.0.0.1', 0), Handler)
print('port', server.socket.getsockname()[1], flush=True)
server.serve_forever()
"#;

/// A running pyftpdlib FTPS server, killed when dropped.
pub struct PyFtpd {
    _child: Reaped,
    port: u16,
    root: tempfile::TempDir,
    state: tempfile::TempDir,
    certs: Certs,
}

impl PyFtpd {
    /// `None` means skip the test (python3, pyftpdlib or pyOpenSSL
    /// missing), unless `FERRY_INTEROP=1` makes that a failure.
    pub fn start() -> Option<PyFtpd> {
        let python3 = require_peer("python3")?;
        for module in ["pyftpdlib", "OpenSSL"] {
            if !python_has(module) {
                return skip_or_fail(&format!(
                    "python3 cannot import {module} (pip install pyftpdlib pyopenssl)"
                ));
            }
        }
        let certs = Certs::generate();
        let root = temp_dir("pyftpd-root");
        let state = temp_dir("pyftpd-state");
        let log = std::fs::File::create(state.path().join("pyftpd.log")).expect("create log");
        let mut child = Command::new(python3)
            .arg("-c")
            .arg(SERVER)
            .arg(root.path())
            .arg(certs.cert())
            .arg(certs.key())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start pyftpdlib");
        let stdout = child.stdout.take().expect("piped stdout");
        let child = Reaped(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(state.path().join("pyftpd.log"));
                panic!(
                    "pyftpdlib did not start: {line:?}\n{}",
                    log.unwrap_or_default()
                )
            });
        Some(PyFtpd {
            _child: child,
            port,
            root,
            state,
            certs,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The anonymous root, as the server sees `/`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `ftp://127.0.0.1:PORT/path`
    pub fn url(&self, path: &str) -> String {
        format!("ftp://127.0.0.1:{}/{}", self.port, path)
    }

    /// The certificate pyftpdlib presents.
    pub fn certs(&self) -> &Certs {
        &self.certs
    }

    /// What pyftpdlib logged so far (every command and reply).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join("pyftpd.log")).unwrap_or_default()
    }
}
