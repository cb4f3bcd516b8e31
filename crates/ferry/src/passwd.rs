//! `ferry passwd`: one users-file line, with a salted hash of the password.

use std::io::{self, IsTerminal};

use crate::cli::PasswdArgs;
use crate::ftp::PASSWORD_VAR;
use crate::Failure;

pub fn run(args: PasswdArgs) -> Result<(), Failure> {
    let password = match std::env::var(PASSWORD_VAR) {
        Ok(password) => password,
        Err(_) => ask(&args.user)?,
    };
    if password.is_empty() {
        return Err(Failure::Usage("the password is empty".to_owned()));
    }
    let line = ferry_users::user_line(&args.user, &password, &args.home, args.write)
        .map_err(|err| Failure::Usage(err.to_string()))?;
    println!("{line}");
    Ok(())
}

/// Asks twice on the terminal, without echo.
fn ask(user: &str) -> Result<String, Failure> {
    if !io::stdin().is_terminal() {
        return Err(Failure::Usage(format!(
            "no password: set {PASSWORD_VAR} or run ferry passwd on a terminal"
        )));
    }
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map_err(|err| Failure::Failed(format!("cannot read the password: {err}")))
    };
    let first = read(&format!("Password for {user}: "))?;
    let second = read("Again: ")?;
    if first != second {
        return Err(Failure::Failed("the passwords do not match".to_owned()));
    }
    Ok(first)
}
