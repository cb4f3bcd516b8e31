//! `serve --user NAME`: binding ports below 1024 (TFTP 69, FTP 21, FTPS
//! 990) needs root, serving files does not. The account is looked up
//! before anything is bound, so a wrong name fails at once; the switch
//! happens once every listener is bound and before any client is served.

use std::ffi::CString;
use std::path::Path;

use nix::unistd::{self, AccessFlags, Gid, Uid, User};

use crate::Failure;

/// The account the servers will run as.
#[derive(Debug)]
pub struct Account {
    name: String,
    uid: Uid,
    gid: Gid,
    groups: Vec<Gid>,
}

impl Account {
    /// Look `name` up; only root can become someone else.
    pub fn lookup(name: &str) -> Result<Account, Failure> {
        let euid = unistd::geteuid();
        if !euid.is_root() {
            return Err(Failure::Usage(format!(
                "--user {name} needs root to switch users (running as uid {euid})"
            )));
        }
        let user = User::from_name(name)
            .map_err(|err| {
                Failure::Usage(format!("--user {name}: cannot look the user up: {err}"))
            })?
            .ok_or_else(|| Failure::Usage(format!("--user {name}: no such user")))?;
        let c_name = CString::new(name)
            .map_err(|_| Failure::Usage(format!("--user {name:?}: not a user name")))?;
        let groups = unistd::getgrouplist(&c_name, user.gid).map_err(|err| {
            Failure::Usage(format!("--user {name}: cannot list its groups: {err}"))
        })?;
        Ok(Account {
            name: user.name,
            uid: user.uid,
            gid: user.gid,
            groups,
        })
    }

    /// Become the account for good: its supplementary groups, its group,
    /// then its user (in that order: once the uid is gone, the right to
    /// change groups is gone too). Then check that root cannot be had
    /// back, and that the served root is readable (with `write`, warn
    /// when its top is not writable).
    pub fn become_it(self, root: &Path, write: bool) -> Result<(), Failure> {
        let fail = |what: &str, err: nix::Error| {
            Failure::Failed(format!("--user {}: {what} failed: {err}", self.name))
        };
        unistd::setgroups(&self.groups).map_err(|err| fail("setgroups", err))?;
        unistd::setgid(self.gid).map_err(|err| fail("setgid", err))?;
        unistd::setuid(self.uid).map_err(|err| fail("setuid", err))?;
        if !self.uid.is_root() && unistd::setuid(Uid::from_raw(0)).is_ok() {
            return Err(Failure::Failed(format!(
                "--user {}: root could be regained after setuid",
                self.name
            )));
        }
        // A bucket (`s3://...`) is reached over the network, not the
        // file system: nothing on disk to check.
        let on_disk = !root.to_str().is_some_and(|r| r.starts_with("s3://"));
        if on_disk {
            unistd::access(root, AccessFlags::R_OK | AccessFlags::X_OK).map_err(|err| {
                Failure::Failed(format!(
                    "--user {}: cannot read --root {}: {err}",
                    self.name,
                    root.display()
                ))
            })?;
            // Uploads may be meant for writable folders under a read-only
            // root (as with vsftpd's anonymous uploads): a warning, not an end.
            if write {
                if let Err(err) = unistd::access(root, AccessFlags::W_OK) {
                    tracing::warn!(user = %self.name, root = %root.display(), error = %err,
                        "uploads to the top of the root will be refused: the user cannot write there");
                }
            }
        }
        tracing::info!(
            user = %self.name,
            uid = %self.uid,
            gid = %self.gid,
            groups = self.groups.len(),
            "running as user"
        );
        Ok(())
    }
}
