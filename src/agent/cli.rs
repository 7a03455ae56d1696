//! What `mailpay-bank` and `mailpay-merchant` share on the command line:
//! the arguments of `run`, the configuration file, the data folder, the
//! mail login (a password, or an OAuth2 token) and the exit codes (0 done, 1 failed, 2 wrong usage or
//! configuration).

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::de::DeserializeOwned;

use crate::mail::account::{Account, Auth};
use crate::mail::login::Login;
use crate::protocol::EmailAddress;

/// Why an agent's command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command line or the configuration is wrong: exit code 2.
    #[error("{0}")]
    Usage(String),
    /// The command was right and failed: exit code 1.
    #[error("{0}")]
    Failed(String),
}

pub fn fail(e: impl Display) -> Failure {
    Failure::Failed(e.to_string())
}

pub fn usage(e: impl Display) -> Failure {
    Failure::Usage(e.to_string())
}

/// The options every command of an agent takes.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// The agent's configuration file (TOML; its keys are in README,
    /// "Running a bank" and "Running a merchant").
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Where the agent's data lives (overrides the configuration's
    /// data_dir; default: the agent's folder in MailPay's data folder).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

/// The arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Read the mail password from this file instead of the OS keyring
    /// (for tests and containers; keep the file readable by this user only).
    #[arg(long, conflicts_with = "token_file")]
    pub password_file: Option<PathBuf>,
    /// For an account whose auth is oauth2: read its OAuth2 token from
    /// this file instead of the OS keyring (lines refresh_token=... and/or
    /// access_token=...; keep the file readable by this user only).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Trust this extra CA (PEM) for the mail servers.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

impl RunArgs {
    /// The agent's mail account as its configuration names it (`--ca-file`
    /// added), and its login: the password from `--password-file`, else
    /// the OS keyring (as `mailpay account add` stores it); for an account
    /// whose auth is oauth2, the token from `--token-file`, else the grant
    /// in the OS keyring (as `mailpay account add --oauth` stores it).
    pub fn account(&self, configured: Option<Account>, whose: &str) -> Result<(Account, Login), Failure> {
        let mut account = configured.ok_or_else(|| {
            usage(format!("the --config file must have an [account] table for {whose} mailbox"))
        })?;
        if self.ca_file.is_some() {
            account.ca_file.clone_from(&self.ca_file);
        }
        if account.auth == Auth::OAuth2 {
            if self.password_file.is_some() {
                return Err(usage("the account's auth is oauth2: give --token-file, not --password-file"));
            }
            let login = match &self.token_file {
                Some(path) => Login::from_token_file(&account, path).map_err(usage)?,
                None => Login::from_keyring(&account).map_err(fail)?,
            };
            return Ok((account, login));
        }
        if self.token_file.is_some() {
            return Err(usage(
                "--token-file is for accounts whose auth is oauth2 ([account] auth = \"oauth2\")",
            ));
        }
        let password = password(&account.address, self.password_file.as_deref())?;
        Ok((account, Login::password(password)))
    }
}

fn password(address: &EmailAddress, file: Option<&Path>) -> Result<String, Failure> {
    match file {
        Some(path) => std::fs::read_to_string(path)
            .map(|p| p.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|e| usage(format!("cannot read the password file {}: {e}", path.display()))),
        None => crate::secrets::Keyring::system().and_then(|k| k.password(address.as_str())).map_err(fail),
    }
}

/// The configuration file (TOML) at `path`, or the defaults without one.
pub fn load<T: DeserializeOwned + Default>(path: Option<&Path>, what: &str) -> Result<T, Failure> {
    let Some(path) = path else { return Ok(T::default()) };
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text)
        .map_err(|e| usage(format!("{} is not a valid {what} configuration: {e}", path.display())))
}

/// Where the agent's data lives: `--data-dir`, else the configuration's
/// `data_dir`, else the `folder` in MailPay's data folder.
pub fn data_dir(
    given: Option<PathBuf>,
    configured: Option<PathBuf>,
    folder: &str,
) -> Result<PathBuf, Failure> {
    match given.or(configured) {
        Some(dir) => Ok(dir),
        None => crate::paths::Paths::from_env()
            .map(|p| p.data_dir.join(folder))
            .map_err(|e| usage(format!("{e}; say where the data lives with --data-dir DIR"))),
    }
}

/// Parses the command line and runs it, with the agents' exit codes.
pub fn main<C: clap::Parser>(run: impl FnOnce(C) -> Result<(), Failure>) -> ExitCode {
    let cli = match C::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            match failure {
                Failure::Usage(_) => ExitCode::from(2),
                Failure::Failed(_) => ExitCode::FAILURE,
            }
        }
    }
}
