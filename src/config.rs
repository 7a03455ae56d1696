//! The configuration file (TOML): accounts without their passwords.
//! Unknown keys are an error, not silently ignored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mail::account::Account;
use crate::paths::{PathError, create_private_dir};
use crate::protocol::EmailAddress;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, rename = "account")]
    pub accounts: Vec<Account>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path} is not a valid MailPay configuration: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("{0}")]
    Path(#[from] PathError),
    #[error("no account is configured; add one with `mailpay account add`")]
    NoAccount,
    #[error("no account for {0} is configured")]
    UnknownAccount(String),
}

impl Config {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(ConfigError::Read { path: path.to_path_buf(), reason: e.to_string() }),
        };
        toml::from_str(&text)
            .map_err(|e| ConfigError::Invalid { path: path.to_path_buf(), reason: e.to_string() })
    }

    /// Writes atomically (temporary file, fsync, rename), owner-only.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let err = |e: std::io::Error| ConfigError::Write { path: path.to_path_buf(), reason: e.to_string() };
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let text = toml::to_string(self)
            .map_err(|e| ConfigError::Write { path: path.to_path_buf(), reason: e.to_string() })?;
        // A temporary file of this writer's own: two programs saving at once
        // (the app and the Thunderbird host) must not write into one file.
        let temp =
            path.with_extension(format!("toml.{}.{:08x}.tmp", std::process::id(), rand::random::<u32>()));
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&temp).map_err(err)?;
            file.write_all(text.as_bytes()).map_err(err)?;
            file.sync_all().map_err(err)?;
        }
        std::fs::rename(&temp, path).map_err(err)
    }

    /// The account for `address`, or the first configured when `address` is
    /// `None`.
    pub fn account(&self, address: Option<&str>) -> Result<&Account, ConfigError> {
        match address {
            Some(a) => {
                let wanted = a.to_ascii_lowercase();
                self.accounts
                    .iter()
                    .find(|acc| acc.address.as_str() == wanted)
                    .ok_or(ConfigError::UnknownAccount(a.to_string()))
            }
            None => self.accounts.first().ok_or(ConfigError::NoAccount),
        }
    }

    /// Replaces the account with the same address where it stands, or
    /// adds it last.
    pub fn upsert(&mut self, account: Account) {
        match self.accounts.iter_mut().find(|a| a.address == account.address) {
            Some(existing) => *existing = account,
            None => self.accounts.push(account),
        }
    }

    /// Takes out the account with this address; whether there was one.
    pub fn remove(&mut self, address: &EmailAddress) -> bool {
        let before = self.accounts.len();
        self.accounts.retain(|a| a.address != *address);
        self.accounts.len() < before
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_account_is_replaced_where_it_stands_and_removed_by_address() {
        let account = |a: &str| Account::guess(a.parse().unwrap());
        let mut config = Config { accounts: vec![account("a@x.test"), account("b@x.test")] };
        let mut changed = account("a@x.test");
        changed.username = "a-login".into();
        config.upsert(changed);
        config.upsert(account("c@x.test"));
        let order: Vec<_> = config.accounts.iter().map(|a| a.address.to_string()).collect();
        assert_eq!(order, ["a@x.test", "b@x.test", "c@x.test"], "the first stays first");
        assert_eq!(config.accounts[0].username, "a-login");
        assert!(config.remove(&"b@x.test".parse().unwrap()));
        assert!(!config.remove(&"b@x.test".parse().unwrap()));
        assert_eq!(config.accounts.len(), 2);
    }
}
